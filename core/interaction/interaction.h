/* Interaction-to-mask backends behind one interface: given a frame, one
 * object's previous mask and that object's positive/negative scribble maps
 * (clicks and strokes are rasterised into these maps first), produce the
 * object's new probability map. The session combines objects afterwards. */
#ifndef MV_INTERACTION_H
#define MV_INTERACTION_H

#include "mivos.h"

typedef struct mv_interaction_input {
  const uint8_t *rgb;        /* height x width x 3 */
  int width, height;
  const float *previous;     /* height x width in [0, 1]; NULL = empty mask */
  const uint8_t *positive;   /* height x width, nonzero = positive pixels; NULL = none */
  const uint8_t *negative;   /* height x width, nonzero = negative pixels; NULL = none */
} mv_interaction_input;

typedef struct mv_interactor_ops {
  /* out: height x width probabilities of the object. */
  mv_status (*run)(void *self, const mv_interaction_input *in, float *out);
  void (*destroy)(void *self);
} mv_interactor_ops;

typedef struct mv_interactor {
  const mv_interactor_ops *ops;
  void *self;
  const char *name;
} mv_interactor;

/* Releases an interactor's state (safe on a zeroed one). */
void mv_interactor_destroy(mv_interactor *interactor);

#endif
