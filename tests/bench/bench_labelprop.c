/* bench labelprop: the weight-free propagation at 854x480 on DAVIS libby,
 * on the kernels and (on a CPU device with host memory) on the host paths
 * (opencl/labelprop_ops.h, opencl/memory_read.h), side by side in one run:
 *
 *  1. module: labelprop alone (stride 4) with a memory of T = 1, 5, 10, 20
 *     frames (frames 0..T-1 and their ground truth), query frame T: ms of
 *     encode_query, segment (wall and process CPU) and memorize, and the
 *     largest difference and the bit-equal share of the two paths' outputs;
 *  2. engine: frames/s of labelprop + linear fusion through the engine, one
 *     interaction on frame 0 (the ground truth) propagated over FRAMES
 *     frames with the official schedule (memory_every 5), for strides 8 and
 *     4 (the default; stride 8 with the same pixel-scale position weight and
 *     window); the mean J of the propagated frames and the largest
 *     difference of the two paths' probabilities;
 *  3. growing: the engine with memory_every 1 (SEG_FRAMES frames, stride 4):
 *     ms per frame (wall and process CPU) where the memory holds 8..12
 *     frames, for labelprop and labelprop-flow;
 *  4. quality: frame 0's ground truth propagated over 29 frames of every
 *     DAVIS 2016 sequence of shared/data, per propagator (see below).
 * Frames are decoded and preprocessed before timing (the engine's source
 * hands out cached device copies). MIVOS_BENCH_LABELPROP=module,engine,
 * growing,quality runs only the parts named. Wall times on a shared machine move
 * with its load; the process CPU times much less. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "error.h"
#include "nets/preprocess.h"
#include "opencl/memory_read.h"
#include "propagation/labelprop.h"
#include "propagation/labelprop_flow.h"
#include "session/engine.h"
#include "testutil.h"

enum { FRAMES = 16, SEG_FRAMES = 21, REPEATS = 3, QUALITY_FRAMES = 30 };

typedef struct bench_frames {
  mv_tensor image[QUALITY_FRAMES]; /* the most any part uses */
} bench_frames;

static mv_status cached_source(void *user, int t, mv_tensor *out) {
  bench_frames *f = user;
  if (mv_tensor_new(out, 1, 3, f->image[t].h, f->image[t].w) != MV_OK) return MV_E_MEMORY;
  return mv_tensor_copy(&f->image[t], out);
}

/* 1 when the host implementations can run here (the host engine on a CPU
 * device with host memory, fast paths on). */
static int host_available(void) {
  mv_memory_set_host_ops(1);
  int available = mv_memory_host_ops();
  mv_memory_set_host_ops(-1);
  return available;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

static void options_for_stride(int stride, mv_labelprop_options *o) {
  mv_labelprop_options_default(o);
  /* The defaults are for stride 4: keep their pixel scale (position
   * bandwidth and window) at other strides. */
  o->position_weight *= (float)stride / o->stride;
  o->window = o->window * o->stride / stride;
  o->stride = stride;
}

/* CPU seconds of the whole process (all threads). */
static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Progress timestamps (wall and process CPU seconds) of each propagated frame. */
typedef struct stamps {
  double t[SEG_FRAMES + 1], cpu[SEG_FRAMES + 1];
  int count;
} stamps;

static int stamp(void *user, int done, int total) {
  (void)total;
  stamps *s = user;
  if (done <= SEG_FRAMES) s->t[done] = bench_now(), s->cpu[done] = process_cpu();
  s->count = done;
  return 0;
}

typedef struct engine_result {
  double seconds, mean_j;
  stamps stamps;
} engine_result;

/* One engine run over `frames` frames with labelprop (flow 0) or
 * labelprop-flow (flow 1); probabilities (frames x floats each,
 * `frame_floats` per frame) into `probs` when not NULL. */
static mv_status run_engine_with(int flow, int stride, int frames, int memory_every,
                                 bench_frames *f, const uint8_t *truth, int h, int w,
                                 const float *mask, float *probs, size_t frame_floats,
                                 engine_result *r) {
  mv_labelprop_flow_options fo;
  mv_labelprop_flow_options_default(&fo);
  options_for_stride(stride, &fo.read);
  mv_propagator prop;
  mv_fuser fuser;
  mv_engine *engine = NULL;
  mv_engine_config config = {
      .frames = frames, .objects = 1, .height = h, .width = w, .memory_every = memory_every};
  mv_status s = flow ? mv_propagator_labelprop_flow(&fo, &prop)
                     : mv_propagator_labelprop(&fo.read, &prop);  if (s == MV_OK) s = mv_fuser_linear(&fuser);
  if (s == MV_OK) s = mv_engine_create(&config, prop, &fuser, cached_source, f, &engine);
  memset(r, 0, sizeof *r);
  r->stamps.t[0] = bench_now();
  r->stamps.cpu[0] = process_cpu();
  if (s == MV_OK) s = mv_engine_interact(engine, 0, mask, stamp, &r->stamps);
  r->seconds = bench_now() - r->stamps.t[0];
  uint8_t *labels = malloc((size_t)h * w);
  double sum = 0.0;
  for (int t = 1; s == MV_OK && t < frames && labels; t++) {
    s = mv_engine_labels(engine, t, labels);
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < (size_t)h * w; i++) {
      int a = labels[i] == 1, b = truth[(size_t)t * h * w + i] != 0;
      inter += a && b;
      uni += a || b;
    }
    sum += uni ? (double)inter / uni : 1.0;
  }
  r->mean_j = sum / (frames - 1);
  for (int t = 0; s == MV_OK && probs && t < frames; t++)
    s = mv_engine_probabilities(engine, t, probs + (size_t)t * frame_floats);
  free(labels);
  mv_engine_free(engine);
  return s;
}

/* labelprop alone. */
static mv_status run_engine(int stride, int frames, int memory_every, bench_frames *f,
                            const uint8_t *truth, int h, int w, const float *mask, float *probs,
                            size_t frame_floats, engine_result *r) {
  return run_engine_with(0, stride, frames, memory_every, f, truth, h, w, mask, probs,
                         frame_floats, r);
}

static const char *path_name(int host) { return host ? "host" : "kernels"; }

/* Selects a path for the next measurement, after a pause: the kernel
 * path's GEMMs run in OpenBLAS, whose threads spin (yielding) for a while
 * after each call; they would take CPU from the measurement that follows. */
static void use_path(int host) {
  mv_memory_set_host_ops(host);
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
}

/* 1: the official schedule, both strides, both paths. */
static mv_status bench_engine(bench_frames *f, const uint8_t *truth, int h, int w,
                              const float *mask, int paths) {
  mv_padding pad = mv_padding_for(h, w, 16);
  const size_t frame_floats = 2 * (size_t)(h + pad.top + pad.bottom) * (w + pad.left + pad.right);
  float *probs[2] = {malloc(FRAMES * frame_floats * sizeof(float)),
                     malloc(FRAMES * frame_floats * sizeof(float))};
  if (!probs[0] || !probs[1]) {
    free(probs[0]);
    free(probs[1]);
    return MV_E_MEMORY;
  }
  printf("engine, official schedule (memory_every 5, memory <= 4 frames), %d frames:\n", FRAMES);
  printf("  %-6s %-14s %-8s %10s %10s %8s %9s %14s\n", "stride", "cells", "path", "frames/s",
         "ms/frame", "mean J", "speedup", "max|dp| vs k");
  const int strides[2] = {8, 4};
  mv_status s = MV_OK;
  for (int i = 0; s == MV_OK && i < 2; i++) {
    double fps[2] = {0, 0};
    for (int host = 0; s == MV_OK && host < paths; host++) {
      engine_result r;
      use_path(host);
      s = run_engine(strides[i], 3, 5, f, truth, h, w, mask, NULL, 0, &r); /* warm-up */
      if (s == MV_OK)
        s = run_engine(strides[i], FRAMES, 5, f, truth, h, w, mask, probs[host], frame_floats, &r);
      if (s != MV_OK) break;
      fps[host] = (FRAMES - 1) / r.seconds;
      char cells[32], speed[16] = "", diff[32] = "";
      snprintf(cells, sizeof cells, "%dx%d", (w + 15) / 16 * 16 / strides[i],
               (h + 15) / 16 * 16 / strides[i]);
      if (host) {
        snprintf(speed, sizeof speed, "%.1fx", fps[1] / fps[0]);
        snprintf(diff, sizeof diff, "%.2e",
                 mv_max_abs_diff(probs[0], probs[1], FRAMES * frame_floats));
      }
      printf("  %-6d %-14s %-8s %10.3f %10.1f %8.4f %9s %14s\n", strides[i], cells,
             path_name(host), fps[host], 1000.0 * r.seconds / (FRAMES - 1), r.mean_j, speed,
             diff);
      fflush(stdout);
    }
  }
  mv_memory_set_host_ops(-1);
  free(probs[0]);
  free(probs[1]);
  return s;
}

/* 2: a growing memory (every frame memorised), stride 4, labelprop and
 * labelprop-flow (its default options) on each path. */
static mv_status bench_growing(bench_frames *f, const uint8_t *truth, int h, int w,
                               const float *mask, int paths) {
  printf("engine, memory_every 1 (frame t reads t memory frames), stride 4, %d frames; "
         "medians over the frames that read 8..12 memory frames:\n",
         SEG_FRAMES);
  printf("  %-16s %-8s %12s %10s %16s %8s\n", "propagator", "path", "ms/frame", "frames/s",
         "cpu ms/frame", "mean J");
  mv_status s = MV_OK;
  /* MIVOS_BENCH_HOST_ONLY=1: the host paths only (the kernels take
   * seconds per frame under PoCL). */
  const char *host_only = getenv("MIVOS_BENCH_HOST_ONLY");
  const int first = host_only && !strcmp(host_only, "1") ? paths - 1 : 0;
  for (int flow = 0; s == MV_OK && flow < 2; flow++)
    for (int host = first; s == MV_OK && host < paths; host++) {
      engine_result r;
      use_path(host);
      s = run_engine_with(flow, 4, SEG_FRAMES, 1, f, truth, h, w, mask, NULL, 0, &r);
      if (s != MV_OK) break;
      /* Propagated frame ti (done = ti) read ti memory frames. */
      double ms[5], cpu[5];
      for (int i = 0; i < 5; i++) {
        ms[i] = 1000.0 * (r.stamps.t[8 + i] - r.stamps.t[7 + i]);
        cpu[i] = 1000.0 * (r.stamps.cpu[8 + i] - r.stamps.cpu[7 + i]);
      }
      double m = median(ms, 5), c = median(cpu, 5);
      printf("  %-16s %-8s %12.1f %10.2f %16.1f %8.4f\n", flow ? "labelprop-flow" : "labelprop",
             path_name(host), m, 1000.0 / m, c, r.mean_j);
      fflush(stdout);
    }
  mv_memory_set_host_ops(-1);
  return s;
}

/* 3: the module alone with T memory frames. */
static mv_status bench_module(bench_frames *f, const uint8_t *truth, int h, int w, int paths) {
  mv_labelprop_options o;
  mv_labelprop_options_default(&o);
  mv_padding pad = mv_padding_for(h, w, 16);
  const int ph = h + pad.top + pad.bottom, pw = w + pad.left + pad.right;
  const size_t plane = (size_t)h * w, out_floats = (size_t)ph * pw;
  printf("labelprop module (stride %d, top %d, window %d): memory of T frames (0..T-1), query "
         "frame T; median of %d, ms\n",
         o.stride, o.top_k, o.window, REPEATS);
  printf("  %4s %8s %-8s %10s %10s %10s %10s %10s %9s %14s %12s\n", "T", "M", "path", "encode",
         "segment", "seg cpu", "memorize", "frames/s", "speedup", "max|dp| vs k", "bit-equal");
  static const int sizes[] = {1, 5, 10, 20};
  float *out[2] = {malloc(out_floats * sizeof(float)), malloc(out_floats * sizeof(float))};
  float *masks = malloc(plane * sizeof(float));
  mv_status s = out[0] && out[1] && masks ? MV_OK : MV_E_MEMORY;
  for (int si = 0; s == MV_OK && si < 4; si++) {
    const int T = sizes[si];
    double segment_ms[2] = {0, 0};
    for (int host = 0; s == MV_OK && host < paths; host++) {
      use_path(host);
      mv_propagator prop;
      mv_memory memory;
      memset(&memory, 0, sizeof memory);
      s = mv_propagator_labelprop(&o, &prop);
      if (s != MV_OK) break;
      double t_enc[REPEATS], t_seg[REPEATS], t_mem[REPEATS], c_seg[REPEATS];
      for (int t = 0; s == MV_OK && t < T; t++) {
        mv_tensor m = {0}, key = {0}, value = {0};
        for (size_t i = 0; i < plane; i++) masks[i] = truth[(size_t)t * plane + i] ? 1.0f : 0.0f;
        s = mv_preprocess_masks(masks, 1, h, w, pad, &m);
        double t0 = bench_now();
        if (s == MV_OK) s = prop.ops->memorize(prop.self, &f->image[t], &m, &key, &value);
        if (s == MV_OK) s = mv_runtime_finish();
        if (t < REPEATS) t_mem[t] = (bench_now() - t0) * 1e3;
        if (s == MV_OK && t == 0) {
          s = mv_tensor_new(&memory.keys, key.n, key.c, T, key.h * key.w);
          if (s == MV_OK) s = mv_tensor_new(&memory.values, value.n, value.c, T, value.h * value.w);
        }
        if (s == MV_OK) s = mv_memory_store(&memory, t, &key, &value);
        memory.frames = t + 1;
        mv_tensor_free(&m);
        mv_tensor_free(&key);
        mv_tensor_free(&value);
      }
      for (int t = T; t < REPEATS; t++) t_mem[t] = t_mem[0];
      for (int r = -1; s == MV_OK && r < REPEATS; r++) { /* r = -1: warm-up */
        void *query = NULL;
        size_t bytes = 0;
        mv_tensor prob = {0};
        double t0 = bench_now();
        s = prop.ops->encode_query(prop.self, &f->image[T], &query, &bytes);
        if (s == MV_OK) s = mv_runtime_finish();
        double t1 = bench_now(), c1 = process_cpu();
        if (s == MV_OK) s = prop.ops->segment(prop.self, query, &memory, &prob);
        if (s == MV_OK) s = mv_runtime_finish();
        double t2 = bench_now(), c2 = process_cpu();
        if (r >= 0) {
          t_enc[r] = (t1 - t0) * 1e3;
          t_seg[r] = (t2 - t1) * 1e3;
          c_seg[r] = (c2 - c1) * 1e3;
        }
        if (s == MV_OK && r == REPEATS - 1) s = mv_tensor_download(&prob, out[host]);
        if (query) prop.ops->free_query(prop.self, query);
        mv_tensor_free(&prob);
      }
      mv_tensor_free(&memory.keys);
      mv_tensor_free(&memory.values);
      prop.ops->destroy(prop.self);
      if (s != MV_OK) break;
      double enc = median(t_enc, REPEATS), seg = median(t_seg, REPEATS),
             mem = median(t_mem, REPEATS), seg_cpu = median(c_seg, REPEATS);
      segment_ms[host] = seg;
      char speed[16] = "", diff[32] = "", equal[32] = "";
      if (host) {
        size_t same = 0;
        for (size_t i = 0; i < out_floats; i++) same += out[0][i] == out[1][i];
        snprintf(speed, sizeof speed, "%.1fx", segment_ms[0] / seg);
        snprintf(diff, sizeof diff, "%.2e", mv_max_abs_diff(out[0], out[1], out_floats));
        snprintf(equal, sizeof equal, "%.2f %%", 100.0 * same / out_floats);
      }
      printf("  %4d %8zu %-8s %10.2f %10.2f %10.2f %10.2f %10.2f %9s %14s %12s\n", T,
             (size_t)T * (ph / o.stride) * (pw / o.stride), path_name(host), enc, seg, seg_cpu,
             mem, 1000.0 / (enc + seg + mem), speed, diff, equal);
      fflush(stdout);
    }
  }
  mv_memory_set_host_ops(-1);
  free(out[0]);
  free(out[1]);
  free(masks);
  return s;
}

/* ---- 4. quality on the 10 DAVIS 2016 sequences ------------------------------
 *
 * The ground truth of frame 0 propagated through frames 1..QUALITY_FRAMES-1
 * of every sequence of shared/data/davis2016 at 480p by the engine (official
 * schedule, memory_every 5, linear fusion), per propagator: the mean J over
 * frames 1..9 and 1..29 and the mean boundary F over frames 1..29 of each
 * sequence and of all, and the process CPU
 * ms per propagated frame (comparable under load, unlike wall time).
 * MIVOS_BENCH_PROPAGATORS=labelprop,labelprop-flow (default both) picks the
 * propagators, each with its defaults;
 * MIVOS_BENCH_OPTIONS="top_k=20,window=12,prior=0.5,..." overrides
 * options of both (names as in mv_labelprop_flow_options: top_k, window,
 * colour_weight, position_weight, stride, tile, prior, align, patch,
 * spacing, iterations, levels, finest, edge_colour, edge_spatial, sharpen,
 * previous_bonus, appearance, occlusion_penalty). */

enum { MAX_SEQUENCES = 64 };

static int set_option(mv_labelprop_flow_options *o, const char *name, double v) {
  if (!strcmp(name, "top_k")) o->read.top_k = (int)v;
  else if (!strcmp(name, "window")) o->read.window = (int)v;
  else if (!strcmp(name, "colour_weight")) o->read.colour_weight = (float)v;
  else if (!strcmp(name, "position_weight")) o->read.position_weight = (float)v;
  else if (!strcmp(name, "stride")) o->read.stride = (int)v;
  else if (!strcmp(name, "tile")) o->read.tile = (int)v;
  else if (!strcmp(name, "prior")) o->prior = (float)v;
  else if (!strcmp(name, "align")) o->align = (int)v;
  else if (!strcmp(name, "patch")) o->flow.patch = (int)v;
  else if (!strcmp(name, "spacing")) o->flow.spacing = (int)v;
  else if (!strcmp(name, "iterations")) o->flow.iterations = (int)v;
  else if (!strcmp(name, "levels")) o->flow.levels = (int)v;
  else if (!strcmp(name, "finest")) o->flow.finest = (int)v;
  else if (!strcmp(name, "edge_colour")) o->edge_colour = (float)v;
  else if (!strcmp(name, "edge_spatial")) o->edge_spatial = (float)v;
  else if (!strcmp(name, "sharpen")) o->sharpen = (float)v;
  else if (!strcmp(name, "previous_bonus")) o->previous_bonus = (float)v;
  else if (!strcmp(name, "appearance")) o->appearance = (float)v;
  else if (!strcmp(name, "occlusion_penalty")) o->occlusion_penalty = (float)v;
  else return 0;
  return 1;
}

/* The options of MIVOS_BENCH_OPTIONS over `o`; 0 on a malformed list. */
static int parse_options(const char *list, mv_labelprop_flow_options *o) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list ? list : "");
  for (char *item = strtok(buf, ","); item; item = strtok(NULL, ",")) {
    char *eq = strchr(item, '=');
    if (!eq) return 0;
    *eq = '\0';
    char *end = NULL;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !set_option(o, item, v)) {
      fprintf(stderr, "bench labelprop: bad option '%s=%s'\n", item, eq + 1);
      return 0;
    }
  }
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sequence names under data/davis2016/JPEGImages/480p, sorted. */
static int list_sequences(char **names) {
  DIR *dir = opendir(mv_shared_path("data/davis2016/JPEGImages/480p"));
  int n = 0;
  if (!dir) return 0;
  for (struct dirent *e; (e = readdir(dir)) && n < MAX_SEQUENCES;)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, n, sizeof *names, cmp_names);
  return n;
}

typedef struct sequence {
  bench_frames frames;
  uint8_t *truth; /* QUALITY_FRAMES x h x w */
  float *mask;    /* 2 x h x w: frame 0's ground truth, one-hot */
  int h, w;
} sequence;

static void sequence_free(sequence *q) {
  for (int t = 0; t < QUALITY_FRAMES; t++) mv_tensor_free(&q->frames.image[t]);
  free(q->truth);
  free(q->mask);
}

static mv_status sequence_load(const char *name, sequence *q) {
  char path[512];
  memset(q, 0, sizeof *q);
  snprintf(path, sizeof path, "data/davis2016/JPEGImages/480p/%s", name);
  mv_video_options vo;
  mv_video_options_default(&vo);
  mv_video *video = NULL;
  mv_video_info info;
  mv_status s = mv_video_open(mv_shared_path(path), &vo, &video);
  if (s == MV_OK) s = mv_video_get_info(video, &info);
  if (s == MV_OK && info.frame_count < QUALITY_FRAMES)
    s = mv_fail(MV_E_ARGUMENT, "%s: %d frames, the quality bench needs %d", name, info.frame_count,
                (int)QUALITY_FRAMES);
  if (s != MV_OK) {
    mv_video_close(video);
    return s;
  }
  q->h = info.height, q->w = info.width;
  const size_t plane = (size_t)q->h * q->w;
  mv_padding pad = mv_padding_for(q->h, q->w, 16);
  q->truth = malloc(QUALITY_FRAMES * plane);
  q->mask = calloc(2 * plane, sizeof(float));
  if (!q->truth || !q->mask) s = mv_fail(MV_E_MEMORY, "bench labelprop: out of memory");
  for (int t = 0; s == MV_OK && t < QUALITY_FRAMES; t++) {
    const uint8_t *rgb = NULL;
    snprintf(path, sizeof path, "data/davis2016/Annotations/480p/%s/%05d.png", name, t);
    s = mv_video_frame(video, t, &rgb);
    if (s == MV_OK) s = mv_preprocess_frame(rgb, q->h, q->w, pad, &q->frames.image[t]);
    if (s == MV_OK) s = mv_mask_read_labels(mv_shared_path(path), q->w, q->h, q->truth + t * plane);
  }
  for (size_t i = 0; s == MV_OK && i < plane; i++) q->mask[(q->truth[i] != 0) * plane + i] = 1.0f;
  mv_video_close(video);
  if (s != MV_OK) sequence_free(q);
  return s;
}

/* Frame 0's truth propagated by `name`: J and boundary F per frame
 * 1..QUALITY_FRAMES-1 into j[] and f[]. */
static mv_status propagate_truth(const char *name, const mv_labelprop_flow_options *o,
                                 sequence *q, double *j, double *f, double *cpu_ms) {
  mv_propagator prop;
  mv_fuser fuser;
  mv_engine *engine = NULL;
  mv_engine_config config = {.frames = QUALITY_FRAMES, .objects = 1, .height = q->h,
                             .width = q->w, .memory_every = 5};
  mv_status s = !strcmp(name, "labelprop") ? mv_propagator_labelprop(&o->read, &prop)
                                           : mv_propagator_labelprop_flow(o, &prop);
  if (s != MV_OK) return s;
  s = mv_fuser_linear(&fuser);
  if (s == MV_OK) s = mv_engine_create(&config, prop, &fuser, cached_source, &q->frames, &engine);
  else mv_propagator_destroy(&prop);
  double c0 = process_cpu();
  if (s == MV_OK) s = mv_engine_interact(engine, 0, q->mask, NULL, NULL);
  *cpu_ms = 1e3 * (process_cpu() - c0) / (QUALITY_FRAMES - 1);
  const size_t plane = (size_t)q->h * q->w;
  uint8_t *labels = malloc(plane), *truth = malloc(plane);
  if ((!labels || !truth) && s == MV_OK) s = MV_E_MEMORY;
  for (int t = 1; s == MV_OK && t < QUALITY_FRAMES; t++) {
    s = mv_engine_labels(engine, t, labels);
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < plane; i++) {
      int a = labels[i] == 1, b = q->truth[(size_t)t * plane + i] != 0;
      inter += a && b;
      uni += a || b;
      labels[i] = (uint8_t)a, truth[i] = (uint8_t)b;
    }
    j[t] = uni ? (double)inter / uni : 1.0;
    if (s == MV_OK) s = mv_boundary_f(labels, truth, q->w, q->h, &f[t]);
  }
  free(labels);
  free(truth);
  mv_engine_free(engine);
  return s;
}

static mv_status bench_quality(void) {
  /* Each propagator from its own defaults, then the overrides. */
  mv_labelprop_flow_options o, plain;
  mv_labelprop_flow_options_default(&o);
  plain = o;
  mv_labelprop_options_default(&plain.read);
  if (!parse_options(getenv("MIVOS_BENCH_OPTIONS"), &o) ||
      !parse_options(getenv("MIVOS_BENCH_OPTIONS"), &plain))
    return mv_fail(MV_E_ARGUMENT, "MIVOS_BENCH_OPTIONS: expected name=value,... ");
  char list[256], *names[8];
  const char *env = getenv("MIVOS_BENCH_PROPAGATORS");
  snprintf(list, sizeof list, "%s", env && env[0] ? env : "labelprop,labelprop-flow");
  int count = 0;
  for (char *n = strtok(list, ","); n && count < 8; n = strtok(NULL, ",")) names[count++] = n;
  char *sequences[MAX_SEQUENCES];
  const int ns = list_sequences(sequences);
  printf("quality: frame 0's ground truth propagated over frames 1..%d (480p, memory_every 5, "
         "linear fusion); mean J over 1..9 and 1..%d, F over 1..%d; CPU ms per frame (process)\n"
         "  labelprop: stride %d top_k %d colour_weight %g position_weight %g window %d\n"
         "  labelprop-flow: stride %d top_k %d colour_weight %g position_weight %g window %d "
         "prior %g align %d flow patch %d spacing %d iterations %d levels %d finest %d "
         "edge_colour %g edge_spatial %g sharpen %g previous_bonus %g appearance %g "
         "occlusion_penalty %g\n",
         QUALITY_FRAMES - 1, QUALITY_FRAMES - 1, QUALITY_FRAMES - 1, plain.read.stride,
         plain.read.top_k,
         (double)plain.read.colour_weight, (double)plain.read.position_weight, plain.read.window,
         o.read.stride, o.read.top_k, (double)o.read.colour_weight,
         (double)o.read.position_weight, o.read.window, (double)o.prior, o.align, o.flow.patch,
         o.flow.spacing, o.flow.iterations, o.flow.levels, o.flow.finest, (double)o.edge_colour,
         (double)o.edge_spatial, (double)o.sharpen, (double)o.previous_bonus,
         (double)o.appearance, (double)o.occlusion_penalty);
  printf("  %-20s", "sequence");
  for (int p = 0; p < count; p++) printf(" %16s J1-9 J1-29 F1-29   cpu", names[p]);
  printf("\n");
  double sum9[8] = {0}, sum29[8] = {0}, sumf[8] = {0}, cpu[8] = {0};
  mv_status s = ns > 0 ? MV_OK : mv_fail(MV_E_IO, "no sequences under data/davis2016");
  for (int i = 0; s == MV_OK && i < ns; i++) {
    sequence q;
    s = sequence_load(sequences[i], &q);
    if (s != MV_OK) break;
    printf("  %-20s", sequences[i]);
    for (int p = 0; s == MV_OK && p < count; p++) {
      double j[QUALITY_FRAMES] = {0}, f[QUALITY_FRAMES] = {0}, ms = 0, a = 0, b = 0, fb = 0;
      s = propagate_truth(names[p], strcmp(names[p], "labelprop") ? &o : &plain, &q, j, f, &ms);
      for (int t = 1; t < QUALITY_FRAMES; t++) *(t < 10 ? &a : &b) += j[t], fb += f[t];
      b += a;
      a /= 9.0, b /= QUALITY_FRAMES - 1, fb /= QUALITY_FRAMES - 1;
      sum9[p] += a, sum29[p] += b, sumf[p] += fb, cpu[p] += ms;
      printf(" %16s %.3f %.3f %.3f %5.0f", "", a, b, fb, ms);
      fflush(stdout);
    }
    printf("\n");
    sequence_free(&q);
  }
  if (s == MV_OK) {
    printf("  %-20s", "mean");
    for (int p = 0; p < count; p++)
      printf(" %16s %.3f %.3f %.3f %5.0f", names[p], sum9[p] / ns, sum29[p] / ns, sumf[p] / ns,
             cpu[p] / ns);
    printf("\n");
  }
  for (int i = 0; i < ns; i++) free(sequences[i]);
  return s;
}

int bench_labelprop(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mv_video_options vo;
  mv_video_options_default(&vo); /* 480 short side */
  mv_video *video = NULL;
  mv_status s = mv_video_open(mv_shared_path("data/davis2016/JPEGImages/480p/libby"), &vo, &video);
  mv_video_info info;
  if (s == MV_OK) s = mv_video_get_info(video, &info);
  if (s != MV_OK) {
    mv_video_close(video);
    return 1;
  }
  int h = info.height, w = info.width;
  size_t plane = (size_t)h * w;
  bench_frames f = {{{0}}};
  mv_padding pad = mv_padding_for(h, w, 16);
  uint8_t *truth = malloc(SEG_FRAMES * plane);
  float *mask = calloc(2 * plane, sizeof(float));
  if (!truth || !mask) s = MV_E_MEMORY;
  for (int t = 0; s == MV_OK && t < SEG_FRAMES; t++) {
    const uint8_t *rgb = NULL;
    char name[64];
    snprintf(name, sizeof name, "data/davis2016/Annotations/480p/libby/%05d.png", t);
    s = mv_video_frame(video, t, &rgb);
    if (s == MV_OK) s = mv_preprocess_frame(rgb, h, w, pad, &f.image[t]);
    if (s == MV_OK) s = mv_mask_read_labels(mv_shared_path(name), w, h, truth + t * plane);
  }
  for (size_t i = 0; s == MV_OK && i < plane; i++) mask[(truth[i] != 0) * plane + i] = 1.0f;
  const int paths = host_available() ? 2 : 1;
  if (s == MV_OK && paths == 1)
    printf("(the device has no host memory: kernels only)\n");
  /* MIVOS_BENCH_LABELPROP=module,engine,growing,quality (any of them; default all). */
  const char *parts = getenv("MIVOS_BENCH_LABELPROP");
  if (parts && !parts[0]) parts = NULL;
  if (s == MV_OK && parts && !strstr(parts, "module") && !strstr(parts, "engine") &&
      !strstr(parts, "growing") && !strstr(parts, "quality"))
    s = mv_fail(MV_E_ARGUMENT, "MIVOS_BENCH_LABELPROP=%s: expected module, engine, growing "
                "and/or quality", parts);
  if (s == MV_OK && (!parts || strstr(parts, "module"))) s = bench_module(&f, truth, h, w, paths);
  if (s == MV_OK && (!parts || strstr(parts, "engine")))
    s = bench_engine(&f, truth, h, w, mask, paths);
  if (s == MV_OK && (!parts || strstr(parts, "growing")))
    s = bench_growing(&f, truth, h, w, mask, paths);
  if (s == MV_OK && (!parts || strstr(parts, "quality"))) s = bench_quality();
  if (s != MV_OK) fprintf(stderr, "bench labelprop: %s\n", mv_error_message());
  for (int t = 0; t < SEG_FRAMES; t++) mv_tensor_free(&f.image[t]);
  free(truth);
  free(mask);
  mv_video_close(video);
  return s == MV_OK ? 0 : 1;
}
