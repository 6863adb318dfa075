#include "interaction/raster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static mv_status check_map(const char *fn, const void *map, int width, int height) {
  MV_CHECK_ARG(map, "%s: NULL map", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: map size %dx%d must be positive", fn, width,
               height);
  return MV_OK;
}

static mv_status check_points(const char *fn, const float *xy, int count, int min_count) {
  MV_CHECK_ARG(xy, "%s: NULL points", fn);
  MV_CHECK_ARG(count >= min_count, "%s: %d points, expected at least %d", fn, count, min_count);
  for (int i = 0; i < 2 * count; i++)
    MV_CHECK_ARG(isfinite(xy[i]), "%s: point %d has a non-finite coordinate", fn, i / 2);
  return MV_OK;
}

/* [*a, *b] clipped to 0..n-1; 0 when nothing is left (also for NaN). Called
 * before any conversion to int: far-off coordinates (1e38 in a rounds file)
 * would not fit. */
static int clip_span(double *a, double *b, int n) {
  if (*a < 0) *a = 0;
  if (*b > n - 1) *b = n - 1;
  return *a <= *b;
}

/* Writes value into row y for the pixel centres x in [lo, hi] (closed). */
static void fill_row_closed(uint8_t *row, int width, double lo, double hi, uint8_t value) {
  double a = ceil(lo), b = floor(hi);
  if (!clip_span(&a, &b, width)) return;
  for (int x = (int)a; x <= (int)b; x++) row[x] = value;
}

/* Interval of x with lo <= a * x + b <= hi, intersected into [*xl, *xh]. */
static void clip_linear(double a, double b, double lo, double hi, double *xl, double *xh) {
  if (fabs(a) < 1e-12) {
    if (b < lo || b > hi) *xl = INFINITY, *xh = -INFINITY;
    return;
  }
  double u = (lo - b) / a, v = (hi - b) / a;
  if (u > v) {
    double t = u;
    u = v;
    v = t;
  }
  if (u > *xl) *xl = u;
  if (v < *xh) *xh = v;
}

/* The capsule (segment A-B dilated by r) is convex, so each row meets it in
 * one interval: the union of the rows' intervals through the two end disks
 * and through the band around the segment. */
static void capsule(uint8_t *map, int width, int height, double ax, double ay, double bx,
                    double by, double r, uint8_t value) {
  double y_lo = ceil(fmin(ay, by) - r), y_hi = floor(fmax(ay, by) + r);
  if (!clip_span(&y_lo, &y_hi, height)) return;
  double len = hypot(bx - ax, by - ay);
  double ux = len > 0 ? (bx - ax) / len : 0, uy = len > 0 ? (by - ay) / len : 0;
  const double eps = 1e-9; /* keeps centres exactly on the outline inside */
  for (int y = (int)y_lo; y <= (int)y_hi; y++) {
    double lo = INFINITY, hi = -INFINITY;
    double dy = y - ay, d2 = r * r - dy * dy;
    if (d2 >= -eps) {
      double h = sqrt(fmax(d2, 0));
      lo = fmin(lo, ax - h), hi = fmax(hi, ax + h);
    }
    dy = y - by, d2 = r * r - dy * dy;
    if (d2 >= -eps) {
      double h = sqrt(fmax(d2, 0));
      lo = fmin(lo, bx - h), hi = fmax(hi, bx + h);
    }
    if (len > 0) {
      /* along = (x - ax) ux + (y - ay) uy in [0, len];
       * across = -(x - ax) uy + (y - ay) ux in [-r, r]. */
      double xl = -INFINITY, xh = INFINITY;
      clip_linear(ux, -ax * ux + (y - ay) * uy, 0, len, &xl, &xh);
      clip_linear(-uy, ax * uy + (y - ay) * ux, -r - eps, r + eps, &xl, &xh);
      if (xl <= xh) lo = fmin(lo, xl), hi = fmax(hi, xh);
    }
    if (lo <= hi) fill_row_closed(map + (size_t)y * width, width, lo - eps, hi + eps, value);
  }
}

mv_status mv_raster_polyline(uint8_t *map, int width, int height, const float *xy, int count,
                             float thickness, uint8_t value) {
  MV_TRY(check_map("mv_raster_polyline", map, width, height));
  MV_TRY(check_points("mv_raster_polyline", xy, count, 1));
  MV_CHECK_ARG(isfinite(thickness) && thickness > 0,
               "mv_raster_polyline: thickness %g must be positive", thickness);
  double r = thickness / 2.0;
  if (count == 1) {
    capsule(map, width, height, xy[0], xy[1], xy[0], xy[1], r, value);
    return MV_OK;
  }
  for (int i = 0; i + 1 < count; i++)
    capsule(map, width, height, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], r, value);
  return MV_OK;
}

mv_status mv_raster_disk(uint8_t *map, int width, int height, float cx, float cy, float radius,
                         uint8_t value) {
  MV_TRY(check_map("mv_raster_disk", map, width, height));
  MV_CHECK_ARG(isfinite(cx) && isfinite(cy), "mv_raster_disk: non-finite centre");
  MV_CHECK_ARG(isfinite(radius) && radius >= 0, "mv_raster_disk: radius %g must be >= 0",
               radius);
  capsule(map, width, height, cx, cy, cx, cy, radius, value);
  return MV_OK;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

mv_status mv_raster_polygon(uint8_t *map, int width, int height, const float *xy, int count,
                            uint8_t value) {
  MV_TRY(check_map("mv_raster_polygon", map, width, height));
  MV_TRY(check_points("mv_raster_polygon", xy, count, 3));
  double y_min = xy[1], y_max = xy[1];
  for (int i = 1; i < count; i++) y_min = fmin(y_min, xy[2 * i + 1]), y_max = fmax(y_max, xy[2 * i + 1]);
  double *crossings = malloc((size_t)count * sizeof *crossings);
  if (!crossings) return mv_fail(MV_E_MEMORY, "mv_raster_polygon: out of memory (%d vertices)", count);
  double y_lo = ceil(y_min), y_hi = floor(y_max);
  int rows = clip_span(&y_lo, &y_hi, height);
  for (int y = (int)y_lo; rows && y <= (int)y_hi; y++) {
    int n = 0;
    for (int i = 0; i < count; i++) {
      int j = (i + 1) % count;
      double ax = xy[2 * i], ay = xy[2 * i + 1], bx = xy[2 * j], by = xy[2 * j + 1];
      /* Half-open in y: an edge counts for ay <= y < by (or the reverse),
       * so shared vertices count once and horizontal edges never. */
      if ((ay <= y && y < by) || (by <= y && y < ay))
        crossings[n++] = ax + (y - ay) * (bx - ax) / (by - ay);
    }
    qsort(crossings, (size_t)n, sizeof *crossings, compare_double);
    uint8_t *row = map + (size_t)y * width;
    /* Even-odd: spans between crossing pairs, centres in [left, right). */
    for (int k = 0; k + 1 < n; k += 2) {
      double a = ceil(crossings[k]), b = ceil(crossings[k + 1]) - 1;
      if (!clip_span(&a, &b, width)) continue;
      for (int x = (int)a; x <= (int)b; x++) row[x] = value;
    }
  }
  free(crossings);
  return MV_OK;
}

/* ---- DAVIS scribble JSON ------------------------------------------------- */

static void stamp(int16_t *labels, int width, int height, int x, int y, int thickness,
                  int16_t value) {
  int lo = -(thickness - 1) / 2, hi = thickness / 2;
  for (int dy = lo; dy <= hi; dy++) {
    int yy = y + dy;
    if (yy < 0 || yy >= height) continue;
    for (int dx = lo; dx <= hi; dx++) {
      int xx = x + dx;
      if (xx >= 0 && xx < width) labels[(size_t)yy * width + xx] = value;
    }
  }
}

/* The DAVIS tools' Bresenham: both end points, minor step when D >= 0. */
static void bresenham(int16_t *labels, int width, int height, int x0, int y0, int x1, int y1,
                      int thickness, int16_t value) {
  int dx = x1 - x0, dy = y1 - y0;
  int sx = dx > 0 ? 1 : -1, sy = dy > 0 ? 1 : -1;
  dx = abs(dx), dy = abs(dy);
  int xx, xy, yx, yy;
  if (dx > dy) {
    xx = sx, xy = 0, yx = 0, yy = sy;
  } else {
    int t = dx;
    dx = dy, dy = t;
    xx = 0, xy = sy, yx = sx, yy = 0;
  }
  long d = 2L * dy - dx;
  int minor = 0;
  for (int major = 0; major <= dx; major++) {
    stamp(labels, width, height, x0 + major * xx + minor * yx, y0 + major * xy + minor * yy,
          thickness, value);
    if (d >= 0) {
      minor++;
      d -= 2L * dx;
    }
    d += 2L * dy;
  }
}

static int to_pixel(double v, int size) {
  double p = v * (size - 1);
  if (!(p > 0)) return 0; /* also NaN; int() truncates towards zero */
  if (p >= size - 1) return size - 1;
  return (int)p;
}

mv_status mv_scribbles_from_davis_json(const mv_json *root, int frame, int width, int height,
                                       int thickness, int16_t *labels) {
  static const char *fn = "mv_scribbles_from_davis_json";
  MV_CHECK_ARG(root && labels, "%s: NULL argument", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: frame size %dx%d must be positive", fn, width,
               height);
  MV_CHECK_ARG(thickness >= 1 && thickness <= 255, "%s: thickness %d, expected 1..255", fn,
               thickness);
  const mv_json *frames = mv_json_get(root, "scribbles");
  if (!frames || frames->type != MV_JSON_ARRAY)
    return mv_fail(MV_E_FORMAT, "%s: no \"scribbles\" array in the scribble JSON", fn);
  MV_CHECK_ARG(frame >= 0 && (size_t)frame < frames->count,
               "%s: frame %d, the scribbles have %zu frames", fn, frame, frames->count);
  const mv_json *strokes = &frames->items[frame];
  if (strokes->type != MV_JSON_ARRAY)
    return mv_fail(MV_E_FORMAT, "%s: scribbles[%d] is not an array of strokes", fn, frame);
  /* Validate everything before drawing, so a bad file leaves labels as -1. */
  for (size_t s = 0; s < strokes->count; s++) {
    const mv_json *stroke = &strokes->items[s];
    const mv_json *path = mv_json_get(stroke, "path");
    const mv_json *id = mv_json_get(stroke, "object_id");
    if (!path || path->type != MV_JSON_ARRAY)
      return mv_fail(MV_E_FORMAT, "%s: scribbles[%d][%zu] has no \"path\" array", fn, frame, s);
    if (!id || id->type != MV_JSON_NUMBER || id->number != floor(id->number) ||
        id->number < 0 || id->number > 32767)
      return mv_fail(MV_E_FORMAT, "%s: scribbles[%d][%zu].object_id is not an integer 0..32767",
                     fn, frame, s);
    for (size_t p = 0; p < path->count; p++) {
      const mv_json *pt = &path->items[p];
      if (pt->type != MV_JSON_ARRAY || pt->count < 2 || pt->items[0].type != MV_JSON_NUMBER ||
          pt->items[1].type != MV_JSON_NUMBER)
        return mv_fail(MV_E_FORMAT, "%s: scribbles[%d][%zu].path[%zu] is not [x, y]", fn, frame,
                       s, p);
    }
  }
  for (size_t i = 0; i < (size_t)width * height; i++) labels[i] = -1;
  for (size_t s = 0; s < strokes->count; s++) {
    const mv_json *path = mv_json_get(&strokes->items[s], "path");
    int16_t id = (int16_t)mv_json_get(&strokes->items[s], "object_id")->number;
    int px = 0, py = 0;
    for (size_t p = 0; p < path->count; p++) {
      int x = to_pixel(path->items[p].items[0].number, width);
      int y = to_pixel(path->items[p].items[1].number, height);
      if (p == 0)
        stamp(labels, width, height, x, y, thickness, id);
      else
        bresenham(labels, width, height, px, py, x, y, thickness, id);
      px = x, py = y;
    }
  }
  return MV_OK;
}

mv_status mv_scribbles_split(const int16_t *labels, int width, int height, int object,
                             uint8_t *positive, uint8_t *negative) {
  MV_CHECK_ARG(labels, "mv_scribbles_split: NULL labels");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_scribbles_split: size %dx%d must be positive", width,
               height);
  MV_CHECK_ARG(object >= 1, "mv_scribbles_split: object %d, expected >= 1", object);
  size_t n = (size_t)width * height;
  for (size_t i = 0; i < n; i++) {
    if (positive) positive[i] = labels[i] == object;
    if (negative) negative[i] = labels[i] != object && labels[i] != -1;
  }
  return MV_OK;
}
