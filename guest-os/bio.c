// The buffer cache and restartable file-system calls.
//
// NBUF buffers of one block each, found by block number through a hash
// table. Buffers that are not pinned sit on an LRU list; a miss takes the
// least recently used one that is neither referenced nor being read. A
// buffer written by a transaction is pinned (off the list) until that
// transaction is installed at its home location (log.c), so the cache
// never drops the only up-to-date copy of a block.
//
// A file-system call is an *attempt* (op_begin .. op_end). Every buffer
// it reads stays referenced until the attempt ends, so pointers into the
// cache stay valid. When a block it needs is not resident, bread starts
// the read and returns NULL; the call gives up before changing anything
// and returns -ERESTART, and op_end blocks the process: its pc goes back
// to the ecall, it waits on the buffer (IO_WAIT), and when the read
// completes it becomes ready (IO_DONE) and makes the same call again. A
// call therefore changes nothing until every block it needs is resident,
// and then completes without I/O. The same happens when it must wait for
// space in the log, for a commit (fsync), or for a free buffer.
//
// Progress: a call that waits for reads keeps its buffers (up to MAXHOLD)
// referenced until it is made again, so other calls cannot evict what it
// has already read; such a call is a *holder*, and there are at most
// NHOLDERS at a time (a call that would start reading while all are taken
// waits for one to finish, having started nothing). Pinned buffers (two
// transactions) and the holders' buffers never fill the cache
// (2 * LOGMAX + NHOLDERS * MAXHOLD < NBUF), so a holder always finds a
// buffer to read into, and every call finishes.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"

static struct buf bufs[NBUF];
static struct buf *hash[NBUF_HASH];
static struct buf lru; // sentinel: lru.lru_next is the most recently used
static struct waitlist cache_waiters;
static struct waitlist holder_waiters; // calls that need to read, waiting for a holder's place

// The holders: processes whose call waits for reads, and the buffers they keep.
static struct holder {
  struct proc *p;
  struct buf *held[MAXHOLD];
  int n;
} holders[NHOLDERS];

_Static_assert(2 * LOGMAX + NHOLDERS * MAXHOLD < NBUF, "pinned and held buffers must leave the cache room");

struct op op; // the attempt in progress

static struct buf *find(uint32 blockno) {
  for (struct buf *b = hash[blockno % NBUF_HASH]; b; b = b->hash_next)
    if (b->blockno == blockno)
      return b;
  return NULL;
}

static void lru_remove(struct buf *b) {
  b->lru_prev->lru_next = b->lru_next;
  b->lru_next->lru_prev = b->lru_prev;
}

static void lru_push_front(struct buf *b) {
  b->lru_next = lru.lru_next;
  b->lru_prev = &lru;
  lru.lru_next->lru_prev = b;
  lru.lru_next = b;
}

static int pinned(struct buf *b) { return b->seq > log_installed_seq(); }

void bio_init(void) {
  lru.lru_next = lru.lru_prev = &lru;
  for (struct buf *b = bufs; b < &bufs[NBUF]; b++)
    lru_push_front(b);
}

// ---- Wait lists (FIFO) ----

void wait_push(struct waitlist *w, struct proc *p) {
  p->next = NULL;
  if (w->tail)
    w->tail->next = p;
  else
    w->head = p;
  w->tail = p;
}

void wake_all(struct waitlist *w) {
  struct proc *p = w->head;
  w->head = w->tail = NULL;
  while (p) {
    struct proc *next = p->next;
    annotate(EV_IO_DONE, p->tid, 0, 0);
    ready_push(p);
    p = next;
  }
}

static void wake_buf_waiters(struct buf *b) {
  struct waitlist w = {b->waiters, NULL};
  b->waiters = NULL;
  wake_all(&w);
}

// ---- Attempts ----

void op_begin(struct proc *p, int readonly) {
  op.p = p;
  op.holder = NULL;
  for (struct holder *h = holders; h < &holders[NHOLDERS]; h++)
    if (h->p == p)
      op.holder = h;
  op.readonly = readonly;
  op.id++;
  op.nrefs = 0;
  op.status = 0;
  op.wait = WAIT_NONE;
  op.wait_buf = NULL;
  op.nplanned = 0;
  if (!readonly && fs_mounted && orphans_queued())
    orphans_reclaim();
}

int op_planned(uint32 b) {
  for (int i = 0; i < op.nplanned; i++)
    if (op.planned[i] == b)
      return 1;
  return 0;
}

void op_plan(uint32 b) {
  if (op.nplanned == MAXPLANNED)
    panic("a file-system call plans more than %d new blocks", MAXPLANNED);
  op.planned[op.nplanned++] = b;
}

static void op_ref(struct buf *b) {
  if (b->stamp == op.id)
    return;
  if (op.nrefs == MAXOPREFS)
    panic("a file-system call holds more than %d buffers", MAXOPREFS);
  b->stamp = op.id;
  b->refs++;
  op.refs[op.nrefs++] = b;
}

int op_mark(void) { return op.nrefs; }

// Drops the references taken since `mark` (buffers a scan looked at and
// no longer needs).
void op_release_to(int mark) {
  while (op.nrefs > mark) {
    struct buf *b = op.refs[--op.nrefs];
    b->refs--;
    b->stamp = 0;
  }
}

// Whether the attempt may start a read (or wait for one): it must be a
// holder, or become one. If not, it waits for a holder to finish.
static int op_may_read(void) {
  if (op.holder)
    return 1;
  for (struct holder *h = holders; h < &holders[NHOLDERS]; h++)
    if (!h->p) {
      h->p = op.p;
      h->n = 0;
      op.holder = h;
      return 1;
    }
  op_need(WAIT_HOLDER, NULL);
  return 0;
}

static void release_holds(struct holder *h) {
  for (int i = 0; i < h->n; i++)
    h->held[i]->refs--;
  if (h->n && cache_waiters.head)
    wake_all(&cache_waiters); // those buffers may be taken now
  h->n = 0;
}

// Records why the attempt cannot finish now. A wait for a buffer's read
// beats the other waits; an I/O error beats everything.
void op_need(int wait, struct buf *b) {
  if (op.status == -EIO)
    return;
  op.status = -ERESTART;
  if (wait == WAIT_BUF || op.wait == WAIT_NONE) {
    op.wait = wait;
    op.wait_buf = b;
  }
}

void op_fail(int err) { op.status = err; }

// Ends the attempt. A result of -ERESTART blocks the process until what it
// waits for has happened; it will then make the same call again. Returns
// what serve() must store in a0 (for a blocked process, a0 itself, which
// the repeated call needs).
int64 op_end(struct proc *p, int64 result) {
  struct holder *h = op.holder;
  if (h) {
    // The holds of the previous attempt end; a holder that waits for a
    // read again keeps what this attempt referenced instead.
    release_holds(h);
    if (result == -ERESTART && op.wait == WAIT_BUF) {
      while (op.nrefs > 0 && h->n < MAXHOLD) {
        struct buf *b = op.refs[--op.nrefs];
        b->stamp = 0;
        h->held[h->n++] = b;
      }
    } else {
      h->p = NULL;
      wake_all(&holder_waiters);
    }
  }
  op_release_to(0);
  if (result != -ERESTART)
    return result;
  p->tf->epc -= 4; // back to the ecall
  p->state = BLOCKED;
  uint64 block = 0;
  switch (op.wait) {
  case WAIT_BUF: {
    struct buf *b = op.wait_buf;
    struct waitlist w = {b->waiters, NULL};
    for (struct proc *q = w.head; q; q = q->next)
      w.tail = q;
    wait_push(&w, p);
    b->waiters = w.head;
    block = b->blockno;
    break;
  }
  case WAIT_CACHE:
    wait_push(&cache_waiters, p);
    log_cache_pressure();
    break;
  case WAIT_HOLDER:
    wait_push(&holder_waiters, p);
    break;
  default: // WAIT_LOG_SPACE, WAIT_COMMIT
    log_wait(p, op.wait);
    block = log_header_block();
    break;
  }
  annotate(EV_IO_WAIT, p->tid, block, 0);
  return p->tf->a0;
}

// ---- Pages ----

// Pages for buffers and for copies on write. All of them are set aside at
// mount (bio_reserve), before any program runs: a program that takes every
// free page (mmap until ENOMEM) must not leave the cache without pages, and
// the cache never needs more than NBUF buffer pages plus one page for each
// block of the commit in progress that has been copied on write
// (log_give_page), at most LOGMAX.
#define NCACHEPAGES (NBUF + LOGMAX)
static uint8 *free_pages;

// Mount: takes the cache's pages from the kernel's allocator. 0, or -1 if
// the memory is too small.
int bio_reserve(void) {
  for (int i = 0; i < NCACHEPAGES; i++) {
    uint8 *page = kalloc();
    if (!page)
      return -1;
    page_put(page);
  }
  return 0;
}

uint8 *page_get(void) {
  uint8 *page = free_pages;
  if (!page)
    panic("buffer cache: more than %d pages in use", NCACHEPAGES); // cannot happen: see above
  free_pages = *(uint8 **)page;
  return page;
}

void page_put(uint8 *page) {
  *(uint8 **)page = free_pages;
  free_pages = page;
}

// ---- Buffers ----

// A call that may change b must not change the page a commit is writing
// from: copy on write.
static void thaw(struct buf *b) {
  if (!b->frozen || op.readonly)
    return;
  uint8 *copy = page_get();
  memcpy(copy, b->data, BSIZE);
  log_give_page(b, copy);
}

// An unreferenced, unpinned buffer not being read, the least recently
// used one, retagged for `blockno` (contents not valid); NULL if none.
static struct buf *claim(uint32 blockno) {
  struct buf *b;
  for (b = lru.lru_prev; b != &lru; b = b->lru_prev)
    if (b->refs == 0 && !b->reading && !b->waiters)
      break;
  if (b == &lru)
    return NULL;
  if (!b->data)
    b->data = page_get();
  if (b->tagged) {
    struct buf **link = &hash[b->blockno % NBUF_HASH];
    while (*link != b)
      link = &(*link)->hash_next;
    *link = b->hash_next;
  }
  b->blockno = blockno;
  b->tagged = 1;
  b->valid = 0;
  b->error = 0;
  b->hash_next = hash[blockno % NBUF_HASH];
  hash[blockno % NBUF_HASH] = b;
  lru_remove(b);
  lru_push_front(b);
  return b;
}

static void read_done(struct blk_req *r) {
  struct buf *b = r->owner;
  b->reading = 0;
  if (r->failed)
    b->error = 1;
  else
    b->valid = 1;
  wake_buf_waiters(b);
  wake_all(&cache_waiters);
}

// The buffer holding block `blockno`, resident and referenced by the
// attempt; or NULL, having started the read (op_need) or found an error
// (op.status = -EIO).
struct buf *bread(uint32 blockno) {
  struct buf *b = find(blockno);
  if (b && b->valid) {
    thaw(b);
    op_ref(b);
    if (!pinned(b)) {
      lru_remove(b);
      lru_push_front(b);
    }
    return b;
  }
  if (b && b->error && !b->reading) {
    b->error = 0; // the next attempt reads it again
    op_fail(-EIO);
    return NULL;
  }
  if (!op_may_read())
    return NULL;
  if (b && b->reading) {
    op_ref(b);
    op_need(WAIT_BUF, b);
    return NULL;
  }
  if (!b && !(b = claim(blockno))) {
    op_need(WAIT_CACHE, NULL);
    return NULL;
  }
  op_ref(b);
  b->reading = 1;
  b->req.blockno = blockno;
  b->req.write = 0;
  b->req.data = b->data;
  b->req.done = read_done;
  b->req.owner = b;
  blk_submit(&b->req);
  op_need(WAIT_BUF, b);
  return NULL;
}

// A buffer for block `blockno` that the caller will overwrite entirely
// (a newly allocated block, or a whole-block write): resident without
// reading the disk. Its contents are not valid until the caller fills
// it and calls bfill. NULL (op_need) if it must wait.
struct buf *bget_whole(uint32 blockno) {
  struct buf *b = find(blockno);
  if (b && b->reading) {
    if (op_may_read()) {
      op_ref(b);
      op_need(WAIT_BUF, b);
    }
    return NULL;
  }
  if (!b && !(b = claim(blockno))) {
    op_need(WAIT_CACHE, NULL);
    return NULL;
  }
  thaw(b);
  op_ref(b);
  return b;
}

// Phase two: a block the attempt has already read (or claimed with
// bget_whole); it is resident because the attempt references it.
struct buf *bread_resident(uint32 blockno) {
  struct buf *b = find(blockno);
  if (!b || b->stamp != op.id)
    panic("file system: block %d should be resident", (int)blockno);
  return b;
}

// Phase two: a newly allocated block (claimed with bget_whole), zeroed.
struct buf *bread_resident_new(uint32 blockno) {
  struct buf *b = bread_resident(blockno);
  memset(b->data, 0, BSIZE);
  bfill(b);
  return b;
}

// The caller has written every byte of b (from bget_whole).
void bfill(struct buf *b) {
  b->valid = 1;
  b->error = 0;
}

// The resident buffer of block `blockno`, or NULL (for the log).
struct buf *bfind(uint32 blockno) { return find(blockno); }

// A pinned buffer whose last transaction is installed goes back on the
// LRU list, as the most recently used.
void bunpin(struct buf *b) { lru_push_front(b); }

// A buffer joins a transaction: off the LRU list until installed.
void bpin(struct buf *b) {
  if (!pinned(b))
    lru_remove(b);
}

void bio_wake_cache_waiters(void) { wake_all(&cache_waiters); }
