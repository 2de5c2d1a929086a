// Files unlinked while open (orphans). As on Linux, unlinking the last
// name of an open file takes the name away at once and keeps the inode,
// with nlink 0, until the last open file of it is closed. Its blocks are
// then freed, but not by the close itself: a close happens where a call
// cannot wait for the disk (exit, execve, dup2). The inode is queued
// here, and the next call that changes the file system frees it first,
// as far as it can without waiting (orphans_reclaim, from op_begin).
// When the last process has exited, the final flush frees what is left
// (orphans_drain). An orphan still on the disk when a run stops (or one
// a full queue could not hold) is consistent (docs/fs-format.md) and is
// freed after the next mount.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"

#define NORPHAN 64

static uint32 queue[NORPHAN];
static int nqueued;

// Inode inum, an orphan, has no open file left: to be freed.
void orphan_queue(uint32 inum) {
  for (int i = 0; i < nqueued; i++)
    if (queue[i] == inum)
      return;
  if (nqueued < NORPHAN)
    queue[nqueued++] = inum;
}

int orphans_queued(void) { return nqueued; }

// Frees orphan inum: 0, or AGAIN when a block is not resident or the log
// is full (the work done so far stays done).
static int64 reclaim(uint32 inum) {
  struct buf *ibuf;
  struct dinode *ip = iget_used(inum, &ibuf);
  if (!ip)
    return op.status;
  if (ip->nlink != 0 || ip->type != T_FILE)
    return 0; // not an orphan (a corrupt image is not made worse)
  if (ishrink(inum, 0, 1) < 0)
    return op.status;
  if (!log_room(1))
    return op.status;
  ip = iget_resident(inum, &ibuf);
  ifree(inum, ip, ibuf);
  return 0;
}

// Inside a fresh attempt that may change the file system: frees the
// queued orphans until one would have to wait, then leaves the attempt as
// it found it (the reads it started complete meanwhile; the next attempt
// goes on).
void orphans_reclaim(void) {
  while (nqueued > 0) {
    int mark = op_mark();
    int64 r = reclaim(queue[0]);
    op_release_to(mark);
    if (r < 0 && r != -EIO)
      break; // it must wait: the next attempt goes on
    queue[0] = queue[--nqueued]; // freed, or on a corrupt disk left as it is
    if (r < 0)
      break;
  }
  op.status = 0;
  op.wait = WAIT_NONE;
  op.wait_buf = NULL;
}

// The final flush, in the master's loop once every process has exited:
// one more attempt at freeing the queued orphans (the loop comes back
// after the disk's interrupts). Returns 1 once none is left.
int orphans_drain(void) {
  static struct proc reaper; // the attempt's owner; it never waits
  if (nqueued) {
    op_begin(&reaper, 0); // frees what it can (orphans_reclaim)
    op_end(&reaper, 0);
  }
  return nqueued == 0;
}
