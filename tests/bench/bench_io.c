/* bench io: decoding an 854x480 H.264 clip (120 frames encoded here from the
 * DAVIS blackswan frames, or a synthetic pattern without them) to RGB24,
 * sequentially and at random frames (no cache, so every access seeks to a
 * key frame and decodes forward), for two key-frame intervals; and DAVIS
 * palette PNG masks written and read per second at 854x480. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "error.h"
#include "mivos.h"
#include "testutil.h"

enum { W = 854, H = 480, FRAMES = 120, RANDOM_READS = 40, REPEATS = 3, PNG_WRITES = 60 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

/* The clip's frames: DAVIS blackswan forth and back, else a moving pattern. */
static void clip_frame(mv_video *davis, int count, int i, uint8_t *rgb) {
  if (davis) {
    int period = 2 * count - 2, k = i % period;
    if (mv_video_copy_frame(davis, k < count ? k : period - k, rgb) == MV_OK) return;
  }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = rgb + 3 * ((size_t)y * W + x);
      p[0] = (uint8_t)(x + 4 * i), p[1] = (uint8_t)(y * 3 + i), p[2] = (uint8_t)((x ^ y) + 2 * i);
    }
}

static mv_status encode_clip(const char *path, int gop, const char **source) {
  mv_video *davis = NULL;
  mv_video_options opt;
  mv_video_options_default(&opt);
  opt.cache_bytes = 1;
  const char *folder = mv_shared_path("data/davis2016/JPEGImages/480p/blackswan");
  mv_video_info info = {0};
  if (mv_video_open(folder, &opt, &davis) == MV_OK) {
    mv_video_get_info(davis, &info);
    if (info.width != W || info.height != H) {
      mv_video_close(davis);
      davis = NULL;
    }
  }
  *source = davis ? "DAVIS blackswan" : "synthetic pattern";
  mv_video_writer_options wopt = {"libx264", 0, gop, 0};
  mv_video_writer *w = NULL;
  mv_status s = mv_video_writer_open(path, W, H, 25.0, &wopt, &w);
  uint8_t *rgb = malloc((size_t)W * H * 3);
  for (int i = 0; s == MV_OK && i < FRAMES; i++) {
    clip_frame(davis, info.frame_count, i, rgb);
    s = mv_video_writer_add(w, rgb);
  }
  if (s == MV_OK) s = mv_video_writer_finish(w);
  mv_video_writer_close(w);
  mv_video_close(davis);
  free(rgb);
  return s;
}

/* Frames per second reading every frame in order (short_side 0 = native). */
static mv_status sequential_fps(const char *path, int short_side, double *fps) {
  double t[REPEATS];
  for (int r = 0; r < REPEATS; r++) {
    mv_video_options opt;
    mv_video_options_default(&opt);
    opt.short_side = short_side;
    opt.cache_bytes = 1; /* no reuse: every frame is decoded and converted */
    mv_video *v = NULL;
    MV_TRY(mv_video_open(path, &opt, &v));
    double t0 = bench_now();
    mv_status s = MV_OK;
    for (int i = 0; s == MV_OK && i < FRAMES; i++) {
      const uint8_t *rgb;
      s = mv_video_frame(v, i, &rgb);
    }
    t[r] = bench_now() - t0;
    mv_video_close(v);
    MV_TRY(s);
  }
  *fps = FRAMES / median(t, REPEATS);
  return MV_OK;
}

static mv_status random_fps(const char *path, double *fps) {
  double t[REPEATS];
  uint64_t state = 2024;
  for (int r = 0; r < REPEATS; r++) {
    mv_video_options opt;
    mv_video_options_default(&opt);
    opt.cache_bytes = 1;
    mv_video *v = NULL;
    MV_TRY(mv_video_open(path, &opt, &v));
    mv_status s = MV_OK;
    double t0 = bench_now();
    for (int k = 0; s == MV_OK && k < RANDOM_READS; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const uint8_t *rgb;
      s = mv_video_frame(v, (int)((state >> 33) % FRAMES), &rgb);
    }
    t[r] = bench_now() - t0;
    mv_video_close(v);
    MV_TRY(s);
  }
  *fps = RANDOM_READS / median(t, REPEATS);
  return MV_OK;
}

static mv_status png_rates(const char *folder, double *writes, double *reads, double *binary) {
  uint8_t *labels = malloc((size_t)W * H), *back = malloc((size_t)W * H);
  /* three objects: ellipses, as a segmentation looks */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int id = 0;
      double a = (x - 300.0) / 150, b = (y - 240.0) / 120, c = (x - 600.0) / 90,
             d = (y - 200.0) / 160, e = (x - 450.0) / 60, f = (y - 400.0) / 40;
      if (a * a + b * b < 1) id = 1;
      if (c * c + d * d < 1) id = 2;
      if (e * e + f * f < 1) id = 3;
      labels[(size_t)y * W + x] = (uint8_t)id;
    }
  char path[4096];
  snprintf(path, sizeof path, "%s/mask.png", folder);
  mv_status s = MV_OK;
  double tw[REPEATS], tr[REPEATS], tb[REPEATS];
  for (int r = 0; s == MV_OK && r < REPEATS; r++) {
    double t0 = bench_now();
    for (int i = 0; s == MV_OK && i < PNG_WRITES; i++) s = mv_mask_write_labels(path, labels, W, H);
    double t1 = bench_now();
    for (int i = 0; s == MV_OK && i < PNG_WRITES; i++) s = mv_mask_read_labels(path, W, H, back);
    double t2 = bench_now();
    for (int i = 0; s == MV_OK && i < PNG_WRITES; i++) s = mv_mask_write_binary(path, labels, W, H);
    double t3 = bench_now();
    tw[r] = t1 - t0, tr[r] = t2 - t1, tb[r] = t3 - t2;
  }
  unlink(path);
  free(labels);
  free(back);
  MV_TRY(s);
  *writes = PNG_WRITES / median(tw, REPEATS);
  *reads = PNG_WRITES / median(tr, REPEATS);
  *binary = PNG_WRITES / median(tb, REPEATS);
  return MV_OK;
}

int bench_io(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char folder[] = "/tmp/mivos-bench-io-XXXXXX";
  if (!mkdtemp(folder)) {
    fprintf(stderr, "bench io: cannot create a temporary folder\n");
    return 1;
  }
  char short_gop[4096], long_gop[4096];
  snprintf(short_gop, sizeof short_gop, "%s/gop30.mp4", folder);
  snprintf(long_gop, sizeof long_gop, "%s/gop250.mp4", folder);
  const char *source = "";
  double seq = 0, seq_small = 0, rnd30 = 0, rnd250 = 0, wps = 0, rps = 0, bps = 0;
  mv_status s = encode_clip(short_gop, 30, &source);
  if (s == MV_OK) s = encode_clip(long_gop, 250, &source);
  if (s == MV_OK) s = sequential_fps(short_gop, 0, &seq);
  if (s == MV_OK) s = sequential_fps(short_gop, 240, &seq_small);
  if (s == MV_OK) s = random_fps(short_gop, &rnd30);
  if (s == MV_OK) s = random_fps(long_gop, &rnd250);
  if (s == MV_OK) s = png_rates(folder, &wps, &rps, &bps);
  unlink(short_gop);
  unlink(long_gop);
  rmdir(folder);
  if (s != MV_OK) return 1;
  printf("clip: %d frames %dx%d H.264 (libx264 CRF 18, B-frames), from %s; no frame cache\n",
         FRAMES, W, H, source);
  printf("%-52s %10s\n", "measure", "per second");
  printf("%-52s %10.1f\n", "decode sequential -> RGB24 854x480 (frames)", seq);
  printf("%-52s %10.1f\n", "decode sequential -> RGB24 427x240 area (frames)", seq_small);
  printf("%-52s %10.1f\n", "decode random access, key frame every 30 (frames)", rnd30);
  printf("%-52s %10.1f\n", "decode random access, key frame every 250 (frames)", rnd250);
  printf("%-52s %10.1f\n", "palette PNG mask write 854x480 (files)", wps);
  printf("%-52s %10.1f\n", "palette PNG mask read 854x480 (files)", rps);
  printf("%-52s %10.1f\n", "binary 0/255 PNG mask write 854x480 (files)", bps);
  return 0;
}
