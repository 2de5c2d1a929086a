// Futexes: the one blocking primitive threads libraries build on. A
// waiter is a blocked thread on a hash chain, keyed by the physical
// address of its 32-bit word and, for private futexes, its address space
// (so a private wait is never woken by another process that shares the
// page copy-on-write). Only the master runs this, one call at a time, so
// the check of the word and the queueing are atomic with respect to every
// wake: the serial request loop plays the part of Linux's bucket lock.
#include "defs.h"
#include "memlayout.h"
#include "mm.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"


// Waiters by key, each chain in arrival order (a wake takes the oldest).
static struct proc *chains[NFUTEX_HASH];

static struct proc **chain_of(uint64 pa) { return &chains[(pa >> 2) % NFUTEX_HASH]; }

// The key of the word at user address uaddr: its physical address, and the
// address space for a private futex (0 for a shared one). 0 when unmapped.
static uint64 key_of(struct proc *p, uint64 uaddr, int private, uint64 *mm) {
  *mm = private ? (uint64)p->mm : 0;
  return uvm_translate(p->pagetable, uaddr, 0);
}

static void enqueue(struct proc *p, uint64 key, uint64 mm, uint32 bitset) {
  p->futex_key = key;
  p->futex_mm = mm;
  p->futex_bitset = bitset;
  p->next = NULL;
  struct proc **link = chain_of(key);
  while (*link)
    link = &(*link)->next;
  *link = p;
}

// Takes p off its chain (it woke, timed out, was signalled or is exiting).
void futex_forget(struct proc *p) {
  for (struct proc **link = chain_of(p->futex_key); *link; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      break;
    }
  }
  p->next = NULL;
}

// Wakes up to n waiters on (key, mm) whose bitset meets `bitset`; the count.
static int wake_key(uint64 key, uint64 mm, int n, uint32 bitset) {
  int woken = 0;
  struct proc **link = chain_of(key);
  while (*link && woken < n) {
    struct proc *w = *link;
    if (w->futex_key == key && w->futex_mm == mm && (w->futex_bitset & bitset)) {
      *link = w->next;
      w->next = NULL;
      w->wait_kind = WAIT_NOTHING; // already off the chain
      thread_wake(w, 0);
      woken++;
    } else {
      link = &w->next;
    }
  }
  return woken;
}

// Moves up to n waiters from (key, mm) to (to_key, mm); the count.
static int requeue(uint64 key, uint64 mm, uint64 to_key, int n) {
  int moved = 0;
  struct proc **link = chain_of(key);
  while (*link && moved < n) {
    struct proc *w = *link;
    if (w->futex_key == key && w->futex_mm == mm) {
      *link = w->next;
      enqueue(w, to_key, mm, w->futex_bitset);
      moved++;
    } else {
      link = &w->next;
    }
  }
  return moved;
}

// The wake at a thread's exit of the word set_tid_address named (shared,
// as Linux's mm_release does it).
void futex_wake_word(struct proc *p, uint64 uaddr, int n) {
  uint64 mm;
  uint64 key = key_of(p, uaddr, 0, &mm);
  if (key)
    wake_key(key, mm, n, FUTEX_BITSET_MATCH_ANY);
}

// A timespec's worth of mtime ticks, saturating (a huge timeout waits for ever).
uint64 timespec_ticks(int64 sec, int64 nsec) {
  if ((uint64)sec >= (uint64)-1 / TICKS_PER_SECOND)
    return (uint64)-1;
  uint64 ticks = (uint64)sec * TICKS_PER_SECOND + ((uint64)nsec + NS_PER_TICK - 1) / NS_PER_TICK;
  return ticks;
}

// The mtime value `ticks` from now, saturating short of -1 (which means "no deadline").
uint64 deadline_after(uint64 ticks) {
  uint64 now = r_time();
  return ticks >= (uint64)-1 - now ? (uint64)-1 - 1 : now + ticks;
}

// FUTEX_WAKE_OP's operation on the second word, and its comparison.
static int wake_op_apply(uint32 encoded, uint32 old, uint32 *new_value) {
  int op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
  int32 oparg = (int32)(encoded << 8) >> 20, cmparg = (int32)(encoded << 20) >> 20;
  if ((encoded >> 28) & 8)
    oparg = 1 << (oparg & 31);
  switch (op) {
  case 0: *new_value = oparg; break;
  case 1: *new_value = old + oparg; break;
  case 2: *new_value = old | oparg; break;
  case 3: *new_value = old & ~oparg; break;
  case 4: *new_value = old ^ oparg; break;
  default: return -ENOSYS;
  }
  switch (cmp) {
  case 0: return old == (uint32)cmparg;
  case 1: return old != (uint32)cmparg;
  case 2: return (int32)old < cmparg;
  case 3: return (int32)old <= cmparg;
  case 4: return (int32)old > cmparg;
  case 5: return (int32)old >= cmparg;
  default: return -ENOSYS;
  }
}

// futex(uaddr, op, val, timeout or val2, uaddr2, val3)
int64 sys_futex(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 uaddr = tf->a0, uaddr2 = tf->a4;
  int op = tf->a1, cmd = op & FUTEX_CMD_MASK, private = (op & FUTEX_PRIVATE_FLAG) != 0;
  uint32 val = tf->a2, val3 = tf->a5;
  if (uaddr % 4)
    return -EINVAL;
  uint64 mm;
  switch (cmd) {
  case FUTEX_WAIT:
  case FUTEX_WAIT_BITSET: {
    uint32 bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3;
    if (bitset == 0)
      return -EINVAL;
    uint64 deadline = (uint64)-1;
    if (tf->a3) {
      int64 ts[2];
      if (copy_in(p->pagetable, ts, tf->a3, sizeof ts) < 0)
        return -EFAULT;
      if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
        return -EINVAL;
      uint64 ticks = timespec_ticks(ts[0], ts[1]);
      // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute
      // (every clock reads the same simulated time here).
      deadline = cmd == FUTEX_WAIT ? deadline_after(ticks) : ticks;
      if (deadline == (uint64)-1)
        deadline--;
      if (cmd == FUTEX_WAIT_BITSET && deadline <= r_time())
        return -ETIMEDOUT;
    }
    uint32 current;
    if (copy_in(p->pagetable, &current, uaddr, sizeof current) < 0)
      return -EFAULT;
    if (current != val)
      return -EAGAIN;
    uint64 key = key_of(p, uaddr, private, &mm);
    if (!key)
      return -EFAULT;
    enqueue(p, key, mm, bitset);
    p->futex_uaddr = uaddr;
    thread_block(p, WAIT_FUTEX, deadline);
    return 0; // its a0 when woken; a timeout or a signal sets another
  }
  case FUTEX_WAKE:
  case FUTEX_WAKE_BITSET: {
    uint32 bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
    if (bitset == 0)
      return -EINVAL;
    uint64 key = key_of(p, uaddr, private, &mm);
    return key ? wake_key(key, mm, (int)val < 0 ? 0x7fffffff : (int)val, bitset) : 0;
  }
  case FUTEX_REQUEUE:
  case FUTEX_CMP_REQUEUE: {
    int n2 = (int)tf->a3;
    if ((int)val < 0 || n2 < 0)
      return -EINVAL;
    if (uaddr2 % 4)
      return -EINVAL;
    if (cmd == FUTEX_CMP_REQUEUE) {
      uint32 current;
      if (copy_in(p->pagetable, &current, uaddr, sizeof current) < 0)
        return -EFAULT;
      if (current != val3)
        return -EAGAIN;
    }
    uint64 key = key_of(p, uaddr, private, &mm), mm2;
    uint64 key2 = key_of(p, uaddr2, private, &mm2);
    if (!key)
      return 0;
    if (!key2)
      return -EFAULT;
    int woken = wake_key(key, mm, (int)val, FUTEX_BITSET_MATCH_ANY);
    return woken + requeue(key, mm, key2, n2);
  }
  case FUTEX_WAKE_OP: {
    uint32 old, updated;
    if (uaddr2 % 4)
      return -EINVAL;
    if (copy_in(p->pagetable, &old, uaddr2, sizeof old) < 0)
      return -EFAULT;
    int wake2 = wake_op_apply(val3, old, &updated);
    if (wake2 < 0)
      return wake2;
    if (copy_out(p->pagetable, uaddr2, &updated, sizeof updated) < 0)
      return -EFAULT;
    uint64 key = key_of(p, uaddr, private, &mm), mm2;
    uint64 key2 = key_of(p, uaddr2, private, &mm2);
    int woken = key ? wake_key(key, mm, (int)val, FUTEX_BITSET_MATCH_ANY) : 0;
    if (wake2 && key2)
      woken += wake_key(key2, mm2, (int)tf->a3, FUTEX_BITSET_MATCH_ANY);
    return woken;
  }
  default:
    return -ENOSYS; // the priority-inheritance operations
  }
}
