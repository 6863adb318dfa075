/* Internal state of the pickle VM (pickle.h), shared by its two halves:
 * pickle.c, the opcode interpreter (operands, stack, marks, memo and the
 * values it allocates), and pickle_torch.c, what torch's pickles mean (the
 * allow-list of globals, persistent ids as storages, _rebuild_tensor calls as
 * tensors). The interpreter knows nothing of torch; the torch half never
 * touches the stack. */
#ifndef MV_PICKLE_INTERNAL_H
#define MV_PICKLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "weights/pickle.h"

typedef struct mv_pk_vm {
  const char *name;
  const uint8_t *data;
  size_t size, pos, op_pos;
  uint8_t op;
  mv_pickle *pickle;
  mv_pk_value **stack;
  size_t sp, stack_cap;
  size_t *marks;
  size_t nmarks, marks_cap;
  mv_pk_value **memo;
  size_t memo_cap, memo_count; /* memo_count: slots in use (MEMOIZE's next index) */
} mv_pk_vm;

/* ---- pickle.c ---- */

/* "<name>: pickle opcode 0x.. at byte N: <what>" with status st. */
mv_status mv_pk_fail(mv_pk_vm *m, mv_status st, const char *what);

/* A new zeroed value of `kind` on the pickle's allocation chain (bounded count). */
mv_status mv_pk_new_value(mv_pk_vm *m, mv_pk_kind kind, mv_pk_value **out);

/* ---- pickle_torch.c ---- */

/* GLOBAL / STACK_GLOBAL: module.name from the allow-list as an MV_PK_GLOBAL
 * value; anything else fails with MV_E_UNSUPPORTED. */
mv_status mv_pk_global(mv_pk_vm *m, const uint8_t *mod, size_t mod_len, const uint8_t *name,
                       size_t name_len, mv_pk_value **out);

/* BINPERSID: a ('storage', type, key, location, numel[, view]) id as an
 * MV_PK_STORAGE value. */
mv_status mv_pk_persistent_load(mv_pk_vm *m, mv_pk_value *pid, mv_pk_value **out);

/* REDUCE / NEWOBJ: calls an allowed global (OrderedDict, _rebuild_tensor*,
 * _rebuild_parameter*) with the tuple `args`. */
mv_status mv_pk_call(mv_pk_vm *m, mv_pk_value *fn, mv_pk_value *args, mv_pk_value **out);

#endif
