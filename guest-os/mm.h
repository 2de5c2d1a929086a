// Address spaces. Each thread points to one (struct proc's mm); the
// threads of a process share it, and so do a vfork child and its parent
// until the child execs or exits.
#pragma once
#include "param.h"
#include "types.h"

struct mm {
  pagetable_t pagetable; // its Sv39 root
  int refs;              // threads using it
  uint64 brk_base;       // first byte of the heap
  uint64 brk;            // current program break
  uint64 mmap_next;      // next anonymous mapping ends here (grows down)
  uint64 tf_slots[MAX_THREAD_SLOTS / 64]; // trapframe slots in use (memlayout.h TRAPFRAME_SLOT)
  uint64 harts_running;  // threads of it currently on a hart (for TLB shootdowns)
};

struct mm *mm_create(void);
void mm_get(struct mm *mm);
void mm_put(struct mm *mm);
struct mm *mm_fork(struct mm *parent);
int mm_map_kernel_page(struct mm *mm, uint64 va, uint64 pa, int perm);
void mm_unmap_kernel_page(struct mm *mm, uint64 va);
int mm_slot_alloc(struct mm *mm);
void mm_slot_free(struct mm *mm, int slot);
