/* bench [SECTION ...] — runs the named sections (all by default).
 * Options: --device SPEC (also MIVOS_DEVICE). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "mivos.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct section {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *what;
} section;

static const section sections[] = {
    {"ops", bench_ops, "operator GFLOP/s at the sizes the networks use (854x480 input)"},
    {"io", bench_io, "video decode frames/s and PNG mask writes/s"},
    {"networks", bench_networks, "S2M, propagation and fusion ms per call at 854x480"},
    {"memory", bench_memory, "top-50 memory read ms at 854x480 (T = 4, 10, 40): GEMM / select / gather"},
    {"interaction", bench_interaction, "graphcut scribble-to-mask ms per 854x480 frame (one core and all cores)"},
    {"labelprop", bench_labelprop, "weight-free propagation frames/s at 854x480 (libby, strides 8 and 4)"},
    {"long", bench_long, "a 10,000-frame 480p clip end to end in bounded memory: peak RSS, device memory, frames/s, J"},
    {"torch", bench_torch, "the network stages beside PyTorch (python3-torch, 2 threads): times, ratio, GFLOP/s"},
};
enum { SECTION_COUNT = sizeof sections / sizeof sections[0] };

static void usage(void) {
  printf("usage: bench [--device SPEC] [SECTION ...]\nsections:\n");
  for (int i = 0; i < SECTION_COUNT; i++) printf("  %-8s %s\n", sections[i].name, sections[i].what);
}

int main(int argc, char **argv) {
  const char *wanted[32];
  int wanted_count = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage();
      return 0;
    } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
      if (mv_device_select(argv[++i]) != MV_OK) {
        fprintf(stderr, "bench: %s\n", mv_error_message());
        return 2;
      }
    } else if (wanted_count < 32) {
      wanted[wanted_count++] = argv[i];
    }
  }
  for (int w = 0; w < wanted_count; w++) {
    int known = 0;
    for (int i = 0; i < SECTION_COUNT; i++) known |= !strcmp(wanted[w], sections[i].name);
    if (!known) {
      fprintf(stderr, "bench: unknown section '%s'\n", wanted[w]);
      usage();
      return 2;
    }
  }
  int failures = 0;
  for (int i = 0; i < SECTION_COUNT; i++) {
    int selected = wanted_count == 0;
    for (int w = 0; w < wanted_count; w++) selected |= !strcmp(wanted[w], sections[i].name);
    if (!selected) continue;
    printf("== %s: %s\n", sections[i].name, sections[i].what);
    fflush(stdout);
    if (sections[i].run(argc, argv) != 0) {
      fprintf(stderr, "bench: section %s failed: %s\n", sections[i].name, mv_error_message());
      failures++;
    }
  }
  return failures ? 1 : 0;
}
