/* Per-object and dataset aggregates of J and F (spec/EVALUATION.md
 * section 3, davis2017 db_statistics). */
#include <math.h>
#include <stdlib.h>

#include "error.h"

static double mean_range(const double *v, int first, int last, size_t stride) {
  double sum = 0;
  for (int i = first; i <= last; i++) sum += v[(size_t)i * stride];
  return sum / (last - first + 1);
}

static mv_status statistics(const char *fn, const double *v, int count, size_t stride,
                            mv_eval_statistics *out) {
  for (int i = 0; i < count; i++)
    if (!isfinite(v[(size_t)i * stride]))
      return mv_fail(MV_E_ARGUMENT, "%s: value %d is not finite (%g)", fn, i,
                     v[(size_t)i * stride]);
  int above = 0;
  for (int i = 0; i < count; i++) above += v[(size_t)i * stride] > 0.5;
  /* Bin edges b_i = round(1 + i (N-1)/4) - 1 with halves rounded up (the
   * reference adds 1e-10 before np.round); i (N-1)/4 is a multiple of 1/4,
   * so integer arithmetic gives it exactly. */
  int b[5];
  for (int i = 0; i < 5; i++) b[i] = (int)(((long long)i * (count - 1) + 6) / 4) - 1;
  out->mean = mean_range(v, 0, count - 1, stride);
  out->recall = (double)above / count;
  out->decay = mean_range(v, b[0], b[1], stride) - mean_range(v, b[3], b[4], stride);
  return MV_OK;
}

mv_status mv_eval_statistics_compute(const double *values, int count, mv_eval_statistics *out) {
  MV_CHECK_ARG(values && out, "mv_eval_statistics_compute: %s is NULL",
               values ? "out" : "values");
  MV_CHECK_ARG(count >= 1, "mv_eval_statistics_compute: count %d is not positive", count);
  return statistics("mv_eval_statistics_compute", values, count, 1, out);
}

mv_status mv_evaluate_objects(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_frames frames, mv_object_score *out) {
  const char *fn = "mv_evaluate_objects";
  MV_CHECK_ARG(j && f && out, "%s: %s is NULL", fn, !j ? "j" : !f ? "f" : "out");
  MV_CHECK_ARG(objects >= 1, "%s: objects %d is not positive", fn, objects);
  MV_CHECK_ARG(frames == MV_EVAL_ALL_FRAMES || frames == MV_EVAL_SEMI_SUPERVISED,
               "%s: frames %d is not MV_EVAL_ALL_FRAMES or MV_EVAL_SEMI_SUPERVISED", fn,
               (int)frames);
  int first = 0, count = frame_count;
  if (frames == MV_EVAL_SEMI_SUPERVISED) {
    MV_CHECK_ARG(frame_count >= 3,
                 "%s: semi-supervised scoring (frames 1..T-2) needs T >= 3, got %d", fn,
                 frame_count);
    first = 1, count = frame_count - 2;
  }
  MV_CHECK_ARG(count >= 1, "%s: frame_count %d is not positive", fn, frame_count);
  for (int k = 0; k < objects; k++) {
    size_t offset = (size_t)first * objects + k;
    MV_TRY(statistics(fn, j + offset, count, (size_t)objects, &out[k].j));
    MV_TRY(statistics(fn, f + offset, count, (size_t)objects, &out[k].f));
    out[k].jf = (out[k].j.mean + out[k].f.mean) / 2;
  }
  return MV_OK;
}

mv_status mv_evaluate_dataset(const mv_object_score *scores, int count, double *j, double *f,
                              double *jf) {
  MV_CHECK_ARG(scores, "mv_evaluate_dataset: scores is NULL");
  MV_CHECK_ARG(count >= 1, "mv_evaluate_dataset: count %d is not positive", count);
  double sj = 0, sf = 0;
  for (int i = 0; i < count; i++) sj += scores[i].j.mean, sf += scores[i].f.mean;
  sj /= count, sf /= count;
  if (j) *j = sj;
  if (f) *f = sf;
  if (jf) *jf = (sj + sf) / 2;
  return MV_OK;
}
