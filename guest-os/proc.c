// Processes and threads, the single FIFO ready queue, and the sleep list.
// All of it belongs to hart 0; no other hart ever touches it.
//
// A thread (struct proc) is what the scheduler runs; a process (struct
// process) is what its threads share. Lifetimes: a thread is freed when it
// exits (its slot is reused at once: nobody waits for a thread, pthread_join
// waits on the tid word); a process lives until its last thread exits, then
// stays a zombie until its parent waits for it, or is freed at once when it
// has no parent (the processes the kernel started) or the parent ignores
// SIGCHLD.
#include "defs.h"
#include "memlayout.h"
#include "mm.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

static struct proc threads[NTHREAD];
static struct process processes[NPROC];
static int next_id = 1;
int live_procs; // processes not yet exited

static struct proc *ready_head, *ready_tail;
static int ready_count;
static struct proc *sleepers; // sorted by wake_time, earliest first (linked by sleep_next)

// ---- Allocation ----

// A thread slot with its trapframe page, its tid taken; NULL if none.
static struct proc *thread_alloc(void) {
  for (struct proc *p = threads; p < &threads[NTHREAD]; p++) {
    if (p->state != UNUSED)
      continue;
    memset(p, 0, sizeof *p);
    p->tf = kalloc();
    if (!p->tf)
      return NULL;
    p->tid = next_id++;
    p->hart = -1;
    p->state = SLEEPING; // not runnable until set up
    for (int i = 0; i < NCPU / 64; i++)
      p->affinity[i] = ~0UL;
    return p;
  }
  return NULL;
}

// Puts thread p into address space mm: a reference, and its trapframe
// mapped in a free slot. Returns 0, or -1 (no slot, or out of memory).
static int thread_enter_mm(struct proc *p, struct mm *mm) {
  int slot = mm_slot_alloc(mm);
  if (slot < 0)
    return -1;
  if (mm_map_kernel_page(mm, TRAPFRAME_SLOT(slot), (uint64)p->tf, PTE_R | PTE_W) < 0) {
    mm_slot_free(mm, slot);
    return -1;
  }
  mm_get(mm);
  p->mm = mm;
  p->pagetable = mm->pagetable;
  p->tf_va = TRAPFRAME_SLOT(slot);
  return 0;
}

// Takes thread p out of its address space (dropping its reference).
static void thread_leave_mm(struct proc *p) {
  if (!p->mm)
    return;
  int slot = (SIGRETURN_PAGE - p->tf_va) / PGSIZE - 1;
  mm_unmap_kernel_page(p->mm, p->tf_va);
  mm_slot_free(p->mm, slot);
  mm_put(p->mm);
  p->mm = NULL;
  p->pagetable = NULL;
}

// Moves thread p into mm (exec's new image), leaving its old one.
int thread_switch_mm(struct proc *p, struct mm *mm) {
  struct mm *old = p->mm;
  uint64 old_va = p->tf_va;
  int slot = mm_slot_alloc(mm);
  if (slot < 0 || mm_map_kernel_page(mm, TRAPFRAME_SLOT(slot), (uint64)p->tf, PTE_R | PTE_W) < 0)
    return -1;
  mm_get(mm);
  if (old) {
    mm_unmap_kernel_page(old, old_va);
    mm_slot_free(old, (SIGRETURN_PAGE - old_va) / PGSIZE - 1);
    mm_put(old);
  }
  p->mm = mm;
  p->pagetable = mm->pagetable;
  p->tf_va = TRAPFRAME_SLOT(slot);
  return 0;
}

static struct process *process_alloc(int pid) {
  for (struct process *ps = processes; ps < &processes[NPROC]; ps++) {
    if (ps->state != PROCESS_FREE)
      continue;
    memset(ps, 0, sizeof *ps);
    ps->pid = pid;
    ps->pgid = ps->sid = pid;
    ps->umask = 022;
    ps->cwd = 1; // the root (ROOTINO)
    ps->exit_signal = SIGCHLD;
    ps->state = PROCESS_LIVE;
    live_procs++;
    return ps;
  }
  return NULL;
}

// A process slot becomes free (reaped, or never to be waited for).
void process_free(struct process *ps) {
  fd_close_all(ps); // (already closed when it exited)
  if (ps->actions)
    kfree(ps->actions);
  ps->actions = NULL;
  process_set_parent(ps, NULL);
  ps->state = PROCESS_FREE;
}

static void thread_link(struct proc *p, struct process *ps) {
  p->process = ps;
  p->group_next = ps->threads;
  ps->threads = p;
  ps->nthreads++;
}

static void thread_unlink(struct proc *p) {
  struct process *ps = p->process;
  if (!ps)
    return;
  for (struct proc **link = &ps->threads; *link; link = &(*link)->group_next) {
    if (*link == p) {
      *link = p->group_next;
      break;
    }
  }
  p->group_next = NULL;
}

// Makes `parent` the parent of ps (NULL: none), in its list of children.
void process_set_parent(struct process *ps, struct process *parent) {
  if (ps->parent) {
    for (struct process **link = &ps->parent->children; *link; link = &(*link)->sibling) {
      if (*link == ps) {
        *link = ps->sibling;
        break;
      }
    }
  }
  ps->parent = parent;
  ps->sibling = NULL;
  if (parent) {
    ps->sibling = parent->children;
    parent->children = ps;
  }
}

static void thread_release(struct proc *p) {
  thread_unlink(p);
  p->process = NULL;
  thread_leave_mm(p);
  if (p->tf)
    kfree(p->tf);
  p->tf = NULL;
  p->state = UNUSED;
}

// A new process with one thread and an empty address space, for the
// programs the kernel starts (main.c). NULL when out of memory or slots.
struct proc *proc_alloc(void) {
  struct proc *p = thread_alloc();
  if (!p)
    return NULL;
  struct mm *mm = mm_create();
  if (!mm) {
    thread_release(p);
    return NULL;
  }
  int entered = thread_enter_mm(p, mm);
  mm_put(mm); // the thread's reference is the only one
  struct process *ps = entered < 0 ? NULL : process_alloc(p->tid);
  if (!ps) {
    thread_release(p);
    return NULL;
  }
  if (fd_init_console(ps) < 0) {
    process_free(ps);
    live_procs--;
    thread_release(p);
    return NULL;
  }
  thread_link(p, ps);
  return p;
}

// A new thread of parent's process (clone with CLONE_THREAD): same
// address space, a copy of the registers. NULL: -EAGAIN for the caller.
struct proc *thread_clone(struct proc *parent) {
  struct proc *t = thread_alloc();
  if (!t)
    return NULL;
  if (thread_enter_mm(t, parent->mm) < 0) {
    thread_release(t);
    return NULL;
  }
  memcpy(t->tf, parent->tf, sizeof *t->tf);
  thread_link(t, parent->process);
  t->sigmask = parent->sigmask;
  memcpy(t->affinity, parent->affinity, sizeof t->affinity);
  return t;
}

// A new process whose one thread is a copy of `parent` (fork, vfork):
// its own copy of the address space, or `parent`'s shared with it when
// `share_vm` (vfork). NULL: -EAGAIN or -ENOMEM for the caller (*err).
struct proc *process_fork(struct proc *parent, int share_vm, int *err) {
  *err = -EAGAIN;
  struct proc *t = thread_alloc();
  if (!t)
    return NULL;
  struct mm *mm = share_vm ? parent->mm : mm_fork(parent->mm);
  if (!mm) {
    *err = -ENOMEM;
    thread_release(t);
    return NULL;
  }
  int entered = thread_enter_mm(t, mm);
  if (!share_vm)
    mm_put(mm); // the child's thread holds it now (or nobody: freed)
  struct process *ps = entered < 0 ? NULL : process_alloc(t->tid);
  if (!ps) {
    thread_release(t);
    return NULL;
  }
  t->process = ps;
  struct process *pp = parent->process;
  thread_link(t, ps);
  if (pp->actions && (ps->actions = kalloc()) != NULL)
    memcpy(ps->actions, pp->actions, NSIG * sizeof(struct ksigaction));
  if (fd_fork(pp, ps) < 0 || (pp->actions && !ps->actions)) {
    *err = -ENOMEM;
    process_free(ps);
    live_procs--;
    thread_release(t);
    return NULL;
  }
  memcpy(t->tf, parent->tf, sizeof *t->tf);
  process_set_parent(ps, pp);
  ps->pgid = pp->pgid;
  ps->sid = pp->sid;
  ps->umask = pp->umask;
  ps->exe = pp->exe;
  ps->cwd = pp->cwd;
  memcpy(ps->comm, pp->comm, sizeof ps->comm);
  t->sigmask = parent->sigmask;
  t->altstack_sp = parent->altstack_sp;
  t->altstack_size = parent->altstack_size;
  memcpy(t->affinity, parent->affinity, sizeof t->affinity);
  return t;
}

// The process's name for reports: the last part of its program's path.
void process_set_comm(struct process *ps, const char *path) {
  const char *base = path;
  for (const char *c = path; *c; c++)
    if (*c == '/')
      base = c + 1;
  memset(ps->comm, 0, sizeof ps->comm);
  for (int i = 0; i < (int)sizeof ps->comm - 1 && base[i]; i++)
    ps->comm[i] = base[i];
}

// Names thread p's program to the emulator (at start and at each execve):
// the first 16 bytes of the process's name, little-endian in two words.
void proc_announce(struct proc *p) {
  uint64 w[2] = {0, 0};
  memcpy(w, p->process->comm, sizeof p->process->comm);
  annotate4(EV_EXEC, p->tid, p->process->pid, w[0], w[1]);
}

// ---- Lookup ----

struct process *process_by_pid(int pid) {
  for (struct process *ps = processes; ps < &processes[NPROC]; ps++)
    if (ps->state != PROCESS_FREE && ps->pid == pid)
      return ps;
  return NULL;
}

// Directory `node` has been removed: the processes working in it now work
// in `gone`, where nothing can be found (as on Linux).
void process_cwd_removed(uint64 node, uint64 gone) {
  for (struct process *ps = processes; ps < &processes[NPROC]; ps++)
    if (ps->state != PROCESS_FREE && ps->cwd == node)
      ps->cwd = gone;
}

struct proc *thread_by_tid(int tid) {
  for (struct proc *p = threads; p < &threads[NTHREAD]; p++)
    if (p->state != UNUSED && p->state != ZOMBIE && p->tid == tid)
      return p;
  return NULL;
}

// Calls f on every live thread of process ps.
// f may end the thread it is given.
void for_each_thread(struct process *ps, void (*f)(struct proc *, void *), void *arg) {
  for (struct proc *p = ps->threads, *next; p; p = next) {
    next = p->group_next;
    f(p, arg);
  }
}

// Calls f on every process (live or zombie) whose parent is ps.
// f may free or reparent the child it is given.
void for_each_child(struct process *ps, void (*f)(struct process *, void *), void *arg) {
  for (struct process *c = ps->children, *next; c; c = next) {
    next = c->sibling;
    f(c, arg);
  }
}

struct process *process_at(int index) { return processes[index].state == PROCESS_FREE ? NULL : &processes[index]; }

// The process's slot, which names its descriptor table (file.c).
int proc_index(struct proc *p) { return p->process - processes; }

// ---- The ready queue ----

void ready_push(struct proc *p) {
  if (p->block_reported) {
    p->block_reported = 0;
    annotate(EV_WAKE, p->tid, 0, 0);
  }
  p->state = READY;
  p->next = NULL;
  if (ready_tail)
    ready_tail->next = p;
  else
    ready_head = p;
  ready_tail = p;
  ready_count++;
  annotate(EV_QUEUE_LENGTH, ready_count, p->tid, QUEUE_PUSH);
}

static int may_run_on(struct proc *p, int hart) { return (p->affinity[hart / 64] >> (hart % 64)) & 1; }

// The oldest ready thread that may run on `hart`, removed from the queue.
struct proc *ready_pop_for(int hart) {
  struct proc **link = &ready_head, *prev = NULL;
  while (*link && !may_run_on(*link, hart)) {
    prev = *link;
    link = &(*link)->next;
  }
  struct proc *p = *link;
  if (!p)
    return NULL;
  *link = p->next;
  if (ready_tail == p)
    ready_tail = prev;
  p->next = NULL;
  ready_count--;
  annotate(EV_QUEUE_LENGTH, ready_count, p->tid, QUEUE_POP);
  return p;
}

struct proc *ready_pop(void) {
  struct proc *p = ready_head;
  if (!p)
    return NULL;
  ready_head = p->next;
  if (!ready_head)
    ready_tail = NULL;
  p->next = NULL;
  ready_count--;
  annotate(EV_QUEUE_LENGTH, ready_count, p->tid, QUEUE_POP);
  return p;
}

// Takes p off the ready queue (it is being stopped).
static void ready_remove(struct proc *p) {
  struct proc **link = &ready_head, *prev = NULL;
  while (*link && *link != p) {
    prev = *link;
    link = &(*link)->next;
  }
  if (!*link)
    return;
  *link = p->next;
  if (ready_tail == p)
    ready_tail = prev;
  p->next = NULL;
  ready_count--;
  annotate(EV_QUEUE_LENGTH, ready_count, p->tid, QUEUE_POP);
}

int ready_length(void) { return ready_count; }

// Whether some ready thread may run on `hart`.
int ready_for(int hart) {
  for (struct proc *p = ready_head; p; p = p->next)
    if (may_run_on(p, hart))
      return 1;
  return 0;
}

// ---- The sleep list: nanosleep, and waits with a deadline ----

// Adds p to the sleep list at p->wake_time (its state is the caller's).
void sleep_add(struct proc *p) {
  struct proc **link = &sleepers;
  // Equal wake times keep arrival order.
  while (*link && (*link)->wake_time <= p->wake_time)
    link = &(*link)->sleep_next;
  p->sleep_next = *link;
  *link = p;
  p->timed = 1;
}

void sleep_remove(struct proc *p) {
  if (!p->timed)
    return;
  for (struct proc **link = &sleepers; *link; link = &(*link)->sleep_next) {
    if (*link == p) {
      *link = p->sleep_next;
      break;
    }
  }
  p->sleep_next = NULL;
  p->timed = 0;
}

void sleep_insert(struct proc *p) {
  p->state = SLEEPING;
  p->wait_kind = WAIT_NOTHING;
  thread_report_block(p, WAIT_SLEEP_REPORTED, 0);
  sleep_add(p);
}

// The first sleeper whose wake time has come, removed from the list.
struct proc *sleep_pop_due(uint64 now) {
  struct proc *p = sleepers;
  if (!p || p->wake_time > now)
    return NULL;
  sleepers = p->sleep_next;
  p->sleep_next = NULL;
  p->timed = 0;
  return p;
}

uint64 sleep_next_wake(void) { return sleepers ? sleepers->wake_time : (uint64)-1; }

// ---- Blocking and waking (futexes, children, vfork, sigsuspend) ----

// Tells the emulator that p blocks, and why (the matching WAKE is sent by
// ready_push). Disk waits have their own events (bio.c).
void thread_report_block(struct proc *p, int kind, uint64 addr) {
  p->block_reported = 1;
  annotate(EV_BLOCK, p->tid, kind, addr);
}

// Blocks p (not restartable: its result is set when it wakes), with a
// deadline when `deadline` is not -1.
void thread_block(struct proc *p, int kind, uint64 deadline) {
  p->state = BLOCKED;
  p->wait_kind = kind;
  thread_report_block(p, kind, kind == WAIT_FUTEX ? p->futex_uaddr : 0);
  if (deadline != (uint64)-1) {
    p->wake_time = deadline;
    sleep_add(p);
  }
}

// Ends p's wait with `result` in a0 and makes it ready.
void thread_wake(struct proc *p, int64 result) {
  sleep_remove(p);
  if (p->wait_kind == WAIT_FUTEX)
    futex_forget(p);
  p->wait_kind = WAIT_NOTHING;
  p->tf->a0 = result;
  ready_push(p);
}

// Blocks p on q until waitq_wake_all(q), which makes it ready to make the
// same call again (pipes, console input). Returns what the caller returns
// so that a0, the call's first argument, stays as it was.
int64 waitq_block(struct proc *p, struct waitq *q, int kind) {
  p->tf->epc -= 4; // back to the ecall
  p->state = BLOCKED;
  p->wait_kind = kind;
  p->waitq = q;
  thread_report_block(p, kind, 0);
  p->next = NULL;
  struct proc **link = &q->head;
  while (*link)
    link = &(*link)->next;
  *link = p; // first come, first served
  return p->tf->a0;
}

// Every waiter on q is ready to try again.
void waitq_wake_all(struct waitq *q) {
  struct proc *w;
  while ((w = q->head) != NULL) {
    q->head = w->next;
    w->next = NULL;
    w->waitq = NULL;
    w->wait_kind = WAIT_NOTHING;
    sleep_remove(w); // a poller's deadline
    ready_push(w);
  }
}

// p stops waiting on its queue (it exits, or a signal interrupts it).
void waitq_forget(struct proc *p) {
  for (struct proc **link = &p->waitq->head; *link; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      break;
    }
  }
  p->next = NULL;
  p->waitq = NULL;
}

// A sleeper whose time has come: nanosleep ends, a timed wait times out.
void sleep_expired(struct proc *p) {
  if (p->state == BLOCKED && p->wait_kind == WAIT_POLL) {
    waitq_forget(p); // it makes its call again, and finds its deadline past
    p->wait_kind = WAIT_NOTHING;
    ready_push(p);
    return;
  }
  if (p->state == BLOCKED) {
    thread_wake(p, -ETIMEDOUT);
    return;
  }
  p->wait_kind = WAIT_NOTHING;
  ready_push(p);
}

// ---- Deadlock ----

static const char *wait_name(struct proc *p) {
  if (p->state == SLEEPING)
    return "sleeps";
  switch (p->wait_kind) {
  case WAIT_FUTEX: return "waits on a futex";
  case WAIT_CHILD: return "waits for a child";
  case WAIT_VFORK: return "waits for its vfork child";
  case WAIT_SIGNAL: return "waits for a signal";
  case WAIT_PIPE: return "waits on a pipe";
  case WAIT_CONSOLE: return "waits for console input";
  case WAIT_LOCK: return "waits for a record lock";
  case WAIT_POLL: return "waits in poll or select";
  default: return "waits for I/O";
  }
}

// Names every blocked thread and what it waits on (the master calls this
// when nothing can ever wake any of them).
void report_blocked_threads(void) {
  for (struct proc *p = threads; p < &threads[NTHREAD]; p++) {
    if (p->state != BLOCKED && p->state != SLEEPING)
      continue;
    printf("rvmsmp kernel:   tid %d (pid %d, %s) %s", p->tid, p->process->pid,
           p->process->comm[0] ? p->process->comm : "?", wait_name(p));
    if (p->wait_kind == WAIT_FUTEX)
      printf(" at %p", p->futex_uaddr);
    printf("\n");
  }
}

// ---- Exit ----

// A wait status as a shell reports it: the exit code, or 128 + the signal.
int shell_status(int wait_status) {
  return (wait_status & 0x7f) == 0 ? (wait_status >> 8) & 0xff : 128 + (wait_status & 0x7f);
}

static void reparent(struct process *child, void *dying) {
  (void)dying;
  process_set_parent(child, NULL);
  if (child->state == PROCESS_ZOMBIE)
    process_free(child); // nobody will wait for it now
}

// The process's last thread has exited: its resources go, and its parent
// learns (SIGCHLD and a wake-up of its waiters), or, with no parent that
// wants it, it is freed at once. `last` is that thread, still allocated.
static void process_exit(struct process *ps, struct proc *last) {
  fd_close_all(ps);
  for_each_child(ps, reparent, ps);
  live_procs--;
  if (ps->vfork_parent) {
    thread_wake(ps->vfork_parent, ps->pid);
    ps->vfork_parent = NULL;
  }
  struct process *parent = ps->parent;
  if (!parent) {
    note_exit_status(ps->exit_status);
    process_free(ps);
    return;
  }
  ps->state = PROCESS_ZOMBIE;
  struct ksigaction *chld = sigaction_of(parent, SIGCHLD);
  if (chld->handler == SIG_IGN || (chld->flags & SA_NOCLDWAIT)) {
    process_free(ps);
  } else if (ps->exit_signal) {
    signal_process(parent, ps->exit_signal);
  }
  wake_child_waiters(parent);
}

// Thread p ends (exit, or stopped with its process): its tid word is
// cleared and woken, it leaves every queue, and the last thread of a
// process ends the process. The caller forgets p's hart.
void thread_exit(struct proc *p) {
  struct process *ps = p->process;
  if (p->clear_child_tid) {
    uint32 zero = 0;
    if (copy_out(p->pagetable, p->clear_child_tid, &zero, sizeof zero) == 0)
      futex_wake_word(p, p->clear_child_tid, 1);
    p->clear_child_tid = 0;
  }
  if (p->state == READY)
    ready_remove(p);
  sleep_remove(p);
  if (p->wait_kind == WAIT_FUTEX)
    futex_forget(p);
  if (p->wait_kind == WAIT_SHOOTDOWN)
    shootdown_forget(p);
  if (p->wait_kind == WAIT_CHILD)
    child_wait_forget(p);
  if (p->waitq)
    waitq_forget(p);
  p->wait_kind = WAIT_NOTHING;
  annotate(EV_PROCESS_EXIT, p->tid, shell_status(ps->exit_status), 0);
  p->state = ZOMBIE;
  if (--ps->nthreads == 0)
    process_exit(ps, p);
  thread_release(p);
}

struct stop_args {
  struct proc *except;
};

// Stops one thread of a process that is ending (or execing): at once if
// it is not on a hart, else at its next trap, which an IPI brings about.
static void stop_thread(struct proc *t, void *arg) {
  struct stop_args *a = arg;
  if (t == a->except || t->killed)
    return;
  t->killed = 1;
  if (t->state == RUNNING) {
    master_kick(t);
    return;
  }
  if (t->state == BLOCKED && t->wait_kind == WAIT_NOTHING)
    return; // waits for the disk in bio.c's lists: stopped when it wakes
  thread_exit(t);
}

// Every thread of ps but `except` is stopped (exit_group, a fatal
// signal, execve). Returns how many are still on a hart.
int process_stop_threads(struct process *ps, struct proc *except) {
  struct stop_args a = {except};
  for_each_thread(ps, stop_thread, &a);
  int left = 0;
  for (struct proc *p = ps->threads; p; p = p->group_next)
    left += p != except;
  return left;
}

// The whole process ends with wait status `status` (exit_group, a fatal
// signal). p is the calling thread, which the caller's hart forgets.
void process_terminate(struct proc *p, int status) {
  struct process *ps = p->process;
  if (!ps->group_exiting) {
    ps->group_exiting = 1;
    ps->exit_status = status;
  }
  process_stop_threads(ps, p);
  thread_exit(p);
}
