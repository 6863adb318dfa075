/* The propagation network as a propagator: query encoder, memory encoder,
 * top-k read and decoder behind the engine's module interface. */
#include <stdlib.h>

#include "error.h"
#include "propagation/propagation_net.h"
#include "propagation/propagator.h"

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
