/* Host implementations of labelprop's operators (labelprop_ops.h).
 *
 * The fused read, per query cell: the affinities of its window (at most
 * frames x (2r+1)^2 memory cells: 2890 for 10 frames at r = 8) go to a
 * small buffer, computed for 8 neighbouring query cells at a time so that
 * their shared memory rows are read from L1. A threshold g is then chosen
 * by counting passes over the buffer (starting from the left neighbour's
 * k-th affinity, aiming at about 1.1 k entries >= g); only the entries
 * >= g become candidate keys, which are sorted exactly
 * (mv_memory_select_keys). Any g that at least k entries reach keeps the
 * exact top k among the candidates, so the passes only change the speed
 * (when no pass reaches k, every entry is a candidate). */
#include "opencl/labelprop_ops.h"

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
#define LP_X86 1
#else
#define LP_X86 0
#endif

enum { CK = 6, MAX_WORKERS = 64, SLACK = 8, BLOCK = 8, BLOCK_ENTRIES = 8192, GROUP = 6 };

typedef unsigned long long mkey;

typedef struct lp_job {
  const float *q, *k, *v;     /* query key planes; object 0's keys; values */
  size_t plane, channel_stride, object_stride; /* keys: channel c at c * channel_stride */
  int h, w, frames, objects, top_k, radius;
  int block;                  /* queries scanned together (BLOCK, or 1 for huge windows) */
  float scale;
  float *readout;             /* objects x plane (mapped) */
  size_t count_max;           /* window entries at most */
  float *aff[MAX_WORKERS];    /* block x (count_max + SLACK) */
  mkey *cand[MAX_WORKERS];    /* count_max */
  unsigned *rowbase[MAX_WORKERS]; /* frames x (2r+1) */
  float *weights[MAX_WORKERS];     /* block x top_k: the kept entries' weights */
  unsigned *positions[MAX_WORKERS]; /* block x top_k: and memory positions */
} lp_job;

/* The window of a query cell, clipped to the frame: `rows` rows (frame by
 * frame, rowbase[row] = t * plane + y * w, shared by the row of queries)
 * of columns x0 .. x0 + cols - 1. Buffered as `main_cols` columns of every
 * row (entries [0, main_count), row-major), then, when main_cols < cols,
 * the last column of every row (entries [main_count, count)). */
typedef struct window {
  int x0, cols, main_cols;
  size_t main_count, count;
  uint64_t magic; /* i / main_cols = (i * magic) >> 32 */
} window;

static void window_layout(window *win, int x0, int cols, int main_cols, int rows) {
  win->x0 = x0;
  win->cols = cols;
  win->main_cols = main_cols;
  win->main_count = (size_t)rows * main_cols;
  win->count = (size_t)rows * cols;
  /* (main_cols is 0 for a window of 0 cells: every entry is a last column.) */
  win->magic = main_cols > 0 ? (uint64_t)0xFFFFFFFFu / (uint64_t)main_cols + 1 : 0;
}

/* The memory position of buffered entry i. */
static inline unsigned entry_position(const window *win, const unsigned *rowbase, size_t i) {
  if (i >= win->main_count)
    return rowbase[i - win->main_count] + (unsigned)(win->x0 + win->main_cols);
  unsigned row = (unsigned)(((uint64_t)i * win->magic) >> 32);
  return rowbase[row] + (unsigned)win->x0 + (unsigned)(i - (size_t)row * win->main_cols);
}

/* Window affinities of queries qx0 .. qx0+count-1 of row qy into
 * aff + l * stride (l = query in the block), all columns in the main part:
 * for each memory row, every query of the block in turn. */
static void scan_block_scalar(const lp_job *job, int qy, int qx0, int count, int y0, int y1,
                              const window *win, float *aff, size_t stride) {
  const size_t plane = job->plane, cs = job->channel_stride;
  float qv[BLOCK][CK];
  size_t at[BLOCK] = {0};
  for (int l = 0; l < count; l++)
    for (int c = 0; c < CK; c++) qv[l][c] = job->q[c * plane + (size_t)qy * job->w + qx0 + l];
  for (int t = 0; t < job->frames; t++)
    for (int y = y0; y <= y1; y++)
      for (int l = 0; l < count; l++) {
        const float *k = job->k + (size_t)t * plane + (size_t)y * job->w + win[l].x0;
        float *out = aff + l * stride + at[l];
        for (int x = 0; x < win[l].cols; x++) {
          float a = qv[l][0] * k[x];
          for (int c = 1; c < CK; c++) a = fmaf(qv[l][c], k[c * cs + x], a);
          out[x] = a * job->scale;
        }
        at[l] += win[l].cols;
      }
}

#if LP_X86
static const int tail_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* 8 affinities: q . k (c = 0..5 in order, fused) times the scale. */
#define LP_AFFINITY(q0, q1, q2, q3, q4, q5, k0, k1, k2, k3, k4, k5, scale)                    \
  _mm256_mul_ps(                                                                             \
      _mm256_fmadd_ps(q5, k5,                                                                \
                      _mm256_fmadd_ps(q4, k4,                                                \
                                      _mm256_fmadd_ps(q3, k3,                                \
                                                      _mm256_fmadd_ps(q2, k2,                \
                                                                      _mm256_fmadd_ps(       \
                                                                          q1, k1,            \
                                                                          _mm256_mul_ps(q0,  \
                                                                                        k0)))))), \
      scale)

/* Any block: each query's columns in 8-wide chunks, the last one masked. */
__attribute__((target("avx2,fma"))) static void scan_block_avx2(const lp_job *job, int qy,
                                                                int qx0, int count, int y0,
                                                                int y1, const window *win,
                                                                float *aff, size_t stride) {
  const size_t plane = job->plane, cs = job->channel_stride;
  const __m256 scale = _mm256_set1_ps(job->scale);
  float qv[BLOCK][CK];
  size_t at[BLOCK] = {0};
  for (int l = 0; l < count; l++)
    for (int c = 0; c < CK; c++) qv[l][c] = job->q[c * plane + (size_t)qy * job->w + qx0 + l];
  for (int t = 0; t < job->frames; t++)
    for (int y = y0; y <= y1; y++) {
      const float *row = job->k + (size_t)t * plane + (size_t)y * job->w;
      for (int l = 0; l < count; l++) {
        const __m256 q0 = _mm256_broadcast_ss(&qv[l][0]), q1 = _mm256_broadcast_ss(&qv[l][1]),
                     q2 = _mm256_broadcast_ss(&qv[l][2]), q3 = _mm256_broadcast_ss(&qv[l][3]),
                     q4 = _mm256_broadcast_ss(&qv[l][4]), q5 = _mm256_broadcast_ss(&qv[l][5]);
        const float *k = row + win[l].x0;
        float *out = aff + l * stride + at[l];
        const int cols = win[l].cols;
        for (int x = 0; x < cols; x += 8) {
          __m256 a;
          if (cols - x >= 8) {
            a = LP_AFFINITY(q0, q1, q2, q3, q4, q5, _mm256_loadu_ps(k + x),
                            _mm256_loadu_ps(k + cs + x), _mm256_loadu_ps(k + 2 * cs + x),
                            _mm256_loadu_ps(k + 3 * cs + x), _mm256_loadu_ps(k + 4 * cs + x),
                            _mm256_loadu_ps(k + 5 * cs + x), scale);
          } else {
            __m256i m = _mm256_loadu_si256((const __m256i *)(tail_bits + 8 - (cols - x)));
            a = LP_AFFINITY(q0, q1, q2, q3, q4, q5, _mm256_maskload_ps(k + x, m),
                            _mm256_maskload_ps(k + cs + x, m),
                            _mm256_maskload_ps(k + 2 * cs + x, m),
                            _mm256_maskload_ps(k + 3 * cs + x, m),
                            _mm256_maskload_ps(k + 4 * cs + x, m),
                            _mm256_maskload_ps(k + 5 * cs + x, m), scale);
          }
          /* (The tail's extra lanes land in the next row's place or the slack.) */
          _mm256_storeu_ps(out + x, a);
        }
        at[l] += cols;
      }
    }
}

/* A full block of 8 queries whose windows have 2r+1 = 8j+1 columns inside
 * the frame: each query's first 8j columns with unmasked chunks, per
 * query and row in a tight loop; the last column of the 8 queries
 * (memory columns qx0+r .. qx0+7+r, one chunk with the 8 queries' keys
 * across its lanes) after them, per row. */
__attribute__((target("avx2,fma"))) static void scan_block_interior(const lp_job *job, int qy,
                                                                    int qx0, int y0, int y1,
                                                                    const window *win,
                                                                    float *aff, size_t stride) {
  const size_t plane = job->plane, cs = job->channel_stride;
  const int chunks = win[0].main_cols / 8, r = job->radius;
  const __m256 scale = _mm256_set1_ps(job->scale);
  const float *qp = job->q + (size_t)qy * job->w + qx0;
  const int per_frame = y1 - y0 + 1, main_cols = win[0].main_cols;
  /* Groups of GROUP memory rows, read from L1 by the 8 queries in turn. */
  for (int t = 0; t < job->frames; t++)
    for (int g0 = y0; g0 <= y1; g0 += GROUP) {
      const int g1 = g0 + GROUP - 1 < y1 ? g0 + GROUP - 1 : y1;
      const size_t row0 = (size_t)t * per_frame + (size_t)(g0 - y0);
      for (int l = 0; l < BLOCK; l++) {
        const __m256 q0 = _mm256_broadcast_ss(qp + l), q1 = _mm256_broadcast_ss(qp + plane + l),
                     q2 = _mm256_broadcast_ss(qp + 2 * plane + l),
                     q3 = _mm256_broadcast_ss(qp + 3 * plane + l),
                     q4 = _mm256_broadcast_ss(qp + 4 * plane + l),
                     q5 = _mm256_broadcast_ss(qp + 5 * plane + l);
        float *out = aff + l * stride + row0 * main_cols;
        const float *k = job->k + (size_t)t * plane + (size_t)g0 * job->w + win[l].x0;
#define LP_CHUNK(j)                                                                          \
  LP_AFFINITY(q0, q1, q2, q3, q4, q5, _mm256_loadu_ps(k + 8 * (j)),                          \
              _mm256_loadu_ps(k + cs + 8 * (j)), _mm256_loadu_ps(k + 2 * cs + 8 * (j)),      \
              _mm256_loadu_ps(k + 3 * cs + 8 * (j)), _mm256_loadu_ps(k + 4 * cs + 8 * (j)),  \
              _mm256_loadu_ps(k + 5 * cs + 8 * (j)), scale)
        if (chunks == 2) { /* window 8: unrolled */
          for (int y = g0; y <= g1; y++, k += job->w, out += 16) {
            const __m256 a = LP_CHUNK(0), b = LP_CHUNK(1);
            _mm256_storeu_ps(out, a);
            _mm256_storeu_ps(out + 8, b);
          }
          continue;
        }
        for (int y = g0; y <= g1; y++, k += job->w)
          for (int j = 0; j < chunks; j++, out += 8)
            _mm256_storeu_ps(out,
                             LP_AFFINITY(q0, q1, q2, q3, q4, q5, _mm256_loadu_ps(k + 8 * j),
                                         _mm256_loadu_ps(k + cs + 8 * j),
                                         _mm256_loadu_ps(k + 2 * cs + 8 * j),
                                         _mm256_loadu_ps(k + 3 * cs + 8 * j),
                                         _mm256_loadu_ps(k + 4 * cs + 8 * j),
                                         _mm256_loadu_ps(k + 5 * cs + 8 * j), scale));
      }
    }
  const __m256 q0 = _mm256_loadu_ps(qp), q1 = _mm256_loadu_ps(qp + plane),
               q2 = _mm256_loadu_ps(qp + 2 * plane), q3 = _mm256_loadu_ps(qp + 3 * plane),
               q4 = _mm256_loadu_ps(qp + 4 * plane), q5 = _mm256_loadu_ps(qp + 5 * plane);
  const size_t main = win[0].main_count;
  size_t row = 0;
  for (int t = 0; t < job->frames; t++) {
    const float *k = job->k + (size_t)t * plane + (size_t)y0 * job->w + qx0 + r;
    for (int y = y0; y <= y1; y++, k += job->w, row++) {
      float last[8];
      _mm256_storeu_ps(last, LP_AFFINITY(q0, q1, q2, q3, q4, q5, _mm256_loadu_ps(k),
                                         _mm256_loadu_ps(k + cs), _mm256_loadu_ps(k + 2 * cs),
                                         _mm256_loadu_ps(k + 3 * cs), _mm256_loadu_ps(k + 4 * cs),
                                         _mm256_loadu_ps(k + 5 * cs), scale));
      for (int l = 0; l < BLOCK; l++) aff[l * stride + main + row] = last[l];
    }
  }
}

/* Number of buffered affinities >= g. */
__attribute__((target("avx2"))) static size_t count_avx2(const float *aff, size_t n, float g) {
  const __m256 guess = _mm256_set1_ps(g);
  __m256i c0 = _mm256_setzero_si256(), c1 = c0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    c0 = _mm256_sub_epi32(c0, _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(aff + i), guess,
                                                                _CMP_GE_OQ)));
    c1 = _mm256_sub_epi32(c1, _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(aff + i + 8),
                                                                guess, _CMP_GE_OQ)));
  }
  c0 = _mm256_add_epi32(c0, c1);
  int lanes[8];
  _mm256_storeu_si256((__m256i *)lanes, c0);
  size_t count = 0;
  for (int l = 0; l < 8; l++) count += (size_t)lanes[l];
  for (; i < n; i++) count += aff[i] >= g;
  return count;
}

/* The keys (affinity, memory position) of the buffered affinities >= g:
 * groups of 32 entries are tested at once (the candidates cluster in a few
 * rows of each frame, so most groups are skipped on one branch). */
__attribute__((target("avx2"))) static size_t filter_avx2(const float *aff, const window *win,
                                                          const unsigned *rowbase, float g,
                                                          mkey *cand) {
  const __m256 guess = _mm256_set1_ps(g);
  const size_t n = win->count;
  size_t count = 0, i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 m0 = _mm256_cmp_ps(_mm256_loadu_ps(aff + i), guess, _CMP_GE_OQ);
    const __m256 m1 = _mm256_cmp_ps(_mm256_loadu_ps(aff + i + 8), guess, _CMP_GE_OQ);
    const __m256 m2 = _mm256_cmp_ps(_mm256_loadu_ps(aff + i + 16), guess, _CMP_GE_OQ);
    const __m256 m3 = _mm256_cmp_ps(_mm256_loadu_ps(aff + i + 24), guess, _CMP_GE_OQ);
    if (_mm256_testz_ps(_mm256_or_ps(_mm256_or_ps(m0, m1), _mm256_or_ps(m2, m3)),
                        _mm256_castsi256_ps(_mm256_set1_epi32(-1))))
      continue;
    unsigned mask = (unsigned)_mm256_movemask_ps(m0) | (unsigned)_mm256_movemask_ps(m1) << 8 |
                    (unsigned)_mm256_movemask_ps(m2) << 16 |
                    (unsigned)_mm256_movemask_ps(m3) << 24;
    while (mask) {
      unsigned lane = (unsigned)__builtin_ctz(mask);
      mask &= mask - 1;
      cand[count++] = mv_memory_key(aff[i + lane] + 0.0f, entry_position(win, rowbase, i + lane));
    }
  }
  for (; i < n; i++)
    if (aff[i] >= g) cand[count++] = mv_memory_key(aff[i] + 0.0f, entry_position(win, rowbase, i));
  return count;
}
#endif

static size_t count_scalar(const float *aff, size_t n, float g) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += aff[i] >= g;
  return count;
}

/* g = -inf: every entry (also NaN ones, which compare false). The + 0.0f
 * turns -0 into +0 as the GEMM's beta = 0 pass does. */
static size_t filter_scalar(const float *aff, const window *win, const unsigned *rowbase,
                            float g, mkey *cand) {
  size_t count = 0;
  for (size_t i = 0; i < win->count; i++)
    if (aff[i] >= g || g == -INFINITY)
      cand[count++] = mv_memory_key(aff[i] + 0.0f, entry_position(win, rowbase, i));
  return count;
}

/* The threshold's counting passes: at most THRESHOLD_PASSES, aiming at
 * THRESHOLD_TARGET * k entries, done at <= THRESHOLD_ACCEPT * k (measured on
 * DAVIS libby, 10 memory frames: 2.4 passes and 57 candidates for k = 50
 * on average). */
#define THRESHOLD_PASSES 6
#define THRESHOLD_TARGET 1.1f
#define THRESHOLD_ACCEPT 1.3f

/* g for the candidates of one query: from `distance` (the left
 * neighbour's k-th affinity below its |f|^2 / 2), the count of entries >=
 * half_norm - d is bracketed (count grows about like d^2, then like the
 * power through the bracket's ends). -inf when no pass reached k. */
static float choose_threshold(const float *aff, size_t n, size_t k, float half_norm,
                              float distance, int avx2) {
  /* Bracket: d_lo reached fewer than k entries (c_lo), d_hi at least k (c_hi). */
  float d = distance > 1e-3f ? distance : 1e-3f, d_lo = 0.0f, d_hi = INFINITY;
  float c_lo = 0.5f, c_hi = 0.0f;
  const float target = THRESHOLD_TARGET * (float)k;
  for (int pass = 0; pass < THRESHOLD_PASSES; pass++) {
    size_t c;
#if LP_X86
    if (avx2)
      c = count_avx2(aff, n, half_norm - d);
    else
#endif
      c = count_scalar(aff, n, half_norm - d);
    if (c >= k) {
      d_hi = d, c_hi = (float)c;
      if ((float)c <= THRESHOLD_ACCEPT * (float)k) break;
    } else {
      d_lo = d, c_lo = c > 0 ? (float)c : 0.5f;
    }
    if (d_lo > 0.0f && d_hi < INFINITY) {
      /* count ~ d^p through both ends of the bracket. */
      float p = logf(c_hi / c_lo) / logf(d_hi / d_lo);
      d = p > 0.1f ? d_lo * powf(target / c_lo, 1.0f / p) : 0.5f * (d_lo + d_hi);
      if (!(d > d_lo && d < d_hi)) d = 0.5f * (d_lo + d_hi);
    } else if (d_hi < INFINITY) {
      d = d_hi * sqrtf(target / c_hi); /* count ~ d^2 */
    } else {
      float ratio = sqrtf(target / c_lo);
      d = d_lo * (ratio > 1.5f ? ratio : 1.5f);
      if (!(d < 1e30f)) break;
    }
  }
  return d_hi < INFINITY ? half_norm - d_hi : -INFINITY;
}

/* The readouts of a block's queries: for each, the sum over its kept
 * entries of weight * value of each object, in kept order with fused
 * multiply-adds (as the gather kernel); the block's queries in turn for
 * each kept rank, so their independent chains overlap. kept[l] entries of
 * positions / weights l * top_k .. */
#define LP_GATHER_BODY(FMA)                                                            \
  size_t most = 0;                                                                     \
  for (int l = 0; l < count; l++) most = kept[l] > most ? kept[l] : most;              \
  for (int o = 0; o < job->objects; o++) {                                             \
    const float *v = job->v + (size_t)o * job->object_stride;                          \
    float acc[BLOCK] = {0.0f};                                                         \
    for (size_t j = 0; j < most; j++)                                                  \
      for (int l = 0; l < count; l++)                                                  \
        if (j < kept[l]) {                                                             \
          const size_t at = (size_t)l * job->top_k + j;                                \
          acc[l] = FMA(weights[at], v[positions[at]], acc[l]);                         \
        }                                                                              \
    for (int l = 0; l < count; l++) job->readout[(size_t)o * job->plane + n0 + l] = acc[l]; \
  }

static void gather_block(const lp_job *job, int count, const size_t *kept,
                         const unsigned *positions, const float *weights, size_t n0) {
  LP_GATHER_BODY(fmaf)
}

#if LP_X86
__attribute__((target("avx2,fma"))) static void gather_block_fma(const lp_job *job, int count,
                                                                 const size_t *kept,
                                                                 const unsigned *positions,
                                                                 const float *weights,
                                                                 size_t n0) {
  LP_GATHER_BODY(__builtin_fmaf)
}
#endif

/* One row of query cells: blocks of queries scanned together, then each
 * query's threshold, candidates, selection, softmax and gather. */
static void read_row(void *context, int qy, int worker) {
  lp_job *job = context;
  float *aff = job->aff[worker], *weights = job->weights[worker];
  unsigned *positions = job->positions[worker];
  size_t kept[BLOCK];
  mkey *cand = job->cand[worker];
  unsigned *rowbase = job->rowbase[worker];
  const int avx2 = mv_host_has_avx2_fma();
  const size_t stride = job->count_max + SLACK;
  const int y0 = qy - job->radius < 0 ? 0 : qy - job->radius;
  const int y1 = qy + job->radius > job->h - 1 ? job->h - 1 : qy + job->radius;
  int rows = 0;
  for (int t = 0; t < job->frames; t++)
    for (int y = y0; y <= y1; y++)
      rowbase[rows++] = (unsigned)((size_t)t * job->plane + (size_t)y * job->w);
  float distance = 1.0f; /* the previous cell's k-th affinity below its |f|^2 / 2 */
  for (int qx0 = 0; qx0 < job->w; qx0 += job->block) {
    const int count = job->w - qx0 < job->block ? job->w - qx0 : job->block;
    const int side = 2 * job->radius + 1;
    const int interior = avx2 && count == BLOCK && side % 8 == 1 && qx0 - job->radius >= 0 &&
                         qx0 + BLOCK - 1 + job->radius <= job->w - 1;
    window win[BLOCK];
    for (int l = 0; l < count; l++) {
      const int qx = qx0 + l;
      const int x0 = qx - job->radius < 0 ? 0 : qx - job->radius;
      const int x1 = qx + job->radius > job->w - 1 ? job->w - 1 : qx + job->radius;
      window_layout(&win[l], x0, x1 - x0 + 1, interior ? side - 1 : x1 - x0 + 1, rows);
    }
#if LP_X86
    if (interior)
      scan_block_interior(job, qy, qx0, y0, y1, win, aff, stride);
    else if (avx2)
      scan_block_avx2(job, qy, qx0, count, y0, y1, win, aff, stride);
    else
#endif
      scan_block_scalar(job, qy, qx0, count, y0, y1, win, aff, stride);
    for (int l = 0; l < count; l++) {
      const size_t n = (size_t)qy * job->w + qx0 + l, entries = win[l].count;
      const float *a = aff + l * stride;
      /* The affinity is |f_q|^2 / 2 - |f_q - f_m|^2 / 2 with q = sqrt(6) (f_q, 1). */
      float half_norm = 0.0f;
      for (int c = 0; c < CK - 1; c++) {
        float qc = job->q[c * job->plane + n];
        half_norm += qc * qc;
      }
      half_norm /= 12.0f;
      const size_t k = (size_t)job->top_k < entries ? (size_t)job->top_k : entries;
      const float g = choose_threshold(a, entries, k, half_norm, distance, avx2);
      size_t found;
#if LP_X86
      if (avx2 && g > -INFINITY)
        found = filter_avx2(a, &win[l], rowbase, g, cand);
      else
#endif
        found = filter_scalar(a, &win[l], rowbase, g, cand);
      mv_memory_select_keys(cand, found, k);
      mv_memory_softmax_keys(cand, (int)k, weights + (size_t)l * job->top_k);
      for (size_t j = 0; j < k; j++)
        positions[(size_t)l * job->top_k + j] = mv_memory_key_position(cand[j]);
      kept[l] = k;
      const float kth = mv_memory_key_value(cand[k - 1]);
      if (isfinite(kth) && half_norm - kth >= 0.0f) distance = half_norm - kth;
    }
    const size_t n0 = (size_t)qy * job->w + qx0;
#if LP_X86
    if (avx2)
      gather_block_fma(job, count, kept, positions, weights, n0);
    else
#endif
      gather_block(job, count, kept, positions, weights, n0);
  }
}

/* ---- keys (kernels/labelprop.cl: labelprop_keys) ---------------------------------- */

/* The sRGB transfer function at the 8-bit levels (the kernel's table). */
static const float srgb_linear[256] = {
    0.0f, 0.000303526984f, 0.000607053967f, 0.000910580951f, 0.00121410793f, 0.00151763492f, 0.0018211619f, 0.00212468888f,
    0.00242821587f, 0.00273174285f, 0.00303526984f, 0.00334653576f, 0.00367650732f, 0.00402471702f, 0.00439144204f, 0.00477695348f,
    0.0051815167f, 0.00560539162f, 0.00604883302f, 0.00651209079f, 0.00699541019f, 0.00749903204f, 0.00802319299f, 0.00856812562f,
    0.0091340587f, 0.00972121732f, 0.010329823f, 0.010960094f, 0.0116122452f, 0.0122864884f, 0.0129830323f, 0.013702083f,
    0.0144438436f, 0.0152085144f, 0.0159962934f, 0.0168073758f, 0.0176419545f, 0.0185002201f, 0.019382361f, 0.0202885631f,
    0.0212190104f, 0.0221738848f, 0.0231533662f, 0.0241576324f, 0.0251868596f, 0.0262412219f, 0.0273208916f, 0.0284260395f,
    0.0295568344f, 0.0307134437f, 0.0318960331f, 0.0331047666f, 0.0343398068f, 0.0356013149f, 0.0368894504f, 0.0382043716f,
    0.0395462353f, 0.0409151969f, 0.0423114106f, 0.0437350293f, 0.0451862044f, 0.0466650863f, 0.0481718242f, 0.049706566f,
    0.0512694584f, 0.052860647f, 0.0544802764f, 0.05612849f, 0.0578054302f, 0.0595112382f, 0.0612460542f, 0.0630100177f,
    0.0648032667f, 0.0666259386f, 0.0684781698f, 0.0703600957f, 0.0722718507f, 0.0742135684f, 0.0761853815f, 0.0781874218f,
    0.0802198203f, 0.0822827071f, 0.0843762115f, 0.086500462f, 0.0886555863f, 0.0908417112f, 0.0930589628f, 0.0953074666f,
    0.0975873471f, 0.0998987282f, 0.102241733f, 0.104616484f, 0.107023103f, 0.109461711f, 0.111932428f, 0.114435374f,
    0.116970668f, 0.119538428f, 0.122138772f, 0.124771818f, 0.12743768f, 0.130136477f, 0.132868322f, 0.13563333f,
    0.138431615f, 0.141263291f, 0.144128471f, 0.147027266f, 0.14995979f, 0.152926152f, 0.155926464f, 0.158960835f,
    0.162029376f, 0.165132195f, 0.1682694f, 0.171441101f, 0.174647404f, 0.177888416f, 0.181164244f, 0.184474995f,
    0.187820772f, 0.191201683f, 0.19461783f, 0.19806932f, 0.201556254f, 0.205078736f, 0.20863687f, 0.212230757f,
    0.2158605f, 0.2195262f, 0.223227957f, 0.226965874f, 0.230740049f, 0.234550582f, 0.238397574f, 0.242281122f,
    0.246201327f, 0.250158285f, 0.254152094f, 0.258182853f, 0.262250658f, 0.266355605f, 0.270497791f, 0.274677312f,
    0.278894263f, 0.28314874f, 0.287440838f, 0.29177065f, 0.296138271f, 0.300543794f, 0.304987314f, 0.309468923f,
    0.313988713f, 0.318546778f, 0.323143209f, 0.327778098f, 0.332451536f, 0.337163615f, 0.341914425f, 0.346704056f,
    0.3515326f, 0.356400144f, 0.36130678f, 0.366252596f, 0.37123768f, 0.376262123f, 0.381326011f, 0.386429434f,
    0.391572478f, 0.396755231f, 0.40197778f, 0.407240212f, 0.412542613f, 0.417885071f, 0.42326767f, 0.428690497f,
    0.434153636f, 0.439657174f, 0.445201195f, 0.450785783f, 0.456411023f, 0.462077f, 0.467783796f, 0.473531496f,
    0.479320183f, 0.48514994f, 0.49102085f, 0.496932995f, 0.502886458f, 0.508881321f, 0.514917665f, 0.520995573f,
    0.527115126f, 0.533276404f, 0.539479489f, 0.545724461f, 0.552011402f, 0.55834039f, 0.564711506f, 0.571124829f,
    0.57758044f, 0.584078418f, 0.590618841f, 0.597201788f, 0.603827339f, 0.610495571f, 0.617206562f, 0.623960392f,
    0.630757136f, 0.637596874f, 0.644479682f, 0.651405637f, 0.658374817f, 0.665387298f, 0.672443157f, 0.67954247f,
    0.686685312f, 0.693871761f, 0.701101892f, 0.70837578f, 0.715693501f, 0.723055129f, 0.73046074f, 0.737910409f,
    0.74540421f, 0.752942217f, 0.760524505f, 0.768151147f, 0.775822218f, 0.783537792f, 0.79129794f, 0.799102738f,
    0.806952258f, 0.814846572f, 0.822785754f, 0.830769877f, 0.838799012f, 0.846873232f, 0.854992608f, 0.863157213f,
    0.871367119f, 0.879622397f, 0.887923118f, 0.896269353f, 0.904661174f, 0.913098652f, 0.921581856f, 0.930110858f,
    0.938685728f, 0.947306537f, 0.955973353f, 0.964686248f, 0.97344529f, 0.98225055f, 0.991102097f, 1.0f,
};

/* cbrt rounded once from double: on labelprop's inputs (0.0089 .. 1.2) this
 * equals PoCL's cbrt for all but 2 of the 59 million floats there (checked
 * exhaustively against PoCL 3.1's kernel library), where glibc's cbrtf
 * differs in 11 % of them; so the keys match the kernel's bit for bit. */
static float lab_f(float t) {
  const float d = 6.0f / 29.0f;
  return t > d * d * d ? (float)cbrt((double)t) : t / (3.0f * d * d) + 4.0f / 29.0f;
}

typedef struct keys_job {
  const float *image;
  float *out;
  int height, width, stride, memory_form, copies;
  float colour_weight, position_weight, scale;
  int *levels[MAX_WORKERS]; /* 3 x stride x width sRGB levels per worker */
  float *sums[MAX_WORKERS]; /* 3 x cells per row */
} keys_job;

/* Writes cell (cx, cy)'s key from its features f[0..4] (the kernel's tail). */
static void store_key(const keys_job *job, size_t cells, size_t cell, float *f) {
  if (!job->memory_form) {
    f[5] = 1.0f;
    for (int c = 0; c < 6; c++) job->out[(size_t)c * cells + cell] = job->scale * f[c];
    return;
  }
  float norm = 0.0f;
  for (int c = 0; c < 5; c++) norm += f[c] * f[c];
  f[5] = -0.5f * norm;
  for (int i = 0; i < job->copies; i++)
    for (int c = 0; c < 6; c++) job->out[((size_t)i * 6 + c) * cells + cell] = f[c];
}

static const float image_mean[3] = {0.485f, 0.456f, 0.406f};
static const float image_stdev[3] = {0.229f, 0.224f, 0.225f};

/* One cell; the kernel's expressions in its order (ISO C mode: no
 * contraction, as the kernel's FP_CONTRACT OFF). */
static void key_cell(const keys_job *job, int cx, int cy) {
  const int stride = job->stride, w = job->width / stride, h = job->height / stride;
  const size_t plane = (size_t)job->height * job->width;
  float sum[3] = {0.0f, 0.0f, 0.0f};
  for (int dy = 0; dy < stride; dy++)
    for (int dx = 0; dx < stride; dx++) {
      const size_t p = (size_t)(cy * stride + dy) * job->width + (size_t)(cx * stride + dx);
      for (int c = 0; c < 3; c++) {
        float v = job->image[(size_t)c * plane + p] * image_stdev[c] + image_mean[c];
        v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        sum[c] += srgb_linear[(int)(v * 255.0f + 0.5f)];
      }
    }
  const float n = (float)(stride * stride);
  const float r = sum[0] / n, g = sum[1] / n, b = sum[2] / n;
  const float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
  const float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
  const float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
  const float fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
  float f[6];
  f[0] = job->colour_weight * (116.0f * fy - 16.0f);
  f[1] = job->colour_weight * (500.0f * (fx - fy));
  f[2] = job->colour_weight * (200.0f * (fy - fz));
  f[3] = job->position_weight * ((float)cy - 0.5f * (float)(h - 1));
  f[4] = job->position_weight * ((float)cx - 0.5f * (float)(w - 1));
  store_key(job, (size_t)h * w, (size_t)cy * w + cx, f);
}

#if LP_X86
/* cbrt of 4 doubles in (0, 2), to about 1e-15: a bit-trick guess of
 * t^(-1/3), five Newton steps on it (no division), then y = t r^2 and one
 * Newton step on y. Rounded to float this equals (float)cbrt((double)t)
 * for every float in [0.00885, 1.3] (checked exhaustively), i.e. lab_f. */
__attribute__((target("avx2,fma"))) static __m256d cbrt4(__m256d t) {
  const __m128 third = _mm_mul_ps(_mm_cvtepi32_ps(_mm_castps_si128(_mm256_cvtpd_ps(t))),
                                  _mm_set1_ps(1.0f / 3.0f));
  const __m128i guess = _mm_sub_epi32(_mm_set1_epi32(0x54A2FA8C), _mm_cvttps_epi32(third));
  __m256d r = _mm256_cvtps_pd(_mm_castsi128_ps(guess));
  const __m256d four = _mm256_set1_pd(4.0), third_d = _mm256_set1_pd(1.0 / 3.0);
  for (int i = 0; i < 5; i++) {
    const __m256d r3 = _mm256_mul_pd(_mm256_mul_pd(r, r), r);
    r = _mm256_mul_pd(_mm256_mul_pd(r, _mm256_fnmadd_pd(t, r3, four)), third_d);
  }
  const __m256d r2 = _mm256_mul_pd(r, r), y = _mm256_mul_pd(t, r2);
  return _mm256_sub_pd(y, _mm256_mul_pd(_mm256_fmsub_pd(_mm256_mul_pd(y, y), y, t),
                                        _mm256_mul_pd(r2, third_d)));
}

/* lab_f of 8 floats. */
__attribute__((target("avx2,fma"))) static __m256 lab_f8(__m256 t) {
  const float d = 6.0f / 29.0f;
  const __m256 cube = _mm256_set1_ps(d * d * d);
  const __m256 linear = _mm256_add_ps(_mm256_div_ps(t, _mm256_set1_ps(3.0f * d * d)),
                                      _mm256_set1_ps(4.0f / 29.0f));
  const __m256 root = _mm256_set_m128(_mm256_cvtpd_ps(cbrt4(_mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)))),
                                      _mm256_cvtpd_ps(cbrt4(_mm256_cvtps_pd(_mm256_castps256_ps128(t)))));
  return _mm256_blendv_ps(linear, root, _mm256_cmp_ps(t, cube, _CMP_GT_OQ));
}

#define MUL _mm256_mul_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define SET _mm256_set1_ps

/* The sRGB levels of one image row (the kernel's index: the
 * un-normalised value, clamped, times 255 plus 0.5, truncated), 8 pixels
 * per vector. */
__attribute__((target("avx2,fma"))) static void row_levels8(const float *row, int width, int c,
                                                            int *level) {
  const __m256 stdev = _mm256_set1_ps(image_stdev[c]), mean = _mm256_set1_ps(image_mean[c]);
  int x = 0;
  for (; x + 8 <= width; x += 8) {
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(row + x), stdev), mean);
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
    _mm256_storeu_si256((__m256i *)(level + x),
                        _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(255.0f)),
                                                          _mm256_set1_ps(0.5f))));
  }
  for (; x < width; x++) {
    float v = row[x] * image_stdev[c] + image_mean[c];
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    level[x] = (int)(v * 255.0f + 0.5f);
  }
}

/* Cells cx0 .. cx0+7 of row cy from their summed linear RGB (sum[c][cx]),
 * one per lane: the same operations as key_cell in the same order (no
 * fused multiply-adds). */
__attribute__((target("avx2,fma"))) static void key_cells8(const keys_job *job, int cx0, int cy,
                                                           float *const sum[3]) {
  const int stride = job->stride, w = job->width / stride, h = job->height / stride;
  const __m256 n = SET((float)(stride * stride));
  const __m256 r = _mm256_div_ps(_mm256_loadu_ps(sum[0] + cx0), n),
               g = _mm256_div_ps(_mm256_loadu_ps(sum[1] + cx0), n),
               b = _mm256_div_ps(_mm256_loadu_ps(sum[2] + cx0), n);
  const __m256 x = _mm256_div_ps(
      ADD(ADD(MUL(SET(0.4124564f), r), MUL(SET(0.3575761f), g)), MUL(SET(0.1804375f), b)),
      SET(0.95047f));
  const __m256 y =
      ADD(ADD(MUL(SET(0.2126729f), r), MUL(SET(0.7151522f), g)), MUL(SET(0.0721750f), b));
  const __m256 z = _mm256_div_ps(
      ADD(ADD(MUL(SET(0.0193339f), r), MUL(SET(0.1191920f), g)), MUL(SET(0.9503041f), b)),
      SET(1.08883f));
  const __m256 fx = lab_f8(x), fy = lab_f8(y), fz = lab_f8(z);
  __m256 f[6];
  f[0] = MUL(SET(job->colour_weight), SUB(MUL(SET(116.0f), fy), SET(16.0f)));
  f[1] = MUL(SET(job->colour_weight), MUL(SET(500.0f), SUB(fx, fy)));
  f[2] = MUL(SET(job->colour_weight), MUL(SET(200.0f), SUB(fy, fz)));
  f[3] = SET(job->position_weight * ((float)cy - 0.5f * (float)(h - 1)));
  const __m256 cx = _mm256_cvtepi32_ps(
      _mm256_add_epi32(_mm256_set1_epi32(cx0), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  f[4] = MUL(SET(job->position_weight), SUB(cx, SET(0.5f * (float)(w - 1))));
  const size_t cells = (size_t)h * w, cell = (size_t)cy * w + cx0;
  if (!job->memory_form) {
    f[5] = SET(1.0f);
    for (int c = 0; c < 6; c++)
      _mm256_storeu_ps(job->out + (size_t)c * cells + cell, MUL(SET(job->scale), f[c]));
    return;
  }
  __m256 norm = MUL(f[0], f[0]); /* 0 + f0^2, exactly */
  for (int c = 1; c < 5; c++) norm = ADD(norm, MUL(f[c], f[c]));
  f[5] = MUL(SET(-0.5f), norm);
  for (int i = 0; i < job->copies; i++)
    for (int c = 0; c < 6; c++)
      _mm256_storeu_ps(job->out + ((size_t)i * 6 + c) * cells + cell, f[c]);
}
#undef MUL
#undef ADD
#undef SUB
#undef SET
#endif

static void keys_row(void *context, int cy, int worker) {
  const keys_job *job = context;
  const int stride = job->stride, w = job->width / stride;
  int cx = 0;
#if LP_X86
  int *level = job->levels[worker];
  if (mv_host_has_avx2_fma() && level) {
    /* The sRGB levels of the cell row's pixel rows, then each cell's sums in
     * the kernel's order (rows, then columns), then 8 cells per vector. */
    const size_t plane = (size_t)job->height * job->width;
    float *sum[3] = {job->sums[worker], job->sums[worker] + w, job->sums[worker] + 2 * w};
    for (int c = 0; c < 3; c++)
      for (int dy = 0; dy < stride; dy++)
        row_levels8(job->image + (size_t)c * plane + (size_t)(cy * stride + dy) * job->width,
                    job->width, c, level + ((size_t)c * stride + dy) * job->width);
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        float acc = 0.0f;
        for (int dy = 0; dy < stride; dy++) {
          const int *l = level + ((size_t)c * stride + dy) * job->width + (size_t)x * stride;
          for (int dx = 0; dx < stride; dx++) acc += srgb_linear[l[dx]];
        }
        sum[c][x] = acc;
      }
    for (; cx + 8 <= w; cx += 8) key_cells8(job, cx, cy, sum);
  }
#endif
  for (; cx < w; cx++) key_cell(job, cx, cy);
}

mv_status mv_labelprop_keys_host(const mv_tensor *image, int stride, float colour_weight,
                                 float position_weight, int memory_form, float scale, int copies,
                                 mv_tensor *out) {
  static const char fn[] = "mv_labelprop_keys_host";
  MV_TRY(mv_tensor_check(image, fn, "image"));
  MV_CHECK_ARG(image->n == 1 && image->c == 3 && stride > 0 && image->h % stride == 0 &&
                   image->w % stride == 0 && copies >= 1 && (memory_form || copies == 1),
               "%s: image %dx%dx%dx%d, stride %d, copies %d", fn, image->n, image->c, image->h,
               image->w, stride, copies);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(out, copies, CK, image->h / stride, image->w / stride, fn, "out",
                           &allocated));
  keys_job job;
  memset(&job, 0, sizeof job);
  job.height = image->h, job.width = image->w, job.stride = stride;
  job.memory_form = memory_form, job.copies = copies;
  job.colour_weight = colour_weight, job.position_weight = position_weight, job.scale = scale;
  int workers = mv_host_workers();
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  /* Scratch of the vector path (without it, the cell-by-cell path runs). */
  for (int i = 0; i < workers; i++) {
    job.levels[i] = malloc((size_t)3 * stride * image->w * sizeof(int));
    job.sums[i] = malloc((size_t)3 * (image->w / stride) * sizeof(float));
    if (!job.levels[i] || !job.sums[i]) {
      free(job.levels[i]);
      free(job.sums[i]);
      job.levels[i] = NULL;
      job.sums[i] = NULL;
    }
  }
  mv_host_map map;
  mv_host_map_init(&map);
  mv_status s = mv_host_map_add(&map, image->buffer, image->offset, mv_tensor_numel(image), 0);
  if (s == MV_OK) s = mv_host_map_add(&map, out->buffer, out->offset, mv_tensor_numel(out), 1);
  if (s == MV_OK) s = mv_host_map_begin(&map);
  if (s == MV_OK) {
    job.image = mv_host_map_ptr(&map, image->buffer, image->offset);
    job.out = mv_host_map_ptr(&map, out->buffer, out->offset);
    mv_host_parallel(image->h / stride, keys_row, &job);
    s = mv_host_map_end(&map);
  }
  for (int i = 0; i < workers; i++) {
    free(job.levels[i]);
    free(job.sums[i]);
  }
  if (s != MV_OK && allocated) mv_tensor_free(out);
  return s;
}

/* ---- the fused read ---------------------------------------------------------------- */

mv_status mv_labelprop_read_host(const mv_tensor *query_key, const mv_tensor *keys,
                                 const mv_tensor *values, int frames, int top_k, int window_cells,
                                 mv_tensor *readout) {
  static const char fn[] = "mv_labelprop_read_host";
  MV_TRY(mv_tensor_check(query_key, fn, "query_key"));
  MV_TRY(mv_tensor_check(keys, fn, "keys"));
  MV_TRY(mv_tensor_check(values, fn, "values"));
  const int h = query_key->h, w = query_key->w, objects = keys->n;
  const size_t plane = (size_t)h * w;
  MV_CHECK_ARG(query_key->n == 1 && query_key->c == CK && keys->c == CK &&
                   keys->w == (int)plane && values->n == objects && values->c == 1 &&
                   values->h == keys->h && values->w == (int)plane,
               "%s: query key %dx%dx%dx%d, keys %dx%dx%dx%d, values %dx%dx%dx%d are not "
               "labelprop's (1 x 6 x h x w; k x 6 x T x h*w; k x 1 x T x h*w)",
               fn, query_key->n, query_key->c, query_key->h, query_key->w, keys->n, keys->c,
               keys->h, keys->w, values->n, values->c, values->h, values->w);
  MV_CHECK_ARG(frames >= 1 && frames <= keys->h, "%s: frames = %d, expected 1 .. %d", fn, frames,
               keys->h);
  MV_CHECK_ARG(top_k >= 1 && top_k <= MV_MEMORY_MAX_TOP_K, "%s: top_k = %d, expected 1 .. %d",
               fn, top_k, (int)MV_MEMORY_MAX_TOP_K);
  MV_CHECK_ARG((size_t)frames * plane <= UINT_MAX, "%s: %d frames of %zu cells exceed 32-bit "
               "positions", fn, frames, plane);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(readout, objects, 1, h, w, fn, "readout", &allocated));

  lp_job job;
  memset(&job, 0, sizeof job);
  job.h = h, job.w = w, job.frames = frames, job.objects = objects, job.top_k = top_k;
  job.radius = window_cells < 0 || window_cells > (h > w ? h : w) ? (h > w ? h : w) : window_cells;
  job.plane = plane;
  job.channel_stride = (size_t)keys->h * plane; /* capacity * plane */
  job.object_stride = (size_t)values->h * plane;
  job.scale = 1.0f / sqrtf((float)CK); /* as mv_memory_affinity */
  const int side_h = 2 * job.radius + 1 < h ? 2 * job.radius + 1 : h;
  const int side_w = 2 * job.radius + 1 < w ? 2 * job.radius + 1 : w;
  job.count_max = (size_t)frames * side_h * side_w;
  int workers = mv_host_workers();
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  mv_status s = MV_OK;
  job.block = job.count_max <= BLOCK_ENTRIES ? BLOCK : 1;
  for (int i = 0; i < workers && s == MV_OK; i++) {
    job.aff[i] = malloc((size_t)job.block * (job.count_max + SLACK) * sizeof(float));
    job.cand[i] = malloc(job.count_max * sizeof(mkey));
    job.rowbase[i] = malloc((size_t)frames * side_h * sizeof(unsigned));
    job.weights[i] = malloc((size_t)BLOCK * top_k * sizeof(float));
    job.positions[i] = malloc((size_t)BLOCK * top_k * sizeof(unsigned));
    if (!job.aff[i] || !job.cand[i] || !job.rowbase[i] || !job.weights[i] || !job.positions[i])
      s = mv_fail(MV_E_MEMORY, "%s: out of host memory for %zu window entries", fn,
                  job.count_max);
  }
  mv_host_map map;
  mv_host_map_init(&map);
  if (s == MV_OK) s = mv_host_map_add(&map, query_key->buffer, query_key->offset, CK * plane, 0);
  if (s == MV_OK)
    s = mv_host_map_add(&map, keys->buffer, keys->offset, (CK - 1) * job.channel_stride +
                                                              (size_t)frames * plane, 0);
  if (s == MV_OK)
    s = mv_host_map_add(&map, values->buffer, values->offset,
                        (size_t)(objects - 1) * job.object_stride + (size_t)frames * plane, 0);
  if (s == MV_OK)
    s = mv_host_map_add(&map, readout->buffer, readout->offset, mv_tensor_numel(readout), 1);
  if (s == MV_OK) s = mv_host_map_begin(&map);
  if (s == MV_OK) {
    job.q = mv_host_map_ptr(&map, query_key->buffer, query_key->offset);
    job.k = mv_host_map_ptr(&map, keys->buffer, keys->offset);
    job.v = mv_host_map_ptr(&map, values->buffer, values->offset);
    job.readout = mv_host_map_ptr(&map, readout->buffer, readout->offset);
    mv_host_parallel(h, read_row, &job);
    s = mv_host_map_end(&map);
  }
  for (int i = 0; i < workers; i++) {
    free(job.aff[i]);
    free(job.cand[i]);
    free(job.rowbase[i]);
    free(job.weights[i]);
    free(job.positions[i]);
  }
  if (s != MV_OK && allocated) mv_tensor_free(readout);
  return s;
}
