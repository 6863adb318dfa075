/* mv_device_self_check: every operator on small odd-size inputs on the
 * current device against the CPU reference (opencl/reference.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opencl/ops.h"
#include "opencl/reference.h"

#define SELF_CHECK_TOLERANCE 1e-5

typedef struct report_buffer {
  char *text;
  size_t capacity, used;
} report_buffer;

static void report_line(report_buffer *r, const char *fmt, ...) {
  if (!r->text || r->capacity == 0 || r->used + 1 >= r->capacity) return;
  va_list ap;
  va_start(ap, fmt);
  int written = vsnprintf(r->text + r->used, r->capacity - r->used, fmt, ap);
  va_end(ap);
  if (written > 0) r->used += (size_t)written;
  if (r->used >= r->capacity) r->used = r->capacity - 1;
}

/* Host scratch for one check: inputs, the device result and the reference. */
typedef struct scratch {
  float *a, *b, *got, *want;
} scratch;

static float *alloc_floats(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static void upload_new(mv_tensor *t, int n, int c, int h, int w, const float *host,
                       mv_status *status) {
  if (*status != MV_OK) return;
  *status = mv_tensor_new(t, n, c, h, w);
  if (*status == MV_OK) *status = mv_tensor_upload(t, host);
}

/* Each check returns the relative L2 error through *err (or a status). */
typedef mv_status (*check_fn)(double *err);

static mv_status check_gemm(double *err) {
  const size_t m = 13, n = 21, k = 37;
  float *a = alloc_floats(m * k), *b = alloc_floats(k * n), *c = alloc_floats(m * n),
        *want = alloc_floats(m * n);
  mv_status status = (a && b && c && want) ? MV_OK : mv_fail(MV_E_MEMORY, "self check: no memory");
  mv_tensor ta = {0}, tb = {0}, tc = {0};
  *err = 0;
  if (status == MV_OK) {
    mv_ref_random(a, m * k, 1, -1, 1);
    mv_ref_random(b, k * n, 2, -1, 1);
    mv_ref_random(c, m * n, 3, -1, 1);
    memcpy(want, c, m * n * sizeof(float));
    /* A stored transposed (k x m), B plain. */
    mv_ref_gemm(1, 0, m, n, k, 0.5f, a, m, b, n, 0.25f, want, n);
  }
  upload_new(&ta, 1, 1, (int)k, (int)m, a, &status);
  upload_new(&tb, 1, 1, (int)k, (int)n, b, &status);
  upload_new(&tc, 1, 1, (int)m, (int)n, c, &status);
  if (status == MV_OK) {
    mv_matrix ma = {ta.buffer, ta.offset, m}, mb = {tb.buffer, tb.offset, n},
              mc = {tc.buffer, tc.offset, n};
    status = mv_gemm(1, 0, m, n, k, 0.5f, ma, mb, 0.25f, mc);
  }
  if (status == MV_OK) status = mv_tensor_download(&tc, c);
  if (status == MV_OK) *err = mv_ref_rel_l2(c, want, m * n);
  mv_tensor_free(&ta);
  mv_tensor_free(&tb);
  mv_tensor_free(&tc);
  free(a), free(b), free(c), free(want);
  return status;
}

/* A conv of the given geometry with bias and ReLU on a 2-item batch. */
static mv_status check_conv_geometry(double *err, int in_c, int out_c, int kernel, int stride,
                                     int pad, int dil, int h, int w, int with_bias, int relu) {
  const int n = 2;
  int oh = mv_conv_out_size(h, kernel, stride, pad, dil), ow = mv_conv_out_size(w, kernel, stride,
                                                                                pad, dil);
  size_t xs = (size_t)n * in_c * h * w, ws = (size_t)out_c * in_c * kernel * kernel,
         ys = (size_t)n * out_c * oh * ow;
  float *x = alloc_floats(xs), *wt = alloc_floats(ws), *bias = alloc_floats(out_c),
        *got = alloc_floats(ys), *want = alloc_floats(ys);
  mv_status status = (x && wt && bias && got && want) ? MV_OK
                                                     : mv_fail(MV_E_MEMORY, "self check: no memory");
  mv_tensor tx = {0}, ty = {0};
  mv_conv conv = {0};
  *err = 0;
  if (status == MV_OK) {
    mv_ref_random(x, xs, 11, -1, 1);
    mv_ref_random(wt, ws, 12, -0.5f, 0.5f);
    mv_ref_random(bias, out_c, 13, -0.5f, 0.5f);
    mv_ref_conv2d(x, n, in_c, h, w, wt, with_bias ? bias : NULL, out_c, kernel, kernel, stride, pad,
                  dil, relu, want);
    status = mv_conv_create(&conv, in_c, out_c, kernel, kernel, stride, pad, dil, wt,
                            with_bias ? bias : NULL, NULL);
  }
  upload_new(&tx, n, in_c, h, w, x, &status);
  if (status == MV_OK) status = mv_conv2d(&conv, &tx, &ty, relu ? MV_CONV_RELU : 0);
  if (status == MV_OK) status = mv_tensor_download(&ty, got);
  if (status == MV_OK) *err = mv_ref_rel_l2(got, want, ys);
  mv_conv_free(&conv);
  mv_tensor_free(&tx);
  mv_tensor_free(&ty);
  free(x), free(wt), free(bias), free(got), free(want);
  return status;
}

static mv_status check_conv3x3(double *err) {
  return check_conv_geometry(err, 5, 7, 3, 1, 1, 1, 9, 11, 1, 1);
}
static mv_status check_conv_strided(double *err) {
  return check_conv_geometry(err, 3, 6, 7, 2, 3, 1, 13, 15, 0, 0);
}
static mv_status check_conv_dilated(double *err) {
  return check_conv_geometry(err, 6, 5, 3, 1, 2, 2, 9, 10, 1, 0);
}
static mv_status check_conv1x1(double *err) {
  return check_conv_geometry(err, 9, 5, 1, 1, 0, 1, 7, 13, 1, 1);
}

/* Conv followed by BatchNorm: the folded conv against conv -> BN on the CPU. */
static mv_status check_conv_bn(double *err) {
  const int n = 1, in_c = 5, out_c = 6, h = 9, w = 7;
  size_t xs = (size_t)n * in_c * h * w, ws = (size_t)out_c * in_c * 9, ys = (size_t)n * out_c * h * w;
  float *x = alloc_floats(xs), *wt = alloc_floats(ws), *got = alloc_floats(ys),
        *want = alloc_floats(ys), *bnp = alloc_floats(4 * (size_t)out_c);
  mv_status status = (x && wt && got && want && bnp) ? MV_OK
                                                     : mv_fail(MV_E_MEMORY, "self check: no memory");
  mv_tensor tx = {0}, ty = {0};
  mv_conv conv = {0};
  *err = 0;
  if (status == MV_OK) {
    mv_ref_random(x, xs, 21, -1, 1);
    mv_ref_random(wt, ws, 22, -0.5f, 0.5f);
    mv_ref_random(bnp, 3 * (size_t)out_c, 23, -1, 1);
    mv_ref_random(bnp + 3 * out_c, out_c, 24, 0.2f, 2.0f); /* variances */
    mv_batchnorm bn = {bnp, bnp + out_c, bnp + 2 * out_c, bnp + 3 * out_c, 1e-5f};
    mv_ref_conv2d(x, n, in_c, h, w, wt, NULL, out_c, 3, 3, 1, 1, 1, 0, want);
    mv_ref_batchnorm(want, n, out_c, h * w, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                     bn.eps);
    status = mv_conv_create(&conv, in_c, out_c, 3, 3, 1, 1, 1, wt, NULL, &bn);
  }
  upload_new(&tx, n, in_c, h, w, x, &status);
  if (status == MV_OK) status = mv_conv2d(&conv, &tx, &ty, 0);
  if (status == MV_OK) status = mv_tensor_download(&ty, got);
  if (status == MV_OK) *err = mv_ref_rel_l2(got, want, ys);
  mv_conv_free(&conv);
  mv_tensor_free(&tx);
  mv_tensor_free(&ty);
  free(x), free(wt), free(got), free(want), free(bnp);
  return status;
}

/* The operators with one input tensor [2][3][h][w] and one output. */
typedef enum unary_op {
  OP_MAXPOOL, OP_RELU, OP_SIGMOID, OP_BILINEAR_UP, OP_BILINEAR_ODD, OP_AREA, OP_AVGPOOL,
  OP_BROADCAST, OP_PAD, OP_CROP, OP_ADD, OP_CONCAT
} unary_op;

static mv_status check_unary(double *err, unary_op op) {
  const int n = 2, c = 3;
  int h = 17, w = 23, oh = h, ow = w, xc = c, oc = c;
  mv_padding pad = mv_padding_for(h, w, 16);
  switch (op) {
    case OP_MAXPOOL: oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1; break;
    case OP_BILINEAR_UP: oh = 4 * h, ow = 4 * w; break;
    case OP_BILINEAR_ODD: oh = 29, ow = 13; break;
    case OP_AREA: oh = 5, ow = 7; break;
    case OP_AVGPOOL: oh = 1, ow = 1; break;
    case OP_BROADCAST: h = 1, w = 1, oh = 7, ow = 9; break;
    case OP_PAD: oh = h + pad.top + pad.bottom, ow = w + pad.left + pad.right; break;
    case OP_CROP: pad = (mv_padding){2, 1, 3, 4}, oh = h - 7, ow = w - 3; break;
    case OP_CONCAT: xc = 2 * c + 1, oc = 3 * c + 1; break; /* x split into c and c+1 channels */
    default: break;
  }
  size_t xs = (size_t)n * xc * h * w, ys = (size_t)n * oc * oh * ow;
  float *x = alloc_floats(xs), *x2 = alloc_floats(xs), *got = alloc_floats(ys),
        *want = alloc_floats(ys);
  mv_status status = (x && x2 && got && want) ? MV_OK : mv_fail(MV_E_MEMORY, "self check: no memory");
  mv_tensor tx = {0}, tx2 = {0}, ty = {0};
  *err = 0;
  if (status == MV_OK) {
    mv_ref_random(x, xs, 31 + op, -2, 2);
    mv_ref_random(x2, xs, 61 + op, -2, 2);
  }
  upload_new(&tx, n, xc, h, w, x, &status);
  if (op == OP_ADD) upload_new(&tx2, n, xc, h, w, x2, &status);
  if (op == OP_CONCAT) upload_new(&tx2, n, c, h, w, x2, &status);
  if (status == MV_OK) {
    switch (op) {
      case OP_MAXPOOL:
        mv_ref_maxpool2d(x, n, c, h, w, 3, 2, 1, want);
        status = mv_maxpool2d(&tx, 3, 2, 1, &ty);
        break;
      case OP_RELU: mv_ref_relu(x, xs, want), status = mv_relu(&tx, &ty); break;
      case OP_SIGMOID: mv_ref_sigmoid(x, xs, want), status = mv_sigmoid(&tx, &ty); break;
      case OP_BILINEAR_UP:
      case OP_BILINEAR_ODD:
        mv_ref_bilinear(x, n, c, h, w, oh, ow, want);
        status = mv_resize_bilinear(&tx, oh, ow, &ty);
        break;
      case OP_AREA:
        mv_ref_area(x, n, c, h, w, oh, ow, want);
        status = mv_area_resize(&tx, oh, ow, &ty);
        break;
      case OP_AVGPOOL:
        mv_ref_global_avgpool(x, n, c, h, w, want);
        status = mv_global_avgpool(&tx, &ty);
        break;
      case OP_BROADCAST:
        mv_ref_broadcast(x, n, c, oh, ow, want);
        status = mv_broadcast(&tx, oh, ow, &ty);
        break;
      case OP_PAD: mv_ref_pad(x, n, c, h, w, pad, want), status = mv_pad(&tx, pad, &ty); break;
      case OP_CROP: mv_ref_crop(x, n, c, h, w, pad, want), status = mv_crop(&tx, pad, &ty); break;
      case OP_ADD: mv_ref_add(x, x2, xs, 1, want), status = mv_add(&tx, &tx2, &ty, 1); break;
      case OP_CONCAT: {
        /* y = concat(x2 [c ch], x [2c+1 ch]) */
        const float *parts[2] = {x2, x};
        int channels[2] = {c, xc};
        mv_ref_concat(parts, channels, 2, n, h, w, want);
        const mv_tensor *inputs[2] = {&tx2, &tx};
        status = mv_concat(inputs, 2, &ty);
        break;
      }
    }
  }
  if (status == MV_OK) status = mv_tensor_download(&ty, got);
  if (status == MV_OK) *err = mv_ref_rel_l2(got, want, ys);
  mv_tensor_free(&tx);
  mv_tensor_free(&tx2);
  mv_tensor_free(&ty);
  free(x), free(x2), free(got), free(want);
  return status;
}

static mv_status check_maxpool(double *e) { return check_unary(e, OP_MAXPOOL); }
static mv_status check_relu(double *e) { return check_unary(e, OP_RELU); }
static mv_status check_sigmoid(double *e) { return check_unary(e, OP_SIGMOID); }
static mv_status check_add(double *e) { return check_unary(e, OP_ADD); }
static mv_status check_concat(double *e) { return check_unary(e, OP_CONCAT); }
static mv_status check_bilinear_up(double *e) { return check_unary(e, OP_BILINEAR_UP); }
static mv_status check_bilinear_odd(double *e) { return check_unary(e, OP_BILINEAR_ODD); }
static mv_status check_area(double *e) { return check_unary(e, OP_AREA); }
static mv_status check_avgpool(double *e) { return check_unary(e, OP_AVGPOOL); }
static mv_status check_broadcast(double *e) { return check_unary(e, OP_BROADCAST); }
static mv_status check_pad(double *e) { return check_unary(e, OP_PAD); }
static mv_status check_crop(double *e) { return check_unary(e, OP_CROP); }

/* Three products of A^T * B^T in one call. */
static mv_status check_gemm_batched(double *err) {
  const size_t m = 7, n = 11, k = 19, batch = 3;
  size_t as = k * m + 5, bs = n * k + 3, cs = m * n + 2; /* strides with gaps */
  float *a = alloc_floats(as * batch), *b = alloc_floats(bs * batch),
        *c = alloc_floats(cs * batch), *want = alloc_floats(cs * batch);
  mv_status status = (a && b && c && want) ? MV_OK : mv_fail(MV_E_MEMORY, "self check: no memory");
  mv_tensor ta = {0}, tb = {0}, tc = {0};
  *err = 0;
  if (status == MV_OK) {
    mv_ref_random(a, as * batch, 41, -1, 1);
    mv_ref_random(b, bs * batch, 42, -1, 1);
    mv_ref_random(c, cs * batch, 43, -1, 1);
    memcpy(want, c, cs * batch * sizeof(float));
    for (size_t i = 0; i < batch; i++)
      mv_ref_gemm(1, 1, m, n, k, 1.0f, a + i * as, m, b + i * bs, k, 0.0f, want + i * cs, n);
  }
  upload_new(&ta, 1, 1, 1, (int)(as * batch), a, &status);
  upload_new(&tb, 1, 1, 1, (int)(bs * batch), b, &status);
  upload_new(&tc, 1, 1, 1, (int)(cs * batch), c, &status);
  if (status == MV_OK) {
    mv_matrix ma = {ta.buffer, 0, m}, mb = {tb.buffer, 0, k}, mc = {tc.buffer, 0, n};
    status = mv_gemm_batched(1, 1, m, n, k, 1.0f, ma, as, mb, bs, 0.0f, mc, cs, batch);
  }
  if (status == MV_OK) status = mv_tensor_download(&tc, c);
  if (status == MV_OK) *err = mv_ref_rel_l2(c, want, cs * batch);
  mv_tensor_free(&ta);
  mv_tensor_free(&tb);
  mv_tensor_free(&tc);
  free(a), free(b), free(c), free(want);
  return status;
}

typedef struct named_check {
  const char *name;
  check_fn run;
} named_check;

static const named_check checks[] = {
    {"gemm", check_gemm},
    {"conv3x3", check_conv3x3},
    {"conv7x7/2", check_conv_strided},
    {"conv3x3_d2", check_conv_dilated},
    {"conv1x1", check_conv1x1},
    {"conv+bn", check_conv_bn},
    {"gemm_batched", check_gemm_batched},
    {"maxpool3x3/2", check_maxpool},
    {"add_relu", check_add},
    {"relu", check_relu},
    {"sigmoid", check_sigmoid},
    {"concat", check_concat},
    {"bilinear_x4", check_bilinear_up},
    {"bilinear_odd", check_bilinear_odd},
    {"area", check_area},
    {"global_avgpool", check_avgpool},
    {"broadcast", check_broadcast},
    {"pad16", check_pad},
    {"crop", check_crop},
};

mv_status mv_device_self_check(char *report, size_t report_capacity) {
  report_buffer r = {report, report_capacity, 0};
  if (report && report_capacity) report[0] = '\0';
  mv_device_info info;
  MV_TRY(mv_device_current(&info));
  report_line(&r, "device %d:%d %s (%s, driver %s)\n", info.platform_index, info.device_index,
              info.name, info.platform, info.driver);
  char engine[256];
  if (mv_gemm_engine_describe(engine, sizeof engine) == MV_OK)
    report_line(&r, "gemm engine: %s\n", engine);
  else
    report_line(&r, "gemm engine: FAIL (%s)\n", mv_error_message());
  int failures = 0;
  char first_failure[512] = "";
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    double err = 0;
    mv_status status = checks[i].run(&err);
    int ok = status == MV_OK && err < SELF_CHECK_TOLERANCE;
    if (status != MV_OK) {
      report_line(&r, "%-14s %-10s FAIL (%s)\n", checks[i].name, "-", mv_error_message());
    } else {
      report_line(&r, "%-14s %.3e  %s\n", checks[i].name, err, ok ? "ok" : "FAIL");
    }
    if (!ok) {
      if (!failures)
        snprintf(first_failure, sizeof first_failure, "%s: %s", checks[i].name,
                 status != MV_OK ? mv_error_message() : "relative L2 error above 1e-5");
      failures++;
    }
  }
  if (failures)
    return mv_fail(MV_E_DEVICE, "mv_device_self_check: %d operator(s) failed on %s; first: %s",
                   failures, info.name, first_failure);
  mv_error_clear();
  return MV_OK;
}
