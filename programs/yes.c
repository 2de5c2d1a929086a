// yes: writes "y" lines until a write fails, as coreutils' yes does; it
// stands for yes in the pipeline tests (`rvmsmp run yes.elf | head -1`).
#include "user.h"

int main(void) {
  static char lines[4096];
  for (unsigned i = 0; i < sizeof lines; i += 2)
    lines[i] = 'y', lines[i + 1] = '\n';
  while (sys_write(1, lines, sizeof lines) > 0)
    ;
  return 1;
}
