/* The interaction log of a workspace (core/session/workspace_log.c): a
 * rounds file that grows by one line per operation and is a complete JSON
 * document after every append:
 *
 *   {"_mivos_log": 1, "objects": 1, "interaction": "graphcut", "rounds": [
 *   {"frame": 0, "object": 1, "interaction": "graphcut", "scribbles": [...]},
 *   {"frame": 0, "propagate": true}
 *   ]}
 *
 * An append overwrites the closing "\n]}\n" with ",\n<entry>\n]}\n" in one
 * write and fdatasync()s before returning. A crash during that write can
 * only damage the last line: reading drops an incomplete last line (and
 * says so); damage anywhere else is an error. */
#ifndef MV_WORKSPACE_LOG_H
#define MV_WORKSPACE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"
#include "mivos.h"
#include "session/workspace.h"

/* A growing NUL-terminated string; `failed` after an allocation failure. */
typedef struct mv_text {
  char *data;
  size_t length, capacity;
  int failed;
} mv_text;
void mv_text_printf(mv_text *t, const char *fmt, ...) MV_PRINTF(2, 3);
void mv_text_free(mv_text *t);
/* s as a JSON string (quotes, escapes). */
void mv_text_put_string(mv_text *t, const char *s);

typedef struct mv_log {
  int fd;
  char *path;
  size_t size;       /* bytes in the file, the closing "\n]}\n" included */
  int entries;
} mv_log;

/* A new log (atomically): the header line with the initial object count
 * and backend, no entries. */
mv_status mv_log_create(const char *path, int objects, const char *interaction);
/* Reads an existing log and returns its parsed tree (`rounds` holds the
 * entries). An incomplete last line is dropped from the tree: *dropped
 * receives its bytes. With `repair` the file is rewritten without it
 * (atomically) and opened for appending; without, nothing is written. */
mv_status mv_log_open(const char *path, int repair, mv_log *log, mv_json **tree, int *dropped);
void mv_log_close(mv_log *log);
/* Appends one entry (a JSON object on one line) and flushes it to disk. */
mv_status mv_log_append(mv_log *log, const char *entry);
/* Length and CRC-32 of the log's text up to the end of entry `count` (the
 * prefix a snapshot records; appends never change it). */
mv_status mv_log_prefix_crc(const char *path, int count, uint64_t *bytes, uint32_t *crc);

/* The entry as a rounds-file object; `inputs` are the workspace-relative
 * PNG paths of its images (LABELS: [0]; MAPS: [0] positive, [1] negative,
 * NULL when the map is absent). */
void mv_log_entry_json(const mv_log_entry *entry, const char *const inputs[2], mv_text *out);

/* An entry read back from the log, with the arrays it owns. */
typedef struct mv_log_read {
  mv_log_entry entry;
  mv_stroke *strokes;
  float *points;                 /* strokes' or polygon's points */
  mv_region region;
  char interaction[64];
  char inputs[2][256];           /* image paths relative to the workspace, "" = none */
} mv_log_read;
/* Reads entry `index` (0-based, for messages) of the log at `path`. */
mv_status mv_log_entry_parse(const mv_json *item, const char *path, int index, mv_log_read *out);
void mv_log_read_free(mv_log_read *read);

#endif
