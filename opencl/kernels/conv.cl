/* Convolution helpers: im2col for a band of output rows and the bias/ReLU
 * epilogue applied after the GEMM. Offsets are in elements. */

/* col[(c*kh + ky)*kw + kx][r*out_w + ox] = x[c][oy*stride - pad + ky*dil][...]
 * for output rows oy = row0 + r, r in [0, rows); zero outside the image. */
__kernel void im2col(__global const float *x, ulong x_off, int channels, int height, int width,
                     int kernel_h, int kernel_w, int stride, int pad, int dilation, int out_w,
                     int row0, int rows, __global float *col, ulong col_off) {
  const int columns = rows * out_w;
  const long total = (long)channels * kernel_h * kernel_w * columns;
  const long gid = get_global_id(0);
  if (gid >= total) return;
  const int column = (int)(gid % columns);
  const int krow = (int)(gid / columns);
  const int kx = krow % kernel_w;
  const int ky = (krow / kernel_w) % kernel_h;
  const int c = krow / (kernel_w * kernel_h);
  const int oy = row0 + column / out_w;
  const int ox = column % out_w;
  const int iy = oy * stride - pad + ky * dilation;
  const int ix = ox * stride - pad + kx * dilation;
  float value = 0.0f;
  if (iy >= 0 && iy < height && ix >= 0 && ix < width)
    value = x[x_off + ((long)c * height + iy) * width + ix];
  col[col_off + gid] = value;
}

/* y[n][c][i] = relu?(y + bias[c]) over `total` = n * channels * plane elements. */
__kernel void bias_act(__global float *y, ulong y_off, int channels, int plane, long total,
                       __global const float *bias, ulong bias_off, int has_bias, int relu) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  float v = y[y_off + gid];
  if (has_bias) v += bias[bias_off + (gid / plane) % channels];
  if (relu) v = fmax(v, 0.0f);
  y[y_off + gid] = v;
}

/* y[n][c][i] = relu?(y + bias[c] + residual) (the residual add of a ResNet
 * block fused into the conv's epilogue; residual has y's shape). */
__kernel void bias_residual_act(__global float *y, ulong y_off, int channels, int plane,
                                long total, __global const float *bias, ulong bias_off,
                                int has_bias, __global const float *residual, ulong residual_off,
                                int relu) {
  const long gid = get_global_id(0);
  if (gid >= total) return;
  float v = y[y_off + gid];
  if (has_bias) v += bias[bias_off + (gid / plane) % channels];
  v += residual[residual_off + gid];
  if (relu) v = fmax(v, 0.0f);
  y[y_off + gid] = v;
}
