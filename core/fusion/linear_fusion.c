/* linear fusion: the MiVOS paper's linear-blending baseline (formula and
 * reasoning in labelprop.h). Uses no network and no attention. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "fusion/fuser.h"

static mv_status linear_fuse(void *self, const mv_fusion_input *in, mv_tensor *out) {
  static const char fn[] = "linear fusion";
  MV_CHECK_ARG(in && out, "%s: NULL argument", fn);
  MV_CHECK_ARG((in->tc < in->ti && in->ti < in->tr) || (in->tr < in->ti && in->ti < in->tc),
               "%s: frame ti = %d must lie strictly between tc = %d and tr = %d", fn, in->ti,
               in->tc, in->tr);
  MV_TRY(mv_fusion_check_probabilities(fn, in->current, "current"));
  MV_TRY(mv_fusion_check_probabilities(fn, in->previous, "previous"));
  const mv_tensor *cur = in->current, *prev = in->previous;
  MV_TRY(mv_fusion_check_same_shape(fn, prev, cur, "previous", "current"));
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(out, cur->n, 1, cur->h, cur->w, fn, "out", &allocated));
  /* The official coefficients: Python floats (double) turned into float32. */
  double span = fabs((double)(in->tc - in->tr));
  cl_float nc = (float)(fabs((double)(in->tc - in->ti)) / span);
  cl_float nr = (float)(fabs((double)(in->tr - in->ti)) / span);
  cl_long count = (cl_long)mv_tensor_numel(cur);
  cl_ulong cur_off = cur->offset, prev_off = prev->offset, out_off = out->offset;
  cl_kernel kernel = NULL;
  mv_status s = mv_kernel_get("labelprop", "linear_blend", &kernel);
  if (s == MV_OK)
    s = mv_kernel_args(kernel, 9, sizeof(cl_mem), &cur->buffer, sizeof cur_off, &cur_off,
                       sizeof(cl_mem), &prev->buffer, sizeof prev_off, &prev_off, sizeof nc, &nc,
                       sizeof nr, &nr, sizeof count, &count, sizeof(cl_mem), &out->buffer,
                       sizeof out_off, &out_off);
  if (s == MV_OK) s = mv_kernel_run_1d(kernel, "linear_blend", (size_t)count);
  if (s != MV_OK && allocated) mv_tensor_free(out);
  return s;
}

static void linear_destroy(void *self) { (void)self; }

static const mv_fuser_ops linear_fuser_ops = {linear_fuse, linear_destroy};

mv_status mv_fuser_linear(mv_fuser *out) {
  MV_CHECK_ARG(out, "mv_fuser_linear: out is NULL");
  *out = (mv_fuser){&linear_fuser_ops, NULL, "linear"};
  return MV_OK;
}
