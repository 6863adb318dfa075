#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int mv_test_passed, mv_test_failed;

void mv_test_check(int ok, const char *file, int line, const char *fmt, ...) {
  if (ok) {
    mv_test_passed++;
    if (!getenv("MIVOS_TEST_VERBOSE")) return;
  } else {
    mv_test_failed++;
  }
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "%s %s:%d: ", ok ? "ok  " : "FAIL", file, line);
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  fflush(stdout);
}

int mv_test_check_status(mv_status got, mv_status want, const char *expr, const char *file,
                         int line) {
  const char *message = mv_error_message();
  int ok = got == want && (want == MV_OK || (message && message[0]));
  if (want == MV_OK) {
    mv_test_check(ok, file, line, "%s -> %s: %s", expr, mv_status_name(got), got ? message : "");
  } else {
    mv_test_check(ok, file, line, "%s -> %s (want %s): \"%s\"", expr, mv_status_name(got),
                  mv_status_name(want), message ? message : "(null)");
  }
  return ok;
}

int mv_test_finish(void) {
  printf("%d passed, %d failed\n", mv_test_passed, mv_test_failed);
  fflush(stdout);
  return mv_test_failed ? 1 : 0;
}

double mv_rel_l2(const float *a, const float *b, size_t n) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)a[i] - (double)b[i];
    diff += d * d;
    ref += (double)b[i] * (double)b[i];
  }
  if (ref == 0) return diff == 0 ? 0 : INFINITY;
  if (isnan(diff)) return INFINITY;
  return sqrt(diff / ref);
}

double mv_max_abs_diff(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= worst)) worst = d; /* NaN propagates as the worst */
  }
  return worst;
}

static char *rotating_buffer(void) {
  static char buffers[8][4096];
  static int next;
  return buffers[next++ % 8];
}

const char *mv_shared_path(const char *relative) {
  char *out = rotating_buffer();
  const char *root = getenv("MIVOS_SHARED");
  if (!root || !root[0]) root = MV_TEST_DEFAULT_SHARED;
  snprintf(out, 4096, "%s/%s", root, relative);
  return out;
}

void mv_test_random(float *out, size_t n, uint64_t seed, float lo, float hi) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    float u = (float)((state >> 40) * (1.0 / 16777216.0));
    float v = lo + (hi - lo) * u;
    if (v == 0.0f) v = 1e-3f;
    out[i] = v;
  }
}

uint32_t mv_test_rand_u32(uint64_t *state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*state >> 33);
}

size_t mv_test_count_u8(const uint8_t *m, size_t n, uint8_t v) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += m[i] == v;
  return c;
}

double mv_test_iou(const float *a, const uint8_t *b, size_t n) {
  size_t inter = 0, uni = 0;
  for (size_t i = 0; i < n; i++) {
    int x = a[i] > 0.5f, y = b[i] != 0;
    inter += x && y;
    uni += x || y;
  }
  return uni ? (double)inter / uni : 1.0;
}

void mv_test_ellipse_image(uint8_t *rgb, uint8_t *truth, int w, int h, const uint8_t fg[3],
                           const uint8_t bg[3], int noise, uint64_t *rng) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double ex = (x - 0.45 * w) / (0.25 * w), ey = (y - 0.5 * h) / (0.3 * h);
      int in = ex * ex + ey * ey <= 1;
      truth[y * w + x] = (uint8_t)in;
      for (int c = 0; c < 3; c++) {
        int v = (in ? fg[c] : bg[c]) + (int)(mv_test_rand_u32(rng) % (2 * noise + 1)) - noise;
        rgb[3 * (y * w + x) + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
}

const char *mv_test_temp_path(const char *name) {
  static char folder[512];
  if (!folder[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(folder, sizeof folder, "%s/mivos-test-%d", base && base[0] ? base : "/tmp",
             (int)getpid());
    mkdir(folder, 0700);
  }
  char *out = rotating_buffer();
  snprintf(out, 4096, "%s/%s", folder, name);
  return out;
}

int mv_test_write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t written = fwrite(data, 1, size, f);
  return (fclose(f) == 0 && written == size) ? 0 : -1;
}

double mv_test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int mv_test_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int mv_test_count_entries(const char *folder) {
  DIR *d = opendir(folder);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}
