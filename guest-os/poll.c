// ppoll and pselect6 (glibc's poll and select call them), on the console,
// pipes and files, with Linux's readiness rules and errno values.
//
// A call that finds nothing ready and may wait blocks in the master's
// tables on one queue, poll_waiters, woken whenever a pipe changes (pipe.c
// calls poll_notify); it then makes the same call again, with the deadline
// it computed the first time (p->poll_deadline), so activity that wakes it
// does not stretch its timeout. Console input has no wake-up of its own
// here: a caller that watches it also wakes every POLL_CONSOLE_TICKS, as
// the master looks at the UART for blocked readers. Files are always
// ready, as on Linux.
//
// The optional signal mask is the call's mask while it waits, then the
// old one comes back as for rt_sigsuspend (signal.c restores it on the way
// out, or the handler's frame keeps it). A signal ends the wait with
// -EINTR, never restarted, as Linux does for these calls.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100

#define POLL_CONSOLE_TICKS 10000 // 1 ms
#define MAX_POLL_FDS NOFILE
#define FD_SETSIZE_BITS (NOFILE)

static struct waitq poll_waiters;

// Something a caller may wait for has happened: every waiter looks again.
void poll_notify(void) {
  if (poll_waiters.head)
    waitq_wake_all(&poll_waiters);
}

// What is ready on descriptor fd (POLLNVAL if there is none); *console is
// set when the answer depends on console input.
static int fd_events(struct proc *p, int fd, int *console) {
  struct file *f = fd_file(p, fd);
  if (!f)
    return POLLNVAL;
  switch (f->type) {
  case FT_CONSOLE_IN:
    *console = 1;
    // At the end of the host's input, what a pipe gives (the usual stdin
    // of rvmsmp when input ends): POLLHUP.
    return console_input_ready() ? POLLIN | POLLRDNORM : console_input_eof() ? POLLHUP : 0;
  case FT_CONSOLE_OUT:
  case FT_CONSOLE_ERR: return POLLOUT | POLLWRNORM;
  case FT_PIPE: return pipe_poll(f->pipe, f->readable, f->writable);
  default: return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM; // files and devices never wait
  }
}

// The timeout: the deadline in mtime ticks (-1: none), from the first
// attempt of this call. `ticks` is the caller's timeout (-1: none).
static uint64 deadline_of(struct proc *p, uint64 ticks) {
  if (p->poll_again)
    return p->poll_deadline;
  return ticks == (uint64)-1 ? (uint64)-1 : deadline_after(ticks);
}

// Reads a timespec argument into ticks (-1 for NULL): 0 or -EFAULT/-EINVAL.
static int64 timespec_arg(struct proc *p, uint64 uts, uint64 *ticks) {
  *ticks = (uint64)-1;
  if (!uts)
    return 0;
  int64 ts[2];
  if (copy_in(p->pagetable, ts, uts, sizeof ts) < 0)
    return -EFAULT;
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
    return -EINVAL;
  *ticks = timespec_ticks(ts[0], ts[1]);
  return 0;
}

// Takes the call's signal mask (a sigset of `size` bytes at umask, if not
// NULL) for the wait: 0 or an errno.
static int64 wait_mask(struct proc *p, uint64 umask, uint64 size) {
  if (!umask)
    return 0;
  uint64 set;
  if (size != sizeof set)
    return -EINVAL;
  if (copy_in(p->pagetable, &set, umask, sizeof set) < 0)
    return -EFAULT;
  p->saved_sigmask = p->sigmask;
  p->restore_sigmask = 1;
  p->sigmask = set & ~(SIGSET_BIT(SIGKILL) | SIGSET_BIT(SIGSTOP));
  return 0;
}

// Nothing is ready: blocks until a pipe changes or the deadline, or
// returns 0 if the deadline has passed.
static int64 wait_or_time_out(struct proc *p, uint64 deadline, int console) {
  uint64 now = r_time();
  if (deadline != (uint64)-1 && now >= deadline) {
    p->poll_again = 0;
    return 0;
  }
  if (signal_pending(p)) {
    p->poll_again = 0;
    return -EINTR;
  }
  p->poll_again = 1;
  p->poll_deadline = deadline;
  uint64 wake = deadline;
  if (console && now + POLL_CONSOLE_TICKS < wake)
    wake = now + POLL_CONSOLE_TICKS;
  int64 a0 = waitq_block(p, &poll_waiters, WAIT_POLL);
  if (wake != (uint64)-1) {
    p->wake_time = wake;
    sleep_add(p);
  }
  return a0;
}

struct pollfd {
  int32 fd;
  int16 events, revents;
};

// ppoll(fds, nfds, timeout, sigmask, sigsetsize)
int64 sys_ppoll(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 ufds = tf->a0, nfds = tf->a1, ticks;
  if (nfds > MAX_POLL_FDS)
    return -EINVAL;
  int64 err = timespec_arg(p, tf->a2, &ticks);
  if (err < 0 || (err = wait_mask(p, tf->a3, tf->a4)) < 0)
    return err;
  uint64 deadline = deadline_of(p, ticks);
  int ready = 0, console = 0;
  for (uint64 i = 0; i < nfds; i++) {
    struct pollfd pf;
    if (copy_in(p->pagetable, &pf, ufds + i * sizeof pf, sizeof pf) < 0) {
      p->poll_again = 0;
      return -EFAULT;
    }
    // POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not.
    int ev = pf.fd < 0 ? 0 : fd_events(p, pf.fd, &console) & (pf.events | POLLERR | POLLHUP | POLLNVAL);
    ready += ev != 0;
    pf.revents = (int16)ev;
    if (copy_out(p->pagetable, ufds + i * sizeof pf + 6, &pf.revents, sizeof pf.revents) < 0) {
      p->poll_again = 0;
      return -EFAULT;
    }
  }
  if (ready) {
    p->poll_again = 0;
    return ready;
  }
  return wait_or_time_out(p, deadline, console);
}

// pselect6(n, readfds, writefds, exceptfds, timeout, {sigmask, size})
int64 sys_pselect6(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int64 n = (int)tf->a0;
  uint64 sets[3] = {tf->a1, tf->a2, tf->a3}, ticks;
  if (n < 0)
    return -EINVAL;
  if (n > FD_SETSIZE_BITS)
    n = FD_SETSIZE_BITS; // descriptors past the table cannot be open
  int64 err = timespec_arg(p, tf->a4, &ticks);
  if (err < 0)
    return err;
  if (tf->a5) {
    uint64 sig[2];
    if (copy_in(p->pagetable, sig, tf->a5, sizeof sig) < 0)
      return -EFAULT;
    if ((err = wait_mask(p, sig[0], sig[1])) < 0)
      return err;
  }
  uint64 deadline = deadline_of(p, ticks);
  static uint64 in[3][FD_SETSIZE_BITS / 64], out[3][FD_SETSIZE_BITS / 64];
  uint64 words = (n + 63) / 64;
  for (int s = 0; s < 3; s++) {
    memset(in[s], 0, sizeof in[s]);
    memset(out[s], 0, sizeof out[s]);
    if (sets[s] && words && copy_in(p->pagetable, in[s], sets[s], words * 8) < 0) {
      p->poll_again = 0;
      return -EFAULT;
    }
  }
  int ready = 0, console = 0;
  for (int64 fd = 0; fd < n; fd++) {
    uint64 bit = 1UL << (fd % 64);
    int asked = 0;
    for (int s = 0; s < 3; s++)
      asked |= (in[s][fd / 64] & bit) != 0;
    if (!asked)
      continue;
    int ev = fd_events(p, fd, &console);
    if (ev & POLLNVAL) {
      p->poll_again = 0;
      return -EBADF;
    }
    // As Linux: readable with data, end of file or an error; writable with
    // room or an error; "exceptional" for priority data (never here).
    int is[3] = {(ev & (POLLIN | POLLHUP | POLLERR)) != 0, (ev & (POLLOUT | POLLERR)) != 0, (ev & POLLPRI) != 0};
    for (int s = 0; s < 3; s++)
      if ((in[s][fd / 64] & bit) && is[s]) {
        out[s][fd / 64] |= bit;
        ready++;
      }
  }
  if (!ready) {
    int64 r = wait_or_time_out(p, deadline, console);
    if (r != 0 || p->poll_again)
      return r; // blocked (a0 as it was), or interrupted
  }
  p->poll_again = 0;
  for (int s = 0; s < 3; s++)
    if (sets[s] && words && copy_out(p->pagetable, sets[s], out[s], words * 8) < 0)
      return -EFAULT;
  return ready;
}
