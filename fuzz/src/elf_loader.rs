//! `elf_loader`: any bytes through the loader `rvmsmp bare` and `rvmsmp
//! run` use. Parsing must give an error or an image, never a panic; an
//! image that fits in RAM is booted on a small two-hart machine and run for
//! a few thousand cycles.

use std::path::Path;

use rvmsmp::devices::uart::NoInput;
use rvmsmp::fdt::FdtOptions;
use rvmsmp::kernel;
use rvmsmp::loader::ElfImage;
use rvmsmp::{Machine, MachineConfig};

/// Simulated cycles each loaded program runs for.
const CYCLES: u64 = 4000;

pub fn elf_loader(data: &[u8]) {
    let path = Path::new("fuzz.elf");
    let parsed = ElfImage::parse(path, data);
    // `rvmsmp run` and `rvmsmp sweep` check the program by the kernel's
    // rules (user_elf.rs), which differ from the bare loader's (the kernel
    // maps p_vaddr and never reads sections): it must only never panic, and
    // what it accepts must lie where the kernel maps segments.
    if let Ok(elf) = kernel::check_program(path, data) {
        for s in &elf.segments {
            assert!(
                s.mem_size > 0
                    && s.vaddr
                        .checked_add(s.mem_size)
                        .is_some_and(|end| end <= rvmsmp::user_elf::MMAP_TOP),
                "check_program accepted a segment the kernel would refuse"
            );
        }
    }
    let image = match parsed {
        Ok(image) => image,
        Err(_) => return,
    };
    assert!(!image.segments.is_empty(), "an image with no segment was accepted");
    for s in &image.segments {
        assert!(
            s.data.len() as u64 <= s.mem_size,
            "a segment's file part exceeds its memory size"
        );
    }
    let config = MachineConfig {
        harts: 2,
        ram_size: 16 << 20,
        max_cycles: Some(CYCLES),
        ..MachineConfig::default()
    };
    let mut machine = Machine::new(config, crate::console(), Box::new(NoInput)).expect("a valid configuration");
    if machine.boot_bare(path, &image, &FdtOptions::default()).is_err() {
        return; // outside RAM, or no room for the device tree: an error for the user
    }
    let ram = machine.bus.ram_region();
    for s in &image.segments {
        assert!(ram.contains(s.paddr, s.mem_size), "a segment outside RAM was loaded");
    }
    let reason = machine.run();
    if crate::verbose() {
        eprintln!("\nelf_loader: {reason:?}; {}", machine.hart_positions());
    }
    for hart in &machine.harts {
        assert_eq!(hart.x[0], 0, "x0 changed");
    }
}
