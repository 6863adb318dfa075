/* Pooling: max pooling (ResNet stem), global average pooling and its
 * broadcast back to a plane (ASPP image pooling). */
#include <math.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

enum { AVG_GROUP = 64 }; /* matches AVG_GROUP in kernels/pooling.cl */

/* ---- host paths (mv_ops_use_host): one task per band of output rows of a plane ---- */

typedef struct host_pool_job {
  const float *x;
  float *y;
  int height, width, out_h, out_w, kernel, stride, pad;
  int bands, band_rows; /* per plane */
  size_t plane_size;    /* global avgpool / broadcast: elements per plane */
} host_pool_job;

static void host_maxpool_band(void *context, int task, int worker) {
  (void)worker;
  const host_pool_job *j = context;
  const int plane = task / j->bands, band = task % j->bands;
  const float *x = j->x + (size_t)plane * j->height * j->width;
  float *y = j->y + (size_t)plane * j->out_h * j->out_w;
  const int oy0 = band * j->band_rows;
  const int oy1 = oy0 + j->band_rows < j->out_h ? oy0 + j->band_rows : j->out_h;
  for (int oy = oy0; oy < oy1; oy++) {
    int iy0 = oy * j->stride - j->pad, iy1 = iy0 + j->kernel;
    if (iy0 < 0) iy0 = 0;
    if (iy1 > j->height) iy1 = j->height;
    float *out = y + (size_t)oy * j->out_w;
    for (int ox = 0; ox < j->out_w; ox++) {
      int ix0 = ox * j->stride - j->pad, ix1 = ix0 + j->kernel;
      if (ix0 < 0) ix0 = 0;
      if (ix1 > j->width) ix1 = j->width;
      float best = -INFINITY;
      for (int iy = iy0; iy < iy1; iy++) {
        const float *row = x + (size_t)iy * j->width;
        for (int ix = ix0; ix < ix1; ix++) {
          const float v = row[ix];
          if (v > best || isnan(v)) best = v; /* NaN propagates as in PyTorch */
        }
      }
      out[ox] = best;
    }
  }
}

static void host_avgpool_plane(void *context, int task, int worker) {
  (void)worker;
  const host_pool_job *j = context;
  const float *x = j->x + (size_t)task * j->plane_size;
  double sum = 0.0;
  for (size_t i = 0; i < j->plane_size; i++) sum += x[i];
  j->y[task] = (float)(sum / (double)j->plane_size);
}

static void host_broadcast_plane(void *context, int task, int worker) {
  (void)worker;
  const host_pool_job *j = context;
  const float v = j->x[task];
  float *y = j->y + (size_t)task * j->plane_size;
  for (size_t i = 0; i < j->plane_size; i++) y[i] = v;
}

/* Maps x (read) and y (write), runs `tasks` tasks of fn, unmaps. */
static mv_status host_run(const mv_tensor *x, mv_tensor *y, host_pool_job *job, int tasks,
                          mv_host_task fn) {
  mv_host_map map;
  mv_host_map_init(&map);
  MV_TRY(mv_host_map_add(&map, x->buffer, x->offset, mv_tensor_numel(x), 0));
  MV_TRY(mv_host_map_add(&map, y->buffer, y->offset, mv_tensor_numel(y), 1));
  MV_TRY(mv_host_map_begin(&map));
  job->x = mv_host_map_ptr(&map, x->buffer, x->offset);
  job->y = mv_host_map_ptr(&map, y->buffer, y->offset);
  mv_host_parallel(tasks, fn, job);
  return mv_host_map_end(&map);
}

static mv_status maxpool2d(const mv_tensor *x, int kernel_size, int stride, int padding,
                           mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_maxpool2d", "x"));
  MV_CHECK_ARG(kernel_size > 0 && stride > 0 && padding >= 0,
               "mv_maxpool2d: kernel %d, stride %d must be positive and padding %d >= 0",
               kernel_size, stride, padding);
  MV_CHECK_ARG(2 * padding <= kernel_size,
               "mv_maxpool2d: padding %d must be at most half the kernel %d (PyTorch's rule)",
               padding, kernel_size);
  MV_CHECK_ARG(x->h + 2 * padding >= kernel_size && x->w + 2 * padding >= kernel_size,
               "mv_maxpool2d: input %dx%d with padding %d is smaller than the kernel %d", x->h,
               x->w, padding, kernel_size);
  MV_CHECK_ARG(y != NULL, "mv_maxpool2d: y is NULL");
  int out_h = (x->h + 2 * padding - kernel_size) / stride + 1;
  int out_w = (x->w + 2 * padding - kernel_size) / stride + 1;
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, out_h, out_w, "mv_maxpool2d", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_maxpool2d: y overlaps x");
  const long planes = (long)x->n * x->c;
  if (status == MV_OK && planes * out_h <= (1L << 30) && mv_ops_use_host()) {
    host_pool_job job = {0};
    job.height = x->h, job.width = x->w, job.out_h = out_h, job.out_w = out_w;
    job.kernel = kernel_size, job.stride = stride, job.pad = padding;
    mv_host_split_rows((int)planes, out_h, &job.bands, &job.band_rows);
    status = host_run(x, y, &job, (int)planes * job.bands, host_maxpool_band);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "maxpool2d", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_int h = x->h, w = x->w, oh = out_h, ow = out_w, k = kernel_size, s = stride, p = padding;
  cl_long total = (cl_long)mv_tensor_numel(y);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 12, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof k, &k, sizeof s, &s,
                            sizeof p, &p, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "maxpool2d", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_maxpool2d(const mv_tensor *x, int kernel_size, int stride, int padding,
                       mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = maxpool2d(x, kernel_size, stride, padding, y);
  mv_ops_profile_leave(MV_OP_POOL, t0);
  return status;
}

static mv_status global_avgpool(const mv_tensor *x, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_global_avgpool", "x"));
  MV_CHECK_ARG(y != NULL, "mv_global_avgpool: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, 1, 1, "mv_global_avgpool", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_global_avgpool: y overlaps x");
  if (status == MV_OK && (long)x->n * x->c <= (1L << 30) && mv_ops_use_host()) {
    host_pool_job job = {0};
    job.plane_size = (size_t)x->h * x->w;
    status = host_run(x, y, &job, x->n * x->c, host_avgpool_plane);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "global_avgpool", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long plane = (cl_long)x->h * x->w, planes = (cl_long)x->n * x->c;
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 6, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof plane, &plane, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                            sizeof planes, &planes);
  size_t global = (size_t)planes * AVG_GROUP, local = AVG_GROUP;
  if (status == MV_OK) status = mv_kernel_run(kernel, "global_avgpool", 1, &global, &local);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_global_avgpool(const mv_tensor *x, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = global_avgpool(x, y);
  mv_ops_profile_leave(MV_OP_POOL, t0);
  return status;
}

static mv_status broadcast(const mv_tensor *x, int h, int w, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, "mv_broadcast", "x"));
  if (x->h != 1 || x->w != 1)
    return mv_fail(MV_E_MISMATCH, "mv_broadcast: x is %dx%dx%dx%d, expected spatial size 1x1",
                   x->n, x->c, x->h, x->w);
  MV_CHECK_ARG(h > 0 && w > 0, "mv_broadcast: size %dx%d must be positive", h, w);
  MV_CHECK_ARG(y != NULL, "mv_broadcast: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, h, w, "mv_broadcast", "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "mv_broadcast: y overlaps x");
  if (status == MV_OK && (long)x->n * x->c <= (1L << 30) && mv_ops_use_host()) {
    host_pool_job job = {0};
    job.plane_size = (size_t)h * w;
    status = host_run(x, y, &job, x->n * x->c, host_broadcast_plane);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("pooling", "broadcast", &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long plane = (cl_long)h * w, total = (cl_long)mv_tensor_numel(y);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 6, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof plane, &plane, sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off,
                            sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "broadcast", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_broadcast(const mv_tensor *x, int h, int w, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = broadcast(x, h, w, y);
  mv_ops_profile_leave(MV_OP_POOL, t0);
  return status;
}
