// System call dispatch and the calls themselves, with Linux semantics and
// errno values. The master runs all of them; `hart` is where the calling
// process runs. Arguments come from the saved user registers a0..a5 and
// every user pointer is checked (a bad one gives -EFAULT, never a fault).
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "syscall_table.h"

#define EBADF 9
#define ECHILD 10
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

#define TICKS_PER_SECOND 10000000UL // mtime runs at 10 MHz on QEMU virt and rvmsmp
#define NS_PER_TICK 100

uint64 random_state; // seeded from the command line
uint64 unknown_syscalls;

static int64 (*const syscalls[])(struct proc *, int) = {SYSCALL_TABLE_ENTRIES};

int64 syscall_dispatch(struct proc *p, int hart) {
  uint64 nr = p->tf->a7;
  if (nr < sizeof syscalls / sizeof syscalls[0] && syscalls[nr])
    return syscalls[nr](p, hart);
  unknown_syscalls++;
  return -ENOSYS;
}

static int fd_open_for_output(struct proc *p, uint64 fd) { return (fd == 1 || fd == 2) && !(p->closed_fds & (1u << fd)); }

// Writes user bytes to the console; the count written, or -EFAULT if none could be.
static int64 console_out(struct proc *p, uint64 buf, uint64 len) {
  char chunk[256];
  uint64 done = 0;
  while (done < len) {
    uint64 n = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (copy_in(p->pagetable, chunk, buf + done, n) < 0)
      return done ? (int64)done : -EFAULT;
    console_write(chunk, n);
    done += n;
  }
  return done;
}

int64 sys_write(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (!fd_open_for_output(p, tf->a0))
    return -EBADF;
  return console_out(p, tf->a1, tf->a2);
}

int64 sys_writev(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (!fd_open_for_output(p, tf->a0))
    return -EBADF;
  if (tf->a2 > 1024)
    return -EINVAL;
  int64 total = 0;
  for (uint64 i = 0; i < tf->a2; i++) {
    uint64 iov[2]; // base, length
    if (copy_in(p->pagetable, iov, tf->a1 + 16 * i, sizeof iov) < 0)
      return total ? total : -EFAULT;
    int64 n = console_out(p, iov[0], iov[1]);
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
    return -EBADF;
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
    return -EBADF;
  p->closed_fds |= 1u << fd;
  return 0;
}

int64 sys_exit(struct proc *p, int hart) {
  exit_process(p, (int)(p->tf->a0 & 0xff));
  return 0;
}

int64 sys_getpid(struct proc *p, int hart) { return p->pid; }
int64 sys_gettid(struct proc *p, int hart) { return p->pid; }
// Every process is started by the kernel itself, which has no pid.
int64 sys_getppid(struct proc *p, int hart) { return 0; }
int64 sys_set_tid_address(struct proc *p, int hart) { return p->pid; }
// No process has children.
int64 sys_wait4(struct proc *p, int hart) { return -ECHILD; }

int64 sys_sched_yield(struct proc *p, int hart) {
  if (ready_length() > 0)
    ready_push(p);
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

// The process sleeps; its hart takes other work meanwhile.
int64 sys_nanosleep(struct proc *p, int hart) {
  int64 ts[2];
  if (copy_in(p->pagetable, ts, p->tf->a0, sizeof ts) < 0)
    return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
    return -EINVAL;
  uint64 ticks = (uint64)ts[0] * TICKS_PER_SECOND + ((uint64)ts[1] + NS_PER_TICK - 1) / NS_PER_TICK;
  p->wake_time = r_time() + ticks;
  sleep_insert(p);
  return 0;
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
  if (want < p->brk_base || want > p->mmap_next - PGSIZE)
    return p->brk;
  uint64 old_top = PGROUNDUP(p->brk), new_top = PGROUNDUP(want);
  if (new_top > old_top && uvm_map(p->pagetable, old_top, new_top - old_top, PTE_R | PTE_W) < 0) {
    uvm_unmap(p->pagetable, old_top, new_top - old_top);
    return p->brk;
  }
  if (new_top < old_top)
    uvm_unmap(p->pagetable, new_top, old_top - new_top);
  p->brk = want;
  return p->brk;
}

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

// Anonymous mappings only (there are no files yet), placed downwards from
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
  } else {
    if (size > p->mmap_next || p->mmap_next - size < PGROUNDUP(p->brk) + PGSIZE)
      return -ENOMEM;
    va = p->mmap_next - size;
    p->mmap_next = va;
  }
  if (prot == 0)
    return va; // PROT_NONE: address space only
  int perm = PTE_R | (prot & PROT_WRITE ? PTE_W : 0) | (prot & PROT_EXEC ? PTE_X : 0);
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
  return 0;
}
