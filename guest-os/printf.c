// Formatted output to the console, panics and power-off.
#include <stdarg.h>

#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "riscv.h"

// Kernel messages go to the host's standard error (console_write_err).
static void message_putc(char c) { console_write_err(&c, 1); }

static void print_number(uint64 value, int base, int is_signed, int width, char pad) {
  char buf[24];
  int i = 0, negative = 0;
  if (is_signed && (int64)value < 0) {
    negative = 1;
    value = -(int64)value;
  }
  do {
    buf[i++] = "0123456789abcdef"[value % base];
    value /= base;
  } while (value);
  if (negative)
    buf[i++] = '-';
  while (i < width)
    buf[i++] = pad;
  while (i--)
    message_putc(buf[i]);
}

// Supports %d %u %x %p %s %c %%, with l/ll length modifiers and a zero-padded width.
static void vprintf(const char *fmt, va_list ap) {
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      message_putc(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, is_long = 0;
    if (*fmt == '0')
      pad = '0';
    while (*fmt >= '0' && *fmt <= '9')
      width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') {
      is_long = 1;
      fmt++;
    }
    switch (*fmt) {
    case 'd':
      print_number(is_long ? va_arg(ap, int64) : va_arg(ap, int), 10, 1, width, pad);
      break;
    case 'u':
      print_number(is_long ? va_arg(ap, uint64) : va_arg(ap, uint32), 10, 0, width, pad);
      break;
    case 'x':
      print_number(is_long ? va_arg(ap, uint64) : va_arg(ap, uint32), 16, 0, width, pad);
      break;
    case 'p':
      console_write_err("0x", 2);
      print_number(va_arg(ap, uint64), 16, 0, width, pad);
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s)
        s = "(null)";
      console_write_err(s, strlen(s));
      break;
    }
    case 'c':
      message_putc(va_arg(ap, int));
      break;
    case '%':
      message_putc('%');
      break;
    case 0:
      return;
    default:
      message_putc('%');
      message_putc(*fmt);
    }
  }
}

void printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

void power_off(int status) {
  volatile uint32 *finisher = (volatile uint32 *)TEST_FINISHER;
  *finisher = status == 0 ? 0x5555 : (((uint32)status & 0xffff) << 16) | 0x3333;
  for (;;)
    wfi();
}

// Prints the return addresses of the frame-pointer chain starting at fp.
// The kernel is built with frame pointers; the chain ends at the stack top.
void backtrace(uint64 fp) {
  extern char boot_stacks[];
  uint64 lo = (uint64)boot_stacks, hi = lo + NCPU * KSTACK_SIZE;
  printf("backtrace:\n");
  for (int depth = 0; depth < 32 && fp > lo && fp <= hi && (fp & 7) == 0; depth++) {
    uint64 ra = *(uint64 *)(fp - 8);
    if (ra == 0)
      break;
    printf("  %p\n", ra);
    fp = *(uint64 *)(fp - 16);
  }
}

// A fatal kernel error found by the kernel itself (not a trap): report the
// hart, the caller's pc, the cause (the message) and a backtrace, and stop.
void panic(const char *fmt, ...) {
  va_list ap;
  uint64 pc = (uint64)__builtin_return_address(0);
  printf("kernel panic on hart %d at pc %p: ", cpuid(), pc);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  backtrace(r_fp());
  annotate(EV_PANIC, cpuid(), pc, 0);
  power_off(255);
}
