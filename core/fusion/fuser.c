/* What fusion/fuser.h declares for every fuser. */
#include "fusion/fuser.h"

void mv_fuser_destroy(mv_fuser *fuser) {
  if (fuser && fuser->ops && fuser->ops->destroy) fuser->ops->destroy(fuser->self);
  if (fuser) *fuser = (mv_fuser){0};
}
