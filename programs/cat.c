// cat [FILE]...: copies each FILE to standard output, in order; with no
// FILE, or for "-", standard input. As coreutils' cat: a file that cannot
// be read gets a message on standard error ("cat: NAME: REASON"), the
// others are still copied, and the exit status is then 1.
#include "user.h"

static char buf[65536];

// Copies fd to standard output; 0, or -errno of the failed read.
static long copy(long fd) {
  for (;;) {
    long n = sys_read(fd, buf, sizeof buf);
    if (n <= 0)
      return n;
    long w = write_full(1, buf, n);
    if (w != n)
      return w < 0 ? w : -EIO;
  }
}

int main(int argc, char **argv) {
  int status = 0;
  if (argc < 2) {
    long err = copy(0);
    if (err < 0) {
      dprintf(2, "cat: -: %s\n", strerror(-err));
      status = 1;
    }
    return status;
  }
  for (int i = 1; i < argc; i++) {
    int is_stdin = strcmp(argv[i], "-") == 0;
    long fd = is_stdin ? 0 : open(argv[i], O_RDONLY, 0);
    long err = fd < 0 ? fd : copy(fd);
    if (err < 0) {
      dprintf(2, "cat: %s: %s\n", argv[i], strerror(-err));
      status = 1;
    }
    if (fd > 0 && !is_stdin)
      sys_close(fd);
  }
  return status;
}
