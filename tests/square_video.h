/* The synthetic video of the session tests (test_session, test_session_api):
 * separate from testutil.c, which the sanitized loader tests build without
 * the image writer. */
#ifndef MV_TEST_SQUARE_VIDEO_H
#define MV_TEST_SQUARE_VIDEO_H

/* A synthetic image-sequence video under the test's temporary folder `name`:
 * a bright square (x 8+s .. 23+s, y 10..25, s = t, or t % period when
 * period > 0) on a dark textured background, and a static green block at
 * x 44..59, y 32..43. Returns the folder (static rotating buffer) or NULL. */
const char *mv_test_square_video(const char *name, int frames, int w, int h, int period);

#endif
