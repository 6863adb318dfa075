/* HASHINIT (spec/HASHINIT.md): deterministic synthetic weights, bit-exact
 * with the numpy generator used for the golden fixtures.
 *
 * Bit-exactness needs plain IEEE double arithmetic in the stated order with
 * no fused multiply-add: GCC does not contract in ISO C mode (-std=c11, set
 * by CMake), and the pragma below covers clang. */
#include <math.h>
#include <string.h>

#include "error.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static const double GAIN = 1.2;

uint64_t mv_hashinit_seed(const char *salt, const char *key) {
  uint64_t h = 0xcbf29ce484222325ull;
  const uint64_t prime = 0x100000001b3ull;
  for (const char *s = salt ? salt : ""; *s; s++) {
    h ^= (uint8_t)*s;
    h *= prime;
  }
  for (const char *s = key ? key : ""; *s; s++) {
    h ^= (uint8_t)*s;
    h *= prime;
  }
  return h;
}

static uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* r in [-1, 1) for element j. */
static double uniform(uint64_t seed, uint64_t j) {
  uint64_t x = splitmix64(seed + j);
  double u = (double)(x >> 40) * 0x1p-24;
  return 2.0 * u - 1.0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* F(key): the last prediction conv of each network is rescaled. */
static double final_factor(const char *key) {
  if (strcmp(key, "decoder.pred.weight") == 0) return 0.25;
  if (strcmp(key, "classifier.classifier.3.weight") == 0) return 8.0;
  if (strcmp(key, "final_conv.weight") == 0) return 4.0;
  return 1.0;
}

typedef enum { K_ZERO, K_MEAN, K_VAR, K_CONV, K_GAMMA, K_BIAS } value_kind;

mv_status mv_hashinit_fill(const char *salt, const char *key, int ndim, const int64_t *shape,
                           float *out) {
  MV_CHECK_ARG(key, "mv_hashinit_fill: key is NULL");
  MV_CHECK_ARG(ndim >= 0 && ndim <= MV_MAX_DIMS, "mv_hashinit_fill: '%s': ndim %d outside 0..%d",
               key, ndim, (int)MV_MAX_DIMS);
  MV_CHECK_ARG(ndim == 0 || shape, "mv_hashinit_fill: '%s': shape is NULL", key);
  uint64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    MV_CHECK_ARG(shape[i] >= 0, "mv_hashinit_fill: '%s': shape[%d] is negative", key, i);
    if (shape[i] && numel > (uint64_t)INT64_MAX / (uint64_t)shape[i])
      return mv_fail(MV_E_ARGUMENT, "mv_hashinit_fill: '%s': element count overflows", key);
    numel *= (uint64_t)shape[i];
  }
  MV_CHECK_ARG(numel == 0 || out, "mv_hashinit_fill: '%s': out is NULL", key);

  value_kind kind;
  if (ends_with(key, "num_batches_tracked"))
    kind = K_ZERO;
  else if (ends_with(key, "running_mean"))
    kind = K_MEAN;
  else if (ends_with(key, "running_var"))
    kind = K_VAR;
  else if (ndim >= 2)
    kind = K_CONV;
  else if (ndim == 1 && ends_with(key, ".weight"))
    kind = K_GAMMA;
  else if (ndim == 1 && ends_with(key, ".bias"))
    kind = K_BIAS;
  else
    return mv_fail(MV_E_ARGUMENT,
                   "mv_hashinit_fill: no HASHINIT rule for key '%s' with %d dimensions (expected "
                   "num_batches_tracked, running_mean/var, a 2+-D weight or a 1-D weight/bias)",
                   key, ndim);
  if (numel == 0) return MV_OK;

  uint64_t seed = mv_hashinit_seed(salt, key);
  double scale = 0.0;
  if (kind == K_CONV) {
    double fan_in = (double)(numel / (uint64_t)shape[0]);
    scale = GAIN * sqrt(3.0 / fan_in) * final_factor(key);
  }
  for (uint64_t j = 0; j < numel; j++) {
    double v;
    switch (kind) {
      case K_ZERO: v = 0.0; break;
      case K_MEAN: v = 0.1 * uniform(seed, j); break;
      case K_VAR: v = 1.0 + 0.25 * (uniform(seed, j) + 1.0); break;
      case K_CONV: v = uniform(seed, j) * scale; break;
      case K_GAMMA: v = 1.0 + 0.1 * uniform(seed, j); break;
      default: v = 0.1 * uniform(seed, j); break;
    }
    out[j] = (float)v;
  }
  return MV_OK;
}
