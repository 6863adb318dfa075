/* J and F (spec/EVALUATION.md sections 1-3): hand-counted small cases, the
 * spec's conformance table on 854 x 480, boundary-map border rules, empty
 * conventions, void pixels, multi-object frames, a naive re-implementation
 * on random masks, sequence/dataset aggregates and argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "testutil.h"

static uint8_t *rect(int w, int h, int y0, int y1, int x0, int x1) {
  uint8_t *m = calloc((size_t)w * h, 1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      if (y >= 0 && y < h && x >= 0 && x < w) m[(size_t)y * w + x] = 1;
  return m;
}

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* ---- naive references, written straight from the spec's formulas ---- */

static uint8_t at(const uint8_t *m, int w, int h, int y, int x) {
  return y >= 0 && y < h && x >= 0 && x < w ? m[(size_t)y * w + x] != 0 : 0;
}

static void naive_boundary(const uint8_t *s, int w, int h, uint8_t *b) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int v = at(s, w, h, y, x), e = at(s, w, h, y, x + 1), d = at(s, w, h, y + 1, x),
          de = at(s, w, h, y + 1, x + 1), r;
      if (y < h - 1 && x < w - 1) r = (v ^ e) | (v ^ d) | (v ^ de);
      else if (y == h - 1 && x < w - 1) r = v ^ e;
      else if (x == w - 1 && y < h - 1) r = v ^ d;
      else r = 0;
      b[(size_t)y * w + x] = (uint8_t)r;
    }
}

static double naive_f(const uint8_t *p, const uint8_t *g, int w, int h, int tol) {
  size_t n = (size_t)w * h;
  uint8_t *bp = malloc(n), *bg = malloc(n);
  naive_boundary(p, w, h, bp);
  naive_boundary(g, w, h, bg);
  size_t np = 0, ng = 0, mp = 0, mg = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int hp = 0, hg = 0;
      for (int dy = -tol; dy <= tol; dy++)
        for (int dx = -tol; dx <= tol; dx++) {
          if (dy * dy + dx * dx > tol * tol) continue;
          hp |= at(bp, w, h, y + dy, x + dx);
          hg |= at(bg, w, h, y + dy, x + dx);
        }
      size_t i = (size_t)y * w + x;
      np += bp[i], ng += bg[i];
      if (bp[i] && hg) mp++;
      if (bg[i] && hp) mg++;
    }
  free(bp), free(bg);
  double pr, rc;
  if (np == 0 && ng > 0) pr = 1, rc = 0;
  else if (np > 0 && ng == 0) pr = 0, rc = 1;
  else if (np == 0 && ng == 0) pr = 1, rc = 1;
  else pr = (double)mp / np, rc = (double)mg / ng;
  return pr + rc == 0 ? 0 : 2 * pr * rc / (pr + rc);
}

static uint64_t rng_state = 0x1234567;
static unsigned rnd(unsigned n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rng_state >> 33) % n;
}

/* A few random rectangles and speckles. */
static void random_mask(uint8_t *m, int w, int h) {
  memset(m, 0, (size_t)w * h);
  int blobs = 1 + (int)rnd(3);
  for (int b = 0; b < blobs; b++) {
    int y0 = (int)rnd((unsigned)h), x0 = (int)rnd((unsigned)w);
    int y1 = y0 + (int)rnd(8), x1 = x0 + (int)rnd(10);
    for (int y = y0; y <= y1 && y < h; y++)
      for (int x = x0; x <= x1 && x < w; x++) m[(size_t)y * w + x] = 1;
  }
  for (int s = (int)rnd(6); s > 0; s--) m[rnd((unsigned)(w * h))] ^= 1;
}

/* ---- tests ---- */

static void test_tolerance_and_disk(void) {
  CHECK(mv_boundary_tolerance(854, 480) == 8, "tolerance 854x480 = %d", mv_boundary_tolerance(854, 480));
  CHECK(mv_boundary_tolerance(640, 480) == 7, "tolerance 640x480 = %d", mv_boundary_tolerance(640, 480));
  CHECK(mv_boundary_tolerance(12, 10) == 1, "tolerance 12x10 = %d", mv_boundary_tolerance(12, 10));
  CHECK(mv_boundary_tolerance(0, 10) == 0, "tolerance of an empty size");
  mv_disk d;
  CHECK_OK(mv_disk_make(8, &d));
  CHECK(d.n == 17 && d.origin == 8 && d.cells == 197, "disk(8): n %d origin %d cells %d", d.n,
        d.origin, d.cells);
  mv_disk_release(&d);
  CHECK_OK(mv_disk_make(1, &d));
  CHECK(d.cells == 5 && d.lo[0] == 1 && d.hi[0] == 1 && d.lo[1] == 0 && d.hi[1] == 2,
        "disk(1) is the 5-cell cross");
  mv_disk_release(&d);
}

static void test_boundary_map(void) {
  /* The spec's example: object rows 100..199, columns 200..399 -> 600 pixels
   * on rows 99, 199 (columns 199..399) and columns 199, 399 (rows 99..199). */
  int w = 854, h = 480;
  uint8_t *m = rect(w, h, 100, 199, 200, 399), *b = malloc((size_t)w * h);
  size_t count = 0;
  mv_boundary_map(m, w, h, b, &count);
  CHECK(count == 600, "spec rectangle boundary has %zu pixels, want 600", count);
  int where_ok = 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int want = ((y == 99 || y == 199) && x >= 199 && x <= 399) ||
                 ((x == 199 || x == 399) && y >= 99 && y <= 199);
      if (b[(size_t)y * w + x] != want) where_ok = 0;
    }
  CHECK(where_ok, "boundary pixels exactly on rows 99/199 and columns 199/399");
  free(m);

  /* Borders never produce boundary: top-left object (rows/cols 0..9 of
   * 20x20) -> column 9 rows 0..9 and row 9 columns 0..8 = 19 pixels. */
  m = rect(20, 20, 0, 9, 0, 9);
  mv_boundary_map(m, 20, 20, b, &count);
  CHECK(count == 19 && b[0] == 0 && b[9] == 1 && b[9 * 20] == 1,
        "top-left object: %zu boundary pixels, want 19", count);
  free(m);
  /* Bottom-right object (rows/cols 10..19): row 9 columns 9..19 and column
   * 9 rows 10..19 = 21 pixels, nothing on the last row/column. */
  m = rect(20, 20, 10, 19, 10, 19);
  mv_boundary_map(m, 20, 20, b, &count);
  int last_clear = 1;
  for (int i = 10; i < 20; i++) last_clear &= !b[19 * 20 + i] && !b[i * 20 + 19];
  CHECK(count == 21 && last_clear && b[9 * 20 + 19] == 1,
        "bottom-right object: %zu boundary pixels, want 21, none on the border", count);
  free(m);
  /* The whole frame set: empty boundary map. */
  m = rect(20, 20, 0, 19, 0, 19);
  mv_boundary_map(m, 20, 20, b, &count);
  CHECK(count == 0, "full frame has an empty boundary (%zu)", count);
  free(m);
  free(b);
}

/* 12 x 10 frame (tolerance 1: the 5-cell cross). GT rows 2..5 columns 2..6,
 * prediction the same shape moved 2 columns right (columns 4..8).
 * J: intersection rows 2..5 x columns 4..6 = 12, union 20 + 20 - 12 = 28,
 *    J = 12/28 = 3/7.
 * Boundaries (18 pixels each): GT rows 1 and 5 at columns 1..6, columns 1
 * and 6 at rows 2..4; prediction rows 1 and 5 at columns 3..8, columns 3
 * and 8 at rows 2..4.
 * Precision: rows 1/5 columns 3..6 lie on GT, column 7 touches (r, 6):
 *    5 + 5; column 3 rows 2 and 4 touch rows 1/5 of GT: 2; column 8: 0.
 *    12/18. Recall by symmetry of the same count: rows 1/5 columns 2..6
 *    (5 + 5), column 6 rows 2 and 4 (2), column 1: 0 -> 12/18.
 * F = 2/3. */
static void test_hand_counted(void) {
  int w = 12, h = 10;
  uint8_t *g = rect(w, h, 2, 5, 2, 6), *p = rect(w, h, 2, 5, 4, 8);
  double j = -1, f = -1;
  CHECK_OK(mv_jaccard(p, g, w, h, &j));
  CHECK_OK(mv_boundary_f(p, g, w, h, &f));
  CHECK(near(j, 3.0 / 7.0, 1e-15), "hand J = %.17g, want 3/7", j);
  CHECK(near(f, 2.0 / 3.0, 1e-15), "hand F = %.17g, want 2/3", f);
  uint8_t b[120];
  size_t n = 0;
  mv_boundary_map(g, w, h, b, &n);
  CHECK(n == 18 && b[1 * w + 1] && b[5 * w + 6] && b[3 * w + 1] && !b[2 * w + 2],
        "hand GT boundary: %zu pixels, want 18", n);
  free(p);
  /* One pixel off a 2x2 square on a 6x6 frame (tolerance 1): GT rows and
   * columns 2..3 (4 px), prediction = GT minus (3,3) -> J = 3/4.
   * GT boundary (8): (1,1..3), (2,1), (2,3), (3,1..3).
   * Prediction boundary (8): (1,1..3), (2,1..3), (3,1..2) -- (2,2) now
   * differs from its lower-right neighbour, (3,3) is no longer set.
   * Each lies on, or next to, a pixel of the other boundary ((2,2) touches
   * GT (1,2); GT (3,3) touches (2,3)) -> precision = recall = 1, F = 1. */
  free(g);
  g = rect(6, 6, 2, 3, 2, 3);
  p = rect(6, 6, 2, 3, 2, 3);
  p[3 * 6 + 3] = 0;
  CHECK_OK(mv_jaccard(p, g, 6, 6, &j));
  CHECK_OK(mv_boundary_f(p, g, 6, 6, &f));
  mv_boundary_map(p, 6, 6, b, &n);
  CHECK(j == 0.75 && f == 1.0 && n == 8, "one pixel off: J %g (3/4), F %g (1), |Bp| %zu (8)", j,
        f, n);
  free(g), free(p);
}

static void test_conformance(void) {
  int w = 854, h = 480;
  uint8_t *g = rect(w, h, 100, 199, 200, 399);
  uint8_t *empty = calloc((size_t)w * h, 1);
  struct {
    const char *name;
    uint8_t *pred;
    double j, f;
  } rows[] = {
      {"identical", rect(w, h, 100, 199, 200, 399), 1.0, 1.0},
      {"moved 5 columns right", rect(w, h, 100, 199, 205, 404), 0.951220, 1.0},
      {"moved 10 columns right", rect(w, h, 100, 199, 210, 409), 0.904762, 0.690000},
      {"moved 12 rows down", rect(w, h, 112, 211, 200, 399), 0.785714, 0.350000},
      {"shrunk 20 px per side", rect(w, h, 120, 179, 220, 379), 0.480000, 0.0},
      {"empty", calloc((size_t)w * h, 1), 0.0, 0.0},
      {"whole frame", rect(w, h, 0, h - 1, 0, w - 1), 0.048790, 0.0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    double j = -1, f = -1;
    CHECK_OK(mv_jaccard(rows[i].pred, g, w, h, &j));
    CHECK_OK(mv_boundary_f(rows[i].pred, g, w, h, &f));
    CHECK(near(j, rows[i].j, 5e-7), "conformance %s: J %.6f want %.6f", rows[i].name, j, rows[i].j);
    CHECK(near(f, rows[i].f, 5e-7), "conformance %s: F %.6f want %.6f", rows[i].name, f, rows[i].f);
    printf("conformance %-24s J %.6f F %.6f\n", rows[i].name, j, f);
    free(rows[i].pred);
  }
  /* Exact fractions behind the table. */
  double j, f;
  uint8_t *p = rect(w, h, 100, 199, 210, 409);
  CHECK_OK(mv_jaccard(p, g, w, h, &j));
  CHECK_OK(mv_boundary_f(p, g, w, h, &f));
  CHECK(j == 19000.0 / 21000.0 && near(f, 414.0 / 600.0, 1e-15),
        "moved 10: J = 19000/21000, F = 414/600 (got %.17g, %.17g)", j, f);
  free(p);
  /* Empty ground truth. */
  CHECK_OK(mv_jaccard(empty, empty, w, h, &j));
  CHECK_OK(mv_boundary_f(empty, empty, w, h, &f));
  CHECK(j == 1.0 && f == 1.0, "gt empty, pred empty: J %g F %g (want 1, 1)", j, f);
  printf("conformance %-24s J %.6f F %.6f\n", "gt empty, pred empty", j, f);
  CHECK_OK(mv_jaccard(g, empty, w, h, &j));
  CHECK_OK(mv_boundary_f(g, empty, w, h, &f));
  CHECK(j == 0.0 && f == 0.0, "gt empty, pred rectangle: J %g F %g (want 0, 0)", j, f);
  printf("conformance %-24s J %.6f F %.6f\n", "gt empty, pred rectangle", j, f);
  /* Both full frames: both boundary maps are empty -> F = 1. */
  uint8_t *full = rect(w, h, 0, h - 1, 0, w - 1);
  CHECK_OK(mv_boundary_f(full, full, w, h, &f));
  CHECK(f == 1.0, "full vs full: F %g (both boundaries empty)", f);
  free(full), free(empty), free(g);
}

static void test_against_naive(void) {
  int w = 23, h = 17, mismatches = 0, tested = 0;
  uint8_t *p = malloc((size_t)w * h), *g = malloc((size_t)w * h);
  uint8_t *b1 = malloc((size_t)w * h), *b2 = malloc((size_t)w * h);
  for (int trial = 0; trial < 200; trial++) {
    random_mask(p, w, h);
    random_mask(g, w, h);
    size_t n;
    mv_boundary_map(p, w, h, b1, &n);
    naive_boundary(p, w, h, b2);
    if (memcmp(b1, b2, (size_t)w * h)) mismatches++;
    for (int tol = 1; tol <= 4; tol += 3) {
      double f = -1, want = naive_f(p, g, w, h, tol);
      if (mv_boundary_f_tol(p, g, w, h, tol, &f) != MV_OK || !near(f, want, 1e-12)) {
        if (mismatches < 5) printf("trial %d tol %d: F %.17g naive %.17g\n", trial, tol, f, want);
        mismatches++;
      }
      tested++;
    }
  }
  CHECK(mismatches == 0, "boundary maps and F agree with the naive formulas (%d of %d differ)",
        mismatches, tested);
  free(p), free(g), free(b1), free(b2);
}

static void test_frames_and_objects(void) {
  /* 40 x 30, object 1 = rows 2..11 columns 2..11 (100 px), object 2 = rows
   * 15..24 columns 20..34 (150 px). The prediction gives 10 pixels of object
   * 1 (row 11, columns 2..11) to object 2. */
  int w = 40, h = 30;
  size_t n = (size_t)w * h;
  uint8_t *gt = calloc(n, 1), *pred = calloc(n, 1);
  for (int y = 2; y <= 11; y++)
    for (int x = 2; x <= 11; x++) gt[y * w + x] = pred[y * w + x] = 1;
  for (int y = 15; y <= 24; y++)
    for (int x = 20; x <= 34; x++) gt[y * w + x] = pred[y * w + x] = 2;
  for (int x = 2; x <= 11; x++) pred[11 * w + x] = 2;
  double j[2], f[2];
  CHECK_OK(mv_evaluate_frame(pred, gt, w, h, 2, j, f));
  CHECK(j[0] == 90.0 / 100.0, "object 1: J %.17g want 90/100", j[0]);
  CHECK(j[1] == 150.0 / 160.0, "object 2: J %.17g want 150/160", j[1]);
  /* F per object equals F on the binary masks. */
  uint8_t *pk = malloc(n), *gk = malloc(n);
  for (int k = 1; k <= 2; k++) {
    for (size_t i = 0; i < n; i++) pk[i] = pred[i] == k, gk[i] = gt[i] == k;
    double fk = -1;
    CHECK_OK(mv_boundary_f(pk, gk, w, h, &fk));
    CHECK(f[k - 1] == fk, "object %d: F %g equals the binary F %g", k, f[k - 1], fk);
  }
  /* Object 1 lost its last row: within the 1-pixel tolerance (F = 1);
   * object 2 gained a far-away piece (F < 1). */
  CHECK(f[0] == 1.0 && f[1] < 1.0, "F: object 1 %g (1), object 2 %g (< 1)", f[0], f[1]);
  /* Void: gt 255 over the stray pixels hides them; J and F of object 2 are
   * then computed without those pixels (both masks identical -> 1, 1). */
  for (int x = 2; x <= 11; x++) gt[11 * w + x] = 255;
  CHECK_OK(mv_evaluate_frame(pred, gt, w, h, 2, j, f));
  CHECK(j[0] == 1.0 && f[0] == 1.0 && j[1] == 1.0 && f[1] == 1.0,
        "void pixels are left out: J %g %g, F %g %g", j[0], j[1], f[0], f[1]);
  /* NULL j or f skips that metric. */
  double only[2] = {-1, -1};
  CHECK_OK(mv_evaluate_frame(pred, gt, w, h, 2, only, NULL));
  CHECK(only[0] == 1.0, "J alone");

  /* A sequence: frame t = frame with pred shifted t columns; frame-major. */
  int T = 4;
  uint8_t *pv = calloc(n * T, 1), *gv = calloc(n * T, 1);
  for (int t = 0; t < T; t++)
    for (int y = 5; y <= 14; y++)
      for (int x = 5; x <= 14; x++) {
        gv[t * n + y * w + x] = 1;
        pv[t * n + y * w + x + t] = 1;
      }
  double sj[4], sf[4];
  CHECK_OK(mv_evaluate_sequence(pv, gv, T, w, h, 1, sj, sf));
  int seq_ok = 1;
  for (int t = 0; t < T; t++) {
    double fj, ff;
    mv_evaluate_frame(pv + t * n, gv + t * n, w, h, 1, &fj, &ff);
    /* 10 x 10 squares overlapping 10 - t columns: J = 10(10-t) / 10(10+t). */
    seq_ok &= sj[t] == fj && sf[t] == ff && near(sj[t], (10.0 - t) / (10.0 + t), 1e-15);
  }
  CHECK(seq_ok, "sequence values equal per-frame values (J = (10-t)/(10+t))");
  free(pv), free(gv), free(pk), free(gk), free(gt), free(pred);
}

static void test_statistics(void) {
  /* N = 8: edges round(1 + i*7/4) - 1 = 0, 2, 4, 5, 7 (4.5 rounds up);
   * decay = mean(v0..v2) - mean(v5..v7) = 0.9 - 0.7/3. */
  double v[8] = {1.0, 0.9, 0.8, 0.6, 0.5, 0.4, 0.2, 0.1};
  mv_eval_statistics s;
  CHECK_OK(mv_eval_statistics_compute(v, 8, &s));
  CHECK(near(s.mean, 4.5 / 8, 1e-15) && s.recall == 0.5 && near(s.decay, 0.9 - 0.7 / 3, 1e-15),
        "N=8: mean %g recall %g decay %g", s.mean, s.recall, s.decay);
  /* N = 3: edges 0, 1, 1, 2, 2 -> decay = mean(v0, v1) - v2. */
  double w3[3] = {0.9, 0.7, 0.2};
  CHECK_OK(mv_eval_statistics_compute(w3, 3, &s));
  CHECK(near(s.decay, 0.8 - 0.2, 1e-15) && near(s.recall, 2.0 / 3, 1e-15),
        "N=3: decay %g recall %g", s.decay, s.recall);
  /* N = 5: edges 0..4 -> decay = mean(v0, v1) - mean(v3, v4). */
  double w5[5] = {1.0, 0.8, 0.6, 0.4, 0.2};
  CHECK_OK(mv_eval_statistics_compute(w5, 5, &s));
  CHECK(near(s.decay, 0.9 - 0.3, 1e-15), "N=5: decay %g", s.decay);
  double one = 0.7;
  CHECK_OK(mv_eval_statistics_compute(&one, 1, &s));
  CHECK(s.mean == 0.7 && s.recall == 1.0 && s.decay == 0.0, "N=1");
  /* 0.5 exactly is not a success (> 0.5). */
  double half = 0.5;
  CHECK_OK(mv_eval_statistics_compute(&half, 1, &s));
  CHECK(s.recall == 0.0, "recall counts values > 0.5 only");

  /* Objects: 5 frames x 2 objects (frame-major). */
  double j[10] = {1.0, 0.2, 0.8, 0.4, 0.6, 0.6, 0.4, 0.8, 0.2, 1.0};
  double f[10] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  mv_object_score o[2];
  CHECK_OK(mv_evaluate_objects(j, f, 5, 2, MV_EVAL_ALL_FRAMES, o));
  CHECK(near(o[0].j.mean, 0.6, 1e-15) && near(o[1].j.mean, 0.6, 1e-15) &&
            near(o[0].j.decay, 0.9 - 0.3, 1e-15) && near(o[1].j.decay, 0.3 - 0.9, 1e-15) &&
            near(o[0].jf, 0.55, 1e-15) && o[0].f.recall == 0.0,
        "objects: J means %g %g decays %g %g, J&F %g", o[0].j.mean, o[1].j.mean, o[0].j.decay,
        o[1].j.decay, o[0].jf);
  /* Semi-supervised: frames 1..3 only. */
  CHECK_OK(mv_evaluate_objects(j, f, 5, 2, MV_EVAL_SEMI_SUPERVISED, o));
  CHECK(near(o[0].j.mean, 0.6, 1e-15) && near(o[0].j.decay, 0.7 - 0.4, 1e-15) &&
            near(o[0].j.recall, 2.0 / 3, 1e-15),
        "semi-supervised: mean %g (0.6) decay %g (0.3) recall %g", o[0].j.mean, o[0].j.decay,
        o[0].j.recall);
  /* Dataset: objects averaged. */
  mv_object_score d[3];
  memset(d, 0, sizeof d);
  d[0].j.mean = 0.9, d[1].j.mean = 0.6, d[2].j.mean = 0.3;
  d[0].f.mean = 1.0, d[1].f.mean = 0.5, d[2].f.mean = 0.0;
  double dj, df, djf;
  CHECK_OK(mv_evaluate_dataset(d, 3, &dj, &df, &djf));
  CHECK(near(dj, 0.6, 1e-15) && near(df, 0.5, 1e-15) && near(djf, 0.55, 1e-15),
        "dataset J %g F %g J&F %g", dj, df, djf);
}

static int message_has(const char *s) { return strstr(mv_error_message(), s) != NULL; }

static void test_errors(void) {
  uint8_t a[6] = {0, 1, 2, 0, 1, 0}, b[6] = {0, 1, 1, 0, 2, 0};
  double v[2], j;
  CHECK_FAILS(mv_jaccard(NULL, a, 3, 2, &j), MV_E_ARGUMENT);
  CHECK(message_has("mv_jaccard") && message_has("pred"), "message names the function and pred");
  CHECK_FAILS(mv_jaccard(a, a, 0, 2, &j), MV_E_ARGUMENT);
  CHECK_FAILS(mv_jaccard(a, a, 3, 2, NULL), MV_E_ARGUMENT);
  CHECK_FAILS(mv_boundary_f(a, NULL, 3, 2, &j), MV_E_ARGUMENT);
  CHECK_FAILS(mv_boundary_f(a, a, 3, -1, &j), MV_E_ARGUMENT);
  CHECK_OK(mv_evaluate_frame(a, b, 3, 2, 2, v, v));
  CHECK_FAILS(mv_evaluate_frame(a, b, 3, 2, 1, v, v), MV_E_ARGUMENT);
  CHECK(message_has("above objects"), "labels beyond objects: \"%s\"", mv_error_message());
  b[5] = 255;  /* void is fine in gt... */
  CHECK_OK(mv_evaluate_frame(a, b, 3, 2, 2, v, v));
  CHECK_FAILS(mv_evaluate_frame(b, a, 3, 2, 2, v, v), MV_E_ARGUMENT);  /* ...not in pred */
  b[5] = 7;
  CHECK_FAILS(mv_evaluate_frame(a, b, 3, 2, 2, v, v), MV_E_ARGUMENT);
  CHECK(message_has("gt label 7"), "gt label named: \"%s\"", mv_error_message());
  CHECK_FAILS(mv_evaluate_frame(a, a, 3, 2, 0, v, v), MV_E_ARGUMENT);
  CHECK_FAILS(mv_evaluate_frame(a, a, 3, 2, 255, v, v), MV_E_ARGUMENT);
  CHECK_FAILS(mv_evaluate_frame(NULL, a, 3, 2, 2, v, v), MV_E_ARGUMENT);
  CHECK_FAILS(mv_evaluate_sequence(a, a, 0, 3, 2, 2, v, v), MV_E_ARGUMENT);
  mv_eval_statistics s;
  CHECK_FAILS(mv_eval_statistics_compute(v, 0, &s), MV_E_ARGUMENT);
  CHECK_FAILS(mv_eval_statistics_compute(NULL, 1, &s), MV_E_ARGUMENT);
  double bad = NAN;
  CHECK_FAILS(mv_eval_statistics_compute(&bad, 1, &s), MV_E_ARGUMENT);
  mv_object_score o;
  double jj[2] = {1, 1};
  CHECK_FAILS(mv_evaluate_objects(jj, jj, 2, 1, MV_EVAL_SEMI_SUPERVISED, &o), MV_E_ARGUMENT);
  CHECK(message_has("T >= 3"), "semi-supervised needs 3 frames: \"%s\"", mv_error_message());
  CHECK_FAILS(mv_evaluate_objects(jj, jj, 2, 1, (mv_eval_frames)9, &o), MV_E_ARGUMENT);
  CHECK_FAILS(mv_evaluate_dataset(&o, 0, NULL, NULL, NULL), MV_E_ARGUMENT);
}

int main(void) {
  test_tolerance_and_disk();
  test_boundary_map();
  test_hand_counted();
  test_conformance();
  test_against_naive();
  test_frames_and_objects();
  test_statistics();
  test_errors();
  return mv_test_finish();
}
