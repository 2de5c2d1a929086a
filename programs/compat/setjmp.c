// setjmp and longjmp, including from a nested call.
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth;

static void dive(int n) {
  depth = n;
  if (n == 10)
    longjmp(env, n);
  dive(n + 1);
}

int main(void) {
  volatile int tries = 0;
  int value = setjmp(env);
  tries++;
  if (value == 0) {
    printf("first pass\n");
    dive(0);
  }
  printf("longjmp returned %d after depth %d, %d passes\n", value, depth, tries);
  return value == 10 ? 0 : 1;
}
