// The file system in RAM: what `/` is when the machine has no disk.
//
// Without a disk the kernel still gives programs a root with a writable
// /tmp (Linux's tmpfs), so a program that writes a temporary file works,
// and an /etc that names root.
// Rather than a second file system, it is the disk's own file system on a
// block device made of pages from the one pool: the buffer cache, the log
// and every call behave as they do on a disk, and the master's work for a
// file call is the same code. The device is made the first time a program
// uses a path, so a program that never does pays nothing for it.
//
// A block is a page, taken from the pool when it is first written (a
// block never written reads as zeros) and kept until power-off: the
// file system does not tell the device which blocks it frees. The device
// holds at most half of RAM, and at most RAMDISK_MAX_BLOCKS blocks.
//
// A request finishes at once but its completion runs later, from the
// master loop (ramdisk_poll), as a disk interrupt's would: the buffer
// cache and the log expect `done` to run after blk_submit has returned.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"

#define PTRS_PER_PAGE (PGSIZE / sizeof(void *))
#define RAMDISK_MAX_BLOCKS (PTRS_PER_PAGE * PTRS_PER_PAGE) // two levels of pointer pages: 1 GiB

int ramdisk_present;
static uint8 ***top;     // top[i][j]: block i * PTRS_PER_PAGE + j, or NULL (zeros)
static uint64 nblocks;
static struct blk_req *done_head, *done_tail; // finished requests whose `done` has not run

uint64 ramdisk_capacity_blocks(void) { return nblocks; }

int ramdisk_busy(void) { return done_head != NULL; }

// The page holding block b, allocated if `create`; NULL if absent (or out of memory).
static uint8 *block_page(uint64 b, int create) {
  uint8 ***leaf = &top[b / PTRS_PER_PAGE];
  if (!*leaf && (!create || !(*leaf = kalloc())))
    return NULL;
  uint8 **page = &(*leaf)[b % PTRS_PER_PAGE];
  if (!*page && create)
    *page = kalloc();
  return *page;
}

void ramdisk_submit(struct blk_req *r) {
  r->finished = 1;
  r->failed = 0;
  if (r->blockno >= nblocks) {
    r->failed = 1;
  } else if (r->write) {
    uint8 *page = block_page(r->blockno, 1);
    if (page) {
      memcpy(page, r->data, BSIZE);
    } else {
      printf("rvmsmp kernel: the file system in RAM has no memory left for block %d\n", (int)r->blockno);
      r->failed = 1;
    }
  } else {
    uint8 *page = block_page(r->blockno, 0);
    if (page)
      memcpy(r->data, page, BSIZE);
    else
      memset(r->data, 0, BSIZE);
  }
  if (!r->done)
    return; // blk_wait: nobody to tell
  r->next = NULL;
  if (done_tail)
    done_tail->next = r;
  else
    done_head = r;
  done_tail = r;
}

// Runs the completions of the finished requests (the master loop).
void ramdisk_poll(void) {
  while (done_head) {
    struct blk_req *r = done_head;
    done_head = r->next;
    if (!done_head)
      done_tail = NULL;
    r->done(r);
  }
}

// What a fresh file system in RAM holds, in inode order (1 is the root):
// the directories bin and dev (where the namespace mounts /bin and /dev),
// etc with the account database of a Linux system that has only root (so
// that getpwuid(0) finds a home, as on any Linux host), and tmp.
static const struct {
  const char *name;
  int parent; // its directory's inode
  const char *contents; // NULL: a directory
  int mode;
} entries[] = {
    {"", 1, NULL, 0755},
    {"bin", 1, NULL, 0755},
    {"dev", 1, NULL, 0755},
    {"etc", 1, NULL, 0755},
    {"tmp", 1, NULL, 01777},
    {"group", 4, "root:x:0:\n", 0644},
    {"passwd", 4, "root:x:0:0:root:/root:/bin/sh\n", 0644},
};
#define NENTRIES (sizeof entries / sizeof entries[0])

// Writes that file system onto the device, as `rvmsmp mkfs` would lay it
// out (docs/fs-format.md): each entry's inode is its index + 1, and its
// data is one block, from datastart on in the same order.
static int format(void) {
  struct superblock s;
  memset(&s, 0, sizeof s);
  s.magic = FS_MAGIC;
  s.version = FS_VERSION;
  s.size = nblocks;
  s.ninodes = (nblocks / 16 + IPB - 1) / IPB * IPB;
  if (s.ninodes < IPB)
    s.ninodes = IPB;
  s.nlog = 1 + LOGMAX;
  s.logstart = 2;
  s.inodestart = s.logstart + s.nlog;
  s.bmapstart = s.inodestart + s.ninodes / IPB;
  s.datastart = s.bmapstart + (s.size + BPB - 1) / BPB;
  if (s.datastart + NENTRIES + 16 > s.size)
    return -ENOMEM;
  s.nblocks = s.size - s.datastart;
  uint8 *b = block_page(1, 1);
  if (!b)
    return -ENOMEM;
  memcpy(b, &s, sizeof s);
  // The bitmap: the metadata and the entries' blocks are used.
  uint64 used = s.datastart + NENTRIES;
  for (uint64 k = 0; k < used; k += BPB) {
    uint8 *bm = block_page(s.bmapstart + k / BPB, 1);
    if (!bm)
      return -ENOMEM;
    for (uint64 bit = k; bit < used && bit < k + BPB; bit++)
      bm[(bit - k) / 8] |= 1 << (bit % 8);
  }
  struct dinode *inodes = (struct dinode *)block_page(s.inodestart, 1);
  if (!inodes)
    return -ENOMEM;
  for (uint32 i = 0; i < NENTRIES; i++) {
    uint32 inum = ROOTINO + i;
    struct dinode *ip = &inodes[inum];
    uint8 *data = block_page(s.datastart + i, 1);
    if (!data)
      return -ENOMEM;
    ip->nlink = 1;
    if (!entries[i].contents) {
      ip->nlink = 2; // its entry (the root: its own "..") and its "."
      for (uint32 k = 1; k < NENTRIES; k++)
        ip->nlink += entries[k].parent == (int)inum && !entries[k].contents; // subdirectories' ".."
    }
    ip->nblocks = 1;
    ip->addrs[0] = s.datastart + i;
    ip->mode = entries[i].mode;
    if (entries[i].contents) {
      ip->type = T_FILE;
      ip->size = strlen(entries[i].contents);
      memcpy(data, entries[i].contents, ip->size);
      continue;
    }
    ip->type = T_DIR;
    struct dirent *de = (struct dirent *)data;
    de[0].inum = inum;
    de[0].name[0] = '.';
    de[1].inum = entries[i].parent;
    de[1].name[0] = de[1].name[1] = '.';
    int n = 2;
    for (uint32 k = 1; k < NENTRIES; k++)
      if (entries[k].parent == (int)inum) {
        de[n].inum = ROOTINO + k;
        memcpy(de[n].name, entries[k].name, strlen(entries[k].name));
        n++;
      }
    ip->size = n * DIRENT_SIZE;
  }
  return 0;
}

// Makes the device and its file system and mounts it: 0, or -ENOMEM when
// RAM cannot hold the buffer cache and a useful file system besides what
// the programs need.
int ramdisk_mount(void) {
  uint64 want = NBUF + LOGMAX + 256;
  if (kfree_pages() < 2 * want)
    return -ENOMEM;
  nblocks = kfree_pages() / 2;
  if (nblocks > RAMDISK_MAX_BLOCKS)
    nblocks = RAMDISK_MAX_BLOCKS;
  top = kalloc();
  if (!top)
    return -ENOMEM;
  if (format() < 0)
    panic("ramdisk: out of memory while formatting"); // checked above: cannot happen
  ramdisk_present = 1;
  fs_mount();
  return 0;
}
