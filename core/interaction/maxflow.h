/* Minimum s-t cut on a pixel grid by the Boykov-Kolmogorov max-flow
 * algorithm (two search trees, reused between augmentations; "An
 * Experimental Comparison of Min-Cut/Max-Flow Algorithms", PAMI 2004).
 * Integer capacities, so the result is exact and deterministic. */
#ifndef MV_MAXFLOW_H
#define MV_MAXFLOW_H

#include <stddef.h>
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
 * flow (optional out) = the maximum flow = the cut's capacity.
 * The source side reachable from the source is the smallest minimum cut's,
 * unique for given capacities: any maximum flow gives the same output. */
mv_status mv_maxflow_grid(int width, int height, int connectivity, const int32_t *source_cap,
                          const int32_t *sink_cap, const int32_t *edge_cap,
                          uint8_t *source_side, int64_t *flow);

/* The same as a reusable solver: the graph's memory is allocated once by
 * mv_maxflow_create and reused by every mv_maxflow_solve on grids of that
 * size (mv_maxflow_grid is create + solve + destroy). One solver must not
 * be used by two threads at once. */
typedef struct mv_maxflow mv_maxflow;

mv_status mv_maxflow_create(int width, int height, int connectivity, mv_maxflow **out);
/* Threads for the solves (default 1, at most 8 are used): the grid is
 * split into that many bands of rows solved at the same time, then the
 * flow is completed over the whole grid; the result is the same for any
 * count. */
mv_status mv_maxflow_set_threads(mv_maxflow *solver, int threads);
/* Arguments and results as mv_maxflow_grid's, on the solver's grid. */
mv_status mv_maxflow_solve(mv_maxflow *solver, const int32_t *source_cap,
                           const int32_t *sink_cap, const int32_t *edge_cap,
                           uint8_t *source_side, int64_t *flow);
/* Warm start: the last solve's grid edges with new terminal capacities
 * (checked as above). The flow found so far on the edges and the search
 * trees are kept, and only what the new capacities change is computed (on
 * one thread); the result is the same as mv_maxflow_solve's with these
 * capacities (the cut does not depend on how the flow was found). flow
 * (optional) receives the cut's capacity. Fails without a previous
 * successful solve, or when a node's terminal capacity would leave the
 * int32 range (the solver is then unchanged). */
mv_status mv_maxflow_resolve(mv_maxflow *solver, const int32_t *source_cap,
                             const int32_t *sink_cap, uint8_t *source_side, int64_t *flow);
void mv_maxflow_destroy(mv_maxflow *solver);

/* Zero-filled memory for grid-sized arrays (the solver's inputs), released
 * with mv_maxflow_free: on Linux, an anonymous mapping that asks for
 * transparent huge pages, so that the arrays of a frame cost a few page
 * faults rather than thousands; calloc elsewhere. NULL when out of memory. */
void *mv_maxflow_alloc(size_t size);
void mv_maxflow_free(void *block);

#endif
