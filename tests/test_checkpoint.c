/* Checkpoint loading: the real fusion_hashinit.pth against HASHINIT, manifest
 * checks, and hand-assembled zips/pickles/legacy files covering every format
 * feature and every kind of damage (all under ASan in the _asan variant). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "weights/checkpoint.h"
#include "weights/manifest.h"
#include "testutil.h"

/* Test tables use positional initializers that leave trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- byte buffers ---------------------------------------------------------------- */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    b->p = realloc(b->p, cap);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
}
static void put8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_le(buf *b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) put8(b, (uint8_t)(v >> (8 * i)));
}
static void buf_free(buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ---- pickle assembly ---------------------------------------------------------------- */

enum { STYLE_PROTO2 = 2, STYLE_PROTO4 = 4 };

static void pk_str(buf *b, const char *s, int style) {
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

static void pk_int(buf *b, int64_t v) {
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

static void pk_global(buf *b, const char *mod, const char *name, int style) {
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

static void pk_ordered_dict(buf *b, int style) {
  pk_global(b, "collections", "OrderedDict", style);
  put8(b, ')');
  put8(b, 'R');
}

typedef struct tspec {
  const char *key;
  const char *storage_type; /* "FloatStorage" */
  const char *storage_key;
  int64_t storage_numel, offset;
  int ndim;
  int64_t size[9], stride[9];
  int parameter; /* wrapped in _rebuild_parameter */
  /* legacy only: a view of the storage */
  const char *view_key;
  int64_t view_offset, view_numel;
} tspec;

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

/* A torch-like state_dict pickle: OrderedDict, SETITEMS, BUILD with _metadata. */
static void pk_state_dict(buf *b, const tspec *t, int n, int style, int legacy) {
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

typedef struct zentry {
  const char *name;
  const void *data;
  size_t len;
  int deflate;
} zentry;

static void zip_build(buf *z, const zentry *e, int n, int zip64, const char *comment) {
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

static const char *write_buf(const char *name, const buf *b) {
  const char *path = mv_test_temp_path(name);
  mv_test_write_file(path, b->p, b->n);
  return path;
}

/* A checkpoint zip: <prefix>/data.pkl, <prefix>/data/<key> for each storage given. */
typedef struct sdata {
  const char *key;
  const void *data;
  size_t len;
  int deflate;
} sdata;

static const char *make_zip(const char *file, const char *prefix, const buf *pickle,
                            const sdata *s, int ns, int zip64, const char *comment) {
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

static void expect_open_error(const char *path, mv_status status, const char *needle,
                              const char *what) {
  mv_checkpoint *c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_open(path, &c), status);
  CHECK(c == NULL, "%s: no checkpoint on failure", what);
  CHECK(!needle || strstr(mv_error_message(), needle) != NULL, "%s: message has '%s': %s", what,
        needle ? needle : "", mv_error_message());
  if (c != (mv_checkpoint *)1) mv_checkpoint_close(c);
}

/* ---- the real fixture ------------------------------------------------------------------ */

static void check_fixture(void) {
  const char *path = mv_shared_path("fixtures/golden/fusion_hashinit.pth");
  const char *tsv = mv_shared_path("spec/checkpoints/fusion.tsv");
  mv_manifest *m = NULL;
  mv_checkpoint *c = NULL;
  if (!CHECK_OK(mv_manifest_read(tsv, &m))) return;
  if (CHECK_OK(mv_checkpoint_open(path, &c))) {
    CHECK(mv_checkpoint_count(c) == 12, "fusion_hashinit.pth has 12 keys (%d)",
          mv_checkpoint_count(c));
    int64_t total = 0, identical = 0;
    for (int i = 0; i < m->count; i++) {
      const mv_manifest_entry *e = &m->entries[i];
      CHECK(mv_checkpoint_key(c, i) && strcmp(mv_checkpoint_key(c, i), e->key) == 0,
            "key %d is %s", i, e->key);
      mv_array *a = NULL;
      if (!CHECK_OK(mv_checkpoint_get_float32(c, e->key, e->ndim, e->shape, &a))) continue;
      float *want = malloc((size_t)e->numel * sizeof *want);
      CHECK_OK(mv_hashinit_fill("", e->key, e->ndim, e->shape, want));
      for (int64_t j = 0; j < e->numel; j++)
        identical += memcmp(&want[j], (float *)a->data + j, sizeof(float)) == 0;
      total += e->numel;
      free(want);
      mv_array_free(a);
      /* mv_checkpoint_get gives the same bytes as stored */
      if (CHECK_OK(mv_checkpoint_get(c, e->key, &a)))
        CHECK(a->dtype == MV_FLOAT32 && a->ndim == e->ndim, "%s stored as float32", e->key);
      mv_array_free(a);
    }
    CHECK(total == 39905 && identical == 39905, "%lld of %lld values bit-identical (want 39905)",
          (long long)identical, (long long)total);

    CHECK_OK(mv_checkpoint_check(c, tsv));
    CHECK_FAILS(mv_checkpoint_check(c, mv_shared_path("spec/checkpoints/propagation_model.tsv")),
                MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'mask_rgb_encoder.conv1.weight'") != NULL,
          "propagation manifest: message names a missing key: %.300s", mv_error_message());
    CHECK(strstr(mv_error_message(), "more") != NULL, "a long problem list is abbreviated");

    /* A manifest with one renamed key, one other shape, one other dtype. */
    char text[4096];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "# edited\nkey\tdtype\tshape\tnumel\n");
    for (int i = 0; i < m->count; i++) {
      const mv_manifest_entry *e = &m->entries[i];
      char shape[64];
      int sl = 0;
      shape[0] = '\0';
      for (int d = 0; d < e->ndim; d++)
        sl += snprintf(shape + sl, sizeof shape - (size_t)sl, d ? ",%lld" : "%lld",
                       (long long)e->shape[d]);
      if (strcmp(e->key, "conv2.0.bias") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "conv2.0.bias_renamed\tfloat32\t32\t32\n");
      else if (strcmp(e->key, "conv1.0.weight") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "conv1.0.weight\tfloat32\t32,3,3,3\t864\n");
      else if (strcmp(e->key, "final_conv.bias") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "final_conv.bias\tint64\t1\t1\n");
      else
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\t%s\t%s\t%lld\n", e->key,
                              mv_dtype_name(e->dtype), shape, (long long)e->numel);
    }
    const char *edited = mv_test_temp_path("edited.tsv");
    mv_test_write_file(edited, text, n);
    CHECK_FAILS(mv_checkpoint_check(c, edited), MV_E_MISMATCH);
    const char *msg = mv_error_message();
    CHECK(strstr(msg, "4 problems") != NULL, "4 problems: %s", msg);
    CHECK(strstr(msg, "missing key 'conv2.0.bias_renamed'") != NULL, "missing key named");
    CHECK(strstr(msg, "unexpected key 'conv2.0.bias' (float32 32)") != NULL,
          "unexpected key named with its shape");
    CHECK(strstr(msg, "key 'conv1.0.weight' has shape 32x9x3x3, expected 32x3x3x3") != NULL,
          "shape mismatch names both shapes");
    CHECK(strstr(msg, "key 'final_conv.bias' has dtype float32, expected int64") != NULL,
          "dtype mismatch named");

    /* get_float32 with the wrong shape / a missing key / NULL arguments. */
    mv_array *a = (mv_array *)1;
    int64_t wrong[4] = {32, 3, 3, 3};
    CHECK_FAILS(mv_checkpoint_get_float32(c, "conv1.0.weight", 4, wrong, &a), MV_E_MISMATCH);
    CHECK(a == NULL, "no array on failure");
    CHECK(strstr(mv_error_message(), "key 'conv1.0.weight' has shape 32x9x3x3, expected "
                                     "32x3x3x3") != NULL,
          "shape message: %s", mv_error_message());
    CHECK(strstr(mv_error_message(), "fusion_hashinit.pth") != NULL, "names the file");
    CHECK_FAILS(mv_checkpoint_get_float32(c, "conv1.0.weight", 3, wrong, &a), MV_E_MISMATCH);
    CHECK_FAILS(mv_checkpoint_get_float32(c, "nope.weight", 1, wrong, &a), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'nope.weight'") != NULL, "missing: %s",
          mv_error_message());
    CHECK_FAILS(mv_checkpoint_get(c, "nope.weight", &a), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'nope.weight'") != NULL, "missing: %s",
          mv_error_message());
    CHECK_FAILS(mv_checkpoint_get(c, NULL, &a), MV_E_ARGUMENT);
    CHECK_FAILS(mv_checkpoint_get(NULL, "x", &a), MV_E_ARGUMENT);
    CHECK_FAILS(mv_checkpoint_check(c, mv_test_temp_path("no_manifest.tsv")), MV_E_IO);
  }
  mv_checkpoint_close(c);
  mv_manifest_free(m);
}

/* Truncations, garbage, corruptions of the real file: errors, never crashes. */
static void check_damaged_fixture(void) {
  FILE *f = fopen(mv_shared_path("fixtures/golden/fusion_hashinit.pth"), "rb");
  CHECK(f != NULL, "fixture readable");
  if (!f) return;
  buf file = {0};
  uint8_t chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) put(&file, chunk, got);
  fclose(f);
  size_t cuts[] = {1, 4, 21, 22, 100, 1000, file.n / 2, file.n - 100, file.n - 23, file.n - 22,
                   file.n - 21, file.n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    buf cut = {0};
    put(&cut, file.p, cuts[i]);
    char what[64];
    snprintf(what, sizeof what, "cut at %zu", cuts[i]);
    expect_open_error(write_buf("cut.pth", &cut), MV_E_FORMAT, "cut.pth", what);
    buf_free(&cut);
  }
  const char *empty = mv_test_temp_path("empty.pth");
  mv_test_write_file(empty, "", 0);
  expect_open_error(empty, MV_E_FORMAT, "empty", "empty file");
  buf text = {0};
  const char *hello = "this is a text file, not a checkpoint\n";
  put(&text, hello, strlen(hello));
  expect_open_error(write_buf("text.pth", &text), MV_E_FORMAT, "not a zip", "text file");
  buf_free(&text);
  expect_open_error(mv_test_temp_path("missing.pth"), MV_E_IO, "missing.pth", "missing file");
  expect_open_error(mv_test_temp_path(""), MV_E_IO, NULL, "a folder");

  /* A flipped byte inside a stored tensor: open works, reading it fails the CRC. */
  buf bad = {0};
  put(&bad, file.p, file.n);
  const char *needle = "fusion_hashinit/data/0";
  uint8_t *at = NULL;
  for (size_t i = 0; i + strlen(needle) < bad.n; i++)
    if (memcmp(bad.p + i, needle, strlen(needle)) == 0 && bad.p[i + strlen(needle)] != '/') {
      at = bad.p + i;
      break; /* the first occurrence is the local header */
    }
  CHECK(at != NULL, "found the local header of data/0");
  if (at) {
    at[strlen(needle) + 200] ^= 0x40; /* well inside the 10368 data bytes (after a short extra) */
    mv_checkpoint *c = NULL;
    if (CHECK_OK(mv_checkpoint_open(write_buf("crc.pth", &bad), &c))) {
      mv_array *a = NULL;
      CHECK_FAILS(mv_checkpoint_get(c, "conv1.0.weight", &a), MV_E_FORMAT);
      CHECK(strstr(mv_error_message(), "CRC") && strstr(mv_error_message(), "conv1.0.weight"),
            "CRC failure names the key and says CRC: %s", mv_error_message());
      CHECK(a == NULL, "no array");
      mv_array *b = NULL;
      CHECK_OK(mv_checkpoint_get(c, "conv1.0.bias", &b));
      mv_array_free(b);
    }
    mv_checkpoint_close(c);
  }
  buf_free(&bad);

  /* Deterministic byte flips over the whole file: any status, never a crash or leak. */
  uint64_t state = 12345;
  int opened = 0;
  for (int trial = 0; trial < 400; trial++) {
    buf fz = {0};
    put(&fz, file.p, file.n);
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    size_t pos = (size_t)(state >> 33) % fz.n;
    /* bias half of the trials towards the pickle and the directory, where damage matters */
    if (trial % 2) pos = trial % 4 == 1 ? 64 + pos % 1400 : fz.n - 1 - pos % 2200;
    fz.p[pos] ^= (uint8_t)(1u << (trial % 8));
    mv_checkpoint *c = NULL;
    if (mv_checkpoint_open(write_buf("fuzz.pth", &fz), &c) == MV_OK) {
      opened++;
      for (int i = 0; i < mv_checkpoint_count(c); i++) {
        mv_array *a = NULL;
        mv_checkpoint_get(c, mv_checkpoint_key(c, i), &a);
        mv_array_free(a);
      }
      mv_checkpoint_close(c);
    } else {
      CHECK(mv_error_message()[0] != '\0', "fuzz trial %d: failure has a message", trial);
    }
    buf_free(&fz);
  }
  CHECK(opened > 0 && opened < 400, "fuzz: %d of 400 damaged files still open", opened);
  buf_free(&file);
}

/* ---- hand-assembled checkpoints ------------------------------------------------------- */

static float F32[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint16_t F16[4] = {0x3e00, 0xc000, 0x7bff, 0x0001}; /* 1.5 -2 65504 2^-24 */
static const double F64[5] = {0.5, 1.25, -3, 1e-3, 7};
static const int64_t I64[1] = {42};
static const int32_t I32[2] = {-7, 123456};
static const int16_t I16[2] = {-300, 300};
static const uint8_t U8[3] = {0, 128, 255};
static const uint8_t B8[2] = {1, 0};

#define T(...) ((tspec){__VA_ARGS__})

static int good_specs(tspec *t) {
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

static int good_storages(sdata *s, int deflate_double) {
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

static int floats_are(const mv_array *a, const float *want, int n) {
  if (!a || a->dtype != MV_FLOAT32 || mv_array_numel(a) != n) return 0;
  return memcmp(a->data, want, (size_t)n * sizeof(float)) == 0;
}

static void check_good(const char *path, int count, const char *what) {
  mv_checkpoint *c = NULL;
  if (!CHECK_OK(mv_checkpoint_open(path, &c))) return;
  tspec t[16];
  int n = good_specs(t);
  CHECK(mv_checkpoint_count(c) == count && count == n, "%s: %d keys", what,
        mv_checkpoint_count(c));
  int order = 1;
  for (int i = 0; i < n; i++) order &= strcmp(mv_checkpoint_key(c, i), t[i].key) == 0;
  CHECK(order, "%s: state_dict order", what);
  mv_array *a = NULL;
  CHECK_OK(mv_checkpoint_get(c, "a", &a));
  CHECK(floats_are(a, F32, 12) && a->ndim == 2 && a->shape[0] == 3, "%s: contiguous", what);
  mv_array_free(a);
  const float bt[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  CHECK_OK(mv_checkpoint_get(c, "b.transposed", &a));
  CHECK(floats_are(a, bt, 12), "%s: transposed view materialised in C order", what);
  mv_array_free(a);
  const float fs[2] = {1, 6};
  CHECK_OK(mv_checkpoint_get(c, "f.strided", &a));
  CHECK(floats_are(a, fs, 2), "%s: strided view with an offset", what);
  mv_array_free(a);
  const float pp[4] = {5, 6, 9, 10};
  int64_t s22[2] = {2, 2};
  CHECK_OK(mv_checkpoint_get_float32(c, "p.param", 2, s22, &a));
  CHECK(floats_are(a, pp, 4), "%s: _rebuild_parameter, window of a shared storage", what);
  mv_array_free(a);
  const float bc[6] = {2, 3, 4, 2, 3, 4};
  CHECK_OK(mv_checkpoint_get(c, "bcast", &a));
  CHECK(floats_are(a, bc, 6), "%s: stride-0 (expanded) view", what);
  mv_array_free(a);
  const float hf[4] = {1.5f, -2.0f, 65504.0f, 0x1p-24f};
  int64_t s4[1] = {4};
  CHECK_OK(mv_checkpoint_get(c, "h.half", &a));
  CHECK(a && a->dtype == MV_FLOAT16, "%s: float16 kept as stored", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get_float32(c, "h.half", 1, s4, &a));
  CHECK(floats_are(a, hf, 4), "%s: float16 -> float32 incl. max and subnormal", what);
  mv_array_free(a);
  const float df[4] = {1.25f, -3.0f, 1e-3f, 7.0f};
  CHECK_OK(mv_checkpoint_get_float32(c, "d.double", 2, s22, &a));
  CHECK(floats_are(a, df, 4), "%s: float64 (deflated) -> float32", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "n.num_batches_tracked", &a));
  CHECK(a && a->dtype == MV_INT64 && a->ndim == 0 && ((int64_t *)a->data)[0] == 42,
        "%s: int64 scalar", what);
  mv_array_free(a);
  CHECK_FAILS(mv_checkpoint_get_float32(c, "n.num_batches_tracked", 0, NULL, &a), MV_E_MISMATCH);
  CHECK(strstr(mv_error_message(), "int64") != NULL, "non-float dtype named: %s",
        mv_error_message());
  CHECK_OK(mv_checkpoint_get(c, "i32", &a));
  CHECK(a && a->dtype == MV_INT32 && memcmp(a->data, I32, sizeof I32) == 0, "%s: int32", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "i16", &a));
  CHECK(a && a->dtype == MV_INT16 && memcmp(a->data, I16, sizeof I16) == 0, "%s: int16", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "u8", &a));
  CHECK(a && a->dtype == MV_UINT8 && memcmp(a->data, U8, sizeof U8) == 0, "%s: uint8", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "b8", &a));
  CHECK(a && a->dtype == MV_BOOL && memcmp(a->data, B8, sizeof B8) == 0, "%s: bool", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "e.empty", &a));
  CHECK(a && a->ndim == 2 && a->shape[0] == 0 && a->shape[1] == 3 && mv_array_numel(a) == 0,
        "%s: empty tensor", what);
  mv_array_free(a);
  mv_checkpoint_close(c);
}

static void check_good_zips(void) {
  tspec t[16];
  sdata s[16];
  int n = good_specs(t), ns = good_storages(s, 1);
  for (int style = 2; style <= 4; style += 2)
    for (int zip64 = 0; zip64 <= 1; zip64++) {
      buf pk = {0};
      pk_state_dict(&pk, t, n, style, 0);
      char what[64];
      snprintf(what, sizeof what, "protocol %d%s", style, zip64 ? ", zip64" : "");
      const char *path = make_zip("good.pth", zip64 ? "archive" : "my.model-v2", &pk, s, ns,
                                  zip64, zip64 ? NULL : "a zip comment");
      check_good(path, n, what);
      buf_free(&pk);
    }

  /* mv_checkpoint_check: float16 stored for a float32 entry is fine. */
  buf pk = {0};
  pk_state_dict(&pk, t, n, 2, 0);
  const char *path = make_zip("good.pth", "x", &pk, s, ns, 0, NULL);
  buf_free(&pk);
  const char *tsv =
      "key\tdtype\tshape\tnumel\na\tfloat32\t3,4\t12\nb.transposed\tfloat32\t4,3\t12\n"
      "f.strided\tfloat32\t2\t2\np.param\tfloat32\t2,2\t4\nh.half\tfloat32\t4\t4\n"
      "d.double\tfloat64\t2,2\t4\nn.num_batches_tracked\tint64\t\t1\ni32\tint32\t2\t2\n"
      "i16\tint16\t2\t2\nu8\tuint8\t3\t3\nb8\tbool\t2\t2\ne.empty\tfloat32\t0,3\t0\n"
      "bcast\tfloat32\t2,3\t6\n";
  const char *tsv_path = mv_test_temp_path("good.tsv");
  mv_test_write_file(tsv_path, tsv, strlen(tsv));
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(path, &c))) {
    CHECK_OK(mv_checkpoint_check(c, tsv_path));
    /* Without 'a' in the manifest, 'a' is unexpected. */
    const char *tsv2 = "key\tdtype\tshape\tnumel\nzz\tfloat32\t1\t1\n";
    const char *p2 = mv_test_temp_path("other.tsv");
    mv_test_write_file(p2, tsv2, strlen(tsv2));
    CHECK_FAILS(mv_checkpoint_check(c, p2), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'zz'") &&
              strstr(mv_error_message(), "unexpected key 'a' (float32 3x4)"),
          "check lists missing and unexpected keys: %s", mv_error_message());
  }
  mv_checkpoint_close(c);
}

/* One broken variant: a pickle edited by `edit` or specs/storages given. */
static void expect_zip_error(const char *what, const buf *pk, const sdata *s, int ns,
                             mv_status status, const char *needle1, const char *needle2) {
  const char *path = make_zip("bad.pth", "bad", pk, s, ns, 0, NULL);
  expect_open_error(path, status, needle1, what);
  if (needle2)
    CHECK(strstr(mv_error_message(), needle2) != NULL, "%s: message has '%s': %s", what, needle2,
          mv_error_message());
}

static void check_bad_zips(void) {
  tspec t[16];
  sdata s[16];
  int n = good_specs(t), ns = good_storages(s, 0);
  buf pk = {0};

  /* Unknown opcode 0xff right after PROTO. */
  pk_state_dict(&pk, t, n, 2, 0);
  buf bad = {0};
  put(&bad, pk.p, 2);
  put8(&bad, 0xff);
  put(&bad, pk.p + 2, pk.n - 2);
  expect_zip_error("unknown opcode", &bad, s, ns, MV_E_UNSUPPORTED, "opcode 0xff", "byte 2");
  buf_free(&bad);
  /* A protocol-0 text opcode (INT 'I') is not supported either. */
  put(&bad, pk.p, 2);
  put(&bad, "I1\n0", 4);
  expect_zip_error("text opcode", &bad, s, ns, MV_E_UNSUPPORTED, "opcode 0x49", "byte 2");
  buf_free(&bad);
  /* Truncated pickle: no STOP. */
  put(&bad, pk.p, pk.n - 1);
  expect_zip_error("no STOP", &bad, s, ns, MV_E_FORMAT, "without a STOP", NULL);
  buf_free(&bad);
  put(&bad, pk.p, pk.n / 2);
  expect_zip_error("cut pickle", &bad, s, ns, MV_E_FORMAT, "data.pkl", NULL);
  buf_free(&bad);
  buf_free(&pk);

  /* Unknown globals. */
  tspec evil[1] = {T("a", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1})};
  put8(&pk, 0x80);
  put8(&pk, 2);
  pk_global(&pk, "os", "system", 2);
  pk_str(&pk, "echo hi", 2);
  put8(&pk, 0x85);
  put8(&pk, 'R');
  put8(&pk, '.');
  expect_zip_error("os.system", &pk, s, ns, MV_E_UNSUPPORTED, "'os.system'", "byte 2");
  buf_free(&pk);
  evil[0].storage_type = "QInt8Storage";
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("unknown storage type", &pk, s, ns, MV_E_UNSUPPORTED, "torch.QInt8Storage",
                   NULL);
  buf_free(&pk);
  evil[0].storage_type = "BFloat16Storage";
  pk_state_dict(&pk, evil, 1, 4, 0);
  expect_zip_error("bfloat16 storage", &pk, s, ns, MV_E_UNSUPPORTED, "torch.BFloat16Storage",
                   "not supported");
  buf_free(&pk);

  /* Storage shorter than the tensor: too few bytes, or a too small recorded size. */
  evil[0].storage_type = "FloatStorage";
  pk_state_dict(&pk, evil, 1, 2, 0);
  sdata short_s[1] = {{"0", F32, 8, 0}};
  expect_zip_error("short storage bytes", &pk, short_s, 1, MV_E_FORMAT, "key 'a'", "storage '0'");
  buf_free(&pk);
  evil[0].storage_numel = 4;
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("short storage record", &pk, s, ns, MV_E_FORMAT, "key 'a'", "needs 12");
  buf_free(&pk);
  evil[0].storage_numel = 12;
  evil[0].offset = 1; /* one past the end */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("offset past the end", &pk, s, ns, MV_E_FORMAT, "key 'a'", NULL);
  buf_free(&pk);
  evil[0].offset = 0;
  evil[0].stride[0] = INT64_MAX / 2; /* extent overflows */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("huge stride", &pk, s, ns, MV_E_FORMAT, "key 'a'", NULL);
  buf_free(&pk);
  evil[0].stride[0] = 4;
  tspec expand[1] = {T("x", "FloatStorage", "0", 12, 0, 3, {100000, 100000, 100000}, {0, 0, 0})};
  pk_state_dict(&pk, expand, 1, 2, 0);
  expect_zip_error("huge expanded view", &pk, s, ns, MV_E_FORMAT, "key 'x'", "expanded");
  buf_free(&pk);
  /* Storage entry missing. */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("missing storage", &pk, s + 1, ns - 1, MV_E_FORMAT, "key 'a'", "bad/data/0");
  /* No data.pkl at all: a zip of storages only. */
  zentry only[1] = {{"bad/data/0", F32, sizeof F32, 0}};
  buf z = {0};
  zip_build(&z, only, 1, 0, NULL);
  expect_open_error(write_buf("nopkl.pth", &z), MV_E_FORMAT, "data.pkl", "no data.pkl");
  buf_free(&z);
  /* Central directory pointing at a local header beyond the file. */
  zentry two[2] = {{"bad/data.pkl", pk.p, pk.n, 0}, {"bad/data/0", F32, sizeof F32, 0}};
  zip_build(&z, two, 2, 0, NULL);
  uint8_t *cd = NULL;
  for (size_t i = 0; i + 4 <= z.n; i++)
    if (memcmp(z.p + i, "PK\x01\x02", 4) == 0) cd = z.p + i; /* the last one: data/0 */
  CHECK(cd != NULL, "central entry found");
  if (cd) {
    cd[42] = 0xff;
    cd[43] = 0xff;
    cd[44] = 0x7f;
    expect_open_error(write_buf("badoff.pth", &z), MV_E_FORMAT, "bad/data/0", "bad local offset");
  }
  buf_free(&z);
  /* Data running past the end of the file (sizes edited in the directory). */
  zip_build(&z, two, 2, 0, NULL);
  if (cd) {
    for (size_t i = 0; i + 4 <= z.n; i++)
      if (memcmp(z.p + i, "PK\x01\x02", 4) == 0) cd = z.p + i;
    cd[20] = cd[24] = 0xff; /* comp and uncomp size low bytes */
    cd[21] = cd[25] = 0xff;
    expect_open_error(write_buf("badsize.pth", &z), MV_E_FORMAT, "bad/data/0", "size past end");
  }
  buf_free(&z);
  buf_free(&pk);

  /* Corrupt deflate stream: open works (lazy), reading the tensor fails. */
  pk_state_dict(&pk, t, n, 2, 0);
  sdata sd[16];
  int nsd = good_storages(sd, 1);
  uint8_t junk[40];
  for (int i = 0; i < 40; i++) junk[i] = (uint8_t)(0xff - i * 7);
  zentry ze[20];
  char names[20][64];
  int nz = 0;
  ze[nz++] = (zentry){"q/data.pkl", pk.p, pk.n, 0};
  for (int i = 0; i < nsd; i++) {
    snprintf(names[i], sizeof names[i], "q/data/%s", sd[i].key);
    ze[nz++] = (zentry){names[i], sd[i].data, sd[i].len, sd[i].deflate};
  }
  zip_build(&z, ze, nz, 0, NULL);
  /* overwrite the deflated bytes of q/data/2 (after its local header) with junk */
  for (size_t i = 0; i + 9 <= z.n; i++)
    if (memcmp(z.p + i, "q/data/2", 8) == 0) { /* first hit: the local header */
      memcpy(z.p + i + 8, junk, 10);
      break;
    }
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(write_buf("badzlib.pth", &z), &c))) {
    mv_array *a = NULL;
    CHECK_FAILS(mv_checkpoint_get(c, "d.double", &a), MV_E_FORMAT);
    CHECK(strstr(mv_error_message(), "q/data/2") != NULL, "names the entry: %s",
          mv_error_message());
    CHECK_OK(mv_checkpoint_get(c, "a", &a));
    mv_array_free(a);
  }
  mv_checkpoint_close(c);
  buf_free(&z);
  buf_free(&pk);

  /* Structural problems in the pickle. */
  put(&pk, "\x80\x02]q\x00.", 6); /* a list, not a dict */
  expect_zip_error("root is a list", &pk, s, ns, MV_E_FORMAT, "not a state_dict", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02}(X\x01\x00\x00\x00xK\x05u.", 14); /* {'x': 5} */
  expect_zip_error("value not a tensor", &pk, s, ns, MV_E_FORMAT, "key 'x'", "int");
  buf_free(&pk);
  tspec dup[2] = {T("a", "FloatStorage", "0", 12, 0, 1, {4}, {1}),
                  T("a", "FloatStorage", "0", 12, 4, 1, {4}, {1})};
  pk_state_dict(&pk, dup, 2, 2, 0);
  expect_zip_error("duplicate key", &pk, s, ns, MV_E_FORMAT, "'a' appears twice", NULL);
  buf_free(&pk);
  tspec nine[1] = {T("a", "FloatStorage", "0", 12, 0, 9, {1, 1, 1, 1, 1, 1, 1, 1, 12},
                     {12, 12, 12, 12, 12, 12, 12, 12, 1})};
  pk_state_dict(&pk, nine, 1, 2, 0);
  expect_zip_error("9 dimensions", &pk, s, ns, MV_E_UNSUPPORTED, "9 dimensions", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02R.", 4); /* REDUCE on an empty stack */
  expect_zip_error("stack underflow", &pk, s, ns, MV_E_FORMAT, "underflow", "0x52");
  buf_free(&pk);
  put(&pk, "\x80\x02}r\xff\xff\xff\x7f.", 9); /* LONG_BINPUT 2^31-1 */
  expect_zip_error("memo bomb", &pk, s, ns, MV_E_FORMAT, "memo", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02h\x05.", 5); /* BINGET of an empty slot */
  expect_zip_error("empty memo slot", &pk, s, ns, MV_E_FORMAT, "memo", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02", 2); /* 100000 nested MARKs */
  for (int i = 0; i < 100000; i++) put8(&pk, '(');
  put8(&pk, '.');
  expect_zip_error("mark bomb", &pk, s, ns, MV_E_MEMORY, "MARK", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02", 2); /* 1.5 million pushes: bounded stack */
  for (int i = 0; i < 1500000; i++) put8(&pk, 'N');
  put8(&pk, '.');
  expect_zip_error("stack bomb", &pk, s, ns, MV_E_MEMORY, "stack", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x06}.", 4);
  expect_zip_error("protocol 6", &pk, s, ns, MV_E_UNSUPPORTED, "protocol", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02X\xff\xff\xff\x00" "ab.", 10); /* string longer than the data */
  expect_zip_error("long string", &pk, s, ns, MV_E_FORMAT, "ends inside opcode 0x58", NULL);
  buf_free(&pk);

  /* Every single-byte change of a small valid pickle: never a crash or a leak. */
  tspec small[3] = {T("w", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1}),
                    T("v", "FloatStorage", "0", 12, 1, 1, {3}, {4}, 1),
                    T("h", "HalfStorage", "1", 4, 0, 1, {4}, {1})};
  pk_state_dict(&pk, small, 3, 4, 0);
  int ok = 0, failed_with_message = 0, total = 0;
  for (size_t pos = 0; pos < pk.n; pos++) {
    for (int k = 0; k < 2; k++) {
      uint8_t saved = pk.p[pos];
      pk.p[pos] = k ? (uint8_t)(saved + 1) : 0x00;
      if (pk.p[pos] == saved) continue;
      c = NULL;
      total++;
      mv_status st = mv_checkpoint_open(make_zip("mut.pth", "m", &pk, s, ns, 0, NULL), &c);
      if (st == MV_OK) {
        ok++;
        for (int i = 0; i < mv_checkpoint_count(c); i++) {
          mv_array *a = NULL;
          mv_checkpoint_get(c, mv_checkpoint_key(c, i), &a);
          mv_array_free(a);
        }
        mv_checkpoint_close(c);
      } else {
        failed_with_message += mv_error_message()[0] != '\0' && c == NULL;
      }
      pk.p[pos] = saved;
    }
  }
  CHECK(failed_with_message == total - ok, "mutated pickles: %d opened, %d failed, all with a "
        "message", ok, total - ok);
  CHECK(total - ok > total / 2, "most mutations are detected (%d of %d)", total - ok, total);
  buf_free(&pk);
}

/* ---- legacy (torch < 1.6) format ---------------------------------------------------------- */

static void legacy_file(buf *b, int bad_magic, size_t cut) {
  static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  put(b, "\x80\x02\x8a\x0a", 4);
  put(b, magic, 10);
  if (bad_magic) b->p[b->n - 1] ^= 1;
  put8(b, '.');
  put(b, "\x80\x02M\xe9\x03.", 6); /* 1001 */
  put(b, "\x80\x02}(", 4);        /* sys_info */
  pk_str(b, "protocol_version", 2);
  pk_int(b, 1001);
  pk_str(b, "little_endian", 2);
  put8(b, 0x88);
  pk_str(b, "type_sizes", 2);
  put8(b, '}');
  put(b, "u.", 2);
  tspec t[3] = {
      T("a", "FloatStorage", "140", 12, 0, 2, {3, 4}, {4, 1}),
      T("v", "FloatStorage", "140", 12, 0, 2, {2, 2}, {2, 1}, 0, "141", 4, 4),
      T("n", "LongStorage", "150", 1, 0, 0, {0}, {0}),
  };
  pk_state_dict(b, t, 3, 2, 1);
  put(b, "\x80\x02](", 4);
  pk_str(b, "140", 2);
  pk_str(b, "150", 2);
  put(b, "e.", 2);
  put_le(b, 12, 8);
  put(b, F32, sizeof F32);
  put_le(b, 1, 8);
  put(b, I64, sizeof I64);
  if (cut) b->n -= cut;
}

static void check_legacy(void) {
  buf b = {0};
  legacy_file(&b, 0, 0);
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(write_buf("legacy.pth", &b), &c))) {
    CHECK(mv_checkpoint_count(c) == 3 && strcmp(mv_checkpoint_key(c, 1), "v") == 0,
          "legacy: 3 keys in order");
    mv_array *a = NULL;
    CHECK_OK(mv_checkpoint_get(c, "a", &a));
    CHECK(floats_are(a, F32, 12), "legacy: tensor values");
    mv_array_free(a);
    const float view[4] = {4, 5, 6, 7};
    CHECK_OK(mv_checkpoint_get(c, "v", &a));
    CHECK(floats_are(a, view, 4), "legacy: storage view at an offset");
    mv_array_free(a);
    CHECK_OK(mv_checkpoint_get(c, "n", &a));
    CHECK(a && a->dtype == MV_INT64 && ((int64_t *)a->data)[0] == 42, "legacy: int64 scalar");
    mv_array_free(a);
  }
  mv_checkpoint_close(c);
  buf_free(&b);
  legacy_file(&b, 0, 4);
  expect_open_error(write_buf("legacy_cut.pth", &b), MV_E_FORMAT, "truncated", "legacy cut");
  buf_free(&b);
  legacy_file(&b, 0, 8 + 3);
  expect_open_error(write_buf("legacy_cut2.pth", &b), MV_E_FORMAT, "'150'", "legacy cut 2");
  buf_free(&b);
  legacy_file(&b, 1, 0);
  expect_open_error(write_buf("legacy_magic.pth", &b), MV_E_FORMAT, "magic", "legacy magic");
  buf_free(&b);
  put(&b, "\x80\x02}.", 4); /* a plain pickle, not a torch file */
  expect_open_error(write_buf("plain.pkl", &b), MV_E_FORMAT, "magic", "plain pickle");
  buf_free(&b);
}

/* ---- checkpoints from arrays ------------------------------------------------------------- */

static void check_from_arrays(void) {
  int64_t s[2] = {2, 2};
  mv_array *arrays[2] = {NULL, NULL};
  mv_array_new(MV_FLOAT32, 2, s, &arrays[0]);
  mv_array_new(MV_FLOAT32, 1, s, &arrays[1]);
  const char *keys[2] = {"k", "k"};
  mv_checkpoint *c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_from_arrays("dup", 2, keys, arrays, &c), MV_E_ARGUMENT);
  CHECK(c == NULL && arrays[0] == NULL && arrays[1] == NULL,
        "duplicate keys: arrays consumed, no checkpoint");
  mv_array_new(MV_FLOAT32, 2, s, &arrays[0]);
  ((float *)arrays[0]->data)[3] = 9.0f;
  const char *one[1] = {"w"};
  if (CHECK_OK(mv_checkpoint_from_arrays("mem", 1, one, arrays, &c))) {
    mv_array *a = NULL;
    CHECK_OK(mv_checkpoint_get_float32(c, "w", 2, s, &a));
    CHECK(a && ((float *)a->data)[3] == 9.0f, "from_arrays: values");
    CHECK(strcmp(mv_checkpoint_name(c), "mem") == 0, "from_arrays: name");
    mv_array_free(a);
    mv_checkpoint_close(c);
  }
  CHECK_FAILS(mv_checkpoint_open(NULL, &c), MV_E_ARGUMENT);
  CHECK_FAILS(mv_checkpoint_open("x", NULL), MV_E_ARGUMENT);
  mv_checkpoint_close(NULL);
  CHECK(mv_checkpoint_count(NULL) == 0 && mv_checkpoint_key(NULL, 0) == NULL, "NULL checkpoint");
}

int main(void) {
  check_fixture();
  check_damaged_fixture();
  check_good_zips();
  check_bad_zips();
  check_legacy();
  check_from_arrays();
  return mv_test_finish();
}
