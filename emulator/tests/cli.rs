//! The `rvmsmp` command line: help text, and every kind of bad input gets a
//! one-line error naming the file and the problem, with exit status 2.
//! Malformed ELF files are made here, byte by byte, so nothing binary is
//! committed for these tests.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rvmsmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(args)
        .output()
        .expect("rvmsmp runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch file holding `bytes`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!("rvmsmp-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Fields of a minimal ELF64 file with one program header.
struct ElfSpec {
    class: u8,
    data: u8,
    machine: u16,
    entry: u64,
    p_type: u32,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

const EM_RISCV: u16 = 243;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;

impl Default for ElfSpec {
    fn default() -> Self {
        ElfSpec {
            class: 2,
            data: 1,
            machine: EM_RISCV,
            entry: 0x8000_0000,
            p_type: PT_LOAD,
            paddr: 0x8000_0000,
            filesz: 8,
            memsz: 8,
        }
    }
}

/// Lays out an ELF64 header, one program header and 8 bytes of code
/// (`li a0, 0` twice as a stand-in; the tests never run it).
fn elf(spec: ElfSpec) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF");
    b.extend_from_slice(&[spec.class, spec.data, 1, 0]);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&spec.machine.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&spec.entry.to_le_bytes());
    b.extend_from_slice(&64u64.to_le_bytes()); // phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    b.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    b.extend_from_slice(&56u16.to_le_bytes()); // phentsize
    b.extend_from_slice(&1u16.to_le_bytes()); // phnum
    b.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    b.extend_from_slice(&0u16.to_le_bytes()); // shnum
    b.extend_from_slice(&0u16.to_le_bytes()); // shstrndx
    assert_eq!(b.len(), 64);
    b.extend_from_slice(&spec.p_type.to_le_bytes());
    b.extend_from_slice(&5u32.to_le_bytes()); // R + X
    b.extend_from_slice(&120u64.to_le_bytes()); // offset of the code
    b.extend_from_slice(&spec.paddr.to_le_bytes()); // vaddr
    b.extend_from_slice(&spec.paddr.to_le_bytes());
    b.extend_from_slice(&spec.filesz.to_le_bytes());
    b.extend_from_slice(&spec.memsz.to_le_bytes());
    b.extend_from_slice(&8u64.to_le_bytes()); // align
    assert_eq!(b.len(), 120);
    b.extend_from_slice(&0x0000_0513u32.to_le_bytes().repeat(2));
    b
}

/// Runs `rvmsmp bare` on `bytes` and checks exit status 2 and a one-line
/// error naming the file and containing `problem`.
fn assert_refused(name: &str, bytes: &[u8], problem: &str) {
    let file = TempFile::new(name, bytes);
    let out = rvmsmp(&["bare", file.path()]);
    assert_refused_output(&out, file.path(), problem);
}

fn assert_refused_output(out: &Output, path: &str, problem: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
    assert!(err.starts_with("rvmsmp: error: "), "{err}");
    assert!(err.contains(path), "the error must name the file: {err}");
    assert!(err.contains(problem), "expected {problem:?} in: {err}");
}

#[test]
fn a_valid_minimal_elf_is_accepted() {
    // The control for the tests below: the same builder with nothing broken
    // gives a file that loads (it then runs into unmapped memory forever,
    // so it is stopped by --max-cycles).
    let file = TempFile::new("valid.elf", &elf(ElfSpec::default()));
    let out = rvmsmp(&["bare", "--max-cycles", "5000", file.path()]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
}

#[test]
fn missing_file() {
    let out = rvmsmp(&["bare", "/nonexistent/prog.elf"]);
    assert_refused_output(&out, "/nonexistent/prog.elf", "cannot read");
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = std::env::temp_dir();
    let out = rvmsmp(&["bare", dir.to_str().unwrap()]);
    assert_refused_output(&out, dir.to_str().unwrap(), "is a directory");
}

#[test]
fn not_an_elf() {
    assert_refused("text.elf", b"#!/bin/sh\necho hello\n", "not an ELF file");
    assert_refused("empty.elf", b"", "not an ELF file");
}

#[test]
fn a_32_bit_elf_is_refused() {
    assert_refused(
        "rv32.elf",
        &elf(ElfSpec {
            class: 1,
            ..ElfSpec::default()
        }),
        "32-bit",
    );
}

#[test]
fn a_big_endian_elf_is_refused() {
    assert_refused(
        "be.elf",
        &elf(ElfSpec {
            data: 2,
            ..ElfSpec::default()
        }),
        "big-endian",
    );
}

#[test]
fn an_elf_for_another_machine_is_refused() {
    assert_refused(
        "x86.elf",
        &elf(ElfSpec {
            machine: EM_X86_64,
            ..ElfSpec::default()
        }),
        "not RISC-V",
    );
}

#[test]
fn an_elf_without_loadable_segments_is_refused() {
    assert_refused(
        "noload.elf",
        &elf(ElfSpec {
            p_type: PT_NOTE,
            ..ElfSpec::default()
        }),
        "no loadable",
    );
}

#[test]
fn a_truncated_elf_is_refused() {
    let bytes = elf(ElfSpec {
        filesz: 4096,
        memsz: 4096,
        ..ElfSpec::default()
    });
    assert_refused("truncated.elf", &bytes, "truncated");
    let header_only = &elf(ElfSpec::default())[..40];
    assert_refused("cut.elf", header_only, "malformed ELF");
}

#[test]
fn a_segment_outside_ram_is_refused() {
    let bytes = elf(ElfSpec {
        paddr: 0x1000,
        ..ElfSpec::default()
    });
    assert_refused("low.elf", &bytes, "lies outside RAM");
    // Inside RAM at the start, but running past its end with --mem 1.
    let file = TempFile::new(
        "big.elf",
        &elf(ElfSpec {
            memsz: 2 << 20,
            ..ElfSpec::default()
        }),
    );
    let out = rvmsmp(&["bare", "--mem", "1", file.path()]);
    assert_refused_output(&out, file.path(), "lies outside RAM");
}

#[test]
fn an_entry_outside_ram_is_refused() {
    assert_refused(
        "entry.elf",
        &elf(ElfSpec {
            entry: 0x1000,
            ..ElfSpec::default()
        }),
        "entry point 0x1000 lies outside RAM",
    );
}

#[test]
fn zero_harts_is_refused() {
    let file = TempFile::new("harts.elf", &elf(ElfSpec::default()));
    let out = rvmsmp(&["bare", "--harts", "0", file.path()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--harts 0"), "{err}");
}

#[test]
fn too_many_harts_is_refused() {
    let file = TempFile::new("harts513.elf", &elf(ElfSpec::default()));
    let out = rvmsmp(&["bare", "--harts", "513", file.path()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1 to 512 harts"), "{}", stderr(&out));
}

#[test]
fn max_cycles_names_each_harts_pc_and_has_its_own_status() {
    let file = TempFile::new("runaway.elf", &elf(ElfSpec::default()));
    let out = rvmsmp(&["bare", "--harts", "3", "--max-cycles", "10000", file.path()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(err.contains("--max-cycles"), "{err}");
    for hart in 0..3 {
        assert!(err.contains(&format!("hart {hart} at pc 0x")), "{err}");
    }
}

#[test]
fn top_level_help_explains_the_commands() {
    let out = rvmsmp(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bare"), "{text}");
    assert!(text.contains("Exit status"), "{text}");
}

#[test]
fn bare_help_explains_every_option() {
    let out = rvmsmp(&["bare", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for option in ["--harts", "--mem", "--max-cycles", "--quantum", "--stats", "PROG.elf"] {
        assert!(text.contains(option), "{option} missing from help:\n{text}");
    }
    // Every option comes with an explanation, not just its name.
    assert!(text.contains("a0 = the hart id"), "{text}");
    assert!(
        text.contains("host memory is used only for pages the guest touches"),
        "{text}"
    );
    assert!(text.contains("exit status 124"), "{text}");
}

fn program(name: &str) -> String {
    format!("{}/../programs/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_hello_on_8_harts() {
    let out = rvmsmp(&["run", "--harts", "8", &program("hello")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 7, "{text}");
}

fn rvmsmp_os(args: &[&std::ffi::OsStr], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rvmsmp starts");
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("rvmsmp runs");
    writer.join().unwrap();
    out
}

/// What programs/args.c prints for one entry.
fn shown(list: &str, i: usize, entry: &[u8]) -> Vec<u8> {
    [format!("{list}[{i}] {}: ", entry.len()).as_bytes(), entry, b"\n"].concat()
}

#[test]
fn arguments_and_environment_arrive_byte_for_byte() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let prog = program("args");
    let big = vec![b'z'; 100 << 10];
    let args: Vec<&[u8]> = vec![b"a \"b\" 'c'", b"", b"q\xff\xfez", &big, &big];
    for command in ["run", "sweep"] {
        let mut argv: Vec<&OsStr> = vec![OsStr::new(command)];
        let out_dir = std::env::temp_dir().join(format!("rvmsmp-args-{}", std::process::id()));
        if command == "sweep" {
            argv.extend(["--harts", "1..1", "--out"].map(OsStr::new));
            argv.push(out_dir.as_os_str());
        }
        argv.extend(["--env", "A=1", "--env", "B=x y="].map(OsStr::new));
        argv.push(OsStr::new(&prog));
        argv.extend(args.iter().map(|a| OsStr::from_bytes(a)));
        let out = rvmsmp_os(&argv, b"");
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        if command == "sweep" {
            let _ = std::fs::remove_dir_all(&out_dir);
            continue;
        }
        // argv[0] is the path as given, as qemu-riscv64 passes it.
        let mut expected = shown("argv", 0, prog.as_bytes());
        for (i, a) in args.iter().enumerate() {
            expected.extend(shown("argv", i + 1, a));
        }
        expected.extend(shown("envp", 0, b"A=1"));
        expected.extend(shown("envp", 1, b"B=x y="));
        assert!(out.stdout == expected, "{}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn the_default_environment_is_empty() {
    let prog = program("args");
    let out = rvmsmp(&["run", &prog]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("argv[0] {}: {prog}\n", prog.len())
    );
}

#[test]
fn an_environment_entry_without_equals_is_refused() {
    let hello = program("args");
    // (An argument past 128 KiB, or more than 2 MiB in all, cannot even
    // reach rvmsmp: the host's execve refuses it; the unit tests in
    // kernel.rs check those limits.)
    let cases: [(Vec<&str>, &str); 1] = [(vec!["--env", "NOEQUALS", &hello], "NAME=VALUE")];
    for (args, problem) in cases {
        for command in ["run", "sweep"] {
            let mut argv = vec![command];
            if command == "sweep" {
                argv.extend(["--harts", "1..2", "--out", "/nonexistent/never-written"]);
            }
            argv.extend(&args);
            let out = rvmsmp(&argv);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command}: {err}");
            assert_eq!(err.lines().count(), 1, "{command}: {err}");
            assert!(err.contains(problem), "{command}: {err}");
        }
    }
}

#[test]
fn stdout_and_stderr_are_apart_and_in_order() {
    let prog = program("args");
    let out = rvmsmp(&["run", "--harts", "2", &prog, "-e"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("argv[0] {}: {prog}\nargv[1] 2: -e\nout 0\nout 1\nout 2\n", prog.len())
    );
    assert_eq!(stderr(&out), "err 0\nerr 1\nerr 2\n");
}

#[test]
fn a_pipe_into_sort_gives_its_lines_in_order() {
    let sort = program("sort");
    let out = rvmsmp_os(
        &["run", "--procs", "1", "--harts", "2", &sort].map(std::ffi::OsStr::new),
        b"b\na\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n");
}

/// Runs `rvmsmp ARGS | head -c BYTES` (the reader closes its end after
/// BYTES) with `input` fed to rvmsmp's stdin by a writer that never stops
/// unless `input` is None; returns rvmsmp's status and what was read.
fn into_head(args: &[&str], bytes: usize, endless_input: bool) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::{Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rvmsmp starts");
    let mut input = child.stdin.take().unwrap();
    if endless_input {
        std::thread::spawn(move || while input.write_all(&[b'y', b'\n'].repeat(2048)).is_ok() {});
    } else {
        drop(input);
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![0u8; bytes];
    stdout.read_exact(&mut got).expect("the output begins");
    drop(stdout);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, got);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("rvmsmp {args:?} kept running after its reader closed the pipe");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn yes_into_head_ends_as_with_sigpipe() {
    let (status, got) = into_head(&["run", "--procs", "1", "--harts", "2", &program("yes")], 2, false);
    assert_eq!(got, b"y\n");
    assert_eq!(
        status.code(),
        Some(128 + 13),
        "the status of a process ended by SIGPIPE"
    );
}

#[test]
fn endless_input_is_taken_with_back_pressure_and_a_closed_stdout_ends_the_run() {
    let (status, got) = into_head(&["run", "--harts", "2", &program("cat"), "-"], 100, true);
    assert_eq!(got, b"y\n".repeat(50));
    assert_eq!(status.code(), Some(128 + 13));
}

#[test]
fn bare_input_from_dev_zero_is_read_in_bounded_memory() {
    let guest = format!("{}/../tests/guest/bin/hello_uart.elf", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(["bare", &guest])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello"));
}

#[test]
fn run_exit_status_is_the_programs() {
    let out = rvmsmp(&["run", "--harts", "2", &program("exit_code"), "9"]);
    assert_eq!(out.status.code(), Some(9));
}

#[test]
fn run_stats_show_where_cycles_and_system_calls_went() {
    let out = rvmsmp(&["run", "--harts", "3", "--stats", &program("hello")]);
    let err = stderr(&out);
    let header = err.lines().next().unwrap_or_default();
    for column in [
        "instructions",
        "cycles",
        "user%",
        "kernel%",
        "waiting%",
        "idle%",
        "raised",
        "served",
    ] {
        assert!(header.contains(column), "{err}");
    }
    for line in [
        "master utilisation: ",
        "system call waiting time (cycles): mean ",
        "longest queue: ",
        "useful work: ",
    ] {
        assert!(err.contains(line), "{line:?} missing from:\n{err}");
    }
}

#[test]
fn run_refuses_what_is_not_a_risc_v_executable() {
    assert_refused_run("notelf", b"hello\n", "not an ELF file");
    assert_refused_run(
        "x86",
        &elf(ElfSpec {
            machine: EM_X86_64,
            ..ElfSpec::default()
        }),
        "not RISC-V",
    );
}

#[test]
fn run_refuses_a_dynamically_linked_program() {
    let mut bytes = elf(ElfSpec {
        p_type: 3,
        ..ElfSpec::default()
    }); // PT_INTERP...
        // ...plus a loadable segment: patch a second program header in.
    let load = elf(ElfSpec::default());
    bytes[56..58].copy_from_slice(&2u16.to_le_bytes()); // phnum = 2
    bytes.splice(120..120, load[64..120].iter().copied());
    // Shift the first header's file offset past the inserted one.
    let offset = 176u64.to_le_bytes();
    bytes[64 + 8..64 + 16].copy_from_slice(&offset);
    bytes[120 + 8..120 + 16].copy_from_slice(&offset);
    assert_refused_run("dynamic", &bytes, "dynamically linked");
}

#[test]
fn run_refuses_zero_processes() {
    let out = rvmsmp(&["run", "--procs", "0", &program("hello")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--procs 0"), "{}", stderr(&out));
}

#[test]
fn run_help_explains_every_option() {
    let out = rvmsmp(&["run", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--harts",
        "--procs",
        "--mem",
        "--max-cycles",
        "--quantum",
        "--seed",
        "--master-runs-user",
        "--slice",
        "--stats",
        "PROG.elf",
        "ARGS",
    ] {
        assert!(text.contains(option), "{option} missing from help:\n{text}");
    }
    assert!(text.contains("master"), "{text}");
}

fn assert_refused_run(name: &str, bytes: &[u8], problem: &str) {
    let file = TempFile::new(name, bytes);
    let out = rvmsmp(&["run", "--harts", "2", file.path()]);
    assert_refused_output(&out, file.path(), problem);
}

/// A bare-metal image whose code is `code` (for `--kernel`).
fn elf_with_code(code: &[u32]) -> Vec<u8> {
    let len = 4 * code.len() as u64;
    let mut b = elf(ElfSpec {
        filesz: len,
        memsz: len,
        ..ElfSpec::default()
    });
    b.truncate(120);
    b.extend(code.iter().flat_map(|w| w.to_le_bytes()));
    b
}

#[test]
fn run_a_kernel_panic_has_its_own_exit_status() {
    // Workloads past the kernel's limits are refused before boot, so the
    // panic comes from a stand-in kernel: it reports a panic to the
    // annotation device (event 8 at 0x110000), then powers off.
    let kernel = TempFile::new(
        "panicking-kernel.elf",
        &elf_with_code(&[
            0x0011_02b7, // lui t0, 0x110
            0x0080_0313, // li t1, 8 (PANIC)
            0x0062_b023, // sd t1, 0(t0)
            0x0010_02b7, // lui t0, 0x100 (the test finisher)
            0x0000_5337, // lui t1, 5
            0x5553_0313, // addi t1, t1, 0x555 (pass: power off)
            0x0062_a023, // sw t1, 0(t0)
            0x0000_006f, // j .
        ]),
    );
    let out = rvmsmp(&["run", "--harts", "2", "--kernel", kernel.path(), &program("hello")]);
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert!(stderr(&out).contains("the kernel panicked"), "{}", stderr(&out));
}

// The disk: --disk's bad inputs, and mkfs / fs round trips (docs/disk.md,
// docs/fs-format.md).

/// A scratch directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("rvmsmp-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn guest(name: &str) -> String {
    format!("{}/../tests/guest/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn disk_images_that_cannot_be_used_are_refused_before_boot() {
    let odd = TempFile::new("odd.img", &[0u8; 1000]);
    let empty = TempFile::new("empty.img", b"");
    for command in ["bare", "run"] {
        let prog = if command == "bare" {
            guest("hello_uart")
        } else {
            program("hello")
        };
        let out = rvmsmp(&[command, "--disk", "/nonexistent/disk.img", &prog]);
        assert_refused_output(&out, "/nonexistent/disk.img", "cannot open the disk image");
        let out = rvmsmp(&[command, "--disk", odd.path(), &prog]);
        assert_refused_output(&out, odd.path(), "not a whole number of 512-byte sectors");
        let out = rvmsmp(&[command, "--disk", empty.path(), "--snapshot", &prog]);
        assert_refused_output(&out, empty.path(), "is empty");
        let dir = std::env::temp_dir();
        let out = rvmsmp(&[command, "--disk", dir.to_str().unwrap(), &prog]);
        assert_refused_output(&out, dir.to_str().unwrap(), "is a directory");
    }
}

#[test]
fn a_read_only_image_needs_snapshot() {
    let image = TempFile::new("readonly.img", &[0u8; 4096]);
    let mut perms = std::fs::metadata(&image.0).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&image.0, perms).unwrap();
    let out = rvmsmp(&["bare", "--disk", image.path(), &guest("hello_uart")]);
    assert_refused_output(&out, image.path(), "read-only; use --snapshot");
    let out = rvmsmp(&["bare", "--disk", image.path(), "--snapshot", &guest("hello_uart")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn run_refuses_an_image_without_a_file_system_and_bare_takes_it() {
    let zeros = TempFile::new("zeros.img", &[0u8; 65536]);
    let out = rvmsmp(&["run", "--disk", zeros.path(), &program("hello")]);
    assert_refused_output(&out, zeros.path(), "is not formatted");
    let tiny = TempFile::new("tiny.img", &[0u8; 4096]);
    let out = rvmsmp(&["run", "--disk", tiny.path(), &program("hello")]);
    assert_refused_output(&out, tiny.path(), "too small");
    // A superblock that claims more blocks than the file holds.
    let mut claims = vec![0u8; 8192];
    claims[4096..4100].copy_from_slice(b"RMFS");
    claims[4100..4104].copy_from_slice(&2u32.to_le_bytes());
    claims[4104..4108].copy_from_slice(&100u32.to_le_bytes());
    let claims = TempFile::new("claims.img", &claims);
    let out = rvmsmp(&["run", "--disk", claims.path(), &program("hello")]);
    assert_refused_output(&out, claims.path(), "too small");
    // A file system of an older format version: refused, with what to do.
    let mut old = vec![0u8; 8192];
    old[4096..4100].copy_from_slice(b"RMFS");
    old[4100..4104].copy_from_slice(&1u32.to_le_bytes());
    let old = TempFile::new("v1.img", &old);
    let advice = "file system version 1; this rvmsmp reads version 2: remake the image with `rvmsmp mkfs IMG DIR`";
    let out = rvmsmp(&["run", "--disk", old.path(), &program("hello")]);
    assert_refused_output(&out, old.path(), advice);
    for command in [
        &["fs", "ls", old.path()][..],
        &["fs", "get", old.path(), "/f", "-"],
        &["fs", "check", old.path()],
    ] {
        assert_refused_output(&rvmsmp(command), old.path(), advice);
    }
    // bare hands any image to its guest.
    let out = rvmsmp(&["bare", "--disk", zeros.path(), &guest("hello_uart")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn mkfs_and_fs_round_trip() {
    let dir = TempDir::new("mkfs");
    let tree = dir.0.join("tree");
    std::fs::create_dir_all(tree.join("docs/deep/er")).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(tree.join("big.bin"), &big).unwrap();
    std::fs::write(tree.join("docs/readme.txt"), b"read me\n").unwrap();
    std::fs::write(tree.join("docs/deep/er/empty"), b"").unwrap();
    let image = dir.join("fs.img");

    let out = rvmsmp(&["mkfs", &image, tree.to_str().unwrap(), "--size", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("3 files (300008 bytes) in 4 directories"), "{said}");
    assert_eq!(std::fs::metadata(&image).unwrap().len(), 4 << 20);

    // The same tree makes the same bytes.
    let again = dir.join("again.img");
    assert!(rvmsmp(&["mkfs", &again, tree.to_str().unwrap(), "--size", "4"])
        .status
        .success());
    assert_eq!(std::fs::read(&image).unwrap(), std::fs::read(&again).unwrap());

    let out = rvmsmp(&["fs", "ls", &image, "/"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<Vec<&str>> = listing.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert_eq!((lines[0][0], lines[0][2], lines[0][3]), ("file", "300000", "big.bin"));
    assert_eq!((lines[1][0], lines[1][3]), ("dir", "docs/"));
    let out = rvmsmp(&["fs", "ls", &image, "/docs/deep/er"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(" 0 empty"), "{out:?}");

    let copy = dir.join("big.copy");
    let out = rvmsmp(&["fs", "get", &image, "/big.bin", &copy]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&copy).unwrap(), big);
    let out = rvmsmp(&["fs", "get", &image, "docs/readme.txt", "-"]);
    assert_eq!(out.stdout, b"read me\n");

    let out = rvmsmp(&["fs", "check", &image]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("clean: 3 files, 4 directories"), "{text}");

    // Reading never writes.
    assert_eq!(std::fs::read(&image).unwrap(), std::fs::read(&again).unwrap());

    // Errors: a path that is not there, a directory to get, a missing image.
    let out = rvmsmp(&["fs", "get", &image, "/nope", &copy]);
    assert_refused_output(&out, &image, "/nope: no such file or directory");
    let out = rvmsmp(&["fs", "get", &image, "/docs", &copy]);
    assert_refused_output(&out, &image, "is a directory");
    let out = rvmsmp(&["fs", "check", "/nonexistent/fs.img"]);
    assert_refused_output(&out, "/nonexistent/fs.img", "cannot read");
}

#[test]
fn fs_check_reports_each_problem_and_exits_1() {
    let dir = TempDir::new("fsck");
    let tree = dir.0.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a"), b"aaa").unwrap();
    let image = dir.join("fs.img");
    assert!(rvmsmp(&["mkfs", &image, tree.to_str().unwrap(), "--size", "1"])
        .status
        .success());
    let mut bytes = std::fs::read(&image).unwrap();
    // Where the bitmap and the inode table are, from the superblock.
    let bmapstart = u32::from_le_bytes(bytes[4096 + 32..4096 + 36].try_into().unwrap()) as usize;
    bytes[bmapstart * 4096] &= !1; // block 0 marked free
    let inodestart = u32::from_le_bytes(bytes[4096 + 28..4096 + 32].try_into().unwrap()) as usize;
    bytes[inodestart * 4096 + 2 * 128 + 2] = 5; // the file's nlink (inodes are 128 bytes)
    std::fs::write(&image, &bytes).unwrap();
    let out = rvmsmp(&["fs", "check", &image]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("block 0 (log, inodes or bitmap) marked free"), "{text}");
    assert!(text.contains("/a (inode 2): nlink is 5 but 1 entry name it"), "{text}");
    assert!(text.lines().last().unwrap().contains("2 problem(s)"), "{text}");

    // Not a file system at all: one problem, status 1; ls refuses it.
    let junk = TempFile::new("junk.img", &[0xa5u8; 65536]);
    let out = rvmsmp(&["fs", "check", junk.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an rvmsmp file system"));
    let out = rvmsmp(&["fs", "ls", junk.path(), "/"]);
    assert_refused_output(&out, junk.path(), "not an rvmsmp file system");
}

#[test]
fn mkfs_refuses_what_it_cannot_store() {
    let dir = TempDir::new("mkfs-bad");
    let tree = dir.0.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("big"), vec![1u8; 2 << 20]).unwrap();
    let image = dir.join("fs.img");
    let out = rvmsmp(&["mkfs", &image, tree.to_str().unwrap(), "--size", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not fit in 1 MiB") && err.contains("use a larger --size"),
        "{err}"
    );
    assert!(
        !std::path::Path::new(&image).exists(),
        "nothing is written when it does not fit"
    );

    std::os::unix::fs::symlink("big", tree.join("link")).unwrap();
    let out = rvmsmp(&["mkfs", &image, tree.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("symbolic links"), "{}", stderr(&out));

    let out = rvmsmp(&["mkfs", &image, "/nonexistent/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));
}

#[test]
fn disk_commands_have_help() {
    let text = |args: &[&str]| String::from_utf8_lossy(&rvmsmp(args).stdout).into_owned();
    let run = text(&["run", "--help"]);
    for option in ["--disk <IMG>", "--snapshot", "--disk-latency <CYCLES>"] {
        assert!(run.contains(option), "{option} missing from run --help:\n{run}");
    }
    assert!(text(&["bare", "--help"]).contains("--disk <IMG>"));
    let mkfs = text(&["mkfs", "--help"]);
    assert!(
        mkfs.contains("--size <MiB>") && mkfs.contains("IMG") && mkfs.contains("DIR"),
        "{mkfs}"
    );
    let fs = text(&["fs", "--help"]);
    for command in ["ls", "get", "check"] {
        assert!(fs.contains(command), "{fs}");
    }
    assert!(text(&["fs", "check", "--help"]).contains("Exit status: 0 consistent, 1 problems found"));
}

// Issue 17: input that used to crash, hang or exhaust the host.

/// Runs a shell command line with rvmsmp as `$R`, under a 4 GB limit of
/// address space, as a host with little memory would.
fn under_memory_limit(line: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 4000000; {line}"))
        .env("R", env!("CARGO_BIN_EXE_rvmsmp"))
        .output()
        .expect("sh runs")
}

fn assert_one_line_error(out: &Output, problem: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
    assert!(
        err.starts_with("rvmsmp: error: ") && err.contains(problem),
        "expected {problem:?} in: {err}"
    );
}

#[test]
fn trace_harts_takes_any_range_in_constant_memory() {
    let dir = TempDir::new("trace-harts");
    let log = dir.join("t.log");
    for range in ["0-18446744073709551615", "0-4294967295"] {
        let out = under_memory_limit(&format!(
            "$R bare --trace insns {log} --trace-harts {range} {}",
            guest("hello_uart")
        ));
        assert_eq!(out.status.code(), Some(0), "{range}: {}", stderr(&out));
        assert!(
            std::fs::read_to_string(&log).unwrap().contains("core   0"),
            "hart 0 is traced"
        );
    }
}

#[test]
fn a_large_mem_is_reserved_lazily_or_refused_in_one_line() {
    let out = rvmsmp(&["run", "--mem", "24576", &program("hello")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = under_memory_limit(&format!("$R run --mem 24576 {}", program("hello")));
    assert_one_line_error(&out, "--mem 24576 MiB: the host cannot map");
}

#[test]
fn programs_that_are_not_regular_files_are_refused_at_once() {
    for command in ["run", "bare"] {
        let out = under_memory_limit(&format!("$R {command} /dev/zero"));
        assert_one_line_error(&out, "/dev/zero: is not a regular file");
    }
    let dir = TempDir::new("fifo");
    let fifo = dir.join("prog.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Opening a FIFO would block until a writer comes: none does.
    let out = Command::new("timeout")
        .args(["10", env!("CARGO_BIN_EXE_rvmsmp"), "bare", &fifo])
        .output()
        .unwrap();
    assert_one_line_error(&out, "is not a regular file");
    let out = rvmsmp(&["run", "--disk", &fifo, &program("hello")]);
    assert_one_line_error(&out, "is not a regular file");
}

#[test]
fn a_program_larger_than_ram_is_refused_before_it_is_read() {
    let dir = TempDir::new("huge");
    let huge = dir.join("huge.elf");
    // Sparse: 2 GiB of size, nothing written.
    std::fs::File::create(&huge).unwrap().set_len(2 << 30).unwrap();
    let out = under_memory_limit(&format!("$R run {huge}"));
    assert_one_line_error(&out, "more than the machine's RAM (128 MiB) can hold");
}

#[test]
fn time_slices_the_kernel_cannot_use_are_refused() {
    for slice in ["0", "18446744073709551615"] {
        // Under `timeout`: a slice the kernel cannot use made runs spin.
        let out = under_memory_limit(&format!(
            "timeout 60 $R run --slice {slice} --harts 2 {}",
            program("hello")
        ));
        assert_one_line_error(&out, &format!("--slice {slice}: the time slice must be 1 to"));
    }
    let out = rvmsmp(&[
        "run",
        "--slice",
        "1",
        "--harts",
        "2",
        "--max-cycles",
        "100000000",
        &program("hello"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn workloads_past_the_kernels_limits_are_refused_before_boot() {
    let hello = program("hello");
    let out = rvmsmp(&["run", "--procs", "100000", "--harts", "2", &hello]);
    assert_one_line_error(&out, "--procs 100000: the kernel runs at most 1024 processes");
    let out = rvmsmp(&["run", "--procs", "1024", "--harts", "2", "--mem", "512", &hello]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = rvmsmp(&["run", "--mem", "8", "--harts", "64", &hello]);
    assert_one_line_error(&out, "--mem 8 MiB cannot hold 63 process(es) of hello.elf");
    // p_memsz of the first program header set to 1 GiB.
    let mut bytes = std::fs::read(&hello).unwrap();
    bytes[64 + 56 + 40..64 + 56 + 48].copy_from_slice(&(1u64 << 30).to_le_bytes());
    let file = TempFile::new("gigabyte.elf", &bytes);
    let out = rvmsmp(&["run", file.path()]);
    assert_one_line_error(&out, "cannot hold 1 process(es) of gigabyte.elf");
}

#[test]
fn a_debugger_script_survives_odd_input() {
    use std::io::Write;
    let mut script = Vec::new();
    for n in 0..0x1000 {
        writeln!(script, "csr {n:#x}").unwrap();
    }
    script.extend_from_slice(b"x 0xffffffffffffffff 16\nx pc-0x80000001 16\n\xff\xfenot utf-8\nquit\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(["bare", "--debug", &guest("hello_uart")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&script).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // `quit` after the bad line is obeyed: 126, not the end of input.
    assert_eq!(out.status.code(), Some(126), "{}{text}", stderr(&out));
    assert!(text.contains("error: the hart has no CSR 0x3af"), "{text}");
    assert!(text.contains("hart 0 mstatus (0x300) = "), "{text}");
    assert_eq!(
        text.matches("runs past the end of the 64-bit address space").count(),
        2,
        "{text}"
    );
    assert!(text.contains("error: the line is not valid UTF-8"), "{text}");
}

#[test]
fn fs_get_refuses_the_image_as_output_and_reports_failed_writes() {
    let dir = TempDir::new("fs-get");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(format!("{root}/f"), "hello\n").unwrap();
    let img = dir.join("disk.img");
    let out = rvmsmp(&["mkfs", &img, &root, "--size", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = std::fs::read(&img).unwrap();
    let out = rvmsmp(&["fs", "get", &img, "/f", &img]);
    assert_one_line_error(&out, "is the image being read");
    assert_eq!(std::fs::read(&img).unwrap(), before, "the image is unchanged");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$R\" fs get {img} /f - >&-"))
        .env("R", env!("CARGO_BIN_EXE_rvmsmp"))
        .output()
        .unwrap();
    assert_one_line_error(&out, "cannot write to standard output: it is closed");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(["fs", "get", &img, "/f", "-"])
        .stdout(full)
        .output()
        .unwrap();
    assert_one_line_error(&out, "cannot write to standard output");
}

#[test]
fn sweep_checks_its_output_directory_before_running() {
    let out = rvmsmp(&["sweep", "--harts", "2..3", "--out", "/proc/x", &program("hello")]);
    assert_one_line_error(&out, "/proc/x: cannot write the sweep's results");
    assert!(
        out.stdout.is_empty(),
        "no run was made: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn messages_name_the_program_and_number_segments_by_header() {
    let out = rvmsmp(&["run", "--mem", "1", &program("hello")]);
    assert_one_line_error(&out, "is too small for the kernel and hello.elf");
    // Header 0 a note, header 1 a segment outside RAM: both messages say 1.
    let mut bytes = elf(ElfSpec {
        p_type: PT_NOTE,
        ..ElfSpec::default()
    });
    bytes[56..58].copy_from_slice(&2u16.to_le_bytes()); // phnum
    let mut second = bytes[64..120].to_vec();
    second[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
    second[24..32].copy_from_slice(&0x1000u64.to_le_bytes()); // paddr
    bytes.splice(120..120, second.clone());
    bytes[64 + 56 + 8..64 + 56 + 16].copy_from_slice(&176u64.to_le_bytes()); // offset
    assert_refused("outside.elf", &bytes, "segment 1 at [0x1000, 0x1008) lies outside RAM");
    second[32..40].copy_from_slice(&16u64.to_le_bytes()); // filesz > memsz
    bytes.splice(120..176, second);
    assert_refused("sizes.elf", &bytes, "segment 1 has a file size larger");
}

#[test]
fn symbol_names_that_are_not_utf8_are_skipped() {
    let mut bytes = std::fs::read(guest("hello_uart")).unwrap();
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let (shoff, shnum) = (u64_at(&bytes, 0x28), u16_at(&bytes, 0x3c));
    // The string table of the symbol table (SHT_SYMTAB = 2, its sh_link).
    let symtab = (0..shnum)
        .map(|i| shoff + 64 * i)
        .find(|&h| bytes[h + 4] == 2)
        .expect("a symbol table");
    let link = u32::from_le_bytes(bytes[symtab + 40..symtab + 44].try_into().unwrap()) as usize;
    let strtab = u64_at(&bytes, shoff + 64 * link + 0x18);
    bytes[strtab + 1] = 0xff;
    let file = TempFile::new("badsym.elf", &bytes);
    let out = rvmsmp(&["bare", file.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from hart 0"));
}

/// `bare` on a terminal: raw mode for the run (no echo, bytes as typed),
/// Ctrl-A x quits, and the terminal is as it was afterwards (issue 17,
/// item 21). Run under a pseudo-terminal.
#[test]
fn bare_on_a_terminal_is_raw_and_ctrl_a_x_quits_and_restores_it() {
    use std::os::fd::FromRawFd;
    let guest = format!("{}/../tests/guest/bin/spin.elf", env!("CARGO_MANIFEST_DIR"));
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    let echo_on = |fd| {
        // SAFETY: tcgetattr into a termios we own.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag & libc::ECHO != 0 && t.c_lflag & libc::ICANON != 0
    };
    assert!(echo_on(slave), "a fresh terminal echoes");
    // SAFETY: each dup'd descriptor is owned by the Stdio it goes into.
    let io = || unsafe { std::process::Stdio::from_raw_fd(libc::dup(slave)) };
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvmsmp"))
        .args(["bare", &guest])
        .stdin(io())
        .stdout(io())
        .stderr(io())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while echo_on(slave) {
        assert!(
            std::time::Instant::now() < deadline,
            "rvmsmp bare never put the terminal in raw mode"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: writing two bytes we own to the master side.
    assert_eq!(unsafe { libc::write(master, b"\x01x".as_ptr().cast(), 2) }, 2);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("Ctrl-A x did not end the run");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(echo_on(slave), "the terminal is restored after the run");
    // SAFETY: closing descriptors we own.
    unsafe {
        libc::close(master);
        libc::close(slave);
    }
}
