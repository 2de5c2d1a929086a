// The redo log (docs/fs-format.md): every change to the disk goes through
// a transaction, so a run stopped at any moment leaves a consistent file
// system.
//
// File-system calls change blocks in the buffer cache and add them to the
// *open* transaction (log_write); many calls share one transaction (group
// commit), and a block changed twice is logged once. A commit moves the
// open transaction aside and, with the master serving requests all the
// while, drives it through four asynchronous steps, each started by the
// completion interrupt of the previous one:
//
//   1. write a copy of each block to the log (blocks logstart+1..);
//   2. write the header with n > 0: the transaction is now durable, and
//      fsync calls waiting for it are woken;
//   3. write each block to its home location;
//   4. write the header with n = 0: the transaction is installed, its
//      buffers are unpinned, and the log is free for the next commit.
//
// The commit writes the blocks straight from the cache's pages, which are
// frozen until the install is done: a call that wants to change a frozen
// buffer (bio.c) first gives the buffer a copy of the page and leaves the
// original to the commit (copy on write), so calls go on changing the same
// blocks in the next open transaction meanwhile, and a commit costs the
// master no copying unless someone touches its blocks again. A commit
// starts when an fsync waits for the open transaction, when a call
// needs more room than the open transaction has left, when the cache has
// no free buffer, and when the last process has exited (the final flush).
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"

enum { IDLE, LOGGING, HEADER, INSTALLING, CLEARING };

static struct {
  uint32 start; // the header block
  uint32 cap;   // blocks per transaction
  // The open transaction.
  uint32 open_blocks[LOGMAX];
  int open_n;
  uint64 open_seq;
  uint64 durable_seq;   // the last transaction whose header (n > 0) is on disk
  uint64 installed_seq; // the last transaction written to its home locations
  // The commit in progress.
  int phase;
  uint32 blocks[LOGMAX];
  int n;
  uint64 seq;
  int outstanding;
  int commit_wanted; // commit the open transaction as soon as the log is free
  uint8 *data[LOGMAX]; // the page each block is written from
  uint8 owned[LOGMAX]; // the page is the commit's own (the buffer was copied on write)
  struct blk_req reqs[LOGMAX];
  uint32 *header;
  struct blk_req header_req;
  struct waitlist space_waiters;  // calls that need more room than the open transaction has
  struct waitlist commit_waiters; // fsync calls
} lg;

uint64 log_installed_seq(void) { return lg.installed_seq; }
uint64 log_durable_seq(void) { return lg.durable_seq; }
uint64 log_open_seq(void) { return lg.open_seq; }
uint32 log_header_block(void) { return lg.start; }

// The transaction that holds every change made so far.
uint64 log_sync_seq(void) { return lg.open_n > 0 ? lg.open_seq : lg.open_seq - 1; }

void log_init(const struct superblock *sb) {
  lg.start = sb->logstart;
  lg.cap = sb->nlog - 1 < LOGMAX ? sb->nlog - 1 : LOGMAX;
  lg.open_seq = 1;
  lg.header = kalloc();
  if (!lg.header)
    panic("log: out of memory");
}

static void write_failed(struct blk_req *r) {
  printf("rvmsmp kernel: disk: writing block %d failed; stopping (the file system is consistent up to the last "
         "commit)\n",
         (int)r->blockno);
  power_off(DISK_FAILURE_STATUS);
}

static void submit_write(struct blk_req *r, uint32 blockno, uint8 *data, void (*done)(struct blk_req *)) {
  r->blockno = blockno;
  r->write = 1;
  r->data = data;
  r->done = done;
  blk_submit(r);
}

static void cleared(struct blk_req *r);

static void installed_one(struct blk_req *r) {
  if (r->failed)
    write_failed(r);
  if (--lg.outstanding > 0)
    return;
  lg.phase = CLEARING;
  memset(lg.header, 0, BSIZE);
  submit_write(&lg.header_req, lg.start, (uint8 *)lg.header, cleared);
}

static void header_written(struct blk_req *r) {
  if (r->failed)
    write_failed(r);
  lg.durable_seq = lg.seq;
  wake_all(&lg.commit_waiters);
  lg.phase = INSTALLING;
  lg.outstanding = lg.n;
  for (int i = 0; i < lg.n; i++)
    submit_write(&lg.reqs[i], lg.blocks[i], lg.data[i], installed_one);
}

static void logged_one(struct blk_req *r) {
  if (r->failed)
    write_failed(r);
  if (--lg.outstanding > 0)
    return;
  lg.phase = HEADER;
  memset(lg.header, 0, BSIZE);
  lg.header[0] = lg.n;
  for (int i = 0; i < lg.n; i++)
    lg.header[1 + i] = lg.blocks[i];
  submit_write(&lg.header_req, lg.start, (uint8 *)lg.header, header_written);
}

// Starts committing the open transaction, if it holds anything and no
// commit is in progress.
void log_commit(void) {
  if (lg.phase != IDLE || lg.open_n == 0)
    return;
  lg.n = lg.open_n;
  lg.seq = lg.open_seq;
  for (int i = 0; i < lg.n; i++) {
    lg.blocks[i] = lg.open_blocks[i];
    struct buf *b = bfind(lg.blocks[i]);
    if (!b || !b->valid || b->seq != lg.seq || b->frozen)
      panic("log: block %d of the transaction is not in the cache", (int)lg.blocks[i]);
    lg.data[i] = b->data;
    lg.owned[i] = 0;
    b->frozen = i + 1;
  }
  lg.open_n = 0;
  lg.open_seq++;
  lg.commit_wanted = 0;
  wake_all(&lg.space_waiters); // the new open transaction is empty
  lg.phase = LOGGING;
  lg.outstanding = lg.n;
  for (int i = 0; i < lg.n; i++)
    submit_write(&lg.reqs[i], lg.start + 1 + i, lg.data[i], logged_one);
}

static void cleared(struct blk_req *r) {
  if (r->failed)
    write_failed(r);
  lg.installed_seq = lg.seq;
  for (int i = 0; i < lg.n; i++) {
    struct buf *b = bfind(lg.blocks[i]);
    if (lg.owned[i])
      page_put(lg.data[i]); // the buffer has had its own copy since
    else
      b->frozen = 0;
    if (b->seq == lg.seq)
      bunpin(b); // not changed again since: back on the LRU list
  }
  lg.phase = IDLE;
  bio_wake_cache_waiters();
  if (lg.commit_wanted || lg.commit_waiters.head || lg.space_waiters.head)
    log_commit();
}

// A call is about to change buffer b, frozen as block `slot` of the
// commit: the commit keeps the page, the buffer takes `copy`.
void log_give_page(struct buf *b, uint8 *copy) {
  int slot = b->frozen - 1;
  lg.owned[slot] = 1;
  b->data = copy;
  b->frozen = 0;
}

// Whether `blocks` more blocks fit in the open transaction. If not, the
// attempt must wait (op_need) until a commit has emptied it.
int log_room(int blocks) {
  if (lg.open_n + blocks <= (int)lg.cap)
    return 1;
  op_need(WAIT_LOG_SPACE, NULL);
  return 0;
}

// Adds a changed buffer to the open transaction (once).
void log_write(struct buf *b) {
  if (b->seq == lg.open_seq)
    return;
  if (lg.open_n >= (int)lg.cap)
    panic("log: transaction overflow");
  bpin(b);
  b->seq = lg.open_seq;
  lg.open_blocks[lg.open_n++] = b->blockno;
}

// Whether transaction `seq` is durable. If not, the attempt must wait
// (op_need) and its commit is started or scheduled.
int log_durable(uint64 seq) {
  if (seq <= lg.durable_seq)
    return 1;
  if (seq == lg.open_seq) {
    if (lg.phase == IDLE)
      log_commit();
    else
      lg.commit_wanted = 1;
  }
  op_need(WAIT_COMMIT, NULL);
  return 0;
}

// Blocks p until the log has room (WAIT_LOG_SPACE) or a commit has become
// durable (WAIT_COMMIT); op_end calls it.
void log_wait(struct proc *p, int wait) {
  if (wait == WAIT_LOG_SPACE) {
    wait_push(&lg.space_waiters, p);
    if (lg.phase == IDLE)
      log_commit();
    else
      lg.commit_wanted = 1;
  } else {
    wait_push(&lg.commit_waiters, p);
  }
}

// No buffer is free: pinned buffers are freed by installing.
void log_cache_pressure(void) {
  if (lg.phase == IDLE)
    log_commit();
  else if (lg.open_n > 0)
    lg.commit_wanted = 1;
}

// The final flush: 1 once everything is installed, else starts what is
// needed and returns 0 (the master waits for the disk's interrupts).
int log_quiesce(void) {
  if (lg.phase == IDLE && lg.open_n == 0)
    return 1;
  if (lg.phase == IDLE)
    log_commit();
  else
    lg.commit_wanted = 1;
  return 0;
}

// At boot, before the file system is used: installs a committed
// transaction left in the log by a run that stopped before installing it.
// Synchronous (no process exists yet).
void log_recover(const struct superblock *sb, uint8 *page) {
  struct blk_req r;
  r.blockno = sb->logstart;
  r.write = 0;
  r.data = page;
  if (blk_wait(&r) < 0)
    fs_fatal("cannot read the log header");
  uint32 *hdr = (uint32 *)page;
  uint32 n = hdr[0];
  if (n == 0)
    return;
  if (n > sb->nlog - 1 || n > BSIZE / 4 - 1)
    fs_fatal("the log header says %d blocks; the log holds %d", (int)n, (int)sb->nlog - 1);
  static uint32 homes[BSIZE / 4];
  for (uint32 i = 0; i < n; i++) {
    homes[i] = hdr[1 + i];
    if (homes[i] < sb->inodestart || homes[i] >= sb->size)
      fs_fatal("the log names block %d, which is not an inode, bitmap or data block", (int)homes[i]);
  }
  for (uint32 i = 0; i < n; i++) {
    r.blockno = sb->logstart + 1 + i;
    r.write = 0;
    if (blk_wait(&r) < 0)
      fs_fatal("cannot read log block %d", (int)r.blockno);
    r.blockno = homes[i];
    r.write = 1;
    if (blk_wait(&r) < 0)
      fs_fatal("cannot write block %d", (int)r.blockno);
  }
  memset(page, 0, BSIZE);
  r.blockno = sb->logstart;
  r.write = 1;
  if (blk_wait(&r) < 0)
    fs_fatal("cannot clear the log header");
  printf("rvmsmp kernel: disk: installed a committed transaction of %d blocks from the log\n", (int)n);
}
