/* bench ops: GFLOP/s of the operators at the sizes the networks use for an
 * 854x480 input (padded to 864x480), with every GEMM engine the device has
 * side by side in the same run (clblast; host = OpenBLAS on the mapped
 * buffers, CPU devices whose buffers are host memory): the conv layers of
 * ResNet-50 at 480p, the decoders and FusionNet, SGEMM through mv_gemm, and
 * the host's OpenBLAS SGEMM called directly for comparison (loaded with
 * dlopen). On a host-memory device it also times a map of a 100 MB buffer
 * (zero copy) against a 100 MB read (a copy).
 * Then, on a host-memory device, the networks at 854x480 with the operator
 * paths side by side (mv_ops_fast_paths: "kernels" = the OpenCL element-wise/
 * pool/resize/pad/concat kernels and a separate residual add, as before;
 * "host" = their host paths and the residual fused into the conv epilogue):
 * a per-operator profile (the queue finished around each operator) of the
 * S2M forward, the propagation query encode and the fusion net, and the
 * plain (unprofiled) ms of the `bench networks` stages.
 * MIVOS_BENCH_REPEAT sets the number of timed runs (default 3, median);
 * MIVOS_BENCH_OPS_NETWORKS=0 skips the network part, =only runs only it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nets/preprocess.h"
#include "opencl/ops.h"
#include "propagation/propagation_net.h"
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

/* ---- networks: per-operator profile, operator paths side by side -------------------- */

typedef struct op_profile {
  double total, seconds[MV_OP_KINDS];
  long calls[MV_OP_KINDS];
} op_profile;

enum { NET_S2M, NET_ENCODE, NET_FUSION, NETS };
static const char *net_names[NETS] = {"S2M forward", "propagation query encode", "fusion (attention+net)"};

/* One profiled pass of a network stage over `runs` runs after a warm-up. */
static int profile_net(int net, const mv_checkpoint *weights, const mv_tensor *image, op_profile *p) {
  memset(p, 0, sizeof *p);
  bench_stage stage = {0};
  if (net == NET_S2M || net == NET_FUSION) {
    /* bench_time_*: one warm-up and bench_repeats() runs, all profiled. */
    int runs = bench_repeats() < 16 ? bench_repeats() : 16;
    mv_ops_profile_start();
    double t0 = bench_now();
    int failed = net == NET_S2M ? bench_time_s2m(weights, image, &stage)
                                : bench_time_fusion(weights, image, &stage);
    (void)t0;
    mv_ops_profile_stop(p->seconds, p->calls);
    for (int k = 0; k < MV_OP_KINDS; k++) p->seconds[k] /= runs + 1, p->calls[k] /= runs + 1;
    /* The operators' means include the warm-up run and the total is a median:
     * no "other" row for these (negative: set total to 0). */
    p->total = 0;
    return failed;
  }
  mv_propagation *prop = NULL;
  if (mv_propagation_load(weights, &prop) != MV_OK) return 1;
  mv_query q = {0};
  mv_status s = mv_propagation_encode_query(prop, image, 0, &q); /* warm-up */
  if (s == MV_OK) s = mv_runtime_finish();
  mv_query_free(&q);
  int runs = repeats();
  mv_ops_profile_start();
  double t0 = bench_now();
  for (int r = 0; r < runs && s == MV_OK; r++) {
    s = mv_propagation_encode_query(prop, image, 0, &q);
    if (s == MV_OK) s = mv_runtime_finish();
    mv_query_free(&q);
  }
  p->total = (bench_now() - t0) / runs;
  mv_ops_profile_stop(p->seconds, p->calls);
  for (int k = 0; k < MV_OP_KINDS; k++) p->seconds[k] /= runs, p->calls[k] /= runs;
  mv_propagation_free(prop);
  return s != MV_OK;
}

static const char *net_manifest(int net) {
  return bench_manifest(net == NET_S2M ? "s2m" : net == NET_ENCODE ? "propagation_model" : "fusion");
}

static int bench_network_paths(void) {
  if (!mv_gemm_host_supported()) return 0;
  const char *env = getenv("MIVOS_BENCH_OPS_NETWORKS");
  if (env && !strcmp(env, "0")) return 0;
  mv_tensor image = {0};
  if (bench_frame(&image) != 0) return 1;
  int failures = 0;
  mv_gemm_set_engine(MV_GEMM_HOST);
  printf("\nper-operator profile at 854x480, host GEMM engine; ms per call (queue finished around "
         "each operator); kernels = OpenCL element-wise/pool/resize/pad/concat kernels + separate "
         "residual add (before), host = host paths + fused residual (now)\n");
  for (int net = 0; net < NETS; net++) {
    mv_checkpoint *weights = NULL;
    if (mv_checkpoint_hashinit(net_manifest(net), "", &weights) != MV_OK) {
      failures++;
      continue;
    }
    op_profile p[2];
    if (net != NET_ENCODE) { /* their profiles include a warm-up: build the kernels first */
      bench_stage warm;
      int previous = mv_ops_fast_paths(0);
      failures += net == NET_S2M ? bench_time_s2m(weights, &image, &warm)
                                 : bench_time_fusion(weights, &image, &warm);
      mv_ops_fast_paths(previous);
    }
    for (int mode = 0; mode < 2; mode++) {
      int previous = mv_ops_fast_paths(mode);
      failures += profile_net(net, weights, &image, &p[mode]);
      mv_ops_fast_paths(previous);
    }
    mv_checkpoint_close(weights);
    printf("%-34s %12s %6s %12s %6s %8s\n", net_names[net], "kernels ms", "calls", "host ms",
           "calls", "speed-up");
    double sum[2] = {0, 0};
    for (int k = 0; k < MV_OP_KINDS; k++) {
      sum[0] += p[0].seconds[k], sum[1] += p[1].seconds[k];
      if (!p[0].calls[k] && !p[1].calls[k]) continue;
      printf("  %-32s %12.1f %6ld %12.1f %6ld", mv_op_kind_name((mv_op_kind)k),
             p[0].seconds[k] * 1e3, p[0].calls[k], p[1].seconds[k] * 1e3, p[1].calls[k]);
      if (p[1].seconds[k] > 0) printf(" %7.2fx", p[0].seconds[k] / p[1].seconds[k]);
      printf("\n");
    }
    if (p[0].total > 0 && p[1].total > 0) {
      printf("  %-32s %12.1f %6s %12.1f\n", "other (GEMM, memory read, ...)",
             (p[0].total - sum[0]) * 1e3, "", (p[1].total - sum[1]) * 1e3);
      printf("  %-32s %12.1f %6s %12.1f %6s %7.2fx\n", "total (profiled)", p[0].total * 1e3, "",
             p[1].total * 1e3, "", p[0].total / p[1].total);
    } else {
      printf("  %-32s %12.1f %6s %12.1f %6s %7.2fx\n", "sum of the operators", sum[0] * 1e3, "",
             sum[1] * 1e3, "", sum[1] > 0 ? sum[0] / sum[1] : 0);
    }
    fflush(stdout);
  }

  /* The `bench networks` stages, unprofiled, both paths in this run. */
  printf("\n%-34s %12s %12s %8s\n", "bench networks stage (unprofiled)", "kernels ms", "host ms",
         "speed-up");
  for (int net = 0; net < NETS; net++) {
    mv_checkpoint *weights = NULL;
    if (mv_checkpoint_hashinit(net_manifest(net), "", &weights) != MV_OK) {
      failures++;
      continue;
    }
    bench_stage t[2];
    memset(t, 0, sizeof t);
    for (int mode = 0; mode < 2; mode++) {
      int previous = mv_ops_fast_paths(mode);
      if (net == NET_S2M) failures += bench_time_s2m(weights, &image, &t[mode]);
      else if (net == NET_ENCODE) failures += bench_time_propagation(weights, &image, 1, &t[mode]);
      else failures += bench_time_fusion(weights, &image, &t[mode]);
      mv_ops_fast_paths(previous);
    }
    mv_checkpoint_close(weights);
    const char *name = net == NET_S2M ? "S2M, one object" : net == NET_ENCODE ? "propagation frame, k=1" : "fusion, one object";
    printf("%-34s %12.1f %12.1f %7.2fx\n", name, t[0].seconds * 1e3, t[1].seconds * 1e3,
           t[1].seconds > 0 ? t[0].seconds / t[1].seconds : 0);
    if (net == NET_ENCODE)
      printf("  %-32s %12.1f %12.1f %7.2fx\n", "query encode", t[0].encode * 1e3, t[1].encode * 1e3,
             t[1].encode > 0 ? t[0].encode / t[1].encode : 0);
    fflush(stdout);
  }
  mv_gemm_set_engine(MV_GEMM_AUTO);
  mv_tensor_free(&image);
  return failures;
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
  const char *networks = getenv("MIVOS_BENCH_OPS_NETWORKS");
  if (networks && !strcmp(networks, "only")) return bench_network_paths() ? 1 : 0;
  bench_map();
  header("layer");
  int failures = 0;
  for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
    failures += bench_conv(&conv_shapes[i]);
  failures += bench_gemm(1024);
  failures += bench_gemm(2048);
  bench_openblas();
  failures += bench_network_paths();
  return failures ? 1 : 0;
}
