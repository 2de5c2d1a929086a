// bench_memwalk: random memory access. Usage: bench_memwalk [STEPS [MIB]].
// It links the 8-byte slots of a MIB MiB buffer (default 32) into one
// random cycle (Sattolo's shuffle: every slot holds the index of the next
// one), then follows the chain for STEPS loads, each depending on the one
// before, so nearly every load lands on a different page from the last.
// The checksum depends only on STEPS and MIB.
#include "bench.h"

#define USAGE "bench_memwalk [STEPS [MIB]]"

static uint64_t rng = 0x853c49e6748fea9bUL;

static inline uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(int argc, char **argv) {
  if (argc > 3)
    bench_usage(USAGE);
  long steps = bench_arg(argc, argv, 1, 4000000, 0, USAGE);
  long mib = bench_arg(argc, argv, 2, 32, 1, USAGE);
  if (mib > 4096)
    bench_usage(USAGE);
  unsigned long bytes = (unsigned long)mib << 20, n = bytes / 8;
  uint64_t *slot = (uint64_t *)sys_mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (is_error((long)slot)) {
    printf("bench_memwalk: mmap of %ld MiB failed\n", mib);
    return 1;
  }
  for (unsigned long i = 0; i < n; i++)
    slot[i] = i;
  // Sattolo: swapping each slot with a random one strictly below it gives
  // a single cycle through all n slots.
  for (unsigned long i = n - 1; i > 0; i--) {
    unsigned long j = (unsigned long)(((unsigned __int128)next_random() * i) >> 64);
    uint64_t t = slot[i];
    slot[i] = slot[j];
    slot[j] = t;
  }
  uint64_t at = 0, sum = 0;
  for (long s = 0; s < steps; s++) {
    at = slot[at];
    sum += at ^ (uint64_t)s;
  }
  bench_report("bench_memwalk", sum * 0x9e3779b97f4a7c15UL ^ at);
  return 0;
}
