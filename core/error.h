/* Internal error reporting: every failing function records a message for
 * mv_error_message() and returns its status. */
#ifndef MV_ERROR_H
#define MV_ERROR_H
#include "mivos.h"

#if defined(__GNUC__)
#define MV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MV_PRINTF(a, b)
#endif

/* Record a formatted message for the calling thread and return `status`. */
mv_status mv_fail(mv_status status, const char *fmt, ...) MV_PRINTF(2, 3);

/* Prefix the current message with more context ("loading s2m.pth: ..."),
 * returning `status` unchanged, so callers can add what they know. */
mv_status mv_fail_context(mv_status status, const char *fmt, ...) MV_PRINTF(2, 3);

/* Propagate a failing status from a call. */
#define MV_TRY(expr)                                                          \
  do {                                                                        \
    mv_status mv_try_status_ = (expr);                                        \
    if (mv_try_status_ != MV_OK) return mv_try_status_;                       \
  } while (0)

/* Argument validation that names the function and the argument. */
#define MV_CHECK_ARG(cond, ...)                                               \
  do {                                                                        \
    if (!(cond)) return mv_fail(MV_E_ARGUMENT, __VA_ARGS__);                  \
  } while (0)

#endif
