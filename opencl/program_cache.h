/* Kernel programs: built once per process from the embedded sources and
 * cached on disk as device binaries. Internal to the library (and tests). */
#ifndef MV_PROGRAM_CACHE_H
#define MV_PROGRAM_CACHE_H

#include <stdint.h>

#include "opencl/runtime.h"

/* Build options of every program (no precision-changing options). */
#define MV_PROGRAM_BUILD_OPTIONS "-cl-std=CL1.2"

/* The built program `name` (opencl/kernels/NAME.cl) for the runtime's device. */
mv_status mv_program_get(const char *name, cl_program *out);

/* Builds an arbitrary source through the same disk cache (not kept in the
 * in-process table; the caller releases the program). A build failure is
 * MV_E_DEVICE with the build log in the message. */
mv_status mv_program_build(const char *name, const char *source, cl_program *out);

/* The cache folder: $MIVOS_CACHE_DIR, else $XDG_CACHE_HOME/mivos, else
 * $HOME/.cache/mivos. Fails when none of these can be formed. */
mv_status mv_program_cache_dir(char *out, size_t capacity);
/* The cache file of program `name` for the current device and options. */
mv_status mv_program_cache_file(const char *name, char *out, size_t capacity);
/* 64-bit FNV-1a, chainable through `seed` (start with MV_FNV_OFFSET). */
#define MV_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t mv_fnv1a(uint64_t seed, const void *data, size_t size);

/* Counters since start: programs loaded from disk and built from source. */
typedef struct mv_program_cache_stats {
  int disk_loads;
  int source_builds;
  int cache_writes;
} mv_program_cache_stats;
mv_program_cache_stats mv_program_cache_stats_get(void);

/* Forgets the programs and kernels built in this process (tests use it to
 * force the next mv_kernel_get to go through the disk cache again). Only
 * valid when no kernel from the cache is in flight or held. */
void mv_program_cache_clear_memory(void);

#endif
