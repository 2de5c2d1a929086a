//! The flattened device tree handed to every hart in a1 at boot. It
//! describes the machine as QEMU virt's does (same node names, compatible
//! strings and interrupt wiring), so kernels that parse QEMU's tree find
//! everything where they expect it.

use vm_fdt::{FdtWriter, FdtWriterResult};

use crate::cost::CORE_HZ;
use crate::memmap::{self, Region};

/// What the tree says beyond the fixed platform.
#[derive(Clone, Debug, Default)]
pub struct FdtOptions {
    /// The kernel command line (/chosen/bootargs).
    pub bootargs: Option<String>,
    /// An initial RAM disk: start and end physical addresses.
    pub initrd: Option<(u64, u64)>,
    /// A disk in the first virtio-mmio slot (set by the machine when one is attached).
    pub virtio_blk: bool,
}

/// The ISA string advertised for every hart.
pub const ISA: &str = "rv64imafdc_zicntr_zicsr_zifencei_sstc";
const ISA_EXTENSIONS: [&str; 10] = ["i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei", "sstc"];

/// Interrupt numbers on each hart's local interrupt controller.
const IRQ_M_SOFT: u32 = 3;
const IRQ_M_TIMER: u32 = 7;
const IRQ_S_EXT: u32 = 9;
const IRQ_M_EXT: u32 = 11;

fn reg(region: Region) -> [u64; 2] {
    [region.base, region.size]
}

/// Builds the device tree blob for `harts` harts and the given RAM.
pub fn build(harts: usize, ram: Region, options: &FdtOptions) -> FdtWriterResult<Vec<u8>> {
    let intc_phandle = |hart: usize| 1 + hart as u32;
    let plic_phandle = harts as u32 + 1;
    let test_phandle = harts as u32 + 2;

    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "riscv-virtio")?;
    fdt.property_string("model", "riscv-virtio,qemu")?;

    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("stdout-path", "/soc/serial@10000000")?;
    if let Some(args) = &options.bootargs {
        fdt.property_string("bootargs", args)?;
    }
    if let Some((start, end)) = options.initrd {
        fdt.property_u64("linux,initrd-start", start)?;
        fdt.property_u64("linux,initrd-end", end)?;
    }
    fdt.end_node(chosen)?;

    let memory = fdt.begin_node(&format!("memory@{:x}", ram.base))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &reg(ram))?;
    fdt.end_node(memory)?;

    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    fdt.property_u32("timebase-frequency", memmap::TIMEBASE_HZ as u32)?;
    for hart in 0..harts {
        let cpu = fdt.begin_node(&format!("cpu@{hart}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_u32("reg", hart as u32)?;
        fdt.property_string("status", "okay")?;
        fdt.property_string("compatible", "riscv")?;
        fdt.property_string("riscv,isa", ISA)?;
        fdt.property_string("riscv,isa-base", "rv64i")?;
        fdt.property_string_list(
            "riscv,isa-extensions",
            ISA_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        )?;
        fdt.property_string("mmu-type", "riscv,sv39")?;
        fdt.property_u32("clock-frequency", CORE_HZ as u32)?;
        let intc = fdt.begin_node("interrupt-controller")?;
        fdt.property_u32("#address-cells", 0)?;
        fdt.property_u32("#interrupt-cells", 1)?;
        fdt.property_null("interrupt-controller")?;
        fdt.property_string("compatible", "riscv,cpu-intc")?;
        fdt.property_phandle(intc_phandle(hart))?;
        fdt.end_node(intc)?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)?;

    let soc = fdt.begin_node("soc")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "simple-bus")?;
    fdt.property_null("ranges")?;

    let test = fdt.begin_node(&format!("test@{:x}", memmap::TEST_FINISHER.base))?;
    fdt.property_string_list(
        "compatible",
        vec!["sifive,test1".into(), "sifive,test0".into(), "syscon".into()],
    )?;
    fdt.property_array_u64("reg", &reg(memmap::TEST_FINISHER))?;
    fdt.property_phandle(test_phandle)?;
    fdt.end_node(test)?;

    let annotate = fdt.begin_node(&format!("annotate@{:x}", memmap::ANNOTATE.base))?;
    fdt.property_string("compatible", "rvmsmp,annotate")?;
    fdt.property_array_u64("reg", &reg(memmap::ANNOTATE))?;
    fdt.end_node(annotate)?;

    let clint = fdt.begin_node(&format!("clint@{:x}", memmap::CLINT.base))?;
    fdt.property_string_list("compatible", vec!["sifive,clint0".into(), "riscv,clint0".into()])?;
    fdt.property_array_u64("reg", &reg(memmap::CLINT))?;
    let clint_irqs: Vec<u32> = (0..harts)
        .flat_map(|h| [intc_phandle(h), IRQ_M_SOFT, intc_phandle(h), IRQ_M_TIMER])
        .collect();
    fdt.property_array_u32("interrupts-extended", &clint_irqs)?;
    fdt.end_node(clint)?;

    let plic = fdt.begin_node(&format!("plic@{:x}", memmap::PLIC.base))?;
    fdt.property_u32("#address-cells", 0)?;
    fdt.property_u32("#interrupt-cells", 1)?;
    fdt.property_string_list("compatible", vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()])?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_array_u64("reg", &[memmap::PLIC.base, 0x20_0000 + harts as u64 * 2 * 0x1000])?;
    fdt.property_u32("riscv,ndev", memmap::PLIC_NUM_SOURCES - 1)?;
    let plic_irqs: Vec<u32> = (0..harts)
        .flat_map(|h| [intc_phandle(h), IRQ_M_EXT, intc_phandle(h), IRQ_S_EXT])
        .collect();
    fdt.property_array_u32("interrupts-extended", &plic_irqs)?;
    fdt.property_phandle(plic_phandle)?;
    fdt.end_node(plic)?;

    let uart = fdt.begin_node(&format!("serial@{:x}", memmap::UART0.base))?;
    fdt.property_string("compatible", "ns16550a")?;
    fdt.property_array_u64("reg", &reg(memmap::UART0))?;
    fdt.property_u32("clock-frequency", 0x38_4000)?;
    fdt.property_u32("interrupts", memmap::UART0_IRQ)?;
    fdt.property_u32("interrupt-parent", plic_phandle)?;
    fdt.end_node(uart)?;

    // Only the slot in use is listed (QEMU lists all eight).
    if options.virtio_blk {
        let disk = fdt.begin_node(&format!("virtio_mmio@{:x}", memmap::VIRTIO0.base))?;
        fdt.property_u32("interrupts", memmap::VIRTIO0_IRQ)?;
        fdt.property_u32("interrupt-parent", plic_phandle)?;
        fdt.property_array_u64("reg", &reg(memmap::VIRTIO0))?;
        fdt.property_string("compatible", "virtio,mmio")?;
        fdt.end_node(disk)?;
    }

    fdt.end_node(soc)?;

    // The finisher doubles as the poweroff and reboot syscon, at the root as on QEMU.
    for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
        let node = fdt.begin_node(name)?;
        fdt.property_string("compatible", &format!("syscon-{name}"))?;
        fdt.property_u32("regmap", test_phandle)?;
        fdt.property_u32("offset", 0)?;
        fdt.property_u32("value", value)?;
        fdt.end_node(node)?;
    }
    fdt.end_node(root)?;
    fdt.finish()
}
