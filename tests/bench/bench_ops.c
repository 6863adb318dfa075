/* bench ops: GFLOP/s of the operators at the sizes the networks use for an
 * 854x480 input (padded to 864x480), with every GEMM engine the device has
 * side by side in the same run (clblast; host = OpenBLAS on the mapped
 * buffers, CPU devices whose buffers are host memory): the conv layers of
 * ResNet-50 at 480p, the decoders and FusionNet, SGEMM through mv_gemm, and
 * the host's OpenBLAS SGEMM called directly for comparison (loaded with
 * dlopen). On a host-memory device it also times a map of a 100 MB buffer
 * (zero copy) against a 100 MB read (a copy).
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

enum { MAX_ENGINES = 2 };
static mv_gemm_engine engines[MAX_ENGINES];
static int engine_count;

/* The engines to compare: clblast, and host where the device allows it. */
static void find_engines(void) {
  engine_count = 0;
  engines[engine_count++] = MV_GEMM_CLBLAST;
  if (mv_gemm_host_supported()) engines[engine_count++] = MV_GEMM_HOST;
}

static void header(const char *first) {
  printf("%-34s %-26s %7s", first, "shape", "GFLOP");
  for (int e = 0; e < engine_count; e++)
    printf(" %9s %8s", e == 0 ? "clblast ms" : "host ms", "GFLOP/s");
  if (engine_count == 2) printf(" %8s", "speed-up");
  printf("\n");
}

/* One table row: ms per engine (negative: failed). */
static void row(const char *op, const char *shape, double gflop, const double *ms) {
  printf("%-34s %-26s %7.2f", op, shape, gflop);
  for (int e = 0; e < engine_count; e++) {
    if (ms[e] < 0)
      printf(" %9s %8s", "FAIL", "-");
    else
      printf(" %9.1f %8.1f", ms[e], gflop / (ms[e] * 1e-3));
  }
  if (engine_count == 2 && ms[0] > 0 && ms[1] > 0) printf(" %7.2fx", ms[0] / ms[1]);
  printf("\n");
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

/* Median ms of one conv on the current engine after a warm-up (-1 on failure). */
static double time_conv(const mv_conv *conv, const mv_tensor *x, mv_tensor *y) {
  mv_status status = mv_conv2d(conv, x, y, MV_CONV_RELU); /* warm-up */
  if (status == MV_OK) status = mv_runtime_finish();
  int n = repeats();
  double times[MAX_REPEAT];
  for (int r = 0; r < n && status == MV_OK; r++) {
    double t0 = bench_now();
    status = mv_conv2d(conv, x, y, MV_CONV_RELU);
    if (status == MV_OK) status = mv_runtime_finish();
    times[r] = bench_now() - t0;
  }
  if (status != MV_OK) {
    fprintf(stderr, "bench ops: %s\n", mv_error_message());
    return -1;
  }
  return median(times, n) * 1e3;
}

typedef struct conv_shape {
  const char *layer;
  int in_c, out_c, kernel, stride, pad, dilation, h, w;
} conv_shape;

/* The conv layers of the networks at 854x480 (padded 864x480). */
static const conv_shape conv_shapes[] = {
    {"ResNet-50 stem 7x7/2", 3, 64, 7, 2, 3, 1, 480, 864},
    {"ResNet-50 layer1 3x3 (1/4)", 64, 64, 3, 1, 1, 1, 120, 216},
    {"ResNet-50 layer2 3x3 (1/8)", 128, 128, 3, 1, 1, 1, 60, 108},
    {"ResNet-50 layer3 3x3 (1/16)", 256, 256, 3, 1, 1, 1, 30, 54},
    {"S2M layer4 3x3 dil 2 (1/16)", 512, 512, 3, 1, 2, 2, 30, 54},
    {"bottleneck 1x1 64->256 (1/4)", 64, 256, 1, 1, 0, 1, 120, 216},
    {"bottleneck 1x1 256->64 (1/4)", 256, 64, 1, 1, 0, 1, 120, 216},
    {"bottleneck 1x1 1024->256 (1/16)", 1024, 256, 1, 1, 0, 1, 30, 54},
    {"downsample 1x1/2 256->512", 256, 512, 1, 2, 0, 1, 120, 216},
    {"decoder 3x3 (1/4)", 256, 256, 3, 1, 1, 1, 120, 216},
    {"decoder 3x3 (1/8)", 512, 512, 3, 1, 1, 1, 60, 108},
    {"key/value projection 3x3", 1024, 640, 3, 1, 1, 1, 30, 54},
    {"fusion 3x3 9->32 (full res)", 9, 32, 3, 1, 1, 1, 480, 864},
    {"fusion 3x3 32->32 (full res)", 32, 32, 3, 1, 1, 1, 480, 864},
    {"fusion 3x3 32->1 (full res)", 32, 1, 3, 1, 1, 1, 480, 864},
};

/* One conv row: every engine on the same input, output and weights. */
static int bench_conv(const conv_shape *k) {
  float *weight = random_floats((size_t)k->out_c * k->in_c * k->kernel * k->kernel, 7);
  float *bias = random_floats((size_t)k->out_c, 8);
  mv_conv conv = {0};
  mv_tensor x = {0}, y = {0};
  mv_status status = weight && bias ? MV_OK : MV_E_MEMORY;
  if (status == MV_OK)
    status = mv_conv_create(&conv, k->in_c, k->out_c, k->kernel, k->kernel, k->stride, k->pad,
                            k->dilation, weight, bias, NULL);
  if (status == MV_OK) status = upload_random(&x, 1, k->in_c, k->h, k->w, 9);
  double ms[MAX_ENGINES];
  int failed = status != MV_OK;
  for (int e = 0; e < engine_count && status == MV_OK; e++) {
    ms[e] = mv_gemm_set_engine(engines[e]) == MV_OK ? time_conv(&conv, &x, &y) : -1;
    failed |= ms[e] < 0;
  }
  if (status == MV_OK) {
    char shape[64];
    char dilation[16] = "";
    if (k->dilation > 1) snprintf(dilation, sizeof dilation, " d%d", k->dilation);
    snprintf(shape, sizeof shape, "%dx%d %d->%d %dx%d/%d%s", k->h, k->w, k->in_c, k->out_c,
             k->kernel, k->kernel, k->stride, dilation);
    double gflop = 2.0 * k->out_c * k->in_c * k->kernel * k->kernel * (double)y.h * y.w * 1e-9;
    row(k->layer, shape, gflop, ms);
  }
  mv_gemm_set_engine(MV_GEMM_AUTO);
  mv_conv_free(&conv);
  mv_tensor_free(&x);
  mv_tensor_free(&y);
  free(weight);
  free(bias);
  return failed;
}

static int bench_gemm(int size) {
  mv_tensor a = {0}, b = {0}, c = {0};
  mv_status status = upload_random(&a, 1, 1, size, size, 1);
  if (status == MV_OK) status = upload_random(&b, 1, 1, size, size, 2);
  if (status == MV_OK) status = mv_tensor_new(&c, 1, 1, size, size);
  mv_matrix ma = {a.buffer, 0, (size_t)size}, mb = {b.buffer, 0, (size_t)size},
            mc = {c.buffer, 0, (size_t)size};
  double ms[MAX_ENGINES];
  int failed = status != MV_OK;
  for (int e = 0; e < engine_count && status == MV_OK; e++) {
    mv_status s = mv_gemm_set_engine(engines[e]);
    if (s == MV_OK) s = mv_gemm(0, 0, size, size, size, 1.0f, ma, mb, 0.0f, mc);
    if (s == MV_OK) s = mv_runtime_finish();
    int n = repeats();
    double times[MAX_REPEAT];
    for (int r = 0; r < n && s == MV_OK; r++) {
      double t0 = bench_now();
      s = mv_gemm(0, 0, size, size, size, 1.0f, ma, mb, 0.0f, mc);
      if (s == MV_OK) s = mv_runtime_finish();
      times[r] = bench_now() - t0;
    }
    ms[e] = s == MV_OK ? median(times, n) * 1e3 : -1;
    failed |= s != MV_OK;
  }
  if (status == MV_OK) {
    char shape[64];
    snprintf(shape, sizeof shape, "%d^3", size);
    row("sgemm (mv_gemm)", shape, 2.0 * size * (double)size * size * 1e-9, ms);
  }
  mv_gemm_set_engine(MV_GEMM_AUTO);
  mv_tensor_free(&a);
  mv_tensor_free(&b);
  mv_tensor_free(&c);
  return failed;
}

/* Zero copy: a blocking map of a 100 MB buffer (twice) against reading it
 * into host memory (a copy of 100 MB). */
static void bench_map(void) {
  mv_runtime *rt = NULL;
  if (!mv_gemm_host_supported() || mv_runtime_get(&rt) != MV_OK) return;
  const size_t bytes = (size_t)100 << 20;
  mv_tensor t = {0};
  float *copy = malloc(bytes);
  if (!copy || mv_tensor_zeros(&t, 1, 1, 1, (int)(bytes / sizeof(float))) != MV_OK ||
      mv_runtime_finish() != MV_OK) {
    free(copy);
    mv_tensor_free(&t);
    return;
  }
  double map_ms[2] = {0, 0};
  void *pointers[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    cl_int code = CL_SUCCESS;
    double t0 = bench_now();
    pointers[i] = clEnqueueMapBuffer(rt->queue, t.buffer, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                     bytes, 0, NULL, NULL, &code);
    map_ms[i] = (bench_now() - t0) * 1e3;
    if (code != CL_SUCCESS) break;
    clEnqueueUnmapMemObject(rt->queue, t.buffer, pointers[i], 0, NULL, NULL);
    mv_runtime_finish();
  }
  double t0 = bench_now();
  mv_status s = mv_tensor_download(&t, copy);
  double read_ms = (bench_now() - t0) * 1e3;
  printf("zero copy: map of a 100 MB buffer %.3f ms, again %.3f ms (%s pointer); a 100 MB read "
         "(copy) %.1f ms\n",
         map_ms[0], map_ms[1], pointers[0] == pointers[1] ? "same" : "DIFFERENT",
         s == MV_OK ? read_ms : -1.0);
  free(copy);
  mv_tensor_free(&t);
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
      double gflop = 2.0 * size * (double)size * size * 1e-9, ms = median(times, n) * 1e3;
      printf("%-34s %-26s %7.2f %9.1f %8.1f  (cblas_sgemm on host arrays)\n",
             "sgemm (OpenBLAS direct)", shape, gflop, ms, gflop / (ms * 1e-3));
      fflush(stdout);
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
  find_engines();
  char engine[256] = "";
  if (mv_gemm_engine_describe(engine, sizeof engine) != MV_OK)
    snprintf(engine, sizeof engine, "? (%s)", mv_error_message());
  printf("device %d:%d %s (%s, driver %s, %d compute units); median of %d runs after a warm-up\n",
         info.platform_index, info.device_index, info.name, info.platform, info.driver,
         info.compute_units, repeats());
  printf("gemm engine in use: %s; columns: every engine the device has, same run\n", engine);
  bench_map();
  header("layer");
  int failures = 0;
  for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
    failures += bench_conv(&conv_shapes[i]);
  failures += bench_gemm(1024);
  failures += bench_gemm(2048);
  bench_openblas();
  return failures ? 1 : 0;
}
