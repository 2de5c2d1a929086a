// The runtime of the bare-metal benchmark builds: what user.h promises
// and the benchmarks use, over HTIF (the host-target interface of Spike
// and riscv-tests, which `rvmsmp bare` also serves). Output goes through
// HTIF's proxied write system call, the exit status through `tohost`, and
// sys_mmap hands out memory after the program with a bump pointer. The
// arguments come from bench_args, which `cargo xtask bench` fills in a
// copy of the ELF file, since neither machine passes any.
#include "user.h"

// HTIF's two words: the host polls tohost and answers in fromhost.
volatile uint64_t tohost __attribute__((section(".tohost"), aligned(64)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(64)));

// A system call for the host: the number, then the arguments.
static volatile uint64_t htif_call[8] __attribute__((aligned(64)));

#define HTIF_SYS_WRITE 64
#define HTIF_SYS_EXIT 93
#define ARGS_MARK "rvmsmp-bench-args:"
#define MAX_ARGS 8

// The marker, then the arguments separated by spaces. `cargo xtask bench`
// finds the marker in the ELF file and writes the arguments after it.
char bench_args[96] = ARGS_MARK;

extern int main(int argc, char **argv);
extern char _end[];

static uint64_t host_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
  htif_call[0] = nr;
  htif_call[1] = a0;
  htif_call[2] = a1;
  htif_call[3] = a2;
  __sync_synchronize();
  tohost = (uint64_t)(uintptr_t)htif_call; // device 0, command 0: a system call
  while (fromhost == 0)
    ;
  fromhost = 0;
  __sync_synchronize();
  return htif_call[0];
}

long sys_write(long fd, const void *buf, unsigned long len) {
  return (long)host_call(HTIF_SYS_WRITE, fd, (uint64_t)(uintptr_t)buf, len);
}

long sys_exit_group(long status) {
  __sync_synchronize();
  for (;;)
    tohost = (uint64_t)status << 1 | 1;
}

long sys_exit(long status) { sys_exit_group(status); }

// Anonymous memory only, page-aligned, never freed; RAM starts zeroed on
// both machines, so fresh memory reads zero as it does from Linux.
long sys_mmap(void *addr, unsigned long len, long prot, long flags, long fd, long offset) {
  static uintptr_t next;
  if (!next)
    next = ((uintptr_t)_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  if (!(flags & MAP_ANONYMOUS) || len == 0)
    return -EINVAL;
  uintptr_t at = next;
  next += (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  return (long)at;
}

void bare_main(void) {
  static char copy[sizeof bench_args];
  static char *argv[MAX_ARGS + 2];
  int argc = 0;
  argv[argc++] = "bare";
  unsigned long mark = sizeof ARGS_MARK - 1;
  memcpy(copy, bench_args + mark, sizeof bench_args - mark);
  for (char *p = copy; *p && argc <= MAX_ARGS;) {
    while (*p == ' ')
      *p++ = 0;
    if (!*p)
      break;
    argv[argc++] = p;
    while (*p && *p != ' ')
      p++;
  }
  argv[argc] = 0;
  sys_exit_group(main(argc, argv));
}

void bare_trap(uint64_t cause, uint64_t epc, uint64_t tval) {
  printf("trap: mcause %lx mepc %lx mtval %lx\n", cause, epc, tval);
  sys_exit_group(3);
}
