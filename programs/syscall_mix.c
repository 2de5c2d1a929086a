// syscall_mix: the experiment workload. Each round does K units of
// computation and then one cheap system call (getppid), so K sets the
// share of time a process spends asking the master for service.
// Usage: syscall_mix [-k K] [-r ROUNDS]. The output names neither the pid
// nor the hart, so every copy prints the same line.
#include "user.h"

#define UNIT_ITERATIONS 100 // one unit of compute: this many xorshift steps

static uint64_t unit(uint64_t x) {
  for (int i = 0; i < UNIT_ITERATIONS; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

static void usage(void) {
  printf("usage: syscall_mix [-k K] [-r ROUNDS]\n");
  sys_exit_group(2);
}

// The number after the option at argv[*i] (it must be >= 0); moves *i past it.
static long count_arg(int argc, char **argv, int *i) {
  long v;
  if (*i + 1 >= argc || parse_long(argv[*i + 1], &v) < 0 || v < 0)
    usage();
  *i += 1;
  return v;
}

int main(int argc, char **argv) {
  long k = 100, rounds = 200;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-k"))
      k = count_arg(argc, argv, &i);
    else if (!strcmp(argv[i], "-r"))
      rounds = count_arg(argc, argv, &i);
    else
      usage();
  }

  uint64_t x = 0x243f6a8885a308d3UL, sum = 0;
  for (long r = 0; r < rounds; r++) {
    for (long u = 0; u < k; u++) {
      x = unit(x);
      sum += x;
    }
    sys_getppid(); // its result differs between kernels: not used
  }
  printf("syscall_mix: k=%ld rounds=%ld checksum=0x%016lx\n", k, rounds, sum);
  return 0;
}
