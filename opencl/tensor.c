/* Device tensors: allocation from the pool, views, host transfers, copies. */
#include "opencl/tensor.h"

#include <stdint.h>
#include <string.h>

#include "error.h"

static mv_status check_shape(int n, int c, int h, int w, const char *op) {
  MV_CHECK_ARG(n > 0 && c > 0 && h > 0 && w > 0, "%s: shape %dx%dx%dx%d must be positive", op, n,
               c, h, w);
  uint64_t numel = (uint64_t)n * (uint64_t)c * (uint64_t)h * (uint64_t)w;
  MV_CHECK_ARG(numel <= ((uint64_t)1 << 40), "%s: shape %dx%dx%dx%d is too large", op, n, c, h,
               w);
  return MV_OK;
}

mv_status mv_tensor_new(mv_tensor *t, int n, int c, int h, int w) {
  MV_CHECK_ARG(t != NULL, "mv_tensor_new: t is NULL");
  memset(t, 0, sizeof *t);
  MV_TRY(check_shape(n, c, h, w, "mv_tensor_new"));
  cl_mem buffer = NULL;
  MV_TRY(mv_buffer_acquire((size_t)n * c * h * w * sizeof(float), &buffer));
  t->buffer = buffer;
  t->offset = 0;
  t->n = n;
  t->c = c;
  t->h = h;
  t->w = w;
  t->owned = 1;
  return MV_OK;
}

mv_status mv_tensor_zeros(mv_tensor *t, int n, int c, int h, int w) {
  MV_TRY(mv_tensor_new(t, n, c, h, w));
  mv_status status = mv_tensor_fill(t, 0.0f);
  if (status != MV_OK) mv_tensor_free(t);
  return status;
}

void mv_tensor_free(mv_tensor *t) {
  if (!t) return;
  if (t->owned && t->buffer) mv_buffer_release(t->buffer);
  memset(t, 0, sizeof *t);
}

mv_status mv_tensor_check(const mv_tensor *t, const char *op, const char *arg) {
  MV_CHECK_ARG(t != NULL, "%s: %s is NULL", op, arg);
  MV_CHECK_ARG(t->buffer != NULL, "%s: %s is an empty tensor (no buffer)", op, arg);
  MV_TRY(check_shape(t->n, t->c, t->h, t->w, op));
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  cl_context context = NULL;
  size_t size = 0;
  cl_int code = clGetMemObjectInfo(t->buffer, CL_MEM_CONTEXT, sizeof context, &context, NULL);
  if (code == CL_SUCCESS)
    code = clGetMemObjectInfo(t->buffer, CL_MEM_SIZE, sizeof size, &size, NULL);
  if (code != CL_SUCCESS)
    return mv_fail(MV_E_ARGUMENT, "%s: %s's buffer is not a valid OpenCL buffer: %s (%d)", op, arg,
                   mv_cl_error_name(code), (int)code);
  if (context != rt->context)
    return mv_fail(MV_E_MISMATCH, "%s: %s's buffer belongs to another OpenCL context than the "
                                  "runtime's device (%s)", op, arg, rt->info.name);
  size_t need = (t->offset + mv_tensor_numel(t)) * sizeof(float);
  if (need > size)
    return mv_fail(MV_E_ARGUMENT,
                   "%s: %s (%dx%dx%dx%d at offset %zu) extends past its buffer of %zu bytes", op,
                   arg, t->n, t->c, t->h, t->w, t->offset, size);
  return MV_OK;
}

mv_status mv_tensor_prepare(mv_tensor *y, int n, int c, int h, int w, const char *op,
                            const char *arg, int *allocated) {
  if (allocated) *allocated = 0;
  MV_CHECK_ARG(y != NULL, "%s: %s is NULL", op, arg);
  MV_TRY(check_shape(n, c, h, w, op));
  if (mv_tensor_is_empty(y)) {
    MV_TRY(mv_tensor_new(y, n, c, h, w));
    if (allocated) *allocated = 1;
    return MV_OK;
  }
  MV_TRY(mv_tensor_check(y, op, arg));
  if (y->n != n || y->c != c || y->h != h || y->w != w)
    return mv_fail(MV_E_MISMATCH, "%s: %s has shape %dx%dx%dx%d, expected %dx%dx%dx%d", op, arg,
                   y->n, y->c, y->h, y->w, n, c, h, w);
  return MV_OK;
}

mv_status mv_tensor_view(const mv_tensor *t, int n0, int batch, int c0, int count, mv_tensor *out) {
  MV_CHECK_ARG(out != NULL, "mv_tensor_view: out is NULL");
  MV_TRY(mv_tensor_check(t, "mv_tensor_view", "t"));
  MV_CHECK_ARG(n0 >= 0 && batch > 0 && n0 + batch <= t->n,
               "mv_tensor_view: batch items [%d, %d) outside [0, %d)", n0, n0 + batch, t->n);
  MV_CHECK_ARG(c0 >= 0 && count > 0 && c0 + count <= t->c,
               "mv_tensor_view: channels [%d, %d) outside [0, %d)", c0, c0 + count, t->c);
  MV_CHECK_ARG(batch == 1 || count == t->c,
               "mv_tensor_view: %d batch items of a %d-of-%d channel slice are not contiguous "
               "(use batch 1 or all channels)", batch, count, t->c);
  mv_tensor view;
  view.buffer = t->buffer;
  view.offset = t->offset + ((size_t)n0 * t->c + (size_t)c0) * t->h * t->w;
  view.n = batch;
  view.c = count;
  view.h = t->h;
  view.w = t->w;
  view.owned = 0;
  *out = view;
  return MV_OK;
}

mv_status mv_tensor_upload(mv_tensor *t, const float *host) {
  MV_TRY(mv_tensor_check(t, "mv_tensor_upload", "t"));
  MV_CHECK_ARG(host != NULL, "mv_tensor_upload: host is NULL");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return mv_cl_check(clEnqueueWriteBuffer(rt->queue, t->buffer, CL_TRUE, t->offset * sizeof(float),
                                          mv_tensor_numel(t) * sizeof(float), host, 0, NULL, NULL),
                     "clEnqueueWriteBuffer (mv_tensor_upload)");
}

mv_status mv_tensor_download(const mv_tensor *t, float *host) {
  MV_TRY(mv_tensor_check(t, "mv_tensor_download", "t"));
  MV_CHECK_ARG(host != NULL, "mv_tensor_download: host is NULL");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return mv_cl_check(clEnqueueReadBuffer(rt->queue, t->buffer, CL_TRUE, t->offset * sizeof(float),
                                         mv_tensor_numel(t) * sizeof(float), host, 0, NULL, NULL),
                     "clEnqueueReadBuffer (mv_tensor_download)");
}

mv_status mv_tensor_copy(const mv_tensor *src, mv_tensor *dst) {
  MV_TRY(mv_tensor_check(src, "mv_tensor_copy", "src"));
  MV_TRY(mv_tensor_check(dst, "mv_tensor_copy", "dst"));
  size_t count = mv_tensor_numel(src);
  if (count != mv_tensor_numel(dst))
    return mv_fail(MV_E_MISMATCH,
                   "mv_tensor_copy: src %dx%dx%dx%d and dst %dx%dx%dx%d differ in element count",
                   src->n, src->c, src->h, src->w, dst->n, dst->c, dst->h, dst->w);
  if (src->buffer == dst->buffer) {
    if (src->offset == dst->offset) return MV_OK;
    size_t lo = src->offset < dst->offset ? src->offset : dst->offset;
    size_t hi = src->offset < dst->offset ? dst->offset : src->offset;
    if (hi < lo + count)
      return mv_fail(MV_E_ARGUMENT, "mv_tensor_copy: src and dst overlap in the same buffer");
  }
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return mv_cl_check(clEnqueueCopyBuffer(rt->queue, src->buffer, dst->buffer,
                                         src->offset * sizeof(float), dst->offset * sizeof(float),
                                         count * sizeof(float), 0, NULL, NULL),
                     "clEnqueueCopyBuffer (mv_tensor_copy)");
}

mv_status mv_tensor_fill(mv_tensor *t, float value) {
  MV_TRY(mv_tensor_check(t, "mv_tensor_fill", "t"));
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return mv_cl_check(clEnqueueFillBuffer(rt->queue, t->buffer, &value, sizeof value,
                                         t->offset * sizeof(float),
                                         mv_tensor_numel(t) * sizeof(float), 0, NULL, NULL),
                     "clEnqueueFillBuffer (mv_tensor_fill)");
}
