/* S2M (Scribble-to-Mask): DeepLabV3+ on a ResNet-50 with output stride 16,
 * as the official model/s2m/_deeplab.py builds it (num_classes 1, ASPP
 * dilations 6/12/18). Every BatchNorm is folded into its conv at load time.
 * Objects are run one at a time with batch 1, so every concatenation is
 * written in place through contiguous channel views (no copies). */
#include "interaction/s2m_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "nets/net_loader.h"
#include "nets/resnet.h"

enum {
  S2M_IN = 6,
  S2M_TRUNK = 2048,    /* layer4 channels */
  S2M_LOW = 256,       /* layer1 channels */
  S2M_LOW_PROJ = 48,
  S2M_ASPP = 256,
  S2M_ASPP_BRANCHES = 5
};

struct mv_s2m {
  mv_resnet backbone;
  mv_conv aspp[4];         /* 1x1, 3x3 dilation 6, 12, 18; each + BN, ReLU */
  mv_conv aspp_pool;       /* after global average pooling: 1x1 + BN, ReLU */
  mv_conv aspp_project;    /* 1280 -> 256, 1x1 + BN, ReLU */
  mv_conv low_project;     /* layer1 256 -> 48, 1x1 + BN, ReLU */
  mv_conv head;            /* 304 -> 256, 3x3 + BN, ReLU */
  mv_conv classifier;      /* 256 -> 1, 1x1 with bias */
};

static mv_conv_shape conv_shape(int in, int out, int kernel, int padding, int dilation) {
  mv_conv_shape s = {in, out, kernel, 1, padding, dilation};
  return s;
}

void mv_s2m_free(mv_s2m *net) {
  if (!net) return;
  mv_resnet_free(&net->backbone);
  for (int i = 0; i < 4; i++) mv_conv_free(&net->aspp[i]);
  mv_conv_free(&net->aspp_pool);
  mv_conv_free(&net->aspp_project);
  mv_conv_free(&net->low_project);
  mv_conv_free(&net->head);
  mv_conv_free(&net->classifier);
  free(net);
}

static mv_status load_layers(mv_s2m *net, const mv_checkpoint *c) {
  static const mv_resnet_spec spec = {"backbone.", "layer1", S2M_IN, 0, 4, 1};
  MV_TRY(mv_resnet_load(&net->backbone, c, &spec));
  MV_TRY(mv_load_conv(c, "classifier.aspp.convs.0.0", "classifier.aspp.convs.0.1", 0,
                      conv_shape(S2M_TRUNK, S2M_ASPP, 1, 0, 1), &net->aspp[0]));
  static const int rates[3] = {6, 12, 18};
  for (int i = 1; i <= 3; i++) {
    char conv_key[64], bn_key[64];
    snprintf(conv_key, sizeof conv_key, "classifier.aspp.convs.%d.0", i);
    snprintf(bn_key, sizeof bn_key, "classifier.aspp.convs.%d.1", i);
    MV_TRY(mv_load_conv(c, conv_key, bn_key, 0,
                        conv_shape(S2M_TRUNK, S2M_ASPP, 3, rates[i - 1], rates[i - 1]),
                        &net->aspp[i]));
  }
  MV_TRY(mv_load_conv(c, "classifier.aspp.convs.4.1", "classifier.aspp.convs.4.2", 0,
                      conv_shape(S2M_TRUNK, S2M_ASPP, 1, 0, 1), &net->aspp_pool));
  MV_TRY(mv_load_conv(c, "classifier.aspp.project.0", "classifier.aspp.project.1", 0,
                      conv_shape(S2M_ASPP * S2M_ASPP_BRANCHES, S2M_ASPP, 1, 0, 1),
                      &net->aspp_project));
  MV_TRY(mv_load_conv(c, "classifier.project.0", "classifier.project.1", 0,
                      conv_shape(S2M_LOW, S2M_LOW_PROJ, 1, 0, 1), &net->low_project));
  MV_TRY(mv_load_conv(c, "classifier.classifier.0", "classifier.classifier.1", 0,
                      conv_shape(S2M_LOW_PROJ + S2M_ASPP, S2M_ASPP, 3, 1, 1), &net->head));
  MV_TRY(mv_load_conv(c, "classifier.classifier.3", NULL, 1, conv_shape(S2M_ASPP, 1, 1, 0, 1),
                      &net->classifier));
  return MV_OK;
}

mv_status mv_s2m_load(const mv_checkpoint *checkpoint, mv_s2m **out) {
  MV_CHECK_ARG(out, "mv_s2m_load: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(checkpoint, "mv_s2m_load: checkpoint is NULL");
  mv_s2m *net = calloc(1, sizeof *net);
  if (!net) return mv_fail(MV_E_MEMORY, "mv_s2m_load: out of memory");
  mv_status st = load_layers(net, checkpoint);
  if (st != MV_OK) {
    mv_s2m_free(net);
    return mv_fail_context(st, "mv_s2m_load");
  }
  *out = net;
  return MV_OK;
}

/* A trace slot must be empty: the forward pass allocates it. */
static mv_status check_trace_slot(const mv_tensor *t, const char *name) {
  if (t && t->buffer)
    return mv_fail(MV_E_ARGUMENT, "mv_s2m_forward: trace->%s must be an empty tensor", name);
  return MV_OK;
}

/* The buffers of one object's pass; tensors that are trace slots are not
 * owned here (the pointers point at the caller's tensors then). */
typedef struct s2m_work {
  mv_tensor layer1, layer4, cat, pooled, pooled_feature, aspp, head_in, head_out, logit;
} s2m_work;

static void work_free(s2m_work *w) {
  /* Only the locals are freed; trace outputs went straight to the caller. */
  mv_tensor_free(&w->layer1);
  mv_tensor_free(&w->layer4);
  mv_tensor_free(&w->cat);
  mv_tensor_free(&w->pooled);
  mv_tensor_free(&w->pooled_feature);
  mv_tensor_free(&w->aspp);
  mv_tensor_free(&w->head_in);
  mv_tensor_free(&w->head_out);
  mv_tensor_free(&w->logit);
}

/* One object: x 1 x 6 x H x W -> prob 1 x 1 x H x W (sigmoid). `trace`
 * (may be NULL) receives this object's intermediates. */
static mv_status forward_one(const mv_s2m *net, const mv_tensor *x, mv_tensor *prob,
                             const mv_s2m_trace *trace, s2m_work *w) {
  mv_tensor *layer1 = trace && trace->layer1 ? trace->layer1 : &w->layer1;
  mv_tensor *layer4 = trace && trace->layer4 ? trace->layer4 : &w->layer4;
  mv_tensor *aspp = trace && trace->aspp ? trace->aspp : &w->aspp;
  mv_tensor *logit = trace && trace->logit_quarter ? trace->logit_quarter : &w->logit;

  mv_tensor *outputs[4] = {layer1, NULL, NULL, layer4};
  MV_TRY(mv_resnet_forward(&net->backbone, x, outputs));
  const int h16 = layer4->h, w16 = layer4->w;
  const int h4 = layer1->h, w4 = layer1->w;

  /* ASPP: the five branches write their channel range of one 1280-channel map. */
  MV_TRY(mv_tensor_new(&w->cat, 1, S2M_ASPP * S2M_ASPP_BRANCHES, h16, w16));
  mv_tensor branch;
  for (int i = 0; i < 4; i++) {
    MV_TRY(mv_tensor_view(&w->cat, 0, 1, i * S2M_ASPP, S2M_ASPP, &branch));
    MV_TRY(mv_conv2d(&net->aspp[i], layer4, &branch, MV_CONV_RELU));
  }
  /* Image pooling: the official code bilinearly upsamples a 1x1 map, which
   * is a broadcast. */
  MV_TRY(mv_global_avgpool(layer4, &w->pooled));
  MV_TRY(mv_conv2d(&net->aspp_pool, &w->pooled, &w->pooled_feature, MV_CONV_RELU));
  MV_TRY(mv_tensor_view(&w->cat, 0, 1, 4 * S2M_ASPP, S2M_ASPP, &branch));
  MV_TRY(mv_broadcast(&w->pooled_feature, h16, w16, &branch));
  MV_TRY(mv_conv2d(&net->aspp_project, &w->cat, aspp, MV_CONV_RELU));

  /* Decoder input [48 low-level, 256 upsampled ASPP], written in place. */
  MV_TRY(mv_tensor_new(&w->head_in, 1, S2M_LOW_PROJ + S2M_ASPP, h4, w4));
  mv_tensor low, up;
  MV_TRY(mv_tensor_view(&w->head_in, 0, 1, 0, S2M_LOW_PROJ, &low));
  MV_TRY(mv_tensor_view(&w->head_in, 0, 1, S2M_LOW_PROJ, S2M_ASPP, &up));
  MV_TRY(mv_conv2d(&net->low_project, layer1, &low, MV_CONV_RELU));
  if (trace && trace->lowlevel_proj) {
    MV_TRY(mv_tensor_new(trace->lowlevel_proj, 1, S2M_LOW_PROJ, h4, w4));
    MV_TRY(mv_tensor_copy(&low, trace->lowlevel_proj));
  }
  MV_TRY(mv_resize_bilinear(aspp, h4, w4, &up));
  MV_TRY(mv_conv2d(&net->head, &w->head_in, &w->head_out, MV_CONV_RELU));
  MV_TRY(mv_conv2d(&net->classifier, &w->head_out, logit, 0));

  MV_TRY(mv_resize_bilinear(logit, x->h, x->w, prob));
  return mv_sigmoid(prob, prob);
}

mv_status mv_s2m_forward(const mv_s2m *net, const mv_tensor *input, mv_tensor *prob,
                         const mv_s2m_trace *trace) {
  MV_CHECK_ARG(net, "mv_s2m_forward: net is NULL");
  MV_CHECK_ARG(input && input->buffer, "mv_s2m_forward: input is NULL or empty");
  MV_CHECK_ARG(prob, "mv_s2m_forward: prob is NULL");
  MV_CHECK_ARG(input->n >= 1 && input->c == S2M_IN,
               "mv_s2m_forward: input is %dx%dx%dx%d, expected k x 6 x H x W", input->n,
               input->c, input->h, input->w);
  MV_CHECK_ARG(input->h >= 16 && input->w >= 16 && input->h % 16 == 0 && input->w % 16 == 0,
               "mv_s2m_forward: input size %dx%d must be positive multiples of 16", input->h,
               input->w);
  if (trace) {
    MV_TRY(check_trace_slot(trace->layer1, "layer1"));
    MV_TRY(check_trace_slot(trace->layer4, "layer4"));
    MV_TRY(check_trace_slot(trace->aspp, "aspp"));
    MV_TRY(check_trace_slot(trace->lowlevel_proj, "lowlevel_proj"));
    MV_TRY(check_trace_slot(trace->logit_quarter, "logit_quarter"));
  }
  MV_TRY(mv_tensor_prepare(prob, input->n, 1, input->h, input->w, "mv_s2m_forward", "output", NULL));

  mv_status st = MV_OK;
  for (int i = 0; i < input->n && st == MV_OK; i++) {
    mv_tensor x, p;
    s2m_work w;
    memset(&w, 0, sizeof w);
    st = mv_tensor_view(input, i, 1, 0, S2M_IN, &x);
    if (st == MV_OK) st = mv_tensor_view(prob, i, 1, 0, 1, &p);
    /* The trace records the first object's intermediates. */
    if (st == MV_OK) st = forward_one(net, &x, &p, i == 0 ? trace : NULL, &w);
    work_free(&w);
    if (st != MV_OK) mv_fail_context(st, "mv_s2m_forward: object %d of %d", i + 1, input->n);
  }
  return st;
}

mv_status mv_s2m_make_input(const mv_tensor *image, const uint8_t *prev_labels,
                            const int16_t *scribbles, int h, int w, int k, mv_padding pad,
                            mv_tensor *out) {
  MV_CHECK_ARG(image && image->buffer, "mv_s2m_make_input: image is NULL or empty");
  MV_CHECK_ARG(prev_labels && scribbles, "mv_s2m_make_input: prev_labels or scribbles is NULL");
  MV_CHECK_ARG(out, "mv_s2m_make_input: out is NULL");
  MV_CHECK_ARG(h > 0 && w > 0, "mv_s2m_make_input: size %dx%d must be positive", h, w);
  MV_CHECK_ARG(k >= 1 && k <= 255, "mv_s2m_make_input: k = %d, expected 1..255", k);
  MV_CHECK_ARG(pad.left >= 0 && pad.right >= 0 && pad.top >= 0 && pad.bottom >= 0,
               "mv_s2m_make_input: negative padding");
  const int ph = h + pad.top + pad.bottom, pw = w + pad.left + pad.right;
  MV_CHECK_ARG(image->n == 1 && image->c == 3 && image->h == ph && image->w == pw,
               "mv_s2m_make_input: image is %dx%dx%dx%d, expected 1x3x%dx%d (padded %dx%d)",
               image->n, image->c, image->h, image->w, ph, pw, h, w);
  MV_TRY(mv_tensor_prepare(out, k, S2M_IN, ph, pw, "mv_s2m_make_input", "output", NULL));

  /* The label maps go to the device as they are (uint8 / int16) and one
   * kernel writes all k x 6 planes: mask comparison, 3x3 dilation and
   * padding happen there, so the host does no per-pixel work. */
  mv_runtime *rt;
  MV_TRY(mv_runtime_get(&rt));
  cl_kernel kernel;
  MV_TRY(mv_kernel_get("s2m_input", "mv_s2m_input", &kernel));
  const size_t pixels = (size_t)h * w;
  cl_mem labels_buf = NULL, scribbles_buf = NULL;
  mv_status st = mv_buffer_acquire(pixels, &labels_buf);
  if (st == MV_OK) st = mv_buffer_acquire(pixels * sizeof(int16_t), &scribbles_buf);
  if (st == MV_OK)
    st = mv_cl_check(clEnqueueWriteBuffer(rt->queue, labels_buf, CL_TRUE, 0, pixels, prev_labels,
                                          0, NULL, NULL),
                     "clEnqueueWriteBuffer(s2m labels)");
  if (st == MV_OK)
    st = mv_cl_check(clEnqueueWriteBuffer(rt->queue, scribbles_buf, CL_TRUE, 0,
                                          pixels * sizeof(int16_t), scribbles, 0, NULL, NULL),
                     "clEnqueueWriteBuffer(s2m scribbles)");
  if (st == MV_OK) {
    const cl_ulong image_offset = image->offset, out_offset = out->offset;
    st = mv_kernel_args(kernel, 13, sizeof(cl_mem), &image->buffer, sizeof(cl_ulong), &image_offset,
                        sizeof(cl_mem), &labels_buf, sizeof(cl_mem), &scribbles_buf,
                        sizeof(cl_mem), &out->buffer, sizeof(cl_ulong), &out_offset, sizeof(int), &k,
                        sizeof(int), &h, sizeof(int), &w, sizeof(int), &ph, sizeof(int), &pw,
                        sizeof(int), &pad.left, sizeof(int), &pad.top);
  }
  if (st == MV_OK) {
    const size_t global[3] = {(size_t)pw, (size_t)ph, (size_t)k * S2M_IN};
    st = mv_kernel_run(kernel, "mv_s2m_input", 3, global, NULL);
  }
  /* Released buffers are reused only by later commands of the in-order queue. */
  mv_buffer_release(labels_buf);
  mv_buffer_release(scribbles_buf);
  if (st != MV_OK) return mv_fail_context(st, "mv_s2m_make_input");
  return MV_OK;
}
