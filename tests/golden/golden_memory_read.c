/* Golden case `memory_read`: affinity, top-k index sets and readouts of one
 * object's memory against the official EvalMemoryReader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "opencl/memory_read.h"
#include "propagation/propagation_net.h"
#include "testutil.h"

/* Index sets per query column must be identical (order inside may differ). */
static void compare_index_sets(const golden_ctx *ctx, const int *ours, const int64_t *ref, int k,
                               int n) {
  int differing = 0;
  for (int col = 0; col < n; col++) {
    for (int j = 0; j < k; j++) {
      int found = 0;
      for (int i = 0; i < k && !found; i++) found = ours[(size_t)i * n + col] == ref[(size_t)j * n + col];
      if (!found) {
        differing++;
        break;
      }
    }
  }
  printf("  %-14s %-28s %d of %d columns differ  %s\n", ctx->case_name, "top-k index sets",
         differing, n, differing ? "FAIL" : "ok");
  CHECK(differing == 0, "memory_read: %d query columns keep a different top-%d set", differing, k);
}

int golden_case_memory_read(const golden_ctx *ctx) {
  mv_array *mk = golden_load(ctx, "mem_key"), *mv = golden_load(ctx, "mem_value");
  mv_array *qk = golden_load(ctx, "query_key"), *affinity_ref = golden_load(ctx, "affinity");
  mv_array *indices_ref = golden_load(ctx, "top50_indices");
  mv_array *top_ref = golden_load(ctx, "readout_top50"), *full_ref = golden_load(ctx, "readout_full");
  if (!mk || !mv || !qk || !affinity_ref || !indices_ref || !top_ref || !full_ref ||
      mk->ndim != 5 || mk->shape[0] != 1 || qk->ndim != 4 || indices_ref->ndim != 3) {
    CHECK(0, "memory_read: inputs missing or not 1 x C x T x h x w (one object)");
  } else {
    int ck = (int)mk->shape[1], cv = (int)mv->shape[1];
    size_t m = (size_t)(mk->shape[2] * mk->shape[3] * mk->shape[4]);
    size_t n = (size_t)(qk->shape[2] * qk->shape[3]);
    int top_k = (int)indices_ref->shape[1];
    mv_tensor key = {0}, value = {0}, query = {0}, affinity = {0}, top = {0}, full = {0};
    mv_tensor weights = {0};
    cl_mem index_buffer = NULL;
    if (golden_upload(mk, 1, ck, 1, (int)m, &key) && golden_upload(mv, 1, cv, 1, (int)m, &value) &&
        golden_upload(qk, 1, ck, 1, (int)n, &query) &&
        CHECK_OK(mv_tensor_new(&affinity, 1, 1, (int)m, (int)n)) &&
        CHECK_OK(mv_tensor_new(&top, 1, cv, 1, (int)n)) &&
        CHECK_OK(mv_tensor_new(&full, 1, cv, 1, (int)n)) &&
        CHECK_OK(mv_tensor_new(&weights, 1, 1, top_k, (int)n)) &&
        CHECK_OK(mv_buffer_acquire((size_t)top_k * n * sizeof(int), &index_buffer))) {
      mv_matrix K = mv_memory_matrix(&key, 0), V = mv_memory_matrix(&value, 0);
      mv_matrix Q = mv_memory_matrix(&query, 0);
      mv_memory_kept kept = {{index_buffer, 0, n}, {weights.buffer, weights.offset, n}};
      mv_matrix A = {affinity.buffer, affinity.offset, n};
      if (CHECK_OK(mv_memory_affinity(K, Q, ck, m, n, MV_AFFINITY_MEMORY_MAJOR, A)))
        golden_compare_tensor(ctx, "affinity", &affinity, affinity_ref, 1e-4);
      if (CHECK_OK(mv_memory_read(K, V, Q, ck, cv, m, n, top_k, mv_memory_matrix(&top, 0), &kept))) {
        golden_compare_tensor(ctx, "readout_top50", &top, top_ref, 1e-4);
        int *indices = malloc((size_t)top_k * n * sizeof *indices);
        mv_runtime *rt;
        if (indices && CHECK_OK(mv_runtime_get(&rt)) &&
            CHECK_OK(mv_cl_check(clEnqueueReadBuffer(rt->queue, index_buffer, CL_TRUE, 0,
                                                     (size_t)top_k * n * sizeof *indices, indices,
                                                     0, NULL, NULL),
                                 "clEnqueueReadBuffer(indices)")))
          compare_index_sets(ctx, indices, indices_ref->data, top_k, (int)n);
        free(indices);
      }
      if (CHECK_OK(mv_memory_read(K, V, Q, ck, cv, m, n, 0, mv_memory_matrix(&full, 0), NULL)))
        golden_compare_tensor(ctx, "readout_full", &full, full_ref, 1e-4);
    }
    mv_buffer_release(index_buffer);
    mv_tensor *all[7] = {&key, &value, &query, &affinity, &top, &full, &weights};
    for (int i = 0; i < 7; i++) mv_tensor_free(all[i]);
  }
  mv_array *arrays[7] = {mk, mv, qk, affinity_ref, indices_ref, top_ref, full_ref};
  for (int i = 0; i < 7; i++) mv_array_free(arrays[i]);
  return 0;
}
