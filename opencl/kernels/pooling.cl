/* Pooling: max pooling with PyTorch's padding rule, global average pooling
 * (a work-group reduction per plane) and its broadcast back. */

/* planes = n * c; padding positions are skipped, so they never win. */
__kernel void maxpool2d(__global const float *x, ulong x_off, int height, int width,
                        __global float *y, ulong y_off, int out_h, int out_w, int kernel_size,
                        int stride, int pad, long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const int ox = (int)(gid % out_w);
  const int oy = (int)((gid / out_w) % out_h);
  const long plane = gid / ((long)out_w * out_h);
  __global const float *p = x + x_off + plane * height * width;
  float best = -INFINITY;
  for (int ky = 0; ky < kernel_size; ky++) {
    const int iy = oy * stride - pad + ky;
    if (iy < 0 || iy >= height) continue;
    for (int kx = 0; kx < kernel_size; kx++) {
      const int ix = ox * stride - pad + kx;
      if (ix < 0 || ix >= width) continue;
      const float v = p[iy * width + ix];
      if (v > best || isnan(v)) best = v; /* NaN propagates as in PyTorch */
    }
  }
  y[y_off + gid] = best;
}

#define AVG_GROUP 64

/* One work-group of AVG_GROUP items per plane: strided partial sums, then a
 * tree reduction (more accurate than one running sum). */
__kernel __attribute__((reqd_work_group_size(AVG_GROUP, 1, 1)))
void global_avgpool(__global const float *x, ulong x_off, long plane_size, __global float *y,
                    ulong y_off, long planes) {
  __local float partial[AVG_GROUP];
  const long plane = get_group_id(0);
  const int lid = get_local_id(0);
  float sum = 0.0f;
  if (plane < planes) {
    __global const float *p = x + x_off + plane * plane_size;
    for (long i = lid; i < plane_size; i += AVG_GROUP) sum += p[i];
  }
  partial[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = AVG_GROUP / 2; step > 0; step /= 2) {
    if (lid < step) partial[lid] += partial[lid + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0 && plane < planes) y[y_off + plane] = partial[0] / (float)plane_size;
}

/* y[plane][i] = x[plane] for i < plane_size. */
__kernel void broadcast(__global const float *x, ulong x_off, long plane_size, __global float *y,
                        ulong y_off, long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  y[y_off + gid] = x[x_off + gid / plane_size];
}
