/* The S2M network input for k objects, built in one pass on the device:
 * out[i] = [image (3 channels, already normalised and padded),
 *           previous label == i + 1,
 *           positive scribbles (label i + 1) dilated 3x3,
 *           negative scribbles (any label other than i + 1 and -1) dilated 3x3],
 * the last three zero in the padding. The 3x3 dilation is an 8-neighbour
 * "any" over pixels inside the unpadded image (cv2.dilate's border rule).
 * Work items: (padded x, padded y, object * 6 + channel). */
__kernel void mv_s2m_input(__global const float *image, ulong image_offset,
                           __global const uchar *labels, __global const short *scribbles,
                           __global float *out, ulong out_offset, int k, int h, int w, int ph,
                           int pw, int left, int top) {
  const int x = get_global_id(0);
  const int y = get_global_id(1);
  const int z = get_global_id(2);
  if (x >= pw || y >= ph || z >= k * 6) return;
  const int object = z / 6 + 1;
  const int channel = z % 6;
  const size_t plane = (size_t)ph * pw;
  float v = 0.0f;
  if (channel < 3) {
    v = image[image_offset + channel * plane + (size_t)y * pw + x];
  } else {
    const int sy = y - top, sx = x - left;
    if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
      if (channel == 3) {
        v = labels[(size_t)sy * w + sx] == object ? 1.0f : 0.0f;
      } else {
        int hit = 0;
        for (int dy = -1; dy <= 1; dy++) {
          const int ny = sy + dy;
          if (ny < 0 || ny >= h) continue;
          for (int dx = -1; dx <= 1; dx++) {
            const int nx = sx + dx;
            if (nx < 0 || nx >= w) continue;
            const int s = scribbles[(size_t)ny * w + nx];
            hit |= channel == 4 ? s == object : (s != object && s != -1);
          }
        }
        v = hit ? 1.0f : 0.0f;
      }
    }
  }
  out[out_offset + z * plane + (size_t)y * pw + x] = v;
}
