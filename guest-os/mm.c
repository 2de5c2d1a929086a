// Address spaces (mm.h): creation, sharing between threads, fork, and the
// per-thread trapframe slots. The page tables themselves are vm.c's.
#include "defs.h"
#include "memlayout.h"
#include "mm.h"
#include "param.h"
#include "riscv.h"

static struct mm mms[NPROC];

struct mm *mm_create(void) {
  for (struct mm *mm = mms; mm < &mms[NPROC]; mm++) {
    if (mm->refs)
      continue;
    memset(mm, 0, sizeof *mm);
    mm->pagetable = uvm_create();
    if (!mm->pagetable)
      return NULL;
    mm->refs = 1;
    mm->mmap_next = MMAP_TOP;
    return mm;
  }
  return NULL;
}

void mm_get(struct mm *mm) { mm->refs++; }

void mm_put(struct mm *mm) {
  if (--mm->refs > 0)
    return;
  uvm_free(mm->pagetable);
  mm->pagetable = NULL;
}

// A copy of `parent` for a forked child (its trapframe slots empty).
struct mm *mm_fork(struct mm *parent) {
  struct mm *mm = mm_create();
  if (!mm)
    return NULL;
  if (uvm_copy(parent->pagetable, mm->pagetable) < 0) {
    mm_put(mm);
    return NULL;
  }
  mm->brk_base = parent->brk_base;
  mm->brk = parent->brk;
  mm->mmap_next = parent->mmap_next;
  return mm;
}

int mm_map_kernel_page(struct mm *mm, uint64 va, uint64 pa, int perm) {
  return uvm_map_kernel_page(mm->pagetable, va, pa, perm);
}

void mm_unmap_kernel_page(struct mm *mm, uint64 va) { uvm_unmap_kernel_page(mm->pagetable, va); }

// A free trapframe slot of mm, marked used; -1 if all are taken.
int mm_slot_alloc(struct mm *mm) {
  for (int i = 0; i < MAX_THREAD_SLOTS; i++) {
    if (!(mm->tf_slots[i / 64] & (1UL << (i % 64)))) {
      mm->tf_slots[i / 64] |= 1UL << (i % 64);
      return i;
    }
  }
  return -1;
}

void mm_slot_free(struct mm *mm, int slot) { mm->tf_slots[slot / 64] &= ~(1UL << (slot % 64)); }
