#include "interaction/maxflow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "error.h"

/* The grid is stored with one dummy node of padding on every side: arcs to
 * and from the padding have zero capacity, so no neighbour access needs a
 * bounds check and padding nodes never join a search tree. Directions come
 * in pairs, opposite(d) = d ^ 1.
 *
 * A node's tree state is one byte (tag): the direction 0..7 to its parent,
 * TAG_TERMINAL (child of its terminal), TAG_ORPHAN, or TAG_FREE (in no
 * tree), plus TAG_SINK for the nodes of the sink tree.
 *
 * The search trees are built from scratch at each solve: every node with
 * terminal capacity left is a root (mv_maxflow_resolve keeps them, see
 * there). With several threads, the grid is cut
 * into bands of rows whose arcs across the band borders are set to zero for
 * a while; each band runs the algorithm on its own thread (a flow in a band
 * is a flow in the grid), then the arcs are restored, the band-border nodes
 * made active again, and the algorithm goes on over the whole grid with the
 * trees as they are until no path is left. The result is the same cut: the
 * nodes reachable from the source when no path is left do not depend on the
 * order in which the flow was found.
 *
 * Gathering (see gather_at_root): with weak terminal links everywhere (the
 * graphcut backend's colour models), most augmenting paths used to end at
 * a root with less capacity than the path's arcs, so each root's capacity
 * took one long path of its own; a root now first takes its neighbouring
 * roots' capacity, and one path carries it all (on the DAVIS robot's
 * strokes of bench interaction: half the augmentations and path steps, as
 * many orphans). Any flow gives the same cut, so this changes no output. */

enum { TAG_TERMINAL = 8, TAG_ORPHAN = 9, TAG_FREE = 15, TAG_PARENT = 15, TAG_SINK = 0x80 };
enum { INFINITE_DIST = 1 << 30, MAX_THREADS = 8 };

typedef struct node {
  int32_t parent; /* the parent's index when the tag holds a direction (the
                   * same as i + off[direction], one load shorter to follow) */
  int32_t ts;     /* time stamp and ... */
  int32_t dist;   /* ... distance to the terminal (distance heuristic) */
  int32_t tr;     /* residual terminal capacity: > 0 from the source, < 0 to the sink */
} node;

/* One run of the algorithm (over a band, or the whole grid): its active
 * list, orphan queue, clock and flow; the graph arrays are shared. */
typedef struct worker {
  int32_t *r;
  node *nd;
  int32_t *next;    /* active list link; -1 when not in the list, itself at the tail */
  uint8_t *tag;
  int dirs;
  int off[8];
  int32_t *path;    /* the nodes of the path being augmented */
  int32_t *orphans; /* ring of orphan_cap, emptied before each augmentation */
  int orphan_cap, orphan_head, orphan_count;
  int first, last;  /* active list */
  int time;
  int64_t flow;
  int y0, y1;       /* its rows of the grid */
  int pw;
} worker;

struct mv_maxflow {
  int width, height, pw, n, dirs, threads;
  int off[8];   /* index offset of the neighbour in direction d */
  int32_t *r;   /* residual capacity of arc (i, d): n * dirs */
  node *nd;
  int32_t *next;
  uint8_t *tag;
  int32_t *path;    /* n: split between the bands */
  int32_t *excess;  /* source_cap - sink_cap of the last solve, per grid node (warm start) */
  int32_t *orphans; /* n: split between the bands */
  int32_t *seam;    /* arcs across the band borders while the bands run */
  void *block;      /* the arrays above but seam */
  int64_t flow;
  int solved;       /* a solve has set the graph: resolve may reuse its flow and trees */
  int time;         /* the clock at the end of the last run */
};

static inline void set_active(worker *w, int i) {
  if (w->next[i] >= 0) return;
  if (w->last >= 0)
    w->next[w->last] = i;
  else
    w->first = i;
  w->last = i;
  w->next[i] = i;
}

/* Next active node that is still in a tree, or -1. */
static inline int next_active(worker *w) {
  for (;;) {
    int i = w->first;
    if (i < 0) return -1;
    int nx = w->next[i];
    if (nx == i)
      w->first = w->last = -1;
    else
      w->first = nx;
    w->next[i] = -1;
    if (w->tag[i] != TAG_FREE) return i;
  }
}

/* A node is queued at most once at a time, so the ring never overflows. */
static inline void push_orphan(worker *w, int i) {
  w->tag[i] = (uint8_t)((w->tag[i] & TAG_SINK) | TAG_ORPHAN);
  int at = w->orphan_head + w->orphan_count++;
  if (at >= w->orphan_cap) at -= w->orphan_cap;
  w->orphans[at] = i;
}

/* Gathering at a root k of the source tree (sink = 0) or the sink tree
 * (TAG_SINK): it takes up to `want` more terminal capacity from the roots
 * of its tree next to it (flow pushed along the arcs between them), so that
 * one path from k carries theirs too instead of one path each; the roots
 * it empties become orphans. Returns k's capacity (its absolute value). */
static int32_t gather_at_root(worker *w, int k, uint8_t sink, int32_t want) {
  const int D = w->dirs;
  int32_t *r = w->r;
  node *nd = w->nd;
  for (int d = 0; d < D && want > 0; d++) {
    const int j = k + w->off[d];
    /* The arc that carries the flow: j -> k (source tree), k -> j (sink
     * tree); checked first: a neighbour across no arc may be another
     * band's. */
    int32_t *arc = sink ? &r[(size_t)k * D + d] : &r[(size_t)j * D + (d ^ 1)];
    if (!*arc || w->tag[j] != (TAG_TERMINAL | sink)) continue;
    int32_t f = sink ? -nd[j].tr : nd[j].tr;
    if (*arc < f) f = *arc;
    if (want < f) f = want;
    want -= f;
    *arc -= f;
    if (sink) {
      r[(size_t)j * D + (d ^ 1)] += f;
      nd[j].tr += f;
      nd[k].tr -= f;
    } else {
      r[(size_t)k * D + d] += f;
      nd[j].tr -= f;
      nd[k].tr += f;
    }
    if (nd[j].tr == 0) push_orphan(w, j);
  }
  return sink ? -nd[k].tr : nd[k].tr;
}

/* Pushes the path's bottleneck through source root .. i -> j .. sink root,
 * where arc (i, d) joins the two trees; saturated tree arcs make orphans.
 * The path's nodes are kept from the first walk for the second. */
static void augment(worker *w, int i, int d) {
  const int D = w->dirs;
  int32_t *r = w->r, *path = w->path;
  node *nd = w->nd;
  const uint8_t *tag = w->tag;
  const int j = i + w->off[d];
  int32_t bottleneck = r[(size_t)i * D + d]; /* first of the arcs alone */
  int k, pd, n_source = 0, n = 0;
  for (k = i; (pd = tag[k] & TAG_PARENT) != TAG_TERMINAL; k = nd[k].parent) {
    int32_t c = r[(size_t)nd[k].parent * D + (pd ^ 1)];
    if (c < bottleneck) bottleneck = c;
    path[n++] = k;
  }
  const int source_root = k;
  n_source = n;
  for (k = j; (pd = tag[k] & TAG_PARENT) != TAG_TERMINAL; k = nd[k].parent) {
    int32_t c = r[(size_t)k * D + pd];
    if (c < bottleneck) bottleneck = c;
    path[n++] = k;
  }
  const int sink_root = k;
  /* A root with less capacity than the arcs gathers its neighbours'. */
  int32_t c = nd[source_root].tr;
  if (c < bottleneck) c = gather_at_root(w, source_root, 0, bottleneck - c);
  if (c < bottleneck) bottleneck = c;
  c = -nd[sink_root].tr;
  if (c < bottleneck) c = gather_at_root(w, sink_root, TAG_SINK, bottleneck - c);
  if (c < bottleneck) bottleneck = c;

  r[(size_t)i * D + d] -= bottleneck;
  r[(size_t)j * D + (d ^ 1)] += bottleneck;
  for (int q = 0; q < n_source; q++) {
    k = path[q];
    pd = tag[k] & TAG_PARENT;
    r[(size_t)k * D + pd] += bottleneck;
    if ((r[(size_t)nd[k].parent * D + (pd ^ 1)] -= bottleneck) == 0) push_orphan(w, k);
  }
  if ((nd[source_root].tr -= bottleneck) == 0) push_orphan(w, source_root);
  for (int q = n_source; q < n; q++) {
    k = path[q];
    pd = tag[k] & TAG_PARENT;
    r[(size_t)nd[k].parent * D + (pd ^ 1)] += bottleneck;
    if ((r[(size_t)k * D + pd] -= bottleneck) == 0) push_orphan(w, k);
  }
  if ((nd[sink_root].tr += bottleneck) == 0) push_orphan(w, sink_root);
  w->flow += bottleneck;
}

/* Finds a new parent for orphan i in its own tree (the neighbour whose
 * origin is a terminal at the smallest distance) or frees it. A neighbour
 * joined to i by no arc with capacity is never looked at (it may belong to
 * another band's thread). */
static void adopt(worker *w, int i) {
  const int D = w->dirs;
  const int32_t *r = w->r;
  uint8_t *tag = w->tag;
  node *nd = w->nd;
  const int *off = w->off;
  const int time = w->time;
  const uint8_t sink = tag[i] & TAG_SINK;
  int best = -1, best_dist = INFINITE_DIST;
  for (int d = 0; d < D; d++) {
    int j = i + off[d];
    /* The arc that would carry flow j -> i (source tree) or i -> j (sink tree). */
    if (!(sink ? r[(size_t)i * D + d] : r[(size_t)j * D + (d ^ 1)])) continue;
    uint8_t tj = tag[j];
    if (tj == TAG_FREE || (tj & TAG_SINK) != sink) continue;
    /* Walk up from j to find whether it still reaches the terminal. */
    int dist = 0, k = j;
    for (;;) {
      if (nd[k].ts == time) {
        dist += nd[k].dist;
        break;
      }
      int pk = tag[k] & TAG_PARENT;
      dist++;
      if (pk == TAG_TERMINAL) {
        nd[k].ts = time;
        nd[k].dist = 1;
        break;
      }
      if (pk == TAG_ORPHAN) {
        dist = INFINITE_DIST;
        break;
      }
      k = nd[k].parent;
    }
    if (dist < INFINITE_DIST) {
      if (dist < best_dist) {
        best = d;
        best_dist = dist;
      }
      /* Marks along the path so later walks stop early. */
      for (k = j; nd[k].ts != time; k = nd[k].parent) {
        nd[k].ts = time;
        nd[k].dist = dist--;
      }
    }
  }
  if (best >= 0) {
    tag[i] = (uint8_t)(sink | best);
    nd[i].parent = i + off[best];
    nd[i].ts = time;
    nd[i].dist = best_dist + 1;
    return;
  }
  /* No parent: i becomes free; its tree neighbours may grow into it again
   * and its children become orphans. */
  tag[i] = TAG_FREE;
  for (int d = 0; d < D; d++) {
    int j = i + off[d];
    int32_t out = r[(size_t)i * D + d], in = r[(size_t)j * D + (d ^ 1)];
    if (!out && !in) continue; /* no edge, so not a child either */
    uint8_t tj = tag[j];
    if (tj == TAG_FREE || (tj & TAG_SINK) != sink) continue;
    if (sink ? out : in) set_active(w, j);
    if ((tj & TAG_PARENT) == (d ^ 1)) push_orphan(w, j);
  }
}

/* Empties the orphan queue (a queued node that has become a root again in
 * the meantime is skipped). */
static void adopt_orphans(worker *w) {
  while (w->orphan_count) {
    int o = w->orphans[w->orphan_head];
    if (++w->orphan_head == w->orphan_cap) w->orphan_head = 0;
    if (--w->orphan_count == 0) w->orphan_head = 0;
    if ((w->tag[o] & TAG_PARENT) == TAG_ORPHAN) adopt(w, o);
  }
}

static void run(worker *w) {
  const int D = w->dirs;
  const int32_t *r = w->r;
  uint8_t *tag = w->tag;
  node *nd = w->nd;
  const int *off = w->off;
  int current = -1;
  for (;;) {
    /* The node of the last augmentation first: it may have more paths to
     * offer, and its neighbourhood is in the cache. */
    int i = current;
    if (i < 0 || tag[i] == TAG_FREE) i = next_active(w);
    current = -1;
    if (i < 0) return;
    int found_i = -1, found_d = 0;
    const int32_t ts = nd[i].ts, dist = nd[i].dist;
    if (!(tag[i] & TAG_SINK)) {
      const int32_t *ri = r + (size_t)i * D;
      for (int d = 0; d < D; d++) {
        if (!ri[d]) continue;
        int j = i + off[d];
        uint8_t tj = tag[j];
        if (tj == TAG_FREE) {
          tag[j] = (uint8_t)(d ^ 1);
          nd[j].parent = i;
          nd[j].ts = ts;
          nd[j].dist = dist + 1;
          set_active(w, j);
        } else if (tj & TAG_SINK) {
          found_i = i;
          found_d = d;
          break;
        } else if (nd[j].ts <= ts && nd[j].dist > dist) {
          tag[j] = (uint8_t)(d ^ 1);
          nd[j].parent = i;
          nd[j].ts = ts;
          nd[j].dist = dist + 1;
        }
      }
    } else {
      for (int d = 0; d < D; d++) {
        int j = i + off[d];
        if (!r[(size_t)j * D + (d ^ 1)]) continue;
        uint8_t tj = tag[j];
        if (tj == TAG_FREE) {
          tag[j] = (uint8_t)(TAG_SINK | (d ^ 1));
          nd[j].parent = i;
          nd[j].ts = ts;
          nd[j].dist = dist + 1;
          set_active(w, j);
        } else if (!(tj & TAG_SINK)) {
          found_i = j;
          found_d = d ^ 1;
          break;
        } else if (nd[j].ts <= ts && nd[j].dist > dist) {
          tag[j] = (uint8_t)(TAG_SINK | (d ^ 1));
          nd[j].parent = i;
          nd[j].ts = ts;
          nd[j].dist = dist + 1;
        }
      }
    }
    if (found_i < 0) continue;
    w->time++;
    augment(w, found_i, found_d);
    adopt_orphans(w);
    current = i;
  }
}

static worker make_worker(const mv_maxflow *g, int y0, int y1, size_t first, int cap) {
  worker w;
  memset(&w, 0, sizeof w);
  w.r = g->r;
  w.nd = g->nd;
  w.next = g->next;
  w.tag = g->tag;
  w.dirs = g->dirs;
  memcpy(w.off, g->off, sizeof w.off);
  w.orphans = g->orphans + first;
  w.path = g->path + first;
  w.orphan_cap = cap;
  w.first = w.last = -1;
  w.y0 = y0;
  w.y1 = y1;
  w.pw = g->pw;
  return w;
}

/* Trees from scratch in the worker's rows: every node with terminal
 * capacity left is a root (active), the others are free; then the
 * algorithm. */
static void *run_band(void *arg) {
  worker *w = arg;
  for (int y = w->y0; y < w->y1; y++) {
    const int row = (y + 1) * w->pw + 1, width = w->pw - 2;
    for (int i = row; i < row + width; i++) {
      node *v = &w->nd[i];
      w->next[i] = -1;
      v->ts = 0;
      v->dist = 1;
      if (v->tr != 0) {
        w->tag[i] = (uint8_t)(TAG_TERMINAL | (v->tr < 0 ? TAG_SINK : 0));
        set_active(w, i);
      } else {
        w->tag[i] = TAG_FREE;
      }
    }
  }
  run(w);
  return NULL;
}

/* The bands, taken in order by the threads (one each, unless a thread
 * could not be started). */
typedef struct band_queue {
  worker *band;
  int count, next;
  pthread_mutex_t lock;
} band_queue;

static void *run_bands(void *arg) {
  band_queue *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->lock);
    int b = q->next++;
    pthread_mutex_unlock(&q->lock);
    if (b >= q->count) return NULL;
    run_band(&q->band[b]);
  }
}

/* The directions that cross from a band's last row into the next band. */
static int down_dirs(int dirs, int *d) {
  d[0] = 2;
  if (dirs == 4) return 1;
  d[1] = 4;
  d[2] = 6;
  return 3;
}

/* The maximum flow from the current residual graph; the nodes of the
 * source tree as the result. */
static void finish(mv_maxflow *g, uint8_t *source_side) {
  const int width = g->width, height = g->height, pw = g->pw, D = g->dirs;
  /* One band per thread (more bands balance the threads' work better but
   * leave more flow to find across the band borders afterwards, alone), of
   * at least 2 rows. */
  int bands = g->threads;
  if (bands > height / 2) bands = height / 2 > 0 ? height / 2 : 1;
  worker band[MAX_THREADS];
  int first_row[MAX_THREADS + 1];
  for (int p = 0; p <= bands; p++) first_row[p] = height * p / bands;
  int down[3], crossing = down_dirs(D, down);
  /* Cut the arcs across the band borders (both ways), keeping them. */
  int32_t *saved = g->seam;
  for (int p = 1; p < bands; p++) {
    const int top = first_row[p] * pw + 1; /* padded index of the band's last row, x = 0 */
    for (int x = 0; x < width; x++)
      for (int k = 0; k < crossing; k++) {
        const int i = top + x, d = down[k], j = i + g->off[d];
        *saved++ = g->r[(size_t)i * D + d];
        *saved++ = g->r[(size_t)j * D + (d ^ 1)];
        g->r[(size_t)i * D + d] = g->r[(size_t)j * D + (d ^ 1)] = 0;
      }
  }
  for (int p = 0; p < bands; p++) {
    const int rows0 = first_row[p], rows1 = first_row[p + 1];
    band[p] = make_worker(g, rows0, rows1, (size_t)(rows0 + 1) * pw, (rows1 - rows0) * pw);
  }
  if (bands == 1) {
    run_band(&band[0]);
  } else {
    band_queue queue = {band, bands, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t thread[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 1; t < bands; t++)
      started[t] = pthread_create(&thread[t], NULL, run_bands, &queue) == 0;
    run_bands(&queue); /* also what threads that did not start would have run */
    for (int t = 1; t < bands; t++)
      if (started[t]) pthread_join(thread[t], NULL);
    pthread_mutex_destroy(&queue.lock);
  }
  int time = 0;
  for (int p = 0; p < bands; p++)
    if (band[p].time > time) time = band[p].time;
  for (int p = 0; p < bands; p++) g->flow += band[p].flow;
  if (bands > 1) {
    /* The arcs back (no flow crossed them) and the whole grid on. */
    worker all = make_worker(g, 0, height, 0, g->n);
    all.time = time;
    saved = g->seam;
    for (int p = 1; p < bands; p++) {
      const int top = first_row[p] * pw + 1;
      for (int x = 0; x < width; x++)
        for (int k = 0; k < crossing; k++) {
          const int i = top + x, d = down[k], j = i + g->off[d];
          g->r[(size_t)i * D + d] = *saved++;
          g->r[(size_t)j * D + (d ^ 1)] = *saved++;
        }
      for (int x = 0; x < width; x++) {
        if (g->tag[top + x] != TAG_FREE) set_active(&all, top + x);
        if (g->tag[top + pw + x] != TAG_FREE) set_active(&all, top + pw + x);
      }
    }
    run(&all);
    g->flow += all.flow;
    time = all.time;
  }
  g->time = time;
  for (int y = 0; y < height; y++) {
    const uint8_t *t = g->tag + (size_t)(y + 1) * pw + 1;
    uint8_t *o = source_side + (size_t)y * width;
    for (int x = 0; x < width; x++) o[x] = t[x] != TAG_FREE && !(t[x] & TAG_SINK);
  }
}

/* ---- memory -------------------------------------------------------------------- */

/* The block's mapping (or malloc'd base, length 0), just before it. */
typedef struct block_header {
  void *base;
  size_t length;
} block_header;
enum { BLOCK_HEADER = 64, HUGE_PAGE = 2 << 20 };

void *mv_maxflow_alloc(size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (size >= HUGE_PAGE && size < SIZE_MAX / 2) {
    /* Anonymous memory is zero; the block starts on a huge page boundary
     * (its header on the small page before). */
    const size_t huge = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    const size_t length = huge + 2 * (size_t)HUGE_PAGE; /* room to align, virtual only */
    void *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base != MAP_FAILED) {
      uintptr_t at = ((uintptr_t)base + BLOCK_HEADER + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
      (void)madvise((void *)at, huge, MADV_HUGEPAGE); /* advice: fine if refused */
      ((block_header *)at)[-1] = (block_header){base, length};
      return (void *)at;
    }
  }
#endif
  if (size > SIZE_MAX - BLOCK_HEADER) return NULL;
  uint8_t *base = calloc(1, size + BLOCK_HEADER);
  if (!base) return NULL;
  ((block_header *)(base + BLOCK_HEADER))[-1] = (block_header){base, 0};
  return base + BLOCK_HEADER;
}

void mv_maxflow_free(void *block) {
  if (!block) return;
  block_header h = ((block_header *)block)[-1];
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (h.length) {
    munmap(h.base, h.length);
    return;
  }
#endif
  free(h.base);
}

/* Consecutive arrays in one block, each on a cache line. */
static size_t carve(size_t *at, size_t size) {
  size_t start = *at;
  *at = start + ((size + 63) & ~(size_t)63);
  return start;
}

void mv_maxflow_destroy(mv_maxflow *g) {
  if (!g) return;
  mv_maxflow_free(g->block);
  free(g->seam);
  free(g);
}

/* Pairs (d, d ^ 1) are opposite; even d are the forward directions in the
 * order of edge_cap: right, down, down-right, down-left. */
static const int DX[8] = {1, -1, 0, 0, 1, -1, -1, 1};
static const int DY[8] = {0, 0, 1, -1, 1, -1, 1, -1};

mv_status mv_maxflow_create(int width, int height, int connectivity, mv_maxflow **out) {
  MV_CHECK_ARG(out, "mv_maxflow_create: NULL output");
  *out = NULL;
  MV_CHECK_ARG(width > 0 && height > 0, "mv_maxflow_grid: grid size %dx%d must be positive",
               width, height);
  MV_CHECK_ARG(connectivity == 4 || connectivity == 8,
               "mv_maxflow_grid: connectivity %d, expected 4 or 8", connectivity);
  const int pw = width + 2, ph = height + 2;
  MV_CHECK_ARG((int64_t)pw * ph < (int64_t)1 << 30, "mv_maxflow_grid: grid %dx%d is too large",
               width, height);
  mv_maxflow *g = calloc(1, sizeof *g);
  if (!g) return mv_fail(MV_E_MEMORY, "mv_maxflow_grid: out of memory");
  g->width = width;
  g->height = height;
  g->pw = pw;
  g->n = pw * ph;
  g->dirs = connectivity;
  g->threads = 1;
  for (int d = 0; d < connectivity; d++) g->off[d] = DY[d] * pw + DX[d];
  const size_t n = (size_t)g->n;
  size_t size = 0;
  const size_t r = carve(&size, n * connectivity * sizeof *g->r);
  const size_t nd = carve(&size, n * sizeof *g->nd), next = carve(&size, n * sizeof *g->next);
  const size_t tag = carve(&size, n), path = carve(&size, n * sizeof *g->path);
  const size_t orphans = carve(&size, n * sizeof *g->orphans);
  const size_t excess = carve(&size, (size_t)width * height * sizeof *g->excess);
  g->block = mv_maxflow_alloc(size);
  g->seam = malloc((size_t)(MAX_THREADS - 1) * width * connectivity * sizeof *g->seam);
  if (!g->block || !g->seam) {
    mv_maxflow_destroy(g);
    return mv_fail(MV_E_MEMORY, "mv_maxflow_grid: out of memory for a %dx%d grid", width, height);
  }
  uint8_t *block = g->block;
  g->r = (int32_t *)(block + r);
  g->nd = (node *)(block + nd);
  g->next = (int32_t *)(block + next);
  g->tag = block + tag;
  g->path = (int32_t *)(block + path);
  g->orphans = (int32_t *)(block + orphans);
  g->excess = (int32_t *)(block + excess);
  /* Zeroed: the padding's arcs stay 0 and its nodes free for good. */
  memset(g->tag, TAG_FREE, (size_t)g->n);
  memset(g->next, 0xff, (size_t)g->n * sizeof *g->next);
  *out = g;
  return MV_OK;
}

mv_status mv_maxflow_set_threads(mv_maxflow *g, int threads) {
  MV_CHECK_ARG(g, "mv_maxflow_set_threads: NULL solver");
  MV_CHECK_ARG(threads >= 1, "mv_maxflow_set_threads: %d threads, expected at least 1", threads);
  g->threads = threads < MAX_THREADS ? threads : MAX_THREADS;
  return MV_OK;
}

static mv_status check_terminals(const mv_maxflow *g, const int32_t *source_cap,
                                 const int32_t *sink_cap) {
  const size_t count = (size_t)g->width * g->height;
  for (size_t i = 0; i < count; i++)
    if ((source_cap[i] | sink_cap[i]) < 0)
      return mv_fail(MV_E_ARGUMENT, "mv_maxflow_grid: negative terminal capacity at node %zu", i);
  return MV_OK;
}

mv_status mv_maxflow_solve(mv_maxflow *g, const int32_t *source_cap, const int32_t *sink_cap,
                           const int32_t *edge_cap, uint8_t *source_side, int64_t *flow) {
  MV_CHECK_ARG(g, "mv_maxflow_solve: NULL solver");
  MV_CHECK_ARG(source_cap && sink_cap && edge_cap && source_side,
               "mv_maxflow_grid: NULL capacity or output array");
  const int width = g->width, height = g->height, pw = g->pw, D = g->dirs, E = D / 2;
  /* Validation first: a failure leaves the solver as it was. */
  MV_TRY(check_terminals(g, source_cap, sink_cap));
  const size_t count = (size_t)width * height;
  for (size_t i = 0; i < count * E; i++)
    if ((uint32_t)edge_cap[i] > (uint32_t)MV_MAXFLOW_INFINITE)
      return mv_fail(MV_E_ARGUMENT,
                     "mv_maxflow_grid: edge capacity %d at node %zu, expected 0..2^28",
                     (int)edge_cap[i], i / E);

  g->flow = 0;
  for (int y = 0; y < height; y++) {
    const int32_t *e = edge_cap + (size_t)y * width * E;         /* this row's edges */
    const int32_t *up = y > 0 ? e - (size_t)width * E : NULL;    /* the row above's */
    for (int x = 0; x < width; x++) {
      const size_t src = (size_t)y * width + x;
      const int i = (y + 1) * pw + (x + 1);
      int32_t *ri = g->r + (size_t)i * D;
      /* Forward arcs are this node's edges, backward ones its backward
       * neighbours' edges (the neighbour at -offset, same plane). */
      ri[0] = x + 1 < width ? e[(size_t)x * E + 0] : 0;
      ri[1] = x > 0 ? e[(size_t)(x - 1) * E + 0] : 0;
      ri[2] = y + 1 < height ? e[(size_t)x * E + 1] : 0;
      ri[3] = up ? up[(size_t)x * E + 1] : 0;
      if (D == 8) {
        ri[4] = x + 1 < width && y + 1 < height ? e[(size_t)x * E + 2] : 0;
        ri[5] = up && x > 0 ? up[(size_t)(x - 1) * E + 2] : 0;
        ri[6] = x > 0 && y + 1 < height ? e[(size_t)x * E + 3] : 0;
        ri[7] = up && x + 1 < width ? up[(size_t)(x + 1) * E + 3] : 0;
      }
      /* The common part of both terminal links is flow already pushed. */
      int32_t s = source_cap[src], t = sink_cap[src];
      g->flow += s < t ? s : t;
      g->nd[i].tr = g->excess[src] = s - t;
    }
  }
  finish(g, source_side);
  g->solved = 1;
  if (flow) *flow = g->flow;
  return MV_OK;
}

mv_status mv_maxflow_resolve(mv_maxflow *g, const int32_t *source_cap, const int32_t *sink_cap,
                             uint8_t *source_side, int64_t *flow) {
  MV_CHECK_ARG(g, "mv_maxflow_resolve: NULL solver");
  MV_CHECK_ARG(source_cap && sink_cap && source_side,
               "mv_maxflow_resolve: NULL capacity or output array");
  MV_CHECK_ARG(g->solved, "mv_maxflow_resolve: no previous mv_maxflow_solve");
  MV_TRY(check_terminals(g, source_cap, sink_cap));
  const int width = g->width, height = g->height, pw = g->pw;
  /* The flow on the grid's edges stays; the terminal links are set anew:
   * residual = (source - sink) - (what the node sends into the grid). */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const size_t src = (size_t)y * width + x;
      const int64_t tr = (int64_t)g->nd[(y + 1) * pw + (x + 1)].tr - g->excess[src] +
                         ((int64_t)source_cap[src] - sink_cap[src]);
      if (tr < INT32_MIN || tr > INT32_MAX)
        return mv_fail(MV_E_ARGUMENT,
                       "mv_maxflow_resolve: terminal capacity out of range at node %zu", src);
    }
  /* The search trees of the last run stay too, with the changes the new
   * terminal capacities make: a root left without capacity becomes an
   * orphan; a node with capacity becomes a root of the tree of its sign,
   * active when it was free or changes trees (its children in the other
   * tree become orphans). Every other node keeps its place, passive. */
  const int D = g->dirs;
  node *nd = g->nd;
  uint8_t *tag = g->tag;
  worker w = make_worker(g, 0, height, 0, g->n);
  w.time = g->time + 1;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const size_t src = (size_t)y * width + x;
      const int i = (y + 1) * pw + (x + 1);
      const int32_t e = source_cap[src] - sink_cap[src];
      if (e == g->excess[src]) continue;
      const int32_t tr = (int32_t)((int64_t)nd[i].tr - g->excess[src] + e); /* checked above */
      nd[i].tr = tr;
      g->excess[src] = e;
      const uint8_t t = tag[i];
      if (tr == 0) {
        if ((t & TAG_PARENT) == TAG_TERMINAL) push_orphan(&w, i);
        continue;
      }
      const uint8_t sink = tr < 0 ? TAG_SINK : 0;
      if (t != TAG_FREE && (t & TAG_SINK) != sink) {
        /* Its neighbours in the tree it leaves become active (they may now
         * reach it in the other tree, and it may leave that tree before it
         * looks at them), its children there orphans too. */
        for (int d = 0; d < D; d++) {
          const int j = i + g->off[d];
          if (!g->r[(size_t)i * D + d] && !g->r[(size_t)j * D + (d ^ 1)]) continue;
          const uint8_t tj = tag[j];
          if (tj == TAG_FREE || (tj & TAG_SINK) != (t & TAG_SINK)) continue;
          if ((tj & TAG_PARENT) == (d ^ 1)) push_orphan(&w, j);
          set_active(&w, j);
        }
      }
      tag[i] = (uint8_t)(TAG_TERMINAL | sink);
      nd[i].ts = w.time;
      nd[i].dist = 1;
      if (t == TAG_FREE || (t & TAG_SINK) != sink) set_active(&w, i);
    }
  adopt_orphans(&w);
  run(&w);
  g->time = w.time;
  for (int y = 0; y < height; y++) {
    const uint8_t *t = tag + (size_t)(y + 1) * pw + 1;
    uint8_t *o = source_side + (size_t)y * width;
    for (int x = 0; x < width; x++) o[x] = t[x] != TAG_FREE && !(t[x] & TAG_SINK);
  }
  if (flow) { /* the cut's capacity, from the edges' capacities (r(i, d) + r(j, d ^ 1) = 2 c) */
    int64_t cut = 0;
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) {
        const size_t src = (size_t)y * width + x;
        const int i = (y + 1) * pw + (x + 1);
        const int side = source_side[src];
        cut += side ? sink_cap[src] : source_cap[src];
        if (!side) continue;
        for (int d = 0; d < D; d++) {
          const int j = i + g->off[d];
          const int jx = x + DX[d], jy = y + DY[d];
          if (jx < 0 || jy < 0 || jx >= width || jy >= height) continue;
          if (!source_side[(size_t)jy * width + jx])
            cut += ((int64_t)g->r[(size_t)i * D + d] + g->r[(size_t)j * D + (d ^ 1)]) / 2;
        }
      }
    *flow = cut;
  }
  return MV_OK;
}

mv_status mv_maxflow_grid(int width, int height, int connectivity, const int32_t *source_cap,
                          const int32_t *sink_cap, const int32_t *edge_cap,
                          uint8_t *source_side, int64_t *flow) {
  MV_CHECK_ARG(source_cap && sink_cap && edge_cap && source_side,
               "mv_maxflow_grid: NULL capacity or output array");
  mv_maxflow *g = NULL;
  MV_TRY(mv_maxflow_create(width, height, connectivity, &g));
  mv_status status = mv_maxflow_solve(g, source_cap, sink_cap, edge_cap, source_side, flow);
  mv_maxflow_destroy(g);
  return status;
}
