/* 2-D convolution: BatchNorm folded into the weights at load time, 1x1
 * stride-1 convolutions as one GEMM per batch item, everything else as
 * im2col over bands of output rows (bounded workspace) + GEMM, then a
 * bias/ReLU epilogue.
 *
 * Two paths, following the GEMM engine (opencl/gemm.c):
 *  - clblast: im2col and the epilogue are OpenCL kernels, the GEMM CLBlast.
 *  - host (a CPU device whose buffers are host memory): the buffers are
 *    mapped once per call and everything runs on the host, one band of
 *    output rows per task on the host thread pool (opencl/host_pool.c):
 *    im2col into a small per-thread band (HOST_BAND_BYTES, still in cache
 *    when the BLAS packs it), a single-threaded BLAS call on the band, then
 *    bias + ReLU on the band's output while it is in that core's cache.
 *    On PoCL the im2col and epilogue kernels cost more than the GEMM itself,
 *    and an epilogue after a multi-threaded BLAS call pays for moving half of
 *    the output between the cores' caches (`bench ops` shows the layers). */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

/* The im2col workspace stays under this many bytes (one output row at least). */
static size_t workspace_limit = (size_t)128 << 20;

size_t mv_conv_workspace_limit(size_t bytes) {
  size_t previous = workspace_limit;
  if (bytes) workspace_limit = bytes;
  return previous;
}

int mv_conv_out_size(int in, int kernel, int stride, int padding, int dilation) {
  if (in <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || dilation <= 0) return 0;
  long span = (long)dilation * (kernel - 1) + 1;
  long room = (long)in + 2L * padding - span;
  if (room < 0) return 0;
  return (int)(room / stride + 1);
}

mv_status mv_conv_create(mv_conv *conv, int in_channels, int out_channels, int kernel_h,
                         int kernel_w, int stride, int padding, int dilation, const float *weight,
                         const float *bias, const mv_batchnorm *bn) {
  MV_CHECK_ARG(conv != NULL, "mv_conv_create: conv is NULL");
  memset(conv, 0, sizeof *conv);
  MV_CHECK_ARG(in_channels > 0 && out_channels > 0,
               "mv_conv_create: channels %d -> %d must be positive", in_channels, out_channels);
  MV_CHECK_ARG(kernel_h > 0 && kernel_w > 0 && kernel_h <= 64 && kernel_w <= 64,
               "mv_conv_create: kernel %dx%d must be in [1, 64]", kernel_h, kernel_w);
  MV_CHECK_ARG(stride > 0, "mv_conv_create: stride %d must be positive", stride);
  MV_CHECK_ARG(padding >= 0, "mv_conv_create: padding %d must be >= 0", padding);
  MV_CHECK_ARG(dilation > 0, "mv_conv_create: dilation %d must be positive", dilation);
  MV_CHECK_ARG(weight != NULL, "mv_conv_create: weight is NULL");
  if (bn) {
    MV_CHECK_ARG(bn->weight && bn->bias && bn->running_mean && bn->running_var,
                 "mv_conv_create: batchnorm has a NULL weight/bias/running_mean/running_var");
    MV_CHECK_ARG(bn->eps >= 0 && isfinite(bn->eps), "mv_conv_create: batchnorm eps %g invalid",
                 (double)bn->eps);
  }
  size_t k = (size_t)in_channels * kernel_h * kernel_w;
  size_t count = (size_t)out_channels * k;
  float *w = malloc(count * sizeof *w);
  float *b = malloc((size_t)out_channels * sizeof *b);
  if (!w || !b) {
    free(w);
    free(b);
    return mv_fail(MV_E_MEMORY, "mv_conv_create: out of host memory for %zu weights", count);
  }
  for (int o = 0; o < out_channels; o++) {
    /* scale = gamma / sqrt(var + eps); w' = w * scale; b' = (b - mean) * scale + beta */
    double scale = 1.0, shift = bias ? (double)bias[o] : 0.0;
    if (bn) {
      double var = (double)bn->running_var[o] + (double)bn->eps;
      if (!(var > 0)) {
        free(w);
        free(b);
        return mv_fail(MV_E_ARGUMENT,
                       "mv_conv_create: batchnorm running_var[%d] + eps = %g is not positive", o,
                       var);
      }
      scale = (double)bn->weight[o] / sqrt(var);
      shift = (shift - (double)bn->running_mean[o]) * scale + (double)bn->bias[o];
    }
    for (size_t i = 0; i < k; i++) w[o * k + i] = (float)((double)weight[o * k + i] * scale);
    b[o] = (float)shift;
  }
  mv_status status = mv_tensor_new(&conv->weight, out_channels, (int)k, 1, 1);
  if (status == MV_OK) status = mv_tensor_upload(&conv->weight, w);
  if (status == MV_OK && (bias || bn)) {
    status = mv_tensor_new(&conv->bias, out_channels, 1, 1, 1);
    if (status == MV_OK) status = mv_tensor_upload(&conv->bias, b);
  }
  free(w);
  free(b);
  if (status != MV_OK) {
    mv_conv_free(conv);
    return mv_fail_context(status, "mv_conv_create(%d->%d, %dx%d)", in_channels, out_channels,
                           kernel_h, kernel_w);
  }
  conv->in_channels = in_channels;
  conv->out_channels = out_channels;
  conv->kernel_h = kernel_h;
  conv->kernel_w = kernel_w;
  conv->stride = stride;
  conv->padding = padding;
  conv->dilation = dilation;
  return MV_OK;
}

void mv_conv_free(mv_conv *conv) {
  if (!conv) return;
  mv_tensor_free(&conv->weight);
  mv_tensor_free(&conv->bias);
  memset(conv, 0, sizeof *conv);
}

static int tensors_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer) return 0;
  size_t a0 = a->offset, a1 = a->offset + mv_tensor_numel(a);
  size_t b0 = b->offset, b1 = b->offset + mv_tensor_numel(b);
  return a0 < b1 && b0 < a1;
}

static mv_status epilogue(const mv_conv *conv, mv_tensor *y, const mv_tensor *residual,
                          int relu) {
  int has_bias = !mv_tensor_is_empty(&conv->bias);
  if (residual) {
    cl_kernel kernel = NULL;
    MV_TRY(mv_kernel_get("conv", "bias_residual_act", &kernel));
    cl_ulong y_off = y->offset, r_off = residual->offset;
    cl_int channels = y->c, plane = y->h * y->w, has = has_bias, act = relu;
    cl_long total = (cl_long)mv_tensor_numel(y);
    cl_mem bias = has_bias ? conv->bias.buffer : y->buffer;
    cl_ulong bias_off = has_bias ? conv->bias.offset : 0;
    MV_TRY(mv_kernel_args(kernel, 11, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                          sizeof channels, &channels, sizeof plane, &plane, sizeof total, &total,
                          sizeof(cl_mem), &bias, sizeof bias_off, &bias_off, sizeof has, &has,
                          sizeof(cl_mem), &residual->buffer, sizeof r_off, &r_off, sizeof act,
                          &act));
    return mv_kernel_run_1d(kernel, "bias_residual_act", (size_t)total);
  }
  if (!has_bias && !relu) return MV_OK;
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("conv", "bias_act", &kernel));
  cl_ulong y_off = y->offset;
  cl_int channels = y->c, plane = y->h * y->w, has = has_bias, act = relu;
  cl_long total = (cl_long)mv_tensor_numel(y);
  cl_mem bias = has_bias ? conv->bias.buffer : y->buffer;
  cl_ulong bias_off = has_bias ? conv->bias.offset : 0;
  MV_TRY(mv_kernel_args(kernel, 9, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                        sizeof channels, &channels, sizeof plane, &plane, sizeof total, &total,
                        sizeof(cl_mem), &bias, sizeof bias_off, &bias_off, sizeof has, &has,
                        sizeof act, &act));
  return mv_kernel_run_1d(kernel, "bias_act", (size_t)total);
}

static mv_status conv_im2col(const mv_conv *conv, const mv_tensor *x, mv_tensor *y) {
  const int out_h = y->h, out_w = y->w;
  const size_t k = (size_t)conv->in_channels * conv->kernel_h * conv->kernel_w;
  size_t rows = workspace_limit / (k * out_w * sizeof(float));
  if (rows < 1) rows = 1;
  if (rows > (size_t)out_h) rows = (size_t)out_h;
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("conv", "im2col", &kernel));
  cl_mem col = NULL;
  MV_TRY(mv_buffer_acquire(k * rows * out_w * sizeof(float), &col));
  mv_status status = MV_OK;
  const size_t out_plane = (size_t)out_h * out_w;
  for (int n = 0; n < x->n && status == MV_OK; n++) {
    for (int row0 = 0; row0 < out_h && status == MV_OK; row0 += (int)rows) {
      int band = out_h - row0 < (int)rows ? out_h - row0 : (int)rows;
      cl_ulong x_off = x->offset + (size_t)n * x->c * x->h * x->w, col_off = 0;
      cl_int channels = x->c, height = x->h, width = x->w, kh = conv->kernel_h,
             kw = conv->kernel_w, stride = conv->stride, pad = conv->padding,
             dil = conv->dilation, ow = out_w, r0 = row0, nrows = band;
      status = mv_kernel_args(kernel, 15, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                              sizeof channels, &channels, sizeof height, &height, sizeof width,
                              &width, sizeof kh, &kh, sizeof kw, &kw, sizeof stride, &stride,
                              sizeof pad, &pad, sizeof dil, &dil, sizeof ow, &ow, sizeof r0, &r0,
                              sizeof nrows, &nrows, sizeof(cl_mem), &col, sizeof col_off,
                              &col_off);
      size_t columns = (size_t)band * out_w;
      if (status == MV_OK) status = mv_kernel_run_1d(kernel, "im2col", k * columns);
      if (status != MV_OK) break;
      mv_matrix a = {conv->weight.buffer, conv->weight.offset, k};
      mv_matrix b = {col, 0, columns};
      mv_matrix c = {y->buffer, y->offset + (size_t)n * y->c * out_plane + (size_t)row0 * out_w,
                     out_plane};
      status = mv_gemm(0, 0, (size_t)conv->out_channels, columns, k, 1.0f, a, b, 0.0f, c);
    }
  }
  /* The pool hands the workspace out again only after queued work using it
   * was enqueued before any later use (in-order queue), so release now. */
  mv_buffer_release(col);
  return status;
}

static mv_status conv_1x1(const mv_conv *conv, const mv_tensor *x, mv_tensor *y) {
  const size_t plane = (size_t)x->h * x->w;
  for (int n = 0; n < x->n; n++) {
    mv_matrix a = {conv->weight.buffer, conv->weight.offset, (size_t)conv->in_channels};
    mv_matrix b = {x->buffer, x->offset + (size_t)n * x->c * plane, plane};
    mv_matrix c = {y->buffer, y->offset + (size_t)n * y->c * plane, plane};
    MV_TRY(mv_gemm(0, 0, (size_t)conv->out_channels, plane, (size_t)conv->in_channels, 1.0f, a, b,
                   0.0f, c));
  }
  return MV_OK;
}

/* ---- host path ------------------------------------------------------------------------ */

/* A host band of im2col columns (or, for a direct 1x1 conv, of output) stays
 * under this many bytes, and under the workspace bound. */
enum { HOST_BAND_BYTES = 4 << 20 };

/* Per-worker host im2col workspaces, kept between calls (convolutions run
 * from one thread at a time, like the queue; the lock makes sure). */
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
enum { MAX_HOST_WORKERS = 64 };
static float *host_workspace[MAX_HOST_WORKERS];
static size_t host_workspace_floats[MAX_HOST_WORKERS];

/* Caller holds host_lock. */
static float *host_scratch(int worker, size_t floats) {
  if (floats > host_workspace_floats[worker]) {
    free(host_workspace[worker]);
    host_workspace[worker] = malloc(floats * sizeof(float));
    host_workspace_floats[worker] = host_workspace[worker] ? floats : 0;
  }
  return host_workspace[worker];
}

/* The im2col kernel's layout for output rows [row0, row0 + rows) of one item:
 * col[(c*kh + ky)*kw + kx][r*out_w + ox] = x[c][oy*stride - pad + ky*dil]
 * [ox*stride - pad + kx*dil], zero outside the image. */
static void host_im2col(const mv_conv *conv, const float *x, int height, int width, int out_w,
                        int row0, int rows, float *col) {
  const int kh = conv->kernel_h, kw = conv->kernel_w, s = conv->stride, p = conv->padding,
            d = conv->dilation;
  const size_t columns = (size_t)rows * out_w;
  for (int c = 0; c < conv->in_channels; c++)
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++) {
        float *dst = col + ((size_t)(c * kh + ky) * kw + kx) * columns;
        const int shift = kx * d - p; /* ix = ox * s + shift */
        /* Output columns [lo, hi) read inside the row; the rest is padding. */
        int lo = shift >= 0 ? 0 : (-shift + s - 1) / s;
        int hi = width - 1 - shift < 0 ? 0 : (width - 1 - shift) / s + 1;
        if (hi > out_w) hi = out_w;
        if (lo > hi) lo = hi;
        for (int r = 0; r < rows; r++, dst += out_w) {
          const int iy = (row0 + r) * s - p + ky * d;
          if (iy < 0 || iy >= height) {
            memset(dst, 0, (size_t)out_w * sizeof *dst);
            continue;
          }
          const float *src = x + ((size_t)c * height + iy) * width;
          if (lo > 0) memset(dst, 0, (size_t)lo * sizeof *dst);
          if (s == 1) {
            memcpy(dst + lo, src + lo + shift, (size_t)(hi - lo) * sizeof *dst);
          } else {
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * s + shift];
          }
          if (hi < out_w) memset(dst + hi, 0, (size_t)(out_w - hi) * sizeof *dst);
        }
      }
}

/* y[o][0..count) (rows `ld` apart) = relu?(y + bias[o]), like the bias_act kernel;
 * with a residual (rows `ld` apart too): relu?(y + bias[o] + residual), like
 * the bias_residual_act kernel. */
static void host_bias_act(float *y, size_t ld, int channels, size_t count, const float *bias,
                          const float *residual, int relu) {
  if (residual) {
    for (int o = 0; o < channels; o++) {
      float *restrict row = y + (size_t)o * ld;
      const float *restrict r = residual + (size_t)o * ld;
      const float b = bias ? bias[o] : 0.0f;
      if (relu) {
        for (size_t i = 0; i < count; i++) {
          float v = row[i] + b + r[i];
          row[i] = v > 0.0f ? v : 0.0f;
        }
      } else {
        for (size_t i = 0; i < count; i++) row[i] = row[i] + b + r[i];
      }
    }
    return;
  }
  if (!bias && !relu) return;
  for (int o = 0; o < channels; o++) {
    float *row = y + (size_t)o * ld;
    const float b = bias ? bias[o] : 0.0f;
    if (bias && relu) {
      for (size_t i = 0; i < count; i++) {
        float v = row[i] + b;
        row[i] = v > 0.0f ? v : 0.0f;
      }
    } else if (bias) {
      for (size_t i = 0; i < count; i++) row[i] += b;
    } else {
      for (size_t i = 0; i < count; i++) row[i] = row[i] > 0.0f ? row[i] : 0.0f;
    }
  }
}

/* One host convolution, split into tasks of one band each (of output rows
 * through im2col, or of output columns for a direct 1x1 conv). */
typedef struct host_conv_job {
  const mv_conv *conv;
  const float *x, *weight, *bias, *residual; /* residual: like y, or NULL */
  float *y;
  int in_h, in_w, out_h, out_w, relu, direct;
  size_t k, in_item, out_item, in_plane, out_plane;
  size_t band;           /* rows or columns per band */
  int bands;             /* per batch item */
  float *scratch[MAX_HOST_WORKERS];
  atomic_int failed;     /* a worker found no workspace */
} host_conv_job;

static void host_conv_band(void *context, int task, int worker) {
  host_conv_job *job = context;
  const int item = task / job->bands, b = task % job->bands, m = job->conv->out_channels;
  const float *x = job->x + item * job->in_item;
  float *y = job->y + item * job->out_item;
  const float *residual = job->residual ? job->residual + item * job->out_item : NULL;
  if (job->direct) { /* B is x itself */
    size_t j0 = (size_t)b * job->band;
    size_t columns = job->out_plane - j0 < job->band ? job->out_plane - j0 : job->band;
    mv_host_sgemm(0, 0, (size_t)m, columns, job->k, 1.0f, job->weight, job->k, x + j0,
                  job->in_plane, 0.0f, y + j0, job->out_plane);
    host_bias_act(y + j0, job->out_plane, m, columns, job->bias, residual ? residual + j0 : NULL,
                  job->relu);
    return;
  }
  int row0 = b * (int)job->band;
  int rows = job->out_h - row0 < (int)job->band ? job->out_h - row0 : (int)job->band;
  size_t columns = (size_t)rows * job->out_w;
  float *col = job->scratch[worker];
  if (!col) {
    atomic_store(&job->failed, 1);
    return;
  }
  host_im2col(job->conv, x, job->in_h, job->in_w, job->out_w, row0, rows, col);
  float *c = y + (size_t)row0 * job->out_w;
  mv_host_sgemm(0, 0, (size_t)m, columns, job->k, 1.0f, job->weight, job->k, col, columns, 0.0f,
                c, job->out_plane);
  host_bias_act(c, job->out_plane, m, columns, job->bias,
                residual ? residual + (size_t)row0 * job->out_w : NULL, job->relu);
}

static mv_status conv_host(const mv_conv *conv, const mv_tensor *x, const mv_tensor *residual,
                           mv_tensor *y, int relu) {
  host_conv_job job;
  memset(&job, 0, sizeof job);
  const int m = conv->out_channels;
  job.conv = conv;
  job.in_h = x->h, job.in_w = x->w, job.out_h = y->h, job.out_w = y->w, job.relu = relu;
  job.direct = conv->kernel_h == 1 && conv->kernel_w == 1 && conv->stride == 1 &&
               conv->padding == 0;
  job.k = (size_t)conv->in_channels * conv->kernel_h * conv->kernel_w;
  job.in_plane = (size_t)x->h * x->w, job.out_plane = (size_t)y->h * y->w;
  job.in_item = (size_t)x->c * job.in_plane, job.out_item = (size_t)y->c * job.out_plane;
  const int has_bias = !mv_tensor_is_empty(&conv->bias);
  if (job.k > INT_MAX || job.out_plane > INT_MAX)
    return mv_fail(MV_E_ARGUMENT, "mv_conv2d: %zu x %zu GEMM exceeds the host BLAS's integers",
                   job.k, job.out_plane);

  /* Bands: under the byte bound, and at least one per worker. */
  const int workers = mv_host_workers() < MAX_HOST_WORKERS ? mv_host_workers() : MAX_HOST_WORKERS;
  const size_t band_bytes = workspace_limit < HOST_BAND_BYTES ? workspace_limit : HOST_BAND_BYTES;
  const size_t min_bands = ((size_t)workers + x->n - 1) / x->n;
  const size_t extent = job.direct ? job.out_plane : (size_t)y->h;
  size_t band = job.direct ? band_bytes / ((size_t)m * sizeof(float))
                           : band_bytes / (job.k * y->w * sizeof(float));
  if (band > (extent + min_bands - 1) / min_bands) band = (extent + min_bands - 1) / min_bands;
  if (band < 1) band = 1;
  job.band = band;
  job.bands = (int)((extent + band - 1) / band);
  const size_t tasks = (size_t)x->n * job.bands;
  if (tasks > INT_MAX)
    return mv_fail(MV_E_ARGUMENT, "mv_conv2d: %zu host bands are too many", tasks);

  mv_host_map map;
  mv_host_map_init(&map);
  MV_TRY(mv_host_map_add(&map, x->buffer, x->offset, (size_t)x->n * job.in_item, 0));
  MV_TRY(mv_host_map_add(&map, y->buffer, y->offset, (size_t)y->n * job.out_item, 1));
  MV_TRY(mv_host_map_add(&map, conv->weight.buffer, conv->weight.offset, (size_t)m * job.k, 0));
  if (has_bias) MV_TRY(mv_host_map_add(&map, conv->bias.buffer, conv->bias.offset, (size_t)m, 0));
  if (residual)
    MV_TRY(mv_host_map_add(&map, residual->buffer, residual->offset, mv_tensor_numel(residual),
                           0));
  MV_TRY(mv_host_map_begin(&map));
  job.x = mv_host_map_ptr(&map, x->buffer, x->offset);
  job.y = mv_host_map_ptr(&map, y->buffer, y->offset);
  job.weight = mv_host_map_ptr(&map, conv->weight.buffer, conv->weight.offset);
  job.bias = has_bias ? mv_host_map_ptr(&map, conv->bias.buffer, conv->bias.offset) : NULL;
  job.residual = residual ? mv_host_map_ptr(&map, residual->buffer, residual->offset) : NULL;

  pthread_mutex_lock(&host_lock);
  if (!job.direct)
    for (int w = 0; w < workers; w++) job.scratch[w] = host_scratch(w, job.k * band * y->w);
  /* Each band's BLAS call runs on one thread: the workers are the parallelism. */
  int blas_threads = workers > 1 ? mv_host_blas_threads(1) : 0;
  mv_host_parallel((int)tasks, host_conv_band, &job);
  if (blas_threads) mv_host_blas_threads(blas_threads);
  pthread_mutex_unlock(&host_lock);
  mv_status status = MV_OK;
  if (atomic_load(&job.failed))
    status = mv_fail(MV_E_MEMORY, "mv_conv2d: no host memory for a %zu-byte im2col band",
                     job.k * band * y->w * sizeof(float));
  mv_status unmapped = mv_host_map_end(&map);
  return status != MV_OK ? status : unmapped;
}

static mv_status conv2d(const mv_conv *conv, const mv_tensor *x, const mv_tensor *residual,
                        mv_tensor *y, int flags) {
  MV_CHECK_ARG(conv != NULL, "mv_conv2d: conv is NULL");
  MV_CHECK_ARG(!mv_tensor_is_empty(&conv->weight), "mv_conv2d: conv has no weights (not created "
                                                   "or already freed)");
  MV_CHECK_ARG((flags & ~MV_CONV_RELU) == 0, "mv_conv2d: unknown flags 0x%x", (unsigned)flags);
  MV_TRY(mv_tensor_check(x, "mv_conv2d", "x"));
  if (x->c != conv->in_channels)
    return mv_fail(MV_E_MISMATCH, "mv_conv2d: x has %d channels (%dx%dx%dx%d), the conv expects %d",
                   x->c, x->n, x->c, x->h, x->w, conv->in_channels);
  int out_h = mv_conv_out_size(x->h, conv->kernel_h, conv->stride, conv->padding, conv->dilation);
  int out_w = mv_conv_out_size(x->w, conv->kernel_w, conv->stride, conv->padding, conv->dilation);
  MV_CHECK_ARG(out_h > 0 && out_w > 0,
               "mv_conv2d: input %dx%d is smaller than the %dx%d kernel (dilation %d, padding %d)",
               x->h, x->w, conv->kernel_h, conv->kernel_w, conv->dilation, conv->padding);
  MV_CHECK_ARG(y != NULL, "mv_conv2d: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, conv->out_channels, out_h, out_w, "mv_conv2d", "y",
                           &allocated));
  mv_status status = MV_OK;
  if (tensors_overlap(x, y))
    status = mv_fail(MV_E_ARGUMENT, "mv_conv2d: y overlaps x in the same buffer");
  if (status == MV_OK && residual) {
    status = mv_tensor_check(residual, "mv_conv2d_residual", "residual");
    if (status == MV_OK && (residual->n != y->n || residual->c != y->c || residual->h != y->h ||
                            residual->w != y->w))
      status = mv_fail(MV_E_MISMATCH, "mv_conv2d_residual: residual is %dx%dx%dx%d but y is "
                       "%dx%dx%dx%d", residual->n, residual->c, residual->h, residual->w, y->n,
                       y->c, y->h, y->w);
    if (status == MV_OK && tensors_overlap(residual, y))
      status = mv_fail(MV_E_ARGUMENT, "mv_conv2d_residual: residual overlaps y");
  }
  int direct = conv->kernel_h == 1 && conv->kernel_w == 1 && conv->stride == 1 &&
               conv->padding == 0;
  int relu = (flags & MV_CONV_RELU) != 0;
  mv_gemm_engine engine = MV_GEMM_CLBLAST;
  if (status == MV_OK) status = mv_gemm_engine_current(&engine);
  if (status == MV_OK && engine == MV_GEMM_HOST) {
    status = conv_host(conv, x, residual, y, relu);
  } else if (status == MV_OK) {
    status = direct ? conv_1x1(conv, x, y) : conv_im2col(conv, x, y);
    if (status == MV_OK) status = epilogue(conv, y, residual, relu);
  }
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_conv2d(const mv_conv *conv, const mv_tensor *x, mv_tensor *y, int flags) {
  double t0 = mv_ops_profile_enter();
  mv_status status = conv2d(conv, x, NULL, y, flags);
  mv_ops_profile_leave(MV_OP_CONV, t0);
  return status;
}

mv_status mv_conv2d_residual(const mv_conv *conv, const mv_tensor *x, const mv_tensor *residual,
                             mv_tensor *y, int flags) {
  MV_CHECK_ARG(residual == NULL || residual != y, "mv_conv2d_residual: residual is y");
  if (residual && mv_tensor_is_empty(residual)) residual = NULL;
  if (residual && !mv_ops_fast_paths(-1)) {
    /* Unfused, as before the fused epilogue (benchmarks compare the two). */
    MV_CHECK_ARG(y != NULL, "mv_conv2d: y is NULL");
    int fresh = mv_tensor_is_empty(y);
    mv_status status = mv_conv2d(conv, x, y, 0);
    if (status == MV_OK) status = mv_add(y, residual, y, flags & MV_CONV_RELU);
    if (status != MV_OK && fresh) mv_tensor_free(y);
    return status;
  }
  double t0 = mv_ops_profile_enter();
  mv_status status = conv2d(conv, x, residual, y, flags);
  mv_ops_profile_leave(MV_OP_CONV, t0);
  return status;
}
