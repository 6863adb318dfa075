/* S2M and fusion glue that the golden fixtures exercise only in one
 * configuration: the S2M input builder at frame borders (dilation clipped
 * at the image edge, labels above k, the -1 "no scribble" value, padding),
 * and argument / checkpoint validation of both networks. The numerical
 * match with the official networks is the golden test's job. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/fusion_net.h"
#include "interaction/s2m_net.h"
#include "testutil.h"

/* Host reference of one S2M input plane (channels 3..5) at padded (y, x). */
static float reference_extra(const uint8_t *labels, const int16_t *scribbles, int h, int w,
                             mv_padding pad, int object, int channel, int y, int x) {
  int sy = y - pad.top, sx = x - pad.left;
  if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0.0f;
  if (channel == 3) return labels[sy * w + sx] == object ? 1.0f : 0.0f;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      int ny = sy + dy, nx = sx + dx;
      if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
      int s = scribbles[ny * w + nx];
      if (channel == 4 ? s == object : (s != object && s != -1)) return 1.0f;
    }
  return 0.0f;
}

static void test_make_input(void) {
  enum { H = 5, W = 7, K = 2 };
  uint8_t labels[H * W];
  int16_t scribbles[H * W];
  for (int i = 0; i < H * W; i++) {
    labels[i] = (uint8_t)(i % 4);  /* 0..3: label 3 is no object of k = 2 */
    scribbles[i] = -1;
  }
  scribbles[0] = 1;               /* corner: dilation clipped at two edges */
  scribbles[W - 1] = 2;
  scribbles[(H - 1) * W + 3] = 0; /* background scribble on the bottom edge */
  scribbles[2 * W + 3] = 3;       /* a label above k is negative for every object */
  scribbles[2 * W + 5] = -2;      /* any value but -1 and the object is negative */
  const mv_padding pad = mv_padding_for(H, W, 16);
  const int ph = H + pad.top + pad.bottom, pw = W + pad.left + pad.right;
  CHECK(ph == 16 && pw == 16, "padded size %dx%d", ph, pw);

  float *image_host = malloc(sizeof(float) * 3 * ph * pw);
  mv_test_random(image_host, (size_t)3 * ph * pw, 7, -2.0f, 2.0f);
  mv_tensor image = {0}, out = {0};
  CHECK_OK(mv_tensor_new(&image, 1, 3, ph, pw));
  CHECK_OK(mv_tensor_upload(&image, image_host));
  if (CHECK_OK(mv_s2m_make_input(&image, labels, scribbles, H, W, K, pad, &out))) {
    CHECK(out.n == K && out.c == 6 && out.h == ph && out.w == pw, "out shape %dx%dx%dx%d", out.n,
          out.c, out.h, out.w);
    float *host = malloc(sizeof(float) * mv_tensor_numel(&out));
    CHECK_OK(mv_tensor_download(&out, host));
    int wrong = 0, ones = 0;
    for (int i = 0; i < K; i++)
      for (int c = 0; c < 6; c++)
        for (int y = 0; y < ph; y++)
          for (int x = 0; x < pw; x++) {
            float want = c < 3 ? image_host[(c * ph + y) * pw + x]
                               : reference_extra(labels, scribbles, H, W, pad, i + 1, c, y, x);
            float got = host[((i * 6 + c) * ph + y) * pw + x];
            wrong += got != want;
            ones += c >= 4 && want == 1.0f;
          }
    CHECK(wrong == 0, "make_input: %d values differ from the host reference", wrong);
    CHECK(ones > 10, "make_input: the case has scribble pixels (%d)", ones);
    free(host);
  }
  /* A right-sized output is written in place; a wrong-sized one is refused. */
  CHECK_OK(mv_s2m_make_input(&image, labels, scribbles, H, W, K, pad, &out));
  CHECK_FAILS(mv_s2m_make_input(&image, labels, scribbles, H, W, 1, pad, &out), MV_E_MISMATCH);
  mv_tensor fresh = {0};
  CHECK_FAILS(mv_s2m_make_input(&image, labels, scribbles, H + 1, W, K, pad, &fresh),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_s2m_make_input(&image, NULL, scribbles, H, W, K, pad, &fresh), MV_E_ARGUMENT);
  CHECK_FAILS(mv_s2m_make_input(&image, labels, scribbles, H, W, 0, pad, &fresh), MV_E_ARGUMENT);
  CHECK_FAILS(mv_s2m_make_input(NULL, labels, scribbles, H, W, K, pad, &fresh), MV_E_ARGUMENT);
  mv_tensor_free(&fresh);
  mv_tensor_free(&image);
  mv_tensor_free(&out);
  free(image_host);
}

static void test_validation(void) {
  mv_checkpoint *fusion_weights = NULL;
  mv_s2m *s2m = NULL;
  mv_fusion *fusion = NULL;
  CHECK_FAILS(mv_s2m_load(NULL, &s2m), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_load(NULL, &fusion), MV_E_ARGUMENT);
  if (!CHECK_OK(mv_checkpoint_hashinit(mv_shared_path("spec/checkpoints/fusion.tsv"), "",
                                       &fusion_weights)))
    return;
  /* The fusion checkpoint has none of the S2M keys. */
  CHECK_FAILS(mv_s2m_load(fusion_weights, &s2m), MV_E_MISMATCH);
  CHECK(s2m == NULL, "a failed load leaves no network");
  CHECK_OK(mv_fusion_load(fusion_weights, &fusion));

  mv_tensor image = {0}, prob = {0}, attn = {0}, logit = {0}, key = {0}, small_key = {0};
  CHECK_OK(mv_tensor_zeros(&image, 1, 3, 32, 48));
  CHECK_OK(mv_tensor_zeros(&prob, 1, 1, 32, 48));
  CHECK_OK(mv_tensor_zeros(&attn, 1, 2, 32, 48));
  CHECK_OK(mv_tensor_zeros(&key, 1, 8, 2, 3));
  CHECK_OK(mv_tensor_zeros(&small_key, 1, 8, 1, 3));
  /* Zero keys: uniform attention; zero differences: zero attention maps. */
  if (CHECK_OK(mv_fusion_attention(&key, &key, &prob, &prob, &attn))) {
    static float host[2 * 32 * 48], zeros[2 * 32 * 48];
    host[0] = 1.0f; /* must be overwritten */
    CHECK_OK(mv_tensor_download(&attn, host));
    CHECK(mv_max_abs_diff(host, zeros, 2 * 32 * 48) == 0, "zero differences give zero attention");
  }
  CHECK_FAILS(mv_fusion_attention(&small_key, &key, &prob, &prob, &attn), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_attention(&key, &key, &image, &prob, &attn), MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_attention(&key, &key, &prob, &prob, &prob), MV_E_MISMATCH);
  if (CHECK_OK(mv_fusion_forward(fusion, &image, &prob, &prob, &attn, 0.5f, 0.5f, &logit)))
    CHECK(logit.n == 1 && logit.c == 1 && logit.h == 32 && logit.w == 48, "logit shape");
  CHECK_FAILS(mv_fusion_forward(NULL, &image, &prob, &prob, &attn, 0.5f, 0.5f, &logit),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_forward(fusion, &image, &attn, &prob, &attn, 0.5f, 0.5f, &logit),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_forward(fusion, &image, &prob, &prob, &attn, NAN, 0.5f, &logit),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_fusion_forward(fusion, &image, &prob, &prob, &attn, 0.5f, 0.5f, &image),
              MV_E_MISMATCH);
  CHECK_FAILS(mv_s2m_forward(NULL, &image, &prob, NULL), MV_E_ARGUMENT);

  mv_tensor_free(&image);
  mv_tensor_free(&prob);
  mv_tensor_free(&attn);
  mv_tensor_free(&logit);
  mv_tensor_free(&key);
  mv_tensor_free(&small_key);
  mv_fusion_free(fusion);
  mv_s2m_free(NULL);
  mv_fusion_free(NULL);
  mv_checkpoint_close(fusion_weights);
}

int main(void) {
  test_make_input();
  test_validation();
  return mv_test_finish();
}
