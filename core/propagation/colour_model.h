/* Global colour models of the objects from the memory, for the weight-free
 * propagation (labelprop_flow.c): a prior that does not depend on where
 * the object was, for the cells where the local read is unsure or has
 * lost the object.
 *
 * Per object, two histograms over CIE Lab (16 x 16 x 16 bins: L 0..100,
 * a and b -100..100, clamped) of the memory cells, weighted by the
 * object's value v (foreground) and by 1 - v (background), each with one
 * count spread over all bins (so an unseen colour gets 1/2); the posterior
 * of a query cell of colour c is P(c | fg) / (P(c | fg) + P(c | bg))
 * (equal priors). */
#ifndef MV_COLOUR_MODEL_H
#define MV_COLOUR_MODEL_H

#include <stddef.h>

#include "mivos.h"

/* memory_lab: 3 planes (L, a, b) of `cells` values, `plane_stride` apart;
 * values: `objects` planes of `cells` values, `plane_stride` apart;
 * query_lab: 3 planes of `query_cells` values, one after the other. Both
 * colours are multiplied by their scale to get Lab units. posterior:
 * objects x query_cells. */
mv_status mv_colour_posterior(const float *memory_lab, float memory_scale, const float *values,
                              int objects, size_t cells, size_t plane_stride,
                              const float *query_lab, float query_scale, size_t query_cells,
                              float *posterior);

#endif
