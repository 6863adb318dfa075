/* The "graphcut" backend: a weight-free scribble-to-mask method in the
 * manner of GrabCut (Rother et al. 2004), seeded by scribbles instead of a
 * box.
 *  1. Colour models: one Gaussian mixture (K = 5, full covariance, RGB) for
 *     the foreground samples (positive scribbles and previous >= 0.5) and
 *     one for the background samples (negative scribbles and every other
 *     pixel); each fitted by k-means (luminance-quantile seeds) followed by
 *     hard-assignment EM steps, on at most 20000 evenly spaced samples;
 *     covariances are shrunk towards 100 I (10 pseudo-samples), so models
 *     from a few scribble pixels stay usable.
 *  2. Unary cost of a label = -log likelihood under its mixture; scribble
 *     pixels are hard constraints (infinite terminal capacity).
 *  3. Pairwise cost between 8-neighbours p, q: gamma exp(-beta |c_p -
 *     c_q|^2) / dist(p, q), gamma = 50, beta = 1 / (2 <|c_p - c_q|^2>).
 *  4. Minimum cut (core/maxflow.c, integer capacities in 1/32 nat), then
 *     both mixtures are refitted on the cut's two sides and the cut is
 *     computed again (2 iterations in all).
 * The output is hard: 1 on the foreground side, 0 elsewhere.
 *
 * Speed, with the results of the plain computation above bit for bit:
 * the edge weights from a table by squared colour difference (an integer);
 * the mixtures evaluated 4 pixels at a time with the same float operations
 * per pixel, once per colour (a cache of the colours seen); the second cut
 * starts from the first one's flow and search trees (mv_maxflow_resolve:
 * the same cut, see maxflow.h); the grid-sized arrays in one block of huge
 * pages; and on up to 2 cores, the per-pixel passes, the two colour models
 * and the first cut (in two bands, see maxflow.c) side by side. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "interaction/banded_cut.h"
#include "interaction/interactor.h"
#include "interaction/maxflow.h"

enum {
  GMM_K = 5,
  MAX_SAMPLES = 20000,
  KMEANS_STEPS = 8,
  EM_STEPS = 2,
  CUT_ITERATIONS = 2,
  CONNECTIVITY = 8
};
static const double GAMMA = 50.0;
static const double SCALE = 32.0;      /* capacity units per nat */
static const double COV_REG = 1.0;     /* added to the covariance diagonal (8-bit units^2) */
static const double PRIOR_VAR = 100.0;  /* covariance prior: 10 levels per channel ... */
static const double PRIOR_WEIGHT = 10.0; /* ... worth 10 samples */
static const double MAX_UNARY = 1e6;   /* capacity bound of a soft terminal link */

typedef struct gmm {
  int k;
  double lognorm[GMM_K]; /* log weight - log det / 2 - 3/2 log 2 pi */
  double mean[GMM_K][3];
  double icov[GMM_K][6]; /* inverse covariance: xx xy xz yy yz zz */
  /* The same in float with the quadratic form pre-halved, for the
   * per-pixel evaluation (the hot loop). */
  float f_lognorm[GMM_K], f_mean[GMM_K][3], f_half_icov[GMM_K][6];
} gmm;

static inline double component_log(const gmm *g, int j, const double c[3]) {
  double a = c[0] - g->mean[j][0], b = c[1] - g->mean[j][1], d = c[2] - g->mean[j][2];
  const double *m = g->icov[j];
  double q = m[0] * a * a + m[3] * b * b + m[5] * d * d +
             2 * (m[1] * a * b + m[2] * a * d + m[4] * b * d);
  return g->lognorm[j] - 0.5 * q;
}

/* Gaussians from a hard assignment; empty components are dropped. */
static void fit_components(const float *s, int m, const int *assign, int k, gmm *g) {
  double count[GMM_K] = {0}, sum[GMM_K][3] = {{0}}, sq[GMM_K][6] = {{0}};
  for (int i = 0; i < m; i++) {
    int j = assign[i];
    const float *c = s + 3 * i;
    count[j]++;
    for (int a = 0; a < 3; a++) sum[j][a] += c[a];
    sq[j][0] += (double)c[0] * c[0], sq[j][1] += (double)c[0] * c[1];
    sq[j][2] += (double)c[0] * c[2], sq[j][3] += (double)c[1] * c[1];
    sq[j][4] += (double)c[1] * c[2], sq[j][5] += (double)c[2] * c[2];
  }
  int out = 0;
  for (int j = 0; j < k; j++) {
    if (count[j] < 1) continue;
    double n = count[j], mu[3] = {sum[j][0] / n, sum[j][1] / n, sum[j][2] / n};
    /* Scatter about the mean, shrunk towards PRIOR_VAR * I with PRIOR_WEIGHT
     * pseudo-samples: a component of a few samples (a click, a short
     * stroke) is not a spike; large components are unaffected. */
    double sc[6] = {sq[j][0] - n * mu[0] * mu[0], sq[j][1] - n * mu[0] * mu[1],
                    sq[j][2] - n * mu[0] * mu[2], sq[j][3] - n * mu[1] * mu[1],
                    sq[j][4] - n * mu[1] * mu[2], sq[j][5] - n * mu[2] * mu[2]};
    double norm = 1.0 / (n + PRIOR_WEIGHT), diag = PRIOR_WEIGHT * PRIOR_VAR;
    double cv[6] = {(sc[0] + diag) * norm + COV_REG, sc[1] * norm, sc[2] * norm,
                    (sc[3] + diag) * norm + COV_REG, sc[4] * norm,
                    (sc[5] + diag) * norm + COV_REG};
    /* Inverse by cofactors of the symmetric 3x3 matrix. */
    double c00 = cv[3] * cv[5] - cv[4] * cv[4], c01 = cv[2] * cv[4] - cv[1] * cv[5];
    double c02 = cv[1] * cv[4] - cv[2] * cv[3], c11 = cv[0] * cv[5] - cv[2] * cv[2];
    double c12 = cv[1] * cv[2] - cv[0] * cv[4], c22 = cv[0] * cv[3] - cv[1] * cv[1];
    double det = cv[0] * c00 + cv[1] * c01 + cv[2] * c02;
    if (!(det > 1e-9)) { /* degenerate (collinear colours): fall back to diagonal */
      c00 = cv[3] * cv[5], c11 = cv[0] * cv[5], c22 = cv[0] * cv[3];
      c01 = c02 = c12 = 0;
      det = cv[0] * cv[3] * cv[5];
    }
    g->mean[out][0] = mu[0], g->mean[out][1] = mu[1], g->mean[out][2] = mu[2];
    g->icov[out][0] = c00 / det, g->icov[out][1] = c01 / det, g->icov[out][2] = c02 / det;
    g->icov[out][3] = c11 / det, g->icov[out][4] = c12 / det, g->icov[out][5] = c22 / det;
    g->lognorm[out] = log(n / m) - 0.5 * log(det) - 1.5 * log(2 * M_PI);
    g->f_lognorm[out] = (float)g->lognorm[out];
    for (int a = 0; a < 3; a++) g->f_mean[out][a] = (float)mu[a];
    for (int a = 0; a < 6; a++) g->f_half_icov[out][a] = (float)(0.5 * g->icov[out][a]);
    out++;
  }
  g->k = out;
}

/* Fits a mixture to m >= 1 colour samples (m x 3). work: m ints. */
static void fit_gmm(const float *s, int m, int *assign, gmm *g) {
  int k = m / 10 < GMM_K ? m / 10 : GMM_K; /* about 10 samples per component at least */
  if (k < 1) k = 1;
  /* Seeds: the samples at the luminance quantiles (2j + 1) / 2k. */
  int hist[766] = {0};
  for (int i = 0; i < m; i++) hist[(int)(s[3 * i] + s[3 * i + 1] + s[3 * i + 2])]++;
  double centre[GMM_K][3];
  for (int j = 0; j < k; j++) {
    long rank = (long)(2 * j + 1) * m / (2 * k), cum = 0;
    int bin = 0;
    while (bin < 765 && cum + hist[bin] <= rank) cum += hist[bin++];
    for (int i = 0; i < m; i++)
      if ((int)(s[3 * i] + s[3 * i + 1] + s[3 * i + 2]) == bin) {
        for (int a = 0; a < 3; a++) centre[j][a] = s[3 * i + a];
        break;
      }
  }
  /* k-means (Lloyd). */
  for (int step = 0; step < KMEANS_STEPS; step++) {
    double sum[GMM_K][3] = {{0}};
    int count[GMM_K] = {0};
    for (int i = 0; i < m; i++) {
      const float *c = s + 3 * i;
      int best = 0;
      double best_d = INFINITY;
      for (int j = 0; j < k; j++) {
        double a = c[0] - centre[j][0], b = c[1] - centre[j][1], d = c[2] - centre[j][2];
        double dist = a * a + b * b + d * d;
        if (dist < best_d) best_d = dist, best = j;
      }
      assign[i] = best;
      count[best]++;
      for (int a = 0; a < 3; a++) sum[best][a] += c[a];
    }
    for (int j = 0; j < k; j++)
      if (count[j])
        for (int a = 0; a < 3; a++) centre[j][a] = sum[j][a] / count[j];
  }
  fit_components(s, m, assign, k, g);
  /* Hard EM: each sample to its most likely component, refit. */
  for (int step = 0; step < EM_STEPS; step++) {
    for (int i = 0; i < m; i++) {
      double c[3] = {s[3 * i], s[3 * i + 1], s[3 * i + 2]};
      int best = 0;
      double best_l = -INFINITY;
      for (int j = 0; j < g->k; j++) {
        double l = component_log(g, j, c);
        if (l > best_l) best_l = l, best = j;
      }
      assign[i] = best;
    }
    fit_components(s, m, assign, g->k, g);
  }
}

/* Colours of the pixels with set[i] == want, evenly subsampled. */
static int gather(const uint8_t *rgb, const uint8_t *set, uint8_t want, size_t n, float *s) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += set[i] == want;
  if (!count) return 0;
  size_t stride = (count + MAX_SAMPLES - 1) / MAX_SAMPLES, seen = 0;
  int m = 0;
  for (size_t i = 0; i < n; i++) {
    if (set[i] != want) continue;
    if (seen++ % stride) continue;
    for (int a = 0; a < 3; a++) s[3 * m + a] = rgb[3 * i + a];
    m++;
  }
  return m;
}

/* ---- parallel parts --------------------------------------------------------- */

/* The per-pixel passes run as `parts` independent parts, part 0 on the
 * calling thread and the others on threads of their own (inline when a
 * thread cannot be started); the results do not depend on the split. */
enum { MAX_PARTS = 2, MIN_PIXELS_PER_PART = 1 << 16 };

typedef void (*part_fn)(void *ctx, int part, int parts);

typedef struct part_call {
  part_fn fn;
  void *ctx;
  int part, parts;
} part_call;

static void *part_thread(void *arg) {
  part_call *c = arg;
  c->fn(c->ctx, c->part, c->parts);
  return NULL;
}

static void run_parts(part_fn fn, void *ctx, int parts) {
  pthread_t thread[MAX_PARTS];
  part_call call[MAX_PARTS];
  int started[MAX_PARTS] = {0};
  for (int p = 1; p < parts; p++) {
    call[p] = (part_call){fn, ctx, p, parts};
    started[p] = pthread_create(&thread[p], NULL, part_thread, &call[p]) == 0;
  }
  fn(ctx, 0, parts);
  for (int p = 1; p < parts; p++) {
    if (started[p])
      pthread_join(thread[p], NULL);
    else
      fn(ctx, p, parts);
  }
}

/* The cores the calling thread may run on (what nproc counts), so that a
 * process limited to one core (taskset) runs one part at a time. */
static int usable_cores(void) {
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1) return CPU_COUNT(&set);
#endif
  long c = sysconf(_SC_NPROCESSORS_ONLN);
  return c < 1 ? 1 : c > MAX_PARTS ? MAX_PARTS : (int)c;
}

/* Parts for a frame of n pixels: one per usable core, up to MAX_PARTS and
 * one per MIN_PIXELS_PER_PART pixels. */
static int part_count(size_t n) {
  int cores = usable_cores();
  size_t by_size = n / MIN_PIXELS_PER_PART;
  if (cores > MAX_PARTS) cores = MAX_PARTS;
  return by_size < 1 ? 1 : by_size < (size_t)cores ? (int)by_size : cores;
}

/* ---- unaries ------------------------------------------------------------------- */

/* Terminal capacities of a pixel from d = -log p_bg - (-log p_fg). */
static inline void set_caps(float d, int32_t *source, int32_t *sink) {
  float cap = fminf(fabsf(d) * (float)SCALE, (float)MAX_UNARY);
  int32_t v = (int32_t)(cap + 0.5f);
  *source = d > 0 ? v : 0;
  *sink = d > 0 ? 0 : v;
}

#if defined(__GNUC__)
/* neg_log_likelihood of 4 colours at once: the same float operations in
 * the same order per lane, so the same values. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static void neg_log_likelihood4(const gmm *g, v4f r, v4f gr, v4f b, float out[4]) {
  v4f l[GMM_K], best = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  const v4f two = {2, 2, 2, 2};
  for (int j = 0; j < g->k; j++) {
    const float *m = g->f_half_icov[j];
    v4f x = r - g->f_mean[j][0], y = gr - g->f_mean[j][1], z = b - g->f_mean[j][2];
    l[j] = g->f_lognorm[j] - (m[0] * x * x + m[3] * y * y + m[5] * z * z) -
           two * (m[1] * x * y + m[2] * x * z + m[4] * y * z);
    v4i above = l[j] > best;
    best = (v4f)(((v4i)l[j] & above) | ((v4i)best & ~above));
  }
  /* Per lane, term j is 1 (the largest, expf(0)), expf(t) for t > -30, or
   * nothing (adding 0 changes no sum); expf only where it is needed. */
  const v4f zero = {0, 0, 0, 0}, low = {-30, -30, -30, -30};
  float sum[4] = {0, 0, 0, 0};
  for (int j = 0; j < g->k; j++) {
    v4f t = l[j] - best;
    v4i top = t == zero, call = (t > low) & ~top;
    unsigned lanes = (call[0] & 1) | (call[1] & 2) | (call[2] & 4) | (call[3] & 8);
    float e[4] = {0, 0, 0, 0};
    for (; lanes; lanes &= lanes - 1) {
      int a = __builtin_ctz(lanes);
      e[a] = expf(t[a]);
    }
    for (int a = 0; a < 4; a++) sum[a] += top[a] ? 1.0f : e[a];
  }
  for (int a = 0; a < 4; a++) out[a] = -(best[a] + logf(sum[a]));
}

static void difference4(const gmm *fg, const gmm *bg, const uint8_t *c[4], float d[4]) {
  v4f r, gr, b;
  for (int a = 0; a < 4; a++) r[a] = c[a][0], gr[a] = c[a][1], b[a] = c[a][2];
  float lb[4], lf[4];
  neg_log_likelihood4(bg, r, gr, b, lb);
  neg_log_likelihood4(fg, r, gr, b, lf);
  for (int a = 0; a < 4; a++) d[a] = lb[a] - lf[a];
}
#else
/* -log p(c) under the mixture (log-sum-exp with the largest term out). */
static float neg_log_likelihood(const gmm *g, float r, float gr, float b) {
  float l[GMM_K], best = -INFINITY;
  for (int j = 0; j < g->k; j++) {
    float x = r - g->f_mean[j][0], y = gr - g->f_mean[j][1], z = b - g->f_mean[j][2];
    const float *m = g->f_half_icov[j];
    l[j] = g->f_lognorm[j] - (m[0] * x * x + m[3] * y * y + m[5] * z * z) -
           2 * (m[1] * x * y + m[2] * x * z + m[4] * y * z);
    if (l[j] > best) best = l[j];
  }
  float sum = 0;
  for (int j = 0; j < g->k; j++) {
    float t = l[j] - best;
    if (t > -30) sum += expf(t); /* smaller terms change nothing at float precision */
  }
  return -(best + logf(sum));
}

static void difference4(const gmm *fg, const gmm *bg, const uint8_t *c[4], float d[4]) {
  for (int a = 0; a < 4; a++) {
    float r = c[a][0], g = c[a][1], b = c[a][2];
    d[a] = neg_log_likelihood(bg, r, g, b) - neg_log_likelihood(fg, r, g, b);
  }
}
#endif

/* Colours seen in a part, direct mapped: most frames repeat most colours. */
enum { CACHE_BITS = 17, CACHE_SIZE = 1 << CACHE_BITS };
typedef struct cache_entry {
  uint32_t key; /* 1 << 24 | r << 16 | g << 8 | b; 0 = empty */
  float d;
} cache_entry;

static inline uint32_t cache_key(const uint8_t *c) {
  return 1u << 24 | (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
}
static inline uint32_t cache_slot(const uint8_t *c) {
  return (cache_key(c) * 2654435761u) >> (32 - CACHE_BITS);
}
/* The slots a few pixels ahead are fetched early: the table is larger than
 * the fastest caches. */
enum { PREFETCH = 16 };
#if defined(__GNUC__)
#define prefetch(p) __builtin_prefetch(p)
#else
#define prefetch(p) ((void)0)
#endif

typedef struct unary_job {
  const mv_interaction_input *in;
  const gmm *fg, *bg;
  int32_t *source, *sink;
  cache_entry *cache; /* CACHE_SIZE per part */
} unary_job;

/* The terminal capacities of up to 4 pixels not in the cache (the cache
 * keeps their differences). */
static void evaluate(const unary_job *job, cache_entry *cache, const size_t *pending, int count) {
  const uint8_t *colour[4];
  for (int a = 0; a < 4; a++) colour[a] = job->in->rgb + 3 * pending[a < count ? a : 0];
  float d[4];
  difference4(job->fg, job->bg, colour, d);
  for (int a = 0; a < count; a++) {
    cache[cache_slot(colour[a])] = (cache_entry){cache_key(colour[a]), d[a]};
    set_caps(d[a], &job->source[pending[a]], &job->sink[pending[a]]);
  }
}

/* Terminal capacities: source = cost of background, sink = cost of
 * foreground; hard constraints at scribbles (negative wins). */
static void unary_part(void *ctx, int part, int parts) {
  const unary_job *job = ctx;
  const mv_interaction_input *in = job->in;
  const size_t n = (size_t)in->width * in->height;
  const size_t begin = n * part / parts, end = n * (part + 1) / parts;
  int32_t *source = job->source, *sink = job->sink;
  cache_entry *cache = job->cache + (size_t)part * CACHE_SIZE;
  memset(cache, 0, CACHE_SIZE * sizeof *cache);
  size_t pending[4];
  int count = 0;
  for (size_t i = begin; i < end; i++) {
    if (in->negative && in->negative[i]) {
      source[i] = 0, sink[i] = MV_MAXFLOW_INFINITE;
      continue;
    }
    if (in->positive && in->positive[i]) {
      source[i] = MV_MAXFLOW_INFINITE, sink[i] = 0;
      continue;
    }
    if (i + PREFETCH < end) prefetch(&cache[cache_slot(in->rgb + 3 * (i + PREFETCH))]);
    const uint8_t *c = in->rgb + 3 * i;
    const cache_entry *e = &cache[cache_slot(c)];
    if (e->key == cache_key(c)) {
      set_caps(e->d, &source[i], &sink[i]);
    } else {
      pending[count++] = i;
      if (count == 4) {
        evaluate(job, cache, pending, count);
        count = 0;
      }
    }
  }
  if (count) evaluate(job, cache, pending, count);
}

/* ---- pairwise ------------------------------------------------------------------ */

/* Contrast-sensitive smoothness on the forward 8-neighbour edges. The
 * squared colour differences are integers, so their sum is exact (as a
 * double sum of integers below 2^53 is) and each weight depends on the
 * difference alone: one exp per distinct value, from a table. */
typedef struct pairwise_job {
  const mv_interaction_input *in;
  int32_t *edge;
  int64_t total[MAX_PARTS];
  int max_d2[MAX_PARTS];
  const int32_t *straight, *diagonal; /* weight by squared difference ... */
  int table;                          /* ... below table; 0 from there on */
} pairwise_job;

static inline int diff2(const uint8_t *p, const uint8_t *q) {
  int a = p[0] - q[0], b = p[1] - q[1], c = p[2] - q[2];
  return a * a + b * b + c * c;
}

static void pairwise_sum_part(void *ctx, int part, int parts) {
  pairwise_job *job = ctx;
  const int w = job->in->width, h = job->in->height;
  const uint8_t *rgb = job->in->rgb;
  int64_t total = 0;
  int max = 0;
  for (int y = h * part / parts; y < h * (part + 1) / parts; y++) {
    const uint8_t *p = rgb + 3 * (size_t)y * w, *q = p + 3 * (size_t)w;
    int64_t row = 0;
    for (int x = 0; x + 1 < w; x++) { /* right */
      int d = diff2(p + 3 * x, p + 3 * x + 3);
      row += d;
      max = d > max ? d : max;
    }
    if (y + 1 < h)
      for (int x = 0; x < w; x++) { /* down, down-right, down-left */
        int d = diff2(p + 3 * x, q + 3 * x);
        row += d;
        max = d > max ? d : max;
        if (x + 1 < w) {
          d = diff2(p + 3 * x, q + 3 * x + 3);
          row += d;
          max = d > max ? d : max;
        }
        if (x > 0) {
          d = diff2(p + 3 * x, q + 3 * x - 3);
          row += d;
          max = d > max ? d : max;
        }
      }
    total += row;
  }
  job->total[part] = total;
  job->max_d2[part] = max;
}

static void pairwise_weight_part(void *ctx, int part, int parts) {
  pairwise_job *job = ctx;
  const int w = job->in->width, h = job->in->height, E = CONNECTIVITY / 2;
  const uint8_t *rgb = job->in->rgb;
  const int32_t *straight = job->straight, *diagonal = job->diagonal;
  const int table = job->table;
  for (int y = h * part / parts; y < h * (part + 1) / parts; y++) {
    const uint8_t *p = rgb + 3 * (size_t)y * w, *q = p + 3 * (size_t)w;
    int32_t *e = job->edge + (size_t)y * w * E;
    const int below = y + 1 < h;
    for (int x = 0; x < w; x++, e += E) {
      const uint8_t *c = p + 3 * x;
      int d;
      e[0] = x + 1 < w && (d = diff2(c, c + 3)) < table ? straight[d] : 0;
      e[1] = below && (d = diff2(c, q + 3 * x)) < table ? straight[d] : 0;
      e[2] = below && x + 1 < w && (d = diff2(c, q + 3 * x + 3)) < table ? diagonal[d] : 0;
      e[3] = below && x > 0 && (d = diff2(c, q + 3 * x - 3)) < table ? diagonal[d] : 0;
    }
  }
}

static mv_status pairwise(const mv_interaction_input *in, int32_t *edge, int parts) {
  pairwise_job job = {in, edge, {0}, {0}, NULL, NULL, 0};
  run_parts(pairwise_sum_part, &job, parts);
  int64_t total = 0;
  int max = 0;
  for (int p = 0; p < parts; p++) {
    total += job.total[p];
    max = job.max_d2[p] > max ? job.max_d2[p] : max;
  }
  const int w = in->width, h = in->height;
  const size_t pairs = (size_t)(w - 1) * h + (size_t)w * (h - 1) + 2 * (size_t)(w - 1) * (h - 1);
  const double beta = total > 0 ? pairs / (2 * (double)total) : 0;
  /* The weights as the original per-edge expression gives them; they
   * decrease with d2, so the table ends where both are 0. */
  int32_t *straight = malloc(2 * ((size_t)max + 1) * sizeof *straight);
  if (!straight) return mv_fail(MV_E_MEMORY, "graphcut interactor: out of memory (edge weights)");
  int32_t *diagonal = straight + max + 1;
  int table = 0;
  while (table <= max && (table == 0 || straight[table - 1] || diagonal[table - 1])) {
    double d2 = table;
    straight[table] = (int32_t)lround(GAMMA * exp(-beta * d2) / 1.0 * SCALE);
    diagonal[table] = (int32_t)lround(GAMMA * exp(-beta * d2) / M_SQRT2 * SCALE);
    table++;
  }
  job.straight = straight;
  job.diagonal = diagonal;
  job.table = table;
  run_parts(pairwise_weight_part, &job, parts);
  free(straight);
  return MV_OK;
}

/* ---- colour models ---------------------------------------------------------------- */

typedef struct fit_job {
  const uint8_t *rgb, *side;
  size_t n;
  float *samples[2];
  int *assign[2];
  gmm model[2]; /* background, foreground */
  int count[2];
} fit_job;

static void fit_part(void *ctx, int part, int parts) {
  fit_job *job = ctx;
  for (int want = part; want < 2; want += parts) {
    int m = gather(job->rgb, job->side, (uint8_t)want, job->n, job->samples[want]);
    job->count[want] = m;
    if (m) fit_gmm(job->samples[want], m, job->assign[want], &job->model[want]);
  }
}

/* Consecutive arrays in one block: the offset of the next `size` bytes. */
static size_t carve(size_t *at, size_t size) {
  size_t start = *at;
  *at = start + ((size + 63) & ~(size_t)63);
  return start;
}

/* ---- stage timers ---------------------------------------------------------------- */

/* MIVOS_GRAPHCUT_PROFILE=1 prints the process CPU ms of each stage of every
 * run to stderr (the stages run one after the other, so each delta is that
 * stage's CPU over all its threads). */
enum { STAGE_SETUP, STAGE_PAIRWISE, STAGE_FIT, STAGE_UNARY, STAGE_SOLVE, STAGE_RESOLVE, STAGES };
static const char *const STAGE_NAME[STAGES] = {"setup", "pairwise", "fit", "unary", "solve",
                                               "resolve"};
typedef struct stage_clock {
  int on;
  double last, ms[STAGES];
} stage_clock;

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static void stage_start(stage_clock *c) {
  const char *v = getenv("MIVOS_GRAPHCUT_PROFILE");
  c->on = v && v[0] && strcmp(v, "0");
  if (c->on) c->last = cpu_ms();
}

static void stage_end(stage_clock *c, int stage) {
  if (!c->on) return;
  const double now = cpu_ms();
  c->ms[stage] += now - c->last;
  c->last = now;
}

static void stage_print(const stage_clock *c) {
  if (!c->on) return;
  double total = 0;
  fprintf(stderr, "graphcut cpu ms:");
  for (int k = 0; k < STAGES; k++) {
    fprintf(stderr, " %s %.1f", STAGE_NAME[k], c->ms[k]);
    total += c->ms[k];
  }
  fprintf(stderr, " total %.1f\n", total);
}

/* The cut: banded (banded_cut.h, half-width BAND) on frames of at least
 * MIN_BANDED_PIXELS, unless the exact one was asked for, by
 * mv_interactor_graphcut_exact or MIVOS_GRAPHCUT_EXACT=1. Small frames
 * take the exact cut: it is cheap there, and the block grid's coarser
 * boundary (sums of edges across block borders that do not follow the
 * colour edges) can lose a small object whose colour model is weak (the
 * 160x120 ellipse of test_graphcut: J 0.05 banded, 1.00 exact). */
enum { BAND = 2, MIN_BANDED_PIXELS = 1 << 18 };
static const int EXACT = 1;

static int exact_cut(const void *self, size_t pixels) {
  const char *v = getenv("MIVOS_GRAPHCUT_EXACT");
  return self == &EXACT || (v && v[0] && strcmp(v, "0")) || pixels < MIN_BANDED_PIXELS;
}

static int band_width(void) {
  const char *v = getenv("MIVOS_GRAPHCUT_BAND");
  int b = v ? atoi(v) : 0;
  return b >= 1 && b <= 64 ? b : BAND;
}

static mv_status graphcut_run(void *self, const mv_interaction_input *in, float *out) {
  static const char *fn = "graphcut interactor";
  const int exact = exact_cut(self, (size_t)in->width * in->height);
  MV_TRY(mv_interaction_input_check(in, out, fn));
  stage_clock clock = {0};
  stage_start(&clock);
  const size_t n = (size_t)in->width * in->height;
  const uint8_t *pos = in->positive, *neg = in->negative;

  /* One block for the arrays (see mv_maxflow_alloc), each on a cache line. */
  const int parts = part_count(n);
  size_t size = 0;
  const size_t at_side = carve(&size, n), at_source = carve(&size, n * sizeof(int32_t));
  const size_t at_sink = carve(&size, n * sizeof(int32_t));
  const size_t at_edge = carve(&size, n * (CONNECTIVITY / 2) * sizeof(int32_t));
  const size_t at_cache = carve(&size, (size_t)parts * CACHE_SIZE * sizeof(cache_entry));
  size_t at_samples[2], at_assign[2];
  for (int s = 0; s < 2; s++) {
    at_samples[s] = carve(&size, (size_t)MAX_SAMPLES * 3 * sizeof(float));
    at_assign[s] = carve(&size, (size_t)MAX_SAMPLES * sizeof(int));
  }
  uint8_t *block = mv_maxflow_alloc(size);
  if (!block) return mv_fail(MV_E_MEMORY, "%s: out of memory (%zu pixels)", fn, n);
  uint8_t *side = block + at_side; /* 1 foreground sample, 0 background sample */
  int32_t *source = (int32_t *)(block + at_source), *sink = (int32_t *)(block + at_sink);
  int32_t *edge = (int32_t *)(block + at_edge);
  cache_entry *cache = (cache_entry *)(block + at_cache);
  size_t fg_count = 0, bg_count = 0;
  for (size_t i = 0; i < n; i++) {
    int p = pos && pos[i], q = neg && neg[i];
    side[i] = !q && (p || (in->previous && in->previous[i] >= 0.5f));
    fg_count += side[i];
    bg_count += !side[i];
  }
  if (fg_count == 0 || bg_count == 0) {
    /* Nothing to separate: the previous mask with the negatives erased
     * (plus positives, all foreground when there is no background). */
    for (size_t i = 0; i < n; i++) {
      float v = in->previous ? fminf(fmaxf(in->previous[i], 0.0f), 1.0f) : 0.0f;
      if (v != v) v = 0;
      if (pos && pos[i]) v = 1;
      if (neg && neg[i]) v = 0;
      out[i] = v;
    }
    mv_maxflow_free(block);
    return MV_OK;
  }

  fit_job fit = {in->rgb, side, n, {NULL, NULL}, {NULL, NULL}, {{0}}, {0, 0}};
  for (int s = 0; s < 2; s++) {
    fit.samples[s] = (float *)(block + at_samples[s]);
    fit.assign[s] = (int *)(block + at_assign[s]);
  }
  mv_maxflow *flow = NULL;
  mv_banded_cut *banded = NULL;
  mv_status status =
      exact ? mv_maxflow_create(in->width, in->height, CONNECTIVITY, &flow)
            : mv_banded_cut_create(in->width, in->height, band_width(), parts, &banded);
  if (status == MV_OK && exact) status = mv_maxflow_set_threads(flow, parts);
  stage_end(&clock, STAGE_SETUP);
  if (status == MV_OK) status = pairwise(in, edge, parts);
  stage_end(&clock, STAGE_PAIRWISE);
  for (int it = 0; it < CUT_ITERATIONS && status == MV_OK; it++) {
    run_parts(fit_part, &fit, parts); /* background and foreground side by side */
    stage_end(&clock, STAGE_FIT);
    if (!fit.count[0] || !fit.count[1]) break; /* the cut removed everything: keep it */
    unary_job job = {in, &fit.model[1], &fit.model[0], source, sink, cache};
    run_parts(unary_part, &job, parts);
    stage_end(&clock, STAGE_UNARY);
    /* The edges stay: the second cut starts from the first one's flow
     * (the same cut as from scratch, see maxflow.h). */
    if (!exact)
      status = mv_banded_cut_solve(banded, source, sink, edge, it > 0, side);
    else if (it == 0)
      status = mv_maxflow_solve(flow, source, sink, edge, side, NULL);
    else
      status = mv_maxflow_resolve(flow, source, sink, side, NULL);
    stage_end(&clock, it == 0 ? STAGE_SOLVE : STAGE_RESOLVE);
  }
  if (status == MV_OK)
    for (size_t i = 0; i < n; i++) out[i] = side[i] ? 1.0f : 0.0f;
  mv_maxflow_destroy(flow);
  mv_banded_cut_destroy(banded);
  mv_maxflow_free(block);
  stage_end(&clock, STAGE_SETUP);
  stage_print(&clock);
  return status;
}

static void graphcut_destroy(void *self) { (void)self; }

static const mv_interactor_ops graphcut_ops = {graphcut_run, graphcut_destroy};

mv_status mv_interactor_graphcut(mv_interactor *out) {
  MV_CHECK_ARG(out, "mv_interactor_graphcut: NULL output");
  out->ops = &graphcut_ops;
  out->self = NULL;
  out->name = "graphcut";
  return MV_OK;
}

mv_status mv_interactor_graphcut_exact(mv_interactor *out) {
  MV_TRY(mv_interactor_graphcut(out));
  out->self = (void *)&EXACT;
  return MV_OK;
}
