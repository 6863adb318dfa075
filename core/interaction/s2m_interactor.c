/* The "s2m" backend: the official Scribble-to-Mask network on one object,
 * with the input the official GUI builds (S2MController.interact): the
 * normalised frame, the previous mask as a 0/1 map, and the positive and
 * negative scribble maps, all zero padded to a multiple of 16. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/interactor.h"
#include "nets/preprocess.h"
#include "interaction/s2m_net.h"

static mv_status s2m_run(void *self, const mv_interaction_input *in, float *out) {
  static const char *fn = "s2m interactor";
  const mv_s2m *net = self;
  MV_TRY(mv_interaction_input_check(in, out, fn));
  const int h = in->height, w = in->width;
  const mv_padding pad = mv_padding_for(h, w, 16);
  const int ph = h + pad.top + pad.bottom, pw = w + pad.left + pad.right;
  const size_t plane = (size_t)ph * pw;

  /* Channels 3..5 are inputs: built on the host, padded, uploaded once. */
  float *masks = calloc(3 * plane, sizeof *masks);
  if (!masks) return mv_fail(MV_E_MEMORY, "%s: out of memory (%dx%d)", fn, pw, ph);
  for (int y = 0; y < h; y++) {
    size_t src = (size_t)y * w, dst = (size_t)(y + pad.top) * pw + pad.left;
    for (int x = 0; x < w; x++) {
      masks[dst + x] = in->previous && in->previous[src + x] > 0.5f;
      masks[plane + dst + x] = in->positive && in->positive[src + x];
      masks[2 * plane + dst + x] = in->negative && in->negative[src + x];
    }
  }
  mv_tensor input = {0}, prob = {0}, cropped = {0}, view;
  mv_status s = mv_tensor_new(&input, 1, 6, ph, pw);
  if (s == MV_OK) s = mv_tensor_view(&input, 0, 1, 0, 3, &view);
  if (s == MV_OK) s = mv_preprocess_frame(in->rgb, h, w, pad, &view);
  if (s == MV_OK) s = mv_tensor_view(&input, 0, 1, 3, 3, &view);
  if (s == MV_OK) s = mv_tensor_upload(&view, masks);
  if (s == MV_OK) s = mv_s2m_forward(net, &input, &prob, NULL);
  if (s == MV_OK) s = mv_crop(&prob, pad, &cropped);
  if (s == MV_OK) s = mv_tensor_download(&cropped, out);
  if (s != MV_OK) mv_fail_context(s, "%s (%dx%d frame)", fn, w, h);
  mv_tensor_free(&input);
  mv_tensor_free(&prob);
  mv_tensor_free(&cropped);
  free(masks);
  return s;
}

static void s2m_destroy(void *self) { (void)self; /* the network is not ours */ }

static const mv_interactor_ops s2m_ops = {s2m_run, s2m_destroy};

mv_status mv_interactor_s2m(const mv_s2m *net, mv_interactor *out) {
  MV_CHECK_ARG(out, "mv_interactor_s2m: NULL output");
  memset(out, 0, sizeof *out);
  MV_CHECK_ARG(net, "mv_interactor_s2m: NULL network");
  out->ops = &s2m_ops;
  out->self = (void *)net;
  out->name = "s2m";
  return MV_OK;
}
