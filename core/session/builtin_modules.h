/* The one table of built-in modules: for each of the three MiVOS modules
 * the names the session accepts, which networks each needs, and how to
 * build it. The session, the backend registry (through the public
 * mv_builtin_module) and the Lua layer all read it. */
#ifndef MV_BUILTIN_MODULES_H
#define MV_BUILTIN_MODULES_H

#include "fusion/fuser.h"
#include "interaction/interactor.h"
#include "mivos.h"
#include "propagation/propagator.h"

typedef struct mv_s2m mv_s2m;

/* The networks loaded for a session (owned by it; NULL when not needed). */
typedef struct mv_networks {
  mv_propagation *propagation;
  mv_fusion *fusion;
  mv_s2m *s2m;
} mv_networks;

/* Which networks a module needs (bit set). */
enum { MV_NEEDS_PROPAGATION_NET = 1, MV_NEEDS_FUSION_NET = 2, MV_NEEDS_S2M_NET = 4 };

/* A built-in module: exactly one of the constructors is set, by kind; a
 * fusion entry with no constructor means "no fusion". */
typedef struct mv_builtin {
  const char *name;
  unsigned networks;
  mv_status (*interactor)(const mv_networks *nets, mv_interactor *out);
  mv_status (*propagator)(const mv_networks *nets, mv_propagator *out);
  mv_status (*fuser)(const mv_networks *nets, mv_fuser *out);
  /* interaction: 1 = the session hands it every stroke since the frame's
   * reset with the mask at the reset (session/stroke_memory.h), so that
   * strokes given one at a time give what they give all at once */
  int all_strokes;
} mv_builtin;

/* The entry named `name` of a kind, NULL if none. */
const mv_builtin *mv_builtin_find(mv_module_kind kind, const char *name);
/* "a, b or c": the names of a kind, for error messages. */
void mv_builtin_names(mv_module_kind kind, char *out, size_t size);

/* Loads into `nets` the networks of `needed` (MV_NEEDS_*) that are not yet
 * loaded, from the official files in `folder`. */
mv_status mv_networks_load(mv_networks *nets, unsigned needed, const char *folder);
void mv_networks_free(mv_networks *nets);

#endif
