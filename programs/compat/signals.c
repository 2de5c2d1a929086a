// Signals: sigaction handlers for kill to self and to a child, SA_SIGINFO
// fields, SIGCHLD, blocking and delivery on unblock, catching SIGSEGV and
// leaving with siglongjmp, sigaltstack with SA_ONSTACK, SIGPIPE, and exit
// statuses 128+N as a shell reports them.
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"

static volatile sig_atomic_t usr1_count, usr2_count;
static volatile int info_signo, info_code, info_pid, info_uid;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}

static void on_usr2(int sig) {
  (void)sig;
  usr2_count++;
}

static void on_info(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  info_signo = si->si_signo;
  info_code = si->si_code;
  info_pid = si->si_pid;
  info_uid = (int)si->si_uid;
}

static volatile sig_atomic_t chld_seen;
static volatile int chld_code, chld_status, chld_pid;
static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  chld_seen++;
  chld_code = si->si_code;
  chld_status = si->si_status;
  chld_pid = si->si_pid;
}

// Read through a volatile so the compiler cannot see the address.
static volatile uintptr_t bad_address = 64;
static sigjmp_buf segv_jump;
static volatile int segv_code;
static volatile uintptr_t segv_addr;
static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  segv_code = si->si_code;
  segv_addr = (uintptr_t)si->si_addr;
  siglongjmp(segv_jump, 1);
}

static char alt_stack[64 * 1024];
static volatile int on_alt_stack, alt_flag_onstack;
static void on_alt(int sig) {
  (void)sig;
  char here;
  on_alt_stack = &here >= alt_stack && &here < alt_stack + sizeof alt_stack;
  stack_t now;
  sigaltstack(NULL, &now);
  alt_flag_onstack = (now.ss_flags & SS_ONSTACK) != 0;
}

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static void handle_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static int wait_status(pid_t pid) {
  int st = -1;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

// What a POSIX shell shows in $? for a child's wait status.
static int shell_status(int st) {
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static pid_t fork_flushed(void) {
  fflush(NULL);
  return fork();
}

int main(void) {
  handle(SIGUSR1, on_usr1, 0);
  kill(getpid(), SIGUSR1);
  check(usr1_count == 1, "SIGUSR1 by kill to self runs the handler once");

  handle_info(SIGUSR1, on_info, 0);
  kill(getpid(), SIGUSR1);
  check(info_signo == SIGUSR1 && info_code == SI_USER && info_pid == getpid() &&
            info_uid == (int)getuid(),
        "SA_SIGINFO: si_signo %d, si_code SI_USER %d, si_pid and si_uid are the sender's",
        info_signo, info_code == SI_USER);
  raise(SIGUSR1);
  check(info_code == SI_TKILL, "raise gives si_code SI_TKILL: %d", info_code == SI_TKILL);

  // A child waits for SIGUSR1 from the parent with sigsuspend.
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &old);
  int ready[2];
  pipe(ready);
  pid_t pid = fork_flushed();
  if (pid == 0) {
    usr1_count = 0;
    handle(SIGUSR1, on_usr1, 0);
    write(ready[1], "r", 1);
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    while (usr1_count == 0)
      sigsuspend(&wait_mask);
    _exit(usr1_count == 1 ? 0 : 1);
  }
  char c;
  read(ready[0], &c, 1);
  kill(pid, SIGUSR1);
  int st = wait_status(pid);
  sigprocmask(SIG_SETMASK, &old, NULL);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kill(child, SIGUSR1) reaches its handler");

  // SIGCHLD with its siginfo, waited for with sigsuspend.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  handle_info(SIGCHLD, on_chld, 0);
  pid = fork_flushed();
  if (pid == 0)
    _exit(3);
  while (!chld_seen)
    sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, NULL);
  st = wait_status(pid);
  check(chld_seen == 1 && chld_code == CLD_EXITED && chld_status == 3 && chld_pid == pid,
        "SIGCHLD: CLD_EXITED %d, si_status %d, si_pid is the child's", chld_code == CLD_EXITED,
        chld_status);
  handle(SIGCHLD, SIG_DFL, 0);

  // Blocked signals stay pending and are delivered on unblock.
  handle(SIGUSR2, on_usr2, 0);
  sigset_t usr2, pending;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, &old);
  raise(SIGUSR2);
  raise(SIGUSR2);
  int before = usr2_count;
  sigpending(&pending);
  int is_pending = sigismember(&pending, SIGUSR2);
  sigprocmask(SIG_SETMASK, &old, NULL);
  check(before == 0 && is_pending && usr2_count == 1,
        "blocked SIGUSR2: pending %d, handled %d times before unblock, %d after (standard "
        "signals do not queue)",
        is_pending, before, (int)usr2_count);

  // SIGSEGV caught; siglongjmp leaves the handler and restores the mask,
  // so a second fault is caught too.
  handle_info(SIGSEGV, on_segv, 0);
  int caught = 0;
  for (int round = 0; round < 2; round++) {
    if (sigsetjmp(segv_jump, 1) == 0) {
      *(volatile int *)bad_address = 1;
    } else {
      caught++;
    }
  }
  check(caught == 2 && segv_code == SEGV_MAPERR && segv_addr == 64,
        "SIGSEGV caught twice with siglongjmp: SEGV_MAPERR %d, si_addr %lu", segv_code == SEGV_MAPERR,
        (unsigned long)segv_addr);
  sigset_t now;
  sigprocmask(SIG_SETMASK, NULL, &now);
  check(!sigismember(&now, SIGSEGV), "SIGSEGV unblocked again after siglongjmp");
  handle(SIGSEGV, SIG_DFL, 0);

  // sigaltstack and SA_ONSTACK.
  stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
  check(sigaltstack(&ss, NULL) == 0, "sigaltstack installs a %zu-byte stack", sizeof alt_stack);
  handle(SIGUSR2, on_alt, SA_ONSTACK);
  raise(SIGUSR2);
  stack_t after;
  sigaltstack(NULL, &after);
  check(on_alt_stack && alt_flag_onstack && !(after.ss_flags & SS_ONSTACK),
        "SA_ONSTACK handler ran on the alternate stack (SS_ONSTACK inside: %d, after: %d)",
        alt_flag_onstack, (after.ss_flags & SS_ONSTACK) != 0);

  // SIGPIPE ignored: write gets EPIPE.
  int p[2];
  pipe(p);
  close(p[0]);
  handle(SIGPIPE, SIG_IGN, 0);
  errno = 0;
  ssize_t n = write(p[1], "x", 1);
  check(n < 0 && errno == EPIPE, "SIGPIPE ignored: write to a broken pipe fails with EPIPE");
  handle(SIGPIPE, SIG_DFL, 0);
  pid = fork_flushed();
  if (pid == 0) {
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[1]);
  st = wait_status(pid);
  check(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "default SIGPIPE kills the writer: status %d",
        shell_status(st));

  // Default actions that terminate, as a shell reports them.
  int sigs[] = {SIGTERM, SIGKILL, SIGUSR1, SIGINT, SIGHUP, SIGALRM};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    pid = fork_flushed();
    if (pid == 0) {
      signal(sigs[i], SIG_DFL);
      raise(sigs[i]);
      _exit(0);
    }
    st = wait_status(pid);
    check(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], "child ended by signal %d: status %d",
          sigs[i], shell_status(st));
  }

  // A child that ignores SIGTERM survives it and exits normally.
  pid = fork_flushed();
  if (pid == 0) {
    signal(SIGTERM, SIG_IGN);
    raise(SIGTERM);
    _exit(12);
  }
  st = wait_status(pid);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 12, "ignored SIGTERM: exit status %d",
        shell_status(st));

  return check_status();
}
