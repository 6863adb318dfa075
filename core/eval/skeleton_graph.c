/* Skeleton pixels to robot paths (spec/EVALUATION.md 5.4-5.5): the
 * 8-neighbour graph (edge weight = Euclidean length, 1 or sqrt 2), cycles
 * broken at their heaviest edge, small components dropped, and the longest
 * path of each tree found by two breadth-first searches by hop count.
 * Everything iterates in raster order, so the result is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval/eval_internal.h"

/* Neighbour directions in raster order; the opposite of d is 7 - d. */
static const int DY[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
static const int DX[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

typedef struct graph {
  int nodes;
  int *x, *y;
  int *nbr;        /* nodes x 8: neighbour id per direction, -1 if none or removed */
  int *state;      /* scratch per node */
  int *queue;      /* scratch: BFS queue / DFS stack of nodes */
  int *dist;       /* scratch: BFS hop count */
  int *parent;     /* scratch: BFS parent / DFS next direction */
  int *parent_dir; /* scratch: DFS direction to the parent */
} graph;

static void graph_free(graph *g) {
  free(g->x), free(g->y), free(g->nbr), free(g->state), free(g->queue), free(g->dist);
  free(g->parent), free(g->parent_dir);
}

static mv_status graph_build(const uint8_t *skeleton, int width, int height, graph *g) {
  memset(g, 0, sizeof *g);
  size_t pixels = (size_t)width * height, n = 0;
  for (size_t i = 0; i < pixels; i++) n += skeleton[i] != 0;
  if (n > (size_t)(INT32_MAX / 8))
    return mv_fail(MV_E_ARGUMENT, "mv_skeleton_paths: %zu skeleton pixels are too many", n);
  int *id = malloc(pixels * sizeof *id);
  size_t m = n ? n : 1;
  g->x = malloc(m * sizeof *g->x), g->y = malloc(m * sizeof *g->y);
  g->nbr = malloc(m * 8 * sizeof *g->nbr);
  g->state = malloc(m * sizeof *g->state), g->queue = malloc(m * sizeof *g->queue);
  g->dist = malloc(m * sizeof *g->dist), g->parent = malloc(m * sizeof *g->parent);
  g->parent_dir = malloc(m * sizeof *g->parent_dir);
  if (!id || !g->x || !g->y || !g->nbr || !g->state || !g->queue || !g->dist || !g->parent ||
      !g->parent_dir) {
    free(id);
    graph_free(g);
    return mv_fail(MV_E_MEMORY, "mv_skeleton_paths: out of memory for %zu nodes", n);
  }
  int k = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      size_t i = (size_t)y * width + x;
      id[i] = skeleton[i] ? k : -1;
      if (skeleton[i]) g->x[k] = x, g->y[k] = y, k++;
    }
  g->nodes = k;
  for (int v = 0; v < k; v++)
    for (int d = 0; d < 8; d++) {
      int yy = g->y[v] + DY[d], xx = g->x[v] + DX[d];
      g->nbr[v * 8 + d] =
          yy >= 0 && yy < height && xx >= 0 && xx < width ? id[(size_t)yy * width + xx] : -1;
    }
  free(id);
  return MV_OK;
}

static void remove_edge(graph *g, int v, int d) {
  int u = g->nbr[v * 8 + d];
  g->nbr[v * 8 + d] = -1;
  g->nbr[u * 8 + 7 - d] = -1;
}

/* Weight of direction d: 1 for axis steps, sqrt(2) for diagonals; compared
 * only, so 1 and 2 order them the same way. */
static int weight(int d) { return DY[d] != 0 && DX[d] != 0 ? 2 : 1; }

/* Depth-first search from `start` (states of the component reset to 0);
 * on the first back edge, removes the heaviest edge of that cycle (first
 * heaviest in the order v -> ... -> u -> v) and returns 1; 0 if acyclic. */
static int break_one_cycle(graph *g, int start) {
  int *stack = g->queue, *next_dir = g->parent, *up = g->parent_dir, top = 0;
  stack[top++] = start;
  next_dir[start] = 0, up[start] = -1, g->state[start] = 1;
  while (top) {
    int u = stack[top - 1];
    if (next_dir[u] == 8) {
      g->state[u] = 2;
      top--;
      continue;
    }
    int d = next_dir[u]++;
    int v = g->nbr[u * 8 + d];
    if (v < 0 || d == up[u]) continue;
    if (g->state[v] == 0) {
      g->state[v] = 1, next_dir[v] = 0, up[v] = 7 - d;
      stack[top++] = v;
    } else if (g->state[v] == 1) {
      /* The cycle: stack from v up to u, then the edge u -> v. */
      int at = top - 1;
      while (stack[at] != v) at--;
      int best_node = u, best_dir = d, best_w = 0;
      for (int s = at; s < top; s++) {
        int a = stack[s], dir;
        if (s + 1 < top) {
          dir = 7 - up[stack[s + 1]];  /* direction from a to its child on the stack */
        } else {
          dir = d;                     /* the closing edge u -> v */
        }
        if (weight(dir) > best_w) best_w = weight(dir), best_node = a, best_dir = dir;
      }
      remove_edge(g, best_node, best_dir);
      return 1;
    }
  }
  return 0;
}

/* BFS by hops from `source` over the component; returns the first node
 * reached with the largest hop count. Fills dist (-1 = unreached) and parent
 * for the component's nodes (listed in comp[0..count-1]). */
static int bfs_farthest(graph *g, const int *comp, int count, int source) {
  for (int i = 0; i < count; i++) g->dist[comp[i]] = -1;
  int head = 0, tail = 0, far = source;
  g->queue[tail++] = source;
  g->dist[source] = 0, g->parent[source] = -1;
  while (head < tail) {
    int u = g->queue[head++];
    if (g->dist[u] > g->dist[far]) far = u;
    for (int d = 0; d < 8; d++) {
      int v = g->nbr[u * 8 + d];
      if (v < 0 || g->dist[v] >= 0) continue;
      g->dist[v] = g->dist[u] + 1, g->parent[v] = u;
      g->queue[tail++] = v;
    }
  }
  return far;
}

void mv_pixel_paths_free(mv_pixel_path *paths, int count) {
  if (!paths) return;
  for (int i = 0; i < count; i++) free(paths[i].xy);
  free(paths);
}

mv_status mv_skeleton_paths(const uint8_t *skeleton, int width, int height, int min_nodes,
                            mv_pixel_path **paths, int *count) {
  MV_CHECK_ARG(paths && count, "mv_skeleton_paths: %s is NULL", paths ? "count" : "paths");
  *paths = NULL, *count = 0;
  MV_CHECK_ARG(skeleton, "mv_skeleton_paths: skeleton is NULL");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_skeleton_paths: size %d x %d is not positive",
               width, height);
  MV_CHECK_ARG(min_nodes >= 1, "mv_skeleton_paths: min_nodes %d is below 1", min_nodes);
  graph g;
  MV_TRY(graph_build(skeleton, width, height, &g));
  int *comp = malloc((g.nodes ? (size_t)g.nodes : 1) * sizeof *comp);
  int *component_of = malloc((g.nodes ? (size_t)g.nodes : 1) * sizeof *component_of);
  mv_pixel_path *out = NULL;
  int out_count = 0;
  mv_status s = MV_OK;
  if (!comp || !component_of)
    s = mv_fail(MV_E_MEMORY, "mv_skeleton_paths: out of memory for %d nodes", g.nodes);
  if (s == MV_OK)
    for (int v = 0; v < g.nodes; v++) component_of[v] = -1;
  /* Components in raster order of their first node. */
  for (int first = 0; s == MV_OK && first < g.nodes; first++) {
    if (component_of[first] >= 0) continue;
    int n = 0;
    comp[n++] = first;
    component_of[first] = first;
    for (int head = 0; head < n; head++) {
      int u = comp[head];
      for (int d = 0; d < 8; d++) {
        int v = g.nbr[u * 8 + d];
        if (v >= 0 && component_of[v] < 0) component_of[v] = first, comp[n++] = v;
      }
    }
    /* Break cycles until the component is a tree. */
    for (;;) {
      for (int i = 0; i < n; i++) g.state[comp[i]] = 0;
      if (!break_one_cycle(&g, first)) break;
    }
    if (n < min_nodes) continue;
    int a = bfs_farthest(&g, comp, n, first);
    int b = bfs_farthest(&g, comp, n, a);
    int length = g.dist[b] + 1;
    mv_pixel_path path = {length, malloc((size_t)length * 2 * sizeof(int))};
    mv_pixel_path *grown = realloc(out, ((size_t)out_count + 1) * sizeof *out);
    if (!path.xy || !grown) {
      free(path.xy);
      if (grown) out = grown;
      s = mv_fail(MV_E_MEMORY, "mv_skeleton_paths: out of memory for a path of %d nodes",
                  length);
      break;
    }
    out = grown;
    /* Parent pointers lead from b back to a; store a .. b. */
    int v = b;
    for (int i = length - 1; i >= 0; i--, v = g.parent[v]) {
      path.xy[2 * i] = g.x[v];
      path.xy[2 * i + 1] = g.y[v];
    }
    out[out_count++] = path;
  }
  free(comp);
  free(component_of);
  graph_free(&g);
  if (s != MV_OK) {
    mv_pixel_paths_free(out, out_count);
    return s;
  }
  *paths = out;
  *count = out_count;
  return MV_OK;
}
