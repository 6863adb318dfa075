/* Writing a file under a temporary name in its final folder and renaming it
 * on success, so that a failure never leaves a partial file under the final
 * name. Write errors (disk full, quota, file size limit) are caught at
 * fflush/fclose and reported as MV_E_IO naming the final file. */
#ifndef MV_ATOMIC_FILE_H
#define MV_ATOMIC_FILE_H
#include <stdio.h>
#include "mivos.h"

typedef struct mv_atomic_file {
  FILE *fp;            /* write here */
  char *final_path;
  char *temp_path;
  const char *caller;  /* names the public function in messages */
  int write_errno;     /* first write error, reported by commit */
} mv_atomic_file;

/* Creates the temporary file (mode 0666 minus umask). */
mv_status mv_atomic_open(const char *caller, const char *path, mv_atomic_file **out);
/* fwrite that remembers the first error (errno) for the commit message;
 * returns 0 on success, -1 on a short write. */
int mv_atomic_write(mv_atomic_file *file, const void *data, size_t size);
/* Flushes, closes, renames; on any failure removes the temporary file.
 * Frees `file` in all cases. */
mv_status mv_atomic_commit(mv_atomic_file *file);
/* The whole file at once: open, write `size` bytes, commit. */
mv_status mv_atomic_write_all(const char *caller, const char *path, const void *data, size_t size);
/* Closes and removes the temporary file; frees `file` (NULL accepted). */
void mv_atomic_abort(mv_atomic_file *file);

#endif
