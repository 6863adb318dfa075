/* bench long: a long video in bounded memory. Encodes a synthetic 854x480
 * clip of FRAMES frames with FFmpeg (a textured ellipse moving over a
 * textured background, so every frame's true mask is known), opens it, marks
 * the ellipse on frame 0 with one scribble interaction and propagates
 * through the whole clip with the weight-free defaults, then reads back
 * every frame's mask and scores it. Prints the peak resident memory (VmHWM),
 * the device pool's peak, frames/s and the mean J; peak host memory must
 * stay under the budget (--budget-mib, default 2048) whatever the length:
 * the session's probabilities beyond its host limit go to a spill file, the
 * memory bank and the frame cache are bounded by their own limits.
 *
 * Settings from the environment (as the other sections):
 *   MIVOS_BENCH_LONG_FRAMES (10000), MIVOS_BENCH_LONG_BUDGET_MIB (2048),
 *   MIVOS_BENCH_LONG_MIN_J (0), MIVOS_BENCH_LONG_KEEP=1 keeps the video.
 * Fails when the peak passes the budget or the mean J is below the minimum
 * (the suite's test_long_video runs 1,000 frames this way). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mivos.h"
#include "opencl/runtime.h"
#include "testutil.h"

enum { W = 854, H = 480 };

/* The object's centre and half axes at frame t: a slow Lissajous path
 * that crosses most of the frame. */
static void ellipse_at(int t, double *cx, double *cy, double *ax, double *ay) {
  *cx = W / 2.0 + 250.0 * sin(t * 0.013);
  *cy = H / 2.0 + 110.0 * sin(t * 0.021 + 0.7);
  *ax = 95.0;
  *ay = 70.0;
}

static int inside(int t, int x, int y) {
  double cx, cy, ax, ay;
  ellipse_at(t, &cx, &cy, &ax, &ay);
  double u = (x - cx) / ax, v = (y - cy) / ay;
  return u * u + v * v <= 1.0;
}

static uint32_t hash2(uint32_t x, uint32_t y) {
  uint32_t h = x * 374761393u + y * 668265263u;
  h = (h ^ (h >> 13)) * 1274126177u;
  return h ^ (h >> 16);
}

/* Background: a blue-grey checker texture with noise; object: warm stripes
 * that move with it (texture in object coordinates). */
static void render(int t, uint8_t *rgb) {
  double cx, cy, ax, ay;
  ellipse_at(t, &cx, &cy, &ax, &ay);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = rgb + 3 * ((size_t)y * W + x);
      uint32_t n = hash2((uint32_t)x, (uint32_t)y) & 31;
      if (inside(t, x, y)) {
        int stripe = ((int)floor((x - cx) / 9.0) & 1);
        p[0] = (uint8_t)(190 + n), p[1] = (uint8_t)(stripe ? 120 : 70) + n / 2,
        p[2] = (uint8_t)(30 + n);
      } else {
        int check = ((x / 24) + (y / 24)) & 1;
        p[0] = (uint8_t)(40 + n), p[1] = (uint8_t)(check ? 90 : 60) + n,
        p[2] = (uint8_t)(check ? 150 : 110) + n;
      }
    }
}

/* Peak and current resident set of this process in MiB (/proc/self/status). */
static double status_mib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kib = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, n) && line[n] == ':') kib = atof(line + n + 1);
  if (f) fclose(f);
  return kib / 1024.0;
}

typedef struct progress {
  double start, rss_max_mib;
  int last_report;
} progress;

static int on_progress(void *user, int done, int total) {
  progress *p = user;
  if (done - p->last_report >= 500 || done == total) {
    double rss = status_mib("VmRSS");
    if (rss > p->rss_max_mib) p->rss_max_mib = rss;
    fprintf(stderr, "bench long: %d/%d frames, %.1f frames/s, RSS %.0f MiB\n", done, total,
            done / (bench_now() - p->start), rss);
    p->last_report = done;
  }
  return 0;
}

static double env_number(const char *name, double fallback) {
  const char *v = getenv(name);
  return v && *v ? atof(v) : fallback;
}

static mv_status make_video(const char *path, int frames) {
  mv_video_writer *writer = NULL;
  mv_video_writer_options options = {NULL, 0, 50, 0};
  uint8_t *rgb = malloc((size_t)W * H * 3);
  mv_status s = rgb ? mv_video_writer_open(path, W, H, 25.0, &options, &writer) : MV_E_MEMORY;
  for (int t = 0; t < frames && s == MV_OK; t++) {
    render(t, rgb);
    s = mv_video_writer_add(writer, rgb);
  }
  if (s == MV_OK) s = mv_video_writer_finish(writer);
  else mv_video_writer_close(writer);
  free(rgb);
  return s;
}

/* One interaction on frame 0: a positive stroke along the ellipse's long
 * axis and a negative box around it. */
static mv_status mark_frame0(mv_session *session) {
  double cx, cy, ax, ay;
  ellipse_at(0, &cx, &cy, &ax, &ay);
  float positive[] = {(float)(cx - ax * 0.6), (float)cy, (float)(cx + ax * 0.6), (float)cy,
                      (float)cx, (float)(cy - ay * 0.5), (float)cx, (float)(cy + ay * 0.5)};
  float x0 = (float)(cx - ax * 1.4), x1 = (float)(cx + ax * 1.4);
  float y0 = (float)(cy - ay * 1.5), y1 = (float)(cy + ay * 1.5);
  float negative[] = {x0, y0, x1, y0, x1, y1, x0, y1, x0, y0};
  mv_stroke strokes[] = {{positive, 2, 5, 1}, {positive + 4, 2, 5, 1}, {negative, 5, 5, 0}};
  return mv_session_scribble(session, 0, 1, strokes, 3, NULL);
}

int bench_long(int argc, char **argv) {
  int frames = (int)env_number("MIVOS_BENCH_LONG_FRAMES", 10000);
  double budget_mib = env_number("MIVOS_BENCH_LONG_BUDGET_MIB", 2048);
  double min_j = env_number("MIVOS_BENCH_LONG_MIN_J", 0);
  int keep = env_number("MIVOS_BENCH_LONG_KEEP", 0) != 0;
  if (frames < 2) {
    fprintf(stderr, "bench long: MIVOS_BENCH_LONG_FRAMES=%d, expected at least 2\n", frames);
    return 1;
  }
  const char *tmp = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/mivos-long-%d-%ld.mp4", tmp && *tmp ? tmp : "/tmp", frames,
           (long)getpid());
  double t0 = bench_now();
  mv_status s = make_video(path, frames);
  double encoded = bench_now();
  printf("%d frames %dx%d encoded in %.1f s (%s)\n", frames, W, H, encoded - t0, path);

  mv_video *video = NULL;
  mv_session *session = NULL;
  mv_video_options vo;
  mv_video_options_default(&vo);
  vo.cache_bytes = (size_t)64 << 20;
  if (s == MV_OK) s = mv_video_open(path, &vo, &video);
  mv_session_options so;
  mv_session_options_default(&so);
  /* Bounds that do not grow with the video: 256 MiB of device memory for
   * the memory bank and cached features, 256 MiB of probabilities in RAM. */
  so.device_memory_limit = (size_t)256 << 20;
  so.host_memory_limit = (size_t)256 << 20;
  if (s == MV_OK) s = mv_session_open(video, &so, &session);
  if (s == MV_OK) s = mark_frame0(session);
  progress p = {bench_now(), 0, 0};
  if (s == MV_OK) s = mv_session_propagate(session, 0, on_progress, &p);
  double propagated = bench_now();

  /* Every frame's mask against the true ellipse. */
  uint8_t *labels = malloc((size_t)W * H);
  double j_sum = 0, j_min = 1;
  if (!labels && s == MV_OK) s = MV_E_MEMORY;
  for (int t = 0; t < frames && s == MV_OK; t++) {
    s = mv_session_labels(session, t, labels);
    size_t both = 0, either = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int truth = inside(t, x, y), mask = labels[(size_t)y * W + x] == 1;
        both += truth && mask;
        either += truth || mask;
      }
    double j = either ? (double)both / either : 1.0;
    j_sum += j;
    if (j < j_min) j_min = j;
  }
  free(labels);
  double peak = status_mib("VmHWM");
  if (s == MV_OK) {
    printf("%-28s %10.1f\n", "propagation s", propagated - p.start);
    printf("%-28s %10.2f\n", "frames/s", (frames - 1) / (propagated - p.start));
    printf("%-28s %10.0f\n", "peak resident MiB (VmHWM)", peak);
    printf("%-28s %10.0f\n", "device pool peak MiB", mv_buffer_pool_peak() / 1048576.0);
    printf("%-28s %10.4f\n", "mean J", j_sum / frames);
    printf("%-28s %10.4f\n", "min J", j_min);
    printf("%-28s %10.0f\n", "budget MiB", budget_mib);
  }
  mv_session_close(session);
  mv_video_close(video);
  if (!keep) unlink(path);
  if (s != MV_OK) return 1;
  if (peak > budget_mib) {
    fprintf(stderr, "bench long: peak resident %.0f MiB is over the budget of %.0f MiB\n", peak,
            budget_mib);
    return 1;
  }
  if (j_sum / frames < min_j) {
    fprintf(stderr, "bench long: mean J %.4f is below %.4f\n", j_sum / frames, min_j);
    return 1;
  }
  return 0;
}
