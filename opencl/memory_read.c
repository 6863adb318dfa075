/* Space-time memory read (top-k filtered attention) and the fusion
 * attention softmax; see memory_read.h for the layouts. */
#include "opencl/memory_read.h"

#include <limits.h>
#include <math.h>

#include "error.h"

enum {
  SELECT_MAX_LOCAL = 256, /* kernels/memory_read.cl: MR_CAP >= MR_MAX_K + 4 * 256 */
  SOFTMAX_LX = 16,        /* kernels/memory_read.cl: SM_LX, SM_LY */
  SOFTMAX_LY = 16,
  GATHER_LOCAL = 64
};

/* Checks a row-major rows x cols matrix of `elem`-byte entries: a buffer,
 * ld >= cols, and that its last entry lies inside the buffer. */
static mv_status check_matrix(const char *fn, const char *name, mv_matrix x, size_t rows,
                              size_t cols, size_t elem) {
  MV_CHECK_ARG(x.buffer != NULL, "%s: %s.buffer is NULL", fn, name);
  MV_CHECK_ARG(x.ld >= cols, "%s: %s.ld = %zu is smaller than its %zu columns", fn, name, x.ld,
               cols);
  size_t bytes = 0;
  MV_TRY(mv_cl_check(clGetMemObjectInfo(x.buffer, CL_MEM_SIZE, sizeof bytes, &bytes, NULL),
                     "clGetMemObjectInfo(CL_MEM_SIZE)"));
  size_t need = (x.offset + (rows - 1) * x.ld + cols) * elem;
  MV_CHECK_ARG(need <= bytes,
               "%s: %s (%zu x %zu, ld %zu, offset %zu) needs %zu bytes but its buffer holds %zu",
               fn, name, rows, cols, x.ld, x.offset, need, bytes);
  return MV_OK;
}

/* Sizes passed to kernels as 32-bit values (positions are int32 indices). */
static mv_status check_sizes(const char *fn, size_t m, size_t n) {
  MV_CHECK_ARG(m > 0 && m <= INT_MAX, "%s: M = %zu memory positions, expected 1 .. %d", fn, m,
               INT_MAX);
  MV_CHECK_ARG(n > 0 && n <= INT_MAX, "%s: N = %zu query positions, expected 1 .. %d", fn, n,
               INT_MAX);
  return MV_OK;
}

static mv_status check_top_k(const char *fn, int top_k, size_t m) {
  MV_CHECK_ARG(top_k >= 1 && top_k <= MV_MEMORY_MAX_TOP_K, "%s: top_k = %d, expected 1 .. %d", fn,
               top_k, (int)MV_MEMORY_MAX_TOP_K);
  MV_CHECK_ARG((size_t)top_k <= m,
               "%s: top_k = %d needs at least %d memory positions, got M = %zu (T*h*w)", fn, top_k,
               top_k, m);
  return MV_OK;
}

static mv_status check_ld32(const char *fn, const char *name, size_t ld) {
  MV_CHECK_ARG(ld <= UINT_MAX, "%s: %s.ld = %zu exceeds 32 bits", fn, name, ld);
  return MV_OK;
}

mv_status mv_memory_affinity(mv_matrix mem_key, mv_matrix query_key, int ck, size_t m, size_t n,
                             mv_affinity_layout layout, mv_matrix affinity) {
  static const char fn[] = "mv_memory_affinity";
  MV_CHECK_ARG(ck > 0, "%s: ck = %d, expected > 0", fn, ck);
  MV_TRY(check_sizes(fn, m, n));
  MV_CHECK_ARG(layout == MV_AFFINITY_QUERY_MAJOR || layout == MV_AFFINITY_MEMORY_MAJOR,
               "%s: layout = %d, expected MV_AFFINITY_QUERY_MAJOR (0) or MEMORY_MAJOR (1)", fn,
               (int)layout);
  MV_TRY(check_matrix(fn, "mem_key", mem_key, (size_t)ck, m, sizeof(float)));
  MV_TRY(check_matrix(fn, "query_key", query_key, (size_t)ck, n, sizeof(float)));
  const int query_major = layout == MV_AFFINITY_QUERY_MAJOR;
  MV_TRY(check_matrix(fn, "affinity", affinity, query_major ? n : m, query_major ? m : n,
                      sizeof(float)));
  const float scale = 1.0f / sqrtf((float)ck);
  /* Both operands are Ck x (positions): the product contracts their rows. */
  if (query_major)
    return mv_gemm(1, 0, n, m, (size_t)ck, scale, query_key, mem_key, 0.0f, affinity);
  return mv_gemm(1, 0, m, n, (size_t)ck, scale, mem_key, query_key, 0.0f, affinity);
}

/* Largest power-of-two local size <= cap that the kernel and device allow. */
static mv_status local_size_for(cl_kernel kernel, const char *name, size_t cap, size_t *out) {
  mv_runtime *rt = NULL;
  MV_TRY(mv_runtime_get(&rt));
  size_t kernel_max = 0;
  MV_TRY(mv_cl_check(clGetKernelWorkGroupInfo(kernel, rt->device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof kernel_max, &kernel_max, NULL),
                     "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)"));
  size_t limit = cap;
  if (kernel_max < limit) limit = kernel_max;
  if (rt->max_work_group < limit) limit = rt->max_work_group;
  size_t local = 1;
  while (local * 2 <= limit) local *= 2;
  MV_CHECK_ARG(local >= 1, "%s: the device allows no work-group", name);
  *out = local;
  return MV_OK;
}

mv_status mv_memory_topk(mv_matrix affinity, size_t m, size_t n, int top_k, mv_memory_kept kept) {
  static const char fn[] = "mv_memory_topk";
  MV_TRY(check_sizes(fn, m, n));
  MV_TRY(check_top_k(fn, top_k, m));
  MV_TRY(check_matrix(fn, "affinity", affinity, n, m, sizeof(float)));
  MV_TRY(check_matrix(fn, "kept.indices", kept.indices, (size_t)top_k, n, sizeof(cl_int)));
  MV_TRY(check_matrix(fn, "kept.weights", kept.weights, (size_t)top_k, n, sizeof(float)));
  MV_CHECK_ARG(kept.indices.ld == kept.weights.ld,
               "%s: kept.indices.ld = %zu and kept.weights.ld = %zu differ", fn, kept.indices.ld,
               kept.weights.ld);
  MV_TRY(check_ld32(fn, "affinity", affinity.ld));
  MV_TRY(check_ld32(fn, "kept.indices", kept.indices.ld));
  if (mv_memory_host_ops()) {
    mv_status status = mv_memory_topk_host(affinity, m, n, top_k, kept);
    return status == MV_OK ? status : mv_fail_context(status, "%s (host)", fn);
  }

  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("memory_read", "memory_topk_select", &kernel));
  size_t local = 0;
  MV_TRY(local_size_for(kernel, "memory_topk_select", SELECT_MAX_LOCAL, &local));
  cl_ulong aff_off = affinity.offset, idx_off = kept.indices.offset,
           w_off = kept.weights.offset;
  cl_uint aff_ld = (cl_uint)affinity.ld, mm = (cl_uint)m, k = (cl_uint)top_k, rows = (cl_uint)n,
          out_ld = (cl_uint)kept.indices.ld;
  MV_TRY(mv_kernel_args(kernel, 11, sizeof(cl_mem), &affinity.buffer, sizeof aff_off, &aff_off,
                        sizeof aff_ld, &aff_ld, sizeof mm, &mm, sizeof k, &k, sizeof rows, &rows,
                        sizeof(cl_mem), &kept.indices.buffer, sizeof idx_off, &idx_off,
                        sizeof(cl_mem), &kept.weights.buffer, sizeof w_off, &w_off,
                        sizeof out_ld, &out_ld));
  size_t global = n * local;
  return mv_kernel_run(kernel, "memory_topk_select", 1, &global, &local);
}

mv_status mv_memory_gather(mv_matrix mem_value, int cv, size_t m, size_t n, int top_k,
                           mv_memory_kept kept, mv_matrix readout) {
  static const char fn[] = "mv_memory_gather";
  MV_CHECK_ARG(cv > 0, "%s: cv = %d, expected > 0", fn, cv);
  MV_TRY(check_sizes(fn, m, n));
  MV_TRY(check_top_k(fn, top_k, m));
  MV_TRY(check_matrix(fn, "mem_value", mem_value, (size_t)cv, m, sizeof(float)));
  MV_TRY(check_matrix(fn, "kept.indices", kept.indices, (size_t)top_k, n, sizeof(cl_int)));
  MV_TRY(check_matrix(fn, "kept.weights", kept.weights, (size_t)top_k, n, sizeof(float)));
  MV_CHECK_ARG(kept.indices.ld == kept.weights.ld,
               "%s: kept.indices.ld = %zu and kept.weights.ld = %zu differ", fn, kept.indices.ld,
               kept.weights.ld);
  MV_TRY(check_matrix(fn, "readout", readout, (size_t)cv, n, sizeof(float)));
  MV_TRY(check_ld32(fn, "mem_value", mem_value.ld));
  MV_TRY(check_ld32(fn, "kept.indices", kept.indices.ld));
  MV_TRY(check_ld32(fn, "readout", readout.ld));
  if (mv_memory_host_ops()) {
    mv_status status = mv_memory_gather_host(mem_value, cv, m, n, top_k, kept, readout);
    return status == MV_OK ? status : mv_fail_context(status, "%s (host)", fn);
  }

  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("memory_read", "memory_gather", &kernel));
  cl_ulong mv_off = mem_value.offset, idx_off = kept.indices.offset, w_off = kept.weights.offset,
           out_off = readout.offset;
  cl_uint mv_ld = (cl_uint)mem_value.ld, ccv = (cl_uint)cv, nn = (cl_uint)n, k = (cl_uint)top_k,
          kept_ld = (cl_uint)kept.indices.ld, out_ld = (cl_uint)readout.ld;
  MV_TRY(mv_kernel_args(kernel, 14, sizeof(cl_mem), &mem_value.buffer, sizeof mv_off, &mv_off,
                        sizeof mv_ld, &mv_ld, sizeof ccv, &ccv, sizeof nn, &nn, sizeof k, &k,
                        sizeof(cl_mem), &kept.indices.buffer, sizeof idx_off, &idx_off,
                        sizeof(cl_mem), &kept.weights.buffer, sizeof w_off, &w_off,
                        sizeof kept_ld, &kept_ld, sizeof(cl_mem), &readout.buffer,
                        sizeof out_off, &out_off, sizeof out_ld, &out_ld));
  size_t local_n = 0;
  MV_TRY(local_size_for(kernel, "memory_gather", GATHER_LOCAL, &local_n));
  size_t global[2] = {n, ((size_t)cv + 3) / 4};
  size_t local[2] = {local_n, 1};
  return mv_kernel_run(kernel, "memory_gather", 2, global, local);
}

mv_status mv_memory_softmax_columns(mv_matrix x, size_t m, size_t n) {
  static const char fn[] = "mv_memory_softmax_columns";
  MV_TRY(check_sizes(fn, m, n));
  MV_TRY(check_matrix(fn, "x", x, m, n, sizeof(float)));
  MV_TRY(check_ld32(fn, "x", x.ld));
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("memory_read", "memory_softmax_columns", &kernel));
  cl_ulong off = x.offset;
  cl_uint ld = (cl_uint)x.ld, mm = (cl_uint)m, nn = (cl_uint)n;
  MV_TRY(mv_kernel_args(kernel, 5, sizeof(cl_mem), &x.buffer, sizeof off, &off, sizeof ld, &ld,
                        sizeof mm, &mm, sizeof nn, &nn));
  size_t global[2] = {n, SOFTMAX_LY};
  size_t local[2] = {SOFTMAX_LX, SOFTMAX_LY};
  return mv_kernel_run(kernel, "memory_softmax_columns", 2, global, local);
}

mv_status mv_memory_affinity_softmax(mv_matrix mem_key, mv_matrix query_key, int ck, size_t m,
                                     size_t n, mv_matrix out) {
  mv_status status =
      mv_memory_affinity(mem_key, query_key, ck, m, n, MV_AFFINITY_MEMORY_MAJOR, out);
  if (status != MV_OK) return mv_fail_context(status, "mv_memory_affinity_softmax");
  return mv_memory_softmax_columns(out, m, n);
}

size_t mv_memory_block_columns(size_t m, size_t n) {
  size_t limit = MV_MEMORY_BLOCK_FLOATS;
  mv_runtime *rt = NULL;
  if (mv_runtime_get(&rt) == MV_OK && rt->info.max_allocation > 0 &&
      rt->info.max_allocation / sizeof(float) < limit)
    limit = (size_t)(rt->info.max_allocation / sizeof(float));
  size_t columns = limit / m;
  if (columns < 1) columns = 1;
  return columns < n ? columns : n;
}

static mv_matrix shifted(mv_matrix x, size_t elements) {
  x.offset += elements;
  return x;
}

/* The top-k read of one object, in blocks of query columns. */
static mv_status read_top_k(mv_matrix mem_key, mv_matrix mem_value, mv_matrix query_key, int ck,
                            int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                            mv_memory_kept kept, cl_mem workspace, size_t block) {
  mv_matrix affinity = {workspace, 0, m};
  for (size_t n0 = 0; n0 < n; n0 += block) {
    size_t nb = n - n0 < block ? n - n0 : block;
    mv_memory_kept part = {shifted(kept.indices, n0), shifted(kept.weights, n0)};
    MV_TRY(mv_memory_affinity(mem_key, shifted(query_key, n0), ck, m, nb,
                              MV_AFFINITY_QUERY_MAJOR, affinity));
    MV_TRY(mv_memory_topk(affinity, m, nb, top_k, part));
  }
  return mv_memory_gather(mem_value, cv, m, n, top_k, kept, readout);
}

/* The full-softmax read of one object, in blocks of query columns. */
static mv_status read_full(mv_matrix mem_key, mv_matrix mem_value, mv_matrix query_key, int ck,
                           int cv, size_t m, size_t n, mv_matrix readout, cl_mem workspace,
                           size_t block) {
  for (size_t n0 = 0; n0 < n; n0 += block) {
    size_t nb = n - n0 < block ? n - n0 : block;
    mv_matrix weights = {workspace, 0, nb};
    MV_TRY(mv_memory_affinity_softmax(mem_key, shifted(query_key, n0), ck, m, nb, weights));
    MV_TRY(mv_gemm(0, 0, (size_t)cv, nb, m, 1.0f, mem_value, weights, 0.0f,
                   shifted(readout, n0)));
  }
  return MV_OK;
}

/* Validates everything a read of `objects` objects touches. */
static mv_status check_read(const char *fn, int objects, mv_matrix mem_key, size_t key_stride,
                            mv_matrix mem_value, size_t value_stride, mv_matrix query_key, int ck,
                            int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                            size_t readout_stride) {
  MV_CHECK_ARG(objects >= 1, "%s: objects = %d, expected >= 1", fn, objects);
  MV_CHECK_ARG(ck > 0, "%s: ck = %d, expected > 0", fn, ck);
  MV_CHECK_ARG(cv > 0, "%s: cv = %d, expected > 0", fn, cv);
  MV_TRY(check_sizes(fn, m, n));
  MV_CHECK_ARG(top_k >= 0, "%s: top_k = %d, expected 0 (full softmax) or > 0", fn, top_k);
  if (top_k > 0) MV_TRY(check_top_k(fn, top_k, m));
  size_t last = (size_t)objects - 1;
  MV_TRY(check_matrix(fn, "mem_key", shifted(mem_key, last * key_stride), (size_t)ck, m,
                      sizeof(float)));
  MV_TRY(check_matrix(fn, "mem_value", shifted(mem_value, last * value_stride), (size_t)cv, m,
                      sizeof(float)));
  MV_TRY(check_matrix(fn, "query_key", query_key, (size_t)ck, n, sizeof(float)));
  MV_TRY(check_matrix(fn, "readout", shifted(readout, last * readout_stride), (size_t)cv, n,
                      sizeof(float)));
  return MV_OK;
}

static mv_status read_objects(int objects, mv_matrix mem_key, size_t key_stride,
                              mv_matrix mem_value, size_t value_stride, mv_matrix query_key,
                              int ck, int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                              size_t readout_stride, const mv_memory_kept *kept_out) {
  size_t block = mv_memory_block_columns(m, n);
  cl_mem workspace = NULL, indices = NULL, weights = NULL;
  mv_status status = mv_buffer_acquire(block * m * sizeof(float), &workspace);
  mv_memory_kept kept = {{NULL, 0, n}, {NULL, 0, n}};
  if (status == MV_OK && top_k > 0) {
    if (kept_out) {
      kept = *kept_out;
    } else {
      status = mv_buffer_acquire((size_t)top_k * n * sizeof(cl_int), &indices);
      if (status == MV_OK) status = mv_buffer_acquire((size_t)top_k * n * sizeof(float), &weights);
      kept.indices.buffer = indices;
      kept.weights.buffer = weights;
    }
  }
  for (int i = 0; status == MV_OK && i < objects; i++) {
    mv_matrix key = shifted(mem_key, (size_t)i * key_stride);
    mv_matrix value = shifted(mem_value, (size_t)i * value_stride);
    mv_matrix out = shifted(readout, (size_t)i * readout_stride);
    status = top_k > 0 ? read_top_k(key, value, query_key, ck, cv, m, n, top_k, out, kept,
                                    workspace, block)
                       : read_full(key, value, query_key, ck, cv, m, n, out, workspace, block);
    if (status != MV_OK && objects > 1)
      mv_fail_context(status, "mv_memory_read_objects: object %d of %d", i, objects);
  }
  /* The queue is in order: later users of these pooled buffers run after us. */
  mv_buffer_release(weights);
  mv_buffer_release(indices);
  mv_buffer_release(workspace);
  return status;
}

mv_status mv_memory_read(mv_matrix mem_key, mv_matrix mem_value, mv_matrix query_key, int ck,
                         int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                         const mv_memory_kept *kept) {
  static const char fn[] = "mv_memory_read";
  MV_TRY(check_read(fn, 1, mem_key, 0, mem_value, 0, query_key, ck, cv, m, n, top_k, readout, 0));
  if (kept) {
    MV_CHECK_ARG(top_k > 0, "%s: kept outputs need top_k > 0 (got top_k = 0)", fn);
    MV_TRY(check_matrix(fn, "kept->indices", kept->indices, (size_t)top_k, n, sizeof(cl_int)));
    MV_TRY(check_matrix(fn, "kept->weights", kept->weights, (size_t)top_k, n, sizeof(float)));
    MV_CHECK_ARG(kept->indices.ld == kept->weights.ld,
                 "%s: kept->indices.ld = %zu and kept->weights.ld = %zu differ", fn,
                 kept->indices.ld, kept->weights.ld);
  }
  return read_objects(1, mem_key, 0, mem_value, 0, query_key, ck, cv, m, n, top_k, readout, 0,
                      kept);
}

mv_status mv_memory_read_objects(int objects, mv_matrix mem_key, size_t key_stride,
                                 mv_matrix mem_value, size_t value_stride, mv_matrix query_key,
                                 int ck, int cv, size_t m, size_t n, int top_k, mv_matrix readout,
                                 size_t readout_stride) {
  MV_TRY(check_read("mv_memory_read_objects", objects, mem_key, key_stride, mem_value,
                    value_stride, query_key, ck, cv, m, n, top_k, readout, readout_stride));
  return read_objects(objects, mem_key, key_stride, mem_value, value_stride, query_key, ck, cv, m,
                      n, top_k, readout, readout_stride, NULL);
}
