/* Difference-aware fusion: the attention from the interacted frame to the
 * target frame carries the mask difference over, and FusionNet blends the
 * previous round's and the new propagation's probabilities. */
#ifndef MV_FUSION_H
#define MV_FUSION_H

#include "mivos.h"
#include "opencl/ops.h"

typedef struct mv_fusion mv_fusion;

mv_status mv_fusion_load(const mv_checkpoint *checkpoint, mv_fusion **out);
void mv_fusion_free(mv_fusion *net);

/* One object: mem_key 1 x 128 x h x w (the interacted frame's memory key of
 * this object), query_key 1 x 128 x h x w (target frame), pos/neg diff
 * 1 x 1 x H x W (H = 16 h). attn: 1 x 2 x H x W. */
mv_status mv_fusion_attention(const mv_tensor *mem_key, const mv_tensor *query_key,
                              const mv_tensor *pos_diff, const mv_tensor *neg_diff,
                              mv_tensor *attn);

/* One object: image 1 x 3 x H x W, prev/curr prob 1 x 1 x H x W, attn
 * 1 x 2 x H x W, distances nc, nr. logit: 1 x 1 x H x W (before sigmoid). */
mv_status mv_fusion_forward(const mv_fusion *net, const mv_tensor *image, const mv_tensor *prev_prob,
                            const mv_tensor *curr_prob, const mv_tensor *attn, float nc, float nr,
                            mv_tensor *logit);

/* The official fuse_one_frame for k objects at frame ti between the earlier
 * interacted frame tc and the new one tr: per object the attention from
 * frame tr (keys: k x 128 x h x w, its memory keys), FusionNet on [image,
 * previous, current, attention, nc, nr], sigmoid; then the soft
 * aggregation. previous, current, pos_diff, neg_diff: (k+1) x 1 x H x W,
 * background first. out: (k+1) x 1 x H x W. */
mv_status mv_fusion_fuse_frame(const mv_fusion *net, const mv_tensor *image, const mv_tensor *keys,
                               const mv_tensor *query_key, const mv_tensor *previous,
                               const mv_tensor *current, const mv_tensor *pos_diff,
                               const mv_tensor *neg_diff, int tc, int tr, int ti, mv_tensor *out);

#endif
