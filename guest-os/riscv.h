// Access to the hart's registers and CSRs, and Sv39 page-table entries.
#pragma once
#include "types.h"

#define CSR_READ(name) ({ uint64 v_; asm volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define CSR_WRITE(name, v) asm volatile("csrw " #name ", %0" ::"r"((uint64)(v)))
#define CSR_SET(name, v) asm volatile("csrs " #name ", %0" ::"r"((uint64)(v)))
#define CSR_CLEAR(name, v) asm volatile("csrc " #name ", %0" ::"r"((uint64)(v)))

// mstatus / sstatus
#define MSTATUS_MPP_MASK (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_MIE (1UL << 3)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SUM (1UL << 18)

// Interrupt bits of mip/mie/sip/sie.
#define IRQ_SSI (1UL << 1)
#define IRQ_MSI (1UL << 3)
#define IRQ_STI (1UL << 5)
#define IRQ_SEI (1UL << 9)

#define MENVCFG_STCE (1UL << 63)

// scause values this kernel names.
#define SCAUSE_INTERRUPT (1UL << 63)
#define CAUSE_SOFTWARE_IRQ (SCAUSE_INTERRUPT | 1)
#define CAUSE_TIMER_IRQ (SCAUSE_INTERRUPT | 5)
#define CAUSE_EXTERNAL_IRQ (SCAUSE_INTERRUPT | 9)
#define CAUSE_ILLEGAL_INSTRUCTION 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_ECALL_FROM_U 8
#define CAUSE_INSTRUCTION_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

#define SATP_SV39 (8UL << 60)
#define MAKE_SATP(pagetable) (SATP_SV39 | (((uint64)(pagetable)) >> 12))

#define PTE_V (1L << 0)
#define PTE_R (1L << 1)
#define PTE_W (1L << 2)
#define PTE_X (1L << 3)
#define PTE_U (1L << 4)
#define PA2PTE(pa) ((((uint64)(pa)) >> 12) << 10)
#define PTE2PA(pte) (((pte) >> 10) << 12)
#define PTE_FLAGS(pte) ((pte)&0x3FF)
#define PX(level, va) ((((uint64)(va)) >> (PGSHIFT + 9 * (level))) & 0x1FF)

static inline uint64 r_tp(void) {
  uint64 x;
  asm volatile("mv %0, tp" : "=r"(x));
  return x;
}

static inline uint64 r_fp(void) {
  uint64 x;
  asm volatile("mv %0, s0" : "=r"(x));
  return x;
}

static inline uint64 r_time(void) { return CSR_READ(time); }

static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero"); }

static inline void fence(void) { asm volatile("fence rw, rw" ::: "memory"); }

static inline void wfi(void) { asm volatile("wfi"); }

// The hart id, kept in tp by the kernel (never changed by the stub).
static inline int cpuid(void) { return (int)r_tp(); }
