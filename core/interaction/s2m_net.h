/* S2M: DeepLabV3+ with a ResNet-50 backbone (output stride 16) turning
 * scribbles into a mask; 6 input channels [RGB, previous mask, positive
 * scribbles, negative scribbles]. */
#ifndef MV_S2M_H
#define MV_S2M_H

#include "mivos.h"
#include "opencl/ops.h"

typedef struct mv_s2m mv_s2m;

mv_status mv_s2m_load(const mv_checkpoint *checkpoint, mv_s2m **out);
void mv_s2m_free(mv_s2m *net);

/* Intermediate outputs of the first object, for tests (each NULL to skip;
 * each must be an empty tensor: the forward pass allocates it). */
typedef struct mv_s2m_trace {
  mv_tensor *layer1, *layer4, *aspp, *lowlevel_proj, *logit_quarter;
} mv_s2m_trace;

/* input: k x 6 x H x W (H, W multiples of 16). prob: k x 1 x H x W sigmoid. */
mv_status mv_s2m_forward(const mv_s2m *net, const mv_tensor *input, mv_tensor *prob,
                         const mv_s2m_trace *trace);

/* The DAVIS processor's input for k objects: image 1 x 3 x H x W
 * (preprocessed, padded), prev_labels / scribble labels (host, unpadded
 * h x w: labels 0..k; scribbles -1 none, 0 background, i object i), padding.
 * Positive = this object's scribbles, negative = every other scribble, each
 * dilated 3x3; previous mask = (label == i). out: k x 6 x H x W. */
mv_status mv_s2m_make_input(const mv_tensor *image, const uint8_t *prev_labels,
                            const int16_t *scribbles, int h, int w, int k, mv_padding pad,
                            mv_tensor *out);

#endif
