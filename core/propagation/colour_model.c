/* Global colour models of the objects (colour_model.h). */
#include "propagation/colour_model.h"

#include <stdlib.h>

#include "error.h"

enum { BINS = 16, LEVELS = BINS * BINS * BINS };

static int bin_of(float v, float lo, float hi) {
  const int b = (int)((v - lo) * (float)BINS / (hi - lo));
  return b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
}

static int colour_bin(float l, float a, float b) {
  return (bin_of(l, 0.0f, 100.0f) * BINS + bin_of(a, -100.0f, 100.0f)) * BINS +
         bin_of(b, -100.0f, 100.0f);
}

mv_status mv_colour_posterior(const float *memory_lab, float memory_scale, const float *values,
                              int objects, size_t cells, size_t plane_stride,
                              const float *query_lab, float query_scale, size_t query_cells,
                              float *posterior) {
  static const char fn[] = "mv_colour_posterior";
  MV_CHECK_ARG(memory_lab && values && query_lab && posterior, "%s: NULL argument", fn);
  MV_CHECK_ARG(objects >= 1 && cells >= 1 && plane_stride >= cells,
               "%s: %d objects, %zu cells %zu apart", fn, objects, cells, plane_stride);
  int *bin = malloc((cells > query_cells ? cells : query_cells) * sizeof(int));
  double *fg = malloc(2 * LEVELS * sizeof(double));
  if (!bin || !fg) {
    free(bin);
    free(fg);
    return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  double *bg = fg + LEVELS;
  for (size_t i = 0; i < cells; i++)
    bin[i] = colour_bin(memory_scale * memory_lab[i], memory_scale * memory_lab[plane_stride + i],
                        memory_scale * memory_lab[2 * plane_stride + i]);
  for (int o = 0; o < objects; o++) {
    const float *v = values + (size_t)o * plane_stride;
    double nf = 1.0, nb = 1.0;
    for (int c = 0; c < LEVELS; c++) fg[c] = bg[c] = 1.0 / LEVELS;
    for (size_t i = 0; i < cells; i++) {
      const double p = v[i] < 0.0f ? 0.0 : v[i] > 1.0f ? 1.0 : v[i];
      fg[bin[i]] += p, bg[bin[i]] += 1.0 - p;
      nf += p, nb += 1.0 - p;
    }
    /* posterior per bin, in place */
    for (int c = 0; c < LEVELS; c++) {
      const double pf = fg[c] / nf, pb = bg[c] / nb;
      fg[c] = pf / (pf + pb);
    }
    float *out = posterior + (size_t)o * query_cells;
    for (size_t i = 0; i < query_cells; i++)
      out[i] = (float)fg[colour_bin(query_scale * query_lab[i],
                                    query_scale * query_lab[query_cells + i],
                                    query_scale * query_lab[2 * query_cells + i])];
  }
  free(bin);
  free(fg);
  return MV_OK;
}
