/* Every matrix product of the library goes through here, so the GEMM engine
 * is chosen per device in one place:
 *
 *  - host: on a CPU device whose buffers are host memory (PoCL:
 *    CL_DEVICE_TYPE_CPU and CL_DEVICE_HOST_UNIFIED_MEMORY), OpenBLAS's
 *    cblas_sgemm runs directly on the mapped buffers. PoCL's CPU drivers
 *    keep a buffer's storage in host memory and clEnqueueMapBuffer returns a
 *    pointer into that storage: no copy. tests/test_ops.c checks it (a kernel
 *    writes the address of its buffer argument, which equals the mapped
 *    pointer) and `bench ops` times a map of a 100 MB buffer (microseconds,
 *    where a copy would take tens of milliseconds).
 *  - clblast: everywhere else (GPUs), unchanged.
 *
 * MIVOS_GEMM=clblast|host|auto overrides the automatic choice;
 * mv_gemm_set_engine (tests, benchmarks) overrides both.
 *
 * Threads: the host engine's maps are blocking on the in-order queue, so
 * every kernel enqueued before a GEMM has finished when the BLAS starts
 * (checked with a marker event), and kernels enqueued after it are enqueued
 * only once the BLAS has returned: PoCL's workers and OpenBLAS's threads
 * never compute at the same time, and OpenBLAS may use every core. */
#include <cblas.h>
#include <clblast_c.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

/* CLBlast has no tuning entry for PoCL's CPU device and its generic
 * defaults reach ~2 GFLOP/s there; these Xgemm parameters (found by a small
 * search on a 2-core AVX2 machine) give 13-19 GFLOP/s. The results are the
 * same GEMM, only the tiling differs. */
static const char *pocl_xgemm_names[] = {"GEMMK", "KREG", "KWG",  "KWI", "MDIMA", "MDIMC",
                                         "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                         "STRM",  "STRN", "VWM",  "VWN"};
static const size_t pocl_xgemm_values[] = {0, 1, 32, 2, 8, 8, 64, 16, 16, 128, 1, 1, 0, 0, 8, 8};

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
/* Properties of the device last seen (the runtime has one device per process). */
static cl_device_id configured_device;
static int device_host_memory;   /* CPU device with host-unified memory */
static int clblast_configured;   /* CLBlast's PoCL parameters set for configured_device */
static mv_gemm_engine forced_engine = MV_GEMM_AUTO; /* mv_gemm_set_engine */

const char *mv_gemm_engine_name(mv_gemm_engine engine) {
  switch (engine) {
    case MV_GEMM_AUTO: return "auto";
    case MV_GEMM_CLBLAST: return "clblast";
    case MV_GEMM_HOST: return "host";
  }
  return "unknown";
}

/* Caller holds engine_lock. */
static void configure_device(const mv_runtime *rt) {
  if (configured_device == rt->device) return;
  configured_device = rt->device;
  clblast_configured = 0;
  cl_device_type type = 0;
  cl_bool unified = CL_FALSE;
  if (clGetDeviceInfo(rt->device, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
    type = 0;
  if (clGetDeviceInfo(rt->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                      NULL) != CL_SUCCESS)
    unified = CL_FALSE;
  device_host_memory = (type & CL_DEVICE_TYPE_CPU) != 0 && unified == CL_TRUE;
}

/* Caller holds engine_lock. */
static void configure_clblast(const mv_runtime *rt) {
  if (clblast_configured) return;
  clblast_configured = 1;
  int pocl_cpu = !rt->info.is_gpu && strstr(rt->info.platform, "Portable Computing Language");
  if (pocl_cpu && !getenv("MIVOS_CLBLAST_DEFAULTS"))
    /* Best effort: on failure CLBlast keeps its defaults, which also work. */
    (void)CLBlastOverrideParameters(rt->device, "Xgemm", CLBlastPrecisionSingle,
                                    sizeof pocl_xgemm_values / sizeof pocl_xgemm_values[0],
                                    pocl_xgemm_names, pocl_xgemm_values);
}

/* MIVOS_GEMM as an engine (MV_GEMM_AUTO when unset or empty). */
static mv_status environment_engine(mv_gemm_engine *out) {
  *out = MV_GEMM_AUTO;
  const char *env = getenv("MIVOS_GEMM");
  if (!env || !env[0] || !strcmp(env, "auto")) return MV_OK;
  if (!strcmp(env, "clblast")) return *out = MV_GEMM_CLBLAST, MV_OK;
  if (!strcmp(env, "host")) return *out = MV_GEMM_HOST, MV_OK;
  return mv_fail(MV_E_ARGUMENT,
                 "MIVOS_GEMM='%s' is not a GEMM engine (expected clblast, host or auto)", env);
}

static mv_status host_unavailable(const mv_runtime *rt, const char *origin) {
  return mv_fail(MV_E_ARGUMENT,
                 "%s: the host GEMM engine needs a CPU device whose buffers are host memory "
                 "(such as PoCL); %s (%s) is not one (use clblast or auto)",
                 origin, rt->info.name, rt->info.platform);
}

/* The one place where an engine is chosen (and configured) for a device:
 * mv_gemm_set_engine, else MIVOS_GEMM, else host on a host-memory CPU device
 * and CLBlast otherwise. */
static mv_status choose_engine(const mv_runtime *rt, mv_gemm_engine *out) {
  mv_gemm_engine env = MV_GEMM_AUTO;
  pthread_mutex_lock(&engine_lock);
  configure_device(rt);
  mv_gemm_engine engine = forced_engine;
  const char *origin = "mv_gemm_set_engine";
  mv_status status = MV_OK;
  if (engine == MV_GEMM_AUTO) {
    status = environment_engine(&env);
    engine = env;
    origin = "MIVOS_GEMM";
  }
  if (status == MV_OK && engine == MV_GEMM_AUTO)
    engine = device_host_memory ? MV_GEMM_HOST : MV_GEMM_CLBLAST;
  if (status == MV_OK && engine == MV_GEMM_HOST && !device_host_memory)
    status = host_unavailable(rt, origin);
  if (status == MV_OK && engine == MV_GEMM_CLBLAST) configure_clblast(rt);
  pthread_mutex_unlock(&engine_lock);
  *out = engine;
  return status;
}

mv_status mv_gemm_set_engine(mv_gemm_engine engine) {
  MV_CHECK_ARG(engine == MV_GEMM_AUTO || engine == MV_GEMM_CLBLAST || engine == MV_GEMM_HOST,
               "mv_gemm_set_engine: unknown engine %d", (int)engine);
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  pthread_mutex_lock(&engine_lock);
  configure_device(rt);
  int possible = engine != MV_GEMM_HOST || device_host_memory;
  if (possible) forced_engine = engine;
  pthread_mutex_unlock(&engine_lock);
  if (!possible) return host_unavailable(rt, "mv_gemm_set_engine");
  return MV_OK;
}

mv_status mv_gemm_engine_current(mv_gemm_engine *out) {
  MV_CHECK_ARG(out != NULL, "mv_gemm_engine_current: out is NULL");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return choose_engine(rt, out);
}

int mv_gemm_host_supported(void) {
  mv_runtime *rt = NULL;
  if (mv_runtime_get(&rt) != MV_OK) return 0;
  pthread_mutex_lock(&engine_lock);
  configure_device(rt);
  int supported = device_host_memory;
  pthread_mutex_unlock(&engine_lock);
  return supported;
}

mv_status mv_gemm_engine_describe(char *out, size_t capacity) {
  MV_CHECK_ARG(out != NULL && capacity > 0, "mv_gemm_engine_describe: no output buffer");
  mv_gemm_engine engine = MV_GEMM_AUTO;
  MV_TRY(mv_gemm_engine_current(&engine));
  const char *why = forced_engine != MV_GEMM_AUTO                      ? "set by the program"
                    : getenv("MIVOS_GEMM") && getenv("MIVOS_GEMM")[0] ? "MIVOS_GEMM"
                                                                      : "automatic";
  if (engine == MV_GEMM_HOST) {
    const char *config = openblas_get_config();
    snprintf(out, capacity, "host (%s, %d threads; %s)", config ? config : "OpenBLAS",
             openblas_get_num_threads(), why);
  } else {
    snprintf(out, capacity, "clblast (%s)", why);
  }
  return MV_OK;
}

/* ---- argument checks ------------------------------------------------------------- */

/* Elements from the operand's offset to one past its last element. */
static size_t operand_span(mv_matrix x, size_t rows, size_t cols, size_t stride, size_t batch) {
  return (batch - 1) * stride + (rows - 1) * x.ld + cols;
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
  size_t last = x.offset + operand_span(x, rows, cols, stride, batch);
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

/* ---- host engine: OpenBLAS on mapped buffers ----------------------------------------- */

void mv_host_map_init(mv_host_map *m) { memset(m, 0, sizeof *m); }

mv_status mv_host_map_add(mv_host_map *m, cl_mem buffer, size_t offset, size_t count,
                          int write) {
  MV_CHECK_ARG(!m->mapped, "mv_host_map_add: the buffers are already mapped");
  cl_map_flags flags = write ? CL_MAP_READ | CL_MAP_WRITE : CL_MAP_READ;
  for (int i = 0; i < m->count; i++) {
    mv_host_mapping *x = &m->maps[i];
    if (x->buffer != buffer) continue;
    if (offset < x->lo) x->lo = offset;
    if (offset + count > x->hi) x->hi = offset + count;
    x->flags |= flags;
    return MV_OK;
  }
  MV_CHECK_ARG(m->count < MV_HOST_MAP_MAX, "mv_host_map_add: more than %d buffers",
               MV_HOST_MAP_MAX);
  mv_host_mapping *x = &m->maps[m->count++];
  x->buffer = buffer;
  x->lo = offset;
  x->hi = offset + count;
  x->flags = flags;
  x->base = NULL;
  return MV_OK;
}

mv_status mv_host_map_begin(mv_host_map *m) {
  MV_CHECK_ARG(!m->mapped, "mv_host_map_begin: already mapped");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  /* A marker before the maps: once the (blocking) maps return on the
   * in-order queue it must be complete, i.e. no kernel is still running. */
  cl_event marker = NULL;
  MV_TRY(mv_cl_check(clEnqueueMarkerWithWaitList(rt->queue, 0, NULL, &marker),
                     "clEnqueueMarkerWithWaitList (host GEMM)"));
  mv_status status = MV_OK;
  int done = 0;
  for (; done < m->count && status == MV_OK; done++) {
    mv_host_mapping *x = &m->maps[done];
    cl_int code = CL_SUCCESS;
    void *p = clEnqueueMapBuffer(rt->queue, x->buffer, CL_TRUE, x->flags, x->lo * sizeof(float),
                                 (x->hi - x->lo) * sizeof(float), 0, NULL, NULL, &code);
    status = mv_cl_check(code, "clEnqueueMapBuffer (host GEMM)");
    if (status != MV_OK) break;
    x->base = p;
  }
  cl_int state = CL_QUEUED;
  if (status == MV_OK &&
      (clGetEventInfo(marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL) !=
           CL_SUCCESS ||
       state != CL_COMPLETE))
    status = mv_fail(MV_E_STATE, "host GEMM: the queue still runs earlier commands after the "
                                 "blocking maps (state %d); the host BLAS must not start", (int)state);
  clReleaseEvent(marker);
  m->mapped = 1;
  if (status != MV_OK) mv_host_map_end(m); /* unmaps what was mapped */
  return status;
}

float *mv_host_map_ptr(const mv_host_map *m, cl_mem buffer, size_t offset) {
  for (int i = 0; i < m->count; i++)
    if (m->maps[i].buffer == buffer && m->maps[i].base && offset >= m->maps[i].lo &&
        offset <= m->maps[i].hi)
      return m->maps[i].base + (offset - m->maps[i].lo);
  return NULL;
}

mv_status mv_host_map_end(mv_host_map *m) {
  if (!m->mapped) return MV_OK;
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  mv_status status = MV_OK;
  for (int i = 0; i < m->count; i++) {
    if (!m->maps[i].base) continue;
    cl_int code = clEnqueueUnmapMemObject(rt->queue, m->maps[i].buffer, m->maps[i].base, 0, NULL,
                                          NULL);
    if (status == MV_OK) status = mv_cl_check(code, "clEnqueueUnmapMemObject (host GEMM)");
    m->maps[i].base = NULL;
  }
  m->mapped = 0;
  return status;
}

static mv_status check_int_range(size_t m, size_t n, size_t k, mv_matrix a, mv_matrix b,
                                 mv_matrix c) {
  const size_t limit = (size_t)INT_MAX;
  if (m > limit || n > limit || k > limit || a.ld > limit || b.ld > limit || c.ld > limit)
    return mv_fail(MV_E_ARGUMENT, "host GEMM: sizes (m=%zu n=%zu k=%zu, ld %zu/%zu/%zu) exceed "
                                  "the BLAS's 32-bit integers", m, n, k, a.ld, b.ld, c.ld);
  return MV_OK;
}

void mv_host_sgemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha,
              a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

static mv_status host_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                           mv_matrix a, size_t sa, mv_matrix b, size_t sb, float beta,
                           mv_matrix c, size_t sc, size_t batch) {
  MV_TRY(check_int_range(m, n, k, a, b, c));
  mv_host_map map;
  mv_host_map_init(&map);
  MV_TRY(mv_host_map_add(&map, a.buffer, a.offset,
                         operand_span(a, ta ? k : m, ta ? m : k, sa, batch), 0));
  MV_TRY(mv_host_map_add(&map, b.buffer, b.offset,
                         operand_span(b, tb ? n : k, tb ? k : n, sb, batch), 0));
  MV_TRY(mv_host_map_add(&map, c.buffer, c.offset, operand_span(c, m, n, sc, batch), 1));
  MV_TRY(mv_host_map_begin(&map));
  const float *pa = mv_host_map_ptr(&map, a.buffer, a.offset);
  const float *pb = mv_host_map_ptr(&map, b.buffer, b.offset);
  float *pc = mv_host_map_ptr(&map, c.buffer, c.offset);
  for (size_t i = 0; i < batch; i++)
    mv_host_sgemm(ta, tb, m, n, k, alpha, pa + i * sa, a.ld, pb + i * sb, b.ld, beta, pc + i * sc,
                  c.ld);
  return mv_host_map_end(&map);
}

/* ---- entry points ------------------------------------------------------------------ */

mv_status mv_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                  mv_matrix a, mv_matrix b, float beta, mv_matrix c) {
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  MV_TRY(check_gemm("mv_gemm", rt, transpose_a, transpose_b, m, n, k, a, 0, b, 0, c, 0, 1));
  mv_gemm_engine engine = MV_GEMM_CLBLAST;
  MV_TRY(choose_engine(rt, &engine));
  if (engine == MV_GEMM_HOST) {
    mv_status status = host_gemm(transpose_a, transpose_b, m, n, k, alpha, a, 0, b, 0, beta, c,
                                 0, 1);
    if (status != MV_OK)
      return mv_fail_context(status, "mv_gemm(m=%zu n=%zu k=%zu)", m, n, k);
    return MV_OK;
  }
  cl_event event = NULL;
  CLBlastStatusCode code = CLBlastSgemm(
      CLBlastLayoutRowMajor, transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo,
      transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.buffer, a.offset,
      a.ld, b.buffer, b.offset, b.ld, beta, c.buffer, c.offset, c.ld, &rt->queue, &event);
  if (event) clReleaseEvent(event);
  if (code != CLBlastSuccess)
    return mv_fail_context(mv_clblast_check(code, "CLBlastSgemm"), "mv_gemm(m=%zu n=%zu k=%zu)",
                           m, n, k);
  return MV_OK;
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
  mv_gemm_engine engine = MV_GEMM_CLBLAST;
  MV_TRY(choose_engine(rt, &engine));
  if (engine == MV_GEMM_HOST) {
    mv_status status = host_gemm(transpose_a, transpose_b, m, n, k, alpha, a, stride_a, b,
                                 stride_b, beta, c, stride_c, batch);
    if (status != MV_OK)
      return mv_fail_context(status, "mv_gemm_batched(m=%zu n=%zu k=%zu batch=%zu)", m, n, k,
                             batch);
    return MV_OK;
  }
  cl_event event = NULL;
  CLBlastStatusCode code = CLBlastSgemmStridedBatched(
      CLBlastLayoutRowMajor, transpose_a ? CLBlastTransposeYes : CLBlastTransposeNo,
      transpose_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.buffer, a.offset,
      a.ld, stride_a, b.buffer, b.offset, b.ld, stride_b, beta, c.buffer, c.offset, c.ld, stride_c,
      batch, &rt->queue, &event);
  if (event) clReleaseEvent(event);
  if (code != CLBlastSuccess)
    return mv_fail_context(mv_clblast_check(code, "CLBlastSgemmStridedBatched"),
                           "mv_gemm_batched(m=%zu n=%zu k=%zu batch=%zu)", m, n, k, batch);
  return MV_OK;
}
