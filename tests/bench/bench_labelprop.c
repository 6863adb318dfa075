/* bench labelprop: frames/s of the weight-free propagation (labelprop +
 * linear fusion through the engine) at 854x480 on DAVIS libby: one
 * interaction on frame 0 (the ground truth), propagated over FRAMES frames,
 * for strides 8 and 4 (the default; stride 8 with the same pixel-scale
 * position weight and window); also the mean J of the propagated frames. Frames are
 * decoded and preprocessed before timing (the engine's source hands out
 * cached device copies), so the numbers are the modules plus the engine. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "session/engine.h"
#include "propagation/labelprop.h"
#include "nets/preprocess.h"
#include "testutil.h"

enum { FRAMES = 16 };

typedef struct bench_frames {
  mv_tensor image[FRAMES];
} bench_frames;

static mv_status cached_source(void *user, int t, mv_tensor *out) {
  bench_frames *f = user;
  if (mv_tensor_new(out, 1, 3, f->image[t].h, f->image[t].w) != MV_OK) return MV_E_MEMORY;
  return mv_tensor_copy(&f->image[t], out);
}

/* frames < FRAMES: a warm-up (kernels built, GEMM shapes seen), not printed. */
static mv_status run_stride(int stride, int frames, bench_frames *f, const uint8_t *truth, int h,
                            int w, const float *mask) {
  mv_labelprop_options o;
  mv_labelprop_options_default(&o);
  /* The defaults are for stride 4: keep their pixel scale (position
   * bandwidth and window) at other strides. */
  o.position_weight *= (float)stride / o.stride;
  o.window = o.window * o.stride / stride;
  o.stride = stride;
  mv_propagator prop;
  mv_fuser fuser;
  mv_engine *engine = NULL;
  mv_engine_config config = {
      .frames = frames, .objects = 1, .height = h, .width = w, .memory_every = 5};
  mv_status s = mv_propagator_labelprop(&o, &prop);
  if (s == MV_OK) s = mv_fuser_linear(&fuser);
  if (s == MV_OK) s = mv_engine_create(&config, prop, &fuser, cached_source, f, &engine);
  double t0 = bench_now();
  if (s == MV_OK) s = mv_engine_interact(engine, 0, mask, NULL, NULL);
  double seconds = bench_now() - t0;
  uint8_t *labels = malloc((size_t)h * w);
  double sum = 0.0;
  for (int t = 1; s == MV_OK && t < frames && labels; t++) {
    s = mv_engine_labels(engine, t, labels);
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < (size_t)h * w; i++) {
      int a = labels[i] == 1, b = truth[(size_t)t * h * w + i] != 0;
      inter += a && b;
      uni += a || b;
    }
    sum += uni ? (double)inter / uni : 1.0;
  }
  if (s == MV_OK && frames == FRAMES)
    printf("  stride %d (%dx%d cells)  %6.3f frames/s  %7.1f ms/frame  mean J %.4f\n", stride,
           (w + 15) / 16 * 16 / stride, (h + 15) / 16 * 16 / stride, (frames - 1) / seconds,
           1000.0 * seconds / (frames - 1), sum / (frames - 1));
  free(labels);
  mv_engine_free(engine);
  return s;
}

int bench_labelprop(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mv_video_options vo;
  mv_video_options_default(&vo); /* 480 short side */
  mv_video *video = NULL;
  mv_status s = mv_video_open(mv_shared_path("data/davis2016/JPEGImages/480p/libby"), &vo, &video);
  mv_video_info info;
  if (s == MV_OK) s = mv_video_get_info(video, &info);
  if (s != MV_OK) {
    mv_video_close(video);
    return 1;
  }
  int h = info.height, w = info.width;
  size_t plane = (size_t)h * w;
  bench_frames f = {{{0}}};
  mv_padding pad = mv_padding_for(h, w, 16);
  uint8_t *truth = malloc(FRAMES * plane);
  float *mask = calloc(2 * plane, sizeof(float));
  if (!truth || !mask) s = MV_E_MEMORY;
  for (int t = 0; s == MV_OK && t < FRAMES; t++) {
    const uint8_t *rgb = NULL;
    char name[64];
    snprintf(name, sizeof name, "data/davis2016/Annotations/480p/libby/%05d.png", t);
    s = mv_video_frame(video, t, &rgb);
    if (s == MV_OK) s = mv_preprocess_frame(rgb, h, w, pad, &f.image[t]);
    if (s == MV_OK) s = mv_mask_read_labels(mv_shared_path(name), w, h, truth + t * plane);
  }
  for (size_t i = 0; s == MV_OK && i < plane; i++) mask[(truth[i] != 0) * plane + i] = 1.0f;
  const int strides[2] = {8, 4};
  for (int i = 0; s == MV_OK && i < 2; i++) {
    s = run_stride(strides[i], 3, &f, truth, h, w, mask);
    if (s == MV_OK) s = run_stride(strides[i], FRAMES, &f, truth, h, w, mask);
  }
  for (int t = 0; t < FRAMES; t++) mv_tensor_free(&f.image[t]);
  free(truth);
  free(mask);
  mv_video_close(video);
  return s == MV_OK ? 0 : 1;
}
