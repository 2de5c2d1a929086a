// The physical memory map (QEMU virt's, as in emulator/src/memmap.rs) and
// the virtual layout of user address spaces.
#pragma once
#include "param.h"

#include "param.h" // USTACK_MAX_PAGES

#define TEST_FINISHER 0x00100000UL
#define ANNOTATE 0x00110000UL // rvmsmp's annotation device (only if the device tree has it)
#define CLINT 0x02000000UL
#define CLINT_MSIP(hart) (CLINT + 4 * (hart))
#define PLIC 0x0c000000UL
#define PLIC_SIZE 0x600000UL
#define UART0 0x10000000UL
#define DRAM_BASE 0x80000000UL

#define PGSIZE 4096UL
#define PGSHIFT 12
#define PGROUNDUP(a) (((a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a) ((a) & ~(PGSIZE - 1))

// Sv39: user addresses are below 2^38 so that they are valid (sign bit 0).
#define MAXVA (1UL << 38)
// The trampoline (trap entry and exit code) sits at the top of every
// address space, the kernel's included, so it survives the satp switch.
#define TRAMPOLINE (MAXVA - PGSIZE)
// Below it, user-executable, the two instructions a signal handler
// returns to (li a7, 139; ecall: rt_sigreturn), as Linux's vDSO has them.
#define SIGRETURN_PAGE (TRAMPOLINE - PGSIZE)
// Each thread's trapframe, mapped for S-mode only in its address space,
// one slot per thread (a process's threads share the address space, so
// each needs its own place; sscratch holds it while in user mode).
#define TRAPFRAME_SLOT(slot) (SIGRETURN_PAGE - ((slot) + 1) * PGSIZE)
#define TRAPFRAME TRAPFRAME_SLOT(0)
// The user stack ends below a guard page under the lowest slot.
#define USTACK_TOP (TRAPFRAME_SLOT(MAX_THREAD_SLOTS - 1) - PGSIZE)
// Anonymous mmap regions are handed out downwards from here.
#define MMAP_TOP (USTACK_TOP - (USTACK_MAX_PAGES + 1) * PGSIZE)
