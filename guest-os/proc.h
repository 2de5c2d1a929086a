// Processes, their saved user context, and the per-hart mailboxes through
// which slaves hand requests to the master.
#pragma once
#include "types.h"

// The user context, saved by the trampoline at each trap from user mode.
// Field offsets are fixed: trampoline.S depends on them.
struct trapframe {
  /*   0 */ uint64 kernel_satp; // the kernel page table of the hart running it
  /*   8 */ uint64 kernel_sp;   // top of that hart's kernel stack
  /*  16 */ uint64 kernel_trap; // the C handler the trampoline jumps to
  /*  24 */ uint64 epc;         // user pc
  /*  32 */ uint64 hartid;      // restored into tp on entry
  /*  40 */ uint64 ra;
  /*  48 */ uint64 sp;
  /*  56 */ uint64 gp;
  /*  64 */ uint64 tp;
  /*  72 */ uint64 t0;
  /*  80 */ uint64 t1;
  /*  88 */ uint64 t2;
  /*  96 */ uint64 s0;
  /* 104 */ uint64 s1;
  /* 112 */ uint64 a0;
  /* 120 */ uint64 a1;
  /* 128 */ uint64 a2;
  /* 136 */ uint64 a3;
  /* 144 */ uint64 a4;
  /* 152 */ uint64 a5;
  /* 160 */ uint64 a6;
  /* 168 */ uint64 a7;
  /* 176 */ uint64 s2;
  /* 184 */ uint64 s3;
  /* 192 */ uint64 s4;
  /* 200 */ uint64 s5;
  /* 208 */ uint64 s6;
  /* 216 */ uint64 s7;
  /* 224 */ uint64 s8;
  /* 232 */ uint64 s9;
  /* 240 */ uint64 s10;
  /* 248 */ uint64 s11;
  /* 256 */ uint64 t3;
  /* 264 */ uint64 t4;
  /* 272 */ uint64 t5;
  /* 280 */ uint64 t6;
  /* 288 */ uint64 f[32];  // f0..f31, saved only when the process dirtied them
  /* 544 */ uint64 fcsr;
  /* 552 */ uint64 fp_valid; // f[] and fcsr hold the process's FP state
};

enum procstate { UNUSED, READY, RUNNING, SLEEPING, ZOMBIE, BLOCKED };

struct proc {
  int pid;
  enum procstate state;
  int exit_status;
  int hart;                // where it runs while RUNNING, else -1
  pagetable_t pagetable;   // its Sv39 root
  struct trapframe *tf;    // its trapframe page (physical = kernel virtual)
  uint64 brk_base;         // first byte of the heap
  uint64 brk;              // current program break
  uint64 mmap_next;        // next anonymous mapping ends here (grows down)
  uint64 wake_time;        // mtime at which a sleeping process wakes
  uint64 sleep_rem_addr;   // user address for nanosleep's remaining time
  uint32 closed_fds;       // bit n set: descriptor n (0-2) is no longer the console
  uint32 has_files;        // it has a descriptor table (file.c)
  struct proc *next;       // link in the ready queue or the sleep list
};

// Why a slave trapped to the master (also the kinds the annotation device reports).
enum request_kind { REQ_SYSCALL = 1, REQ_TIMER = 2, REQ_FAULT = 3, REQ_IDLE = 4 };

// One per hart, written by that hart's stub and read by the master, and
// the other way round for the answer. Aligned so that no two harts share
// a cache line.
struct mailbox {
  // Request: written by the slave before it posts.
  uint64 kind;
  uint64 scause;
  uint64 stval;
  // Answer: written by the master, then `answered` is set last.
  uint64 satp;    // the address space to run
  uint64 tf;      // the process's trapframe (physical address)
  uint64 pid;
  volatile uint64 answered;
} __attribute__((aligned(64)));

// struct stat as asm-generic/stat.h lays it out (128 bytes).
struct kstat {
  uint64 dev, ino;
  uint32 mode, nlink, uid, gid;
  uint64 rdev, pad1;
  int64 size;
  int32 blksize, pad2;
  int64 blocks;
  int64 atime, atime_nsec, mtime, mtime_nsec, ctime, ctime_nsec;
  uint32 unused[2];
};
