# Every hart enters here in M-mode, as QEMU virt boots `-bios none -kernel`:
# a0 = hart id, a1 = the device tree. Give each hart its own stack and go
# to start(), still in M-mode.

#include "param.h"

.section .text.entry
.globl _entry
_entry:
        la sp, boot_stacks
        li t0, KSTACK_SIZE
        addi t1, a0, 1
        mul t0, t0, t1
        add sp, sp, t0          # sp = boot_stacks + (hartid + 1) * KSTACK_SIZE
        li t0, NCPU
        bgeu a0, t0, too_many_harts
        call start
too_many_harts:
        wfi                     # harts beyond NCPU stay parked
        j too_many_harts
