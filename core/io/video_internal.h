/* Internal state of mv_video, shared by video.c (opening and probing),
 * video_decode.c (seeking, decoding, conversion, cache), video_index.c (the
 * packet pass that builds the frame table) and image_sequence.c (folders
 * and printf patterns of still images). */
#ifndef MV_VIDEO_INTERNAL_H
#define MV_VIDEO_INTERNAL_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "io/frame_cache.h"
#include "mivos.h"

enum {
  MV_FRAME_UNKNOWN = 0, /* not decoded yet */
  MV_FRAME_OK = 1,
  MV_FRAME_DAMAGED = 2, /* decoded with errors concealed */
  MV_FRAME_MISSING = 3  /* the decoder produced nothing for it */
};

/* One frame, in presentation order. */
typedef struct mv_video_entry {
  int64_t pts;          /* stream time base (or the decode ordinal without timestamps) */
  int64_t dts;          /* of its packet, AV_NOPTS_VALUE when unknown */
  int64_t pos;          /* byte position of its packet, -1 when unknown */
  int32_t decode_index; /* its packet's ordinal in decode order */
  uint8_t key;          /* its packet is a key frame */
  uint8_t state;        /* MV_FRAME_* */
} mv_video_entry;

/* The first packet of the video stream, to recognise the start after a seek. */
typedef struct mv_video_first {
  int64_t pos, dts, pts;
} mv_video_first;

struct mv_video {
  char *path;
  int is_sequence;
  int width, height;          /* working size (after rotation) */
  int source_width, source_height, rotation;
  double fps;
  int count;
  int first_bad;              /* -1 when none found */
  mv_video_entry *entries;    /* count, presentation order */
  mv_frame_cache *cache;
  char codec[32];

  /* conversion: swscale to the pre-rotation size, then rotation */
  struct SwsContext *sws;
  int sws_width, sws_height, sws_format, sws_colorspace, sws_full_range;
  uint8_t *rotate_scratch;
  AVFrame *padded;            /* the frame with its rows padded for swscale */
  uint8_t *wide_scratch;      /* RGB of the padded width, before cropping */
  size_t wide_bytes;

  /* container input */
  AVFormatContext *format;
  AVCodecContext *decoder;
  AVPacket *packet;
  AVFrame *frame;
  int stream;
  AVRational time_base;
  int has_timestamps;         /* every frame has a distinct pts: seek by key frames */
  int *key_decode;            /* decode ordinals of key frames, ascending */
  int *key_entry;             /* their presentation index (or -1) */
  int *entry_of_decode;       /* presentation index of each decode ordinal */
  int key_count;
  int truncated;              /* the packet pass ended on an error, not at EOF */
  mv_video_first first;
  /* decoder position */
  int input_eof, decoder_drained;
  int next_index;             /* presentation index expected next from the decoder */
  int valid_from;             /* frames before it (after a seek) are ignored */
  int output_count;           /* frames output since the start (without timestamps) */
  int started;                /* the decoder has been fed since the last seek */
  int pending;                /* v->packet holds a packet not yet sent */
  int flush_sent;             /* the end of input was signalled to the decoder */
  int unmatched;              /* frames output with a timestamp not in the table */

  /* image sequences */
  char **files;
};

/* video_index.c: reads every packet of the video stream (no decoding) and
 * fills entries, count, key_decode/key_entry, has_timestamps, truncated. */
mv_status mv_video_build_index(mv_video *video);
/* Presentation index of a timestamp, -1 when not in the table. */
int mv_video_find_pts(const mv_video *video, int64_t pts);

/* image_sequence.c */
/* Lists the frames of a folder or printf pattern into video->files/count;
 * returns 0 with *is_sequence = 0 when `path` is neither. */
mv_status mv_sequence_list(mv_video *video, const char *path, int *is_sequence);
/* Decodes file `index` into `frame` (its first picture). */
mv_status mv_sequence_decode(mv_video *video, int index, AVFrame *frame);

/* video_decode.c (video.c opens and probes, then calls these; nothing
 * here calls into video.c) */
/* avformat_open_input of video->path; `fn` names the caller in failures. */
mv_status mv_video_open_format(mv_video *video, const char *fn, AVFormatContext **out);
/* A decoder for the stream (threads = 0: one per core, frame and slice
 * threading); an AVERROR code < 0 on failure, with *out NULL. */
int mv_video_open_decoder(const AVStream *stream, const AVCodec *codec, int threads,
                          AVCodecContext **out);
/* Converts a decoded frame into the cache under `index`. */
mv_status mv_video_cache_frame(mv_video *video, const AVFrame *frame, int index);

/* Bytes of one RGB24 frame at the working size. */
static inline size_t mv_video_frame_bytes(const mv_video *video) {
  return (size_t)video->width * video->height * 3;
}

#endif
