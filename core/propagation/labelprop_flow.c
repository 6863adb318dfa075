/* labelprop-flow: labelprop's read on a memory aligned to the query frame
 * by optical flow, and the flow-warped previous mask as a prior
 * (labelprop_flow.h). */
#include "propagation/labelprop_flow.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/ops.h"
#include "propagation/colour_model.h"
#include "propagation/joint_upsample.h"
#include "propagation/object_shift.h"

/* The objects' translations match the cells' L, a and b (keys' channels
 * 0-2): ground truth of frame 0 propagated 0.781 / 0.848 against 0.777 /
 * 0.847 on L alone (the flow's channel). */
enum { SHIFT_CHANNELS = 3 };

/* The engine's frames are ImageNet-normalised (as labelprop's keys read them). */
static const float image_mean[3] = {0.485f, 0.456f, 0.406f};
static const float image_stdev[3] = {0.229f, 0.224f, 0.225f};

void mv_labelprop_flow_options_default(mv_labelprop_flow_options *options) {
  if (!options) return;
  mv_labelprop_options_default(&options->read);
  /* With the memory aligned, a smaller window and fewer kept entries keep
   * the accuracy at less cost (bench labelprop quality, see the header). */
  options->read.window = 6;
  options->read.top_k = 20;
  options->prior = 0.0f;
  options->align = 2;
  mv_flow_options_default(&options->flow);
  options->flow.spacing = 6;
  options->flow.iterations = 10;
  options->flow.finest = 1;
  options->edge_colour = 0.0f;
  options->edge_spatial = 1.0f;
  options->sharpen = 1.0f;
  /* The previous frame's entries weigh e^0.5 times more (bench labelprop
   * quality: J 1..29 0.806 -> 0.808, F 0.741 -> 0.747; 1 measured 0.809 /
   * 0.748 but made test_session's blackswan correction worse; see the
   * header). */
  options->previous_bonus = 1.0f;
  options->appearance = 0.0f;
  options->occlusion_penalty = 0.0f;
  options->object_shift = 0;
}

/* What the chained alignment (align 3) keeps of a memory slot between
 * frames: the displacement from the last query's cells into the slot's
 * frame, and the slot's lightness then (a slot rewritten since no longer
 * matches it). */
typedef struct slot_track {
  float *displacement; /* 2 x cells */
  float *lightness;    /* cells */
} slot_track;

typedef struct labelprop_flow {
  mv_propagator read; /* a labelprop propagator */
  mv_labelprop_flow_options options;
  size_t cells;       /* of the tracked geometry (0: nothing tracked) */
  slot_track *slots;
  int slot_count;
  float *last_query;  /* lightness of the last query segmented */
} labelprop_flow;

static void forget_tracks(labelprop_flow *lf) {
  for (int i = 0; i < lf->slot_count; i++) {
    free(lf->slots[i].displacement);
    free(lf->slots[i].lightness);
  }
  free(lf->slots);
  free(lf->last_query);
  lf->slots = NULL, lf->slot_count = 0, lf->last_query = NULL, lf->cells = 0;
}

/* 1 when two lightness planes are the same frame's (the query's and the
 * memory's keys round differently); an untracked plane holds NaN. */
static int same_frame(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(fabsf(a[i] - b[i]) <= 1e-2f)) return 0;
  return 1;
}

/* d(x) = b(x) + d_old(x + b(x)): the old displacement (from the previous
 * query frame) seen from the current one through the flow b. */
static void chain(const float *b, const float *old, int w, int h, float *out, float *scratch) {
  const size_t plane = (size_t)w * h;
  mv_flow_warp(old, 2, b, w, h, scratch);
  for (size_t i = 0; i < 2 * plane; i++) out[i] = b[i] + scratch[i];
}

/* A query: labelprop's, and the frame as 8-bit RGB (H x W x 3) when the
 * upsampling is guided by it. */
typedef struct flow_query {
  void *read;
  uint8_t *rgb;
  int height, width;
} flow_query;

/* The engine's 1 x 3 x H x W frame as 8-bit RGB, H x W x 3. */
static mv_status frame_rgb(const mv_tensor *image, uint8_t **out) {
  const size_t plane = (size_t)image->h * image->w;
  float *host = malloc(3 * plane * sizeof(float));
  uint8_t *rgb = malloc(3 * plane);
  mv_status s = host && rgb ? mv_tensor_download(image, host)
                            : mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for the frame");
  for (int c = 0; s == MV_OK && c < 3; c++) {
    const float scale = 255.0f * image_stdev[c], shift = 255.0f * image_mean[c] + 0.5f;
    for (size_t i = 0; i < plane; i++) {
      const float v = host[(size_t)c * plane + i] * scale + shift;
      rgb[3 * i + c] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
  }
  free(host);
  if (s != MV_OK) {
    free(rgb);
    return s;
  }
  *out = rgb;
  return MV_OK;
}

static void flow_free_query(void *self, void *query) {
  labelprop_flow *lf = self;
  flow_query *q = query;
  if (!q) return;
  lf->read.ops->free_query(lf->read.self, q->read);
  free(q->rgb);
  free(q);
}

static mv_status flow_encode_query(void *self, const mv_tensor *image, void **query,
                                   size_t *bytes) {
  labelprop_flow *lf = self;
  flow_query *q = calloc(1, sizeof *q);
  if (!q) return mv_fail(MV_E_MEMORY, "labelprop-flow encode_query: out of memory");
  /* (labelprop checks the image and the outputs) */
  mv_status s = lf->read.ops->encode_query(lf->read.self, image, &q->read, bytes);
  if (s == MV_OK && lf->options.edge_colour > 0.0f) {
    q->height = image->h, q->width = image->w;
    s = frame_rgb(image, &q->rgb);
    if (s == MV_OK) *bytes += (size_t)3 * image->h * image->w;
  }
  if (s != MV_OK) {
    flow_free_query(self, q);
    return s;
  }
  *query = q;
  return MV_OK;
}

/* The readout (k x 1 x h x w cells) to pixels, k x 1 x H x W, guided by the
 * query's frame. */
static mv_status upsample_guided(const labelprop_flow *lf, const flow_query *q,
                                 const mv_tensor *readout, mv_tensor *prob) {
  const int k = readout->n, stride = lf->options.read.stride;
  MV_CHECK_ARG(q->height == readout->h * stride && q->width == readout->w * stride,
               "labelprop-flow: the query's frame is %dx%d, the cells %dx%d of stride %d",
               q->width, q->height, readout->w, readout->h, stride);
  const size_t plane = (size_t)q->height * q->width;
  float *cells = malloc(mv_tensor_numel(readout) * sizeof(float));
  float *pixels = malloc((size_t)k * plane * sizeof(float));
  int allocated = 0;
  mv_status s = cells && pixels ? mv_tensor_download(readout, cells)
                                : mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
  if (s == MV_OK)
    s = mv_joint_upsample(cells, k, q->rgb, q->height, q->width, stride, lf->options.edge_spatial,
                          lf->options.edge_colour, pixels);
  if (s == MV_OK)
    s = mv_tensor_prepare(prob, k, 1, q->height, q->width, "labelprop-flow", "prob", &allocated);
  if (s == MV_OK) s = mv_tensor_upload(prob, pixels);
  if (s != MV_OK && allocated) mv_tensor_free(prob);
  free(cells);
  free(pixels);
  return s;
}

static mv_status flow_memorize(void *self, const mv_tensor *image, const mv_tensor *masks,
                               mv_tensor *key, mv_tensor *value) {
  labelprop_flow *lf = self;
  return lf->read.ops->memorize(lf->read.self, image, masks, key, value);
}

/* Downloads `count` floats at element `offset` of a buffer. */
static mv_status download_plane(cl_mem buffer, size_t offset, size_t count, float *out) {
  mv_tensor view = {buffer, offset, 1, 1, 1, (int)count, 0};
  return mv_tensor_download(&view, out);
}

enum { CK = MV_LABELPROP_KEY_DIM };

/* The memory on the host: object 0's keys (6 x frames x plane; every
 * object has the same keys) and every object's values (k x frames x plane). */
typedef struct host_memory {
  int frames, objects;
  size_t plane;
  float *keys, *values;
} host_memory;

static mv_status download_memory(const mv_memory *m, size_t plane, host_memory *out) {
  out->frames = m->frames, out->objects = m->values.n, out->plane = plane;
  const size_t span = (size_t)m->frames * plane, all = (size_t)m->keys.h * plane;
  out->keys = malloc(CK * span * sizeof(float));
  out->values = malloc((size_t)out->objects * span * sizeof(float));
  if (!out->keys || !out->values)
    return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for %d memory frames", m->frames);
  mv_status s = MV_OK;
  for (int c = 0; s == MV_OK && c < CK; c++)
    s = download_plane(m->keys.buffer, m->keys.offset + c * all, span, out->keys + c * span);
  for (int o = 0; s == MV_OK && o < out->objects; o++)
    s = download_plane(m->values.buffer, m->values.offset + o * all, span,
                       out->values + o * span);
  return s;
}

/* A memory of the host frames (keys replicated for every object). */
static mv_status upload_memory(const host_memory *h, int previous, mv_memory *out) {
  const size_t span = (size_t)h->frames * h->plane;
  mv_status s = mv_tensor_new(&out->keys, h->objects, CK, h->frames, (int)h->plane);
  if (s == MV_OK) s = mv_tensor_new(&out->values, h->objects, 1, h->frames, (int)h->plane);
  for (int o = 0; s == MV_OK && o < h->objects; o++) {
    mv_tensor k = {0}, v = {0};
    s = mv_tensor_view(&out->keys, o, 1, 0, CK, &k);
    if (s == MV_OK) s = mv_tensor_upload(&k, h->keys);
    if (s == MV_OK) s = mv_tensor_view(&out->values, o, 1, 0, 1, &v);
    if (s == MV_OK) s = mv_tensor_upload(&v, h->values + o * span);
  }
  out->frames = h->frames;
  out->previous = previous;
  return s;
}

/* Memory frame t resampled into the query frame's geometry through
 * `flow` (query cell x shows frame t's x + flow(x)): colours and values
 * warped, positions those of x, the norm channel recomputed. */
static mv_status align_frame(host_memory *h, int t, const float *flow, int w, int hh,
                             float *scratch) {
  const size_t plane = h->plane, span = (size_t)h->frames * plane;
  for (int c = 0; c < 3; c++) {
    float *plane_c = h->keys + c * span + (size_t)t * plane;
    MV_TRY(mv_flow_warp(plane_c, 1, flow, w, hh, scratch));
    memcpy(plane_c, scratch, plane * sizeof(float));
  }
  for (int o = 0; o < h->objects; o++) {
    float *v = h->values + o * span + (size_t)t * plane;
    MV_TRY(mv_flow_warp(v, 1, flow, w, hh, scratch));
    memcpy(v, scratch, plane * sizeof(float));
  }
  for (size_t i = 0; i < plane; i++) {
    float norm = 0.0f;
    for (int c = 0; c < CK - 1; c++) {
      const float f = h->keys[c * span + (size_t)t * plane + i];
      norm += f * f;
    }
    h->keys[(CK - 1) * span + (size_t)t * plane + i] = -0.5f * norm;
  }
  return MV_OK;
}

/* The motion steps of segment(): flows between the query and the memory
 * frames on the cells' lightness, the aligned memory (options->align) and
 * the warped previous mask with its consistency (options->prior). */
typedef struct motion {
  float *current, *frame_l, *backward, *forward, *valid, *prior_values, *scratch;
  float *appearance; /* k x cells: the colour models' posteriors, or NULL */
  int has_prior;
  mv_memory aligned;
  host_memory host;
} motion;

static void motion_free(motion *m) {
  free(m->current);
  free(m->appearance);
  mv_tensor_free(&m->aligned.keys);
  mv_tensor_free(&m->aligned.values);
  free(m->host.keys);
  free(m->host.values);
}

/* The chained displacements of every slot (align 3): the previous slot's
 * is the flow b; a slot tracked at the last query, unchanged since, and
 * the last query being the previous frame: chained through b; any other:
 * a direct flow. Updates the tracks. */
static mv_status track_slots(labelprop_flow *lf, motion *m, int w, int h, int prev) {
  const size_t plane = (size_t)w * h;
  const float cw = lf->options.read.colour_weight;
  const int frames = m->host.frames;
  if (lf->cells != plane || lf->slot_count < frames) {
    /* a new geometry or more slots: start over */
    forget_tracks(lf);
    lf->slots = calloc((size_t)frames, sizeof *lf->slots);
    lf->last_query = malloc(plane * sizeof(float));
    if (!lf->slots || !lf->last_query) {
      forget_tracks(lf);
      return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for the tracks");
    }
    lf->slot_count = frames, lf->cells = plane;
    for (int t = 0; t < frames; t++) {
      lf->slots[t].displacement = malloc(2 * plane * sizeof(float));
      lf->slots[t].lightness = malloc(plane * sizeof(float));
      if (!lf->slots[t].displacement || !lf->slots[t].lightness) {
        forget_tracks(lf);
        return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for the tracks");
      }
      lf->slots[t].lightness[0] = NAN; /* untracked */
    }
    lf->last_query[0] = NAN;
  }
  float *l = m->frame_l, *d = m->forward; /* (the forward flow's room is free here) */
  float *scratch = malloc(2 * plane * sizeof(float));
  if (!scratch) return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
  int continues = 0;
  if (prev >= 0) {
    for (size_t i = 0; i < plane; i++) l[i] = m->host.keys[(size_t)prev * plane + i] / cw;
    continues = same_frame(lf->last_query, l, plane);
  }
  mv_status s = MV_OK;
  for (int t = 0; s == MV_OK && t < frames; t++) {
    slot_track *track = &lf->slots[t];
    for (size_t i = 0; i < plane; i++) l[i] = m->host.keys[(size_t)t * plane + i] / cw;
    if (t == prev) {
      memcpy(d, m->backward, 2 * plane * sizeof(float));
    } else if (continues && same_frame(track->lightness, l, plane)) {
      chain(m->backward, track->displacement, w, h, d, scratch);
    } else {
      s = mv_optical_flow(m->current, l, w, h, &lf->options.flow, d);
    }
    if (s == MV_OK) {
      memcpy(track->displacement, d, 2 * plane * sizeof(float));
      memcpy(track->lightness, l, plane * sizeof(float));
      s = align_frame(&m->host, t, d, w, h, m->scratch);
    }
  }
  if (s == MV_OK) memcpy(lf->last_query, m->current, plane * sizeof(float));
  free(scratch);
  return s;
}

/* Each object's own translation from memory frame t to the query
 * (object_shift.h), merged into the flow `to_frame` where it matches
 * better; on the cells' L, a and b. frame_lab: SHIFT_CHANNELS planes of
 * room for frame t's. */
static mv_status shift_objects(const labelprop_flow *lf, motion *m, const float *query_lab,
                               float *frame_lab, int t, int w, int h, float *to_frame) {
  const size_t plane = (size_t)w * h, span = (size_t)m->host.frames * plane;
  const float cw = lf->options.read.colour_weight;
  for (int c = 0; c < SHIFT_CHANNELS; c++)
    for (size_t i = 0; i < plane; i++)
      frame_lab[c * plane + i] = m->host.keys[c * span + (size_t)t * plane + i] / cw;
  mv_status s = MV_OK;
  for (int o = 0; s == MV_OK && o < m->host.objects; o++) {
    const float *mask = m->host.values + o * span + (size_t)t * plane;
    int dx, dy, found;
    s = mv_object_shift(query_lab, frame_lab, SHIFT_CHANNELS, mask, w, h,
                        lf->options.object_shift, &dx, &dy, &found);
    if (s == MV_OK && found)
      s = mv_flow_merge_shift(query_lab, frame_lab, SHIFT_CHANNELS, mask, w, h, dx, dy, 2,
                              to_frame);
  }
  return s;
}

static mv_status compute_motion(labelprop_flow *lf, const mv_tensor *query_key,
                                const mv_memory *memory, motion *m) {
  const int h = query_key->h, w = query_key->w, k = memory->values.n;
  const size_t plane = (size_t)h * w;
  const float cw = lf->options.read.colour_weight;
  const int prev = memory->previous - 1, align = lf->options.align;
  m->current = malloc(plane * (8 + (size_t)k) * sizeof(float));
  if (!m->current) return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for %zu cells", plane);
  m->frame_l = m->current + plane, m->backward = m->frame_l + plane;
  m->forward = m->backward + 2 * plane, m->valid = m->forward + 2 * plane;
  m->scratch = m->valid + plane, m->prior_values = m->scratch + plane;
  MV_TRY(download_plane(query_key->buffer, query_key->offset, plane, m->current));
  const float qs = 1.0f / (sqrtf((float)CK) * cw);
  for (size_t i = 0; i < plane; i++) m->current[i] *= qs;
  MV_TRY(download_memory(memory, plane, &m->host));
  const size_t span = (size_t)memory->frames * plane;
  if (lf->options.appearance > 0.0f) {
    /* before the alignment: the memory's own colours and values */
    float *lab = malloc(3 * plane * sizeof(float));
    m->appearance = malloc((size_t)k * plane * sizeof(float));
    mv_status s = lab && m->appearance ? download_plane(query_key->buffer, query_key->offset,
                                                        3 * plane, lab)
                                       : mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
    if (s == MV_OK)
      s = mv_colour_posterior(m->host.keys, 1.0f / cw, m->host.values, k, span, span, lab, qs,
                              plane, m->appearance);
    free(lab);
    MV_TRY(s);
  }
  if (prev >= 0) {
    for (size_t i = 0; i < plane; i++) m->frame_l[i] = m->host.keys[(size_t)prev * plane + i] / cw;
    /* backward: query cell x shows the previous frame's x + b(x) */
    MV_TRY(mv_optical_flow(m->current, m->frame_l, w, h, &lf->options.flow, m->backward));
    if (lf->options.prior > 0.0f) {
      /* the forward flow checks it */
      MV_TRY(mv_optical_flow(m->frame_l, m->current, w, h, &lf->options.flow, m->forward));
      MV_TRY(mv_flow_consistency(m->backward, m->forward, w, h, m->valid));
      for (int o = 0; o < k; o++)
        MV_TRY(mv_flow_warp(m->host.values + o * span + (size_t)prev * plane, 1, m->backward, w,
                            h, m->prior_values + o * plane));
      m->has_prior = 1;
    }
  }
  if (align == 3) {
    MV_TRY(track_slots(lf, m, w, h, prev));
  } else {
    const float penalty = lf->options.occlusion_penalty;
    float *reverse = NULL;
    if (penalty > 0.0f && !(reverse = malloc(3 * plane * sizeof(float))))
      return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for %zu cells", plane);
    mv_status s = MV_OK;
    /* the query's colours (L, a, b) for the objects' translations, then
     * room for a memory frame's (one buffer for the whole query) */
    float *query_lab = NULL;
    if (lf->options.object_shift > 0) {
      query_lab = malloc(2 * SHIFT_CHANNELS * plane * sizeof(float));
      s = query_lab ? download_plane(query_key->buffer, query_key->offset, SHIFT_CHANNELS * plane,
                                     query_lab)
                    : mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory for %zu cells", plane);
      for (size_t i = 0; s == MV_OK && i < SHIFT_CHANNELS * plane; i++) query_lab[i] *= qs;
    }
    for (int t = 0; s == MV_OK && t < memory->frames; t++) {
      const float *to_frame = NULL; /* query cell x shows frame t's x + flow(x) */
      for (size_t i = 0; i < plane; i++) m->frame_l[i] = m->host.keys[(size_t)t * plane + i] / cw;
      if (t == prev && align >= 1) {
        to_frame = m->backward;
      } else if (align == 2) {
        s = mv_optical_flow(m->current, m->frame_l, w, h, &lf->options.flow, m->forward);
        to_frame = m->forward;
      }
      if (s != MV_OK || !to_frame) continue;
      /* cells whose flow the reverse flow contradicts (occluded in frame t) */
      float *valid = reverse ? reverse + 2 * plane : NULL;
      if (penalty > 0.0f) s = mv_optical_flow(m->frame_l, m->current, w, h, &lf->options.flow,
                                              reverse);
      if (s == MV_OK && penalty > 0.0f) s = mv_flow_consistency(to_frame, reverse, w, h, valid);
      if (s == MV_OK && query_lab)
        s = shift_objects(lf, m, query_lab, query_lab + SHIFT_CHANNELS * plane, t, w, h,
                          (float *)to_frame);
      if (s == MV_OK) s = align_frame(&m->host, t, to_frame, w, h, m->scratch);
      if (s == MV_OK && penalty > 0.0f) {
        /* the norm channel is the entry's additive log-weight */
        float *norm = m->host.keys + (CK - 1) * span + (size_t)t * plane;
        for (size_t i = 0; i < plane; i++) norm[i] -= penalty * (1.0f - valid[i]);
      }
    }
    free(reverse);
    free(query_lab);
    MV_TRY(s);
  }
  if (align && prev >= 0 && lf->options.previous_bonus != 0.0f) {
    /* the norm channel is the entry's additive log-weight */
    float *norm = m->host.keys + (CK - 1) * span + (size_t)prev * plane;
    for (size_t i = 0; i < plane; i++) norm[i] += lf->options.previous_bonus;
  }
  if (align) MV_TRY(upload_memory(&m->host, memory->previous, &m->aligned));
  return MV_OK;
}

/* Blends the readout (k x 1 x h x w) towards the warped previous values
 * where the flow is consistent. */
static mv_status apply_prior(const labelprop_flow *lf, const motion *m, mv_tensor *readout) {
  const size_t plane = (size_t)readout->h * readout->w, n = mv_tensor_numel(readout);
  float *out = malloc(n * sizeof(float));
  if (!out) return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
  mv_status s = mv_tensor_download(readout, out);
  const float prior = lf->options.prior;
  for (size_t i = 0; s == MV_OK && i < n; i++)
    out[i] += prior * m->valid[i % plane] * (m->prior_values[i] - out[i]);
  if (s == MV_OK) s = mv_tensor_upload(readout, out);
  free(out);
  return s;
}

/* logit(p) += b logit(posterior) on the readout, b = options->appearance. */
static mv_status apply_appearance(const labelprop_flow *lf, const motion *m,
                                  mv_tensor *readout) {
  const size_t n = mv_tensor_numel(readout);
  float *p = malloc(n * sizeof(float));
  if (!p) return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
  mv_status s = mv_tensor_download(readout, p);
  const float b = lf->options.appearance;
  for (size_t i = 0; s == MV_OK && i < n; i++) {
    const float v = fminf(fmaxf(p[i], 1e-4f), 1.0f - 1e-4f);
    const float r = fminf(fmaxf(m->appearance[i], 1e-3f), 1.0f - 1e-3f);
    const float logit = logf(v / (1.0f - v)) + b * logf(r / (1.0f - r));
    p[i] = 1.0f / (1.0f + expf(-logit));
  }
  if (s == MV_OK) s = mv_tensor_upload(readout, p);
  free(p);
  return s;
}

/* p^g / (p^g + (1 - p)^g) on the readout, g = options->sharpen. */
static mv_status sharpen_readout(const labelprop_flow *lf, mv_tensor *readout) {
  const size_t n = mv_tensor_numel(readout);
  float *p = malloc(n * sizeof(float));
  if (!p) return mv_fail(MV_E_MEMORY, "labelprop-flow: out of memory");
  mv_status s = mv_tensor_download(readout, p);
  const float g = lf->options.sharpen;
  for (size_t i = 0; s == MV_OK && i < n; i++) {
    const float v = p[i] < 0.0f ? 0.0f : p[i] > 1.0f ? 1.0f : p[i];
    const float a = powf(v, g), b = powf(1.0f - v, g);
    p[i] = a + b > 0.0f ? a / (a + b) : v;
  }
  if (s == MV_OK) s = mv_tensor_upload(readout, p);
  free(p);
  return s;
}

static mv_status flow_segment(void *self, void *query, const mv_memory *memory, mv_tensor *prob) {
  static const char fn[] = "labelprop-flow segment";
  labelprop_flow *lf = self;
  MV_CHECK_ARG(query && memory && prob, "%s: NULL argument", fn);
  MV_CHECK_ARG(memory->previous >= 0 && memory->previous <= memory->frames,
               "%s: memory->previous = %d, expected 0 (none) .. frames (%d)", fn,
               memory->previous, memory->frames);
  const flow_query *fq = query;
  const mv_tensor *query_key = mv_labelprop_query_key(fq->read);
  /* The motion steps read the memory on the host: check its layout first
   * (labelprop's read checks it again). */
  MV_TRY(mv_tensor_check(&memory->keys, fn, "memory->keys"));
  MV_TRY(mv_tensor_check(&memory->values, fn, "memory->values"));
  const int cells = query_key->h * query_key->w;
  MV_CHECK_ARG(memory->keys.c == CK && memory->values.c == 1 && memory->keys.w == cells &&
                   memory->values.w == cells && memory->values.n == memory->keys.n &&
                   memory->values.h == memory->keys.h && memory->frames >= 1 &&
                   memory->frames <= memory->keys.h,
               "%s: memory keys %dx%dx%dx%d / values %dx%dx%dx%d with %d frames do not hold "
               "labelprop frames of %d cells", fn, memory->keys.n, memory->keys.c,
               memory->keys.h, memory->keys.w, memory->values.n, memory->values.c,
               memory->values.h, memory->values.w, memory->frames, cells);
  mv_tensor readout = {0};
  motion m;
  memset(&m, 0, sizeof m);
  mv_status s = MV_OK;
  const int use_motion = lf->options.align >= 2 || lf->options.appearance > 0.0f ||
                         (memory->previous > 0 && (lf->options.align || lf->options.prior > 0.0f));
  if (use_motion) s = compute_motion(lf, query_key, memory, &m);
  const mv_memory *read = m.aligned.keys.buffer ? &m.aligned : memory;
  if (s == MV_OK) s = mv_labelprop_readout(&lf->read, fq->read, read, &readout);
  if (s == MV_OK && m.has_prior) s = apply_prior(lf, &m, &readout);
  if (s == MV_OK && m.appearance) s = apply_appearance(lf, &m, &readout);
  if (s == MV_OK && lf->options.sharpen != 1.0f) s = sharpen_readout(lf, &readout);
  const int stride = lf->options.read.stride;
  if (s == MV_OK && fq->rgb)
    s = upsample_guided(lf, fq, &readout, prob);
  else if (s == MV_OK)
    s = mv_resize_bilinear(&readout, readout.h * stride, readout.w * stride, prob);
  mv_tensor_free(&readout);
  motion_free(&m);
  return s == MV_OK ? s : mv_fail_context(s, "%s", fn);
}

static void flow_destroy(void *self) {
  labelprop_flow *lf = self;
  forget_tracks(lf);
  mv_propagator_destroy(&lf->read);
  free(lf);
}

static const mv_propagator_ops labelprop_flow_ops = {
    flow_encode_query, flow_free_query, flow_memorize, flow_segment, NULL, flow_destroy,
};

mv_status mv_propagator_labelprop_flow(const mv_labelprop_flow_options *options,
                                       mv_propagator *out) {
  static const char fn[] = "mv_propagator_labelprop_flow";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  mv_labelprop_flow_options o;
  if (options) {
    o = *options;
  } else {
    mv_labelprop_flow_options_default(&o);
  }
  MV_CHECK_ARG(isfinite(o.prior) && o.prior >= 0.0f && o.prior <= 1.0f,
               "%s: options->prior = %g, expected 0 .. 1", fn, (double)o.prior);
  MV_CHECK_ARG(o.align >= 0 && o.align <= 3,
               "%s: options->align = %d, expected 0 (none), 1 (the previous frame), 2 (every "
               "memory frame, direct flows) or 3 (every memory frame, chained flows)", fn, o.align);
  MV_TRY(mv_flow_options_check(&o.flow, fn));
  MV_CHECK_ARG(isfinite(o.edge_colour) && o.edge_colour >= 0.0f && o.edge_colour <= 1000.0f,
               "%s: options->edge_colour = %g, expected 0 (bilinear upsampling) .. 1000", fn,
               (double)o.edge_colour);
  MV_CHECK_ARG(isfinite(o.edge_spatial) && o.edge_spatial > 0.0f && o.edge_spatial <= 16.0f,
               "%s: options->edge_spatial = %g, expected > 0 .. 16 (cells)", fn,
               (double)o.edge_spatial);
  MV_CHECK_ARG(isfinite(o.sharpen) && o.sharpen >= 0.25f && o.sharpen <= 8.0f,
               "%s: options->sharpen = %g, expected 0.25 .. 8 (1: none)", fn, (double)o.sharpen);
  MV_CHECK_ARG(isfinite(o.previous_bonus) && fabsf(o.previous_bonus) <= 10.0f,
               "%s: options->previous_bonus = %g, expected -10 .. 10", fn,
               (double)o.previous_bonus);
  MV_CHECK_ARG(isfinite(o.appearance) && o.appearance >= 0.0f && o.appearance <= 4.0f,
               "%s: options->appearance = %g, expected 0 (none) .. 4", fn, (double)o.appearance);
  MV_CHECK_ARG(isfinite(o.occlusion_penalty) && o.occlusion_penalty >= 0.0f &&
                   o.occlusion_penalty <= 20.0f,
               "%s: options->occlusion_penalty = %g, expected 0 (none) .. 20", fn,
               (double)o.occlusion_penalty);
  MV_CHECK_ARG(o.object_shift >= 0 && o.object_shift <= 128,
               "%s: options->object_shift = %d, expected 0 (none) .. 128 (cells)", fn,
               o.object_shift);
  labelprop_flow *lf = calloc(1, sizeof *lf);
  if (!lf) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  lf->options = o;
  mv_status s = mv_propagator_labelprop(&o.read, &lf->read);
  if (s != MV_OK) {
    free(lf);
    return mv_fail_context(s, "%s", fn);
  }
  *out = (mv_propagator){&labelprop_flow_ops, lf, "labelprop-flow", MV_LABELPROP_MEMORY_FRAMES};
  return MV_OK;
}
