/* Host implementations of labelprop's operators (core/propagation/labelprop.c)
 * for CPU devices whose buffers are host memory (mv_memory_host_ops()):
 * PoCL runs the shared read's top-k kernel and the per-cell keys kernel at
 * a fraction of native speed, so there labelprop runs these instead, on the
 * mapped buffers and the host thread pool. GPUs keep the kernels. */
#ifndef MV_LABELPROP_OPS_H
#define MV_LABELPROP_OPS_H

#include "opencl/ops.h"

/* labelprop's windowed top-k read, fused: for each query cell, the
 * affinities against the memory cells of every frame within `window` cells
 * along both axes (window < 0: all cells) -- q . m / sqrt(6) as the read's
 * GEMM computes it, c = 0..5 in order with fused multiply-adds, then times
 * the scale --, the top_k of them with the shared read's semantics
 * (mv_memory_key: affinity descending, position t*h*w + cell ascending;
 * fewer when the window holds fewer), the softmax over the kept
 * (mv_memory_softmax_keys) and every object's value summed in kept order
 * with fused multiply-adds (memory_gather), without an affinity matrix.
 * Threads take rows of query cells.
 *   query_key  1 x 6 x h x w (labelprop's query form)
 *   keys       k x 6 x capacity x (h*w), values k x 1 x capacity x (h*w):
 *              frames [0, frames) are read (object 0's keys; all objects
 *              have the same keys)
 *   readout    k x 1 x h x w (allocated when empty, freed again on failure) */
mv_status mv_labelprop_read_host(const mv_tensor *query_key, const mv_tensor *keys,
                                 const mv_tensor *values, int frames, int top_k, int window,
                                 mv_tensor *readout);

/* The labelprop_keys kernel (kernels/labelprop.cl) on the host: image
 * 1 x 3 x H x W (ImageNet-normalised), cells of stride x stride pixels;
 * memory_form 0: out = scale * (f, 1), 1 x 6 x h x w; memory_form 1:
 * out = (f, -|f|^2 / 2) written `copies` times, copies x 6 x h x w. The
 * same arithmetic in the same order (no contraction), cbrt rounded from
 * double (which is what PoCL's cbrt returns on these inputs): the kernel's
 * keys bit for bit there. `out` is allocated when empty (freed again on
 * failure). */
mv_status mv_labelprop_keys_host(const mv_tensor *image, int stride, float colour_weight,
                                 float position_weight, int memory_form, float scale, int copies,
                                 mv_tensor *out);

#endif
