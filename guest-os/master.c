// The master: hart 0 alone runs the kernel proper. It takes the slaves'
// requests in the order they were posted (the request ring), serves each
// with ordinary kernel code, answers, and hands ready processes to idle
// harts. All kernel tables (processes, ready queue, pages) are touched
// here and nowhere else.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "mm.h"
#include "proc.h"
#include "signal.h"
#include "riscv.h"
#include "ring.h"

uint64 slice_ticks = DEFAULT_SLICE;

uint64 slice_deadline(void) { return r_time() + 1 + slice_ticks; }
int master_runs_user;

static struct proc *running[NCPU]; // the process each hart runs, or NULL
static uint64 request_head;        // the next ticket to serve

// Harts waiting for work, first come first served.
static int idle_harts[NCPU];
static int idle_head, idle_count;

static int first_failure; // the first non-zero exit status, reported at power-off

void kernelvec(void);

static void idle_push(int hart) {
  idle_harts[(idle_head + idle_count++) % NCPU] = hart;
  annotate(EV_HART_IDLE, hart, 0, 0);
}

// A hart that stays idle goes back to the end of the queue, without a new
// HART_IDLE event (it never stopped being idle).
static void idle_push_back(int hart) { idle_harts[(idle_head + idle_count++) % NCPU] = hart; }

static int idle_pop(void) {
  int hart = idle_harts[idle_head];
  idle_head = (idle_head + 1) % NCPU;
  idle_count--;
  return hart;
}

// Gives process p to `hart`. For a slave: write the answer, then IPI it.
// Hart 0 runs its process when the master loop has nothing else to do.
static void assign(int hart, struct proc *p) {
  running[hart] = p;
  p->state = RUNNING;
  p->hart = hart;
  annotate(EV_PROCESS_ASSIGNED, hart, p->tid, 0);
  if (hart == 0)
    return;
  struct mailbox *mb = &mailboxes[hart];
  mb->satp = MAKE_SATP(p->pagetable);
  mb->tf = (uint64)p->tf;
  mb->tf_va = p->tf_va;
  mb->pid = p->tid;
  fence();
  mb->answered = 1;
  fence();
  *(volatile uint32 *)CLINT_MSIP(hart) = 1;
}

// A process the kernel started has ended with wait status `status`: the
// first failure (as a shell reports it: the exit code, or 128 + the
// signal) becomes the machine's power-off status.
void note_exit_status(int status) {
  if (shell_status(status) != 0 && first_failure == 0)
    first_failure = shell_status(status);
}

// Brings thread t, running on another hart, into the master soon: an IPI
// ends its time in user mode (its trap posts a request, which sees why).
void master_kick(struct proc *t) {
  if (t->hart > 0)
    *(volatile uint32 *)CLINT_MSIP(t->hart) = 1;
}

// ---- TLB shootdowns ----
//
// A mapping of address space mm changed (unmapped, or rights taken away)
// while other threads of mm run on other harts: their TLBs may still hold
// the old translation. The master sends each such hart an IPI; the trap it
// takes (uservec does sfence.vma on the way in, userret on the way out)
// flushes its TLB, and its request, whatever it is, tells the master that
// it has. The calling thread's call returns only when every one has: it
// waits (blocked) in the meantime, so the result it sees is final on
// every hart.

static struct proc *shootdown_waiters; // linked by next
static void shootdown_ack_slow(int hart);

static int shootdown_targets(struct proc *p, int hart) {
  int n = 0;
  memset(p->shootdown, 0, sizeof p->shootdown);
  for (int h = 1; h < NCPU && h < boot.harts; h++) {
    struct proc *t = running[h];
    if (h == hart || !t || t->mm != p->mm)
      continue;
    p->shootdown[h / 64] |= 1UL << (h % 64);
    *(volatile uint32 *)CLINT_MSIP(h) = 1;
    n++;
  }
  return n;
}

// Called by the system call that changed p's mappings (p runs on `hart`).
void tlb_shootdown(struct proc *p, int hart) {
  sfence_vma(); // the master's own view, should it ever cache user addresses
  if (!shootdown_targets(p, hart))
    return;
  annotate(EV_SHOOTDOWN, p->tid, hart, 0);
  thread_block(p, WAIT_SHOOTDOWN, (uint64)-1);
  p->next = shootdown_waiters;
  shootdown_waiters = p;
}

// p stops waiting (it is exiting).
void shootdown_forget(struct proc *p) {
  for (struct proc **link = &shootdown_waiters; *link; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      break;
    }
  }
  p->next = NULL;
}

// A request from `hart`: that hart has trapped, so its TLB is flushed.
static inline __attribute__((always_inline)) void shootdown_ack(int hart) {
  if (shootdown_waiters)
    shootdown_ack_slow(hart);
}

static void __attribute__((noinline)) shootdown_ack_slow(int hart) {
  for (struct proc **link = &shootdown_waiters; *link;) {
    struct proc *w = *link;
    w->shootdown[hart / 64] &= ~(1UL << (hart % 64));
    int left = 0;
    for (int i = 0; i < NCPU / 64; i++)
      left |= w->shootdown[i] != 0;
    if (left) {
      link = &w->next;
      continue;
    }
    *link = w->next;
    w->next = NULL;
    w->wait_kind = WAIT_NOTHING;
    thread_wake(w, w->tf->a0); // its result, stored when it blocked
  }
}

// The signal a fault raises, and its si_code.
static int fault_signal(uint64 scause, int *code) {
  switch (scause) {
  case CAUSE_ILLEGAL_INSTRUCTION: *code = ILL_ILLOPC; return SIGILL;
  case CAUSE_BREAKPOINT: *code = TRAP_BRKPT; return SIGTRAP;
  case 0: case 4: case 6: *code = BUS_ADRALN; return SIGBUS; // misaligned
  case 1: case 5: case 7: *code = SEGV_ACCERR; return SIGSEGV; // access faults
  default: *code = SEGV_MAPERR; return SIGSEGV;
  }
}

// A fault the kernel does not resolve: the thread's SIGSEGV (or the
// like). With no handler to take it the process ends, as it always did,
// with a line on the console.
static void user_fault(struct proc *p, int hart, uint64 scause, uint64 stval) {
  int code;
  int sig = fault_signal(scause, &code);
  struct ksigaction *act = sigaction_of(p->process, sig);
  if (act->handler <= SIG_IGN || (p->sigmask & SIGSET_BIT(sig)))
    printf("rvmsmp: killed pid %d on hart %d: %s at pc %p, tval %p\n", p->process->pid, hart, cause_name(scause),
           p->tf->epc, stval);
  signal_fault(p, sig, code, stval);
}

// Whether thread p, which the master is about to send back to user mode,
// still goes: a thread being stopped ends here, and pending signals are
// delivered (which may end its process).
static int __attribute__((noinline)) leave_or_take_signals(struct proc *p) {
  if (p->killed) {
    thread_exit(p);
    return 0;
  }
  if (signal_deliver(p))
    return 0;
  return p->state == RUNNING;
}

static inline __attribute__((always_inline)) int may_return_to_user(struct proc *p) {
  if (!p->killed && !signal_pending(p)) // the common case, inline
    return 1;
  return leave_or_take_signals(p);
}

// Serves one request from `hart`, whose thread (if any) is running[hart].
static void serve(int hart, uint64 kind, uint64 scause, uint64 stval) {
  struct proc *p = running[hart];
  uint64 nr = kind == REQ_SYSCALL ? p->tf->a7 : scause;
  annotate4(EV_SERVICE_START, hart, p ? p->tid : 0, nr, kind);
  int64 result = 0;
  shootdown_ack(hart);
  if (p && p->killed) {
    // Stopped by exit_group, execve or a fatal signal while it ran: it
    // ends here, whatever it asked.
    thread_exit(p);
    kind = REQ_IDLE;
  }
  switch (kind) {
  case REQ_SYSCALL:
    p->tf->epc += 4; // return past the ecall
    result = syscall_dispatch(p, hart);
    if (p->state != ZOMBIE && p->state != UNUSED) // a thread that waits gets its result too
      p->tf->a0 = result;
    break;
  case REQ_TIMER:
    // The slice is over: round robin if anyone is waiting. (An IPI that
    // brought the thread here to take a signal or to stop lands here too.)
    if (scause == CAUSE_TIMER_IRQ && ready_for(hart))
      ready_push(p);
    break;
  case REQ_FAULT:
    user_fault(p, hart, scause, stval);
    break;
  case REQ_IDLE:
    break;
  }
  annotate(EV_SERVICE_END, hart, p ? p->tid : 0, result);
  if (p && p->state == RUNNING && p->hart == hart && may_return_to_user(p)) {
    assign(hart, p); // the same thread goes on
  } else {
    running[hart] = NULL;
    if (hart != 0)
      idle_push(hart);
  }
}

// Serves the oldest posted request, if there is one. The master loop
// takes one request per turn, so that sleepers are woken and idle harts
// given work between any two requests, and so that a request costs the
// master the same whether it arrives at an idle master or joins a queue:
// the loop's own work is paid once per request, never shared by a batch.
static void serve_oldest(void) {
  struct ring_slot *slot = &request_ring[request_head % RING_SLOTS];
  if (__atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != request_head + 1)
    return;
  int hart = slot->hart;
  request_head++;
  struct mailbox *mb = &mailboxes[hart];
  serve(hart, mb->kind, mb->scause, mb->stval);
}

static int request_pending(void) {
  return __atomic_load_n(&request_ring[request_head % RING_SLOTS].seq, __ATOMIC_ACQUIRE) == request_head + 1;
}

static void wake_sleepers(void) {
  struct proc *p;
  while ((p = sleep_pop_due(r_time())) != NULL)
    sleep_expired(p);
  if (console_waiting())
    console_poll();
}

// When the idle master must wake by itself: the next sleeper's time, or
// sooner to look for console input.
static inline __attribute__((always_inline)) uint64 next_wake(void) {
  uint64 wake = sleep_next_wake();
  if (console_waiting()) {
    uint64 poll = console_poll_deadline();
    return poll < wake ? poll : wake;
  }
  return wake;
}

// Idle slaves get ready threads, both in FIFO order: each idle hart, in
// the order it asked, the oldest ready thread its affinity allows.
static void dispatch(void) {
  for (int tries = idle_count; tries > 0 && ready_length() > 0; tries--) {
    int hart = idle_pop();
    struct proc *p = ready_pop_for(hart);
    if (!p) {
      idle_push_back(hart);
      continue;
    }
    p->state = RUNNING;
    p->hart = hart;
    running[hart] = p;
    if (may_return_to_user(p)) {
      assign(hart, p);
    } else {
      running[hart] = NULL;
      idle_push_back(hart);
    }
  }
}

// Nothing can run and nothing can wake anyone: every thread left waits
// for another (a futex nobody will wake, a child that waits for its
// parent, ...). The master says who waits on what and stops the machine
// with the status rvmsmp gives a machine that waits for ever (125).
static int slaves; // harts that run the slave stub, set when the loop starts

static void __attribute__((noinline)) check_deadlock_now(void) {
  if (running[0] || live_procs == 0)
    return;
  if (ready_length() > 0 || sleep_next_wake() != (uint64)-1 || request_pending() || disk_busy() || console_waiting())
    return;
  printf("rvmsmp kernel: deadlock: every thread is blocked and none can be woken:\n");
  report_blocked_threads();
  power_off(DEADLOCK_STATUS);
}

// The cheapest test inline: while any slave has work this is one compare.
static inline __attribute__((always_inline)) void check_deadlock(void) {
  if (idle_count == slaves)
    check_deadlock_now();
}

static void master_usertrap_disk(void) __attribute__((noreturn));
// Both versions of the loop inline these, as the single loop did.
static inline void serve_oldest(void) __attribute__((always_inline));
static inline void wake_sleepers(void) __attribute__((always_inline));
static inline void dispatch(void) __attribute__((always_inline));
static inline int request_pending(void) __attribute__((always_inline));

static void __attribute__((noinline, noreturn)) loop_with_disk(void);

// A request from a slave, or (with a disk) completions the file system in
// RAM has not yet delivered: the master has work before it runs a
// process or sleeps.
static inline __attribute__((always_inline)) int work_waiting(const int disk) {
  return request_pending() || (disk && ramdisk_busy());
}

static inline __attribute__((always_inline, noreturn)) void resume_on_master(const int disk) {
  struct proc *p = running[0];
  uint64 deadline = slice_deadline();
  uint64 wake = next_wake();
  CSR_WRITE(stimecmp, wake < deadline ? wake : deadline);
  run_user(MAKE_SATP(p->pagetable), p->tf, p->tf_va, disk ? master_usertrap_disk : master_usertrap);
}

// The master loop comes in two versions: `disk` is a constant, so a
// machine without a disk runs the loop it always ran, and one with a disk
// also takes the disk's interrupts (disk_poll; completions wake blocked
// processes) and, once every process has exited, waits for the last
// transaction to be installed before powering off.
static inline __attribute__((always_inline, noreturn)) void loop(const int disk) {
  CSR_WRITE(stvec, (uint64)kernelvec);
  slaves = (boot.harts < NCPU ? boot.harts : NCPU) - 1;
  for (;;) {
    // Clear the IPI before looking at the ring, so one that arrives in
    // between still ends the WFI below.
    CSR_CLEAR(sip, IRQ_SSI);
    if (disk)
      disk_poll();
    serve_oldest();
    wake_sleepers();
    dispatch();
    if (live_procs == 0 && (!disk || (orphans_drain() & log_quiesce())))
      power_off(first_failure);
    if (!disk && fs_mounted)
      loop_with_disk(); // a call has just made the file system in RAM (ramdisk.c)
    if (running[0] && !work_waiting(disk)) {
      if (may_return_to_user(running[0]))
        resume_on_master(disk);
      running[0] = NULL;
      continue;
    }
    if (master_runs_user && !running[0] && ready_for(0) && !work_waiting(disk)) {
      struct proc *p = ready_pop_for(0);
      p->state = RUNNING;
      p->hart = 0;
      running[0] = p;
      if (may_return_to_user(p))
        assign(0, p);
      else
        running[0] = NULL;
      continue;
    }
    CSR_WRITE(stimecmp, next_wake());
    check_deadlock();
    if (!work_waiting(disk))
      wfi();
  }
}

static void __attribute__((noinline, noreturn)) loop_without_disk(void) { loop(0); }
static void __attribute__((noinline, noreturn)) loop_with_disk(void) { loop(1); }

void master_loop(void) {
  if (disk_present)
    loop_with_disk();
  loop_without_disk();
}

// A trap from user mode on hart 0 (only when it runs processes itself).
static inline __attribute__((always_inline, noreturn)) void usertrap(const int disk) {
  CSR_WRITE(stvec, (uint64)kernelvec);
  uint64 scause = CSR_READ(scause), stval = CSR_READ(stval);
  struct proc *p = running[0];
  if (scause == CAUSE_SOFTWARE_IRQ || (disk && scause == CAUSE_EXTERNAL_IRQ)) {
    // A slave posted a request, or the disk interrupted: the loop serves
    // it, then p goes on.
  } else {
    uint64 kind = scause == CAUSE_ECALL_FROM_U ? REQ_SYSCALL : (scause & SCAUSE_INTERRUPT) ? REQ_TIMER : REQ_FAULT;
    annotate(EV_REQUEST_POSTED, kind, p->tid, kind == REQ_SYSCALL ? p->tf->a7 : scause);
    serve(0, kind, scause, stval);
  }
  if (disk)
    loop_with_disk();
  loop_without_disk();
}

void master_usertrap(void) { usertrap(0); }
static void master_usertrap_disk(void) { usertrap(1); }
