/* Video input through libavformat/libavcodec/libswscale: opening and
 * probing (a container's video stream, decoder, rotation and frame table,
 * or an image sequence), the working size, and the video's info. Frames are
 * read by video_decode.c: it holds the decoding and seeking state machine
 * and the conversion, which run on every frame request, while this file
 * runs once per open; only this file calls into that one. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/display.h>

#include "error.h"
#include "io/av_error.h"
#include "io/video_internal.h"

enum { MAX_SIDE = 16384 };

void mv_video_options_default(mv_video_options *options) {
  if (!options) return;
  memset(options, 0, sizeof *options);
  options->short_side = MV_VIDEO_DEFAULT_SHORT_SIDE;
  options->cache_bytes = (size_t)MV_VIDEO_DEFAULT_CACHE_MIB << 20;
  options->sequence_fps = 25.0;
}

/* ---- geometry --------------------------------------------------------------- */

/* Clockwise degrees that make the stored picture upright (0/90/180/270). */
static int stream_rotation(AVStream *st) {
  double theta = 0;
  const int32_t *matrix =
      (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  if (matrix) {
    theta = -av_display_rotation_get(matrix); /* counter-clockwise -> clockwise */
  } else {
    AVDictionaryEntry *tag = av_dict_get(st->metadata, "rotate", NULL, 0);
    if (tag) theta = strtod(tag->value, NULL);
  }
  if (!isfinite(theta)) return 0;
  long quarter = lround(theta / 90.0);
  return (int)(((quarter % 4) + 4) % 4) * 90;
}

/* Shorter side -> short_side, the other rounded to nearest (aspect kept). */
static void working_size(int w, int h, int short_side, int *out_w, int *out_h) {
  if (short_side <= 0) {
    *out_w = w, *out_h = h;
  } else if (w <= h) {
    *out_w = short_side;
    *out_h = (int)(((int64_t)h * short_side * 2 + w) / (2 * (int64_t)w));
  } else {
    *out_h = short_side;
    *out_w = (int)(((int64_t)w * short_side * 2 + h) / (2 * (int64_t)h));
  }
  if (*out_w < 1) *out_w = 1;
  if (*out_h < 1) *out_h = 1;
}

/* ---- opening ------------------------------------------------------------------------- */

void mv_video_close(mv_video *v) {
  if (!v) return;
  avcodec_free_context(&v->decoder);
  avformat_close_input(&v->format);
  av_packet_free(&v->packet);
  av_frame_free(&v->frame);
  av_frame_free(&v->padded);
  free(v->wide_scratch);
  sws_freeContext(v->sws);
  mv_frame_cache_free(v->cache);
  if (v->files)
    for (int i = 0; i < v->count; i++) free(v->files[i]);
  free(v->files);
  free(v->entries);
  free(v->key_decode);
  free(v->key_entry);
  free(v->entry_of_decode);
  free(v->rotate_scratch);
  free(v->path);
  free(v);
}

static mv_status open_container(mv_video *v) {
  char buf[128];
  MV_TRY(mv_video_open_format(v, "mv_video_open", &v->format));
  int ret = avformat_find_stream_info(v->format, NULL);
  if (ret < 0)
    return mv_fail(MV_E_FORMAT, "mv_video_open: '%s': cannot read stream information: %s",
                   v->path, mv_av_error(ret, buf));
  int stream = -1;
  for (unsigned i = 0; i < v->format->nb_streams; i++) {
    AVStream *st = v->format->streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) continue; /* cover art */
    if (stream < 0) stream = (int)i;
  }
  int best = av_find_best_stream(v->format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (best >= 0 && !(v->format->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC))
    stream = best;
  if (stream < 0) return mv_fail(MV_E_FORMAT, "mv_video_open: '%s' has no video stream", v->path);
  v->stream = stream;
  AVStream *st = v->format->streams[stream];
  v->time_base = st->time_base;
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    return mv_fail(MV_E_UNSUPPORTED, "mv_video_open: '%s': no decoder for codec '%s' in this FFmpeg",
                   v->path, avcodec_get_name(st->codecpar->codec_id));
  snprintf(v->codec, sizeof v->codec, "%s", codec->name);
  ret = mv_video_open_decoder(st, codec, 0, &v->decoder);
  if (ret < 0)
    return mv_fail(MV_E_UNSUPPORTED, "mv_video_open: '%s': cannot open the %s decoder: %s",
                   v->path, codec->name, mv_av_error(ret, buf));
  v->source_width = st->codecpar->width;
  v->source_height = st->codecpar->height;
  if (v->source_width <= 0 || v->source_height <= 0)
    return mv_fail(MV_E_FORMAT, "mv_video_open: '%s': the frame size is unknown", v->path);
  v->rotation = stream_rotation(st);

  MV_TRY(mv_video_build_index(v));

  AVRational rate = st->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = st->r_frame_rate;
  if (rate.num > 0 && rate.den > 0) {
    v->fps = av_q2d(rate);
  } else if (v->has_timestamps && v->count > 1) {
    double span = (double)(v->entries[v->count - 1].pts - v->entries[0].pts) * av_q2d(v->time_base);
    v->fps = span > 0 ? (v->count - 1) / span : 25.0;
  } else {
    v->fps = 25.0;
  }
  return MV_OK;
}

mv_status mv_video_open(const char *path, const mv_video_options *options, mv_video **out) {
  MV_CHECK_ARG(out, "mv_video_open: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "mv_video_open: path is NULL or empty");
  mv_video_options opt;
  mv_video_options_default(&opt);
  if (options) {
    MV_CHECK_ARG(options->short_side >= 0 && options->short_side <= MAX_SIDE,
                 "mv_video_open: short_side %d out of range 0..%d (opening '%s')",
                 options->short_side, MAX_SIDE, path);
    MV_CHECK_ARG(options->sequence_fps >= 0 && options->sequence_fps <= 1000,
                 "mv_video_open: sequence_fps %g out of range 0..1000 (opening '%s')",
                 options->sequence_fps, path);
    opt.short_side = options->short_side;
    if (options->cache_bytes) opt.cache_bytes = options->cache_bytes;
    if (options->sequence_fps > 0) opt.sequence_fps = options->sequence_fps;
  }

  mv_video *v = calloc(1, sizeof *v);
  if (!v) return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
  v->first_bad = -1;
  v->stream = -1;
  v->path = strdup(path);
  v->packet = av_packet_alloc();
  v->frame = av_frame_alloc();
  v->padded = av_frame_alloc();
  if (!v->path || !v->packet || !v->frame || !v->padded) {
    mv_video_close(v);
    return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
  }

  mv_status s = mv_sequence_list(v, path, &v->is_sequence);
  if (s == MV_OK && !v->is_sequence) {
    struct stat st;
    if (stat(path, &st) != 0) {
      s = mv_fail(MV_E_IO, "mv_video_open: cannot open '%s': %s", path, strerror(errno));
    } else {
      s = open_container(v);
    }
  }
  if (s == MV_OK && v->is_sequence) {
    v->fps = opt.sequence_fps;
    v->entries = calloc((size_t)v->count, sizeof *v->entries);
    if (!v->entries) s = mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
    for (int i = 0; s == MV_OK && i < v->count; i++) v->entries[i].pts = i;
    /* The first picture gives the size. */
    if (s == MV_OK) s = mv_sequence_decode(v, 0, v->frame);
    if (s == MV_OK) {
      v->source_width = v->frame->width;
      v->source_height = v->frame->height;
    }
    if (s != MV_OK) s = mv_fail_context(s, "mv_video_open: first frame of '%s'", path);
  }
  if (s == MV_OK) {
    int upright_w = v->rotation % 180 ? v->source_height : v->source_width;
    int upright_h = v->rotation % 180 ? v->source_width : v->source_height;
    working_size(upright_w, upright_h, opt.short_side, &v->width, &v->height);
    if (v->width > MAX_SIDE || v->height > MAX_SIDE)
      s = mv_fail(MV_E_UNSUPPORTED, "mv_video_open: '%s': working size %dx%d is too large",
                  path, v->width, v->height);
  }
  if (s == MV_OK) {
    v->cache = mv_frame_cache_new(v->count, opt.cache_bytes);
    if (v->rotation) v->rotate_scratch = malloc(mv_video_frame_bytes(v) + 64);
    if (!v->cache || (v->rotation && !v->rotate_scratch))
      s = mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
  }
  if (s == MV_OK && v->is_sequence) {
    /* Keep the picture decoded for the size. */
    if (mv_video_cache_frame(v, v->frame, 0) == MV_OK) v->entries[0].state = MV_FRAME_OK;
    av_frame_unref(v->frame);
  }
  if (s != MV_OK) {
    mv_video_close(v);
    return s;
  }
  *out = v;
  return MV_OK;
}

mv_status mv_video_get_info(const mv_video *v, mv_video_info *info) {
  MV_CHECK_ARG(v && info, "mv_video_get_info: video or info is NULL");
  memset(info, 0, sizeof *info);
  info->frame_count = v->count;
  info->width = v->width;
  info->height = v->height;
  info->source_width = v->source_width;
  info->source_height = v->source_height;
  info->rotation = v->rotation;
  info->fps = v->fps;
  info->is_image_sequence = v->is_sequence;
  info->first_bad_frame = v->first_bad;
  info->cache_capacity = mv_frame_cache_capacity(v->cache);
  info->cache_used = mv_frame_cache_used(v->cache);
  snprintf(info->codec, sizeof info->codec, "%s", v->codec);
  return MV_OK;
}

int mv_video_frame_is_current(const mv_video *v, int index, const uint8_t *rgb) {
  return v && rgb && mv_frame_cache_peek(v->cache, index) == rgb;
}

mv_status mv_video_frame_time(const mv_video *v, int index, double *seconds) {
  MV_CHECK_ARG(v && seconds, "mv_video_frame_time: video or seconds is NULL");
  MV_CHECK_ARG(index >= 0 && index < v->count, "mv_video_frame_time: '%s' frame %d out of range 0..%d",
               v->path, index, v->count - 1);
  if (!v->is_sequence && v->has_timestamps) {
    *seconds = (double)(v->entries[index].pts - v->entries[0].pts) * av_q2d(v->time_base);
  } else {
    *seconds = index / (v->fps > 0 ? v->fps : 25.0);
  }
  return MV_OK;
}
