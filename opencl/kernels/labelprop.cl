/* Weight-free modules (core/labelprop.c, core/linear_fusion.c): per-cell
 * Lab + position keys, the locality window over an affinity block, and the
 * linear blend of two rounds' probabilities. */

/* The blend is specified as two rounded products and a rounded sum. */
#pragma OPENCL FP_CONTRACT OFF

/* sRGB in [0, 1] -> CIE Lab (D65 white). */
inline float lp_linear(float c) {
  return c <= 0.04045f ? c / 12.92f : pow((c + 0.055f) / 1.055f, 2.4f);
}

inline float lp_f(float t) {
  const float d = 6.0f / 29.0f;
  return t > d * d * d ? cbrt(t) : t / (3.0f * d * d) + 4.0f / 29.0f;
}

inline float3 lp_lab(float r, float g, float b) {
  r = lp_linear(r);
  g = lp_linear(g);
  b = lp_linear(b);
  float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
  float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
  float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
  float fx = lp_f(x), fy = lp_f(y), fz = lp_f(z);
  return (float3)(116.0f * fy - 16.0f, 500.0f * (fx - fy), 200.0f * (fy - fz));
}

/* image: 3 x H x W, ImageNet-normalised (padding is 0 there, i.e. the mean
 * colour). One work-item per cell (cx, cy) of the h x w grid (stride s).
 * Features f = (cw * mean Lab, pw * (cy - (h-1)/2), pw * (cx - (w-1)/2)).
 * memory_form = 0: out = scale * (f, 1) (one copy);
 * memory_form = 1: out = (f, -|f|^2 / 2), written `copies` times
 * (copy i at channel block i: out[(i * 6 + c) * plane + cell]). */
__kernel void labelprop_keys(__global const float *image, ulong image_off, int height, int width,
                             int stride, float colour_weight, float position_weight,
                             int memory_form, float scale, int copies, __global float *out,
                             ulong out_off) {
  const int cx = get_global_id(0), cy = get_global_id(1);
  const int w = width / stride, h = height / stride;
  if (cx >= w || cy >= h) return;
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const float stdev[3] = {0.229f, 0.224f, 0.225f};
  const size_t plane = (size_t)height * width;
  __global const float *im = image + image_off;
  float3 sum = (float3)(0.0f);
  for (int dy = 0; dy < stride; dy++) {
    for (int dx = 0; dx < stride; dx++) {
      size_t p = (size_t)(cy * stride + dy) * width + (size_t)(cx * stride + dx);
      float rgb[3];
      for (int c = 0; c < 3; c++)
        rgb[c] = clamp(im[(size_t)c * plane + p] * stdev[c] + mean[c], 0.0f, 1.0f);
      sum += lp_lab(rgb[0], rgb[1], rgb[2]);
    }
  }
  const float3 lab = sum / (float)(stride * stride);
  float f[6];
  f[0] = colour_weight * lab.x;
  f[1] = colour_weight * lab.y;
  f[2] = colour_weight * lab.z;
  f[3] = position_weight * ((float)cy - 0.5f * (float)(h - 1));
  f[4] = position_weight * ((float)cx - 0.5f * (float)(w - 1));
  const size_t cells = (size_t)h * w, cell = (size_t)cy * w + cx;
  __global float *o = out + out_off;
  if (!memory_form) {
    f[5] = 1.0f;
    for (int c = 0; c < 6; c++) o[(size_t)c * cells + cell] = scale * f[c];
    return;
  }
  float norm = 0.0f;
  for (int c = 0; c < 5; c++) norm += f[c] * f[c];
  f[5] = -0.5f * norm;
  for (int i = 0; i < copies; i++)
    for (int c = 0; c < 6; c++) o[((size_t)i * 6 + c) * cells + cell] = f[c];
}

/* A query-major affinity block over the whole memory: row r is query
 * n0 + r (ld = row stride), columns are frames x cells_h x cells_w memory
 * cells. Work-item (frame * cells_h + y, r) masks the cells of memory row y
 * farther than `radius` from the query's cell along either axis with
 * -1e30 (exp underflows to exactly 0 in the top-k softmax). */
__kernel void labelprop_window(__global float *affinity, ulong affinity_off, uint ld, uint frames,
                               uint rows, uint n0, int cells_w, int cells_h, int radius) {
  const uint id = get_global_id(0), r = get_global_id(1);
  if (id >= frames * (uint)cells_h || r >= rows) return;
  const int t = (int)(id / (uint)cells_h), y = (int)(id % (uint)cells_h);
  const int query = (int)(n0 + r), qy = query / cells_w, qx = query % cells_w;
  __global float *row = affinity + affinity_off + (ulong)r * ld +
                        ((ulong)t * cells_h + (ulong)y) * (ulong)cells_w;
  if (abs(y - qy) > radius) {
    for (int x = 0; x < cells_w; x++) row[x] = -1e30f;
    return;
  }
  for (int x = 0; x < qx - radius && x < cells_w; x++) row[x] = -1e30f;
  for (int x = max(qx + radius + 1, 0); x < cells_w; x++) row[x] = -1e30f;
}

/* ---- the tiled read (core/labelprop.c): tiles of a x a query cells, each
 * with the b x b region (b = a + 2r) of memory cells around it. Tile
 * (tx, ty) covers cells y = ty*a + qy, x = tx*a + qx; region cell (ry, rx)
 * of it is memory cell (ty*a - r + ry, tx*a - r + rx). Compact positions of
 * a tile are frame-major then ry then rx (the memory's own order). */

/* keys: object 0's k x 6 x capacity x (h*w) memory keys; values: rows
 * (objects * Cv) x capacity x (h*w). Out: keys_out tiles x 6 x mt and
 * values_out rows x (tiles * mt), mt = frames * b * b; zero outside the
 * frame. Work-item (region cell, frame, tile). */
__kernel void labelprop_tile_memory(__global const float *keys, ulong keys_off,
                                    __global const float *values, ulong values_off, int capacity,
                                    int frames, int h, int w, int tiles_x, int a, int r, int rows,
                                    int tiles, __global float *keys_out,
                                    __global float *values_out) {
  const int b = a + 2 * r;
  const int p = get_global_id(0), t = get_global_id(1), tile = get_global_id(2);
  if (p >= b * b || t >= frames || tile >= tiles) return;
  const int y = (tile / tiles_x) * a - r + p / b, x = (tile % tiles_x) * a - r + p % b;
  const int inside = y >= 0 && y < h && x >= 0 && x < w;
  const ulong plane = (ulong)h * w, cell = (ulong)y * w + x;
  const ulong mt = (ulong)frames * b * b, col = (ulong)t * b * b + p;
  for (int c = 0; c < 6; c++)
    keys_out[((ulong)tile * 6 + c) * mt + col] =
        inside ? keys[keys_off + ((ulong)c * capacity + t) * plane + cell] : 0.0f;
  for (int v = 0; v < rows; v++)
    values_out[(ulong)v * tiles * mt + (ulong)tile * mt + col] =
        inside ? values[values_off + ((ulong)v * capacity + t) * plane + cell] : 0.0f;
}

/* query: 6 x h x w; out: tiles x 6 x (a*a), zero outside the frame. */
__kernel void labelprop_tile_query(__global const float *query, ulong query_off, int h, int w,
                                   int tiles_x, int a, __global float *out) {
  const int q = get_global_id(0), tile = get_global_id(1);
  if (q >= a * a) return;
  const int y = (tile / tiles_x) * a + q / a, x = (tile % tiles_x) * a + q % a;
  const int inside = y < h && x < w;
  const ulong plane = (ulong)h * w, nt = (ulong)a * a;
  for (int c = 0; c < 6; c++)
    out[((ulong)tile * 6 + c) * nt + q] =
        inside ? query[query_off + (ulong)c * plane + (ulong)y * w + x] : 0.0f;
}

/* A block of the stacked affinity (rows = tile * a*a + query, ld = mt):
 * work-item (frame * b + ry, row) masks, in region row ry of that frame,
 * the cells outside the query's window or outside the frame. */
__kernel void labelprop_tile_window(__global float *affinity, uint ld, uint row0, uint rows,
                                    int a, int r, int h, int w, int tiles_x) {
  const int b = a + 2 * r;
  const uint id = get_global_id(0), rr = get_global_id(1);
  if (id >= ld / (uint)b || rr >= rows) return; /* ld = frames * b * b */
  const int t = (int)(id / (uint)b), ry = (int)(id % (uint)b);
  const uint row = row0 + rr, nt = (uint)(a * a);
  const int tile = (int)(row / nt), q = (int)(row % nt);
  const int qy = q / a, qx = q % a;
  const int y = (tile / tiles_x) * a - r + ry, x0 = (tile % tiles_x) * a - r;
  __global float *out = affinity + (ulong)rr * ld + ((ulong)t * b + ry) * (ulong)b;
  const int row_out = abs(ry - r - qy) > r || y < 0 || y >= h;
  for (int rx = 0; rx < b; rx++) {
    const int x = x0 + rx;
    if (row_out || abs(rx - r - qx) > r || x < 0 || x >= w) out[rx] = -1e30f;
  }
}

/* Tile-local kept indices -> columns of the values_out matrix: + tile * mt. */
__kernel void labelprop_tile_offsets(__global int *indices, uint n, uint k, uint nt, uint mt) {
  const uint q = get_global_id(0), j = get_global_id(1);
  if (q >= n || j >= k) return;
  indices[(ulong)j * n + q] += (int)((q / nt) * mt);
}

/* compact: rows x n readout (n = tiles * a*a) -> out: rows x h x w. */
__kernel void labelprop_tile_scatter(__global const float *compact, uint n, int h, int w,
                                     int tiles_x, int a, __global float *out, ulong out_off) {
  const int x = get_global_id(0), y = get_global_id(1), v = get_global_id(2);
  if (x >= w || y >= h) return;
  const int tile = (y / a) * tiles_x + x / a, q = (y % a) * a + x % a;
  out[out_off + ((ulong)v * h + y) * w + x] = compact[(ulong)v * n + (ulong)tile * a * a + q];
}

/* out = nc * current + nr * previous, element-wise over `count` floats. */
__kernel void linear_blend(__global const float *current, ulong current_off,
                           __global const float *previous, ulong previous_off, float nc, float nr,
                           long count, __global float *out, ulong out_off) {
  const long i = get_global_id(0);
  if (i >= count) return;
  const float a = nc * current[current_off + i];
  const float b = nr * previous[previous_off + i];
  out[out_off + i] = a + b;
}
