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
 * This header is parsed by the LuaJIT layer (lua/mivos.lua binds exactly
 * these declarations): keep it to plain declarations, enums for constants,
 * no function-like macros outside the include guard lines.
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
/* Synthesizes a checkpoint from a manifest (spec/checkpoints/*.tsv) with the
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

/* ---- masks and exports (core/mask_io.c, core/overlay.c) ------------------- */

#ifdef __cplusplus
}
#endif

#endif
