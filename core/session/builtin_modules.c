/* The built-in modules by name (see builtin_modules.h). To add a module,
 * write its constructor beside its kind's interface and add one row here. */
#include "session/builtin_modules.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fusion/fusion_net.h"
#include "interaction/interactor.h"
#include "interaction/s2m_net.h"
#include "propagation/labelprop.h"
#include "propagation/labelprop_flow.h"
#include "propagation/propagation_net.h"
#include "propagation/refine.h"

static mv_status strokecut(const mv_networks *nets, mv_interactor *out) {
  return mv_interactor_strokecut(NULL, out);
}
static mv_status graphcut(const mv_networks *nets, mv_interactor *out) {
  return mv_interactor_graphcut(out);
}
static mv_status freehand(const mv_networks *nets, mv_interactor *out) {
  return mv_interactor_freehand(out);
}
static mv_status s2m(const mv_networks *nets, mv_interactor *out) {
  if (!nets || !nets->s2m)
    return mv_fail(MV_E_STATE, "interaction 's2m' needs the official weights");
  return mv_interactor_s2m(nets->s2m, out);
}
static mv_status labelprop(const mv_networks *nets, mv_propagator *out) {
  return mv_propagator_labelprop(NULL, out);
}
/* labelprop with the per-frame refinement (refine.h); a name of its own so
 * that the CLI, the evaluation and the Lua API compare it by name. */
static mv_status labelprop_refine(const mv_networks *nets, mv_propagator *out) {
  mv_propagator inner;
  MV_TRY(mv_propagator_labelprop(NULL, &inner));
  return mv_propagator_refine(inner, NULL, "labelprop+refine", out);
}
static mv_status labelprop_flow(const mv_networks *nets, mv_propagator *out) {
  return mv_propagator_labelprop_flow(NULL, out);
}
/* labelprop-flow's read (window 8), optionally with the objects' own
 * translations as flow candidates, then the per-frame refinement. */
static mv_status flow_refine(int object_shift, const char *name, mv_propagator *out) {
  /* The refinement regularises the read, which then gains from a wider
   * window (8 cells instead of labelprop-flow's 6): ground truth of frame 0
   * propagated, mean J over 1..T-1 / 1..29, 0.762 / 0.827 -> 0.766 / 0.833
   * (window 10: 0.768 / 0.837 at 1.5x the CPU); whole loop final J&F 0.774
   * -> 0.779, 0.778 with the start frame's colour models (README, Weight-free
   * accuracy; refine.h). */
  mv_labelprop_flow_options o;
  mv_labelprop_flow_options_default(&o);
  o.read.window = 8;
  o.object_shift = object_shift;
  mv_propagator inner;
  MV_TRY(mv_propagator_labelprop_flow(&o, &inner));
  return mv_propagator_refine(inner, NULL, name, out);
}
static mv_status labelprop_flow_refine(const mv_networks *nets, mv_propagator *out) {
  return flow_refine(0, "labelprop-flow+refine", out);
}
static mv_status labelprop_flow_shift_refine(const mv_networks *nets, mv_propagator *out) {
  /* +-32 cells (128 pixels at 480p) a memory frame: ground truth of frame 0
   * propagated 0.766 / 0.833 -> 0.781 / 0.848 (drift-straight 0.42 ->
   * 0.54), whole loop final J&F 0.778 -> 0.796 (object_shift.h) */
  return flow_refine(32, "labelprop-flow+shift+refine", out);
}
static mv_status network_propagator(const mv_networks *nets, mv_propagator *out) {
  return mv_propagator_network(nets->propagation, out);
}
static mv_status linear(const mv_networks *nets, mv_fuser *out) { return mv_fuser_linear(out); }
static mv_status confidence(const mv_networks *nets, mv_fuser *out) {
  return mv_fuser_confidence(out);
}
static mv_status conservative(const mv_networks *nets, mv_fuser *out) {
  /* gamma 3 with certainty: final J&F 0.735 on the 10 DAVIS 2016 sequences
   * (1.5: 0.729, linear: 0.729; README, Weight-free accuracy) */
  return mv_fuser_conservative(3.0f, 1, out);
}
static mv_status conservative_agreement(const mv_networks *nets, mv_fuser *out) {
  /* rounds weighed by their agreements to the 4th power, a pass assumed to
   * agree 0.7 at tc until it has run: final J&F 0.796 -> 0.802 on the 10
   * DAVIS 2016 sequences (README, Weight-free accuracy) */
  return mv_fuser_conservative_agreement(3.0f, 1, 4.0f, 0.7f, out);
}
static mv_status network_fuser(const mv_networks *nets, mv_fuser *out) {
  return mv_fuser_network(nets->propagation, nets->fusion, out);
}

/* The first entry of each kind is its weight-free default. */
static const mv_builtin interactions[] = {
    {"strokecut", 0, strokecut, NULL, NULL, 1},
    {"graphcut", 0, graphcut, NULL, NULL},
    {"s2m", MV_NEEDS_S2M_NET, s2m, NULL, NULL},
    {"freehand", 0, freehand, NULL, NULL},
};
static const mv_builtin propagators[] = {
    /* labelprop with optical flow, the objects' own translations and the
     * per-frame graph-cut refinement (the default: final J&F 0.796 on the 10
     * DAVIS 2016 sequences with conservative fusion, against 0.778 without
     * the translations and 0.757 without the refinement either; README
     * Weight-free accuracy); the steps before it, to compare */
    {"labelprop-flow+shift+refine", 0, NULL, labelprop_flow_shift_refine, NULL},
    {"labelprop-flow+refine", 0, NULL, labelprop_flow_refine, NULL},
    {"labelprop-flow", 0, NULL, labelprop_flow, NULL},
    {"labelprop", 0, NULL, labelprop, NULL},
    {"labelprop+refine", 0, NULL, labelprop_refine, NULL},
    {"network", MV_NEEDS_PROPAGATION_NET, NULL, network_propagator, NULL},
};
static const mv_builtin fusers[] = {
    /* the default; the previous default, MiVOS's linear blend and the
     * confidence blend, to compare */
    {"conservative+agreement", 0, NULL, NULL, conservative_agreement},
    {"conservative", 0, NULL, NULL, conservative},
    {"linear", 0, NULL, NULL, linear},
    {"confidence", 0, NULL, NULL, confidence},
    {"network", MV_NEEDS_PROPAGATION_NET | MV_NEEDS_FUSION_NET, NULL, NULL, network_fuser},
    {"none", 0, NULL, NULL, NULL},
};

static const mv_builtin *table(mv_module_kind kind, int *count) {
  switch (kind) {
    case MV_MODULE_INTERACTION: *count = (int)(sizeof interactions / sizeof *interactions);
      return interactions;
    case MV_MODULE_PROPAGATION: *count = (int)(sizeof propagators / sizeof *propagators);
      return propagators;
    case MV_MODULE_FUSION: *count = (int)(sizeof fusers / sizeof *fusers);
      return fusers;
  }
  *count = 0;
  return NULL;
}

const char *mv_builtin_module(mv_module_kind kind, int index, int *needs_weights) {
  int count;
  const mv_builtin *t = table(kind, &count);
  if (index < 0 || index >= count) return NULL;
  if (needs_weights) *needs_weights = t[index].networks != 0;
  return t[index].name;
}

const mv_builtin *mv_builtin_find(mv_module_kind kind, const char *name) {
  int count;
  const mv_builtin *t = table(kind, &count);
  for (int i = 0; name && i < count; i++)
    if (!strcmp(t[i].name, name)) return &t[i];
  return NULL;
}

void mv_builtin_names(mv_module_kind kind, char *out, size_t size) {
  int count;
  const mv_builtin *t = table(kind, &count);
  size_t used = 0;
  out[0] = 0;
  for (int i = 0; i < count && used < size; i++) {
    const char *sep = i == 0 ? "" : (i == count - 1 ? " or " : ", ");
    int n = snprintf(out + used, size - used, "%s%s", sep, t[i].name);
    if (n < 0) break;
    used += (size_t)n;
  }
}

static mv_status load_weights(const char *folder, const char *file, mv_checkpoint **out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", folder, file);
  mv_status s = mv_checkpoint_open(path, out);
  if (s != MV_OK) return mv_fail_context(s, "weights '%s'", path);
  return MV_OK;
}

mv_status mv_networks_load(mv_networks *nets, unsigned needed, const char *folder) {
  MV_CHECK_ARG(nets, "mv_networks_load: NULL argument");
  mv_checkpoint *c = NULL;
  if ((needed & MV_NEEDS_PROPAGATION_NET) && !nets->propagation) {
    MV_TRY(load_weights(folder, "propagation_model.pth", &c));
    mv_status st = mv_propagation_load(c, &nets->propagation);
    mv_checkpoint_close(c);
    MV_TRY(st);
  }
  if ((needed & MV_NEEDS_FUSION_NET) && !nets->fusion) {
    MV_TRY(load_weights(folder, "fusion.pth", &c));
    mv_status st = mv_fusion_load(c, &nets->fusion);
    mv_checkpoint_close(c);
    MV_TRY(st);
  }
  if ((needed & MV_NEEDS_S2M_NET) && !nets->s2m) {
    MV_TRY(load_weights(folder, "s2m.pth", &c));
    mv_status st = mv_s2m_load(c, &nets->s2m);
    mv_checkpoint_close(c);
    MV_TRY(st);
  }
  return MV_OK;
}

void mv_networks_free(mv_networks *nets) {
  if (!nets) return;
  mv_propagation_free(nets->propagation);
  mv_fusion_free(nets->fusion);
  mv_s2m_free(nets->s2m);
  *nets = (mv_networks){0};
}
