/* The OpenCL C programs embedded at build time (opencl/kernels/NAME.cl). */
#ifndef MV_KERNEL_SOURCES_H
#define MV_KERNEL_SOURCES_H

typedef struct mv_kernel_source {
  const char *name;   /* file base name, e.g. "elementwise" */
  const char *source;
} mv_kernel_source;

/* Terminated by an entry whose name is NULL. */
extern const mv_kernel_source mv_kernel_sources[];

#endif
