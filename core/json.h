/* A small JSON reader (RFC 8259) for the project's own inputs: fixture
 * manifests, DAVIS scribble files, interaction rounds. Parses into a tree. */
#ifndef MV_JSON_H
#define MV_JSON_H

#include <stddef.h>

#include "mivos.h"

typedef enum mv_json_type {
  MV_JSON_NULL, MV_JSON_BOOL, MV_JSON_NUMBER, MV_JSON_STRING, MV_JSON_ARRAY, MV_JSON_OBJECT
} mv_json_type;

typedef struct mv_json {
  mv_json_type type;
  double number;            /* NUMBER, and BOOL as 0/1 */
  char *string;             /* STRING (NUL-terminated, UTF-8) */
  char *key;                /* the member name when inside an object */
  struct mv_json *items;    /* ARRAY / OBJECT children */
  size_t count;
} mv_json;

/* Parses `size` bytes; `origin` names the source in error messages
 * ("rounds.json: line 3, column 7: expected ':'"). */
mv_status mv_json_parse(const char *text, size_t size, const char *origin, mv_json **out);
mv_status mv_json_parse_file(const char *path, mv_json **out);
void mv_json_free(mv_json *value);

/* Member of an object by name, NULL if absent or not an object. */
const mv_json *mv_json_get(const mv_json *object, const char *key);
/* Follows a path of member names separated by '/', e.g. "args/salt". */
const mv_json *mv_json_path(const mv_json *root, const char *path);

#endif
