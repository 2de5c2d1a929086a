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
  int seekable = f && (f->type == FT_INODE || f->type == FT_VNODE);
  *err = !f ? -EBADF : !seekable ? -ESPIPE : !(want_write ? f->writable : f->readable) ? -EBADF : 0;
  return *err ? NULL : f;
}

// pread64(fd, buf, count, offset) and pwrite64: a read or write at
// `offset` that leaves the file's offset as it was. As on Linux, pwrite on
// a file opened with O_APPEND writes at the end whatever the offset.
static int64 positioned(struct proc *p, int write) {
  struct trapframe *tf = p->tf;
  int64 err;
  struct file *f = positioned_file(p, tf->a0, write, &err);
  if (!f)
    return err;
  if ((int64)tf->a3 < 0)
    return -EINVAL;
  struct uio u = {.p = p, .base = tf->a1, .len = tf->a2};
  return transfer_at(p, f, &u, write, tf->a3);
}

int64 sys_pread64(struct proc *p, int hart) { return positioned(p, 0); }

int64 sys_pwrite64(struct proc *p, int hart) { return positioned(p, 1); }

// ---- ftruncate, truncate ----

// Sets the size of inode `inum` to len. Blocks wholly past the new end
// are freed; the bytes of the last block past it are zeroed, so that a
// later extension reads zeros there, as every byte past the end must.
int64 fs_truncate(uint32 inum, uint64 len) {
  struct buf *ibuf;
  struct dinode *ip = iget_used(inum, &ibuf);
  if (!ip)
    return op.status;
  if (ip->type == T_DIR)
    return -EISDIR;
  if (len > MAXFILESIZE)
    return -EFBIG;
  if (len == ip->size)
    return 0;
  // The block holding the end that stays: zeroed from that end on.
  uint64 keep_end = len < ip->size ? len : ip->size;
  uint32 from = (len + BSIZE - 1) / BSIZE;
  int64 tail = 0;
  if (keep_end % BSIZE) {
    tail = bmap(ip, keep_end / BSIZE);
    if (tail < 0)
      return tail;
    if (tail && !bread(tail))
      return op.status;
  }
  if (len < ip->size && ishrink(inum, from, 2) < 0)
    return op.status;
  if (!log_room(2)) // the inode and the tail block
    return op.status;

  ip = iget_resident(inum, &ibuf);
  if (tail) {
    struct buf *b = bread_resident(tail);
    memset(b->data + keep_end % BSIZE, 0, BSIZE - keep_end % BSIZE);
    log_write(b);
  }
  ip->size = len;
  inode_touch(ip, TOUCH_MTIME | TOUCH_CTIME);
  log_write(ibuf);
  mnode_changed(inum);
  return 0;
}

int64 sys_ftruncate(struct proc *p, int hart) {
  struct file *f = fd_file(p, p->tf->a0);
  if (!f)
    return -EBADF;
  if ((int64)p->tf->a1 < 0)
    return -EINVAL;
  if (f->type != FT_INODE || !f->writable)
    return -EINVAL; // Linux's answer for a pipe, a device or a file not open for writing
  op_begin(p, 0);
  return op_end(p, fs_truncate(f->m->inum, p->tf->a1));
}

// fallocate: not supported, so that a program falls back to writing.
int64 sys_fallocate(struct proc *p, int hart) { return fd_file(p, p->tf->a0) ? -EOPNOTSUPP : -EBADF; }
