/* finisher_fail: powers off through the test finisher with status 3, to
 * check that a failing guest's status becomes the emulator's exit status.
 * Only hart 0 writes; the others park so the result never depends on which
 * hart gets there first. */

#include "platform.h"

#define EXIT_CODE 3

        .section .text.init, "ax"
        .globl  _start
_start:
        csrr    t0, mhartid
        bnez    t0, park
        li      t0, FINISHER
        li      t1, (EXIT_CODE << 16) | FINISHER_FAIL
        sw      t1, 0(t0)
park:
        PARK
