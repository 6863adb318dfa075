/* Paper module 3, difference-aware fusion: the interface every fuser
 * implements and its two constructors, the fusion network and the
 * weight-free linear blend. The engine sees only this header. */
#ifndef MV_FUSER_H
#define MV_FUSER_H

#include "mivos.h"
#include "opencl/tensor.h"

/* Everything fusion may use for frame ti, between the earlier interacted
 * frame tc and the new one tr. Probabilities are (k+1) x 1 x H x W,
 * background first; the differences are the new mask minus the previous
 * probabilities at tr, clamped positive (pos) and negated (neg). */
typedef struct mv_fusion_input {
  const mv_tensor *image;
  const mv_tensor *previous, *current;
  const mv_tensor *pos_diff, *neg_diff;
  const mv_tensor *interacted_key;   /* k x Ck x h x w: memory key of frame tr */
  const mv_tensor *query_key;        /* 1 x Ck x h x w of frame ti, or NULL */
  /* Frame tr and its committed (k+1) mask, for a fuser that needs keys of
   * its own (network fusion after a propagation module without them). */
  const mv_tensor *interacted_image, *interacted_mask;
  int tc, tr, ti;
  /* Frames from ti to the nearest frame interacted on before this round
   * (tr itself left out): how far the previous result at ti is from its
   * own source. 0 when unknown (then |ti - tc|). */
  int previous_distance;
  /* How well the previous result agreed at tr with the mask committed
   * there (mv_fusion_agreement), 0..1; negative when unknown. */
  float previous_agreement;
  /* How well the new round's pass, read one frame further at tc, agreed
   * there with the mask committed at tc; negative while the pass runs (the
   * engine fuses again when the pass ends, for a fuser that asks). */
  float pass_agreement;
} mv_fusion_input;

typedef struct mv_fuser_ops {
  /* out: (k+1) x 1 x H x W fused probabilities (aggregated). */
  mv_status (*fuse)(void *self, const mv_fusion_input *in, mv_tensor *out);
  void (*destroy)(void *self);
} mv_fuser_ops;

typedef struct mv_fuser {
  const mv_fuser_ops *ops;
  void *self;
  const char *name;
  /* 1: also fuse a pass that runs to the video's end (no interacted frame
   * bounds it; tc is then -1 or the frame count, previous_distance > 0),
   * instead of replacing the previous result there. */
  int open_passes;
  /* 1: when a pass reaches the interacted frame that bounds it, the engine
   * reads that frame too and fuses the pass's frames again with
   * pass_agreement (query_key is then NULL). */
  int second_fusion;
} mv_fuser;

/* Releases a fuser's state (safe on a zeroed one). */
void mv_fuser_destroy(mv_fuser *fuser);

/* What the weight-free fusers share. A probability tensor of (k+1) x 1 x H x W
 * with k >= 1, else MV_E_ARGUMENT naming `fn` and `arg`: */
mv_status mv_fusion_check_probabilities(const char *fn, const mv_tensor *t, const char *arg);
/* a and b of one shape (n, c, h, w), else MV_E_ARGUMENT naming `fn` and both. */
mv_status mv_fusion_check_same_shape(const char *fn, const mv_tensor *a, const mv_tensor *b,
                                     const char *name_a, const char *name_b);
/* 1 - normalised entropy of the `channels` planes at pixel i: 1 for a
 * one-hot distribution, 0 for the uniform one (log_channels = log(channels)). */
float mv_fusion_certainty(const float *p, int channels, size_t plane, size_t i, float log_channels);
/* Intersection over union of the objects of two (channels x plane)
 * probability maps labelled by their argmax: pixels labelled with the same
 * object in both over pixels labelled with an object in either (1 when
 * neither has any). */
float mv_fusion_agreement(const float *a, const float *b, int channels, size_t plane);

/* "network": the fusion network (network_fuser.c). Neither net is owned;
 * both must outlive the fuser. The propagation net computes the keys for the
 * attention when the propagator supplies none of its own. */
typedef struct mv_propagation mv_propagation;
typedef struct mv_fusion mv_fusion;
mv_status mv_fuser_network(const mv_propagation *prop, const mv_fusion *fusion, mv_fuser *out);

/* "linear" (linear_fusion.c), the MiVOS paper's linear-blending baseline:
 * with the official distance coefficients nc = |tc - ti| / |tc - tr| and
 * nr = |tr - ti| / |tc - tr| (nc + nr = 1 for tc < ti < tr or tr < ti < tc),
 *   fused = nc * current + nr * previous
 * on every channel of the aggregated (k+1) x 1 x H x W probabilities
 * (background included), as float32 products and one float32 sum (no fma).
 * The new propagation dominates near the new interaction tr, the previous
 * round near the older interaction tc. A convex combination of two
 * distributions is a distribution, so the result needs no re-aggregation
 * (re-aggregating would sharpen already aggregated probabilities). Fails
 * with MV_E_ARGUMENT unless ti lies strictly between tc and tr and both
 * inputs have the same (k+1) x 1 x H x W shape; out: empty or that shape. */
mv_status mv_fuser_linear(mv_fuser *out);

/* "confidence" (confidence_fusion.c): the linear blend with per-pixel
 * weights that also follow each round's certainty. With nc, nr as above,
 * e = the size of the correction at tr (changed probability mass of the
 * objects over the mass of the union of the new and the previous mask,
 * 0..1) and conf(p) = 1 - entropy(p) / log(k+1) per pixel (1 one-hot, 0
 * uniform):
 *   a = nc * (0.05 + conf(current)),  b = nr * (1 - e * nc) * (0.05 + conf(previous))
 *   fused = (a * current + b * previous) / (a + b)
 * on every channel. The previous round is exact at tc and wrong by e at
 * tr, so its weight falls with e towards tr; a round that is unsure of a
 * pixel (a blurred boundary, an object it half lost) yields it to a round
 * that is sure. Convex per pixel, so the result is a distribution.
 * Arguments and failures as mv_fuser_linear's; pos_diff, neg_diff and
 * interacted_mask, when given (not NULL, not empty), must have the
 * probabilities' shape. */
mv_status mv_fuser_confidence(mv_fuser *out);

/* "conservative" (conservative_fusion.c): a correction replaces the
 * previous result near the frame it was made on and keeps it where the
 * previous result's own source is as near. With d_new = |ti - tr|, d_old =
 * previous_distance (|ti - tc| when 0) and the new round's share
 * s = d_old / (d_old + d_new) (= nc of "linear" when tc is the nearest
 * earlier interacted frame), a = s^gamma and b = 1 - a; with use_certainty
 * a and b are also multiplied by (0.05 + conf) of their round (conf as for
 * "confidence"):  fused = (a * current + b * previous) / (a + b).
 * Also fuses passes that run to the video's end (open_passes = 1): there
 * the previous result came from an interaction on the other side of tr.
 * ti must differ from tr and lie strictly between tc and tr unless
 * previous_distance > 0; shapes as for mv_fuser_linear; gamma outside
 * 0.25 .. 16 fails with MV_E_ARGUMENT. */
mv_status mv_fuser_conservative(float gamma, int use_certainty, mv_fuser *out);

/* "conservative+agreement": "conservative" that also weighs each round by
 * an estimate of its quality at ti. The robot (and a user) corrects the
 * frame where the previous result is worst, and how bad it was there is
 * known when the correction is committed: previous_agreement, the previous
 * result's agreement with the new mask at tr. With f = d_new / (d_new +
 * d_old) (0 at tr, 1 at the previous result's own source), each round is
 * taken as exact at its source and as degrading linearly away from it:
 *   q_new = 1 - (1 - far_quality) * f,  q_old = 1 - (1 - previous_agreement) * (1 - f)
 * and a, b of "conservative" are multiplied by q_new^exponent and
 * q_old^exponent before the certainty. far_quality is the new round's
 * quality where the previous result's source is: pass_agreement once the
 * pass has run to tc (second_fusion = 1), the argument far_quality before
 * and for passes to the video's end. Without a previous_agreement
 * (negative) it is "conservative". exponent outside 0 .. 16 or far_quality
 * outside (0, 1] fail with MV_E_ARGUMENT, the rest as mv_fuser_conservative. */
mv_status mv_fuser_conservative_agreement(float gamma, int use_certainty, float exponent,
                                          float far_quality, mv_fuser *out);

#endif
