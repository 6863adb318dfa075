/* Rasterisation of user input into uint8 maps (height x width, row-major):
 * thick polylines (scribbles, brush strokes), filled polygons (lasso),
 * disks (clicks), and DAVIS scribble JSON into a label image.
 *
 * Coordinates are pixels as floats: pixel (x, y) is the unit square centred
 * on (x, y), so (0, 0) is the centre of the top-left pixel. A shape covers
 * a pixel when it contains the pixel's centre. Every function writes `value`
 * into the covered pixels (0 erases) and leaves the others unchanged; parts
 * outside the map are clipped. */
#ifndef MV_RASTER_H
#define MV_RASTER_H

#include <stdint.h>

#include "json.h"
#include "mivos.h"

/* A polyline of `count` >= 1 points xy = {x0, y0, x1, y1, ...} with the
 * given thickness > 0: the pixels whose centre lies within thickness / 2 of
 * some segment (the union of disks of that diameter along the segments,
 * i.e. round caps and joins). One point draws a disk. Thickness 1 gives a
 * connected one-pixel line. */
mv_status mv_raster_polyline(uint8_t *map, int width, int height, const float *xy, int count,
                             float thickness, uint8_t value);

/* A filled polygon (lasso) of `count` >= 3 vertices, closed implicitly,
 * EVEN-ODD rule: a pixel is inside when a ray from its centre crosses the
 * outline an odd number of times (a self-intersecting outline leaves holes
 * where it overlaps itself). Centres exactly on an edge follow the usual
 * half-open convention (left/top edges in, right/bottom edges out), so two
 * polygons sharing an edge cover every pixel once. */
mv_status mv_raster_polygon(uint8_t *map, int width, int height, const float *xy, int count,
                            uint8_t value);

/* A disk (click): pixels whose centre lies within `radius` >= 0 of (cx, cy). */
mv_status mv_raster_disk(uint8_t *map, int width, int height, float cx, float cy, float radius,
                         uint8_t value);

/* Frame `frame` of a DAVIS scribble JSON ({"scribbles": [[{"path": [[x, y],
 * ...], "object_id": n}, ...] per frame], "sequence": ...}, x and y
 * normalised to [0, 1]) rasterised as the DAVIS tools do: every labels
 * pixel is set to -1 ("no scribble"), then for each stroke in order each
 * point becomes px = int(x * (width - 1)), py = int(y * (height - 1))
 * (truncation; clamped into the frame), consecutive points are joined by
 * Bresenham lines (both end points included, the minor step taken when the
 * error term is >= 0) and object_id is written (0 = background, i = object
 * i; later strokes overwrite earlier ones). thickness 1 is exactly that;
 * thickness t > 1 stamps a t x t square on every line pixel (offsets
 * -(t-1)/2 .. t/2), so 3 matches MiVOS's 3x3 dilation of the strokes except
 * that overlaps between classes are resolved by stroke order.
 * labels: height x width. A frame with no strokes gives all -1. */
mv_status mv_scribbles_from_davis_json(const mv_json *root, int frame, int width, int height,
                                       int thickness, int16_t *labels);

/* One object's maps from a label image (as above): positive[i] = 1 where
 * labels == object, negative[i] = 1 where labels is another label
 * (background or another object, not -1), 0 elsewhere. object >= 1.
 * Either output may be NULL. */
mv_status mv_scribbles_split(const int16_t *labels, int width, int height, int object,
                             uint8_t *positive, uint8_t *negative);

#endif
