// The console: the NS16550A UART, polled. Only hart 0 (the master) uses it.
#include "defs.h"
#include "memlayout.h"

#define UART_REG(r) ((volatile uint8 *)(UART0 + (r)))
#define THR 0
#define RBR 0
#define LSR 5
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

void console_putc(int c) {
  while ((*UART_REG(LSR) & LSR_THR_EMPTY) == 0)
    ;
  *UART_REG(THR) = (uint8)c;
}

void console_write(const char *s, uint64 n) {
  for (uint64 i = 0; i < n; i++)
    console_putc(s[i]);
}

// A byte of input if one is waiting, else -1 (never blocks).
int console_getc(void) {
  if (*UART_REG(LSR) & LSR_DATA_READY)
    return *UART_REG(RBR);
  return -1;
}
