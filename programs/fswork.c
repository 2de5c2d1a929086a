// fswork: the file-system workload. Each process writes its own file,
// DIR/f<pid>, with a pattern that depends on the pid and the offset, in
// chunks; fsyncs and closes it; then opens it again and reads it back,
// checking every byte and the size. It prints a line when the fsync has
// returned, and one when the check is done:
//
//   fswork: pid 3: /f3: 65536 bytes written, fsync done
//   fswork: pid 3: /f3: read back ok
//
// Usage: fswork [-s SIZE] [-c CHUNK] [-d DIR]: SIZE bytes per file
// (default 65536), written CHUNK bytes at a time (default 4096), in DIR
// (default /; under qemu-riscv64 give a scratch directory). The pattern:
// byte i of the file of process pid is byte i % 8 (little-endian) of
// splitmix64(pid << 32 | i / 8). Exits 0 if the check passed.
#include "user.h"

static uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15UL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
  return z ^ (z >> 31);
}

static unsigned char pattern(long pid, unsigned long i) {
  return (unsigned char)(splitmix64((uint64_t)pid << 32 | i / 8) >> (8 * (i % 8)));
}

static void usage(void) {
  dprintf(2, "usage: fswork [-s SIZE] [-c CHUNK] [-d DIR]\n");
  sys_exit_group(2);
}

int main(int argc, char **argv) {
  long size = 65536, chunk = 4096;
  const char *dir = "/";
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "-s") == 0) {
      if (parse_long(argv[++i], &size) < 0 || size < 0)
        usage();
    } else if (strcmp(argv[i], "-c") == 0) {
      if (parse_long(argv[++i], &chunk) < 0 || chunk <= 0)
        usage();
    } else if (strcmp(argv[i], "-d") == 0) {
      dir = argv[++i];
    } else {
      usage();
    }
  }
  long pid = sys_getpid();
  char name[256];
  unsigned long dlen = strlen(dir);
  snprintf(name, sizeof name, "%s%sf%ld", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", pid);

  // One buffer for a chunk, one for the whole file when reading back.
  unsigned long map = (chunk + size + PAGE_SIZE) & ~(PAGE_SIZE - 1);
  unsigned char *buf = (unsigned char *)sys_mmap(0, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (is_error((long)buf))
    die("fswork: pid %ld: mmap: %s", pid, strerror(-(long)buf));
  unsigned char *back = buf + chunk;

  long fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    die("fswork: pid %ld: %s: cannot create: %s", pid, name, strerror(-fd));
  for (long off = 0; off < size; off += chunk) {
    long n = size - off < chunk ? size - off : chunk;
    for (long i = 0; i < n; i++)
      buf[i] = pattern(pid, off + i);
    long w = write_full(fd, buf, n);
    if (w != n)
      die("fswork: pid %ld: %s: write at %ld: %s", pid, name, off, w < 0 ? strerror(-w) : "short write");
  }
  long r = sys_fsync(fd);
  if (r < 0)
    die("fswork: pid %ld: %s: fsync: %s", pid, name, strerror(-r));
  printf("fswork: pid %ld: %s: %ld bytes written, fsync done\n", pid, name, size);
  r = sys_close(fd);
  if (r < 0)
    die("fswork: pid %ld: %s: close: %s", pid, name, strerror(-r));

  fd = open(name, O_RDONLY, 0);
  if (fd < 0)
    die("fswork: pid %ld: %s: cannot open: %s", pid, name, strerror(-fd));
  struct stat st;
  r = sys_fstat(fd, &st);
  if (r < 0)
    die("fswork: pid %ld: %s: fstat: %s", pid, name, strerror(-r));
  if (!S_ISREG(st.st_mode) || st.st_size != size)
    die("fswork: pid %ld: %s: fstat says size %ld, mode %x", pid, name, st.st_size, st.st_mode);
  long got = read_full(fd, back, size + 1); // one more: the end of the file must come at size
  if (got < 0)
    die("fswork: pid %ld: %s: read: %s", pid, name, strerror(-got));
  if (got != size)
    die("fswork: pid %ld: %s: read %ld bytes back, not %ld", pid, name, got, size);
  for (long i = 0; i < size; i++)
    if (back[i] != pattern(pid, i))
      die("fswork: pid %ld: %s: byte %ld is %u, not %u", pid, name, i, back[i], pattern(pid, i));
  sys_close(fd);
  printf("fswork: pid %ld: %s: read back ok\n", pid, name);
  return 0;
}
