# Traps taken while a hart runs kernel code. The kernel runs with
# interrupts off, so these are always exceptions, i.e. kernel bugs:
# hand them to kernel_fault() (trap.c), which panics with a backtrace.

.globl kernelvec
.align 4
kernelvec:
        addi sp, sp, -16
        sd ra, 8(sp)
        sd s0, 0(sp)
        addi s0, sp, 16
        call kernel_fault
1:      j 1b
