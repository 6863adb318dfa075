/* The pickle VM's interpreter (see pickle.h): operands, the stack, marks
 * and memo, the values it allocates, and the opcode loop. What torch's
 * globals and persistent ids mean is in pickle_torch.c. */
#include "weights/pickle_internal.h"

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

/* ---- errors ------------------------------------------------------------------- */

mv_status mv_pk_fail(mv_pk_vm *m, mv_status st, const char *what) {
  return mv_fail(st, "%s: pickle opcode 0x%02x at byte %zu: %s", m->name, m->op, m->op_pos, what);
}

static mv_status vm_truncated(mv_pk_vm *m) {
  return mv_fail(MV_E_FORMAT, "%s: pickle data ends inside opcode 0x%02x at byte %zu", m->name,
                 m->op, m->op_pos);
}

/* ---- values -------------------------------------------------------------------- */

mv_status mv_pk_new_value(mv_pk_vm *m, mv_pk_kind kind, mv_pk_value **out) {
  if (m->pickle->nvalues >= MAX_VALUES)
    return mv_pk_fail(m, MV_E_MEMORY, "the pickle creates too many objects");
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

static mv_status seq_push(mv_pk_vm *m, mv_pk_value *seq, mv_pk_value *item) {
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

static mv_status new_string(mv_pk_vm *m, mv_pk_kind kind, const uint8_t *bytes, size_t len,
                            mv_pk_value **out) {
  mv_pk_value *v = NULL;
  MV_TRY(mv_pk_new_value(m, kind, &v));
  v->u.str.s = malloc(len + 1);
  if (!v->u.str.s) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
  if (len) memcpy(v->u.str.s, bytes, len);
  v->u.str.s[len] = '\0';
  v->u.str.len = len;
  *out = v;
  return MV_OK;
}

/* ---- stack -------------------------------------------------------------------- */

static size_t mark_base(const mv_pk_vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static mv_status push(mv_pk_vm *m, mv_pk_value *v) {
  if (m->sp == m->stack_cap) {
    if (m->stack_cap >= MAX_STACK)
      return mv_pk_fail(m, MV_E_MEMORY, "the pickle stack is too deep");
    size_t cap = m->stack_cap ? m->stack_cap * 2 : 64;
    mv_pk_value **s = realloc(m->stack, cap * sizeof *s);
    if (!s) return mv_fail(MV_E_MEMORY, "%s: out of memory in the pickle VM", m->name);
    m->stack = s;
    m->stack_cap = cap;
  }
  m->stack[m->sp++] = v;
  return MV_OK;
}

static mv_status pop(mv_pk_vm *m, mv_pk_value **out) {
  if (m->sp <= mark_base(m)) return mv_pk_fail(m, MV_E_FORMAT, "stack underflow");
  *out = m->stack[--m->sp];
  return MV_OK;
}

static mv_status top(mv_pk_vm *m, mv_pk_value **out) {
  if (m->sp <= mark_base(m)) return mv_pk_fail(m, MV_E_FORMAT, "stack underflow");
  *out = m->stack[m->sp - 1];
  return MV_OK;
}

/* Removes the top mark; its items are stack[*begin .. sp). */
static mv_status pop_mark(mv_pk_vm *m, size_t *begin) {
  if (!m->nmarks) return mv_pk_fail(m, MV_E_FORMAT, "no MARK on the stack");
  *begin = m->marks[--m->nmarks];
  return MV_OK;
}

/* ---- reading operands ---------------------------------------------------------- */

static mv_status take(mv_pk_vm *m, size_t n, const uint8_t **out) {
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

static mv_status take_len(mv_pk_vm *m, int width, size_t *len) {
  const uint8_t *p = NULL;
  MV_TRY(take(m, (size_t)width, &p));
  uint64_t v = le(p, width);
  if (width == 4 && (v & 0x80000000u) && (m->op == 'T'))
    return mv_pk_fail(m, MV_E_FORMAT, "negative string length");
  if (v > m->size - m->pos) return vm_truncated(m);
  *len = (size_t)v;
  return MV_OK;
}

/* A text line of GLOBAL ("module\n"), without the newline. */
static mv_status take_line(mv_pk_vm *m, const uint8_t **start, size_t *len) {
  const uint8_t *nl = memchr(m->data + m->pos, '\n', m->size - m->pos);
  if (!nl) return vm_truncated(m);
  *start = m->data + m->pos;
  *len = (size_t)(nl - *start);
  m->pos += *len + 1;
  return MV_OK;
}

/* Little-endian two's complement integer of n bytes (LONG1/LONG4). */
static mv_status push_long(mv_pk_vm *m, const uint8_t *p, size_t n) {
  mv_pk_value *v = NULL;
  if (n > 8) {
    MV_TRY(new_string(m, MV_PK_BIGINT, p, n, &v));
    return push(m, v);
  }
  MV_TRY(mv_pk_new_value(m, MV_PK_INT, &v));
  uint64_t u = n ? le(p, (int)n) : 0;
  if (n && n < 8 && (p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
  v->u.i = (int64_t)u;
  return push(m, v);
}

static mv_status push_int(mv_pk_vm *m, int64_t i, mv_pk_kind kind) {
  mv_pk_value *v = NULL;
  MV_TRY(mv_pk_new_value(m, kind, &v));
  v->u.i = i;
  return push(m, v);
}

/* ---- the interpreter ------------------------------------------------------------ */

static mv_status memo_put(mv_pk_vm *m, uint64_t index, mv_pk_value *v) {
  if (index >= MAX_MEMO || index > m->size)
    return mv_pk_fail(m, MV_E_FORMAT, "memo index is implausibly large");
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

static mv_status memo_get(mv_pk_vm *m, uint64_t index) {
  if (index >= m->memo_cap || !m->memo[index])
    return mv_pk_fail(m, MV_E_FORMAT, "memo slot was never stored");
  return push(m, m->memo[index]);
}

/* Items stack[begin..sp) into a new tuple/list, removing them. */
static mv_status collect(mv_pk_vm *m, size_t begin, mv_pk_kind kind) {
  mv_pk_value *t = NULL;
  MV_TRY(mv_pk_new_value(m, kind, &t));
  for (size_t i = begin; i < m->sp; i++) MV_TRY(seq_push(m, t, m->stack[i]));
  m->sp = begin;
  return push(m, t);
}

static mv_status step(mv_pk_vm *m, int *stop) {
  const uint8_t *p = NULL;
  size_t len = 0;
  mv_pk_value *a = NULL, *b = NULL, *c = NULL, *v = NULL;
  m->op_pos = m->pos;
  MV_TRY(take(m, 1, &p));
  m->op = *p;
  switch (m->op) {
    case 0x80: /* PROTO */
      MV_TRY(take(m, 1, &p));
      if (*p > 5) return mv_pk_fail(m, MV_E_UNSUPPORTED, "pickle protocol above 5");
      return MV_OK;
    case 0x95: /* FRAME: just a length hint */
      return take(m, 8, &p);
    case 'c': { /* GLOBAL module\nname\n */
      const uint8_t *mod, *name;
      size_t mod_len, name_len;
      MV_TRY(take_line(m, &mod, &mod_len));
      MV_TRY(take_line(m, &name, &name_len));
      MV_TRY(mv_pk_global(m, mod, mod_len, name, name_len, &v));
      return push(m, v);
    }
    case 0x93: /* STACK_GLOBAL */
      MV_TRY(pop(m, &b));
      MV_TRY(pop(m, &a));
      if (a->kind != MV_PK_STR || b->kind != MV_PK_STR)
        return mv_pk_fail(m, MV_E_FORMAT, "STACK_GLOBAL needs two strings");
      MV_TRY(mv_pk_global(m, (const uint8_t *)a->u.str.s, a->u.str.len,
                          (const uint8_t *)b->u.str.s, b->u.str.len, &v));
      return push(m, v);
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
      MV_TRY(mv_pk_new_value(m, MV_PK_FLOAT, &v));
      memcpy(&v->u.f, &bits, sizeof bits);
      return push(m, v);
    }
    case 'N': /* NONE */
      MV_TRY(mv_pk_new_value(m, MV_PK_NONE, &v));
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
      if (m->sp < mark_base(m) + n) return mv_pk_fail(m, MV_E_FORMAT, "stack underflow");
      return collect(m, m->sp - n, MV_PK_TUPLE);
    }
    case 't': /* TUPLE */
    case 'l': { /* LIST */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      return collect(m, begin, m->op == 't' ? MV_PK_TUPLE : MV_PK_LIST);
    }
    case ']': /* EMPTY_LIST */
      MV_TRY(mv_pk_new_value(m, MV_PK_LIST, &v));
      return push(m, v);
    case '}': /* EMPTY_DICT */
      MV_TRY(mv_pk_new_value(m, MV_PK_DICT, &v));
      return push(m, v);
    case 'd': { /* DICT */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      if ((m->sp - begin) % 2) return mv_pk_fail(m, MV_E_FORMAT, "odd number of dict items");
      return collect(m, begin, MV_PK_DICT);
    }
    case 'a': /* APPEND */
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_LIST) return mv_pk_fail(m, MV_E_FORMAT, "APPEND to a non-list");
      return seq_push(m, a, b);
    case 'e': /* APPENDS */
    case 'u': { /* SETITEMS */
      size_t begin = 0;
      MV_TRY(pop_mark(m, &begin));
      /* the container sits right below the mark */
      if (begin <= mark_base(m)) return mv_pk_fail(m, MV_E_FORMAT, "stack underflow");
      a = m->stack[begin - 1];
      if (m->op == 'e' ? a->kind != MV_PK_LIST : a->kind != MV_PK_DICT)
        return mv_pk_fail(m, MV_E_FORMAT,
                          m->op == 'e' ? "APPENDS to a non-list" : "SETITEMS on a non-dict");
      if (m->op == 'u' && (m->sp - begin) % 2)
        return mv_pk_fail(m, MV_E_FORMAT, "odd number of dict items");
      for (size_t i = begin; i < m->sp; i++) MV_TRY(seq_push(m, a, m->stack[i]));
      m->sp = begin;
      return MV_OK;
    }
    case 's': /* SETITEM */
      MV_TRY(pop(m, &c));
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_DICT) return mv_pk_fail(m, MV_E_FORMAT, "SETITEM on a non-dict");
      MV_TRY(seq_push(m, a, b));
      return seq_push(m, a, c);
    case '(': /* MARK */
      if (m->nmarks == m->marks_cap) {
        if (m->marks_cap >= MAX_MARKS) return mv_pk_fail(m, MV_E_MEMORY, "too many nested MARKs");
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
      MV_TRY(mv_pk_call(m, a, b, &v));
      return push(m, v);
    case 0x81: /* NEWOBJ cls(*args) */
      MV_TRY(pop(m, &b));
      MV_TRY(pop(m, &a));
      if (a->kind != MV_PK_GLOBAL || a->u.global.id != MV_PKG_ORDERED_DICT)
        return mv_pk_fail(m, MV_E_UNSUPPORTED, "NEWOBJ of a class other than OrderedDict");
      MV_TRY(mv_pk_call(m, a, b, &v));
      return push(m, v);
    case 'b': /* BUILD: only an OrderedDict's __dict__ (torch's _metadata), ignored */
      MV_TRY(pop(m, &b));
      MV_TRY(top(m, &a));
      if (a->kind != MV_PK_DICT) {
        char msg[96];
        snprintf(msg, sizeof msg, "BUILD on a %s is not supported", mv_pk_kind_name(a->kind));
        return mv_pk_fail(m, MV_E_UNSUPPORTED, msg);
      }
      return MV_OK;
    case 'Q': /* BINPERSID */
      MV_TRY(pop(m, &a));
      MV_TRY(mv_pk_persistent_load(m, a, &v));
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
  mv_pk_vm m;
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
