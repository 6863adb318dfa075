/* Difference-aware fusion (official model/fusion_net.py and
 * PropagationNetwork.get_attention): the attention carries the interacted
 * frame's mask difference to the target frame, FusionNet blends the two
 * rounds' probabilities. One object per call, batch 1. */
#include "fusion/fusion_net.h"

#include <math.h>
#include <stdlib.h>

#include "nets/aggregate.h"
#include "error.h"
#include "opencl/memory_read.h"
#include "nets/net_loader.h"

enum {
  FUSION_IN = 9,        /* image 3, prev 1, curr 1, attention 2, nc 1, nr 1 */
  FUSION_WIDTH = 32,
  FUSION_ATTN_STRIDE = 16
};

struct mv_fusion {
  mv_conv conv1;              /* 9 -> 32, ReLU */
  mv_conv conv2a, conv2b;     /* residual block: conv, ReLU, conv */
  mv_conv conv3a, conv3b;
  mv_conv final_conv;         /* 32 -> 1 */
};

void mv_fusion_free(mv_fusion *net) {
  if (!net) return;
  mv_conv_free(&net->conv1);
  mv_conv_free(&net->conv2a);
  mv_conv_free(&net->conv2b);
  mv_conv_free(&net->conv3a);
  mv_conv_free(&net->conv3b);
  mv_conv_free(&net->final_conv);
  free(net);
}

static mv_status load_layers(mv_fusion *net, const mv_checkpoint *c) {
  /* Every FusionNet conv is 3x3, stride 1, padding 1, with a bias. */
  const mv_conv_shape first = {FUSION_IN, FUSION_WIDTH, 3, 1, 1, 1};
  const mv_conv_shape inner = {FUSION_WIDTH, FUSION_WIDTH, 3, 1, 1, 1};
  const mv_conv_shape last = {FUSION_WIDTH, 1, 3, 1, 1, 1};
  MV_TRY(mv_load_conv(c, "conv1.0", NULL, 1, first, &net->conv1));
  MV_TRY(mv_load_conv(c, "conv2.0", NULL, 1, inner, &net->conv2a));
  MV_TRY(mv_load_conv(c, "conv2.2", NULL, 1, inner, &net->conv2b));
  MV_TRY(mv_load_conv(c, "conv3.0", NULL, 1, inner, &net->conv3a));
  MV_TRY(mv_load_conv(c, "conv3.2", NULL, 1, inner, &net->conv3b));
  MV_TRY(mv_load_conv(c, "final_conv", NULL, 1, last, &net->final_conv));
  return MV_OK;
}

mv_status mv_fusion_load(const mv_checkpoint *checkpoint, mv_fusion **out) {
  MV_CHECK_ARG(out, "mv_fusion_load: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(checkpoint, "mv_fusion_load: checkpoint is NULL");
  mv_fusion *net = calloc(1, sizeof *net);
  if (!net) return mv_fail(MV_E_MEMORY, "mv_fusion_load: out of memory");
  mv_status st = load_layers(net, checkpoint);
  if (st != MV_OK) {
    mv_fusion_free(net);
    return mv_fail_context(st, "mv_fusion_load");
  }
  *out = net;
  return MV_OK;
}

static mv_status check_shape(const mv_tensor *t, int n, int c, int h, int w, const char *what,
                             const char *name) {
  if (!t || !t->buffer) return mv_fail(MV_E_ARGUMENT, "%s: %s is NULL or empty", what, name);
  if (t->n != n || t->c != c || t->h != h || t->w != w)
    return mv_fail(MV_E_ARGUMENT, "%s: %s is %dx%dx%dx%d, expected %dx%dx%dx%d", what, name, t->n,
                   t->c, t->h, t->w, n, c, h, w);
  return MV_OK;
}

/* The attention works on small matrices (h*w = 112 positions for a 480p
 * frame is ~1620); the temporaries come from the buffer pool. */
static mv_status attention(const mv_tensor *mem_key, const mv_tensor *query_key,
                           const mv_tensor *pos_diff, const mv_tensor *neg_diff, mv_tensor *attn,
                           mv_tensor *weights, mv_tensor *pooled, mv_tensor *small) {
  const int h = query_key->h, w = query_key->w, ck = query_key->c;
  const size_t m = (size_t)h * w; /* memory positions = query positions (T = 1) */
  /* W (m x n, memory-major): softmax over memory of mk^T qk / sqrt(ck). */
  MV_TRY(mv_tensor_new(weights, 1, 1, (int)m, (int)m));
  const mv_matrix weights_matrix = {weights->buffer, weights->offset, m};
  MV_TRY(mv_memory_affinity_softmax(mv_memory_matrix(mem_key, 0), mv_memory_matrix(query_key, 0),
                                    ck, m, m, weights_matrix));
  /* The two differences, area-downsampled x16, as the rows of a 2 x m matrix. */
  MV_TRY(mv_tensor_new(pooled, 1, 2, h, w));
  mv_tensor row;
  MV_TRY(mv_tensor_view(pooled, 0, 1, 0, 1, &row));
  MV_TRY(mv_area_resize(pos_diff, h, w, &row));
  MV_TRY(mv_tensor_view(pooled, 0, 1, 1, 1, &row));
  MV_TRY(mv_area_resize(neg_diff, h, w, &row));
  /* [pos; neg] (2 x m) x W (m x n): both row-vector products in one GEMM. */
  MV_TRY(mv_tensor_new(small, 1, 2, h, w));
  const mv_matrix a = {pooled->buffer, pooled->offset, m};
  const mv_matrix b = weights_matrix;
  const mv_matrix c = {small->buffer, small->offset, m};
  MV_TRY(mv_gemm(0, 0, 2, m, m, 1.0f, a, b, 0.0f, c));
  return mv_resize_bilinear(small, pos_diff->h, pos_diff->w, attn);
}

mv_status mv_fusion_attention(const mv_tensor *mem_key, const mv_tensor *query_key,
                              const mv_tensor *pos_diff, const mv_tensor *neg_diff,
                              mv_tensor *attn) {
  static const char *fn = "mv_fusion_attention";
  MV_CHECK_ARG(query_key && query_key->buffer, "%s: query_key is NULL or empty", fn);
  MV_CHECK_ARG(attn, "%s: attn is NULL", fn);
  const int ck = query_key->c, h = query_key->h, w = query_key->w;
  MV_CHECK_ARG(query_key->n == 1 && ck >= 1 && h >= 1 && w >= 1,
               "%s: query_key is %dx%dx%dx%d, expected 1 x C x h x w", fn, query_key->n, ck, h,
               w);
  /* The official AttentionMemory handles one memory frame of the query's size. */
  MV_TRY(check_shape(mem_key, 1, ck, h, w, fn, "mem_key"));
  const int H = h * FUSION_ATTN_STRIDE, W = w * FUSION_ATTN_STRIDE;
  MV_TRY(check_shape(pos_diff, 1, 1, H, W, fn, "pos_diff"));
  MV_TRY(check_shape(neg_diff, 1, 1, H, W, fn, "neg_diff"));
  MV_TRY(mv_tensor_prepare(attn, 1, 2, H, W, fn, "output", NULL));

  mv_tensor weights = {0}, pooled = {0}, small = {0};
  mv_status st = attention(mem_key, query_key, pos_diff, neg_diff, attn, &weights, &pooled, &small);
  mv_tensor_free(&weights);
  mv_tensor_free(&pooled);
  mv_tensor_free(&small);
  if (st != MV_OK) return mv_fail_context(st, "%s", fn);
  return MV_OK;
}

static mv_status forward(const mv_fusion *net, const mv_tensor *image, const mv_tensor *prev_prob,
                         const mv_tensor *curr_prob, const mv_tensor *attn, float nc, float nr,
                         mv_tensor *logit, mv_tensor *x, mv_tensor *r1, mv_tensor *r2) {
  const int H = image->h, W = image->w;
  /* x = [image, prev, curr, attention, nc plane, nr plane], written in place. */
  mv_tensor in = {0};
  mv_status st = mv_tensor_new(&in, 1, FUSION_IN, H, W);
  mv_tensor part;
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 0, 3, &part);
  if (st == MV_OK) st = mv_tensor_copy(image, &part);
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 3, 1, &part);
  if (st == MV_OK) st = mv_tensor_copy(prev_prob, &part);
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 4, 1, &part);
  if (st == MV_OK) st = mv_tensor_copy(curr_prob, &part);
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 5, 2, &part);
  if (st == MV_OK) st = mv_tensor_copy(attn, &part);
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 7, 1, &part);
  if (st == MV_OK) st = mv_tensor_fill(&part, nc);
  if (st == MV_OK) st = mv_tensor_view(&in, 0, 1, 8, 1, &part);
  if (st == MV_OK) st = mv_tensor_fill(&part, nr);
  if (st == MV_OK) st = mv_conv2d(&net->conv1, &in, x, MV_CONV_RELU);
  mv_tensor_free(&in);
  MV_TRY(st);
  /* Two residual blocks: x = relu(x + conv(relu(conv(x)))). */
  MV_TRY(mv_conv2d(&net->conv2a, x, r1, MV_CONV_RELU));
  MV_TRY(mv_conv2d(&net->conv2b, r1, r2, 0));
  MV_TRY(mv_add(x, r2, x, 1));
  MV_TRY(mv_conv2d(&net->conv3a, x, r1, MV_CONV_RELU));
  MV_TRY(mv_conv2d(&net->conv3b, r1, r2, 0));
  MV_TRY(mv_add(x, r2, x, 1));
  return mv_conv2d(&net->final_conv, x, logit, 0);
}

mv_status mv_fusion_forward(const mv_fusion *net, const mv_tensor *image, const mv_tensor *prev_prob,
                            const mv_tensor *curr_prob, const mv_tensor *attn, float nc, float nr,
                            mv_tensor *logit) {
  static const char *fn = "mv_fusion_forward";
  MV_CHECK_ARG(net, "%s: net is NULL", fn);
  MV_CHECK_ARG(image && image->buffer, "%s: image is NULL or empty", fn);
  MV_CHECK_ARG(logit, "%s: logit is NULL", fn);
  const int H = image->h, W = image->w;
  MV_TRY(check_shape(image, 1, 3, H, W, fn, "image"));
  MV_CHECK_ARG(H >= 1 && W >= 1, "%s: image size %dx%d", fn, H, W);
  MV_TRY(check_shape(prev_prob, 1, 1, H, W, fn, "prev_prob"));
  MV_TRY(check_shape(curr_prob, 1, 1, H, W, fn, "curr_prob"));
  MV_TRY(check_shape(attn, 1, 2, H, W, fn, "attn"));
  MV_CHECK_ARG(isfinite(nc) && isfinite(nr), "%s: distances nc = %g, nr = %g must be finite", fn,
               nc, nr);
  MV_TRY(mv_tensor_prepare(logit, 1, 1, H, W, fn, "output", NULL));

  mv_tensor x = {0}, r1 = {0}, r2 = {0};
  mv_status st = forward(net, image, prev_prob, curr_prob, attn, nc, nr, logit, &x, &r1, &r2);
  mv_tensor_free(&x);
  mv_tensor_free(&r1);
  mv_tensor_free(&r2);
  if (st != MV_OK) return mv_fail_context(st, "%s", fn);
  return MV_OK;
}

mv_status mv_fusion_fuse_frame(const mv_fusion *net, const mv_tensor *image, const mv_tensor *keys,
                               const mv_tensor *query_key, const mv_tensor *previous,
                               const mv_tensor *current, const mv_tensor *pos_diff,
                               const mv_tensor *neg_diff, int tc, int tr, int ti, mv_tensor *out) {
  MV_CHECK_ARG(net && image && keys && query_key && previous && current && pos_diff && neg_diff &&
                   out,
               "mv_fusion_fuse_frame: NULL argument");
  MV_CHECK_ARG(tc != tr, "mv_fusion_fuse_frame: tc and tr are both %d", tc);
  /* nc and nr are Python floats turned into float32, as the official code. */
  const float nc = (float)(fabs((double)tc - ti) / fabs((double)tc - tr));
  const float nr = (float)(fabs((double)tr - ti) / fabs((double)tc - tr));
  const int k = keys->n;
  mv_tensor prob = {0};
  mv_status s = mv_tensor_new(&prob, k, 1, image->h, image->w);
  for (int i = 0; i < k && s == MV_OK; i++) {
    /* Object i + 1 is channel i + 1 of the probabilities (0 is the background). */
    mv_tensor key, p, n, prev, curr, object_prob, attn = {0}, logit = {0};
    s = mv_tensor_view(keys, i, 1, 0, keys->c, &key);
    if (s == MV_OK) s = mv_tensor_view(pos_diff, i + 1, 1, 0, 1, &p);
    if (s == MV_OK) s = mv_tensor_view(neg_diff, i + 1, 1, 0, 1, &n);
    if (s == MV_OK) s = mv_tensor_view(previous, i + 1, 1, 0, 1, &prev);
    if (s == MV_OK) s = mv_tensor_view(current, i + 1, 1, 0, 1, &curr);
    if (s == MV_OK) s = mv_tensor_view(&prob, i, 1, 0, 1, &object_prob);
    if (s == MV_OK) s = mv_fusion_attention(&key, query_key, &p, &n, &attn);
    if (s == MV_OK) s = mv_fusion_forward(net, image, &prev, &curr, &attn, nc, nr, &logit);
    if (s == MV_OK) s = mv_sigmoid(&logit, &object_prob);
    mv_tensor_free(&attn);
    mv_tensor_free(&logit);
  }
  if (s == MV_OK) s = mv_aggregate(&prob, 0, out);
  mv_tensor_free(&prob);
  return s;
}
