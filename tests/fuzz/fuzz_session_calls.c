/* What the Lua layer hands to C from a rounds file (lua/mivos/rounds.lua):
 * scribbles, clicks, polygons and brush strokes, regions, masks as label
 * maps, undo / reset, object edits, backend names and propagation, with
 * any frame, object, count and coordinate the bytes give (NaN, infinities,
 * huge and negative values included), on a fresh session per input over a
 * tiny 3-frame video with the weight-free default modules. Every call must
 * either succeed or fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "mivos.h"

enum { W = 24, H = 16, FRAMES = 3, MAX_CALLS = 12, MAX_POINTS = 24 };

typedef struct cursor {
  const uint8_t *data;
  size_t size, pos;
} cursor;

static uint8_t next_byte(cursor *c) { return c->pos < c->size ? c->data[c->pos++] : 0; }

static int next_small(cursor *c) { return (int8_t)next_byte(c); } /* -128..127 */

static float next_float(cursor *c) {
  uint8_t kind = next_byte(c);
  if (kind < 200) return (float)kind - 40.0f; /* mostly plausible pixels */
  uint32_t bits = 0;
  for (int i = 0; i < 4; i++) bits = bits << 8 | next_byte(c);
  float f;
  memcpy(&f, &bits, sizeof f); /* anything: NaN, inf, denormals, 1e38 */
  return f;
}

static mv_region *next_region(cursor *c, mv_region *r) {
  if (next_byte(c) % 2 == 0) return NULL;
  r->x0 = next_small(c), r->y0 = next_small(c), r->x1 = next_small(c), r->y1 = next_small(c);
  r->margin = next_small(c);
  return r;
}

static mv_video *tiny_video(void) {
  static char dir[256];
  snprintf(dir, sizeof dir, "%s/mivos-fuzz-video-%ld",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
  mkdir(dir, 0700);
  uint8_t rgb[W * H * 3];
  for (int t = 0; t < FRAMES; t++) {
    for (int i = 0; i < W * H; i++) { /* a bright square moving over a dark ramp */
      int x = i % W, y = i / W, inside = x >= 4 + 3 * t && x < 12 + 3 * t && y >= 4 && y < 12;
      rgb[3 * i] = inside ? 230 : (uint8_t)(x * 4);
      rgb[3 * i + 1] = inside ? 200 : (uint8_t)(y * 6);
      rgb[3 * i + 2] = inside ? 40 : 90;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/%05d.png", dir, t);
    if (mv_image_write_png(path, rgb, W, H) != MV_OK) return NULL;
  }
  mv_video_options options;
  mv_video_options_default(&options);
  options.short_side = 0; /* native size */
  mv_video *video = NULL;
  if (mv_video_open(dir, &options, &video) != MV_OK) {
    fprintf(stderr, "fuzz_session_calls: %s\n", mv_error_message());
    return NULL;
  }
  return video;
}

static int stop_after_one(void *user, int done, int total) { return done >= 1; }

static void one_call(mv_session *s, cursor *c) {
  float xy[2 * MAX_POINTS];
  uint8_t maps[2][W * H];
  mv_region region;
  uint8_t op = next_byte(c) % 13;
  int frame = next_small(c) % 5, object = next_small(c) % 4;
  int count = next_byte(c) % (MAX_POINTS + 1);
  switch (op) {
  case 0: { /* scribbles: up to 3 strokes sharing the point buffer */
    mv_stroke strokes[3];
    int n = 1 + next_byte(c) % 3;
    for (int i = 0; i < 2 * count; i++) xy[i] = next_float(c);
    for (int k = 0; k < n; k++) {
      int first = count ? next_byte(c) % count : 0;
      strokes[k] = (mv_stroke){xy + 2 * first, count - first, next_float(c), next_byte(c) % 2};
    }
    mv_session_scribble(s, frame, object, strokes, n, next_region(c, &region));
    break;
  }
  case 1:
    mv_session_click(s, frame, object, next_float(c), next_float(c), next_byte(c) % 2,
                     next_region(c, &region));
    break;
  case 2:
    for (int i = 0; i < 2 * count; i++) xy[i] = next_float(c);
    mv_session_draw(s, frame, object, xy, count, next_float(c), next_byte(c) % 2);
    break;
  case 3:
    for (int i = 0; i < W * H; i++) maps[0][i] = next_byte(c) & 1, maps[1][i] = next_byte(c) & 2;
    mv_session_interact_maps(s, frame, object, count % 2 ? maps[0] : NULL,
                             count % 3 ? maps[1] : NULL, next_region(c, &region));
    break;
  case 4: /* a mask file's labels: any byte, ids beyond the objects included */
    for (int i = 0; i < W * H; i++) maps[0][i] = next_byte(c) % (count + 1);
    mv_session_set_labels(s, frame, maps[0]);
    break;
  case 5: mv_session_undo(s, frame); break;
  case 6: mv_session_reset_frame(s, frame); break;
  case 7: mv_session_reset_object(s, object); break;
  case 8: {
    int added = 0;
    mv_session_add_object(s, &added);
    break;
  }
  case 9: mv_session_delete_object(s, object); break;
  case 10: { /* a backend name from the file */
    static const char *names[] = {"graphcut", "freehand", "click", "local", "s2m", "", "nope"};
    mv_session_set_interaction(s, names[count % 7]);
    break;
  }
  case 11:
    mv_session_propagate(s, frame, count % 2 ? stop_after_one : NULL, NULL);
    break;
  default: {
    float probability[W * H];
    mv_session_labels(s, frame, maps[0]);
    mv_session_probabilities(s, frame, object, probability);
    break;
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mv_video *video;
  if (!video && !(video = tiny_video())) abort();
  cursor c = {data, size, 0};
  mv_session_options options;
  mv_session_options_default(&options);
  options.objects = 1 + next_byte(&c) % 3;
  mv_session *session = NULL;
  if (mv_session_open(video, &options, &session) != MV_OK) {
    fprintf(stderr, "fuzz_session_calls: %s\n", mv_error_message());
    abort();
  }
  for (int i = 0; i < MAX_CALLS && c.pos < c.size; i++) one_call(session, &c);
  mv_session_close(session);
  return 0;
}
