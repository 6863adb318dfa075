/* Multilevel banded minimum cut: see banded_cut.h. */
#include "interaction/banded_cut.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interaction/maxflow.h"

enum { E = 4 }; /* forward edge planes of an 8-connected grid */
/* A block grid of at least this many pixels is itself solved by a banded
 * cut (854x480: 427x240 blocks by one of 214x120): on the DAVIS robot's
 * strokes, 126 instead of 160 CPU ms per frame, J against the truth 0.624
 * instead of 0.610 (README, "Where graphcut's CPU goes"). */
enum { NEST_MIN_PIXELS = 50000 };
/* The forward directions in the order of the edge planes (maxflow.h). */
static const int FDX[E] = {1, 0, 1, -1}, FDY[E] = {0, 1, 1, 1};

struct mv_banded_cut {
  int width, height, cw, ch, band;
  mv_maxflow *coarse, *fine;
  mv_banded_cut *nested; /* solves the block grid instead of coarse, when it is large */
  void *block;
  int32_t *csource, *csink, *cedge; /* the grid of 2x2 blocks */
  int32_t *fsource, *fsink, *fedge; /* the band on the full grid */
  uint8_t *cside, *label, *seed, *wide, *in_band, *fside;
  int coarse_solved;
  int bx0, by0, bw, bh, fine_w, fine_h; /* the band's bounding box: the fine solver's grid */
  int threads;
};

static size_t carve(size_t *at, size_t size) {
  size_t start = *at;
  *at = start + ((size + 63) & ~(size_t)63);
  return start;
}

void mv_banded_cut_destroy(mv_banded_cut *c) {
  if (!c) return;
  mv_maxflow_destroy(c->coarse);
  mv_banded_cut_destroy(c->nested);
  mv_maxflow_destroy(c->fine);
  mv_maxflow_free(c->block);
  free(c);
}

mv_status mv_banded_cut_create(int width, int height, int band, int threads, mv_banded_cut **out) {
  MV_CHECK_ARG(out, "mv_banded_cut_create: NULL output");
  *out = NULL;
  MV_CHECK_ARG(width > 0 && height > 0, "mv_banded_cut_create: grid size %dx%d must be positive",
               width, height);
  MV_CHECK_ARG(band >= 1 && band <= 64, "mv_banded_cut_create: band %d, expected 1..64", band);
  mv_banded_cut *c = calloc(1, sizeof *c);
  if (!c) return mv_fail(MV_E_MEMORY, "mv_banded_cut_create: out of memory");
  c->width = width;
  c->height = height;
  c->cw = (width + 1) / 2;
  c->ch = (height + 1) / 2;
  c->band = band;
  c->threads = threads;
  const size_t n = (size_t)width * height, cn = (size_t)c->cw * c->ch;
  size_t size = 0;
  const size_t at_cs = carve(&size, cn * 4), at_ct = carve(&size, cn * 4);
  const size_t at_ce = carve(&size, cn * E * 4), at_fs = carve(&size, n * 4);
  const size_t at_ft = carve(&size, n * 4), at_fe = carve(&size, n * E * 4);
  const size_t at_cside = carve(&size, cn), at_label = carve(&size, n);
  const size_t at_seed = carve(&size, n), at_wide = carve(&size, n);
  const size_t at_band = carve(&size, n), at_fside = carve(&size, n);
  c->block = mv_maxflow_alloc(size);
  mv_status s = c->block ? MV_OK
                         : mv_fail(MV_E_MEMORY, "mv_banded_cut_create: out of memory (%dx%d)",
                                   width, height);
  if (s == MV_OK && cn >= NEST_MIN_PIXELS)
    s = mv_banded_cut_create(c->cw, c->ch, band, threads, &c->nested);
  else if (s == MV_OK)
    s = mv_maxflow_create(c->cw, c->ch, 8, &c->coarse);
  if (s == MV_OK && c->coarse) s = mv_maxflow_set_threads(c->coarse, threads);
  if (s != MV_OK) {
    mv_banded_cut_destroy(c);
    return s;
  }
  uint8_t *b = c->block;
  c->csource = (int32_t *)(b + at_cs), c->csink = (int32_t *)(b + at_ct);
  c->cedge = (int32_t *)(b + at_ce);
  c->fsource = (int32_t *)(b + at_fs), c->fsink = (int32_t *)(b + at_ft);
  c->fedge = (int32_t *)(b + at_fe);
  c->cside = b + at_cside, c->label = b + at_label, c->seed = b + at_seed;
  c->wide = b + at_wide, c->in_band = b + at_band, c->fside = b + at_fside;
  *out = c;
  return MV_OK;
}

static inline int32_t saturate(int64_t v) {
  return v > MV_MAXFLOW_INFINITE ? MV_MAXFLOW_INFINITE : (int32_t)v;
}

/* The block grid's edges: each pixel edge that joins two blocks adds its
 * capacity to the block edge between them (edges inside a block vanish:
 * both ends have the block's label). */
static void coarse_edges(mv_banded_cut *c, const int32_t *edge) {
  const int w = c->width, h = c->height, cw = c->cw;
  memset(c->cedge, 0, (size_t)c->cw * c->ch * E * sizeof *c->cedge);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int32_t *e = edge + ((size_t)y * w + x) * E;
      for (int k = 0; k < E; k++) {
        if (!e[k]) continue;
        const int qx = x + FDX[k], qy = y + FDY[k];
        if (qx < 0 || qx >= w || qy >= h) continue;
        int bx = x >> 1, by = y >> 1, dx = (qx >> 1) - bx, dy = (qy >> 1) - by;
        if (!dx && !dy) continue;
        if (dy == 0 && dx < 0) bx += dx, dx = 1; /* from the other block, forward */
        const int dir = dy == 0 ? 0 : dx == 0 ? 1 : dx > 0 ? 2 : 3;
        int32_t *to = &c->cedge[((size_t)by * cw + bx) * E + dir];
        *to = saturate((int64_t)*to + e[k]);
      }
    }
}

static void coarse_terminals(mv_banded_cut *c, const int32_t *source, const int32_t *sink) {
  const int w = c->width, h = c->height, cw = c->cw;
  for (int by = 0; by < c->ch; by++)
    for (int bx = 0; bx < cw; bx++) {
      int64_t s = 0, t = 0;
      for (int y = 2 * by; y < 2 * by + 2 && y < h; y++)
        for (int x = 2 * bx; x < 2 * bx + 2 && x < w; x++) {
          s += source[(size_t)y * w + x];
          t += sink[(size_t)y * w + x];
        }
      c->csource[(size_t)by * cw + bx] = saturate(s);
      c->csink[(size_t)by * cw + bx] = saturate(t);
    }
}

/* The full grid's pixels with their block's label; the band: the pixels
 * within c->band (Chebyshev distance) of a label boundary or of a hard
 * constraint the label contradicts. */
static void find_band(mv_banded_cut *c, const int32_t *source, const int32_t *sink) {
  const int w = c->width, h = c->height, r = c->band;
  uint8_t *label = c->label, *seed = c->seed, *wide = c->wide, *in_band = c->in_band;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) label[(size_t)y * w + x] = c->cside[(size_t)(y >> 1) * c->cw + (x >> 1)];
  const size_t n = (size_t)w * h;
  for (size_t i = 0; i < n; i++)
    seed[i] = label[i] ? sink[i] >= MV_MAXFLOW_INFINITE : source[i] >= MV_MAXFLOW_INFINITE;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      for (int k = 0; k < E; k++) {
        const int qx = x + FDX[k], qy = y + FDY[k];
        if (qx < 0 || qx >= w || qy >= h) continue;
        const size_t j = (size_t)qy * w + qx;
        if (label[i] != label[j]) seed[i] = seed[j] = 1;
      }
    }
  /* Dilation by a (2r + 1)^2 square: along the rows, then the columns. */
  memset(wide, 0, n);
  for (int y = 0; y < h; y++) {
    const uint8_t *s = seed + (size_t)y * w;
    uint8_t *o = wide + (size_t)y * w;
    int last = -(1 << 20); /* the last seed's column, left of or at x + r */
    for (int x = 0; x < w + r; x++) {
      if (x < w && s[x]) last = x;
      const int at = x - r;
      if (at >= 0 && at < w && x - last <= 2 * r) o[at] = 1;
    }
  }
  memset(in_band, 0, n);
  int x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (int y = 0; y < h; y++) {
    const uint8_t *s = wide + (size_t)y * w;
    const int top = y - r < 0 ? 0 : y - r, bottom = y + r >= h ? h - 1 : y + r;
    for (int x = 0; x < w; x++)
      if (s[x]) {
        for (int yy = top; yy <= bottom; yy++) in_band[(size_t)yy * w + x] = 1;
        x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
        y0 = top < y0 ? top : y0, y1 = bottom > y1 ? bottom : y1;
      }
  }
  c->bx0 = x0, c->by0 = y0;
  c->bw = x1 >= x0 ? x1 - x0 + 1 : 0, c->bh = y1 >= y0 ? y1 - y0 + 1 : 0;
}

/* The band's graph: its pixels' own capacities, the edges between band
 * pixels, and each edge to a pixel outside the band as terminal capacity
 * towards that pixel's label. Pixels outside: no capacity at all. */
static void band_graph(mv_banded_cut *c, const int32_t *source, const int32_t *sink,
                       const int32_t *edge) {
  const int w = c->width, h = c->height;
  const uint8_t *label = c->label, *in_band = c->in_band;
  for (int y = c->by0; y < c->by0 + c->bh; y++)
    for (int x = c->bx0; x < c->bx0 + c->bw; x++) {
      const size_t i = (size_t)y * w + x;
      const size_t o = (size_t)(y - c->by0) * c->bw + (x - c->bx0); /* in the box */
      int32_t *fe = c->fedge + o * E;
      if (!in_band[i]) {
        c->fsource[o] = c->fsink[o] = 0;
        fe[0] = fe[1] = fe[2] = fe[3] = 0;
        continue;
      }
      int64_t s = source[i], t = sink[i];
      for (int k = 0; k < E; k++) {
        fe[k] = 0;
        /* Forward neighbour: this pixel's edge k. */
        int qx = x + FDX[k], qy = y + FDY[k];
        if (qx >= 0 && qx < w && qy < h) {
          const size_t j = (size_t)qy * w + qx;
          const int32_t cap = edge[i * E + k];
          if (in_band[j])
            fe[k] = cap;
          else if (label[j])
            s += cap;
          else
            t += cap;
        }
        /* Backward neighbour: its edge k. */
        qx = x - FDX[k], qy = y - FDY[k];
        if (qx >= 0 && qx < w && qy >= 0) {
          const size_t j = (size_t)qy * w + qx;
          if (in_band[j]) continue; /* its own forward edge */
          const int32_t cap = edge[j * E + k];
          if (label[j])
            s += cap;
          else
            t += cap;
        }
      }
      c->fsource[o] = saturate(s);
      c->fsink[o] = saturate(t);
    }
}

mv_status mv_banded_cut_solve(mv_banded_cut *c, const int32_t *source_cap,
                              const int32_t *sink_cap, const int32_t *edge_cap, int warm,
                              uint8_t *source_side) {
  MV_CHECK_ARG(c, "mv_banded_cut_solve: NULL solver");
  MV_CHECK_ARG(source_cap && sink_cap && edge_cap && source_side,
               "mv_banded_cut_solve: NULL capacity or output array");
  const size_t n = (size_t)c->width * c->height;
  for (size_t i = 0; i < n; i++)
    if ((source_cap[i] | sink_cap[i]) < 0)
      return mv_fail(MV_E_ARGUMENT, "mv_banded_cut_solve: negative terminal capacity at pixel %zu",
                     i);
  for (size_t i = 0; i < n * E; i++)
    if ((uint32_t)edge_cap[i] > (uint32_t)MV_MAXFLOW_INFINITE)
      return mv_fail(MV_E_ARGUMENT, "mv_banded_cut_solve: edge capacity %d at pixel %zu",
                     (int)edge_cap[i], i / E);
  coarse_terminals(c, source_cap, sink_cap);
  if (c->nested) {
    if (!(warm && c->coarse_solved)) coarse_edges(c, edge_cap);
    MV_TRY(mv_banded_cut_solve(c->nested, c->csource, c->csink, c->cedge, warm && c->coarse_solved,
                               c->cside));
    c->coarse_solved = 1;
  } else if (warm && c->coarse_solved) {
    MV_TRY(mv_maxflow_resolve(c->coarse, c->csource, c->csink, c->cside, NULL));
  } else {
    coarse_edges(c, edge_cap);
    MV_TRY(mv_maxflow_solve(c->coarse, c->csource, c->csink, c->cedge, c->cside, NULL));
    c->coarse_solved = 1;
  }
  find_band(c, source_cap, sink_cap);
  band_graph(c, source_cap, sink_cap, edge_cap);
  if (c->bw && c->bh) {
    /* A solver for the box (kept while the box keeps its size). */
    if (c->fine && (c->fine_w != c->bw || c->fine_h != c->bh)) {
      mv_maxflow_destroy(c->fine);
      c->fine = NULL;
    }
    if (!c->fine) {
      MV_TRY(mv_maxflow_create(c->bw, c->bh, 8, &c->fine));
      c->fine_w = c->bw, c->fine_h = c->bh;
      MV_TRY(mv_maxflow_set_threads(c->fine, c->threads));
    }
    MV_TRY(mv_maxflow_solve(c->fine, c->fsource, c->fsink, c->fedge, c->fside, NULL));
  }
  memcpy(source_side, c->label, n);
  for (int y = c->by0; y < c->by0 + c->bh; y++)
    for (int x = c->bx0; x < c->bx0 + c->bw; x++) {
      const size_t i = (size_t)y * c->width + x;
      if (c->in_band[i]) source_side[i] = c->fside[(size_t)(y - c->by0) * c->bw + (x - c->bx0)];
    }
  return MV_OK;
}
