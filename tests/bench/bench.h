/* The `bench` command: one section per module, each printing a table.
 * Timings are wall-clock medians over repeats after a warm-up. */
#ifndef MV_BENCH_H
#define MV_BENCH_H

#include "mivos.h"

/* Seconds from a monotonic clock. */
double bench_now(void);

/* ---- the network stages of `bench networks` (bench_networks.c), shared with
 * `bench torch`: 854x480 (padded 864x480) on the selected device, one
 * warm-up, then the median of bench_repeats() runs. */
struct mv_tensor;
typedef struct bench_stage {
  double seconds;                       /* median of the runs' totals */
  double encode, read_decode, memorize; /* propagation only: medians of the parts */
} bench_stage;
/* MIVOS_BENCH_REPEATS, else 3 (at most 16 are used). */
int bench_repeats(void);
/* shared/spec/checkpoints/NETWORK.tsv (a rotating buffer of three). */
const char *bench_manifest(const char *network);
/* The 854x480 test frame, preprocessed and padded (1 x 3 x 480 x 864). */
int bench_frame(struct mv_tensor *image);
/* S2M, one object (6-channel input to sigmoid probabilities). */
int bench_time_s2m(const mv_checkpoint *weights, const struct mv_tensor *image, bench_stage *out);
/* One propagation frame for k objects over a 4-frame memory: query encode;
 * top-50 memory read + decoder + soft aggregation; memorize into the last slot. */
int bench_time_propagation(const mv_checkpoint *weights, const struct mv_tensor *image, int k,
                           bench_stage *out);
/* Fusion, one object: attention (memory key to query key) + FusionNet. */
int bench_time_fusion(const mv_checkpoint *weights, const struct mv_tensor *image,
                      bench_stage *out);

/* Each section returns 0 on success; it prints its own table to stdout. */
int bench_ops(int argc, char **argv);
int bench_io(int argc, char **argv);
int bench_networks(int argc, char **argv);
int bench_memory(int argc, char **argv);
int bench_interaction(int argc, char **argv);
int bench_labelprop(int argc, char **argv);
int bench_torch(int argc, char **argv);
int bench_long(int argc, char **argv);

#endif
