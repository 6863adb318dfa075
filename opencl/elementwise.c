/* Element-wise operators (ReLU, sigmoid, residual add) and channel
 * concatenation. Outputs follow the ops.h convention; an element-wise output
 * may be the input itself but must not partly overlap it. */
#include <stdio.h>

#include "error.h"
#include "opencl/ops.h"

/* 1 when a and b share buffer memory at different offsets (not an exact alias). */
static int partial_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer || a->offset == b->offset) return 0;
  size_t a1 = a->offset + mv_tensor_numel(a), b1 = b->offset + mv_tensor_numel(b);
  return a->offset < b1 && b->offset < a1;
}

static int any_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer) return 0;
  size_t a1 = a->offset + mv_tensor_numel(a), b1 = b->offset + mv_tensor_numel(b);
  return a->offset < b1 && b->offset < a1;
}

static mv_status same_shape(const mv_tensor *a, const mv_tensor *b, const char *op,
                            const char *name_a, const char *name_b) {
  if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w)
    return mv_fail(MV_E_MISMATCH, "%s: %s is %dx%dx%dx%d but %s is %dx%dx%dx%d", op, name_a, a->n,
                   a->c, a->h, a->w, name_b, b->n, b->c, b->h, b->w);
  return MV_OK;
}

/* Runs a unary kernel (x, x_off, y, y_off, total). */
static mv_status unary(const char *op, const char *kernel_name, const mv_tensor *x, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, op, "x"));
  MV_CHECK_ARG(y != NULL, "%s: y is NULL", op);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, x->h, x->w, op, "y", &allocated));
  mv_status status = MV_OK;
  if (partial_overlap(x, y)) status = mv_fail(MV_E_ARGUMENT, "%s: y partly overlaps x", op);
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", kernel_name, &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long total = (cl_long)mv_tensor_numel(x);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 5, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, kernel_name, (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_relu(const mv_tensor *x, mv_tensor *y) { return unary("mv_relu", "relu", x, y); }

mv_status mv_sigmoid(const mv_tensor *x, mv_tensor *y) {
  return unary("mv_sigmoid", "sigmoid", x, y);
}

mv_status mv_add(const mv_tensor *a, const mv_tensor *b, mv_tensor *y, int relu) {
  MV_TRY(mv_tensor_check(a, "mv_add", "a"));
  MV_TRY(mv_tensor_check(b, "mv_add", "b"));
  MV_TRY(same_shape(a, b, "mv_add", "a", "b"));
  MV_CHECK_ARG(y != NULL, "mv_add: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, a->n, a->c, a->h, a->w, "mv_add", "y", &allocated));
  mv_status status = MV_OK;
  if (partial_overlap(a, y) || partial_overlap(b, y))
    status = mv_fail(MV_E_ARGUMENT, "mv_add: y partly overlaps an input");
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", "add", &kernel);
  cl_ulong a_off = a->offset, b_off = b->offset, y_off = y->offset;
  cl_long total = (cl_long)mv_tensor_numel(a);
  cl_int act = relu != 0;
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 8, sizeof(cl_mem), &a->buffer, sizeof a_off, &a_off,
                            sizeof(cl_mem), &b->buffer, sizeof b_off, &b_off, sizeof(cl_mem),
                            &y->buffer, sizeof y_off, &y_off, sizeof total, &total, sizeof act,
                            &act);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "add", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_concat(const mv_tensor *const *xs, int count, mv_tensor *y) {
  MV_CHECK_ARG(xs != NULL, "mv_concat: xs is NULL");
  MV_CHECK_ARG(count > 0 && count <= 4096, "mv_concat: count %d not in [1, 4096]", count);
  MV_CHECK_ARG(y != NULL, "mv_concat: y is NULL");
  long channels = 0;
  for (int i = 0; i < count; i++) {
    char name[32];
    snprintf(name, sizeof name, "xs[%d]", i);
    MV_TRY(mv_tensor_check(xs[i], "mv_concat", name));
    if (xs[i]->n != xs[0]->n || xs[i]->h != xs[0]->h || xs[i]->w != xs[0]->w)
      return mv_fail(MV_E_MISMATCH,
                     "mv_concat: xs[%d] is %dx%dx%dx%d but xs[0] is %dx%dx%dx%d (n, h, w must "
                     "agree)", i, xs[i]->n, xs[i]->c, xs[i]->h, xs[i]->w, xs[0]->n, xs[0]->c,
                     xs[0]->h, xs[0]->w);
    channels += xs[i]->c;
  }
  MV_CHECK_ARG(channels <= (1 << 30), "mv_concat: %ld channels in total", channels);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, xs[0]->n, (int)channels, xs[0]->h, xs[0]->w, "mv_concat", "y",
                           &allocated));
  mv_status status = MV_OK;
  for (int i = 0; i < count && status == MV_OK; i++)
    if (any_overlap(xs[i], y))
      status = mv_fail(MV_E_ARGUMENT, "mv_concat: y overlaps xs[%d]", i);
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", "copy_blocks", &kernel);
  const size_t plane = (size_t)y->h * y->w;
  size_t c0 = 0;
  for (int i = 0; i < count && status == MV_OK; i++) {
    cl_ulong src_off = xs[i]->offset, src_stride = (size_t)xs[i]->c * plane;
    cl_ulong dst_off = y->offset + c0 * plane, dst_stride = (size_t)y->c * plane;
    cl_long length = (cl_long)src_stride, total = length * y->n;
    status = mv_kernel_args(kernel, 8, sizeof(cl_mem), &xs[i]->buffer, sizeof src_off, &src_off,
                            sizeof src_stride, &src_stride, sizeof(cl_mem), &y->buffer,
                            sizeof dst_off, &dst_off, sizeof dst_stride, &dst_stride,
                            sizeof length, &length, sizeof total, &total);
    if (status == MV_OK) status = mv_kernel_run_1d(kernel, "copy_blocks", (size_t)total);
    c0 += (size_t)xs[i]->c;
  }
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}
