// args: prints every argv and envp entry as given, one a line with its
// length (so empty entries, spaces and any byte show), to check that they
// arrive byte for byte. With "-e", it also writes numbered lines to stdout
// and stderr in turn, to check that the two streams stay apart and in order.
#include "user.h"

static void put(long fd, const char *s) { sys_write(fd, s, strlen(s)); }

static void show(const char *list, int i, const char *s) {
  printf("%s[%d] %lu: ", list, i, strlen(s));
  sys_write(1, s, strlen(s));
  put(1, "\n");
}

int main(int argc, char **argv, char **envp) {
  int streams = 0;
  for (int i = 0; i < argc; i++) {
    show("argv", i, argv[i]);
    if (argv[i][0] == '-' && argv[i][1] == 'e' && argv[i][2] == 0)
      streams = 1;
  }
  for (int i = 0; envp[i]; i++)
    show("envp", i, envp[i]);
  for (int k = 0; streams && k < 3; k++) {
    printf("out %d\n", k);
    put(2, k == 0 ? "err 0\n" : k == 1 ? "err 1\n" : "err 2\n");
  }
  return 0;
}
