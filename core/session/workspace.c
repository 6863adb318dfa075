/* Workspaces: a folder that keeps a session's work as it happens (manifest,
 * interaction log, the masks of every frame, snapshots), and reopening it:
 * snapshot + replay of the log after it. See "workspaces" in mivos.h. */
#define _GNU_SOURCE
#include "session/workspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "io/atomic_file.h"
#include "io/video_internal.h"
#include "session/session_internal.h"
#include "session/snapshot.h"
#include "session/workspace_log.h"

enum { PATH_BYTES = 4096 };

struct mv_workspace {
  char *dir;
  mv_log log;
  uint32_t video_hash;
  int frames, width, height;
  uint32_t *mask_crc;       /* per frame: CRC-32 of the labels on disk */
  uint8_t *mask_known;      /* per frame: mask_crc is valid */
  uint8_t *labels;          /* scratch, one frame */
};

static void join(char out[PATH_BYTES], const char *dir, const char *name) {
  snprintf(out, PATH_BYTES, "%s/%s", dir, name);
}

void mv_workspace_free(mv_workspace *w) {
  if (!w) return;
  mv_log_close(&w->log);
  free(w->dir);
  free(w->mask_crc);
  free(w->mask_known);
  free(w->labels);
  free(w);
}

/* ---- the manifest ---- */

static mv_status frames_hash(mv_video *video, int frame_count, int width, int height,
                             uint32_t *hash) {
  int picks[3] = {0, frame_count / 2, frame_count - 1};
  unsigned long crc = crc32(0L, Z_NULL, 0);
  for (int i = 0; i < 3; i++) {
    const uint8_t *rgb;
    MV_TRY(mv_video_frame(video, picks[i], &rgb));
    crc = crc32(crc, rgb, (uInt)((size_t)width * height * 3));
  }
  *hash = (uint32_t)crc;
  return MV_OK;
}

/* What the session is now, as a manifest. */
static mv_status describe_session(mv_session *s, mv_workspace_manifest *m) {
  memset(m, 0, sizeof *m);
  mv_video *video = mv_session_video(s);
  mv_video_info vi;
  mv_session_info si;
  MV_TRY(mv_video_get_info(video, &vi));
  MV_TRY(mv_session_get_info(s, &si));
  snprintf(m->video, sizeof m->video, "%s", video->path);
  m->frame_count = vi.frame_count;
  m->width = vi.width;
  m->height = vi.height;
  m->source_width = vi.source_width;
  m->source_height = vi.source_height;
  MV_TRY(frames_hash(video, vi.frame_count, vi.width, vi.height, &m->frames_hash));
  m->objects = si.objects;
  m->memory_every = mv_engine_memory_every(mv_session_engine(s));
  snprintf(m->interaction, sizeof m->interaction, "%s", si.interaction);
  snprintf(m->propagation, sizeof m->propagation, "%s", si.propagation);
  snprintf(m->fusion, sizeof m->fusion, "%s", si.fusion);
  const char *weights = mv_session_weights(s);
  snprintf(m->weights, sizeof m->weights, "%s", weights ? weights : "");
  return MV_OK;
}

static mv_status write_manifest(const char *dir, const mv_workspace_manifest *m) {
  mv_text t = {0};
  mv_text_printf(&t, "{\n  \"format\": \"mivos-workspace\",\n  \"version\": 1,\n  \"video\": {\"path\": ");
  mv_text_put_string(&t, m->video);
  mv_text_printf(&t, ", \"frames\": %d, \"width\": %d, \"height\": %d, \"source_width\": %d, "
                 "\"source_height\": %d, \"frames_crc32\": %u},\n", m->frame_count, m->width,
                 m->height, m->source_width, m->source_height, m->frames_hash);
  mv_text_printf(&t, "  \"session\": {\"objects\": %d, \"memory_every\": %d, \"interaction\": ",
                 m->objects, m->memory_every);
  mv_text_put_string(&t, m->interaction);
  mv_text_printf(&t, ", \"propagation\": ");
  mv_text_put_string(&t, m->propagation);
  mv_text_printf(&t, ", \"fusion\": ");
  mv_text_put_string(&t, m->fusion);
  mv_text_printf(&t, ", \"weights\": ");
  if (m->weights[0]) mv_text_put_string(&t, m->weights);
  else mv_text_printf(&t, "null");
  mv_text_printf(&t, "}\n}\n");
  char path[PATH_BYTES];
  join(path, dir, "manifest.json");
  if (t.failed) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  mv_status st = mv_atomic_write_all("mv_session_attach", path, t.data, t.length);
  mv_text_free(&t);
  return st;
}

static mv_status manifest_int(const mv_json *root, const char *key, const char *path, int *out) {
  const mv_json *v = mv_json_path(root, key);
  if (!v || v->type != MV_JSON_NUMBER)
    return mv_fail(MV_E_FORMAT, "%s: not a mivos workspace manifest (no number \"%s\")", path, key);
  *out = (int)v->number;
  return MV_OK;
}

static mv_status manifest_string(const mv_json *root, const char *key, const char *path,
                                 char *out, size_t capacity) {
  const mv_json *v = mv_json_path(root, key);
  if (v && v->type == MV_JSON_NULL) {
    out[0] = '\0';
    return MV_OK;
  }
  if (!v || v->type != MV_JSON_STRING || v->length >= capacity)
    return mv_fail(MV_E_FORMAT, "%s: not a mivos workspace manifest (no string \"%s\")", path, key);
  memcpy(out, v->string, v->length + 1);
  return MV_OK;
}

mv_status mv_workspace_read_manifest(const char *dir, mv_workspace_manifest *m) {
  MV_CHECK_ARG(dir && m, "mv_workspace_read_manifest: NULL argument");
  memset(m, 0, sizeof *m);
  char path[PATH_BYTES];
  join(path, dir, "manifest.json");
  if (access(path, F_OK) != 0)
    return mv_fail(MV_E_IO, "%s: no workspace manifest (%s)", path, strerror(errno));
  mv_json *root = NULL;
  MV_TRY(mv_json_parse_file(path, &root));
  const mv_json *format = mv_json_get(root, "format");
  int version = 0, hash = 0;
  mv_status st = format && format->type == MV_JSON_STRING && !strcmp(format->string, "mivos-workspace")
                     ? MV_OK
                     : mv_fail(MV_E_FORMAT, "%s: not a mivos workspace manifest (no \"format\": "
                               "\"mivos-workspace\")", path);
  if (st == MV_OK) st = manifest_int(root, "version", path, &version);
  if (st == MV_OK && version != 1)
    st = mv_fail(MV_E_FORMAT, "%s: workspace version %d, this build reads version 1", path, version);
  if (st == MV_OK) st = manifest_string(root, "video/path", path, m->video, sizeof m->video);
  if (st == MV_OK) st = manifest_int(root, "video/frames", path, &m->frame_count);
  if (st == MV_OK) st = manifest_int(root, "video/width", path, &m->width);
  if (st == MV_OK) st = manifest_int(root, "video/height", path, &m->height);
  if (st == MV_OK) st = manifest_int(root, "video/source_width", path, &m->source_width);
  if (st == MV_OK) st = manifest_int(root, "video/source_height", path, &m->source_height);
  const mv_json *crc = mv_json_path(root, "video/frames_crc32");
  if (st == MV_OK && (!crc || crc->type != MV_JSON_NUMBER))
    st = mv_fail(MV_E_FORMAT, "%s: not a mivos workspace manifest (no \"video/frames_crc32\")", path);
  if (st == MV_OK) m->frames_hash = (uint32_t)crc->number;
  (void)hash;
  if (st == MV_OK) st = manifest_int(root, "session/objects", path, &m->objects);
  if (st == MV_OK) st = manifest_int(root, "session/memory_every", path, &m->memory_every);
  if (st == MV_OK)
    st = manifest_string(root, "session/interaction", path, m->interaction, sizeof m->interaction);
  if (st == MV_OK)
    st = manifest_string(root, "session/propagation", path, m->propagation, sizeof m->propagation);
  if (st == MV_OK) st = manifest_string(root, "session/fusion", path, m->fusion, sizeof m->fusion);
  if (st == MV_OK) st = manifest_string(root, "session/weights", path, m->weights, sizeof m->weights);
  mv_json_free(root);
  return st;
}

/* An existing workspace must be for this video and these modules. */
static mv_status check_manifest(const char *dir, const mv_workspace_manifest *have,
                                const mv_workspace_manifest *now) {
  int same_size = have->width == now->width && have->height == now->height;
  if (have->frame_count != now->frame_count || have->source_width != now->source_width ||
      have->source_height != now->source_height || (same_size && have->frames_hash != now->frames_hash))
    return mv_fail(MV_E_MISMATCH,
                   "%s: the workspace is for another video: %s (%d frames, coded %dx%d, frames "
                   "CRC-32 %08x), this one is %s (%d frames, coded %dx%d, CRC-32 %08x)",
                   dir, have->video, have->frame_count, have->source_width, have->source_height,
                   have->frames_hash, now->video, now->frame_count, now->source_width,
                   now->source_height, now->frames_hash);
  if (!same_size)
    return mv_fail(MV_E_MISMATCH, "%s: the workspace's log is at the working size %dx%d, the "
                   "video is opened at %dx%d (use the same short side)", dir, have->width,
                   have->height, now->width, now->height);
  if (strcmp(have->propagation, now->propagation) || strcmp(have->fusion, now->fusion) ||
      have->memory_every != now->memory_every)
    return mv_fail(MV_E_MISMATCH, "%s: the workspace was made with propagation '%s', fusion '%s', "
                   "memory every %d frames; this session has '%s', '%s', %d", dir,
                   have->propagation, have->fusion, have->memory_every, now->propagation,
                   now->fusion, now->memory_every);
  if (have->objects != now->objects)
    return mv_fail(MV_E_MISMATCH, "%s: the workspace's session started with %d objects, this one "
                   "with %d", dir, have->objects, now->objects);
  return MV_OK;
}

/* ---- masks on disk ---- */

/* Writes the label map of every frame in first..last whose labels differ
 * from what was written last (all of them the first time). */
static mv_status write_masks(mv_workspace *w, mv_session *s, int first, int last) {
  for (int t = first; t <= last; t++) {
    MV_TRY(mv_session_labels(s, t, w->labels));
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), w->labels, (uInt)((size_t)w->width * w->height));
    if (w->mask_known[t] && w->mask_crc[t] == crc) continue;
    char name[64], path[PATH_BYTES];
    snprintf(name, sizeof name, "masks/%05d.png", t);
    join(path, w->dir, name);
    MV_TRY(mv_mask_write_labels(path, w->labels, w->width, w->height));
    w->mask_crc[t] = crc;
    w->mask_known[t] = 1;
  }
  return MV_OK;
}

/* ---- logging ---- */

static mv_status write_input(mv_workspace *w, const uint8_t *map, int binary, const char *suffix,
                             char name[64]) {
  char path[PATH_BYTES];
  snprintf(name, 64, "inputs/%06d-%s.png", w->log.entries, suffix);
  join(path, w->dir, name);
  return binary ? mv_mask_write_binary(path, map, w->width, w->height)
                : mv_mask_write_labels(path, map, w->width, w->height);
}

mv_status mv_workspace_propagation_started(mv_session *s, int frame) {
  mv_workspace *w = mv_session_workspace(s);
  if (!w) return MV_OK;
  char path[PATH_BYTES], text[32];
  join(path, w->dir, "propagating");
  int n = snprintf(text, sizeof text, "%d\n", frame);
  return mv_atomic_write_all("mv_session_propagate", path, text, (size_t)n);
}

mv_status mv_workspace_frame_done(mv_session *s, int frame) {
  mv_workspace *w = mv_session_workspace(s);
  return w ? write_masks(w, s, frame, frame) : MV_OK;
}

mv_status mv_workspace_record(mv_session *s, const mv_log_entry *entry) {
  mv_workspace *w = mv_session_workspace(s);
  if (!w) return MV_OK;
  /* An open propagation run goes to the log first and ends: its steps came
   * before this operation, and no later step may follow it (the log could
   * not put that step back in its place). */
  if (entry->kind != MV_LOG_PROPAGATE) MV_TRY(mv_session_end_run(s));
  mv_log_entry e = *entry;
  mv_session_info info;
  MV_TRY(mv_session_get_info(s, &info));
  if (e.kind == MV_LOG_SCRIBBLE || e.kind == MV_LOG_CLICK || e.kind == MV_LOG_MAPS ||
      e.kind == MV_LOG_BOX)
    e.interaction = info.interaction;
  char names[2][64];
  const char *inputs[2] = {NULL, NULL};
  mv_status st = MV_OK;
  if (e.kind == MV_LOG_LABELS || e.kind == MV_LOG_OBJECT_MASK) {
    st = e.kind == MV_LOG_LABELS ? write_input(w, e.labels, 0, "labels", names[0])
                                 : write_input(w, e.labels, 1, "object", names[0]);
    inputs[0] = names[0];
  } else if (e.kind == MV_LOG_MAPS) {
    if (e.positive_map && st == MV_OK) st = write_input(w, e.positive_map, 1, "positive", names[0]);
    if (e.positive_map) inputs[0] = names[0];
    if (e.negative_map && st == MV_OK) st = write_input(w, e.negative_map, 1, "negative", names[1]);
    if (e.negative_map) inputs[1] = names[1];
  }
  mv_text t = {0};
  if (st == MV_OK) mv_log_entry_json(&e, inputs, &t);
  if (st == MV_OK && t.failed) st = mv_fail(MV_E_MEMORY, "workspace: out of memory");
  if (st == MV_OK) st = mv_log_append(&w->log, t.data);
  mv_text_free(&t);
  if (st != MV_OK)
    return mv_fail_context(st, "%s: the operation was done but could not be logged; the "
                           "workspace no longer matches the session", w->dir);
  int one_frame = e.kind == MV_LOG_SCRIBBLE || e.kind == MV_LOG_CLICK || e.kind == MV_LOG_DRAW ||
                  e.kind == MV_LOG_MAPS || e.kind == MV_LOG_LABELS || e.kind == MV_LOG_UNDO ||
                  e.kind == MV_LOG_RESET_FRAME || e.kind == MV_LOG_BOX ||
                  e.kind == MV_LOG_OBJECT_MASK;
  if (e.kind == MV_LOG_FORGET_MEMORY || e.kind == MV_LOG_CLEAR_MEMORY ||
      e.kind == MV_LOG_END_STROKES)
    return MV_OK;   /* no mask changed */
  st = one_frame ? write_masks(w, s, e.frame, e.frame) : write_masks(w, s, 0, w->frames - 1);
  if (st == MV_OK && e.kind == MV_LOG_PROPAGATE) {
    char path[PATH_BYTES];
    join(path, w->dir, "propagating");
    unlink(path);
  }
  return st;
}

/* ---- replay ---- */

static mv_status read_input(mv_workspace *w, const char *name, uint8_t **out) {
  *out = NULL;
  if (!name[0]) return MV_OK;
  char path[PATH_BYTES];
  join(path, w->dir, name);
  *out = malloc((size_t)w->width * w->height);
  if (!*out) return mv_fail(MV_E_MEMORY, "workspace: out of memory");
  mv_status st = mv_mask_read_labels(path, w->width, w->height, *out);
  if (st != MV_OK) {
    free(*out);
    *out = NULL;
  }
  return st;
}

/* The run again: the same request, as many steps as the log says (all of
 * them when it ran to the end). */
static mv_status replay_propagation(mv_session *s, const mv_log_entry *e) {
  mv_propagation_request request = {e->frame, e->direction, e->to, e->limit};
  mv_propagation_run *run = NULL;
  MV_TRY(mv_session_propagation_begin(s, &request, &run));
  mv_status st = MV_OK;
  int frame = -1, done = 0;
  for (int i = 0; !done && st == MV_OK && (e->frames < 0 || i < e->frames); i++)
    st = mv_session_propagation_step(run, &frame, &done);
  mv_status ended = mv_session_propagation_end(run);
  return st != MV_OK ? st : ended;
}

/* Runs one logged operation again. */
static mv_status replay(mv_workspace *w, mv_session *s, mv_log_read *r) {
  mv_log_entry *e = &r->entry;
  if (e->interaction) MV_TRY(mv_session_set_interaction(s, e->interaction));
  uint8_t *a = NULL, *b = NULL;
  mv_status st = MV_OK;
  switch (e->kind) {
  case MV_LOG_SCRIBBLE:
    return mv_session_scribble(s, e->frame, e->object, e->strokes, e->stroke_count, e->region);
  case MV_LOG_CLICK:
    return mv_session_click(s, e->frame, e->object, e->x, e->y, e->positive, e->region);
  case MV_LOG_DRAW:
    return mv_session_draw(s, e->frame, e->object, e->xy, e->count, e->brush, e->erase);
  case MV_LOG_MAPS:
    st = read_input(w, r->inputs[0], &a);
    if (st == MV_OK) st = read_input(w, r->inputs[1], &b);
    if (st == MV_OK) st = mv_session_interact_maps(s, e->frame, e->object, a, b, e->region);
    break;
  case MV_LOG_LABELS:
    st = read_input(w, r->inputs[0], &a);
    if (st == MV_OK) st = mv_session_set_labels(s, e->frame, a);
    break;
  case MV_LOG_PROPAGATE: return replay_propagation(s, e);
  case MV_LOG_BOX:
    return mv_session_box(s, e->frame, e->object, e->box[0], e->box[1], e->box[2], e->box[3]);
  case MV_LOG_OBJECT_MASK:
    st = read_input(w, r->inputs[0], &a);
    if (st == MV_OK) st = mv_session_set_object_mask(s, e->frame, e->object, a);
    break;
  case MV_LOG_FORGET_MEMORY: return mv_session_forget_memory(s, e->frame);
  case MV_LOG_CLEAR_MEMORY: return mv_session_clear_memory(s, e->keep_interacted);
  case MV_LOG_UNDO: return mv_session_undo(s, e->frame);
  case MV_LOG_END_STROKES: return mv_session_end_strokes(s);
  case MV_LOG_RESET_FRAME: return mv_session_reset_frame(s, e->frame);
  case MV_LOG_RESET_OBJECT: return mv_session_reset_object(s, e->object);
  case MV_LOG_DELETE_OBJECT: return mv_session_delete_object(s, e->object);
  case MV_LOG_ADD_OBJECT: {
    int id = 0;
    st = mv_session_add_object(s, &id);
    if (st == MV_OK && id != e->object)
      st = mv_fail(MV_E_FORMAT, "added object %d where the log says %d", id, e->object);
    break;
  }
  }
  free(a);
  free(b);
  return st;
}

/* ---- attach ---- */

static mv_status make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST) return MV_OK;
  return mv_fail(MV_E_IO, "%s: cannot create the folder: %s", path, strerror(errno));
}

/* 1 for a missing folder or one with nothing in it. */
static int is_empty_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return 1;
  if (!S_ISDIR(st.st_mode)) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *ent;
  while ((ent = readdir(d)))
    if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..")) n++;
  closedir(d);
  return n == 0;
}

static mv_status new_workspace(mv_workspace **out, const char *dir, const mv_workspace_manifest *m) {
  mv_workspace *w = calloc(1, sizeof *w);
  if (w) {
    w->log.fd = -1;
    w->dir = strdup(dir);
    w->frames = m->frame_count;
    w->width = m->width;
    w->height = m->height;
    w->video_hash = m->frames_hash;
    w->mask_crc = calloc((size_t)m->frame_count, sizeof *w->mask_crc);
    w->mask_known = calloc((size_t)m->frame_count, 1);
    w->labels = malloc((size_t)m->width * m->height);
  }
  if (!w || !w->dir || !w->mask_crc || !w->mask_known || !w->labels) {
    mv_workspace_free(w);
    return mv_fail(MV_E_MEMORY, "mv_session_attach: out of memory");
  }
  *out = w;
  return MV_OK;
}

static mv_status create_workspace(mv_workspace *w, const mv_workspace_manifest *m) {
  char path[PATH_BYTES];
  MV_TRY(make_dir(w->dir));
  join(path, w->dir, "masks");
  MV_TRY(make_dir(path));
  join(path, w->dir, "inputs");
  MV_TRY(make_dir(path));
  join(path, w->dir, "log.json");
  MV_TRY(mv_log_create(path, m->objects, m->interaction));
  int dropped;
  mv_json *tree = NULL;
  MV_TRY(mv_log_open(path, 1, &w->log, &tree, &dropped));
  mv_json_free(tree);
  /* The manifest last: a folder without one is not a workspace yet. */
  return write_manifest(w->dir, m);
}

/* Uses the snapshot when it was taken with a prefix of this log; returns
 * the number of entries it covers (0: none). A snapshot that does not read
 * or belongs to another log is an error (remove it to replay the log). */
static mv_status restore_snapshot(mv_workspace *w, mv_session *s, int entries, int *covered) {
  char path[PATH_BYTES], log_path[PATH_BYTES];
  join(path, w->dir, "snapshot.mvs");
  join(log_path, w->dir, "log.json");
  *covered = 0;
  if (access(path, F_OK) != 0) return MV_OK;
  mv_snapshot_log have;
  MV_TRY(mv_snapshot_peek(path, &have));
  uint64_t bytes = 0;
  uint32_t crc = 0;
  if (have.entries >= 0 && have.entries <= entries)
    MV_TRY(mv_log_prefix_crc(log_path, have.entries, &bytes, &crc));
  if (have.entries < 0 || have.entries > entries || have.bytes != bytes || have.crc != crc ||
      have.video_hash != w->video_hash)
    return mv_fail(MV_E_MISMATCH, "%s: the snapshot was not taken with this workspace's log "
                   "(%d entries, the log has %d); remove it to replay the log instead",
                   path, have.entries, entries);
  MV_TRY(mv_snapshot_load(s, path, NULL));
  *covered = have.entries;
  return MV_OK;
}

static mv_status open_workspace(mv_workspace *w, mv_session *s, mv_workspace_report *report) {
  char path[PATH_BYTES];
  join(path, w->dir, "log.json");
  mv_json *tree = NULL;
  mv_log probe;
  int dropped = 0;
  MV_TRY(mv_log_open(path, 0, &probe, &tree, &dropped));
  mv_log_close(&probe);
  const mv_json *rounds = mv_json_get(tree, "rounds");
  int count = (int)rounds->count;
  mv_session_info info;
  mv_status st = mv_session_get_info(s, &info);
  /* Everything is read and checked before the first operation runs. */
  mv_log_read *reads = calloc((size_t)count + 1, sizeof *reads);
  if (st == MV_OK && !reads) st = mv_fail(MV_E_MEMORY, "mv_session_attach: out of memory");
  for (int i = 0; i < count && st == MV_OK; i++) {
    st = mv_log_entry_parse(&rounds->items[i], path, i, &reads[i]);
    if (st == MV_OK && reads[i].entry.interaction)
      st = mv_session_set_interaction(s, reads[i].entry.interaction);
    if (st != MV_OK) mv_fail_context(st, "%s: entry %d", path, i + 1);
  }
  if (st == MV_OK) st = mv_session_set_interaction(s, info.interaction);
  int covered = 0;
  if (st == MV_OK) st = restore_snapshot(w, s, count, &covered);
  for (int i = covered; i < count && st == MV_OK; i++) {
    st = replay(w, s, &reads[i]);
    if (st != MV_OK) mv_fail_context(st, "%s: replaying entry %d (line %d)", path, i + 1, i + 2);
  }
  for (int i = 0; reads && i < count; i++) mv_log_read_free(&reads[i]);
  free(reads);
  mv_json_free(tree);
  tree = NULL;
  if (st == MV_OK) st = mv_session_set_interaction(s, info.interaction);
  if (st == MV_OK) st = mv_log_open(path, 1, &w->log, &tree, &dropped);
  mv_json_free(tree);
  if (st == MV_OK) st = write_masks(w, s, 0, w->frames - 1);
  if (st != MV_OK) return st;
  report->entries = count;
  report->from_snapshot = covered;
  report->replayed = count - covered;
  report->dropped_bytes = dropped;
  join(path, w->dir, "propagating");
  FILE *f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%d", &report->interrupted_frame) != 1) report->interrupted_frame = -1;
    fclose(f);
    unlink(path);
  }
  return MV_OK;
}

mv_status mv_session_attach(mv_session *s, const char *dir, mv_workspace_report *report) {
  MV_CHECK_ARG(s && dir && dir[0], "mv_session_attach: NULL argument");
  mv_workspace_report ignored;
  if (!report) report = &ignored;
  memset(report, 0, sizeof *report);
  report->interrupted_frame = -1;
  if (mv_session_workspace(s))
    return mv_fail(MV_E_STATE, "mv_session_attach: the session is already attached to %s",
                   mv_session_workspace(s)->dir);
  if (!mv_session_is_fresh(s))
    return mv_fail(MV_E_STATE, "mv_session_attach: %s: attach a workspace before the first "
                   "interaction (the log must hold everything the session did)", dir);
  mv_workspace_manifest now, have;
  MV_TRY(describe_session(s, &now));
  char path[PATH_BYTES];
  join(path, dir, "manifest.json");
  int exists = access(path, F_OK) == 0;
  if (!exists && !is_empty_dir(dir))
    return mv_fail(MV_E_STATE, "mv_session_attach: %s is not empty and is not a mivos workspace "
                   "(no manifest.json); give a new or empty folder", dir);
  if (exists) {
    MV_TRY(mv_workspace_read_manifest(dir, &have));
    MV_TRY(check_manifest(dir, &have, &now));
  }
  mv_workspace *w = NULL;
  MV_TRY(new_workspace(&w, dir, &now));
  mv_status st = exists ? open_workspace(w, s, report) : create_workspace(w, &now);
  if (st == MV_OK && !exists) st = write_masks(w, s, 0, w->frames - 1);
  if (st != MV_OK) {
    mv_workspace_free(w);
    return st;
  }
  mv_session_set_workspace(s, w);
  report->created = !exists;
  if (report->created)
    snprintf(report->message, sizeof report->message, "new workspace %s (%d frames)", dir,
             w->frames);
  else {
    char interrupted[160] = "";
    if (report->interrupted_frame >= 0)
      snprintf(interrupted, sizeof interrupted, "; a propagation from frame %d was running when "
               "the process ended: it is not in the log (run it again)", report->interrupted_frame);
    snprintf(report->message, sizeof report->message,
             "workspace %s: %d log entries restored (%d from the snapshot, %d replayed)%s%s", dir,
             report->entries, report->from_snapshot, report->replayed,
             report->dropped_bytes ? "; an incomplete last log line was dropped" : "",
             interrupted);
  }
  return MV_OK;
}

mv_status mv_session_detach(mv_session *s) {
  MV_CHECK_ARG(s, "mv_session_detach: session is NULL");
  mv_workspace_free(mv_session_workspace(s));
  mv_session_set_workspace(s, NULL);
  return MV_OK;
}

mv_status mv_session_snapshot(mv_session *s) {
  MV_CHECK_ARG(s, "mv_session_snapshot: session is NULL");
  mv_workspace *w = mv_session_workspace(s);
  if (!w) return mv_fail(MV_E_STATE, "mv_session_snapshot: no workspace attached");
  char path[PATH_BYTES], log_path[PATH_BYTES];
  join(path, w->dir, "snapshot.mvs");
  join(log_path, w->dir, "log.json");
  MV_TRY(mv_session_end_run(s));   /* an open run is logged; a snapshot holds none */
  mv_snapshot_log log = {w->log.entries, 0, 0, w->video_hash};
  MV_TRY(mv_log_prefix_crc(log_path, log.entries, &log.bytes, &log.crc));
  return mv_snapshot_save(s, path, &log);
}
