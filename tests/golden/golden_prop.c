/* Golden cases of the propagation network: prop_encode (query and memory
 * encoders) and prop_segment (memory of two frames, top-k read, decoder,
 * aggregation). Sizes come from the fixture arrays. */
#include <stdio.h>
#include <stdlib.h>

#include "nets/aggregate.h"
#include "golden.h"
#include "nets/preprocess.h"
#include "propagation/propagation_net.h"
#include "testutil.h"

static mv_propagation *load_network(const golden_ctx *ctx) {
  mv_checkpoint *weights = golden_weights(ctx, "propagation_model");
  mv_propagation *net = NULL;
  if (weights) CHECK_OK(mv_propagation_load(weights, &net));
  return net;
}

/* frame_u8 (h x w x 3) -> normalised padded image, checked against `reference`
 * when it is given (max abs error <= 1e-5). */
static int prepare_frame(const golden_ctx *ctx, const mv_array *frame, const mv_array *reference,
                         mv_padding *pad, mv_tensor *image) {
  if (!frame || frame->ndim != 3) return CHECK(0, "frame array missing or not h x w x 3"), 0;
  int h = (int)frame->shape[0], w = (int)frame->shape[1];
  *pad = mv_padding_for(h, w, 16);
  if (!CHECK_OK(mv_preprocess_frame(frame->data, h, w, *pad, image))) return 0;
  if (reference) {
    size_t n = mv_tensor_numel(image);
    float *host = malloc(n * sizeof *host);
    if (host && CHECK_OK(mv_tensor_download(image, host))) {
      double err = mv_max_abs_diff(host, reference->data, n);
      printf("  %-14s %-28s max_abs = %.3e  (tolerance 1e-05)  %s\n", ctx->case_name,
             "preprocessing", err, err <= 1e-5 ? "ok" : "FAIL");
      CHECK(err <= 1e-5, "%s preprocessing max abs %.3e", ctx->case_name, err);
    }
    free(host);
  }
  return 1;
}

/* Soft masks k x h x w -> k x 1 x H x W padded. */
static int prepare_masks(const mv_array *masks, mv_padding pad, mv_tensor *out) {
  if (!masks || masks->ndim != 3) return CHECK(0, "mask array missing or not k x h x w"), 0;
  return CHECK_OK(mv_preprocess_masks(masks->data, (int)masks->shape[0], (int)masks->shape[1],
                                      (int)masks->shape[2], pad, out));
}

int golden_case_prop_encode(const golden_ctx *ctx) {
  mv_propagation *net = load_network(ctx);
  if (!net) return 1;
  mv_array *frame = golden_load(ctx, "frame_u8"), *norm = golden_load(ctx, "image_norm_padded");
  mv_array *masks = golden_load(ctx, "masks"), *masks_padded = golden_load(ctx, "masks_padded");
  const char *names[5] = {"query_f16", "query_f8", "query_f4", "query_k16", "query_v16"};
  mv_array *refs[5], *mem_key = golden_load(ctx, "mem_key"), *mem_value = golden_load(ctx, "mem_value");
  for (int i = 0; i < 5; i++) refs[i] = golden_load(ctx, names[i]);
  mv_tensor image = {0}, mask_tensor = {0}, key = {0}, value = {0};
  mv_query q = {0};
  mv_padding pad;
  if (prepare_frame(ctx, frame, norm, &pad, &image) && prepare_masks(masks, pad, &mask_tensor)) {
    golden_compare_tensor(ctx, "masks_padded", &mask_tensor, masks_padded, 1e-6);
    if (CHECK_OK(mv_propagation_encode_query(net, &image, 1, &q))) {
      const mv_tensor *outs[5] = {&q.f16, &q.f8, &q.f4, &q.k16, &q.v16};
      for (int i = 0; i < 5; i++) golden_compare_tensor(ctx, names[i], outs[i], refs[i], 1e-4);
    }
    if (CHECK_OK(mv_propagation_memorize(net, &image, &mask_tensor, &key, &value))) {
      golden_compare_tensor(ctx, "mem_key", &key, mem_key, 1e-4);
      golden_compare_tensor(ctx, "mem_value", &value, mem_value, 1e-4);
    }
  }
  mv_query_free(&q);
  mv_tensor *tensors[4] = {&image, &mask_tensor, &key, &value};
  for (int i = 0; i < 4; i++) mv_tensor_free(tensors[i]);
  mv_array *arrays[6] = {frame, norm, masks, masks_padded, mem_key, mem_value};
  for (int i = 0; i < 6; i++) mv_array_free(arrays[i]);
  for (int i = 0; i < 5; i++) mv_array_free(refs[i]);
  mv_propagation_free(net);
  return 0;
}

int golden_case_prop_segment(const golden_ctx *ctx) {
  /* The memory frames, in memory order: _meta.mem_frames [a, b, ...] names
   * the files mem<a>_frame_u8 and mem<a>_masks, one per T of mem_key. */
  const mv_json *mem_frames = ctx->meta ? mv_json_get(ctx->meta, "mem_frames") : NULL;
  if (!mem_frames || mem_frames->type != MV_JSON_ARRAY || mem_frames->count < 1) {
    CHECK(0, "prop_segment: manifest has no _meta.mem_frames");
    return 1;
  }
  mv_propagation *net = load_network(ctx);
  if (!net) return 1;
  mv_array *mem_key = golden_load(ctx, "mem_key"), *mem_value = golden_load(ctx, "mem_value");
  mv_array *query_frame = golden_load(ctx, "query_frame_u8");
  mv_array *query_norm = golden_load(ctx, "query_image_norm_padded");
  mv_array *k16 = golden_load(ctx, "query_k16"), *v16 = golden_load(ctx, "query_v16");
  mv_array *readout_ref = golden_load(ctx, "readout"), *prob_ref = golden_load(ctx, "prob");
  mv_array *aggregated_ref = golden_load(ctx, "prob_aggregated");
  mv_memory memory = {0};
  mv_query q = {0};
  mv_tensor image = {0}, prob = {0}, readout = {0}, aggregated = {0};
  mv_padding pad;
  int ok = mem_key && mem_key->ndim == 5;
  if (ok) {
    int k = (int)mem_key->shape[0], t = (int)mem_key->shape[2];
    int plane = (int)(mem_key->shape[3] * mem_key->shape[4]);
    ok = (size_t)t == mem_frames->count;
    CHECK(ok, "prop_segment: mem_key holds %d frames, _meta.mem_frames lists %zu", t,
          mem_frames->count);
    ok = ok && CHECK_OK(mv_tensor_new(&memory.keys, k, MV_KEY_DIM, t, plane)) &&
         CHECK_OK(mv_tensor_new(&memory.values, k, MV_VALUE_DIM, t, plane));
    for (int i = 0; i < t && ok; i++) {
      char frame_name[64], mask_name[64];
      snprintf(frame_name, sizeof frame_name, "mem%d_frame_u8", (int)mem_frames->items[i].number);
      snprintf(mask_name, sizeof mask_name, "mem%d_masks", (int)mem_frames->items[i].number);
      mv_array *frame = golden_load(ctx, frame_name), *masks = golden_load(ctx, mask_name);
      mv_tensor frame_image = {0}, mask_tensor = {0}, key = {0}, value = {0};
      ok = prepare_frame(ctx, frame, NULL, &pad, &frame_image) &&
           prepare_masks(masks, pad, &mask_tensor) &&
           CHECK_OK(mv_propagation_memorize(net, &frame_image, &mask_tensor, &key, &value)) &&
           CHECK_OK(mv_memory_store(&memory, i, &key, &value));
      memory.frames = i + 1;
      mv_tensor *tensors[4] = {&frame_image, &mask_tensor, &key, &value};
      for (int j = 0; j < 4; j++) mv_tensor_free(tensors[j]);
      mv_array_free(frame);
      mv_array_free(masks);
    }
  }
  if (ok) {
    golden_compare_tensor(ctx, "mem_key", &memory.keys, mem_key, 1e-4);
    golden_compare_tensor(ctx, "mem_value", &memory.values, mem_value, 1e-4);
  }
  if (ok && prepare_frame(ctx, query_frame, query_norm, &pad, &image) &&
      CHECK_OK(mv_propagation_encode_query(net, &image, 0, &q))) {
    golden_compare_tensor(ctx, "query_k16", &q.k16, k16, 1e-4);
    golden_compare_tensor(ctx, "query_v16", &q.v16, v16, 1e-4);
    if (CHECK_OK(mv_propagation_segment(net, &q, &memory, &prob, &readout))) {
      golden_compare_tensor(ctx, "readout", &readout, readout_ref, 1e-4);
      golden_compare_tensor(ctx, "prob", &prob, prob_ref, 1e-4);
      if (CHECK_OK(mv_aggregate(&prob, 0, &aggregated)))
        golden_compare_tensor(ctx, "prob_aggregated", &aggregated, aggregated_ref, 1e-4);
    }
  }
  mv_query_free(&q);
  mv_tensor *tensors[6] = {&image, &prob, &readout, &aggregated, &memory.keys, &memory.values};
  for (int i = 0; i < 6; i++) mv_tensor_free(tensors[i]);
  mv_array *arrays[9] = {mem_key, mem_value, query_frame, query_norm, k16, v16,
                         readout_ref, prob_ref, aggregated_ref};
  for (int i = 0; i < 9; i++) mv_array_free(arrays[i]);
  mv_propagation_free(net);
  return 0;
}
