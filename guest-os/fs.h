// The file system: the on-disk layout (docs/fs-format.md, version 1) and
// the kernel's structures around it: the disk requests, the buffer cache,
// the log, open files. Everything here belongs to hart 0.
#pragma once
#include "abi.h"
#include "param.h"
#include "types.h"

// ---- On disk (little-endian, as the hart is) ----

#define BSIZE 4096
#define SECTORS_PER_BLOCK (BSIZE / 512)
#define FS_MAGIC 0x53464d52 // "RMFS"
#define FS_VERSION 2
#define NDIRECT 12
#define NINDIRECT (BSIZE / 4)                     // block numbers in an index block
#define DIND_FIRST (NDIRECT + NINDIRECT)          // the first file block the double-indirect block maps
#define MAXFILEBLOCKS (DIND_FIRST + NINDIRECT * NINDIRECT)
#define MAXFILESIZE ((uint64)MAXFILEBLOCKS * BSIZE) // a little over 4 GiB
#define INODE_SIZE 128
#define IPB (BSIZE / INODE_SIZE) // inodes per block
#define BPB (BSIZE * 8)          // bitmap bits per block
#define DIRENT_SIZE 64
#define DPB (BSIZE / DIRENT_SIZE) // directory entries per block
#define NAME_MAX_FS 59             // longest name (a 60-byte field, NUL-padded)
#define LINUX_NAME_MAX 255         // a longer name is ENAMETOOLONG, a shorter one that does not fit ENOENT
#define ROOTINO 1

#define T_FREE 0
#define T_DIR 1
#define T_FILE 2

struct superblock {
  uint32 magic;
  uint32 version;
  uint32 size;       // blocks in the image
  uint32 nblocks;    // data blocks
  uint32 ninodes;    // a multiple of IPB
  uint32 nlog;       // log blocks, the header included
  uint32 logstart;   // the header block
  uint32 inodestart; // first inode block
  uint32 bmapstart;  // first bitmap block
  uint32 datastart;  // first data block
};

struct fstime {
  int64 sec;
  uint32 nsec;
};

struct dinode {
  uint16 type;
  uint16 nlink; // 0: an orphan (unlinked while open), freed at the last close or the next mount
  uint16 mode;  // permission bits (07777)
  uint16 reserved0;
  uint32 uid;
  uint32 gid;
  uint64 size;
  uint32 nblocks; // blocks it uses: data and index blocks
  uint32 reserved1;
  int64 atime_sec, mtime_sec, ctime_sec;
  uint32 atime_nsec, mtime_nsec, ctime_nsec;
  uint32 reserved2;
  uint32 addrs[NDIRECT];
  uint32 indirect;  // file blocks NDIRECT .. DIND_FIRST-1
  uint32 dindirect; // a block of index blocks: file blocks DIND_FIRST on
};
_Static_assert(sizeof(struct dinode) == INODE_SIZE, "the on-disk inode is 128 bytes");

struct dirent {
  uint32 inum; // 0: a free slot
  char name[NAME_MAX_FS + 1];
};

// ---- The namespace (namespace.c) ----

// Nodes from NS_BASE up are not on the file system: /bin, /dev and their files.
#define NS_BASE (1ULL << 32)
struct proc;
struct file;
static inline int ns_virtual(uint64 node) { return node >= NS_BASE; }
#define NS_REMOVED_DIR (NS_BASE + 2) // a working directory that has been removed
struct dirpos;
struct uio;
int ns_is_dir(uint64 node);
int ns_writable(uint64 node);
int64 ns_create_error(uint64 dir);
int64 ns_lookup(uint64 dir, const char *name, struct dirpos *pos);
int64 ns_check_dir(uint64 node);
int64 ns_path_of(uint64 node, char *buf, uint64 size);
int64 ns_open(uint64 node, int flags, struct file *f);
struct kstat;
int64 ns_kstat(uint64 node, struct kstat *st);
int64 node_kstat(uint64 node, struct kstat *st);
int64 resolve(struct proc *p, int64 dirfd);
const char *ns_program(uint64 node, uint64 *size);
int ns_is_program(uint64 node);
int ns_in_bin(uint64 node);
extern int ramdisk_present;
const char *ns_first_program(uint64 *size, uint64 *node);
void ns_program_path(uint64 node, char *buf, uint64 size);
int64 ns_transfer(struct file *f, struct uio *u, int write);
int64 ns_lseek(struct file *f, int64 off, int whence);
int64 ns_getdents(struct proc *p, struct file *f, uint64 ubuf, uint64 count);

// ---- Disk requests (virtio_blk.c) ----

// One block transfer. The owner fills blockno, write, data and done; the
// driver calls done(req) on hart 0 once the device has finished, with
// `failed` set if it reported an error.
struct blk_req {
  uint32 blockno;
  uint8 write;
  uint8 failed;
  uint8 finished;
  uint8 *data;                       // BSIZE bytes, physical = kernel virtual
  void (*done)(struct blk_req *req); // may be NULL (boot-time requests)
  void *owner;
  struct blk_req *next; // in the driver's queue of requests not yet given to the device
  // What the device reads and writes besides the data (virtio-blk).
  struct {
    uint32 type;
    uint32 reserved;
    uint64 sector;
  } header;
  volatile uint8 status;
};

// ---- The buffer cache (bio.c) ----

struct buf {
  uint32 blockno;
  uint8 tagged;  // holds (or is being filled with) block `blockno`; in the hash table
  uint8 valid;   // data is the block's current contents
  uint8 reading; // a read from the disk is in flight
  uint8 error;   // the last read failed
  int refs;      // references from the attempt in progress
  uint64 stamp;  // the attempt that last referenced it
  uint64 seq;    // the last transaction that wrote it (pinned until that one is installed)
  int frozen;    // 1 + its slot in the commit in progress, which writes from its page; 0: not
  uint8 *data;   // one page, allocated on first use
  struct buf *lru_prev, *lru_next; // the LRU list (unpinned buffers only), most recent first
  struct buf *hash_next;
  struct proc *waiters; // processes blocked until its read completes
  struct blk_req req;
};

// ---- Open files (file.c) ----

// An inode some open file refers to: what the kernel must remember about
// it between system calls.
struct mnode {
  uint32 inum;
  int refs;         // open files referring to it; 0 = free slot
  uint64 dirty_seq; // the last transaction that changed it (fsync waits for it)
  uint8 orphan;     // its last name is gone: freed when the last open file closes (orphan.c)
};

enum file_type { FT_NONE, FT_CONSOLE_IN, FT_CONSOLE_OUT, FT_CONSOLE_ERR, FT_INODE, FT_PIPE, FT_VNODE };

// An open file (Linux's file description): what open, pipe2 or the
// console made, shared by the descriptors dup and fork make from it (fd.c).
struct file {
  uint8 type;
  uint8 readable;
  uint8 writable;
  uint8 append;
  uint8 nonblock; // O_NONBLOCK: a transfer that would wait fails with EAGAIN
  int refs;       // descriptors referring to it; 0 = free slot
  uint64 off;
  struct mnode *m;    // FT_INODE
  struct pipe *pipe;  // FT_PIPE
  uint64 node;        // FT_VNODE: /bin, /dev or one of their files (namespace.c)
};

// ---- Restartable calls (bio.c) ----

// ERESTART (abi.h) is returned by a file-system call that must wait and be
// made again; never seen by user code (Linux's ERESTARTSYS). The errno
// values the file system returns are Linux's, from abi.h too.

enum op_wait { WAIT_NONE, WAIT_BUF, WAIT_CACHE, WAIT_HOLDER, WAIT_LOG_SPACE, WAIT_COMMIT };

struct waitlist {
  struct proc *head, *tail;
};

#define MAXPLANNED (MAXOPDATA + 8)

// The attempt in progress (one at a time: only hart 0 runs them).
struct op {
  struct proc *p;
  uint64 id;
  struct buf *refs[MAXOPREFS];
  int nrefs;
  int status; // 0, -ERESTART (must wait) or -EIO
  int wait;   // what for, when status is -ERESTART
  struct buf *wait_buf;
  uint32 planned[MAXPLANNED]; // blocks balloc_plan has promised to this attempt
  int nplanned;
  int readonly; // the call changes no block: frozen buffers need no copy
  struct holder *holder; // its place among the holders (bio.c), if it has one
};
extern struct op op;

void bio_init(void);
int bio_reserve(void);
void op_begin(struct proc *p, int readonly);
uint8 *page_get(void);
void page_put(uint8 *page);
int64 op_end(struct proc *p, int64 result);
int op_mark(void);
void op_release_to(int mark);
void op_need(int wait, struct buf *b);
void op_fail(int err);
int op_planned(uint32 b);
void op_plan(uint32 b);
struct buf *bread(uint32 blockno);
struct buf *bread_resident(uint32 blockno);
struct buf *bread_resident_new(uint32 blockno);
struct buf *bget_whole(uint32 blockno);
void bfill(struct buf *b);
struct buf *bfind(uint32 blockno);
void bpin(struct buf *b);
void bunpin(struct buf *b);
void bio_wake_cache_waiters(void);
void wait_push(struct waitlist *w, struct proc *p);
void wake_all(struct waitlist *w);

// ---- The log (log.c) ----

void log_init(const struct superblock *sb);
void log_recover(const struct superblock *sb, uint8 *page);
int log_room(int blocks);
void log_write(struct buf *b);
int log_durable(uint64 seq);
void log_wait(struct proc *p, int wait);
void log_cache_pressure(void);
void log_commit(void);
void log_give_page(struct buf *b, uint8 *copy);
uint64 log_installed_seq(void);
uint64 log_durable_seq(void);
uint64 log_open_seq(void);
uint64 log_sync_seq(void);
uint32 log_header_block(void);

// ---- The disk (virtio_blk.c) ----

void blk_submit(struct blk_req *r);
void ramdisk_submit(struct blk_req *r);
void ramdisk_poll(void);
uint64 ramdisk_capacity_blocks(void);
int blk_wait(struct blk_req *r);
uint64 disk_capacity_blocks(void);

// ---- On-disk objects (fs.c) ----

extern struct superblock sb;

// Prints why the disk cannot be used and powers off.
#define fs_fatal(...)                                                                                                \
  do {                                                                                                               \
    printf("rvmsmp kernel: disk: ");                                                                                 \
    printf(__VA_ARGS__);                                                                                             \
    printf("; stopping\n");                                                                                          \
    power_off(DISK_FAILURE_STATUS);                                                                                  \
  } while (0)

// A directory entry's place: block and index (block 0: none).
struct dirpos {
  uint32 block;
  uint32 index;
};

// What adding a directory entry will do (dir_add_plan, then dir_add).
struct dir_add {
  struct dirpos slot;
  int append;       // the entry goes at the end: the size grows
  uint32 fb;        // the file block of the end, when appending
  int nalloc;       // new blocks: [indirect,] directory block
  uint32 alloc[4];   // index blocks, then the directory block
};

// A path split by path_parent.
struct pathres {
  uint64 parent; // a node (namespace.c)
  char name[NAME_MAX_FS + 1]; // empty: the path names the start directory itself
  int must_be_dir;            // it ended with '/'
  int too_long;               // the last name is longer than the file system allows: absent, cannot be created
};

struct dinode *iget(uint32 inum, struct buf **bp);
struct dinode *iget_used(uint32 inum, struct buf **bp);
struct dinode *iget_resident(uint32 inum, struct buf **bp);
int64 bmap(struct dinode *ip, uint32 fb);

// Mapping new blocks into a file: map_plan_add in phase one for each hole
// to fill, then map_install for each in phase two.
struct map_plan {
  int nnew;     // index blocks to allocate
  int ntouched; // index blocks the change may log
  uint8 seen_indirect, seen_dindirect;
  int64 last_l2; // the second-level block counted last (-1: none)
};
struct block_source {
  const uint32 *blocks; // planned by balloc_plan
  int next;
};
void map_plan_init(struct map_plan *m);
int64 map_plan_add(struct dinode *ip, uint32 fb, struct map_plan *m);
void map_install(struct dinode *ip, uint32 fb, uint32 b, struct block_source *src);
int64 ialloc_plan(void);
struct dinode *ialloc_take(uint32 inum, int type, int mode, struct buf **bp);
#define TOUCH_ATIME 1
#define TOUCH_MTIME 2
#define TOUCH_CTIME 4
void inode_touch(struct dinode *ip, int which);
struct fstime fs_now(void);
int balloc_plan(int want, uint32 *out);
void bmark(uint32 b, int used);
int bitmap_check_used(uint32 b);
int64 ishrink(uint32 inum, uint32 from, int extra);
void fs_free_counts(uint64 *blocks, uint64 *inodes);
void orphan_queue(uint32 inum);
int orphans_queued(void);
void orphans_reclaim(void);
int mnode_orphan(uint32 inum);
int64 path_arg(struct proc *p, uint64 va, int64 dirfd);
int64 path_empty(struct proc *p, uint64 va);
void ifree(uint32 inum, struct dinode *ip, struct buf *ib);
int64 dir_scan(struct dinode *dp, const char *name, struct dirpos *found, struct dirpos *slot);
int64 dir_lookup(uint32 dinum, const char *name, struct dirpos *found);
int64 dir_name_of(uint32 dinum, uint32 inum, char *name);
int64 dir_is_empty(struct dinode *dp);
int64 dir_add_plan(struct dinode *dp, struct dir_add *plan);
void dir_add(uint32 dinum, struct dinode *dp, struct buf *dbuf, struct dir_add *plan, const char *name, uint32 inum);
int64 path_parent(uint64 start, const char *path, struct pathres *r);
int64 path_final(const struct pathres *r, struct dirpos *pos);

// ---- Open files (file.c) ----

void mnode_changed(uint32 inum);
void mnode_put(struct mnode *m);
int mnode_available(uint32 inum);
int64 inode_fstat(struct proc *p, struct file *f, uint64 ubuf);
int64 fs_truncate(uint32 inum, uint64 len);
int64 inode_lseek(struct proc *p, struct file *f);
int64 inode_whence_base(struct file *f, int whence);
// Inside an attempt: read or write at f->off (or at the end, for O_APPEND), advancing it.
int64 inode_read(struct proc *p, struct file *f, uint64 ubuf, uint64 n);
int64 inode_write(struct proc *p, struct file *f, uint64 ubuf, uint64 n);
