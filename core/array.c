/* Host arrays: dtype sizes and names, zero-filled allocation. */
#include <stdlib.h>

#include "error.h"

size_t mv_dtype_size(mv_dtype dtype) {
  switch (dtype) {
    case MV_FLOAT32: return 4;
    case MV_FLOAT16: return 2;
    case MV_FLOAT64: return 8;
    case MV_INT64: return 8;
    case MV_INT32: return 4;
    case MV_INT16: return 2;
    case MV_UINT8: return 1;
    case MV_BOOL: return 1;
  }
  return 0; /* not a dtype */
}

const char *mv_dtype_name(mv_dtype dtype) {
  switch (dtype) {
    case MV_FLOAT32: return "float32";
    case MV_FLOAT16: return "float16";
    case MV_FLOAT64: return "float64";
    case MV_INT64: return "int64";
    case MV_INT32: return "int32";
    case MV_INT16: return "int16";
    case MV_UINT8: return "uint8";
    case MV_BOOL: return "bool";
  }
  return "unknown";
}

int64_t mv_array_numel(const mv_array *array) {
  if (!array || array->ndim < 0 || array->ndim > MV_MAX_DIMS) return 0;
  int64_t n = 1;
  for (int i = 0; i < array->ndim; i++) n *= array->shape[i];
  return n;
}

mv_status mv_array_new(mv_dtype dtype, int ndim, const int64_t *shape, mv_array **out) {
  MV_CHECK_ARG(out, "mv_array_new: out is NULL");
  *out = NULL;
  size_t elem = mv_dtype_size(dtype);
  MV_CHECK_ARG(elem, "mv_array_new: unknown dtype %d", (int)dtype);
  MV_CHECK_ARG(ndim >= 0 && ndim <= MV_MAX_DIMS, "mv_array_new: ndim %d is outside 0..%d",
               ndim, (int)MV_MAX_DIMS);
  MV_CHECK_ARG(ndim == 0 || shape, "mv_array_new: shape is NULL for ndim %d", ndim);
  /* Element count and byte size must fit: guard every multiplication. */
  uint64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    MV_CHECK_ARG(shape[i] >= 0, "mv_array_new: shape[%d] = %lld is negative", i,
                 (long long)shape[i]);
    if (shape[i] == 0) {
      numel = 0;
      continue;
    }
    if (numel && (uint64_t)shape[i] > (uint64_t)INT64_MAX / numel)
      return mv_fail(MV_E_MEMORY, "mv_array_new: element count overflows at dimension %d", i);
    numel *= (uint64_t)shape[i];
  }
  if (numel > (uint64_t)SIZE_MAX / elem || numel > (uint64_t)INT64_MAX / elem)
    return mv_fail(MV_E_MEMORY, "mv_array_new: %llu elements of %zu bytes overflow",
                   (unsigned long long)numel, elem);
  size_t bytes = (size_t)numel * elem;
  mv_array *a = calloc(1, sizeof *a);
  if (!a) return mv_fail(MV_E_MEMORY, "mv_array_new: out of memory");
  /* calloc(1) for empty arrays so data is never NULL. */
  a->data = calloc(bytes ? bytes : 1, 1);
  if (!a->data) {
    free(a);
    return mv_fail(MV_E_MEMORY, "mv_array_new: cannot allocate %zu bytes", bytes);
  }
  a->dtype = dtype;
  a->ndim = ndim;
  for (int i = 0; i < ndim; i++) a->shape[i] = shape[i];
  *out = a;
  return MV_OK;
}

void mv_array_free(mv_array *array) {
  if (!array) return;
  free(array->data);
  free(array);
}
