/* The one JSON reader (core/json.c): rounds files, DAVIS scribble files,
 * fixture manifests, and every JSON the Lua layer decodes. The tree is
 * walked and looked up by path, as its users do. */
#include <string.h>

#include "fuzz_input.h"
#include "mivos.h"

static size_t walk(const mv_json *v, int depth) {
  size_t n = 1;
  if (v->type == MV_JSON_STRING) n += strlen(v->string) + v->length;
  if (v->key) n += strlen(v->key);
  for (size_t i = 0; i < v->count; i++) n += walk(&v->items[i], depth + 1);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mv_json *root = NULL;
  if (mv_json_parse((const char *)data, size, "fuzz", &root) != MV_OK) return 0;
  volatile size_t n = walk(root, 0);
  (void)n;
  mv_json_path(root, "rounds");
  mv_json_path(root, "args/salt");
  mv_json_path(root, "a/b/c/");
  mv_json_get(root, "");
  mv_json_free(root);
  return 0;
}
