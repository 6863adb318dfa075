/* The `bench` command: one section per module, each printing a table.
 * Timings are wall-clock medians over repeats after a warm-up. */
#ifndef MV_BENCH_H
#define MV_BENCH_H

/* Seconds from a monotonic clock. */
double bench_now(void);

/* Each section returns 0 on success; it prints its own table to stdout. */
int bench_ops(int argc, char **argv);
int bench_io(int argc, char **argv);
int bench_networks(int argc, char **argv);
int bench_memory(int argc, char **argv);
int bench_interaction(int argc, char **argv);
int bench_labelprop(int argc, char **argv);

#endif
