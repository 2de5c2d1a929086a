// Signals (signal.c): sending, delivery on the way back to user mode, the
// frame a handler runs on, rt_sigreturn.
#pragma once
#include "abi.h"
#include "types.h"

struct proc;
struct process;

void signal_process(struct process *ps, int sig);
int signal_thread(struct proc *t, int sig);
void signal_fault(struct proc *p, int sig, int code, uint64 addr);
int signal_deliver(struct proc *p);
#include "proc.h"

// Whether p has a signal it could take now (the master asks at every
// answer, so this is inline: nothing pending is the common case).
static inline int signal_pending(struct proc *p) {
  uint64 pending = p->pending | p->process->pending;
  return pending && (pending & ~(p->sigmask & ~(SIGSET_BIT(SIGKILL) | SIGSET_BIT(SIGSTOP))));
}
void signal_interrupt(struct proc *p);
void signals_reset_on_exec(struct process *ps);
struct ksigaction *sigaction_of(struct process *ps, int sig);
