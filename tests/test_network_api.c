/* test_network_api FIXTURE_DIR (shared/fixtures/golden)
 * The public network-step API (mivos.h "network steps") on host data only:
 *  - prop_segment: frames 0 and 5 memorised into a bank, query encoded,
 *    segmented; against the official prob_aggregated with the padding cropped;
 *  - s2m: object 1 through mv_network_s2m against the official sigmoid and
 *    against the internal path (mv_s2m_make_input + mv_s2m_forward);
 *  - fusion: the fixture lacks frame tr's image and mask as inputs, so frame
 *    12 comes from session/frames_u8 and its mask is recovered from the
 *    mask differences; mv_network_fuse (keys rebuilt through the API) is
 *    compared with the internal attention + FusionNet + aggregation run on the
 *    official keys with the same zero-padded inputs. The official fused_prob
 *    had the propagated values in its padding (the public API pads with
 *    zeros), so against it only a loose bound is checked;
 *  - argument, state, file and checkpoint errors.
 * Every size (frame, objects, memory frames) comes from the fixture arrays
 * or manifest.json, so any fixture set of this layout runs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nets/aggregate.h"
#include "weights/checkpoint.h"
#include "fusion/fusion_net.h"
#include "json.h"
#include "nets/preprocess.h"
#include "propagation/propagation_net.h"
#include "interaction/s2m_net.h"
#include "testutil.h"

static const char *root;
static char salt[256];
static const mv_json *manifest;

static mv_array *load(const char *case_name, const char *name) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s/%s.npy", root, case_name, name);
  mv_array *a = NULL;
  if (!CHECK_OK(mv_npy_read(path, &a))) return NULL;
  return a;
}

static mv_checkpoint *hashinit(const char *network) {
  char path[512];
  snprintf(path, sizeof path, "spec/checkpoints/%s.tsv", network);
  mv_checkpoint *c = NULL;
  CHECK_OK(mv_checkpoint_hashinit(mv_shared_path(path), salt, &c));
  return c;
}

/* The message of the last failure names `what`. */
static void check_message(const char *what) {
  const char *m = mv_error_message();
  CHECK(strstr(m, what) != NULL, "message \"%s\" does not name \"%s\"", m, what);
}

#define CHECK_FAILS_NAMING(expr, status, what) \
  do {                                         \
    CHECK_FAILS(expr, status);                 \
    check_message(what);                       \
  } while (0)

/* An expected message part with sizes filled in (static rotating buffer). */
static const char *text(const char *fmt, ...) {
  static char buffers[4][256];
  static int next;
  char *out = buffers[next++ % 4];
  va_list args;
  va_start(args, fmt);
  vsnprintf(out, sizeof buffers[0], fmt, args);
  va_end(args);
  return out;
}

/* A padded reference (count x 1 x H x W) cropped to count x h x w with the
 * official padding of an h x w frame. */
static float *crop_reference(const mv_array *ref, int count, int h, int w) {
  const mv_padding pad = mv_padding_for(h, w, 16);
  const int H = h + pad.top + pad.bottom, W = w + pad.left + pad.right;
  if (!ref || mv_array_numel(ref) != (int64_t)count * H * W) {
    CHECK(0, "reference does not hold %d x %dx%d values", count, H, W);
    return NULL;
  }
  float *out = malloc((size_t)count * h * w * sizeof *out);
  const float *src = ref->data;
  for (int c = 0; out && c < count; c++)
    for (int y = 0; y < h; y++)
      memcpy(out + ((size_t)c * h + y) * w, src + ((size_t)c * H + y + pad.top) * W + pad.left,
             (size_t)w * sizeof *out);
  return out;
}

static double compare(const char *label, const float *out, const float *ref, size_t n,
                      double tolerance) {
  double err = mv_rel_l2(out, ref, n);
  printf("  %-44s rel_l2 = %.3e  (tolerance %.0e)  %s\n", label, err, tolerance,
         err <= tolerance ? "ok" : "FAIL");
  CHECK(err <= tolerance, "%s: rel_l2 %.3e > %.0e", label, err, tolerance);
  return err;
}

/* ---- propagation: the prop_segment case ------------------------------------------- */

/* The memory frames of prop_segment (manifest _meta.mem_frames, e.g. [0, 5]:
 * files mem0_*, mem5_*); their count, 0 when the manifest lacks them. */
enum { MAX_MEM_FRAMES = 16 };
static int memory_frames(int frames[MAX_MEM_FRAMES]) {
  const mv_json *list = mv_json_path(manifest, "cases/prop_segment/_meta/mem_frames");
  int count = 0;
  if (list && list->type == MV_JSON_ARRAY)
    for (size_t i = 0; i < list->count && count < MAX_MEM_FRAMES; i++)
      if (list->items[i].type == MV_JSON_NUMBER) frames[count++] = (int)list->items[i].number;
  CHECK(count >= 1 && list && (size_t)count == list->count,
        "manifest.json: cases/prop_segment/_meta/mem_frames must list 1..%d frame numbers",
        MAX_MEM_FRAMES);
  return list && (size_t)count == list->count ? count : 0;
}

static void test_segment(mv_network *prop, mv_network *fusion) {
  double t0 = mv_test_now();
  int numbers[MAX_MEM_FRAMES];
  const int frames = memory_frames(numbers);
  mv_array *f[MAX_MEM_FRAMES] = {0}, *m[MAX_MEM_FRAMES] = {0};
  int loaded = frames > 0;
  for (int i = 0; i < frames; i++) {
    char name[64];
    snprintf(name, sizeof name, "mem%d_frame_u8", numbers[i]);
    loaded &= (f[i] = load("prop_segment", name)) != NULL;
    snprintf(name, sizeof name, "mem%d_masks", numbers[i]);
    loaded &= (m[i] = load("prop_segment", name)) != NULL;
  }
  mv_array *fq = load("prop_segment", "query_frame_u8");
  mv_array *ref = load("prop_segment", "prob_aggregated");
  mv_memory_bank *bank = NULL, *small_bank = NULL;
  mv_frame_features *query = NULL, *small_query = NULL;
  float *out = NULL, *expected = NULL, *tiny_masks = NULL;
  uint8_t *tiny_rgb = NULL;
  if (!loaded || !fq || !ref) goto done;
  /* Sizes from the first memory frame; every frame and mask must agree. */
  const int h = (int)f[0]->shape[0], w = (int)f[0]->shape[1], k = (int)m[0]->shape[0];
  int agree = fq->ndim == 3 && fq->shape[0] == h && fq->shape[1] == w && fq->shape[2] == 3;
  for (int i = 0; i < frames; i++)
    agree &= f[i]->ndim == 3 && f[i]->shape[0] == h && f[i]->shape[1] == w &&
             f[i]->shape[2] == 3 && m[i]->ndim == 3 && m[i]->shape[0] == k &&
             m[i]->shape[1] == h && m[i]->shape[2] == w;
  CHECK(agree, "prop_segment: frames must be %dx%dx3 and masks %dx%dx%d", h, w, k, h, w);
  if (!agree) goto done;
  /* One slot more than the frames, left empty for the unmemorised-slot error. */
  const int capacity = frames + 1;
  if (!CHECK_OK(mv_memory_bank_new(k, capacity, w, h, &bank))) goto done;
  const void *f0 = f[0]->data, *m0 = m[0]->data;

  /* Argument errors before anything is memorised. */
  CHECK_FAILS_NAMING(mv_network_memorize(fusion, f0, w, h, m0, bank, 0), MV_E_ARGUMENT,
                     "expected a propagation network");
  CHECK_FAILS_NAMING(mv_network_memorize(NULL, f0, w, h, m0, bank, 0), MV_E_ARGUMENT,
                     "propagation");
  CHECK_FAILS_NAMING(mv_network_memorize(prop, NULL, w, h, m0, bank, 0), MV_E_ARGUMENT, "rgb");
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w, h, NULL, bank, 0), MV_E_ARGUMENT, "masks");
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w, h, m0, NULL, 0), MV_E_ARGUMENT, "bank");
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w, 0, m0, bank, 0), MV_E_ARGUMENT, "size");
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w - 1, h, m0, bank, 0), MV_E_ARGUMENT,
                     text("bank holds %dx%d frames, the frame is %dx%d", w, h, w - 1, h));
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w, h, m0, bank, -1), MV_E_ARGUMENT,
                     text("slot -1 outside 0..%d", capacity - 1));
  CHECK_FAILS_NAMING(mv_network_memorize(prop, f0, w, h, m0, bank, capacity), MV_E_ARGUMENT,
                     text("slot %d outside 0..%d", capacity, capacity - 1));
  CHECK_FAILS_NAMING(mv_network_encode_query(fusion, fq->data, w, h, &query), MV_E_ARGUMENT,
                     "fusion network, expected a propagation network");
  CHECK(query == NULL, "a failed encode leaves *out NULL");
  CHECK_FAILS_NAMING(mv_network_encode_query(prop, fq->data, w, h, NULL), MV_E_ARGUMENT, "out");

  for (int i = 0; i < frames; i++)
    if (!CHECK_OK(mv_network_memorize(prop, f[i]->data, w, h, m[i]->data, bank, i))) goto done;
  if (!CHECK_OK(mv_network_encode_query(prop, fq->data, w, h, &query))) goto done;
  const size_t n = (size_t)(k + 1) * h * w;
  out = malloc(n * sizeof *out);
  expected = crop_reference(ref, k + 1, h, w);
  if (!out || !expected) goto done;
  if (CHECK_OK(mv_network_segment(prop, query, bank, frames, out))) {
    printf("  prop_segment through the API: %.2f s (%dx%d, k = %d, %d memory frames)\n",
           mv_test_now() - t0, w, h, k, frames);
    compare("prop_segment prob_aggregated (cropped)", out, expected, n, 1e-4);
  }

  /* Segment errors: kind, frames range, unmemorised slot, sizes, top-k bound. */
  CHECK_FAILS_NAMING(mv_network_segment(fusion, query, bank, frames, out), MV_E_ARGUMENT,
                     "expected a propagation network");
  CHECK_FAILS_NAMING(mv_network_segment(prop, NULL, bank, frames, out), MV_E_ARGUMENT, "query");
  CHECK_FAILS_NAMING(mv_network_segment(prop, query, bank, frames, NULL), MV_E_ARGUMENT,
                     "probabilities");
  CHECK_FAILS_NAMING(mv_network_segment(prop, query, bank, 0, out), MV_E_ARGUMENT,
                     text("frames 0 outside 1..%d", capacity));
  CHECK_FAILS_NAMING(mv_network_segment(prop, query, bank, capacity + 1, out), MV_E_ARGUMENT,
                     text("frames %d outside 1..%d", capacity + 1, capacity));
  CHECK_FAILS_NAMING(mv_network_segment(prop, query, bank, capacity, out), MV_E_STATE,
                     text("slot %d", capacity - 1));
  /* A 32x32 frame: 2x2 cells at 1/16. */
  enum { TINY = 32 };
  tiny_rgb = calloc((size_t)TINY * TINY * 3, 1);
  tiny_masks = calloc((size_t)k * TINY * TINY, sizeof *tiny_masks);
  if (tiny_rgb && tiny_masks && CHECK_OK(mv_memory_bank_new(k, 2, TINY, TINY, &small_bank))) {
    CHECK_FAILS_NAMING(mv_network_segment(prop, query, small_bank, 2, out), MV_E_ARGUMENT,
                       text("bank holds %dx%d frames, the frame is %dx%d", TINY, TINY, w, h));
    CHECK_FAILS_NAMING(mv_network_memorize(prop, tiny_rgb, TINY, TINY, tiny_masks, bank, 0),
                       MV_E_ARGUMENT,
                       text("bank holds %dx%d frames, the frame is %dx%d", w, h, TINY, TINY));
    /* 2 frames x 2x2 cells = 8 memory positions < 50. */
    if (CHECK_OK(mv_network_encode_query(prop, tiny_rgb, TINY, TINY, &small_query)))
      CHECK_FAILS_NAMING(mv_network_segment(prop, small_query, small_bank, 2, out),
                         MV_E_ARGUMENT, "needs at least 50 memory positions, the memory has 8");
  }
done:
  mv_memory_bank_free(bank);
  mv_memory_bank_free(small_bank);
  mv_frame_features_free(query);
  mv_frame_features_free(small_query);
  free(out);
  free(expected);
  free(tiny_rgb);
  free(tiny_masks);
  for (int i = 0; i < frames; i++) {
    mv_array_free(f[i]);
    mv_array_free(m[i]);
  }
  mv_array_free(fq);
  mv_array_free(ref);
}

/* ---- S2M: object 1 of the s2m case ------------------------------------------------------- */

static void test_s2m(mv_network *s2m_net, mv_network *prop, const mv_checkpoint *weights) {
  mv_array *frame = load("s2m", "frame_u8"), *prev_label = load("s2m", "prev_label");
  mv_array *scribbles = load("s2m", "scribble_label"), *pos = load("s2m", "pos_scribble_u8");
  mv_array *neg = load("s2m", "neg_scribble_u8"), *sigmoid = load("s2m", "sigmoid");
  mv_s2m *internal = NULL;
  mv_tensor image = {0}, inputs = {0}, object_input, prob = {0}, cropped = {0};
  float *previous = NULL, *out = NULL, *expected = NULL, *reference = NULL;
  if (!frame || !prev_label || !scribbles || !pos || !neg || !sigmoid) goto done;
  const int h = (int)frame->shape[0], w = (int)frame->shape[1];
  const int k = (int)sigmoid->shape[0]; /* objects: sigmoid is k x 1 x H x W */
  const size_t plane = (size_t)h * w;
  const mv_array *per_object[2] = {pos, neg};
  int agree = frame->ndim == 3 && prev_label->ndim == 2 && prev_label->shape[0] == h &&
              prev_label->shape[1] == w && mv_array_numel(scribbles) == (int64_t)plane;
  for (int i = 0; i < 2; i++)
    agree &= per_object[i]->ndim == 3 && per_object[i]->shape[0] == k &&
             per_object[i]->shape[1] == h && per_object[i]->shape[2] == w;
  CHECK(agree, "s2m: labels must be %dx%d, scribbles %dx%dx%d (k from sigmoid)", h, w, k, h, w);
  if (!agree) goto done;
  previous = malloc(plane * sizeof *previous);
  out = malloc(plane * sizeof *out);
  reference = malloc(plane * sizeof *reference);
  if (!previous || !out || !reference) goto done;
  for (size_t i = 0; i < plane; i++) previous[i] = ((const uint8_t *)prev_label->data)[i] == 1;
  const uint8_t *positive = pos->data, *negative = neg->data; /* object 1: plane 0, dilated */

  CHECK_FAILS_NAMING(mv_network_s2m(prop, frame->data, w, h, previous, positive, negative, out),
                     MV_E_ARGUMENT, "propagation network, expected a s2m network");
  CHECK_FAILS_NAMING(mv_network_s2m(s2m_net, NULL, w, h, previous, positive, negative, out),
                     MV_E_ARGUMENT, "rgb");
  CHECK_FAILS_NAMING(mv_network_s2m(s2m_net, frame->data, w, h, previous, positive, negative,
                                    NULL),
                     MV_E_ARGUMENT, "out");

  double t0 = mv_test_now();
  if (!CHECK_OK(mv_network_s2m(s2m_net, frame->data, w, h, previous, positive, negative, out)))
    goto done;
  printf("  s2m through the API: %.2f s (one object)\n", mv_test_now() - t0);
  float *all = crop_reference(sigmoid, k, h, w);
  if (all) {
    expected = all; /* object 1 is the first plane */
    compare("s2m object 1 vs official sigmoid (cropped)", out, expected, plane, 1e-4);
  }

  /* The internal path: the DAVIS processor's input builder, object 1 only. */
  const mv_padding pad = mv_padding_for(h, w, 16);
  if (CHECK_OK(mv_s2m_load(weights, &internal)) &&
      CHECK_OK(mv_preprocess_frame(frame->data, h, w, pad, &image)) &&
      CHECK_OK(mv_s2m_make_input(&image, prev_label->data, scribbles->data, h, w, k, pad,
                                 &inputs)) &&
      CHECK_OK(mv_tensor_view(&inputs, 0, 1, 0, 6, &object_input)) &&
      CHECK_OK(mv_s2m_forward(internal, &object_input, &prob, NULL)) &&
      CHECK_OK(mv_crop(&prob, pad, &cropped)) && CHECK_OK(mv_tensor_download(&cropped, reference)))
    compare("s2m object 1 vs mv_s2m_forward", out, reference, plane, 1e-6);
done:
  mv_s2m_free(internal);
  mv_tensor_free(&image);
  mv_tensor_free(&inputs);
  mv_tensor_free(&prob);
  mv_tensor_free(&cropped);
  free(previous);
  free(out);
  free(expected);
  free(reference);
  mv_array *arrays[6] = {frame, prev_label, scribbles, pos, neg, sigmoid};
  for (int i = 0; i < 6; i++) mv_array_free(arrays[i]);
}

/* ---- fusion -------------------------------------------------------------------------------- */

enum { F_FRAME, F_MEM_KEY, F_QUERY_KEY, F_PREV, F_CURR, F_POS, F_NEG, F_FUSED, F_COUNT };
static const char *const fusion_names[F_COUNT] = {
    "frame_u8", "mem_key", "query_key", "prev_prob", "curr_prob", "pos_mask_diff",
    "neg_mask_diff", "fused_prob"};

/* The reference: attention + FusionNet + sigmoid per object, then the soft
 * aggregation, on the official keys and the zero-padded host inputs. */
static int fuse_internal(const mv_fusion *net, const uint8_t *rgb, int h, int w, int k,
                         const mv_array *mem_key, const mv_array *query_key,
                         float *const host[4], int tc, int tr, int ti, float *out) {
  const mv_padding pad = mv_padding_for(h, w, 16);
  const int h16 = (int)query_key->shape[2], w16 = (int)query_key->shape[3];
  const float nc = (float)(abs(tc - ti) / (double)abs(tc - tr));
  const float nr = (float)(abs(tr - ti) / (double)abs(tc - tr));
  mv_tensor image = {0}, keys = {0}, qk = {0}, prob = {0}, fused = {0}, cropped = {0};
  mv_tensor t[4] = {{0}, {0}, {0}, {0}};
  int ok = CHECK_OK(mv_preprocess_frame(rgb, h, w, pad, &image)) &&
           CHECK_OK(mv_tensor_new(&keys, k, MV_KEY_DIM, h16, w16)) &&
           CHECK_OK(mv_tensor_upload(&keys, mem_key->data)) &&
           CHECK_OK(mv_tensor_new(&qk, 1, MV_KEY_DIM, h16, w16)) &&
           CHECK_OK(mv_tensor_upload(&qk, query_key->data)) &&
           CHECK_OK(mv_tensor_new(&prob, k, 1, image.h, image.w));
  for (int i = 0; i < 4 && ok; i++)
    ok = CHECK_OK(mv_preprocess_masks(host[i], k + 1, h, w, pad, &t[i]));
  for (int i = 0; i < k && ok; i++) {
    mv_tensor key, prev, curr, pos, neg, p, attn = {0}, logit = {0};
    ok = CHECK_OK(mv_tensor_view(&keys, i, 1, 0, MV_KEY_DIM, &key)) &&
         CHECK_OK(mv_tensor_view(&t[0], i + 1, 1, 0, 1, &prev)) &&
         CHECK_OK(mv_tensor_view(&t[1], i + 1, 1, 0, 1, &curr)) &&
         CHECK_OK(mv_tensor_view(&t[2], i + 1, 1, 0, 1, &pos)) &&
         CHECK_OK(mv_tensor_view(&t[3], i + 1, 1, 0, 1, &neg)) &&
         CHECK_OK(mv_tensor_view(&prob, i, 1, 0, 1, &p)) &&
         CHECK_OK(mv_fusion_attention(&key, &qk, &pos, &neg, &attn)) &&
         CHECK_OK(mv_fusion_forward(net, &image, &prev, &curr, &attn, nc, nr, &logit)) &&
         CHECK_OK(mv_sigmoid(&logit, &p));
    mv_tensor_free(&attn);
    mv_tensor_free(&logit);
  }
  ok = ok && CHECK_OK(mv_aggregate(&prob, 0, &fused)) && CHECK_OK(mv_crop(&fused, pad, &cropped)) &&
       CHECK_OK(mv_tensor_download(&cropped, out));
  mv_tensor *all[6] = {&image, &keys, &qk, &prob, &fused, &cropped};
  for (int i = 0; i < 6; i++) mv_tensor_free(all[i]);
  for (int i = 0; i < 4; i++) mv_tensor_free(&t[i]);
  return ok;
}

static void test_fusion(mv_network *fusion, mv_network *prop, const mv_checkpoint *fusion_weights,
                        int tc, int tr, int ti) {
  mv_array *a[F_COUNT] = {0}, *frames = load("session", "frames_u8");
  int loaded = frames != NULL;
  for (int i = 0; i < F_COUNT; i++) loaded &= (a[i] = load("fusion", fusion_names[i])) != NULL;
  mv_fusion *internal = NULL;
  mv_memory_bank *bank = NULL, *other_bank = NULL;
  mv_frame_features *query = NULL;
  float *host[4] = {0}, *mask = NULL, *out = NULL, *reference = NULL, *official = NULL;
  if (!loaded) goto done;
  const int h = (int)a[F_FRAME]->shape[0], w = (int)a[F_FRAME]->shape[1];
  const int k = (int)a[F_MEM_KEY]->shape[0];
  const size_t plane = (size_t)h * w, n = (size_t)(k + 1) * plane;
  const uint8_t *frame_tr = (const uint8_t *)frames->data + (size_t)tr * plane * 3;
  CHECK(frames->ndim == 4 && frames->shape[0] > tr && frames->shape[1] == h &&
            frames->shape[2] == w,
        "session/frames_u8 must hold frame %d at %dx%d", tr, w, h);
  /* The session's frames are the fusion case's frames (frame ti is checked). */
  CHECK(!memcmp((const uint8_t *)frames->data + (size_t)ti * plane * 3, a[F_FRAME]->data,
                plane * 3),
        "session frame %d differs from fusion/frame_u8", ti);
  for (int i = 0; i < 4; i++) host[i] = crop_reference(a[F_PREV + i], k + 1, h, w);
  mask = malloc((size_t)k * plane * sizeof *mask);
  out = malloc(n * sizeof *out);
  reference = malloc(n * sizeof *reference);
  official = crop_reference(a[F_FUSED], k + 1, h, w);
  if (!host[0] || !host[1] || !host[2] || !host[3] || !mask || !out || !reference || !official)
    goto done;

  /* Frame tr's new mask is binary: pos = 1 - prev > 0 where it is 1,
   * neg = prev > 0 where it is 0 (prev is clamped away from 0 and 1). */
  size_t ambiguous = 0;
  for (int i = 0; i < k; i++)
    for (size_t p = 0; p < plane; p++) {
      float pd = host[2][(i + 1) * plane + p], nd = host[3][(i + 1) * plane + p];
      mask[i * plane + p] = pd > 0 ? 1.0f : 0.0f;
      ambiguous += !(pd > 0) && !(nd > 0);
    }
  CHECK(ambiguous == 0, "frame %d mask: %zu pixels with neither difference", tr, ambiguous);

  if (!CHECK_OK(mv_memory_bank_new(k, 2, w, h, &bank)) ||
      !CHECK_OK(mv_network_encode_query(prop, a[F_FRAME]->data, w, h, &query)))
    goto done;
  /* Slot 0 is never memorised: the fusion reads slot 1. */
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, bank, 1, host[0],
                                     host[1], host[2], host[3], tc, tr, ti, out),
                     MV_E_STATE, "slot 1");
  if (!CHECK_OK(mv_network_memorize(prop, frame_tr, w, h, mask, bank, 1))) goto done;

  double t0 = mv_test_now();
  if (!CHECK_OK(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, bank, 1, host[0],
                                host[1], host[2], host[3], tc, tr, ti, out)))
    goto done;
  printf("  fusion through the API: %.2f s (k = %d)\n", mv_test_now() - t0, k);
  if (CHECK_OK(mv_fusion_load(fusion_weights, &internal)) &&
      fuse_internal(internal, a[F_FRAME]->data, h, w, k, a[F_MEM_KEY], a[F_QUERY_KEY], host, tc,
                    tr, ti, reference))
    compare("fusion vs internal path on the official keys", out, reference, n, 1e-4);
  /* The official run had propagated values, not zeros, in the padding. */
  double err = compare("fusion vs official fused_prob (cropped)", out, official, n, 5e-2);
  printf("  (the official inputs had non-zero padding: rel_l2 %.3e is not a golden check)\n",
         err);

  /* Fusion errors. */
  CHECK_FAILS_NAMING(mv_network_fuse(prop, a[F_FRAME]->data, w, h, query, bank, 1, host[0],
                                     host[1], host[2], host[3], tc, tr, ti, out),
                     MV_E_ARGUMENT, "expected a fusion network");
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, bank, 1, host[0],
                                     host[1], host[2], host[3], tr, tr, ti, out),
                     MV_E_ARGUMENT, "tc and tr");
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, bank, 2, host[0],
                                     host[1], host[2], host[3], tc, tr, ti, out),
                     MV_E_ARGUMENT, "slot 2 outside 0..1");
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, bank, 1, host[0],
                                     NULL, host[2], host[3], tc, tr, ti, out),
                     MV_E_ARGUMENT, "current");
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, NULL, bank, 1, host[0],
                                     host[1], host[2], host[3], tc, tr, ti, out),
                     MV_E_ARGUMENT, "query");
  CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w - 16, h, query, bank, 1,
                                     host[0], host[1], host[2], host[3], tc, tr, ti, out),
                     MV_E_ARGUMENT, text("query features are of a %dx%d frame", w, h));
  if (CHECK_OK(mv_memory_bank_new(k, 1, w + 1, h, &other_bank)))
    CHECK_FAILS_NAMING(mv_network_fuse(fusion, a[F_FRAME]->data, w, h, query, other_bank, 0,
                                       host[0], host[1], host[2], host[3], tc, tr, ti, out),
                       MV_E_ARGUMENT, text("interacted holds %dx%d frames", w + 1, h));
done:
  mv_fusion_free(internal);
  mv_memory_bank_free(bank);
  mv_memory_bank_free(other_bank);
  mv_frame_features_free(query);
  for (int i = 0; i < 4; i++) free(host[i]);
  free(mask);
  free(out);
  free(reference);
  free(official);
  for (int i = 0; i < F_COUNT; i++) mv_array_free(a[i]);
  mv_array_free(frames);
}

/* ---- opening files and checkpoints ---------------------------------------------------------- */

static void test_open(const mv_checkpoint *fusion_weights) {
  char path[2048];
  mv_network *net = (mv_network *)(uintptr_t)1; /* must be reset to NULL on failure */
  mv_memory_bank *bank = NULL;
  CHECK_FAILS_NAMING(mv_network_open(MV_NETWORK_PROPAGATION, "/nonexistent/propagation_model.pth",
                                     &net),
                     MV_E_IO, "/nonexistent/propagation_model.pth");
  CHECK(net == NULL, "a failed open leaves *out NULL");
  CHECK_FAILS_NAMING(mv_network_open((mv_network_kind)7, "x.pth", &net), MV_E_ARGUMENT, "kind 7");
  CHECK_FAILS_NAMING(mv_network_open(MV_NETWORK_FUSION, NULL, &net), MV_E_ARGUMENT, "path");
  CHECK_FAILS_NAMING(mv_network_open(MV_NETWORK_FUSION, "x.pth", NULL), MV_E_ARGUMENT, "out");
  CHECK_FAILS_NAMING(mv_network_from_checkpoint(MV_NETWORK_FUSION, NULL, &net), MV_E_ARGUMENT,
                     "checkpoint");

  /* Another network's file: a missing key, and what the file looks like. */
  snprintf(path, sizeof path, "%s/fusion_hashinit.pth", root);
  CHECK_FAILS_NAMING(mv_network_open(MV_NETWORK_PROPAGATION, path, &net), MV_E_MISMATCH,
                     "missing key");
  check_message("looks like a fusion checkpoint");
  printf("  propagation from fusion_hashinit.pth: %s\n", mv_error_message());
  CHECK_FAILS_NAMING(mv_network_open(MV_NETWORK_S2M, path, &net), MV_E_MISMATCH,
                     "backbone.conv1.weight");
  if (CHECK_OK(mv_network_open(MV_NETWORK_FUSION, path, &net))) mv_network_close(net);

  /* A wrong shape: the key and both shapes. */
  const int count = mv_checkpoint_count(fusion_weights);
  const char *keys[64];
  mv_array *arrays[64] = {0};
  int ok = count > 0 && count <= 64;
  for (int i = 0; i < count && ok; i++) {
    keys[i] = mv_checkpoint_key(fusion_weights, i);
    if (!strcmp(keys[i], "conv1.0.weight")) {
      const int64_t shape[4] = {32, 8, 3, 3};
      ok = CHECK_OK(mv_array_new(MV_FLOAT32, 4, shape, &arrays[i]));
    } else {
      ok = CHECK_OK(mv_checkpoint_get(fusion_weights, keys[i], &arrays[i]));
    }
  }
  mv_checkpoint *wrong = NULL;
  if (ok && CHECK_OK(mv_checkpoint_from_arrays("wrong-shape", count, keys, arrays, &wrong))) {
    CHECK_FAILS_NAMING(mv_network_from_checkpoint(MV_NETWORK_FUSION, wrong, &net), MV_E_MISMATCH,
                       "conv1.0.weight");
    check_message("32x8x3x3");
    check_message("32x9x3x3");
    printf("  fusion with a wrong shape: %s\n", mv_error_message());
  } else if (!ok) {
    for (int i = 0; i < count && i < 64; i++) mv_array_free(arrays[i]);
  }
  mv_checkpoint_close(wrong);

  CHECK_FAILS_NAMING(mv_memory_bank_new(0, 1, 8, 8, &bank), MV_E_ARGUMENT,
                     "objects 0");
  CHECK_FAILS_NAMING(mv_memory_bank_new(256, 1, 8, 8, &bank), MV_E_ARGUMENT,
                     "objects 256");
  CHECK_FAILS_NAMING(mv_memory_bank_new(1, 0, 8, 8, &bank), MV_E_ARGUMENT,
                     "capacity 0");
  CHECK_FAILS_NAMING(mv_memory_bank_new(1, 1, -8, 8, &bank), MV_E_ARGUMENT,
                     "size");
  CHECK_FAILS_NAMING(mv_memory_bank_new(1, 1, 8, 8, NULL), MV_E_ARGUMENT, "out");
  mv_network_close(NULL);
  mv_memory_bank_free(NULL);
  mv_frame_features_free(NULL);
}

int main(int argc, char **argv) {
  root = argc > 1 ? argv[1] : mv_shared_path("fixtures/golden");
  char path[2048];
  snprintf(path, sizeof path, "%s/manifest.json", root);
  mv_json *parsed = NULL;
  if (!CHECK_OK(mv_json_parse_file(path, &parsed))) return mv_test_finish();
  manifest = parsed;
  const mv_json *s = mv_json_path(manifest, "args/salt");
  snprintf(salt, sizeof salt, "%s", s && s->type == MV_JSON_STRING ? s->string : "");
  const mv_json *meta = mv_json_path(manifest, "cases/fusion/_meta");
  const mv_json *tc = mv_json_get(meta, "tc"), *tr = mv_json_get(meta, "tr");
  const mv_json *ti = mv_json_get(meta, "ti");
  CHECK(tc && tr && ti, "manifest.json lacks cases/fusion/_meta tc, tr, ti");

  double t0 = mv_test_now();
  mv_checkpoint *prop_weights = hashinit("propagation_model");
  mv_checkpoint *fusion_weights = hashinit("fusion"), *s2m_weights = hashinit("s2m");
  mv_network *prop = NULL, *fusion = NULL, *s2m = NULL;
  snprintf(path, sizeof path, "%s/fusion_hashinit.pth", root);
  if (prop_weights && fusion_weights && s2m_weights &&
      CHECK_OK(mv_network_from_checkpoint(MV_NETWORK_PROPAGATION, prop_weights, &prop)) &&
      CHECK_OK(mv_network_open(MV_NETWORK_FUSION, path, &fusion)) &&
      CHECK_OK(mv_network_from_checkpoint(MV_NETWORK_S2M, s2m_weights, &s2m))) {
    printf("networks loaded: %.2f s\n", mv_test_now() - t0);
    mv_network *wrong = (mv_network *)(uintptr_t)1;
    CHECK_FAILS_NAMING(mv_network_from_checkpoint(MV_NETWORK_FUSION, prop_weights, &wrong),
                       MV_E_MISMATCH, "looks like a propagation checkpoint");
    CHECK(wrong == NULL, "a failed load leaves *out NULL");
    test_open(fusion_weights);
    test_segment(prop, fusion);
    if (tc && tr && ti)
      test_fusion(fusion, prop, fusion_weights, (int)tc->number, (int)tr->number,
                  (int)ti->number);
    test_s2m(s2m, prop, s2m_weights);
  }
  mv_network_close(prop);
  mv_network_close(fusion);
  mv_network_close(s2m);
  mv_checkpoint_close(prop_weights);
  mv_checkpoint_close(fusion_weights);
  mv_checkpoint_close(s2m_weights);
  mv_json_free(parsed);
  printf("total %.2f s\n", mv_test_now() - t0);
  return mv_test_finish();
}
