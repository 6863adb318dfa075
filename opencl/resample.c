/* Resampling as PyTorch's F.interpolate on float32: bilinear with
 * align_corners=False (given an output size, scale = in/out) and 'area'
 * (adaptive average pooling). */
#include <stdlib.h>

#include "error.h"
#include "opencl/host_map.h"
#include "opencl/ops.h"

/* PyTorch evaluates the source index in float without contraction into fma
 * (as kernels/resample.cl); ISO C mode (C_EXTENSIONS OFF) keeps GCC's
 * -ffp-contract=off, so the host path rounds the same way. */

/* ---- host path (mv_ops_use_host): per-column tables, one task per band of rows ---- */

typedef struct host_resample_job {
  const float *x;
  float *y;
  int height, width, out_h, out_w, bilinear, bands, band_rows;
  float scale_h, scale_w;
  const int *x0, *x1;      /* per output column: bilinear neighbours / area bin [x0, x1) */
  const float *lx0, *lx1;  /* bilinear weights */
} host_resample_job;

static float source_index(float scale, int dst) {
  float src = scale * ((float)dst + 0.5f) - 0.5f;
  return src < 0.0f ? 0.0f : src;
}

static void host_resample_band(void *context, int task, int worker) {
  (void)worker;
  const host_resample_job *j = context;
  const int plane = task / j->bands, band = task % j->bands;
  const float *x = j->x + (size_t)plane * j->height * j->width;
  float *y = j->y + (size_t)plane * j->out_h * j->out_w;
  const int oy0 = band * j->band_rows;
  const int oy1 = oy0 + j->band_rows < j->out_h ? oy0 + j->band_rows : j->out_h;
  for (int oy = oy0; oy < oy1; oy++) {
    float *out = y + (size_t)oy * j->out_w;
    if (j->bilinear) {
      const float sy = source_index(j->scale_h, oy);
      const int y0 = (int)sy < j->height - 1 ? (int)sy : j->height - 1;
      const int y1 = y0 + (y0 < j->height - 1 ? 1 : 0);
      const float ly1 = sy - (float)y0, ly0 = 1.0f - ly1;
      const float *r0 = x + (size_t)y0 * j->width, *r1 = x + (size_t)y1 * j->width;
      for (int ox = 0; ox < j->out_w; ox++) {
        const int a = j->x0[ox], b = j->x1[ox];
        const float top = j->lx0[ox] * r0[a] + j->lx1[ox] * r0[b];
        const float bottom = j->lx0[ox] * r1[a] + j->lx1[ox] * r1[b];
        out[ox] = ly0 * top + ly1 * bottom;
      }
    } else {
      const int y0 = (int)(((long)oy * j->height) / j->out_h);
      const int y1 = (int)(((long)(oy + 1) * j->height + j->out_h - 1) / j->out_h);
      for (int ox = 0; ox < j->out_w; ox++) {
        const int x0 = j->x0[ox], x1 = j->x1[ox];
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++) {
          const float *row = x + (size_t)iy * j->width;
          for (int ix = x0; ix < x1; ix++) sum += row[ix];
        }
        /* PyTorch's adaptive average pooling divides by kh, then by kw. */
        out[ox] = sum / (float)(y1 - y0) / (float)(x1 - x0);
      }
    }
  }
}

static mv_status host_resample(int bilinear, const mv_tensor *x, mv_tensor *y, float scale_h,
                               float scale_w) {
  const int ow = y->w, planes = x->n * x->c;
  int *x0 = malloc((size_t)ow * sizeof *x0), *x1 = malloc((size_t)ow * sizeof *x1);
  float *lx0 = malloc((size_t)ow * sizeof *lx0), *lx1 = malloc((size_t)ow * sizeof *lx1);
  if (!x0 || !x1 || !lx0 || !lx1) {
    free(x0), free(x1), free(lx0), free(lx1);
    return mv_fail(MV_E_MEMORY, "resize: out of host memory for %d columns", ow);
  }
  for (int ox = 0; ox < ow; ox++) {
    if (bilinear) {
      const float sx = source_index(scale_w, ox);
      x0[ox] = (int)sx < x->w - 1 ? (int)sx : x->w - 1;
      x1[ox] = x0[ox] + (x0[ox] < x->w - 1 ? 1 : 0);
      lx1[ox] = sx - (float)x0[ox];
      lx0[ox] = 1.0f - lx1[ox];
    } else {
      x0[ox] = (int)(((long)ox * x->w) / ow);
      x1[ox] = (int)(((long)(ox + 1) * x->w + ow - 1) / ow);
    }
  }
  host_resample_job job = {0};
  job.height = x->h, job.width = x->w, job.out_h = y->h, job.out_w = ow;
  job.bilinear = bilinear, job.scale_h = scale_h, job.scale_w = scale_w;
  job.x0 = x0, job.x1 = x1, job.lx0 = lx0, job.lx1 = lx1;
  mv_host_split_rows(planes, y->h, &job.bands, &job.band_rows);
  mv_host_map map;
  mv_host_map_init(&map);
  mv_status status = mv_host_map_add(&map, x->buffer, x->offset, mv_tensor_numel(x), 0);
  if (status == MV_OK) status = mv_host_map_add(&map, y->buffer, y->offset, mv_tensor_numel(y), 1);
  if (status == MV_OK) status = mv_host_map_begin(&map);
  if (status == MV_OK) {
    job.x = mv_host_map_ptr(&map, x->buffer, x->offset);
    job.y = mv_host_map_ptr(&map, y->buffer, y->offset);
    mv_host_parallel(planes * job.bands, host_resample_band, &job);
    status = mv_host_map_end(&map);
  }
  free(x0), free(x1), free(lx0), free(lx1);
  return status;
}

static mv_status resample(const char *op, const char *kernel_name, const mv_tensor *x, int out_h,
                          int out_w, mv_tensor *y) {
  MV_TRY(mv_tensor_check(x, op, "x"));
  MV_CHECK_ARG(out_h > 0 && out_w > 0, "%s: output size %dx%d must be positive", op, out_h, out_w);
  MV_CHECK_ARG(y != NULL, "%s: y is NULL", op);
  int allocated = 0;
  MV_TRY(mv_tensor_prepare(y, x->n, x->c, out_h, out_w, op, "y", &allocated));
  mv_status status = MV_OK;
  if (x->buffer == y->buffer && x->offset < y->offset + mv_tensor_numel(y) &&
      y->offset < x->offset + mv_tensor_numel(x))
    status = mv_fail(MV_E_ARGUMENT, "%s: y overlaps x", op);
  cl_kernel kernel = NULL;
  if (status == MV_OK) status = mv_kernel_get("resample", kernel_name, &kernel);
  cl_ulong x_off = x->offset, y_off = y->offset;
  cl_int h = x->h, w = x->w, oh = out_h, ow = out_w;
  cl_long total = (cl_long)mv_tensor_numel(y);
  /* PyTorch: area_pixel_compute_scale = (float)input_size / output_size. */
  cl_float scale_h = (float)x->h / (float)out_h, scale_w = (float)x->w / (float)out_w;
  int bilinear = kernel_name[0] == 'b';
  if (status == MV_OK && (long)x->n * x->c * out_h <= (1L << 30) && mv_ops_use_host()) {
    status = host_resample(bilinear, x, y, scale_h, scale_w);
    if (status != MV_OK && allocated) mv_tensor_free(y);
    return status;
  }
  if (status == MV_OK && bilinear)
    status = mv_kernel_args(kernel, 11, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof scale_h, &scale_h,
                            sizeof scale_w, &scale_w, sizeof total, &total);
  else if (status == MV_OK)
    status = mv_kernel_args(kernel, 9, sizeof(cl_mem), &x->buffer, sizeof x_off, &x_off,
                            sizeof h, &h, sizeof w, &w, sizeof(cl_mem), &y->buffer, sizeof y_off,
                            &y_off, sizeof oh, &oh, sizeof ow, &ow, sizeof total, &total);
  if (status == MV_OK) status = mv_kernel_run_1d(kernel, kernel_name, (size_t)total);
  if (status != MV_OK && allocated) mv_tensor_free(y);
  return status;
}

mv_status mv_resize_bilinear(const mv_tensor *x, int out_h, int out_w, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = resample("mv_resize_bilinear", "bilinear", x, out_h, out_w, y);
  mv_ops_profile_leave(MV_OP_RESAMPLE, t0);
  return status;
}

mv_status mv_area_resize(const mv_tensor *x, int out_h, int out_w, mv_tensor *y) {
  double t0 = mv_ops_profile_enter();
  mv_status status = resample("mv_area_resize", "area", x, out_h, out_w, y);
  mv_ops_profile_leave(MV_OP_RESAMPLE, t0);
  return status;
}
