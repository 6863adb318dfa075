#include "opencl/engine_ops.h"

#include "error.h"

static int same_shape(const mv_tensor *a, const mv_tensor *b) {
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

mv_status mv_mask_difference(const mv_tensor *mask, const mv_tensor *previous, mv_tensor *pos,
                             mv_tensor *neg) {
  MV_CHECK_ARG(mask && previous && pos && neg, "mv_mask_difference: NULL argument");
  MV_TRY(mv_tensor_check(mask, "mv_mask_difference", "mask"));
  MV_TRY(mv_tensor_check(previous, "mv_mask_difference", "previous"));
  MV_CHECK_ARG(same_shape(mask, previous),
               "mv_mask_difference: mask is %dx%dx%dx%d but previous is %dx%dx%dx%d", mask->n,
               mask->c, mask->h, mask->w, previous->n, previous->c, previous->h, previous->w);
  MV_TRY(mv_tensor_prepare(pos, mask->n, mask->c, mask->h, mask->w, "mv_mask_difference", "pos",
                           NULL));
  MV_TRY(mv_tensor_prepare(neg, mask->n, mask->c, mask->h, mask->w, "mv_mask_difference", "neg",
                           NULL));
  cl_kernel kernel;
  MV_TRY(mv_kernel_get("network", "mask_difference", &kernel));
  int count = (int)mv_tensor_numel(mask);
  cl_ulong offsets[4] = {mask->offset, previous->offset, pos->offset, neg->offset};
  MV_TRY(mv_kernel_args(kernel, 9, sizeof(cl_mem), &mask->buffer, sizeof(cl_ulong), &offsets[0],
                        sizeof(cl_mem), &previous->buffer, sizeof(cl_ulong), &offsets[1],
                        sizeof(int), &count, sizeof(cl_mem), &pos->buffer, sizeof(cl_ulong),
                        &offsets[2], sizeof(cl_mem), &neg->buffer, sizeof(cl_ulong),
                        &offsets[3]));
  size_t global = (size_t)count;
  return mv_kernel_run(kernel, "mask_difference", 1, &global, NULL);
}

mv_status mv_memory_slot_store(const mv_tensor *src, mv_tensor *bank, int slot) {
  MV_CHECK_ARG(src && bank, "mv_memory_slot_store: NULL argument");
  MV_TRY(mv_tensor_check(src, "mv_memory_slot_store", "src"));
  MV_TRY(mv_tensor_check(bank, "mv_memory_slot_store", "bank"));
  MV_CHECK_ARG(slot >= 0 && slot < bank->h, "mv_memory_slot_store: slot %d outside 0..%d", slot,
               bank->h - 1);
  MV_CHECK_ARG(src->n == bank->n && src->c == bank->c && src->h * src->w == bank->w,
               "mv_memory_slot_store: frame is %dx%dx%dx%d, memory holds %d x %d x (%d positions)",
               src->n, src->c, src->h, src->w, bank->n, bank->c, bank->w);
  int plane = src->h * src->w, rows = src->n * src->c;
  int stride = bank->h * bank->w, column = slot * plane;
  cl_kernel kernel;
  MV_TRY(mv_kernel_get("network", "copy_rows", &kernel));
  cl_ulong src_offset = src->offset, dst_offset = bank->offset;
  MV_TRY(mv_kernel_args(kernel, 8, sizeof(cl_mem), &src->buffer, sizeof(cl_ulong), &src_offset,
                        sizeof(int), &rows, sizeof(int), &plane, sizeof(cl_mem), &bank->buffer,
                        sizeof(cl_ulong), &dst_offset, sizeof(int), &stride, sizeof(int),
                        &column));
  size_t global[2] = {(size_t)plane, (size_t)rows};
  return mv_kernel_run(kernel, "copy_rows", 2, global, NULL);
}
