// The file namespace as a program sees it on Linux: a working directory
// (chdir, fchdir, getcwd, relative paths, one removed under it), a
// writable /tmp, the devices of /dev, access(), readlink of a file that is
// no link, truncation and the errors of paths that cannot be followed.
// Everything it looks at exists on any Linux host too, so the output is
// the same under qemu-riscv64.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "check.h"

#define DIR_A "/tmp/rvmsmp-namespace"

static int in_dir(const char *dir, const char *name) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d)))
    found |= strcmp(e->d_name, name) == 0;
  closedir(d);
  return found;
}

static int cwd_is(const char *want) {
  char buf[256];
  return getcwd(buf, sizeof buf) && strcmp(buf, want) == 0;
}

static void working_directory(void) {
  check(chdir("/") == 0 && cwd_is("/"), "chdir / and getcwd");
  check(chdir("/tmp") == 0 && cwd_is("/tmp"), "chdir /tmp and getcwd");
  mkdir(DIR_A, 0755);
  check(mkdir("rvmsmp-namespace/sub", 0755) == 0, "mkdir with a relative path");
  check(chdir("rvmsmp-namespace/sub") == 0 && cwd_is(DIR_A "/sub"), "chdir into it: getcwd names it");
  check(chdir("..") == 0 && cwd_is(DIR_A), "chdir .. goes up one");
  int fd = open("sub", O_RDONLY | O_DIRECTORY);
  check(fd >= 0 && chdir("/") == 0 && fchdir(fd) == 0 && cwd_is(DIR_A "/sub"), "fchdir to an open directory");
  close(fd);
  int f = open("file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  check(f >= 0 && write(f, "relative", 8) == 8, "create a file relative to the working directory");
  close(f);
  struct stat st;
  check(stat(DIR_A "/sub/file", &st) == 0 && st.st_size == 8, "the absolute path names the same file");
  check(stat("../sub/./file", &st) == 0 && st.st_size == 8, "paths through . and .. reach it too");
  char small[4];
  errno = 0;
  check(getcwd(small, sizeof small) == NULL && errno == ERANGE, "getcwd into a small buffer: ERANGE");
  unlink("file");
  check(rmdir(DIR_A "/sub") == 0, "rmdir the working directory");
  char buf[256];
  errno = 0;
  check(getcwd(buf, sizeof buf) == NULL && errno == ENOENT, "getcwd after that: ENOENT");
  errno = 0;
  check(open("newfile", O_CREAT | O_WRONLY, 0644) < 0 && errno == ENOENT, "nothing can be created there: ENOENT");
  check(chdir("/tmp") == 0 && rmdir(DIR_A) == 0, "back to /tmp; remove the directory");
}

static void devices(void) {
  int fd = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0 && write(fd, "gone", 4) == 4, "/dev/null takes writes (opened as a shell's > would)");
  close(fd);
  char buf[64];
  fd = open("/dev/null", O_RDONLY);
  check(fd >= 0 && read(fd, buf, sizeof buf) == 0, "/dev/null reads end of file");
  close(fd);
  memset(buf, 7, sizeof buf);
  fd = open("/dev/zero", O_RDONLY);
  int zeros = fd >= 0 && read(fd, buf, sizeof buf) == sizeof buf;
  for (size_t i = 0; i < sizeof buf; i++)
    zeros &= buf[i] == 0;
  check(zeros, "/dev/zero reads zeros");
  close(fd);
  fd = open("/dev/full", O_WRONLY);
  errno = 0;
  check(fd >= 0 && write(fd, "x", 1) < 0 && errno == ENOSPC, "/dev/full: ENOSPC");
  close(fd);
  fd = open("/dev/urandom", O_RDONLY);
  check(fd >= 0 && read(fd, buf, 16) == 16, "/dev/urandom gives 16 bytes");
  close(fd);
  struct stat st;
  check(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
        "stat /dev/null: a character device, 1:3");
  check(stat("/dev/zero", &st) == 0 && st.st_rdev == makedev(1, 5), "stat /dev/zero: 1:5");
  check(in_dir("/dev", "null") && in_dir("/dev", "urandom"), "/dev lists null and urandom");
  check(lseek(open("/dev/zero", O_RDONLY), 100, SEEK_SET) == 0, "lseek on /dev/zero gives 0");
}

static void access_and_errors(void) {
  check(access("/tmp", W_OK | X_OK) == 0, "access /tmp: writable and searchable");
  errno = 0;
  check(access("/tmp/rvmsmp-namespace-none", F_OK) < 0 && errno == ENOENT, "access of a missing file: ENOENT");
  int fd = open("/tmp/rvmsmp-namespace-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0, "create /tmp/rvmsmp-namespace-file");
  errno = 0;
  check(open("/tmp/rvmsmp-namespace-file/x", O_RDONLY) < 0 && errno == ENOTDIR, "a file as a directory: ENOTDIR");
  errno = 0;
  check(chdir("/tmp/rvmsmp-namespace-file") < 0 && errno == ENOTDIR, "chdir to a file: ENOTDIR");
  char link[64];
  errno = 0;
  check(readlink("/tmp/rvmsmp-namespace-file", link, sizeof link) < 0 && errno == EINVAL,
        "readlink of a file that is no link: EINVAL");
  errno = 0;
  check(readlink("/tmp/rvmsmp-namespace-none", link, sizeof link) < 0 && errno == ENOENT,
        "readlink of a missing file: ENOENT");
  // Truncation: shorter, then longer again (the bytes in between read zeros).
  struct stat st;
  check(write(fd, "0123456789", 10) == 10 && ftruncate(fd, 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 4,
        "ftruncate to 4");
  char buf[16];
  memset(buf, 'x', sizeof buf);
  check(ftruncate(fd, 12) == 0 && pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "0123\0\0\0\0\0\0\0\0", 12) == 0,
        "ftruncate to 12: the new bytes read zeros");
  int ro = open("/tmp/rvmsmp-namespace-file", O_RDONLY);
  errno = 0;
  check(ftruncate(ro, 0) < 0 && errno == EINVAL, "ftruncate of a read-only descriptor: EINVAL");
  close(ro);
  check(truncate("/tmp/rvmsmp-namespace-file", 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3,
        "truncate by path to 3");
  close(fd);
  check(unlink("/tmp/rvmsmp-namespace-file") == 0, "unlink it");
}

int main(void) {
  working_directory();
  devices();
  access_and_errors();
  return check_status();
}
