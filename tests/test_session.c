/* The session engine end to end with the weight-free modules (strokecut +
 * labelprop + linear): a DAVIS sequence driven by the scribble robot, the
 * editing operations, argument errors, and the memory bounds on a long
 * synthetic video. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/engine.h"
#include "json.h"
#include "propagation/labelprop.h"
#include "nets/preprocess.h"
#include "interaction/raster.h"
#include "square_video.h"
#include "testutil.h"

/* mean J of the session's labels against ground truth over all frames. */
static double mean_jaccard(mv_session *s, const uint8_t *gt, int frames, int w, int h,
                           uint8_t *labels_out) {
  double sum = 0;
  for (int t = 0; t < frames; t++) {
    uint8_t *labels = labels_out + (size_t)t * w * h;
    double j = 0;
    CHECK_OK(mv_session_labels(s, t, labels));
    CHECK_OK(mv_jaccard(labels, gt + (size_t)t * w * h, w, h, &j));
    sum += j;
  }
  return sum / frames;
}

/* One robot interaction (frame -1: the worst frame) turned into scribble
 * maps, an interaction (the default backend) and a propagation. Returns the frame. */
static int robot_round(mv_session *s, const uint8_t *gt, const uint8_t *pred, int frames, int w,
                       int h, int frame) {
  mv_robot_scribble *scribble = NULL;
  if (!CHECK_OK(mv_robot_interact(gt, pred, frames, w, h, 1, frame, NULL, &scribble))) return -1;
  static char json[1 << 20];
  size_t length = 0;
  mv_json *root = NULL;
  int16_t *labels = malloc((size_t)w * h * sizeof *labels);
  uint8_t *pos = malloc((size_t)w * h), *neg = malloc((size_t)w * h);
  int chosen = scribble->frame;
  if (CHECK_OK(mv_robot_scribble_json(scribble, "test", json, sizeof json, &length)) &&
      CHECK_OK(mv_json_parse(json, length, "robot", &root)) &&
      CHECK_OK(mv_scribbles_from_davis_json(root, chosen, w, h, 3, labels)) &&
      CHECK_OK(mv_scribbles_split(labels, w, h, 1, pos, neg))) {
    CHECK_OK(mv_session_interact_maps(s, chosen, 1, pos, neg, NULL));
    CHECK_OK(mv_session_propagate(s, chosen, NULL, NULL));
  }
  mv_json_free(root);
  mv_robot_scribble_free(scribble);
  free(labels);
  free(pos);
  free(neg);
  return chosen;
}

/* The frame of lowest J among those not interacted on (frame 0 is): the
 * correction of this test goes to a new frame, so that the fusion of two
 * sources is what it checks. */
static int worst_new_frame(const uint8_t *gt, const uint8_t *pred, int frames, int w, int h) {
  int worst = 1;
  double worst_j = 2;
  for (int t = 1; t < frames; t++) {
    double j = 0;
    CHECK_OK(mv_jaccard(pred + (size_t)t * w * h, gt + (size_t)t * w * h, w, h, &j));
    if (j < worst_j) worst_j = j, worst = t;
  }
  return worst;
}

/* DAVIS 2016 sequence at 240p: robot scribble on frame 0, propagate, one
 * correction on the worst frame not interacted on yet, propagate. */
static void davis_loop(const char *sequence, double threshold) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", mv_shared_path("data/davis2016/JPEGImages/480p"), sequence);
  mv_video_options vo;
  mv_video_options_default(&vo);
  vo.short_side = 240;
  mv_video *video = NULL;
  if (!CHECK_OK(mv_video_open(path, &vo, &video))) return;
  mv_video_info info;
  CHECK_OK(mv_video_get_info(video, &info));
  int T = info.frame_count, w = info.width, h = info.height;
  size_t plane = (size_t)w * h;
  uint8_t *gt = malloc(plane * T), *pred = malloc(plane * T);
  for (int t = 0; t < T; t++) {
    snprintf(path, sizeof path, "%s/%s/%05d.png",
             mv_shared_path("data/davis2016/Annotations/480p"), sequence, t);
    CHECK_OK(mv_mask_read_labels(path, w, h, gt + plane * t));
  }
  mv_session *s = NULL;
  if (CHECK_OK(mv_session_open(video, NULL, &s))) {
    mv_session_info si;
    CHECK_OK(mv_session_get_info(s, &si));
    CHECK(!strcmp(si.interaction, "strokecut") &&
              !strcmp(si.propagation, "labelprop-flow+shift+refine") &&
              !strcmp(si.fusion, "conservative+agreement"),
          "weight-free defaults, got %s + %s + %s", si.interaction, si.propagation, si.fusion);
    memset(pred, 0, plane * T);
    double t0 = mv_test_now();
    robot_round(s, gt, pred, T, w, h, 0);
    double j1 = mean_jaccard(s, gt, T, w, h, pred);
    int second = robot_round(s, gt, pred, T, w, h, worst_new_frame(gt, pred, T, w, h));
    double j2 = mean_jaccard(s, gt, T, w, h, pred);
    printf("%s %dx%d, %d frames: mean J %.4f after round 1, %.4f after a correction on frame %d "
           "(%.1f s)\n",
           sequence, w, h, T, j1, j2, second, mv_test_now() - t0);
    CHECK(j1 > threshold, "%s: mean J after round 1 %.4f <= %.2f", sequence, j1, threshold);
    CHECK(j2 >= j1 - 0.01, "%s: the correction made mean J worse: %.4f -> %.4f", sequence, j1, j2);
    CHECK_OK(mv_session_get_info(s, &si));
    CHECK(si.interacted_frames == 2, "two frames interacted on, got %d", si.interacted_frames);
  }
  mv_session_close(s);
  mv_video_close(video);
  free(gt);
  free(pred);
}

static int count_label(const uint8_t *labels, size_t n, int value) {
  int count = 0;
  for (size_t i = 0; i < n; i++) count += labels[i] == value;
  return count;
}

static void editing_and_errors(mv_video *video, int w, int h) {
  size_t n = (size_t)w * h;
  mv_session_options o;
  mv_session_options_default(&o);
  o.objects = 2;
  mv_session *s = NULL;
  if (!CHECK_OK(mv_session_open(video, &o, &s))) return;
  uint8_t *labels = calloc(n, 1), *before = calloc(n, 1);
  /* A square for object 1 drawn free-hand, a lasso for object 2. */
  float square[8] = {8, 10, 23.5f, 10, 23.5f, 25.5f, 8, 25.5f};
  CHECK_OK(mv_session_draw(s, 0, 1, square, 4, 0, 0));
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(count_label(labels, n, 1) > 200, "drawn object 1 has %d pixels", count_label(labels, n, 1));
  float corner[8] = {44, 32, 59.5f, 32, 59.5f, 43.5f, 44, 43.5f};
  CHECK_OK(mv_session_draw(s, 0, 2, corner, 4, 0, 0));
  memcpy(before, labels, n);
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(count_label(labels, n, 2) > 50, "drawn object 2 has %d pixels", count_label(labels, n, 2));
  /* Undo restores the previous map exactly. */
  CHECK_OK(mv_session_undo(s, 0));
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(!memcmp(labels, before, n), "undo restores the frame's previous labels");
  CHECK_OK(mv_session_draw(s, 0, 2, corner, 4, 0, 0));
  /* Erasing with the brush removes pixels of object 1. */
  float line[4] = {8, 18, 24, 18};
  CHECK_OK(mv_session_draw(s, 0, 1, line, 2, 2, 1));
  CHECK_OK(mv_session_labels(s, 0, labels));
  CHECK(labels[18 * w + 15] == 0 && labels[12 * w + 15] == 1, "brush erase clears its stroke only");
  /* Propagation carries both objects to the other frames. */
  CHECK_OK(mv_session_propagate(s, 0, NULL, NULL));
  CHECK_OK(mv_session_labels(s, 3, labels));
  CHECK(count_label(labels, n, 1) > 100 && count_label(labels, n, 2) > 20,
        "frame 3 after propagation: object 1 %d px, object 2 %d px", count_label(labels, n, 1),
        count_label(labels, n, 2));
  /* Objects: add (empty everywhere), reset, delete (ids move down). */
  int added = 0;
  CHECK_OK(mv_session_add_object(s, &added));
  CHECK(added == 3, "added object id %d", added);
  CHECK_OK(mv_session_labels(s, 3, labels));
  CHECK(count_label(labels, n, 3) == 0, "a new object starts empty");
  float blob[8] = {2, 40, 10, 40, 10, 46, 2, 46};
  CHECK_OK(mv_session_draw(s, 5, 3, blob, 4, 0, 0));
  CHECK_OK(mv_session_reset_object(s, 1));
  CHECK_OK(mv_session_labels(s, 3, labels));
  CHECK(count_label(labels, n, 1) == 0 && count_label(labels, n, 2) > 20,
        "reset object 1 empties it and keeps object 2");
  CHECK_OK(mv_session_delete_object(s, 1));
  mv_session_info si;
  CHECK_OK(mv_session_get_info(s, &si));
  CHECK(si.objects == 2, "two objects after a deletion, got %d", si.objects);
  CHECK_OK(mv_session_labels(s, 5, labels));
  CHECK(count_label(labels, n, 3) > 20 && count_label(labels, n, 1) == 0,
        "after deleting object 1 the drawn object 3 keeps its id (%d px)", count_label(labels, n, 3));
  CHECK_OK(mv_session_reset_frame(s, 5));
  CHECK_OK(mv_session_labels(s, 5, labels));
  CHECK(count_label(labels, n, 0) == (int)n, "reset frame clears it");
  CHECK_OK(mv_session_propagate(s, 5, NULL, NULL));

  /* Errors: clear statuses with messages, nothing changes. */
  mv_stroke stroke = {line, 2, 3, 1};
  CHECK_FAILS(mv_session_scribble(s, -1, 1, &stroke, 1, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_scribble(s, 1000, 1, &stroke, 1, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_scribble(s, 0, 7, &stroke, 1, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_scribble(s, 0, 1, &stroke, 0, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_scribble(s, 0, 1, NULL, 1, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_click(s, 0, 1, (float)w + 3, 2, 1, NULL), MV_E_ARGUMENT);
  mv_region outside = {0, 0, w, h, 4};
  CHECK_FAILS(mv_session_scribble(s, 0, 1, &stroke, 1, &outside), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_propagate(s, -2, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_undo(s, 7), MV_E_STATE);
  memset(labels, 9, n);
  CHECK_FAILS(mv_session_set_labels(s, 0, labels), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_set_interaction(s, "no-such-backend"), MV_E_ARGUMENT);
  CHECK_FAILS(mv_session_set_interaction(s, "s2m"), MV_E_STATE);
  CHECK_FAILS(mv_session_delete_object(s, 5), MV_E_ARGUMENT);
  mv_session_close(s);

  mv_session *bad = NULL;
  o.propagation = "optical-flow";
  CHECK_FAILS(mv_session_open(video, &o, &bad), MV_E_ARGUMENT);
  o.propagation = "network";
  CHECK_FAILS(mv_session_open(video, &o, &bad), MV_E_ARGUMENT);
  o.propagation = NULL;
  o.weights = "/nonexistent/weights";
  CHECK_FAILS(mv_session_open(video, &o, &bad), MV_E_IO);
  CHECK(bad == NULL, "a failed open returns no session");
  free(labels);
  free(before);
}

/* Stop from the progress callback after 3 frames: those keep their result. */
static int stop_after_three(void *user, int done, int total) {
  (void)user;
  (void)total;
  return done >= 3;
}

typedef struct frames_source {
  mv_video *video;
  int w, h;
} frames_source;

static mv_status read_frame(void *user, int t, mv_tensor *out) {
  const frames_source *f = user;
  const uint8_t *rgb;
  mv_status s = mv_video_frame(f->video, t, &rgb);
  if (s != MV_OK) return s;
  return mv_preprocess_frame(rgb, f->h, f->w, mv_padding_for(f->h, f->w, 16), out);
}

/* The square of the synthetic video on its first frame, as background and
 * object planes of w x h. */
static void square_mask(float *mask, int w, int h) {
  size_t n = (size_t)w * h;
  for (size_t i = 0; i < n; i++) {
    int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
    int inside = x >= 8 && x < 24 && y >= 10 && y < 26;
    mask[i] = inside ? 0.0f : 1.0f;
    mask[n + i] = inside ? 1.0f : 0.0f;
  }
}

/* A long video with memory every frame, a bank bound that forces the
 * memory ring to wrap and a host bound that forces 16-bit storage: the
 * propagation completes inside the bounds and still tracks. */
static void memory_bounds(mv_video *video, int frames, int w, int h) {
  size_t n = (size_t)w * h;
  frames_source source = {video, w, h};
  mv_propagator propagator;
  mv_fuser fuser;
  mv_engine *engine = NULL;
  size_t bank_limit = 64u << 10, host_limit = 64u << 10;
  mv_engine_config config = {frames, 1, h, w, 1, 256u << 10, bank_limit, host_limit};
  if (!CHECK_OK(mv_propagator_labelprop(NULL, &propagator)) || !CHECK_OK(mv_fuser_linear(&fuser)) ||
      !CHECK_OK(mv_engine_create(&config, propagator, &fuser, read_frame, &source, &engine)))
    return;
  float *mask = calloc(2 * n, sizeof *mask);
  uint8_t *labels = malloc(n);
  square_mask(mask, w, h);
  CHECK_OK(mv_engine_interact(engine, 0, mask, stop_after_three, NULL));
  CHECK_OK(mv_engine_labels(engine, 3, labels));
  int tracked3 = count_label(labels, n, 1);
  CHECK_OK(mv_engine_labels(engine, 4, labels));
  CHECK(tracked3 > 100 && count_label(labels, n, 1) == 0,
        "stopping after 3 frames: frame 3 has %d px, frame 4 %d px", tracked3,
        count_label(labels, n, 1));
  CHECK_OK(mv_engine_interact(engine, 0, mask, NULL, NULL));
  mv_engine_memory use;
  mv_engine_memory_use(engine, &use);
  CHECK_OK(mv_engine_labels(engine, frames - 1, labels));
  int last = count_label(labels, n, 1);
  size_t plane = (size_t)(h + 16 - h % 16) * (w + 16 - w % 16);
  printf("memory bounds: %d frames, peak bank %zu bytes (bound %zu), host %zu bytes "
         "(%s), last frame %d px\n",
         frames, use.peak_bank_bytes, bank_limit, use.host_bytes,
         use.quantized ? "16-bit" : "float32", last);
  CHECK(use.peak_bank_bytes <= bank_limit, "bank %zu bytes within %zu", use.peak_bank_bytes,
        bank_limit);
  CHECK(use.quantized && use.host_bytes <= (size_t)frames * 2 * plane * sizeof(uint16_t),
        "host probabilities at 16 bits: %zu bytes", use.host_bytes);
  CHECK(last > 100, "the square is still tracked at the last frame (%d px)", last);
  free(mask);
  free(labels);
  mv_engine_free(engine);
}

/* The weight-free propagators' own bound on memory frames
 * (MV_LABELPROP_MEMORY_FRAMES besides the interacted ones): with memory
 * every frame and no byte bound, a 240-frame pass keeps a bank of at most
 * 1 + 24 slots, against one slot per frame without it, and still tracks. */
static void memory_frames_bound(mv_video *video, int frames, int w, int h) {
  size_t n = (size_t)w * h, peak[2] = {0, 0};
  int last[2] = {0, 0};
  frames_source source = {video, w, h};
  float *mask = calloc(2 * n, sizeof *mask);
  uint8_t *labels = malloc(n);
  square_mask(mask, w, h);
  for (int bounded = 0; bounded < 2; bounded++) {
    mv_propagator propagator;
    mv_fuser fuser;
    mv_engine *engine = NULL;
    mv_engine_config config = {frames, 1, h, w, 1, 256u << 20, 0, 256u << 20};
    if (!CHECK_OK(mv_propagator_labelprop(NULL, &propagator)) || !CHECK_OK(mv_fuser_linear(&fuser)))
      break;
    CHECK(propagator.memory_frames == MV_LABELPROP_MEMORY_FRAMES, "labelprop reads %d memory frames",
          propagator.memory_frames);
    if (!bounded) propagator.memory_frames = 0;
    if (!CHECK_OK(mv_engine_create(&config, propagator, &fuser, read_frame, &source, &engine)))
      break;
    mv_engine_memory use;
    CHECK_OK(mv_engine_interact(engine, 0, mask, NULL, NULL));
    mv_engine_memory_use(engine, &use);
    peak[bounded] = use.peak_bank_bytes;
    CHECK_OK(mv_engine_labels(engine, frames - 1, labels));
    last[bounded] = count_label(labels, n, 1);
    mv_engine_free(engine);
  }
  printf("memory frames: bank %zu bytes with the bound, %zu without; last frame %d / %d px\n",
         peak[1], peak[0], last[1], last[0]);
  CHECK(peak[1] > 0 && peak[1] <= (1 + MV_LABELPROP_MEMORY_FRAMES) * (peak[0] / frames),
        "bank of 1 + %d slots: %zu bytes (one slot per frame: %zu)", MV_LABELPROP_MEMORY_FRAMES,
        peak[1], peak[0]);
  /* measured: 108 px (174 unbounded) of the 256-px square, which jumps back every 24 frames */
  CHECK(last[1] > 100, "the bounded memory still tracks: %d px on the last frame", last[1]);
  free(mask);
  free(labels);
}

/* A fuser that asks to fuse passes again when they end (second_fusion):
 * it keeps the new round while a pass runs and the previous result once
 * the pass's agreement is known, and logs what it was given. */
typedef struct recording_fuser {
  int calls, again, first_again;
  float agreement;
} recording_fuser;

static mv_status recording_fuse(void *self, const mv_fusion_input *in, mv_tensor *out) {
  recording_fuser *r = self;
  r->calls++;
  const mv_tensor *kept = in->current;
  if (in->pass_agreement >= 0) {
    if (!r->again++) r->first_again = in->ti;
    r->agreement = in->pass_agreement;
    kept = in->previous;
  }
  int allocated = 0;
  mv_status s = mv_tensor_prepare(out, kept->n, kept->c, kept->h, kept->w, "recording", "out",
                                  &allocated);
  return s == MV_OK ? mv_tensor_copy(kept, out) : s;
}

static void recording_destroy(void *self) { (void)self; }

/* A pass bounded by an earlier interaction is fused frame by frame and,
 * once it reaches the frame before that interaction, fused again with its
 * measured agreement there; a run cut before that point is not. */
static void second_fusions(mv_video *video, int frames, int w, int h) {
  size_t n = (size_t)w * h;
  frames_source source = {video, w, h};
  static const mv_fuser_ops ops = {recording_fuse, recording_destroy};
  recording_fuser rec = {0};
  mv_fuser fuser = {&ops, &rec, "recording", 0, 1};
  mv_propagator propagator;
  mv_engine *engine = NULL;
  mv_engine_config config = {frames, 1, h, w, 5, 64u << 20, 0, 0};
  if (!CHECK_OK(mv_propagator_labelprop(NULL, &propagator)) ||
      !CHECK_OK(mv_engine_create(&config, propagator, &fuser, read_frame, &source, &engine)))
    return;
  float *mask = calloc(2 * n, sizeof *mask);
  uint8_t *labels = malloc(n), *first = malloc(10 * n);
  square_mask(mask, w, h);
  CHECK_OK(mv_engine_interact(engine, 0, mask, NULL, NULL));
  CHECK(rec.calls == 0, "the first round has nothing to fuse (%d calls)", rec.calls);
  for (int t = 1; t < 10; t++) CHECK_OK(mv_engine_labels(engine, t, first + (size_t)t * n));
  /* the new round differs from the first: an empty mask at frame 10 */
  for (size_t i = 0; i < n; i++) mask[i] = 1.0f, mask[n + i] = 0.0f;
  CHECK_OK(mv_engine_interact(engine, 10, mask, NULL, NULL));
  CHECK(rec.calls == 18 && rec.again == 9 && rec.first_again == 9,
        "frames 9..1 fused twice, the second time from frame 9 (%d calls, %d again, from %d)",
        rec.calls, rec.again, rec.first_again);
  /* the pass read frame 0 with the empty mask's memory: its square there is gone */
  CHECK(rec.agreement >= 0 && rec.agreement < 0.5f,
        "the pass's agreement at frame 0 with the square: %.3f", (double)rec.agreement);
  int same = 1;
  for (int t = 1; t < 10; t++) {
    CHECK_OK(mv_engine_labels(engine, t, labels));
    same &= !memcmp(labels, first + (size_t)t * n, n);
  }
  CHECK(same, "frames 1..9 hold what the second fusion kept (the first round)");
  mv_engine_run *run = NULL;
  rec = (recording_fuser){0};
  if (CHECK_OK(mv_engine_begin(engine, 20, mask, 1, 2, -1, 3, &run))) {
    int t, done = 0;
    while (!done) CHECK_OK(mv_engine_step(run, &t, &done));
    mv_engine_end(run);
  }
  CHECK(rec.calls == 3 && rec.again == 0,
        "a run cut after 3 frames is fused once (%d calls, %d again)", rec.calls, rec.again);
  free(mask);
  free(labels);
  free(first);
  mv_engine_free(engine);
}

int main(int argc, char **argv) {
  int w = 64, h = 48, frames = 240;
  const char *folder = mv_test_square_video("square", frames, w, h, 24);
  CHECK(folder != NULL, "synthetic video written");
  if (folder) {
    mv_video_options vo;
    mv_video_options_default(&vo);
    vo.short_side = 0;
    mv_video *video = NULL;
    if (CHECK_OK(mv_video_open(folder, &vo, &video))) {
      editing_and_errors(video, w, h);
      memory_bounds(video, frames, w, h);
      memory_frames_bound(video, frames, w, h);
      second_fusions(video, frames, w, h);
    }
    mv_video_close(video);
  }
  /* Measured here: mean J 0.898 after round 1, 0.909 after the correction. */
  davis_loop(argc > 1 ? argv[1] : "blackswan", argc > 2 ? atof(argv[2]) : 0.8);
  return mv_test_finish();
}
