#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAPACITY = 4096 };
static _Thread_local char last_message[MESSAGE_CAPACITY];

const char *mv_error_message(void) { return last_message; }

void mv_error_clear(void) { last_message[0] = '\0'; }

const char *mv_status_name(mv_status status) {
  switch (status) {
    case MV_OK: return "ok";
    case MV_E_ARGUMENT: return "invalid argument";
    case MV_E_IO: return "i/o error";
    case MV_E_FORMAT: return "bad format";
    case MV_E_MEMORY: return "out of memory";
    case MV_E_DEVICE: return "device error";
    case MV_E_UNSUPPORTED: return "unsupported";
    case MV_E_MISMATCH: return "mismatch";
    case MV_E_STATE: return "invalid state";
  }
  return "unknown status";
}

mv_status mv_fail(mv_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_message, sizeof last_message, fmt, ap);
  va_end(ap);
  return status;
}

mv_status mv_fail_context(mv_status status, const char *fmt, ...) {
  char previous[MESSAGE_CAPACITY];
  memcpy(previous, last_message, sizeof previous);
  char prefix[MESSAGE_CAPACITY / 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* The previous message is cut if both do not fit. */
  snprintf(last_message, sizeof last_message, "%s: %.*s", prefix, MESSAGE_CAPACITY / 2 - 3,
           previous);
  return status;
}
