// Traps the kernel cannot handle, and names for trap causes.
#include "defs.h"
#include "riscv.h"

const char *cause_name(uint64 scause) {
  static const char *exceptions[16] = {
      "instruction address misaligned", "instruction access fault", "illegal instruction", "breakpoint",
      "load address misaligned", "load access fault", "store address misaligned", "store access fault",
      "environment call from U-mode", "environment call from S-mode", "reserved", "environment call from M-mode",
      "instruction page fault", "load page fault", "reserved", "store page fault",
  };
  if (scause & SCAUSE_INTERRUPT)
    return scause == CAUSE_TIMER_IRQ ? "timer interrupt" : scause == CAUSE_SOFTWARE_IRQ ? "software interrupt" : "interrupt";
  return scause < 16 ? exceptions[scause] : "unknown exception";
}

// An exception in kernel code (kernelvec.S): a kernel bug. Report where,
// with a backtrace, and stop the machine.
void kernel_fault(void) {
  uint64 scause = CSR_READ(scause), sepc = CSR_READ(sepc), stval = CSR_READ(stval);
  printf("kernel panic on hart %d: %s at pc %p, tval %p\n", cpuid(), cause_name(scause), sepc, stval);
  backtrace(r_fp());
  annotate(EV_PANIC, cpuid(), sepc, scause);
  power_off(255);
}
