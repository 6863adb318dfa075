/* Snapshots of a session (core/session/snapshot.c): the engine's state
 * (probabilities of every frame, which frames are interacted, the memory
 * bank of the interacted frames: keys, values and the masks they came
 * from) and the session's pending maps and undo history, in one versioned
 * file with a CRC-32 over everything, written atomically.
 *
 * The byte streams below are what engine.c, prob_store.c and session.c
 * write their parts with: native byte order (the header records it), the
 * writer keeps a running CRC-32 and the first failure, the reader checks
 * every length against the bytes left. */
#ifndef MV_SNAPSHOT_H
#define MV_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "io/atomic_file.h"
#include "mivos.h"

typedef struct mv_snapshot_writer {
  mv_atomic_file *file;
  unsigned long crc;
  int failed;          /* a short write: commit reports it */
} mv_snapshot_writer;

void mv_snapshot_put(mv_snapshot_writer *w, const void *data, size_t size);
void mv_snapshot_put_i32(mv_snapshot_writer *w, int32_t value);

typedef struct mv_snapshot_reader {
  const uint8_t *data;
  size_t size, pos;
  const char *path;    /* names the file in messages */
  uint32_t version;    /* the file's format version */
} mv_snapshot_reader;

/* MV_E_FORMAT "PATH: truncated snapshot: WHAT missing" when fewer than
 * `size` bytes are left. */
mv_status mv_snapshot_get(mv_snapshot_reader *r, void *out, size_t size, const char *what);
mv_status mv_snapshot_get_i32(mv_snapshot_reader *r, int32_t *out, const char *what);
/* An int32 that must lie in lo..hi (MV_E_FORMAT naming WHAT otherwise). */
mv_status mv_snapshot_get_range(mv_snapshot_reader *r, int32_t lo, int32_t hi, int32_t *out,
                                const char *what);

/* What a snapshot says about the log it was taken with (workspaces). */
typedef struct mv_snapshot_log {
  int32_t entries;     /* log entries the snapshot includes; -1: taken outside a workspace */
  uint64_t bytes;      /* length of the log's text up to the end of the last of them */
  uint32_t crc;        /* CRC-32 of those bytes */
  uint32_t video_hash; /* the workspace manifest's frame hash */
} mv_snapshot_log;

mv_status mv_snapshot_save(mv_session *session, const char *path, const mv_snapshot_log *log);
/* Reads and checks the whole file (magic, version, CRC, sizes and modules
 * against the session) before changing anything; `log` (may be NULL)
 * receives the log fields. */
mv_status mv_snapshot_load(mv_session *session, const char *path, mv_snapshot_log *log);
/* Only the header's log fields, after the same checks of the file. */
mv_status mv_snapshot_peek(const char *path, mv_snapshot_log *log);

#endif
