/* CPU references with double accumulation; clarity over speed. */
#include "opencl/reference.h"

#include <math.h>

void mv_ref_random(float *out, size_t n, uint64_t seed, float lo, float hi) {
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  for (size_t i = 0; i < n; i++) {
    float v;
    do {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      uint64_t r = state * 0x2545f4914f6cdd1dULL;
      double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
      v = (float)(lo + (hi - lo) * u);
    } while (v == 0.0f || v >= hi);
    out[i] = v;
  }
}

double mv_ref_rel_l2(const float *a, const float *ref, size_t n) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)a[i] - (double)ref[i];
    diff += d * d;
    norm += (double)ref[i] * (double)ref[i];
  }
  if (isnan(diff)) return INFINITY;
  if (norm == 0) return diff == 0 ? 0 : INFINITY;
  return sqrt(diff / norm);
}

void mv_ref_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double sum = 0;
      for (size_t p = 0; p < k; p++) {
        double av = transpose_a ? a[p * lda + i] : a[i * lda + p];
        double bv = transpose_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += av * bv;
      }
      double prior = beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j];
      c[i * ldc + j] = (float)((double)alpha * sum + prior);
    }
}

void mv_ref_conv2d(const float *x, int n, int c, int h, int w, const float *weight,
                   const float *bias, int out_c, int kernel_h, int kernel_w, int stride,
                   int padding, int dilation, int relu, float *y) {
  int oh = mv_conv_out_size(h, kernel_h, stride, padding, dilation);
  int ow = mv_conv_out_size(w, kernel_w, stride, padding, dilation);
  for (int b = 0; b < n; b++)
    for (int o = 0; o < out_c; o++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          double sum = bias ? bias[o] : 0.0;
          for (int i = 0; i < c; i++)
            for (int ky = 0; ky < kernel_h; ky++) {
              int iy = oy * stride - padding + ky * dilation;
              if (iy < 0 || iy >= h) continue;
              for (int kx = 0; kx < kernel_w; kx++) {
                int ix = ox * stride - padding + kx * dilation;
                if (ix < 0 || ix >= w) continue;
                sum += (double)x[(((size_t)b * c + i) * h + iy) * w + ix] *
                       weight[(((size_t)o * c + i) * kernel_h + ky) * kernel_w + kx];
              }
            }
          if (relu && sum < 0) sum = 0;
          y[(((size_t)b * out_c + o) * oh + oy) * ow + ox] = (float)sum;
        }
}

void mv_ref_batchnorm(float *x, int n, int c, int plane, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps) {
  for (int b = 0; b < n; b++)
    for (int i = 0; i < c; i++) {
      double inv = 1.0 / sqrt((double)var[i] + eps);
      float *p = x + ((size_t)b * c + i) * plane;
      for (int j = 0; j < plane; j++)
        p[j] = (float)(((double)p[j] - mean[i]) * inv * gamma[i] + beta[i]);
    }
}

void mv_ref_maxpool2d(const float *x, int n, int c, int h, int w, int kernel, int stride,
                      int padding, float *y) {
  int oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1;
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float best = -INFINITY;
        for (int ky = 0; ky < kernel; ky++)
          for (int kx = 0; kx < kernel; kx++) {
            int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; /* padding never wins */
            float v = x[((size_t)p * h + iy) * w + ix];
            if (v > best || isnan(v)) best = v;
          }
        y[((size_t)p * oh + oy) * ow + ox] = best;
      }
}

void mv_ref_add(const float *a, const float *b, size_t count, int relu, float *y) {
  for (size_t i = 0; i < count; i++) {
    double v = (double)a[i] + b[i];
    y[i] = (float)(relu && v < 0 ? 0 : v);
  }
}

void mv_ref_relu(const float *x, size_t count, float *y) {
  for (size_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void mv_ref_sigmoid(const float *x, size_t count, float *y) {
  for (size_t i = 0; i < count; i++) y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
}

void mv_ref_concat(const float *const *xs, const int *channels, int count, int n, int h, int w,
                   float *y) {
  size_t plane = (size_t)h * w;
  int total = 0;
  for (int i = 0; i < count; i++) total += channels[i];
  for (int b = 0; b < n; b++) {
    int c0 = 0;
    for (int i = 0; i < count; i++) {
      for (size_t j = 0; j < (size_t)channels[i] * plane; j++)
        y[((size_t)b * total + c0) * plane + j] = xs[i][(size_t)b * channels[i] * plane + j];
      c0 += channels[i];
    }
  }
}

/* PyTorch's area_pixel_compute_source_index (align_corners=False) in float,
 * as its CPU and CUDA kernels compute it for float tensors. */
static void source_index(int dst, int in, int out, int *i0, int *i1, double *lambda1) {
  float scale = (float)in / (float)out;
  float src = scale * ((float)dst + 0.5f) - 0.5f;
  if (src < 0) src = 0;
  int lo = (int)src; /* floor: src >= 0 */
  *i0 = lo;
  *i1 = lo + (lo < in - 1 ? 1 : 0);
  *lambda1 = (double)(src - (float)lo);
}

void mv_ref_bilinear(const float *x, int n, int c, int h, int w, int out_h, int out_w, float *y) {
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < out_h; oy++) {
      int y0, y1;
      double ly;
      source_index(oy, h, out_h, &y0, &y1, &ly);
      for (int ox = 0; ox < out_w; ox++) {
        int x0, x1;
        double lx;
        source_index(ox, w, out_w, &x0, &x1, &lx);
        const float *plane = x + (size_t)p * h * w;
        double v = (1 - ly) * ((1 - lx) * plane[y0 * w + x0] + lx * plane[y0 * w + x1]) +
                   ly * ((1 - lx) * plane[y1 * w + x0] + lx * plane[y1 * w + x1]);
        y[((size_t)p * out_h + oy) * out_w + ox] = (float)v;
      }
    }
}

void mv_ref_area(const float *x, int n, int c, int h, int w, int out_h, int out_w, float *y) {
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < out_h; oy++) {
      int y0 = (int)(((long)oy * h) / out_h), y1 = (int)(((long)(oy + 1) * h + out_h - 1) / out_h);
      for (int ox = 0; ox < out_w; ox++) {
        int x0 = (int)(((long)ox * w) / out_w);
        int x1 = (int)(((long)(ox + 1) * w + out_w - 1) / out_w);
        double sum = 0;
        for (int iy = y0; iy < y1; iy++)
          for (int ix = x0; ix < x1; ix++) sum += x[((size_t)p * h + iy) * w + ix];
        y[((size_t)p * out_h + oy) * out_w + ox] = (float)(sum / ((double)(y1 - y0) * (x1 - x0)));
      }
    }
}

void mv_ref_global_avgpool(const float *x, int n, int c, int h, int w, float *y) {
  size_t plane = (size_t)h * w;
  for (int p = 0; p < n * c; p++) {
    double sum = 0;
    for (size_t j = 0; j < plane; j++) sum += x[(size_t)p * plane + j];
    y[p] = (float)(sum / (double)plane);
  }
}

void mv_ref_broadcast(const float *x, int n, int c, int h, int w, float *y) {
  size_t plane = (size_t)h * w;
  for (int p = 0; p < n * c; p++)
    for (size_t j = 0; j < plane; j++) y[(size_t)p * plane + j] = x[p];
}

void mv_ref_pad(const float *x, int n, int c, int h, int w, mv_padding pad, float *y) {
  int oh = h + pad.top + pad.bottom, ow = w + pad.left + pad.right;
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        int iy = oy - pad.top, ix = ox - pad.left;
        y[((size_t)p * oh + oy) * ow + ox] =
            iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((size_t)p * h + iy) * w + ix] : 0.0f;
      }
}

void mv_ref_crop(const float *x, int n, int c, int h, int w, mv_padding pad, float *y) {
  int oh = h - pad.top - pad.bottom, ow = w - pad.left - pad.right;
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        y[((size_t)p * oh + oy) * ow + ox] = x[((size_t)p * h + oy + pad.top) * w + ox + pad.left];
}

void mv_ref_mask_difference(const float *mask, const float *previous, size_t count, float *pos,
                            float *neg) {
  for (size_t i = 0; i < count; i++) {
    double d = (double)mask[i] - previous[i];
    pos[i] = (float)(d < 0 ? 0 : d > 1 ? 1 : d);
    neg[i] = (float)(-d < 0 ? 0 : -d > 1 ? 1 : -d);
  }
}

void mv_ref_memory_slot_store(const float *src, int n, int c, int plane, int capacity, int slot,
                              float *bank) {
  for (int r = 0; r < n * c; r++)
    for (int p = 0; p < plane; p++)
      bank[((size_t)r * capacity + slot) * plane + p] = src[(size_t)r * plane + p];
}
