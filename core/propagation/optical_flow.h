/* Dense optical flow by DIS (Dense Inverse Search; Kroeger, Timofte, Dai,
 * Van Gool, ECCV 2016) on the host, for the weight-free propagation
 * (labelprop_flow.c), with a forward-backward consistency check for
 * occlusions and a bilinear warp.
 *
 * Coarse to fine over a pyramid of 2x2 means: at each level, patches of
 * `patch` x `patch` pixels on a grid of `spacing` pixels search their
 * displacement from the coarser level's flow by inverse-compositional
 * Gauss-Newton on zero-mean intensities (the Hessian of the template is
 * computed once per patch, which is what makes it cheap), keeping the best
 * iterate and falling back to the initial displacement when the search
 * moved farther than a patch; the dense flow is the average of the patches
 * covering a pixel weighted by 1 / max(1, |photometric error|). No
 * variational refinement (DIS's optional last step). The patch searches
 * of a level run on the host thread pool (opencl/host_map.h), a row of
 * patches per task. No OpenCL kernel yet: on a GPU the flow runs on the
 * host too (at labelprop's cell resolution it is a few ms).
 *
 * Images are one float plane, row-major, any intensity scale (the
 * weights' floor of 1 assumes about 0..100 or 0..255: noise of ~1 unit).
 * A flow is two planes, dx then dy, in pixels: from(x, y) matches
 * to(x + dx, y + dy). */
#ifndef MV_OPTICAL_FLOW_H
#define MV_OPTICAL_FLOW_H

#include "mivos.h"

typedef struct mv_flow_options {
  int patch;       /* patch side in pixels: 4 .. 32 */
  int spacing;     /* patch grid spacing in pixels: 1 .. patch */
  int iterations;  /* Gauss-Newton iterations per patch and level: 1 .. 256 */
  int levels;      /* pyramid levels: 0 = as many as keep the smaller side >= a patch
                      (at most 10), else 1 .. 10 */
  int finest;      /* finest level searched: 0 = full resolution; above 0 the finer
                      levels only upsample the flow (DIS's finest scale: ~4x less work
                      per level skipped); 0 .. 9 */
} mv_flow_options;

/* patch 8, spacing 4, iterations 16, levels 0 (automatic), finest 0. */
void mv_flow_options_default(mv_flow_options *options);

/* MV_E_ARGUMENT naming `fn` and the option when an option is out of range. */
mv_status mv_flow_options_check(const mv_flow_options *options, const char *fn);

/* flow: 2 x height x width floats (dx plane, then dy plane) such that
 * from(x, y) ~ to(x + dx, y + dy). options may be NULL (defaults). Images of
 * any size >= 1 x 1 (below a patch the flow is 0). */
mv_status mv_optical_flow(const float *from, const float *to, int width, int height,
                          const mv_flow_options *options, float *flow);

/* Forward-backward consistency (Sundaram, Brox, Keutzer, ECCV 2010): for
 * the flow `forward` (a -> b) and `backward` (b -> a) of one size,
 * valid[x] = 1 where |f(x) + b(x + f(x))|^2 <= 0.01 (|f(x)|^2 +
 * |b(x + f(x))|^2) + 0.5 and x + f(x) lies inside the image, else 0
 * (occluded, or the flow is wrong there). */
mv_status mv_flow_consistency(const float *forward, const float *backward, int width, int height,
                              float *valid);

/* Backward warp of `planes` planes by a flow: out(x) = in(x + flow(x)),
 * bilinear, with coordinates clamped to the image. */
mv_status mv_flow_warp(const float *in, int planes, const float *flow, int width, int height,
                       float *out);

#endif
