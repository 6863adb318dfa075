/* Internal pieces of the evaluation module (spec/EVALUATION.md): disk
 * footprints and binary filters over them, DAVIS boundary maps, the medial
 * axis, skeleton graphs and Bezier resampling. The public entry points are in
 * mivos.h ("evaluation" section). Masks are height x width bytes, nonzero =
 * set, row-major. */
#ifndef MV_EVAL_INTERNAL_H
#define MV_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mivos.h"

/* ---- disk footprints (core/disk_filter.c) ---- */

/* skimage's disk(r) for a real r: the n x n cells (i, j), n = ceil(2r + 1),
 * with c_i = -r + i and c_i^2 + c_j^2 <= r^2. Every row of such a disk is one
 * run of columns, so the footprint is stored as row runs. The window of pixel
 * (y, x) is {(y + i - origin, x + j - origin)}, origin = n / 2. */
typedef struct mv_disk {
  int n, origin;
  int *lo, *hi;   /* row i: columns lo[i]..hi[i]; lo > hi when the row is empty */
  int cells;      /* number of cells in the footprint */
} mv_disk;

mv_status mv_disk_make(double radius, mv_disk *out);
void mv_disk_release(mv_disk *disk);

/* Minimum (want_min = 1) or maximum filter of a binary mask over the disk's
 * window, pixels outside the image ignored (the window is clipped; an empty
 * clipped window gives 0). out receives 0/1 and may not alias in. */
mv_status mv_disk_filter(const uint8_t *in, int width, int height, const mv_disk *disk,
                         int want_min, uint8_t *out);

/* Opening (minimum then maximum filter over the same window) with disk(r). */
mv_status mv_disk_opening(const uint8_t *in, int width, int height, double radius,
                          uint8_t *out);

/* Number of set pixels of `a` whose disk window holds a set pixel of `b`,
 * i.e. |a and dilate(b, disk)| (the disk must be symmetric: integer radius). */
mv_status mv_disk_hits(const uint8_t *a, const uint8_t *b, int width, int height,
                       const mv_disk *disk, size_t *hits);

/* ---- boundaries (core/boundary.c) ---- */

/* The DAVIS boundary map (_seg2bmap): a pixel differing from its right,
 * lower or lower-right neighbour, with the last-row/last-column rules.
 * Returns the number of boundary pixels in *count (may be NULL). */
void mv_boundary_map(const uint8_t *mask, int width, int height, uint8_t *out, size_t *count);

/* Precision/recall/F of two binary masks with tolerance `tol` pixels. */
mv_status mv_boundary_f_tol(const uint8_t *pred, const uint8_t *gt, int width, int height,
                            int tol, double *f);

/* ---- medial axis (core/skeleton.c) ---- */

/* skimage's medial_axis of `mask` padded with one background pixel on every
 * side, padding removed again; ties of the removal order broken by a fixed
 * hash of the pixel position (see skeleton.c). out: height x width 0/1. */
mv_status mv_medial_axis(const uint8_t *mask, int width, int height, uint8_t *out);

/* ---- skeleton graph and longest paths (core/skeleton_graph.c) ---- */

typedef struct mv_pixel_path {
  int count;
  int *xy;        /* count x 2: (column, row) */
} mv_pixel_path;

/* 8-neighbour graph of the skeleton pixels, cycles removed (heaviest edge of
 * each cycle found), components of fewer than `min_nodes` nodes dropped, and
 * the longest path (double BFS by hops) of each remaining tree, components in
 * raster order of their first pixel. Free with mv_pixel_paths_free. */
mv_status mv_skeleton_paths(const uint8_t *skeleton, int width, int height, int min_nodes,
                            mv_pixel_path **paths, int *count);
void mv_pixel_paths_free(mv_pixel_path *paths, int count);

/* ---- Bezier resampling (core/bezier.c) ---- */

/* The robot's Bezier curve through all `n` points (x, y) of a path:
 * nb_points samples at t = m / (nb_points - 1) of
 * sum_i C(n-1, i) t^(n-1-i) (1-t)^i Q_i; a path longer than nb_points is
 * copied unchanged. out needs 2 * max(n, nb_points) doubles; *out_count
 * receives the number of points written. */
mv_status mv_bezier_resample(const int *xy, int n, int nb_points, double *out, int *out_count);

#endif
