// File attributes: stat, statx, statfs and fstatfs, and the calls that
// change an inode's mode, owner and times (chmod, chown and utimensat in
// their fd and *at forms), with Linux's semantics and errno values. Every
// program runs as root, so every change is permitted. The nodes of /bin
// and /dev cannot be changed (EROFS). Reading a file does not change its
// access time (as with Linux's noatime), so that reads stay free of
// disk writes.
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"
#include "memlayout.h"

#define STATX_BASIC_STATS 0x7ff // type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks
#define STATX_RESERVED 0x80000000U
#define UTIME_NOW ((1L << 30) - 1)
#define UTIME_OMIT ((1L << 30) - 2)
#define S_ISUID 04000
#define S_ISGID 02000
#define S_IXGRP 00010

// Magic numbers statfs reports (include/uapi/linux/magic.h), and ours.
#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6
#define PIPEFS_MAGIC 0x50495045
#define DEVPTS_MAGIC 0x1cd1
#define ST_RDONLY 0x0001
#define ST_VALID 0x0020

struct statx_timestamp {
  int64 sec;
  uint32 nsec;
  int32 reserved;
};

struct statx {
  uint32 mask, blksize;
  uint64 attributes;
  uint32 nlink, uid, gid;
  uint16 mode, spare0;
  uint64 ino, size, blocks, attributes_mask;
  struct statx_timestamp atime, btime, ctime, mtime;
  uint32 rdev_major, rdev_minor, dev_major, dev_minor;
  uint64 mnt_id;
  uint32 dio_mem_align, dio_offset_align;
  uint64 spare3[12];
};
_Static_assert(sizeof(struct statx) == 256, "struct statx is 256 bytes");

struct kstatfs {
  int64 type, bsize;
  uint64 blocks, bfree, bavail, files, ffree;
  int32 fsid[2];
  int64 namelen, frsize, flags;
  int64 spare[4];
};
_Static_assert(sizeof(struct kstatfs) == 120, "struct statfs is 120 bytes");

// ---- Which node a call means ----

// What an *at call with AT_EMPTY_PATH and an empty (or NULL) path names:
// the open file dirfd. 1 if the path is empty, 0 if not, or -EFAULT.
int64 path_empty(struct proc *p, uint64 va) {
  char first;
  if (!va)
    return 1;
  if (copy_in(p->pagetable, &first, va, 1) < 0)
    return -EFAULT;
  return first == 0;
}

// The node an open file of the disk, /bin or /dev refers to; 0 for a pipe
// or the console.
static uint64 file_node(struct file *f) {
  return f->type == FT_INODE ? f->m->inum : f->type == FT_VNODE ? f->node : 0;
}

// What stat reports of the open file behind descriptor fd (AT_FDCWD: the
// working directory): 0, -EBADF, or AGAIN. Inside an attempt.
static int64 fd_kstat(struct proc *p, int64 fd, struct kstat *st) {
  if ((int)fd == AT_FDCWD)
    return node_kstat(p->process->cwd, st);
  struct file *f = fd_file(p, (int)fd);
  if (!f)
    return -EBADF;
  if (f->type == FT_PIPE) {
    pipe_kstat(f->pipe, st);
    return 0;
  }
  uint64 node = file_node(f);
  if (node)
    return node_kstat(node, st);
  console_kstat(f->type == FT_CONSOLE_IN ? 0 : f->type == FT_CONSOLE_OUT ? 1 : 2, st);
  return 0;
}

static int64 kstat_out(struct proc *p, int64 err, const struct kstat *st, uint64 ubuf) {
  if (err < 0)
    return err;
  return copy_out(p->pagetable, ubuf, st, sizeof *st) < 0 ? -EFAULT : 0;
}

// fstat, and newfstatat with AT_EMPTY_PATH.
int64 fd_stat(struct proc *p, int64 fd, uint64 ubuf) {
  struct kstat st;
  op_begin(p, 1);
  int64 err = fd_kstat(p, fd, &st);
  return op_end(p, kstat_out(p, err, &st, ubuf));
}

int64 sys_fstat(struct proc *p, int hart) { return fd_stat(p, (int)p->tf->a0, p->tf->a1); }

// ---- statx ----

static struct statx_timestamp stamp(int64 sec, int64 nsec) { return (struct statx_timestamp){sec, (uint32)nsec, 0}; }

// statx(dirfd, path, flags, mask, buf): every basic field, whatever the
// mask asks (as Linux may); no birth time.
int64 sys_statx(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  uint64 flags = tf->a2;
  if ((flags & ~(uint64)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) ||
      (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (tf->a3 & STATX_RESERVED))
    return -EINVAL;
  int64 empty = (flags & AT_EMPTY_PATH) ? path_empty(p, tf->a1) : 0;
  if (empty < 0)
    return empty;
  if (!empty) {
    int64 err = path_arg(p, tf->a1, tf->a0);
    if (err < 0)
      return err;
  }
  struct kstat st;
  op_begin(p, 1);
  int64 err;
  if (empty) {
    err = fd_kstat(p, tf->a0, &st);
  } else {
    int64 node = resolve(p, tf->a0);
    err = node < 0 ? node : node_kstat(node, &st);
  }
  if (err < 0)
    return op_end(p, err);
  struct statx sx;
  memset(&sx, 0, sizeof sx);
  sx.mask = STATX_BASIC_STATS;
  sx.blksize = st.blksize;
  sx.nlink = st.nlink;
  sx.uid = st.uid;
  sx.gid = st.gid;
  sx.mode = st.mode;
  sx.ino = st.ino;
  sx.size = st.size;
  sx.blocks = st.blocks;
  sx.atime = stamp(st.atime, st.atime_nsec);
  sx.mtime = stamp(st.mtime, st.mtime_nsec);
  sx.ctime = stamp(st.ctime, st.ctime_nsec);
  sx.rdev_major = st.rdev >> 8;
  sx.rdev_minor = st.rdev & 0xff;
  sx.dev_major = st.dev >> 8;
  sx.dev_minor = st.dev & 0xff;
  return op_end(p, copy_out(p->pagetable, tf->a4, &sx, sizeof sx) < 0 ? -EFAULT : 0);
}

// ---- statfs ----

// What statfs reports of the file system holding `node`, from stat's
// device number (st_dev) of it.
static void statfs_of(uint64 node, uint64 dev, struct kstatfs *s) {
  memset(s, 0, sizeof *s);
  s->bsize = s->frsize = BSIZE;
  s->namelen = NAME_MAX_FS;
  s->flags = ST_VALID;
  s->fsid[0] = (int32)dev;
  if (!ns_virtual(node)) {
    uint64 blocks, inodes;
    fs_free_counts(&blocks, &inodes);
    s->type = ramdisk_present ? TMPFS_MAGIC : FS_MAGIC;
    s->blocks = sb.nblocks;
    s->bfree = s->bavail = blocks;
    s->files = sb.ninodes - 1; // inode 0 is never used
    s->ffree = inodes;
  } else if (ns_in_bin(node)) {
    s->type = RAMFS_MAGIC;
    s->flags |= ST_RDONLY;
    s->namelen = LINUX_NAME_MAX;
  } else {
    s->type = TMPFS_MAGIC;
    s->namelen = LINUX_NAME_MAX;
  }
}

static int64 statfs_out(struct proc *p, uint64 node, const struct kstat *st, uint64 ubuf) {
  struct kstatfs s;
  statfs_of(node, st->dev, &s);
  return copy_out(p->pagetable, ubuf, &s, sizeof s) < 0 ? -EFAULT : 0;
}

int64 sys_statfs(struct proc *p, int hart) {
  int64 err = path_arg(p, p->tf->a0, AT_FDCWD);
  if (err < 0)
    return err;
  op_begin(p, 1);
  int64 node = resolve(p, AT_FDCWD);
  struct kstat st;
  if (node >= 0 && (err = node_kstat(node, &st)) == 0)
    err = statfs_out(p, node, &st, p->tf->a1);
  return op_end(p, node < 0 ? node : err);
}

int64 sys_fstatfs(struct proc *p, int hart) {
  struct file *f = fd_file(p, (int)p->tf->a0);
  if (!f)
    return -EBADF;
  struct kstatfs s;
  uint64 node = file_node(f);
  if (node) {
    struct kstat st;
    op_begin(p, 1);
    int64 err = node_kstat(node, &st);
    return op_end(p, err < 0 ? err : statfs_out(p, node, &st, p->tf->a1));
  }
  memset(&s, 0, sizeof s);
  s.type = f->type == FT_PIPE ? PIPEFS_MAGIC : DEVPTS_MAGIC;
  s.bsize = s.frsize = PGSIZE;
  s.namelen = LINUX_NAME_MAX;
  s.flags = ST_VALID;
  return copy_out(p->pagetable, p->tf->a1, &s, sizeof s) < 0 ? -EFAULT : 0;
}

// ---- Changing attributes ----

// A change to make: each part only when its flag says so.
struct attr_change {
  int set_mode, set_atime, set_mtime;
  uint32 mode;
  int64 uid, gid; // -1: unchanged
  struct fstime atime, mtime;
};

// Applies c to `node`: 0, -EROFS, or AGAIN. Inside an attempt.
static int64 change_node(uint64 node, const struct attr_change *c) {
  if (ns_virtual(node))
    return -EROFS;
  struct buf *ibuf;
  struct dinode *ip = iget_used(node, &ibuf);
  if (!ip)
    return op.status;
  if (!log_room(1))
    return op.status;
  if (c->set_mode)
    ip->mode = c->mode & 07777;
  int owner_changes = (c->uid != -1 && c->uid != ip->uid) || (c->gid != -1 && c->gid != ip->gid);
  if (c->uid != -1)
    ip->uid = c->uid;
  if (c->gid != -1)
    ip->gid = c->gid;
  // As Linux: a new owner of a file takes away its set-user-ID bit, and
  // its set-group-ID bit when it is group-executable.
  if (owner_changes && ip->type == T_FILE) {
    ip->mode &= ~S_ISUID;
    if (ip->mode & S_IXGRP)
      ip->mode &= ~S_ISGID;
  }
  if (c->set_atime) {
    ip->atime_sec = c->atime.sec;
    ip->atime_nsec = c->atime.nsec;
  }
  if (c->set_mtime) {
    ip->mtime_sec = c->mtime.sec;
    ip->mtime_nsec = c->mtime.nsec;
  }
  inode_touch(ip, TOUCH_CTIME);
  log_write(ibuf);
  mnode_changed(node);
  return 0;
}

// Makes change c to the open file behind fd, or (path not empty) to what
// the path names from dirfd.
static int64 change(struct proc *p, int64 dirfd, uint64 upath, int by_fd, const struct attr_change *c) {
  uint64 node;
  if (by_fd) {
    struct file *f = fd_file(p, (int)dirfd);
    if ((int)dirfd == AT_FDCWD) {
      node = p->process->cwd;
    } else if (!f) {
      return -EBADF;
    } else if (!(node = file_node(f))) {
      return 0; // a pipe or the console: nothing kept to change
    }
    op_begin(p, 0);
    return op_end(p, change_node(node, c));
  }
  int64 err = path_arg(p, upath, dirfd);
  if (err < 0)
    return err;
  op_begin(p, 0);
  int64 found = resolve(p, dirfd);
  return op_end(p, found < 0 ? found : change_node(found, c));
}

int64 sys_fchmod(struct proc *p, int hart) {
  struct attr_change c = {.set_mode = 1, .mode = p->tf->a1, .uid = -1, .gid = -1};
  return change(p, p->tf->a0, 0, 1, &c);
}

int64 sys_fchmodat(struct proc *p, int hart) {
  struct attr_change c = {.set_mode = 1, .mode = p->tf->a2, .uid = -1, .gid = -1};
  return change(p, p->tf->a0, p->tf->a1, 0, &c);
}

static int64 id_arg(uint64 v) { return (uint32)v == (uint32)-1 ? -1 : (int64)(uint32)v; }

int64 sys_fchown(struct proc *p, int hart) {
  struct attr_change c = {.uid = id_arg(p->tf->a1), .gid = id_arg(p->tf->a2)};
  return change(p, p->tf->a0, 0, 1, &c);
}

int64 sys_fchownat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a4 & ~(uint64)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
    return -EINVAL;
  int64 empty = (tf->a4 & AT_EMPTY_PATH) ? path_empty(p, tf->a1) : 0;
  if (empty < 0)
    return empty;
  struct attr_change c = {.uid = id_arg(tf->a2), .gid = id_arg(tf->a3)};
  return change(p, tf->a0, tf->a1, empty, &c);
}

// One of utimensat's two times: into *set and *t. 0 or -EINVAL.
static int64 time_arg(const int64 ts[2], int *set, struct fstime *t) {
  if (ts[1] == UTIME_OMIT) {
    *set = 0;
    return 0;
  }
  *set = 1;
  if (ts[1] == UTIME_NOW) {
    *t = fs_now();
    return 0;
  }
  if (ts[1] < 0 || ts[1] >= 1000000000)
    return -EINVAL;
  *t = (struct fstime){ts[0], (uint32)ts[1]};
  return 0;
}

// utimensat(dirfd, path, times, flags): a NULL path means dirfd itself;
// NULL times mean now for both.
int64 sys_utimensat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a3 & ~(uint64)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
    return -EINVAL;
  struct attr_change c = {.uid = -1, .gid = -1};
  if (tf->a2) {
    int64 ts[4];
    if (copy_in(p->pagetable, ts, tf->a2, sizeof ts) < 0)
      return -EFAULT;
    if (time_arg(ts, &c.set_atime, &c.atime) < 0 || time_arg(ts + 2, &c.set_mtime, &c.mtime) < 0)
      return -EINVAL;
    if (!c.set_atime && !c.set_mtime)
      return 0; // both omitted: nothing changes, not even ctime
  } else {
    c.set_atime = c.set_mtime = 1;
    c.atime = c.mtime = fs_now();
  }
  int by_fd = !tf->a1;
  if (!by_fd && (tf->a3 & AT_EMPTY_PATH)) {
    int64 empty = path_empty(p, tf->a1);
    if (empty < 0)
      return empty;
    by_fd = empty;
  }
  return change(p, tf->a0, tf->a1, by_fd, &c);
}

// ---- What the file system does not have ----

// Symbolic links: the format has none (as a file system without them, EPERM).
int64 sys_symlinkat(struct proc *p, int hart) { return -EPERM; }

// Sockets: no address family is supported, so that libraries fall back.
int64 sys_socket(struct proc *p, int hart) { return -EAFNOSUPPORT; }
