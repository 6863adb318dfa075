/* Damaged and hostile checkpoints: truncations, flipped bytes and CRC
 * failures of the real fusion_hashinit.pth, broken zips (offsets, sizes,
 * deflate streams, missing entries), malformed and malicious pickles (unknown
 * opcodes and globals, stack, mark and memo bombs, bad tensor geometry), and
 * every single-byte mutation of a small pickle. Each must fail with a message,
 * never crash or leak (under ASan in the _asan variant). Valid files are in
 * test_checkpoint.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_files.h"
#include "weights/checkpoint.h"
#include "testutil.h"

/* Test tables use positional initializers that leave trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- the real fixture, damaged ------------------------------------------------------- */

/* Truncations, garbage, corruptions of the real file: errors, never crashes. */
static void check_damaged_fixture(void) {
  FILE *f = fopen(mv_shared_path("fixtures/golden/fusion_hashinit.pth"), "rb");
  CHECK(f != NULL, "fixture readable");
  if (!f) return;
  buf file = {0};
  uint8_t chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) put(&file, chunk, got);
  fclose(f);
  size_t cuts[] = {1, 4, 21, 22, 100, 1000, file.n / 2, file.n - 100, file.n - 23, file.n - 22,
                   file.n - 21, file.n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    buf cut = {0};
    put(&cut, file.p, cuts[i]);
    char what[64];
    snprintf(what, sizeof what, "cut at %zu", cuts[i]);
    expect_open_error(write_buf("cut.pth", &cut), MV_E_FORMAT, "cut.pth", what);
    buf_free(&cut);
  }
  const char *empty = mv_test_temp_path("empty.pth");
  mv_test_write_file(empty, "", 0);
  expect_open_error(empty, MV_E_FORMAT, "empty", "empty file");
  buf text = {0};
  const char *hello = "this is a text file, not a checkpoint\n";
  put(&text, hello, strlen(hello));
  expect_open_error(write_buf("text.pth", &text), MV_E_FORMAT, "not a zip", "text file");
  buf_free(&text);
  expect_open_error(mv_test_temp_path("missing.pth"), MV_E_IO, "missing.pth", "missing file");
  expect_open_error(mv_test_temp_path(""), MV_E_IO, NULL, "a folder");

  /* A flipped byte inside a stored tensor: open works, reading it fails the CRC. */
  buf bad = {0};
  put(&bad, file.p, file.n);
  const char *needle = "fusion_hashinit/data/0";
  uint8_t *at = NULL;
  for (size_t i = 0; i + strlen(needle) < bad.n; i++)
    if (memcmp(bad.p + i, needle, strlen(needle)) == 0 && bad.p[i + strlen(needle)] != '/') {
      at = bad.p + i;
      break; /* the first occurrence is the local header */
    }
  CHECK(at != NULL, "found the local header of data/0");
  if (at) {
    at[strlen(needle) + 200] ^= 0x40; /* well inside the 10368 data bytes (after a short extra) */
    mv_checkpoint *c = NULL;
    if (CHECK_OK(mv_checkpoint_open(write_buf("crc.pth", &bad), &c))) {
      mv_array *a = NULL;
      CHECK_FAILS(mv_checkpoint_get(c, "conv1.0.weight", &a), MV_E_FORMAT);
      CHECK(strstr(mv_error_message(), "CRC") && strstr(mv_error_message(), "conv1.0.weight"),
            "CRC failure names the key and says CRC: %s", mv_error_message());
      CHECK(a == NULL, "no array");
      mv_array *b = NULL;
      CHECK_OK(mv_checkpoint_get(c, "conv1.0.bias", &b));
      mv_array_free(b);
    }
    mv_checkpoint_close(c);
  }
  buf_free(&bad);

  /* Deterministic byte flips over the whole file: any status, never a crash or leak. */
  uint64_t state = 12345;
  int opened = 0;
  for (int trial = 0; trial < 400; trial++) {
    buf fz = {0};
    put(&fz, file.p, file.n);
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    size_t pos = (size_t)(state >> 33) % fz.n;
    /* bias half of the trials towards the pickle and the directory, where damage matters */
    if (trial % 2) pos = trial % 4 == 1 ? 64 + pos % 1400 : fz.n - 1 - pos % 2200;
    fz.p[pos] ^= (uint8_t)(1u << (trial % 8));
    mv_checkpoint *c = NULL;
    if (mv_checkpoint_open(write_buf("fuzz.pth", &fz), &c) == MV_OK) {
      opened++;
      for (int i = 0; i < mv_checkpoint_count(c); i++) {
        mv_array *a = NULL;
        mv_checkpoint_get(c, mv_checkpoint_key(c, i), &a);
        mv_array_free(a);
      }
      mv_checkpoint_close(c);
    } else {
      CHECK(mv_error_message()[0] != '\0', "fuzz trial %d: failure has a message", trial);
    }
    buf_free(&fz);
  }
  CHECK(opened > 0 && opened < 400, "fuzz: %d of 400 damaged files still open", opened);
  buf_free(&file);
}

/* ---- broken zips and pickles ---------------------------------------------------------- */

/* One broken variant: a pickle edited by `edit` or specs/storages given. */
static void expect_zip_error(const char *what, const buf *pk, const sdata *s, int ns,
                             mv_status status, const char *needle1, const char *needle2) {
  const char *path = make_zip("bad.pth", "bad", pk, s, ns, 0, NULL);
  expect_open_error(path, status, needle1, what);
  if (needle2)
    CHECK(strstr(mv_error_message(), needle2) != NULL, "%s: message has '%s': %s", what, needle2,
          mv_error_message());
}

static void check_bad_zips(void) {
  tspec t[16];
  sdata s[16];
  int n = good_specs(t), ns = good_storages(s, 0);
  buf pk = {0};

  /* Unknown opcode 0xff right after PROTO. */
  pk_state_dict(&pk, t, n, 2, 0);
  buf bad = {0};
  put(&bad, pk.p, 2);
  put8(&bad, 0xff);
  put(&bad, pk.p + 2, pk.n - 2);
  expect_zip_error("unknown opcode", &bad, s, ns, MV_E_UNSUPPORTED, "opcode 0xff", "byte 2");
  buf_free(&bad);
  /* A protocol-0 text opcode (INT 'I') is not supported either. */
  put(&bad, pk.p, 2);
  put(&bad, "I1\n0", 4);
  expect_zip_error("text opcode", &bad, s, ns, MV_E_UNSUPPORTED, "opcode 0x49", "byte 2");
  buf_free(&bad);
  /* Truncated pickle: no STOP. */
  put(&bad, pk.p, pk.n - 1);
  expect_zip_error("no STOP", &bad, s, ns, MV_E_FORMAT, "without a STOP", NULL);
  buf_free(&bad);
  put(&bad, pk.p, pk.n / 2);
  expect_zip_error("cut pickle", &bad, s, ns, MV_E_FORMAT, "data.pkl", NULL);
  buf_free(&bad);
  buf_free(&pk);

  /* Unknown globals. */
  tspec evil[1] = {T("a", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1})};
  put8(&pk, 0x80);
  put8(&pk, 2);
  pk_global(&pk, "os", "system", 2);
  pk_str(&pk, "echo hi", 2);
  put8(&pk, 0x85);
  put8(&pk, 'R');
  put8(&pk, '.');
  expect_zip_error("os.system", &pk, s, ns, MV_E_UNSUPPORTED, "'os.system'", "byte 2");
  buf_free(&pk);
  evil[0].storage_type = "QInt8Storage";
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("unknown storage type", &pk, s, ns, MV_E_UNSUPPORTED, "torch.QInt8Storage",
                   NULL);
  buf_free(&pk);
  evil[0].storage_type = "BFloat16Storage";
  pk_state_dict(&pk, evil, 1, 4, 0);
  expect_zip_error("bfloat16 storage", &pk, s, ns, MV_E_UNSUPPORTED, "torch.BFloat16Storage",
                   "not supported");
  buf_free(&pk);

  /* Storage shorter than the tensor: too few bytes, or a too small recorded size. */
  evil[0].storage_type = "FloatStorage";
  pk_state_dict(&pk, evil, 1, 2, 0);
  sdata short_s[1] = {{"0", F32, 8, 0}};
  expect_zip_error("short storage bytes", &pk, short_s, 1, MV_E_FORMAT, "key 'a'", "storage '0'");
  buf_free(&pk);
  evil[0].storage_numel = 4;
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("short storage record", &pk, s, ns, MV_E_FORMAT, "key 'a'", "needs 12");
  buf_free(&pk);
  evil[0].storage_numel = 12;
  evil[0].offset = 1; /* one past the end */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("offset past the end", &pk, s, ns, MV_E_FORMAT, "key 'a'", NULL);
  buf_free(&pk);
  evil[0].offset = 0;
  evil[0].stride[0] = INT64_MAX / 2; /* extent overflows */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("huge stride", &pk, s, ns, MV_E_FORMAT, "key 'a'", NULL);
  buf_free(&pk);
  evil[0].stride[0] = 4;
  tspec expand[1] = {T("x", "FloatStorage", "0", 12, 0, 3, {100000, 100000, 100000}, {0, 0, 0})};
  pk_state_dict(&pk, expand, 1, 2, 0);
  expect_zip_error("huge expanded view", &pk, s, ns, MV_E_FORMAT, "key 'x'", "expanded");
  buf_free(&pk);
  /* Storage entry missing. */
  pk_state_dict(&pk, evil, 1, 2, 0);
  expect_zip_error("missing storage", &pk, s + 1, ns - 1, MV_E_FORMAT, "key 'a'", "bad/data/0");
  /* No data.pkl at all: a zip of storages only. */
  zentry only[1] = {{"bad/data/0", F32, sizeof F32, 0}};
  buf z = {0};
  zip_build(&z, only, 1, 0, NULL);
  expect_open_error(write_buf("nopkl.pth", &z), MV_E_FORMAT, "data.pkl", "no data.pkl");
  buf_free(&z);
  /* Central directory pointing at a local header beyond the file. */
  zentry two[2] = {{"bad/data.pkl", pk.p, pk.n, 0}, {"bad/data/0", F32, sizeof F32, 0}};
  zip_build(&z, two, 2, 0, NULL);
  uint8_t *cd = NULL;
  for (size_t i = 0; i + 4 <= z.n; i++)
    if (memcmp(z.p + i, "PK\x01\x02", 4) == 0) cd = z.p + i; /* the last one: data/0 */
  CHECK(cd != NULL, "central entry found");
  if (cd) {
    cd[42] = 0xff;
    cd[43] = 0xff;
    cd[44] = 0x7f;
    expect_open_error(write_buf("badoff.pth", &z), MV_E_FORMAT, "bad/data/0", "bad local offset");
  }
  buf_free(&z);
  /* Data running past the end of the file (sizes edited in the directory). */
  zip_build(&z, two, 2, 0, NULL);
  if (cd) {
    for (size_t i = 0; i + 4 <= z.n; i++)
      if (memcmp(z.p + i, "PK\x01\x02", 4) == 0) cd = z.p + i;
    cd[20] = cd[24] = 0xff; /* comp and uncomp size low bytes */
    cd[21] = cd[25] = 0xff;
    expect_open_error(write_buf("badsize.pth", &z), MV_E_FORMAT, "bad/data/0", "size past end");
  }
  buf_free(&z);
  buf_free(&pk);

  /* Corrupt deflate stream: open works (lazy), reading the tensor fails. */
  pk_state_dict(&pk, t, n, 2, 0);
  sdata sd[16];
  int nsd = good_storages(sd, 1);
  uint8_t junk[40];
  for (int i = 0; i < 40; i++) junk[i] = (uint8_t)(0xff - i * 7);
  zentry ze[20];
  char names[20][64];
  int nz = 0;
  ze[nz++] = (zentry){"q/data.pkl", pk.p, pk.n, 0};
  for (int i = 0; i < nsd; i++) {
    snprintf(names[i], sizeof names[i], "q/data/%s", sd[i].key);
    ze[nz++] = (zentry){names[i], sd[i].data, sd[i].len, sd[i].deflate};
  }
  zip_build(&z, ze, nz, 0, NULL);
  /* overwrite the deflated bytes of q/data/2 (after its local header) with junk */
  for (size_t i = 0; i + 9 <= z.n; i++)
    if (memcmp(z.p + i, "q/data/2", 8) == 0) { /* first hit: the local header */
      memcpy(z.p + i + 8, junk, 10);
      break;
    }
  mv_checkpoint *c = NULL;
  if (CHECK_OK(mv_checkpoint_open(write_buf("badzlib.pth", &z), &c))) {
    mv_array *a = NULL;
    CHECK_FAILS(mv_checkpoint_get(c, "d.double", &a), MV_E_FORMAT);
    CHECK(strstr(mv_error_message(), "q/data/2") != NULL, "names the entry: %s",
          mv_error_message());
    CHECK_OK(mv_checkpoint_get(c, "a", &a));
    mv_array_free(a);
  }
  mv_checkpoint_close(c);
  buf_free(&z);
  buf_free(&pk);

  /* Structural problems in the pickle. */
  put(&pk, "\x80\x02]q\x00.", 6); /* a list, not a dict */
  expect_zip_error("root is a list", &pk, s, ns, MV_E_FORMAT, "not a state_dict", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02}(X\x01\x00\x00\x00xK\x05u.", 14); /* {'x': 5} */
  expect_zip_error("value not a tensor", &pk, s, ns, MV_E_FORMAT, "key 'x'", "int");
  buf_free(&pk);
  tspec dup[2] = {T("a", "FloatStorage", "0", 12, 0, 1, {4}, {1}),
                  T("a", "FloatStorage", "0", 12, 4, 1, {4}, {1})};
  pk_state_dict(&pk, dup, 2, 2, 0);
  expect_zip_error("duplicate key", &pk, s, ns, MV_E_FORMAT, "'a' appears twice", NULL);
  buf_free(&pk);
  tspec nine[1] = {T("a", "FloatStorage", "0", 12, 0, 9, {1, 1, 1, 1, 1, 1, 1, 1, 12},
                     {12, 12, 12, 12, 12, 12, 12, 12, 1})};
  pk_state_dict(&pk, nine, 1, 2, 0);
  expect_zip_error("9 dimensions", &pk, s, ns, MV_E_UNSUPPORTED, "9 dimensions", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02R.", 4); /* REDUCE on an empty stack */
  expect_zip_error("stack underflow", &pk, s, ns, MV_E_FORMAT, "underflow", "0x52");
  buf_free(&pk);
  put(&pk, "\x80\x02}r\xff\xff\xff\x7f.", 9); /* LONG_BINPUT 2^31-1 */
  expect_zip_error("memo bomb", &pk, s, ns, MV_E_FORMAT, "memo", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02h\x05.", 5); /* BINGET of an empty slot */
  expect_zip_error("empty memo slot", &pk, s, ns, MV_E_FORMAT, "memo", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02", 2); /* 100000 nested MARKs */
  for (int i = 0; i < 100000; i++) put8(&pk, '(');
  put8(&pk, '.');
  expect_zip_error("mark bomb", &pk, s, ns, MV_E_MEMORY, "MARK", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02", 2); /* 1.5 million pushes: bounded stack */
  for (int i = 0; i < 1500000; i++) put8(&pk, 'N');
  put8(&pk, '.');
  expect_zip_error("stack bomb", &pk, s, ns, MV_E_MEMORY, "stack", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x06}.", 4);
  expect_zip_error("protocol 6", &pk, s, ns, MV_E_UNSUPPORTED, "protocol", NULL);
  buf_free(&pk);
  put(&pk, "\x80\x02X\xff\xff\xff\x00" "ab.", 10); /* string longer than the data */
  expect_zip_error("long string", &pk, s, ns, MV_E_FORMAT, "ends inside opcode 0x58", NULL);
  buf_free(&pk);

  /* Every single-byte change of a small valid pickle: never a crash or a leak. */
  tspec small[3] = {T("w", "FloatStorage", "0", 12, 0, 2, {3, 4}, {4, 1}),
                    T("v", "FloatStorage", "0", 12, 1, 1, {3}, {4}, 1),
                    T("h", "HalfStorage", "1", 4, 0, 1, {4}, {1})};
  pk_state_dict(&pk, small, 3, 4, 0);
  int ok = 0, failed_with_message = 0, total = 0;
  for (size_t pos = 0; pos < pk.n; pos++) {
    for (int k = 0; k < 2; k++) {
      uint8_t saved = pk.p[pos];
      pk.p[pos] = k ? (uint8_t)(saved + 1) : 0x00;
      if (pk.p[pos] == saved) continue;
      c = NULL;
      total++;
      mv_status st = mv_checkpoint_open(make_zip("mut.pth", "m", &pk, s, ns, 0, NULL), &c);
      if (st == MV_OK) {
        ok++;
        for (int i = 0; i < mv_checkpoint_count(c); i++) {
          mv_array *a = NULL;
          mv_checkpoint_get(c, mv_checkpoint_key(c, i), &a);
          mv_array_free(a);
        }
        mv_checkpoint_close(c);
      } else {
        failed_with_message += mv_error_message()[0] != '\0' && c == NULL;
      }
      pk.p[pos] = saved;
    }
  }
  CHECK(failed_with_message == total - ok, "mutated pickles: %d opened, %d failed, all with a "
        "message", ok, total - ok);
  CHECK(total - ok > total / 2, "most mutations are detected (%d of %d)", total - ok, total);
  buf_free(&pk);
}

int main(void) {
  check_damaged_fixture();
  check_bad_zips();
  return mv_test_finish();
}
