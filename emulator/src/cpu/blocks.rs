//! Decoded basic blocks: the interpreter's fast path.
//!
//! A block is a run of instructions decoded once from one physical page,
//! ending at the first instruction that may change control flow or the
//! hart's state that the block's execution relies on (a branch or jump, a
//! CSR access, a trap-raising or privileged instruction, `fence.i`), at the
//! end of the page, or after [`MAX_BLOCK`] instructions. Executing a block
//! then costs no fetch, no translation and no decode per instruction: the
//! fetch permission is checked once, at the block's start, and nothing
//! inside a block can change it.
//!
//! Blocks are keyed by physical address and shared by all harts (decoding
//! does not depend on the hart). They are kept correct under self-modifying
//! code by the bus: the memory a block was decoded from is marked (in
//! 64-byte lines), and a write to a marked line (by any hart, a device or
//! the loader) bumps the
//! bus's code generation, which empties this cache before the next block
//! runs and ends the current block after the writing instruction.
//!
//! Every counter advances exactly as in [`Hart::step`]: per instruction, in
//! order, with the same cycle costs; quantum ends and interrupts fall on the
//! same instruction boundaries, because a block is left as soon as the
//! slice's limit is reached and no instruction inside a block can make an
//! interrupt pending or enabled.

use super::decode::{decode, Insn, Op};
use super::mmu::{Access, PAGE_SIZE};
use super::Hart;
use crate::bus::Bus;

/// The longest block, in instructions.
pub const MAX_BLOCK: usize = 32;
/// Direct-mapped slots, indexed by the block's start address.
const SLOTS: usize = 4096;

/// Whether `op` must be the last instruction of a block: it may transfer
/// control, trap by design, or change what the block relies on (privilege,
/// translation, interrupt enables, the instruction stream).
fn ends_block(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Illegal
            | Jal
            | Jalr
            | Beq
            | Bne
            | Blt
            | Bge
            | Bltu
            | Bgeu
            | FenceI
            | Ecall
            | Ebreak
            | Csrrw
            | Csrrs
            | Csrrc
            | Csrrwi
            | Csrrsi
            | Csrrci
            | Mret
            | Sret
            | Wfi
            | SfenceVma
    )
}

/// A block start spread over table indices (taken modulo a table's size):
/// the page number is folded in, so that blocks at the same offset in
/// different pages do not all compete for one slot.
pub(super) fn spread(pa: u64) -> usize {
    ((pa >> 1) ^ (pa >> 12).wrapping_mul(0x9e37_79b9)) as usize
}

/// The slot for the block starting at `pa`.
fn slot_of(pa: u64) -> usize {
    spread(pa) % SLOTS
}

/// The shared cache of decoded blocks.
pub struct BlockCache {
    /// Each slot's block start (a physical address), or `u64::MAX` when empty.
    tags: Vec<u64>,
    lens: Vec<u8>,
    /// `MAX_BLOCK` instructions per slot, with their cycle costs beside them.
    insns: Vec<Insn>,
    costs: Vec<u32>,
    /// The bus's code generation the blocks were decoded at.
    generation: u64,
    /// Whether hot blocks run as host code (cpu/jit.rs), where the host
    /// can: on by default, off with `--no-jit`.
    translate: bool,
    hot_runs: u8,
    #[cfg(all(target_arch = "x86_64", unix))]
    translator: Option<super::jit::Translator>,
}

impl Default for BlockCache {
    fn default() -> Self {
        BlockCache {
            tags: Vec::new(),
            lens: Vec::new(),
            insns: Vec::new(),
            costs: Vec::new(),
            generation: 0,
            translate: true,
            hot_runs: super::JIT_HOT_RUNS,
            #[cfg(all(target_arch = "x86_64", unix))]
            translator: None,
        }
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockCache")
    }
}

impl BlockCache {
    /// Turns translation to host code on or off (the interpreter alone
    /// gives the same results, more slowly), and sets the runs a block
    /// takes to become hot.
    pub fn set_translation(&mut self, on: bool, hot_runs: u8) {
        self.translate = on;
        self.hot_runs = hot_runs;
        #[cfg(all(target_arch = "x86_64", unix))]
        if !on {
            self.translator = None;
        }
    }

    fn ensure_allocated(&mut self) {
        if self.tags.is_empty() {
            self.tags = vec![u64::MAX; SLOTS];
            self.lens = vec![0; SLOTS];
            self.insns = vec![decode(0); SLOTS * MAX_BLOCK];
            self.costs = vec![0; SLOTS * MAX_BLOCK];
            #[cfg(all(target_arch = "x86_64", unix))]
            if self.translate {
                self.translator = super::jit::Translator::new(self.hot_runs);
            }
        }
    }

    /// The slot holding the block that starts at `pa`, decoding it first if
    /// need be; `None` when not even one instruction can be decoded there
    /// (not RAM, or a 4-byte instruction straddling the page's end).
    fn block_at(&mut self, hart: &Hart, bus: &mut Bus, pa: u64) -> Option<usize> {
        self.ensure_allocated();
        if self.generation != bus.code_generation() {
            self.tags.fill(u64::MAX);
            bus.forget_code();
            self.generation = bus.code_generation();
            #[cfg(all(target_arch = "x86_64", unix))]
            if let Some(translator) = &mut self.translator {
                translator.clear();
            }
        }
        let slot = slot_of(pa);
        if self.tags[slot] == pa {
            return Some(slot);
        }
        // 0 for the top page of the address space (never RAM): no block there.
        let page_end = (pa & !(PAGE_SIZE - 1)).wrapping_add(PAGE_SIZE);
        let base = slot * MAX_BLOCK;
        let mut at = pa;
        let mut len = 0;
        while len < MAX_BLOCK && at < page_end {
            let Some(low) = bus.read_ram(at, 2) else { break };
            let bits = if low & 3 != 3 {
                low as u32
            } else {
                if at + 4 > page_end {
                    break;
                }
                match bus.read_ram(at, 4) {
                    Some(word) => word as u32,
                    None => break,
                }
            };
            let insn = decode(bits);
            self.insns[base + len] = insn;
            self.costs[base + len] = hart.cost.insn(insn.op) as u32;
            len += 1;
            at += insn.len as u64;
            if ends_block(insn.op) {
                break;
            }
        }
        if len == 0 {
            return None;
        }
        bus.mark_code(pa, at - pa);
        self.tags[slot] = pa;
        self.lens[slot] = len as u8;
        Some(slot)
    }
}

impl Hart {
    /// Runs the block at pc: at least one instruction (or the trap that
    /// fetching it raises), and at most until the slice's limit, a trap, a
    /// WFI or a write to code. Falls back to [`Hart::step`] where no block
    /// can be formed.
    pub(super) fn run_block(&mut self, bus: &mut Bus, blocks: &mut BlockCache) {
        let pa = match self.tlb.fast_fetch(self.pc) {
            Some(pa) => pa,
            None => {
                let Ok(pa) = self.translate(bus, self.pc, Access::Fetch) else {
                    return self.step(bus); // step takes the fetch fault
                };
                self.tlb.fill_fetch(self.pc, pa);
                pa
            }
        };
        // A block translated already runs without a look at the block cache
        // (its translation outlives its slot there).
        #[cfg(all(target_arch = "x86_64", unix))]
        if blocks.generation == bus.code_generation() {
            if let Some(translator) = &mut blocks.translator {
                if translator.run_translated(pa, self, bus) {
                    return;
                }
            }
        }
        let Some(slot) = blocks.block_at(self, bus, pa) else {
            return self.step(bus);
        };
        let base = slot * MAX_BLOCK;
        let len = blocks.lens[slot] as usize;
        #[cfg(all(target_arch = "x86_64", unix))]
        if let Some(translator) = &mut blocks.translator {
            let block = super::jit::Block {
                pa,
                insns: &blocks.insns[base..base + len],
                costs: &blocks.costs[base..base + len],
            };
            if translator.run(block, self, bus) {
                return;
            }
        }
        let generation = bus.code_generation();
        for i in base..base + len {
            let insn = &blocks.insns[i];
            let pc = self.pc;
            self.cycle += blocks.costs[i] as u64;
            match self.execute(insn, bus) {
                Ok(()) => self.instret += 1,
                Err(trap) => {
                    bus.drop_reservation(self.id);
                    self.take_exception(trap, pc);
                    return;
                }
            }
            if self.cycle >= self.slice_limit || bus.code_generation() != generation {
                return;
            }
        }
    }
}
