/* The D16-robot first interaction (spec/EVALUATION.md section 8) on the
 * shared DAVIS 2016 sequences: the robot against an all-background
 * prediction on frame 0 gives object-only strokes of 1000 points, one per
 * sequence except blackswan and libby (two), and each stroke starts and ends
 * on skeleton pixels of the object. Takes the davis2016 folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static const struct {
  const char *name;
  int strokes;
} SEQUENCES[] = {
    {"blackswan", 2}, {"breakdance", 1}, {"car-roundabout", 1}, {"cows", 1},
    {"dog", 1},       {"drift-straight", 1}, {"horsejump-high", 1}, {"libby", 2},
    {"paragliding-launch", 1}, {"scooter-black", 1},
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A normalised point back to its pixel (exact inverse of x = column / W). */
static int on_object(const uint8_t *gt, int w, int h, const double *p) {
  long x = lround(p[0] * w), y = lround(p[1] * h);
  return x >= 0 && x < w && y >= 0 && y < h && gt[y * w + x] == 1;
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : mv_shared_path("data/davis2016");
  double total = 0;
  for (size_t s = 0; s < sizeof SEQUENCES / sizeof SEQUENCES[0]; s++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/Annotations/480p/%s/00000.png", root, SEQUENCES[s].name);
    int w = 0, h = 0;
    if (!CHECK_OK(mv_mask_size(path, &w, &h))) continue;
    uint8_t *gt = malloc((size_t)w * h), *pred = calloc((size_t)w * h, 1);
    mv_robot_scribble *sc = NULL;
    CHECK_OK(mv_mask_read_labels(path, w, h, gt));
    double t0 = now();
    CHECK_OK(mv_robot_interact(gt, pred, 1, w, h, 1, 0, NULL, &sc));
    double dt = now() - t0;
    total += dt;
    if (sc) {
      int ok = sc->stroke_count == SEQUENCES[s].strokes;
      for (int i = 0; i < sc->stroke_count; i++) {
        const mv_robot_stroke *st = &sc->strokes[i];
        ok &= st->object_id == 1 && st->point_count == 1000 && on_object(gt, w, h, st->points) &&
              on_object(gt, w, h, st->points + 2 * (st->point_count - 1));
      }
      CHECK(ok, "%s: %d strokes (want %d), object 1, 1000 points, ends on the object",
            SEQUENCES[s].name, sc->stroke_count, SEQUENCES[s].strokes);
      printf("%-20s %dx%d strokes %d  %.3f s\n", SEQUENCES[s].name, w, h, sc->stroke_count, dt);
    }
    mv_robot_scribble_free(sc);
    free(gt), free(pred);
  }
  printf("robot total %.3f s\n", total);
  return mv_test_finish();
}
