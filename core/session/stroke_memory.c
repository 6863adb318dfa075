/* The strokes given on one frame since its last reset (see stroke_memory.h). */
#include "session/stroke_memory.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void mv_stroke_memory_init(mv_stroke_memory *m, size_t pixels) {
  memset(m, 0, sizeof *m);
  m->frame = -1;
  m->pixels = pixels;
}

static void free_maps(mv_stroke_memory *m) {
  for (int k = 0; k < 256; k++) {
    free(m->positive[k]), free(m->negative[k]);
    m->positive[k] = m->negative[k] = NULL;
  }
}

void mv_stroke_memory_free(mv_stroke_memory *m) {
  free_maps(m);
  free(m->base), free(m->last);
  m->base = m->last = NULL;
  m->frame = -1;
}

void mv_stroke_memory_forget(mv_stroke_memory *m) {
  free_maps(m);
  m->frame = -1;
}

/* Does the memory hold `frame` with the labels its last stroke left? */
static int holds(const mv_stroke_memory *m, int frame, const uint8_t *labels) {
  return m->frame >= 0 && m->frame == frame && !memcmp(m->last, labels, m->pixels);
}

void mv_stroke_memory_input(const mv_stroke_memory *m, int frame, const uint8_t *labels,
                            int object, const uint8_t *positive, const uint8_t *negative,
                            uint8_t *positive_out, uint8_t *negative_out, float *previous) {
  const size_t n = m->pixels;
  const int held = holds(m, frame, labels);
  const uint8_t *old_pos = held ? m->positive[object] : NULL;
  const uint8_t *old_neg = held ? m->negative[object] : NULL;
  const uint8_t *base = held ? m->base : labels;
  for (size_t i = 0; i < n; i++) {
    int p = positive && positive[i], q = negative && negative[i];
    /* A new stroke replaces an old one of the other sign where they cross
     * (the robot's later-on-top); both signs new at once: both kept, the
     * backend's rule (negative wins) decides. */
    positive_out[i] = (uint8_t)(p || (!q && old_pos && old_pos[i]));
    negative_out[i] = (uint8_t)(q || (!p && old_neg && old_neg[i]));
    previous[i] = base[i] == object ? 1.0f : 0.0f;
  }
}

static mv_status keep_map(uint8_t **slot, const uint8_t *map, size_t n) {
  int any = 0;
  for (size_t i = 0; i < n && !any; i++) any = map[i] != 0;
  if (!any) {
    free(*slot);
    *slot = NULL;
    return MV_OK;
  }
  if (!*slot && !(*slot = malloc(n)))
    return mv_fail(MV_E_MEMORY, "session: out of memory (stroke memory)");
  memcpy(*slot, map, n);
  return MV_OK;
}

mv_status mv_stroke_memory_commit(mv_stroke_memory *m, int frame, const uint8_t *before,
                                  const uint8_t *after, int object, const uint8_t *positive,
                                  const uint8_t *negative) {
  const size_t n = m->pixels;
  if (!m->base) m->base = malloc(n);
  if (!m->last) m->last = malloc(n);
  if (!m->base || !m->last) {
    mv_stroke_memory_forget(m);
    return mv_fail(MV_E_MEMORY, "session: out of memory (stroke memory)");
  }
  if (!holds(m, frame, before)) {
    free_maps(m);
    memcpy(m->base, before, n);
    m->frame = frame;
  }
  mv_status st = keep_map(&m->positive[object], positive, n);
  if (st == MV_OK) st = keep_map(&m->negative[object], negative, n);
  if (st != MV_OK) {
    mv_stroke_memory_forget(m);   /* a later stroke starts a new group */
    return st;
  }
  memcpy(m->last, after, n);
  return MV_OK;
}

/* ---- snapshots ---- */

static void put_map(mv_snapshot_writer *w, const uint8_t *map, size_t n) {
  mv_snapshot_put_i32(w, map != NULL);
  if (map) mv_snapshot_put(w, map, n);
}

void mv_stroke_memory_export(const mv_stroke_memory *m, mv_snapshot_writer *w) {
  mv_snapshot_put_i32(w, m->frame);
  if (m->frame < 0) return;
  mv_snapshot_put(w, m->base, m->pixels);
  mv_snapshot_put(w, m->last, m->pixels);
  for (int k = 0; k < 256; k++) {
    put_map(w, m->positive[k], m->pixels);
    put_map(w, m->negative[k], m->pixels);
  }
}

static mv_status get_map(mv_snapshot_reader *r, size_t n, uint8_t **out) {
  int32_t present;
  *out = NULL;
  MV_TRY(mv_snapshot_get_range(r, 0, 1, &present, "stroke map flag"));
  if (!present) return MV_OK;
  if (!(*out = malloc(n))) return mv_fail(MV_E_MEMORY, "snapshot: out of memory (strokes)");
  mv_status st = mv_snapshot_get(r, *out, n, "stroke map");
  if (st != MV_OK) free(*out), *out = NULL;
  return st;
}

mv_status mv_stroke_memory_import(mv_stroke_memory *m, int frames, mv_snapshot_reader *r) {
  int32_t frame;
  MV_TRY(mv_snapshot_get_range(r, -1, frames - 1, &frame, "stroke memory frame"));
  mv_stroke_memory read;
  mv_stroke_memory_init(&read, m->pixels);
  mv_status st = MV_OK;
  if (frame >= 0) {
    read.frame = frame;
    read.base = malloc(m->pixels), read.last = malloc(m->pixels);
    st = read.base && read.last ? MV_OK : mv_fail(MV_E_MEMORY, "snapshot: out of memory (strokes)");
    if (st == MV_OK) st = mv_snapshot_get(r, read.base, m->pixels, "stroke memory base");
    if (st == MV_OK) st = mv_snapshot_get(r, read.last, m->pixels, "stroke memory labels");
    for (int k = 0; k < 256 && st == MV_OK; k++) {
      st = get_map(r, m->pixels, &read.positive[k]);
      if (st == MV_OK) st = get_map(r, m->pixels, &read.negative[k]);
    }
  }
  if (st != MV_OK) {
    mv_stroke_memory_free(&read);
    return st;
  }
  mv_stroke_memory_free(m);
  *m = read;
  return MV_OK;
}
