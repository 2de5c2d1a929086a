// The console: the NS16550A UART, polled, for standard input and output;
// standard error and kernel messages go through the annotation device's
// second channel when the machine has one (rvmsmp), else to the UART too
// (QEMU). Only hart 0 (the master) uses it. docs/kernel-interface.md.
#include "defs.h"
#include "memlayout.h"

#define UART_REG(r) ((volatile uint8 *)(UART0 + (r)))
#define THR 0
#define RBR 0
#define LSR 5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

// The annotation device's console registers.
#define CONSOLE_ERR ((volatile uint64 *)(ANNOTATE + 0x28))
#define CONSOLE_STATUS ((volatile uint64 *)(ANNOTATE + 0x30))
#define STATUS_OUT_CLOSED 1
#define STATUS_ERR_CLOSED 2
#define STATUS_INPUT_EOF 4

static uint64 console_status(void) { return annotate_present ? *CONSOLE_STATUS : 0; }

void console_putc(int c) {
  while ((*UART_REG(LSR) & LSR_THR_EMPTY) == 0)
    ;
  *UART_REG(THR) = (uint8)c;
}

void console_write(const char *s, uint64 n) {
  for (uint64 i = 0; i < n; i++)
    console_putc(s[i]);
}

// Standard output: n bytes, or -1 when the host's stream is closed (EPIPE).
int64 console_write_out(const char *s, uint64 n) {
  if (console_status() & STATUS_OUT_CLOSED)
    return -1;
  console_write(s, n);
  return (int64)n;
}

// Standard error, and every kernel message: n bytes, or -1 when closed.
int64 console_write_err(const char *s, uint64 n) {
  if (!annotate_present) {
    console_write(s, n);
    return (int64)n;
  }
  if (*CONSOLE_STATUS & STATUS_ERR_CLOSED)
    return -1;
  for (uint64 i = 0; i < n; i++)
    *CONSOLE_ERR = (uint8)s[i];
  return (int64)n;
}

// A byte of input if one is waiting, else -1 (never blocks).
int console_getc(void) {
  if (*UART_REG(LSR) & LSR_DATA_READY)
    return *UART_REG(RBR);
  return -1;
}

// Whether a byte of input waits (console_getc would return it).
int console_input_ready(void) { return (*UART_REG(LSR) & LSR_DATA_READY) != 0; }

// Whether the host's input has ended and every byte of it was read: a read
// may return 0 (end of file). Never on QEMU, whose console is a terminal.
int console_input_eof(void) { return !console_input_ready() && (console_status() & STATUS_INPUT_EOF) != 0; }

// ---- The console as user programs see it (fd.c's console files) ----

#include "fs.h"
#include "proc.h"
#include "riscv.h"
#include "signal.h"

// How often a master with console readers looks for input that came
// without an interrupt (a terminal's, or QEMU's): 1 ms of simulated time.
#define CONSOLE_POLL_TICKS 10000

struct waitq console_readers; // the master loop looks at it inline (console_waiting)

// read(2) of the console: what has arrived, up to the request; when
// nothing has, the thread waits for input (end of file, 0, once the
// host's input has ended and every byte was read).
int64 console_read_user(struct proc *p, struct file *f, struct uio *u) {
  if (u->len == 0)
    return 0;
  if (!console_input_ready()) {
    if (console_input_eof())
      return 0;
    if (f->nonblock)
      return -EAGAIN;
    if (signal_pending(p))
      return -EINTR;
    return waitq_block(p, &console_readers, WAIT_CONSOLE);
  }
  if (!uio_ok(u, PTE_W))
    return -EFAULT;
  char chunk[256];
  uint64 done = 0, addr, seg;
  while (done < u->len && console_input_ready() && (seg = uio_at(u, done, &addr)) > 0) {
    uint64 n = 0;
    int c;
    while (n < seg && n < sizeof chunk && (c = console_getc()) >= 0)
      chunk[n++] = (char)c;
    copy_out(p->pagetable, addr, chunk, n);
    done += n;
  }
  return done;
}

// write(2) to the console's output (fd 1) or error (fd 2) channel: the
// count, or -EFAULT unless the whole buffer is readable user memory. When
// the host's stream is closed the write fails with -EPIPE and the thread
// is sent SIGPIPE, whose default action ends the process (status 128 + 13,
// as a shell reports it).
int64 console_write_user(struct proc *p, int fd, struct uio *u) {
  if (!uio_ok(u, PTE_R))
    return -EFAULT;
  char chunk[256];
  uint64 done = 0, addr, seg;
  while (done < u->len && (seg = uio_at(u, done, &addr)) > 0) {
    uint64 n = seg < sizeof chunk ? seg : sizeof chunk;
    copy_in(p->pagetable, chunk, addr, n);
    if ((fd == 2 ? console_write_err(chunk, n) : console_write_out(chunk, n)) < 0) {
      signal_thread(p, SIGPIPE);
      return done ? (int64)done : -EPIPE;
    }
    done += n;
  }
  return done;
}

// The console's struct stat, for its input (0), output (1) or error (2):
// a character device that is not a terminal, so stdio buffers fully, as it
// does under qemu-riscv64 with a pipe.
void console_kstat(uint64 fd, struct kstat *stp) {
  struct kstat st;
  memset(&st, 0, sizeof st);
  st.ino = 3 + fd;
  st.mode = 0020000 | 0620; // S_IFCHR, rw--w----
  st.nlink = 1;
  st.rdev = (5 << 8) | 1; // the console, char device 5:1
  st.blksize = 4096;
  *stp = st;
}

// The master loop's turn: readers waiting for input try again once some
// has come (or the input has ended).
void console_poll(void) {
  if (console_readers.head && (console_input_ready() || console_input_eof()))
    waitq_wake_all(&console_readers);
}

// When the master, idle, must look at the console again (someone waits).
uint64 console_poll_deadline(void) { return r_time() + CONSOLE_POLL_TICKS; }
