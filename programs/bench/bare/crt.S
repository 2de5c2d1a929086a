# The bare-metal entry point of the benchmark programs, for `rvmsmp bare`
# and Spike: both start at the ELF entry in M-mode at 0x80000000 (Spike
# through its boot ROM), with a0 = the hart id. Hart 0 clears .bss, takes
# a stack, turns on the FPU and calls bare_main (htif.c), which never
# returns; any other hart parks. A trap ends the run through bare_trap.

        .section .text.init, "ax", @progbits
        .globl _start
        .type _start, @function
_start:
        csrr t0, mhartid
        bnez t0, park
        la t0, trap
        csrw mtvec, t0
        li t0, 0x2000           # mstatus.FS = Initial: F and D usable
        csrs mstatus, t0
        csrwi fcsr, 0
        la t0, __bss_start
        la t1, _end
1:      bgeu t0, t1, 2f
        sd zero, 0(t0)
        addi t0, t0, 8
        j 1b
2:      la sp, stack_top
        li s0, 0
        call bare_main
park:   wfi
        j park
        .size _start, . - _start

        .align 2
trap:   csrr a0, mcause
        csrr a1, mepc
        csrr a2, mtval
        la sp, stack_top
        call bare_trap

        .bss
        .align 4
        .space 65536
stack_top:
