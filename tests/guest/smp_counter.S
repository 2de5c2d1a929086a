/* smp_counter: every hart increments two shared counters, one with AMOs
 * and one with LR/SC retry loops, and harts wake each other with CLINT
 * software interrupts (IPIs). The final counts must be exact.
 *
 * This is the project's SMP acceptance test: it exercises amoadd.d, lr.d /
 * sc.d (including SC failures when another hart runs between LR and SC),
 * msip writes, WFI wake-up on a pending interrupt, and determinism (two runs
 * must give identical cycle counts; the test harness checks that part).
 *
 * Plan:
 *   0. Every hart enables only its software interrupt in mie and leaves
 *      mstatus.MIE clear: WFI then returns when msip is raised, but no trap
 *      is taken, so no interrupt handler is needed. Each hart checks in with
 *      an amoadd on `checked_in`.
 *   1. Hart 0 counts the cpu@ nodes of the device tree (a1) to learn N, and
 *      waits until all N harts have checked in (so every hart has set up mie
 *      before it is woken).
 *   2. Chain: hart 0 does its increments then IPIs hart 1; each woken hart k
 *      checks that exactly k harts have incremented so far (only one hart
 *      runs at a time in the chain), does its increments, and IPIs hart
 *      (k+1) mod N. The last hart wakes hart 0 again.
 *   3. Concurrent: hart 0 IPIs every other hart and increments at the same
 *      time, so LR/SC loops are contended. Each hart then bumps `done`; the
 *      hart that brings it to N IPIs hart 0.
 *   4. Hart 0 checks amo_count == lrsc_count == N*(K+KC), errors == 0,
 *      prints one line and powers off with status 0 (1 on a mismatch):
 *        smp_counter: harts=N amo=A lrsc=L sc-retries=R ok
 *      R (failed SCs) depends on scheduling, so it is reported, not checked.
 *
 * Registers kept across the whole program: s0 = hart id, s1 = N.
 * Helper routines are leaves that use only a0-a2 and t0-t6, so no stack is
 * needed (and an unexpected trap can still print).
 */

#include "platform.h"

/* Increments per hart and per counter: K in the chain, KC in the
 * concurrent phase. KC is large enough that a hart's loop spans several
 * scheduling quanta, so other harts run between some LR and its SC and
 * those SCs fail; both stay small so that 64 harts finish quickly. */
#define K               100
#define KC              1000
#define FDT_MAGIC       0xd00dfeed
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9
/* "cpu@" read as a little-endian 32-bit word. */
#define CPU_AT          0x40757063

/* rd = the big-endian 32-bit value at 0(base); tmp is clobbered. The device
 * tree is big-endian and the hart is little-endian (no Zbb rev8 here). */
.macro BE32 rd, base, tmp
        lbu     \rd, 0(\base)
        lbu     \tmp, 1(\base)
        slli    \rd, \rd, 8
        or      \rd, \rd, \tmp
        lbu     \tmp, 2(\base)
        slli    \rd, \rd, 8
        or      \rd, \rd, \tmp
        lbu     \tmp, 3(\base)
        slli    \rd, \rd, 8
        or      \rd, \rd, \tmp
.endm

        .section .text.init, "ax"
        .globl  _start
_start:
        /* mhartid is the architectural truth; a0 holds the same value. */
        csrr    s0, mhartid
        la      t0, trap
        csrw    mtvec, t0
        li      t0, MIP_MSIP
        csrw    mie, t0
        la      t0, checked_in
        li      t1, 1
        amoadd.d zero, t1, (t0)
        bnez    s0, secondary

/* ---- hart 0 ---------------------------------------------------------- */
        mv      a0, a1
        call    count_cpus
        mv      s1, a0
        beqz    s1, bad_fdt

        /* Wait for every hart to check in before waking any of them. */
        la      t0, checked_in
1:      ld      t1, 0(t0)
        bltu    t1, s1, 1b

        /* Publish N for the secondaries before the first IPI (send_ipi
         * fences, so they see it when they wake). */
        la      t0, nharts
        sd      s1, 0(t0)

        /* Phase 2: the chain starts and ends here. */
        call    check_chain_order
        li      a0, K
        call    work
        li      a0, 1
        remu    a0, a0, s1              /* next hart; wraps to 0 when N == 1 */
        call    send_ipi
        call    wait_ipi

        /* Phase 3: wake everybody else and increment alongside them. */
        li      s2, 1
2:      bgeu    s2, s1, 3f
        mv      a0, s2
        call    send_ipi
        addi    s2, s2, 1
        j       2b
3:      li      a0, KC
        call    work
        call    finish_phase
        call    wait_ipi                /* from whichever hart finished last */

        /* Phase 4: check and report. */
        la      a0, msg_harts
        call    print_str
        mv      a0, s1
        call    print_dec
        la      a0, msg_amo
        call    print_str
        la      t0, amo_count
        ld      a0, 0(t0)
        call    print_dec
        la      a0, msg_lrsc
        call    print_str
        la      t0, lrsc_count
        ld      a0, 0(t0)
        call    print_dec
        la      a0, msg_retries
        call    print_str
        la      t0, sc_failures
        ld      a0, 0(t0)
        call    print_dec

        li      t0, K + KC
        mul     s3, s1, t0              /* s3 = expected count */
        la      t0, amo_count
        ld      t1, 0(t0)
        bne     t1, s3, mismatch
        la      t0, lrsc_count
        ld      t1, 0(t0)
        bne     t1, s3, mismatch
        la      t0, errors
        ld      t1, 0(t0)
        bnez    t1, mismatch
        la      a0, msg_ok
        call    print_str
        li      a0, 0
        j       exit

mismatch:
        la      a0, msg_errors
        call    print_str
        la      t0, errors
        ld      a0, 0(t0)
        call    print_dec
        la      a0, msg_expected
        call    print_str
        mv      a0, s3
        call    print_dec
        la      a0, msg_fail
        call    print_str
        li      a0, 1
        j       exit

bad_fdt:
        la      a0, msg_bad_fdt
        call    print_str
        li      a0, 2
        j       exit

/* ---- harts 1 .. N-1 -------------------------------------------------- */
secondary:
        /* Each secondary gets exactly two IPIs: one from the chain, one from
         * hart 0's broadcast. The broadcast can only come after this hart
         * has passed the chain on, so the two never merge. */
        call    wait_ipi
        la      t0, nharts
        ld      s1, 0(t0)
        call    check_chain_order
        li      a0, K
        call    work
        addi    a0, s0, 1
        remu    a0, a0, s1
        call    send_ipi

        call    wait_ipi
        li      a0, KC
        call    work
        call    finish_phase
        PARK

/* ---- helpers (leaves; a0-a2 and t0-t6 only) -------------------------- */

/* Waits in WFI until this hart's msip is set, then clears it. WFI may
 * return for no reason, so the pending bit is checked each time. */
wait_ipi:
1:      wfi
        csrr    t0, mip
        andi    t0, t0, MIP_MSIP
        beqz    t0, 1b
        li      t0, CLINT_BASE
        slli    t1, s0, 2
        add     t0, t0, t1
        sw      zero, 0(t0)
        /* Order the clear before our later RAM accesses, so a sender that
         * sees our work done cannot have its next IPI lost to this clear. */
        fence
        ret

/* Raises msip of hart a0. The fence makes this hart's earlier stores to
 * RAM visible before the device write that wakes the target. */
send_ipi:
        fence
        li      t0, CLINT_BASE
        slli    t1, a0, 2
        add     t0, t0, t1
        li      t1, 1
        sw      t1, 0(t0)
        ret

/* a0 increments of amo_count with amoadd.d, then a0 increments of
 * lrsc_count with lr.d/sc.d, retrying on SC failure; the failures are added
 * to sc_failures (a measure of contention, reported but not checked). */
work:
        la      t0, amo_count
        mv      t1, a0
        li      t2, 1
1:      amoadd.d zero, t2, (t0)
        addi    t1, t1, -1
        bnez    t1, 1b

        la      t0, lrsc_count
        mv      t1, a0
        li      t3, 0
2:      lr.d    t4, (t0)
        addi    t4, t4, 1
        sc.d    t5, t4, (t0)
        beqz    t5, 3f
        addi    t3, t3, 1
        j       2b
3:      addi    t1, t1, -1
        bnez    t1, 2b

        la      t0, sc_failures
        amoadd.d zero, t3, (t0)
        ret

/* In the chain exactly s0 harts have incremented before hart s0 runs, so
 * both counters must equal s0*K; otherwise count an error. */
check_chain_order:
        li      t0, K
        mul     t0, t0, s0
        la      t1, amo_count
        ld      t2, 0(t1)
        bne     t2, t0, 1f
        la      t1, lrsc_count
        ld      t2, 0(t1)
        bne     t2, t0, 1f
        ret
1:      la      t1, errors
        li      t2, 1
        amoadd.d zero, t2, (t1)
        ret

/* Counts this hart out of phase 3; the hart that makes `done` reach N wakes
 * hart 0 (possibly itself). s1 must hold N. */
finish_phase:
        la      t0, done
        li      t1, 1
        amoadd.d t2, t1, (t0)
        addi    t2, t2, 1
        bne     t2, s1, 1f
        mv      a2, ra
        li      a0, 0
        call    send_ipi
        mv      ra, a2
1:      ret

/* a0 = number of device tree nodes named cpu@..., walking the structure
 * block token by token; 0 if a0 does not point at a device tree. */
count_cpus:
        mv      a1, a0
        li      a0, 0
        BE32    t0, a1, t1
        li      t2, FDT_MAGIC
        bne     t0, t2, .Lcc_done
        addi    t3, a1, 8               /* off_dt_struct */
        BE32    t0, t3, t1
        add     a2, a1, t0              /* a2 = cursor */
        li      t4, CPU_AT
.Lcc_next:
        BE32    t0, a2, t1
        addi    a2, a2, 4
        li      t2, FDT_BEGIN_NODE
        beq     t0, t2, .Lcc_begin
        li      t2, FDT_PROP
        beq     t0, t2, .Lcc_prop
        li      t2, FDT_END_NODE
        beq     t0, t2, .Lcc_next
        li      t2, FDT_NOP
        beq     t0, t2, .Lcc_next
        /* FDT_END, or anything unexpected: stop rather than run away. */
.Lcc_done:
        ret
.Lcc_begin:
        lwu     t0, 0(a2)               /* names start 4-aligned after the token */
        bne     t0, t4, .Lcc_skip_name
        addi    a0, a0, 1
.Lcc_skip_name:
        lbu     t0, 0(a2)
        addi    a2, a2, 1
        bnez    t0, .Lcc_skip_name
        addi    a2, a2, 3
        andi    a2, a2, -4
        j       .Lcc_next
.Lcc_prop:
        BE32    t0, a2, t1              /* value length; then nameoff */
        addi    a2, a2, 8
        add     a2, a2, t0
        addi    a2, a2, 3
        andi    a2, a2, -4
        j       .Lcc_next

/* Prints the NUL-terminated string at a0. */
print_str:
1:      lbu     t0, 0(a0)
        beqz    t0, 2f
        PUTC    t0
        addi    a0, a0, 1
        j       1b
2:      ret

/* Prints a0 in decimal: find the largest power of ten not above it (p*10
 * cannot overflow while p*10 <= a0), then emit one digit per power. */
print_dec:
        li      t1, 10
        li      t0, 1
1:      divu    t2, a0, t0
        bltu    t2, t1, 2f
        mul     t0, t0, t1
        j       1b
2:      divu    t2, a0, t0
        remu    a0, a0, t0
        addi    t2, t2, '0'
        PUTC    t2
        divu    t0, t0, t1
        bnez    t0, 2b
        ret

/* Prints a0 as 0x followed by 16 hex digits. */
print_hex:
        li      t0, '0'
        PUTC    t0
        li      t0, 'x'
        PUTC    t0
        li      t1, 60
1:      srl     t2, a0, t1
        andi    t2, t2, 15
        li      t3, 10
        bltu    t2, t3, 2f
        addi    t2, t2, 'a' - '0' - 10
2:      addi    t2, t2, '0'
        PUTC    t2
        addi    t1, t1, -4
        bgez    t1, 1b
        ret

/* Powers off through the finisher with status a0. */
exit:
        li      t0, FINISHER
        li      t1, FINISHER_PASS
        beqz    a0, 1f
        slli    t1, a0, 16
        li      t2, FINISHER_FAIL
        or      t1, t1, t2
1:      sw      t1, 0(t0)
        PARK

/* No trap is expected (interrupts stay disabled in mstatus); if one comes,
 * say where and stop with status 2 instead of hanging. */
        .balign 4
trap:
        la      a0, msg_trap
        call    print_str
        csrr    a0, mhartid
        call    print_dec
        la      a0, msg_mcause
        call    print_str
        csrr    a0, mcause
        call    print_hex
        la      a0, msg_mepc
        call    print_str
        csrr    a0, mepc
        call    print_hex
        la      a0, msg_mtval
        call    print_str
        csrr    a0, mtval
        call    print_hex
        la      a0, msg_nl
        call    print_str
        li      a0, 2
        j       exit

        .section .rodata
msg_harts:      .asciz "smp_counter: harts="
msg_amo:        .asciz " amo="
msg_lrsc:       .asciz " lrsc="
msg_retries:    .asciz " sc-retries="
msg_ok:         .asciz " ok\n"
msg_errors:     .asciz " errors="
msg_expected:   .asciz " expected="
msg_fail:       .asciz " FAIL\n"
msg_bad_fdt:    .asciz "smp_counter: a1 does not point at a device tree\n"
msg_trap:       .asciz "smp_counter: unexpected trap on hart "
msg_mcause:     .asciz " mcause="
msg_mepc:       .asciz " mepc="
msg_mtval:      .asciz " mtval="
msg_nl:         .asciz "\n"

        .section .data
/* Each shared word on its own 64-byte line, as real SMP code would keep
 * them, so the counters do not share a reservation granule with the flags. */
        .balign 64
checked_in:     .dword 0
        .balign 64
nharts:         .dword 0
        .balign 64
amo_count:      .dword 0
        .balign 64
lrsc_count:     .dword 0
        .balign 64
sc_failures:    .dword 0
        .balign 64
errors:         .dword 0
        .balign 64
done:           .dword 0
