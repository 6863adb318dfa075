/* Multilevel banded minimum cut on an 8-connected pixel grid (Lombaert et
 * al., "A multilevel banded graph cuts method for fast image segmentation",
 * ICCV 2005), one level down: the cut is first found on the grid of 2x2
 * blocks (a block's terminal capacities are the sums of its pixels', the
 * capacity between two blocks the sum of the pixel edges that cross their
 * border, so a block labelling costs there what it costs on the full grid),
 * then on the full grid only in a band of pixels around the coarse cut's
 * boundary; the pixels outside the band keep their block's label (their
 * edges into the band become terminal capacity of the band pixels). A
 * large block grid is solved the same way (one more level), the smallest
 * by mv_maxflow, as is each band. The result approximates the exact
 * minimum cut (structures thinner than a block can be lost); it is
 * deterministic. */
#ifndef MV_BANDED_CUT_H
#define MV_BANDED_CUT_H

#include <stdint.h>

#include "mivos.h"

typedef struct mv_banded_cut mv_banded_cut;

/* A solver for width x height grids; band >= 1: the half-width in pixels of
 * the full-resolution band around the coarse boundary. threads: as
 * mv_maxflow_set_threads. */
mv_status mv_banded_cut_create(int width, int height, int band, int threads, mv_banded_cut **out);

/* Capacities as mv_maxflow_solve's, 8-connected (4 edge planes); pixels
 * with a terminal capacity >= MV_MAXFLOW_INFINITE are hard constraints and
 * always lie in the band when the coarse label disagrees with them.
 * warm != 0: edge_cap is the previous call's, only the terminal capacities
 * changed (the coarse level starts from the previous flow). source_side
 * (out): 1 for the pixels on the source side. */
mv_status mv_banded_cut_solve(mv_banded_cut *cut, const int32_t *source_cap,
                              const int32_t *sink_cap, const int32_t *edge_cap, int warm,
                              uint8_t *source_side);

void mv_banded_cut_destroy(mv_banded_cut *cut);

#endif
