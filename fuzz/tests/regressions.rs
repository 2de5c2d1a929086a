//! Replays every saved input (`regressions/TARGET/*`: the inputs that once
//! crashed a target, and a few seeds) through its target, on stable, with
//! overflow checks and debug assertions on as in a fuzzing build. A panic
//! names the file.

use std::path::{Path, PathBuf};

fn replay(target: &str) {
    let f = rvmsmp_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|&(_, f)| f)
        .expect("a known target");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = std::panic::catch_unwind(|| f(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {name} fails (replay it with `cargo +nightly fuzz run {target} {}`)",
            path.display()
        );
    }
    println!("{target}: {} inputs replayed", files.len());
}

#[test]
fn debug_command() {
    replay("debug_command");
}

#[test]
fn elf_loader() {
    replay("elf_loader");
}

#[test]
fn execute() {
    replay("execute");
}

#[test]
fn fdt_initramfs() {
    replay("fdt_initramfs");
}

#[test]
fn kernel_syscalls() {
    replay("kernel_syscalls");
}

/// Every target has a binary, a directory of inputs and a test above.
#[test]
fn every_target_is_replayed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let this = std::fs::read_to_string(root.join("tests/regressions.rs")).unwrap();
    for (name, _) in rvmsmp_fuzz::TARGETS {
        assert!(
            root.join("fuzz_targets").join(format!("{name}.rs")).is_file(),
            "{name}: no fuzz_targets/{name}.rs"
        );
        assert!(
            root.join("regressions").join(name).is_dir(),
            "{name}: no regressions/{name}/"
        );
        assert!(
            this.contains(&format!("replay(\"{name}\")")),
            "{name}: not replayed here"
        );
    }
}
