/* Device tensors: float32, contiguous NCHW, in an OpenCL buffer. A tensor
 * either owns its buffer (from the pool) or is a view at an element offset
 * into another tensor's buffer (channel slices, per-object parts). */
#ifndef MV_TENSOR_H
#define MV_TENSOR_H

#include "opencl/runtime.h"

typedef struct mv_tensor {
  cl_mem buffer;
  size_t offset;      /* in elements (floats) */
  int n, c, h, w;
  int owned;          /* 1 if mv_tensor_free releases the buffer */
} mv_tensor;

static inline size_t mv_tensor_numel(const mv_tensor *t) {
  return (size_t)t->n * t->c * t->h * t->w;
}

/* Uninitialised tensor of the given shape (contents are whatever the pool had). */
mv_status mv_tensor_new(mv_tensor *t, int n, int c, int h, int w);
/* Zero-filled. */
mv_status mv_tensor_zeros(mv_tensor *t, int n, int c, int h, int w);
/* Frees an owned tensor; sets it to an empty tensor. Safe on empty/view tensors. */
void mv_tensor_free(mv_tensor *t);
/* View of channels [c0, c0 + count) of batch item `n0` (..n0+batch). Requires
 * the result to be contiguous: batch == 1 or count == t->c. */
mv_status mv_tensor_view(const mv_tensor *t, int n0, int batch, int c0, int count, mv_tensor *out);
/* Host <-> device copies of the whole tensor (numel floats). */
mv_status mv_tensor_upload(mv_tensor *t, const float *host);
mv_status mv_tensor_download(const mv_tensor *t, float *host);
/* Device copy; shapes must have the same number of elements. */
mv_status mv_tensor_copy(const mv_tensor *src, mv_tensor *dst);
/* Fill with a constant. */
mv_status mv_tensor_fill(mv_tensor *t, float value);

/* 1 for an empty tensor ({0}: no buffer). */
static inline int mv_tensor_is_empty(const mv_tensor *t) { return t->buffer == NULL; }
/* Validates tensor argument `arg` of `op`: not NULL, has a buffer of the
 * runtime's context, positive shape, offset + numel inside the buffer. */
mv_status mv_tensor_check(const mv_tensor *t, const char *op, const char *arg);
/* The operator output convention (ops.h): an empty `y` is allocated with the
 * shape (and *allocated set to 1, so the caller can free it on failure);
 * otherwise y is checked and must have exactly this shape (MV_E_MISMATCH). */
mv_status mv_tensor_prepare(mv_tensor *y, int n, int c, int h, int w, const char *op,
                            const char *arg, int *allocated);

#endif
