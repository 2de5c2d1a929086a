// File attributes and names: modes, owners and times (fchmod, fchmodat,
// fchown, utimensat, futimens), stat against statx, statfs and fstatfs,
// rename and renameat2 (replacing, RENAME_NOREPLACE, moving a directory,
// the error cases), hard links, a file unlinked while open, a sparse file
// past 3 GiB, whole transfers, /proc/self/exe, and what a kernel without
// symbolic links or sockets may say.
// Works in a fresh directory under /tmp, which it removes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

static int write_file(const char *name, const char *text) {
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

// The file's contents as a string ("" if it cannot be read).
static const char *contents(const char *name) {
  static char buf[128];
  buf[0] = 0;
  int fd = open(name, O_RDONLY);
  if (fd < 0)
    return buf;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  return buf;
}

static void modes_owners_times(void) {
  umask(022);
  int fd = open("m", O_RDWR | O_CREAT | O_EXCL, 0666);
  struct stat st;
  fstat(fd, &st);
  check(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644, "a new file's mode is 0666 less the umask 022: %o",
        st.st_mode & 07777);
  fchmod(fd, 0600);
  fstat(fd, &st);
  check((st.st_mode & 07777) == 0600, "fchmod 0600: %o", st.st_mode & 07777);
  fchmodat(AT_FDCWD, "m", 04751, 0);
  stat("m", &st);
  check((st.st_mode & 07777) == 04751, "fchmodat 04751: %o", st.st_mode & 07777);
  int r = fchown(fd, getuid(), getgid());
  fstat(fd, &st);
  check(r == 0 && st.st_uid == getuid() && st.st_gid == getgid(), "fchown to our own uid and gid");
  mkdir("dir", 0777);
  stat("dir", &st);
  check(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755, "mkdir 0777 under umask 022: %o", st.st_mode & 07777);

  struct timespec times[2] = {{1000000000, 123456789}, {1200000000, 5}};
  r = utimensat(AT_FDCWD, "m", times, 0);
  stat("m", &st);
  check(r == 0 && st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789 &&
            st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 5,
        "utimensat sets both times to the nanosecond");
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, 0}};
  futimens(fd, omit);
  fstat(fd, &st);
  check(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 0 && st.st_mtim.tv_nsec == 0,
        "futimens with UTIME_OMIT keeps the access time");
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  errno = 0;
  check(utimensat(AT_FDCWD, "m", bad, 0) < 0 && errno == EINVAL, "a nanosecond count of 1e9 is EINVAL");
  struct stat before;
  fstat(fd, &before);
  write(fd, "more", 4);
  fstat(fd, &st);
  check(st.st_mtim.tv_sec > 0 || st.st_mtim.tv_nsec > 0,
        "a write sets the modification time to now");
  check(st.st_ctim.tv_sec > before.st_ctim.tv_sec ||
            (st.st_ctim.tv_sec == before.st_ctim.tv_sec && st.st_ctim.tv_nsec >= before.st_ctim.tv_nsec),
        "and the change time does not go back");

  struct statx sx;
  r = statx(AT_FDCWD, "m", 0, STATX_BASIC_STATS, &sx);
  stat("m", &st);
  check(r == 0 && (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS && sx.stx_size == (uint64_t)st.st_size &&
            sx.stx_ino == st.st_ino && sx.stx_mode == st.st_mode && sx.stx_nlink == st.st_nlink &&
            sx.stx_mtime.tv_sec == st.st_mtim.tv_sec && sx.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec &&
            sx.stx_blocks == (uint64_t)st.st_blocks,
        "statx agrees with stat");
  r = statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx);
  check(r == 0 && sx.stx_size == 4, "statx of a descriptor with AT_EMPTY_PATH: size %llu",
        (unsigned long long)sx.stx_size);
  errno = 0;
  check(statx(AT_FDCWD, "m", AT_STATX_SYNC_TYPE, STATX_BASIC_STATS, &sx) < 0 && errno == EINVAL,
        "statx with both sync flags is EINVAL");
  close(fd);
}

static void file_systems(void) {
  struct statfs s;
  int r = statfs(".", &s);
  check(r == 0 && s.f_bsize > 0 && s.f_bfree <= s.f_blocks && s.f_bavail <= s.f_blocks && s.f_namelen > 0,
        "statfs of the working directory");
  int fd = open("m", O_RDONLY);
  struct statfs f;
  r = fstatfs(fd, &f);
  check(r == 0 && f.f_type == s.f_type && f.f_blocks == s.f_blocks, "fstatfs agrees with statfs");
  close(fd);
  errno = 0;
  check(statfs("no-such", &s) < 0 && errno == ENOENT, "statfs of a missing path is ENOENT");
}

static void renames(void) {
  write_file("a", "first");
  write_file("b", "second");
  struct stat sa;
  stat("a", &sa);
  check(rename("a", "c") == 0 && access("a", F_OK) < 0 && strcmp(contents("c"), "first") == 0,
        "rename to a new name");
  check(rename("c", "b") == 0 && strcmp(contents("b"), "first") == 0 && access("c", F_OK) < 0,
        "rename over an existing file replaces it");
  struct stat sb;
  stat("b", &sb);
  check(sb.st_ino == sa.st_ino, "the renamed file keeps its inode");
  write_file("d", "third");
  errno = 0;
  check(renameat2(AT_FDCWD, "d", AT_FDCWD, "b", RENAME_NOREPLACE) < 0 && errno == EEXIST &&
            strcmp(contents("b"), "first") == 0,
        "renameat2 RENAME_NOREPLACE onto an existing name is EEXIST");
  check(renameat2(AT_FDCWD, "d", AT_FDCWD, "e", RENAME_NOREPLACE) == 0 && strcmp(contents("e"), "third") == 0,
        "renameat2 RENAME_NOREPLACE to a free name");
  check(rename("b", "b") == 0 && strcmp(contents("b"), "first") == 0, "rename of a file onto itself does nothing");
  errno = 0;
  check(rename("missing", "x") < 0 && errno == ENOENT, "rename of a missing file is ENOENT");

  mkdir("d1", 0755);
  mkdir("d1/sub", 0755);
  mkdir("d2", 0755);
  write_file("d1/sub/f", "deep");
  errno = 0;
  check(rename("d1", "d1/sub/inside") < 0 && errno == EINVAL, "a directory cannot move into itself: EINVAL");
  errno = 0;
  check(rename("e", "d2") < 0 && errno == EISDIR, "a file over a directory: EISDIR");
  errno = 0;
  check(rename("d2", "e") < 0 && errno == ENOTDIR, "a directory over a file: ENOTDIR");
  errno = 0;
  check(rename("d2", "d1") < 0 && (errno == ENOTEMPTY || errno == EEXIST), "a directory over a non-empty one fails");
  check(rename("d1/sub", "d2/moved") == 0 && strcmp(contents("d2/moved/f"), "deep") == 0,
        "a directory moves to another parent with its contents");
  struct stat up, d2;
  stat("d2/moved/..", &up);
  stat("d2", &d2);
  check(up.st_ino == d2.st_ino, "and its .. is its new parent");
  mkdir("empty", 0755);
  check(rename("d1", "empty") == 0 && access("d1", F_OK) < 0, "a directory replaces an empty one");
  rmdir("empty");
}

static long nlink_of(const char *path) {
  struct stat st;
  return stat(path, &st) < 0 ? -1 : (long)st.st_nlink;
}

// A directory's link count is 2 and one per subdirectory, as on Unix.
static void directory_links(void) {
  mkdir("la", 0755);
  mkdir("la/b", 0755);
  mkdir("la/c", 0755);
  mkdir("lx", 0755);
  mkdir("le", 0755);
  check(nlink_of("la") == 4 && nlink_of("la/b") == 2, "a directory with two subdirectories has 4 links: %ld",
        nlink_of("la"));
  rename("la/c", "lx/c");
  check(nlink_of("la") == 3 && nlink_of("lx") == 3, "moving a subdirectory moves a link: %ld, %ld", nlink_of("la"),
        nlink_of("lx"));
  long top = nlink_of(".");
  rename("la/b", "le");
  check(nlink_of("la") == 2 && nlink_of(".") == top && nlink_of("le") == 2,
        "a directory renamed over an empty one: the links add up");
  rmdir("lx/c");
  check(nlink_of("lx") == 2, "rmdir takes its link away: %ld", nlink_of("lx"));
  rmdir("lx");
  rmdir("le");
  rmdir("la");
}

static void links(void) {
  write_file("orig", "linked");
  check(link("orig", "alias") == 0, "link makes a second name");
  struct stat st;
  stat("orig", &st);
  check(st.st_nlink == 2 && strcmp(contents("alias"), "linked") == 0, "both names reach the file: nlink %lu",
        (unsigned long)st.st_nlink);
  unlink("orig");
  stat("alias", &st);
  check(st.st_nlink == 1 && strcmp(contents("alias"), "linked") == 0, "unlinking one leaves the other: nlink %lu",
        (unsigned long)st.st_nlink);
  errno = 0;
  check(link("alias", "e") < 0 && errno == EEXIST, "link onto an existing name is EEXIST");
  errno = 0;
  check(link("d2", "d2link") < 0 && errno == EPERM, "link of a directory is EPERM");
  errno = 0;
  check(link("missing", "x") < 0 && errno == ENOENT, "link of a missing file is ENOENT");
  unlink("alias");
}

static void unlinked_while_open(void) {
  int fd = open("tmpfile", O_RDWR | O_CREAT | O_EXCL, 0600);
  char block[4096];
  memset(block, 'u', sizeof block);
  for (int i = 0; i < 64; i++)
    write(fd, block, sizeof block);
  check(unlink("tmpfile") == 0 && access("tmpfile", F_OK) < 0, "an open file can be unlinked; its name is gone");
  struct stat st;
  fstat(fd, &st);
  check(st.st_nlink == 0 && st.st_size == 64 * 4096, "fstat: nlink 0, the data still there");
  char back[4096];
  ssize_t n = pread(fd, back, sizeof back, 63 * 4096);
  check(n == 4096 && memcmp(back, block, sizeof back) == 0, "it can still be read");
  write(fd, "tail", 4);
  fstat(fd, &st);
  check(st.st_size == 64 * 4096 + 4, "and written");
  errno = 0;
  check(linkat(fd, "", AT_FDCWD, "revived", AT_EMPTY_PATH) < 0, "an unlinked file cannot get a name again");
  close(fd);
  int again = open("tmpfile", O_RDONLY);
  check(again < 0 && errno == ENOENT, "after the close it is gone");
}

static void large_sparse_file(void) {
  int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
  off_t far = (off_t)3 << 30;
  ssize_t n = pwrite(fd, "end", 3, far);
  struct stat st;
  fstat(fd, &st);
  check(n == 3 && st.st_size == far + 3, "a write 3 GiB into a file: size %lld", (long long)st.st_size);
  check(st.st_blocks < 1024, "the hole takes no blocks");
  char buf[8] = {0};
  n = pread(fd, buf, 3, far);
  char hole[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  ssize_t h = pread(fd, hole, sizeof hole, far / 2);
  check(n == 3 && memcmp(buf, "end", 3) == 0 && h == 8 && memcmp(hole, "\0\0\0\0\0\0\0\0", 8) == 0,
        "the data reads back past 3 GiB, the hole reads as zeros");
  ftruncate(fd, far / 2);
  fstat(fd, &st);
  check(st.st_size == far / 2, "ftruncate to 1.5 GiB");
  close(fd);
  fd = open("sparse", O_RDWR | O_TRUNC);
  fstat(fd, &st);
  check(st.st_size == 0 && st.st_blocks == 0, "O_TRUNC empties it");
  close(fd);
  unlink("sparse");
}

// Linux moves all of a regular file's bytes in one call, however many.
static void whole_transfers(void) {
  static char big[3 << 20], back[3 << 20];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7 + i / 4096);
  int fd = open("whole", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ssize_t w = write(fd, big, sizeof big);
  ssize_t r = pread(fd, back, sizeof back, 0);
  check(w == (ssize_t)sizeof big && r == (ssize_t)sizeof back && memcmp(big, back, sizeof big) == 0,
        "one write and one pread of 3 MiB move it all: %zd, %zd", w, r);
  struct iovec iov[3] = {{big, 100000}, {big + 100000, 0}, {big + 100000, 500000}};
  w = pwritev(fd, iov, 3, 10);
  lseek(fd, 10, SEEK_SET);
  struct iovec in[2] = {{back, 300000}, {back + 300000, 300000}};
  r = readv(fd, in, 2);
  check(w == 600000 && r == 600000 && memcmp(back, big, 600000) == 0, "pwritev and readv move every segment: %zd, %zd",
        w, r);
  volatile size_t huge = SIZE_MAX; // (the compiler would refuse the constant)
  errno = 0;
  w = write(fd, big, huge);
  int write_efault = w < 0 && errno == EFAULT;
  errno = 0;
  r = pread(fd, back, huge / 2, 0);
  check(write_efault && r < 0 && errno == EFAULT, "a buffer past the address space is EFAULT, nothing moved");
  close(fd);
  unlink("whole");
}

// /proc/self/exe names the program (glibc's start-up reads it).
static void own_program(void) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  const char *tail = "/fileattrs";
  check(n > (ssize_t)strlen(tail) && buf[0] == '/' && strcmp(buf + n - strlen(tail), tail) == 0,
        "readlink /proc/self/exe gives the program's absolute path");
}

static void missing_features(void) {
  int r = symlink("e", "sym");
  check(r == 0 || errno == EPERM, "symlink: made, or EPERM from a file system without symbolic links");
  if (r == 0)
    unlink("sym");
  int s = socket(AF_INET, SOCK_STREAM, 0);
  check(s >= 0 || errno == EAFNOSUPPORT, "socket: a descriptor, or EAFNOSUPPORT");
  if (s >= 0)
    close(s);
}

int main(void) {
  char dir[] = "/tmp/fileattrs.XXXXXX";
  if (!mkdtemp(dir) || chdir(dir) < 0) {
    perror("mkdtemp");
    return 2;
  }
  modes_owners_times();
  file_systems();
  renames();
  directory_links();
  links();
  unlinked_while_open();
  large_sparse_file();
  whole_transfers();
  own_program();
  missing_features();

  // What is left.
  unlink("b");
  unlink("e");
  unlink("m");
  rmdir("dir");
  unlink("d2/moved/f");
  rmdir("d2/moved");
  rmdir("d2");
  chdir("/");
  check(rmdir(dir) == 0, "the test directory is empty at the end");
  return check_status();
}
