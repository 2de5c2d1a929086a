//! The GDB server (docs/debugging.md): gdb-multiarch in batch mode against
//! `rvmsmp run --gdb`, and clients that misbehave. CI installs
//! gdb-multiarch (`cargo xtask ci`); elsewhere the gdb test skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{have, rvmsmp_bin};
use crate::kernel::program_path;

/// Starts rvmsmp with `--gdb 0` (any free port) and returns it with the
/// port it listens on, read from its first line on standard error.
fn start(args: &[&str]) -> (Child, u16, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(rvmsmp_bin())
        .args(args)
        .args(["--gdb", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in `{line}`"));
    (child, port, stderr)
}

/// Waits for rvmsmp to end: (status, stdout, the rest of stderr).
fn finish(mut child: Child, mut stderr: BufReader<std::process::ChildStderr>) -> (Option<i32>, String, String) {
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    (child.wait().unwrap().code(), out, err)
}

#[test]
fn gdb_multiarch_debugs_a_user_program_with_a_thread_per_hart() {
    if !have("gdb-multiarch") {
        return;
    }
    let hello = program_path("hello");
    let (child, port, stderr) = start(&["run", "--harts", "4", hello.to_str().unwrap()]);
    let gdb = Command::new("gdb-multiarch")
        .args(["-nx", "-batch"])
        .args(["-ex", "set pagination off"])
        .args(["-ex", &format!("target remote 127.0.0.1:{port}")])
        .args(["-ex", "info threads"])
        .args(["-ex", "break main"])
        .args(["-ex", "continue"])
        .args(["-ex", "stepi"])
        .args(["-ex", "info registers pc a0"])
        .args(["-ex", "p/x $sp"])
        .args(["-ex", "x/2xw $pc"])
        .args(["-ex", "p/x $mstatus"])
        .args(["-ex", "p $priv"])
        .args(["-ex", "set var $a5 = 0x1234"])
        .args(["-ex", "p/x $a5"])
        .args(["-ex", "monitor harts"])
        .args(["-ex", "detach"])
        .arg(&hello)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
    let (status, out, err) = finish(child, stderr);
    // Every hart is a thread.
    for k in 0..4 {
        assert!(
            text.contains(&format!("Thread 1.{} (hart {k}, M-mode) 0x0000000080000000", k + 1)),
            "{text}"
        );
    }
    // The breakpoint in the user program, hit by the first slave.
    assert!(text.contains("Breakpoint 1 at 0x"), "{text}");
    assert!(text.contains("Thread 2 hit Breakpoint 1, 0x"), "{text}");
    assert!(text.contains(" in main ()"), "{text}");
    // One step, then registers and memory as the hart sees them.
    let pc_line = text
        .lines()
        .find(|l| l.starts_with("pc "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(pc_line.contains("<main+"), "{pc_line}");
    assert!(text.lines().any(|l| l.starts_with("a0             0x1")), "{text}");
    assert!(text.contains("$1 = 0x3fffef"), "sp near the stack top: {text}");
    assert!(
        text.lines().any(|l| l.contains("<main+") && l.contains(":\t0x")),
        "{text}"
    );
    assert!(text.contains("$2 = 0xa0000"), "mstatus: {text}");
    assert!(text.contains("$3 = 0 '\\000'"), "priv (U): {text}");
    assert!(text.contains("$4 = 0x1234"), "{text}");
    assert!(text.contains("*  1  U-mode  user"), "monitor harts: {text}");
    assert!(text.contains("[Inferior 1 (process 1) detached]"), "{text}");
    // Detached: the run goes on to its end, unchanged.
    assert!(err.contains("gdb detached; the run goes on"), "{err}");
    assert_eq!(status, Some(0), "{err}");
    for k in 1..4 {
        assert!(out.contains(&format!("hello from pid {k} on hart {k}\n")), "{out}");
    }
}

#[test]
fn a_client_that_sends_garbage_or_disconnects_ends_the_session_cleanly() {
    let hello = program_path("hello");
    // Garbage, then the connection drops.
    let (child, port, stderr) = start(&["run", "--harts", "2", hello.to_str().unwrap()]);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    conn.write_all(b"\x00\xffgarbage$zz#00+++$qSupported#37").unwrap();
    let _ = conn.read(&mut [0; 256]);
    drop(conn);
    let (status, out, err) = finish(child, stderr);
    assert_eq!(status, Some(0), "{err}");
    assert!(out.contains("hello from pid 1 on hart 1"), "{out}");
    assert!(err.contains("the run goes on"), "{err}");

    // A client that connects and says nothing.
    let (child, port, stderr) = start(&["run", "--harts", "2", hello.to_str().unwrap()]);
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (status, out, err) = finish(child, stderr);
    assert_eq!(status, Some(0), "{err}");
    assert!(out.contains("hello from pid 1 on hart 1"), "{out}");
}

#[test]
fn gdb_listens_on_the_loopback_address_only() {
    let hello = program_path("hello");
    let (child, port, stderr) = start(&["run", hello.to_str().unwrap()]);
    // Whatever the host's other addresses, the socket is bound to 127.0.0.1.
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    if !listening.is_empty() {
        assert!(listening.contains(&local), "not on 127.0.0.1:{port}");
    }
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let (status, _, err) = finish(child, stderr);
    assert_eq!(status, Some(0), "{err}");
}

#[test]
fn an_endless_packet_drops_the_connection_instead_of_growing_memory() {
    let hello = program_path("hello");
    let (child, port, stderr) = start(&["run", "--harts", "2", hello.to_str().unwrap()]);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    // A packet that never ends: past the packet buffer, the server hangs up
    // (a write then fails) and the run goes on to its end.
    let _ = conn.write_all(b"$");
    let chunk = [b'a'; 4096];
    for _ in 0..(2 * rvmsmp::debug::gdb::PACKET_BUFFER / chunk.len()) {
        if conn.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(conn);
    let (status, out, err) = finish(child, stderr);
    assert_eq!(status, Some(0), "{err}");
    assert!(out.contains("hello from pid 1 on hart 1"), "{out}");
    assert!(err.contains("oversized packet"), "{err}");
}
