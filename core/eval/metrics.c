/* J and F per object and frame (spec/EVALUATION.md sections 1-2). */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "eval/eval_internal.h"

enum { VOID_LABEL = 255 };

/* The official bound_th: a fraction of the image diagonal. */
static const double BOUND_TH = 0.008;

int mv_boundary_tolerance(int width, int height) {
  if (width <= 0 || height <= 0) return 0;
  /* np.linalg.norm(shape) then ceil(bound_th * norm), as f_measure does. */
  double diagonal = sqrt((double)height * height + (double)width * width);
  return (int)ceil(BOUND_TH * diagonal);
}

static mv_status check_masks(const char *fn, const void *pred, const void *gt, int width,
                             int height, const void *out) {
  MV_CHECK_ARG(pred, "%s: pred is NULL", fn);
  MV_CHECK_ARG(gt, "%s: gt is NULL", fn);
  MV_CHECK_ARG(out, "%s: output pointer is NULL", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: size %d x %d is not positive", fn, width, height);
  return MV_OK;
}

static double jaccard_counts(const uint8_t *pred, const uint8_t *gt, size_t count) {
  size_t inter = 0, uni = 0;
  for (size_t i = 0; i < count; i++) {
    int p = pred[i] != 0, g = gt[i] != 0;
    inter += (size_t)(p & g);
    uni += (size_t)(p | g);
  }
  return uni == 0 ? 1.0 : (double)inter / (double)uni;
}

mv_status mv_jaccard(const uint8_t *pred, const uint8_t *gt, int width, int height, double *j) {
  MV_TRY(check_masks("mv_jaccard", pred, gt, width, height, j));
  *j = jaccard_counts(pred, gt, (size_t)width * height);
  return MV_OK;
}

mv_status mv_boundary_f(const uint8_t *pred, const uint8_t *gt, int width, int height,
                        double *f) {
  MV_TRY(check_masks("mv_boundary_f", pred, gt, width, height, f));
  return mv_boundary_f_tol(pred, gt, width, height, mv_boundary_tolerance(width, height), f);
}

static mv_status check_labels(const char *fn, const char *which, const uint8_t *labels,
                              size_t count, int width, int objects, int allow_void) {
  for (size_t i = 0; i < count; i++) {
    int v = labels[i];
    if (v > objects && !(allow_void && v == VOID_LABEL))
      return mv_fail(MV_E_ARGUMENT,
                     "%s: %s label %d at pixel (row %zu, column %zu) is above objects = %d%s", fn,
                     which, v, i / (size_t)width, i % (size_t)width, objects,
                     allow_void ? " (255 = void is allowed)" : "");
  }
  return MV_OK;
}

/* Evaluates one frame whose labels were already checked; pm/gm: scratch. */
static mv_status evaluate_checked(const uint8_t *pred, const uint8_t *gt, int width, int height,
                                  int objects, int tol, double *j, double *f, uint8_t *pm,
                                  uint8_t *gm) {
  size_t count = (size_t)width * height;
  for (int k = 1; k <= objects; k++) {
    /* Void pixels are cleared from both masks (section 1 and 2.3). */
    for (size_t i = 0; i < count; i++) {
      int is_void = gt[i] == VOID_LABEL;
      pm[i] = (uint8_t)(pred[i] == k && !is_void);
      gm[i] = (uint8_t)(gt[i] == k);
    }
    if (j) j[k - 1] = jaccard_counts(pm, gm, count);
    if (f) MV_TRY(mv_boundary_f_tol(pm, gm, width, height, tol, &f[k - 1]));
  }
  return MV_OK;
}

static mv_status check_label_args(const char *fn, const uint8_t *pred, const uint8_t *gt,
                                  int frame_count, int width, int height, int objects) {
  MV_CHECK_ARG(pred, "%s: pred_labels is NULL", fn);
  MV_CHECK_ARG(gt, "%s: gt_labels is NULL", fn);
  MV_CHECK_ARG(width > 0 && height > 0, "%s: size %d x %d is not positive", fn, width, height);
  MV_CHECK_ARG(frame_count > 0, "%s: frame_count %d is not positive", fn, frame_count);
  MV_CHECK_ARG(objects >= 1 && objects <= MV_EVAL_MAX_OBJECTS,
               "%s: objects %d is not in 1..%d", fn, objects, MV_EVAL_MAX_OBJECTS);
  return MV_OK;
}

mv_status mv_evaluate_sequence(const uint8_t *pred_labels, const uint8_t *gt_labels,
                               int frame_count, int width, int height, int objects, double *j,
                               double *f) {
  const char *fn = "mv_evaluate_sequence";
  MV_TRY(check_label_args(fn, pred_labels, gt_labels, frame_count, width, height, objects));
  size_t frame = (size_t)width * height;
  for (int t = 0; t < frame_count; t++) {
    const uint8_t *p = pred_labels + (size_t)t * frame, *g = gt_labels + (size_t)t * frame;
    mv_status s = check_labels(fn, "pred", p, frame, width, objects, 0);
    if (s == MV_OK) s = check_labels(fn, "gt", g, frame, width, objects, 1);
    if (s != MV_OK) return mv_fail_context(s, "frame %d", t);
  }
  uint8_t *pm = malloc(frame), *gm = malloc(frame);
  if (!pm || !gm) {
    free(pm), free(gm);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for %d x %d", fn, width, height);
  }
  int tol = mv_boundary_tolerance(width, height);
  mv_status s = MV_OK;
  for (int t = 0; t < frame_count && s == MV_OK; t++)
    s = evaluate_checked(pred_labels + (size_t)t * frame, gt_labels + (size_t)t * frame, width,
                         height, objects, tol, j ? j + (size_t)t * objects : NULL,
                         f ? f + (size_t)t * objects : NULL, pm, gm);
  free(pm);
  free(gm);
  return s;
}

mv_status mv_evaluate_frame(const uint8_t *pred_labels, const uint8_t *gt_labels, int width,
                            int height, int objects, double *j, double *f) {
  const char *fn = "mv_evaluate_frame";
  MV_TRY(check_label_args(fn, pred_labels, gt_labels, 1, width, height, objects));
  size_t frame = (size_t)width * height;
  MV_TRY(check_labels(fn, "pred", pred_labels, frame, width, objects, 0));
  MV_TRY(check_labels(fn, "gt", gt_labels, frame, width, objects, 1));
  return mv_evaluate_sequence(pred_labels, gt_labels, 1, width, height, objects, j, f);
}
