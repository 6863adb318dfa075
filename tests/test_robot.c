/* The DAVIS scribble robot (spec/EVALUATION.md sections 4.3 and 5): disk
 * footprints and clipped filters, the opening's radius rule, the medial
 * axis, skeleton graphs and longest paths, Bezier resampling, strokes on a
 * synthetic mask pair with known error regions (inside the region, right
 * label, background first), the worst-frame rule, determinism, and the
 * scribble JSON read back with the project's JSON reader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "json.h"
#include "testutil.h"

static void fill(uint8_t *m, int w, int y0, int y1, int x0, int x1, uint8_t v) {
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) m[(size_t)y * w + x] = v;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rng_state >> 33) % n;
}

/* ---- disk footprints and filters ---- */

/* The clipped minimum/maximum straight from the spec: the window of (y, x)
 * is {(y + i - o, x + j - o) : footprint(i, j)}, outside pixels ignored. */
static int naive_window(const uint8_t *m, int w, int h, double r, int y, int x, int want_min) {
  int n = (int)ceil(2 * r + 1), o = n / 2, seen = 0, result = want_min ? 1 : 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double ci = -r + i, cj = -r + j;
      if (ci * ci + cj * cj > r * r) continue;
      int yy = y + i - o, xx = x + j - o;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      seen = 1;
      int v = m[(size_t)yy * w + xx] != 0;
      if (want_min && !v) result = 0;
      if (!want_min && v) result = 1;
    }
  return seen ? result : 0;
}

static void test_disks(void) {
  mv_disk d;
  /* r = 1.5: n = 4, c = -1.5 -0.5 0.5 1.5 -> only the central 2 x 2 cells
   * (0.5 <= 2.25; 0.25 + 2.25 > 2.25), origin 2: a window one pixel up/left. */
  CHECK_OK(mv_disk_make(1.5, &d));
  CHECK(d.n == 4 && d.origin == 2 && d.cells == 4 && d.lo[0] > d.hi[0] && d.lo[1] == 1 &&
            d.hi[1] == 2 && d.lo[2] == 1 && d.hi[2] == 2 && d.lo[3] > d.hi[3],
        "disk(1.5) is the off-centre 2x2 block (n %d cells %d)", d.n, d.cells);
  mv_disk_release(&d);
  CHECK_OK(mv_disk_make(2, &d));
  CHECK(d.n == 5 && d.cells == 13, "disk(2): n %d cells %d (want 5, 13)", d.n, d.cells);
  mv_disk_release(&d);
  CHECK_OK(mv_disk_make(16, &d));
  CHECK(d.n == 33 && d.origin == 16, "disk(16): n %d", d.n);
  mv_disk_release(&d);
  CHECK_FAILS(mv_disk_make(-1, &d), MV_E_ARGUMENT);

  /* Filters against the naive definition on random masks and radii. */
  int w = 21, h = 15, bad = 0;
  uint8_t *m = malloc((size_t)w * h), *out = malloc((size_t)w * h);
  const double radii[] = {1.0, 1.02, 1.2, 1.5, 2.0, 2.449, 2.7, 3.3, 4.0, 5.6};
  for (int trial = 0; trial < 20; trial++) {
    for (int i = 0; i < w * h; i++) m[i] = rnd(10) < 7;
    for (size_t k = 0; k < sizeof radii / sizeof radii[0]; k++) {
      CHECK_OK(mv_disk_make(radii[k], &d));
      for (int want_min = 0; want_min <= 1; want_min++) {
        mv_disk_filter(m, w, h, &d, want_min, out);
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            bad += out[y * w + x] != naive_window(m, w, h, radii[k], y, x, want_min);
      }
      mv_disk_release(&d);
    }
  }
  CHECK(bad == 0, "min/max filters match the clipped-window definition (%d differ)", bad);
  free(m), free(out);
}

static void test_opening(void) {
  /* A region touching the top border is not eroded from that side: with
   * r = 3 the top corners stay, the bottom corners are rounded off. */
  int w = 40, h = 40;
  uint8_t *m = calloc((size_t)w * h, 1), *o = malloc((size_t)w * h);
  fill(m, w, 0, 9, 10, 29, 1);
  CHECK_OK(mv_disk_opening(m, w, h, 3.0, o));
  int inside = 1;
  for (int i = 0; i < w * h; i++) inside &= !o[i] || m[i];
  CHECK(inside && o[0 * w + 10] && o[0 * w + 29] && !o[9 * w + 10] && !o[9 * w + 29] &&
            o[9 * w + 20],
        "opening keeps the border-side corners and rounds the inner ones");
  /* r = 1.5: the window is the 2 x 2 block up-left of the pixel, so the
   * minimum then maximum over it moves a rectangle one pixel down-right. */
  memset(m, 0, (size_t)w * h);
  fill(m, w, 10, 19, 5, 24, 1);
  CHECK_OK(mv_disk_opening(m, w, h, 1.5, o));
  int shifted = 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      shifted &= o[y * w + x] == (y >= 11 && y <= 20 && x >= 6 && x <= 25);
  CHECK(shifted, "fractional-radius opening is not symmetric: r = 1.5 shifts by (1, 1)");
  free(m), free(o);
}

/* ---- medial axis ---- */

static int count_set(const uint8_t *m, size_t n) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += m[i] != 0;
  return c;
}

static void test_medial_axis(void) {
  int w = 50, h = 30;
  size_t n = (size_t)w * h;
  uint8_t *m = calloc(n, 1), *s = malloc(n);
  /* A 5-pixel-high bar: the axis is its middle row. */
  fill(m, w, 10, 14, 5, 44, 1);
  CHECK_OK(mv_medial_axis(m, w, h, s));
  int middle = 1, subset = 1;
  for (int x = 8; x <= 41; x++) middle &= s[12 * w + x] && !s[11 * w + x] && !s[13 * w + x];
  for (size_t i = 0; i < n; i++) subset &= !s[i] || m[i];
  CHECK(middle && subset, "bar skeleton is the middle row (inside the bar)");
  /* A single pixel and a 2-wide bar survive. */
  memset(m, 0, n);
  m[5 * w + 5] = 1;
  fill(m, w, 20, 21, 10, 30, 1);
  CHECK_OK(mv_medial_axis(m, w, h, s));
  CHECK(s[5 * w + 5] && count_set(s, n) >= 21 && count_set(s, n) <= 22,
        "isolated pixel kept, 2-wide bar thinned to one line (%d px)", count_set(s, n));
  /* A mask touching the border: padding makes the border count as
   * background, so the skeleton still runs along the middle. */
  memset(m, 0, n);
  fill(m, w, 0, 4, 0, w - 1, 1);
  CHECK_OK(mv_medial_axis(m, w, h, s));
  CHECK(s[2 * w + 25] && !s[0 * w + 25] && !s[4 * w + 25], "border bar: axis on row 2");
  free(m), free(s);

  /* An even width (24 columns) has a 2-pixel ridge of equal distances:
   * the axis must survive there, one or two pixels per row, near the
   * middle (visiting the ties in raster order would erase it). */
  w = 40, h = 60, n = (size_t)w * h;
  m = calloc(n, 1), s = malloc(n);
  fill(m, w, 5, 54, 8, 31, 1);
  CHECK_OK(mv_medial_axis(m, w, h, s));
  int axis = 1;
  for (int y = 20; y <= 39; y++) {
    int row = 0, centred = 1;
    for (int x = 0; x < w; x++)
      if (s[y * w + x]) row++, centred &= x >= 18 && x <= 21;
    axis &= row >= 1 && row <= 2 && centred;
  }
  CHECK(axis, "even-width rectangle keeps its central axis");
  free(m), free(s);
}

/* ---- skeleton graph and longest path ---- */

static int adjacent8(const int *a, const int *b) {
  return abs(a[0] - b[0]) <= 1 && abs(a[1] - b[1]) <= 1 && (a[0] != b[0] || a[1] != b[1]);
}

static void test_skeleton_paths(void) {
  int w = 20, h = 12;
  uint8_t *s = calloc((size_t)w * h, 1);
  mv_pixel_path *paths;
  int count;
  /* A 10-pixel line and a 3-pixel line (dropped: fewer than 4 nodes). */
  fill(s, w, 1, 1, 2, 11, 1);
  fill(s, w, 5, 5, 15, 17, 1);
  CHECK_OK(mv_skeleton_paths(s, w, h, 4, &paths, &count));
  /* BFS from (2,1) finds (11,1) farthest; from there the path runs back. */
  CHECK(count == 1 && paths[0].count == 10 && paths[0].xy[0] == 11 && paths[0].xy[1] == 1 &&
            paths[0].xy[18] == 2,
        "line: one path of 10 from its right end (count %d)", count);
  mv_pixel_paths_free(paths, count);
  CHECK_OK(mv_skeleton_paths(s, w, h, 3, &paths, &count));
  CHECK(count == 2 && paths[1].count == 3, "min_nodes 3 keeps the short line too");
  mv_pixel_paths_free(paths, count);

  /* A square ring (5 x 5 outline, 16 pixels) with its corner triangles:
   * cycles are broken (diagonals first, being heavier) into a 16-node path
   * of 4-neighbour steps. */
  memset(s, 0, (size_t)w * h);
  fill(s, w, 2, 6, 3, 7, 1);
  fill(s, w, 3, 5, 4, 6, 0);
  CHECK_OK(mv_skeleton_paths(s, w, h, 4, &paths, &count));
  int steps_ok = count == 1 && paths[0].count == 16;
  for (int i = 0; steps_ok && i + 1 < paths[0].count; i++) {
    const int *a = paths[0].xy + 2 * i, *b = a + 2;
    steps_ok = abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1;
  }
  CHECK(steps_ok, "ring: one 16-node path of 4-neighbour steps");
  mv_pixel_paths_free(paths, count);

  /* A T: bar row 2 columns 2..12 and a stem column 7 rows 3..9. The longest
   * path joins the stem's foot to a bar end: 6 + 7 + 1 = 13 nodes. */
  memset(s, 0, (size_t)w * h);
  fill(s, w, 2, 2, 2, 12, 1);
  fill(s, w, 3, 9, 7, 7, 1);
  CHECK_OK(mv_skeleton_paths(s, w, h, 4, &paths, &count));
  int ok = count == 1 && paths[0].count == 13;
  for (int i = 0; ok && i + 1 < paths[0].count; i++)
    ok = adjacent8(paths[0].xy + 2 * i, paths[0].xy + 2 * i + 2);
  const int *first = paths[0].xy, *last = paths[0].xy + 2 * (paths[0].count - 1);
  int foot_end = (first[0] == 7 && first[1] == 9) || (last[0] == 7 && last[1] == 9);
  CHECK(ok && foot_end, "T: 13-node connected path ending at the stem's foot");
  mv_pixel_paths_free(paths, count);
  free(s);
}

/* ---- Bezier ---- */

/* Standard de Casteljau at s = 1 - t (the robot's curve is reversed). */
static void de_casteljau(const int *xy, int n, double t, double *x, double *y) {
  double *px = malloc((size_t)n * sizeof *px), *py = malloc((size_t)n * sizeof *py);
  double s = 1 - t;
  for (int i = 0; i < n; i++) px[i] = xy[2 * i], py[i] = xy[2 * i + 1];
  for (int k = n - 1; k > 0; k--)
    for (int i = 0; i < k; i++) {
      px[i] = (1 - s) * px[i] + s * px[i + 1];
      py[i] = (1 - s) * py[i] + s * py[i + 1];
    }
  *x = px[0], *y = py[0];
  free(px), free(py);
}

static void test_bezier(void) {
  double *out = malloc(2 * 1200 * sizeof *out);
  int count = 0;
  /* Two points: B(t) = t Q0 + (1 - t) Q1, from Q1 to Q0. */
  int two[4] = {0, 0, 10, 20};
  CHECK_OK(mv_bezier_resample(two, 2, 1000, out, &count));
  int line_ok = count == 1000;
  for (int m = 0; m < 1000 && line_ok; m++) {
    double t = m / 999.0;
    line_ok = fabs(out[2 * m] - (1 - t) * 10) < 1e-12 && fabs(out[2 * m + 1] - (1 - t) * 20) < 1e-12;
  }
  CHECK(line_ok && out[0] == 10 && out[1] == 20 && out[1998] == 0 && out[1999] == 0,
        "two-point curve runs from Q1 to Q0");

  /* 60 and 999 control points against de Casteljau; endpoints exact. */
  const int sizes[] = {60, 999};
  int *xy = malloc(2 * 1001 * sizeof *xy);
  for (size_t k = 0; k < 2; k++) {
    int n = sizes[k];
    for (int i = 0; i < n; i++) {
      xy[2 * i] = 100 + (int)(80 * sin(i * 0.05)) + i / 3;
      xy[2 * i + 1] = 200 + (int)(60 * cos(i * 0.031));
    }
    CHECK_OK(mv_bezier_resample(xy, n, 1000, out, &count));
    double worst = 0;
    int finite = 1;
    for (int m = 0; m < 1000; m += (n > 100 ? 37 : 1)) {
      double x, y;
      de_casteljau(xy, n, m / 999.0, &x, &y);
      finite &= isfinite(out[2 * m]) && isfinite(out[2 * m + 1]);
      worst = fmax(worst, fmax(fabs(out[2 * m] - x), fabs(out[2 * m + 1] - y)));
    }
    CHECK(count == 1000 && finite && worst < 1e-8 && out[0] == xy[2 * (n - 1)] &&
              out[1] == xy[2 * (n - 1) + 1] && out[1998] == xy[0] && out[1999] == xy[1],
          "%d control points: max |diff| vs de Casteljau %.3g, ends exact", n, worst);
  }
  /* A path longer than nb_points is kept as it is. */
  for (int i = 0; i < 1001; i++) xy[2 * i] = i, xy[2 * i + 1] = 2 * i;
  CHECK_OK(mv_bezier_resample(xy, 1001, 1000, out, &count));
  CHECK(count == 1001 && out[0] == 0 && out[2000] == 1000 && out[2001] == 2000,
        "1001-point path used as is");
  free(xy), free(out);
}

/* ---- the robot on synthetic masks ---- */

enum { W = 160, H = 100, T = 3 };

typedef struct box { int y0, y1, x0, x1; } box;

/* Every point of every stroke of `label` lies inside the box (in pixels).
 * The box is widened by 2 pixels on its right and lower sides only: for a
 * fractional radius r = k + f the disk's window is centred f - 1 pixels
 * up-left of the pixel, and the reference applies the minimum and maximum
 * filters over that same window, so the opened region moves 2 (1 - f) < 2
 * pixels right and down (see test_opening). */
static int strokes_inside(const mv_robot_scribble *sc, int label, box b, int *strokes) {
  b.y1 += 2, b.x1 += 2;
  int ok = 1;
  *strokes = 0;
  for (int i = 0; i < sc->stroke_count; i++) {
    const mv_robot_stroke *st = &sc->strokes[i];
    if (st->object_id != label) continue;
    (*strokes)++;
    for (int m = 0; m < st->point_count; m++) {
      double x = st->points[2 * m] * sc->width, y = st->points[2 * m + 1] * sc->height;
      if (x < b.x0 - 1e-9 || x > b.x1 + 1e-9 || y < b.y0 - 1e-9 || y > b.y1 + 1e-9) ok = 0;
    }
  }
  return ok;
}

static char *to_json(const mv_robot_scribble *sc, const char *name, size_t *length) {
  size_t n = 0;
  if (mv_robot_scribble_json(sc, name, NULL, 0, &n) != MV_OK) return NULL;
  char *text = malloc(n + 1);
  if (mv_robot_scribble_json(sc, name, text, n + 1, length) != MV_OK) {
    free(text);
    return NULL;
  }
  return text;
}

static void test_robot_synthetic(void) {
  size_t frame = (size_t)W * H;
  uint8_t *gt = calloc(frame * T, 1), *pred = calloc(frame * T, 1);
  box object = {20, 79, 30, 129};
  box missed = {20, 79, 90, 129};      /* frame 1: object pixels predicted background */
  box spill = {85, 94, 10, 69};        /* frame 1: background predicted as object */
  for (int t = 0; t < T; t++) {
    fill(gt + t * frame, W, object.y0, object.y1, object.x0, object.x1, 1);
    fill(pred + t * frame, W, object.y0, object.y1, object.x0, object.x1, 1);
  }
  fill(pred + 1 * frame, W, missed.y0, missed.y1, missed.x0, missed.x1, 0);
  fill(pred + 1 * frame, W, spill.y0, spill.y1, spill.x0, spill.x1, 1);
  fill(pred + 2 * frame, W, 20, 79, 120, 129, 0);  /* frame 2: a smaller miss */

  mv_robot_scribble *sc = NULL;
  CHECK_OK(mv_robot_interact(gt, pred, T, W, H, 1, 1, NULL, &sc));
  if (!sc) return;
  int n0 = 0, n1 = 0;
  int in0 = strokes_inside(sc, 0, spill, &n0), in1 = strokes_inside(sc, 1, missed, &n1);
  CHECK(sc->frame == 1 && sc->frame_count == T && n0 == 1 && n1 == 1 && sc->stroke_count == 2,
        "frame 1: one background and one object stroke (got %d, %d of %d)", n0, n1,
        sc->stroke_count);
  CHECK(in0 && in1, "every stroke point lies inside its error region");
  CHECK(sc->stroke_count == 2 && sc->strokes[0].object_id == 0 && sc->strokes[1].object_id == 1,
        "background stroke listed first");
  int thousand = 1;
  for (int i = 0; i < sc->stroke_count; i++) thousand &= sc->strokes[i].point_count == 1000;
  CHECK(thousand, "1000 points per stroke");
  /* The object stroke follows the miss's long (vertical) axis. */
  if (sc->stroke_count == 2) {
    const mv_robot_stroke *st = &sc->strokes[1];
    double ymin = 1e9, ymax = -1e9;
    for (int m = 0; m < st->point_count; m++) {
      double y = st->points[2 * m + 1] * H;
      ymin = fmin(ymin, y), ymax = fmax(ymax, y);
    }
    CHECK(ymax - ymin > 25, "object stroke spans the 60-row miss vertically (%.1f rows)",
          ymax - ymin);
  }

  /* Deterministic: a second run gives byte-identical JSON. */
  mv_robot_scribble *again = NULL;
  CHECK_OK(mv_robot_interact(gt, pred, T, W, H, 1, 1, NULL, &again));
  size_t len1 = 0, len2 = 0;
  char *j1 = to_json(sc, "synthetic", &len1), *j2 = again ? to_json(again, "synthetic", &len2) : NULL;
  CHECK(j1 && j2 && len1 == len2 && memcmp(j1, j2, len1) == 0, "two runs give identical JSON");
  free(j2);
  mv_robot_scribble_free(again);

  /* The JSON reads back: sequence, T frame lists, strokes only on frame 1,
   * 1000 points each, numbers equal to the strokes' doubles. */
  mv_json *root = NULL;
  if (j1) CHECK_OK(mv_json_parse(j1, len1, "robot.json", &root));
  if (root) {
    const mv_json *seq = mv_json_get(root, "sequence"), *scr = mv_json_get(root, "scribbles");
    CHECK(seq && seq->type == MV_JSON_STRING && strcmp(seq->string, "synthetic") == 0,
          "JSON sequence name");
    int shape = scr && scr->type == MV_JSON_ARRAY && scr->count == T &&
                scr->items[0].count == 0 && scr->items[2].count == 0 &&
                scr->items[1].count == (size_t)sc->stroke_count;
    CHECK(shape, "JSON: %d frame lists, strokes on frame 1 only", T);
    int exact = shape;
    for (int i = 0; exact && i < sc->stroke_count; i++) {
      const mv_json *stroke = &scr->items[1].items[i];
      const mv_json *path = mv_json_get(stroke, "path"), *id = mv_json_get(stroke, "object_id");
      exact = path && id && id->number == sc->strokes[i].object_id && path->count == 1000 &&
              mv_json_get(stroke, "start_time") && mv_json_get(stroke, "end_time");
      for (size_t m = 0; exact && m < path->count; m++)
        exact = path->items[m].count == 2 &&
                path->items[m].items[0].number == sc->strokes[i].points[2 * m] &&
                path->items[m].items[1].number == sc->strokes[i].points[2 * m + 1];
    }
    CHECK(exact, "JSON paths: 1000 [x, y] pairs equal to the strokes, object ids");
    mv_json_free(root);
  }
  /* The file writer writes the same text. */
  const char *path = mv_test_temp_path("robot_scribble.json");
  CHECK_OK(mv_robot_write_json(sc, "synthetic", path));
  FILE *fp = fopen(path, "rb");
  char *back = malloc(len1 + 16);
  size_t got = fp ? fread(back, 1, len1 + 16, fp) : 0;
  if (fp) fclose(fp);
  CHECK(j1 && got == len1 && memcmp(back, j1, len1) == 0, "written file equals the buffer");
  free(back);
  /* A too-small buffer fails but reports the length. */
  char small[16];
  size_t need = 0;
  CHECK_FAILS(mv_robot_scribble_json(sc, "synthetic", small, sizeof small, &need),
              MV_E_ARGUMENT);
  CHECK(need == len1, "length reported on a short buffer");
  free(j1);
  mv_robot_scribble_free(sc);

  /* frame -1: the frame with the lowest J (frame 1). */
  CHECK_OK(mv_robot_interact(gt, pred, T, W, H, 1, -1, NULL, &sc));
  CHECK(sc && sc->frame == 1, "frame -1 picks the lowest-J frame (%d)", sc ? sc->frame : -1);
  mv_robot_scribble_free(sc);
  /* A correct frame gets no strokes; its JSON has only empty lists. */
  CHECK_OK(mv_robot_interact(gt, pred, T, W, H, 1, 0, NULL, &sc));
  CHECK(sc && sc->stroke_count == 0, "no error, no stroke");
  if (sc) {
    size_t len = 0;
    char *text = to_json(sc, "a\"b", &len);
    CHECK(text && strcmp(text, "{\"sequence\": \"a\\\"b\", \"scribbles\": [[], [], []]}\n") == 0,
          "empty scribble JSON: %s", text ? text : "(null)");
    free(text);
  }
  mv_robot_scribble_free(sc);

  /* Worst-frame rule on the J and F of this volume. */
  double j[T], f[T];
  CHECK_OK(mv_evaluate_sequence(pred, gt, T, W, H, 1, j, f));
  uint8_t used[T] = {0, 0, 0};
  int next = -1;
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_JF, NULL, 0, used, &next));
  CHECK(next == 1 && used[1], "worst frame is 1 and enters U");
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_JF, NULL, 0, used, &next));
  CHECK(next == 2, "with 1 used, the next worst is 2 (got %d)", next);
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_JF, NULL, 0, used, &next));
  CHECK(next == 0 && used[0] && used[1] && used[2], "then 0");
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_JF, NULL, 0, used, &next));
  CHECK(next == 1, "U holding every frame counts as empty (got %d)", next);
  memset(used, 0, sizeof used);
  int cands[3] = {0, 2, 9};
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_J, cands, 3, used, &next));
  CHECK(next == 2, "candidates {0, 2, 9}: 2 (invalid 9 ignored), got %d", next);
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_J, cands, 1, used, &next));
  CHECK(next == 0, "candidates {0}: 0");
  CHECK_OK(mv_robot_next_frame(j, f, T, 1, MV_EVAL_METRIC_J, cands + 1, 1, used, &next));
  CHECK(next == 2, "candidates {2} already used: allowed falls back to C = {2}");
  int invalid[2] = {-3, 7};
  CHECK_OK(mv_robot_next_frame(j, NULL, T, 1, MV_EVAL_METRIC_J, invalid, 2, NULL, &next));
  CHECK(next == 1, "only invalid candidates: all frames (got %d)", next);
  double tie_j[4] = {0.5, 0.3, 0.9, 0.3}, tie_f[4] = {0.5, 0.3, 0.1, 0.3};
  CHECK_OK(mv_robot_next_frame(tie_j, tie_f, 4, 1, MV_EVAL_METRIC_JF, NULL, 0, NULL, &next));
  CHECK(next == 1, "ties go to the lowest index (got %d)", next);
  CHECK_OK(mv_robot_next_frame(tie_j, tie_f, 4, 1, MV_EVAL_METRIC_F, NULL, 0, NULL, &next));
  CHECK(next == 2, "F-only metric (got %d)", next);
  /* Two objects: s_t is the mean over objects. */
  double jo[4] = {1.0, 0.0, 0.4, 0.4}, fo[4] = {1.0, 0.0, 0.4, 0.4};
  CHECK_OK(mv_robot_next_frame(jo, fo, 2, 2, MV_EVAL_METRIC_JF, NULL, 0, NULL, &next));
  CHECK(next == 1, "two objects: mean 0.5 vs 0.4 -> frame 1 (got %d)", next);

  free(gt), free(pred);
}

/* The radius rule of 5.2 on single-label errors of a 40 x 400 frame. */
static int strokes_for(const uint8_t *gt, const uint8_t *pred, int w, int h,
                       mv_robot_scribble **out) {
  *out = NULL;
  if (mv_robot_interact(gt, pred, 1, w, h, 1, 0, NULL, out) != MV_OK) return -1;
  return (*out)->stroke_count;
}

static void test_radius_rule(void) {
  int w = 400, h = 40;
  size_t n = (size_t)w * h;
  uint8_t *gt = calloc(n, 1), *pred = calloc(n, 1);
  mv_robot_scribble *sc;
  int in, c;
  /* 2 x 300 line: A = 600, r = 2.449 erases it; the shrinking radius
   * reaches 1.446 (a 2 x 2 footprint) which keeps it. */
  fill(gt, w, 10, 11, 50, 349, 1);
  CHECK(strokes_for(gt, pred, w, h, &sc) == 1, "2-px line survives by shrinking the radius");
  if (sc) {
    in = strokes_inside(sc, 1, (box){10, 11, 50, 349}, &c);
    CHECK(in, "its stroke lies on the line");
  }
  mv_robot_scribble_free(sc);
  /* 1 x 200 line: every radius above 1 erases it -> no stroke. */
  memset(gt, 0, n);
  fill(gt, w, 10, 10, 50, 249, 1);
  CHECK(strokes_for(gt, pred, w, h, &sc) == 0, "1-px line vanishes: no stroke");
  mv_robot_scribble_free(sc);
  /* 3 x 30 = 90 px (A <= 100): used as is, a stroke along it. */
  memset(gt, 0, n);
  fill(gt, w, 10, 12, 50, 79, 1);
  CHECK(strokes_for(gt, pred, w, h, &sc) == 1, "small error used without opening");
  if (sc) CHECK(strokes_inside(sc, 1, (box){10, 12, 50, 79}, &c), "on the small error");
  mv_robot_scribble_free(sc);
  /* A large block and a small separate blob: the radius comes from the
   * total area (r = min(0.1 sqrt(36 * 44 + 25), 16) = 4.01), which erases
   * the 5 x 5 blob -> one stroke, in the block. */
  memset(gt, 0, n);
  fill(gt, w, 2, 37, 100, 143, 1);
  fill(gt, w, 5, 9, 300, 304, 1);
  CHECK(strokes_for(gt, pred, w, h, &sc) == 1, "small component next to a large one dropped");
  if (sc) CHECK(strokes_inside(sc, 1, (box){2, 37, 100, 143}, &c), "stroke in the block");
  mv_robot_scribble_free(sc);
  /* Two separate large blocks: two strokes in raster order of components. */
  memset(gt, 0, n);
  fill(gt, w, 5, 30, 250, 300, 1);
  fill(gt, w, 5, 30, 20, 70, 1);
  CHECK(strokes_for(gt, pred, w, h, &sc) == 2, "two blocks, two strokes");
  if (sc && sc->stroke_count == 2) {
    int a = 0, b = 0;
    mv_robot_scribble one = *sc, two = *sc;
    one.stroke_count = 1, two.strokes = sc->strokes + 1, two.stroke_count = 1;
    CHECK(strokes_inside(&one, 1, (box){5, 30, 20, 70}, &a) &&
              strokes_inside(&two, 1, (box){5, 30, 250, 300}, &b),
          "left block's stroke first (its first pixel comes first in raster order)");
  }
  mv_robot_scribble_free(sc);
  free(gt), free(pred);
}

static void test_multi_object(void) {
  /* Object 2 predicted as object 1: the error is object 2's (a positive
   * stroke with object_id 2); nothing for labels 0 and 1. */
  int w = 120, h = 80;
  size_t n = (size_t)w * h;
  uint8_t *gt = calloc(n, 1), *pred = calloc(n, 1);
  fill(gt, w, 10, 40, 10, 50, 1);
  fill(pred, w, 10, 40, 10, 50, 1);
  fill(gt, w, 30, 70, 70, 110, 2);
  fill(pred, w, 30, 70, 70, 110, 1);
  mv_robot_scribble *sc = NULL;
  CHECK_OK(mv_robot_interact(gt, pred, 1, w, h, 2, 0, NULL, &sc));
  int c = 0;
  CHECK(sc && sc->stroke_count == 1 && sc->strokes[0].object_id == 2 &&
            strokes_inside(sc, 2, (box){30, 70, 70, 110}, &c),
        "object 2's miss gets one object-2 stroke inside it");
  mv_robot_scribble_free(sc);
  /* gt void (255) is never an error region. */
  fill(gt, w, 30, 70, 70, 110, 255);
  CHECK_OK(mv_robot_interact(gt, pred, 1, w, h, 2, 0, NULL, &sc));
  CHECK(sc && sc->stroke_count == 0, "void pixels produce no stroke");
  mv_robot_scribble_free(sc);
  free(gt), free(pred);
}

static int message_has(const char *s) { return strstr(mv_error_message(), s) != NULL; }

static void test_errors(void) {
  uint8_t gt[12] = {0}, pred[12] = {0};
  mv_robot_scribble *sc = NULL;
  CHECK_FAILS(mv_robot_interact(NULL, pred, 1, 4, 3, 1, 0, NULL, &sc), MV_E_ARGUMENT);
  CHECK(message_has("gt_labels"), "names gt_labels: \"%s\"", mv_error_message());
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 1, 0, NULL, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 0, 3, 1, 0, NULL, &sc), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_interact(gt, pred, 0, 4, 3, 1, 0, NULL, &sc), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 0, 0, NULL, &sc), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 1, 1, NULL, &sc), MV_E_ARGUMENT);
  CHECK(message_has("frame 1"), "names the frame: \"%s\"", mv_error_message());
  pred[5] = 2;
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 1, 0, NULL, &sc), MV_E_ARGUMENT);
  CHECK(message_has("pred label 2") && message_has("above objects"),
        "labels beyond objects: \"%s\"", mv_error_message());
  pred[5] = 0;
  gt[3] = 255;
  CHECK_OK(mv_robot_interact(gt, pred, 1, 4, 3, 1, 0, NULL, &sc));
  mv_robot_scribble_free(sc);
  sc = NULL;
  mv_robot_options o;
  mv_robot_options_default(&o);
  CHECK(o.kernel_size == 0.2 && o.max_kernel_radius == 16 && o.min_nb_nodes == 4 &&
            o.nb_points == 1000,
        "service defaults");
  o.nb_points = 1001;
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 1, 0, &o, &sc), MV_E_ARGUMENT);
  mv_robot_options_default(&o);
  o.kernel_size = 1.0;
  CHECK_FAILS(mv_robot_interact(gt, pred, 1, 4, 3, 1, 0, &o, &sc), MV_E_ARGUMENT);
  CHECK(sc == NULL, "no result on failure");
  size_t len;
  CHECK_FAILS(mv_robot_scribble_json(NULL, "s", NULL, 0, &len), MV_E_ARGUMENT);
  mv_robot_scribble empty = {0, 1, 4, 3, 0, NULL};
  CHECK_FAILS(mv_robot_scribble_json(&empty, NULL, NULL, 0, &len), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_write_json(&empty, "s", NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_write_json(&empty, "s", "/nonexistent-dir/x.json"), MV_E_IO);
  double j[2] = {0.5, 0.5};
  int next;
  CHECK_FAILS(mv_robot_next_frame(NULL, j, 2, 1, MV_EVAL_METRIC_JF, NULL, 0, NULL, &next),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_next_frame(j, j, 0, 1, MV_EVAL_METRIC_JF, NULL, 0, NULL, &next),
              MV_E_ARGUMENT);
  CHECK_FAILS(mv_robot_next_frame(j, j, 2, 1, MV_EVAL_METRIC_JF, NULL, 3, NULL, &next),
              MV_E_ARGUMENT);
  double nan_j[2] = {0.5, NAN};
  CHECK_FAILS(mv_robot_next_frame(nan_j, j, 2, 1, MV_EVAL_METRIC_JF, NULL, 0, NULL, &next),
              MV_E_ARGUMENT);
}

int main(void) {
  test_disks();
  test_opening();
  test_medial_axis();
  test_skeleton_paths();
  test_bezier();
  test_robot_synthetic();
  test_radius_rule();
  test_multi_object();
  test_errors();
  return mv_test_finish();
}
