/* The "local" backend: the official GUI's local control. The inner backend
 * runs on a crop around a box (grown by a margin for context, clamped to the
 * frame); the box part of its result is stitched back into the previous
 * mask without a 3-pixel border,
 * because results near a crop's edge lack context (the official
 * LocalInteraction trims the same 3 pixels on every side, frame edge or
 * not, when the region is larger than 7 x 7, and stitches it whole
 * otherwise). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/interactor.h"

enum { TRIM = 3 };

typedef struct local {
  mv_interactor inner;
  int x0, y0, x1, y1, margin;
} local;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static mv_status local_run(void *self, const mv_interaction_input *in, float *out) {
  static const char *fn = "local interactor";
  local *l = self;
  MV_TRY(mv_interaction_input_check(in, out, fn));
  const int W = in->width, H = in->height;
  if (l->x1 >= W || l->y1 >= H)
    return mv_fail(MV_E_ARGUMENT, "%s: box x %d..%d, y %d..%d lies outside the %dx%d frame", fn,
                   l->x0, l->x1, l->y0, l->y1, W, H);
  /* Crop bounds, inclusive. */
  int cx0 = clampi(l->x0 - l->margin, 0, W - 1), cx1 = clampi(l->x1 + l->margin, 0, W - 1);
  int cy0 = clampi(l->y0 - l->margin, 0, H - 1), cy1 = clampi(l->y1 + l->margin, 0, H - 1);
  const int cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1;
  const size_t cn = (size_t)cw * ch;

  uint8_t *rgb = malloc(cn * 3), *pos = in->positive ? malloc(cn) : NULL;
  uint8_t *neg = in->negative ? malloc(cn) : NULL;
  float *prev = in->previous ? malloc(cn * sizeof *prev) : NULL;
  float *result = malloc(cn * sizeof *result);
  mv_status s = MV_OK;
  if (!rgb || !result || (in->positive && !pos) || (in->negative && !neg) ||
      (in->previous && !prev))
    s = mv_fail(MV_E_MEMORY, "%s: out of memory (%dx%d crop)", fn, cw, ch);
  if (s == MV_OK) {
    for (int y = 0; y < ch; y++) {
      size_t src = (size_t)(cy0 + y) * W + cx0, dst = (size_t)y * cw;
      memcpy(rgb + 3 * dst, in->rgb + 3 * src, (size_t)cw * 3);
      if (pos) memcpy(pos + dst, in->positive + src, (size_t)cw);
      if (neg) memcpy(neg + dst, in->negative + src, (size_t)cw);
      if (prev) memcpy(prev + dst, in->previous + src, (size_t)cw * sizeof *prev);
    }
    mv_interaction_input crop = {rgb, cw, ch, prev, pos, neg};
    s = mv_interactor_run(&l->inner, &crop, result);
    if (s != MV_OK) s = mv_fail_context(s, "%s: inner backend on the %dx%d crop", fn, cw, ch);
  }
  if (s == MV_OK) {
    if (in->previous)
      memcpy(out, in->previous, (size_t)W * H * sizeof *out);
    else
      memset(out, 0, (size_t)W * H * sizeof *out);
    /* Only the box goes back (the margin is context), less the trim. */
    int t = (l->x1 - l->x0 > 2 * TRIM && l->y1 - l->y0 > 2 * TRIM) ? TRIM : 0;
    int bx0 = l->x0 + t, bx1 = l->x1 - t;
    for (int y = l->y0 + t; y <= l->y1 - t; y++)
      memcpy(out + (size_t)y * W + bx0, result + (size_t)(y - cy0) * cw + (bx0 - cx0),
             (size_t)(bx1 - bx0 + 1) * sizeof *out);
  }
  free(rgb);
  free(pos);
  free(neg);
  free(prev);
  free(result);
  return s;
}

static void local_destroy(void *self) {
  local *l = self;
  if (!l) return;
  mv_interactor_destroy(&l->inner);
  free(l);
}

static const mv_interactor_ops local_ops = {local_run, local_destroy};

mv_status mv_interactor_local(mv_interactor inner, int x0, int y0, int x1, int y1, int margin,
                              mv_interactor *out) {
  static const char *fn = "mv_interactor_local";
  mv_status s = MV_OK;
  if (!out)
    s = mv_fail(MV_E_ARGUMENT, "%s: NULL output", fn);
  else if (!inner.ops || !inner.ops->run)
    s = mv_fail(MV_E_ARGUMENT, "%s: inner interactor is empty", fn);
  else if (x0 < 0 || y0 < 0 || x1 < x0 || y1 < y0 || x1 > 1 << 20 || y1 > 1 << 20)
    s = mv_fail(MV_E_ARGUMENT,
                "%s: box x %d..%d, y %d..%d, expected 0 <= x0 <= x1 and 0 <= y0 <= y1", fn, x0,
                x1, y0, y1);
  else if (margin < 0 || margin > 1 << 20)
    s = mv_fail(MV_E_ARGUMENT, "%s: margin %d, expected 0..%d", fn, margin, 1 << 20);
  local *l = NULL;
  if (s == MV_OK && !(l = malloc(sizeof *l))) s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  if (s != MV_OK) {
    mv_interactor_destroy(&inner);
    if (out) memset(out, 0, sizeof *out);
    return s;
  }
  *l = (local){inner, x0, y0, x1, y1, margin};
  out->ops = &local_ops;
  out->self = l;
  out->name = "local";
  return MV_OK;
}
