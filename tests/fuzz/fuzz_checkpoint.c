/* The .pth reader: zip container, legacy (pre-1.6) format and the pickle VM,
 * then every tensor read back (extents are checked against the file). */
#include "fuzz_input.h"
#include "mivos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = mv_fuzz_input_file(data, size, ".pth");
  mv_checkpoint *checkpoint = NULL;
  if (!path || mv_checkpoint_open(path, &checkpoint) != MV_OK) return 0;
  int count = mv_checkpoint_count(checkpoint);
  for (int i = 0; i < count; i++) {
    mv_array *array = NULL;
    if (mv_checkpoint_get(checkpoint, mv_checkpoint_key(checkpoint, i), &array) == MV_OK)
      mv_array_free(array);
  }
  mv_checkpoint_close(checkpoint);
  return 0;
}
