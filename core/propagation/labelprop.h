/* Weight-free engine modules, so that the whole MiVOS loop runs with no
 * checkpoint: `labelprop` propagation (the network's top-k memory read over
 * hand-crafted keys, with the object masks as values) and `linear` fusion
 * (the paper's linear-blending baseline).
 *
 * labelprop keys. Each feature cell (stride x stride pixels of the padded
 * frame) gets f = (colour_weight * (L, a, b), position_weight * (y, x)):
 * the CIE Lab colour (D65, L in 0..100) of the mean linear RGB of its
 * pixels (un-normalised from the engine's ImageNet-normalised frame to the
 * 8-bit levels, linearised by table), and its position in cells relative
 * to the frame centre. The stored keys make the shared read's
 * dot-product affinity equal to a Gaussian (bilateral) kernel's log:
 *   query key  q = sqrt(Ck) * (f_q, 1)        (1 x Ck x h x w, Ck = 6)
 *   memory key m = (f_m, -|f_m|^2 / 2)       (k x Ck x h x w, replicated)
 *   affinity   = q.m / sqrt(Ck) = -|f_q - f_m|^2 / 2 + |f_q|^2 / 2,
 * and |f_q|^2 / 2 is the same for every memory position of a query, so the
 * top-k choice and the softmax over the kept see exactly
 * -|f_q - f_m|^2 / 2: the softmax temperature is 1 and the weights set the
 * bandwidths (a colour difference of 1 / colour_weight Lab units, or a
 * distance of 1 / position_weight cells, costs a factor exp(-1/2)).
 * Locality: memory positions whose cell is farther than `window` cells
 * from the query's cell along either axis get affinity -1e30 before the
 * top-k selection, so they never win (weight exactly 0). The same cell of
 * every memory frame is always inside, so each read has a finite maximum.
 *
 * Values: each object's probability area-averaged to the cells,
 * k x 1 x h x w. segment(): one affinity + top-k per query (the keys are
 * the same for every object), one gather of all objects' values, then the
 * k x 1 x h x w readout (a convex combination of mask values, so in
 * [0, 1]) upsampled bilinearly to the padded frame; the engine aggregates.
 * The read is the shared one of opencl/memory_read.h: the affinity with
 * its 1/sqrt(Ck) scale (mv_memory_affinity, or mv_gemm_batched per tile),
 * mv_memory_topk and mv_memory_gather. With a window and tile > 0 each
 * tile x tile block of query cells reads a compact copy of only the memory
 * cells of its (tile + 2 window)^2 neighbourhood (every frame): the same
 * kept set and weights as the dense masked read (excluded entries have
 * weight 0 either way, and the compact order keeps the memory's order for
 * ties), at (tile + 2 window)^2 instead of h*w affinities per query and
 * memory frame. top_k is reduced to the memory size (M, or a tile's
 * compact M) when the memory holds fewer positions.
 *
 * Host paths: where the operators run on the host (mv_memory_host_ops: the
 * host engine on a CPU device with host memory, i.e. PoCL) the keys and the
 * read run on the host instead (opencl/labelprop_ops.h): the keys bit for
 * bit the kernel's, and one fused pass per query cell over its window of
 * every memory frame (the same affinities as the GEMM rounds them, the
 * same kept set, order and weights but for the exponential's last bit; no
 * affinity matrix; `tile` does not apply), at a cost linear in the memory
 * frames. GPUs keep the kernels. */
#ifndef MV_LABELPROP_H
#define MV_LABELPROP_H

#include "propagation/propagator.h"

enum { MV_LABELPROP_KEY_DIM = 6 };

/* The memory frames besides the interacted ones that labelprop and
 * labelprop-flow read (mv_propagator.memory_frames): the most recent 24,
 * i.e. 120 frames of history at the official stride of 5. Every pass of
 * the DAVIS 2016 sequences (at most 104 frames) fits, so their results are
 * those of an unbounded memory; a long video keeps a constant cost per
 * frame (labelprop-flow aligns every memory frame by optical flow). */
#define MV_LABELPROP_MEMORY_FRAMES 24

typedef struct mv_labelprop_options {
  int stride;             /* cell size in pixels: 1, 2, 4, 8 or 16 (divides 16) */
  int top_k;              /* kept memory positions per query: 1..MV_MEMORY_MAX_TOP_K */
  float colour_weight;    /* per Lab unit, > 0 */
  float position_weight;  /* per cell, >= 0 (0: no soft position term) */
  int window;             /* locality radius in cells; < 0: no window */
  int tile;               /* query tile side in cells for the windowed read
                             (0: the dense read over every memory cell) */
} mv_labelprop_options;

/* stride 4, top_k 50, colour_weight 0.5, position_weight 0.25, window 8,
 * tile 8: chosen on the 10 DAVIS 2016 sequences of shared/data at 480p
 * (ground truth of frame 0 propagated, mean J): 0.851 over frames 1..9 and
 * 0.767 over 1..29; stride 8 at the same pixel scale: 0.827 and 0.736 at
 * about 4x the speed on the kernels, 1.7x on the host paths (bench
 * labelprop: 480p, 2-core PoCL, engine with the official schedule: 14 and
 * 25 frames/s on the host paths, 1.0 and 3.7 on the kernels). */
void mv_labelprop_options_default(mv_labelprop_options *options);

/* options may be NULL (defaults). The module has no query key for fusion
 * attention (query_key is NULL): `linear` fusion needs none, a fuser that
 * does must compute its own. */
mv_status mv_propagator_labelprop(const mv_labelprop_options *options, mv_propagator *out);

/* For propagators built on labelprop (labelprop_flow.h): the cell-level
 * readout k x 1 x h x w of a query against a memory, before the upsampling
 * to pixels (allocated when empty; k = memory->keys.n); the query's key
 * 1 x 6 x h x w (channel 0: sqrt(6) * colour_weight * L); the options of a
 * labelprop propagator (NULL for another kind). */
mv_status mv_labelprop_readout(const mv_propagator *labelprop, void *query,
                               const mv_memory *memory, mv_tensor *readout);
const mv_tensor *mv_labelprop_query_key(void *query);
const mv_labelprop_options *mv_labelprop_get_options(const mv_propagator *labelprop);

#endif
