/* Restricted pickle VM for torch state_dicts (see pickle.h). */
#include "weights/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum {
  MAX_STACK = 1 << 20, /* values on the stack */
  MAX_MARKS = 1 << 16, /* nested MARKs */
  MAX_MEMO = 1 << 24,  /* memo slots (also bounded by the pickle size) */
  MAX_VALUES = 1 << 21 /* values created (~40 bytes each): a state_dict needs ~70 per tensor */
};

struct mv_pickle {
  mv_pk_value *values; /* allocation chain, freed all at once */
  size_t nvalues;
};

typedef struct vm {
  const char *name;
  const uint8_t *data;
  size_t size, pos, op_pos;
  uint8_t op;
  mv_pickle *pickle;
  mv_pk_value **stack;
  size_t sp, stack_cap;
  size_t *marks;
  size_t nmarks, marks_cap;
  mv_pk_value **memo;
  size_t memo_cap, memo_count; /* memo_count: slots in use (MEMOIZE's next index) */
} vm;

const char *mv_pk_kind_name(mv_pk_kind kind) {
  switch (kind) {
    case MV_PK_NONE: return "None";
    case MV_PK_BOOL: return "bool";
    case MV_PK_INT: return "int";
    case MV_PK_BIGINT: return "big int";
    case MV_PK_FLOAT: return "float";
    case MV_PK_STR: return "str";
    case MV_PK_BYTES: return "bytes";
    case MV_PK_TUPLE: return "tuple";
    case MV_PK_LIST: return "list";
    case MV_PK_DICT: return "dict";
    case MV_PK_GLOBAL: return "global";
    case MV_PK_STORAGE: return "storage";
    case MV_PK_TENSOR: return "tensor";
  }
  return "?";
}

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

/* ---- errors ------------------------------------------------------------------- */

static mv_status vm_fail(vm *m, mv_status st, const char *what) {
  return mv_fail(st, "%s: pickle opcode 0x%02x at byte %zu: %s", m->name, m->op, m->op_pos, what);
}

static mv_status vm_truncated(vm *m) {
  return mv_fail(MV_E_FORMAT, "%s: pickle data ends inside opcode 0x%02x at byte %zu", m->name,
                 m->op, m->op_pos);
}

/* ---- values -------------------------------------------------------------------- */

static mv_status new_value(vm *m, mv_pk_kind kind, mv_pk_value **out) {
  if (m->pickle->nvalues >= MAX_VALUES)
    return vm_fail(m, MV_E_MEMORY, "the pickle creates too many objects");
  mv_pk_value *v = calloc(1, sizeof *v);
  if (!v) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
  v->kind = kind;
  v->next_alloc = m->pickle->values;
  m->pickle->values = v;
  m->pickle->nvalues++;
  *out = v;
  return MV_OK;
}

static void free_value(mv_pk_value *v) {
  switch (v->kind) {
    case MV_PK_STR:
    case MV_PK_BYTES:
    case MV_PK_BIGINT: free(v->u.str.s); break;
    case MV_PK_TUPLE:
    case MV_PK_LIST:
    case MV_PK_DICT: free(v->u.seq.items); break;
    case MV_PK_STORAGE:
      if (v->u.storage) free(v->u.storage->key);
      free(v->u.storage);
      break;
    case MV_PK_TENSOR: free(v->u.tensor); break;
    default: break;
  }
  free(v);
}

void mv_pickle_free(mv_pickle *pickle) {
  if (!pickle) return;
  mv_pk_value *v = pickle->values;
  while (v) {
    mv_pk_value *next = v->next_alloc;
    free_value(v);
    v = next;
  }
  free(pickle);
}

static mv_status seq_push(vm *m, mv_pk_value *seq, mv_pk_value *item) {
  if (seq->u.seq.count == seq->u.seq.cap) {
    size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 8;
    mv_pk_value **items = realloc(seq->u.seq.items, cap * sizeof *items);
    if (!items) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
    seq->u.seq.items = items;
    seq->u.seq.cap = cap;
  }
  seq->u.seq.items[seq->u.seq.count++] = item;
  return MV_OK;
}

static mv_status new_string(vm *m, mv_pk_kind kind, const uint8_t *bytes, size_t len,
                            mv_pk_value **out) {
  mv_pk_value *v = NULL;
  MV_TRY(new_value(m, kind, &v));
  v->u.str.s = malloc(len + 1);
  if (!v->u.str.s) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
  if (len) memcpy(v->u.str.s, bytes, len);
  v->u.str.s[len] = '\0';
  v->u.str.len = len;
  *out = v;
  return MV_OK;
}

/* ---- stack -------------------------------------------------------------------- */

static size_t mark_base(const vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static mv_status push(vm *m, mv_pk_value *v) {
  if (m->sp == m->stack_cap) {
    if (m->stack_cap >= MAX_STACK) return vm_fail(m, MV_E_MEMORY, "the pickle stack is too deep");
    size_t cap = m->stack_cap ? m->stack_cap * 2 : 64;
    mv_pk_value **s = realloc(m->stack, cap * sizeof *s);
    if (!s) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
    m->stack = s;
    m->stack_cap = cap;
  }
  m->stack[m->sp++] = v;
  return MV_OK;
}

static mv_status pop(vm *m, mv_pk_value **out) {
  if (m->sp <= mark_base(m)) return vm_fail(m, MV_E_FORMAT, "stack underflow");
  *out = m->stack[--m->sp];
  return MV_OK;
}

static mv_status top(vm *m, mv_pk_value **out) {
  if (m->sp <= mark_base(m)) return vm_fail(m, MV_E_FORMAT, "stack underflow");
  *out = m->stack[m->sp - 1];
  return MV_OK;
}

/* Removes the top mark; its items are stack[*begin .. sp). */
static mv_status pop_mark(vm *m, size_t *begin) {
  if (!m->nmarks) return vm_fail(m, MV_E_FORMAT, "no MARK on the stack");
  *begin = m->marks[--m->nmarks];
  return MV_OK;
}

/* ---- reading operands ---------------------------------------------------------- */

static mv_status take(vm *m, size_t n, const uint8_t **out) {
  if (n > m->size - m->pos) return vm_truncated(m);
  *out = m->data + m->pos;
  m->pos += n;
  return MV_OK;
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static mv_status take_len(vm *m, int width, size_t *len) {
  const uint8_t *p = NULL;
  MV_TRY(take(m, (size_t)width, &p));
  uint64_t v = le(p, width);
  if (width == 4 && (v & 0x80000000u) && (m->op == 'T'))
    return vm_fail(m, MV_E_FORMAT, "negative string length");
  if (v > m->size - m->pos) return vm_truncated(m);
  *len = (size_t)v;
  return MV_OK;
}

/* A text line of GLOBAL ("module\n"), without the newline. */
static mv_status take_line(vm *m, const uint8_t **start, size_t *len) {
  const uint8_t *nl = memchr(m->data + m->pos, '\n', m->size - m->pos);
  if (!nl) return vm_truncated(m);
  *start = m->data + m->pos;
  *len = (size_t)(nl - *start);
  m->pos += *len + 1;
  return MV_OK;
}

/* Little-endian two's complement integer of n bytes (LONG1/LONG4). */
static mv_status push_long(vm *m, const uint8_t *p, size_t n) {
  mv_pk_value *v = NULL;
  if (n > 8) {
    MV_TRY(new_string(m, MV_PK_BIGINT, p, n, &v));
    return push(m, v);
  }
  MV_TRY(new_value(m, MV_PK_INT, &v));
  uint64_t u = n ? le(p, (int)n) : 0;
  if (n && n < 8 && (p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
  v->u.i = (int64_t)u;
  return push(m, v);
}

static mv_status push_int(vm *m, int64_t i, mv_pk_kind kind) {
  mv_pk_value *v = NULL;
  MV_TRY(new_value(m, kind, &v));
  v->u.i = i;
  return push(m, v);
}

/* ---- globals, persistent ids, calls ------------------------------------------- */

static mv_status push_global(vm *m, const uint8_t *mod, size_t mod_len, const uint8_t *name,
                             size_t name_len) {
  for (size_t i = 0; i < sizeof GLOBALS / sizeof GLOBALS[0]; i++) {
    const global_entry *g = &GLOBALS[i];
    if (strlen(g->module) == mod_len && memcmp(g->module, mod, mod_len) == 0 &&
        strlen(g->name) == name_len && memcmp(g->name, name, name_len) == 0) {
      if (g->dtype < 0)
        return mv_fail(MV_E_UNSUPPORTED,
                       "%s: storage type %s at byte %zu: this dtype is not supported", m->name,
                       g->full, m->op_pos);
      mv_pk_value *v = NULL;
      MV_TRY(new_value(m, MV_PK_GLOBAL, &v));
      v->u.global.id = g->id;
      v->u.global.dtype = (mv_dtype)g->dtype;
      v->u.global.name = g->full;
      return push(m, v);
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
static mv_status persistent_load(vm *m, mv_pk_value *pid, mv_pk_value **out) {
  if (pid->kind != MV_PK_TUPLE || pid->u.seq.count < 5 || pid->u.seq.count > 6)
    return vm_fail(m, MV_E_UNSUPPORTED,
                   "persistent id is not a ('storage', type, key, location, numel) tuple");
  mv_pk_value **it = pid->u.seq.items;
  if (it[0]->kind != MV_PK_STR || strcmp(it[0]->u.str.s, "storage") != 0)
    return vm_fail(m, MV_E_UNSUPPORTED, "persistent id is not a 'storage' record");
  if (it[1]->kind != MV_PK_GLOBAL || it[1]->u.global.id != MV_PKG_STORAGE_TYPE)
    return vm_fail(m, MV_E_UNSUPPORTED, "persistent id names no storage type");
  if (it[2]->kind != MV_PK_STR || it[3]->kind != MV_PK_STR)
    return vm_fail(m, MV_E_FORMAT, "storage key or location is not a string");
  int64_t numel;
  if (!as_int(it[4], &numel) || numel < 0)
    return vm_fail(m, MV_E_FORMAT, "storage size is not a non-negative integer");
  mv_pk_value *s = NULL;
  MV_TRY(new_value(m, MV_PK_STORAGE, &s));
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
      return vm_fail(m, MV_E_FORMAT, "storage view metadata is not (key, offset, size) inside "
                                     "its storage");
    s->u.storage->view_offset = off;
    s->u.storage->view_numel = vn;
  }
  *out = s;
  return MV_OK;
}

static mv_status int_tuple(vm *m, const mv_pk_value *t, const char *what, int *n, int64_t *out) {
  char msg[128];
  if (t->kind != MV_PK_TUPLE && t->kind != MV_PK_LIST) {
    snprintf(msg, sizeof msg, "tensor %s is a %s, not a tuple", what, mv_pk_kind_name(t->kind));
    return vm_fail(m, MV_E_FORMAT, msg);
  }
  if (t->u.seq.count > MV_MAX_DIMS) {
    snprintf(msg, sizeof msg, "tensor has %zu dimensions (at most %d supported)", t->u.seq.count,
             (int)MV_MAX_DIMS);
    return vm_fail(m, MV_E_UNSUPPORTED, msg);
  }
  for (size_t i = 0; i < t->u.seq.count; i++) {
    if (!as_int(t->u.seq.items[i], &out[i]) || out[i] < 0) {
      snprintf(msg, sizeof msg, "tensor %s[%zu] is not a non-negative integer", what, i);
      return vm_fail(m, MV_E_FORMAT, msg);
    }
  }
  *n = (int)t->u.seq.count;
  return MV_OK;
}

static mv_status call(vm *m, mv_pk_value *fn, mv_pk_value *args, mv_pk_value **out) {
  if (fn->kind != MV_PK_GLOBAL) {
    char msg[96];
    snprintf(msg, sizeof msg, "cannot call a %s", mv_pk_kind_name(fn->kind));
    return vm_fail(m, MV_E_UNSUPPORTED, msg);
  }
  if (args->kind != MV_PK_TUPLE) return vm_fail(m, MV_E_FORMAT, "call arguments are not a tuple");
  size_t argc = args->u.seq.count;
  mv_pk_value **a = args->u.seq.items;
  switch (fn->u.global.id) {
    case MV_PKG_ORDERED_DICT:
      if (argc != 0)
        return vm_fail(m, MV_E_UNSUPPORTED, "collections.OrderedDict called with arguments");
      return new_value(m, MV_PK_DICT, out);
    case MV_PKG_REBUILD_TENSOR_V2:
    case MV_PKG_REBUILD_TENSOR: {
      int v2 = fn->u.global.id == MV_PKG_REBUILD_TENSOR_V2;
      if (v2 ? (argc < 6 || argc > 7) : argc != 4)
        return vm_fail(m, MV_E_FORMAT,
                       v2 ? "_rebuild_tensor_v2 takes (storage, offset, size, stride, "
                            "requires_grad, hooks[, metadata])"
                          : "_rebuild_tensor takes (storage, offset, size, stride)");
      if (a[0]->kind != MV_PK_STORAGE)
        return vm_fail(m, MV_E_FORMAT, "tensor storage is not a persistent storage reference");
      mv_pk_value *t = NULL;
      MV_TRY(new_value(m, MV_PK_TENSOR, &t));
      t->u.tensor = calloc(1, sizeof *t->u.tensor);
      if (!t->u.tensor) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->name);
      t->u.tensor->storage = a[0];
      if (!as_int(a[1], &t->u.tensor->offset) || t->u.tensor->offset < 0)
        return vm_fail(m, MV_E_FORMAT, "tensor storage offset is not a non-negative integer");
      int nsize = 0, nstride = 0;
      MV_TRY(int_tuple(m, a[2], "size", &nsize, t->u.tensor->size));
      MV_TRY(int_tuple(m, a[3], "stride", &nstride, t->u.tensor->stride));
      if (nsize != nstride) return vm_fail(m, MV_E_FORMAT, "tensor size and stride differ in length");
      t->u.tensor->ndim = nsize;
      *out = t;
      return MV_OK;
    }
    case MV_PKG_REBUILD_PARAMETER:
    case MV_PKG_REBUILD_PARAMETER_STATE:
      if (argc < 3 || argc > 4 || a[0]->kind != MV_PK_TENSOR)
        return vm_fail(m, MV_E_FORMAT, "_rebuild_parameter takes (tensor, requires_grad, hooks)");
      *out = a[0];
      return MV_OK;
    case MV_PKG_STORAGE_TYPE: break;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "calling %s is not supported", fn->u.global.name);
  return vm_fail(m, MV_E_UNSUPPORTED, msg);
}

/* ---- the interpreter ------------------------------------------------------------ */

static mv_status memo_put(vm *m, uint64_t index, mv_pk_value *v) {
  if (index >= MAX_MEMO || index > m->size)
    return vm_fail(m, MV_E_FORMAT, "memo index is implausibly large");
  if (index >= m->memo_cap) {
    size_t cap = m->memo_cap ? m->memo_cap : 64;
    while (cap <= index) cap *= 2;
    mv_pk_value **memo = realloc(m->memo, cap * sizeof *memo);
    if (!memo) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
    memset(memo + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *memo);
    m->memo = memo;
    m->memo_cap = cap;
  }
  if (!m->memo[index]) m->memo_count++;
  m->memo[index] = v;
  return MV_OK;
}

static mv_status memo_get(vm *m, uint64_t index) {
  if (index >= m->memo_cap || !m->memo[index])
    return vm_fail(m, MV_E_FORMAT, "memo slot was never stored");
  return push(m, m->memo[index]);
}

/* Items stack[begin..sp) into a new tuple/list, removing them. */
static mv_status collect(vm *m, size_t begin, mv_pk_kind kind) {
  mv_pk_value *t = NULL;
  MV_TRY(new_value(m, kind, &t));
  for (size_t i = begin; i < m->sp; i++) MV_TRY(seq_push(m, t, m->stack[i]));
  m->sp = begin;
  return push(m, t);
}

static mv_status step(vm *m, int *stop) {
  const uint8_t *p = NULL;
  size_t len = 0;
  mv_pk_value *a = NULL, *b = NULL, *c = NULL, *v = NULL;
  m->op_pos = m->pos;
  MV_TRY(take(m, 1, &p));
  m->op = *p;
  switch (m->op) {
    case 0x80: /* PROTO */
      MV_TRY(take(m, 1, &p));
      if (*p > 5) return vm_fail(m, MV_E_UNSUPPORTED, "pickle protocol above 5");
      return MV_OK;
    case 0x95: /* FRAME: just a length hint */
      return take(m, 8, &p);
    case 'c': { /* GLOBAL module\nname\n */
      const uint8_t *mod, *name;
      size_t mod_len, name_len;
      MV_TRY(take_line(m, &mod, &mod_len));
      MV_TRY(take_line(m, &name, &name_len));
      return push_global(m, mod, mod_len, name, name_len);
    }
    case 0x93: /* STACK_GLOBAL */
      MV_TRY(pop(m, &b));
      MV_TRY(pop(m, &a));
      if (a->kind != MV_PK_STR || b->kind != MV_PK_STR)
        return vm_fail(m, MV_E_FORMAT, "STACK_GLOBAL needs two strings");
      return push_global(m, (const uint8_t *)a->u.str.s, a->u.str.len,
                         (const uint8_t *)b->u.str.s, b->u.str.len);
    case 'X': /* BINUNICODE */
    case 0x8c: /* SHORT_BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
    case 'U': /* SHORT_BINSTRING */
    case 'T': /* BINSTRING */
    case 'B': /* BINBYTES */
    case 'C': /* SHORT_BINBYTES */
    case 0x8e: { /* BINBYTES8 */
      int width = (m->op == 0x8c || m->op == 'U' || m->op == 'C') ? 1
                  : (m->op == 0x8d || m->op == 0x8e)              ? 8
                                                                  : 4;
      MV_TRY(take_len(m, width, &len));
      MV_TRY(take(m, len, &p));
      mv_pk_kind kind = (m->op == 'B' || m->op == 'C' || m->op == 0x8e) ? MV_PK_BYTES : MV_PK_STR;
      MV_TRY(new_string(m, kind, p, len, &v));
      return push(m, v);
    }
    case 'J': /* BININT */
      MV_TRY(take(m, 4, &p));
      return push_int(m, (int32_t)(uint32_t)le(p, 4), MV_PK_INT);
    case 'K': /* BININT1 */
      MV_TRY(take(m, 1, &p));
      return push_int(m, p[0], MV_PK_INT);
    case 'M': /* BININT2 */
      MV_TRY(take(m, 2, &p));
      return push_int(m, (int64_t)le(p, 2), MV_PK_INT);
    case 0x8a: /* LONG1 */
      MV_TRY(take(m, 1, &p));
      len = p[0];
      MV_TRY(take(m, len, &p));
      return push_long(m, p, len);
    case 0x8b: /* LONG4 */
      MV_TRY(take_len(m, 4, &len));
      MV_TRY(take(m, len, &p));
      return push_long(m, p, len);
    case 'G': { /* BINFLOAT: big-endian double */
      MV_TRY(take(m, 8, &p));
      uint64_t bits = 0;
      for (int i = 0; i < 8; i++) bits = bits << 8 | p[i];
      MV_TRY(new_value(m, MV_PK_FLOAT, &v));
      memcpy(&v->u.f, &bits, sizeof bits);
      return push(m, v);
    }
    case 'N': /* NONE */
      MV_TRY(new_value(m, MV_PK_NONE, &v));
      return push(m, v);
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      return push_int(m, m->op == 0x88, MV_PK_BOOL);
    case ')': /* EMPTY_TUPLE */
      return collect(m, m->sp, MV_PK_TUPLE);
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: { /* TUPLE3 */
      size_t n = (size_t)(m->op - 0x84);
      if (m->sp < mark_base(m) + n) return vm_fail(m, MV_E_FORMAT, "stack underflow");
      return collect(m, m->sp - n, MV_PK_TUPLE);
    }
    case 't': /* TUPLE */
    case 'l': { /* LIST */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      return collect(m, begin, m->op == 't' ? MV_PK_TUPLE : MV_PK_LIST);
    }
    case ']': /* EMPTY_LIST */
      MV_TRY(new_value(m, MV_PK_LIST, &v));
      return push(m, v);
    case '}': /* EMPTY_DICT */
      MV_TRY(new_value(m, MV_PK_DICT, &v));
      return push(m, v);
    case 'd': { /* DICT */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      if ((m->sp - begin) % 2) return vm_fail(m, MV_E_FORMAT, "odd number of dict items");
      return collect(m, begin, MV_PK_DICT);
    }
    case 'a': /* APPEND */
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_LIST) return vm_fail(m, MV_E_FORMAT, "APPEND to a non-list");
      return seq_push(m, a, b);
    case 'e': /* APPENDS */
    case 'u': { /* SETITEMS */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      /* the container sits right below the mark */
      if (begin <= mark_base(m)) return vm_fail(m, MV_E_FORMAT, "stack underflow");
      a = m->stack[begin - 1];
      if (m->op == 'e' ? a->kind != MV_PK_LIST : a->kind != MV_PK_DICT)
        return vm_fail(m, MV_E_FORMAT, m->op == 'e' ? "APPENDS to a non-list" : "SETITEMS on a non-dict");
      if (m->op == 'u' && (m->sp - begin) % 2)
        return vm_fail(m, MV_E_FORMAT, "odd number of dict items");
      for (size_t i = begin; i < m->sp; i++) MV_TRY(seq_push(m, a, m->stack[i]));
      m->sp = begin;
      return MV_OK;
    }
    case 's': /* SETITEM */
      MV_TRY(pop(m, &c));
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_DICT) return vm_fail(m, MV_E_FORMAT, "SETITEM on a non-dict");
      MV_TRY(seq_push(m, a, b));
      return seq_push(m, a, c);
    case '(': /* MARK */
      if (m->nmarks == m->marks_cap) {
        if (m->marks_cap >= MAX_MARKS) return vm_fail(m, MV_E_MEMORY, "too many nested MARKs");
        size_t cap = m->marks_cap ? m->marks_cap * 2 : 16;
        size_t *marks = realloc(m->marks, cap * sizeof *marks);
        if (!marks) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
        m->marks = marks;
        m->marks_cap = cap;
      }
      m->marks[m->nmarks++] = m->sp;
      return MV_OK;
    case '0': /* POP */
      return pop(m, &a);
    case '1': { /* POP_MARK */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      m->sp = begin;
      return MV_OK;
    }
    case '2': /* DUP */
      MV_TRY(top(m, &a));
      return push(m, a);
    case 'q': /* BINPUT */
      MV_TRY(take(m, 1, &p));
      MV_TRY(top(m, &a));
      return memo_put(m, p[0], a);
    case 'r': /* LONG_BINPUT */
      MV_TRY(take(m, 4, &p));
      MV_TRY(top(m, &a));
      return memo_put(m, le(p, 4), a);
    case 0x94: /* MEMOIZE: the next index is the number of memo entries so far */
      MV_TRY(top(m, &a));
      return memo_put(m, m->memo_count, a);
    case 'h': /* BINGET */
      MV_TRY(take(m, 1, &p));
      return memo_get(m, p[0]);
    case 'j': /* LONG_BINGET */
      MV_TRY(take(m, 4, &p));
      return memo_get(m, le(p, 4));
    case 'R': /* REDUCE */
      MV_TRY(pop(m, &b));
      MV_TRY(pop(m, &a));
      MV_TRY(call(m, a, b, &v));
      return push(m, v);
    case 0x81: /* NEWOBJ cls(*args) */
      MV_TRY(pop(m, &b));
      MV_TRY(pop(m, &a));
      if (a->kind != MV_PK_GLOBAL || a->u.global.id != MV_PKG_ORDERED_DICT)
        return vm_fail(m, MV_E_UNSUPPORTED, "NEWOBJ of a class other than OrderedDict");
      MV_TRY(call(m, a, b, &v));
      return push(m, v);
    case 'b': /* BUILD: only an OrderedDict's __dict__ (torch's _metadata), ignored */
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_DICT) {
        char msg[96];
        snprintf(msg, sizeof msg, "BUILD on a %s is not supported", mv_pk_kind_name(a->kind));
        return vm_fail(m, MV_E_UNSUPPORTED, msg);
      }
      return MV_OK;
    case 'Q': /* BINPERSID */
      MV_TRY(pop(m, &a));
      MV_TRY(persistent_load(m, a, &v));
      return push(m, v);
    case '.': /* STOP */
      *stop = 1;
      return MV_OK;
    default:
      return mv_fail(MV_E_UNSUPPORTED, "%s: unsupported pickle opcode 0x%02x at byte %zu",
                     m->name, m->op, m->op_pos);
  }
}

mv_status mv_pickle_load(const char *name, const uint8_t *data, size_t size, size_t *consumed,
                         mv_pickle **out, const mv_pk_value **root) {
  MV_CHECK_ARG(out && root, "mv_pickle_load: out or root is NULL");
  *out = NULL;
  *root = NULL;
  MV_CHECK_ARG(data || size == 0, "mv_pickle_load: data is NULL");
  vm m;
  memset(&m, 0, sizeof m);
  m.name = name ? name : "pickle";
  m.data = data;
  m.size = size;
  m.pickle = calloc(1, sizeof *m.pickle);
  if (!m.pickle) return mv_fail(MV_E_MEMORY, "%s: out of memory", m.name);
  mv_status st = MV_OK;
  int stop = 0;
  if (size == 0) st = mv_fail(MV_E_FORMAT, "%s: empty pickle", m.name);
  while (st == MV_OK && !stop) {
    if (m.pos >= m.size) {
      st = mv_fail(MV_E_FORMAT, "%s: pickle data ends at byte %zu without a STOP opcode", m.name,
                   m.pos);
      break;
    }
    st = step(&m, &stop);
  }
  mv_pk_value *result = NULL;
  if (st == MV_OK) {
    if (m.sp != 1 || m.nmarks)
      st = mv_fail(MV_E_FORMAT, "%s: pickle STOP at byte %zu with %zu values and %zu marks left",
                   m.name, m.op_pos, m.sp, m.nmarks);
    else
      result = m.stack[0];
  }
  free(m.stack);
  free(m.marks);
  free(m.memo);
  if (st != MV_OK) {
    mv_pickle_free(m.pickle);
    return st;
  }
  if (consumed) *consumed = m.pos;
  *out = m.pickle;
  *root = result;
  return MV_OK;
}
