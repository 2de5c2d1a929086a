# The M-mode trap handler. After boot the kernel runs in S-mode and M-mode
# sees only one kind of trap: the machine software interrupt, raised by a
# write to this hart's CLINT msip. S-mode cannot take that interrupt itself,
# so it is turned into an S-mode software interrupt (SSIP): this is how the
# harts' inter-processor interrupts reach the kernel.
#
# mscratch points at this hart's struct mscratch (start.c): two save slots,
# then the address of the hart's msip register.

.globl mvec
.align 4
mvec:
        csrrw a0, mscratch, a0
        sd a1, 0(a0)
        sd a2, 8(a0)
        csrr a1, mcause
        li a2, 0x8000000000000003       # interrupt | machine software interrupt
        bne a1, a2, unexpected
        ld a1, 16(a0)
        sw zero, 0(a1)                  # acknowledge: clear msip
        csrsi sip, 2                    # raise SSIP for S-mode, through sip: SSIP is
                                        # its only writable bit, so the read-modify-
                                        # write cannot copy the disk's SEIP line into
                                        # mip's software-writable SEIP bit
        ld a1, 0(a0)
        ld a2, 8(a0)
        csrrw a0, mscratch, a0
        mret

unexpected:
        # Nothing else should ever trap to M-mode: power off with status 255.
        li a1, 0x100000
        li a2, 0x00ff3333
        sw a2, 0(a1)
1:      j 1b
