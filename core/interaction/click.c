/* The "click" backend: clicks turned into scribbles. A click is a mark in
 * the positive or negative map (one pixel per click, or any small mark);
 * every marked pixel is dilated to a disk of the configured radius and the
 * wrapped scribble backend runs on the dilated maps. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/interactor.h"
#include "interaction/raster.h"

typedef struct click {
  mv_interactor inner;
  int radius;
} click;

/* out = the marks of `in` dilated by a disk of `radius`. */
static mv_status dilate(const uint8_t *in, int w, int h, int radius, uint8_t *out) {
  memset(out, 0, (size_t)w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (in[(size_t)y * w + x]) MV_TRY(mv_raster_disk(out, w, h, (float)x, (float)y, (float)radius, 1));
  return MV_OK;
}

static mv_status click_run(void *self, const mv_interaction_input *in, float *out) {
  click *c = self;
  MV_TRY(mv_interaction_input_check(in, out, "click interactor"));
  size_t n = (size_t)in->width * in->height;
  uint8_t *maps = malloc(2 * n);
  if (!maps) return mv_fail(MV_E_MEMORY, "click interactor: out of memory (%zu pixels)", n);
  mv_interaction_input dilated = *in;
  mv_status s = MV_OK;
  if (in->positive) {
    s = dilate(in->positive, in->width, in->height, c->radius, maps);
    dilated.positive = maps;
  }
  if (s == MV_OK && in->negative) {
    s = dilate(in->negative, in->width, in->height, c->radius, maps + n);
    dilated.negative = maps + n;
  }
  if (s == MV_OK) s = mv_interactor_run(&c->inner, &dilated, out);
  free(maps);
  return s;
}

static void click_destroy(void *self) {
  click *c = self;
  if (!c) return;
  mv_interactor_destroy(&c->inner);
  free(c);
}

static const mv_interactor_ops click_ops = {click_run, click_destroy};

mv_status mv_interactor_click(mv_interactor inner, int radius, mv_interactor *out) {
  mv_status s = MV_OK;
  if (!out)
    s = mv_fail(MV_E_ARGUMENT, "mv_interactor_click: NULL output");
  else if (!inner.ops || !inner.ops->run)
    s = mv_fail(MV_E_ARGUMENT, "mv_interactor_click: inner interactor is empty");
  else if (radius < 0 || radius > 4096)
    s = mv_fail(MV_E_ARGUMENT, "mv_interactor_click: radius %d, expected 0..4096", radius);
  click *c = NULL;
  if (s == MV_OK && !(c = malloc(sizeof *c)))
    s = mv_fail(MV_E_MEMORY, "mv_interactor_click: out of memory");
  if (s != MV_OK) {
    mv_interactor_destroy(&inner);
    if (out) memset(out, 0, sizeof *out);
    return s;
  }
  c->inner = inner;
  c->radius = radius;
  out->ops = &click_ops;
  out->self = c;
  out->name = "click";
  return MV_OK;
}
