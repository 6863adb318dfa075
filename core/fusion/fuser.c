/* What fusion/fuser.h declares for every fuser. */
#include "fusion/fuser.h"

#include <math.h>

#include "error.h"

void mv_fuser_destroy(mv_fuser *fuser) {
  if (fuser && fuser->ops && fuser->ops->destroy) fuser->ops->destroy(fuser->self);
  if (fuser) *fuser = (mv_fuser){0};
}

mv_status mv_fusion_check_probabilities(const char *fn, const mv_tensor *t, const char *arg) {
  MV_CHECK_ARG(t, "%s: %s is NULL", fn, arg);
  MV_TRY(mv_tensor_check(t, fn, arg));
  MV_CHECK_ARG(t->n >= 2 && t->c == 1,
               "%s: %s is %dx%dx%dx%d, expected (k+1) x 1 x H x W with k >= 1", fn, arg, t->n,
               t->c, t->h, t->w);
  return MV_OK;
}

mv_status mv_fusion_check_same_shape(const char *fn, const mv_tensor *a, const mv_tensor *b,
                                     const char *name_a, const char *name_b) {
  MV_CHECK_ARG(a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c,
               "%s: %s is %dx%dx%dx%d but %s is %dx%dx%dx%d", fn, name_a, a->n, a->c, a->h, a->w,
               name_b, b->n, b->c, b->h, b->w);
  return MV_OK;
}

float mv_fusion_certainty(const float *p, int channels, size_t plane, size_t i, float log_channels) {
  float h = 0;
  for (int c = 0; c < channels; c++) {
    float v = p[(size_t)c * plane + i];
    if (v > 1e-6f) h -= v * logf(v);
  }
  float conf = 1.0f - h / log_channels;
  return conf < 0 ? 0 : conf;
}

float mv_fusion_agreement(const float *a, const float *b, int channels, size_t plane) {
  size_t both = 0, either = 0;
  for (size_t i = 0; i < plane; i++) {
    int label_a = 0, label_b = 0;
    float best_a = a[i], best_b = b[i];
    for (int c = 1; c < channels; c++) {
      size_t j = (size_t)c * plane + i;
      if (a[j] > best_a) best_a = a[j], label_a = c;
      if (b[j] > best_b) best_b = b[j], label_b = c;
    }
    either += label_a || label_b;
    both += label_a && label_a == label_b;
  }
  return either ? (float)((double)both / (double)either) : 1.0f;
}
