/* Paper module 1, interaction-to-mask: every backend behind one interface.
 * Given a frame, one object's previous mask and that object's
 * positive/negative scribble maps (clicks and strokes are rasterised into
 * these maps first), a backend produces the object's new probability map;
 * the session combines objects afterwards. Below the interface, the
 * built-in backends' constructors. Every constructor fills *out (zeroed on
 * failure); release with mv_interactor_destroy. Wrappers that take an
 * `inner` interactor own it from the call on: it is destroyed with the
 * wrapper, or at once when the constructor fails. */
#ifndef MV_INTERACTOR_H
#define MV_INTERACTOR_H

#include "mivos.h"

typedef struct mv_interaction_input {
  const uint8_t *rgb;        /* height x width x 3 */
  int width, height;
  const float *previous;     /* height x width in [0, 1]; NULL = empty mask */
  const uint8_t *positive;   /* height x width, nonzero = positive pixels; NULL = none */
  const uint8_t *negative;   /* height x width, nonzero = negative pixels; NULL = none */
  /* A box prompt (x0, y0, x1, y1 inclusive), or NULL. The maps already say
   * it the way any backend understands (previous = the box's inside,
   * negative = its outside); a backend that knows boxes may use it instead. */
  const int *box;
} mv_interaction_input;

typedef struct mv_interactor_ops {
  /* out: height x width probabilities of the object. */
  mv_status (*run)(void *self, const mv_interaction_input *in, float *out);
  void (*destroy)(void *self);
} mv_interactor_ops;

typedef struct mv_interactor {
  const mv_interactor_ops *ops;
  void *self;
  const char *name;
} mv_interactor;

/* Releases an interactor's state (safe on a zeroed one). */
void mv_interactor_destroy(mv_interactor *interactor);

typedef struct mv_s2m mv_s2m;

/* Validates the interactor, the input (non-NULL rgb, positive size) and the
 * output, then runs it. Every backend's run also validates on its own. */
mv_status mv_interactor_run(const mv_interactor *interactor, const mv_interaction_input *in,
                            float *out);
/* The common input check of the backends; `fn` names the caller. */
mv_status mv_interaction_input_check(const mv_interaction_input *in, const float *out,
                                     const char *fn);

/* "freehand": out = clamp(max(previous, positive)) with negative pixels set
 * to 0 (negative wins where both are set). Polygon / lasso fills and brush
 * strokes are rasterised into the maps first (core/raster.h): a lasso fill
 * is a polygon in `positive`, a lasso erase one in `negative`. */
mv_status mv_interactor_freehand(mv_interactor *out);

/* "graphcut": weight-free scribble backend (GrabCut-style, see graphcut.c):
 * GMM colour models (K = 5, RGB, covariances shrunk towards 100 I) of
 * foreground = positive scribbles and previous >= 0.5, background =
 * negative scribbles and the rest; unary = -log likelihood (float GMM
 * evaluation), hard constraints at scribble pixels (negative wins on
 * overlap), contrast-sensitive 8-connected pairwise term (gamma 50, beta =
 * 1 / (2 mean squared neighbour difference)), min cut by Boykov-Kolmogorov,
 * then the models are refitted on the cut and cut again (2 iterations).
 * Output is hard: 1 on the source side of the cut, 0 elsewhere. Without
 * positive scribbles and without previous >= 0.5 it outputs the previous
 * mask clamped to [0, 1] (zeros when NULL) with negative pixels set to 0
 * (and, when nothing is left for the background, positive pixels set to 1).
 * Each cut is a multilevel banded cut (banded_cut.h) on frames of at least
 * 2^18 pixels, about 0.12 s of CPU per 854x480 frame (the exact cut: 0.25-0.29 s). */
mv_status mv_interactor_graphcut(mv_interactor *out);
/* The same with the exact minimum cut on the full grid instead of the
 * banded one (also what "graphcut" runs with MIVOS_GRAPHCUT_EXACT=1). */
mv_status mv_interactor_graphcut_exact(mv_interactor *out);

/* "strokecut": the weight-free default, graph cut made for sparse strokes
 * (see strokecut.c). With an empty previous mask (a first scribble, e.g.
 * the DAVIS robot's skeleton of the object with no background stroke): the
 * background is sampled outside the positive strokes' bounding box grown
 * by `margin` x its larger side (a hard background there too), the object
 * label costs `distance_weight` nats per box side of distance from the
 * strokes, the cut is iterated `iterations` times with colour models
 * refitted on its two sides, and only parts connected to a positive stroke
 * are kept. With a previous mask (later rounds, a propagated mask): colour
 * models from the previous mask and strokes (leaving out a band of
 * `edge_band` pixels either side of its edge, where a propagated mask's
 * errors are); leaving the previous label costs `previous_weight` nats a pixel, falling linearly to 0 at a
 * correcting stroke (positive pixel outside the mask, negative inside)
 * over max(`correction_radius`, `correction_scale` x the correcting
 * strokes' length) pixels; and (when `local`) only the changes connected
 * to a correcting stroke are applied. Colour models: blurred 16^3-bin RGB
 * histograms; pairwise: contrast-sensitive 8-connected (`smoothness`);
 * min cut by Boykov-Kolmogorov (maxflow.h). Strokes are hard constraints
 * (negative wins on overlap). Output is hard (0/1). Without positive
 * strokes and without previous >= 0.5: the previous mask with the
 * negative pixels set to 0. A box prompt (in->box) runs "graphcut"
 * (GrabCut with GMMs). About 0.1-0.3 s of CPU per 854x480 frame. */
typedef struct mv_strokecut_options {
  int iterations;           /* cuts of the first mask, 1..10 (3) */
  int local;                /* 1: only changes connected to a correcting stroke (1); 0: all */
  double margin;            /* box growth, fraction of its larger side, 0..10 (0.25) */
  double smoothness;        /* pairwise weight in nats, 0..1000 (50) */
  double previous_weight;   /* nats a pixel for leaving the previous mask, 0..100 (5) */
  double correction_radius; /* pixels, 0..10000 (40; 0 = the full weight everywhere) */
  double correction_scale;  /* radius at least this x the correcting strokes' length, 0..10 (0.5) */
  double distance_weight;   /* first mask: nats a pixel per box side of distance to a stroke, 0..100 (2) */
  double edge_band;         /* correction: pixels either side of the previous mask's edge left
                               out of both colour models, 0..100 (0 = none) */
} mv_strokecut_options;

void mv_strokecut_options_default(mv_strokecut_options *options);
/* options NULL = the defaults; options out of range fail with MV_E_ARGUMENT
 * naming the field and its range. */
mv_status mv_interactor_strokecut(const mv_strokecut_options *options, mv_interactor *out);

/* "click": wraps a scribble backend (owns `inner`). Clicks are passed as
 * marks in the positive / negative maps (a single pixel per click, or any
 * small mark); every marked pixel is dilated to a disk of `radius` >= 0
 * pixels (mv_raster_disk) and the inner backend runs on the dilated maps. */
mv_status mv_interactor_click(mv_interactor inner, int radius, mv_interactor *out);

/* "local": local control (owns `inner`), as the official GUI's local mode.
 * Box [x0, x1] x [y0, y1] inclusive, margin >= 0. The crop is the box grown
 * by `margin` and clamped to the frame; the inner backend runs on the crop
 * (rgb, previous, positive, negative cropped). When the crop is wider and
 * taller than 7 pixels (x1 - x0 > 6 and y1 - y0 > 6 of the crop, the
 * official condition) a 3-pixel border of the result is dropped on all four
 * sides, also where the crop touches the frame edge (the official code
 * trims unconditionally), and the rest is stitched back; smaller crops are
 * stitched whole. Outside the stitched region the output is the previous
 * mask (zeros when NULL). A box outside the frame fails at run time. */
mv_status mv_interactor_local(mv_interactor inner, int x0, int y0, int x1, int y1, int margin,
                              mv_interactor *out);

/* "s2m": the S2M network (does not own `net`, which must outlive the
 * interactor). Input 1 x 6 x H' x W' = [frame normalised and padded to a
 * multiple of 16, previous > 0.5, positive != 0, negative != 0] (masks
 * zero padded the same way; the scribble maps are used as given, no
 * dilation), sigmoid output cropped back to the frame. */
mv_status mv_interactor_s2m(const mv_s2m *net, mv_interactor *out);

#endif
