/* mivos — interactive video object segmentation (MiVOS) in C.
 *
 * The one public header. Conventions used everywhere:
 *  - every function that can fail returns mv_status; MV_OK is 0. On failure
 *    mv_error_message() returns a message naming the call, the argument or
 *    file, and what was expected. Nothing aborts or exits the process.
 *  - objects are opaque handles created by *_open / *_new / *_create and
 *    released by the matching *_close / *_free (NULL is accepted there).
 *  - arrays are C order (row-major). Frame indices are 0-based.
 *
 * This header is parsed by the LuaJIT layer (lua/mivos/cdef.lua holds
 * exactly these declarations, checked by tests/lua/test_lua_cdef.lua): keep
 * it to plain declarations, enums for constants, no function-like macros
 * outside the include guard lines.
 */
#ifndef MIVOS_H
#define MIVOS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ------------------------------------------------- */

typedef enum mv_status {
  MV_OK = 0,
  MV_E_ARGUMENT = 1,    /* a bad argument: NULL, size, range, dtype */
  MV_E_IO = 2,          /* a file could not be opened, read or written */
  MV_E_FORMAT = 3,      /* a file's content is not what was expected */
  MV_E_MEMORY = 4,      /* an allocation failed or a memory bound was hit */
  MV_E_DEVICE = 5,      /* OpenCL or CLBlast reported an error */
  MV_E_UNSUPPORTED = 6, /* valid but not supported (codec, dtype, opcode) */
  MV_E_MISMATCH = 7,    /* key, shape or dtype differs from what is expected */
  MV_E_STATE = 8        /* the call is not valid in the object's state */
} mv_status;

/* Message of the last failure on the calling thread ("" if none yet). */
const char *mv_error_message(void);
void mv_error_clear(void);
const char *mv_status_name(mv_status status);

/* ---- host arrays (npy files, checkpoint tensors) ------------------------ */

enum { MV_MAX_DIMS = 8 };

typedef enum mv_dtype {
  MV_FLOAT32 = 0,
  MV_FLOAT16 = 1,
  MV_FLOAT64 = 2,
  MV_INT64 = 3,
  MV_INT32 = 4,
  MV_INT16 = 5,
  MV_UINT8 = 6,
  MV_BOOL = 7
} mv_dtype;

typedef struct mv_array {
  mv_dtype dtype;
  int ndim;                     /* 0 for a scalar */
  int64_t shape[MV_MAX_DIMS];
  void *data;                   /* C order, owned by the array */
} mv_array;

size_t mv_dtype_size(mv_dtype dtype);
const char *mv_dtype_name(mv_dtype dtype);
int64_t mv_array_numel(const mv_array *array);
/* A zero-filled array. */
mv_status mv_array_new(mv_dtype dtype, int ndim, const int64_t *shape, mv_array **out);
void mv_array_free(mv_array *array);

/* .npy files (format 1.0–3.0, little-endian, C order). */
mv_status mv_npy_read(const char *path, mv_array **out);
/* Written to a temporary name and renamed, so a failure leaves no partial file. */
mv_status mv_npy_write(const char *path, const mv_array *array);

/* ---- checkpoints (PyTorch .pth state dicts, hashinit) -------------------- */

typedef struct mv_checkpoint mv_checkpoint;

/* Reads a torch.save state_dict: the zip format (PyTorch >= 1.6) and the
 * legacy pickle format. No Python needed. */
mv_status mv_checkpoint_open(const char *path, mv_checkpoint **out);
/* Synthesizes a checkpoint from a manifest (spec/checkpoints/NAME.tsv) with the
 * HASHINIT weights for `salt` ("" or NULL for none). */
mv_status mv_checkpoint_hashinit(const char *manifest_path, const char *salt,
                                 mv_checkpoint **out);
void mv_checkpoint_close(mv_checkpoint *checkpoint);
int mv_checkpoint_count(const mv_checkpoint *checkpoint);
/* Key number i in state_dict order; NULL when i is out of range. */
const char *mv_checkpoint_key(const mv_checkpoint *checkpoint, int i);
/* A copy of the tensor named `key` (dtype as stored). */
mv_status mv_checkpoint_get(const mv_checkpoint *checkpoint, const char *key, mv_array **out);
/* Compares keys, dtypes and shapes with a manifest: MV_E_MISMATCH with a
 * message naming every missing key, unexpected key and shape mismatch. */
mv_status mv_checkpoint_check(const mv_checkpoint *checkpoint, const char *manifest_path);

/* HASHINIT (spec/HASHINIT.md): deterministic synthetic weights. */
uint64_t mv_hashinit_seed(const char *salt, const char *key);
/* Fills `out` (numel float32 values) for a tensor of the given key and shape. */
mv_status mv_hashinit_fill(const char *salt, const char *key, int ndim, const int64_t *shape,
                           float *out);

/* ---- compute devices (OpenCL) -------------------------------------------- */

typedef struct mv_device_info {
  int platform_index;
  int device_index;
  int is_gpu;
  int fp16;                  /* cl_khr_fp16 available */
  int compute_units;
  uint64_t global_memory;    /* bytes */
  uint64_t max_allocation;   /* bytes */
  char platform[128];
  char name[128];
  char vendor[128];
  char driver[64];           /* driver version */
  char version[64];          /* OpenCL version */
} mv_device_info;

/* All OpenCL devices of all platforms; `count` receives how many exist even
 * when more than `capacity`. */
mv_status mv_device_list(mv_device_info *out, int capacity, int *count);
/* Chooses the device for this process before first use: "P:D" (platform and
 * device index), "gpu", "cpu", or a case-insensitive substring of the
 * device, vendor or platform name. NULL or "" uses the MIVOS_DEVICE
 * environment variable, else the first GPU, else the first CPU device.
 * Fails with MV_E_STATE once a different device is in use. */
mv_status mv_device_select(const char *spec);
/* The device in use (initialising the default one if none yet). */
mv_status mv_device_current(mv_device_info *out);
/* Runs every operator on small inputs against a CPU reference on the current
 * device; writes a human-readable report (may be NULL). */
mv_status mv_device_self_check(char *report, size_t report_capacity);

/* ---- video input (core/video.c) ------------------------------------------ */

/* A video read on demand through FFmpeg: any file libavformat opens (mp4,
 * webm, mov, mkv, avi, ...), a folder of .jpg/.png frames (sorted by name;
 * .jpg files when there are any, else .png), or a printf-style pattern such
 * as "frames/%05d.jpg" (numbered from the first of 0..9 that exists).
 * Frame i is the i-th frame in presentation order (timestamps, so variable
 * frame rate and B-frames are handled); rotation metadata is applied so that
 * frames come out upright. Frames are decoded when asked for (seek to the
 * previous key frame, decode forward) and kept in a cache bounded in bytes;
 * nothing is loaded whole. A mv_video is not thread-safe. */
typedef struct mv_video mv_video;

enum {
  MV_VIDEO_DEFAULT_SHORT_SIDE = 480,   /* the official tool's working size */
  MV_VIDEO_DEFAULT_CACHE_MIB = 256
};

typedef struct mv_video_options {
  int short_side;       /* working size: shorter side in pixels, aspect kept
                           (other side rounded to nearest); 0 = native */
  size_t cache_bytes;   /* bound of the decoded-frame cache; 0 = 256 MiB.
                           At least one frame is always kept. */
  double sequence_fps;  /* fps reported for image sequences; 0 = 25 */
} mv_video_options;

/* short_side 480, cache 256 MiB, sequence_fps 25 (what NULL options mean). */
void mv_video_options_default(mv_video_options *options);
/* Opens and indexes the video (a pass over packets, no decoding), so the
 * frame count is exact. Fails with MV_E_IO (missing file), MV_E_FORMAT (not
 * a video, no video stream, zero frames), MV_E_UNSUPPORTED (no decoder). */
mv_status mv_video_open(const char *path, const mv_video_options *options, mv_video **out);
void mv_video_close(mv_video *video);

typedef struct mv_video_info {
  int frame_count;
  int width, height;                /* working size: frames are height x width x 3 */
  int source_width, source_height;  /* coded size, before rotation */
  int rotation;                     /* degrees clockwise applied: 0, 90, 180, 270 */
  double fps;                       /* average; for image sequences sequence_fps */
  int is_image_sequence;
  int first_bad_frame;              /* first damaged or undecodable frame found so
                                       far, -1 if none; frame_count when the file
                                       ended early (truncated) */
  size_t cache_capacity, cache_used;/* bytes */
  char codec[32];                   /* decoder name, e.g. "h264" */
} mv_video_info;

mv_status mv_video_get_info(const mv_video *video, mv_video_info *info);
/* Frame `index` as RGB24, height x width x 3 bytes, row-major, no padding.
 * The pointer stays valid until the next mv_video_frame, mv_video_copy_frame,
 * mv_video_check or mv_video_close call on this video (a later call may
 * evict it from the cache). A frame the decoder could only conceal (damaged
 * data) is returned and recorded in first_bad_frame; a frame that cannot be
 * decoded fails with MV_E_FORMAT naming the file and the frame index. */
mv_status mv_video_frame(mv_video *video, int index, const uint8_t **rgb);
/* 1 while `rgb` (from mv_video_frame) still holds frame `index`, 0 once the
 * cache has evicted or recycled it (or for any other pointer): lets a
 * binding refuse a stale frame view instead of showing another frame. */
int mv_video_frame_is_current(const mv_video *video, int index, const uint8_t *rgb);
/* The same frame copied into `rgb` (height * width * 3 bytes). */
mv_status mv_video_copy_frame(mv_video *video, int index, uint8_t *rgb);
/* Presentation time of frame `index` in seconds from the first frame. */
mv_status mv_video_frame_time(const mv_video *video, int index, double *seconds);
/* Decodes every frame once (no conversion, nothing cached) and returns the
 * first damaged or undecodable frame in `first_bad_frame` (-1 if none). */
mv_status mv_video_check(mv_video *video, int *first_bad_frame);

/* ---- masks and exports (core/mask_io.c, core/overlay.c) ------------------- */

/* Every writer below writes to a temporary name in the same folder and
 * renames it on success: a failure (unwritable folder, disk full) returns
 * MV_E_IO naming the file and leaves nothing under the final name (an
 * existing file there is kept unchanged). */

/* The DAVIS / PASCAL VOC palette: 256 RGB triples, id 1 = (128,0,0),
 * 2 = (0,128,0), 3 = (128,128,0), 4 = (0,0,128), ... */
void mv_palette_davis(uint8_t rgb[768]);

/* Label maps (height x width ids 0..255) as 8-bit palette PNG with the DAVIS
 * palette, as the official tool saves them. */
mv_status mv_mask_write_labels(const char *path, const uint8_t *labels, int width, int height);
/* A binary mask: nonzero -> 255, zero -> 0, 8-bit grayscale. */
mv_status mv_mask_write_binary(const char *path, const uint8_t *mask, int width, int height);
/* One object's probabilities in [0, 1] (clamped) as 8-bit grayscale,
 * round(255 p). NaN is rejected. */
mv_status mv_mask_write_soft(const char *path, const float *probability, int width, int height);
/* An alpha matte: RGBA with the frame's colours (height x width x 3) and
 * alpha = round(255 a) of the object's alpha in [0, 1]. */
mv_status mv_mask_write_matte(const char *path, const uint8_t *rgb, const float *alpha,
                              int width, int height);
/* An RGB24 image (height x width x 3) as PNG. */
mv_status mv_image_write_png(const char *path, const uint8_t *rgb, int width, int height);

/* Size of a PNG file (to read it at its own size). */
mv_status mv_mask_size(const char *path, int *width, int *height);
/* The readers below resize nearest-neighbour to width x height when the file
 * has another size (ids are never interpolated). */
/* Label ids: palette PNG -> indices; grayscale with only 0 and 255 -> 0/1;
 * other grayscale -> the values (16-bit only up to 255); RGB(A) -> the DAVIS
 * palette index of each colour (or 0/1 for black/white-only images);
 * anything else fails with MV_E_FORMAT naming the file and the pixel. */
mv_status mv_mask_read_labels(const char *path, int width, int height, uint8_t *labels);
/* Probabilities in [0, 1]: grayscale (8 or 16 bit) value / max, or the
 * alpha channel of an image that has one. */
mv_status mv_mask_read_soft(const char *path, int width, int height, float *probability);
/* An alpha matte: colours into rgb (height x width x 3, may be NULL) and
 * alpha / 255 into alpha (may be NULL; 1 where the file has no alpha). */
mv_status mv_mask_read_matte(const char *path, int width, int height, uint8_t *rgb,
                             float *alpha);

/* The DAVIS overlay: pixels of object k > 0 become (frame + colour k) / 2
 * (palette colours), background pixels 4-adjacent to an object become black
 * (a 1-pixel dark contour), others are copied. out may not alias rgb. */
mv_status mv_overlay_draw(const uint8_t *rgb, const uint8_t *labels, int width, int height,
                          uint8_t *out);
mv_status mv_overlay_write_png(const char *path, const uint8_t *rgb, const uint8_t *labels,
                               int width, int height);

/* Encoding RGB24 frames to a video file through FFmpeg (container from the
 * file name: .mp4, .mkv, .mov, .avi, ...). */
typedef struct mv_video_writer mv_video_writer;
typedef struct mv_video_writer_options {
  const char *codec;  /* encoder name; NULL or "" = libx264 if present, else mpeg4 */
  int quality;        /* 0 = default; libx264: CRF (18), libvpx: CRF (24), others: qscale (3) */
  int gop;            /* key frame interval; 0 = default (libx264 250, others 12) */
  int max_b_frames;   /* 0 = default (libx264 3, others 2); < 0 = none */
} mv_video_writer_options;

/* options may be NULL. Odd sizes are padded by one row/column (edge copied).
 * Fails with MV_E_UNSUPPORTED when the encoder or container is unknown. */
mv_status mv_video_writer_open(const char *path, int width, int height, double fps,
                               const mv_video_writer_options *options,
                               mv_video_writer **out);
/* Appends one RGB24 frame (height x width x 3). */
mv_status mv_video_writer_add(mv_video_writer *writer, const uint8_t *rgb);
/* Flushes the encoder, completes the file and renames it to its final name. */
mv_status mv_video_writer_finish(mv_video_writer *writer);
/* Frees the writer; an unfinished file is deleted. */
void mv_video_writer_close(mv_video_writer *writer);
/* The encoder in use, e.g. "libx264". */
const char *mv_video_writer_codec(const mv_video_writer *writer);

/* ---- network steps (core/network_api.c) ----------------------------------- */

/* The official networks one step at a time, for engines of your own (the
 * session uses the same code). Frames are RGB24 height x width x 3 and
 * masks / probabilities float32 at the frame's own size, in host memory:
 * padding to a multiple of 16 (the smaller half left / top, zeros) and the
 * crop back happen inside. Features and memory stay on the device; host
 * buffers may be reused as soon as a call returns. Not thread-safe. */
typedef enum mv_network_kind {
  MV_NETWORK_PROPAGATION = 0,   /* propagation_model.pth */
  MV_NETWORK_FUSION = 1,        /* fusion.pth */
  MV_NETWORK_S2M = 2            /* s2m.pth */
} mv_network_kind;

typedef struct mv_network mv_network;

/* Loads an official .pth file (MV_E_IO naming the path when it cannot be
 * read). A missing key or a wrong shape fails with MV_E_MISMATCH naming the
 * key and both shapes (and the kind the file looks like, if another). */
mv_status mv_network_open(mv_network_kind kind, const char *path, mv_network **out);
/* The same from an open checkpoint (e.g. mv_checkpoint_hashinit); the
 * checkpoint may be closed afterwards. */
mv_status mv_network_from_checkpoint(mv_network_kind kind, const mv_checkpoint *checkpoint,
                                     mv_network **out);
void mv_network_close(mv_network *network);

/* A query frame encoded by the propagation network (key, value and decoder
 * skip features), computed once and used for every segmentation of it. */
typedef struct mv_frame_features mv_frame_features;
mv_status mv_network_encode_query(mv_network *propagation, const uint8_t *rgb, int width,
                                  int height, mv_frame_features **out);
void mv_frame_features_free(mv_frame_features *features);

/* Memory keys and values of up to `capacity` frames (slots 0..capacity-1)
 * for `objects` objects (1..255), of width x height frames. */
typedef struct mv_memory_bank mv_memory_bank;
mv_status mv_memory_bank_new(int objects, int capacity, int width, int height,
                             mv_memory_bank **out);
void mv_memory_bank_free(mv_memory_bank *bank);

/* Memorises a frame with its objects' masks (objects x height x width, in
 * [0, 1], object 1 first, no background) into `slot`, replacing what was
 * there. The frame size must be the bank's. */
mv_status mv_network_memorize(mv_network *propagation, const uint8_t *rgb, int width, int height,
                              const float *masks, mv_memory_bank *bank, int slot);
/* Segments a query against slots 0..frames-1 of the bank (all memorised,
 * else MV_E_STATE): top-50 memory read and decoder per object, then the soft
 * aggregation. probabilities: (objects + 1) x height x width, background
 * first. The top-50 read needs frames x ceil(height/16) x ceil(width/16)
 * >= 50 memory positions (MV_E_ARGUMENT otherwise). */
mv_status mv_network_segment(mv_network *propagation, const mv_frame_features *query,
                             const mv_memory_bank *bank, int frames, float *probabilities);

/* S2M for one object, exactly the "s2m" interaction backend: previous mask
 * (> 0.5 counts as set), positive / negative scribble maps (nonzero = set,
 * used as given, not dilated), each height x width and each may be NULL
 * (empty). out: the object's probabilities, height x width. */
mv_status mv_network_s2m(mv_network *s2m, const uint8_t *rgb, int width, int height,
                         const float *previous, const uint8_t *positive, const uint8_t *negative,
                         float *out);

/* Difference-aware fusion of frame ti (the official fuse_one_frame), after a
 * new interaction on frame tr when an earlier one was on frame tc (tc != tr):
 * per object, attention from frame tr's memory key (slot `slot` of
 * `interacted`, memorised from tr with its new mask) to `query` (ti's
 * features), FusionNet on the frame, previous and current probabilities,
 * attention and the distances |tc-ti|/|tc-tr|, |tr-ti|/|tc-tr|; then the
 * soft aggregation. previous (the earlier round's result at ti), current
 * (this round's propagation at ti), pos_diff / neg_diff (at tr: the new mask
 * minus the earlier probabilities, positive part / negated negative part)
 * and out are (objects + 1) x height x width, background first (channel 0
 * of the differences is not used); objects = the bank's. */
mv_status mv_network_fuse(mv_network *fusion, const uint8_t *rgb, int width, int height,
                          const mv_frame_features *query, const mv_memory_bank *interacted,
                          int slot, const float *previous, const float *current,
                          const float *pos_diff, const float *neg_diff, int tc, int tr, int ti,
                          float *out);

/* ---- interactive sessions (core/session.c) -------------------------------- */

/* A session segments K objects in a video: interact on a frame (the frame's
 * mask changes at once), propagate from it (both ways, up to the nearest
 * frames interacted on before, fusing the new result with the previous one
 * between them), correct any frame, propagate again. Three modules are chosen
 * independently:
 *   interaction  "strokecut" (default), "graphcut", "s2m" (needs weights), "freehand",
 *                or a backend registered with mv_backend_register;
 *   propagation  "labelprop-flow+shift+refine" (default without weights),
 *                "labelprop-flow+refine", "labelprop-flow", "labelprop",
 *                "labelprop+refine", "network";
 *   fusion       "conservative+agreement" (default without weights),
 *                "conservative", "linear", "confidence", "network", "none".
 * With a weights folder the defaults become s2m + network + network.
 * Objects are numbered 1..objects (0 is the background) when the session
 * opens; ids are stable: a new object gets the highest id ever used + 1,
 * deleting one keeps every other id (mv_session_object_ids lists them). */
typedef struct mv_session mv_session;

typedef struct mv_session_options {
  int objects;                /* initial object count (1..255), default 1 */
  const char *interaction;    /* NULL = default (see above) */
  const char *propagation;    /* NULL = default */
  const char *fusion;         /* NULL = default */
  const char *weights;        /* folder with propagation_model.pth, fusion.pth,
                                 s2m.pth (the official files); NULL = none */
  int memory_every;           /* a frame enters memory every N frames (5) */
  size_t device_memory_limit; /* bytes for memory banks and cached frame
                                 features on the device; 0 = 1/2 of the device */
  size_t host_memory_limit;   /* bytes for per-frame probabilities on the host;
                                 0 = 4 GiB (beyond: stored at 16 bits) */
} mv_session_options;

void mv_session_options_default(mv_session_options *options);
/* The session reads frames from `video` on demand (the video must outlive it). */
mv_status mv_session_open(mv_video *video, const mv_session_options *options,
                          mv_session **out);
void mv_session_close(mv_session *session);

typedef struct mv_session_info {
  int frame_count, width, height;   /* the video's working size */
  int objects;
  int interacted_frames;            /* frames propagated from so far */
  char interaction[32], propagation[32], fusion[32];
} mv_session_info;
mv_status mv_session_get_info(const mv_session *session, mv_session_info *info);
/* Switches the interaction backend by name. */
mv_status mv_session_set_interaction(mv_session *session, const char *name);

/* A box (inclusive pixel coordinates) for local control: the backend runs on
 * the box grown by `margin`, and only the box's inside (less a 3-pixel
 * border, as the official tool) is stitched back. */
typedef struct mv_region {
  int x0, y0, x1, y1;
  int margin;
} mv_region;

/* A stroke: `count` points as x, y pixel pairs (x right, y down), drawn with
 * round ends; positive strokes mark the object, negative ones anything else. */
typedef struct mv_stroke {
  const float *xy;
  int count;
  float thickness;            /* pixels; 0 = 3 */
  int positive;
} mv_stroke;

/* Interactions on one frame: only that frame's mask changes, and the change
 * can be undone. region may be NULL (whole frame). Where strokes of both
 * signs cross, the later one counts (as the DAVIS robot's maps). */
mv_status mv_session_scribble(mv_session *session, int frame, int object,
                              const mv_stroke *strokes, int count, const mv_region *region);
/* A click: a disk of radius 5 (positive or negative) given to the interaction
 * backend through the click wrapper. */
mv_status mv_session_click(mv_session *session, int frame, int object, float x, float y,
                           int positive, const mv_region *region);
/* Free-hand drawing: a polygon (brush_radius 0: lasso fill) or a brush stroke
 * along the points; erase removes the pixels from the object instead. */
mv_status mv_session_draw(mv_session *session, int frame, int object, const float *xy,
                          int count, float brush_radius, int erase);
/* Any backend input: positive / negative maps (height x width, nonzero set;
 * either may be NULL). */
mv_status mv_session_interact_maps(mv_session *session, int frame, int object,
                                   const uint8_t *positive, const uint8_t *negative,
                                   const mv_region *region);
/* Strokes given one at a time: the backends that want every stroke (the
 * default, strokecut) get, at each scribble, click or maps call, all the
 * strokes given on the frame since its stroke group began, with the mask
 * the frame had then; so one stroke per call gives the mask that the same
 * strokes give in one call. A group begins with the first stroke after a
 * stroke on another frame, any other edit of the frame (undo, reset, mask
 * import, free-hand drawing, box), a propagation, an object change, or this
 * call, which ends the group (e.g. the end of one robot interaction: its
 * corrections then start from the mask it left). Logged in a workspace. */
mv_status mv_session_end_strokes(mv_session *session);
/* Replaces the frame's whole label map (e.g. an initial mask read from PNG);
 * every label must be 0 or an object id. */
mv_status mv_session_set_labels(mv_session *session, int frame, const uint8_t *labels);
/* Box prompt, inclusive pixel coordinates at the working size: the current
 * interaction backend gets GrabCut's rectangle, i.e. the box's inside as the
 * object's previous mask and everything outside as negative (certain
 * background), no positive marks; the object's mask becomes the result
 * (its pixels outside the box are dropped). graphcut: GrabCut; freehand:
 * the filled box; s2m: the box as previous mask + the outside as negative
 * scribble; a Lua backend gets the same input. */
mv_status mv_session_box(mv_session *session, int frame, int object, int x0, int y0, int x1,
                         int y1);
/* Per-object mask import: nonzero = object (height x width). Replaces that
 * object's mask on the frame (its pixels outside the mask go to the
 * background, pixels of other objects inside it become the object); other
 * objects keep the rest. Undoable. */
mv_status mv_session_set_object_mask(mv_session *session, int frame, int object,
                                     const uint8_t *mask);

/* Progress of a propagation: frames done of total; return non-zero to stop
 * after the current frame (the frames done so far keep their result). */
typedef int (*mv_progress_fn)(void *user, int done, int total);
/* The same with the index of the frame just propagated. */
typedef int (*mv_frame_progress_fn)(void *user, int frame, int done, int total);
/* Propagates the frame's current mask both ways and fuses as described above
 * (MV_BOTH through the step API below). */
mv_status mv_session_propagate(mv_session *session, int frame, mv_progress_fn progress,
                               void *user);

/* Propagation in steps (pull style). begin commits the frame's current mask
 * as its memory entry (replacing the frame's earlier entry) and plans the
 * passes; each step propagates one frame and reports it; the caller may
 * stop stepping at any point, do other things (read labels, interact on
 * other frames) and step again later: the results are those of one
 * uninterrupted run. Directions: forward / backward go from the frame up to
 * the nearest other frame in memory (exclusive, fusing there) or the
 * video's end; both = forward, then backward (the official order). `to`
 * (one direction only) stops after that frame, `count` after that many
 * frames. One run is open per session: a new begin, memory control, adding,
 * resetting or deleting an object, or closing the session ends the open run
 * (its frames keep their results; its step then fails with MV_E_STATE);
 * a later begin from the same frame starts a new run (the frame's memory
 * entry is replaced, the frames are propagated again). */
enum { MV_FORWARD = 1, MV_BACKWARD = 2, MV_BOTH = 3 };
typedef struct mv_propagation_request {
  int frame;
  int direction;   /* MV_FORWARD, MV_BACKWARD or MV_BOTH */
  int to;          /* last frame to propagate, -1: until the pass stops */
  int count;       /* most frames in all, 0: no limit */
} mv_propagation_request;
typedef struct mv_propagation_run mv_propagation_run;
mv_status mv_session_propagation_begin(mv_session *session, const mv_propagation_request *request,
                                       mv_propagation_run **out);
/* *frame = the frame propagated (-1 when none was left); *done = 1 when no
 * frame is left after it. */
mv_status mv_session_propagation_step(mv_propagation_run *run, int *frame, int *done);
/* Frames propagated so far and in all (0, 0 for a run the session ended). */
mv_status mv_session_propagation_progress(const mv_propagation_run *run, int *done, int *total);
/* Frees the run (early or at the end); NULL is ignored. */
mv_status mv_session_propagation_end(mv_propagation_run *run);
/* A whole request in one call, with the frame index in the progress. */
mv_status mv_session_propagate_request(mv_session *session, const mv_propagation_request *request,
                                       mv_frame_progress_fn progress, void *user);

/* Memory control. The memory holds one entry per frame propagated from
 * (passes stop at these frames); an entry is "interacted" when the frame
 * was edited (interaction, box, mask import, reset) before it was
 * propagated from, not when it was propagated from as it was. */
/* Drops the frame's entry (MV_E_ARGUMENT if it has none); its mask stays. */
mv_status mv_session_forget_memory(mv_session *session, int frame);
/* Drops every entry, or (keep_interacted) every entry that is not interacted. */
mv_status mv_session_clear_memory(mv_session *session, int keep_interacted);
/* The frames in memory, in the order they entered, and their interacted
 * flags (interacted may be NULL); *count = all entries (may exceed capacity). */
mv_status mv_session_memory_frames(const mv_session *session, int *frames, int *interacted,
                                   int capacity, int *count);

/* The frame's label map (height x width, 0 or object ids). */
mv_status mv_session_labels(mv_session *session, int frame, uint8_t *labels);
/* The label map at another size (e.g. the source's): the probabilities of
 * every object resized bilinearly (align_corners=False) to width x height,
 * then the most probable id (the lowest channel on ties); a frame with an
 * unpropagated edit resizes its one-hot map the same way. */
mv_status mv_session_labels_resized(mv_session *session, int frame, int width, int height,
                                    uint8_t *labels);
/* One object's probabilities (0 = background) resized the same way. */
mv_status mv_session_probabilities_resized(mv_session *session, int frame, int object, int width,
                                           int height, float *out);
/* Probabilities of one object (0 = background) at the frame, height x width. */
mv_status mv_session_probabilities(mv_session *session, int frame, int object, float *out);

/* Editing. Undo reverts the frame's last interaction (MV_E_STATE if none). */
mv_status mv_session_undo(mv_session *session, int frame);
/* Clears the frame's mask (an undoable interaction). */
mv_status mv_session_reset_frame(mv_session *session, int frame);
/* Removes the object from every frame (its id stays valid, now empty). */
mv_status mv_session_reset_object(mv_session *session, int object);
/* Adds an object (id = the highest id ever used + 1; MV_E_STATE past 255),
 * empty in every frame. */
mv_status mv_session_add_object(mv_session *session, int *object);
/* Deletes an object; every other object keeps its id. */
mv_status mv_session_delete_object(mv_session *session, int object);
/* The object ids in ascending order (up to capacity); *count = how many. */
mv_status mv_session_object_ids(const mv_session *session, int *ids, int capacity, int *count);

/* User interaction backends, usable by name exactly like the built-in ones
 * (also inside local control). The function gets the frame (height x width x
 * 3), the object's previous mask and the positive / negative maps (NULL when
 * empty) and writes the object's probabilities (height x width) to out. */
typedef mv_status (*mv_backend_fn)(void *user, const uint8_t *rgb, int width, int height,
                                   const float *previous, const uint8_t *positive,
                                   const uint8_t *negative, float *out);
mv_status mv_backend_register(const char *name, mv_backend_fn fn, void *user);
mv_status mv_backend_unregister(const char *name);
/* For a backend function: records the message its failure reports. */
void mv_backend_set_error(const char *message);

/* The built-in modules, from the one table the session builds them from
 * (core/session/builtin_modules.c): the name of the index-th (0-based)
 * module of a kind, and whether it needs the official weights; NULL past
 * the last one. */
typedef enum mv_module_kind {
  MV_MODULE_INTERACTION = 0, MV_MODULE_PROPAGATION = 1, MV_MODULE_FUSION = 2
} mv_module_kind;
const char *mv_builtin_module(mv_module_kind kind, int index, int *needs_weights);

/* ---- workspaces: interaction log, masks on disk, resume, snapshots -------- */

/* A workspace is a folder that keeps a session's work as it happens:
 *   manifest.json   the video's identity (path, coded and working size,
 *                   frame count, CRC-32 of three frames), the modules and
 *                   options the session was opened with;
 *   log.json        every interaction, edit and propagation, appended and
 *                   flushed to disk (fdatasync) before the call returns; the
 *                   file is always a rounds file (`mivos segment --rounds`);
 *   inputs/         the mask images the log refers to (set_labels, maps);
 *   masks/00000.png the label map of every frame (palette PNG), rewritten
 *                   atomically when an operation changes it;
 *   snapshot.mvs    (mv_session_snapshot) the whole session state.
 * Attaching an existing workspace to a fresh session loads the snapshot (if
 * any, and if it matches the log) and replays the log entries after it, so
 * the session ends exactly as the one that wrote them (bit for bit). */
typedef struct mv_workspace_report {
  int created;              /* 1: the folder was new (manifest and log written) */
  int entries;              /* entries in the log */
  int replayed;             /* of them replayed by running the operation again */
  int from_snapshot;        /* of them restored from snapshot.mvs (0: none used) */
  int interrupted_frame;    /* a propagation from this frame never returned (the
                               process died); it is not in the log. -1: none */
  int dropped_bytes;        /* an incomplete last log line (a write cut short by a
                               crash) that was dropped; 0: none */
  char message[512];        /* one line saying what was recovered */
} mv_workspace_report;

/* Attaches the folder `dir` to a session that has done nothing yet
 * (MV_E_STATE otherwise): a missing or empty folder becomes a new workspace;
 * an existing one must be for the same video (MV_E_MISMATCH naming what
 * differs) and modules, and its log and snapshot must read back
 * (MV_E_FORMAT naming the file, line and column). Every entry is read and
 * checked before the first is replayed; on any failure no file is changed
 * (a failure during the replay itself, e.g. a device error, leaves the
 * session part-way: close it). report may be NULL. */
mv_status mv_session_attach(mv_session *session, const char *dir, mv_workspace_report *report);
/* Stops logging (the folder stays as it is). MV_OK when none is attached. */
mv_status mv_session_detach(mv_session *session);
/* Writes DIR/snapshot.mvs of the attached workspace (MV_E_STATE if none). */
mv_status mv_session_snapshot(mv_session *session);
/* A snapshot anywhere: the engine's probabilities of every frame, the
 * interacted frames with their memory keys / values and masks, the pending
 * maps and undo history; versioned, with a CRC-32, written atomically. */
mv_status mv_session_save_snapshot(mv_session *session, const char *path);
/* Replaces the session's state by a snapshot of a session on the same video
 * size and modules. The whole file is checked first (truncated, corrupt,
 * wrong version or another video size: MV_E_FORMAT / MV_E_MISMATCH naming
 * the file), so a failure changes nothing. Not allowed while a workspace is
 * attached (its log would no longer describe the session). */
mv_status mv_session_load_snapshot(mv_session *session, const char *path);

/* A workspace's manifest, to open a session like the one that made it. */
typedef struct mv_workspace_manifest {
  char video[1024];                 /* the path as given when it was created */
  int frame_count, width, height;   /* working size */
  int source_width, source_height;  /* coded size */
  uint32_t frames_hash;             /* CRC-32 of frames 0, middle and last (working size) */
  int objects;                      /* objects the session was opened with */
  int memory_every;
  char interaction[32], propagation[32], fusion[32];
  char weights[1024];               /* "" = none */
} mv_workspace_manifest;
/* MV_E_IO when DIR/manifest.json does not exist, MV_E_FORMAT when it is not
 * a mivos workspace manifest. */
mv_status mv_workspace_read_manifest(const char *dir, mv_workspace_manifest *out);

/* ---- evaluation (core/metrics.c, core/robot.c) ---- */

/* J (region similarity) and F (contour accuracy) as the DAVIS tools compute
 * them, and the DAVIS interactive scribble robot (spec/EVALUATION.md).
 * Binary masks are height x width bytes, nonzero = set. Label maps hold 0 for
 * background and 1..objects; in ground-truth label maps 255 marks void
 * pixels (DAVIS 2017), which are left out of J and F. */

enum {
  MV_EVAL_MAX_OBJECTS = 254   /* label 255 is void */
};

/* Boundary tolerance in pixels: ceil(0.008 * sqrt(width^2 + height^2))
 * (8 for 854 x 480, 7 for 640 x 480); 0 for a non-positive size. */
int mv_boundary_tolerance(int width, int height);
/* J = |pred and gt| / |pred or gt|, 1 when both are empty. */
mv_status mv_jaccard(const uint8_t *pred, const uint8_t *gt, int width, int height, double *j);
/* F of the boundary maps with the tolerance above: 1 when both boundaries
 * are empty, 0 when exactly one is. */
mv_status mv_boundary_f(const uint8_t *pred, const uint8_t *gt, int width, int height,
                        double *f);
/* Per-object J and F of one frame: object k (1..objects) at index k-1 of j
 * and f (either may be NULL to skip that metric). Labels above `objects`
 * (other than a ground-truth 255) fail with MV_E_ARGUMENT. */
mv_status mv_evaluate_frame(const uint8_t *pred_labels, const uint8_t *gt_labels, int width,
                            int height, int objects, double *j, double *f);
/* A whole sequence (frame_count x height x width label volumes): j and f
 * receive frame_count x objects values, frame-major (j[t * objects + k-1]). */
mv_status mv_evaluate_sequence(const uint8_t *pred_labels, const uint8_t *gt_labels,
                               int frame_count, int width, int height, int objects, double *j,
                               double *f);

/* Which frames of a sequence are scored. */
typedef enum mv_eval_frames {
  MV_EVAL_ALL_FRAMES = 0,        /* DAVIS interactive and this project: 0..T-1 */
  MV_EVAL_SEMI_SUPERVISED = 1    /* DAVIS semi-supervised: 1..T-2 */
} mv_eval_frames;

/* Statistics of one object's per-frame values over the scored frames. */
typedef struct mv_eval_statistics {
  double mean;     /* mean of the values */
  double recall;   /* fraction of values > 0.5 */
  double decay;    /* mean of the first quarter bin - mean of the last */
} mv_eval_statistics;

/* `count` (>= 1) per-frame values of one object, in frame order. */
mv_status mv_eval_statistics_compute(const double *values, int count, mv_eval_statistics *out);

typedef struct mv_object_score {
  mv_eval_statistics j, f;
  double jf;       /* (j.mean + f.mean) / 2 */
} mv_object_score;

/* Per-object scores from per-frame values laid out as mv_evaluate_sequence
 * writes them; out receives `objects` scores. */
mv_status mv_evaluate_objects(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_frames frames, mv_object_score *out);
/* Dataset level: means of the objects' J and F means (objects, not
 * sequences, are averaged); jf = (j + f) / 2. Outputs may be NULL. */
mv_status mv_evaluate_dataset(const mv_object_score *scores, int count, double *j, double *f,
                              double *jf);

/* The metric the worst-frame rule minimises: per frame, the mean over
 * objects of (J + F) / 2, of J, or of F. */
typedef enum mv_eval_metric {
  MV_EVAL_METRIC_JF = 0,
  MV_EVAL_METRIC_J = 1,
  MV_EVAL_METRIC_F = 2
} mv_eval_metric;

/* The frame of the next robot scribble (davis-interactive worst-frame rule):
 * candidates C = the valid indices of `candidates` (count 0 or none valid:
 * all frames); U = the frames flagged in `used` (frame_count bytes, nonzero
 * = the robot drew there; all flagged counts as none; NULL = none);
 * allowed = C minus U, or C when that is empty; the allowed frame with the
 * lowest score, ties to the lowest index. The chosen frame is flagged in
 * `used`. j and f are laid out as mv_evaluate_sequence writes them; the one
 * the metric does not need may be NULL. */
mv_status mv_robot_next_frame(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_metric metric, const int *candidates, int candidate_count,
                              uint8_t *used, int *frame);

/* Robot parameters; mv_robot_options_default gives the evaluation service's
 * values (kernel_size 0.2, max_kernel_radius 16, min_nb_nodes 4,
 * nb_points 1000). */
typedef struct mv_robot_options {
  double kernel_size;        /* opening radius = kernel_size * sqrt(error area) / 2, in [0, 1) */
  double max_kernel_radius;  /* upper bound of that radius, > 0 */
  int min_nb_nodes;          /* skeleton components with fewer nodes are dropped, >= 1 */
  int nb_points;             /* Bezier samples per stroke, 2..1000 */
} mv_robot_options;

void mv_robot_options_default(mv_robot_options *options);

/* One stroke: points normalised as x = column / width, y = row / height. */
typedef struct mv_robot_stroke {
  int object_id;             /* 0 = background (negative stroke), k = object k */
  int point_count;           /* nb_points, or the path length when longer */
  double *points;            /* point_count x 2: (x, y) */
} mv_robot_stroke;

/* The robot's answer: strokes on one frame, by label (background first),
 * then by skeleton component in raster order. stroke_count may be 0. */
typedef struct mv_robot_scribble {
  int frame;                 /* the frame the strokes are on */
  int frame_count;
  int width, height;
  int stroke_count;
  mv_robot_stroke *strokes;
} mv_robot_scribble;

/* Runs the robot on frame `frame` of the label volumes (frame_count x
 * height x width; gt 255 = void); frame -1 = the frame with the lowest mean
 * J over objects (first on ties). options NULL = defaults. Deterministic:
 * equal inputs give identical strokes. Free with mv_robot_scribble_free. */
mv_status mv_robot_interact(const uint8_t *gt_labels, const uint8_t *pred_labels,
                            int frame_count, int width, int height, int objects, int frame,
                            const mv_robot_options *options, mv_robot_scribble **out);
void mv_robot_scribble_free(mv_robot_scribble *scribble);

/* The DAVIS scribble JSON {"sequence": ..., "scribbles": [[strokes of frame
 * 0], ..., [strokes of frame T-1]]}. Into a buffer: *length receives the
 * text's length (without the NUL); buffer NULL with capacity 0 only measures;
 * a capacity below length + 1 fails with MV_E_ARGUMENT (length still set). */
mv_status mv_robot_scribble_json(const mv_robot_scribble *scribble, const char *sequence,
                                 char *buffer, size_t capacity, size_t *length);
/* The same text to a file (temporary name, renamed on success). */
mv_status mv_robot_write_json(const mv_robot_scribble *scribble, const char *sequence,
                              const char *path);

/* ---- JSON (core/json.c) ------------------------------------------------------ */

/* The project's one JSON reader (RFC 8259): fixture manifests, DAVIS
 * scribble files, interaction rounds; the Lua layer's json.decode walks its
 * tree. */
typedef enum mv_json_type {
  MV_JSON_NULL = 0,
  MV_JSON_BOOL = 1,
  MV_JSON_NUMBER = 2,
  MV_JSON_STRING = 3,
  MV_JSON_ARRAY = 4,
  MV_JSON_OBJECT = 5
} mv_json_type;

typedef struct mv_json {
  mv_json_type type;
  double number;            /* NUMBER, and BOOL as 0/1 */
  char *string;             /* STRING (NUL-terminated, UTF-8) */
  char *key;                /* the member name when inside an object */
  struct mv_json *items;    /* ARRAY / OBJECT children, in the text's order */
  size_t count;
  size_t length;            /* STRING: its bytes (a \u0000 escape puts a NUL inside) */
} mv_json;

/* Parses `size` bytes (a leading UTF-8 byte order mark is skipped) into a
 * tree freed with mv_json_free. Bad input fails with MV_E_FORMAT and
 * "ORIGIN:LINE:COLUMN: what was expected, found X" (1-based line and byte
 * column of the offending character; origin NULL = "json"). */
mv_status mv_json_parse(const char *text, size_t size, const char *origin, mv_json **out);
/* The same for a file, named as the origin. */
mv_status mv_json_parse_file(const char *path, mv_json **out);
void mv_json_free(mv_json *value);

/* Member of an object by name (the first of equal names), NULL if absent or
 * not an object. */
const mv_json *mv_json_get(const mv_json *object, const char *key);
/* Follows a path of member names separated by '/', e.g. "args/salt". */
const mv_json *mv_json_path(const mv_json *root, const char *path);

#ifdef __cplusplus
}
#endif

#endif
