/* Building .pth files for the checkpoint tests (test_checkpoint,
 * test_checkpoint_damage): a growing byte buffer, pickle opcodes and
 * torch-like state_dict pickles, zip archives (optionally zip64, deflated
 * entries), and the table of good tensors and storages both tests start
 * from. Separate so that neither test carries a copy of the writer. */
#ifndef MV_TEST_CHECKPOINT_FILES_H
#define MV_TEST_CHECKPOINT_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "mivos.h"

/* ---- byte buffers ---- */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
} buf;

void put(buf *b, const void *data, size_t n);
void put8(buf *b, uint8_t v);
void put_le(buf *b, uint64_t v, int bytes);
void buf_free(buf *b);

/* ---- pickle assembly ---- */

enum { STYLE_PROTO2 = 2, STYLE_PROTO4 = 4 };

void pk_str(buf *b, const char *s, int style);
void pk_int(buf *b, int64_t v);
void pk_global(buf *b, const char *mod, const char *name, int style);
void pk_ordered_dict(buf *b, int style);

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

#define T(...) ((tspec){__VA_ARGS__})

/* A torch-like state_dict pickle: OrderedDict, SETITEMS, BUILD with _metadata. */
void pk_state_dict(buf *b, const tspec *t, int n, int style, int legacy);

/* ---- zip assembly ---- */

typedef struct zentry {
  const char *name;
  const void *data;
  size_t len;
  int deflate;
} zentry;

void zip_build(buf *z, const zentry *e, int n, int zip64, const char *comment);

/* Writes b to a file `name` in the test's temporary folder; returns its path. */
const char *write_buf(const char *name, const buf *b);

/* A checkpoint zip: <prefix>/data.pkl, <prefix>/data/<key> for each storage given. */
typedef struct sdata {
  const char *key;
  const void *data;
  size_t len;
  int deflate;
} sdata;

const char *make_zip(const char *file, const char *prefix, const buf *pickle, const sdata *s,
                     int ns, int zip64, const char *comment);

/* mv_checkpoint_open(path) fails with `status`, leaves no checkpoint, and its
 * message contains `needle` (when not NULL). */
void expect_open_error(const char *path, mv_status status, const char *needle, const char *what);

/* ---- the good checkpoint: storage values, tensors, storages ---- */

extern float F32[12];
extern const uint16_t F16[4];
extern const double F64[5];
extern const int64_t I64[1];
extern const int32_t I32[2];
extern const int16_t I16[2];
extern const uint8_t U8[3];
extern const uint8_t B8[2];

/* Fills t (16 slots) with one tensor of every dtype and layout; returns the count. */
int good_specs(tspec *t);
/* Fills s (16 slots) with their storages; deflate_double also deflates the float64 one. */
int good_storages(sdata *s, int deflate_double);

#endif
