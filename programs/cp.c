// cp SRC DST: copies the regular file SRC to DST, or into DST when DST is
// a directory, creating or truncating the copy; as coreutils' cp, it
// reports problems on standard error ("cp: cannot stat 'SRC': No such
// file or directory") and exits with status 1.
#include "user.h"

static char buf[65536];
static char target[512];

static int fail(const char *what, const char *name, long err) {
  dprintf(2, "cp: %s '%s': %s\n", what, name, strerror(-err));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    if (argc < 3)
      dprintf(2, "cp: missing %s operand\n", argc < 2 ? "file" : "destination file");
    else
      dprintf(2, "cp: extra operand '%s'\n", argv[3]);
    return 1;
  }
  const char *src = argv[1], *dst = argv[2];
  struct stat st;
  long r = sys_newfstatat(AT_FDCWD, src, &st, 0);
  if (r < 0)
    return fail("cannot stat", src, r);
  if (S_ISDIR(st.st_mode)) {
    dprintf(2, "cp: -r not specified; omitting directory '%s'\n", src);
    return 1;
  }
  struct stat dst_st;
  if (sys_newfstatat(AT_FDCWD, dst, &dst_st, 0) == 0 && S_ISDIR(dst_st.st_mode)) {
    const char *base = src;
    for (const char *s = src; *s; s++)
      if (*s == '/' && s[1])
        base = s + 1;
    snprintf(target, sizeof target, "%s/%s", dst, base);
    dst = target;
  }
  long in = open(src, O_RDONLY, 0);
  if (in < 0)
    return fail("cannot open", src, in);
  long out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0)
    return fail("cannot create regular file", dst, out);
  for (;;) {
    long n = sys_read(in, buf, sizeof buf);
    if (n < 0)
      return fail("error reading", src, n);
    if (n == 0)
      break;
    long w = write_full(out, buf, n);
    if (w != n)
      return fail("error writing", dst, w < 0 ? w : -EIO);
  }
  r = sys_close(out);
  if (r < 0)
    return fail("failed to close", dst, r);
  sys_close(in);
  return 0;
}
