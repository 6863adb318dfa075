/* Resampling as PyTorch's F.interpolate on float32: bilinear with
 * align_corners=False (given an output size, scale = in/out) and 'area'
 * (adaptive average pooling). */
#include "error.h"
#include "opencl/ops.h"

static mv_status resample(const char *op, const char *kernel_name, const mv_tensor *x, int out_h,
                          int out_w, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, op, "x"));
  MV_CHECK_ARG(out_h > 0 && out_w > 0, "%s: output size %dx%d must be positive", op, out_h, out_w);
  MV_CHECK_ARG(y != NULL, "%s: y is NULL", op);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, out_h, out_w, op, "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "%s: y overlaps x", op);
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("resample", kernel_name, &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_int h = x->h, w = x->w, oh = out_h, ow = out_w;
  cl_long total = (cl_long)mv_tensor_numel(y);
  /* PyTorch: area_pixel_compute_scale = (float)input_size / output_size. */
  cl_float scale_h = (float)x->h / (float)out_h, scale_w = (float)x->w / (float)out_w;
  int bilinear = kernel_name[0] == 'b';
  if (status == MV_OK && bilinear)
    status = mv_kernel_args(kernel, 11, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof scale_h, &scale_h,
                            sizeof scale_w, &scale_w, sizeof total, &total);
  else if (status == MV_OK)
    status = mv_kernel_args(kernel, 9, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, kernel_name, (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_resize_bilinear(const mv_tensor *x, int out_h, int out_w, mv_tensor *y) {
  return resample("mv_resize_bilinear", "bilinear", x, out_h, out_w, y);
}

mv_status mv_area_resize(const mv_tensor *x, int out_h, int out_w, mv_tensor *y) {
  return resample("mv_area_resize", "area", x, out_h, out_w, y);
}
