// Threads for programs built on this runtime: thread_start runs fn(arg)
// in a new thread of the calling process (clone with the flags glibc's
// pthread_create uses), on a stack of its own from mmap; thread_join
// waits, with a futex, for the tid word the kernel clears and wakes when
// the thread exits (CLONE_CHILD_CLEARTID), then frees the stack.
#include "user.h"
#include "thread.h"

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000

#define SYS_FUTEX 98
#define FUTEX_WAIT 0

long thread_clone(unsigned long flags, void *stack_top, int *parent_tid, void *tls, int *child_tid,
                  void (*fn)(void *), void *arg);

long thread_start(struct thread *t, void (*fn)(void *), void *arg) {
  long stack = sys_mmap(0, THREAD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (is_error(stack))
    return stack;
  t->stack = (char *)stack;
  t->tid = 0;
  unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                        CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  // The thread's tp points at its own struct thread: this runtime keeps
  // no thread-local data, but CLONE_SETTLS must be given some pointer.
  long tid = thread_clone(flags, t->stack + THREAD_STACK_SIZE, &t->tid, t, &t->tid, fn, arg);
  if (tid < 0) {
    sys_munmap(t->stack, THREAD_STACK_SIZE);
    t->stack = 0;
  }
  return tid;
}

void thread_join(struct thread *t) {
  for (;;) {
    int tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
    if (tid == 0)
      break;
    // Sleeps only while the word still holds tid; a wake or a changed
    // word (-EAGAIN) both send us round to look again. Not
    // FUTEX_PRIVATE_FLAG: Linux wakes the tid word at thread exit as a
    // shared futex, and a private wait would miss that wake.
    raw_syscall(SYS_FUTEX, (long)&t->tid, FUTEX_WAIT, tid, 0, 0, 0);
  }
  sys_munmap(t->stack, THREAD_STACK_SIZE);
  t->stack = 0;
}
