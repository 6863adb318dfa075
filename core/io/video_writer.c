/* Encoding RGB24 frames to a video file (overlay exports): libx264 when this
 * FFmpeg has it, else MPEG-4 Part 2, muxed by the container the file name
 * implies. The file is written under a temporary name through our own
 * AVIOContext (so write errors such as a full disk are caught) and renamed
 * by mv_video_writer_finish. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "error.h"
#include "io/atomic_file.h"
#include "io/av_error.h"

enum { MAX_SIDE = 16384, IO_BUFFER = 1 << 16 };

struct mv_video_writer {
  char *path;
  int width, height;          /* of the frames given */
  int enc_width, enc_height;  /* even, as 4:2:0 needs */
  int64_t frames;
  int finished, failed;
  mv_atomic_file *file;
  AVFormatContext *format;
  AVIOContext *io;
  AVCodecContext *encoder;
  AVStream *stream;
  AVFrame *frame;
  AVPacket *packet;
  struct SwsContext *sws;
  uint8_t *padded;            /* the frame copied with its last column and row
                                 repeated up to the stride and the even height */
  int stride;                 /* of padded, in pixels: a multiple of 64 */
  char codec[32];
};

static int io_write(void *opaque, uint8_t *buf, int size) {
  mv_atomic_file *f = opaque;
  if (mv_atomic_write(f, buf, (size_t)size) != 0) return AVERROR(f->write_errno ? f->write_errno : EIO);
  return size;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence) {
  mv_atomic_file *f = opaque;
  if (whence == AVSEEK_SIZE) {
    off_t here = ftello(f->fp);
    if (fseeko(f->fp, 0, SEEK_END) != 0) return AVERROR(errno);
    off_t size = ftello(f->fp);
    fseeko(f->fp, here, SEEK_SET);
    return size;
  }
  if (fseeko(f->fp, (off_t)offset, whence & ~AVSEEK_FORCE) != 0) return AVERROR(errno);
  return ftello(f->fp);
}

void mv_video_writer_close(mv_video_writer *w) {
  if (!w) return;
  if (w->format && w->format->pb == w->io) w->format->pb = NULL;
  if (w->io) {
    av_freep(&w->io->buffer);
    avio_context_free(&w->io);
  }
  avformat_free_context(w->format);
  avcodec_free_context(&w->encoder);
  av_frame_free(&w->frame);
  av_packet_free(&w->packet);
  sws_freeContext(w->sws);
  mv_atomic_abort(w->file); /* unfinished: nothing under the final name */
  free(w->padded);
  free(w->path);
  free(w);
}

const char *mv_video_writer_codec(const mv_video_writer *w) { return w ? w->codec : ""; }

static const AVCodec *choose_encoder(const char *name) {
  if (name && name[0]) return avcodec_find_encoder_by_name(name);
  const AVCodec *c = avcodec_find_encoder_by_name("libx264");
  return c ? c : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
}

mv_status mv_video_writer_open(const char *path, int width, int height, double fps,
                               const mv_video_writer_options *options, mv_video_writer **out) {
  const char *fn = "mv_video_writer_open";
  char buf[128];
  MV_CHECK_ARG(out, "%s: out is NULL", fn);
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "%s: path is NULL or empty", fn);
  MV_CHECK_ARG(width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE,
               "%s: size %dx%d out of range 1..%d (writing '%s')", fn, width, height, MAX_SIDE,
               path);
  MV_CHECK_ARG(isfinite(fps) && fps > 0 && fps <= 1000,
               "%s: fps %g out of range (0, 1000] (writing '%s')", fn, fps, path);
  /* Encoders (libx264) print statistics at FFmpeg's default INFO level;
   * errors reach the caller as statuses, so keep FFmpeg to warnings unless
   * the application chose a level itself. */
  if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_WARNING);
  mv_video_writer_options opt = {0};
  if (options) opt = *options;
  MV_CHECK_ARG(opt.quality >= 0 && opt.quality <= 63 && opt.gop >= 0 && opt.max_b_frames <= 16,
               "%s: options out of range (quality 0..63, gop >= 0, max_b_frames <= 16)", fn);

  const AVOutputFormat *container = av_guess_format(NULL, path, NULL);
  if (!container)
    return mv_fail(MV_E_UNSUPPORTED, "%s: no container for the file name '%s' (use .mp4, .mkv, .mov or .avi)",
                   fn, path);
  const AVCodec *codec = choose_encoder(opt.codec);
  if (!codec)
    return mv_fail(MV_E_UNSUPPORTED, "%s: no encoder '%s' in this FFmpeg (writing '%s')", fn,
                   opt.codec && opt.codec[0] ? opt.codec : "libx264 or mpeg4", path);
  if (codec->type != AVMEDIA_TYPE_VIDEO)
    return mv_fail(MV_E_UNSUPPORTED, "%s: '%s' is not a video encoder", fn, codec->name);
  if (avformat_query_codec(container, codec->id, FF_COMPLIANCE_NORMAL) == 0)
    return mv_fail(MV_E_UNSUPPORTED, "%s: the %s container cannot hold %s video (writing '%s')",
                   fn, container->name, codec->name, path);

  mv_video_writer *w = calloc(1, sizeof *w);
  if (!w) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  w->path = strdup(path);
  w->width = width, w->height = height;
  w->enc_width = (width + 1) & ~1, w->enc_height = (height + 1) & ~1;
  snprintf(w->codec, sizeof w->codec, "%s", codec->name);
  mv_status s = MV_OK;
  int x264 = strcmp(codec->name, "libx264") == 0;

  int ret = avformat_alloc_output_context2(&w->format, container, NULL, path);
  w->encoder = avcodec_alloc_context3(codec);
  w->frame = av_frame_alloc();
  w->packet = av_packet_alloc();
  /* swscale's SIMD input readers go past the end of a row: always convert
   * from our own copy, whose padding is defined. */
  w->stride = (w->enc_width + 63) & ~63;
  w->padded = malloc((size_t)w->stride * w->enc_height * 3 + 64);
  if (!w->path || ret < 0 || !w->encoder || !w->frame || !w->packet || !w->padded)
    s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);

  if (s == MV_OK) {
    AVCodecContext *c = w->encoder;
    AVRational rate = av_d2q(fps, 1000000);
    c->width = w->enc_width;
    c->height = w->enc_height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = av_inv_q(rate);
    c->framerate = rate;
    c->sample_aspect_ratio = (AVRational){1, 1};
    /* RGB is converted with BT.601 limited range: say so in the stream. */
    c->colorspace = AVCOL_SPC_SMPTE170M;
    c->color_range = AVCOL_RANGE_MPEG;
    c->color_primaries = AVCOL_PRI_SMPTE170M;
    c->color_trc = AVCOL_TRC_SMPTE170M;
    c->gop_size = opt.gop > 0 ? opt.gop : (x264 ? 250 : 12);
    c->max_b_frames = opt.max_b_frames < 0 ? 0 : opt.max_b_frames > 0 ? opt.max_b_frames : (x264 ? 3 : 2);
    if (x264) {
      av_opt_set(c->priv_data, "preset", "veryfast", 0);
      av_opt_set_double(c->priv_data, "crf", opt.quality > 0 ? opt.quality : 18, 0);
      if (opt.gop > 0) c->keyint_min = opt.gop; /* fixed GOP when one is asked for */
    } else if (!strncmp(codec->name, "libvpx", 6)) {
      /* libvpx defaults to a very slow mode; constant quality like x264 */
      av_opt_set(c->priv_data, "deadline", "realtime", 0);
      av_opt_set_int(c->priv_data, "cpu-used", 8, 0);
      av_opt_set_int(c->priv_data, "crf", opt.quality > 0 ? opt.quality : 24, 0);
      c->bit_rate = 0;
    } else {
      c->flags |= AV_CODEC_FLAG_QSCALE;
      c->global_quality = FF_QP2LAMBDA * (opt.quality > 0 ? (opt.quality > 31 ? 31 : opt.quality) : 3);
    }
    if (w->format->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(c, codec, NULL);
    if (ret < 0)
      s = mv_fail(MV_E_UNSUPPORTED, "%s: cannot open the %s encoder for %dx%d at %g fps: %s", fn,
                  codec->name, w->enc_width, w->enc_height, fps, mv_av_error(ret, buf));
  }
  if (s == MV_OK) {
    w->stream = avformat_new_stream(w->format, NULL);
    if (!w->stream) s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  if (s == MV_OK) {
    w->stream->time_base = w->encoder->time_base;
    w->stream->avg_frame_rate = w->encoder->framerate;
    ret = avcodec_parameters_from_context(w->stream->codecpar, w->encoder);
    if (ret < 0) s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  if (s == MV_OK) {
    w->frame->format = AV_PIX_FMT_YUV420P;
    w->frame->width = w->enc_width;
    w->frame->height = w->enc_height;
    ret = av_frame_get_buffer(w->frame, 0);
    w->sws = sws_getContext(w->enc_width, w->enc_height, AV_PIX_FMT_RGB24, w->enc_width,
                            w->enc_height, AV_PIX_FMT_YUV420P,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (ret < 0 || !w->sws) s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  }
  if (s == MV_OK) s = mv_atomic_open(fn, path, &w->file);
  if (s == MV_OK) {
    uint8_t *buffer = av_malloc(IO_BUFFER);
    w->io = buffer ? avio_alloc_context(buffer, IO_BUFFER, 1, w->file, NULL, io_write, io_seek) : NULL;
    if (!w->io) {
      av_free(buffer);
      s = mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
    } else {
      w->format->pb = w->io;
      ret = avformat_write_header(w->format, NULL);
      if (ret < 0)
        s = mv_fail(MV_E_IO, "%s: cannot start '%s': %s", fn, path, mv_av_error(ret, buf));
    }
  }
  if (s != MV_OK) {
    mv_video_writer_close(w);
    return s;
  }
  *out = w;
  return MV_OK;
}

/* Sends a frame (NULL at the end) and writes every packet that comes out. */
static mv_status encode(mv_video_writer *w, AVFrame *frame, const char *fn) {
  char buf[128];
  int ret = avcodec_send_frame(w->encoder, frame);
  if (ret < 0) {
    w->failed = 1;
    return mv_fail(MV_E_FORMAT, "%s: encoding frame %lld of '%s' failed: %s", fn,
                   (long long)w->frames, w->path, mv_av_error(ret, buf));
  }
  for (;;) {
    ret = avcodec_receive_packet(w->encoder, w->packet);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return MV_OK;
    if (ret < 0) {
      w->failed = 1;
      return mv_fail(MV_E_FORMAT, "%s: encoding '%s' failed: %s", fn, w->path,
                     mv_av_error(ret, buf));
    }
    av_packet_rescale_ts(w->packet, w->encoder->time_base, w->stream->time_base);
    w->packet->stream_index = w->stream->index;
    ret = av_interleaved_write_frame(w->format, w->packet);
    av_packet_unref(w->packet);
    if (ret < 0 || w->io->error < 0) {
      w->failed = 1;
      int err = w->file->write_errno;
      return mv_fail(MV_E_IO, "%s: writing '%s' failed at frame %lld: %s", fn, w->path,
                     (long long)w->frames, err ? strerror(err) : mv_av_error(ret < 0 ? ret : w->io->error, buf));
    }
  }
}

mv_status mv_video_writer_add(mv_video_writer *w, const uint8_t *rgb) {
  const char *fn = "mv_video_writer_add";
  MV_CHECK_ARG(w && rgb, "%s: writer or rgb is NULL", fn);
  if (w->finished || w->failed)
    return mv_fail(MV_E_STATE, "%s: '%s' is already %s", fn, w->path,
                   w->finished ? "finished" : "failed");
  size_t in_row = (size_t)w->width * 3, out_row = (size_t)w->stride * 3;
  for (int y = 0; y < w->enc_height; y++) {
    const uint8_t *s = rgb + (size_t)(y < w->height ? y : w->height - 1) * in_row;
    uint8_t *d = w->padded + (size_t)y * out_row;
    memcpy(d, s, in_row);
    for (size_t x = in_row; x < out_row; x += 3) memcpy(d + x, s + in_row - 3, 3);
  }
  const uint8_t *src = w->padded;
  char buf[128];
  int ret = av_frame_make_writable(w->frame);
  if (ret < 0) return mv_fail(MV_E_MEMORY, "%s: out of memory: %s", fn, mv_av_error(ret, buf));
  const uint8_t *planes[4] = {src, NULL, NULL, NULL};
  int strides[4] = {w->stride * 3, 0, 0, 0};
  sws_scale(w->sws, planes, strides, 0, w->enc_height, w->frame->data, w->frame->linesize);
  w->frame->pts = w->frames;
  MV_TRY(encode(w, w->frame, fn));
  w->frames++;
  return MV_OK;
}

mv_status mv_video_writer_finish(mv_video_writer *w) {
  const char *fn = "mv_video_writer_finish";
  char buf[128];
  MV_CHECK_ARG(w, "%s: writer is NULL", fn);
  if (w->finished) return mv_fail(MV_E_STATE, "%s: '%s' is already finished", fn, w->path);
  if (w->failed) return mv_fail(MV_E_STATE, "%s: '%s' failed earlier; nothing was written", fn, w->path);
  if (w->frames == 0)
    return mv_fail(MV_E_STATE, "%s: no frames were added to '%s'", fn, w->path);
  MV_TRY(encode(w, NULL, fn));
  int ret = av_write_trailer(w->format);
  avio_flush(w->io);
  if (ret < 0 || w->io->error < 0) {
    w->failed = 1;
    int err = w->file->write_errno;
    return mv_fail(MV_E_IO, "%s: writing '%s' failed: %s", fn, w->path,
                   err ? strerror(err) : mv_av_error(ret < 0 ? ret : w->io->error, buf));
  }
  mv_atomic_file *file = w->file;
  w->file = NULL;
  w->failed = 1; /* whatever the commit says, the writer is done */
  mv_status s = mv_atomic_commit(file);
  if (s == MV_OK) w->finished = 1;
  return s;
}
