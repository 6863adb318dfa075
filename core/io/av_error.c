#include "io/av_error.h"

#include <stdio.h>

#include <libavutil/error.h>

const char *mv_av_error(int code, char buffer[128]) {
  if (av_strerror(code, buffer, 128) < 0) snprintf(buffer, 128, "FFmpeg error %d", code);
  return buffer;
}
