// bigfile: writes one large file, fsyncs it, and reads it back.
//
//   bigfile PATH MIB
//   bigfile -x PATH MIB
//
// The first form writes MIB mebibytes to PATH, one mebibyte per write, fsyncs and closes
// it, then opens it again and reads it back a mebibyte at a time, checking
// every word and the size. The contents: the 8-byte little-endian word at
// byte offset 8k is (k + 1) * 0x9e3779b97f4a7c15 (mod 2^64), different for
// every k, so a block written to the wrong place or lost shows. Prints
//
//   bigfile: PATH: MIB MiB written, fsync done
//   bigfile: PATH: read back ok
//
// The second takes such a file apart: truncates it to half its size,
// checks the size and the last word that stays, then removes it:
//
//   bigfile: PATH: truncated to MIB/2 MiB and removed
//
// Either exits 0; on a failure, one line saying where (on stdout, as the
// runtime's die() prints) and 1.
#include "user.h"

#define CHUNK (1UL << 20)
#define WORDS (CHUNK / 8)

static uint64_t word(uint64_t k) { return (k + 1) * 0x9e3779b97f4a7c15UL; }

#define SYS_ftruncate 46

static int take_apart(const char *path, long mib) {
  long half = mib * (long)CHUNK / 2;
  long fd = open(path, O_RDWR, 0);
  if (fd < 0)
    die("bigfile: %s: cannot open: %s", path, strerror(-fd));
  long r = raw_syscall(SYS_ftruncate, fd, half, 0, 0, 0, 0);
  if (r < 0)
    die("bigfile: %s: ftruncate: %s", path, strerror(-r));
  struct stat st;
  r = sys_fstat(fd, &st);
  if (r < 0 || st.st_size != half)
    die("bigfile: %s: fstat says size %ld, not %ld", path, r < 0 ? r : st.st_size, half);
  uint64_t last, beyond;
  if (sys_pread64(fd, &last, 8, half - 8) != 8 || last != word((uint64_t)half / 8 - 1))
    die("bigfile: %s: the last word that stays is wrong", path);
  if (sys_pread64(fd, &beyond, 8, half) != 0)
    die("bigfile: %s: there is data past the new end", path);
  sys_close(fd);
  r = sys_unlinkat(AT_FDCWD, path, 0);
  if (r < 0)
    die("bigfile: %s: unlink: %s", path, strerror(-r));
  printf("bigfile: %s: truncated to %ld MiB and removed\n", path, mib / 2);
  return 0;
}

int main(int argc, char **argv) {
  long mib;
  int apart = argc == 4 && strcmp(argv[1], "-x") == 0;
  if (argc != 3 + apart || parse_long(argv[2 + apart], &mib) < 0 || mib <= 0) {
    dprintf(2, "usage: bigfile [-x] PATH MIB\n");
    return 2;
  }
  const char *path = argv[1 + apart];
  if (apart)
    return take_apart(path, mib);
  uint64_t *buf = (uint64_t *)sys_mmap(0, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (is_error((long)buf))
    die("bigfile: mmap: %s", strerror(-(long)buf));

  long fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    die("bigfile: %s: cannot create: %s", path, strerror(-fd));
  for (long c = 0; c < mib; c++) {
    for (uint64_t i = 0; i < WORDS; i++)
      buf[i] = word(c * WORDS + i);
    long w = write_full(fd, buf, CHUNK);
    if (w != (long)CHUNK)
      die("bigfile: %s: write at MiB %ld: %s", path, c, w < 0 ? strerror(-w) : "short write");
  }
  long r = sys_fsync(fd);
  if (r < 0)
    die("bigfile: %s: fsync: %s", path, strerror(-r));
  r = sys_close(fd);
  if (r < 0)
    die("bigfile: %s: close: %s", path, strerror(-r));
  printf("bigfile: %s: %ld MiB written, fsync done\n", path, mib);

  fd = open(path, O_RDONLY, 0);
  if (fd < 0)
    die("bigfile: %s: cannot open: %s", path, strerror(-fd));
  struct stat st;
  r = sys_fstat(fd, &st);
  if (r < 0 || st.st_size != mib * (long)CHUNK)
    die("bigfile: %s: fstat says size %ld, not %ld", path, r < 0 ? r : st.st_size, mib * (long)CHUNK);
  for (long c = 0; c < mib; c++) {
    long got = read_full(fd, buf, CHUNK);
    if (got != (long)CHUNK)
      die("bigfile: %s: read at MiB %ld: %s", path, c, got < 0 ? strerror(-got) : "short read");
    for (uint64_t i = 0; i < WORDS; i++)
      if (buf[i] != word(c * WORDS + i))
        die("bigfile: %s: the word at byte %ld is wrong", path, (long)((c * WORDS + i) * 8));
  }
  char extra;
  if (sys_read(fd, &extra, 1) != 0)
    die("bigfile: %s: more than %ld MiB to read", path, mib);
  sys_close(fd);
  printf("bigfile: %s: read back ok\n", path);
  return 0;
}
