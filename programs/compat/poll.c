// poll, ppoll and select on pipes and files: readiness of each end, end
// of file and a closed reader, a timeout that expires, a wait that a
// child's write ends, a signal that interrupts a wait, and select's sets.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"

static void on_alarm(int sig) { (void)sig; }

static pid_t fork_flushed(void) {
  fflush(NULL);
  return fork();
}

int main(void) {
  int p[2];
  check(pipe(p) == 0, "pipe");
  struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  check(poll(fds, 2, 0) == 1 && fds[0].revents == 0 && fds[1].revents == POLLOUT,
        "an empty pipe: the write end is ready, the read end is not");
  check(write(p[1], "x", 1) == 1 && poll(fds, 2, 0) == 2 && fds[0].revents == POLLIN,
        "after a write both ends are ready");
  char c;
  check(read(p[0], &c, 1) == 1, "read it back");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = poll(fds, 1, 30);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  check(r == 0 && ms >= 29, "poll with nothing to read times out after its 30 ms");

  // A child writes after a pause: the parent's poll with no timeout wakes.
  pid_t pid = fork_flushed();
  if (pid == 0) {
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    write(p[1], "y", 1);
    _exit(0);
  }
  fds[0].revents = 0;
  check(poll(fds, 1, -1) == 1 && fds[0].revents == POLLIN, "a child's write ends a poll without timeout");
  check(read(p[0], &c, 1) == 1 && c == 'y', "the child's byte");
  waitpid(pid, NULL, 0);

  // select: the same pipe, through fd sets.
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p[0], &rd);
  FD_SET(p[1], &wr);
  check(select(p[1] + 1, &rd, &wr, NULL, &(struct timeval){0, 0}) == 1 && !FD_ISSET(p[0], &rd) &&
            FD_ISSET(p[1], &wr),
        "select: only the write end is ready");
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  struct timeval tv = {0, 20000};
  check(select(p[0] + 1, &rd, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &rd), "select times out and clears the set");
  FD_ZERO(&rd);
  FD_SET(50, &rd);
  errno = 0;
  check(select(51, &rd, NULL, NULL, &(struct timeval){0, 0}) < 0 && errno == EBADF,
        "select on a descriptor that is not open: EBADF");

  // A signal interrupts a wait.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART; // poll is not restarted even so
  sigaction(SIGALRM, &sa, NULL);
  pid_t parent = getpid();
  pid = fork_flushed();
  if (pid == 0) {
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    kill(parent, SIGALRM);
    _exit(0);
  }
  errno = 0;
  check(poll(fds, 1, 5000) < 0 && errno == EINTR, "a signal ends poll with EINTR");
  waitpid(pid, NULL, 0);

  // End of file, and a reader that is gone.
  close(p[1]);
  struct pollfd rdonly = {p[0], POLLIN, 0};
  check(poll(&rdonly, 1, 0) == 1 && (rdonly.revents & POLLHUP), "no writer left: POLLHUP");
  int q[2];
  pipe(q);
  close(q[0]);
  struct pollfd wronly = {q[1], POLLOUT, 0};
  check(poll(&wronly, 1, 0) == 1 && (wronly.revents & POLLERR), "no reader left: POLLERR");
  struct pollfd bad[2] = {{-1, POLLIN, 7}, {999, POLLIN, 0}};
  check(poll(bad, 2, 0) == 1 && bad[0].revents == 0 && bad[1].revents == POLLNVAL,
        "a negative fd is skipped, a closed one gives POLLNVAL");
  int f = open("/tmp/rvmsmp-poll-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
  struct pollfd file = {f, POLLIN | POLLOUT, 0};
  check(f >= 0 && poll(&file, 1, -1) == 1 && file.revents == (POLLIN | POLLOUT), "a file is always ready");
  unlink("/tmp/rvmsmp-poll-file");
  return check_status();
}
