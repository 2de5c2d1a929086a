// malloc, realloc and free under pressure: many blocks of many sizes,
// freed in a scrambled order and checked for corruption.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 2000

int main(void) {
  static unsigned char *block[BLOCKS];
  static size_t size[BLOCKS];
  unsigned seed = 12345;
  size_t total = 0;
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < BLOCKS; i++) {
      seed = seed * 1103515245 + 12345;
      size[i] = (seed >> 8) % (i % 50 == 0 ? 200000 : 2000) + 1;
      block[i] = malloc(size[i]);
      if (!block[i]) {
        printf("malloc failed at %d\n", i);
        return 1;
      }
      memset(block[i], (unsigned char)i, size[i]);
      total += size[i];
    }
    for (int i = 0; i < BLOCKS; i += 3) {
      size_t bigger = size[i] * 2;
      block[i] = realloc(block[i], bigger);
      memset(block[i] + size[i], (unsigned char)i, bigger - size[i]);
      size[i] = bigger;
    }
    for (int k = 0; k < BLOCKS; k++) {
      int i = (k * 7919) % BLOCKS; // every block once, scrambled
      for (size_t j = 0; j < size[i]; j += 97)
        if (block[i][j] != (unsigned char)i) {
          printf("corrupt block %d\n", i);
          return 1;
        }
      free(block[i]);
    }
  }
  printf("malloc: %zu bytes in %d blocks, ok\n", total, 4 * BLOCKS);
  return 0;
}
