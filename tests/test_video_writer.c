/* The video writer: fps, codec and odd sizes as asked and read back, the
 * default encoder, frames after finish and finish without frames refused,
 * an unfinished file removed, unknown encoders and containers and bad sizes
 * and rates refused, and failures (missing folder, a file in the way, disk
 * full simulated with a file size limit) that name the file and leave
 * nothing behind. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>

#include "video_testing.h"

/* ---- the writer ------------------------------------------------------------------------- */

static void test_writer(void) {
  /* fps and codec as asked; frames come back in order */
  const char *path = mv_test_temp_path("thirty.mp4");
  mv_video_writer *w = NULL;
  mv_video_writer_options mpeg4 = {"mpeg4", 0, 0, 0};
  if (CHECK_OK(mv_video_writer_open(path, 161, 91, 30.0, &mpeg4, &w))) {
    CHECK(!strcmp(mv_video_writer_codec(w), "mpeg4"), "codec %s", mv_video_writer_codec(w));
    uint8_t *rgb = calloc(161 * 91 * 3, 1);
    for (int i = 0; i < 10; i++) {
      memset(rgb, i * 20, 161 * 91 * 3);
      CHECK_OK(mv_video_writer_add(w, rgb));
    }
    CHECK_OK(mv_video_writer_finish(w));
    CHECK_FAILS(mv_video_writer_add(w, rgb), MV_E_STATE);
    mv_video_writer_close(w);
    free(rgb);
    mv_video *v = open_video(path, 0, 0);
    if (v) {
      mv_video_info info;
      mv_video_get_info(v, &info);
      CHECK(info.frame_count == 10 && fabs(info.fps - 30.0) < 1e-6, "written: %d frames at %g fps",
            info.frame_count, info.fps);
      CHECK(info.source_width == 162 && info.source_height == 92, "odd size padded to %dx%d",
            info.source_width, info.source_height);
      const uint8_t *frame = NULL;
      if (CHECK_OK(mv_video_frame(v, 5, &frame)))
        CHECK(abs(frame[3 * (50 * info.width + 50)] - 100) <= 3, "frame 5 grey level %d",
              frame[3 * (50 * info.width + 50)]);
      mv_video_close(v);
    }
  }
  mv_video_writer_options none = {0};
  const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
  if (CHECK_OK(mv_video_writer_open(mv_test_temp_path("default.mkv"), 64, 64, 25, &none, &w))) {
    CHECK(!strcmp(mv_video_writer_codec(w), x264 ? "libx264" : "mpeg4"), "default encoder %s",
          mv_video_writer_codec(w));
    CHECK_FAILS(mv_video_writer_finish(w), MV_E_STATE); /* no frames */
    mv_video_writer_close(w);                          /* unfinished: removed */
    CHECK(!mv_test_file_exists(mv_test_temp_path("default.mkv")), "unfinished file removed");
  }

  mv_video_writer_options unknown = {"no-such-encoder", 0, 0, 0};
  CHECK_FAILS(mv_video_writer_open(mv_test_temp_path("x.mp4"), 64, 64, 25, &unknown, &w), MV_E_UNSUPPORTED);
  CHECK_FAILS(mv_video_writer_open(mv_test_temp_path("x.unknownext"), 64, 64, 25, NULL, &w),
              MV_E_UNSUPPORTED);
  CHECK_FAILS(mv_video_writer_open(mv_test_temp_path("x.mp4"), 0, 64, 25, NULL, &w), MV_E_ARGUMENT);
  CHECK_FAILS(mv_video_writer_open(mv_test_temp_path("x.mp4"), 64, 64, 0, NULL, &w), MV_E_ARGUMENT);
  CHECK_FAILS(mv_video_writer_open(mv_test_temp_path("x.mp4"), 64, 64, NAN, NULL, &w), MV_E_ARGUMENT);

  /* unwritable output folder: clear error, nothing created */
  const char *missing = mv_test_temp_path("missing-folder/out.mp4");
  CHECK_FAILS(mv_video_writer_open(missing, 64, 64, 25, NULL, &w), MV_E_IO);
  CHECK(contains(mv_error_message(), "missing-folder/out.mp4"), "names the file: %s", mv_error_message());
  CHECK(!mv_test_file_exists(mv_test_temp_path("missing-folder")), "no folder made");
  const char *notes = mv_test_temp_path("notes.mp4"), *words = "a file, not a folder\n";
  mv_test_write_file(notes, words, strlen(words));
  const char *not_folder = mv_test_temp_path("notes.mp4/out.mp4"); /* notes.mp4 is a file */
  CHECK_FAILS(mv_video_writer_open(not_folder, 64, 64, 25, NULL, &w), MV_E_IO);

  /* disk full (simulated with a file size limit): error, no file left */
  const char *folder = mv_test_temp_path("full");
  mkdir(folder, 0700);
  char out[4096];
  snprintf(out, sizeof out, "%s/export.mp4", folder);
  struct rlimit old, small;
  getrlimit(RLIMIT_FSIZE, &old);
  small = old;
  small.rlim_cur = 20000;
  void (*previous)(int) = signal(SIGXFSZ, SIG_IGN);
  if (CHECKED(setrlimit(RLIMIT_FSIZE, &small) == 0, "file size limit set")) {
    mv_status s = encode_pattern(out, NULL, N, GOP, 25.0);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(s == MV_E_IO, "disk full -> %s: %s", mv_status_name(s), mv_error_message());
    CHECK(contains(mv_error_message(), "export.mp4"), "message names the file");
    CHECK(mv_test_count_entries(folder) == 0, "nothing left in the folder (%d entries)", mv_test_count_entries(folder));
  }
  signal(SIGXFSZ, previous);
}

int main(void) {
  video_testing_start();
  test_writer();
  return video_testing_finish();
}
