// syscall_mix: the experiment workload. Each round does K units of
// computation and then one cheap system call (getppid), so K sets the
// share of time a process spends asking the master for service.
// Usage: syscall_mix [-k K | --share P%] [-r ROUNDS] [--threads T]. K may
// have two decimals (-k 4.65: four units and 65 hundredths of one). The
// output names neither the pid nor the hart, so every copy prints the
// same line.
//
// --threads T (or -t T; with -k only) runs the rounds in T threads of one
// process instead of in the process itself: each thread does the whole
// K-units-then-one-call loop for R rounds, and the main thread only waits
// for them (thread_join, a futex). Every thread computes the same
// checksum; the line printed after all have ended gives it and T.
//
// --share P% (or --share P; P may have one decimal, 0 < P < 100) makes
// the program choose K itself, so that system calls take about P% of its
// time. It first calibrates: it makes CAL_SAMPLES + 1 system calls, each
// after a random amount of computation (four rounds' worth on average, so
// that the calls of processes started together spread out rather than
// queue at the master), drops the first (every process starts at once, so
// those queue), and takes R = the fastest round trip of the others (a
// call that did not queue: the cost of a system call on an idle machine)
// and U = the time of one xorshift step. Time is rdcycle: simulated cycles
// on rvmsmp (exact and repeatable), host ticks under qemu-riscv64. K, in
// hundredths of a unit, is then the nearest to R / (R + K * U) = P / 100.
// After the rounds it prints the share it achieved: the sum of the
// measured round trips of its system calls over the time of all the
// rounds. K and that share depend on timing, so this line differs between
// machines (and between runs under qemu-riscv64); -k mode's line does not.
// The calibration sees the machine as it finds it: on a saturated master
// every round trip includes queueing, so K comes out larger and the
// workload lighter. Experiments that compare hart counts (rvmsmp sweep)
// therefore fix K with -k, taking the K that --share chose on one slave.
#include "thread.h"
#include "user.h"

#define UNIT_ITERATIONS 100 // one unit of compute: this many xorshift steps
#define CAL_SAMPLES 12      // timed system calls in the calibration, after one to warm up
#define CAL_GUESS 100       // a guess at a system call's cost, in xorshift steps

static uint64_t unit(uint64_t x) {
  for (int i = 0; i < UNIT_ITERATIONS; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

// `steps` xorshift steps (a unit is UNIT_ITERATIONS of them).
static uint64_t steps(uint64_t x, long n) {
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

// The cycle counter, read after whatever computed *v and before whatever
// uses it next (the asm claims to change *v, so gcc cannot move the
// computation across it) and in order with memory accesses and calls.
static inline uint64_t cycles(uint64_t *v) {
  uint64_t c;
  __asm__ volatile("rdcycle %0" : "=r"(c), "+r"(*v) : : "memory");
  return c;
}

// A count "K" or "K.D" / "K.DD" in hundredths; -1 if it is not one.
static long parse_hundredths(const char *s) {
  long v = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    v = v * 10 + (*s - '0');
    if (v > 1000000000L)
      return -1;
  }
  v *= 100;
  if (*s == '.') {
    s++;
    for (long scale = 10; scale > 0; scale /= 10) {
      if (*s < '0' || *s > '9')
        break;
      v += (*s++ - '0') * scale;
    }
  }
  if (*s != 0 || digits == 0)
    return -1;
  return v;
}

static void usage(void) {
  printf("usage: syscall_mix [-k K | --share P%%] [-r ROUNDS] [--threads T]\n");
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

// A share "P", "P%", "P.D" or "P.D%" in tenths of a percent, strictly
// between 0 and 100%; -1 if it is not one.
static long parse_share(const char *s) {
  long tenths = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    tenths = tenths * 10 + (*s - '0');
    if (tenths > 1000)
      return -1;
  }
  tenths *= 10;
  if (*s == '.') {
    s++;
    if (*s < '0' || *s > '9')
      return -1;
    tenths += *s++ - '0';
  }
  if (*s == '%')
    s++;
  if (*s != 0 || digits == 0 || tenths <= 0 || tenths >= 1000)
    return -1;
  return tenths;
}

// --share: calibrate, run, and report the share achieved.
static void run_share(long target, long rounds) {
  uint64_t x = 0x243f6a8885a308d3UL, sum = 0;
  // A round's computation at the target share if a call cost CAL_GUESS steps.
  uint64_t round = CAL_GUESS * (uint64_t)(1000 - target) / (uint64_t)target;
  uint64_t seed = (uint64_t)sys_getpid() * 0x9e3779b97f4a7c15UL; // each process its own gaps
  uint64_t fastest = ~0UL, gap_cycles = 0, gap_steps = 0;
  for (int i = -1; i < CAL_SAMPLES; i++) {
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    long n = (long)((seed >> 33) % (8 * round + 1));
    uint64_t t0 = cycles(&x);
    x = steps(x, n);
    uint64_t t1 = cycles(&x);
    sys_getppid();
    uint64_t t2 = cycles(&x);
    if (i < 0)
      continue; // all processes start at once: their first calls queue behind each other
    gap_cycles += t1 - t0;
    gap_steps += n;
    if (t2 - t1 < fastest)
      fastest = t2 - t1;
  }
  // R / (R + n * gap_cycles / gap_steps) = target / 1000, for n steps.
  uint64_t num = fastest * (uint64_t)(1000 - target) * gap_steps;
  uint64_t den = (uint64_t)target * (gap_cycles ? gap_cycles : 1);
  long n = (long)((num + den / 2) / den);

  x = 0x243f6a8885a308d3UL; // the checksum depends on K and the rounds alone
  uint64_t in_calls = 0, start = cycles(&x);
  for (long i = 0; i < rounds; i++) {
    x = steps(x, n);
    sum += x;
    uint64_t t0 = cycles(&x);
    sys_getppid();
    in_calls += cycles(&x) - t0;
  }
  uint64_t total = cycles(&x) - start;
  uint64_t achieved = total ? (in_calls * 1000 + total / 2) / total : 0;
  printf("syscall_mix: share target %ld.%ld%% achieved %lu.%lu%% k=%ld.%02ld rounds=%ld checksum=0x%016lx\n",
         target / 10, target % 10, achieved / 10, achieved % 10, n / UNIT_ITERATIONS, n % UNIT_ITERATIONS, rounds,
         sum);
}

// --threads: the rounds of -k mode, in threads of this process.
#define MAX_THREADS 256

struct worker {
  long whole, part, rounds; // the loop's K (whole units and steps) and R
  uint64_t sum;             // the thread's checksum
  struct thread thread;
};

// The -k loop of main, run by one thread; the start gap is seeded by the
// tid, as main's is by the pid, so the threads do not start in step.
static void run_worker(void *arg) {
  struct worker *w = arg;
  uint64_t gap = (uint64_t)sys_gettid() * 0x9e3779b97f4a7c15UL;
  gap = steps(gap, (long)((gap >> 33) % (uint64_t)(w->whole * UNIT_ITERATIONS + w->part + 1)));
  __asm__ volatile("" : : "r"(gap)); // the wait is the point: keep it
  uint64_t x = 0x243f6a8885a308d3UL, sum = 0;
  for (long r = 0; r < w->rounds; r++) {
    for (long u = 0; u < w->whole; u++) {
      x = unit(x);
      sum += x;
    }
    if (w->part) {
      x = steps(x, w->part);
      sum += x;
    }
    sys_getppid(); // its result differs between kernels: not used
  }
  w->sum = sum;
}

static int run_threads(long k, long rounds, long threads) {
  long whole = k / 100, part = k % 100 * UNIT_ITERATIONS / 100;
  // From mmap rather than a static array: the image, and so what the
  // kernel loads for the unthreaded runs, stays as small as before.
  long mem = sys_mmap(0, threads * sizeof(struct worker), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
  if (is_error(mem)) {
    printf("syscall_mix: no memory for %ld threads\n", threads);
    return 1;
  }
  struct worker *workers = (struct worker *)mem;
  for (long i = 0; i < threads; i++) {
    workers[i].whole = whole;
    workers[i].part = part;
    workers[i].rounds = rounds;
    long tid = thread_start(&workers[i].thread, run_worker, &workers[i]);
    if (tid < 0) {
      printf("syscall_mix: cannot create thread %ld: error %ld\n", i + 1, -tid);
      sys_exit_group(1);
    }
  }
  for (long i = 0; i < threads; i++)
    thread_join(&workers[i].thread);
  for (long i = 1; i < threads; i++) {
    if (workers[i].sum != workers[0].sum) {
      printf("syscall_mix: thread %ld's checksum 0x%016lx differs from thread 1's 0x%016lx\n", i + 1,
             workers[i].sum, workers[0].sum);
      return 1;
    }
  }
  if (k % 100)
    printf("syscall_mix: k=%ld.%02ld rounds=%ld threads=%ld checksum=0x%016lx\n", whole, k % 100, rounds,
           threads, workers[0].sum);
  else
    printf("syscall_mix: k=%ld rounds=%ld threads=%ld checksum=0x%016lx\n", whole, rounds, threads,
           workers[0].sum);
  return 0;
}

int main(int argc, char **argv) {
  long k = 100 * 100, rounds = 200, share = 0, threads = 0; // k in hundredths of a unit
  int have_k = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-k")) {
      if (i + 1 >= argc || (k = parse_hundredths(argv[++i])) < 0)
        usage();
      have_k = 1;
    } else if (!strcmp(argv[i], "-r")) {
      rounds = count_arg(argc, argv, &i);
    } else if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "-t")) {
      threads = count_arg(argc, argv, &i);
      if (threads < 1 || threads > MAX_THREADS)
        usage();
    } else if (!strcmp(argv[i], "--share")) {
      if (i + 1 >= argc || (share = parse_share(argv[++i])) < 0)
        usage();
    } else {
      usage();
    }
  }
  if (share > 0) {
    if (have_k)
      usage();
    if (threads)
      usage();
    run_share(share, rounds);
    return 0;
  }
  if (threads)
    return run_threads(k, rounds, threads);

  long whole = k / 100, part = k % 100 * UNIT_ITERATIONS / 100;
  // Every copy starts at about the same moment and would make its first
  // call together with all the others, and then keep in step with them.
  // Independent processes would not: each first waits a pid-seeded
  // share of one round (not counted in the checksum).
  uint64_t gap = (uint64_t)sys_getpid() * 0x9e3779b97f4a7c15UL;
  gap = steps(gap, (long)((gap >> 33) % (uint64_t)(whole * UNIT_ITERATIONS + part + 1)));
  __asm__ volatile("" : : "r"(gap)); // the wait is the point: keep it
  uint64_t x = 0x243f6a8885a308d3UL, sum = 0;
  for (long r = 0; r < rounds; r++) {
    for (long u = 0; u < whole; u++) {
      x = unit(x);
      sum += x;
    }
    if (part) {
      x = steps(x, part);
      sum += x;
    }
    sys_getppid(); // its result differs between kernels: not used
  }
  if (k % 100)
    printf("syscall_mix: k=%ld.%02ld rounds=%ld checksum=0x%016lx\n", whole, k % 100, rounds, sum);
  else
    printf("syscall_mix: k=%ld rounds=%ld checksum=0x%016lx\n", whole, rounds, sum);
  return 0;
}
