/* Joint bilateral upsampling of cell probabilities (joint_upsample.h). */
#include "propagation/joint_upsample.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "opencl/host_map.h"

enum {
  MAX_STRIDE = 16,
  LUT_SHIFT = 4,                              /* squared RGB distance / 16 per entry */
  LUT_SIZE = (3 * 255 * 255 >> LUT_SHIFT) + 1 /* every 8-bit distance */
};

typedef struct upsample_job {
  const float *cells;
  const uint8_t *rgb;
  const float *cell_rgb;   /* 3 x h x w mean colours */
  const float *lut;        /* colour factor by squared distance >> LUT_SHIFT */
  float spatial[MAX_STRIDE][3]; /* 1-D spatial factor by offset in the cell and neighbour */
  int planes, height, width, stride, h, w;
  float *out;
} upsample_job;

static void upsample_row(void *context, int y, int worker) {
  (void)worker;
  const upsample_job *j = context;
  const int s = j->stride, h = j->h, w = j->w;
  const size_t cell_plane = (size_t)h * w, plane = (size_t)j->height * j->width;
  const int cy = y / s;
  const float *wy = j->spatial[y % s];
  for (int x = 0; x < j->width; x++) {
    const int cx = x / s;
    const float *wx = j->spatial[x % s];
    const uint8_t *px = j->rgb + 3 * ((size_t)y * j->width + x);
    float weight[9], total = 0.0f;
    int index[9], n = 0;
    for (int dy = -1; dy <= 1; dy++) {
      const int qy = cy + dy;
      if (qy < 0 || qy >= h) continue;
      for (int dx = -1; dx <= 1; dx++) {
        const int qx = cx + dx;
        if (qx < 0 || qx >= w) continue;
        const size_t q = (size_t)qy * w + qx;
        const float r = px[0] - j->cell_rgb[q], g = px[1] - j->cell_rgb[cell_plane + q],
                    b = px[2] - j->cell_rgb[2 * cell_plane + q];
        const int d2 = (int)(r * r + g * g + b * b);
        const float f = wy[dy + 1] * wx[dx + 1] * j->lut[d2 >> LUT_SHIFT];
        weight[n] = f, index[n] = (int)q, n++;
        total += f;
      }
    }
    const float norm = 1.0f / total;
    for (int p = 0; p < j->planes; p++) {
      const float *c = j->cells + p * cell_plane;
      float sum = 0.0f;
      for (int i = 0; i < n; i++) sum += weight[i] * c[index[i]];
      j->out[p * plane + (size_t)y * j->width + x] = sum * norm;
    }
  }
}

mv_status mv_joint_upsample(const float *cells, int planes, const uint8_t *rgb, int height,
                            int width, int stride, float spatial, float colour, float *out) {
  static const char fn[] = "mv_joint_upsample";
  MV_CHECK_ARG(cells && rgb && out, "%s: NULL argument", fn);
  MV_CHECK_ARG(planes >= 1 && stride >= 1 && stride <= MAX_STRIDE && height >= stride &&
                   width >= stride && height % stride == 0 && width % stride == 0,
               "%s: %d planes, %dx%d pixels, stride %d: expected planes >= 1, a stride of 1 .. "
               "%d dividing both sides", fn, planes, width, height, stride, (int)MAX_STRIDE);
  MV_CHECK_ARG(isfinite(spatial) && spatial > 0.0f && isfinite(colour) && colour > 0.0f,
               "%s: spatial %g, colour %g: expected finite values > 0", fn, (double)spatial,
               (double)colour);
  upsample_job j = {cells, rgb, NULL, NULL, {{0}}, planes, height, width, stride,
                    height / stride, width / stride, out};
  const size_t cell_plane = (size_t)j.h * j.w;
  float *cell_rgb = calloc(3 * cell_plane, sizeof(float));
  float *lut = malloc(LUT_SIZE * sizeof(float));
  if (!cell_rgb || !lut) {
    free(cell_rgb);
    free(lut);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for %zu cells", fn, cell_plane);
  }
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const size_t q = (size_t)(y / stride) * j.w + x / stride;
      const uint8_t *px = rgb + 3 * ((size_t)y * width + x);
      for (int c = 0; c < 3; c++) cell_rgb[c * cell_plane + q] += px[c];
    }
  const float area = 1.0f / (float)(stride * stride);
  for (size_t i = 0; i < 3 * cell_plane; i++) cell_rgb[i] *= area;
  /* The floor keeps a normalisable sum (and the spatial blend) where no
   * neighbour has the pixel's colour. */
  for (int i = 0; i < LUT_SIZE; i++) {
    const float f = expf(-(float)((i << LUT_SHIFT) + (1 << LUT_SHIFT) / 2) /
                         (2.0f * colour * colour));
    lut[i] = f > 1e-4f ? f : 1e-4f;
  }
  /* Offset of a pixel's centre from its cell's centre, in cells, then the
   * factor of the neighbour at -1, 0, +1. */
  for (int r = 0; r < stride; r++) {
    const float offset = (r + 0.5f) / stride - 0.5f;
    for (int d = -1; d <= 1; d++) {
      const float dist = offset - (float)d;
      j.spatial[r][d + 1] = expf(-dist * dist / (2.0f * spatial * spatial));
    }
  }
  j.cell_rgb = cell_rgb, j.lut = lut;
  mv_host_parallel(height, upsample_row, &j);
  free(cell_rgb);
  free(lut);
  return MV_OK;
}
