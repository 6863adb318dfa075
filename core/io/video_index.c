/* The first-open pass over a container: reads every packet of the video
 * stream without decoding and builds the frame table in presentation order
 * (pts, key-frame flags, decode ordinals). That is what makes the frame
 * count exact and lets random access seek by timestamp to a key frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io/av_error.h"
#include "io/video_internal.h"

static int by_pts(const void *a, const void *b) {
  const mv_video_entry *x = a, *y = b;
  if (x->pts != y->pts) return x->pts < y->pts ? -1 : 1;
  return x->decode_index - y->decode_index;
}

int mv_video_find_pts(const mv_video *v, int64_t pts) {
  int lo = 0, hi = v->count - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    int64_t p = v->entries[mid].pts;
    if (p == pts) return mid;
    if (p < pts) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/* The video stream's duration in seconds as the header declares it, 0 when
 * unknown (estimates from the bit rate do not count). */
static double declared_duration(const AVFormatContext *fmt, const AVStream *st) {
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    return (double)st->duration * av_q2d(st->time_base);
  AVDictionaryEntry *tag = av_dict_get(st->metadata, "DURATION", NULL, 0); /* Matroska */
  if (tag) {
    int h = 0, m = 0;
    double sec = 0;
    if (sscanf(tag->value, "%d:%d:%lf", &h, &m, &sec) == 3) return h * 3600.0 + m * 60.0 + sec;
  }
  if (fmt->nb_streams == 1 && fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0 &&
      fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE)
    return (double)fmt->duration / AV_TIME_BASE;
  return 0;
}

static int by_value(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* In a constant-frame-rate stream (at least 90% of the pts steps equal the
 * median step, within 2%), a step of twice the median or more means frames
 * were lost (e.g. a damaged cluster the demuxer skipped): the frame after
 * the hole is marked damaged. Variable-rate streams are left alone. */
static void flag_gaps(mv_video *v) {
  int n = v->count - 1;
  if (!v->has_timestamps || n < 4) return;
  int64_t *steps = malloc(sizeof *steps * (size_t)n);
  if (!steps) return;
  for (int i = 0; i < n; i++) steps[i] = v->entries[i + 1].pts - v->entries[i].pts;
  qsort(steps, (size_t)n, sizeof *steps, by_value);
  int64_t median = steps[n / 2];
  free(steps);
  if (median <= 0) return;
  int64_t slack = median / 50 + 1;
  int regular = 0;
  for (int i = 0; i < n; i++) {
    int64_t d = v->entries[i + 1].pts - v->entries[i].pts;
    regular += d >= median - slack && d <= median + slack;
  }
  if (regular * 10 < n * 9) return;
  for (int i = 0; i < n; i++) {
    int64_t d = v->entries[i + 1].pts - v->entries[i].pts;
    if (d >= 2 * median - slack) v->entries[i + 1].state = MV_FRAME_DAMAGED;
  }
}

mv_status mv_video_build_index(mv_video *v) {
  AVFormatContext *fmt = v->format;
  AVStream *st = fmt->streams[v->stream];
  for (unsigned i = 0; i < fmt->nb_streams; i++)
    if ((int)i != v->stream) fmt->streams[i]->discard = AVDISCARD_ALL;

  int capacity = 1024, count = 0, skipped = 0;
  mv_video_entry *entries = malloc(sizeof *entries * (size_t)capacity);
  if (!entries) return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory indexing '%s'", v->path);
  AVPacket *pkt = v->packet;
  int read_error = 0;
  v->first.pos = -2; /* not seen yet */
  v->first.dts = v->first.pts = AV_NOPTS_VALUE;
  for (;;) {
    int ret = av_read_frame(fmt, pkt);
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret < 0) {
      if (ret != AVERROR_EOF) read_error = ret;
      break;
    }
    if (pkt->stream_index != v->stream) {
      av_packet_unref(pkt);
      continue;
    }
    if (v->first.pos == -2 && pkt->size > 0) {
      v->first.pos = pkt->pos, v->first.dts = pkt->dts, v->first.pts = pkt->pts;
    }
    /* Packets the demuxer marks for decoding only (edit lists) and empty
     * ones (dropped frames) produce no picture. */
    if (pkt->size <= 0 || (pkt->flags & AV_PKT_FLAG_DISCARD)) {
      skipped++;
      av_packet_unref(pkt);
      continue;
    }
    if (count == capacity) {
      if (capacity > (1 << 28)) {
        av_packet_unref(pkt);
        free(entries);
        return mv_fail(MV_E_MEMORY, "mv_video_open: '%s' has too many frames", v->path);
      }
      mv_video_entry *grown = realloc(entries, sizeof *entries * (size_t)capacity * 2);
      if (!grown) {
        av_packet_unref(pkt);
        free(entries);
        return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory indexing '%s'", v->path);
      }
      entries = grown;
      capacity *= 2;
    }
    mv_video_entry *e = &entries[count];
    e->pts = pkt->pts;
    e->dts = pkt->dts;
    e->pos = pkt->pos;
    e->decode_index = count;
    e->key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    e->state = (pkt->flags & AV_PKT_FLAG_CORRUPT) ? MV_FRAME_DAMAGED : MV_FRAME_UNKNOWN;
    count++;
    av_packet_unref(pkt);
  }
  v->entries = entries;
  v->count = count;
  if (count == 0) {
    if (read_error) {
      char buf[128];
      return mv_fail(MV_E_FORMAT, "mv_video_open: '%s': no video frame could be read (%s)",
                     v->path, mv_av_error(read_error, buf));
    }
    return mv_fail(MV_E_FORMAT, "mv_video_open: '%s' contains no video frames", v->path);
  }

  /* Presentation order by pts when every frame has a distinct one; else the
   * decoder's output order is the frame order (frames numbered as output). */
  int has_pts = 1;
  for (int i = 0; i < count && has_pts; i++) has_pts = entries[i].pts != AV_NOPTS_VALUE;
  if (has_pts) {
    qsort(entries, (size_t)count, sizeof *entries, by_pts);
    for (int i = 1; i < count && has_pts; i++) has_pts = entries[i].pts != entries[i - 1].pts;
    if (!has_pts) { /* back to decode order */
      mv_video_entry *tmp = malloc(sizeof *tmp * (size_t)count);
      if (!tmp) return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory indexing '%s'", v->path);
      for (int i = 0; i < count; i++) tmp[entries[i].decode_index] = entries[i];
      memcpy(entries, tmp, sizeof *tmp * (size_t)count);
      free(tmp);
    }
  }
  v->has_timestamps = has_pts;

  /* Key frames in decode order with their presentation index. */
  int *by_decode = v->entry_of_decode = malloc(sizeof(int) * (size_t)count);
  v->key_decode = malloc(sizeof(int) * (size_t)count);
  v->key_entry = malloc(sizeof(int) * (size_t)count);
  if (!by_decode || !v->key_decode || !v->key_entry)
    return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory indexing '%s'", v->path);
  for (int i = 0; i < count; i++) by_decode[entries[i].decode_index] = i;
  v->key_count = 0;
  for (int d = 0; d < count; d++) {
    if (!entries[by_decode[d]].key) continue;
    v->key_decode[v->key_count] = d;
    v->key_entry[v->key_count] = by_decode[d];
    v->key_count++;
  }

  /* A file that ended on a read error, holds fewer frames than its header
   * says, or ends well before the duration its header declares, was cut
   * short: flag its end as bad. */
  int64_t declared = st->nb_frames;
  v->truncated = read_error != 0 || (declared > 0 && declared > (int64_t)count + skipped);
  if (!v->truncated && has_pts && count > 1) {
    double tb = av_q2d(st->time_base);
    double span = (double)(entries[count - 1].pts - entries[0].pts) * tb;
    double frame = span / (count - 1);
    double header = declared_duration(fmt, st);
    if (header > 0 && header > span + frame + (3 * frame > 0.2 ? 3 * frame : 0.2))
      v->truncated = 1;
  }
  flag_gaps(v);
  for (int i = 0; i < count; i++)
    if (entries[i].state == MV_FRAME_DAMAGED && (v->first_bad < 0 || i < v->first_bad))
      v->first_bad = i;
  if (v->truncated && v->first_bad < 0) v->first_bad = count;
  return MV_OK;
}
