/* Golden case `session`: the official InferenceCore over T frames with k
 * objects and the rounds listed in the manifest (_meta.rounds = [[round,
 * frame], ...]), with the network propagation and fusion modules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/engine.h"
#include "fusion/fusion_net.h"
#include "propagation/propagation_net.h"
#include "golden.h"
#include "nets/preprocess.h"
#include "testutil.h"

typedef struct frames {
  const uint8_t *data;
  int h, w;
  mv_padding pad;
} frames;

static mv_status frame_source(void *user, int t, mv_tensor *out) {
  const frames *f = user;
  return mv_preprocess_frame(f->data + (size_t)t * f->h * f->w * 3, f->h, f->w, f->pad, out);
}

/* Probabilities (k+1) x T x H x W from the engine, and label agreement:
 * labels must match wherever the reference margin is >= 1e-4 and overall
 * mismatches stay <= 0.5 %. */
static void compare_round(const golden_ctx *ctx, const mv_engine *engine, int round, int T, int k,
                          int h, int w) {
  char name[64], label[64];
  snprintf(name, sizeof name, "round%d_prob", round);
  mv_array *ref = golden_load(ctx, name);
  snprintf(name, sizeof name, "round%d_labels", round);
  mv_array *ref_labels = golden_load(ctx, name);
  if (!ref || !ref_labels) goto done;
  mv_padding pad = mv_engine_padding(engine);
  int H = h + pad.top + pad.bottom, W = w + pad.left + pad.right;
  size_t plane = (size_t)H * W;
  float *all = malloc((size_t)(k + 1) * T * plane * sizeof(float));
  float *one = malloc((size_t)(k + 1) * plane * sizeof(float));
  uint8_t *labels = malloc((size_t)h * w);
  for (int t = 0; t < T && all && one; t++) {
    CHECK_OK(mv_engine_probabilities(engine, t, one));
    for (int c = 0; c <= k; c++)
      memcpy(all + ((size_t)c * T + t) * plane, one + c * plane, plane * sizeof(float));
  }
  snprintf(label, sizeof label, "round%d_prob", round);
  if (all) golden_compare(ctx, label, all, ref, 5e-4);
  size_t mismatches = 0, decided_mismatches = 0, total = (size_t)T * h * w;
  const float *rp = ref->data;
  const uint8_t *rl = ref_labels->data;
  for (int t = 0; t < T && labels; t++) {
    CHECK_OK(mv_engine_labels(engine, t, labels));
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        size_t i = (size_t)y * w + x;
        if (labels[i] == rl[(size_t)t * h * w + i]) continue;
        mismatches++;
        /* margin between the two largest reference channels at this pixel */
        size_t p = (size_t)(y + pad.top) * W + (x + pad.left);
        float best = -1, second = -1;
        for (int c = 0; c <= k; c++) {
          float v = rp[((size_t)c * T + t) * plane + p];
          if (v > best) {
            second = best;
            best = v;
          } else if (v > second) {
            second = v;
          }
        }
        if (best - second >= 1e-4f) decided_mismatches++;
      }
    }
  }
  double fraction = (double)mismatches / (double)total;
  printf("  %-14s round%d_labels                mismatches = %zu (%.4f %%), %zu at margin >= 1e-4  %s\n",
         ctx->case_name, round, mismatches, 100 * fraction, decided_mismatches,
         decided_mismatches == 0 && fraction <= 0.005 ? "ok" : "FAIL");
  CHECK(decided_mismatches == 0, "round %d: %zu label mismatches where the margin >= 1e-4", round,
        decided_mismatches);
  CHECK(fraction <= 0.005, "round %d: %.4f %% label mismatches", round, 100 * fraction);
  free(all);
  free(one);
  free(labels);
done:
  mv_array_free(ref);
  mv_array_free(ref_labels);
}

int golden_case_session(const golden_ctx *ctx) {
  const mv_json *rounds = ctx->meta ? mv_json_get(ctx->meta, "rounds") : NULL;
  const mv_json *every = ctx->meta ? mv_json_get(ctx->meta, "mem_freq") : NULL;
  if (!rounds || rounds->type != MV_JSON_ARRAY) {
    CHECK(0, "session: manifest has no _meta.rounds");
    return 1;
  }
  mv_array *images = golden_load(ctx, "frames_u8");
  if (!images || images->ndim != 4) return 1;
  int T = (int)images->shape[0], h = (int)images->shape[1], w = (int)images->shape[2];
  mv_checkpoint *prop_weights = golden_weights(ctx, "propagation_model");
  mv_checkpoint *fusion_weights = golden_weights(ctx, "fusion");
  mv_propagation *prop = NULL;
  mv_fusion *fusion = NULL;
  mv_engine *engine = NULL;
  int k = 0;
  if (prop_weights && fusion_weights && CHECK_OK(mv_propagation_load(prop_weights, &prop)) &&
      CHECK_OK(mv_fusion_load(fusion_weights, &fusion))) {
    frames source = {images->data, h, w, mv_padding_for(h, w, 16)};
    for (size_t r = 0; r < rounds->count; r++) {
      const mv_json *entry = &rounds->items[r];
      if (entry->type != MV_JSON_ARRAY || entry->count != 2) {
        CHECK(0, "session: bad _meta.rounds entry %zu", r);
        break;
      }
      int round = (int)entry->items[0].number, frame = (int)entry->items[1].number;
      char name[64];
      snprintf(name, sizeof name, "round%d_mask", round);
      mv_array *mask = golden_load(ctx, name);
      if (!mask) break;
      if (!engine) {
        k = (int)mask->shape[0] - 1;
        mv_engine_config config = {T, k, h, w, every ? (int)every->number : 5, 0, 0, 0};
        mv_propagator propagator;
        mv_fuser fuser;
        CHECK_OK(mv_propagator_network(prop, &propagator));
        CHECK_OK(mv_fuser_network(prop, fusion, &fuser));
        if (!CHECK_OK(mv_engine_create(&config, propagator, &fuser, frame_source, &source, &engine))) {
          mv_array_free(mask);
          break;
        }
      }
      int ok = CHECK_OK(mv_engine_interact(engine, frame, mask->data, NULL, NULL));
      mv_array_free(mask);
      if (!ok) break;
      compare_round(ctx, engine, round, T, k, h, w);
    }
  }
  mv_engine_free(engine);
  mv_fusion_free(fusion);
  mv_propagation_free(prop);
  mv_array_free(images);
  return 0;
}
