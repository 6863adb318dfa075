/* The DAVIS overlay (as the official tools draw it): objects blended half
 * and half with their palette colour, and a black 1-pixel contour on the
 * background pixels that touch an object (4-neighbourhood dilation of the
 * object mask minus the mask). */
#include <stdlib.h>

#include "error.h"
#include "io/png_io.h"

enum { MAX_SIDE = 65535 };

static int touches_object(const uint8_t *labels, int x, int y, int w, int h) {
  const uint8_t *row = labels + (size_t)y * w;
  return (x > 0 && row[x - 1]) || (x + 1 < w && row[x + 1]) || (y > 0 && row[x - w]) ||
         (y + 1 < h && row[x + w]);
}

static void draw_row(const uint8_t *rgb, const uint8_t *labels, int w, int h, int y,
                     const uint8_t *palette, uint8_t *out) {
  const uint8_t *in = rgb + (size_t)y * w * 3;
  const uint8_t *lab = labels + (size_t)y * w;
  for (int x = 0; x < w; x++) {
    uint8_t *o = out + 3 * (size_t)x;
    const uint8_t *p = in + 3 * (size_t)x;
    int id = lab[x];
    if (id) {
      const uint8_t *c = palette + 3 * id;
      /* image * 0.5 + colour * 0.5, truncated like the reference's astype(uint8) */
      o[0] = (uint8_t)((p[0] + c[0]) >> 1);
      o[1] = (uint8_t)((p[1] + c[1]) >> 1);
      o[2] = (uint8_t)((p[2] + c[2]) >> 1);
    } else if (touches_object(labels, x, y, w, h)) {
      o[0] = o[1] = o[2] = 0;
    } else {
      o[0] = p[0], o[1] = p[1], o[2] = p[2];
    }
  }
}

mv_status mv_overlay_draw(const uint8_t *rgb, const uint8_t *labels, int width, int height,
                          uint8_t *out) {
  MV_CHECK_ARG(rgb && labels && out, "mv_overlay_draw: rgb, labels or out is NULL");
  MV_CHECK_ARG(width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE,
               "mv_overlay_draw: size %dx%d out of range 1..%d", width, height, MAX_SIDE);
  MV_CHECK_ARG(out != rgb, "mv_overlay_draw: out must not alias rgb");
  uint8_t palette[768];
  mv_palette_davis(palette);
  for (int y = 0; y < height; y++)
    draw_row(rgb, labels, width, height, y, palette, out + (size_t)y * width * 3);
  return MV_OK;
}

typedef struct overlay_rows {
  const uint8_t *rgb, *labels;
  int width, height;
  uint8_t palette[768];
} overlay_rows;

static const uint8_t *overlay_row(const void *ctx, int y, uint8_t *scratch) {
  const overlay_rows *o = ctx;
  draw_row(o->rgb, o->labels, o->width, o->height, y, o->palette, scratch);
  return scratch;
}

mv_status mv_overlay_write_png(const char *path, const uint8_t *rgb, const uint8_t *labels,
                               int width, int height) {
  MV_CHECK_ARG(path && path[0], "mv_overlay_write_png: path is NULL or empty");
  MV_CHECK_ARG(rgb && labels, "mv_overlay_write_png: rgb or labels is NULL (writing '%s')",
               path);
  MV_CHECK_ARG(width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE,
               "mv_overlay_write_png: size %dx%d out of range 1..%d (writing '%s')", width,
               height, MAX_SIDE, path);
  overlay_rows rows = {rgb, labels, width, height, {0}};
  mv_palette_davis(rows.palette);
  return mv_png_write("mv_overlay_write_png", path, width, height, MV_PNG_RGB, NULL,
                      overlay_row, &rows);
}
