// The user runtime's C part: memory and string helpers, number parsing,
// printf and friends, die, and a raw system call. Freestanding: no libc.
#include "user.h"

long raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r_a0 asm("a0") = a0;
  register long r_a1 asm("a1") = a1;
  register long r_a2 asm("a2") = a2;
  register long r_a3 asm("a3") = a3;
  register long r_a4 asm("a4") = a4;
  register long r_a5 asm("a5") = a5;
  register long r_a7 asm("a7") = nr;
  asm volatile("ecall"
               : "+r"(r_a0)
               : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5), "r"(r_a7)
               : "memory");
  return r_a0;
}

// The Makefile builds with -fno-tree-loop-distribute-patterns, so gcc does
// not turn these loops back into calls to themselves.
unsigned long strlen(const char *s) {
  unsigned long n = 0;
  while (s[n])
    n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

void *memset(void *dst, int c, unsigned long n) {
  unsigned char *d = dst;
  while (n--)
    *d++ = (unsigned char)c;
  return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--)
    *d++ = *s++;
  return dst;
}

int memcmp(const void *a, const void *b, unsigned long n) {
  const unsigned char *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y)
      return *x - *y;
  return 0;
}

static int digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return 99;
}

// Parses the number at the start of s; returns where it stopped (s itself
// if there is no number).
static const char *scan_long(const char *s, long *out) {
  const char *p = s;
  int neg = *p == '-';
  if (neg)
    p++;
  unsigned long base = 10, v = 0;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16)
    base = 16, p += 2;
  const char *digits = p;
  for (; digit_value(*p) < (int)base; p++)
    v = v * base + digit_value(*p);
  if (p == digits)
    return s;
  *out = neg ? -(long)v : (long)v;
  return p;
}

int parse_long(const char *s, long *out) {
  long v;
  const char *end = scan_long(s, &v);
  if (end == s || *end)
    return -1;
  *out = v;
  return 0;
}

long atoi(const char *s) {
  long v = 0;
  scan_long(s, &v);
  return v;
}

// Where formatted output goes: a buffer that is flushed to fd when full
// (fd >= 0), or that drops what does not fit (fd < 0, for snprintf).
struct sink {
  char *buf;
  unsigned long cap, len, total;
  int fd;
};

static void flush(struct sink *o) {
  unsigned long done = 0;
  while (done < o->len) {
    long n = sys_write(o->fd, o->buf + done, o->len - done);
    if (n <= 0)
      break;
    done += n;
  }
  o->len = 0;
}

static void put(struct sink *o, char c) {
  o->total++;
  if (o->len == o->cap) {
    if (o->fd < 0)
      return;
    flush(o);
  }
  o->buf[o->len++] = c;
}

static void pad(struct sink *o, char c, int n) {
  while (n-- > 0)
    put(o, c);
}

// One converted field: optional sign, then the text, padded to width.
static void field(struct sink *o, const char *sign, const char *text, unsigned long n, int width, int left,
                  int zero) {
  int fill = width - (int)(strlen(sign) + n);
  if (!left && !zero)
    pad(o, ' ', fill);
  while (*sign)
    put(o, *sign++);
  if (!left && zero)
    pad(o, '0', fill);
  for (unsigned long i = 0; i < n; i++)
    put(o, text[i]);
  if (left)
    pad(o, ' ', fill);
}

static void format(struct sink *o, const char *fmt, va_list ap) {
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      put(o, *fmt);
      continue;
    }
    const char *start = fmt++;
    int left = 0, zero = 0, width = 0, longs = 0;
    for (;; fmt++) {
      if (*fmt == '-')
        left = 1;
      else if (*fmt == '0')
        zero = 1;
      else
        break;
    }
    for (; *fmt >= '0' && *fmt <= '9'; fmt++)
      width = width * 10 + (*fmt - '0');
    for (; *fmt == 'l'; fmt++)
      longs++;

    char digits[24];
    unsigned long v, base = 10;
    const char *sign = "", *hex = "0123456789abcdef";
    switch (*fmt) {
    case 'd':
    case 'i': {
      long s = longs ? va_arg(ap, long) : va_arg(ap, int);
      v = s < 0 ? -(unsigned long)s : (unsigned long)s;
      sign = s < 0 ? "-" : "";
      goto number;
    }
    case 'p':
      v = (unsigned long)va_arg(ap, void *), base = 16, sign = "0x";
      goto number;
    case 'X':
      hex = "0123456789ABCDEF";
      // fall through
    case 'x':
      base = 16;
      // fall through
    case 'u':
      v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
    number: {
      int n = 0;
      do
        digits[sizeof digits - ++n] = hex[v % base];
      while (v /= base);
      field(o, sign, digits + sizeof digits - n, n, width, left, zero);
      break;
    }
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s)
        s = "(null)";
      field(o, "", s, strlen(s), width, left, 0);
      break;
    }
    case 'c': {
      char c = (char)va_arg(ap, int);
      field(o, "", &c, 1, width, left, 0);
      break;
    }
    case '%':
      put(o, '%');
      break;
    default: // not a conversion we know: print it as written
      for (; start <= fmt && *start; start++)
        put(o, *start);
      if (!*fmt)
        return;
    }
  }
}

int vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap) {
  struct sink o = {buf, size ? size - 1 : 0, 0, 0, -1};
  format(&o, fmt, ap);
  if (size)
    buf[o.len] = 0;
  return (int)o.total;
}

int snprintf(char *buf, unsigned long size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

// Output longer than the buffer goes out in several writes.
int vdprintf(int fd, const char *fmt, va_list ap) {
  char buf[256];
  struct sink o = {buf, sizeof buf, 0, 0, fd};
  format(&o, fmt, ap);
  flush(&o);
  return (int)o.total;
}

int dprintf(int fd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vdprintf(fd, fmt, ap);
  va_end(ap);
  return n;
}

int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vdprintf(1, fmt, ap);
  va_end(ap);
  return n;
}

// On stdout, not stderr: these programs were written when the console
// merged the two, and the tests read their failures there (stderr is a
// separate stream now; moving die() to it means changing those tests).
void die(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n] = '\n';
  sys_write(1, buf, n + 1);
  sys_exit_group(1);
}
