/* conservative fusion: a correction round that keeps the previous result
 * except near the frame it was made on, and conservative+agreement, which
 * also weighs both rounds by how good each is likely to be at the frame
 * (formulas and reasoning in fuser.h).
 * Weight-free; runs on the host over downloaded probabilities. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "fusion/fuser.h"

static const char fn[] = "conservative fusion";

typedef struct conservative {
  float gamma;      /* exponent of the new round's distance weight */
  int certainty;    /* 1: weights also follow each round's per-pixel certainty */
  float exponent;   /* of the rounds' estimated quality; 0: not used */
  float far_quality;/* the new round's assumed quality at the previous source */
} conservative;

static mv_status conservative_fuse(void *self, const mv_fusion_input *in, mv_tensor *out) {
  const conservative *c = self;
  MV_CHECK_ARG(in && out, "%s: NULL argument", fn);
  MV_CHECK_ARG(in->previous_distance >= 0, "%s: previous_distance = %d is negative", fn,
               in->previous_distance);
  MV_CHECK_ARG(in->ti != in->tr && (in->previous_distance > 0 ||
                                    (in->tc < in->ti && in->ti < in->tr) ||
                                    (in->tr < in->ti && in->ti < in->tc)),
               "%s: frame ti = %d must differ from tr = %d and lie strictly between tc = %d "
               "and tr unless previous_distance > 0", fn, in->ti, in->tr, in->tc);
  MV_TRY(mv_fusion_check_probabilities(fn, in->current, "current"));
  MV_TRY(mv_fusion_check_probabilities(fn, in->previous, "previous"));
  const mv_tensor *cur = in->current, *prev = in->previous;
  MV_TRY(mv_fusion_check_same_shape(fn, prev, cur, "previous", "current"));
  int channels = cur->n;
  size_t plane = (size_t)cur->h * cur->w, count = (size_t)channels * plane;
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(out, channels, 1, cur->h, cur->w, fn, "out", &allocated));
  float *host = malloc(2 * count * sizeof(float));
  if (!host) {
    if (allocated) mv_tensor_free(out);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for %d x %dx%d probabilities", fn, channels,
                   cur->h, cur->w);
  }
  float *c_host = host, *p_host = host + count;
  mv_status s = mv_tensor_download(cur, c_host);
  if (s == MV_OK) s = mv_tensor_download(prev, p_host);
  if (s == MV_OK) {
    double d_new = fabs((double)(in->ti - in->tr));
    double d_old = in->previous_distance > 0 ? (double)in->previous_distance
                                             : fabs((double)(in->ti - in->tc));
    /* the new round's share by distance, bent towards the previous result */
    float a0 = (float)pow(d_old / (d_old + d_new), (double)c->gamma);
    float b0 = 1.0f - a0;
    if (c->exponent > 0 && in->previous_agreement >= 0) {
      double f = d_new / (d_new + d_old);
      double far = in->pass_agreement >= 0 ? in->pass_agreement : c->far_quality;
      double q_new = 1.0 - (1.0 - far) * f;
      double q_old = 1.0 - (1.0 - (double)in->previous_agreement) * (1.0 - f);
      a0 *= (float)pow(q_new, (double)c->exponent);
      b0 *= (float)pow(q_old, (double)c->exponent);
    }
    float log_channels = logf((float)channels);
    const float floor_conf = 0.05f;  /* two unsure rounds still blend by distance */
    for (size_t i = 0; i < plane; i++) {
      float a = a0, b = b0, previous_mass = 0;
      for (int ch = 0; ch < channels; ch++) previous_mass += p_host[(size_t)ch * plane + i];
      /* no previous result here (a propagation stopped before this frame) */
      if (previous_mass < 0.5f) b = 0;
      if (c->certainty) {
        a *= floor_conf + mv_fusion_certainty(c_host, channels, plane, i, log_channels);
        b *= floor_conf + mv_fusion_certainty(p_host, channels, plane, i, log_channels);
      }
      float w = a + b > 0 ? a / (a + b) : 0.5f;
      for (int ch = 0; ch < channels; ch++) {
        size_t j = (size_t)ch * plane + i;
        c_host[j] = w * c_host[j] + (1.0f - w) * p_host[j];
      }
    }
    s = mv_tensor_upload(out, c_host);
  }
  free(host);
  if (s != MV_OK && allocated) mv_tensor_free(out);
  return s;
}

static void conservative_destroy(void *self) { free(self); }

static const mv_fuser_ops conservative_fuser_ops = {conservative_fuse, conservative_destroy};

static mv_status create(const char *name, const char *fuser_name, float gamma, int use_certainty,
                        float exponent, float far_quality, mv_fuser *out) {
  MV_CHECK_ARG(out, "mv_fuser_%s: out is NULL", name);
  MV_CHECK_ARG(isfinite(gamma) && gamma >= 0.25f && gamma <= 16.0f,
               "mv_fuser_%s: gamma = %g, expected 0.25 .. 16", name, (double)gamma);
  MV_CHECK_ARG(isfinite(exponent) && exponent >= 0 && exponent <= 16.0f,
               "mv_fuser_%s: exponent = %g, expected 0 .. 16", name, (double)exponent);
  MV_CHECK_ARG(far_quality > 0 && far_quality <= 1.0f,
               "mv_fuser_%s: far_quality = %g, expected (0, 1]", name, (double)far_quality);
  conservative *c = malloc(sizeof *c);
  if (!c) return mv_fail(MV_E_MEMORY, "mv_fuser_%s: out of memory", name);
  *c = (conservative){gamma, use_certainty != 0, exponent, far_quality};
  *out = (mv_fuser){&conservative_fuser_ops, c, fuser_name, 1, exponent > 0};
  return MV_OK;
}

mv_status mv_fuser_conservative(float gamma, int use_certainty, mv_fuser *out) {
  return create("conservative", "conservative", gamma, use_certainty, 0, 1, out);
}

mv_status mv_fuser_conservative_agreement(float gamma, int use_certainty, float exponent,
                                          float far_quality, mv_fuser *out) {
  return create("conservative_agreement", "conservative+agreement", gamma, use_certainty,
                exponent, far_quality, out);
}
