//! A per-hart cache of decoded instructions, so each instruction is decoded
//! once rather than every time it runs.
//!
//! Entries are keyed by physical address and also hold the instruction bits
//! they were decoded from; a hit requires the freshly fetched bits to match.
//! Code that is overwritten (self-modifying code, a loader reusing pages) is
//! therefore never executed stale, with no invalidation to track.

use super::decode::{decode, Insn};

const ENTRIES: usize = 4096;

pub struct DecodeCache {
    tags: Box<[u64; ENTRIES]>,
    insns: Box<[Insn; ENTRIES]>,
}

impl Clone for DecodeCache {
    fn clone(&self) -> Self {
        DecodeCache {
            tags: self.tags.clone(),
            insns: self.insns.clone(),
        }
    }
}

impl std::fmt::Debug for DecodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecodeCache")
    }
}

impl Default for DecodeCache {
    fn default() -> Self {
        DecodeCache {
            tags: Box::new([u64::MAX; ENTRIES]),
            insns: Box::new([decode(0); ENTRIES]),
        }
    }
}

impl DecodeCache {
    /// The decoded form of `bits` (as fetched: 16 bits for a compressed
    /// instruction) found at physical address `pa`.
    #[inline]
    pub fn get(&mut self, pa: u64, bits: u32) -> Insn {
        let i = (pa >> 1) as usize % ENTRIES;
        let cached = self.insns[i];
        if self.tags[i] == pa && cached.raw == bits {
            return cached;
        }
        let insn = decode(bits);
        self.tags[i] = pa;
        self.insns[i] = insn;
        insn
    }
}
