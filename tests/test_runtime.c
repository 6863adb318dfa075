/* The OpenCL runtime: device listing and selection (incl. MIVOS_DEVICE),
 * status names, the on-disk program cache (write, read back, corruption
 * fallback, build errors) and the buffer pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "opencl/ops.h"
#include "opencl/program_cache.h"
#include "testutil.h"

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static void test_status_names(void) {
  CHECK(!strcmp(mv_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES"), "CL name");
  CHECK(!strcmp(mv_cl_error_name(CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS"), "CL name");
  CHECK(!strcmp(mv_cl_error_name(-12345), "CL_UNKNOWN_ERROR"), "unknown CL code");
  CHECK(mv_cl_check(CL_SUCCESS, "clFoo") == MV_OK, "CL_SUCCESS is ok");
  CHECK_FAILS(mv_cl_check(CL_INVALID_VALUE, "clFoo"), MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "clFoo") && strstr(mv_error_message(), "CL_INVALID_VALUE") &&
            strstr(mv_error_message(), "-30"),
        "message names call, status and code: %s", mv_error_message());
  CHECK_FAILS(mv_cl_check(CL_MEM_OBJECT_ALLOCATION_FAILURE, "clBar"), MV_E_MEMORY);
  CHECK_FAILS(mv_clblast_check(-1017, "CLBlastSgemm"), MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "CLBlastSgemm") &&
            strstr(mv_error_message(), "CLBlastInvalidDimension"),
        "CLBlast message: %s", mv_error_message());
  CHECK_FAILS(mv_clblast_check(-2041, "CLBlastSgemm"), MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "CLBlastDatabaseError"), "%s", mv_error_message());
  CHECK(mv_clblast_check(0, "x") == MV_OK, "CLBlastSuccess is ok");
}

/* Before the runtime starts: listing and selection rules. */
static void test_devices(mv_device_info *first) {
  int count = -1;
  CHECK_OK(mv_device_list(NULL, 0, &count));
  CHECK(count > 0, "at least one OpenCL device (got %d)", count);
  mv_device_info devices[16];
  int again = 0;
  CHECK_OK(mv_device_list(devices, 16, &again));
  CHECK(again == count, "count is the same with a capacity");
  for (int i = 0; i < again && i < 16; i++)
    CHECK(devices[i].name[0] && devices[i].driver[0] && devices[i].global_memory > 0 &&
              devices[i].compute_units > 0,
          "device %d:%d has a name, driver, memory: %s / %s", devices[i].platform_index,
          devices[i].device_index, devices[i].name, devices[i].driver);
  *first = devices[0];
  CHECK_FAILS(mv_device_list(NULL, 2, &count), MV_E_ARGUMENT);
  CHECK_FAILS(mv_device_list(devices, 16, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_device_list(devices, -1, &count), MV_E_ARGUMENT);

  /* Specs */
  CHECK_FAILS(mv_device_select("no-such-device-xyz"), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "no-such-device-xyz") && strstr(mv_error_message(), "devices:"),
        "bad spec names the spec and lists the devices: %s", mv_error_message());
  CHECK_FAILS(mv_device_select("7:3"), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "7:3"), "bad index: %s", mv_error_message());
  char spec[32];
  snprintf(spec, sizeof spec, "%d:%d", devices[0].platform_index, devices[0].device_index);
  CHECK_OK(mv_device_select(spec));
  /* a case-insensitive substring of the device name */
  char name_part[8] = "";
  snprintf(name_part, sizeof name_part, "%.4s", devices[0].name);
  for (char *p = name_part; *p; p++) *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
  CHECK_OK(mv_device_select(name_part));
  CHECK_OK(mv_device_select(devices[0].is_gpu ? "gpu" : "cpu"));
  CHECK_OK(mv_device_select(devices[0].platform));

  /* MIVOS_DEVICE is used when the spec is NULL or "". */
  setenv("MIVOS_DEVICE", "bogus-device-name", 1);
  CHECK_FAILS(mv_device_select(NULL), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "MIVOS_DEVICE") && strstr(mv_error_message(), "bogus"),
        "message names MIVOS_DEVICE: %s", mv_error_message());
  CHECK_FAILS(mv_device_select(""), MV_E_ARGUMENT);
  setenv("MIVOS_DEVICE", spec, 1);
  CHECK_OK(mv_device_select(NULL));
  unsetenv("MIVOS_DEVICE");
  CHECK_OK(mv_device_select(NULL)); /* the default rule */
  CHECK_OK(mv_device_select(spec));
}

static void test_current(const mv_device_info *first) {
  mv_device_info current;
  CHECK_OK(mv_device_current(&current));
  CHECK(!strcmp(current.name, first->name) && current.platform_index == first->platform_index &&
            current.device_index == first->device_index,
        "the selected device is in use: %s", current.name);
  CHECK_FAILS(mv_device_current(NULL), MV_E_ARGUMENT);
  mv_runtime *rt = NULL;
  CHECK_OK(mv_runtime_get(&rt));
  CHECK(rt && rt->context && rt->queue && rt->max_work_group > 0, "runtime has context and queue");
  char spec[32];
  snprintf(spec, sizeof spec, "%d:%d", first->platform_index, first->device_index);
  CHECK_OK(mv_device_select(spec)); /* the same device again: fine */
  int count = 0;
  mv_device_info devices[16];
  CHECK_OK(mv_device_list(devices, 16, &count));
  if (count > 1) {
    snprintf(spec, sizeof spec, "%d:%d", devices[1].platform_index, devices[1].device_index);
    CHECK_FAILS(mv_device_select(spec), MV_E_STATE);
  }
  printf("device: %s | %s | driver %s | %s | %llu MiB | fp16 %d\n", current.name, current.vendor,
         current.driver, current.version, (unsigned long long)(current.global_memory >> 20),
         current.fp16);
}

/* Runs relu through `kernel` on a few values; 1 if the result is right. */
static int kernel_works(cl_kernel kernel) {
  float in[5] = {-1, 2, -3, 4, 0.5f}, out[5] = {0};
  mv_tensor x = {0}, y = {0};
  int ok = mv_tensor_new(&x, 1, 1, 1, 5) == MV_OK && mv_tensor_upload(&x, in) == MV_OK &&
           mv_tensor_new(&y, 1, 1, 1, 5) == MV_OK;
  cl_ulong zero = 0;
  cl_long total = 5;
  ok = ok && mv_kernel_args(kernel, 5, sizeof(cl_mem), &x.buffer, sizeof zero, &zero,
                            sizeof(cl_mem), &y.buffer, sizeof zero, &zero, sizeof total,
                            &total) == MV_OK;
  ok = ok && mv_kernel_run_1d(kernel, "relu", 5) == MV_OK && mv_tensor_download(&y, out) == MV_OK;
  ok = ok && out[0] == 0 && out[1] == 2 && out[2] == 0 && out[3] == 4 && out[4] == 0.5f;
  mv_tensor_free(&x);
  mv_tensor_free(&y);
  return ok;
}

static void test_program_cache(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", mv_test_temp_path("program-cache"));
  setenv("MIVOS_CACHE_DIR", dir, 1);
  char got_dir[4096];
  CHECK_OK(mv_program_cache_dir(got_dir, sizeof got_dir));
  CHECK(!strcmp(got_dir, dir), "MIVOS_CACHE_DIR is the cache folder");
  char path[4096];
  CHECK_OK(mv_program_cache_file("elementwise", path, sizeof path));
  CHECK(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "elementwise-"), "cache file %s",
        path);
  remove(path);

  /* First build: from source, and the file is written. */
  mv_program_cache_clear_memory();
  mv_program_cache_stats before = mv_program_cache_stats_get();
  cl_kernel kernel = NULL;
  CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
  mv_program_cache_stats after = mv_program_cache_stats_get();
  CHECK(after.source_builds == before.source_builds + 1 &&
            after.cache_writes == before.cache_writes + 1,
        "first build from source writes the cache");
  CHECK(file_exists(path), "cache file exists: %s", path);
  CHECK(kernel && kernel_works(kernel), "kernel from a source build works");
  cl_kernel same = NULL;
  CHECK_OK(mv_kernel_get("elementwise", "relu", &same));
  CHECK(same == kernel, "kernels are cached in memory");

  /* A second "run" reads the file. */
  mv_program_cache_clear_memory();
  before = mv_program_cache_stats_get();
  CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
  after = mv_program_cache_stats_get();
  CHECK(after.disk_loads == before.disk_loads + 1 && after.source_builds == before.source_builds,
        "second build loads the binary from disk");
  CHECK(kernel && kernel_works(kernel), "kernel from the disk cache works");

  /* Garbage in the cache file: silently rebuilt from source and rewritten. */
  static const char garbage[] = "this is not a program binary at all";
  CHECK(mv_test_write_file(path, garbage, sizeof garbage) == 0, "overwrote the cache file");
  mv_program_cache_clear_memory();
  before = mv_program_cache_stats_get();
  CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
  after = mv_program_cache_stats_get();
  CHECK(after.source_builds == before.source_builds + 1 &&
            after.cache_writes == before.cache_writes + 1,
        "a corrupt cache file falls back to a source build and is rewritten");
  CHECK(kernel && kernel_works(kernel), "kernel after a corrupt cache works");

  /* A truncated file and a flipped byte in the binary. */
  FILE *f = fopen(path, "rb");
  static unsigned char content[1 << 22];
  size_t size = f ? fread(content, 1, sizeof content, f) : 0;
  if (f) fclose(f);
  CHECK(size > 64 && size < sizeof content, "cache file of %zu bytes", size);
  if (size > 64 && size < sizeof content) {
    CHECK(mv_test_write_file(path, content, size / 2) == 0, "truncated");
    mv_program_cache_clear_memory();
    before = mv_program_cache_stats_get();
    CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
    after = mv_program_cache_stats_get();
    CHECK(after.source_builds == before.source_builds + 1, "truncated file: source build");
    CHECK(kernel && kernel_works(kernel), "kernel after a truncated cache works");
    content[size - 10] ^= 0x5a;
    CHECK(mv_test_write_file(path, content, size) == 0, "flipped a byte");
    mv_program_cache_clear_memory();
    before = mv_program_cache_stats_get();
    CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
    after = mv_program_cache_stats_get();
    CHECK(after.source_builds == before.source_builds + 1, "checksum mismatch: source build");
    CHECK(kernel && kernel_works(kernel), "kernel after a damaged cache works");
  }

  /* An unusable cache folder is not an error either. */
  setenv("MIVOS_CACHE_DIR", "/proc/mivos-cannot-write-here", 1);
  mv_program_cache_clear_memory();
  CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
  CHECK(kernel && kernel_works(kernel), "kernel with an unwritable cache folder works");
  setenv("MIVOS_CACHE_DIR", dir, 1);

  /* Lookup errors */
  CHECK_FAILS(mv_kernel_get("no_such_program", "relu", &kernel), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "no_such_program"), "%s", mv_error_message());
  CHECK_FAILS(mv_kernel_get("elementwise", "no_such_kernel", &kernel), MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "clCreateKernel") && strstr(mv_error_message(), "no_such_kernel"),
        "%s", mv_error_message());
  CHECK_FAILS(mv_kernel_get(NULL, "relu", &kernel), MV_E_ARGUMENT);
  CHECK_FAILS(mv_kernel_get("elementwise", "relu", NULL), MV_E_ARGUMENT);

  /* A build failure carries the build log. */
  cl_program program = NULL;
  CHECK_FAILS(mv_program_build("broken", "__kernel void k(__global float *x) { x[0] = y_undeclared; }",
                               &program),
              MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "clBuildProgram") && strstr(mv_error_message(), "build log") &&
            strstr(mv_error_message(), "y_undeclared"),
        "build failure message with log: %s", mv_error_message());
  CHECK_OK(mv_program_build("fine", "__kernel void k(__global float *x) { x[0] = 1.0f; }",
                            &program));
  if (program) clReleaseProgram(program);

  /* Launch validation */
  CHECK_OK(mv_kernel_get("elementwise", "relu", &kernel));
  size_t global = 0, local = 0;
  CHECK_FAILS(mv_kernel_run(kernel, "relu", 4, &global, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_kernel_run(NULL, "relu", 1, &global, NULL), MV_E_ARGUMENT);
  global = 8;
  CHECK_FAILS(mv_kernel_run(kernel, "relu", 1, &global, &local), MV_E_ARGUMENT);
  CHECK_FAILS(mv_kernel_args(NULL, 0), MV_E_ARGUMENT);
  float value = 1;
  CHECK_FAILS(mv_kernel_args(kernel, 1, sizeof value + 3, &value), MV_E_DEVICE);
  CHECK(strstr(mv_error_message(), "clSetKernelArg"), "%s", mv_error_message());
}

static void test_buffer_pool(void) {
  cl_mem a = NULL, b = NULL, c = NULL;
  size_t base = mv_buffer_pool_bytes(), base_in_use = mv_buffer_pool_in_use();
  CHECK_OK(mv_buffer_acquire(100000, &a));
  CHECK(a != NULL, "buffer");
  size_t held = mv_buffer_pool_bytes();
  CHECK(held >= base + 100000, "pool accounts the buffer (%zu -> %zu)", base, held);
  CHECK(mv_buffer_pool_in_use() >= base_in_use + 100000, "in use accounted");
  CHECK(mv_buffer_pool_peak() >= held, "peak >= held");
  mv_buffer_release(a);
  CHECK(mv_buffer_pool_in_use() == base_in_use, "release returns it to the pool");
  CHECK(mv_buffer_pool_bytes() == held, "released buffers stay pooled");
  CHECK_OK(mv_buffer_acquire(100000, &b));
  CHECK(b == a, "same size: the pooled buffer is reused");
  CHECK_OK(mv_buffer_acquire(99000, &c)); /* same size class, but a is in use */
  CHECK(c != a && c != NULL, "a buffer in use is not handed out twice");
  size_t peak = mv_buffer_pool_peak();
  CHECK(peak >= mv_buffer_pool_bytes(), "peak %zu covers %zu", peak, mv_buffer_pool_bytes());
  mv_buffer_release(c);
  cl_mem d = NULL;
  CHECK_OK(mv_buffer_acquire(99500, &d));
  CHECK(d == c, "a request in the same size class reuses the buffer");
  mv_buffer_release(d);
  mv_buffer_release(b);
  mv_buffer_release(NULL);
  mv_buffer_pool_trim();
  CHECK(mv_buffer_pool_bytes() == mv_buffer_pool_in_use(), "trim keeps only buffers in use");
  CHECK(mv_buffer_pool_peak() == peak, "peak is kept after trim");
  /* The cap on cached bytes evicts the oldest released buffers. */
  mv_buffer_pool_set_cache_limit(300000);
  cl_mem x1 = NULL, x2 = NULL, x3 = NULL;
  CHECK_OK(mv_buffer_acquire(200000, &x1));
  CHECK_OK(mv_buffer_acquire(150000, &x2));
  CHECK_OK(mv_buffer_acquire(120000, &x3));
  mv_buffer_release(x1);
  size_t cached_one = mv_buffer_pool_bytes() - mv_buffer_pool_in_use();
  CHECK(cached_one >= 200000 && cached_one <= 300000, "one buffer cached (%zu bytes)", cached_one);
  mv_buffer_release(x2); /* 200000 + 150000 > 300000: x1, the oldest, goes */
  size_t cached_two = mv_buffer_pool_bytes() - mv_buffer_pool_in_use();
  CHECK(cached_two <= 300000, "cached bytes %zu within the cap", cached_two);
  cl_mem again = NULL;
  CHECK_OK(mv_buffer_acquire(150000, &again));
  CHECK(again == x2, "the most recently released buffer is still cached");
  mv_buffer_release(again);
  mv_buffer_release(x3);
  CHECK(mv_buffer_pool_bytes() - mv_buffer_pool_in_use() <= 300000, "still within the cap");
  mv_buffer_pool_set_cache_limit(0);
  mv_buffer_pool_trim();

  cl_mem e = NULL;
  CHECK_FAILS(mv_buffer_acquire(0, &e), MV_E_ARGUMENT);
  CHECK_FAILS(mv_buffer_acquire(16, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_buffer_acquire((size_t)1 << 62, &e), MV_E_MEMORY);
  CHECK(strstr(mv_error_message(), "maximum allocation"), "%s", mv_error_message());
  CHECK(e == NULL, "no buffer on failure");
  CHECK_OK(mv_runtime_finish());
}

int main(void) {
  test_status_names();
  mv_device_info first;
  memset(&first, 0, sizeof first);
  test_devices(&first);
  test_current(&first);
  test_program_cache();
  test_buffer_pool();
  return mv_test_finish();
}
