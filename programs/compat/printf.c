// printf of integers, doubles and strings: glibc's formatting, start-up and
// stdio buffering on the console.
#include <inttypes.h>
#include <stdio.h>

int main(void) {
  printf("%d %i %u %ld %lld\n", -42, 7, 4000000000u, -9000000000L, 1234567890123456789LL);
  printf("%x %X %o %#lx %08d|%-8d|\n", 255, 255, 8, 0xdeadbeefUL, 42, 42);
  printf("%" PRId64 " %" PRIu64 "\n", INT64_MIN, UINT64_MAX);
  printf("%f %.3f %e %g %g\n", 3.14159265358979, 2.0 / 3.0, 6.02214076e23, 1e-10, 100.0);
  printf("%.17g %a\n", 0.1, 1.0);
  printf("%s|%10s|%-10s|%.3s\n", "hello", "right", "left", "truncate");
  printf("%c%c%c %%\n", 'a', 'b', 'c');
  return 0;
}
