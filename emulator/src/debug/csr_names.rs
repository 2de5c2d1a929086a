//! CSR names, as the privileged specification (and so gdb and Spike's
//! logs) spells them, for the CSRs the hart implements.

use crate::cpu::csr::addr::*;

const NAMED: &[(u16, &str)] = &[
    (FFLAGS, "fflags"),
    (FRM, "frm"),
    (FCSR, "fcsr"),
    (CYCLE, "cycle"),
    (TIME, "time"),
    (INSTRET, "instret"),
    (SSTATUS, "sstatus"),
    (SIE, "sie"),
    (STVEC, "stvec"),
    (SCOUNTEREN, "scounteren"),
    (SENVCFG, "senvcfg"),
    (SSCRATCH, "sscratch"),
    (SEPC, "sepc"),
    (SCAUSE, "scause"),
    (STVAL, "stval"),
    (SIP, "sip"),
    (STIMECMP, "stimecmp"),
    (SATP, "satp"),
    (MVENDORID, "mvendorid"),
    (MARCHID, "marchid"),
    (MIMPID, "mimpid"),
    (MHARTID, "mhartid"),
    (MCONFIGPTR, "mconfigptr"),
    (MSTATUS, "mstatus"),
    (MISA, "misa"),
    (MEDELEG, "medeleg"),
    (MIDELEG, "mideleg"),
    (MIE, "mie"),
    (MTVEC, "mtvec"),
    (MCOUNTEREN, "mcounteren"),
    (MENVCFG, "menvcfg"),
    (MCOUNTINHIBIT, "mcountinhibit"),
    (MSCRATCH, "mscratch"),
    (MEPC, "mepc"),
    (MCAUSE, "mcause"),
    (MTVAL, "mtval"),
    (MIP, "mip"),
    (TSELECT, "tselect"),
    (TDATA1, "tdata1"),
    (TDATA2, "tdata2"),
    (TDATA3, "tdata3"),
    (MCYCLE, "mcycle"),
    (MINSTRET, "minstret"),
];

/// The name of CSR `csr`, if it is one the hart implements.
pub fn name(csr: u16) -> Option<String> {
    if let Some((_, n)) = NAMED.iter().find(|(c, _)| *c == csr) {
        return Some((*n).to_string());
    }
    let numbered = |base: u16, last: u16, prefix: &str, first: u16| {
        (base..=last)
            .contains(&csr)
            .then(|| format!("{prefix}{}", csr - base + first))
    };
    numbered(HPMCOUNTER3, HPMCOUNTER31, "hpmcounter", 3)
        .or_else(|| numbered(MHPMCOUNTER3, MHPMCOUNTER31, "mhpmcounter", 3))
        .or_else(|| numbered(MHPMEVENT3, MHPMEVENT31, "mhpmevent", 3))
        .or_else(|| numbered(PMPADDR0, PMPADDR63, "pmpaddr", 0))
        .or_else(|| ((PMPCFG0..=PMPCFG15).contains(&csr) && csr % 2 == 0).then(|| format!("pmpcfg{}", csr - PMPCFG0)))
}

/// The number of the CSR called `name` (or written as a number, `0x300`).
pub fn number(name: &str) -> Option<u16> {
    let lower = name.to_ascii_lowercase();
    if let Some(n) = super::command::parse_number(&lower).and_then(|n| u16::try_from(n).ok()) {
        return (n < 0x1000).then_some(n);
    }
    if let Some((c, _)) = NAMED.iter().find(|(_, n)| *n == lower) {
        return Some(*c);
    }
    // The numbered families.
    (0..0x1000u16).find(|&c| !NAMED.iter().any(|(n, _)| *n == c) && name_matches(c, &lower))
}

fn name_matches(csr: u16, lower: &str) -> bool {
    name(csr).is_some_and(|n| n == lower)
}

/// Every named CSR, in number order (for gdb's target description).
pub fn all() -> Vec<(u16, String)> {
    (0..0x1000u16).filter_map(|c| name(c).map(|n| (c, n))).collect()
}
