// bench_int: integer and branch work. Usage: bench_int [N]. For each of N
// consecutive start values it follows the Collatz sequence down to 1 (a
// data-dependent branch at every step, shifts, adds) and folds the step
// counts and peaks into a checksum that depends only on N.
#include "bench.h"

#define USAGE "bench_int [N]"
#define FIRST 1000000UL // the first start value: sequences of ~100-500 steps

int main(int argc, char **argv) {
  if (argc > 2)
    bench_usage(USAGE);
  long n = bench_arg(argc, argv, 1, 200000, 0, USAGE);
  uint64_t sum = 0, longest = 0;
  for (uint64_t start = FIRST; start < FIRST + (uint64_t)n; start++) {
    uint64_t x = start, steps = 0, peak = x;
    while (x != 1) {
      if (x & 1) {
        x = 3 * x + 1;
        if (x > peak)
          peak = x;
      } else {
        x >>= 1;
      }
      steps++;
    }
    if (steps > longest)
      longest = steps;
    sum = (sum << 7 | sum >> 57) ^ (steps * 0x9e3779b97f4a7c15UL + peak);
  }
  bench_report("bench_int", sum ^ longest);
  return 0;
}
