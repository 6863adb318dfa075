#include "session/prob_store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  s->byte_limit = byte_limit;
  s->spill_fd = -1;
  double full = (double)frames * channels * plane * sizeof(float);
  s->quantized = byte_limit > 0 && full > (double)byte_limit;
  s->data = calloc((size_t)frames, sizeof *s->data);
  s->spilled = calloc((size_t)frames, 1);
  if (!s->data || !s->spilled) {
    mv_prob_store_free(s);
    return mv_fail(MV_E_MEMORY, "mv_prob_store_init: out of memory");
  }
  return MV_OK;
}

void mv_prob_store_free(mv_prob_store *s) {
  if (!s) return;
  if (s->data)
    for (int t = 0; t < s->frames; t++) free(s->data[t]);
  free(s->data);
  free(s->spilled);
  if (s->spill_fd >= 0) close(s->spill_fd);
  s->data = NULL;
  s->spilled = NULL;
  s->spill_fd = -1;
}

static const char *spill_dir(void) {
  const char *dir = getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

/* The spill file: created on first use and unlinked at once, so it goes
 * away with the process whatever happens. */
static mv_status open_spill(mv_prob_store *s) {
  if (s->spill_fd >= 0) return MV_OK;
  char path[4096];
  snprintf(path, sizeof path, "%s/mivos-probabilities-XXXXXX", spill_dir());
  int fd = mkstemp(path);
  if (fd < 0)
    return mv_fail(MV_E_IO, "probabilities: cannot create a spill file in %s: %s", spill_dir(),
                   strerror(errno));
  unlink(path);
  s->spill_fd = fd;
  return MV_OK;
}

/* Spill I/O in chunks of CHUNK values through a stack buffer. */
enum { CHUNK = 8192 };

static mv_status spill_io(const mv_prob_store *s, int frame, size_t first, void *buf, size_t bytes,
                          int writing) {
  off_t at = (off_t)((size_t)frame * frame_bytes(s) + first * sizeof(uint16_t));
  for (size_t done = 0; done < bytes;) {
    ssize_t n = writing ? pwrite(s->spill_fd, (char *)buf + done, bytes - done, at + (off_t)done)
                        : pread(s->spill_fd, (char *)buf + done, bytes - done, at + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return mv_fail(MV_E_IO, "probabilities: cannot %s frame %d %s the spill file in %s: %s",
                     writing ? "write" : "read", frame, writing ? "to" : "from", spill_dir(),
                     n < 0 ? strerror(errno) : "end of file");
    done += (size_t)n;
  }
  return MV_OK;
}

static float dequantize(uint16_t q) { return (float)q * (1.0f / 65535.0f); }

static uint16_t quantize(float v) {
  v = !(v > 0) ? 0 : (v > 1 ? 1 : v); /* NaN -> 0 */
  return (uint16_t)lrintf(v * 65535.0f);
}

mv_status mv_prob_store_read(const mv_prob_store *s, int frame, float *out) {
  size_t n = (size_t)s->channels * s->plane;
  const void *d = s->data[frame];
  if (s->spilled[frame]) {
    uint16_t q[CHUNK];
    for (size_t i = 0; i < n; i += CHUNK) {
      size_t m = n - i < CHUNK ? n - i : CHUNK;
      MV_TRY(spill_io(s, frame, i, q, m * sizeof *q, 0));
      for (size_t j = 0; j < m; j++) out[i + j] = dequantize(q[j]);
    }
  } else if (!d) {
    for (size_t i = 0; i < s->plane; i++) out[i] = 1e-7f;
    memset(out + s->plane, 0, (n - s->plane) * sizeof(float));
  } else if (!s->quantized) {
    memcpy(out, d, n * sizeof(float));
  } else {
    const uint16_t *q = d;
    for (size_t i = 0; i < n; i++) out[i] = dequantize(q[i]);
  }
  return MV_OK;
}

static mv_status write_spilled(mv_prob_store *s, int frame, const float *in) {
  MV_TRY(open_spill(s));
  size_t n = (size_t)s->channels * s->plane;
  uint16_t q[CHUNK];
  for (size_t i = 0; i < n; i += CHUNK) {
    size_t m = n - i < CHUNK ? n - i : CHUNK;
    for (size_t j = 0; j < m; j++) q[j] = quantize(in[i + j]);
    MV_TRY(spill_io(s, frame, i, q, m * sizeof *q, 1));
  }
  s->spilled[frame] = 1;
  return MV_OK;
}

mv_status mv_prob_store_write(mv_prob_store *s, int frame, const float *in) {
  MV_CHECK_ARG(frame >= 0 && frame < s->frames, "mv_prob_store_write: frame %d outside 0..%d",
               frame, s->frames - 1);
  size_t bytes = frame_bytes(s);
  /* Past the limit (only ever when quantized): to the spill file. */
  if (s->spilled[frame] || (!s->data[frame] && s->quantized && s->held + bytes > s->byte_limit))
    return write_spilled(s, frame, in);
  if (!s->data[frame]) {
    s->data[frame] = malloc(bytes);
    if (!s->data[frame])
      return mv_fail(MV_E_MEMORY, "probabilities: out of host memory at frame %d", frame);
    s->held += bytes;
  }
  size_t n = (size_t)s->channels * s->plane;
  if (!s->quantized) {
    memcpy(s->data[frame], in, n * sizeof(float));
  } else {
    uint16_t *q = s->data[frame];
    for (size_t i = 0; i < n; i++) q[i] = quantize(in[i]);
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
  mv_prob_store next;
  MV_TRY(mv_prob_store_init(&next, s->frames, new_channels, s->plane, s->byte_limit));
  float *in = malloc((size_t)s->channels * s->plane * sizeof(float));
  float *out = malloc((size_t)new_channels * s->plane * sizeof(float));
  mv_status status = in && out ? MV_OK : mv_fail(MV_E_MEMORY, "mv_prob_store_remap: out of memory");
  for (int t = 0; t < s->frames && status == MV_OK; t++) {
    if (!s->data[t] && !s->spilled[t]) continue;
    status = mv_prob_store_read(s, t, in);
    mv_prob_remap_planes(in, s->channels, s->plane, new_channels, source, out);
    if (status == MV_OK) status = mv_prob_store_write(&next, t, out);
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

size_t mv_prob_store_bytes(const mv_prob_store *s) { return s->held; }

size_t mv_prob_store_spilled_bytes(const mv_prob_store *s) {
  size_t frames = 0;
  for (int t = 0; t < s->frames; t++) frames += s->spilled[t];
  return frames * frame_bytes(s);
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
