/* What the fuzz targets share (tests/fuzz/README.md): the input as a file,
 * for the readers that take a path. */
#ifndef MV_FUZZ_INPUT_H
#define MV_FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>

/* Writes the input to this process's scratch file (in /dev/shm when it
 * exists, else $TMPDIR or /tmp) with the given extension and returns its
 * path, or NULL (reported on stderr) when it cannot be written. */
const char *mv_fuzz_input_file(const uint8_t *data, size_t size, const char *extension);

/* libFuzzer's entry point, defined by each fuzz_<name>.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
