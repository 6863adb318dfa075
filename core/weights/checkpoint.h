/* Internal checkpoint helpers (used by manifest.c and the network code). */
#ifndef MV_CHECKPOINT_H
#define MV_CHECKPOINT_H

#include "mivos.h"

/* The tensor `key` as float32 (float16/float64 are converted), after checking
 * that its shape is exactly `shape` (ndim dims). Fails with MV_E_MISMATCH
 * "<file>: key 'k' has shape 64x6x7x7, expected 64x3x7x7", "<file>: missing
 * key 'k'" or a non-float dtype. */
mv_status mv_checkpoint_get_float32(const mv_checkpoint *c, const char *key, int ndim,
                                    const int64_t *shape, mv_array **out);

/* Dtype and shape of `key` without copying data (any output may be NULL;
 * shape needs MV_MAX_DIMS slots). MV_E_MISMATCH "missing key" when absent. */
mv_status mv_checkpoint_info(const mv_checkpoint *c, const char *key, mv_dtype *dtype, int *ndim,
                             int64_t *shape);

/* Index of `key` in state_dict order, or -1. */
int mv_checkpoint_find(const mv_checkpoint *c, const char *key);

/* The name used in messages (the path given to open, or "hashinit(<manifest>)"). */
const char *mv_checkpoint_name(const mv_checkpoint *c);

/* A checkpoint over in-memory arrays, in the given key order. Takes ownership
 * of every arrays[i] (they are freed by mv_checkpoint_close, or here on
 * failure); keys are copied. Duplicate keys fail with MV_E_ARGUMENT. */
mv_status mv_checkpoint_from_arrays(const char *name, int count, const char *const *keys,
                                    mv_array **arrays, mv_checkpoint **out);

/* "64x3x7x7"; "scalar" for ndim 0. */
void mv_shape_string(char *buf, size_t cap, int ndim, const int64_t *shape);

/* IEEE half -> float (all cases: subnormals, inf, NaN). */
float mv_half_to_float(uint16_t h);

#endif
