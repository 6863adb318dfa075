/* User interaction backends registered by name (e.g. Lua functions), wrapped
 * as interactors so the session uses them like the built-in ones. */
#include "interaction/backend_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { MAX_BACKENDS = 64, NAME_CAPACITY = 32 };

typedef struct backend {
  char name[NAME_CAPACITY];
  mv_backend_fn fn;
  void *user;
} backend;

static backend backends[MAX_BACKENDS];
static int backend_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int find(const char *name) {
  for (int i = 0; i < backend_count; i++)
    if (!strcmp(backends[i].name, name)) return i;
  return -1;
}

/* Built-in names come from the session's one table, through the public API. */
static int builtin(const char *name) {
  const char *b;
  for (int i = 0; (b = mv_builtin_module(MV_MODULE_INTERACTION, i, NULL)); i++)
    if (!strcmp(b, name)) return 1;
  return 0;
}

mv_status mv_backend_register(const char *name, mv_backend_fn fn, void *user) {
  MV_CHECK_ARG(name && name[0] && fn, "mv_backend_register: name and function are required");
  MV_CHECK_ARG(strlen(name) < NAME_CAPACITY, "mv_backend_register: name '%s' longer than %d",
               name, NAME_CAPACITY - 1);
  MV_CHECK_ARG(!builtin(name),
               "mv_backend_register: '%s' is a built-in backend and cannot be replaced", name);
  pthread_mutex_lock(&lock);
  int i = find(name);
  if (i < 0 && backend_count == MAX_BACKENDS) {
    pthread_mutex_unlock(&lock);
    return mv_fail(MV_E_MEMORY, "mv_backend_register: more than %d backends", MAX_BACKENDS);
  }
  if (i < 0) i = backend_count++;
  memset(backends[i].name, 0, NAME_CAPACITY);
  memcpy(backends[i].name, name, strlen(name));
  backends[i].fn = fn;
  backends[i].user = user;
  pthread_mutex_unlock(&lock);
  return MV_OK;
}

mv_status mv_backend_unregister(const char *name) {
  MV_CHECK_ARG(name, "mv_backend_unregister: name is NULL");
  pthread_mutex_lock(&lock);
  int i = find(name);
  if (i >= 0) backends[i] = backends[--backend_count];
  pthread_mutex_unlock(&lock);
  if (i < 0) return mv_fail(MV_E_ARGUMENT, "mv_backend_unregister: no backend named '%s'", name);
  return MV_OK;
}

typedef struct user_backend {
  mv_backend_fn fn;
  void *user;
  char name[NAME_CAPACITY];
} user_backend;

static mv_status run_user(void *self, const mv_interaction_input *in, float *out) {
  const user_backend *b = self;
  mv_error_clear();
  mv_status s = b->fn(b->user, in->rgb, in->width, in->height, in->previous, in->positive,
                      in->negative, out);
  if (s != MV_OK && !mv_error_message()[0])
    return mv_fail(s, "backend '%s' failed (%s)", b->name, mv_status_name(s));
  return s;
}

static void destroy_user(void *self) { free(self); }

static const mv_interactor_ops user_ops = {run_user, destroy_user};

mv_status mv_backend_interactor(const char *name, mv_interactor *out) {
  pthread_mutex_lock(&lock);
  int i = find(name);
  backend found = i >= 0 ? backends[i] : (backend){{0}, NULL, NULL};
  pthread_mutex_unlock(&lock);
  if (i < 0) return mv_fail(MV_E_ARGUMENT, "no interaction backend named '%s'", name);
  user_backend *b = malloc(sizeof *b);
  if (!b) return mv_fail(MV_E_MEMORY, "backend '%s': out of memory", name);
  b->fn = found.fn;
  b->user = found.user;
  memcpy(b->name, found.name, NAME_CAPACITY);
  *out = (mv_interactor){&user_ops, b, b->name};
  return MV_OK;
}

void mv_backend_set_error(const char *message) {
  mv_fail(MV_E_STATE, "%s", message ? message : "backend failed");
}
