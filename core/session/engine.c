#include "session/engine.h"

#include <stdlib.h>
#include <string.h>

#include "nets/aggregate.h"
#include "error.h"
#include "nets/preprocess.h"
#include "opencl/engine_ops.h"
#include "session/prob_store.h"

typedef struct cached_query {
  int frame;
  void *query;
  size_t bytes;
  unsigned long last_use;
} cached_query;

struct mv_engine {
  mv_engine_config config;
  mv_propagator propagator;
  mv_fuser fuser;
  int has_fuser;
  mv_frame_source source;
  void *source_user;
  mv_padding pad;
  int padded_h, padded_w;
  mv_prob_store prob;         /* per frame (k+1) x H x W */
  unsigned char *interacted;
  /* The "certain" memory: one entry per interaction, in order, with the
   * committed mask it was computed from (to recompute it when objects change). */
  mv_tensor *certain_keys, *certain_values;
  int *certain_frames;
  float **certain_masks;      /* (k+1) x H x W padded, host */
  unsigned char *certain_interacted; /* 1: the mask came from an interaction */
  int certain_count, certain_capacity;
  struct mv_engine_run *run;  /* the open propagation run, if any */
  cached_query *cache;
  int cache_count, cache_capacity;
  size_t cache_bytes;
  size_t peak_bank_bytes;
  unsigned long clock;
};

static size_t plane_floats(const mv_engine *e) {
  return (size_t)e->padded_h * e->padded_w;
}

static size_t frame_floats(const mv_engine *e) {
  return (size_t)(e->config.objects + 1) * plane_floats(e);
}

mv_padding mv_engine_padding(const mv_engine *engine) { return engine->pad; }
int mv_engine_objects(const mv_engine *engine) { return engine->config.objects; }

int mv_engine_interacted_count(const mv_engine *engine) {
  int count = 0;
  for (int t = 0; t < engine->config.frames; t++) count += engine->interacted[t];
  return count;
}

mv_status mv_engine_create(const mv_engine_config *config, mv_propagator propagator,
                           mv_fuser *fuser, mv_frame_source source, void *source_user,
                           mv_engine **out) {
  MV_CHECK_ARG(out, "mv_engine_create: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(config && source && propagator.ops, "mv_engine_create: NULL argument");
  MV_CHECK_ARG(config->frames > 0, "mv_engine_create: frames must be positive, got %d",
               config->frames);
  MV_CHECK_ARG(config->objects >= 1 && config->objects <= 255,
               "mv_engine_create: objects must be 1..255, got %d", config->objects);
  MV_CHECK_ARG(config->height > 0 && config->width > 0, "mv_engine_create: bad size %dx%d",
               config->width, config->height);
  MV_CHECK_ARG(config->memory_every >= 1, "mv_engine_create: memory_every must be >= 1, got %d",
               config->memory_every);
  mv_engine *e = calloc(1, sizeof *e);
  if (!e) return mv_fail(MV_E_MEMORY, "mv_engine_create: out of memory");
  e->config = *config;
  if (!e->config.query_cache_bytes) e->config.query_cache_bytes = (size_t)1 << 30;
  e->propagator = propagator;
  if (fuser && fuser->ops) {
    e->fuser = *fuser;
    e->has_fuser = 1;
  }
  e->source = source;
  e->source_user = source_user;
  e->pad = mv_padding_for(config->height, config->width, 16);
  e->padded_h = config->height + e->pad.top + e->pad.bottom;
  e->padded_w = config->width + e->pad.left + e->pad.right;
  e->interacted = calloc((size_t)config->frames, 1);
  mv_status s = mv_prob_store_init(&e->prob, config->frames, config->objects + 1,
                                   plane_floats(e), config->host_bytes);
  if (s != MV_OK || !e->interacted) {
    mv_engine_free(e);
    return mv_fail(MV_E_MEMORY, "mv_engine_create: out of memory for %d frames", config->frames);
  }
  *out = e;
  return MV_OK;
}

static void drop_query(mv_engine *e, int i) {
  e->propagator.ops->free_query(e->propagator.self, e->cache[i].query);
  e->cache_bytes -= e->cache[i].bytes;
  e->cache[i] = e->cache[--e->cache_count];
}

void mv_engine_free(mv_engine *e) {
  if (!e) return;
  mv_engine_end(e->run);
  while (e->cache_count) drop_query(e, 0);
  free(e->cache);
  for (int i = 0; i < e->certain_count; i++) {
    mv_tensor_free(&e->certain_keys[i]);
    mv_tensor_free(&e->certain_values[i]);
    free(e->certain_masks[i]);
  }
  free(e->certain_keys);
  free(e->certain_values);
  free(e->certain_frames);
  free(e->certain_masks);
  free(e->certain_interacted);
  mv_prob_store_free(&e->prob);
  free(e->interacted);
  mv_propagator_destroy(&e->propagator);
  if (e->has_fuser) mv_fuser_destroy(&e->fuser);
  free(e);
}

static mv_status read_prob(const mv_engine *e, int frame, float *out) {
  return mv_prob_store_read(&e->prob, frame, out);
}

static mv_status store_prob(mv_engine *e, int frame, const mv_tensor *prob) {
  float *host = malloc(frame_floats(e) * sizeof(float));
  if (!host) return mv_fail(MV_E_MEMORY, "engine: out of host memory at frame %d", frame);
  mv_status s = mv_tensor_download(prob, host);
  if (s == MV_OK) s = mv_prob_store_write(&e->prob, frame, host);
  free(host);
  return s;
}

/* A frame's (k+1) padded planes from the host to a new tensor. */
static mv_status upload_host(const mv_engine *e, const float *host, mv_tensor *out) {
  MV_TRY(mv_tensor_new(out, e->config.objects + 1, 1, e->padded_h, e->padded_w));
  return mv_tensor_upload(out, host);
}

static mv_status upload_prob(const mv_engine *e, int frame, mv_tensor *out) {
  float *host = malloc(frame_floats(e) * sizeof(float));
  if (!host) return mv_fail(MV_E_MEMORY, "engine: out of host memory");
  mv_status s = read_prob(e, frame, host);
  if (s == MV_OK) s = upload_host(e, host, out);
  free(host);
  return s;
}

/* The query of a frame from the cache, encoding it on a miss; the least
 * recently used queries are dropped to stay under the byte bound. */
static mv_status get_query(mv_engine *e, int frame, void **query) {
  e->clock++;
  for (int i = 0; i < e->cache_count; i++) {
    if (e->cache[i].frame == frame) {
      e->cache[i].last_use = e->clock;
      *query = e->cache[i].query;
      return MV_OK;
    }
  }
  mv_tensor image = {0};
  size_t bytes = 0;
  MV_TRY(e->source(e->source_user, frame, &image));
  mv_status s = e->propagator.ops->encode_query(e->propagator.self, &image, query, &bytes);
  mv_tensor_free(&image);
  MV_TRY(s);
  while (e->cache_count && e->cache_bytes + bytes > e->config.query_cache_bytes) {
    int oldest = 0;
    for (int i = 1; i < e->cache_count; i++)
      if (e->cache[i].last_use < e->cache[oldest].last_use) oldest = i;
    drop_query(e, oldest);
  }
  if (e->cache_count == e->cache_capacity) {
    int grown = e->cache_capacity ? e->cache_capacity * 2 : 16;
    cached_query *c = realloc(e->cache, (size_t)grown * sizeof *c);
    if (!c) {
      e->propagator.ops->free_query(e->propagator.self, *query);
      return mv_fail(MV_E_MEMORY, "engine: out of memory for the query cache");
    }
    e->cache = c;
    e->cache_capacity = grown;
  }
  e->cache[e->cache_count++] = (cached_query){frame, *query, bytes, e->clock};
  e->cache_bytes += bytes;
  return MV_OK;
}

typedef struct interaction {
  int frame;
  float previous_agreement;  /* of the previous result with the new mask at frame */
  mv_tensor key;             /* k x Ck x h x w of the interacted frame */
  mv_tensor pos_diff, neg_diff;
} interaction;

/* A pass's memory bank: the certain memory first, then up to `capacity`
 * slots in all, at most the certain memory + the propagator's memory_frames.
 * Slots are bytes k x (Ck + Cv) x h*w each; with a byte bound the capacity
 * is cut (never below the certain memory + 2). */
static mv_status allocate_bank(mv_engine *e, int capacity, mv_memory *memory) {
  const mv_tensor *key = &e->certain_keys[0], *value = &e->certain_values[0];
  int plane = key->h * key->w;
  int most = e->propagator.memory_frames;
  if (most > 0 && capacity > e->certain_count + most) capacity = e->certain_count + most;
  if (e->config.memory_bank_bytes) {
    size_t slot = (size_t)key->n * (size_t)(key->c + value->c) * (size_t)plane * sizeof(float);
    size_t fit = e->config.memory_bank_bytes / slot;
    if (fit < (size_t)e->certain_count + 2) fit = (size_t)e->certain_count + 2;
    if ((size_t)capacity > fit) capacity = (int)fit;
  }
  MV_TRY(mv_tensor_new(&memory->keys, key->n, key->c, capacity, plane));
  MV_TRY(mv_tensor_new(&memory->values, value->n, value->c, capacity, plane));
  size_t bytes = (mv_tensor_numel(&memory->keys) + mv_tensor_numel(&memory->values)) * sizeof(float);
  if (bytes > e->peak_bank_bytes) e->peak_bank_bytes = bytes;
  for (int i = 0; i < e->certain_count; i++)
    MV_TRY(mv_memory_store(memory, i, &e->certain_keys[i], &e->certain_values[i]));
  memory->frames = e->certain_count;
  return MV_OK;
}

/* Frames from ti to the nearest interacted frame other than tr (0: none). */
static int previous_distance(const mv_engine *e, int tr, int ti) {
  int best = 0;
  for (int t = 0; t < e->config.frames; t++) {
    if (!e->interacted[t] || t == tr) continue;
    int d = abs(ti - t);
    if (!best || d < best) best = d;
  }
  return best;
}

/* Fuses the new round's `current` at ti with `previous`; pass_agreement < 0
 * while the pass runs. */
static mv_status fuse_into(mv_engine *e, const interaction *in, int tc, int ti,
                           const mv_tensor *query_key, const mv_tensor *previous,
                           const mv_tensor *current, float pass_agreement, mv_tensor *fused) {
  mv_tensor image = {0}, tr_image = {0}, tr_mask = {0};
  mv_status s = e->source(e->source_user, ti, &image);
  if (s == MV_OK) s = e->source(e->source_user, in->frame, &tr_image);
  if (s == MV_OK) s = upload_prob(e, in->frame, &tr_mask);
  mv_fusion_input input = {&image,   previous,  current,   &in->pos_diff, &in->neg_diff,
                           &in->key, query_key, &tr_image, &tr_mask,      tc,
                           in->frame, ti,     previous_distance(e, in->frame, ti),
                           in->previous_agreement, pass_agreement};
  if (s == MV_OK) s = e->fuser.ops->fuse(e->fuser.self, &input, fused);
  mv_tensor *temps[3] = {&image, &tr_image, &tr_mask};
  for (int i = 0; i < 3; i++) mv_tensor_free(temps[i]);
  return s;
}

/* ---- propagation in steps --------------------------------------------------- */

/* One pass of a run: from the interacted frame towards the nearest other
 * interacted frame (exclusive) or the video's end, as the official do_pass. */
typedef struct pass {
  int step;      /* +1 forward, -1 backward */
  int closest;   /* the interacted frame that bounds it, or -1 / T */
  int last;      /* the last frame this run propagates (the natural end or `to`) */
  int length;    /* frames up to the natural end (sizes the memory bank) */
} pass;

struct mv_engine_run {
  mv_engine *engine;
  interaction in;
  pass passes[2];
  int pass_count, pass_index;
  int total, done, failed;
  /* The open pass (its bank allocated): the official loop's variables. */
  int open, ti, certain, fuse, ring, permanent, previous_in_memory, last_stored;
  int previous_slot;   /* the slot of the frame before ti in the pass's order */
  mv_memory memory;
  /* For a fuser that fuses a pass again when it ends (second_fusion): each
   * frame's previous result and the pass's own read, 2 (k+1) planes. */
  mv_prob_store held;
  int holding;
};

static pass plan_pass(const mv_engine *e, int idx, int forward, int to) {
  int T = e->config.frames;
  int closest = forward ? T : -1;
  for (int t = 0; t < T; t++) {
    if (!e->interacted[t]) continue;
    if (forward && t > idx && t < closest) closest = t;
    if (!forward && t < idx && t > closest) closest = t;
  }
  pass p = {forward ? 1 : -1, closest, forward ? closest - 1 : closest + 1,
            forward ? closest - idx - 1 : idx - closest - 1};
  if (to >= 0 && (forward ? to < p.last : to > p.last)) p.last = to;
  return p;
}

static int pass_frames(const pass *p, int idx) {
  int n = (p->last - idx) * p->step;
  return n > 0 ? n : 0;
}

static void close_pass(mv_engine_run *r) {
  if (r->holding) mv_prob_store_free(&r->held);
  r->holding = 0;
  mv_tensor_free(&r->memory.keys);
  mv_tensor_free(&r->memory.values);
  r->memory.frames = 0;
  if (r->open) r->pass_index++;
  r->open = 0;
}

static int memory_index(const mv_engine *e, int frame);

/* Allocates the bank of the next pass that has frames left. */
static mv_status open_pass(mv_engine_run *r) {
  mv_engine *e = r->engine;
  int idx = r->in.frame;
  while (pass_frames(&r->passes[r->pass_index], idx) == 0) r->pass_index++;
  const pass *p = &r->passes[r->pass_index];
  r->open = 1;
  r->certain = e->certain_count;
  /* A pass to the video's end is fused only by a fuser that asks for it,
   * and only over a previous result from another interacted frame. */
  int bounded = p->closest != e->config.frames && p->closest != -1;
  r->fuse = e->has_fuser &&
            (bounded || (e->fuser.open_passes && previous_distance(e, idx, idx) > 0));
  r->ti = idx;
  if (r->fuse && bounded && e->fuser.second_fusion && p->last == p->closest - p->step) {
    /* at 16 bits (the store quantizes past its byte limit); past half the
     * host limit the frames go to the store's spill file */
    size_t channels = 2 * (size_t)(e->config.objects + 1);
    size_t limit = (size_t)e->config.frames * channels * plane_floats(e) * sizeof(float) / 2 + 1;
    if (e->config.host_bytes && e->config.host_bytes / 2 < limit) limit = e->config.host_bytes / 2;
    MV_TRY(mv_prob_store_init(&r->held, e->config.frames, (int)channels, plane_floats(e), limit));
    r->holding = 1;
  }
  MV_TRY(allocate_bank(e, (p->length - 1) / e->config.memory_every + 1 + r->certain, &r->memory));
  /* Slots after the certain memory form a ring; without a byte bound it
   * never wraps and this is the official m_front bookkeeping. */
  r->ring = r->memory.keys.h - r->certain;
  r->permanent = 0;
  r->previous_in_memory = 1;
  r->last_stored = idx;
  /* The frame before the first one is the interacted frame's entry. */
  r->previous_slot = memory_index(e, idx);
  return MV_OK;
}

/* Fuses the pass's read at ti with the previous result there; for a second
 * fusion (r->holding) it also keeps both inputs. */
static mv_status fuse_frame(mv_engine_run *r, int tc, int ti, void *query, mv_tensor *current,
                            mv_tensor *fused) {
  mv_engine *e = r->engine;
  size_t n = frame_floats(e);
  float *host = malloc((r->holding ? 2 : 1) * n * sizeof(float));
  if (!host) return mv_fail(MV_E_MEMORY, "engine: out of host memory at frame %d", ti);
  mv_tensor previous = {0};
  const mv_tensor *query_key =
      e->propagator.ops->query_key ? e->propagator.ops->query_key(e->propagator.self, query) : NULL;
  mv_status s = read_prob(e, ti, host);
  if (s == MV_OK && r->holding) s = mv_tensor_download(current, host + n);
  if (s == MV_OK && r->holding) s = mv_prob_store_write(&r->held, ti, host);
  if (s == MV_OK) s = upload_host(e, host, &previous);
  if (s == MV_OK) s = fuse_into(e, &r->in, tc, ti, query_key, &previous, current, -1.0f, fused);
  mv_tensor_free(&previous);
  free(host);
  return s;
}

/* The pass has reached the frame before tc: reads tc too (with the memory
 * of that last frame, which is not memorised), measures how well the read
 * agrees with the mask committed at tc, and fuses the pass's frames again
 * knowing it: a pass that drifted off the object on its way is now known
 * to have, and yields to the previous result along the way. */
static mv_status fuse_pass_again(mv_engine_run *r, const pass *p) {
  mv_engine *e = r->engine;
  int tc = p->closest;
  size_t n = frame_floats(e);
  float *host = malloc(2 * n * sizeof(float));
  if (!host) return mv_fail(MV_E_MEMORY, "engine: out of host memory at frame %d", tc);
  void *query = NULL;
  mv_tensor prob = {0}, aggregated = {0};
  mv_status s = get_query(e, tc, &query);
  if (s == MV_OK) s = e->propagator.ops->segment(e->propagator.self, query, &r->memory, &prob);
  if (s == MV_OK) s = mv_aggregate(&prob, 0, &aggregated);
  if (s == MV_OK) s = mv_tensor_download(&aggregated, host);
  if (s == MV_OK) s = read_prob(e, tc, host + n);
  mv_tensor_free(&prob);
  mv_tensor_free(&aggregated);
  float agreement = 0;
  if (s == MV_OK)
    agreement = mv_fusion_agreement(host, host + n, e->config.objects + 1, plane_floats(e));
  for (int t = r->in.frame + p->step; s == MV_OK && t != tc; t += p->step) {
    mv_tensor previous = {0}, current = {0}, fused = {0};
    s = mv_prob_store_read(&r->held, t, host);
    if (s == MV_OK) s = upload_host(e, host, &previous);
    if (s == MV_OK) s = upload_host(e, host + n, &current);
    if (s == MV_OK)
      s = fuse_into(e, &r->in, tc, t, NULL, &previous, &current, agreement, &fused);
    if (s == MV_OK) s = store_prob(e, t, &fused);
    mv_tensor_free(&previous);
    mv_tensor_free(&current);
    mv_tensor_free(&fused);
  }
  free(host);
  return s;
}

/* The official loop body for frame ti: memory = certain frames + permanent
 * frames (one every memory_every frames) + the previous frame in a
 * temporary slot; the pass's natural last frame is not memorised; fusion
 * when the pass ends at an interacted frame. */
static mv_status propagate_frame(mv_engine_run *r, const pass *p, int ti) {
  mv_engine *e = r->engine;
  int k = e->config.objects, certain = r->certain, ring = r->ring;
  void *query = NULL;
  mv_tensor prob = {0}, aggregated = {0}, image = {0}, key = {0}, value = {0}, fused = {0};
  int stored = r->permanent + (r->previous_in_memory ? 0 : 1);
  r->memory.frames = certain + (stored < ring ? stored : ring);
  r->memory.previous = r->previous_slot + 1;
  mv_status s = get_query(e, ti, &query);
  if (s == MV_OK) s = e->propagator.ops->segment(e->propagator.self, query, &r->memory, &prob);
  if (s == MV_OK) s = mv_aggregate(&prob, 0, &aggregated);
  mv_tensor_free(&prob);
  if (s == MV_OK && ti != p->closest - p->step) {
    mv_tensor objects;
    s = mv_tensor_view(&aggregated, 1, k, 0, 1, &objects);
    if (s == MV_OK) s = e->source(e->source_user, ti, &image);
    if (s == MV_OK)
      s = e->propagator.ops->memorize(e->propagator.self, &image, &objects, &key, &value);
    if (s == MV_OK) s = mv_memory_store(&r->memory, certain + r->permanent % ring, &key, &value);
    r->previous_slot = certain + r->permanent % ring;
    if (abs(ti - r->last_stored) >= e->config.memory_every) {
      r->permanent++;
      r->last_stored = ti;
      r->previous_in_memory = 1;
    } else {
      r->previous_in_memory = 0;
    }
  }
  if (s == MV_OK && r->fuse) {
    s = fuse_frame(r, p->closest, ti, query, &aggregated, &fused);
    if (s == MV_OK) s = store_prob(e, ti, &fused);
    if (s == MV_OK && r->holding && ti == p->closest - p->step) s = fuse_pass_again(r, p);
  } else if (s == MV_OK) {
    s = store_prob(e, ti, &aggregated);
  }
  mv_tensor *temps[5] = {&aggregated, &image, &key, &value, &fused};
  for (int i = 0; i < 5; i++) mv_tensor_free(temps[i]);
  return s;
}

mv_status mv_engine_step(mv_engine_run *r, int *frame, int *done) {
  MV_CHECK_ARG(r && frame && done, "mv_engine_step: NULL argument");
  *frame = -1;
  *done = 1;
  if (r->failed)
    return mv_fail(MV_E_STATE, "mv_engine_step: the propagation from frame %d stopped at an "
                               "earlier error", r->in.frame);
  if (r->done >= r->total) return MV_OK;
  mv_status s = r->open ? MV_OK : open_pass(r);
  const pass *p = &r->passes[r->pass_index];
  int ti = r->ti + p->step;
  if (s == MV_OK) s = propagate_frame(r, p, ti);
  if (s != MV_OK) {
    r->failed = 1;
    close_pass(r);
    return s;
  }
  r->ti = ti;
  r->done++;
  if (ti == p->last || r->done == r->total) close_pass(r);
  *frame = ti;
  *done = r->done == r->total;
  return MV_OK;
}

int mv_engine_run_total(const mv_engine_run *r) { return r->total; }
int mv_engine_run_done(const mv_engine_run *r) { return r->done; }

void mv_engine_end(mv_engine_run *r) {
  if (!r) return;
  close_pass(r);
  mv_tensor_free(&r->in.key);
  mv_tensor_free(&r->in.pos_diff);
  mv_tensor_free(&r->in.neg_diff);
  if (r->engine->run == r) r->engine->run = NULL;
  free(r);
}

static mv_status grow_certain(mv_engine *e) {
  if (e->certain_count < e->certain_capacity) return MV_OK;
  int grown = e->certain_capacity ? e->certain_capacity * 2 : 4;
  mv_tensor *keys = realloc(e->certain_keys, (size_t)grown * sizeof *keys);
  if (keys) e->certain_keys = keys;
  mv_tensor *values = realloc(e->certain_values, (size_t)grown * sizeof *values);
  if (values) e->certain_values = values;
  int *frames = realloc(e->certain_frames, (size_t)grown * sizeof *frames);
  if (frames) e->certain_frames = frames;
  float **masks = realloc(e->certain_masks, (size_t)grown * sizeof *masks);
  if (masks) e->certain_masks = masks;
  unsigned char *flags = realloc(e->certain_interacted, (size_t)grown);
  if (flags) e->certain_interacted = flags;
  if (!keys || !values || !frames || !masks || !flags)
    return mv_fail(MV_E_MEMORY, "engine: out of memory for the memory list");
  e->certain_capacity = grown;
  return MV_OK;
}

/* Memorises a frame from its padded (k+1) x H x W mask (objects only). */
static mv_status memorize_mask(mv_engine *e, int frame, const mv_tensor *padded, mv_tensor *key,
                               mv_tensor *value) {
  mv_tensor objects, image = {0};
  MV_TRY(mv_tensor_view(padded, 1, e->config.objects, 0, 1, &objects));
  mv_status s = e->source(e->source_user, frame, &image);
  if (s == MV_OK) s = e->propagator.ops->memorize(e->propagator.self, &image, &objects, key, value);
  mv_tensor_free(&image);
  return s;
}

static int memory_index(const mv_engine *e, int frame) {
  for (int i = 0; i < e->certain_count; i++)
    if (e->certain_frames[i] == frame) return i;
  return -1;
}

static void free_entry(mv_engine *e, int i) {
  mv_tensor_free(&e->certain_keys[i]);
  mv_tensor_free(&e->certain_values[i]);
  free(e->certain_masks[i]);
}

/* The frame's memory entry: a new one at the end, or the frame's earlier
 * entry replaced in place (a frame is in memory once). */
static void set_entry(mv_engine *e, int frame, mv_tensor key, mv_tensor value, float *mask,
                      int interacted) {
  int i = memory_index(e, frame);
  if (i < 0) {
    i = e->certain_count++;
  } else {
    interacted |= e->certain_interacted[i];
    free_entry(e, i);
  }
  e->certain_keys[i] = key;
  e->certain_values[i] = value;
  e->certain_frames[i] = frame;
  e->certain_masks[i] = mask;
  e->certain_interacted[i] = (unsigned char)(interacted != 0);
  e->interacted[frame] = 1;
}

mv_status mv_engine_begin(mv_engine *e, int frame, const float *mask, int interacted,
                          int directions, int to, int count, mv_engine_run **out) {
  MV_CHECK_ARG(out, "mv_engine_begin: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(e && mask, "mv_engine_begin: NULL argument");
  MV_CHECK_ARG(frame >= 0 && frame < e->config.frames, "mv_engine_begin: frame %d outside 0..%d",
               frame, e->config.frames - 1);
  MV_CHECK_ARG(directions >= 1 && directions <= 3,
               "mv_engine_begin: directions %d is not 1 (forward), 2 (backward) or 3 (both)",
               directions);
  MV_CHECK_ARG(to == -1 || (to >= 0 && to < e->config.frames),
               "mv_engine_begin: stop frame %d outside 0..%d (or -1)", to, e->config.frames - 1);
  MV_CHECK_ARG(count >= 0, "mv_engine_begin: frame count %d is negative", count);
  if (e->run)
    return mv_fail(MV_E_STATE, "mv_engine_begin: the propagation from frame %d is still open",
                   e->run->in.frame);
  int k = e->config.objects;
  mv_engine_run *r = calloc(1, sizeof *r);
  mv_tensor padded = {0}, previous = {0}, value = {0}, key_copy = {0};
  float *committed = malloc(frame_floats(e) * sizeof(float));
  float *before = malloc(frame_floats(e) * sizeof(float)); /* the previous result at frame */
  mv_status s = r && committed && before ? grow_certain(e)
                                         : mv_fail(MV_E_MEMORY, "engine: out of memory");
  if (s == MV_OK) {
    r->engine = e;
    r->in.frame = frame;
    s = mv_preprocess_masks(mask, k + 1, e->config.height, e->config.width, e->pad, &padded);
  }
  if (s == MV_OK) s = read_prob(e, frame, before);
  if (s == MV_OK) s = upload_host(e, before, &previous);
  if (s == MV_OK) s = mv_mask_difference(&padded, &previous, &r->in.pos_diff, &r->in.neg_diff);
  if (s == MV_OK) s = mv_tensor_download(&padded, committed);
  if (s == MV_OK)
    r->in.previous_agreement = mv_fusion_agreement(before, committed, k + 1, plane_floats(e));
  if (s == MV_OK) s = mv_prob_store_write(&e->prob, frame, committed);
  if (s == MV_OK) s = memorize_mask(e, frame, &padded, &r->in.key, &value);
  /* The certain memory keeps its own copy of the key; `in.key` serves fusion. */
  if (s == MV_OK) s = mv_tensor_new(&key_copy, r->in.key.n, r->in.key.c, r->in.key.h, r->in.key.w);
  if (s == MV_OK) s = mv_tensor_copy(&r->in.key, &key_copy);
  mv_tensor_free(&previous);
  mv_tensor_free(&padded);
  free(before);
  if (s != MV_OK) {
    free(committed);
    mv_tensor_free(&key_copy);
    mv_tensor_free(&value);
    if (r) {
      r->engine = e;
      mv_engine_end(r);
    }
    return s;
  }
  set_entry(e, frame, key_copy, value, committed, interacted);
  /* Forward first, then backward, as the official interact(). */
  if (directions & 1) r->passes[r->pass_count++] = plan_pass(e, frame, 1, directions == 1 ? to : -1);
  if (directions & 2) r->passes[r->pass_count++] = plan_pass(e, frame, 0, directions == 2 ? to : -1);
  for (int i = 0; i < r->pass_count; i++) r->total += pass_frames(&r->passes[i], frame);
  if (count && r->total > count) r->total = count;
  e->run = r;
  *out = r;
  return MV_OK;
}

mv_status mv_engine_interact(mv_engine *e, int frame, const float *mask,
                             mv_engine_progress progress, void *progress_user) {
  mv_engine_run *run = NULL;
  MV_TRY(mv_engine_begin(e, frame, mask, 1, 3, -1, 0, &run));
  mv_status s = MV_OK;
  int t, done = run->total == 0;
  while (!done && s == MV_OK) {
    s = mv_engine_step(run, &t, &done);
    if (s == MV_OK && progress && progress(progress_user, run->done, run->total)) break;
  }
  mv_engine_end(run);
  return s;
}

/* ---- memory control ------------------------------------------------------------ */

int mv_engine_memory_count(const mv_engine *e) { return e->certain_count; }

void mv_engine_memory_entry(const mv_engine *e, int i, int *frame, int *interacted) {
  *frame = e->certain_frames[i];
  *interacted = e->certain_interacted[i];
}

mv_status mv_engine_forget(mv_engine *e, int frame) {
  MV_CHECK_ARG(e, "mv_engine_forget: engine is NULL");
  MV_CHECK_ARG(frame >= 0 && frame < e->config.frames, "mv_engine_forget: frame %d outside 0..%d",
               frame, e->config.frames - 1);
  if (e->run)
    return mv_fail(MV_E_STATE, "mv_engine_forget: the propagation from frame %d is still open",
                   e->run->in.frame);
  int i = memory_index(e, frame);
  if (i < 0)
    return mv_fail(MV_E_ARGUMENT, "mv_engine_forget: frame %d has no memory entry (%d frame%s in "
                                  "memory)", frame, e->certain_count,
                   e->certain_count == 1 ? "" : "s");
  free_entry(e, i);
  int after = e->certain_count - i - 1;
  memmove(e->certain_keys + i, e->certain_keys + i + 1, (size_t)after * sizeof *e->certain_keys);
  memmove(e->certain_values + i, e->certain_values + i + 1,
          (size_t)after * sizeof *e->certain_values);
  memmove(e->certain_frames + i, e->certain_frames + i + 1,
          (size_t)after * sizeof *e->certain_frames);
  memmove(e->certain_masks + i, e->certain_masks + i + 1, (size_t)after * sizeof *e->certain_masks);
  memmove(e->certain_interacted + i, e->certain_interacted + i + 1, (size_t)after);
  e->certain_count--;
  e->interacted[frame] = 0;
  return MV_OK;
}

void mv_engine_memory_use(const mv_engine *e, mv_engine_memory *out) {
  out->peak_bank_bytes = e->peak_bank_bytes;
  out->query_cache_bytes = e->cache_bytes;
  out->host_bytes = mv_prob_store_bytes(&e->prob);
  out->spilled_bytes = mv_prob_store_spilled_bytes(&e->prob);
  out->quantized = e->prob.quantized;
}

mv_status mv_engine_remap_objects(mv_engine *e, int new_objects, const int *source) {
  MV_CHECK_ARG(e && source, "mv_engine_remap_objects: NULL argument");
  MV_CHECK_ARG(new_objects >= 1 && new_objects <= 255,
               "mv_engine_remap_objects: objects must be 1..255, got %d", new_objects);
  if (e->run)
    return mv_fail(MV_E_STATE, "mv_engine_remap_objects: the propagation from frame %d is still "
                               "open", e->run->in.frame);
  for (int j = 1; j <= new_objects; j++)
    MV_CHECK_ARG(source[j] >= 0 && source[j] <= e->config.objects,
                 "mv_engine_remap_objects: source of object %d is %d, not 0..%d", j, source[j],
                 e->config.objects);
  int old_channels = e->config.objects + 1, new_channels = new_objects + 1;
  size_t plane = plane_floats(e);
  /* Masks of the interacted frames first: they need no device work. */
  for (int i = 0; i < e->certain_count; i++) {
    float *mask = malloc((size_t)new_channels * plane * sizeof(float));
    if (!mask) return mv_fail(MV_E_MEMORY, "mv_engine_remap_objects: out of memory");
    mv_prob_remap_planes(e->certain_masks[i], old_channels, plane, new_channels, source, mask);
    free(e->certain_masks[i]);
    e->certain_masks[i] = mask;
  }
  MV_TRY(mv_prob_store_remap(&e->prob, new_channels, source));
  e->config.objects = new_objects;
  /* Recompute the certain memory from the remapped masks. */
  mv_status s = MV_OK;
  for (int i = 0; i < e->certain_count && s == MV_OK; i++) {
    mv_tensor padded = {0}, key = {0}, value = {0};
    s = mv_tensor_new(&padded, new_channels, 1, e->padded_h, e->padded_w);
    if (s == MV_OK) s = mv_tensor_upload(&padded, e->certain_masks[i]);
    if (s == MV_OK) s = memorize_mask(e, e->certain_frames[i], &padded, &key, &value);
    mv_tensor_free(&padded);
    if (s == MV_OK) {
      mv_tensor_free(&e->certain_keys[i]);
      mv_tensor_free(&e->certain_values[i]);
      e->certain_keys[i] = key;
      e->certain_values[i] = value;
    } else {
      mv_tensor_free(&key);
      mv_tensor_free(&value);
    }
  }
  return s;
}

mv_status mv_engine_probabilities(const mv_engine *e, int frame, float *out) {
  MV_CHECK_ARG(e && out, "mv_engine_probabilities: NULL argument");
  MV_CHECK_ARG(frame >= 0 && frame < e->config.frames,
               "mv_engine_probabilities: frame %d outside 0..%d", frame, e->config.frames - 1);
  return read_prob(e, frame, out);
}

mv_status mv_engine_labels(const mv_engine *e, int frame, uint8_t *out) {
  MV_CHECK_ARG(e && out, "mv_engine_labels: NULL argument");
  MV_CHECK_ARG(frame >= 0 && frame < e->config.frames, "mv_engine_labels: frame %d outside 0..%d",
               frame, e->config.frames - 1);
  float *prob = malloc(frame_floats(e) * sizeof(float));
  if (!prob) return mv_fail(MV_E_MEMORY, "mv_engine_labels: out of memory");
  mv_status s = read_prob(e, frame, prob);
  if (s != MV_OK) {
    free(prob);
    return s;
  }
  size_t plane = plane_floats(e);
  int h = e->config.height, w = e->config.width;
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      size_t p = (size_t)(y + e->pad.top) * e->padded_w + (size_t)(x + e->pad.left);
      int best = 0;
      for (int c = 1; c <= e->config.objects; c++)
        if (prob[c * plane + p] > prob[best * plane + p]) best = c;
      out[(size_t)y * w + x] = (uint8_t)best;
    }
  }
  free(prob);
  return MV_OK;
}

/* ---- snapshots (session/snapshot.c) ---- */

int mv_engine_memory_every(const mv_engine *e) { return e->config.memory_every; }

static mv_status put_tensor(mv_snapshot_writer *w, const mv_tensor *t) {
  int32_t dims[4] = {t->n, t->c, t->h, t->w};
  float *host = malloc(mv_tensor_numel(t) * sizeof *host);
  if (!host) return mv_fail(MV_E_MEMORY, "snapshot: out of memory for a memory key");
  mv_status s = mv_tensor_download(t, host);
  if (s == MV_OK) {
    mv_snapshot_put(w, dims, sizeof dims);
    mv_snapshot_put(w, host, mv_tensor_numel(t) * sizeof *host);
  }
  free(host);
  return s;
}

mv_status mv_engine_export(const mv_engine *e, mv_snapshot_writer *w) {
  int32_t head[4] = {e->config.frames, e->config.objects, e->padded_h, e->padded_w};
  mv_snapshot_put(w, head, sizeof head);
  mv_snapshot_put(w, e->interacted, (size_t)e->config.frames);
  mv_snapshot_put_i32(w, e->certain_count);
  for (int i = 0; i < e->certain_count; i++) {
    mv_snapshot_put_i32(w, e->certain_frames[i]);
    mv_snapshot_put_i32(w, e->certain_interacted[i]);
    mv_snapshot_put(w, e->certain_masks[i], frame_floats(e) * sizeof(float));
    MV_TRY(put_tensor(w, &e->certain_keys[i]));
    MV_TRY(put_tensor(w, &e->certain_values[i]));
  }
  float *scratch = malloc(frame_floats(e) * sizeof *scratch);
  if (!scratch) return mv_fail(MV_E_MEMORY, "snapshot: out of memory");
  mv_prob_store_export(&e->prob, w, scratch);
  free(scratch);
  return MV_OK;
}

/* A memory key or value of an interacted frame: k x C x h x w with the
 * engine's k, uploaded to the device. */
static mv_status get_tensor(mv_snapshot_reader *r, int objects, mv_tensor *out) {
  int32_t dims[4];
  MV_TRY(mv_snapshot_get(r, dims, sizeof dims, "memory tensor shape"));
  if (dims[0] != objects || dims[1] < 1 || dims[1] > 4096 || dims[2] < 1 || dims[2] > 65536 ||
      dims[3] < 1 || dims[3] > 65536)
    return mv_fail(MV_E_FORMAT, "%s: memory tensor of shape %dx%dx%dx%d, expected %d objects",
                   r->path, dims[0], dims[1], dims[2], dims[3], objects);
  size_t count = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
  if (count * sizeof(float) > r->size - r->pos)
    return mv_fail(MV_E_FORMAT, "%s: truncated snapshot: memory tensor missing", r->path);
  float *host = malloc(count * sizeof *host);
  if (!host) return mv_fail(MV_E_MEMORY, "snapshot: out of memory for a memory tensor");
  mv_status s = mv_snapshot_get(r, host, count * sizeof *host, "memory tensor");
  if (s == MV_OK) s = mv_tensor_new(out, dims[0], dims[1], dims[2], dims[3]);
  if (s == MV_OK) s = mv_tensor_upload(out, host);
  free(host);
  return s;
}

mv_status mv_engine_import(mv_engine *e, mv_snapshot_reader *r) {
  int32_t head[4], count;
  MV_TRY(mv_snapshot_get(r, head, sizeof head, "engine header"));
  if (head[0] != e->config.frames || head[1] < 1 || head[1] > 255 || head[2] != e->padded_h ||
      head[3] != e->padded_w)
    return mv_fail(MV_E_MISMATCH,
                   "%s: snapshot of %d frames at %dx%d (padded), the session has %d frames at "
                   "%dx%d", r->path, head[0], head[3], head[2], e->config.frames, e->padded_w,
                   e->padded_h);
  mv_engine next = *e;   /* the parts replaced; the rest (modules, cache) stays shared */
  next.config.objects = head[1];
  next.certain_count = next.certain_capacity = 0;
  next.certain_keys = next.certain_values = NULL;
  next.certain_frames = NULL;
  next.certain_masks = NULL;
  next.certain_interacted = NULL;
  next.run = NULL;
  next.interacted = malloc((size_t)e->config.frames);
  mv_status s = next.interacted ? MV_OK : mv_fail(MV_E_MEMORY, "snapshot: out of memory");
  if (s == MV_OK) s = mv_snapshot_get(r, next.interacted, (size_t)e->config.frames, "interacted frames");
  if (s == MV_OK) s = mv_snapshot_get_range(r, 0, 1 << 20, &count, "memory entries");
  for (int i = 0; i < count && s == MV_OK; i++) {
    int32_t frame, interacted = 0;
    s = grow_certain(&next);
    if (s == MV_OK) s = mv_snapshot_get_range(r, 0, e->config.frames - 1, &frame, "memory frame");
    if (s == MV_OK) s = mv_snapshot_get_range(r, 0, 1, &interacted, "memory entry flag");
    float *mask = s == MV_OK ? malloc(frame_floats(&next) * sizeof *mask) : NULL;
    if (s == MV_OK && !mask) s = mv_fail(MV_E_MEMORY, "snapshot: out of memory");
    if (s == MV_OK) s = mv_snapshot_get(r, mask, frame_floats(&next) * sizeof *mask, "memory mask");
    mv_tensor key = {0}, value = {0};
    if (s == MV_OK) s = get_tensor(r, head[1], &key);
    if (s == MV_OK) s = get_tensor(r, head[1], &value);
    if (s == MV_OK) {
      next.certain_frames[i] = frame;
      next.certain_interacted[i] = (unsigned char)interacted;
      next.certain_masks[i] = mask;
      next.certain_keys[i] = key;
      next.certain_values[i] = value;
      next.certain_count = i + 1;
    } else {
      free(mask);
      mv_tensor_free(&key);
      mv_tensor_free(&value);
    }
  }
  float *scratch = malloc(frame_floats(&next) * sizeof *scratch);
  if (s == MV_OK && !scratch) s = mv_fail(MV_E_MEMORY, "snapshot: out of memory");
  if (s == MV_OK)
    s = mv_prob_store_init(&next.prob, e->config.frames, head[1] + 1, plane_floats(e),
                           e->config.host_bytes);
  else
    next.prob.data = NULL;
  if (s == MV_OK) s = mv_prob_store_import(&next.prob, r, scratch);
  free(scratch);
  /* Free whichever state is dropped: the old one on success, else the new. */
  mv_engine *drop = s == MV_OK ? e : &next;
  for (int i = 0; i < drop->certain_count; i++) {
    mv_tensor_free(&drop->certain_keys[i]);
    mv_tensor_free(&drop->certain_values[i]);
    free(drop->certain_masks[i]);
  }
  free(drop->certain_keys);
  free(drop->certain_values);
  free(drop->certain_frames);
  free(drop->certain_masks);
  free(drop->certain_interacted);
  free(drop->interacted);
  mv_prob_store_free(&drop->prob);
  if (s == MV_OK) *e = next;
  return s;
}
