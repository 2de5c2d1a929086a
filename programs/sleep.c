// sleep: sleeps for the number of milliseconds in argv[1] (default 1) with
// nanosleep, then says so. While it sleeps its hart must take other work,
// which a test checks by timing several sleepers on one slave.
#include "user.h"

int main(int argc, char **argv) {
  long ms = 1;
  if (argc > 1 && parse_long(argv[1], &ms) < 0)
    die("usage: sleep [MILLISECONDS]\n");
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
  long err = sys_nanosleep(&t, 0);
  if (err < 0)
    die("sleep: nanosleep failed with %ld\n", err);
  printf("sleep: slept %ld ms\n", ms);
  return 0;
}
