//! Trap-path properties of the master-slave kernel, checked on generated
//! programs.
//!
//! Each case generates a static user program (tests/gen: the asm encoder
//! and an in-memory ELF writer) that runs, in every process, its own random
//! sequence of system calls with random arguments, valid and invalid (bad
//! pointers, unknown numbers, huge lengths, closed descriptors...). Before
//! each `ecall` the program loads every register x1..x31 but sp with values
//! derived from the case's seed; afterwards it stores them all and compares
//! them with what it loaded (sp with its value at start), recording a0 and a
//! mask of the registers that changed. At the end it writes these records
//! to stdout in hex, on one line, then exits, is killed by a signal it sends
//! itself, or faults. Short time slices, more processes than slaves,
//! `sched_yield` and `nanosleep` make processes be preempted and migrate.
//!
//! From the run (console output, the annotation events and the machine's
//! counters) the test checks:
//!
//! 1. every request is answered exactly once, to the hart that posted it,
//!    and the process goes on there (the per-hart request state machine);
//! 2. system calls are served by hart 0 only;
//! 3. the master serves the ring in ticket order (see [`check_fifo`] for
//!    exactly what the events can show) and no request starves;
//! 4. every register but a0 survives every system call, preemption and
//!    migration (a0 too across preemption, in `Pause` steps);
//! 5. every result equals [`Space::syscall`], a model of guest-os/syscall.c
//!    (which follows Linux), both as the kernel reported it and as the
//!    process saw it in a0;
//! 6. the kernel never panics, every process ends with the status its
//!    program chose, and the machine powers off with the first non-zero one;
//! 7. per hart, the cycles by state add up to the hart's cycles.
//!
//! Each property runs 256 cases; proptest keeps failing cases in
//! tests/props.proptest-regressions (commit it) and replays them first.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;

use crate::common::Captured;
use crate::gen::{self, Asm, Segment, PF_R, PF_W, PF_X};
use rvmsmp::asm::{self, reg::*};
use rvmsmp::devices::annotate::{EventKind, REQUEST_IDLE, REQUEST_SYSCALL};
use rvmsmp::devices::uart::NoInput;
use rvmsmp::kernel::{self, Workload};
use rvmsmp::{ExitReason, Machine, MachineConfig};

// ---------------------------------------------------------------------------
// The user address space (guest-os/memlayout.h, param.h) and the program's
// layout in it.

const PG: u64 = 4096;
const MAXVA: u64 = 1 << 38;
const TRAMPOLINE: u64 = MAXVA - PG;
// The page a signal handler returns through, then one trapframe slot per
// thread (MAX_THREAD_SLOTS), slot 0 highest; a single-threaded process uses slot 0.
const SIGRETURN_PAGE: u64 = TRAMPOLINE - PG;
const MAX_THREAD_SLOTS: u64 = 256;
const TRAPFRAME: u64 = SIGRETURN_PAGE - PG;
const USTACK_TOP: u64 = SIGRETURN_PAGE - MAX_THREAD_SLOTS * PG - PG;
const USTACK_PAGES: u64 = 16;
/// The stack's room: its pages and the most its arguments may take.
const USTACK_MAX_PAGES: u64 = USTACK_PAGES + (2 << 20) / PG + 2;
const MMAP_TOP: u64 = USTACK_TOP - (USTACK_MAX_PAGES + 1) * PG;

/// Code (R+X).
const CODE: u64 = 0x10000;
/// Read-only data (R): strings, timespecs, iovecs and the register tables.
const RODATA: u64 = 0x80000;
/// The program's private data (RW); no system call argument points here.
const DATA: u64 = 0x10_0000;
const DATA_SIZE: u64 = PG;
/// One page (RW) that system calls read and write; the heap follows it.
const BUF: u64 = 0x18_0000;
/// brk's base: the page after the highest segment.
const HEAP: u64 = BUF + PG;
/// Where MAP_FIXED mappings go.
const ARENA: u64 = 0x4000_0000;

const SAVED_SP: u64 = DATA;
const PID_SLOT: u64 = DATA + 8;
const DUMP: u64 = DATA + 0x100;
const RESULTS: u64 = DATA + 0x200;
const OUT: u64 = DATA + 0x400;
const MAX_CALLS: usize = 32;
/// The report line: this marker, then hex words, then a newline.
const MARKER: &[u8; 8] = b"#PROPS: ";

const R: u8 = 1;
const W: u8 = 2;
const X: u8 = 4;

// errno values (guest-os/syscall.c, as Linux's).
const ENOENT: i64 = 2;
const ESRCH: i64 = 3;
const EBADF: i64 = 9;
const ECHILD: i64 = 10;
const ENOMEM: i64 = 12;
const EFAULT: i64 = 14;
const ENOTDIR: i64 = 20;
const EINVAL: i64 = 22;
const ENOTTY: i64 = 25;
const ESPIPE: i64 = 29;
const ENOSYS: i64 = 38;

// System call numbers (guest-os/syscall.tbl, Linux's for RISC-V).
const SYS_IOCTL: u64 = 29;
const SYS_CLOSE: u64 = 57;
const SYS_LSEEK: u64 = 62;
const SYS_READ: u64 = 63;
const SYS_WRITE: u64 = 64;
const SYS_WRITEV: u64 = 66;
const SYS_READLINKAT: u64 = 78;
const SYS_NEWFSTATAT: u64 = 79;
const SYS_FSTAT: u64 = 80;
const SYS_EXIT: u64 = 93;
const SYS_EXIT_GROUP: u64 = 94;
const SYS_SET_TID_ADDRESS: u64 = 96;
const SYS_SET_ROBUST_LIST: u64 = 99;
const SYS_NANOSLEEP: u64 = 101;
const SYS_CLOCK_GETTIME: u64 = 113;
const SYS_SCHED_YIELD: u64 = 124;
const SYS_KILL: u64 = 129;
const SYS_TGKILL: u64 = 131;
const SYS_RT_SIGACTION: u64 = 134;
const SYS_RT_SIGPROCMASK: u64 = 135;
const SYS_UNAME: u64 = 160;
const SYS_GETCPU: u64 = 168;
const SYS_GETTIMEOFDAY: u64 = 169;
const SYS_GETPID: u64 = 172;
const SYS_GETPPID: u64 = 173;
const SYS_GETUID: u64 = 174;
const SYS_GETTID: u64 = 178;
const SYS_BRK: u64 = 214;
const SYS_MUNMAP: u64 = 215;
const SYS_MMAP: u64 = 222;
const SYS_MPROTECT: u64 = 226;
const SYS_MADVISE: u64 = 233;
const SYS_WAIT4: u64 = 260;
const SYS_PRLIMIT64: u64 = 261;
const SYS_GETRANDOM: u64 = 278;

const REQUEST_FAULT: u64 = 3;

/// The numbers the kernel implements, from its table.
fn known_syscalls() -> Vec<u64> {
    include_str!("../guest-os/syscall.tbl")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn page_up(a: u64) -> u64 {
    a.wrapping_add(PG - 1) & !(PG - 1)
}

// ---------------------------------------------------------------------------
// Arguments, as strategies shape them.

/// An address no user access may touch.
#[derive(Clone, Copy, Debug)]
enum Bad {
    LowPage(u16),
    StackGuard(u16),
    Trapframe(u16),
    Trampoline(u16),
    MaxVa,
    Kernel,
    NonCanonical(u64),
}

impl Bad {
    fn addr(self) -> u64 {
        match self {
            Bad::LowPage(x) => 1 + x as u64 % (CODE - 1),
            Bad::StackGuard(x) => USTACK_TOP + x as u64 % PG,
            Bad::Trapframe(x) => TRAPFRAME + x as u64 % PG,
            Bad::Trampoline(x) => TRAMPOLINE + x as u64 % PG,
            Bad::MaxVa => MAXVA,
            Bad::Kernel => 0x8000_0000,
            Bad::NonCanonical(x) => x | MAXVA,
        }
    }
}

/// A pointer argument. Whether it is valid depends on the process's
/// mappings when the call is made (brk, mmap, munmap and mprotect change them).
#[derive(Clone, Copy, Debug)]
enum Ptr {
    Null,
    Buf(u16),
    BufEnd(u8),
    Heap(u16),
    Arena(u16),
    MmapArea(u16),
    CodeEnd(u8),
    RoEnd(u8),
    StackTop(u16),
    Bad(Bad),
}

impl Ptr {
    fn addr(self, l: Layout) -> u64 {
        match self {
            Ptr::Null => 0,
            Ptr::Buf(x) => BUF + x as u64 % PG,
            Ptr::BufEnd(x) => BUF + PG - 1 - x as u64 % 64,
            Ptr::Heap(x) => HEAP + x as u64 % (4 * PG),
            Ptr::Arena(x) => ARENA + x as u64 % (5 * PG),
            Ptr::MmapArea(x) => MMAP_TOP - 1 - x as u64 % (6 * PG),
            Ptr::CodeEnd(x) => l.code_end - 1 - x as u64 % 64,
            Ptr::RoEnd(x) => l.rodata_end - 1 - x as u64 % 64,
            Ptr::StackTop(x) => USTACK_TOP - 1 - x as u64 % 512,
            Ptr::Bad(b) => b.addr(),
        }
    }
}

/// Where the code and the read-only data end (page-aligned): both are
/// generated twice, first to learn their sizes.
#[derive(Clone, Copy, Debug)]
struct Layout {
    code_end: u64,
    rodata_end: u64,
}

/// Page-aligned (or not) addresses for mmap, munmap and mprotect: only
/// where the program keeps nothing of its own.
#[derive(Clone, Copy, Debug)]
enum MapAddr {
    Arena(u8),
    Buf,
    Heap(u8),
    MmapArea(u8),
    Unaligned(u16),
    High(u8),
}

impl MapAddr {
    fn addr(self) -> u64 {
        match self {
            MapAddr::Arena(p) => ARENA + (p as u64 % 5) * PG,
            MapAddr::Buf => BUF,
            MapAddr::Heap(p) => HEAP + (p as u64 % 4) * PG,
            MapAddr::MmapArea(p) => MMAP_TOP - (1 + p as u64 % 6) * PG,
            MapAddr::Unaligned(x) => ARENA + 1 + x as u64 % (PG - 1),
            MapAddr::High(i) => [MMAP_TOP, TRAPFRAME, MAXVA, !(PG - 1)][i as usize % 4],
        }
    }
}

const HUGE: [u64; 6] = [u64::MAX, 1 << 63, 1 << 40, 33_554_432, 33_554_431, i64::MAX as u64];

/// A pid argument of kill, tgkill and prlimit64.
#[derive(Clone, Copy, Debug)]
enum Target {
    Own,
    Zero,
    Other(u8),
}

impl Target {
    fn value(self, pid: u64) -> u64 {
        match self {
            Target::Own => pid,
            Target::Zero => 0,
            // Ids no process or thread of a test has (the kernel takes them as
            // C ints, as Linux does, so none may alias the caller's).
            Target::Other(i) => [pid + 5000, 54321, 1 << 20, 1000 + pid][i as usize % 4],
        }
    }
}

/// A path argument; the strings live in read-only data.
#[derive(Clone, Copy, Debug)]
enum PathArg {
    Null,
    Empty,
    Short,
    Longest,
    TooLong,
    Unterminated,
    Bad(Bad),
}

/// A nanosleep request.
#[derive(Clone, Copy, Debug)]
enum TsArg {
    Sleep(u16),
    NegativeSeconds,
    NegativeNanoseconds,
    TooManyNanoseconds,
    Straddling,
    Null,
    Bad(Bad),
}

/// A writev iovec array: entries in read-only data, or a bad pointer.
#[derive(Clone, Debug)]
enum IovArg {
    Array(Vec<(Ptr, u64)>, u8),
    TooMany(u64),
    Bad(Bad, u64),
}

/// One step of a process's program.
#[derive(Clone, Debug)]
enum Call {
    /// No system call: the registers are loaded, `nops` run, and all of
    /// them (a0 too) are checked, which catches preemption corrupting them.
    Pause,
    /// Calls whose arguments are ignored: getpid, gettid, getppid, getuid
    /// and friends, set_robust_list, madvise, wait4, sched_yield.
    Plain(u64),
    SetTidAddress(Ptr),
    Unknown(u64),
    Write(u64, Ptr, u64),
    Writev(u64, IovArg),
    Read(u64, Ptr, u64),
    Close(u64),
    Ioctl(u64),
    Lseek(u64),
    Fstat(u64, Ptr),
    Newfstatat(u64, PathArg, Ptr, u64),
    Readlinkat(u64, PathArg),
    RtSigaction(u64, bool, Ptr),
    RtSigprocmask(Ptr, u64),
    Kill(Target, u64),
    Tgkill(Target, u64),
    Prlimit(Target, u64, Ptr),
    Nanosleep(TsArg),
    ClockGettime(u64, Ptr),
    Gettimeofday(Ptr, Ptr),
    Uname(Ptr),
    Getcpu(Ptr, Ptr),
    Getrandom(Ptr, u64, u64),
    Brk(u64),
    Mmap(MapAddr, u64, u64, u64),
    Munmap(MapAddr, u64),
    Mprotect(MapAddr, u64, u64),
}

/// How a process ends, after writing its report.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Exit {
        code: u64,
        group: bool,
    },
    /// kill(0 or own pid, sig) or tgkill(_, own pid, sig): the signal ends it.
    Signal {
        sig: u64,
        how: u8,
    },
    /// A fault: its signal kills the process (SIGSEGV 139, SIGILL 132, SIGTRAP 133, SIGBUS 135).
    Fault(u8),
}

impl Ending {
    fn status(self) -> u64 {
        match self {
            Ending::Exit { code, .. } => code & 0xff,
            Ending::Signal { sig, .. } => 128 + sig,
            Ending::Fault(2) => 128 + 4,           // illegal instruction: SIGILL
            Ending::Fault(3) => 128 + 5,           // ebreak: SIGTRAP
            Ending::Fault(k) if k >= 5 => 128 + 7, // misaligned AMO: SIGBUS
            Ending::Fault(_) => 128 + 11,          // page faults: SIGSEGV
        }
    }
}

#[derive(Clone, Debug)]
struct Step {
    call: Call,
    /// nops between loading the registers and the ecall: room for a timer
    /// interrupt to land while every register holds its seeded value.
    nops: u8,
}

#[derive(Clone, Debug)]
struct ProcPlan {
    steps: Vec<Step>,
    ending: Ending,
}

#[derive(Clone, Debug)]
struct RunCfg {
    harts: usize,
    master_runs_user: bool,
    slice_ticks: Option<u64>,
    quantum: u64,
}

// ---------------------------------------------------------------------------
// Strategies.

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        any::<u16>().prop_map(Bad::LowPage),
        any::<u16>().prop_map(Bad::StackGuard),
        any::<u16>().prop_map(Bad::Trapframe),
        any::<u16>().prop_map(Bad::Trampoline),
        Just(Bad::MaxVa),
        Just(Bad::Kernel),
        any::<u64>().prop_map(Bad::NonCanonical),
    ]
}

fn ptr() -> impl Strategy<Value = Ptr> {
    prop_oneof![
        1 => Just(Ptr::Null),
        4 => any::<u16>().prop_map(Ptr::Buf),
        2 => any::<u8>().prop_map(Ptr::BufEnd),
        2 => any::<u16>().prop_map(Ptr::Heap),
        2 => any::<u16>().prop_map(Ptr::Arena),
        1 => any::<u16>().prop_map(Ptr::MmapArea),
        1 => any::<u8>().prop_map(Ptr::CodeEnd),
        1 => any::<u8>().prop_map(Ptr::RoEnd),
        1 => any::<u16>().prop_map(Ptr::StackTop),
        3 => bad().prop_map(Ptr::Bad),
    ]
}

/// Lengths: small, medium, or huge (bounded by what is mapped).
fn len() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..=64, 2 => 0u64..=9000, 1 => select(HUGE.to_vec())]
}

fn fd() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..=3, 1 => select(vec![u64::MAX, (1 << 32) | 1, 1000])]
}

/// fd for close: never 1, where the report goes.
fn closable_fd() -> impl Strategy<Value = u64> {
    select(vec![0, 2, 3, 1000, u64::MAX])
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Own),
        Just(Target::Zero),
        any::<u8>().prop_map(Target::Other)
    ]
}

fn signal() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), 1u64..=64, select(vec![65, 1000, u64::MAX])]
}

/// A signal sent mid-program must not end the process: a fatal one is
/// turned into signal 0.
fn harmless(target: Target, sig: u64) -> u64 {
    match target {
        Target::Own | Target::Zero if (1..=64).contains(&sig) => 0,
        _ => sig,
    }
}

fn path() -> impl Strategy<Value = PathArg> {
    prop_oneof![
        Just(PathArg::Null),
        Just(PathArg::Empty),
        Just(PathArg::Short),
        Just(PathArg::Longest),
        Just(PathArg::TooLong),
        Just(PathArg::Unterminated),
        bad().prop_map(PathArg::Bad),
    ]
}

fn timespec() -> impl Strategy<Value = TsArg> {
    prop_oneof![
        4 => (0u16..=20000).prop_map(TsArg::Sleep),
        1 => Just(TsArg::NegativeSeconds),
        1 => Just(TsArg::NegativeNanoseconds),
        1 => Just(TsArg::TooManyNanoseconds),
        1 => Just(TsArg::Straddling),
        1 => Just(TsArg::Null),
        1 => bad().prop_map(TsArg::Bad),
    ]
}

fn iov() -> impl Strategy<Value = IovArg> {
    prop_oneof![
        4 => (prop::collection::vec((ptr(), len()), 0..=3), any::<u8>()).prop_map(|(v, c)| IovArg::Array(v, c)),
        1 => select(vec![1025, u64::MAX]).prop_map(IovArg::TooMany),
        1 => (bad(), 0u64..=3).prop_map(|(b, n)| IovArg::Bad(b, n)),
    ]
}

fn map_addr() -> impl Strategy<Value = MapAddr> {
    prop_oneof![
        4 => any::<u8>().prop_map(MapAddr::Arena),
        1 => Just(MapAddr::Buf),
        2 => any::<u8>().prop_map(MapAddr::Heap),
        2 => any::<u8>().prop_map(MapAddr::MmapArea),
        1 => any::<u16>().prop_map(MapAddr::Unaligned),
        1 => any::<u8>().prop_map(MapAddr::High),
    ]
}

/// Lengths for mmap, munmap and mprotect: a few pages, zero, or one that is
/// refused before any page is visited (never one that would make the
/// kernel walk millions of pages).
fn map_len() -> impl Strategy<Value = u64> {
    prop_oneof![6 => 1u64..=3 * PG, 1 => Just(0), 1 => select(vec![u64::MAX, TRAPFRAME + 1, 1 << 63])]
}

fn prot() -> impl Strategy<Value = u64> {
    prop_oneof![6 => 0u64..=7, 1 => select(vec![8, 0x10, u64::MAX])]
}

fn mmap_flags() -> impl Strategy<Value = u64> {
    // MAP_SHARED 1, MAP_PRIVATE 2, MAP_FIXED 0x10, MAP_ANONYMOUS 0x20.
    select(vec![0x22, 0x22, 0x21, 0x32, 0x32, 0x31, 0x02, 0x20, 0x23, 0x33])
}

fn brk_arg() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0),
        1 => (1u64..=PG).prop_map(|x| HEAP - x),
        5 => (0u64..=5 * PG).prop_map(|x| HEAP + x),
        1 => select(vec![MMAP_TOP, u64::MAX, 1 << 40]),
    ]
}

fn unknown_number() -> impl Strategy<Value = u64> {
    let known = known_syscalls();
    prop_oneof![
        4 => (0u64..400).prop_map(move |n| if known.contains(&n) { n + 400 } else { n }),
        1 => select(vec![1000, u64::MAX, 1 << 63, (1 << 32) | SYS_GETPID]),
    ]
}

fn call() -> impl Strategy<Value = Call> {
    let plain = select(vec![
        SYS_GETPID,
        SYS_GETTID,
        SYS_GETPPID,
        SYS_GETUID,
        SYS_GETUID + 1,
        SYS_GETUID + 2,
        SYS_GETUID + 3,
        SYS_SET_ROBUST_LIST,
        SYS_MADVISE,
        SYS_WAIT4,
        SYS_SCHED_YIELD,
    ]);
    prop_oneof![
        2 => Just(Call::Pause),
        3 => plain.prop_map(Call::Plain),
        1 => ptr().prop_map(Call::SetTidAddress),
        2 => unknown_number().prop_map(Call::Unknown),
        4 => (fd(), ptr(), len()).prop_map(|(f, p, l)| Call::Write(f, p, l)),
        2 => (fd(), iov()).prop_map(|(f, v)| Call::Writev(f, v)),
        1 => (fd(), ptr(), len()).prop_map(|(f, p, l)| Call::Read(f, p, l)),
        1 => closable_fd().prop_map(Call::Close),
        1 => fd().prop_map(Call::Ioctl),
        1 => fd().prop_map(Call::Lseek),
        1 => (fd(), ptr()).prop_map(|(f, p)| Call::Fstat(f, p)),
        1 => (fd(), path(), ptr(), select(vec![0, 0x1000, 0x1100])).prop_map(|(f, s, p, fl)| Call::Newfstatat(f, s, p, fl)),
        1 => (fd(), path()).prop_map(|(f, s)| Call::Readlinkat(f, s)),
        1 => (signal(), any::<bool>(), ptr()).prop_map(|(s, a, p)| Call::RtSigaction(s, a, p)),
        1 => (ptr(), select(vec![8, 0, 4, 16, u64::MAX])).prop_map(|(p, n)| Call::RtSigprocmask(p, n)),
        1 => (target(), signal()).prop_map(|(t, s)| Call::Kill(t, harmless(t, s))),
        1 => (target(), signal()).prop_map(|(t, s)| Call::Tgkill(t, harmless(t, s))),
        1 => (target(), prop_oneof![0u64..=17, Just(u64::MAX)], ptr()).prop_map(|(t, r, p)| Call::Prlimit(t, r, p)),
        2 => timespec().prop_map(Call::Nanosleep),
        2 => (prop_oneof![0u64..=12, Just(u64::MAX)], ptr()).prop_map(|(c, p)| Call::ClockGettime(c, p)),
        1 => (ptr(), ptr()).prop_map(|(a, b)| Call::Gettimeofday(a, b)),
        1 => ptr().prop_map(Call::Uname),
        2 => (ptr(), ptr()).prop_map(|(a, b)| Call::Getcpu(a, b)),
        2 => (ptr(), len(), prop_oneof![0u64..=7, Just(8), Just(u64::MAX)]).prop_map(|(p, l, f)| Call::Getrandom(p, l, f)),
        3 => brk_arg().prop_map(Call::Brk),
        3 => (map_addr(), map_len(), prot(), mmap_flags()).prop_map(|(a, l, p, f)| Call::Mmap(a, l, p, f)),
        2 => (map_addr(), map_len()).prop_map(|(a, l)| Call::Munmap(a, l)),
        2 => (map_addr(), map_len(), prot()).prop_map(|(a, l, p)| Call::Mprotect(a, l, p)),
    ]
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        6 => (select(vec![0, 0, 0, 1, 255, 256, 0x1234_5607]), any::<bool>())
            .prop_map(|(code, group)| Ending::Exit { code, group }),
        // Signals whose default action ends the process (not SIGCHLD, SIGCONT, SIGURG or SIGWINCH).
        1 => (select((1u64..=64).filter(|s| ![17, 18, 23, 28].contains(s)).collect::<Vec<_>>()), 0u8..3)
            .prop_map(|(sig, how)| Ending::Signal { sig, how }),
        1 => (0u8..6).prop_map(Ending::Fault),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (call(), prop_oneof![3 => 0u8..=8, 1 => 0u8..=200]).prop_map(|(call, nops)| Step { call, nops })
}

fn plans(max_procs: usize, max_steps: usize) -> impl Strategy<Value = Vec<ProcPlan>> {
    prop::collection::vec(
        (prop::collection::vec(step(), 0..=max_steps), ending()).prop_map(|(steps, ending)| ProcPlan { steps, ending }),
        1..=max_procs,
    )
}

fn run_cfg(max_harts: usize, quanta: Vec<u64>) -> impl Strategy<Value = RunCfg> {
    (
        1..=max_harts,
        any::<bool>(),
        prop_oneof![Just(None), (3u64..=40).prop_map(Some)],
        select(quanta),
    )
        .prop_map(|(harts, master_runs_user, slice_ticks, quantum)| RunCfg {
            harts,
            master_runs_user,
            slice_ticks,
            quantum,
        })
}

// ---------------------------------------------------------------------------
// The model: one process's address space and descriptors, and each system
// call's result per guest-os/syscall.c.

#[derive(Clone, Debug)]
struct Space {
    pid: u64,
    /// Mapped user pages (page number -> R|W|X; PROT_NONE pages stay, with 0).
    pages: BTreeMap<u64, u8>,
    brk: u64,
    mmap_next: u64,
    closed: u8,
    /// The read-only data, whose contents the model knows.
    rodata: std::rc::Rc<Vec<u8>>,
    /// Set by a system call that ends the process.
    exited: bool,
}

impl Space {
    fn new(pid: u64, l: Layout, rodata: std::rc::Rc<Vec<u8>>) -> Space {
        let mut s = Space {
            pid,
            pages: BTreeMap::new(),
            brk: HEAP,
            mmap_next: MMAP_TOP,
            closed: 0,
            rodata,
            exited: false,
        };
        s.map(CODE, l.code_end - CODE, R | X);
        s.map(RODATA, l.rodata_end - RODATA, R);
        s.map(DATA, DATA_SIZE, R | W);
        s.map(BUF, PG, R | W);
        // The stack, and the page its program name and empty environment take.
        s.map(USTACK_TOP - (USTACK_PAGES + 1) * PG, (USTACK_PAGES + 1) * PG, R | W);
        s
    }

    /// uvm_map: pages already mapped keep their permissions.
    fn map(&mut self, va: u64, size: u64, perm: u8) {
        let mut a = va & !(PG - 1);
        while a < va + size {
            self.pages.entry(a / PG).or_insert(perm);
            a += PG;
        }
    }

    /// uvm_unmap.
    fn unmap(&mut self, va: u64, size: u64) {
        let mut a = va & !(PG - 1);
        while a < va + size {
            self.pages.remove(&(a / PG));
            a += PG;
        }
    }

    /// How many bytes from `addr` (at most `len`) are user memory with `need`.
    fn run(&self, addr: u64, len: u64, need: u8) -> u64 {
        let mut done = 0u64;
        while done < len {
            let Some(a) = addr.checked_add(done) else { break };
            if a >= MAXVA {
                break;
            }
            match self.pages.get(&(a / PG)) {
                Some(&p) if p & need == need => done += (PG - a % PG).min(len - done),
                _ => break,
            }
        }
        done
    }

    fn copy_out(&self, addr: u64, len: u64) -> bool {
        self.run(addr, len, W) == len
    }

    fn copy_in(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
        if self.run(addr, len, R) != len {
            return None;
        }
        let off = addr
            .checked_sub(RODATA)
            .filter(|&o| o + len <= self.rodata.len() as u64);
        let off = off.unwrap_or_else(|| panic!("the model cannot know the bytes at {addr:#x}"));
        Some(self.rodata[off as usize..(off + len) as usize].to_vec())
    }

    /// Whether a path (at most 4096 bytes with its NUL, the kernel's and
    /// Linux's PATH_MAX) can be read.
    fn copy_in_str(&self, addr: u64) -> bool {
        for i in 0..4096 {
            let Some(a) = addr.checked_add(i) else { return false };
            if self.run(a, 1, R) != 1 {
                return false;
            }
            let off = a.checked_sub(RODATA).filter(|&o| o < self.rodata.len() as u64);
            let off = off.unwrap_or_else(|| panic!("the model cannot know the string at {addr:#x}"));
            if self.rodata[off as usize] == 0 {
                return true;
            }
        }
        false
    }

    /// console_out: the bytes written, or -EFAULT if none could be.
    fn console_out(&self, buf: u64, len: u64) -> i64 {
        if len == 0 {
            return 0;
        }
        // The whole buffer is checked before any byte is written.
        if self.run(buf, len, R) == len {
            len as i64
        } else {
            -EFAULT
        }
    }

    fn open_for_output(&self, fd: u64) -> bool {
        (fd == 1 || fd == 2) && self.closed & (1 << fd) == 0
    }

    /// A call on a path none of the model's strings names a file by (they
    /// are "/dev/console" and relative names of `a`s and `b`s), in Linux's
    /// order: the string, an empty one, the directory a relative one starts
    /// from (AT_FDCWD: the root, which lacks them; the console: not a
    /// directory), then the walk.
    fn lookup(&self, dirfd: u64, path: u64) -> i64 {
        if !self.copy_in_str(path) {
            return -EFAULT;
        }
        match self.copy_in(path, 1).map(|b| b[0]) {
            Some(0) | Some(b'/') => return -ENOENT,
            _ => {}
        }
        match dirfd as u32 as i32 {
            -100 => -ENOENT,
            fd if fd >= 0 && self.is_console(fd as u64) => -ENOTDIR,
            _ => -EBADF,
        }
    }

    fn is_console(&self, fd: u64) -> bool {
        fd <= 2 && self.closed & (1 << fd) == 0
    }

    fn signal_self(&mut self, target: u64, sig: u64) -> i64 {
        if target != self.pid && target != 0 {
            return -ESRCH;
        }
        if sig > 64 {
            return -EINVAL;
        }
        if sig != 0 {
            self.exited = true;
        }
        0
    }

    /// The result of system call `nr` with arguments `a`.
    fn syscall(&mut self, nr: u64, mut a: [u64; 6]) -> i64 {
        if matches!(
            nr,
            SYS_IOCTL
                | SYS_LSEEK
                | SYS_CLOSE
                | SYS_READ
                | SYS_WRITE
                | SYS_WRITEV
                | SYS_FSTAT
                | SYS_NEWFSTATAT
                | SYS_READLINKAT
        ) {
            a[0] = a[0] as u32 as u64; // Linux declares these descriptors `unsigned int` (newfstatat's `int`)
        }
        let fault_or = |ok: bool, v: i64| if ok { v } else { -EFAULT };
        match nr {
            SYS_IOCTL => {
                if self.is_console(a[0]) {
                    -ENOTTY
                } else {
                    -EBADF
                }
            }
            SYS_LSEEK => {
                if self.is_console(a[0]) {
                    -ESPIPE
                } else {
                    -EBADF
                }
            }
            SYS_CLOSE => {
                if a[0] > 2 || self.closed & (1 << a[0]) != 0 {
                    -EBADF
                } else {
                    self.closed |= 1 << a[0];
                    0
                }
            }
            // No console input ever arrives: end of file at once.
            SYS_READ => {
                if a[0] != 0 || self.closed & 1 != 0 {
                    -EBADF
                } else {
                    0
                }
            }
            SYS_WRITE => {
                if !self.open_for_output(a[0]) {
                    -EBADF
                } else {
                    self.console_out(a[1], a[2])
                }
            }
            SYS_WRITEV => {
                if !self.open_for_output(a[0]) {
                    return -EBADF;
                }
                if a[2] > 1024 {
                    return -EINVAL;
                }
                // The vector is read whole first (EFAULT if it cannot be),
                // then every buffer is checked before any byte is written.
                let mut segments = Vec::new();
                for i in 0..a[2] {
                    let Some(bytes) = self.copy_in(a[1].wrapping_add(16 * i), 16) else {
                        return -EFAULT;
                    };
                    let base = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                    let n = u64::from_le_bytes(bytes[8..].try_into().unwrap());
                    if (n as i64) < 0 {
                        return -EINVAL;
                    }
                    segments.push((base, n));
                }
                let mut total = 0i64;
                for (base, n) in segments {
                    let r = self.console_out(base, n);
                    if r < 0 {
                        return r;
                    }
                    total += r;
                }
                total
            }
            SYS_READLINKAT => self.lookup(a[0], a[1]),
            SYS_NEWFSTATAT => {
                let empty = self.copy_in(a[1], 1).is_some_and(|b| b[0] == 0);
                if empty && a[3] & 0x1000 != 0 {
                    if self.is_console(a[0]) {
                        fault_or(self.copy_out(a[2], 128), 0)
                    } else {
                        -EBADF
                    }
                } else {
                    self.lookup(a[0], a[1])
                }
            }
            SYS_FSTAT => {
                if self.is_console(a[0]) {
                    fault_or(self.copy_out(a[1], 128), 0)
                } else {
                    -EBADF
                }
            }
            SYS_EXIT | SYS_EXIT_GROUP => {
                self.exited = true;
                0
            }
            SYS_SET_TID_ADDRESS | SYS_GETPID | SYS_GETTID => self.pid as i64,
            // set_robust_list takes only the size of struct robust_list_head.
            SYS_SET_ROBUST_LIST => {
                if a[1] == 24 {
                    0
                } else {
                    -EINVAL
                }
            }
            SYS_SCHED_YIELD | SYS_GETPPID | SYS_MADVISE => 0,
            n if (SYS_GETUID..SYS_GETUID + 4).contains(&n) => 0,
            // wait4 checks its options (WNOHANG, WUNTRACED, WCONTINUED, __WNOTHREAD, __WALL, __WCLONE) first.
            SYS_WAIT4 if a[2] as u32 & !(1 | 2 | 8 | 0xe000_0000) != 0 => -EINVAL,
            SYS_WAIT4 => -ECHILD,
            SYS_NANOSLEEP => match self.copy_in(a[0], 16) {
                None => -EFAULT,
                Some(b) => {
                    let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
                    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap());
                    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                        -EINVAL
                    } else {
                        0
                    }
                }
            },
            SYS_CLOCK_GETTIME => {
                if a[0] > 11 {
                    -EINVAL
                } else {
                    fault_or(self.copy_out(a[1], 16), 0)
                }
            }
            SYS_GETTIMEOFDAY => {
                if a[0] != 0 && !self.copy_out(a[0], 16) {
                    return -EFAULT;
                }
                fault_or(a[1] == 0 || self.copy_out(a[1], 8), 0)
            }
            SYS_KILL => self.signal_self(a[0], a[1]),
            // tgkill(tgid, tid, sig): ids must be positive (Linux checks that first).
            SYS_TGKILL if a[0] as i32 <= 0 || a[1] as i32 <= 0 => -EINVAL,
            SYS_TGKILL => self.signal_self(a[1], a[2]),
            SYS_RT_SIGACTION => {
                let sig = a[0];
                if !(1..=64).contains(&sig) || a[3] != 8 {
                    -EINVAL
                } else {
                    fault_or(a[2] == 0 || self.copy_out(a[2], 24), 0)
                }
            }
            SYS_RT_SIGPROCMASK => {
                if a[3] != 8 {
                    -EINVAL
                } else {
                    fault_or(a[2] == 0 || self.copy_out(a[2], 8), 0)
                }
            }
            SYS_UNAME => fault_or(self.copy_out(a[0], 6 * 65), 0),
            SYS_GETCPU => {
                if a[0] != 0 && !self.copy_out(a[0], 4) {
                    return -EFAULT;
                }
                fault_or(a[1] == 0 || self.copy_out(a[1], 4), 0)
            }
            SYS_PRLIMIT64 => {
                if a[0] != 0 && a[0] != self.pid {
                    -ESRCH
                } else if a[1] >= 16 {
                    -EINVAL
                } else {
                    fault_or(a[3] == 0 || self.copy_out(a[3], 16), 0)
                }
            }
            SYS_GETRANDOM => {
                if a[2] & !7 != 0 {
                    return -EINVAL;
                }
                let len = a[1].min(33_554_431);
                if len == 0 {
                    return 0;
                }
                let w = self.run(a[0], len, W);
                if w == len {
                    return len as i64;
                }
                let done = w / 8 * 8;
                if done > 0 {
                    done as i64
                } else {
                    -EFAULT
                }
            }
            SYS_BRK => {
                let want = a[0];
                if want < HEAP || want > self.mmap_next - PG {
                    return self.brk as i64;
                }
                let (old_top, new_top) = (page_up(self.brk), page_up(want));
                if new_top > old_top {
                    self.map(old_top, new_top - old_top, R | W);
                }
                if new_top < old_top {
                    self.unmap(new_top, old_top - new_top);
                }
                self.brk = want;
                want as i64
            }
            SYS_MMAP => {
                let (addr, len, prot, flags) = (a[0], a[1], a[2], a[3]);
                if flags & 0x20 == 0 {
                    return -EBADF;
                }
                if len == 0 || prot & !7 != 0 || flags & 3 == 0 || flags & 3 == 3 {
                    return -EINVAL;
                }
                if len > MMAP_TOP {
                    return -ENOMEM;
                }
                let size = page_up(len);
                let va = if flags & 0x10 != 0 {
                    if addr % PG != 0 || addr >= MMAP_TOP || size > MMAP_TOP - addr {
                        return -EINVAL;
                    }
                    self.unmap(addr, size);
                    addr
                } else {
                    if size > self.mmap_next || self.mmap_next - size < page_up(self.brk) + PG {
                        return -ENOMEM;
                    }
                    self.mmap_next -= size;
                    self.mmap_next
                };
                // A PROT_NONE mapping holds its range (mprotect may open it later) but
                // grants nothing.
                self.map(va, size, prot_bits(prot));
                va as i64
            }
            SYS_MUNMAP => {
                let (addr, len) = (a[0], a[1]);
                if addr % PG != 0 || len == 0 || addr >= TRAPFRAME || len > TRAPFRAME - addr {
                    return -EINVAL;
                }
                self.unmap(addr, page_up(len));
                0
            }
            SYS_MPROTECT => {
                let (addr, len, prot) = (a[0], a[1], a[2]);
                if addr % PG != 0 || prot & !7 != 0 || len > TRAPFRAME || addr > TRAPFRAME - page_up(len) {
                    return -EINVAL;
                }
                let size = page_up(len);
                let pages = (addr / PG)..((addr + size) / PG);
                if pages.clone().any(|p| !self.pages.contains_key(&p)) {
                    return -ENOMEM;
                }
                for p in pages {
                    self.pages.insert(p, prot_bits(prot));
                }
                0
            }
            _ => -ENOSYS,
        }
    }
}

// ---------------------------------------------------------------------------
// The program generator.

/// Read-only data under construction, with the fixed strings first.
struct Rodata {
    asm: Asm,
    layout: Layout,
    empty: u64,
    short: u64,
    longest: u64,
    too_long: u64,
}

/// The string that runs, unterminated, to the end of read-only data.
const UNTERMINATED: &[u8] = b"no terminating NUL before the end of the mapping";

impl Rodata {
    fn new(layout: Layout) -> Rodata {
        let mut asm = Asm::new(RODATA);
        let empty = asm.here();
        asm.data(b"\0");
        let short = asm.here();
        asm.data(b"/dev/console\0");
        let longest = asm.here();
        asm.data(&[b'a'; 127]);
        asm.data(b"\0");
        let too_long = asm.here();
        asm.data(&[b'b'; 128]);
        asm.data(b"\0");
        Rodata {
            asm,
            layout,
            empty,
            short,
            longest,
            too_long,
        }
    }

    fn path(&self, p: PathArg) -> u64 {
        match p {
            PathArg::Null => 0,
            PathArg::Empty => self.empty,
            PathArg::Short => self.short,
            PathArg::Longest => self.longest,
            PathArg::TooLong => self.too_long,
            PathArg::Unterminated => self.layout.rodata_end - UNTERMINATED.len() as u64,
            PathArg::Bad(b) => b.addr(),
        }
    }

    fn timespec(&mut self, t: TsArg) -> u64 {
        let (sec, nsec): (i64, i64) = match t {
            TsArg::Sleep(ns) => (0, ns as i64),
            TsArg::NegativeSeconds => (-1, 0),
            TsArg::NegativeNanoseconds => (0, -1),
            TsArg::TooManyNanoseconds => (0, 1_000_000_000),
            // Its second half would lie past the end of read-only data.
            TsArg::Straddling => return self.layout.rodata_end - 8,
            TsArg::Null => return 0,
            TsArg::Bad(b) => return b.addr(),
        };
        self.asm.align(8);
        let at = self.asm.here();
        self.asm.dword(sec as u64);
        self.asm.dword(nsec as u64);
        at
    }

    /// writev's arguments: (iov, iovcnt).
    fn iov(&mut self, v: &IovArg) -> (u64, u64) {
        match v {
            IovArg::Array(entries, count) => {
                self.asm.align(8);
                let at = self.asm.here();
                for &(p, n) in entries {
                    self.asm.dword(p.addr(self.layout));
                    self.asm.dword(n);
                }
                (at, *count as u64 % (entries.len() as u64 + 1))
            }
            IovArg::TooMany(n) => (self.empty, *n),
            IovArg::Bad(b, n) => (b.addr(), *n),
        }
    }

    /// Where read-only data must end to hold what it has and the
    /// unterminated string.
    fn end_needed(&self) -> u64 {
        page_up(self.asm.here() + UNTERMINATED.len() as u64)
    }

    /// Pads to the layout's end, with the unterminated string at the very end.
    fn finish(mut self) -> Vec<u8> {
        let end = self.layout.rodata_end - UNTERMINATED.len() as u64;
        assert!(self.asm.here() <= end, "read-only data overflows");
        while self.asm.here() < end {
            self.asm.data(&[0]);
        }
        self.asm.data(UNTERMINATED);
        self.asm.finish()
    }
}

/// The system call number and the argument registers a call sets (None:
/// left at the seeded value); None for a Pause.
fn call_args(call: &Call, pid: u64, ro: &mut Rodata) -> Option<(u64, [Option<u64>; 6])> {
    let mut a = [None; 6];
    let l = ro.layout;
    let nr = match call {
        Call::Pause => return None,
        Call::Plain(nr) => *nr,
        Call::SetTidAddress(p) => {
            a[0] = Some(p.addr(l));
            SYS_SET_TID_ADDRESS
        }
        Call::Unknown(nr) => *nr,
        Call::Write(fd, p, n) | Call::Read(fd, p, n) => {
            a[..3].copy_from_slice(&[Some(*fd), Some(p.addr(l)), Some(*n)]);
            if matches!(call, Call::Write(..)) {
                SYS_WRITE
            } else {
                SYS_READ
            }
        }
        Call::Writev(fd, v) => {
            let (iov, cnt) = ro.iov(v);
            a[..3].copy_from_slice(&[Some(*fd), Some(iov), Some(cnt)]);
            SYS_WRITEV
        }
        Call::Close(fd) => {
            a[0] = Some(*fd);
            SYS_CLOSE
        }
        Call::Ioctl(fd) => {
            a[0] = Some(*fd);
            SYS_IOCTL
        }
        Call::Lseek(fd) => {
            a[0] = Some(*fd);
            SYS_LSEEK
        }
        Call::Fstat(fd, p) => {
            a[..2].copy_from_slice(&[Some(*fd), Some(p.addr(l))]);
            SYS_FSTAT
        }
        Call::Newfstatat(fd, s, p, flags) => {
            a[..4].copy_from_slice(&[Some(*fd), Some(ro.path(*s)), Some(p.addr(l)), Some(*flags)]);
            SYS_NEWFSTATAT
        }
        Call::Readlinkat(fd, s) => {
            a[..2].copy_from_slice(&[Some(*fd), Some(ro.path(*s))]);
            SYS_READLINKAT
        }
        Call::RtSigaction(sig, act, old) => {
            // A new action is never installed (the model has no handlers): `act` only
            // chooses whether the size argument is the right one.
            a[..4].copy_from_slice(&[Some(*sig), Some(0), Some(old.addr(l)), Some(if *act { 8 } else { 16 })]);
            SYS_RT_SIGACTION
        }
        Call::RtSigprocmask(old, size) => {
            a[1] = Some(0); // no new mask: the model blocks nothing
            a[2] = Some(old.addr(l));
            a[3] = Some(*size);
            SYS_RT_SIGPROCMASK
        }
        Call::Kill(t, sig) => {
            a[..2].copy_from_slice(&[Some(t.value(pid)), Some(*sig)]);
            SYS_KILL
        }
        Call::Tgkill(t, sig) => {
            a[0] = Some(pid);
            a[1] = Some(t.value(pid));
            a[2] = Some(*sig);
            SYS_TGKILL
        }
        Call::Prlimit(t, resource, old) => {
            a[..2].copy_from_slice(&[Some(t.value(pid)), Some(*resource)]);
            a[3] = Some(old.addr(l));
            SYS_PRLIMIT64
        }
        Call::Nanosleep(t) => {
            a[0] = Some(ro.timespec(*t));
            SYS_NANOSLEEP
        }
        Call::ClockGettime(clock, p) => {
            a[..2].copy_from_slice(&[Some(*clock), Some(p.addr(l))]);
            SYS_CLOCK_GETTIME
        }
        Call::Gettimeofday(tv, tz) => {
            a[..2].copy_from_slice(&[Some(tv.addr(l)), Some(tz.addr(l))]);
            SYS_GETTIMEOFDAY
        }
        Call::Uname(p) => {
            a[0] = Some(p.addr(l));
            SYS_UNAME
        }
        Call::Getcpu(c, n) => {
            a[..2].copy_from_slice(&[Some(c.addr(l)), Some(n.addr(l))]);
            SYS_GETCPU
        }
        Call::Getrandom(p, n, flags) => {
            a[..3].copy_from_slice(&[Some(p.addr(l)), Some(*n), Some(*flags)]);
            SYS_GETRANDOM
        }
        Call::Brk(want) => {
            a[0] = Some(*want);
            SYS_BRK
        }
        Call::Mmap(addr, n, prot, flags) => {
            a[..4].copy_from_slice(&[Some(addr.addr()), Some(*n), Some(*prot), Some(*flags)]);
            SYS_MMAP
        }
        Call::Munmap(addr, n) => {
            a[..2].copy_from_slice(&[Some(addr.addr()), Some(*n)]);
            SYS_MUNMAP
        }
        Call::Mprotect(addr, n, prot) => {
            a[..3].copy_from_slice(&[Some(addr.addr()), Some(*n), Some(*prot)]);
            SYS_MPROTECT
        }
    };
    Some((nr, a))
}

/// The model's page permissions for mmap/mprotect's `prot` (the kernel, as
/// RISC-V requires, makes every writable or executable page readable).
fn prot_bits(prot: u64) -> u8 {
    if prot == 0 {
        return 0;
    }
    R | if prot & 2 != 0 { W } else { 0 } | if prot & 4 != 0 { X } else { 0 }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What one step expects: its registers as loaded, and its system call.
#[derive(Clone, Debug)]
struct Planned {
    regs: [u64; 32],
    /// (number, arguments), None for a Pause.
    syscall: Option<(u64, [u64; 6])>,
}

struct Program {
    elf: Vec<u8>,
    layout: Layout,
    /// Per process (pid = index + 1).
    steps: Vec<Vec<Planned>>,
    rodata: Vec<u8>,
}

/// Words that store registers x1..x31 but a0 in the dump area and a0 from
/// -8(sp) (where the caller put it).
fn dump_registers(a: &mut Asm) {
    a.emit(asm::sd(A0, SP, -8));
    a.li_fixed(A0, DUMP);
    for r in 1..32 {
        if r != A0 {
            a.emit(asm::sd(r, A0, 8 * r as i32));
        }
    }
    a.emit(asm::ld(T0, SP, -8));
    a.emit(asm::sd(T0, A0, 8 * A0 as i32));
}

/// check(a0 = expected registers, a1 = result slot): compares the dump with
/// the table (sp with its saved value, a0 not at all) and stores the
/// observed a0 and the mask of differing registers in the slot.
fn emit_check(a: &mut Asm) {
    let (lp, next, cmp) = (a.label(), a.label(), a.label());
    a.li_fixed(T0, DUMP);
    a.li(T1, 0);
    a.li(T2, 1);
    a.bind(lp);
    a.li(T6, A0 as u64);
    a.branch(asm::beq, T2, T6, next);
    a.emit(asm::slli(T3, T2, 3));
    a.emit(asm::add(T4, T0, T3));
    a.emit(asm::ld(T4, T4, 0));
    a.emit(asm::add(T5, A0, T3));
    a.emit(asm::ld(T5, T5, 0));
    a.li(T6, SP as u64);
    a.branch(asm::bne, T2, T6, cmp);
    a.li_fixed(T5, SAVED_SP);
    a.emit(asm::ld(T5, T5, 0));
    a.bind(cmp);
    a.branch(asm::beq, T4, T5, next);
    a.li(T6, 1);
    a.emit(asm::sll(T6, T6, T2));
    a.emit(asm::or(T1, T1, T6));
    a.bind(next);
    a.emit(asm::addi(T2, T2, 1));
    a.li(T6, 32);
    a.branch(asm::blt, T2, T6, lp);
    a.emit(asm::ld(T4, T0, 8 * A0 as i32));
    a.emit(asm::sd(T4, A1, 0));
    a.emit(asm::sd(T1, A1, 8));
    a.ret();
}

/// hex(a1 = words, a2 = count, a3 = destination): writes 16 hex digits per
/// word, most significant first; a3 ends past the last digit.
fn emit_hex(a: &mut Asm) {
    let (words, nibble, digit, store, done) = (a.label(), a.label(), a.label(), a.label(), a.label());
    a.bind(words);
    a.branch(asm::beq, A2, ZERO, done);
    a.emit(asm::ld(T0, A1, 0));
    a.li(T1, 60);
    a.bind(nibble);
    a.emit(asm::srl(T2, T0, T1));
    a.emit(asm::andi(T2, T2, 15));
    a.li(T3, 10);
    a.branch(asm::blt, T2, T3, digit);
    a.emit(asm::addi(T2, T2, b'a' as i32 - 10));
    a.j(store);
    a.bind(digit);
    a.emit(asm::addi(T2, T2, b'0' as i32));
    a.bind(store);
    a.emit(asm::sb(T2, A3, 0));
    a.emit(asm::addi(A3, A3, 1));
    a.emit(asm::addi(T1, T1, -4));
    a.branch(asm::bge, T1, ZERO, nibble);
    a.emit(asm::addi(A1, A1, 8));
    a.emit(asm::addi(A2, A2, -1));
    a.j(words);
    a.bind(done);
    a.ret();
}

/// report(a0 = number of steps): writes "#PROPS: " pid results "\n" to fd 1.
fn emit_report(a: &mut Asm, hex: gen::Label) {
    a.emit(asm::addi(S0, RA, 0));
    a.emit(asm::addi(S1, A0, 0));
    a.li_fixed(A3, OUT);
    a.li(T0, u64::from_le_bytes(*MARKER));
    a.emit(asm::sd(T0, A3, 0));
    a.emit(asm::addi(A3, A3, 8));
    a.li_fixed(A1, PID_SLOT);
    a.li(A2, 1);
    a.call(hex);
    a.li_fixed(A1, RESULTS);
    a.emit(asm::slli(A2, S1, 1));
    a.call(hex);
    a.li(T0, b'\n' as u64);
    a.emit(asm::sb(T0, A3, 0));
    a.emit(asm::addi(A3, A3, 1));
    a.li(A0, 1);
    a.li_fixed(A1, OUT);
    a.emit(asm::sub(A2, A3, A1));
    a.li(A7, SYS_WRITE);
    a.emit(asm::ecall());
    a.emit(asm::addi(RA, S0, 0));
    a.ret();
}

fn emit_ending(a: &mut Asm, e: Ending, pid: u64) {
    match e {
        Ending::Exit { code, group } => {
            a.li(A0, code);
            a.li(A7, if group { SYS_EXIT_GROUP } else { SYS_EXIT });
            a.emit(asm::ecall());
        }
        Ending::Signal { sig, how } => {
            match how {
                0 => {
                    a.li(A0, 0);
                    a.li(A1, sig);
                    a.li(A7, SYS_KILL);
                }
                1 => {
                    a.li(A0, pid);
                    a.li(A1, sig);
                    a.li(A7, SYS_KILL);
                }
                _ => {
                    a.li(A0, pid);
                    a.li(A1, pid);
                    a.li(A2, sig);
                    a.li(A7, SYS_TGKILL);
                }
            }
            a.emit(asm::ecall());
        }
        Ending::Fault(kind) => match kind {
            0 => a.emit(asm::ld(T0, ZERO, 0)),
            1 => {
                a.li(T0, CODE);
                a.emit(asm::sd(T0, T0, 0)); // code is not writable
            }
            2 => a.emit(0), // an illegal instruction
            3 => a.emit(asm::ebreak()),
            4 => {
                a.li(T0, DATA);
                a.emit(asm::jalr(ZERO, T0, 0)); // data is not executable
            }
            _ => {
                a.li(T0, BUF + 2);
                a.emit(asm::amoadd_w(T1, T0, T0)); // misaligned AMO
            }
        },
    }
    // Never reached: a process that survives its ending breaks here, and
    // dies with a status the test does not expect.
    a.emit(asm::ebreak());
}

/// Read-only data for a layout: its builder (not yet finished), each
/// step's plan, and each step's register table address.
#[allow(clippy::type_complexity)]
fn build_rodata(plans: &[ProcPlan], seed: u64, layout: Layout) -> (Rodata, Vec<Vec<Planned>>, Vec<Vec<u64>>) {
    let mut ro = Rodata::new(layout);
    let mut steps = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let pid = i as u64 + 1;
        let mut planned = Vec::new();
        for (j, step) in plan.steps.iter().enumerate() {
            let mut regs = [0u64; 32];
            for (r, v) in regs.iter_mut().enumerate().skip(1) {
                *v = splitmix(seed ^ splitmix((pid << 48) ^ ((j as u64) << 8) ^ r as u64));
            }
            regs[SP as usize] = 0;
            let syscall = call_args(&step.call, pid, &mut ro).map(|(nr, args)| {
                for (k, v) in args.iter().enumerate() {
                    if let Some(v) = v {
                        regs[A0 as usize + k] = *v;
                    }
                }
                regs[A7 as usize] = nr;
                let a: [u64; 6] = regs[A0 as usize..A0 as usize + 6].try_into().unwrap();
                (nr, a)
            });
            planned.push(Planned { regs, syscall });
        }
        steps.push(planned);
    }
    // The register tables, after the other read-only data.
    let mut tables = Vec::new();
    for planned in &steps {
        let mut v = Vec::new();
        for p in planned {
            ro.asm.align(8);
            v.push(ro.asm.here());
            for r in p.regs {
                ro.asm.dword(r);
            }
        }
        tables.push(v);
    }
    (ro, steps, tables)
}

/// The code: _start, the helpers, then each process's steps and ending.
fn build_code(plans: &[ProcPlan], tables: &[Vec<u64>]) -> Vec<u8> {
    let mut a = Asm::new(CODE);
    let (check, hex, report) = (a.label(), a.label(), a.label());
    let seq_labels: Vec<_> = plans.iter().map(|_| a.label()).collect();
    // _start: save sp, learn the pid, run that process's sequence.
    a.li_fixed(T0, SAVED_SP);
    a.emit(asm::sd(SP, T0, 0));
    a.li(A7, SYS_GETPID);
    a.emit(asm::ecall());
    a.li_fixed(T0, PID_SLOT);
    a.emit(asm::sd(A0, T0, 0));
    for (i, &l) in seq_labels.iter().enumerate() {
        let skip = a.label();
        a.li(T1, i as u64 + 1);
        a.branch(asm::bne, A0, T1, skip);
        a.j(l);
        a.bind(skip);
    }
    a.li(A0, 99); // an unexpected pid
    a.li(A7, SYS_EXIT);
    a.emit(asm::ecall());
    a.emit(asm::ebreak());
    a.bind(check);
    emit_check(&mut a);
    a.bind(hex);
    emit_hex(&mut a);
    a.bind(report);
    emit_report(&mut a, hex);
    for (i, plan) in plans.iter().enumerate() {
        a.bind(seq_labels[i]);
        assert!(plan.steps.len() <= MAX_CALLS);
        for (j, step) in plan.steps.iter().enumerate() {
            let table = tables[i][j];
            a.li_fixed(T6, table);
            for r in 1..31 {
                if r != SP {
                    a.emit(asm::ld(r, T6, 8 * r as i32));
                }
            }
            a.emit(asm::ld(T6, T6, 8 * T6 as i32));
            for _ in 0..step.nops {
                a.emit(asm::addi(ZERO, ZERO, 0));
            }
            if !matches!(step.call, Call::Pause) {
                a.emit(asm::ecall());
            }
            dump_registers(&mut a);
            a.li_fixed(A0, table);
            a.li_fixed(A1, RESULTS + 16 * j as u64);
            a.call(check);
        }
        a.li(A0, plan.steps.len() as u64);
        a.call(report);
        emit_ending(&mut a, plan.ending, i as u64 + 1);
    }
    a.finish()
}

fn generate(plans: &[ProcPlan], seed: u64) -> Program {
    // Sizes do not depend on the layout (addresses are always loaded with
    // two instructions), so a first pass with a provisional one gives them.
    let provisional = Layout {
        code_end: RODATA,
        rodata_end: DATA,
    };
    let (ro, _, tables) = build_rodata(plans, seed, provisional);
    let layout = Layout {
        code_end: CODE + page_up(build_code(plans, &tables).len() as u64),
        rodata_end: ro.end_needed(),
    };
    assert!(
        layout.code_end <= RODATA && layout.rodata_end <= DATA,
        "the program is too big"
    );
    let (ro, steps, tables) = build_rodata(plans, seed, layout);
    let rodata = ro.finish();
    let code = build_code(plans, &tables);
    let elf = gen::elf(
        CODE,
        &[
            Segment {
                vaddr: CODE,
                memsz: layout.code_end - CODE,
                data: code,
                flags: PF_R | PF_X,
            },
            Segment {
                vaddr: RODATA,
                memsz: layout.rodata_end - RODATA,
                data: rodata.clone(),
                flags: PF_R,
            },
            Segment::zeroed(DATA, DATA_SIZE, PF_R | PF_W),
            Segment::zeroed(BUF, PG, PF_R | PF_W),
        ],
    );
    Program {
        elf,
        steps,
        rodata,
        layout,
    }
}

// ---------------------------------------------------------------------------
// Running and checking.

/// A bound on every run, so that a lost request fails the case instead of
/// hanging it.
const MAX_CYCLES: u64 = 200_000_000;

struct Outcome {
    machine: Machine,
    output: String,
    reason: ExitReason,
}

fn run(program: &Program, cfg: &RunCfg) -> Outcome {
    let out = Captured::default();
    let config = MachineConfig {
        harts: cfg.harts,
        ram_size: 32 << 20,
        quantum: cfg.quantum,
        max_cycles: Some(MAX_CYCLES),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, Box::new(out.clone()), Box::new(NoInput)).unwrap();
    machine.bus.annotate.record = true;
    let workload = Workload {
        argv0: None,
        name: "props".into(),
        program: program.elf.clone(),
        args: vec![],
        env: vec![],
        procs: program.steps.len(),
        seed: 0,
        master_runs_user: cfg.master_runs_user,
        slice_ticks: cfg.slice_ticks,
    };
    kernel::boot(&mut machine, &workload).unwrap();
    let reason = machine.run();
    Outcome {
        output: out.text(),
        reason,
        machine,
    }
}

/// The report lines: pid -> the words after it.
fn reports(output: &str) -> Result<BTreeMap<u64, Vec<u64>>, String> {
    let marker = std::str::from_utf8(MARKER).unwrap();
    let mut found = BTreeMap::new();
    for (at, _) in output.match_indices(marker) {
        let rest = &output[at + marker.len()..];
        let hex = rest.split('\n').next().unwrap_or("");
        if hex.is_empty() || hex.len() & 15 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("malformed report line {hex:?}"));
        }
        let words: Vec<u64> = (0..hex.len() / 16)
            .map(|k| u64::from_str_radix(&hex[16 * k..16 * k + 16], 16).unwrap())
            .collect();
        if found.insert(words[0], words[1..].to_vec()).is_some() {
            return Err(format!("two reports from pid {}", words[0]));
        }
    }
    Ok(found)
}

const REG_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

fn mask_names(mask: u64) -> String {
    (0..32)
        .filter(|r| mask & (1 << r) != 0)
        .map(|r| REG_NAMES[r])
        .collect::<Vec<_>>()
        .join(",")
}

/// What the kernel reported for one answered request.
#[derive(Clone, Copy, Debug)]
struct Served {
    hart: usize,
    kind: u64,
    pid: u64,
    nr: u64,
    result: u64,
}

/// The request state machine over the annotation events: returns each
/// pid's system calls as (number, result), in order, and the exit statuses
/// in the order processes exited.
#[allow(clippy::type_complexity)]
fn check_events(m: &Machine, quantum: u64) -> Result<(BTreeMap<u64, Vec<(u64, u64)>>, Vec<(u64, u64)>), String> {
    #[derive(Clone, Copy, Debug)]
    struct Open {
        kind: u64,
        pid: u64,
        nr: u64,
        started: bool,
        posted: usize,
    }
    let events = &m.bus.annotate.events;
    let harts = m.harts.len();
    let mut open: Vec<Option<Open>> = vec![None; harts];
    // The process each hart runs: for slaves, set when they resume.
    let mut running: Vec<Option<u64>> = vec![None; harts];
    // An assignment a slave has not yet acted on.
    let mut assigned: Vec<Option<u64>> = vec![None; harts];
    let mut ring_posted: Vec<(usize, usize, u64)> = Vec::new(); // (event index, hart, cycle)
    let mut ring_started: Vec<usize> = Vec::new(); // posting event indices, in service order
    let mut syscalls: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    let mut exits = Vec::new();
    let mut posted_syscalls = vec![0u64; harts];
    // The request answered last, until hart 0's next event shows whether
    // its process went on.
    let mut just_answered: Option<(Served, bool)> = None;
    let at = |i: usize| format!("event {i} ({:?})", events[i]);
    for (i, e) in events.iter().enumerate() {
        if e.hart == 0 {
            if let Some((s, exited)) = just_answered.take() {
                let went_on = e.kind == EventKind::ProcessAssigned && e.args[1] == s.pid;
                if went_on && e.args[0] as usize != s.hart {
                    return Err(format!(
                        "{}: pid {} was answered on another hart than {}",
                        at(i),
                        s.pid,
                        s.hart
                    ));
                }
                if e.kind == EventKind::ProcessAssigned && e.args[0] as usize == s.hart && e.args[1] != s.pid {
                    return Err(format!("{}: hart {} got another process after {s:?}", at(i), s.hart));
                }
                // A signal a process sends itself is taken as the call returns.
                let blocking = matches!(
                    s.nr,
                    SYS_EXIT | SYS_EXIT_GROUP | SYS_SCHED_YIELD | SYS_KILL | SYS_TGKILL
                ) || (s.nr == SYS_NANOSLEEP && s.result == 0)
                    || exited;
                if s.kind == REQUEST_SYSCALL && !blocking && !went_on {
                    return Err(format!("{}: after {s:?} the process did not go on", at(i)));
                }
                if (exited || s.kind == REQUEST_FAULT) && went_on {
                    return Err(format!("{}: a dead process went on after {s:?}", at(i)));
                }
            }
        }
        match e.kind {
            EventKind::RequestPosted => {
                let (h, kind, pid, nr) = (e.hart, e.args[0], e.args[1], e.args[2]);
                if let Some(o) = open[h] {
                    return Err(format!("{}: hart {h} posted while {o:?} was outstanding", at(i)));
                }
                if kind == REQUEST_IDLE {
                    if pid != 0 || h == 0 || running[h].is_some() {
                        return Err(format!("{}: unexpected idle request", at(i)));
                    }
                } else if running[h] != Some(pid) {
                    return Err(format!(
                        "{}: hart {h} posted for pid {pid} but runs {:?}",
                        at(i),
                        running[h]
                    ));
                }
                if h != 0 && assigned[h].is_some() {
                    return Err(format!("{}: hart {h} posted before acting on its answer", at(i)));
                }
                if kind == REQUEST_SYSCALL {
                    posted_syscalls[h] += 1;
                }
                open[h] = Some(Open {
                    kind,
                    pid,
                    nr,
                    started: false,
                    posted: i,
                });
                if h != 0 {
                    ring_posted.push((i, h, e.cycle));
                }
            }
            EventKind::ServiceStart => {
                let o = e.args[0] as usize;
                if e.hart != 0 {
                    return Err(format!("{}: a request was served on hart {}", at(i), e.hart));
                }
                match open.get_mut(o).and_then(|x| x.as_mut()) {
                    Some(r) if !r.started && r.pid == e.args[1] && r.nr == e.args[2] && r.kind == e.args[3] => {
                        r.started = true;
                        if o != 0 {
                            ring_started.push(r.posted);
                        }
                    }
                    other => return Err(format!("{}: service started for {other:?}", at(i))),
                }
            }
            EventKind::ServiceEnd => {
                let o = e.args[0] as usize;
                if e.hart != 0 {
                    return Err(format!("{}: a request was answered by hart {}", at(i), e.hart));
                }
                let r = match open.get_mut(o).and_then(|x| x.take()) {
                    Some(r) if r.started && r.pid == e.args[1] => r,
                    other => return Err(format!("{}: service ended for {other:?}", at(i))),
                };
                let served = Served {
                    hart: o,
                    kind: r.kind,
                    pid: r.pid,
                    nr: r.nr,
                    result: e.args[2],
                };
                if r.kind == REQUEST_SYSCALL {
                    syscalls.entry(r.pid).or_default().push((r.nr, e.args[2]));
                }
                let exited = exits.iter().any(|&(p, _)| p == r.pid);
                running[o] = None;
                just_answered = Some((served, exited));
            }
            EventKind::ProcessAssigned => {
                let (h, pid) = (e.args[0] as usize, e.args[1]);
                if e.hart != 0 || h >= harts {
                    return Err(format!("{}: bad assignment", at(i)));
                }
                if h == 0 {
                    running[0] = Some(pid);
                } else {
                    if assigned[h].is_some() || running[h].is_some() {
                        return Err(format!("{}: hart {h} assigned while busy", at(i)));
                    }
                    assigned[h] = Some(pid);
                }
            }
            EventKind::Resumed => {
                let h = e.hart;
                if e.args[0] as usize != h || assigned[h] != Some(e.args[1]) {
                    return Err(format!(
                        "{}: resumed without that assignment ({:?})",
                        at(i),
                        assigned[h]
                    ));
                }
                assigned[h] = None;
                running[h] = Some(e.args[1]);
            }
            EventKind::ProcessExit => exits.push((e.args[0], e.args[1])),
            EventKind::Panic => return Err(format!("{}: kernel panic", at(i))),
            _ => {}
        }
    }
    if let Some(o) = open.iter().flatten().next() {
        return Err(format!("a request was never answered: {o:?}"));
    }
    for (h, h_state) in m.harts.iter().enumerate() {
        if h_state.stats.ecalls_from_user != posted_syscalls[h] {
            return Err(format!(
                "hart {h} raised {} ecalls but posted {} system calls",
                h_state.stats.ecalls_from_user, posted_syscalls[h]
            ));
        }
        let served = m.bus.annotate.syscalls_served[h];
        let expected = if h == 0 { posted_syscalls.iter().sum() } else { 0 };
        if served != expected {
            return Err(format!("hart {h} served {served} system calls, expected {expected}"));
        }
    }
    check_fifo(&ring_posted, &ring_started, quantum)?;
    Ok((syscalls, exits))
}

/// Cycles a request's posting may lag its ticket: from the REQUEST_POSTED
/// write to the atomic add that takes the ticket (a few instructions), plus
/// the most one instruction can overrun the end of a quantum.
const TICKET_SLACK: u64 = 64;

/// The master serves tickets in order, and a slave writes REQUEST_POSTED
/// just before taking its ticket (slave.c). Harts take turns of `quantum`
/// cycles, so the order of the events (as written) is the ticket order,
/// except that a hart whose turn ends between the two may be overtaken by
/// another hart's request posted in the rest of that round or early in the
/// next (before its own next turn): only by a request from another hart,
/// posted within a quantum (plus the slack) of its own. So: every pair
/// served out of posting order must be such a pair.
fn check_fifo(posted: &[(usize, usize, u64)], started: &[usize], quantum: u64) -> Result<(), String> {
    if posted.len() != started.len() {
        return Err(format!(
            "{} ring requests posted, {} served",
            posted.len(),
            started.len()
        ));
    }
    let rank: BTreeMap<usize, usize> = started.iter().enumerate().map(|(k, &p)| (p, k)).collect();
    for (x, &(ia, ha, ca)) in posted.iter().enumerate() {
        for &(ib, hb, cb) in &posted[x + 1..] {
            if rank[&ib] < rank[&ia] && (ha == hb || ca.abs_diff(cb) > quantum + TICKET_SLACK) {
                return Err(format!(
                    "request posted at event {ib} (hart {hb}, cycle {cb}) was served before the one posted at \
                     event {ia} (hart {ha}, cycle {ca}), quantum {quantum}"
                ));
            }
        }
    }
    Ok(())
}

/// Checks one run against the plans; Err describes the first violation.
fn check_run(plans: &[ProcPlan], program: &Program, cfg: &RunCfg, out: &Outcome) -> Result<(), String> {
    let m = &out.machine;
    if m.bus.annotate.panicked {
        return Err("the kernel panicked".into());
    }
    // Property 7: the cycle accounts add up.
    for (h, states) in m.cycles_by_state().iter().enumerate() {
        let sum: u64 = states.iter().sum();
        if sum != m.harts[h].cycle {
            return Err(format!(
                "hart {h}: cycles by state {states:?} sum to {sum}, not {}",
                m.harts[h].cycle
            ));
        }
    }
    // Properties 1-3.
    let (syscalls, exits) = check_events(m, cfg.quantum)?;
    // Property 6: statuses, and the power-off status.
    let rodata = std::rc::Rc::new(program.rodata.clone());
    let reports = reports(&out.output)?;
    for (i, plan) in plans.iter().enumerate() {
        let pid = i as u64 + 1;
        let status: Vec<u64> = exits.iter().filter(|e| e.0 == pid).map(|e| e.1).collect();
        if status != [plan.ending.status()] {
            return Err(format!(
                "pid {pid} exited with {status:?}, expected {}",
                plan.ending.status()
            ));
        }
        // Properties 4 and 5: the model, the kernel's answers and what the
        // process saw.
        let mut space = Space::new(pid, program.layout, rodata.clone());
        let words = reports.get(&pid).ok_or(format!("no report from pid {pid}"))?;
        let steps = &program.steps[i];
        if words.len() != 2 * steps.len() {
            return Err(format!(
                "pid {pid} reported {} words for {} steps",
                words.len(),
                steps.len()
            ));
        }
        let mut expected = vec![(SYS_GETPID, pid)];
        for (j, planned) in steps.iter().enumerate() {
            let (seen, mask) = (words[2 * j], words[2 * j + 1]);
            let what = format!("pid {pid} step {j} ({:?})", plan.steps[j].call);
            if mask != 0 {
                return Err(format!("{what}: registers changed: {}", mask_names(mask)));
            }
            let want = match planned.syscall {
                None => planned.regs[A0 as usize],
                Some((nr, args)) => {
                    let r = space.syscall(nr, args) as u64;
                    expected.push((nr, r));
                    r
                }
            };
            if seen != want {
                return Err(format!(
                    "{what}: a0 = {seen:#x} ({}), the model says {want:#x} ({})",
                    seen as i64, want as i64
                ));
            }
        }
        let report_len = (MARKER.len() + 16 * (1 + 2 * steps.len()) + 1) as u64;
        expected.push((SYS_WRITE, report_len));
        match plan.ending {
            Ending::Exit { group, .. } => expected.push((if group { SYS_EXIT_GROUP } else { SYS_EXIT }, 0)),
            Ending::Signal { how, .. } => expected.push((if how < 2 { SYS_KILL } else { SYS_TGKILL }, 0)),
            Ending::Fault(_) => {}
        }
        let got = syscalls.get(&pid).cloned().unwrap_or_default();
        if got != expected {
            return Err(format!(
                "pid {pid}: the kernel answered (number, result)\n  {got:x?}\nexpected\n  {expected:x?}"
            ));
        }
    }
    let first_failure = exits.iter().map(|e| e.1).find(|&s| s != 0).unwrap_or(0);
    if out.reason != ExitReason::Finisher(first_failure as u32) {
        return Err(format!(
            "the run ended with {:?}, expected Finisher({first_failure})",
            out.reason
        ));
    }
    Ok(())
}

fn check_case(plans: &[ProcPlan], seed: u64, cfg: &RunCfg) -> Result<(), TestCaseError> {
    let program = generate(plans, seed);
    let out = run(&program, cfg);
    check_run(plans, &program, cfg, &out).map_err(|e| {
        let tail: String = out
            .output
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        TestCaseError::fail(format!(
            "{e}\nconfig {cfg:?}, ended {:?} at cycle {}; {}\nconsole tail:\n{tail}",
            out.reason,
            out.machine.now,
            out.machine.hart_positions()
        ))
    })
}

fn config() -> ProptestConfig {
    crate::common::proptest_config(256)
}

proptest! {
    #![proptest_config(config())]

    /// Random system calls on up to 4 harts: all properties, at the default
    /// quantum and time slice or short ones.
    #[test]
    fn syscalls_from_every_hart_are_answered_and_match_the_model(
        plans in plans(5, 10),
        seed in any::<u64>(),
        cfg in run_cfg(4, vec![1, 7, 100, 1000]),
    ) {
        check_case(&plans, seed, &cfg)?;
    }

    /// More processes than slaves and short slices: preemption and
    /// migration between every pair of system calls.
    #[test]
    fn registers_survive_preemption_and_migration(
        plans in plans(6, 6),
        seed in any::<u64>(),
        harts in 2usize..=3,
        slice in 3u64..=12,
        quantum in select(vec![7u64, 100]),
    ) {
        let cfg = RunCfg { harts, master_runs_user: false, slice_ticks: Some(slice), quantum };
        check_case(&plans, seed, &cfg)?;
    }
}

/// The properties have teeth: a run that passes fails the checks once its
/// record is corrupted in any of the ways they look for.
#[test]
fn the_checks_catch_corrupted_runs() {
    let step = |call| Step { call, nops: 0 };
    let plan = ProcPlan {
        steps: vec![step(Call::Plain(SYS_GETPPID)), step(Call::Write(1, Ptr::Buf(0), 5))],
        ending: Ending::Exit { code: 0, group: false },
    };
    let plans = vec![plan; 3];
    let cfg = RunCfg {
        harts: 3,
        master_runs_user: false,
        slice_ticks: None,
        quantum: 100,
    };
    let program = generate(&plans, 7);
    let fresh = || {
        let out = run(&program, &cfg);
        check_run(&plans, &program, &cfg, &out).expect("the uncorrupted run passes");
        out
    };
    // The first event of a kind about a slave's process.
    fn nth(out: &Outcome, kind: EventKind) -> usize {
        let events = &out.machine.bus.annotate.events;
        events
            .iter()
            .position(|e| e.kind == kind && e.args[0] != 0 && e.args[1] != 0)
            .unwrap()
    }
    // The last digit of a word of the first report.
    fn report_digit(out: &Outcome, word: usize) -> usize {
        out.output.find("#PROPS: ").unwrap() + 8 + 16 * word + 15
    }
    type Corruption = Box<dyn Fn(&mut Outcome)>;
    let corruptions: Vec<(&str, Corruption)> = vec![
        (
            "a result the model does not give",
            Box::new(|o| {
                let i = nth(o, EventKind::ServiceEnd);
                o.machine.bus.annotate.events[i].args[2] ^= 1;
            }),
        ),
        (
            "a request served on a slave",
            Box::new(|o| {
                let i = nth(o, EventKind::ServiceStart);
                o.machine.bus.annotate.events[i].hart = 1;
            }),
        ),
        (
            "an answer lost",
            Box::new(|o| {
                let i = nth(o, EventKind::ServiceEnd);
                o.machine.bus.annotate.events.remove(i);
            }),
        ),
        (
            "an answer to another hart",
            Box::new(|o| {
                let i = nth(o, EventKind::ServiceEnd);
                let e = &mut o.machine.bus.annotate.events[i];
                e.args[0] = 3 - e.args[0];
            }),
        ),
        (
            "a process resumed elsewhere",
            Box::new(|o| {
                let events = &mut o.machine.bus.annotate.events;
                let i = events.iter().position(|e| e.kind == EventKind::Resumed).unwrap();
                events[i].hart = 3 - events[i].hart;
                events[i].args[0] = events[i].hart as u64;
            }),
        ),
        (
            "a register changed across a call",
            Box::new(|o| {
                let at = report_digit(o, 2);
                o.output.replace_range(at..at + 1, "2");
            }),
        ),
        (
            "a0 not what the kernel answered",
            Box::new(|o| {
                let at = report_digit(o, 1);
                o.output.replace_range(at..at + 1, "7");
            }),
        ),
        (
            "a wrong exit status",
            Box::new(|o| {
                let events = &mut o.machine.bus.annotate.events;
                let i = events.iter().position(|e| e.kind == EventKind::ProcessExit).unwrap();
                events[i].args[1] = 1;
            }),
        ),
        ("a kernel panic", Box::new(|o| o.machine.bus.annotate.panicked = true)),
    ];
    for (what, corrupt) in corruptions {
        let mut out = fresh();
        corrupt(&mut out);
        assert!(
            check_run(&plans, &program, &cfg, &out).is_err(),
            "{what} went unnoticed"
        );
    }
}

#[test]
fn the_fifo_check_allows_only_overtaking_within_a_quantum() {
    // (posting event, hart, cycle); served in the order of `started`.
    let posted = [(10, 1, 1000), (11, 2, 1090), (12, 1, 5000)];
    assert!(check_fifo(&posted, &[10, 11, 12], 100).is_ok());
    assert!(
        check_fifo(&posted, &[11, 10, 12], 100).is_ok(),
        "overtaken within a quantum"
    );
    assert!(
        check_fifo(&posted, &[12, 10, 11], 100).is_err(),
        "overtaken from far later"
    );
    assert!(
        check_fifo(&posted, &[11, 12, 10], 10_000).is_err(),
        "a hart overtook itself"
    );
    assert!(check_fifo(&posted, &[10, 11], 100).is_err(), "a request never served");
}

/// Short slices and more processes than slaves do preempt processes and
/// move them between harts, so the register property is exercised where
/// it matters.
#[test]
fn short_slices_preempt_and_migrate_processes_and_registers_survive() {
    let pause = Step {
        call: Call::Pause,
        nops: 200,
    };
    let yield_now = Step {
        call: Call::Plain(SYS_SCHED_YIELD),
        nops: 50,
    };
    let plan = ProcPlan {
        steps: vec![pause.clone(), yield_now.clone(), pause.clone(), yield_now, pause],
        ending: Ending::Exit { code: 0, group: true },
    };
    // Five processes for two slaves: the round robin moves them around.
    let plans = vec![plan; 5];
    let cfg = RunCfg {
        harts: 3,
        master_runs_user: false,
        slice_ticks: Some(4),
        quantum: 100,
    };
    let program = generate(&plans, 42);
    let out = run(&program, &cfg);
    check_run(&plans, &program, &cfg, &out).unwrap();
    let events = &out.machine.bus.annotate.events;
    let timer_requests = events
        .iter()
        .filter(|e| e.kind == EventKind::RequestPosted && e.args[0] == 2)
        .count();
    let mut last_hart = BTreeMap::new();
    let mut migrations = 0;
    for e in events.iter().filter(|e| e.kind == EventKind::ProcessAssigned) {
        if last_hart.insert(e.args[1], e.args[0]).is_some_and(|h| h != e.args[0]) {
            migrations += 1;
        }
    }
    assert!(timer_requests >= 20, "only {timer_requests} preemptions");
    assert!(migrations >= 10, "only {migrations} migrations");
}
