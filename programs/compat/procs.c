// Processes: fork/exec/wait chains, exit and signal statuses, WNOHANG,
// getppid, process groups and sessions, vfork, posix_spawn.
// The parent prints only after its children have ended.
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"

#define SELF "/bin/procs"

extern char **environ;

// Roles run by exec'd copies of this program (argv[1] names the role).
static int role_main(int argc, char *const argv[]);

static void become(char *role, char *arg) {
  char *argv[] = {SELF, role, arg, NULL};
  exec_self(SELF, argv, role_main);
}

// "chain N": a process that execs a child "chain N-1" and exits with the
// child's status plus one; "chain 0" exits 40.
static int role_chain(int depth) {
  if (depth == 0)
    return 40;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    char arg[16];
    snprintf(arg, sizeof arg, "%d", depth - 1);
    become("chain", arg);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return 1;
  return WEXITSTATUS(status) + 1;
}

static int role_main(int argc, char *const argv[]) {
  if (argc >= 3 && strcmp(argv[1], "chain") == 0)
    return role_chain(atoi(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "exit") == 0)
    return atoi(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "ppid") == 0)
    return getppid() == atoi(argv[2]) ? 0 : 1;
  if (argc >= 3 && strcmp(argv[1], "echo") == 0) {
    printf("exec'd child says %s\n", argv[2]);
    return 0;
  }
  fprintf(stderr, "unknown role\n");
  return 2;
}

static int wait_for(pid_t pid) {
  int status = -1;
  pid_t got;
  do
    got = waitpid(pid, &status, 0);
  while (got < 0 && errno == EINTR);
  return got == pid ? status : -1;
}

static pid_t fork_flushed(void) {
  fflush(NULL);
  return fork();
}

int main(int argc, char *argv[]) {
  if (argc > 1)
    return role_main(argc, argv);

  pid_t pid = fork_flushed();
  if (pid == 0)
    _exit(7);
  int st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork, _exit(7), waitpid: exit status %d",
        WEXITSTATUS(st));

  pid = fork_flushed();
  if (pid == 0) {
    kill(getpid(), SIGKILL);
    _exit(0);
  }
  st = wait_for(pid);
  check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child killed by SIGKILL: WIFSIGNALED, signal %d",
        WIFSIGNALED(st) ? WTERMSIG(st) : 0);

  int gate[2];
  int piped = pipe(gate) == 0;
  pid = fork_flushed();
  if (pid == 0) {
    close(gate[1]);
    char c;
    while (read(gate[0], &c, 1) > 0) {
    }
    _exit(3);
  }
  close(gate[0]);
  int none = waitpid(pid, &st, WNOHANG);
  close(gate[1]);
  st = wait_for(pid);
  check(piped && none == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3,
        "WNOHANG returns 0 while the child runs; then status %d", WEXITSTATUS(st));
  check(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "no children left: ECHILD");

  char mypid[16];
  snprintf(mypid, sizeof mypid, "%d", (int)getpid());
  pid = fork_flushed();
  if (pid == 0)
    become("ppid", mypid);
  st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child sees getppid() == parent");

  pid = fork_flushed();
  if (pid == 0)
    become("echo", "hello");
  st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child printed before the parent went on");

  pid = fork_flushed();
  if (pid == 0)
    become("chain", "4");
  st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 44, "fork/exec/wait chain of depth 4: status %d",
        WEXITSTATUS(st));

  pid = fork_flushed();
  if (pid == 0) {
    int ok = setpgid(0, 0) == 0 && getpgid(0) == getpid() && getpgrp() == getpid();
    _exit(ok ? 0 : 1);
  }
  st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setpgid(0, 0) makes a child a group leader");

  pid = fork_flushed();
  if (pid == 0) {
    pid_t parent_group = getpgid(0);
    pid_t sid = setsid();
    int ok = sid == getpid() && getsid(0) == getpid() && getpgid(0) == getpid() &&
             parent_group != getpid();
    _exit(ok ? 0 : 1);
  }
  st = wait_for(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "setsid in a child: new session and group");

  fflush(NULL);
  pid = vfork();
  if (pid == 0)
    _exit(5);
  st = wait_for(pid);
  check(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 5, "vfork, _exit(5): status %d",
        WEXITSTATUS(st));

  // posix_spawn, where the program can be executed; otherwise a fork
  // running the same role, so the output does not depend on the host.
  char *spawn_argv[] = {SELF, "exit", "9", NULL};
  if (self_present(SELF)) {
    fflush(NULL);
    int err = posix_spawn(&pid, SELF, NULL, NULL, spawn_argv, environ);
    if (err != 0)
      pid = -1;
  } else {
    pid = fork_flushed();
    if (pid == 0)
      become("exit", "9");
  }
  st = wait_for(pid);
  check(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 9, "posix_spawn: status %d",
        WEXITSTATUS(st));

  return check_status();
}
