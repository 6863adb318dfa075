#include "session/prob_store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static size_t frame_bytes(const mv_prob_store *s) {
  return (size_t)s->channels * s->plane * (s->quantized ? sizeof(uint16_t) : sizeof(float));
}

mv_status mv_prob_store_init(mv_prob_store *s, int frames, int channels, size_t plane,
                             size_t byte_limit) {
  MV_CHECK_ARG(s && frames > 0 && channels >= 2 && plane > 0,
               "mv_prob_store_init: bad size (%d frames, %d channels)", frames, channels);
  memset(s, 0, sizeof *s);
  s->frames = frames;
  s->channels = channels;
  s->plane = plane;
  double full = (double)frames * channels * plane * sizeof(float);
  s->quantized = byte_limit > 0 && full > (double)byte_limit;
  s->data = calloc((size_t)frames, sizeof *s->data);
  if (!s->data) return mv_fail(MV_E_MEMORY, "mv_prob_store_init: out of memory");
  return MV_OK;
}

void mv_prob_store_free(mv_prob_store *s) {
  if (!s || !s->data) return;
  for (int t = 0; t < s->frames; t++) free(s->data[t]);
  free(s->data);
  s->data = NULL;
}

void mv_prob_store_read(const mv_prob_store *s, int frame, float *out) {
  size_t n = (size_t)s->channels * s->plane;
  const void *d = s->data[frame];
  if (!d) {
    for (size_t i = 0; i < s->plane; i++) out[i] = 1e-7f;
    memset(out + s->plane, 0, (n - s->plane) * sizeof(float));
  } else if (!s->quantized) {
    memcpy(out, d, n * sizeof(float));
  } else {
    const uint16_t *q = d;
    for (size_t i = 0; i < n; i++) out[i] = (float)q[i] * (1.0f / 65535.0f);
  }
}

mv_status mv_prob_store_write(mv_prob_store *s, int frame, const float *in) {
  MV_CHECK_ARG(frame >= 0 && frame < s->frames, "mv_prob_store_write: frame %d outside 0..%d",
               frame, s->frames - 1);
  if (!s->data[frame]) {
    s->data[frame] = malloc(frame_bytes(s));
    if (!s->data[frame])
      return mv_fail(MV_E_MEMORY, "probabilities: out of host memory at frame %d", frame);
  }
  size_t n = (size_t)s->channels * s->plane;
  if (!s->quantized) {
    memcpy(s->data[frame], in, n * sizeof(float));
  } else {
    uint16_t *q = s->data[frame];
    for (size_t i = 0; i < n; i++) {
      float v = in[i] < 0 ? 0 : (in[i] > 1 ? 1 : in[i]);
      q[i] = (uint16_t)lrintf(v * 65535.0f);
    }
  }
  return MV_OK;
}

void mv_prob_remap_planes(const float *in, int channels, size_t plane, int new_channels,
                          const int *source, float *out) {
  memcpy(out, in, plane * sizeof(float));
  for (int j = 1; j < new_channels; j++) {
    if (source[j] > 0 && source[j] < channels)
      memcpy(out + j * plane, in + source[j] * plane, plane * sizeof(float));
    else
      memset(out + j * plane, 0, plane * sizeof(float));
  }
  for (int c = 1; c < channels; c++) {
    int kept = 0;
    for (int j = 1; j < new_channels; j++) kept |= source[j] == c;
    if (kept) continue;
    for (size_t i = 0; i < plane; i++) out[i] += in[c * plane + i];
  }
}

mv_status mv_prob_store_remap(mv_prob_store *s, int new_channels, const int *source) {
  MV_CHECK_ARG(new_channels >= 2, "mv_prob_store_remap: need at least one object");
  float *in = malloc((size_t)s->channels * s->plane * sizeof(float));
  float *out = malloc((size_t)new_channels * s->plane * sizeof(float));
  if (!in || !out) {
    free(in);
    free(out);
    return mv_fail(MV_E_MEMORY, "mv_prob_store_remap: out of memory");
  }
  mv_prob_store next = *s;
  next.channels = new_channels;
  next.data = calloc((size_t)s->frames, sizeof *next.data);
  mv_status status = next.data ? MV_OK : mv_fail(MV_E_MEMORY, "mv_prob_store_remap: out of memory");
  for (int t = 0; t < s->frames && status == MV_OK; t++) {
    if (!s->data[t]) continue;
    mv_prob_store_read(s, t, in);
    mv_prob_remap_planes(in, s->channels, s->plane, new_channels, source, out);
    status = mv_prob_store_write(&next, t, out);
  }
  free(in);
  free(out);
  if (status != MV_OK) {
    mv_prob_store_free(&next);
    return status;
  }
  mv_prob_store_free(s);
  *s = next;
  return MV_OK;
}

size_t mv_prob_store_bytes(const mv_prob_store *s) {
  size_t total = 0;
  for (int t = 0; t < s->frames; t++)
    if (s->data[t]) total += frame_bytes(s);
  return total;
}

/* ---- snapshots (session/snapshot.c) ---- */

void mv_prob_store_export(const mv_prob_store *s, mv_snapshot_writer *w, float *scratch) {
  for (int t = 0; t < s->frames; t++) {
    mv_snapshot_put_i32(w, s->data[t] != NULL);
    if (!s->data[t]) continue;
    mv_prob_store_read(s, t, scratch);
    mv_snapshot_put(w, scratch, (size_t)s->channels * s->plane * sizeof(float));
  }
}

mv_status mv_prob_store_import(mv_prob_store *s, mv_snapshot_reader *r, float *scratch) {
  for (int t = 0; t < s->frames; t++) {
    int32_t present;
    MV_TRY(mv_snapshot_get_range(r, 0, 1, &present, "probability flag"));
    if (!present) continue;
    MV_TRY(mv_snapshot_get(r, scratch, (size_t)s->channels * s->plane * sizeof(float),
                           "probabilities"));
    MV_TRY(mv_prob_store_write(s, t, scratch));
  }
  return MV_OK;
}
