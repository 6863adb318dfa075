#include "interaction/maxflow.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The grid is stored with one dummy node of padding on every side: arcs to
 * and from the padding have zero capacity, so no neighbour access needs a
 * bounds check and padding nodes never join a search tree. Directions come
 * in pairs, opposite(d) = d ^ 1. */

enum { PARENT_NONE = -1, PARENT_TERMINAL = -2, PARENT_ORPHAN = -3 };
enum { INFINITE_DIST = 1 << 30 };

typedef struct bk {
  int n;          /* nodes including padding */
  int dirs;       /* 4 or 8 */
  int off[8];     /* index offset of the neighbour in direction d */
  int32_t *r;     /* residual capacity of arc (i, d): n * dirs */
  int32_t *tr;    /* residual terminal capacity: > 0 from the source, < 0 to the sink */
  int8_t *parent; /* direction to the parent, or PARENT_* */
  uint8_t *sink;  /* 1 for nodes of the sink tree */
  int *next;      /* active list link; -1 when not in the list, itself at the tail */
  int *ts, *dist; /* time stamp and distance to the terminal (distance heuristic) */
  int time;
  int first, last;
  int *orphans;   /* FIFO of orphans */
  size_t orphan_head, orphan_tail, orphan_cap;
  int64_t flow;
} bk;

static void set_active(bk *g, int i) {
  if (g->next[i] >= 0) return;
  if (g->last >= 0)
    g->next[g->last] = i;
  else
    g->first = i;
  g->last = i;
  g->next[i] = i;
}

/* Next active node that is still in a tree, or -1. */
static int next_active(bk *g) {
  for (;;) {
    int i = g->first;
    if (i < 0) return -1;
    if (g->next[i] == i)
      g->first = g->last = -1;
    else
      g->first = g->next[i];
    g->next[i] = -1;
    if (g->parent[i] != PARENT_NONE) return i;
  }
}

static mv_status push_orphan(bk *g, int i) {
  g->parent[i] = PARENT_ORPHAN;
  if (g->orphan_tail == g->orphan_cap) {
    if (g->orphan_head > 0) { /* reuse the consumed front */
      memmove(g->orphans, g->orphans + g->orphan_head,
              (g->orphan_tail - g->orphan_head) * sizeof *g->orphans);
      g->orphan_tail -= g->orphan_head;
      g->orphan_head = 0;
    } else {
      size_t cap = g->orphan_cap ? g->orphan_cap * 2 : 1024;
      int *grown = realloc(g->orphans, cap * sizeof *grown);
      if (!grown) return mv_fail(MV_E_MEMORY, "mv_maxflow_grid: out of memory (orphan list)");
      g->orphans = grown;
      g->orphan_cap = cap;
    }
  }
  g->orphans[g->orphan_tail++] = i;
  return MV_OK;
}

/* Pushes the path's bottleneck through source root .. i -> j .. sink root,
 * where arc (i, d) joins the two trees; saturated tree arcs make orphans. */
static mv_status augment(bk *g, int i, int d) {
  const int D = g->dirs;
  int j = i + g->off[d];
  int32_t bottleneck = g->r[(size_t)i * D + d];
  int k;
  for (k = i; g->parent[k] != PARENT_TERMINAL;) {
    int p = k + g->off[g->parent[k]];
    int32_t c = g->r[(size_t)p * D + (g->parent[k] ^ 1)];
    if (c < bottleneck) bottleneck = c;
    k = p;
  }
  if (g->tr[k] < bottleneck) bottleneck = g->tr[k];
  for (k = j; g->parent[k] != PARENT_TERMINAL;) {
    int32_t c = g->r[(size_t)k * D + g->parent[k]];
    if (c < bottleneck) bottleneck = c;
    k += g->off[g->parent[k]];
  }
  if (-g->tr[k] < bottleneck) bottleneck = -g->tr[k];

  g->r[(size_t)i * D + d] -= bottleneck;
  g->r[(size_t)j * D + (d ^ 1)] += bottleneck;
  for (k = i; g->parent[k] != PARENT_TERMINAL;) {
    int pd = g->parent[k];
    int p = k + g->off[pd];
    g->r[(size_t)p * D + (pd ^ 1)] -= bottleneck;
    g->r[(size_t)k * D + pd] += bottleneck;
    if (g->r[(size_t)p * D + (pd ^ 1)] == 0) MV_TRY(push_orphan(g, k));
    k = p;
  }
  g->tr[k] -= bottleneck;
  if (g->tr[k] == 0) MV_TRY(push_orphan(g, k));
  for (k = j; g->parent[k] != PARENT_TERMINAL;) {
    int pd = g->parent[k];
    int p = k + g->off[pd];
    g->r[(size_t)k * D + pd] -= bottleneck;
    g->r[(size_t)p * D + (pd ^ 1)] += bottleneck;
    if (g->r[(size_t)k * D + pd] == 0) MV_TRY(push_orphan(g, k));
    k = p;
  }
  g->tr[k] += bottleneck;
  if (g->tr[k] == 0) MV_TRY(push_orphan(g, k));
  g->flow += bottleneck;
  return MV_OK;
}

/* Residual capacity of the arc that would carry flow from neighbour j (in
 * direction d of i) towards i (source tree) or from i to j (sink tree). */
static inline int32_t tree_arc(const bk *g, int is_sink, int i, int d) {
  const int D = g->dirs;
  if (is_sink) return g->r[(size_t)i * D + d];
  return g->r[(size_t)(i + g->off[d]) * D + (d ^ 1)];
}

/* Finds a new parent for orphan i in its own tree (the neighbour whose
 * origin is a terminal at the smallest distance) or frees it. */
static mv_status adopt(bk *g, int i) {
  const int is_sink = g->sink[i];
  int best = -1, best_dist = INFINITE_DIST;
  for (int d = 0; d < g->dirs; d++) {
    if (!tree_arc(g, is_sink, i, d)) continue;
    int j = i + g->off[d];
    if (g->sink[j] != is_sink || g->parent[j] == PARENT_NONE) continue;
    /* Walk up from j to find whether it still reaches the terminal. */
    int dist = 0, k = j;
    for (;;) {
      if (g->ts[k] == g->time) {
        dist += g->dist[k];
        break;
      }
      int pk = g->parent[k];
      dist++;
      if (pk == PARENT_TERMINAL) {
        g->ts[k] = g->time;
        g->dist[k] = 1;
        break;
      }
      if (pk == PARENT_ORPHAN) {
        dist = INFINITE_DIST;
        break;
      }
      k += g->off[pk];
    }
    if (dist < INFINITE_DIST) {
      if (dist < best_dist) {
        best = d;
        best_dist = dist;
      }
      /* Marks along the path so later walks stop early. */
      for (k = j; g->ts[k] != g->time; k += g->off[g->parent[k]]) {
        g->ts[k] = g->time;
        g->dist[k] = dist--;
      }
    }
  }
  if (best >= 0) {
    g->parent[i] = (int8_t)best;
    g->ts[i] = g->time;
    g->dist[i] = best_dist + 1;
    return MV_OK;
  }
  /* No parent: i becomes free; its tree neighbours may grow into it again
   * and its children become orphans. */
  g->parent[i] = PARENT_NONE;
  for (int d = 0; d < g->dirs; d++) {
    int j = i + g->off[d];
    if (g->sink[j] != is_sink || g->parent[j] == PARENT_NONE) continue;
    if (tree_arc(g, is_sink, i, d)) set_active(g, j);
    if (g->parent[j] == (d ^ 1)) MV_TRY(push_orphan(g, j));
  }
  return MV_OK;
}

static mv_status run(bk *g) {
  const int D = g->dirs;
  for (;;) {
    int i = next_active(g);
    if (i < 0) return MV_OK;
    int found_i = -1, found_d = 0;
    if (!g->sink[i]) {
      for (int d = 0; d < D; d++) {
        if (!g->r[(size_t)i * D + d]) continue;
        int j = i + g->off[d];
        if (g->parent[j] == PARENT_NONE) {
          g->sink[j] = 0;
          g->parent[j] = (int8_t)(d ^ 1);
          g->ts[j] = g->ts[i];
          g->dist[j] = g->dist[i] + 1;
          set_active(g, j);
        } else if (g->sink[j]) {
          found_i = i;
          found_d = d;
          break;
        } else if (g->ts[j] <= g->ts[i] && g->dist[j] > g->dist[i]) {
          g->parent[j] = (int8_t)(d ^ 1);
          g->ts[j] = g->ts[i];
          g->dist[j] = g->dist[i] + 1;
        }
      }
    } else {
      for (int d = 0; d < D; d++) {
        int j = i + g->off[d];
        if (!g->r[(size_t)j * D + (d ^ 1)]) continue;
        if (g->parent[j] == PARENT_NONE) {
          g->sink[j] = 1;
          g->parent[j] = (int8_t)(d ^ 1);
          g->ts[j] = g->ts[i];
          g->dist[j] = g->dist[i] + 1;
          set_active(g, j);
        } else if (!g->sink[j]) {
          found_i = j;
          found_d = d ^ 1;
          break;
        } else if (g->ts[j] <= g->ts[i] && g->dist[j] > g->dist[i]) {
          g->parent[j] = (int8_t)(d ^ 1);
          g->ts[j] = g->ts[i];
          g->dist[j] = g->dist[i] + 1;
        }
      }
    }
    if (found_i < 0) continue;
    g->time++;
    MV_TRY(augment(g, found_i, found_d));
    while (g->orphan_head < g->orphan_tail) {
      int o = g->orphans[g->orphan_head++];
      if (g->orphan_head == g->orphan_tail) g->orphan_head = g->orphan_tail = 0;
      MV_TRY(adopt(g, o));
    }
    /* i may still have paths to offer. */
    if (g->parent[i] != PARENT_NONE) set_active(g, i);
  }
}

static void bk_free(bk *g) {
  free(g->r);
  free(g->tr);
  free(g->parent);
  free(g->sink);
  free(g->next);
  free(g->ts);
  free(g->dist);
  free(g->orphans);
}

mv_status mv_maxflow_grid(int width, int height, int connectivity, const int32_t *source_cap,
                          const int32_t *sink_cap, const int32_t *edge_cap,
                          uint8_t *source_side, int64_t *flow) {
  MV_CHECK_ARG(source_cap && sink_cap && edge_cap && source_side,
               "mv_maxflow_grid: NULL capacity or output array");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_maxflow_grid: grid size %dx%d must be positive",
               width, height);
  MV_CHECK_ARG(connectivity == 4 || connectivity == 8,
               "mv_maxflow_grid: connectivity %d, expected 4 or 8", connectivity);
  const int pw = width + 2, ph = height + 2;
  MV_CHECK_ARG((int64_t)pw * ph < (int64_t)1 << 30, "mv_maxflow_grid: grid %dx%d is too large",
               width, height);
  const int E = connectivity / 2;
  for (int64_t i = 0; i < (int64_t)width * height; i++) {
    if (source_cap[i] < 0 || sink_cap[i] < 0)
      return mv_fail(MV_E_ARGUMENT, "mv_maxflow_grid: negative terminal capacity at node %lld",
                     (long long)i);
    for (int k = 0; k < E; k++)
      if (edge_cap[i * E + k] < 0 || edge_cap[i * E + k] > MV_MAXFLOW_INFINITE)
        return mv_fail(MV_E_ARGUMENT,
                       "mv_maxflow_grid: edge capacity %d at node %lld, expected 0..2^28",
                       (int)edge_cap[i * E + k], (long long)i);
  }

  bk g = {0};
  g.n = pw * ph;
  g.dirs = connectivity;
  /* Pairs (d, d ^ 1) are opposite; even d are the forward directions in
   * the order of edge_cap: right, down, down-right, down-left. */
  const int dx[8] = {1, -1, 0, 0, 1, -1, -1, 1};
  const int dy[8] = {0, 0, 1, -1, 1, -1, 1, -1};
  for (int d = 0; d < connectivity; d++) g.off[d] = dy[d] * pw + dx[d];
  g.r = calloc((size_t)g.n * connectivity, sizeof *g.r);
  g.tr = calloc((size_t)g.n, sizeof *g.tr);
  g.parent = malloc((size_t)g.n);
  g.sink = calloc((size_t)g.n, 1);
  g.next = malloc((size_t)g.n * sizeof *g.next);
  g.ts = calloc((size_t)g.n, sizeof *g.ts);
  g.dist = calloc((size_t)g.n, sizeof *g.dist);
  if (!g.r || !g.tr || !g.parent || !g.sink || !g.next || !g.ts || !g.dist) {
    bk_free(&g);
    return mv_fail(MV_E_MEMORY, "mv_maxflow_grid: out of memory for a %dx%d grid", width, height);
  }
  memset(g.parent, PARENT_NONE, (size_t)g.n);
  memset(g.next, 0xff, (size_t)g.n * sizeof *g.next);
  g.first = g.last = -1;

  for (int y = 0; y < height; y++) {
    for (int x = 0; x < width; x++) {
      int64_t src = (int64_t)y * width + x;
      int i = (y + 1) * pw + (x + 1);
      for (int k = 0; k < E; k++) {
        int d = 2 * k;
        int nx = x + dx[d], ny = y + dy[d];
        if (nx < 0 || nx >= width || ny >= height) continue;
        int32_t c = edge_cap[src * E + k];
        g.r[(size_t)i * connectivity + d] = c;
        g.r[(size_t)(i + g.off[d]) * connectivity + (d ^ 1)] = c;
      }
      /* The common part of both terminal links is flow already pushed. */
      int32_t s = source_cap[src], t = sink_cap[src];
      g.flow += s < t ? s : t;
      g.tr[i] = s - t;
      if (g.tr[i] != 0) {
        g.sink[i] = g.tr[i] < 0;
        g.parent[i] = PARENT_TERMINAL;
        g.dist[i] = 1;
        set_active(&g, i);
      }
    }
  }

  mv_status status = run(&g);
  if (status == MV_OK) {
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        int i = (y + 1) * pw + (x + 1);
        source_side[(size_t)y * width + x] = g.parent[i] != PARENT_NONE && !g.sink[i];
      }
    if (flow) *flow = g.flow;
  }
  bk_free(&g);
  return status;
}
