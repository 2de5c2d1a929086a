// Sv39 page tables: the kernel's (shared by every hart, written only by
// hart 0 at boot) and one per process.
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "riscv.h"

pagetable_t kernel_pagetable;
extern char trampoline[]; // trampoline.S
extern char sigreturn_code[]; // trampoline.S: li a7, 139; ecall

#define MEGAPAGE (1UL << 21)

// The PTE for va, allocating intermediate tables when `alloc`; NULL if absent
// (or out of memory).
static pte_t *walk(pagetable_t pt, uint64 va, int alloc) {
  for (int level = 2; level > 0; level--) {
    pte_t *pte = &pt[PX(level, va)];
    if (*pte & PTE_V) {
      pt = (pagetable_t)PTE2PA(*pte);
    } else {
      if (!alloc || (pt = kalloc()) == NULL)
        return NULL;
      *pte = PA2PTE(pt) | PTE_V;
    }
  }
  return &pt[PX(0, va)];
}

// Maps [va, va + size) to [pa, ...) with 4 KiB pages. Returns 0, or -1 when
// out of memory.
static int map_pages(pagetable_t pt, uint64 va, uint64 size, uint64 pa, int perm) {
  for (uint64 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE, pa += PGSIZE) {
    pte_t *pte = walk(pt, a, 1);
    if (!pte)
      return -1;
    if (*pte & PTE_V)
      panic("map_pages: %p already mapped", a);
    *pte = PA2PTE(pa) | perm | PTE_V;
  }
  return 0;
}

// Maps RAM with 2 MiB pages (a level-1 leaf), kernel only.
static void map_megapages(pagetable_t pt, uint64 start, uint64 end) {
  for (uint64 a = start & ~(MEGAPAGE - 1); a < end; a += MEGAPAGE) {
    pte_t *l2 = &pt[PX(2, a)];
    if (!(*l2 & PTE_V)) {
      pagetable_t next = kalloc();
      if (!next)
        panic("kvminit: out of memory");
      *l2 = PA2PTE(next) | PTE_V;
    }
    pagetable_t l1 = (pagetable_t)PTE2PA(*l2);
    l1[PX(1, a)] = PA2PTE(a) | PTE_R | PTE_W | PTE_X | PTE_V;
  }
}

void kvminit(void) {
  kernel_pagetable = kalloc();
  if (!kernel_pagetable ||
      map_pages(kernel_pagetable, UART0, PGSIZE, UART0, PTE_R | PTE_W) < 0 ||
      map_pages(kernel_pagetable, TEST_FINISHER, PGSIZE, TEST_FINISHER, PTE_R | PTE_W) < 0 ||
      map_pages(kernel_pagetable, ANNOTATE, PGSIZE, ANNOTATE, PTE_R | PTE_W) < 0 ||
      map_pages(kernel_pagetable, CLINT, 0x10000, CLINT, PTE_R | PTE_W) < 0 ||
      map_pages(kernel_pagetable, TRAMPOLINE, PGSIZE, (uint64)trampoline, PTE_R | PTE_X) < 0)
    panic("kvminit: out of memory");
  map_megapages(kernel_pagetable, boot.ram_base, boot.ram_base + boot.ram_size);
}

// Maps a device's registers into the kernel page table (hart 0, at boot).
void kvmmap(uint64 pa, uint64 size) {
  if (map_pages(kernel_pagetable, pa, size, pa, PTE_R | PTE_W) < 0)
    panic("kvmmap: out of memory");
}

// Turns on paging with the kernel page table on the calling hart.
void kvminithart(void) {
  sfence_vma();
  CSR_WRITE(satp, MAKE_SATP(kernel_pagetable));
  sfence_vma();
}

// A new user address space holding only the trampoline and the page a
// signal handler returns through.
pagetable_t uvm_create(void) {
  pagetable_t pt = kalloc();
  if (!pt)
    return NULL;
  if (map_pages(pt, TRAMPOLINE, PGSIZE, (uint64)trampoline, PTE_R | PTE_X) < 0 ||
      map_pages(pt, SIGRETURN_PAGE, PGSIZE, (uint64)sigreturn_code, PTE_R | PTE_X | PTE_U) < 0) {
    uvm_free(pt);
    return NULL;
  }
  return pt;
}

// Maps one page that its owner keeps (a trapframe: not freed with the
// address space). Returns 0, or -1 when out of memory.
int uvm_map_kernel_page(pagetable_t pt, uint64 va, uint64 pa, int perm) { return map_pages(pt, va, PGSIZE, pa, perm); }

void uvm_unmap_kernel_page(pagetable_t pt, uint64 va) {
  pte_t *pte = walk(pt, va, 0);
  if (pte)
    *pte = 0;
}

// Copies every user page of `from` into `to` (fork). Returns 0, or -1
// when out of memory (what was copied stays in `to`, freed with it).
int uvm_copy(pagetable_t from, pagetable_t to) {
  for (int i = 0; i < 512; i++) {
    if (!(from[i] & PTE_V))
      continue;
    pagetable_t l1 = (pagetable_t)PTE2PA(from[i]);
    for (int j = 0; j < 512; j++) {
      if (!(l1[j] & PTE_V))
        continue;
      pagetable_t l0 = (pagetable_t)PTE2PA(l1[j]);
      for (int k = 0; k < 512; k++) {
        pte_t pte = l0[k];
        if (!(pte & PTE_V) || !(pte & PTE_U) || PTE2PA(pte) == (uint64)sigreturn_code)
          continue;
        uint64 va = ((uint64)i << 30) | ((uint64)j << 21) | ((uint64)k << 12);
        void *page = kalloc();
        if (!page)
          return -1;
        memmove(page, (void *)PTE2PA(pte), PGSIZE);
        if (map_pages(to, va, PGSIZE, (uint64)page, PTE_FLAGS(pte) & ~PTE_V) < 0) {
          kfree(page);
          return -1;
        }
      }
    }
  }
  return 0;
}

// Maps fresh zeroed user pages over [va, va + size). Pages already mapped
// are kept. Returns 0, or -1 when out of memory.
int uvm_map(pagetable_t pt, uint64 va, uint64 size, int perm) {
  for (uint64 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 1);
    if (!pte)
      return -1;
    if (*pte & PTE_V)
      continue;
    void *page = kalloc();
    if (!page)
      return -1;
    *pte = PA2PTE(page) | perm | PTE_U | PTE_V;
  }
  return 0;
}

// Unmaps and frees the user pages in [va, va + size) that are mapped.
void uvm_unmap(pagetable_t pt, uint64 va, uint64 size) {
  for (uint64 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 0);
    if (pte && (*pte & PTE_V) && (*pte & PTE_U)) {
      kfree((void *)PTE2PA(*pte));
      *pte = 0;
    }
  }
}

// Frees every user page and every table page; the trampoline and the
// trapframe (not user pages) are left to their owners.
static void free_table(pagetable_t pt, int level) {
  for (int i = 0; i < 512; i++) {
    pte_t pte = pt[i];
    if (!(pte & PTE_V))
      continue;
    if (level > 0 && !(pte & (PTE_R | PTE_W | PTE_X)))
      free_table((pagetable_t)PTE2PA(pte), level - 1);
    else if ((pte & PTE_U) && PTE2PA(pte) != (uint64)sigreturn_code)
      kfree((void *)PTE2PA(pte));
  }
  kfree(pt);
}

void uvm_free(pagetable_t pt) { free_table(pt, 2); }

// The physical address behind user address va if its page is a user page
// with the permissions in `need` (PTE_R or PTE_W); 0 otherwise.
uint64 uvm_translate(pagetable_t pt, uint64 va, int need) {
  if (va >= MAXVA)
    return 0;
  pte_t *pte = walk(pt, va, 0);
  if (!pte || (*pte & (PTE_V | PTE_U)) != (PTE_V | PTE_U) || (*pte & need) != need)
    return 0;
  return PTE2PA(*pte) | (va & (PGSIZE - 1));
}

// Whether every byte of [va, va + len) is user memory with `need`: a call
// that takes a buffer checks all of it before using any, as qemu-user
// does, so a bad length fails with EFAULT instead of exposing whatever
// memory follows the buffer.
int uvm_range_ok(pagetable_t pt, uint64 va, uint64 len, int need) {
  if (len == 0)
    return 1;
  if (va >= MAXVA || len > MAXVA - va)
    return 0;
  for (uint64 a = PGROUNDDOWN(va); a < va + len; a += PGSIZE)
    if (!uvm_translate(pt, a, need))
      return 0;
  return 1;
}

// Copies to user memory; -1 (EFAULT) if any byte is not writable user memory.
int copy_out(pagetable_t pt, uint64 dst_va, const void *src, uint64 len) {
  const uint8 *s = src;
  while (len > 0) {
    uint64 pa = uvm_translate(pt, dst_va, PTE_W);
    if (!pa)
      return -1;
    uint64 n = PGSIZE - (dst_va & (PGSIZE - 1));
    if (n > len)
      n = len;
    memmove((void *)pa, s, n);
    len -= n, s += n, dst_va += n;
  }
  return 0;
}

// Copies from user memory; -1 (EFAULT) if any byte is not readable user memory.
int copy_in(pagetable_t pt, void *dst, uint64 src_va, uint64 len) {
  uint8 *d = dst;
  while (len > 0) {
    uint64 pa = uvm_translate(pt, src_va, PTE_R);
    if (!pa)
      return -1;
    uint64 n = PGSIZE - (src_va & (PGSIZE - 1));
    if (n > len)
      n = len;
    memmove(d, (void *)pa, n);
    len -= n, d += n, src_va += n;
  }
  return 0;
}

// Copies a NUL-terminated string of at most `max` bytes (NUL included)
// from user memory; -1 if it is unreadable or longer.
int copy_in_str(pagetable_t pt, char *dst, uint64 src_va, uint64 max) {
  for (uint64 i = 0; i < max; i++) {
    uint64 pa = uvm_translate(pt, src_va + i, PTE_R);
    if (!pa)
      return -1;
    dst[i] = *(char *)pa;
    if (dst[i] == 0)
      return 0;
  }
  return -1;
}

// Changes the permissions of the mapped user pages in [va, va + size).
// perm 0 (PROT_NONE) leaves a valid PTE with no permission, which every
// access faults on. Returns -1 if a page in the range is not mapped.
int uvm_protect(pagetable_t pt, uint64 va, uint64 size, int perm) {
  for (uint64 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 0);
    if (!pte || (*pte & (PTE_V | PTE_U)) != (PTE_V | PTE_U))
      return -1;
  }
  for (uint64 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE) {
    pte_t *pte = walk(pt, a, 0);
    *pte = (*pte & ~(uint64)(PTE_R | PTE_W | PTE_X)) | perm;
  }
  return 0;
}
