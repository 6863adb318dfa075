/* What propagation/propagator.h declares for every propagator: releasing
 * one, and the memory bank of a pass (memorised frames written into slots of
 * the keys / values tensors that the read takes whole). */
#include "error.h"
#include "opencl/engine_ops.h"
#include "propagation/propagator.h"

mv_status mv_memory_store(mv_memory *memory, int slot, const mv_tensor *key,
                          const mv_tensor *value) {
  MV_CHECK_ARG(memory && key && value, "mv_memory_store: NULL argument");
  const mv_tensor *bank[2] = {&memory->keys, &memory->values};
  const mv_tensor *part[2] = {key, value};
  for (int i = 0; i < 2; i++) {
    MV_CHECK_ARG(bank[i]->buffer, "mv_memory_store: memory is not allocated");
    MV_CHECK_ARG(slot >= 0 && slot < bank[i]->h, "mv_memory_store: slot %d outside 0..%d", slot,
                 bank[i]->h - 1);
    MV_CHECK_ARG(part[i]->n == bank[i]->n && part[i]->c == bank[i]->c &&
                     part[i]->h * part[i]->w == bank[i]->w,
                 "mv_memory_store: frame is %dx%dx%dx%d, memory holds %d x %d x (%d positions)",
                 part[i]->n, part[i]->c, part[i]->h, part[i]->w, bank[i]->n, bank[i]->c,
                 bank[i]->w);
  }
  MV_TRY(mv_memory_slot_store(key, &memory->keys, slot));
  return mv_memory_slot_store(value, &memory->values, slot);
}

void mv_propagator_destroy(mv_propagator *propagator) {
  if (propagator && propagator->ops && propagator->ops->destroy)
    propagator->ops->destroy(propagator->self);
  if (propagator) *propagator = (mv_propagator){0};
}
