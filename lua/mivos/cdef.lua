-- mivos.cdef: the declarations of core/mivos.h for ffi.cdef, in header order
-- and with the header's comments left out (read them in core/mivos.h).
-- tests/lua/test_lua_cdef.lua compares every declaration here with the header:
-- when the header changes, copy the changed declarations here verbatim.
return [==[
typedef enum mv_status {
  MV_OK = 0,
  MV_E_ARGUMENT = 1,
  MV_E_IO = 2,
  MV_E_FORMAT = 3,
  MV_E_MEMORY = 4,
  MV_E_DEVICE = 5,
  MV_E_UNSUPPORTED = 6,
  MV_E_MISMATCH = 7,
  MV_E_STATE = 8
} mv_status;

const char *mv_error_message(void);
void mv_error_clear(void);
const char *mv_status_name(mv_status status);

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
  int ndim;
  int64_t shape[MV_MAX_DIMS];
  void *data;
} mv_array;

size_t mv_dtype_size(mv_dtype dtype);
const char *mv_dtype_name(mv_dtype dtype);
int64_t mv_array_numel(const mv_array *array);

mv_status mv_array_new(mv_dtype dtype, int ndim, const int64_t *shape, mv_array **out);
void mv_array_free(mv_array *array);

mv_status mv_npy_read(const char *path, mv_array **out);

mv_status mv_npy_write(const char *path, const mv_array *array);

typedef struct mv_checkpoint mv_checkpoint;

mv_status mv_checkpoint_open(const char *path, mv_checkpoint **out);

mv_status mv_checkpoint_hashinit(const char *manifest_path, const char *salt,
                                 mv_checkpoint **out);
void mv_checkpoint_close(mv_checkpoint *checkpoint);
int mv_checkpoint_count(const mv_checkpoint *checkpoint);

const char *mv_checkpoint_key(const mv_checkpoint *checkpoint, int i);

mv_status mv_checkpoint_get(const mv_checkpoint *checkpoint, const char *key, mv_array **out);

mv_status mv_checkpoint_check(const mv_checkpoint *checkpoint, const char *manifest_path);

uint64_t mv_hashinit_seed(const char *salt, const char *key);

mv_status mv_hashinit_fill(const char *salt, const char *key, int ndim, const int64_t *shape,
                           float *out);

typedef struct mv_device_info {
  int platform_index;
  int device_index;
  int is_gpu;
  int fp16;
  int compute_units;
  uint64_t global_memory;
  uint64_t max_allocation;
  char platform[128];
  char name[128];
  char vendor[128];
  char driver[64];
  char version[64];
} mv_device_info;

mv_status mv_device_list(mv_device_info *out, int capacity, int *count);

mv_status mv_device_select(const char *spec);

mv_status mv_device_current(mv_device_info *out);

mv_status mv_device_self_check(char *report, size_t report_capacity);

typedef struct mv_video mv_video;

enum {
  MV_VIDEO_DEFAULT_SHORT_SIDE = 480,
  MV_VIDEO_DEFAULT_CACHE_MIB = 256
};

typedef struct mv_video_options {
  int short_side;
  size_t cache_bytes;
  double sequence_fps;
} mv_video_options;

void mv_video_options_default(mv_video_options *options);

mv_status mv_video_open(const char *path, const mv_video_options *options, mv_video **out);
void mv_video_close(mv_video *video);

typedef struct mv_video_info {
  int frame_count;
  int width, height;
  int source_width, source_height;
  int rotation;
  double fps;
  int is_image_sequence;
  int first_bad_frame;
  size_t cache_capacity, cache_used;
  char codec[32];
} mv_video_info;

mv_status mv_video_get_info(const mv_video *video, mv_video_info *info);

mv_status mv_video_frame(mv_video *video, int index, const uint8_t **rgb);

int mv_video_frame_is_current(const mv_video *video, int index, const uint8_t *rgb);

mv_status mv_video_copy_frame(mv_video *video, int index, uint8_t *rgb);

mv_status mv_video_frame_time(const mv_video *video, int index, double *seconds);

mv_status mv_video_check(mv_video *video, int *first_bad_frame);

void mv_palette_davis(uint8_t rgb[768]);

mv_status mv_mask_write_labels(const char *path, const uint8_t *labels, int width, int height);

mv_status mv_mask_write_binary(const char *path, const uint8_t *mask, int width, int height);

mv_status mv_mask_write_soft(const char *path, const float *probability, int width, int height);

mv_status mv_mask_write_matte(const char *path, const uint8_t *rgb, const float *alpha,
                              int width, int height);

mv_status mv_image_write_png(const char *path, const uint8_t *rgb, int width, int height);

mv_status mv_mask_size(const char *path, int *width, int *height);

mv_status mv_mask_read_labels(const char *path, int width, int height, uint8_t *labels);

mv_status mv_mask_read_soft(const char *path, int width, int height, float *probability);

mv_status mv_mask_read_matte(const char *path, int width, int height, uint8_t *rgb,
                             float *alpha);

mv_status mv_overlay_draw(const uint8_t *rgb, const uint8_t *labels, int width, int height,
                          uint8_t *out);
mv_status mv_overlay_write_png(const char *path, const uint8_t *rgb, const uint8_t *labels,
                               int width, int height);

typedef struct mv_video_writer mv_video_writer;
typedef struct mv_video_writer_options {
  const char *codec;
  int quality;
  int gop;
  int max_b_frames;
} mv_video_writer_options;

mv_status mv_video_writer_open(const char *path, int width, int height, double fps,
                               const mv_video_writer_options *options,
                               mv_video_writer **out);

mv_status mv_video_writer_add(mv_video_writer *writer, const uint8_t *rgb);

mv_status mv_video_writer_finish(mv_video_writer *writer);

void mv_video_writer_close(mv_video_writer *writer);

const char *mv_video_writer_codec(const mv_video_writer *writer);

typedef enum mv_network_kind {
  MV_NETWORK_PROPAGATION = 0,
  MV_NETWORK_FUSION = 1,
  MV_NETWORK_S2M = 2
} mv_network_kind;

typedef struct mv_network mv_network;

mv_status mv_network_open(mv_network_kind kind, const char *path, mv_network **out);

mv_status mv_network_from_checkpoint(mv_network_kind kind, const mv_checkpoint *checkpoint,
                                     mv_network **out);
void mv_network_close(mv_network *network);

typedef struct mv_frame_features mv_frame_features;
mv_status mv_network_encode_query(mv_network *propagation, const uint8_t *rgb, int width,
                                  int height, mv_frame_features **out);
void mv_frame_features_free(mv_frame_features *features);

typedef struct mv_memory_bank mv_memory_bank;
mv_status mv_memory_bank_new(int objects, int capacity, int width, int height,
                             mv_memory_bank **out);
void mv_memory_bank_free(mv_memory_bank *bank);

mv_status mv_network_memorize(mv_network *propagation, const uint8_t *rgb, int width, int height,
                              const float *masks, mv_memory_bank *bank, int slot);

mv_status mv_network_segment(mv_network *propagation, const mv_frame_features *query,
                             const mv_memory_bank *bank, int frames, float *probabilities);

mv_status mv_network_s2m(mv_network *s2m, const uint8_t *rgb, int width, int height,
                         const float *previous, const uint8_t *positive, const uint8_t *negative,
                         float *out);

mv_status mv_network_fuse(mv_network *fusion, const uint8_t *rgb, int width, int height,
                          const mv_frame_features *query, const mv_memory_bank *interacted,
                          int slot, const float *previous, const float *current,
                          const float *pos_diff, const float *neg_diff, int tc, int tr, int ti,
                          float *out);

typedef struct mv_session mv_session;

typedef struct mv_session_options {
  int objects;
  const char *interaction;
  const char *propagation;
  const char *fusion;
  const char *weights;
  int memory_every;
  size_t device_memory_limit;
  size_t host_memory_limit;
} mv_session_options;

void mv_session_options_default(mv_session_options *options);

mv_status mv_session_open(mv_video *video, const mv_session_options *options,
                          mv_session **out);
void mv_session_close(mv_session *session);

typedef struct mv_session_info {
  int frame_count, width, height;
  int objects;
  int interacted_frames;
  char interaction[32], propagation[32], fusion[32];
} mv_session_info;
mv_status mv_session_get_info(const mv_session *session, mv_session_info *info);

mv_status mv_session_set_interaction(mv_session *session, const char *name);

typedef struct mv_region {
  int x0, y0, x1, y1;
  int margin;
} mv_region;

typedef struct mv_stroke {
  const float *xy;
  int count;
  float thickness;
  int positive;
} mv_stroke;

mv_status mv_session_scribble(mv_session *session, int frame, int object,
                              const mv_stroke *strokes, int count, const mv_region *region);

mv_status mv_session_click(mv_session *session, int frame, int object, float x, float y,
                           int positive, const mv_region *region);

mv_status mv_session_draw(mv_session *session, int frame, int object, const float *xy,
                          int count, float brush_radius, int erase);

mv_status mv_session_interact_maps(mv_session *session, int frame, int object,
                                   const uint8_t *positive, const uint8_t *negative,
                                   const mv_region *region);
mv_status mv_session_end_strokes(mv_session *session);

mv_status mv_session_set_labels(mv_session *session, int frame, const uint8_t *labels);

mv_status mv_session_box(mv_session *session, int frame, int object, int x0, int y0, int x1,
                         int y1);
mv_status mv_session_set_object_mask(mv_session *session, int frame, int object,
                                     const uint8_t *mask);

typedef int (*mv_progress_fn)(void *user, int done, int total);

typedef int (*mv_frame_progress_fn)(void *user, int frame, int done, int total);

mv_status mv_session_propagate(mv_session *session, int frame, mv_progress_fn progress,
                               void *user);

enum { MV_FORWARD = 1, MV_BACKWARD = 2, MV_BOTH = 3 };
typedef struct mv_propagation_request {
  int frame;
  int direction;
  int to;
  int count;
} mv_propagation_request;
typedef struct mv_propagation_run mv_propagation_run;
mv_status mv_session_propagation_begin(mv_session *session, const mv_propagation_request *request,
                                       mv_propagation_run **out);
mv_status mv_session_propagation_step(mv_propagation_run *run, int *frame, int *done);
mv_status mv_session_propagation_progress(const mv_propagation_run *run, int *done, int *total);
mv_status mv_session_propagation_end(mv_propagation_run *run);
mv_status mv_session_propagate_request(mv_session *session, const mv_propagation_request *request,
                                       mv_frame_progress_fn progress, void *user);

mv_status mv_session_forget_memory(mv_session *session, int frame);
mv_status mv_session_clear_memory(mv_session *session, int keep_interacted);
mv_status mv_session_memory_frames(const mv_session *session, int *frames, int *interacted,
                                   int capacity, int *count);

mv_status mv_session_labels(mv_session *session, int frame, uint8_t *labels);
mv_status mv_session_labels_resized(mv_session *session, int frame, int width, int height,
                                    uint8_t *labels);
mv_status mv_session_probabilities_resized(mv_session *session, int frame, int object, int width,
                                           int height, float *out);

mv_status mv_session_probabilities(mv_session *session, int frame, int object, float *out);

mv_status mv_session_undo(mv_session *session, int frame);

mv_status mv_session_reset_frame(mv_session *session, int frame);

mv_status mv_session_reset_object(mv_session *session, int object);

mv_status mv_session_add_object(mv_session *session, int *object);

mv_status mv_session_delete_object(mv_session *session, int object);
mv_status mv_session_object_ids(const mv_session *session, int *ids, int capacity, int *count);

typedef mv_status (*mv_backend_fn)(void *user, const uint8_t *rgb, int width, int height,
                                   const float *previous, const uint8_t *positive,
                                   const uint8_t *negative, float *out);
mv_status mv_backend_register(const char *name, mv_backend_fn fn, void *user);
mv_status mv_backend_unregister(const char *name);

void mv_backend_set_error(const char *message);

typedef enum mv_module_kind {
  MV_MODULE_INTERACTION = 0, MV_MODULE_PROPAGATION = 1, MV_MODULE_FUSION = 2
} mv_module_kind;
const char *mv_builtin_module(mv_module_kind kind, int index, int *needs_weights);

/* workspaces */
typedef struct mv_workspace_report {
  int created;
  int entries;
  int replayed;
  int from_snapshot;
  int interrupted_frame;
  int dropped_bytes;
  char message[512];
} mv_workspace_report;

mv_status mv_session_attach(mv_session *session, const char *dir, mv_workspace_report *report);

mv_status mv_session_detach(mv_session *session);

mv_status mv_session_snapshot(mv_session *session);

mv_status mv_session_save_snapshot(mv_session *session, const char *path);

mv_status mv_session_load_snapshot(mv_session *session, const char *path);

typedef struct mv_workspace_manifest {
  char video[1024];
  int frame_count, width, height;
  int source_width, source_height;
  uint32_t frames_hash;
  int objects;
  int memory_every;
  char interaction[32], propagation[32], fusion[32];
  char weights[1024];
} mv_workspace_manifest;

mv_status mv_workspace_read_manifest(const char *dir, mv_workspace_manifest *out);

enum {
  MV_EVAL_MAX_OBJECTS = 254
};

int mv_boundary_tolerance(int width, int height);

mv_status mv_jaccard(const uint8_t *pred, const uint8_t *gt, int width, int height, double *j);

mv_status mv_boundary_f(const uint8_t *pred, const uint8_t *gt, int width, int height,
                        double *f);

mv_status mv_evaluate_frame(const uint8_t *pred_labels, const uint8_t *gt_labels, int width,
                            int height, int objects, double *j, double *f);

mv_status mv_evaluate_sequence(const uint8_t *pred_labels, const uint8_t *gt_labels,
                               int frame_count, int width, int height, int objects, double *j,
                               double *f);

typedef enum mv_eval_frames {
  MV_EVAL_ALL_FRAMES = 0,
  MV_EVAL_SEMI_SUPERVISED = 1
} mv_eval_frames;

typedef struct mv_eval_statistics {
  double mean;
  double recall;
  double decay;
} mv_eval_statistics;

mv_status mv_eval_statistics_compute(const double *values, int count, mv_eval_statistics *out);

typedef struct mv_object_score {
  mv_eval_statistics j, f;
  double jf;
} mv_object_score;

mv_status mv_evaluate_objects(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_frames frames, mv_object_score *out);

mv_status mv_evaluate_dataset(const mv_object_score *scores, int count, double *j, double *f,
                              double *jf);

typedef enum mv_eval_metric {
  MV_EVAL_METRIC_JF = 0,
  MV_EVAL_METRIC_J = 1,
  MV_EVAL_METRIC_F = 2
} mv_eval_metric;

mv_status mv_robot_next_frame(const double *j, const double *f, int frame_count, int objects,
                              mv_eval_metric metric, const int *candidates, int candidate_count,
                              uint8_t *used, int *frame);

typedef struct mv_robot_options {
  double kernel_size;
  double max_kernel_radius;
  int min_nb_nodes;
  int nb_points;
} mv_robot_options;

void mv_robot_options_default(mv_robot_options *options);

typedef struct mv_robot_stroke {
  int object_id;
  int point_count;
  double *points;
} mv_robot_stroke;

typedef struct mv_robot_scribble {
  int frame;
  int frame_count;
  int width, height;
  int stroke_count;
  mv_robot_stroke *strokes;
} mv_robot_scribble;

mv_status mv_robot_interact(const uint8_t *gt_labels, const uint8_t *pred_labels,
                            int frame_count, int width, int height, int objects, int frame,
                            const mv_robot_options *options, mv_robot_scribble **out);
void mv_robot_scribble_free(mv_robot_scribble *scribble);

mv_status mv_robot_scribble_json(const mv_robot_scribble *scribble, const char *sequence,
                                 char *buffer, size_t capacity, size_t *length);

mv_status mv_robot_write_json(const mv_robot_scribble *scribble, const char *sequence,
                              const char *path);

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
  double number;
  char *string;
  char *key;
  struct mv_json *items;
  size_t count;
  size_t length;
} mv_json;

mv_status mv_json_parse(const char *text, size_t size, const char *origin, mv_json **out);
mv_status mv_json_parse_file(const char *path, mv_json **out);
void mv_json_free(mv_json *value);

const mv_json *mv_json_get(const mv_json *object, const char *key);
const mv_json *mv_json_path(const mv_json *root, const char *path);

]==]
