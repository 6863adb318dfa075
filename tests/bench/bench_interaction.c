/* bench interaction: the graphcut scribble-to-mask backend at 854x480: a
 * synthetic frame (noisy ellipse) and DAVIS blackswan frame 0 with strokes
 * derived from its ground truth (when shared/data is there), each on one
 * core (the process pinned to its first allowed core: graphcut then runs
 * one thread) and on all the cores it may use (graphcut uses up to 2). */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "interaction/interactor.h"
#include "interaction/raster.h"
#include "testutil.h"

enum { W = 854, H = 480, REPEATS = 5 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* CPU seconds of the process, all threads (wall time overstates the cost on
 * a busy machine). */
static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Median ms of REPEATS runs after a warm-up; prints one row. */
static mv_status time_row(const char *what, const mv_interaction_input *in, const uint8_t *truth) {
  mv_interactor gc = {0};
  mv_status s = mv_interactor_graphcut(&gc);
  float *out = malloc((size_t)W * H * sizeof *out);
  double t[REPEATS], c[REPEATS];
  if (!out) s = MV_E_MEMORY;
  if (s == MV_OK) s = mv_interactor_run(&gc, in, out);
  for (int r = 0; r < REPEATS && s == MV_OK; r++) {
    double t0 = bench_now(), c0 = process_cpu();
    s = mv_interactor_run(&gc, in, out);
    t[r] = (bench_now() - t0) * 1e3;
    c[r] = (process_cpu() - c0) * 1e3;
  }
  if (s == MV_OK) {
    qsort(t, REPEATS, sizeof *t, cmp_double);
    qsort(c, REPEATS, sizeof *c, cmp_double);
    printf("%-44s %9.1f %9.1f %9.1f %8.4f\n", what, t[REPEATS / 2], t[0], c[REPEATS / 2],
           mv_test_iou(out, truth, (size_t)W * H));
  }
  mv_interactor_destroy(&gc);
  free(out);
  return s;
}

/* Both rows of one input: pinned to one core, then on all allowed cores. */
static mv_status time_rows(const char *what, const mv_interaction_input *in, const uint8_t *truth) {
  char label[64];
  mv_status s = MV_OK;
  snprintf(label, sizeof label, "%s", what);
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t all, one;
  if (sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) > 1) {
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &all)) {
        CPU_SET(c, &one);
        break;
      }
    if (sched_setaffinity(0, sizeof one, &one) == 0) {
      snprintf(label, sizeof label, "%s, 1 core", what);
      s = time_row(label, in, truth);
      sched_setaffinity(0, sizeof all, &all);
    }
    snprintf(label, sizeof label, "%s, %d cores", what, CPU_COUNT(&all));
  }
#endif
  if (s == MV_OK) s = time_row(label, in, truth);
  return s;
}

static int window_sum(const int *sat, int x, int y, int r) {
  int x0 = x - r < 0 ? 0 : x - r, y0 = y - r < 0 ? 0 : y - r;
  int x1 = x + r >= W ? W - 1 : x + r, y1 = y + r >= H ? H - 1 : y + r;
  return sat[(y1 + 1) * (W + 1) + x1 + 1] - sat[y0 * (W + 1) + x1 + 1] -
         sat[(y1 + 1) * (W + 1) + x0] + sat[y0 * (W + 1) + x0];
}

int bench_interaction(int argc, char **argv) {
  (void)argc, (void)argv;
  const size_t n = (size_t)W * H;
  uint8_t *rgb = malloc(n * 3), *truth = malloc(n), *pos = calloc(n, 1), *neg = calloc(n, 1);
  int *sat = calloc((size_t)(W + 1) * (H + 1), sizeof *sat);
  mv_status s = rgb && truth && pos && neg && sat ? MV_OK : MV_E_MEMORY;
  printf("%-44s %9s %9s %9s %8s\n", "graphcut 854x480", "median ms", "min ms", "cpu ms",
         "IoU");

  /* Synthetic: a noisy ellipse on a close background colour. */
  uint64_t state = 7;
  for (int y = 0; y < H && s == MV_OK; y++)
    for (int x = 0; x < W; x++) {
      double ex = (x - 0.45 * W) / (0.25 * W), ey = (y - 0.5 * H) / (0.3 * H);
      int in = ex * ex + ey * ey <= 1;
      truth[y * W + x] = (uint8_t)in;
      const int fg[3] = {150, 110, 90}, bg[3] = {90, 120, 140};
      for (int c = 0; c < 3; c++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        int v = (in ? fg[c] : bg[c]) + (int)((state >> 33) % 81) - 40;
        rgb[3 * (y * W + x) + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  float p[4] = {300, 220, 460, 260}, q[4] = {780, 40, 800, 440};
  if (s == MV_OK) s = mv_raster_polyline(pos, W, H, p, 2, 5, 1);
  if (s == MV_OK) s = mv_raster_polyline(neg, W, H, q, 2, 5, 1);
  mv_interaction_input in = {rgb, W, H, NULL, pos, neg};
  if (s == MV_OK) s = time_rows("synthetic ellipse, 2 strokes", &in, truth);

  /* blackswan 00000 with strokes from the ground truth. */
  mv_video_options options;
  mv_video_options_default(&options);
  options.short_side = 0;
  mv_video *video = NULL;
  const char *frames = mv_shared_path("data/davis2016/JPEGImages/480p/blackswan/%05d.jpg");
  const char *mask = mv_shared_path("data/davis2016/Annotations/480p/blackswan/00000.png");
  if (s == MV_OK && mv_video_open(frames, &options, &video) == MV_OK) {
    s = mv_video_copy_frame(video, 0, rgb);
    mv_video_close(video);
    if (s == MV_OK) s = mv_mask_read_labels(mask, W, H, truth);
    if (s == MV_OK) {
      memset(pos, 0, n);
      memset(neg, 0, n);
      long ys = 0, count = 0;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          sat[(y + 1) * (W + 1) + x + 1] = (truth[y * W + x] != 0) + sat[y * (W + 1) + x + 1] +
                                           sat[(y + 1) * (W + 1) + x] - sat[y * (W + 1) + x];
          if (truth[y * W + x]) ys += y, count++;
        }
      int row = count ? (int)(ys / count) : H / 2;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          if (y >= row - 2 && y <= row + 2 && window_sum(sat, x, y, 8) == 17 * 17)
            pos[y * W + x] = 1;
          int stroke = (y >= 30 && y < 35) || (y >= H - 35 && y < H - 30);
          if (stroke && window_sum(sat, x, y, 30) == 0) neg[y * W + x] = 1;
        }
      s = time_rows("blackswan 00000, GT strokes", &in, truth);
    }
  } else if (s == MV_OK) {
    printf("(blackswan not found: %s)\n", mv_error_message());
  }
  free(rgb);
  free(truth);
  free(pos);
  free(neg);
  free(sat);
  return s == MV_OK ? 0 : 1;
}
