// The file namespace: what a path names.
//
// The file system (the disk given with --disk, else the file system in RAM
// of ramdisk.c) is `/`. Two directories that are not on it are mounted over
// its /bin and /dev, whether or not the file system has directories of
// those names:
//   /bin  the initramfs's programs, read-only: the program given to
//         `rvmsmp run` is /bin/NAME, so a shell finds it on its PATH;
//   /dev  null, zero, full, random, urandom (deterministic: the same bytes
//         as getrandom) and tty (which, as on Linux for a process with no
//         controlling terminal, cannot be opened: ENXIO).
// The file system has no symbolic links, so a path is followed one name at
// a time (fs.c, path_parent) and these are the only places it leaves the
// file system.
//
// A node is a uint64: an inode number of the file system (below NS_BASE),
// or one of the nodes here. An open node of this file is an FT_VNODE file.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"

#define NS_BIN (NS_BASE + 0)
#define NS_DEV (NS_BASE + 1)
#define NS_DEVICE(k) (NS_BASE + 16 + (k))
#define NS_PROGRAM(off) (2 * NS_BASE + (off)) // the initramfs entry at byte offset `off`


// Linux's numbers for the devices (Documentation/admin-guide/devices.txt),
// as stat's st_rdev encodes them: major << 8 | minor.
enum device { DEV_FULL, DEV_NULL, DEV_RANDOM, DEV_TTY, DEV_URANDOM, DEV_ZERO, NDEVICES };
static const struct {
  const char *name;
  uint32 rdev;
} devices[NDEVICES] = {
    [DEV_FULL] = {"full", 1 << 8 | 7},     [DEV_NULL] = {"null", 1 << 8 | 3},
    [DEV_RANDOM] = {"random", 1 << 8 | 8}, [DEV_TTY] = {"tty", 5 << 8 | 0},
    [DEV_URANDOM] = {"urandom", 1 << 8 | 9}, [DEV_ZERO] = {"zero", 1 << 8 | 5},
};

// st_dev of the two directories' files, as Linux numbers unnamed file
// systems (0:N): the initramfs's, then devtmpfs's.
#define DEV_OF_BIN 0x02
#define DEV_OF_DEV 0x05

// ---- The initramfs's programs ----

static const char *initramfs(uint64 *size) {
  *size = boot.initrd_end - boot.initrd_start;
  return (const char *)boot.initrd_start;
}

// Whether an archive entry is a program of /bin: a regular file at the
// archive's top level (the kernel's own .rvmsmp directory is not).
static int is_program(const struct cpio_entry *e) {
  if ((e->mode & 0170000) != S_IFREG || e->name[0] == '.' || !e->name[0])
    return 0;
  for (const char *c = e->name; *c; c++)
    if (*c == '/')
      return 0;
  return 1;
}

// The program at archive offset `off` (a node's), or 0 if there is none.
static int program_at(uint64 off, struct cpio_entry *e) {
  uint64 size;
  const char *archive = initramfs(&size);
  return cpio_next(archive, size, &off, e) && is_program(e);
}

// The initramfs's first program (rvmsmp's initramfs holds one: the
// program to run, whatever its argv[0] says); NULL if it has none.
const char *ns_first_program(uint64 *size, uint64 *node) {
  uint64 archive_size, off = 0;
  const char *archive = initramfs(&archive_size);
  struct cpio_entry e;
  while (cpio_next(archive, archive_size, &off, &e))
    if (is_program(&e)) {
      *size = e.size;
      *node = NS_PROGRAM(e.offset);
      return e.data;
    }
  return NULL;
}

// A program node's path, "/bin/NAME", into buf (NUL-terminated; empty if
// it does not fit or the node is not a program): what /proc/self/exe says.
void ns_program_path(uint64 node, char *buf, uint64 size) {
  struct cpio_entry e;
  buf[0] = 0;
  if (node < NS_PROGRAM(0) || !program_at(node - NS_PROGRAM(0), &e) || strlen(e.name) + 6 > size)
    return;
  memcpy(buf, "/bin/", 5);
  memcpy(buf + 5, e.name, strlen(e.name) + 1);
}

static int64 program_lookup(const char *name) {
  uint64 size, off = 0;
  const char *archive = initramfs(&size);
  struct cpio_entry e;
  while (cpio_next(archive, size, &off, &e))
    if (is_program(&e) && strcmp(e.name, name) == 0)
      return NS_PROGRAM(e.offset);
  return 0;
}

// ---- Looking up names ----

static int device_of(uint64 node) { return (int)(node - NS_DEVICE(0)); }

static int is_device(uint64 node) { return node >= NS_DEVICE(0) && node < NS_DEVICE(NDEVICES); }

int ns_is_dir(uint64 node) { return node == NS_BIN || node == NS_DEV || node == NS_REMOVED_DIR; }

// `name` in directory `dir`: the node, 0 if absent, -ENOTDIR, or (on the
// file system) what dir_lookup returns. *pos gets a file-system entry's
// place (block 0 for a node of this file).
int64 ns_lookup(uint64 dir, const char *name, struct dirpos *pos) {
  if (pos)
    pos->block = 0;
  if (dir == ROOTINO && strcmp(name, "bin") == 0)
    return NS_BIN;
  if (dir == ROOTINO && strcmp(name, "dev") == 0)
    return NS_DEV;
  if (!ns_virtual(dir))
    return dir_lookup((uint32)dir, name, pos);
  if (!ns_is_dir(dir))
    return -ENOTDIR;
  if (dir == NS_REMOVED_DIR)
    return 0; // not even "." or ".."
  if (strcmp(name, ".") == 0)
    return dir;
  if (strcmp(name, "..") == 0)
    return ROOTINO;
  if (dir == NS_BIN)
    return program_lookup(name);
  for (int k = 0; k < NDEVICES; k++)
    if (strcmp(devices[k].name, name) == 0)
      return NS_DEVICE(k);
  return 0;
}

// 0 if `node` is a directory, else -ENOTDIR (or, on the file system, AGAIN).
int64 ns_check_dir(uint64 node) {
  if (ns_virtual(node))
    return ns_is_dir(node) ? 0 : -ENOTDIR;
  struct dinode *dp = iget_used((uint32)node, NULL);
  if (!dp)
    return op.status;
  return dp->type == T_DIR ? 0 : -ENOTDIR;
}

// The path of directory `node` into buf (size bytes): its length with the
// NUL, -ERANGE if it does not fit, or AGAIN. A file-system directory's
// path is found by climbing through "..", naming each directory by its
// entry in its parent.
int64 ns_path_of(uint64 node, char *buf, uint64 size) {
  static char tmp[FS_PATH];
  uint64 at = sizeof tmp - 1;
  tmp[at] = 0;
  if (node == NS_REMOVED_DIR)
    return -ENOENT;
  if (node == NS_BIN || node == NS_DEV) {
    const char *name = node == NS_BIN ? "bin" : "dev";
    at -= 3;
    memcpy(tmp + at, name, 3);
    tmp[--at] = '/';
  } else {
    for (int depth = 0; node != ROOTINO; depth++) {
      if (depth > FS_PATH / 2)
        return -EIO; // a loop: the image is corrupt
      int64 parent = dir_lookup((uint32)node, "..", NULL);
      if (parent <= 0)
        return parent < 0 ? parent : -ENOENT;
      char name[NAME_MAX_FS + 1];
      int64 found = dir_name_of((uint32)parent, (uint32)node, name);
      if (found <= 0)
        return found < 0 ? found : -ENOENT; // removed
      uint64 len = strlen(name);
      if (len + 1 > at)
        return -ENAMETOOLONG;
      at -= len;
      memcpy(tmp + at, name, len);
      tmp[--at] = '/';
      node = parent;
    }
  }
  if (at == sizeof tmp - 1)
    tmp[--at] = '/'; // the root
  uint64 len = sizeof tmp - at;
  if (len > size)
    return -ERANGE;
  memcpy(buf, tmp + at, len);
  return len;
}

// ---- Open nodes ----


// Why nothing can be created in directory `dir` (not on the file system).
int64 ns_create_error(uint64 dir) { return dir == NS_REMOVED_DIR ? -ENOENT : -EROFS; }

// Whether a node not on the file system can be written (the devices can).
int ns_writable(uint64 node) { return is_device(node); }

// Opens `node` (not on the file system) as f: 0 or an errno.
int64 ns_open(uint64 node, int flags, struct file *f) {
  int acc = flags & O_ACCMODE;
  if (ns_is_dir(node)) {
    if (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT)))
      return -EISDIR;
  } else if (flags & O_DIRECTORY) {
    return -ENOTDIR;
  } else if (is_device(node)) {
    if (device_of(node) == DEV_TTY)
      return -ENXIO; // no controlling terminal
  } else if (acc != O_RDONLY || (flags & O_TRUNC)) {
    return -EROFS; // a program of /bin
  }
  *f = (struct file){.type = FT_VNODE, .refs = 1, .readable = acc != O_WRONLY, .writable = acc != O_RDONLY};
  f->node = node;
  f->nonblock = (flags & O_NONBLOCK) != 0;
  return 0;
}

int64 ns_kstat(uint64 node, struct kstat *stp) {
  struct kstat st;
  memset(&st, 0, sizeof st);
  st.ino = node - NS_BASE + 2; // distinct within each of the two file systems
  st.nlink = 1;
  st.blksize = BSIZE;
  if (ns_is_dir(node)) {
    st.dev = node == NS_BIN ? DEV_OF_BIN : DEV_OF_DEV;
    st.mode = S_IFDIR | 0755;
    st.nlink = 2;
  } else if (is_device(node)) {
    st.dev = DEV_OF_DEV;
    st.mode = S_IFCHR | 0666;
    st.rdev = devices[device_of(node)].rdev;
  } else {
    struct cpio_entry e;
    if (!program_at(node - NS_PROGRAM(0), &e))
      return -EIO;
    st.dev = DEV_OF_BIN;
    st.ino = 16 + e.offset / 4;
    st.mode = S_IFREG | 0755;
    st.size = e.size;
    st.blocks = (e.size + 511) / 512;
  }
  *stp = st;
  return 0;
}

// The initramfs data of a program node, for execve: NULL if it is not one.
const char *ns_program(uint64 node, uint64 *size) {
  struct cpio_entry e;
  if (node < NS_PROGRAM(0) || !program_at(node - NS_PROGRAM(0), &e))
    return NULL;
  *size = e.size;
  return e.data;
}

// Whether the node is /bin or one of its programs.
int ns_in_bin(uint64 node) { return node == NS_BIN || ns_is_program(node); }

int ns_is_program(uint64 node) {
  uint64 size;
  return ns_program(node, &size) != NULL;
}

// Moves bytes between the user's buffer and `src` (a program's bytes, or
// NULL for zeros, or (uint8 *)1 for random bytes), at most `n`.
static int64 fill_user(struct uio *u, const char *src, uint64 n) {
  static uint8 chunk[512];
  uint64 done = 0;
  while (done < n) {
    uint64 addr, len = uio_at(u, done, &addr);
    if (len == 0)
      break;
    if (len > n - done)
      len = n - done;
    if (len > sizeof chunk)
      len = sizeof chunk;
    if (src == (const char *)1) {
      for (uint64 i = 0; i < len; i += 8) {
        uint64 word = next_random();
        memcpy(chunk + i, &word, len - i < 8 ? len - i : 8);
      }
    } else if (src) {
      memcpy(chunk, src + done, len);
    } else {
      memset(chunk, 0, len);
    }
    if (copy_out(u->p->pagetable, addr, chunk, len) < 0)
      return done ? (int64)done : -EFAULT;
    done += len;
  }
  return done;
}

// read, write and their vector forms on an open node.
int64 ns_transfer(struct file *f, struct uio *u, int write) {
  uint64 node = f->node;
  if (ns_is_dir(node))
    return -EISDIR;
  if (is_device(node)) {
    int dev = device_of(node);
    if (write)
      return dev == DEV_FULL ? -ENOSPC : (int64)u->len;
    if (dev == DEV_NULL)
      return 0;
    if (!uio_ok(u, PTE_W))
      return -EFAULT;
    return fill_user(u, dev == DEV_RANDOM || dev == DEV_URANDOM ? (const char *)1 : NULL, u->len);
  }
  uint64 size;
  const char *data = ns_program(node, &size);
  if (!data)
    return -EIO;
  if (f->off >= size)
    return 0;
  uint64 n = size - f->off < u->len ? size - f->off : u->len;
  int64 got = fill_user(u, data + f->off, n);
  if (got > 0)
    f->off += got;
  return got;
}

int64 ns_lseek(struct file *f, int64 off, int whence) {
  if (is_device(f->node)) {
    f->off = 0;
    return 0; // as Linux's null and zero devices
  }
  uint64 size = 0;
  if (!ns_is_dir(f->node))
    ns_program(f->node, &size);
  int64 base = whence == 0 ? 0 : whence == 1 ? (int64)f->off : whence == 2 ? (int64)size : -1;
  if (base < 0 || (ns_is_dir(f->node) && whence != 0))
    return -EINVAL;
  if ((off < 0 && base + off < 0) || (off > 0 && base + off < base))
    return -EINVAL;
  f->off = base + off;
  return f->off;
}

struct dirent64_head {
  uint64 d_ino;
  int64 d_off;
  uint16 d_reclen;
  uint8 d_type;
} __attribute__((packed));

// Adds one entry to a getdents64 buffer: 1, or 0 if it does not fit.
static int put_dirent(uint8 *out, uint64 *used, uint64 limit, uint64 ino, uint64 next, int type, const char *name) {
  uint64 len = strlen(name);
  uint64 reclen = (sizeof(struct dirent64_head) + len + 1 + 7) & ~7UL;
  if (*used + reclen > limit)
    return 0;
  struct dirent64_head h = {ino, (int64)next, (uint16)reclen, (uint8)type};
  memset(out + *used, 0, reclen);
  memcpy(out + *used, &h, sizeof h);
  memcpy(out + *used + sizeof h, name, len);
  *used += reclen;
  return 1;
}

// getdents64 of /bin or /dev. f->off: 0 is ".", 1 is "..", then 2 + the
// archive offset of the next program, or 2 + the next device.
int64 ns_getdents(struct proc *p, struct file *f, uint64 ubuf, uint64 count) {
  static uint8 out[BSIZE];
  if (!ns_is_dir(f->node))
    return -ENOTDIR;
  uint64 limit = count < sizeof out ? count : sizeof out, used = 0;
  uint64 size;
  const char *archive = initramfs(&size);
  for (;;) {
    uint64 at = f->off, next;
    uint64 ino;
    int type;
    const char *name;
    struct cpio_entry e;
    if (at == 0 || at == 1) {
      name = at == 0 ? "." : "..";
      ino = at == 0 ? f->node - NS_BASE + 2 : ROOTINO;
      type = DT_DIR;
      next = at + 1;
    } else if (f->node == NS_DEV) {
      if (at - 2 >= NDEVICES)
        break;
      name = devices[at - 2].name;
      ino = NS_DEVICE(at - 2) - NS_BASE + 2;
      type = DT_CHR;
      next = at + 1;
    } else {
      uint64 off = at - 2;
      int found = 0;
      while (!found && cpio_next(archive, size, &off, &e))
        found = is_program(&e);
      if (!found)
        break;
      name = e.name;
      ino = 16 + e.offset / 4;
      type = DT_REG;
      next = 2 + off;
    }
    if (!put_dirent(out, &used, limit, ino, next, type, name)) {
      if (used == 0)
        return -EINVAL;
      break;
    }
    f->off = next;
  }
  if (used && copy_out(p->pagetable, ubuf, out, used) < 0)
    return -EFAULT;
  return used;
}
