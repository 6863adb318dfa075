/* Multi-object soft aggregation (the official aggregate_wbg): background =
 * prod(1 - p_i); stack [bg, p_1..p_k]; clamp to [1e-7, 1-1e-7]; logit;
 * (x1000 when hard); softmax over the k+1 channels. */
#ifndef MV_AGGREGATE_H
#define MV_AGGREGATE_H

#include "opencl/ops.h"

/* prob: k x 1 x H x W (per-object probabilities). out: (k+1) x 1 x H x W,
 * background first; empty or right-sized. */
mv_status mv_aggregate(const mv_tensor *prob, int hard, mv_tensor *out);

#endif
