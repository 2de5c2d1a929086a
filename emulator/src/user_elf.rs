//! The kernel's rules for a user program's ELF file, applied on the host
//! before boot: `exec_first` and `load_segments` in guest-os/exec.c refuse
//! exactly the files [`UserElf::parse`] refuses, so that a program the
//! host accepts is never turned away by the kernel after boot. The file is
//! read by hand, field by field as the kernel reads it, rather than with a
//! general ELF parser, which would refuse files (bad section headers, say)
//! that the kernel, which never looks at sections, runs.
//!
//! It also says how much memory one process of the program takes when the
//! kernel creates it, for the host's check that `--procs` copies fit in
//! `--mem` (kernel.rs).

use std::collections::BTreeSet;

/// Sizes of the kernel's `struct elf_header` and `struct program_header`.
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

/// Bytes of a page, and of the regions one page-table page covers at each
/// level below the root (Sv39).
const PAGE: u64 = 4096;
const L0_SPAN: u64 = 1 << 21;
const L1_SPAN: u64 = 1 << 30;
/// Sv39's user address limit in the kernel (guest-os/memlayout.h MAXVA).
const MAXVA: u64 = 1 << 38;
/// The user stack's pages (guest-os/param.h USTACK_PAGES), besides those
/// its arguments and environment take.
pub const USTACK_PAGES: u64 = 16;
/// The room kept for the stack: USTACK_PAGES and the most the arguments
/// may take (guest-os/param.h USTACK_MAX_PAGES, ARG_MAX_BYTES).
const USTACK_MAX_PAGES: u64 = USTACK_PAGES + (2 << 20) / PAGE + 2;
/// The highest address a segment may reach: below the mmap area's top,
/// which lies under the stack's room, its guard page, the trapframes and
/// the trampoline (guest-os/memlayout.h MMAP_TOP).
pub const MMAP_TOP: u64 = USTACK_TOP - (USTACK_MAX_PAGES + 1) * PAGE;
/// The top of the stack: below the trampoline, the signal-return page,
/// the threads' trapframe slots and a guard page (guest-os/memlayout.h).
const USTACK_TOP: u64 = MAXVA - 2 * PAGE - MAX_THREAD_SLOTS * PAGE - PAGE;
/// guest-os/param.h MAX_THREAD_SLOTS.
const MAX_THREAD_SLOTS: u64 = 256;

/// One PT_LOAD segment with memory, as the kernel maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    pub vaddr: u64,
    pub mem_size: u64,
}

/// A program file the kernel will run.
#[derive(Clone, Debug)]
pub struct UserElf {
    /// e_type: the kernel does not look at it; the host refuses object
    /// files and core dumps by it (kernel::check_program).
    pub e_type: u16,
    /// Whether a PT_INTERP header asks for a dynamic linker, which the
    /// kernel ignores and the host refuses.
    pub interpreter: bool,
    pub segments: Vec<LoadSegment>,
}

fn u16_at(b: &[u8], off: u64) -> u16 {
    let o = off as usize;
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], off: u64) -> u32 {
    let o = off as usize;
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], off: u64) -> u64 {
    let o = off as usize;
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

impl UserElf {
    /// The file as the kernel reads it, or why the kernel would refuse it
    /// (a phrase to follow the file's name).
    pub fn parse(bytes: &[u8]) -> Result<UserElf, String> {
        let size = bytes.len() as u64;
        if size < 4 || &bytes[..4] != b"\x7fELF" {
            return Err("not an ELF file (no ELF magic number)".into());
        }
        if size < EHDR_SIZE {
            return Err(format!(
                "is {size} bytes, shorter than an ELF header ({EHDR_SIZE} bytes)"
            ));
        }
        if bytes[4] != 2 {
            return Err("is a 32-bit ELF file; rvmsmp runs RV64 (64-bit) programs".into());
        }
        if bytes[5] != 1 {
            return Err("is a big-endian ELF file; RISC-V programs are little-endian".into());
        }
        let machine = u16_at(bytes, 18);
        if machine != EM_RISCV {
            let name = goblin::elf::header::machine_to_str(machine);
            return Err(format!("is an ELF file for {name}, not RISC-V"));
        }
        let e_type = u16_at(bytes, 16);
        let phoff = u64_at(bytes, 32);
        let phentsize = u16_at(bytes, 54) as u64;
        let phnum = u16_at(bytes, 56) as u64;
        if phentsize != PHDR_SIZE {
            return Err(format!(
                "malformed ELF file: program headers of {phentsize} bytes (e_phentsize), not {PHDR_SIZE}"
            ));
        }
        if phoff > size || phnum > (size - phoff) / PHDR_SIZE {
            return Err("malformed ELF file: the program headers extend past the end of the file (truncated?)".into());
        }
        let mut segments = Vec::new();
        let mut interpreter = false;
        for i in 0..phnum {
            let ph = phoff + i * PHDR_SIZE;
            let p_type = u32_at(bytes, ph);
            interpreter |= p_type == PT_INTERP;
            let (offset, vaddr) = (u64_at(bytes, ph + 8), u64_at(bytes, ph + 16));
            let (filesz, memsz) = (u64_at(bytes, ph + 32), u64_at(bytes, ph + 40));
            if p_type != PT_LOAD || memsz == 0 {
                continue;
            }
            if filesz > memsz {
                return Err(format!("segment {i} has a file size larger than its memory size"));
            }
            if offset > size || filesz > size - offset {
                return Err(format!("segment {i} extends past the end of the file (truncated?)"));
            }
            if vaddr >= MMAP_TOP || memsz > MMAP_TOP - vaddr {
                return Err(format!(
                    "segment {i} at [{vaddr:#x}, {:#x}) does not fit below {MMAP_TOP:#x}, the top of a \
                     process's address space for segments",
                    vaddr.saturating_add(memsz)
                ));
            }
            segments.push(LoadSegment { vaddr, mem_size: memsz });
        }
        if segments.is_empty() {
            return Err("has no loadable (PT_LOAD) segments".into());
        }
        Ok(UserElf {
            e_type,
            interpreter,
            segments,
        })
    }

    /// Whether e_type says an executable (static or position-independent).
    pub fn is_executable(&self) -> bool {
        self.e_type == ET_EXEC || self.e_type == ET_DYN
    }

    /// The pages the kernel takes from its pool to create one process of
    /// this program (proc_alloc, then exec_first): its trapframe, its
    /// descriptor table (fd.c), its root page table and the tables for the trampoline at the top
    /// (which also serve the stack, in the same 2 MiB), the stack, every
    /// page a segment covers (shared pages once) and the tables for them.
    /// `arg_pages` are the pages the arguments and environment take on
    /// the stack (exec.c exec_load).
    pub fn pages_per_process(&self, arg_pages: u64) -> u64 {
        let mut pages = BTreeSet::new();
        let mut l0 = BTreeSet::new();
        let mut l1 = BTreeSet::new();
        let mut data = 0u64;
        for s in &self.segments {
            let (first, end) = (s.vaddr / PAGE, (s.vaddr + s.mem_size).div_ceil(PAGE));
            // A segment too large to list page by page is larger than any
            // RAM's pool; its size alone decides.
            if end - first > 1 << 28 {
                data = data.saturating_add(end - first);
                continue;
            }
            for page in first..end {
                if pages.insert(page) {
                    l0.insert(page * PAGE / L0_SPAN);
                    l1.insert(page * PAGE / L1_SPAN);
                }
            }
        }
        let stack_pages = USTACK_PAGES + arg_pages;
        let stack_bottom = USTACK_TOP - stack_pages * PAGE;
        l0.extend(stack_bottom / L0_SPAN..=(USTACK_TOP - 1) / L0_SPAN);
        l1.extend(stack_bottom / L1_SPAN..=(USTACK_TOP - 1) / L1_SPAN);
        let top = MAXVA - PAGE;
        let top_l0 = l0.contains(&(top / L0_SPAN)) as u64;
        let top_l1 = l1.contains(&(top / L1_SPAN)) as u64;
        let fixed = 3 + (2 - top_l0 - top_l1) + stack_pages;
        data.saturating_add(pages.len() as u64 + l0.len() as u64 + l1.len() as u64 + fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `#define NAME VALUE` of a guest-os header.
    fn define(header: &str, name: &str) -> String {
        let prefix = format!("#define {name} ");
        header
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|rest| rest.split("//").next())
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("the header defines {name}"))
    }

    #[test]
    fn the_layout_is_the_kernels() {
        let param = include_str!("../../guest-os/param.h");
        assert_eq!(define(param, "USTACK_PAGES").parse::<u64>().unwrap(), USTACK_PAGES);
        let layout = include_str!("../../guest-os/memlayout.h");
        assert_eq!(define(layout, "MAXVA"), "(1UL << 38)");
        assert_eq!(define(layout, "TRAMPOLINE"), "(MAXVA - PGSIZE)");
        assert_eq!(
            define(param, "MAX_THREAD_SLOTS").parse::<u64>().unwrap(),
            MAX_THREAD_SLOTS
        );
        assert_eq!(define(layout, "SIGRETURN_PAGE"), "(TRAMPOLINE - PGSIZE)");
        assert_eq!(
            define(layout, "TRAPFRAME_SLOT(slot)"),
            "(SIGRETURN_PAGE - ((slot) + 1) * PGSIZE)"
        );
        assert_eq!(
            define(layout, "USTACK_TOP"),
            "(TRAPFRAME_SLOT(MAX_THREAD_SLOTS - 1) - PGSIZE)"
        );
        assert_eq!(
            define(layout, "MMAP_TOP"),
            "(USTACK_TOP - (USTACK_MAX_PAGES + 1) * PGSIZE)"
        );
        assert_eq!(
            define(param, "USTACK_MAX_PAGES"),
            "(USTACK_PAGES + ARG_MAX_BYTES / 4096 + 2)"
        );
        assert_eq!(define(param, "ARG_MAX_BYTES"), "(2 << 20)");
        let exec = include_str!("../../guest-os/exec.c");
        for rule in [
            "eh->phentsize != sizeof(struct program_header) || eh->phoff > size",
            "eh->phnum > (size - eh->phoff) / sizeof(struct program_header)",
            "ph.filesz > ph.memsz || ph.offset > size || ph.filesz > size - ph.offset || ph.vaddr >= MMAP_TOP",
            "ph.memsz > MMAP_TOP - ph.vaddr",
            "ph.type != PT_LOAD || ph.memsz == 0",
            "eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != EM_RISCV",
        ] {
            assert!(exec.contains(rule), "guest-os/exec.c checks {rule}");
        }
    }

    #[test]
    fn hello_is_accepted_and_small() {
        let bytes = include_bytes!("../../programs/bin/hello.elf");
        let elf = UserElf::parse(bytes).unwrap();
        assert!(elf.is_executable() && !elf.interpreter);
        let pages = elf.pages_per_process(1);
        assert!((20..64).contains(&pages), "{pages}");
    }
}
