/* Space-time memory read: top-k selection + softmax, the gather readout, and
 * a column softmax (opencl/memory_read.c). */

/* Candidate buffer of the selection (entries of 8 bytes, 16 KB of local
 * memory) and elements read per work-item per chunk. MR_MAX_K must match
 * MV_MEMORY_MAX_TOP_K, and MR_MAX_K + MR_PER_ITEM * 256 <= MR_CAP. */
#define MR_CAP 2048
#define MR_PER_ITEM 4
#define MR_MAX_K 512

/* Column softmax work-group: SM_LX columns x SM_LY row slices. */
#define SM_LX 16
#define SM_LY 16

/* A 64-bit key whose unsigned order is (affinity descending, position
 * ascending): the float bits mapped to an order-preserving unsigned integer
 * in the high word, the complemented position in the low word. All keys of
 * a row are distinct, so the top k is a well-defined set, and no real key
 * is 0 (that would need position 0xFFFFFFFF), so 0 pads. */
inline ulong mr_key(float v, uint position) {
  uint b = as_uint(v);
  uint u = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  return ((ulong)u << 32) | (ulong)(0xFFFFFFFFu - position);
}

inline float mr_value(ulong key) {
  uint u = (uint)(key >> 32);
  return as_float((u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u);
}

inline uint mr_position(ulong key) { return 0xFFFFFFFFu - (uint)key; }

/* Bitonic sort of buf[0, count) in decreasing order (padded with zeros to a
 * power of two). Called by the whole work-group. */
void mr_sort_desc(local ulong *buf, uint count, uint lid, uint lsize) {
  uint n = 2;
  while (n < count) n <<= 1;
  for (uint i = count + lid; i < n; i += lsize) buf[i] = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint size = 2; size <= n; size <<= 1) {
    for (uint stride = size >> 1; stride > 0; stride >>= 1) {
      for (uint t = lid; t < n / 2; t += lsize) {
        uint i = 2 * t - (t & (stride - 1));
        uint j = i + stride;
        ulong a = buf[i], b = buf[j];
        int descending = (i & size) == 0;
        if (descending ? (a < b) : (a > b)) {
          buf[i] = b;
          buf[j] = a;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
}

/* One work-group per row of a query-major affinity (row = query).
 * Pass 1: each work-item takes the best key of its strided slice; the k-th
 * best of these slice maxima is a lower bound of the k-th best key of the
 * row (k distinct keys reach it), so nothing below it can be kept.
 * Pass 2 streams the row in chunks of lsize * MR_PER_ITEM: keys >= the
 * threshold go to a local candidate buffer, which (rarely, e.g. for many
 * ties or an adversarial order) is sorted and cut back to k, raising the
 * threshold, when the next chunk might not fit. Then the candidates are
 * sorted and weights = exp(a - a_max) / sum over the first k.
 * Outputs: indices/weights [j, row] at *_off + j * out_ld + row. */
kernel void memory_topk_select(global const float *aff, ulong aff_off, uint aff_ld, uint m,
                               uint k, uint rows, global int *indices, ulong indices_off,
                               global float *weights, ulong weights_off, uint out_ld) {
  local ulong buf[MR_CAP];
  local float e[MR_MAX_K];
  local uint count;
  local float total;
  const uint row = get_group_id(0);
  if (row >= rows) return; /* whole group */
  const uint lid = get_local_id(0), lsize = get_local_size(0);
  const uint chunk = lsize * MR_PER_ITEM;
  global const float *a = aff + aff_off + (ulong)row * aff_ld;

  ulong threshold = 0; /* 0 is below every real key */
  if (k <= lsize) {
    ulong best = 0;
    for (uint p = lid; p < m; p += lsize) best = max(best, mr_key(a[p], p));
    buf[lid] = best;
    mr_sort_desc(buf, lsize, lid, lsize); /* starts with a barrier */
    threshold = buf[k - 1];
  }
  barrier(CLK_LOCAL_MEM_FENCE); /* everyone has read buf */
  if (lid == 0) count = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint base = 0; base < m; base += chunk) {
    for (uint r = 0; r < MR_PER_ITEM; r++) {
      uint p = base + r * lsize + lid;
      if (p < m) {
        ulong key = mr_key(a[p], p);
        if (key >= threshold) buf[atomic_inc(&count)] = key;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint c = count;
    barrier(CLK_LOCAL_MEM_FENCE); /* everyone has read count */
    if (c + chunk > MR_CAP && base + chunk < m) {
      mr_sort_desc(buf, c, lid, lsize);
      threshold = buf[k - 1];
      if (lid == 0) count = k;
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }
  mr_sort_desc(buf, count, lid, lsize);

  const float top = mr_value(buf[0]);
  for (uint j = lid; j < k; j += lsize) e[j] = exp(mr_value(buf[j]) - top);
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    float s = 0.0f;
    for (uint j = 0; j < k; j++) s += e[j];
    total = s;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint j = lid; j < k; j += lsize) {
    indices[indices_off + (ulong)j * out_ld + row] = (int)mr_position(buf[j]);
    weights[weights_off + (ulong)j * out_ld + row] = e[j] / total;
  }
}

/* readout[c, q] = sum_j w[j, q] * mv[c, idx[j, q]]: work-item (q, c-group)
 * does 4 channels of one query, so each (index, weight) is loaded once per 4
 * channels; neighbouring work-items are neighbouring queries (coalesced
 * index/weight loads and output stores). */
kernel void memory_gather(global const float *mv, ulong mv_off, uint mv_ld, uint cv, uint n,
                          uint k, global const int *indices, ulong indices_off,
                          global const float *weights, ulong weights_off, uint kept_ld,
                          global float *out, ulong out_off, uint out_ld) {
  const uint q = get_global_id(0);
  const uint c0 = get_global_id(1) * 4;
  if (q >= n || c0 >= cv) return;
  global const float *v = mv + mv_off + (ulong)c0 * mv_ld;
  const uint channels = min(4u, cv - c0);
  float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
  if (channels == 4) {
    for (uint j = 0; j < k; j++) {
      ulong at = (ulong)j * kept_ld + q;
      uint p = (uint)indices[indices_off + at];
      float w = weights[weights_off + at];
      acc0 += w * v[p];
      acc1 += w * v[mv_ld + p];
      acc2 += w * v[2 * (ulong)mv_ld + p];
      acc3 += w * v[3 * (ulong)mv_ld + p];
    }
  } else {
    for (uint j = 0; j < k; j++) {
      ulong at = (ulong)j * kept_ld + q;
      uint p = (uint)indices[indices_off + at];
      float w = weights[weights_off + at];
      acc0 += w * v[p];
      if (channels > 1) acc1 += w * v[mv_ld + p];
      if (channels > 2) acc2 += w * v[2 * (ulong)mv_ld + p];
    }
  }
  global float *o = out + out_off + (ulong)c0 * out_ld + q;
  o[0] = acc0;
  if (channels > 1) o[out_ld] = acc1;
  if (channels > 2) o[2 * (ulong)out_ld] = acc2;
  if (channels > 3) o[3 * (ulong)out_ld] = acc3;
}

/* In place softmax over the rows of each column of an m x n matrix. A
 * work-group covers SM_LX columns; its SM_LY row slices reduce the max and
 * the sum in local memory. */
__attribute__((reqd_work_group_size(SM_LX, SM_LY, 1)))
kernel void memory_softmax_columns(global float *x, ulong off, uint ld, uint m, uint n) {
  local float red[SM_LY][SM_LX];
  const uint q = get_global_id(0);
  const uint lx = get_local_id(0), ly = get_local_id(1);
  const int valid = q < n;
  global float *col = x + off + q;

  float v = -INFINITY;
  if (valid)
    for (uint i = ly; i < m; i += SM_LY) v = fmax(v, col[(ulong)i * ld]);
  red[ly][lx] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = SM_LY / 2; s > 0; s >>= 1) {
    if (ly < s) red[ly][lx] = fmax(red[ly][lx], red[ly + s][lx]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float top = red[0][lx];
  barrier(CLK_LOCAL_MEM_FENCE);

  float s = 0.0f;
  if (valid)
    for (uint i = ly; i < m; i += SM_LY) s += exp(col[(ulong)i * ld] - top);
  red[ly][lx] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint h = SM_LY / 2; h > 0; h >>= 1) {
    if (ly < h) red[ly][lx] += red[ly + h][lx];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float total = red[0][lx];

  if (valid)
    for (uint i = ly; i < m; i += SM_LY) {
      ulong at = (ulong)i * ld;
      col[at] = exp(col[at] - top) / total;
    }
}
