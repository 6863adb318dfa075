/* Building network layers from a checkpoint by the official key names. */
#ifndef MV_NET_LOADER_H
#define MV_NET_LOADER_H

#include "mivos.h"
#include "opencl/ops.h"

/* Geometry of one convolution (square kernel, same along both axes). */
typedef struct mv_conv_shape {
  int in_channels, out_channels, kernel, stride, padding, dilation;
} mv_conv_shape;

/* Loads "<conv_key>.weight" (and "<conv_key>.bias" when has_bias), folding in
 * the BatchNorm "<bn_key>.{weight,bias,running_mean,running_var}" (eps 1e-5)
 * when bn_key is not NULL. A missing key or wrong shape fails with
 * MV_E_MISMATCH naming the key and both shapes. */
mv_status mv_load_conv(const mv_checkpoint *checkpoint, const char *conv_key, const char *bn_key,
                       int has_bias, mv_conv_shape shape, mv_conv *out);

#endif
