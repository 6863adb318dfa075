/* Edge-aware upsampling of cell-level probabilities to pixels: joint
 * bilateral upsampling (Kopf, Cohen, Lischinski, Uyttendaele, SIGGRAPH
 * 2007) guided by the frame, for the weight-free propagation
 * (labelprop_flow.c), whose read runs on cells of stride x stride pixels.
 *
 * Pixel p takes the normalised sum over the 3 x 3 cells q around its
 * nearest cell of
 *   P(q) exp(-|p - q|^2 / (2 spatial^2)) exp(-|I(p) - C(q)|^2 / (2 colour^2)),
 * |p - q| in cells between the pixel's centre and the cell's, I(p) the
 * pixel's 8-bit RGB, C(q) the mean RGB of the cell's pixels. Where a cell
 * straddles the object's boundary, a pixel follows the neighbouring cells
 * of its own colour instead of the bilinear blend, so the boundary sits on
 * the frame's edge rather than on the cell grid. The colour factor has a
 * floor of 1e-4, so a pixel unlike every cell around it gets the spatial
 * blend. Runs on the host thread pool, rows of pixels per task. */
#ifndef MV_JOINT_UPSAMPLE_H
#define MV_JOINT_UPSAMPLE_H

#include <stdint.h>

#include "mivos.h"

/* cells: planes x (height / stride) x (width / stride); rgb: height x
 * width x 3 (height and width multiples of stride); out: planes x height x
 * width. spatial > 0 in cells, colour > 0 in 8-bit levels. */
mv_status mv_joint_upsample(const float *cells, int planes, const uint8_t *rgb, int height,
                            int width, int stride, float spatial, float colour, float *out);

#endif
