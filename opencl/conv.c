/* 2-D convolution: BatchNorm folded into the weights at load time, 1x1
 * stride-1 convolutions as one GEMM per batch item, everything else as
 * im2col over bands of output rows (bounded workspace) + GEMM, then a
 * bias/ReLU epilogue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/ops.h"

/* The im2col workspace stays under this many bytes (one output row at least). */
static size_t workspace_limit = (size_t)128 << 20;

size_t mv_conv_workspace_limit(size_t bytes) {
  size_t previous = workspace_limit;
  if (bytes) workspace_limit = bytes;
  return previous;
}

int mv_conv_out_size(int in, int kernel, int stride, int padding, int dilation) {
  if (in <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || dilation <= 0) return 0;
  long span = (long)dilation * (kernel - 1) + 1;
  long room = (long)in + 2L * padding - span;
  if (room < 0) return 0;
  return (int)(room / stride + 1);
}

mv_status mv_conv_create(mv_conv *conv, int in_channels, int out_channels, int kernel_h,
                         int kernel_w, int stride, int padding, int dilation, const float *weight,
                         const float *bias, const mv_batchnorm *bn) {
  MV_CHECK_ARG(conv != NULL, "mv_conv_create: conv is NULL");
  memset(conv, 0, sizeof *conv);
  MV_CHECK_ARG(in_channels > 0 && out_channels > 0,
               "mv_conv_create: channels %d -> %d must be positive", in_channels, out_channels);
  MV_CHECK_ARG(kernel_h > 0 && kernel_w > 0 && kernel_h <= 64 && kernel_w <= 64,
               "mv_conv_create: kernel %dx%d must be in [1, 64]", kernel_h, kernel_w);
  MV_CHECK_ARG(stride > 0, "mv_conv_create: stride %d must be positive", stride);
  MV_CHECK_ARG(padding >= 0, "mv_conv_create: padding %d must be >= 0", padding);
  MV_CHECK_ARG(dilation > 0, "mv_conv_create: dilation %d must be positive", dilation);
  MV_CHECK_ARG(weight != NULL, "mv_conv_create: weight is NULL");
  if (bn) {
    MV_CHECK_ARG(bn->weight && bn->bias && bn->running_mean && bn->running_var,
                 "mv_conv_create: batchnorm has a NULL weight/bias/running_mean/running_var");
    MV_CHECK_ARG(bn->eps >= 0 && isfinite(bn->eps), "mv_conv_create: batchnorm eps %g invalid",
                 (double)bn->eps);
  }
  size_t k = (size_t)in_channels * kernel_h * kernel_w;
  size_t count = (size_t)out_channels * k;
  float *w = malloc(count * sizeof *w);
  float *b = malloc((size_t)out_channels * sizeof *b);
  if (!w || !b) {
    free(w);
    free(b);
    return mv_fail(MV_E_MEMORY, "mv_conv_create: out of host memory for %zu weights", count);
  }
  for (int o = 0; o < out_channels; o++) {
    /* scale = gamma / sqrt(var + eps); w' = w * scale; b' = (b - mean) * scale + beta */
    double scale = 1.0, shift = bias ? (double)bias[o] : 0.0;
    if (bn) {
      double var = (double)bn->running_var[o] + (double)bn->eps;
      if (!(var > 0)) {
        free(w);
        free(b);
        return mv_fail(MV_E_ARGUMENT,
                       "mv_conv_create: batchnorm running_var[%d] + eps = %g is not positive", o,
                       var);
      }
      scale = (double)bn->weight[o] / sqrt(var);
      shift = (shift - (double)bn->running_mean[o]) * scale + (double)bn->bias[o];
    }
    for (size_t i = 0; i < k; i++) w[o * k + i] = (float)((double)weight[o * k + i] * scale);
    b[o] = (float)shift;
  }
  mv_status status = mv_tensor_new(&conv->weight, out_channels, (int)k, 1, 1);
  if (status == MV_OK) status = mv_tensor_upload(&conv->weight, w);
  if (status == MV_OK && (bias || bn)) {
    status = mv_tensor_new(&conv->bias, out_channels, 1, 1, 1);
    if (status == MV_OK) status = mv_tensor_upload(&conv->bias, b);
  }
  free(w);
  free(b);
  if (status != MV_OK) {
    mv_conv_free(conv);
    return mv_fail_context(status, "mv_conv_create(%d->%d, %dx%d)", in_channels, out_channels,
                           kernel_h, kernel_w);
  }
  conv->in_channels = in_channels;
  conv->out_channels = out_channels;
  conv->kernel_h = kernel_h;
  conv->kernel_w = kernel_w;
  conv->stride = stride;
  conv->padding = padding;
  conv->dilation = dilation;
  return MV_OK;
}

void mv_conv_free(mv_conv *conv) {
  if (!conv) return;
  mv_tensor_free(&conv->weight);
  mv_tensor_free(&conv->bias);
  memset(conv, 0, sizeof *conv);
}

static int tensors_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer) return 0;
  size_t a0 = a->offset, a1 = a->offset + mv_tensor_numel(a);
  size_t b0 = b->offset, b1 = b->offset + mv_tensor_numel(b);
  return a0 < b1 && b0 < a1;
}

static mv_status epilogue(const mv_conv *conv, mv_tensor *y, int relu) {
  int has_bias = !mv_tensor_is_empty(&conv->bias);
  if (!has_bias && !relu) return MV_OK;
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("conv", "bias_act", &kernel));
  cl_ulong y_off = y->offset;
  cl_int channels = y->c, plane = y->h * y->w, has = has_bias, act = relu;
  cl_long total = (cl_long)mv_tensor_numel(y);
  cl_mem bias = has_bias ? conv->bias.buffer : y->buffer;
  cl_ulong bias_off = has_bias ? conv->bias.offset : 0;
  MV_TRY(mv_kernel_args(kernel, 9, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                        sizeof channels, &channels, sizeof plane, &plane, sizeof total, &total,
                        sizeof(cl_mem), &bias, sizeof bias_off, &bias_off, sizeof has, &has,
                        sizeof act, &act));
  return mv_kernel_run_1d(kernel, "bias_act", (size_t)total);
}

static mv_status conv_im2col(const mv_conv *conv, const mv_tensor *x, mv_tensor *y) {
  const int out_h = y->h, out_w = y->w;
  const size_t k = (size_t)conv->in_channels * conv->kernel_h * conv->kernel_w;
  size_t rows = workspace_limit / (k * out_w * sizeof(float));
  if (rows < 1) rows = 1;
  if (rows > (size_t)out_h) rows = (size_t)out_h;
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("conv", "im2col", &kernel));
  cl_mem col = NULL;
  MV_TRY(mv_buffer_acquire(k * rows * out_w * sizeof(float), &col));
  mv_status status = MV_OK;
  const size_t out_plane = (size_t)out_h * out_w;
  for (int n = 0; n < x->n && status == MV_OK; n++) {
    for (int row0 = 0; row0 < out_h && status == MV_OK; row0 += (int)rows) {
      int band = out_h - row0 < (int)rows ? out_h - row0 : (int)rows;
      cl_ulong x_off = x->offset + (size_t)n * x->c * x->h * x->w, col_off = 0;
      cl_int channels = x->c, height = x->h, width = x->w, kh = conv->kernel_h,
             kw = conv->kernel_w, stride = conv->stride, pad = conv->padding,
             dil = conv->dilation, ow = out_w, r0 = row0, nrows = band;
      status = mv_kernel_args(kernel, 15, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                              sizeof channels, &channels, sizeof height, &height, sizeof width,
                              &width, sizeof kh, &kh, sizeof kw, &kw, sizeof stride, &stride,
                              sizeof pad, &pad, sizeof dil, &dil, sizeof ow, &ow, sizeof r0, &r0,
                              sizeof nrows, &nrows, sizeof(cl_mem), &col, sizeof col_off,
                              &col_off);
      size_t columns = (size_t)band * out_w;
      if (status == MV_OK) status = mv_kernel_run_1d(kernel, "im2col", k * columns);
      if (status != MV_OK) break;
      mv_matrix a = {conv->weight.buffer, conv->weight.offset, k};
      mv_matrix b = {col, 0, columns};
      mv_matrix c = {y->buffer, y->offset + (size_t)n * y->c * out_plane + (size_t)row0 * out_w,
                     out_plane};
      status = mv_gemm(0, 0, (size_t)conv->out_channels, columns, k, 1.0f, a, b, 0.0f, c);
    }
  }
  /* The pool hands the workspace out again only after queued work using it
   * was enqueued before any later use (in-order queue), so release now. */
  mv_buffer_release(col);
  return status;
}

static mv_status conv_1x1(const mv_conv *conv, const mv_tensor *x, mv_tensor *y) {
  const size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++) {
    mv_matrix a = {conv->weight.buffer, conv->weight.offset, (size_t)conv->in_channels};
    mv_matrix b = {x->buffer, x->offset + (size_t)n * x->c * plane, plane};
    mv_matrix c = {y->buffer, y->offset + (size_t)n * y->c * plane, plane};
    MV_TRY(mv_gemm(0, 0, (size_t)conv->out_channels, plane, (size_t)conv->in_channels, 1.0f, a, b,
                   0.0f, c));
  }
  return MV_OK;
}

mv_status mv_conv2d(const mv_conv *conv, const mv_tensor *x, mv_tensor *y, int flags) {
  MV_CHECK_ARG(conv != NULL, "mv_conv2d: conv is NULL");
  MV_CHECK_ARG(!mv_tensor_is_empty(&conv->weight), "mv_conv2d: conv has no weights (not created "
                                                   "or already freed)");
  MV_CHECK_ARG((flags & ~MV_CONV_RELU) == 0, "mv_conv2d: unknown flags 0x%x", (unsigned)flags);
  MV_TRY(mv_tensor_check(x, "mv_conv2d", "x"));
  if (x->c != conv->in_channels)
    return mv_fail(MV_E_MISMATCH, "mv_conv2d: x has %d channels (%dx%dx%dx%d), the conv expects %d",
                   x->c, x->n, x->c, x->h, x->w, conv->in_channels);
  int out_h = mv_conv_out_size(x->h, conv->kernel_h, conv->stride, conv->padding, conv->dilation);
  int out_w = mv_conv_out_size(x->w, conv->kernel_w, conv->stride, conv->padding, conv->dilation);
  MV_CHECK_ARG(out_h > 0 && out_w > 0,
               "mv_conv2d: input %dx%d is smaller than the %dx%d kernel (dilation %d, padding %d)",
               x->h, x->w, conv->kernel_h, conv->kernel_w, conv->dilation, conv->padding);
  MV_CHECK_ARG(y != NULL, "mv_conv2d: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, conv->out_channels, out_h, out_w, "mv_conv2d", "y",
                           &allocated));
  mv_status status = MV_OK;
  if (tensors_overlap(x, y))
    status = mv_fail(MV_E_ARGUMENT, "mv_conv2d: y overlaps x in the same buffer");
  int direct = conv->kernel_h == 1 && conv->kernel_w == 1 && conv->stride == 1 &&
               conv->padding == 0;
  if (status == MV_OK) status = direct ? conv_1x1(conv, x, y) : conv_im2col(conv, x, y);
  if (status == MV_OK) status = epilogue(conv, y, (flags & MV_CONV_RELU) != 0);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}
