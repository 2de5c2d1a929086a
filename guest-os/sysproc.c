// The system calls about processes and threads: clone (threads, fork,
// vfork), execve, exit and exit_group, wait4 and waitid, ids, process
// groups and sessions, scheduling, sleeping. The objects they act on are
// proc.c's (threads, processes, queues) and mm.c's (address spaces).
#include "defs.h"
#include "memlayout.h"
#include "mm.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

// ---- clone ----

// clone(flags, stack, parent_tid, tls, child_tid), riscv64's argument order.
int64 sys_clone(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 flags = tf->a0, stack = tf->a1, ptid = tf->a2, tls = tf->a3, ctid = tf->a4;
  if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
    return -EINVAL;
  if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
    return -EINVAL;
  struct proc *t;
  if (flags & CLONE_THREAD) {
    t = thread_clone(p);
    if (!t)
      return -EAGAIN;
  } else {
    int err;
    t = process_fork(p, (flags & CLONE_VM) != 0, &err);
    if (!t)
      return err;
    t->process->exit_signal = flags & CSIGNAL;
    if (flags & CLONE_PARENT)
      process_set_parent(t->process, p->process->parent);
  }
  t->tf->a0 = 0; // the child's result
  if (stack)
    t->tf->sp = stack;
  if (flags & CLONE_SETTLS)
    t->tf->tp = tls;
  int32 tid = t->tid;
  if ((flags & CLONE_PARENT_SETTID) && copy_out(p->pagetable, ptid, &tid, sizeof tid) < 0) {
    // Linux has written nothing yet either: undo the child.
    thread_exit(t);
    return -EFAULT;
  }
  if (flags & CLONE_CHILD_SETTID)
    copy_out(t->pagetable, ctid, &tid, sizeof tid);
  if (flags & CLONE_CHILD_CLEARTID)
    t->clear_child_tid = ctid;
  annotate(EV_THREAD_CREATED, t->tid, t->process->pid, p->tid);
  ready_push(t);
  if (flags & CLONE_VFORK) {
    // The parent waits until the child execs or exits (process_exit and
    // sys_execve wake it with the child's pid).
    t->process->vfork_parent = p;
    thread_block(p, WAIT_VFORK, (uint64)-1);
  }
  return tid;
}

// clone3 is left to the C libraries' fallback to clone.
int64 sys_clone3(struct proc *p, int hart) { return -ENOSYS; }

// ---- execve ----

#define EXEC_STRINGS (128 * 1024) // the bytes execve copies in: argv and envp strings
static char exec_buf[EXEC_STRINGS];
static char *exec_ptrs[MAXARG + 2]; // argv, its NULL, then envp and its NULL

// Copies a NULL-terminated array of user strings into exec_buf from *used
// on, their pointers to out (room for `room` and the NULL); the count, or
// a negative errno.
static int fetch_strings(struct proc *p, uint64 uarray, char **out, int room, uint64 *used) {
  int n = 0;
  out[0] = NULL;
  if (!uarray)
    return 0;
  for (;; n++) {
    uint64 uptr;
    if (copy_in(p->pagetable, &uptr, uarray + 8 * n, sizeof uptr) < 0)
      return -EFAULT;
    if (!uptr)
      break;
    if (n >= room)
      return -E2BIG;
    if (*used >= EXEC_STRINGS)
      return -E2BIG;
    if (copy_in_str(p->pagetable, exec_buf + *used, uptr, EXEC_STRINGS - *used) < 0)
      return uvm_translate(p->pagetable, uptr, PTE_R) ? -E2BIG : -EFAULT;
    out[n] = exec_buf + *used;
    *used += strlen(out[n]) + 1;
  }
  out[n] = NULL;
  return n;
}

int64 sys_execve(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  static char path[FS_PATH];
  // The program first: finding it may wait for the disk, and the call is
  // then made again from the start.
  uint64 size;
  const char *elf;
  int64 a0;
  uint64 node;
  int64 found = fs_exec_lookup(p, tf->a0, &elf, &size, &a0, &node);
  if (found == -ERESTART)
    return a0;
  if (found < 0)
    return found;
  copy_in_str(p->pagetable, path, tf->a0, sizeof path); // it fits: fs_exec_lookup has read it
  uint64 used = 0;
  char **exec_argv = exec_ptrs;
  int argc = fetch_strings(p, tf->a1, exec_argv, MAXARG, &used);
  if (argc < 0)
    return argc;
  char **exec_envp = exec_ptrs + argc + 1;
  int envc = fetch_strings(p, tf->a2, exec_envp, MAXARG - argc, &used);
  if (envc < 0)
    return envc;
  struct mm *mm = mm_create();
  if (!mm)
    return -ENOMEM;
  uint64 entry, sp;
  int err = exec_load(mm, elf, size, argc, exec_argv, envc, exec_envp, &entry, &sp);
  if (err == 0 && thread_switch_mm(p, mm) < 0)
    err = EXEC_NO_MEMORY;
  mm_put(mm); // p holds it now, or nobody: freed
  if (err < 0)
    return err == EXEC_BAD_IMAGE ? -ENOEXEC : err == EXEC_TOO_BIG ? -E2BIG : -ENOMEM;
  // The point of no return: the old image is gone for this thread.
  struct process *ps = p->process;
  process_stop_threads(ps, p);
  p->clear_child_tid = 0;
  fd_exec(ps);
  signals_reset_on_exec(ps);
  p->altstack_sp = p->altstack_size = 0;
  process_set_comm(ps, path);
  ps->exe = node;
  if (ps->vfork_parent) {
    thread_wake(ps->vfork_parent, ps->pid);
    ps->vfork_parent = NULL;
  }
  memset(tf, 0, sizeof *tf);
  tf->epc = entry;
  tf->sp = sp;
  proc_announce(p);
  return 0; // a0 at the new program's entry: no function for atexit
}

// ---- exit ----

int64 sys_exit(struct proc *p, int hart) {
  struct process *ps = p->process;
  if (!ps->group_exiting)
    ps->exit_status = (int)(p->tf->a0 & 0xff) << 8;
  thread_exit(p);
  return 0;
}

int64 sys_exit_group(struct proc *p, int hart) {
  process_terminate(p, (int)(p->tf->a0 & 0xff) << 8);
  return 0;
}

// ---- wait4, waitid ----

// Threads blocked in wait4 or waitid, woken (to repeat the call) when a
// child of their process changes state.
static struct proc *child_waiters;

void child_wait_forget(struct proc *p) {
  for (struct proc **link = &child_waiters; *link; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      break;
    }
  }
  p->next = NULL;
}

void wake_child_waiters(struct process *parent) {
  struct proc **link = &child_waiters;
  while (*link) {
    struct proc *w = *link;
    if (w->process == parent) {
      *link = w->next;
      w->next = NULL;
      w->wait_kind = WAIT_NOTHING;
      ready_push(w); // it makes the same call again
    } else {
      link = &w->next;
    }
  }
}

struct child_search {
  struct process *self;
  int idtype; // P_ALL, P_PID, P_PGID
  int id;
  int found;  // a child that matches
  struct process *zombie;
};

static void match_child(struct process *c, void *arg) {
  struct child_search *s = arg;
  if (s->idtype == P_PID && c->pid != s->id)
    return;
  if (s->idtype == P_PGID && c->pgid != s->id)
    return;
  s->found = 1;
  if (c->state == PROCESS_ZOMBIE && !s->zombie)
    s->zombie = c;
}

// Finds a child for wait4/waitid; blocks the caller (to repeat the call)
// when none has exited and WNOHANG is not given. Returns the zombie, or
// NULL with *result set (-ECHILD, 0 for WNOHANG, or the blocked a0).
static struct process *wait_for_child(struct proc *p, int idtype, int id, int options, int64 *result) {
  struct child_search s = {p->process, idtype, id, 0, NULL};
  for_each_child(p->process, match_child, &s);
  if (s.zombie)
    return s.zombie;
  if (!s.found) {
    *result = -ECHILD;
    return NULL;
  }
  if (options & WNOHANG) {
    *result = 0;
    return NULL;
  }
  if (signal_pending(p)) {
    *result = -EINTR;
    return NULL;
  }
  p->tf->epc -= 4; // back to the ecall: the call is made again when woken
  p->state = BLOCKED;
  p->wait_kind = WAIT_CHILD;
  thread_report_block(p, WAIT_CHILD, 0);
  p->next = child_waiters;
  child_waiters = p;
  *result = p->tf->a0;
  return NULL;
}

static void reap(struct process *c) { process_free(c); }

// wait4(pid, wstatus, options, rusage)
int64 sys_wait4(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int pid = (int)tf->a0, options = (int)tf->a2;
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | 0x40000000 | 0x20000000 | 0x80000000))
    return -EINVAL;
  int idtype = pid < -1 ? P_PGID : pid == -1 ? P_ALL : pid == 0 ? P_PGID : P_PID;
  int id = pid < -1 ? -pid : pid == 0 ? p->process->pgid : pid;
  int64 result;
  struct process *c = wait_for_child(p, idtype, id, options, &result);
  if (!c)
    return result;
  int32 status = c->exit_status;
  if (tf->a1 && copy_out(p->pagetable, tf->a1, &status, sizeof status) < 0)
    return -EFAULT;
  if (tf->a3) {
    static const uint8 rusage[144]; // no resource accounting: all zero
    if (copy_out(p->pagetable, tf->a3, rusage, sizeof rusage) < 0)
      return -EFAULT;
  }
  int child = c->pid;
  reap(c);
  return child;
}

// waitid(idtype, id, infop, options, rusage)
int64 sys_waitid(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int idtype = (int)tf->a0, id = (int)tf->a1, options = (int)tf->a3;
  if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID)
    return -EINVAL;
  if (!(options & (WEXITED | WUNTRACED | WCONTINUED)))
    return -EINVAL;
  if (idtype == P_PGID && id == 0)
    id = p->process->pgid;
  int64 result;
  struct process *c = wait_for_child(p, idtype, id, options, &result);
  if (!c && result != 0)
    return result;
  if (tf->a2) {
    int32 info[32];
    memset(info, 0, sizeof info);
    if (c) {
      int st = c->exit_status;
      info[0] = SIGCHLD;
      info[2] = (st & 0x7f) == 0 ? CLD_EXITED : (st & 0x80) ? CLD_DUMPED : CLD_KILLED;
      info[4] = c->pid;
      info[6] = (st & 0x7f) == 0 ? (st >> 8) & 0xff : st & 0x7f;
    }
    if (copy_out(p->pagetable, tf->a2, info, sizeof info) < 0)
      return -EFAULT;
  }
  if (c && !(options & WNOWAIT))
    reap(c);
  return 0;
}

// ---- Ids, groups and sessions ----

int64 sys_getpid(struct proc *p, int hart) { return p->process->pid; }
int64 sys_gettid(struct proc *p, int hart) { return p->tid; }
// The processes the kernel started have no parent: 0, as for children of the idle task.
int64 sys_getppid(struct proc *p, int hart) { return p->process->parent ? p->process->parent->pid : 0; }

int64 sys_set_tid_address(struct proc *p, int hart) {
  p->clear_child_tid = p->tf->a0;
  return p->tid;
}

int64 sys_set_robust_list(struct proc *p, int hart) { return p->tf->a1 != 24 ? -EINVAL : 0; }

int64 sys_setpgid(struct proc *p, int hart) {
  int pid = (int)p->tf->a0, pgid = (int)p->tf->a1;
  if (pgid < 0)
    return -EINVAL;
  struct process *target = pid == 0 ? p->process : process_by_pid(pid);
  if (!target || (target != p->process && target->parent != p->process))
    return -ESRCH;
  if (target->pid == target->sid)
    return -EPERM; // a session leader
  if (target->sid != p->process->sid)
    return -EPERM;
  target->pgid = pgid == 0 ? target->pid : pgid;
  return 0;
}

int64 sys_getpgid(struct proc *p, int hart) {
  int pid = (int)p->tf->a0;
  struct process *target = pid == 0 ? p->process : process_by_pid(pid);
  return target ? target->pgid : -ESRCH;
}

int64 sys_getsid(struct proc *p, int hart) {
  int pid = (int)p->tf->a0;
  struct process *target = pid == 0 ? p->process : process_by_pid(pid);
  return target ? target->sid : -ESRCH;
}

int64 sys_setsid(struct proc *p, int hart) {
  struct process *ps = p->process;
  // A process group leader cannot start a session (POSIX).
  for (int i = 0; i < NPROC; i++) {
    struct process *other = process_at(i);
    if (other && other != ps && other->state == PROCESS_LIVE && other->pgid == ps->pid)
      return -EPERM;
  }
  if (ps->pgid == ps->pid && ps->sid != ps->pid && ps->parent)
    return -EPERM;
  ps->sid = ps->pgid = ps->pid;
  return ps->sid;
}

int64 sys_umask(struct proc *p, int hart) {
  uint32 old = p->process->umask;
  p->process->umask = p->tf->a0 & 0777;
  return old;
}

// ---- Scheduling ----

int64 sys_sched_yield(struct proc *p, int hart) {
  if (ready_length() > 0)
    ready_push(p);
  return 0;
}

// The mask's size in bytes: the kernel's NCPU bits.
#define AFFINITY_BYTES (NCPU / 8)

int64 sys_sched_getaffinity(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int tid = (int)tf->a0;
  struct proc *t = tid == 0 ? p : thread_by_tid(tid);
  if (!t)
    return -ESRCH;
  if (tf->a1 < 8 || tf->a1 % 8)
    return -EINVAL;
  uint64 len = tf->a1 < AFFINITY_BYTES ? tf->a1 : AFFINITY_BYTES;
  uint64 mask[NCPU / 64];
  memcpy(mask, t->affinity, sizeof mask);
  // Only the harts the machine has.
  for (int h = boot.harts; h < NCPU; h++)
    mask[h / 64] &= ~(1UL << (h % 64));
  if (copy_out(p->pagetable, tf->a2, mask, len) < 0)
    return -EFAULT;
  return len;
}

int64 sys_sched_setaffinity(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int tid = (int)tf->a0;
  struct proc *t = tid == 0 ? p : thread_by_tid(tid);
  if (!t)
    return -ESRCH;
  uint64 mask[NCPU / 64];
  memset(mask, 0, sizeof mask);
  uint64 len = tf->a1 < AFFINITY_BYTES ? tf->a1 : AFFINITY_BYTES;
  if (copy_in(p->pagetable, mask, tf->a2, len) < 0)
    return -EFAULT;
  int any = 0;
  for (int h = 0; h < boot.harts && h < NCPU; h++)
    any |= (mask[h / 64] >> (h % 64)) & 1;
  if (!any)
    return -EINVAL;
  memcpy(t->affinity, mask, sizeof mask);
  // The caller moves at once if its hart is no longer allowed.
  if (t == p && !((mask[hart / 64] >> (hart % 64)) & 1))
    ready_push(p);
  return 0;
}

int64 sys_sched_getscheduler(struct proc *p, int hart) { return 0; } // SCHED_OTHER
int64 sys_sched_getparam(struct proc *p, int hart) {
  int32 prio = 0;
  return copy_out(p->pagetable, p->tf->a1, &prio, sizeof prio) < 0 ? -EFAULT : 0;
}

// ---- Sleeping ----

#define TIMER_ABSTIME 1

// Puts p to sleep until `deadline` (mtime); nanosleep's remaining time is
// written at `rem` if a signal ends the sleep early.
static int64 sleep_until(struct proc *p, uint64 deadline, uint64 rem) {
  p->wake_time = deadline;
  p->sleep_rem_addr = rem;
  sleep_insert(p);
  return 0;
}

// The process sleeps; its hart takes other work meanwhile. A tv_sec too
// large for the clock sleeps until the end of time (Linux saturates too).
int64 sys_nanosleep(struct proc *p, int hart) {
  int64 ts[2];
  if (copy_in(p->pagetable, ts, p->tf->a0, sizeof ts) < 0)
    return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
    return -EINVAL;
  uint64 ticks = timespec_ticks(ts[0], ts[1]);
  uint64 now = r_time();
  return sleep_until(p, ticks >= (uint64)-1 - now ? (uint64)-2 : now + ticks, p->tf->a1);
}

// clock_nanosleep(clock, flags, request, remain)
int64 sys_clock_nanosleep(struct proc *p, int hart) {
  int64 ts[2];
  if (p->tf->a0 > 11)
    return -EINVAL;
  if (copy_in(p->pagetable, ts, p->tf->a2, sizeof ts) < 0)
    return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
    return -EINVAL;
  uint64 ticks = timespec_ticks(ts[0], ts[1]);
  uint64 now = r_time();
  if (p->tf->a1 & TIMER_ABSTIME) {
    if (ticks <= now)
      return 0;
    return sleep_until(p, ticks == (uint64)-1 ? (uint64)-2 : ticks, 0);
  }
  return sleep_until(p, ticks >= (uint64)-1 - now ? (uint64)-2 : now + ticks, p->tf->a3);
}

// ---- Limits ----

#define RLIMIT_STACK 3
#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0UL)

// Limits can be read; new limits are accepted and not enforced.
int64 sys_prlimit64(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a0 != 0 && !process_by_pid((int)tf->a0))
    return -ESRCH;
  if (tf->a1 >= RLIM_NLIMITS)
    return -EINVAL;
  uint64 limit[2] = {RLIM_INFINITY, RLIM_INFINITY};
  if (tf->a1 == RLIMIT_STACK)
    limit[0] = limit[1] = USTACK_PAGES * PGSIZE;
  else if (tf->a1 == RLIMIT_NOFILE)
    limit[0] = limit[1] = NOFILE;
  if (tf->a3 && copy_out(p->pagetable, tf->a3, limit, sizeof limit) < 0)
    return -EFAULT;
  return 0;
}
