# _start: the process entry point, as Linux on RISC-V enters a static
# program. At entry sp points to argc, then argv[] (NULL-terminated), then
# envp[] (NULL-terminated), then the auxiliary vector; sp is 16-byte
# aligned. We call main(argc, argv, envp) and exit with what it returns.

        .text
        .globl _start
        .type _start, @function
_start:
        # gp must be set without relaxation, or the assembler would try to
        # compute gp relative to itself.
        .option push
        .option norelax
        la gp, __global_pointer$
        .option pop
        li s0, 0                # end of the frame-pointer chain
        ld a0, 0(sp)            # argc
        addi a1, sp, 8          # argv
        slli t0, a0, 3
        add a2, a1, t0
        addi a2, a2, 8          # envp = &argv[argc + 1]
        call main
        call sys_exit_group     # a0 = main's return value; never returns
        .size _start, . - _start
