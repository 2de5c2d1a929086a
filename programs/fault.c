// fault: stores to an unmapped address, so that the kernel must kill it
// (a shell reports status 139, death by SIGSEGV). It says so first, so a
// test can tell that it ran up to the fault. With an argument PID, only
// the process with that pid faults, and the others must go on.
#include "user.h"

int main(int argc, char **argv) {
  long only;
  if (argc > 1 && parse_long(argv[1], &only) == 0 && sys_getpid() != only) {
    printf("fault: pid %ld goes on\n", sys_getpid());
    return 0;
  }
  printf("fault: about to fault\n");
  // Page 0 is never mapped. The pointer is volatile so that gcc cannot see
  // (and warn about, or drop) the bad store.
  int *volatile bad = (int *)0x10;
  *bad = 1;
  printf("fault: still alive\n");
  return 1;
}
