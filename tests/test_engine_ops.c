/* The session engine's operators (opencl/engine_ops.h) against the CPU
 * reference, on odd sizes and at non-zero offsets (views), with outputs
 * poisoned first so an unwritten element fails; plus argument checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "opencl/engine_ops.h"
#include "opencl/reference.h"
#include "testutil.h"

static float *host_random(size_t n, uint64_t seed, float lo, float hi) {
  float *p = malloc(n * sizeof *p);
  if (!p) exit(1);
  mv_test_random(p, n, seed, lo, hi);
  return p;
}

static void test_mask_difference(void) {
  enum { K = 3, H = 13, W = 17 };
  size_t n = (size_t)K * H * W;
  /* Values beyond [0, 1] check the clamp on both sides. */
  float *mask = host_random(n, 1, -0.5f, 1.5f), *prev = host_random(n, 2, -0.5f, 1.5f);
  float *want_pos = malloc(n * sizeof(float)), *want_neg = malloc(n * sizeof(float));
  float *got = malloc(n * sizeof(float));
  mv_ref_mask_difference(mask, prev, n, want_pos, want_neg);
  /* The mask is a view at an offset into a larger tensor, as the engine's are. */
  mv_tensor whole = {0}, m = {0}, p = {0}, pos = {0}, neg = {0};
  CHECK_OK(mv_tensor_new(&whole, K + 1, 1, H, W));
  CHECK_OK(mv_tensor_fill(&whole, NAN));
  CHECK_OK(mv_tensor_view(&whole, 1, K, 0, 1, &m));
  CHECK_OK(mv_tensor_upload(&m, mask));
  CHECK_OK(mv_tensor_new(&p, K, 1, H, W));
  CHECK_OK(mv_tensor_upload(&p, prev));
  CHECK_OK(mv_tensor_new(&neg, K, 1, H, W));
  CHECK_OK(mv_tensor_fill(&neg, NAN));
  CHECK_OK(mv_mask_difference(&m, &p, &pos, &neg));   /* pos allocated, neg given */
  CHECK(pos.n == K && pos.c == 1 && pos.h == H && pos.w == W, "pos allocated with the mask's shape");
  CHECK_OK(mv_tensor_download(&pos, got));
  CHECK(mv_max_abs_diff(got, want_pos, n) == 0, "mask difference pos: max abs %g",
        mv_max_abs_diff(got, want_pos, n));
  CHECK_OK(mv_tensor_download(&neg, got));
  CHECK(mv_max_abs_diff(got, want_neg, n) == 0, "mask difference neg: max abs %g",
        mv_max_abs_diff(got, want_neg, n));
  mv_tensor wrong = {0};
  CHECK_OK(mv_tensor_new(&wrong, K, 1, H, W + 1));
  CHECK_FAILS(mv_mask_difference(&m, &wrong, &pos, &neg), MV_E_ARGUMENT);
  CHECK_FAILS(mv_mask_difference(&m, &p, &wrong, &neg), MV_E_MISMATCH);
  CHECK_FAILS(mv_mask_difference(NULL, &p, &pos, &neg), MV_E_ARGUMENT);
  mv_tensor_free(&wrong);
  mv_tensor_free(&whole);
  mv_tensor_free(&p);
  mv_tensor_free(&pos);
  mv_tensor_free(&neg);
  free(mask);
  free(prev);
  free(want_pos);
  free(want_neg);
  free(got);
}

static void test_memory_slot_store(void) {
  enum { K = 2, C = 5, H = 3, W = 7, CAPACITY = 4 };
  size_t plane = (size_t)H * W, bank_n = (size_t)K * C * CAPACITY * plane;
  float *bank_host = host_random(bank_n, 3, -1, 1), *want = malloc(bank_n * sizeof(float));
  float *got = malloc(bank_n * sizeof(float));
  mv_tensor bank = {0};
  CHECK_OK(mv_tensor_new(&bank, K, C, CAPACITY, (int)plane));
  CHECK_OK(mv_tensor_upload(&bank, bank_host));
  for (int i = 0; i < (int)bank_n; i++) want[i] = bank_host[i];
  for (int slot = CAPACITY - 1; slot >= 0; slot -= 2) {   /* untouched slots must stay */
    float *frame = host_random((size_t)K * C * plane, 10 + (uint64_t)slot, -1, 1);
    mv_tensor src = {0};
    CHECK_OK(mv_tensor_new(&src, K, C, H, W));
    CHECK_OK(mv_tensor_upload(&src, frame));
    CHECK_OK(mv_memory_slot_store(&src, &bank, slot));
    mv_ref_memory_slot_store(frame, K, C, (int)plane, CAPACITY, slot, want);
    mv_tensor_free(&src);
    free(frame);
  }
  CHECK_OK(mv_tensor_download(&bank, got));
  CHECK(mv_max_abs_diff(got, want, bank_n) == 0, "memory slot store: max abs %g",
        mv_max_abs_diff(got, want, bank_n));
  mv_tensor small = {0};
  CHECK_OK(mv_tensor_new(&small, K, C, H, W - 1));
  CHECK_FAILS(mv_memory_slot_store(&small, &bank, 0), MV_E_ARGUMENT);
  mv_tensor_free(&small);
  CHECK_OK(mv_tensor_new(&small, K, C, H, W));
  CHECK_FAILS(mv_memory_slot_store(&small, &bank, CAPACITY), MV_E_ARGUMENT);
  CHECK_FAILS(mv_memory_slot_store(&small, &bank, -1), MV_E_ARGUMENT);
  mv_tensor_free(&small);
  mv_tensor_free(&bank);
  free(bank_host);
  free(want);
  free(got);
}

int main(void) {
  test_mask_difference();
  test_memory_slot_store();
  return mv_test_finish();
}
