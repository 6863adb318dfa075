/* Shared by the video test programs (test_video, test_video_damage,
 * test_video_writer): pattern videos whose frames show their own index,
 * encoded through the writer; per-frame hashes and sequential decoding;
 * opening at a working size and cache bound; the ffmpeg command-line tool
 * as an independent reference; and the start and end every one of them
 * does. Separate so that no test carries a copy of these. */
#ifndef MV_TEST_VIDEO_TESTING_H
#define MV_TEST_VIDEO_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "mivos.h"
#include "testutil.h"

/* CHECK that also gives the outcome, for checks that guard what follows. */
extern int video_checked_;
#define CHECKED(cond, ...)                                                              \
  (video_checked_ = !!(cond),                                                           \
   mv_test_check(video_checked_, __FILE__, __LINE__, __VA_ARGS__), video_checked_)

/* The pattern videos: W x H, N frames, a key frame every GOP. */
enum { W = 320, H = 240, N = 64, GOP = 12 };

/* Whether the ffmpeg / ffprobe tools are on the PATH (set by video_testing_start). */
extern int have_ffmpeg, have_ffprobe;

/* FFmpeg's log quietened (unless MIVOS_TEST_VERBOSE), the tools looked for. */
void video_testing_start(void);
/* Removes the test's temporary folder (unless MIVOS_TEST_KEEP); returns
 * mv_test_finish()'s exit code. */
int video_testing_finish(void);

/* The index drawn into a pattern frame (read back from its cells). */
int pattern_index(const uint8_t *rgb, int w, int h);
/* Writes a W x H pattern video of `frames` frames; codec NULL: the writer's default. */
mv_status encode_pattern(const char *path, const char *codec, int frames, int gop, double fps);

uint64_t hash_bytes(const uint8_t *p, size_t n);
int contains(const char *s, const char *sub);
/* A shell command; 1 when it exits 0. */
int run(const char *cmd);
double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n);

/* Frame `index` decoded by the ffmpeg tool (autorotation on) as RGB24; 0 on success. */
int ffmpeg_frame(const char *file, int index, uint8_t *out, size_t bytes);
/* Sequential decode: per-frame hashes (and pattern indices when wanted);
 * returns the number of frames decoded before the first failure. */
int decode_all(mv_video *v, uint64_t *hashes, int *indices);
/* mv_video_open at a working size and cache bound, checked (CHECK_OK). */
mv_video *open_video(const char *path, int short_side, size_t cache_bytes);

#endif
