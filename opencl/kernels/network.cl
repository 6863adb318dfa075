/* Small kernels of the network glue: input normalisation and multi-object
 * aggregation. Arithmetic follows the official PyTorch code step by step. */

/* rgb: h x w x 3 uint8; out: 3 x ph x pw, zero outside the frame
 * (zero in the normalised domain, as the official padding). */
__kernel void preprocess_rgb(__global const uchar *rgb, int h, int w, int left, int top,
                             __global float *out, ulong out_offset, int ph, int pw) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= pw || y >= ph) return;
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const float stdev[3] = {0.229f, 0.224f, 0.225f};
  int sx = x - left, sy = y - top;
  int inside = sx >= 0 && sx < w && sy >= 0 && sy < h;
  for (int c = 0; c < 3; c++) {
    float v = 0.0f;
    if (inside) {
      v = (float)rgb[((size_t)sy * w + sx) * 3 + c] / 255.0f;
      v = (v - mean[c]) / stdev[c];
    }
    out[out_offset + ((size_t)c * ph + y) * pw + x] = v;
  }
}

/* prob: k x plane (per-object probabilities); out: (k+1) x plane, background
 * first: softmax over channels of logit(clamp([prod(1-p), p_1..p_k])). */
__kernel void aggregate_wbg(__global const float *prob, ulong prob_offset, int k, int plane,
                            float temperature, __global float *out, ulong out_offset) {
  int i = get_global_id(0);
  if (i >= plane) return;
  prob += prob_offset;
  out += out_offset;
  const float lo = 1e-7f, hi = 1.0f - 1e-7f;
  float background = 1.0f;
  for (int j = 0; j < k; j++) background *= 1.0f - prob[(size_t)j * plane + i];
  /* First pass: logits into out, tracking the maximum. */
  float largest = -INFINITY;
  for (int j = 0; j <= k; j++) {
    float p = j == 0 ? background : prob[(size_t)(j - 1) * plane + i];
    p = clamp(p, lo, hi);
    float logit = log(p / (1.0f - p)) * temperature;
    out[(size_t)j * plane + i] = logit;
    largest = fmax(largest, logit);
  }
  float sum = 0.0f;
  for (int j = 0; j <= k; j++) {
    float e = exp(out[(size_t)j * plane + i] - largest);
    out[(size_t)j * plane + i] = e;
    sum += e;
  }
  for (int j = 0; j <= k; j++) out[(size_t)j * plane + i] /= sum;
}

/* Memory-encoder input for object i: [RGB, mask_i, sum of the other masks]
 * (the sum is not clamped; zeros when k = 1). image: 3 x plane; masks:
 * k x plane; out: k x 5 x plane. The other masks are summed in index order,
 * as the official code. */
__kernel void memory_input(__global const float *image, ulong image_offset,
                           __global const float *masks, ulong masks_offset, int k, int plane,
                           __global float *out, ulong out_offset) {
  int p = get_global_id(0), i = get_global_id(1);
  if (p >= plane || i >= k) return;
  image += image_offset;
  masks += masks_offset;
  __global float *o = out + out_offset + (size_t)i * 5 * plane;
  for (int c = 0; c < 3; c++) o[(size_t)c * plane + p] = image[(size_t)c * plane + p];
  o[(size_t)3 * plane + p] = masks[(size_t)i * plane + p];
  float others = 0.0f;
  for (int j = 0; j < k; j++)
    if (j != i) others += masks[(size_t)j * plane + p];
  o[(size_t)4 * plane + p] = others;
}

/* Copies src (rows x plane, row-major) into dst rows of length stride at
 * column offset dst_column: dst[r * stride + dst_column + p] = src[r * plane + p]. */
__kernel void copy_rows(__global const float *src, ulong src_offset, int rows, int plane,
                        __global float *dst, ulong dst_offset, int stride, int dst_column) {
  int p = get_global_id(0), r = get_global_id(1);
  if (p >= plane || r >= rows) return;
  dst[dst_offset + (size_t)r * stride + dst_column + p] = src[src_offset + (size_t)r * plane + p];
}

/* The interaction's mask difference: pos = clamp(mask - prev, 0, 1),
 * neg = clamp(prev - mask, 0, 1). */
__kernel void mask_difference(__global const float *mask, ulong mask_offset,
                              __global const float *prev, ulong prev_offset, int count,
                              __global float *pos, ulong pos_offset, __global float *neg,
                              ulong neg_offset) {
  int i = get_global_id(0);
  if (i >= count) return;
  float d = mask[mask_offset + i] - prev[prev_offset + i];
  pos[pos_offset + i] = clamp(d, 0.0f, 1.0f);
  neg[neg_offset + i] = clamp(-d, 0.0f, 1.0f);
}
