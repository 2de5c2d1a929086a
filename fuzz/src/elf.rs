//! A minimal writer of static little-endian RV64 ELF executables: the ELF
//! header, one program header per segment, then the segments' bytes. It
//! builds the inputs of the kernel target and the seed inputs of the loader
//! target.

/// Segment permissions (`p_flags`).
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const PT_LOAD: u32 = 1;
const ET_EXEC: u16 = 2;
const EM_RISCV: u16 = 243;
const PAGE: u64 = 4096;

/// One `PT_LOAD` segment: `data` in the file, `mem_size` (at least
/// `data.len()`) in memory, the rest zero.
#[derive(Clone, Debug)]
pub struct Segment {
    pub addr: u64,
    pub data: Vec<u8>,
    pub mem_size: u64,
    pub flags: u32,
}

/// The executable's bytes. Each segment's file offset is congruent to its
/// address modulo the page size, as a linker lays it out.
pub fn write(entry: u64, segments: &[Segment]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF");
    out.extend_from_slice(&[2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // ELFCLASS64, little-endian, version 1
    out.extend_from_slice(&ET_EXEC.to_le_bytes());
    out.extend_from_slice(&EM_RISCV.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // e_version
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&EHDR_SIZE.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    out.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    out.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    out.extend_from_slice(&(segments.len() as u16).to_le_bytes());
    out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    out.extend_from_slice(&[0; 4]); // e_shnum, e_shstrndx
    let mut offset = EHDR_SIZE + PHDR_SIZE * segments.len() as u64;
    let mut offsets = Vec::with_capacity(segments.len());
    for s in segments {
        offset += (s.addr % PAGE + PAGE - offset % PAGE) % PAGE;
        offsets.push(offset);
        offset += s.data.len() as u64;
    }
    for (s, &off) in segments.iter().zip(&offsets) {
        out.extend_from_slice(&PT_LOAD.to_le_bytes());
        out.extend_from_slice(&s.flags.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&s.addr.to_le_bytes()); // p_vaddr
        out.extend_from_slice(&s.addr.to_le_bytes()); // p_paddr
        out.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&s.mem_size.max(s.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&PAGE.to_le_bytes());
    }
    for (s, &off) in segments.iter().zip(&offsets) {
        out.resize(off as usize, 0);
        out.extend_from_slice(&s.data);
    }
    out
}

/// Instruction words as little-endian bytes.
pub fn code(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
