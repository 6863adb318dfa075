/* Resampling exactly as PyTorch computes it for float32 tensors: bilinear
 * with align_corners=False and 'area' (adaptive average pooling). */

/* PyTorch evaluates these expressions in float without contraction into fma;
 * keep the same rounding so source indices match bit for bit. */
#pragma OPENCL FP_CONTRACT OFF

/* area_pixel_compute_source_index(scale, dst, align_corners=false). */
inline float source_index(float scale, int dst) {
  float src = scale * ((float)dst + 0.5f) - 0.5f;
  return src < 0.0f ? 0.0f : src;
}

/* scale_h = (float)height / out_h, scale_w likewise (computed by the host). */
__kernel void bilinear(__global const float *x, ulong x_off, int height, int width,
                       __global float *y, ulong y_off, int out_h, int out_w, float scale_h,
                       float scale_w, long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const int ox = (int)(gid % out_w);
  const int oy = (int)((gid / out_w) % out_h);
  const long plane = gid / ((long)out_w * out_h);
  const float sy = source_index(scale_h, oy);
  const float sx = source_index(scale_w, ox);
  const int y0 = min((int)sy, height - 1), x0 = min((int)sx, width - 1); /* floor: >= 0 */
  const int y1 = y0 + (y0 < height - 1 ? 1 : 0);
  const int x1 = x0 + (x0 < width - 1 ? 1 : 0);
  const float ly1 = sy - (float)y0, ly0 = 1.0f - ly1;
  const float lx1 = sx - (float)x0, lx0 = 1.0f - lx1;
  __global const float *p = x + x_off + plane * height * width;
  const float top = lx0 * p[y0 * width + x0] + lx1 * p[y0 * width + x1];
  const float bottom = lx0 * p[y1 * width + x0] + lx1 * p[y1 * width + x1];
  y[y_off + gid] = ly0 * top + ly1 * bottom;
}

/* Output bin i covers [floor(i*in/out), ceil((i+1)*in/out)). */
__kernel void area(__global const float *x, ulong x_off, int height, int width, __global float *y,
                   ulong y_off, int out_h, int out_w, long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const int ox = (int)(gid % out_w);
  const int oy = (int)((gid / out_w) % out_h);
  const long plane = gid / ((long)out_w * out_h);
  const int y0 = (int)(((long)oy * height) / out_h);
  const int y1 = (int)(((long)(oy + 1) * height + out_h - 1) / out_h);
  const int x0 = (int)(((long)ox * width) / out_w);
  const int x1 = (int)(((long)(ox + 1) * width + out_w - 1) / out_w);
  __global const float *p = x + x_off + plane * height * width;
  float sum = 0.0f;
  for (int iy = y0; iy < y1; iy++)
    for (int ix = x0; ix < x1; ix++) sum += p[iy * width + ix];
  /* PyTorch's adaptive average pooling divides by kh, then by kw. */
  y[y_off + gid] = sum / (float)(y1 - y0) / (float)(x1 - x0);
}
