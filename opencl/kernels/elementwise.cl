/* Element-wise operators and block copies. Offsets are in elements; every
 * kernel bound-checks against `total` (the global size is rounded up). */

__kernel void relu(__global const float *x, ulong x_off, __global float *y, ulong y_off,
                   long total) {
  const long i = get_global_id(0);
  if (i >= total) return;
  y[y_off + i] = fmax(x[x_off + i], 0.0f);
}

__kernel void sigmoid(__global const float *x, ulong x_off, __global float *y, ulong y_off,
                      long total) {
  const long i = get_global_id(0);
  if (i >= total) return;
  y[y_off + i] = 1.0f / (1.0f + exp(-x[x_off + i]));
}

__kernel void add(__global const float *a, ulong a_off, __global const float *b, ulong b_off,
                  __global float *y, ulong y_off, long total, int relu) {
  const long i = get_global_id(0);
  if (i >= total) return;
  float v = a[a_off + i] + b[b_off + i];
  if (relu) v = fmax(v, 0.0f);
  y[y_off + i] = v;
}

/* `batch` blocks of `length` floats: dst[dst_off + k*dst_stride + i] =
 * src[src_off + k*src_stride + i] (channel concatenation). */
__kernel void copy_blocks(__global const float *src, ulong src_off, ulong src_stride,
                          __global float *dst, ulong dst_off, ulong dst_stride, long length,
                          long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const long k = gid / length, i = gid % length;
  dst[dst_off + k * dst_stride + i] = src[src_off + k * src_stride + i];
}
