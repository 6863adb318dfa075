/* The propagation engine: the official MiVOS inference core (interaction ->
 * bidirectional propagation -> difference-aware fusion) over swappable
 * propagation and fusion modules. Probabilities of every frame, background
 * first, are kept on the host; features and memory on the device. */
#ifndef MV_ENGINE_H
#define MV_ENGINE_H

#include "fusion/fuser.h"
#include "mivos.h"
#include "opencl/ops.h"
#include "propagation/propagator.h"

/* ---- engine ------------------------------------------------------------------ */

/* Supplies frame t preprocessed (1 x 3 x H x W, padded); `out` is empty. */
typedef mv_status (*mv_frame_source)(void *user, int frame, mv_tensor *out);

typedef struct mv_engine_config {
  int frames, objects;
  int height, width;          /* unpadded frame size */
  int memory_every;           /* a frame enters memory this often (official: 5) */
  size_t query_cache_bytes;   /* bound of the cached per-frame queries (0: 1 GiB) */
  size_t memory_bank_bytes;   /* bound of a pass's memory bank on the device
                                 (0: none). When the official schedule would
                                 need more, the oldest non-interacted memory
                                 frames are overwritten (a ring). */
  size_t host_bytes;          /* probabilities kept at float32 up to this many
                                 bytes, beyond at 16 bits (0: always float32) */
} mv_engine_config;

typedef struct mv_engine mv_engine;

/* Takes ownership of the modules (destroyed with the engine; fuser may be NULL). */
mv_status mv_engine_create(const mv_engine_config *config, mv_propagator propagator,
                           mv_fuser *fuser, mv_frame_source source, void *source_user,
                           mv_engine **out);
void mv_engine_free(mv_engine *engine);

/* Progress: called after each propagated frame with (done, total); a
 * non-zero return stops the propagation after that frame. */
typedef int (*mv_engine_progress)(void *user, int done, int total);

/* The official interact(): mask is (k+1) x h x w, background first,
 * unpadded, host memory. Replaces the frame's probabilities, memorises it as
 * certain memory, propagates both ways up to the nearest interacted frames
 * and fuses where a pass ends at one. A loop over the step API below. */
mv_status mv_engine_interact(mv_engine *engine, int frame, const float *mask,
                             mv_engine_progress progress, void *progress_user);

/* The same in steps. begin commits the mask as interact() does (the frame's
 * memory entry is replaced if it has one; `interacted` = 1 marks the mask as
 * coming from an interaction, kept when the entry is replaced) and plans the
 * passes: directions 1 forward, 2 backward, 3 both (forward first), each up
 * to the nearest other interacted frame (exclusive) or the video's end; with
 * one direction `to` (>= 0) is the last frame to propagate (-1: none);
 * count > 0 bounds the frames of the whole run. A frame's result is the one
 * the full pass would give (the bank and fusion do not depend on the
 * bounds). One run is open per engine at a time (MV_E_STATE otherwise);
 * memory and object changes fail while it is open. */
typedef struct mv_engine_run mv_engine_run;
mv_status mv_engine_begin(mv_engine *engine, int frame, const float *mask, int interacted,
                          int directions, int to, int count, mv_engine_run **out);
/* Propagates the next frame: *frame = its index (-1 when nothing was left),
 * *done = 1 when no frame is left after it. With a fuser that asks for a
 * second fusion (fuser.h), the step that ends a pass at an earlier
 * interacted frame also rewrites that pass's frames. After a failure the
 * run only reports MV_E_STATE (the frames done keep their results). */
mv_status mv_engine_step(mv_engine_run *run, int *frame, int *done);
/* Frames the run propagates in all, and so far. */
int mv_engine_run_total(const mv_engine_run *run);
int mv_engine_run_done(const mv_engine_run *run);
/* Frees the run (its memory bank); the frames done keep their results.
 * NULL is ignored. mv_engine_free ends an open run. */
void mv_engine_end(mv_engine_run *run);

/* Memory control: the certain memory holds one entry per frame propagated
 * from, in the order they were first added. */
int mv_engine_memory_count(const mv_engine *engine);
/* Entry i (0..count-1): its frame and whether its mask came from an interaction. */
void mv_engine_memory_entry(const mv_engine *engine, int i, int *frame, int *interacted);
/* Drops the frame's entry (MV_E_ARGUMENT when it has none): later passes
 * neither read it nor stop at the frame. Its probabilities stay. */
mv_status mv_engine_forget(mv_engine *engine, int frame);

/* The padded probabilities of a frame, (k+1) x H x W (H, W padded). */
mv_status mv_engine_probabilities(const mv_engine *engine, int frame, float *out);
/* Label map (argmax, first index wins ties), unpadded h x w. */
mv_status mv_engine_labels(const mv_engine *engine, int frame, uint8_t *out);
mv_padding mv_engine_padding(const mv_engine *engine);
int mv_engine_objects(const mv_engine *engine);
/* Frames with a memory entry (propagated from, not forgotten). */
int mv_engine_interacted_count(const mv_engine *engine);

/* Memory in use: the largest memory bank of any pass so far, the cached
 * queries (device) and the stored probabilities (host memory, and the
 * spill file past the host limit), in bytes. */
typedef struct mv_engine_memory {
  size_t peak_bank_bytes, query_cache_bytes, host_bytes, spilled_bytes;
  int quantized;   /* probabilities stored at 16 bits */
} mv_engine_memory;
void mv_engine_memory_use(const mv_engine *engine, mv_engine_memory *out);

/* Changes the objects: new object j (1..new_objects) takes old object
 * source[j] (0 = a new, empty object); old objects nobody takes are removed
 * (their probability goes to the background). Stored probabilities and the
 * masks of the interacted frames are remapped and the memory of the
 * interacted frames is recomputed. source[0] is ignored. */
mv_status mv_engine_remap_objects(mv_engine *engine, int new_objects, const int *source);

/* ---- snapshots (session/snapshot.c) ---- */
#include "session/snapshot.h"
int mv_engine_memory_every(const mv_engine *engine);
/* The state a resume needs: objects, interacted frames, the interacted
 * frames' memory (keys, values from the device, and their masks), the
 * probabilities of every frame. The query cache is not saved (recomputed). */
mv_status mv_engine_export(const mv_engine *engine, mv_snapshot_writer *w);
/* Reads all of it before replacing anything (on failure nothing changes). */
mv_status mv_engine_import(mv_engine *engine, mv_snapshot_reader *r);

#endif
