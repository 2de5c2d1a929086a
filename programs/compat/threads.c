// pthreads: mutexes, condition variables, barriers, thread-local storage,
// join with return values, atomics, and more threads than harts.
// Threads never print; main prints after joining, so output is fixed.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NTHREADS 4
#define ARRAY_LEN 40000
#define MANY_THREADS 24

static int array[ARRAY_LEN];

// --- sums of a shared array ---
static atomic_long atomic_total;
static long locked_total;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static void *sum_atomic(void *arg) {
  long id = (long)arg;
  for (long i = id; i < ARRAY_LEN; i += NTHREADS)
    atomic_fetch_add_explicit(&atomic_total, array[i], memory_order_relaxed);
  return NULL;
}

static void *sum_locked(void *arg) {
  long id = (long)arg;
  for (long i = id; i < ARRAY_LEN; i += NTHREADS) {
    pthread_mutex_lock(&total_lock);
    locked_total += array[i];
    pthread_mutex_unlock(&total_lock);
  }
  return NULL;
}

static void run_all(void *(*fn)(void *)) {
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    pthread_create(&t[i], NULL, fn, (void *)i);
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(t[i], NULL);
}

// --- producer/consumer over a bounded buffer ---
#define SLOTS 4
#define ITEMS 2000
static int ring[SLOTS];
static int ring_count, ring_head;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ring_not_full = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
  (void)arg;
  for (int v = 1; v <= ITEMS; v++) {
    pthread_mutex_lock(&ring_lock);
    while (ring_count == SLOTS)
      pthread_cond_wait(&ring_not_full, &ring_lock);
    ring[(ring_head + ring_count) % SLOTS] = v;
    ring_count++;
    pthread_cond_signal(&ring_not_empty);
    pthread_mutex_unlock(&ring_lock);
  }
  return NULL;
}

struct consumed {
  long sum;
  int in_order;
};

static void *consumer(void *arg) {
  struct consumed *c = arg;
  int expected = 1;
  c->in_order = 1;
  for (int n = 0; n < ITEMS; n++) {
    pthread_mutex_lock(&ring_lock);
    while (ring_count == 0)
      pthread_cond_wait(&ring_not_empty, &ring_lock);
    int v = ring[ring_head];
    ring_head = (ring_head + 1) % SLOTS;
    ring_count--;
    pthread_cond_signal(&ring_not_full);
    pthread_mutex_unlock(&ring_lock);
    if (v != expected++)
      c->in_order = 0;
    c->sum += v;
  }
  return c;
}

// --- barrier phases ---
#define PHASES 5
static pthread_barrier_t barrier;
static int phase_slot[NTHREADS];
static atomic_int serial_count, phase_mismatches;

static void *phased(void *arg) {
  long id = (long)arg;
  for (int phase = 1; phase <= PHASES; phase++) {
    phase_slot[id] = phase;
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
      atomic_fetch_add(&serial_count, 1);
    for (int j = 0; j < NTHREADS; j++)
      if (phase_slot[j] != phase)
        atomic_fetch_add(&phase_mismatches, 1);
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

// --- thread-local storage and join values ---
static _Thread_local int tls_value = 7;
static _Thread_local char tls_buffer[64] = "initial";

static void *tls_worker(void *arg) {
  long id = (long)arg;
  int fresh = tls_value == 7 && tls_buffer[0] == 'i';
  tls_value = (int)id * 100;
  tls_buffer[0] = (char)('a' + id);
  for (int i = 0; i < 1000; i++)
    sched_yield();
  int kept = tls_value == (int)id * 100 && tls_buffer[0] == 'a' + id;
  return (void *)(intptr_t)(fresh && kept ? id * id + 1000 : -1);
}

// --- more threads than harts ---
static atomic_int many_ran;
static void *many_worker(void *arg) {
  volatile long x = (long)arg;
  for (int i = 0; i < 20000; i++)
    x = x * 3 + 1;
  atomic_fetch_add(&many_ran, 1);
  return (void *)((long)arg + 1);
}

int main(void) {
  long expected = 0;
  for (int i = 0; i < ARRAY_LEN; i++) {
    array[i] = i % 1000;
    expected += array[i];
  }

  run_all(sum_atomic);
  check(atomic_total == expected, "%d threads sum %d ints with atomics: %ld", NTHREADS, ARRAY_LEN,
        (long)atomic_total);
  run_all(sum_locked);
  check(locked_total == expected, "%d threads sum %d ints under a mutex: %ld", NTHREADS, ARRAY_LEN,
        locked_total);

  pthread_t prod, cons;
  struct consumed got = {0, 0};
  pthread_create(&cons, NULL, consumer, &got);
  pthread_create(&prod, NULL, producer, NULL);
  void *ret = NULL;
  pthread_join(prod, NULL);
  pthread_join(cons, &ret);
  check(ret == &got && got.sum == (long)ITEMS * (ITEMS + 1) / 2 && got.in_order,
        "producer/consumer through a %d-slot buffer: sum %ld, in order %d", SLOTS, got.sum,
        got.in_order);

  pthread_barrier_init(&barrier, NULL, NTHREADS);
  run_all(phased);
  pthread_barrier_destroy(&barrier);
  check(serial_count == PHASES && phase_mismatches == 0,
        "barrier: %d phases, %d serial threads, %d mismatches", PHASES, (int)serial_count,
        (int)phase_mismatches);

  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    pthread_create(&t[i], NULL, tls_worker, (void *)i);
  int joined_ok = 1;
  for (long i = 0; i < NTHREADS; i++) {
    void *v;
    pthread_join(t[i], &v);
    if ((intptr_t)v != i * i + 1000)
      joined_ok = 0;
  }
  check(joined_ok, "thread-local storage is per thread; join returns each thread's value");
  check(tls_value == 7 && tls_buffer[0] == 'i', "main thread's TLS untouched: %d %s", tls_value,
        tls_buffer);

  pthread_t many[MANY_THREADS];
  for (long i = 0; i < MANY_THREADS; i++)
    pthread_create(&many[i], NULL, many_worker, (void *)i);
  long ret_sum = 0;
  for (int i = 0; i < MANY_THREADS; i++) {
    void *v;
    pthread_join(many[i], &v);
    ret_sum += (long)v;
  }
  check(many_ran == MANY_THREADS && ret_sum == MANY_THREADS * (MANY_THREADS + 1) / 2,
        "%d threads at once: %d ran, join values sum %ld", MANY_THREADS, (int)many_ran, ret_sum);

  return check_status();
}
