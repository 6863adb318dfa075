/* Golden case `s2m`: the DAVIS processor's Scribble-to-Mask step. The input
 * is built from the raw frame, label map and scribble labels (preprocessing
 * and mv_s2m_make_input are checked on the way), then the network's
 * intermediates for object 1, the per-object sigmoids and the hard
 * aggregation are compared with the official outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nets/aggregate.h"
#include "golden.h"
#include "nets/preprocess.h"
#include "interaction/s2m_net.h"
#include "testutil.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Exact inputs (preprocessing, masks) are held to a max abs error. */
static int compare_max_abs(const golden_ctx *ctx, const char *label, const mv_tensor *out,
                           const mv_array *ref, double tolerance) {
  if (!ref || ref->dtype != MV_FLOAT32 || !out->buffer ||
      (int64_t)mv_tensor_numel(out) != mv_array_numel(ref)) {
    CHECK(0, "%s/%s: output and reference differ in size or type", ctx->case_name, label);
    return 0;
  }
  size_t n = mv_tensor_numel(out);
  float *host = malloc(n * sizeof *host);
  if (!host || !CHECK_OK(mv_tensor_download(out, host))) {
    free(host);
    return 0;
  }
  double err = mv_max_abs_diff(host, ref->data, n);
  free(host);
  int ok = err <= tolerance;
  printf("  %-14s %-28s max_abs = %.3e  (tolerance %.0e)  %s\n", ctx->case_name, label, err,
         tolerance, ok ? "ok" : "FAIL");
  CHECK(ok, "%s/%s: max abs %.3e > %.0e", ctx->case_name, label, err, tolerance);
  return ok;
}

static int same_hw(const mv_array *a, mv_dtype dtype, int64_t h, int64_t w) {
  return a && a->dtype == dtype && a->ndim == 2 && a->shape[0] == h && a->shape[1] == w;
}

enum {
  A_FRAME, A_PREV, A_SCRIBBLE, A_IMAGE, A_INPUTS, A_LAYER1, A_LAYER4, A_ASPP, A_LOWLEVEL,
  A_LOGIT_QUARTER, A_SIGMOID, A_AGGREGATED, A_COUNT
};
static const char *const array_names[A_COUNT] = {
    "frame_u8",    "prev_label", "scribble_label", "image_norm_padded", "inputs_padded",
    "obj1_layer1", "obj1_layer4", "obj1_aspp",     "obj1_lowlevel_proj", "obj1_logit_quarter",
    "sigmoid",     "aggregated_hard"};

int golden_case_s2m(const golden_ctx *ctx) {
  const double t0 = now_seconds();
  mv_array *a[A_COUNT] = {0};
  int loaded = 1;
  for (int i = 0; i < A_COUNT; i++) loaded &= (a[i] = golden_load(ctx, array_names[i])) != NULL;
  mv_tensor image = {0}, inputs = {0}, prob = {0}, aggregated = {0};
  mv_tensor layer1 = {0}, layer4 = {0}, aspp = {0}, lowlevel = {0}, logit_quarter = {0};
  mv_s2m *net = NULL;
  int ran = -1;
  if (!loaded) goto done;

  /* Sizes come from the arrays: frame h x w x 3, k objects from the inputs. */
  const mv_array *frame = a[A_FRAME];
  if (!(frame->dtype == MV_UINT8 && frame->ndim == 3 && frame->shape[2] == 3)) {
    CHECK(0, "s2m: frame_u8 must be h x w x 3 uint8");
    goto done;
  }
  const int h = (int)frame->shape[0], w = (int)frame->shape[1];
  const int k = a[A_INPUTS]->ndim == 4 ? (int)a[A_INPUTS]->shape[0] : 0;
  if (!same_hw(a[A_PREV], MV_UINT8, h, w) || !same_hw(a[A_SCRIBBLE], MV_INT16, h, w)) {
    CHECK(0, "s2m: prev_label (uint8) and scribble_label (int16) must be %dx%d", h, w);
    goto done;
  }
  if (!(k >= 1 && a[A_INPUTS]->shape[1] == 6)) {
    CHECK(0, "s2m: inputs_padded must be k x 6 x H x W");
    goto done;
  }
  const mv_padding pad = mv_padding_for(h, w, 16);

  if (!CHECK_OK(mv_preprocess_frame(frame->data, h, w, pad, &image))) goto done;
  compare_max_abs(ctx, "image_norm_padded", &image, a[A_IMAGE], 1e-5);
  if (!CHECK_OK(mv_s2m_make_input(&image, a[A_PREV]->data, a[A_SCRIBBLE]->data, h, w, k, pad,
                                  &inputs)))
    goto done;
  compare_max_abs(ctx, "inputs_padded", &inputs, a[A_INPUTS], 1e-5);

  const double t_load = now_seconds();
  mv_checkpoint *weights = golden_weights(ctx, "s2m");
  if (!weights || !CHECK_OK(mv_s2m_load(weights, &net))) goto done;
  const double t_forward = now_seconds();
  const mv_s2m_trace trace = {&layer1, &layer4, &aspp, &lowlevel, &logit_quarter};
  if (!CHECK_OK(mv_s2m_forward(net, &inputs, &prob, &trace))) goto done;
  if (!CHECK_OK(mv_aggregate(&prob, 1, &aggregated)) || !CHECK_OK(mv_runtime_finish())) goto done;
  const double t_end = now_seconds();

  golden_compare_tensor(ctx, "obj1_layer1", &layer1, a[A_LAYER1], 1e-4);
  golden_compare_tensor(ctx, "obj1_layer4", &layer4, a[A_LAYER4], 1e-4);
  golden_compare_tensor(ctx, "obj1_aspp", &aspp, a[A_ASPP], 1e-4);
  golden_compare_tensor(ctx, "obj1_lowlevel_proj", &lowlevel, a[A_LOWLEVEL], 1e-4);
  golden_compare_tensor(ctx, "obj1_logit_quarter", &logit_quarter, a[A_LOGIT_QUARTER], 1e-4);
  golden_compare_tensor(ctx, "sigmoid", &prob, a[A_SIGMOID], 1e-4);
  /* x1000 temperature amplifies float noise at near-ties (README tolerances). */
  golden_compare_tensor(ctx, "aggregated_hard", &aggregated, a[A_AGGREGATED], 5e-3);
  printf("  s2m: k = %d, %dx%d: weights %.2f s, forward + aggregate %.2f s, case %.2f s\n", k,
         inputs.h, inputs.w, t_forward - t_load, t_end - t_forward, now_seconds() - t0);
  ran = 0;

done:
  mv_s2m_free(net);
  mv_tensor_free(&image);
  mv_tensor_free(&inputs);
  mv_tensor_free(&prob);
  mv_tensor_free(&aggregated);
  mv_tensor_free(&layer1);
  mv_tensor_free(&layer4);
  mv_tensor_free(&aspp);
  mv_tensor_free(&lowlevel);
  mv_tensor_free(&logit_quarter);
  for (int i = 0; i < A_COUNT; i++) mv_array_free(a[i]);
  return ran;
}
