/* The project's one JSON reader (RFC 8259), declared in mivos.h: C reads
 * fixture manifests and DAVIS scribble files with it, and the Lua layer's
 * json.decode (lua/mivos/json.lua) walks the tree it builds. Errors read
 * "ORIGIN:LINE:COLUMN: what was expected, found X". */
#include "json.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { MAX_DEPTH = 256 };

typedef struct parser {
  const char *text, *end, *at;
  const char *origin;
} parser;

static void position(const parser *p, const char *at, int *line, int *column) {
  *line = 1;
  *column = 1;
  for (const char *c = p->text; c < at && c < p->end; c++) {
    if (*c == '\n') {
      ++*line;
      *column = 1;
    } else {
      ++*column;
    }
  }
}

/* "ORIGIN:LINE:COLUMN: WHAT, found X" for the character at `at`. */
static mv_status error_at(const parser *p, const char *at, const char *what) {
  int line, column;
  position(p, at, &line, &column);
  char found[16];
  if (at >= p->end) {
    snprintf(found, sizeof found, "end of input");
  } else {
    unsigned char c = (unsigned char)*at;
    if (c < 32 || c > 126)
      snprintf(found, sizeof found, "byte 0x%02x", c);
    else
      snprintf(found, sizeof found, "'%c'", c);
  }
  return mv_fail(MV_E_FORMAT, "%s:%d:%d: %s, found %s", p->origin, line, column, what, found);
}

static mv_status parse_error(const parser *p, const char *what) {
  return error_at(p, p->at, what);
}

static void skip_space(parser *p) {
  while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' || *p->at == '\n' || *p->at == '\r'))
    p->at++;
}

static int literal(parser *p, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(p->end - p->at) >= n && !memcmp(p->at, word, n)) {
    p->at += n;
    return 1;
  }
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(parser *p, unsigned *out) {
  if (p->end - p->at < 4) return 0;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex_value(p->at[i]);
    if (h < 0) return 0;
    v = v * 16 + (unsigned)h;
  }
  p->at += 4;
  *out = v;
  return 1;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* p->at is on the opening quote. Escapes never make the text longer, so the
 * raw length bounds the decoded one. A control character ends the scan so
 * that it is reported where it is. */
static mv_status parse_string(parser *p, char **out, size_t *length) {
  const char *quote = p->at++;
  const char *start = p->at;
  while (p->at < p->end && *p->at != '"' && (unsigned char)*p->at >= 0x20)
    p->at += (*p->at == '\\') ? 2 : 1;
  if (p->at >= p->end) {
    char what[64];
    int line, column;
    position(p, quote, &line, &column);
    snprintf(what, sizeof what, "unterminated string (started at %d:%d)", line, column);
    return error_at(p, p->end, what);
  }
  size_t raw = (size_t)(p->at - start);
  char *s = malloc(raw + 1);
  if (!s) return mv_fail(MV_E_MEMORY, "%s: out of memory reading a string", p->origin);
  size_t n = 0;
  p->at = start;
  while (*p->at != '"') {
    unsigned char c = (unsigned char)*p->at;
    if (c < 0x20) {
      free(s);
      return parse_error(p, "no control characters inside a string (use \\n, \\t, ...)");
    }
    if (c != '\\') {
      s[n++] = (char)c;
      p->at++;
      continue;
    }
    const char *escape = p->at++;
    char e = *p->at++;
    switch (e) {
      case '"': s[n++] = '"'; break;
      case '\\': s[n++] = '\\'; break;
      case '/': s[n++] = '/'; break;
      case 'b': s[n++] = '\b'; break;
      case 'f': s[n++] = '\f'; break;
      case 'n': s[n++] = '\n'; break;
      case 'r': s[n++] = '\r'; break;
      case 't': s[n++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (!read_hex4(p, &cp)) {
          free(s);
          return error_at(p, escape, "a \\u escape with 4 hex digits");
        }
        if (cp >= 0xD800 && cp < 0xDC00 && p->end - p->at >= 6 && p->at[0] == '\\' &&
            p->at[1] == 'u') {
          const char *low_at = p->at;
          unsigned low;
          p->at += 2;
          if (read_hex4(p, &low) && low >= 0xDC00 && low < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          else
            p->at = low_at; /* a lone high surrogate; the next escape stands alone */
        }
        n += put_utf8(s + n, cp);
        break;
      }
      default:
        free(s);
        return error_at(p, escape + 1,
                        "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    }
  }
  p->at++;
  s[n] = '\0';
  *out = s;
  if (length) *length = n;
  return MV_OK;
}

static int is_digit(const parser *p, const char *at) {
  return at < p->end && *at >= '0' && *at <= '9';
}

/* The JSON number grammar exactly (no '+', no leading zeros, digits on both
 * sides of '.'), converted independently of the C locale's decimal point. */
static mv_status parse_number(parser *p, double *out) {
  const char *start = p->at, *q = p->at;
  if (*q == '-') q++;
  if (!is_digit(p, q)) return error_at(p, q, "a digit after '-'");
  if (*q == '0' && is_digit(p, q + 1)) return error_at(p, q + 1, "no leading zeros in a number");
  while (is_digit(p, q)) q++;
  const char *dot = NULL;
  if (q < p->end && *q == '.') {
    dot = q++;
    if (!is_digit(p, q)) return error_at(p, q, "digits after the decimal point");
    while (is_digit(p, q)) q++;
  }
  if (q < p->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < p->end && (*q == '+' || *q == '-')) q++;
    if (!is_digit(p, q)) return error_at(p, q, "digits in the exponent");
    while (is_digit(p, q)) q++;
  }
  const char *point = localeconv()->decimal_point;
  size_t point_length = point && *point ? strlen(point) : 1;
  size_t n = (size_t)(q - start);
  char local[128];
  char *buffer = n + point_length < sizeof local ? local : malloc(n + point_length + 1);
  if (!buffer) return mv_fail(MV_E_MEMORY, "%s: out of memory reading a number", p->origin);
  size_t k = 0;
  for (const char *c = start; c < q; c++) {
    if (c == dot) {
      memcpy(buffer + k, point && *point ? point : ".", point_length);
      k += point_length;
    } else {
      buffer[k++] = *c;
    }
  }
  buffer[k] = '\0';
  *out = strtod(buffer, NULL);
  if (buffer != local) free(buffer);
  p->at = q;
  return MV_OK;
}

static mv_status parse_value(parser *p, mv_json *v, int depth);

static mv_status append(parser *p, mv_json *container, size_t *capacity, mv_json **slot) {
  if (container->count == *capacity) {
    size_t grown = *capacity ? *capacity * 2 : 4;
    mv_json *items = realloc(container->items, grown * sizeof *items);
    if (!items) return mv_fail(MV_E_MEMORY, "%s: out of memory", p->origin);
    container->items = items;
    *capacity = grown;
  }
  *slot = &container->items[container->count++];
  memset(*slot, 0, sizeof **slot);
  return MV_OK;
}

static mv_status parse_container(parser *p, mv_json *v, int depth, int is_object) {
  char close = is_object ? '}' : ']';
  v->type = is_object ? MV_JSON_OBJECT : MV_JSON_ARRAY;
  size_t capacity = 0;
  p->at++;
  skip_space(p);
  if (p->at < p->end && *p->at == close) {
    p->at++;
    return MV_OK;
  }
  for (;;) {
    mv_json *item = NULL;
    MV_TRY(append(p, v, &capacity, &item));
    skip_space(p);
    if (is_object) {
      if (p->at >= p->end || *p->at != '"')
        return parse_error(p, "a string key in double quotes");
      MV_TRY(parse_string(p, &item->key, NULL));
      skip_space(p);
      if (p->at >= p->end || *p->at != ':') {
        char what[96];
        snprintf(what, sizeof what, "':' after the key \"%.60s\"", item->key);
        return parse_error(p, what);
      }
      p->at++;
    }
    MV_TRY(parse_value(p, item, depth + 1));
    skip_space(p);
    if (p->at < p->end && *p->at == ',') {
      p->at++;
      continue;
    }
    if (p->at < p->end && *p->at == close) {
      p->at++;
      return MV_OK;
    }
    return parse_error(p, is_object ? "',' or '}' in an object" : "',' or ']' in an array");
  }
}

static mv_status parse_value(parser *p, mv_json *v, int depth) {
  if (depth > MAX_DEPTH) return parse_error(p, "nesting depth at most 256");
  skip_space(p);
  char c = p->at < p->end ? *p->at : '\0';
  if (c == '{' || c == '[') return parse_container(p, v, depth, c == '{');
  if (c == '"') {
    v->type = MV_JSON_STRING;
    return parse_string(p, &v->string, &v->length);
  }
  if (literal(p, "true")) {
    v->type = MV_JSON_BOOL;
    v->number = 1;
    return MV_OK;
  }
  if (literal(p, "false")) {
    v->type = MV_JSON_BOOL;
    return MV_OK;
  }
  if (literal(p, "null")) {
    v->type = MV_JSON_NULL;
    return MV_OK;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    MV_TRY(parse_number(p, &v->number));
    v->type = MV_JSON_NUMBER;
    return MV_OK;
  }
  return parse_error(p, "a value (object, array, string, number, true, false or null)");
}

static void free_children(mv_json *v) {
  for (size_t i = 0; i < v->count; i++) free_children(&v->items[i]);
  free(v->items);
  free(v->string);
  free(v->key);
}

void mv_json_free(mv_json *value) {
  if (!value) return;
  free_children(value);
  free(value);
}

mv_status mv_json_parse(const char *text, size_t size, const char *origin, mv_json **out) {
  MV_CHECK_ARG(out, "mv_json_parse: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(text || size == 0, "mv_json_parse: text is NULL");
  if (!text) text = "";
  parser p = {text, text + size, text, origin ? origin : "json"};
  if (size >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p.at += 3; /* UTF-8 byte order mark */
  mv_json *root = calloc(1, sizeof *root);
  if (!root) return mv_fail(MV_E_MEMORY, "%s: out of memory", p.origin);
  mv_status s = parse_value(&p, root, 0);
  if (s == MV_OK) {
    skip_space(&p);
    if (p.at != p.end) s = parse_error(&p, "end of input after the value");
  }
  if (s != MV_OK) {
    mv_json_free(root);
    return s;
  }
  *out = root;
  return MV_OK;
}

mv_status mv_json_parse_file(const char *path, mv_json **out) {
  MV_CHECK_ARG(path && out, "mv_json_parse_file: path or out is NULL");
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return mv_fail(MV_E_IO, "%s: cannot open: %s", path, strerror(errno));
  char *text = NULL;
  size_t size = 0, capacity = 0;
  for (;;) {
    if (size == capacity) {
      capacity = capacity ? capacity * 2 : 65536;
      char *grown = realloc(text, capacity);
      if (!grown) {
        free(text);
        fclose(f);
        return mv_fail(MV_E_MEMORY, "%s: out of memory", path);
      }
      text = grown;
    }
    size_t got = fread(text + size, 1, capacity - size, f);
    size += got;
    if (got == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(text);
    return mv_fail(MV_E_IO, "%s: read error", path);
  }
  mv_status s = mv_json_parse(text, size, path, out);
  free(text);
  return s;
}

const mv_json *mv_json_get(const mv_json *object, const char *key) {
  if (!object || object->type != MV_JSON_OBJECT || !key) return NULL;
  for (size_t i = 0; i < object->count; i++)
    if (!strcmp(object->items[i].key, key)) return &object->items[i];
  return NULL;
}

const mv_json *mv_json_path(const mv_json *root, const char *path) {
  char name[256];
  const mv_json *at = root;
  while (at && path && *path) {
    const char *slash = strchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    if (n >= sizeof name) return NULL;
    memcpy(name, path, n);
    name[n] = '\0';
    at = mv_json_get(at, name);
    path = slash ? slash + 1 : NULL;
  }
  return at;
}
