/* Shared helpers of the test programs: checks that count, numeric
 * comparisons, paths into shared/. Each test ends with
 * "N passed, N failed" and exits non-zero on any failure. */
#ifndef MV_TESTUTIL_H
#define MV_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "mivos.h"

extern int mv_test_passed, mv_test_failed;

/* Records one check; prints a line on failure (and on success if verbose). */
void mv_test_check(int ok, const char *file, int line, const char *fmt, ...);
#define CHECK(cond, ...) mv_test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* A call that must succeed; prints the library's message otherwise. */
#define CHECK_OK(expr) mv_test_check_status((expr), MV_OK, #expr, __FILE__, __LINE__)
/* A call that must fail with the given status and a non-empty message. */
#define CHECK_FAILS(expr, status) mv_test_check_status((expr), (status), #expr, __FILE__, __LINE__)
int mv_test_check_status(mv_status got, mv_status want, const char *expr, const char *file, int line);

/* Prints the closing "N passed, N failed" line; returns the exit code. */
int mv_test_finish(void);

/* ||a - b||_2 / ||b||_2 accumulated in double (0 when both are zero). */
double mv_rel_l2(const float *a, const float *b, size_t n);
double mv_max_abs_diff(const float *a, const float *b, size_t n);

/* Path under the shared/ folder: $MIVOS_SHARED, else ../shared from the
 * source tree. Returns a static buffer (one slot per call, 8 rotating). */
const char *mv_shared_path(const char *relative);

/* Seconds from a monotonic clock. */
double mv_test_now(void);

/* Deterministic pseudo-random floats in [lo, hi), never exactly zero. */
void mv_test_random(float *out, size_t n, uint64_t seed, float lo, float hi);

/* One step of a 64-bit LCG (Knuth's MMIX constants): the next 32 pseudo-random
 * bits from *state. Start *state at any seed. */
uint32_t mv_test_rand_u32(uint64_t *state);

/* Masks (height x width, row-major): pixels of m equal to v; IoU of (a > 0.5)
 * against b (nonzero), 1 when both are empty. */
size_t mv_test_count_u8(const uint8_t *m, size_t n, uint8_t v);
double mv_test_iou(const float *a, const uint8_t *b, size_t n);

/* A synthetic segmentation frame: background colour bg, an ellipse of colour
 * fg (truth = 1 inside), uniform noise +-noise drawn from *rng. */
void mv_test_ellipse_image(uint8_t *rgb, uint8_t *truth, int w, int h, const uint8_t fg[3],
                           const uint8_t bg[3], int noise, uint64_t *rng);

/* Writes `size` bytes to a new file under a per-test temporary folder and
 * returns its path (static rotating buffer). */
const char *mv_test_temp_path(const char *name);
int mv_test_write_file(const char *path, const void *data, size_t size);
/* 1 if something exists at path. */
int mv_test_file_exists(const char *path);
/* Entries of a folder other than . and .. (-1 if it cannot be read). */
int mv_test_count_entries(const char *folder);

#endif
