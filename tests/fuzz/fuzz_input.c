#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *mv_fuzz_input_file(const uint8_t *data, size_t size, const char *extension) {
  static char path[512];
  const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  /* One name per process and extension: parallel fuzzers never share a file. */
  snprintf(path, sizeof path, "%s/mivos-fuzz-%ld%s", dir, (long)getpid(), extension);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write the input to %s\n", path);
    return NULL;
  }
  return path;
}
