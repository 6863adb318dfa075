/* Network timings at 854x480 (padded 864x480) on the selected device with
 * hashinit weights (the arithmetic is the same as with trained weights).
 * FLOP counts per call are those of the official networks at this size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/aggregate.h"
#include "bench.h"
#include "fusion/fusion_net.h"
#include "nets/preprocess.h"
#include "propagation/propagation_net.h"
#include "interaction/s2m_net.h"
#include "testutil.h"

enum { WIDTH = 854, HEIGHT = 480, MEMORY_FRAMES = 4 };

const char *bench_manifest(const char *network) {
  static char path[3][1024];
  static int next;
  char *p = path[next++ % 3];
  snprintf(p, 1024, "%s", mv_shared_path("spec/checkpoints/"));
  strncat(p, network, 1000 - strlen(p));
  strcat(p, ".tsv");
  return p;
}

int bench_repeats(void) {
  const char *r = getenv("MIVOS_BENCH_REPEATS");
  return r && atoi(r) > 0 ? atoi(r) : 3;
}

/* Median of the repeats, after one warm-up run. */
static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return v[n / 2];
}

static void row(const char *what, double seconds, double gflop, double official_seconds) {
  printf("%-34s %10.1f %8.0f %9.1f", what, seconds * 1e3, gflop, gflop / seconds);
  if (official_seconds > 0) printf(" %12.2f %8.2fx", official_seconds, official_seconds / seconds);
  printf("\n");
  fflush(stdout);
}

typedef struct stage_times {
  double encode, read_decode, memorize;
} stage_times;

static mv_status propagation_frame(const mv_propagation *net, const mv_tensor *image,
                                   mv_memory *memory, int k, stage_times *t) {
  mv_query q = {0};
  mv_tensor prob = {0}, aggregated = {0}, objects, key = {0}, value = {0};
  double t0 = bench_now();
  mv_status s = mv_propagation_encode_query(net, image, 0, &q);
  if (s == MV_OK) s = mv_runtime_finish();
  double t1 = bench_now();
  if (s == MV_OK) s = mv_propagation_segment(net, &q, memory, &prob, NULL);
  if (s == MV_OK) s = mv_aggregate(&prob, 0, &aggregated);
  if (s == MV_OK) s = mv_runtime_finish();
  double t2 = bench_now();
  if (s == MV_OK) s = mv_tensor_view(&aggregated, 1, k, 0, 1, &objects);
  if (s == MV_OK) s = mv_propagation_memorize(net, image, &objects, &key, &value);
  if (s == MV_OK) s = mv_memory_store(memory, memory->frames - 1, &key, &value);
  if (s == MV_OK) s = mv_runtime_finish();
  double t3 = bench_now();
  t->encode = t1 - t0;
  t->read_decode = t2 - t1;
  t->memorize = t3 - t2;
  mv_query_free(&q);
  mv_tensor *temps[4] = {&prob, &aggregated, &key, &value};
  for (int i = 0; i < 4; i++) mv_tensor_free(temps[i]);
  return s;
}

int bench_time_propagation(const mv_checkpoint *weights, const mv_tensor *image, int k,
                           bench_stage *out) {
  mv_propagation *net = NULL;
  if (mv_propagation_load(weights, &net) != MV_OK) return 1;
  mv_memory memory = {0};
  int h = image->h / 16, w = image->w / 16;
  mv_status s = mv_tensor_zeros(&memory.keys, k, MV_KEY_DIM, MEMORY_FRAMES, h * w);
  if (s == MV_OK) s = mv_tensor_zeros(&memory.values, k, MV_VALUE_DIM, MEMORY_FRAMES, h * w);
  memory.frames = MEMORY_FRAMES;
  int n = bench_repeats();
  double total[16], encode[16], read[16], memorize[16];
  stage_times t;
  if (s == MV_OK) s = propagation_frame(net, image, &memory, k, &t); /* warm-up */
  for (int i = 0; i < n && i < 16 && s == MV_OK; i++) {
    s = propagation_frame(net, image, &memory, k, &t);
    encode[i] = t.encode;
    read[i] = t.read_decode;
    memorize[i] = t.memorize;
    total[i] = t.encode + t.read_decode + t.memorize;
  }
  if (s == MV_OK) {
    out->seconds = median(total, n);
    out->encode = median(encode, n);
    out->read_decode = median(read, n);
    out->memorize = median(memorize, n);
  }
  mv_tensor_free(&memory.keys);
  mv_tensor_free(&memory.values);
  mv_propagation_free(net);
  return s != MV_OK;
}

static int bench_propagation(const mv_checkpoint *weights, const mv_tensor *image, int k,
                             double gflop, double official) {
  bench_stage t = {0};
  if (bench_time_propagation(weights, image, k, &t) != 0) return 1;
  char what[64];
  snprintf(what, sizeof what, "propagation frame, k=%d", k);
  row(what, t.seconds, gflop, official);
  printf("  %-32s %10.1f\n", "query encode", t.encode * 1e3);
  printf("  %-32s %10.1f\n", "memory read + decode (+aggregate)", t.read_decode * 1e3);
  printf("  %-32s %10.1f\n", "memorize", t.memorize * 1e3);
  return 0;
}

int bench_time_s2m(const mv_checkpoint *weights, const mv_tensor *image, bench_stage *out) {
  mv_s2m *net = NULL;
  if (mv_s2m_load(weights, &net) != MV_OK) return 1;
  mv_tensor input = {0}, prob = {0};
  mv_status s = mv_tensor_zeros(&input, 1, 6, image->h, image->w);
  mv_tensor rgb;
  if (s == MV_OK) s = mv_tensor_view(&input, 0, 1, 0, 3, &rgb);
  if (s == MV_OK) s = mv_tensor_copy(image, &rgb);
  int n = bench_repeats();
  double times[16];
  if (s == MV_OK) s = mv_s2m_forward(net, &input, &prob, NULL);
  if (s == MV_OK) s = mv_runtime_finish();
  for (int i = 0; i < n && i < 16 && s == MV_OK; i++) {
    double t0 = bench_now();
    s = mv_s2m_forward(net, &input, &prob, NULL);
    if (s == MV_OK) s = mv_runtime_finish();
    times[i] = bench_now() - t0;
  }
  if (s == MV_OK) out->seconds = median(times, n);
  mv_tensor_free(&input);
  mv_tensor_free(&prob);
  mv_s2m_free(net);
  return s != MV_OK;
}

static int bench_s2m(const mv_checkpoint *weights, const mv_tensor *image) {
  bench_stage t = {0};
  if (bench_time_s2m(weights, image, &t) != 0) return 1;
  row("S2M, one object", t.seconds, 190, 0.77);
  return 0;
}

int bench_time_fusion(const mv_checkpoint *weights, const mv_tensor *image, bench_stage *out) {
  mv_fusion *net = NULL;
  if (mv_fusion_load(weights, &net) != MV_OK) return 1;
  int H = image->h, W = image->w, h = H / 16, w = W / 16;
  mv_tensor key = {0}, query = {0}, pos = {0}, neg = {0}, prev = {0}, curr = {0}, attn = {0},
            logit = {0};
  mv_status s = MV_OK;
  mv_tensor *inputs[6] = {&key, &query, &pos, &neg, &prev, &curr};
  int channels[6] = {MV_KEY_DIM, MV_KEY_DIM, 1, 1, 1, 1};
  for (int i = 0; i < 6 && s == MV_OK; i++) {
    int small = i < 2;
    s = mv_tensor_new(inputs[i], 1, channels[i], small ? h : H, small ? w : W);
    if (s == MV_OK) s = mv_tensor_fill(inputs[i], 0.25f * (float)(i + 1));
  }
  int n = bench_repeats();
  double times[16];
  for (int i = -1; i < n && i < 16 && s == MV_OK; i++) {
    double t0 = bench_now();
    s = mv_fusion_attention(&key, &query, &pos, &neg, &attn);
    if (s == MV_OK) s = mv_fusion_forward(net, image, &prev, &curr, &attn, 0.5f, 0.5f, &logit);
    if (s == MV_OK) s = mv_runtime_finish();
    if (i >= 0) times[i] = bench_now() - t0;
    mv_tensor_free(&attn);
    mv_tensor_free(&logit);
  }
  if (s == MV_OK) out->seconds = median(times, n);
  for (int i = 0; i < 6; i++) mv_tensor_free(inputs[i]);
  mv_fusion_free(net);
  return s != MV_OK;
}

static int bench_fusion(const mv_checkpoint *weights, const mv_tensor *image) {
  bench_stage t = {0};
  if (bench_time_fusion(weights, image, &t) != 0) return 1;
  row("fusion, one object (attention+net)", t.seconds, 34, 0.37);
  return 0;
}

int bench_frame(mv_tensor *image) {
  uint8_t *rgb = malloc((size_t)WIDTH * HEIGHT * 3);
  if (!rgb) return 1;
  for (size_t i = 0; i < (size_t)WIDTH * HEIGHT * 3; i++) rgb[i] = (uint8_t)((i * 2654435761u) >> 24);
  mv_status s = mv_preprocess_frame(rgb, HEIGHT, WIDTH, mv_padding_for(HEIGHT, WIDTH, 16), image);
  free(rgb);
  return s != MV_OK;
}

int bench_networks(int argc, char **argv) {
  mv_device_info device;
  if (mv_device_current(&device) != MV_OK) return 1;
  printf("device: %s (%s), %dx%d input, memory of %d frames, median of %d\n", device.name,
         device.platform, WIDTH, HEIGHT, MEMORY_FRAMES, bench_repeats());
  mv_tensor image = {0};
  if (bench_frame(&image) != 0) return 1;
  printf("%-34s %10s %8s %9s %12s %9s\n", "what", "ms", "GFLOP", "GFLOP/s", "official s",
         "speed-up");
  int failures = 0;
  mv_checkpoint *weights = NULL;
  if (mv_checkpoint_hashinit(bench_manifest("s2m"), "", &weights) == MV_OK) {
    failures += bench_s2m(weights, &image);
    mv_checkpoint_close(weights);
  } else {
    failures++;
  }
  if (mv_checkpoint_hashinit(bench_manifest("propagation_model"), "", &weights) == MV_OK) {
    failures += bench_propagation(weights, &image, 1, 429, 1.68);
    failures += bench_propagation(weights, &image, 2, 627, 2.58);
    mv_checkpoint_close(weights);
  } else {
    failures++;
  }
  if (mv_checkpoint_hashinit(bench_manifest("fusion"), "", &weights) == MV_OK) {
    failures += bench_fusion(weights, &image);
    mv_checkpoint_close(weights);
  } else {
    failures++;
  }
  printf("official: PyTorch 1.13 (oneDNN) on the 2-core CPU, 2 threads (from the issue)\n");
  mv_tensor_free(&image);
  return failures ? 1 : 0;
}
