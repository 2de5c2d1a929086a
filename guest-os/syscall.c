// System call dispatch and the calls themselves, with Linux semantics and
// errno values. The master runs all of them; `hart` is where the calling
// process runs. Arguments come from the saved user registers a0..a5 and
// every user pointer is checked (a bad one gives -EFAULT, never a fault).
#include "defs.h"
#include "signal.h"
#include "memlayout.h"
#include "param.h"
#include "mm.h"
#include "proc.h"
#include "riscv.h"
#include "syscall_table.h"

#define TICKS_PER_SECOND 10000000UL // mtime runs at 10 MHz on QEMU virt and rvmsmp
#define NS_PER_TICK 100

uint64 random_state; // seeded from the command line
uint64 unknown_syscalls;

static int64 (*const syscalls[])(struct proc *, int) = {SYSCALL_TABLE_ENTRIES};

int64 syscall_dispatch(struct proc *p, int hart) {
  uint64 nr = p->tf->a7;
#ifdef TRACE_SYSCALLS
  printf("[tid %d sys %d a0 %p a1 %p a2 %p]\n", p->tid, (int)nr, p->tf->a0, p->tf->a1, p->tf->a2);
#endif
  if (nr < sizeof syscalls / sizeof syscalls[0] && syscalls[nr])
    return syscalls[nr](p, hart);
  unknown_syscalls++;
  return -ENOSYS;
}

static int fd_open_for_output(struct proc *p, uint64 fd) { return (fd == 1 || fd == 2) && !(p->closed_fds & (1u << fd)); }

// Writes user bytes to the console, fd 2 to its error channel; the count
// written, or -EFAULT unless the whole buffer is readable user memory.
// When the host's stream is closed the write fails with -EPIPE and the thread is sent SIGPIPE, whose default
// action ends the process (status 128 + 13, as a shell reports it).
static int64 console_out(struct proc *p, uint64 fd, uint64 buf, uint64 len) {
  char chunk[256];
  uint64 done = 0;
  if (!uvm_range_ok(p->pagetable, buf, len, PTE_R))
    return -EFAULT;
  while (done < len) {
    uint64 n = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (copy_in(p->pagetable, chunk, buf + done, n) < 0)
      return done ? (int64)done : -EFAULT;
    if ((fd == 2 ? console_write_err(chunk, n) : console_write_out(chunk, n)) < 0) {
      signal_thread(p, SIGPIPE);
      return -EPIPE;
    }
    done += n;
  }
  return done;
}

int64 sys_write(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (!fd_open_for_output(p, tf->a0))
    return file_write(p);
  return console_out(p, tf->a0, tf->a1, tf->a2);
}

int64 sys_writev(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (!fd_open_for_output(p, tf->a0))
    return file_writev(p);
  if (tf->a2 > 1024)
    return -EINVAL;
  int64 total = 0;
  for (uint64 i = 0; i < tf->a2; i++) {
    uint64 iov[2]; // base, length
    if (copy_in(p->pagetable, iov, tf->a1 + 16 * i, sizeof iov) < 0)
      return total ? total : -EFAULT;
    int64 n = console_out(p, tf->a0, iov[0], iov[1]);
    if (n < 0)
      return total ? total : n;
    total += n;
  }
  return total;
}

// Standard input is the console; a read takes what has arrived and never
// blocks (0, end of file, when nothing has).
int64 sys_read(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a0 != 0 || (p->closed_fds & 1))
    return file_read(p);
  uint64 n = 0;
  int c;
  while (n < tf->a2 && (c = console_getc()) >= 0) {
    char byte = (char)c;
    if (copy_out(p->pagetable, tf->a1 + n, &byte, 1) < 0)
      return n ? (int64)n : -EFAULT;
    n++;
  }
  return n;
}

int64 sys_close(struct proc *p, int hart) {
  uint64 fd = p->tf->a0;
  if (fd > 2 || (p->closed_fds & (1u << fd)))
    return file_close(p, fd);
  p->closed_fds |= 1u << fd;
  return 0;
}

int64 sys_getcpu(struct proc *p, int hart) {
  uint32 cpu = hart, node = 0;
  if (p->tf->a0 && copy_out(p->pagetable, p->tf->a0, &cpu, sizeof cpu) < 0)
    return -EFAULT;
  if (p->tf->a1 && copy_out(p->pagetable, p->tf->a1, &node, sizeof node) < 0)
    return -EFAULT;
  return 0;
}

int64 sys_clock_gettime(struct proc *p, int hart) {
  uint64 clock = p->tf->a0;
  if (clock > 11) // CLOCK_REALTIME .. CLOCK_TAI: all read simulated time
    return -EINVAL;
  uint64 t = r_time();
  int64 ts[2] = {(int64)(t / TICKS_PER_SECOND), (int64)(t % TICKS_PER_SECOND * NS_PER_TICK)};
  return copy_out(p->pagetable, p->tf->a1, ts, sizeof ts) < 0 ? -EFAULT : 0;
}

int64 sys_uname(struct proc *p, int hart) {
  static const char *fields[6] = {"Linux", "rvmsmp", "6.1.0-rvmsmp", "#1 SMP", "riscv64", "(none)"};
  char uts[6][65];
  memset(uts, 0, sizeof uts);
  for (int i = 0; i < 6; i++)
    memcpy(uts[i], fields[i], strlen(fields[i]));
  return copy_out(p->pagetable, p->tf->a0, uts, sizeof uts) < 0 ? -EFAULT : 0;
}

// The deterministic generator behind getrandom: splitmix64.
static uint64 next_random(void) {
  uint64 z = (random_state += 0x9e3779b97f4a7c15UL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
  return z ^ (z >> 31);
}

int64 sys_getrandom(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a2 & ~7UL) // GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE
    return -EINVAL;
  uint64 len = tf->a1 > 33554431 ? 33554431 : tf->a1; // Linux's per-call limit
  for (uint64 done = 0; done < len; done += 8) {
    uint64 word = next_random();
    uint64 n = len - done < 8 ? len - done : 8;
    if (copy_out(p->pagetable, tf->a0 + done, &word, n) < 0)
      return done ? (int64)done : -EFAULT;
  }
  return len;
}

// The heap lies between the end of the program and the mmap area.
int64 sys_brk(struct proc *p, int hart) {
  uint64 want = p->tf->a0;
  if (want < p->mm->brk_base || want > p->mm->mmap_next - PGSIZE)
    return p->mm->brk;
  uint64 old_top = PGROUNDUP(p->mm->brk), new_top = PGROUNDUP(want);
  if (new_top > old_top && uvm_map(p->pagetable, old_top, new_top - old_top, PTE_R | PTE_W) < 0) {
    uvm_unmap(p->pagetable, old_top, new_top - old_top);
    return p->mm->brk;
  }
  if (new_top < old_top) {
    uvm_unmap(p->pagetable, new_top, old_top - new_top);
    tlb_shootdown(p, hart);
  }
  p->mm->brk = want;
  return p->mm->brk;
}

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

// Anonymous mappings only (no file mappings), placed downwards from
// below the stack unless MAP_FIXED says where.
int64 sys_mmap(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 addr = tf->a0, len = tf->a1, prot = tf->a2, flags = tf->a3;
  if (!(flags & MAP_ANONYMOUS))
    return -EBADF;
  if (len == 0 || (prot & ~7UL) || (flags & 3) == 0 || (flags & 3) == 3)
    return -EINVAL;
  if (len > MMAP_TOP)
    return -ENOMEM;
  uint64 size = PGROUNDUP(len);
  uint64 va;
  if (flags & MAP_FIXED) {
    if (addr % PGSIZE || addr >= MMAP_TOP || size > MMAP_TOP - addr)
      return -EINVAL;
    va = addr;
    uvm_unmap(p->pagetable, va, size);
    tlb_shootdown(p, hart);
  } else {
    if (size > p->mm->mmap_next || p->mm->mmap_next - size < PGROUNDUP(p->mm->brk) + PGSIZE)
      return -ENOMEM;
    va = p->mm->mmap_next - size;
    p->mm->mmap_next = va;
  }
  // PROT_NONE: valid user pages without permissions, which every access
  // faults on and mprotect can open up later (glibc's thread stacks).
  int perm = prot == 0 ? 0 : PTE_R | (prot & PROT_WRITE ? PTE_W : 0) | (prot & PROT_EXEC ? PTE_X : 0);
  if (uvm_map(p->pagetable, va, size, perm) < 0) {
    uvm_unmap(p->pagetable, va, size);
    return -ENOMEM;
  }
  return va;
}

int64 sys_munmap(struct proc *p, int hart) {
  uint64 addr = p->tf->a0, len = p->tf->a1;
  if (addr % PGSIZE || len == 0 || addr >= TRAPFRAME || len > TRAPFRAME - addr)
    return -EINVAL;
  uvm_unmap(p->pagetable, addr, PGROUNDUP(len));
  tlb_shootdown(p, hart);
  return 0;
}

// What static C libraries (glibc) call at start-up and in common library
// functions. The console is a character device that is not a terminal
// (like /dev/null), so stdio buffers fully, as it does under qemu-riscv64
// with a pipe. Descriptors other than the console's go to file.c.

#define AT_EMPTY_PATH 0x1000

static int fd_is_console(struct proc *p, uint64 fd) { return fd <= 2 && !(p->closed_fds & (1u << fd)); }

int64 sys_ioctl(struct proc *p, int hart) { return fd_is_console(p, p->tf->a0) ? -ENOTTY : file_ioctl(p); }
int64 sys_lseek(struct proc *p, int hart) { return fd_is_console(p, p->tf->a0) ? -ESPIPE : file_lseek(p); }

// The console's struct stat, for descriptor fd (0, 1 or 2, or what a dup
// of one of them reports).
static int64 stat_console(struct proc *p, uint64 fd, uint64 buf) {
  struct kstat st;
  memset(&st, 0, sizeof st);
  st.ino = 3 + fd;
  st.mode = 0020000 | 0620; // S_IFCHR, rw--w----
  st.nlink = 1;
  st.rdev = (5 << 8) | 1; // the console, char device 5:1
  st.blksize = 4096;
  return copy_out(p->pagetable, buf, &st, sizeof st) < 0 ? -EFAULT : 0;
}

int64 sys_fstat(struct proc *p, int hart) {
  return fd_is_console(p, p->tf->a0) ? stat_console(p, p->tf->a0, p->tf->a1)
                                     : file_fstat(p, p->tf->a0, p->tf->a1, stat_console);
}

int64 sys_newfstatat(struct proc *p, int hart) {
  char path[MAX_PATH];
  if (copy_in_str(p->pagetable, path, p->tf->a1, sizeof path) < 0)
    return fs_mounted ? fs_newfstatat(p) : -EFAULT; // with a file system, it tells a fault from a long path
  if (path[0] == 0 && (p->tf->a3 & AT_EMPTY_PATH))
    return fd_is_console(p, p->tf->a0) ? stat_console(p, p->tf->a0, p->tf->a2)
                                       : file_fstat(p, p->tf->a0, p->tf->a2, stat_console);
  return fs_newfstatat(p); // -ENOENT when there is no disk
}

int64 sys_readlinkat(struct proc *p, int hart) {
  char path[MAX_PATH];
  if (copy_in_str(p->pagetable, path, p->tf->a1, sizeof path) < 0)
    return -EFAULT;
  return -ENOENT;
}

int64 sys_getuid(struct proc *p, int hart) { return 0; }
int64 sys_madvise(struct proc *p, int hart) { return 0; }

int64 sys_gettimeofday(struct proc *p, int hart) {
  uint64 t = r_time();
  int64 tv[2] = {(int64)(t / TICKS_PER_SECOND), (int64)(t % TICKS_PER_SECOND / 10)};
  if (p->tf->a0 && copy_out(p->pagetable, p->tf->a0, tv, sizeof tv) < 0)
    return -EFAULT;
  uint32 tz[2] = {0, 0};
  if (p->tf->a1 && copy_out(p->pagetable, p->tf->a1, tz, sizeof tz) < 0)
    return -EFAULT;
  return 0;
}

int64 sys_mprotect(struct proc *p, int hart) {
  uint64 addr = p->tf->a0, len = p->tf->a1, prot = p->tf->a2;
  if (addr % PGSIZE || (prot & ~7UL) || len > TRAPFRAME || addr > TRAPFRAME - PGROUNDUP(len))
    return -EINVAL;
  int perm = prot ? PTE_R | (prot & PROT_WRITE ? PTE_W : 0) | (prot & PROT_EXEC ? PTE_X : 0) : 0;
  if (uvm_protect(p->pagetable, addr, PGROUNDUP(len), perm) < 0)
    return -ENOMEM;
  tlb_shootdown(p, hart);
  return 0;
}

