/* Helpers shared by the operator tests (test_ops.c, test_conv_gemm.c):
 * random host inputs, device tensors holding them, NaN-poisoned outputs so
 * an element an operator misses fails, and the comparison against the CPU
 * reference that names the GEMM engine in use. */
#ifndef MV_OPS_TESTING_H
#define MV_OPS_TESTING_H

#include <stddef.h>

#include "opencl/ops.h"

#define TOLERANCE 1e-5

/* Deterministic random floats in [lo, hi) (each call a new seed); exits on
 * out of memory. */
float *host_random(size_t n, float lo, float hi);
/* Zeroed floats (at least one); exits on out of memory. */
float *host_alloc(size_t n);
/* A device tensor holding `host`. */
mv_tensor device(const float *host, int n, int c, int h, int w);
/* An output tensor full of NaN, so elements the operator misses fail. */
mv_tensor poisoned(int n, int c, int h, int w);
/* The GEMM engine the tests run with (named in messages). */
extern const char *engine_label;
/* Runs the tests that follow with GEMM engine `engine` (and names it in
 * messages); 0, with a line saying why, when the device cannot run it. */
int select_engine(mv_gemm_engine engine);
/* Relative L2 error of t against want, checked < TOLERANCE. */
double compare(const char *what, const mv_tensor *t, const float *want);

#endif
