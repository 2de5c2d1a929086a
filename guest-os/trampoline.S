# The trampoline: the only code that runs with a user page table in satp.
# It is mapped at TRAMPOLINE in every address space (the kernel's too), so
# it keeps running across the satp switch. Each thread's trapframe is
# mapped in its address space at its slot (memlayout.h TRAPFRAME_SLOT), for
# S-mode only; while the thread runs in user mode, sscratch holds that
# address.
#
# Trapframe layout (struct trapframe in proc.h; offsets in bytes):
#   0 kernel_satp   8 kernel_sp   16 kernel_trap   24 epc   32 hartid
#   40 + 8*(i-1): register x_i, for i = 1..31 (a0 = x10 is at 112)
#   288 + 8*i: register f_i, for i = 0..31   544 fcsr   552 fp_valid
#
# Floating point: the state is saved when the process has dirtied it
# (sstatus.FS = Dirty) and restored on every return to a process that has
# saved state, since the process may resume on another hart. The kernel
# itself never uses floating point.

#include "memlayout.h"

#define FS_SHIFT 13
#define FS_INITIAL 1
#define FS_CLEAN 2
#define FS_DIRTY 3

.option arch, +d

.section trampsec
.globl trampoline
.globl uservec
.globl userret
trampoline:
.align 4
uservec:
        # A trap from user mode: save every user register in the trapframe,
        # then enter the kernel on the hart's stack with its page table.
        csrrw a0, sscratch, a0          # a0 = the trapframe, sscratch = the user's a0
        sd x1, 40(a0)
        sd x2, 48(a0)
        sd x3, 56(a0)
        sd x4, 64(a0)
        sd x5, 72(a0)
        sd x6, 80(a0)
        sd x7, 88(a0)
        sd x8, 96(a0)
        sd x9, 104(a0)
        sd x11, 120(a0)
        sd x12, 128(a0)
        sd x13, 136(a0)
        sd x14, 144(a0)
        sd x15, 152(a0)
        sd x16, 160(a0)
        sd x17, 168(a0)
        sd x18, 176(a0)
        sd x19, 184(a0)
        sd x20, 192(a0)
        sd x21, 200(a0)
        sd x22, 208(a0)
        sd x23, 216(a0)
        sd x24, 224(a0)
        sd x25, 232(a0)
        sd x26, 240(a0)
        sd x27, 248(a0)
        sd x28, 256(a0)
        sd x29, 264(a0)
        sd x30, 272(a0)
        sd x31, 280(a0)
        csrr t0, sscratch
        sd t0, 112(a0)                  # the user's a0
        csrr t0, sepc
        sd t0, 24(a0)
        csrr t0, sstatus
        srli t0, t0, FS_SHIFT
        andi t0, t0, 3
        li t1, FS_DIRTY
        bne t0, t1, 1f
        fsd f0, 288(a0)
        fsd f1, 296(a0)
        fsd f2, 304(a0)
        fsd f3, 312(a0)
        fsd f4, 320(a0)
        fsd f5, 328(a0)
        fsd f6, 336(a0)
        fsd f7, 344(a0)
        fsd f8, 352(a0)
        fsd f9, 360(a0)
        fsd f10, 368(a0)
        fsd f11, 376(a0)
        fsd f12, 384(a0)
        fsd f13, 392(a0)
        fsd f14, 400(a0)
        fsd f15, 408(a0)
        fsd f16, 416(a0)
        fsd f17, 424(a0)
        fsd f18, 432(a0)
        fsd f19, 440(a0)
        fsd f20, 448(a0)
        fsd f21, 456(a0)
        fsd f22, 464(a0)
        fsd f23, 472(a0)
        fsd f24, 480(a0)
        fsd f25, 488(a0)
        fsd f26, 496(a0)
        fsd f27, 504(a0)
        fsd f28, 512(a0)
        fsd f29, 520(a0)
        fsd f30, 528(a0)
        fsd f31, 536(a0)
        frcsr t0
        sd t0, 544(a0)
        li t0, 1
        sd t0, 552(a0)
1:
        ld sp, 8(a0)
        ld tp, 32(a0)
        ld t0, 16(a0)
        ld t1, 0(a0)
        sfence.vma zero, zero
        csrw satp, t1
        sfence.vma zero, zero
        jr t0                           # the hart's trap handler; it never returns here

# userret(satp, trapframe): switch to the user page table and return to
# user mode with the registers in the trapframe (its address in that page
# table). sstatus must already say "return to U".
userret:
        sfence.vma zero, zero
        csrw satp, a0
        sfence.vma zero, zero
        csrw sscratch, a1
        mv a0, a1
        ld t0, 24(a0)
        csrw sepc, t0
        # Floating point on (Initial) for the process; then its state, if it
        # has one, which leaves it Clean.
        li t0, 3 << FS_SHIFT
        csrc sstatus, t0
        li t0, FS_INITIAL << FS_SHIFT
        csrs sstatus, t0
        ld t0, 552(a0)
        beqz t0, 2f
        fld f0, 288(a0)
        fld f1, 296(a0)
        fld f2, 304(a0)
        fld f3, 312(a0)
        fld f4, 320(a0)
        fld f5, 328(a0)
        fld f6, 336(a0)
        fld f7, 344(a0)
        fld f8, 352(a0)
        fld f9, 360(a0)
        fld f10, 368(a0)
        fld f11, 376(a0)
        fld f12, 384(a0)
        fld f13, 392(a0)
        fld f14, 400(a0)
        fld f15, 408(a0)
        fld f16, 416(a0)
        fld f17, 424(a0)
        fld f18, 432(a0)
        fld f19, 440(a0)
        fld f20, 448(a0)
        fld f21, 456(a0)
        fld f22, 464(a0)
        fld f23, 472(a0)
        fld f24, 480(a0)
        fld f25, 488(a0)
        fld f26, 496(a0)
        fld f27, 504(a0)
        fld f28, 512(a0)
        fld f29, 520(a0)
        fld f30, 528(a0)
        fld f31, 536(a0)
        ld t0, 544(a0)
        fscsr t0
        li t0, 3 << FS_SHIFT
        csrc sstatus, t0
        li t0, FS_CLEAN << FS_SHIFT
        csrs sstatus, t0
2:
        ld x1, 40(a0)
        ld x2, 48(a0)
        ld x3, 56(a0)
        ld x4, 64(a0)
        ld x5, 72(a0)
        ld x6, 80(a0)
        ld x7, 88(a0)
        ld x8, 96(a0)
        ld x9, 104(a0)
        ld x11, 120(a0)
        ld x12, 128(a0)
        ld x13, 136(a0)
        ld x14, 144(a0)
        ld x15, 152(a0)
        ld x16, 160(a0)
        ld x17, 168(a0)
        ld x18, 176(a0)
        ld x19, 184(a0)
        ld x20, 192(a0)
        ld x21, 200(a0)
        ld x22, 208(a0)
        ld x23, 216(a0)
        ld x24, 224(a0)
        ld x25, 232(a0)
        ld x26, 240(a0)
        ld x27, 248(a0)
        ld x28, 256(a0)
        ld x29, 264(a0)
        ld x30, 272(a0)
        ld x31, 280(a0)
        ld a0, 112(a0)
        sret

# The page a signal handler returns to (memlayout.h SIGRETURN_PAGE),
# mapped user-executable in every address space: rt_sigreturn.
.section sigretsec, "ax"
        li a7, 139
        ecall
