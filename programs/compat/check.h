// Helpers shared by the compat programs that test processes, threads,
// signals and memory: one line per check, and a way to run a role of the
// program in a child that works both on rvmsmp (which shows the program
// at /bin/NAME) and under qemu-riscv64 on a host that cannot execve a
// RISC-V file.
#ifndef COMPAT_CHECK_H
#define COMPAT_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int check_failures;

// Prints "ok   WHAT" or "FAIL WHAT" and counts failures; the text must not
// depend on addresses, timings or scheduling.
__attribute__((format(printf, 2, 3))) static void check(int passed, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(passed ? "ok   " : "FAIL ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  if (!passed)
    check_failures++;
}

static int check_status(void) {
  printf("%s\n", check_failures ? "some checks failed" : "all checks passed");
  return check_failures ? 1 : 0;
}

// Whether SELF_PATH should be executed: yes unless access() says it
// does not exist (any other answer, ENOSYS included, is the kernel's
// problem and must show as a failure, not be hidden by the fallback).
__attribute__((unused)) static int self_present(const char *self_path) {
  return access(self_path, F_OK) == 0 || errno != ENOENT;
}

// Replaces the calling process (a child) by this program running ROLE:
// execv of SELF_PATH (the program as rvmsmp shows it, /bin/NAME) unless
// it does not exist, where a failure is a failure; else /proc/self/exe;
// and when neither can be executed (qemu-riscv64 on a host without
// binfmt_misc), runs ROLE_MAIN in this process so the output is the same.
// argv[0] is SELF_PATH.
__attribute__((unused)) static void exec_self(const char *self_path, char *const argv[],
                      int (*role_main)(int argc, char *const argv[])) {
  fflush(NULL);
  if (self_present(self_path)) {
    execv(self_path, argv);
    perror("execv");
    _exit(127);
  }
  execv("/proc/self/exe", argv);
  int argc = 0;
  while (argv[argc])
    argc++;
  int status = role_main(argc, argv);
  fflush(NULL);
  _exit(status);
}

#endif
