/* The robot's scribbles as DAVIS scribble JSON (spec/EVALUATION.md 5.7):
 * {"sequence": name, "scribbles": [[strokes of frame 0], ...]}, one list per
 * frame, the strokes on the robot's frame. Numbers are written with the
 * fewest digits that read back to the same double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "error.h"

typedef struct text {
  char *data;
  size_t length, capacity;
  int failed;
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->failed) return;
  if (t->length + n + 1 > t->capacity) {
    size_t capacity = t->capacity ? t->capacity : 4096;
    while (capacity < t->length + n + 1) capacity *= 2;
    char *grown = realloc(t->data, capacity);
    if (!grown) {
      t->failed = 1;
      return;
    }
    t->data = grown, t->capacity = capacity;
  }
  memcpy(t->data + t->length, s, n);
  t->length += n;
  t->data[t->length] = '\0';
}

static void puts_text(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_number(text *t, double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) break;
  }
  puts_text(t, buf);
}

static void put_string(text *t, const char *s) {
  put(t, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char buf[8];
    if (*c == '"' || *c == '\\') {
      buf[0] = '\\', buf[1] = (char)*c;
      put(t, buf, 2);
    } else if (*c < 0x20) {
      snprintf(buf, sizeof buf, "\\u%04x", *c);
      puts_text(t, buf);
    } else {
      put(t, (const char *)c, 1);
    }
  }
  put(t, "\"", 1);
}

static mv_status check_scribble(const char *fn, const mv_robot_scribble *sc,
                                const char *sequence) {
  MV_CHECK_ARG(sc, "%s: scribble is NULL", fn);
  MV_CHECK_ARG(sequence, "%s: sequence is NULL", fn);
  MV_CHECK_ARG(sc->frame_count > 0 && sc->frame >= 0 && sc->frame < sc->frame_count,
               "%s: scribble frame %d is not in 0..%d", fn, sc->frame, sc->frame_count - 1);
  MV_CHECK_ARG(sc->stroke_count >= 0 && (sc->strokes || sc->stroke_count == 0),
               "%s: scribble has %d strokes but no stroke array", fn, sc->stroke_count);
  for (int i = 0; i < sc->stroke_count; i++) {
    const mv_robot_stroke *st = &sc->strokes[i];
    MV_CHECK_ARG(st->point_count >= 0 && (st->points || st->point_count == 0),
                 "%s: stroke %d has %d points but no point array", fn, i, st->point_count);
    for (int m = 0; m < 2 * st->point_count; m++)
      MV_CHECK_ARG(isfinite(st->points[m]), "%s: stroke %d, point %d is not finite", fn, i,
                   m / 2);
  }
  return MV_OK;
}

static mv_status format_json(const char *fn, const mv_robot_scribble *sc, const char *sequence,
                             text *t) {
  MV_TRY(check_scribble(fn, sc, sequence));
  memset(t, 0, sizeof *t);
  puts_text(t, "{\"sequence\": ");
  put_string(t, sequence);
  puts_text(t, ", \"scribbles\": [");
  for (int frame = 0; frame < sc->frame_count; frame++) {
    puts_text(t, frame ? ", [" : "[");
    if (frame == sc->frame) {
      for (int i = 0; i < sc->stroke_count; i++) {
        const mv_robot_stroke *st = &sc->strokes[i];
        puts_text(t, i ? ", {\"path\": [" : "{\"path\": [");
        for (int m = 0; m < st->point_count; m++) {
          puts_text(t, m ? ", [" : "[");
          put_number(t, st->points[2 * m]);
          puts_text(t, ", ");
          put_number(t, st->points[2 * m + 1]);
          puts_text(t, "]");
        }
        char tail[96];
        /* start_time/end_time are informative only; 0 keeps output reproducible. */
        snprintf(tail, sizeof tail, "], \"object_id\": %d, \"start_time\": 0, \"end_time\": 0}",
                 st->object_id);
        puts_text(t, tail);
      }
    }
    puts_text(t, "]");
  }
  puts_text(t, "]}\n");
  if (t->failed) {
    free(t->data);
    return mv_fail(MV_E_MEMORY, "%s: out of memory formatting %d strokes", fn, sc->stroke_count);
  }
  return MV_OK;
}

mv_status mv_robot_scribble_json(const mv_robot_scribble *scribble, const char *sequence,
                                 char *buffer, size_t capacity, size_t *length) {
  const char *fn = "mv_robot_scribble_json";
  MV_CHECK_ARG(length, "%s: length is NULL", fn);
  MV_CHECK_ARG(buffer || capacity == 0, "%s: buffer is NULL but capacity is %zu", fn, capacity);
  text t;
  MV_TRY(format_json(fn, scribble, sequence, &t));
  *length = t.length;
  mv_status s = MV_OK;
  if (buffer) {
    if (capacity < t.length + 1)
      s = mv_fail(MV_E_ARGUMENT, "%s: capacity %zu is below the %zu bytes needed", fn, capacity,
                  t.length + 1);
    else
      memcpy(buffer, t.data, t.length + 1);
  }
  free(t.data);
  return s;
}

mv_status mv_robot_write_json(const mv_robot_scribble *scribble, const char *sequence,
                              const char *path) {
  const char *fn = "mv_robot_write_json";
  MV_CHECK_ARG(path, "%s: path is NULL", fn);
  text t;
  MV_TRY(format_json(fn, scribble, sequence, &t));
  mv_status s = mv_atomic_write_all(fn, path, t.data, t.length);
  free(t.data);
  return s;
}
