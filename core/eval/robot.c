/* The DAVIS interactive scribble robot (spec/EVALUATION.md sections 4.3 and
 * 5): the worst-frame rule, and per label the error mask, the opening with
 * the shrinking radius, the medial axis, the longest skeleton paths and
 * their Bezier curves, normalised by the frame size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval/eval_internal.h"

enum { VOID_LABEL = 255, MAX_BEZIER_POINTS = 1000 };

/* Radii above this would not fit any image we evaluate; it also bounds the
 * footprint allocation. */
static const double MAX_RADIUS_LIMIT = 1024;

void mv_robot_options_default(mv_robot_options *options) {
  if (!options) return;
  options->kernel_size = 0.2;
  options->max_kernel_radius = 16;
  options->min_nb_nodes = 4;
  options->nb_points = 1000;
}

static mv_status check_options(const mv_robot_options *o) {
  const char *fn = "mv_robot_interact";
  MV_CHECK_ARG(isfinite(o->kernel_size) && o->kernel_size >= 0 && o->kernel_size < 1,
               "%s: options.kernel_size %g is not in [0, 1)", fn, o->kernel_size);
  MV_CHECK_ARG(isfinite(o->max_kernel_radius) && o->max_kernel_radius > 0 &&
                   o->max_kernel_radius <= MAX_RADIUS_LIMIT,
               "%s: options.max_kernel_radius %g is not in (0, %g]", fn, o->max_kernel_radius,
               MAX_RADIUS_LIMIT);
  MV_CHECK_ARG(o->min_nb_nodes >= 1, "%s: options.min_nb_nodes %d is below 1", fn,
               o->min_nb_nodes);
  MV_CHECK_ARG(o->nb_points >= 2 && o->nb_points <= MAX_BEZIER_POINTS,
               "%s: options.nb_points %d is not in 2..%d", fn, o->nb_points, MAX_BEZIER_POINTS);
  return MV_OK;
}

void mv_robot_scribble_free(mv_robot_scribble *scribble) {
  if (!scribble) return;
  for (int i = 0; i < scribble->stroke_count; i++) free(scribble->strokes[i].points);
  free(scribble->strokes);
  free(scribble);
}

/* The smoothed error of one label (5.2): O = E for small errors, else the
 * opening with the largest radius r * 0.9^k that leaves something, or
 * nothing once the radius falls to 1. Returns whether O is non-empty. */
static mv_status smooth_error(const uint8_t *error, size_t area, int width, int height,
                              const mv_robot_options *o, uint8_t *opened, int *nonempty) {
  size_t count = (size_t)width * height;
  /* kernel_size * side * .5 in the reference's evaluation order. */
  double radius = o->kernel_size * sqrt((double)area) * 0.5;
  if (radius > o->max_kernel_radius) radius = o->max_kernel_radius;
  if (radius <= 1.0) {
    memcpy(opened, error, count);
    *nonempty = 1;
    return MV_OK;
  }
  *nonempty = 0;
  while (radius > 1.0) {
    MV_TRY(mv_disk_opening(error, width, height, radius, opened));
    for (size_t i = 0; i < count; i++)
      if (opened[i]) {
        *nonempty = 1;
        return MV_OK;
      }
    radius *= 0.9;
  }
  return MV_OK;  /* opened is all zero */
}

static mv_status add_strokes(mv_robot_scribble *sc, int label, const mv_pixel_path *paths,
                             int count, int nb_points) {
  if (count == 0) return MV_OK;
  mv_robot_stroke *grown =
      realloc(sc->strokes, ((size_t)sc->stroke_count + (size_t)count) * sizeof *grown);
  if (!grown) return mv_fail(MV_E_MEMORY, "mv_robot_interact: out of memory for strokes");
  sc->strokes = grown;
  for (int p = 0; p < count; p++) {
    int n = paths[p].count, capacity = n > nb_points ? n : nb_points, written = 0;
    double *points = malloc((size_t)capacity * 2 * sizeof *points);
    if (!points)
      return mv_fail(MV_E_MEMORY, "mv_robot_interact: out of memory for a stroke of %d points",
                     capacity);
    mv_status s = mv_bezier_resample(paths[p].xy, n, nb_points, points, &written);
    if (s != MV_OK) {
      free(points);
      return s;
    }
    for (int m = 0; m < written; m++) {
      points[2 * m] /= sc->width;
      points[2 * m + 1] /= sc->height;
    }
    sc->strokes[sc->stroke_count++] = (mv_robot_stroke){label, written, points};
  }
  return MV_OK;
}

/* Strokes of one label on the chosen frame. scratch: 3 frames of bytes. */
static mv_status label_strokes(const uint8_t *gt, const uint8_t *pred, int label,
                               const mv_robot_options *o, uint8_t *scratch,
                               mv_robot_scribble *sc) {
  int width = sc->width, height = sc->height;
  size_t count = (size_t)width * height, area = 0;
  uint8_t *error = scratch, *opened = scratch + count, *skeleton = scratch + 2 * count;
  for (size_t i = 0; i < count; i++) {
    error[i] = (uint8_t)(gt[i] == label && pred[i] != label);
    area += error[i];
  }
  if (area == 0) return MV_OK;
  int nonempty = 0;
  MV_TRY(smooth_error(error, area, width, height, o, opened, &nonempty));
  if (!nonempty) return MV_OK;
  MV_TRY(mv_medial_axis(opened, width, height, skeleton));
  mv_pixel_path *paths = NULL;
  int path_count = 0;
  MV_TRY(mv_skeleton_paths(skeleton, width, height, o->min_nb_nodes, &paths, &path_count));
  mv_status s = add_strokes(sc, label, paths, path_count, o->nb_points);
  mv_pixel_paths_free(paths, path_count);
  return s;
}

static mv_status check_frame_labels(const uint8_t *labels, const char *which, int frame,
                                    size_t count, int width, int objects, int allow_void) {
  for (size_t i = 0; i < count; i++) {
    int v = labels[i];
    if (v > objects && !(allow_void && v == VOID_LABEL))
      return mv_fail(MV_E_ARGUMENT,
                     "mv_robot_interact: %s label %d at frame %d, pixel (row %zu, column %zu) "
                     "is above objects = %d",
                     which, v, frame, i / (size_t)width, i % (size_t)width, objects);
  }
  return MV_OK;
}

/* The frame with the lowest mean J over objects, first on ties. */
static mv_status lowest_j_frame(const uint8_t *gt, const uint8_t *pred, int frame_count,
                                int width, int height, int objects, int *frame) {
  double *j = malloc((size_t)frame_count * objects * sizeof *j);
  if (!j) return mv_fail(MV_E_MEMORY, "mv_robot_interact: out of memory for J values");
  mv_status s = mv_evaluate_sequence(pred, gt, frame_count, width, height, objects, j, NULL);
  if (s != MV_OK) {
    free(j);
    return mv_fail_context(s, "mv_robot_interact: choosing the lowest-J frame");
  }
  double best = INFINITY;
  for (int t = 0; t < frame_count; t++) {
    double sum = 0;
    for (int k = 0; k < objects; k++) sum += j[(size_t)t * objects + k];
    double mean = sum / objects;
    if (mean < best) best = mean, *frame = t;
  }
  free(j);
  return MV_OK;
}

mv_status mv_robot_interact(const uint8_t *gt_labels, const uint8_t *pred_labels,
                            int frame_count, int width, int height, int objects, int frame,
                            const mv_robot_options *options, mv_robot_scribble **out) {
  const char *fn = "mv_robot_interact";
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(gt_labels, "%s: gt_labels is NULL", fn);
  MV_CHECK_ARG(pred_labels, "%s: pred_labels is NULL", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: size %d x %d is not positive", fn, width, height);
  MV_CHECK_ARG(frame_count > 0, "%s: frame_count %d is not positive", fn, frame_count);
  MV_CHECK_ARG(objects >= 1 && objects <= MV_EVAL_MAX_OBJECTS, "%s: objects %d is not in 1..%d",
               fn, objects, MV_EVAL_MAX_OBJECTS);
  MV_CHECK_ARG(frame >= -1 && frame < frame_count,
               "%s: frame %d is not -1 (worst J) or in 0..%d", fn, frame, frame_count - 1);
  mv_robot_options defaults;
  mv_robot_options_default(&defaults);
  const mv_robot_options *o = options ? options : &defaults;
  MV_TRY(check_options(o));
  if (frame < 0)
    MV_TRY(lowest_j_frame(gt_labels, pred_labels, frame_count, width, height, objects, &frame));
  size_t count = (size_t)width * height;
  const uint8_t *gt = gt_labels + (size_t)frame * count;
  const uint8_t *pred = pred_labels + (size_t)frame * count;
  MV_TRY(check_frame_labels(gt, "gt", frame, count, width, objects, 1));
  MV_TRY(check_frame_labels(pred, "pred", frame, count, width, objects, 0));

  mv_robot_scribble *sc = calloc(1, sizeof *sc);
  uint8_t *scratch = malloc(3 * count);
  if (!sc || !scratch) {
    free(sc), free(scratch);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for %d x %d", fn, width, height);
  }
  sc->frame = frame;
  sc->frame_count = frame_count;
  sc->width = width;
  sc->height = height;
  mv_status s = MV_OK;
  /* Background (negative strokes) first, then objects 1..K. */
  for (int label = 0; label <= objects && s == MV_OK; label++)
    s = label_strokes(gt, pred, label, o, scratch, sc);
  free(scratch);
  if (s != MV_OK) {
    mv_robot_scribble_free(sc);
    return s;
  }
  *out = sc;
  return MV_OK;
}

mv_status mv_robot_next_frame(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_metric metric, const int *candidates, int candidate_count,
                              uint8_t *used, int *frame) {
  const char *fn = "mv_robot_next_frame";
  MV_CHECK_ARG(frame, "%s: frame is NULL", fn);
  *frame = -1;
  MV_CHECK_ARG(frame_count > 0, "%s: frame_count %d is not positive", fn, frame_count);
  MV_CHECK_ARG(objects >= 1, "%s: objects %d is not positive", fn, objects);
  MV_CHECK_ARG(metric == MV_EVAL_METRIC_JF || metric == MV_EVAL_METRIC_J ||
                   metric == MV_EVAL_METRIC_F,
               "%s: metric %d is not MV_EVAL_METRIC_JF, _J or _F", fn, (int)metric);
  MV_CHECK_ARG(j || metric == MV_EVAL_METRIC_F, "%s: j is NULL (needed by the metric)", fn);
  MV_CHECK_ARG(f || metric == MV_EVAL_METRIC_J, "%s: f is NULL (needed by the metric)", fn);
  MV_CHECK_ARG(candidate_count >= 0, "%s: candidate_count %d is negative", fn, candidate_count);
  MV_CHECK_ARG(candidates || candidate_count == 0, "%s: candidates is NULL but count is %d", fn,
               candidate_count);
  size_t values = (size_t)frame_count * objects;
  for (size_t i = 0; i < values; i++) {
    int bad_j = metric != MV_EVAL_METRIC_F && !isfinite(j[i]);
    int bad_f = metric != MV_EVAL_METRIC_J && !isfinite(f[i]);
    if (bad_j || bad_f)
      return mv_fail(MV_E_ARGUMENT, "%s: %s of frame %zu, object %zu is not finite", fn,
                     bad_j ? "J" : "F", i / objects, i % objects + 1);
  }
  uint8_t *allowed = calloc((size_t)frame_count, 1);
  if (!allowed) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  /* C: the valid candidates, or all frames when none is given (or valid). */
  int any = 0;
  for (int i = 0; i < candidate_count; i++)
    if (candidates[i] >= 0 && candidates[i] < frame_count) allowed[candidates[i]] = 1, any = 1;
  if (!any) memset(allowed, 1, (size_t)frame_count);
  /* U covering every frame counts as empty; C minus U, or C if that is empty. */
  int all_used = 1, left = 0;
  for (int t = 0; t < frame_count; t++) all_used &= used && used[t];
  for (int t = 0; t < frame_count; t++) left |= allowed[t] && !(used && !all_used && used[t]);
  int best = -1;
  double best_score = 0;
  for (int t = 0; t < frame_count; t++) {
    if (!allowed[t]) continue;
    if (left && used && !all_used && used[t]) continue;
    double sum = 0;
    for (int k = 0; k < objects; k++) {
      size_t i = (size_t)t * objects + k;
      sum += metric == MV_EVAL_METRIC_J   ? j[i]
             : metric == MV_EVAL_METRIC_F ? f[i]
                                          : 0.5 * j[i] + 0.5 * f[i];
    }
    double score = sum / objects;
    if (best < 0 || score < best_score) best = t, best_score = score;  /* ties: lowest t */
  }
  free(allowed);
  if (used) used[best] = 1;
  *frame = best;
  return MV_OK;
}
