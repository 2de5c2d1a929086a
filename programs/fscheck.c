// fscheck [DIR]: checks the file-system calls against Linux's behaviour:
// opening with each flag, reading, writing, seeking, holes, stat,
// directories and their listing, removing, dup and dup3, fsync, and the
// errno of each misuse. Everything happens inside DIR (default /, through
// a descriptor for it), and is removed at the end. Prints one line per
// check ("name: ok") and exits 0 only if every check passes; the output
// is the same under qemu-riscv64 in an empty scratch directory.
#include "user.h"

static int failures;
static long dir; // the descriptor of DIR

static void check(const char *name, long got, long want) {
  if (got == want) {
    printf("%s: ok\n", name);
  } else {
    printf("%s: FAIL: got %ld, want %ld\n", name, got, want);
    failures++;
  }
}

static long create(const char *path, long flags) { return sys_openat(dir, path, flags | O_CREAT, 0644); }

static long size_of(const char *path) {
  struct stat st;
  long r = sys_newfstatat(dir, path, &st, 0);
  return r < 0 ? r : st.st_size;
}

// Reads the whole file at path into buf (at most len bytes): the count or -errno.
static long slurp(const char *path, char *buf, unsigned long len) {
  long fd = sys_openat(dir, path, O_RDONLY, 0);
  if (fd < 0)
    return fd;
  long n = read_full(fd, buf, len);
  sys_close(fd);
  return n;
}

static char big[300000];
static char back[300001];
static char dents[4096];

// The names getdents64 returns for the directory at path, sorted and
// joined with spaces into out; the number of entries, or -errno.
static long list(const char *path, char *out, unsigned long cap) {
  long fd = sys_openat(dir, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    return fd;
  const char *names[32];
  static char store[1024];
  unsigned long used = 0;
  int count = 0;
  for (;;) {
    long n = sys_getdents64(fd, dents, sizeof dents);
    if (n < 0) {
      sys_close(fd);
      return n;
    }
    if (n == 0)
      break;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(dents + off);
      unsigned long len = strlen(d->d_name);
      if (count < 32 && used + len + 1 <= sizeof store) {
        memcpy(store + used, d->d_name, len + 1);
        names[count++] = store + used;
        used += len + 1;
      }
      off += d->d_reclen;
    }
  }
  sys_close(fd);
  for (int i = 1; i < count; i++) // insertion sort
    for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      const char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  unsigned long at = 0;
  out[0] = 0;
  for (int i = 0; i < count; i++)
    at += snprintf(out + at, cap - at, i ? " %s" : "%s", names[i]);
  return count;
}

int main(int argc, char **argv) {
  const char *where = argc > 1 ? argv[1] : "/";
  dir = open(where, O_RDONLY | O_DIRECTORY, 0);
  if (dir < 0)
    die("fscheck: %s: %s", where, strerror(-dir));
  char buf[64];
  struct stat st;

  // Opening and creating.
  check("open_missing", sys_openat(dir, "nosuch", O_RDONLY, 0), -ENOENT);
  check("open_empty_path", sys_openat(dir, "", O_RDONLY, 0), -ENOENT);
  long fd = create("a", O_WRONLY);
  check("create", fd >= 3, 1);
  check("write", sys_write(fd, "hello", 5), 5);
  check("offset_after_write", sys_lseek(fd, 0, SEEK_CUR), 5);
  check("read_write_only", sys_read(fd, buf, 5), -EBADF);
  check("fstat", sys_fstat(fd, &st), 0);
  check("fstat_size", st.st_size, 5);
  check("fstat_regular", S_ISREG(st.st_mode), 1);
  check("fstat_nlink", st.st_nlink, 1);
  check("fstat_blksize", st.st_blksize, 4096);
  check("close", sys_close(fd), 0);
  check("close_again", sys_close(fd), -EBADF);
  check("create_exclusive_exists", sys_openat(dir, "a", O_WRONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
  check("open_file_as_directory", sys_openat(dir, "a", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
  check("open_file_with_slash", sys_openat(dir, "a/", O_RDONLY, 0), -ENOTDIR);
  check("open_through_file", sys_openat(dir, "a/b", O_RDONLY, 0), -ENOTDIR);
  check("create_in_missing_dir", create("nosuch/b", O_WRONLY), -ENOENT);

  // Reading.
  fd = sys_openat(dir, "a", O_RDONLY, 0);
  check("open_read", fd >= 3, 1);
  check("read", sys_read(fd, buf, sizeof buf), 5);
  check("read_content", memcmp(buf, "hello", 5), 0);
  check("read_at_end", sys_read(fd, buf, sizeof buf), 0);
  check("write_read_only", sys_write(fd, "x", 1), -EBADF);
  check("lseek_set", sys_lseek(fd, 1, SEEK_SET), 1);
  check("read_after_seek", sys_read(fd, buf, 3), 3);
  check("read_after_seek_content", memcmp(buf, "ell", 3), 0);
  check("lseek_end", sys_lseek(fd, -2, SEEK_END), 3);
  check("lseek_negative", sys_lseek(fd, -10, SEEK_CUR), -EINVAL);
  check("lseek_bad_whence", sys_lseek(fd, 0, 7), -EINVAL);
  check("lseek_past_end", sys_lseek(fd, 100, SEEK_SET), 100);
  check("read_past_end", sys_read(fd, buf, sizeof buf), 0);
  check("read_bad_buffer", sys_lseek(fd, 0, SEEK_SET) == 0 ? sys_read(fd, 0, 5) : -1, -EFAULT);
  sys_close(fd);

  // Positioned reads and writes: the offset stays where it was.
  fd = create("p", O_RDWR);
  check("pwrite", sys_pwrite64(fd, "abcdef", 6, 10), 6);
  check("pwrite_keeps_offset", sys_lseek(fd, 0, SEEK_CUR), 0);
  check("pwrite_size", size_of("p"), 16);
  check("pread", sys_pread64(fd, buf, 4, 11), 4);
  check("pread_content", memcmp(buf, "bcde", 4), 0);
  check("pread_hole", sys_pread64(fd, buf, 3, 0) == 3 && buf[0] == 0 && buf[1] == 0 && buf[2] == 0, 1);
  check("pread_short_at_end", sys_pread64(fd, buf, sizeof buf, 14), 2);
  check("pread_at_end", sys_pread64(fd, buf, sizeof buf, 16), 0);
  check("pread_past_end", sys_pread64(fd, buf, sizeof buf, 1000), 0);
  check("pread_negative_offset", sys_pread64(fd, buf, 1, -1), -EINVAL);
  check("pwrite_negative_offset", sys_pwrite64(fd, "x", 1, -1), -EINVAL);
  check("pread_bad_buffer", sys_pread64(fd, 0, 4, 10), -EFAULT);
  check("pread_keeps_offset", sys_read(fd, buf, 2), 2);
  check("pread_bad_fd", sys_pread64(99, buf, 1, 0), -EBADF);
  check("pread_directory", sys_pread64(dir, buf, 1, 0), -EISDIR);
  check("pread_console", sys_pread64(1, buf, 1, 0), -ESPIPE);
  sys_close(fd);
  fd = sys_openat(dir, "p", O_WRONLY | O_APPEND, 0);
  check("pread_write_only", sys_pread64(fd, buf, 1, 0), -EBADF);
  check("pwrite_append_at_end", sys_pwrite64(fd, "Z", 1, 0), 1);
  sys_close(fd);
  check("pwrite_append_content", slurp("p", buf, sizeof buf) == 17 && buf[16] == 'Z' && buf[10] == 'a', 1);
  fd = sys_openat(dir, "p", O_RDONLY, 0);
  check("pwrite_read_only", sys_pwrite64(fd, "x", 1, 0), -EBADF);
  sys_close(fd);
  check("unlink_p", sys_unlinkat(dir, "p", 0), 0);

  // Appending and truncating.
  fd = sys_openat(dir, "a", O_WRONLY | O_APPEND, 0);
  check("append_write", sys_write(fd, " world", 6), 6);
  check("append_offset", sys_lseek(fd, 0, SEEK_CUR), 11);
  sys_lseek(fd, 0, SEEK_SET);
  check("append_ignores_offset", sys_write(fd, "!", 1), 1);
  sys_close(fd);
  check("append_content", slurp("a", buf, sizeof buf), 12);
  check("append_content_bytes", memcmp(buf, "hello world!", 12), 0);
  fd = sys_openat(dir, "a", O_RDWR | O_TRUNC, 0);
  check("truncate_size", size_of("a"), 0);
  check("rdwr_write", sys_write(fd, "abcdef", 6), 6);
  check("rdwr_seek", sys_lseek(fd, 2, SEEK_SET), 2);
  check("rdwr_overwrite", sys_write(fd, "XY", 2), 2);
  check("rdwr_seek_back", sys_lseek(fd, 0, SEEK_SET), 0);
  check("rdwr_read", sys_read(fd, buf, sizeof buf), 6);
  check("rdwr_content", memcmp(buf, "abXYef", 6), 0);
  check("fsync", sys_fsync(fd), 0);
  check("fdatasync", sys_fdatasync(fd), 0);
  check("fsync_bad_fd", sys_fsync(77), -EBADF);
  sys_close(fd);

  // A hole: bytes never written read as zeros.
  fd = create("holes", O_RDWR);
  check("hole_seek", sys_lseek(fd, 100000, SEEK_SET), 100000);
  check("hole_write", sys_write(fd, "end", 3), 3);
  check("hole_size", size_of("holes"), 100003);
  sys_lseek(fd, 50000, SEEK_SET);
  memset(buf, 'x', sizeof buf);
  check("hole_read", sys_read(fd, buf, 10), 10);
  int zeros = 1;
  for (int i = 0; i < 10; i++)
    zeros &= buf[i] == 0;
  check("hole_reads_zeros", zeros, 1);
  sys_close(fd);

  // A large file, written and read whole (the calls may transfer less
  // than asked: read_full and write_full go on).
  for (unsigned long i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7 + i / 4096);
  fd = create("big", O_WRONLY | O_TRUNC);
  check("big_write", write_full(fd, big, sizeof big), sizeof big);
  sys_close(fd);
  check("big_size", size_of("big"), sizeof big);
  check("big_read", slurp("big", back, sizeof back), sizeof big);
  check("big_content", memcmp(back, big, sizeof big), 0);
  fd = sys_openat(dir, "big", O_WRONLY | O_TRUNC, 0);
  sys_close(fd);
  check("big_truncated", size_of("big"), 0);

  // Directories.
  check("mkdir", sys_mkdirat(dir, "d", 0755), 0);
  check("mkdir_exists", sys_mkdirat(dir, "d", 0755), -EEXIST);
  check("mkdir_over_file", sys_mkdirat(dir, "a", 0755), -EEXIST);
  check("mkdir_in_missing", sys_mkdirat(dir, "nosuch/d", 0755), -ENOENT);
  check("mkdir_under_file", sys_mkdirat(dir, "a/d", 0755), -ENOTDIR);
  check("stat_dir", sys_newfstatat(dir, "d", &st, 0), 0);
  check("stat_dir_is_dir", S_ISDIR(st.st_mode), 1);
  check("stat_dir_slash", sys_newfstatat(dir, "d/", &st, 0), 0);
  check("stat_dot", sys_newfstatat(dir, "d/.", &st, 0), 0);
  check("stat_missing", sys_newfstatat(dir, "nosuch", &st, 0), -ENOENT);
  check("stat_file_slash", sys_newfstatat(dir, "a/", &st, 0), -ENOTDIR);
  check("open_dir_write", sys_openat(dir, "d", O_WRONLY, 0), -EISDIR);
  check("create_dir_slash", create("newdir/", O_WRONLY), -EISDIR);
  long dfd = sys_openat(dir, "d", O_RDONLY | O_DIRECTORY, 0);
  check("open_dir", dfd >= 3, 1);
  check("read_dir", sys_read(dfd, buf, sizeof buf), -EISDIR);
  check("getdents_small_buffer", sys_getdents64(dfd, buf, 10), -EINVAL);
  fd = sys_openat(dir, "a", O_RDONLY, 0);
  check("getdents_file", sys_getdents64(fd, dents, sizeof dents), -ENOTDIR);
  sys_close(fd);
  fd = sys_openat(dfd, "inner", O_WRONLY | O_CREAT, 0644); // relative to a directory descriptor
  check("create_at_dirfd", fd >= 3, 1);
  check("write_at_dirfd", sys_write(fd, "inside", 6), 6);
  sys_close(fd);
  check("path_through_dir", size_of("d/inner"), 6);
  check("path_with_dots", size_of("d/../d/./inner"), 6);
  check("mkdir_nested", sys_mkdirat(dfd, "sub", 0755), 0);
  char names[256];
  check("list_count", list("d", names, sizeof names), 4);
  check("list_names", strcmp(names, ". .. inner sub"), 0);
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "d/f%d", i);
    sys_close(create(name, O_WRONLY));
  }
  check("list_many", list("d", names, sizeof names), 24);
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "d/f%d", i);
    sys_unlinkat(dir, name, 0);
  }
  check("list_after_unlink", list("d", names, sizeof names), 4);

  // Removing.
  check("unlink_dir", sys_unlinkat(dir, "d", 0), -EISDIR);
  check("rmdir_file", sys_unlinkat(dir, "a", AT_REMOVEDIR), -ENOTDIR);
  check("rmdir_not_empty", sys_unlinkat(dir, "d", AT_REMOVEDIR), -ENOTEMPTY);
  check("rmdir_dot", sys_unlinkat(dfd, ".", AT_REMOVEDIR), -EINVAL);
  check("unlink_bad_flags", sys_unlinkat(dir, "a", 1), -EINVAL);
  check("unlink_missing", sys_unlinkat(dir, "nosuch", 0), -ENOENT);
  check("rmdir_nested", sys_unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
  check("unlink_inner", sys_unlinkat(dfd, "inner", 0), 0);
  sys_close(dfd);
  check("rmdir", sys_unlinkat(dir, "d", AT_REMOVEDIR), 0);
  check("rmdir_gone", sys_newfstatat(dir, "d", &st, 0), -ENOENT);

  // Duplicates share the open file (and its offset).
  fd = sys_openat(dir, "a", O_RDWR, 0);
  long fd2 = sys_dup(fd);
  check("dup", fd2 > fd, 1);
  check("dup_shares_offset", sys_lseek(fd, 3, SEEK_SET) == 3 ? sys_lseek(fd2, 0, SEEK_CUR) : -1, 3);
  check("dup3_same", sys_dup3(fd, fd, 0), -EINVAL);
  check("dup3_bad_flags", sys_dup3(fd, 40, 1), -EINVAL);
  check("dup3", sys_dup3(fd, 40, 0), 40);
  check("dup3_works", sys_read(40, buf, 3), 3);
  check("dup3_over_open", sys_dup3(fd2, 40, O_CLOEXEC), 40);
  check("dup_bad_fd", sys_dup(63), -EBADF);
  check("close_dup", sys_close(fd2), 0);
  check("original_survives", sys_lseek(fd, 0, SEEK_SET), 0);
  struct stat out;
  check("dup_stdout", sys_fstat(sys_dup(1), &st), 0);
  check("dup_stdout_same_file", sys_fstat(1, &out) == 0 && st.st_mode == out.st_mode && st.st_ino == out.st_ino, 1);
  sys_close(40);
  sys_close(fd);

  check("unlink", sys_unlinkat(dir, "a", 0), 0);
  check("unlink_holes", sys_unlinkat(dir, "holes", 0), 0);
  check("unlink_big", sys_unlinkat(dir, "big", 0), 0);
  check("unlink_gone", sys_openat(dir, "a", O_RDONLY, 0), -ENOENT);
  check("sync", sys_sync(), 0);
  return failures ? 1 : 0;
}
