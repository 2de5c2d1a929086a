// The user runtime: system call stubs (lib/usys.S, generated from
// guest-os/syscall.tbl), string and memory helpers and a small printf
// (lib/ulib.c). Every sys_* function returns the raw kernel result:
// a value >= 0, or -errno on failure (Linux's convention).
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

// Linux's errno values (include/uapi/asm-generic/errno-base.h).
#define EBADF 9
#define ECHILD 10
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

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
long sys_close(long fd);
long sys_read(long fd, void *buf, unsigned long len);
long sys_write(long fd, const void *buf, unsigned long len);
long sys_writev(long fd, const struct iovec *iov, long count);
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

// Prints the message and a newline on stdout and exits with status 1.
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
