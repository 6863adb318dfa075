/* Space-time memory read: golden outputs of the official code (affinity,
 * top-50 index sets, top-50 and full readouts, the batched per-object read
 * of prop_segment, the fusion attention softmax), a randomized comparison
 * with a double-precision C reference (odd sizes, offsets and leading
 * dimensions, exact ties, adversarial orders), and argument failures. The
 * golden and randomized cases run with the top-k selection and gather on
 * the kernels and, on a CPU device with host memory, on the host
 * implementations (memory_read.h); host_vs_kernel compares the two paths
 * directly.
 * Usage: test_memory_read [FIXTURE_DIR] (default shared/fixtures/golden). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/memory_read.h"
#include "testutil.h"

static const char *fixtures;

static void run_all(void);

/* ---- helpers ------------------------------------------------------------- */

/* Reads FIXTURES/name, which must have this dtype and number of dimensions.
 * Every size comes from the files: the arrays are then checked against each
 * other with `shaped`. */
static mv_array *load(const char *name, mv_dtype dtype, int ndim) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", fixtures, name);
  mv_array *a = NULL;
  if (!CHECK_OK(mv_npy_read(path, &a))) return NULL;
  int ok = a->dtype == dtype && a->ndim == ndim;
  CHECK(ok, "%s: %s with %d dimensions, want %s with %d", name, mv_dtype_name(a->dtype), a->ndim,
        mv_dtype_name(dtype), ndim);
  if (!ok) {
    mv_array_free(a);
    return NULL;
  }
  return a;
}

static void format_shape(char *out, size_t size, const int64_t *dims, int ndim) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < ndim && used < size; i++)
    used += (size_t)snprintf(out + used, size - used, "%s%lld", i ? "x" : "",
                             (long long)dims[i]);
}

/* The array (loaded with `load`, so ndim is right) has exactly these sizes,
 * which the caller derived from the other arrays of the case. */
static int shaped(const mv_array *a, const char *name, const int64_t *want, int ndim) {
  int ok = a->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = a->shape[i] == want[i];
  if (!ok) {
    char got_text[128], want_text[128];
    format_shape(got_text, sizeof got_text, a->shape, a->ndim);
    format_shape(want_text, sizeof want_text, want, ndim);
    CHECK(0, "%s: shape %s, want %s (from the case's other arrays)", name, got_text, want_text);
  }
  return ok;
}
#define SHAPED(a, name, ...)                            \
  shaped((a), (name), (const int64_t[]){__VA_ARGS__}, \
         (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* A device buffer of `count` 4-byte entries (float or int32), optionally
 * filled from host. */
static int device(mv_tensor *t, size_t count, const void *host) {
  if (!CHECK_OK(mv_tensor_new(t, 1, 1, 1, (int)count))) return 0;
  if (host && !CHECK_OK(mv_tensor_upload(t, (const float *)host))) return 0;
  return 1;
}

static mv_matrix mat(const mv_tensor *t, size_t offset, size_t ld) {
  mv_matrix x = {t->buffer, t->offset + offset, ld};
  return x;
}

static void *download(const mv_tensor *t) {
  void *host = malloc(mv_tensor_numel(t) * sizeof(float));
  if (!CHECK_OK(mv_tensor_download(t, (float *)host))) {
    free(host);
    return NULL;
  }
  return host;
}

static int report(const char *what, const float *got, const float *want, size_t n, double tol) {
  double rel = mv_rel_l2(got, want, n);
  printf("%-40s rel L2 = %.3e (tolerance %.0e)\n", what, rel, tol);
  CHECK(rel <= tol, "%s: rel L2 %.3e > %.0e", what, rel, tol);
  return rel <= tol;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Number of query columns whose kept index set differs from the reference
 * (got/want are k x n, [j, q] at j * n + q). */
static int set_mismatches(const int *got, const int64_t *want, int k, size_t n, size_t m) {
  int bad = 0;
  int *a = malloc(sizeof(int) * k), *b = malloc(sizeof(int) * k);
  for (size_t q = 0; q < n; q++) {
    int ok = 1;
    for (int j = 0; j < k; j++) {
      a[j] = got[j * n + q];
      b[j] = (int)want[j * n + q];
      if (a[j] < 0 || (size_t)a[j] >= m) ok = 0;
    }
    qsort(a, k, sizeof(int), cmp_int);
    qsort(b, k, sizeof(int), cmp_int);
    for (int j = 0; j < k && ok; j++) ok = a[j] == b[j] && (j == 0 || a[j] != a[j - 1]);
    bad += !ok;
  }
  free(a);
  free(b);
  return bad;
}

/* ---- golden: memory_read ----------------------------------------------------- */

static void golden_memory_read(void) {
  /* mem_key 1 x CK x T x h x w, mem_value 1 x CV x T x h x w, query_key
   * 1 x CK x qh x qw; M = T*h*w memory positions, N = qh*qw queries, the
   * top-K sets K x N. */
  mv_array *mk = load("memory_read/mem_key.npy", MV_FLOAT32, 5);
  mv_array *mv = load("memory_read/mem_value.npy", MV_FLOAT32, 5);
  mv_array *qk = load("memory_read/query_key.npy", MV_FLOAT32, 4);
  mv_array *aff = load("memory_read/affinity.npy", MV_FLOAT32, 3);
  mv_array *top = load("memory_read/top50_indices.npy", MV_INT64, 3);
  mv_array *r50 = load("memory_read/readout_top50.npy", MV_FLOAT32, 4);
  mv_array *rfull = load("memory_read/readout_full.npy", MV_FLOAT32, 4);
  if (!mk || !mv || !qk || !aff || !top || !r50 || !rfull) goto done;
  const int64_t T = mk->shape[2], mh = mk->shape[3], mw = mk->shape[4];
  const int64_t qh = qk->shape[2], qw = qk->shape[3];
  const int CK = (int)mk->shape[1], CV = (int)mv->shape[1], K = (int)top->shape[1];
  const size_t M = (size_t)(T * mh * mw), N = (size_t)(qh * qw);
  printf("memory_read: CK %d, CV %d, memory %lldx%lldx%lld (M %zu), queries %lldx%lld (N %zu), "
         "top-%d\n", CK, CV, (long long)T, (long long)mh, (long long)mw, M, (long long)qh,
         (long long)qw, N, K);
  if (!SHAPED(mk, "memory_read/mem_key.npy", 1, CK, T, mh, mw) ||
      !SHAPED(mv, "memory_read/mem_value.npy", 1, CV, T, mh, mw) ||
      !SHAPED(qk, "memory_read/query_key.npy", 1, CK, qh, qw) ||
      !SHAPED(aff, "memory_read/affinity.npy", 1, (int64_t)M, (int64_t)N) ||
      !SHAPED(top, "memory_read/top50_indices.npy", 1, K, (int64_t)N) ||
      !SHAPED(r50, "memory_read/readout_top50.npy", 1, CV, qh, qw) ||
      !SHAPED(rfull, "memory_read/readout_full.npy", 1, CV, qh, qw))
    goto done;
  CHECK(K >= 1 && (size_t)K <= M && K <= MV_MEMORY_MAX_TOP_K,
        "memory_read: top-%d of %zu memory positions", K, M);
  if (!(K >= 1 && (size_t)K <= M && K <= MV_MEMORY_MAX_TOP_K)) goto done;

  mv_tensor dmk = {0}, dmv = {0}, dqk = {0}, daff = {0}, dout = {0}, didx = {0}, dw = {0};
  if (!device(&dmk, CK * M, mk->data) || !device(&dmv, CV * M, mv->data) ||
      !device(&dqk, CK * N, qk->data) || !device(&daff, M * N, NULL) ||
      !device(&dout, CV * N, NULL) || !device(&didx, K * N, NULL) || !device(&dw, K * N, NULL))
    goto free_device;

  /* Affinity in the official M x N layout, and query-major (transposed). */
  if (CHECK_OK(mv_memory_affinity(mat(&dmk, 0, M), mat(&dqk, 0, N), CK, M, N,
                                  MV_AFFINITY_MEMORY_MAJOR, mat(&daff, 0, N)))) {
    float *got = download(&daff);
    if (got) report("memory_read/affinity (M x N)", got, aff->data, M * N, 1e-4);
    free(got);
  }
  if (CHECK_OK(mv_memory_affinity(mat(&dmk, 0, M), mat(&dqk, 0, N), CK, M, N,
                                  MV_AFFINITY_QUERY_MAJOR, mat(&daff, 0, M)))) {
    float *got = download(&daff), *t = malloc(sizeof(float) * M * N);
    if (got) {
      for (size_t q = 0; q < N; q++)
        for (size_t p = 0; p < M; p++) t[p * N + q] = got[q * M + p];
      report("memory_read/affinity (query-major)", t, aff->data, M * N, 1e-4);
    }
    free(got);
    free(t);
  }

  /* Top-50 read with the kept indices and weights. */
  mv_memory_kept kept = {mat(&didx, 0, N), mat(&dw, 0, N)};
  if (CHECK_OK(mv_memory_read(mat(&dmk, 0, M), mat(&dmv, 0, M), mat(&dqk, 0, N), CK, CV, M, N, K,
                              mat(&dout, 0, N), &kept))) {
    float *got = download(&dout);
    int *idx = download(&didx);
    float *w = download(&dw);
    if (got) report("memory_read/readout_top50", got, r50->data, CV * N, 1e-4);
    if (idx) {
      int bad = set_mismatches(idx, top->data, K, N, M);
      int order = 0;
      const int64_t *want = top->data;
      for (size_t i = 0; i < K * N; i++) order += idx[i] != (int)want[i];
      printf("%-40s %d of %zu columns differ as sets (%d entries differ in order)\n",
             "memory_read/top50_indices", bad, N, order);
      CHECK(bad == 0, "top50_indices: %d columns differ as sets", bad);
    }
    if (w) {
      double worst = 0;
      int increasing = 0;
      for (size_t q = 0; q < N; q++) {
        double s = 0;
        for (int j = 0; j < K; j++) {
          s += w[j * N + q];
          increasing += j > 0 && w[j * N + q] > w[(j - 1) * N + q];
        }
        if (fabs(s - 1) > worst) worst = fabs(s - 1);
      }
      CHECK(increasing == 0, "kept weights increase %d times along j", increasing);
      CHECK(worst < 1e-5, "kept weights: a column sums to 1 +- %.2e", worst);
    }
    free(got);
    free(idx);
    free(w);
  }

  /* Full softmax read. */
  if (CHECK_OK(mv_memory_read(mat(&dmk, 0, M), mat(&dmv, 0, M), mat(&dqk, 0, N), CK, CV, M, N, 0,
                              mat(&dout, 0, N), NULL))) {
    float *got = download(&dout);
    if (got) report("memory_read/readout_full", got, rfull->data, CV * N, 1e-4);
    free(got);
  }

free_device:
  mv_tensor_free(&dmk);
  mv_tensor_free(&dmv);
  mv_tensor_free(&dqk);
  mv_tensor_free(&daff);
  mv_tensor_free(&dout);
  mv_tensor_free(&didx);
  mv_tensor_free(&dw);
done:
  mv_array_free(mk);
  mv_array_free(mv);
  mv_array_free(qk);
  mv_array_free(aff);
  mv_array_free(top);
  mv_array_free(r50);
  mv_array_free(rfull);
}

/* ---- golden: prop_segment (two objects, one call) ------------------------------ */

static void golden_prop_segment(void) {
  /* The official network's read keeps the top 50 (a constant of the
   * network, not of the fixtures). mem_key OBJ x CK x T x h x w, mem_value
   * OBJ x CV x T x h x w, query_k16 1 x CK x qh x qw, readout OBJ x CV x qh x qw. */
  enum { TOP_K = 50 };
  mv_array *mk = load("prop_segment/mem_key.npy", MV_FLOAT32, 5);
  mv_array *mv = load("prop_segment/mem_value.npy", MV_FLOAT32, 5);
  mv_array *qk = load("prop_segment/query_k16.npy", MV_FLOAT32, 4);
  mv_array *ref = load("prop_segment/readout.npy", MV_FLOAT32, 4);
  int64_t OBJ = 0, CK = 0, CV = 0, T = 0, h = 0, w = 0, qh = 0, qw = 0;
  if (mk && mv && qk && ref) {
    OBJ = mk->shape[0], CK = mk->shape[1], CV = mv->shape[1];
    T = mk->shape[2], h = mk->shape[3], w = mk->shape[4];
    qh = qk->shape[2], qw = qk->shape[3];
  }
  const size_t M = (size_t)(T * h * w), N = (size_t)(qh * qw);
  /* The readout goes into the first CV of 2 CV channels per object, as in
   * the decoder input [readout, v16] (v16 has CV channels too). */
  const size_t OUT_C = 2 * (size_t)CV;
  if (mk && mv && qk && ref && SHAPED(mv, "prop_segment/mem_value.npy", OBJ, CV, T, h, w) &&
      SHAPED(qk, "prop_segment/query_k16.npy", 1, CK, qh, qw) &&
      SHAPED(ref, "prop_segment/readout.npy", OBJ, CV, qh, qw)) {
    CHECK(M >= TOP_K, "prop_segment: %zu memory positions, the top-%d read needs %d", M, TOP_K,
          TOP_K);
    mv_tensor dmk = {0}, dmv = {0}, dqk = {0}, dout = {0};
    if (M >= TOP_K && device(&dmk, OBJ * CK * M, mk->data) &&
        device(&dmv, OBJ * CV * M, mv->data) && device(&dqk, CK * N, qk->data) &&
        device(&dout, OBJ * OUT_C * N, NULL) && CHECK_OK(mv_tensor_fill(&dout, 7.0f)) &&
        CHECK_OK(mv_memory_read_objects((int)OBJ, mat(&dmk, 0, M), CK * M, mat(&dmv, 0, M),
                                        CV * M, mat(&dqk, 0, N), (int)CK, (int)CV, M, N, TOP_K,
                                        mat(&dout, 0, N), OUT_C * N))) {
      float *got = download(&dout);
      if (got) {
        float *packed = malloc(sizeof(float) * OBJ * CV * N);
        int untouched = 1;
        for (int64_t o = 0; o < OBJ; o++) {
          memcpy(packed + o * CV * N, got + o * OUT_C * N, sizeof(float) * CV * N);
          for (size_t i = CV * N; i < OUT_C * N; i++) untouched &= got[o * OUT_C * N + i] == 7.0f;
        }
        char what[64];
        snprintf(what, sizeof what, "prop_segment/readout (%lld object%s)", (long long)OBJ,
                 OBJ == 1 ? "" : "s");
        report(what, packed, ref->data, OBJ * CV * N, 1e-4);
        CHECK(untouched, "read_objects wrote outside the readout channels");
        free(packed);
      }
      free(got);
    }
    mv_tensor_free(&dmk);
    mv_tensor_free(&dmv);
    mv_tensor_free(&dqk);
    mv_tensor_free(&dout);
  }
  mv_array_free(mk);
  mv_array_free(mv);
  mv_array_free(qk);
  mv_array_free(ref);
}

/* ---- golden: fusion attention ------------------------------------------------------ */

static void golden_fusion(void) {
  /* mem_key OBJ x CK x 1 x h x w (the interaction frame), query_key
   * 1 x CK x qh x qw, affinity_softmax OBJ x M x N. */
  mv_array *mk = load("fusion/mem_key.npy", MV_FLOAT32, 5);
  mv_array *qk = load("fusion/query_key.npy", MV_FLOAT32, 4);
  mv_array *ref = load("fusion/affinity_softmax.npy", MV_FLOAT32, 3);
  int64_t OBJ = 0, CK = 0, T = 0, h = 0, w = 0, qh = 0, qw = 0;
  if (mk && qk && ref) {
    OBJ = mk->shape[0], CK = mk->shape[1], T = mk->shape[2], h = mk->shape[3], w = mk->shape[4];
    qh = qk->shape[2], qw = qk->shape[3];
  }
  const size_t M = (size_t)(T * h * w), N = (size_t)(qh * qw);
  if (mk && qk && ref && SHAPED(qk, "fusion/query_key.npy", 1, CK, qh, qw) &&
      SHAPED(ref, "fusion/affinity_softmax.npy", OBJ, (int64_t)M, (int64_t)N)) {
    mv_tensor dmk = {0}, dqk = {0}, dout = {0};
    if (device(&dmk, OBJ * CK * M, mk->data) && device(&dqk, CK * N, qk->data) &&
        device(&dout, OBJ * M * N, NULL)) {
      int ok = 1;
      for (int64_t o = 0; o < OBJ; o++)
        ok &= CHECK_OK(mv_memory_affinity_softmax(mat(&dmk, (size_t)o * CK * M, M),
                                                  mat(&dqk, 0, N), (int)CK, M, N,
                                                  mat(&dout, (size_t)o * M * N, N)));
      float *got = ok ? download(&dout) : NULL;
      if (got) report("fusion/affinity_softmax", got, ref->data, OBJ * M * N, 1e-4);
      free(got);
    }
    mv_tensor_free(&dmk);
    mv_tensor_free(&dqk);
    mv_tensor_free(&dout);
  }
  mv_array_free(mk);
  mv_array_free(qk);
  mv_array_free(ref);
}

/* ---- randomized comparison with a double-precision reference ------------------------------ */

typedef struct ref_entry {
  float a;
  int p;
} ref_entry;

static int cmp_entry(const void *x, const void *y) {
  const ref_entry *a = x, *b = y;
  if (a->a != b->a) return a->a > b->a ? -1 : 1;
  return (a->p > b->p) - (a->p < b->p);
}

typedef struct random_case {
  const char *name;
  int ck, cv;
  size_t m, n;
  int top_k;
  int pattern; /* 0: quantized random keys; 1: ck = 1, row of m/4 (qk = +1, -1, 0) */
} random_case;

static void random_read(const random_case *rc) {
  const int ck = rc->ck, cv = rc->cv, k = rc->top_k;
  const size_t m = rc->m, n = rc->n;
  /* Odd offsets and leading dimensions: the matrices are views. */
  const size_t key_off = 5, key_ld = m + 3, q_off = 7, q_ld = n + 2, v_off = 11, v_ld = m + 1,
               out_off = 13, out_ld = n + 5;
  size_t key_count = key_off + ck * key_ld, q_count = q_off + ck * q_ld,
         v_count = v_off + cv * v_ld, out_count = out_off + cv * out_ld;
  float *mk = calloc(key_count, sizeof(float)), *qk = calloc(q_count, sizeof(float));
  float *mv = calloc(v_count, sizeof(float));
  float *noise = malloc(sizeof(float) * (key_count + q_count));
  mv_test_random(noise, key_count + q_count, 1234 + m + k, -1.0f, 1.0f);
  mv_test_random(mv, v_count, 99 + m, -1.0f, 1.0f);
  for (int c = 0; c < ck; c++) {
    for (size_t p = 0; p < m; p++)
      /* Multiples of 1/8: every product and partial sum is exact in float,
       * so equal affinities are exact ties on any GEMM, and distinct ones
       * differ by >= 1/64 / sqrt(ck). */
      mk[key_off + c * key_ld + p] =
          rc->pattern ? 0.25f * (float)p : roundf(noise[c * key_ld + p] * 8.0f) / 8.0f;
    for (size_t q = 0; q < n; q++)
      qk[q_off + c * q_ld + q] =
          rc->pattern ? (q % 3 == 0 ? 1.0f : q % 3 == 1 ? -1.0f : 0.0f)
                      : roundf(noise[key_count + c * q_ld + q] * 8.0f) / 8.0f;
  }

  /* Reference: the float affinity the device computes (exact sum times the
   * float scale, rounded once), then top-k, weights and readout in double. */
  const float scale = 1.0f / sqrtf((float)ck);
  float *aff = malloc(sizeof(float) * m * n); /* m x n */
  for (size_t p = 0; p < m; p++)
    for (size_t q = 0; q < n; q++) {
      double s = 0;
      for (int c = 0; c < ck; c++)
        s += (double)mk[key_off + c * key_ld + p] * (double)qk[q_off + c * q_ld + q];
      aff[p * n + q] = (float)(s * (double)scale);
    }
  int64_t *want_idx = malloc(sizeof(int64_t) * k * n);
  float *want_w = malloc(sizeof(float) * k * n), *want_out = malloc(sizeof(float) * cv * n);
  float *want_full = malloc(sizeof(float) * cv * n), *want_soft = malloc(sizeof(float) * m * n);
  ref_entry *col = malloc(sizeof(ref_entry) * m);
  double *w = malloc(sizeof(double) * m);
  for (size_t q = 0; q < n; q++) {
    for (size_t p = 0; p < m; p++) col[p] = (ref_entry){aff[p * n + q], (int)p};
    qsort(col, m, sizeof *col, cmp_entry);
    double sum = 0;
    for (int j = 0; j < k; j++) sum += w[j] = exp((double)col[j].a - (double)col[0].a);
    for (int j = 0; j < k; j++) {
      want_idx[j * n + q] = col[j].p;
      want_w[j * n + q] = (float)(w[j] / sum);
    }
    for (int c = 0; c < cv; c++) {
      double acc = 0;
      for (int j = 0; j < k; j++) acc += w[j] / sum * mv[v_off + c * v_ld + col[j].p];
      want_out[c * n + q] = (float)acc;
    }
    double full = 0;
    for (size_t p = 0; p < m; p++) full += w[p] = exp((double)aff[p * n + q] - (double)col[0].a);
    for (size_t p = 0; p < m; p++) want_soft[p * n + q] = (float)(w[p] / full);
    for (int c = 0; c < cv; c++) {
      double acc = 0;
      for (size_t p = 0; p < m; p++) acc += w[p] / full * mv[v_off + c * v_ld + p];
      want_full[c * n + q] = (float)acc;
    }
  }

  mv_tensor dmk = {0}, dqk = {0}, dmv = {0}, dout = {0}, didx = {0}, dw = {0}, dsoft = {0};
  if (device(&dmk, key_count, mk) && device(&dqk, q_count, qk) && device(&dmv, v_count, mv) &&
      device(&dout, out_count, NULL) && device(&didx, 3 + k * (n + 1), NULL) &&
      device(&dw, 3 + k * (n + 1), NULL) && device(&dsoft, m * n, NULL)) {
    mv_matrix key = mat(&dmk, key_off, key_ld), query = mat(&dqk, q_off, q_ld),
              value = mat(&dmv, v_off, v_ld), out = mat(&dout, out_off, out_ld);
    mv_memory_kept kept = {mat(&didx, 3, n + 1), mat(&dw, 3, n + 1)};
    float *sentinel = malloc(sizeof(float) * out_count);
    for (size_t i = 0; i < out_count; i++) sentinel[i] = -3.0f;
    CHECK_OK(mv_tensor_upload(&dout, sentinel));
    char what[128];
    if (CHECK_OK(mv_memory_read(key, value, query, ck, cv, m, n, k, out, &kept))) {
      float *got = download(&dout), *got_w = download(&dw);
      int *got_idx = download(&didx);
      if (got && got_w && got_idx) {
        float *packed = malloc(sizeof(float) * cv * n);
        int outside = 0;
        for (size_t i = 0; i < out_count; i++) {
          size_t r = (i - out_off) / out_ld, c = (i - out_off) % out_ld;
          if (i < out_off || r >= (size_t)cv || c >= n) outside += got[i] != -3.0f;
          else packed[r * n + c] = got[i];
        }
        CHECK(outside == 0, "%s: %d entries outside the readout view changed", rc->name, outside);
        snprintf(what, sizeof what, "%s readout", rc->name);
        report(what, packed, want_out, cv * n, 1e-5);
        /* Exact ties exist; the order is (affinity desc, position asc) on
         * both sides, so the kept lists must agree entry by entry. */
        int *idx = malloc(sizeof(int) * k * n);
        float *wt = malloc(sizeof(float) * k * n);
        int order = 0;
        for (int j = 0; j < k; j++)
          for (size_t q = 0; q < n; q++) {
            idx[j * n + q] = got_idx[3 + j * (n + 1) + q];
            wt[j * n + q] = got_w[3 + j * (n + 1) + q];
            order += idx[j * n + q] != (int)want_idx[j * n + q];
          }
        int bad = set_mismatches(idx, want_idx, k, n, m);
        printf("%-40s %d of %zu columns differ as sets, %d entries in order\n", rc->name, bad, n,
               order);
        CHECK(bad == 0 && order == 0, "%s: %d columns differ as sets, %d entries in order",
              rc->name, bad, order);
        snprintf(what, sizeof what, "%s weights", rc->name);
        report(what, wt, want_w, k * n, 1e-5);
        free(idx);
        free(wt);
        free(packed);
      }
      free(got);
      free(got_w);
      free(got_idx);
    }
    if (k == 50 && CHECK_OK(mv_memory_read(key, value, query, ck, cv, m, n, 0, out, NULL))) {
      float *got = download(&dout), *packed = malloc(sizeof(float) * cv * n);
      if (got) {
        for (int c = 0; c < cv; c++)
          memcpy(packed + c * n, got + out_off + c * out_ld, sizeof(float) * n);
        snprintf(what, sizeof what, "%s full readout", rc->name);
        report(what, packed, want_full, cv * n, 1e-5);
      }
      free(got);
      free(packed);
    }
    if (k == 50 && CHECK_OK(mv_memory_affinity_softmax(key, query, ck, m, n, mat(&dsoft, 0, n)))) {
      float *got = download(&dsoft);
      snprintf(what, sizeof what, "%s affinity softmax", rc->name);
      if (got) report(what, got, want_soft, m * n, 1e-5);
      free(got);
    }
    free(sentinel);
  }
  mv_tensor_free(&dmk);
  mv_tensor_free(&dqk);
  mv_tensor_free(&dmv);
  mv_tensor_free(&dout);
  mv_tensor_free(&didx);
  mv_tensor_free(&dw);
  mv_tensor_free(&dsoft);
  free(mk);
  free(qk);
  free(mv);
  free(noise);
  free(aff);
  free(want_idx);
  free(want_w);
  free(want_out);
  free(want_full);
  free(want_soft);
  free(col);
  free(w);
}

/* ---- argument failures ----------------------------------------------------------------- */

/* A buffer of exactly `count` floats (pooled ones may be larger), as an
 * owned tensor so mv_tensor_free releases it. */
static int exact(mv_tensor *t, size_t count) {
  mv_runtime *rt = NULL;
  memset(t, 0, sizeof *t);
  if (!CHECK_OK(mv_runtime_get(&rt))) return 0;
  cl_int code = CL_SUCCESS;
  t->buffer = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &code);
  CHECK(code == CL_SUCCESS, "clCreateBuffer(%zu floats): %d", count, (int)code);
  if (code != CL_SUCCESS) return 0;
  t->n = t->c = t->h = 1;
  t->w = (int)count;
  return 1;
}

static void release(mv_tensor *t) {
  if (t->buffer) clReleaseMemObject(t->buffer);
  memset(t, 0, sizeof *t);
}

static void failures(void) {
  enum { CK = 6, CV = 5, M = 30, N = 9 };
  mv_tensor key = {0}, value = {0}, query = {0}, out = {0}, idx = {0};
  if (!exact(&key, CK * M) || !exact(&value, CV * M) || !exact(&query, CK * N) ||
      !exact(&out, CV * N) || !exact(&idx, 60 * N))
    return;
  mv_matrix k = mat(&key, 0, M), v = mat(&value, 0, M), q = mat(&query, 0, N),
            o = mat(&out, 0, N), none = {NULL, 0, M};
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, M, N, 50, o, NULL), MV_E_ARGUMENT);
  const char *msg = mv_error_message();
  CHECK(strstr(msg, "50") && strstr(msg, "30"), "M < top_k message names both: \"%s\"", msg);
  CHECK_FAILS(mv_memory_read(none, v, q, CK, CV, M, N, 7, o, NULL), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "mem_key"), "NULL key message: \"%s\"", mv_error_message());
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, M, N, -1, o, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, M, N, MV_MEMORY_MAX_TOP_K + 1, o, NULL),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_read(k, v, q, 0, CV, M, N, 7, o, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, 0, N, 0, o, NULL), MV_E_ARGUMENT);
  mv_matrix short_ld = {key.buffer, 0, M - 1};
  CHECK_FAILS(mv_memory_read(short_ld, v, q, CK, CV, M, N, 7, o, NULL), MV_E_ARGUMENT);
  /* A view that runs past its buffer. */
  CHECK_FAILS(mv_memory_read(mat(&key, 1, M), v, q, CK, CV, M, N, 7, o, NULL), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "bytes"), "overrun message: \"%s\"", mv_error_message());
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV + 1, M, N, 7, o, NULL), MV_E_ARGUMENT);
  mv_memory_kept kept = {mat(&idx, 0, N), mat(&idx, 0, N)};
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, M, N, 0, o, &kept), MV_E_ARGUMENT);
  mv_memory_kept small = {mat(&idx, 0, N), {NULL, 0, N}};
  CHECK_FAILS(mv_memory_read(k, v, q, CK, CV, M, N, 7, o, &small), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_topk(mat(&idx, 0, M), M, 2, 31, kept), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_affinity(k, q, CK, M, N, (mv_affinity_layout)2, o), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_affinity_softmax(k, q, CK, M, N, o), MV_E_ARGUMENT); /* o too small */
  CHECK_FAILS(mv_memory_read_objects(0, k, 0, v, 0, q, CK, CV, M, N, 7, o, 0), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_read_objects(2, k, CK * M, v, 0, q, CK, CV, M, N, 7, o, 0),
              MV_E_ARGUMENT); /* object 1's key is past the buffer */
  release(&key);
  release(&value);
  release(&query);
  release(&out);
  release(&idx);
}

/* ---- host selection primitive ---------------------------------------------------- */

static int cmp_key_desc(const void *a, const void *b) {
  unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
  return (x < y) - (x > y);
}

/* mv_memory_select_keys against a full sort: random sizes (the sorting
 * network, the merge sort and the quickselect ranges), keys with equal
 * affinities (ties broken by position) and both signs. */
static void select_keys(void) {
  enum { TRIALS = 3000, MAX_N = 700 };
  unsigned long long *a = malloc(sizeof *a * MAX_N), *b = malloc(sizeof *b * MAX_N);
  float *v = malloc(sizeof(float) * MAX_N);
  int bad = 0;
  for (int trial = 0; trial < TRIALS && a && b && v; trial++) {
    size_t n = 1 + (size_t)(trial * 7919u % MAX_N), k = 1 + (size_t)(trial * 104729u % n);
    if (k > MV_MEMORY_MAX_TOP_K) k = MV_MEMORY_MAX_TOP_K;
    mv_test_random(v, n, 77 + trial, -8.0f, 8.0f);
    for (size_t i = 0; i < n; i++) {
      float x = trial % 3 ? roundf(v[i] * 4.0f) / 4.0f : v[i]; /* many exact ties */
      a[i] = b[i] = mv_memory_key(x, (unsigned)((i * 2654435761u) % 1000003u));
    }
    qsort(b, n, sizeof *b, cmp_key_desc);
    mv_memory_select_keys(a, n, k);
    for (size_t j = 0; j < k; j++)
      if (a[j] != b[j]) {
        bad++;
        break;
      }
  }
  printf("mv_memory_select_keys: %d of %d random selections differ from a full sort\n", bad,
         TRIALS);
  CHECK(bad == 0, "mv_memory_select_keys: %d selections differ from a full sort", bad);
  free(a);
  free(b);
  free(v);
}

/* 1 when the host implementations can run here (the host engine on a CPU
 * device with host memory, fast paths on). */
static int host_available(void) {
  mv_memory_set_host_ops(1);
  int available = mv_memory_host_ops();
  mv_memory_set_host_ops(-1);
  return available;
}

/* ---- host vs kernel: the same operator on both paths ---------------------------- */

/* mv_memory_topk and mv_memory_gather with the kernels and with the host
 * implementations on the same inputs (quantized affinities: many exact
 * ties; a row with -0.0 and +0.0): the kept lists must be equal entry by
 * entry, the weights and readouts equal up to the exponential's last bits. */
static void host_vs_kernel(void) {
  enum { M = 3001, N = 45, K = 50, CV = 37 };
  if (!host_available()) {
    printf("host vs kernel: no host implementations on this device, skipped\n");
    return;
  }
  float *aff = malloc(sizeof(float) * M * N), *val = malloc(sizeof(float) * CV * M);
  mv_test_random(aff, (size_t)M * N, 4242, -4.0f, 4.0f);
  mv_test_random(val, (size_t)CV * M, 4343, -1.0f, 1.0f);
  for (size_t i = 0; i < (size_t)M * N; i++) aff[i] = roundf(aff[i] * 16.0f) / 16.0f;
  for (size_t p = 0; p < M; p++) aff[p] = p % 2 ? 0.0f : -0.0f; /* row 0: signed zeros */
  for (size_t p = 0; p < M; p++) aff[M + p] = (float)p;        /* row 1: increasing */
  mv_tensor da = {0}, dv = {0}, idx[2] = {{0}}, w[2] = {{0}}, out[2] = {{0}};
  int ok = device(&da, (size_t)M * N, aff) && device(&dv, (size_t)CV * M, val);
  for (int i = 0; ok && i < 2; i++)
    ok = device(&idx[i], (size_t)K * N, NULL) && device(&w[i], (size_t)K * N, NULL) &&
         device(&out[i], (size_t)CV * N, NULL);
  for (int host = 0; ok && host < 2; host++) {
    mv_memory_set_host_ops(host);
    CHECK(mv_memory_host_ops() == host, "host ops switch %d", host);
    mv_memory_kept kept = {mat(&idx[host], 0, N), mat(&w[host], 0, N)};
    ok = CHECK_OK(mv_memory_topk(mat(&da, 0, M), M, N, K, kept)) &&
         CHECK_OK(mv_memory_gather(mat(&dv, 0, M), CV, M, N, K, kept, mat(&out[host], 0, N)));
  }
  /* The host gather on the kernel's kept entries: the same sums. */
  mv_tensor same = {0};
  if (ok && device(&same, (size_t)CV * N, NULL)) {
    mv_memory_kept kept = {mat(&idx[0], 0, N), mat(&w[0], 0, N)};
    if (CHECK_OK(mv_memory_gather(mat(&dv, 0, M), CV, M, N, K, kept, mat(&same, 0, N)))) {
      float *a = download(&out[0]), *b = download(&same);
      size_t bits = 0;
      for (size_t i = 0; a && b && i < (size_t)CV * N; i++) bits += a[i] != b[i];
      printf("host gather on the kernel's kept entries: %zu of %d readouts not bit-equal\n", bits,
             CV * N);
      CHECK(bits == 0, "host gather: %zu readouts differ from the kernel's", bits);
      free(a);
      free(b);
    }
  }
  mv_tensor_free(&same);
  mv_memory_set_host_ops(-1);
  if (ok) {
    int *i0 = download(&idx[0]), *i1 = download(&idx[1]);
    float *w0 = download(&w[0]), *w1 = download(&w[1]);
    float *o0 = download(&out[0]), *o1 = download(&out[1]);
    if (i0 && i1 && w0 && w1 && o0 && o1) {
      int order = 0;
      size_t wbits = 0, obits = 0;
      for (size_t i = 0; i < (size_t)K * N; i++) {
        order += i0[i] != i1[i];
        wbits += w0[i] != w1[i];
      }
      for (size_t i = 0; i < (size_t)CV * N; i++) obits += o0[i] != o1[i];
      double dw = mv_max_abs_diff(w0, w1, (size_t)K * N);
      double dout = mv_max_abs_diff(o0, o1, (size_t)CV * N);
      printf("host vs kernel M %d N %d k %d: %d kept entries differ; weights max |diff| %.2e "
             "(%zu not bit-equal); readout max |diff| %.2e (%zu not bit-equal)\n",
             M, N, K, order, dw, wbits, dout, obits);
      CHECK(order == 0, "host vs kernel: %d kept entries differ", order);
      CHECK(dw < 1e-6, "host vs kernel weights: max |diff| %.2e", dw);
      CHECK(dout < 1e-5, "host vs kernel readout: max |diff| %.2e", dout);
    }
    free(i0), free(i1), free(w0), free(w1), free(o0), free(o1);
  }
  mv_tensor_free(&da);
  mv_tensor_free(&dv);
  for (int i = 0; i < 2; i++) {
    mv_tensor_free(&idx[i]);
    mv_tensor_free(&w[i]);
    mv_tensor_free(&out[i]);
  }
  free(aff);
  free(val);
}

int main(int argc, char **argv) {
  fixtures = argc > 1 ? argv[1] : mv_shared_path("fixtures/golden");
  select_keys();
  host_vs_kernel();
  /* Every case on both paths of the selection and gather: the kernels,
   * then (on a CPU device with host memory) the host implementations. */
  for (int host = 0; host < 2; host++) {
    if (host && !host_available()) break;
    mv_memory_set_host_ops(host);
    printf("== %s top-k selection and gather\n", host ? "host" : "kernel");
    run_all();
  }
  mv_memory_set_host_ops(-1);
  failures();
  return mv_test_finish();
}

static void run_all(void) {
  golden_memory_read();
  golden_prop_segment();
  golden_fusion();
  static const random_case cases[] = {
      {"random M 2999 N 37 k 50", 19, 23, 2999, 37, 50, 0},
      {"random M 2999 N 37 k 7", 19, 23, 2999, 37, 7, 0},
      {"random M 20011 N 5 k 50", 6, 9, 20011, 5, 50, 0},
      {"ordered M 5003 N 3 k 50 (asc/desc/ties)", 1, 7, 5003, 3, 50, 1},
      {"random M 50 N 11 k 50 (M == k)", 3, 5, 50, 11, 50, 0},
      /* k above the work-group size skips the slice-maximum pre-threshold,
       * so the candidate buffer overflows and is compacted repeatedly. */
      {"random M 2999 N 7 k 300", 19, 23, 2999, 7, 300, 0},
      {"ordered M 5003 N 3 k 300 (asc/desc/ties)", 1, 7, 5003, 3, 300, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) random_read(&cases[i]);
}
