/* spike_trace: a small single-hart program whose instruction trace
 * (rvmsmp bare --trace insns) is compared line for line with Spike's
 * --log-commits output for the same ELF (tests/golden/spike_trace.log,
 * tests/insn_trace.rs). It touches no device: it runs from RAM at
 * 0x80000000, where both machines start it, and ends through HTIF
 * tohost, which both serve. It does not read a1 or t0 before writing them
 * (Spike's boot ROM leaves values in them that rvmsmp's boot does not), nor
 * any counter, misa or the time, which differ between the two machines.
 *
 * It covers: integer arithmetic, every load and store width, compressed
 * instructions, M, A (AMO, LR/SC), CSR reads and writes (including the
 * views sstatus and fcsr), F and D arithmetic with exception flags, an
 * exception taken and returned from with mret, and a trip to U-mode. */

#include "platform.h"

        .section .text.init, "ax"
        .globl  _start
_start:
        /* Integer arithmetic, with compressed forms. */
        li      s0, 0x123456789abcdef0
        li      s1, -7
        add     s2, s0, s1
        sub     s3, s0, s1
        xor     s4, s0, s1
        sltu    s5, s1, s0
        slt     s6, s1, s0
        srai    s7, s1, 1
        srli    s8, s1, 60
        slliw   s9, s0, 5
        addiw   s10, s0, -1
        c.addi  s2, 3
        c.mv    s11, s2
        c.add   s11, s0
        lui     a2, 0xfffff
        auipc   a3, 0

        /* M. */
        mul     a4, s0, s1
        mulhu   a5, s0, s1
        div     a6, s0, s1
        remu    a7, s0, s1
        divw    t1, s1, s0
        div     t2, s0, zero

        /* Loads and stores of every width. */
        la      a0, data
        sd      s0, 0(a0)
        sw      s1, 8(a0)
        sh      s1, 12(a0)
        sb      s1, 14(a0)
        ld      t3, 0(a0)
        lw      t4, 4(a0)
        lwu     t5, 4(a0)
        lh      t6, 2(a0)
        lhu     t3, 2(a0)
        lb      t4, 7(a0)
        lbu     t5, 7(a0)
        c.ld    a1, 0(a0)
        c.sw    a1, 16(a0)

        /* A. */
        li      t0, 5
        amoadd.w  t1, t0, (a0)
        amoswap.d t2, s1, (a0)
        lr.d    t3, (a0)
        sc.d    t4, s0, (a0)
        sc.d    t5, s0, (a0)        /* fails: the reservation is gone */

        /* CSRs, and the trap handler. */
        csrr    t6, mstatus
        csrw    mscratch, s0
        csrrs   t6, mscratch, zero
        la      t0, handler
        csrw    mtvec, t0
        csrci   mscratch, 0xf
        csrsi   mscratch, 0

        /* F and D: turn the FPU on first. */
        li      t0, 1 << 13
        csrs    mstatus, t0
        la      a0, fdata
        fld     fa0, 0(a0)
        fld     fa1, 8(a0)
        fadd.d  fa2, fa0, fa1
        fdiv.d  fa3, fa0, fa1       /* inexact: raises NX */
        fdiv.d  fa4, fa1, fa0       /* inexact again: NX logged again */
        fsqrt.d fa5, fa1
        fcvt.w.d t1, fa3
        feq.d   t2, fa0, fa0
        flw     ft0, 16(a0)
        fmul.s  ft1, ft0, ft0
        fmv.x.d t3, fa2
        fsd     fa3, 24(a0)
        fsw     ft1, 32(a0)
        csrr    t4, fflags
        csrw    fcsr, zero
        csrwi   frm, 1
        fcvt.s.d ft2, fa3

        /* An exception (ecall from M), taken and returned from. */
        li      a7, 93
        ecall
        /* sstatus is a view of mstatus. */
        csrsi   sstatus, 2
        csrci   sstatus, 2

        /* Into U-mode with mret, an ecall back to M. */
        la      t0, user
        csrw    mepc, t0
        li      t0, 3 << 11
        csrc    mstatus, t0
        mret
user:
        li      a0, 42
        ecall
        /* not reached: the handler ends the run on an ecall from U */

handler:
        csrr    t0, mcause
        li      t1, 8
        beq     t0, t1, done
        csrr    t0, mepc
        addi    t0, t0, 4
        csrw    mepc, t0
        mret
done:
        /* Exit status 0: tohost = 1. */
        li      t0, 1
        la      t1, tohost
        sd      t0, 0(t1)
1:      j       1b

        .data
        .align  3
fdata:
        .double 1.0
        .double 3.0
        .float  1.5
        .float  0.0
        .dword  0, 0

        .align  3
data:
        .dword  0, 0, 0, 0

        .section .data.tohost, "aw"
        .align  6
        .globl  tohost
tohost: .dword  0
        .align  6
        .globl  fromhost
fromhost: .dword 0
