/* Mask files and overlays: the DAVIS palette, palette PNG round trips
 * (checked in the file itself through libpng), binary / soft / matte masks,
 * nearest-neighbour resizing on read (ids never blended), a DAVIS 2016
 * annotation, the overlay drawing, and failures (missing folder, file size
 * limit = disk full, corrupt and truncated files) that leave nothing behind
 * and keep an existing file intact. */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "testutil.h"

/* CHECK that also gives the outcome, for checks that guard what follows. */
static int checked_;
#define CHECKED(cond, ...) \
  (checked_ = !!(cond), mv_test_check(checked_, __FILE__, __LINE__, __VA_ARGS__), checked_)

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

static uint8_t *read_whole(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)n + 1);
  *size = fread(data, 1, (size_t)n, f);
  fclose(f);
  return data;
}

/* Raw PNG content through libpng itself (no transforms), for checking the files. */
typedef struct raw_png {
  int width, height, color_type, bit_depth, palette_count;
  png_color palette[256];
  uint8_t *pixels; /* rows packed */
  size_t row_bytes;
} raw_png;

static int read_raw(const char *path, raw_png *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return -1;
  }
  png_init_io(png, f);
  png_read_info(png, info);
  out->width = (int)png_get_image_width(png, info);
  out->height = (int)png_get_image_height(png, info);
  out->color_type = png_get_color_type(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  png_colorp pal = NULL;
  if (png_get_PLTE(png, info, &pal, &out->palette_count)) memcpy(out->palette, pal, sizeof(png_color) * out->palette_count);
  out->row_bytes = png_get_rowbytes(png, info);
  out->pixels = malloc(out->row_bytes * out->height);
  for (int y = 0; y < out->height; y++) png_read_row(png, out->pixels + out->row_bytes * y, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(f);
  return 0;
}

/* Writes a PNG of any type directly through libpng (inputs the library does not write). */
static int write_raw(const char *path, int w, int h, int color_type, int depth, const uint8_t *rows) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    return -1;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4 : 1;
  size_t row = (size_t)w * channels * (depth / 8);
  for (int y = 0; y < h; y++) png_write_row(png, rows + row * y);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return fclose(f) == 0 ? 0 : -1;
}

static void test_palette(void) {
  uint8_t pal[768];
  mv_palette_davis(pal);
  static const uint8_t want[][3] = {{0, 0, 0},     {128, 0, 0},   {0, 128, 0},
                                    {128, 128, 0}, {0, 0, 128},   {128, 0, 128},
                                    {0, 128, 128}, {128, 128, 128}, {64, 0, 0}};
  int ok = 1;
  for (int i = 0; i < 9; i++) ok &= !memcmp(pal + 3 * i, want[i], 3);
  CHECK(ok, "palette ids 0..8 are the VOC/DAVIS colours");
  CHECK(pal[3 * 255] == 224 && pal[3 * 255 + 1] == 224 && pal[3 * 255 + 2] == 192,
        "id 255 = (224,224,192), got (%d,%d,%d)", pal[765], pal[766], pal[767]);
  int distinct = 1;
  for (int i = 0; i < 256 && distinct; i++)
    for (int j = 0; j < i; j++) distinct &= memcmp(pal + 3 * i, pal + 3 * j, 3) != 0;
  CHECK(distinct, "256 distinct colours");
}

static void test_labels_round_trip(void) {
  enum { W = 97, H = 53 };
  uint8_t labels[W * H], back[W * H];
  uint64_t state = 7;
  for (int i = 0; i < W * H; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    labels[i] = (uint8_t)(i < W * H / 2 ? (state >> 40) % 6 : (state >> 40) & 255);
  }
  const char *path = mv_test_temp_path("labels.png");
  CHECK_OK(mv_mask_write_labels(path, labels, W, H));
  CHECK_OK(mv_mask_read_labels(path, W, H, back));
  CHECK(!memcmp(labels, back, sizeof labels), "palette PNG round trip (ids 0..255)");
  int w = 0, h = 0;
  CHECK_OK(mv_mask_size(path, &w, &h));
  CHECK(w == W && h == H, "mv_mask_size %dx%d", w, h);

  raw_png raw;
  if (CHECKED(read_raw(path, &raw) == 0, "libpng reads the file")) {
    CHECK(raw.color_type == PNG_COLOR_TYPE_PALETTE && raw.bit_depth == 8,
          "8-bit palette PNG (type %d, depth %d)", raw.color_type, raw.bit_depth);
    uint8_t pal[768];
    mv_palette_davis(pal);
    int same = raw.palette_count == 256;
    for (int i = 0; i < raw.palette_count && same; i++)
      same = raw.palette[i].red == pal[3 * i] && raw.palette[i].green == pal[3 * i + 1] &&
             raw.palette[i].blue == pal[3 * i + 2];
    CHECK(same, "PLTE holds the 256 DAVIS colours (%d entries)", raw.palette_count);
    int indices = 1;
    for (int y = 0; y < H; y++) indices &= !memcmp(raw.pixels + raw.row_bytes * y, labels + W * y, W);
    CHECK(indices, "the stored indices are the ids");
    free(raw.pixels);
  }

  /* A palette PNG whose indices are not the DAVIS palette still reads as indices. */
  const char *gray_ids = mv_test_temp_path("gray_ids.png");
  uint8_t ids[4] = {0, 1, 2, 7};
  write_raw(gray_ids, 4, 1, PNG_COLOR_TYPE_GRAY, 8, ids);
  uint8_t got[4];
  CHECK_OK(mv_mask_read_labels(gray_ids, 4, 1, got));
  CHECK(!memcmp(got, ids, 4), "grayscale ids read as they are");

  /* RGB masks in DAVIS colours map back to ids; other colours are refused. */
  uint8_t rgb[3 * 3] = {0, 0, 0, 128, 0, 0, 0, 128, 0};
  const char *colours = mv_test_temp_path("colours.png");
  write_raw(colours, 3, 1, PNG_COLOR_TYPE_RGB, 8, rgb);
  CHECK_OK(mv_mask_read_labels(colours, 3, 1, got));
  CHECK(got[0] == 0 && got[1] == 1 && got[2] == 2, "RGB palette colours -> ids %d %d %d", got[0], got[1], got[2]);
  rgb[4] = 7;
  write_raw(colours, 3, 1, PNG_COLOR_TYPE_RGB, 8, rgb);
  CHECK_FAILS(mv_mask_read_labels(colours, 3, 1, got), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "x=1") && contains(mv_error_message(), "colours.png"),
        "names the pixel: %s", mv_error_message());
  uint8_t bw[3 * 2] = {0, 0, 0, 255, 255, 255};
  write_raw(colours, 2, 1, PNG_COLOR_TYPE_RGB, 8, bw);
  CHECK_OK(mv_mask_read_labels(colours, 2, 1, got));
  CHECK(got[0] == 0 && got[1] == 1, "black/white RGB mask -> 0/1");

  /* 16-bit ids above 255 cannot be ids */
  uint8_t wide[4] = {0x01, 0x00, 0x00, 0x05}; /* 256, 5 */
  const char *deep = mv_test_temp_path("deep.png");
  write_raw(deep, 2, 1, PNG_COLOR_TYPE_GRAY, 16, wide);
  CHECK_FAILS(mv_mask_read_labels(deep, 2, 1, got), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "256"), "names the value: %s", mv_error_message());
}

static void test_binary_and_davis(void) {
  enum { W = 31, H = 17 };
  uint8_t mask[W * H], back[W * H];
  for (int i = 0; i < W * H; i++) mask[i] = (uint8_t)((i % 5 == 0) ? 0 : (i % 3) * 7);
  const char *path = mv_test_temp_path("binary.png");
  CHECK_OK(mv_mask_write_binary(path, mask, W, H));
  raw_png raw;
  if (CHECKED(read_raw(path, &raw) == 0, "libpng reads the binary mask")) {
    CHECK(raw.color_type == PNG_COLOR_TYPE_GRAY && raw.bit_depth == 8, "8-bit grayscale");
    int ok = 1;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) ok &= raw.pixels[raw.row_bytes * y + x] == (mask[y * W + x] ? 255 : 0);
    CHECK(ok, "stored as 0/255");
    free(raw.pixels);
  }
  CHECK_OK(mv_mask_read_labels(path, W, H, back));
  int ok = 1;
  for (int i = 0; i < W * H; i++) ok &= back[i] == (mask[i] ? 1 : 0);
  CHECK(ok, "0/255 grayscale reads back as 0/1 labels");

  /* A DAVIS 2016 annotation (0/255 grayscale, 854x480). */
  const char *ann = mv_shared_path("data/davis2016/Annotations/480p/blackswan/00000.png");
  if (CHECKED(read_raw(ann, &raw) == 0, "libpng reads %s", ann)) {
    int w = raw.width, h = raw.height;
    uint8_t *labels = malloc((size_t)w * h);
    CHECK_OK(mv_mask_read_labels(ann, w, h, labels));
    long fg_raw = 0, fg = 0, other = 0;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        fg_raw += raw.pixels[raw.row_bytes * y + x] > 127;
        fg += labels[y * w + x] == 1;
        other += labels[y * w + x] > 1;
      }
    CHECK(fg == fg_raw && fg > 1000 && other == 0, "annotation: %ld object pixels (libpng: %ld)", fg, fg_raw);
    /* resized to 427x240 nearest: still only 0/1, about a quarter of the pixels */
    uint8_t *small = malloc(427 * 240);
    CHECK_OK(mv_mask_read_labels(ann, 427, 240, small));
    long fg_small = 0, bad = 0;
    for (int i = 0; i < 427 * 240; i++) fg_small += small[i] == 1, bad += small[i] > 1;
    CHECK(bad == 0 && labs(fg_small * 4 - fg) < fg / 20, "half size: %ld object pixels (%ld / 4)", fg_small, fg);
    free(small);
    free(labels);
    free(raw.pixels);
  }
}

static void test_soft_and_matte(void) {
  enum { W = 16, H = 8 };
  float p[W * H], back[W * H];
  for (int i = 0; i < W * H; i++) p[i] = (float)i / (W * H - 1) * 1.4f - 0.2f;
  const char *path = mv_test_temp_path("soft.png");
  CHECK_OK(mv_mask_write_soft(path, p, W, H));
  CHECK_OK(mv_mask_read_soft(path, W, H, back));
  double worst = 0;
  for (int i = 0; i < W * H; i++) {
    double want = p[i] < 0 ? 0 : p[i] > 1 ? 1 : p[i];
    if (fabs(back[i] - want) > worst) worst = fabs(back[i] - want);
  }
  CHECK(worst <= 0.5 / 255 + 1e-6, "soft mask round trip within half a level (%.5f)", worst);
  raw_png raw;
  if (read_raw(path, &raw) == 0) {
    CHECK(raw.color_type == PNG_COLOR_TYPE_GRAY && raw.bit_depth == 8, "soft mask is 8-bit gray");
    free(raw.pixels);
  }
  p[37] = NAN;
  const char *nan_path = mv_test_temp_path("nan.png");
  CHECK_FAILS(mv_mask_write_soft(nan_path, p, W, H), MV_E_ARGUMENT);
  CHECK(contains(mv_error_message(), "x=5") && contains(mv_error_message(), "y=2"), "names the pixel: %s",
        mv_error_message());
  CHECK(!mv_test_file_exists(nan_path), "no file written for NaN input");

  uint8_t rgb[W * H * 3], rgb_back[W * H * 3];
  float alpha[W * H], alpha_back[W * H];
  for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 7);
  for (int i = 0; i < W * H; i++) alpha[i] = (float)(i % 11) / 10.0f;
  const char *matte = mv_test_temp_path("matte.png");
  CHECK_OK(mv_mask_write_matte(matte, rgb, alpha, W, H));
  CHECK_OK(mv_mask_read_matte(matte, W, H, rgb_back, alpha_back));
  CHECK(!memcmp(rgb, rgb_back, sizeof rgb), "matte colours exact");
  worst = 0;
  for (int i = 0; i < W * H; i++) worst = fmax(worst, fabs(alpha[i] - alpha_back[i]));
  CHECK(worst <= 0.5 / 255 + 1e-6, "matte alpha within half a level (%.5f)", worst);
  if (read_raw(matte, &raw) == 0) {
    CHECK(raw.color_type == PNG_COLOR_TYPE_RGBA && raw.bit_depth == 8, "matte is 8-bit RGBA");
    CHECK(raw.pixels[3] == 0 && raw.pixels[7] == 26, "alpha bytes %d %d", raw.pixels[3], raw.pixels[7]);
    free(raw.pixels);
  }
  /* the alpha of a matte is also readable as a soft mask */
  CHECK_OK(mv_mask_read_soft(matte, W, H, back));
  CHECK(fabs(back[5] - alpha_back[5]) < 1e-6, "soft read of a matte gives its alpha");
  CHECK_OK(mv_mask_read_matte(matte, W, H, NULL, alpha_back));
  /* a palette file is not a probability map */
  uint8_t labels[W * H] = {0};
  const char *lab = mv_test_temp_path("lab_soft.png");
  CHECK_OK(mv_mask_write_labels(lab, labels, W, H));
  CHECK_FAILS(mv_mask_read_soft(lab, W, H, back), MV_E_FORMAT);
  /* an RGB image read as a matte has alpha 1 */
  CHECK_OK(mv_image_write_png(mv_test_temp_path("rgb.png"), rgb, W, H));
  CHECK_OK(mv_mask_read_matte(mv_test_temp_path("rgb.png"), W, H, rgb_back, alpha_back));
  CHECK(alpha_back[3] == 1.0f && !memcmp(rgb, rgb_back, sizeof rgb), "RGB as matte: alpha 1, colours exact");
}

static void test_nearest_resize(void) {
  uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* 4x2 */
  const char *path = mv_test_temp_path("small.png");
  CHECK_OK(mv_mask_write_labels(path, src, 4, 2));
  uint8_t big[8 * 4];
  CHECK_OK(mv_mask_read_labels(path, 8, 4, big));
  int ok = 1;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 8; x++) ok &= big[y * 8 + x] == src[(y / 2) * 4 + x / 2];
  CHECK(ok, "2x enlargement repeats each id");
  uint8_t tiny[2];
  CHECK_OK(mv_mask_read_labels(path, 2, 1, tiny));
  CHECK(tiny[0] == 6 && tiny[1] == 8, "halving takes the centre pixels: %d %d", tiny[0], tiny[1]);

  /* A non-integer scale never invents ids. */
  enum { W = 854, H = 480 };
  uint8_t *labels = malloc(W * H), *out = malloc(1000 * 563);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) labels[y * W + x] = (uint8_t)(((x / 40) + (y / 30)) % 3 ? 0 : (x / 40) % 2 ? 200 : 3);
  const char *wide = mv_test_temp_path("wide.png");
  CHECK_OK(mv_mask_write_labels(wide, labels, W, H));
  CHECK_OK(mv_mask_read_labels(wide, 1000, 563, out));
  long invented = 0;
  for (int i = 0; i < 1000 * 563; i++) invented += out[i] != 0 && out[i] != 3 && out[i] != 200;
  CHECK(invented == 0, "resized ids are all source ids (%ld others)", invented);
  free(labels);
  free(out);
}

static void test_overlay(void) {
  enum { W = 10, H = 8 };
  uint8_t rgb[W * H * 3], out[W * H * 3], labels[W * H] = {0};
  for (int i = 0; i < W * H; i++) rgb[3 * i] = 100, rgb[3 * i + 1] = 150, rgb[3 * i + 2] = 200;
  for (int y = 2; y <= 4; y++)
    for (int x = 3; x <= 5; x++) labels[y * W + x] = 1;
  labels[6 * W + 8] = 2;
  CHECK_OK(mv_overlay_draw(rgb, labels, W, H, out));
  const uint8_t *inside = out + 3 * (3 * W + 4), *inside2 = out + 3 * (6 * W + 8);
  CHECK(inside[0] == 114 && inside[1] == 75 && inside[2] == 100, "object 1 blended with (128,0,0): %d %d %d",
        inside[0], inside[1], inside[2]);
  CHECK(inside2[0] == 50 && inside2[1] == 139 && inside2[2] == 100, "object 2 blended with (0,128,0)");
  const uint8_t *left = out + 3 * (3 * W + 2), *above = out + 3 * (1 * W + 4), *diagonal = out + 3 * (1 * W + 2);
  CHECK(!left[0] && !left[1] && !left[2] && !above[0] && !above[1] && !above[2], "1-pixel black contour");
  CHECK(diagonal[0] == 100 && diagonal[1] == 150, "diagonal neighbour untouched (4-neighbour contour)");
  const uint8_t *far = out + 3 * (7 * W + 0);
  CHECK(far[0] == 100 && far[1] == 150 && far[2] == 200, "background copied");
  int contour = 0;
  for (int i = 0; i < W * H; i++) contour += !labels[i] && !out[3 * i] && !out[3 * i + 1] && !out[3 * i + 2];
  CHECK(contour == 12 + 4, "contour pixels: %d (square 12, dot 4)", contour);
  CHECK_FAILS(mv_overlay_draw(rgb, labels, W, H, rgb), MV_E_ARGUMENT);

  const char *path = mv_test_temp_path("overlay.png");
  CHECK_OK(mv_overlay_write_png(path, rgb, labels, W, H));
  raw_png raw;
  if (CHECKED(read_raw(path, &raw) == 0, "overlay PNG readable")) {
    CHECK(raw.color_type == PNG_COLOR_TYPE_RGB, "overlay PNG is RGB");
    int same = 1;
    for (int y = 0; y < H; y++) same &= !memcmp(raw.pixels + raw.row_bytes * y, out + 3 * W * y, 3 * W);
    CHECK(same, "overlay PNG = mv_overlay_draw");
    free(raw.pixels);
  }
}

static void test_failures(void) {
  uint8_t labels[64] = {1, 2, 3};
  const char *missing = mv_test_temp_path("no-such-folder/00000.png");
  CHECK_FAILS(mv_mask_write_labels(missing, labels, 8, 8), MV_E_IO);
  CHECK(contains(mv_error_message(), "no-such-folder/00000.png"), "names the file: %s", mv_error_message());
  CHECK(!mv_test_file_exists(mv_test_temp_path("no-such-folder")), "nothing created");
  const char *folder = mv_test_temp_path("a-folder");
  mkdir(folder, 0700);
  CHECK_FAILS(mv_mask_write_binary(folder, labels, 8, 8), MV_E_IO);
  CHECK_FAILS(mv_mask_write_labels(NULL, labels, 8, 8), MV_E_ARGUMENT);
  CHECK_FAILS(mv_mask_write_labels(mv_test_temp_path("x.png"), NULL, 8, 8), MV_E_ARGUMENT);
  CHECK_FAILS(mv_mask_write_labels(mv_test_temp_path("x.png"), labels, 0, 8), MV_E_ARGUMENT);
  CHECK_FAILS(mv_mask_read_labels(mv_test_temp_path("x.png"), 8, -1, labels), MV_E_ARGUMENT);

  /* disk full (file size limit): MV_E_IO, the earlier file under that name intact, no temp */
  const char *dir = mv_test_temp_path("full");
  mkdir(dir, 0700);
  char keep[4096];
  snprintf(keep, sizeof keep, "%s/00000.png", dir);
  CHECK_OK(mv_mask_write_labels(keep, labels, 8, 8));
  size_t before_size = 0, after_size = 0;
  uint8_t *before = read_whole(keep, &before_size);
  enum { BW = 300, BH = 200 };
  uint8_t *noise = malloc(BW * BH * 3);
  uint64_t state = 99;
  for (int i = 0; i < BW * BH * 3; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    noise[i] = (uint8_t)(state >> 56);
  }
  struct rlimit old, small;
  getrlimit(RLIMIT_FSIZE, &old);
  small = old;
  small.rlim_cur = 4096;
  void (*previous)(int) = signal(SIGXFSZ, SIG_IGN);
  if (CHECKED(setrlimit(RLIMIT_FSIZE, &small) == 0, "file size limit set")) {
    mv_status s = mv_image_write_png(keep, noise, BW, BH);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(s == MV_E_IO, "disk full -> %s: %s", mv_status_name(s), mv_error_message());
    CHECK(contains(mv_error_message(), "00000.png"), "message names the file");
    uint8_t *after = read_whole(keep, &after_size);
    CHECK(after && after_size == before_size && !memcmp(before, after, before_size),
          "the previous file is intact");
    CHECK(mv_test_count_entries(dir) == 1, "no temporary file left (%d entries)", mv_test_count_entries(dir));
    free(after);
  }
  signal(SIGXFSZ, previous);
  free(before);
  free(noise);

  /* unreadable inputs */
  uint8_t out[64];
  CHECK_FAILS(mv_mask_read_labels(mv_test_temp_path("absent.png"), 8, 8, out), MV_E_IO);
  CHECK(contains(mv_error_message(), "absent.png"), "missing: %s", mv_error_message());
  const char *text = mv_test_temp_path("text.png");
  mv_test_write_file(text, "hello, not a png", 16);
  CHECK_FAILS(mv_mask_read_labels(text, 8, 8, out), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "text.png"), "not a PNG: %s", mv_error_message());

  enum { W = 64, H = 48 };
  uint8_t lab[W * H];
  for (int i = 0; i < W * H; i++) lab[i] = (uint8_t)((i * 31) % 7);
  const char *good = mv_test_temp_path("good.png");
  CHECK_OK(mv_mask_write_labels(good, lab, W, H));
  size_t size = 0;
  uint8_t *data = read_whole(good, &size);
  const char *cut = mv_test_temp_path("cut.png");
  mv_test_write_file(cut, data, size / 2);
  uint8_t back[W * H];
  CHECK_FAILS(mv_mask_read_labels(cut, W, H, back), MV_E_FORMAT);
  CHECK(contains(mv_error_message(), "cut.png"), "truncated: %s", mv_error_message());
  /* flip bytes inside the IDAT chunk: its CRC no longer matches */
  uint8_t *idat = NULL;
  for (size_t i = 0; i + 4 < size; i++)
    if (!memcmp(data + i, "IDAT", 4)) {
      idat = data + i;
      break;
    }
  if (CHECKED(idat != NULL, "IDAT found")) {
    idat[10] ^= 0x55;
    idat[11] ^= 0xAA;
    const char *bad = mv_test_temp_path("crc.png");
    mv_test_write_file(bad, data, size);
    CHECK_FAILS(mv_mask_read_labels(bad, W, H, back), MV_E_FORMAT);
    CHECK(contains(mv_error_message(), "crc.png"), "corrupt: %s", mv_error_message());
  }
  free(data);
}

int main(void) {
  test_palette();
  test_labels_round_trip();
  test_binary_and_davis();
  test_soft_and_matte();
  test_nearest_resize();
  test_overlay();
  test_failures();
  char cmd[4200];
  const char *any = mv_test_temp_path("x");
  snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(any, '/') - any), any);
  if (strstr(any, "/mivos-test-") && !getenv("MIVOS_TEST_KEEP") && system(cmd) != 0) printf("could not remove %s\n", cmd);
  return mv_test_finish();
}
