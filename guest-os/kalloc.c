// The physical page allocator: one pool of 4 KiB pages for the kernel and
// every process, kept by hart 0 alone (so no lock).
//
// Pages never handed out yet are taken from the bottom of the pool with a
// bump pointer, so boot does not have to visit every page of RAM; freed
// pages go on a free list and are reused first.
#include "defs.h"
#include "memlayout.h"

struct free_page {
  struct free_page *next;
};

static struct free_page *free_list;
static uint64 next_fresh, pool_end; // [next_fresh, pool_end) has never been handed out
static uint64 holes[2][2];          // ranges still in use: the initramfs and the device tree
static uint64 free_count;

static int in_hole(uint64 pa) {
  for (int i = 0; i < 2; i++)
    if (pa + PGSIZE > holes[i][0] && pa < holes[i][1])
      return 1;
  return 0;
}

void kinit(uint64 start, uint64 end, uint64 hole1_start, uint64 hole1_end, uint64 hole2_start, uint64 hole2_end) {
  next_fresh = PGROUNDUP(start);
  pool_end = PGROUNDDOWN(end);
  holes[0][0] = hole1_start, holes[0][1] = hole1_end;
  holes[1][0] = hole2_start, holes[1][1] = hole2_end;
  free_count = (pool_end - next_fresh) / PGSIZE;
}

// A zeroed page, or NULL when memory is exhausted.
void *kalloc(void) {
  void *page;
  if (free_list) {
    page = free_list;
    free_list = free_list->next;
  } else {
    while (next_fresh < pool_end && in_hole(next_fresh))
      next_fresh += PGSIZE;
    if (next_fresh >= pool_end)
      return NULL;
    page = (void *)next_fresh;
    next_fresh += PGSIZE;
  }
  free_count--;
  memset(page, 0, PGSIZE);
  return page;
}

void kfree(void *pa) {
  if ((uint64)pa % PGSIZE)
    panic("kfree: unaligned page %p", (uint64)pa);
  struct free_page *page = pa;
  page->next = free_list;
  free_list = page;
  free_count++;
}

// Pages still available (an upper bound: pages inside the holes are counted).
uint64 kfree_pages(void) { return free_count; }
