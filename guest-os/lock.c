// Advisory record locks: fcntl's F_GETLK, F_SETLK and F_SETLKW, with
// POSIX's semantics, and the open-file-description locks (F_OFD_*).
//
// A lock covers a byte range of an inode and belongs to an owner: the
// process, for POSIX locks (every descriptor of the file in the process
// shares them, and closing any one of them drops them all), or the open
// file, for OFD locks (dropped when its last descriptor closes). Two
// locks of different owners conflict when their ranges overlap and one is
// a write lock. An owner's new lock replaces what it held on the range,
// splitting a lock that reaches beyond it. F_SETLKW waits, in the
// master's tables, until a lock is released and then tries again; a
// signal interrupts it as it does a pipe read.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"

#define NLOCK 512
#define RANGE_END (~0ULL) // a lock to the end of the file, however far it grows

struct rlock {
  uint32 inum;       // 0: a free slot
  int16 type;        // F_RDLCK or F_WRLCK
  const void *owner; // the process (POSIX lock) or the open file (OFD lock)
  int pid;           // what F_GETLK reports: the owner's pid, or -1 for an OFD lock
  uint64 start, end; // the bytes start..end, inclusive
};

static struct rlock locks[NLOCK];
static struct waitq lock_waiters; // F_SETLKW callers, to try again when a lock goes

// Linux's struct flock on riscv64.
struct flock {
  int16 type;
  int16 whence;
  int64 start;
  int64 len;
  int32 pid;
};

static int overlaps(const struct rlock *l, uint64 start, uint64 end) { return l->start <= end && start <= l->end; }

// The first lock another owner holds that a lock of `type` on the range
// would conflict with; NULL if none.
static struct rlock *conflict(uint32 inum, const void *owner, int type, uint64 start, uint64 end) {
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++)
    if (l->inum == inum && l->owner != owner && overlaps(l, start, end) && (type == F_WRLCK || l->type == F_WRLCK))
      return l;
  return NULL;
}

static struct rlock *free_slot(void) {
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++)
    if (!l->inum)
      return l;
  return NULL;
}

// How many slots removing the owner's hold on the range needs (a lock
// that reaches beyond both ends splits in two).
static int splits(uint32 inum, const void *owner, uint64 start, uint64 end) {
  int n = 0;
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++)
    if (l->inum == inum && l->owner == owner && l->start < start && l->end > end)
      n++;
  return n;
}

static int free_slots(void) {
  int n = 0;
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++)
    n += !l->inum;
  return n;
}

// Removes the owner's hold on start..end (the caller has checked that the
// slots splitting takes are free).
static void unlock_range(uint32 inum, const void *owner, uint64 start, uint64 end) {
  int released = 0;
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++) {
    if (l->inum != inum || l->owner != owner || !overlaps(l, start, end))
      continue;
    released = 1;
    if (l->start < start && l->end > end) {
      struct rlock *rest = free_slot();
      *rest = *l;
      rest->start = end + 1;
      l->end = start - 1;
    } else if (l->start < start) {
      l->end = start - 1;
    } else if (l->end > end) {
      l->start = end + 1;
    } else {
      l->inum = 0;
    }
  }
  if (released)
    waitq_wake_all(&lock_waiters);
}

// Every lock of `owner` (on inode inum, or on any inode when inum is 0)
// goes: a process closed a descriptor of the file, or exited; an open file
// was closed for the last time.
void lock_release(const void *owner, uint32 inum) {
  int released = 0;
  for (struct rlock *l = locks; l < &locks[NLOCK]; l++)
    if (l->inum && l->owner == owner && (!inum || l->inum == inum)) {
      l->inum = 0;
      released = 1;
    }
  if (released)
    waitq_wake_all(&lock_waiters);
}

// The range a struct flock names, from the file's offset or size as its
// whence says: 0 or -EINVAL.
static int64 range_of(struct file *f, const struct flock *fl, uint64 *start, uint64 *end) {
  int64 base = inode_whence_base(f, fl->whence);
  if (base < 0)
    return base;
  int64 s = base + fl->start;
  if (s < 0)
    return -EINVAL;
  if (fl->len > 0) {
    *start = s;
    *end = s + fl->len - 1;
  } else if (fl->len == 0) {
    *start = s;
    *end = RANGE_END;
  } else {
    if (s + fl->len < 0)
      return -EINVAL;
    *start = s + fl->len;
    *end = s - 1;
  }
  return 0;
}

static int64 do_lock(struct proc *p, struct file *f, uint64 cmd, uint64 ulock) {
  struct flock fl;
  if (copy_in(p->pagetable, &fl, ulock, sizeof fl) < 0)
    return -EFAULT;
  if (fl.type != F_RDLCK && fl.type != F_WRLCK && fl.type != F_UNLCK)
    return -EINVAL;
  int ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl.pid != 0)
    return -EINVAL;
  uint64 start = 0, end = 0;
  int64 err = range_of(f, &fl, &start, &end);
  if (err < 0)
    return err;
  const void *owner = ofd ? (const void *)f : (const void *)p->process;
  uint32 inum = f->m->inum;
  if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
    if (fl.type == F_UNLCK)
      return -EINVAL;
    struct rlock *l = conflict(inum, owner, fl.type, start, end);
    if (l) {
      fl.type = l->type;
      fl.whence = 0;
      fl.start = l->start;
      fl.len = l->end == RANGE_END ? 0 : (int64)(l->end - l->start + 1);
      fl.pid = l->pid;
    } else {
      fl.type = F_UNLCK;
    }
    return copy_out(p->pagetable, ulock, &fl, sizeof fl) < 0 ? -EFAULT : 0;
  }
  if ((fl.type == F_RDLCK && !f->readable) || (fl.type == F_WRLCK && !f->writable))
    return -EBADF;
  if (fl.type != F_UNLCK && conflict(inum, owner, fl.type, start, end)) {
    if (cmd == F_SETLK || cmd == F_OFD_SETLK)
      return -EAGAIN;
    return -ERESTART; // F_SETLKW: wait (lock_fcntl blocks the caller)
  }
  if (free_slots() < splits(inum, owner, start, end) + (fl.type != F_UNLCK))
    return -ENOLCK;
  unlock_range(inum, owner, start, end);
  if (fl.type != F_UNLCK)
    *free_slot() = (struct rlock){.inum = inum, .type = fl.type, .owner = owner, .pid = ofd ? -1 : p->process->pid,
                                  .start = start, .end = end};
  return 0;
}

// fcntl's lock commands on the open file f.
int64 lock_fcntl(struct proc *p, struct file *f, uint64 cmd, uint64 ulock) {
  if (f->type != FT_INODE)
    return -EINVAL; // locks on pipes and the console are not kept
  op_begin(p, 1);
  int64 r = do_lock(p, f, cmd, ulock);
  if (r == -ERESTART && op.status != -ERESTART) {
    op_end(p, 0);
    return waitq_block(p, &lock_waiters, WAIT_LOCK);
  }
  return op_end(p, r);
}
