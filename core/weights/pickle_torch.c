/* What torch's pickles mean (see pickle.h): the allow-list of globals,
 * persistent ids as storage references, _rebuild_tensor / _rebuild_parameter
 * calls as tensor descriptions. Separate from the interpreter (pickle.c) so
 * that the opcode loop stays generic and this file is the one place that
 * decides which objects a checkpoint may build. */
#include "weights/pickle_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- the allow-list of globals --------------------------------------------- */

typedef struct global_entry {
  const char *module, *name, *full;
  mv_pk_global_id id;
  int dtype; /* storage types; -1 = known but not supported */
} global_entry;

static const global_entry GLOBALS[] = {
    {"collections", "OrderedDict", "collections.OrderedDict", MV_PKG_ORDERED_DICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", "torch._utils._rebuild_tensor_v2",
     MV_PKG_REBUILD_TENSOR_V2, 0},
    {"torch._utils", "_rebuild_tensor", "torch._utils._rebuild_tensor", MV_PKG_REBUILD_TENSOR, 0},
    {"torch._utils", "_rebuild_parameter", "torch._utils._rebuild_parameter",
     MV_PKG_REBUILD_PARAMETER, 0},
    {"torch._utils", "_rebuild_parameter_with_state", "torch._utils._rebuild_parameter_with_state",
     MV_PKG_REBUILD_PARAMETER_STATE, 0},
    {"torch", "FloatStorage", "torch.FloatStorage", MV_PKG_STORAGE_TYPE, MV_FLOAT32},
    {"torch", "HalfStorage", "torch.HalfStorage", MV_PKG_STORAGE_TYPE, MV_FLOAT16},
    {"torch", "DoubleStorage", "torch.DoubleStorage", MV_PKG_STORAGE_TYPE, MV_FLOAT64},
    {"torch", "LongStorage", "torch.LongStorage", MV_PKG_STORAGE_TYPE, MV_INT64},
    {"torch", "IntStorage", "torch.IntStorage", MV_PKG_STORAGE_TYPE, MV_INT32},
    {"torch", "ShortStorage", "torch.ShortStorage", MV_PKG_STORAGE_TYPE, MV_INT16},
    {"torch", "ByteStorage", "torch.ByteStorage", MV_PKG_STORAGE_TYPE, MV_UINT8},
    {"torch", "BoolStorage", "torch.BoolStorage", MV_PKG_STORAGE_TYPE, MV_BOOL},
    {"torch", "BFloat16Storage", "torch.BFloat16Storage", MV_PKG_STORAGE_TYPE, -1},
    {"torch", "CharStorage", "torch.CharStorage", MV_PKG_STORAGE_TYPE, -1},
    {"torch", "ComplexFloatStorage", "torch.ComplexFloatStorage", MV_PKG_STORAGE_TYPE, -1},
    {"torch", "ComplexDoubleStorage", "torch.ComplexDoubleStorage", MV_PKG_STORAGE_TYPE, -1},
};

/* ---- globals, persistent ids, calls ------------------------------------------- */

mv_status mv_pk_global(mv_pk_vm *m, const uint8_t *mod, size_t mod_len, const uint8_t *name,
                       size_t name_len, mv_pk_value **out) {
  for (size_t i = 0; i < sizeof GLOBALS / sizeof GLOBALS[0]; i++) {
    const global_entry *g = &GLOBALS[i];
    if (strlen(g->module) == mod_len && memcmp(g->module, mod, mod_len) == 0 &&
        strlen(g->name) == name_len && memcmp(g->name, name, name_len) == 0) {
      if (g->dtype < 0)
        return mv_fail(MV_E_UNSUPPORTED,
                       "%s: storage type %s at byte %zu: this dtype is not supported", m->name,
                       g->full, m->op_pos);
      mv_pk_value *v = NULL;
      MV_TRY(mv_pk_new_value(m, MV_PK_GLOBAL, &v));
      v->u.global.id = g->id;
      v->u.global.dtype = (mv_dtype)g->dtype;
      v->u.global.name = g->full;
      *out = v;
      return MV_OK;
    }
  }
  int ml = mod_len > 200 ? 200 : (int)mod_len, nl = name_len > 200 ? 200 : (int)name_len;
  return mv_fail(MV_E_UNSUPPORTED, "%s: unsupported pickle global '%.*s.%.*s' at byte %zu",
                 m->name, ml, (const char *)mod, nl, (const char *)name, m->op_pos);
}

static int as_int(const mv_pk_value *v, int64_t *out) {
  if (v->kind != MV_PK_INT && v->kind != MV_PK_BOOL) return 0;
  *out = v->u.i;
  return 1;
}

/* ('storage', StorageType, key, location, numel[, view_metadata]) */
mv_status mv_pk_persistent_load(mv_pk_vm *m, mv_pk_value *pid, mv_pk_value **out) {
  if (pid->kind != MV_PK_TUPLE || pid->u.seq.count < 5 || pid->u.seq.count > 6)
    return mv_pk_fail(m, MV_E_UNSUPPORTED,
                      "persistent id is not a ('storage', type, key, location, numel) tuple");
  mv_pk_value **it = pid->u.seq.items;
  if (it[0]->kind != MV_PK_STR || strcmp(it[0]->u.str.s, "storage") != 0)
    return mv_pk_fail(m, MV_E_UNSUPPORTED, "persistent id is not a 'storage' record");
  if (it[1]->kind != MV_PK_GLOBAL || it[1]->u.global.id != MV_PKG_STORAGE_TYPE)
    return mv_pk_fail(m, MV_E_UNSUPPORTED, "persistent id names no storage type");
  if (it[2]->kind != MV_PK_STR || it[3]->kind != MV_PK_STR)
    return mv_pk_fail(m, MV_E_FORMAT, "storage key or location is not a string");
  int64_t numel;
  if (!as_int(it[4], &numel) || numel < 0)
    return mv_pk_fail(m, MV_E_FORMAT, "storage size is not a non-negative integer");
  mv_pk_value *s = NULL;
  MV_TRY(mv_pk_new_value(m, MV_PK_STORAGE, &s));
  s->u.storage = calloc(1, sizeof *s->u.storage);
  if (!s->u.storage) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->name);
  s->u.storage->key = strdup(it[2]->u.str.s);
  if (!s->u.storage->key) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->name);
  s->u.storage->dtype = it[1]->u.global.dtype;
  s->u.storage->numel = numel;
  s->u.storage->view_offset = 0;
  s->u.storage->view_numel = numel;
  if (pid->u.seq.count == 6 && it[5]->kind != MV_PK_NONE) {
    /* legacy view: (view_key, offset, view_size) into the root storage */
    mv_pk_value *view = it[5];
    int64_t off, vn;
    if (view->kind != MV_PK_TUPLE || view->u.seq.count != 3 || !as_int(view->u.seq.items[1], &off) ||
        !as_int(view->u.seq.items[2], &vn) || off < 0 || vn < 0 || off > numel ||
        vn > numel - off)
      return mv_pk_fail(m, MV_E_FORMAT,
                        "storage view metadata is not (key, offset, size) inside its storage");
    s->u.storage->view_offset = off;
    s->u.storage->view_numel = vn;
  }
  *out = s;
  return MV_OK;
}

static mv_status int_tuple(mv_pk_vm *m, const mv_pk_value *t, const char *what, int *n,
                           int64_t *out) {
  char msg[128];
  if (t->kind != MV_PK_TUPLE && t->kind != MV_PK_LIST) {
    snprintf(msg, sizeof msg, "tensor %s is a %s, not a tuple", what, mv_pk_kind_name(t->kind));
    return mv_pk_fail(m, MV_E_FORMAT, msg);
  }
  if (t->u.seq.count > MV_MAX_DIMS) {
    snprintf(msg, sizeof msg, "tensor has %zu dimensions (at most %d supported)", t->u.seq.count,
             (int)MV_MAX_DIMS);
    return mv_pk_fail(m, MV_E_UNSUPPORTED, msg);
  }
  for (size_t i = 0; i < t->u.seq.count; i++) {
    if (!as_int(t->u.seq.items[i], &out[i]) || out[i] < 0) {
      snprintf(msg, sizeof msg, "tensor %s[%zu] is not a non-negative integer", what, i);
      return mv_pk_fail(m, MV_E_FORMAT, msg);
    }
  }
  *n = (int)t->u.seq.count;
  return MV_OK;
}

mv_status mv_pk_call(mv_pk_vm *m, mv_pk_value *fn, mv_pk_value *args, mv_pk_value **out) {
  if (fn->kind != MV_PK_GLOBAL) {
    char msg[96];
    snprintf(msg, sizeof msg, "cannot call a %s", mv_pk_kind_name(fn->kind));
    return mv_pk_fail(m, MV_E_UNSUPPORTED, msg);
  }
  if (args->kind != MV_PK_TUPLE)
    return mv_pk_fail(m, MV_E_FORMAT, "call arguments are not a tuple");
  size_t argc = args->u.seq.count;
  mv_pk_value **a = args->u.seq.items;
  switch (fn->u.global.id) {
    case MV_PKG_ORDERED_DICT:
      if (argc != 0)
        return mv_pk_fail(m, MV_E_UNSUPPORTED, "collections.OrderedDict called with arguments");
      return mv_pk_new_value(m, MV_PK_DICT, out);
    case MV_PKG_REBUILD_TENSOR_V2:
    case MV_PKG_REBUILD_TENSOR: {
      int v2 = fn->u.global.id == MV_PKG_REBUILD_TENSOR_V2;
      if (v2 ? (argc < 6 || argc > 7) : argc != 4)
        return mv_pk_fail(m, MV_E_FORMAT,
                          v2 ? "_rebuild_tensor_v2 takes (storage, offset, size, stride, "
                               "requires_grad, hooks[, metadata])"
                             : "_rebuild_tensor takes (storage, offset, size, stride)");
      if (a[0]->kind != MV_PK_STORAGE)
        return mv_pk_fail(m, MV_E_FORMAT, "tensor storage is not a persistent storage reference");
      mv_pk_value *t = NULL;
      MV_TRY(mv_pk_new_value(m, MV_PK_TENSOR, &t));
      t->u.tensor = calloc(1, sizeof *t->u.tensor);
      if (!t->u.tensor) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->name);
      t->u.tensor->storage = a[0];
      if (!as_int(a[1], &t->u.tensor->offset) || t->u.tensor->offset < 0)
        return mv_pk_fail(m, MV_E_FORMAT, "tensor storage offset is not a non-negative integer");
      int nsize = 0, nstride = 0;
      MV_TRY(int_tuple(m, a[2], "size", &nsize, t->u.tensor->size));
      MV_TRY(int_tuple(m, a[3], "stride", &nstride, t->u.tensor->stride));
      if (nsize != nstride)
        return mv_pk_fail(m, MV_E_FORMAT, "tensor size and stride differ in length");
      t->u.tensor->ndim = nsize;
      *out = t;
      return MV_OK;
    }
    case MV_PKG_REBUILD_PARAMETER:
    case MV_PKG_REBUILD_PARAMETER_STATE:
      if (argc < 3 || argc > 4 || a[0]->kind != MV_PK_TENSOR)
        return mv_pk_fail(m, MV_E_FORMAT,
                          "_rebuild_parameter takes (tensor, requires_grad, hooks)");
      *out = a[0];
      return MV_OK;
    case MV_PKG_STORAGE_TYPE: break;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "calling %s is not supported", fn->u.global.name);
  return mv_pk_fail(m, MV_E_UNSUPPORTED, msg);
}
