#include "nets/preprocess.h"

#include "error.h"

mv_status mv_preprocess_frame(const uint8_t *rgb, int h, int w, mv_padding pad, mv_tensor *out) {
  MV_CHECK_ARG(rgb && out, "mv_preprocess_frame: NULL argument");
  MV_CHECK_ARG(h > 0 && w > 0, "mv_preprocess_frame: frame size %dx%d must be positive", w, h);
  MV_CHECK_ARG(pad.left >= 0 && pad.right >= 0 && pad.top >= 0 && pad.bottom >= 0,
               "mv_preprocess_frame: negative padding");
  int ph = h + pad.top + pad.bottom, pw = w + pad.left + pad.right;
  MV_TRY(mv_tensor_prepare(out, 1, 3, ph, pw, "mv_preprocess_frame", "out", NULL));
  mv_runtime *rt;
  MV_TRY(mv_runtime_get(&rt));
  size_t bytes = (size_t)h * w * 3;
  cl_mem source;
  MV_TRY(mv_buffer_acquire(bytes, &source));
  mv_status s = mv_cl_check(
      clEnqueueWriteBuffer(rt->queue, source, CL_FALSE, 0, bytes, rgb, 0, NULL, NULL),
      "clEnqueueWriteBuffer(frame)");
  cl_kernel k = NULL;
  if (s == MV_OK) s = mv_kernel_get("network", "preprocess_rgb", &k);
  cl_ulong offset = out->offset;
  if (s == MV_OK)
    s = mv_kernel_args(k, 9, sizeof(cl_mem), &source, sizeof(int), &h, sizeof(int), &w,
                       sizeof(int), &pad.left, sizeof(int), &pad.top, sizeof(cl_mem), &out->buffer,
                       sizeof(cl_ulong), &offset, sizeof(int), &ph, sizeof(int), &pw);
  size_t global[2] = {(size_t)pw, (size_t)ph};
  if (s == MV_OK) s = mv_kernel_run(k, "preprocess_rgb", 2, global, NULL);
  /* The source must stay alive until the kernel ran: finish before release. */
  if (s == MV_OK) s = mv_runtime_finish();
  mv_buffer_release(source);
  return s;
}

mv_status mv_preprocess_masks(const float *masks, int count, int h, int w, mv_padding pad,
                              mv_tensor *out) {
  MV_CHECK_ARG(masks && out, "mv_preprocess_masks: NULL argument");
  MV_CHECK_ARG(count > 0 && h > 0 && w > 0, "mv_preprocess_masks: bad size %d x %dx%d", count, h,
               w);
  mv_tensor plain = {0};
  MV_TRY(mv_tensor_new(&plain, count, 1, h, w));
  mv_status s = mv_tensor_upload(&plain, masks);
  if (s == MV_OK) s = mv_pad(&plain, pad, out);
  mv_tensor_free(&plain);
  return s;
}
