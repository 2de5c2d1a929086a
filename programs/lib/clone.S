# Raw thread creation for the threaded programs (see thread.c). Not in
# usys.S because it is not a plain stub: the new thread must start on
# its own stack inside the call.

        .text

# long thread_clone(flags, stack_top, parent_tid, tls, child_tid, fn, arg)
#                   a0     a1         a2          a3   a4         a5  a6
# RISC-V's clone takes (flags, stack, parent_tid, tls, child_tid). fn and
# arg are saved at the top of the new stack, where only the new thread
# reads them back; it runs fn(arg) and then ends itself with exit (93:
# one thread, not the process). The caller gets the new tid or -errno.
        .globl thread_clone
        .type thread_clone, @function
thread_clone:
        andi a1, a1, -16        # the ABI's stack alignment
        addi a1, a1, -16
        sd a5, 0(a1)
        sd a6, 8(a1)
        li a7, 220              # clone
        ecall
        beqz a0, 1f
        ret                     # the caller's thread: a0 = tid or -errno
1:      ld t0, 0(sp)            # the new thread, on its own stack
        ld a0, 8(sp)
        li s0, 0                # end of the frame-pointer chain
        jalr t0
        li a0, 0
        li a7, 93               # exit: this thread only
        ecall
        .size thread_clone, . - thread_clone
