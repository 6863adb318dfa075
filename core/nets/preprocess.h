/* Frame and mask preparation as the official code does it: RGB uint8 ->
 * [0,1] -> ImageNet mean/std per channel -> zero padding (in the normalised
 * domain) to multiples of 16, the smaller half before. */
#ifndef MV_PREPROCESS_H
#define MV_PREPROCESS_H

#include "mivos.h"
#include "opencl/ops.h"

/* rgb: H x W x 3 uint8 (host). out: 1 x 3 x (H+pad) x (W+pad), empty or right-sized. */
mv_status mv_preprocess_frame(const uint8_t *rgb, int h, int w, mv_padding pad, mv_tensor *out);
/* masks: count x H x W float32 (host) -> count x 1 x padded, zero padded. */
mv_status mv_preprocess_masks(const float *masks, int count, int h, int w, mv_padding pad,
                              mv_tensor *out);

#endif
