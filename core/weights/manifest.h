/* Checkpoint manifests (the .tsv files in spec/checkpoints/): '#' comment lines, a header
 * "key dtype shape numel", then one tab-separated row per state_dict entry
 * in order; shape is comma-separated, empty for a 0-d scalar. */
#ifndef MV_MANIFEST_H
#define MV_MANIFEST_H

#include "mivos.h"

typedef struct mv_manifest_entry {
  char *key;
  mv_dtype dtype;
  int ndim;
  int64_t shape[MV_MAX_DIMS];
  int64_t numel;
} mv_manifest_entry;

typedef struct mv_manifest {
  char *path;
  int count;
  mv_manifest_entry *entries;
} mv_manifest;

/* Errors name path:line and what was wrong (MV_E_IO / MV_E_FORMAT). */
mv_status mv_manifest_read(const char *path, mv_manifest **out);
void mv_manifest_free(mv_manifest *manifest);

/* Parses a dtype name ("float32", "int64", ...); returns 0 if unknown. */
int mv_dtype_from_name(const char *name, mv_dtype *out);

#endif
