// Pipes, with Linux's semantics: a ring of PIPE_SIZE bytes (its pages
// allocated as writes first reach them), blocking and non-blocking reads
// and writes, writes of up to PIPE_BUF bytes made whole or not at all, end
// of file once every writer has closed, and EPIPE with SIGPIPE for a write
// nobody can read.
//
// A reader that finds the pipe empty, or a writer that finds it full,
// blocks on the pipe's wait queue and makes its call again when woken
// (waitq_block). A large blocking write that has to wait part-way keeps
// its progress in the thread (io_done) and goes on from there.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

#define PIPE_PAGES (PIPE_SIZE / PGSIZE)

struct pipe {
  int used;
  int readers, writers;  // open files for each end
  uint64 rpos, wpos;     // bytes read and written since it was made
  char *page[PIPE_PAGES]; // the ring, by page; NULL until first written
  struct waitq rwait;    // readers waiting for data or the end
  struct waitq wwait;    // writers waiting for room or for the readers to go
};

static struct pipe pipes[NPIPE];

// A pipe changed: its waiters on that side, and every poller, look again.
static void pipe_wake(struct waitq *q) {
  waitq_wake_all(q);
  poll_notify();
}


struct pipe *pipe_alloc(void) {
  for (struct pipe *pi = pipes; pi < &pipes[NPIPE]; pi++) {
    if (pi->used)
      continue;
    memset(pi, 0, sizeof *pi);
    pi->used = 1;
    pi->readers = pi->writers = 1;
    return pi;
  }
  return NULL;
}

uint64 pipe_bytes(struct pipe *pi) { return pi->wpos - pi->rpos; }

// What poll reports for an open file of the pipe (one end or both), as
// Linux's pipe_poll: readable with data or with no writers left (then
// POLLHUP too), writable with room, POLLERR when no reader is left.
int pipe_poll(struct pipe *pi, int reader, int writer) {
  int ev = 0;
  if (reader) {
    if (pipe_bytes(pi) > 0)
      ev |= 0x001 | 0x040; // POLLIN | POLLRDNORM
    if (pi->writers == 0)
      ev |= 0x010; // POLLHUP
  }
  if (writer) {
    if (pipe_bytes(pi) < PIPE_SIZE)
      ev |= 0x004 | 0x100; // POLLOUT | POLLWRNORM
    if (pi->readers == 0)
      ev |= 0x008; // POLLERR
  }
  return ev;
}

// An open file of one end (or both) is closed for the last time.
void pipe_close(struct pipe *pi, int reader, int writer) {
  if (reader && --pi->readers == 0)
    pipe_wake(&pi->wwait); // writers now get EPIPE
  if (writer && --pi->writers == 0)
    pipe_wake(&pi->rwait); // readers now get end of file
  if (pi->readers || pi->writers)
    return;
  for (int i = 0; i < PIPE_PAGES; i++)
    if (pi->page[i])
      kfree(pi->page[i]);
  pi->used = 0;
}

// The ring's bytes from position pos up to the end of their page.
static char *ring_at(struct pipe *pi, uint64 pos, uint64 *contiguous) {
  uint64 in_ring = pos % PIPE_SIZE;
  *contiguous = PGSIZE - in_ring % PGSIZE;
  return pi->page[in_ring / PGSIZE] + in_ring % PGSIZE;
}

int64 pipe_read(struct proc *p, struct file *f, struct uio *u) {
  struct pipe *pi = f->pipe;
  if (u->len == 0)
    return 0;
  if (pipe_bytes(pi) == 0) {
    if (pi->writers == 0)
      return 0;
    if (f->nonblock)
      return -EAGAIN;
    if (signal_pending(p))
      return -EINTR;
    return waitq_block(p, &pi->rwait, WAIT_PIPE);
  }
  if (!uio_ok(u, PTE_W))
    return -EFAULT;
  uint64 done = 0, addr, seg;
  while (done < u->len && pipe_bytes(pi) > 0 && (seg = uio_at(u, done, &addr)) > 0) {
    uint64 in_page;
    char *src = ring_at(pi, pi->rpos, &in_page);
    uint64 n = seg < in_page ? seg : in_page;
    if (n > pipe_bytes(pi))
      n = pipe_bytes(pi);
    copy_out(p->pagetable, addr, src, n);
    pi->rpos += n;
    done += n;
  }
  pipe_wake(&pi->wwait);
  return done;
}

int64 pipe_write(struct proc *p, struct file *f, struct uio *u) {
  struct pipe *pi = f->pipe;
  uint64 done = p->io_done; // what this call moved before it waited
  p->io_done = 0;
  if (pi->readers == 0) {
    signal_thread(p, SIGPIPE);
    return done ? (int64)done : -EPIPE;
  }
  if (u->len == 0)
    return 0;
  if (!done && !uio_ok(u, PTE_R))
    return -EFAULT;
  uint64 addr, seg;
  while (done < u->len) {
    uint64 room = PIPE_SIZE - pipe_bytes(pi), want = u->len - done;
    if (room == 0 || (u->len <= PIPE_BUF && room < want)) {
      // Full, or too full for a write that must go in whole.
      if (done)
        pipe_wake(&pi->rwait);
      if (f->nonblock)
        return done ? (int64)done : -EAGAIN;
      if (signal_pending(p))
        return done ? (int64)done : -EINTR;
      p->io_done = done;
      return waitq_block(p, &pi->wwait, WAIT_PIPE);
    }
    uint64 slot = (pi->wpos % PIPE_SIZE) / PGSIZE;
    if (!pi->page[slot] && !(pi->page[slot] = kalloc())) {
      if (done)
        pipe_wake(&pi->rwait);
      return done ? (int64)done : -ENOMEM;
    }
    uint64 in_page;
    char *dst = ring_at(pi, pi->wpos, &in_page);
    if ((seg = uio_at(u, done, &addr)) == 0)
      break; // (the vector changed under the call)
    uint64 n = seg < in_page ? seg : in_page;
    if (n > room)
      n = room;
    copy_in(p->pagetable, dst, addr, n);
    pi->wpos += n;
    done += n;
  }
  pipe_wake(&pi->rwait);
  return done;
}

// A pipe's struct stat: a FIFO, as Linux's pipefs reports it.
void pipe_kstat(struct pipe *pi, struct kstat *stp) {
  struct kstat st;
  memset(&st, 0, sizeof st);
  st.dev = 0xc; // pipefs's anonymous device
  st.ino = 0x1000 + (uint64)(pi - pipes);
  st.mode = 0010000 | 0600; // S_IFIFO, rw-------
  st.nlink = 1;
  st.blksize = PGSIZE;
  *stp = st;
}
