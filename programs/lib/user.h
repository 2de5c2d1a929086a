// The user runtime: system call stubs (lib/usys.S, generated from
// guest-os/syscall.tbl), string and memory helpers and a small printf
// (lib/ulib.c). Every sys_* function returns the raw kernel result:
// a value >= 0, or -errno on failure (Linux's convention).
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

// Linux's errno values (include/uapi/asm-generic/errno-base.h, errno.h).
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EBADF 9
#define ECHILD 10
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENFILE 23
#define EMFILE 24
#define ENOTTY 25
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39

// Files (asm-generic/fcntl.h).
#define AT_FDCWD (-100)
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFREG 0100000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define DT_DIR 4
#define DT_REG 8

// struct stat as asm-generic/stat.h lays it out for riscv64.
struct stat {
  unsigned long st_dev, st_ino;
  unsigned st_mode, st_nlink, st_uid, st_gid;
  unsigned long st_rdev, pad1;
  long st_size;
  int st_blksize, pad2;
  long st_blocks;
  long st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
  unsigned unused[2];
};

// What getdents64 fills, one after another (d_reclen bytes each).
struct linux_dirent64 {
  unsigned long d_ino;
  long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// mmap's prot and flags, as Linux defines them for RISC-V.
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

#define PAGE_SIZE 4096UL

struct timespec {
  long tv_sec;
  long tv_nsec;
};

struct iovec {
  const void *iov_base;
  unsigned long iov_len;
};

struct utsname {
  char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

// The system calls (one per line of guest-os/syscall.tbl).
long sys_dup(long fd);
long sys_dup3(long oldfd, long newfd, long flags);
long sys_mkdirat(long dirfd, const char *path, long mode);
long sys_unlinkat(long dirfd, const char *path, long flags);
long sys_openat(long dirfd, const char *path, long flags, long mode);
long sys_getdents64(long fd, void *buf, unsigned long len);
long sys_lseek(long fd, long offset, long whence);
long sys_fstat(long fd, struct stat *st);
long sys_newfstatat(long dirfd, const char *path, struct stat *st, long flags);
long sys_sync(void);
long sys_fsync(long fd);
long sys_fdatasync(long fd);
long sys_close(long fd);
long sys_read(long fd, void *buf, unsigned long len);
long sys_write(long fd, const void *buf, unsigned long len);
long sys_writev(long fd, const struct iovec *iov, long count);
long sys_pread64(long fd, void *buf, unsigned long len, long offset);
long sys_pwrite64(long fd, const void *buf, unsigned long len, long offset);
__attribute__((noreturn)) long sys_exit(long status);
__attribute__((noreturn)) long sys_exit_group(long status);
long sys_set_tid_address(int *tidptr);
long sys_nanosleep(const struct timespec *req, struct timespec *rem);
long sys_clock_gettime(long clock, struct timespec *ts);
long sys_sched_yield(void);
long sys_uname(struct utsname *buf);
long sys_getcpu(unsigned *cpu, unsigned *node, void *cache);
long sys_getpid(void);
long sys_getppid(void);
long sys_gettid(void);
long sys_brk(unsigned long addr);
long sys_munmap(void *addr, unsigned long len);
long sys_mmap(void *addr, unsigned long len, long prot, long flags, long fd, long offset);
long sys_wait4(long pid, int *status, long options, void *rusage);
long sys_getrandom(void *buf, unsigned long len, unsigned flags);

// Any system call by number, for numbers without a stub (e.g. to test ENOSYS).
long raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

// Whether a result that is an address or a size (mmap, read...) is -errno.
static inline int is_error(long r) { return r < 0 && r >= -4095; }

// Memory and strings. gcc may emit calls to memset and memcpy on its own.
unsigned long strlen(const char *s);
int strcmp(const char *a, const char *b);
void *memset(void *dst, int c, unsigned long n);
void *memcpy(void *dst, const void *src, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);

// Parses a whole string as a decimal (or 0x hexadecimal) number with an
// optional '-': 0 and *out set on success, -1 if the string is not one.
int parse_long(const char *s, long *out);
// Like C's atoi: the leading number in s, 0 if there is none.
long atoi(const char *s);

// printf formats %d %i %u %x %X %s %c %p %% with an optional l (or ll),
// '-' and '0' flags and a width. Each printf call is one write to fd 1,
// so lines from concurrent processes do not interleave.
__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
__attribute__((format(printf, 2, 3))) int dprintf(int fd, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, unsigned long size, const char *fmt, ...);
int vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap);
int vdprintf(int fd, const char *fmt, va_list ap);

// Files (lib/files.c, linked only into the programs that use files).
// open: openat relative to the working directory; read_full and
// write_full repeat short transfers until len bytes (or end of file):
// the count, or -errno if nothing was transferred.
long open(const char *path, long flags, long mode);
long read_full(long fd, void *buf, unsigned long len);
long write_full(long fd, const void *buf, unsigned long len);
// The C library's message for an errno value ("No such file or directory").
const char *strerror(long err);

// Prints the message and a newline on stdout and exits with status 1.
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
