/* Reading video: the demo video against ffprobe and FFmpeg's own decoder,
 * videos this test encodes with the frame index drawn as a pattern
 * (B-frames, short GOPs, several containers and codecs) so that random
 * access is checked pixel-exactly against sequential decoding, variable
 * frame rate, rotation metadata, and the DAVIS JPEG sequence as a folder and
 * as a printf pattern. The ffmpeg/ffprobe command-line tools are used where
 * present for independent reference values; those checks are skipped (with
 * a message) when the tools are missing. Damaged and wrong inputs are in
 * test_video_damage.c, the writer in test_video_writer.c. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "video_testing.h"

/* ---- the demo video ----------------------------------------------------------------- */

static void test_example_video(void) {
  const char *path = mv_shared_path("data/example.mp4");
  mv_video *v = NULL;
  if (!CHECK_OK(mv_video_open(path, NULL, &v))) return;
  mv_video_info info;
  CHECK_OK(mv_video_get_info(v, &info));
  CHECK(!info.is_image_sequence && info.rotation == 0, "example: not a sequence, no rotation");
  CHECK(!strcmp(info.codec, "h264"), "example: codec %s", info.codec);
  CHECK(info.cache_capacity == (size_t)MV_VIDEO_DEFAULT_CACHE_MIB << 20, "default cache bound");
  /* default working size: shorter side 480, which this 640x480 video already has */
  CHECK(info.width == info.source_width && info.height == info.source_height &&
            info.height == 480, "example: working size %dx%d", info.width, info.height);

  if (have_ffprobe) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=nb_read_frames,width,height,avg_frame_rate -of csv=p=0 '%s'", path);
    FILE *p = popen(cmd, "r");
    int w = 0, h = 0, rate_num = 0, rate_den = 1, frames = 0;
    int fields = p ? fscanf(p, "%d,%d,%d/%d,%d", &w, &h, &rate_num, &rate_den, &frames) : 0;
    if (p) pclose(p);
    CHECK(fields == 5, "ffprobe output parsed (%d fields)", fields);
    CHECK(info.frame_count == frames, "example: %d frames, ffprobe counts %d", info.frame_count,
          frames);
    CHECK(info.source_width == w && info.source_height == h, "example: %dx%d, ffprobe %dx%d",
          info.source_width, info.source_height, w, h);
    CHECK(rate_den > 0 && fabs(info.fps - (double)rate_num / rate_den) < 1e-6,
          "example: fps %g, ffprobe %d/%d", info.fps, rate_num, rate_den);
  } else {
    printf("SKIP: ffprobe not found; frame count and size of example.mp4 not compared\n");
  }

  uint64_t *hashes = calloc((size_t)info.frame_count, sizeof *hashes);
  CHECK(decode_all(v, hashes, NULL) == info.frame_count, "example: every frame decodes");
  mv_video_get_info(v, &info);
  CHECK(info.first_bad_frame == -1, "example: no bad frame (%d)", info.first_bad_frame);
  CHECK(info.cache_used <= info.cache_capacity, "cache within its bound");

  /* Frames agree with FFmpeg's own decoder (colour conversion may round differently). */
  size_t bytes = (size_t)info.width * info.height * 3;
  uint8_t *ref = malloc(bytes), *ours = malloc(bytes);
  if (have_ffmpeg) {
    int probe[] = {0, info.frame_count / 2, info.frame_count - 1};
    for (int k = 0; k < 3; k++) {
      if (ffmpeg_frame(path, probe[k], ref, bytes) != 0) {
        CHECK(0, "ffmpeg decoded frame %d", probe[k]);
        continue;
      }
      CHECK_OK(mv_video_copy_frame(v, probe[k], ours));
      double d = mean_abs_diff(ours, ref, bytes);
      CHECK(d < 3.0, "example frame %d: mean |ours - ffmpeg| = %.3f", probe[k], d);
    }
    /* and differs from a neighbour by much more: the index is the right one */
    if (ffmpeg_frame(path, 60, ref, bytes) == 0) {
      CHECK_OK(mv_video_copy_frame(v, 60, ours));
      double same = mean_abs_diff(ours, ref, bytes);
      CHECK_OK(mv_video_copy_frame(v, 62, ours));
      double other = mean_abs_diff(ours, ref, bytes);
      CHECK(other > same * 1.5 && other > same + 0.5, "frame 60 matches 60 (%.2f) better than 62 (%.2f)",
            same, other);
    }
  } else {
    printf("SKIP: ffmpeg not found; frames of example.mp4 not compared with FFmpeg's\n");
  }
  mv_video_close(v);

  /* Random access without a cache gives the same pixels as sequential decoding. */
  v = open_video(path, 480, 1);
  if (v) {
    int order[] = {7, 116, 45}; /* forward, to the last frame, then back (one key frame) */
    for (int k = 0; k < 3; k++) {
      const uint8_t *rgb = NULL;
      if (CHECK_OK(mv_video_frame(v, order[k], &rgb)))
        CHECK(hash_bytes(rgb, bytes) == hashes[order[k]], "example random access frame %d",
              order[k]);
    }
    mv_video_get_info(v, &info);
    CHECK(info.cache_used == bytes, "a 1-byte cache keeps exactly one frame (%zu)", info.cache_used);
    mv_video_close(v);
  }
  free(hashes);
  free(ref);
  free(ours);
}

/* ---- self-encoded pattern videos --------------------------------------------------- */

static void check_pattern_video(const char *path, const char *what, int frames) {
  mv_video *v = open_video(path, 0, 1); /* native size, no cache: every access decodes */
  if (!v) return;
  mv_video_info info;
  mv_video_get_info(v, &info);
  CHECK(info.frame_count == frames, "%s: %d frames (want %d)", what, info.frame_count, frames);
  CHECK(info.width == W && info.height == H, "%s: %dx%d", what, info.width, info.height);
  CHECK(fabs(info.fps - 25.0) < 1e-6, "%s: fps %g", what, info.fps);
  uint64_t hashes[N];
  int indices[N];
  if (info.frame_count != frames || frames > N) {
    mv_video_close(v);
    return;
  }
  CHECK(decode_all(v, hashes, indices) == frames, "%s: sequential decode", what);
  int order_ok = 1;
  for (int i = 0; i < frames; i++) order_ok &= indices[i] == i;
  CHECK(order_ok, "%s: frame i shows pattern i (presentation order)", what);
  double t = -1;
  CHECK_OK(mv_video_frame_time(v, frames - 1, &t));
  CHECK(fabs(t - (frames - 1) / 25.0) < 1e-3, "%s: last frame at %.4f s", what, t);

  /* A fixed pseudo-random order, then backwards: identical pixels. */
  int mismatches = 0;
  uint64_t state = 12345;
  size_t bytes = (size_t)W * H * 3;
  for (int k = 0; k < 24; k++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    int i = (int)((state >> 33) % (uint64_t)frames);
    const uint8_t *rgb = NULL;
    if (mv_video_frame(v, i, &rgb) != MV_OK || hash_bytes(rgb, bytes) != hashes[i]) mismatches++;
  }
  for (int i = frames - 1; i >= 0; i -= 5) {
    const uint8_t *rgb = NULL;
    if (mv_video_frame(v, i, &rgb) != MV_OK || hash_bytes(rgb, bytes) != hashes[i]) mismatches++;
  }
  CHECK(mismatches == 0, "%s: random access equals sequential (%d mismatches)", what, mismatches);
  mv_video_close(v);

  /* Working size 120: 160x120, random access equal to sequential too. */
  v = open_video(path, 120, (size_t)160 * 120 * 3 * 4);
  if (!v) return;
  mv_video_get_info(v, &info);
  CHECK(info.width == 160 && info.height == 120, "%s: short side 120 gives %dx%d", what,
        info.width, info.height);
  uint64_t small[N];
  CHECK(decode_all(v, small, indices) == frames, "%s: sequential decode at 160x120", what);
  CHECK(info.cache_capacity == (size_t)160 * 120 * 3 * 4, "cache bound as asked");
  mv_video_get_info(v, &info);
  CHECK(info.cache_used <= info.cache_capacity, "%s: cache used %zu <= %zu", what,
        info.cache_used, info.cache_capacity);
  int idx_ok = 1;
  for (int i = 0; i < frames; i++) idx_ok &= indices[i] == i;
  CHECK(idx_ok, "%s: patterns readable at 160x120", what);
  mismatches = 0;
  for (int i = frames - 2; i >= 0; i -= 7) {
    const uint8_t *rgb = NULL;
    if (mv_video_frame(v, i, &rgb) != MV_OK || hash_bytes(rgb, 160 * 120 * 3) != small[i])
      mismatches++;
  }
  CHECK(mismatches == 0, "%s: random access at 160x120 (%d mismatches)", what, mismatches);
  mv_video_close(v);
}

static void test_pattern_videos(void) {
  struct {
    const char *file, *codec;
  } cases[] = {
      {"pattern.mp4", NULL},          /* libx264 (B-frames), else mpeg4 */
      {"pattern.mkv", "libx264"},
      {"pattern.avi", "mpeg4"},       /* MPEG-4 Part 2 with B-frames in AVI */
      {"pattern.mov", "mpeg4"},
      {"pattern.webm", "libvpx-vp9"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    if (cases[k].codec && !avcodec_find_encoder_by_name(cases[k].codec)) {
      printf("SKIP: no %s encoder for %s\n", cases[k].codec, cases[k].file);
      continue;
    }
    const char *path = mv_test_temp_path(cases[k].file);
    if (!CHECK_OK(encode_pattern(path, cases[k].codec, N, GOP, 25.0))) continue;
    check_pattern_video(path, cases[k].file, N);
  }
}

/* ---- variable frame rate and rotation (made with the ffmpeg tool) ------------------------ */

static void test_variable_frame_rate(void) {
  if (!have_ffmpeg) {
    printf("SKIP: ffmpeg not found; no variable-frame-rate file\n");
    return;
  }
  const char *src = mv_test_temp_path("pattern.mkv");
  const char *dst = mv_test_temp_path("vfr.mkv");
  char cmd[4096];
  /* frame n at (n + n^2/64) / 25 s: every step differs */
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -nostdin -y -i '%s' -vf \"setpts='(N+N*N/64)/25/TB'\" -fps_mode vfr "
           "-c:v libx264 -preset veryfast -g 12 '%s' || ffmpeg -v error -nostdin -y -i '%s' -vf "
           "\"setpts='(N+N*N/64)/25/TB'\" -vsync vfr -c:v mpeg4 -g 12 '%s'",
           src, dst, src, dst);
  if (!CHECKED(mv_test_file_exists(src) && run(cmd), "ffmpeg made a VFR file")) return;
  mv_video *v = open_video(dst, 0, 1);
  if (!v) return;
  mv_video_info info;
  mv_video_get_info(v, &info);
  CHECK(info.frame_count == N, "vfr: %d frames", info.frame_count);
  int indices[N];
  uint64_t hashes[N];
  if (info.frame_count == N) {
    CHECK(decode_all(v, hashes, indices) == N, "vfr: sequential decode");
    int ok = 1, irregular = 0;
    double previous = -1, first_step = -1;
    for (int i = 0; i < N; i++) {
      ok &= indices[i] == i;
      double t = 0;
      mv_video_frame_time(v, i, &t);
      double want = (i + i * i / 64.0) / 25.0;
      ok &= fabs(t - want) <= 0.041 && t > previous;
      if (i == 1) first_step = t - previous;
      if (i > 1 && fabs((t - previous) - first_step) > 1e-3) irregular = 1;
      previous = t;
    }
    CHECK(ok, "vfr: frame i shows pattern i at its own timestamp");
    CHECK(irregular, "vfr: the steps between frames vary");
    int mismatches = 0;
    for (int i = N - 1; i >= 0; i -= 9) {
      const uint8_t *rgb = NULL;
      if (mv_video_frame(v, i, &rgb) != MV_OK || hash_bytes(rgb, (size_t)W * H * 3) != hashes[i])
        mismatches++;
    }
    CHECK(mismatches == 0, "vfr: random access equals sequential");
  }
  mv_video_close(v);
}

static void rotate_reference(const uint8_t *src, int sw, int sh, int rotation, uint8_t *dst) {
  int dw = rotation % 180 ? sh : sw;
  for (int y = 0; y < sh; y++)
    for (int x = 0; x < sw; x++) {
      int dx, dy;
      if (rotation == 90) dx = sh - 1 - y, dy = x;          /* clockwise */
      else if (rotation == 270) dx = y, dy = sw - 1 - x;
      else if (rotation == 180) dx = sw - 1 - x, dy = sh - 1 - y;
      else dx = x, dy = y;
      memcpy(dst + 3 * ((size_t)dy * dw + dx), src + 3 * ((size_t)y * sw + x), 3);
    }
}

static void test_rotation(void) {
  if (!have_ffmpeg) {
    printf("SKIP: ffmpeg not found; no rotated file\n");
    return;
  }
  const char *src = mv_test_temp_path("pattern.mp4");
  const char *dst = mv_test_temp_path("rotated.mp4");
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -nostdin -y -i '%s' -c copy -metadata:s:v:0 rotate=90 '%s'", src, dst);
  if (!CHECKED(mv_test_file_exists(src) && run(cmd), "ffmpeg made a rotated file")) return;
  mv_video *plain = open_video(src, 0, 0), *rotated = open_video(dst, 0, 0);
  if (plain && rotated) {
    mv_video_info pi, ri;
    mv_video_get_info(plain, &pi);
    mv_video_get_info(rotated, &ri);
    CHECK(ri.rotation == 90 || ri.rotation == 270, "rotation %d", ri.rotation);
    CHECK(ri.width == pi.height && ri.height == pi.width && ri.source_width == W,
          "rotated: %dx%d from source %dx%d", ri.width, ri.height, ri.source_width,
          ri.source_height);
    size_t bytes = (size_t)W * H * 3;
    uint8_t *a = malloc(bytes), *b = malloc(bytes), *ref = malloc(bytes);
    CHECK_OK(mv_video_copy_frame(plain, 17, a));
    CHECK_OK(mv_video_copy_frame(rotated, 17, b));
    rotate_reference(a, W, H, ri.rotation, ref);
    CHECK(memcmp(b, ref, bytes) == 0, "rotated frame = the plain frame turned by %d", ri.rotation);
    /* the same way round as FFmpeg's own autorotation */
    if (ffmpeg_frame(dst, 17, ref, bytes) == 0) {
      double d = mean_abs_diff(b, ref, bytes);
      CHECK(d < 3.0, "rotated frame vs ffmpeg's autorotation: mean diff %.3f", d);
    } else {
      CHECK(0, "ffmpeg decoded the rotated file");
    }
    free(a);
    free(b);
    free(ref);
    /* working size applies to the upright frame: 240 wide -> 120 wide */
    mv_video *small = open_video(dst, 120, 0);
    if (small) {
      mv_video_get_info(small, &ri);
      CHECK(ri.width == 120 && ri.height == 160, "rotated at short side 120: %dx%d", ri.width,
            ri.height);
      const uint8_t *rgb = NULL;
      CHECK_OK(mv_video_frame(small, 3, &rgb));
      mv_video_close(small);
    }
  }
  mv_video_close(plain);
  mv_video_close(rotated);
}

/* ---- DAVIS JPEG sequence ------------------------------------------------------------------ */

static void test_davis_sequence(void) {
  const char *folder = mv_shared_path("data/davis2016/JPEGImages/480p/blackswan");
  int jpgs = 0;
  DIR *d = opendir(folder);
  if (!CHECKED(d != NULL, "DAVIS folder %s exists", folder)) return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".jpg")) jpgs++;
  closedir(d);

  mv_video *v = open_video(folder, 480, 0);
  if (!v) return;
  mv_video_info info;
  mv_video_get_info(v, &info);
  CHECK(info.is_image_sequence, "folder opens as an image sequence");
  CHECK(info.frame_count == jpgs && jpgs > 0, "sequence: %d frames, %d .jpg files",
        info.frame_count, jpgs);
  CHECK(info.width == 854 && info.height == 480, "sequence: %dx%d", info.width, info.height);
  CHECK(fabs(info.fps - 25.0) < 1e-9, "sequence default fps 25");
  size_t bytes = (size_t)info.width * info.height * 3;
  uint64_t *hashes = calloc((size_t)info.frame_count, sizeof *hashes);
  CHECK(decode_all(v, hashes, NULL) == info.frame_count, "sequence decodes");

  char pattern[4096];
  snprintf(pattern, sizeof pattern, "%s/%%05d.jpg", folder);
  mv_video *p = open_video(pattern, 480, 1);
  if (p) {
    mv_video_info pinfo;
    mv_video_get_info(p, &pinfo);
    CHECK(pinfo.frame_count == info.frame_count, "pattern: %d frames", pinfo.frame_count);
    int differ = 0, first = -1;
    for (int i = info.frame_count - 1; i >= 0; i -= 7) {
      const uint8_t *rgb = NULL;
      if (mv_video_frame(p, i, &rgb) != MV_OK || hash_bytes(rgb, bytes) != hashes[i]) differ++, first = i;
    }
    CHECK(differ == 0, "pattern frames equal folder frames (%d differ, e.g. %d)", differ, first);
    mv_video_close(p);
  }

  if (have_ffmpeg) {
    char file[4096];
    snprintf(file, sizeof file, "%s/00010.jpg", folder);
    uint8_t *ref = malloc(bytes), *ours = malloc(bytes);
    if (CHECKED(ffmpeg_frame(file, 0, ref, bytes) == 0, "ffmpeg decoded 00010.jpg")) {
      CHECK_OK(mv_video_copy_frame(v, 10, ours));
      double diff = mean_abs_diff(ours, ref, bytes);
      CHECK(diff < 3.0, "frame 10 vs ffmpeg: mean diff %.3f", diff);
    }
    free(ref);
    free(ours);
  }
  mv_video_close(v);

  mv_video_options opt;
  mv_video_options_default(&opt);
  opt.short_side = 240;
  opt.sequence_fps = 24;
  CHECK_OK(mv_video_open(folder, &opt, &v));
  if (v) {
    mv_video_get_info(v, &info);
    CHECK(info.width == 427 && info.height == 240, "short side 240: %dx%d", info.width, info.height);
    CHECK(fabs(info.fps - 24.0) < 1e-9, "sequence fps as asked");
    const uint8_t *rgb = NULL;
    CHECK_OK(mv_video_frame(v, 3, &rgb));
    mv_video_close(v);
  }
  free(hashes);
}

int main(void) {
  video_testing_start();
  test_example_video();
  test_pattern_videos();
  test_variable_frame_rate();
  test_rotation();
  test_davis_sequence();
  return video_testing_finish();
}
