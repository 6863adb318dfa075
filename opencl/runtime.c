/* The OpenCL runtime: device enumeration and selection, the process context
 * and queue, kernel launching and OpenCL/CLBlast status names. */
#include "opencl/runtime.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { MAX_PLATFORMS = 16, MAX_DEVICES = 64 };

/* One mutex guards runtime initialisation; the program cache and the pool
 * have their own. */
static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static mv_runtime runtime;
static int runtime_ready;
static int chosen_platform = -1, chosen_device = -1; /* set by mv_device_select */

/* ---- status names ----------------------------------------------------------- */

const char *mv_cl_error_name(cl_int code) {
  switch (code) {
#define NAME(c, v) case v: return #c;
    NAME(CL_SUCCESS, 0)
    NAME(CL_DEVICE_NOT_FOUND, -1)
    NAME(CL_DEVICE_NOT_AVAILABLE, -2)
    NAME(CL_COMPILER_NOT_AVAILABLE, -3)
    NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4)
    NAME(CL_OUT_OF_RESOURCES, -5)
    NAME(CL_OUT_OF_HOST_MEMORY, -6)
    NAME(CL_PROFILING_INFO_NOT_AVAILABLE, -7)
    NAME(CL_MEM_COPY_OVERLAP, -8)
    NAME(CL_IMAGE_FORMAT_MISMATCH, -9)
    NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10)
    NAME(CL_BUILD_PROGRAM_FAILURE, -11)
    NAME(CL_MAP_FAILURE, -12)
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13)
    NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14)
    NAME(CL_COMPILE_PROGRAM_FAILURE, -15)
    NAME(CL_LINKER_NOT_AVAILABLE, -16)
    NAME(CL_LINK_PROGRAM_FAILURE, -17)
    NAME(CL_DEVICE_PARTITION_FAILED, -18)
    NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19)
    NAME(CL_INVALID_VALUE, -30)
    NAME(CL_INVALID_DEVICE_TYPE, -31)
    NAME(CL_INVALID_PLATFORM, -32)
    NAME(CL_INVALID_DEVICE, -33)
    NAME(CL_INVALID_CONTEXT, -34)
    NAME(CL_INVALID_QUEUE_PROPERTIES, -35)
    NAME(CL_INVALID_COMMAND_QUEUE, -36)
    NAME(CL_INVALID_HOST_PTR, -37)
    NAME(CL_INVALID_MEM_OBJECT, -38)
    NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39)
    NAME(CL_INVALID_IMAGE_SIZE, -40)
    NAME(CL_INVALID_SAMPLER, -41)
    NAME(CL_INVALID_BINARY, -42)
    NAME(CL_INVALID_BUILD_OPTIONS, -43)
    NAME(CL_INVALID_PROGRAM, -44)
    NAME(CL_INVALID_PROGRAM_EXECUTABLE, -45)
    NAME(CL_INVALID_KERNEL_NAME, -46)
    NAME(CL_INVALID_KERNEL_DEFINITION, -47)
    NAME(CL_INVALID_KERNEL, -48)
    NAME(CL_INVALID_ARG_INDEX, -49)
    NAME(CL_INVALID_ARG_VALUE, -50)
    NAME(CL_INVALID_ARG_SIZE, -51)
    NAME(CL_INVALID_KERNEL_ARGS, -52)
    NAME(CL_INVALID_WORK_DIMENSION, -53)
    NAME(CL_INVALID_WORK_GROUP_SIZE, -54)
    NAME(CL_INVALID_WORK_ITEM_SIZE, -55)
    NAME(CL_INVALID_GLOBAL_OFFSET, -56)
    NAME(CL_INVALID_EVENT_WAIT_LIST, -57)
    NAME(CL_INVALID_EVENT, -58)
    NAME(CL_INVALID_OPERATION, -59)
    NAME(CL_INVALID_GL_OBJECT, -60)
    NAME(CL_INVALID_BUFFER_SIZE, -61)
    NAME(CL_INVALID_MIP_LEVEL, -62)
    NAME(CL_INVALID_GLOBAL_WORK_SIZE, -63)
    NAME(CL_INVALID_PROPERTY, -64)
    NAME(CL_INVALID_IMAGE_DESCRIPTOR, -65)
    NAME(CL_INVALID_COMPILER_OPTIONS, -66)
    NAME(CL_INVALID_LINKER_OPTIONS, -67)
    NAME(CL_INVALID_DEVICE_PARTITION_COUNT, -68)
    NAME(CL_INVALID_PIPE_SIZE, -69)
    NAME(CL_INVALID_DEVICE_QUEUE, -70)
    NAME(CL_INVALID_SPEC_ID, -71)
    NAME(CL_MAX_SIZE_RESTRICTION_EXCEEDED, -72)
    NAME(CL_PLATFORM_NOT_FOUND_KHR, -1001)
    NAME(CL_DEVICE_PARTITION_FAILED_EXT, -1057)
    NAME(CL_INVALID_PARTITION_COUNT_EXT, -1058)
    NAME(CL_INVALID_PARTITION_NAME_EXT, -1059)
    NAME(CL_CONTEXT_TERMINATED_KHR, -1121)
#undef NAME
    default: return "CL_UNKNOWN_ERROR";
  }
}

static const char *clblast_status_name(int code) {
  switch (code) {
#define NAME(c, v) case v: return #c;
    NAME(CLBlastSuccess, 0)
    NAME(CLBlastOpenCLCompilerNotAvailable, -3)
    NAME(CLBlastTempBufferAllocFailure, -4)
    NAME(CLBlastOpenCLOutOfResources, -5)
    NAME(CLBlastOpenCLOutOfHostMemory, -6)
    NAME(CLBlastOpenCLBuildProgramFailure, -11)
    NAME(CLBlastInvalidValue, -30)
    NAME(CLBlastInvalidCommandQueue, -36)
    NAME(CLBlastInvalidMemObject, -38)
    NAME(CLBlastInvalidBinary, -42)
    NAME(CLBlastInvalidBuildOptions, -43)
    NAME(CLBlastInvalidProgram, -44)
    NAME(CLBlastInvalidProgramExecutable, -45)
    NAME(CLBlastInvalidKernelName, -46)
    NAME(CLBlastInvalidKernelDefinition, -47)
    NAME(CLBlastInvalidKernel, -48)
    NAME(CLBlastInvalidArgIndex, -49)
    NAME(CLBlastInvalidArgValue, -50)
    NAME(CLBlastInvalidArgSize, -51)
    NAME(CLBlastInvalidKernelArgs, -52)
    NAME(CLBlastInvalidLocalNumDimensions, -53)
    NAME(CLBlastInvalidLocalThreadsTotal, -54)
    NAME(CLBlastInvalidLocalThreadsDim, -55)
    NAME(CLBlastInvalidGlobalOffset, -56)
    NAME(CLBlastInvalidEventWaitList, -57)
    NAME(CLBlastInvalidEvent, -58)
    NAME(CLBlastInvalidOperation, -59)
    NAME(CLBlastInvalidBufferSize, -61)
    NAME(CLBlastInvalidGlobalWorkSize, -63)
    NAME(CLBlastNotImplemented, -1024)
    NAME(CLBlastInvalidMatrixA, -1022)
    NAME(CLBlastInvalidMatrixB, -1021)
    NAME(CLBlastInvalidMatrixC, -1020)
    NAME(CLBlastInvalidVectorX, -1019)
    NAME(CLBlastInvalidVectorY, -1018)
    NAME(CLBlastInvalidDimension, -1017)
    NAME(CLBlastInvalidLeadDimA, -1016)
    NAME(CLBlastInvalidLeadDimB, -1015)
    NAME(CLBlastInvalidLeadDimC, -1014)
    NAME(CLBlastInvalidIncrementX, -1013)
    NAME(CLBlastInvalidIncrementY, -1012)
    NAME(CLBlastInsufficientMemoryA, -1011)
    NAME(CLBlastInsufficientMemoryB, -1010)
    NAME(CLBlastInsufficientMemoryC, -1009)
    NAME(CLBlastInsufficientMemoryX, -1008)
    NAME(CLBlastInsufficientMemoryY, -1007)
    NAME(CLBlastInsufficientMemoryTemp, -2050)
    NAME(CLBlastInvalidBatchCount, -2049)
    NAME(CLBlastInvalidOverrideKernel, -2048)
    NAME(CLBlastMissingOverrideParameter, -2047)
    NAME(CLBlastInvalidLocalMemUsage, -2046)
    NAME(CLBlastNoHalfPrecision, -2045)
    NAME(CLBlastNoDoublePrecision, -2044)
    NAME(CLBlastInvalidVectorScalar, -2043)
    NAME(CLBlastInsufficientMemoryScalar, -2042)
    NAME(CLBlastDatabaseError, -2041)
    NAME(CLBlastUnknownError, -2040)
    NAME(CLBlastUnexpectedError, -2039)
#undef NAME
    default: return "CLBlastUnknownStatus";
  }
}

mv_status mv_cl_check(cl_int code, const char *call) {
  if (code == CL_SUCCESS) return MV_OK;
  mv_status status = (code == CL_OUT_OF_HOST_MEMORY || code == CL_MEM_OBJECT_ALLOCATION_FAILURE)
                         ? MV_E_MEMORY
                         : MV_E_DEVICE;
  return mv_fail(status, "%s failed: %s (%d)", call ? call : "OpenCL call", mv_cl_error_name(code),
                 (int)code);
}

mv_status mv_clblast_check(int code, const char *call) {
  if (code == 0) return MV_OK;
  return mv_fail(MV_E_DEVICE, "%s failed: %s (%d)", call ? call : "CLBlast call",
                 clblast_status_name(code), code);
}

/* ---- enumeration -------------------------------------------------------------- */

typedef struct device_entry {
  cl_platform_id platform;
  cl_device_id device;
  mv_device_info info;
} device_entry;

static void copy_string(char *dst, size_t capacity, const char *src) {
  snprintf(dst, capacity, "%s", src ? src : "");
  /* Drivers pad some strings with trailing spaces. */
  size_t n = strlen(dst);
  while (n > 0 && isspace((unsigned char)dst[n - 1])) dst[--n] = '\0';
}

static void device_string(cl_device_id device, cl_device_info what, char *dst, size_t capacity) {
  char buffer[1024] = "";
  if (clGetDeviceInfo(device, what, sizeof buffer - 1, buffer, NULL) != CL_SUCCESS) buffer[0] = 0;
  buffer[sizeof buffer - 1] = '\0';
  copy_string(dst, capacity, buffer);
}

static void fill_info(cl_platform_id platform, cl_device_id device, int p, int d,
                      mv_device_info *info) {
  memset(info, 0, sizeof *info);
  info->platform_index = p;
  info->device_index = d;
  char buffer[1024] = "";
  if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof buffer - 1, buffer, NULL) != CL_SUCCESS)
    buffer[0] = 0;
  buffer[sizeof buffer - 1] = '\0';
  copy_string(info->platform, sizeof info->platform, buffer);
  device_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
  device_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
  device_string(device, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
  device_string(device, CL_DEVICE_VERSION, info->version, sizeof info->version);
  cl_device_type type = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS)
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
  cl_uint units = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL) ==
      CL_SUCCESS)
    info->compute_units = (int)units;
  cl_ulong bytes = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof bytes, &bytes, NULL) == CL_SUCCESS)
    info->global_memory = bytes;
  bytes = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof bytes, &bytes, NULL) ==
      CL_SUCCESS)
    info->max_allocation = bytes;
  size_t size = 0;
  if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) == CL_SUCCESS && size > 0) {
    char *extensions = malloc(size + 1);
    if (extensions) {
      if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, extensions, NULL) == CL_SUCCESS) {
        extensions[size] = '\0';
        info->fp16 = strstr(extensions, "cl_khr_fp16") != NULL;
      }
      free(extensions);
    }
  }
}

static int is_device_type(cl_device_id device, cl_device_type want) {
  cl_device_type type = 0;
  return clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
         (type & want) != 0;
}

/* Every device of every platform; `count` receives the total. A machine
 * without an ICD or platform is not an error: zero devices. */
static mv_status enumerate(device_entry *entries, int capacity, int *count) {
  *count = 0;
  cl_platform_id platforms[MAX_PLATFORMS];
  cl_uint platform_count = 0;
  cl_int code = clGetPlatformIDs(MAX_PLATFORMS, platforms, &platform_count);
  if (code == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ || (code == CL_SUCCESS && platform_count == 0))
    return MV_OK;
  MV_TRY(mv_cl_check(code, "clGetPlatformIDs"));
  if (platform_count > MAX_PLATFORMS) platform_count = MAX_PLATFORMS;
  for (cl_uint p = 0; p < platform_count; p++) {
    cl_device_id devices[MAX_DEVICES];
    cl_uint device_count = 0;
    code = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devices, &device_count);
    if (code == CL_DEVICE_NOT_FOUND) continue;
    if (code != CL_SUCCESS) continue; /* a broken platform must not hide the others */
    if (device_count > MAX_DEVICES) device_count = MAX_DEVICES;
    for (cl_uint d = 0; d < device_count; d++) {
      if (*count < capacity) {
        entries[*count].platform = platforms[p];
        entries[*count].device = devices[d];
        fill_info(platforms[p], devices[d], (int)p, (int)d, &entries[*count].info);
      }
      (*count)++;
    }
  }
  return MV_OK;
}

mv_status mv_device_list(mv_device_info *out, int capacity, int *count) {
  MV_CHECK_ARG(count != NULL, "mv_device_list: count is NULL");
  MV_CHECK_ARG(capacity >= 0, "mv_device_list: capacity %d is negative", capacity);
  MV_CHECK_ARG(out != NULL || capacity == 0, "mv_device_list: out is NULL with capacity %d",
               capacity);
  static device_entry entries[MAX_PLATFORMS * MAX_DEVICES];
  pthread_mutex_lock(&runtime_lock);
  int total = 0;
  mv_status status = enumerate(entries, MAX_PLATFORMS * MAX_DEVICES, &total);
  if (status == MV_OK)
    for (int i = 0; i < total && i < capacity; i++) out[i] = entries[i].info;
  pthread_mutex_unlock(&runtime_lock);
  *count = total;
  return status;
}

/* ---- selection ------------------------------------------------------------------ */

static int contains_nocase(const char *haystack, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0) return 0;
  for (const char *h = haystack; *h; h++) {
    size_t i = 0;
    while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
    if (i == n) return 1;
  }
  return 0;
}

static int parse_index_pair(const char *spec, int *p, int *d) {
  char *end = NULL;
  if (!isdigit((unsigned char)spec[0])) return 0;
  long a = strtol(spec, &end, 10);
  if (*end != ':' || !isdigit((unsigned char)end[1])) return 0;
  long b = strtol(end + 1, &end, 10);
  if (*end != '\0' || a > 1000 || b > 1000) return 0;
  *p = (int)a;
  *d = (int)b;
  return 1;
}

/* Lists the devices into a message buffer for "no match" errors. */
static void describe_devices(const device_entry *entries, int count, char *out, size_t capacity) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < count && used + 1 < capacity; i++) {
    int written = snprintf(out + used, capacity - used, "%s%d:%d %s (%s)", i ? "; " : "",
                           entries[i].info.platform_index, entries[i].info.device_index,
                           entries[i].info.name, entries[i].info.platform);
    if (written < 0) break;
    used += (size_t)written;
  }
  if (count == 0) snprintf(out, capacity, "none");
}

/* Resolves a spec to an entry index. `origin` names where the spec came
 * from for the message. Caller holds runtime_lock. */
static mv_status resolve_spec(const char *spec, const char *origin, const device_entry *entries,
                              int count, int *index) {
  char available[1024];
  if (count == 0)
    return mv_fail(MV_E_DEVICE, "%s: no OpenCL device found (is an OpenCL ICD such as PoCL "
                                "installed?)", origin);
  if (spec == NULL || spec[0] == '\0') {
    for (int i = 0; i < count; i++)
      if (is_device_type(entries[i].device, CL_DEVICE_TYPE_GPU)) return *index = i, MV_OK;
    for (int i = 0; i < count; i++)
      if (is_device_type(entries[i].device, CL_DEVICE_TYPE_CPU)) return *index = i, MV_OK;
    *index = 0;
    return MV_OK;
  }
  int p, d;
  if (parse_index_pair(spec, &p, &d)) {
    for (int i = 0; i < count; i++)
      if (entries[i].info.platform_index == p && entries[i].info.device_index == d)
        return *index = i, MV_OK;
    describe_devices(entries, count, available, sizeof available);
    return mv_fail(MV_E_ARGUMENT, "%s: no OpenCL device %d:%d (devices: %s)", origin, p, d,
                   available);
  }
  cl_device_type want = 0;
  if (!strcmp(spec, "gpu") || !strcmp(spec, "GPU")) want = CL_DEVICE_TYPE_GPU;
  if (!strcmp(spec, "cpu") || !strcmp(spec, "CPU")) want = CL_DEVICE_TYPE_CPU;
  for (int i = 0; i < count; i++) {
    const mv_device_info *info = &entries[i].info;
    int match = want ? is_device_type(entries[i].device, want)
                     : contains_nocase(info->name, spec) || contains_nocase(info->vendor, spec) ||
                           contains_nocase(info->platform, spec);
    if (match) return *index = i, MV_OK;
  }
  describe_devices(entries, count, available, sizeof available);
  return mv_fail(MV_E_ARGUMENT,
                 "%s: no OpenCL device matches '%s' (expected \"P:D\", \"gpu\", \"cpu\" or a "
                 "name substring; devices: %s)",
                 origin, spec, available);
}

/* The spec to use when none is given: MIVOS_DEVICE, else the default rule. */
static const char *environment_spec(void) {
  const char *env = getenv("MIVOS_DEVICE");
  return env && env[0] ? env : NULL;
}

mv_status mv_device_select(const char *spec) {
  const char *origin = "mv_device_select";
  if (spec == NULL || spec[0] == '\0') {
    spec = environment_spec();
    if (spec) origin = "mv_device_select (MIVOS_DEVICE)";
  }
  static device_entry entries[MAX_PLATFORMS * MAX_DEVICES];
  pthread_mutex_lock(&runtime_lock);
  int count = 0, index = -1;
  mv_status status = enumerate(entries, MAX_PLATFORMS * MAX_DEVICES, &count);
  if (status == MV_OK) status = resolve_spec(spec, origin, entries, count, &index);
  if (status == MV_OK) {
    int p = entries[index].info.platform_index, d = entries[index].info.device_index;
    if (runtime_ready) {
      if (runtime.info.platform_index != p || runtime.info.device_index != d)
        status = mv_fail(MV_E_STATE,
                         "mv_device_select: device %d:%d (%s) is already in use; '%s' selects "
                         "%d:%d (%s) — choose the device before first use",
                         runtime.info.platform_index, runtime.info.device_index, runtime.info.name,
                         spec ? spec : "", p, d, entries[index].info.name);
    } else {
      chosen_platform = p;
      chosen_device = d;
    }
  }
  pthread_mutex_unlock(&runtime_lock);
  return status;
}

/* ---- the process runtime ------------------------------------------------------------ */

static mv_status create_runtime(void) {
  static device_entry entries[MAX_PLATFORMS * MAX_DEVICES];
  int count = 0, index = -1;
  MV_TRY(enumerate(entries, MAX_PLATFORMS * MAX_DEVICES, &count));
  if (chosen_platform >= 0) {
    char spec[32];
    snprintf(spec, sizeof spec, "%d:%d", chosen_platform, chosen_device);
    MV_TRY(resolve_spec(spec, "mv_runtime_get", entries, count, &index));
  } else {
    const char *spec = environment_spec();
    MV_TRY(resolve_spec(spec, spec ? "MIVOS_DEVICE" : "mv_runtime_get", entries, count, &index));
  }
  mv_runtime rt;
  memset(&rt, 0, sizeof rt);
  rt.platform = entries[index].platform;
  rt.device = entries[index].device;
  rt.info = entries[index].info;
  cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)rt.platform,
                                        0};
  cl_int code = CL_SUCCESS;
  rt.context = clCreateContext(properties, 1, &rt.device, NULL, NULL, &code);
  MV_TRY(mv_cl_check(code, "clCreateContext"));
  rt.queue = clCreateCommandQueue(rt.context, rt.device, 0, &code);
  if (code != CL_SUCCESS) {
    clReleaseContext(rt.context);
    return mv_cl_check(code, "clCreateCommandQueue");
  }
  size_t group = 0;
  if (clGetDeviceInfo(rt.device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof group, &group, NULL) !=
          CL_SUCCESS ||
      group == 0)
    group = 64;
  rt.max_work_group = group;
  runtime = rt;
  chosen_platform = rt.info.platform_index;
  chosen_device = rt.info.device_index;
  runtime_ready = 1;
  return MV_OK;
}

mv_status mv_runtime_get(mv_runtime **out) {
  MV_CHECK_ARG(out != NULL, "mv_runtime_get: out is NULL");
  *out = NULL;
  pthread_mutex_lock(&runtime_lock);
  mv_status status = runtime_ready ? MV_OK : create_runtime();
  pthread_mutex_unlock(&runtime_lock);
  if (status == MV_OK) *out = &runtime;
  return status;
}

mv_status mv_device_current(mv_device_info *out) {
  MV_CHECK_ARG(out != NULL, "mv_device_current: out is NULL");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  *out = rt->info;
  return MV_OK;
}

mv_status mv_runtime_finish(void) {
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  return mv_cl_check(clFinish(rt->queue), "clFinish");
}

/* ---- kernel launching ------------------------------------------------------------------ */

mv_status mv_kernel_args(cl_kernel kernel, int count, ...) {
  MV_CHECK_ARG(kernel != NULL, "mv_kernel_args: kernel is NULL");
  MV_CHECK_ARG(count >= 0 && count <= 64, "mv_kernel_args: count %d out of [0, 64]", count);
  va_list ap;
  va_start(ap, count);
  mv_status status = MV_OK;
  for (int i = 0; i < count && status == MV_OK; i++) {
    size_t size = va_arg(ap, size_t);
    const void *value = va_arg(ap, const void *);
    cl_int code = clSetKernelArg(kernel, (cl_uint)i, size, value);
    if (code != CL_SUCCESS) {
      char kernel_name[128] = "?";
      clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof kernel_name - 1, kernel_name, NULL);
      kernel_name[sizeof kernel_name - 1] = '\0';
      status = mv_fail(MV_E_DEVICE, "clSetKernelArg(%s, argument %d, %zu bytes) failed: %s (%d)",
                       kernel_name, i, size, mv_cl_error_name(code), (int)code);
    }
  }
  va_end(ap);
  return status;
}

mv_status mv_kernel_run(cl_kernel kernel, const char *name, int dims, const size_t *global,
                        const size_t *local) {
  const char *label = name ? name : "kernel";
  MV_CHECK_ARG(kernel != NULL, "mv_kernel_run(%s): kernel is NULL", label);
  MV_CHECK_ARG(dims >= 1 && dims <= 3, "mv_kernel_run(%s): dims %d not in [1, 3]", label, dims);
  MV_CHECK_ARG(global != NULL, "mv_kernel_run(%s): global is NULL", label);
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  size_t rounded[3];
  for (int i = 0; i < dims; i++) {
    if (global[i] == 0) return MV_OK; /* nothing to do */
    rounded[i] = global[i];
    if (local) {
      MV_CHECK_ARG(local[i] > 0, "mv_kernel_run(%s): local size %d is 0", label, i);
      rounded[i] = (global[i] + local[i] - 1) / local[i] * local[i];
    }
  }
  cl_int code = clEnqueueNDRangeKernel(rt->queue, kernel, (cl_uint)dims, NULL, rounded, local, 0,
                                       NULL, NULL);
  if (code != CL_SUCCESS)
    return mv_fail(code == CL_MEM_OBJECT_ALLOCATION_FAILURE ? MV_E_MEMORY : MV_E_DEVICE,
                   "clEnqueueNDRangeKernel(%s) failed: %s (%d)", label, mv_cl_error_name(code),
                   (int)code);
  return MV_OK;
}

mv_status mv_kernel_run_1d(cl_kernel kernel, const char *name, size_t count) {
  MV_CHECK_ARG(kernel != NULL, "mv_kernel_run_1d(%s): kernel is NULL", name ? name : "kernel");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  size_t local = 256, kernel_max = 0;
  if (clGetKernelWorkGroupInfo(kernel, rt->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                               &kernel_max, NULL) == CL_SUCCESS &&
      kernel_max > 0 && kernel_max < local)
    local = kernel_max;
  if (local > rt->max_work_group) local = rt->max_work_group;
  return mv_kernel_run(kernel, name, 1, &count, &local);
}
