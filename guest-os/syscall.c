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
uint64 next_random(void) {
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
#define MAP_FIXED_NOREPLACE 0x100000

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
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr % PGSIZE || addr >= MMAP_TOP || size > MMAP_TOP - addr)
      return -EINVAL;
    va = addr;
    if (!(flags & MAP_FIXED)) {
      // MAP_FIXED_NOREPLACE: there, or nowhere if anything is mapped there.
      for (uint64 a = va; a < va + size; a += PGSIZE)
        if (uvm_translate(p->pagetable, a, 0))
          return -EEXIST;
    }
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

int64 sys_newfstatat(struct proc *p, int hart) {
  char first;
  if ((p->tf->a3 & AT_EMPTY_PATH) && copy_in(p->pagetable, &first, p->tf->a1, 1) == 0 && first == 0)
    return fd_stat(p, (int)p->tf->a0, p->tf->a2);
  return fs_newfstatat(p);
}

int64 sys_getuid(struct proc *p, int hart) { return 0; }

// Every process is root with no supplementary groups.
int64 sys_getgroups(struct proc *p, int hart) { return (int)p->tf->a0 < 0 ? -EINVAL : 0; }
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

