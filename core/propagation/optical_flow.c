/* DIS optical flow on the host (optical_flow.h). */
#include "propagation/optical_flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/host_map.h"

enum { MAX_LEVELS = 10, MAX_PATCH = 32 };

void mv_flow_options_default(mv_flow_options *options) {
  if (!options) return;
  options->patch = 8;
  options->spacing = 4;
  options->iterations = 16;
  options->levels = 0;
  options->finest = 0;
}

mv_status mv_flow_options_check(const mv_flow_options *o, const char *fn) {
  MV_CHECK_ARG(o, "%s: flow options are NULL", fn);
  MV_CHECK_ARG(o->patch >= 4 && o->patch <= MAX_PATCH,
               "%s: options->patch = %d, expected 4 .. %d pixels", fn, o->patch, (int)MAX_PATCH);
  MV_CHECK_ARG(o->spacing >= 1 && o->spacing <= o->patch,
               "%s: options->spacing = %d, expected 1 .. patch (%d)", fn, o->spacing, o->patch);
  MV_CHECK_ARG(o->iterations >= 1 && o->iterations <= 256,
               "%s: options->iterations = %d, expected 1 .. 256", fn, o->iterations);
  MV_CHECK_ARG(o->finest >= 0 && o->finest < MAX_LEVELS,
               "%s: options->finest = %d, expected 0 (full resolution) .. %d", fn, o->finest,
               (int)MAX_LEVELS - 1);
  MV_CHECK_ARG(o->levels >= 0 && o->levels <= MAX_LEVELS,
               "%s: options->levels = %d, expected 0 (automatic) .. %d", fn, o->levels,
               (int)MAX_LEVELS);
  return MV_OK;
}

/* Bilinear sample with coordinates clamped to the image. */
static inline float sample(const float *img, int w, int h, float x, float y) {
  /* (written so that NaN clamps to 0: never an undefined conversion) */
  x = x > 0.0f ? (x < (float)(w - 1) ? x : (float)(w - 1)) : 0.0f;
  y = y > 0.0f ? (y < (float)(h - 1) ? y : (float)(h - 1)) : 0.0f;
  int x0 = (int)x, y0 = (int)y;
  int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
  float fx = x - (float)x0, fy = y - (float)y0;
  const float *r0 = img + (size_t)y0 * w, *r1 = img + (size_t)y1 * w;
  float top = r0[x0] + fx * (r0[x1] - r0[x0]), bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
  return top + fy * (bottom - top);
}

/* The p x p patch of img at (x0 + u, y0 + v), bilinear, clamped: one set
 * of weights for the whole patch (its positions share the fractions) and
 * direct rows when all taps are inside. */
static void sample_patch(const float *img, int w, int h, int x0, int y0, int p, float u, float v,
                         float *out) {
  /* A displacement beyond any image (or NaN) samples the border. */
  u = u > -1e6f ? (u < 1e6f ? u : 1e6f) : -1e6f;
  v = v > -1e6f ? (v < 1e6f ? v : 1e6f) : -1e6f;
  const float fu = floorf(u), fv = floorf(v);
  const int ix = x0 + (int)fu, iy = y0 + (int)fv;
  if (ix >= 0 && iy >= 0 && ix + p < w && iy + p < h) {
    const float ax = u - fu, ay = v - fv;
    for (int j = 0; j < p; j++) {
      const float *r0 = img + (size_t)(iy + j) * w + ix, *r1 = r0 + w;
      for (int i = 0; i < p; i++) {
        const float top = r0[i] + ax * (r0[i + 1] - r0[i]);
        const float bottom = r1[i] + ax * (r1[i + 1] - r1[i]);
        out[j * p + i] = top + ay * (bottom - top);
      }
    }
    return;
  }
  for (int j = 0; j < p; j++)
    for (int i = 0; i < p; i++)
      out[j * p + i] = sample(img, w, h, (float)(x0 + i) + u, (float)(y0 + j) + v);
}

/* One pyramid level: the 2x2 mean of the level below (odd last rows and
 * columns dropped). */
static void downsample(const float *in, int w, int h, float *out) {
  int ow = w / 2, oh = h / 2;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++) {
      const float *a = in + (size_t)(2 * y) * w + 2 * x, *b = a + w;
      out[(size_t)y * ow + x] = 0.25f * (a[0] + a[1] + b[0] + b[1]);
    }
}

/* The patch grid along one axis: origins 0, spacing, ... and a last one at
 * size - patch so that every pixel is covered. */
static int grid(int size, int patch, int spacing, int *origins) {
  int n = 0;
  for (int o = 0; o + patch <= size; o += spacing) origins[n++] = o;
  if (n == 0 || origins[n - 1] != size - patch) origins[n++] = size - patch;
  return n;
}

/* The inverse search of one patch (origin x0, y0) of I0 in I1, from the
 * displacement (u, v); returns the result in u, v. */
static void search_patch(const float *i0, const float *i1, int w, int h, int x0, int y0, int p,
                         int iterations, float *u, float *v) {
  float t[MAX_PATCH * MAX_PATCH], gx[MAX_PATCH * MAX_PATCH], gy[MAX_PATCH * MAX_PATCH];
  const int n = p * p;
  float mean = 0.0f;
  for (int j = 0; j < p; j++)
    for (int i = 0; i < p; i++) mean += i0[(size_t)(y0 + j) * w + x0 + i];
  mean /= (float)n;
  double hxx = 0, hxy = 0, hyy = 0;
  for (int j = 0; j < p; j++) {
    const int y = y0 + j, ya = y > 0 ? y - 1 : y, yb = y < h - 1 ? y + 1 : y;
    for (int i = 0; i < p; i++) {
      const int x = x0 + i, xa = x > 0 ? x - 1 : x, xb = x < w - 1 ? x + 1 : x;
      const int k = j * p + i;
      t[k] = i0[(size_t)y * w + x] - mean;
      gx[k] = (i0[(size_t)y * w + xb] - i0[(size_t)y * w + xa]) / (float)(xb - xa > 0 ? xb - xa : 1);
      gy[k] = (i0[(size_t)yb * w + x] - i0[(size_t)ya * w + x]) / (float)(yb - ya > 0 ? yb - ya : 1);
      hxx += (double)gx[k] * gx[k];
      hxy += (double)gx[k] * gy[k];
      hyy += (double)gy[k] * gy[k];
    }
  }
  /* A small ridge keeps flat patches (no texture) near their initial value. */
  hxx += 1e-3 * n, hyy += 1e-3 * n;
  const double det = hxx * hyy - hxy * hxy;
  if (!(det > 0.0)) return;
  const float u_init = *u, v_init = *v;
  float bu = u_init, bv = v_init, best = INFINITY, cu = u_init, cv = v_init;
  float warped[MAX_PATCH * MAX_PATCH];
  for (int it = 0; it <= iterations; it++) {
    sample_patch(i1, w, h, x0, y0, p, cu, cv, warped);
    float wmean = 0.0f;
    for (int k = 0; k < n; k++) wmean += warped[k];
    wmean /= (float)n;
    double bx = 0, by = 0, ssd = 0;
    for (int k = 0; k < n; k++) {
      const float r = warped[k] - wmean - t[k];
      bx += (double)gx[k] * r;
      by += (double)gy[k] * r;
      ssd += (double)r * r;
    }
    if (ssd < best) { /* keep the best iterate (Gauss-Newton may overshoot) */
      best = (float)ssd;
      bu = cu, bv = cv;
    }
    if (it == iterations) break;
    const float du = (float)((hyy * bx - hxy * by) / det), dv = (float)((hxx * by - hxy * bx) / det);
    cu -= du, cv -= dv;
    if (du * du + dv * dv < 1e-4f) {
      /* converged: score the last step too, then stop */
      iterations = it + 1;
    }
  }
  /* DIS: a search that left its patch is not trusted. */
  if ((bu - u_init) * (bu - u_init) + (bv - v_init) * (bv - v_init) > (float)(p * p)) {
    bu = u_init, bv = v_init;
  }
  *u = bu, *v = bv;
}

/* The patches of one level: each row of patches is a task of the host
 * pool (the searches are independent; the densification that sums
 * overlapping patches runs after them on one thread). */
typedef struct level_job {
  const float *i0, *i1, *flow;
  int w, h, p, iterations, nx;
  const int *ox, *oy;
  float *u, *v; /* per patch */
} level_job;

static void search_row(void *context, int py, int worker) {
  const level_job *job = context;
  const size_t plane = (size_t)job->w * job->h;
  for (int px = 0; px < job->nx; px++) {
    const int x0 = job->ox[px], y0 = job->oy[py];
    const size_t centre = (size_t)(y0 + job->p / 2) * job->w + (size_t)(x0 + job->p / 2);
    float u = job->flow[centre], v = job->flow[plane + centre];
    search_patch(job->i0, job->i1, job->w, job->h, x0, y0, job->p, job->iterations, &u, &v);
    job->u[(size_t)py * job->nx + px] = u;
    job->v[(size_t)py * job->nx + px] = v;
  }
}

/* One level: the patches' displacements from the dense initial flow
 * (2 x h x w, replaced by the densified result). */
static mv_status level_flow(const float *i0, const float *i1, int w, int h,
                            const mv_flow_options *o, float *flow) {
  const int p = o->patch;
  if (w < p || h < p) return MV_OK; /* too small for a patch: keep the initial flow */
  const size_t plane = (size_t)w * h;
  const size_t most = ((size_t)w / o->spacing + 2) * ((size_t)h / o->spacing + 2);
  int *ox = malloc(((size_t)w / o->spacing + 2) * sizeof(int));
  int *oy = malloc(((size_t)h / o->spacing + 2) * sizeof(int));
  float *acc = calloc(3 * plane, sizeof(float)); /* weighted dx, dy and weight sums */
  float *uv = malloc(2 * most * sizeof(float));
  if (!ox || !oy || !acc || !uv) {
    free(ox);
    free(oy);
    free(acc);
    free(uv);
    return mv_fail(MV_E_MEMORY, "mv_optical_flow: out of memory for a %dx%d level", w, h);
  }
  const int nx = grid(w, p, o->spacing, ox), ny = grid(h, p, o->spacing, oy);
  level_job job = {i0, i1, flow, w, h, p, o->iterations, nx, ox, oy, uv, uv + most};
  mv_host_parallel(ny, search_row, &job);
  for (int py = 0; py < ny; py++)
    for (int px = 0; px < nx; px++) {
      const int x0 = ox[px], y0 = oy[py];
      const float u = job.u[(size_t)py * nx + px], v = job.v[(size_t)py * nx + px];
      float warped[MAX_PATCH * MAX_PATCH];
      sample_patch(i1, w, h, x0, y0, p, u, v, warped);
      for (int j = 0; j < p; j++)
        for (int i = 0; i < p; i++) {
          const int x = x0 + i, y = y0 + j;
          const float e = warped[j * p + i] - i0[(size_t)y * w + x];
          const float weight = 1.0f / fmaxf(1.0f, fabsf(e));
          const size_t at = (size_t)y * w + x;
          acc[at] += weight * u;
          acc[plane + at] += weight * v;
          acc[2 * plane + at] += weight;
        }
    }
  for (size_t i = 0; i < plane; i++) {
    if (acc[2 * plane + i] > 0.0f) {
      flow[i] = acc[i] / acc[2 * plane + i];
      flow[plane + i] = acc[plane + i] / acc[2 * plane + i];
    }
  }
  free(ox);
  free(oy);
  free(acc);
  free(uv);
  return MV_OK;
}

mv_status mv_optical_flow(const float *from, const float *to, int width, int height,
                          const mv_flow_options *options, float *flow) {
  static const char fn[] = "mv_optical_flow";
  MV_CHECK_ARG(from && to && flow, "%s: NULL argument", fn);
  MV_CHECK_ARG(width >= 1 && height >= 1 && (size_t)width * height <= ((size_t)1 << 28),
               "%s: size %dx%d, expected 1x1 .. 2^28 pixels", fn, width, height);
  mv_flow_options o;
  if (options) {
    o = *options;
  } else {
    mv_flow_options_default(&o);
  }
  MV_TRY(mv_flow_options_check(&o, fn));
  int levels = o.levels;
  if (levels == 0) {
    levels = 1;
    int w = width, h = height;
    while (levels < MAX_LEVELS && (w / 2 < h / 2 ? w / 2 : h / 2) >= o.patch) {
      w /= 2, h /= 2;
      levels++;
    }
  }
  /* Pyramids of both images: level l is (width >> l) x (height >> l). */
  const float *pyr[2][MAX_LEVELS];
  float *owned[2][MAX_LEVELS] = {{NULL}};
  int lw[MAX_LEVELS], lh[MAX_LEVELS];
  mv_status s = MV_OK;
  pyr[0][0] = from, pyr[1][0] = to, lw[0] = width, lh[0] = height;
  for (int l = 1; l < levels; l++) {
    lw[l] = lw[l - 1] / 2, lh[l] = lh[l - 1] / 2;
    if (lw[l] < 1 || lh[l] < 1) {
      levels = l;
      break;
    }
    for (int i = 0; i < 2; i++) {
      owned[i][l] = malloc((size_t)lw[l] * lh[l] * sizeof(float));
      if (!owned[i][l]) s = mv_fail(MV_E_MEMORY, "%s: out of memory for the pyramid", fn);
      else downsample(pyr[i][l - 1], lw[l - 1], lh[l - 1], owned[i][l]);
      pyr[i][l] = owned[i][l];
    }
    if (s != MV_OK) break;
  }
  /* Coarse to fine; `level_buf` holds the current level's flow. */
  float *current = NULL;
  for (int l = levels - 1; s == MV_OK && l >= 0; l--) {
    const size_t plane = (size_t)lw[l] * lh[l];
    float *next = l == 0 ? flow : malloc(2 * plane * sizeof(float));
    if (!next) {
      s = mv_fail(MV_E_MEMORY, "%s: out of memory for a flow level", fn);
      break;
    }
    if (!current) {
      memset(next, 0, 2 * plane * sizeof(float));
    } else {
      /* The coarser flow, upsampled (pixel centres) and doubled. */
      const int cw = lw[l + 1], ch = lh[l + 1];
      for (int c = 0; c < 2; c++)
        for (int y = 0; y < lh[l]; y++)
          for (int x = 0; x < lw[l]; x++)
            next[c * plane + (size_t)y * lw[l] + x] =
                2.0f * sample(current + (size_t)c * cw * ch, cw, ch, 0.5f * (float)x - 0.25f,
                              0.5f * (float)y - 0.25f);
      free(current);
    }
    current = next;
    /* Levels finer than `finest` only upsample (DIS's finest scale). */
    if (l >= o.finest || (l == levels - 1 && o.finest >= levels))
      s = level_flow(pyr[0][l], pyr[1][l], lw[l], lh[l], &o, current);
  }
  if (current && current != flow) free(current);
  for (int l = 1; l < MAX_LEVELS; l++) {
    free(owned[0][l]);
    free(owned[1][l]);
  }
  return s;
}

mv_status mv_flow_consistency(const float *forward, const float *backward, int width, int height,
                              float *valid) {
  MV_CHECK_ARG(forward && backward && valid, "mv_flow_consistency: NULL argument");
  MV_CHECK_ARG(width >= 1 && height >= 1, "mv_flow_consistency: size %dx%d, expected >= 1x1",
               width, height);
  const size_t plane = (size_t)width * height;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const size_t i = (size_t)y * width + x;
      const float fx = forward[i], fy = forward[plane + i];
      const float tx = (float)x + fx, ty = (float)y + fy;
      if (!(tx >= 0.0f && tx <= (float)(width - 1) && ty >= 0.0f && ty <= (float)(height - 1))) {
        valid[i] = 0.0f;
        continue;
      }
      const float bx = sample(backward, width, height, tx, ty);
      const float by = sample(backward + plane, width, height, tx, ty);
      const float ex = fx + bx, ey = fy + by;
      const float bound = 0.01f * (fx * fx + fy * fy + bx * bx + by * by) + 0.5f;
      valid[i] = ex * ex + ey * ey <= bound ? 1.0f : 0.0f;
    }
  return MV_OK;
}

mv_status mv_flow_warp(const float *in, int planes, const float *flow, int width, int height,
                       float *out) {
  MV_CHECK_ARG(in && flow && out, "mv_flow_warp: NULL argument");
  MV_CHECK_ARG(width >= 1 && height >= 1 && planes >= 1,
               "mv_flow_warp: size %dx%d with %d planes, expected >= 1x1 and >= 1 plane", width,
               height, planes);
  const size_t plane = (size_t)width * height;
  for (int c = 0; c < planes; c++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        const size_t i = (size_t)y * width + x;
        out[c * plane + i] = sample(in + c * plane, width, height, (float)x + flow[i],
                                    (float)y + flow[plane + i]);
      }
  return MV_OK;
}
