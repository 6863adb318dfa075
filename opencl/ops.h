/* Tensor operators on the device (NCHW float32). Output convention: every
 * output tensor is either empty ({0}: the operator allocates it with the
 * right shape) or already of exactly the right shape (written in place,
 * which lets an operator write into a channel view of a larger tensor).
 * Shapes are validated; a mismatch names the operator and both shapes. */
#ifndef MV_OPS_H
#define MV_OPS_H

#include "opencl/tensor.h"

/* ---- GEMM: every matrix product goes through mv_gemm / mv_gemm_batched ---- */

/* A matrix in a device buffer: row-major, element offset, leading dimension. */
typedef struct mv_matrix {
  cl_mem buffer;
  size_t offset;
  size_t ld;
} mv_matrix;

/* C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, row-major;
 * op(X) = X or X^T. */
mv_status mv_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                  mv_matrix a, mv_matrix b, float beta, mv_matrix c);
/* `batch` products; operand i starts at offset + i * stride (elements). */
mv_status mv_gemm_batched(int transpose_a, int transpose_b, size_t m, size_t n, size_t k,
                          float alpha, mv_matrix a, size_t stride_a, mv_matrix b, size_t stride_b,
                          float beta, mv_matrix c, size_t stride_c, size_t batch);

/* GEMM engines. host: the host BLAS (OpenBLAS) on the mapped buffers, for a
 * CPU device whose buffers are host memory (PoCL); clblast: CLBlast on the
 * device queue. The engine in use: mv_gemm_set_engine, else the environment
 * variable MIVOS_GEMM=clblast|host|auto (another value is an error at the
 * first GEMM), else automatic: host where the device allows it, CLBlast
 * otherwise. Convolutions follow the engine (opencl/conv.c). */
typedef enum mv_gemm_engine { MV_GEMM_AUTO = 0, MV_GEMM_CLBLAST = 1, MV_GEMM_HOST = 2 } mv_gemm_engine;
/* Forces an engine for the process (tests, benchmarks); MV_GEMM_AUTO goes
 * back to MIVOS_GEMM / the automatic choice. host on a device without host
 * memory fails (MV_E_ARGUMENT) and changes nothing. */
mv_status mv_gemm_set_engine(mv_gemm_engine engine);
/* The engine mv_gemm uses now on the runtime's device (never MV_GEMM_AUTO). */
mv_status mv_gemm_engine_current(mv_gemm_engine *out);
/* 1 if the runtime's device can use the host engine. */
int mv_gemm_host_supported(void);
/* "auto", "clblast", "host". */
const char *mv_gemm_engine_name(mv_gemm_engine engine);
/* One line naming the engine in use, its BLAS and threads, and why it was chosen. */
mv_status mv_gemm_engine_describe(char *out, size_t capacity);

/* ---- convolution ----------------------------------------------------------- */

/* BatchNorm (inference) parameters from a checkpoint, host memory. */
typedef struct mv_batchnorm {
  const float *weight;       /* gamma */
  const float *bias;         /* beta */
  const float *running_mean;
  const float *running_var;
  float eps;                 /* 1e-5 in every MiVOS network */
} mv_batchnorm;

typedef struct mv_conv {
  int in_channels, out_channels;
  int kernel_h, kernel_w;
  int stride, padding, dilation;   /* the same along both axes */
  mv_tensor weight;                /* out x (in * kh * kw), BN folded in */
  mv_tensor bias;                  /* out, or empty when there is none */
} mv_conv;

/* Uploads a conv from host weights [out][in][kh][kw] and an optional bias,
 * folding an optional following BatchNorm into both (so conv+BN is one op). */
mv_status mv_conv_create(mv_conv *conv, int in_channels, int out_channels, int kernel_h,
                         int kernel_w, int stride, int padding, int dilation, const float *weight,
                         const float *bias, const mv_batchnorm *bn);
void mv_conv_free(mv_conv *conv);

enum { MV_CONV_RELU = 1 };  /* flags: apply ReLU to the output */

/* y = conv(x) (+ bias) (then ReLU if flags & MV_CONV_RELU). A 1x1 stride-1
 * conv is a plain GEMM; others use im2col + GEMM. */
mv_status mv_conv2d(const mv_conv *conv, const mv_tensor *x, mv_tensor *y, int flags);
/* y = conv(x) (+ bias) + residual (then ReLU if flags & MV_CONV_RELU): the
 * residual add of a ResNet block fused into the conv's epilogue (one pass
 * over y instead of a separate mv_add). residual has y's shape and must not
 * overlap y; NULL or empty: plain mv_conv2d. */
mv_status mv_conv2d_residual(const mv_conv *conv, const mv_tensor *x, const mv_tensor *residual,
                             mv_tensor *y, int flags);
/* The im2col workspace bound in bytes (default 128 MiB; at least one output
 * row is processed at a time). Sets it when `bytes` is non-zero; returns the
 * previous bound. Tests lower it to exercise the banded path. */
size_t mv_conv_workspace_limit(size_t bytes);
/* Output size of a convolution along one axis. */
int mv_conv_out_size(int in, int kernel, int stride, int padding, int dilation);

/* ---- operator paths ---------------------------------------------------------------- */

/* On the host GEMM engine (a CPU device whose buffers are host memory) the
 * element-wise, pooling, resampling, padding and concat operators run on the
 * host over the mapped buffers (the host thread pool), and mv_conv2d_residual
 * adds the residual in the conv's epilogue; elsewhere (GPUs) the OpenCL
 * kernels run. mv_ops_fast_paths(0) turns both off (the kernels and a
 * separate residual add, as before) so a benchmark can compare the two in
 * one run; 1 turns them on (the default); -1 only asks. Returns the previous
 * setting. */
int mv_ops_fast_paths(int enable);
/* 1 when the operators above run on the host now (fast paths on and the GEMM
 * engine in use is host). */
int mv_ops_use_host(void);

/* Per-operator profile for benchmarks: while on, each operator call (the
 * outermost one) finishes the queue before and after itself and adds its
 * wall time to its kind. Not for production: it serialises the queue. */
typedef enum mv_op_kind {
  MV_OP_CONV,      /* mv_conv2d, mv_conv2d_residual */
  MV_OP_ADD,       /* mv_add */
  MV_OP_ACT,       /* mv_relu, mv_sigmoid */
  MV_OP_POOL,      /* mv_maxpool2d, mv_global_avgpool, mv_broadcast */
  MV_OP_RESAMPLE,  /* mv_resize_bilinear, mv_area_resize */
  MV_OP_PAD,       /* mv_pad, mv_crop */
  MV_OP_CONCAT,    /* mv_concat */
  MV_OP_KINDS
} mv_op_kind;
const char *mv_op_kind_name(mv_op_kind kind);
/* Clears the totals and starts profiling. */
void mv_ops_profile_start(void);
/* Stops profiling; the totals (seconds, calls) since the start. */
void mv_ops_profile_stop(double seconds[MV_OP_KINDS], long calls[MV_OP_KINDS]);
/* Used by the operators: enter returns a start time (0 when off), leave adds. */
double mv_ops_profile_enter(void);
void mv_ops_profile_leave(mv_op_kind kind, double start);

/* ---- element-wise and pooling ------------------------------------------------ */

/* y may alias x in every element-wise op. */
mv_status mv_relu(const mv_tensor *x, mv_tensor *y);
mv_status mv_sigmoid(const mv_tensor *x, mv_tensor *y);
/* y = a + b, then ReLU if relu != 0 (residual add). y may alias a or b. */
mv_status mv_add(const mv_tensor *a, const mv_tensor *b, mv_tensor *y, int relu);
/* Max pooling with PyTorch's padding rule (-inf padding, floor mode). */
mv_status mv_maxpool2d(const mv_tensor *x, int kernel, int stride, int padding, mv_tensor *y);
/* Concatenation along channels of `count` tensors with equal n, h, w. */
mv_status mv_concat(const mv_tensor *const *xs, int count, mv_tensor *y);

/* ---- resampling ---------------------------------------------------------------- */

/* Bilinear resize to out_h x out_w, align_corners=False, exactly PyTorch's
 * (source index = (dst + 0.5) * in/out - 0.5, clamped at 0; neighbours clamped). */
mv_status mv_resize_bilinear(const mv_tensor *x, int out_h, int out_w, mv_tensor *y);
/* PyTorch 'area' interpolation = adaptive average pooling to out_h x out_w
 * (bin i covers [floor(i*in/out), ceil((i+1)*in/out))). */
mv_status mv_area_resize(const mv_tensor *x, int out_h, int out_w, mv_tensor *y);
/* y[n,c,1,1] = mean over h, w. */
mv_status mv_global_avgpool(const mv_tensor *x, mv_tensor *y);
/* y[n,c,h,w] = x[n,c,0,0]. */
mv_status mv_broadcast(const mv_tensor *x, int h, int w, mv_tensor *y);

/* ---- padding to a multiple of 16 -------------------------------------------------- */

typedef struct mv_padding {
  int left, right, top, bottom;
} mv_padding;

/* The official rule: new size = next multiple of `multiple`; left/top get
 * floor(diff/2), right/bottom the rest. */
mv_padding mv_padding_for(int h, int w, int multiple);
/* Zero padding / the matching crop. */
mv_status mv_pad(const mv_tensor *x, mv_padding pad, mv_tensor *y);
mv_status mv_crop(const mv_tensor *x, mv_padding pad, mv_tensor *y);

#endif
