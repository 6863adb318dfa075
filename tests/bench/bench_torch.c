/* Side by side with PyTorch: the network stages of `bench networks` on the
 * selected device (hashinit weights), then the same stages in PyTorch on the
 * CPU with 2 threads (tests/bench/torch_stages.py: the networks written with
 * torch.nn from the checkpoint manifests, loaded strictly from a state dict
 * built from them, the same HASHINIT weights), one table: both times, the
 * ratio and GFLOP/s. Needs Debian's python3-torch (/usr/bin/python3, or
 * MIVOS_TORCH_PYTHON); without it the section says so and is skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "opencl/ops.h"
#include "testutil.h"

#ifndef MV_TORCH_STAGES_PY
#define MV_TORCH_STAGES_PY "tests/bench/torch_stages.py"
#endif

enum { STAGE_COUNT = 4, TORCH_THREADS = 2 };

typedef struct stage_row {
  const char *name;  /* torch_stages.py's stage name */
  const char *what;
  bench_stage ours;
  int ours_ok;
  double torch_seconds, gflop;
  double torch_encode, torch_read_decode, torch_memorize;
  double gflop_encode, gflop_read_decode, gflop_memorize;
  int torch_ok;
} stage_row;

static const char *python_path(void) {
  const char *p = getenv("MIVOS_TORCH_PYTHON");
  return p && p[0] ? p : "/usr/bin/python3";
}

/* 1 when the interpreter exists and imports torch. */
static int torch_available(void) {
  const char *python = python_path();
  if (access(python, X_OK) != 0 || strchr(python, '\'')) return 0;
  char command[1200];
  snprintf(command, sizeof command, "'%s' -c 'import torch, numpy' >/dev/null 2>&1", python);
  return system(command) == 0;
}

static double number(const mv_json *object, const char *key) {
  const mv_json *v = mv_json_get(object, key);
  return v && v->type == MV_JSON_NUMBER ? v->number : -1;
}

static void print_info(const mv_json *info) {
  const mv_json *version = mv_json_get(info, "torch");
  printf("PyTorch %s, %d threads, %s\n", version && version->string ? version->string : "?",
         (int)number(info, "threads"),
         mv_json_get(info, "weights") ? mv_json_get(info, "weights")->string : "");
  const mv_json *checks = mv_json_get(info, "checks");
  for (size_t i = 0; checks && i < checks->count; i++) {
    const mv_json *c = &checks->items[i];
    const mv_json *strict = mv_json_get(c, "strict_load"), *order = mv_json_get(c, "same_order");
    printf("  %-18s %4d state-dict entries (%.0f elements): load_state_dict(strict=True) %s, "
           "key order %s the manifest's\n",
           c->key, (int)number(c, "entries"), number(c, "elements"),
           strict && strict->number ? "passed" : "FAILED",
           order && order->number ? "equal to" : "DIFFERENT from");
  }
}

/* Runs torch_stages.py and fills the PyTorch columns; 0 on success. */
static int run_torch(stage_row *rows) {
  const char *python = python_path(), *script = MV_TORCH_STAGES_PY;
  const char *manifests = mv_shared_path("spec/checkpoints");
  if (strchr(script, '\'') || strchr(manifests, '\'')) return 1;
  char command[4096];
  snprintf(command, sizeof command, "'%s' '%s' --manifests '%s' --repeats %d --threads %d",
           python, script, manifests, bench_repeats(), TORCH_THREADS);
  printf("running: %s\n", command);
  fflush(stdout);
  FILE *pipe = popen(command, "r");
  if (!pipe) return 1;
  char line[8192];
  int failures = 0;
  while (fgets(line, sizeof line, pipe)) {
    mv_json *j = NULL;
    if (mv_json_parse(line, strlen(line), "torch_stages.py", &j) != MV_OK ||
        j->type != MV_JSON_OBJECT) {
      printf("  torch_stages.py: %s", line);
      mv_json_free(j);
      continue;
    }
    const mv_json *info = mv_json_get(j, "info"), *stage = mv_json_get(j, "stage");
    if (info) print_info(info);
    for (int i = 0; stage && stage->string && i < STAGE_COUNT; i++) {
      if (strcmp(stage->string, rows[i].name) != 0) continue;
      rows[i].torch_seconds = number(j, "seconds");
      rows[i].gflop = number(j, "gflop");
      const mv_json *parts = mv_json_get(j, "parts");
      rows[i].torch_encode = number(parts, "encode");
      rows[i].torch_read_decode = number(parts, "read_decode");
      rows[i].torch_memorize = number(parts, "memorize");
      const mv_json *parts_gflop = mv_json_get(j, "parts_gflop");
      rows[i].gflop_encode = number(parts_gflop, "encode");
      rows[i].gflop_read_decode = number(parts_gflop, "read_decode");
      rows[i].gflop_memorize = number(parts_gflop, "memorize");
      rows[i].torch_ok = rows[i].torch_seconds > 0;
    }
    mv_json_free(j);
  }
  int rc = pclose(pipe);
  if (rc != 0) {
    fprintf(stderr, "bench torch: %s exited with status %d\n", script, rc);
    failures++;
  }
  for (int i = 0; i < STAGE_COUNT; i++) failures += !rows[i].torch_ok;
  return failures;
}

/* The machine may be shared: the load average says how much. */
static void print_load(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  char text[128] = "";
  if (f && fgets(text, sizeof text, f)) printf("load average: %s", text);
  if (f) fclose(f);
}

static void print_row(const char *what, double ours, int ours_ok, double torch, int torch_ok,
                      double gflop) {
  printf("%-34s", what);
  if (ours_ok) printf(" %9.3f", ours); else printf(" %9s", "-");
  if (torch_ok) printf(" %10.3f", torch); else printf(" %10s", "-");
  if (ours_ok && torch_ok) printf(" %8.2f", ours / torch); else printf(" %8s", "-");
  if (gflop > 0) {
    printf(" %7.1f", gflop);
    if (ours_ok) printf(" %9.1f", gflop / ours); else printf(" %9s", "-");
    if (torch_ok) printf(" %11.1f", gflop / torch); else printf(" %11s", "-");
  }
  printf("\n");
}

int bench_torch(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (!torch_available()) {
    printf("torch: python3-torch not installed (apt-get install python3-torch): skipped\n");
    return 0;
  }
  mv_device_info device;
  if (mv_device_current(&device) != MV_OK) return 1;
  printf("mivos: %s (%s), %d compute units; 854x480 input, median of %d after a warm-up\n",
         device.name, device.platform, device.compute_units, bench_repeats());
  print_load();
  fflush(stdout);

  stage_row rows[STAGE_COUNT] = {
      {.name = "s2m", .what = "S2M, one object"},
      {.name = "propagation_k1", .what = "propagation frame, k=1"},
      {.name = "propagation_k2", .what = "propagation frame, k=2"},
      {.name = "fusion", .what = "fusion, one object (attention+net)"},
  };
  int failures = 0;
  mv_tensor image = {0};
  if (bench_frame(&image) != 0) return 1;
  mv_checkpoint *weights = NULL;
  if (mv_checkpoint_hashinit(bench_manifest("s2m"), "", &weights) == MV_OK) {
    rows[0].ours_ok = bench_time_s2m(weights, &image, &rows[0].ours) == 0;
    mv_checkpoint_close(weights);
  }
  if (mv_checkpoint_hashinit(bench_manifest("propagation_model"), "", &weights) == MV_OK) {
    for (int k = 1; k <= 2; k++)
      rows[k].ours_ok = bench_time_propagation(weights, &image, k, &rows[k].ours) == 0;
    mv_checkpoint_close(weights);
  }
  if (mv_checkpoint_hashinit(bench_manifest("fusion"), "", &weights) == MV_OK) {
    rows[3].ours_ok = bench_time_fusion(weights, &image, &rows[3].ours) == 0;
    mv_checkpoint_close(weights);
  }
  mv_tensor_free(&image);
  for (int i = 0; i < STAGE_COUNT; i++) {
    if (!rows[i].ours_ok) fprintf(stderr, "bench torch: mivos %s: %s\n", rows[i].name, mv_error_message());
    failures += !rows[i].ours_ok;
  }

  failures += run_torch(rows);
  print_load();

  printf("%-34s %9s %10s %8s %7s %9s %11s\n", "stage", "mivos s", "PyTorch s", "ratio",
         "GFLOP", "mivos", "PyTorch");
  printf("%-34s %9s %10s %8s %7s %9s %11s\n", "", "", "", "mv/pt", "", "GFLOP/s", "GFLOP/s");
  for (int i = 0; i < STAGE_COUNT; i++) {
    const stage_row *r = &rows[i];
    print_row(r->what, r->ours.seconds, r->ours_ok, r->torch_seconds, r->torch_ok, r->gflop);
    if (i == 1 || i == 2) {
      print_row("  query encode", r->ours.encode, r->ours_ok, r->torch_encode,
                r->torch_ok && r->torch_encode >= 0, r->gflop_encode);
      print_row("  memory read + decode + aggregate", r->ours.read_decode, r->ours_ok,
                r->torch_read_decode, r->torch_ok && r->torch_read_decode >= 0,
                r->gflop_read_decode);
      print_row("  memorize", r->ours.memorize, r->ours_ok, r->torch_memorize,
                r->torch_ok && r->torch_memorize >= 0, r->gflop_memorize);
    }
  }
  printf("ratio = mivos s / PyTorch s (below 1: mivos is faster). GFLOP counted by "
         "torch_stages.py from the layers run (memory read as the dense product of the "
         "official code); query encode includes the decoder's object-independent skip "
         "convolutions on both sides.\n");
  return failures ? 1 : 0;
}
