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
    /// The index of its program header, which messages name it by.
    pub header: usize,
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
        // Sections matter only for the symbols, which only the debugger and
        // HTIF use: a file whose sections cannot be read (a symbol name that
        // is not UTF-8, say) is loaded as the kernel and QEMU load it, from
        // its program headers, with the symbols that can be read.
        let without_sections;
        let (elf, fallback) = match Elf::parse(bytes) {
            Ok(elf) => (elf, false),
            Err(e) => {
                without_sections = strip_sections(bytes).ok_or_else(|| bad(format!("malformed ELF file: {e}")))?;
                let elf = Elf::parse(&without_sections).map_err(|e| bad(format!("malformed ELF file: {e}")))?;
                (elf, true)
            }
        };
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
                header: i,
                paddr: ph.p_paddr,
                mem_size: ph.p_memsz,
                data: data.to_vec(),
            });
        }
        if segments.is_empty() {
            return Err(bad("has no loadable (PT_LOAD) segments".into()));
        }
        let mut symbols: Vec<(u64, String)> = if fallback {
            readable_symbols(bytes).into_iter().map(|s| (s.value, s.name)).collect()
        } else {
            elf.syms
                .iter()
                .filter(|s| s.st_name != 0)
                .filter_map(|s| elf.strtab.get_at(s.st_name).map(|n| (s.st_value, n.to_string())))
                .filter(|(_, n)| !n.is_empty())
                .collect()
        };
        symbols.sort();
        Ok(ElfImage {
            entry: elf.entry,
            segments,
            symbols,
        })
    }

    /// Checks that every segment and the entry point lie in RAM.
    pub fn check_fits(&self, path: &Path, ram: Region) -> Result<(), EmuError> {
        for s in &self.segments {
            if !ram.contains(s.paddr, s.mem_size) {
                return Err(EmuError::bad_input(
                    path,
                    format!(
                        "segment {} at [{:#x}, {:#x}) lies outside RAM [{:#x}, {:#x}); link the program for RAM at {:#x} or raise --mem",
                        s.header,
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

/// A copy of an ELF file with no section headers (e_shoff, e_shnum and
/// e_shstrndx zeroed), or `None` if it is too short to have a header.
fn strip_sections(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut copy = bytes.get(..64)?.to_vec();
    copy[0x28..0x30].fill(0);
    copy[0x3c..0x40].fill(0);
    copy.extend_from_slice(&bytes[64..]);
    Some(copy)
}

/// One entry of an ELF symbol table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSymbol {
    pub value: u64,
    pub size: u64,
    pub kind: u8,
    pub section: u16,
    pub name: String,
}

/// The named symbols of every symbol table (SHT_SYMTAB) of an ELF file,
/// read without trusting the file: entries outside it and names that are
/// not UTF-8 are skipped.
pub fn readable_symbols(bytes: &[u8]) -> Vec<RawSymbol> {
    let u16_at = |o: usize| bytes.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4")))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8")))
    };
    let mut out = Vec::new();
    let (Some(shoff), Some(shentsize), Some(shnum)) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c)) else {
        return out;
    };
    let section = |i: usize| -> Option<(u32, usize, usize, u32)> {
        let h = (shoff as usize).checked_add(i.checked_mul(shentsize as usize)?)?;
        let offset = usize::try_from(u64_at(h.checked_add(0x18)?)?).ok()?;
        let size = usize::try_from(u64_at(h + 0x20)?).ok()?;
        Some((u32_at(h + 4)?, offset, size, u32_at(h + 0x28)?))
    };
    if shentsize < 0x40 {
        return out;
    }
    for i in 0..shnum as usize {
        let Some((2, offset, size, link)) = section(i) else {
            continue;
        };
        let Some((_, str_offset, str_size, _)) = section(link as usize) else {
            continue;
        };
        let Some(strtab) = bytes.get(str_offset..str_offset.saturating_add(str_size)) else {
            continue;
        };
        let Some(table) = bytes.get(offset..offset.saturating_add(size)) else {
            continue;
        };
        for sym in table.chunks_exact(24) {
            let name_at = u32::from_le_bytes(sym[0..4].try_into().expect("4")) as usize;
            let Some(tail) = strtab.get(name_at..) else { continue };
            let raw = &tail[..tail.iter().position(|&c| c == 0).unwrap_or(tail.len())];
            let Ok(name) = std::str::from_utf8(raw) else { continue };
            if name_at == 0 || name.is_empty() {
                continue;
            }
            out.push(RawSymbol {
                value: u64::from_le_bytes(sym[8..16].try_into().expect("8")),
                size: u64::from_le_bytes(sym[16..24].try_into().expect("8")),
                kind: sym[4] & 0xf,
                section: u16::from_le_bytes([sym[6], sym[7]]),
                name: name.to_string(),
            });
        }
    }
    out
}
