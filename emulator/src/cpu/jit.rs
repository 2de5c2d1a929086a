//! A translator from decoded blocks to x86-64 machine code.
//!
//! A block that has run [`super::JIT_HOT_RUNS`] times is translated once
//! into a host function with the same effect as the block loop in
//! `blocks.rs`. Integer arithmetic, branches and jumps become a few host
//! instructions each, on guest registers held in host registers (a0-a7) or
//! in the hart; loads and stores look up the hart's fast-path tables inline
//! and touch RAM directly; double arithmetic runs on the host's SSE unit
//! when that is provably the interpreter's answer. Every other instruction,
//! and every case those paths do not cover, calls back into the interpreter
//! for that one instruction ([`step_one`]), which also takes any trap.
//! A block that ends by going to a known address on its own page jumps
//! straight into the next block's translation ([`chain`]).
//! Copies of one page of text (one per process running a program) share
//! one translation ([`Translator::home_of`]).
//!
//! Counters stay exact. pc, instret and the cycles left in the slice live
//! in host registers (r9, r10, r11) plus pending deltas known when
//! translating, and are written back before anything else can look: before
//! each call into the interpreter and on leaving. Each instruction's cycles
//! are charged before it runs, as in the interpreter, and the slice ends on
//! the same instruction: a block whose cycles might reach the slice's end
//! runs a copy of its code that checks after every instruction. A call into
//! the interpreter reports when the block must stop early: a trap, a write
//! to code, or a change that moved the slice's limit.
//!
//! Translation depends only on the decoded instructions and their costs, so
//! the results and every count are the same with or without it
//! (`--no-jit`; tests/jit.rs and tests/fp.rs check it); only host time
//! differs.

// dynasm expands a dynamic register, `Rq(r)`, to `r.into()`.
#![allow(clippy::useless_conversion)]

use super::csr::mstatus;
use super::decode::{Insn, Op};
use super::fpu;
use super::mmu::{Tlb, FAST_ENTRIES, GEN_SHIFT, PAGE_SHIFT, PAGE_SIZE};
use super::Hart;
use crate::bus::Bus;
use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};
use std::collections::HashMap;
use std::mem::offset_of;

/// Executable memory per machine. When it is full, every translation is
/// dropped and hot blocks are translated again.
const ARENA_BYTES: usize = 32 << 20;

/// A translated block: `(hart, bus, code generation at entry)`.
type BlockFn = unsafe extern "sysv64" fn(*mut Hart, *mut Bus, u64);

/// The translations of hot blocks.
///
/// Translations are kept by the physical address of their block, in a table
/// of their own, larger than the block cache: a translation stays right
/// while the code generation is unchanged, whether or not its block is
/// still in the cache (many copies of one program, one per process, would
/// otherwise keep evicting each other's blocks and be translated again).
pub(super) struct Translator {
    arena: CodeArena,
    /// Per slot ([`slot_of`]): the block and its translation.
    slots: Vec<Slot>,
    /// Per slot: runs so far, up to `hot_runs`.
    heat: Vec<u8>,
    /// Runs that make a block hot (see `MachineConfig::jit_hot_runs`).
    hot_runs: u8,
    /// The length of the prologue, the same for every translation.
    body: usize,
    /// The instructions translated code hands to the interpreter: copies,
    /// since a translation outlives its block in the block cache. Never
    /// grown past its capacity, so they stay where they are until
    /// [`Translator::clear`].
    insns: Vec<Insn>,
    /// Pages of code shared between copies: see [`Translator::home_of`].
    homes: HashMap<u64, u64>,
    /// Per page-content hash, the first page seen with that content.
    by_content: HashMap<u64, u64>,
}

/// A slot of the translator's table: a block's physical address (or
/// `u64::MAX`) and the address of its translation (or 0: not translated
/// yet), side by side, so that a lookup touches one line of host memory.
#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    tag: u64,
    entry: usize,
}

impl Slot {
    const EMPTY: Slot = Slot {
        tag: u64::MAX,
        entry: 0,
    };
}

/// Instructions [`Translator::insns`] holds.
const INSN_POOL: usize = 1 << 18;
/// Slots of the translator's table.
const SLOTS: usize = 1 << 16;

/// The slot for the translation of the block starting at `pa`.
fn slot_of(pa: u64) -> usize {
    super::blocks::spread(pa) % SLOTS
}

impl Translator {
    /// A translator; `None` when the host refuses executable memory (the
    /// interpreter then runs everything).
    pub(super) fn new(hot_runs: u8) -> Option<Translator> {
        Some(Translator {
            arena: CodeArena::new(ARENA_BYTES)?,
            slots: vec![Slot::EMPTY; SLOTS],
            heat: vec![0; SLOTS],
            hot_runs,
            insns: Vec::with_capacity(INSN_POOL),
            body: prologue(&mut Asm::new(0)),
            homes: HashMap::new(),
            by_content: HashMap::new(),
        })
    }

    /// Forgets every translation (the code they were made from changed).
    pub(super) fn clear(&mut self) {
        self.slots.fill(Slot::EMPTY);
        self.heat.fill(0);
        self.arena.reset();
        self.insns.clear();
        self.homes.clear();
        self.by_content.clear();
    }

    /// Runs the block at `pa` if it is translated; returns whether it was.
    #[inline]
    pub(super) fn run_translated(&mut self, pa: u64, hart: &mut Hart, bus: &mut Bus) -> bool {
        let slot = slot_of(pa);
        let Slot { tag, entry } = self.slots[slot];
        if tag != pa || entry == 0 {
            return false;
        }
        self.call(entry, hart, bus);
        true
    }

    /// Runs `block` translated, translating it first if it has become hot.
    /// Returns false, having run nothing, when the interpreter must run it
    /// instead: it is not hot yet.
    #[inline]
    pub(super) fn run(&mut self, block: Block, hart: &mut Hart, bus: &mut Bus) -> bool {
        let slot = slot_of(block.pa);
        if self.slots[slot].tag != block.pa {
            self.slots[slot] = Slot {
                tag: block.pa,
                entry: 0,
            };
            self.heat[slot] = 0;
        }
        let mut entry = self.slots[slot].entry;
        if entry == 0 {
            if self.heat[slot] < self.hot_runs {
                self.heat[slot] += 1;
                return false;
            }
            match self.translate(slot, &block, hart, bus) {
                Some(translated) => entry = translated,
                None => return false,
            }
        }
        self.call(entry, hart, bus);
        true
    }

    /// Runs the translation at `entry`.
    #[inline]
    fn call(&self, entry: usize, hart: &mut Hart, bus: &mut Bus) {
        // SAFETY: `entry` is code this translator placed in its arena for
        // the block at the hart's pc, from the code there now (any write to
        // it drops every translation), and that code follows the sysv64
        // ABI. It reaches the hart and the bus only through these two
        // pointers, made from the exclusive borrows held here, and the
        // translator's own tables and instruction copies, which nothing
        // changes while it runs.
        unsafe {
            let code: BlockFn = std::mem::transmute::<usize, BlockFn>(entry);
            code(hart, bus, bus.code_generation());
        }
    }

    /// Translates `block` (in `slot`), or finds the translation of the
    /// same code on its page's home page (see [`Translator::home_of`]).
    fn translate(&mut self, slot: usize, block: &Block, hart: &Hart, bus: &mut Bus) -> Option<usize> {
        // When the arena or the pool is full, everything is dropped and the
        // block translated again into the empty ones.
        for _ in 0..2 {
            if self.insns.len() + block.insns.len() > INSN_POOL {
                self.clear();
            }
            // The translation is made for, and kept at, the block's place
            // on its home page: its chains lead to the blocks there.
            let mut home = self.home_of(block.pa, hart, bus);
            let home_slot = slot_of(home);
            if home_slot == slot && home != block.pa {
                home = block.pa; // the two would keep displacing each other
            }
            let at_home = self.slots[home_slot];
            if home != block.pa && at_home.tag == home && at_home.entry != 0 {
                self.slots[slot] = Slot {
                    tag: block.pa,
                    entry: at_home.entry,
                };
                return Some(at_home.entry);
            }
            let (ram, code_lines) = bus.ram_pointers();
            let links = Links {
                slots: self.slots.as_ptr() as usize,
                ram: ram as usize,
                code_lines: code_lines as usize,
                body: self.body,
                fma: std::arch::is_x86_feature_detected!("fma"),
            };
            let first = self.insns.len();
            self.insns.extend_from_slice(block.insns);
            let copy = Block {
                pa: home,
                insns: &self.insns[first..],
                costs: block.costs,
            };
            let code = assemble(&copy, &links);
            match self.arena.place(&code) {
                Some(entry) => {
                    self.slots[home_slot] = Slot { tag: home, entry };
                    self.slots[slot] = Slot { tag: block.pa, entry };
                    return Some(entry);
                }
                None => self.clear(),
            }
        }
        None
    }

    /// Where the code at `pa` is translated: the same place on its page's
    /// home page. Many processes running one program each hold a copy of
    /// its text, page for page; they share one translation of each page
    /// (as they would share one copy of the pages in the host's caches),
    /// rather than a translation per copy, which multiplies the host code
    /// a quantum's work runs through by the number of copies.
    ///
    /// A page's home is the first page translated from that held the same
    /// 4 KiB when it was first seen, or the page itself. A page is shared
    /// only if the hart fetches from it through a leaf without W (text, not
    /// data). Both pages are then marked as code whole, so any write to
    /// either drops every translation and this table with them: until
    /// then they stay identical, and a translation made from one is right
    /// for the other, chains included.
    fn home_of(&mut self, pa: u64, hart: &Hart, bus: &mut Bus) -> u64 {
        let page = pa & !(PAGE_SIZE - 1);
        let offset = pa - page;
        if let Some(&home) = self.homes.get(&page) {
            return home + offset;
        }
        let mut home = page;
        if hart.fetches_from_read_only_page(hart.pc) {
            if let Some(bytes) = bus.ram_slice(page, PAGE_SIZE) {
                let hash = content_hash(bytes);
                match self.by_content.get(&hash) {
                    Some(&other) if bus.ram_slice(other, PAGE_SIZE) == Some(bytes) => home = other,
                    _ => {
                        self.by_content.insert(hash, page);
                    }
                }
            }
        }
        if home != page {
            bus.mark_code(page, PAGE_SIZE);
            bus.mark_code(home, PAGE_SIZE);
        }
        self.homes.insert(page, home);
        home + offset
    }
}

/// A hash of a page's bytes, for finding pages with the same contents.
fn content_hash(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0, |hash: u64, word| {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        (hash.rotate_left(5) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    })
}

/// A decoded block, as the block cache holds it.
pub(super) struct Block<'a> {
    /// Its physical address.
    pub pa: u64,
    pub insns: &'a [Insn],
    /// Each instruction's cycles.
    pub costs: &'a [u32],
}

/// Addresses of the per-slot tables, for chaining: a translated block that
/// ends by going to a known address on its own page jumps straight into
/// the next block's translation, when there is one and the dispatcher
/// would run it translated next anyway.
struct Links {
    /// The translator's table of [`Slot`]s.
    slots: usize,
    /// RAM's first byte and its code-line bitmap (see `Bus::ram_pointers`).
    ram: usize,
    code_lines: usize,
    /// Where a translation's own code starts, past its prologue.
    body: usize,
    /// Whether the host has FMA3 (fused multiply-adds as host instructions).
    fma: bool,
}

/// Runs one instruction in the interpreter, for translated code: exactly
/// what the block loop does for it. `pc` and `cycle` (with this
/// instruction's cost) are current. Returns nonzero when the block must end
/// here: the instruction trapped, wrote to code, or moved the slice's limit.
unsafe extern "sysv64" fn step_one(hart: *mut Hart, bus: *mut Bus, insn: *const Insn, generation: u64) -> u64 {
    // SAFETY: called only from translated code, with the pointers it was
    // given by `Translator::run` and an instruction of its block.
    let (hart, bus, insn) = unsafe { (&mut *hart, &mut *bus, &*insn) };
    let pc = hart.pc;
    match hart.execute(insn, bus) {
        Ok(()) => hart.instret += 1,
        Err(trap) => {
            bus.drop_reservation(hart.id);
            hart.take_exception(trap, pc);
            return 1;
        }
    }
    (hart.cycle >= hart.slice_limit || bus.code_generation() != generation) as u64
}

/// Where translated code finds the hart's state.
fn x_reg(r: u8) -> i32 {
    (offset_of!(Hart, x) + 8 * (r as usize & 31)) as i32
}
const PC: i32 = offset_of!(Hart, pc) as i32;
const CYCLE: i32 = offset_of!(Hart, cycle) as i32;
const INSTRET: i32 = offset_of!(Hart, instret) as i32;
const SLICE_LIMIT: i32 = offset_of!(Hart, slice_limit) as i32;
const MSTATUS: i32 = offset_of!(Hart, csr.mstatus) as i32;
const MERGING: i32 = offset_of!(Hart, merging) as i32;
/// The upper half of a NaN-boxed single.
const NAN_BOX: i64 = 0xffff_ffff_0000_0000_u64 as i64;

fn f_reg(r: u8) -> i32 {
    (offset_of!(Hart, f) + 8 * (r as usize & 31)) as i32
}

/// Writes to pc, cycle and instret not yet made: translated code keeps them
/// here and makes them in one go ([`Pending::flush`]).
#[derive(Default)]
struct Pending {
    /// Bytes from the hart's pc to the next instruction's.
    pc: i64,
    cycles: i64,
    instret: i64,
}

type Asm = VecAssembler<X64Relocation>;

impl Pending {
    /// Makes the pending writes to the host registers that stand for pc
    /// (r9) and instret (r10), and takes the cycles from those left in the
    /// slice (r11); see [`write_counters`].
    fn flush(&mut self, a: &mut Asm) {
        if self.pc != 0 {
            let pc = self.pc as i32;
            dynasm!(a ; .arch x64 ; add r9, DWORD pc);
        }
        if self.instret != 0 {
            let instret = self.instret as i32;
            dynasm!(a ; .arch x64 ; add r10, DWORD instret);
        }
        if self.cycles != 0 {
            let cycles = self.cycles as i32;
            dynasm!(a ; .arch x64 ; sub r11, DWORD cycles);
        }
        *self = Pending::default();
    }
}

/// Whether `op` is translated into host instructions rather than a call
/// into the interpreter.
fn is_native(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Lui | Auipc
            | Addi
            | Slti
            | Sltiu
            | Xori
            | Ori
            | Andi
            | Slli
            | Srli
            | Srai
            | Add
            | Sub
            | Sll
            | Slt
            | Sltu
            | Xor
            | Srl
            | Sra
            | Or
            | And
            | Addiw
            | Slliw
            | Srliw
            | Sraiw
            | Addw
            | Subw
            | Sllw
            | Srlw
            | Sraw
            | Mul
            | Mulh
            | Mulhu
            | Mulw
            | Fence
    )
}

fn is_jump(op: Op) -> bool {
    use Op::*;
    matches!(op, Jal | Jalr | Beq | Bne | Blt | Bge | Bltu | Bgeu)
}

// Host registers (dynasm numbering).
const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;

/// Guest registers held in host registers while translated code runs, as
/// (guest, host) pairs: the ones compilers use most (a0-a7). They are
/// loaded on entry from the dispatcher, written back on exit, and written
/// back and reloaded around every call into the interpreter, so that
/// everything outside translated code sees them in `Hart::x`. Blocks
/// chained together keep them in place. rbx holds the hart; r9, r10 and
/// r11 stand for pc, instret and cycle (see [`cycles_left`]); rax, rcx and
/// rdx are scratch; the stack frame holds the bus and the code generation
/// at entry.
const HELD: [(u8, u8); 8] = [
    (15, 5),
    (14, 12),
    (13, 13),
    (12, 14),
    (11, 15),
    (10, 6),
    (16, 7),
    (17, 8),
];

/// The host register holding guest register `r`, if any.
fn held(r: u8) -> Option<u8> {
    HELD.iter().find(|&&(guest, _)| guest == r).map(|&(_, host)| host)
}

/// `op dst, rs2` with the guest register rs2 as the source operand where
/// it is, in a host register or in the hart (64 bits, or the low 32).
macro_rules! with_rs2 {
    ($a:expr, $insn:expr, $op:ident $dst:ident) => {
        match held($insn.rs2) {
            Some(host) => dynasm!($a ; .arch x64 ; $op $dst, Rq(host)),
            None => dynasm!($a ; .arch x64 ; $op $dst, QWORD [rbx + x_reg($insn.rs2)]),
        }
    };
    ($a:expr, $insn:expr, $op:ident $dst:ident, 32) => {
        match held($insn.rs2) {
            Some(host) => dynasm!($a ; .arch x64 ; $op $dst, Rd(host)),
            None => dynasm!($a ; .arch x64 ; $op $dst, DWORD [rbx + x_reg($insn.rs2)]),
        }
    };
}

/// Host register `dst` = guest register `r`.
fn get(a: &mut Asm, dst: u8, r: u8) {
    match held(r) {
        Some(host) => dynasm!(a ; .arch x64 ; mov Rq(dst), Rq(host)),
        None => dynasm!(a ; .arch x64 ; mov Rq(dst), QWORD [rbx + x_reg(r)]),
    }
}

/// Guest register `r` (not x0) = host register `src`.
fn put(a: &mut Asm, r: u8, src: u8) {
    match held(r) {
        Some(host) => dynasm!(a ; .arch x64 ; mov Rq(host), Rq(src)),
        None => dynasm!(a ; .arch x64 ; mov QWORD [rbx + x_reg(r)], Rq(src)),
    }
}

fn write_back_held(a: &mut Asm) {
    for (guest, host) in HELD {
        dynasm!(a ; .arch x64 ; mov QWORD [rbx + x_reg(guest)], Rq(host));
    }
}

fn reload_held(a: &mut Asm) {
    for (guest, host) in HELD {
        dynasm!(a ; .arch x64 ; mov Rq(host), QWORD [rbx + x_reg(guest)]);
    }
}

/// The stack frame: the bus, then the code generation at entry.
const BUS_SLOT: i32 = 0;
const GENERATION_SLOT: i32 = 8;

/// The code every translation starts with, entered from the dispatcher:
/// saves the host's registers, keeps the arguments, loads the held
/// registers and counts the cycles left. Returns where the block's own code starts: chained blocks
/// jump there, into the frame the chain's first block set up.
fn prologue(a: &mut Asm) -> usize {
    dynasm!(a
        ; .arch x64
        ; push rbx
        ; push rbp
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, 24 // six pushes, the return address and 24: 16-aligned for calls
        ; mov rbx, rdi
        ; mov QWORD [rsp + BUS_SLOT], rsi
        ; mov QWORD [rsp + GENERATION_SLOT], rdx
    );
    reload_held(a);
    read_counters(a);
    a.offset().0
}

/// r11 = the cycles left in the slice. While translated code runs, r11
/// stands for the hart's `cycle` (which is `slice_limit - r11`, less the
/// pending cycles), as r9 and r10 stand for `pc` and `instret`;
/// [`write_counters`] writes the three back before anything else can look.
/// After an instruction whose pending cycles reach r11, the slice is over.
fn cycles_left(a: &mut Asm) {
    dynasm!(a
        ; .arch x64
        ; mov r11, QWORD [rbx + SLICE_LIMIT]
        ; sub r11, QWORD [rbx + CYCLE]
    );
}

/// The hart's `pc`, `cycle` and `instret` from r9, r11 and r10, with
/// nothing pending.
fn write_counters(a: &mut Asm) {
    dynasm!(a
        ; .arch x64
        ; mov rax, QWORD [rbx + SLICE_LIMIT]
        ; sub rax, r11
        ; mov QWORD [rbx + CYCLE], rax
        ; mov QWORD [rbx + PC], r9
        ; mov QWORD [rbx + INSTRET], r10
    );
}

/// r9, r10 and r11 from the hart, after the interpreter ran.
fn read_counters(a: &mut Asm) {
    dynasm!(a
        ; .arch x64
        ; mov r9, QWORD [rbx + PC]
        ; mov r10, QWORD [rbx + INSTRET]
    );
    cycles_left(a);
}

/// The shared exit, after which the code is complete: `exit` with nothing
/// pending, `exit_synced` straight after the interpreter, whose counters
/// are current. The block's [`Exits`] follow it.
fn finalize(mut a: Asm, exits: &Exits) -> Vec<u8> {
    dynasm!(a ; .arch x64 ; ->exit:);
    write_counters(&mut a);
    dynasm!(a ; .arch x64 ; ->exit_synced:);
    write_back_held(&mut a);
    dynasm!(a
        ; .arch x64
        ; add rsp, 24
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbp
        ; pop rbx
        ; ret
    );
    for slow in &exits.slow_paths {
        slow.emit(&mut a);
    }
    for end in &exits.slice_ends {
        end.emit(&mut a);
    }
    a.finalize().expect("labels of a block resolve")
}

/// The host code for one block: the prologue, then the block's code twice.
/// The first copy runs when the slice cannot end inside the block (more
/// cycles are left than all its instructions but the last take), and so
/// checks nothing after each instruction; the second checks.
fn assemble(block: &Block, links: &Links) -> Vec<u8> {
    let mut a = Asm::new(0);
    let body = prologue(&mut a);
    debug_assert_eq!(body, links.body);
    let mut exits = Exits::default();
    let head: u64 = block.costs[..block.costs.len() - 1].iter().map(|&c| c as u64).sum();
    if head > 0 {
        let careful = a.new_dynamic_label();
        let head = head as i32;
        dynasm!(a ; .arch x64 ; cmp r11, DWORD head ; jle =>careful);
        block_code(&mut a, block, links, false, &mut exits);
        dynasm!(a ; .arch x64 ; =>careful);
    }
    block_code(&mut a, block, links, true, &mut exits);
    finalize(a, &exits)
}

/// The code placed after a block's own: the slow paths of loads, stores
/// and FP instructions, and the exits where the slice ends inside the
/// block (each writing back what is pending there).
#[derive(Default)]
struct Exits {
    slow_paths: Vec<SlowPath>,
    slice_ends: Vec<SliceEnd>,
}

/// Where the slice may end inside a block: after the instruction whose
/// pending writes are `pending` (pc, cycles, instret), if the cycles left
/// do not exceed its pending cycles.
struct SliceEnd {
    entry: DynamicLabel,
    resume: DynamicLabel,
    pending: (i64, i64, i64),
}

impl SliceEnd {
    /// Goes on at `resume` if the slice, one of merged rounds, is moved on;
    /// else writes back what is pending and leaves.
    fn emit(&self, a: &mut Asm) {
        let (pc, cycles, instret) = self.pending;
        let spent = cycles as i32;
        dynasm!(a ; .arch x64 ; =>self.entry);
        call_extend_slice(a);
        dynasm!(a
            ; .arch x64
            ; add r11, rax
            ; cmp r11, DWORD spent
            ; jg =>self.resume
        );
        Pending { pc, cycles, instret }.flush(a);
        dynasm!(a ; .arch x64 ; jmp ->exit);
    }
}

/// rax = how far the slice's end moved (see `Hart::extend_merged_slice`),
/// and r11 and the held registers as they were. Outside merged rounds the
/// answer is 0 without asking.
fn call_extend_slice(a: &mut Asm) {
    let helper = extend_slice as *const () as i64;
    let done = a.new_dynamic_label();
    dynasm!(a
        ; .arch x64
        ; xor eax, eax
        ; cmp BYTE [rbx + MERGING], 0
        ; je =>done
    );
    call_in_place(a, helper, 0);
    dynasm!(a ; .arch x64 ; =>done);
}

/// Calls `helper(hart, bus, arg)` (rdi, rsi, rdx) without writing anything
/// back: the caller-saved registers in use (held guest registers and
/// r9-r11) are saved around it; its answer is in rax.
fn call_in_place(a: &mut Asm, helper: i64, arg: i64) {
    dynasm!(a
        ; .arch x64
        ; push rsi
        ; push rdi
        ; push r8
        ; push r9
        ; push r10
        ; push r11 // six pushes: rsp stays 16-aligned
        ; mov rdi, rbx
        ; mov rsi, QWORD [rsp + 48 + BUS_SLOT]
        ; mov rdx, QWORD arg
        ; mov rax, QWORD helper
        ; call rax
        ; pop r11
        ; pop r10
        ; pop r9
        ; pop r8
        ; pop rdi
        ; pop rsi
    );
}

/// The block's instructions, leaving where the slice ends if `careful`.
fn block_code(a: &mut Asm, block: &Block, links: &Links, careful: bool, exits: &mut Exits) {
    let mut pending = Pending::default();
    let last = block.insns.len() - 1;
    // Bytes from the block's start to the instruction (pending.pc counts
    // from the last write-back of pc instead).
    let mut at = 0;
    for (i, insn) in block.insns.iter().enumerate() {
        pending.cycles += block.costs[i] as i64;
        if is_jump(insn.op) {
            // Jumps and branches end a block, so this is its last instruction.
            return jump(a, insn, pending, at, block, links);
        }
        at += insn.len as i64;
        let slow_paths = &mut exits.slow_paths;
        let native = if let Some(access) = MemoryAccess::of(insn.op) {
            memory(a, insn, access, links, &pending, slow_paths);
            true
        } else if fpu::in_place(insn.op) {
            if !double_native(a, insn, links, &pending, slow_paths) {
                floating_point(a, insn, &pending, slow_paths);
            }
            true
        } else if is_native(insn.op) {
            if insn.rd != 0 {
                alu(a, insn, pending.pc);
            }
            true
        } else {
            false
        };
        if !native {
            call_interpreter(a, insn, std::mem::take(&mut pending));
            if i == last {
                dynasm!(a ; .arch x64 ; jmp ->exit);
                return;
            }
            continue;
        }
        pending.pc += insn.len as i64;
        pending.instret += 1;
        if careful && i != last {
            // The slice ends here if this instruction reached its limit.
            let (entry, resume) = (a.new_dynamic_label(), a.new_dynamic_label());
            let spent = pending.cycles as i32;
            dynasm!(a ; .arch x64 ; cmp r11, DWORD spent ; jle =>entry ; =>resume);
            exits.slice_ends.push(SliceEnd {
                entry,
                resume,
                pending: (pending.pc, pending.cycles, pending.instret),
            });
        }
    }
    // The block ran into the end of its page or its length limit.
    pending.flush(a);
    chain(a, block, at, links);
}

/// Calls the interpreter for one instruction (see [`step_one`]) after
/// writing back `pending`, which includes the instruction's cycles; goes
/// to the exit if the block must stop.
fn call_interpreter(a: &mut Asm, insn: &Insn, mut pending: Pending) {
    pending.flush(a);
    write_counters(a);
    write_back_held(a);
    let insn_addr = insn as *const Insn as i64;
    let helper = step_one as *const () as i64;
    dynasm!(a
        ; .arch x64
        ; mov rdi, rbx
        ; mov rsi, QWORD [rsp + BUS_SLOT]
        ; mov rdx, QWORD insn_addr
        ; mov rcx, QWORD [rsp + GENERATION_SLOT]
        ; mov rax, QWORD helper
        ; call rax
    );
    reload_held(a);
    dynasm!(a
        ; .arch x64
        ; test rax, rax
        ; jnz ->exit_synced
    );
    read_counters(a);
}

/// A load or store's way out of the fast path: the interpreter performs
/// it (a misaligned access, a page not in the fast path, device memory,
/// a store to code or near a reservation, or a trap). Afterwards the
/// counters are put back as the fast path leaves them, still pending.
struct SlowPath {
    entry: DynamicLabel,
    resume: DynamicLabel,
    insn: *const Insn,
    /// Pending writes before the instruction, its cycles included.
    pending: (i64, i64, i64),
    len: i64,
}

impl SlowPath {
    /// A slow path for `insn`, with `pending` as it stands before it (its
    /// cycles included); returns the labels of its entry and of where the
    /// fast path goes on.
    fn add(
        a: &mut Asm,
        insn: &Insn,
        pending: &Pending,
        slow_paths: &mut Vec<SlowPath>,
    ) -> (DynamicLabel, DynamicLabel) {
        let (entry, resume) = (a.new_dynamic_label(), a.new_dynamic_label());
        slow_paths.push(SlowPath {
            entry,
            resume,
            insn,
            pending: (pending.pc, pending.cycles, pending.instret),
            len: insn.len as i64,
        });
        (entry, resume)
    }

    fn emit(&self, a: &mut Asm) {
        let (pc, cycles, instret) = self.pending;
        dynasm!(a ; .arch x64 ; =>self.entry);
        // SAFETY of the pointer: it is an instruction of the block being
        // assembled, which outlives its translation.
        call_interpreter(a, unsafe { &*self.insn }, Pending { pc, cycles, instret });
        // The interpreter advanced pc and instret past the instruction;
        // the fast path leaves both, and the cycles, pending instead.
        let (pc, instret, cycles) = ((pc + self.len) as i32, (instret + 1) as i32, cycles as i32);
        dynasm!(a
            ; .arch x64
            ; sub r9, DWORD pc
            ; sub r10, DWORD instret
            ; add r11, DWORD cycles
            ; jmp =>self.resume
        );
    }
}

/// The loads and stores with a fast path in translated code.
#[derive(Clone, Copy)]
struct MemoryAccess {
    size: u8,
    signed: bool,
    store: bool,
    /// To or from an f register (flw, fld, fsw, fsd).
    float: bool,
}

impl MemoryAccess {
    fn of(op: Op) -> Option<MemoryAccess> {
        use Op::*;
        let float = matches!(op, Flw | Fld | Fsw | Fsd);
        let (size, signed, store) = match op {
            Flw => (4, false, false),
            Fld => (8, false, false),
            Fsw => (4, false, true),
            Fsd => (8, false, true),
            Lb => (1, true, false),
            Lh => (2, true, false),
            Lw => (4, true, false),
            Ld => (8, false, false),
            Lbu => (1, false, false),
            Lhu => (2, false, false),
            Lwu => (4, false, false),
            Sb => (1, false, true),
            Sh => (2, false, true),
            Sw => (4, false, true),
            Sd => (8, false, true),
            _ => return None,
        };
        Some(MemoryAccess {
            size,
            signed,
            store,
            float,
        })
    }
}

/// Where the hart keeps its fast paths (see `Tlb`).
const FAST_GENERATION: i32 = (offset_of!(Hart, tlb) + Tlb::FAST_GENERATION) as i32;
const FAST_LOADS: i32 = (offset_of!(Hart, tlb) + Tlb::FAST_LOADS) as i32;
const FAST_STORES: i32 = (offset_of!(Hart, tlb) + Tlb::FAST_STORES) as i32;

/// A load or store through the hart's fast path, as `Hart::load` and
/// `Hart::store` take it: an aligned access to a page in the fast-path
/// table reads or writes RAM directly. A store also needs no reservation
/// held by any hart and no decoded code in its line (as
/// `Bus::ram_store_at` checks). Anything else takes the slow path.
fn memory(
    a: &mut Asm,
    insn: &Insn,
    access: MemoryAccess,
    links: &Links,
    pending: &Pending,
    slow_paths: &mut Vec<SlowPath>,
) {
    let (entry, resume) = SlowPath::add(a, insn, pending, slow_paths);
    let imm = insn.imm;
    let table = if access.store { FAST_STORES } else { FAST_LOADS };
    let (ram, code_lines) = (links.ram as i64, links.code_lines as i64);
    if access.float {
        // With the FP unit off, the interpreter raises the illegal instruction.
        dynasm!(a ; .arch x64 ; test QWORD [rbx + MSTATUS], mstatus::FS as i32 ; jz =>entry);
    }
    get(a, RAX, insn.rs1);
    dynasm!(a ; .arch x64 ; add rax, DWORD imm); // the virtual address
    if access.size > 1 {
        let mask = (access.size - 1) as i8;
        dynasm!(a ; .arch x64 ; test al, mask ; jnz =>entry);
    }
    dynasm!(a
        ; .arch x64
        ; mov rcx, rax
        ; shr rcx, PAGE_SHIFT as i8
        ; mov rdx, QWORD [rbx + FAST_GENERATION]
        ; shl rdx, GEN_SHIFT as i8
        ; or rdx, rcx // the tag
        ; and ecx, (FAST_ENTRIES - 1) as i32
        ; shl ecx, 4
        ; add rcx, QWORD [rbx + table] // the entry
        ; cmp QWORD [rcx], rdx
        ; jne =>entry
        ; mov rdx, QWORD [rcx + 8]
        ; and eax, (PAGE_SIZE - 1) as i32
        ; add rdx, rax // the RAM offset
    );
    if access.store {
        dynasm!(a
            ; .arch x64
            ; mov rcx, QWORD [rsp + BUS_SLOT]
            ; cmp QWORD [rcx + Bus::RESERVED as i32], 0
            ; jne =>entry
            ; mov rax, rdx
            ; shr rax, 12 // 64 lines of 64 bytes per word of the bitmap
            ; mov rcx, QWORD code_lines
            ; mov rax, QWORD [rcx + rax * 8]
            ; mov rcx, rdx
            ; shr rcx, 6
            ; bt rax, rcx
            ; jc =>entry
        );
        if access.float {
            // The register's bits unchanged, boxed or not (fsw: the low 32).
            dynasm!(a ; .arch x64 ; mov rax, QWORD [rbx + f_reg(insn.rs2)]);
        } else {
            get(a, RAX, insn.rs2);
        }
        dynasm!(a ; .arch x64 ; mov rcx, QWORD ram);
        match access.size {
            1 => dynasm!(a ; .arch x64 ; mov BYTE [rcx + rdx], al),
            2 => dynasm!(a ; .arch x64 ; mov WORD [rcx + rdx], ax),
            4 => dynasm!(a ; .arch x64 ; mov DWORD [rcx + rdx], eax),
            _ => dynasm!(a ; .arch x64 ; mov QWORD [rcx + rdx], rax),
        }
    } else {
        dynasm!(a ; .arch x64 ; mov rcx, QWORD ram);
        match (access.size, access.signed) {
            (1, true) => dynasm!(a ; .arch x64 ; movsx rax, BYTE [rcx + rdx]),
            (1, false) => dynasm!(a ; .arch x64 ; movzx eax, BYTE [rcx + rdx]),
            (2, true) => dynasm!(a ; .arch x64 ; movsx rax, WORD [rcx + rdx]),
            (2, false) => dynasm!(a ; .arch x64 ; movzx eax, WORD [rcx + rdx]),
            (4, true) => dynasm!(a ; .arch x64 ; movsxd rax, DWORD [rcx + rdx]),
            (4, false) => dynasm!(a ; .arch x64 ; mov eax, DWORD [rcx + rdx]),
            _ => dynasm!(a ; .arch x64 ; mov rax, QWORD [rcx + rdx]),
        }
        if access.float {
            if access.size == 4 {
                // A single is kept NaN-boxed.
                dynasm!(a ; .arch x64 ; mov rcx, QWORD NAN_BOX ; or rax, rcx);
            }
            dynasm!(a
                ; .arch x64
                ; mov QWORD [rbx + f_reg(insn.rd)], rax
                ; or QWORD [rbx + MSTATUS], mstatus::FS_DIRTY as i32
            );
        } else if insn.rd != 0 {
            put(a, insn.rd, RAX);
        }
    }
    dynasm!(a ; .arch x64 ; =>resume);
}

const FCSR: i32 = offset_of!(Hart, csr.fcsr) as i32;
/// A double's bits shifted left by one (the sign dropped): the smallest
/// normal's, and the first of the infinities and NaNs.
const SMALLEST_NORMAL_2: i64 = 0x0020_0000_0000_0000;
const INFINITY_2: i64 = 0xffe0_0000_0000_0000_u64 as i64;

/// Double-precision arithmetic and sign injection as host instructions,
/// where that is provably the interpreter's answer. The FP unit is on, the
/// rounding mode is to nearest (rm 0, or dynamic with frm 0), inexact is
/// already set, and the host's result is finite and above the smallest
/// normal; anything else takes the slow path, where the interpreter does it
/// all (nothing has been written by then).
///
/// Why that suffices: the host rounds to nearest-even exactly as IEEE 754
/// (and SoftFloat) do, with subnormal operands taken as they are. Every
/// flag but inexact comes with a result this excludes: invalid gives a NaN,
/// division by zero and overflow an infinity, underflow a result below the
/// smallest normal (tininess is judged after rounding, and a result at the
/// smallest normal may have rounded up to it, so that is excluded too). A
/// NaN operand gives a NaN. Inexact is set already, so whether the host's
/// operation was exact does not matter. Zero results (whose sign depends on
/// the rounding mode) are left to the interpreter.
///
/// Returns false, having emitted nothing, for an instruction it does not
/// cover.
fn double_native(a: &mut Asm, insn: &Insn, links: &Links, pending: &Pending, slow_paths: &mut Vec<SlowPath>) -> bool {
    use Op::*;
    let rm = insn.imm & 7;
    let fused = matches!(insn.op, FmaddD | FmsubD | FnmsubD | FnmaddD);
    let arithmetic = matches!(insn.op, FaddD | FsubD | FmulD | FdivD | FsqrtD) || fused;
    let sign = matches!(insn.op, FsgnjD | FsgnjnD | FsgnjxD);
    if !(sign || arithmetic && (rm == 0 || rm == 7) && (!fused || links.fma)) {
        return false;
    }
    let (entry, resume) = SlowPath::add(a, insn, pending, slow_paths);
    let (rs1, rs2, rs3) = (f_reg(insn.rs1), f_reg(insn.rs2), f_reg((insn.imm >> 3) as u8));
    dynasm!(a ; .arch x64 ; test QWORD [rbx + MSTATUS], mstatus::FS as i32 ; jz =>entry);
    if sign {
        dynasm!(a
            ; .arch x64
            ; mov rax, QWORD [rbx + rs1]
            ; mov rcx, QWORD [rbx + rs2]
            ; btr rax, 63
        );
        match insn.op {
            FsgnjD => {}
            FsgnjnD => dynasm!(a ; .arch x64 ; not rcx),
            _ => dynasm!(a ; .arch x64 ; xor rcx, QWORD [rbx + rs1]),
        }
        dynasm!(a
            ; .arch x64
            ; shr rcx, 63
            ; shl rcx, 63
            ; or rax, rcx
        );
    } else {
        let frm_mask = if rm == 7 { 0xe1 } else { 0x01 }; // frm must be 0, NX set
        dynasm!(a
            ; .arch x64
            ; mov eax, DWORD [rbx + FCSR]
            ; and eax, frm_mask
            ; cmp eax, 1
            ; jne =>entry
        );
        dynasm!(a ; .arch x64 ; movq xmm0, QWORD [rbx + rs1]);
        if fused {
            dynasm!(a ; .arch x64 ; movq xmm1, QWORD [rbx + rs2]);
        }
        // x86 names the negated fused forms the other way round.
        match insn.op {
            FaddD => dynasm!(a ; .arch x64 ; addsd xmm0, QWORD [rbx + rs2]),
            FsubD => dynasm!(a ; .arch x64 ; subsd xmm0, QWORD [rbx + rs2]),
            FmulD => dynasm!(a ; .arch x64 ; mulsd xmm0, QWORD [rbx + rs2]),
            FdivD => dynasm!(a ; .arch x64 ; divsd xmm0, QWORD [rbx + rs2]),
            FsqrtD => dynasm!(a ; .arch x64 ; sqrtsd xmm0, xmm0),
            FmaddD => dynasm!(a ; .arch x64 ; vfmadd213sd xmm0, xmm1, QWORD [rbx + rs3]),
            FmsubD => dynasm!(a ; .arch x64 ; vfmsub213sd xmm0, xmm1, QWORD [rbx + rs3]),
            FnmsubD => dynasm!(a ; .arch x64 ; vfnmadd213sd xmm0, xmm1, QWORD [rbx + rs3]),
            _ => dynasm!(a ; .arch x64 ; vfnmsub213sd xmm0, xmm1, QWORD [rbx + rs3]),
        }
        // Finite and above the smallest normal (no underflow, see host_f64;
        // a zero result goes to the slow path too).
        dynasm!(a
            ; .arch x64
            ; movq rax, xmm0
            ; lea rcx, [rax + rax]
            ; mov rdx, QWORD SMALLEST_NORMAL_2
            ; cmp rcx, rdx
            ; jbe =>entry
            ; mov rdx, QWORD INFINITY_2
            ; cmp rcx, rdx
            ; jae =>entry
        );
    }
    dynasm!(a
        ; .arch x64
        ; mov QWORD [rbx + f_reg(insn.rd)], rax
        ; or QWORD [rbx + MSTATUS], mstatus::FS_DIRTY as i32
        ; =>resume
    );
    true
}

/// An F or D instruction that works on f registers and fcsr only
/// ([`fpu::in_place`]), done by the interpreter's code for it without the
/// rest of a call into the interpreter: pc and the counters stay pending
/// and the held registers where they are. When the instruction would trap,
/// nothing is done and the slow path has the interpreter take it.
fn floating_point(a: &mut Asm, insn: &Insn, pending: &Pending, slow_paths: &mut Vec<SlowPath>) {
    let (entry, resume) = SlowPath::add(a, insn, pending, slow_paths);
    let insn_addr = insn as *const Insn as i64;
    let helper = fp_in_place as *const () as i64;
    call_in_place(a, helper, insn_addr);
    dynasm!(a
        ; .arch x64
        ; test rax, rax
        ; jnz =>entry
        ; =>resume
    );
}

/// Executes an F or D instruction in place for translated code (see
/// [`floating_point`]); nonzero when it was not done. An instruction that
/// would trap (FS off, a reserved rounding mode) fails before it changes
/// anything, and the slow path then takes the trap.
unsafe extern "sysv64" fn fp_in_place(hart: *mut Hart, bus: *mut Bus, insn: *const Insn) -> u64 {
    // SAFETY: called only from translated code, with the pointers it was
    // given by `Translator::run` and an instruction of its block.
    let (hart, bus, insn) = unsafe { (&mut *hart, &mut *bus, &*insn) };
    hart.execute_fp(insn, bus).is_err() as u64
}

/// Goes on to the block `delta` bytes past this block's start, whose pc is
/// now the hart's, when the dispatcher would run it translated next: it is
/// on this block's page (so at `block.pa + delta`: nothing in this block
/// changed the translation), translated, and the slice has cycles left.
/// Otherwise returns to the dispatcher.
///
/// The first time the next block is found in the cache, translated, the
/// jump to the lookup is rewritten into a jump straight to it. That stays
/// right until the arena is emptied, which drops this code too: a block's
/// translation outlives its slot (its memory is unchanged while the code
/// generation is, and the instructions it hands to the interpreter are
/// copies), so nothing else can make it wrong.
///
/// The dispatcher would also take an interrupt first, if one were pending
/// and enabled; none can have become so since it last looked. What decides
/// that (mip, mie, mstatus, mideleg, the privilege) changes only in the
/// interpreter, which then ends the block (`resync`, or the trap or xRET
/// being a block's last instruction), or between stretches, at device
/// events and timers, which bound the slice.
fn chain(a: &mut Asm, block: &Block, delta: i64, links: &Links) {
    let offset = (block.pa & (PAGE_SIZE - 1)) as i64 + delta;
    if !(0..PAGE_SIZE as i64).contains(&offset) {
        dynasm!(a ; .arch x64 ; jmp ->exit);
        return;
    }
    let pa = block.pa.wrapping_add(delta as u64);
    let slot = slot_of(pa);
    let tag = (links.slots + std::mem::size_of::<Slot>() * slot + offset_of!(Slot, tag)) as i64;
    let entry = (links.slots + std::mem::size_of::<Slot>() * slot + offset_of!(Slot, entry)) as i64;
    let body = links.body as i32;
    let (lookup, linked) = (a.new_dynamic_label(), a.new_dynamic_label());
    let (site, extend) = (a.new_dynamic_label(), a.new_dynamic_label());
    dynasm!(a
        ; .arch x64
        ; test r11, r11
        ; jle =>extend
        ; =>site
        ; jmp =>lookup // rel32: rewritten to the next block's code
        ; =>linked
        ; =>lookup
        ; mov rax, QWORD tag
        ; mov rcx, QWORD pa as i64
        ; cmp QWORD [rax], rcx
        ; jne ->exit
        ; mov rax, QWORD entry
        ; mov rax, QWORD [rax]
        ; test rax, rax
        ; jz ->exit
        ; add rax, body
        ; lea rcx, [=>linked]
        ; mov rdx, rax
        ; sub rdx, rcx
        ; mov DWORD [rcx - 4], edx // the arena is far smaller than 2 GiB
        ; jmp rax
        // The slice is over, unless it is one of merged rounds and goes on.
        ; =>extend
    );
    call_extend_slice(a);
    dynasm!(a
        ; .arch x64
        ; add r11, rax
        ; jle ->exit
        ; jmp =>site
    );
}

/// For translated code at the end of a slice: `Hart::extend_merged_slice`.
unsafe extern "sysv64" fn extend_slice(hart: *mut Hart, bus: *const Bus) -> u64 {
    // SAFETY: called only from translated code, with the pointers it was
    // given by `Translator::run`.
    unsafe { (*hart).extend_merged_slice(&*bus) }
}

/// A branch or jump at `pending.pc` bytes past the hart's pc and `at`
/// bytes past the block's start, the block's last instruction: sets pc,
/// writes rd and the counters, and goes on.
fn jump(a: &mut Asm, insn: &Insn, mut pending: Pending, at: i64, block: &Block, links: &Links) {
    let here = pending.pc;
    pending.instret += 1;
    let next = here + insn.len as i64;
    let target = here + insn.imm as i64; // a branch or jal offset: at most 1 MiB
                                         // The same two, from the block's start: where the next block starts.
    let (next_in_block, target_in_block) = (at + insn.len as i64, at + insn.imm as i64);
    let (cycles, instret) = (pending.cycles, pending.instret);
    // Writes pc (`pc` bytes on) and the counters back, and goes on to the
    // block `delta` bytes past this block's start.
    let go_to = |a: &mut Asm, pc: i64, delta: i64| {
        Pending { pc, cycles, instret }.flush(a);
        chain(a, block, delta, links);
    };
    match insn.op {
        Op::Jal => {
            if insn.rd != 0 {
                let next = next as i32;
                dynasm!(a ; .arch x64 ; lea rcx, [r9 + next]);
                put(a, insn.rd, RCX);
            }
            go_to(a, target, target_in_block);
        }
        Op::Jalr => {
            let imm = insn.imm;
            let next = next as i32;
            get(a, RDX, insn.rs1);
            dynasm!(a
                ; .arch x64
                ; add rdx, DWORD imm
                ; and rdx, BYTE -2
                ; lea rcx, [r9 + next]
                ; mov r9, rdx
            );
            if insn.rd != 0 {
                put(a, insn.rd, RCX);
            }
            Pending { pc: 0, cycles, instret }.flush(a);
            dynasm!(a ; .arch x64 ; jmp ->exit);
        }
        _ => {
            get(a, RAX, insn.rs1);
            with_rs2!(a, insn, cmp rax);
            let taken = a.new_dynamic_label();
            match insn.op {
                Op::Beq => dynasm!(a ; .arch x64 ; je =>taken),
                Op::Bne => dynasm!(a ; .arch x64 ; jne =>taken),
                Op::Blt => dynasm!(a ; .arch x64 ; jl =>taken),
                Op::Bge => dynasm!(a ; .arch x64 ; jge =>taken),
                Op::Bltu => dynasm!(a ; .arch x64 ; jb =>taken),
                _ => dynasm!(a ; .arch x64 ; jae =>taken),
            }
            go_to(a, next, next_in_block);
            dynasm!(a ; .arch x64 ; =>taken);
            go_to(a, target, target_in_block);
        }
    }
}

/// An integer instruction with rd != 0, at `here` bytes past the hart's pc.
fn alu(a: &mut Asm, insn: &Insn, here: i64) {
    use Op::*;
    let imm = insn.imm;
    let shamt = (imm & 63) as i8;
    let shamt_w = (imm & 31) as i8;
    match insn.op {
        Lui => dynasm!(a ; .arch x64 ; mov rax, DWORD imm),
        Auipc => {
            dynasm!(a ; .arch x64 ; mov rax, r9);
            add_const(a, here);
            add_const(a, imm as i64);
        }
        Fence => return,
        _ => {
            get(a, RAX, insn.rs1);
            if matches!(insn.op, Sll | Srl | Sra | Sllw | Srlw | Sraw | Mulh | Mulhu) {
                get(a, RCX, insn.rs2);
            }
        }
    }
    match insn.op {
        Lui | Auipc | Fence => {}
        Addi if imm == 0 => {} // mv
        Addi => dynasm!(a ; .arch x64 ; add rax, DWORD imm),
        Xori => dynasm!(a ; .arch x64 ; xor rax, DWORD imm),
        Ori => dynasm!(a ; .arch x64 ; or rax, DWORD imm),
        Andi => dynasm!(a ; .arch x64 ; and rax, DWORD imm),
        Slti | Sltiu | Slt | Sltu => {
            dynasm!(a ; .arch x64 ; xor edx, edx);
            match insn.op {
                Slti | Sltiu => dynasm!(a ; .arch x64 ; cmp rax, DWORD imm),
                _ => with_rs2!(a, insn, cmp rax),
            }
            match insn.op {
                Slti | Slt => dynasm!(a ; .arch x64 ; setl dl),
                _ => dynasm!(a ; .arch x64 ; setb dl),
            }
            dynasm!(a ; .arch x64 ; mov rax, rdx);
        }
        Slli => dynasm!(a ; .arch x64 ; shl rax, shamt),
        Srli => dynasm!(a ; .arch x64 ; shr rax, shamt),
        Srai => dynasm!(a ; .arch x64 ; sar rax, shamt),
        Add => with_rs2!(a, insn, add rax),
        Sub => with_rs2!(a, insn, sub rax),
        Xor => with_rs2!(a, insn, xor rax),
        Or => with_rs2!(a, insn, or rax),
        And => with_rs2!(a, insn, and rax),
        // x86 masks a 64-bit shift's count to 6 bits, as RISC-V does.
        Sll => dynasm!(a ; .arch x64 ; shl rax, cl),
        Srl => dynasm!(a ; .arch x64 ; shr rax, cl),
        Sra => dynasm!(a ; .arch x64 ; sar rax, cl),
        Mul => with_rs2!(a, insn, imul rax),
        Mulh => dynasm!(a ; .arch x64 ; imul rcx ; mov rax, rdx),
        Mulhu => dynasm!(a ; .arch x64 ; mul rcx ; mov rax, rdx),
        // The W forms compute on the low 32 bits and sign-extend the result;
        // a 32-bit shift's count is masked to 5 bits, as RISC-V's.
        Addiw if imm == 0 => dynasm!(a ; .arch x64 ; movsxd rax, eax), // sext.w
        Addiw => dynasm!(a ; .arch x64 ; add eax, DWORD imm ; movsxd rax, eax),
        Slliw => dynasm!(a ; .arch x64 ; shl eax, shamt_w ; movsxd rax, eax),
        Srliw => dynasm!(a ; .arch x64 ; shr eax, shamt_w ; movsxd rax, eax),
        Sraiw => dynasm!(a ; .arch x64 ; sar eax, shamt_w ; movsxd rax, eax),
        Addw | Subw | Mulw => {
            match insn.op {
                Addw => with_rs2!(a, insn, add eax, 32),
                Subw => with_rs2!(a, insn, sub eax, 32),
                _ => with_rs2!(a, insn, imul eax, 32),
            }
            dynasm!(a ; .arch x64 ; movsxd rax, eax);
        }
        Sllw => dynasm!(a ; .arch x64 ; shl eax, cl ; movsxd rax, eax),
        Srlw => dynasm!(a ; .arch x64 ; shr eax, cl ; movsxd rax, eax),
        Sraw => dynasm!(a ; .arch x64 ; sar eax, cl ; movsxd rax, eax),
        op => unreachable!("{op:?} is not translated natively"),
    }
    put(a, insn.rd, RAX);
}

/// `add rax, value` for any 64-bit constant.
fn add_const(a: &mut Asm, value: i64) {
    if value == 0 {
        return;
    }
    if let Ok(small) = i32::try_from(value) {
        dynasm!(a ; .arch x64 ; add rax, DWORD small);
    } else {
        dynasm!(a ; .arch x64 ; mov rcx, QWORD value ; add rax, rcx);
    }
}

/// Memory that may hold code: mapped read-write-execute once, filled from
/// the start, and emptied all at once.
struct CodeArena {
    base: *mut u8,
    size: usize,
    used: usize,
}

// SAFETY: the arena owns its mapping outright; moving it to another thread
// moves that ownership, and nothing else holds the pointer.
unsafe impl Send for CodeArena {}

impl CodeArena {
    fn new(size: usize) -> Option<CodeArena> {
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; failure is reported as MAP_FAILED and handled.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        (base != libc::MAP_FAILED).then_some(CodeArena {
            base: base as *mut u8,
            size,
            used: 0,
        })
    }

    /// Copies `code` in; its address, or `None` if it does not fit.
    fn place(&mut self, code: &[u8]) -> Option<usize> {
        let start = self.used.next_multiple_of(16);
        if start + code.len() > self.size {
            return None;
        }
        // SAFETY: [start, start + len) lies inside the mapping, and no
        // translation lives there (reset dropped every entry before `used`
        // went back).
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.add(start), code.len()) };
        self.used = start + code.len();
        Some(self.base as usize + start)
    }

    fn reset(&mut self) {
        self.used = 0;
    }
}

impl Drop for CodeArena {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size) };
    }
}
