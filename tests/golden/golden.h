/* The golden test: every case folder of a fixture set produced by the
 * official PyTorch code (layout: shared/fixtures/golden/README.md) is run and
 * compared. One function per case; each prints one line per compared tensor. */
#ifndef MV_GOLDEN_H
#define MV_GOLDEN_H

#include "mivos.h"
#include "json.h"
#include "opencl/tensor.h"

typedef struct golden_ctx {
  const char *root;            /* the fixture folder (has manifest.json) */
  const char *case_name;       /* e.g. "s2m" */
  char case_dir[1024];
  const char *salt;            /* hashinit salt from manifest.json args.salt */
  const char *checkpoints_dir; /* spec/checkpoints with the manifests (.tsv) */
  const mv_json *meta;         /* manifest.json cases/<case>/_meta (may be NULL) */
} golden_ctx;

/* Reads CASE_DIR/NAME.npy; on failure records a failed check and returns NULL. */
mv_array *golden_load(const golden_ctx *ctx, const char *name);
/* Hashinit weights for a network: "propagation_model", "fusion" or "s2m". */
mv_checkpoint *golden_weights(const golden_ctx *ctx, const char *network);
/* Closes the hashinit checkpoints kept by golden_weights. */
void golden_release_weights(void);
/* Compares float32 data with a float32 reference array (same element count):
 * prints "case/label  rel_l2 = X  (tolerance T)  ok|FAIL" and records a check. */
int golden_compare(const golden_ctx *ctx, const char *label, const float *out,
                   const mv_array *ref, double tolerance);
/* Downloads a device tensor and compares it (element counts must match). */
int golden_compare_tensor(const golden_ctx *ctx, const char *label, const mv_tensor *out,
                          const mv_array *ref, double tolerance);
/* Uploads a float32 array as a tensor of the given NCHW shape. */
int golden_upload(const mv_array *array, int n, int c, int h, int w, mv_tensor *out);

/* Case runners: return 0 when the case ran (its checks are recorded). */
int golden_case_s2m(const golden_ctx *ctx);
int golden_case_prop_encode(const golden_ctx *ctx);
int golden_case_memory_read(const golden_ctx *ctx);
int golden_case_prop_segment(const golden_ctx *ctx);
int golden_case_fusion(const golden_ctx *ctx);
int golden_case_session(const golden_ctx *ctx);

#endif
