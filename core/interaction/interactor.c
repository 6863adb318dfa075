#include "interaction/interactor.h"

#include <string.h>

#include "error.h"

void mv_interactor_destroy(mv_interactor *interactor) {
  if (!interactor) return;
  if (interactor->ops && interactor->ops->destroy) interactor->ops->destroy(interactor->self);
  memset(interactor, 0, sizeof *interactor);
}

mv_status mv_interaction_input_check(const mv_interaction_input *in, const float *out,
                                     const char *fn) {
  MV_CHECK_ARG(in, "%s: NULL input", fn);
  MV_CHECK_ARG(out, "%s: NULL output", fn);
  MV_CHECK_ARG(in->rgb, "%s: NULL rgb frame", fn);
  MV_CHECK_ARG(in->width > 0 && in->height > 0, "%s: frame size %dx%d must be positive", fn,
               in->width, in->height);
  MV_CHECK_ARG((int64_t)in->width * in->height <= (int64_t)1 << 28,
               "%s: frame size %dx%d is too large", fn, in->width, in->height);
  return MV_OK;
}

mv_status mv_interactor_run(const mv_interactor *interactor, const mv_interaction_input *in,
                            float *out) {
  MV_CHECK_ARG(interactor && interactor->ops && interactor->ops->run,
               "mv_interactor_run: NULL or destroyed interactor");
  MV_TRY(mv_interaction_input_check(in, out, interactor->name ? interactor->name : "interactor"));
  return interactor->ops->run(interactor->self, in, out);
}
