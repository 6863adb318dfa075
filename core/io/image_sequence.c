/* Image sequences: a folder of .jpg/.png frames sorted by name (as the
 * official tool: the .jpg files when there are any, else the .png files;
 * hidden files skipped), or a printf-style pattern ("dir/%05d.jpg")
 * numbered from the first of 0..9 that exists. Each frame is one file,
 * decoded by libavcodec (MJPEG or PNG) when asked for. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "io/av_error.h"
#include "io/video_internal.h"

enum { MAX_FRAMES = 10000000, MAX_FILE_BYTES = 1 << 30 };

static int has_extension(const char *name, const char *ext) {
  size_t n = strlen(name), e = strlen(ext);
  return n > e && name[n - e - 1] == '.' && strcasecmp(name + n - e, ext) == 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static mv_status push_file(mv_video *v, int *capacity, char *file) {
  if (!file) return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
  if (v->count == *capacity) {
    int grown_capacity = *capacity ? *capacity * 2 : 256;
    char **grown = realloc(v->files, sizeof *grown * (size_t)grown_capacity);
    if (!grown) {
      free(file);
      return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
    }
    v->files = grown;
    *capacity = grown_capacity;
  }
  v->files[v->count++] = file;
  return MV_OK;
}

static char *join(const char *folder, const char *name) {
  size_t n = strlen(folder) + strlen(name) + 2;
  char *out = malloc(n);
  if (out) snprintf(out, n, "%s%s%s", folder, folder[strlen(folder) - 1] == '/' ? "" : "/", name);
  return out;
}

static mv_status list_folder(mv_video *v, const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return mv_fail(MV_E_IO, "mv_video_open: cannot list folder '%s': %s", path, strerror(errno));
  int capacity = 0, have_jpg = 0;
  mv_status s = MV_OK;
  struct dirent *d;
  /* Two kinds collected; the .png ones are dropped below if any .jpg exists. */
  while (s == MV_OK && (d = readdir(dir)) != NULL) {
    if (d->d_name[0] == '.') continue;
    int jpg = has_extension(d->d_name, "jpg") || has_extension(d->d_name, "jpeg");
    int png = has_extension(d->d_name, "png");
    if (!jpg && !png) continue;
    have_jpg |= jpg;
    char *file = join(path, d->d_name);
    s = push_file(v, &capacity, file);
    if (s == MV_OK && v->count > MAX_FRAMES)
      s = mv_fail(MV_E_UNSUPPORTED, "mv_video_open: folder '%s' has more than %d frames", path,
                  MAX_FRAMES);
  }
  closedir(dir);
  if (s != MV_OK) return s;
  if (have_jpg) {
    int kept = 0;
    for (int i = 0; i < v->count; i++) {
      if (has_extension(v->files[i], "png")) free(v->files[i]);
      else v->files[kept++] = v->files[i];
    }
    v->count = kept;
  }
  if (v->count == 0)
    return mv_fail(MV_E_FORMAT, "mv_video_open: folder '%s' contains no .jpg or .png frames", path);
  qsort(v->files, (size_t)v->count, sizeof *v->files, by_name);
  return MV_OK;
}

/* A pattern has exactly one %d conversion (%d, %5d, %05d) and otherwise
 * only "%%": then it is safe to give to snprintf. */
static int is_pattern(const char *path) {
  int conversions = 0;
  for (const char *p = path; *p; p++) {
    if (*p != '%') continue;
    if (p[1] == '%') {
      p++;
      continue;
    }
    const char *q = p + 1;
    if (*q == '0') q++;
    int digits = 0;
    while (*q >= '0' && *q <= '9' && digits < 3) q++, digits++;
    if (*q != 'd') return 0;
    conversions++;
    p = q;
  }
  return conversions == 1;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static mv_status list_pattern(mv_video *v, const char *pattern) {
  size_t size = strlen(pattern) + 32;
  char *name = malloc(size);
  if (!name) return mv_fail(MV_E_MEMORY, "mv_video_open: out of memory");
  int start = -1;
  for (int i = 0; i <= 9 && start < 0; i++) {
    snprintf(name, size, pattern, i);
    if (file_exists(name)) start = i;
  }
  int capacity = 0;
  mv_status s = MV_OK;
  for (int i = start; start >= 0 && s == MV_OK && v->count < MAX_FRAMES; i++) {
    snprintf(name, size, pattern, i);
    if (!file_exists(name)) break;
    s = push_file(v, &capacity, strdup(name));
  }
  free(name);
  if (s != MV_OK) return s;
  if (v->count == 0)
    return mv_fail(MV_E_IO, "mv_video_open: no file matches the pattern '%s' (numbers from 0..9 on)",
                   pattern);
  return MV_OK;
}

mv_status mv_sequence_list(mv_video *v, const char *path, int *is_sequence) {
  *is_sequence = 0;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return MV_OK; /* a file: a container */
    *is_sequence = 1;
    return list_folder(v, path);
  }
  if (!is_pattern(path)) return MV_OK;
  *is_sequence = 1;
  return list_pattern(v, path);
}

static mv_status read_file(const char *path, AVPacket *pkt) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return mv_fail(MV_E_IO, "cannot open '%s': %s", path, strerror(errno));
  mv_status s = MV_OK;
  long size = -1;
  if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
  if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
    s = mv_fail(MV_E_IO, "cannot read '%s': %s", path, strerror(errno));
  } else if (size == 0 || size > MAX_FILE_BYTES) {
    s = mv_fail(MV_E_FORMAT, "'%s' has %ld bytes, expected an image", path, size);
  } else if (av_new_packet(pkt, (int)size) < 0) {
    s = mv_fail(MV_E_MEMORY, "out of memory reading '%s'", path);
  } else if (fread(pkt->data, 1, (size_t)size, fp) != (size_t)size) {
    s = mv_fail(MV_E_IO, "cannot read '%s': %s", path, ferror(fp) ? strerror(errno) : "file shrank");
    av_packet_unref(pkt);
  }
  fclose(fp);
  return s;
}

mv_status mv_sequence_decode(mv_video *v, int index, AVFrame *frame) {
  const char *path = v->files[index];
  AVPacket *pkt = v->packet;
  MV_TRY(read_file(path, pkt));
  enum AVCodecID id = AV_CODEC_ID_NONE;
  if (pkt->size >= 3 && pkt->data[0] == 0xFF && pkt->data[1] == 0xD8 && pkt->data[2] == 0xFF)
    id = AV_CODEC_ID_MJPEG;
  else if (pkt->size >= 8 && !memcmp(pkt->data, "\x89PNG\r\n\x1a\n", 8))
    id = AV_CODEC_ID_PNG;
  if (id == AV_CODEC_ID_NONE) {
    av_packet_unref(pkt);
    return mv_fail(MV_E_FORMAT, "'%s' is neither a JPEG nor a PNG image", path);
  }
  const AVCodec *codec = avcodec_find_decoder(id);
  if (!codec) {
    av_packet_unref(pkt);
    return mv_fail(MV_E_UNSUPPORTED, "no %s decoder in this FFmpeg (for '%s')",
                   avcodec_get_name(id), path);
  }
  if (!v->codec[0]) snprintf(v->codec, sizeof v->codec, "%s", codec->name);
  AVCodecContext *ctx = avcodec_alloc_context3(codec);
  if (!ctx) {
    av_packet_unref(pkt);
    return mv_fail(MV_E_MEMORY, "out of memory decoding '%s'", path);
  }
  char buf[128];
  ctx->thread_count = 1;
  int ret = avcodec_open2(ctx, codec, NULL);
  if (ret >= 0) ret = avcodec_send_packet(ctx, pkt);
  av_packet_unref(pkt);
  if (ret >= 0) ret = avcodec_receive_frame(ctx, frame);
  if (ret == AVERROR(EAGAIN)) { /* decoders with delay: drain */
    avcodec_send_packet(ctx, NULL);
    ret = avcodec_receive_frame(ctx, frame);
  }
  avcodec_free_context(&ctx);
  if (ret < 0)
    return mv_fail(MV_E_FORMAT, "cannot decode '%s': %s", path, mv_av_error(ret, buf));
  return MV_OK;
}
