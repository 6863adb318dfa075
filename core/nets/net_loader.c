#include "nets/net_loader.h"

#include <stdio.h>

#include "weights/checkpoint.h"
#include "error.h"

static mv_status load_vector(const mv_checkpoint *checkpoint, const char *prefix, const char *name,
                             int64_t length, mv_array **out) {
  char key[512];
  snprintf(key, sizeof key, "%s.%s", prefix, name);
  return mv_checkpoint_get_float32(checkpoint, key, 1, &length, out);
}

mv_status mv_load_conv(const mv_checkpoint *checkpoint, const char *conv_key, const char *bn_key,
                       int has_bias, mv_conv_shape shape, mv_conv *out) {
  MV_CHECK_ARG(checkpoint && conv_key && out, "mv_load_conv: NULL argument");
  int64_t weight_shape[4] = {shape.out_channels, shape.in_channels, shape.kernel, shape.kernel};
  char key[512];
  snprintf(key, sizeof key, "%s.weight", conv_key);
  mv_array *weight = NULL, *bias = NULL, *bn[4] = {NULL, NULL, NULL, NULL};
  static const char *bn_names[4] = {"weight", "bias", "running_mean", "running_var"};
  mv_status s = mv_checkpoint_get_float32(checkpoint, key, 4, weight_shape, &weight);
  if (s == MV_OK && has_bias) s = load_vector(checkpoint, conv_key, "bias", shape.out_channels, &bias);
  for (int i = 0; i < 4 && s == MV_OK && bn_key; i++)
    s = load_vector(checkpoint, bn_key, bn_names[i], shape.out_channels, &bn[i]);
  if (s == MV_OK) {
    mv_batchnorm norm = {0};
    if (bn_key) {
      norm = (mv_batchnorm){bn[0]->data, bn[1]->data, bn[2]->data, bn[3]->data, 1e-5f};
    }
    s = mv_conv_create(out, shape.in_channels, shape.out_channels, shape.kernel, shape.kernel,
                       shape.stride, shape.padding, shape.dilation, weight->data,
                       bias ? bias->data : NULL, bn_key ? &norm : NULL);
    if (s != MV_OK) mv_fail_context(s, "creating conv '%s'", conv_key);
  }
  mv_array_free(weight);
  mv_array_free(bias);
  for (int i = 0; i < 4; i++) mv_array_free(bn[i]);
  return s;
}
