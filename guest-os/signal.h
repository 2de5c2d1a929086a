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
int signal_pending(struct proc *p);
void signal_interrupt(struct proc *p);
void signals_reset_on_exec(struct process *ps);
struct ksigaction *sigaction_of(struct process *ps, int sig);
