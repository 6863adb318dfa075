#include "io/png_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "error.h"

/* libpng reports errors through a callback that must not return: keep the
 * message and longjmp back to the caller's setjmp. */
typedef struct png_failure {
  char message[256];
} png_failure;

static void on_png_error(png_structp png, png_const_charp message) {
  png_failure *f = png_get_error_ptr(png);
  if (f) snprintf(f->message, sizeof f->message, "%s", message ? message : "libpng error");
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void on_png_write(png_structp png, png_bytep data, size_t length) {
  mv_atomic_file *file = png_get_io_ptr(png);
  if (mv_atomic_write(file, data, length) != 0) png_error(png, strerror(file->write_errno));
}

static void on_png_flush(png_structp png) { (void)png; }

static int channels_of(int color_type) {
  switch (color_type) {
    case MV_PNG_GRAY: case MV_PNG_PALETTE: return 1;
    case MV_PNG_GRAY_ALPHA: return 2;
    case MV_PNG_RGB: return 3;
    case MV_PNG_RGBA: return 4;
  }
  return 0;
}

mv_status mv_png_write(const char *caller, const char *path, int width, int height,
                       int color_type, const uint8_t *palette, mv_png_row_fn row,
                       const void *context) {
  int channels = channels_of(color_type);
  MV_CHECK_ARG(channels > 0, "%s: unknown PNG colour type %d", caller, color_type);
  MV_CHECK_ARG(color_type != MV_PNG_PALETTE || palette, "%s: palette is NULL", caller);
  uint8_t *scratch = malloc((size_t)width * (size_t)channels + 16);
  if (!scratch) return mv_fail(MV_E_MEMORY, "%s: out of memory for '%s'", caller, path);
  mv_atomic_file *file = NULL;
  mv_status s = mv_atomic_open(caller, path, &file);
  if (s != MV_OK) {
    free(scratch);
    return s;
  }
  png_failure failure = {{0}};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                            on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    mv_atomic_abort(file);
    free(scratch);
    return mv_fail(MV_E_MEMORY, "%s: out of memory for '%s'", caller, path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    int err = file->write_errno;
    mv_atomic_abort(file);
    free(scratch);
    if (err) return mv_fail(MV_E_IO, "%s: writing '%s' failed: %s", caller, path, strerror(err));
    return mv_fail(MV_E_IO, "%s: writing '%s' failed: %s", caller, path, failure.message);
  }
  png_set_write_fn(png, file, on_png_write, on_png_flush);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == MV_PNG_PALETTE) {
    png_color colors[256];
    for (int i = 0; i < 256; i++) {
      colors[i].red = palette[3 * i];
      colors[i].green = palette[3 * i + 1];
      colors[i].blue = palette[3 * i + 2];
    }
    png_set_PLTE(png, info, colors, 256);
  }
  /* Masks are flat: no row filter and fast deflate compress them as well as
   * the defaults do, several times faster. Photos keep adaptive filters. */
  if (color_type == MV_PNG_PALETTE || color_type == MV_PNG_GRAY) {
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_compression_level(png, 3);
  } else {
    png_set_compression_level(png, 3);
  }
  png_write_info(png, info);
  for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)row(context, y, scratch));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  free(scratch);
  return mv_atomic_commit(file);
}

static mv_status open_png(const char *caller, const char *path, FILE **out) {
  MV_CHECK_ARG(path && path[0], "%s: path is NULL or empty", caller);
  FILE *fp = fopen(path, "rb");
  if (!fp) return mv_fail(MV_E_IO, "%s: cannot open '%s': %s", caller, path, strerror(errno));
  unsigned char signature[8];
  size_t got = fread(signature, 1, 8, fp);
  if (got != 8 || png_sig_cmp(signature, 0, 8) != 0) {
    fclose(fp);
    return mv_fail(MV_E_FORMAT, "%s: '%s' is not a PNG file", caller, path);
  }
  *out = fp;
  return MV_OK;
}

mv_status mv_png_read(const char *caller, const char *path, int mode, mv_png_image *out) {
  MV_CHECK_ARG(out, "%s: out is NULL", caller);
  memset(out, 0, sizeof *out);
  FILE *fp = NULL;
  MV_TRY(open_png(caller, path, &fp));
  png_failure failure = {{0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                           on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", caller, path);
  }
  uint8_t *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    free(pixels);
    free(rows);
    memset(out, 0, sizeof *out);
    return mv_fail(MV_E_FORMAT, "%s: '%s' is a corrupt or truncated PNG: %s", caller, path,
                   failure.message);
  }
  png_init_io(png, fp);
  png_set_sig_bytes(png, 8);
  png_set_user_limits(png, 65535, 65535);
  png_read_info(png, info);
  int color_type = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  out->width = (int)png_get_image_width(png, info);
  out->height = (int)png_get_image_height(png, info);
  out->color_type = color_type;
  out->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_colorp colors = NULL;
    int count = 0;
    if (png_get_PLTE(png, info, &colors, &count) && colors) {
      for (int i = 0; i < count && i < 256; i++) {
        out->palette[3 * i] = colors[i].red;
        out->palette[3 * i + 1] = colors[i].green;
        out->palette[3 * i + 2] = colors[i].blue;
      }
      out->palette_count = count;
    }
  }
  if (mode == MV_PNG_READ_RGBA) {
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_filler(png, 0xff, PNG_FILLER_AFTER);
  } else {
    if (color_type == PNG_COLOR_TYPE_PALETTE && depth < 8) png_set_packing(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) && depth == 16) png_set_strip_16(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->channels = png_get_channels(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  out->row_bytes = png_get_rowbytes(png, info);
  pixels = malloc(out->row_bytes * (size_t)out->height + 1);
  rows = malloc(sizeof(png_bytep) * (size_t)out->height + 1);
  if (!pixels || !rows) png_error(png, "out of memory");
  for (int y = 0; y < out->height; y++) rows[y] = pixels + out->row_bytes * (size_t)y;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(fp);
  free(rows);
  out->pixels = pixels;
  return MV_OK;
}

mv_status mv_png_read_size(const char *caller, const char *path, int *width, int *height) {
  FILE *fp = NULL;
  MV_TRY(open_png(caller, path, &fp));
  png_failure failure = {{0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                           on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", caller, path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return mv_fail(MV_E_FORMAT, "%s: '%s' is a corrupt PNG: %s", caller, path, failure.message);
  }
  png_init_io(png, fp);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  *width = (int)png_get_image_width(png, info);
  *height = (int)png_get_image_height(png, info);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(fp);
  return MV_OK;
}

void mv_png_image_release(mv_png_image *image) {
  if (!image) return;
  free(image->pixels);
  image->pixels = NULL;
}
