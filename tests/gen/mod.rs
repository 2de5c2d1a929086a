//! Building guest programs in memory, so that tests need no cross compiler:
//! [`Asm`], a tiny assembler with labels on top of `rvmsmp::asm`, and
//! [`elf`], a minimal static ELF64 writer (ELF header and program headers,
//! one `PT_LOAD` per segment). Self-contained: it depends on nothing else
//! under tests/.

#![allow(dead_code)]

use std::collections::HashMap;

use rvmsmp::asm;

/// Segment permission flags (`p_flags`).
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

const PT_LOAD: u32 = 1;
const EM_RISCV: u16 = 243;
const ET_EXEC: u16 = 2;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const PAGE: u64 = 4096;

/// One loadable segment: `data` is the file part, `memsz` (at least
/// `data.len()`) the size in memory, the rest zero-filled.
#[derive(Clone, Debug)]
pub struct Segment {
    pub vaddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
    pub flags: u32,
}

impl Segment {
    /// A segment of `memsz` zero bytes taking no room in the file.
    pub fn zeroed(vaddr: u64, memsz: u64, flags: u32) -> Segment {
        Segment {
            vaddr,
            data: Vec::new(),
            memsz,
            flags,
        }
    }
}

/// A static RV64 executable: ELF header, program headers, then each
/// segment's bytes at a file offset congruent to its address modulo the
/// page size (as linkers lay them out).
pub fn elf(entry: u64, segments: &[Segment]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF");
    b.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&ET_EXEC.to_le_bytes());
    b.extend_from_slice(&EM_RISCV.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&entry.to_le_bytes());
    b.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    b.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    b.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    b.extend_from_slice(&(segments.len() as u16).to_le_bytes());
    b.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    b.extend_from_slice(&0u16.to_le_bytes()); // shnum
    b.extend_from_slice(&0u16.to_le_bytes()); // shstrndx
    assert_eq!(b.len(), EHDR_SIZE);
    // File offsets: after the headers, each congruent to its vaddr.
    let mut offset = (EHDR_SIZE + PHDR_SIZE * segments.len()) as u64;
    let mut offsets = Vec::new();
    for s in segments {
        assert!(s.data.len() as u64 <= s.memsz, "a segment's file part exceeds its size");
        offset += (s.vaddr % PAGE + PAGE - offset % PAGE) % PAGE;
        offsets.push(offset);
        offset += s.data.len() as u64;
    }
    for (s, &off) in segments.iter().zip(&offsets) {
        b.extend_from_slice(&PT_LOAD.to_le_bytes());
        b.extend_from_slice(&s.flags.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&s.vaddr.to_le_bytes());
        b.extend_from_slice(&s.vaddr.to_le_bytes()); // paddr
        b.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
        b.extend_from_slice(&s.memsz.to_le_bytes());
        b.extend_from_slice(&PAGE.to_le_bytes());
    }
    for (s, &off) in segments.iter().zip(&offsets) {
        b.resize(off as usize, 0);
        b.extend_from_slice(&s.data);
    }
    b
}

/// A position in an [`Asm`] buffer, bound once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// A conditional branch: the encoder and its two registers.
    Branch(fn(u32, u32, i32) -> u32, u32, u32),
    Jal(u32),
    /// `lui rd` + `addiw rd, rd` holding the label's absolute address.
    Address(u32),
}

/// A little assembler: code and data in one buffer starting at `base`,
/// with forward and backward labels resolved by [`Asm::finish`].
pub struct Asm {
    base: u64,
    bytes: Vec<u8>,
    bound: HashMap<Label, u64>,
    next_label: usize,
    fixups: Vec<(usize, Fixup, Label)>,
}

impl Asm {
    pub fn new(base: u64) -> Asm {
        Asm {
            base,
            bytes: Vec::new(),
            bound: HashMap::new(),
            next_label: 0,
            fixups: Vec::new(),
        }
    }

    /// The address of the next byte.
    pub fn here(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label - 1)
    }

    /// Binds `l` to the current position.
    pub fn bind(&mut self, l: Label) {
        let here = self.here();
        assert!(self.bound.insert(l, here).is_none(), "label bound twice");
    }

    /// A new label bound here.
    pub fn bound_label(&mut self) -> Label {
        let l = self.label();
        self.bind(l);
        l
    }

    /// The address of a bound label.
    pub fn address(&self, l: Label) -> u64 {
        self.bound[&l]
    }

    pub fn emit(&mut self, word: u32) {
        self.bytes.extend_from_slice(&word.to_le_bytes());
    }

    pub fn emit_all(&mut self, words: &[u32]) {
        for &w in words {
            self.emit(w);
        }
    }

    /// `li rd, value` (as many instructions as it takes).
    pub fn li(&mut self, rd: u32, value: u64) {
        self.emit_all(&asm::li(rd, value as i64));
    }

    /// `b<cond> rs1, rs2, label`, with `cond` one of the `rvmsmp::asm`
    /// branch encoders (`asm::beq`, `asm::bne`, ...).
    pub fn branch(&mut self, cond: fn(u32, u32, i32) -> u32, rs1: u32, rs2: u32, l: Label) {
        self.fixups.push((self.bytes.len(), Fixup::Branch(cond, rs1, rs2), l));
        self.emit(0);
    }

    pub fn jal(&mut self, rd: u32, l: Label) {
        self.fixups.push((self.bytes.len(), Fixup::Jal(rd), l));
        self.emit(0);
    }

    /// `j label`.
    pub fn j(&mut self, l: Label) {
        self.jal(0, l);
    }

    /// `call label` (jal ra).
    pub fn call(&mut self, l: Label) {
        self.jal(asm::reg::RA, l);
    }

    /// `ret`.
    pub fn ret(&mut self) {
        self.emit(asm::jalr(0, asm::reg::RA, 0));
    }

    /// `rd = address of label`, always two instructions (lui + addiw), so
    /// the label's address must lie below 2 GiB - 2 KiB.
    pub fn la(&mut self, rd: u32, l: Label) {
        self.fixups.push((self.bytes.len(), Fixup::Address(rd), l));
        self.emit(0);
        self.emit(0);
    }

    /// `rd = value` for a value below 2 GiB - 2 KiB, always two instructions.
    pub fn li_fixed(&mut self, rd: u32, value: u64) {
        let [a, b] = lui_addiw(rd, value);
        self.emit(a);
        self.emit(b);
    }

    /// Pads with zero bytes to a multiple of `n` (a power of two) bytes.
    pub fn align(&mut self, n: u64) {
        assert!(n.is_power_of_two());
        while self.here() & (n - 1) != 0 {
            self.bytes.push(0);
        }
    }

    pub fn data(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub fn dword(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// The finished bytes, every label use resolved.
    pub fn finish(mut self) -> Vec<u8> {
        for &(at, fixup, l) in &self.fixups {
            let target = *self.bound.get(&l).expect("a label used but never bound");
            let pc = self.base + at as u64;
            let offset = target.wrapping_sub(pc) as i64;
            let put = |bytes: &mut Vec<u8>, at: usize, w: u32| bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
            match fixup {
                Fixup::Branch(cond, rs1, rs2) => {
                    assert!((-4096..4096).contains(&offset), "branch out of range");
                    put(&mut self.bytes, at, cond(rs1, rs2, offset as i32));
                }
                Fixup::Jal(rd) => {
                    assert!((-(1 << 20)..(1 << 20)).contains(&offset), "jal out of range");
                    put(&mut self.bytes, at, asm::jal(rd, offset as i32));
                }
                Fixup::Address(rd) => {
                    let [a, b] = lui_addiw(rd, target);
                    put(&mut self.bytes, at, a);
                    put(&mut self.bytes, at + 4, b);
                }
            }
        }
        self.bytes
    }
}

/// `lui rd, hi; addiw rd, rd, lo` loading `value` (< 2 GiB - 2 KiB).
fn lui_addiw(rd: u32, value: u64) -> [u32; 2] {
    assert!(value < 0x7fff_f800, "{value:#x} does not fit lui + addiw");
    let v = value as i32;
    let lo = (v << 20) >> 20;
    let hi = v.wrapping_sub(lo);
    [asm::lui(rd, hi), asm::addiw(rd, rd, lo)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvmsmp::asm::reg::*;
    use rvmsmp::loader::ElfImage;
    use std::path::Path;

    #[test]
    fn the_elf_writer_gives_what_the_loader_reads() {
        let code = vec![0x13, 0, 0, 0, 0x73, 0, 0, 0];
        let bytes = elf(
            0x10004,
            &[
                Segment {
                    vaddr: 0x10000,
                    data: code.clone(),
                    memsz: 0x2000,
                    flags: PF_R | PF_X,
                },
                Segment::zeroed(0x20000, 0x1000, PF_R | PF_W),
                Segment {
                    vaddr: 0x30123,
                    data: vec![7; 5],
                    memsz: 5,
                    flags: PF_R,
                },
            ],
        );
        rvmsmp::kernel::check_program(Path::new("gen.elf"), &bytes).expect("a static RV64 executable");
        let image = ElfImage::parse(Path::new("gen.elf"), &bytes).unwrap();
        assert_eq!(image.entry, 0x10004);
        let got: Vec<_> = image
            .segments
            .iter()
            .map(|s| (s.paddr, s.mem_size, s.data.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (0x10000, 0x2000, code),
                (0x20000, 0x1000, vec![]),
                (0x30123, 5, vec![7; 5])
            ]
        );
    }

    #[test]
    fn labels_resolve_forwards_and_backwards() {
        let mut a = Asm::new(0x1000);
        let (top, end, data) = (a.bound_label(), a.label(), a.label());
        a.branch(asm::beq, A0, A1, end); // 0x1000 -> 0x1010
        a.la(T0, data); // 0x1004, 0x1008
        a.jal(RA, top); // 0x100c -> 0x1000
        a.bind(end);
        a.j(end); // 0x1010 -> itself
        a.align(8);
        a.bind(data);
        a.dword(42);
        assert_eq!(a.address(data), 0x1018);
        let bytes = a.finish();
        let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(word(0), asm::beq(A0, A1, 16));
        assert_eq!([word(1), word(2)], [asm::lui(T0, 0x1000), asm::addiw(T0, T0, 0x18)]);
        assert_eq!(word(3), asm::jal(RA, -12));
        assert_eq!(word(4), asm::jal(ZERO, 0));
        assert_eq!(&bytes[0x18..0x20], &42u64.to_le_bytes());
    }
}
