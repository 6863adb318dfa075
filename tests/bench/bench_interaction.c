/* bench interaction: the graphcut scribble-to-mask backend at 854x480: a
 * synthetic frame (noisy ellipse) and DAVIS blackswan frame 0 with strokes
 * derived from its ground truth (when shared/data is there), each on one
 * core (the process pinned to its first allowed core: graphcut then runs
 * one thread) and on all the cores it may use (graphcut uses up to 2); then
 * the DAVIS robot's strokes (the evaluation's first two interactions on
 * frame 0 of every DAVIS 2016 sequence there, rasterised as mivos eval does)
 * on all cores. Each row ends with a hash of the output mask, so that two
 * builds' rows show whether their masks are identical.
 * MIVOS_BENCH_INTERACTION=frames,robot runs only the parts named. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "error.h"
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

/* FNV-1a of the mask's 0/1 bytes. */
static uint32_t mask_hash(const float *mask, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint32_t)(mask[i] > 0.5f)) * 16777619u;
  return h;
}

/* Median ms (wall and process CPU) of `repeats` runs after a warm-up; prints
 * one row; the mask in out (W x H, may be NULL). */
typedef mv_status (*interactor_fn)(mv_interactor *out);

static mv_status time_row_with(interactor_fn make, const char *what,
                               const mv_interaction_input *in, const uint8_t *truth, int repeats,
                               float *result, double *cpu_ms) {
  mv_interactor gc = {0};
  mv_status s = make(&gc);
  float *out = malloc((size_t)W * H * sizeof *out);
  double t[REPEATS], c[REPEATS];
  if (repeats > REPEATS) repeats = REPEATS;
  if (!out) s = MV_E_MEMORY;
  if (s == MV_OK) s = mv_interactor_run(&gc, in, out);
  for (int r = 0; r < repeats && s == MV_OK; r++) {
    double t0 = bench_now(), c0 = process_cpu();
    s = mv_interactor_run(&gc, in, out);
    t[r] = (bench_now() - t0) * 1e3;
    c[r] = (process_cpu() - c0) * 1e3;
  }
  if (s == MV_OK) {
    qsort(t, repeats, sizeof *t, cmp_double);
    qsort(c, repeats, sizeof *c, cmp_double);
    printf("%-44s %9.1f %9.1f %9.1f %8.4f %08x\n", what, t[repeats / 2], t[0], c[repeats / 2],
           mv_test_iou(out, truth, (size_t)W * H), (unsigned)mask_hash(out, (size_t)W * H));
    if (result) memcpy(result, out, (size_t)W * H * sizeof *out);
    if (cpu_ms) *cpu_ms = c[repeats / 2];
  }
  mv_interactor_destroy(&gc);
  free(out);
  return s;
}

/* graphcut as configured (the banded cut unless MIVOS_GRAPHCUT_EXACT=1). */
static mv_status time_row(const char *what, const mv_interaction_input *in, const uint8_t *truth,
                          int repeats, float *result, double *cpu_ms) {
  return time_row_with(mv_interactor_graphcut, what, in, truth, repeats, result, cpu_ms);
}

/* Intersection over union of two 0/1 masks (1 when both are empty). */
static double mask_iou(const float *a, const float *b, size_t n) {
  size_t inter = 0, uni = 0;
  for (size_t i = 0; i < n; i++) {
    const int x = a[i] > 0.5f, y = b[i] > 0.5f;
    inter += x && y;
    uni += x || y;
  }
  return uni ? (double)inter / uni : 1.0;
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
      s = time_row(label, in, truth, REPEATS, NULL, NULL);
      sched_setaffinity(0, sizeof all, &all);
    }
    snprintf(label, sizeof label, "%s, %d cores", what, CPU_COUNT(&all));
  }
#endif
  if (s == MV_OK) s = time_row(label, in, truth, REPEATS, NULL, NULL);
  return s;
}

static int window_sum(const int *sat, int x, int y, int r) {
  int x0 = x - r < 0 ? 0 : x - r, y0 = y - r < 0 ? 0 : y - r;
  int x1 = x + r >= W ? W - 1 : x + r, y1 = y + r >= H ? H - 1 : y + r;
  return sat[(y1 + 1) * (W + 1) + x1 + 1] - sat[y0 * (W + 1) + x1 + 1] -
         sat[(y1 + 1) * (W + 1) + x0] + sat[y0 * (W + 1) + x0];
}

/* The robot's strokes against the prediction pred (0/1) on a frame whose
 * ground truth is truth (0/1), as mivos eval hands them to the backend: the
 * DAVIS JSON rasterised in 1-pixel lines. *strokes: how many. */
static mv_status robot_maps(const uint8_t *truth, const uint8_t *pred, int16_t *labels,
                            uint8_t *pos, uint8_t *neg, int *strokes) {
  mv_robot_scribble *scribble = NULL;
  MV_TRY(mv_robot_interact(truth, pred, 1, W, H, 1, 0, NULL, &scribble));
  *strokes = scribble->stroke_count;
  size_t length = 0;
  mv_status s = mv_robot_scribble_json(scribble, "bench", NULL, 0, &length);
  char *text = s == MV_OK ? malloc(length + 1) : NULL;
  if (s == MV_OK && !text) s = mv_fail(MV_E_MEMORY, "bench interaction: out of memory");
  if (s == MV_OK) s = mv_robot_scribble_json(scribble, "bench", text, length + 1, &length);
  mv_json *root = NULL;
  if (s == MV_OK) s = mv_json_parse(text, length, "robot scribble", &root);
  if (s == MV_OK) s = mv_scribbles_from_davis_json(root, 0, W, H, 1, labels);
  if (s == MV_OK) s = mv_scribbles_split(labels, W, H, 1, pos, neg);
  mv_json_free(root);
  free(text);
  mv_robot_scribble_free(scribble);
  return s;
}

/* Frame 0 of every DAVIS 2016 sequence found: the robot's first
 * interaction (against an empty prediction) and its second (against the
 * first's mask, which is also the backend's previous mask). */
static mv_status robot_rows(uint8_t *rgb, uint8_t *truth, uint8_t *pos, uint8_t *neg) {
  static const char *const sequences[] = {
      "blackswan", "breakdance", "car-roundabout", "cows", "dog",
      "drift-straight", "horsejump-high", "libby", "paragliding-launch", "scooter-black"};
  const size_t n = (size_t)W * H;
  uint8_t *pred = malloc(n);
  int16_t *labels = malloc(n * sizeof *labels);
  float *mask = malloc(n * sizeof *mask), *banded = malloc(n * sizeof *banded);
  mv_status s = pred && labels && mask && banded ? MV_OK : MV_E_MEMORY;
  double sum = 0, max = 0, sum_banded = 0, max_banded = 0, j_exact = 0, j_banded = 0, j_between = 0;
  size_t differ = 0;
  int rows = 0;
  for (size_t q = 0; q < sizeof sequences / sizeof *sequences && s == MV_OK; q++) {
    char pattern[160], first[160], label[64];
    snprintf(pattern, sizeof pattern, "data/davis2016/JPEGImages/480p/%s/%%05d.jpg", sequences[q]);
    snprintf(first, sizeof first, "data/davis2016/Annotations/480p/%s/00000.png", sequences[q]);
    mv_video_options options;
    mv_video_options_default(&options);
    options.short_side = 0;
    mv_video *video = NULL;
    if (mv_video_open(mv_shared_path(pattern), &options, &video) != MV_OK) continue;
    s = mv_video_copy_frame(video, 0, rgb);
    mv_video_close(video);
    if (s == MV_OK) s = mv_mask_read_labels(mv_shared_path(first), W, H, truth);
    for (size_t i = 0; i < n && s == MV_OK; i++) truth[i] = truth[i] != 0;
    memset(pred, 0, n);
    for (int round = 1; round <= 2 && s == MV_OK; round++) {
      int strokes = 0;
      s = robot_maps(truth, pred, labels, pos, neg, &strokes);
      if (s != MV_OK) break;
      mv_interaction_input in = {rgb, W, H, round > 1 ? mask : NULL, pos, neg};
      snprintf(label, sizeof label, "robot %s 00000 #%d (%d strokes)", sequences[q], round,
               strokes);
      /* The exact cut, then the banded one on the same input (the strokes
       * and previous mask come from the exact cut's chain). */
      double cpu = 0, cpu_banded = 0;
      s = time_row_with(mv_interactor_graphcut_exact, label, &in, truth, 3, mask, &cpu);
      snprintf(label, sizeof label, "  banded #%d", round);
      if (s == MV_OK)
        s = time_row_with(mv_interactor_graphcut, label, &in, truth, 3, banded, &cpu_banded);
      if (s != MV_OK) break;
      j_exact += mv_test_iou(mask, truth, n);
      j_banded += mv_test_iou(banded, truth, n);
      j_between += mask_iou(mask, banded, n);
      for (size_t i = 0; i < n; i++) differ += (mask[i] > 0.5f) != (banded[i] > 0.5f);
      for (size_t i = 0; i < n; i++) pred[i] = mask[i] > 0.5f;
      sum += cpu;
      max = cpu > max ? cpu : max;
      sum_banded += cpu_banded;
      max_banded = cpu_banded > max_banded ? cpu_banded : max_banded;
      rows++;
    }
  }
  if (s == MV_OK && rows) {
    printf("robot strokes, %d frames, exact cut:  cpu ms mean %.1f, max %.1f; J vs truth %.4f\n",
           rows, sum / rows, max, j_exact / rows);
    printf("robot strokes, %d frames, banded cut: cpu ms mean %.1f, max %.1f; J vs truth %.4f; "
           "J vs exact %.4f, %.0f pixels differ per frame\n",
           rows, sum_banded / rows, max_banded, j_banded / rows, j_between / rows,
           (double)differ / rows);
  }
  free(banded);
  free(pred);
  free(labels);
  free(mask);
  return s;
}

int bench_interaction(int argc, char **argv) {
  (void)argc, (void)argv;
  const size_t n = (size_t)W * H;
  uint8_t *rgb = malloc(n * 3), *truth = malloc(n), *pos = calloc(n, 1), *neg = calloc(n, 1);
  int *sat = calloc((size_t)(W + 1) * (H + 1), sizeof *sat);
  mv_status s = rgb && truth && pos && neg && sat ? MV_OK : MV_E_MEMORY;
  printf("%-44s %9s %9s %9s %8s %8s\n", "graphcut 854x480", "median ms", "min ms", "cpu ms",
         "IoU", "mask");

  /* MIVOS_BENCH_INTERACTION=frames,robot (any of them; default all). */
  const char *parts = getenv("MIVOS_BENCH_INTERACTION");
  if (parts && !parts[0]) parts = NULL;
  const int frames_part = !parts || strstr(parts, "frames"), robot_part = !parts || strstr(parts, "robot");

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
  if (s == MV_OK && frames_part) s = time_rows("synthetic ellipse, 2 strokes", &in, truth);

  /* blackswan 00000 with strokes from the ground truth. */
  mv_video_options options;
  mv_video_options_default(&options);
  options.short_side = 0;
  mv_video *video = NULL;
  const char *frames = mv_shared_path("data/davis2016/JPEGImages/480p/blackswan/%05d.jpg");
  const char *mask = mv_shared_path("data/davis2016/Annotations/480p/blackswan/00000.png");
  if (s == MV_OK && frames_part && mv_video_open(frames, &options, &video) == MV_OK) {
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
  } else if (s == MV_OK && frames_part) {
    printf("(blackswan not found: %s)\n", mv_error_message());
  }
  if (s == MV_OK && robot_part) s = robot_rows(rgb, truth, pos, neg);
  free(rgb);
  free(truth);
  free(pos);
  free(neg);
  free(sat);
  return s == MV_OK ? 0 : 1;
}
