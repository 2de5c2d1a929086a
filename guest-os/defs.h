// Prototypes, one group per file.
#pragma once
#include "types.h"

struct proc;
struct trapframe;
struct file;
struct uio;
struct process;
struct pipe;

// annotate.c
enum annotate_event {
  EV_REQUEST_POSTED = 1,
  EV_SERVICE_START = 2,
  EV_SERVICE_END = 3,
  EV_PROCESS_ASSIGNED = 4,
  EV_HART_IDLE = 5,
  EV_QUEUE_LENGTH = 6,
  EV_PROCESS_EXIT = 7,
  EV_PANIC = 8,
  EV_RESUMED = 9,
  EV_IO_WAIT = 10, // a process blocks for the disk: pid, block (0: a free buffer; the log header: the log)
  EV_IO_DONE = 11, // it is ready again: pid
  EV_THREAD_CREATED = 12, // clone: new tid, its process's pid, the creating tid
  EV_EXEC = 13,           // execve succeeded: tid, pid
  EV_SIGNAL = 14,         // a signal taken: tid, signal, handler (0: the default action)
  EV_BLOCK = 15,          // a thread blocks (futex, child, vfork, signal, sleep): tid, enum wait_kind (5: sleep), address
  EV_WAKE = 16,           // it is ready again: tid
  EV_SHOOTDOWN = 17,      // a thread waits for other harts' TLBs to be flushed: tid, its hart
};
// QUEUE_LENGTH says which way a process moved (ARG2).
#define QUEUE_PUSH 1
#define QUEUE_POP 2
extern int annotate_present;
void annotate(enum annotate_event ev, uint64 a0, uint64 a1, uint64 a2);
void annotate4(enum annotate_event ev, uint64 a0, uint64 a1, uint64 a2, uint64 a3);

// console.c
void console_putc(int c);
void console_write(const char *s, uint64 n);
int64 console_write_out(const char *s, uint64 n);
int64 console_write_err(const char *s, uint64 n);
int console_input_ready(void);
int console_input_eof(void);
int console_getc(void);
int64 console_read_user(struct proc *p, struct file *f, struct uio *u);
int64 console_write_user(struct proc *p, int fd, struct uio *u);
struct kstat;
void console_kstat(uint64 fd, struct kstat *st);
void console_poll(void);
uint64 console_poll_deadline(void);

// cpio.c
struct cpio_entry {
  const char *name; // without a leading "/" or "./"
  const char *data;
  uint64 size;
  uint32 mode;
  uint64 offset; // of its header in the archive
};
int cpio_next(const char *archive, uint64 size, uint64 *off, struct cpio_entry *e);
const char *cpio_find(const char *archive, uint64 size, const char *path, uint64 *file_size);

// bio.c, log.c, fs.c, file.c: the file system (fs.h has the rest)
extern int fs_mounted;
void fs_mount(void);
int log_quiesce(void);
int orphans_drain(void);
int64 sys_pread64(struct proc *p, int hart);
int64 sys_pwrite64(struct proc *p, int hart);

// fd.c: descriptors and open files
// The user bytes of one transfer: a buffer (base, len), or the vector of
// iovcnt struct iovec at user address iov (len is then their total).
struct uio {
  struct proc *p;
  uint64 base, len;
  uint64 iov, iovcnt;
};
uint64 uio_at(struct uio *u, uint64 off, uint64 *addr);
int uio_ok(struct uio *u, int need);
struct file;
int64 inode_transfer(struct proc *p, struct file *f, struct uio *u, int write, int64 pos);
int64 transfer_at(struct proc *p, struct file *f, struct uio *u, int write, int64 pos);
struct file *fd_file(struct proc *p, int64 fd);
struct file *file_alloc(void);
int64 fd_free(struct proc *p, int64 from);
void fd_install(struct proc *p, int fd, struct file *f, int close_on_exec);
int fd_init_console(struct process *ps);
int fd_fork(struct process *parent, struct process *child);
void fd_exec(struct process *ps);
void fd_close_all(struct process *ps);
int64 fd_stat(struct proc *p, int64 fd, uint64 ubuf);

// lock.c
int64 lock_fcntl(struct proc *p, struct file *f, uint64 cmd, uint64 ulock);
void lock_release(const void *owner, uint32 inum);

// pipe.c
#define PIPE_SIZE (16 * 4096) // a pipe's capacity, Linux's default
struct pipe *pipe_alloc(void);
void pipe_close(struct pipe *pi, int reader, int writer);
int64 pipe_read(struct proc *p, struct file *f, struct uio *u);
int64 pipe_write(struct proc *p, struct file *f, struct uio *u);
void pipe_kstat(struct pipe *pi, struct kstat *st);
uint64 pipe_bytes(struct pipe *pi);
int pipe_poll(struct pipe *pi, int reader, int writer);

// poll.c
void poll_notify(void);
int64 fs_newfstatat(struct proc *p);
int64 fs_exec_lookup(struct proc *p, uint64 upath, const char **elf, uint64 *size, int64 *a0, uint64 *node);

// exec.c
#define EXEC_BAD_IMAGE (-1)
#define EXEC_NO_MEMORY (-2)
#define EXEC_TOO_BIG (-3)
struct mm;
int exec_first(struct proc *p, const char *elf, uint64 elf_size, int argc, char **argv, int envc, char **envp);
int exec_load(struct mm *mm, const char *elf, uint64 size, int argc, char **argv, int envc, char **envp, uint64 *entry,
              uint64 *sp);

// fdt.c
struct boot_info {
  uint64 ram_base, ram_size;
  uint64 initrd_start, initrd_end;
  uint64 fdt_start, fdt_size;
  int harts;
  int annotate;
  const char *bootargs;
  int nvirtio; // virtio-mmio transports: registers and PLIC source
  uint64 virtio_base[8];
  uint32 virtio_irq[8];
};
void fdt_parse(uint64 fdt, struct boot_info *info);

// kalloc.c
void kinit(uint64 start, uint64 end, uint64 hole1_start, uint64 hole1_end, uint64 hole2_start, uint64 hole2_end);
void *kalloc(void);
void kfree(void *pa);
uint64 kfree_pages(void);

// main.c
extern struct boot_info boot;
extern uint64 boot_dtb;
void main(void);

// master.c
void master_loop(void) __attribute__((noreturn));
void master_usertrap(void) __attribute__((noreturn));
void note_exit_status(int status);
void master_kick(struct proc *t);
void tlb_shootdown(struct proc *p, int hart);
void shootdown_forget(struct proc *p);
extern uint64 slice_ticks;
extern int master_runs_user;

// When a slice that starts now ends. It is counted from the next tick, not
// this one: the current tick may be about to end, and a deadline that falls
// before the return to user mode is over would interrupt the thread before
// its first instruction, again on every resume (a one-tick slice would
// never let a thread run).
uint64 slice_deadline(void);

// printf.c
void printf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));
void power_off(int status) __attribute__((noreturn));
void backtrace(uint64 fp);

// proc.c
struct process;
struct proc *proc_alloc(void);
struct proc *thread_clone(struct proc *parent);
struct proc *process_fork(struct proc *parent, int share_vm, int *err);
int thread_switch_mm(struct proc *p, struct mm *mm);
struct process *process_by_pid(int pid);
void process_cwd_removed(uint64 node, uint64 gone);
void process_free(struct process *ps);
void process_set_comm(struct process *ps, const char *path);
void proc_announce(struct proc *p);
void process_set_parent(struct process *ps, struct process *parent);
int shell_status(int wait_status);
struct process *process_at(int index);
struct proc *thread_by_tid(int tid);
void for_each_thread(struct process *ps, void (*f)(struct proc *, void *), void *arg);
void for_each_child(struct process *ps, void (*f)(struct process *, void *), void *arg);
void ready_push(struct proc *p);
struct proc *ready_pop(void);
struct proc *ready_pop_for(int hart);
int ready_length(void);
int ready_for(int hart);
int proc_index(struct proc *p);
void sleep_insert(struct proc *p);
void sleep_add(struct proc *p);
void sleep_remove(struct proc *p);
struct proc *sleep_pop_due(uint64 now);
void sleep_expired(struct proc *p);
uint64 sleep_next_wake(void);
void thread_block(struct proc *p, int kind, uint64 deadline);
void thread_report_block(struct proc *p, int kind, uint64 addr);
void thread_wake(struct proc *p, int64 result);
struct waitq;
int64 waitq_block(struct proc *p, struct waitq *q, int kind);
void waitq_wake_all(struct waitq *q);
void waitq_forget(struct proc *p);
void thread_exit(struct proc *p);
int process_stop_threads(struct process *ps, struct proc *except);
void process_terminate(struct proc *p, int status);
void report_blocked_threads(void);
extern int live_procs;

// futex.c
void futex_forget(struct proc *p);
void futex_wake_word(struct proc *p, uint64 uaddr, int n);
uint64 timespec_ticks(int64 sec, int64 nsec);
uint64 deadline_after(uint64 ticks);

// sysproc.c
void child_wait_forget(struct proc *p);
void wake_child_waiters(struct process *parent);

// slave.c
void slave_main(void) __attribute__((noreturn));
void slave_trap(void) __attribute__((noreturn));
void post_request(int hart, uint64 kind, uint64 scause, uint64 stval, uint64 nr);
void run_user(uint64 satp, struct trapframe *tf, uint64 tf_va, void (*handler)(void)) __attribute__((noreturn));

// string.c
void *memset(void *dst, int c, uint64 n);
void *memcpy(void *dst, const void *src, uint64 n);
void *memmove(void *dst, const void *src, uint64 n);
int memcmp(const void *a, const void *b, uint64 n);
uint64 strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, uint64 n);

// syscall.c
int64 syscall_dispatch(struct proc *p, int hart);

// trap.c
void kernel_fault(void) __attribute__((noreturn));
const char *cause_name(uint64 scause);

// ramdisk.c
extern int ramdisk_present;
int ramdisk_busy(void);
int ramdisk_mount(void);

// syscall.c
uint64 next_random(void);

// virtio_blk.c
extern int disk_present;
int virtio_blk_init(void);
void disk_poll(void);
int disk_busy(void);

// vm.c
void kvmmap(uint64 pa, uint64 size);
extern pagetable_t kernel_pagetable;
void kvminit(void);
void kvminithart(void);
pagetable_t uvm_create(void);
int uvm_map_kernel_page(pagetable_t pt, uint64 va, uint64 pa, int perm);
void uvm_unmap_kernel_page(pagetable_t pt, uint64 va);
int uvm_copy(pagetable_t from, pagetable_t to);
int uvm_map(pagetable_t pt, uint64 va, uint64 size, int perm);
void uvm_unmap(pagetable_t pt, uint64 va, uint64 size);
void uvm_free(pagetable_t pt);
uint64 uvm_translate(pagetable_t pt, uint64 va, int need);
int uvm_range_ok(pagetable_t pt, uint64 va, uint64 len, int need);
int copy_out(pagetable_t pt, uint64 dst_va, const void *src, uint64 len);
int copy_in(pagetable_t pt, void *dst, uint64 src_va, uint64 len);
int copy_in_str(pagetable_t pt, char *dst, uint64 src_va, uint64 max);
int uvm_protect(pagetable_t pt, uint64 va, uint64 size, int perm);
