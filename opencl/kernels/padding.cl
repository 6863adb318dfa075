/* Zero padding and cropping as one shifted copy: y[oy][ox] = x[oy - top][ox
 * - left] inside x, else 0. Cropping passes negative top/left. */
__kernel void shift_copy(__global const float *x, ulong x_off, int height, int width,
                         __global float *y, ulong y_off, int out_h, int out_w, int top, int left,
                         long total) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const int ox = (int)(gid % out_w);
  const int oy = (int)((gid / out_w) % out_h);
  const long plane = gid / ((long)out_w * out_h);
  const int iy = oy - top, ix = ox - left;
  float v = 0.0f;
  if (iy >= 0 && iy < height && ix >= 0 && ix < width)
    v = x[x_off + (plane * height + iy) * width + ix];
  y[y_off + gid] = v;
}
