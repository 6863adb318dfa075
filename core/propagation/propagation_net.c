#include "propagation/propagation_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/memory_read.h"
#include "nets/net_loader.h"
#include "nets/resnet.h"

/* Pre-activation residual block of the decoder:
 * out = shortcut(x) + conv2(relu(conv1(relu(x)))), shortcut a 3x3 conv when
 * the channel count changes, else the identity. */
typedef struct resblock {
  mv_conv conv1, conv2, downsample;
} resblock;

/* skip = skip_conv2(skip_conv1(skip_f)) (object independent);
 * out = out_conv(skip + up2(coarser)). */
typedef struct upsample_block {
  mv_conv skip_conv1;
  resblock skip_conv2, out_conv;
} upsample_block;

struct mv_propagation {
  mv_resnet query_encoder, memory_encoder;
  mv_conv query_key, query_value, memory_key, memory_value;
  resblock compress;
  upsample_block up_16_8, up_8_4;
  mv_conv pred;
};

static mv_status load_conv3x3(const mv_checkpoint *c, const char *key, int in, int out,
                              mv_conv *conv) {
  return mv_load_conv(c, key, NULL, 1, (mv_conv_shape){in, out, 3, 1, 1, 1}, conv);
}

static mv_status load_resblock(const mv_checkpoint *c, const char *prefix, int in, int out,
                               resblock *b) {
  char key[256];
  snprintf(key, sizeof key, "%s.conv1", prefix);
  MV_TRY(load_conv3x3(c, key, in, out, &b->conv1));
  snprintf(key, sizeof key, "%s.conv2", prefix);
  MV_TRY(load_conv3x3(c, key, out, out, &b->conv2));
  if (in != out) {
    snprintf(key, sizeof key, "%s.downsample", prefix);
    MV_TRY(load_conv3x3(c, key, in, out, &b->downsample));
  }
  return MV_OK;
}

static mv_status load_upsample(const mv_checkpoint *c, const char *prefix, int skip_c, int up_c,
                               int out_c, upsample_block *b) {
  char key[256];
  snprintf(key, sizeof key, "%s.skip_conv1", prefix);
  MV_TRY(load_conv3x3(c, key, skip_c, up_c, &b->skip_conv1));
  snprintf(key, sizeof key, "%s.skip_conv2", prefix);
  MV_TRY(load_resblock(c, key, up_c, up_c, &b->skip_conv2));
  snprintf(key, sizeof key, "%s.out_conv", prefix);
  return load_resblock(c, key, up_c, out_c, &b->out_conv);
}

static void free_resblock(resblock *b) {
  mv_conv_free(&b->conv1);
  mv_conv_free(&b->conv2);
  mv_conv_free(&b->downsample);
}

void mv_propagation_free(mv_propagation *net) {
  if (!net) return;
  mv_resnet_free(&net->query_encoder);
  mv_resnet_free(&net->memory_encoder);
  mv_conv_free(&net->query_key);
  mv_conv_free(&net->query_value);
  mv_conv_free(&net->memory_key);
  mv_conv_free(&net->memory_value);
  free_resblock(&net->compress);
  upsample_block *ups[2] = {&net->up_16_8, &net->up_8_4};
  for (int i = 0; i < 2; i++) {
    mv_conv_free(&ups[i]->skip_conv1);
    free_resblock(&ups[i]->skip_conv2);
    free_resblock(&ups[i]->out_conv);
  }
  mv_conv_free(&net->pred);
  free(net);
}

mv_status mv_propagation_load(const mv_checkpoint *c, mv_propagation **out) {
  MV_CHECK_ARG(c && out, "mv_propagation_load: NULL argument");
  *out = NULL;
  mv_propagation *net = calloc(1, sizeof *net);
  if (!net) return mv_fail(MV_E_MEMORY, "mv_propagation_load: out of memory");
  mv_resnet_spec query_spec = {"rgb_encoder.", "res2", 3, 0, 3, 0};
  mv_resnet_spec memory_spec = {"mask_rgb_encoder.", "layer1", 5, 1, 3, 0};
  mv_status s = mv_resnet_load(&net->query_encoder, c, &query_spec);
  if (s == MV_OK) s = mv_resnet_load(&net->memory_encoder, c, &memory_spec);
  if (s == MV_OK) s = load_conv3x3(c, "kv_q_f16.key_proj", 1024, MV_KEY_DIM, &net->query_key);
  if (s == MV_OK) s = load_conv3x3(c, "kv_q_f16.val_proj", 1024, MV_VALUE_DIM, &net->query_value);
  if (s == MV_OK) s = load_conv3x3(c, "kv_m_f16.key_proj", 1024, MV_KEY_DIM, &net->memory_key);
  if (s == MV_OK) s = load_conv3x3(c, "kv_m_f16.val_proj", 1024, MV_VALUE_DIM, &net->memory_value);
  if (s == MV_OK) s = load_resblock(c, "decoder.compress", 1024, 512, &net->compress);
  if (s == MV_OK) s = load_upsample(c, "decoder.up_16_8", 512, 512, 256, &net->up_16_8);
  if (s == MV_OK) s = load_upsample(c, "decoder.up_8_4", 256, 256, 256, &net->up_8_4);
  if (s == MV_OK) s = load_conv3x3(c, "decoder.pred", 256, 1, &net->pred);
  if (s != MV_OK) {
    mv_propagation_free(net);
    return mv_fail_context(s, "loading the propagation network");
  }
  *out = net;
  return MV_OK;
}

static mv_status run_resblock(const resblock *b, const mv_tensor *x, mv_tensor *out) {
  mv_tensor activated = {0}, r = {0}, r2 = {0};
  mv_status s = mv_relu(x, &activated);
  if (s == MV_OK) s = mv_conv2d(&b->conv1, &activated, &r, MV_CONV_RELU);
  mv_tensor_free(&activated);
  if (s == MV_OK) s = mv_conv2d(&b->conv2, &r, &r2, 0);
  mv_tensor_free(&r);
  if (s == MV_OK && b->downsample.weight.buffer) {
    s = mv_conv2d(&b->downsample, x, out, 0);
    if (s == MV_OK) s = mv_add(out, &r2, out, 0);
  } else if (s == MV_OK) {
    s = mv_add(x, &r2, out, 0);
  }
  mv_tensor_free(&r2);
  return s;
}

static mv_status run_skip(const upsample_block *b, const mv_tensor *skip_f, mv_tensor *out) {
  mv_tensor t = {0};
  mv_status s = mv_conv2d(&b->skip_conv1, skip_f, &t, 0);
  if (s == MV_OK) s = run_resblock(&b->skip_conv2, &t, out);
  mv_tensor_free(&t);
  return s;
}

static mv_status run_upsample(const upsample_block *b, const mv_tensor *skip,
                              const mv_tensor *coarse, mv_tensor *out) {
  mv_tensor up = {0};
  mv_status s = mv_resize_bilinear(coarse, skip->h, skip->w, &up);
  if (s == MV_OK) s = mv_add(skip, &up, &up, 0);
  if (s == MV_OK) s = run_resblock(&b->out_conv, &up, out);
  mv_tensor_free(&up);
  return s;
}

void mv_query_free(mv_query *q) {
  if (!q) return;
  mv_tensor *all[7] = {&q->k16, &q->v16, &q->skip8, &q->skip4, &q->f16, &q->f8, &q->f4};
  for (int i = 0; i < 7; i++) mv_tensor_free(all[i]);
}

mv_status mv_propagation_encode_query(const mv_propagation *net, const mv_tensor *image,
                                      int keep_features, mv_query *out) {
  MV_CHECK_ARG(net && image && image->buffer && out, "mv_propagation_encode_query: NULL argument");
  MV_CHECK_ARG(image->n == 1 && image->c == 3 && image->h % 16 == 0 && image->w % 16 == 0,
               "mv_propagation_encode_query: image must be 1x3xHxW with H, W multiples of 16, "
               "got %dx%dx%dx%d", image->n, image->c, image->h, image->w);
  memset(out, 0, sizeof *out);
  mv_tensor f4 = {0}, f8 = {0}, f16 = {0};
  mv_tensor *layers[4] = {&f4, &f8, &f16, NULL};
  mv_status s = mv_resnet_forward(&net->query_encoder, image, layers);
  if (s == MV_OK) s = mv_conv2d(&net->query_key, &f16, &out->k16, 0);
  if (s == MV_OK) s = mv_conv2d(&net->query_value, &f16, &out->v16, 0);
  if (s == MV_OK) s = run_skip(&net->up_16_8, &f8, &out->skip8);
  if (s == MV_OK) s = run_skip(&net->up_8_4, &f4, &out->skip4);
  if (s == MV_OK && keep_features) {
    out->f4 = f4;
    out->f8 = f8;
    out->f16 = f16;
  } else {
    mv_tensor_free(&f4);
    mv_tensor_free(&f8);
    mv_tensor_free(&f16);
  }
  if (s != MV_OK) mv_query_free(out);
  return s;
}

mv_status mv_propagation_memorize(const mv_propagation *net, const mv_tensor *image,
                                  const mv_tensor *masks, mv_tensor *key, mv_tensor *value) {
  MV_CHECK_ARG(net && image && masks && key && value, "mv_propagation_memorize: NULL argument");
  MV_CHECK_ARG(image->n == 1 && image->c == 3, "mv_propagation_memorize: image must be 1x3xHxW");
  MV_CHECK_ARG(masks->c == 1 && masks->h == image->h && masks->w == image->w && masks->n >= 1,
               "mv_propagation_memorize: masks are %dx%dx%dx%d, expected k x 1 x %d x %d",
               masks->n, masks->c, masks->h, masks->w, image->h, image->w);
  int k = masks->n, plane = image->h * image->w;
  mv_tensor input = {0}, f16 = {0};
  MV_TRY(mv_tensor_new(&input, k, 5, image->h, image->w));
  cl_kernel kernel;
  mv_status s = mv_kernel_get("network", "memory_input", &kernel);
  cl_ulong image_offset = image->offset, masks_offset = masks->offset, input_offset = input.offset;
  if (s == MV_OK)
    s = mv_kernel_args(kernel, 8, sizeof(cl_mem), &image->buffer, sizeof(cl_ulong), &image_offset,
                       sizeof(cl_mem), &masks->buffer, sizeof(cl_ulong), &masks_offset,
                       sizeof(int), &k, sizeof(int), &plane, sizeof(cl_mem), &input.buffer,
                       sizeof(cl_ulong), &input_offset);
  size_t global[2] = {(size_t)plane, (size_t)k};
  if (s == MV_OK) s = mv_kernel_run(kernel, "memory_input", 2, global, NULL);
  mv_tensor *layers[4] = {NULL, NULL, &f16, NULL};
  if (s == MV_OK) s = mv_resnet_forward(&net->memory_encoder, &input, layers);
  mv_tensor_free(&input);
  if (s == MV_OK) s = mv_conv2d(&net->memory_key, &f16, key, 0);
  if (s == MV_OK) s = mv_conv2d(&net->memory_value, &f16, value, 0);
  mv_tensor_free(&f16);
  return s;
}

/* Object i's top-k read: its keys and values are Ck x M and Cv x M matrices
 * (M = frames * h*w) with a row stride of the memory's capacity. */
static mv_status read_object_memory(const mv_memory *memory, int i, const mv_tensor *query_key,
                                    mv_tensor *readout) {
  size_t plane = (size_t)memory->keys.w, capacity = (size_t)memory->keys.h * plane;
  mv_matrix key = {memory->keys.buffer, memory->keys.offset + (size_t)i * MV_KEY_DIM * capacity,
                   capacity};
  mv_matrix value = {memory->values.buffer,
                     memory->values.offset + (size_t)i * MV_VALUE_DIM * capacity, capacity};
  size_t n = (size_t)query_key->h * query_key->w;
  mv_matrix query = {query_key->buffer, query_key->offset, n};
  mv_matrix out = {readout->buffer, readout->offset, n};
  return mv_memory_read(key, value, query, MV_KEY_DIM, MV_VALUE_DIM,
                        (size_t)memory->frames * plane, n, MV_TOP_K, out, NULL);
}

/* Decoder for one object: m16 = [readout, v16] (1 x 1024 x h x w) -> prob view. */
static mv_status decode(const mv_propagation *net, const mv_query *q, const mv_tensor *m16,
                        mv_tensor *prob) {
  mv_tensor x16 = {0}, x8 = {0}, x4 = {0}, logit = {0}, full = {0};
  mv_status s = run_resblock(&net->compress, m16, &x16);
  if (s == MV_OK) s = run_upsample(&net->up_16_8, &q->skip8, &x16, &x8);
  mv_tensor_free(&x16);
  if (s == MV_OK) s = run_upsample(&net->up_8_4, &q->skip4, &x8, &x4);
  mv_tensor_free(&x8);
  if (s == MV_OK) s = mv_relu(&x4, &x4);
  if (s == MV_OK) s = mv_conv2d(&net->pred, &x4, &logit, 0);
  mv_tensor_free(&x4);
  if (s == MV_OK) s = mv_resize_bilinear(&logit, prob->h, prob->w, &full);
  mv_tensor_free(&logit);
  if (s == MV_OK) s = mv_sigmoid(&full, prob);
  mv_tensor_free(&full);
  return s;
}

mv_status mv_propagation_segment(const mv_propagation *net, const mv_query *q,
                                 const mv_memory *memory, mv_tensor *prob, mv_tensor *readout) {
  MV_CHECK_ARG(net && q && memory && prob, "mv_propagation_segment: NULL argument");
  MV_CHECK_ARG(q->k16.buffer && q->skip4.buffer, "mv_propagation_segment: query is not encoded");
  int k = memory->keys.n, h = q->k16.h, w = q->k16.w;
  MV_CHECK_ARG(memory->frames >= 1 && memory->frames <= memory->keys.h,
               "mv_propagation_segment: memory holds %d frames (capacity %d)", memory->frames,
               memory->keys.h);
  MV_CHECK_ARG(memory->keys.w == h * w,
               "mv_propagation_segment: memory has %d positions per frame, the query %dx%d",
               memory->keys.w, h, w);
  int H = h * 16, W = w * 16;
  MV_TRY(mv_tensor_prepare(prob, k, 1, H, W, "mv_propagation_segment", "prob", NULL));
  if (readout && !readout->buffer) MV_TRY(mv_tensor_new(readout, k, MV_VALUE_DIM, h, w));
  mv_tensor m16 = {0};
  MV_TRY(mv_tensor_new(&m16, 1, 2 * MV_VALUE_DIM, h, w));
  mv_tensor read_part, value_part;
  mv_status s = mv_tensor_view(&m16, 0, 1, 0, MV_VALUE_DIM, &read_part);
  if (s == MV_OK) s = mv_tensor_view(&m16, 0, 1, MV_VALUE_DIM, MV_VALUE_DIM, &value_part);
  if (s == MV_OK) s = mv_tensor_copy(&q->v16, &value_part);
  for (int i = 0; i < k && s == MV_OK; i++) {
    s = read_object_memory(memory, i, &q->k16, &read_part);
    if (s == MV_OK && readout) {
      mv_tensor slot;
      s = mv_tensor_view(readout, i, 1, 0, MV_VALUE_DIM, &slot);
      if (s == MV_OK) s = mv_tensor_copy(&read_part, &slot);
    }
    mv_tensor object_prob;
    if (s == MV_OK) s = mv_tensor_view(prob, i, 1, 0, 1, &object_prob);
    if (s == MV_OK) s = decode(net, q, &m16, &object_prob);
  }
  mv_tensor_free(&m16);
  return s;
}
