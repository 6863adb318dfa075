/* The fusion network as a fuser: per object the attention from the
 * interacted frame, FusionNet and sigmoid, then the soft aggregation of all
 * objects (the official fuse_one_frame). */
#include <stdlib.h>

#include "error.h"
#include "fusion/fuser.h"
#include "fusion/fusion_net.h"
#include "propagation/propagation_net.h"

typedef struct network_fuser {
  const mv_propagation *prop;
  const mv_fusion *fusion;
} network_fuser;

/* Keys for the attention when the propagation module has none of the
 * network's: the memory key of frame tr from its committed mask and the query
 * key of frame ti, computed here with the propagation network. */
static mv_status own_keys(const network_fuser *f, const mv_fusion_input *in, mv_tensor *key,
                          mv_query *query) {
  mv_tensor objects, value = {0};
  int k = in->interacted_mask->n - 1;
  MV_TRY(mv_tensor_view(in->interacted_mask, 1, k, 0, 1, &objects));
  mv_status s = mv_propagation_memorize(f->prop, in->interacted_image, &objects, key, &value);
  mv_tensor_free(&value);
  if (s == MV_OK) s = mv_propagation_encode_query(f->prop, in->image, 0, query);
  return s;
}

static mv_status network_fuse(void *self, const mv_fusion_input *in, mv_tensor *out) {
  const network_fuser *f = self;
  mv_tensor own_key = {0};
  mv_query own_query = {0};
  if (!in->query_key || in->interacted_key->c != MV_KEY_DIM) {
    mv_status s = own_keys(f, in, &own_key, &own_query);
    if (s != MV_OK) {
      mv_tensor_free(&own_key);
      mv_query_free(&own_query);
      return s;
    }
    mv_fusion_input with_keys = *in;
    with_keys.interacted_key = &own_key;
    with_keys.query_key = &own_query.k16;
    s = network_fuse(self, &with_keys, out);
    mv_tensor_free(&own_key);
    mv_query_free(&own_query);
    return s;
  }
  return mv_fusion_fuse_frame(f->fusion, in->image, in->interacted_key, in->query_key,
                              in->previous, in->current, in->pos_diff, in->neg_diff, in->tc,
                              in->tr, in->ti, out);
}

static void network_fuser_destroy(void *self) { free(self); }

static const mv_fuser_ops network_fuser_ops = {network_fuse, network_fuser_destroy};

mv_status mv_fuser_network(const mv_propagation *prop, const mv_fusion *fusion, mv_fuser *out) {
  MV_CHECK_ARG(prop && fusion && out, "mv_fuser_network: NULL argument");
  network_fuser *f = malloc(sizeof *f);
  if (!f) return mv_fail(MV_E_MEMORY, "mv_fuser_network: out of memory");
  f->prop = prop;
  f->fusion = fusion;
  *out = (mv_fuser){&network_fuser_ops, f, "network"};
  return MV_OK;
}
