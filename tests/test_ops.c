/* The tensor basics and the element-wise, pooling, concat, resampling and
 * padding operators against the CPU reference (opencl/reference.c) on
 * random non-zero inputs of odd sizes, with outputs poisoned (NaN) first so
 * an unwritten element fails, plus argument validation. Each operator is
 * tested on both of its paths: the OpenCL kernels (clblast engine) and, on a
 * CPU device whose buffers are host memory, the host implementation (host
 * engine, mv_ops_use_host). GEMM and convolution: test_conv_gemm.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/ops.h"
#include "opencl/reference.h"
#include "testutil.h"

#include "ops_testing.h"

/* ---- tensors ---------------------------------------------------------------- */

static void test_tensor(void) {
  const int n = 2, c = 5, h = 3, w = 7;
  size_t count = (size_t)n * c * h * w;
  float *x = host_random(count, -1, 1), *got = host_alloc(count);
  mv_tensor t = device(x, n, c, h, w);
  CHECK(t.owned && t.offset == 0 && t.n == n && t.c == c && t.h == h && t.w == w, "tensor shape");
  CHECK_OK(mv_tensor_download(&t, got));
  CHECK(memcmp(got, x, count * sizeof *x) == 0, "upload/download round trip is exact");

  mv_tensor z = {0};
  CHECK_OK(mv_tensor_zeros(&z, n, c, h, w));
  CHECK_OK(mv_tensor_download(&z, got));
  int zeros = 1;
  for (size_t i = 0; i < count; i++) zeros &= got[i] == 0.0f;
  CHECK(zeros, "mv_tensor_zeros is all zero");

  /* Views: channels [1, 4) of item 1, written by copy. */
  mv_tensor v = {0}, src_view = {0};
  CHECK_OK(mv_tensor_view(&z, 1, 1, 1, 3, &v));
  CHECK(!v.owned && v.offset == (size_t)(1 * c + 1) * h * w && v.c == 3 && v.n == 1,
        "view offset %zu", v.offset);
  CHECK_OK(mv_tensor_view(&t, 0, 1, 2, 3, &src_view));
  CHECK_OK(mv_tensor_copy(&src_view, &v));
  CHECK_OK(mv_tensor_download(&z, got));
  int ok = 1;
  for (int ch = 0; ch < c; ch++)
    for (int i = 0; i < h * w; i++) {
      float want = ch >= 1 && ch < 4 ? x[(size_t)(ch + 1) * h * w + i] : 0.0f;
      ok &= got[((size_t)1 * c + ch) * h * w + i] == want && got[(size_t)ch * h * w + i] == 0.0f;
    }
  CHECK(ok, "copy into a channel view touches only that slice");

  CHECK_OK(mv_tensor_fill(&v, 2.5f));
  CHECK_OK(mv_tensor_download(&z, got));
  CHECK(got[((size_t)1 * c + 1) * h * w] == 2.5f && got[((size_t)1 * c + 4) * h * w] == 0.0f,
        "fill of a view");

  mv_tensor whole = {0};
  CHECK_OK(mv_tensor_view(&t, 0, 2, 0, c, &whole));
  CHECK(whole.n == 2 && whole.offset == 0, "view of all channels may span batch items");
  mv_tensor_free(&whole); /* a view: must not release t's buffer */
  CHECK_OK(mv_tensor_download(&t, got));
  CHECK(memcmp(got, x, count * sizeof *x) == 0, "freeing a view leaves the tensor intact");

  /* validation */
  mv_tensor bad = {0};
  CHECK_FAILS(mv_tensor_new(NULL, 1, 1, 1, 1), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_new(&bad, 1, 0, 1, 1), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_new(&bad, 1, -3, 1, 1), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_view(&t, 0, 2, 1, 3, &bad), MV_E_ARGUMENT); /* not contiguous */
  CHECK_FAILS(mv_tensor_view(&t, 0, 1, 3, 3, &bad), MV_E_ARGUMENT); /* past the channels */
  CHECK_FAILS(mv_tensor_view(&t, 2, 1, 0, 1, &bad), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_view(NULL, 0, 1, 0, 1, &bad), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_upload(&t, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_tensor_download(&bad, got), MV_E_ARGUMENT); /* empty tensor */
  mv_tensor small = {0};
  CHECK_OK(mv_tensor_new(&small, 1, 1, 2, 2));
  CHECK_FAILS(mv_tensor_copy(&t, &small), MV_E_MISMATCH);
  mv_tensor overlap_a = {0}, overlap_b = {0};
  CHECK_OK(mv_tensor_view(&t, 0, 1, 0, 3, &overlap_a));
  CHECK_OK(mv_tensor_view(&t, 0, 1, 1, 3, &overlap_b));
  CHECK_FAILS(mv_tensor_copy(&overlap_a, &overlap_b), MV_E_ARGUMENT);
  mv_tensor past = t;
  past.offset = (size_t)1 << 24; /* runs past the end of the buffer */
  CHECK_FAILS(mv_tensor_download(&past, got), MV_E_ARGUMENT);
  mv_tensor_free(&small);
  mv_tensor_free(&t);
  mv_tensor_free(&z);
  CHECK(t.buffer == NULL && t.n == 0, "mv_tensor_free empties the tensor");
  mv_tensor_free(&t); /* twice is fine */
  mv_tensor_free(NULL);
  free(x);
  free(got);
}

/* A tensor from another OpenCL context than the runtime's. */
static void test_device_mismatch(void) {
  mv_runtime *rt = NULL;
  CHECK_OK(mv_runtime_get(&rt));
  if (!rt) return;
  cl_int code = CL_SUCCESS;
  cl_context other = clCreateContext(NULL, 1, &rt->device, NULL, NULL, &code);
  CHECK(code == CL_SUCCESS, "second context: %s", mv_cl_error_name(code));
  if (code != CL_SUCCESS) return;
  cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, 64 * sizeof(float), NULL, &code);
  CHECK(code == CL_SUCCESS, "buffer in the second context");
  mv_tensor x = {foreign, 0, 1, 1, 8, 8, 0}, y = {0};
  CHECK_FAILS(mv_relu(&x, &y), MV_E_MISMATCH);
  CHECK(strstr(mv_error_message(), "context") != NULL, "message names the context: %s",
        mv_error_message());
  CHECK(y.buffer == NULL, "no output allocated on failure");
  mv_matrix a = {foreign, 0, 8};
  mv_tensor own = {0};
  CHECK_OK(mv_tensor_new(&own, 1, 1, 8, 8));
  mv_matrix b = {own.buffer, 0, 8};
  CHECK_FAILS(mv_gemm(0, 0, 8, 8, 8, 1, a, b, 0, b), MV_E_MISMATCH);
  mv_tensor_free(&own);
  clReleaseMemObject(foreign);
  clReleaseContext(other);
}

/* ---- element-wise, pooling, concat --------------------------------------------- */

static void test_elementwise(void) {
  const int n = 2, c = 3, h = 7, w = 13;
  size_t count = (size_t)n * c * h * w;
  float *a = host_random(count, -2, 2), *b = host_random(count, -2, 2), *want = host_alloc(count);
  mv_tensor da = device(a, n, c, h, w), db = device(b, n, c, h, w), dy = poisoned(n, c, h, w);
  mv_ref_relu(a, count, want);
  CHECK_OK(mv_relu(&da, &dy));
  compare("relu", &dy, want);
  mv_ref_sigmoid(a, count, want);
  CHECK_OK(mv_tensor_fill(&dy, NAN));
  CHECK_OK(mv_sigmoid(&da, &dy));
  compare("sigmoid", &dy, want);
  for (int relu = 0; relu <= 1; relu++) {
    mv_ref_add(a, b, count, relu, want);
    CHECK_OK(mv_tensor_fill(&dy, NAN));
    CHECK_OK(mv_add(&da, &db, &dy, relu));
    compare(relu ? "add + relu" : "add", &dy, want);
  }
  /* In place: y aliases an input. */
  mv_ref_add(a, b, count, 1, want);
  mv_tensor da2 = device(a, n, c, h, w);
  CHECK_OK(mv_add(&da2, &db, &da2, 1));
  compare("add in place", &da2, want);
  mv_ref_relu(b, count, want);
  CHECK_OK(mv_relu(&db, &db));
  compare("relu in place", &db, want);
  mv_tensor s = {0};
  mv_ref_sigmoid(a, count, want);
  CHECK_OK(mv_sigmoid(&da, &s));
  compare("sigmoid allocates", &s, want);

  /* validation */
  mv_tensor other = {0}, y = {0}, shifted = {0};
  CHECK_OK(mv_tensor_zeros(&other, n, c, h + 1, w));
  CHECK_FAILS(mv_add(&da, &other, &y, 0), MV_E_MISMATCH);
  CHECK_FAILS(mv_add(&da, NULL, &y, 0), MV_E_ARGUMENT);
  CHECK_FAILS(mv_relu(NULL, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_relu(&da, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_sigmoid(&da, &other), MV_E_MISMATCH);
  CHECK_OK(mv_tensor_view(&da, 0, 1, 1, 2, &shifted));
  mv_tensor first = {0};
  CHECK_OK(mv_tensor_view(&da, 0, 1, 0, 2, &first));
  CHECK_FAILS(mv_relu(&first, &shifted), MV_E_ARGUMENT); /* partial overlap */
  CHECK(y.buffer == NULL, "no output allocated on failure");
  mv_tensor_free(&da), mv_tensor_free(&db), mv_tensor_free(&dy), mv_tensor_free(&da2);
  mv_tensor_free(&s), mv_tensor_free(&other);
  free(a), free(b), free(want);
}

static void test_maxpool(void) {
  static const int sizes[][2] = {{17, 23}, {16, 22}, {5, 3}, {240, 433}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int n = i == 0 ? 2 : 1, c = i == 3 ? 2 : 3, h = sizes[i][0], w = sizes[i][1];
    int oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
    size_t xs = (size_t)n * c * h * w, ys = (size_t)n * c * oh * ow;
    float *x = host_random(xs, -3, -1); /* all negative: zero padding would win */
    float *want = host_alloc(ys);
    mv_ref_maxpool2d(x, n, c, h, w, 3, 2, 1, want);
    mv_tensor dx = device(x, n, c, h, w), dy = poisoned(n, c, oh, ow);
    CHECK_OK(mv_maxpool2d(&dx, 3, 2, 1, &dy));
    char what[64];
    snprintf(what, sizeof what, "maxpool 3x3/2 %dx%d -> %dx%d", h, w, oh, ow);
    compare(what, &dy, want);
    mv_tensor_free(&dx), mv_tensor_free(&dy);
    free(x), free(want);
  }
  CHECK((240 + 2 - 3) / 2 + 1 == 120, "stem pool 240 -> 120");
  mv_tensor x = {0}, y = {0};
  CHECK_OK(mv_tensor_zeros(&x, 1, 2, 9, 9));
  CHECK_FAILS(mv_maxpool2d(&x, 3, 2, 2, &y), MV_E_ARGUMENT); /* pad > kernel/2 */
  CHECK_FAILS(mv_maxpool2d(&x, 0, 2, 0, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_maxpool2d(&x, 3, 0, 1, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_maxpool2d(NULL, 3, 2, 1, &y), MV_E_ARGUMENT);
  mv_tensor wrong = {0};
  CHECK_OK(mv_tensor_zeros(&wrong, 1, 2, 4, 5));
  CHECK_FAILS(mv_maxpool2d(&x, 3, 2, 1, &wrong), MV_E_MISMATCH);
  mv_tensor_free(&x), mv_tensor_free(&wrong);
}

static void test_concat(void) {
  const int n = 2, h = 5, w = 9;
  const int channels[3] = {3, 1, 5};
  float *parts[3];
  mv_tensor d[3];
  for (int i = 0; i < 3; i++) {
    parts[i] = host_random((size_t)n * channels[i] * h * w, -1, 1);
    d[i] = device(parts[i], n, channels[i], h, w);
  }
  size_t ys = (size_t)n * 9 * h * w;
  float *want = host_alloc(ys);
  mv_ref_concat((const float *const *)parts, channels, 3, n, h, w, want);
  const mv_tensor *inputs[3] = {&d[0], &d[1], &d[2]};
  mv_tensor y = poisoned(n, 9, h, w);
  CHECK_OK(mv_concat(inputs, 3, &y));
  compare("concat N=2 3+1+5", &y, want);
  mv_tensor fresh = {0};
  CHECK_OK(mv_concat(inputs, 3, &fresh));
  CHECK(fresh.c == 9 && fresh.n == n, "concat allocates 9 channels");
  compare("concat allocated", &fresh, want);

  /* validation */
  mv_tensor odd = {0}, out = {0};
  CHECK_OK(mv_tensor_zeros(&odd, n, 2, h, w + 1));
  const mv_tensor *mismatched[2] = {&d[0], &odd};
  CHECK_FAILS(mv_concat(mismatched, 2, &out), MV_E_MISMATCH);
  const mv_tensor *with_null[2] = {&d[0], NULL};
  CHECK_FAILS(mv_concat(with_null, 2, &out), MV_E_ARGUMENT);
  CHECK_FAILS(mv_concat(inputs, 0, &out), MV_E_ARGUMENT);
  CHECK_FAILS(mv_concat(NULL, 3, &out), MV_E_ARGUMENT);
  mv_tensor wrong = {0};
  CHECK_OK(mv_tensor_zeros(&wrong, n, 8, h, w));
  CHECK_FAILS(mv_concat(inputs, 3, &wrong), MV_E_MISMATCH);
  const mv_tensor *self[2] = {&y, &d[0]};
  CHECK_FAILS(mv_concat(self, 2, &y), MV_E_MISMATCH); /* 12 channels wanted */
  for (int i = 0; i < 3; i++) mv_tensor_free(&d[i]), free(parts[i]);
  mv_tensor_free(&y), mv_tensor_free(&fresh), mv_tensor_free(&odd), mv_tensor_free(&wrong);
  free(want);
}

/* ---- resampling ---------------------------------------------------------------- */

static void resize_case(int bilinear, int n, int c, int h, int w, int oh, int ow) {
  size_t xs = (size_t)n * c * h * w, ys = (size_t)n * c * oh * ow;
  float *x = host_random(xs, -1, 1), *want = host_alloc(ys);
  if (bilinear)
    mv_ref_bilinear(x, n, c, h, w, oh, ow, want);
  else
    mv_ref_area(x, n, c, h, w, oh, ow, want);
  mv_tensor dx = device(x, n, c, h, w), dy = poisoned(n, c, oh, ow);
  CHECK_OK(bilinear ? mv_resize_bilinear(&dx, oh, ow, &dy) : mv_area_resize(&dx, oh, ow, &dy));
  char what[96];
  snprintf(what, sizeof what, "%s %dx%d -> %dx%d", bilinear ? "bilinear" : "area", h, w, oh, ow);
  compare(what, &dy, want);
  mv_tensor_free(&dx), mv_tensor_free(&dy);
  free(x), free(want);
}

static void test_resample(void) {
  resize_case(1, 2, 3, 7, 9, 14, 18);     /* x2 */
  resize_case(1, 1, 3, 7, 9, 28, 36);     /* x4 */
  resize_case(1, 1, 2, 5, 7, 80, 112);    /* x16 */
  resize_case(1, 1, 3, 13, 17, 29, 11);   /* non-integer, up and down */
  resize_case(1, 1, 3, 30, 54, 61, 107);  /* non-integer up */
  resize_case(1, 1, 1, 1, 1, 5, 3);       /* a single pixel */
  resize_case(1, 1, 3, 33, 41, 7, 9);     /* bilinear down */
  resize_case(0, 1, 3, 80, 112, 5, 7);    /* area /16 */
  resize_case(0, 2, 3, 37, 53, 5, 7);     /* non-divisible */
  resize_case(0, 1, 3, 7, 9, 7, 9);       /* identity */
  resize_case(0, 1, 2, 5, 6, 9, 11);      /* "area" up-sampling: bins of one pixel or two */

  /* Exactness of the PyTorch index rule: upsampling x2 of a ramp gives known
   * values (src = (dst + 0.5) / 2 - 0.5, clamped at 0, last neighbour clamped). */
  float ramp[4] = {0, 1, 2, 3};
  float want_ramp[8] = {0, 0.25f, 0.75f, 1.25f, 1.75f, 2.25f, 2.75f, 3};
  mv_tensor dr = device(ramp, 1, 1, 1, 4), dy = poisoned(1, 1, 1, 8);
  CHECK_OK(mv_resize_bilinear(&dr, 1, 8, &dy));
  float got[8];
  CHECK_OK(mv_tensor_download(&dy, got));
  CHECK(memcmp(got, want_ramp, sizeof got) == 0, "bilinear x2 ramp: %g %g ... %g", got[0], got[1],
        got[7]);
  /* area of a ramp 0..5 to 4 bins: [0,2) [1,3) [3,5) [4,6) */
  float ramp6[6] = {0, 1, 2, 3, 4, 5}, want_area[4] = {0.5f, 1.5f, 3.5f, 4.5f};
  mv_tensor d6 = device(ramp6, 1, 1, 1, 6), da = poisoned(1, 1, 1, 4);
  CHECK_OK(mv_area_resize(&d6, 1, 4, &da));
  CHECK_OK(mv_tensor_download(&da, got));
  CHECK(memcmp(got, want_area, sizeof want_area) == 0, "area 6 -> 4 bins: %g %g %g %g", got[0],
        got[1], got[2], got[3]);

  mv_tensor y = {0};
  CHECK_FAILS(mv_resize_bilinear(&dr, 0, 4, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_area_resize(&dr, 2, -1, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_resize_bilinear(NULL, 2, 2, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_resize_bilinear(&dr, 2, 2, &dy), MV_E_MISMATCH);
  mv_tensor_free(&dr), mv_tensor_free(&dy), mv_tensor_free(&d6), mv_tensor_free(&da);
}

static void test_global_pool(void) {
  const int n = 2, c = 5, h = 30, w = 54;
  size_t xs = (size_t)n * c * h * w;
  float *x = host_random(xs, -1, 2), *pooled = host_alloc((size_t)n * c),
        *broadcast = host_alloc((size_t)n * c * 7 * 9);
  mv_ref_global_avgpool(x, n, c, h, w, pooled);
  mv_tensor dx = device(x, n, c, h, w), dp = poisoned(n, c, 1, 1);
  CHECK_OK(mv_global_avgpool(&dx, &dp));
  compare("global avgpool 30x54", &dp, pooled);
  float *got_pooled = host_alloc((size_t)n * c);
  CHECK_OK(mv_tensor_download(&dp, got_pooled));
  mv_ref_broadcast(got_pooled, n, c, 7, 9, broadcast);
  mv_tensor db = poisoned(n, c, 7, 9);
  CHECK_OK(mv_broadcast(&dp, 7, 9, &db));
  compare("broadcast 1x1 -> 7x9", &db, broadcast);
  /* A plane smaller than the work-group and a large one. */
  float small[3] = {1, 2, 4};
  mv_tensor ds = device(small, 1, 1, 1, 3), dsp = {0};
  CHECK_OK(mv_global_avgpool(&ds, &dsp));
  float mean = 0;
  CHECK_OK(mv_tensor_download(&dsp, &mean));
  CHECK(fabsf(mean - 7.0f / 3.0f) < 1e-6f, "mean of 1, 2, 4 = %g", mean);
  float *wide = host_random((size_t)3 * 120 * 216, 0, 1), wide_want[3];
  mv_ref_global_avgpool(wide, 1, 3, 120, 216, wide_want);
  mv_tensor dw = device(wide, 1, 3, 120, 216), dwp = {0};
  CHECK_OK(mv_global_avgpool(&dw, &dwp));
  compare("global avgpool 120x216", &dwp, wide_want);

  mv_tensor y = {0};
  CHECK_FAILS(mv_broadcast(&dx, 7, 9, &y), MV_E_MISMATCH); /* x is not 1x1 */
  CHECK_FAILS(mv_broadcast(&dp, 0, 9, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_global_avgpool(&dx, &db), MV_E_MISMATCH);
  CHECK_FAILS(mv_global_avgpool(NULL, &y), MV_E_ARGUMENT);
  mv_tensor_free(&dx), mv_tensor_free(&dp), mv_tensor_free(&db), mv_tensor_free(&ds);
  mv_tensor_free(&dsp), mv_tensor_free(&dw), mv_tensor_free(&dwp);
  free(x), free(pooled), free(broadcast), free(got_pooled), free(wide);
}

/* ---- padding --------------------------------------------------------------------- */

static void test_padding(void) {
  mv_padding p = mv_padding_for(121, 215, 16);
  CHECK(p.left == 4 && p.right == 5 && p.top == 3 && p.bottom == 4,
        "121x215: left %d right %d top %d bottom %d (want 4 5 3 4)", p.left, p.right, p.top,
        p.bottom);
  p = mv_padding_for(480, 854, 16);
  CHECK(p.top == 0 && p.bottom == 0 && p.left == 5 && p.right == 5, "480x854 -> 480x864");
  p = mv_padding_for(32, 48, 16);
  CHECK(p.top == 0 && p.bottom == 0 && p.left == 0 && p.right == 0, "multiples need no padding");
  p = mv_padding_for(17, 1, 16);
  CHECK(p.top == 7 && p.bottom == 8 && p.left == 7 && p.right == 8, "17x1 -> 32x16");

  const int n = 1, c = 3, h = 121, w = 215;
  mv_padding pad = mv_padding_for(h, w, 16);
  size_t xs = (size_t)n * c * h * w, ys = (size_t)n * c * 128 * 224;
  float *x = host_random(xs, -1, 1), *want = host_alloc(ys);
  mv_ref_pad(x, n, c, h, w, pad, want);
  mv_tensor dx = device(x, n, c, h, w), dy = poisoned(n, c, 128, 224), back = poisoned(n, c, h, w);
  CHECK_OK(mv_pad(&dx, pad, &dy));
  compare("pad 121x215 -> 128x224", &dy, want);
  CHECK_OK(mv_crop(&dy, pad, &back));
  float *got = host_alloc(xs);
  CHECK_OK(mv_tensor_download(&back, got));
  CHECK(memcmp(got, x, xs * sizeof *x) == 0, "crop(pad(x)) == x exactly");
  /* Crop against the reference with an asymmetric crop, N=2. */
  float *x2 = host_random((size_t)2 * 3 * 20 * 17, -1, 1), *want2 = host_alloc((size_t)2 * 3 * 13 * 14);
  mv_padding crop = {1, 2, 3, 4};
  mv_ref_crop(x2, 2, 3, 20, 17, crop, want2);
  mv_tensor dx2 = device(x2, 2, 3, 20, 17), dc = {0};
  CHECK_OK(mv_crop(&dx2, crop, &dc));
  CHECK(dc.h == 13 && dc.w == 14, "crop size");
  compare("crop N=2", &dc, want2);

  mv_tensor y = {0};
  mv_padding negative = {-1, 0, 0, 0}, too_much = {0, 0, 10, 10};
  CHECK_FAILS(mv_pad(&dx, negative, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_crop(&dx2, too_much, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_pad(NULL, pad, &y), MV_E_ARGUMENT);
  CHECK_FAILS(mv_pad(&dx, pad, &back), MV_E_MISMATCH);
  mv_tensor_free(&dx), mv_tensor_free(&dy), mv_tensor_free(&back), mv_tensor_free(&dx2);
  mv_tensor_free(&dc);
  free(x), free(want), free(got), free(x2), free(want2);
}

static void test_self_check(void) {
  char report[8192];
  CHECK_OK(mv_device_self_check(report, sizeof report));
  CHECK(strstr(report, "conv3x3") && strstr(report, "bilinear") && strstr(report, " ok"),
        "self-check report lists operators:\n%s", report);
  CHECK(strstr(report, "FAIL") == NULL, "no failure in the report");
  char tiny[16];
  CHECK_OK(mv_device_self_check(tiny, sizeof tiny)); /* truncated, still terminated */
  CHECK(strlen(tiny) < sizeof tiny, "truncated report is terminated");
  CHECK_OK(mv_device_self_check(NULL, 0));
}

int main(void) {
  mv_device_info info;
  if (!CHECK_OK(mv_device_current(&info))) return mv_test_finish();
  printf("device: %s (%s)\n", info.name, info.platform);
  test_tensor();
  test_device_mismatch();
  /* Every operator on the kernels (clblast) and on the host paths (host). */
  const mv_gemm_engine engines[2] = {MV_GEMM_CLBLAST, MV_GEMM_HOST};
  for (int e = 0; e < 2; e++) {
    if (!select_engine(engines[e])) continue;
    CHECK(mv_ops_use_host() == (engines[e] == MV_GEMM_HOST), "host paths follow the engine (%s)",
          engine_label);
    printf("gemm engine %s: operators on the %s\n", engine_label,
           mv_ops_use_host() ? "host" : "OpenCL kernels");
    test_elementwise();
    test_maxpool();
    test_concat();
    test_resample();
    test_global_pool();
    test_padding();
  }
  /* The switch: off, the host engine runs the kernels too. */
  if (mv_gemm_host_supported() && CHECK_OK(mv_gemm_set_engine(MV_GEMM_HOST))) {
    int previous = mv_ops_fast_paths(0);
    CHECK(previous == 1 && mv_ops_use_host() == 0, "mv_ops_fast_paths(0) turns the host paths off");
    mv_ops_fast_paths(previous);
    CHECK(mv_ops_use_host() == 1, "and back on");
  }
  CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
  engine_label = "auto";
  test_self_check();
  CHECK_OK(mv_runtime_finish());
  return mv_test_finish();
}
