/* .npy: round trips for every dtype (incl. 0-d and empty), the numpy header
 * layout, format 2.0/3.0, real fixtures, and every kind of bad input. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const mv_dtype ALL[] = {MV_FLOAT32, MV_FLOAT16, MV_FLOAT64, MV_INT64,
                               MV_INT32,   MV_INT16,   MV_UINT8,   MV_BOOL};

static int read_all(const char *path, unsigned char **out, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc(n > 0 ? (size_t)n : 1);
  *size = fread(*out, 1, (size_t)n, f);
  fclose(f);
  return 0;
}

static void fill_pattern(mv_array *a) {
  size_t bytes = (size_t)mv_array_numel(a) * mv_dtype_size(a->dtype);
  unsigned char *p = a->data;
  for (size_t i = 0; i < bytes; i++) p[i] = (unsigned char)(i * 37 + 11);
  if (a->dtype == MV_BOOL)
    for (size_t i = 0; i < bytes; i++) p[i] &= 1;
}

static void round_trip(mv_dtype dtype, int ndim, const int64_t *shape, const char *label) {
  char name[128];
  snprintf(name, sizeof name, "rt_%s_%s.npy", mv_dtype_name(dtype), label);
  const char *path = mv_test_temp_path(name);
  mv_array *a = NULL, *b = NULL;
  if (!CHECK_OK(mv_array_new(dtype, ndim, shape, &a))) return;
  fill_pattern(a);
  if (CHECK_OK(mv_npy_write(path, a)) && CHECK_OK(mv_npy_read(path, &b))) {
    int same = b->dtype == a->dtype && b->ndim == a->ndim;
    for (int d = 0; same && d < a->ndim; d++) same = b->shape[d] == a->shape[d];
    size_t bytes = (size_t)mv_array_numel(a) * mv_dtype_size(dtype);
    CHECK(same, "%s: dtype and shape survive the round trip", name);
    CHECK(same && memcmp(a->data, b->data, bytes) == 0, "%s: data survives the round trip", name);
    /* numpy's layout: version 1.0, header padded to a multiple of 64 bytes, ends with '\n'. */
    unsigned char *raw = NULL;
    size_t size = 0;
    if (read_all(path, &raw, &size) == 0 && size >= 10) {
      size_t hlen = raw[8] | (size_t)raw[9] << 8;
      CHECK(raw[6] == 1 && raw[7] == 0, "%s: format version 1.0", name);
      CHECK((10 + hlen) % 64 == 0 && raw[10 + hlen - 1] == '\n', "%s: header padded to 64", name);
      CHECK(size == 10 + hlen + bytes, "%s: file size %zu = header + data", name, size);
    }
    free(raw);
  }
  mv_array_free(a);
  mv_array_free(b);
}

static void check_round_trips(void) {
  int64_t s23[2] = {2, 3}, s0[1] = {0}, s302[3] = {3, 0, 2}, s5[5] = {2, 1, 3, 1, 2};
  for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++) {
    round_trip(ALL[i], 2, s23, "2x3");
    round_trip(ALL[i], 0, NULL, "scalar");
    round_trip(ALL[i], 1, s0, "empty");
    round_trip(ALL[i], 3, s302, "3x0x2");
    round_trip(ALL[i], 5, s5, "5d");
  }
  /* The exact header numpy writes. */
  mv_array *a = NULL;
  int64_t s34[2] = {3, 4};
  const char *path = mv_test_temp_path("header.npy");
  if (CHECK_OK(mv_array_new(MV_FLOAT32, 2, s34, &a)) && CHECK_OK(mv_npy_write(path, a))) {
    unsigned char *raw = NULL;
    size_t size = 0;
    read_all(path, &raw, &size);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    CHECK(size > 10 + strlen(want) && memcmp(raw, "\x93NUMPY", 6) == 0 &&
              memcmp(raw + 10, want, strlen(want)) == 0,
          "header text is numpy's");
    free(raw);
  }
  /* Overwriting an existing file replaces it. */
  if (a) {
    ((float *)a->data)[5] = 42.0f;
    mv_array *b = NULL;
    if (CHECK_OK(mv_npy_write(path, a)) && CHECK_OK(mv_npy_read(path, &b)))
      CHECK(((float *)b->data)[5] == 42.0f, "second write replaced the file");
    mv_array_free(b);
  }
  mv_array_free(a);
}

/* Hand-written files: other versions, header variants, bad inputs. */
static const char *write_npy(const char *name, int major, const char *header, const void *data,
                             size_t data_len) {
  unsigned char buf[4096];
  size_t n = 0, hlen = strlen(header);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  n = 8;
  if (major == 1) {
    buf[n++] = (unsigned char)(hlen & 0xff);
    buf[n++] = (unsigned char)(hlen >> 8);
  } else {
    for (int i = 0; i < 4; i++) buf[n++] = (unsigned char)(hlen >> (8 * i));
  }
  memcpy(buf + n, header, hlen);
  n += hlen;
  if (data_len) memcpy(buf + n, data, data_len);
  n += data_len;
  const char *path = mv_test_temp_path(name);
  mv_test_write_file(path, buf, n);
  return path;
}

static void expect_read_error(const char *path, mv_status status, const char *needle) {
  mv_array *a = (mv_array *)1;
  CHECK_FAILS(mv_npy_read(path, &a), status);
  CHECK(a == NULL, "no array on failure (%s)", path);
  CHECK(strstr(mv_error_message(), needle) != NULL, "message has '%s': %s", needle,
        mv_error_message());
  const char *base = strrchr(path, '/');
  CHECK(strstr(mv_error_message(), base ? base + 1 : path) != NULL, "message names the file: %s",
        mv_error_message());
  mv_array_free(a == (mv_array *)1 ? NULL : a);
}

static void check_versions_and_errors(void) {
  const float v[6] = {1, 2, 3, 4, 5, 6};
  mv_array *a = NULL;
  const char *p2 = write_npy("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", v, sizeof v);
  if (CHECK_OK(mv_npy_read(p2, &a)))
    CHECK(a->ndim == 2 && a->shape[1] == 3 && ((float *)a->data)[5] == 6.0f, "format 2.0 reads");
  mv_array_free(a);
  a = NULL;
  const char *p3 = write_npy("v3.npy", 3, "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(6L,)}   \n", v, sizeof v);
  if (CHECK_OK(mv_npy_read(p3, &a)))
    CHECK(a->ndim == 1 && a->shape[0] == 6 && ((float *)a->data)[0] == 1.0f,
          "format 3.0, double quotes, no spaces, 6L");
  mv_array_free(a);
  a = NULL;
  /* Key order does not matter; a single-byte '>u1' is endian-neutral. */
  const char *pk = write_npy("order.npy", 1, "{'shape': (2,), 'fortran_order': False, 'descr': '|u1', }\n", "\x07\x09", 2);
  if (CHECK_OK(mv_npy_read(pk, &a)))
    CHECK(a->dtype == MV_UINT8 && ((unsigned char *)a->data)[1] == 9, "keys in another order");
  mv_array_free(a);

  expect_read_error(write_npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }\n", v, sizeof v),
                    MV_E_UNSUPPORTED, "big-endian");
  expect_read_error(write_npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", v, sizeof v),
                    MV_E_UNSUPPORTED, "fortran_order");
  expect_read_error(write_npy("complex.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", v, sizeof v),
                    MV_E_UNSUPPORTED, "<c8");
  expect_read_error(write_npy("struct.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }\n", v, sizeof v),
                    MV_E_UNSUPPORTED, "structured");
  expect_read_error(write_npy("v9.npy", 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", v, sizeof v),
                    MV_E_UNSUPPORTED, "version 9");
  expect_read_error(write_npy("garbage_header.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }\n", v, sizeof v),
                    MV_E_FORMAT, "bad .npy header");
  expect_read_error(write_npy("no_shape.npy", 1, "{'descr': '<f4', 'fortran_order': False, }\n", v, sizeof v),
                    MV_E_FORMAT, "missing 'shape'");
  expect_read_error(write_npy("short_data.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n", v, sizeof v - 4),
                    MV_E_FORMAT,
                    "header says shape (3, 4) = 12 elements of 4 bytes but only 20 bytes of data follow");

  expect_read_error(write_npy("huge.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000), }\n", v, sizeof v),
                    MV_E_FORMAT, "only 24 bytes of data follow");
  expect_read_error(write_npy("overflow.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000), }\n", v, sizeof v),
                    MV_E_FORMAT, "too many elements");
  a = NULL;
  const char *pz = write_npy("zero_dim.npy", 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (100000000000, 0, 100000000000), }\n", v, 0);
  if (CHECK_OK(mv_npy_read(pz, &a)))
    CHECK(a->ndim == 3 && a->shape[1] == 0 && mv_array_numel(a) == 0, "empty array with huge dims");
  mv_array_free(a);
  /* Truncated header: the length field promises more than the file has. */
  unsigned char cut[40];
  memcpy(cut, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fort", 33);
  const char *pt = mv_test_temp_path("cut_header.npy");
  mv_test_write_file(pt, cut, 33);
  expect_read_error(pt, MV_E_FORMAT, "ends inside the header");
  mv_test_write_file(pt, cut, 7);
  expect_read_error(pt, MV_E_FORMAT, "ends inside the magic");
  mv_test_write_file(pt, "", 0);
  expect_read_error(pt, MV_E_FORMAT, "ends inside the magic");
  const char *pm = mv_test_temp_path("bad_magic.npy");
  mv_test_write_file(pm, "\x93NUMPZ\x01\x00\x10\x00{}              ", 26);
  expect_read_error(pm, MV_E_FORMAT, "bad magic");
  /* Truncated data of a file we wrote ourselves. */
  int64_t s23[2] = {2, 3};
  mv_array *w = NULL;
  const char *pw = mv_test_temp_path("to_cut.npy");
  if (CHECK_OK(mv_array_new(MV_FLOAT64, 2, s23, &w)) && CHECK_OK(mv_npy_write(pw, w))) {
    unsigned char *raw = NULL;
    size_t size = 0;
    read_all(pw, &raw, &size);
    mv_test_write_file(pw, raw, size - 3);
    expect_read_error(pw, MV_E_FORMAT, "6 elements of 8 bytes but only 45 bytes");
    free(raw);
  }
  mv_array_free(w);
  expect_read_error(mv_test_temp_path("missing.npy"), MV_E_IO, "cannot open");
}

static int folder_has_temp_files(const char *folder) {
  DIR *d = opendir(folder);
  if (!d) return 0;
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp")) found = 1;
  closedir(d);
  return found;
}

static void check_write_errors(void) {
  int64_t s[1] = {4};
  mv_array *a = NULL;
  if (!CHECK_OK(mv_array_new(MV_FLOAT32, 1, s, &a))) return;
  const char *bad = mv_test_temp_path("no_such_folder/x.npy");
  CHECK_FAILS(mv_npy_write(bad, a), MV_E_IO);
  CHECK(strstr(mv_error_message(), bad) != NULL, "message names the path: %s",
        mv_error_message());
  struct stat sb;
  CHECK(stat(bad, &sb) != 0, "nothing written for an unwritable path");

  /* The target is a folder: the rename fails after the data was written;
   * the temporary file must be gone. */
  char folder[4096];
  snprintf(folder, sizeof folder, "%s", mv_test_temp_path("writes"));
  mkdir(folder, 0700);
  char target[4200];
  snprintf(target, sizeof target, "%s/target.npy", folder);
  mkdir(target, 0700);
  CHECK_FAILS(mv_npy_write(target, a), MV_E_IO);
  CHECK(strstr(mv_error_message(), "target.npy") != NULL, "message names the path: %s",
        mv_error_message());
  CHECK(!folder_has_temp_files(folder), "no temporary file left behind");
  rmdir(target);

  /* Argument checks. */
  CHECK_FAILS(mv_npy_write(NULL, a), MV_E_ARGUMENT);
  CHECK_FAILS(mv_npy_write(target, NULL), MV_E_ARGUMENT);
  mv_array bogus = *a;
  bogus.dtype = (mv_dtype)99;
  CHECK_FAILS(mv_npy_write(target, &bogus), MV_E_ARGUMENT);
  mv_array *none = NULL;
  CHECK_FAILS(mv_npy_read(NULL, &none), MV_E_ARGUMENT);
  CHECK(stat(target, &sb) != 0, "no file from rejected writes");
  mv_array_free(a);
  rmdir(folder);
}

static void check_arrays(void) {
  CHECK(mv_dtype_size(MV_FLOAT32) == 4 && mv_dtype_size(MV_FLOAT16) == 2 &&
            mv_dtype_size(MV_FLOAT64) == 8 && mv_dtype_size(MV_INT64) == 8 &&
            mv_dtype_size(MV_INT32) == 4 && mv_dtype_size(MV_INT16) == 2 &&
            mv_dtype_size(MV_UINT8) == 1 && mv_dtype_size(MV_BOOL) == 1,
        "dtype sizes");
  CHECK(mv_dtype_size((mv_dtype)42) == 0, "unknown dtype has size 0");
  CHECK(strcmp(mv_dtype_name(MV_FLOAT16), "float16") == 0 &&
            strcmp(mv_dtype_name(MV_BOOL), "bool") == 0 &&
            strcmp(mv_dtype_name((mv_dtype)42), "unknown") == 0,
        "dtype names");
  mv_array *a = (mv_array *)1;
  int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK_FAILS(mv_array_new(MV_FLOAT32, 9, shape, &a), MV_E_ARGUMENT);
  CHECK(a == NULL, "no array on failure");
  CHECK_FAILS(mv_array_new(MV_FLOAT32, -1, shape, &a), MV_E_ARGUMENT);
  CHECK_FAILS(mv_array_new((mv_dtype)42, 1, shape, &a), MV_E_ARGUMENT);
  CHECK_FAILS(mv_array_new(MV_FLOAT32, 1, NULL, &a), MV_E_ARGUMENT);
  CHECK_FAILS(mv_array_new(MV_FLOAT32, 1, shape, NULL), MV_E_ARGUMENT);
  int64_t neg[2] = {3, -2};
  CHECK_FAILS(mv_array_new(MV_FLOAT32, 2, neg, &a), MV_E_ARGUMENT);
  int64_t huge[3] = {INT64_MAX / 2, 4, 1};
  CHECK_FAILS(mv_array_new(MV_FLOAT32, 3, huge, &a), MV_E_MEMORY);
  int64_t big[2] = {INT64_MAX / 4, 3};
  CHECK_FAILS(mv_array_new(MV_FLOAT64, 2, big, &a), MV_E_MEMORY);
  int64_t s[3] = {2, 3, 4};
  if (CHECK_OK(mv_array_new(MV_INT32, 3, s, &a))) {
    CHECK(mv_array_numel(a) == 24, "numel 24");
    int zero = 1;
    for (int i = 0; i < 24; i++) zero &= ((int32_t *)a->data)[i] == 0;
    CHECK(zero, "new arrays are zero-filled");
    mv_array_free(a);
  }
  if (CHECK_OK(mv_array_new(MV_FLOAT32, 0, NULL, &a))) {
    CHECK(mv_array_numel(a) == 1 && a->data, "a scalar has one element");
    mv_array_free(a);
  }
  CHECK(mv_array_numel(NULL) == 0, "numel of NULL is 0");
  mv_array_free(NULL);
}

/* Mean of an array from the fixtures' manifest.json: the "mean" after "name". */
static double manifest_mean(const char *name) {
  unsigned char *text = NULL;
  size_t size = 0;
  if (read_all(mv_shared_path("fixtures/golden/manifest.json"), &text, &size) != 0) return NAN;
  text = realloc(text, size + 1);
  text[size] = '\0';
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", name);
  const char *at = strstr((const char *)text, quoted);
  const char *mean = at ? strstr(at, "\"mean\":") : NULL;
  double v = mean ? strtod(mean + 7, NULL) : NAN;
  free(text);
  return v;
}

static void check_fixtures(void) {
  mv_array *a = NULL;
  if (CHECK_OK(mv_npy_read(mv_shared_path("fixtures/golden/memory_read/top50_indices.npy"), &a))) {
    CHECK(a->dtype == MV_INT64 && a->ndim == 3 && a->shape[0] == 1 && a->shape[1] == 50 &&
              a->shape[2] == 112,
          "top50_indices: int64 1x50x112");
    const int64_t *v = a->data;
    double sum = 0;
    int in_range = 1;
    for (int64_t i = 0; i < mv_array_numel(a); i++) {
      sum += (double)v[i];
      in_range &= v[i] >= 0 && v[i] < 336;
    }
    double want = manifest_mean("top50_indices");
    CHECK(in_range, "indices within the 336 memory positions");
    CHECK(fabs(sum / 5600 - want) <= 1e-9 * want, "top50 mean %.12g vs manifest %.12g",
          sum / 5600, want);
  }
  mv_array_free(a);
  a = NULL;
  if (CHECK_OK(mv_npy_read(mv_shared_path("fixtures/golden/session/round1_prob.npy"), &a))) {
    const int64_t want_shape[5] = {3, 16, 1, 128, 224};
    int same = a->dtype == MV_FLOAT32 && a->ndim == 5;
    for (int d = 0; same && d < 5; d++) same = a->shape[d] == want_shape[d];
    CHECK(same, "round1_prob: float32 3x16x1x128x224");
    const float *v = a->data;
    int64_t n = mv_array_numel(a);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    double want = manifest_mean("round1_prob");
    CHECK(fabs(sum / (double)n - want) <= 1e-6 * fabs(want), "round1_prob mean %.12g vs %.12g",
          sum / (double)n, want);
  }
  mv_array_free(a);
}

int main(void) {
  check_arrays();
  check_round_trips();
  check_versions_and_errors();
  check_write_errors();
  check_fixtures();
  return mv_test_finish();
}
