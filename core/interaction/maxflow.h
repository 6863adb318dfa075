/* Minimum s-t cut on a pixel grid by the Boykov-Kolmogorov max-flow
 * algorithm (two search trees, reused between augmentations; "An
 * Experimental Comparison of Min-Cut/Max-Flow Algorithms", PAMI 2004).
 * Integer capacities, so the result is exact and deterministic. */
#ifndef MV_MAXFLOW_H
#define MV_MAXFLOW_H

#include <stdint.h>

#include "mivos.h"

/* Capacities far above any sum of the others: a hard constraint. */
enum { MV_MAXFLOW_INFINITE = 1 << 28 };

/* The forward neighbour directions of a grid node, in the order of the
 * edge_cap planes: 4-connected: right (x+1, y), down (x, y+1);
 * 8-connected adds down-right (x+1, y+1) and down-left (x-1, y+1). */
static inline int mv_maxflow_edge_count(int connectivity) { return connectivity / 2; }

/* width x height nodes, node i = y * width + x.
 * source_cap[i], sink_cap[i] >= 0: capacities of the terminal links.
 * edge_cap[i * (connectivity / 2) + k] in 0..MV_MAXFLOW_INFINITE: capacity of the undirected
 *   edge from node i to its forward neighbour k (same capacity both ways;
 *   ignored where the neighbour lies outside the grid).
 * source_side[i] (out) = 1 for the nodes on the source side of a minimum
 *   cut (those still reachable from the source), 0 otherwise.
 * flow (optional out) = the maximum flow = the cut's capacity. */
mv_status mv_maxflow_grid(int width, int height, int connectivity, const int32_t *source_cap,
                          const int32_t *sink_cap, const int32_t *edge_cap,
                          uint8_t *source_side, int64_t *flow);

#endif
