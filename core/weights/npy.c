/* .npy reading and writing (numpy format 1.0/2.0/3.0, little-endian, C order).
 * The host is assumed little-endian (x86-64, ARM64), so data is copied as is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
enum { NPY_MAX_HEADER = 1 << 20 }; /* numpy itself refuses headers over 10 kB by default */

/* Python tuple text of a shape: "()", "(3,)", "(3, 4)". */
static void shape_tuple(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int i = 0; i < ndim && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (n < cap) snprintf(buf + n, cap - n, ndim == 1 ? ",)" : ")");
}

static const char *descr_of(mv_dtype dtype) {
  switch (dtype) {
    case MV_FLOAT32: return "<f4";
    case MV_FLOAT16: return "<f2";
    case MV_FLOAT64: return "<f8";
    case MV_INT64: return "<i8";
    case MV_INT32: return "<i4";
    case MV_INT16: return "<i2";
    case MV_UINT8: return "|u1";
    case MV_BOOL: return "|b1";
  }
  return NULL;
}

/* Maps a descr string to a dtype: MV_OK, MV_E_UNSUPPORTED (with message). */
static mv_status parse_descr(const char *path, const char *descr, mv_dtype *out) {
  static const struct { char kind; int size; mv_dtype dtype; } table[] = {
      {'f', 4, MV_FLOAT32}, {'f', 2, MV_FLOAT16}, {'f', 8, MV_FLOAT64}, {'i', 8, MV_INT64},
      {'i', 4, MV_INT32},   {'i', 2, MV_INT16},   {'u', 1, MV_UINT8},   {'b', 1, MV_BOOL}};
  size_t len = strlen(descr);
  if (len >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=' || descr[0] == '>')) {
    char kind = descr[1];
    char *end = NULL;
    long size = strtol(descr + 2, &end, 10);
    if (end && *end == '\0') {
      if (descr[0] == '>' && size > 1)
        return mv_fail(MV_E_UNSUPPORTED,
                       "%s: big-endian dtype '%s' is not supported (only little-endian)", path,
                       descr);
      for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].kind == kind && table[i].size == size) {
          *out = table[i].dtype;
          return MV_OK;
        }
    }
  }
  return mv_fail(MV_E_UNSUPPORTED,
                 "%s: dtype '%s' is not supported (expected one of <f4 <f2 <f8 <i8 <i4 <i2 |u1 |b1)",
                 path, descr);
}

/* ---- header dictionary parser: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */

typedef struct {
  const char *start, *p, *end, *path;
} hdr_cursor;

static void skip_ws(hdr_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static mv_status hdr_error(hdr_cursor *c, const char *what) {
  return mv_fail(MV_E_FORMAT, "%s: bad .npy header: %s at header character %td", c->path, what,
                 c->p - c->start);
}

static mv_status parse_string(hdr_cursor *c, char *out, size_t cap) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return hdr_error(c, "expected a string");
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote) {
    if (n + 1 >= cap) return hdr_error(c, "string too long");
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return hdr_error(c, "unterminated string");
  c->p++;
  out[n] = '\0';
  return MV_OK;
}

static int expect_char(hdr_cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

static mv_status parse_shape(hdr_cursor *c, int *ndim, int64_t *shape) {
  if (!expect_char(c, '(')) return hdr_error(c, "expected '(' for the shape");
  *ndim = 0;
  for (;;) {
    skip_ws(c);
    if (expect_char(c, ')')) return MV_OK;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return hdr_error(c, "expected a dimension");
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (v > (INT64_MAX - 9) / 10) return hdr_error(c, "dimension too large");
      v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++; /* Python 2 long */
    if (*ndim >= MV_MAX_DIMS)
      return mv_fail(MV_E_UNSUPPORTED, "%s: more than %d dimensions are not supported", c->path,
                     (int)MV_MAX_DIMS);
    shape[(*ndim)++] = v;
    if (expect_char(c, ',')) continue;
    if (expect_char(c, ')')) return MV_OK;
    return hdr_error(c, "expected ',' or ')' in the shape");
  }
}

static mv_status parse_header(const char *path, const char *text, size_t len, mv_dtype *dtype,
                              int *ndim, int64_t *shape) {
  hdr_cursor c = {text, text, text + len, path};
  int have_descr = 0, have_order = 0, have_shape = 0;
  if (!expect_char(&c, '{')) return hdr_error(&c, "expected '{'");
  for (;;) {
    if (expect_char(&c, '}')) break;
    char key[64];
    MV_TRY(parse_string(&c, key, sizeof key));
    if (!expect_char(&c, ':')) return hdr_error(&c, "expected ':'");
    skip_ws(&c);
    if (strcmp(key, "descr") == 0) {
      if (c.p < c.end && *c.p == '[')
        return mv_fail(MV_E_UNSUPPORTED, "%s: structured dtypes are not supported", path);
      char descr[32];
      MV_TRY(parse_string(&c, descr, sizeof descr));
      MV_TRY(parse_descr(path, descr, dtype));
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0)
        return mv_fail(MV_E_UNSUPPORTED,
                       "%s: fortran_order True is not supported (only C-order arrays)", path);
      if ((size_t)(c.end - c.p) < 5 || memcmp(c.p, "False", 5) != 0)
        return hdr_error(&c, "expected True or False for fortran_order");
      c.p += 5;
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      MV_TRY(parse_shape(&c, ndim, shape));
      have_shape = 1;
    } else {
      return mv_fail(MV_E_FORMAT, "%s: bad .npy header: unknown key '%s'", path, key);
    }
    if (expect_char(&c, ',')) continue;
    if (expect_char(&c, '}')) break;
    return hdr_error(&c, "expected ',' or '}'");
  }
  skip_ws(&c);
  if (c.p != c.end) return hdr_error(&c, "unexpected text after '}'");
  if (!have_descr || !have_order || !have_shape)
    return mv_fail(MV_E_FORMAT, "%s: bad .npy header: missing '%s'", path,
                   !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
  return MV_OK;
}

static mv_status read_exact(FILE *f, const char *path, void *buf, size_t n, const char *what) {
  size_t got = fread(buf, 1, n, f);
  if (got == n) return MV_OK;
  if (ferror(f)) return mv_fail(MV_E_IO, "%s: read error in %s: %s", path, what, strerror(errno));
  return mv_fail(MV_E_FORMAT, "%s: file ends inside the %s (%zu of %zu bytes)", path, what, got,
                 n);
}

static mv_status npy_read_file(FILE *f, const char *path, mv_array **out) {
  unsigned char pre[10];
  MV_TRY(read_exact(f, path, pre, 8, "magic string"));
  if (memcmp(pre, NPY_MAGIC, 6) != 0)
    return mv_fail(MV_E_FORMAT, "%s: not a .npy file (bad magic string)", path);
  int major = pre[6], minor = pre[7];
  size_t header_len;
  long prefix;
  if (major == 1) {
    MV_TRY(read_exact(f, path, pre + 8, 2, "header length"));
    header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char l[4];
    MV_TRY(read_exact(f, path, l, 4, "header length"));
    header_len = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
    prefix = 12;
  } else {
    return mv_fail(MV_E_UNSUPPORTED, "%s: .npy format version %d.%d is not supported", path,
                   major, minor);
  }
  if (header_len > NPY_MAX_HEADER)
    return mv_fail(MV_E_FORMAT, "%s: .npy header length %zu is implausible", path, header_len);
  char *header = malloc(header_len + 1);
  if (!header) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  mv_status st = read_exact(f, path, header, header_len, "header");
  mv_dtype dtype = MV_FLOAT32;
  int ndim = 0;
  int64_t shape[MV_MAX_DIMS] = {0};
  if (st == MV_OK) st = parse_header(path, header, header_len, &dtype, &ndim, shape);
  free(header);
  MV_TRY(st);

  /* How many bytes follow the header? */
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0)
    return mv_fail(MV_E_IO, "%s: cannot stat: %s", path, strerror(errno));
  uint64_t available = (uint64_t)sb.st_size > (uint64_t)prefix + header_len
                           ? (uint64_t)sb.st_size - (uint64_t)prefix - header_len
                           : 0;
  /* Check the size before allocating, so a lying header cannot ask for terabytes. */
  size_t elem = mv_dtype_size(dtype);
  uint64_t numel = 1;
  int overflow = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] && numel > UINT64_MAX / (uint64_t)shape[i]) overflow = 1;
    numel *= (uint64_t)shape[i];
  }
  for (int i = 0; i < ndim; i++)
    if (shape[i] == 0) numel = 0, overflow = 0; /* an empty array, whatever the other dims */
  if (numel > UINT64_MAX / elem) overflow = 1;
  uint64_t need = numel * elem;
  if (overflow || available < need) {
    char tuple[256];
    shape_tuple(tuple, sizeof tuple, ndim, shape);
    if (overflow)
      return mv_fail(MV_E_FORMAT, "%s: header says shape %s, too many elements", path, tuple);
    return mv_fail(MV_E_FORMAT,
                   "%s: header says shape %s = %llu elements of %zu bytes but only %llu bytes of "
                   "data follow",
                   path, tuple, (unsigned long long)numel, elem, (unsigned long long)available);
  }
  mv_array *a = NULL;
  st = mv_array_new(dtype, ndim, shape, &a);
  if (st != MV_OK) return mv_fail_context(st, "%s", path);
  st = read_exact(f, path, a->data, (size_t)need, "data");
  if (st != MV_OK) {
    mv_array_free(a);
    return st;
  }
  *out = a;
  return MV_OK;
}

mv_status mv_npy_read(const char *path, mv_array **out) {
  MV_CHECK_ARG(out, "mv_npy_read: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "mv_npy_read: path is NULL or empty");
  FILE *f = fopen(path, "rb");
  if (!f) return mv_fail(MV_E_IO, "%s: cannot open for reading: %s", path, strerror(errno));
  mv_status st = npy_read_file(f, path, out);
  fclose(f);
  return st;
}

mv_status mv_npy_write(const char *path, const mv_array *array) {
  MV_CHECK_ARG(path && path[0], "mv_npy_write: path is NULL or empty");
  MV_CHECK_ARG(array, "mv_npy_write: array is NULL");
  const char *descr = descr_of(array->dtype);
  MV_CHECK_ARG(descr, "mv_npy_write: %s: unknown dtype %d", path, (int)array->dtype);
  MV_CHECK_ARG(array->ndim >= 0 && array->ndim <= MV_MAX_DIMS,
               "mv_npy_write: %s: ndim %d is outside 0..%d", path, array->ndim, (int)MV_MAX_DIMS);
  uint64_t numel = 1;
  for (int i = 0; i < array->ndim; i++) {
    MV_CHECK_ARG(array->shape[i] >= 0, "mv_npy_write: %s: shape[%d] is negative", path, i);
    numel *= (uint64_t)array->shape[i];
  }
  MV_CHECK_ARG(numel == 0 || array->data, "mv_npy_write: %s: array data is NULL", path);
  size_t bytes = (size_t)numel * mv_dtype_size(array->dtype);

  char tuple[256];
  shape_tuple(tuple, sizeof tuple, array->ndim, array->shape);
  char header[512];
  int hlen = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, tuple);
  /* Version 1.0 prefix is 10 bytes; pad with spaces + '\n' to a multiple of 64 as numpy does. */
  size_t total = 10 + (size_t)hlen + 1;
  size_t padded = (total + 63) / 64 * 64;
  size_t body = padded - 10; /* header text incl. padding and newline */
  memset(header + hlen, ' ', body - 1 - (size_t)hlen);
  header[body - 1] = '\n';
  unsigned char prefix[10];
  memcpy(prefix, NPY_MAGIC, 6);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix[8] = (unsigned char)(body & 0xff);
  prefix[9] = (unsigned char)(body >> 8);

  /* Temporary file in the same folder, renamed over the target when complete. */
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return mv_fail(MV_E_MEMORY, "mv_npy_write: out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp-XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    mv_status st = mv_fail(MV_E_IO, "%s: cannot create a file there: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  (void)fchmod(fd, 0644); /* mkstemp creates 0600 */
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    mv_status st = mv_fail(MV_E_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return st;
  }
  int ok = fwrite(prefix, 1, 10, f) == 10 && fwrite(header, 1, body, f) == body &&
           (bytes == 0 || fwrite(array->data, 1, bytes, f) == bytes);
  int saved = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return mv_fail(MV_E_IO, "%s: write failed: %s", path, strerror(saved));
  }
  if (rename(tmp, path) != 0) {
    saved = errno;
    unlink(tmp);
    free(tmp);
    return mv_fail(MV_E_IO, "%s: cannot rename the temporary file into place: %s", path,
                   strerror(saved));
  }
  free(tmp);
  return MV_OK;
}
