/* Host implementations of the top-k read's selection + softmax and gather
 * (memory_read.h), for CPU devices whose buffers are host memory (PoCL):
 * PoCL runs memory_topk_select at a fraction of native speed (one
 * work-group per query with barriers and a bitonic sort in local memory,
 * about 80 % of labelprop's time), so on such a device the operator maps the
 * buffers and runs this code on the host thread pool instead.
 *
 * Semantics are the kernels' (kernels/memory_read.cl): the kept set is the
 * top_k largest 64-bit keys (affinity descending, position ascending: the
 * same key), in decreasing order; weights exp(a - a_max) in float, summed in
 * kept order, divided by the sum; the gather sums w * v in kept order with
 * one fused multiply-add per term (as PoCL contracts `acc += w * v`). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/memory_read.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define MR_X86 1
#else
#define MR_X86 0
#endif

typedef unsigned long long mkey;

/* ---- the switch ------------------------------------------------------------------ */

static int forced_mode = -1; /* mv_memory_set_host_ops */
static int env_mode = -2;    /* MIVOS_HOST_OPS, read once (-2: not read yet) */

void mv_memory_set_host_ops(int mode) { forced_mode = mode < 0 ? -1 : mode ? 1 : 0; }

int mv_memory_host_ops(void) {
  int mode = forced_mode;
  if (mode < 0) {
    if (env_mode == -2) {
      const char *env = getenv("MIVOS_HOST_OPS");
      env_mode = env && env[0] == '0' ? 0 : -1;
    }
    mode = env_mode;
  }
  return mode != 0 && mv_ops_use_host();
}

/* ---- selection on host keys --------------------------------------------------- */

static void insertion_desc(mkey *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    mkey x = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1] < x; j--) a[j] = a[j - 1];
    a[j] = x;
  }
}

/* Min-heap sift-down (decreasing order after the heap sort). */
static void sift_min(mkey *a, size_t n, size_t i) {
  mkey x = a[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && a[c + 1] < a[c]) c++;
    if (a[c] >= x) break;
    a[i] = a[c];
    i = c;
  }
  a[i] = x;
}

static void heap_sort_desc(mkey *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_min(a, n, i);
  for (size_t end = n; end > 1; end--) {
    mkey t = a[0];
    a[0] = a[end - 1];
    a[end - 1] = t;
    sift_min(a, end - 1, 0);
  }
}

static mkey median3(mkey a, mkey b, mkey c) {
  if (a < b) {
    if (b < c) return b;
    return a < c ? c : a;
  }
  if (a < c) return a;
  return b < c ? c : b;
}

/* Partitions a[0, n) (distinct keys) around the pivot value (present in
 * the range): returns s with a[0, s) > pivot, a[s] == pivot, a(s, n) < pivot. */
static size_t partition_desc(mkey *a, size_t n, mkey pivot) {
  size_t at = 0;
  while (a[at] != pivot) at++;
  a[at] = a[n - 1];
  a[n - 1] = pivot;
  size_t s = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    mkey x = a[i];
    if (x > pivot) {
      a[i] = a[s];
      a[s++] = x;
    }
  }
  a[n - 1] = a[s];
  a[s] = pivot;
  return s;
}

static void sort_desc(mkey *a, size_t n, int depth) {
  while (n > 24) {
    if (depth-- <= 0) {
      heap_sort_desc(a, n);
      return;
    }
    size_t s = partition_desc(a, n, median3(a[0], a[n / 2], a[n - 1]));
    /* Recurse into the smaller side, loop on the larger. */
    if (s < n - s - 1) {
      sort_desc(a, s, depth);
      a += s + 1;
      n -= s + 1;
    } else {
      sort_desc(a + s + 1, n - s - 1, depth);
      n = s;
    }
  }
  insertion_desc(a, n);
}

static int log2_depth(size_t n) {
  int d = 8;
  while (n > 1) n >>= 1, d += 2;
  return d;
}

/* Bottom-up merge sort in decreasing order, branch-free merges (the keys
 * are distinct; cmov instead of unpredictable branches). tmp holds n keys. */
static void merge_sort_desc(mkey *a, size_t n, mkey *tmp) {
  /* Runs of 4 by a sorting network of compare-exchanges. */
  for (size_t lo = 0; lo + 4 <= n; lo += 4) {
    mkey *r = a + lo;
#define MR_CX(i, j)                  \
  do {                               \
    mkey x = r[i], y = r[j];         \
    r[i] = x > y ? x : y;            \
    r[j] = x > y ? y : x;            \
  } while (0)
    MR_CX(0, 1);
    MR_CX(2, 3);
    MR_CX(0, 2);
    MR_CX(1, 3);
    MR_CX(1, 2);
#undef MR_CX
  }
  if (n % 4) insertion_desc(a + n / 4 * 4, n % 4);
  mkey *src = a, *dst = tmp;
  for (size_t width = 4; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      const size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        const mkey x = src[i], y = src[j];
        const int take = x > y;
        dst[o++] = take ? x : y;
        i += (size_t)take;
        j += (size_t)!take;
      }
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    mkey *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

#if MR_X86
/* Bitonic sorting network in decreasing order on 4 keys per AVX2 vector,
 * n <= NETWORK_MAX (padded with 0, below every key: a key is 0 only for
 * position 0xFFFFFFFF). No data-dependent branches, where a comparison
 * sort of ~60 keys mispredicts about once per key. Keys are compared
 * unsigned (sign bit flipped for the signed 64-bit compare). */
enum { NETWORK_MAX = 128 };

__attribute__((target("avx2"))) static void network_sort_desc(mkey *a, size_t n) {
  size_t total = 8;
  while (total < n) total <<= 1;
  const size_t vectors = total / 4;
  long long t[NETWORK_MAX];
  for (size_t i = 0; i < n; i++) t[i] = (long long)(a[i] ^ 0x8000000000000000ULL);
  for (size_t i = n; i < total; i++) t[i] = INT64_MIN;
  __m256i v[NETWORK_MAX / 4];
  for (size_t x = 0; x < vectors; x++) v[x] = _mm256_loadu_si256((const __m256i *)(t + 4 * x));
  /* Lanes that keep the larger key of an in-vector pair. */
  const __m256i m01 = _mm256_setr_epi64x(-1, -1, 0, 0), m23 = _mm256_setr_epi64x(0, 0, -1, -1);
  const __m256i m02 = _mm256_setr_epi64x(-1, 0, -1, 0), m13 = _mm256_setr_epi64x(0, -1, 0, -1);
  const __m256i m03 = _mm256_setr_epi64x(-1, 0, 0, -1);
  for (size_t size = 2; size <= total; size <<= 1)
    for (size_t stride = size >> 1; stride > 0; stride >>= 1) {
      if (stride >= 4) { /* pairs across vectors: blocks of 2 * step vectors */
        const size_t step = stride / 4;
        for (size_t base = 0; base < vectors; base += 2 * step) {
          /* The direction is the same for the whole block (size >= 2 stride). */
          const __m256i asc = _mm256_set1_epi64x(((4 * base) & size) == 0 ? 0 : -1);
          for (size_t x = base; x < base + step; x++) {
            const __m256i p = v[x], q = v[x + step];
            /* Decreasing: x keeps the larger, increasing the smaller. */
            const __m256i take_p = _mm256_xor_si256(_mm256_cmpgt_epi64(p, q), asc);
            v[x] = _mm256_blendv_epi8(q, p, take_p);
            v[x + step] = _mm256_blendv_epi8(p, q, take_p);
          }
        }
      } else { /* pairs inside a vector */
        for (size_t x = 0; x < vectors; x++) {
          const __m256i p = v[x];
          const __m256i q = stride == 2 ? _mm256_permute4x64_epi64(p, 0x4E)
                                        : _mm256_permute4x64_epi64(p, 0xB1);
          const __m256i gt = _mm256_cmpgt_epi64(p, q);
          const __m256i hi = _mm256_blendv_epi8(q, p, gt), lo = _mm256_blendv_epi8(p, q, gt);
          const int desc = ((4 * x) & size) == 0; /* (size >= 4) */
          const __m256i keep_hi = stride == 2 ? (desc ? m01 : m23)
                                  : size == 2 ? m03
                                              : (desc ? m02 : m13);
          v[x] = _mm256_blendv_epi8(lo, hi, keep_hi);
        }
      }
    }
  for (size_t x = 0; x < vectors; x++) _mm256_storeu_si256((__m256i *)(t + 4 * x), v[x]);
  for (size_t i = 0; i < n; i++) a[i] = (mkey)t[i] ^ 0x8000000000000000ULL;
}
#endif


/* Sorts a[0, n) in decreasing order; tmp holds n keys. */
static void sort_small_desc(mkey *a, size_t n, mkey *tmp) {
#if MR_X86
  if (n <= NETWORK_MAX && mv_host_has_avx2_fma()) {
    network_sort_desc(a, n);
    return;
  }
#endif
  merge_sort_desc(a, n, tmp);
}

enum { SORT_ALL = 256 }; /* <= MV_MEMORY_MAX_TOP_K */

void mv_memory_select_keys(unsigned long long *keys, size_t count, size_t k) {
  mkey *a = keys;
  mkey tmp[MV_MEMORY_MAX_TOP_K]; /* >= SORT_ALL */
  if (count <= SORT_ALL) { /* few candidates: sort them all */
    sort_small_desc(a, count, tmp);
    return;
  }
  size_t lo = 0, hi = count;
  int depth = log2_depth(count);
  /* Quickselect: afterwards a[0, k) holds the k largest. */
  while (hi - lo > 24 && k > lo && k < hi) {
    if (depth-- <= 0) {
      sort_desc(a + lo, hi - lo, 0); /* heap sort */
      lo = hi;
      break;
    }
    size_t n = hi - lo;
    mkey *b = a + lo;
    size_t s = lo + partition_desc(b, n, median3(b[0], b[n / 2], b[n - 1]));
    if (k <= s) {
      hi = s;
    } else if (k == s + 1) {
      lo = hi = s + 1;
    } else {
      lo = s + 1;
    }
  }
  if (hi > lo && k > lo && k < hi) insertion_desc(a + lo, hi - lo);
  sort_small_desc(a, k, tmp);
}

void mv_memory_softmax_keys(const unsigned long long *keys, int k, float *weights) {
  const float top = mv_memory_key_value(keys[0]);
  float total = 0.0f;
  for (int j = 0; j < k; j++) {
    weights[j] = expf(mv_memory_key_value(keys[j]) - top);
    total += weights[j];
  }
  for (int j = 0; j < k; j++) weights[j] = weights[j] / total;
}

/* ---- top-k over the rows of a materialised affinity ---------------------------- */

enum { ROWS_PER_TASK = 8, MAX_WORKERS = 64 };

typedef struct topk_job {
  const float *aff;
  size_t aff_ld, m, n, out_ld;
  int k;
  int *indices;
  float *weights;
  size_t capacity; /* candidate keys per worker */
  mkey *scratch[MAX_WORKERS];
  float *w[MAX_WORKERS];
} topk_job;

/* The signed-order image of a key's high word: signed comparisons of these
 * order affinities as the keys do (used to filter 8 at a time). */
static inline int32_t signed_order(mkey threshold) {
  return (int32_t)((uint32_t)(threshold >> 32) ^ 0x80000000u);
}

/* Streams a row: keys >= the threshold go to the candidates; when they fill
 * up they are cut back to the k largest, raising the threshold to the k-th
 * (nothing below it can be kept). Returns the candidate count. */
static size_t filter_row_scalar(const float *a, size_t m, size_t k, mkey *cand, size_t capacity) {
  size_t count = 0;
  mkey threshold = 0;
  for (size_t p = 0; p < m; p++) {
    mkey key = mv_memory_key(a[p], (unsigned)p);
    if (key < threshold) continue;
    if (count == capacity) {
      mv_memory_select_keys(cand, count, k);
      count = k;
      threshold = cand[k - 1];
      if (key < threshold) continue;
    }
    cand[count++] = key;
  }
  return count;
}

#if MR_X86
/* The signed-order images of 8 floats' bits (see signed_order). */
__attribute__((target("avx2"))) static inline __m256i signed_bits(const float *a) {
  __m256i b = _mm256_loadu_si256((const __m256i *)a);
  return _mm256_xor_si256(b, _mm256_and_si256(_mm256_srai_epi32(b, 31),
                                              _mm256_set1_epi32(0x7fffffff)));
}

/* A lower bound of the row's k-th largest key's high word: the maxima of
 * SLICES interleaved slices (p mod SLICES) are SLICES distinct entries, so
 * the k-th largest of them (k <= SLICES) is at most the row's k-th largest.
 * Interleaving spreads a run of large neighbouring entries over slices. */
enum { SLICES = 64 };

static int cmp_int_desc(const void *x, const void *y) {
  int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a < b) - (a > b);
}

__attribute__((target("avx2"))) static int32_t slice_bound(const float *a, size_t m, size_t k) {
  __m256i mx[SLICES / 8];
  for (int i = 0; i < SLICES / 8; i++) mx[i] = _mm256_set1_epi32(INT32_MIN);
  size_t p = 0;
  for (; p + SLICES <= m; p += SLICES)
    for (int i = 0; i < SLICES / 8; i++) mx[i] = _mm256_max_epi32(mx[i], signed_bits(a + p + 8 * i));
  int32_t best[SLICES];
  for (int i = 0; i < SLICES / 8; i++) _mm256_storeu_si256((__m256i *)(best + 8 * i), mx[i]);
  for (size_t i = 0; p + i < m; i++) {
    int32_t b;
    memcpy(&b, a + p + i, sizeof b);
    b ^= (b >> 31) & 0x7fffffff;
    if (b > best[i]) best[i] = b;
  }
  qsort(best, SLICES, sizeof best[0], cmp_int_desc);
  return best[k - 1];
}

__attribute__((target("avx2"))) static size_t filter_row_avx2(const float *a, size_t m, size_t k,
                                                              mkey *cand, size_t capacity) {
  size_t count = 0;
  mkey threshold = 0;
  int32_t bound = INT32_MIN; /* lanes >= bound are candidates */
  if (k <= SLICES && m >= 4 * SLICES) bound = slice_bound(a, m, k);
  __m256i below = _mm256_set1_epi32(bound == INT32_MIN ? INT32_MIN : bound - 1);
  int all = bound == INT32_MIN; /* every key passes */
  size_t p = 0;
  for (; p + 8 <= m; p += 8) {
    unsigned mask = 0xFF;
    if (!all)
      mask = (unsigned)_mm256_movemask_ps(
          _mm256_castsi256_ps(_mm256_cmpgt_epi32(signed_bits(a + p), below)));
    while (mask) {
      unsigned lane = (unsigned)__builtin_ctz(mask);
      mask &= mask - 1;
      mkey key = mv_memory_key(a[p + lane], (unsigned)(p + lane));
      if (key < threshold) continue;
      if (count == capacity) {
        mv_memory_select_keys(cand, count, k);
        count = k;
        threshold = cand[k - 1];
        int32_t t = signed_order(threshold);
        if (t > bound) {
          bound = t;
          below = _mm256_set1_epi32(t - 1);
          all = 0;
        }
        if (key < threshold) continue;
      }
      cand[count++] = key;
    }
  }
  for (; p < m; p++) {
    mkey key = mv_memory_key(a[p], (unsigned)p);
    if (key < threshold) continue;
    if (count == capacity) {
      mv_memory_select_keys(cand, count, k);
      count = k;
      threshold = cand[k - 1];
      if (key < threshold) continue;
    }
    cand[count++] = key;
  }
  return count;
}
#endif

static void topk_task(void *context, int task, int worker) {
  topk_job *job = context;
  mkey *cand = job->scratch[worker];
  float *w = job->w[worker];
  const size_t k = (size_t)job->k;
  size_t r0 = (size_t)task * ROWS_PER_TASK;
  size_t r1 = r0 + ROWS_PER_TASK < job->n ? r0 + ROWS_PER_TASK : job->n;
  for (size_t r = r0; r < r1; r++) {
    const float *a = job->aff + r * job->aff_ld;
    size_t count;
#if MR_X86
    if (mv_host_has_avx2_fma())
      count = filter_row_avx2(a, job->m, k, cand, job->capacity);
    else
#endif
      count = filter_row_scalar(a, job->m, k, cand, job->capacity);
    mv_memory_select_keys(cand, count, k);
    mv_memory_softmax_keys(cand, job->k, w);
    for (size_t j = 0; j < k; j++) {
      job->indices[j * job->out_ld + r] = (int)mv_memory_key_position(cand[j]);
      job->weights[j * job->out_ld + r] = w[j];
    }
  }
}

static int worker_count(void) {
  int workers = mv_host_workers();
  return workers < MAX_WORKERS ? workers : MAX_WORKERS;
}

mv_status mv_memory_topk_host(mv_matrix affinity, size_t m, size_t n, int top_k,
                              mv_memory_kept kept) {
  topk_job job;
  memset(&job, 0, sizeof job);
  job.aff_ld = affinity.ld, job.m = m, job.n = n, job.out_ld = kept.indices.ld, job.k = top_k;
  job.capacity = 4 * (size_t)top_k + 256;
  if (job.capacity > m) job.capacity = m;
  const int workers = worker_count();
  mv_status status = MV_OK;
  for (int i = 0; i < workers && status == MV_OK; i++) {
    job.scratch[i] = malloc(job.capacity * sizeof(mkey));
    job.w[i] = malloc((size_t)top_k * sizeof(float));
    if (!job.scratch[i] || !job.w[i])
      status = mv_fail(MV_E_MEMORY, "mv_memory_topk: out of host memory");
  }
  mv_host_map map;
  mv_host_map_init(&map);
  const size_t out_span = ((size_t)top_k - 1) * kept.indices.ld + n;
  if (status == MV_OK)
    status = mv_host_map_add(&map, affinity.buffer, affinity.offset, (n - 1) * affinity.ld + m, 0);
  if (status == MV_OK)
    status = mv_host_map_add(&map, kept.indices.buffer, kept.indices.offset, out_span, 1);
  if (status == MV_OK)
    status = mv_host_map_add(&map, kept.weights.buffer, kept.weights.offset, out_span, 1);
  if (status == MV_OK) status = mv_host_map_begin(&map);
  if (status == MV_OK) {
    job.aff = mv_host_map_ptr(&map, affinity.buffer, affinity.offset);
    job.indices = (int *)mv_host_map_ptr(&map, kept.indices.buffer, kept.indices.offset);
    job.weights = mv_host_map_ptr(&map, kept.weights.buffer, kept.weights.offset);
    mv_host_parallel((int)((n + ROWS_PER_TASK - 1) / ROWS_PER_TASK), topk_task, &job);
    status = mv_host_map_end(&map);
  }
  for (int i = 0; i < workers; i++) {
    free(job.scratch[i]);
    free(job.w[i]);
  }
  return status;
}

/* ---- gather ---------------------------------------------------------------------- *
 *
 * A task takes a block of GATHER_CHANNELS value rows and a range of
 * queries: it first copies the block's rows position-major (one cache line
 * per position), then for each query adds w * v over its kept positions to
 * GATHER_CHANNELS accumulators at once; each channel's sum is the
 * kernel's, term by term in kept order with a fused multiply-add. */

enum { GATHER_CHANNELS = 16, GATHER_MIN_QUERIES = 256 };

typedef struct gather_job {
  const float *value;
  const int *indices;
  const float *weights;
  float *out;
  size_t value_ld, kept_ld, out_ld, n, m, queries; /* queries per task */
  int cv, k, channel_blocks;
  float *scratch[MAX_WORKERS]; /* m x GATHER_CHANNELS each */
} gather_job;

/* Copies rows [c0, c0 + channels) of the values position-major (zero-padded
 * to GATHER_CHANNELS). */
static void gather_transpose(const gather_job *job, int c0, int channels, float *t) {
  const size_t m = job->m;
  enum { STRIP = 256 };
  for (size_t p0 = 0; p0 < m; p0 += STRIP) {
    size_t p1 = p0 + STRIP < m ? p0 + STRIP : m;
    for (int c = 0; c < GATHER_CHANNELS; c++) {
      if (c >= channels) {
        for (size_t p = p0; p < p1; p++) t[p * GATHER_CHANNELS + c] = 0.0f;
        continue;
      }
      const float *row = job->value + (size_t)(c0 + c) * job->value_ld;
      for (size_t p = p0; p < p1; p++) t[p * GATHER_CHANNELS + c] = row[p];
    }
  }
}

#define GATHER_SETUP                                                                     \
  gather_job *job = context;                                                             \
  const int cb = task % job->channel_blocks;                                             \
  const size_t q0 = (size_t)(task / job->channel_blocks) * job->queries;                 \
  const size_t q1 = q0 + job->queries < job->n ? q0 + job->queries : job->n;             \
  const int c0 = cb * GATHER_CHANNELS;                                                   \
  const int channels = job->cv - c0 < GATHER_CHANNELS ? job->cv - c0 : GATHER_CHANNELS;  \
  float *t = job->scratch[worker];                                                       \
  gather_transpose(job, c0, channels, t);

#define GATHER_STORE                                                                     \
  for (int c = 0; c < channels; c++) job->out[(size_t)(c0 + c) * job->out_ld + q] = acc[c];

#if MR_X86
__attribute__((target("avx2,fma"))) static void gather_task_fma(void *context, int task,
                                                                int worker) {
  GATHER_SETUP
  for (size_t q = q0; q < q1; q++) {
    __m256i zero = _mm256_setzero_si256();
    __m256 a0 = _mm256_castsi256_ps(zero), a1 = a0;
    for (int j = 0; j < job->k; j++) {
      size_t at = (size_t)j * job->kept_ld + q;
      const float *v = t + (size_t)(unsigned)job->indices[at] * GATHER_CHANNELS;
      __m256 w = _mm256_set1_ps(job->weights[at]);
      a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v), a0);
      a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8), a1);
    }
    float acc[GATHER_CHANNELS];
    _mm256_storeu_ps(acc, a0);
    _mm256_storeu_ps(acc + 8, a1);
    GATHER_STORE
  }
}
#endif

static void gather_task(void *context, int task, int worker) {
  GATHER_SETUP
  for (size_t q = q0; q < q1; q++) {
    float acc[GATHER_CHANNELS] = {0};
    for (int j = 0; j < job->k; j++) {
      size_t at = (size_t)j * job->kept_ld + q;
      const float *v = t + (size_t)(unsigned)job->indices[at] * GATHER_CHANNELS;
      float w = job->weights[at];
      for (int c = 0; c < GATHER_CHANNELS; c++) acc[c] = fmaf(w, v[c], acc[c]);
    }
    GATHER_STORE
  }
}

mv_status mv_memory_gather_host(mv_matrix mem_value, int cv, size_t m, size_t n, int top_k,
                                mv_memory_kept kept, mv_matrix readout) {
  gather_job job;
  memset(&job, 0, sizeof job);
  job.value_ld = mem_value.ld, job.kept_ld = kept.indices.ld, job.out_ld = readout.ld, job.n = n;
  job.m = m, job.cv = cv, job.k = top_k;
  job.channel_blocks = (cv + GATHER_CHANNELS - 1) / GATHER_CHANNELS;
  /* Split the queries too when there are few channel blocks for the workers. */
  const int workers = worker_count();
  size_t splits = ((size_t)4 * workers + job.channel_blocks - 1) / job.channel_blocks;
  if (splits > n / GATHER_MIN_QUERIES) splits = n / GATHER_MIN_QUERIES;
  if (splits < 1) splits = 1;
  job.queries = (n + splits - 1) / splits;
  size_t tasks = (size_t)job.channel_blocks * ((n + job.queries - 1) / job.queries);
  MV_CHECK_ARG(tasks <= INT_MAX, "mv_memory_gather: %zu host tasks are too many", tasks);
  mv_status status = MV_OK;
  for (int i = 0; i < workers && status == MV_OK; i++)
    if (!(job.scratch[i] = malloc(m * GATHER_CHANNELS * sizeof(float))))
      status = mv_fail(MV_E_MEMORY, "mv_memory_gather: out of host memory (%zu bytes)",
                       m * GATHER_CHANNELS * sizeof(float));
  mv_host_map map;
  mv_host_map_init(&map);
  const size_t kept_span = ((size_t)top_k - 1) * kept.indices.ld + n;
  if (status == MV_OK)
    status = mv_host_map_add(&map, mem_value.buffer, mem_value.offset,
                             ((size_t)cv - 1) * mem_value.ld + m, 0);
  if (status == MV_OK)
    status = mv_host_map_add(&map, kept.indices.buffer, kept.indices.offset, kept_span, 0);
  if (status == MV_OK)
    status = mv_host_map_add(&map, kept.weights.buffer, kept.weights.offset, kept_span, 0);
  if (status == MV_OK)
    status = mv_host_map_add(&map, readout.buffer, readout.offset,
                             ((size_t)cv - 1) * readout.ld + n, 1);
  if (status == MV_OK) status = mv_host_map_begin(&map);
  if (status == MV_OK) {
    job.value = mv_host_map_ptr(&map, mem_value.buffer, mem_value.offset);
    job.indices = (const int *)mv_host_map_ptr(&map, kept.indices.buffer, kept.indices.offset);
    job.weights = mv_host_map_ptr(&map, kept.weights.buffer, kept.weights.offset);
    job.out = mv_host_map_ptr(&map, readout.buffer, readout.offset);
#if MR_X86
    if (mv_host_has_avx2_fma())
      mv_host_parallel((int)tasks, gather_task_fma, &job);
    else
#endif
      mv_host_parallel((int)tasks, gather_task, &job);
    status = mv_host_map_end(&map);
  }
  for (int i = 0; i < workers; i++) free(job.scratch[i]);
  return status;
}
