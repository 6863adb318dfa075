/* Mask files: DAVIS palette label maps, 0/255 binary masks, 8-bit soft
 * masks and RGBA mattes, read back at any requested size by
 * nearest-neighbour resampling (so object ids are never blended). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io/png_io.h"

enum { MAX_SIDE = 65535 };

#define CHECK_IMAGE_ARGS(fn, path, data, width, height)                                \
  do {                                                                                 \
    MV_CHECK_ARG((path) && (path)[0], fn ": path is NULL or empty");                  \
    MV_CHECK_ARG((data), fn ": " #data " is NULL (writing '%s')", (path));            \
    MV_CHECK_ARG((width) > 0 && (height) > 0 && (width) <= MAX_SIDE && (height) <= MAX_SIDE, \
                 fn ": size %dx%d out of range 1..%d (writing '%s')", (width), (height),  \
                 MAX_SIDE, (path));                                                    \
  } while (0)

typedef struct plane {
  const void *data;
  const void *extra;
  int width;
} plane;

static const uint8_t *row_direct(const void *ctx, int y, uint8_t *scratch) {
  const plane *p = ctx;
  (void)scratch;
  return (const uint8_t *)p->data + (size_t)y * (size_t)p->width;
}

static const uint8_t *row_direct_rgb(const void *ctx, int y, uint8_t *scratch) {
  const plane *p = ctx;
  (void)scratch;
  return (const uint8_t *)p->data + (size_t)y * (size_t)p->width * 3;
}

static const uint8_t *row_binary(const void *ctx, int y, uint8_t *scratch) {
  const plane *p = ctx;
  const uint8_t *in = (const uint8_t *)p->data + (size_t)y * (size_t)p->width;
  for (int x = 0; x < p->width; x++) scratch[x] = in[x] ? 255 : 0;
  return scratch;
}

static uint8_t quantize(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 1.0f) return 255;
  return (uint8_t)lrintf(v * 255.0f);
}

static const uint8_t *row_soft(const void *ctx, int y, uint8_t *scratch) {
  const plane *p = ctx;
  const float *in = (const float *)p->data + (size_t)y * (size_t)p->width;
  for (int x = 0; x < p->width; x++) scratch[x] = quantize(in[x]);
  return scratch;
}

static const uint8_t *row_matte(const void *ctx, int y, uint8_t *scratch) {
  const plane *p = ctx;
  const uint8_t *rgb = (const uint8_t *)p->data + (size_t)y * (size_t)p->width * 3;
  const float *alpha = (const float *)p->extra + (size_t)y * (size_t)p->width;
  for (int x = 0; x < p->width; x++) {
    scratch[4 * x] = rgb[3 * x];
    scratch[4 * x + 1] = rgb[3 * x + 1];
    scratch[4 * x + 2] = rgb[3 * x + 2];
    scratch[4 * x + 3] = quantize(alpha[x]);
  }
  return scratch;
}

static mv_status check_finite(const char *fn, const char *what, const char *path,
                              const float *v, int width, int height) {
  size_t n = (size_t)width * (size_t)height;
  for (size_t i = 0; i < n; i++) {
    if (isnan(v[i]))
      return mv_fail(MV_E_ARGUMENT, "%s: %s is NaN at pixel (x=%d, y=%d) (writing '%s')", fn,
                     what, (int)(i % (size_t)width), (int)(i / (size_t)width), path);
  }
  return MV_OK;
}

mv_status mv_mask_write_labels(const char *path, const uint8_t *labels, int width, int height) {
  CHECK_IMAGE_ARGS("mv_mask_write_labels", path, labels, width, height);
  uint8_t palette[768];
  mv_palette_davis(palette);
  plane p = {labels, NULL, width};
  return mv_png_write("mv_mask_write_labels", path, width, height, MV_PNG_PALETTE, palette,
                      row_direct, &p);
}

mv_status mv_mask_write_binary(const char *path, const uint8_t *mask, int width, int height) {
  CHECK_IMAGE_ARGS("mv_mask_write_binary", path, mask, width, height);
  plane p = {mask, NULL, width};
  return mv_png_write("mv_mask_write_binary", path, width, height, MV_PNG_GRAY, NULL,
                      row_binary, &p);
}

mv_status mv_mask_write_soft(const char *path, const float *probability, int width,
                             int height) {
  CHECK_IMAGE_ARGS("mv_mask_write_soft", path, probability, width, height);
  MV_TRY(check_finite("mv_mask_write_soft", "probability", path, probability, width, height));
  plane p = {probability, NULL, width};
  return mv_png_write("mv_mask_write_soft", path, width, height, MV_PNG_GRAY, NULL, row_soft,
                      &p);
}

mv_status mv_mask_write_matte(const char *path, const uint8_t *rgb, const float *alpha,
                              int width, int height) {
  CHECK_IMAGE_ARGS("mv_mask_write_matte", path, rgb, width, height);
  MV_CHECK_ARG(alpha, "mv_mask_write_matte: alpha is NULL (writing '%s')", path);
  MV_TRY(check_finite("mv_mask_write_matte", "alpha", path, alpha, width, height));
  plane p = {rgb, alpha, width};
  return mv_png_write("mv_mask_write_matte", path, width, height, MV_PNG_RGBA, NULL, row_matte,
                      &p);
}

mv_status mv_image_write_png(const char *path, const uint8_t *rgb, int width, int height) {
  CHECK_IMAGE_ARGS("mv_image_write_png", path, rgb, width, height);
  plane p = {rgb, NULL, width};
  return mv_png_write("mv_image_write_png", path, width, height, MV_PNG_RGB, NULL,
                      row_direct_rgb, &p);
}

mv_status mv_mask_size(const char *path, int *width, int *height) {
  MV_CHECK_ARG(width && height, "mv_mask_size: width or height is NULL");
  return mv_png_read_size("mv_mask_size", path, width, height);
}

/* ---- reading -------------------------------------------------------------- */

/* Source coordinate of each destination coordinate: the pixel whose centre
 * is nearest (as PIL's NEAREST). */
static int *nearest_map(int src, int dst) {
  int *map = malloc(sizeof(int) * (size_t)dst);
  if (!map) return NULL;
  for (int i = 0; i < dst; i++) {
    long v = ((2L * i + 1) * src) / (2L * dst);
    map[i] = v < src ? (int)v : src - 1;
  }
  return map;
}

/* Nearest-neighbour copy of a src_w x src_h image of `elem`-byte pixels. */
static mv_status resize_nearest(const char *fn, const void *src, int src_w, int src_h,
                                void *dst, int dst_w, int dst_h, size_t elem) {
  if (src_w == dst_w && src_h == dst_h) {
    memcpy(dst, src, (size_t)src_w * (size_t)src_h * elem);
    return MV_OK;
  }
  int *mx = nearest_map(src_w, dst_w), *my = nearest_map(src_h, dst_h);
  if (!mx || !my) {
    free(mx);
    free(my);
    return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  const uint8_t *s = src;
  uint8_t *d = dst;
  for (int y = 0; y < dst_h; y++) {
    const uint8_t *srow = s + (size_t)my[y] * (size_t)src_w * elem;
    uint8_t *drow = d + (size_t)y * (size_t)dst_w * elem;
    for (int x = 0; x < dst_w; x++) memcpy(drow + (size_t)x * elem, srow + (size_t)mx[x] * elem, elem);
  }
  free(mx);
  free(my);
  return MV_OK;
}

#define CHECK_READ_ARGS(fn, path, width, height)                                        \
  do {                                                                                  \
    MV_CHECK_ARG((path) && (path)[0], fn ": path is NULL or empty");                   \
    MV_CHECK_ARG((width) > 0 && (height) > 0 && (width) <= MAX_SIDE && (height) <= MAX_SIDE, \
                 fn ": size %dx%d out of range 1..%d (reading '%s')", (width), (height),   \
                 MAX_SIDE, (path));                                                     \
  } while (0)

static unsigned sample(const mv_png_image *im, int x, int y, int channel) {
  const uint8_t *row = im->pixels + (size_t)y * im->row_bytes;
  if (im->bit_depth == 16) {
    const uint8_t *p = row + ((size_t)x * (size_t)im->channels + (size_t)channel) * 2;
    return ((unsigned)p[0] << 8) | p[1];
  }
  return row[(size_t)x * (size_t)im->channels + (size_t)channel];
}

/* Colour -> DAVIS id by a small open-addressing table (the 256 colours are distinct). */
typedef struct colour_table {
  uint32_t key[1024];
  int16_t id[1024];
} colour_table;

static unsigned colour_hash(uint32_t c) { return (c * 2654435761u) >> 22; }

static void colour_table_init(colour_table *t) {
  uint8_t pal[768];
  mv_palette_davis(pal);
  for (int i = 0; i < 1024; i++) t->id[i] = -1;
  for (int i = 0; i < 256; i++) {
    uint32_t c = ((uint32_t)pal[3 * i] << 16) | ((uint32_t)pal[3 * i + 1] << 8) | pal[3 * i + 2];
    unsigned h = colour_hash(c);
    while (t->id[h] >= 0) h = (h + 1) & 1023;
    t->key[h] = c;
    t->id[h] = (int16_t)i;
  }
}

static int colour_lookup(const colour_table *t, uint32_t c) {
  for (unsigned h = colour_hash(c);; h = (h + 1) & 1023) {
    if (t->id[h] < 0) return -1;
    if (t->key[h] == c) return t->id[h];
  }
}

static mv_status labels_from_image(const char *fn, const char *path, const mv_png_image *im,
                                   uint8_t *out) {
  int w = im->width, h = im->height;
  size_t n = (size_t)w * (size_t)h;
  if (im->color_type == MV_PNG_PALETTE) {
    for (int y = 0; y < h; y++) memcpy(out + (size_t)y * w, im->pixels + (size_t)y * im->row_bytes, (size_t)w);
    return MV_OK;
  }
  if (im->color_type == MV_PNG_GRAY || im->color_type == MV_PNG_GRAY_ALPHA) {
    unsigned top = im->bit_depth == 16 ? 65535u : 255u;
    int binary = 1, fits = 1, bad_x = 0, bad_y = 0;
    unsigned bad_v = 0;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        unsigned v = sample(im, x, y, 0);
        if (v != 0 && v != top) binary = 0;
        if (v > 255 && fits) {
          fits = 0;
          bad_x = x, bad_y = y, bad_v = v;
        }
      }
    }
    if (!binary && !fits)
      return mv_fail(MV_E_FORMAT,
                     "%s: '%s' pixel (x=%d, y=%d) has value %u: label ids must be 0..255", fn,
                     path, bad_x, bad_y, bad_v);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        unsigned v = sample(im, x, y, 0);
        out[(size_t)y * w + x] = binary ? (v ? 1 : 0) : (uint8_t)v;
      }
    return MV_OK;
  }
  /* RGB(A): DAVIS palette colours; else a black/white-only image is binary. */
  colour_table *table = malloc(sizeof *table);
  if (!table) return mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", fn, path);
  colour_table_init(table);
  int first_x = -1, first_y = -1;
  uint32_t first_c = 0;
  for (size_t i = 0; i < n; i++) {
    int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
    uint32_t c = (sample(im, x, y, 0) << 16) | (sample(im, x, y, 1) << 8) | sample(im, x, y, 2);
    int id = colour_lookup(table, c);
    if (id < 0 && first_x < 0) {
      first_x = x, first_y = y, first_c = c;
    }
    out[i] = (uint8_t)(id < 0 ? 0 : id);
  }
  free(table);
  if (first_x < 0) return MV_OK;
  for (size_t i = 0; i < n; i++) {
    int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
    uint32_t c = (sample(im, x, y, 0) << 16) | (sample(im, x, y, 1) << 8) | sample(im, x, y, 2);
    if (c != 0 && c != 0xffffff)
      return mv_fail(MV_E_FORMAT,
                     "%s: '%s' pixel (x=%d, y=%d) has colour (%u,%u,%u), which is not in the "
                     "DAVIS palette",
                     fn, path, first_x, first_y, (first_c >> 16) & 255, (first_c >> 8) & 255,
                     first_c & 255);
    out[i] = c ? 1 : 0;
  }
  return MV_OK;
}

mv_status mv_mask_read_labels(const char *path, int width, int height, uint8_t *labels) {
  const char *fn = "mv_mask_read_labels";
  CHECK_READ_ARGS("mv_mask_read_labels", path, width, height);
  MV_CHECK_ARG(labels, "mv_mask_read_labels: labels is NULL (reading '%s')", path);
  mv_png_image im;
  MV_TRY(mv_png_read(fn, path, MV_PNG_READ_RAW, &im));
  uint8_t *full = malloc((size_t)im.width * (size_t)im.height);
  mv_status s = full ? labels_from_image(fn, path, &im, full)
                     : mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", fn, path);
  if (s == MV_OK) s = resize_nearest(fn, full, im.width, im.height, labels, width, height, 1);
  free(full);
  mv_png_image_release(&im);
  return s;
}

mv_status mv_mask_read_soft(const char *path, int width, int height, float *probability) {
  const char *fn = "mv_mask_read_soft";
  CHECK_READ_ARGS("mv_mask_read_soft", path, width, height);
  MV_CHECK_ARG(probability, "mv_mask_read_soft: probability is NULL (reading '%s')", path);
  mv_png_image im;
  MV_TRY(mv_png_read(fn, path, MV_PNG_READ_RAW, &im));
  int channel;
  switch (im.color_type) {
    case MV_PNG_GRAY: channel = 0; break;
    case MV_PNG_GRAY_ALPHA: channel = 1; break;
    case MV_PNG_RGBA: channel = 3; break;
    default:
      mv_png_image_release(&im);
      return mv_fail(MV_E_FORMAT,
                     "%s: '%s' is a %s PNG, expected grayscale or an image with alpha", fn,
                     path, im.color_type == MV_PNG_PALETTE ? "palette (label map)" : "RGB");
  }
  float scale = im.bit_depth == 16 ? 1.0f / 65535.0f : 1.0f / 255.0f;
  float *full = malloc(sizeof(float) * (size_t)im.width * (size_t)im.height);
  mv_status s = MV_OK;
  if (!full) s = mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", fn, path);
  for (int y = 0; full && y < im.height; y++)
    for (int x = 0; x < im.width; x++)
      full[(size_t)y * im.width + x] = (float)sample(&im, x, y, channel) * scale;
  if (s == MV_OK)
    s = resize_nearest(fn, full, im.width, im.height, probability, width, height, sizeof(float));
  free(full);
  mv_png_image_release(&im);
  return s;
}

mv_status mv_mask_read_matte(const char *path, int width, int height, uint8_t *rgb,
                             float *alpha) {
  const char *fn = "mv_mask_read_matte";
  CHECK_READ_ARGS("mv_mask_read_matte", path, width, height);
  MV_CHECK_ARG(rgb || alpha, "mv_mask_read_matte: rgb and alpha are both NULL (reading '%s')",
               path);
  mv_png_image im;
  MV_TRY(mv_png_read(fn, path, MV_PNG_READ_RGBA, &im));
  size_t n = (size_t)im.width * (size_t)im.height;
  uint8_t *colour = rgb ? malloc(n * 3) : NULL;
  float *a = alpha ? malloc(n * sizeof(float)) : NULL;
  mv_status s = MV_OK;
  if ((rgb && !colour) || (alpha && !a)) s = mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", fn, path);
  for (int y = 0; s == MV_OK && y < im.height; y++) {
    const uint8_t *row = im.pixels + (size_t)y * im.row_bytes;
    for (int x = 0; x < im.width; x++) {
      size_t i = (size_t)y * im.width + x;
      if (colour) memcpy(colour + 3 * i, row + 4 * (size_t)x, 3);
      if (a) a[i] = (float)row[4 * (size_t)x + 3] * (1.0f / 255.0f);
    }
  }
  if (s == MV_OK && colour) s = resize_nearest(fn, colour, im.width, im.height, rgb, width, height, 3);
  if (s == MV_OK && a) s = resize_nearest(fn, a, im.width, im.height, alpha, width, height, sizeof(float));
  free(colour);
  free(a);
  mv_png_image_release(&im);
  return s;
}
