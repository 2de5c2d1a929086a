// hello: the smallest useful program. It says which process it is and
// which hart runs it, to show where the kernel placed each copy.
#include "user.h"

int main(void) {
  unsigned cpu = 0;
  long r = sys_getcpu(&cpu, 0, 0);
  if (r < 0)
    die("hello: getcpu failed: %ld", r);
  printf("hello from pid %ld on hart %u\n", sys_getpid(), cpu);
  return 0;
}
