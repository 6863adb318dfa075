/* The official networks as engine modules: propagation (query encoder,
 * memory encoder, top-k read, decoder) and difference-aware fusion. */
#include <stdlib.h>

#include "session/engine.h"
#include "error.h"
#include "fusion/fusion_net.h"

static mv_status network_encode_query(void *self, const mv_tensor *image, void **query,
                                      size_t *bytes) {
  mv_query *q = calloc(1, sizeof *q);
  if (!q) return mv_fail(MV_E_MEMORY, "network propagation: out of memory");
  mv_status s = mv_propagation_encode_query(self, image, 0, q);
  if (s != MV_OK) {
    free(q);
    return s;
  }
  *bytes = (mv_tensor_numel(&q->k16) + mv_tensor_numel(&q->v16) + mv_tensor_numel(&q->skip8) +
            mv_tensor_numel(&q->skip4)) * sizeof(float);
  *query = q;
  return MV_OK;
}

static void network_free_query(void *self, void *query) {
  mv_query_free(query);
  free(query);
}

static mv_status network_memorize(void *self, const mv_tensor *image, const mv_tensor *masks,
                                  mv_tensor *key, mv_tensor *value) {
  return mv_propagation_memorize(self, image, masks, key, value);
}

static mv_status network_segment(void *self, void *query, const mv_memory *memory,
                                 mv_tensor *prob) {
  return mv_propagation_segment(self, query, memory, prob, NULL);
}

static const mv_tensor *network_query_key(void *self, void *query) {
  return &((mv_query *)query)->k16;
}

static const mv_propagator_ops network_propagator_ops = {
    network_encode_query, network_free_query, network_memorize,
    network_segment,      network_query_key,  NULL,
};

mv_status mv_propagator_network(const mv_propagation *net, mv_propagator *out) {
  MV_CHECK_ARG(net && out, "mv_propagator_network: NULL argument");
  *out = (mv_propagator){&network_propagator_ops, (void *)net, "network"};
  return MV_OK;
}

typedef struct network_fuser {
  const mv_propagation *prop;
  const mv_fusion *fusion;
} network_fuser;

/* Per object: attention from the interacted frame, FusionNet, sigmoid; then
 * the soft aggregation of all objects (the official fuse_one_frame). */
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
