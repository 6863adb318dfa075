/* DAVIS scribble files ({"sequence", "scribbles": [[{"path": [[x, y], ...],
 * "object_id"}, ...] per frame]}) drawn into label maps as the robot and
 * the session read them. */
#include "fuzz_input.h"
#include "interaction/raster.h"
#include "mivos.h"

enum { W = 32, H = 24 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mv_json *root = NULL;
  if (mv_json_parse((const char *)data, size, "fuzz", &root) != MV_OK) return 0;
  static int16_t labels[W * H];
  static uint8_t positive[W * H], negative[W * H];
  for (int frame = 0; frame < 4; frame++) {
    int thickness = 1 + frame * 2;
    if (mv_scribbles_from_davis_json(root, frame, W, H, thickness, labels) == MV_OK)
      mv_scribbles_split(labels, W, H, 1, positive, negative);
  }
  mv_json_free(root);
  return 0;
}
