/* Device memory pool: released buffers are kept and handed out again for a
 * request of the same size class, so a network's per-frame temporaries do
 * not hit the driver's allocator. Size classes are 1/4-octave steps (at
 * most 25% waste) above 4 KiB. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "opencl/runtime.h"

typedef struct pool_entry {
  cl_mem buffer;
  size_t bytes; /* the size class actually allocated */
  int in_use;
  uint64_t released_at; /* release order, to evict the oldest cached first */
} pool_entry;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_entry *entries;
static size_t entry_count, entry_capacity;
static size_t held_bytes, peak_bytes;
static uint64_t release_clock;
/* Cached (released) bytes kept at most; 0 = a quarter of device memory. A
 * growing tensor (the memory bank) would otherwise leave one cached buffer
 * per size behind. */
static size_t cache_limit;
/* Bytes the pool may hold at most (mv_buffer_pool_set_limit); 0 = the device's. */
static size_t hard_limit;

static size_t size_class(size_t bytes) {
  if (bytes <= 4096) return 4096;
  size_t octave = 4096;
  while (octave < bytes / 2 && octave < ((size_t)1 << 62)) octave *= 2;
  /* bytes in (octave, 2*octave]: steps of octave/4 */
  size_t step = octave / 4;
  return (bytes + step - 1) / step * step;
}

static void remove_entry(size_t i) {
  held_bytes -= entries[i].bytes;
  entries[i] = entries[--entry_count];
}

/* Releases every cached (not in use) buffer. Caller holds pool_lock. */
static void trim_locked(void) {
  for (size_t i = entry_count; i-- > 0;) {
    if (entries[i].in_use) continue;
    clReleaseMemObject(entries[i].buffer);
    remove_entry(i);
  }
}

mv_status mv_buffer_acquire(size_t bytes, cl_mem *out) {
  MV_CHECK_ARG(out != NULL, "mv_buffer_acquire: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(bytes > 0, "mv_buffer_acquire: size is 0 bytes");
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  size_t want = size_class(bytes);
  if (rt->info.max_allocation && want > rt->info.max_allocation && bytes <= rt->info.max_allocation)
    want = bytes; /* the class would exceed the device's limit but the request fits */
  if (rt->info.max_allocation && want > rt->info.max_allocation)
    return mv_fail(MV_E_MEMORY,
                   "mv_buffer_acquire: %zu bytes exceeds the device's maximum allocation of "
                   "%llu bytes (%s)",
                   bytes, (unsigned long long)rt->info.max_allocation, rt->info.name);
  pthread_mutex_lock(&pool_lock);
  for (size_t i = 0; i < entry_count; i++) {
    if (!entries[i].in_use && entries[i].bytes == want) {
      entries[i].in_use = 1;
      *out = entries[i].buffer;
      pthread_mutex_unlock(&pool_lock);
      return MV_OK;
    }
  }
  mv_status status = MV_OK;
  if (entry_count == entry_capacity) {
    size_t capacity = entry_capacity ? entry_capacity * 2 : 64;
    pool_entry *grown = realloc(entries, capacity * sizeof *grown);
    if (!grown) {
      pthread_mutex_unlock(&pool_lock);
      return mv_fail(MV_E_MEMORY, "mv_buffer_acquire: out of host memory for the pool table");
    }
    entries = grown;
    entry_capacity = capacity;
  }
  if (hard_limit && held_bytes + want > hard_limit) {
    trim_locked(); /* cached buffers first, as for a full device */
    if (held_bytes + want > hard_limit) {
      size_t held = held_bytes;
      pthread_mutex_unlock(&pool_lock);
      return mv_fail(MV_E_MEMORY,
                     "device memory: %zu more bytes would pass the pool's limit of %zu bytes "
                     "(%zu held) on %s",
                     want, hard_limit, held, rt->info.name);
    }
  }
  cl_int code = CL_SUCCESS;
  cl_mem buffer = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, want, NULL, &code);
  if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES ||
      code == CL_OUT_OF_HOST_MEMORY) {
    trim_locked(); /* give cached buffers back and try once more */
    buffer = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, want, NULL, &code);
  }
  if (code != CL_SUCCESS) {
    status = mv_fail(code == CL_INVALID_BUFFER_SIZE || code == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                             code == CL_OUT_OF_RESOURCES || code == CL_OUT_OF_HOST_MEMORY
                         ? MV_E_MEMORY
                         : MV_E_DEVICE,
                     "clCreateBuffer(%zu bytes) failed: %s (%d); pool holds %zu bytes", want,
                     mv_cl_error_name(code), (int)code, held_bytes);
  } else {
    entries[entry_count].buffer = buffer;
    entries[entry_count].bytes = want;
    entries[entry_count].in_use = 1;
    entry_count++;
    held_bytes += want;
    if (held_bytes > peak_bytes) peak_bytes = held_bytes;
    *out = buffer;
  }
  pthread_mutex_unlock(&pool_lock);
  return status;
}

static size_t effective_cache_limit(void) {
  if (cache_limit) return cache_limit;
  mv_runtime *rt = NULL;
  if (mv_runtime_get(&rt) == MV_OK && rt->info.global_memory)
    return (size_t)(rt->info.global_memory / 4);
  return (size_t)1 << 30;
}

/* Releases the oldest cached buffers until the cached bytes fit the limit.
 * Caller holds pool_lock. */
static void evict_locked(size_t limit) {
  for (;;) {
    size_t cached = 0, oldest = entry_count;
    for (size_t i = 0; i < entry_count; i++) {
      if (entries[i].in_use) continue;
      cached += entries[i].bytes;
      if (oldest == entry_count || entries[i].released_at < entries[oldest].released_at)
        oldest = i;
    }
    if (cached <= limit || oldest == entry_count) return;
    clReleaseMemObject(entries[oldest].buffer);
    remove_entry(oldest);
  }
}

void mv_buffer_release(cl_mem buffer) {
  if (!buffer) return;
  size_t limit = effective_cache_limit();
  pthread_mutex_lock(&pool_lock);
  for (size_t i = 0; i < entry_count; i++) {
    if (entries[i].buffer == buffer) {
      entries[i].in_use = 0;
      entries[i].released_at = ++release_clock;
      evict_locked(limit);
      pthread_mutex_unlock(&pool_lock);
      return;
    }
  }
  pthread_mutex_unlock(&pool_lock);
  clReleaseMemObject(buffer); /* not from the pool: drop the caller's reference */
}

void mv_buffer_pool_set_cache_limit(size_t bytes) {
  pthread_mutex_lock(&pool_lock);
  cache_limit = bytes;
  pthread_mutex_unlock(&pool_lock);
}

void mv_buffer_pool_set_limit(size_t bytes) {
  pthread_mutex_lock(&pool_lock);
  hard_limit = bytes;
  pthread_mutex_unlock(&pool_lock);
}

void mv_buffer_pool_trim(void) {
  pthread_mutex_lock(&pool_lock);
  trim_locked();
  pthread_mutex_unlock(&pool_lock);
}

size_t mv_buffer_pool_bytes(void) {
  pthread_mutex_lock(&pool_lock);
  size_t bytes = held_bytes;
  pthread_mutex_unlock(&pool_lock);
  return bytes;
}

size_t mv_buffer_pool_peak(void) {
  pthread_mutex_lock(&pool_lock);
  size_t bytes = peak_bytes;
  pthread_mutex_unlock(&pool_lock);
  return bytes;
}

size_t mv_buffer_pool_in_use(void) {
  pthread_mutex_lock(&pool_lock);
  size_t bytes = 0;
  for (size_t i = 0; i < entry_count; i++)
    if (entries[i].in_use) bytes += entries[i].bytes;
  pthread_mutex_unlock(&pool_lock);
  return bytes;
}
