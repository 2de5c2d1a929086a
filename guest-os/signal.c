// Signals: sending them, delivering them on a thread's way back to user
// mode (the master does it as it answers the thread's hart), the frame a
// handler runs on (Linux's RISC-V layout, so glibc's ucontext_t reads it),
// and rt_sigreturn.
//
// Default actions: terminate (with the "core" bit in the wait status for
// the signals Linux dumps core on; no core file is written), ignore for
// SIGCHLD, SIGCONT, SIGURG and SIGWINCH; the stop signals (SIGSTOP,
// SIGTSTP, SIGTTIN, SIGTTOU) terminate, since nothing here could continue
// a stopped process.
#include "defs.h"
#include "memlayout.h"
#include "mm.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

// siginfo_t (128 bytes), with the fields the kernel fills.
struct ksiginfo {
  int32 signo, err, code, pad;
  union {
    struct {
      int32 pid;
      uint32 uid;
      int32 status;
      int32 pad2;
      int64 utime, stime;
    } kill;        // SI_USER, SI_TKILL, SIGCHLD
    uint64 addr;   // faults
    uint8 bytes[112];
  } u;
};
_Static_assert(sizeof(struct ksiginfo) == 128, "siginfo_t is 128 bytes");

// struct ucontext (960 bytes): uc_sigmask at 40, uc_mcontext at 176,
// which holds pc and x1..x31, then the floating-point state (the
// Q-extension union member is the largest: 528 bytes).
struct kucontext {
  uint64 flags;
  uint64 link;
  uint64 ss_sp;
  int32 ss_flags, ss_pad;
  uint64 ss_size;
  uint64 sigmask;
  uint8 sigmask_rest[120];
  uint64 mcontext_pad; // sigcontext is 16-byte aligned
  uint64 regs[32];     // pc, x1..x31
  uint64 fregs[32];    // f0..f31 (D extension)
  uint32 fcsr;
  uint8 fp_rest[528 - 32 * 8 - 4];
};
_Static_assert(sizeof(struct kucontext) == 960, "ucontext is 960 bytes");
_Static_assert(__builtin_offsetof(struct kucontext, sigmask) == 40, "uc_sigmask at 40");
_Static_assert(__builtin_offsetof(struct kucontext, regs) == 176, "uc_mcontext at 176");

struct sigframe {
  struct ksiginfo info;
  struct kucontext uc;
};
_Static_assert(sizeof(struct sigframe) == 1088, "rt_sigframe is 1088 bytes");

// Signals whose default action is to be ignored, and those that dump core.
#define DEFAULT_IGNORE (SIGSET_BIT(SIGCHLD) | SIGSET_BIT(SIGCONT) | SIGSET_BIT(SIGURG) | SIGSET_BIT(SIGWINCH))
#define DEFAULT_CORE                                                                                           \
  (SIGSET_BIT(SIGQUIT) | SIGSET_BIT(SIGILL) | SIGSET_BIT(SIGTRAP) | SIGSET_BIT(SIGABRT) | SIGSET_BIT(SIGBUS) | \
   SIGSET_BIT(SIGFPE) | SIGSET_BIT(SIGSEGV) | SIGSET_BIT(SIGXCPU) | SIGSET_BIT(SIGXFSZ) | SIGSET_BIT(SIGSYS))
#define UNBLOCKABLE (SIGSET_BIT(SIGKILL) | SIGSET_BIT(SIGSTOP))

// Why a fault signal was raised, for the frame (si_code and si_addr).
struct fault_info {
  int code;
  uint64 addr;
};

// The lowest signal in a non-empty set (no libgcc here for ctz).
static int lowest(uint64 set) {
  int sig = 1;
  while (!(set & 1)) {
    set >>= 1;
    sig++;
  }
  return sig;
}

// The wait status of a process a signal ends.
static int killed_status(int sig) { return sig | ((SIGSET_BIT(sig) & DEFAULT_CORE) ? 0x80 : 0); }

// The action for sig: the process's own, or the default one (read only).
struct ksigaction *sigaction_of(struct process *ps, int sig) {
  static const struct ksigaction default_action;
  return ps->actions ? &ps->actions[sig - 1] : (struct ksigaction *)&default_action;
}

static int ignored(struct process *ps, int sig) {
  uint64 h = sigaction_of(ps, sig)->handler;
  return sig != SIGKILL && sig != SIGSTOP && (h == SIG_IGN || (h == SIG_DFL && (SIGSET_BIT(sig) & DEFAULT_IGNORE)));
}

// The signals p could take now: pending for it or its process, not blocked.
static uint64 deliverable(struct proc *p) { return (p->pending | p->process->pending) & ~(p->sigmask & ~UNBLOCKABLE); }

// A blocked or sleeping thread that a signal interrupts: its wait ends with
// -EINTR (nanosleep, futexes, vfork, pause), or, for waits that repeat the
// call when woken (wait4), without restarting it unless the handler has
// SA_RESTART (a pipe write that already moved bytes returns their count).
// Threads waiting for the disk are left to finish their wait (they are on
// lists only bio.c changes).
void signal_interrupt(struct proc *p) {
  if (p->state == SLEEPING) {
    sleep_remove(p);
    p->tf->a0 = -EINTR;
    if (p->sleep_rem_addr) { // nanosleep: what is left of the request
      uint64 now = r_time(), left = p->wake_time > now ? p->wake_time - now : 0;
      int64 rem[2] = {(int64)(left / 10000000UL), (int64)(left % 10000000UL * 100)};
      copy_out(p->pagetable, p->sleep_rem_addr, rem, sizeof rem);
    }
    ready_push(p);
  } else if (p->state == BLOCKED && p->wait_kind == WAIT_POLL) {
    // poll and select are never restarted after a handler (signal(7)).
    waitq_forget(p);
    sleep_remove(p);
    p->wait_kind = WAIT_NOTHING;
    p->poll_again = 0;
    p->tf->epc += 4;
    p->tf->a0 = -EINTR;
    ready_push(p);
  } else if (p->state == BLOCKED && (p->wait_kind == WAIT_CHILD || p->wait_kind == WAIT_PIPE || p->wait_kind == WAIT_CONSOLE ||
                                    p->wait_kind == WAIT_LOCK)) {
    // Waits that make their call again when woken.
    if (p->wait_kind == WAIT_CHILD)
      child_wait_forget(p);
    else
      waitq_forget(p);
    p->wait_kind = WAIT_NOTHING;
    int sig = lowest(deliverable(p));
    if (p->io_done) {
      p->tf->epc += 4; // a pipe write that moved some bytes returns their count
      p->tf->a0 = p->io_done;
      p->io_done = 0;
    } else if (!(sigaction_of(p->process, sig)->flags & SA_RESTART)) {
      p->tf->epc += 4; // past the ecall again: the call returns -EINTR
      p->tf->a0 = -EINTR;
    }
    ready_push(p);
  } else if (p->state == BLOCKED && p->wait_kind != WAIT_NOTHING && p->wait_kind != WAIT_VFORK &&
             p->wait_kind != WAIT_SHOOTDOWN) {
    thread_wake(p, -EINTR);
  }
}

// Makes thread t notice a signal that it may take: interrupt its wait, or
// bring it off its hart so the signal is delivered on its way back.
static void notify(struct proc *t) {
  if (t->state == RUNNING)
    master_kick(t);
  else
    signal_interrupt(t);
}

// A signal for one thread (tgkill, tkill, faults). -EAGAIN never: pending
// signals are a set, as Linux's standard signals are.
int signal_thread(struct proc *t, int sig) {
  if (sig == 0)
    return 0;
  if (ignored(t->process, sig))
    return 0;
  t->pending |= SIGSET_BIT(sig);
  if (!(t->sigmask & SIGSET_BIT(sig)) || (SIGSET_BIT(sig) & UNBLOCKABLE))
    notify(t);
  return 0;
}

struct pick {
  int sig;
  struct proc *chosen;
};

static void pick_thread(struct proc *t, void *arg) {
  struct pick *k = arg;
  if (!k->chosen && !(t->sigmask & SIGSET_BIT(k->sig)))
    k->chosen = t;
}

// A signal for a whole process (kill): one thread that does not block it
// takes it. SIGKILL ends the process at once.
void signal_process(struct process *ps, int sig) {
  if (sig == 0 || ps->state != PROCESS_LIVE || ignored(ps, sig))
    return;
  if (sig == SIGKILL) {
    if (!ps->group_exiting) {
      ps->group_exiting = 1;
      ps->exit_status = SIGKILL;
    }
    process_stop_threads(ps, NULL);
    return;
  }
  ps->pending |= SIGSET_BIT(sig);
  struct pick k = {sig, NULL};
  for_each_thread(ps, pick_thread, &k);
  if (k.chosen)
    notify(k.chosen);
}

// Ends p's process as signal `sig` does by default.
static void terminate(struct proc *p, int sig) {
  annotate(EV_SIGNAL, p->tid, sig, 0);
  process_terminate(p, killed_status(sig));
}

// Builds the frame for handler `act` of signal `sig` on p's stack and
// points p at the handler. Returns -1 if the frame cannot be written.
static int build_frame(struct proc *p, int sig, struct ksigaction *act, const struct fault_info *fault) {
  struct trapframe *tf = p->tf;
  uint64 sp = tf->sp;
  int on_alt = p->altstack_size && sp >= p->altstack_sp && sp < p->altstack_sp + p->altstack_size;
  if ((act->flags & SA_ONSTACK) && p->altstack_size && !on_alt)
    sp = p->altstack_sp + p->altstack_size;
  sp = (sp - sizeof(struct sigframe)) & ~15UL;
  static struct sigframe frame; // the master is one thread: one frame at a time
  memset(&frame, 0, sizeof frame);
  frame.info.signo = sig;
  if (fault) {
    frame.info.code = fault->code;
    frame.info.u.addr = fault->addr;
  } else {
    frame.info.code = SI_USER;
  }
  frame.uc.ss_sp = p->altstack_sp;
  frame.uc.ss_size = p->altstack_size;
  frame.uc.ss_flags = p->altstack_size ? (on_alt ? SS_ONSTACK : 0) : SS_DISABLE;
  frame.uc.sigmask = p->restore_sigmask ? p->saved_sigmask : p->sigmask;
  frame.uc.regs[0] = tf->epc;
  memcpy(&frame.uc.regs[1], &tf->ra, 31 * sizeof(uint64));
  if (tf->fp_valid) {
    memcpy(frame.uc.fregs, tf->f, sizeof frame.uc.fregs);
    frame.uc.fcsr = tf->fcsr;
  }
  if (copy_out(p->pagetable, sp, &frame, sizeof frame) < 0)
    return -1;
  tf->epc = act->handler;
  tf->sp = sp;
  tf->a0 = sig;
  tf->a1 = sp + __builtin_offsetof(struct sigframe, info);
  tf->a2 = sp + __builtin_offsetof(struct sigframe, uc);
  tf->ra = SIGRETURN_PAGE;
  if (p->restore_sigmask) { // rt_sigsuspend's mask ends with the wait
    p->sigmask = p->saved_sigmask;
    p->restore_sigmask = 0;
  }
  p->sigmask |= act->mask & ~UNBLOCKABLE;
  if (!(act->flags & SA_NODEFER))
    p->sigmask |= SIGSET_BIT(sig);
  if (act->flags & SA_RESETHAND)
    act->handler = SIG_DFL;
  return 0;
}

// Takes one signal for p as it goes back to user mode: a handler's frame,
// or the default action. Returns 1 if p's process was ended (p is gone).
static int take(struct proc *p, int sig, const struct fault_info *fault) {
  p->pending &= ~SIGSET_BIT(sig);
  p->process->pending &= ~SIGSET_BIT(sig);
  struct ksigaction *act = sigaction_of(p->process, sig);
  if (sig == SIGKILL || act->handler == SIG_DFL) {
    if (SIGSET_BIT(sig) & DEFAULT_IGNORE)
      return 0;
    terminate(p, sig);
    return 1;
  }
  if (act->handler == SIG_IGN)
    return 0;
  annotate(EV_SIGNAL, p->tid, sig, act->handler);
  if (p->io_done) {
    // A file transfer that waited after moving some bytes: it returns
    // their count, and the handler runs after the call (fd.c).
    p->tf->epc += 4;
    p->tf->a0 = p->io_done;
    p->io_done = 0;
  }
  if (build_frame(p, sig, act, fault) < 0) {
    terminate(p, SIGSEGV); // as Linux forces SIGSEGV when the frame cannot be written
    return 1;
  }
  return 0;
}

// Delivers what p may take before it returns to user mode. Returns 1 if p
// was ended.
int signal_deliver(struct proc *p) {
  // One signal per return to user mode, the lowest-numbered first, as
  // Linux takes them; the next is taken when the handler's rt_sigreturn
  // (itself a system call) returns.
  uint64 ready = deliverable(p);
  int gone = ready ? take(p, lowest(ready), NULL) : 0;
  if (!gone && p->restore_sigmask && p->state != BLOCKED) {
    p->sigmask = p->saved_sigmask; // rt_sigsuspend woke without a handler to run
    p->restore_sigmask = 0;
  }
  return gone;
}

// A fault in user mode that the kernel cannot resolve: the signal goes to
// the thread at once. Blocked or ignored, or with no handler, it ends the
// process, as Linux's force_sig does.
void signal_fault(struct proc *p, int sig, int code, uint64 addr) {
  struct ksigaction *act = sigaction_of(p->process, sig);
  if ((p->sigmask & SIGSET_BIT(sig)) || act->handler == SIG_IGN || act->handler == SIG_DFL) {
    terminate(p, sig);
    return;
  }
  struct fault_info fault = {code, addr};
  take(p, sig, &fault);
}

// execve: handlers go back to the default; ignored signals stay ignored.
void signals_reset_on_exec(struct process *ps) {
  for (int i = 0; ps->actions && i < NSIG; i++) {
    if (ps->actions[i].handler != SIG_IGN)
      ps->actions[i].handler = SIG_DFL;
    ps->actions[i].flags = 0;
    ps->actions[i].mask = 0;
  }
}

// ---- The system calls ----

int64 sys_rt_sigaction(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 sig = tf->a0;
  if (sig < 1 || sig > NSIG || tf->a3 != 8)
    return -EINVAL;
  struct ksigaction old = *sigaction_of(p->process, sig);
  if (tf->a1) {
    if (!p->process->actions && !(p->process->actions = kalloc()))
      return -ENOMEM;
    if (sig == SIGKILL || sig == SIGSTOP)
      return -EINVAL;
    struct ksigaction new_act;
    if (copy_in(p->pagetable, &new_act, tf->a1, sizeof new_act) < 0)
      return -EFAULT;
    new_act.mask &= ~UNBLOCKABLE;
    p->process->actions[sig - 1] = new_act;
    // Setting SIG_IGN discards what is pending (POSIX).
    if (ignored(p->process, sig)) {
      p->process->pending &= ~SIGSET_BIT(sig);
      p->pending &= ~SIGSET_BIT(sig);
    }
  }
  if (tf->a2 && copy_out(p->pagetable, tf->a2, &old, sizeof old) < 0) {
    if (tf->a1)
      p->process->actions[sig - 1] = old;
    return -EFAULT;
  }
  return 0;
}

int64 sys_rt_sigprocmask(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a3 != 8)
    return -EINVAL;
  uint64 old = p->sigmask;
  if (tf->a1) {
    uint64 set;
    if (copy_in(p->pagetable, &set, tf->a1, sizeof set) < 0)
      return -EFAULT;
    switch (tf->a0) {
    case SIG_BLOCK: p->sigmask |= set; break;
    case SIG_UNBLOCK: p->sigmask &= ~set; break;
    case SIG_SETMASK: p->sigmask = set; break;
    default: return -EINVAL;
    }
    p->sigmask &= ~UNBLOCKABLE;
  }
  if (tf->a2 && copy_out(p->pagetable, tf->a2, &old, sizeof old) < 0)
    return -EFAULT;
  return 0;
}

int64 sys_rt_sigpending(struct proc *p, int hart) {
  uint64 set = (p->pending | p->process->pending) & p->sigmask;
  return copy_out(p->pagetable, p->tf->a0, &set, sizeof set) < 0 ? -EFAULT : 0;
}

// rt_sigsuspend: waits with a temporary mask until a signal is taken; the
// handler's frame keeps the old mask, which sigreturn restores.
int64 sys_rt_sigsuspend(struct proc *p, int hart) {
  uint64 set;
  if (p->tf->a1 != 8)
    return -EINVAL;
  if (copy_in(p->pagetable, &set, p->tf->a0, sizeof set) < 0)
    return -EFAULT;
  // The wait's mask holds until a signal is taken on the way out (its
  // frame saves the old mask, which rt_sigreturn restores) or, with none
  // to take, until the return (signal_deliver). A signal already pending
  // that the wait's mask lets through is taken at once, under that mask:
  // the old one may block it.
  p->saved_sigmask = p->sigmask;
  p->restore_sigmask = 1;
  p->sigmask = set & ~UNBLOCKABLE;
  if (!signal_pending(p))
    thread_block(p, WAIT_SIGNAL, (uint64)-1);
  return -EINTR;
}

int64 sys_rt_sigreturn(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  static struct kucontext uc;
  if (copy_in(p->pagetable, &uc, tf->sp + __builtin_offsetof(struct sigframe, uc), sizeof uc) < 0) {
    terminate(p, SIGSEGV);
    return 0;
  }
  tf->epc = uc.regs[0];
  memcpy(&tf->ra, &uc.regs[1], 31 * sizeof(uint64));
  memcpy(tf->f, uc.fregs, sizeof uc.fregs);
  tf->fcsr = uc.fcsr;
  tf->fp_valid = 1;
  p->sigmask = uc.sigmask & ~UNBLOCKABLE;
  return tf->a0; // serve() stores it back in a0: the interrupted code's own
}

int64 sys_sigaltstack(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  struct {
    uint64 sp;
    int32 flags, pad;
    uint64 size;
  } ss, old;
  int on = p->altstack_size && tf->sp >= p->altstack_sp && tf->sp < p->altstack_sp + p->altstack_size;
  memset(&old, 0, sizeof old);
  old.sp = p->altstack_sp;
  old.size = p->altstack_size;
  old.flags = p->altstack_size ? (on ? SS_ONSTACK : 0) : SS_DISABLE;
  if (tf->a0) {
    if (copy_in(p->pagetable, &ss, tf->a0, sizeof ss) < 0)
      return -EFAULT;
    if (on)
      return -EPERM;
    if (ss.flags & ~(SS_DISABLE | (1 << 31)))
      return -EINVAL;
    if (ss.flags & SS_DISABLE) {
      p->altstack_sp = p->altstack_size = 0;
    } else {
      if (ss.size < MINSIGSTKSZ)
        return -ENOMEM;
      p->altstack_sp = ss.sp;
      p->altstack_size = ss.size;
    }
  }
  if (tf->a1 && copy_out(p->pagetable, tf->a1, &old, sizeof old) < 0)
    return -EFAULT;
  return 0;
}

static int64 check_signal(uint64 sig) { return sig > NSIG ? -EINVAL : 0; }

struct group_kill {
  int pgid, sig, count;
  struct process *self;
};

// kill(pid, sig): a process, a process group (0: the caller's, -pgid), or
// every process but the caller (-1).
int64 sys_kill(struct proc *p, int hart) {
  int pid = (int)p->tf->a0;
  uint64 sig = p->tf->a1;
  if (pid > 0) {
    struct process *ps = process_by_pid(pid);
    if (!ps || ps->state != PROCESS_LIVE)
      return -ESRCH;
    if (check_signal(sig) < 0)
      return -EINVAL;
    signal_process(ps, sig);
    return 0;
  }
  if (check_signal(sig) < 0)
    return -EINVAL;
  int count = 0;
  int pgid = pid == 0 ? p->process->pgid : -pid;
  for (int i = 0; i < NPROC; i++) {
    struct process *ps = process_at(i);
    if (!ps || ps->state != PROCESS_LIVE)
      continue;
    if (pid == -1 ? ps == p->process : ps->pgid != pgid)
      continue;
    signal_process(ps, sig);
    count++;
  }
  return count ? 0 : -ESRCH;
}

static int64 kill_thread(struct proc *p, int tgid, int tid, uint64 sig) {
  if (tid <= 0)
    return -EINVAL;
  struct proc *t = thread_by_tid(tid);
  if (!t || (tgid > 0 && t->process->pid != tgid))
    return -ESRCH;
  if (check_signal(sig) < 0)
    return -EINVAL;
  if (sig == SIGKILL) {
    signal_process(t->process, sig);
    return 0;
  }
  return signal_thread(t, sig);
}

int64 sys_tgkill(struct proc *p, int hart) {
  if ((int)p->tf->a0 <= 0)
    return -EINVAL;
  return kill_thread(p, (int)p->tf->a0, (int)p->tf->a1, p->tf->a2);
}
int64 sys_tkill(struct proc *p, int hart) { return kill_thread(p, 0, (int)p->tf->a0, p->tf->a1); }
