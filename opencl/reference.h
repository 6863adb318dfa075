/* Plain C CPU references of every tensor operator (NCHW float32 host arrays,
 * double accumulation). The one reference used by tests/test_ops.c and
 * mv_device_self_check. Index rules follow PyTorch exactly. */
#ifndef MV_REFERENCE_H
#define MV_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "opencl/ops.h"

/* Deterministic pseudo-random floats in [lo, hi), never exactly zero. */
void mv_ref_random(float *out, size_t n, uint64_t seed, float lo, float hi);
/* ||a - ref||_2 / ||ref||_2 in double (0 when both are zero, inf on NaN). */
double mv_ref_rel_l2(const float *a, const float *ref, size_t n);

/* C = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions. */
void mv_ref_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc);
/* y[n][out_c][oh][ow]; weight [out_c][c][kh][kw]; bias may be NULL. */
void mv_ref_conv2d(const float *x, int n, int c, int h, int w, const float *weight,
                   const float *bias, int out_c, int kernel_h, int kernel_w, int stride,
                   int padding, int dilation, int relu, float *y);
/* In place: x = (x - mean) / sqrt(var + eps) * gamma + beta, per channel. */
void mv_ref_batchnorm(float *x, int n, int c, int plane, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps);
void mv_ref_maxpool2d(const float *x, int n, int c, int h, int w, int kernel, int stride,
                      int padding, float *y);
void mv_ref_add(const float *a, const float *b, size_t count, int relu, float *y);
void mv_ref_relu(const float *x, size_t count, float *y);
void mv_ref_sigmoid(const float *x, size_t count, float *y);
/* Channel concatenation of `count` arrays [n][channels[i]][h][w]. */
void mv_ref_concat(const float *const *xs, const int *channels, int count, int n, int h, int w,
                   float *y);
void mv_ref_bilinear(const float *x, int n, int c, int h, int w, int out_h, int out_w, float *y);
void mv_ref_area(const float *x, int n, int c, int h, int w, int out_h, int out_w, float *y);
void mv_ref_global_avgpool(const float *x, int n, int c, int h, int w, float *y);
/* y[n][c][h][w] = x[n][c]. */
void mv_ref_broadcast(const float *x, int n, int c, int h, int w, float *y);
void mv_ref_pad(const float *x, int n, int c, int h, int w, mv_padding pad, float *y);
void mv_ref_crop(const float *x, int n, int c, int h, int w, mv_padding pad, float *y);

/* pos = clamp(mask - previous, 0, 1), neg = clamp(previous - mask, 0, 1). */
void mv_ref_mask_difference(const float *mask, const float *previous, size_t count, float *pos,
                            float *neg);
/* bank (n x c x capacity x plane): slot `slot` of every row takes src (n x c x plane). */
void mv_ref_memory_slot_store(const float *src, int n, int c, int plane, int capacity, int slot,
                              float *bank);

#endif
