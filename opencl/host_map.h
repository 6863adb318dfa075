/* Host access to device buffers for the host GEMM engine (opencl/gemm.c) and
 * the host convolution path (opencl/conv.c), on devices whose buffers are
 * host memory (mv_gemm_host_supported): buffers are mapped (blocking, on the
 * in-order queue, so every earlier kernel has finished), used through plain
 * pointers, then unmapped before any later kernel is enqueued. On PoCL a map
 * returns the buffer's own storage: no copy. */
#ifndef MV_HOST_MAP_H
#define MV_HOST_MAP_H

#include "opencl/runtime.h"

enum { MV_HOST_MAP_MAX = 6 };

typedef struct mv_host_mapping {
  cl_mem buffer;
  size_t lo, hi;         /* element range mapped */
  cl_map_flags flags;
  float *base;           /* host address of element lo while mapped */
} mv_host_mapping;

/* Up to MV_HOST_MAP_MAX buffers; each distinct buffer is mapped once over
 * the union of the ranges added for it. */
typedef struct mv_host_map {
  mv_host_mapping maps[MV_HOST_MAP_MAX];
  int count;
  int mapped;
} mv_host_map;

void mv_host_map_init(mv_host_map *m);
/* Adds `count` elements of `buffer` from element `offset`, read-only or
 * read-write. Before mv_host_map_begin only. */
mv_status mv_host_map_add(mv_host_map *m, cl_mem buffer, size_t offset, size_t count, int write);
/* Maps every buffer (blocking) and checks that the queue has no running
 * command left. On failure nothing stays mapped. */
mv_status mv_host_map_begin(mv_host_map *m);
/* The host address of element `offset` of `buffer` (inside an added range). */
float *mv_host_map_ptr(const mv_host_map *m, cl_mem buffer, size_t offset);
/* Unmaps everything (enqueued on the in-order queue); safe to call twice. */
mv_status mv_host_map_end(mv_host_map *m);

/* Row-major SGEMM in the host BLAS (sizes must fit in int). */
void mv_host_sgemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc);

/* Host threads for the host paths: the caller plus mv_host_workers() - 1
 * pool threads (as many as OpenBLAS's threads, i.e. the cores), which
 * sleep on a condition variable between calls, so they never compete with
 * PoCL's workers or OpenBLAS's. */
typedef void (*mv_host_task)(void *context, int task, int worker);
int mv_host_workers(void);
/* Runs fn(context, task, worker) for task in [0, tasks) on the caller and the
 * pool threads (tasks taken in order, dynamically); worker is in
 * [0, mv_host_workers()). Returns when every task is done. One call at a
 * time (concurrent callers are serialised). */
void mv_host_parallel(int tasks, mv_host_task fn, void *context);
/* OpenBLAS's thread count: mv_host_parallel callers set 1 while each worker
 * runs its own single-threaded BLAS calls, then restore it. */
int mv_host_blas_threads(int threads);

/* Splits `rows` rows of each of `planes` planes into bands of band_rows
 * rows (bands per plane), so that there are a few tasks per worker even for
 * one plane. */
void mv_host_split_rows(int planes, int rows, int *bands, int *band_rows);

/* 1 when the CPU has AVX2 and FMA (x86; checked once), for the host paths'
 * vector kernels; 0 elsewhere, where their portable loops run. */
int mv_host_has_avx2_fma(void);

#endif
