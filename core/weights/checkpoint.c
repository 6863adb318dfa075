/* The checkpoint object (mivos.h, checkpoint.h): lookup by key, dtype and
 * shape, copying a tensor out in C order (float32 conversion included), and
 * checkpoints over in-memory arrays. Reading .pth files into it is in
 * checkpoint_pth.c. */
#include "weights/checkpoint_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- helpers, the key index -------------------------------------------------------- */

void mv_shape_string(char *buf, size_t cap, int ndim, const int64_t *shape) {
  if (!buf || !cap) return;
  if (ndim <= 0) {
    snprintf(buf, cap, "scalar");
    return;
  }
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, i ? "x%lld" : "%lld", (long long)shape[i]);
}

float mv_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    float v = (float)mant * 0x1p-24f; /* zero or subnormal: exact */
    return sign ? -v : v;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static int cmp_key_index(const void *a, const void *b) {
  return strcmp(((const key_index *)a)->key, ((const key_index *)b)->key);
}

mv_checkpoint *mv_checkpoint_new(const char *name) {
  mv_checkpoint *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->name = strdup(name);
  if (!c->name) {
    free(c);
    return NULL;
  }
  return c;
}

void mv_checkpoint_close(mv_checkpoint *c) {
  if (!c) return;
  for (int i = 0; i < c->count; i++) free(c->tensors[i].key);
  for (int i = 0; i < c->nstorages; i++) {
    free(c->storages[i].key);
    if (c->arrays) mv_array_free(c->arrays[i]);
  }
  free(c->arrays);
  free(c->tensors);
  free(c->storages);
  free(c->sorted);
  mv_zip_close(c->zip);
  mv_unmap_file(&c->file);
  free(c->name);
  free(c);
}

mv_status mv_checkpoint_build_index(mv_checkpoint *c, mv_status dup_status) {
  c->sorted = malloc((c->count ? (size_t)c->count : 1) * sizeof *c->sorted);
  if (!c->sorted) return mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
  for (int i = 0; i < c->count; i++) c->sorted[i] = (key_index){c->tensors[i].key, i};
  qsort(c->sorted, (size_t)c->count, sizeof *c->sorted, cmp_key_index);
  for (int i = 1; i < c->count; i++)
    if (strcmp(c->sorted[i - 1].key, c->sorted[i].key) == 0)
      return mv_fail(dup_status, "%s: key '%s' appears twice", c->name, c->sorted[i].key);
  return MV_OK;
}

int mv_checkpoint_find(const mv_checkpoint *c, const char *key) {
  if (!c || !key || !c->sorted) return -1;
  key_index probe = {key, 0};
  const key_index *hit =
      bsearch(&probe, c->sorted, (size_t)c->count, sizeof *c->sorted, cmp_key_index);
  return hit ? hit->index : -1;
}

int mv_checkpoint_count(const mv_checkpoint *c) { return c ? c->count : 0; }

const char *mv_checkpoint_key(const mv_checkpoint *c, int i) {
  if (!c || i < 0 || i >= c->count) return NULL;
  return c->tensors[i].key;
}

const char *mv_checkpoint_name(const mv_checkpoint *c) { return c ? c->name : ""; }

/* ---- reading tensors --------------------------------------------------------------- */

mv_status mv_checkpoint_info(const mv_checkpoint *c, const char *key, mv_dtype *dtype, int *ndim,
                             int64_t *shape) {
  MV_CHECK_ARG(c, "mv_checkpoint_info: checkpoint is NULL");
  MV_CHECK_ARG(key, "mv_checkpoint_info: key is NULL");
  int i = mv_checkpoint_find(c, key);
  if (i < 0) return mv_fail(MV_E_MISMATCH, "%s: missing key '%s'", c->name, key);
  const ck_tensor *t = &c->tensors[i];
  if (dtype) *dtype = t->dtype;
  if (ndim) *ndim = t->ndim;
  if (shape)
    for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
  return MV_OK;
}

/* Copies a strided tensor into C order. */
static void copy_strided(uint8_t *dst, const uint8_t *src, size_t elem, int ndim,
                         const int64_t *shape, const int64_t *stride) {
  int64_t numel = 1, expect = 1;
  int contiguous = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] != 1 && stride[d] != expect) contiguous = 0;
    expect *= shape[d];
    numel *= shape[d];
  }
  if (numel == 0) return;
  if (contiguous) {
    memcpy(dst, src, (size_t)numel * elem);
    return;
  }
  /* ndim >= 1 here (a scalar is contiguous). Odometer over the outer dims. */
  int64_t idx[MV_MAX_DIMS] = {0};
  int64_t inner = shape[ndim - 1], inner_stride = stride[ndim - 1];
  for (;;) {
    int64_t off = 0;
    for (int d = 0; d < ndim - 1; d++) off += idx[d] * stride[d];
    for (int64_t j = 0; j < inner; j++) {
      memcpy(dst, src + (size_t)(off + j * inner_stride) * elem, elem);
      dst += elem;
    }
    int d = ndim - 2;
    while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
    if (d < 0) break;
  }
}

mv_status mv_checkpoint_get(const mv_checkpoint *c, const char *key, mv_array **out) {
  MV_CHECK_ARG(out, "mv_checkpoint_get: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(c, "mv_checkpoint_get: checkpoint is NULL");
  MV_CHECK_ARG(key, "mv_checkpoint_get: key is NULL");
  int i = mv_checkpoint_find(c, key);
  if (i < 0) return mv_fail(MV_E_MISMATCH, "%s: missing key '%s'", c->name, key);
  const ck_tensor *t = &c->tensors[i];
  const ck_storage *s = &c->storages[t->storage];
  mv_array *a = NULL;
  MV_TRY(mv_array_new(t->dtype, t->ndim, t->shape, &a));
  const uint8_t *base = s->bytes;
  size_t size = (size_t)s->nbytes;
  void *owned = NULL;
  if (s->zip_index >= 0) {
    mv_status st = mv_zip_data(c->zip, s->zip_index, &base, &size, &owned);
    if (st != MV_OK) {
      mv_array_free(a);
      return mv_fail_context(st, "reading key '%s'", key);
    }
  }
  size_t elem = mv_dtype_size(t->dtype);
  /* Extents were checked at open against the same sizes. */
  copy_strided(a->data, base + (size_t)t->offset * elem, elem, t->ndim, t->shape, t->stride);
  free(owned);
  *out = a;
  return MV_OK;
}

mv_status mv_checkpoint_get_float32(const mv_checkpoint *c, const char *key, int ndim,
                                    const int64_t *shape, mv_array **out) {
  MV_CHECK_ARG(out, "mv_checkpoint_get_float32: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(c && key, "mv_checkpoint_get_float32: checkpoint or key is NULL");
  MV_CHECK_ARG(ndim >= 0 && ndim <= MV_MAX_DIMS && (ndim == 0 || shape),
               "mv_checkpoint_get_float32: '%s': bad expected shape (ndim %d)", key, ndim);
  mv_dtype dtype;
  int got_ndim;
  int64_t got[MV_MAX_DIMS];
  MV_TRY(mv_checkpoint_info(c, key, &dtype, &got_ndim, got));
  int same = got_ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = got[d] == shape[d];
  if (!same) {
    char have[160], want[160];
    mv_shape_string(have, sizeof have, got_ndim, got);
    mv_shape_string(want, sizeof want, ndim, shape);
    return mv_fail(MV_E_MISMATCH, "%s: key '%s' has shape %s, expected %s", c->name, key, have,
                   want);
  }
  if (dtype != MV_FLOAT32 && dtype != MV_FLOAT16 && dtype != MV_FLOAT64)
    return mv_fail(MV_E_MISMATCH, "%s: key '%s' has dtype %s, expected float32 (or float16/64)",
                   c->name, key, mv_dtype_name(dtype));
  mv_array *raw;
  MV_TRY(mv_checkpoint_get(c, key, &raw));
  if (dtype == MV_FLOAT32) {
    *out = raw;
    return MV_OK;
  }
  mv_array *f;
  mv_status st = mv_array_new(MV_FLOAT32, ndim, shape, &f);
  if (st != MV_OK) {
    mv_array_free(raw);
    return st;
  }
  int64_t n = mv_array_numel(f);
  float *dst = f->data;
  if (dtype == MV_FLOAT16) {
    const uint16_t *src = raw->data;
    for (int64_t j = 0; j < n; j++) dst[j] = mv_half_to_float(src[j]);
  } else {
    const double *src = raw->data;
    for (int64_t j = 0; j < n; j++) dst[j] = (float)src[j];
  }
  mv_array_free(raw);
  *out = f;
  return MV_OK;
}

/* ---- from arrays ------------------------------------------------------------------ */

mv_status mv_checkpoint_from_arrays(const char *name, int count, const char *const *keys,
                                    mv_array **arrays, mv_checkpoint **out) {
  mv_status st = MV_OK;
  mv_checkpoint *c = NULL;
  if (!out || !name || count < 0 || (count > 0 && (!keys || !arrays))) {
    st = mv_fail(MV_E_ARGUMENT, "mv_checkpoint_from_arrays: NULL argument or negative count");
    goto fail_args;
  }
  *out = NULL;
  for (int i = 0; i < count; i++)
    if (!keys[i] || !arrays[i] || !mv_dtype_size(arrays[i]->dtype) || arrays[i]->ndim < 0 ||
        arrays[i]->ndim > MV_MAX_DIMS) {
      st = mv_fail(MV_E_ARGUMENT, "mv_checkpoint_from_arrays: entry %d is NULL or invalid", i);
      goto fail_args;
    }
  c = mv_checkpoint_new(name);
  if (c) {
    size_t n = count ? (size_t)count : 1;
    c->tensors = calloc(n, sizeof *c->tensors);
    c->storages = calloc(n, sizeof *c->storages);
    c->arrays = calloc(n, sizeof *c->arrays);
  }
  if (!c || !c->tensors || !c->storages || !c->arrays) {
    st = mv_fail(MV_E_MEMORY, "mv_checkpoint_from_arrays: out of memory");
    mv_checkpoint_close(c);
    goto fail_args;
  }
  /* From here the checkpoint owns the arrays. */
  for (int i = 0; i < count; i++) {
    c->arrays[i] = arrays[i];
    arrays[i] = NULL;
  }
  c->nstorages = count;
  for (int i = 0; i < count && st == MV_OK; i++) {
    const mv_array *a = c->arrays[i];
    ck_tensor *t = &c->tensors[i];
    ck_storage *s = &c->storages[i];
    t->key = strdup(keys[i]);
    s->key = malloc(16);
    if (!t->key || !s->key) {
      free(t->key);
      t->key = NULL;
      st = mv_fail(MV_E_MEMORY, "mv_checkpoint_from_arrays: out of memory");
      break;
    }
    c->count = i + 1;
    snprintf(s->key, 16, "%d", i);
    t->dtype = a->dtype;
    t->ndim = a->ndim;
    int64_t expect = 1;
    for (int d = a->ndim - 1; d >= 0; d--) {
      t->shape[d] = a->shape[d];
      t->stride[d] = expect;
      expect *= a->shape[d];
    }
    t->storage = i;
    s->dtype = a->dtype;
    s->numel = mv_array_numel(a);
    s->zip_index = -1;
    s->bytes = a->data;
    s->nbytes = (uint64_t)s->numel * mv_dtype_size(a->dtype);
    s->first_tensor = i;
  }
  if (st == MV_OK) st = mv_checkpoint_build_index(c, MV_E_ARGUMENT);
  if (st != MV_OK) {
    mv_checkpoint_close(c);
    return st;
  }
  *out = c;
  return MV_OK;
fail_args:
  if (arrays)
    for (int i = 0; i < count; i++) {
      mv_array_free(arrays[i]);
      arrays[i] = NULL;
    }
  return st;
}
