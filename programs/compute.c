// compute: pure computation with no system call but the final write, so
// it never needs the master. Usage: compute [N]. It runs N rounds of
// xorshift mixing (default 1000000, about 13 million instructions) and
// prints a checksum that depends only on N.
#include "user.h"

int main(int argc, char **argv) {
  long n = 1000000;
  if (argc > 2 || (argc == 2 && (parse_long(argv[1], &n) < 0 || n < 0))) {
    printf("usage: compute [N]\n");
    return 2;
  }
  uint64_t x = 0x9e3779b97f4a7c15UL, sum = 0;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum = (sum << 5 | sum >> 59) + x * 0x2545f4914f6cdd1dUL;
  }
  printf("compute: %ld iterations, checksum 0x%016lx\n", n, sum);
  return 0;
}
