// M-mode start-up: hand the machine to S-mode, where the kernel runs.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "riscv.h"
#include "types.h"

// Per-hart scratch area for mvec.S: two save slots and the msip address.
struct mscratch {
  uint64 save[2];
  uint64 msip;
};

__attribute__((aligned(16))) char boot_stacks[NCPU * KSTACK_SIZE];
static struct mscratch mscratch_area[NCPU];
uint64 boot_dtb; // written by hart 0 only

void mvec(void);

void start(uint64 hartid, uint64 dtb) {
  if (hartid == 0)
    boot_dtb = dtb;

  // mret will enter S-mode at main().
  uint64 status = CSR_READ(mstatus);
  status = (status & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S;
  CSR_WRITE(mstatus, status);
  CSR_WRITE(mepc, (uint64)main);
  CSR_WRITE(satp, 0);

  // Every exception except an ecall from S (which nothing issues) goes to
  // S-mode, and so do the supervisor interrupts.
  CSR_WRITE(medeleg, 0xffff & ~(1UL << 9));
  CSR_WRITE(mideleg, IRQ_SSI | IRQ_STI | IRQ_SEI);

  // QEMU enforces PMP: without an entry S and U could touch no memory.
  // One TOR entry covering everything lets them reach all of it.
  CSR_WRITE(pmpaddr0, 0x3fffffffffffffUL);
  CSR_WRITE(pmpcfg0, 0xf);

  // Sstc: S-mode programs its own timer with stimecmp; time, cycle and
  // instret are readable from S-mode and, with scounteren, from U-mode.
  CSR_SET(menvcfg, MENVCFG_STCE);
  CSR_WRITE(mcounteren, 7);
  CSR_WRITE(scounteren, 7); // rdcycle, rdtime, rdinstret in U-mode, as Linux allows
  CSR_WRITE(stimecmp, -1UL);

  // M-mode keeps only the IPI forwarder (mvec.S). The kernel runs with
  // sstatus.SIE clear, but SSIE and STIE must be enabled in mie: an IPI
  // turned into SSIP just before a WFI would otherwise never end it.
  mscratch_area[hartid].msip = CLINT_MSIP(hartid);
  CSR_WRITE(mscratch, (uint64)&mscratch_area[hartid]);
  CSR_WRITE(mtvec, (uint64)mvec);
  CSR_WRITE(mie, IRQ_MSI | IRQ_SSI | IRQ_STI);

  // The kernel keeps the hart id in tp.
  asm volatile("mv tp, %0" ::"r"(hartid));
  asm volatile("mret");
}
