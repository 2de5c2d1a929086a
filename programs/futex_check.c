// futex_check: threads that check the kernel's futexes, thread exit and
// signal delivery from the inside, for the property tests (tests/threads.rs)
// and under qemu-riscv64 alike. Each mode prints one line ending in "ok"
// and exits 0 when every check holds; a lost wake-up shows as a deadlock.
//
//   futex_check sem T N SEED    T threads: half post N tokens each to a
//                               futex semaphore, half take them. Every
//                               FUTEX_WAIT that returns 0 must have been
//                               released by exactly one FUTEX_WAKE: the sum
//                               of the wakes' counts equals the number of
//                               such returns.
//   futex_check join T SEED     T threads exit after random work; the main
//                               thread joins each on its tid word, which the
//                               kernel clears and wakes at the thread's exit.
//   futex_check deadlock        a thread waits on a futex nobody wakes and
//                               the main thread joins it: the kernel must
//                               report the deadlock (it never ends by itself).
//   futex_check shootdown       a thread reads a page in a loop while the
//                               main thread unmaps it: once munmap has
//                               returned, no read may succeed (the other
//                               hart's TLB must have been shot down); the
//                               reader's SIGSEGV handler maps it back.
//   futex_check signal N SEED   a thread spins with every register set to a
//                               pattern while the main thread signals it N
//                               times; the handler clobbers the registers;
//                               the spinner checks them all afterwards.
#include "user.h"

#define SYS_FUTEX 98
#define SYS_CLONE 220
#define SYS_TGKILL 131
#define SYS_RT_SIGACTION 134
#define SYS_GETTID 178
#define SYS_SCHED_YIELD 124

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE 128
#define MATCH_ANY 0xffffffffu

#define CLONE_THREAD_FLAGS 0x3d0f00 // glibc's: VM FS FILES SIGHAND THREAD SYSVSEM SETTLS PARENT_SETTID CHILD_CLEARTID
#define SIGUSR1 10
#define SA_SIGINFO 4

struct ksigaction {
  void (*handler)(int);
  unsigned long flags;
  unsigned long mask;
};

#define MAX_THREADS 16
#define STACK_SIZE 16384

long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long thread_spawn(long flags, void *stack_top, int *ptid, void *tls, int *ctid, long (*fn)(long), long arg);
unsigned long spin_check(unsigned long iterations, unsigned long seed);
void clobber_registers(void);

// The raw system call, and a thread start: clone, then in the child call
// fn(arg) on the new stack and exit with its result. The child starts with
// the parent's registers (a5 = fn, a6 = arg) and the stack it was given.
asm(".text\n"
    ".globl syscall6\n"
    "syscall6:\n"
    "  mv a7, a0\n  mv a0, a1\n  mv a1, a2\n  mv a2, a3\n  mv a3, a4\n  mv a4, a5\n  mv a5, a6\n"
    "  ecall\n  ret\n"
    ".globl thread_spawn\n"
    "thread_spawn:\n"
    "  li a7, 220\n  ecall\n"
    "  bnez a0, 1f\n"
    "  mv a0, a6\n  jalr a5\n"
    "  li a7, 93\n  ecall\n"
    "1: ret\n");

static long futex(volatile int *word, int op, int val) { return syscall6(SYS_FUTEX, (long)word, op, val, 0, 0, MATCH_ANY); }

static char stacks[MAX_THREADS][STACK_SIZE] __attribute__((aligned(16)));
static int tids[MAX_THREADS];

static long spawn(int i, long (*fn)(long), long arg) {
  return thread_spawn(CLONE_THREAD_FLAGS, stacks[i] + STACK_SIZE, &tids[i], 0, &tids[i], fn, arg);
}

// Waits until thread i has exited: the kernel zeroes its tid word and wakes
// it (shared, as Linux's exit does).
static void join(int i) {
  int tid;
  while ((tid = __atomic_load_n(&tids[i], __ATOMIC_ACQUIRE)) != 0)
    futex(&tids[i], FUTEX_WAIT, tid);
}

static unsigned long next(unsigned long *state) {
  *state = *state * 6364136223846793005UL + 1442695040888963407UL;
  return *state >> 33;
}

// Burns a random number of cycles, so threads meet in many orders.
static void dawdle(unsigned long *state) {
  unsigned long n = next(state) % 200;
  for (volatile unsigned long i = 0; i < n; i++)
    ;
  if (next(state) % 8 == 0)
    syscall6(SYS_SCHED_YIELD, 0, 0, 0, 0, 0, 0);
}

// ---- sem ----

static volatile int tokens;     // the semaphore's count, and its futex word
static long released_waits;     // FUTEX_WAITs that returned 0
static long wake_counts;        // the sum of FUTEX_WAKE results
static long overwakes;          // FUTEX_WAKEs for one waiter that reported more
static long taken;
static long per_thread, seed;

static long consumer(long i) {
  unsigned long state = seed ^ (i * 0x9e3779b97f4a7c15UL);
  for (long got = 0; got < per_thread;) {
    int v = __atomic_load_n(&tokens, __ATOMIC_ACQUIRE);
    if (v > 0) {
      if (__atomic_compare_exchange_n(&tokens, &v, v - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        got++;
        __atomic_fetch_add(&taken, 1, __ATOMIC_RELAXED);
        dawdle(&state);
      }
      continue;
    }
    int op = (next(&state) & 1 ? FUTEX_WAIT_BITSET : FUTEX_WAIT) | (next(&state) & 1 ? FUTEX_PRIVATE : 0);
    if (futex(&tokens, op, 0) == 0)
      __atomic_fetch_add(&released_waits, 1, __ATOMIC_RELAXED);
  }
  return 0;
}

static long producer(long i) {
  unsigned long state = seed ^ (i * 0xbf58476d1ce4e5b9UL);
  for (long n = 0; n < per_thread; n++) {
    dawdle(&state);
    __atomic_fetch_add(&tokens, 1, __ATOMIC_ACQ_REL);
    // The same privacy as the waiters pick is not guaranteed: a private
    // wake only meets private waits. Wake both ways, as a library that
    // mixes them must.
    long woken = futex(&tokens, FUTEX_WAKE | FUTEX_PRIVATE, 1);
    if (woken == 0)
      woken = futex(&tokens, next(&state) & 1 ? FUTEX_WAKE_BITSET : FUTEX_WAKE, 1);
    if (woken > 1)
      __atomic_fetch_add(&overwakes, 1, __ATOMIC_RELAXED);
    if (woken > 0)
      __atomic_fetch_add(&wake_counts, woken, __ATOMIC_RELAXED);
  }
  return 0;
}

static int run_sem(long threads) {
  long consumers = threads / 2, producers = threads - consumers;
  // Each producer posts per_thread tokens; the consumers take them all.
  long total = producers * per_thread;
  long each = total / consumers;
  long extra = total - each * consumers;
  if (extra) {
    printf("sem: %ld tokens do not split over %ld consumers\n", total, consumers);
    return 2;
  }
  long produced_each = per_thread;
  for (long i = 0; i < producers; i++)
    spawn(i, producer, i);
  per_thread = produced_each; // producers read it as they start; consumers too
  for (long i = 0; i < consumers; i++)
    spawn(producers + i, consumer, i);
  for (long i = 0; i < threads; i++)
    join(i);
  int ok = taken == total && released_waits == wake_counts && tokens == 0 && overwakes == 0;
  printf("sem: %ld threads, %ld tokens taken, %ld waits released by %ld wakes: %s\n", threads, taken, released_waits,
         wake_counts, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// ---- join ----

static long exits_seen[MAX_THREADS];

static long worker(long i) {
  unsigned long state = seed ^ (i * 0x94d049bb133111ebUL);
  long n = next(&state) % 20;
  for (long k = 0; k < n; k++)
    dawdle(&state);
  exits_seen[i] = syscall6(SYS_GETTID, 0, 0, 0, 0, 0, 0);
  return 0;
}

static int run_join(long threads) {
  for (long i = 0; i < threads; i++)
    if (spawn(i, worker, i) <= 0) {
      printf("join: clone failed\n");
      return 1;
    }
  int ok = 1;
  for (long i = 0; i < threads; i++) {
    join(i);
    ok &= tids[i] == 0 && exits_seen[i] > 0;
  }
  printf("join: %ld threads, every tid word cleared and woken: %s\n", threads, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// ---- signal ----

// The spinner sets x1 and x5..x31 (all but sp, gp, tp: the runtime's) and
// f0..f31 to patterns from the seed, counts down `iterations` with every
// one of them live, and returns how many registers differ at the end from
// what they must hold (0: all preserved). A signal handler that ran in
// between and returned anywhere but the interrupted instruction, or left
// a register changed, makes the count non-zero or the loop miscount.
asm(".text\n"
    ".option push\n"
    ".option arch, +d\n"
    ".globl spin_check\n"
    "spin_check:\n"
    "  addi sp, sp, -128\n"
    "  sd ra, 0(sp)\n  sd s0, 8(sp)\n  sd s1, 16(sp)\n  sd s2, 24(sp)\n  sd s3, 32(sp)\n  sd s4, 40(sp)\n"
    "  sd s5, 48(sp)\n  sd s6, 56(sp)\n  sd s7, 64(sp)\n  sd s8, 72(sp)\n  sd s9, 80(sp)\n  sd s10, 88(sp)\n"
    "  sd s11, 96(sp)\n  sd a1, 112(sp)\n  sd a0, 120(sp)\n"
    // Register r gets seed * r + r (a0 is the scratch; a1, the seed, last).
    "  .irp r, 1,5,6,7,8,9,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "    li a0, \\r\n    mul x\\r, a1, a0\n    add x\\r, x\\r, a0\n"
    "  .endr\n"
    "  li a0, 11\n  mul a0, a1, a0\n  addi a1, a0, 11\n"
    "  .irp r, 1,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "    fmv.d.x f\\r, x\\r\n"
    "  .endr\n"
    // Count down with every pattern live; a0 is the counter.
    "  ld a0, 120(sp)\n"
    // t6 (x31) counts the iterations too: a handler that returned past or
    // before the interrupted instruction makes the two disagree.
    "2:\n"
    "  addi a0, a0, -1\n"
    "  addi t6, t6, 1\n"
    "  bnez a0, 2b\n"
    // Save what the registers hold and compare in C.
    "  addi sp, sp, -512\n"
    "  .irp r, 1,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "    sd x\\r, (\\r * 8)(sp)\n"
    "  .endr\n"
    "  .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "    fsd f\\r, (256 + \\r * 8)(sp)\n"
    "  .endr\n"
    "  mv a0, sp\n"
    "  addi a1, sp, 256\n"
    "  ld a2, (512 + 112)(sp)\n"
    "  ld a3, (512 + 120)(sp)\n"
    "  call spin_compare_values\n"
    "  addi sp, sp, 512\n"
    "  ld ra, 0(sp)\n  ld s0, 8(sp)\n  ld s1, 16(sp)\n  ld s2, 24(sp)\n  ld s3, 32(sp)\n  ld s4, 40(sp)\n"
    "  ld s5, 48(sp)\n  ld s6, 56(sp)\n  ld s7, 64(sp)\n  ld s8, 72(sp)\n  ld s9, 80(sp)\n  ld s10, 88(sp)\n"
    "  ld s11, 96(sp)\n"
    "  addi sp, sp, 128\n"
    "  ret\n"
    ".option pop\n");

unsigned long spin_compare_values(unsigned long *x, unsigned long *f, unsigned long seed, unsigned long iterations);

unsigned long spin_compare_values(unsigned long *x, unsigned long *f, unsigned long seed, unsigned long iterations) {
  static const int checked[] = {1, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  unsigned long wrong = 0;
  for (unsigned i = 0; i < sizeof checked / sizeof checked[0]; i++) {
    int r = checked[i];
    wrong += x[r] != seed * r + r + (r == 31 ? iterations : 0);
  }
  // The FP registers got the same patterns (f0, f2, f3, f4 and f10 none).
  for (unsigned i = 0; i < sizeof checked / sizeof checked[0]; i++) {
    int r = checked[i];
    wrong += f[r] != seed * r + r;
  }
  return wrong;
}

// The handler runs on the spinner's stack; it clobbers every register it
// may (the kernel must restore them all from the frame).
asm(".text\n"
    ".option push\n"
    ".option arch, +d\n"
    ".globl clobber_registers\n"
    "clobber_registers:\n"
    "  .irp r, 5,6,7,10,11,12,13,14,15,16,17,28,29,30,31\n"
    "    li x\\r, -1\n"
    "  .endr\n"
    "  .irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "    fmv.d.x f\\r, x5\n"
    "  .endr\n"
    "  ret\n"
    ".option pop\n");

static volatile long handled;
static volatile int spinner_tid;
static volatile long spin_result = -1;
static unsigned long spin_iterations;
static int verbose; // "signal N SEED -v": also print the counts

static void on_signal(int sig) {
  handled++;
  clobber_registers();
}

static long spinner(long arg) {
  spinner_tid = syscall6(SYS_GETTID, 0, 0, 0, 0, 0, 0);
  spin_result = spin_check(spin_iterations, seed | 1);
  return 0;
}


static int run_signal(long signals) {
  struct ksigaction act = {on_signal, 0, 0};
  if (syscall6(SYS_RT_SIGACTION, SIGUSR1, (long)&act, 0, 8, 0, 0) != 0) {
    printf("signal: rt_sigaction failed\n");
    return 1;
  }
  spin_iterations = 1000000 + signals * 20000; // longer than a time slice
  spawn(0, spinner, 0);
  while (!spinner_tid)
    syscall6(SYS_SCHED_YIELD, 0, 0, 0, 0, 0, 0);
  long sent = 0;
  unsigned long state = seed;
  // Signals at random moments while it spins (it may finish first).
  while (sent < signals && spin_result < 0) {
    for (unsigned long n = next(&state) % 3000; n > 0; n--)
      __asm__ volatile("");
    if (spin_result < 0 && syscall6(SYS_TGKILL, sys_getpid(), spinner_tid, SIGUSR1, 0, 0, 0) == 0)
      sent++;
  }
  join(0);
  // At least one signal must have landed while the spinner spun.
  int ok = spin_result == 0 && handled > 0 && handled <= sent;
  printf("signal: %s registers preserved across %s: %s\n", spin_result == 0 ? "all" : "NOT all",
         handled ? "the handlers" : "no handler (none ran)", ok ? "ok" : "FAILED");
  if (verbose)
    printf("signal: %ld sent, %ld handled\n", sent, handled);
  return ok ? 0 : 1;
}

#define SYS_RT_SIGPROCMASK 135
#define SYS_RT_SIGSUSPEND 133
#define SIG_BLOCK 0
#define EINTR 4

static volatile long suspended_handled;

static void on_suspended_signal(int sig) { suspended_handled++; }

// rt_sigsuspend with a signal already pending, which the wait's mask lets
// through and the thread's own mask blocks: it must be taken at once,
// under the wait's mask (-EINTR, the handler run once), and the thread's
// mask must be back afterwards (a kernel that restored the old mask
// before delivering would return without ever running the handler).
static int run_sigsuspend(void) {
  struct ksigaction act = {on_suspended_signal, 0, 0};
  unsigned long usr1 = 1UL << (SIGUSR1 - 1), none = 0, now = 0;
  if (syscall6(SYS_RT_SIGACTION, SIGUSR1, (long)&act, 0, 8, 0, 0) != 0 ||
      syscall6(SYS_RT_SIGPROCMASK, SIG_BLOCK, (long)&usr1, 0, 8, 0, 0) != 0 ||
      syscall6(SYS_TGKILL, sys_getpid(), syscall6(SYS_GETTID, 0, 0, 0, 0, 0, 0), SIGUSR1, 0, 0, 0) != 0) {
    printf("sigsuspend: setting up failed\n");
    return 1;
  }
  long before = suspended_handled;
  long r = syscall6(SYS_RT_SIGSUSPEND, (long)&none, 8, 0, 0, 0, 0);
  syscall6(SYS_RT_SIGPROCMASK, SIG_BLOCK, 0, (long)&now, 8, 0, 0);
  int ok = r == -EINTR && before == 0 && suspended_handled == 1 && now == usr1;
  printf("sigsuspend: returned %ld, handler ran %ld time(s), mask %s afterwards: %s\n", r, suspended_handled,
         now == usr1 ? "restored" : "NOT restored", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

#define SYS_MMAP 222
#define SYS_MUNMAP 215
#define SIGSEGV 11

static volatile char *shared_page;
static volatile int reader_started, unmapped, faulted, stale;

static void on_segv(int sig) {
  faulted = 1;
  syscall6(SYS_MMAP, (long)shared_page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static long reader(long arg) {
  for (;;) {
    int was_unmapped = __atomic_load_n(&unmapped, __ATOMIC_ACQUIRE);
    (void)shared_page[0]; // faults once the page is gone, if this hart's TLB knows it
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    reader_started = 1;
    if (faulted)
      return 0;
    if (was_unmapped) {
      stale = 1; // a read that succeeded after munmap returned
      return 0;
    }
  }
}

static int run_shootdown(void) {
  struct ksigaction act = {on_segv, 0, 0};
  syscall6(SYS_RT_SIGACTION, SIGSEGV, (long)&act, 0, 8, 0, 0);
  shared_page = (volatile char *)syscall6(SYS_MMAP, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  shared_page[0] = 1;
  spawn(0, reader, 0);
  while (!reader_started)
    ;
  syscall6(SYS_MUNMAP, (long)shared_page, 4096, 0, 0, 0, 0);
  __atomic_store_n(&unmapped, 1, __ATOMIC_RELEASE);
  join(0);
  int ok = faulted && !stale;
  printf("shootdown: %s: %s\n", stale ? "the reader read the page after munmap returned" : "no read after munmap returned",
         ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

static volatile int never;

static long wait_for_ever(long arg) {
  futex(&never, FUTEX_WAIT | FUTEX_PRIVATE, 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "shootdown") == 0)
    return run_shootdown();
  if (argc == 2 && strcmp(argv[1], "sigsuspend") == 0)
    return run_sigsuspend();
  if (argc == 2 && strcmp(argv[1], "deadlock") == 0) {
    spawn(0, wait_for_ever, 0);
    join(0);
    printf("deadlock: the waiter was woken\n");
    return 1;
  }
  long a = 0, b = 0, c = 0;
  if (argc >= 4 && strcmp(argv[1], "sem") == 0 && parse_long(argv[2], &a) == 0 && parse_long(argv[3], &b) == 0 &&
      (argc < 5 || parse_long(argv[4], &c) == 0) && a >= 2 && a <= MAX_THREADS) {
    per_thread = b;
    seed = c;
    return run_sem(a);
  }
  if (argc >= 3 && strcmp(argv[1], "join") == 0 && parse_long(argv[2], &a) == 0 &&
      (argc < 4 || parse_long(argv[3], &c) == 0) && a >= 1 && a <= MAX_THREADS) {
    seed = c;
    return run_join(a);
  }
  if (argc >= 3 && strcmp(argv[1], "signal") == 0 && parse_long(argv[2], &a) == 0 &&
      (argc < 4 || parse_long(argv[3], &c) == 0)) {
    seed = c;
    verbose = argc >= 5 && strcmp(argv[4], "-v") == 0;
    return run_signal(a);
  }
  printf("usage: futex_check sem THREADS TOKENS [SEED] | join THREADS [SEED] | signal COUNT [SEED] | sigsuspend | shootdown | deadlock\n");
  return 2;
}
