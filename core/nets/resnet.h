/* ResNet-50 trunks as the three MiVOS networks use them: stem (7x7/2 conv,
 * BN, ReLU, 3x3/2 max-pool) and bottleneck layers with the stride on the 3x3
 * conv. Variants: input channels (3, 5 or 6), conv biases (memory encoder),
 * the name of layer 1 ("res2" in the query encoder), 3 or 4 layers, and a
 * dilated layer 4 (DeepLab, output stride 16). */
#ifndef MV_RESNET_H
#define MV_RESNET_H

#include "mivos.h"
#include "opencl/ops.h"

typedef struct mv_bottleneck {
  mv_conv conv1, conv2, conv3;
  mv_conv downsample;   /* empty weight when the block has no shortcut conv */
} mv_bottleneck;

typedef struct mv_resnet_spec {
  const char *prefix;          /* e.g. "rgb_encoder." or "backbone." */
  const char *layer1_name;     /* "layer1" or "res2" */
  int in_channels;
  int conv_bias;               /* convs carry a bias (memory encoder) */
  int layers;                  /* 3 (to f16) or 4 */
  int dilate_layer4;           /* layer 4 with stride 1 and dilation 2 */
} mv_resnet_spec;

typedef struct mv_resnet {
  mv_resnet_spec spec;
  mv_conv stem;                /* conv1 + bn1 */
  mv_bottleneck *blocks[4];
  int block_count[4];
} mv_resnet;

mv_status mv_resnet_load(mv_resnet *net, const mv_checkpoint *checkpoint,
                         const mv_resnet_spec *spec);
void mv_resnet_free(mv_resnet *net);

/* Runs the trunk on x. outputs[i] (i = 0..layers-1) receives layer i+1's
 * output when not NULL (empty tensors, allocated here); the last layer's
 * output is always needed and must not be NULL. */
mv_status mv_resnet_forward(const mv_resnet *net, const mv_tensor *x, mv_tensor *outputs[4]);

#endif
