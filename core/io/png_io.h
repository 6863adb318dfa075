/* Internal PNG reading and writing through libpng, shared by the mask and
 * overlay writers. Writes go through mv_atomic_file (temp name + rename). */
#ifndef MV_PNG_IO_H
#define MV_PNG_IO_H
#include <stddef.h>
#include <stdint.h>
#include "mivos.h"

enum {
  MV_PNG_GRAY = 0,        /* values as libpng's colour types */
  MV_PNG_PALETTE = 3,
  MV_PNG_RGB = 2,
  MV_PNG_GRAY_ALPHA = 4,
  MV_PNG_RGBA = 6
};

/* Row y of the image to write: either a pointer into the caller's data or
 * `scratch` (width * channels bytes) filled by the function. */
typedef const uint8_t *(*mv_png_row_fn)(const void *context, int y, uint8_t *scratch);

/* Writes an 8-bit image; `palette` (256 RGB triples) only for MV_PNG_PALETTE. */
mv_status mv_png_write(const char *caller, const char *path, int width, int height,
                       int color_type, const uint8_t *palette, mv_png_row_fn row,
                       const void *context);

typedef struct mv_png_image {
  int width, height;
  int color_type;      /* of the file (MV_PNG_*) */
  int bit_depth;       /* of `pixels`: 8, or 16 (big-endian) for 16-bit grayscale */
  int channels;        /* of `pixels` */
  int has_alpha;       /* the file has an alpha channel or tRNS */
  size_t row_bytes;
  uint8_t *pixels;
  uint8_t palette[768];
  int palette_count;
} mv_png_image;

enum {
  MV_PNG_READ_RAW = 0,  /* palette indices kept; gray < 8 bit scaled to 8; gray 16
                           bit kept; colour images reduced to 8 bit */
  MV_PNG_READ_RGBA = 1  /* everything as 8-bit RGBA (alpha 255 when none) */
};

mv_status mv_png_read(const char *caller, const char *path, int mode, mv_png_image *out);
mv_status mv_png_read_size(const char *caller, const char *path, int *width, int *height);
void mv_png_image_release(mv_png_image *image);

#endif
