/* DAVIS contour accuracy F (spec/EVALUATION.md section 2): boundary maps
 * shifted half a pixel towards the origin, one-sided matching within a disk
 * of `tol` pixels, precision/recall conventions for empty boundaries. */
#include <stdlib.h>

#include "error.h"
#include "eval/eval_internal.h"

void mv_boundary_map(const uint8_t *mask, int width, int height, uint8_t *out, size_t *count) {
  size_t n = 0;
  for (int y = 0; y < height; y++) {
    const uint8_t *row = mask + (size_t)y * width;
    const uint8_t *below = y + 1 < height ? row + width : NULL;
    uint8_t *o = out + (size_t)y * width;
    for (int x = 0; x < width; x++) {
      int s = row[x] != 0, b;
      if (below && x + 1 < width) {
        b = (s != (row[x + 1] != 0)) | (s != (below[x] != 0)) | (s != (below[x + 1] != 0));
      } else if (x + 1 < width) {         /* last row: right neighbour only */
        b = s != (row[x + 1] != 0);
      } else if (below) {                 /* last column: lower neighbour only */
        b = s != (below[x] != 0);
      } else {                            /* bottom-right corner */
        b = 0;
      }
      o[x] = (uint8_t)b;
      n += (size_t)b;
    }
  }
  if (count) *count = n;
}

mv_status mv_boundary_f_tol(const uint8_t *pred, const uint8_t *gt, int width, int height,
                            int tol, double *f) {
  MV_CHECK_ARG(pred && gt && f, "mv_boundary_f_tol: %s is NULL",
               !pred ? "pred" : !gt ? "gt" : "f");
  MV_CHECK_ARG(width > 0 && height > 0, "mv_boundary_f_tol: size %d x %d is not positive",
               width, height);
  MV_CHECK_ARG(tol >= 0, "mv_boundary_f_tol: tolerance %d is negative", tol);
  size_t count = (size_t)width * height;
  uint8_t *bp = malloc(count), *bg = malloc(count);
  if (!bp || !bg) {
    free(bp), free(bg);
    return mv_fail(MV_E_MEMORY, "mv_boundary_f_tol: out of memory for %d x %d", width, height);
  }
  size_t np, ng;
  mv_boundary_map(pred, width, height, bp, &np);
  mv_boundary_map(gt, width, height, bg, &ng);
  double precision, recall;
  mv_status s = MV_OK;
  if (np == 0 && ng > 0) {
    precision = 1, recall = 0;
  } else if (np > 0 && ng == 0) {
    precision = 0, recall = 1;
  } else if (np == 0 && ng == 0) {
    precision = 1, recall = 1;
  } else {
    mv_disk disk;
    size_t fg_match = 0, gt_match = 0;
    s = mv_disk_make((double)tol, &disk);
    if (s == MV_OK) s = mv_disk_hits(bp, bg, width, height, &disk, &fg_match);
    if (s == MV_OK) s = mv_disk_hits(bg, bp, width, height, &disk, &gt_match);
    mv_disk_release(&disk);
    precision = (double)fg_match / (double)np;
    recall = (double)gt_match / (double)ng;
  }
  free(bp);
  free(bg);
  MV_TRY(s);
  *f = precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
  return MV_OK;
}
