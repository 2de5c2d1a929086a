// What every benchmark program shares: reading its optional size
// arguments and printing its result. The same sources build twice: as
// static Linux programs (programs/lib's runtime, for `rvmsmp run`,
// qemu-system-riscv64 with the rvmsmp kernel, and qemu-riscv64) and as
// bare-metal programs (bare/, for `rvmsmp bare` and Spike), so they use
// only printf, parse_long, sys_mmap and sys_exit_group from user.h.
#pragma once
#include "user.h"

// Prints the usage line and exits with status 2.
static inline void bench_usage(const char *usage) {
  printf("usage: %s\n", usage);
  sys_exit_group(2);
}

// argv[i] as a number >= min, or `fallback` when there is no argv[i].
static inline long bench_arg(int argc, char **argv, int i, long fallback, long min, const char *usage) {
  long v;
  if (i >= argc)
    return fallback;
  if (parse_long(argv[i], &v) < 0 || v < min)
    bench_usage(usage);
  return v;
}

// The one line each benchmark prints; `cargo xtask bench` checks that it
// is the same under every emulator.
static inline void bench_report(const char *name, uint64_t checksum) {
  printf("%s: checksum=0x%016lx\n", name, checksum);
}
