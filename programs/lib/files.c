// Helpers for the programs that use files: opening relative to the
// working directory, whole transfers, and glibc's error messages (so that
// the programs print what coreutils prints under Linux).
#include "user.h"

long open(const char *path, long flags, long mode) { return sys_openat(AT_FDCWD, path, flags, mode); }

long read_full(long fd, void *buf, unsigned long len) {
  unsigned long done = 0;
  while (done < len) {
    long n = sys_read(fd, (char *)buf + done, len - done);
    if (n < 0)
      return done ? (long)done : n;
    if (n == 0)
      break;
    done += n;
  }
  return done;
}

long write_full(long fd, const void *buf, unsigned long len) {
  unsigned long done = 0;
  while (done < len) {
    long n = sys_write(fd, (const char *)buf + done, len - done);
    if (n < 0)
      return done ? (long)done : n;
    if (n == 0)
      break;
    done += n;
  }
  return done;
}

const char *strerror(long err) {
  switch (err) {
  case EPERM: return "Operation not permitted";
  case ENOENT: return "No such file or directory";
  case EIO: return "Input/output error";
  case EBADF: return "Bad file descriptor";
  case ENOMEM: return "Cannot allocate memory";
  case EACCES: return "Permission denied";
  case EFAULT: return "Bad address";
  case EBUSY: return "Device or resource busy";
  case EEXIST: return "File exists";
  case ENODEV: return "No such device";
  case ENOTDIR: return "Not a directory";
  case EISDIR: return "Is a directory";
  case EINVAL: return "Invalid argument";
  case ENFILE: return "Too many open files in system";
  case EMFILE: return "Too many open files";
  case ENOTTY: return "Inappropriate ioctl for device";
  case EFBIG: return "File too large";
  case ENOSPC: return "No space left on device";
  case ESPIPE: return "Illegal seek";
  case ENAMETOOLONG: return "File name too long";
  case ENOSYS: return "Function not implemented";
  case ENOTEMPTY: return "Directory not empty";
  default: return "Unknown error";
  }
}
