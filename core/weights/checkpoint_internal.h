/* Internal state of mv_checkpoint, shared by checkpoint.c (the checkpoint
 * object: key lookup, copying tensors out, checkpoints over arrays) and
 * checkpoint_pth.c (reading .pth files: the zip and legacy formats and the
 * pickled state_dict into the tensor and storage tables below). */
#ifndef MV_CHECKPOINT_INTERNAL_H
#define MV_CHECKPOINT_INTERNAL_H

#include <stdint.h>

#include "weights/checkpoint.h"
#include "weights/zip_reader.h"

typedef struct ck_storage {
  char *key;
  mv_dtype dtype;
  int64_t numel;        /* elements according to the pickle */
  int zip_index;        /* zip entry holding the bytes, or -1 */
  const uint8_t *bytes; /* otherwise: legacy mapping or an owned array's data */
  uint64_t nbytes;      /* bytes actually present */
  int first_tensor;     /* a tensor using it, for messages */
} ck_storage;

typedef struct ck_tensor {
  char *key;
  mv_dtype dtype;
  int ndim;
  int64_t shape[MV_MAX_DIMS];
  int64_t stride[MV_MAX_DIMS];
  int64_t offset; /* elements from the start of the storage */
  int storage;
} ck_tensor;

typedef struct key_index {
  const char *key;
  int index;
} key_index;

struct mv_checkpoint {
  char *name;
  int count;
  ck_tensor *tensors;
  int nstorages;
  ck_storage *storages;
  key_index *sorted; /* tensors by key, for lookups */
  mv_mapped_file file;
  mv_zip *zip;
  mv_array **arrays; /* mv_checkpoint_from_arrays: one per storage */
};

/* An empty checkpoint named `name` (copied); NULL when out of memory. */
mv_checkpoint *mv_checkpoint_new(const char *name);

/* Builds the sorted key index over c->tensors; a key that appears twice
 * fails with dup_status. */
mv_status mv_checkpoint_build_index(mv_checkpoint *c, mv_status dup_status);

#endif
