/* The interactive session: modules chosen by name, frames read lazily from
 * the video, interactions that change one frame at once (undoable), and
 * propagation + fusion through the engine. A frame interacted on holds a
 * "pending" label map until it is propagated from; the engine keeps the
 * probabilities of every frame. Object ids are stable: the engine numbers
 * its channels 1..K, the session maps them to the ids callers see (label
 * maps, pending maps and undo entries hold ids). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/backend_registry.h"
#include "interaction/interactor.h"
#include "interaction/raster.h"
#include "nets/preprocess.h"
#include "session/builtin_modules.h"
#include "session/engine.h"
#include "session/session_internal.h"
#include "session/stroke_memory.h"
#include "session/workspace.h"

enum { UNDO_DEPTH = 32, CLICK_RADIUS = 5, NAME_CAPACITY = 32 };

/* One frame's history: the pending label maps before each interaction
 * (NULL = "no pending map": the engine's result was shown). */
typedef struct undo_stack {
  uint8_t *entries[UNDO_DEPTH];
  int count;
} undo_stack;

struct mv_session {
  mv_video *video;
  int frames, width, height;
  mv_padding pad;
  char interaction[NAME_CAPACITY], propagation[NAME_CAPACITY], fusion[NAME_CAPACITY];
  mv_networks nets;      /* what the chosen modules need */
  mv_engine *engine;
  uint8_t **pending;     /* per frame h x w labels, NULL = none */
  undo_stack *undo;
  uint8_t *rgb;          /* the frame being interacted on (a copy) */
  int ids[256];          /* ids[c]: object id of engine channel c (ids[0] = 0) */
  uint8_t channel[256];  /* channel[id]: engine channel of an object id, 0 = none */
  int max_id;            /* highest id ever used (the next object gets max_id + 1) */
  mv_propagation_run *open_run;  /* the run the engine has open, if any */
  char *weights;         /* the weights folder (for a workspace manifest) */
  mv_workspace *workspace; /* logs every operation when attached */
  mv_stroke_memory strokes; /* the strokes since the frame's reset, for strokecut */
};

struct mv_propagation_run {
  mv_session *session;
  mv_engine_run *run;    /* NULL once ended by the session */
  int frame;
  mv_propagation_request request;  /* for the workspace log */
  int steps, finished;
};

/* The run as a workspace log entry: its request and, when it stopped
 * early, the frames it did. */
static mv_status log_run(const mv_propagation_run *run) {
  const mv_propagation_request *r = &run->request;
  return mv_workspace_record(run->session, &(mv_log_entry){.kind = MV_LOG_PROPAGATE, .frame = run->frame, .direction = r->direction, .to = r->to, .limit = r->count, .frames = run->finished ? -1 : run->steps});
}

/* Ends the open propagation run, if any (a new propagation, a memory or an
 * object change, closing; with a workspace any logged operation): its frames
 * done keep their results; its handle then reports MV_E_STATE until
 * mv_session_propagation_end frees it. */
static mv_status end_open_run(mv_session *s) {
  if (!s->open_run) return MV_OK;
  mv_status st = log_run(s->open_run);
  mv_engine_end(s->open_run->run);
  s->open_run->run = NULL;
  s->open_run = NULL;
  return st;
}

void mv_session_options_default(mv_session_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->objects = 1;
  o->memory_every = 5;
}

static mv_status frame_source(void *user, int frame, mv_tensor *out) {
  mv_session *s = user;
  const uint8_t *rgb;
  MV_TRY(mv_video_frame(s->video, frame, &rgb));
  return mv_preprocess_frame(rgb, s->height, s->width, s->pad, out);
}

/* With weights the default of a kind is its first module that needs them,
 * without its first weight-free one (s2m + network + network, or graphcut +
 * labelprop + linear). */
static const char *default_module(mv_module_kind kind, const char *weights) {
  int needs;
  const char *name;
  for (int i = 0; (name = mv_builtin_module(kind, i, &needs)); i++)
    if (needs == (weights != NULL)) return name;
  return mv_builtin_module(kind, 0, NULL);
}

static void copy_name(char *dst, const char *src) {
  snprintf(dst, NAME_CAPACITY, "%s", src);
}

/* Looks the chosen modules up in the built-in table, loads the networks
 * they need and builds them. */
static mv_status build_modules(mv_session *s, const mv_session_options *o,
                               mv_propagator *propagator, mv_fuser *fuser, int *has_fuser) {
  char names[128];
  const mv_builtin *prop = mv_builtin_find(MV_MODULE_PROPAGATION, s->propagation);
  const mv_builtin *fusion = mv_builtin_find(MV_MODULE_FUSION, s->fusion);
  if (!prop) {
    mv_builtin_names(MV_MODULE_PROPAGATION, names, sizeof names);
    return mv_fail(MV_E_ARGUMENT, "unknown propagation '%s' (expected %s)", s->propagation, names);
  }
  if (!fusion) {
    mv_builtin_names(MV_MODULE_FUSION, names, sizeof names);
    return mv_fail(MV_E_ARGUMENT, "unknown fusion '%s' (expected %s)", s->fusion, names);
  }
  const mv_builtin *interaction = mv_builtin_find(MV_MODULE_INTERACTION, s->interaction);
  unsigned interaction_nets = interaction ? interaction->networks : 0;
  if ((interaction_nets | prop->networks | fusion->networks) && !o->weights)
    return mv_fail(MV_E_ARGUMENT,
                   "the %s module needs the official weights: pass a weights folder",
                   interaction_nets ? s->interaction
                   : prop->networks ? "network propagation" : "network fusion");
  MV_TRY(mv_networks_load(&s->nets, interaction_nets | prop->networks | fusion->networks,
                          o->weights));
  MV_TRY(prop->propagator(&s->nets, propagator));
  *has_fuser = fusion->fuser != NULL;
  if (*has_fuser) {
    mv_status st = fusion->fuser(&s->nets, fuser);
    if (st != MV_OK) mv_propagator_destroy(propagator);
    return st;
  }
  return MV_OK;
}

mv_status mv_session_open(mv_video *video, const mv_session_options *options, mv_session **out) {
  MV_CHECK_ARG(out, "mv_session_open: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(video, "mv_session_open: video is NULL");
  mv_session_options o;
  mv_session_options_default(&o);
  if (options) o = *options;
  if (o.memory_every == 0) o.memory_every = 5;
  MV_CHECK_ARG(o.objects >= 1 && o.objects <= 255, "mv_session_open: objects must be 1..255, got %d",
               o.objects);
  MV_CHECK_ARG(o.memory_every >= 1, "mv_session_open: memory_every must be >= 1, got %d",
               o.memory_every);
  mv_video_info info;
  MV_TRY(mv_video_get_info(video, &info));
  mv_session *s = calloc(1, sizeof *s);
  if (!s) return mv_fail(MV_E_MEMORY, "mv_session_open: out of memory");
  s->video = video;
  s->frames = info.frame_count;
  s->width = info.width;
  s->height = info.height;
  s->pad = mv_padding_for(s->height, s->width, 16);
  for (int c = 0; c <= o.objects; c++) {
    s->ids[c] = c;
    s->channel[c] = (uint8_t)c;
  }
  s->max_id = o.objects;
  mv_stroke_memory_init(&s->strokes, (size_t)s->width * s->height);
  copy_name(s->interaction, o.interaction ? o.interaction : default_module(MV_MODULE_INTERACTION, o.weights));
  copy_name(s->propagation, o.propagation ? o.propagation : default_module(MV_MODULE_PROPAGATION, o.weights));
  copy_name(s->fusion, o.fusion ? o.fusion : default_module(MV_MODULE_FUSION, o.weights));
  s->pending = calloc((size_t)s->frames, sizeof *s->pending);
  s->undo = calloc((size_t)s->frames, sizeof *s->undo);
  s->rgb = malloc((size_t)s->width * s->height * 3);
  s->weights = o.weights ? strdup(o.weights) : NULL;
  mv_status st = s->pending && s->undo && s->rgb && (s->weights || !o.weights) ? MV_OK
                                                 : mv_fail(MV_E_MEMORY, "mv_session_open: out of memory");
  mv_propagator propagator = {0};
  mv_fuser fuser = {0};
  int has_fuser = 0;
  if (st == MV_OK) st = mv_session_set_interaction(s, s->interaction);
  if (st == MV_OK) st = build_modules(s, &o, &propagator, &fuser, &has_fuser);
  if (st == MV_OK) {
    size_t device_limit = o.device_memory_limit;
    if (!device_limit) {
      mv_device_info device;
      st = mv_device_current(&device);
      device_limit = (size_t)(device.global_memory / 2);
    }
    mv_engine_config config = {s->frames, o.objects, s->height, s->width, o.memory_every,
                               device_limit / 2, device_limit / 2,
                               o.host_memory_limit ? o.host_memory_limit : (size_t)4 << 30};
    if (st == MV_OK)
      st = mv_engine_create(&config, propagator, has_fuser ? &fuser : NULL, frame_source, s,
                            &s->engine);
    else
      mv_propagator_destroy(&propagator);
  }
  if (st != MV_OK) {
    mv_session_close(s);
    return st;
  }
  *out = s;
  return MV_OK;
}

static void clear_undo(undo_stack *u) {
  for (int i = 0; i < u->count; i++) free(u->entries[i]);
  u->count = 0;
}

void mv_session_close(mv_session *s) {
  if (!s) return;
  end_open_run(s);   /* logs the open run; a failure cannot be reported here */
  mv_engine_free(s->engine);
  for (int t = 0; s->pending && t < s->frames; t++) free(s->pending[t]);
  for (int t = 0; s->undo && t < s->frames; t++) clear_undo(&s->undo[t]);
  free(s->pending);
  free(s->undo);
  free(s->rgb);
  free(s->weights);
  mv_stroke_memory_free(&s->strokes);
  mv_workspace_free(s->workspace);
  mv_networks_free(&s->nets);
  free(s);
}

mv_status mv_session_get_info(const mv_session *s, mv_session_info *info) {
  MV_CHECK_ARG(s && info, "mv_session_get_info: NULL argument");
  memset(info, 0, sizeof *info);
  info->frame_count = s->frames;
  info->width = s->width;
  info->height = s->height;
  info->objects = mv_engine_objects(s->engine);
  info->interacted_frames = mv_engine_interacted_count(s->engine);
  copy_name(info->interaction, s->interaction);
  copy_name(info->propagation, s->propagation);
  copy_name(info->fusion, s->fusion);
  return MV_OK;
}

mv_status mv_session_set_interaction(mv_session *s, const char *name) {
  MV_CHECK_ARG(s && name, "mv_session_set_interaction: NULL argument");
  const mv_builtin *builtin = mv_builtin_find(MV_MODULE_INTERACTION, name);
  if (!builtin) {
    mv_interactor probe;
    MV_TRY(mv_backend_interactor(name, &probe));
    mv_interactor_destroy(&probe);
  }
  if (builtin && (builtin->networks & MV_NEEDS_S2M_NET) && !s->nets.s2m && s->engine)
    return mv_fail(MV_E_STATE, "interaction '%s' needs the session to be opened with weights",
                   name);
  if (name != s->interaction) copy_name(s->interaction, name);
  return MV_OK;
}

static mv_status check_frame(const mv_session *s, const char *fn, int frame) {
  if (frame < 0 || frame >= s->frames)
    return mv_fail(MV_E_ARGUMENT, "%s: frame %d outside 0..%d", fn, frame, s->frames - 1);
  return MV_OK;
}

/* "1, 2, 5" (the live object ids) into text. */
static void format_ids(const mv_session *s, char *text, size_t size) {
  int k = mv_engine_objects(s->engine);
  size_t used = 0;
  text[0] = 0;
  for (int c = 1; c <= k && used + 8 < size; c++)
    used += (size_t)snprintf(text + used, size - used, c > 1 ? ", %d" : "%d", s->ids[c]);
}

static mv_status check_object(const mv_session *s, const char *fn, int object) {
  if (object < 1 || object > 255 || !s->channel[object]) {
    char ids[1024];
    format_ids(s, ids, sizeof ids);
    return mv_fail(MV_E_ARGUMENT, "%s: object %d is not an object of the session (objects: %s)",
                   fn, object, ids);
  }
  return MV_OK;
}

mv_status mv_session_labels(mv_session *s, int frame, uint8_t *labels) {
  MV_CHECK_ARG(s && labels, "mv_session_labels: NULL argument");
  MV_TRY(check_frame(s, "mv_session_labels", frame));
  size_t n = (size_t)s->width * s->height;
  if (s->pending[frame]) {
    memcpy(labels, s->pending[frame], n);
    return MV_OK;
  }
  MV_TRY(mv_engine_labels(s->engine, frame, labels));
  for (size_t i = 0; i < n; i++) labels[i] = (uint8_t)s->ids[labels[i]];
  return MV_OK;
}

mv_status mv_session_probabilities(mv_session *s, int frame, int object, float *out) {
  MV_CHECK_ARG(s && out, "mv_session_probabilities: NULL argument");
  MV_TRY(check_frame(s, "mv_session_probabilities", frame));
  int k = mv_engine_objects(s->engine);
  if (object != 0) MV_TRY(check_object(s, "mv_session_probabilities", object));
  size_t n = (size_t)s->width * s->height;
  if (s->pending[frame]) {
    for (size_t i = 0; i < n; i++) out[i] = s->pending[frame][i] == object ? 1.0f : 0.0f;
    return MV_OK;
  }
  int H = s->height + s->pad.top + s->pad.bottom, W = s->width + s->pad.left + s->pad.right;
  float *all = malloc((size_t)(k + 1) * H * W * sizeof *all);
  if (!all) return mv_fail(MV_E_MEMORY, "mv_session_probabilities: out of memory");
  mv_status st = mv_engine_probabilities(s->engine, frame, all);
  const float *plane = all + (size_t)s->channel[object] * H * W;
  for (int y = 0; y < s->height && st == MV_OK; y++)
    memcpy(out + (size_t)y * s->width, plane + (size_t)(y + s->pad.top) * W + s->pad.left,
           (size_t)s->width * sizeof(float));
  free(all);
  return st;
}

/* Records the frame's current pending state for undo, then installs `labels`
 * (ownership taken) as its pending map. */
static void push_pending(mv_session *s, int frame, uint8_t *labels) {
  undo_stack *u = &s->undo[frame];
  if (u->count == UNDO_DEPTH) {
    free(u->entries[0]);
    memmove(u->entries, u->entries + 1, (UNDO_DEPTH - 1) * sizeof u->entries[0]);
    u->count--;
  }
  u->entries[u->count++] = s->pending[frame];
  s->pending[frame] = labels;
}

/* The same for every edit but a stroke: it ends the stroke group. */
static void set_pending(mv_session *s, int frame, uint8_t *labels) {
  mv_stroke_memory_forget(&s->strokes);
  push_pending(s, frame, labels);
}

static mv_status current_labels(mv_session *s, int frame, uint8_t **out) {
  *out = malloc((size_t)s->width * s->height);
  if (!*out) return mv_fail(MV_E_MEMORY, "session: out of memory");
  mv_status st = mv_session_labels(s, frame, *out);
  if (st != MV_OK) {
    free(*out);
    *out = NULL;
  }
  return st;
}

static mv_status make_interactor(mv_session *s, const char *name, int click,
                                 const mv_region *region, mv_interactor *out) {
  const mv_builtin *builtin = mv_builtin_find(MV_MODULE_INTERACTION, name);
  MV_TRY(builtin ? builtin->interactor(&s->nets, out) : mv_backend_interactor(name, out));
  if (click) MV_TRY(mv_interactor_click(*out, CLICK_RADIUS, out));
  if (region) {
    MV_CHECK_ARG(region->x0 <= region->x1 && region->y0 <= region->y1 && region->x0 >= 0 &&
                     region->y0 >= 0 && region->x1 < s->width && region->y1 < s->height &&
                     region->margin >= 0,
                 "session: region (%d,%d)-(%d,%d) margin %d is not inside the %dx%d frame",
                 region->x0, region->y0, region->x1, region->y1, region->margin, s->width,
                 s->height);
    MV_TRY(mv_interactor_local(*out, region->x0, region->y0, region->x1, region->y1,
                               region->margin, out));
  }
  return MV_OK;
}

/* Does the backend want every stroke since the frame's reset (the session's
 * stroke memory, stroke_memory.h)? The built-ins that say so. */
static int wants_all_strokes(const char *backend) {
  const mv_builtin *b = mv_builtin_find(MV_MODULE_INTERACTION, backend);
  return b && b->all_strokes;
}

/* Runs a backend for one object and merges its result into the frame's
 * labels: the object takes the pixels it now covers (p > 0.5) and gives the
 * ones it no longer covers back to the background. `prior` replaces the
 * object's current mask as the backend's previous mask (NULL: the current).
 * A backend that wants all strokes (and no prior or box) gets the strokes
 * since the frame's reset and the object's mask at the reset instead. */
static mv_status interact(mv_session *s, const char *fn, const char *backend, int frame,
                          int object, const uint8_t *positive, const uint8_t *negative,
                          const float *prior, int click, const mv_region *region,
                          const int *box) {
  MV_TRY(check_frame(s, fn, frame));
  MV_TRY(check_object(s, fn, object));
  size_t n = (size_t)s->width * s->height;
  const uint8_t *rgb;
  MV_TRY(mv_video_frame(s->video, frame, &rgb));
  memcpy(s->rgb, rgb, n * 3);
  uint8_t *labels = NULL;
  MV_TRY(current_labels(s, frame, &labels));
  const int all_strokes = !prior && !box && wants_all_strokes(backend);
  float *previous = malloc(n * sizeof *previous), *result = malloc(n * sizeof *result);
  uint8_t *strokes = all_strokes ? malloc(3 * n) : NULL; /* positive, negative, labels before */
  mv_status st = previous && result && (strokes || !all_strokes)
                     ? MV_OK : mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  if (st == MV_OK && all_strokes) {
    mv_stroke_memory_input(&s->strokes, frame, labels, object, positive, negative, strokes,
                           strokes + n, previous);
    positive = strokes, negative = strokes + n;
    memcpy(strokes + 2 * n, labels, n);
  }
  for (size_t i = 0; i < n && st == MV_OK && !all_strokes; i++)
    previous[i] = prior ? prior[i] : labels[i] == object ? 1.0f : 0.0f;
  mv_interactor interactor = {0};
  if (st == MV_OK) st = make_interactor(s, backend, click, region, &interactor);
  mv_interaction_input in = {s->rgb, s->width, s->height, previous, positive, negative, box};
  if (st == MV_OK) st = mv_interactor_run(&interactor, &in, result);
  mv_interactor_destroy(&interactor);
  if (st == MV_OK) {
    for (size_t i = 0; i < n; i++) {
      if (result[i] > 0.5f) labels[i] = (uint8_t)object;
      else if (labels[i] == object) labels[i] = 0;
    }
    if (all_strokes) push_pending(s, frame, labels);
    else set_pending(s, frame, labels);
    if (all_strokes)
      st = mv_stroke_memory_commit(&s->strokes, frame, strokes + 2 * n, labels, object, positive,
                                   negative);
    labels = NULL;
  } else {
    mv_fail_context(st, "%s: frame %d, object %d, backend '%s'", fn, frame, object, backend);
  }
  free(labels);
  free(previous);
  free(result);
  free(strokes);
  return st;
}

mv_status mv_session_interact_maps(mv_session *s, int frame, int object, const uint8_t *positive,
                                   const uint8_t *negative, const mv_region *region) {
  MV_CHECK_ARG(s, "mv_session_interact_maps: session is NULL");
  MV_TRY(interact(s, "mv_session_interact_maps", s->interaction, frame, object, positive,
                  negative, NULL, 0, region, NULL));
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_MAPS, .frame = frame, .object = object, .positive_map = positive, .negative_map = negative, .region = region});
}

mv_status mv_session_scribble(mv_session *s, int frame, int object, const mv_stroke *strokes,
                              int count, const mv_region *region) {
  MV_CHECK_ARG(s && (strokes || count == 0), "mv_session_scribble: NULL argument");
  MV_CHECK_ARG(count > 0, "mv_session_scribble: no strokes given");
  size_t n = (size_t)s->width * s->height;
  uint8_t *maps = calloc(3 * n, 1);   /* positive, negative, one stroke */
  if (!maps) return mv_fail(MV_E_MEMORY, "mv_session_scribble: out of memory");
  uint8_t *stroke = maps + 2 * n;
  mv_status st = MV_OK;
  for (int i = 0; i < count && st == MV_OK; i++) {
    if (!strokes[i].xy || strokes[i].count < 1) {
      st = mv_fail(MV_E_ARGUMENT, "mv_session_scribble: stroke %d has no points", i);
      break;
    }
    memset(stroke, 0, n);
    st = mv_raster_polyline(stroke, s->width, s->height, strokes[i].xy, strokes[i].count,
                            strokes[i].thickness > 0 ? strokes[i].thickness : 3.0f, 1);
    /* Later strokes on top of earlier ones of the other sign (as the
     * robot's maps, and as the same strokes given one per call). */
    uint8_t *mine = strokes[i].positive ? maps : maps + n;
    uint8_t *other = strokes[i].positive ? maps + n : maps;
    for (size_t p = 0; p < n && st == MV_OK; p++)
      if (stroke[p]) mine[p] = 1, other[p] = 0;
  }
  if (st == MV_OK)
    st = interact(s, "mv_session_scribble", s->interaction, frame, object, maps, maps + n, NULL,
                  0, region, NULL);
  free(maps);
  if (st == MV_OK) st = mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_SCRIBBLE, .frame = frame, .object = object, .strokes = strokes, .stroke_count = count, .region = region});
  return st;
}

mv_status mv_session_click(mv_session *s, int frame, int object, float x, float y, int positive,
                           const mv_region *region) {
  MV_CHECK_ARG(s, "mv_session_click: session is NULL");
  MV_CHECK_ARG(x >= 0 && y >= 0 && x < s->width && y < s->height,
               "mv_session_click: point (%g, %g) outside the %dx%d frame", x, y, s->width,
               s->height);
  size_t n = (size_t)s->width * s->height;
  uint8_t *map = calloc(n, 1);
  if (!map) return mv_fail(MV_E_MEMORY, "mv_session_click: out of memory");
  map[(size_t)y * s->width + (size_t)x] = 1;
  mv_status st = interact(s, "mv_session_click", s->interaction, frame, object,
                          positive ? map : NULL, positive ? NULL : map, NULL, 1, region, NULL);
  free(map);
  if (st == MV_OK) st = mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_CLICK, .frame = frame, .object = object, .x = x, .y = y, .positive = positive, .region = region});
  return st;
}

mv_status mv_session_draw(mv_session *s, int frame, int object, const float *xy, int count,
                          float brush_radius, int erase) {
  MV_CHECK_ARG(s && xy, "mv_session_draw: NULL argument");
  MV_CHECK_ARG(brush_radius >= 0, "mv_session_draw: brush radius %g is negative", brush_radius);
  MV_CHECK_ARG(count >= (brush_radius > 0 ? 1 : 3),
               "mv_session_draw: %d points (a polygon needs 3, a brush stroke 1)", count);
  size_t n = (size_t)s->width * s->height;
  uint8_t *map = calloc(n, 1);
  if (!map) return mv_fail(MV_E_MEMORY, "mv_session_draw: out of memory");
  mv_status st = brush_radius > 0
                     ? mv_raster_polyline(map, s->width, s->height, xy, count, 2 * brush_radius, 1)
                     : mv_raster_polygon(map, s->width, s->height, xy, count, 1);
  if (st == MV_OK)
    st = interact(s, "mv_session_draw", "freehand", frame, object, erase ? NULL : map,
                  erase ? map : NULL, NULL, 0, NULL, NULL);
  free(map);
  if (st == MV_OK) st = mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_DRAW, .frame = frame, .object = object, .xy = xy, .count = count, .brush = brush_radius, .erase = erase});
  return st;
}

mv_status mv_session_set_labels(mv_session *s, int frame, const uint8_t *labels) {
  MV_CHECK_ARG(s && labels, "mv_session_set_labels: NULL argument");
  MV_TRY(check_frame(s, "mv_session_set_labels", frame));
  size_t n = (size_t)s->width * s->height;
  for (size_t i = 0; i < n; i++)
    if (labels[i] && !s->channel[labels[i]]) {
      char ids[1024];
      format_ids(s, ids, sizeof ids);
      return mv_fail(MV_E_ARGUMENT,
                     "mv_session_set_labels: label %d at pixel (%zu, %zu) is not an object of the "
                     "session (objects: %s)",
                     labels[i], i % (size_t)s->width, i / (size_t)s->width, ids);
    }
  uint8_t *copy = malloc(n);
  if (!copy) return mv_fail(MV_E_MEMORY, "mv_session_set_labels: out of memory");
  memcpy(copy, labels, n);
  set_pending(s, frame, copy);
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_LABELS, .frame = frame, .labels = labels});
}

/* ---- propagation in steps ------------------------------------------------------ */

static const char *direction_name(int direction) {
  return direction == MV_FORWARD ? "forward" : direction == MV_BACKWARD ? "backward" : "both";
}

static mv_status check_request(const mv_session *s, const char *fn,
                               const mv_propagation_request *req) {
  MV_CHECK_ARG(req, "%s: request is NULL", fn);
  MV_TRY(check_frame(s, fn, req->frame));
  MV_CHECK_ARG(req->direction >= MV_FORWARD && req->direction <= MV_BOTH,
               "%s: direction %d is not MV_FORWARD (1), MV_BACKWARD (2) or MV_BOTH (3)", fn,
               req->direction);
  MV_CHECK_ARG(req->count >= 0, "%s: count %d is negative (0 = no limit)", fn, req->count);
  if (req->to == -1) return MV_OK;
  MV_CHECK_ARG(req->to >= 0 && req->to < s->frames, "%s: stop frame %d outside 0..%d (or -1)",
               fn, req->to, s->frames - 1);
  MV_CHECK_ARG(req->direction != MV_BOTH,
               "%s: a stop frame (%d) needs one direction, forward or backward", fn, req->to);
  MV_CHECK_ARG(req->direction == MV_FORWARD ? req->to >= req->frame : req->to <= req->frame,
               "%s: stop frame %d is not %s of frame %d", fn, req->to,
               req->direction == MV_FORWARD ? "at or after (forward)" : "at or before (backward)",
               req->frame);
  return MV_OK;
}

mv_status mv_session_propagation_begin(mv_session *s, const mv_propagation_request *req,
                                       mv_propagation_run **out) {
  const char *fn = "mv_session_propagation_begin";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(s, "%s: session is NULL", fn);
  MV_TRY(check_request(s, fn, req));
  MV_TRY(end_open_run(s));
  int frame = req->frame, k = mv_engine_objects(s->engine);
  size_t n = (size_t)s->width * s->height;
  uint8_t *labels = NULL;
  MV_TRY(current_labels(s, frame, &labels));
  float *mask = calloc((size_t)(k + 1) * n, sizeof *mask);
  mv_propagation_run *run = calloc(1, sizeof *run);
  mv_status st = mask && run ? MV_OK : mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  if (st == MV_OK) st = mv_workspace_propagation_started(s, frame);
  for (size_t i = 0; i < n && st == MV_OK; i++) mask[(size_t)s->channel[labels[i]] * n + i] = 1.0f;
  /* A frame with a pending map was edited: its entry is interacted memory. */
  if (st == MV_OK)
    st = mv_engine_begin(s->engine, frame, mask, s->pending[frame] != NULL, req->direction,
                         req->to, req->count, &run->run);
  if (st == MV_OK) {
    /* The engine now holds this frame's mask; keep the pending map as the
     * last undo entry so undo can bring it back for another round. */
    set_pending(s, frame, NULL);
    run->session = s;
    run->frame = frame;
    run->request = *req;
    s->open_run = run;
    *out = run;
  } else {
    mv_fail_context(st, "%s: frame %d, %s", fn, frame, direction_name(req->direction));
    free(run);
  }
  free(mask);
  free(labels);
  return st;
}

mv_status mv_session_propagation_step(mv_propagation_run *run, int *frame, int *done) {
  MV_CHECK_ARG(run && frame && done, "mv_session_propagation_step: NULL argument");
  *frame = -1;
  *done = 1;
  if (!run->run)
    return mv_fail(MV_E_STATE,
                   "mv_session_propagation_step: the propagation from frame %d was ended by a "
                   "later propagation, a memory or object change, or closing the session",
                   run->frame);
  mv_status st = mv_engine_step(run->run, frame, done);
  if (st == MV_OK && *frame >= 0) run->steps++;
  if (st == MV_OK && *done) run->finished = 1;
  /* the frame's mask goes to the workspace as soon as it is propagated */
  if (st == MV_OK && *frame >= 0) st = mv_workspace_frame_done(run->session, *frame);
  return st;
}

mv_status mv_session_propagation_progress(const mv_propagation_run *run, int *done, int *total) {
  MV_CHECK_ARG(run && done && total, "mv_session_propagation_progress: NULL argument");
  *done = run->run ? mv_engine_run_done(run->run) : 0;
  *total = run->run ? mv_engine_run_total(run->run) : 0;
  return MV_OK;
}

mv_status mv_session_propagation_end(mv_propagation_run *run) {
  if (!run) return MV_OK;
  mv_status st = MV_OK;
  if (run->run) {
    st = log_run(run);
    mv_engine_end(run->run);
    run->session->open_run = NULL;
  }
  free(run);
  return st;
}

mv_status mv_session_propagate_request(mv_session *s, const mv_propagation_request *req,
                                       mv_frame_progress_fn progress, void *user) {
  mv_propagation_run *run = NULL;
  MV_TRY(mv_session_propagation_begin(s, req, &run));
  mv_status st = MV_OK;
  int frame = -1, done = 0, count = 0, total = 0;
  while (!done && st == MV_OK) {
    st = mv_session_propagation_step(run, &frame, &done);
    if (st != MV_OK || frame < 0) break;
    mv_session_propagation_progress(run, &count, &total);
    if (progress && progress(user, frame, count, total)) break;
  }
  mv_status ended = mv_session_propagation_end(run);
  return st != MV_OK ? st : ended;
}

typedef struct progress_bridge {
  mv_progress_fn fn;
  void *user;
} progress_bridge;

static int bridge_progress(void *user, int frame, int done, int total) {
  (void)frame;
  const progress_bridge *b = user;
  return b->fn ? b->fn(b->user, done, total) : 0;
}

mv_status mv_session_propagate(mv_session *s, int frame, mv_progress_fn progress, void *user) {
  MV_CHECK_ARG(s, "mv_session_propagate: session is NULL");
  MV_TRY(check_frame(s, "mv_session_propagate", frame));
  mv_propagation_request req = {frame, MV_BOTH, -1, 0};
  progress_bridge bridge = {progress, user};
  return mv_session_propagate_request(s, &req, bridge_progress, &bridge);
}

mv_status mv_session_end_strokes(mv_session *s) {
  MV_CHECK_ARG(s, "mv_session_end_strokes: session is NULL");
  mv_stroke_memory_forget(&s->strokes);
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_END_STROKES});
}

mv_status mv_session_undo(mv_session *s, int frame) {
  MV_CHECK_ARG(s, "mv_session_undo: session is NULL");
  MV_TRY(check_frame(s, "mv_session_undo", frame));
  undo_stack *u = &s->undo[frame];
  if (!u->count) return mv_fail(MV_E_STATE, "mv_session_undo: frame %d has nothing to undo", frame);
  free(s->pending[frame]);
  s->pending[frame] = u->entries[--u->count];
  mv_stroke_memory_forget(&s->strokes);
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_UNDO, .frame = frame});
}

mv_status mv_session_reset_frame(mv_session *s, int frame) {
  MV_CHECK_ARG(s, "mv_session_reset_frame: session is NULL");
  MV_TRY(check_frame(s, "mv_session_reset_frame", frame));
  uint8_t *empty = calloc((size_t)s->width * s->height, 1);
  if (!empty) return mv_fail(MV_E_MEMORY, "mv_session_reset_frame: out of memory");
  set_pending(s, frame, empty);
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_RESET_FRAME, .frame = frame});
}

/* Applies map (old id -> new id, 0 = removed) to every pending map and undo
 * entry. */
static void relabel_maps(mv_session *s, const uint8_t *map) {
  size_t n = (size_t)s->width * s->height;
  for (int t = 0; t < s->frames; t++) {
    uint8_t *maps[UNDO_DEPTH + 1];
    int count = 0;
    if (s->pending[t]) maps[count++] = s->pending[t];
    for (int i = 0; i < s->undo[t].count; i++)
      if (s->undo[t].entries[i]) maps[count++] = s->undo[t].entries[i];
    for (int m = 0; m < count; m++)
      for (size_t i = 0; i < n; i++) maps[m][i] = map[maps[m][i]];
  }
}

/* Changes the engine's channels (source: new channel -> old channel, 0 =
 * new) and removes object `removed` (0: none) from the label maps. */
static mv_status remap(mv_session *s, int new_objects, const int *source, int removed) {
  MV_TRY(end_open_run(s));
  MV_TRY(mv_engine_remap_objects(s->engine, new_objects, source));
  mv_stroke_memory_forget(&s->strokes);
  if (removed) {
    uint8_t map[256];
    for (int i = 0; i < 256; i++) map[i] = (uint8_t)(i == removed ? 0 : i);
    relabel_maps(s, map);
  }
  return MV_OK;
}

mv_status mv_session_reset_object(mv_session *s, int object) {
  MV_CHECK_ARG(s, "mv_session_reset_object: session is NULL");
  MV_TRY(check_object(s, "mv_session_reset_object", object));
  int k = mv_engine_objects(s->engine), source[256];
  for (int j = 0; j <= k; j++) source[j] = j;
  source[s->channel[object]] = 0;
  MV_TRY(remap(s, k, source, object));
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_RESET_OBJECT, .object = object});
}

mv_status mv_session_add_object(mv_session *s, int *object) {
  MV_CHECK_ARG(s, "mv_session_add_object: session is NULL");
  int k = mv_engine_objects(s->engine), source[256];
  if (s->max_id >= 255)
    return mv_fail(MV_E_STATE, "mv_session_add_object: object ids 1..255 are used up (ids of "
                               "deleted objects are not reused)");
  for (int j = 0; j <= k; j++) source[j] = j;
  source[k + 1] = 0;
  MV_TRY(remap(s, k + 1, source, 0));
  int id = ++s->max_id;
  s->ids[k + 1] = id;
  s->channel[id] = (uint8_t)(k + 1);
  if (object) *object = id;
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_ADD_OBJECT, .object = id});
}

mv_status mv_session_delete_object(mv_session *s, int object) {
  MV_CHECK_ARG(s, "mv_session_delete_object: session is NULL");
  MV_TRY(check_object(s, "mv_session_delete_object", object));
  int k = mv_engine_objects(s->engine), source[256], c = s->channel[object];
  MV_CHECK_ARG(k > 1, "mv_session_delete_object: cannot delete the only object (reset it instead)");
  for (int j = 0; j < k; j++) source[j] = j < c ? j : j + 1;
  MV_TRY(remap(s, k - 1, source, object));
  /* Every other object keeps its id; the channels above c move down. */
  for (int j = c; j < k; j++) {
    s->ids[j] = s->ids[j + 1];
    s->channel[s->ids[j]] = (uint8_t)j;
  }
  s->ids[k] = 0;
  s->channel[object] = 0;
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_DELETE_OBJECT, .object = object});
}

mv_status mv_session_object_ids(const mv_session *s, int *ids, int capacity, int *count) {
  MV_CHECK_ARG(s && count, "mv_session_object_ids: NULL argument");
  MV_CHECK_ARG(capacity >= 0 && (ids || capacity == 0),
               "mv_session_object_ids: capacity %d without an ids array", capacity);
  int k = mv_engine_objects(s->engine);
  *count = k;
  for (int c = 1; c <= k && c <= capacity; c++) ids[c - 1] = s->ids[c];
  return MV_OK;
}

/* ---- prompts ------------------------------------------------------------------- */

mv_status mv_session_box(mv_session *s, int frame, int object, int x0, int y0, int x1, int y1) {
  const char *fn = "mv_session_box";
  MV_CHECK_ARG(s, "%s: session is NULL", fn);
  MV_TRY(check_frame(s, fn, frame));
  MV_TRY(check_object(s, fn, object));
  MV_CHECK_ARG(x0 >= 0 && y0 >= 0 && x0 <= x1 && y0 <= y1 && x1 < s->width && y1 < s->height,
               "%s: box (%d,%d)-(%d,%d) is not inside the %dx%d frame (inclusive x0 <= x1, "
               "y0 <= y1)",
               fn, x0, y0, x1, y1, s->width, s->height);
  size_t n = (size_t)s->width * s->height;
  uint8_t *outside = malloc(n);
  float *prior = malloc(n * sizeof *prior);
  mv_status st = outside && prior ? MV_OK : mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  /* GrabCut's rectangle: outside is certain background, the inside starts
   * as the object (the backend's previous mask). */
  for (size_t i = 0; i < n && st == MV_OK; i++) {
    int x = (int)(i % (size_t)s->width), y = (int)(i / (size_t)s->width);
    int inside = x >= x0 && x <= x1 && y >= y0 && y <= y1;
    outside[i] = (uint8_t)!inside;
    prior[i] = inside ? 1.0f : 0.0f;
  }
  const int box[4] = {x0, y0, x1, y1};
  if (st == MV_OK)
    st = interact(s, fn, s->interaction, frame, object, NULL, outside, prior, 0, NULL, box);
  free(outside);
  free(prior);
  if (st == MV_OK) st = mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_BOX, .frame = frame, .object = object, .box = {x0, y0, x1, y1}});
  return st;
}

mv_status mv_session_set_object_mask(mv_session *s, int frame, int object, const uint8_t *mask) {
  const char *fn = "mv_session_set_object_mask";
  MV_CHECK_ARG(s && mask, "%s: NULL argument", fn);
  MV_TRY(check_frame(s, fn, frame));
  MV_TRY(check_object(s, fn, object));
  uint8_t *labels = NULL;
  MV_TRY(current_labels(s, frame, &labels));
  size_t n = (size_t)s->width * s->height;
  for (size_t i = 0; i < n; i++) {
    if (mask[i]) labels[i] = (uint8_t)object;
    else if (labels[i] == object) labels[i] = 0;
  }
  set_pending(s, frame, labels);
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_OBJECT_MASK, .frame = frame, .object = object, .labels = mask});
}

/* ---- memory control ------------------------------------------------------------ */

mv_status mv_session_forget_memory(mv_session *s, int frame) {
  MV_CHECK_ARG(s, "mv_session_forget_memory: session is NULL");
  MV_TRY(check_frame(s, "mv_session_forget_memory", frame));
  MV_TRY(end_open_run(s));
  MV_TRY(mv_engine_forget(s->engine, frame));
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_FORGET_MEMORY, .frame = frame});
}

mv_status mv_session_clear_memory(mv_session *s, int keep_interacted) {
  MV_CHECK_ARG(s, "mv_session_clear_memory: session is NULL");
  MV_TRY(end_open_run(s));
  /* From the end: forgetting moves the later entries down. */
  for (int i = mv_engine_memory_count(s->engine) - 1; i >= 0; i--) {
    int frame, interacted;
    mv_engine_memory_entry(s->engine, i, &frame, &interacted);
    if (!(keep_interacted && interacted)) MV_TRY(mv_engine_forget(s->engine, frame));
  }
  return mv_workspace_record(s, &(mv_log_entry){.kind = MV_LOG_CLEAR_MEMORY, .keep_interacted = keep_interacted});
}

mv_status mv_session_memory_frames(const mv_session *s, int *frames, int *interacted,
                                   int capacity, int *count) {
  MV_CHECK_ARG(s && count, "mv_session_memory_frames: NULL argument");
  MV_CHECK_ARG(capacity >= 0 && (frames || capacity == 0),
               "mv_session_memory_frames: capacity %d without a frames array", capacity);
  *count = mv_engine_memory_count(s->engine);
  for (int i = 0; i < *count && i < capacity; i++) {
    int frame, flag;
    mv_engine_memory_entry(s->engine, i, &frame, &flag);
    frames[i] = frame;
    if (interacted) interacted[i] = flag;
  }
  return MV_OK;
}

/* ---- output at another size ---------------------------------------------------- */

/* All k + 1 probability planes of a frame at the working size (unpadded),
 * channels in engine order; a pending map gives one-hot planes. */
static mv_status frame_planes(mv_session *s, int frame, float *out) {
  int k = mv_engine_objects(s->engine);
  size_t n = (size_t)s->width * s->height;
  if (s->pending[frame]) {
    memset(out, 0, (size_t)(k + 1) * n * sizeof *out);
    for (size_t i = 0; i < n; i++) out[(size_t)s->channel[s->pending[frame][i]] * n + i] = 1.0f;
    return MV_OK;
  }
  int H = s->height + s->pad.top + s->pad.bottom, W = s->width + s->pad.left + s->pad.right;
  float *all = malloc((size_t)(k + 1) * H * W * sizeof *all);
  if (!all) return mv_fail(MV_E_MEMORY, "session: out of memory");
  mv_status st = mv_engine_probabilities(s->engine, frame, all);
  for (int c = 0; c <= k && st == MV_OK; c++)
    for (int y = 0; y < s->height; y++)
      memcpy(out + c * n + (size_t)y * s->width,
             all + ((size_t)c * H + (size_t)(y + s->pad.top)) * W + s->pad.left,
             (size_t)s->width * sizeof(float));
  free(all);
  return st;
}

/* Every channel's probabilities of a frame resized bilinearly to width x
 * height: (k + 1) planes into *out (allocated here). */
static mv_status resized_planes(mv_session *s, const char *fn, int frame, int width, int height,
                                float **out) {
  *out = NULL;
  MV_TRY(check_frame(s, fn, frame));
  MV_CHECK_ARG(width > 0 && height > 0 && width <= 65536 && height <= 65536,
               "%s: size %dx%d must be 1..65536 on each side", fn, width, height);
  int k = mv_engine_objects(s->engine);
  size_t n = (size_t)s->width * s->height, out_n = (size_t)width * height;
  float *planes = malloc((size_t)(k + 1) * n * sizeof *planes);
  float *resized = malloc((size_t)(k + 1) * out_n * sizeof *resized);
  mv_tensor x = {0}, y = {0};
  mv_status st = planes && resized ? MV_OK : mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  if (st == MV_OK) st = frame_planes(s, frame, planes);
  if (st == MV_OK) st = mv_tensor_new(&x, 1, k + 1, s->height, s->width);
  if (st == MV_OK) st = mv_tensor_upload(&x, planes);
  if (st == MV_OK) st = mv_resize_bilinear(&x, height, width, &y);
  if (st == MV_OK) st = mv_tensor_download(&y, resized);
  mv_tensor_free(&x);
  mv_tensor_free(&y);
  free(planes);
  if (st == MV_OK) *out = resized;
  else free(resized);
  return st;
}

mv_status mv_session_labels_resized(mv_session *s, int frame, int width, int height,
                                    uint8_t *labels) {
  MV_CHECK_ARG(s && labels, "mv_session_labels_resized: NULL argument");
  if (width == s->width && height == s->height) return mv_session_labels(s, frame, labels);
  float *resized = NULL;
  MV_TRY(resized_planes(s, "mv_session_labels_resized", frame, width, height, &resized));
  int k = mv_engine_objects(s->engine);
  size_t out_n = (size_t)width * height;
  for (size_t i = 0; i < out_n; i++) {
    int best = 0;
    for (int c = 1; c <= k; c++)
      if (resized[c * out_n + i] > resized[best * out_n + i]) best = c;
    labels[i] = (uint8_t)s->ids[best];
  }
  free(resized);
  return MV_OK;
}

mv_status mv_session_probabilities_resized(mv_session *s, int frame, int object, int width,
                                           int height, float *out) {
  const char *fn = "mv_session_probabilities_resized";
  MV_CHECK_ARG(s && out, "%s: NULL argument", fn);
  if (object != 0) MV_TRY(check_object(s, fn, object));
  if (width == s->width && height == s->height)
    return mv_session_probabilities(s, frame, object, out);
  float *resized = NULL;
  MV_TRY(resized_planes(s, fn, frame, width, height, &resized));
  size_t out_n = (size_t)width * height;
  memcpy(out, resized + (size_t)s->channel[object] * out_n, out_n * sizeof *out);
  free(resized);
  return MV_OK;
}

/* ---- for workspaces and snapshots (session_internal.h) ---- */

mv_engine *mv_session_engine(mv_session *s) { return s->engine; }
mv_video *mv_session_video(mv_session *s) { return s->video; }
const char *mv_session_weights(const mv_session *s) { return s->weights; }
mv_workspace *mv_session_workspace(const mv_session *s) { return s->workspace; }
void mv_session_set_workspace(mv_session *s, mv_workspace *w) { s->workspace = w; }
mv_status mv_session_end_run(mv_session *s) { return end_open_run(s); }

int mv_session_is_fresh(mv_session *s) {
  for (int t = 0; t < s->frames; t++)
    if (s->pending[t] || s->undo[t].count) return 0;
  return mv_engine_interacted_count(s->engine) == 0 && !s->open_run;
}

static void put_map(mv_snapshot_writer *w, const uint8_t *map, size_t n) {
  mv_snapshot_put_i32(w, map != NULL);
  if (map) mv_snapshot_put(w, map, n);
}

void mv_session_export_edits(const mv_session *s, mv_snapshot_writer *w) {
  size_t n = (size_t)s->width * s->height;
  int32_t ids[256];
  for (int c = 0; c < 256; c++) ids[c] = s->ids[c];
  mv_snapshot_put(w, ids, sizeof ids);
  mv_snapshot_put_i32(w, s->max_id);
  for (int t = 0; t < s->frames; t++) {
    put_map(w, s->pending[t], n);
    mv_snapshot_put_i32(w, s->undo[t].count);
    for (int i = 0; i < s->undo[t].count; i++) put_map(w, s->undo[t].entries[i], n);
  }
  mv_stroke_memory_export(&s->strokes, w);
}

static mv_status get_map(mv_snapshot_reader *r, size_t n, uint8_t **out) {
  int32_t present;
  *out = NULL;
  MV_TRY(mv_snapshot_get_range(r, 0, 1, &present, "label map flag"));
  if (!present) return MV_OK;
  if (!(*out = malloc(n))) return mv_fail(MV_E_MEMORY, "snapshot: out of memory");
  mv_status st = mv_snapshot_get(r, *out, n, "label map");
  if (st != MV_OK) free(*out), *out = NULL;
  return st;
}

mv_status mv_session_import_edits(mv_session *s, mv_snapshot_reader *r) {
  size_t n = (size_t)s->width * s->height;
  int32_t ids[256], max_id;
  MV_TRY(mv_snapshot_get(r, ids, sizeof ids, "object ids"));
  MV_TRY(mv_snapshot_get_range(r, 1, 255, &max_id, "highest object id"));
  for (int c = 0; c < 256; c++)
    if (ids[c] < 0 || ids[c] > max_id)
      return mv_fail(MV_E_FORMAT, "%s: damaged snapshot: object id %d", r->path, ids[c]);
  uint8_t **pending = calloc((size_t)s->frames, sizeof *pending);
  undo_stack *undo = calloc((size_t)s->frames, sizeof *undo);
  mv_status st = pending && undo ? MV_OK : mv_fail(MV_E_MEMORY, "snapshot: out of memory");
  for (int t = 0; t < s->frames && st == MV_OK; t++) {
    int32_t count = 0;
    st = get_map(r, n, &pending[t]);
    if (st == MV_OK) st = mv_snapshot_get_range(r, 0, UNDO_DEPTH, &count, "undo depth");
    for (int i = 0; i < count && st == MV_OK; i++) {
      st = get_map(r, n, &undo[t].entries[i]);
      undo[t].count = i + 1;
    }
  }
  mv_stroke_memory strokes;
  mv_stroke_memory_init(&strokes, n);
  if (st == MV_OK && r->version >= 2) st = mv_stroke_memory_import(&strokes, s->frames, r);
  for (int t = 0; t < s->frames; t++) {   /* the old maps on success, the new ones on failure */
    uint8_t **p = st == MV_OK ? s->pending : pending;
    undo_stack *u = st == MV_OK ? s->undo : undo;
    if (!p || !u) break;
    free(p[t]);
    clear_undo(&u[t]);
  }
  if (st == MV_OK) {
    free(s->pending);
    free(s->undo);
    s->pending = pending;
    s->undo = undo;
    memset(s->channel, 0, sizeof s->channel);
    for (int c = 0; c < 256; c++) {
      s->ids[c] = ids[c];
      if (c > 0 && ids[c] > 0) s->channel[ids[c]] = (uint8_t)c;
    }
    s->max_id = max_id;
    mv_stroke_memory_free(&s->strokes);
    s->strokes = strokes;
  } else {
    free(pending);
    free(undo);
    mv_stroke_memory_free(&strokes);
  }
  return st;
}
