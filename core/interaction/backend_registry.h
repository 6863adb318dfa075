/* The registry behind mv_backend_register (public API in mivos.h). */
#ifndef MV_BACKEND_REGISTRY_H
#define MV_BACKEND_REGISTRY_H

#include "interaction/interactor.h"

/* An interactor calling the registered backend `name`. */
mv_status mv_backend_interactor(const char *name, mv_interactor *out);

#endif
