// The file system's on-disk objects (docs/fs-format.md): the superblock
// and mounting, inodes, the block bitmap, directories and path names.
//
// Everything here runs inside a restartable attempt (bio.c): functions
// that need a block call bread and, when it is not resident (or the image
// is corrupt), return op.status (-ERESTART or -EIO), or NULL with it set;
// their callers pass that on without changing anything. "AGAIN" below
// means that: a negative result that is op.status. Changes happen
// only in a call's second phase, once everything is resident: then
// bread_resident cannot fail and every changed buffer goes to log_write.
//
// Whatever the disk says is checked before it is used: a block number
// outside the data region, an inode number past the table, an inode of an
// unknown type, a directory entry naming a free inode, a size past the
// largest file: each makes the call fail with -EIO. A bad superblock or
// log header stops the kernel at boot with a message (fs_fatal).
#include "defs.h"
#include "fs.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"

struct superblock sb;
int fs_mounted;
static uint32 bmap_hint;  // no data block below it is free
static uint32 inode_hint; // no inode below it is free
static uint64 free_blocks, free_inodes; // counted at mount, kept up to date since (statfs)

static int data_block_ok(uint64 b) { return b >= sb.datastart && b < sb.size; }

// ---- Checking the bitmap at mount ----

// A synchronous read at boot into `page`; stops the kernel on an error.
static void boot_read(uint32 blockno, uint8 *page) {
  struct blk_req r;
  r.blockno = blockno;
  r.write = 0;
  r.data = page;
  if (blk_wait(&r) < 0)
    fs_fatal("cannot read block %d", (int)blockno);
}

// The bitmap block last read by bitmap_says_used (boot only).
static struct {
  uint8 *page;
  uint32 blockno; // 0: none yet
} boot_bitmap;

static int bitmap_says_used(uint32 b) {
  uint32 bmb = sb.bmapstart + b / BPB;
  if (boot_bitmap.blockno != bmb) {
    boot_read(bmb, boot_bitmap.page);
    boot_bitmap.blockno = bmb;
  }
  return (boot_bitmap.page[(b % BPB) / 8] >> (b % 8)) & 1;
}

// Stops the kernel if inode `inum` uses block b while the bitmap says it is
// free: allocating would hand it out again and overwrite what it holds.
// Block numbers outside the data region are left to the calls that use
// them (they fail with -EIO).
static void bitmap_verify_block(uint32 inum, uint32 b) {
  if (b && data_block_ok(b) && !bitmap_says_used(b))
    fs_fatal("the block bitmap marks block %d free, but inode %d uses it (the image is corrupt: `rvmsmp fs check IMG` "
             "lists the damage; remake it with `rvmsmp mkfs`)",
             (int)b, (int)inum);
}

// Boot: the data blocks the bitmap marks free (page: scratch).
static uint64 count_free_blocks(uint8 *page) {
  uint64 used = 0;
  for (uint32 k = 0; k < (sb.size + BPB - 1) / BPB; k++) {
    boot_read(sb.bmapstart + k, page);
    for (uint64 *w = (uint64 *)page; w < (uint64 *)(page + BSIZE); w++) {
      if (*w == ~0ULL) {
        used += 64;
        continue;
      }
      for (uint64 x = *w; x; x &= x - 1) // one bit per round
        used++;
    }
  }
  return sb.size - used; // the metadata blocks are marked, the bits past size are 0
}

// Boot: index block b of inode inum and, through `levels` levels of
// index blocks, every block it names (page: room for one level's block).
static void bitmap_verify_index(uint32 inum, uint32 b, int levels, uint8 *page, uint8 *next_page) {
  bitmap_verify_block(inum, b);
  if (!b || !data_block_ok(b))
    return;
  boot_read(b, page);
  for (int i = 0; i < NINDIRECT; i++) {
    uint32 e = ((uint32 *)page)[i];
    if (levels == 1)
      bitmap_verify_block(inum, e);
    else if (e)
      bitmap_verify_index(inum, e, 1, next_page, NULL);
  }
}

// Boot: every block an inode in use names (its indirect block and what
// that lists included) must be marked used in the bitmap, so that no
// allocation can take a block a structure still uses (a corrupt bitmap
// is refused, not trusted). Reads the inode table once.
static void bitmap_verify(void) {
  free_blocks = free_inodes = 0;
  uint8 *itab = kalloc(), *ind = kalloc(), *l2 = kalloc();
  boot_bitmap.page = kalloc();
  boot_bitmap.blockno = 0;
  if (!itab || !ind || !l2 || !boot_bitmap.page)
    panic("fs_mount: out of memory");
  for (uint32 ib = 0; ib < sb.ninodes / IPB; ib++) {
    boot_read(sb.inodestart + ib, itab);
    struct dinode *ip = (struct dinode *)itab;
    for (uint32 k = 0; k < IPB; k++, ip++) {
      uint32 inum = ib * IPB + k;
      free_inodes += ip->type == T_FREE && inum != 0;
      if (ip->type == T_FILE && ip->nlink == 0)
        orphan_queue(inum); // unlinked while open when the last run stopped
      if (ip->type == T_FREE || ip->type > T_FILE)
        continue;
      for (int i = 0; i < NDIRECT; i++)
        bitmap_verify_block(inum, ip->addrs[i]);
      bitmap_verify_index(inum, ip->indirect, 1, ind, l2);
      bitmap_verify_index(inum, ip->dindirect, 2, ind, l2);
    }
  }
  free_blocks = count_free_blocks(itab);
  kfree(itab);
  kfree(ind);
  kfree(l2);
  kfree(boot_bitmap.page);
}

// ---- Mounting ----

// Why the superblock cannot be used, or NULL.
static const char *check_superblock(const struct superblock *s, uint64 disk_blocks) {
  if (s->magic != FS_MAGIC)
    return "wrong magic number (not an rvmsmp file system)";
  if (s->version != FS_VERSION)
    return "this kernel reads version 2 (remake the image with `rvmsmp mkfs`)";
  if (s->size > disk_blocks)
    return "the file system is larger than the disk";
  if (s->ninodes == 0 || s->ninodes % IPB)
    return "the inode count is not a positive multiple of 32";
  if (s->nlog < 1 + LOGMIN)
    return "the log is too small for this kernel";
  uint64 start[4] = {s->logstart, s->inodestart, s->bmapstart, s->datastart};
  uint64 end[4] = {(uint64)s->logstart + s->nlog, (uint64)s->inodestart + s->ninodes / IPB,
                   (uint64)s->bmapstart + (s->size + BPB - 1) / BPB, s->size};
  // The log, the inodes, the bitmap and the data, in this order.
  for (int i = 0; i < 4; i++) {
    if (start[i] < 2 || start[i] >= end[i] || end[i] > s->size)
      return "a region lies outside the file system";
    if (i > 0 && start[i] < end[i - 1])
      return "the regions overlap or are out of order";
  }
  if (s->nblocks != s->size - s->datastart)
    return "the data block count does not match the layout";
  return NULL;
}

// Boot: reads and checks the superblock, installs a committed log, checks
// the root directory. Synchronous; stops the kernel if the disk is unusable.
void fs_mount(void) {
  uint8 *page = kalloc();
  if (!page)
    panic("fs_mount: out of memory");
  struct blk_req r;
  r.blockno = 1;
  r.write = 0;
  r.data = page;
  if (disk_capacity_blocks() < 2 || blk_wait(&r) < 0)
    fs_fatal("cannot read the superblock");
  memcpy(&sb, page, sizeof sb);
  const char *why = check_superblock(&sb, disk_capacity_blocks());
  if (why)
    fs_fatal("bad superblock: %s", why);
  log_recover(&sb, page);
  r.blockno = sb.inodestart + ROOTINO / IPB;
  r.write = 0;
  if (blk_wait(&r) < 0)
    fs_fatal("cannot read the root directory's inode");
  struct dinode *root = (struct dinode *)page + ROOTINO % IPB;
  if (root->type != T_DIR)
    fs_fatal("the root directory (inode 1) is not a directory");
  kfree(page);
  bitmap_verify();
  log_init(&sb);
  bio_init();
  if (bio_reserve() < 0)
    fs_fatal("not enough memory for the buffer cache (%d KiB; give the machine more --mem)", (NBUF + LOGMAX) * 4);
  bmap_hint = sb.datastart;
  inode_hint = ROOTINO + 1;
  fs_mounted = 1;
}

// What statfs reports: the free data blocks and inodes.
void fs_free_counts(uint64 *blocks, uint64 *inodes) {
  *blocks = free_blocks;
  *inodes = free_inodes;
}

// ---- Inodes ----

// Inode `inum` in its resident block (type checked); NULL to wait or on
// corruption. *bp gets the buffer when bp is not NULL.
struct dinode *iget(uint32 inum, struct buf **bp) {
  if (inum == 0 || inum >= sb.ninodes) {
    op_fail(-EIO);
    return NULL;
  }
  struct buf *b = bread(sb.inodestart + inum / IPB);
  if (!b)
    return NULL;
  struct dinode *ip = (struct dinode *)b->data + inum % IPB;
  if (ip->type > T_FILE || (ip->type != T_FREE && ip->size > MAXFILESIZE)) {
    op_fail(-EIO);
    return NULL;
  }
  if (bp)
    *bp = b;
  return ip;
}

// The same, for an inode a directory entry or an open file names: it
// must be in use.
struct dinode *iget_used(uint32 inum, struct buf **bp) {
  struct dinode *ip = iget(inum, bp);
  if (ip && ip->type == T_FREE) {
    op_fail(-EIO);
    return NULL;
  }
  return ip;
}

// Phase two: inode `inum`, which the attempt has already read.
struct dinode *iget_resident(uint32 inum, struct buf **bp) {
  struct buf *b = bread_resident(sb.inodestart + inum / IPB);
  *bp = b;
  return (struct dinode *)b->data + inum % IPB;
}

// ---- Mapping file blocks ----

// Where the number of file block fb's disk block is kept: in the inode
// (level 0, addrs[i2]), in the indirect block (level 1, entry i2), or in
// second-level block i1 of the double-indirect block (level 2, entry i2).
struct bpath {
  int level;
  uint32 i1, i2;
  uint32 base; // the first file block mapped where fb's entry is
};

static void bpath_of(uint32 fb, struct bpath *p) {
  p->i1 = 0;
  if (fb < NDIRECT) {
    p->level = 0;
    p->i2 = fb;
    p->base = 0;
  } else if (fb < DIND_FIRST) {
    p->level = 1;
    p->i2 = fb - NDIRECT;
    p->base = NDIRECT;
  } else {
    p->level = 2;
    p->i1 = (fb - DIND_FIRST) / NINDIRECT;
    p->i2 = (fb - DIND_FIRST) % NINDIRECT;
    p->base = DIND_FIRST + p->i1 * NINDIRECT;
  }
}

// Entry i of index block b (0 when b is 0), checked to be in the data
// region; or AGAIN.
static int64 index_entry(uint32 b, uint32 i) {
  if (!b)
    return 0;
  if (!data_block_ok(b)) {
    op_fail(-EIO);
    return op.status;
  }
  struct buf *ib = bread(b);
  if (!ib)
    return op.status;
  uint32 e = ((uint32 *)ib->data)[i];
  if (e && !data_block_ok(e)) {
    op_fail(-EIO);
    return op.status;
  }
  return e;
}

// The index block holding the entry of a level-1 or level-2 path (0: not
// there yet), resident; or AGAIN.
static int64 leaf_of(struct dinode *ip, const struct bpath *p) {
  uint32 leaf = p->level == 1 ? ip->indirect : 0;
  if (p->level == 2) {
    int64 e = index_entry(ip->dindirect, p->i1);
    if (e <= 0)
      return e;
    leaf = e;
  }
  if (leaf && !data_block_ok(leaf)) {
    op_fail(-EIO);
    return op.status;
  }
  if (leaf && !bread(leaf))
    return op.status;
  return leaf;
}

// The disk block holding block `fb` of the file, 0 for a hole, or AGAIN.
int64 bmap(struct dinode *ip, uint32 fb) {
  if (fb >= MAXFILEBLOCKS)
    return 0;
  struct bpath p;
  bpath_of(fb, &p);
  if (p.level == 0) {
    uint32 b = ip->addrs[fb];
    if (b && !data_block_ok(b)) {
      op_fail(-EIO);
      return op.status;
    }
    return b;
  }
  int64 leaf = leaf_of(ip, &p);
  if (leaf <= 0)
    return leaf;
  return index_entry(leaf, p.i2);
}

void map_plan_init(struct map_plan *m) {
  memset(m, 0, sizeof *m);
  m->last_l2 = -1;
}

// Phase one of mapping file block fb, a hole, to a new block; call it for
// each such block in increasing order. Counts in *m the index blocks that
// must be made (m->nnew) and the index blocks the change logs
// (m->ntouched, an upper bound), making the existing ones resident.
// Returns 0 or AGAIN.
int64 map_plan_add(struct dinode *ip, uint32 fb, struct map_plan *m) {
  struct bpath p;
  bpath_of(fb, &p);
  if (p.level == 1 && !m->seen_indirect) {
    m->seen_indirect = 1;
    m->ntouched++;
    m->nnew += ip->indirect == 0;
  }
  if (p.level == 2) {
    if (!m->seen_dindirect) {
      m->seen_dindirect = 1;
      m->ntouched++;
      m->nnew += ip->dindirect == 0;
    }
    if (m->last_l2 != (int64)p.i1) {
      m->last_l2 = p.i1;
      m->ntouched++;
      int64 leaf = leaf_of(ip, &p);
      if (leaf < 0)
        return leaf;
      m->nnew += leaf == 0;
    }
  }
  return 0;
}

// Phase two: a new index block from src, zeroed, marked used and counted.
static uint32 new_index_block(struct dinode *ip, struct block_source *src) {
  uint32 nb = src->blocks[src->next++];
  struct buf *b = bread_resident_new(nb);
  bmark(nb, 1);
  ip->nblocks++;
  log_write(b);
  return nb;
}

// Phase two: maps file block fb (a hole) to block b, which becomes used;
// the index blocks its path lacks come from src, as map_plan_add counted
// them. The caller logs the inode.
void map_install(struct dinode *ip, uint32 fb, uint32 b, struct block_source *src) {
  bmark(b, 1);
  ip->nblocks++;
  struct bpath p;
  bpath_of(fb, &p);
  if (p.level == 0) {
    ip->addrs[fb] = b;
    return;
  }
  uint32 leaf;
  if (p.level == 1) {
    if (!ip->indirect)
      ip->indirect = new_index_block(ip, src);
    leaf = ip->indirect;
  } else {
    if (!ip->dindirect)
      ip->dindirect = new_index_block(ip, src);
    struct buf *d = bread_resident(ip->dindirect);
    uint32 *entries = (uint32 *)d->data;
    if (!entries[p.i1]) {
      entries[p.i1] = new_index_block(ip, src);
      log_write(d);
    }
    leaf = entries[p.i1];
  }
  struct buf *lb = bread_resident(leaf);
  ((uint32 *)lb->data)[p.i2] = b;
  log_write(lb);
}

// The simulated wall clock (what clock_gettime(CLOCK_REALTIME) reads).
struct fstime fs_now(void) {
  uint64 t = r_time();
  return (struct fstime){(int64)(t / TICKS_PER_SECOND), (uint32)(t % TICKS_PER_SECOND * NS_PER_TICK)};
}

// Sets the inode's chosen times to now; the caller logs its block.
void inode_touch(struct dinode *ip, int which) {
  struct fstime now = fs_now();
  if (which & TOUCH_ATIME) {
    ip->atime_sec = now.sec;
    ip->atime_nsec = now.nsec;
  }
  if (which & TOUCH_MTIME) {
    ip->mtime_sec = now.sec;
    ip->mtime_nsec = now.nsec;
  }
  if (which & TOUCH_CTIME) {
    ip->ctime_sec = now.sec;
    ip->ctime_nsec = now.nsec;
  }
}

// Finds a free inode: its number, -ENOSPC, or AGAIN.
int64 ialloc_plan(void) {
  for (uint32 inum = inode_hint; inum < sb.ninodes; inum++) {
    struct buf *b = bread(sb.inodestart + inum / IPB);
    if (!b)
      return op.status;
    struct dinode *ip = (struct dinode *)b->data + inum % IPB;
    for (;; ip++, inum++) {
      if (ip->type == T_FREE)
        return inum;
      if ((inum + 1) % IPB == 0 || inum + 1 >= sb.ninodes)
        break;
    }
  }
  return -ENOSPC;
}

// Phase two: makes inode `inum` (from ialloc_plan) a new empty one.
struct dinode *ialloc_take(uint32 inum, int type, int mode, struct buf **bp) {
  struct dinode *ip = iget_resident(inum, bp);
  memset(ip, 0, sizeof *ip);
  ip->type = type;
  ip->nlink = 1;
  ip->mode = mode & 07777;
  inode_touch(ip, TOUCH_ATIME | TOUCH_MTIME | TOUCH_CTIME);
  log_write(*bp);
  inode_hint = inum + 1;
  free_inodes--;
  return ip;
}

// ---- The block bitmap ----

// Finds up to `want` free data blocks at or after the hint, in
// increasing order, skipping those this attempt has already planned to
// take; their bitmap blocks become resident.
// Returns how many were found (fewer when the disk is full), or AGAIN.
int balloc_plan(int want, uint32 *out) {
  int n = 0;
  for (uint64 b = bmap_hint; b < sb.size && n < want;) {
    struct buf *bm = bread(sb.bmapstart + b / BPB);
    if (!bm)
      return op.status;
    uint64 block_end = (b / BPB + 1) * BPB;
    for (; b < block_end && b < sb.size && n < want; b++) {
      uint8 byte = bm->data[(b % BPB) / 8];
      if (byte == 0xff && b % 8 == 0) {
        b += 7;
        continue;
      }
      if (!(byte & (1 << (b % 8))) && !op_planned(b))
        out[n++] = b;
    }
  }
  for (int i = 0; i < n; i++)
    op_plan(out[i]);
  return n;
}

// Phase two: marks block b used (1) or free (0).
void bmark(uint32 b, int used) {
  struct buf *bm = bread_resident(sb.bmapstart + b / BPB);
  uint8 bit = 1 << (b % 8);
  free_blocks += used ? -(uint64)!(bm->data[(b % BPB) / 8] & bit) : !!(bm->data[(b % BPB) / 8] & bit);
  if (used) {
    bm->data[(b % BPB) / 8] |= bit;
    if (b >= bmap_hint)
      bmap_hint = b + 1;
  } else {
    bm->data[(b % BPB) / 8] &= ~bit;
    if (b < bmap_hint)
      bmap_hint = b;
  }
  log_write(bm);
}

// The bitmap block of b, resident, and whether b is marked used (for
// freeing: a block an inode names must be marked): 0, or AGAIN.
int bitmap_check_used(uint32 b) {
  struct buf *bm = bread(sb.bmapstart + b / BPB);
  if (!bm)
    return op.status;
  if (!(bm->data[(b % BPB) / 8] & (1 << (b % 8)))) {
    op_fail(-EIO);
    return op.status;
  }
  return 0;
}

// ---- Truncating ----

// The most bitmap blocks one step of freeing changes: two are kept for the
// index blocks the step may free.
#define SHRINK_BITMAPS 16

// Whether bitmap block `bm` is among the n in seen[]; if not and there is
// room, adds it and makes it resident, checking that b is marked used.
// Returns 1 (known or added), 0 (no room), or AGAIN.
static int64 note_bitmap(uint32 b, uint32 *seen, int *n, int room) {
  uint32 bm = b / BPB;
  for (int i = 0; i < *n; i++)
    if (seen[i] == bm)
      return 1;
  if (*n >= room)
    return 0;
  if (bitmap_check_used(b) < 0)
    return op.status;
  seen[(*n)++] = bm;
  return 1;
}

// One step of freeing the blocks of inode `inum` from file block `from`
// on: frees the last ones (at most those one index block maps, touching at
// most SHRINK_BITMAPS bitmap blocks) and the index blocks left empty, and
// brings the size down to where the freed blocks began, so that the file
// system is consistent after every step. Leaves log room for `extra` more
// blocks. Sets *done once no block from `from` on is left (the step may
// then have changed nothing). Returns 0 or AGAIN.
static int64 shrink_step(uint32 inum, uint32 from, int extra, int *done) {
  struct buf *ibuf;
  struct dinode *ip = iget_used(inum, &ibuf);
  if (!ip)
    return op.status;
  uint32 end = (ip->size + BSIZE - 1) / BSIZE; // no block at or past it is mapped
  *done = end <= from;
  if (*done)
    return 0;
  uint32 top = end - 1;
  struct bpath p;
  bpath_of(top, &p);
  uint32 lo_min = from > p.base ? from : p.base;
  int64 leaf = 0;
  if (p.level > 0) {
    leaf = leaf_of(ip, &p);
    if (leaf < 0)
      return leaf;
  }
  uint32 *entries = p.level == 0 ? ip->addrs : leaf ? (uint32 *)bread_resident(leaf)->data : NULL;
  uint32 seen[SHRINK_BITMAPS];
  int nseen = 0;
  uint32 lo = top + 1; // the step frees file blocks lo .. top
  while (lo > lo_min) {
    uint32 b = entries ? entries[lo - 1 - p.base] : 0;
    if (b) {
      if (!data_block_ok(b)) {
        op_fail(-EIO);
        return op.status;
      }
      int64 r = note_bitmap(b, seen, &nseen, SHRINK_BITMAPS - 2);
      if (r < 0)
        return r;
      if (r == 0)
        break;
    }
    lo--;
  }
  int frees_leaf = leaf && lo == p.base;
  int frees_dindirect = p.level == 2 && p.i1 == 0 && lo == p.base && ip->dindirect;
  if (frees_leaf && note_bitmap(leaf, seen, &nseen, SHRINK_BITMAPS) < 0)
    return op.status;
  if (frees_dindirect && note_bitmap(ip->dindirect, seen, &nseen, SHRINK_BITMAPS) < 0)
    return op.status;
  // The inode, the bitmap blocks, the index block that stays or the one
  // that points to a freed one.
  if (!log_room(1 + nseen + (p.level > 0) + extra))
    return op.status;

  for (uint32 fb = lo; fb <= top && entries; fb++) {
    uint32 *e = &entries[fb - p.base];
    if (*e) {
      bmark(*e, 0);
      ip->nblocks--;
      *e = 0;
    }
  }
  if (leaf && !frees_leaf)
    log_write(bread_resident(leaf));
  if (frees_leaf) {
    bmark(leaf, 0);
    ip->nblocks--;
    if (p.level == 1) {
      ip->indirect = 0;
    } else if (!frees_dindirect) {
      struct buf *d = bread_resident(ip->dindirect);
      ((uint32 *)d->data)[p.i1] = 0;
      log_write(d);
    }
  }
  if (frees_dindirect) {
    bmark(ip->dindirect, 0);
    ip->nblocks--;
    ip->dindirect = 0;
  }
  if (ip->size > (uint64)lo * BSIZE)
    ip->size = (uint64)lo * BSIZE;
  log_write(ibuf);
  mnode_changed(inum);
  *done = lo <= from;
  return 0;
}

// Frees every block of inode `inum` from file block `from` on, in as many
// steps as that takes (each a bounded change, each consistent), keeping
// log room for `extra` more blocks after the last. The size ends at most
// from * BSIZE. Returns 0, or AGAIN: the call is then made again and goes
// on from where the steps got to.
int64 ishrink(uint32 inum, uint32 from, int extra) {
  for (;;) {
    int mark = op_mark();
    int done;
    int64 r = shrink_step(inum, from, extra, &done);
    if (r < 0 || done)
      return r;
    op_release_to(mark);
  }
}

// Phase two: the inode, whose blocks ishrink has freed, is no longer used.
void ifree(uint32 inum, struct dinode *ip, struct buf *ib) {
  memset(ip, 0, sizeof *ip);
  log_write(ib);
  free_inodes++;
  if (inum < inode_hint)
    inode_hint = inum;
}

// ---- Directories ----

static int name_is(const struct dirent *de, const char *name) { return strncmp(de->name, name, NAME_MAX_FS + 1) == 0; }

// Scans directory dp for the entry named `name` (if not NULL), or else
// for one other than "." and ".." that names inode `inum` (if not 0):
// returns its inode number (position in *found), 0 if absent, or AGAIN.
// Also notes the first free slot in *slot (block 0: none) when slot is
// not NULL. Blocks of no interest are released as the scan goes.
static int64 dir_walk(struct dinode *dp, const char *name, uint32 inum, struct dirpos *found, struct dirpos *slot) {
  if (slot)
    slot->block = 0;
  uint32 nb = (dp->size + BSIZE - 1) / BSIZE;
  for (uint32 fb = 0; fb < nb; fb++) {
    int64 blk = bmap(dp, fb);
    if (blk < 0)
      return op.status;
    if (blk == 0)
      continue;
    int mark = op_mark();
    struct buf *b = bread(blk);
    if (!b)
      return op.status;
    struct dirent *de = (struct dirent *)b->data;
    uint64 left = dp->size - (uint64)fb * BSIZE;
    int n = left < BSIZE ? left / DIRENT_SIZE : DPB;
    int keep = 0;
    for (int i = 0; i < n; i++) {
      if (de[i].inum == 0) {
        if (slot && !slot->block) {
          slot->block = blk;
          slot->index = i;
          keep = 1;
        }
        continue;
      }
      int match = name ? name_is(&de[i], name)
                       : inum && de[i].inum == inum && !name_is(&de[i], ".") && !name_is(&de[i], "..");
      if (match) {
        if (de[i].inum >= sb.ninodes) {
          op_fail(-EIO);
          return op.status;
        }
        if (found) {
          found->block = blk;
          found->index = i;
        }
        return de[i].inum;
      }
    }
    if (!keep)
      op_release_to(mark);
  }
  return 0;
}

int64 dir_scan(struct dinode *dp, const char *name, struct dirpos *found, struct dirpos *slot) {
  return dir_walk(dp, name, 0, found, slot);
}

// Looks up `name` in directory `dinum`: the inode number, 0 if absent,
// -ENOTDIR, or AGAIN.
int64 dir_lookup(uint32 dinum, const char *name, struct dirpos *found) {
  struct dinode *dp = iget_used(dinum, NULL);
  if (!dp)
    return op.status;
  if (dp->type != T_DIR)
    return -ENOTDIR;
  return dir_scan(dp, name, found, NULL);
}

// The name under which directory `dinum` holds inode `inum` (not "." or
// ".."), into name: 1, 0 if it holds none, or AGAIN.
int64 dir_name_of(uint32 dinum, uint32 inum, char *name) {
  struct dinode *dp = iget_used(dinum, NULL);
  if (!dp)
    return op.status;
  if (dp->type != T_DIR)
    return -ENOTDIR;
  struct dirpos pos;
  int64 found = dir_walk(dp, NULL, inum, &pos, NULL);
  if (found <= 0)
    return found;
  memcpy(name, ((struct dirent *)bread_resident(pos.block)->data)[pos.index].name, NAME_MAX_FS);
  name[NAME_MAX_FS] = 0;
  return 1;
}

// Whether directory dp holds nothing but "." and "..": 1, 0, or AGAIN.
int64 dir_is_empty(struct dinode *dp) {
  uint32 nb = (dp->size + BSIZE - 1) / BSIZE;
  for (uint32 fb = 0; fb < nb; fb++) {
    int64 blk = bmap(dp, fb);
    if (blk < 0)
      return blk;
    if (blk == 0)
      continue;
    int mark = op_mark();
    struct buf *b = bread(blk);
    if (!b)
      return op.status;
    struct dirent *de = (struct dirent *)b->data;
    uint64 left = dp->size - (uint64)fb * BSIZE;
    int n = left < BSIZE ? left / DIRENT_SIZE : DPB;
    for (int i = 0; i < n; i++)
      if (de[i].inum && !name_is(&de[i], ".") && !name_is(&de[i], ".."))
        return 0;
    op_release_to(mark);
  }
  return 1;
}

// Plans adding an entry to directory dp: its first free slot, or a new
// slot at its end, allocating a block (and the indirect block) if needed.
// Fills *plan; returns the number of blocks the change will log, or <0
// (-ENOSPC, or AGAIN).
int64 dir_add_plan(struct dinode *dp, struct dir_add *plan) {
  plan->append = 0;
  plan->nalloc = 0;
  if (dir_scan(dp, NULL, NULL, &plan->slot) < 0)
    return op.status;
  if (plan->slot.block)
    return 2; // the directory block and its inode (the times)
  if (dp->size % DIRENT_SIZE) {
    op_fail(-EIO);
    return op.status;
  }
  if (dp->size + DIRENT_SIZE > MAXFILESIZE)
    return -ENOSPC;
  plan->append = 1;
  plan->fb = dp->size / BSIZE;
  plan->slot.index = (dp->size % BSIZE) / DIRENT_SIZE;
  int64 blk = bmap(dp, plan->fb);
  if (blk < 0)
    return op.status;
  if (blk) {
    if (!bread(blk))
      return op.status;
    plan->slot.block = blk;
    return 2; // the directory block and its inode (the size)
  }
  struct map_plan m;
  map_plan_init(&m);
  if (map_plan_add(dp, plan->fb, &m) < 0)
    return op.status;
  int need = 1 + m.nnew;
  if (need > (int)(sizeof plan->alloc / sizeof plan->alloc[0])) {
    op_fail(-EIO);
    return op.status;
  }
  int got = balloc_plan(need, plan->alloc);
  if (got < 0)
    return op.status;
  if (got < need)
    return -ENOSPC;
  for (int i = 0; i < need; i++)
    if (!bget_whole(plan->alloc[i]))
      return op.status;
  plan->nalloc = need;
  // The new block, the inode, the index blocks, up to as many bitmap blocks as new blocks.
  return 2 + m.ntouched + need;
}

// Phase two of dir_add_plan: writes the entry. dbuf holds dp.
void dir_add(uint32 dinum, struct dinode *dp, struct buf *dbuf, struct dir_add *plan, const char *name,
             uint32 inum) {
  if (plan->nalloc) {
    // A new block at the end; the index blocks first, if they are new too.
    uint32 blk = plan->alloc[plan->nalloc - 1];
    struct block_source src = {plan->alloc, 0};
    struct buf *nb = bread_resident_new(blk);
    log_write(nb);
    map_install(dp, plan->fb, blk, &src);
    plan->slot.block = blk;
  }
  struct buf *b = bread_resident(plan->slot.block);
  struct dirent *de = (struct dirent *)b->data + plan->slot.index;
  memset(de, 0, sizeof *de);
  de->inum = inum;
  memcpy(de->name, name, strlen(name));
  log_write(b);
  if (plan->append)
    dp->size += DIRENT_SIZE;
  inode_touch(dp, TOUCH_MTIME | TOUCH_CTIME);
  log_write(dbuf);
  mnode_changed(dinum);
}

// ---- Path names ----

// Splits a path into the directory that holds its last component and
// that component (empty when the path names the starting directory
// itself, such as "/"). Every directory on the way must exist. Returns 0,
// a negative errno, or AGAIN.
int64 path_parent(uint64 start, const char *path, struct pathres *r) {
  if (!path[0])
    return -ENOENT;
  r->too_long = 0;
  uint64 cur = path[0] == '/' ? ROOTINO : start;
  const char *s = path;
  for (;;) {
    while (*s == '/')
      s++;
    if (!*s) {
      r->parent = cur;
      r->name[0] = 0;
      r->must_be_dir = 1;
      return 0;
    }
    const char *e = s;
    while (*e && *e != '/')
      e++;
    uint64 len = e - s;
    const char *rest = e;
    while (*rest == '/')
      rest++;
    // A name longer than this file system's but within Linux's NAME_MAX
    // cannot exist here: not found, as on Linux (creating it fails).
    if (len > LINUX_NAME_MAX)
      return -ENAMETOOLONG;
    r->too_long = len > NAME_MAX_FS;
    if (r->too_long && *rest)
      return -ENOENT;
    if (r->too_long)
      len = 0;
    memcpy(r->name, s, len);
    r->name[len] = 0;
    if (!*rest) {
      r->parent = cur;
      r->must_be_dir = *e == '/';
      return ns_check_dir(cur); // the parent must be a directory even when the name is absent
    }
    int64 next = ns_lookup(cur, r->name, NULL);
    if (next < 0)
      return next;
    if (next == 0)
      return -ENOENT;
    cur = next;
    s = e;
  }
}

// The inode a path names (following r from path_parent): its number, or
// 0 if absent, or <0 as above. *pos gets the entry's position.
int64 path_final(const struct pathres *r, struct dirpos *pos) {
  if (r->too_long)
    return 0;
  if (!r->name[0]) {
    pos->block = 0;
    return r->parent;
  }
  return ns_lookup(r->parent, r->name, pos);
}
