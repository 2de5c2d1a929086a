// The rvmsmp annotation device: the kernel tells the emulator what it is
// doing (a request posted, served, answered...), and the emulator stamps
// each event with the simulated cycle. See docs/kernel-interface.md. When
// the device tree has no such device (on QEMU), nothing is written.
#include "defs.h"
#include "memlayout.h"

int annotate_present; // set once at boot by hart 0, read-only afterwards

#define ANNOTATE_REG(offset) ((volatile uint64 *)(ANNOTATE + (offset)))

void annotate4(enum annotate_event ev, uint64 a0, uint64 a1, uint64 a2, uint64 a3) {
  if (!annotate_present)
    return;
  *ANNOTATE_REG(0x08) = a0;
  *ANNOTATE_REG(0x10) = a1;
  *ANNOTATE_REG(0x18) = a2;
  *ANNOTATE_REG(0x20) = a3;
  *ANNOTATE_REG(0x00) = ev;
}

void annotate(enum annotate_event ev, uint64 a0, uint64 a1, uint64 a2) { annotate4(ev, a0, a1, a2, 0); }
