#include "square_video.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mivos.h"
#include "testutil.h"

const char *mv_test_square_video(const char *name, int frames, int w, int h, int period) {
  const char *folder = mv_test_temp_path(name);
  if (mkdir(folder, 0700) != 0 && !mv_test_file_exists(folder)) return NULL;
  uint8_t *rgb = malloc((size_t)w * h * 3);
  if (!rgb) return NULL;
  char path[4200];
  for (int t = 0; t < frames; t++) {
    int s = period > 0 ? t % period : t;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int inside = x >= 8 + s && x < 24 + s && y >= 10 && y < 26;
        int block = x >= 44 && x < 60 && y >= 32 && y < 44;
        uint8_t *p = rgb + ((size_t)y * w + x) * 3;
        p[0] = inside ? 230 : block ? 20 : (uint8_t)(30 + (x * 7 + y * 13) % 20);
        p[1] = inside ? 200 : block ? 210 : (uint8_t)(40 + (x * 3 + y * 5) % 20);
        p[2] = inside ? 40 : block ? 60 : (uint8_t)(60 + (x + y) % 20);
      }
    snprintf(path, sizeof path, "%s/%05d.png", folder, t);
    if (mv_image_write_png(path, rgb, w, h) != MV_OK) {
      free(rgb);
      return NULL;
    }
  }
  free(rgb);
  return folder;
}
