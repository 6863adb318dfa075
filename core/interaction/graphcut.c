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
 * The output is hard: 1 on the foreground side, 0 elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
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

/* Terminal capacities: source = cost of background, sink = cost of
 * foreground; hard constraints at scribbles (negative wins). */
static void unaries(const mv_interaction_input *in, const gmm *fg, const gmm *bg,
                    int32_t *source, int32_t *sink) {
  size_t n = (size_t)in->width * in->height;
  for (size_t i = 0; i < n; i++) {
    if (in->negative && in->negative[i]) {
      source[i] = 0, sink[i] = MV_MAXFLOW_INFINITE;
    } else if (in->positive && in->positive[i]) {
      source[i] = MV_MAXFLOW_INFINITE, sink[i] = 0;
    } else {
      float r = in->rgb[3 * i], g = in->rgb[3 * i + 1], b = in->rgb[3 * i + 2];
      float d = neg_log_likelihood(bg, r, g, b) - neg_log_likelihood(fg, r, g, b);
      float cap = fminf(fabsf(d) * (float)SCALE, (float)MAX_UNARY);
      int32_t v = (int32_t)(cap + 0.5f);
      source[i] = d > 0 ? v : 0;
      sink[i] = d > 0 ? 0 : v;
    }
  }
}

/* Contrast-sensitive smoothness on the forward 8-neighbour edges. */
static void pairwise(const mv_interaction_input *in, int32_t *edge) {
  const int w = in->width, h = in->height, E = CONNECTIVITY / 2;
  const int dx[4] = {1, 0, 1, -1}, dy[4] = {0, 1, 1, 1};
  double total = 0;
  size_t pairs = 0;
  for (int pass = 0; pass < 2; pass++) {
    double beta = pass ? (total > 0 ? pairs / (2 * total) : 0) : 0;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const uint8_t *p = in->rgb + 3 * ((size_t)y * w + x);
        for (int k = 0; k < E; k++) {
          int nx = x + dx[k], ny = y + dy[k];
          int32_t *e = &edge[((size_t)y * w + x) * E + k];
          if (nx < 0 || nx >= w || ny >= h) {
            if (pass) *e = 0;
            continue;
          }
          const uint8_t *q = in->rgb + 3 * ((size_t)ny * w + nx);
          double a = (double)p[0] - q[0], b = (double)p[1] - q[1], c = (double)p[2] - q[2];
          double d2 = a * a + b * b + c * c;
          if (!pass) {
            total += d2;
            pairs++;
          } else {
            double weight = GAMMA * exp(-beta * d2) / (k < 2 ? 1.0 : M_SQRT2);
            *e = (int32_t)lround(weight * SCALE);
          }
        }
      }
  }
}

static mv_status graphcut_run(void *self, const mv_interaction_input *in, float *out) {
  static const char *fn = "graphcut interactor";
  MV_TRY(mv_interaction_input_check(in, out, fn));
  const size_t n = (size_t)in->width * in->height;
  const uint8_t *pos = in->positive, *neg = in->negative;

  /* side: 1 foreground sample, 0 background sample. */
  uint8_t *side = malloc(n);
  if (!side) return mv_fail(MV_E_MEMORY, "%s: out of memory (%zu pixels)", fn, n);
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
    free(side);
    return MV_OK;
  }

  float *samples = malloc((size_t)MAX_SAMPLES * 3 * sizeof *samples);
  int *assign = malloc((size_t)MAX_SAMPLES * sizeof *assign);
  int32_t *source = malloc(n * sizeof *source), *sink = malloc(n * sizeof *sink);
  int32_t *edge = malloc(n * (CONNECTIVITY / 2) * sizeof *edge);
  mv_status status = MV_OK;
  if (!samples || !assign || !source || !sink || !edge)
    status = mv_fail(MV_E_MEMORY, "%s: out of memory (%zu pixels)", fn, n);
  if (status == MV_OK) pairwise(in, edge);
  for (int it = 0; it < CUT_ITERATIONS && status == MV_OK; it++) {
    gmm fg, bg;
    int m = gather(in->rgb, side, 1, n, samples);
    if (!m) break; /* the cut removed everything: keep it */
    fit_gmm(samples, m, assign, &fg);
    m = gather(in->rgb, side, 0, n, samples);
    if (!m) break;
    fit_gmm(samples, m, assign, &bg);
    unaries(in, &fg, &bg, source, sink);
    status = mv_maxflow_grid(in->width, in->height, CONNECTIVITY, source, sink, edge, side, NULL);
  }
  if (status == MV_OK)
    for (size_t i = 0; i < n; i++) out[i] = side[i] ? 1.0f : 0.0f;
  free(samples);
  free(assign);
  free(source);
  free(sink);
  free(edge);
  free(side);
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
