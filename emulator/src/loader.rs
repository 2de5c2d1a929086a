//! Loading ELF executables into RAM (with goblin): each PT_LOAD segment is
//! copied to its physical address (p_paddr, as QEMU and Spike load
//! bare-metal images) and the rest of its memory size is zeroed.

use std::path::Path;

use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, EM_RISCV};
use goblin::elf::program_header::PT_LOAD;
use goblin::elf::Elf;

use crate::bus::Bus;
use crate::error::EmuError;
use crate::memmap::Region;

/// One loadable segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub paddr: u64,
    pub mem_size: u64,
    pub data: Vec<u8>,
}

/// An ELF executable checked and ready to load.
#[derive(Clone, Debug)]
pub struct ElfImage {
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Symbols with their addresses, sorted by address (for HTIF and diagnostics).
    pub symbols: Vec<(u64, String)>,
}

impl ElfImage {
    /// Parses and checks an RV64 little-endian executable.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ElfImage, EmuError> {
        let bad = |problem: String| EmuError::bad_input(path, problem);
        if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
            return Err(bad("not an ELF file (no ELF magic number)".into()));
        }
        if bytes.len() > EI_DATA && bytes[EI_CLASS] != ELFCLASS64 {
            return Err(bad("is a 32-bit ELF file; rvmsmp runs RV64 (64-bit) programs".into()));
        }
        if bytes.len() > EI_DATA && bytes[EI_DATA] != ELFDATA2LSB {
            return Err(bad("is a big-endian ELF file; RISC-V programs are little-endian".into()));
        }
        let elf = Elf::parse(bytes).map_err(|e| bad(format!("malformed ELF file: {e}")))?;
        if elf.header.e_machine != EM_RISCV {
            let machine = goblin::elf::header::machine_to_str(elf.header.e_machine);
            return Err(bad(format!("is an ELF file for {machine}, not RISC-V")));
        }
        let mut segments = Vec::new();
        for (i, ph) in elf.program_headers.iter().enumerate() {
            if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
                continue;
            }
            if ph.p_filesz > ph.p_memsz {
                return Err(bad(format!("segment {i} has a file size larger than its memory size")));
            }
            let start = ph.p_offset as usize;
            let data = start
                .checked_add(ph.p_filesz as usize)
                .and_then(|end| bytes.get(start..end))
                .ok_or_else(|| bad(format!("segment {i} extends past the end of the file (truncated?)")))?;
            segments.push(Segment {
                paddr: ph.p_paddr,
                mem_size: ph.p_memsz,
                data: data.to_vec(),
            });
        }
        if segments.is_empty() {
            return Err(bad("has no loadable (PT_LOAD) segments".into()));
        }
        let mut symbols: Vec<(u64, String)> = elf
            .syms
            .iter()
            .filter(|s| s.st_name != 0)
            .filter_map(|s| elf.strtab.get_at(s.st_name).map(|n| (s.st_value, n.to_string())))
            .filter(|(_, n)| !n.is_empty())
            .collect();
        symbols.sort();
        Ok(ElfImage {
            entry: elf.entry,
            segments,
            symbols,
        })
    }

    /// Checks that every segment and the entry point lie in RAM.
    pub fn check_fits(&self, path: &Path, ram: Region) -> Result<(), EmuError> {
        for (i, s) in self.segments.iter().enumerate() {
            if !ram.contains(s.paddr, s.mem_size) {
                return Err(EmuError::bad_input(
                    path,
                    format!(
                        "segment {i} at [{:#x}, {:#x}) lies outside RAM [{:#x}, {:#x}); link the program for RAM at {:#x} or raise --mem",
                        s.paddr,
                        s.paddr.saturating_add(s.mem_size),
                        ram.base,
                        ram.end(),
                        ram.base
                    ),
                ));
            }
        }
        if !ram.contains(self.entry, 2) {
            return Err(EmuError::bad_input(
                path,
                format!(
                    "entry point {:#x} lies outside RAM [{:#x}, {:#x})",
                    self.entry,
                    ram.base,
                    ram.end()
                ),
            ));
        }
        Ok(())
    }

    /// Copies the segments into RAM; `check_fits` must have passed.
    pub fn load(&self, bus: &mut Bus) {
        for s in &self.segments {
            bus.write_ram_bytes(s.paddr, &s.data)
                .expect("segment checked to fit in RAM");
            let bss = s.paddr + s.data.len() as u64;
            let zeros = vec![0; (s.mem_size - s.data.len() as u64) as usize];
            bus.write_ram_bytes(bss, &zeros).expect("segment checked to fit in RAM");
        }
    }

    /// The address of a symbol, if the ELF defines it.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|(_, n)| n == name).map(|(a, _)| *a)
    }

    /// One past the highest byte any segment occupies.
    pub fn end(&self) -> u64 {
        self.segments.iter().map(|s| s.paddr + s.mem_size).max().unwrap_or(0)
    }
}
