/* The propagation network (STM-style space-time memory with a top-k read):
 * query encoder, memory encoder, key/value projections, memory read and
 * decoder, on the official checkpoint's key names. */
#ifndef MV_PROPAGATION_H
#define MV_PROPAGATION_H

#include "mivos.h"
#include "opencl/ops.h"
#include "propagation/propagator.h"

enum { MV_KEY_DIM = 128, MV_VALUE_DIM = 512 };

typedef struct mv_propagation mv_propagation;

mv_status mv_propagation_load(const mv_checkpoint *checkpoint, mv_propagation **out);
void mv_propagation_free(mv_propagation *net);

/* What a query frame contributes, computed once per frame: its key and value
 * at 1/16 and the decoder's skip features at 1/8 and 1/4, which do not depend
 * on the object (so they are shared by all objects). */
typedef struct mv_query {
  mv_tensor k16, v16;          /* 1 x 128 x h x w, 1 x 512 x h x w */
  mv_tensor skip8, skip4;      /* 1 x 512 x 2h x 2w, 1 x 256 x 4h x 4w */
  mv_tensor f16, f8, f4;       /* only with keep_features (tests) */
} mv_query;

/* image: 1 x 3 x H x W (preprocessed, H and W multiples of 16). */
mv_status mv_propagation_encode_query(const mv_propagation *net, const mv_tensor *image,
                                      int keep_features, mv_query *out);
void mv_query_free(mv_query *query);

/* masks: k x 1 x H x W. The memory encoder sees [RGB, mask_i, sum of the
 * other masks]. key: k x 128 x h x w, value: k x 512 x h x w. */
mv_status mv_propagation_memorize(const mv_propagation *net, const mv_tensor *image,
                                  const mv_tensor *masks, mv_tensor *key, mv_tensor *value);

/* prob: k x 1 x H x W sigmoid probabilities per object. readout (tests, may
 * be NULL): k x 512 x h x w. */
mv_status mv_propagation_segment(const mv_propagation *net, const mv_query *query,
                                 const mv_memory *memory, mv_tensor *prob, mv_tensor *readout);

#endif
