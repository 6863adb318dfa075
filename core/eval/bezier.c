/* The robot's Bezier smoothing (spec/EVALUATION.md 5.6): every path pixel
 * is a control point, so the binomial coefficients reach ~1e299 for 1000
 * points while the powers of t underflow. Each Bernstein weight is
 * evaluated as one exp() of a sum of logarithms, which stays finite and
 * accurate for any n. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "eval/eval_internal.h"

mv_status mv_bezier_resample(const int *xy, int n, int nb_points, double *out, int *out_count) {
  MV_CHECK_ARG(xy && out && out_count, "mv_bezier_resample: %s is NULL",
               !xy ? "xy" : !out ? "out" : "out_count");
  MV_CHECK_ARG(n >= 1, "mv_bezier_resample: the path has %d points, expected >= 1", n);
  MV_CHECK_ARG(nb_points >= 2, "mv_bezier_resample: nb_points %d is below 2", nb_points);
  if (n > nb_points) {  /* long paths are used as they are */
    for (int i = 0; i < 2 * n; i++) out[i] = xy[i];
    *out_count = n;
    return MV_OK;
  }
  int degree = n - 1;
  /* log C(degree, i) from a table of log factorials. */
  double *log_c = malloc((size_t)n * sizeof *log_c), *log_fact = malloc((size_t)n * sizeof *log_fact);
  if (!log_c || !log_fact) {
    free(log_c), free(log_fact);
    return mv_fail(MV_E_MEMORY, "mv_bezier_resample: out of memory for %d points", n);
  }
  log_fact[0] = 0;
  for (int k = 1; k <= degree; k++) log_fact[k] = log_fact[k - 1] + log((double)k);
  for (int i = 0; i <= degree; i++) log_c[i] = log_fact[degree] - log_fact[i] - log_fact[degree - i];
  for (int m = 0; m < nb_points; m++) {
    double t = (double)m / (nb_points - 1), x = 0, y = 0;
    if (m == 0) {               /* B(0) = Q_n: the path's end */
      x = xy[2 * degree], y = xy[2 * degree + 1];
    } else if (m == nb_points - 1) {  /* B(1) = Q_0: the path's start */
      x = xy[0], y = xy[1];
    } else {
      /* weight_i = C(n, i) t^(n-i) (1-t)^i: note the reversed exponents. */
      double lt = log(t), l1t = log1p(-t);
      for (int i = 0; i <= degree; i++) {
        double w = exp(log_c[i] + (degree - i) * lt + i * l1t);
        x += w * xy[2 * i];
        y += w * xy[2 * i + 1];
      }
    }
    out[2 * m] = x;
    out[2 * m + 1] = y;
  }
  free(log_c);
  free(log_fact);
  *out_count = nb_points;
  return MV_OK;
}
