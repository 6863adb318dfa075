/* GEMM and convolution against the CPU reference (opencl/reference.c) with
 * every GEMM engine the device has (clblast; host on a CPU device whose
 * buffers are host memory), on random non-zero inputs of odd sizes, outputs
 * poisoned (NaN) first so an unwritten element fails; the engine choice, zero
 * copy, the fused residual epilogue and argument validation. The other
 * operators: test_ops.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/ops.h"
#include "opencl/reference.h"
#include "testutil.h"

#include "ops_testing.h"

/* ---- GEMM -------------------------------------------------------------------- */

static void test_gemm(void) {
  const size_t m = 13, n = 29, k = 37;
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      /* Operands are sub-matrices: leading dimensions larger than the width
       * and offsets into the buffer. */
      size_t a_rows = ta ? k : m, a_cols = ta ? m : k, lda = a_cols + 3;
      size_t b_rows = tb ? n : k, b_cols = tb ? k : n, ldb = b_cols + 2;
      size_t ldc = n + 5, a_off = 7, b_off = 3, c_off = 11;
      size_t a_size = a_off + a_rows * lda, b_size = b_off + b_rows * ldb,
             c_size = c_off + m * ldc;
      float *a = host_random(a_size, -1, 1), *b = host_random(b_size, -1, 1),
            *c = host_random(c_size, -1, 1), *want = host_alloc(c_size);
      memcpy(want, c, c_size * sizeof *c);
      mv_ref_gemm(ta, tb, m, n, k, 0.75f, a + a_off, lda, b + b_off, ldb, -0.5f, want + c_off,
                  ldc);
      mv_tensor da = device(a, 1, 1, 1, (int)a_size), db = device(b, 1, 1, 1, (int)b_size),
                dc = device(c, 1, 1, 1, (int)c_size);
      mv_matrix ma = {da.buffer, a_off, lda}, mb = {db.buffer, b_off, ldb},
                mc = {dc.buffer, c_off, ldc};
      CHECK_OK(mv_gemm(ta, tb, m, n, k, 0.75f, ma, mb, -0.5f, mc));
      char what[64];
      snprintf(what, sizeof what, "gemm ta=%d tb=%d", ta, tb);
      compare(what, &dc, want); /* also checks the gaps between rows are untouched */
      mv_tensor_free(&da), mv_tensor_free(&db), mv_tensor_free(&dc);
      free(a), free(b), free(c), free(want);
    }

  /* Large enough for CLBlast's indirect (tiled, padded) kernel rather than
   * its direct one: m*n*k above 512^3, odd sizes. */
  {
    const size_t bm = 521, bn = 517, bk = 509;
    float *a = host_random(bm * bk, -1, 1), *b = host_random(bk * bn, -1, 1),
          *want = host_alloc(bm * bn);
    mv_ref_gemm(0, 1, bm, bn, bk, 1.0f, a, bk, b, bk, 0.0f, want, bn); /* B read as n x k */
    mv_tensor da = device(a, 1, 1, (int)bm, (int)bk), db = device(b, 1, 1, (int)bn, (int)bk),
              dc = poisoned(1, 1, (int)bm, (int)bn);
    mv_matrix ma = {da.buffer, 0, bk}, mb = {db.buffer, 0, bk}, mc = {dc.buffer, 0, bn};
    CHECK_OK(mv_gemm(0, 1, bm, bn, bk, 1.0f, ma, mb, 0.0f, mc));
    compare("gemm 521x517x509 (indirect kernel)", &dc, want);
    mv_tensor_free(&da), mv_tensor_free(&db), mv_tensor_free(&dc);
    free(a), free(b), free(want);
  }

  /* Batched with transposes and strides larger than a matrix. */
  for (int variant = 0; variant < 2; variant++) {
    int ta = variant == 0, tb = variant == 1;
    const size_t bm = 9, bn = 17, bk = 23, batch = 3;
    size_t lda = ta ? bm : bk, ldb = tb ? bk : bn, ldc = bn;
    size_t sa = bm * bk + 4, sb = bk * bn + 6, sc = bm * bn + 1;
    float *a = host_random(sa * batch, -1, 1), *b = host_random(sb * batch, -1, 1),
          *c = host_random(sc * batch, -1, 1), *want = host_alloc(sc * batch);
    memcpy(want, c, sc * batch * sizeof *c);
    for (size_t i = 0; i < batch; i++)
      mv_ref_gemm(ta, tb, bm, bn, bk, 1.25f, a + i * sa, lda, b + i * sb, ldb, 0.5f, want + i * sc,
                  ldc);
    mv_tensor da = device(a, 1, 1, 1, (int)(sa * batch)), db = device(b, 1, 1, 1, (int)(sb * batch)),
              dc = device(c, 1, 1, 1, (int)(sc * batch));
    mv_matrix ma = {da.buffer, 0, lda}, mb = {db.buffer, 0, ldb}, mc = {dc.buffer, 0, ldc};
    CHECK_OK(mv_gemm_batched(ta, tb, bm, bn, bk, 1.25f, ma, sa, mb, sb, 0.5f, mc, sc, batch));
    compare(ta ? "gemm_batched A^T" : "gemm_batched B^T", &dc, want);

    if (variant == 0) { /* validation */
      mv_matrix bad_ld = {da.buffer, 0, bm - 1};
      CHECK_FAILS(mv_gemm(1, 0, bm, bn, bk, 1, bad_ld, mb, 0, mc), MV_E_ARGUMENT);
      mv_matrix null_buffer = {NULL, 0, lda};
      CHECK_FAILS(mv_gemm(1, 0, bm, bn, bk, 1, null_buffer, mb, 0, mc), MV_E_ARGUMENT);
      CHECK_FAILS(mv_gemm(2, 0, bm, bn, bk, 1, ma, mb, 0, mc), MV_E_ARGUMENT);
      CHECK_FAILS(mv_gemm(1, 0, 0, bn, bk, 1, ma, mb, 0, mc), MV_E_ARGUMENT);
      CHECK_FAILS(mv_gemm_batched(1, 0, bm, bn, bk, 1, ma, sa, mb, sb, 0, mc, sc, batch + 2),
                  MV_E_ARGUMENT); /* past the end of the buffers */
      CHECK(strstr(mv_error_message(), "bytes") != NULL, "size message: %s", mv_error_message());
      CHECK_FAILS(mv_gemm_batched(1, 0, bm, bn, bk, 1, ma, sa, mb, sb, 0, mc, sc, 0),
                  MV_E_ARGUMENT);
    }
    mv_tensor_free(&da), mv_tensor_free(&db), mv_tensor_free(&dc);
    free(a), free(b), free(c), free(want);
  }

  /* Operands in sub-buffers (clCreateSubBuffer at an aligned origin) plus an
   * element offset inside them: both offsets count. */
  {
    mv_runtime *rt = NULL;
    CHECK_OK(mv_runtime_get(&rt));
    cl_uint align_bits = 0;
    clGetDeviceInfo(rt->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                    NULL);
    size_t align = align_bits >= 8 ? align_bits / 8 : 128; /* bytes */
    const size_t sm = 11, sn = 19, sk = 15, inner = 5;     /* inner: element offset */
    size_t origin_floats = align / sizeof(float) * 3;      /* sub-buffer origin */
    size_t a_count = inner + sm * sk, b_count = inner + sk * sn, c_count = inner + sm * sn;
    size_t total = origin_floats * 3 + a_count + b_count + c_count + 64;
    float *host = host_random(total, -1, 1), *want = host_alloc(sm * sn);
    size_t a_at = origin_floats, b_at = a_at + a_count + origin_floats,
           c_at = b_at + b_count + origin_floats;
    b_at = (b_at + align / 4 - 1) / (align / 4) * (align / 4); /* aligned origins */
    c_at = (c_at + align / 4 - 1) / (align / 4) * (align / 4);
    CHECK(c_at + c_count <= total, "sub-buffer layout fits");
    memset(want, 0, sm * sn * sizeof *want);
    mv_ref_gemm(0, 0, sm, sn, sk, 1.0f, host + a_at + inner, sk, host + b_at + inner, sn, 0.0f,
                want, sn);
    mv_tensor whole = device(host, 1, 1, 1, (int)total);
    cl_mem sub[3] = {NULL, NULL, NULL};
    size_t at[3] = {a_at, b_at, c_at}, count[3] = {a_count, b_count, c_count};
    int ok = 1;
    for (int i = 0; i < 3; i++) {
      cl_buffer_region region = {at[i] * sizeof(float), count[i] * sizeof(float)};
      cl_int code = CL_SUCCESS;
      sub[i] = clCreateSubBuffer(whole.buffer, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                 &region, &code);
      CHECK(code == CL_SUCCESS, "clCreateSubBuffer %d: %s", i, mv_cl_error_name(code));
      ok &= code == CL_SUCCESS;
    }
    if (ok) {
      mv_matrix ma = {sub[0], inner, sk}, mb = {sub[1], inner, sn}, mc = {sub[2], inner, sn};
      CHECK_OK(mv_gemm(0, 0, sm, sn, sk, 1.0f, ma, mb, 0.0f, mc));
      float *all = host_alloc(total);
      CHECK_OK(mv_tensor_download(&whole, all));
      double err = mv_ref_rel_l2(all + c_at + inner, want, sm * sn);
      CHECK(err < TOLERANCE, "gemm on sub-buffers [gemm engine %s]: relative L2 error %.3g",
            engine_label, err);
      int untouched = memcmp(all, host, (c_at + inner) * sizeof *all) == 0 &&
                      memcmp(all + c_at + c_count, host + c_at + c_count,
                             (total - c_at - c_count) * sizeof *all) == 0;
      CHECK(untouched, "gemm on sub-buffers [gemm engine %s] writes only C", engine_label);
      free(all);
    }
    for (int i = 0; i < 3; i++)
      if (sub[i]) clReleaseMemObject(sub[i]);
    mv_tensor_free(&whole);
    free(host), free(want);
  }
}

/* ---- GEMM engines ------------------------------------------------------------------- */

/* The engine choice: automatic, MIVOS_GEMM, the setter, and their errors. */
static void test_engine_choice(void) {
  mv_runtime *rt = NULL;
  CHECK_OK(mv_runtime_get(&rt));
  if (!rt) return;
  cl_device_type type = 0;
  cl_bool unified = CL_FALSE;
  clGetDeviceInfo(rt->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  clGetDeviceInfo(rt->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
  int host_memory = (type & CL_DEVICE_TYPE_CPU) && unified;
  CHECK(mv_gemm_host_supported() == host_memory, "host engine supported iff CPU + unified memory");

  const char *saved = getenv("MIVOS_GEMM");
  char saved_copy[64] = "";
  if (saved) snprintf(saved_copy, sizeof saved_copy, "%s", saved);
  unsetenv("MIVOS_GEMM");
  mv_gemm_engine engine = MV_GEMM_AUTO;
  CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
  CHECK_OK(mv_gemm_engine_current(&engine));
  CHECK(engine == (host_memory ? MV_GEMM_HOST : MV_GEMM_CLBLAST),
        "automatic choice is %s on %s", mv_gemm_engine_name(engine), rt->info.name);

  setenv("MIVOS_GEMM", "clblast", 1);
  CHECK_OK(mv_gemm_engine_current(&engine));
  CHECK(engine == MV_GEMM_CLBLAST, "MIVOS_GEMM=clblast");
  setenv("MIVOS_GEMM", "auto", 1);
  CHECK_OK(mv_gemm_engine_current(&engine));
  CHECK(engine == (host_memory ? MV_GEMM_HOST : MV_GEMM_CLBLAST), "MIVOS_GEMM=auto");
  setenv("MIVOS_GEMM", "openblas", 1);
  CHECK_FAILS(mv_gemm_engine_current(&engine), MV_E_ARGUMENT);
  CHECK(strstr(mv_error_message(), "MIVOS_GEMM") && strstr(mv_error_message(), "openblas") &&
            strstr(mv_error_message(), "clblast, host or auto"),
        "unknown MIVOS_GEMM named: %s", mv_error_message());
  mv_tensor t = {0};
  CHECK_OK(mv_tensor_zeros(&t, 1, 1, 4, 4));
  mv_matrix m = {t.buffer, 0, 4};
  CHECK_FAILS(mv_gemm(0, 0, 4, 4, 4, 1, m, m, 0, m), MV_E_ARGUMENT); /* the GEMM reports it */
  /* The setter wins over the environment. */
  CHECK_OK(mv_gemm_set_engine(MV_GEMM_CLBLAST));
  CHECK_OK(mv_gemm_engine_current(&engine));
  CHECK(engine == MV_GEMM_CLBLAST, "setter overrides MIVOS_GEMM");
  if (host_memory) {
    setenv("MIVOS_GEMM", "host", 1);
    CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
    CHECK_OK(mv_gemm_engine_current(&engine));
    CHECK(engine == MV_GEMM_HOST, "MIVOS_GEMM=host");
    char line[256];
    CHECK_OK(mv_gemm_engine_describe(line, sizeof line));
    CHECK(strstr(line, "host") && strstr(line, "MIVOS_GEMM"), "describe: %s", line);
  } else {
    setenv("MIVOS_GEMM", "host", 1);
    CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
    CHECK_FAILS(mv_gemm_engine_current(&engine), MV_E_ARGUMENT); /* no host memory */
    CHECK_FAILS(mv_gemm_set_engine(MV_GEMM_HOST), MV_E_ARGUMENT);
  }
  CHECK_FAILS(mv_gemm_set_engine((mv_gemm_engine)7), MV_E_ARGUMENT);
  CHECK(!strcmp(mv_gemm_engine_name(MV_GEMM_HOST), "host") &&
            !strcmp(mv_gemm_engine_name(MV_GEMM_CLBLAST), "clblast"),
        "engine names");
  if (saved)
    setenv("MIVOS_GEMM", saved_copy, 1);
  else
    unsetenv("MIVOS_GEMM");
  CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
  mv_tensor_free(&t);
}

/* Zero copy: on a host-memory device, mapping a buffer must give the very
 * storage kernels use. A kernel writes the address of its buffer argument
 * (a host address on a CPU device) into the buffer; the mapped pointer must
 * be that address, for a 100 MB buffer, twice. */
static void test_zero_copy(void) {
  if (!mv_gemm_host_supported()) {
    printf("zero-copy check skipped: the device's buffers are not host memory\n");
    return;
  }
  mv_runtime *rt = NULL;
  CHECK_OK(mv_runtime_get(&rt));
  static const char *source =
      "__kernel void address(__global ulong *p) { p[0] = (ulong)(size_t)p; p[1] = 12345; }\n";
  cl_int code = CL_SUCCESS;
  cl_program program = clCreateProgramWithSource(rt->context, 1, &source, NULL, &code);
  if (code == CL_SUCCESS) code = clBuildProgram(program, 1, &rt->device, "", NULL, NULL);
  cl_kernel kernel = code == CL_SUCCESS ? clCreateKernel(program, "address", &code) : NULL;
  CHECK(code == CL_SUCCESS, "address kernel: %s", mv_cl_error_name(code));
  const size_t bytes = (size_t)100 << 20;
  cl_mem buffer = NULL;
  CHECK_OK(mv_buffer_acquire(bytes, &buffer));
  if (kernel && buffer) {
    size_t one = 1;
    clSetKernelArg(kernel, 0, sizeof buffer, &buffer);
    CHECK(clEnqueueNDRangeKernel(rt->queue, kernel, 1, NULL, &one, NULL, 0, NULL, NULL) ==
              CL_SUCCESS,
          "enqueue address kernel");
    CHECK_OK(mv_runtime_finish()); /* the map below then waits for nothing */
    void *first = NULL;
    for (int round = 0; round < 2; round++) {
      double t0 = mv_test_now();
      void *p = clEnqueueMapBuffer(rt->queue, buffer, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                   bytes, 0, NULL, NULL, &code);
      double ms = (mv_test_now() - t0) * 1e3;
      CHECK(code == CL_SUCCESS && p, "map 100 MB: %s", mv_cl_error_name(code));
      if (!p) break;
      const cl_ulong *words = p;
      printf("zero copy: map %d of a 100 MB buffer at %p in %.3f ms; kernel saw %#llx\n", round,
             p, ms, (unsigned long long)words[0]);
      CHECK(words[1] == 12345 && words[0] == (cl_ulong)(uintptr_t)p,
            "the mapped pointer %p is the kernel's buffer address %#llx (no copy)", p,
            (unsigned long long)words[0]);
      if (round == 0) first = p;
      else CHECK(p == first, "second map returns the same storage");
      clEnqueueUnmapMemObject(rt->queue, buffer, p, 0, NULL, NULL);
    }
    CHECK_OK(mv_runtime_finish());
  }
  mv_buffer_release(buffer);
  if (kernel) clReleaseKernel(kernel);
  if (program) clReleaseProgram(program);
}

/* ---- convolution --------------------------------------------------------------- */

typedef struct conv_case {
  const char *name;
  int n, in_c, out_c, kh, kw, stride, pad, dil, h, w, bias, relu;
} conv_case;

static void run_conv_case(const conv_case *k) {
  int oh = mv_conv_out_size(k->h, k->kh, k->stride, k->pad, k->dil);
  int ow = mv_conv_out_size(k->w, k->kw, k->stride, k->pad, k->dil);
  size_t xs = (size_t)k->n * k->in_c * k->h * k->w, ws = (size_t)k->out_c * k->in_c * k->kh * k->kw;
  size_t ys = (size_t)k->n * k->out_c * oh * ow;
  float *x = host_random(xs, -1, 1), *w = host_random(ws, -0.5f, 0.5f),
        *b = host_random((size_t)k->out_c, -0.5f, 0.5f), *want = host_alloc(ys);
  mv_ref_conv2d(x, k->n, k->in_c, k->h, k->w, w, k->bias ? b : NULL, k->out_c, k->kh, k->kw,
                k->stride, k->pad, k->dil, k->relu, want);
  mv_conv conv = {0};
  CHECK_OK(mv_conv_create(&conv, k->in_c, k->out_c, k->kh, k->kw, k->stride, k->pad, k->dil, w,
                          k->bias ? b : NULL, NULL));
  mv_tensor dx = device(x, k->n, k->in_c, k->h, k->w), dy = poisoned(k->n, k->out_c, oh, ow);
  CHECK_OK(mv_conv2d(&conv, &dx, &dy, k->relu ? MV_CONV_RELU : 0));
  compare(k->name, &dy, want);
  /* The same conv with an output allocated by the operator. */
  mv_tensor fresh = {0};
  CHECK_OK(mv_conv2d(&conv, &dx, &fresh, k->relu ? MV_CONV_RELU : 0));
  CHECK(fresh.owned && fresh.n == k->n && fresh.c == k->out_c && fresh.h == oh && fresh.w == ow,
        "%s: allocated output shape", k->name);
  compare(k->name, &fresh, want);
  mv_tensor_free(&fresh);
  mv_conv_free(&conv);
  mv_tensor_free(&dx), mv_tensor_free(&dy);
  free(x), free(w), free(b), free(want);
}

static void test_conv(void) {
  static const conv_case cases[] = {
      {"conv 3x3 bias relu N=2", 2, 5, 7, 3, 3, 1, 1, 1, 13, 19, 1, 1},
      {"conv 3x3 no bias no relu", 1, 5, 7, 3, 3, 1, 1, 1, 13, 19, 0, 0},
      {"conv 3x3 stride 2", 2, 6, 5, 3, 3, 2, 1, 1, 15, 17, 0, 1},
      {"conv 3x3 dilation 2", 1, 7, 6, 3, 3, 1, 2, 2, 11, 13, 1, 0},
      {"conv 3x3 dilation 6", 1, 5, 3, 3, 3, 1, 6, 6, 21, 19, 1, 1},
      {"conv 7x7/2 stem", 1, 3, 9, 7, 7, 2, 3, 1, 33, 37, 0, 1},
      {"conv 1x1 direct N=2", 2, 9, 5, 1, 1, 1, 0, 1, 13, 11, 1, 1},
      {"conv 1x1 stride 2", 1, 9, 5, 1, 1, 2, 0, 1, 13, 11, 1, 0},
      {"conv 5x3 pad 1", 1, 3, 4, 5, 3, 1, 1, 1, 9, 14, 1, 0},
      {"conv 3x3 no padding", 2, 3, 5, 3, 3, 1, 0, 1, 7, 9, 1, 1},
      /* m*n*k = 97 * 1845 * 864 > 512^3: CLBlast's indirect kernel */
      {"conv 3x3 96->97 41x45 (large GEMM)", 1, 96, 97, 3, 3, 1, 1, 1, 41, 45, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv_case(&cases[i]);

  /* Banded im2col: a tiny workspace bound forces one/two output rows per band. */
  size_t previous = mv_conv_workspace_limit(5 * 9 * 19 * sizeof(float) * 2);
  static const conv_case banded = {"conv 3x3 banded im2col", 2, 5, 7, 3, 3, 1, 1, 1, 13, 19, 1, 1};
  run_conv_case(&banded);
  mv_conv_workspace_limit(1); /* below one row: still one row per band */
  static const conv_case one_row = {"conv 3x3/2 one row per band", 1, 4, 3, 3, 3, 2, 1, 1, 9, 11,
                                    1, 0};
  run_conv_case(&one_row);
  mv_conv_workspace_limit(previous);
}

/* BN folded into the weights against conv followed by an explicit BN. */
static void test_conv_batchnorm(void) {
  for (int with_bias = 0; with_bias <= 1; with_bias++) {
    const int n = 2, in_c = 5, out_c = 7, h = 11, w = 9;
    size_t xs = (size_t)n * in_c * h * w, ws = (size_t)out_c * in_c * 9, ys = (size_t)n * out_c * h * w;
    float *x = host_random(xs, -1, 1), *wt = host_random(ws, -0.5f, 0.5f),
          *b = host_random(out_c, -0.5f, 0.5f), *gamma = host_random(out_c, 0.5f, 1.5f),
          *beta = host_random(out_c, -1, 1), *mean = host_random(out_c, -0.5f, 0.5f),
          *var = host_random(out_c, 0.1f, 2.0f), *want = host_alloc(ys), *relu_want = host_alloc(ys);
    mv_batchnorm bn = {gamma, beta, mean, var, 1e-5f};
    mv_ref_conv2d(x, n, in_c, h, w, wt, with_bias ? b : NULL, out_c, 3, 3, 1, 1, 1, 0, want);
    mv_ref_batchnorm(want, n, out_c, h * w, gamma, beta, mean, var, 1e-5f);
    mv_ref_relu(want, ys, relu_want);
    mv_conv conv = {0};
    CHECK_OK(mv_conv_create(&conv, in_c, out_c, 3, 3, 1, 1, 1, wt, with_bias ? b : NULL, &bn));
    CHECK(!mv_tensor_is_empty(&conv.bias), "BN folding creates a bias");
    mv_tensor dx = device(x, n, in_c, h, w), dy = poisoned(n, out_c, h, w);
    CHECK_OK(mv_conv2d(&conv, &dx, &dy, 0));
    compare(with_bias ? "conv+bias -> BN folded" : "conv -> BN folded", &dy, want);
    CHECK_OK(mv_conv2d(&conv, &dx, &dy, MV_CONV_RELU));
    compare("conv -> BN -> ReLU folded", &dy, relu_want);
    mv_conv_free(&conv);
    mv_tensor_free(&dx), mv_tensor_free(&dy);
    free(x), free(wt), free(b), free(gamma), free(beta), free(mean), free(var), free(want);
    free(relu_want);
  }
  /* 1x1 conv (direct GEMM path) with BN. */
  const int in_c = 6, out_c = 4, h = 5, w = 7;
  float *x = host_random((size_t)in_c * h * w, -1, 1), *wt = host_random((size_t)out_c * in_c, -1, 1),
        *p = host_random(4 * (size_t)out_c, 0.2f, 1.2f), *want = host_alloc((size_t)out_c * h * w);
  mv_batchnorm bn = {p, p + out_c, p + 2 * out_c, p + 3 * out_c, 1e-5f};
  mv_ref_conv2d(x, 1, in_c, h, w, wt, NULL, out_c, 1, 1, 1, 0, 1, 0, want);
  mv_ref_batchnorm(want, 1, out_c, h * w, bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.eps);
  mv_conv conv = {0};
  CHECK_OK(mv_conv_create(&conv, in_c, out_c, 1, 1, 1, 0, 1, wt, NULL, &bn));
  mv_tensor dx = device(x, 1, in_c, h, w), dy = poisoned(1, out_c, h, w);
  CHECK_OK(mv_conv2d(&conv, &dx, &dy, 0));
  compare("conv 1x1 -> BN folded", &dy, want);

  /* validation */
  mv_conv bad = {0};
  float bad_var[4] = {1, -1, 1, 1};
  mv_batchnorm negative = {p, p + out_c, p + 2 * out_c, bad_var, 1e-5f};
  CHECK_FAILS(mv_conv_create(&bad, in_c, out_c, 1, 1, 1, 0, 1, wt, NULL, &negative), MV_E_ARGUMENT);
  mv_batchnorm missing = {p, NULL, p, p, 1e-5f};
  CHECK_FAILS(mv_conv_create(&bad, in_c, out_c, 1, 1, 1, 0, 1, wt, NULL, &missing), MV_E_ARGUMENT);
  mv_conv_free(&conv);
  mv_tensor_free(&dx), mv_tensor_free(&dy);
  free(x), free(wt), free(p), free(want);
}

/* Outputs (and inputs) as channel views of bigger tensors. */
static void test_views(void) {
  const int in_c = 4, out_c = 5, h = 9, w = 11, extra = 3;
  float *big_x = host_random((size_t)(in_c + 2) * h * w, -1, 1);
  float *wt = host_random((size_t)out_c * in_c * 9, -0.5f, 0.5f), *b = host_random(out_c, -1, 1);
  float *want = host_alloc((size_t)out_c * h * w);
  /* input = channels [2, 6) of big_x */
  mv_ref_conv2d(big_x + (size_t)2 * h * w, 1, in_c, h, w, wt, b, out_c, 3, 3, 1, 1, 1, 1, want);
  mv_conv conv = {0};
  CHECK_OK(mv_conv_create(&conv, in_c, out_c, 3, 3, 1, 1, 1, wt, b, NULL));
  mv_tensor dbig_x = device(big_x, 1, in_c + 2, h, w), x_view = {0};
  CHECK_OK(mv_tensor_view(&dbig_x, 0, 1, 2, in_c, &x_view));
  mv_tensor big_y = poisoned(1, out_c + extra, h, w), y_view = {0};
  CHECK_OK(mv_tensor_view(&big_y, 0, 1, 1, out_c, &y_view));
  CHECK_OK(mv_conv2d(&conv, &x_view, &y_view, MV_CONV_RELU));
  compare("conv into a channel view", &y_view, want);
  size_t total = (size_t)(out_c + extra) * h * w;
  float *all = host_alloc(total);
  CHECK_OK(mv_tensor_download(&big_y, all));
  int untouched = 1;
  for (size_t i = 0; i < total; i++) {
    size_t ch = i / ((size_t)h * w);
    if (ch < 1 || ch >= (size_t)(1 + out_c)) untouched &= isnan(all[i]);
  }
  CHECK(untouched, "channels outside the view keep their poison");

  /* Element-wise ops and resampling into views too. */
  mv_tensor y2_view = {0};
  CHECK_OK(mv_tensor_view(&big_y, 0, 1, out_c, extra, &y2_view));
  mv_tensor x3 = {0};
  CHECK_OK(mv_tensor_view(&dbig_x, 0, 1, 0, extra, &x3));
  CHECK_OK(mv_sigmoid(&x3, &y2_view));
  float *sig = host_alloc((size_t)extra * h * w);
  mv_ref_sigmoid(big_x, (size_t)extra * h * w, sig);
  compare("sigmoid into a view", &y2_view, sig);
  CHECK_OK(mv_tensor_download(&big_y, all));
  CHECK(isnan(all[0]), "channel 0 still poisoned");

  /* Input and output as two views of one tensor (one buffer, two ranges). */
  float *shared_host = host_random((size_t)(in_c + out_c) * h * w, -1, 1);
  float *shared_want = host_alloc((size_t)out_c * h * w);
  mv_ref_conv2d(shared_host, 1, in_c, h, w, wt, b, out_c, 3, 3, 1, 1, 1, 1, shared_want);
  mv_tensor shared = device(shared_host, 1, in_c + out_c, h, w), in_part = {0}, out_part = {0};
  CHECK_OK(mv_tensor_view(&shared, 0, 1, 0, in_c, &in_part));
  CHECK_OK(mv_tensor_view(&shared, 0, 1, in_c, out_c, &out_part));
  CHECK_OK(mv_conv2d(&conv, &in_part, &out_part, MV_CONV_RELU));
  compare("conv between two views of one buffer", &out_part, shared_want);
  float *shared_all = host_alloc((size_t)(in_c + out_c) * h * w);
  CHECK_OK(mv_tensor_download(&shared, shared_all));
  CHECK(memcmp(shared_all, shared_host, (size_t)in_c * h * w * sizeof(float)) == 0,
        "the input view is unchanged [gemm engine %s]", engine_label);
  mv_tensor_free(&shared);
  free(shared_host), free(shared_want), free(shared_all);

  mv_conv_free(&conv);
  mv_tensor_free(&dbig_x), mv_tensor_free(&big_y);
  free(big_x), free(wt), free(b), free(want), free(all), free(sig);
}

static void test_conv_validation(void) {
  float w[3 * 2 * 9];
  mv_test_random(w, 54, 5, -1, 1);
  mv_conv conv = {0};
  CHECK_FAILS(mv_conv_create(NULL, 2, 3, 3, 3, 1, 1, 1, w, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv_create(&conv, 0, 3, 3, 3, 1, 1, 1, w, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv_create(&conv, 2, 3, 3, 3, 0, 1, 1, w, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv_create(&conv, 2, 3, 3, 3, 1, -1, 1, w, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv_create(&conv, 2, 3, 3, 3, 1, 1, 0, w, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv_create(&conv, 2, 3, 3, 3, 1, 1, 1, NULL, NULL, NULL), MV_E_ARGUMENT);
  CHECK_OK(mv_conv_create(&conv, 2, 3, 3, 3, 1, 1, 1, w, NULL, NULL));
  mv_tensor x = {0}, y = {0}, wrong = {0};
  CHECK_OK(mv_tensor_zeros(&x, 1, 4, 5, 5)); /* 4 channels, the conv wants 2 */
  CHECK_FAILS(mv_conv2d(&conv, &x, &y, 0), MV_E_MISMATCH);
  CHECK(strstr(mv_error_message(), "channels") != NULL, "message: %s", mv_error_message());
  mv_tensor_free(&x);
  CHECK_OK(mv_tensor_zeros(&x, 1, 2, 5, 5));
  CHECK_OK(mv_tensor_zeros(&wrong, 1, 3, 4, 5)); /* wants 1x3x5x5 */
  CHECK_FAILS(mv_conv2d(&conv, &x, &wrong, 0), MV_E_MISMATCH);
  CHECK(strstr(mv_error_message(), "1x3x4x5") && strstr(mv_error_message(), "1x3x5x5"),
        "message names both shapes: %s", mv_error_message());
  CHECK_FAILS(mv_conv2d(NULL, &x, &y, 0), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv2d(&conv, NULL, &y, 0), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv2d(&conv, &x, NULL, 0), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv2d(&conv, &x, &y, 0x40), MV_E_ARGUMENT);
  CHECK_FAILS(mv_conv2d(&conv, &x, &x, 0), MV_E_MISMATCH); /* x has 2 channels, not 3 */
  mv_conv big = {0};
  float w7[2 * 2 * 49];
  mv_test_random(w7, 2 * 2 * 49, 6, -1, 1);
  CHECK_OK(mv_conv_create(&big, 2, 2, 7, 7, 1, 0, 1, w7, NULL, NULL));
  CHECK_FAILS(mv_conv2d(&big, &x, &y, 0), MV_E_ARGUMENT); /* 5x5 input, 7x7 kernel */
  mv_conv empty = {0};
  CHECK_FAILS(mv_conv2d(&empty, &x, &y, 0), MV_E_ARGUMENT);
  CHECK(y.buffer == NULL, "failed ops leave an empty output empty");
  CHECK(mv_conv_out_size(480, 7, 2, 3, 1) == 240 && mv_conv_out_size(30, 3, 1, 6, 6) == 30 &&
            mv_conv_out_size(5, 7, 1, 0, 1) == 0,
        "mv_conv_out_size");
  mv_conv_free(&big);
  mv_conv_free(&conv);
  mv_conv_free(&conv); /* twice is fine */
  mv_conv_free(NULL);
  mv_tensor_free(&x), mv_tensor_free(&wrong);
}

/* ---- fused residual epilogue -------------------------------------------------------- */

/* mv_conv2d_residual against the reference conv, then add, then ReLU. */
static void residual_case(const char *name, int n, int in_c, int out_c, int kernel, int stride,
                          int pad, int h, int w, int bias, int relu) {
  int oh = mv_conv_out_size(h, kernel, stride, pad, 1), ow = mv_conv_out_size(w, kernel, stride, pad, 1);
  size_t xs = (size_t)n * in_c * h * w, ys = (size_t)n * out_c * oh * ow;
  float *x = host_random(xs, -1, 1), *wt = host_random((size_t)out_c * in_c * kernel * kernel, -0.5f, 0.5f);
  float *b = host_random((size_t)out_c, -0.5f, 0.5f), *r = host_random(ys, -1, 1);
  float *conv_out = host_alloc(ys), *want = host_alloc(ys);
  mv_ref_conv2d(x, n, in_c, h, w, wt, bias ? b : NULL, out_c, kernel, kernel, stride, pad, 1, 0,
                conv_out);
  mv_ref_add(conv_out, r, ys, relu, want);
  mv_conv conv = {0};
  CHECK_OK(mv_conv_create(&conv, in_c, out_c, kernel, kernel, stride, pad, 1, wt, bias ? b : NULL,
                          NULL));
  mv_tensor dx = device(x, n, in_c, h, w), dr = device(r, n, out_c, oh, ow), dy = poisoned(n, out_c, oh, ow);
  char what[128];
  for (int fast = 1; fast >= 0; fast--) {
    int previous = mv_ops_fast_paths(fast);
    CHECK_OK(mv_tensor_fill(&dy, NAN));
    CHECK_OK(mv_conv2d_residual(&conv, &dx, &dr, &dy, relu ? MV_CONV_RELU : 0));
    snprintf(what, sizeof what, "%s%s (%s)", name, relu ? " + relu" : "", fast ? "fused" : "unfused");
    compare(what, &dy, want);
    mv_tensor fresh = {0};
    CHECK_OK(mv_conv2d_residual(&conv, &dx, &dr, &fresh, relu ? MV_CONV_RELU : 0));
    compare(what, &fresh, want);
    mv_tensor_free(&fresh);
    mv_ops_fast_paths(previous);
  }
  mv_conv_free(&conv);
  mv_tensor_free(&dx), mv_tensor_free(&dr), mv_tensor_free(&dy);
  free(x), free(wt), free(b), free(r), free(conv_out), free(want);
}

static void test_conv_residual(void) {
  residual_case("conv 1x1 + residual", 2, 19, 23, 1, 1, 0, 9, 11, 1, 1);
  residual_case("conv 1x1 + residual", 1, 16, 8, 1, 1, 0, 7, 5, 0, 0);
  residual_case("conv 3x3 + residual", 2, 5, 7, 3, 1, 1, 13, 17, 1, 1);
  residual_case("conv 3x3/2 + residual", 1, 4, 6, 3, 2, 1, 15, 12, 1, 0);
  /* Banded: the residual follows each band. */
  size_t previous = mv_conv_workspace_limit(5 * 9 * 17 * 2 * sizeof(float));
  residual_case("conv 3x3 banded + residual", 1, 5, 7, 3, 1, 1, 13, 17, 1, 1);
  mv_conv_workspace_limit(previous);
  /* A NULL or empty residual is a plain conv. */
  float wt[4 * 3], xv[3 * 2 * 2];
  mv_test_random(wt, 12, 11, -1, 1);
  mv_test_random(xv, 12, 12, -1, 1);
  mv_conv conv = {0};
  CHECK_OK(mv_conv_create(&conv, 3, 4, 1, 1, 1, 0, 1, wt, NULL, NULL));
  mv_tensor x = device(xv, 1, 3, 2, 2), empty = {0}, y = {0}, y2 = {0};
  CHECK_OK(mv_conv2d_residual(&conv, &x, NULL, &y, 0));
  CHECK_OK(mv_conv2d_residual(&conv, &x, &empty, &y2, 0));
  float want[16];
  mv_ref_conv2d(xv, 1, 3, 2, 2, wt, NULL, 4, 1, 1, 1, 0, 1, 0, want);
  compare("conv with a NULL residual", &y, want);
  compare("conv with an empty residual", &y2, want);
  /* validation */
  mv_tensor wrong = {0}, out = {0};
  CHECK_OK(mv_tensor_zeros(&wrong, 1, 4, 2, 3));
  CHECK_FAILS(mv_conv2d_residual(&conv, &x, &wrong, &out, 0), MV_E_MISMATCH);
  CHECK(out.buffer == NULL, "no output allocated on a residual mismatch");
  CHECK_FAILS(mv_conv2d_residual(&conv, &x, &y, &y, 0), MV_E_ARGUMENT); /* residual is y */
  mv_tensor big = {0}, head = {0}, tail = {0};
  CHECK_OK(mv_tensor_zeros(&big, 1, 6, 2, 2));
  CHECK_OK(mv_tensor_view(&big, 0, 1, 0, 4, &head));
  CHECK_OK(mv_tensor_view(&big, 0, 1, 2, 4, &tail));
  CHECK_FAILS(mv_conv2d_residual(&conv, &x, &tail, &head, 0), MV_E_ARGUMENT); /* overlap */
  mv_conv_free(&conv);
  mv_tensor_free(&x), mv_tensor_free(&y), mv_tensor_free(&y2), mv_tensor_free(&wrong);
  mv_tensor_free(&big);
}

int main(void) {
  mv_device_info info;
  if (!CHECK_OK(mv_device_current(&info))) return mv_test_finish();
  printf("device: %s (%s)\n", info.name, info.platform);
  test_engine_choice();
  test_zero_copy();
  /* The GEMM and conv tests with every engine the device has. */
  const mv_gemm_engine engines[2] = {MV_GEMM_CLBLAST, MV_GEMM_HOST};
  for (int e = 0; e < 2; e++) {
    if (!select_engine(engines[e])) continue;
    printf("gemm engine %s\n", engine_label);
    test_gemm();
    test_conv();
    test_conv_batchnorm();
    test_conv_residual();
    test_views();
  }
  CHECK_OK(mv_gemm_set_engine(MV_GEMM_AUTO));
  engine_label = "auto";
  test_conv_validation();
  CHECK_OK(mv_runtime_finish());
  return mv_test_finish();
}
