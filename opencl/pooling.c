/* Pooling: max pooling (ResNet stem), global average pooling and its
 * broadcast back to a plane (ASPP image pooling). */
#include "error.h"
#include "opencl/ops.h"

enum { AVG_GROUP = 64 }; /* matches AVG_GROUP in kernels/pooling.cl */

mv_status mv_maxpool2d(const mv_tensor *x, int kernel_size, int stride, int padding,
                       mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_maxpool2d", "x"));
  MV_CHECK_ARG(kernel_size > 0 && stride > 0 && padding >= 0,
               "mv_maxpool2d: kernel %d, stride %d must be positive and padding %d >= 0",
               kernel_size, stride, padding);
  MV_CHECK_ARG(2 * padding <= kernel_size,
               "mv_maxpool2d: padding %d must be at most half the kernel %d (PyTorch's rule)",
               padding, kernel_size);
  MV_CHECK_ARG(x->h + 2 * padding >= kernel_size && x->w + 2 * padding >= kernel_size,
               "mv_maxpool2d: input %dx%d with padding %d is smaller than the kernel %d", x->h,
               x->w, padding, kernel_size);
  MV_CHECK_ARG(y != NULL, "mv_maxpool2d: y is NULL");
  int out_h = (x->h + 2 * padding - kernel_size) / stride + 1;
  int out_w = (x->w + 2 * padding - kernel_size) / stride + 1;
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, out_h, out_w, "mv_maxpool2d", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_maxpool2d: y overlaps x");
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "maxpool2d", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_int h = x->h, w = x->w, oh = out_h, ow = out_w, k = kernel_size, s = stride, p = padding;
  cl_long total = (cl_long)mv_tensor_numel(y);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 12, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof k, &k, sizeof s, &s,
                            sizeof p, &p, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "maxpool2d", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_global_avgpool(const mv_tensor *x, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_global_avgpool", "x"));
  MV_CHECK_ARG(y != NULL, "mv_global_avgpool: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, 1, 1, "mv_global_avgpool", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_global_avgpool: y overlaps x");
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "global_avgpool", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long plane = (cl_long)x->h * x->w, planes = (cl_long)x->n * x->c;
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 6, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof plane, &plane, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                            sizeof planes, &planes);
  size_t global = (size_t)planes * AVG_GROUP, local = AVG_GROUP;
  if (status == MV_OK) status = mv_kernel_run(kernel, "global_avgpool", 1, &global, &local);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_broadcast(const mv_tensor *x, int h, int w, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_broadcast", "x"));
  if (x->h != 1 || x->w != 1)
    return mv_fail(MV_E_MISMATCH, "mv_broadcast: x is %dx%dx%dx%d, expected spatial size 1x1",
                   x->n, x->c, x->h, x->w);
  MV_CHECK_ARG(h > 0 && w > 0, "mv_broadcast: size %dx%d must be positive", h, w);
  MV_CHECK_ARG(y != NULL, "mv_broadcast: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, h, w, "mv_broadcast", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_broadcast: y overlaps x");
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "broadcast", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long plane = (cl_long)h * w, total = (cl_long)mv_tensor_numel(y);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 6, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof plane, &plane, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                            sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "broadcast", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}
