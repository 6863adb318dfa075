/* Building .pth files for the checkpoint tests (see checkpoint_files.h). */
#include "checkpoint_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"

/* Test tables use positional initializers that leave trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- byte buffers ---------------------------------------------------------------- */

void put(buf *b, const void *data, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    b->p = realloc(b->p, cap);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
}
void put8(buf *b, uint8_t v) { put(b, &v, 1); }
void put_le(buf *b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) put8(b, (uint8_t)(v >> (8 * i)));
}
void buf_free(buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ---- pickle assembly ---------------------------------------------------------------- */

void pk_str(buf *b, const char *s, int style) {
  size_t n = strlen(s);
  if (style == STYLE_PROTO4 && n < 256) {
    put8(b, 0x8c);
    put8(b, (uint8_t)n);
  } else {
    put8(b, 'X');
    put_le(b, n, 4);
  }
  put(b, s, n);
}

void pk_int(buf *b, int64_t v) {
  if (v >= 0 && v < 256) {
    put8(b, 'K');
    put8(b, (uint8_t)v);
  } else if (v >= 0 && v < 65536) {
    put8(b, 'M');
    put_le(b, (uint64_t)v, 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    put8(b, 'J');
    put_le(b, (uint64_t)v, 4);
  } else {
    put8(b, 0x8a);
    put8(b, 8);
    put_le(b, (uint64_t)v, 8);
  }
}

void pk_global(buf *b, const char *mod, const char *name, int style) {
  if (style == STYLE_PROTO4) {
    pk_str(b, mod, style);
    pk_str(b, name, style);
    put8(b, 0x93); /* STACK_GLOBAL */
    put8(b, 0x94); /* MEMOIZE */
  } else {
    put8(b, 'c');
    put(b, mod, strlen(mod));
    put8(b, '\n');
    put(b, name, strlen(name));
    put8(b, '\n');
  }
}

void pk_ordered_dict(buf *b, int style) {
  pk_global(b, "collections", "OrderedDict", style);
  put8(b, ')');
  put8(b, 'R');
}

static void pk_tuple_ints(buf *b, int n, const int64_t *v) {
  put8(b, '(');
  for (int i = 0; i < n; i++) pk_int(b, v[i]);
  put8(b, 't');
}

static void pk_tensor(buf *b, const tspec *t, int style, int legacy) {
  if (t->parameter) pk_global(b, "torch._utils", "_rebuild_parameter", style);
  pk_global(b, "torch._utils", "_rebuild_tensor_v2", style);
  put8(b, '(');
  /* persistent id */
  put8(b, '(');
  pk_str(b, "storage", style);
  pk_global(b, "torch", t->storage_type, style);
  pk_str(b, t->storage_key, style);
  pk_str(b, "cpu", style);
  pk_int(b, t->storage_numel);
  if (legacy) {
    if (t->view_key) {
      pk_str(b, t->view_key, style);
      pk_int(b, t->view_offset);
      pk_int(b, t->view_numel);
      put8(b, 0x87); /* TUPLE3 */
    } else {
      put8(b, 'N');
    }
  }
  put8(b, 't');
  put8(b, 'Q'); /* BINPERSID */
  pk_int(b, t->offset);
  pk_tuple_ints(b, t->ndim, t->size);
  pk_tuple_ints(b, t->ndim, t->stride);
  put8(b, 0x89); /* requires_grad False */
  pk_ordered_dict(b, style);
  put8(b, 't');
  put8(b, 'R');
  if (t->parameter) {
    put8(b, 0x88);
    pk_ordered_dict(b, style);
    put8(b, 0x87);
    put8(b, 'R');
  }
}

void pk_state_dict(buf *b, const tspec *t, int n, int style, int legacy) {
  put8(b, 0x80);
  put8(b, (uint8_t)style);
  if (style == STYLE_PROTO4) {
    put8(b, 0x95); /* FRAME with a length hint */
    put_le(b, 0, 8);
  }
  pk_ordered_dict(b, style);
  put8(b, 'q'); /* BINPUT 0 */
  put8(b, 0);
  put8(b, '(');
  for (int i = 0; i < n; i++) {
    pk_str(b, t[i].key, style);
    pk_tensor(b, &t[i], style, legacy);
    if (style == STYLE_PROTO4) put8(b, 0x94);
  }
  put8(b, 'u');
  /* state: {'_metadata': OrderedDict({'': {'version': 1}})} */
  put8(b, '}');
  pk_str(b, "_metadata", style);
  pk_ordered_dict(b, style);
  pk_str(b, "", style);
  put8(b, '}');
  pk_str(b, "version", style);
  pk_int(b, 1);
  put8(b, 's');
  put8(b, 's');
  put8(b, 's');
  put8(b, 'b');
  put8(b, '.');
}

/* ---- zip assembly ------------------------------------------------------------------- */

void zip_build(buf *z, const zentry *e, int n, int zip64, const char *comment) {
  uint64_t *offsets = calloc((size_t)n, sizeof *offsets);
  buf *comp = calloc((size_t)n, sizeof *comp);
  uint32_t *crcs = calloc((size_t)n, sizeof *crcs);
  for (int i = 0; i < n; i++) {
    crcs[i] = (uint32_t)crc32(0L, e[i].data, (uInt)e[i].len);
    if (e[i].deflate) {
      uLong cap = compressBound((uLong)e[i].len) + 64;
      uint8_t *out = malloc(cap);
      z_stream s;
      memset(&s, 0, sizeof s);
      deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      s.next_in = (Bytef *)e[i].data;
      s.avail_in = (uInt)e[i].len;
      s.next_out = out;
      s.avail_out = (uInt)cap;
      deflate(&s, Z_FINISH);
      put(&comp[i], out, s.total_out);
      deflateEnd(&s);
      free(out);
    } else {
      put(&comp[i], e[i].data, e[i].len);
    }
  }
  for (int i = 0; i < n; i++) {
    size_t nl = strlen(e[i].name);
    offsets[i] = z->n;
    put_le(z, 0x04034b50, 4);
    put_le(z, zip64 ? 45 : 20, 2);
    put_le(z, 0, 2);
    put_le(z, e[i].deflate ? 8 : 0, 2);
    put_le(z, 0, 4); /* time, date */
    put_le(z, crcs[i], 4);
    put_le(z, zip64 ? 0xffffffffu : comp[i].n, 4);
    put_le(z, zip64 ? 0xffffffffu : e[i].len, 4);
    put_le(z, nl, 2);
    put_le(z, zip64 ? 20 : 0, 2);
    put(z, e[i].name, nl);
    if (zip64) {
      put_le(z, 1, 2);
      put_le(z, 16, 2);
      put_le(z, e[i].len, 8);
      put_le(z, comp[i].n, 8);
    }
    put(z, comp[i].p, comp[i].n);
  }
  uint64_t cd_start = z->n;
  for (int i = 0; i < n; i++) {
    size_t nl = strlen(e[i].name);
    put_le(z, 0x02014b50, 4);
    put_le(z, 45, 2);
    put_le(z, zip64 ? 45 : 20, 2);
    put_le(z, 0, 2);
    put_le(z, e[i].deflate ? 8 : 0, 2);
    put_le(z, 0, 4);
    put_le(z, crcs[i], 4);
    put_le(z, zip64 ? 0xffffffffu : comp[i].n, 4);
    put_le(z, zip64 ? 0xffffffffu : e[i].len, 4);
    put_le(z, nl, 2);
    put_le(z, zip64 ? 28 : 0, 2);
    put_le(z, 0, 2); /* comment */
    put_le(z, 0, 2); /* disk */
    put_le(z, 0, 2);
    put_le(z, 0, 4);
    put_le(z, zip64 ? 0xffffffffu : offsets[i], 4);
    put(z, e[i].name, nl);
    if (zip64) {
      put_le(z, 1, 2);
      put_le(z, 24, 2);
      put_le(z, e[i].len, 8);
      put_le(z, comp[i].n, 8);
      put_le(z, offsets[i], 8);
    }
  }
  uint64_t cd_size = z->n - cd_start;
  if (zip64) {
    uint64_t eocd64 = z->n;
    put_le(z, 0x06064b50, 4);
    put_le(z, 44, 8);
    put_le(z, 45, 2);
    put_le(z, 45, 2);
    put_le(z, 0, 4);
    put_le(z, 0, 4);
    put_le(z, (uint64_t)n, 8);
    put_le(z, (uint64_t)n, 8);
    put_le(z, cd_size, 8);
    put_le(z, cd_start, 8);
    put_le(z, 0x07064b50, 4);
    put_le(z, 0, 4);
    put_le(z, eocd64, 8);
    put_le(z, 1, 4);
  }
  size_t cl = comment ? strlen(comment) : 0;
  put_le(z, 0x06054b50, 4);
  put_le(z, 0, 2);
  put_le(z, 0, 2);
  put_le(z, zip64 ? 0xffff : (uint64_t)n, 2);
  put_le(z, zip64 ? 0xffff : (uint64_t)n, 2);
  put_le(z, zip64 ? 0xffffffffu : cd_size, 4);
  put_le(z, zip64 ? 0xffffffffu : cd_start, 4);
  put_le(z, cl, 2);
  put(z, comment, cl);
  for (int i = 0; i < n; i++) buf_free(&comp[i]);
  free(comp);
  free(crcs);
  free(offsets);
}

const char *write_buf(const char *name, const buf *b) {
  const char *path = mv_test_temp_path(name);
  mv_test_write_file(path, b->p, b->n);
  return path;
}

const char *make_zip(const char *file, const char *prefix, const buf *pickle, const sdata *s,
                     int ns, int zip64, const char *comment) {
  zentry e[16];
  char names[16][128];
  int n = 0;
  snprintf(names[n], sizeof names[n], "%s/data.pkl", prefix);
  e[n] = (zentry){names[n], pickle->p, pickle->n, 0};
  n++;
  for (int i = 0; i < ns; i++, n++) {
    snprintf(names[n], sizeof names[n], "%s/data/%s", prefix, s[i].key);
    e[n] = (zentry){names[n], s[i].data, s[i].len, s[i].deflate};
  }
  snprintf(names[n], sizeof names[n], "%s/version", prefix);
  e[n] = (zentry){names[n], "3\n", 2, 0};
  n++;
  buf z = {0};
  zip_build(&z, e, n, zip64, comment);
  const char *path = write_buf(file, &z);
  buf_free(&z);
  return path;
}

void expect_open_error(const char *path, mv_status status, const char *needle, const char *what) {
  mv_checkpoint *c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_open(path, &c), status);
  CHECK(c == NULL, "%s: no checkpoint on failure", what);
  CHECK(!needle || strstr(mv_error_message(), needle) != NULL, "%s: message has '%s': %s", what,
        needle ? needle : "", mv_error_message());
  if (c != (mv_checkpoint *)1) mv_checkpoint_close(c);
}

/* ---- the good checkpoint ------------------------------------------------------------- */

float F32[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
const uint16_t F16[4] = {0x3e00, 0xc000, 0x7bff, 0x0001}; /* 1.5 -2 65504 2^-24 */
const double F64[5] = {0.5, 1.25, -3, 1e-3, 7};
const int64_t I64[1] = {42};
const int32_t I32[2] = {-7, 123456};
const int16_t I16[2] = {-300, 300};
const uint8_t U8[3] = {0, 128, 255};
const uint8_t B8[2] = {1, 0};

int good_specs(tspec *t) {
  int n = 0;
  t[n++] = T("a", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1});
  t[n++] = T("b.transposed", "FloatStorage", "0", 12, 0, 2, {4, 3}, {1, 4});
  t[n++] = T("f.strided", "FloatStorage", "0", 12, 1, 1, {2}, {5});
  t[n++] = T("p.param", "FloatStorage", "0", 12, 5, 2, {2, 2}, {4, 1}, 1);
  t[n++] = T("h.half", "HalfStorage", "1", 4, 0, 1, {4}, {1});
  t[n++] = T("d.double", "DoubleStorage", "2", 5, 1, 2, {2, 2}, {2, 1});
  t[n++] = T("n.num_batches_tracked", "LongStorage", "3", 1, 0, 0, {0}, {0});
  t[n++] = T("i32", "IntStorage", "4", 2, 0, 1, {2}, {1});
  t[n++] = T("i16", "ShortStorage", "5", 2, 0, 1, {2}, {1});
  t[n++] = T("u8", "ByteStorage", "6", 3, 0, 1, {3}, {1});
  t[n++] = T("b8", "BoolStorage", "7", 2, 0, 1, {2}, {1});
  t[n++] = T("e.empty", "FloatStorage", "8", 0, 0, 2, {0, 3}, {3, 1});
  t[n++] = T("bcast", "FloatStorage", "0", 12, 2, 2, {2, 3}, {0, 1}); /* stride 0 = expand */
  return n;
}

int good_storages(sdata *s, int deflate_double) {
  int n = 0;
  s[n++] = (sdata){"0", F32, sizeof F32, 0};
  s[n++] = (sdata){"1", F16, sizeof F16, 0};
  s[n++] = (sdata){"2", F64, sizeof F64, deflate_double};
  s[n++] = (sdata){"3", I64, sizeof I64, 0};
  s[n++] = (sdata){"4", I32, sizeof I32, 1};
  s[n++] = (sdata){"5", I16, sizeof I16, 0};
  s[n++] = (sdata){"6", U8, sizeof U8, 0};
  s[n++] = (sdata){"7", B8, sizeof B8, 0};
  s[n++] = (sdata){"8", "", 0, 1};
  return n;
}
