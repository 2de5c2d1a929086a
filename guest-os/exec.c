// Loading a static ELF executable into a new process and laying out its
// stack as Linux does on RISC-V (argc, argv, envp, auxv), so the same
// binary runs here and under qemu-riscv64.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "mm.h"
#include "proc.h"
#include "riscv.h"

struct elf_header {
  uint8 ident[16];
  uint16 type, machine;
  uint32 version;
  uint64 entry, phoff, shoff;
  uint32 flags;
  uint16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct program_header {
  uint32 type, flags;
  uint64 offset, vaddr, paddr, filesz, memsz, align;
};

#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define PF_R 4
#define EM_RISCV 243

// Auxiliary vector keys (Linux include/uapi/linux/auxvec.h).
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_HWCAP 16
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

static int load_segments(struct mm *mm, const char *elf, uint64 size, const struct elf_header *eh, uint64 *phdr_va) {
  uint64 top = 0;
  *phdr_va = 0;
  if (eh->phentsize != sizeof(struct program_header) || eh->phoff > size ||
      eh->phnum > (size - eh->phoff) / sizeof(struct program_header))
    return EXEC_BAD_IMAGE;
  for (int i = 0; i < eh->phnum; i++) {
    struct program_header ph;
    memcpy(&ph, elf + eh->phoff + i * sizeof ph, sizeof ph);
    if (ph.type != PT_LOAD || ph.memsz == 0)
      continue;
    if (ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset || ph.vaddr >= MMAP_TOP ||
        ph.memsz > MMAP_TOP - ph.vaddr)
      return EXEC_BAD_IMAGE;
    int perm = (ph.flags & PF_R ? PTE_R : 0) | (ph.flags & PF_W ? PTE_W : 0) | (ph.flags & PF_X ? PTE_X : 0);
    if (uvm_map(mm->pagetable, ph.vaddr, ph.memsz, perm | PTE_R) < 0)
      return EXEC_NO_MEMORY;
    // Copy the file part through the kernel's view of the new pages.
    for (uint64 done = 0; done < ph.filesz;) {
      uint64 va = ph.vaddr + done;
      uint64 pa = uvm_translate(mm->pagetable, va, 0);
      uint64 n = PGSIZE - (va & (PGSIZE - 1));
      if (n > ph.filesz - done)
        n = ph.filesz - done;
      memcpy((void *)pa, elf + ph.offset + done, n);
      done += n;
    }
    if (eh->phoff >= ph.offset && eh->phoff < ph.offset + ph.filesz)
      *phdr_va = ph.vaddr + (eh->phoff - ph.offset);
    if (ph.vaddr + ph.memsz > top)
      top = ph.vaddr + ph.memsz;
  }
  if (top == 0)
    return EXEC_BAD_IMAGE;
  mm->brk_base = mm->brk = PGROUNDUP(top);
  return 0;
}

// Checks that `elf` is a RISC-V RV64 ELF executable; its header in *eh.
int exec_check(const char *elf, uint64 size, struct elf_header *eh) {
  if (size < sizeof *eh)
    return EXEC_BAD_IMAGE;
  memcpy(eh, elf, sizeof *eh);
  if (memcmp(eh->ident, "\177ELF", 4) != 0 || eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != EM_RISCV)
    return EXEC_BAD_IMAGE;
  return 0;
}

// Loads the ELF image into the empty address space mm and lays out its
// stack with the arguments and environment: the entry point and the
// initial sp in *entry and *sp. Returns 0, EXEC_BAD_IMAGE, EXEC_NO_MEMORY
// or EXEC_TOO_BIG (more strings than execve takes).
int exec_load(struct mm *mm, const char *elf, uint64 size, int argc, char **argv, int envc, char **envp, uint64 *entry,
              uint64 *sp_out) {
  struct elf_header eh;
  int err = exec_check(elf, size, &eh);
  if (err < 0)
    return err;
  // The stack: USTACK_PAGES for the program, and the pages its strings and
  // their pointers take (at most ARG_MAX_BYTES, which rvmsmp checks).
  uint64 strings = 0;
  for (int i = 0; i < argc + envc; i++)
    strings += strlen(i < argc ? argv[i] : envp[i - argc]) + 1;
  uint64 arg_bytes = strings + 8 * (argc + envc + 2);
  if (argc + envc > MAXARG || arg_bytes > ARG_MAX_BYTES)
    return EXEC_TOO_BIG;
  uint64 phdr_va;
  err = load_segments(mm, elf, size, &eh, &phdr_va);
  if (err < 0)
    return err;
  uint64 stack_pages = USTACK_PAGES + (arg_bytes + PGSIZE - 1) / PGSIZE;
  if (uvm_map(mm->pagetable, USTACK_TOP - stack_pages * PGSIZE, stack_pages * PGSIZE, PTE_R | PTE_W) < 0)
    return EXEC_NO_MEMORY;
  mm->mmap_next = MMAP_TOP;

  // Strings first, at the top of the stack: argv's, then envp's.
  uint64 sp = USTACK_TOP - strings;
  uint64 strings_va = sp, execfn = sp; // argv[0] is the first string
  // 16 bytes for AT_RANDOM: fixed, so runs are reproducible.
  static const uint8 random_bytes[16] = {0x72, 0x76, 0x6d, 0x73, 0x6d, 0x70, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  sp = (sp - sizeof random_bytes) & ~15UL;
  uint64 random_va = sp;
  copy_out(mm->pagetable, random_va, random_bytes, sizeof random_bytes);

  // AT_HWCAP: one bit per single-letter extension (bit n = letter 'A' + n), as Linux reports rv64imafdc.
  uint64 hwcap = 0;
  for (const char *ext = "imafdc"; *ext; ext++)
    hwcap |= 1UL << (*ext - 'a');
  uint64 auxv[][2] = {
      {AT_PHDR, phdr_va}, {AT_PHENT, sizeof(struct program_header)}, {AT_PHNUM, eh.phnum},
      {AT_PAGESZ, PGSIZE}, {AT_ENTRY, eh.entry}, {AT_HWCAP, hwcap}, {AT_UID, 0}, {AT_EUID, 0}, {AT_GID, 0}, {AT_EGID, 0},
      {AT_CLKTCK, 100}, {AT_SECURE, 0}, {AT_RANDOM, random_va}, {AT_EXECFN, argc ? execfn : 0}, {AT_NULL, 0},
  };
  // Then, from sp upwards: argc, argv[], NULL, envp[], NULL, auxv; sp
  // 16-byte aligned. Each pointer is written as its string is copied.
  uint64 words = 1 + (argc + 1) + (envc + 1) + 2 * (sizeof auxv / sizeof auxv[0]);
  sp = (sp - words * 8) & ~15UL;
  uint64 argc64 = argc, zero = 0, at = sp + 8, str = strings_va;
  copy_out(mm->pagetable, sp, &argc64, 8);
  for (int i = 0; i < argc + envc; i++) {
    const char *s = i < argc ? argv[i] : envp[i - argc];
    uint64 len = strlen(s) + 1;
    copy_out(mm->pagetable, str, s, len);
    copy_out(mm->pagetable, at, &str, 8), at += 8;
    str += len;
    if (i == argc - 1)
      copy_out(mm->pagetable, at, &zero, 8), at += 8; // argv's NULL
  }
  if (argc == 0)
    copy_out(mm->pagetable, at, &zero, 8), at += 8;
  copy_out(mm->pagetable, at, &zero, 8), at += 8; // envp's NULL
  copy_out(mm->pagetable, at, auxv, sizeof auxv);
  *entry = eh.entry;
  *sp_out = sp;
  return 0;
}

// Sets up the new process p (an empty address space) to run the ELF image
// with the given arguments and environment. Returns 0, EXEC_BAD_IMAGE,
// EXEC_NO_MEMORY or EXEC_TOO_BIG.
int exec_first(struct proc *p, const char *elf, uint64 size, int argc, char **argv, int envc, char **envp) {
  uint64 entry, sp;
  int err = exec_load(p->mm, elf, size, argc, argv, envc, envp, &entry, &sp);
  if (err < 0)
    return err;
  memset(p->tf, 0, sizeof *p->tf);
  p->tf->epc = entry;
  p->tf->sp = sp;
  return 0;
}
