/* mivos-selfcheck [--device SPEC] [--list]: lists the OpenCL devices, shows
 * the chosen one and runs every operator against the CPU reference.
 * Exit status: 0 success, 1 a failure, 2 bad arguments. */
#include <stdio.h>
#include <string.h>

#include "mivos.h"

enum { MAX_LISTED = 64 };

static void usage(FILE *f) {
  fprintf(f,
          "usage: mivos-selfcheck [--device SPEC] [--list] [--help]\n"
          "  --device SPEC  \"P:D\" (platform:device index), \"gpu\", \"cpu\" or a name\n"
          "                 substring (default: $MIVOS_DEVICE, else first GPU, else CPU)\n"
          "  --list         only list the OpenCL devices\n");
}

static void print_device(const mv_device_info *d) {
  printf("  %d:%d  %s\n        vendor %s, platform %s, driver %s, %s\n"
         "        %s, %d compute units, %.1f GiB memory (max allocation %.1f GiB), fp16 %s\n",
         d->platform_index, d->device_index, d->name, d->vendor, d->platform, d->driver,
         d->version, d->is_gpu ? "GPU" : "not a GPU", d->compute_units,
         (double)d->global_memory / (1 << 30), (double)d->max_allocation / (1 << 30),
         d->fp16 ? "yes" : "no");
}

int main(int argc, char **argv) {
  const char *spec = NULL;
  int list_only = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--list")) {
      list_only = 1;
    } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      spec = argv[++i];
    } else {
      fprintf(stderr, "mivos-selfcheck: unknown or incomplete argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  mv_device_info devices[MAX_LISTED];
  int count = 0;
  if (mv_device_list(devices, MAX_LISTED, &count) != MV_OK) {
    fprintf(stderr, "mivos-selfcheck: %s\n", mv_error_message());
    return 1;
  }
  printf("OpenCL devices (%d):\n", count);
  for (int i = 0; i < count && i < MAX_LISTED; i++) print_device(&devices[i]);
  if (list_only) return 0;
  if (spec && mv_device_select(spec) != MV_OK) {
    fprintf(stderr, "mivos-selfcheck: %s\n", mv_error_message());
    return 2;
  }
  mv_device_info chosen;
  if (mv_device_current(&chosen) != MV_OK) {
    fprintf(stderr, "mivos-selfcheck: %s\n", mv_error_message());
    return 1;
  }
  printf("chosen device:\n");
  print_device(&chosen);
  fflush(stdout);
  static char report[16384];
  mv_status status = mv_device_self_check(report, sizeof report);
  printf("self-check:\n%s", report);
  if (status != MV_OK) {
    fprintf(stderr, "mivos-selfcheck: %s\n", mv_error_message());
    return 1;
  }
  printf("all operators ok\n");
  return 0;
}
