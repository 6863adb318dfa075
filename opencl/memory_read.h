/* Space-time memory read of the MiVOS propagation network (top-k filtered
 * attention) and the full-softmax attention of the fusion stage, on the
 * device.
 *
 * Layouts (row-major float32 matrices, mv_matrix = buffer + element offset +
 * leading dimension):
 *  - memory key    Ck x M, memory value Cv x M, with M = T*h*w memory
 *    positions flattened t slowest, then y, then x: exactly one object's
 *    slice of a K x C x T x h x w tensor (mv_memory_matrix(t, i) gives it
 *    for a tensor shaped n=K, c=C, h*w = T*h*w, e.g. h=T*h, w=w or h=1, w=M);
 *  - query key     Ck x N, N = h*w (shared by all objects);
 *  - readout       Cv x N (ld >= N, so it may be the first Cv channels of a
 *    larger per-object tensor such as the decoder input [readout, v16]).
 * affinity[m, n] = sum_c mk[c, m] * qk[c, n] / sqrt(Ck) (the official code
 * scales qk before the product; here the scale is the GEMM's alpha).
 *
 * Top-k read (top_k > 0): per query column n the top_k largest affinities
 * are kept (ties: the lower memory position first; the set is deterministic),
 * w = exp(a - a_max) over the kept, divided by their sum, zero elsewhere;
 * readout[c, n] = sum_j w[j, n] * mv[c, idx[j, n]] (a gather over the kept
 * positions, not a dense product). Selection and softmax run on the device.
 * Full read (top_k == 0): softmax over all M, readout via mv_gemm.
 *
 * Temporary device memory comes from the buffer pool; the affinity is
 * computed in blocks of query columns so that one block stays under
 * MV_MEMORY_BLOCK_FLOATS floats (M = 100k positions x 1620 queries would
 * otherwise need 630 MB).
 *
 * Host implementations (opencl/memory_read_host.c): where the operators
 * run on the host (mv_ops_use_host: the host GEMM engine on a CPU device
 * whose buffers are host memory, i.e. PoCL) the top-k selection + softmax
 * and the gather run on the host over the mapped buffers, parallel over
 * query columns on the host thread pool; GPUs keep the kernels. Same
 * semantics as the kernels: the same kept set and order (the 64-bit key
 * below), weights exp(a - a_max) summed in kept order in float, the gather
 * summed in kept order with fused multiply-adds. MIVOS_HOST_OPS=0 (read
 * once), mv_memory_set_host_ops(0) or mv_ops_fast_paths(0) keeps the
 * kernels on such a device too. */
#ifndef MV_MEMORY_READ_H
#define MV_MEMORY_READ_H

#include "opencl/ops.h"

enum {
  MV_MEMORY_MAX_TOP_K = 512,               /* largest supported top_k */
  MV_MEMORY_BLOCK_FLOATS = 32 * 1024 * 1024 /* affinity workspace bound (128 MB) */
};

/* Which axis of the affinity matrix is the row. */
typedef enum mv_affinity_layout {
  MV_AFFINITY_QUERY_MAJOR = 0,  /* N x M: each query's affinities contiguous */
  MV_AFFINITY_MEMORY_MAJOR = 1  /* M x N: the official layout */
} mv_affinity_layout;

/* The kept entries of a top-k read, k x N each: entry [j, n] (at
 * offset + j * ld + n) is the j-th kept memory position of query n in
 * decreasing affinity order (ties: lower position first), and its weight. */
typedef struct mv_memory_kept {
  mv_matrix indices;  /* int32 */
  mv_matrix weights;  /* float32, each column sums to 1 */
} mv_memory_kept;

/* The C x (h*w) matrix of batch item `item` of an NCHW tensor. */
static inline mv_matrix mv_memory_matrix(const mv_tensor *t, int item) {
  mv_matrix x;
  x.buffer = t->buffer;
  x.offset = t->offset + (size_t)item * t->c * t->h * t->w;
  x.ld = (size_t)t->h * t->w;
  return x;
}

/* Query columns per block of an affinity with m memory positions, out of
 * n: as many as keep one block (columns x m floats) under
 * MV_MEMORY_BLOCK_FLOATS and the device's largest allocation, at least 1,
 * at most n. The reads here and labelprop's reads size their workspace with it. */
size_t mv_memory_block_columns(size_t m, size_t n);

/* affinity = mk^T * qk / sqrt(ck) through mv_gemm, N x M (query-major, what
 * the top-k selection reads) or M x N (memory-major). */
mv_status mv_memory_affinity(mv_matrix mem_key, mv_matrix query_key, int ck, size_t m, size_t n,
                             mv_affinity_layout layout, mv_matrix affinity);

/* Top-k selection and softmax over the kept, on a query-major N x M
 * affinity: one work-group per query. Requires 1 <= top_k <= min(M,
 * MV_MEMORY_MAX_TOP_K). */
mv_status mv_memory_topk(mv_matrix affinity, size_t m, size_t n, int top_k, mv_memory_kept kept);

/* readout[c, n] = sum_j weights[j, n] * mem_value[c, indices[j, n]]. */
mv_status mv_memory_gather(mv_matrix mem_value, int cv, size_t m, size_t n, int top_k,
                           mv_memory_kept kept, mv_matrix readout);

/* In place: softmax over the rows of each column of an M x N matrix. */
mv_status mv_memory_softmax_columns(mv_matrix x, size_t m, size_t n);

/* The fusion attention: out (M x N) = softmax over the memory axis of
 * mk^T * qk / sqrt(ck) (no top-k). */
mv_status mv_memory_affinity_softmax(mv_matrix mem_key, mv_matrix query_key, int ck, size_t m,
                                     size_t n, mv_matrix out);

/* One object's read (see the top of this file). top_k = 0 reads with a full
 * softmax; top_k > 0 needs M >= top_k (MV_E_ARGUMENT otherwise, as the
 * official code). `kept` (may be NULL; only with top_k > 0) receives the
 * kept positions and weights. */
mv_status mv_memory_read(mv_matrix mem_key, mv_matrix mem_value, mv_matrix query_key, int ck,
                         int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                         const mv_memory_kept *kept);

/* `objects` reads sharing one query key: object i's key, value and readout
 * start at their offset + i * key_stride, value_stride, readout_stride
 * (elements), e.g. key_stride = Ck*M for a K x Ck x T x h x w tensor and
 * readout_stride = 1024*N for the readout half of a K x 1024 x h x w tensor. */
mv_status mv_memory_read_objects(int objects, mv_matrix mem_key, size_t key_stride,
                                 mv_matrix mem_value, size_t value_stride, mv_matrix query_key,
                                 int ck, int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                                 size_t readout_stride);

/* ---- host implementations (CPU devices with host memory) ------------------ */

/* -1: automatic (MIVOS_HOST_OPS, else on), 0: kernels, 1: host. The host
 * paths still need mv_ops_use_host(); elsewhere this changes nothing. For
 * tests and benchmarks: the same operator on both paths in one run. */
void mv_memory_set_host_ops(int mode);
/* 1 when the host implementations run now (mode and mv_ops_use_host()).
 * Also decides labelprop's host paths (opencl/labelprop_ops.h). */
int mv_memory_host_ops(void);

/* The selection key of the kernels (kernels/memory_read.cl, mr_key): its
 * unsigned order is (affinity descending, position ascending); the float
 * bits mapped to an order-preserving unsigned integer in the high word,
 * the complemented position in the low word. */
static inline unsigned long long mv_memory_key(float v, unsigned position) {
  union { float f; unsigned u; } bits = {v};
  unsigned u = (bits.u & 0x80000000u) ? ~bits.u : (bits.u | 0x80000000u);
  return ((unsigned long long)u << 32) | (unsigned long long)(0xFFFFFFFFu - position);
}
static inline float mv_memory_key_value(unsigned long long key) {
  unsigned u = (unsigned)(key >> 32);
  union { unsigned u; float f; } bits = {(u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u};
  return bits.f;
}
static inline unsigned mv_memory_key_position(unsigned long long key) {
  return 0xFFFFFFFFu - (unsigned)key;
}
/* Host selection: moves the k largest of keys[0, count) (distinct) to the
 * front, sorted in decreasing order (1 <= k <= count, k <=
 * MV_MEMORY_MAX_TOP_K). */
void mv_memory_select_keys(unsigned long long *keys, size_t count, size_t k);
/* weights[j] = exp(value_j - value_0) / sum over j < k, as the kernel: the
 * exponentials in float, summed in order. */
void mv_memory_softmax_keys(const unsigned long long *keys, int k, float *weights);

/* The host top-k and gather (called by mv_memory_topk / mv_memory_gather
 * after their checks when mv_memory_host_ops()). */
mv_status mv_memory_topk_host(mv_matrix affinity, size_t m, size_t n, int top_k,
                              mv_memory_kept kept);
mv_status mv_memory_gather_host(mv_matrix mem_value, int cv, size_t m, size_t n, int top_k,
                                mv_memory_kept kept, mv_matrix readout);

#endif
