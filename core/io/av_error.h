/* FFmpeg's error texts, for the video reader and writer (its own file so
 * that the video files do not depend on each other for it). */
#ifndef MV_AV_ERROR_H
#define MV_AV_ERROR_H

/* FFmpeg's text for an AVERROR code, written into `buffer`, which is returned. */
const char *mv_av_error(int code, char buffer[128]);

#endif
