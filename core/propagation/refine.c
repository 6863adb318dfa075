/* refine: a propagator wrapper, colour models + a band graph cut after the
 * inner read (what and why in refine.h). */
#include "propagation/refine.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/maxflow.h"

/* The engine's frames are ImageNet-normalised (see labelprop_ops.c). */
static const float image_mean[3] = {0.485f, 0.456f, 0.406f};
static const float image_stdev[3] = {0.229f, 0.224f, 0.225f};

/* Fixed-point scale of the graph's capacities (costs in nats x 100). */
enum { COST_SCALE = 100 };

typedef struct refine {
  mv_propagator inner;
  mv_refine_options options;
  int objects;        /* objects of the colour models; 0 = no model yet */
  int levels;         /* bins^3 */
  int shift;          /* 8 - log2(bins): an 8-bit level's bin */
  double *foreground; /* objects x levels counts */
  double *background;
} refine;

typedef struct refine_query {
  void *inner;
  uint8_t *rgb;       /* H x W x 3, the frame the query was made from */
  int height, width;
} refine_query;

void mv_refine_options_default(mv_refine_options *o) {
  *o = (mv_refine_options){.low = 0.05f, .band = 8, .colour_weight = 0.15f, .smoothness = 2.0f,
                           .bins = 16};
}

static mv_status check_options(const mv_refine_options *o) {
  static const char fn[] = "mv_propagator_refine";
  MV_CHECK_ARG(isfinite(o->low) && o->low > 0.0f && o->low < 0.5f,
               "%s: options->low = %g, expected 0 < low < 0.5", fn, (double)o->low);
  MV_CHECK_ARG(o->band >= 0 && o->band <= 64, "%s: options->band = %d, expected 0 .. 64", fn,
               o->band);
  MV_CHECK_ARG(isfinite(o->colour_weight) && o->colour_weight >= 0.0f && o->colour_weight <= 1.0f,
               "%s: options->colour_weight = %g, expected 0 .. 1", fn, (double)o->colour_weight);
  MV_CHECK_ARG(isfinite(o->smoothness) && o->smoothness >= 0.0f && o->smoothness <= 1000.0f,
               "%s: options->smoothness = %g, expected 0 .. 1000", fn, (double)o->smoothness);
  MV_CHECK_ARG(o->bins == 4 || o->bins == 8 || o->bins == 16 || o->bins == 32 || o->bins == 64,
               "%s: options->bins = %d, expected 4, 8, 16, 32 or 64", fn, o->bins);
  return MV_OK;
}

/* The engine's 1 x 3 x H x W frame as 8-bit RGB, H x W x 3. */
static mv_status frame_rgb(const mv_tensor *image, const char *fn, uint8_t **out) {
  MV_CHECK_ARG(image, "%s: image is NULL", fn);
  MV_TRY(mv_tensor_check(image, fn, "image"));
  MV_CHECK_ARG(image->n == 1 && image->c == 3, "%s: image is %dx%dx%dx%d, expected 1 x 3 x H x W",
               fn, image->n, image->c, image->h, image->w);
  size_t plane = (size_t)image->h * image->w;
  float *host = malloc(3 * plane * sizeof(float));
  uint8_t *rgb = malloc(3 * plane);
  mv_status s = host && rgb ? mv_tensor_download(image, host)
                            : mv_fail(MV_E_MEMORY, "%s: out of memory for the frame", fn);
  for (size_t i = 0; s == MV_OK && i < plane; i++)
    for (int c = 0; c < 3; c++) {
      float v = (host[(size_t)c * plane + i] * image_stdev[c] + image_mean[c]) * 255.0f;
      rgb[3 * i + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
  free(host);
  if (s != MV_OK) {
    free(rgb);
    return s;
  }
  *out = rgb;
  return MV_OK;
}

static int colour_bin(const refine *r, const uint8_t *px) {
  int shift = r->shift, b = r->options.bins;
  return ((px[0] >> shift) * b + (px[1] >> shift)) * b + (px[2] >> shift);
}

static mv_status refine_encode_query(void *self, const mv_tensor *image, void **query,
                                     size_t *bytes) {
  static const char fn[] = "refine encode_query";
  refine *r = self;
  MV_CHECK_ARG(query && bytes, "%s: NULL output", fn);
  refine_query *q = calloc(1, sizeof *q);
  if (!q) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  mv_status s = frame_rgb(image, fn, &q->rgb);
  if (s == MV_OK) s = r->inner.ops->encode_query(r->inner.self, image, &q->inner, bytes);
  if (s != MV_OK) {
    free(q->rgb);
    free(q);
    return s;
  }
  q->height = image->h;
  q->width = image->w;
  *bytes += 3 * (size_t)image->h * image->w + sizeof *q;
  *query = q;
  return MV_OK;
}

static void refine_free_query(void *self, void *query) {
  refine *r = self;
  refine_query *q = query;
  if (!q) return;
  r->inner.ops->free_query(r->inner.self, q->inner);
  free(q->rgb);
  free(q);
}

/* The colour models become those of this hard frame's pixels. A
 * propagation memorises its start frame's committed (hard) mask first, so
 * the models are always the start frame's: a function of the propagation
 * request alone, not of the session's history, so that a session resumed
 * from a snapshot (which restores the memory, not the modules' state)
 * propagates exactly as the original (test_workspace). */
static mv_status learn_colours(refine *r, const mv_tensor *image, const float *masks, int k) {
  static const char fn[] = "refine memorize";
  if (r->objects != k) {
    double *fg = calloc((size_t)k * r->levels, sizeof *fg);
    double *bg = calloc((size_t)k * r->levels, sizeof *bg);
    if (!fg || !bg) {
      free(fg);
      free(bg);
      return mv_fail(MV_E_MEMORY, "%s: out of memory for the colour models", fn);
    }
    free(r->foreground);
    free(r->background);
    r->foreground = fg;
    r->background = bg;
    r->objects = k;
  }
  uint8_t *rgb = NULL;
  MV_TRY(frame_rgb(image, fn, &rgb));
  memset(r->foreground, 0, (size_t)k * r->levels * sizeof *r->foreground);
  memset(r->background, 0, (size_t)k * r->levels * sizeof *r->background);
  size_t plane = (size_t)image->h * image->w;
  for (size_t i = 0; i < plane; i++) {
    int bin = colour_bin(r, rgb + 3 * i);
    for (int o = 0; o < k; o++) {
      double *model = masks[(size_t)o * plane + i] > 0.5f ? r->foreground : r->background;
      model[(size_t)o * r->levels + bin] += 1.0;
    }
  }
  free(rgb);
  return MV_OK;
}

static mv_status refine_memorize(void *self, const mv_tensor *image, const mv_tensor *masks,
                                 mv_tensor *key, mv_tensor *value) {
  static const char fn[] = "refine memorize";
  refine *r = self;
  MV_TRY(r->inner.ops->memorize(r->inner.self, image, masks, key, value));
  size_t count = mv_tensor_numel(masks);
  float *host = malloc(count * sizeof(float));
  mv_status s = host ? mv_tensor_download(masks, host)
                     : mv_fail(MV_E_MEMORY, "%s: out of memory for the masks", fn);
  int hard = s == MV_OK;
  for (size_t i = 0; hard && i < count; i++) hard = host[i] == 0.0f || host[i] == 1.0f;
  if (hard) s = learn_colours(r, image, host, masks->n);
  free(host);
  if (s != MV_OK) {
    mv_tensor_free(key);
    mv_tensor_free(value);
  }
  return s;
}

/* in grown by `radius` pixels (square window), via running counts. */
static void grow(const uint8_t *in, int width, int height, int radius, uint8_t *tmp,
                 uint8_t *out) {
  for (int y = 0; y < height; y++) {
    const uint8_t *row = in + (size_t)y * width;
    int n = 0;
    for (int x = 0; x < radius && x < width; x++) n += row[x];
    for (int x = 0; x < width; x++) {
      if (x + radius < width) n += row[x + radius];
      if (x - radius - 1 >= 0) n -= row[x - radius - 1];
      tmp[(size_t)y * width + x] = n > 0;
    }
  }
  for (int x = 0; x < width; x++) {
    int n = 0;
    for (int y = 0; y < radius && y < height; y++) n += tmp[(size_t)y * width + x];
    for (int y = 0; y < height; y++) {
      if (y + radius < height) n += tmp[(size_t)(y + radius) * width + x];
      if (y - radius - 1 >= 0) n -= tmp[(size_t)(y - radius - 1) * width + x];
      out[(size_t)y * width + x] = n > 0;
    }
  }
}

static int32_t cost(double nats) {
  double c = nats * COST_SCALE + 0.5;
  return (int32_t)(c > MV_MAXFLOW_INFINITE / 2 ? MV_MAXFLOW_INFINITE / 2 : c);
}

static int colour_distance2(const uint8_t *a, const uint8_t *b) {
  int d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
  return d0 * d0 + d1 * d1 + d2 * d2;
}

/* The band graph cut of one object's probability plane p (in place). */
static mv_status refine_object(const refine *r, int object, const uint8_t *rgb, int width,
                               int height, float *p, uint8_t *work) {
  static const char fn[] = "refine segment";
  const mv_refine_options *o = &r->options;
  size_t plane = (size_t)width * height;
  uint8_t *uncertain = work, *tmp = work + plane, *band = work + 2 * plane;
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (size_t i = 0; i < plane; i++) uncertain[i] = p[i] > o->low && p[i] < 1.0f - o->low;
  grow(uncertain, width, height, o->band, tmp, band);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (band[(size_t)y * width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  if (x1 < 0) return MV_OK;
  int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  size_t nodes = (size_t)bw * bh;
  int32_t *source = malloc(nodes * sizeof *source), *sink = malloc(nodes * sizeof *sink);
  int32_t *edges = malloc(4 * nodes * sizeof *edges);
  uint8_t *side = malloc(nodes);
  mv_status s = MV_OK;
  if (!source || !sink || !edges || !side) {
    s = mv_fail(MV_E_MEMORY, "%s: out of memory for a %dx%d graph", fn, bw, bh);
    goto done;
  }
  /* GrabCut's beta: the mean squared colour step between neighbours of the band. */
  double sum2 = 0;
  size_t pairs = 0;
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      size_t i = (size_t)y * width + x;
      if (!band[i]) continue;
      if (x < x1) sum2 += colour_distance2(rgb + 3 * i, rgb + 3 * (i + 1)), pairs++;
      if (y < y1) sum2 += colour_distance2(rgb + 3 * i, rgb + 3 * (i + width)), pairs++;
    }
  double sigma2 = pairs && sum2 > 0 ? sum2 / (double)pairs : 1.0;
  const double *fg = r->foreground + (size_t)object * r->levels;
  const double *bg = r->background + (size_t)object * r->levels;
  double fg_total = 0, bg_total = 0;
  for (int b = 0; b < r->levels; b++) fg_total += fg[b], bg_total += bg[b];
  /* forward neighbours of maxflow.h: right, down, down-right, down-left */
  static const int dx[4] = {1, 0, 1, -1}, dy[4] = {0, 1, 1, 1};
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      size_t i = (size_t)y * width + x, n = (size_t)(y - y0) * bw + (x - x0);
      if (!band[i]) {
        int object_side = p[i] >= 0.5f;
        source[n] = object_side ? MV_MAXFLOW_INFINITE : 0;
        sink[n] = object_side ? 0 : MV_MAXFLOW_INFINITE;
      } else {
        int bin = colour_bin(r, rgb + 3 * i);
        double f = (fg[bin] + 1.0) / (fg_total + r->levels);
        double b = (bg[bin] + 1.0) / (bg_total + r->levels);
        double q = (1.0 - o->colour_weight) * p[i] + o->colour_weight * f / (f + b);
        q = q < 0.01 ? 0.01 : q > 0.99 ? 0.99 : q;
        source[n] = cost(-log(1.0 - q));  /* cut when the pixel goes to the background */
        sink[n] = cost(-log(q));
      }
      for (int k = 0; k < 4; k++) {
        int xx = x + dx[k], yy = y + dy[k];
        int32_t cap = 0;
        if (xx >= x0 && xx <= x1 && yy <= y1) {
          double d2 = colour_distance2(rgb + 3 * i, rgb + 3 * ((size_t)yy * width + xx));
          double w = o->smoothness * exp(-d2 / (2.0 * sigma2)) / (k < 2 ? 1.0 : sqrt(2.0));
          cap = cost(w);
        }
        edges[4 * n + k] = cap;
      }
    }
  s = mv_maxflow_grid(bw, bh, 8, source, sink, edges, side, NULL);
  if (s == MV_OK)
    for (int y = y0; y <= y1; y++)
      for (int x = x0; x <= x1; x++) {
        size_t i = (size_t)y * width + x;
        if (band[i]) p[i] = 0.5f * (p[i] + (float)side[(size_t)(y - y0) * bw + (x - x0)]);
      }
done:
  free(source);
  free(sink);
  free(edges);
  free(side);
  return s;
}

static mv_status refine_segment(void *self, void *query, const mv_memory *memory,
                                mv_tensor *prob) {
  static const char fn[] = "refine segment";
  refine *r = self;
  refine_query *q = query;
  MV_CHECK_ARG(q && prob, "%s: NULL argument", fn);
  MV_TRY(r->inner.ops->segment(r->inner.self, q->inner, memory, prob));
  if (r->objects != prob->n) return MV_OK;  /* no colour model for these objects yet */
  MV_CHECK_ARG(prob->c == 1 && prob->h == q->height && prob->w == q->width,
               "%s: the read is %dx%dx%dx%d, expected k x 1 x %d x %d", fn, prob->n, prob->c,
               prob->h, prob->w, q->height, q->width);
  size_t plane = (size_t)prob->h * prob->w, count = mv_tensor_numel(prob);
  float *host = malloc(count * sizeof(float));
  uint8_t *work = malloc(3 * plane);
  mv_status s = host && work ? mv_tensor_download(prob, host)
                             : mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  for (int o = 0; s == MV_OK && o < prob->n; o++)
    s = refine_object(r, o, q->rgb, prob->w, prob->h, host + (size_t)o * plane, work);
  if (s == MV_OK) s = mv_tensor_upload(prob, host);
  free(host);
  free(work);
  return s;
}

static const mv_tensor *refine_query_key(void *self, void *query) {
  refine *r = self;
  refine_query *q = query;
  return r->inner.ops->query_key && q ? r->inner.ops->query_key(r->inner.self, q->inner) : NULL;
}

static void refine_destroy(void *self) {
  refine *r = self;
  if (!r) return;
  mv_propagator_destroy(&r->inner);
  free(r->foreground);
  free(r->background);
  free(r);
}

static const mv_propagator_ops refine_ops = {refine_encode_query, refine_free_query,
                                             refine_memorize,     refine_segment,
                                             refine_query_key,    refine_destroy};

mv_status mv_propagator_refine(mv_propagator inner, const mv_refine_options *options,
                               const char *name, mv_propagator *out) {
  mv_refine_options o;
  if (options) {
    o = *options;
  } else {
    mv_refine_options_default(&o);
  }
  mv_status s = MV_OK;
  if (!out || !inner.ops || !name)
    s = mv_fail(MV_E_ARGUMENT, "mv_propagator_refine: NULL argument (out, inner or name)");
  if (s == MV_OK) s = check_options(&o);
  refine *r = s == MV_OK ? calloc(1, sizeof *r) : NULL;
  if (s == MV_OK && !r) s = mv_fail(MV_E_MEMORY, "mv_propagator_refine: out of memory");
  if (s != MV_OK) {
    mv_propagator_destroy(&inner);
    return s;
  }
  r->inner = inner;
  r->options = o;
  r->levels = o.bins * o.bins * o.bins;
  for (r->shift = 8; (1 << (8 - r->shift)) < o.bins; r->shift--) {
  }
  *out = (mv_propagator){&refine_ops, r, name, inner.memory_frames};
  return MV_OK;
}
