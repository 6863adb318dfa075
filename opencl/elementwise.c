/* Element-wise operators (ReLU, sigmoid, residual add) and channel
 * concatenation. Outputs follow the ops.h convention; an element-wise output
 * may be the input itself but must not partly overlap it.
 *
 * Also the operator path switch (mv_ops_fast_paths) and the per-operator
 * profile. On the host GEMM engine these operators run on the host over the
 * mapped buffers, split into chunks on the host thread pool: PoCL runs their
 * one-element-per-work-item kernels far below memory bandwidth. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

/* ---- operator paths and profile ------------------------------------------------------ */

static int fast_paths = 1;

int mv_ops_fast_paths(int enable) {
  int previous = fast_paths;
  if (enable >= 0) fast_paths = enable != 0;
  return previous;
}

int mv_ops_use_host(void) {
  if (!fast_paths) return 0;
  mv_gemm_engine engine = MV_GEMM_CLBLAST;
  return mv_gemm_engine_current(&engine) == MV_OK && engine == MV_GEMM_HOST;
}

static pthread_mutex_t profile_lock = PTHREAD_MUTEX_INITIALIZER;
static int profiling, profile_depth;
static double profile_seconds[MV_OP_KINDS];
static long profile_calls[MV_OP_KINDS];

const char *mv_op_kind_name(mv_op_kind kind) {
  static const char *names[MV_OP_KINDS] = {"conv (+bias/ReLU/residual)", "add (+ReLU)",
                                           "relu / sigmoid", "maxpool / avgpool / broadcast",
                                           "resize bilinear / area", "pad / crop", "concat"};
  return kind >= 0 && kind < MV_OP_KINDS ? names[kind] : "?";
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void mv_ops_profile_start(void) {
  pthread_mutex_lock(&profile_lock);
  memset(profile_seconds, 0, sizeof profile_seconds);
  memset(profile_calls, 0, sizeof profile_calls);
  profile_depth = 0;
  profiling = 1;
  pthread_mutex_unlock(&profile_lock);
}

void mv_ops_profile_stop(double seconds[MV_OP_KINDS], long calls[MV_OP_KINDS]) {
  pthread_mutex_lock(&profile_lock);
  profiling = 0;
  for (int k = 0; k < MV_OP_KINDS; k++) {
    if (seconds) seconds[k] = profile_seconds[k];
    if (calls) calls[k] = profile_calls[k];
  }
  pthread_mutex_unlock(&profile_lock);
}

double mv_ops_profile_enter(void) {
  if (!profiling) return 0;
  if (profile_depth++ > 0) return 0;
  (void)mv_runtime_finish(); /* a failure shows again at the caller's next call */
  return now_seconds();
}

void mv_ops_profile_leave(mv_op_kind kind, double start) {
  if (!profiling || profile_depth <= 0) return;
  if (--profile_depth > 0) return;
  (void)mv_runtime_finish(); /* a failure shows again at the caller's next call */
  double elapsed = now_seconds() - start;
  pthread_mutex_lock(&profile_lock);
  profile_seconds[kind] += elapsed;
  profile_calls[kind]++;
  pthread_mutex_unlock(&profile_lock);
}

/* ---- host paths ---------------------------------------------------------------------- */

enum { HOST_CHUNK = 1 << 15 }; /* elements per host task */

typedef struct host_ew_job {
  const float *a, *b;
  float *y;
  size_t total;
  int op; /* 0 relu, 1 sigmoid, 2 add, 3 add + relu */
} host_ew_job;

static void host_ew_chunk(void *context, int task, int worker) {
  (void)worker;
  const host_ew_job *job = context;
  size_t i0 = (size_t)task * HOST_CHUNK;
  size_t i1 = job->total - i0 < HOST_CHUNK ? job->total : i0 + HOST_CHUNK;
  const float *restrict a = job->a;
  const float *restrict b = job->b;
  float *y = job->y;
  switch (job->op) {
  case 0:
    for (size_t i = i0; i < i1; i++) y[i] = a[i] > 0.0f ? a[i] : 0.0f;
    break;
  case 1:
    for (size_t i = i0; i < i1; i++) y[i] = 1.0f / (1.0f + expf(-a[i]));
    break;
  case 2:
    for (size_t i = i0; i < i1; i++) y[i] = a[i] + b[i];
    break;
  default:
    for (size_t i = i0; i < i1; i++) {
      float v = a[i] + b[i];
      y[i] = v > 0.0f ? v : 0.0f;
    }
    break;
  }
}

/* y = op(a[, b]) over every element on the host (a, b, y: same shape; y may alias). */
static mv_status host_elementwise(int op, const mv_tensor *a, const mv_tensor *b, mv_tensor *y) {
  const size_t total = mv_tensor_numel(y);
  mv_host_map map;
  mv_host_map_init(&map);
  MV_TRY(mv_host_map_add(&map, a->buffer, a->offset, total, 0));
  if (b) MV_TRY(mv_host_map_add(&map, b->buffer, b->offset, total, 0));
  MV_TRY(mv_host_map_add(&map, y->buffer, y->offset, total, 1));
  MV_TRY(mv_host_map_begin(&map));
  host_ew_job job = {mv_host_map_ptr(&map, a->buffer, a->offset),
                     b ? mv_host_map_ptr(&map, b->buffer, b->offset) : NULL,
                     mv_host_map_ptr(&map, y->buffer, y->offset), total, op};
  mv_host_parallel((int)((total + HOST_CHUNK - 1) / HOST_CHUNK), host_ew_chunk, &job);
  return mv_host_map_end(&map);
}

/* 1 when a and b share buffer memory at different offsets (not an exact alias). */
static int partial_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer || a->offset == b->offset) return 0;
  size_t a1 = a->offset + mv_tensor_numel(a), b1 = b->offset + mv_tensor_numel(b);
  return a->offset < b1 && b->offset < a1;
}

static int any_overlap(const mv_tensor *a, const mv_tensor *b) {
  if (a->buffer != b->buffer) return 0;
  size_t a1 = a->offset + mv_tensor_numel(a), b1 = b->offset + mv_tensor_numel(b);
  return a->offset < b1 && b->offset < a1;
}

static mv_status same_shape(const mv_tensor *a, const mv_tensor *b, const char *op,
                            const char *name_a, const char *name_b) {
  if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w)
    return mv_fail(MV_E_MISMATCH, "%s: %s is %dx%dx%dx%d but %s is %dx%dx%dx%d", op, name_a, a->n,
                   a->c, a->h, a->w, name_b, b->n, b->c, b->h, b->w);
  return MV_OK;
}

/* Runs a unary kernel (x, x_off, y, y_off, total). */
static mv_status unary(const char *op, const char *kernel_name, const mv_tensor *x, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, op, "x"));
  MV_CHECK_ARG(y != NULL, "%s: y is NULL", op);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, x->h, x->w, op, "y", &allocated));
  mv_status status = MV_OK;
  if (partial_overlap(x, y)) status = mv_fail(MV_E_ARGUMENT, "%s: y partly overlaps x", op);
  if (status == MV_OK && mv_ops_use_host()) {
    status = host_elementwise(kernel_name[0] == 'r' ? 0 : 1, x, NULL, y);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", kernel_name, &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_long total = (cl_long)mv_tensor_numel(x);
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 5, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof(cl_mem), &y->buffer, sizeof y_off, &y_off, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, kernel_name, (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_relu(const mv_tensor *x, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = unary("mv_relu", "relu", x, y);
  mv_ops_profile_leave(MV_OP_ACT, t0);
  return status;
}

mv_status mv_sigmoid(const mv_tensor *x, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = unary("mv_sigmoid", "sigmoid", x, y);
  mv_ops_profile_leave(MV_OP_ACT, t0);
  return status;
}

static mv_status add(const mv_tensor *a, const mv_tensor *b, mv_tensor *y, int relu) {
  MV_TRY(mv_tensor_check(a, "mv_add", "a"));
  MV_TRY(mv_tensor_check(b, "mv_add", "b"));
  MV_TRY(same_shape(a, b, "mv_add", "a", "b"));
  MV_CHECK_ARG(y != NULL, "mv_add: y is NULL");
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, a->n, a->c, a->h, a->w, "mv_add", "y", &allocated));
  mv_status status = MV_OK;
  if (partial_overlap(a, y) || partial_overlap(b, y))
    status = mv_fail(MV_E_ARGUMENT, "mv_add: y partly overlaps an input");
  if (status == MV_OK && mv_ops_use_host()) {
    status = host_elementwise(relu ? 3 : 2, a, b, y);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", "add", &kernel);
  cl_ulong a_off = a->offset, b_off = b->offset, y_off = y->offset;
  cl_long total = (cl_long)mv_tensor_numel(a);
  cl_int act = relu != 0;
  if (status == MV_OK)
    status = mv_kernel_args(kernel, 8, sizeof(cl_mem), &a->buffer, sizeof a_off, &a_off,
                            sizeof(cl_mem), &b->buffer, sizeof b_off, &b_off, sizeof(cl_mem),
                            &y->buffer, sizeof y_off, &y_off, sizeof total, &total, sizeof act,
                            &act);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, "add", (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_add(const mv_tensor *a, const mv_tensor *b, mv_tensor *y, int relu) {
  double t0 = mv_ops_profile_enter();
  mv_status status = add(a, b, y, relu);
  mv_ops_profile_leave(MV_OP_ADD, t0);
  return status;
}

/* Host concat: one task per (input, item) block copy. */
typedef struct host_concat_job {
  const float *src[MV_HOST_MAP_MAX];
  size_t length[MV_HOST_MAP_MAX], dst_off[MV_HOST_MAP_MAX];
  float *y;
  size_t y_item;
  int count, n;
} host_concat_job;

static void host_concat_block(void *context, int task, int worker) {
  (void)worker;
  const host_concat_job *job = context;
  int i = task / job->n, item = task % job->n;
  memcpy(job->y + (size_t)item * job->y_item + job->dst_off[i],
         job->src[i] + (size_t)item * job->length[i], job->length[i] * sizeof(float));
}

static mv_status host_concat(const mv_tensor *const *xs, int count, mv_tensor *y) {
  const size_t plane = (size_t)y->h * y->w;
  mv_host_map map;
  mv_host_map_init(&map);
  for (int i = 0; i < count; i++)
    MV_TRY(mv_host_map_add(&map, xs[i]->buffer, xs[i]->offset, mv_tensor_numel(xs[i]), 0));
  MV_TRY(mv_host_map_add(&map, y->buffer, y->offset, mv_tensor_numel(y), 1));
  MV_TRY(mv_host_map_begin(&map));
  host_concat_job job;
  memset(&job, 0, sizeof job);
  job.y = mv_host_map_ptr(&map, y->buffer, y->offset);
  job.y_item = (size_t)y->c * plane;
  job.count = count;
  job.n = y->n;
  size_t c0 = 0;
  for (int i = 0; i < count; i++) {
    job.src[i] = mv_host_map_ptr(&map, xs[i]->buffer, xs[i]->offset);
    job.length[i] = (size_t)xs[i]->c * plane;
    job.dst_off[i] = c0 * plane;
    c0 += (size_t)xs[i]->c;
  }
  mv_host_parallel(count * y->n, host_concat_block, &job);
  return mv_host_map_end(&map);
}

static mv_status concat(const mv_tensor *const *xs, int count, mv_tensor *y);

mv_status mv_concat(const mv_tensor *const *xs, int count, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = concat(xs, count, y);
  mv_ops_profile_leave(MV_OP_CONCAT, t0);
  return status;
}

static mv_status concat(const mv_tensor *const *xs, int count, mv_tensor *y) {
  MV_CHECK_ARG(xs != NULL, "mv_concat: xs is NULL");
  MV_CHECK_ARG(count > 0 && count <= 4096, "mv_concat: count %d not in [1, 4096]", count);
  MV_CHECK_ARG(y != NULL, "mv_concat: y is NULL");
  long channels = 0;
  for (int i = 0; i < count; i++) {
    char name[32];
    snprintf(name, sizeof name, "xs[%d]", i);
    MV_TRY(mv_tensor_check(xs[i], "mv_concat", name));
    if (xs[i]->n != xs[0]->n || xs[i]->h != xs[0]->h || xs[i]->w != xs[0]->w)
      return mv_fail(MV_E_MISMATCH,
                     "mv_concat: xs[%d] is %dx%dx%dx%d but xs[0] is %dx%dx%dx%d (n, h, w must "
                     "agree)", i, xs[i]->n, xs[i]->c, xs[i]->h, xs[i]->w, xs[0]->n, xs[0]->c,
                     xs[0]->h, xs[0]->w);
    channels += xs[i]->c;
  }
  MV_CHECK_ARG(channels <= (1 << 30), "mv_concat: %ld channels in total", channels);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, xs[0]->n, (int)channels, xs[0]->h, xs[0]->w, "mv_concat", "y",
                           &allocated));
  mv_status status = MV_OK;
  for (int i = 0; i < count && status == MV_OK; i++)
    if (any_overlap(xs[i], y))
      status = mv_fail(MV_E_ARGUMENT, "mv_concat: y overlaps xs[%d]", i);
  /* Up to MV_HOST_MAP_MAX - 1 inputs in distinct buffers map at once. */
  if (status == MV_OK && count < MV_HOST_MAP_MAX && (long)count * y->n <= 1 << 20 &&
      mv_ops_use_host()) {
    status = host_concat(xs, count, y);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("elementwise", "copy_blocks", &kernel);
  const size_t plane = (size_t)y->h * y->w;
  size_t c0 = 0;
  for (int i = 0; i < count && status == MV_OK; i++) {
    cl_ulong src_off = xs[i]->offset, src_stride = (size_t)xs[i]->c * plane;
    cl_ulong dst_off = y->offset + c0 * plane, dst_stride = (size_t)y->c * plane;
    cl_long length = (cl_long)src_stride, total = length * y->n;
    status = mv_kernel_args(kernel, 8, sizeof(cl_mem), &xs[i]->buffer, sizeof src_off, &src_off,
                            sizeof src_stride, &src_stride, sizeof(cl_mem), &y->buffer,
                            sizeof dst_off, &dst_off, sizeof dst_stride, &dst_stride,
                            sizeof length, &length, sizeof total, &total);
    if (status == MV_OK) status = mv_kernel_run_1d(kernel, "copy_blocks", (size_t)total);
    c0 += (size_t)xs[i]->c;
  }
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}
