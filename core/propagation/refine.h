/* Per-frame refinement of any propagator's output: a wrapper that learns
 * colour models from the propagation's start frame and, after each propagated read,
 * re-decides the pixels near each object's boundary by a contrast-sensitive
 * graph cut (Boykov-Kolmogorov, interaction/maxflow.h).
 *
 * Colour models. memorize() sees every frame the engine memorises; a frame
 * whose masks are all hard (every value 0 or 1: the committed mask of an
 * interacted frame, never a propagated one) makes each object's foreground
 * and background colour histograms (RGB, `bins` levels per channel). A
 * propagation memorises its start frame's committed mask first, so the
 * models are the start frame's: they follow from the propagation request
 * alone, and a session resumed from a snapshot (which restores the memory,
 * not the modules' state) propagates bit for bit as the original.
 * (Accumulated over every interacted frame of the session they measured
 * the same: loop final J&F 0.779 against 0.778, but depended on history.)
 *
 * Refinement, per object o of a propagated frame with probabilities p:
 *   band   = pixels with `low` < p < 1 - `low`, grown by `band` pixels (a
 *            square); everything else keeps its side (hard terminal links);
 *   colour posterior g = f(I) / (f(I) + b(I)) from the histograms (add-one
 *            smoothed densities);
 *   unary  q = (1 - colour_weight) p + colour_weight g, clamped to
 *            [0.01, 0.99]; costs -log(q) for background, -log(1 - q) for
 *            the object;
 *   edges  8-connected, smoothness * exp(-|I_i - I_j|^2 / (2 sigma^2)) /
 *            distance, sigma^2 = the mean squared colour difference of
 *            neighbours in the band (GrabCut's beta);
 *   output p' = (p + cut) / 2 inside the band (cut = 1 on the object's side),
 *            so the cut decides the label and the probability stays soft.
 * Without a colour model (no hard frame memorised yet) segment() returns
 * the inner read unchanged. The work is on the host over the band's
 * bounding box. */
#ifndef MV_REFINE_H
#define MV_REFINE_H

#include "propagation/propagator.h"

typedef struct mv_refine_options {
  float low;            /* uncertain probabilities: (low, 1 - low), 0 < low < 0.5 */
  int band;             /* growth of the uncertain zone in pixels, 0..64 */
  float colour_weight;  /* weight of the colour models in the unary, 0..1 */
  float smoothness;     /* weight of the contrast-sensitive edges, >= 0 */
  int bins;             /* histogram levels per colour channel: 4, 8, 16, 32 or 64 */
} mv_refine_options;

/* low 0.05, band 8, colour_weight 0.15, smoothness 2.0, bins 16: chosen
 * on the 10 DAVIS 2016 sequences of shared/data at 480p around
 * labelprop-flow, frame 0's ground truth propagated over each whole
 * sequence (`mivos diagnose --parts gtprop --propagation NAME`: mean J
 * over frames 1..T-1 / 1..29; mean F over 1..T-1 from the same masks,
 * scored by session:evaluate in a one-off Lua loop):
 *   labelprop-flow alone                        0.739 / 0.809, F 0.687
 *   + refine, smoothness 1, colour_weight 0.3   0.759 / 0.821, F 0.693
 *   smoothness 2, colour_weight 0.3             0.765 / 0.825, F 0.696
 *   smoothness 2, colour_weight 0.15            0.762 / 0.827, F 0.700
 *   smoothness 2, colour_weight 0 (no colours)  0.740 / 0.814, F 0.686
 *   smoothness 2, colour_weight 0.5             0.735 / 0.796, F 0.670
 *   smoothness 3 / 4 (colour_weight 0.15 / 0.3) 0.755 / 0.825, 0.754 / 0.817
 *   smoothness 2, colour_weight 0.15, band 16   0.761 / 0.822, F 0.693
 *   smoothness 2, colour_weight 0.15, low 0.02  0.763 / 0.827, F 0.701
 * and in the whole loop (`mivos eval`, final J&F / AUC-J&F): without the
 * refinement 0.757 / 0.732; smoothness 1, colour_weight 0.3 0.772 / 0.737;
 * smoothness 2, colour_weight 0.3 0.772 / 0.752; these defaults 0.774 /
 * 0.752. The refinement costs about 15 % more CPU per propagated frame. */
void mv_refine_options_default(mv_refine_options *options);

/* Wraps `inner` (owned from here on, also when this fails); options may be
 * NULL (defaults); bad options fail with MV_E_ARGUMENT naming the field and
 * the range expected. The wrapper's name is `name` (not copied: a string
 * that outlives it, e.g. a literal). */
mv_status mv_propagator_refine(mv_propagator inner, const mv_refine_options *options,
                               const char *name, mv_propagator *out);

#endif
