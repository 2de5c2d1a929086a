// alloc: exercises brk and anonymous mmap/munmap: grows and shrinks the
// heap, maps regions of several sizes, checks that fresh memory is zero
// and that written patterns survive, and that bad calls fail as on Linux.
// Prints `alloc: ok`, or one line per failed check and a count; exits 0
// only on success. Addresses are never printed: they differ between
// kernels.
#include "user.h"

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    printf("alloc: FAIL: %s\n", what);
    failures++;
  }
}

// The byte the pattern `seed` puts at address a.
static unsigned char pattern(unsigned long a, unsigned seed) { return (unsigned char)(a * 7 + (a >> 12) + seed); }

static void fill(unsigned long from, unsigned long to, unsigned seed) {
  for (unsigned long a = from; a < to; a++)
    *(unsigned char *)a = pattern(a, seed);
}

static int holds(unsigned long from, unsigned long to, unsigned seed) {
  for (unsigned long a = from; a < to; a++)
    if (*(unsigned char *)a != pattern(a, seed))
      return 0;
  return 1;
}

static int is_zero(unsigned long from, unsigned long to) {
  for (unsigned long a = from; a < to; a++)
    if (*(unsigned char *)a)
      return 0;
  return 1;
}

static unsigned long page_up(unsigned long a) { return (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

#define BRK_STEPS 8
#define BRK_STEP (16 * 1024 + 100) // not a page multiple: brk need not be aligned

static void test_brk(void) {
  unsigned long base = sys_brk(0);
  check(base != 0 && !is_error(base), "brk(0) gives the current break");
  check(sys_brk(base - PAGE_SIZE) == (long)base, "brk below the start fails");
  check(sys_brk(1UL << 62) == (long)base, "brk beyond the address space fails");

  // Grow in steps, writing each new part; the heap starts out zero.
  unsigned long top = base;
  for (int i = 0; i < BRK_STEPS; i++) {
    unsigned long want = top + BRK_STEP;
    if (sys_brk(want) != (long)want) {
      check(0, "brk grows the heap");
      return;
    }
    check(is_zero(top, want), "new heap memory is zero");
    fill(top, want, 1);
    top = want;
  }
  check(holds(base, top, 1), "the heap keeps what was written");

  // Shrink, then grow again: what stayed keeps its contents, and the pages
  // given back come back zeroed.
  unsigned long low = base + 5000;
  check(sys_brk(low) == (long)low, "brk shrinks the heap");
  check(holds(base, low, 1), "shrinking keeps the heap below the break");
  check(sys_brk(top) == (long)top, "brk grows the heap again");
  check(is_zero(page_up(low), top), "pages given back come back zero");
  check(sys_brk(base) == (long)base, "brk returns to the start");
}

static long map(void *addr, unsigned long len, long prot, long flags) {
  return sys_mmap(addr, len, prot, flags, -1, 0);
}

#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static void test_mmap_sizes(void) {
  static const unsigned long sizes[] = {1, PAGE_SIZE, 3 * PAGE_SIZE + 100, 64 * 1024, 256 * 1024};
  enum { N = sizeof sizes / sizeof sizes[0] };
  long at[N];
  for (int i = 0; i < N; i++) {
    at[i] = map(0, sizes[i], RW, ANON);
    if (is_error(at[i])) {
      check(0, "mmap maps anonymous memory");
      return;
    }
    check(at[i] % PAGE_SIZE == 0, "mmap gives a page-aligned address");
    check(is_zero(at[i], at[i] + page_up(sizes[i])), "mapped memory is zero");
    fill(at[i], at[i] + sizes[i], 10 + i);
  }
  // All still mapped at once: no two regions overlap.
  for (int i = 0; i < N; i++)
    check(holds(at[i], at[i] + sizes[i], 10 + i), "mapped memory keeps what was written");
  for (int i = 0; i < N; i++)
    check(sys_munmap((void *)at[i], sizes[i]) == 0, "munmap unmaps");
}

static void test_mmap_layout(void) {
  // Unmapping the middle page of four leaves the others intact.
  long a = map(0, 4 * PAGE_SIZE, RW, ANON);
  if (is_error(a)) {
    check(0, "mmap maps four pages");
    return;
  }
  fill(a, a + 4 * PAGE_SIZE, 20);
  check(sys_munmap((void *)(a + PAGE_SIZE), PAGE_SIZE) == 0, "munmap of one page");
  check(holds(a, a + PAGE_SIZE, 20) && holds(a + 2 * PAGE_SIZE, a + 4 * PAGE_SIZE, 20),
        "a partial munmap keeps the other pages");

  // MAP_FIXED over a mapped page replaces it with a fresh one.
  long b = map((void *)(a + 2 * PAGE_SIZE), PAGE_SIZE, RW, ANON | MAP_FIXED);
  check(b == a + 2 * PAGE_SIZE, "MAP_FIXED maps where it is told");
  check(is_zero(b, b + PAGE_SIZE), "MAP_FIXED gives a fresh page");
  check(holds(a + 3 * PAGE_SIZE, a + 4 * PAGE_SIZE, 20), "MAP_FIXED keeps the next page");
  // Unmapping a range with a hole in it is fine.
  check(sys_munmap((void *)a, 4 * PAGE_SIZE) == 0, "munmap over a hole");

  long r = map(0, 2 * PAGE_SIZE, PROT_READ, ANON);
  check(!is_error(r) && is_zero(r, r + 2 * PAGE_SIZE), "a read-only mapping reads zero");
  if (!is_error(r))
    check(sys_munmap((void *)r, 2 * PAGE_SIZE) == 0, "munmap of a read-only mapping");
}

static void test_errors(void) {
  check(map(0, 0, RW, ANON) == -EINVAL, "mmap of length 0 gives EINVAL");
  check(map(0, PAGE_SIZE, RW, MAP_ANONYMOUS) == -EINVAL, "mmap neither private nor shared gives EINVAL");
  check(map((void *)(0x40000000 + 100), PAGE_SIZE, RW, ANON | MAP_FIXED) == -EINVAL,
        "MAP_FIXED at an unaligned address gives EINVAL");
  check(map(0, PAGE_SIZE, RW, MAP_PRIVATE) == -EBADF, "mmap of file -1 gives EBADF");
  long a = map(0, PAGE_SIZE, RW, ANON);
  check(!is_error(a), "mmap maps a page");
  check(sys_munmap((void *)(a + 1), PAGE_SIZE) == -EINVAL, "munmap of an unaligned address gives EINVAL");
  check(sys_munmap((void *)a, 0) == -EINVAL, "munmap of length 0 gives EINVAL");
  check(sys_munmap((void *)a, PAGE_SIZE) == 0, "munmap unmaps");
}

int main(void) {
  test_brk();
  test_mmap_sizes();
  test_mmap_layout();
  test_errors();
  if (failures) {
    printf("alloc: %d checks failed\n", failures);
    return 1;
  }
  printf("alloc: ok\n");
  return 0;
}
