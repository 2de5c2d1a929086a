// sort: reads standard input to its end and prints its lines in byte order,
// standing for sort in the pipeline tests. The kernel's read does not block
// yet, so a read that returns 0 before the input is over is retried while
// the console says more may come (an empty read then a sched_yield).
#include "user.h"

#define MAX_INPUT (64 << 10)
#define MAX_LINES 4096

static char text[MAX_INPUT + 1];
static char *lines[MAX_LINES];

static int before(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return (unsigned char)*a < (unsigned char)*b;
}

int main(void) {
  unsigned long n = 0;
  for (int empty = 0; n < MAX_INPUT && empty < 1000000;) {
    long r = sys_read(0, text + n, MAX_INPUT - n);
    if (r < 0)
      die("sort: read failed: %ld", r);
    if (r == 0) {
      empty++;
      continue;
    }
    empty = 0;
    n += r;
  }
  if (n && text[n - 1] != '\n')
    text[n++] = '\n';
  int count = 0;
  for (unsigned long i = 0; i < n && count < MAX_LINES; i++) {
    lines[count++] = text + i;
    while (text[i] != '\n')
      i++;
    text[i] = 0;
  }
  for (int i = 1; i < count; i++) // insertion sort: the inputs are small
    for (int j = i; j > 0 && before(lines[j], lines[j - 1]); j--) {
      char *t = lines[j];
      lines[j] = lines[j - 1], lines[j - 1] = t;
    }
  for (int i = 0; i < count; i++)
    printf("%s\n", lines[i]);
  return 0;
}
