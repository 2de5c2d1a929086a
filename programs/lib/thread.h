// Threads for programs on this runtime (lib/thread.c, lib/thread.S).
#pragma once

#define THREAD_STACK_SIZE (64 * 1024)

struct thread {
  int tid;     // set at creation; the kernel clears it (and wakes a futex on it) at exit
  char *stack; // THREAD_STACK_SIZE bytes from mmap
};

// Runs fn(arg) in a new thread of this process; returns its tid or -errno.
long thread_start(struct thread *t, void (*fn)(void *), void *arg);
// Waits until the thread has exited, then frees its stack.
void thread_join(struct thread *t);
