/* Helpers shared by the golden case runners. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "testutil.h"

mv_array *golden_load(const golden_ctx *ctx, const char *name) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s.npy", ctx->case_dir, name);
  mv_array *a = NULL;
  if (!CHECK_OK(mv_npy_read(path, &a))) return NULL;
  return a;
}

/* Hashinit checkpoints are built once per network and kept for the run. */
static struct {
  char network[64];
  mv_checkpoint *checkpoint;
} weights[4];

mv_checkpoint *golden_weights(const golden_ctx *ctx, const char *network) {
  for (int i = 0; i < 4; i++)
    if (weights[i].checkpoint && !strcmp(weights[i].network, network)) return weights[i].checkpoint;
  char path[2048];
  snprintf(path, sizeof path, "%s/%s.tsv", ctx->checkpoints_dir, network);
  mv_checkpoint *c = NULL;
  if (!CHECK_OK(mv_checkpoint_hashinit(path, ctx->salt, &c))) return NULL;
  for (int i = 0; i < 4; i++) {
    if (!weights[i].checkpoint) {
      snprintf(weights[i].network, sizeof weights[i].network, "%s", network);
      weights[i].checkpoint = c;
      return c;
    }
  }
  return c; /* never reached with the three networks */
}

void golden_release_weights(void) {
  for (int i = 0; i < 4; i++) {
    mv_checkpoint_close(weights[i].checkpoint);
    weights[i].checkpoint = NULL;
  }
}

int golden_compare(const golden_ctx *ctx, const char *label, const float *out, const mv_array *ref,
                   double tolerance) {
  if (!ref || !out) {
    CHECK(0, "%s/%s: missing data", ctx->case_name, label);
    return 0;
  }
  if (ref->dtype != MV_FLOAT32) {
    CHECK(0, "%s/%s: reference is %s, expected float32", ctx->case_name, label,
          mv_dtype_name(ref->dtype));
    return 0;
  }
  double err = mv_rel_l2(out, ref->data, (size_t)mv_array_numel(ref));
  int ok = err <= tolerance;
  printf("  %-14s %-28s rel_l2 = %.3e  (tolerance %.0e)  %s\n", ctx->case_name, label, err,
         tolerance, ok ? "ok" : "FAIL");
  CHECK(ok, "%s/%s: rel_l2 %.3e > %.0e", ctx->case_name, label, err, tolerance);
  return ok;
}

int golden_compare_tensor(const golden_ctx *ctx, const char *label, const mv_tensor *out,
                          const mv_array *ref, double tolerance) {
  if (!ref || !out || !out->buffer) {
    CHECK(0, "%s/%s: missing output or reference", ctx->case_name, label);
    return 0;
  }
  size_t n = mv_tensor_numel(out);
  if ((int64_t)n != mv_array_numel(ref)) {
    CHECK(0, "%s/%s: output has %zu elements (%dx%dx%dx%d), reference %lld", ctx->case_name,
          label, n, out->n, out->c, out->h, out->w, (long long)mv_array_numel(ref));
    return 0;
  }
  float *host = malloc(n * sizeof *host);
  if (!host || !CHECK_OK(mv_tensor_download(out, host))) {
    free(host);
    return 0;
  }
  int ok = golden_compare(ctx, label, host, ref, tolerance);
  free(host);
  return ok;
}

int golden_upload(const mv_array *array, int n, int c, int h, int w, mv_tensor *out) {
  if (!array || array->dtype != MV_FLOAT32 ||
      mv_array_numel(array) != (int64_t)n * c * h * w) {
    CHECK(0, "golden_upload: array does not hold %dx%dx%dx%d float32 values", n, c, h, w);
    return 0;
  }
  if (!CHECK_OK(mv_tensor_new(out, n, c, h, w))) return 0;
  return CHECK_OK(mv_tensor_upload(out, array->data));
}
