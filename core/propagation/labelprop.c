/* labelprop: weight-free propagation through the shared top-k memory read
 * (see labelprop.h for the keys, the window and the values). */
#include "propagation/labelprop.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "opencl/labelprop_ops.h"
#include "opencl/memory_read.h"

enum { CK = MV_LABELPROP_KEY_DIM, CV = 1 };

void mv_labelprop_options_default(mv_labelprop_options *options) {
  if (!options) return;
  options->stride = 4;
  options->top_k = MV_TOP_K;
  options->colour_weight = 0.5f;
  options->position_weight = 0.25f;
  options->window = 8;
  options->tile = 8;
}

static mv_status check_options(const mv_labelprop_options *o) {
  static const char fn[] = "mv_propagator_labelprop";
  MV_CHECK_ARG(o->stride == 1 || o->stride == 2 || o->stride == 4 || o->stride == 8 ||
                   o->stride == 16,
               "%s: options->stride = %d, expected 1, 2, 4, 8 or 16 (a divisor of the padding "
               "multiple 16)",
               fn, o->stride);
  MV_CHECK_ARG(o->top_k >= 1 && o->top_k <= MV_MEMORY_MAX_TOP_K,
               "%s: options->top_k = %d, expected 1 .. %d", fn, o->top_k,
               (int)MV_MEMORY_MAX_TOP_K);
  MV_CHECK_ARG(isfinite(o->colour_weight) && o->colour_weight > 0.0f,
               "%s: options->colour_weight = %g, expected a finite value > 0", fn,
               (double)o->colour_weight);
  MV_CHECK_ARG(o->tile >= 0 && o->tile <= 256, "%s: options->tile = %d, expected 0 .. 256", fn,
               o->tile);
  MV_CHECK_ARG(o->window <= 1024, "%s: options->window = %d, expected <= 1024 (or < 0: none)", fn,
               o->window);
  MV_CHECK_ARG(isfinite(o->position_weight) && o->position_weight >= 0.0f,
               "%s: options->position_weight = %g, expected a finite value >= 0", fn,
               (double)o->position_weight);
  return MV_OK;
}

/* Checks the engine's preprocessed frame: 1 x 3 x H x W, H and W multiples of the stride. */
static mv_status check_image(const mv_labelprop_options *o, const mv_tensor *image,
                             const char *fn) {
  MV_CHECK_ARG(image, "%s: image is NULL", fn);
  MV_TRY(mv_tensor_check(image, fn, "image"));
  MV_CHECK_ARG(image->n == 1 && image->c == 3,
               "%s: image is %dx%dx%dx%d, expected 1 x 3 x H x W", fn, image->n, image->c,
               image->h, image->w);
  MV_CHECK_ARG(image->h % o->stride == 0 && image->w % o->stride == 0,
               "%s: image %dx%d is not a multiple of the stride %d (pad to 16)", fn, image->w,
               image->h, o->stride);
  return MV_OK;
}

/* Keys of a frame into `out` (allocated here: 1 x Ck x h x w query form, or
 * copies x Ck x h x w memory form). */
static mv_status compute_keys(const mv_labelprop_options *o, const mv_tensor *image,
                              int memory_form, int copies, mv_tensor *out) {
  int h = image->h / o->stride, w = image->w / o->stride;
  if (mv_memory_host_ops())
    return mv_labelprop_keys_host(image, o->stride, o->colour_weight, o->position_weight,
                                  memory_form, sqrtf((float)CK), copies, out);
  MV_TRY(mv_tensor_new(out, copies, CK, h, w));
  cl_kernel kernel = NULL;
  mv_status s = mv_kernel_get("labelprop", "labelprop_keys", &kernel);
  cl_ulong image_off = image->offset, out_off = out->offset;
  cl_int height = image->h, width = image->w, stride = o->stride, form = memory_form,
         count = copies;
  cl_float cw = o->colour_weight, pw = o->position_weight, scale = sqrtf((float)CK);
  if (s == MV_OK)
    s = mv_kernel_args(kernel, 12, sizeof(cl_mem), &image->buffer, sizeof image_off, &image_off,
                       sizeof height, &height, sizeof width, &width, sizeof stride, &stride,
                       sizeof cw, &cw, sizeof pw, &pw, sizeof form, &form, sizeof scale, &scale,
                       sizeof count, &count, sizeof(cl_mem), &out->buffer, sizeof out_off,
                       &out_off);
  if (s == MV_OK) s = mv_kernel_run_1d(kernel, "labelprop_keys", (size_t)w * h);
  if (s != MV_OK) mv_tensor_free(out);
  return s;
}

typedef struct labelprop {
  mv_labelprop_options options;
} labelprop;

static const mv_propagator_ops labelprop_ops;

typedef struct labelprop_query {
  mv_tensor key; /* 1 x Ck x h x w */
} labelprop_query;

static mv_status labelprop_encode_query(void *self, const mv_tensor *image, void **query,
                                        size_t *bytes) {
  static const char fn[] = "labelprop encode_query";
  const labelprop *lp = self;
  MV_CHECK_ARG(query && bytes, "%s: NULL output", fn);
  MV_TRY(check_image(&lp->options, image, fn));
  labelprop_query *q = calloc(1, sizeof *q);
  if (!q) return mv_fail(MV_E_MEMORY, "%s: out of memory", fn);
  mv_status s = compute_keys(&lp->options, image, 0, 1, &q->key);
  if (s != MV_OK) {
    free(q);
    return mv_fail_context(s, "%s", fn);
  }
  *bytes = mv_tensor_numel(&q->key) * sizeof(float);
  *query = q;
  return MV_OK;
}

static void labelprop_free_query(void *self, void *query) {
  labelprop_query *q = query;
  if (!q) return;
  mv_tensor_free(&q->key);
  free(q);
}

static mv_status labelprop_memorize(void *self, const mv_tensor *image, const mv_tensor *masks,
                                    mv_tensor *key, mv_tensor *value) {
  static const char fn[] = "labelprop memorize";
  const labelprop *lp = self;
  MV_CHECK_ARG(masks && key && value, "%s: NULL argument", fn);
  MV_TRY(check_image(&lp->options, image, fn));
  MV_TRY(mv_tensor_check(masks, fn, "masks"));
  MV_CHECK_ARG(masks->c == 1 && masks->h == image->h && masks->w == image->w,
               "%s: masks are %dx%dx%dx%d, expected k x 1 x %d x %d", fn, masks->n, masks->c,
               masks->h, masks->w, image->h, image->w);
  int h = image->h / lp->options.stride, w = image->w / lp->options.stride;
  mv_tensor k = {0}, v = {0};
  mv_status s = compute_keys(&lp->options, image, 1, masks->n, &k);
  /* Cells are whole stride x stride blocks, so 'area' is their plain mean. */
  if (s == MV_OK) s = mv_area_resize(masks, h, w, &v);
  if (s != MV_OK) {
    mv_tensor_free(&k);
    mv_tensor_free(&v);
    return mv_fail_context(s, "%s", fn);
  }
  *key = k;
  *value = v;
  return MV_OK;
}

/* ---- dense read: the whole memory, window by masking --------------------- */

static mv_status apply_window(mv_matrix affinity, size_t m, size_t rows, size_t n0, int cells_w,
                              int cells_h, int radius) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_window", &kernel));
  cl_ulong off = affinity.offset;
  cl_uint ld = (cl_uint)affinity.ld, frames = (cl_uint)(m / ((size_t)cells_w * cells_h)),
          rr = (cl_uint)rows, first = (cl_uint)n0;
  cl_int cw = cells_w, ch = cells_h, r = radius;
  MV_TRY(mv_kernel_args(kernel, 9, sizeof(cl_mem), &affinity.buffer, sizeof off, &off,
                        sizeof ld, &ld, sizeof frames, &frames, sizeof rr, &rr, sizeof first,
                        &first, sizeof cw, &cw, sizeof ch, &ch, sizeof r, &r));
  size_t global[2] = {(size_t)frames * cells_h, rows};
  return mv_kernel_run(kernel, "labelprop_window", 2, global, NULL);
}

/* Affinity (mv_memory_affinity), window and top-k selection per block of
 * queries, shared by all objects (their keys are equal), then one gather of
 * every object's values. */
static mv_status read_dense(const labelprop *lp, const mv_tensor *query_key,
                            const mv_memory *memory, mv_tensor *readout) {
  const int objects = memory->keys.n;
  const size_t plane = (size_t)query_key->h * query_key->w, n = plane;
  const size_t ld = (size_t)memory->keys.h * memory->keys.w; /* capacity * plane */
  const size_t m = (size_t)memory->frames * plane;
  const int top_k = (size_t)lp->options.top_k < m ? lp->options.top_k : (int)m;
  const int radius = lp->options.window;
  const int windowed = radius >= 0 && (radius < query_key->h - 1 || radius < query_key->w - 1);
  mv_matrix key = {memory->keys.buffer, memory->keys.offset, ld};
  mv_matrix value = {memory->values.buffer, memory->values.offset, ld};
  mv_matrix query = {query_key->buffer, query_key->offset, n};
  mv_matrix out = {readout->buffer, readout->offset, n};
  size_t block = mv_memory_block_columns(m, n);
  cl_mem workspace = NULL, indices = NULL, weights = NULL;
  mv_status s = mv_buffer_acquire(block * m * sizeof(float), &workspace);
  if (s == MV_OK) s = mv_buffer_acquire((size_t)top_k * n * sizeof(cl_int), &indices);
  if (s == MV_OK) s = mv_buffer_acquire((size_t)top_k * n * sizeof(float), &weights);
  mv_memory_kept kept = {{indices, 0, n}, {weights, 0, n}};
  for (size_t n0 = 0; s == MV_OK && n0 < n; n0 += block) {
    size_t nb = n - n0 < block ? n - n0 : block;
    mv_matrix affinity = {workspace, 0, m};
    mv_matrix q = query;
    q.offset += n0;
    mv_memory_kept part = kept;
    part.indices.offset += n0;
    part.weights.offset += n0;
    s = mv_memory_affinity(key, q, CK, m, nb, MV_AFFINITY_QUERY_MAJOR, affinity);
    if (s == MV_OK && windowed)
      s = apply_window(affinity, m, nb, n0, query_key->w, query_key->h, radius);
    if (s == MV_OK) s = mv_memory_topk(affinity, m, nb, top_k, part);
  }
  /* Object i's value rows follow object i-1's in the same ld: one
   * (objects * Cv) x M matrix, read out into the k x Cv x h x w tensor. */
  if (s == MV_OK) s = mv_memory_gather(value, objects * CV, m, n, top_k, kept, out);
  mv_buffer_release(weights);
  mv_buffer_release(indices);
  mv_buffer_release(workspace);
  return s;
}

/* ---- tiled read: each tile of queries reads only its window's memory -------
 *
 * Queries are grouped in a x a tiles of cells; a tile's queries can only see
 * memory cells of the (a + 2r) x (a + 2r) region around it (r = window), so
 * the memory is first copied into a compact per-tile memory (region cells of
 * every frame, zero outside the frame) and the read runs on that: one
 * batched GEMM (the affinity with the read's 1/sqrt(Ck) scale), the window
 * mask (query window and frame border), one mv_memory_topk over all tiles'
 * queries, one mv_memory_gather (tile-local indices shifted into one value
 * matrix), and a scatter back to the cells. Entries the window excludes get
 * weight 0 either way and the compact order keeps the memory's position
 * order (ties), so this reads what the dense masked read reads, at
 * (a + 2r)^2 instead of h*w affinities per query and memory frame. */

typedef struct tiling {
  int a, r, b;              /* tile side, window radius, region side (cells) */
  int h, w, tiles_x, tiles;
  int frames;
  size_t nt, mt, n;         /* queries per tile, memory positions per tile, all queries */
} tiling;

static mv_status tile_memory(const tiling *t, const mv_memory *memory, int rows, cl_mem keys,
                             cl_mem values) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_tile_memory", &kernel));
  cl_ulong key_off = memory->keys.offset, value_off = memory->values.offset;
  cl_int capacity = memory->keys.h, frames = t->frames, h = t->h, w = t->w, tx = t->tiles_x,
         a = t->a, r = t->r, v = rows, tiles = t->tiles;
  MV_TRY(mv_kernel_args(kernel, 15, sizeof(cl_mem), &memory->keys.buffer, sizeof key_off,
                        &key_off, sizeof(cl_mem), &memory->values.buffer, sizeof value_off,
                        &value_off, sizeof capacity, &capacity, sizeof frames, &frames,
                        sizeof h, &h, sizeof w, &w, sizeof tx, &tx, sizeof a, &a, sizeof r, &r,
                        sizeof v, &v, sizeof tiles, &tiles, sizeof(cl_mem), &keys, sizeof(cl_mem),
                        &values));
  size_t global[3] = {(size_t)t->b * t->b, (size_t)t->frames, (size_t)t->tiles};
  return mv_kernel_run(kernel, "labelprop_tile_memory", 3, global, NULL);
}

static mv_status tile_queries(const tiling *t, const mv_tensor *query_key, cl_mem out) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_tile_query", &kernel));
  cl_ulong off = query_key->offset;
  cl_int h = t->h, w = t->w, tx = t->tiles_x, a = t->a;
  MV_TRY(mv_kernel_args(kernel, 7, sizeof(cl_mem), &query_key->buffer, sizeof off, &off,
                        sizeof h, &h, sizeof w, &w, sizeof tx, &tx, sizeof a, &a, sizeof(cl_mem),
                        &out));
  size_t global[2] = {t->nt, (size_t)t->tiles};
  return mv_kernel_run(kernel, "labelprop_tile_query", 2, global, NULL);
}

static mv_status tile_window(const tiling *t, cl_mem affinity, size_t row0, size_t rows) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_tile_window", &kernel));
  cl_uint first = (cl_uint)row0, count = (cl_uint)rows, ld = (cl_uint)t->mt;
  cl_int a = t->a, r = t->r, h = t->h, w = t->w, tx = t->tiles_x;
  MV_TRY(mv_kernel_args(kernel, 9, sizeof(cl_mem), &affinity, sizeof ld, &ld, sizeof first,
                        &first, sizeof count, &count, sizeof a, &a, sizeof r, &r, sizeof h, &h,
                        sizeof w, &w, sizeof tx, &tx));
  size_t global[2] = {(size_t)t->b * t->frames, rows};
  return mv_kernel_run(kernel, "labelprop_tile_window", 2, global, NULL);
}

static mv_status tile_offsets(const tiling *t, cl_mem indices, int top_k) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_tile_offsets", &kernel));
  cl_uint n = (cl_uint)t->n, nt = (cl_uint)t->nt, mt = (cl_uint)t->mt, k = (cl_uint)top_k;
  MV_TRY(mv_kernel_args(kernel, 5, sizeof(cl_mem), &indices, sizeof n, &n, sizeof k, &k,
                        sizeof nt, &nt, sizeof mt, &mt));
  size_t global[2] = {t->n, (size_t)top_k};
  return mv_kernel_run(kernel, "labelprop_tile_offsets", 2, global, NULL);
}

static mv_status tile_scatter(const tiling *t, cl_mem compact, int rows, mv_tensor *readout) {
  cl_kernel kernel = NULL;
  MV_TRY(mv_kernel_get("labelprop", "labelprop_tile_scatter", &kernel));
  cl_ulong off = readout->offset;
  cl_uint n = (cl_uint)t->n;
  cl_int h = t->h, w = t->w, tx = t->tiles_x, a = t->a;
  MV_TRY(mv_kernel_args(kernel, 8, sizeof(cl_mem), &compact, sizeof n, &n, sizeof h, &h,
                        sizeof w, &w, sizeof tx, &tx, sizeof a, &a, sizeof(cl_mem),
                        &readout->buffer, sizeof off, &off));
  size_t global[3] = {(size_t)t->w, (size_t)t->h, (size_t)rows};
  return mv_kernel_run(kernel, "labelprop_tile_scatter", 3, global, NULL);
}

static mv_status read_tiled(const labelprop *lp, const tiling *t, const mv_tensor *query_key,
                            const mv_memory *memory, mv_tensor *readout) {
  const int rows = memory->values.n * CV; /* value rows of all objects */
  const size_t all_m = (size_t)t->tiles * t->mt;
  const int top_k = (size_t)lp->options.top_k < t->mt ? lp->options.top_k : (int)t->mt;
  const float scale = 1.0f / sqrtf((float)CK); /* as mv_memory_affinity */
  size_t block = mv_memory_block_columns(t->mt, t->n) / t->nt; /* whole tiles per block */
  if (block < 1) block = 1;
  cl_mem keys = NULL, values = NULL, queries = NULL, workspace = NULL, indices = NULL,
         weights = NULL, compact = NULL;
  mv_status s = mv_buffer_acquire(all_m * CK * sizeof(float), &keys);
  if (s == MV_OK) s = mv_buffer_acquire(all_m * rows * sizeof(float), &values);
  if (s == MV_OK) s = mv_buffer_acquire(t->n * CK * sizeof(float), &queries);
  if (s == MV_OK) s = mv_buffer_acquire(block * t->nt * t->mt * sizeof(float), &workspace);
  if (s == MV_OK) s = mv_buffer_acquire((size_t)top_k * t->n * sizeof(cl_int), &indices);
  if (s == MV_OK) s = mv_buffer_acquire((size_t)top_k * t->n * sizeof(float), &weights);
  if (s == MV_OK) s = mv_buffer_acquire(t->n * rows * sizeof(float), &compact);
  if (s == MV_OK) s = tile_memory(t, memory, rows, keys, values);
  if (s == MV_OK) s = tile_queries(t, query_key, queries);
  mv_memory_kept kept = {{indices, 0, t->n}, {weights, 0, t->n}};
  for (size_t tile0 = 0; s == MV_OK && tile0 < (size_t)t->tiles; tile0 += block) {
    size_t count = (size_t)t->tiles - tile0 < block ? (size_t)t->tiles - tile0 : block;
    size_t row0 = tile0 * t->nt, nrows = count * t->nt;
    mv_matrix q = {queries, tile0 * CK * t->nt, t->nt};
    mv_matrix k = {keys, tile0 * CK * t->mt, t->mt};
    mv_matrix affinity = {workspace, 0, t->mt};
    s = mv_gemm_batched(1, 0, t->nt, t->mt, CK, scale, q, CK * t->nt, k, CK * t->mt, 0.0f,
                        affinity, t->nt * t->mt, count);
    if (s == MV_OK) s = tile_window(t, workspace, row0, nrows);
    mv_memory_kept part = kept;
    part.indices.offset += row0;
    part.weights.offset += row0;
    if (s == MV_OK) s = mv_memory_topk(affinity, t->mt, nrows, top_k, part);
  }
  if (s == MV_OK) s = tile_offsets(t, indices, top_k);
  mv_matrix value = {values, 0, all_m}, out = {compact, 0, t->n};
  if (s == MV_OK) s = mv_memory_gather(value, rows, all_m, t->n, top_k, kept, out);
  if (s == MV_OK) s = tile_scatter(t, compact, rows, readout);
  cl_mem temps[7] = {compact, weights, indices, workspace, queries, values, keys};
  for (int i = 0; i < 7; i++) mv_buffer_release(temps[i]);
  return s;
}

/* The tiled read when the window is on, tiles are enabled and it computes
 * fewer affinities than the dense read; else the dense read. */
static mv_status read_memory(const labelprop *lp, const mv_tensor *query_key,
                             const mv_memory *memory, mv_tensor *readout) {
  const mv_labelprop_options *o = &lp->options;
  if (o->window >= 0 && o->tile > 0) {
    tiling t;
    t.a = o->tile, t.r = o->window, t.b = t.a + 2 * t.r;
    t.h = query_key->h, t.w = query_key->w;
    t.tiles_x = (t.w + t.a - 1) / t.a;
    t.tiles = t.tiles_x * ((t.h + t.a - 1) / t.a);
    t.frames = memory->frames;
    t.nt = (size_t)t.a * t.a;
    t.mt = (size_t)t.frames * t.b * t.b;
    t.n = (size_t)t.tiles * t.nt;
    size_t plane = (size_t)t.h * t.w;
    if ((double)t.n * t.mt < (double)plane * plane * t.frames &&
        (double)t.tiles * t.mt < 2147483647.0)
      return read_tiled(lp, &t, query_key, memory, readout);
  }
  return read_dense(lp, query_key, memory, readout);
}

/* The cell-level readout k x 1 x h x w of a query (allocated here). */
static mv_status labelprop_read(const labelprop *lp, const labelprop_query *q,
                                const mv_memory *memory, mv_tensor *readout, const char *fn) {
  MV_CHECK_ARG(q && memory && readout, "%s: NULL argument", fn);
  const mv_tensor *qk = &q->key;
  MV_TRY(mv_tensor_check(&memory->keys, fn, "memory->keys"));
  MV_TRY(mv_tensor_check(&memory->values, fn, "memory->values"));
  const int plane = qk->h * qk->w;
  MV_CHECK_ARG(memory->keys.c == CK && memory->keys.w == plane && memory->values.c == CV &&
                   memory->values.n == memory->keys.n && memory->values.h == memory->keys.h &&
                   memory->values.w == plane,
               "%s: memory keys %dx%dx%dx%d / values %dx%dx%dx%d do not hold labelprop frames "
               "of %d cells (keys k x %d x T x cells, values k x %d x T x cells)",
               fn, memory->keys.n, memory->keys.c, memory->keys.h, memory->keys.w,
               memory->values.n, memory->values.c, memory->values.h, memory->values.w, plane,
               (int)CK, (int)CV);
  MV_CHECK_ARG(memory->frames >= 1 && memory->frames <= memory->keys.h,
               "%s: memory->frames = %d, expected 1 .. %d", fn, memory->frames, memory->keys.h);
  if (mv_memory_host_ops()) {
    /* Host operators (PoCL): the fused windowed read, opencl/labelprop_ops.h
     * (the same kept sets and weights). */
    return mv_labelprop_read_host(qk, &memory->keys, &memory->values, memory->frames,
                                  lp->options.top_k, lp->options.window, readout);
  }
  MV_TRY(mv_tensor_new(readout, memory->keys.n, CV, qk->h, qk->w));
  mv_status s = read_memory(lp, qk, memory, readout);
  if (s != MV_OK) mv_tensor_free(readout);
  return s;
}

static mv_status labelprop_segment(void *self, void *query, const mv_memory *memory,
                                   mv_tensor *prob) {
  static const char fn[] = "labelprop segment";
  const labelprop *lp = self;
  MV_CHECK_ARG(prob, "%s: NULL argument", fn);
  mv_tensor readout = {0};
  mv_status s = labelprop_read(lp, query, memory, &readout, fn);
  /* (mv_resize_bilinear frees `prob` on failure when it allocated it.) */
  if (s == MV_OK)
    s = mv_resize_bilinear(&readout, readout.h * lp->options.stride,
                           readout.w * lp->options.stride, prob);
  mv_tensor_free(&readout);
  return s == MV_OK ? s : mv_fail_context(s, "%s", fn);
}

mv_status mv_labelprop_readout(const mv_propagator *propagator, void *query,
                               const mv_memory *memory, mv_tensor *readout) {
  static const char fn[] = "mv_labelprop_readout";
  MV_CHECK_ARG(propagator && propagator->ops == &labelprop_ops,
               "%s: the propagator is not a labelprop one", fn);
  mv_status s = labelprop_read(propagator->self, query, memory, readout, fn);
  return s == MV_OK ? s : mv_fail_context(s, "%s", fn);
}

const mv_tensor *mv_labelprop_query_key(void *query) {
  return query ? &((labelprop_query *)query)->key : NULL;
}

const mv_labelprop_options *mv_labelprop_get_options(const mv_propagator *propagator) {
  if (!propagator || propagator->ops != &labelprop_ops) return NULL;
  const labelprop *lp = propagator->self;
  return &lp->options;
}

static void labelprop_destroy(void *self) { free(self); }

static const mv_propagator_ops labelprop_ops = {
    labelprop_encode_query, labelprop_free_query, labelprop_memorize,
    labelprop_segment,      NULL,                 labelprop_destroy,
};

mv_status mv_propagator_labelprop(const mv_labelprop_options *options, mv_propagator *out) {
  MV_CHECK_ARG(out, "mv_propagator_labelprop: out is NULL");
  labelprop config = {{0}};
  if (options) {
    config.options = *options;
  } else {
    mv_labelprop_options_default(&config.options);
  }
  MV_TRY(check_options(&config.options));
  labelprop *lp = malloc(sizeof *lp);
  if (!lp) return mv_fail(MV_E_MEMORY, "mv_propagator_labelprop: out of memory");
  *lp = config;
  *out = (mv_propagator){&labelprop_ops, lp, "labelprop", MV_LABELPROP_MEMORY_FRAMES};
  return MV_OK;
}
