/* Operators of the session engine and the memory bank: the interaction's
 * mask difference (for difference-aware fusion) and writing a memorised
 * frame into a slot of a memory bank. */
#ifndef MV_ENGINE_OPS_H
#define MV_ENGINE_OPS_H

#include "opencl/tensor.h"

/* pos = clamp(mask - previous, 0, 1), neg = clamp(previous - mask, 0, 1),
 * element by element; mask and previous of the same shape; pos and neg
 * empty or of that shape. */
mv_status mv_mask_difference(const mv_tensor *mask, const mv_tensor *previous, mv_tensor *pos,
                             mv_tensor *neg);

/* Copies src (n x c x h x w) into slot `slot` of bank (n x c x capacity x
 * (h*w)): bank[i][j][slot][p] = src[i][j][p]. Shapes are checked. */
mv_status mv_memory_slot_store(const mv_tensor *src, mv_tensor *bank, int slot);

#endif
