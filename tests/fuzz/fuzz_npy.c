/* The .npy reader (header dictionary, dtype, shape, data). */
#include "fuzz_input.h"
#include "mivos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = mv_fuzz_input_file(data, size, ".npy");
  mv_array *array = NULL;
  if (path && mv_npy_read(path, &array) == MV_OK) mv_array_free(array);
  return 0;
}
