/* Damaged and wrong video inputs: pattern videos cut in the middle (mkv,
 * mp4 with its index at the end and in front), bytes flipped inside a key
 * frame, a broken JPEG in a sequence; missing, empty, text, audio-only,
 * zero-frame and unsupported-codec files, empty folders and bad arguments.
 * Failures come with a message naming the file (and the frame), frames
 * before the damage stay intact, and decoding resumes after it where it can.
 * Readable inputs are in test_video.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video_testing.h"

static int copy_truncated(const char *src, const char *dst, double fraction, int flip_bytes) {
  FILE *f = fopen(src, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)size);
  size_t got = fread(data, 1, (size_t)size, f);
  fclose(f);
  if ((long)got != size) return -1;
  long keep = (long)(size * fraction);
  for (int i = 0; i < flip_bytes; i++) data[size / 2 + i] ^= 0xFF;
  int rc = mv_test_write_file(dst, data, (size_t)keep);
  free(data);
  return rc;
}

/* Copies src to dst with `count` bytes inverted in the middle of the
 * `nth` key-frame packet at or after decode position `from`; *key receives
 * that frame's decode position (= its presentation index in a closed GOP). */
static int corrupt_key_packet(const char *src, const char *dst, int from, int count, int *key) {
  AVFormatContext *f = NULL;
  if (avformat_open_input(&f, src, NULL, NULL) < 0) return -1;
  AVPacket *p = av_packet_alloc();
  int64_t pos = -1;
  int size = 0;
  for (int n = 0; av_read_frame(f, p) >= 0; n++) {
    if (n >= from && (p->flags & AV_PKT_FLAG_KEY) && p->pos > 0 && pos < 0) {
      pos = p->pos, size = p->size, *key = n;
    }
    av_packet_unref(p);
  }
  av_packet_free(&p);
  avformat_close_input(&f);
  if (pos < 0 || size < 4 * count) return -1;
  size_t total = 0;
  FILE *in = fopen(src, "rb");
  if (!in) return -1;
  fseek(in, 0, SEEK_END);
  total = (size_t)ftell(in);
  fseek(in, 0, SEEK_SET);
  uint8_t *data = malloc(total);
  size_t got = fread(data, 1, total, in);
  fclose(in);
  for (int i = 0; i < count; i++) data[pos + size / 2 + i] ^= 0xFF;
  int rc = got == total ? mv_test_write_file(dst, data, total) : -1;
  free(data);
  return rc;
}

/* The clean pattern videos the damage starts from, made here in this test's
 * own folder as test_video makes them (and checks that they encode). One
 * that does not encode is said here; the cases on it are passed over. */
static void encode_clean_inputs(void) {
  const char *files[] = {"pattern.mkv", "pattern.mp4"}, *codecs[] = {"libx264", NULL};
  for (int k = 0; k < 2; k++)
    if (encode_pattern(mv_test_temp_path(files[k]), codecs[k], N, GOP, 25.0) != MV_OK)
      printf("NOTE: %s not encoded (%s); the damage cases on it are passed over\n", files[k],
             mv_error_message());
}

/* ---- damaged and wrong inputs ---------------------------------------------------------- */

static void test_truncated_and_corrupt(void) {
  const char *clean = mv_test_temp_path("pattern.mkv");
  if (!mv_test_file_exists(clean)) return;
  uint64_t hashes[N];
  mv_video *v = open_video(clean, 0, 0);
  if (!v) return;
  CHECK(decode_all(v, hashes, NULL) == N, "clean mkv decodes");
  mv_video_close(v);
  size_t bytes = (size_t)W * H * 3;

  /* Cut in the middle: what is there decodes; the end is reported. */
  const char *cut = mv_test_temp_path("cut.mkv");
  CHECK(copy_truncated(clean, cut, 0.5, 0) == 0, "truncated copy");
  v = open_video(cut, 0, 0);
  if (v) {
    mv_video_info info;
    mv_video_get_info(v, &info);
    CHECK(info.frame_count > 0 && info.frame_count < N, "cut mkv: %d frames", info.frame_count);
    CHECK(info.first_bad_frame >= 0 && info.first_bad_frame <= info.frame_count,
          "cut mkv: the truncation is reported (first bad %d)", info.first_bad_frame);
    int same = 1, failures_named = 1, good = 0;
    for (int i = 0; i < info.frame_count; i++) {
      const uint8_t *rgb = NULL;
      mv_status s = mv_video_frame(v, i, &rgb);
      if (s == MV_OK) {
        good++;
        if (i < info.frame_count - 2) same &= hash_bytes(rgb, bytes) == hashes[i];
      } else {
        char want[64];
        snprintf(want, sizeof want, "frame %d", i);
        failures_named &= contains(mv_error_message(), "cut.mkv") && contains(mv_error_message(), want);
      }
    }
    CHECK(good >= info.frame_count - 2, "cut mkv: %d of %d frames decode", good, info.frame_count);
    CHECK(same, "cut mkv: frames before the cut equal the clean file's");
    CHECK(failures_named, "cut mkv: failures name the file and frame");
    mv_video_close(v);
  }

  /* An mp4 whose index (moov) is at the end: cut, it cannot be opened. */
  const char *mp4 = mv_test_temp_path("pattern.mp4");
  const char *cut_mp4 = mv_test_temp_path("cut.mp4");
  if (mv_test_file_exists(mp4) && copy_truncated(mp4, cut_mp4, 0.5, 0) == 0) {
    mv_video *bad = NULL;
    CHECK_FAILS(mv_video_open(cut_mp4, NULL, &bad), MV_E_FORMAT);
    CHECK(contains(mv_error_message(), "cut.mp4"), "message names the file: %s", mv_error_message());
    CHECK(bad == NULL, "no object on failure");
  }
  /* With the index in front (faststart), the frames after the cut fail by name. */
  if (have_ffmpeg && mv_test_file_exists(mp4)) {
    const char *fast = mv_test_temp_path("fast.mp4"), *fast_cut = mv_test_temp_path("fast_cut.mp4");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -nostdin -y -i '%s' -c copy -movflags +faststart '%s'",
             mp4, fast);
    if (CHECKED(run(cmd), "ffmpeg made a faststart mp4") && copy_truncated(fast, fast_cut, 0.5, 0) == 0) {
      v = open_video(fast_cut, 0, 0);
      if (v) {
        mv_video_info info;
        mv_video_get_info(v, &info);
        CHECK(info.first_bad_frame >= 0 && info.first_bad_frame <= info.frame_count,
              "faststart cut: truncation reported (first bad %d of %d)", info.first_bad_frame,
              info.frame_count);
        int first_fail = -1, ok_before = 1;
        for (int i = 0; i < info.frame_count; i++) {
          const uint8_t *rgb = NULL;
          if (mv_video_frame(v, i, &rgb) != MV_OK) {
            if (first_fail < 0) {
              first_fail = i;
              char want[64];
              snprintf(want, sizeof want, "frame %d", i);
              CHECK(contains(mv_error_message(), "fast_cut.mp4") && contains(mv_error_message(), want),
                    "failure names file and frame: %s", mv_error_message());
            }
          } else if (first_fail < 0 && i + 2 < info.first_bad_frame) {
            ok_before &= hash_bytes(rgb, bytes) == hashes[i];
          }
        }
        CHECK(ok_before, "faststart cut: frames before the damage are intact");
        mv_video_close(v);
      }
    }
  }

  /* Bytes flipped in the middle of the file, inside the key frame there (an
   * I-frame: damage the decoder can see; flips elsewhere in CABAC data may
   * decode silently into wrong pixels, which no reader can notice). The
   * damage is reported, frames before it are intact, and decoding resumes
   * at the next key frame. */
  const char *flipped = mv_test_temp_path("flipped.mkv");
  int key = -1;
  CHECK(corrupt_key_packet(clean, flipped, N / 2, 32, &key) == 0 && key > 0,
        "flipped copy (key frame at decode position %d)", key);
  v = open_video(flipped, 0, 0);
  if (v && key > 0) {
    int first_bad = -2;
    CHECK_OK(mv_video_check(v, &first_bad));
    mv_video_info info;
    mv_video_get_info(v, &info);
    CHECK(info.frame_count == N, "flipped: %d frames", info.frame_count);
    CHECK(first_bad >= key && first_bad < key + GOP && info.first_bad_frame == first_bad,
          "flipped: first bad frame %d (damaged key frame %d)", first_bad, key);
    int same = 1, named = 1, decoded = 0, recovered = 1;
    for (int i = 0; i < info.frame_count; i++) {
      const uint8_t *rgb = NULL;
      if (mv_video_frame(v, i, &rgb) == MV_OK) {
        decoded++;
        if (i < first_bad) same &= hash_bytes(rgb, bytes) == hashes[i];
        if (i >= key + GOP) recovered &= hash_bytes(rgb, bytes) == hashes[i];
      } else {
        char want[64];
        snprintf(want, sizeof want, "frame %d", i);
        named &= contains(mv_error_message(), "flipped.mkv") && contains(mv_error_message(), want);
        if (i >= key + GOP) recovered = 0;
      }
    }
    CHECK(same, "flipped: frames before the first bad one equal the clean file's");
    CHECK(recovered, "flipped: frames after the next key frame equal the clean file's");
    CHECK(named, "flipped: failures name the file and the frame");
    CHECK(decoded >= N - GOP, "flipped: %d frames decoded", decoded);
  }
  mv_video_close(v);

  /* A damaged JPEG in a sequence: that frame fails by name, the others decode. */
  const char *seq = mv_test_temp_path("seq");
  mkdir(seq, 0700);
  char file[4096], src[4096];
  for (int i = 0; i < 3; i++) {
    snprintf(src, sizeof src, "%s/%05d.jpg", mv_shared_path("data/davis2016/JPEGImages/480p/blackswan"), i);
    snprintf(file, sizeof file, "%s/%05d.jpg", seq, i);
    copy_truncated(src, file, i == 1 ? 0.01 : 1.0, 0);
  }
  v = open_video(seq, 480, 0);
  if (v) {
    const uint8_t *rgb = NULL;
    CHECK_OK(mv_video_frame(v, 0, &rgb));
    CHECK_OK(mv_video_frame(v, 2, &rgb));
    mv_status s = mv_video_frame(v, 1, &rgb);
    /* a JPEG cut to 1% may still give a concealed picture; if not, it fails by name */
    if (s != MV_OK) {
      CHECK(s == MV_E_FORMAT && contains(mv_error_message(), "00001.jpg") &&
                contains(mv_error_message(), "frame 1"), "broken jpg named: %s", mv_error_message());
    }
    mv_video_info info;
    mv_video_get_info(v, &info);
    CHECK(info.first_bad_frame == 1, "broken jpg is the first bad frame (%d)", info.first_bad_frame);
    mv_video_close(v);
  }
}

/* A file with a video stream and no packets, written through libavformat. */
static int write_packetless(const char *path, enum AVCodecID id, int packets) {
  AVFormatContext *f = NULL;
  if (avformat_alloc_output_context2(&f, NULL, NULL, path) < 0) return -1;
  AVStream *st = avformat_new_stream(f, NULL);
  st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
  st->codecpar->codec_id = id;
  st->codecpar->width = 64;
  st->codecpar->height = 48;
  st->time_base = (AVRational){1, 25};
  int rc = -1;
  if (avio_open(&f->pb, path, AVIO_FLAG_WRITE) >= 0 && avformat_write_header(f, NULL) >= 0) {
    for (int i = 0; i < packets; i++) {
      AVPacket *p = av_packet_alloc();
      av_new_packet(p, 100);
      memset(p->data, i, 100);
      p->pts = p->dts = i;
      p->flags = AV_PKT_FLAG_KEY;
      av_interleaved_write_frame(f, p);
      av_packet_free(&p);
    }
    rc = av_write_trailer(f) >= 0 ? 0 : -1;
  }
  avio_closep(&f->pb);
  avformat_free_context(f);
  return rc;
}

static void test_wrong_inputs(void) {
  mv_video *v = (mv_video *)1;
  CHECK_FAILS(mv_video_open("/nonexistent/clip.mp4", NULL, &v), MV_E_IO);
  CHECK(contains(mv_error_message(), "/nonexistent/clip.mp4"), "missing: %s", mv_error_message());
  CHECK(v == NULL, "out cleared on failure");
  CHECK_FAILS(mv_video_open(NULL, NULL, &v), MV_E_ARGUMENT);
  CHECK_FAILS(mv_video_open("x.mp4", NULL, NULL), MV_E_ARGUMENT);
  mv_video_options bad_opt = {-1, 0, 0};
  CHECK_FAILS(mv_video_open(mv_shared_path("data/example.mp4"), &bad_opt, &v), MV_E_ARGUMENT);

  const char *text = mv_test_temp_path("notes.mp4");
  const char *words = "this is not a video, only a few words of text\n";
  mv_test_write_file(text, words, strlen(words));
  CHECK_FAILS(mv_video_open(text, NULL, &v), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "notes.mp4"), "text file: %s", mv_error_message());

  const char *empty = mv_test_temp_path("empty.mkv");
  mv_test_write_file(empty, "", 0);
  CHECK_FAILS(mv_video_open(empty, NULL, &v), MV_E_FORMAT);

  /* audio only: a WAV file with one second of silence */
  uint8_t wav[44 + 16000] = {0};
  uint32_t data_size = 16000, riff = 36 + data_size, fmt_size = 16, rate = 8000, byte_rate = 16000;
  uint16_t pcm = 1, channels = 1, align = 2, bits = 16;
  memcpy(wav, "RIFF", 4), memcpy(wav + 4, &riff, 4), memcpy(wav + 8, "WAVEfmt ", 8);
  memcpy(wav + 16, &fmt_size, 4), memcpy(wav + 20, &pcm, 2), memcpy(wav + 22, &channels, 2);
  memcpy(wav + 24, &rate, 4), memcpy(wav + 28, &byte_rate, 4), memcpy(wav + 32, &align, 2);
  memcpy(wav + 34, &bits, 2), memcpy(wav + 36, "data", 4), memcpy(wav + 40, &data_size, 4);
  const char *audio = mv_test_temp_path("silence.wav");
  mv_test_write_file(audio, wav, sizeof wav);
  CHECK_FAILS(mv_video_open(audio, NULL, &v), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "no video stream"), "audio only: %s", mv_error_message());

  const char *zero = mv_test_temp_path("zero.avi");
  if (CHECKED(write_packetless(zero, AV_CODEC_ID_MPEG4, 0) == 0, "zero-frame avi written")) {
    CHECK_FAILS(mv_video_open(zero, NULL, &v), MV_E_FORMAT);
    CHECK(contains(mv_error_message(), "zero.avi") && contains(mv_error_message(), "no video frames"),
          "zero frames: %s", mv_error_message());
  }

  if (!avcodec_find_decoder(AV_CODEC_ID_AVS2)) {
    const char *avs2 = mv_test_temp_path("avs2.mkv");
    if (CHECKED(write_packetless(avs2, AV_CODEC_ID_AVS2, 3) == 0, "AVS2 mkv written")) {
      CHECK_FAILS(mv_video_open(avs2, NULL, &v), MV_E_UNSUPPORTED);
      CHECK(contains(mv_error_message(), "avs2.mkv") && contains(mv_error_message(), "avs2"),
            "unsupported codec: %s", mv_error_message());
    }
  } else {
    printf("SKIP: this FFmpeg decodes AVS2; no unsupported-codec file at hand\n");
  }

  const char *folder = mv_test_temp_path("no_frames");
  mkdir(folder, 0700);
  CHECK_FAILS(mv_video_open(folder, NULL, &v), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "no_frames"), "empty folder: %s", mv_error_message());
  char pattern[4096];
  snprintf(pattern, sizeof pattern, "%s/%%05d.jpg", folder);
  CHECK_FAILS(mv_video_open(pattern, NULL, &v), MV_E_IO);

  v = open_video(mv_test_temp_path("pattern.mkv"), 0, 0);
  if (v) {
    const uint8_t *rgb = NULL;
    CHECK_FAILS(mv_video_frame(v, N, &rgb), MV_E_ARGUMENT);
    CHECK_FAILS(mv_video_frame(v, -1, &rgb), MV_E_ARGUMENT);
    CHECK_FAILS(mv_video_frame(v, 0, NULL), MV_E_ARGUMENT);
    CHECK_FAILS(mv_video_copy_frame(v, 0, NULL), MV_E_ARGUMENT);
    mv_video_close(v);
  }
  mv_video_close(NULL);
}

int main(void) {
  video_testing_start();
  encode_clean_inputs();
  test_truncated_and_corrupt();
  test_wrong_inputs();
  return video_testing_finish();
}
