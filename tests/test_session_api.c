/* The session API of issue #13 items 3-6 with the weight-free modules
 * (graphcut + labelprop + linear) on a small synthetic video: propagation
 * in steps (equal to the one-shot call bit for bit, also when paused and
 * continued), memory control, stable object ids, the box prompt, per-object
 * mask import, labels at another size, and the argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/reference.h"
#include "square_video.h"
#include "testutil.h"

enum { VW = 64, VH = 48, FRAMES = 30 };
static const size_t PLANE = (size_t)VW * VH;

static mv_session *open_session(mv_video *video, int objects) {
  mv_session_options o;
  mv_session_options_default(&o);
  o.objects = objects;
  mv_session *s = NULL;
  CHECK_OK(mv_session_open(video, &o, &s));
  return s;
}

static int count_label(const uint8_t *labels, int value) {
  int count = 0;
  for (size_t i = 0; i < PLANE; i++) count += labels[i] == value;
  return count;
}

/* The square of frame t as a polygon for mv_session_draw. */
static void draw_square(mv_session *s, int t, int object) {
  float xy[8] = {8.0f + t, 10, 23.5f + t, 10, 23.5f + t, 25.5f, 8.0f + t, 25.5f};
  CHECK_OK(mv_session_draw(s, t, object, xy, 4, 0, 0));
}

/* The block as object 2 (for two-object sessions). */
static void draw_block(mv_session *s, int t, int object) {
  float xy[8] = {44, 32, 59.5f, 32, 59.5f, 43.5f, 44, 43.5f};
  CHECK_OK(mv_session_draw(s, t, object, xy, 4, 0, 0));
}

/* Every frame's probabilities of objects 0..2, frame after frame. */
static float *all_probabilities(mv_session *s) {
  float *p = malloc((size_t)FRAMES * 3 * PLANE * sizeof *p);
  for (int t = 0; t < FRAMES; t++)
    for (int k = 0; k < 3; k++) CHECK_OK(mv_session_probabilities(s, t, k, p + (t * 3 + k) * PLANE));
  return p;
}

/* Two rounds (frame 10, then a correction on frame 20 that fuses between
 * them), as the one-shot call or as steps paused after every `pause`
 * frames (0: never) with reads and a pending edit in between. */
static float *two_rounds(mv_video *video, int steps, int pause) {
  mv_session *s = open_session(video, 2);
  if (!s) return NULL;
  draw_square(s, 10, 1);
  draw_block(s, 10, 2);
  int rounds[2] = {10, 20};
  uint8_t *labels = malloc(PLANE);
  for (int r = 0; r < 2; r++) {
    if (r == 1) {
      float erase[4] = {28, 18, 43, 18};
      CHECK_OK(mv_session_draw(s, 20, 1, erase, 2, 2, 1));
    }
    if (!steps) {
      CHECK_OK(mv_session_propagate(s, rounds[r], NULL, NULL));
      continue;
    }
    mv_propagation_request req = {rounds[r], MV_BOTH, -1, 0};
    mv_propagation_run *run = NULL;
    if (!CHECK_OK(mv_session_propagation_begin(s, &req, &run))) break;
    int frame = -1, done = 0, n = 0, expected = rounds[r] + 1, backward = 0;
    while (!done) {
      if (!CHECK_OK(mv_session_propagation_step(run, &frame, &done))) break;
      /* Forward first up to the pass's end, then backward. */
      if (!backward && frame != expected) {
        backward = 1;
        expected = rounds[r] - 1;
      }
      CHECK(frame == expected, "round %d step %d: frame %d, expected %d", r, n, frame, expected);
      expected += backward ? -1 : 1;
      n++;
      if (pause && n % pause == 0) {
        /* Paused: reading and editing another frame change nothing. */
        CHECK_OK(mv_session_labels(s, frame, labels));
        draw_block(s, 25, 2);
        CHECK_OK(mv_session_undo(s, 25));
      }
    }
    int d = 0, total = 0;
    CHECK_OK(mv_session_propagation_progress(run, &d, &total));
    /* Round 1 from 10: 19 forward + 10 backward; round 2 from 20: 9 + 9. */
    int want = r == 0 ? FRAMES - 1 : (FRAMES - 1 - 20) + (20 - 10 - 1);
    CHECK(n == want && d == want && total == want, "round %d: %d steps, progress %d/%d, want %d",
          r, n, d, total, want);
    CHECK_OK(mv_session_propagation_end(run));
  }
  float *p = all_probabilities(s);
  free(labels);
  mv_session_close(s);
  return p;
}

static void steps_equal_one_shot(mv_video *video) {
  float *one_shot = two_rounds(video, 0, 0);
  float *stepped = two_rounds(video, 1, 0);
  float *paused = two_rounds(video, 1, 4);
  size_t bytes = (size_t)FRAMES * 3 * PLANE * sizeof(float);
  CHECK(one_shot && stepped && !memcmp(one_shot, stepped, bytes),
        "the steps give the one-shot propagation's probabilities bit for bit");
  CHECK(one_shot && paused && !memcmp(one_shot, paused, bytes),
        "paused and continued steps give the same probabilities bit for bit");
  free(one_shot);
  free(stepped);
  free(paused);
}

static int stop_after_three(void *user, int done, int total) {
  (void)total;
  *(int *)user = done;
  return done >= 3;
}

/* Direction, stop frame and count: the frames reported, the frames left
 * untouched, and the frames done equal to the full pass's. */
static void bounds_and_directions(mv_video *video) {
  mv_session *full = open_session(video, 1), *s = open_session(video, 1);
  if (!full || !s) return;
  draw_square(full, 10, 1);
  draw_square(s, 10, 1);
  CHECK_OK(mv_session_propagate(full, 10, NULL, NULL));
  mv_propagation_request forward = {10, MV_FORWARD, 15, 0};
  mv_propagation_run *run = NULL;
  int frame, done = 0, seen[FRAMES] = {0}, order[FRAMES] = {0}, n = 0;
  CHECK_OK(mv_session_propagation_begin(s, &forward, &run));
  while (!done && CHECK_OK(mv_session_propagation_step(run, &frame, &done))) order[n++] = frame;
  CHECK_OK(mv_session_propagation_end(run));
  CHECK(n == 5 && order[0] == 11 && order[4] == 15, "forward to 15: %d frames, %d..%d", n,
        order[0], order[n - 1]);
  for (int i = 0; i < n; i++) seen[order[i]] = 1;
  mv_propagation_request backward = {10, MV_BACKWARD, -1, 4};
  CHECK_OK(mv_session_propagation_begin(s, &backward, &run));
  n = 0;
  done = 0;
  while (!done && CHECK_OK(mv_session_propagation_step(run, &frame, &done))) order[n++] = frame;
  CHECK(n == 4 && order[0] == 9 && order[3] == 6, "backward 4 frames: %d frames, %d..%d", n,
        order[0], order[n - 1]);
  /* A step after the end reports nothing left. */
  CHECK_OK(mv_session_propagation_step(run, &frame, &done));
  CHECK(frame == -1 && done == 1, "a step after the end: frame %d, done %d", frame, done);
  CHECK_OK(mv_session_propagation_end(run));
  for (int i = 0; i < n; i++) seen[order[i]] = 1;
  /* Both ways with a count: forward to the end first, then backward. */
  mv_session *both = open_session(video, 1);
  if (both) {
    draw_square(both, 10, 1);
    mv_propagation_request req = {10, MV_BOTH, -1, 22};
    CHECK_OK(mv_session_propagation_begin(both, &req, &run));
    n = 0;
    done = 0;
    while (!done && CHECK_OK(mv_session_propagation_step(run, &frame, &done))) order[n++] = frame;
    CHECK_OK(mv_session_propagation_end(run));
    CHECK(n == 22 && order[18] == 29 && order[19] == 9 && order[21] == 7,
          "both ways, 22 frames: %d frames, 19th %d, 20th %d, last %d", n, order[18], order[19],
          order[n - 1]);
    /* The old progress callback still stops the one-shot call. */
    int calls = 0;
    CHECK_OK(mv_session_propagate(both, 20, stop_after_three, &calls));
    CHECK(calls == 3, "the progress callback was called %d times (stops after 3)", calls);
    mv_session_close(both);
  }
  float *a = malloc(PLANE * sizeof *a), *b = malloc(PLANE * sizeof *b);
  int same = 1, untouched = 1;
  for (int t = 0; t < FRAMES; t++) {
    if (t == 10) continue;
    CHECK_OK(mv_session_probabilities(s, t, 1, a));
    CHECK_OK(mv_session_probabilities(full, t, 1, b));
    if (seen[t]) same &= !memcmp(a, b, PLANE * sizeof *a);
    for (size_t i = 0; i < PLANE && !seen[t]; i++) untouched &= a[i] == 0.0f;
  }
  CHECK(same, "frames done by bounded runs equal the full propagation's bit for bit");
  CHECK(untouched, "frames outside the bounds are untouched");
  free(a);
  free(b);
  mv_session_close(full);
  mv_session_close(s);
}

static int memory_list(mv_session *s, int *frames, int *interacted) {
  int count = -1;
  CHECK_OK(mv_session_memory_frames(s, frames, interacted, FRAMES, &count));
  return count;
}

/* Forget / clear change what the memory read sees; a frame is in memory once. */
static void memory_control(mv_video *video) {
  mv_session *s = open_session(video, 1);
  if (!s) return;
  int frames[FRAMES], interacted[FRAMES];
  draw_square(s, 10, 1);
  CHECK_OK(mv_session_propagate(s, 10, NULL, NULL));
  CHECK_OK(mv_session_propagate(s, 10, NULL, NULL));
  int count = memory_list(s, frames, interacted);
  CHECK(count == 1 && frames[0] == 10 && interacted[0] == 1,
        "propagating twice from frame 10 keeps one interacted entry (%d entries)", count);
  /* Frame 20 propagated from as it is: a memory entry, not interacted. */
  CHECK_OK(mv_session_propagate(s, 20, NULL, NULL));
  count = memory_list(s, frames, interacted);
  CHECK(count == 2 && frames[1] == 20 && interacted[1] == 0,
        "frame 20 propagated as it was: a non-interacted entry (%d entries)", count);

  /* With frame 10 in memory, the read for frame 25 sees it; forgotten, the
   * result is that of a session that only ever had frame 20 in memory. */
  uint8_t *labels20 = malloc(PLANE);
  float *with = malloc(PLANE * sizeof *with), *without = malloc(PLANE * sizeof *without);
  float *alone = malloc(PLANE * sizeof *alone);
  CHECK_OK(mv_session_labels(s, 20, labels20));
  mv_propagation_request req = {20, MV_FORWARD, -1, 0};
  CHECK_OK(mv_session_propagate_request(s, &req, NULL, NULL));
  CHECK_OK(mv_session_probabilities(s, 25, 1, with));
  CHECK_OK(mv_session_forget_memory(s, 10));
  count = memory_list(s, frames, interacted);
  CHECK(count == 1 && frames[0] == 20, "forget 10 leaves frame 20 only (%d entries)", count);
  CHECK_OK(mv_session_propagate_request(s, &req, NULL, NULL));
  CHECK_OK(mv_session_probabilities(s, 25, 1, without));
  mv_session *fresh = open_session(video, 1);
  if (fresh) {
    CHECK_OK(mv_session_set_labels(fresh, 20, labels20));
    CHECK_OK(mv_session_propagate_request(fresh, &req, NULL, NULL));
    CHECK_OK(mv_session_probabilities(fresh, 25, 1, alone));
  }
  CHECK(memcmp(with, without, PLANE * sizeof *with) != 0,
        "forgetting frame 10 changes the read at frame 25");
  CHECK(fresh && !memcmp(without, alone, PLANE * sizeof *alone),
        "after forgetting, frame 25 equals a session with only frame 20 in memory");
  mv_session_close(fresh);
  /* A forgotten frame no longer bounds a pass: backward from 20 runs to 0. */
  mv_propagation_request back = {20, MV_BACKWARD, -1, 0};
  mv_propagation_run *run = NULL;
  int d = 0, total = 0;
  CHECK_OK(mv_session_propagation_begin(s, &back, &run));
  CHECK_OK(mv_session_propagation_progress(run, &d, &total));
  CHECK(total == 20, "backward from 20 without frame 10 in memory: %d frames (want 20)", total);
  CHECK_OK(mv_session_propagation_end(run));

  CHECK_FAILS(mv_session_forget_memory(s, 10), MV_E_ARGUMENT);
  /* clear: all but interacted, then all. */
  draw_square(s, 5, 1);
  CHECK_OK(mv_session_propagate(s, 5, NULL, NULL));
  count = memory_list(s, frames, interacted);
  CHECK(count == 2, "frames 20 and 5 in memory (%d entries)", count);
  CHECK_OK(mv_session_clear_memory(s, 1));
  count = memory_list(s, frames, interacted);
  CHECK(count == 1 && frames[0] == 5, "clear keeping interacted: frame 5 stays (%d entries)",
        count);
  CHECK_OK(mv_session_clear_memory(s, 0));
  CHECK(memory_list(s, frames, interacted) == 0, "clear all empties the memory");
  mv_session_info info;
  CHECK_OK(mv_session_get_info(s, &info));
  CHECK(info.interacted_frames == 0, "no frame in memory, got %d", info.interacted_frames);
  free(labels20);
  free(with);
  free(without);
  free(alone);
  mv_session_close(s);
}

static void stable_ids(mv_video *video) {
  mv_session *s = open_session(video, 3);
  if (!s) return;
  uint8_t *labels = malloc(PLANE);
  int ids[8], count = 0, id = 0;
  draw_square(s, 0, 1);
  draw_block(s, 0, 3);
  float blob[8] = {2, 40, 10, 40, 10, 46, 2, 46};
  CHECK_OK(mv_session_draw(s, 0, 2, blob, 4, 0, 0));
  CHECK_OK(mv_session_delete_object(s, 2));
  CHECK_OK(mv_session_object_ids(s, ids, 8, &count));
  CHECK(count == 2 && ids[0] == 1 && ids[1] == 3, "ids after deleting 2: %d ids", count);
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(count_label(labels, 1) > 200 && count_label(labels, 3) > 150 && count_label(labels, 2) == 0,
        "objects 1 and 3 keep their ids (%d, %d px), 2 is gone (%d px)", count_label(labels, 1),
        count_label(labels, 3), count_label(labels, 2));
  CHECK_OK(mv_session_add_object(s, &id));
  CHECK(id == 4, "add after deleting 2 gives 4 (highest ever + 1), got %d", id);
  CHECK_OK(mv_session_delete_object(s, 4));
  CHECK_OK(mv_session_add_object(s, &id));
  CHECK(id == 5, "ids are not reused: got %d, want 5", id);
  /* The square moves to object 5 (object 1 is left empty). */
  draw_square(s, 0, 5);
  CHECK_OK(mv_session_propagate(s, 0, NULL, NULL));
  CHECK_OK(mv_session_labels(s, 3, labels));
  CHECK(count_label(labels, 1) == 0 && count_label(labels, 3) > 150 && count_label(labels, 5) > 150,
        "propagation carries ids 3 and 5, 1 is empty (%d, %d, %d px)", count_label(labels, 3),
        count_label(labels, 5), count_label(labels, 1));
  float *p = malloc(PLANE * sizeof *p);
  CHECK_OK(mv_session_probabilities(s, 3, 5, p));
  CHECK(p[18 * VW + 19] > 0.5f, "probability of object 5 in the square: %.3f", p[18 * VW + 19]);
  CHECK_FAILS(mv_session_probabilities(s, 3, 2, p), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_draw(s, 0, 4, blob, 4, 0, 0), MV_E_ARGUMENT);
  memset(labels, 0, PLANE);
  labels[0] = 2;
  CHECK_FAILS(mv_session_set_labels(s, 0, labels), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_object_ids(s, NULL, 4, &count), MV_E_ARGUMENT);
  free(p);
  free(labels);
  mv_session_close(s);
}

/* Jaccard of object `id` in labels against the square of frame t. */
static double square_iou(const uint8_t *labels, int id, int t) {
  int inter = 0, uni = 0;
  for (int y = 0; y < VH; y++)
    for (int x = 0; x < VW; x++) {
      int a = labels[y * VW + x] == id, b = x >= 8 + t && x < 24 + t && y >= 10 && y < 26;
      inter += a && b;
      uni += a || b;
    }
  return uni ? (double)inter / uni : 0;
}

static void box_prompt(mv_video *video) {
  mv_session *s = open_session(video, 2);
  if (!s) return;
  uint8_t *labels = malloc(PLANE);
  /* GrabCut on a loose box around the square (4-5 px of background inside). */
  CHECK_OK(mv_session_box(s, 0, 1, 3, 5, 28, 30));
  CHECK_OK(mv_session_labels(s, 0, labels));
  double iou = square_iou(labels, 1, 0);
  printf("box prompt (default interaction): IoU %.4f with the square\n", iou);
  /* Measured: 1.0000 (the square's colour is far from the background's). */
  CHECK(iou > 0.95, "the default backend's box gives the square: IoU %.4f", iou);
  int outside = 0;
  for (int y = 0; y < VH; y++)
    for (int x = 0; x < VW; x++)
      outside += labels[y * VW + x] == 1 && (x < 3 || x > 28 || y < 5 || y > 30);
  CHECK(outside == 0, "nothing outside the box (%d px)", outside);
  /* freehand: the filled box; a second box replaces the object's mask. */
  CHECK_OK(mv_session_set_interaction(s, "freehand"));
  CHECK_OK(mv_session_box(s, 0, 2, 40, 30, 49, 39));
  CHECK_OK(mv_session_box(s, 0, 2, 50, 30, 59, 39));
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(count_label(labels, 2) == 100 && labels[35 * VW + 55] == 2 && labels[35 * VW + 45] == 0,
        "freehand box: the 10x10 box replaces the earlier one (%d px)", count_label(labels, 2));
  CHECK(square_iou(labels, 1, 0) == iou, "object 1 unchanged by object 2's box");
  CHECK_FAILS(mv_session_box(s, 0, 1, 10, 5, 5, 20), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_box(s, 0, 1, 0, 0, VW, 10), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_box(s, 0, 3, 0, 0, 5, 5), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_box(s, FRAMES, 1, 0, 0, 5, 5), MV_E_ARGUMENT);
  free(labels);
  mv_session_close(s);
}

static void object_mask_import(mv_video *video) {
  mv_session *s = open_session(video, 2);
  if (!s) return;
  uint8_t *before = malloc(PLANE), *after = malloc(PLANE), *mask = calloc(PLANE, 1);
  draw_square(s, 4, 1);
  draw_block(s, 4, 2);
  CHECK_OK(mv_session_labels(s, 4, before));
  /* Object 2's new mask: x 40..51, y 28..39 (overlaps the block's corner). */
  for (int y = 28; y < 40; y++)
    for (int x = 40; x < 52; x++) mask[y * VW + x] = 255;
  CHECK_OK(mv_session_set_object_mask(s, 4, 2, mask));
  CHECK_OK(mv_session_labels(s, 4, after));
  int ok = 1;
  for (size_t i = 0; i < PLANE; i++) {
    int want = mask[i] ? 2 : before[i] == 2 ? 0 : before[i];
    ok &= after[i] == want;
  }
  CHECK(ok, "the imported mask replaces object 2 only; object 1 keeps its %d px",
        count_label(after, 1));
  CHECK(count_label(after, 1) == count_label(before, 1), "object 1 unchanged");
  CHECK_OK(mv_session_undo(s, 4));
  CHECK_OK(mv_session_labels(s, 4, after));
  CHECK(!memcmp(before, after, PLANE), "undo restores the frame");
  CHECK_FAILS(mv_session_set_object_mask(s, 4, 7, mask), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_set_object_mask(s, 4, 1, NULL), MV_E_ARGUMENT);
  free(before);
  free(after);
  free(mask);
  mv_session_close(s);
}

/* Labels at twice the size: the bilinear resize of every object's
 * probabilities, then the most probable id. */
static void resized_labels(mv_video *video) {
  mv_session *s = open_session(video, 2);
  if (!s) return;
  draw_square(s, 0, 1);
  draw_block(s, 0, 2);
  CHECK_OK(mv_session_delete_object(s, 1));
  int id = 0;
  CHECK_OK(mv_session_add_object(s, &id));
  draw_square(s, 0, id);
  CHECK_OK(mv_session_propagate(s, 0, NULL, NULL));
  int ow = 2 * VW + 3, oh = 2 * VH + 1, ids[2] = {2, id};
  size_t out_n = (size_t)ow * oh;
  uint8_t *labels = malloc(out_n), *working = malloc(PLANE);
  float *planes = malloc(3 * PLANE * sizeof *planes), *resized = malloc(3 * out_n * sizeof *resized);
  for (int t = 0; t < FRAMES; t += 7) {
    CHECK_OK(mv_session_labels_resized(s, t, ow, oh, labels));
    CHECK_OK(mv_session_probabilities(s, t, 0, planes));
    for (int k = 0; k < 2; k++)
      CHECK_OK(mv_session_probabilities(s, t, ids[k], planes + (k + 1) * PLANE));
    mv_ref_bilinear(planes, 1, 3, VH, VW, oh, ow, resized);
    int differ = 0, ambiguous = 0;
    for (size_t i = 0; i < out_n; i++) {
      int best = 0;
      float second = -1;
      for (int c = 1; c < 3; c++)
        if (resized[c * out_n + i] > resized[best * out_n + i]) best = c;
      for (int c = 0; c < 3; c++)
        if (c != best && resized[c * out_n + i] > second) second = resized[c * out_n + i];
      int want = best ? ids[best - 1] : 0;
      if (labels[i] != want) {
        differ++;
        ambiguous += resized[best * out_n + i] - second < 1e-5f;
      }
    }
    CHECK(differ == ambiguous, "frame %d at %dx%d: %d labels differ from the reference resize, "
                               "%d of them at a margin under 1e-5", t, ow, oh, differ, ambiguous);
    CHECK(labels[(size_t)(2 * 18) * ow + 2 * (16 + t)] == id,
          "frame %d: the square has id %d at the source size", t, id);
    CHECK_OK(mv_session_labels_resized(s, t, VW, VH, labels));
    CHECK_OK(mv_session_labels(s, t, working));
    CHECK(!memcmp(labels, working, PLANE), "at the working size: the session's labels");
  }
  CHECK_FAILS(mv_session_labels_resized(s, 0, 0, 10, labels), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_labels_resized(s, FRAMES, 10, 10, labels), MV_E_ARGUMENT);
  free(labels);
  free(working);
  free(planes);
  free(resized);
  mv_session_close(s);
}

static void request_errors(mv_video *video) {
  mv_session *s = open_session(video, 1);
  if (!s) return;
  mv_propagation_run *run = (mv_propagation_run *)&run, *first = NULL;
  mv_propagation_request bad[] = {
      {-1, MV_BOTH, -1, 0},  {FRAMES, MV_BOTH, -1, 0}, {3, 0, -1, 0},
      {3, 4, -1, 0},         {3, MV_BOTH, 8, 0},       {3, MV_FORWARD, 2, 0},
      {3, MV_BACKWARD, 4, 0}, {3, MV_FORWARD, FRAMES, 0}, {3, MV_FORWARD, -1, -2},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_FAILS(mv_session_propagation_begin(s, &bad[i], &run), MV_E_ARGUMENT);
    CHECK(run == NULL, "a failed begin returns no run (request %zu)", i);
    printf("  request %zu: %s\n", i, mv_error_message());
  }
  CHECK_FAILS(mv_session_propagation_begin(s, NULL, &run), MV_E_ARGUMENT);
  /* A second begin ends the first run: its steps then fail clearly. */
  draw_square(s, 3, 1);
  mv_propagation_request req = {3, MV_FORWARD, -1, 0};
  int frame, done;
  CHECK_OK(mv_session_propagation_begin(s, &req, &first));
  CHECK_OK(mv_session_propagation_step(first, &frame, &done));
  CHECK_OK(mv_session_propagation_begin(s, &req, &run));
  CHECK_FAILS(mv_session_propagation_step(first, &frame, &done), MV_E_STATE);
  printf("  superseded run: %s\n", mv_error_message());
  CHECK_OK(mv_session_propagation_end(first));
  CHECK_OK(mv_session_propagation_step(run, &frame, &done));
  CHECK(frame == 4, "the new run propagates frame 4, got %d", frame);
  /* Memory control ends the open run too; closing the session detaches it. */
  CHECK_OK(mv_session_add_object(s, NULL));
  CHECK_FAILS(mv_session_propagation_step(run, &frame, &done), MV_E_STATE);
  CHECK_OK(mv_session_propagation_begin(s, &req, &first));
  mv_session_close(s);
  CHECK_FAILS(mv_session_propagation_step(first, &frame, &done), MV_E_STATE);
  CHECK_OK(mv_session_propagation_end(first));
  CHECK_OK(mv_session_propagation_end(run));
  CHECK_OK(mv_session_propagation_end(NULL));
}

int main(void) {
  const char *folder = mv_test_square_video("moving_square", FRAMES, VW, VH, 0);
  CHECK(folder != NULL, "synthetic video written");
  mv_video_options vo;
  mv_video_options_default(&vo);
  vo.short_side = 0;
  mv_video *video = NULL;
  if (folder && CHECK_OK(mv_video_open(folder, &vo, &video))) {
    double t0 = mv_test_now();
    steps_equal_one_shot(video);
    bounds_and_directions(video);
    memory_control(video);
    stable_ids(video);
    box_prompt(video);
    object_mask_import(video);
    resized_labels(video);
    request_errors(video);
    printf("session API checks in %.1f s\n", mv_test_now() - t0);
  }
  mv_video_close(video);
  return mv_test_finish();
}
