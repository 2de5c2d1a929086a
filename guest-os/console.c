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
