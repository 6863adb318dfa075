/* Confidence and conservative fusion (fusion/fuser.h) and the refinement wrapper
 * (propagation/refine.h): bad arguments and options, the fusion formula on
 * hand-made probabilities, and the refinement through the engine on a
 * synthetic sequence (objects with sharp colour edges, which labelprop's
 * cell read blurs) against plain labelprop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fusion/fuser.h"
#include "nets/preprocess.h"
#include "propagation/labelprop.h"
#include "propagation/refine.h"
#include "session/engine.h"
#include "testutil.h"

/* One refine option set to a bad value; the constructor must refuse it
 * (and release the inner propagator it was given). */
static void refuse_option(const char *what, mv_refine_options o) {
  mv_propagator inner, out;
  if (!CHECK_OK(mv_propagator_labelprop(NULL, &inner))) return;
  mv_status s = mv_propagator_refine(inner, &o, "refined", &out);
  CHECK(s == MV_E_ARGUMENT && strlen(mv_error_message()) > 0, "refine option %s refused: %s", what,
        mv_error_message());
}

static void test_arguments(void) {
  mv_refine_options d, o;
  mv_refine_options_default(&d);
  CHECK(d.low > 0 && d.low < 0.5f && d.band > 0 && d.bins == 16, "refine defaults are set");
  o = d, o.low = 0.0f, refuse_option("low = 0", o);
  o = d, o.low = 0.5f, refuse_option("low = 0.5", o);
  o = d, o.band = -1, refuse_option("band = -1", o);
  o = d, o.band = 65, refuse_option("band = 65", o);
  o = d, o.colour_weight = 1.5f, refuse_option("colour_weight = 1.5", o);
  o = d, o.smoothness = NAN, refuse_option("smoothness = NaN", o);
  o = d, o.bins = 12, refuse_option("bins = 12", o);
  mv_propagator out;
  CHECK_FAILS(mv_propagator_refine((mv_propagator){0}, NULL, "x", &out), MV_E_ARGUMENT);
  mv_propagator inner;
  if (CHECK_OK(mv_propagator_labelprop(NULL, &inner)) &&
      CHECK_OK(mv_propagator_refine(inner, NULL, "labelprop+refine", &out))) {
    CHECK(!strcmp(out.name, "labelprop+refine"), "the wrapper's name");
    /* the inner module's checks still apply: a frame of the wrong shape */
    mv_tensor odd = {0};
    void *query = NULL;
    size_t bytes = 0;
    CHECK_OK(mv_tensor_zeros(&odd, 1, 2, 16, 16));
    CHECK_FAILS(out.ops->encode_query(out.self, &odd, &query, &bytes), MV_E_ARGUMENT);
    mv_tensor_free(&odd);
    mv_propagator_destroy(&out);
  }

  CHECK_FAILS(mv_fuser_confidence(NULL), MV_E_ARGUMENT);
  mv_fuser fuser;
  if (CHECK_OK(mv_fuser_confidence(&fuser))) {
    CHECK(!strcmp(fuser.name, "confidence"), "the fuser's name");
    mv_tensor a = {0}, b = {0}, out_t = {0};
    CHECK_OK(mv_tensor_zeros(&a, 3, 1, 8, 8));
    CHECK_OK(mv_tensor_zeros(&b, 2, 1, 8, 8));
    mv_fusion_input in = {.previous = &a, .current = &b, .tc = 0, .tr = 4, .ti = 2};
    CHECK_FAILS(fuser.ops->fuse(fuser.self, &in, &out_t), MV_E_ARGUMENT);
    in.current = &a, in.ti = 5;
    CHECK_FAILS(fuser.ops->fuse(fuser.self, &in, &out_t), MV_E_ARGUMENT);
    CHECK(mv_tensor_is_empty(&out_t), "no output after a refused fusion");
    mv_tensor_free(&a);
    mv_tensor_free(&b);
    mv_fuser_destroy(&fuser);
  }
}

/* The formula of fuser.h on 2 channels x 4 pixels, tc = 0, tr = 4, ti = 1
 * (nc = 0.25, nr = 0.75):
 *   pixel 0: current one-hot (0, 1), previous uniform: current wins;
 *   pixel 1: current uniform, previous one-hot (1, 0): previous wins;
 *   pixel 2: both one-hot, disagreeing: plain distance weights;
 *   pixel 3: both uniform: stays uniform.
 * Then with a correction at tr (e = 0.5) the previous weight falls by
 * 1 - e nc = 0.875. */
static void test_confidence_formula(void) {
  enum { P = 4 };
  const float cur[2 * P] = {0, 0.5f, 1, 0.5f, /* background */ 1, 0.5f, 0, 0.5f};
  const float prev[2 * P] = {0.5f, 1, 0, 0.5f, /* background */ 0.5f, 0, 1, 0.5f};
  mv_tensor c = {0}, p = {0}, out = {0}, pos = {0}, neg = {0}, mask = {0};
  mv_fuser fuser;
  float got[2 * P];
  if (!CHECK_OK(mv_tensor_new(&c, 2, 1, 1, P)) || !CHECK_OK(mv_tensor_new(&p, 2, 1, 1, P)) ||
      !CHECK_OK(mv_fuser_confidence(&fuser)))
    return;
  CHECK_OK(mv_tensor_upload(&c, cur));
  CHECK_OK(mv_tensor_upload(&p, prev));
  for (int with_diff = 0; with_diff < 2; with_diff++) {
    /* correction: the new mask at tr (object on pixels 0, 1) against a
     * previous object on pixel 0 only: changed mass 1 over union 2 */
    const float new_mask[2 * P] = {0, 0, 1, 1, 1, 1, 0, 0};
    const float pos_d[2 * P] = {0, 0, 0, 0, 0, 1, 0, 0};  /* object channel gained pixel 1 */
    const float neg_d[2 * P] = {0, 0, 1, 0, 0, 0, 0, 0};  /* background lost it */
    mv_fusion_input in = {.previous = &p, .current = &c, .tc = 0, .tr = 4, .ti = 1};
    double e = 0.0;
    if (with_diff) {
      CHECK_OK(mv_tensor_new(&pos, 2, 1, 1, P));
      CHECK_OK(mv_tensor_new(&neg, 2, 1, 1, P));
      CHECK_OK(mv_tensor_new(&mask, 2, 1, 1, P));
      CHECK_OK(mv_tensor_upload(&pos, pos_d));
      CHECK_OK(mv_tensor_upload(&neg, neg_d));
      CHECK_OK(mv_tensor_upload(&mask, new_mask));
      in.pos_diff = &pos, in.neg_diff = &neg, in.interacted_mask = &mask;
      e = 0.5;
    }
    mv_tensor_free(&out);
    if (!CHECK_OK(fuser.ops->fuse(fuser.self, &in, &out)) || !CHECK_OK(mv_tensor_download(&out, got)))
      continue;
    double nc = 0.25, nr = 0.75 * (1.0 - e * 0.25), worst = 0;
    for (int i = 0; i < P; i++) {
      double conf_c = (i == 0 || i == 2) ? 1 : 0, conf_p = (i == 1 || i == 2) ? 1 : 0;
      double a = nc * (0.05 + conf_c), b = nr * (0.05 + conf_p), w = a / (a + b);
      for (int ch = 0; ch < 2; ch++) {
        double want = w * cur[ch * P + i] + (1 - w) * prev[ch * P + i];
        double d = fabs(want - got[ch * P + i]);
        if (d > worst) worst = d;
      }
    }
    CHECK(worst < 1e-5, "confidence formula (%s correction): max |error| %.2g < 1e-5",
          with_diff ? "with a" : "without", worst);
    CHECK(got[P + 0] > 0.9f && got[1] > 0.9f,
          "a sure round wins over an unsure one (%.3f, %.3f)", got[P + 0], got[1]);
    CHECK(fabsf(got[3] - 0.5f) < 1e-6f, "two unsure rounds stay uncertain");
  }
  mv_tensor *all[6] = {&c, &p, &out, &pos, &neg, &mask};
  for (int i = 0; i < 6; i++) mv_tensor_free(all[i]);
  mv_fuser_destroy(&fuser);
}

/* ---- refinement on a synthetic sequence ------------------------------------ */

enum { T = 6, H = 96, W = 128 };

typedef struct frames {
  uint8_t rgb[T][H * W * 3];
  uint8_t truth[T][H * W];
  mv_padding pad;
} frames;

static mv_status frame_source(void *user, int t, mv_tensor *out) {
  frames *f = user;
  return mv_preprocess_frame(f->rgb[t], H, W, f->pad, out);
}

/* A red disc of radius 22 moving (+6, +2) px per frame over a background of
 * grey-green 8 x 8 blocks, both with +-8 noise: its curved, sharp edge cuts
 * through labelprop's 4 x 4 cells. */
static void make_frames(frames *f) {
  uint64_t rng = 12345;
  for (int t = 0; t < T; t++) {
    double cx = 36 + 6 * t, cy = 44 + 2 * t;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int in = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 22.0 * 22.0;
        int n = (int)(mv_test_rand_u32(&rng) % 17) - 8;
        int base = 80 + (int)(((x / 8) * 37 + (y / 8) * 91) % 70);
        uint8_t *p = f->rgb[t] + ((size_t)y * W + x) * 3;
        p[0] = (uint8_t)(in ? 200 + n : base + n);
        p[1] = (uint8_t)(in ? 40 + n : base + 25 + n);
        p[2] = (uint8_t)(in ? 40 + n : base - 10 + n);
        f->truth[t][y * W + x] = (uint8_t)in;
      }
  }
}

/* Mean IoU over frames 1..T-1 after one interaction (the truth) on frame 0. */
static double propagated_iou(frames *f, int refined) {
  mv_propagator prop;
  mv_engine *engine = NULL;
  if (!CHECK_OK(mv_propagator_labelprop(NULL, &prop))) return 0;
  if (refined && !CHECK_OK(mv_propagator_refine(prop, NULL, "labelprop+refine", &prop))) return 0;
  mv_engine_config config = {.frames = T, .objects = 1, .height = H, .width = W,
                             .memory_every = 5};
  f->pad = mv_padding_for(H, W, 16);
  if (!CHECK_OK(mv_engine_create(&config, prop, NULL, frame_source, f, &engine))) return 0;
  float mask[2 * H * W];
  for (int i = 0; i < H * W; i++) mask[i] = 1.0f - f->truth[0][i], mask[H * W + i] = f->truth[0][i];
  double sum = 0;
  uint8_t labels[H * W];
  if (CHECK_OK(mv_engine_interact(engine, 0, mask, NULL, NULL))) {
    for (int t = 1; t < T; t++) {
      if (!CHECK_OK(mv_engine_labels(engine, t, labels))) break;
      size_t inter = 0, uni = 0;
      for (int i = 0; i < H * W; i++) {
        inter += labels[i] && f->truth[t][i];
        uni += labels[i] || f->truth[t][i];
      }
      sum += uni ? (double)inter / (double)uni : 1.0;
    }
  }
  mv_engine_free(engine);
  return sum / (T - 1);
}
/* Conservative fusion (fuser.h) on 2 channels x 4 pixels (the pixels of
 * test_confidence_formula): bad arguments, then the formula for a bounded
 * pass (tc = 0, tr = 4, ti = 1: share s = 1/4) and for a pass to the video's
 * end (tr = 4, ti = 6, previous_distance 6: s = 6/8), with and without
 * certainty, against values computed here in double. */
static void test_conservative_formula(void) {
  enum { P = 4 };
  const float cur[2 * P] = {0, 0.5f, 1, 0.5f, /* background */ 1, 0.5f, 0, 0.5f};
  const float prev[2 * P] = {0.5f, 1, 0, 0.5f, /* background */ 0.5f, 0, 1, 0.5f};
  mv_fuser fuser;
  CHECK_FAILS(mv_fuser_conservative(2.0f, 1, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fuser_conservative(0.1f, 1, &fuser), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fuser_conservative(NAN, 1, &fuser), MV_E_ARGUMENT);
  mv_tensor c = {0}, p = {0}, out = {0};
  if (!CHECK_OK(mv_tensor_new(&c, 2, 1, 1, P)) || !CHECK_OK(mv_tensor_new(&p, 2, 1, 1, P)))
    return;
  CHECK_OK(mv_tensor_upload(&c, cur));
  CHECK_OK(mv_tensor_upload(&p, prev));
  for (int certainty = 0; certainty < 2; certainty++) {
    const float gamma = 2.0f;
    if (!CHECK_OK(mv_fuser_conservative(gamma, certainty, &fuser))) continue;
    CHECK(!strcmp(fuser.name, "conservative") && fuser.open_passes == 1,
          "the fuser's name, and it fuses passes to the video's end");
    mv_tensor_free(&out);
    mv_fusion_input bad = {.previous = &p, .current = &c, .tc = 0, .tr = 4, .ti = 4};
    CHECK_FAILS(fuser.ops->fuse(fuser.self, &bad, &out), MV_E_ARGUMENT);
    bad.ti = 6;  /* outside tc..tr without a previous distance */
    CHECK_FAILS(fuser.ops->fuse(fuser.self, &bad, &out), MV_E_ARGUMENT);
    bad.previous_distance = -1;
    CHECK_FAILS(fuser.ops->fuse(fuser.self, &bad, &out), MV_E_ARGUMENT);
    CHECK(mv_tensor_is_empty(&out), "no output after a refused fusion");
    const mv_fusion_input cases[2] = {
        {.previous = &p, .current = &c, .tc = 0, .tr = 4, .ti = 1},
        {.previous = &p, .current = &c, .tc = 8, .tr = 4, .ti = 6, .previous_distance = 6}};
    const double share[2] = {0.25, 0.75};
    for (int k = 0; k < 2; k++) {
      float got[2 * P];
      mv_tensor_free(&out);
      if (!CHECK_OK(fuser.ops->fuse(fuser.self, &cases[k], &out)) ||
          !CHECK_OK(mv_tensor_download(&out, got)))
        continue;
      double a0 = pow(share[k], gamma), worst = 0;
      for (int i = 0; i < P; i++) {
        double conf_c = (i == 0 || i == 2) ? 1 : 0, conf_p = (i == 1 || i == 2) ? 1 : 0;
        double a = a0, b = 1 - a0;
        if (certainty) a *= 0.05 + conf_c, b *= 0.05 + conf_p;
        double w = a / (a + b);
        for (int ch = 0; ch < 2; ch++) {
          double d = fabs(w * cur[ch * P + i] + (1 - w) * prev[ch * P + i] - got[ch * P + i]);
          if (d > worst) worst = d;
        }
      }
      CHECK(worst < 1e-5, "conservative formula (%s, %s certainty): max |error| %.2g < 1e-5",
            k ? "pass to the video's end" : "bounded pass", certainty ? "with" : "without",
            worst);
    }
    mv_fuser_destroy(&fuser);
  }
  mv_tensor_free(&c);
  mv_tensor_free(&p);
  mv_tensor_free(&out);
}

/* conservative+agreement (fuser.h) on the pixels of test_conservative_formula:
 * a bounded pass (tc = 0, tr = 4, ti = 1: f = 3/4) after a previous result
 * that agreed 0.5 with the correction at tr, while the pass runs and after
 * it agreed 0.9 at tc; bad parameters; and the agreement of two label maps. */
static void test_agreement_formula(void) {
  enum { P = 4 };
  const float cur[2 * P] = {0, 0.5f, 1, 0.5f, /* background */ 1, 0.5f, 0, 0.5f};
  const float prev[2 * P] = {0.5f, 1, 0, 0.5f, /* background */ 0.5f, 0, 1, 0.5f};
  mv_fuser fuser;
  CHECK_FAILS(mv_fuser_conservative_agreement(3.0f, 1, -1.0f, 0.7f, &fuser), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fuser_conservative_agreement(3.0f, 1, 4.0f, 0.0f, &fuser), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fuser_conservative_agreement(3.0f, 1, 4.0f, 1.5f, &fuser), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fuser_conservative_agreement(3.0f, 1, 4.0f, NAN, &fuser), MV_E_ARGUMENT);
  /* background first: labels of a = {1, 1, 0, 0}, b = {1, 0, 1, 0} */
  const float a[2 * P] = {0.2f, 0.3f, 0.9f, 0.6f, 0.8f, 0.7f, 0.1f, 0.4f};
  const float b[2 * P] = {0.1f, 0.8f, 0.3f, 0.9f, 0.9f, 0.2f, 0.7f, 0.1f};
  float both = mv_fusion_agreement(a, b, 2, P), none = mv_fusion_agreement(a + 0, a, 2, 0);
  CHECK(fabsf(both - 1.0f / 3.0f) < 1e-6f && none == 1.0f,
        "agreement of {1,1,0,0} and {1,0,1,0}: %g, expected 1/3; of nothing: %g, expected 1",
        (double)both, (double)none);
  mv_tensor c = {0}, p = {0}, out = {0};
  if (!CHECK_OK(mv_tensor_new(&c, 2, 1, 1, P)) || !CHECK_OK(mv_tensor_new(&p, 2, 1, 1, P)))
    return;
  CHECK_OK(mv_tensor_upload(&c, cur));
  CHECK_OK(mv_tensor_upload(&p, prev));
  const float gamma = 2.0f, exponent = 4.0f, far_quality = 0.7f;
  if (CHECK_OK(mv_fuser_conservative_agreement(gamma, 1, exponent, far_quality, &fuser))) {
    CHECK(!strcmp(fuser.name, "conservative+agreement") && fuser.open_passes == 1 &&
              fuser.second_fusion == 1,
          "the fuser's name; it fuses passes to the video's end, and passes again when they end");
    /* agreements unknown; the previous one known; both (the pass has run) */
    for (int known = 0; known < 3; known++) {
      mv_fusion_input in = {.previous = &p, .current = &c, .tc = 0, .tr = 4, .ti = 1,
                            .previous_agreement = known ? 0.5f : -1.0f,
                            .pass_agreement = known == 2 ? 0.9f : -1.0f};
      float got[2 * P];
      mv_tensor_free(&out);
      if (!CHECK_OK(fuser.ops->fuse(fuser.self, &in, &out)) ||
          !CHECK_OK(mv_tensor_download(&out, got)))
        continue;
      double f = 0.75, a0 = pow(0.25, gamma), b0 = 1 - a0, worst = 0;
      if (known) {
        a0 *= pow(1 - (1 - (known == 2 ? 0.9 : far_quality)) * f, exponent);
        b0 *= pow(1 - 0.5 * (1 - f), exponent);
      }
      for (int i = 0; i < P; i++) {
        double conf_c = (i == 0 || i == 2) ? 1 : 0, conf_p = (i == 1 || i == 2) ? 1 : 0;
        double wa = a0 * (0.05 + conf_c), wb = b0 * (0.05 + conf_p), w = wa / (wa + wb);
        for (int ch = 0; ch < 2; ch++) {
          double d = fabs(w * cur[ch * P + i] + (1 - w) * prev[ch * P + i] - got[ch * P + i]);
          if (d > worst) worst = d;
        }
      }
      CHECK(worst < 1e-5, "conservative+agreement formula (agreements %s): max |error| %.2g",
            known == 2 ? "0.5 and 0.9" : known ? "0.5 and unknown" : "unknown", worst);
    }
    mv_fuser_destroy(&fuser);
  }
  mv_tensor_free(&c);
  mv_tensor_free(&p);
  mv_tensor_free(&out);
}

static void test_refine_synthetic(void) {
  frames *f = malloc(sizeof *f);
  CHECK(f != NULL, "frames allocated");
  if (!f) return;
  make_frames(f);
  double plain = propagated_iou(f, 0), refined = propagated_iou(f, 1);
  printf("synthetic disc: mean IoU labelprop %.4f, labelprop+refine %.4f\n", plain, refined);
  CHECK(refined > 0.9, "refined IoU %.4f > 0.9", refined);
  CHECK(refined >= plain, "refinement does not lose accuracy (%.4f >= %.4f)", refined, plain);
  free(f);
}

int main(void) {
  test_arguments();
  test_confidence_formula();
  test_conservative_formula();
  test_agreement_formula();
  test_refine_synthetic();
  return mv_test_finish();
}
