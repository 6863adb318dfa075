/* bench ops: GFLOP/s of the operators at the sizes the networks use for an
 * 854x480 input (padded to 864x480), SGEMM through mv_gemm, and the host's
 * OpenBLAS SGEMM measured in the same run for comparison (loaded with
 * dlopen, so OpenBLAS is not a dependency of anything else).
 * MIVOS_BENCH_REPEAT sets the number of timed runs (default 3, median). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "opencl/ops.h"
#include "testutil.h"

enum { MAX_REPEAT = 50 };

static int repeats(void) {
  const char *env = getenv("MIVOS_BENCH_REPEAT");
  int r = env && env[0] ? atoi(env) : 3;
  return r < 1 ? 1 : r > MAX_REPEAT ? MAX_REPEAT : r;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void row(const char *op, const char *shape, double gflop, double ms) {
  printf("%-30s %-30s %8.2f %10.2f %9.2f\n", op, shape, gflop, ms, gflop / (ms * 1e-3));
  fflush(stdout);
}

static float *random_floats(size_t n, uint64_t seed) {
  float *p = malloc(n * sizeof *p);
  if (p) mv_test_random(p, n, seed, -0.5f, 0.5f);
  return p;
}

static mv_status upload_random(mv_tensor *t, int n, int c, int h, int w, uint64_t seed) {
  float *host = random_floats((size_t)n * c * h * w, seed);
  if (!host) return MV_E_MEMORY;
  mv_status status = mv_tensor_new(t, n, c, h, w);
  if (status == MV_OK) status = mv_tensor_upload(t, host);
  free(host);
  return status;
}

/* One conv row: warm-up, then the median of the timed runs. */
static int bench_conv(const char *name, int in_c, int out_c, int kernel, int stride, int pad,
                      int h, int w) {
  float *weight = random_floats((size_t)out_c * in_c * kernel * kernel, 7);
  float *bias = random_floats((size_t)out_c, 8);
  mv_conv conv = {0};
  mv_tensor x = {0}, y = {0};
  mv_status status = weight && bias ? MV_OK : MV_E_MEMORY;
  if (status == MV_OK)
    status = mv_conv_create(&conv, in_c, out_c, kernel, kernel, stride, pad, 1, weight, bias, NULL);
  if (status == MV_OK) status = upload_random(&x, 1, in_c, h, w, 9);
  if (status == MV_OK) status = mv_conv2d(&conv, &x, &y, MV_CONV_RELU); /* warm-up */
  if (status == MV_OK) status = mv_runtime_finish();
  int n = repeats();
  double times[MAX_REPEAT];
  for (int r = 0; r < n && status == MV_OK; r++) {
    double t0 = bench_now();
    status = mv_conv2d(&conv, &x, &y, MV_CONV_RELU);
    if (status == MV_OK) status = mv_runtime_finish();
    times[r] = bench_now() - t0;
  }
  if (status == MV_OK) {
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%d %d->%d %dx%d/%d", h, w, in_c, out_c, kernel, kernel,
             stride);
    double gflop = 2.0 * out_c * in_c * kernel * kernel * (double)y.h * y.w * 1e-9;
    row(name, shape, gflop, median(times, n) * 1e3);
  }
  mv_conv_free(&conv);
  mv_tensor_free(&x);
  mv_tensor_free(&y);
  free(weight);
  free(bias);
  return status == MV_OK ? 0 : 1;
}

static int bench_gemm(int size) {
  mv_tensor a = {0}, b = {0}, c = {0};
  mv_status status = upload_random(&a, 1, 1, size, size, 1);
  if (status == MV_OK) status = upload_random(&b, 1, 1, size, size, 2);
  if (status == MV_OK) status = mv_tensor_new(&c, 1, 1, size, size);
  mv_matrix ma = {a.buffer, 0, (size_t)size}, mb = {b.buffer, 0, (size_t)size},
            mc = {c.buffer, 0, (size_t)size};
  if (status == MV_OK) status = mv_gemm(0, 0, size, size, size, 1.0f, ma, mb, 0.0f, mc);
  if (status == MV_OK) status = mv_runtime_finish();
  int n = repeats();
  double times[MAX_REPEAT];
  for (int r = 0; r < n && status == MV_OK; r++) {
    double t0 = bench_now();
    status = mv_gemm(0, 0, size, size, size, 1.0f, ma, mb, 0.0f, mc);
    if (status == MV_OK) status = mv_runtime_finish();
    times[r] = bench_now() - t0;
  }
  if (status == MV_OK) {
    char shape[64];
    snprintf(shape, sizeof shape, "%d^3", size);
    row("sgemm (mv_gemm)", shape, 2.0 * size * (double)size * size * 1e-9, median(times, n) * 1e3);
  }
  mv_tensor_free(&a);
  mv_tensor_free(&b);
  mv_tensor_free(&c);
  return status == MV_OK ? 0 : 1;
}

/* cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) */
typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111 };

static void bench_openblas(void) {
  void *library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!library) library = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
  cblas_sgemm_fn sgemm = library ? (cblas_sgemm_fn)dlsym(library, "cblas_sgemm") : NULL;
  if (!sgemm) {
    printf("%-30s (skipped: libopenblas.so.0 / cblas_sgemm not found)\n", "sgemm (OpenBLAS, host)");
    if (library) dlclose(library);
    return;
  }
  static const int sizes[] = {1024, 2048};
  for (int s = 0; s < 2; s++) {
    int size = sizes[s];
    size_t count = (size_t)size * size;
    float *a = random_floats(count, 1), *b = random_floats(count, 2), *c = malloc(count * 4);
    if (a && b && c) {
      sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, size, size, size, 1.0f, a, size, b,
            size, 0.0f, c, size);
      int n = repeats();
      double times[MAX_REPEAT];
      for (int r = 0; r < n; r++) {
        double t0 = bench_now();
        sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, size, size, size, 1.0f, a, size, b,
              size, 0.0f, c, size);
        times[r] = bench_now() - t0;
      }
      char shape[64];
      snprintf(shape, sizeof shape, "%d^3", size);
      row("sgemm (OpenBLAS, host)", shape, 2.0 * size * (double)size * size * 1e-9,
          median(times, n) * 1e3);
    }
    free(a);
    free(b);
    free(c);
  }
  dlclose(library);
}

int bench_ops(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mv_device_info info;
  if (mv_device_current(&info) != MV_OK) return 1;
  printf("device %d:%d %s (%s, driver %s, %d compute units); median of %d runs after a warm-up\n",
         info.platform_index, info.device_index, info.name, info.platform, info.driver,
         info.compute_units, repeats());
  printf("%-30s %-30s %8s %10s %9s\n", "op", "shape", "GFLOP", "ms", "GFLOP/s");
  int failures = 0;
  failures += bench_conv("conv3x3 (ResNet stage, 1/4)", 256, 256, 3, 1, 1, 120, 216);
  failures += bench_conv("conv3x3 (ResNet stage, 1/8)", 512, 512, 3, 1, 1, 60, 108);
  failures += bench_conv("conv3x3 key/value projection", 1024, 640, 3, 1, 1, 30, 54);
  failures += bench_conv("conv7x7/2 stem", 3, 64, 7, 2, 3, 480, 864);
  failures += bench_conv("conv1x1 (1/16)", 1024, 256, 1, 1, 0, 30, 54);
  failures += bench_gemm(1024);
  failures += bench_gemm(2048);
  bench_openblas();
  return failures ? 1 : 0;
}
