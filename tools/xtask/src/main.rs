//! `cargo xtask`: project automation that needs more than cargo.
//!
//! The guest programs the tests run are RISC-V ELF files built with a cross
//! toolchain most machines lack, so the built files are committed and the
//! tests only need Rust. This tool rebuilds them (`cargo xtask guest`) and
//! checks that the committed files are exactly what the sources build to
//! (`cargo xtask guest --check`); the builds are reproducible, so any
//! difference means a source changed without a rebuild, or the reverse.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod syscalls;

/// A directory of guest programs: a Makefile that builds into `$(OUT)`,
/// whose default (`out`, relative to `dir`) holds the committed files.
struct GuestDir {
    dir: &'static str,
    out: &'static str,
}

/// Every guest directory, built in this order.
const GUEST_DIRS: &[GuestDir] = &[
    GuestDir {
        dir: "tests/guest",
        out: "bin",
    },
    GuestDir {
        dir: "programs",
        out: "bin",
    },
    // The benchmark programs of `cargo xtask bench` (they use programs/lib).
    GuestDir {
        dir: "programs/bench",
        out: "bin",
    },
    GuestDir {
        dir: "guest-os",
        out: "build",
    },
];

/// The cross compiler the Makefiles use, and the Debian/Ubuntu package that has it.
const CROSS_GCC: &str = "riscv64-unknown-elf-gcc";
const CROSS_PACKAGE: &str = "gcc-riscv64-unknown-elf";

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  guest           build the guest programs (make in each guest directory)
  guest --check   build them into a temporary directory and fail if any
                  differs from the committed files
  bench [--quick] the benchmark suite against QEMU and Spike, where installed
                  (`cargo xtask bench --help`; BENCHMARKS.md)
  ci              everything CI checks: install the Debian packages the
                  tests need (when missing and running as root), check the
                  guest images, formatting and clippy, and run every test
";

/// What the full test suite runs besides cargo, and the Debian packages of
/// each: the bare-metal cross compiler (to check the committed guest
/// images), QEMU's Linux user mode (to compare program output), QEMU's
/// system emulator (to boot the kernel on the reference virt machine), and
/// the Linux cross compiler with glibc (to build programs/compat).
const CI_TOOLS: &[(&str, &[&str])] = &[
    (CROSS_GCC, &[CROSS_PACKAGE]),
    ("qemu-riscv64", &["qemu-user"]),
    ("qemu-system-riscv64", &["qemu-system-misc"]),
    (
        "riscv64-linux-gnu-gcc",
        &["gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"],
    ),
    // gdb for the GDB server's test (tests/gdb.rs).
    ("gdb-multiarch", &["gdb-multiarch"]),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["guest"] => build_guests(),
        ["guest", "--check"] => check_guests(),
        ["ci"] => ci(),
        ["bench", rest @ ..] => bench::run(rest),
        ["help" | "-h" | "--help"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: this crate lives in tools/xtask.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/xtask is two levels below the workspace root")
        .to_path_buf()
}

/// Fails with installation advice unless `program --version` runs.
fn require_tool(program: &str, package: &str) -> Result<(), String> {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{program} --version` failed ({}); is the {package} package installed correctly?",
            out.status
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(format!(
            "{program} was not found on PATH; the guest programs need it. \
             On Debian or Ubuntu: sudo apt-get install {package}"
        )),
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

fn require_toolchain() -> Result<(), String> {
    require_tool("make", "make")?;
    require_tool(CROSS_GCC, CROSS_PACKAGE)
}

/// Runs make in `dir`, with `OUT=out` when given.
fn make(dir: &Path, out: Option<&Path>) -> Result<(), String> {
    let mut cmd = Command::new("make");
    cmd.arg("-C").arg(dir);
    if let Some(out) = out {
        let mut arg = std::ffi::OsString::from("OUT=");
        arg.push(out);
        cmd.arg(arg);
    }
    let status = cmd.status().map_err(|e| format!("cannot run make: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("make -C {} failed ({status})", dir.display()))
    }
}

fn build_guests() -> Result<(), String> {
    require_toolchain()?;
    let root = workspace_root();
    for (path, text) in syscalls::generate(&root)? {
        fs::write(root.join(&path), text).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    for guest in GUEST_DIRS {
        make(&root.join(guest.dir), None)?;
    }
    Ok(())
}

/// Names of the regular files directly in `dir` (none if it does not exist).
fn file_names(dir: &Path) -> Result<BTreeSet<String>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file {
            names.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Compares a fresh build in `built` with the committed files in
/// `committed`; returns one line per problem, naming the file as the
/// repository does (`shown` is the committed directory's repository path).
fn compare(built: &Path, committed: &Path, shown: &str) -> Result<Vec<String>, String> {
    let fresh = file_names(built)?;
    let kept = file_names(committed)?;
    let mut problems = Vec::new();
    for name in fresh.union(&kept) {
        let problem = match (fresh.contains(name), kept.contains(name)) {
            (true, false) => "is built by the Makefile but not committed",
            (false, true) => "is committed but no longer built by the Makefile",
            _ if read(&built.join(name))? != read(&committed.join(name))? => "differs from a fresh build of its source",
            _ => continue,
        };
        problems.push(format!("{shown}/{name} {problem}"));
    }
    Ok(problems)
}

fn check_guests() -> Result<(), String> {
    require_toolchain()?;
    let root = workspace_root();
    let scratch = std::env::temp_dir().join(format!("rvmsmp-xtask-check-{}", std::process::id()));
    let result = check_into(&root, &scratch);
    let _ = fs::remove_dir_all(&scratch);
    let (checked, problems) = result?;
    if problems.is_empty() {
        println!("xtask: all {checked} committed guest files match a fresh build");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("xtask: {problem}");
    }
    Err(format!(
        "{} guest file(s) out of date; run `cargo xtask guest` and commit the result",
        problems.len()
    ))
}

/// Builds every guest directory under `scratch` and compares; returns the
/// number of files compared and the problems found.
fn check_into(root: &Path, scratch: &Path) -> Result<(usize, Vec<String>), String> {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (path, text) in syscalls::generate(root)? {
        checked += 1;
        if fs::read_to_string(root.join(&path)).ok().as_deref() != Some(text.as_str()) {
            problems.push(format!("{path} differs from what {} generates", syscalls::TABLE));
        }
    }
    for guest in GUEST_DIRS {
        let out = scratch.join(guest.dir.replace('/', "_"));
        fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        make(&root.join(guest.dir), Some(&out))?;
        let committed = root.join(guest.dir).join(guest.out);
        let shown = format!("{}/{}", guest.dir, guest.out);
        checked += file_names(&out)?.len();
        problems.extend(compare(&out, &committed, &shown)?);
    }
    Ok((checked, problems))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs, with apt-get, the packages of the CI tools that are missing,
/// when running as root. Returns the tools still missing afterwards.
fn ensure_ci_tools() -> Vec<&'static str> {
    let present = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&(&str, &[&str])> = CI_TOOLS.iter().filter(|(tool, _)| !present(tool)).collect();
    let apt = Command::new("apt-get")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !missing.is_empty() && apt && is_root() {
        let packages: Vec<&str> = missing
            .iter()
            .flat_map(|(_, packages)| packages.iter().copied())
            .collect();
        println!("xtask: installing {} with apt-get", packages.join(" "));
        let run = |cmd: &mut Command| {
            cmd.env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        run(Command::new("apt-get").args(["update", "-qq"]));
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&packages));
    }
    CI_TOOLS
        .iter()
        .map(|(tool, _)| *tool)
        .filter(|tool| !present(tool))
        .collect()
}

/// Runs cargo with `args` in the workspace root, failing if it fails.
fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    let missing = ensure_ci_tools();
    if !missing.is_empty() {
        if std::env::var_os("CI").is_some() {
            return Err(format!("CI needs {} and could not install them", missing.join(", ")));
        }
        println!(
            "xtask: not installed here, so their checks are skipped: {}",
            missing.join(", ")
        );
    }
    if !missing.contains(&CROSS_GCC) {
        check_guests()?;
    }
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--release",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--release"])?;
    fuzz_regressions()
}

/// The fuzz targets (`fuzz/`, a crate outside the workspace; see
/// docs/fuzzing.md), on stable: formatting, then a build of every target and
/// a replay of every saved input in `fuzz/regressions/` (about a minute). It
/// shares `target/` and the release profile with the tests above, so mostly
/// the emulator (with overflow checks, as fuzzing builds it) and the fuzz
/// crate are compiled again. (Clippy on the fuzz crate would add as long
/// again; it is a local check, see docs/fuzzing.md.)
fn fuzz_regressions() -> Result<(), String> {
    const MANIFEST: &str = "fuzz/Cargo.toml";
    cargo(&["fmt", "--manifest-path", MANIFEST, "--", "--check"])?;
    cargo(&[
        "test",
        "--manifest-path",
        MANIFEST,
        "--release",
        "--target-dir",
        "target",
    ])
}
