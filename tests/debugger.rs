//! The debugger's prompt, scripted through a pipe (docs/debugging.md): a
//! session that follows a system call from a slave to the master and back,
//! bad input answered with one-line errors, and the guarantee that a
//! debugger or a trace that takes no stop changes nothing in the run.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::rvmsmp_bin;
use crate::kernel::program_path;

/// Runs rvmsmp with `args`, feeding `script` to its standard input.
fn rvmsmp(args: &[&str], script: &str) -> Output {
    let stdin = if script.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    };
    let mut child = Command::new(rvmsmp_bin())
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut input) = child.stdin.take() {
        input.write_all(script.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The value after `key` in a line, as a number.
fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("no `{key}` in {line}")) + key.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

const FOLLOW_A_SYSTEM_CALL: &str = "\
break ecall hart 3
continue
delete
break serve hart 3
continue
step 5
harts
break answer hart 3
continue
route 3
delete
continue
";

#[test]
fn a_scripted_session_follows_a_system_call_to_the_master_and_back() {
    let hello = program_path("hello");
    let args = ["run", "--harts", "8", "--debug", hello.to_str().unwrap()];
    let out = rvmsmp(&args, FOLLOW_A_SYSTEM_CALL);
    let transcript = text(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\n{transcript}\n{}",
        out.status,
        text(&out.stderr)
    );
    let lines: Vec<&str> = transcript.lines().collect();
    let find = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting `{prefix}` in:\n{transcript}"))
    };
    // Commands are echoed after the prompt, so the output is a transcript.
    assert!(lines[0].starts_with("rvmsmp debugger: 8 harts"));
    assert!(transcript.contains("(rvmsmp) break ecall hart 3\nbreakpoint 1: any ecall from U-mode on hart 3\n"));

    // The first ecall of hart 3: cause, tval, epc, and where it goes.
    let ecall = lines[find("hart 3: breakpoint 1: trap at cycle ")];
    let c1 = number_after(ecall, "trap at cycle");
    assert!(
        ecall.contains("environment call from U-mode (cause 8), tval 0x0, epc 0x"),
        "{ecall}"
    );
    assert!(ecall.ends_with("U-mode -> S-mode"), "{ecall}");
    let syscall = lines[find("  system call ")];
    assert!(syscall.contains(&format!("raised on hart 3 at cycle {c1}, to be forwarded to hart 0")));
    assert!(lines[find("=> hart 3 S-mode")].contains("csrrw a0, sscratch, a0"));

    // The master takes it: the route so far.
    let taken = lines[find("hart 0: breakpoint 2: takes the request of hart 3 at cycle ")];
    let c2 = number_after(taken, "at cycle");
    let route = lines[find("  route: ")];
    assert!(
        route.contains(&format!(
            "from hart 3 (pid 3): raised on hart 3 at cycle {c1}, posted at cycle "
        )),
        "{route}"
    );
    assert!(
        route.contains(&format!("taken by hart 0 at cycle {c2}, not yet answered")),
        "{route}"
    );
    assert!(c2 > c1);

    // Stepping the master: five instructions of hart 0, in the kernel.
    let step = find("(rvmsmp) step 5");
    assert!(
        lines[step + 1].starts_with("=> hart 0 S-mode 0x"),
        "{}",
        lines[step + 1]
    );
    let harts = find("(rvmsmp) harts");
    assert!(
        lines[harts + 1].starts_with("*  0  S-mode  kernel"),
        "{}",
        lines[harts + 1]
    );
    assert!(transcript.contains("       serving: system call"));

    // The answer, and the whole route.
    let answered = lines[find("hart 0: breakpoint 3: answers the request of hart 3 at cycle ")];
    let c3 = number_after(answered, "at cycle");
    assert!(c3 > c2);
    let full = lines[find("(rvmsmp) route 3") + 1];
    assert!(
        full.contains(&format!(
            "raised on hart 3 at cycle {c1}, posted at cycle {}, taken by hart 0 at cycle {c2}, answered at cycle {c3} (result ",
            number_after(full, "posted at cycle")
        )),
        "{full}"
    );

    // Then on to the end: the program's output and the exit.
    for k in 1..8 {
        assert!(transcript.contains(&format!("hello from pid {k} on hart {k}\n")));
    }
    assert!(lines[find("the run has ended at cycle ")].ends_with("the guest powered off (exit status 0)"));

    // The same script gives the same transcript.
    assert_eq!(text(&rvmsmp(&args, FOLLOW_A_SYSTEM_CALL).stdout), transcript);
}

#[test]
fn bad_input_gets_one_line_errors() {
    let hello = program_path("hello");
    let script = "\
frobnicate
hart 8
hart -1
break nosuch_symbol
break trap 99
break ecall hart 12
x 0x10 8
x 0xzz
disasm 0x4 2
csr nosuch
watch
step 0

regs
quit
";
    let out = rvmsmp(&["run", "--harts", "8", "--debug", hello.to_str().unwrap()], script);
    let transcript = text(&out.stdout);
    let errors: Vec<&str> = transcript.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 12, "{transcript}");
    assert!(errors.contains(&"error: unknown command `frobnicate` (try `help`)"));
    assert!(errors.contains(&"error: no hart 8: the machine has harts 0 to 7"));
    assert!(errors.contains(&"error: no symbol `nosuch_symbol`"));
    assert!(errors.contains(&"error: cannot read 0x10: not mapped to RAM on hart 0"));
    // The prompt goes on after every error; quit ends the run early.
    assert!(transcript.contains("(rvmsmp) regs\nhart 0  pc 0x80000000"));
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
}

#[test]
fn breakpoints_on_symbols_watchpoints_and_backtraces() {
    let hello = program_path("hello");
    let script = "\
break user:main
continue
bt
disasm pc 2
next
watch sp 32
continue
delete
quit
";
    let out = rvmsmp(&["run", "--harts", "2", "--debug", hello.to_str().unwrap()], script);
    let transcript = text(&out.stdout);
    assert!(transcript.contains("breakpoint 1 at 0x"), "{transcript}");
    assert!(transcript.contains("hart 1: breakpoint 1 at 0x"), "{transcript}");
    assert!(transcript.contains("<main>\n=> hart 1 U-mode"), "{transcript}");
    assert!(transcript.contains("(rvmsmp) bt\n#0  0x"), "{transcript}");
    assert!(transcript.contains("=> 0x"), "{transcript}");
    assert!(transcript.contains(": watchpoint 2: "), "{transcript}");
}

/// Runs `args` and returns (stdout, stderr) with the debugger's own lines
/// taken out of stdout.
fn plain_output(out: &Output) -> (String, String) {
    let stdout = text(&out.stdout)
        .lines()
        .filter(|l| {
            !(l.starts_with("(rvmsmp)")
                || l.starts_with("rvmsmp debugger:")
                || l.starts_with("=> ")
                || l.starts_with("the run has ended")
                || l.starts_with("end of input")
                || l.starts_with("breakpoint ")
                || l.starts_with("deleted ")
                || l.starts_with("error: the run has ended"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    (stdout, text(&out.stderr))
}

#[test]
fn a_debugger_that_takes_no_stop_changes_nothing() {
    let prog = program_path("syscall_mix");
    let base = [
        "run",
        "--harts",
        "6",
        "--stats",
        prog.to_str().unwrap(),
        "-k",
        "3",
        "-r",
        "10",
    ];
    let plain = plain_output(&rvmsmp(&base, ""));
    assert!(plain.1.contains("master utilisation"), "{}", plain.1);
    let with = |extra: &[&str], script: &str| {
        let mut args: Vec<&str> = base[..1].to_vec();
        args.extend(extra);
        args.extend(&base[1..]);
        plain_output(&rvmsmp(&args, script))
    };
    let dir = std::env::temp_dir();
    let traps = dir.join(format!("rvmsmp-nh-traps-{}", std::process::id()));
    let insns = dir.join(format!("rvmsmp-nh-insns-{}", std::process::id()));
    let (t, i) = (traps.to_str().unwrap(), insns.to_str().unwrap());
    // Same output, same statistics (every cycle count), to the byte.
    assert_eq!(with(&["--debug"], "continue\n"), plain);
    assert_eq!(with(&["--debug"], "break trap mti hart 5\ndelete\ncontinue\n"), plain);
    assert_eq!(with(&["--debug"], ""), plain);
    assert_eq!(with(&["--trace", "traps", t, "--trace", "insns", i], ""), plain);
    let trap_lines = std::fs::read_to_string(&traps).unwrap();
    assert!(trap_lines
        .lines()
        .any(|l| l.contains(" U->S exception 8 (environment call from U-mode) epc ")));
    assert!(trap_lines.lines().any(|l| l.contains(" ipi -> hart ")));
    let _ = std::fs::remove_file(&traps);
    let _ = std::fs::remove_file(&insns);
}

#[test]
fn a_stop_resumes_exactly_where_it_was() {
    // Many stops (every 1000th instruction of the master) and the same run.
    let prog = program_path("hello");
    let base = ["run", "--harts", "4", "--stats", prog.to_str().unwrap()];
    let plain = plain_output(&rvmsmp(&base, ""));
    let script = "hart 0\n".to_string() + &"step 1000\n".repeat(100) + "continue\n";
    let mut args = vec!["run", "--debug"];
    args.extend(&base[1..]);
    assert_eq!(plain_output(&rvmsmp(&args, &script)), plain);
}
