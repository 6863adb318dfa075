/* Video input and the video writer: the demo video against ffprobe, a DAVIS
 * JPEG sequence, videos this test encodes with the frame index drawn as a
 * pattern (B-frames, short GOPs, several containers) so that random access
 * is checked pixel-exactly against sequential decoding, variable frame
 * rate, rotation metadata, corrupted / truncated / empty / wrong files, and
 * writer failures (missing folder, file size limit) leaving no file behind.
 * The ffmpeg/ffprobe command-line tools are used where present for
 * independent reference values; those checks are skipped (with a message)
 * when the tools are missing. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "testutil.h"

/* CHECK that also gives the outcome, for checks that guard what follows. */
static int checked_;
#define CHECKED(cond, ...) \
  (checked_ = !!(cond), mv_test_check(checked_, __FILE__, __LINE__, __VA_ARGS__), checked_)

enum { W = 320, H = 240, N = 64, GOP = 12, CELLS = 8 };

static int have_ffmpeg, have_ffprobe;

/* ---- helpers ---------------------------------------------------------------------- */

/* Frame i: a moving colour gradient (so P/B-frames carry motion) under a
 * band of CELLS black/white cells holding the bits of i. */
static void pattern_frame(int i, int w, int h, uint8_t *rgb) {
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + 3 * ((size_t)y * w + x);
      if (y < h / 4) {
        int bit = (i >> (x * CELLS / w)) & 1;
        p[0] = p[1] = p[2] = bit ? 235 : 16;
      } else {
        p[0] = (uint8_t)(x + 3 * i);
        p[1] = (uint8_t)(y * 2 - i);
        p[2] = (uint8_t)((x + y) / 2 + 5 * i);
      }
    }
  }
}

static int pattern_index(const uint8_t *rgb, int w, int h) {
  int value = 0;
  for (int c = 0; c < CELLS; c++) {
    int cx = c * w / CELLS + w / (2 * CELLS), cy = h / 8, sum = 0;
    for (int dy = -2; dy <= 2; dy++)
      for (int dx = -2; dx <= 2; dx++) {
        const uint8_t *p = rgb + 3 * ((size_t)(cy + dy) * w + cx + dx);
        sum += p[0] + p[1] + p[2];
      }
    if (sum / 75 > 128) value |= 1 << c;
  }
  return value;
}

static mv_status encode_pattern(const char *path, const char *codec, int frames, int gop,
                                double fps) {
  mv_video_writer_options opt = {codec, 0, gop, 0};
  mv_video_writer *w = NULL;
  mv_status s = mv_video_writer_open(path, W, H, fps, &opt, &w);
  if (s != MV_OK) return s;
  uint8_t *rgb = malloc((size_t)W * H * 3);
  for (int i = 0; i < frames && s == MV_OK; i++) {
    pattern_frame(i, W, H, rgb);
    s = mv_video_writer_add(w, rgb);
  }
  if (s == MV_OK) s = mv_video_writer_finish(w);
  mv_video_writer_close(w);
  free(rgb);
  return s;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

static int tool_exists(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static int run(const char *cmd) { return system(cmd) == 0; }

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
  return s / (double)n;
}

/* Frame `index` decoded by the ffmpeg tool (autorotation on) as RGB24. */
static int ffmpeg_frame(const char *file, int index, uint8_t *out, size_t bytes) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -nostdin -i '%s' -vf 'select=eq(n\\,%d)' -frames:v 1 -f rawvideo "
           "-pix_fmt rgb24 -",
           file, index);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t got = fread(out, 1, bytes, p);
  int rc = pclose(p);
  return got == bytes && rc == 0 ? 0 : -1;
}

/* Sequential decode: per-frame hashes (and pattern indices when wanted). */
static int decode_all(mv_video *v, uint64_t *hashes, int *indices) {
  mv_video_info info;
  if (mv_video_get_info(v, &info) != MV_OK) return -1;
  size_t bytes = (size_t)info.width * info.height * 3;
  for (int i = 0; i < info.frame_count; i++) {
    const uint8_t *rgb = NULL;
    if (mv_video_frame(v, i, &rgb) != MV_OK) return i;
    if (hashes) hashes[i] = hash_bytes(rgb, bytes);
    if (indices) indices[i] = pattern_index(rgb, info.width, info.height);
  }
  return info.frame_count;
}

static mv_video *open_video(const char *path, int short_side, size_t cache_bytes) {
  mv_video_options opt;
  mv_video_options_default(&opt);
  opt.short_side = short_side;
  opt.cache_bytes = cache_bytes;
  mv_video *v = NULL;
  if (!CHECK_OK(mv_video_open(path, &opt, &v))) return NULL;
  return v;
}

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
  if (!getenv("MIVOS_TEST_VERBOSE")) av_log_set_level(AV_LOG_FATAL);
  have_ffmpeg = tool_exists("ffmpeg");
  have_ffprobe = tool_exists("ffprobe");
  test_example_video();
  test_pattern_videos();
  test_variable_frame_rate();
  test_rotation();
  test_davis_sequence();
  test_truncated_and_corrupt();
  test_wrong_inputs();
  test_writer();
  /* our own temporary folder */
  char cmd[4200];
  const char *any = mv_test_temp_path("x");
  snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(any, '/') - any), any);
  if (strstr(any, "/mivos-test-") && !getenv("MIVOS_TEST_KEEP")) run(cmd);
  return mv_test_finish();
}
