/* Zero padding to a multiple of 16 as the official code splits it (floor of
 * half before, the rest after) and the matching crop. */
#include <string.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

mv_padding mv_padding_for(int h, int w, int multiple) {
  mv_padding pad = {0, 0, 0, 0};
  if (h <= 0 || w <= 0 || multiple <= 0) return pad;
  int dh = (multiple - h % multiple) % multiple, dw = (multiple - w % multiple) % multiple;
  pad.top = dh / 2;
  pad.bottom = dh - dh / 2;
  pad.left = dw / 2;
  pad.right = dw - dw / 2;
  return pad;
}

/* Host path (mv_ops_use_host): one task per plane, row copies and zero fill. */
typedef struct host_shift_job {
  const float *x;
  float *y;
  int height, width, out_h, out_w, top, left;
} host_shift_job;

static void host_shift_plane(void *context, int task, int worker) {
  (void)worker;
  const host_shift_job *j = context;
  const float *x = j->x + (size_t)task * j->height * j->width;
  float *y = j->y + (size_t)task * j->out_h * j->out_w;
  /* Output columns [lo, hi) come from x; the rest are zero. */
  int lo = j->left > 0 ? j->left : 0, hi = j->left + j->width;
  if (hi > j->out_w) hi = j->out_w;
  if (lo > hi) lo = hi;
  for (int oy = 0; oy < j->out_h; oy++) {
    float *out = y + (size_t)oy * j->out_w;
    const int iy = oy - j->top;
    if (iy < 0 || iy >= j->height) {
      memset(out, 0, (size_t)j->out_w * sizeof *out);
      continue;
    }
    if (lo > 0) memset(out, 0, (size_t)lo * sizeof *out);
    memcpy(out + lo, x + (size_t)iy * j->width + (lo - j->left), (size_t)(hi - lo) * sizeof *out);
    if (hi < j->out_w) memset(out + hi, 0, (size_t)(j->out_w - hi) * sizeof *out);
  }
}

static mv_status host_shift_copy(const mv_tensor *x, mv_tensor *y, int top, int left) {
  mv_host_map map;
  mv_host_map_init(&map);
  MV_TRY(mv_host_map_add(&map, x->buffer, x->offset, mv_tensor_numel(x), 0));
  MV_TRY(mv_host_map_add(&map, y->buffer, y->offset, mv_tensor_numel(y), 1));
  MV_TRY(mv_host_map_begin(&map));
  host_shift_job job = {mv_host_map_ptr(&map, x->buffer, x->offset),
                        mv_host_map_ptr(&map, y->buffer, y->offset),
                        x->h, x->w, y->h, y->w, top, left};
  mv_host_parallel(x->n * x->c, host_shift_plane, &job);
  return mv_host_map_end(&map);
}

static mv_status shift_copy(const char *op, const mv_tensor *x, int out_h, int out_w, int top,
                            int left, mv_tensor *y) {
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, out_h, out_w, op, "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "%s: y overlaps x", op);
  if (status == MV_OK && (long)x->n * x->c <= (1L << 30) && mv_ops_use_host()) {
    status = host_shift_copy(x, y, top, left);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("padding", "shift_copy", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_int h = x->h, w = x->w, oh = out_h, ow = out_w, t = top, l = left;
  cl_long total = (cl_long)mv_tensor_numel(y);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 11, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof t, &t, sizeof l, &l,
                            sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "shift_copy", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_pad(const mv_tensor *x, mv_padding pad, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_pad", "x"));
  MV_CHECK_ARG(pad.left >= 0 && pad.right >= 0 && pad.top >= 0 && pad.bottom >= 0,
               "mv_pad: padding (left %d, right %d, top %d, bottom %d) must be >= 0", pad.left,
               pad.right, pad.top, pad.bottom);
  MV_CHECK_ARG(pad.left <= (1 << 20) && pad.right <= (1 << 20) && pad.top <= (1 << 20) &&
                   pad.bottom <= (1 << 20),
               "mv_pad: padding too large");
  MV_CHECK_ARG(y != NULL, "mv_pad: y is NULL");
  double t0 = mv_ops_profile_enter();
  mv_status status = shift_copy("mv_pad", x, x->h + pad.top + pad.bottom,
                                x->w + pad.left + pad.right, pad.top, pad.left, y);
  mv_ops_profile_leave(MV_OP_PAD, t0);
  return status;
}

mv_status mv_crop(const mv_tensor *x, mv_padding pad, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_crop", "x"));
  MV_CHECK_ARG(pad.left >= 0 && pad.right >= 0 && pad.top >= 0 && pad.bottom >= 0,
               "mv_crop: padding (left %d, right %d, top %d, bottom %d) must be >= 0", pad.left,
               pad.right, pad.top, pad.bottom);
  MV_CHECK_ARG((long)pad.top + pad.bottom < x->h && (long)pad.left + pad.right < x->w,
               "mv_crop: cropping (left %d, right %d, top %d, bottom %d) leaves nothing of "
               "%dx%d", pad.left, pad.right, pad.top, pad.bottom, x->h, x->w);
  MV_CHECK_ARG(y != NULL, "mv_crop: y is NULL");
  double t0 = mv_ops_profile_enter();
  mv_status status = shift_copy("mv_crop", x, x->h - pad.top - pad.bottom,
                                x->w - pad.left - pad.right, -pad.top, -pad.left, y);
  mv_ops_profile_leave(MV_OP_PAD, t0);
  return status;
}
