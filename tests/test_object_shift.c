/* The object's own translation as a flow candidate
 * (core/propagation/object_shift.h): a textured disk that moves far
 * (41, -17) cells over a background that moves (1, 0) is found exactly,
 * the merged flow takes the disk's motion on the disk (where DIS alone
 * loses it) and keeps DIS's elsewhere, an object that moves with the
 * background keeps DIS's flow, an empty mask finds nothing, a texture in
 * the second channel only is found, bad arguments fail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "propagation/object_shift.h"
#include "propagation/optical_flow.h"
#include "testutil.h"

enum { W = 160, H = 120, RADIUS = 12 };

static float background(double x, double y) {
  return (float)(40.0 + 12.0 * sin(0.11 * x + 0.05 * y) + 7.0 * sin(-0.07 * x + 0.23 * y + 1.0) +
                 4.0 * sin(0.31 * x - 0.19 * y + 2.0));
}

/* brighter, finer, so that matching it cannot take the background's motion */
static float object(double x, double y) {
  return (float)(70.0 + 10.0 * sin(0.45 * x + 0.2 * y) + 8.0 * sin(-0.3 * x + 0.55 * y + 0.5));
}

static int on_disk(int x, int y, double cx, double cy, double r) {
  return (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
}

/* A frame with the background moved by (bx, by) and the disk (its texture
 * moving with it) centred at (cx, cy); mask = the disk, when given. */
static void draw(float *img, float *mask, double bx, double by, double cx, double cy) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int in = on_disk(x, y, cx, cy, RADIUS);
      img[y * W + x] = in ? object(x - cx, y - cy) : background(x - bx, y - by);
      if (mask) mask[y * W + x] = in ? 1.0f : 0.0f;
    }
}

static void far_object(void) {
  const double qx = 50, qy = 64; /* the disk in the query */
  const int dx = 41, dy = -17;   /* where it is in the memory frame, relative */
  float *query = malloc(W * H * sizeof(float)), *frame = malloc(W * H * sizeof(float));
  float *mask = malloc(W * H * sizeof(float)), *flow = malloc(2 * W * H * sizeof(float));
  float *dis = malloc(2 * W * H * sizeof(float));
  CHECK(query && frame && mask && flow && dis, "memory");
  draw(query, NULL, 0, 0, qx, qy);
  draw(frame, mask, 1, 0, qx + dx, qy + dy);
  int fx = 0, fy = 0, found = 0;
  CHECK_OK(mv_object_shift(query, frame, 1, mask, W, H, 48, &fx, &fy, &found));
  CHECK(found, "an object was found");
  CHECK(fx == dx, "fx = %d, expected %d", fx, dx);
  CHECK(fy == dy, "fy = %d, expected %d", fy, dy);

  CHECK_OK(mv_optical_flow(query, frame, W, H, NULL, dis));
  memcpy(flow, dis, 2 * W * H * sizeof(float));
  CHECK_OK(mv_flow_merge_shift(query, frame, 1, mask, W, H, fx, fy, 2, flow));
  int disk = 0, moved = 0, outside = 0, kept = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      size_t i = (size_t)y * W + x;
      if (on_disk(x, y, qx, qy, RADIUS - 3)) {
        disk++;
        moved += hypot(flow[i] - dx, flow[W * H + i] - dy) < 0.5;
      } else if (!on_disk(x, y, qx, qy, RADIUS + 4)) {
        outside++;
        kept += flow[i] == dis[i] && flow[W * H + i] == dis[W * H + i];
      }
    }
  /* the disk's interior takes the object's motion, the rest keeps DIS's */
  CHECK(moved >= disk * 95 / 100, "%d of %d disk cells took the object's motion", moved, disk);
  int dis_moved = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      size_t i = (size_t)y * W + x;
      dis_moved +=
          on_disk(x, y, qx, qy, RADIUS - 3) && hypot(dis[i] - dx, dis[W * H + i] - dy) < 0.5;
    }
  CHECK(dis_moved < disk / 2, "DIS alone: %d of %d disk cells (the case needs the candidate)",
        dis_moved, disk);
  CHECK(kept == outside, "kept = %d, expected %d", kept, outside);
  free(query), free(frame), free(mask), free(flow), free(dis);
}

static void object_with_the_background(void) {
  /* the disk moves as the background does: DIS agrees, nothing changes */
  float *query = malloc(W * H * sizeof(float)), *frame = malloc(W * H * sizeof(float));
  float *mask = malloc(W * H * sizeof(float)), *flow = malloc(2 * W * H * sizeof(float));
  float *dis = malloc(2 * W * H * sizeof(float));
  CHECK(query && frame && mask && flow && dis, "memory");
  draw(query, NULL, 0, 0, 80, 60);
  draw(frame, mask, 1, 0, 81, 60);
  int fx = 0, fy = 0, found = 0;
  CHECK_OK(mv_object_shift(query, frame, 1, mask, W, H, 48, &fx, &fy, &found));
  CHECK(found, "an object was found");
  CHECK(fx == 1, "fx = %d, expected %d", fx, 1);
  CHECK(fy == 0, "fy = %d, expected %d", fy, 0);
  CHECK_OK(mv_optical_flow(query, frame, W, H, NULL, dis));
  memcpy(flow, dis, 2 * W * H * sizeof(float));
  CHECK_OK(mv_flow_merge_shift(query, frame, 1, mask, W, H, fx, fy, 2, flow));
  CHECK(memcmp(flow, dis, 2 * W * H * sizeof(float)) == 0, "DIS agrees: the flow is unchanged");

  /* no object: nothing found */
  memset(mask, 0, W * H * sizeof(float));
  CHECK_OK(mv_object_shift(query, frame, 1, mask, W, H, 48, &fx, &fy, &found));
  CHECK(!found, "no object found");
  free(query), free(frame), free(mask), free(flow), free(dis);
}

static void colour_only(void) {
  /* a flat first channel (lightness) and the texture in the second (colour):
   * the search reads every channel */
  float *query = malloc(2 * W * H * sizeof(float)), *frame = malloc(2 * W * H * sizeof(float));
  float *mask = malloc(W * H * sizeof(float));
  CHECK(query && frame && mask, "memory");
  draw(query + W * H, NULL, 0, 0, 50, 64);
  draw(frame + W * H, mask, 1, 0, 50 + 41, 64 - 17);
  for (int i = 0; i < W * H; i++) query[i] = frame[i] = 50.0f;
  int fx = 0, fy = 0, found = 0;
  CHECK_OK(mv_object_shift(query, frame, 2, mask, W, H, 48, &fx, &fy, &found));
  CHECK(found && fx == 41 && fy == -17, "two channels: (%d, %d), expected (41, -17)", fx, fy);
  free(query), free(frame), free(mask);
}

static void bad_arguments(void) {
  float plane[4] = {0}, flow[8] = {0};
  int dx, dy, found;
  CHECK_FAILS(mv_object_shift(NULL, plane, 1, plane, 2, 2, 4, &dx, &dy, &found), MV_E_ARGUMENT);
  CHECK_FAILS(mv_object_shift(plane, plane, 1, plane, 2, 2, -1, &dx, &dy, &found), MV_E_ARGUMENT);
  CHECK_FAILS(mv_object_shift(plane, plane, 1, plane, 0, 2, 4, &dx, &dy, &found), MV_E_ARGUMENT);
  CHECK_FAILS(mv_object_shift(plane, plane, 0, plane, 2, 2, 4, &dx, &dy, &found), MV_E_ARGUMENT);
  CHECK_FAILS(mv_flow_merge_shift(plane, plane, 0, plane, 2, 2, 0, 0, 1, flow), MV_E_ARGUMENT);
  CHECK_FAILS(mv_flow_merge_shift(plane, plane, 1, plane, 2, 2, 0, 0, -1, flow), MV_E_ARGUMENT);
  CHECK_FAILS(mv_flow_merge_shift(plane, plane, 1, NULL, 2, 2, 0, 0, 1, flow), MV_E_ARGUMENT);
  /* tiny planes: nothing to search, no failure */
  CHECK_OK(mv_object_shift(plane, plane, 1, plane, 2, 2, 4, &dx, &dy, &found));
  CHECK(!found, "no object found");
}

int main(void) {
  far_object();
  object_with_the_background();
  colour_only();
  bad_arguments();
  return mv_test_finish();
}
