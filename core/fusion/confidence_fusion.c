/* confidence fusion: the linear blend of the MiVOS baseline with per-pixel
 * weights that also follow how sure each round is (formula in fuser.h).
 * Weight-free; runs on the host over downloaded probabilities (a few MB
 * per frame at 480p, next to a propagation read that costs far more). */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "fusion/fuser.h"

static const char fn[] = "confidence fusion";

/* How much the interaction at tr changed the previous result there: the
 * changed probability mass over the mass of the larger of the two masks
 * (objects only), 0 (no change) .. 1 (all of it). */
static double correction_size(const float *pos, const float *neg, const float *mask,
                              int channels, size_t plane) {
  double changed = 0, area = 0;
  for (size_t i = plane; i < (size_t)channels * plane; i++) {
    changed += pos[i] + neg[i];
    area += mask[i] + neg[i] - pos[i] > mask[i] ? mask[i] + neg[i] - pos[i] : mask[i];
  }
  if (area <= 0) return changed > 0 ? 1 : 0;
  double e = changed / area;
  return e > 1 ? 1 : e;
}

static mv_status confidence_fuse(void *self, const mv_fusion_input *in, mv_tensor *out) {
  (void)self;
  MV_CHECK_ARG(in && out, "%s: NULL argument", fn);
  MV_CHECK_ARG((in->tc < in->ti && in->ti < in->tr) || (in->tr < in->ti && in->ti < in->tc),
               "%s: frame ti = %d must lie strictly between tc = %d and tr = %d", fn, in->ti,
               in->tc, in->tr);
  MV_TRY(mv_fusion_check_probabilities(fn, in->current, "current"));
  MV_TRY(mv_fusion_check_probabilities(fn, in->previous, "previous"));
  MV_TRY(mv_fusion_check_same_shape(fn, in->previous, in->current, "previous", "current"));
  const mv_tensor *cur = in->current;
  int have_diff = in->pos_diff && in->neg_diff && in->interacted_mask &&
                  !mv_tensor_is_empty(in->pos_diff) && !mv_tensor_is_empty(in->neg_diff) &&
                  !mv_tensor_is_empty(in->interacted_mask);
  if (have_diff) {
    MV_TRY(mv_fusion_check_same_shape(fn, in->pos_diff, cur, "pos_diff", "current"));
    MV_TRY(mv_fusion_check_same_shape(fn, in->neg_diff, cur, "neg_diff", "current"));
    MV_TRY(mv_fusion_check_same_shape(fn, in->interacted_mask, cur, "interacted_mask", "current"));
  }
  int channels = cur->n;
  size_t plane = (size_t)cur->h * cur->w, count = (size_t)channels * plane;
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(out, channels, 1, cur->h, cur->w, fn, "out", &allocated));
  size_t buffers = have_diff ? 5 : 2;
  float *host = malloc(buffers * count * sizeof(float));
  if (!host) {
    if (allocated) mv_tensor_free(out);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for %d x %dx%d probabilities", fn, channels,
                   cur->h, cur->w);
  }
  float *c_host = host, *p_host = host + count;
  mv_status s = mv_tensor_download(cur, c_host);
  if (s == MV_OK) s = mv_tensor_download(in->previous, p_host);
  /* The previous round was exact at tc and off by the correction at tr:
   * its expected error grows with the distance from tc. */
  double correction = 0;
  if (s == MV_OK && have_diff) {
    float *pos = host + 2 * count, *neg = host + 3 * count, *mask = host + 4 * count;
    s = mv_tensor_download(in->pos_diff, pos);
    if (s == MV_OK) s = mv_tensor_download(in->neg_diff, neg);
    if (s == MV_OK) s = mv_tensor_download(in->interacted_mask, mask);
    if (s == MV_OK) correction = correction_size(pos, neg, mask, channels, plane);
  }
  if (s == MV_OK) {
    double span = fabs((double)(in->tc - in->tr));
    float nc = (float)(fabs((double)(in->tc - in->ti)) / span);   /* weight of current */
    float nr = (float)(fabs((double)(in->tr - in->ti)) / span);   /* weight of previous */
    nr *= (float)(1.0 - correction * nc);
    float log_channels = logf((float)channels);
    /* a floor so that two uncertain rounds still blend by distance */
    const float floor_conf = 0.05f;
    for (size_t i = 0; i < plane; i++) {
      float a = nc * (floor_conf + mv_fusion_certainty(c_host, channels, plane, i, log_channels));
      float b = nr * (floor_conf + mv_fusion_certainty(p_host, channels, plane, i, log_channels));
      float w = a + b > 0 ? a / (a + b) : 0.5f;
      for (int c = 0; c < channels; c++) {
        size_t j = (size_t)c * plane + i;
        c_host[j] = w * c_host[j] + (1.0f - w) * p_host[j];
      }
    }
    s = mv_tensor_upload(out, c_host);
  }
  free(host);
  if (s != MV_OK && allocated) mv_tensor_free(out);
  return s;
}

static void confidence_destroy(void *self) { (void)self; }

static const mv_fuser_ops confidence_fuser_ops = {confidence_fuse, confidence_destroy};

mv_status mv_fuser_confidence(mv_fuser *out) {
  MV_CHECK_ARG(out, "mv_fuser_confidence: out is NULL");
  *out = (mv_fuser){&confidence_fuser_ops, NULL, "confidence"};
  return MV_OK;
}
