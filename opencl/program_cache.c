/* Programs built once per process and cached on disk: the file name carries a
 * hash of source + build options + platform + device + driver, the file is
 * written to a temporary name then renamed, and any problem reading it falls
 * back silently to building from source (and rewriting the file). */
#include "opencl/program_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "opencl/kernel_sources.h"

enum { MAX_PROGRAMS = 64, MAX_KERNELS = 512, PATH_CAPACITY = 4096 };

static const char file_magic[8] = {'M', 'V', 'P', 'R', 'O', 'G', '0', '1'};

typedef struct cached_program {
  char name[64];
  cl_program program;
} cached_program;

typedef struct cached_kernel {
  char program[64];
  char kernel[96];
  cl_kernel kernel_object;
} cached_kernel;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_program programs[MAX_PROGRAMS];
static int program_count;
static cached_kernel kernels[MAX_KERNELS];
static int kernel_count;
static mv_program_cache_stats stats;

uint64_t mv_fnv1a(uint64_t seed, const void *data, size_t size) {
  const unsigned char *p = data;
  for (size_t i = 0; i < size; i++) {
    seed ^= p[i];
    seed *= 0x100000001b3ULL;
  }
  return seed;
}

static uint64_t hash_string(uint64_t seed, const char *s) {
  return mv_fnv1a(seed, s, strlen(s) + 1); /* the NUL separates fields */
}

mv_program_cache_stats mv_program_cache_stats_get(void) {
  pthread_mutex_lock(&cache_lock);
  mv_program_cache_stats copy = stats;
  pthread_mutex_unlock(&cache_lock);
  return copy;
}

mv_status mv_program_cache_dir(char *out, size_t capacity) {
  MV_CHECK_ARG(out != NULL && capacity > 0, "mv_program_cache_dir: out is NULL or empty");
  const char *dir = getenv("MIVOS_CACHE_DIR");
  int written;
  if (dir && dir[0]) {
    written = snprintf(out, capacity, "%s", dir);
  } else if ((dir = getenv("XDG_CACHE_HOME")) && dir[0]) {
    written = snprintf(out, capacity, "%s/mivos", dir);
  } else if ((dir = getenv("HOME")) && dir[0]) {
    written = snprintf(out, capacity, "%s/.cache/mivos", dir);
  } else {
    return mv_fail(MV_E_IO, "mv_program_cache_dir: none of MIVOS_CACHE_DIR, XDG_CACHE_HOME, "
                            "HOME is set");
  }
  if (written < 0 || (size_t)written >= capacity)
    return mv_fail(MV_E_ARGUMENT, "mv_program_cache_dir: path longer than %zu bytes", capacity);
  return MV_OK;
}

static const char *find_source(const char *name) {
  for (const mv_kernel_source *s = mv_kernel_sources; s->name; s++)
    if (!strcmp(s->name, name)) return s->source;
  return NULL;
}

static uint64_t program_key(const mv_runtime *rt, const char *source) {
  uint64_t h = MV_FNV_OFFSET;
  h = hash_string(h, source);
  h = hash_string(h, MV_PROGRAM_BUILD_OPTIONS);
  h = hash_string(h, rt->info.platform);
  h = hash_string(h, rt->info.name);
  h = hash_string(h, rt->info.vendor);
  h = hash_string(h, rt->info.driver);
  h = hash_string(h, rt->info.version);
  return h;
}

static mv_status cache_file_for(const mv_runtime *rt, const char *name, const char *source,
                                char *out, size_t capacity, uint64_t *key) {
  char dir[PATH_CAPACITY];
  MV_TRY(mv_program_cache_dir(dir, sizeof dir));
  *key = program_key(rt, source);
  int written = snprintf(out, capacity, "%s/%s-%016llx.bin", dir, name, (unsigned long long)*key);
  if (written < 0 || (size_t)written >= capacity)
    return mv_fail(MV_E_ARGUMENT, "mv_program_cache_file: path longer than %zu bytes", capacity);
  return MV_OK;
}

mv_status mv_program_cache_file(const char *name, char *out, size_t capacity) {
  MV_CHECK_ARG(name != NULL, "mv_program_cache_file: name is NULL");
  MV_CHECK_ARG(out != NULL && capacity > 0, "mv_program_cache_file: out is NULL or empty");
  const char *source = find_source(name);
  if (!source)
    return mv_fail(MV_E_ARGUMENT, "mv_program_cache_file: no embedded program '%s'", name);
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  uint64_t key;
  return cache_file_for(rt, name, source, out, capacity, &key);
}

/* mkdir -p; failures show up later when the file cannot be written. */
static void make_dirs(const char *path) {
  char buffer[PATH_CAPACITY];
  snprintf(buffer, sizeof buffer, "%s", path);
  for (char *p = buffer + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(buffer, 0755);
    *p = '/';
  }
  mkdir(buffer, 0755);
}

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Loads a program binary from the cache file; NULL on any problem. */
static cl_program load_cached(const mv_runtime *rt, const char *path, uint64_t key) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char header[32];
  cl_program program = NULL;
  unsigned char *binary = NULL;
  if (fread(header, 1, sizeof header, f) != sizeof header) goto done;
  if (memcmp(header, file_magic, 8) != 0 || get_u64(header + 8) != key) goto done;
  uint64_t size = get_u64(header + 16), checksum = get_u64(header + 24);
  if (size == 0 || size > ((uint64_t)1 << 30)) goto done;
  binary = malloc((size_t)size);
  if (!binary || fread(binary, 1, (size_t)size, f) != size) goto done;
  if (fgetc(f) != EOF) goto done; /* trailing bytes: not a file we wrote */
  if (mv_fnv1a(MV_FNV_OFFSET, binary, (size_t)size) != checksum) goto done;
  size_t length = (size_t)size;
  const unsigned char *pointer = binary;
  cl_int binary_status = CL_SUCCESS, code = CL_SUCCESS;
  program = clCreateProgramWithBinary(rt->context, 1, &rt->device, &length, &pointer,
                                      &binary_status, &code);
  if (code != CL_SUCCESS || binary_status != CL_SUCCESS) {
    if (program) clReleaseProgram(program);
    program = NULL;
    goto done;
  }
  if (clBuildProgram(program, 1, &rt->device, MV_PROGRAM_BUILD_OPTIONS, NULL, NULL) !=
      CL_SUCCESS) {
    clReleaseProgram(program);
    program = NULL;
  }
done:
  free(binary);
  fclose(f);
  return program;
}

/* Writes the program's binary atomically; failures are silent (the cache
 * is an optimisation). Returns 1 when the file was written. */
static int store_cached(const mv_runtime *rt, cl_program program, const char *path, uint64_t key) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0)
    return 0;
  unsigned char *binary = malloc(size);
  if (!binary) return 0;
  unsigned char *pointers[1] = {binary};
  int ok = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof pointers, pointers, NULL) ==
      CL_SUCCESS) {
    char dir[PATH_CAPACITY], temp[PATH_CAPACITY + 64];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    make_dirs(dir);
    static unsigned counter;
    snprintf(temp, sizeof temp, "%s.%ld.%u.tmp", path, (long)getpid(), counter++);
    FILE *f = fopen(temp, "wb");
    if (f) {
      unsigned char header[32];
      memcpy(header, file_magic, 8);
      put_u64(header + 8, key);
      put_u64(header + 16, size);
      put_u64(header + 24, mv_fnv1a(MV_FNV_OFFSET, binary, size));
      ok = fwrite(header, 1, sizeof header, f) == sizeof header &&
           fwrite(binary, 1, size, f) == size;
      ok = (fclose(f) == 0) && ok;
      if (ok) ok = rename(temp, path) == 0;
      if (!ok) remove(temp);
    }
  }
  (void)rt;
  free(binary);
  return ok;
}

static mv_status build_from_source(const mv_runtime *rt, const char *name, const char *source,
                                   cl_program *out) {
  cl_int code = CL_SUCCESS;
  cl_program program = clCreateProgramWithSource(rt->context, 1, &source, NULL, &code);
  if (code != CL_SUCCESS)
    return mv_fail(MV_E_DEVICE, "clCreateProgramWithSource(%s) failed: %s (%d)", name,
                   mv_cl_error_name(code), (int)code);
  code = clBuildProgram(program, 1, &rt->device, MV_PROGRAM_BUILD_OPTIONS, NULL, NULL);
  if (code != CL_SUCCESS) {
    char log[3072] = "";
    size_t used = 0;
    clGetProgramBuildInfo(program, rt->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &used);
    log[sizeof log - 1] = '\0';
    clReleaseProgram(program);
    return mv_fail(MV_E_DEVICE, "clBuildProgram(%s.cl) failed: %s (%d); build log:\n%s", name,
                   mv_cl_error_name(code), (int)code, log);
  }
  *out = program;
  return MV_OK;
}

/* Loads `source` from the disk cache or builds it (and writes the cache).
 * Caller holds cache_lock. */
static mv_status build_cached(const mv_runtime *rt, const char *name, const char *source,
                              cl_program *out) {
  char path[PATH_CAPACITY];
  uint64_t key = 0;
  int have_path = cache_file_for(rt, name, source, path, sizeof path, &key) == MV_OK;
  cl_program program = have_path ? load_cached(rt, path, key) : NULL;
  if (program) {
    stats.disk_loads++;
  } else {
    MV_TRY(build_from_source(rt, name, source, &program));
    stats.source_builds++;
    if (have_path && store_cached(rt, program, path, key)) stats.cache_writes++;
  }
  mv_error_clear(); /* a cache problem is not an error */
  *out = program;
  return MV_OK;
}

/* Caller holds cache_lock. */
static mv_status get_program_locked(const mv_runtime *rt, const char *name, cl_program *out) {
  for (int i = 0; i < program_count; i++)
    if (!strcmp(programs[i].name, name)) return *out = programs[i].program, MV_OK;
  if (strlen(name) >= sizeof programs[0].name)
    return mv_fail(MV_E_ARGUMENT, "mv_program_get: program name '%s' too long", name);
  if (program_count >= MAX_PROGRAMS)
    return mv_fail(MV_E_MEMORY, "mv_program_get: more than %d programs", MAX_PROGRAMS);
  const char *source = find_source(name);
  if (!source)
    return mv_fail(MV_E_ARGUMENT, "mv_program_get: no embedded program '%s' "
                                  "(opencl/kernels/%s.cl)", name, name);
  cl_program program = NULL;
  MV_TRY(build_cached(rt, name, source, &program));
  snprintf(programs[program_count].name, sizeof programs[0].name, "%s", name);
  programs[program_count++].program = program;
  *out = program;
  return MV_OK;
}

mv_status mv_program_build(const char *name, const char *source, cl_program *out) {
  MV_CHECK_ARG(name != NULL && name[0] && !strchr(name, '/'),
               "mv_program_build: name is NULL, empty or contains '/'");
  MV_CHECK_ARG(source != NULL, "mv_program_build: source is NULL");
  MV_CHECK_ARG(out != NULL, "mv_program_build: out is NULL");
  *out = NULL;
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  pthread_mutex_lock(&cache_lock);
  mv_status status = build_cached(rt, name, source, out);
  pthread_mutex_unlock(&cache_lock);
  return status;
}

mv_status mv_program_get(const char *name, cl_program *out) {
  MV_CHECK_ARG(name != NULL && name[0], "mv_program_get: name is NULL or empty");
  MV_CHECK_ARG(out != NULL, "mv_program_get: out is NULL");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  pthread_mutex_lock(&cache_lock);
  mv_status status = get_program_locked(rt, name, out);
  pthread_mutex_unlock(&cache_lock);
  return status;
}

mv_status mv_kernel_get(const char *program, const char *kernel, cl_kernel *out) {
  MV_CHECK_ARG(program != NULL && program[0], "mv_kernel_get: program is NULL or empty");
  MV_CHECK_ARG(kernel != NULL && kernel[0], "mv_kernel_get: kernel is NULL or empty");
  MV_CHECK_ARG(out != NULL, "mv_kernel_get: out is NULL");
  MV_CHECK_ARG(strlen(program) < sizeof kernels[0].program &&
                   strlen(kernel) < sizeof kernels[0].kernel,
               "mv_kernel_get: name %s/%s too long", program, kernel);
  *out = NULL;
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  pthread_mutex_lock(&cache_lock);
  mv_status status = MV_OK;
  for (int i = 0; i < kernel_count; i++) {
    if (!strcmp(kernels[i].program, program) && !strcmp(kernels[i].kernel, kernel)) {
      *out = kernels[i].kernel_object;
      pthread_mutex_unlock(&cache_lock);
      return MV_OK;
    }
  }
  cl_program built = NULL;
  status = get_program_locked(rt, program, &built);
  if (status == MV_OK && kernel_count >= MAX_KERNELS)
    status = mv_fail(MV_E_MEMORY, "mv_kernel_get: more than %d kernels", MAX_KERNELS);
  if (status == MV_OK) {
    cl_int code = CL_SUCCESS;
    cl_kernel k = clCreateKernel(built, kernel, &code);
    if (code != CL_SUCCESS) {
      status = mv_fail(MV_E_DEVICE, "clCreateKernel(%s, program %s) failed: %s (%d)", kernel,
                       program, mv_cl_error_name(code), (int)code);
    } else {
      cached_kernel *entry = &kernels[kernel_count++];
      snprintf(entry->program, sizeof entry->program, "%s", program);
      snprintf(entry->kernel, sizeof entry->kernel, "%s", kernel);
      entry->kernel_object = k;
      *out = k;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return status;
}

void mv_program_cache_clear_memory(void) {
  pthread_mutex_lock(&cache_lock);
  for (int i = 0; i < kernel_count; i++) clReleaseKernel(kernels[i].kernel_object);
  for (int i = 0; i < program_count; i++) clReleaseProgram(programs[i].program);
  kernel_count = 0;
  program_count = 0;
  pthread_mutex_unlock(&cache_lock);
}
