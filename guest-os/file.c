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

#define AT_FDCWD (-100)
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define S_IFDIR 0040000
#define S_IFREG 0100000

#define DT_DIR 4
#define DT_REG 8

static struct mnode mnodes[NMNODE];
static char path[FS_PATH]; // the path of the call in progress (only hart 0 runs calls)
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
      return m;
    }
  panic("mnode_get: no free mnode");
}

// An open file of the inode is closed for the last time.
void mnode_put(struct mnode *m) { m->refs--; }

// An inode changed in the open transaction: fsync on it must wait for that.
void mnode_changed(uint32 inum) {
  struct mnode *m = mnode_find(inum);
  if (m)
    m->dirty_seq = log_open_seq();
}

// ---- User memory ----

// Copies a path from user memory: 0, -EFAULT or -ENAMETOOLONG.
static int64 fetch_path(struct proc *p, uint64 va) {
  for (uint64 i = 0; i < FS_PATH; i++) {
    uint64 pa = uvm_translate(p->pagetable, va + i, PTE_R);
    if (!pa)
      return -EFAULT;
    path[i] = *(char *)pa;
    if (!path[i])
      return 0;
  }
  return -ENAMETOOLONG;
}

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

// The directory a relative path starts from: "/" for AT_FDCWD (every
// process's working directory is the root), else an open directory.
static int64 start_dir(struct proc *p, int64 dirfd) {
  if (path[0] == '/' || (int)dirfd == AT_FDCWD)
    return ROOTINO;
  struct file *f = fd_file(p, (int)dirfd);
  if (!f)
    return -EBADF;
  if (f->type != FT_INODE)
    return -ENOTDIR;
  return f->m->inum; // path_parent checks that it is a directory
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
  int need_indirect = 0;
  for (uint32 i = 0; i < nfb && !ip->indirect; i++)
    if (!blk[i] && first + i >= NDIRECT)
      need_indirect = 1;
  uint32 alloc[MAXOPDATA + 1];
  int nalloc = 0;
  if (holes) {
    int got = balloc_plan(holes + need_indirect, alloc);
    if (got < 0)
      return got;
    if (got < holes + need_indirect) {
      // The disk is nearly full: write as far as the free blocks go.
      int avail = got - need_indirect;
      uint32 i = 0;
      for (int used = 0; i < nfb; i++)
        if (!blk[i] && used++ == avail)
          break;
      if (i == 0 || avail < 0)
        return -ENOSPC;
      nfb = i;
      end = (first + nfb) * BSIZE;
      holes = avail;
      if (need_indirect && first + nfb <= NDIRECT)
        need_indirect = 0;
      got = holes + need_indirect;
    }
    nalloc = got;
    for (int k = 0; k < nalloc; k++)
      if (!bget_whole(alloc[k]))
        return op.status;
  }
  // The blocks this write logs: data, the inode, the indirect block, bitmap blocks.
  int indirect_touched = need_indirect;
  for (uint32 i = 0; i < nfb; i++)
    if (!blk[i] && first + i >= NDIRECT)
      indirect_touched = 1;
  int bitmaps = 0;
  for (int k = 0; k < nalloc; k++)
    if (k == 0 || alloc[k] / BPB != alloc[k - 1] / BPB)
      bitmaps++;
  if (!log_room(nfb + 1 + indirect_touched + bitmaps))
    return op.status;

  // Phase two: everything is resident; nothing can fail.
  int k = 0;
  if (need_indirect) {
    struct buf *nb = bread_resident_new(alloc[k]);
    bmark(alloc[k++], 1);
    ip->indirect = nb->blockno;
    log_write(nb);
  }
  for (uint32 i = 0; i < nfb; i++) {
    uint64 bs = (first + i) * BSIZE;
    uint64 lo = off > bs ? off : bs, hi = end < bs + BSIZE ? end : bs + BSIZE;
    struct buf *b;
    if (!blk[i]) {
      b = bread_resident_new(alloc[k]);
      bmark(alloc[k++], 1);
      bmap_set(ip, first + i, b->blockno);
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
  log_write(ibuf);
  f->m->dirty_seq = log_open_seq();
  f->off = end;
  return end - off;
}

// ---- Opening, closing, duplicating ----

// Phase one and two of creating `name` in directory r->parent.
static int64 create(struct pathres *r, int type) {
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
  struct dinode *ip = ialloc_take(inum, type, &ibuf);
  if (type == T_DIR) {
    struct buf *db = bread_resident_new(data);
    bmark(data, 1);
    struct dirent *de = (struct dirent *)db->data;
    de[0].inum = inum;
    de[0].name[0] = '.';
    de[1].inum = r->parent;
    de[1].name[0] = de[1].name[1] = '.';
    log_write(db);
    ip->addrs[0] = data;
    ip->size = 2 * DIRENT_SIZE;
  }
  dir_add(r->parent, dp, pbuf, &plan, r->name, inum);
  return inum;
}

static int64 do_openat(struct proc *p, int64 dirfd, int flags) {
  int acc = flags & O_ACCMODE;
  if (acc == 3)
    return -EINVAL;
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
  int changed = 0;
  if (inum == 0) {
    if (!(flags & O_CREAT))
      return -ENOENT;
    if (r.must_be_dir)
      return -EISDIR;
    if (!mnode_available(0))
      return -ENFILE;
    inum = create(&r, T_FILE);
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
    if ((flags & O_TRUNC) && ip->type == T_FILE && (ip->size || ip->addrs[0] || ip->indirect)) {
      int64 logged = itrunc_plan(ip);
      if (logged < 0)
        return logged;
      if (!log_room(logged))
        return op.status;
      itrunc(ip, ibuf);
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
  int64 err = fetch_path(p, tf->a1);
  if (err < 0)
    return err;
  if (!fs_mounted)
    return -ENOENT;
  op_begin(p, !(tf->a2 & (O_CREAT | O_TRUNC)));
  return op_end(p, do_openat(p, tf->a0, tf->a2));
}

// ---- Information ----

static int64 stat_inode(struct proc *p, uint32 inum, uint64 ubuf) {
  struct dinode *ip = iget_used(inum, NULL);
  if (!ip)
    return op.status;
  uint64 blocks = 0;
  for (int i = 0; i < NDIRECT; i++)
    blocks += ip->addrs[i] != 0;
  if (ip->indirect) {
    int64 b = bmap(ip, NDIRECT); // makes the indirect block resident (and checks it)
    if (b < 0)
      return b;
    struct buf *ib = bread_resident(ip->indirect);
    blocks++;
    for (int i = 0; i < NINDIRECT; i++)
      blocks += ((uint32 *)ib->data)[i] != 0;
  }
  struct kstat st;
  memset(&st, 0, sizeof st);
  st.dev = 0x800; // as a first disk would be (8:0)
  st.ino = inum;
  st.mode = ip->type == T_DIR ? S_IFDIR | 0755 : S_IFREG | 0644;
  st.nlink = ip->nlink;
  st.size = ip->size;
  st.blksize = BSIZE;
  st.blocks = blocks * (BSIZE / 512);
  return copy_out(p->pagetable, ubuf, &st, sizeof st) < 0 ? -EFAULT : 0;
}

// fstat(2) of an open inode.
int64 inode_fstat(struct proc *p, struct file *f, uint64 ubuf) {
  op_begin(p, 1);
  return op_end(p, stat_inode(p, f->m->inum, ubuf));
}

static int64 do_stat_path(struct proc *p, int64 dirfd, uint64 ubuf) {
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
  struct dirpos pos;
  int64 inum = path_final(&r, &pos);
  if (inum <= 0)
    return inum < 0 ? inum : -ENOENT;
  if (r.must_be_dir) {
    struct dinode *ip = iget_used(inum, NULL);
    if (!ip)
      return op.status;
    if (ip->type != T_DIR)
      return -ENOTDIR;
  }
  return stat_inode(p, inum, ubuf);
}

// newfstatat(2) with a path.
int64 fs_newfstatat(struct proc *p) {
  struct trapframe *tf = p->tf;
  int64 err = fetch_path(p, tf->a1);
  if (err < 0)
    return err;
  if (!fs_mounted)
    return -ENOENT;
  op_begin(p, 1);
  return op_end(p, do_stat_path(p, tf->a0, tf->a2));
}

static int64 do_lseek(struct file *f, int64 off, int whence) {
  int64 base;
  if (whence == SEEK_SET) {
    base = 0;
  } else if (whence == SEEK_CUR) {
    base = f->off;
  } else if (whence == SEEK_END) {
    struct dinode *ip = iget_used(f->m->inum, NULL);
    if (!ip)
      return op.status;
    base = ip->size;
  } else {
    return -EINVAL;
  }
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
  if (!r.name[0])
    return -EEXIST;
  struct dirpos pos;
  int64 inum = path_final(&r, &pos);
  if (inum < 0)
    return inum;
  if (inum > 0)
    return -EEXIST;
  inum = create(&r, T_DIR);
  return inum < 0 ? inum : 0;
}

int64 sys_mkdirat(struct proc *p, int hart) {
  int64 err = fetch_path(p, p->tf->a1);
  if (err < 0)
    return err;
  if (!fs_mounted)
    return -ENOENT;
  op_begin(p, 0);
  return op_end(p, do_mkdirat(p, p->tf->a0));
}

static int64 do_unlinkat(struct proc *p, int64 dirfd, int rmdir) {
  int64 start = start_dir(p, dirfd);
  if (start < 0)
    return start;
  struct pathres r;
  int64 err = path_parent(start, path, &r);
  if (err < 0)
    return err;
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
  struct buf *ibuf;
  struct dinode *ip = iget_used(inum, &ibuf);
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
  if (mnode_find(inum))
    return -EBUSY; // open somewhere: see README (no orphan inodes on disk)
  int freeing = ip->nlink <= 1;
  int64 logged = 2; // the directory block and the inode
  if (freeing) {
    logged = itrunc_plan(ip);
    if (logged < 0)
      return logged;
    logged++;
  }
  if (!log_room(logged))
    return op.status;

  struct buf *db = bread_resident(pos.block);
  memset((struct dirent *)db->data + pos.index, 0, sizeof(struct dirent));
  log_write(db);
  if (freeing) {
    ifree(inum, ip, ibuf);
  } else {
    ip->nlink--;
    log_write(ibuf);
  }
  mnode_changed(r.parent);
  return 0;
}

int64 sys_unlinkat(struct proc *p, int hart) {
  struct trapframe *tf = p->tf;
  if (tf->a2 & ~(uint64)AT_REMOVEDIR)
    return -EINVAL;
  int64 err = fetch_path(p, tf->a1);
  if (err < 0)
    return err;
  if (!fs_mounted)
    return -ENOENT;
  op_begin(p, 0);
  return op_end(p, do_unlinkat(p, tf->a0, (tf->a2 & AT_REMOVEDIR) != 0));
}
