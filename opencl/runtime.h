/* The OpenCL runtime: one context and one in-order queue per process on the
 * chosen device, programs built once (cached on disk), a buffer pool, and
 * status checking that turns every OpenCL/CLBlast code into a message. */
#ifndef MV_RUNTIME_H
#define MV_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>

#include "mivos.h"

typedef struct mv_runtime {
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  mv_device_info info;
  size_t max_work_group;   /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
} mv_runtime;

/* The process runtime, initialised on first use with the selected device. */
mv_status mv_runtime_get(mv_runtime **out);

/* MV_OK for CL_SUCCESS, else MV_E_DEVICE with "CALL failed: CL_NAME (code)". */
mv_status mv_cl_check(cl_int code, const char *call);
const char *mv_cl_error_name(cl_int code);
/* The same for a CLBlast status (CLBlastStatusCode as int). */
mv_status mv_clblast_check(int code, const char *call);

/* A kernel from the embedded program `program` (opencl/kernels/NAME.cl).
 * Programs are built once per process with the runtime's build options and
 * cached on disk; kernels are cached per (program, kernel) and must only be
 * used from one thread at a time (like the queue). */
mv_status mv_kernel_get(const char *program, const char *kernel, cl_kernel *out);

/* Sets kernel arguments: pairs of (size, pointer). Example:
 *   mv_kernel_args(k, 3, sizeof(cl_mem), &buf, sizeof(int), &n, sizeof(float), &x) */
mv_status mv_kernel_args(cl_kernel kernel, int count, ...);
/* Enqueues with a global size rounded up to a multiple of the local size
 * (local NULL = driver's choice and no rounding); kernels bound-check. */
mv_status mv_kernel_run(cl_kernel kernel, const char *name, int dims, const size_t *global,
                        const size_t *local);
/* Enqueues a 1-D kernel over `count` work items with a local size suited to
 * the device and kernel (global rounded up; the kernel bound-checks). */
mv_status mv_kernel_run_1d(cl_kernel kernel, const char *name, size_t count);

/* Device memory from a pool that reuses released buffers of the same size
 * class. mv_buffer_release(NULL) is a no-op. */
mv_status mv_buffer_acquire(size_t bytes, cl_mem *out);
void mv_buffer_release(cl_mem buffer);
/* Releases every pooled buffer not in use (e.g. before a big allocation). */
void mv_buffer_pool_trim(void);
/* Bytes currently held by the pool (in use + cached) and the peak. */
size_t mv_buffer_pool_bytes(void);
size_t mv_buffer_pool_peak(void);
/* Bytes of pooled buffers currently acquired and not released. */
size_t mv_buffer_pool_in_use(void);
/* Caps the released buffers kept for reuse at `bytes` (oldest evicted
 * first); 0 restores the default, a quarter of the device's global memory. */
void mv_buffer_pool_set_cache_limit(size_t bytes);

/* Caps the bytes the pool holds (in use + cached): an acquisition past it
 * fails with MV_E_MEMORY as on a full device (a smaller device, or fault
 * tests); 0 (the default) leaves only the device's own limit. */
void mv_buffer_pool_set_limit(size_t bytes);

/* Blocks until the queue is empty. */
mv_status mv_runtime_finish(void);

#endif
