/* Weight-free modules (core/labelprop.c, core/linear_fusion.c): per-cell
 * Lab + position keys, the locality window over an affinity block, and the
 * linear blend of two rounds' probabilities. */

/* The blend is specified as two rounded products and a rounded sum. */
#pragma OPENCL FP_CONTRACT OFF

/* The sRGB transfer function at the 256 levels of an 8-bit channel: frames
 * come from 8-bit RGB, so the un-normalised value rounds back to its level. */
__constant float lp_srgb_linear[256] = {
    0.0f, 0.000303526984f, 0.000607053967f, 0.000910580951f, 0.00121410793f, 0.00151763492f, 0.0018211619f, 0.00212468888f,
    0.00242821587f, 0.00273174285f, 0.00303526984f, 0.00334653576f, 0.00367650732f, 0.00402471702f, 0.00439144204f, 0.00477695348f,
    0.0051815167f, 0.00560539162f, 0.00604883302f, 0.00651209079f, 0.00699541019f, 0.00749903204f, 0.00802319299f, 0.00856812562f,
    0.0091340587f, 0.00972121732f, 0.010329823f, 0.010960094f, 0.0116122452f, 0.0122864884f, 0.0129830323f, 0.013702083f,
    0.0144438436f, 0.0152085144f, 0.0159962934f, 0.0168073758f, 0.0176419545f, 0.0185002201f, 0.019382361f, 0.0202885631f,
    0.0212190104f, 0.0221738848f, 0.0231533662f, 0.0241576324f, 0.0251868596f, 0.0262412219f, 0.0273208916f, 0.0284260395f,
    0.0295568344f, 0.0307134437f, 0.0318960331f, 0.0331047666f, 0.0343398068f, 0.0356013149f, 0.0368894504f, 0.0382043716f,
    0.0395462353f, 0.0409151969f, 0.0423114106f, 0.0437350293f, 0.0451862044f, 0.0466650863f, 0.0481718242f, 0.049706566f,
    0.0512694584f, 0.052860647f, 0.0544802764f, 0.05612849f, 0.0578054302f, 0.0595112382f, 0.0612460542f, 0.0630100177f,
    0.0648032667f, 0.0666259386f, 0.0684781698f, 0.0703600957f, 0.0722718507f, 0.0742135684f, 0.0761853815f, 0.0781874218f,
    0.0802198203f, 0.0822827071f, 0.0843762115f, 0.086500462f, 0.0886555863f, 0.0908417112f, 0.0930589628f, 0.0953074666f,
    0.0975873471f, 0.0998987282f, 0.102241733f, 0.104616484f, 0.107023103f, 0.109461711f, 0.111932428f, 0.114435374f,
    0.116970668f, 0.119538428f, 0.122138772f, 0.124771818f, 0.12743768f, 0.130136477f, 0.132868322f, 0.13563333f,
    0.138431615f, 0.141263291f, 0.144128471f, 0.147027266f, 0.14995979f, 0.152926152f, 0.155926464f, 0.158960835f,
    0.162029376f, 0.165132195f, 0.1682694f, 0.171441101f, 0.174647404f, 0.177888416f, 0.181164244f, 0.184474995f,
    0.187820772f, 0.191201683f, 0.19461783f, 0.19806932f, 0.201556254f, 0.205078736f, 0.20863687f, 0.212230757f,
    0.2158605f, 0.2195262f, 0.223227957f, 0.226965874f, 0.230740049f, 0.234550582f, 0.238397574f, 0.242281122f,
    0.246201327f, 0.250158285f, 0.254152094f, 0.258182853f, 0.262250658f, 0.266355605f, 0.270497791f, 0.274677312f,
    0.278894263f, 0.28314874f, 0.287440838f, 0.29177065f, 0.296138271f, 0.300543794f, 0.304987314f, 0.309468923f,
    0.313988713f, 0.318546778f, 0.323143209f, 0.327778098f, 0.332451536f, 0.337163615f, 0.341914425f, 0.346704056f,
    0.3515326f, 0.356400144f, 0.36130678f, 0.366252596f, 0.37123768f, 0.376262123f, 0.381326011f, 0.386429434f,
    0.391572478f, 0.396755231f, 0.40197778f, 0.407240212f, 0.412542613f, 0.417885071f, 0.42326767f, 0.428690497f,
    0.434153636f, 0.439657174f, 0.445201195f, 0.450785783f, 0.456411023f, 0.462077f, 0.467783796f, 0.473531496f,
    0.479320183f, 0.48514994f, 0.49102085f, 0.496932995f, 0.502886458f, 0.508881321f, 0.514917665f, 0.520995573f,
    0.527115126f, 0.533276404f, 0.539479489f, 0.545724461f, 0.552011402f, 0.55834039f, 0.564711506f, 0.571124829f,
    0.57758044f, 0.584078418f, 0.590618841f, 0.597201788f, 0.603827339f, 0.610495571f, 0.617206562f, 0.623960392f,
    0.630757136f, 0.637596874f, 0.644479682f, 0.651405637f, 0.658374817f, 0.665387298f, 0.672443157f, 0.67954247f,
    0.686685312f, 0.693871761f, 0.701101892f, 0.70837578f, 0.715693501f, 0.723055129f, 0.73046074f, 0.737910409f,
    0.74540421f, 0.752942217f, 0.760524505f, 0.768151147f, 0.775822218f, 0.783537792f, 0.79129794f, 0.799102738f,
    0.806952258f, 0.814846572f, 0.822785754f, 0.830769877f, 0.838799012f, 0.846873232f, 0.854992608f, 0.863157213f,
    0.871367119f, 0.879622397f, 0.887923118f, 0.896269353f, 0.904661174f, 0.913098652f, 0.921581856f, 0.930110858f,
    0.938685728f, 0.947306537f, 0.955973353f, 0.964686248f, 0.97344529f, 0.98225055f, 0.991102097f, 1.0f,
};

inline float lp_f(float t) {
  const float d = 6.0f / 29.0f;
  return t > d * d * d ? cbrt(t) : t / (3.0f * d * d) + 4.0f / 29.0f;
}

/* Linear RGB -> CIE Lab (D65 white). */
inline float3 lp_lab(float r, float g, float b) {
  float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
  float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
  float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
  float fx = lp_f(x), fy = lp_f(y), fz = lp_f(z);
  return (float3)(116.0f * fy - 16.0f, 500.0f * (fx - fy), 200.0f * (fy - fz));
}

/* image: 3 x H x W, ImageNet-normalised (padding is 0 there, i.e. the mean
 * colour). One work-item per cell (cx, cy) of the h x w grid (stride s):
 * the mean Lab of its pixels.
 * Features f = (cw * mean Lab, pw * (cy - (h-1)/2), pw * (cx - (w-1)/2)).
 * memory_form = 0: out = scale * (f, 1) (one copy);
 * memory_form = 1: out = (f, -|f|^2 / 2), written `copies` times
 * (copy i at channel block i: out[(i * 6 + c) * plane + cell]). */
__kernel void labelprop_keys(__global const float *image, ulong image_off, int height, int width,
                             int stride, float colour_weight, float position_weight,
                             int memory_form, float scale, int copies, __global float *out,
                             ulong out_off) {
  const int w = width / stride, h = height / stride;
  const int id = get_global_id(0);
  if (id >= w * h) return;
  const int cx = id % w, cy = id / w;
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const float stdev[3] = {0.229f, 0.224f, 0.225f};
  const size_t plane = (size_t)height * width;
  __global const float *im = image + image_off;
  float3 sum = (float3)(0.0f);
  for (int dy = 0; dy < stride; dy++) {
    for (int dx = 0; dx < stride; dx++) {
      size_t p = (size_t)(cy * stride + dy) * width + (size_t)(cx * stride + dx);
      float rgb[3];
      for (int c = 0; c < 3; c++) {
        float v = clamp(im[(size_t)c * plane + p] * stdev[c] + mean[c], 0.0f, 1.0f);
        rgb[c] = lp_srgb_linear[(int)(v * 255.0f + 0.5f)];
      }
      sum += (float3)(rgb[0], rgb[1], rgb[2]);
    }
  }
  sum /= (float)(stride * stride);
  const float3 lab = lp_lab(sum.x, sum.y, sum.z);
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
