// Processes, their saved user context, and the per-hart mailboxes through
// which slaves hand requests to the master.
#pragma once
#include "param.h"
#include "types.h"

struct mm;
struct fdtable;

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

// Why a blocked thread waits (BLOCKED with wait_kind set; 0 for the
// restartable file-system waits of bio.c, which keep their own lists).
enum wait_kind {
  WAIT_NOTHING = 0, WAIT_FUTEX = 1, WAIT_CHILD = 2, WAIT_VFORK = 3, WAIT_SIGNAL = 4, WAIT_SHOOTDOWN = 6,
  WAIT_PIPE = 7,    // a pipe's reader finds it empty, or its writer full (pipe.c)
  WAIT_CONSOLE = 8, // a reader of the console waits for input (console.c)
  WAIT_LOCK = 9,    // F_SETLKW waits for a conflicting record lock to go (lock.c)
  WAIT_POLL = 10,   // ppoll or pselect6 waits for a descriptor or its deadline (poll.c)
};
#define WAIT_SLEEP_REPORTED 5 // the kind BLOCK events give nanosleep

#define NSIG 64
#define SIGSET_BIT(sig) (1UL << ((sig)-1))

// A signal handler as rt_sigaction passes it (asm-generic struct sigaction
// without sa_restorer, which riscv64 does not have).
// Threads waiting for one thing (a pipe's data or room, console input),
// each to make its call again when woken (waitq_block).
struct waitq {
  struct proc *head;
};

// Threads blocked reading the console (console.c); the master loop looks.
extern struct waitq console_readers;
static inline int console_waiting(void) { return console_readers.head != NULL; }

struct ksigaction {
  uint64 handler; // SIG_DFL 0, SIG_IGN 1, or the handler's address
  uint64 flags;
  uint64 mask;
};

// What the threads of one process share (a POSIX process, Linux's thread
// group): its pid, its family, its signal handlers and its exit status.
// The address space (struct mm) is shared through each thread's `mm`,
// since vfork shares it between two processes.
struct process {
  int pid;      // the thread group id: the tid of its first thread
  int state;    // PROCESS_FREE, PROCESS_LIVE or PROCESS_ZOMBIE
  int nthreads; // threads not yet exited
  int exit_status;         // the wait status (exit code << 8, or the signal)
  int exit_signal;         // sent to the parent at exit (SIGCHLD or 0)
  struct process *parent;  // NULL for the processes the kernel started
  struct process *children, *sibling; // its children, and the next of its parent's
  struct proc *threads;    // its live threads, linked by group_next
  int pgid, sid;
  uint32 umask;
  uint64 exe; // its program's node in /bin (readlink of /proc/self/exe), 0 if unknown
  uint64 cwd;              // the working directory: a node (namespace.c), shared by its threads
  struct fdtable *fds;     // its descriptors, one page (fd.c)
  struct ksigaction *actions; // one page, NSIG entries; NULL while every signal has its default
  uint64 pending;          // process-directed signals not yet delivered
  int group_exiting;       // exit_group or a fatal signal: threads are stopping
  struct proc *vfork_parent; // the thread that waits for this vfork child to exec or exit
  char comm[16];           // the program's name, for reports
};
#define PROCESS_FREE 0
#define PROCESS_LIVE 1
#define PROCESS_ZOMBIE 2

// A thread (Linux's task): what the scheduler runs. Threads of a process
// share `process` and `mm`; each has its own registers (trapframe), its
// signal mask and its place in the queues.
struct proc {
  int tid;                 // thread id; for a process's first thread, its pid
  enum procstate state;
  int exit_status;
  int hart;                // where it runs while RUNNING, else -1
  struct process *process; // the process it belongs to
  struct mm *mm;           // its address space
  pagetable_t pagetable;   // mm->pagetable, cached
  struct trapframe *tf;    // its trapframe page (physical = kernel virtual)
  uint64 tf_va;            // where the trapframe is mapped in mm (its slot)
  uint64 wake_time;        // mtime at which a sleeping or timed waiter wakes
  uint64 sleep_rem_addr;   // user address for nanosleep's remaining time
  struct waitq *waitq;     // what a WAIT_PIPE or WAIT_CONSOLE thread waits on
  uint64 io_done;          // bytes a blocking pipe write moved before it waited
  uint64 poll_deadline;    // a waiting ppoll or pselect6: its deadline (poll.c)
  int poll_again;          // ... and its next attempt is the same call, made again
  uint64 clear_child_tid;  // set_tid_address / CLONE_CHILD_CLEARTID: zeroed and woken at exit
  uint64 sigmask;          // blocked signals
  uint64 saved_sigmask;    // the mask before rt_sigsuspend, restored after
  int restore_sigmask;
  uint64 pending;          // thread-directed signals not yet delivered
  uint64 altstack_sp, altstack_size; // sigaltstack (size 0: none)
  int in_handler_on_altstack;
  int killed;              // being stopped by exit_group, exec or a fatal signal
  // A blocked thread (state BLOCKED or SLEEPING with a deadline).
  int wait_kind;           // enum wait_kind
  int timed;               // also on the sleep list until wake_time
  int block_reported;      // a BLOCK event was sent: the next ready_push sends WAKE
  uint64 futex_key, futex_mm; // what a futex waiter waits on
  uint64 futex_uaddr;      // its word's user address, for reports
  uint32 futex_bitset;
  uint64 affinity[NCPU / 64]; // harts it may run on (sched_setaffinity)
  uint64 shootdown[NCPU / 64]; // harts whose TLB it waits to see flushed (tlb_shootdown)
  struct proc *next;       // link in the ready queue, a wait list or the futex list
  struct proc *group_next; // the next thread of its process
  struct proc *sleep_next; // link in the sleep list (timed waits)
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
  uint64 tf_va;   // where the trapframe is mapped in that address space
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
