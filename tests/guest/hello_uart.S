/* hello_uart: the smallest useful guest, a smoke test of booting, the UART
 * and the finisher. Hart 0 prints one line and powers off with status 0;
 * every other hart parks in WFI (with no interrupt enabled it never wakes,
 * which is fine: hart 0's power-off ends the run). */

#include "platform.h"

        .section .text.init, "ax"
        .globl  _start
_start:
        csrr    t0, mhartid
        bnez    t0, park
        la      t0, message
1:      lbu     t1, 0(t0)
        beqz    t1, 2f
        PUTC    t1
        addi    t0, t0, 1
        j       1b
2:      li      t0, FINISHER
        li      t1, FINISHER_PASS
        sw      t1, 0(t0)
park:
        PARK

        .section .rodata
message:
        .asciz  "hello from hart 0\n"
