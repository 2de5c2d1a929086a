// The few string and memory functions a freestanding kernel needs (gcc may
// also call memset and memcpy for struct copies).
#include "defs.h"

void *memset(void *dst, int c, uint64 n) {
  uint8 *d = dst;
  if (((uint64)d & 7) == 0 && (n & 7) == 0) {
    uint64 word = (uint8)c;
    word |= word << 8;
    word |= word << 16;
    word |= word << 32;
    for (uint64 *w = dst; n; n -= 8)
      *w++ = word;
    return dst;
  }
  while (n--)
    *d++ = (uint8)c;
  return dst;
}

void *memcpy(void *dst, const void *src, uint64 n) {
  if ((((uint64)dst | (uint64)src | n) & 7) == 0) {
    uint64 *d = dst;
    const uint64 *s = src;
    for (; n; n -= 8)
      *d++ = *s++;
    return dst;
  }
  uint8 *d = dst;
  const uint8 *s = src;
  while (n--)
    *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, uint64 n) {
  uint8 *d = dst;
  const uint8 *s = src;
  if (s < d && s + n > d) {
    while (n--)
      d[n] = s[n];
    return dst;
  }
  return memcpy(dst, src, n);
}

int memcmp(const void *a, const void *b, uint64 n) {
  const uint8 *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y)
      return *x - *y;
  return 0;
}

uint64 strlen(const char *s) {
  uint64 n = 0;
  while (s[n])
    n++;
  return n;
}

int strncmp(const char *a, const char *b, uint64 n) {
  for (; n && *a && *a == *b; n--, a++, b++)
    ;
  return n ? (uint8)*a - (uint8)*b : 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, (uint64)-1); }
