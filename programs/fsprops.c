// fsprops: runs scripts of file calls in several processes at once, for
// the file-calls property test (tests/fsprops.rs), which predicts every
// result from a model.
//
//   fsprops DIR -p OP... [-p OP...]...
//
// Each -p starts the script of one more process (a child of this one);
// process k works in DIR/pK (which it makes), on the names n0..n7 there,
// with four descriptor slots. An OP is a letter and numbers, comma-separated:
//
//   O,name,slot          open nNAME (O_RDWR | O_CREAT, 0644) into the slot
//                        (closing what the slot held)
//   W,slot,off,len,seed  pwrite len bytes at off: byte j is (seed + 7j) mod 251
//   R,slot,off,len       pread up to len bytes at off
//   T,slot,len           ftruncate
//   N,from,to            rename nFROM to nTO
//   U,name               unlink nNAME
//   C,slot               close the slot
//   S,name               stat nNAME
//
// An empty slot is descriptor -1 (EBADF). pwrite and pread go on after a
// short count, as a program must. Each op prints one line, "K I: RESULT",
// where RESULT is "= N" (the call's value; for R also " h=H", the FNV-1a
// hash of what was read; for S the size) or "E ERRNO". Lines of one process
// come in its order; the processes' lines interleave.
#include "user.h"

#define SYS_ftruncate 46
#define SYS_renameat2 276
#define SYS_clone 220
#define SIGCHLD 17
#define NSLOTS 4
#define MAXLEN 65536

static unsigned char buf[MAXLEN];

static uint64_t fnv(const unsigned char *p, long n) {
  uint64_t h = 0xcbf29ce484222325UL;
  for (long i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3UL;
  return h;
}

// The numbers after the op's letter: how many were read.
static int numbers(const char *s, long *v, int max) {
  int n = 0;
  while (*s == ',' && n < max) {
    s++;
    long x = 0;
    if (*s < '0' || *s > '9')
      return -1;
    while (*s >= '0' && *s <= '9')
      x = x * 10 + (*s++ - '0');
    v[n++] = x;
  }
  return *s ? -1 : n;
}

static void name_of(char *out, unsigned long size, const char *dir, long k, long name) {
  snprintf(out, size, "%s/p%ld/n%ld", dir, k, name);
}

// Moves len bytes at off, going on after short counts: the total, or an error.
static long transfer(int write, long fd, long off, long len) {
  long done = 0;
  while (done < len) {
    long r = write ? sys_pwrite64(fd, buf + done, len - done, off + done)
                   : sys_pread64(fd, buf + done, len - done, off + done);
    if (r < 0)
      return done ? done : r;
    if (r == 0)
      break;
    done += r;
  }
  return done;
}

static void run_script(const char *dir, long k, char **ops, int nops) {
  char path[256], path2[256];
  snprintf(path, sizeof path, "%s/p%ld", dir, k);
  long r = sys_mkdirat(AT_FDCWD, path, 0755);
  if (r < 0)
    die("fsprops: %s: mkdir: %s", path, strerror(-r));
  long slot[NSLOTS] = {-1, -1, -1, -1};
  for (int i = 0; i < nops; i++) {
    long v[4];
    int n = numbers(ops[i] + 1, v, 4);
    char op = ops[i][0];
    int want = op == 'W' ? 4 : op == 'R' ? 3 : op == 'O' || op == 'T' || op == 'N' ? 2 : 1;
    if (n != want || ((op == 'W' || op == 'R') && v[2] > MAXLEN))
      die("fsprops: bad op %s", ops[i]);
    long s = v[0] % NSLOTS;
    uint64_t hash = 0;
    switch (op) {
    case 'O':
      name_of(path, sizeof path, dir, k, v[0]);
      if (slot[v[1] % NSLOTS] >= 0)
        sys_close(slot[v[1] % NSLOTS]);
      r = open(path, O_RDWR | O_CREAT, 0644);
      slot[v[1] % NSLOTS] = r < 0 ? -1 : r;
      if (r >= 0)
        r = 0; // descriptor numbers are not the model's business
      break;
    case 'W':
      for (long j = 0; j < v[2]; j++)
        buf[j] = (unsigned char)((v[3] + 7 * j) % 251);
      r = transfer(1, slot[s], v[1], v[2]);
      break;
    case 'R':
      r = transfer(0, slot[s], v[1], v[2]);
      if (r >= 0)
        hash = fnv(buf, r);
      break;
    case 'T': r = raw_syscall(SYS_ftruncate, slot[s], v[1], 0, 0, 0, 0); break;
    case 'N':
      name_of(path, sizeof path, dir, k, v[0]);
      name_of(path2, sizeof path2, dir, k, v[1]);
      r = raw_syscall(SYS_renameat2, AT_FDCWD, (long)path, AT_FDCWD, (long)path2, 0, 0);
      break;
    case 'U':
      name_of(path, sizeof path, dir, k, v[0]);
      r = sys_unlinkat(AT_FDCWD, path, 0);
      break;
    case 'C':
      r = sys_close(slot[s]);
      slot[s] = -1;
      break;
    case 'S': {
      struct stat st;
      name_of(path, sizeof path, dir, k, v[0]);
      r = sys_newfstatat(AT_FDCWD, path, &st, 0);
      if (r == 0)
        r = st.st_size;
      break;
    }
    default: die("fsprops: bad op %s", ops[i]);
    }
    if (r < 0)
      printf("%ld %d: E %ld\n", k, i, -r);
    else if (op == 'R')
      printf("%ld %d: = %ld h=%lx\n", k, i, r, (unsigned long)hash);
    else
      printf("%ld %d: = %ld\n", k, i, r);
  }
  for (int j = 0; j < NSLOTS; j++)
    if (slot[j] >= 0)
      sys_close(slot[j]);
}

int main(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[2], "-p") != 0) {
    dprintf(2, "usage: fsprops DIR -p OP... [-p OP...]...\n");
    return 2;
  }
  const char *dir = argv[1];
  long k = 0, children = 0;
  for (int i = 2; i < argc; k++) {
    int first = i + 1, end = first;
    while (end < argc && strcmp(argv[end], "-p") != 0)
      end++;
    long pid = raw_syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
    if (pid < 0)
      die("fsprops: fork: %s", strerror(-pid));
    if (pid == 0) {
      run_script(dir, k, argv + first, end - first);
      sys_exit_group(0);
    }
    children++;
    i = end;
  }
  int failed = 0;
  for (; children > 0; children--) {
    int status;
    if (sys_wait4(-1, &status, 0, 0) < 0 || status != 0)
      failed = 1;
  }
  printf("fsprops: %s\n", failed ? "a process failed" : "done");
  return failed;
}
