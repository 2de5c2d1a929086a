// Descriptors and open files: each process's descriptor table, the open
// files (Linux's file descriptions) that descriptors refer to, and the
// calls that work on a descriptor whatever is behind it: read, write and
// their vector forms, close, dup, dup3, fcntl, pipe2, fstat, lseek and
// ioctl. Behind a descriptor is the console (console.c), a pipe (pipe.c)
// or an inode (file.c, whose work runs inside the file system's
// restartable attempts).
//
// A process's table is one page, shared by all its threads (glibc's
// threads are made with CLONE_FILES); fork and vfork copy it, execve
// closes the descriptors marked close-on-exec. The console's three open
// files are static and shared by every process, as the terminal a shell
// passes down is on Linux.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"

struct fdtable {
  struct file *fd[NOFILE];
  uint64 cloexec[NOFILE / 64]; // bit per descriptor: FD_CLOEXEC
  int top; // every descriptor from here on is free (so exit and fork look no further)
};
_Static_assert(sizeof(struct fdtable) <= PGSIZE, "a descriptor table is one page");

static struct file files[NFILE];
static struct file console_in = {.type = FT_CONSOLE_IN, .readable = 1, .refs = 1};
static struct file console_out = {.type = FT_CONSOLE_OUT, .writable = 1, .refs = 1};
static struct file console_err = {.type = FT_CONSOLE_ERR, .writable = 1, .refs = 1};

// ---- Open files ----

struct file *file_alloc(void) {
  for (struct file *f = files; f < &files[NFILE]; f++)
    if (f->refs == 0 && f->type == FT_NONE)
      return f;
  return NULL;
}

// A descriptor no longer refers to f; the last one frees it. (The
// console's files start with a reference of their own: never freed.)
static void file_put(struct file *f) {
  if (--f->refs > 0)
    return;
  if (f->type == FT_INODE) {
    lock_release(f, 0); // its open-file-description locks
    mnode_put(f->m);
  }
  else if (f->type == FT_PIPE)
    pipe_close(f->pipe, f->readable, f->writable);
  f->m = NULL;
  f->pipe = NULL;
  f->type = FT_NONE;
}

// ---- Descriptor tables ----

static struct fdtable *table(struct proc *p) { return p->process->fds; }

// The open file behind descriptor fd; NULL if none.
struct file *fd_file(struct proc *p, int64 fd) {
  struct fdtable *t = table(p);
  if (fd < 0 || fd >= NOFILE || !t)
    return NULL;
  return t->fd[fd];
}

// The lowest free descriptor at or above `from`, or -EMFILE.
int64 fd_free(struct proc *p, int64 from) {
  struct fdtable *t = table(p);
  for (int64 fd = from < 0 ? 0 : from; fd < NOFILE; fd++)
    if (fd >= t->top || !t->fd[fd])
      return fd;
  return -EMFILE;
}

static void set_cloexec(struct fdtable *t, int fd, int on) {
  if (on)
    t->cloexec[fd / 64] |= 1UL << (fd % 64);
  else
    t->cloexec[fd / 64] &= ~(1UL << (fd % 64));
}

static int cloexec(struct fdtable *t, int fd) { return (t->cloexec[fd / 64] >> (fd % 64)) & 1; }

// Puts f (whose reference the caller gives) at descriptor fd, which is free.
void fd_install(struct proc *p, int fd, struct file *f, int close_on_exec) {
  struct fdtable *t = table(p);
  t->fd[fd] = f;
  if (fd >= t->top)
    t->top = fd + 1;
  set_cloexec(t, fd, close_on_exec);
}

// Closing any descriptor of a file drops the process's record locks on it.
static int64 fd_close(struct process *ps, int64 fd) {
  struct fdtable *t = ps->fds;
  if (fd < 0 || fd >= NOFILE || !t->fd[fd])
    return -EBADF;
  if (t->fd[fd]->type == FT_INODE)
    lock_release(ps, t->fd[fd]->m->inum);
  file_put(t->fd[fd]);
  t->fd[fd] = NULL;
  set_cloexec(t, fd, 0);
  return 0;
}

// A process the kernel starts: descriptors 0, 1 and 2 are the console's
// input, output and error. -1 when out of memory.
int fd_init_console(struct process *ps) {
  struct fdtable *t = kalloc(); // zeroed
  if (!t)
    return -1;
  t->top = 3;
  t->fd[0] = &console_in;
  t->fd[1] = &console_out;
  t->fd[2] = &console_err;
  for (int fd = 0; fd < 3; fd++)
    t->fd[fd]->refs++;
  ps->fds = t;
  return 0;
}

// fork and vfork: the child gets a copy of the parent's descriptors,
// sharing their open files. Returns 0, or -1 when out of memory.
int fd_fork(struct process *parent, struct process *child) {
  struct fdtable *t = kalloc();
  if (!t)
    return -1;
  memcpy(t, parent->fds, sizeof *t);
  for (int fd = 0; fd < t->top; fd++)
    if (t->fd[fd])
      t->fd[fd]->refs++;
  child->fds = t;
  return 0;
}

// execve: the descriptors marked close-on-exec are closed.
void fd_exec(struct process *ps) {
  struct fdtable *t = ps->fds;
  for (int fd = 0; fd < t->top; fd++)
    if (t->fd[fd] && cloexec(t, fd))
      fd_close(ps, fd);
}

// The process has ended: every descriptor is closed (closing never waits).
void fd_close_all(struct process *ps) {
  struct fdtable *t = ps->fds;
  if (!t)
    return;
  for (int fd = 0; fd < t->top; fd++)
    if (t->fd[fd])
      fd_close(ps, fd);
  kfree(t);
  ps->fds = NULL;
}

// ---- User buffers ----

// The bytes a read or write moves: one buffer (read, write) or the
// vector of read/writev. Byte `off` of the whole lies in one segment.
#define MAX_RW_COUNT 0x7ffff000UL // the most one transfer moves (Linux: INT_MAX rounded down to a page)

static int64 uio_init(struct proc *p, struct uio *u, uint64 base, uint64 len, uint64 iov, uint64 iovcnt) {
  u->p = p;
  u->base = base;
  u->len = len;
  u->iov = iov;
  u->iovcnt = iovcnt;
  if (!iov)
    return 0;
  if (iovcnt > 1024)
    return -EINVAL;
  // As Linux: a negative length anywhere is EINVAL, then a segment past
  // the user address space EFAULT; the total is capped at MAX_RW_COUNT.
  for (uint64 i = 0; i < iovcnt; i++) {
    uint64 seg[2];
    if (copy_in(p->pagetable, seg, iov + 16 * i, sizeof seg) < 0)
      return -EFAULT;
    if ((int64)seg[1] < 0)
      return -EINVAL;
  }
  uint64 total = 0;
  for (uint64 i = 0; i < iovcnt; i++) {
    uint64 seg[2];
    copy_in(p->pagetable, seg, iov + 16 * i, sizeof seg);
    if (seg[1] > MAXVA || seg[0] > MAXVA - seg[1])
      return -EFAULT;
    total += seg[1] < MAX_RW_COUNT - total ? seg[1] : MAX_RW_COUNT - total;
  }
  u->len = total;
  return 0;
}

// The user address of byte `off` and how many bytes follow it in its
// segment; 0 when off is past the end.
uint64 uio_at(struct uio *u, uint64 off, uint64 *addr) {
  if (off >= u->len)
    return 0;
  uint64 start = off;
  if (!u->iov) {
    *addr = u->base + off;
    return u->len - off;
  }
  for (uint64 i = 0; i < u->iovcnt; i++) {
    uint64 seg[2];
    if (copy_in(u->p->pagetable, seg, u->iov + 16 * i, sizeof seg) < 0)
      return 0;
    if (off < seg[1]) {
      *addr = seg[0] + off;
      return seg[1] - off < u->len - start ? seg[1] - off : u->len - start; // within the capped total
    }
    off -= seg[1];
  }
  return 0;
}

// Whether the buffer lies below the top of user address space (mapped or
// not), as Linux's access_ok asks of a transfer's buffer (uio_init has
// checked each segment of a vector).
static int uio_in_user_range(struct uio *u) { return u->iov || (u->len <= MAXVA && u->base <= MAXVA - u->len); }

// Whether all of the buffer is user memory with permission `need`.
int uio_ok(struct uio *u, int need) {
  uint64 addr, n;
  for (uint64 off = 0; (n = uio_at(u, off, &addr)) > 0; off += n)
    if (!uvm_range_ok(u->p->pagetable, addr, n, need))
      return 0;
  return 1;
}

// ---- Reading and writing ----

// An inode is read or written a chunk at a time, each chunk one attempt
// (at most MAXOPDATA blocks, in one segment of a vector), until all of the
// transfer is done, the end of the file is reached, or an error stops it:
// as on Linux, one call moves all of a regular file's bytes. At `pos`, or
// at the file's offset (advancing it) when pos is -1. A chunk that must
// wait blocks the thread; the bytes moved so far are kept in io_done and
// the call, made again, goes on from there (a signal handler that runs
// meanwhile makes the call return that count: signal.c).
int64 inode_transfer(struct proc *p, struct file *f, struct uio *u, int write, int64 pos) {
  if (!p->io_done && !uio_in_user_range(u))
    return -EFAULT; // as Linux's access_ok: a buffer past the user address space moves nothing
  if (u->len > MAX_RW_COUNT)
    u->len = MAX_RW_COUNT; // as Linux caps one transfer
  for (;;) {
    uint64 done = p->io_done, addr = 0, n = uio_at(u, done, &addr);
    if (n == 0) {
      p->io_done = 0;
      return done;
    }
    uint64 saved = f->off;
    if (pos >= 0)
      f->off = pos + done;
    op_begin(p, !write);
    int64 r = write ? inode_write(p, f, addr, n) : inode_read(p, f, addr, n);
    if (pos >= 0)
      f->off = saved;
    if (r == -ERESTART)
      return op_end(p, r);
    r = op_end(p, r);
    if (r <= 0) {
      p->io_done = 0;
      return done ? (int64)done : r;
    }
    p->io_done = done + r;
  }
}

static int64 transfer(struct proc *p, int64 fd, struct uio *u, int write) {
  struct file *f = fd_file(p, fd);
  if (!f || !(write ? f->writable : f->readable))
    return -EBADF;
  switch (f->type) {
  case FT_CONSOLE_IN: return console_read_user(p, f, u);
  case FT_CONSOLE_OUT: return console_write_user(p, 1, u);
  case FT_CONSOLE_ERR: return console_write_user(p, 2, u);
  case FT_PIPE: return write ? pipe_write(p, f, u) : pipe_read(p, f, u);
  case FT_INODE: return inode_transfer(p, f, u, write, -1);
  case FT_VNODE: return ns_transfer(f, u, write);
  }
  return -EBADF;
}

static int64 plain(struct proc *p, int write) {
  struct trapframe *tf = p->tf;
  struct uio u;
  uio_init(p, &u, tf->a1, tf->a2, 0, 0);
  return transfer(p, (int)tf->a0, &u, write);
}

static int64 vector(struct proc *p, int write) {
  struct trapframe *tf = p->tf;
  struct file *f = fd_file(p, (int)tf->a0);
  if (!f || !(write ? f->writable : f->readable))
    return -EBADF; // before the vector is looked at, as on Linux
  struct uio u;
  int64 err = uio_init(p, &u, 0, 0, tf->a1, tf->a2);
  if (err < 0)
    return err;
  return transfer(p, (int)tf->a0, &u, write);
}

// A transfer at `pos` that leaves the file's offset alone, for a file of
// the disk (inode_transfer) or of /bin or /dev.
int64 transfer_at(struct proc *p, struct file *f, struct uio *u, int write, int64 pos) {
  if (f->type != FT_VNODE)
    return inode_transfer(p, f, u, write, pos);
  uint64 saved = f->off;
  f->off = pos;
  int64 r = ns_transfer(f, u, write);
  f->off = saved;
  return r;
}

// preadv and pwritev (and their *2 forms, with flags 0 and an offset of
// -1 meaning the file's own): vectored transfers at an offset.
static int64 vector_at(struct proc *p, int write, int v2) {
  struct trapframe *tf = p->tf;
  int64 pos = (int64)tf->a3; // on riscv64 the offset's high half (a4) adds nothing
  if (v2 && tf->a5)
    return -EOPNOTSUPP; // RWF_HIPRI, RWF_DSYNC, ...: none is supported
  if (v2 && pos == -1)
    return vector(p, write);
  struct file *f = fd_file(p, (int)tf->a0);
  if (!f || !(write ? f->writable : f->readable))
    return -EBADF;
  if (f->type != FT_INODE && f->type != FT_VNODE)
    return -ESPIPE;
  if (pos < 0)
    return -EINVAL;
  struct uio u;
  int64 err = uio_init(p, &u, 0, 0, tf->a1, tf->a2);
  if (err < 0)
    return err;
  return transfer_at(p, f, &u, write, pos);
}

int64 sys_preadv(struct proc *p, int hart) { return vector_at(p, 0, 0); }
int64 sys_pwritev(struct proc *p, int hart) { return vector_at(p, 1, 0); }
int64 sys_preadv2(struct proc *p, int hart) { return vector_at(p, 0, 1); }
int64 sys_pwritev2(struct proc *p, int hart) { return vector_at(p, 1, 1); }

int64 sys_read(struct proc *p, int hart) { return plain(p, 0); }
int64 sys_write(struct proc *p, int hart) { return plain(p, 1); }
int64 sys_readv(struct proc *p, int hart) { return vector(p, 0); }
int64 sys_writev(struct proc *p, int hart) { return vector(p, 1); }

// ---- Closing, duplicating, controlling ----

int64 sys_close(struct proc *p, int hart) { return fd_close(p->process, (int)p->tf->a0); }

static int64 dup_from(struct proc *p, struct file *f, int64 from, int close_on_exec) {
  int64 fd = fd_free(p, from);
  if (fd < 0)
    return fd;
  f->refs++;
  fd_install(p, fd, f, close_on_exec);
  return fd;
}

int64 sys_dup(struct proc *p, int hart) {
  struct file *f = fd_file(p, (int)p->tf->a0);
  return f ? dup_from(p, f, 0, 0) : -EBADF;
}

int64 sys_dup3(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int64 oldfd = (int)tf->a0, newfd = (int)tf->a1;
  if (tf->a2 & ~(uint64)O_CLOEXEC)
    return -EINVAL;
  struct file *f = fd_file(p, oldfd);
  if (!f)
    return -EBADF;
  if (oldfd == newfd)
    return -EINVAL;
  if (newfd < 0 || newfd >= NOFILE)
    return -EBADF;
  f->refs++; // before the close, which may drop the last other reference
  if (fd_file(p, newfd))
    fd_close(p->process, newfd);
  fd_install(p, newfd, f, (tf->a2 & O_CLOEXEC) != 0);
  return newfd;
}

// The status flags F_GETFL reports.
static int64 status_flags(struct file *f) {
  int64 acc = f->readable && f->writable ? O_RDWR : f->writable ? O_WRONLY : O_RDONLY;
  return acc | (f->append ? O_APPEND : 0) | (f->nonblock ? O_NONBLOCK : 0);
}

int64 sys_fcntl(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int64 fd = (int)tf->a0;
  uint64 cmd = tf->a1, arg = tf->a2;
  struct file *f = fd_file(p, fd);
  if (!f)
    return -EBADF;
  switch (cmd) {
  case F_DUPFD:
  case F_DUPFD_CLOEXEC:
    if ((int64)arg < 0 || (int64)arg >= NOFILE)
      return -EINVAL;
    return dup_from(p, f, arg, cmd == F_DUPFD_CLOEXEC);
  case F_GETFD: return cloexec(table(p), fd) ? FD_CLOEXEC : 0;
  case F_SETFD: set_cloexec(table(p), fd, arg & FD_CLOEXEC); return 0;
  case F_GETFL: return status_flags(f);
  case F_SETFL:
    f->append = (arg & O_APPEND) != 0;
    f->nonblock = (arg & O_NONBLOCK) != 0;
    return 0;
  case F_GETLK: case F_SETLK: case F_SETLKW:
  case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
    return lock_fcntl(p, f, cmd, arg);
  case F_GETPIPE_SZ:
  case F_SETPIPE_SZ:
    return f->type == FT_PIPE ? PIPE_SIZE : -EBADF;
  }
  return -EINVAL;
}

// pipe2(fds, flags): fds[0] reads what fds[1] writes.
int64 sys_pipe2(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 flags = tf->a1;
  if (flags & ~(uint64)(O_CLOEXEC | O_NONBLOCK))
    return -EINVAL;
  int64 rfd = fd_free(p, 0);
  if (rfd < 0)
    return rfd;
  int64 wfd = fd_free(p, rfd + 1);
  if (wfd < 0)
    return wfd;
  struct file *r = file_alloc();
  if (!r)
    return -ENFILE;
  r->type = FT_PIPE; // taken, so the next file_alloc finds another
  struct file *w = file_alloc();
  struct pipe *pi = w ? pipe_alloc() : NULL;
  if (!pi) {
    r->type = FT_NONE;
    return w ? -ENOMEM : -ENFILE;
  }
  int32 fds[2] = {(int32)rfd, (int32)wfd};
  if (copy_out(p->pagetable, tf->a0, fds, sizeof fds) < 0) {
    r->type = FT_NONE;
    pipe_close(pi, 1, 1);
    return -EFAULT;
  }
  int nonblock = (flags & O_NONBLOCK) != 0, ce = (flags & O_CLOEXEC) != 0;
  *r = (struct file){.type = FT_PIPE, .readable = 1, .nonblock = nonblock, .refs = 1, .pipe = pi};
  *w = (struct file){.type = FT_PIPE, .writable = 1, .nonblock = nonblock, .refs = 1, .pipe = pi};
  fd_install(p, rfd, r, ce);
  fd_install(p, wfd, w, ce);
  return 0;
}

// ---- Information ----


int64 sys_lseek(struct proc *p, int hart) {
  struct file *f = fd_file(p, (int)p->tf->a0);
  if (!f)
    return -EBADF;
  if (f->type == FT_VNODE)
    return ns_lseek(f, p->tf->a1, p->tf->a2);
  return f->type == FT_INODE ? inode_lseek(p, f) : -ESPIPE;
}

#define FIONREAD 0x541b

// Nothing here is a terminal; FIONREAD tells what a pipe holds.
int64 sys_ioctl(struct proc *p, int hart) {
  struct file *f = fd_file(p, (int)p->tf->a0);
  if (!f)
    return -EBADF;
  if (p->tf->a1 == FIONREAD && f->type == FT_PIPE) {
    int32 n = (int32)pipe_bytes(f->pipe);
    return copy_out(p->pagetable, p->tf->a2, &n, sizeof n) < 0 ? -EFAULT : 0;
  }
  return -ENOTTY;
}
