/* Minimal read-only zip reader: end-of-central-directory search, zip64,
 * central directory and local headers, stored and deflated entries. */
#include "weights/zip_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"

enum {
  SIG_LOCAL = 0x04034b50,
  SIG_CENTRAL = 0x02014b50,
  SIG_EOCD = 0x06054b50,
  SIG_EOCD64 = 0x06064b50,
  SIG_LOCATOR64 = 0x07064b50,
  EOCD_SIZE = 22,
  EOCD64_SIZE = 56,
  LOCATOR64_SIZE = 20,
  CENTRAL_SIZE = 46,
  LOCAL_SIZE = 30
};

typedef struct zip_entry {
  char *name;
  uint64_t local_offset;
  uint64_t data_offset; /* after the local header */
  uint64_t comp_size, size;
  uint32_t crc;
  uint16_t method, flags;
} zip_entry;

struct mv_zip {
  char *path;
  mv_mapped_file file; /* owned when opened by path */
  int owns_file;
  const uint8_t *data;
  uint64_t size;
  int count;
  zip_entry *entries;
};

/* ---- mapping --------------------------------------------------------------- */

mv_status mv_map_file(const char *path, mv_mapped_file *out) {
  MV_CHECK_ARG(out, "mv_map_file: out is NULL");
  memset(out, 0, sizeof *out);
  MV_CHECK_ARG(path && path[0], "mv_map_file: path is NULL or empty");
  int fd = open(path, O_RDONLY);
  if (fd < 0) return mv_fail(MV_E_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return mv_fail(MV_E_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return mv_fail(MV_E_IO, "%s: not a regular file", path);
  }
  if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
    close(fd);
    return mv_fail(MV_E_MEMORY, "%s: file too large to map", path);
  }
  size_t size = (size_t)sb.st_size;
  if (size == 0) {
    close(fd);
    return MV_OK;
  }
  void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p != MAP_FAILED) {
    close(fd);
    out->data = p;
    out->size = size;
    out->mapped = 1;
    return MV_OK;
  }
  /* Filesystems without mmap: read it all. */
  uint8_t *buf = malloc(size);
  if (!buf) {
    close(fd);
    return mv_fail(MV_E_MEMORY, "%s: cannot allocate %zu bytes", path, size);
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      free(buf);
      close(fd);
      return mv_fail(MV_E_IO, "%s: read failed: %s", path, strerror(e));
    }
    done += (size_t)n;
  }
  close(fd);
  out->data = buf;
  out->size = size;
  out->mapped = 0;
  return MV_OK;
}

void mv_unmap_file(mv_mapped_file *file) {
  if (!file || !file->data) return;
  if (file->mapped)
    munmap((void *)file->data, file->size);
  else
    free((void *)file->data);
  memset(file, 0, sizeof *file);
}

/* ---- little-endian fields ---------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* [offset, offset + len) lies inside [0, size). */
static int in_bounds(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

/* ---- open ---------------------------------------------------------------------- */

static void zip_free(mv_zip *z) {
  if (!z) return;
  for (int i = 0; i < z->count; i++) free(z->entries[i].name);
  free(z->entries);
  if (z->owns_file) mv_unmap_file(&z->file);
  free(z->path);
  free(z);
}

static mv_status find_eocd(const mv_zip *z, uint64_t *pos) {
  if (z->size == 0) return mv_fail(MV_E_FORMAT, "%s: empty file, not a zip archive", z->path);
  if (z->size < EOCD_SIZE)
    return mv_fail(MV_E_FORMAT, "%s: %llu bytes is too short for a zip archive", z->path,
                   (unsigned long long)z->size);
  uint64_t last = z->size - EOCD_SIZE;
  uint64_t first = last > 0xffff ? last - 0xffff : 0; /* the comment is at most 65535 bytes */
  for (uint64_t i = last + 1; i-- > first;) {
    const uint8_t *p = z->data + i;
    if (rd32(p) == SIG_EOCD && (uint64_t)rd16(p + 20) <= z->size - i - EOCD_SIZE) {
      *pos = i;
      return MV_OK;
    }
  }
  return mv_fail(MV_E_FORMAT,
                 "%s: no zip end-of-central-directory record (not a zip archive, or truncated)",
                 z->path);
}

/* Fills the sizes/offset marked 0xffffffff from a zip64 extra field. */
static mv_status read_zip64_extra(const mv_zip *z, zip_entry *e, const uint8_t *extra,
                                  uint16_t extra_len, uint32_t raw_comp, uint32_t raw_size,
                                  uint32_t raw_offset) {
  int need_size = raw_size == 0xffffffffu, need_comp = raw_comp == 0xffffffffu,
      need_off = raw_offset == 0xffffffffu;
  if (!need_size && !need_comp && !need_off) return MV_OK;
  uint32_t p = 0;
  while (p + 4 <= extra_len) {
    uint16_t id = rd16(extra + p), len = rd16(extra + p + 2);
    if (p + 4 + (uint32_t)len > extra_len) break;
    if (id == 0x0001) {
      const uint8_t *f = extra + p + 4;
      uint32_t q = 0;
      if (need_size) {
        if (q + 8 > len) goto bad;
        e->size = rd64(f + q);
        q += 8;
      }
      if (need_comp) {
        if (q + 8 > len) goto bad;
        e->comp_size = rd64(f + q);
        q += 8;
      }
      if (need_off) {
        if (q + 8 > len) goto bad;
        e->local_offset = rd64(f + q);
      }
      return MV_OK;
    }
    p += 4 + (uint32_t)len;
  }
bad:
  return mv_fail(MV_E_FORMAT, "%s: entry '%s': zip64 sizes are missing or short in its extra field",
                 z->path, e->name);
}

static mv_status parse_central(mv_zip *z, uint64_t cd_offset, uint64_t cd_size, uint64_t total) {
  if (!in_bounds(cd_offset, cd_size, z->size))
    return mv_fail(MV_E_FORMAT,
                   "%s: central directory (offset %llu, %llu bytes) lies outside the file (%llu "
                   "bytes; truncated?)",
                   z->path, (unsigned long long)cd_offset, (unsigned long long)cd_size,
                   (unsigned long long)z->size);
  if (total > cd_size / CENTRAL_SIZE)
    return mv_fail(MV_E_FORMAT, "%s: %llu entries cannot fit in a %llu-byte central directory",
                   z->path, (unsigned long long)total, (unsigned long long)cd_size);
  if (total > 0x7fffffff) return mv_fail(MV_E_FORMAT, "%s: too many entries", z->path);
  z->entries = calloc(total ? (size_t)total : 1, sizeof *z->entries);
  if (!z->entries) return mv_fail(MV_E_MEMORY, "%s: out of memory", z->path);
  const uint8_t *cd = z->data + cd_offset;
  uint64_t p = 0;
  for (uint64_t k = 0; k < total; k++) {
    if (cd_size - p < CENTRAL_SIZE || rd32(cd + p) != SIG_CENTRAL)
      return mv_fail(MV_E_FORMAT, "%s: central directory entry %llu is corrupt or truncated",
                     z->path, (unsigned long long)k);
    const uint8_t *h = cd + p;
    uint16_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
    uint64_t rec = (uint64_t)CENTRAL_SIZE + name_len + extra_len + comment_len;
    if (cd_size - p < rec)
      return mv_fail(MV_E_FORMAT, "%s: central directory entry %llu runs past the directory end",
                     z->path, (unsigned long long)k);
    zip_entry *e = &z->entries[z->count];
    e->name = malloc((size_t)name_len + 1);
    if (!e->name) return mv_fail(MV_E_MEMORY, "%s: out of memory", z->path);
    memcpy(e->name, h + CENTRAL_SIZE, name_len);
    e->name[name_len] = '\0';
    z->count++;
    if (memchr(h + CENTRAL_SIZE, 0, name_len))
      return mv_fail(MV_E_FORMAT, "%s: entry %llu has a NUL byte in its name", z->path,
                     (unsigned long long)k);
    e->flags = rd16(h + 8);
    e->method = rd16(h + 10);
    e->crc = rd32(h + 16);
    uint32_t raw_comp = rd32(h + 20), raw_size = rd32(h + 24), raw_off = rd32(h + 42);
    e->comp_size = raw_comp;
    e->size = raw_size;
    e->local_offset = raw_off;
    MV_TRY(read_zip64_extra(z, e, h + CENTRAL_SIZE + name_len, extra_len, raw_comp, raw_size,
                            raw_off));
    /* Local header: its own name/extra lengths decide where the data starts
     * (its sizes may be zero when a data descriptor follows: use the central ones). */
    if (!in_bounds(e->local_offset, LOCAL_SIZE, z->size) ||
        rd32(z->data + e->local_offset) != SIG_LOCAL)
      return mv_fail(MV_E_FORMAT,
                     "%s: entry '%s': no local header at offset %llu (file is %llu bytes; "
                     "truncated or corrupt)",
                     z->path, e->name, (unsigned long long)e->local_offset,
                     (unsigned long long)z->size);
    const uint8_t *lh = z->data + e->local_offset;
    e->data_offset = e->local_offset + LOCAL_SIZE + rd16(lh + 26) + rd16(lh + 28);
    if (!in_bounds(e->data_offset, e->comp_size, z->size))
      return mv_fail(MV_E_FORMAT,
                     "%s: entry '%s': %llu bytes of data at offset %llu run past the end of the "
                     "file (%llu bytes; truncated?)",
                     z->path, e->name, (unsigned long long)e->comp_size,
                     (unsigned long long)e->data_offset, (unsigned long long)z->size);
    p += rec;
  }
  return MV_OK;
}

static mv_status zip_parse(mv_zip *z) {
  uint64_t eocd = 0;
  MV_TRY(find_eocd(z, &eocd));
  const uint8_t *p = z->data + eocd;
  uint16_t disk = rd16(p + 4), cd_disk = rd16(p + 6);
  uint64_t total = rd16(p + 10), cd_size = rd32(p + 12), cd_offset = rd32(p + 16);
  /* zip64: a locator right before the record points at the zip64 record. */
  if (eocd >= LOCATOR64_SIZE && rd32(z->data + eocd - LOCATOR64_SIZE) == SIG_LOCATOR64) {
    uint64_t off64 = rd64(z->data + eocd - LOCATOR64_SIZE + 8);
    if (!in_bounds(off64, EOCD64_SIZE, z->size) || rd32(z->data + off64) != SIG_EOCD64)
      return mv_fail(MV_E_FORMAT, "%s: zip64 end-of-central-directory record missing at %llu",
                     z->path, (unsigned long long)off64);
    const uint8_t *q = z->data + off64;
    disk = rd32(q + 16) ? 1 : 0;
    cd_disk = rd32(q + 20) ? 1 : 0;
    total = rd64(q + 32);
    cd_size = rd64(q + 40);
    cd_offset = rd64(q + 48);
  } else if (total == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    return mv_fail(MV_E_FORMAT, "%s: zip64 archive without its zip64 locator", z->path);
  }
  if (disk != 0 || cd_disk != 0)
    return mv_fail(MV_E_UNSUPPORTED, "%s: multi-volume zip archives are not supported", z->path);
  return parse_central(z, cd_offset, cd_size, total);
}

static mv_status zip_new(const char *name, mv_zip **out) {
  mv_zip *z = calloc(1, sizeof *z);
  if (!z) return mv_fail(MV_E_MEMORY, "mv_zip_open: out of memory");
  z->path = strdup(name);
  if (!z->path) {
    free(z);
    return mv_fail(MV_E_MEMORY, "mv_zip_open: out of memory");
  }
  *out = z;
  return MV_OK;
}

mv_status mv_zip_open_memory(const char *name, const uint8_t *data, size_t size, mv_zip **out) {
  MV_CHECK_ARG(out, "mv_zip_open_memory: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(name, "mv_zip_open_memory: name is NULL");
  MV_CHECK_ARG(data || size == 0, "mv_zip_open_memory: data is NULL");
  mv_zip *z;
  MV_TRY(zip_new(name, &z));
  z->data = data;
  z->size = size;
  mv_status st = zip_parse(z);
  if (st != MV_OK) {
    zip_free(z);
    return st;
  }
  *out = z;
  return MV_OK;
}

mv_status mv_zip_open(const char *path, mv_zip **out) {
  MV_CHECK_ARG(out, "mv_zip_open: out is NULL");
  *out = NULL;
  MV_CHECK_ARG(path && path[0], "mv_zip_open: path is NULL or empty");
  mv_zip *z;
  MV_TRY(zip_new(path, &z));
  mv_status st = mv_map_file(path, &z->file);
  if (st == MV_OK) {
    z->owns_file = 1;
    z->data = z->file.data;
    z->size = z->file.size;
    st = zip_parse(z);
  }
  if (st != MV_OK) {
    zip_free(z);
    return st;
  }
  *out = z;
  return MV_OK;
}

void mv_zip_close(mv_zip *zip) { zip_free(zip); }

int mv_zip_count(const mv_zip *zip) { return zip ? zip->count : 0; }

const char *mv_zip_name(const mv_zip *zip, int index) {
  if (!zip || index < 0 || index >= zip->count) return NULL;
  return zip->entries[index].name;
}

int mv_zip_find(const mv_zip *zip, const char *name) {
  if (!zip || !name) return -1;
  for (int i = 0; i < zip->count; i++)
    if (strcmp(zip->entries[i].name, name) == 0) return i;
  return -1;
}

uint64_t mv_zip_size(const mv_zip *zip, int index) {
  if (!zip || index < 0 || index >= zip->count) return 0;
  return zip->entries[index].size;
}

const char *mv_zip_path(const mv_zip *zip) { return zip ? zip->path : ""; }

/* zlib takes 32-bit lengths: feed it in chunks. */
static uint32_t crc_of(const uint8_t *p, uint64_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)crc;
}

static mv_status inflate_entry(const mv_zip *z, const zip_entry *e, uint8_t *dst) {
  z_stream s;
  memset(&s, 0, sizeof s);
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
    return mv_fail(MV_E_MEMORY, "%s: entry '%s': zlib init failed", z->path, e->name);
  const uint8_t *src = z->data + e->data_offset;
  uint64_t in_left = e->comp_size, out_left = e->size;
  int rc = Z_OK;
  s.next_in = (Bytef *)src;
  s.next_out = dst;
  while (rc == Z_OK) {
    if (s.avail_in == 0 && in_left) {
      s.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
      in_left -= s.avail_in;
    }
    if (s.avail_out == 0 && out_left) {
      s.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
      out_left -= s.avail_out;
    }
    uLong before_in = s.total_in, before_out = s.total_out;
    rc = inflate(&s, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && s.total_in == before_in && s.total_out == before_out) break;
    if (rc == Z_BUF_ERROR) rc = Z_OK;
  }
  uint64_t produced = (uint64_t)s.total_out;
  const char *msg = s.msg;
  inflateEnd(&s);
  if (rc != Z_STREAM_END)
    return mv_fail(MV_E_FORMAT, "%s: entry '%s': corrupt deflate data (%s)", z->path, e->name,
                   msg ? msg : rc == Z_BUF_ERROR ? "data ends early or is longer than stated"
                                                 : "zlib error");
  if (produced != e->size)
    return mv_fail(MV_E_FORMAT, "%s: entry '%s': inflates to %llu bytes, directory says %llu",
                   z->path, e->name, (unsigned long long)produced, (unsigned long long)e->size);
  return MV_OK;
}

mv_status mv_zip_data(const mv_zip *zip, int index, const uint8_t **data, size_t *size,
                      void **owned) {
  MV_CHECK_ARG(zip && data && size && owned, "mv_zip_data: NULL argument");
  *data = NULL;
  *size = 0;
  *owned = NULL;
  MV_CHECK_ARG(index >= 0 && index < zip->count, "mv_zip_data: %s: entry index %d out of 0..%d",
               zip->path, index, zip->count - 1);
  const zip_entry *e = &zip->entries[index];
  if (e->flags & 1)
    return mv_fail(MV_E_UNSUPPORTED, "%s: entry '%s' is encrypted", zip->path, e->name);
  if (e->size > (uint64_t)SIZE_MAX)
    return mv_fail(MV_E_MEMORY, "%s: entry '%s' is too large", zip->path, e->name);
  const uint8_t *bytes;
  uint8_t *buf = NULL;
  if (e->method == 0) {
    if (e->comp_size != e->size)
      return mv_fail(MV_E_FORMAT, "%s: entry '%s' is stored but its sizes differ (%llu vs %llu)",
                     zip->path, e->name, (unsigned long long)e->comp_size,
                     (unsigned long long)e->size);
    bytes = zip->data + e->data_offset;
  } else if (e->method == 8) {
    buf = malloc(e->size ? (size_t)e->size : 1);
    if (!buf)
      return mv_fail(MV_E_MEMORY, "%s: entry '%s': cannot allocate %llu bytes", zip->path,
                     e->name, (unsigned long long)e->size);
    mv_status st = inflate_entry(zip, e, buf);
    if (st != MV_OK) {
      free(buf);
      return st;
    }
    bytes = buf;
  } else {
    return mv_fail(MV_E_UNSUPPORTED,
                   "%s: entry '%s' uses compression method %u (only stored and deflate)",
                   zip->path, e->name, (unsigned)e->method);
  }
  uint32_t crc = crc_of(bytes, e->size);
  if (crc != e->crc) {
    free(buf);
    return mv_fail(MV_E_FORMAT, "%s: entry '%s': CRC-32 is %08x, directory says %08x (corrupt)",
                   zip->path, e->name, (unsigned)crc, (unsigned)e->crc);
  }
  *data = bytes;
  *size = (size_t)e->size;
  *owned = buf;
  return MV_OK;
}
