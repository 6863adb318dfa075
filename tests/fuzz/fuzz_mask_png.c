/* Mask PNG reading (libpng through core/io/png_io.c): the size, labels at
 * the file's size and resized, soft masks, mattes. */
#include <stdlib.h>

#include "fuzz_input.h"
#include "mivos.h"

enum { SMALL_W = 17, SMALL_H = 13 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = mv_fuzz_input_file(data, size, ".png");
  int width = 0, height = 0;
  if (!path || mv_mask_size(path, &width, &height) != MV_OK) return 0;
  static uint8_t labels[SMALL_W * SMALL_H], rgb[SMALL_W * SMALL_H * 3];
  static float soft[SMALL_W * SMALL_H];
  mv_mask_read_labels(path, SMALL_W, SMALL_H, labels);
  mv_mask_read_soft(path, SMALL_W, SMALL_H, soft);
  mv_mask_read_matte(path, SMALL_W, SMALL_H, rgb, soft);
  /* At the file's own size too, when that is a sane mask size. */
  if ((size_t)width * height <= (size_t)4096 * 4096) {
    uint8_t *full = malloc((size_t)width * height);
    if (full) mv_mask_read_labels(path, width, height, full);
    free(full);
  }
  return 0;
}
