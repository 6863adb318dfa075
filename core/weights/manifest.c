/* Manifests: reading, HASHINIT checkpoints from them, and checking a
 * checkpoint against one. */
#include "weights/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights/checkpoint.h"
#include "error.h"

enum { MANIFEST_MAX_BYTES = 64 << 20 };

int mv_dtype_from_name(const char *name, mv_dtype *out) {
  static const mv_dtype all[] = {MV_FLOAT32, MV_FLOAT16, MV_FLOAT64, MV_INT64,
                                 MV_INT32,   MV_INT16,   MV_UINT8,   MV_BOOL};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (strcmp(name, mv_dtype_name(all[i])) == 0) {
      *out = all[i];
      return 1;
    }
  return 0;
}

void mv_manifest_free(mv_manifest *m) {
  if (!m) return;
  for (int i = 0; i < m->count; i++) free(m->entries[i].key);
  free(m->entries);
  free(m->path);
  free(m);
}

typedef struct name_index {
  const char *key;
  int index;
} name_index;

static int cmp_name_index(const void *a, const void *b) {
  return strcmp(((const name_index *)a)->key, ((const name_index *)b)->key);
}

static mv_status read_text(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return mv_fail(MV_E_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  mv_status st = buf ? MV_OK : mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  while (st == MV_OK) {
    if (n == cap) {
      if (cap >= MANIFEST_MAX_BYTES) {
        st = mv_fail(MV_E_FORMAT, "%s: larger than %d MiB, not a manifest", path,
                     MANIFEST_MAX_BYTES >> 20);
        break;
      }
      char *grown = realloc(buf, cap * 2 + 1);
      if (!grown) {
        st = mv_fail(MV_E_MEMORY, "%s: out of memory", path);
        break;
      }
      buf = grown;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) st = mv_fail(MV_E_IO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (st != MV_OK) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return MV_OK;
}

/* Splits `line` at tabs into at most `max` fields; returns the count. */
static int split_tabs(char *line, char **fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char *p = line; *p; p++)
    if (*p == '\t') {
      *p = '\0';
      if (n == max) return max + 1;
      fields[n++] = p + 1;
    }
  return n;
}

static mv_status parse_row(const char *path, int line, char **f, mv_manifest_entry *e) {
  if (!f[0][0]) return mv_fail(MV_E_FORMAT, "%s:%d: empty key", path, line);
  if (!mv_dtype_from_name(f[1], &e->dtype))
    return mv_fail(MV_E_FORMAT, "%s:%d: unknown dtype '%s' for key '%s'", path, line, f[1], f[0]);
  e->ndim = 0;
  const char *p = f[2];
  while (*p) {
    if (e->ndim == MV_MAX_DIMS)
      return mv_fail(MV_E_FORMAT, "%s:%d: key '%s' has more than %d dimensions", path, line, f[0],
                     (int)MV_MAX_DIMS);
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || v < 0 || (*end && *end != ','))
      return mv_fail(MV_E_FORMAT, "%s:%d: bad shape '%s' for key '%s' (expected comma-separated "
                     "non-negative integers)", path, line, f[2], f[0]);
    e->shape[e->ndim++] = v;
    p = *end ? end + 1 : end;
    if (*end == ',' && !*p)
      return mv_fail(MV_E_FORMAT, "%s:%d: bad shape '%s' for key '%s' (trailing comma)", path,
                     line, f[2], f[0]);
  }
  uint64_t numel = 1;
  for (int d = 0; d < e->ndim; d++) {
    if (e->shape[d] && numel > (uint64_t)INT64_MAX / (uint64_t)e->shape[d])
      return mv_fail(MV_E_FORMAT, "%s:%d: shape of key '%s' overflows", path, line, f[0]);
    numel *= (uint64_t)e->shape[d];
  }
  char *end;
  errno = 0;
  long long stated = strtoll(f[3], &end, 10);
  if (end == f[3] || *end || errno)
    return mv_fail(MV_E_FORMAT, "%s:%d: bad numel '%s' for key '%s'", path, line, f[3], f[0]);
  if ((uint64_t)stated != numel)
    return mv_fail(MV_E_FORMAT, "%s:%d: key '%s': numel %lld does not match shape '%s' (%llu)",
                   path, line, f[0], stated, f[2], (unsigned long long)numel);
  e->numel = (int64_t)numel;
  e->key = strdup(f[0]);
  if (!e->key) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  return MV_OK;
}

static mv_status parse_manifest(mv_manifest *m, char *text) {
  int cap = 0, line = 0, have_header = 0;
  char *p = text;
  while (*p) {
    char *next = strchr(p, '\n');
    if (next) *next++ = '\0';
    else next = p + strlen(p);
    line++;
    size_t len = strlen(p);
    if (len && p[len - 1] == '\r') p[--len] = '\0';
    char *row = p;
    p = next;
    if (!len || row[0] == '#') continue;
    char *f[4];
    int n = split_tabs(row, f, 4);
    if (!have_header) {
      if (n != 4 || strcmp(f[0], "key") || strcmp(f[1], "dtype") || strcmp(f[2], "shape") ||
          strcmp(f[3], "numel"))
        return mv_fail(MV_E_FORMAT, "%s:%d: expected the header 'key<TAB>dtype<TAB>shape<TAB>numel'",
                       m->path, line);
      have_header = 1;
      continue;
    }
    if (n != 4)
      return mv_fail(MV_E_FORMAT, "%s:%d: expected 4 tab-separated fields, found %s", m->path,
                     line, n > 4 ? "more" : n == 3 ? "3" : n == 2 ? "2" : "1");
    if (m->count == cap) {
      int ncap = cap ? cap * 2 : 64;
      mv_manifest_entry *grown = realloc(m->entries, (size_t)ncap * sizeof *grown);
      if (!grown) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->path);
      m->entries = grown;
      cap = ncap;
    }
    mv_manifest_entry *e = &m->entries[m->count];
    memset(e, 0, sizeof *e);
    MV_TRY(parse_row(m->path, line, f, e));
    m->count++;
  }
  if (!have_header)
    return mv_fail(MV_E_FORMAT, "%s: no header line 'key<TAB>dtype<TAB>shape<TAB>numel'", m->path);
  /* Duplicate keys. */
  name_index *idx = malloc((m->count ? (size_t)m->count : 1) * sizeof *idx);
  if (!idx) return mv_fail(MV_E_MEMORY, "%s: out of memory", m->path);
  for (int i = 0; i < m->count; i++) idx[i] = (name_index){m->entries[i].key, i};
  qsort(idx, (size_t)m->count, sizeof *idx, cmp_name_index);
  mv_status st = MV_OK;
  for (int i = 1; i < m->count && st == MV_OK; i++)
    if (strcmp(idx[i - 1].key, idx[i].key) == 0)
      st = mv_fail(MV_E_FORMAT, "%s: key '%s' appears twice", m->path, idx[i].key);
  free(idx);
  return st;
}

mv_status mv_manifest_read(const char *path, mv_manifest **out) {
  MV_CHECK_ARG(out, "mv_manifest_read: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "mv_manifest_read: path is NULL or empty");
  char *text = NULL;
  size_t len = 0;
  MV_TRY(read_text(path, &text, &len));
  mv_manifest *m = calloc(1, sizeof *m);
  mv_status st = MV_OK;
  if (!m || !(m->path = strdup(path)))
    st = mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  else if (memchr(text, '\0', len))
    st = mv_fail(MV_E_FORMAT, "%s: contains NUL bytes, not a text manifest", path);
  else
    st = parse_manifest(m, text);
  free(text);
  if (st != MV_OK) {
    mv_manifest_free(m);
    return st;
  }
  *out = m;
  return MV_OK;
}

/* ---- HASHINIT checkpoints ----------------------------------------------------------- */

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

mv_status mv_checkpoint_hashinit(const char *manifest_path, const char *salt,
                                 mv_checkpoint **out) {
  MV_CHECK_ARG(out, "mv_checkpoint_hashinit: out is NULL");
  *out = NULL;
  mv_manifest *m;
  MV_TRY(mv_manifest_read(manifest_path, &m));
  mv_status st = MV_OK;
  int n = m->count;
  mv_array **arrays = calloc(n ? (size_t)n : 1, sizeof *arrays);
  const char **keys = calloc(n ? (size_t)n : 1, sizeof *keys);
  if (!arrays || !keys) st = mv_fail(MV_E_MEMORY, "mv_checkpoint_hashinit: out of memory");
  for (int i = 0; i < n && st == MV_OK; i++) {
    const mv_manifest_entry *e = &m->entries[i];
    keys[i] = e->key;
    st = mv_array_new(e->dtype, e->ndim, e->shape, &arrays[i]);
    if (st != MV_OK) break;
    if (e->dtype == MV_FLOAT32) {
      st = mv_hashinit_fill(salt, e->key, e->ndim, e->shape, arrays[i]->data);
    } else if (e->dtype == MV_FLOAT64 || e->dtype == MV_FLOAT16) {
      /* The manifests list float32 only; float64 is cheap, float16 would need rounding. */
      if (e->dtype == MV_FLOAT16) {
        st = mv_fail(MV_E_UNSUPPORTED, "%s: key '%s': HASHINIT for float16 entries is not "
                     "supported", manifest_path, e->key);
        break;
      }
      float *tmp = malloc((size_t)(e->numel ? e->numel : 1) * sizeof *tmp);
      if (!tmp) {
        st = mv_fail(MV_E_MEMORY, "mv_checkpoint_hashinit: out of memory");
        break;
      }
      st = mv_hashinit_fill(salt, e->key, e->ndim, e->shape, tmp);
      double *dst = arrays[i]->data;
      for (int64_t j = 0; st == MV_OK && j < e->numel; j++) dst[j] = tmp[j];
      free(tmp);
    }
    /* Integer entries (num_batches_tracked) stay zero. */
    if (st != MV_OK) st = mv_fail_context(st, "%s", manifest_path);
  }
  if (st == MV_OK) {
    char name[512];
    if (salt && salt[0])
      snprintf(name, sizeof name, "hashinit(%s, salt '%s')", base_name(manifest_path), salt);
    else
      snprintf(name, sizeof name, "hashinit(%s)", base_name(manifest_path));
    st = mv_checkpoint_from_arrays(name, n, keys, arrays, out); /* consumes arrays */
  } else if (arrays) {
    for (int i = 0; i < n; i++) mv_array_free(arrays[i]);
  }
  free(arrays);
  free(keys);
  mv_manifest_free(m);
  return st;
}

/* ---- checking a checkpoint against a manifest ------------------------------------- */

typedef struct problems {
  char text[3600];
  size_t len;
  int count, shown;
} problems;

static void add_problem(problems *p, const char *fmt, ...) MV_PRINTF(2, 3);
static void add_problem(problems *p, const char *fmt, ...) {
  p->count++;
  char one[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(one, sizeof one, fmt, ap);
  va_end(ap);
  size_t n = strlen(one);
  if (p->len + n + 2 >= sizeof p->text - 40) return; /* room kept for "... and N more" */
  p->len += (size_t)snprintf(p->text + p->len, sizeof p->text - p->len, "%s%s",
                             p->shown ? "; " : "", one);
  p->shown++;
}

mv_status mv_checkpoint_check(const mv_checkpoint *c, const char *manifest_path) {
  MV_CHECK_ARG(c, "mv_checkpoint_check: checkpoint is NULL");
  mv_manifest *m;
  MV_TRY(mv_manifest_read(manifest_path, &m));
  name_index *idx = malloc((m->count ? (size_t)m->count : 1) * sizeof *idx);
  problems *p = calloc(1, sizeof *p);
  if (!idx || !p) {
    free(idx);
    free(p);
    mv_manifest_free(m);
    return mv_fail(MV_E_MEMORY, "mv_checkpoint_check: out of memory");
  }
  for (int i = 0; i < m->count; i++) idx[i] = (name_index){m->entries[i].key, i};
  qsort(idx, (size_t)m->count, sizeof *idx, cmp_name_index);

  char have[160], want[160];
  for (int i = 0; i < m->count; i++) {
    const mv_manifest_entry *e = &m->entries[i];
    mv_shape_string(want, sizeof want, e->ndim, e->shape);
    if (mv_checkpoint_find(c, e->key) < 0) {
      add_problem(p, "missing key '%s' (%s %s)", e->key, mv_dtype_name(e->dtype), want);
      continue;
    }
    mv_dtype dtype;
    int ndim;
    int64_t shape[MV_MAX_DIMS];
    mv_checkpoint_info(c, e->key, &dtype, &ndim, shape);
    int same = ndim == e->ndim;
    for (int d = 0; same && d < ndim; d++) same = shape[d] == e->shape[d];
    mv_shape_string(have, sizeof have, ndim, shape);
    if (!same) add_problem(p, "key '%s' has shape %s, expected %s", e->key, have, want);
    if (dtype != e->dtype && !(e->dtype == MV_FLOAT32 && dtype == MV_FLOAT16))
      add_problem(p, "key '%s' has dtype %s, expected %s", e->key, mv_dtype_name(dtype),
                  mv_dtype_name(e->dtype));
  }
  for (int i = 0; i < mv_checkpoint_count(c); i++) {
    const char *key = mv_checkpoint_key(c, i);
    name_index probe = {key, 0};
    if (bsearch(&probe, idx, (size_t)m->count, sizeof *idx, cmp_name_index)) continue;
    mv_dtype dtype;
    int ndim;
    int64_t shape[MV_MAX_DIMS];
    mv_checkpoint_info(c, key, &dtype, &ndim, shape);
    mv_shape_string(have, sizeof have, ndim, shape);
    add_problem(p, "unexpected key '%s' (%s %s)", key, mv_dtype_name(dtype), have);
  }
  mv_status st = MV_OK;
  if (p->count) {
    if (p->shown < p->count)
      snprintf(p->text + p->len, sizeof p->text - p->len, "; ... and %d more",
               p->count - p->shown);
    st = mv_fail(MV_E_MISMATCH, "%s does not match %s: %d problem%s: %s", mv_checkpoint_name(c),
                 manifest_path, p->count, p->count == 1 ? "" : "s", p->text);
  }
  free(idx);
  free(p);
  mv_manifest_free(m);
  return st;
}
