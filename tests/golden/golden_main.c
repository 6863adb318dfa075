/* test_golden [FIXTURE_DIR] [CHECKPOINT_MANIFEST_DIR]
 * Runs every case folder found in FIXTURE_DIR (default shared/fixtures/golden)
 * with hashinit weights (salt from its manifest.json) and compares with the
 * official outputs. A case folder it does not know fails the test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golden.h"
#include "json.h"
#include "testutil.h"

typedef struct golden_case {
  const char *name;
  int (*run)(const golden_ctx *ctx);
} golden_case;

static const golden_case cases[] = {
    {"memory_read", golden_case_memory_read}, {"prop_encode", golden_case_prop_encode},
    {"prop_segment", golden_case_prop_segment}, {"s2m", golden_case_s2m},
    {"fusion", golden_case_fusion},           {"session", golden_case_session},
};
enum { CASE_COUNT = sizeof cases / sizeof cases[0] };

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : mv_shared_path("fixtures/golden");
  const char *checkpoints = argc > 2 ? argv[2] : mv_shared_path("spec/checkpoints");
  char path[2048];
  snprintf(path, sizeof path, "%s/manifest.json", root);
  mv_json *manifest = NULL;
  if (!CHECK_OK(mv_json_parse_file(path, &manifest))) return mv_test_finish();
  const mv_json *salt = mv_json_path(manifest, "args/salt");
  golden_ctx ctx = {.root = root,
                    .salt = salt && salt->type == MV_JSON_STRING ? salt->string : "",
                    .checkpoints_dir = checkpoints};
  printf("fixtures %s (salt \"%s\"), manifests %s\n", root, ctx.salt, checkpoints);

  DIR *dir = opendir(root);
  CHECK(dir != NULL, "cannot list %s", root);
  char *names[256];
  int count = 0;
  for (struct dirent *e; dir && (e = readdir(dir)) != NULL && count < 256;) {
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, e->d_name);
    if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      names[count++] = strdup(e->d_name);
  }
  if (dir) closedir(dir);
  qsort(names, (size_t)count, sizeof names[0], compare_names);
  CHECK(count > 0, "no case folders in %s", root);

  const char *only = getenv("MIVOS_GOLDEN_CASES"); /* comma list, for debugging */
  for (int i = 0; i < count; i++) {
    if (only && !strstr(only, names[i])) continue;
    const golden_case *c = NULL;
    for (int j = 0; j < CASE_COUNT; j++)
      if (!strcmp(cases[j].name, names[i])) c = &cases[j];
    if (!c) {
      CHECK(0, "case folder '%s' is not a known case: cannot run it", names[i]);
      continue;
    }
    ctx.case_name = c->name;
    char meta_path[300];
    snprintf(meta_path, sizeof meta_path, "cases/%s/_meta", c->name);
    ctx.meta = mv_json_path(manifest, meta_path);
    snprintf(ctx.case_dir, sizeof ctx.case_dir, "%s/%s", root, c->name);
    printf("-- case %s\n", c->name);
    fflush(stdout);
    int failed_before = mv_test_failed;
    CHECK(c->run(&ctx) == 0, "case %s could not run: %s", c->name, mv_error_message());
    printf("-- case %s: %s\n", c->name, mv_test_failed == failed_before ? "ok" : "FAILED");
  }
  for (int i = 0; i < count; i++) free(names[i]);
  mv_json_free(manifest);
  golden_release_weights();
  return mv_test_finish();
}
