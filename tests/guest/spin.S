/* spin: every hart loops forever without WFI, so the run can only end by
 * --max-cycles (or a host-side limit); used to test that limit. */

#include "platform.h"

        .section .text.init, "ax"
        .globl  _start
_start:
1:      j       1b
