// memfull: takes every page it can (anonymous mmap of 1 MiB regions,
// each touched, until mmap fails with ENOMEM), then creates 300 files of
// 5000 bytes on the disk, fsyncing every 100th. The kernel's buffer cache
// must not depend on the pages a program can take (issue 17, item 9): the
// file calls succeed. Prints `memfull: ok`, or the first failed call.
// Meant for rvmsmp (under qemu-riscv64 it would fill the host's memory).
#include "user.h"

#define REGION (1UL << 20)

int main(void) {
  long regions = 0;
  for (;;) {
    unsigned char *p = (unsigned char *)sys_mmap(0, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((long)p == -ENOMEM)
      break;
    if ((long)p < 0 && (long)p > -4096) {
      printf("memfull: mmap: error %ld\n", -(long)p);
      return 1;
    }
    for (unsigned long a = 0; a < REGION; a += PAGE_SIZE)
      p[a] = 1;
    regions++;
  }
  if (regions == 0) {
    printf("memfull: no memory mapped\n");
    return 1;
  }
  static char data[5000];
  for (int i = 0; i < (int)sizeof data; i++)
    data[i] = 'a' + i % 26;
  for (int i = 0; i < 300; i++) {
    char name[16];
    snprintf(name, sizeof name, "/m%d", i);
    long fd = sys_openat(AT_FDCWD, name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
      printf("memfull: %s: open: error %ld\n", name, -fd);
      return 1;
    }
    long n = sys_write(fd, data, sizeof data);
    if (n != (long)sizeof data) {
      printf("memfull: %s: write returned %ld\n", name, n);
      return 1;
    }
    if (i % 100 == 99 && sys_fsync(fd) < 0) {
      printf("memfull: %s: fsync failed\n", name);
      return 1;
    }
    sys_close(fd);
  }
  printf("memfull: ok\n");
  return 0;
}
