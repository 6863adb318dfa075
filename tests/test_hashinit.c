/* HASHINIT: the reference table of spec/HASHINIT.md (seeds, first values,
 * sums), synthesized checkpoints for the three manifests, salts, and the
 * manifest reader's error messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights/checkpoint.h"
#include "weights/manifest.h"
#include "testutil.h"

typedef struct reference_row {
  const char *manifest, *key;
  int ndim;
  int64_t shape[4];
  uint64_t seed;
  const char *first[4]; /* as printed; NULL when the tensor has fewer elements */
  const char *sum;      /* as printed: compared to half a unit of its last digit */
} reference_row;

static const reference_row ROWS[] = {
    {"propagation_model", "mask_rgb_encoder.conv1.weight", 4, {64, 5, 7, 7}, 0xa14508260405c861ull,
     {"-0.128525525", "0.0450646468", "0.130340517", "0.0566779412"}, "-8.916243306"},
    {"propagation_model", "rgb_encoder.bn1.running_var", 1, {64}, 0x288a2da3ddcca479ull,
     {"1.31024313", "1.17335486", "1.42021549", "1.21325362"}, "80.46838045"},
    {"propagation_model", "kv_m_f16.key_proj.bias", 1, {128}, 0x52fc410a5e76cf9eull,
     {"0.0898916274", "-0.034310054", "0.0981614217", "0.074328959"}, "-0.4129398807"},
    {"propagation_model", "decoder.pred.weight", 4, {1, 256, 3, 3}, 0x8a61a9bf8ce1f692ull,
     {"-0.00937965047", "0.00937902555", "-0.00281349849", "0.00397931039"}, "0.2560245332"},
    {"fusion", "conv1.0.weight", 4, {32, 9, 3, 3}, 0xf460ad310ea8243eull,
     {"0.136570051", "-0.130174547", "-0.193821684", "0.200933978"}, "-1.927447584"},
    {"fusion", "final_conv.weight", 4, {1, 32, 3, 3}, 0x6a041d881ad2ef40ull,
     {"0.0139189148", "0.219159827", "-0.17057094", "0.0167009924"}, "1.344491523"},
    {"s2m", "backbone.layer4.2.bn3.weight", 1, {2048}, 0x4dadf8c731fd9128ull,
     {"0.989171982", "0.920935512", "0.957556665", "0.985592008"}, "2050.678607"},
    {"s2m", "classifier.aspp.convs.1.0.weight", 4, {256, 2048, 3, 3}, 0x41ce4eb77574c466ull,
     {"0.0143046035", "-0.0144532928", "0.00581829017", "-0.0126035092"}, "-36.43372183"},
    {"s2m", "classifier.classifier.3.weight", 4, {1, 256, 1, 1}, 0xe301536c0614db9aull,
     {"1.02106142", "0.0171476714", "0.578080714", "-0.735773861"}, "-2.633559712"},
    {"s2m", "backbone.bn1.running_mean", 1, {64}, 0x0373fa8a652c14ccull,
     {"-0.0428601131", "0.0420402065", "-0.0619224533", "0.0548106916"}, "0.1060578888"},
    {"s2m", "backbone.bn1.num_batches_tracked", 0, {0}, 0x05628caacbf1fd69ull,
     {"0", NULL, NULL, NULL}, "0"},
};

static const char *manifest_path(const char *network) {
  static char buf[1024];
  char rel[256];
  snprintf(rel, sizeof rel, "spec/checkpoints/%s.tsv", network);
  snprintf(buf, sizeof buf, "%s", mv_shared_path(rel));
  return buf;
}

/* Half a unit of the last printed decimal digit. */
static double printed_tolerance(const char *s) {
  const char *dot = strchr(s, '.');
  int decimals = dot ? (int)strlen(dot + 1) : 0;
  return 0.5 * pow(10.0, -decimals) * (1 + 1e-9);
}

static void check_reference_rows(void) {
  for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
    const reference_row *row = &ROWS[r];
    CHECK(mv_hashinit_seed("", row->key) == row->seed, "seed of %s: %016llx, expected %016llx",
          row->key, (unsigned long long)mv_hashinit_seed("", row->key),
          (unsigned long long)row->seed);
    CHECK(mv_hashinit_seed(NULL, row->key) == row->seed, "NULL salt = empty salt for %s", row->key);
    /* The shape comes from the manifest, as the spec's self-check recipe says. */
    mv_manifest *m = NULL;
    if (!CHECK_OK(mv_manifest_read(manifest_path(row->manifest), &m))) continue;
    const mv_manifest_entry *e = NULL;
    for (int i = 0; i < m->count; i++)
      if (strcmp(m->entries[i].key, row->key) == 0) e = &m->entries[i];
    CHECK(e != NULL, "%s is listed in %s.tsv", row->key, row->manifest);
    if (!e) {
      mv_manifest_free(m);
      continue;
    }
    int same = e->ndim == row->ndim;
    for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == row->shape[d];
    CHECK(same, "%s: manifest shape matches the reference table", row->key);
    float *v = malloc((size_t)(e->numel ? e->numel : 1) * sizeof *v);
    if (CHECK_OK(mv_hashinit_fill("", row->key, e->ndim, e->shape, v))) {
      for (int j = 0; j < 4 && row->first[j]; j++) {
        float want = strtof(row->first[j], NULL);
        CHECK(memcmp(&v[j], &want, sizeof want) == 0, "%s[%d] = %.9g, expected %s", row->key, j,
              v[j], row->first[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < e->numel; j++) sum += v[j];
      double want = strtod(row->sum, NULL), tol = printed_tolerance(row->sum);
      CHECK(fabs(sum - want) <= tol, "%s: sum %.12g, expected %s (+-%.1g)", row->key, sum,
            row->sum, tol);
    }
    free(v);
    mv_manifest_free(m);
  }
}

static void check_salt(void) {
  /* FNV-1a-64 test vectors; the salt is simply prepended. */
  CHECK(mv_hashinit_seed("", "") == 0xcbf29ce484222325ull, "FNV-1a offset basis for empty input");
  CHECK(mv_hashinit_seed("", "a") == 0xaf63dc4c8601ec8cull, "FNV-1a-64(\"a\")");
  CHECK(mv_hashinit_seed("salt", "conv.weight") == mv_hashinit_seed("", "saltconv.weight"),
        "salt is prepended to the key");
  int64_t shape[4] = {8, 4, 3, 3};
  float a[288], b[288];
  CHECK_OK(mv_hashinit_fill("", "conv.weight", 4, shape, a));
  CHECK_OK(mv_hashinit_fill("other", "conv.weight", 4, shape, b));
  int differ = 0;
  for (int i = 0; i < 288; i++) differ += a[i] != b[i];
  CHECK(differ > 280, "a non-empty salt changes the values (%d of 288 differ)", differ);
  /* Bounds of the value rule: conv weights within +-1.2*sqrt(3/fan_in). */
  double bound = 1.2 * sqrt(3.0 / 36.0);
  int inside = 1;
  for (int i = 0; i < 288; i++) inside &= fabs(a[i]) <= bound;
  CHECK(inside, "conv weights lie within +-GAIN*sqrt(3/fan_in)");
  int64_t one[1] = {16};
  float var[16];
  CHECK_OK(mv_hashinit_fill("", "bn.running_var", 1, one, var));
  int ok = 1;
  for (int i = 0; i < 16; i++) ok &= var[i] >= 1.0f && var[i] < 1.5f;
  CHECK(ok, "running_var values in [1, 1.5)");

  /* Keys without a rule, bad arguments. */
  CHECK_FAILS(mv_hashinit_fill("", "bn.scale", 1, one, var), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "bn.scale") != NULL, "message names the key: %s",
        mv_error_message());
  CHECK_FAILS(mv_hashinit_fill("", "x.weight", 9, one, var), MV_E_ARGUMENT);
  int64_t neg[2] = {2, -1};
  CHECK_FAILS(mv_hashinit_fill("", "x.weight", 2, neg, var), MV_E_ARGUMENT);
  CHECK_FAILS(mv_hashinit_fill("", NULL, 1, one, var), MV_E_ARGUMENT);
  CHECK_FAILS(mv_hashinit_fill("", "x.weight", 1, one, NULL), MV_E_ARGUMENT);
}

/* Synthesized checkpoints: keys, order, shapes, dtypes, values. */
static void check_network(const char *network, int want_count) {
  const char *path = manifest_path(network);
  mv_manifest *m = NULL;
  if (!CHECK_OK(mv_manifest_read(path, &m))) return;
  CHECK(m->count == want_count, "%s.tsv has %d entries (want %d)", network, m->count, want_count);
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_hashinit(path, "", &c))) {
    CHECK(mv_checkpoint_count(c) == m->count, "%s: %d keys", network, mv_checkpoint_count(c));
    int order = 1, shapes = 1, dtypes = 1;
    for (int i = 0; i < m->count && i < mv_checkpoint_count(c); i++) {
      const mv_manifest_entry *e = &m->entries[i];
      order &= strcmp(mv_checkpoint_key(c, i), e->key) == 0;
      mv_dtype dt;
      int nd;
      int64_t sh[MV_MAX_DIMS];
      if (mv_checkpoint_info(c, e->key, &dt, &nd, sh) != MV_OK) {
        shapes = 0;
        continue;
      }
      dtypes &= dt == e->dtype;
      shapes &= nd == e->ndim;
      for (int d = 0; d < nd && d < e->ndim; d++) shapes &= sh[d] == e->shape[d];
    }
    CHECK(order, "%s: keys in manifest order", network);
    CHECK(shapes, "%s: shapes as in the manifest", network);
    CHECK(dtypes, "%s: dtypes as in the manifest", network);
    CHECK(mv_checkpoint_key(c, -1) == NULL && mv_checkpoint_key(c, m->count) == NULL,
          "key index out of range gives NULL");
    CHECK_OK(mv_checkpoint_check(c, path));

    /* A num_batches_tracked entry is an int64 zero scalar; a weight equals the generator. */
    for (int i = 0; i < m->count; i++) {
      const mv_manifest_entry *e = &m->entries[i];
      if (e->dtype == MV_INT64) {
        mv_array *a = NULL;
        if (CHECK_OK(mv_checkpoint_get(c, e->key, &a)))
          CHECK(a->dtype == MV_INT64 && a->ndim == 0 && ((int64_t *)a->data)[0] == 0,
                "%s: %s is an int64 zero scalar", network, e->key);
        mv_array_free(a);
        break;
      }
    }
    const mv_manifest_entry *w = &m->entries[0];
    mv_array *a = NULL;
    if (CHECK_OK(mv_checkpoint_get_float32(c, w->key, w->ndim, w->shape, &a))) {
      float *v = malloc((size_t)w->numel * sizeof *v);
      CHECK_OK(mv_hashinit_fill("", w->key, w->ndim, w->shape, v));
      CHECK(memcmp(v, a->data, (size_t)w->numel * sizeof *v) == 0, "%s: %s equals the generator",
            network, w->key);
      free(v);
    }
    mv_array_free(a);
  }
  mv_checkpoint_close(c);
  mv_manifest_free(m);
}

static void check_salted_checkpoint(void) {
  const char *path = manifest_path("fusion");
  mv_checkpoint *plain = NULL, *salted = NULL;
  CHECK_OK(mv_checkpoint_hashinit(path, NULL, &plain));
  CHECK_OK(mv_checkpoint_hashinit(path, "abc", &salted));
  if (plain && salted) {
    int64_t shape[4] = {32, 9, 3, 3};
    mv_array *a = NULL, *b = NULL;
    CHECK_OK(mv_checkpoint_get_float32(plain, "conv1.0.weight", 4, shape, &a));
    CHECK_OK(mv_checkpoint_get_float32(salted, "conv1.0.weight", 4, shape, &b));
    if (a && b) {
      float *v = malloc(2592 * sizeof *v);
      CHECK_OK(mv_hashinit_fill("abc", "conv1.0.weight", 4, shape, v));
      CHECK(memcmp(v, b->data, 2592 * sizeof *v) == 0, "salted checkpoint = salted generator");
      CHECK(memcmp(a->data, b->data, 2592 * sizeof *v) != 0, "salt changes checkpoint values");
      free(v);
    }
    CHECK(strstr(mv_checkpoint_name(salted), "abc") != NULL, "name mentions the salt: %s",
          mv_checkpoint_name(salted));
    mv_array_free(a);
    mv_array_free(b);
  }
  mv_checkpoint_close(plain);
  mv_checkpoint_close(salted);
}

static void expect_manifest_error(const char *name, const char *text, const char *needle) {
  const char *path = mv_test_temp_path(name);
  mv_test_write_file(path, text, strlen(text));
  mv_manifest *m = (mv_manifest *)1;
  CHECK_FAILS(mv_manifest_read(path, &m), MV_E_FORMAT);
  CHECK(m == NULL, "%s: no manifest on failure", name);
  CHECK(strstr(mv_error_message(), needle) != NULL, "%s: message has '%s': %s", name, needle,
        mv_error_message());
  mv_checkpoint *c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_hashinit(path, "", &c), MV_E_FORMAT);
  CHECK(c == NULL, "%s: no checkpoint on failure", name);
}

static void check_manifest_errors(void) {
  const char *head = "# comment\nkey\tdtype\tshape\tnumel\n";
  char text[512];
  snprintf(text, sizeof text, "%sa.weight\tfloat32\t2,3\t6\nb.bias\tcomplex64\t3\t3\n", head);
  expect_manifest_error("bad_dtype.tsv", text, "bad_dtype.tsv:4");
  snprintf(text, sizeof text, "%sa.weight\tfloat32\t2,x\t6\n", head);
  expect_manifest_error("bad_shape.tsv", text, "bad_shape.tsv:3");
  snprintf(text, sizeof text, "%sa.weight\tfloat32\t2,3\t7\n", head);
  expect_manifest_error("bad_numel.tsv", text, "bad_numel.tsv:3");
  snprintf(text, sizeof text, "%sa.weight\tfloat32\t2,3\n", head);
  expect_manifest_error("few_fields.tsv", text, "few_fields.tsv:3");
  snprintf(text, sizeof text, "%sa.weight\tfloat32\t6\t6\na.weight\tfloat32\t6\t6\n", head);
  expect_manifest_error("duplicate.tsv", text, "appears twice");
  expect_manifest_error("no_header.tsv", "a.weight\tfloat32\t6\t6\n", "no_header.tsv:1");
  expect_manifest_error("empty.tsv", "", "no header");

  /* A valid tiny manifest with CRLF line ends and a scalar. */
  snprintf(text, sizeof text,
           "# x\r\nkey\tdtype\tshape\tnumel\r\nl.weight\tfloat32\t2,3\t6\r\nl.bias\tfloat32\t2\t2\r\n"
           "bn.num_batches_tracked\tint64\t\t1\r\n");
  const char *path = mv_test_temp_path("tiny.tsv");
  mv_test_write_file(path, text, strlen(text));
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_hashinit(path, "", &c))) {
    CHECK(mv_checkpoint_count(c) == 3, "tiny manifest: 3 keys");
    int nd = -1;
    CHECK_OK(mv_checkpoint_info(c, "bn.num_batches_tracked", NULL, &nd, NULL));
    CHECK(nd == 0, "empty shape is a scalar");
  }
  mv_checkpoint_close(c);
  c = (mv_checkpoint *)1;
  CHECK_FAILS(mv_checkpoint_hashinit(mv_test_temp_path("does_not_exist.tsv"), "", &c), MV_E_IO);
  CHECK(c == NULL, "missing manifest: no checkpoint");
  CHECK(strstr(mv_error_message(), "does_not_exist.tsv") != NULL, "names the file: %s",
        mv_error_message());
}

int main(void) {
  check_reference_rows();
  check_salt();
  check_network("fusion", 12);
  check_network("s2m", 368);
  check_network("propagation_model", 597);
  check_salted_checkpoint();
  check_manifest_errors();
  return mv_test_finish();
}
