#include "ops_testing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "opencl/reference.h"
#include "testutil.h"

static uint64_t next_seed = 1000;

float *host_random(size_t n, float lo, float hi) {
  float *p = malloc(n * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  mv_test_random(p, n, next_seed++, lo, hi);
  return p;
}

float *host_alloc(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

/* A device tensor holding `host`. */
mv_tensor device(const float *host, int n, int c, int h, int w) {
  mv_tensor t = {0};
  CHECK_OK(mv_tensor_new(&t, n, c, h, w));
  CHECK_OK(mv_tensor_upload(&t, host));
  return t;
}

/* An output tensor full of NaN, so elements the operator misses fail. */
mv_tensor poisoned(int n, int c, int h, int w) {
  mv_tensor t = {0};
  CHECK_OK(mv_tensor_new(&t, n, c, h, w));
  CHECK_OK(mv_tensor_fill(&t, NAN));
  return t;
}

const char *engine_label = "auto";

double compare(const char *what, const mv_tensor *t, const float *want) {
  size_t n = mv_tensor_numel(t);
  float *got = host_alloc(n);
  CHECK_OK(mv_tensor_download(t, got));
  double err = mv_ref_rel_l2(got, want, n);
  CHECK(err < TOLERANCE, "%s [gemm engine %s]: relative L2 error %.3g (max abs %.3g)", what,
        engine_label, err, mv_max_abs_diff(got, want, n));
  free(got);
  return err;
}

int select_engine(mv_gemm_engine engine) {
  if (engine == MV_GEMM_HOST && !mv_gemm_host_supported()) {
    printf("gemm engine host: skipped (the device's buffers are not host memory)\n");
    return 0;
  }
  if (!CHECK_OK(mv_gemm_set_engine(engine))) return 0;
  engine_label = mv_gemm_engine_name(engine);
  return 1;
}
