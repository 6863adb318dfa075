#include "nets/resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "nets/net_loader.h"

/* Blocks per layer and bottleneck widths of ResNet-50. */
static const int BLOCKS[4] = {3, 4, 6, 3};
static const int WIDTHS[4] = {64, 128, 256, 512};
enum { EXPANSION = 4 };

static const char *layer_name(const mv_resnet_spec *spec, int layer) {
  static const char *names[4] = {"layer1", "layer2", "layer3", "layer4"};
  return layer == 0 && spec->layer1_name ? spec->layer1_name : names[layer];
}

static mv_status load_block(const mv_checkpoint *checkpoint, const mv_resnet_spec *spec, int layer,
                            int index, int in_channels, mv_bottleneck *block) {
  int width = WIDTHS[layer], out_channels = width * EXPANSION;
  int dilated = layer == 3 && spec->dilate_layer4;
  /* The first block of layers 2-4 strides on its 3x3 conv; in the dilated
   * layer 4 it keeps stride 1 and dilation 1, the later blocks dilate by 2. */
  int stride = (index == 0 && layer > 0 && !dilated) ? 2 : 1;
  int dilation = (dilated && index > 0) ? 2 : 1;
  char base[256], conv[300], bn[300];
  snprintf(base, sizeof base, "%s%s.%d", spec->prefix, layer_name(spec, layer), index);

  snprintf(conv, sizeof conv, "%s.conv1", base);
  snprintf(bn, sizeof bn, "%s.bn1", base);
  MV_TRY(mv_load_conv(checkpoint, conv, bn, spec->conv_bias,
                      (mv_conv_shape){in_channels, width, 1, 1, 0, 1}, &block->conv1));
  snprintf(conv, sizeof conv, "%s.conv2", base);
  snprintf(bn, sizeof bn, "%s.bn2", base);
  MV_TRY(mv_load_conv(checkpoint, conv, bn, spec->conv_bias,
                      (mv_conv_shape){width, width, 3, stride, dilation, dilation}, &block->conv2));
  snprintf(conv, sizeof conv, "%s.conv3", base);
  snprintf(bn, sizeof bn, "%s.bn3", base);
  MV_TRY(mv_load_conv(checkpoint, conv, bn, spec->conv_bias,
                      (mv_conv_shape){width, out_channels, 1, 1, 0, 1}, &block->conv3));
  if (index == 0) {
    snprintf(conv, sizeof conv, "%s.downsample.0", base);
    snprintf(bn, sizeof bn, "%s.downsample.1", base);
    MV_TRY(mv_load_conv(checkpoint, conv, bn, spec->conv_bias,
                        (mv_conv_shape){in_channels, out_channels, 1, stride, 0, 1},
                        &block->downsample));
  }
  return MV_OK;
}

mv_status mv_resnet_load(mv_resnet *net, const mv_checkpoint *checkpoint,
                         const mv_resnet_spec *spec) {
  MV_CHECK_ARG(net && checkpoint && spec && spec->prefix, "mv_resnet_load: NULL argument");
  MV_CHECK_ARG(spec->layers >= 1 && spec->layers <= 4, "mv_resnet_load: layers must be 1..4, got %d",
               spec->layers);
  memset(net, 0, sizeof *net);
  net->spec = *spec;
  char conv[256], bn[256];
  snprintf(conv, sizeof conv, "%sconv1", spec->prefix);
  snprintf(bn, sizeof bn, "%sbn1", spec->prefix);
  mv_status s = mv_load_conv(checkpoint, conv, bn, spec->conv_bias,
                             (mv_conv_shape){spec->in_channels, 64, 7, 2, 3, 1}, &net->stem);
  int in_channels = 64;
  for (int layer = 0; layer < spec->layers && s == MV_OK; layer++) {
    net->blocks[layer] = calloc((size_t)BLOCKS[layer], sizeof(mv_bottleneck));
    if (!net->blocks[layer]) {
      s = mv_fail(MV_E_MEMORY, "mv_resnet_load: out of memory");
      break;
    }
    net->block_count[layer] = BLOCKS[layer];
    for (int i = 0; i < BLOCKS[layer] && s == MV_OK; i++) {
      s = load_block(checkpoint, spec, layer, i, in_channels, &net->blocks[layer][i]);
      in_channels = WIDTHS[layer] * EXPANSION;
    }
  }
  if (s != MV_OK) mv_resnet_free(net);
  return s;
}

void mv_resnet_free(mv_resnet *net) {
  if (!net) return;
  mv_conv_free(&net->stem);
  for (int layer = 0; layer < 4; layer++) {
    for (int i = 0; i < net->block_count[layer]; i++) {
      mv_bottleneck *b = &net->blocks[layer][i];
      mv_conv_free(&b->conv1);
      mv_conv_free(&b->conv2);
      mv_conv_free(&b->conv3);
      mv_conv_free(&b->downsample);
    }
    free(net->blocks[layer]);
    net->blocks[layer] = NULL;
    net->block_count[layer] = 0;
  }
}

/* out = relu(conv3(relu(conv2(relu(conv1(x))))) + shortcut(x)), the add and
 * the last ReLU in conv3's epilogue. */
static mv_status run_block(const mv_bottleneck *b, const mv_tensor *x, mv_tensor *out) {
  mv_tensor t1 = {0}, t2 = {0}, shortcut = {0};
  mv_status s = mv_conv2d(&b->conv1, x, &t1, MV_CONV_RELU);
  if (s == MV_OK) s = mv_conv2d(&b->conv2, &t1, &t2, MV_CONV_RELU);
  mv_tensor_free(&t1);
  /* The shortcut first, so conv3's epilogue adds it (and applies the ReLU). */
  const mv_tensor *residual = x;
  if (s == MV_OK && b->downsample.weight.buffer) {
    s = mv_conv2d(&b->downsample, x, &shortcut, 0);
    residual = &shortcut;
  }
  if (s == MV_OK) s = mv_conv2d_residual(&b->conv3, &t2, residual, out, MV_CONV_RELU);
  mv_tensor_free(&t2);
  mv_tensor_free(&shortcut);
  return s;
}

mv_status mv_resnet_forward(const mv_resnet *net, const mv_tensor *x, mv_tensor *outputs[4]) {
  MV_CHECK_ARG(net && x && outputs, "mv_resnet_forward: NULL argument");
  int last = net->spec.layers - 1;
  MV_CHECK_ARG(outputs[last], "mv_resnet_forward: the output of layer %d is required", last + 1);
  MV_CHECK_ARG(x->c == net->spec.in_channels, "mv_resnet_forward: input has %d channels, expected %d",
               x->c, net->spec.in_channels);
  mv_tensor stem = {0}, current = {0};
  mv_status s = mv_conv2d(&net->stem, x, &stem, MV_CONV_RELU);
  if (s == MV_OK) s = mv_maxpool2d(&stem, 3, 2, 1, &current);
  mv_tensor_free(&stem);
  for (int layer = 0; layer <= last && s == MV_OK; layer++) {
    for (int i = 0; i < net->block_count[layer] && s == MV_OK; i++) {
      mv_tensor next = {0};
      s = run_block(&net->blocks[layer][i], &current, &next);
      mv_tensor_free(&current);
      current = next;
    }
    if (s != MV_OK) break;
    if (layer == last) {
      *outputs[layer] = current;
      current = (mv_tensor){0};
    } else if (outputs[layer]) {
      /* Keep this layer's output and continue from a view of it. */
      *outputs[layer] = current;
      current.owned = 0;
    }
  }
  mv_tensor_free(&current);
  return s;
}
