//! Symbols from ELF files: the kernel's (or a bare-metal program's) and the
//! user program's, to name addresses and to find them by name.

use goblin::elf::sym::{STT_FILE, STT_SECTION};
use goblin::elf::Elf;

/// The symbols of one ELF file, sorted by address.
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    /// What the table is called in messages: `kernel`, `user`, `program`.
    pub label: String,
    symbols: Vec<(u64, u64, String)>,
    /// The range the file's loadable segments cover.
    range: (u64, u64),
}

impl SymbolTable {
    /// The symbols of an ELF file (none if it cannot be parsed).
    pub fn from_elf(label: &str, bytes: &[u8]) -> SymbolTable {
        let mut table = SymbolTable {
            label: label.to_string(),
            ..SymbolTable::default()
        };
        let Ok(elf) = Elf::parse(bytes) else {
            // Sections goblin cannot read (a name that is not UTF-8, say):
            // the symbols that can be read, and no segment range.
            table.symbols = crate::loader::readable_symbols(bytes)
                .into_iter()
                .filter(|s| s.section != 0 && !matches!(s.kind, STT_FILE | STT_SECTION))
                .filter(|s| !s.name.starts_with(".L") && !s.name.starts_with('$'))
                .map(|s| (s.value, s.size, s.name))
                .collect();
            table.symbols.sort();
            return table;
        };
        let loads = elf
            .program_headers
            .iter()
            .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD);
        let (lo, hi) = loads.fold((u64::MAX, 0), |(lo, hi), p| {
            (lo.min(p.p_vaddr), hi.max(p.p_vaddr.saturating_add(p.p_memsz)))
        });
        table.range = (lo, hi);
        table.symbols = elf
            .syms
            .iter()
            .filter(|s| s.st_shndx != 0 && !matches!(s.st_type(), STT_FILE | STT_SECTION))
            .filter_map(|s| {
                let name = elf.strtab.get_at(s.st_name)?;
                (!name.is_empty() && !name.starts_with(".L") && !name.starts_with('$'))
                    .then(|| (s.st_value, s.st_size, name.to_string()))
            })
            .collect();
        table.symbols.sort();
        table
    }

    /// Whether `addr` lies in one of the file's segments.
    pub fn covers(&self, addr: u64) -> bool {
        addr >= self.range.0 && addr < self.range.1
    }

    /// The address of `name`.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|(_, _, n)| n == name).map(|(a, _, _)| *a)
    }

    /// The symbol at or below `addr`, and the offset from it.
    pub fn name(&self, addr: u64) -> Option<(&str, u64)> {
        if !self.covers(addr) {
            return None;
        }
        let i = self.symbols.partition_point(|(a, _, _)| *a <= addr);
        let (a, size, name) = self.symbols[..i].iter().rev().find(|(a, size, _)| {
            // Prefer a symbol that covers addr; a sizeless label counts.
            *size == 0 || addr < a + size
        })?;
        let _ = size;
        Some((name.as_str(), addr - a))
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

/// Every symbol table of a run.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    pub tables: Vec<SymbolTable>,
}

impl Symbols {
    /// `sym+off` for an address, if a table covers it.
    pub fn describe(&self, addr: u64) -> Option<String> {
        self.tables.iter().find_map(|t| {
            t.name(addr).map(|(n, off)| {
                if off == 0 {
                    n.to_string()
                } else {
                    format!("{n}+{off:#x}")
                }
            })
        })
    }

    /// Every address called `name`, with the table it is in. A name may be
    /// qualified by its table: `user:main`, `kernel:main`.
    pub fn lookup(&self, name: &str) -> Vec<(u64, &str)> {
        let (table, bare) = match name.split_once(':') {
            Some((t, n)) => (Some(t), n),
            None => (None, name),
        };
        self.tables
            .iter()
            .filter(|t| table.is_none_or(|l| l == t.label))
            .filter_map(|t| t.lookup(bare).map(|a| (a, t.label.as_str())))
            .collect()
    }
}
