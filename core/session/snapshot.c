/* Session snapshots: header, the engine's state, the session's edits, and a
 * CRC-32 of all of it as the last 4 bytes. Loading reads the whole file and
 * checks magic, version, byte order and CRC before touching the session. */
#include "session/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "session/engine.h"
#include "session/session_internal.h"

/* Version 2 added the session's stroke memory after the edits; version 1
 * files still load (with no strokes remembered). */
enum { SNAPSHOT_VERSION = 2, OLDEST_VERSION = 1, BYTE_ORDER_MARK = 0x01020304, NAME_BYTES = 32 };
static const char MAGIC[8] = {'M', 'I', 'V', 'O', 'S', 'N', 'A', 'P'};

/* zlib's crc32 takes 32-bit lengths: feed it in chunks. */
static unsigned long crc_update(unsigned long crc, const void *data, size_t size) {
  const Bytef *p = data;
  while (size) {
    uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return crc;
}

void mv_snapshot_put(mv_snapshot_writer *w, const void *data, size_t size) {
  if (w->failed || !size) return;
  if (mv_atomic_write(w->file, data, size) != 0) w->failed = 1;
  w->crc = crc_update(w->crc, data, size);
}

void mv_snapshot_put_i32(mv_snapshot_writer *w, int32_t value) {
  mv_snapshot_put(w, &value, sizeof value);
}

mv_status mv_snapshot_get(mv_snapshot_reader *r, void *out, size_t size, const char *what) {
  if (size > r->size - r->pos)
    return mv_fail(MV_E_FORMAT, "%s: truncated snapshot: %s missing", r->path, what);
  memcpy(out, r->data + r->pos, size);
  r->pos += size;
  return MV_OK;
}

mv_status mv_snapshot_get_i32(mv_snapshot_reader *r, int32_t *out, const char *what) {
  return mv_snapshot_get(r, out, sizeof *out, what);
}

mv_status mv_snapshot_get_range(mv_snapshot_reader *r, int32_t lo, int32_t hi, int32_t *out,
                                const char *what) {
  MV_TRY(mv_snapshot_get_i32(r, out, what));
  if (*out < lo || *out > hi)
    return mv_fail(MV_E_FORMAT, "%s: damaged snapshot: %s is %d, expected %d..%d", r->path,
                   what, *out, lo, hi);
  return MV_OK;
}

/* The fixed part at the start of the file. */
typedef struct snapshot_header {
  char magic[8];
  uint32_t version, byte_order;
  int32_t log_entries;
  uint32_t log_crc;
  uint64_t log_bytes;
  uint32_t video_hash;
  int32_t frames, width, height;
  char propagation[NAME_BYTES], fusion[NAME_BYTES];
} snapshot_header;

mv_status mv_snapshot_save(mv_session *s, const char *path, const mv_snapshot_log *log) {
  MV_CHECK_ARG(s && path, "mv_session_save_snapshot: NULL argument");
  mv_session_info info;
  MV_TRY(mv_session_get_info(s, &info));
  snapshot_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, MAGIC, sizeof MAGIC);
  h.version = SNAPSHOT_VERSION;
  h.byte_order = BYTE_ORDER_MARK;
  h.log_entries = log ? log->entries : -1;
  h.log_crc = log ? log->crc : 0;
  h.log_bytes = log ? log->bytes : 0;
  h.video_hash = log ? log->video_hash : 0;
  h.frames = info.frame_count;
  h.width = info.width;
  h.height = info.height;
  snprintf(h.propagation, NAME_BYTES, "%s", info.propagation);
  snprintf(h.fusion, NAME_BYTES, "%s", info.fusion);
  mv_snapshot_writer w = {NULL, crc32(0L, Z_NULL, 0), 0};
  MV_TRY(mv_atomic_open("mv_session_save_snapshot", path, &w.file));
  mv_snapshot_put(&w, &h, sizeof h);
  mv_status st = mv_engine_export(mv_session_engine(s), &w);
  if (st == MV_OK) {
    mv_session_export_edits(s, &w);
    uint32_t crc = (uint32_t)w.crc;
    mv_snapshot_put(&w, &crc, sizeof crc);
  }
  if (st != MV_OK) {
    mv_atomic_abort(w.file);
    return st;
  }
  return mv_atomic_commit(w.file);   /* reports a short write (disk full) naming the file */
}

/* The whole file in memory with its header checked (CRC too when `whole`). */
static mv_status read_snapshot(const char *path, int whole, uint8_t **data, size_t *size,
                               snapshot_header *h) {
  *data = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return mv_fail(MV_E_IO, "%s: cannot open the snapshot", path);
  long length = -1;
  if (fseek(f, 0, SEEK_END) == 0) length = ftell(f);
  rewind(f);
  size_t want = length < 0 ? 0 : whole ? (size_t)length : sizeof *h;
  if (want > (size_t)length) want = (size_t)length;
  *data = malloc(want ? want : 1);
  size_t got = *data ? fread(*data, 1, want, f) : 0;
  fclose(f);
  if (!*data) return mv_fail(MV_E_MEMORY, "%s: out of memory for the snapshot", path);
  *size = got;
  if (got != want) return mv_fail(MV_E_IO, "%s: cannot read the snapshot", path);
  if (got < sizeof MAGIC || memcmp(*data, MAGIC, sizeof MAGIC) != 0)
    return mv_fail(MV_E_FORMAT, "%s: not a mivos snapshot (no MIVOSNAP signature)", path);
  if (got < sizeof *h + (whole ? 4 : 0))
    return mv_fail(MV_E_FORMAT, "%s: truncated snapshot (%zu bytes)", path, got);
  memcpy(h, *data, sizeof *h);
  if (h->version < OLDEST_VERSION || h->version > SNAPSHOT_VERSION)
    return mv_fail(MV_E_FORMAT, "%s: snapshot version %u, this build reads versions %d..%d",
                   path, h->version, OLDEST_VERSION, SNAPSHOT_VERSION);
  if (h->byte_order != BYTE_ORDER_MARK)
    return mv_fail(MV_E_FORMAT, "%s: snapshot written on a machine of another byte order", path);
  if (whole) {
    uint32_t stored;
    memcpy(&stored, *data + got - 4, 4);
    if ((uint32_t)crc_update(crc32(0L, Z_NULL, 0), *data, got - 4) != stored)
      return mv_fail(MV_E_FORMAT, "%s: damaged snapshot (CRC-32 mismatch: truncated or corrupt)",
                     path);
  }
  return MV_OK;
}

static void header_log(const snapshot_header *h, mv_snapshot_log *log) {
  if (!log) return;
  log->entries = h->log_entries;
  log->bytes = h->log_bytes;
  log->crc = h->log_crc;
  log->video_hash = h->video_hash;
}

mv_status mv_snapshot_peek(const char *path, mv_snapshot_log *log) {
  uint8_t *data;
  size_t size;
  snapshot_header h;
  mv_status st = read_snapshot(path, 0, &data, &size, &h);
  if (st == MV_OK) header_log(&h, log);
  free(data);
  return st;
}

mv_status mv_snapshot_load(mv_session *s, const char *path, mv_snapshot_log *log) {
  MV_CHECK_ARG(s && path, "mv_session_load_snapshot: NULL argument");
  mv_session_info info;
  MV_TRY(mv_session_get_info(s, &info));
  uint8_t *data;
  size_t size;
  snapshot_header h;
  mv_status st = read_snapshot(path, 1, &data, &size, &h);
  h.propagation[NAME_BYTES - 1] = h.fusion[NAME_BYTES - 1] = '\0';
  if (st == MV_OK && (h.frames != info.frame_count || h.width != info.width ||
                      h.height != info.height))
    st = mv_fail(MV_E_MISMATCH, "%s: snapshot of %d frames of %dx%d, the session's video has %d "
                 "frames of %dx%d", path, h.frames, h.width, h.height, info.frame_count,
                 info.width, info.height);
  if (st == MV_OK && (strcmp(h.propagation, info.propagation) || strcmp(h.fusion, info.fusion)))
    st = mv_fail(MV_E_MISMATCH, "%s: snapshot of a session with propagation '%s' and fusion "
                 "'%s', this one has '%s' and '%s'", path, h.propagation, h.fusion,
                 info.propagation, info.fusion);
  mv_snapshot_reader r = {data, size - 4, sizeof h, path, h.version};
  if (st == MV_OK) st = mv_engine_import(mv_session_engine(s), &r);
  if (st == MV_OK) st = mv_session_import_edits(s, &r);
  if (st == MV_OK && r.pos != r.size)
    st = mv_fail(MV_E_FORMAT, "%s: damaged snapshot: %zu bytes left over", path, r.size - r.pos);
  if (st == MV_OK) header_log(&h, log);
  free(data);
  return st;
}

mv_status mv_session_save_snapshot(mv_session *s, const char *path) {
  MV_CHECK_ARG(s && path, "mv_session_save_snapshot: NULL argument");
  MV_TRY(mv_session_end_run(s));
  return mv_snapshot_save(s, path, NULL);
}

mv_status mv_session_load_snapshot(mv_session *s, const char *path) {
  MV_CHECK_ARG(s && path, "mv_session_load_snapshot: NULL argument");
  if (mv_session_workspace(s))
    return mv_fail(MV_E_STATE, "mv_session_load_snapshot: the session is attached to a workspace "
                   "(its log would no longer describe the session): detach first");
  MV_TRY(mv_session_end_run(s));   /* a snapshot holds no open run */
  return mv_snapshot_load(s, path, NULL);
}
