/* Workspaces (issue #13 items 1 and 2) with the weight-free modules on 16
 * frames of DAVIS blackswan at 240p: the log replays to the same session
 * bit for bit, a process killed with SIGKILL during a propagation resumes
 * with every operation that had returned, a snapshot equals the replay,
 * and foreign, damaged, truncated or wrong-version files are clear errors
 * that change no file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session/workspace_log.h"
#include "testutil.h"

enum { FRAMES = 16 };
static char clip[4096], other_clip[4096];

/* A folder of symlinks to the first FRAMES frames of a DAVIS sequence. */
static void make_clip(char *out, const char *sequence, int frames) {
  snprintf(out, 4096, "%s", mv_test_temp_path(sequence));
  mkdir(out, 0700);
  for (int t = 0; t < frames; t++) {
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s/%05d.jpg",
             mv_shared_path("data/davis2016/JPEGImages/480p"), sequence, t);
    snprintf(to, sizeof to, "%s/%05d.jpg", out, t);
    if (symlink(from, to) != 0 && !mv_test_file_exists(to)) CHECK(0, "symlink %s", to);
  }
}

static mv_video *open_clip(const char *path) {
  mv_video_options o;
  mv_video_options_default(&o);
  o.short_side = 240;
  mv_video *v = NULL;
  CHECK_OK(mv_video_open(path, &o, &v));
  return v;
}

static mv_session *open_session(mv_video *v) {
  mv_session_options o;
  mv_session_options_default(&o);
  o.objects = 1;
  mv_session *s = NULL;
  CHECK_OK(mv_session_open(v, &o, &s));
  return s;
}

static int stop_at(void *user, int done, int total) {
  (void)total;
  return done >= *(int *)user;
}

/* Scribbles (positive across the middle, negative along the border). */
static mv_status scribble(mv_session *s, int frame, int object, float shift) {
  mv_session_info info;
  mv_session_get_info(s, &info);
  float w = (float)info.width, h = (float)info.height;
  float pos[] = {w * 0.40f + shift, h * 0.45f, w * 0.5f + shift, h * 0.5f, w * 0.6f, h * 0.48f};
  float neg[] = {4, 4, w - 5, 4, w - 5, h - 5, 4, h - 5, 4, 4};
  mv_stroke strokes[2] = {{pos, 3, 0, 1}, {neg, 5, 2.5f, 0}};
  return mv_session_scribble(s, frame, object, strokes, 2, NULL);
}

/* Every kind of logged operation, in a plausible order. */
static void run_operations(mv_session *s, int *count) {
  mv_session_info info;
  mv_session_get_info(s, &info);
  int w = info.width, h = info.height, n = 0, three = 3, added = 0;
  size_t plane = (size_t)w * h;
  mv_region box = {w / 4, h / 4, w / 2, h / 2, 6};
  float poly[] = {10, 10, 60, 12, 40, 50};
  uint8_t *map = calloc(plane, 1), *labels = calloc(plane, 1);
  for (size_t i = plane / 3; i < plane / 3 + (size_t)w * 4; i++) map[i] = 1;
  for (int y = h / 3; y < h / 2; y++)
    for (int x = w / 3; x < w / 2; x++) labels[(size_t)y * w + x] = 1;
  n += CHECK_OK(scribble(s, 0, 1, 0));
  n += CHECK_OK(mv_session_click(s, 0, 1, (float)w / 2, (float)h / 2, 1, &box));
  n += CHECK_OK(mv_session_propagate(s, 0, NULL, NULL));
  n += CHECK_OK(mv_session_draw(s, 8, 1, poly, 3, 0, 0));
  n += CHECK_OK(mv_session_draw(s, 8, 1, poly, 2, 4.5f, 1));
  n += CHECK_OK(mv_session_interact_maps(s, 8, 1, map, NULL, NULL));
  n += CHECK_OK(mv_session_undo(s, 8));
  n += CHECK_OK(mv_session_propagate(s, 8, NULL, NULL));
  n += CHECK_OK(mv_session_add_object(s, &added));
  n += CHECK_OK(scribble(s, 12, 2, 20));
  n += CHECK_OK(mv_session_propagate(s, 12, stop_at, &three));   /* stopped after 3 frames */
  n += CHECK_OK(mv_session_set_labels(s, 15, labels));
  /* ws-api's operations: box prompt, per-object mask, a paused step run,
   * memory control */
  n += CHECK_OK(mv_session_box(s, 3, 1, w / 4, h / 4, w / 2, h / 2));
  n += CHECK_OK(mv_session_set_object_mask(s, 3, 1, map));
  mv_propagation_request forward = {3, MV_FORWARD, 7, 0};
  mv_propagation_run *run = NULL;
  int frame = -1, done = 0;
  if (CHECK_OK(mv_session_propagation_begin(s, &forward, &run))) {
    CHECK_OK(mv_session_propagation_step(run, &frame, &done));
    CHECK_OK(mv_session_propagation_step(run, &frame, &done));
    n += CHECK_OK(mv_session_propagation_end(run));   /* one log entry: 2 frames of 3..7 */
  }
  n += CHECK_OK(mv_session_forget_memory(s, 8));
  n += CHECK_OK(mv_session_clear_memory(s, 1));
  n += CHECK_OK(mv_session_reset_frame(s, 4));
  n += CHECK_OK(mv_session_reset_object(s, 2));
  n += CHECK_OK(mv_session_delete_object(s, 2));
  *count = n;
  free(map);
  free(labels);
}

/* 1 when both sessions show the same labels and probabilities everywhere
 * (bit for bit). */
static int same_sessions(mv_session *a, mv_session *b) {
  mv_session_info ia, ib;
  mv_session_get_info(a, &ia);
  mv_session_get_info(b, &ib);
  if (ia.objects != ib.objects || ia.interacted_frames != ib.interacted_frames) return 0;
  size_t plane = (size_t)ia.width * ia.height;
  uint8_t *la = malloc(plane), *lb = malloc(plane);
  float *pa = malloc(plane * sizeof *pa), *pb = malloc(plane * sizeof *pb);
  int same = 1;
  for (int t = 0; t < ia.frame_count && same; t++) {
    same = mv_session_labels(a, t, la) == MV_OK && mv_session_labels(b, t, lb) == MV_OK &&
           !memcmp(la, lb, plane);
    for (int k = 0; k <= ia.objects && same; k++)
      same = mv_session_probabilities(a, t, k, pa) == MV_OK &&
             mv_session_probabilities(b, t, k, pb) == MV_OK && !memcmp(pa, pb, plane * sizeof *pa);
  }
  free(la);
  free(lb);
  free(pa);
  free(pb);
  return same;
}

/* 1 when the masks on disk are the session's labels. */
static int masks_on_disk(mv_session *s, const char *dir) {
  mv_session_info info;
  mv_session_get_info(s, &info);
  size_t plane = (size_t)info.width * info.height;
  uint8_t *have = malloc(plane), *want = malloc(plane);
  int same = 1;
  for (int t = 0; t < info.frame_count && same; t++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/masks/%05d.png", dir, t);
    same = mv_mask_read_labels(path, info.width, info.height, have) == MV_OK &&
           mv_session_labels(s, t, want) == MV_OK && !memcmp(have, want, plane);
  }
  free(have);
  free(want);
  return same;
}

static char *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *data = malloc((size_t)n + 1);
  *size = fread(data, 1, (size_t)n, f);
  fclose(f);
  data[*size] = 0;
  return data;
}

/* CRC-like digest of the files a failed open must leave alone. */
static unsigned long digest(const char *dir) {
  const char *names[] = {"manifest.json", "log.json", "snapshot.mvs", "masks/00003.png"};
  unsigned long h = 5381;
  for (int i = 0; i < 4; i++) {
    char path[4096];
    size_t size = 0;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char *data = slurp(path, &size);
    for (size_t j = 0; data && j < size; j++) h = h * 33 + (unsigned char)data[j];
    h = h * 33 + size;
    free(data);
  }
  return h;
}

static void copy_dir(const char *from, const char *to) {
  char command[9000];
  snprintf(command, sizeof command, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
  CHECK(system(command) == 0, "%s", command);
}

/* The attach must fail with `status`, and no file of dir may change. */
static void expect_refused(mv_video *v, const char *dir, mv_status status, const char *words) {
  unsigned long before = digest(dir);
  mv_session *s = open_session(v);
  CHECK_FAILS(mv_session_attach(s, dir, NULL), status);
  CHECK(strstr(mv_error_message(), words) != NULL, "message names the problem (%s): %s", words,
        mv_error_message());
  CHECK(digest(dir) == before, "%s: files unchanged after a refused attach", dir);
  mv_session_close(s);
}

/* ---- SIGKILL during a propagation ---- */

static int signal_then_wait(void *user, int done, int total) {
  (void)total;
  if (done == 3) {
    char byte = 1;
    if (write(*(int *)user, &byte, 1) != 1) _exit(3);
    pause();   /* the parent kills us here, mid-propagation */
  }
  return 0;
}

static void sigkill_resume(void) {
  const char *dir = mv_test_temp_path("killed");
  int fds[2];
  if (pipe(fds) != 0) {
    CHECK(0, "pipe");
    return;
  }
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    mv_video *v = open_clip(clip);
    mv_session *s = open_session(v);
    if (mv_session_attach(s, dir, NULL) != MV_OK || scribble(s, 0, 1, 0) != MV_OK ||
        mv_session_propagate(s, 0, NULL, NULL) != MV_OK || scribble(s, 10, 1, 15) != MV_OK)
      _exit(2);
    mv_session_propagate(s, 10, signal_then_wait, &fds[1]);
    _exit(4);   /* not reached */
  }
  close(fds[1]);
  char byte = 0;
  int got = (int)read(fds[0], &byte, 1);
  close(fds[0]);
  CHECK(got == 1, "the child reached the middle of its second propagation");
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed by SIGKILL");

  mv_video *v = open_clip(clip);
  mv_session *resumed = open_session(v), *clean = open_session(v);
  mv_workspace_report report;
  if (CHECK_OK(mv_session_attach(resumed, dir, &report))) {
    CHECK(report.entries == 3 && report.replayed == 3,
          "the 3 operations that returned are in the log (%d entries)", report.entries);
    CHECK(report.interrupted_frame == 10, "the interrupted propagation is reported (frame %d)",
          report.interrupted_frame);
    CHECK(strstr(report.message, "frame 10") != NULL, "report: %s", report.message);
    printf("resume after SIGKILL: %s\n", report.message);
  }
  CHECK_OK(scribble(clean, 0, 1, 0));
  CHECK_OK(mv_session_propagate(clean, 0, NULL, NULL));
  CHECK_OK(scribble(clean, 10, 1, 15));
  CHECK(same_sessions(resumed, clean), "the resumed session equals a clean run of the 3 operations");
  CHECK(masks_on_disk(resumed, dir), "the masks on disk are the resumed session's");
  mv_session_close(resumed);
  mv_session_close(clean);
  mv_video_close(v);
}

/* Cost of one log entry (one pwrite + fdatasync), and the file stays a
 * complete rounds file after every append. */
static void append_cost(void) {
  const char *path = mv_test_temp_path("cost.json");
  mv_log log;
  mv_json *tree = NULL;
  int dropped = 0, n = 50, failures = 0;
  if (!CHECK_OK(mv_log_create(path, 1, "graphcut")) ||
      !CHECK_OK(mv_log_open(path, 1, &log, &tree, &dropped)))
    return;
  mv_json_free(tree);
  const char *entry = "{\"frame\": 3, \"object\": 1, \"clicks\": [{\"x\": 10, \"y\": 20, "
                      "\"positive\": true}]}";
  double t0 = mv_test_now();
  for (int i = 0; i < n; i++) failures += mv_log_append(&log, entry) != MV_OK;
  CHECK(failures == 0, "%d of %d appends failed", failures, n);
  double per = (mv_test_now() - t0) / n;
  printf("log append + fdatasync: %.1f us per entry (%d entries)\n", per * 1e6, n);
  /* A full disk (here a file size limit): the append fails with MV_E_IO
   * naming the log, and the file stays a complete log of the n entries. */
  struct rlimit old, small;
  getrlimit(RLIMIT_FSIZE, &old);
  small = old;
  small.rlim_cur = (rlim_t)log.size + 16;
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &small);
  mv_status full = mv_log_append(&log, entry);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  CHECK(full == MV_E_IO && strstr(mv_error_message(), "cost.json"),
        "a full disk is an error naming the log: %s", mv_error_message());
  mv_log_close(&log);
  mv_json *done = NULL;
  if (CHECK_OK(mv_json_parse_file(path, &done)))
    CHECK((int)mv_json_get(done, "rounds")->count == n, "%d entries read back", n);
  mv_json_free(done);
}

int main(void) {
  make_clip(clip, "blackswan", FRAMES);
  make_clip(other_clip, "dog", FRAMES);
  sigkill_resume();   /* first: the child must not inherit an OpenCL context */
  append_cost();

  const char *dir = mv_test_temp_path("ws");
  mv_video *v = open_clip(clip);
  mv_session *a = open_session(v);
  mv_workspace_report report;
  CHECK_OK(mv_session_attach(a, dir, &report));
  CHECK(report.created == 1, "a new workspace is created");
  int ops = 0, plain_ops = 0;
  double t0 = mv_test_now();
  run_operations(a, &ops);
  double with = mv_test_now() - t0;
  mv_session *bare = open_session(v);
  t0 = mv_test_now();
  run_operations(bare, &plain_ops);
  printf("%d operations: %.2f s with the workspace, %.2f s without\n", ops, with,
         mv_test_now() - t0);
  CHECK(same_sessions(a, bare), "logging changes nothing in the session");
  mv_session_close(bare);
  CHECK(masks_on_disk(a, dir), "masks on disk follow every operation");
  CHECK_FAILS(mv_session_attach(a, dir, NULL), MV_E_STATE);
  CHECK_FAILS(mv_session_load_snapshot(a, "x.mvs"), MV_E_STATE);

  /* The log is a rounds file the project's JSON reader takes. */
  char log_path[4096];
  snprintf(log_path, sizeof log_path, "%s/log.json", dir);
  mv_json *tree = NULL;
  if (CHECK_OK(mv_json_parse_file(log_path, &tree)))
    CHECK((int)mv_json_get(tree, "rounds")->count == ops, "one log entry per operation");
  mv_json_free(tree);

  /* Replay: a new session on the same folder. */
  mv_session *b = open_session(v);
  if (CHECK_OK(mv_session_attach(b, dir, &report))) {
    CHECK(report.entries == ops && report.replayed == ops && report.from_snapshot == 0,
          "replayed %d of %d entries", report.replayed, ops);
    CHECK(same_sessions(a, b), "replaying the log gives the same session bit for bit");
  }
  mv_session_close(b);

  /* Snapshot: cost, then a resume from it equals the replay. */
  t0 = mv_test_now();
  CHECK_OK(mv_session_snapshot(a));
  printf("snapshot written in %.2f s\n", mv_test_now() - t0);
  char snap[4096];
  snprintf(snap, sizeof snap, "%s/snapshot.mvs", dir);
  mv_session *c = open_session(v);
  if (CHECK_OK(mv_session_attach(c, dir, &report))) {
    CHECK(report.from_snapshot == ops && report.replayed == 0, "restored %d entries from the "
          "snapshot, replayed %d", report.from_snapshot, report.replayed);
    CHECK(same_sessions(a, c), "snapshot == replay");
    /* The memory bank and undo history came back too: the next round matches. */
    int ok = CHECK_OK(mv_session_undo(a, 15)) & CHECK_OK(mv_session_undo(c, 15));
    ok &= CHECK_OK(scribble(a, 6, 1, 10)) & CHECK_OK(scribble(c, 6, 1, 10));
    ok &= CHECK_OK(mv_session_propagate(a, 6, NULL, NULL)) &
          CHECK_OK(mv_session_propagate(c, 6, NULL, NULL));
    CHECK(ok && same_sessions(a, c), "after one more round the sessions still agree");
  }
  mv_session_close(c);   /* c wrote 3 more entries; a's are ignored from here */
  mv_session_close(a);
  /* A snapshot outside a workspace loads into a plain session. */
  mv_session *d = open_session(v), *e = open_session(v);
  CHECK_OK(mv_session_attach(d, dir, NULL));
  const char *plain = mv_test_temp_path("plain.mvs");
  CHECK_OK(mv_session_save_snapshot(d, plain));
  CHECK_OK(mv_session_load_snapshot(e, plain));
  CHECK(same_sessions(d, e), "mv_session_load_snapshot gives the saved session");
  mv_session_close(d);

  /* Damaged snapshots: errors, the session and the file unchanged. */
  size_t size = 0;
  char *bytes = slurp(plain, &size);
  const char *broken = mv_test_temp_path("broken.mvs");
  mv_test_write_file(broken, bytes, size / 2);
  CHECK_FAILS(mv_session_load_snapshot(e, broken), MV_E_FORMAT);
  bytes[size / 3] ^= 0x40;
  mv_test_write_file(broken, bytes, size);
  CHECK_FAILS(mv_session_load_snapshot(e, broken), MV_E_FORMAT);
  CHECK(strstr(mv_error_message(), "CRC") != NULL, "corrupt: %s", mv_error_message());
  bytes[size / 3] ^= 0x40;
  bytes[8] = 9;   /* version field */
  mv_test_write_file(broken, bytes, size);
  CHECK_FAILS(mv_session_load_snapshot(e, broken), MV_E_FORMAT);
  CHECK(strstr(mv_error_message(), "version 9") != NULL, "wrong version: %s", mv_error_message());
  mv_test_write_file(broken, "MIVOS", 5);
  CHECK_FAILS(mv_session_load_snapshot(e, broken), MV_E_FORMAT);
  free(bytes);
  mv_session *f = open_session(v);
  CHECK_OK(mv_session_load_snapshot(f, plain));
  CHECK(same_sessions(e, f), "failed loads left the session as it was");
  mv_session_close(e);
  mv_session_close(f);

  /* Foreign video, damaged / foreign log, truncated snapshot: refused. */
  mv_video *other = open_clip(other_clip);
  expect_refused(other, dir, MV_E_MISMATCH, "another video");
  mv_video_close(other);
  const char *bad = mv_test_temp_path("bad");
  copy_dir(dir, bad);
  char path[4096];
  snprintf(path, sizeof path, "%s/snapshot.mvs", bad);
  bytes = slurp(path, &size);
  mv_test_write_file(path, bytes, size - 100);
  expect_refused(v, bad, MV_E_FORMAT, "snapshot");
  unlink(path);
  free(bytes);
  snprintf(path, sizeof path, "%s/log.json", bad);
  bytes = slurp(path, &size);
  char *line = strstr(bytes, "\"propagate\"");
  line[1] = 'X';   /* a damaged entry in the middle: not an operation */
  mv_test_write_file(path, bytes, size);
  expect_refused(v, bad, MV_E_FORMAT, "entry");
  line[1] = 'p';
  line = strstr(bytes, "\n{");
  line[1] = '[';   /* broken JSON in the middle */
  mv_test_write_file(path, bytes, size);
  expect_refused(v, bad, MV_E_FORMAT, "log.json:");
  const char *foreign = "{\"rounds\": [{\"frame\": 0, \"propagate\": true}]}\n";
  mv_test_write_file(path, foreign, strlen(foreign));
  expect_refused(v, bad, MV_E_FORMAT, "not a mivos workspace log");
  free(bytes);

  /* A torn last line (a write cut short) is dropped and reported. */
  copy_dir(dir, bad);
  snprintf(path, sizeof path, "%s/snapshot.mvs", bad);
  unlink(path);
  snprintf(path, sizeof path, "%s/log.json", bad);
  bytes = slurp(path, &size);
  int entries_before = 0;
  for (char *p = bytes; (p = strstr(p, "\n{")); p++) entries_before++;
  bytes = realloc(bytes, size + 32);
  memcpy(bytes + size - 4, ",\n{\"frame\": 3, \"scr", 19);
  mv_test_write_file(path, bytes, size - 4 + 19);
  mv_session *g = open_session(v);
  if (CHECK_OK(mv_session_attach(g, bad, &report))) {
    CHECK(report.dropped_bytes == 19 && report.entries == entries_before,
          "torn line dropped (%d bytes, %d entries)", report.dropped_bytes, report.entries);
    CHECK(scribble(g, 2, 1, 0) == MV_OK, "the repaired log takes new entries");
  }
  mv_session_close(g);
  free(bytes);
  mv_json *repaired = NULL;
  CHECK_OK(mv_json_parse_file(path, &repaired));
  mv_json_free(repaired);

  /* A non-empty folder that is not a workspace is refused. */
  const char *stranger = mv_test_temp_path("stranger");
  mkdir(stranger, 0700);
  snprintf(path, sizeof path, "%s/notes.txt", stranger);
  mv_test_write_file(path, "x", 1);
  mv_session *h = open_session(v);
  CHECK_FAILS(mv_session_attach(h, stranger, NULL), MV_E_STATE);
  mv_session_close(h);
  mv_video_close(v);
  return mv_test_finish();
}
