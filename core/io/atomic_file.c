#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static atomic_uint temp_counter;

/* "<dir>/.<base>.tmp<pid>_<n>": hidden, same folder (rename stays atomic). */
static char *temp_name(const char *path, unsigned n) {
  const char *slash = strrchr(path, '/');
  size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dir_len;
  size_t size = strlen(path) + 64;
  char *out = malloc(size);
  if (!out) return NULL;
  snprintf(out, size, "%.*s.%s.tmp%ld_%u", (int)dir_len, path, base, (long)getpid(), n);
  return out;
}

static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

mv_status mv_atomic_open(const char *caller, const char *path, mv_atomic_file **out) {
  MV_CHECK_ARG(out, "%s: out is NULL", caller);
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "%s: path is NULL or empty", caller);
  size_t len = strlen(path);
  MV_CHECK_ARG(path[len - 1] != '/', "%s: path '%s' names a folder, expected a file", caller,
               path);
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return mv_fail(MV_E_IO, "%s: cannot write '%s': it is a folder", caller, path);

  mv_atomic_file *f = calloc(1, sizeof *f);
  if (!f) return mv_fail(MV_E_MEMORY, "%s: out of memory", caller);
  f->caller = caller;
  f->final_path = strdup(path);
  int fd = -1;
  for (int attempt = 0; attempt < 100 && f->final_path; attempt++) {
    free(f->temp_path);
    f->temp_path = temp_name(path, atomic_fetch_add(&temp_counter, 1));
    if (!f->temp_path) break;
    fd = open(f->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (!f->final_path || !f->temp_path) {
    mv_atomic_abort(f);
    return mv_fail(MV_E_MEMORY, "%s: out of memory", caller);
  }
  if (fd < 0) {
    int err = errno;
    char *folder = folder_of(path);
    mv_status s = mv_fail(MV_E_IO, "%s: cannot write '%s' (folder '%s'): %s", caller, path,
                          folder ? folder : "?", strerror(err));
    free(folder);
    free(f->temp_path);
    f->temp_path = NULL; /* nothing was created */
    mv_atomic_abort(f);
    return s;
  }
  f->fp = fdopen(fd, "wb");
  if (!f->fp) {
    int err = errno;
    close(fd);
    mv_atomic_abort(f);
    return mv_fail(MV_E_IO, "%s: cannot write '%s': %s", caller, path, strerror(err));
  }
  *out = f;
  return MV_OK;
}

int mv_atomic_write(mv_atomic_file *f, const void *data, size_t size) {
  if (size == 0) return 0;
  errno = 0;
  if (fwrite(data, 1, size, f->fp) == size) return 0;
  if (!f->write_errno) f->write_errno = errno ? errno : EIO;
  return -1;
}

mv_status mv_atomic_commit(mv_atomic_file *f) {
  if (!f) return mv_fail(MV_E_ARGUMENT, "mv_atomic_commit: file is NULL");
  int err = f->write_errno;
  errno = 0;
  if (fflush(f->fp) != 0 && !err) err = errno ? errno : EIO;
  if (!err && ferror(f->fp)) err = EIO;
  errno = 0;
  if (fclose(f->fp) != 0 && !err) err = errno ? errno : EIO;
  f->fp = NULL;
  if (!err && rename(f->temp_path, f->final_path) != 0) err = errno;
  if (err) {
    mv_status s = mv_fail(MV_E_IO, "%s: writing '%s' failed: %s", f->caller, f->final_path,
                          strerror(err));
    mv_atomic_abort(f);
    return s;
  }
  free(f->temp_path);
  free(f->final_path);
  free(f);
  return MV_OK;
}

void mv_atomic_abort(mv_atomic_file *f) {
  if (!f) return;
  if (f->fp) fclose(f->fp);
  if (f->temp_path) unlink(f->temp_path);
  free(f->temp_path);
  free(f->final_path);
  free(f);
}

mv_status mv_atomic_write_all(const char *caller, const char *path, const void *data, size_t size) {
  mv_atomic_file *file = NULL;
  MV_TRY(mv_atomic_open(caller, path, &file));
  mv_atomic_write(file, data, size);
  return mv_atomic_commit(file);
}
