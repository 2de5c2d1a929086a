/* Addresses and helpers shared by the guest test programs. The platform is
 * QEMU virt's, which rvmsmp reproduces, so these programs also run under
 * qemu-system-riscv64 -machine virt -bios none -kernel PROG.elf. */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

/* sifive_test finisher: a 32-bit write of 0x5555 powers off with status 0,
 * (code << 16) | 0x3333 powers off with status `code`. */
#define FINISHER        0x00100000
#define FINISHER_PASS   0x5555
#define FINISHER_FAIL   0x3333

/* CLINT: one 32-bit msip register per hart; bit 0 raises mip.MSIP there. */
#define CLINT_BASE      0x02000000

/* NS16550A UART: bytes written to THR (offset 0) go to the console; LSR
 * bit 5 says THR can take another byte. */
#define UART_BASE       0x10000000
#define UART_LSR        5
#define LSR_THR_EMPTY   0x20

/* mip / mie bit of the machine software interrupt. */
#define MIP_MSIP        (1 << 3)

#ifdef __ASSEMBLER__

/* Name the source in the symbol table. Without this the linker adds a FILE
 * symbol named after gcc's temporary object (ccXXXXXX.o), which differs on
 * every build and would make the ELF files irreproducible. */
        .file   __BASE_FILE__

/* Writes the byte in \reg to the UART, waiting until THR is free (a real
 * 16550 drops bytes otherwise). Clobbers t5 and t6 only, so callers can
 * keep their own state in t0-t4. */
.macro PUTC reg
        li      t5, UART_BASE
.Lputc_wait\@:
        lbu     t6, UART_LSR(t5)
        andi    t6, t6, LSR_THR_EMPTY
        beqz    t6, .Lputc_wait\@
        sb      \reg, 0(t5)
.endm

/* Parks the hart for good. WFI may return spuriously, hence the loop. */
.macro PARK
.Lpark\@:
        wfi
        j       .Lpark\@
.endm

#endif /* __ASSEMBLER__ */
#endif /* GUEST_PLATFORM_H */
