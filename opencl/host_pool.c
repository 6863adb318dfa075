/* The host thread pool of the host paths (opencl/host_map.h): a fixed set of
 * threads that sleep until mv_host_parallel hands them tasks. The host conv
 * path runs one band per task (im2col, a single-threaded BLAS call, bias and
 * ReLU), so each band stays in the cache of the core that made it. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "opencl/host_map.h"

enum { MAX_WORKERS = 64 };

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER; /* one parallel call at a time */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;
static int worker_count = 1;          /* including the caller */
static unsigned long generation;      /* bumped for each call */
static int busy;                      /* pool threads still working on this call */
static mv_host_task current_fn;
static void *current_context;
static int current_tasks;
static atomic_int next_task;

static void run_tasks(int worker) {
  for (;;) {
    int task = atomic_fetch_add(&next_task, 1);
    if (task >= current_tasks) return;
    current_fn(current_context, task, worker);
  }
}

static void *pool_thread(void *arg) {
  int worker = (int)(size_t)arg;
  unsigned long seen = 0;
  pthread_mutex_lock(&pool_lock);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&work_ready, &pool_lock);
    seen = generation;
    pthread_mutex_unlock(&pool_lock);
    run_tasks(worker);
    pthread_mutex_lock(&pool_lock);
    if (--busy == 0) pthread_cond_signal(&work_done);
  }
  return NULL;
}

static void start_pool(void) {
  int threads = openblas_get_num_threads();
  if (threads < 1) threads = 1;
  if (threads > MAX_WORKERS) threads = MAX_WORKERS;
  worker_count = 1;
  for (int i = 1; i < threads; i++) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attr, pool_thread, (void *)(size_t)i);
    pthread_attr_destroy(&attr);
    if (failed) break; /* fewer threads: still correct */
    worker_count++;
  }
}

int mv_host_workers(void) {
  pthread_once(&pool_once, start_pool);
  return worker_count;
}

void mv_host_parallel(int tasks, mv_host_task fn, void *context) {
  if (tasks <= 0) return;
  pthread_once(&pool_once, start_pool);
  pthread_mutex_lock(&call_lock);
  if (worker_count == 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) fn(context, t, 0);
    pthread_mutex_unlock(&call_lock);
    return;
  }
  pthread_mutex_lock(&pool_lock);
  current_fn = fn;
  current_context = context;
  current_tasks = tasks;
  atomic_store(&next_task, 0);
  busy = worker_count - 1;
  generation++;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&pool_lock);
  run_tasks(0);
  pthread_mutex_lock(&pool_lock);
  while (busy > 0) pthread_cond_wait(&work_done, &pool_lock);
  pthread_mutex_unlock(&pool_lock);
  pthread_mutex_unlock(&call_lock);
}

int mv_host_blas_threads(int threads) {
  int previous = openblas_get_num_threads();
  if (threads > 0 && threads != previous) openblas_set_num_threads(threads);
  return previous;
}

int mv_host_has_avx2_fma(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  static atomic_int cached = -1;
  int known = atomic_load(&cached);
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    atomic_store(&cached, known);
  }
  return known;
#else
  return 0;
#endif
}

void mv_host_split_rows(int planes, int rows, int *bands, int *band_rows) {
  int want = (4 * mv_host_workers() + planes - 1) / planes;
  if (want > rows) want = rows;
  if (want < 1) want = 1;
  *band_rows = (rows + want - 1) / want;
  *bands = (rows + *band_rows - 1) / *band_rows;
}
