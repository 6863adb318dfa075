/* Reading PyTorch state_dict checkpoints without Python: the zip format
 * (torch >= 1.6) and the legacy pickle stream (torch < 1.6), each through
 * the restricted pickle VM into the tensor and storage tables of
 * checkpoint_internal.h, with every tensor checked against the bytes of its
 * storage. Separate from the checkpoint object (checkpoint.c), which never
 * sees a file format. */
#include "weights/checkpoint_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "weights/pickle.h"

/* ---- from a pickled state_dict ------------------------------------------------------ */

typedef struct storage_ref {
  const char *key;
  int tensor;
} storage_ref;

static int cmp_storage_ref(const void *a, const void *b) {
  const storage_ref *x = a, *y = b;
  int r = strcmp(x->key, y->key);
  return r ? r : (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

/* Copies keys, tensor geometry and storage references out of the pickle. */
static mv_status build_from_dict(mv_checkpoint *c, const mv_pk_value *root) {
  if (root->kind != MV_PK_DICT)
    return mv_fail(MV_E_FORMAT, "%s: the pickled object is a %s, not a state_dict", c->name,
                   mv_pk_kind_name(root->kind));
  size_t n = root->u.seq.count / 2;
  if (n > 0x7fffffff) return mv_fail(MV_E_FORMAT, "%s: too many entries", c->name);
  c->tensors = calloc(n ? n : 1, sizeof *c->tensors);
  storage_ref *refs = calloc(n ? n : 1, sizeof *refs);
  if (!c->tensors || !refs) {
    free(refs);
    return mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
  }
  mv_status st = MV_OK;
  for (size_t i = 0; i < n && st == MV_OK; i++) {
    const mv_pk_value *k = root->u.seq.items[2 * i], *v = root->u.seq.items[2 * i + 1];
    if (k->kind != MV_PK_STR) {
      st = mv_fail(MV_E_FORMAT, "%s: state_dict entry %zu has a %s key, not a string", c->name, i,
                   mv_pk_kind_name(k->kind));
      break;
    }
    if (v->kind != MV_PK_TENSOR) {
      st = mv_fail(MV_E_FORMAT, "%s: key '%s' holds a value of type %s, not a tensor", c->name, k->u.str.s,
                   mv_pk_kind_name(v->kind));
      break;
    }
    ck_tensor *t = &c->tensors[c->count];
    t->key = strdup(k->u.str.s);
    if (!t->key) {
      st = mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
      break;
    }
    c->count++;
    const mv_pk_value *s = v->u.tensor->storage;
    t->dtype = s->u.storage->dtype;
    t->ndim = v->u.tensor->ndim;
    for (int d = 0; d < t->ndim; d++) {
      t->shape[d] = v->u.tensor->size[d];
      t->stride[d] = v->u.tensor->stride[d];
    }
    if (v->u.tensor->offset > INT64_MAX - s->u.storage->view_offset) {
      st = mv_fail(MV_E_FORMAT, "%s: key '%s': storage offset overflows", c->name, t->key);
      break;
    }
    t->offset = v->u.tensor->offset + s->u.storage->view_offset;
    refs[i] = (storage_ref){s->u.storage->key, (int)i};
  }
  if (st == MV_OK) {
    /* One storage per distinct key: tensors may share one. */
    qsort(refs, n, sizeof *refs, cmp_storage_ref);
    c->storages = calloc(n ? n : 1, sizeof *c->storages);
    if (!c->storages) st = mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
    for (size_t i = 0; i < n && st == MV_OK; i++) {
      const mv_pk_value *s = root->u.seq.items[2 * (size_t)refs[i].tensor + 1]->u.tensor->storage;
      ck_tensor *t = &c->tensors[refs[i].tensor];
      if (i == 0 || strcmp(refs[i].key, refs[i - 1].key) != 0) {
        ck_storage *cs = &c->storages[c->nstorages];
        cs->key = strdup(refs[i].key);
        if (!cs->key) {
          st = mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
          break;
        }
        c->nstorages++;
        cs->dtype = s->u.storage->dtype;
        cs->numel = s->u.storage->numel;
        cs->zip_index = -1;
        cs->first_tensor = refs[i].tensor;
      }
      ck_storage *cs = &c->storages[c->nstorages - 1];
      if (cs->dtype != t->dtype || cs->numel != s->u.storage->numel)
        st = mv_fail(MV_E_FORMAT, "%s: key '%s': storage '%s' is also used as %s with %lld "
                     "elements, here as %s with %lld",
                     c->name, t->key, cs->key, mv_dtype_name(cs->dtype), (long long)cs->numel,
                     mv_dtype_name(t->dtype), (long long)s->u.storage->numel);
      t->storage = c->nstorages - 1;
    }
  }
  free(refs);
  if (st == MV_OK) st = mv_checkpoint_build_index(c, MV_E_FORMAT);
  return st;
}

/* Every tensor must lie inside the bytes of its storage. */
static mv_status check_extents(const mv_checkpoint *c) {
  for (int i = 0; i < c->count; i++) {
    const ck_tensor *t = &c->tensors[i];
    const ck_storage *s = &c->storages[t->storage];
    size_t elem = mv_dtype_size(t->dtype);
    int empty = 0;
    for (int d = 0; d < t->ndim; d++) empty |= t->shape[d] == 0;
    if (empty) continue;
    int64_t last = t->offset, term;
    int overflow = 0;
    for (int d = 0; d < t->ndim; d++) {
      overflow |= __builtin_mul_overflow(t->shape[d] - 1, t->stride[d], &term);
      overflow |= __builtin_add_overflow(last, term, &last);
    }
    int64_t available = s->numel;
    if ((uint64_t)available > s->nbytes / elem) available = (int64_t)(s->nbytes / elem);
    /* Stride-0 (expanded) views can describe far more elements than their storage;
     * materialising them is bounded so a crafted file cannot exhaust memory. */
    int64_t numel = 1;
    int big = 0;
    for (int d = 0; d < t->ndim; d++) big |= __builtin_mul_overflow(numel, t->shape[d], &numel);
    uint64_t limit = s->nbytes * 16 > (64u << 20) ? s->nbytes * 16 : (64u << 20);
    if (!big && numel > available && (uint64_t)numel > limit / elem) big = 1;
    if (big) {
      char shape[160];
      mv_shape_string(shape, sizeof shape, t->ndim, t->shape);
      return mv_fail(MV_E_FORMAT,
                     "%s: key '%s': tensor of shape %s has far more elements than its storage "
                     "'%s' (%lld); expanded views this large are not supported",
                     c->name, t->key, shape, s->key, (long long)available);
    }
    if (overflow || last >= available) {
      char shape[160];
      mv_shape_string(shape, sizeof shape, t->ndim, t->shape);
      return mv_fail(MV_E_FORMAT,
                     "%s: key '%s': tensor of shape %s at storage offset %lld needs %s%lld "
                     "elements but its storage '%s' holds %lld (%lld recorded, %llu bytes "
                     "present)",
                     c->name, t->key, shape, (long long)t->offset, overflow ? "more than " : "",
                     overflow ? (long long)INT64_MAX : (long long)last + 1, s->key,
                     (long long)available, (long long)s->numel, (unsigned long long)s->nbytes);
    }
  }
  return MV_OK;
}

/* ---- zip format ------------------------------------------------------------------- */

static mv_status open_zip(mv_checkpoint *c) {
  MV_TRY(mv_zip_open_memory(c->name, c->file.data, c->file.size, &c->zip));
  /* The single top folder holding data.pkl; its name comes from the saved file name. */
  const char *pkl = NULL;
  size_t prefix_len = 0;
  for (int i = 0; i < mv_zip_count(c->zip); i++) {
    const char *name = mv_zip_name(c->zip, i);
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || strcmp(slash + 1, "data.pkl") != 0) continue;
    if (pkl)
      return mv_fail(MV_E_FORMAT, "%s: two pickles ('%s' and '%s'): not a single state_dict",
                     c->name, pkl, name);
    pkl = name;
    prefix_len = (size_t)(slash - name) + 1;
  }
  if (!pkl)
    return mv_fail(MV_E_FORMAT, "%s: no '<folder>/data.pkl' entry: not a PyTorch zip checkpoint",
                   c->name);
  char *entry = malloc(prefix_len + 64);
  if (!entry) return mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
  memcpy(entry, pkl, prefix_len);

  const uint8_t *data;
  size_t size;
  void *owned = NULL;
  mv_status st = MV_OK;
  /* Newer torch records the byte order; the storages are raw memory. */
  snprintf(entry + prefix_len, 64, "byteorder");
  int bo = mv_zip_find(c->zip, entry);
  if (bo >= 0) {
    st = mv_zip_data(c->zip, bo, &data, &size, &owned);
    if (st == MV_OK && size >= 3 && memcmp(data, "big", 3) == 0)
      st = mv_fail(MV_E_UNSUPPORTED, "%s: big-endian checkpoints are not supported", c->name);
    free(owned);
    owned = NULL;
  }
  if (st == MV_OK) st = mv_zip_data(c->zip, mv_zip_find(c->zip, pkl), &data, &size, &owned);
  if (st == MV_OK) {
    size_t nlen = strlen(c->name) + strlen(pkl) + 3;
    char *pname = malloc(nlen);
    if (!pname) {
      st = mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
    } else {
      snprintf(pname, nlen, "%s: %s", c->name, pkl);
      mv_pickle *pk = NULL;
      const mv_pk_value *root = NULL;
      st = mv_pickle_load(pname, data, size, NULL, &pk, &root);
      if (st == MV_OK) st = build_from_dict(c, root);
      mv_pickle_free(pk);
      free(pname);
    }
    free(owned);
  }
  /* Storages are the entries <prefix>data/<key>. */
  for (int i = 0; i < c->nstorages && st == MV_OK; i++) {
    ck_storage *s = &c->storages[i];
    size_t need = prefix_len + 6 + strlen(s->key);
    char *name = malloc(need);
    if (!name) {
      st = mv_fail(MV_E_MEMORY, "%s: out of memory", c->name);
      break;
    }
    memcpy(name, pkl, prefix_len);
    snprintf(name + prefix_len, need - prefix_len, "data/%s", s->key);
    s->zip_index = mv_zip_find(c->zip, name);
    if (s->zip_index < 0)
      st = mv_fail(MV_E_FORMAT, "%s: key '%s': its storage entry '%s' is missing", c->name,
                   c->tensors[s->first_tensor].key, name);
    else
      s->nbytes = mv_zip_size(c->zip, s->zip_index);
    free(name);
  }
  free(entry);
  return st;
}

/* ---- legacy format (torch < 1.6) ----------------------------------------------------- */

static const uint8_t LEGACY_MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19};

static mv_status load_next(mv_checkpoint *c, size_t *pos, const char *what, mv_pickle **pk,
                           const mv_pk_value **root) {
  char pname[512];
  snprintf(pname, sizeof pname, "%s: legacy %s pickle", c->name, what);
  size_t used = 0;
  MV_TRY(mv_pickle_load(pname, c->file.data + *pos, c->file.size - *pos, &used, pk, root));
  *pos += used;
  return MV_OK;
}

static int cmp_storage_key(const void *key, const void *s) {
  return strcmp((const char *)key, ((const ck_storage *)s)->key);
}

static mv_status open_legacy(mv_checkpoint *c) {
  size_t pos = 0;
  mv_pickle *pk = NULL;
  const mv_pk_value *v = NULL;
  MV_TRY(load_next(c, &pos, "magic number", &pk, &v));
  int magic_ok = v->kind == MV_PK_BIGINT && v->u.str.len == sizeof LEGACY_MAGIC &&
                 memcmp(v->u.str.s, LEGACY_MAGIC, sizeof LEGACY_MAGIC) == 0;
  mv_pickle_free(pk);
  if (!magic_ok)
    return mv_fail(MV_E_FORMAT, "%s: not a PyTorch checkpoint (a pickle without torch's magic "
                   "number)", c->name);
  MV_TRY(load_next(c, &pos, "protocol version", &pk, &v));
  int64_t proto = v->kind == MV_PK_INT ? v->u.i : -1;
  mv_pickle_free(pk);
  if (proto != 1001)
    return mv_fail(MV_E_UNSUPPORTED, "%s: legacy protocol version %lld (expected 1001)", c->name,
                   (long long)proto);
  MV_TRY(load_next(c, &pos, "sys_info", &pk, &v));
  int little = 1;
  if (v->kind == MV_PK_DICT)
    for (size_t i = 0; i + 1 < v->u.seq.count; i += 2) {
      const mv_pk_value *k = v->u.seq.items[i], *x = v->u.seq.items[i + 1];
      if (k->kind == MV_PK_STR && strcmp(k->u.str.s, "little_endian") == 0 &&
          x->kind == MV_PK_BOOL)
        little = (int)x->u.i;
    }
  mv_pickle_free(pk);
  if (!little)
    return mv_fail(MV_E_UNSUPPORTED, "%s: big-endian checkpoints are not supported", c->name);
  MV_TRY(load_next(c, &pos, "state_dict", &pk, &v));
  mv_status st = build_from_dict(c, v);
  mv_pickle_free(pk);
  MV_TRY(st);
  MV_TRY(load_next(c, &pos, "storage keys", &pk, &v));
  if (v->kind != MV_PK_LIST) {
    st = mv_fail(MV_E_FORMAT, "%s: the legacy storage key list is a %s", c->name,
                 mv_pk_kind_name(v->kind));
  }
  /* Raw storages follow in list order, each as int64 element count + bytes. */
  for (size_t i = 0; st == MV_OK && i < v->u.seq.count; i++) {
    const mv_pk_value *k = v->u.seq.items[i];
    if (k->kind != MV_PK_STR) {
      st = mv_fail(MV_E_FORMAT, "%s: legacy storage key %zu is not a string", c->name, i);
      break;
    }
    ck_storage *s = bsearch(k->u.str.s, c->storages, (size_t)c->nstorages, sizeof *s,
                            cmp_storage_key);
    if (!s) {
      st = mv_fail(MV_E_FORMAT, "%s: legacy storage '%s' is used by no tensor (unknown size)",
                   c->name, k->u.str.s);
      break;
    }
    if (c->file.size - pos < 8) {
      st = mv_fail(MV_E_FORMAT, "%s: file ends before legacy storage '%s' (truncated)", c->name,
                   s->key);
      break;
    }
    uint64_t numel = 0;
    for (int b = 7; b >= 0; b--) numel = numel << 8 | c->file.data[pos + (size_t)b];
    pos += 8;
    size_t elem = mv_dtype_size(s->dtype);
    if (numel > (uint64_t)(c->file.size - pos) / elem) {
      st = mv_fail(MV_E_FORMAT, "%s: legacy storage '%s' says %llu elements of %zu bytes but "
                   "only %zu bytes follow (truncated)",
                   c->name, s->key, (unsigned long long)numel, elem, c->file.size - pos);
      break;
    }
    s->bytes = c->file.data + pos;
    s->nbytes = numel * elem;
    pos += (size_t)s->nbytes;
  }
  mv_pickle_free(pk);
  for (int i = 0; i < c->nstorages && st == MV_OK; i++)
    if (!c->storages[i].bytes)
      st = mv_fail(MV_E_FORMAT, "%s: key '%s': its storage '%s' is missing from the file",
                   c->name, c->tensors[c->storages[i].first_tensor].key, c->storages[i].key);
  return st;
}

/* ---- public --------------------------------------------------------------------- */

mv_status mv_checkpoint_open(const char *path, mv_checkpoint **out) {
  MV_CHECK_ARG(out, "mv_checkpoint_open: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "mv_checkpoint_open: path is NULL or empty");
  mv_checkpoint *c = mv_checkpoint_new(path);
  if (!c) return mv_fail(MV_E_MEMORY, "mv_checkpoint_open: out of memory");
  mv_status st = mv_map_file(path, &c->file);
  if (st == MV_OK && c->file.size == 0)
    st = mv_fail(MV_E_FORMAT, "%s: empty file, not a PyTorch checkpoint", path);
  if (st == MV_OK) {
    /* The legacy format starts with the pickled magic number (PROTO 2, LONG1). */
    if (c->file.data[0] == 0x80)
      st = open_legacy(c);
    else
      st = open_zip(c);
  }
  if (st == MV_OK) st = check_extents(c);
  if (st != MV_OK) {
    mv_checkpoint_close(c);
    return st;
  }
  *out = c;
  return MV_OK;
}
