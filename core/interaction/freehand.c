/* The "freehand" backend: the user's drawing is the mask. Shapes (lasso
 * polygons, brush strokes) are rasterised into the positive / negative
 * maps by core/raster.c; this only composes them with the previous mask. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "interaction/interactor.h"

static mv_status freehand_run(void *self, const mv_interaction_input *in, float *out) {
  MV_TRY(mv_interaction_input_check(in, out, "freehand interactor"));
  size_t n = (size_t)in->width * in->height;
  for (size_t i = 0; i < n; i++) {
    float p = in->previous ? in->previous[i] : 0.0f;
    if (!(p > 0)) p = 0; /* also NaN */
    if (p > 1) p = 1;
    if (in->positive && in->positive[i]) p = 1;
    if (in->negative && in->negative[i]) p = 0;
    out[i] = p;
  }
  return MV_OK;
}

static void freehand_destroy(void *self) { (void)self; }

static const mv_interactor_ops freehand_ops = {freehand_run, freehand_destroy};

mv_status mv_interactor_freehand(mv_interactor *out) {
  MV_CHECK_ARG(out, "mv_interactor_freehand: NULL output");
  out->ops = &freehand_ops;
  out->self = NULL;
  out->name = "freehand";
  return MV_OK;
}
