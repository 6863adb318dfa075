/* The DAVIS palette (the PASCAL VOC colour map): the bits of an id are
 * spread over the three channels from the most significant bit down, so
 * small ids get well separated colours. */
#include "mivos.h"

void mv_palette_davis(uint8_t rgb[768]) {
  if (!rgb) return;
  for (int i = 0; i < 256; i++) {
    int r = 0, g = 0, b = 0, c = i;
    for (int j = 0; j < 8; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    rgb[3 * i] = (uint8_t)r;
    rgb[3 * i + 1] = (uint8_t)g;
    rgb[3 * i + 2] = (uint8_t)b;
  }
}
