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

/* Both readers go through read_png: open and check the signature, then
 * (read_open_png) set libpng up and read the header under one setjmp;
 * `read` does the rest for its format. A libpng error anywhere (also inside
 * `read`) comes back to that setjmp: `discard` frees what `read` had
 * allocated and the failure names the file as `corrupt`. */
typedef struct png_reader {
  const char *caller, *path;
  const char *corrupt;  /* "a corrupt PNG" ... */
  int limit_size;       /* refuse images over 65535 pixels a side */
  void (*read)(png_structp png, png_infop info, void *context);
  void (*discard)(void *context);  /* may be NULL */
  void *context;
} png_reader;

static mv_status read_open_png(const png_reader *r, FILE *fp) {
  png_failure failure = {{0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                           on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, NULL);
    return mv_fail(MV_E_MEMORY, "%s: out of memory reading '%s'", r->caller, r->path);
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    if (r->discard) r->discard(r->context);
    return mv_fail(MV_E_FORMAT, "%s: '%s' is %s: %s", r->caller, r->path, r->corrupt,
                   failure.message);
  }
  png_init_io(png, fp);
  png_set_sig_bytes(png, 8);
  if (r->limit_size) png_set_user_limits(png, 65535, 65535);
  png_read_info(png, info);
  r->read(png, info, r->context);
  png_destroy_read_struct(&png, &info, NULL);
  return MV_OK;
}

static mv_status read_png(const png_reader *r) {
  FILE *fp = NULL;
  MV_TRY(open_png(r->caller, r->path, &fp));
  mv_status s = read_open_png(r, fp);
  fclose(fp);
  return s;
}

/* mv_png_read: the pixels, converted as `mode` asks. */
typedef struct image_read {
  mv_png_image *out;
  int mode;
  png_bytep *rows;
} image_read;

static void read_image(png_structp png, png_infop info, void *context) {
  image_read *r = context;
  mv_png_image *out = r->out;
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
  if (r->mode == MV_PNG_READ_RGBA) {
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
  out->pixels = malloc(out->row_bytes * (size_t)out->height + 1);
  r->rows = malloc(sizeof(png_bytep) * (size_t)out->height + 1);
  if (!out->pixels || !r->rows) png_error(png, "out of memory");
  for (int y = 0; y < out->height; y++) r->rows[y] = out->pixels + out->row_bytes * (size_t)y;
  png_read_image(png, r->rows);
  png_read_end(png, NULL);
}

static void discard_image(void *context) {
  image_read *r = context;
  free(r->out->pixels);
  memset(r->out, 0, sizeof *r->out);
}

mv_status mv_png_read(const char *caller, const char *path, int mode, mv_png_image *out) {
  MV_CHECK_ARG(out, "%s: out is NULL", caller);
  memset(out, 0, sizeof *out);
  image_read image = {out, mode, NULL};
  png_reader reader = {caller, path, "a corrupt or truncated PNG", 1,
                       read_image, discard_image, &image};
  mv_status s = read_png(&reader);
  free(image.rows);
  return s;
}

/* mv_png_read_size: the header only. */
typedef struct size_read {
  int *width, *height;
} size_read;

static void read_size(png_structp png, png_infop info, void *context) {
  size_read *r = context;
  *r->width = (int)png_get_image_width(png, info);
  *r->height = (int)png_get_image_height(png, info);
}

mv_status mv_png_read_size(const char *caller, const char *path, int *width, int *height) {
  size_read size = {width, height};
  png_reader reader = {caller, path, "a corrupt PNG", 0, read_size, NULL, &size};
  return read_png(&reader);
}

void mv_png_image_release(mv_png_image *image) {
  if (!image) return;
  free(image->pixels);
  image->pixels = NULL;
}
