// The process table, the single FIFO ready queue, and the sleep list. All
// of it belongs to hart 0; no other hart ever touches it.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"

static struct proc procs[NPROC];
static int next_pid = 1;
int live_procs; // processes not yet exited

static struct proc *ready_head, *ready_tail;
static int ready_count;
static struct proc *sleepers; // sorted by wake_time, earliest first

struct proc *proc_alloc(void) {
  for (struct proc *p = procs; p < &procs[NPROC]; p++) {
    if (p->state != UNUSED)
      continue;
    memset(p, 0, sizeof *p);
    p->tf = kalloc();
    if (!p->tf)
      return NULL;
    p->pagetable = uvm_create(p->tf);
    if (!p->pagetable) {
      kfree(p->tf);
      return NULL;
    }
    p->pid = next_pid++;
    p->hart = -1;
    p->state = SLEEPING; // not runnable until exec succeeds
    live_procs++;
    return p;
  }
  return NULL;
}

// Releases everything a process holds; it becomes a zombie (its exit
// status is kept for the final report).
void proc_free(struct proc *p) {
  if (p->has_files)
    fd_close_all(p);
  uvm_free(p->pagetable);
  kfree(p->tf);
  p->pagetable = NULL;
  p->tf = NULL;
  p->hart = -1;
  p->state = ZOMBIE;
  live_procs--;
}

void ready_push(struct proc *p) {
  p->state = READY;
  p->next = NULL;
  if (ready_tail)
    ready_tail->next = p;
  else
    ready_head = p;
  ready_tail = p;
  ready_count++;
  annotate(EV_QUEUE_LENGTH, ready_count, p->pid, QUEUE_PUSH);
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
  annotate(EV_QUEUE_LENGTH, ready_count, p->pid, QUEUE_POP);
  return p;
}

int ready_length(void) { return ready_count; }

void sleep_insert(struct proc *p) {
  p->state = SLEEPING;
  struct proc **link = &sleepers;
  // Equal wake times keep arrival order.
  while (*link && (*link)->wake_time <= p->wake_time)
    link = &(*link)->next;
  p->next = *link;
  *link = p;
}

// The first sleeper whose wake time has come, removed from the list.
struct proc *sleep_pop_due(uint64 now) {
  struct proc *p = sleepers;
  if (!p || p->wake_time > now)
    return NULL;
  sleepers = p->next;
  p->next = NULL;
  return p;
}

int proc_index(struct proc *p) { return p - procs; }

uint64 sleep_next_wake(void) { return sleepers ? sleepers->wake_time : (uint64)-1; }
