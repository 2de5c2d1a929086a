// Files and pipes: a pipe between parent and child, dup2 of stdout into a
// pipe, a shell-like pipeline `files gen | files count` made with fork,
// exec and pipe, pipe flags through fcntl, and pread/pwrite/ftruncate/
// O_APPEND/fcntl record locks on a file in /tmp.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"

#define SELF "/bin/files"

static int role_main(int argc, char *const argv[]) {
  if (argc >= 2 && strcmp(argv[1], "gen") == 0) {
    for (int i = 1; i <= 500; i++)
      printf("line %d\n", i);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "count") == 0) {
    long lines = 0, bytes = 0;
    char buf[512];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      bytes += n;
      for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    }
    printf("count: %ld lines, %ld bytes\n", lines, bytes);
    return n == 0 ? 0 : 1;
  }
  return 2;
}

static int wait_status(pid_t pid) {
  int st = -1;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

static pid_t fork_flushed(void) {
  fflush(NULL);
  return fork();
}

static ssize_t read_all(int fd, char *buf, size_t len) {
  size_t got = 0;
  ssize_t n;
  while (got < len && (n = read(fd, buf + got, len - got)) > 0)
    got += (size_t)n;
  return (ssize_t)got;
}

int main(int argc, char *argv[]) {
  if (argc > 1)
    return role_main(argc, argv);

  // Parent to child and back through two pipes.
  int down[2], up[2];
  pipe(down);
  pipe(up);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    close(down[1]);
    close(up[0]);
    char buf[64];
    ssize_t n = read_all(down[0], buf, sizeof buf);
    for (ssize_t i = 0; i < n; i++)
      buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
    write(up[1], buf, (size_t)n);
    _exit(0);
  }
  close(down[0]);
  close(up[1]);
  write(down[1], "through the pipe", 16);
  close(down[1]);
  char back[64] = {0};
  ssize_t n = read_all(up[0], back, sizeof back - 1);
  close(up[0]);
  int st = wait_status(pid);
  check(n == 16 && strcmp(back, "THROUGH THE PIPE") == 0 && st == 0,
        "pipe to a child and back: \"%s\"", back);

  // dup2 of stdout into a pipe, in this process.
  int cap[2];
  pipe(cap);
  fflush(stdout);
  int saved = dup(1);
  dup2(cap[1], 1);
  close(cap[1]);
  write(1, "captured", 8);
  dup2(saved, 1);
  close(saved);
  char got[16] = {0};
  n = read(cap[0], got, sizeof got - 1);
  close(cap[0]);
  check(n == 8 && strcmp(got, "captured") == 0, "dup2 redirects fd 1 into a pipe: \"%s\"", got);

  // gen | count, each an exec'd copy of this program.
  int link[2];
  pipe(link);
  pid_t gen = fork_flushed();
  if (gen == 0) {
    dup2(link[1], 1);
    close(link[0]);
    close(link[1]);
    char *args[] = {SELF, "gen", NULL};
    exec_self(SELF, args, role_main);
  }
  pid_t count = fork_flushed();
  if (count == 0) {
    dup2(link[0], 0);
    close(link[0]);
    close(link[1]);
    char *args[] = {SELF, "count", NULL};
    exec_self(SELF, args, role_main);
  }
  close(link[0]);
  close(link[1]);
  int st_gen = wait_status(gen), st_count = wait_status(count);
  check(st_gen == 0 && st_count == 0, "pipeline gen | count: both exit 0");

  // Pipe flags: O_NONBLOCK through fcntl, F_DUPFD_CLOEXEC, O_CLOEXEC.
  int p[2];
  pipe2(p, O_CLOEXEC);
  int fdflags = fcntl(p[0], F_GETFD);
  fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
  errno = 0;
  char c;
  n = read(p[0], &c, 1);
  int eagain = n < 0 && errno == EAGAIN;
  int dupfd = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
  check((fdflags & FD_CLOEXEC) && eagain && dupfd >= 10 && (fcntl(dupfd, F_GETFD) & FD_CLOEXEC),
        "pipe2(O_CLOEXEC), O_NONBLOCK read gives EAGAIN, F_DUPFD_CLOEXEC");
  close(p[0]);
  close(p[1]);
  close(dupfd);

  // A file in /tmp: pwrite, pread, ftruncate, O_APPEND, record locks.
  char path[64];
  snprintf(path, sizeof path, "/tmp/compat-files-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  check(fd >= 0, "create a file in /tmp");
  pwrite(fd, "head", 4, 0);
  pwrite(fd, "tail", 4, 100);
  struct stat sb;
  fstat(fd, &sb);
  char buf[128];
  memset(buf, 'x', sizeof buf);
  n = pread(fd, buf, sizeof buf, 0);
  int hole_zero = 1;
  for (int i = 4; i < 100; i++)
    hole_zero &= buf[i] == 0;
  check(sb.st_size == 104 && n == 104 && memcmp(buf, "head", 4) == 0 &&
            memcmp(buf + 100, "tail", 4) == 0 && hole_zero,
        "pwrite at 0 and 100, pread: size %ld, the gap reads zero", (long)sb.st_size);
  check(lseek(fd, 0, SEEK_CUR) == 0, "pread and pwrite leave the offset at 0");
  ftruncate(fd, 50);
  fstat(fd, &sb);
  n = pread(fd, buf, 10, 100);
  check(sb.st_size == 50 && n == 0, "ftruncate to 50: size %ld, pread past the end reads 0",
        (long)sb.st_size);
  ftruncate(fd, 8192);
  n = pread(fd, buf, 16, 8000);
  check(n == 16 && buf[0] == 0 && buf[15] == 0, "ftruncate to 8192 extends with zeros");
  int afd = open(path, O_WRONLY | O_APPEND);
  write(afd, "end", 3);
  close(afd);
  fstat(fd, &sb);
  n = pread(fd, buf, 3, 8192);
  check(sb.st_size == 8195 && n == 3 && memcmp(buf, "end", 3) == 0,
        "O_APPEND writes at the end: size %ld", (long)sb.st_size);

  struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  check(fcntl(fd, F_SETLK, &lk) == 0, "F_SETLK: write lock on bytes 0-9");
  pid_t parent = getpid();
  pid = fork_flushed();
  if (pid == 0) {
    int cfd = open(path, O_RDWR);
    struct flock mine = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 2};
    int blocked = fcntl(cfd, F_SETLK, &mine) < 0 && (errno == EAGAIN || errno == EACCES);
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    fcntl(cfd, F_GETLK, &probe);
    int seen = probe.l_type == F_WRLCK && probe.l_pid == parent && probe.l_start == 0 &&
               probe.l_len == 10;
    struct flock other = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
    int free_range = fcntl(cfd, F_SETLK, &other) == 0;
    _exit(blocked | seen << 1 | free_range << 2);
  }
  st = wait_status(pid);
  int bits = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
  check(bits & 1, "another process's F_SETLK on the locked range fails (EAGAIN)");
  check(bits & 2, "F_GETLK reports the parent's lock: type, pid, range");
  check(bits & 4, "another process locks bytes 10-19");
  lk.l_type = F_UNLCK;
  fcntl(fd, F_SETLK, &lk);
  pid = fork_flushed();
  if (pid == 0) {
    int cfd = open(path, O_RDWR);
    struct flock mine = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    _exit(fcntl(cfd, F_SETLK, &mine) == 0 ? 0 : 1);
  }
  st = wait_status(pid);
  check(st == 0, "after F_UNLCK another process takes the lock");
  close(fd);
  check(unlink(path) == 0 && access(path, F_OK) < 0, "unlink removes the file");

  return check_status();
}
