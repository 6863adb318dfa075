/* The strokes given on one frame since its last reset, per object, for the
 * interaction backends that want every stroke at once (strokecut): a
 * browser or a Lua user hands one stroke per call, the robot all of an
 * interaction's strokes at once, and with the memory both reach the backend
 * as the same input: the frame's mask at the reset (the base) and every
 * stroke since (later strokes on top of earlier ones where they cross). So
 * strokes given one at a time give the mask that the same strokes give all
 * at once.
 *
 * The memory holds one frame. It is reset (the next stroke starts from the
 * frame's mask then) by a stroke on another frame, and whenever the frame's
 * labels are no longer those its last stroke left: an undo, a mask import,
 * a freehand edit, a propagation over the frame, an object change. The
 * session also forgets it explicitly on every such edit (an edit that
 * changes nothing still ends the strokes' group). */
#ifndef MV_STROKE_MEMORY_H
#define MV_STROKE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "mivos.h"
#include "session/snapshot.h"

typedef struct mv_stroke_memory {
  int frame;                 /* the frame held, -1 = none */
  size_t pixels;             /* width x height */
  uint8_t *base;             /* labels at the reset */
  uint8_t *last;             /* labels after the last stroke */
  uint8_t *positive[256];    /* per object id: its positive strokes, NULL = none */
  uint8_t *negative[256];
} mv_stroke_memory;

/* An empty memory for frames of `pixels` pixels (allocates nothing yet). */
void mv_stroke_memory_init(mv_stroke_memory *m, size_t pixels);
void mv_stroke_memory_free(mv_stroke_memory *m);
/* Ends the strokes' group: the next stroke starts from the frame's mask. */
void mv_stroke_memory_forget(mv_stroke_memory *m);

/* The backend's input for a stroke of `object` on `frame`, whose labels are
 * `labels` now: into `positive_out` / `negative_out` (pixels bytes each) the
 * object's strokes so far with the new ones (`positive`, `negative`, NULL =
 * none) on top, into `previous` (pixels floats) the object's mask at the
 * reset. Changes nothing (see mv_stroke_memory_commit). */
void mv_stroke_memory_input(const mv_stroke_memory *m, int frame, const uint8_t *labels,
                            int object, const uint8_t *positive, const uint8_t *negative,
                            uint8_t *positive_out, uint8_t *negative_out, float *previous);
/* After the backend succeeded: keeps the object's strokes (the maps
 * mv_stroke_memory_input gave) and the frame's labels before (`before`,
 * the base when the group starts here) and after (`after`) the stroke. */
mv_status mv_stroke_memory_commit(mv_stroke_memory *m, int frame, const uint8_t *before,
                                  const uint8_t *after, int object, const uint8_t *positive,
                                  const uint8_t *negative);

/* Snapshots: the held frame, base, last labels and every object's maps. */
void mv_stroke_memory_export(const mv_stroke_memory *m, mv_snapshot_writer *w);
/* Reads what mv_stroke_memory_export wrote into `m` (an initialised memory
 * of the same size; replaced only on success). */
mv_status mv_stroke_memory_import(mv_stroke_memory *m, int frames, mv_snapshot_reader *r);

#endif
