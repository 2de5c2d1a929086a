// syscall_errors: checks that bad system calls fail with Linux's errno
// values, by comparing each result with what Linux returns. Prints one
// line per check and exits 0 only if every check passes.
#include "user.h"

static int failures;

static void check(const char *name, long got, long want) {
  if (got == want) {
    printf("%s: ok\n", name);
  } else {
    printf("%s: FAIL: got %ld, want %ld\n", name, got, want);
    failures++;
  }
}

int main(void) {
  // fd 5 is never open under the kernel; a shell might have left one open
  // under qemu-riscv64, so close it first (the result does not matter).
  sys_close(5);
  check("write_bad_fd", sys_write(5, "hello", 5), -EBADF);
  check("write_null_buffer", sys_write(1, 0, 5), -EFAULT);
  // A length that runs past the mapped memory after a good buffer: the
  // whole range is checked, so nothing is written (issue 17, item 12).
  check("write_past_the_mapping", sys_write(1, "hello", -1), -EFAULT);
  check("write_past_the_mapping_by_a_page", sys_write(1, "hello", 1L << 37), -EFAULT);
  check("unknown_syscall", raw_syscall(999, 0, 0, 0, 0, 0, 0), -ENOSYS);

  struct timespec ts;
  check("clock_gettime_bad_clock", sys_clock_gettime(1000, &ts), -EINVAL);

  struct timespec bad = {0, 2000000000};
  check("nanosleep_bad_nsec", sys_nanosleep(&bad, 0), -EINVAL);
  return failures ? 1 : 0;
}
