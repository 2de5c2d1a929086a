//! The platform-level interrupt controller (SiFive PLIC, as on QEMU virt).
//! Two contexts per hart: context 2h drives hart h's MEIP, 2h+1 its SEIP.
//!
//! Sources are level-triggered: a source whose line is high becomes pending
//! unless it is being serviced; claiming clears pending and marks it in
//! service until the context writes the completion.

use crate::memmap::PLIC_NUM_SOURCES;

const N: usize = PLIC_NUM_SOURCES as usize;
const WORDS: usize = N.div_ceil(32);
const PRIORITY_MASK: u32 = 7;

const PENDING_BASE: u64 = 0x1000;
const ENABLE_BASE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT_BASE: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;

#[derive(Clone, Debug)]
pub struct Plic {
    priority: [u32; N],
    level: [bool; N],
    pending: [bool; N],
    in_service: [bool; N],
    enable: Vec<[u32; WORDS]>,
    threshold: Vec<u32>,
    /// The output line of each context, recomputed whenever state changes.
    lines: Vec<bool>,
}

impl Plic {
    pub fn new(harts: usize) -> Plic {
        let contexts = 2 * harts;
        Plic {
            priority: [0; N],
            level: [false; N],
            pending: [false; N],
            in_service: [false; N],
            enable: vec![[0; WORDS]; contexts],
            threshold: vec![0; contexts],
            lines: vec![false; contexts],
        }
    }

    /// Whether context `ctx` is asserting its interrupt line.
    pub fn context_line(&self, ctx: usize) -> bool {
        self.lines.get(ctx).copied().unwrap_or(false)
    }

    /// Sets the level of a source's input line.
    pub fn set_source_level(&mut self, source: u32, high: bool) {
        let s = source as usize;
        if s == 0 || s >= N || self.level[s] == high {
            return;
        }
        self.level[s] = high;
        self.update();
    }

    fn enabled(&self, ctx: usize, s: usize) -> bool {
        self.enable[ctx][s / 32] & (1 << (s % 32)) != 0
    }

    /// The highest-priority pending source enabled for `ctx` above its
    /// threshold (ties go to the lowest id).
    fn best(&self, ctx: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for s in 1..N {
            let eligible = self.pending[s] && self.enabled(ctx, s) && self.priority[s] > self.threshold[ctx];
            if eligible && best.is_none_or(|b| self.priority[s] > self.priority[b]) {
                best = Some(s);
            }
        }
        best
    }

    fn update(&mut self) {
        for s in 1..N {
            if self.level[s] && !self.in_service[s] {
                self.pending[s] = true;
            }
        }
        for ctx in 0..self.lines.len() {
            self.lines[ctx] = self.best(ctx).is_some();
        }
    }

    /// 32-bit registers only.
    pub fn read(&mut self, offset: u64, size: u64) -> Option<u64> {
        if size != 4 || offset % 4 != 0 {
            return None;
        }
        let value = match offset {
            o if o < PENDING_BASE => self.priority.get((o / 4) as usize).copied().unwrap_or(0),
            o if o < ENABLE_BASE => {
                let word = ((o - PENDING_BASE) / 4) as usize;
                (0..32)
                    .filter(|bit| self.pending.get(word * 32 + bit).copied().unwrap_or(false))
                    .fold(0, |acc, bit| acc | (1 << bit))
            }
            o if o < CONTEXT_BASE => {
                let ctx = ((o - ENABLE_BASE) / ENABLE_STRIDE) as usize;
                let word = ((o - ENABLE_BASE) % ENABLE_STRIDE / 4) as usize;
                self.enable.get(ctx).and_then(|e| e.get(word)).copied().unwrap_or(0)
            }
            o => {
                let ctx = ((o - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
                match (o - CONTEXT_BASE) % CONTEXT_STRIDE {
                    0 => self.threshold.get(ctx).copied().unwrap_or(0),
                    4 if ctx < self.threshold.len() => self.claim(ctx),
                    _ => 0,
                }
            }
        };
        Some(value as u64)
    }

    pub fn write(&mut self, offset: u64, size: u64, value: u64) -> Option<()> {
        if size != 4 || offset % 4 != 0 {
            return None;
        }
        let value = value as u32;
        match offset {
            o if o < PENDING_BASE => {
                if let Some(p) = self.priority.get_mut((o / 4) as usize) {
                    *p = value & PRIORITY_MASK;
                }
                self.priority[0] = 0;
            }
            o if o < ENABLE_BASE => {} // pending bits are read-only
            o if o < CONTEXT_BASE => {
                let ctx = ((o - ENABLE_BASE) / ENABLE_STRIDE) as usize;
                let word = ((o - ENABLE_BASE) % ENABLE_STRIDE / 4) as usize;
                if let Some(w) = self.enable.get_mut(ctx).and_then(|e| e.get_mut(word)) {
                    // Source 0 does not exist.
                    *w = if word == 0 { value & !1 } else { value };
                }
            }
            o => {
                let ctx = ((o - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
                match (o - CONTEXT_BASE) % CONTEXT_STRIDE {
                    0 => {
                        if let Some(t) = self.threshold.get_mut(ctx) {
                            *t = value & PRIORITY_MASK;
                        }
                    }
                    4 if ctx < self.threshold.len() => self.complete(ctx, value as usize),
                    _ => {}
                }
            }
        }
        self.update();
        Some(())
    }

    fn claim(&mut self, ctx: usize) -> u32 {
        let Some(s) = self.best(ctx) else { return 0 };
        self.pending[s] = false;
        self.in_service[s] = true;
        self.update();
        s as u32
    }

    fn complete(&mut self, ctx: usize, source: usize) {
        if source > 0 && source < N && self.enabled(ctx, source) {
            self.in_service[source] = false;
        }
    }
}
