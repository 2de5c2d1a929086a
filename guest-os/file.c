// The file-system calls on paths and open inodes, with Linux's semantics
// and errno values. The descriptors and open files they use are fd.c's;
// each open inode has an mnode that remembers the last transaction that
// changed it (for fsync).
//
// Each file-system call is a restartable attempt (bio.c): op_begin, the
// work, op_end. The work returns op.status (-ERESTART or -EIO) when a
// block it needs is not resident, before it has changed anything.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

static struct mnode mnodes[NMNODE];
static char path[FS_PATH];  // the path of the call in progress (only hart 0 runs calls)
static char path2[FS_PATH]; // the second path of rename and link
static uint8 zeros[BSIZE];
static uint8 dents[BSIZE]; // getdents64's output, built before it is copied out

// ---- mnodes ----

static struct mnode *mnode_find(uint32 inum) {
  for (struct mnode *m = mnodes; m < &mnodes[NMNODE]; m++)
    if (m->refs && m->inum == inum)
      return m;
  return NULL;
}

// Whether a reference to inode `inum` can be taken (an mnode exists or is free).
int mnode_available(uint32 inum) {
  if (mnode_find(inum))
    return 1;
  for (struct mnode *m = mnodes; m < &mnodes[NMNODE]; m++)
    if (m->refs == 0)
      return 1;
  return 0;
}

static struct mnode *mnode_get(uint32 inum) {
  struct mnode *m = mnode_find(inum);
  if (m) {
    m->refs++;
    return m;
  }
  for (m = mnodes; m < &mnodes[NMNODE]; m++)
    if (m->refs == 0) {
      m->inum = inum;
      m->refs = 1;
      m->dirty_seq = 0;
      m->orphan = 0;
      return m;
    }
  panic("mnode_get: no free mnode");
}

// An open file of the inode is closed for the last time.
void mnode_put(struct mnode *m) {
  if (--m->refs == 0 && m->orphan)
    orphan_queue(m->inum);
}

// Inode inum has lost its last name: if it is open, it lives on until the
// last close (orphan.c). Returns whether it is open.
int mnode_orphan(uint32 inum) {
  struct mnode *m = mnode_find(inum);
  if (m)
    m->orphan = 1;
  return m != NULL;
}

// An inode changed in the open transaction: fsync on it must wait for that.
void mnode_changed(uint32 inum) {
  struct mnode *m = mnode_find(inum);
  if (m)
    m->dirty_seq = log_open_seq();
}

// ---- User memory ----

// Copies a path from user memory: 0, -EFAULT or -ENAMETOOLONG.
static int64 fetch_path_into(struct proc *p, uint64 va, char *buf) {
  for (uint64 i = 0; i < FS_PATH; i++) {
    uint64 pa = uvm_translate(p->pagetable, va + i, PTE_R);
    if (!pa)
      return -EFAULT;
    buf[i] = *(char *)pa;
    if (!buf[i])
      return 0;
  }
  return -ENAMETOOLONG;
}

static int64 fetch_path(struct proc *p, uint64 va) { return fetch_path_into(p, va, path); }

// How many of the len bytes at va are user memory with permission `need`
// (counted in whole pages from the start).
static uint64 user_prefix(struct proc *p, uint64 va, uint64 len, int need) {
  uint64 ok = 0;
  while (ok < len) {
    if (!uvm_translate(p->pagetable, va + ok, need))
      break;
    ok += PGSIZE - ((va + ok) & (PGSIZE - 1));
  }
  return ok < len ? ok : len;
}

// The directory a relative path starts from: the working directory for
// AT_FDCWD, else an open directory (a node, namespace.c).
static int64 start_dir_of(struct proc *p, int64 dirfd, const char *pth) {
  if (pth[0] == '/')
    return ROOTINO;
  if ((int)dirfd == AT_FDCWD)
    return p->process->cwd;
  struct file *f = fd_file(p, (int)dirfd);
  if (!f)
    return -EBADF;
  if (f->type == FT_VNODE)
    return f->node;
  if (f->type != FT_INODE)
    return -ENOTDIR;
  return f->m->inum; // path_parent checks that it is a directory
}

static int64 start_dir(struct proc *p, int64 dirfd) { return start_dir_of(p, dirfd, path); }

// The file system is there for a call on a path: without a disk, the
// first such call makes the file system in RAM (ramdisk.c). 0 or -ENOMEM.
static int64 fs_ready(void) {
  if (fs_mounted)
    return 0;
  return ramdisk_mount();
}

// Copies the call's path and makes sure the file system is there: 0 or
// an errno, in Linux's order (the string, an empty one, the directory a
// relative one starts from, then the walk).
int64 path_arg(struct proc *p, uint64 va, int64 dirfd) {
  int64 err = fetch_path(p, va);
  if (err < 0)
    return err;
  if (!path[0])
    return -ENOENT;
  if ((err = start_dir(p, dirfd)) < 0)
    return err;
  return fs_ready();
}

// ---- Reading and writing ----

int64 inode_read(struct proc *p, struct file *f, uint64 ubuf, uint64 n) {
  struct dinode *ip = iget_used(f->m->inum, NULL);
  if (!ip)
    return op.status;
  if (ip->type == T_DIR)
    return -EISDIR;
  uint64 off = f->off;
  if (n == 0 || off >= ip->size)
    return 0;
  uint64 end = n > ip->size - off ? ip->size : off + n;
  uint64 first = off / BSIZE;
  if ((end - 1) / BSIZE - first >= MAXOPDATA)
    end = (first + MAXOPDATA) * BSIZE;
  end = off + user_prefix(p, ubuf, end - off, PTE_W);
  if (end == off)
    return -EFAULT;
  uint32 nfb = (end - 1) / BSIZE - first + 1;
  uint32 blk[MAXOPDATA];
  int missing = 0;
  for (uint32 i = 0; i < nfb; i++) {
    int64 b = bmap(ip, first + i);
    if (b < 0)
      return b;
    blk[i] = b;
    // Start every missing read at once; wait for them together.
    if (b && !bread(b)) {
      if (op.status == -EIO)
        return -EIO;
      missing = 1;
    }
  }
  if (missing)
    return op.status;
  for (uint32 i = 0; i < nfb; i++) {
    uint64 bs = (first + i) * BSIZE;
    uint64 lo = off > bs ? off : bs, hi = end < bs + BSIZE ? end : bs + BSIZE;
    const uint8 *src = blk[i] ? bread_resident(blk[i])->data : zeros;
    copy_out(p->pagetable, ubuf + (lo - off), src + (lo - bs), hi - lo);
  }
  f->off = end;
  return end - off;
}

int64 inode_write(struct proc *p, struct file *f, uint64 ubuf, uint64 n) {
  struct buf *ibuf;
  struct dinode *ip = iget_used(f->m->inum, &ibuf);
  if (!ip)
    return op.status;
  if (ip->type != T_FILE)
    return -EISDIR;
  if (n == 0)
    return 0;
  uint64 off = f->append ? ip->size : f->off;
  if (off >= MAXFILESIZE)
    return -EFBIG;
  uint64 end = n > MAXFILESIZE - off ? MAXFILESIZE : off + n;
  uint64 first = off / BSIZE;
  if ((end - 1) / BSIZE - first >= MAXOPDATA)
    end = (first + MAXOPDATA) * BSIZE; // a large write is split: a short count
  end = off + user_prefix(p, ubuf, end - off, PTE_R);
  if (end == off)
    return -EFAULT;
  uint32 nfb = (end - 1) / BSIZE - first + 1;

  // Phase one: the existing blocks, resident; new ones planned.
  uint32 blk[MAXOPDATA];
  int holes = 0, missing = 0;
  for (uint32 i = 0; i < nfb; i++) {
    int64 b = bmap(ip, first + i);
    if (b < 0)
      return b;
    blk[i] = b;
    if (!b) {
      holes++;
      continue;
    }
    uint64 bs = (first + i) * BSIZE;
    int whole = off <= bs && end >= bs + BSIZE;
    if (!(whole ? bget_whole(b) : bread(b))) {
      if (op.status == -EIO)
        return -EIO;
      missing = 1;
    }
  }
  if (missing)
    return op.status;
  // The index blocks the holes need; need[i]: the blocks to allocate for
  // a write of the first i + 1 file blocks.
  struct map_plan m;
  map_plan_init(&m);
  int need[MAXOPDATA], nnew[MAXOPDATA], touched[MAXOPDATA];
  for (uint32 i = 0, filled = 0; i < nfb; i++) {
    if (!blk[i] && map_plan_add(ip, first + i, &m) < 0)
      return op.status;
    filled += !blk[i];
    need[i] = filled + m.nnew;
    nnew[i] = m.nnew;
    touched[i] = m.ntouched;
  }
  uint32 alloc[MAXOPDATA + 4];
  int nalloc = 0;
  if (need[nfb - 1]) {
    int got = balloc_plan(need[nfb - 1], alloc);
    if (got < 0)
      return got;
    if (got < need[nfb - 1]) {
      // The disk is nearly full: write as far as the free blocks go.
      uint32 i = 0;
      while (i < nfb && need[i] <= got)
        i++;
      if (i == 0)
        return -ENOSPC;
      nfb = i;
      end = (first + nfb) * BSIZE < end ? (first + nfb) * BSIZE : end;
    }
    nalloc = need[nfb - 1];
    for (int k = 0; k < nalloc; k++)
      if (!bget_whole(alloc[k]))
        return op.status;
  }
  // The blocks this write logs: data, the inode, index blocks, bitmap blocks.
  int bitmaps = 0;
  for (int k = 0; k < nalloc; k++)
    if (k == 0 || alloc[k] / BPB != alloc[k - 1] / BPB)
      bitmaps++;
  if (!log_room(nfb + 1 + touched[nfb - 1] + bitmaps))
    return op.status;

  // Phase two: everything is resident; nothing can fail. The first blocks
  // planned become index blocks, the rest data.
  struct block_source index = {alloc, 0};
  int k = nnew[nfb - 1];
  for (uint32 i = 0; i < nfb; i++) {
    uint64 bs = (first + i) * BSIZE;
    uint64 lo = off > bs ? off : bs, hi = end < bs + BSIZE ? end : bs + BSIZE;
    struct buf *b;
    if (!blk[i]) {
      b = bread_resident_new(alloc[k]);
      map_install(ip, first + i, alloc[k++], &index);
    } else {
      b = bread_resident(blk[i]);
      if (lo > bs && ip->size < lo && ip->size > bs) // bytes between the old end and the write read as zeros
        memset(b->data + (ip->size - bs), 0, lo - ip->size);
    }
    copy_in(p->pagetable, b->data + (lo - bs), ubuf + (lo - off), hi - lo);
    bfill(b);
    log_write(b);
  }
  if (end > ip->size)
    ip->size = end;
  inode_touch(ip, TOUCH_MTIME | TOUCH_CTIME);
  log_write(ibuf);
  f->m->dirty_seq = log_open_seq();
  f->off = end;
  return end - off;
}

// ---- Opening, closing, duplicating ----

// Phase one and two of creating `name` in directory r->parent.
static int64 create(struct pathres *r, int type, int mode) {
  if (r->too_long)
    return -ENAMETOOLONG;
  if (strcmp(r->name, ".") == 0 || strcmp(r->name, "..") == 0)
    return -EEXIST;
  struct buf *pbuf;
  struct dinode *dp = iget_used(r->parent, &pbuf);
  if (!dp)
    return op.status;
  int64 inum = ialloc_plan();
  if (inum <= 0)
    return inum < 0 ? inum : -EIO;
  struct dir_add plan;
  int64 logged = dir_add_plan(dp, &plan);
  if (logged < 0)
    return logged;
  uint32 data = 0;
  if (type == T_DIR) {
    int got = balloc_plan(1, &data);
    if (got < 0)
      return got;
    if (got == 0)
      return -ENOSPC;
    if (!bget_whole(data))
      return op.status;
    logged += 2; // its first block, and a bitmap block
  }
  if (!log_room(logged + 1))
    return op.status;

  struct buf *ibuf;
  struct dinode *ip = ialloc_take(inum, type, mode, &ibuf);
  if (type == T_DIR) {
    struct buf *db = bread_resident_new(data);
    bmark(data, 1);
    ip->nblocks = 1;
    struct dirent *de = (struct dirent *)db->data;
    de[0].inum = inum;
    de[0].name[0] = '.';
    de[1].inum = r->parent;
    de[1].name[0] = de[1].name[1] = '.';
    log_write(db);
    ip->addrs[0] = data;
    ip->size = 2 * DIRENT_SIZE;
    ip->nlink = 2; // its entry and its "."
    dp->nlink++;   // the new ".."
  }
  dir_add(r->parent, dp, pbuf, &plan, r->name, inum);
  return inum;
}

static int64 do_openat(struct proc *p, int64 dirfd, int flags) {
  int acc = flags & O_ACCMODE;
  if (acc == 3)
    return -EINVAL;
  if (flags & O_TMPFILE_BIT)
    return -EOPNOTSUPP; // no unnamed files: glibc's tmpfile falls back to a named one
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  int64 fd = fd_free(p, 0);
  if (fd < 0)
    return fd;
  struct file *f = file_alloc();
  if (!f)
    return -ENFILE;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
  struct dirpos pos;
  int64 inum = path_final(&r, &pos);
  if (inum < 0)
    return inum;
  if (ns_virtual(inum) || (inum == 0 && ns_virtual(r.parent))) {
    if (inum == 0)
      return flags & O_CREAT ? ns_create_error(r.parent) : -ENOENT;
    if ((flags & O_CREAT) && (flags & O_EXCL))
      return -EEXIST;
    int64 err = ns_open(inum, flags, f);
    if (err < 0)
      return err;
    fd_install(p, fd, f, (flags & O_CLOEXEC) != 0);
    return fd;
  }
  int changed = 0;
  if (inum == 0) {
    if (!(flags & O_CREAT))
      return -ENOENT;
    if (r.must_be_dir)
      return -EISDIR;
    if (!mnode_available(0))
      return -ENFILE;
    inum = create(&r, T_FILE, (int)p->tf->a3 & ~p->process->umask);
    if (inum < 0)
      return inum;
    changed = 1;
  } else {
    if ((flags & O_CREAT) && (flags & O_EXCL))
      return -EEXIST;
    struct buf *ibuf;
    struct dinode *ip = iget_used(inum, &ibuf);
    if (!ip)
      return op.status;
    if (ip->type == T_DIR) {
      if (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))
        return -EISDIR;
    } else if ((flags & O_DIRECTORY) || r.must_be_dir) {
      return -ENOTDIR;
    }
    if (!mnode_available(inum))
      return -ENFILE;
    if ((flags & O_TRUNC) && ip->type == T_FILE && ip->size) {
      if (ishrink(inum, 0, 0) < 0)
        return op.status;
      inode_touch(ip, TOUCH_MTIME | TOUCH_CTIME);
      changed = 1;
    }
  }
  *f = (struct file){.type = FT_INODE, .refs = 1, .readable = acc != O_WRONLY, .writable = acc != O_RDONLY};
  f->append = (flags & O_APPEND) != 0;
  f->nonblock = (flags & O_NONBLOCK) != 0;
  f->m = mnode_get(inum);
  fd_install(p, fd, f, (flags & O_CLOEXEC) != 0);
  if (changed)
    f->m->dirty_seq = log_open_seq();
  return fd;
}

int64 sys_openat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  int64 err = path_arg(p, tf->a1, tf->a0);
  if (err < 0)
    return err;
  op_begin(p, !(tf->a2 & (O_CREAT | O_TRUNC)));
  return op_end(p, do_openat(p, tf->a0, tf->a2));
}

// ---- Information ----

// What stat reports of inode `inum`: 0 or AGAIN.
static int64 inode_kstat(uint32 inum, struct kstat *st) {
  struct dinode *ip = iget_used(inum, NULL);
  if (!ip)
    return op.status;
  memset(st, 0, sizeof *st);
  st->dev = 0x800; // as a first disk would be (8:0)
  st->ino = inum;
  st->mode = (ip->type == T_DIR ? S_IFDIR : S_IFREG) | ip->mode;
  st->nlink = ip->nlink;
  st->uid = ip->uid;
  st->gid = ip->gid;
  // A directory's size in whole blocks, as ext4 reports it (and as most
  // Linux hosts under qemu-riscv64 show a small directory: 4096).
  st->size = ip->type == T_DIR ? (ip->size + BSIZE - 1) / BSIZE * BSIZE : ip->size;
  st->blksize = BSIZE;
  st->blocks = (int64)ip->nblocks * (BSIZE / 512);
  st->atime = ip->atime_sec;
  st->atime_nsec = ip->atime_nsec;
  st->mtime = ip->mtime_sec;
  st->mtime_nsec = ip->mtime_nsec;
  st->ctime = ip->ctime_sec;
  st->ctime_nsec = ip->ctime_nsec;
  return 0;
}

// What stat reports of a node: 0, an errno, or AGAIN. Inside an attempt.
int64 node_kstat(uint64 node, struct kstat *st) {
  return ns_virtual(node) ? ns_kstat(node, st) : inode_kstat(node, st);
}

static int64 stat_to_user(struct proc *p, uint64 node, uint64 ubuf) {
  struct kstat st;
  int64 err = node_kstat(node, &st);
  if (err < 0)
    return err;
  return copy_out(p->pagetable, ubuf, &st, sizeof st) < 0 ? -EFAULT : 0;
}

// fstat(2) of an open inode.
int64 inode_fstat(struct proc *p, struct file *f, uint64 ubuf) {
  op_begin(p, 1);
  return op_end(p, stat_to_user(p, f->m->inum, ubuf));
}

// The node the call's path names from dirfd: >0, or an errno (-ENOENT
// when absent), or AGAIN. Inside an attempt.
int64 resolve(struct proc *p, int64 dirfd) {
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
  struct dirpos pos;
  int64 node = path_final(&r, &pos);
  if (node <= 0)
    return node < 0 ? node : -ENOENT;
  if (r.must_be_dir && (err = ns_check_dir(node)) < 0)
    return err;
  return node;
}

static int64 do_stat_path(struct proc *p, int64 dirfd, uint64 ubuf) {
  int64 node = resolve(p, dirfd);
  if (node < 0)
    return node;
  return stat_to_user(p, node, ubuf);
}

// newfstatat(2) with a path.
int64 fs_newfstatat(struct proc *p) {
  struct trapframe *tf = p->tf;
  int64 err = path_arg(p, tf->a1, tf->a0);
  if (err < 0)
    return err;
  op_begin(p, 1);
  return op_end(p, do_stat_path(p, tf->a0, tf->a2));
}

// Where an offset counts from in an open inode, as lseek's and struct
// flock's whence says: 0, the file's offset or its size; or -EINVAL, or AGAIN.
int64 inode_whence_base(struct file *f, int whence) {
  if (whence == SEEK_SET)
    return 0;
  if (whence == SEEK_CUR)
    return f->off;
  if (whence != SEEK_END)
    return -EINVAL;
  struct dinode *ip = iget_used(f->m->inum, NULL);
  return ip ? (int64)ip->size : op.status;
}

static int64 do_lseek(struct file *f, int64 off, int whence) {
  int64 base = inode_whence_base(f, whence);
  if (base < 0)
    return base;
  if ((off < 0 && base + off < 0) || (off > 0 && base + off < base))
    return -EINVAL;
  f->off = base + off;
  return f->off;
}

// lseek(2) of an open inode.
int64 inode_lseek(struct proc *p, struct file *f) {
  op_begin(p, 1);
  return op_end(p, do_lseek(f, p->tf->a1, p->tf->a2));
}

struct linux_dirent64_head {
  uint64 d_ino;
  int64 d_off;
  uint16 d_reclen;
  uint8 d_type;
} __attribute__((packed));

static int64 do_getdents(struct proc *p, struct file *f, uint64 ubuf, uint64 count) {
  struct dinode *dp = iget_used(f->m->inum, NULL);
  if (!dp)
    return op.status;
  if (dp->type != T_DIR)
    return -ENOTDIR;
  uint64 limit = count < sizeof dents ? count : sizeof dents;
  uint64 off = (f->off + DIRENT_SIZE - 1) / DIRENT_SIZE * DIRENT_SIZE;
  uint64 used = 0;
  while (off < dp->size) {
    int64 blk = bmap(dp, off / BSIZE);
    if (blk < 0)
      return blk;
    if (blk == 0) { // a hole: no entries
      off = (off / BSIZE + 1) * BSIZE;
      continue;
    }
    struct buf *b = bread(blk);
    if (!b)
      return op.status;
    struct dirent *de = (struct dirent *)(b->data + off % BSIZE);
    if (de->inum == 0) {
      off += DIRENT_SIZE;
      continue;
    }
    if (op_mark() > MAXOPREFS - 8)
      break; // enough buffers for one call
    struct dinode *ip = iget_used(de->inum, NULL);
    if (!ip)
      return op.status;
    uint64 len = 0;
    while (len < NAME_MAX_FS + 1 && de->name[len])
      len++;
    uint64 reclen = (sizeof(struct linux_dirent64_head) + len + 1 + 7) & ~7UL;
    if (used + reclen > limit) {
      if (used == 0)
        return -EINVAL; // the buffer cannot hold one entry
      break;
    }
    struct linux_dirent64_head h = {de->inum, (int64)(off + DIRENT_SIZE), reclen, ip->type == T_DIR ? DT_DIR : DT_REG};
    memset(dents + used, 0, reclen);
    memcpy(dents + used, &h, sizeof h);
    memcpy(dents + used + sizeof h, de->name, len);
    used += reclen;
    off += DIRENT_SIZE;
  }
  if (used && copy_out(p->pagetable, ubuf, dents, used) < 0)
    return -EFAULT;
  f->off = off;
  return used;
}

int64 sys_getdents64(struct proc *p, int hart) {
  struct file *f = fd_file(p, p->tf->a0);
  if (!f)
    return -EBADF;
  if (f->type == FT_VNODE)
    return ns_getdents(p, f, p->tf->a1, p->tf->a2);
  if (f->type != FT_INODE)
    return -ENOTDIR;
  op_begin(p, 1);
  return op_end(p, do_getdents(p, f, p->tf->a1, p->tf->a2));
}

// ---- Durability ----

// fsync(2) and fdatasync(2): wait until the transaction holding the last
// change to this file is durable (its log header is on the disk).
int64 sys_fsync(struct proc *p, int hart) {
  struct file *f = fd_file(p, p->tf->a0);
  if (!f)
    return -EBADF;
  if (f->type == FT_VNODE)
    return ns_is_dir(f->node) || ns_is_program(f->node) ? 0 : -EINVAL; // read-only; devices cannot
  if (f->type != FT_INODE)
    return -EINVAL; // as Linux for a terminal or a pipe
  op_begin(p, 1);
  return op_end(p, log_durable(f->m->dirty_seq) ? 0 : op.status);
}

// sync(2): everything changed so far becomes durable before it returns.
int64 sys_sync(struct proc *p, int hart) {
  if (!fs_mounted)
    return 0;
  op_begin(p, 1);
  return op_end(p, log_durable(log_sync_seq()) ? 0 : op.status);
}

// ---- Names ----

static int64 do_mkdirat(struct proc *p, int64 dirfd) {
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
  if (r.too_long)
    return -ENAMETOOLONG; // a name this file system cannot hold
  if (!r.name[0])
    return -EEXIST;
  struct dirpos pos;
  int64 inum = path_final(&r, &pos);
  if (inum < 0)
    return inum;
  if (inum > 0)
    return -EEXIST;
  if (ns_virtual(r.parent))
    return ns_create_error(r.parent);
  inum = create(&r, T_DIR, (int)p->tf->a2 & ~p->process->umask);
  return inum < 0 ? inum : 0;
}

int64 sys_mkdirat(struct proc *p, int hart) {
  int64 err = path_arg(p, p->tf->a1, p->tf->a0);
  if (err < 0)
    return err;
  op_begin(p, 0);
  return op_end(p, do_mkdirat(p, p->tf->a0));
}

// Whether inode inum goes with the name being removed: a directory
// always, a file when this is its last name and no open file refers to it
// (an open file's inode lives on as an orphan: orphan.c). -EBUSY for a
// directory that is open (see README).
static int64 frees_inode(struct dinode *ip, uint32 inum) {
  if (ip->type == T_DIR)
    return mnode_find(inum) ? -EBUSY : 1;
  return ip->nlink <= 1 && !mnode_find(inum);
}

// Phase two: inode inum has lost a name: freed (ishrink has freed its
// blocks) when frees_inode said so, else one link less.
static void drop_link(uint32 inum, int freeing) {
  struct buf *ibuf;
  struct dinode *ip = iget_resident(inum, &ibuf);
  if (freeing) {
    ifree(inum, ip, ibuf);
    return;
  }
  if (--ip->nlink == 0)
    mnode_orphan(inum);
  inode_touch(ip, TOUCH_CTIME);
  log_write(ibuf);
}

static int64 do_unlinkat(struct proc *p, int64 dirfd, int rmdir) {
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
  if (r.too_long)
    return -ENOENT; // no name this long exists here
  if (!r.name[0])
    return rmdir ? -EBUSY : -EISDIR;
  if (strcmp(r.name, ".") == 0)
    return rmdir ? -EINVAL : -EISDIR;
  if (strcmp(r.name, "..") == 0)
    return rmdir ? -ENOTEMPTY : -EISDIR;
  struct dirpos pos;
  int64 inum = path_final(&r, &pos);
  if (inum < 0)
    return inum;
  if (inum == 0)
    return -ENOENT;
  if (ns_virtual(inum))
    return ns_is_dir(inum) ? (rmdir ? -EBUSY : -EISDIR) : rmdir ? -ENOTDIR : -EROFS; // a mount point, or read-only
  struct dinode *ip = iget_used(inum, NULL);
  if (!ip)
    return op.status;
  if (rmdir) {
    if (ip->type != T_DIR)
      return -ENOTDIR;
    int64 empty = dir_is_empty(ip);
    if (empty < 0)
      return empty;
    if (!empty)
      return -ENOTEMPTY;
  } else {
    if (ip->type == T_DIR)
      return -EISDIR;
    if (r.must_be_dir)
      return -ENOTDIR;
  }
  int64 freeing = frees_inode(ip, inum);
  if (freeing < 0)
    return freeing;
  // The directory block, its inode (the times) and the inode.
  if (freeing && ishrink(inum, 0, 3) < 0)
    return op.status;
  if (!log_room(3))
    return op.status;

  struct buf *db = bread_resident(pos.block);
  memset((struct dirent *)db->data + pos.index, 0, sizeof(struct dirent));
  log_write(db);
  struct buf *pbuf;
  struct dinode *dp = iget_resident(r.parent, &pbuf);
  inode_touch(dp, TOUCH_MTIME | TOUCH_CTIME);
  if (rmdir)
    dp->nlink--; // its ".." is gone
  log_write(pbuf);
  if (rmdir)
    process_cwd_removed(inum, NS_REMOVED_DIR);
  drop_link(inum, freeing);
  mnode_changed(r.parent);
  return 0;
}

int64 sys_unlinkat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a2 & ~(uint64)AT_REMOVEDIR)
    return -EINVAL;
  int64 err = path_arg(p, tf->a1, tf->a0);
  if (err < 0)
    return err;
  op_begin(p, 0);
  return op_end(p, do_unlinkat(p, tf->a0, (tf->a2 & AT_REMOVEDIR) != 0));
}

// Both paths of rename or link: the first in path (from olddirfd), the
// second in path2 (from newdirfd). 0 or an errno, in Linux's order.
static int64 two_path_args(struct proc *p, uint64 oldva, int64 olddirfd, uint64 newva, int64 newdirfd, int old_may_be_empty) {
  int64 err = fetch_path(p, oldva);
  if (err < 0)
    return err;
  if ((err = fetch_path_into(p, newva, path2)) < 0)
    return err;
  if (!path[0] && !old_may_be_empty)
    return -ENOENT;
  if (!path2[0])
    return -ENOENT;
  if (path[0] && (err = start_dir_of(p, olddirfd, path)) < 0)
    return err;
  if ((err = start_dir_of(p, newdirfd, path2)) < 0)
    return err;
  return fs_ready();
}

// Splits both paths: 0, an errno, or AGAIN.
static int64 split_two(struct proc *p, int64 olddirfd, int64 newdirfd, struct pathres *ro, struct pathres *rn) {
  int64 start = start_dir_of(p, olddirfd, path);
  if (start < 0)
    return start;
  int64 err = path_parent(start, path, ro);
  if (err < 0)
    return err;
  if ((start = start_dir_of(p, newdirfd, path2)) < 0)
    return start;
  return path_parent(start, path2, rn);
}

static int is_dot_or_dotdot(const char *name) { return strcmp(name, ".") == 0 || strcmp(name, "..") == 0; }

// Whether directory `dir` is `anc` or lies below it: 1, 0, or AGAIN.
static int64 dir_within(uint32 dir, uint32 anc) {
  for (int depth = 0; depth < 4096; depth++) {
    if (dir == anc)
      return 1;
    if (dir == ROOTINO)
      return 0;
    int64 up = dir_lookup(dir, "..", NULL);
    if (up <= 0)
      return up < 0 ? up : -EIO;
    dir = up;
  }
  op_fail(-EIO); // a loop of ".." entries: the image is corrupt
  return op.status;
}

#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4

// renameat2's work inside an attempt. An existing target is replaced in
// its directory slot (a file by a file, a directory by a directory if the
// target is empty); a directory moved to another parent gets its ".."
// changed. Every change is one transaction, but freeing a replaced
// file's blocks may take several before it (see ishrink).
static int64 do_renameat(struct proc *p, int64 olddirfd, int64 newdirfd, int flags) {
  struct pathres ro, rn;
  int64 err = split_two(p, olddirfd, newdirfd, &ro, &rn);
  if (err < 0)
    return err;
  if (ro.too_long)
    return -ENOENT; // no name this long exists here
  if (rn.too_long)
    return -ENAMETOOLONG;
  if (!ro.name[0] || !rn.name[0] || is_dot_or_dotdot(ro.name) || is_dot_or_dotdot(rn.name))
    return -EBUSY;
  struct dirpos opos, npos;
  int64 oinum = path_final(&ro, &opos);
  if (oinum <= 0)
    return oinum < 0 ? oinum : -ENOENT;
  int64 ninum = path_final(&rn, &npos);
  if (ninum < 0)
    return ninum;
  if (ns_virtual(oinum) || ns_virtual(ninum))
    return ns_virtual(ro.parent) || ns_virtual(rn.parent) ? -EROFS : -EBUSY; // read-only, or a mount point
  if (ns_virtual(ro.parent) || ns_virtual(rn.parent))
    return ns_virtual(ro.parent) && ns_virtual(rn.parent) ? -EROFS : -EXDEV;
  if (ninum && (flags & RENAME_NOREPLACE))
    return -EEXIST;
  struct buf *obuf;
  struct dinode *oip = iget_used(oinum, &obuf);
  if (!oip)
    return op.status;
  int is_dir = oip->type == T_DIR;
  if (!is_dir && (ro.must_be_dir || rn.must_be_dir))
    return -ENOTDIR;
  if (ninum == oinum)
    return 0; // two names of one file: nothing happens
  int64 freeing = 0;
  if (ninum) {
    struct dinode *nip = iget_used(ninum, NULL);
    if (!nip)
      return op.status;
    if (is_dir && nip->type != T_DIR)
      return -ENOTDIR;
    if (!is_dir && nip->type == T_DIR)
      return -EISDIR;
    if (is_dir) {
      int64 empty = dir_is_empty(nip);
      if (empty <= 0)
        return empty < 0 ? empty : -ENOTEMPTY;
    }
    if ((freeing = frees_inode(nip, ninum)) < 0)
      return freeing;
  }
  int moves = ro.parent != rn.parent;
  if (is_dir && moves) {
    int64 inside = dir_within(rn.parent, oinum);
    if (inside)
      return inside < 0 ? inside : -EINVAL; // into itself
  }
  // The ".." entry of a directory that moves.
  int64 dotdot_block = 0;
  if (is_dir && moves) {
    dotdot_block = bmap(oip, 0);
    if (dotdot_block <= 0)
      return dotdot_block < 0 ? dotdot_block : -EIO;
    if (!bread(dotdot_block))
      return op.status;
  }
  struct buf *nbuf;
  struct dinode *ndp = iget_used(rn.parent, &nbuf);
  if (!ndp)
    return op.status;
  struct dir_add plan;
  int64 logged = 0;
  if (!ninum && (logged = dir_add_plan(ndp, &plan)) < 0)
    return logged;
  // The old entry's block, both parents' inodes, the moved inode, the
  // replaced one, the new entry's block, the ".." block.
  logged += 7;
  if (freeing && ishrink(ninum, 0, logged) < 0)
    return op.status;
  if (!log_room(logged))
    return op.status;

  if (ninum) {
    struct buf *b = bread_resident(npos.block);
    ((struct dirent *)b->data)[npos.index].inum = oinum;
    log_write(b);
    if (is_dir)
      process_cwd_removed(ninum, NS_REMOVED_DIR);
    drop_link(ninum, freeing);
    ndp = iget_resident(rn.parent, &nbuf);
    inode_touch(ndp, TOUCH_MTIME | TOUCH_CTIME);
    if (is_dir)
      ndp->nlink--; // the replaced directory's ".." is gone
    log_write(nbuf);
    mnode_changed(rn.parent);
  } else {
    dir_add(rn.parent, ndp, nbuf, &plan, rn.name, oinum);
  }
  if (is_dir && moves) {
    ndp = iget_resident(rn.parent, &nbuf);
    ndp->nlink++; // the moved directory's ".." now names it
    log_write(nbuf);
  }
  struct buf *ob = bread_resident(opos.block);
  memset((struct dirent *)ob->data + opos.index, 0, sizeof(struct dirent));
  log_write(ob);
  struct buf *pbuf;
  struct dinode *odp = iget_resident(ro.parent, &pbuf);
  inode_touch(odp, TOUCH_MTIME | TOUCH_CTIME);
  if (is_dir && moves)
    odp->nlink--;
  log_write(pbuf);
  mnode_changed(ro.parent);
  if (dotdot_block) {
    struct buf *b = bread_resident(dotdot_block);
    ((struct dirent *)b->data)[1].inum = rn.parent;
    log_write(b);
  }
  oip = iget_resident(oinum, &obuf);
  inode_touch(oip, TOUCH_CTIME);
  log_write(obuf);
  mnode_changed(oinum);
  return 0;
}

static int64 renameat(struct proc *p, int flags) {
  struct trapframe *tf = p->tf;
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
      ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
    return -EINVAL;
  if (flags & (RENAME_EXCHANGE | RENAME_WHITEOUT))
    return -EINVAL; // not supported (see README)
  int64 err = two_path_args(p, tf->a1, tf->a0, tf->a3, tf->a2, 0);
  if (err < 0)
    return err;
  op_begin(p, 0);
  return op_end(p, do_renameat(p, tf->a0, tf->a2, flags));
}

int64 sys_renameat2(struct proc *p, int hart) { return renameat(p, (int)p->tf->a4); }

// linkat's work inside an attempt: a new name for a file (old_inum, when
// the old path is empty and AT_EMPTY_PATH names an open file).
static int64 do_linkat(struct proc *p, int64 olddirfd, int64 newdirfd, int64 fd_inum) {
  struct pathres ro, rn;
  int64 oinum = fd_inum;
  int64 start, err;
  if (!oinum) {
    if ((start = start_dir_of(p, olddirfd, path)) < 0)
      return start;
    if ((err = path_parent(start, path, &ro)) < 0)
      return err;
    struct dirpos opos;
    oinum = path_final(&ro, &opos);
    if (oinum <= 0)
      return oinum < 0 ? oinum : -ENOENT;
  }
  if ((start = start_dir_of(p, newdirfd, path2)) < 0)
    return start;
  if ((err = path_parent(start, path2, &rn)) < 0)
    return err;
  if (rn.too_long)
    return -ENAMETOOLONG;
  if (!rn.name[0] || is_dot_or_dotdot(rn.name))
    return -EEXIST;
  struct dirpos npos;
  int64 ninum = path_final(&rn, &npos);
  if (ninum < 0)
    return ninum;
  if (ninum)
    return -EEXIST;
  if (ns_virtual(oinum))
    return ns_is_dir(oinum) ? -EPERM : -EXDEV;
  if (ns_virtual(rn.parent))
    return -EXDEV;
  struct buf *ibuf;
  struct dinode *ip = iget_used(oinum, &ibuf);
  if (!ip)
    return op.status;
  if (ip->type == T_DIR)
    return -EPERM;
  if (!fd_inum && ro.must_be_dir)
    return -ENOTDIR;
  if (ip->nlink == 0)
    return -ENOENT; // unlinked while open
  if (ip->nlink == 0xffff)
    return -EMLINK;
  struct buf *pbuf;
  struct dinode *dp = iget_used(rn.parent, &pbuf);
  if (!dp)
    return op.status;
  struct dir_add plan;
  int64 logged = dir_add_plan(dp, &plan);
  if (logged < 0)
    return logged;
  if (!log_room(logged + 1))
    return op.status;

  dir_add(rn.parent, dp, pbuf, &plan, rn.name, oinum);
  ip = iget_resident(oinum, &ibuf);
  ip->nlink++;
  inode_touch(ip, TOUCH_CTIME);
  log_write(ibuf);
  mnode_changed(oinum);
  return 0;
}

int64 sys_linkat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a4 & ~(uint64)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
    return -EINVAL;
  int64 err = two_path_args(p, tf->a1, tf->a0, tf->a3, tf->a2, (tf->a4 & AT_EMPTY_PATH) != 0);
  if (err < 0)
    return err;
  int64 fd_inum = 0;
  if (!path[0]) {
    // AT_EMPTY_PATH: the open file olddirfd.
    struct file *f = fd_file(p, (int)tf->a0);
    if (!f)
      return -EBADF;
    if (f->type != FT_INODE)
      return f->type == FT_VNODE && ns_is_dir(f->node) ? -EPERM : -EXDEV;
    fd_inum = f->m->inum;
  }
  op_begin(p, 0);
  return op_end(p, do_linkat(p, tf->a0, tf->a2, fd_inum));
}

// ---- The working directory and other lookups ----

// A program execve can run: its bytes in the initramfs (*elf, *size) and
// 0; or an errno; or, when the call must wait for the disk, ERESTART with
// *a0 what the call must return (op_end's value).
int64 fs_exec_lookup(struct proc *p, uint64 upath, const char **elf, uint64 *size, int64 *a0, uint64 *node_out) {
  int64 err = path_arg(p, upath, AT_FDCWD);
  if (strcmp(path, "/proc/self/exe") == 0 && ns_is_program(p->process->exe)) {
    // A program running itself again (busybox's applets, for one).
    *elf = ns_program(p->process->exe, size);
    *node_out = p->process->exe;
    return 0;
  }
  if (err < 0)
    return err;
  op_begin(p, 1);
  int64 node = resolve(p, AT_FDCWD);
  if (node == -ERESTART) {
    *a0 = op_end(p, node);
    return -ERESTART;
  }
  op_end(p, 0);
  if (node < 0)
    return node;
  *elf = ns_program(node, size);
  *node_out = node;
  // Files of the file system have no execute permission (mode 0644):
  // only the initramfs's programs run, as the README says.
  return *elf ? 0 : -EACCES;
}

static int64 do_chdir(struct proc *p) {
  int64 node = resolve(p, AT_FDCWD);
  if (node < 0)
    return node;
  int64 err = ns_check_dir(node);
  if (err < 0)
    return err;
  p->process->cwd = node;
  return 0;
}

int64 sys_chdir(struct proc *p, int hart) {
  int64 err = path_arg(p, p->tf->a0, AT_FDCWD);
  if (err < 0)
    return err;
  op_begin(p, 1);
  return op_end(p, do_chdir(p));
}

int64 sys_fchdir(struct proc *p, int hart) {
  struct file *f = fd_file(p, (int)p->tf->a0);
  if (!f)
    return -EBADF;
  if (f->type == FT_VNODE) {
    if (!ns_is_dir(f->node))
      return -ENOTDIR;
    p->process->cwd = f->node;
    return 0;
  }
  if (f->type != FT_INODE)
    return -ENOTDIR;
  op_begin(p, 1);
  int64 err = ns_check_dir(f->m->inum);
  if (err == 0)
    p->process->cwd = f->m->inum;
  return op_end(p, err);
}

static int64 do_getcwd(struct proc *p, uint64 ubuf, uint64 size) {
  static char buf[FS_PATH];
  int64 len = ns_path_of(p->process->cwd, buf, size < sizeof buf ? size : sizeof buf);
  if (len < 0)
    return len == -ERANGE && size >= sizeof buf ? -ENAMETOOLONG : len;
  return copy_out(p->pagetable, ubuf, buf, len) < 0 ? -EFAULT : len;
}

int64 sys_getcwd(struct proc *p, int hart) {
  op_begin(p, 1);
  return op_end(p, do_getcwd(p, p->tf->a0, p->tf->a1));
}

#define X_OK 1
#define W_OK 2
#define AT_EACCESS 0x200
#define AT_SYMLINK_NOFOLLOW 0x100

// faccessat2(dirfd, path, mode, flags). Every process is root, so only
// execute permission (which the file system's files lack) and read-only
// places can refuse.
static int64 do_access(struct proc *p, int64 dirfd, uint64 mode) {
  int64 node = resolve(p, dirfd);
  if (node < 0)
    return node;
  int dir = ns_virtual(node) ? ns_is_dir(node) : 0;
  int program = ns_virtual(node) && ns_is_program(node);
  if (!ns_virtual(node)) {
    struct dinode *ip = iget_used(node, NULL);
    if (!ip)
      return op.status;
    dir = ip->type == T_DIR;
  }
  if ((mode & X_OK) && !dir && !program)
    return -EACCES;
  if ((mode & W_OK) && ns_virtual(node) && !ns_writable(node))
    return -EROFS; // /bin, /dev and the programs

  return 0;
}

static int64 access_call(struct proc *p, uint64 flags) {
  struct trapframe *tf = p->tf;
  if ((tf->a2 & ~7UL) || (flags & ~(uint64)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
    return -EINVAL;
  int64 err = path_arg(p, tf->a1, tf->a0);
  if (err < 0)
    return err;
  op_begin(p, 1);
  return op_end(p, do_access(p, tf->a0, tf->a2));
}

int64 sys_faccessat(struct proc *p, int hart) { return access_call(p, 0); }
int64 sys_faccessat2(struct proc *p, int hart) { return access_call(p, p->tf->a3); }

// truncate(path, length).
static int64 do_truncate_path(struct proc *p, uint64 len) {
  int64 node = resolve(p, AT_FDCWD);
  if (node < 0)
    return node;
  if (ns_virtual(node))
    return ns_is_dir(node) ? -EISDIR : ns_writable(node) ? -EINVAL : -EROFS;
  return fs_truncate(node, len);
}

int64 sys_truncate(struct proc *p, int hart) {
  if ((int64)p->tf->a1 < 0)
    return -EINVAL;
  int64 err = path_arg(p, p->tf->a0, AT_FDCWD);
  if (err < 0)
    return err;
  op_begin(p, 0);
  return op_end(p, do_truncate_path(p, p->tf->a1));
}

// readlinkat: nothing is a symbolic link, so a name that exists gives EINVAL.
// readlinkat: there are no symbolic links, but for /proc/self/exe (the
// only name under /proc), which gives the program's path in /bin. glibc's
// start-up reads it and keeps a copy on the heap, so a program's heap
// addresses match qemu-riscv64's (whose answer is the host's path) when
// both copies take the same space: for host paths of up to 24 bytes.
int64 sys_readlinkat(struct proc *p, int hart) {
  int64 err = path_arg(p, p->tf->a1, p->tf->a0);
  if (err < 0 && strcmp(path, "/proc/self/exe") != 0)
    return err;
  static char exe[EXE_PATH];
  if (strcmp(path, "/proc/self/exe") == 0 && (ns_program_path(p->process->exe, exe, sizeof exe), exe[0])) {
    if ((int64)p->tf->a3 <= 0)
      return -EINVAL;
    uint64 n = strlen(exe);
    n = n < p->tf->a3 ? n : p->tf->a3;
    return copy_out(p->pagetable, p->tf->a2, exe, n) < 0 ? -EFAULT : (int64)n;
  }
  if (err < 0)
    return err;
  op_begin(p, 1);
  int64 node = resolve(p, p->tf->a0);
  return op_end(p, node < 0 ? node : -EINVAL);
}
