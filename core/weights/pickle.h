/* A pickle virtual machine restricted to what torch.save writes for a
 * state_dict (protocols 2-5): no arbitrary code, only an allow-list of
 * globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
 * friends, torch.*Storage types). Persistent ids become storage references,
 * _rebuild_tensor_v2 calls become tensor descriptions. The stack, the mark
 * stack and the memo are bounded; nothing recurses. */
#ifndef MV_PICKLE_H
#define MV_PICKLE_H

#include "mivos.h"

typedef enum mv_pk_kind {
  MV_PK_NONE,
  MV_PK_BOOL,    /* u.i: 0 or 1 */
  MV_PK_INT,     /* u.i */
  MV_PK_BIGINT,  /* an integer wider than 64 bits: u.str holds its little-endian bytes */
  MV_PK_FLOAT,   /* u.f */
  MV_PK_STR,     /* u.str, UTF-8, NUL-terminated */
  MV_PK_BYTES,   /* u.str */
  MV_PK_TUPLE,   /* u.seq */
  MV_PK_LIST,    /* u.seq */
  MV_PK_DICT,    /* u.seq with key, value, key, value ... in insertion order (count is 2x) */
  MV_PK_GLOBAL,  /* u.global: an allowed class or function */
  MV_PK_STORAGE, /* *u.storage: from a persistent id ('storage', type, key, location, numel) */
  MV_PK_TENSOR   /* *u.tensor: from _rebuild_tensor_v2 */
} mv_pk_kind;

typedef enum mv_pk_global_id {
  MV_PKG_ORDERED_DICT,
  MV_PKG_REBUILD_TENSOR_V2,
  MV_PKG_REBUILD_TENSOR,          /* the pre-1.0 variant without requires_grad */
  MV_PKG_REBUILD_PARAMETER,
  MV_PKG_REBUILD_PARAMETER_STATE, /* _rebuild_parameter_with_state */
  MV_PKG_STORAGE_TYPE             /* torch.FloatStorage etc.; u.global.dtype */
} mv_pk_global_id;

typedef struct mv_pk_value mv_pk_value;

/* Storage and tensor payloads live in their own allocations so that the
 * common values stay small (the VM may hold millions of them). */
typedef struct mv_pk_storage {
  mv_dtype dtype;
  char *key;           /* storage key: zip entry "data/<key>" or legacy storage key */
  int64_t numel;       /* elements of the (root) storage */
  int64_t view_offset; /* legacy views: element offset of the view in the root storage */
  int64_t view_numel;  /* elements of the view (= numel when not a view) */
} mv_pk_storage;

typedef struct mv_pk_tensor {
  const mv_pk_value *storage; /* an MV_PK_STORAGE value */
  int64_t offset;             /* in elements, relative to the storage (view) start */
  int ndim;
  int64_t size[MV_MAX_DIMS];
  int64_t stride[MV_MAX_DIMS];
} mv_pk_tensor;

struct mv_pk_value {
  mv_pk_kind kind;
  mv_pk_value *next_alloc; /* the VM's allocation chain */
  union {
    int64_t i;
    double f;
    struct {
      char *s;
      size_t len;
    } str;
    struct {
      mv_pk_value **items;
      size_t count, cap;
    } seq;
    struct {
      mv_pk_global_id id;
      mv_dtype dtype;   /* MV_PKG_STORAGE_TYPE only */
      const char *name; /* "torch.FloatStorage" (static) */
    } global;
    mv_pk_storage *storage; /* MV_PK_STORAGE */
    mv_pk_tensor *tensor;   /* MV_PK_TENSOR */
  } u;
};

typedef struct mv_pickle mv_pickle;

/* Runs one pickle from data[0..size) up to its STOP. `name` is used in
 * messages ("x.pth: data.pkl"); errors name the opcode (hex) or the global
 * and the byte offset. *consumed receives the bytes used (may be NULL).
 * *root points into *out, valid until mv_pickle_free. */
mv_status mv_pickle_load(const char *name, const uint8_t *data, size_t size, size_t *consumed,
                         mv_pickle **out, const mv_pk_value **root);
void mv_pickle_free(mv_pickle *pickle);

/* "dict", "tuple", ... for messages. */
const char *mv_pk_kind_name(mv_pk_kind kind);

#endif
