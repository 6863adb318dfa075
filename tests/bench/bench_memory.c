/* bench memory: the top-50 space-time memory read at 854x480 (query 30x54 =
 * 1620 positions, Ck 128, Cv 512) for T = 4, 10, 40 memory frames, split
 * into the affinity GEMM, the top-k selection + softmax and the gather, and
 * the whole mv_memory_read (which computes the affinity in blocks); the
 * selection and gather on the kernels and, on a CPU device with host memory,
 * on the host implementations, side by side. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "opencl/memory_read.h"
#include "testutil.h"

enum { CK = 128, CV = 512, QH = 30, QW = 54, TOP_K = 50, REPEATS = 3 };

/* 1 when the host implementations can run here (the host engine on a CPU
 * device with host memory, fast paths on). */
static int host_available(void) {
  mv_memory_set_host_ops(1);
  int available = mv_memory_host_ops();
  mv_memory_set_host_ops(-1);
  return available;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

static mv_status random_tensor(mv_tensor *t, size_t count, uint64_t seed, float lo, float hi) {
  float *host = malloc(count * sizeof(float));
  if (!host) return MV_E_MEMORY;
  mv_test_random(host, count, seed, lo, hi);
  mv_status status = mv_tensor_new(t, 1, 1, 1, (int)count);
  if (status == MV_OK) status = mv_tensor_upload(t, host);
  free(host);
  return status;
}

/* Milliseconds per stage (medians) for one memory size; the selection,
 * gather and whole read on the kernels and on the host implementations
 * (CPU device with host memory), side by side on the same inputs. */
static mv_status run_size(int frames, int paths) {
  const size_t n = (size_t)QH * QW, m = (size_t)frames * n;
  mv_tensor key = {0}, value = {0}, query = {0}, aff = {0}, idx[2] = {{0}}, w[2] = {{0}},
            out = {0};
  mv_status status = random_tensor(&key, CK * m, 11 + frames, -1.0f, 1.0f);
  if (status == MV_OK) status = random_tensor(&value, CV * m, 12 + frames, -1.0f, 1.0f);
  if (status == MV_OK) status = random_tensor(&query, CK * n, 13, -1.0f, 1.0f);
  if (status == MV_OK) status = mv_tensor_new(&aff, 1, 1, (int)n, (int)m);
  for (int i = 0; i < 2 && status == MV_OK; i++) {
    status = mv_tensor_new(&idx[i], 1, 1, TOP_K, (int)n);
    if (status == MV_OK) status = mv_tensor_new(&w[i], 1, 1, TOP_K, (int)n);
  }
  if (status == MV_OK) status = mv_tensor_new(&out, 1, 1, CV, (int)n);
  mv_matrix k = {key.buffer, 0, m}, v = {value.buffer, 0, m}, q = {query.buffer, 0, n},
            a = {aff.buffer, 0, m}, o = {out.buffer, 0, n};
  double t_aff[REPEATS], t_sel[2][REPEATS], t_gather[2][REPEATS], t_read[2][REPEATS];
  for (int r = -1; status == MV_OK && r < REPEATS; r++) { /* r = -1: warm-up */
    double t0 = bench_now();
    status = mv_memory_affinity(k, q, CK, m, n, MV_AFFINITY_QUERY_MAJOR, a);
    if (status == MV_OK) status = mv_runtime_finish();
    if (r >= 0) t_aff[r] = (bench_now() - t0) * 1e3;
    for (int host = 0; host < paths && status == MV_OK; host++) {
      mv_memory_set_host_ops(host);
      mv_memory_kept kept = {{idx[host].buffer, 0, n}, {w[host].buffer, 0, n}};
      double t1 = bench_now();
      status = mv_memory_topk(a, m, n, TOP_K, kept);
      if (status == MV_OK) status = mv_runtime_finish();
      double t2 = bench_now();
      if (status == MV_OK) status = mv_memory_gather(v, CV, m, n, TOP_K, kept, o);
      if (status == MV_OK) status = mv_runtime_finish();
      double t3 = bench_now();
      if (status == MV_OK) status = mv_memory_read(k, v, q, CK, CV, m, n, TOP_K, o, NULL);
      if (status == MV_OK) status = mv_runtime_finish();
      double t4 = bench_now();
      if (r >= 0) {
        t_sel[host][r] = (t2 - t1) * 1e3;
        t_gather[host][r] = (t3 - t2) * 1e3;
        t_read[host][r] = (t4 - t3) * 1e3;
      }
    }
    mv_memory_set_host_ops(-1);
  }
  /* The two paths' kept lists (the last repeat's). */
  int differ = 0;
  if (status == MV_OK && paths == 2) {
    int *got[2] = {malloc(TOP_K * n * sizeof(int)), malloc(TOP_K * n * sizeof(int))};
    for (int i = 0; i < 2 && status == MV_OK; i++)
      status = got[i] ? mv_tensor_download(&idx[i], (float *)got[i]) : MV_E_MEMORY;
    for (size_t i = 0; status == MV_OK && i < TOP_K * n; i++) differ += got[0][i] != got[1][i];
    free(got[0]);
    free(got[1]);
  }
  if (status == MV_OK) {
    double ms_aff = median(t_aff, REPEATS);
    double sel[2], gat[2], rd[2];
    for (int i = 0; i < paths; i++) {
      sel[i] = median(t_sel[i], REPEATS);
      gat[i] = median(t_gather[i], REPEATS);
      rd[i] = median(t_read[i], REPEATS);
    }
    printf("%6d %8zu %12.2f %9.1f %10.2f %10.2f", frames, m, ms_aff,
           2.0 * CK * m * n / (ms_aff * 1e6), sel[0], gat[0]);
    if (paths == 2)
      printf(" %10.2f %10.2f %9.1fx %9.1fx %10.2f %10.2f %8d\n", sel[1], gat[1],
             sel[0] / sel[1], gat[0] / gat[1], rd[0], rd[1], differ);
    else
      printf(" %10s %10s %10s %10s %10.2f %10s %8s\n", "-", "-", "-", "-", rd[0], "-", "-");
    fflush(stdout);
  }
  mv_tensor_free(&key);
  mv_tensor_free(&value);
  mv_tensor_free(&query);
  mv_tensor_free(&aff);
  for (int i = 0; i < 2; i++) {
    mv_tensor_free(&idx[i]);
    mv_tensor_free(&w[i]);
  }
  mv_tensor_free(&out);
  mv_buffer_pool_trim();
  return status;
}

int bench_memory(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mv_device_info info;
  if (mv_device_current(&info) != MV_OK) return 1;
  const int paths = host_available() ? 2 : 1;
  printf("device: %s; query %dx%d = %d positions, Ck %d, Cv %d, top-%d; median of %d, ms\n",
         info.name, QH, QW, QH * QW, CK, CV, TOP_K, REPEATS);
  printf("selection (+softmax) and gather on the kernels (k) and the host implementations (h, "
         "CPU devices with host memory); read = affinity + selection + gather; 'differ' = kept "
         "entries that differ between the paths\n");
  printf("%6s %8s %12s %9s %10s %10s %10s %10s %10s %10s %10s %10s %8s\n", "frames", "M",
         "affinity_ms", "GFLOP/s", "select_k", "gather_k", "select_h", "gather_h", "select_k/h",
         "gather_k/h", "read_k", "read_h", "differ");
  static const int frames[] = {4, 10, 40};
  for (int i = 0; i < 3; i++)
    if (run_size(frames[i], paths) != MV_OK) return 1;
  return 0;
}
