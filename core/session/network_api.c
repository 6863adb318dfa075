/* The public C API for each network step (mivos.h, "network steps"): host
 * frames and masks in, host probabilities out, at the frame's own size. The
 * padding to a multiple of 16 (the official rule, mv_padding_for) and the
 * crop back happen here; features and memory stay on the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/aggregate.h"
#include "weights/checkpoint.h"
#include "error.h"
#include "fusion/fusion_net.h"
#include "interaction/interactor.h"
#include "nets/preprocess.h"
#include "propagation/propagation_net.h"
#include "interaction/s2m_net.h"

enum { MAX_OBJECTS = 255, MAX_PIXELS = 1 << 28 };

struct mv_network {
  mv_network_kind kind;
  mv_propagation *propagation;
  mv_fusion *fusion;
  mv_s2m *s2m;
};

struct mv_frame_features {
  int width, height;
  mv_query query;
};

struct mv_memory_bank {
  int objects, capacity, width, height;
  mv_memory memory;   /* keys k x 128 x capacity x hw, values k x 512 x capacity x hw */
  uint8_t *filled;    /* capacity flags: the slot holds a memorised frame */
};

static const char *kind_name(mv_network_kind kind) {
  switch (kind) {
    case MV_NETWORK_PROPAGATION: return "propagation";
    case MV_NETWORK_FUSION: return "fusion";
    case MV_NETWORK_S2M: return "s2m";
  }
  return "unknown";
}

static int kind_valid(mv_network_kind kind) {
  return kind == MV_NETWORK_PROPAGATION || kind == MV_NETWORK_FUSION || kind == MV_NETWORK_S2M;
}

/* A key only one network's state dict has, to say what a wrong file is. */
static const char *signature_key(mv_network_kind kind) {
  switch (kind) {
    case MV_NETWORK_PROPAGATION: return "kv_q_f16.key_proj.weight";
    case MV_NETWORK_FUSION: return "final_conv.weight";
    case MV_NETWORK_S2M: return "backbone.conv1.weight";
  }
  return NULL;
}

static mv_status check_network(const mv_network *net, mv_network_kind kind, const char *fn,
                               const char *arg) {
  MV_CHECK_ARG(net, "%s: %s network is NULL", fn, arg);
  MV_CHECK_ARG(net->kind == kind, "%s: %s is a %s network, expected a %s network", fn, arg,
               kind_name(net->kind), kind_name(kind));
  return MV_OK;
}

static mv_status check_frame(const uint8_t *rgb, int width, int height, const char *fn) {
  MV_CHECK_ARG(rgb, "%s: rgb frame is NULL", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: frame size %dx%d must be positive", fn, width,
               height);
  MV_CHECK_ARG((int64_t)width * height <= MAX_PIXELS, "%s: frame size %dx%d is too large", fn,
               width, height);
  return MV_OK;
}

/* ---- networks ------------------------------------------------------------------ */

mv_status mv_network_from_checkpoint(mv_network_kind kind, const mv_checkpoint *checkpoint,
                                     mv_network **out) {
  static const char *fn = "mv_network_from_checkpoint";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(kind_valid(kind), "%s: kind %d is not a network kind (0 propagation, 1 fusion, "
               "2 s2m)", fn, (int)kind);
  MV_CHECK_ARG(checkpoint, "%s: checkpoint is NULL", fn);
  mv_network *net = calloc(1, sizeof *net);
  if (!net) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  net->kind = kind;
  mv_status s = kind == MV_NETWORK_PROPAGATION ? mv_propagation_load(checkpoint, &net->propagation)
                : kind == MV_NETWORK_FUSION    ? mv_fusion_load(checkpoint, &net->fusion)
                                               : mv_s2m_load(checkpoint, &net->s2m);
  if (s != MV_OK) {
    mv_network_close(net);
    /* The loaders name the key and both shapes; say what the file looks like. */
    for (int other = 0; other < 3 && s == MV_E_MISMATCH; other++) {
      if (other != (int)kind && mv_checkpoint_find(checkpoint, signature_key(other)) >= 0)
        return mv_fail_context(s, "%s: %s looks like a %s checkpoint, not %s", fn,
                               mv_checkpoint_name(checkpoint), kind_name(other), kind_name(kind));
    }
    return mv_fail_context(s, "%s: %s as a %s network", fn, mv_checkpoint_name(checkpoint),
                           kind_name(kind));
  }
  *out = net;
  return MV_OK;
}

mv_status mv_network_open(mv_network_kind kind, const char *path, mv_network **out) {
  static const char *fn = "mv_network_open";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(kind_valid(kind), "%s: kind %d is not a network kind (0 propagation, 1 fusion, "
               "2 s2m)", fn, (int)kind);
  MV_CHECK_ARG(path && path[0], "%s: path is NULL or empty", fn);
  mv_checkpoint *checkpoint = NULL;
  mv_status s = mv_checkpoint_open(path, &checkpoint);
  if (s != MV_OK) return mv_fail_context(s, "%s (%s weights)", fn, kind_name(kind));
  s = mv_network_from_checkpoint(kind, checkpoint, out);
  mv_checkpoint_close(checkpoint);  /* the network holds its own device copies */
  return s;
}

void mv_network_close(mv_network *net) {
  if (!net) return;
  mv_propagation_free(net->propagation);
  mv_fusion_free(net->fusion);
  mv_s2m_free(net->s2m);
  free(net);
}

/* ---- query features ------------------------------------------------------------------ */

mv_status mv_network_encode_query(mv_network *propagation, const uint8_t *rgb, int width,
                                  int height, mv_frame_features **out) {
  static const char *fn = "mv_network_encode_query";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_TRY(check_network(propagation, MV_NETWORK_PROPAGATION, fn, "propagation"));
  MV_TRY(check_frame(rgb, width, height, fn));
  mv_frame_features *f = calloc(1, sizeof *f);
  if (!f) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  f->width = width;
  f->height = height;
  mv_tensor image = {0};
  mv_status s = mv_preprocess_frame(rgb, height, width, mv_padding_for(height, width, 16), &image);
  if (s == MV_OK) s = mv_propagation_encode_query(propagation->propagation, &image, 0, &f->query);
  /* The frame upload may still read `rgb`: the caller may reuse it on return. */
  if (s == MV_OK) s = mv_runtime_finish();
  mv_tensor_free(&image);
  if (s != MV_OK) {
    mv_frame_features_free(f);
    return mv_fail_context(s, "%s (%dx%d frame)", fn, width, height);
  }
  *out = f;
  return MV_OK;
}

void mv_frame_features_free(mv_frame_features *features) {
  if (!features) return;
  mv_query_free(&features->query);
  free(features);
}

/* ---- memory banks ---------------------------------------------------------------------- */

mv_status mv_memory_bank_new(int objects, int capacity, int width, int height,
                             mv_memory_bank **out) {
  static const char *fn = "mv_memory_bank_new";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(objects >= 1 && objects <= MAX_OBJECTS, "%s: objects %d outside 1..%d", fn,
               objects, MAX_OBJECTS);
  MV_CHECK_ARG(capacity >= 1, "%s: capacity %d must be at least 1", fn, capacity);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: frame size %dx%d must be positive", fn, width,
               height);
  MV_CHECK_ARG((int64_t)width * height <= MAX_PIXELS, "%s: frame size %dx%d is too large", fn,
               width, height);
  const mv_padding pad = mv_padding_for(height, width, 16);
  const int64_t plane = (int64_t)(height + pad.top + pad.bottom) / 16 *
                        ((width + pad.left + pad.right) / 16);
  MV_CHECK_ARG((int64_t)capacity * plane <= MAX_PIXELS && (int64_t)objects * MV_VALUE_DIM *
                   capacity * plane <= ((int64_t)1 << 40),
               "%s: %d frames of %d objects at %dx%d are too many", fn, capacity, objects, width,
               height);
  mv_memory_bank *bank = calloc(1, sizeof *bank);
  if (bank) bank->filled = calloc((size_t)capacity, 1);
  if (!bank || !bank->filled) {
    free(bank);
    return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  bank->objects = objects;
  bank->capacity = capacity;
  bank->width = width;
  bank->height = height;
  mv_status s = mv_tensor_new(&bank->memory.keys, objects, MV_KEY_DIM, capacity, (int)plane);
  if (s == MV_OK)
    s = mv_tensor_new(&bank->memory.values, objects, MV_VALUE_DIM, capacity, (int)plane);
  if (s != MV_OK) {
    mv_memory_bank_free(bank);
    return mv_fail_context(s, "%s (%d objects, %d frames of %dx%d)", fn, objects, capacity,
                           width, height);
  }
  *out = bank;
  return MV_OK;
}

void mv_memory_bank_free(mv_memory_bank *bank) {
  if (!bank) return;
  mv_tensor_free(&bank->memory.keys);
  mv_tensor_free(&bank->memory.values);
  free(bank->filled);
  free(bank);
}

static mv_status check_bank(const mv_memory_bank *bank, int width, int height, const char *fn,
                            const char *arg) {
  MV_CHECK_ARG(bank, "%s: %s is NULL", fn, arg);
  MV_CHECK_ARG(bank->width == width && bank->height == height,
               "%s: %s holds %dx%d frames, the frame is %dx%d", fn, arg, bank->width,
               bank->height, width, height);
  return MV_OK;
}

static mv_status check_slot(const mv_memory_bank *bank, int slot, const char *fn,
                            const char *arg) {
  MV_CHECK_ARG(slot >= 0 && slot < bank->capacity, "%s: slot %d outside 0..%d (%s capacity %d)",
               fn, slot, bank->capacity - 1, arg, bank->capacity);
  return MV_OK;
}

mv_status mv_network_memorize(mv_network *propagation, const uint8_t *rgb, int width, int height,
                              const float *masks, mv_memory_bank *bank, int slot) {
  static const char *fn = "mv_network_memorize";
  MV_TRY(check_network(propagation, MV_NETWORK_PROPAGATION, fn, "propagation"));
  MV_TRY(check_frame(rgb, width, height, fn));
  MV_CHECK_ARG(masks, "%s: masks is NULL", fn);
  MV_TRY(check_bank(bank, width, height, fn, "bank"));
  MV_TRY(check_slot(bank, slot, fn, "bank"));
  const mv_padding pad = mv_padding_for(height, width, 16);
  bank->filled[slot] = 0;  /* until the new frame is in */
  mv_tensor image = {0}, mask_tensor = {0}, key = {0}, value = {0};
  mv_status s = mv_preprocess_frame(rgb, height, width, pad, &image);
  if (s == MV_OK) s = mv_preprocess_masks(masks, bank->objects, height, width, pad, &mask_tensor);
  if (s == MV_OK)
    s = mv_propagation_memorize(propagation->propagation, &image, &mask_tensor, &key, &value);
  if (s == MV_OK) s = mv_memory_store(&bank->memory, slot, &key, &value);
  if (s == MV_OK) s = mv_runtime_finish();  /* `rgb` may still be read by the upload */
  mv_tensor *tensors[4] = {&image, &mask_tensor, &key, &value};
  for (int i = 0; i < 4; i++) mv_tensor_free(tensors[i]);
  if (s != MV_OK) return mv_fail_context(s, "%s (slot %d)", fn, slot);
  bank->filled[slot] = 1;
  return MV_OK;
}

/* The device tensor `padded` ((count) x 1 x H x W) cropped to the frame and
 * downloaded to `out` (count x height x width). */
static mv_status crop_download(const mv_tensor *padded, mv_padding pad, float *out) {
  mv_tensor cropped = {0};
  mv_status s = mv_crop(padded, pad, &cropped);
  if (s == MV_OK) s = mv_tensor_download(&cropped, out);
  mv_tensor_free(&cropped);
  return s;
}

mv_status mv_network_segment(mv_network *propagation, const mv_frame_features *query,
                             const mv_memory_bank *bank, int frames, float *probabilities) {
  static const char *fn = "mv_network_segment";
  MV_TRY(check_network(propagation, MV_NETWORK_PROPAGATION, fn, "propagation"));
  MV_CHECK_ARG(query, "%s: query is NULL", fn);
  MV_CHECK_ARG(probabilities, "%s: probabilities is NULL", fn);
  MV_TRY(check_bank(bank, query->width, query->height, fn, "bank"));
  MV_CHECK_ARG(frames >= 1 && frames <= bank->capacity, "%s: frames %d outside 1..%d (bank "
               "capacity)", fn, frames, bank->capacity);
  const int64_t positions = (int64_t)frames * bank->memory.keys.w;
  MV_CHECK_ARG(positions >= MV_TOP_K,
               "%s: the top-%d memory read needs at least %d memory positions, the memory has "
               "%lld (%d frames x %d cells of %dx%d frames at 1/16)", fn, MV_TOP_K, MV_TOP_K,
               (long long)positions, frames, bank->memory.keys.w, bank->width, bank->height);
  for (int i = 0; i < frames; i++)
    if (!bank->filled[i])
      return mv_fail(MV_E_STATE, "%s: slot %d of the bank holds no memorised frame (frames %d "
                     "reads slots 0..%d)", fn, i, frames, frames - 1);
  const mv_padding pad = mv_padding_for(query->height, query->width, 16);
  mv_memory memory = bank->memory;
  memory.frames = frames;
  mv_tensor prob = {0}, aggregated = {0};
  mv_status s = mv_propagation_segment(propagation->propagation, &query->query, &memory, &prob,
                                       NULL);
  if (s == MV_OK) s = mv_aggregate(&prob, 0, &aggregated);
  if (s == MV_OK) s = crop_download(&aggregated, pad, probabilities);
  mv_tensor_free(&prob);
  mv_tensor_free(&aggregated);
  if (s != MV_OK) return mv_fail_context(s, "%s", fn);
  return MV_OK;
}

/* ---- S2M ---------------------------------------------------------------------------------- */

mv_status mv_network_s2m(mv_network *s2m, const uint8_t *rgb, int width, int height,
                         const float *previous, const uint8_t *positive, const uint8_t *negative,
                         float *out) {
  static const char *fn = "mv_network_s2m";
  MV_TRY(check_network(s2m, MV_NETWORK_S2M, fn, "s2m"));
  MV_TRY(check_frame(rgb, width, height, fn));
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  /* Exactly the "s2m" interaction backend (core/s2m_interactor.c). */
  mv_interactor interactor;
  MV_TRY(mv_interactor_s2m(s2m->s2m, &interactor));
  const mv_interaction_input in = {rgb, width, height, previous, positive, negative};
  mv_status s = mv_interactor_run(&interactor, &in, out);
  mv_interactor_destroy(&interactor);
  if (s != MV_OK) return mv_fail_context(s, "%s", fn);
  return MV_OK;
}

/* ---- fusion ------------------------------------------------------------------------------- */

/* Slot `slot` of every object's keys: k x 128 x capacity x hw -> k x 128 x h x w.
 * The rows (object, channel) are evenly spaced by capacity * hw, so one
 * rectangular copy gathers them. */
static mv_status slot_keys(const mv_memory_bank *bank, int slot, int h16, int w16,
                           mv_tensor *out) {
  const mv_tensor *keys = &bank->memory.keys;
  const size_t plane = (size_t)keys->w, f = sizeof(float);
  MV_TRY(mv_tensor_new(out, bank->objects, MV_KEY_DIM, h16, w16));
  mv_runtime *rt;
  MV_TRY(mv_runtime_get(&rt));
  const size_t src_origin[3] = {(keys->offset + (size_t)slot * plane) * f, 0, 0};
  const size_t dst_origin[3] = {out->offset * f, 0, 0};
  const size_t region[3] = {plane * f, (size_t)bank->objects * MV_KEY_DIM, 1};
  return mv_cl_check(clEnqueueCopyBufferRect(rt->queue, keys->buffer, out->buffer, src_origin,
                                             dst_origin, region, (size_t)keys->h * plane * f, 0,
                                             plane * f, 0, 0, NULL, NULL),
                     "clEnqueueCopyBufferRect (memory bank keys)");
}

mv_status mv_network_fuse(mv_network *fusion, const uint8_t *rgb, int width, int height,
                          const mv_frame_features *query, const mv_memory_bank *interacted,
                          int slot, const float *previous, const float *current,
                          const float *pos_diff, const float *neg_diff, int tc, int tr, int ti,
                          float *out) {
  static const char *fn = "mv_network_fuse";
  MV_TRY(check_network(fusion, MV_NETWORK_FUSION, fn, "fusion"));
  MV_TRY(check_frame(rgb, width, height, fn));
  MV_CHECK_ARG(query, "%s: query is NULL", fn);
  MV_CHECK_ARG(query->width == width && query->height == height,
               "%s: query features are of a %dx%d frame, the frame is %dx%d", fn, query->width,
               query->height, width, height);
  MV_TRY(check_bank(interacted, width, height, fn, "interacted"));
  MV_TRY(check_slot(interacted, slot, fn, "interacted"));
  if (!interacted->filled[slot])
    return mv_fail(MV_E_STATE, "%s: slot %d of the interacted bank holds no memorised frame", fn,
                   slot);
  const float *host[4] = {previous, current, pos_diff, neg_diff};
  static const char *const names[4] = {"previous", "current", "pos_diff", "neg_diff"};
  for (int i = 0; i < 4; i++) MV_CHECK_ARG(host[i], "%s: %s is NULL", fn, names[i]);
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  MV_CHECK_ARG(tc != tr, "%s: tc and tr are both %d (the distances divide by |tc - tr|)", fn, tc);
  const mv_padding pad = mv_padding_for(height, width, 16);
  const int k1 = interacted->objects + 1;
  mv_tensor image = {0}, keys = {0}, fused = {0}, probs[4] = {{0}, {0}, {0}, {0}};
  mv_status s = mv_preprocess_frame(rgb, height, width, pad, &image);
  for (int i = 0; i < 4 && s == MV_OK; i++)
    s = mv_preprocess_masks(host[i], k1, height, width, pad, &probs[i]);
  if (s == MV_OK) s = slot_keys(interacted, slot, query->query.k16.h, query->query.k16.w, &keys);
  if (s == MV_OK)
    s = mv_fusion_fuse_frame(fusion->fusion, &image, &keys, &query->query.k16, &probs[0],
                             &probs[1], &probs[2], &probs[3], tc, tr, ti, &fused);
  if (s == MV_OK) s = crop_download(&fused, pad, out);
  mv_tensor_free(&image);
  mv_tensor_free(&keys);
  mv_tensor_free(&fused);
  for (int i = 0; i < 4; i++) mv_tensor_free(&probs[i]);
  if (s != MV_OK) return mv_fail_context(s, "%s (tc %d, tr %d, ti %d)", fn, tc, tr, ti);
  return MV_OK;
}
