/* Every matrix product of the library goes through here, so the GEMM engine
 * can be chosen per device in one place. Today that is CLBlast everywhere. */
#include <clblast_c.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/ops.h"

typedef enum gemm_engine { ENGINE_CLBLAST = 0 } gemm_engine;

/* CLBlast has no tuning entry for PoCL's CPU device and its generic
 * defaults reach ~2 GFLOP/s there; these Xgemm parameters (found by a small
 * search on a 2-core AVX2 machine) give 13-19 GFLOP/s. The results are the
 * same GEMM, only the tiling differs. */
static const char *pocl_xgemm_names[] = {"GEMMK", "KREG", "KWG",  "KWI", "MDIMA", "MDIMC",
                                         "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                         "STRM",  "STRN", "VWM",  "VWN"};
static const size_t pocl_xgemm_values[] = {0, 1, 32, 2, 8, 8, 64, 16, 16, 128, 1, 1, 0, 0, 8, 8};

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_device_id configured_device;

/* The one place where an engine is chosen (and configured) for a device. */
static gemm_engine choose_engine(const mv_runtime *rt) {
  pthread_mutex_lock(&engine_lock);
  if (configured_device != rt->device) {
    configured_device = rt->device;
    int pocl_cpu = !rt->info.is_gpu && strstr(rt->info.platform, "Portable Computing Language");
    if (pocl_cpu && !getenv("MIVOS_CLBLAST_DEFAULTS"))
      /* Best effort: on failure CLBlast keeps its defaults, which also work. */
      (void)CLBlastOverrideParameters(rt->device, "Xgemm", CLBlastPrecisionSingle,
                                      sizeof pocl_xgemm_values / sizeof pocl_xgemm_values[0],
                                      pocl_xgemm_names, pocl_xgemm_values);
  }
  pthread_mutex_unlock(&engine_lock);
  return ENGINE_CLBLAST;
}

/* Checks one operand: stored rows x cols (row-major), `batch` copies
 * `stride` elements apart, inside its buffer of the runtime's context. */
static mv_status check_operand(const mv_runtime *rt, const char *op, const char *name,
                               mv_matrix x, size_t rows, size_t cols, size_t stride, size_t batch) {
  MV_CHECK_ARG(x.buffer != NULL, "%s: matrix %s has no buffer", op, name);
  MV_CHECK_ARG(x.ld >= cols, "%s: leading dimension of %s is %zu, smaller than its %zu columns",
               op, name, x.ld, cols);
  cl_context context = NULL;
  size_t size = 0;
  cl_int code = clGetMemObjectInfo(x.buffer, CL_MEM_CONTEXT, sizeof context, &context, NULL);
  if (code == CL_SUCCESS) code = clGetMemObjectInfo(x.buffer, CL_MEM_SIZE, sizeof size, &size, NULL);
  if (code != CL_SUCCESS)
    return mv_fail(MV_E_ARGUMENT, "%s: matrix %s's buffer is not a valid OpenCL buffer: %s (%d)",
                   op, name, mv_cl_error_name(code), (int)code);
  if (context != rt->context)
    return mv_fail(MV_E_MISMATCH, "%s: matrix %s belongs to another OpenCL context", op, name);
  size_t last = x.offset + (batch - 1) * stride + (rows - 1) * x.ld + cols;
  if (last * sizeof(float) > size)
    return mv_fail(MV_E_ARGUMENT,
                   "%s: matrix %s (%zu x %zu, ld %zu, offset %zu, %zu x stride %zu) needs %zu "
                   "bytes but its buffer has %zu",
                   op, name, rows, cols, x.ld, x.offset, batch, stride, last * sizeof(float), size);
  return MV_OK;
}

static mv_status check_gemm(const char *op, const mv_runtime *rt, int ta, int tb, size_t m,
                            size_t n, size_t k, mv_matrix a, size_t sa, mv_matrix b, size_t sb,
                            mv_matrix c, size_t sc, size_t batch) {
  MV_CHECK_ARG(ta == 0 || ta == 1, "%s: transpose_a must be 0 or 1, got %d", op, ta);
  MV_CHECK_ARG(tb == 0 || tb == 1, "%s: transpose_b must be 0 or 1, got %d", op, tb);
  MV_CHECK_ARG(m > 0 && n > 0 && k > 0, "%s: sizes m=%zu n=%zu k=%zu must be positive", op, m, n,
               k);
  MV_CHECK_ARG(batch > 0, "%s: batch must be positive", op);
  MV_TRY(check_operand(rt, op, "A", a, ta ? k : m, ta ? m : k, sa, batch));
  MV_TRY(check_operand(rt, op, "B", b, tb ? n : k, tb ? k : n, sb, batch));
  MV_TRY(check_operand(rt, op, "C", c, m, n, sc, batch));
  if (batch > 1) MV_CHECK_ARG(sc >= m * n || sc >= (m - 1) * c.ld + n,
                              "%s: stride_c %zu makes the outputs overlap", op, sc);
  return MV_OK;
}

mv_status mv_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                  mv_matrix a, mv_matrix b, float beta, mv_matrix c) {
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  MV_TRY(check_gemm("mv_gemm", rt, transpose_a, transpose_b, m, n, k, a, 0, b, 0, c, 0, 1));
  switch (choose_engine(rt)) {
    case ENGINE_CLBLAST:
    default: {
      cl_event event = NULL;
      CLBlastStatusCode code = CLBlastSgemm(
          CLBlastLayoutRowMajor, transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo,
          transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.buffer,
          a.offset, a.ld, b.buffer, b.offset, b.ld, beta, c.buffer, c.offset, c.ld, &rt->queue,
          &event);
      if (event) clReleaseEvent(event);
      if (code != CLBlastSuccess)
        return mv_fail_context(mv_clblast_check(code, "CLBlastSgemm"),
                               "mv_gemm(m=%zu n=%zu k=%zu)", m, n, k);
      return MV_OK;
    }
  }
}

mv_status mv_gemm_batched(int transpose_a, int transpose_b, size_t m, size_t n, size_t k,
                          float alpha, mv_matrix a, size_t stride_a, mv_matrix b, size_t stride_b,
                          float beta, mv_matrix c, size_t stride_c, size_t batch) {
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  MV_TRY(check_gemm("mv_gemm_batched", rt, transpose_a, transpose_b, m, n, k, a, stride_a, b,
                    stride_b, c, stride_c, batch));
  if (batch == 1)
    return mv_gemm(transpose_a, transpose_b, m, n, k, alpha, a, b, beta, c);
  switch (choose_engine(rt)) {
    case ENGINE_CLBLAST:
    default: {
      cl_event event = NULL;
      CLBlastStatusCode code = CLBlastSgemmStridedBatched(
          CLBlastLayoutRowMajor, transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo,
          transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.buffer,
          a.offset, a.ld, stride_a, b.buffer, b.offset, b.ld, stride_b, beta, c.buffer, c.offset,
          c.ld, stride_c, batch, &rt->queue, &event);
      if (event) clReleaseEvent(event);
      if (code != CLBlastSuccess)
        return mv_fail_context(mv_clblast_check(code, "CLBlastSgemmStridedBatched"),
                               "mv_gemm_batched(m=%zu n=%zu k=%zu batch=%zu)", m, n, k, batch);
      return MV_OK;
    }
  }
}
