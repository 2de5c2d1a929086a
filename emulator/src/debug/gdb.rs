//! The GDB remote server (`--gdb PORT` or `--gdb PATH`), with the gdbstub
//! crate and gdbstub_arch's RISC-V 64 registers: each hart is a thread
//! (thread id = hart + 1). The target description adds the FPU and every
//! CSR the hart implements, so gdb can show `$mstatus` or `$fa0`. Memory is
//! read and written through the thread's MMU, as the hart sees it.
//!
//! The machine runs on this thread between gdb's requests, peeking at the
//! connection every few rounds for an interrupt (Ctrl-C). Every hart runs
//! when gdb resumes any (stepping one hart lets the others run as the
//! schedule says): the schedule is never changed by the debugger.
//!
//! When gdb detaches or the connection fails (a client that disconnects or
//! sends garbage), the debugger's breakpoints go and the run goes on to its
//! end; `kill` ends the run at once.

use std::net::TcpListener;
#[cfg(unix)]
use std::os::unix::net::UnixListener;

use gdbstub::common::{Signal, Tid};
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStubBuilder, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{SingleRegisterAccess, SingleRegisterAccessOps};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint,
    SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::ext::monitor_cmd::{outputln, ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::riscv::reg::id::RiscvRegId;
use gdbstub_arch::riscv::reg::RiscvCoreRegs;
use gdbstub_arch::riscv::Riscv64;

use super::command::{self, Command};
use super::csr_names;
use super::debugger::{Kind, Origin, Stop, WatchKind};
use super::disasm::{ABI, FABI};
use super::mem::{self, View};
use super::repl::Ending;
use super::session::{Flow, Session};
use crate::error::EmuError;
use crate::machine::{exit_status, RunOutcome};

/// Rounds run between two looks at the connection.
const ROUNDS_PER_POLL: u64 = 64;

/// The register number gdb gives CSR `n` (gdbstub_arch's numbering).
const CSR_REGNUM_BASE: usize = 65;
const PRIV_REGNUM: usize = 4161;

fn tid_of(hart: usize) -> Tid {
    Tid::new(hart + 1).expect("hart + 1 is not zero")
}

struct GdbTarget<'s, 'm> {
    session: &'s mut Session<'m>,
    /// The hart gdb asked to single-step, if any.
    step: Option<usize>,
    xml: String,
}

impl GdbTarget<'_, '_> {
    fn hart_of(&self, tid: Tid) -> Result<usize, TargetError<String>> {
        let h = tid.get() - 1;
        if h < self.session.machine.harts.len() {
            Ok(h)
        } else {
            Err(TargetError::NonFatal)
        }
    }
}

/// The target description: gdbstub_arch's integer registers, the FPU, the
/// CSRs and the privilege, numbered as gdbstub_arch's `RiscvRegId` reads them.
fn target_xml() -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n\
         <architecture>riscv:rv64</architecture>\n<feature name=\"org.gnu.gdb.riscv.cpu\">\n",
    );
    for (i, name) in ABI.iter().enumerate() {
        let ty = match i {
            1 => "code_ptr",
            2 | 3 | 4 | 8 => "data_ptr",
            _ => "int",
        };
        x += &format!("  <reg name=\"{name}\" bitsize=\"64\" type=\"{ty}\" regnum=\"{i}\"/>\n");
    }
    x += "  <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/>\n</feature>\n";
    x += "<feature name=\"org.gnu.gdb.riscv.fpu\">\n  <union id=\"riscv_double\">\n    \
          <field name=\"float\" type=\"ieee_single\"/>\n    <field name=\"double\" type=\"ieee_double\"/>\n  </union>\n";
    for (i, name) in FABI.iter().enumerate() {
        x += &format!(
            "  <reg name=\"{name}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{}\"/>\n",
            33 + i
        );
    }
    for (n, name) in [(1, "fflags"), (2, "frm"), (3, "fcsr")] {
        x += &format!(
            "  <reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{}\" group=\"float\"/>\n",
            CSR_REGNUM_BASE + n
        );
    }
    x += "</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n";
    for (n, name) in csr_names::all() {
        if n <= 3 {
            continue;
        }
        x += &format!(
            "  <reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{}\" group=\"csr\"/>\n",
            CSR_REGNUM_BASE + n as usize
        );
    }
    x += &format!(
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n  \
         <reg name=\"priv\" bitsize=\"8\" type=\"int\" regnum=\"{PRIV_REGNUM}\" group=\"general\"/>\n</feature>\n</target>\n"
    );
    x
}

impl Target for GdbTarget<'_, '_> {
    type Arch = Riscv64;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(&mut self) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for GdbTarget<'_, '_> {
    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<u64>, tid: Tid) -> TargetResult<(), Self> {
        let h = &self.session.machine.harts[self.hart_of(tid)?];
        regs.x = h.x;
        regs.pc = h.pc;
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<u64>, tid: Tid) -> TargetResult<(), Self> {
        let k = self.hart_of(tid)?;
        let h = &mut self.session.machine.harts[k];
        h.x[1..].copy_from_slice(&regs.x[1..]);
        h.pc = regs.pc;
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], tid: Tid) -> TargetResult<usize, Self> {
        let k = self.hart_of(tid)?;
        let h = &self.session.machine.harts[k];
        let bus = &self.session.machine.bus;
        let mut n = 0;
        for (i, byte) in data.iter_mut().enumerate() {
            match mem::read_virt(h, bus, start.wrapping_add(i as u64), 1, View::Data) {
                Some(b) => *byte = b[0],
                None => break,
            }
            n += 1;
        }
        if n == 0 && !data.is_empty() {
            return Err(TargetError::Errno(14));
        }
        Ok(n)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], tid: Tid) -> TargetResult<(), Self> {
        let k = self.hart_of(tid)?;
        let machine = &mut *self.session.machine;
        let h = &machine.harts[k];
        mem::write_virt(h, &mut machine.bus, start, data).ok_or(TargetError::Errno(14))
    }

    fn list_active_threads(&mut self, register_thread: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        for k in 0..self.session.machine.harts.len() {
            register_thread(tid_of(k));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for GdbTarget<'_, '_> {
    fn read_register(&mut self, tid: Tid, reg: RiscvRegId<u64>, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let k = self.hart_of(tid)?;
        let h = &self.session.machine.harts[k];
        let value = match reg {
            RiscvRegId::Gpr(i) => h.x[i as usize & 31],
            RiscvRegId::Fpr(i) => h.f[i as usize & 31],
            RiscvRegId::Pc => h.pc,
            RiscvRegId::Csr(n) if csr_names::name(n).is_some() => h.csr_read(&self.session.machine.bus, n),
            RiscvRegId::Csr(_) => return Ok(0),
            RiscvRegId::Priv => {
                buf[0] = h.prv as u8;
                return Ok(1);
            }
            _ => return Ok(0),
        };
        let bytes = value.to_le_bytes();
        let n = buf.len().min(8);
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn write_register(&mut self, tid: Tid, reg: RiscvRegId<u64>, val: &[u8]) -> TargetResult<(), Self> {
        let k = self.hart_of(tid)?;
        let mut bytes = [0u8; 8];
        let n = val.len().min(8);
        bytes[..n].copy_from_slice(&val[..n]);
        let value = u64::from_le_bytes(bytes);
        let h = &mut self.session.machine.harts[k];
        match reg {
            RiscvRegId::Gpr(0) => {}
            RiscvRegId::Gpr(i) => h.x[i as usize & 31] = value,
            RiscvRegId::Fpr(i) => h.f[i as usize & 31] = value,
            RiscvRegId::Pc => h.pc = value,
            RiscvRegId::Csr(n) if csr_names::name(n).is_some() => h.csr_write(n, value),
            _ => return Err(TargetError::NonFatal),
        }
        Ok(())
    }
}

impl MultiThreadResume for GdbTarget<'_, '_> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        self.session.debugger.goal = self.step.map(|hart| super::debugger::Goal::Steps { hart, left: 1 });
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.step = None;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSchedulerLocking for GdbTarget<'_, '_> {
    /// gdb steps one thread and leaves the others stopped; here the other
    /// harts still run as the schedule says (freezing them would change
    /// the run), and the step ends when the stepped hart has moved.
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl MultiThreadSingleStep for GdbTarget<'_, '_> {
    fn set_resume_action_step(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        let h = tid.get() - 1;
        if h >= self.session.machine.harts.len() {
            return Err(format!("no thread {}", tid.get()));
        }
        self.step = Some(h);
        Ok(())
    }
}

impl Breakpoints for GdbTarget<'_, '_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl GdbTarget<'_, '_> {
    fn add(&mut self, kind: Kind, origin: Origin) -> bool {
        self.session.debugger.add(kind, origin);
        true
    }

    fn remove(&mut self, kind: Kind, origin: Origin) -> bool {
        let mut once = false;
        self.session.debugger.remove_where(|b| {
            let hit = !once && b.kind == kind && b.origin == origin;
            once |= hit;
            hit
        }) > 0
    }
}

impl SwBreakpoint for GdbTarget<'_, '_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.add(Kind::At(addr), Origin::GdbSoftware))
    }
    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove(Kind::At(addr), Origin::GdbSoftware))
    }
}

impl HwBreakpoint for GdbTarget<'_, '_> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.add(Kind::At(addr), Origin::GdbHardware))
    }
    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove(Kind::At(addr), Origin::GdbHardware))
    }
}

fn watch_kind(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::Access,
    }
}

impl HwWatchpoint for GdbTarget<'_, '_> {
    fn add_hw_watchpoint(&mut self, addr: u64, len: u64, kind: GdbWatchKind) -> TargetResult<bool, Self> {
        let kind = Kind::Watch {
            addr,
            len: len.max(1),
            kind: watch_kind(kind),
        };
        Ok(self.add(kind, Origin::GdbHardware))
    }
    fn remove_hw_watchpoint(&mut self, addr: u64, len: u64, kind: GdbWatchKind) -> TargetResult<bool, Self> {
        let kind = Kind::Watch {
            addr,
            len: len.max(1),
            kind: watch_kind(kind),
        };
        Ok(self.remove(kind, Origin::GdbHardware))
    }
}

impl MonitorCmd for GdbTarget<'_, '_> {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Self::Error> {
        let text = String::from_utf8_lossy(cmd);
        let parsed = match command::parse(&text) {
            Ok(Command::Step(_) | Command::Next | Command::Continue | Command::Quit) => {
                outputln!(
                    out,
                    "error: run the machine with gdb's own commands (stepi, continue, kill)"
                );
                return Ok(());
            }
            Ok(c) => c,
            Err(e) => {
                outputln!(out, "error: {e}");
                return Ok(());
            }
        };
        match self.session.execute(&parsed) {
            (Flow::Stay, Ok(t)) if !t.is_empty() => outputln!(out, "{t}"),
            (_, Err(e)) => outputln!(out, "error: {e}"),
            _ => {}
        }
        Ok(())
    }
}

impl TargetDescriptionXmlOverride for GdbTarget<'_, '_> {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let xml = self.xml.as_bytes();
        let start = (offset as usize).min(xml.len());
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

impl ThreadExtraInfo for GdbTarget<'_, '_> {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let k = tid.get() - 1;
        let Some(h) = self.session.machine.harts.get(k) else {
            return Ok(0);
        };
        let info = format!(
            "hart {k}, {}-mode{}",
            h.prv.letter(),
            if h.waiting { ", in WFI" } else { "" }
        );
        let n = info.len().min(buf.len());
        buf[..n].copy_from_slice(&info.as_bytes()[..n]);
        Ok(n)
    }
}

type Conn = Box<dyn ConnectionExt<Error = std::io::Error>>;

impl<'s, 'm: 's> run_blocking::BlockingEventLoop for EventLoopFor<'s, 'm> {
    type Target = GdbTarget<'s, 'm>;
    type Connection = Conn;
    type StopReason = MultiThreadStopReason<u64>;

    #[allow(clippy::type_complexity)]
    fn wait_for_stop_reason(
        target: &mut Self::Target,
        conn: &mut Self::Connection,
    ) -> Result<
        run_blocking::Event<Self::StopReason>,
        run_blocking::WaitForStopReasonError<<Self::Target as Target>::Error, <Self::Connection as Connection>::Error>,
    > {
        loop {
            match target.session.resume(Some(ROUNDS_PER_POLL)) {
                RunOutcome::Paused => {
                    if conn.peek().map(|b| b.is_some()).unwrap_or(true) {
                        let byte = conn.read().map_err(run_blocking::WaitForStopReasonError::Connection)?;
                        return Ok(run_blocking::Event::IncomingData(byte));
                    }
                }
                RunOutcome::Exited(reason) => {
                    return Ok(run_blocking::Event::TargetStopped(MultiThreadStopReason::Exited(
                        exit_status(reason),
                    )))
                }
                RunOutcome::Stopped { .. } => {
                    let stop = target.session.debugger.stop.clone();
                    return Ok(run_blocking::Event::TargetStopped(stop_reason(target, stop)));
                }
            }
        }
    }

    fn on_interrupt(target: &mut Self::Target) -> Result<Option<Self::StopReason>, <Self::Target as Target>::Error> {
        target.session.mark_interrupted();
        Ok(Some(MultiThreadStopReason::SignalWithThread {
            tid: tid_of(target.session.selected),
            signal: Signal::SIGINT,
        }))
    }
}

/// The event loop, tied to the target's lifetimes.
struct EventLoopFor<'s, 'm>(std::marker::PhantomData<(&'s (), &'m ())>);

fn stop_reason(target: &GdbTarget, stop: Option<Stop>) -> MultiThreadStopReason<u64> {
    let trap = |hart: usize| MultiThreadStopReason::SignalWithThread {
        tid: tid_of(hart),
        signal: Signal::SIGTRAP,
    };
    match stop {
        Some(Stop::Breakpoint { id, hart, .. }) => {
            let origin = target
                .session
                .debugger
                .breakpoints
                .iter()
                .find(|b| b.id == id)
                .map(|b| b.origin);
            if origin == Some(Origin::GdbHardware) {
                MultiThreadStopReason::HwBreak(tid_of(hart))
            } else {
                MultiThreadStopReason::SwBreak(tid_of(hart))
            }
        }
        Some(Stop::Watch { id, hart, va, .. }) => {
            let kind = target
                .session
                .debugger
                .breakpoints
                .iter()
                .find_map(|b| match (b.id == id, &b.kind) {
                    (true, Kind::Watch { kind, .. }) => Some(*kind),
                    _ => None,
                });
            let kind = match kind {
                Some(WatchKind::Read) => GdbWatchKind::Read,
                Some(WatchKind::Access) => GdbWatchKind::ReadWrite,
                _ => GdbWatchKind::Write,
            };
            MultiThreadStopReason::Watch {
                tid: tid_of(hart),
                kind,
                addr: va,
            }
        }
        Some(stop) => trap(stop.hart()),
        None => trap(target.session.selected),
    }
}

/// The longest packet gdb may send, in bytes (told to gdb as PacketSize).
pub const PACKET_BUFFER: usize = 64 << 10;

/// Waits for gdb on `address` (a port on 127.0.0.1, or a Unix socket
/// path), then serves it until it detaches, kills the run, or the run ends.
pub fn serve(session: &mut Session, address: &str) -> Result<Ending, EmuError> {
    let conn: Conn = if let Ok(port) = address.parse::<u16>() {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| EmuError::Config(format!("--gdb {address}: cannot listen on 127.0.0.1:{port}: {e}")))?;
        let bound = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        eprintln!("rvmsmp: waiting for gdb on 127.0.0.1:{bound} (target remote :{bound})");
        let (stream, _) = listener
            .accept()
            .map_err(|e| EmuError::Config(format!("--gdb {address}: {e}")))?;
        let _ = stream.set_nodelay(true);
        Box::new(stream)
    } else {
        unix_connection(address)?
    };
    let mut target = GdbTarget {
        session,
        step: None,
        xml: target_xml(),
    };
    // A fixed buffer: a packet longer than it ends the connection (an
    // error below) instead of growing host memory without bound.
    let mut packet_buffer = vec![0; PACKET_BUFFER];
    let stub = GdbStubBuilder::new(conn)
        .with_packet_buffer(&mut packet_buffer)
        .build()
        .map_err(|e| EmuError::Config(format!("--gdb {address}: {e}")))?;
    let result = stub.run_blocking::<EventLoopFor>(&mut target);
    let session = target.session;
    match result {
        Ok(DisconnectReason::Kill) => {
            eprintln!("rvmsmp: gdb killed the run");
            Ok(match session.exited {
                Some(reason) => Ending::Exited(reason),
                None => Ending::Quit,
            })
        }
        Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => {
            Ok(Ending::Exited(session.exited.unwrap_or_else(|| session.run_to_end())))
        }
        Ok(DisconnectReason::Disconnect) => {
            eprintln!("rvmsmp: gdb detached; the run goes on");
            session.detach();
            Ok(Ending::Exited(session.run_to_end()))
        }
        Err(e) => {
            eprintln!("rvmsmp: gdb: {e}; the debugger detaches and the run goes on");
            session.detach();
            Ok(Ending::Exited(session.run_to_end()))
        }
    }
}

#[cfg(unix)]
fn unix_connection(address: &str) -> Result<Conn, EmuError> {
    use std::os::unix::fs::FileTypeExt;
    let path = address.strip_prefix("unix:").unwrap_or(address);
    if !path.contains('/') && !address.starts_with("unix:") {
        return Err(EmuError::Config(format!(
            "--gdb {address}: expected a TCP port (1-65535) or a Unix socket path"
        )));
    }
    // A stale socket from an earlier run is replaced; any other file is not.
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
    let listener =
        UnixListener::bind(path).map_err(|e| EmuError::Config(format!("--gdb {address}: cannot listen: {e}")))?;
    eprintln!("rvmsmp: waiting for gdb on {path} (target remote {path})");
    let (stream, _) = listener
        .accept()
        .map_err(|e| EmuError::Config(format!("--gdb {address}: {e}")))?;
    Ok(Box::new(stream))
}

#[cfg(not(unix))]
fn unix_connection(address: &str) -> Result<Conn, EmuError> {
    Err(EmuError::Config(format!(
        "--gdb {address}: expected a TCP port (1-65535)"
    )))
}
