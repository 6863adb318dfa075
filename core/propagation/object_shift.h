/* An object's own displacement as a second flow candidate (labelprop-flow's
 * `object_shift`).
 *
 * Why: DIS (optical_flow.h) searches coarse to fine with patches of a fixed
 * size, so a small object (scooter-black: 80 px wide, 10 cells at DIS's
 * finest searched level) is outvoted by the background around it and its
 * mask stays where the camera's motion puts it, and a large displacement
 * (drift-straight's car: ~200 px a frame) is beyond the pyramid's reach.
 * The object's mask in the memory frame says which cells to match, so one
 * translation per object can be searched exhaustively over a wide range,
 * as template tracking does.
 *
 * Planes are `channels` planes of width x height floats each (e.g. the
 * cells' L, a, b); the mask is one plane.
 *
 * mv_object_shift: the integer translation d (cells) minimising the mean
 * absolute difference |frame(y) - query(y - d)| (summed over the channels)
 * over the object's cells y of the memory frame (mask > 0.5), searched at
 * half resolution over +-range cells, then refined at full resolution over
 * +-2. The object in the memory frame at y shows in the query at y - d, so
 * the flow of a query cell x on the object is d. 0 (found 0) when the mask
 * has fewer than 4 cells or too few of them stay inside the query frame.
 *
 * mv_flow_merge_shift: per query cell x near the shifted object (the mask
 * moved by -d, grown by `grow` cells), replaces the flow by d where a 5x5
 * patch of the query matches frame(x + d) clearly better than
 * frame(x + flow(x)) (object_shift.c says by how much). */
#ifndef MV_OBJECT_SHIFT_H
#define MV_OBJECT_SHIFT_H

#include "mivos.h"

mv_status mv_object_shift(const float *query, const float *frame, int channels, const float *mask,
                          int width, int height, int range, int *dx, int *dy, int *found);

mv_status mv_flow_merge_shift(const float *query, const float *frame, int channels,
                              const float *mask, int width, int height, int dx, int dy, int grow,
                              float *flow);

#endif
