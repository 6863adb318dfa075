/* Checkpoint loading: the real fusion_hashinit.pth against HASHINIT and
 * manifest checks, hand-assembled zips covering every format feature (both
 * pickle protocols, zip64, deflate, views, every dtype), the legacy format and
 * checkpoints from arrays. Damaged and hostile files are in
 * test_checkpoint_damage.c (all under ASan in the _asan variants). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_files.h"
#include "weights/checkpoint.h"
#include "weights/manifest.h"
#include "testutil.h"

/* Test tables use positional initializers that leave trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- the real fixture ------------------------------------------------------------------ */

static void check_fixture(void) {
  const char *path = mv_shared_path("fixtures/golden/fusion_hashinit.pth");
  const char *tsv = mv_shared_path("spec/checkpoints/fusion.tsv");
  mv_manifest *m = NULL;
  mv_checkpoint *c = NULL;
  if (!CHECK_OK(mv_manifest_read(tsv, &m))) return;
  if (CHECK_OK(mv_checkpoint_open(path, &c))) {
    CHECK(mv_checkpoint_count(c) == 12, "fusion_hashinit.pth has 12 keys (%d)",
          mv_checkpoint_count(c));
    int64_t total = 0, identical = 0;
    for (int i = 0; i < m->count; i++) {
      const mv_manifest_entry *e = &m->entries[i];
      CHECK(mv_checkpoint_key(c, i) && strcmp(mv_checkpoint_key(c, i), e->key) == 0,
            "key %d is %s", i, e->key);
      mv_array *a = NULL;
      if (!CHECK_OK(mv_checkpoint_get_float32(c, e->key, e->ndim, e->shape, &a))) continue;
      float *want = malloc((size_t)e->numel * sizeof *want);
      CHECK_OK(mv_hashinit_fill("", e->key, e->ndim, e->shape, want));
      for (int64_t j = 0; j < e->numel; j++)
        identical += memcmp(&want[j], (float *)a->data + j, sizeof(float)) == 0;
      total += e->numel;
      free(want);
      mv_array_free(a);
      /* mv_checkpoint_get gives the same bytes as stored */
      if (CHECK_OK(mv_checkpoint_get(c, e->key, &a)))
        CHECK(a->dtype == MV_FLOAT32 && a->ndim == e->ndim, "%s stored as float32", e->key);
      mv_array_free(a);
    }
    CHECK(total == 39905 && identical == 39905, "%lld of %lld values bit-identical (want 39905)",
          (long long)identical, (long long)total);

    CHECK_OK(mv_checkpoint_check(c, tsv));
    CHECK_FAILS(mv_checkpoint_check(c, mv_shared_path("spec/checkpoints/propagation_model.tsv")),
                MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'mask_rgb_encoder.conv1.weight'") != NULL,
          "propagation manifest: message names a missing key: %.300s", mv_error_message());
    CHECK(strstr(mv_error_message(), "more") != NULL, "a long problem list is abbreviated");

    /* A manifest with one renamed key, one other shape, one other dtype. */
    char text[4096];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "# edited\nkey\tdtype\tshape\tnumel\n");
    for (int i = 0; i < m->count; i++) {
      const mv_manifest_entry *e = &m->entries[i];
      char shape[64];
      int sl = 0;
      shape[0] = '\0';
      for (int d = 0; d < e->ndim; d++)
        sl += snprintf(shape + sl, sizeof shape - (size_t)sl, d ? ",%lld" : "%lld",
                       (long long)e->shape[d]);
      if (strcmp(e->key, "conv2.0.bias") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "conv2.0.bias_renamed\tfloat32\t32\t32\n");
      else if (strcmp(e->key, "conv1.0.weight") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "conv1.0.weight\tfloat32\t32,3,3,3\t864\n");
      else if (strcmp(e->key, "final_conv.bias") == 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "final_conv.bias\tint64\t1\t1\n");
      else
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\t%s\t%s\t%lld\n", e->key,
                              mv_dtype_name(e->dtype), shape, (long long)e->numel);
    }
    const char *edited = mv_test_temp_path("edited.tsv");
    mv_test_write_file(edited, text, n);
    CHECK_FAILS(mv_checkpoint_check(c, edited), MV_E_MISMATCH);
    const char *msg = mv_error_message();
    CHECK(strstr(msg, "4 problems") != NULL, "4 problems: %s", msg);
    CHECK(strstr(msg, "missing key 'conv2.0.bias_renamed'") != NULL, "missing key named");
    CHECK(strstr(msg, "unexpected key 'conv2.0.bias' (float32 32)") != NULL,
          "unexpected key named with its shape");
    CHECK(strstr(msg, "key 'conv1.0.weight' has shape 32x9x3x3, expected 32x3x3x3") != NULL,
          "shape mismatch names both shapes");
    CHECK(strstr(msg, "key 'final_conv.bias' has dtype float32, expected int64") != NULL,
          "dtype mismatch named");

    /* get_float32 with the wrong shape / a missing key / NULL arguments. */
    mv_array *a = (mv_array *)1;
    int64_t wrong[4] = {32, 3, 3, 3};
    CHECK_FAILS(mv_checkpoint_get_float32(c, "conv1.0.weight", 4, wrong, &a), MV_E_MISMATCH);
    CHECK(a == NULL, "no array on failure");
    CHECK(strstr(mv_error_message(), "key 'conv1.0.weight' has shape 32x9x3x3, expected "
                                     "32x3x3x3") != NULL,
          "shape message: %s", mv_error_message());
    CHECK(strstr(mv_error_message(), "fusion_hashinit.pth") != NULL, "names the file");
    CHECK_FAILS(mv_checkpoint_get_float32(c, "conv1.0.weight", 3, wrong, &a), MV_E_MISMATCH);
    CHECK_FAILS(mv_checkpoint_get_float32(c, "nope.weight", 1, wrong, &a), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'nope.weight'") != NULL, "missing: %s",
          mv_error_message());
    CHECK_FAILS(mv_checkpoint_get(c, "nope.weight", &a), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'nope.weight'") != NULL, "missing: %s",
          mv_error_message());
    CHECK_FAILS(mv_checkpoint_get(c, NULL, &a), MV_E_ARGUMENT);
    CHECK_FAILS(mv_checkpoint_get(NULL, "x", &a), MV_E_ARGUMENT);
    CHECK_FAILS(mv_checkpoint_check(c, mv_test_temp_path("no_manifest.tsv")), MV_E_IO);
  }
  mv_checkpoint_close(c);
  mv_manifest_free(m);
}

/* ---- hand-assembled checkpoints ------------------------------------------------------- */

static int floats_are(const mv_array *a, const float *want, int n) {
  if (!a || a->dtype != MV_FLOAT32 || mv_array_numel(a) != n) return 0;
  return memcmp(a->data, want, (size_t)n * sizeof(float)) == 0;
}

static void check_good(const char *path, int count, const char *what) {
  mv_checkpoint *c = NULL;
  if (!CHECK_OK(mv_checkpoint_open(path, &c))) return;
  tspec t[16];
  int n = good_specs(t);
  CHECK(mv_checkpoint_count(c) == count && count == n, "%s: %d keys", what,
        mv_checkpoint_count(c));
  int order = 1;
  for (int i = 0; i < n; i++) order &= strcmp(mv_checkpoint_key(c, i), t[i].key) == 0;
  CHECK(order, "%s: state_dict order", what);
  mv_array *a = NULL;
  CHECK_OK(mv_checkpoint_get(c, "a", &a));
  CHECK(floats_are(a, F32, 12) && a->ndim == 2 && a->shape[0] == 3, "%s: contiguous", what);
  mv_array_free(a);
  const float bt[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  CHECK_OK(mv_checkpoint_get(c, "b.transposed", &a));
  CHECK(floats_are(a, bt, 12), "%s: transposed view materialised in C order", what);
  mv_array_free(a);
  const float fs[2] = {1, 6};
  CHECK_OK(mv_checkpoint_get(c, "f.strided", &a));
  CHECK(floats_are(a, fs, 2), "%s: strided view with an offset", what);
  mv_array_free(a);
  const float pp[4] = {5, 6, 9, 10};
  int64_t s22[2] = {2, 2};
  CHECK_OK(mv_checkpoint_get_float32(c, "p.param", 2, s22, &a));
  CHECK(floats_are(a, pp, 4), "%s: _rebuild_parameter, window of a shared storage", what);
  mv_array_free(a);
  const float bc[6] = {2, 3, 4, 2, 3, 4};
  CHECK_OK(mv_checkpoint_get(c, "bcast", &a));
  CHECK(floats_are(a, bc, 6), "%s: stride-0 (expanded) view", what);
  mv_array_free(a);
  const float hf[4] = {1.5f, -2.0f, 65504.0f, 0x1p-24f};
  int64_t s4[1] = {4};
  CHECK_OK(mv_checkpoint_get(c, "h.half", &a));
  CHECK(a && a->dtype == MV_FLOAT16, "%s: float16 kept as stored", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get_float32(c, "h.half", 1, s4, &a));
  CHECK(floats_are(a, hf, 4), "%s: float16 -> float32 incl. max and subnormal", what);
  mv_array_free(a);
  const float df[4] = {1.25f, -3.0f, 1e-3f, 7.0f};
  CHECK_OK(mv_checkpoint_get_float32(c, "d.double", 2, s22, &a));
  CHECK(floats_are(a, df, 4), "%s: float64 (deflated) -> float32", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "n.num_batches_tracked", &a));
  CHECK(a && a->dtype == MV_INT64 && a->ndim == 0 && ((int64_t *)a->data)[0] == 42,
        "%s: int64 scalar", what);
  mv_array_free(a);
  CHECK_FAILS(mv_checkpoint_get_float32(c, "n.num_batches_tracked", 0, NULL, &a), MV_E_MISMATCH);
  CHECK(strstr(mv_error_message(), "int64") != NULL, "non-float dtype named: %s",
        mv_error_message());
  CHECK_OK(mv_checkpoint_get(c, "i32", &a));
  CHECK(a && a->dtype == MV_INT32 && memcmp(a->data, I32, sizeof I32) == 0, "%s: int32", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "i16", &a));
  CHECK(a && a->dtype == MV_INT16 && memcmp(a->data, I16, sizeof I16) == 0, "%s: int16", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "u8", &a));
  CHECK(a && a->dtype == MV_UINT8 && memcmp(a->data, U8, sizeof U8) == 0, "%s: uint8", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "b8", &a));
  CHECK(a && a->dtype == MV_BOOL && memcmp(a->data, B8, sizeof B8) == 0, "%s: bool", what);
  mv_array_free(a);
  CHECK_OK(mv_checkpoint_get(c, "e.empty", &a));
  CHECK(a && a->ndim == 2 && a->shape[0] == 0 && a->shape[1] == 3 && mv_array_numel(a) == 0,
        "%s: empty tensor", what);
  mv_array_free(a);
  mv_checkpoint_close(c);
}

static void check_good_zips(void) {
  tspec t[16];
  sdata s[16];
  int n = good_specs(t), ns = good_storages(s, 1);
  for (int style = 2; style <= 4; style += 2)
    for (int zip64 = 0; zip64 <= 1; zip64++) {
      buf pk = {0};
      pk_state_dict(&pk, t, n, style, 0);
      char what[64];
      snprintf(what, sizeof what, "protocol %d%s", style, zip64 ? ", zip64" : "");
      const char *path = make_zip("good.pth", zip64 ? "archive" : "my.model-v2", &pk, s, ns,
                                  zip64, zip64 ? NULL : "a zip comment");
      check_good(path, n, what);
      buf_free(&pk);
    }

  /* mv_checkpoint_check: float16 stored for a float32 entry is fine. */
  buf pk = {0};
  pk_state_dict(&pk, t, n, 2, 0);
  const char *path = make_zip("good.pth", "x", &pk, s, ns, 0, NULL);
  buf_free(&pk);
  const char *tsv =
      "key\tdtype\tshape\tnumel\na\tfloat32\t3,4\t12\nb.transposed\tfloat32\t4,3\t12\n"
      "f.strided\tfloat32\t2\t2\np.param\tfloat32\t2,2\t4\nh.half\tfloat32\t4\t4\n"
      "d.double\tfloat64\t2,2\t4\nn.num_batches_tracked\tint64\t\t1\ni32\tint32\t2\t2\n"
      "i16\tint16\t2\t2\nu8\tuint8\t3\t3\nb8\tbool\t2\t2\ne.empty\tfloat32\t0,3\t0\n"
      "bcast\tfloat32\t2,3\t6\n";
  const char *tsv_path = mv_test_temp_path("good.tsv");
  mv_test_write_file(tsv_path, tsv, strlen(tsv));
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(path, &c))) {
    CHECK_OK(mv_checkpoint_check(c, tsv_path));
    /* Without 'a' in the manifest, 'a' is unexpected. */
    const char *tsv2 = "key\tdtype\tshape\tnumel\nzz\tfloat32\t1\t1\n";
    const char *p2 = mv_test_temp_path("other.tsv");
    mv_test_write_file(p2, tsv2, strlen(tsv2));
    CHECK_FAILS(mv_checkpoint_check(c, p2), MV_E_MISMATCH);
    CHECK(strstr(mv_error_message(), "missing key 'zz'") &&
              strstr(mv_error_message(), "unexpected key 'a' (float32 3x4)"),
          "check lists missing and unexpected keys: %s", mv_error_message());
  }
  mv_checkpoint_close(c);
}

/* ---- legacy (torch < 1.6) format ---------------------------------------------------------- */

static void legacy_file(buf *b, int bad_magic, size_t cut) {
  static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  put(b, "\x80\x02\x8a\x0a", 4);
  put(b, magic, 10);
  if (bad_magic) b->p[b->n - 1] ^= 1;
  put8(b, '.');
  put(b, "\x80\x02M\xe9\x03.", 6); /* 1001 */
  put(b, "\x80\x02}(", 4);        /* sys_info */
  pk_str(b, "protocol_version", 2);
  pk_int(b, 1001);
  pk_str(b, "little_endian", 2);
  put8(b, 0x88);
  pk_str(b, "type_sizes", 2);
  put8(b, '}');
  put(b, "u.", 2);
  tspec t[3] = {
      T("a", "FloatStorage", "140", 12, 0, 2, {3, 4}, {4, 1}),
      T("v", "FloatStorage", "140", 12, 0, 2, {2, 2}, {2, 1}, 0, "141", 4, 4),
      T("n", "LongStorage", "150", 1, 0, 0, {0}, {0}),
  };
  pk_state_dict(b, t, 3, 2, 1);
  put(b, "\x80\x02](", 4);
  pk_str(b, "140", 2);
  pk_str(b, "150", 2);
  put(b, "e.", 2);
  put_le(b, 12, 8);
  put(b, F32, sizeof F32);
  put_le(b, 1, 8);
  put(b, I64, sizeof I64);
  if (cut) b->n -= cut;
}

static void check_legacy(void) {
  buf b = {0};
  legacy_file(&b, 0, 0);
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(write_buf("legacy.pth", &b), &c))) {
    CHECK(mv_checkpoint_count(c) == 3 && strcmp(mv_checkpoint_key(c, 1), "v") == 0,
          "legacy: 3 keys in order");
    mv_array *a = NULL;
    CHECK_OK(mv_checkpoint_get(c, "a", &a));
    CHECK(floats_are(a, F32, 12), "legacy: tensor values");
    mv_array_free(a);
    const float view[4] = {4, 5, 6, 7};
    CHECK_OK(mv_checkpoint_get(c, "v", &a));
    CHECK(floats_are(a, view, 4), "legacy: storage view at an offset");
    mv_array_free(a);
    CHECK_OK(mv_checkpoint_get(c, "n", &a));
    CHECK(a && a->dtype == MV_INT64 && ((int64_t *)a->data)[0] == 42, "legacy: int64 scalar");
    mv_array_free(a);
  }
  mv_checkpoint_close(c);
  buf_free(&b);
  legacy_file(&b, 0, 4);
  expect_open_error(write_buf("legacy_cut.pth", &b), MV_E_FORMAT, "truncated", "legacy cut");
  buf_free(&b);
  legacy_file(&b, 0, 8 + 3);
  expect_open_error(write_buf("legacy_cut2.pth", &b), MV_E_FORMAT, "'150'", "legacy cut 2");
  buf_free(&b);
  legacy_file(&b, 1, 0);
  expect_open_error(write_buf("legacy_magic.pth", &b), MV_E_FORMAT, "magic", "legacy magic");
  buf_free(&b);
  put(&b, "\x80\x02}.", 4); /* a plain pickle, not a torch file */
  expect_open_error(write_buf("plain.pkl", &b), MV_E_FORMAT, "magic", "plain pickle");
  buf_free(&b);
}

/* ---- checkpoints from arrays ------------------------------------------------------------- */

static void check_from_arrays(void) {
  int64_t s[2] = {2, 2};
  mv_array *arrays[2] = {NULL, NULL};
  mv_array_new(MV_FLOAT32, 2, s, &arrays[0]);
  mv_array_new(MV_FLOAT32, 1, s, &arrays[1]);
  const char *keys[2] = {"k", "k"};
  mv_checkpoint *c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_from_arrays("dup", 2, keys, arrays, &c), MV_E_ARGUMENT);
  CHECK(c == NULL && arrays[0] == NULL && arrays[1] == NULL,
        "duplicate keys: arrays consumed, no checkpoint");
  mv_array_new(MV_FLOAT32, 2, s, &arrays[0]);
  ((float *)arrays[0]->data)[3] = 9.0f;
  const char *one[1] = {"w"};
  if (CHECK_OK(mv_checkpoint_from_arrays("mem", 1, one, arrays, &c))) {
    mv_array *a = NULL;
    CHECK_OK(mv_checkpoint_get_float32(c, "w", 2, s, &a));
    CHECK(a && ((float *)a->data)[3] == 9.0f, "from_arrays: values");
    CHECK(strcmp(mv_checkpoint_name(c), "mem") == 0, "from_arrays: name");
    mv_array_free(a);
    mv_checkpoint_close(c);
  }
  CHECK_FAILS(mv_checkpoint_open(NULL, &c), MV_E_ARGUMENT);
  CHECK_FAILS(mv_checkpoint_open("x", NULL), MV_E_ARGUMENT);
  mv_checkpoint_close(NULL);
  CHECK(mv_checkpoint_count(NULL) == 0 && mv_checkpoint_key(NULL, 0) == NULL, "NULL checkpoint");
}

int main(void) {
  check_fixture();
  check_good_zips();
  check_legacy();
  check_from_arrays();
  return mv_test_finish();
}
