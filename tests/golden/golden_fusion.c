/* Golden case `fusion`: difference-aware fusion of one frame for k objects
 * (the official InferenceCore.fuse_one_frame). The attention (and its
 * softmax affinity) and FusionNet run twice: with hashinit weights and with
 * the same weights read from the real torch.save checkpoint
 * ROOT/fusion_hashinit.pth, so the .pth reader is checked end to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nets/aggregate.h"
#include "fusion/fusion_net.h"
#include "golden.h"
#include "opencl/memory_read.h"
#include "testutil.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum {
  A_IMAGE, A_MEM_KEY, A_QUERY_KEY, A_POS, A_NEG, A_PREV, A_CURR, A_DIST, A_AFFINITY, A_ATTN,
  A_LOGIT, A_SIGMOID, A_FUSED, A_COUNT
};
static const char *const array_names[A_COUNT] = {
    "image_norm_padded", "mem_key",  "query_key",        "pos_mask_diff",  "neg_mask_diff",
    "prev_prob",         "curr_prob", "dist",            "affinity_softmax", "attn_map",
    "fusion_logit",      "fusion_sigmoid", "fused_prob"};

/* The device inputs, shaped from the arrays. */
typedef struct fusion_inputs {
  int k, ck, h, w, H, W;
  float nc, nr;
  mv_tensor image, mem_key, query_key, pos, neg, prev, curr;
} fusion_inputs;

static void inputs_free(fusion_inputs *in) {
  mv_tensor_free(&in->image);
  mv_tensor_free(&in->mem_key);
  mv_tensor_free(&in->query_key);
  mv_tensor_free(&in->pos);
  mv_tensor_free(&in->neg);
  mv_tensor_free(&in->prev);
  mv_tensor_free(&in->curr);
}

static int inputs_upload(mv_array *const *a, fusion_inputs *in) {
  const mv_array *image = a[A_IMAGE], *mk = a[A_MEM_KEY], *qk = a[A_QUERY_KEY];
  /* mem_key: k x Ck x T x h x w with T = 1 (the current interaction frame). */
  if (image->ndim != 4 || mk->ndim != 5 || mk->shape[2] != 1 || qk->ndim != 4 ||
      a[A_DIST]->dtype != MV_FLOAT32 || mv_array_numel(a[A_DIST]) != 2) {
    CHECK(0, "fusion: expected image 1x3xHxW, mem_key k x C x 1 x h x w, query_key 1 x C x h x w, "
             "dist 1x2");
    return 0;
  }
  in->k = (int)mk->shape[0];
  in->ck = (int)mk->shape[1];
  in->h = (int)mk->shape[3];
  in->w = (int)mk->shape[4];
  in->H = (int)image->shape[2];
  in->W = (int)image->shape[3];
  in->nc = ((const float *)a[A_DIST]->data)[0];
  in->nr = ((const float *)a[A_DIST]->data)[1];
  const int k1 = in->k + 1; /* probability tensors carry the background first */
  return golden_upload(image, 1, 3, in->H, in->W, &in->image) &&
         golden_upload(mk, in->k, in->ck, in->h, in->w, &in->mem_key) &&
         golden_upload(qk, 1, in->ck, in->h, in->w, &in->query_key) &&
         golden_upload(a[A_POS], k1, 1, in->H, in->W, &in->pos) &&
         golden_upload(a[A_NEG], k1, 1, in->H, in->W, &in->neg) &&
         golden_upload(a[A_PREV], k1, 1, in->H, in->W, &in->prev) &&
         golden_upload(a[A_CURR], k1, 1, in->H, in->W, &in->curr);
}

/* The per-object affinity softmax (memory-read colleague's operator), k x m x m. */
static void check_affinity(const golden_ctx *ctx, const fusion_inputs *in, const mv_array *ref) {
  const size_t m = (size_t)in->h * in->w;
  mv_tensor affinity = {0};
  if (!CHECK_OK(mv_tensor_new(&affinity, in->k, 1, (int)m, (int)m))) return;
  int ok = 1;
  for (int i = 0; i < in->k && ok; i++) {
    const mv_matrix out = {affinity.buffer, affinity.offset + (size_t)i * m * m, m};
    ok = CHECK_OK(mv_memory_affinity_softmax(mv_memory_matrix(&in->mem_key, i),
                                             mv_memory_matrix(&in->query_key, 0), in->ck, m, m,
                                             out));
  }
  if (ok) golden_compare_tensor(ctx, "affinity_softmax", &affinity, ref, 1e-4);
  mv_tensor_free(&affinity);
}

/* One full fusion of all objects with the given weights; `tag` names the run. */
static int run_fusion(const golden_ctx *ctx, const char *tag, const mv_checkpoint *weights,
                      const fusion_inputs *in, mv_array *const *a) {
  mv_fusion *net = NULL;
  mv_tensor attn = {0}, logit = {0}, sigmoid = {0}, fused = {0};
  int ok = CHECK_OK(mv_fusion_load(weights, &net)) &&
           CHECK_OK(mv_tensor_new(&attn, in->k, 2, in->H, in->W)) &&
           CHECK_OK(mv_tensor_new(&logit, in->k, 1, in->H, in->W));
  const double t0 = now_seconds();
  for (int i = 0; i < in->k && ok; i++) {
    /* Object i + 1: channel i + 1 of the probability tensors (0 is background). */
    mv_tensor mk, pos, neg, prev, curr, attn_i, logit_i;
    ok = CHECK_OK(mv_tensor_view(&in->mem_key, i, 1, 0, in->ck, &mk)) &&
         CHECK_OK(mv_tensor_view(&in->pos, i + 1, 1, 0, 1, &pos)) &&
         CHECK_OK(mv_tensor_view(&in->neg, i + 1, 1, 0, 1, &neg)) &&
         CHECK_OK(mv_tensor_view(&in->prev, i + 1, 1, 0, 1, &prev)) &&
         CHECK_OK(mv_tensor_view(&in->curr, i + 1, 1, 0, 1, &curr)) &&
         CHECK_OK(mv_tensor_view(&attn, i, 1, 0, 2, &attn_i)) &&
         CHECK_OK(mv_tensor_view(&logit, i, 1, 0, 1, &logit_i)) &&
         CHECK_OK(mv_fusion_attention(&mk, &in->query_key, &pos, &neg, &attn_i)) &&
         CHECK_OK(mv_fusion_forward(net, &in->image, &prev, &curr, &attn_i, in->nc, in->nr,
                                    &logit_i));
  }
  ok = ok && CHECK_OK(mv_sigmoid(&logit, &sigmoid)) && CHECK_OK(mv_aggregate(&sigmoid, 0, &fused)) &&
       CHECK_OK(mv_runtime_finish());
  if (ok) {
    char label[64];
    printf("  fusion [%s]: k = %d, %dx%d: attention + fusion + aggregate %.3f s\n", tag, in->k,
           in->H, in->W, now_seconds() - t0);
    snprintf(label, sizeof label, "%s attn_map", tag);
    golden_compare_tensor(ctx, label, &attn, a[A_ATTN], 1e-4);
    snprintf(label, sizeof label, "%s fusion_logit", tag);
    golden_compare_tensor(ctx, label, &logit, a[A_LOGIT], 1e-4);
    snprintf(label, sizeof label, "%s fusion_sigmoid", tag);
    golden_compare_tensor(ctx, label, &sigmoid, a[A_SIGMOID], 1e-4);
    snprintf(label, sizeof label, "%s fused_prob", tag);
    golden_compare_tensor(ctx, label, &fused, a[A_FUSED], 1e-4);
  }
  mv_fusion_free(net);
  mv_tensor_free(&attn);
  mv_tensor_free(&logit);
  mv_tensor_free(&sigmoid);
  mv_tensor_free(&fused);
  return ok;
}

int golden_case_fusion(const golden_ctx *ctx) {
  mv_array *a[A_COUNT] = {0};
  int loaded = 1;
  for (int i = 0; i < A_COUNT; i++) loaded &= (a[i] = golden_load(ctx, array_names[i])) != NULL;
  fusion_inputs in;
  memset(&in, 0, sizeof in);
  mv_checkpoint *pth = NULL;
  int ran = -1;
  if (loaded && inputs_upload(a, &in)) {
    check_affinity(ctx, &in, a[A_AFFINITY]);
    mv_checkpoint *hashinit = golden_weights(ctx, "fusion");
    if (hashinit) run_fusion(ctx, "hashinit", hashinit, &in, a);
    char path[2048];
    snprintf(path, sizeof path, "%s/fusion_hashinit.pth", ctx->root);
    if (CHECK_OK(mv_checkpoint_open(path, &pth))) run_fusion(ctx, "pth", pth, &in, a);
    ran = 0;
  }
  mv_checkpoint_close(pth);
  inputs_free(&in);
  for (int i = 0; i < A_COUNT; i++) mv_array_free(a[i]);
  return ran;
}
