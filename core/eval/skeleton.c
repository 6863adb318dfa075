/* The medial axis of skimage.morphology.medial_axis (spec/EVALUATION.md
 * 5.3): a one-pass ordered thinning. Pixels are visited by increasing
 * Euclidean distance to the background, then by increasing corner score,
 * then by a fixed pseudo-random key, and each is removed unless that would
 * change the number of 8-connected components of its current 3 x 3 window
 * or it is an end point.
 *
 * The last key stands in for the reference's random permutation. It is a
 * hash of the pixel index, so results are deterministic, but it is not the
 * raster order the spec suggests: on a ridge two pixels wide (any shape of
 * even width has one) all pixels tie, and visiting them in raster order
 * removes them one after another from the ridge's end (each has exactly
 * three pixels in its window when visited), so the whole ridge vanishes;
 * a shuffled order thins it to one pixel like the reference does. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval/eval_internal.h"

/* Number of 8-connected components of a 3 x 3 pattern (bit r*3+c). */
static int components_3x3(int bits) {
  int seen = 0, count = 0;
  for (int start = 0; start < 9; start++) {
    if (!(bits >> start & 1) || (seen >> start & 1)) continue;
    count++;
    int stack[9], top = 0;
    stack[top++] = start;
    seen |= 1 << start;
    while (top) {
      int p = stack[--top], r = p / 3, c = p % 3;
      for (int dr = -1; dr <= 1; dr++)
        for (int dc = -1; dc <= 1; dc++) {
          int rr = r + dr, cc = c + dc;
          if (rr < 0 || rr > 2 || cc < 0 || cc > 2) continue;
          int q = rr * 3 + cc;
          if ((bits >> q & 1) && !(seen >> q & 1)) {
            seen |= 1 << q;
            stack[top++] = q;
          }
        }
    }
  }
  return count;
}

static int popcount9(int bits) {
  int n = 0;
  for (int i = 0; i < 9; i++) n += bits >> i & 1;
  return n;
}

/* keep[pattern]: the centre (bit 4) survives. */
static void build_keep_table(uint8_t keep[512]) {
  for (int bits = 0; bits < 512; bits++) {
    int centre = bits >> 4 & 1;
    int changes = components_3x3(bits) != components_3x3(bits & ~(1 << 4));
    keep[bits] = (uint8_t)(centre && (changes || popcount9(bits) < 3));
  }
}

/* Exact squared Euclidean distance to the nearest zero pixel (Felzenszwalb
 * and Huttenlocher): per column to the nearest zero, then the lower envelope
 * of parabolas along each row. The image must contain a zero pixel in every
 * column (the padding guarantees it). */
static mv_status squared_distance(const uint8_t *img, int w, int h, double *d2) {
  double *f = malloc((size_t)w * sizeof *f), *z = malloc(((size_t)w + 1) * sizeof *z);
  int *v = malloc((size_t)w * sizeof *v);
  if (!f || !z || !v) {
    free(f), free(z), free(v);
    return mv_fail(MV_E_MEMORY, "mv_medial_axis: out of memory for the distance transform");
  }
  const double big = 1e300;
  for (int x = 0; x < w; x++) {
    double last = -1;  /* row of the last zero above, -1 if none */
    for (int y = 0; y < h; y++) {
      size_t i = (size_t)y * w + x;
      if (!img[i]) last = y;
      d2[i] = last < 0 ? big : (y - last);
    }
    last = -1;
    for (int y = h - 1; y >= 0; y--) {
      size_t i = (size_t)y * w + x;
      if (!img[i]) last = y;
      if (last >= 0 && last - y < d2[i]) d2[i] = last - y;
    }
    for (int y = 0; y < h; y++) {
      size_t i = (size_t)y * w + x;
      d2[i] = d2[i] >= big ? big : d2[i] * d2[i];
    }
  }
  for (int y = 0; y < h; y++) {
    double *row = d2 + (size_t)y * w;
    memcpy(f, row, (size_t)w * sizeof *f);
    int k = 0;
    v[0] = 0;
    z[0] = -big, z[1] = big;
    for (int q = 1; q < w; q++) {
      /* z[0] = -big keeps k >= 0: every finite s is above it. */
      double s;
      for (;;) {
        int p = v[k];
        s = ((f[q] + (double)q * q) - (f[p] + (double)p * p)) / (2.0 * (q - p));
        if (s > z[k] || k == 0) break;
        k--;
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = big;
    }
    k = 0;
    for (int q = 0; q < w; q++) {
      while (z[k + 1] < q) k++;
      double dq = q - v[k];
      row[q] = dq * dq + f[v[k]];
    }
  }
  free(f), free(z), free(v);
  return MV_OK;
}

typedef struct visit {
  double d2;
  int corner;
  uint64_t shuffle;  /* fixed pseudo-random tie-break */
  int index;         /* raster index in the padded image */
} visit;

/* splitmix64 of the index: a fixed permutation-like key. */
static uint64_t shuffle_key(uint64_t index) {
  uint64_t z = index + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int visit_compare(const void *a, const void *b) {
  const visit *p = a, *q = b;
  if (p->d2 != q->d2) return p->d2 < q->d2 ? -1 : 1;
  if (p->corner != q->corner) return p->corner < q->corner ? -1 : 1;
  if (p->shuffle != q->shuffle) return p->shuffle < q->shuffle ? -1 : 1;
  return (p->index > q->index) - (p->index < q->index);
}

static int pattern_at(const uint8_t *img, int w, size_t i) {
  const uint8_t *up = img + i - w, *mid = img + i, *down = img + i + w;
  return (up[-1] != 0) | (up[0] != 0) << 1 | (up[1] != 0) << 2 | (mid[-1] != 0) << 3 |
         (mid[0] != 0) << 4 | (mid[1] != 0) << 5 | (down[-1] != 0) << 6 |
         (down[0] != 0) << 7 | (down[1] != 0) << 8;
}

mv_status mv_medial_axis(const uint8_t *mask, int width, int height, uint8_t *out) {
  MV_CHECK_ARG(mask && out, "mv_medial_axis: %s is NULL", mask ? "out" : "mask");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_medial_axis: size %d x %d is not positive", width,
               height);
  int w = width + 2, h = height + 2;
  size_t padded = (size_t)w * h;
  uint8_t *img = calloc(padded, 1);
  double *d2 = malloc(padded * sizeof *d2);
  if (!img || !d2) {
    free(img), free(d2);
    return mv_fail(MV_E_MEMORY, "mv_medial_axis: out of memory for %d x %d", width, height);
  }
  size_t fg = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      uint8_t v = mask[(size_t)y * width + x] != 0;
      img[(size_t)(y + 1) * w + x + 1] = v;
      fg += v;
    }
  visit *order = NULL;
  mv_status s = MV_OK;
  if (fg) {
    order = malloc(fg * sizeof *order);
    s = order ? squared_distance(img, w, h, d2)
              : mv_fail(MV_E_MEMORY, "mv_medial_axis: out of memory for %zu pixels", fg);
  }
  if (s == MV_OK && fg) {
    size_t n = 0;
    for (int y = 1; y < h - 1; y++)
      for (int x = 1; x < w - 1; x++) {
        size_t i = (size_t)y * w + x;
        if (!img[i]) continue;
        /* Corner score: background pixels among the 3 x 3 (9 - foreground). */
        int corner = 9 - popcount9(pattern_at(img, w, i));
        order[n++] = (visit){d2[i], corner, shuffle_key(i), (int)i};
      }
    qsort(order, n, sizeof *order, visit_compare);
    uint8_t keep[512];
    build_keep_table(keep);
    /* The padding keeps every visited pixel's window inside the image. */
    for (size_t k = 0; k < n; k++) {
      size_t i = (size_t)order[k].index;
      img[i] = keep[pattern_at(img, w, i)];
    }
  }
  if (s == MV_OK)
    for (int y = 0; y < height; y++)
      memcpy(out + (size_t)y * width, img + (size_t)(y + 1) * w + 1, (size_t)width);
  free(order);
  free(img);
  free(d2);
  return s;
}
