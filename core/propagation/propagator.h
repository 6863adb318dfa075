/* Paper module 2, propagation: the interface every propagator implements
 * (network space-time memory, weight-free labelprop) and the memory bank
 * the engine keeps for it. The engine sees only this header. */
#ifndef MV_PROPAGATOR_H
#define MV_PROPAGATOR_H

#include "mivos.h"
#include "opencl/tensor.h"

/* The official read keeps the top 50 memory positions per query. */
enum { MV_TOP_K = 50 };

/* A memory of `frames` frames for k objects, laid out as the official code:
 * keys k x Ck x capacity x (h*w), values k x Cv x capacity x (h*w); only
 * the first `frames` slots are read. */
typedef struct mv_memory {
  mv_tensor keys, values;      /* n = k, c = channels, h = capacity, w = h*w */
  int frames;
  /* 1 + the slot that holds the frame just before the query in the pass's
   * order (its neighbour in time, for motion); 0: none or unknown (so a
   * zeroed memory claims none). */
  int previous;
} mv_memory;

/* Writes a memorised frame (key k x Ck x h x w, value k x Cv x h x w) into
 * slot `slot`. */
mv_status mv_memory_store(mv_memory *memory, int slot, const mv_tensor *key,
                          const mv_tensor *value);

/* A propagation module. A query is whatever the module computes once per
 * frame (opaque to the engine, cached by it). Memory keys/values of a frame
 * are k x Ck x h x w and k x Cv x h x w tensors; the engine stores them in an
 * mv_memory and hands that back to segment(). */
typedef struct mv_propagator_ops {
  mv_status (*encode_query)(void *self, const mv_tensor *image, void **query, size_t *bytes);
  void (*free_query)(void *self, void *query);
  /* masks: k x 1 x H x W probabilities of the objects. */
  mv_status (*memorize)(void *self, const mv_tensor *image, const mv_tensor *masks,
                        mv_tensor *key, mv_tensor *value);
  /* prob: k x 1 x H x W per-object probabilities (before aggregation). */
  mv_status (*segment)(void *self, void *query, const mv_memory *memory, mv_tensor *prob);
  /* The query's key (1 x Ck x h x w), for fusion attention; may be NULL. */
  const mv_tensor *(*query_key)(void *self, void *query);
  void (*destroy)(void *self);
} mv_propagator_ops;

typedef struct mv_propagator {
  const mv_propagator_ops *ops;
  void *self;
  const char *name;
  /* The most memory frames besides the interacted ones that segment() should
   * see (0: as many as the device bound allows). The engine keeps the most
   * recent ones of a pass: a module whose read costs per memory frame (the
   * weight-free ones align every memory frame by optical flow) stays at a
   * constant cost per frame on long videos. */
  int memory_frames;
} mv_propagator;

/* Releases a propagator's state (safe on a zeroed one). */
void mv_propagator_destroy(mv_propagator *propagator);

/* The propagation network as a propagator (network_propagator.c); the net
 * is not owned and must outlive the propagator. The weight-free labelprop
 * propagator is declared in labelprop.h with its options. */
typedef struct mv_propagation mv_propagation;
mv_status mv_propagator_network(const mv_propagation *net, mv_propagator *out);

#endif
