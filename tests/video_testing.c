/* Helpers of the video test programs (see video_testing.h). */
#include "video_testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

int video_checked_;
int have_ffmpeg, have_ffprobe;

enum { CELLS = 8 };

/* Frame i: a moving colour gradient (so P/B-frames carry motion) under a
 * band of CELLS black/white cells holding the bits of i. */
static void pattern_frame(int i, int w, int h, uint8_t *rgb) {
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + 3 * ((size_t)y * w + x);
      if (y < h / 4) {
        int bit = (i >> (x * CELLS / w)) & 1;
        p[0] = p[1] = p[2] = bit ? 235 : 16;
      } else {
        p[0] = (uint8_t)(x + 3 * i);
        p[1] = (uint8_t)(y * 2 - i);
        p[2] = (uint8_t)((x + y) / 2 + 5 * i);
      }
    }
  }
}

int pattern_index(const uint8_t *rgb, int w, int h) {
  int value = 0;
  for (int c = 0; c < CELLS; c++) {
    int cx = c * w / CELLS + w / (2 * CELLS), cy = h / 8, sum = 0;
    for (int dy = -2; dy <= 2; dy++)
      for (int dx = -2; dx <= 2; dx++) {
        const uint8_t *p = rgb + 3 * ((size_t)(cy + dy) * w + cx + dx);
        sum += p[0] + p[1] + p[2];
      }
    if (sum / 75 > 128) value |= 1 << c;
  }
  return value;
}

mv_status encode_pattern(const char *path, const char *codec, int frames, int gop,
                                double fps) {
  mv_video_writer_options opt = {codec, 0, gop, 0};
  mv_video_writer *w = NULL;
  mv_status s = mv_video_writer_open(path, W, H, fps, &opt, &w);
  if (s != MV_OK) return s;
  uint8_t *rgb = malloc((size_t)W * H * 3);
  for (int i = 0; i < frames && s == MV_OK; i++) {
    pattern_frame(i, W, H, rgb);
    s = mv_video_writer_add(w, rgb);
  }
  if (s == MV_OK) s = mv_video_writer_finish(w);
  mv_video_writer_close(w);
  free(rgb);
  return s;
}

uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

static int tool_exists(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

int run(const char *cmd) { return system(cmd) == 0; }

double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
  return s / (double)n;
}

int ffmpeg_frame(const char *file, int index, uint8_t *out, size_t bytes) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -nostdin -i '%s' -vf 'select=eq(n\\,%d)' -frames:v 1 -f rawvideo "
           "-pix_fmt rgb24 -",
           file, index);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t got = fread(out, 1, bytes, p);
  int rc = pclose(p);
  return got == bytes && rc == 0 ? 0 : -1;
}

int decode_all(mv_video *v, uint64_t *hashes, int *indices) {
  mv_video_info info;
  if (mv_video_get_info(v, &info) != MV_OK) return -1;
  size_t bytes = (size_t)info.width * info.height * 3;
  for (int i = 0; i < info.frame_count; i++) {
    const uint8_t *rgb = NULL;
    if (mv_video_frame(v, i, &rgb) != MV_OK) return i;
    if (hashes) hashes[i] = hash_bytes(rgb, bytes);
    if (indices) indices[i] = pattern_index(rgb, info.width, info.height);
  }
  return info.frame_count;
}

mv_video *open_video(const char *path, int short_side, size_t cache_bytes) {
  mv_video_options opt;
  mv_video_options_default(&opt);
  opt.short_side = short_side;
  opt.cache_bytes = cache_bytes;
  mv_video *v = NULL;
  if (!CHECK_OK(mv_video_open(path, &opt, &v))) return NULL;
  return v;
}

void video_testing_start(void) {
  if (!getenv("MIVOS_TEST_VERBOSE")) av_log_set_level(AV_LOG_FATAL);
  have_ffmpeg = tool_exists("ffmpeg");
  have_ffprobe = tool_exists("ffprobe");
}

int video_testing_finish(void) {
  /* our own temporary folder */
  char cmd[4200];
  const char *any = mv_test_temp_path("x");
  snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(any, '/') - any), any);
  if (strstr(any, "/mivos-test-") && !getenv("MIVOS_TEST_KEEP")) run(cmd);
  return mv_test_finish();
}
