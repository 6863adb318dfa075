/* Minimal read-only zip reader (stored and deflated entries, zip64) over a
 * memory-mapped file, for PyTorch checkpoints. Every offset and size is
 * checked against the file size: a corrupt or truncated file gives
 * MV_E_FORMAT naming the file and the entry. */
#ifndef MV_ZIP_READER_H
#define MV_ZIP_READER_H

#include "mivos.h"

/* A whole file in memory: mmap'ed read-only (or read when mmap fails).
 * An empty file has data == NULL and size == 0. */
typedef struct mv_mapped_file {
  const uint8_t *data;
  size_t size;
  int mapped; /* 1: munmap, 0: free */
} mv_mapped_file;

mv_status mv_map_file(const char *path, mv_mapped_file *out);
void mv_unmap_file(mv_mapped_file *file);

typedef struct mv_zip mv_zip;

/* Opens the zip at `path` (maps it; the zip owns the mapping). */
mv_status mv_zip_open(const char *path, mv_zip **out);
/* A zip over memory owned by the caller (kept alive until mv_zip_close);
 * `name` is used in messages. */
mv_status mv_zip_open_memory(const char *name, const uint8_t *data, size_t size, mv_zip **out);
void mv_zip_close(mv_zip *zip);

int mv_zip_count(const mv_zip *zip);
/* Entry name (NUL-terminated copy); NULL when out of range. */
const char *mv_zip_name(const mv_zip *zip, int index);
/* Index of the first entry named `name`, or -1. */
int mv_zip_find(const mv_zip *zip, const char *name);
/* Uncompressed size of an entry (0 when out of range). */
uint64_t mv_zip_size(const mv_zip *zip, int index);
/* The file name given at open (for messages). */
const char *mv_zip_path(const mv_zip *zip);

/* The entry's uncompressed bytes, CRC-32 checked. A stored entry is returned
 * as a view into the mapping (*owned = NULL); a deflated one is inflated into
 * a new buffer returned in *owned as well (free() it after use). */
mv_status mv_zip_data(const mv_zip *zip, int index, const uint8_t **data, size_t *size,
                      void **owned);

#endif
