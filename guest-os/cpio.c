// Reading the initramfs: a cpio archive in the "newc" format (header magic
// "070701", 13 eight-digit hex fields, the name, then the data, each padded
// to 4 bytes), as Linux reads it.
#include "defs.h"

#define HEADER_SIZE 110

static uint64 hex_field(const char *h, int index) {
  uint64 v = 0;
  for (const char *c = h + 6 + 8 * index; c < h + 14 + 8 * index; c++) {
    int d = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : *c >= 'A' && *c <= 'F' ? *c - 'A' + 10 : -1;
    if (d < 0)
      return (uint64)-1;
    v = v * 16 + d;
  }
  return v;
}

// Leading "/" and "./" do not matter in archive names.
static const char *plain(const char *name) {
  for (;;) {
    if (name[0] == '/')
      name++;
    else if (name[0] == '.' && name[1] == '/')
      name += 2;
    else
      return name;
  }
}

// The entry at byte *off of the archive into *e, advancing *off past it:
// 1, or 0 at the trailer, the end or a malformed header.
int cpio_next(const char *archive, uint64 size, uint64 *off, struct cpio_entry *e) {
  uint64 at = *off;
  if (at + HEADER_SIZE > size)
    return 0;
  const char *h = archive + at;
  if (strncmp(h, "070701", 6) != 0)
    return 0;
  uint64 mode = hex_field(h, 1), data_size = hex_field(h, 6), name_size = hex_field(h, 11);
  if (mode == (uint64)-1 || data_size == (uint64)-1 || name_size == (uint64)-1 || name_size == 0)
    return 0;
  uint64 name_off = at + HEADER_SIZE;
  if (name_size > size - name_off)
    return 0;
  uint64 data_off = (name_off + name_size + 3) & ~3UL;
  if (data_off > size || data_size > size - data_off || archive[name_off + name_size - 1] != 0)
    return 0;
  const char *name = archive + name_off;
  if (strcmp(name, "TRAILER!!!") == 0)
    return 0;
  e->name = plain(name);
  e->data = archive + data_off;
  e->size = data_size;
  e->mode = (uint32)mode;
  e->offset = at;
  *off = (data_off + data_size + 3) & ~3UL;
  return 1;
}

// The contents of the file named `path`, or NULL if the archive lacks it or is malformed.
const char *cpio_find(const char *archive, uint64 size, const char *path, uint64 *file_size) {
  uint64 off = 0;
  struct cpio_entry e;
  path = plain(path);
  while (cpio_next(archive, size, &off, &e))
    if (strcmp(e.name, path) == 0) {
      *file_size = e.size;
      return e.data;
    }
  return NULL;
}
