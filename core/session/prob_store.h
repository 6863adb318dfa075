/* Per-frame probabilities on the host, (k+1) planes per frame. Frames are
 * allocated when first written; a frame never written reads as the official
 * initial state (background 1e-7, objects 0). When all frames at float32
 * would exceed the byte limit, values are kept as 16-bit fixed point
 * (steps of 1/65535), which halves the memory. */
#ifndef MV_PROB_STORE_H
#define MV_PROB_STORE_H

#include <stddef.h>

#include "mivos.h"
#include "session/snapshot.h"

typedef struct mv_prob_store {
  int frames;
  int channels;          /* objects + 1 */
  size_t plane;          /* floats per channel */
  int quantized;         /* 16-bit storage */
  void **data;           /* per frame, NULL = initial state */
} mv_prob_store;

mv_status mv_prob_store_init(mv_prob_store *store, int frames, int channels, size_t plane,
                             size_t byte_limit);
void mv_prob_store_free(mv_prob_store *store);
/* out: channels x plane floats. */
void mv_prob_store_read(const mv_prob_store *store, int frame, float *out);
mv_status mv_prob_store_write(mv_prob_store *store, int frame, const float *in);
/* New channel j takes old channel source[j] (j >= 1; source[j] = 0 means an
 * empty channel); the mass of old channels that no new channel takes is
 * added to the background. source has new_channels entries (source[0] ignored). */
mv_status mv_prob_store_remap(mv_prob_store *store, int new_channels, const int *source);
/* Bytes held. */
size_t mv_prob_store_bytes(const mv_prob_store *store);

/* The same remapping on one frame's planes (used for stored masks too). */
void mv_prob_remap_planes(const float *in, int channels, size_t plane, int new_channels,
                          const int *source, float *out);

/* Snapshots: every frame's presence and probabilities (as floats, so a
 * store read back at another precision gets the same values). scratch:
 * channels x plane floats. Import fills an empty store of the same size. */
void mv_prob_store_export(const mv_prob_store *store, mv_snapshot_writer *w, float *scratch);
mv_status mv_prob_store_import(mv_prob_store *store, mv_snapshot_reader *r, float *scratch);

#endif
