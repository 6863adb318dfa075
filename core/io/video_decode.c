/* Frames out of an open video: positioning (seek or rewind), decoding,
 * damage bookkeeping and conversion to upright RGB24 at the working size,
 * into the cache. video.c opens and probes; everything that runs when a
 * frame is asked for is here, so this file depends on nothing in video.c.
 *
 * Random access: the frame table (video_index.c) gives each frame's pts and
 * the key frames in decode order. Frame t is decoded from the last key
 * frame K that precedes it in decode order and is not after it in
 * presentation order; frames output before K (leading pictures of an open
 * GOP) are ignored. Going forward from the current decoder position is
 * preferred whenever seeking would not skip anything. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "error.h"
#include "io/av_error.h"
#include "io/video_internal.h"

static void note_bad(mv_video *v, int index) {
  if (v->first_bad < 0 || index < v->first_bad) v->first_bad = index;
}

/* A damaged or lost frame also spoils the frames decoded after it that may
 * reference it, up to the next key frame, some of which (B-frames) come
 * earlier in presentation order: the earliest of them is the first bad one. */
static void note_damage(mv_video *v, int index) {
  int first = index;
  if (v->entry_of_decode && !v->is_sequence) {
    for (int d = v->entries[index].decode_index + 1; d < v->count; d++) {
      int e = v->entry_of_decode[d];
      if (v->entries[e].key) break;
      if (e < first) first = e;
    }
  }
  note_bad(v, first);
}

/* ---- conversion --------------------------------------------------------------- */

static int sws_colorspace(int colorspace) {
  switch (colorspace) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_DEFAULT; /* BT.601, also what FFmpeg assumes when unspecified */
  }
}

/* The deprecated full-range "J" formats are their plain twins with full range. */
static int plain_format(int format, int *full_range) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P: *full_range = 1; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *full_range = 1; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *full_range = 1; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *full_range = 1; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: *full_range = 1; return AV_PIX_FMT_YUV411P;
    default: return format;
  }
}

static void rotate_rgb(const uint8_t *src, int sw, int sh, int rotation, uint8_t *dst) {
  /* dst is upright: for 90/270 it is sh wide and sw high. */
  if (rotation == 180) {
    size_t n = (size_t)sw * sh;
    for (size_t i = 0; i < n; i++) memcpy(dst + 3 * (n - 1 - i), src + 3 * i, 3);
    return;
  }
  int dw = sh, dh = sw;
  for (int r = 0; r < dh; r++) {
    uint8_t *out = dst + (size_t)r * dw * 3;
    for (int c = 0; c < dw; c++) {
      /* 90 clockwise: out(r,c) = in(sh-1-c, r); 270: out(r,c) = in(c, sw-1-r) */
      int sy = rotation == 90 ? sh - 1 - c : c;
      int sx = rotation == 90 ? r : sw - 1 - r;
      memcpy(out + 3 * (size_t)c, src + ((size_t)sy * sw + sx) * 3, 3);
    }
  }
}

/* A copy of the frame whose rows are padded (to a multiple of 64 pixels)
 * with their last pixel. swscale's SIMD converters work in blocks of 8 or
 * 16 pixels and read the bytes after a row's end: in a decoder's frame those
 * are uninitialised, which made the last columns of frames 854 pixels wide
 * change from one decode to the next. NULL when the frame can be used as it
 * is (width a multiple of 64, or a format these converters do not touch). */
static const AVFrame *padded_frame(mv_video *v, const AVFrame *f) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
  if (!d || (f->width & 63) == 0 ||
      (d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL)))
    return f;
  AVFrame *p = v->padded;
  int aligned = (f->width + 63) & ~63;
  if (p->format != f->format || p->width != aligned || p->height != f->height) {
    av_frame_unref(p);
    p->format = f->format;
    p->width = aligned;
    p->height = f->height;
    if (av_frame_get_buffer(p, 64) < 0) {
      av_frame_unref(p);
      return NULL;
    }
  }
  int planes = av_pix_fmt_count_planes(f->format);
  for (int i = 0; i < planes; i++) {
    int bytes = av_image_get_linesize(f->format, f->width, i);
    int step = 0; /* bytes per pixel in this plane */
    for (int c = 0; c < d->nb_components; c++)
      if (d->comp[c].plane == i && d->comp[c].step > step) step = d->comp[c].step;
    int chroma = (i == 1 || i == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
    int rows = chroma ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
    if (bytes <= 0 || step <= 0 || bytes > p->linesize[i]) return NULL;
    for (int y = 0; y < rows; y++) {
      const uint8_t *src = f->data[i] + (ptrdiff_t)y * f->linesize[i];
      uint8_t *dst = p->data[i] + (ptrdiff_t)y * p->linesize[i];
      memcpy(dst, src, (size_t)bytes);
      for (int x = bytes; x + step <= p->linesize[i]; x += step) memcpy(dst + x, src + bytes - step, (size_t)step);
    }
  }
  return p;
}

/* The colour matrix and range are set before the context is initialised,
 * so that swscale picks its converter knowing them (setting them after
 * sws_init_context left full-range JPEG frames with nondeterministic last
 * columns in the SIMD path). */
static struct SwsContext *make_scaler(int sw, int sh, int format, int dw, int dh, int flags,
                                      int colorspace, int full_range) {
  struct SwsContext *c = sws_alloc_context();
  if (!c) return NULL;
  int bad = av_opt_set_int(c, "srcw", sw, 0) < 0 || av_opt_set_int(c, "srch", sh, 0) < 0 ||
            av_opt_set_int(c, "src_format", format, 0) < 0 || av_opt_set_int(c, "dstw", dw, 0) < 0 ||
            av_opt_set_int(c, "dsth", dh, 0) < 0 ||
            av_opt_set_int(c, "dst_format", AV_PIX_FMT_RGB24, 0) < 0 ||
            av_opt_set_int(c, "sws_flags", flags, 0) < 0 ||
            av_opt_set_int(c, "src_range", full_range, 0) < 0 ||
            av_opt_set_int(c, "dst_range", 1, 0) < 0;
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
  if (!bad && desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3)
    sws_setColorspaceDetails(c, sws_getCoefficients(colorspace), full_range,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  if (bad || sws_init_context(c, NULL, NULL) < 0) {
    sws_freeContext(c);
    return NULL;
  }
  return c;
}

static mv_status convert_frame(mv_video *v, const AVFrame *f, int index, uint8_t *dst) {
  int pre_w = v->rotation % 180 ? v->height : v->width;
  int pre_h = v->rotation % 180 ? v->width : v->height;
  int full = f->color_range == AVCOL_RANGE_JPEG;
  int format = plain_format(f->format, &full);
  int cs = sws_colorspace(f->colorspace);
  const AVFrame *src = padded_frame(v, f);
  if (!src)
    return mv_fail(MV_E_MEMORY, "mv_video_frame: '%s' frame %d: out of memory", v->path, index);
  /* Without resizing, convert a width that is a multiple of 16 (the padded
   * columns) and keep the real ones: swscale's unscaled SIMD converters
   * compute the last columns of other widths nondeterministically for
   * full-range (JPEG) input. */
  int same_size = pre_w == f->width && pre_h == f->height;
  int conv_w = same_size && src != f ? (f->width + 15) & ~15 : f->width;
  int out_w = same_size ? conv_w : pre_w;
  if (!v->sws || v->sws_width != conv_w || v->sws_height != f->height ||
      v->sws_format != format || v->sws_colorspace != cs || v->sws_full_range != full) {
    sws_freeContext(v->sws);
    /* area averaging to shrink, bicubic to enlarge or keep the size. No
     * SWS_ACCURATE_RND or SWS_FULL_CHR_H_INT: both leave the SIMD yuv->rgb
     * path for a C one at half the speed, for +-1 differences (the ffmpeg
     * tool does without them too). */
    int flags = ((int64_t)pre_w * pre_h < (int64_t)f->width * f->height) ? SWS_AREA : SWS_BICUBIC;
    v->sws = make_scaler(conv_w, f->height, format, out_w, pre_h, flags, cs, full);
    if (!v->sws) {
      const char *name = av_get_pix_fmt_name(format);
      return mv_fail(MV_E_UNSUPPORTED,
                     "mv_video_frame: '%s' frame %d: cannot convert pixel format %s (%dx%d) to RGB",
                     v->path, index, name ? name : "?", f->width, f->height);
    }
    v->sws_width = conv_w, v->sws_height = f->height, v->sws_format = format;
    v->sws_colorspace = cs, v->sws_full_range = full;
  }
  uint8_t *out = v->rotation ? v->rotate_scratch : dst;
  uint8_t *target = out;
  if (out_w != pre_w) {
    size_t bytes = (size_t)out_w * pre_h * 3 + 64;
    if (v->wide_bytes < bytes) {
      free(v->wide_scratch);
      v->wide_scratch = malloc(bytes);
      v->wide_bytes = v->wide_scratch ? bytes : 0;
      if (!v->wide_scratch)
        return mv_fail(MV_E_MEMORY, "mv_video_frame: '%s' frame %d: out of memory", v->path, index);
    }
    target = v->wide_scratch;
  }
  uint8_t *planes[4] = {target, NULL, NULL, NULL};
  int strides[4] = {out_w * 3, 0, 0, 0};
  int rows = sws_scale(v->sws, (const uint8_t *const *)src->data, src->linesize, 0, f->height,
                       planes, strides);
  if (rows != pre_h)
    return mv_fail(MV_E_FORMAT, "mv_video_frame: '%s' frame %d: pixel conversion failed",
                   v->path, index);
  if (target != out)
    for (int y = 0; y < pre_h; y++)
      memcpy(out + (size_t)y * pre_w * 3, target + (size_t)y * out_w * 3, (size_t)pre_w * 3);
  if (v->rotation) rotate_rgb(out, pre_w, pre_h, v->rotation, dst);
  return MV_OK;
}

mv_status mv_video_cache_frame(mv_video *v, const AVFrame *f, int index) {
  uint8_t *dst = mv_frame_cache_put(v->cache, index, mv_video_frame_bytes(v));
  if (!dst)
    return mv_fail(MV_E_MEMORY, "mv_video_frame: '%s' frame %d: out of memory", v->path, index);
  mv_status s = convert_frame(v, f, index, dst);
  if (s != MV_OK) mv_frame_cache_remove(v->cache, index);
  return s;
}

static int frame_is_damaged(const AVFrame *f) {
  return (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
}

/* ---- container decoding ------------------------------------------------------------ */

/* Opening the demuxer and a decoder live here, not in video.c, because
 * decoding needs them again: rewind_input reopens the file when a seek
 * fails, mv_video_check opens a one-thread decoder. */
mv_status mv_video_open_format(mv_video *v, const char *fn, AVFormatContext **out) {
  char buf[128];
  AVFormatContext *fmt = avformat_alloc_context();
  if (!fmt) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  int ret = avformat_open_input(&fmt, v->path, NULL, NULL); /* frees fmt on failure */
  if (ret < 0) {
    if (ret == AVERROR(ENOENT) || ret == AVERROR(EACCES) || ret == AVERROR(EISDIR))
      return mv_fail(MV_E_IO, "%s: cannot open '%s': %s", fn, v->path, mv_av_error(ret, buf));
    return mv_fail(MV_E_FORMAT, "%s: '%s' is not a video FFmpeg can read: %s", fn, v->path,
                   mv_av_error(ret, buf));
  }
  *out = fmt;
  return MV_OK;
}

int mv_video_open_decoder(const AVStream *st, const AVCodec *codec, int threads,
                          AVCodecContext **out) {
  AVCodecContext *c = avcodec_alloc_context3(codec);
  if (!c) return AVERROR(ENOMEM);
  int ret = avcodec_parameters_to_context(c, st->codecpar);
  if (ret >= 0) {
    c->pkt_timebase = st->time_base;
    c->thread_count = threads;
    c->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    ret = avcodec_open2(c, codec, NULL);
  }
  if (ret < 0) avcodec_free_context(&c);
  *out = c;
  return ret;
}

static void reset_position(mv_video *v) {
  avcodec_flush_buffers(v->decoder);
  av_packet_unref(v->packet);
  v->input_eof = v->decoder_drained = 0;
  v->started = 0;
  v->pending = 0;
  v->flush_sent = 0;
}

/* Reads the next packet of the video stream into v->packet (0, or < 0 at
 * the end or on a read error). */
static int read_video_packet(mv_video *v) {
  for (;;) {
    int ret = av_read_frame(v->format, v->packet);
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret < 0) return ret;
    if (v->packet->stream_index == v->stream && v->packet->size > 0) return 0;
    av_packet_unref(v->packet);
  }
}

static int same_packet(const AVPacket *p, const mv_video_first *first) {
  if (p->pos >= 0 && first->pos >= 0) return p->pos == first->pos;
  if (p->dts != AV_NOPTS_VALUE && first->dts != AV_NOPTS_VALUE) return p->dts == first->dts;
  return p->pts == first->pts;
}

/* Back to the first packet: seek, verified; reopening the file if the seek
 * lands anywhere else. */
static mv_status rewind_input(mv_video *v) {
  reset_position(v);
  int ok = 0;
  int64_t ts = v->first.dts != AV_NOPTS_VALUE ? v->first.dts : v->first.pts;
  if (ts != AV_NOPTS_VALUE && av_seek_frame(v->format, v->stream, ts, AVSEEK_FLAG_BACKWARD) >= 0) {
    avcodec_flush_buffers(v->decoder);
    if (read_video_packet(v) == 0) {
      ok = same_packet(v->packet, &v->first);
      if (ok) v->pending = 1;
      else av_packet_unref(v->packet);
    }
  }
  if (!ok) {
    avformat_close_input(&v->format);
    MV_TRY(mv_video_open_format(v, "mv_video_frame", &v->format));
    if ((int)v->format->nb_streams <= v->stream) {
      int ret = avformat_find_stream_info(v->format, NULL);
      if (ret < 0 || (int)v->format->nb_streams <= v->stream)
        return mv_fail(MV_E_FORMAT, "mv_video_frame: '%s': cannot read the video stream again",
                       v->path);
    }
    for (unsigned i = 0; i < v->format->nb_streams; i++)
      if ((int)i != v->stream) v->format->streams[i]->discard = AVDISCARD_ALL;
  }
  v->valid_from = 0;
  v->next_index = 0;
  v->output_count = 0;
  v->started = 1;
  return MV_OK;
}

/* Key frame (position in key_decode) to start decoding `target` from, or -1. */
static int key_for(const mv_video *v, int target) {
  int d = v->entries[target].decode_index;
  int lo = 0, hi = v->key_count - 1, j = -1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (v->key_decode[mid] <= d) j = mid, lo = mid + 1;
    else hi = mid - 1;
  }
  while (j >= 0 && v->key_entry[j] > target) j--;
  return j;
}

/* Seeks so that decoding starts at key frame `key` or an earlier one;
 * returns 0 when the seek could not be verified. Demuxers index key frames
 * by pts (Matroska, MP4 with composition offsets) or by dts (AVI): by_dts
 * picks which to ask for; either way the landing point is checked. */
static int seek_to_key(mv_video *v, int key, int by_dts) {
  const mv_video_entry *e = &v->entries[v->key_entry[key]];
  reset_position(v);
  int64_t ts = e->pts;
  if (by_dts && e->dts != AV_NOPTS_VALUE && e->dts < ts) ts = e->dts;
  if (av_seek_frame(v->format, v->stream, ts, AVSEEK_FLAG_BACKWARD) < 0) return 0;
  avcodec_flush_buffers(v->decoder);
  for (int skipped = 0; skipped < 100000; skipped++) {
    if (read_video_packet(v) != 0) return 0;
    if (!(v->packet->flags & AV_PKT_FLAG_KEY)) {
      av_packet_unref(v->packet);
      continue;
    }
    int idx = v->packet->pts != AV_NOPTS_VALUE ? mv_video_find_pts(v, v->packet->pts) : -1;
    int decode_index = idx >= 0 ? v->entries[idx].decode_index : -1;
    if (decode_index > e->decode_index) { /* landed after it */
      av_packet_unref(v->packet);
      return 0;
    }
    v->pending = 1;
    v->valid_from = idx >= 0 ? idx : 0;
    v->next_index = v->valid_from;
    v->started = 1;
    return 1;
  }
  return 0;
}

/* Positions the decoder so that decoding forward reaches `target`. */
static mv_status position_for(mv_video *v, int target) {
  int can_continue = v->started && !v->decoder_drained && target >= v->next_index;
  if (!v->has_timestamps) return can_continue ? MV_OK : rewind_input(v);
  int key = key_for(v, target);
  if (can_continue && (key < 0 || v->key_entry[key] <= v->next_index)) return MV_OK;
  if (key >= 0 && (seek_to_key(v, key, 0) || seek_to_key(v, key, 1))) return MV_OK;
  for (int tries = 0; key > 0 && tries < 2; tries++)
    if (seek_to_key(v, --key, 1)) return MV_OK;
  return rewind_input(v);
}

/* Presentation index of a decoded frame, -1 when its timestamp is unknown. */
static int output_index(mv_video *v, const AVFrame *f) {
  if (!v->has_timestamps) return v->output_count++;
  int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
  if (ts == AV_NOPTS_VALUE) return -1;
  return mv_video_find_pts(v, ts);
}

/* Records frame `index` as output by the decoder; caches it when it is the
 * target or just before it (worth keeping for playback). */
static mv_status on_output(mv_video *v, const AVFrame *f, int index, int target, int convert,
                           int *done) {
  if (index < 0) {
    v->unmatched++;
    return MV_OK;
  }
  if (index < v->valid_from) return MV_OK; /* leading pictures of the key frame: not decodable */
  if (index >= v->next_index) {
    for (int k = v->next_index; k < index; k++) {
      if (v->entries[k].state == MV_FRAME_UNKNOWN) {
        v->entries[k].state = MV_FRAME_MISSING;
        note_damage(v, k);
      }
    }
    v->next_index = index + 1;
  }
  mv_video_entry *e = &v->entries[index];
  if (frame_is_damaged(f)) {
    e->state = MV_FRAME_DAMAGED;
    note_damage(v, index);
  } else if (e->state == MV_FRAME_UNKNOWN || e->state == MV_FRAME_MISSING) {
    e->state = MV_FRAME_OK;
  }
  if (convert) {
    size_t window = mv_frame_cache_capacity(v->cache) / 2 / mv_video_frame_bytes(v);
    int wanted = index == target ||
                 (index < target && (size_t)(target - index) <= window &&
                  !mv_frame_cache_contains(v->cache, index));
    if (wanted) MV_TRY(mv_video_cache_frame(v, f, index));
  }
  if (index >= target) *done = 1;
  return MV_OK;
}

/* Decodes forward until frame `target` has been output (or passed, or the
 * stream ended). convert = 0 only records frame states. */
static mv_status decode_until(mv_video *v, int target, int convert) {
  AVCodecContext *dec = v->decoder;
  int errors = 0;
  for (;;) {
    int ret = avcodec_receive_frame(dec, v->frame);
    if (ret >= 0) {
      int done = 0;
      mv_status s = on_output(v, v->frame, output_index(v, v->frame), target, convert, &done);
      av_frame_unref(v->frame);
      if (s != MV_OK || done) return s;
      continue;
    }
    if (ret == AVERROR_EOF || (ret == AVERROR(EAGAIN) && v->flush_sent)) {
      v->decoder_drained = 1;
      /* Nothing more will come: frames not output since the start point are lost. */
      int from = v->next_index > v->valid_from ? v->next_index : v->valid_from;
      for (int k = from; k < v->count; k++) {
        if (v->entries[k].state == MV_FRAME_UNKNOWN) {
          v->entries[k].state = MV_FRAME_MISSING;
          note_bad(v, k);
        }
      }
      return MV_OK;
    }
    if (ret != AVERROR(EAGAIN) && ++errors > 100000)
      return mv_fail(MV_E_FORMAT, "mv_video_frame: '%s': the decoder keeps failing", v->path);
    /* The decoder wants input. */
    if (!v->pending) {
      if (v->input_eof) {
        avcodec_send_packet(dec, NULL);
        v->flush_sent = 1;
        continue;
      }
      ret = read_video_packet(v);
      if (ret < 0) {
        v->input_eof = 1;
        continue;
      }
      v->pending = 1;
    }
    ret = avcodec_send_packet(dec, v->packet);
    if (ret == AVERROR(EAGAIN)) continue; /* keep the packet, collect output first */
    v->pending = 0;
    av_packet_unref(v->packet);
    /* Other errors: the packet is undecodable; its frame shows up as missing. */
  }
}

static mv_status frame_error(const mv_video *v, const char *fn, int index) {
  const mv_video_entry *e = &v->entries[index];
  if (index >= v->count - 1 && v->truncated)
    return mv_fail(MV_E_FORMAT,
                   "%s: '%s' frame %d could not be decoded: the file ends early (truncated?)",
                   fn, v->path, index);
  return mv_fail(MV_E_FORMAT, "%s: '%s' frame %d could not be decoded (%s data)", fn, v->path,
                 index, e->state == MV_FRAME_DAMAGED ? "damaged" : "corrupt or missing");
}

static mv_status fetch_container(mv_video *v, int target, const char *fn) {
  for (int attempt = 0; attempt < 2; attempt++) {
    v->unmatched = 0;
    MV_TRY(position_for(v, target));
    MV_TRY(decode_until(v, target, 1));
    if (mv_frame_cache_contains(v->cache, target)) return MV_OK;
    /* Frames that came out with timestamps the table does not know: number
     * frames by output order instead, from the start. */
    if (v->has_timestamps && v->unmatched > 0 && attempt == 0) {
      v->has_timestamps = 0;
      for (int i = 0; i < v->count; i++) v->entries[i].state = MV_FRAME_UNKNOWN;
      v->first_bad = v->truncated ? v->count : -1;
      v->started = 0;
      continue;
    }
    break;
  }
  if (v->entries[target].state == MV_FRAME_UNKNOWN) {
    v->entries[target].state = MV_FRAME_MISSING;
    note_bad(v, target);
  }
  return frame_error(v, fn, target);
}

/* ---- image sequences ---------------------------------------------------------------- */

static mv_status fetch_sequence(mv_video *v, int target, const char *fn) {
  mv_status s = mv_sequence_decode(v, target, v->frame);
  if (s == MV_OK) {
    mv_video_entry *e = &v->entries[target];
    if (frame_is_damaged(v->frame)) {
      e->state = MV_FRAME_DAMAGED;
      note_bad(v, target);
    } else {
      e->state = MV_FRAME_OK;
    }
    s = mv_video_cache_frame(v, v->frame, target);
    av_frame_unref(v->frame);
    return s;
  }
  av_frame_unref(v->frame);
  if (s == MV_E_MEMORY) return s;
  v->entries[target].state = MV_FRAME_MISSING;
  note_bad(v, target);
  return mv_fail_context(s, "%s: '%s' frame %d", fn, v->path, target);
}

/* ---- public: frames and the decoding check ------------------------------------------------ */

static mv_status get_frame(mv_video *v, int index, const uint8_t **rgb, const char *fn) {
  MV_CHECK_ARG(v, "%s: video is NULL", fn);
  MV_CHECK_ARG(index >= 0 && index < v->count, "%s: '%s' frame %d out of range 0..%d", fn,
               v->path, index, v->count - 1);
  const uint8_t *hit = mv_frame_cache_get(v->cache, index);
  if (!hit) {
    if (v->entries[index].state == MV_FRAME_MISSING) return frame_error(v, fn, index);
    MV_TRY(v->is_sequence ? fetch_sequence(v, index, fn) : fetch_container(v, index, fn));
    hit = mv_frame_cache_get(v->cache, index);
    if (!hit) return frame_error(v, fn, index);
  }
  *rgb = hit;
  return MV_OK;
}

mv_status mv_video_frame(mv_video *v, int index, const uint8_t **rgb) {
  MV_CHECK_ARG(rgb, "mv_video_frame: rgb is NULL");
  *rgb = NULL;
  return get_frame(v, index, rgb, "mv_video_frame");
}

mv_status mv_video_copy_frame(mv_video *v, int index, uint8_t *rgb) {
  MV_CHECK_ARG(rgb, "mv_video_copy_frame: rgb is NULL");
  const uint8_t *src = NULL;
  MV_TRY(get_frame(v, index, &src, "mv_video_copy_frame"));
  memcpy(rgb, src, mv_video_frame_bytes(v));
  return MV_OK;
}

mv_status mv_video_check(mv_video *v, int *first_bad_frame) {
  MV_CHECK_ARG(v && first_bad_frame, "mv_video_check: video or first_bad_frame is NULL");
  if (v->is_sequence) {
    for (int i = 0; i < v->count; i++) {
      if (v->entries[i].state != MV_FRAME_UNKNOWN) continue;
      mv_status s = mv_sequence_decode(v, i, v->frame);
      if (s == MV_E_MEMORY) return s;
      if (s != MV_OK) {
        v->entries[i].state = MV_FRAME_MISSING;
        note_bad(v, i);
      } else {
        v->entries[i].state = frame_is_damaged(v->frame) ? MV_FRAME_DAMAGED : MV_FRAME_OK;
        if (v->entries[i].state == MV_FRAME_DAMAGED) note_bad(v, i);
      }
      av_frame_unref(v->frame);
    }
  } else {
    /* One thread: frame threading can drop the decoder's error flags of
     * concealed frames, and this scan is the one meant to find them all. */
    AVCodecContext *threaded = v->decoder, *single = NULL;
    int ret = mv_video_open_decoder(v->format->streams[v->stream], threaded->codec, 1, &single);
    if (ret < 0) {
      char buf[128];
      return mv_fail(MV_E_MEMORY, "mv_video_check: '%s': cannot open a decoder: %s", v->path,
                     mv_av_error(ret, buf));
    }
    v->decoder = single;
    v->unmatched = 0;
    mv_status s = rewind_input(v);
    if (s == MV_OK) s = decode_until(v, v->count, 0);
    v->decoder = threaded;
    avcodec_free_context(&single);
    v->started = 0; /* the threaded decoder must seek before its next frame */
    MV_TRY(s);
  }
  mv_error_clear();
  *first_bad_frame = v->first_bad;
  return MV_OK;
}
