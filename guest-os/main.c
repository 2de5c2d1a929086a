// Boot. Every hart arrives here in S-mode from start(). Hart 0 builds the
// kernel and becomes the master; every other hart waits until it is done,
// then becomes a slave that only ever runs user code and the trap stub.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"

struct boot_info boot;
static volatile int kernel_ready;
extern uint64 random_state;
void kernelvec(void);

// The command line: procs=P seed=S slice=TICKS master_runs_user=B [-- PATH ARGS...]
// (docs/kernel-interface.md). Splits `line` into words in place.
static char cmdline[1024];
static char *words[64];
// argv and envp, pointing into the initramfs's args file (or into cmdline).
static char *arg_ptrs[MAXARG];

static uint64 parse_number(const char *s) {
  uint64 v = 0;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (*s++ - '0');
  return v;
}

static int split_words(const char *line) {
  uint64 n = strlen(line);
  if (n >= sizeof cmdline)
    panic("command line longer than %d bytes", (int)sizeof cmdline - 1);
  memcpy(cmdline, line, n + 1);
  int count = 0;
  for (char *c = cmdline; *c && count < (int)(sizeof words / sizeof words[0]);) {
    while (*c == ' ')
      *c++ = 0;
    if (!*c)
      break;
    words[count++] = c;
    while (*c && *c != ' ')
      c++;
  }
  return count;
}

// Reads one list of the args file: a decimal count and a NUL, then that many
// NUL-terminated strings, stored from arg_ptrs[first]. Returns the count, or
// -1 if the file is malformed; *at moves past the list.
static int parse_arg_list(const char *file, uint64 size, uint64 *at, int first) {
  uint64 count = 0, i = *at;
  for (; i < size && file[i] >= '0' && file[i] <= '9'; i++)
    if ((count = count * 10 + (file[i] - '0')) > MAXARG)
      return -1;
  if (i == *at || i >= size || file[i] != 0 || first + count > MAXARG)
    return -1;
  i++;
  for (uint64 k = 0; k < count; k++) {
    arg_ptrs[first + k] = (char *)file + i;
    while (i < size && file[i])
      i++;
    if (i >= size)
      return -1;
    i++;
  }
  *at = i;
  return (int)count;
}

// Creates the processes named on the command line, all on the ready queue.
static void start_programs(void) {
  int procs = 1;
  int n = split_words(boot.bootargs ? boot.bootargs : "");
  int i = 0;
  for (; i < n && strcmp(words[i], "--") != 0; i++) {
    if (strncmp(words[i], "procs=", 6) == 0)
      procs = parse_number(words[i] + 6);
    else if (strncmp(words[i], "seed=", 5) == 0)
      random_state = parse_number(words[i] + 5);
    else if (strncmp(words[i], "slice=", 6) == 0)
      slice_ticks = parse_number(words[i] + 6);
    else if (strncmp(words[i], "master_runs_user=", 17) == 0)
      master_runs_user = parse_number(words[i] + 17) != 0;
  }
  const char *initrd = (const char *)boot.initrd_start;
  uint64 initrd_size = boot.initrd_end - boot.initrd_start;
  int argc, envc = 0;
  uint64 size;
  // argv and envp byte for byte from the initramfs; else (a hand-made
  // archive) argv from the words after "--" and an empty environment.
  const char *args = cpio_find(initrd, initrd_size, ".rvmsmp/args", &size);
  if (args) {
    uint64 at = 0;
    argc = parse_arg_list(args, size, &at, 0);
    if (argc >= 0)
      envc = parse_arg_list(args, size, &at, argc);
    if (argc <= 0 || envc < 0) {
      printf("rvmsmp kernel: .rvmsmp/args in the initramfs is malformed\n");
      power_off(127);
    }
  } else {
    if (i + 1 >= n) {
      printf("rvmsmp kernel: no program on the command line (expected \"-- PATH [ARGS]\")\n");
      power_off(127);
    }
    argc = n - i - 1;
    for (int k = 0; k < argc; k++)
      arg_ptrs[k] = words[i + 1 + k];
  }
  char **argv = arg_ptrs, **envp = arg_ptrs + argc;
  // With an args file, argv[0] is the path the user gave (as qemu-riscv64
  // passes it) and the program is the archive's; else argv[0] names it.
  uint64 node = 0;
  const char *elf = args ? ns_first_program(&size, &node) : cpio_find(initrd, initrd_size, argv[0], &size);
  if (!elf) {
    printf("rvmsmp kernel: %s: not found in the initramfs\n", argv[0]);
    power_off(127);
  }
  for (int k = 0; k < procs; k++) {
    struct proc *p = proc_alloc();
    if (!p)
      panic("cannot create process %d of %d: out of memory or process slots", k + 1, procs);
    int err = exec_first(p, elf, size, argc, argv, envc, envp);
    if (err == EXEC_NO_MEMORY)
      panic("cannot create process %d of %d: out of memory", k + 1, procs);
    if (err < 0) {
      printf("rvmsmp kernel: %s: not a RISC-V RV64 executable\n", argv[0]);
      power_off(126);
    }
    process_set_comm(p->process, argv[0]);
    p->process->exe = node;
    proc_announce(p);
    ready_push(p);
  }
}

void main(void) {
  CSR_WRITE(stvec, (uint64)kernelvec);
  if (cpuid() != 0) {
    // Wait, in WFI, for hart 0's go-ahead (an IPI).
    for (;;) {
      CSR_CLEAR(sip, IRQ_SSI);
      if (kernel_ready)
        break;
      wfi();
    }
    fence();
    kvminithart();
    slave_main();
  }

  fdt_parse(boot_dtb, &boot);                // what the machine has
  annotate_present = boot.annotate;
  extern char end[];                         // first byte after the kernel image
  kinit((uint64)end, boot.ram_base + boot.ram_size, boot.initrd_start, boot.initrd_end, boot.fdt_start,
        boot.fdt_start + boot.fdt_size);     // the page pool
  kvminit();                                 // the kernel page table
  kvminithart();                             // paging on
  if (boot.nvirtio && virtio_blk_init() == 0)
    fs_mount();                              // the disk, if there is one
  start_programs();                          // the processes, from the initramfs
  if (boot.harts <= 1)
    master_runs_user = 1;                    // alone, the master must run them itself

  fence();
  kernel_ready = 1;
  fence();
  for (int hart = 1; hart < boot.harts && hart < NCPU; hart++)
    *(volatile uint32 *)CLINT_MSIP(hart) = 1; // wake the slaves
  master_loop();
}
