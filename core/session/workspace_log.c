/* The workspace's interaction log: creating, appending (one write + fdatasync
 * per entry), reading back with recovery of a torn last line, and the
 * conversion of operations to rounds-file entries and back. */
#define _GNU_SOURCE
#include "session/workspace_log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "io/atomic_file.h"

static const char TRAILER[] = "\n]}\n";
enum { TRAILER_BYTES = 4 };

void mv_text_printf(mv_text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list args;
    va_start(args, fmt);
    size_t room = t->capacity - t->length;
    int n = vsnprintf(t->data ? t->data + t->length : NULL, t->data ? room : 0, fmt, args);
    va_end(args);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if (t->data && (size_t)n < room) {
      t->length += (size_t)n;
      return;
    }
    size_t capacity = t->capacity ? t->capacity : 1024;
    while (capacity < t->length + (size_t)n + 1) capacity *= 2;
    char *grown = realloc(t->data, capacity);
    if (!grown) {
      t->failed = 1;
      return;
    }
    t->data = grown;
    t->capacity = capacity;
  }
}

void mv_text_free(mv_text *t) {
  free(t->data);
  memset(t, 0, sizeof *t);
}

void mv_text_put_string(mv_text *t, const char *s) {
  mv_text_printf(t, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') mv_text_printf(t, "\\%c", c);
    else if (c < 0x20) mv_text_printf(t, "\\u%04x", c);
    else mv_text_printf(t, "%c", c);
  }
  mv_text_printf(t, "\"");
}

/* %.9g reads back to the same float. */
static void put_float(mv_text *t, float v) { mv_text_printf(t, "%.9g", (double)v); }

static void put_region(mv_text *t, const mv_region *r) {
  if (r) mv_text_printf(t, ", \"region\": [%d, %d, %d, %d], \"margin\": %d", r->x0, r->y0, r->x1,
                        r->y1, r->margin);
}

static void put_points(mv_text *t, const float *xy, int count) {
  mv_text_printf(t, "[");
  for (int i = 0; i < 2 * count; i++) {
    if (i) mv_text_printf(t, ", ");
    put_float(t, xy[i]);
  }
  mv_text_printf(t, "]");
}

void mv_log_entry_json(const mv_log_entry *e, const char *const inputs[2], mv_text *t) {
  switch (e->kind) {
  case MV_LOG_SCRIBBLE:
  case MV_LOG_CLICK:
  case MV_LOG_MAPS:
    mv_text_printf(t, "{\"frame\": %d, \"object\": %d, \"interaction\": ", e->frame, e->object);
    mv_text_put_string(t, e->interaction ? e->interaction : "");
    if (e->kind == MV_LOG_SCRIBBLE) {
      mv_text_printf(t, ", \"scribbles\": [");
      for (int i = 0; i < e->stroke_count; i++) {
        const mv_stroke *s = &e->strokes[i];
        mv_text_printf(t, "%s{\"points\": ", i ? ", " : "");
        put_points(t, s->xy, s->count);
        mv_text_printf(t, ", \"positive\": %s, \"thickness\": ", s->positive ? "true" : "false");
        put_float(t, s->thickness > 0 ? s->thickness : 3.0f);
        mv_text_printf(t, "}");
      }
      mv_text_printf(t, "]");
    } else if (e->kind == MV_LOG_CLICK) {
      mv_text_printf(t, ", \"clicks\": [{\"x\": ");
      put_float(t, e->x);
      mv_text_printf(t, ", \"y\": ");
      put_float(t, e->y);
      mv_text_printf(t, ", \"positive\": %s}]", e->positive ? "true" : "false");
    } else {
      mv_text_printf(t, ", \"maps\": {\"positive\": ");
      if (inputs[0]) mv_text_put_string(t, inputs[0]); else mv_text_printf(t, "null");
      mv_text_printf(t, ", \"negative\": ");
      if (inputs[1]) mv_text_put_string(t, inputs[1]); else mv_text_printf(t, "null");
      mv_text_printf(t, "}");
    }
    put_region(t, e->region);
    mv_text_printf(t, "}");
    break;
  case MV_LOG_DRAW:
    mv_text_printf(t, "{\"frame\": %d, \"object\": %d, \"polygon\": ", e->frame, e->object);
    put_points(t, e->xy, e->count);
    mv_text_printf(t, ", \"brush\": ");
    put_float(t, e->brush);
    mv_text_printf(t, ", \"erase\": %s}", e->erase ? "true" : "false");
    break;
  case MV_LOG_LABELS:
    mv_text_printf(t, "{\"frame\": %d, \"mask\": ", e->frame);
    mv_text_put_string(t, inputs[0]);
    mv_text_printf(t, "}");
    break;
  case MV_LOG_OBJECT_MASK:
    mv_text_printf(t, "{\"frame\": %d, \"object\": %d, \"object_mask\": ", e->frame, e->object);
    mv_text_put_string(t, inputs[0]);
    mv_text_printf(t, "}");
    break;
  case MV_LOG_BOX:
    mv_text_printf(t, "{\"frame\": %d, \"object\": %d, \"interaction\": ", e->frame, e->object);
    mv_text_put_string(t, e->interaction ? e->interaction : "");
    mv_text_printf(t, ", \"box\": [%d, %d, %d, %d]}", e->box[0], e->box[1], e->box[2], e->box[3]);
    break;
  case MV_LOG_FORGET_MEMORY:
    mv_text_printf(t, "{\"frame\": %d, \"forget_memory\": true}", e->frame);
    break;
  case MV_LOG_CLEAR_MEMORY:
    mv_text_printf(t, "{\"clear_memory\": true, \"keep_interacted\": %s}",
                   e->keep_interacted ? "true" : "false");
    break;
  case MV_LOG_PROPAGATE:
    mv_text_printf(t, "{\"frame\": %d, \"propagate\": true", e->frame);
    if (e->direction == 1 || e->direction == 2)
      mv_text_printf(t, ", \"direction\": \"%s\"", e->direction == 1 ? "forward" : "backward");
    if (e->to >= 0) mv_text_printf(t, ", \"to\": %d", e->to);
    if (e->limit > 0) mv_text_printf(t, ", \"count\": %d", e->limit);
    if (e->frames >= 0) mv_text_printf(t, ", \"frames\": %d", e->frames);
    mv_text_printf(t, "}");
    break;
  case MV_LOG_UNDO: mv_text_printf(t, "{\"frame\": %d, \"undo\": 1}", e->frame); break;
  case MV_LOG_END_STROKES: mv_text_printf(t, "{\"end_strokes\": true}"); break;
  case MV_LOG_RESET_FRAME: mv_text_printf(t, "{\"frame\": %d, \"reset\": true}", e->frame); break;
  case MV_LOG_RESET_OBJECT: mv_text_printf(t, "{\"reset_object\": %d}", e->object); break;
  case MV_LOG_ADD_OBJECT: mv_text_printf(t, "{\"add_object\": %d}", e->object); break;
  case MV_LOG_DELETE_OBJECT: mv_text_printf(t, "{\"delete_object\": %d}", e->object); break;
  }
}

/* ---- the file ---- */

mv_status mv_log_create(const char *path, int objects, const char *interaction) {
  mv_text t = {0};
  mv_text_printf(&t, "{\"_mivos_log\": 1, \"objects\": %d, \"interaction\": ", objects);
  mv_text_put_string(&t, interaction);
  mv_text_printf(&t, ", \"rounds\": [%s", TRAILER);
  if (t.failed) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  mv_status st = mv_atomic_write_all("mv_session_attach", path, t.data, t.length);
  mv_text_free(&t);
  return st;
}

static mv_status read_text(const char *path, char **text, size_t *size) {
  *text = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return mv_fail(MV_E_IO, "%s: cannot open the log: %s", path, strerror(errno));
  long length = -1;
  if (fseek(f, 0, SEEK_END) == 0) length = ftell(f);
  rewind(f);
  *text = length >= 0 ? malloc((size_t)length + 1) : NULL;
  size_t got = *text ? fread(*text, 1, (size_t)length, f) : 0;
  fclose(f);
  if (!*text || got != (size_t)length) {
    free(*text);
    *text = NULL;
    return mv_fail(MV_E_IO, "%s: cannot read the log", path);
  }
  (*text)[got] = '\0';
  *size = got;
  return MV_OK;
}

static size_t log_prefix(const char *text, size_t size, int count) {
  /* Entry i ends where line i + 2 ends (the header is line 1); without its
   * separating comma. */
  size_t pos = 0;
  for (int line = 0; line <= count && pos < size; line++) {
    const char *nl = memchr(text + pos, '\n', size - pos);
    if (!nl) return size;
    pos = (size_t)(nl - text) + 1;
  }
  size_t end = pos ? pos - 1 : 0;   /* the newline of the last line counted */
  if (count > 0 && end > 0 && text[end - 1] == ',') end--;
  return end;
}

mv_status mv_log_prefix_crc(const char *path, int count, uint64_t *bytes, uint32_t *crc) {
  char *text;
  size_t size;
  MV_TRY(read_text(path, &text, &size));
  size_t n = log_prefix(text, size, count);
  *bytes = n;
  *crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)n);
  free(text);
  return MV_OK;
}

/* Parses the log. A text that does not end with the trailer had its last
 * write cut short: the text up to one of its last lines, closed again, is
 * what was complete (*repaired receives it, *dropped the bytes cut). */
static mv_status parse_log(const char *path, const char *text, size_t size, mv_json **tree,
                           char **repaired, size_t *repaired_size, int *dropped) {
  *dropped = 0;
  *repaired = NULL;
  mv_status whole = mv_json_parse(text, size, path, tree);
  if (whole == MV_OK ||
      (size >= TRAILER_BYTES && memcmp(text + size - TRAILER_BYTES, TRAILER, TRAILER_BYTES) == 0))
    return whole;
  char *candidate = malloc(size + TRAILER_BYTES + 1);
  if (!candidate) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  size_t end = size;
  for (int attempt = 0; attempt < 3; attempt++) {
    const char *nl = memrchr(text, '\n', end);
    if (!nl) break;
    size_t keep = (size_t)(nl - text);
    end = keep;
    if (keep && text[keep - 1] == ',') keep--;
    memcpy(candidate, text, keep);
    memcpy(candidate + keep, TRAILER, TRAILER_BYTES + 1);
    if (mv_json_parse(candidate, keep + TRAILER_BYTES, path, tree) == MV_OK) {
      *dropped = (int)(size - keep);
      *repaired = candidate;
      *repaired_size = keep + TRAILER_BYTES;
      return MV_OK;
    }
  }
  free(candidate);
  return mv_fail(MV_E_FORMAT, "%s: damaged log: it does not end with \"]}\" and no cut at one of "
                 "its last lines reads as a log", path);
}

mv_status mv_log_open(const char *path, int repair, mv_log *log, mv_json **tree, int *dropped) {
  memset(log, 0, sizeof *log);
  log->fd = -1;
  *tree = NULL;
  char *text, *repaired = NULL;
  size_t size, repaired_size = 0;
  MV_TRY(read_text(path, &text, &size));
  mv_status st = parse_log(path, text, size, tree, &repaired, &repaired_size, dropped);
  const mv_json *marker = st == MV_OK ? mv_json_get(*tree, "_mivos_log") : NULL;
  const mv_json *rounds = st == MV_OK ? mv_json_get(*tree, "rounds") : NULL;
  if (st == MV_OK && (!marker || marker->type != MV_JSON_NUMBER || marker->number != 1 || !rounds ||
                      rounds->type != MV_JSON_ARRAY))
    st = mv_fail(MV_E_FORMAT, "%s: not a mivos workspace log (expected \"_mivos_log\": 1 and a "
                 "\"rounds\" array)", path);
  if (st == MV_OK && repaired && repair)   /* the file gets the repaired text, atomically */
    st = mv_atomic_write_all("mv_session_attach", path, repaired, repaired_size);
  if (st == MV_OK && repair) {
    log->fd = open(path, O_RDWR | O_CLOEXEC);
    if (log->fd < 0) st = mv_fail(MV_E_IO, "%s: cannot open the log for writing: %s", path,
                                  strerror(errno));
  }
  if (st == MV_OK) {
    log->path = strdup(path);
    log->size = repaired ? repaired_size : size;
    log->entries = (int)rounds->count;
    if (!log->path) st = mv_fail(MV_E_MEMORY, "%s: out of memory", path);
  }
  free(text);
  free(repaired);
  if (st != MV_OK) {
    mv_log_close(log);
    mv_json_free(*tree);
    *tree = NULL;
  }
  return st;
}

void mv_log_close(mv_log *log) {
  if (log->fd >= 0) close(log->fd);
  free(log->path);
  log->fd = -1;
  log->path = NULL;
}

mv_status mv_log_append(mv_log *log, const char *entry) {
  mv_text t = {0};
  mv_text_printf(&t, "%s%s%s", log->entries ? ",\n" : "\n", entry, TRAILER);
  if (t.failed) return mv_fail(MV_E_MEMORY, "%s: out of memory", log->path);
  /* The entry replaces the trailer; the new trailer ends the same write. */
  off_t at = (off_t)(log->size - TRAILER_BYTES);
  ssize_t wrote = pwrite(log->fd, t.data, t.length, at);
  int err = wrote < 0 ? errno : (size_t)wrote != t.length ? ENOSPC : 0;
  if (!err && fdatasync(log->fd) != 0) err = errno;
  if (err) {   /* put the trailer back so the file stays a complete log */
    if (pwrite(log->fd, TRAILER, TRAILER_BYTES, at) == TRAILER_BYTES)
      if (ftruncate(log->fd, at + TRAILER_BYTES) == 0) fdatasync(log->fd);
    mv_text_free(&t);
    return mv_fail(MV_E_IO, "%s: cannot append to the log: %s", log->path, strerror(err));
  }
  log->size = (size_t)at + t.length;
  log->entries++;
  mv_text_free(&t);
  return MV_OK;
}

/* ---- reading entries back ---- */

typedef struct entry_where {
  const char *path;
  int index;
} entry_where;

static mv_status bad(const entry_where *w, const char *what) {
  return mv_fail(MV_E_FORMAT, "%s: entry %d (line %d): %s", w->path, w->index + 1, w->index + 2,
                 what);
}

static mv_status get_int(const mv_json *item, const char *key, int required, int *out,
                         const entry_where *w) {
  const mv_json *v = mv_json_get(item, key);
  if (!v) {
    if (!required) return MV_OK;
    char what[96];
    snprintf(what, sizeof what, "no \"%s\"", key);
    return bad(w, what);
  }
  if (v->type != MV_JSON_NUMBER || v->number != floor(v->number) || fabs(v->number) > 1e9) {
    char what[96];
    snprintf(what, sizeof what, "\"%s\" must be an integer", key);
    return bad(w, what);
  }
  *out = (int)v->number;
  return MV_OK;
}

static int get_bool(const mv_json *item, const char *key) {
  const mv_json *v = mv_json_get(item, key);
  return v && v->type == MV_JSON_BOOL && v->number != 0;
}

static mv_status get_float(const mv_json *item, const char *key, float *out,
                           const entry_where *w) {
  const mv_json *v = mv_json_get(item, key);
  if (!v || v->type != MV_JSON_NUMBER) {
    char what[96];
    snprintf(what, sizeof what, "\"%s\" must be a number", key);
    return bad(w, what);
  }
  *out = (float)v->number;
  return MV_OK;
}

/* A flat list of numbers [x1, y1, x2, y2, ...] appended to out->points. */
static mv_status get_points(const mv_json *list, mv_log_read *out, size_t *used, int *count,
                            const entry_where *w) {
  if (!list || list->type != MV_JSON_ARRAY || list->count % 2 || !list->count)
    return bad(w, "points must be a flat list [x1, y1, x2, y2, ...]");
  float *grown = realloc(out->points, (*used + list->count) * sizeof *grown);
  if (!grown) return mv_fail(MV_E_MEMORY, "%s: out of memory", w->path);
  out->points = grown;
  for (size_t i = 0; i < list->count; i++) {
    if (list->items[i].type != MV_JSON_NUMBER) return bad(w, "a point coordinate is not a number");
    out->points[*used + i] = (float)list->items[i].number;
  }
  *count = (int)(list->count / 2);
  *used += list->count;
  return MV_OK;
}

static mv_status get_input(const mv_json *v, char out[256], const entry_where *w) {
  out[0] = '\0';
  if (!v || v->type == MV_JSON_NULL) return MV_OK;
  if (v->type != MV_JSON_STRING || v->length >= 256 || strstr(v->string, "..") ||
      v->string[0] == '/')
    return bad(w, "an image path must be a file name inside the workspace");
  memcpy(out, v->string, v->length + 1);
  return MV_OK;
}

mv_status mv_log_entry_parse(const mv_json *item, const char *path, int index, mv_log_read *out) {
  memset(out, 0, sizeof *out);
  entry_where w = {path, index};
  mv_log_entry *e = &out->entry;
  e->frames = -1;
  if (item->type != MV_JSON_OBJECT) return bad(&w, "must be an object");
  if (mv_json_get(item, "add_object")) {
    e->kind = MV_LOG_ADD_OBJECT;
    return get_int(item, "add_object", 1, &e->object, &w);
  }
  if (mv_json_get(item, "delete_object")) {
    e->kind = MV_LOG_DELETE_OBJECT;
    return get_int(item, "delete_object", 1, &e->object, &w);
  }
  if (mv_json_get(item, "reset_object")) {
    e->kind = MV_LOG_RESET_OBJECT;
    return get_int(item, "reset_object", 1, &e->object, &w);
  }
  if (get_bool(item, "clear_memory")) {
    e->kind = MV_LOG_CLEAR_MEMORY;
    e->keep_interacted = get_bool(item, "keep_interacted");
    return MV_OK;
  }
  if (get_bool(item, "end_strokes")) {
    e->kind = MV_LOG_END_STROKES;
    return MV_OK;
  }
  MV_TRY(get_int(item, "frame", 1, &e->frame, &w));
  e->object = 1;
  MV_TRY(get_int(item, "object", 0, &e->object, &w));
  const mv_json *name = mv_json_get(item, "interaction");
  if (name) {
    if (name->type != MV_JSON_STRING || name->length >= sizeof out->interaction)
      return bad(&w, "\"interaction\" must be a backend name");
    memcpy(out->interaction, name->string, name->length + 1);
    e->interaction = out->interaction;
  }
  const mv_json *region = mv_json_get(item, "region");
  if (region) {
    int box[4] = {0};
    if (region->type != MV_JSON_ARRAY || region->count != 4) return bad(&w, "\"region\" must be [x0, y0, x1, y1]");
    for (int i = 0; i < 4; i++) {
      const mv_json *v = &region->items[i];
      if (v->type != MV_JSON_NUMBER || v->number != floor(v->number)) return bad(&w, "\"region\" must hold integers");
      box[i] = (int)v->number;
    }
    out->region = (mv_region){box[0], box[1], box[2], box[3], 0};
    MV_TRY(get_int(item, "margin", 0, &out->region.margin, &w));
    e->region = &out->region;
  }
  const mv_json *v;
  size_t used = 0;
  if ((v = mv_json_get(item, "scribbles"))) {
    if (v->type != MV_JSON_ARRAY || !v->count) return bad(&w, "\"scribbles\" must be a non-empty array");
    e->kind = MV_LOG_SCRIBBLE;
    out->strokes = calloc(v->count, sizeof *out->strokes);
    if (!out->strokes) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
    size_t *starts = calloc(v->count, sizeof *starts);
    if (!starts) return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
    mv_status st = MV_OK;
    for (size_t i = 0; i < v->count && st == MV_OK; i++) {
      const mv_json *s = &v->items[i];
      starts[i] = used;
      st = get_points(mv_json_get(s, "points"), out, &used, &out->strokes[i].count, &w);
      if (st == MV_OK) st = get_float(s, "thickness", &out->strokes[i].thickness, &w);
      out->strokes[i].positive = get_bool(s, "positive");
    }
    for (size_t i = 0; i < v->count && st == MV_OK; i++) out->strokes[i].xy = out->points + starts[i];
    free(starts);
    e->strokes = out->strokes;
    e->stroke_count = (int)v->count;
    return st;
  }
  if ((v = mv_json_get(item, "clicks"))) {
    if (v->type != MV_JSON_ARRAY || v->count != 1) return bad(&w, "\"clicks\" must hold one click");
    e->kind = MV_LOG_CLICK;
    MV_TRY(get_float(&v->items[0], "x", &e->x, &w));
    MV_TRY(get_float(&v->items[0], "y", &e->y, &w));
    e->positive = get_bool(&v->items[0], "positive");
    return MV_OK;
  }
  if ((v = mv_json_get(item, "maps"))) {
    e->kind = MV_LOG_MAPS;
    if (v->type != MV_JSON_OBJECT) return bad(&w, "\"maps\" must be {\"positive\": , \"negative\": }");
    MV_TRY(get_input(mv_json_get(v, "positive"), out->inputs[0], &w));
    return get_input(mv_json_get(v, "negative"), out->inputs[1], &w);
  }
  if ((v = mv_json_get(item, "polygon"))) {
    e->kind = MV_LOG_DRAW;
    MV_TRY(get_points(v, out, &used, &e->count, &w));
    e->xy = out->points;
    MV_TRY(get_float(item, "brush", &e->brush, &w));
    e->erase = get_bool(item, "erase");
    return MV_OK;
  }
  if ((v = mv_json_get(item, "box"))) {
    e->kind = MV_LOG_BOX;
    if (v->type != MV_JSON_ARRAY || v->count != 4) return bad(&w, "\"box\" must be [x0, y0, x1, y1]");
    for (int i = 0; i < 4; i++) {
      if (v->items[i].type != MV_JSON_NUMBER || v->items[i].number != floor(v->items[i].number))
        return bad(&w, "\"box\" must hold integers");
      e->box[i] = (int)v->items[i].number;
    }
    return MV_OK;
  }
  if ((v = mv_json_get(item, "object_mask"))) {
    e->kind = MV_LOG_OBJECT_MASK;
    MV_TRY(get_input(v, out->inputs[0], &w));
    if (!out->inputs[0][0]) return bad(&w, "\"object_mask\" must be an image path");
    return MV_OK;
  }
  if (get_bool(item, "forget_memory")) {
    e->kind = MV_LOG_FORGET_MEMORY;
    return MV_OK;
  }
  if ((v = mv_json_get(item, "mask"))) {
    e->kind = MV_LOG_LABELS;
    MV_TRY(get_input(v, out->inputs[0], &w));
    if (!out->inputs[0][0]) return bad(&w, "\"mask\" must be an image path");
    return MV_OK;
  }
  if (get_bool(item, "propagate")) {
    e->kind = MV_LOG_PROPAGATE;
    e->direction = 3;   /* MV_BOTH */
    e->to = -1;
    const mv_json *d = mv_json_get(item, "direction");
    if (d && (d->type != MV_JSON_STRING || (strcmp(d->string, "forward") &&
                                            strcmp(d->string, "backward") && strcmp(d->string, "both"))))
      return bad(&w, "\"direction\" must be \"forward\", \"backward\" or \"both\"");
    if (d) e->direction = !strcmp(d->string, "forward") ? 1 : !strcmp(d->string, "backward") ? 2 : 3;
    MV_TRY(get_int(item, "to", 0, &e->to, &w));
    MV_TRY(get_int(item, "count", 0, &e->limit, &w));
    return get_int(item, "frames", 0, &e->frames, &w);
  }
  if (mv_json_get(item, "undo")) {
    e->kind = MV_LOG_UNDO;
    return MV_OK;
  }
  if (get_bool(item, "reset")) {
    e->kind = MV_LOG_RESET_FRAME;
    return MV_OK;
  }
  return bad(&w, "not an operation this build logs");
}

void mv_log_read_free(mv_log_read *r) {
  free(r->strokes);
  free(r->points);
  memset(r, 0, sizeof *r);
}
