/* Disk footprints (skimage.morphology.disk, also for fractional radii) and
 * binary minimum/maximum filters over them. A binary filter only needs to
 * know whether a run of pixels is all set (minimum) or has any set pixel
 * (maximum), so each footprint row costs one lookup in per-row prefix sums:
 * O(n) per pixel instead of O(n^2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval/eval_internal.h"

enum { MAX_DISK_RADIUS = 4096 };

mv_status mv_disk_make(double radius, mv_disk *out) {
  MV_CHECK_ARG(out, "mv_disk_make: out is NULL");
  memset(out, 0, sizeof *out);
  MV_CHECK_ARG(isfinite(radius) && radius >= 0 && radius <= MAX_DISK_RADIUS,
               "mv_disk_make: radius %g is not in [0, %d]", radius, MAX_DISK_RADIUS);
  /* np.arange(-r, r + 1): length ceil((r + 1) - (-r)), values start + i*delta
   * with delta = (start + 1) - start, exactly as numpy fills it. */
  double start = -radius;
  double delta = (start + 1.0) - start;
  int n = (int)ceil((radius + 1.0) - start);
  if (n < 1) n = 1;
  int *lo = malloc((size_t)n * sizeof *lo), *hi = malloc((size_t)n * sizeof *hi);
  double *c = malloc((size_t)n * sizeof *c);
  if (!lo || !hi || !c) {
    free(lo), free(hi), free(c);
    return mv_fail(MV_E_MEMORY, "mv_disk_make: out of memory for radius %g", radius);
  }
  for (int i = 0; i < n; i++) c[i] = start + i * delta;
  double r2 = radius * radius;
  int cells = 0;
  for (int i = 0; i < n; i++) {
    lo[i] = n, hi[i] = -1;
    for (int j = 0; j < n; j++) {
      /* X**2 + Y**2 with X the column coordinate, as meshgrid gives it. */
      if (c[j] * c[j] + c[i] * c[i] <= r2) {
        if (j < lo[i]) lo[i] = j;
        hi[i] = j;
        cells++;
      }
    }
  }
  free(c);
  out->n = n;
  out->origin = n / 2;
  out->lo = lo;
  out->hi = hi;
  out->cells = cells;
  return MV_OK;
}

void mv_disk_release(mv_disk *disk) {
  if (!disk) return;
  free(disk->lo);
  free(disk->hi);
  memset(disk, 0, sizeof *disk);
}

/* prefix[y * (w + 1) + x] = set pixels of row y in columns 0..x-1. */
static uint32_t *row_prefix_sums(const uint8_t *in, int width, int height) {
  size_t stride = (size_t)width + 1;
  uint32_t *prefix = malloc(stride * (size_t)height * sizeof *prefix);
  if (!prefix) return NULL;
  for (int y = 0; y < height; y++) {
    uint32_t *p = prefix + (size_t)y * stride;
    const uint8_t *row = in + (size_t)y * width;
    p[0] = 0;
    for (int x = 0; x < width; x++) p[x + 1] = p[x] + (row[x] != 0);
  }
  return prefix;
}

static mv_status check_filter_args(const char *fn, const void *in, int width, int height,
                                   const mv_disk *disk, const void *out) {
  MV_CHECK_ARG(in && out, "%s: %s is NULL", fn, in ? "out" : "in");
  MV_CHECK_ARG(width > 0 && height > 0, "%s: size %d x %d is not positive", fn, width, height);
  MV_CHECK_ARG(disk && disk->lo && disk->hi && disk->n > 0, "%s: disk is NULL or empty", fn);
  return MV_OK;
}

/* Value of the clipped window at (y, x): min (all set) or max (any set). */
static inline int window_value(const uint32_t *prefix, size_t stride, int width, int height,
                               const mv_disk *disk, int y, int x, int want_min) {
  int seen = 0;
  for (int i = 0; i < disk->n; i++) {
    if (disk->lo[i] > disk->hi[i]) continue;
    int yy = y + i - disk->origin;
    if (yy < 0 || yy >= height) continue;
    int xa = x + disk->lo[i] - disk->origin, xb = x + disk->hi[i] - disk->origin;
    if (xa < 0) xa = 0;
    if (xb >= width) xb = width - 1;
    if (xa > xb) continue;
    const uint32_t *p = prefix + (size_t)yy * stride;
    uint32_t set = p[xb + 1] - p[xa];
    seen = 1;
    if (want_min) {
      if (set != (uint32_t)(xb - xa + 1)) return 0;
    } else if (set) {
      return 1;
    }
  }
  /* min over a non-empty window that never failed is 1; an empty window is 0. */
  return want_min ? seen : 0;
}

mv_status mv_disk_filter(const uint8_t *in, int width, int height, const mv_disk *disk,
                         int want_min, uint8_t *out) {
  MV_TRY(check_filter_args("mv_disk_filter", in, width, height, disk, out));
  uint32_t *prefix = row_prefix_sums(in, width, height);
  if (!prefix)
    return mv_fail(MV_E_MEMORY, "mv_disk_filter: out of memory for %d x %d", width, height);
  size_t stride = (size_t)width + 1;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      out[(size_t)y * width + x] =
          (uint8_t)window_value(prefix, stride, width, height, disk, y, x, want_min);
  free(prefix);
  return MV_OK;
}

mv_status mv_disk_opening(const uint8_t *in, int width, int height, double radius,
                          uint8_t *out) {
  MV_CHECK_ARG(in && out, "mv_disk_opening: %s is NULL", in ? "out" : "in");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_disk_opening: size %d x %d is not positive", width,
               height);
  mv_disk disk;
  MV_TRY(mv_disk_make(radius, &disk));
  size_t count = (size_t)width * height;
  uint8_t *eroded = malloc(count);
  if (!eroded) {
    mv_disk_release(&disk);
    return mv_fail(MV_E_MEMORY, "mv_disk_opening: out of memory for %d x %d", width, height);
  }
  mv_status s = mv_disk_filter(in, width, height, &disk, 1, eroded);
  if (s == MV_OK) {
    size_t any = 0;
    for (size_t i = 0; i < count && !any; i++) any = eroded[i];
    /* Dilating an empty erosion gives nothing: skip the second pass. */
    if (any)
      s = mv_disk_filter(eroded, width, height, &disk, 0, out);
    else
      memset(out, 0, count);
  }
  free(eroded);
  mv_disk_release(&disk);
  return s;
}

mv_status mv_disk_hits(const uint8_t *a, const uint8_t *b, int width, int height,
                       const mv_disk *disk, size_t *hits) {
  MV_TRY(check_filter_args("mv_disk_hits", a, width, height, disk, hits));
  MV_CHECK_ARG(b, "mv_disk_hits: b is NULL");
  *hits = 0;
  uint32_t *prefix = row_prefix_sums(b, width, height);
  if (!prefix)
    return mv_fail(MV_E_MEMORY, "mv_disk_hits: out of memory for %d x %d", width, height);
  size_t stride = (size_t)width + 1, n = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (a[(size_t)y * width + x])
        n += (size_t)window_value(prefix, stride, width, height, disk, y, x, 0);
  free(prefix);
  *hits = n;
  return MV_OK;
}
