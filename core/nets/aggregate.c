#include "nets/aggregate.h"

#include "error.h"

mv_status mv_aggregate(const mv_tensor *prob, int hard, mv_tensor *out) {
  MV_CHECK_ARG(prob && prob->buffer && out, "mv_aggregate: NULL argument");
  MV_CHECK_ARG(prob->c == 1 && prob->n >= 1,
               "mv_aggregate: prob must be k x 1 x H x W, got %dx%dx%dx%d", prob->n, prob->c,
               prob->h, prob->w);
  int k = prob->n, plane = prob->h * prob->w;
  MV_TRY(mv_tensor_prepare(out, k + 1, 1, prob->h, prob->w, "mv_aggregate", "out", NULL));
  cl_kernel kernel;
  MV_TRY(mv_kernel_get("network", "aggregate_wbg", &kernel));
  float temperature = hard ? 1000.0f : 1.0f;
  cl_ulong in_offset = prob->offset, out_offset = out->offset;
  MV_TRY(mv_kernel_args(kernel, 7, sizeof(cl_mem), &prob->buffer, sizeof(cl_ulong), &in_offset,
                        sizeof(int), &k, sizeof(int), &plane, sizeof(float), &temperature,
                        sizeof(cl_mem), &out->buffer, sizeof(cl_ulong), &out_offset));
  size_t global = (size_t)plane;
  return mv_kernel_run(kernel, "aggregate_wbg", 1, &global, NULL);
}
