/* An object's own displacement as a second flow candidate (object_shift.h). */
#include "propagation/object_shift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "propagation/optical_flow.h"

enum {
  MAX_SAMPLES = 800, /* object cells matched per shift at half resolution */
  PATCH_RADIUS = 2,  /* the merge compares 5x5 patches */
  PATCH_CELLS = (2 * PATCH_RADIUS + 1) * (2 * PATCH_RADIUS + 1)
};
/* The candidate replaces DIS's flow on a cell only when it matches clearly
 * better: by MARGIN units (of the channels' sum) per cell of the 5x5
 * patch, and only when DIS's mean displacement over the object is farther
 * than AGREE cells from it. Measured on the 10 DAVIS 2016 sequences
 * (`mivos eval`, final J&F, on L alone): with neither check 0.781 (cows
 * 0.875 -> 0.861, scooter-black 0.778 -> 0.732: the one translation took
 * the legs and wheels from a correct DIS flow), with both 0.788; MARGIN 2
 * also 0.788. */
static const float MARGIN = 1.0f, AGREE = 1.5f;

/* 2x2 means (odd last row / column dropped). */
static void halve(const float *in, int planes, int w, int h, float *out) {
  int w2 = w / 2, h2 = h / 2;
  for (int c = 0; c < planes; c++)
    for (int y = 0; y < h2; y++)
      for (int x = 0; x < w2; x++) {
        const float *p = in + (size_t)c * w * h + (size_t)(2 * y) * w + 2 * x;
        out[(size_t)c * w2 * h2 + (size_t)y * w2 + x] = 0.25f * (p[0] + p[1] + p[w] + p[w + 1]);
      }
}

/* The best shift of the listed cells (indices into a w x h plane, their
 * columns xs and rows ys) within
 * [cx - r, cx + r] x [cy - r, cy + r]: mean |frame(y) - query(y - s)| over
 * the cells whose y - s is inside, plus a small cost per cell of shift so
 * that a flat object keeps still. Returns 0 when no shift keeps half of
 * the cells inside. */
static int best_shift(const float *query, const float *frame, int channels, int w, int h,
                      const int *cells, const int *xs, const int *ys, int n, int cx, int cy,
                      int r, float per_cell, int *bx, int *by) {
  const size_t plane = (size_t)w * h;
  float best = INFINITY;
  for (int sy = cy - r; sy <= cy + r; sy++)
    for (int sx = cx - r; sx <= cx + r; sx++) {
      float sum = 0.0f;
      int inside = 0;
      for (int i = 0; i < n; i++) {
        int qy = ys[i] - sy, qx = xs[i] - sx;
        if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
        for (int c = 0; c < channels; c++)
          sum += fabsf(frame[c * plane + cells[i]] - query[c * plane + (size_t)qy * w + qx]);
        inside++;
      }
      if (2 * inside < n) continue;
      float cost = sum / inside + per_cell * (float)(abs(sx) + abs(sy));
      if (cost < best) best = cost, *bx = sx, *by = sy;
    }
  return isfinite(best);
}

/* Up to `most` cells of the mask (> 0.5), evenly spaced in raster order,
 * with their columns xs and rows ys in a plane `width` wide. */
static int object_cells(const float *mask, size_t plane, int width, int most, int *cells, int *xs,
                        int *ys) {
  size_t count = 0;
  for (size_t i = 0; i < plane; i++) count += mask[i] > 0.5f;
  size_t step = count > (size_t)most ? (count + most - 1) / most : 1;
  int n = 0;
  size_t seen = 0;
  for (size_t i = 0; i < plane; i++)
    if (mask[i] > 0.5f && seen++ % step == 0) {
      cells[n] = (int)i, xs[n] = (int)(i % width), ys[n] = (int)(i / width);
      n++;
    }
  return n;
}

mv_status mv_object_shift(const float *query, const float *frame, int channels, const float *mask,
                          int width, int height, int range, int *dx, int *dy, int *found) {
  MV_CHECK_ARG(query && frame && mask && dx && dy && found && width > 0 && height > 0 &&
                   range >= 0 && channels >= 1,
               "mv_object_shift: NULL argument, empty plane, no channel or negative range");
  *dx = *dy = *found = 0;
  const int w2 = width / 2, h2 = height / 2;
  const size_t plane = (size_t)width * height, plane2 = (size_t)w2 * h2;
  if (w2 < 2 || h2 < 2) return MV_OK;
  float *half = malloc((2 * (size_t)channels + 1) * plane2 * sizeof(float));
  int *cells = malloc(3 * 4 * MAX_SAMPLES * sizeof(int));
  int *xs = cells + 4 * MAX_SAMPLES, *ys = cells + 8 * MAX_SAMPLES; /* cells' coordinates */
  if (!half || !cells) {
    free(half), free(cells);
    return mv_fail(MV_E_MEMORY, "mv_object_shift: out of memory for %zu cells", plane);
  }
  float *q2 = half, *f2 = half + channels * plane2, *m2 = half + 2 * channels * plane2;
  halve(query, channels, width, height, q2);
  halve(frame, channels, width, height, f2);
  halve(mask, 1, width, height, m2);
  int n = object_cells(m2, plane2, w2, MAX_SAMPLES, cells, xs, ys), sx = 0, sy = 0;
  if (n >= 4 && best_shift(q2, f2, channels, w2, h2, cells, xs, ys, n, 0, 0, (range + 1) / 2,
                             0.02f, &sx, &sy)) {
    n = object_cells(mask, plane, width, 4 * MAX_SAMPLES, cells, xs, ys);
    int fx = 2 * sx, fy = 2 * sy;
    if (n >= 4 &&
        best_shift(query, frame, channels, width, height, cells, xs, ys, n, fx, fy, 2, 0.01f, &fx,
                   &fy))
      *dx = fx, *dy = fy, *found = 1;
  }
  free(half);
  free(cells);
  return MV_OK;
}

/* Sums over 2r+1 elements (clipped at the ends) along `lines` lines of
 * `length` elements, `step` apart within a line and `stride` apart between
 * lines: a row pass or a column pass of box_sum. */
static void box_pass(const float *in, float *out, int lines, int length, size_t stride,
                     size_t step, int r) {
  for (int l = 0; l < lines; l++)
    for (int i = 0; i < length; i++) {
      float s = 0.0f;
      for (int j = i - r; j <= i + r; j++)
        if (j >= 0 && j < length) s += in[l * stride + j * step];
      out[l * stride + i * step] = s;
    }
}

/* Sums over a (2r+1) x (2r+1) window (clipped at the borders), in place. */
static void box_sum(float *p, int w, int h, int r, float *tmp) {
  box_pass(p, tmp, h, w, (size_t)w, 1, r);
  box_pass(tmp, p, w, h, 1, (size_t)w, r);
}

mv_status mv_flow_merge_shift(const float *query, const float *frame, int channels,
                              const float *mask, int width, int height, int dx, int dy, int grow,
                              float *flow) {
  MV_CHECK_ARG(query && frame && mask && flow && width > 0 && height > 0 && grow >= 0 &&
                   channels >= 1,
               "mv_flow_merge_shift: NULL argument, empty plane, no channel or negative growth");
  const size_t plane = (size_t)width * height;
  float *buf = malloc((3 + (size_t)(channels > 2 ? channels : 2)) * plane * sizeof(float));
  if (!buf) return mv_fail(MV_E_MEMORY, "mv_flow_merge_shift: out of memory for %zu cells", plane);
  float *region = buf, *cost_flow = buf + plane, *cost_shift = buf + 2 * plane,
        *tmp = buf + 3 * plane; /* the warp's output (channels planes), then box_sum's */
  /* the object moved into the query's geometry, grown */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      int fx = x + dx, fy = y + dy;
      int in = fx >= 0 && fy >= 0 && fx < width && fy < height;
      region[(size_t)y * width + x] = in && mask[(size_t)fy * width + fx] > 0.5f ? 1.0f : 0.0f;
    }
  box_sum(region, width, height, grow, tmp);
  mv_status s = mv_flow_warp(frame, channels, flow, width, height, tmp);
  if (s == MV_OK) {
    memset(cost_flow, 0, 2 * plane * sizeof(float)); /* and cost_shift */
    for (int c = 0; c < channels; c++)
      for (size_t i = 0; i < plane; i++)
        cost_flow[i] += fabsf(query[c * plane + i] - tmp[c * plane + i]);
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        int fx = x + dx, fy = y + dy;
        fx = fx < 0 ? 0 : fx >= width ? width - 1 : fx;
        fy = fy < 0 ? 0 : fy >= height ? height - 1 : fy;
        size_t i = (size_t)y * width + x;
        for (int c = 0; c < channels; c++)
          cost_shift[i] += fabsf(query[c * plane + i] - frame[c * plane + (size_t)fy * width + fx]);
      }
    box_sum(cost_flow, width, height, PATCH_RADIUS, tmp);
    box_sum(cost_shift, width, height, PATCH_RADIUS, tmp);
    float *fx = flow, *fy = flow + plane;
    /* DIS's mean displacement over the shifted object: when it agrees, keep it */
    double sx = 0, sy = 0;
    size_t n = 0;
    for (size_t i = 0; i < plane; i++)
      if (region[i] > 0.0f) sx += fx[i], sy += fy[i], n++;
    if (n && hypot(sx / n - dx, sy / n - dy) > AGREE)
      for (size_t i = 0; i < plane; i++)
        if (region[i] > 0.0f && cost_shift[i] + PATCH_CELLS * MARGIN < cost_flow[i])
          fx[i] = (float)dx, fy[i] = (float)dy;
  }
  free(buf);
  return s;
}
