// Inode-level file calls beyond read and write (Linux's semantics and
// errno values): pread64 and pwrite64. The descriptor layer (file.c) finds
// the open file; these work on its inode inside a restartable attempt
// (bio.c), like read and write.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"

// The open inode behind descriptor fd for a positioned transfer: NULL with
// *err set to -EBADF (no descriptor, or the wrong access mode) or -ESPIPE
// (the console: not seekable).
static struct file *positioned_file(struct proc *p, int64 fd, int want_write, int64 *err) {
  struct file *f = fd_file(p, fd);
  // Linux checks that the file can be positioned before its access mode.
  *err = !f ? -EBADF : f->type != FT_INODE ? -ESPIPE : !(want_write ? f->writable : f->readable) ? -EBADF : 0;
  return *err ? NULL : f;
}

// pread64(fd, buf, count, offset) and pwrite64: a read or write at
// `offset` that leaves the file's offset as it was. As on Linux, pwrite on
// a file opened with O_APPEND writes at the end whatever the offset. The
// call runs from its start again when it must wait (the offset is put
// back before that, so a repeated attempt sees the same state).
static int64 positioned(struct proc *p, int write) {
  struct trapframe *tf = p->tf;
  int64 err;
  struct file *f = positioned_file(p, tf->a0, write, &err);
  if (!f)
    return err;
  if ((int64)tf->a3 < 0)
    return -EINVAL;
  uint64 saved = f->off;
  f->off = tf->a3;
  op_begin(p, !write);
  int64 r = write ? inode_write(p, f, tf->a1, tf->a2) : inode_read(p, f, tf->a1, tf->a2);
  f->off = saved;
  return op_end(p, r);
}

int64 sys_pread64(struct proc *p, int hart) { return positioned(p, 0); }

int64 sys_pwrite64(struct proc *p, int hart) { return positioned(p, 1); }
