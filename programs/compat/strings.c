// qsort and the string functions.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int by_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

int main(void) {
  char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape"};
  int n = sizeof words / sizeof words[0];
  qsort(words, n, sizeof words[0], by_string);
  for (int i = 0; i < n; i++)
    printf("%s%c", words[i], i + 1 < n ? ' ' : '\n');
  int numbers[1000];
  unsigned seed = 7;
  for (int i = 0; i < 1000; i++)
    numbers[i] = (int)((seed = seed * 1664525 + 1013904223) >> 4) - (1 << 27);
  qsort(numbers, 1000, sizeof numbers[0], by_int);
  long sum = 0;
  for (int i = 1; i < 1000; i++)
    if (numbers[i - 1] > numbers[i])
      return 1;
  for (int i = 0; i < 1000; i++)
    sum += numbers[i];
  printf("sorted 1000 numbers: min %d max %d sum %ld\n", numbers[0], numbers[999], sum);
  char buf[128];
  snprintf(buf, sizeof buf, "%s-%s", "master", "slave");
  printf("%s len=%zu strstr=%s strchr=%s strrchr=%s\n", buf, strlen(buf), strstr(buf, "sla"), strchr(buf, 'a'),
         strrchr(buf, 'a'));
  printf("strncmp=%d memcmp=%d strtol=%ld atoi=%d\n", strncmp("abcd", "abcf", 3) == 0, memcmp("ab", "ac", 2) < 0,
         strtol("-0x1f", NULL, 16), atoi("  123xyz"));
  char *dup = strdup(buf);
  for (char *t = strtok(dup, "-"); t; t = strtok(NULL, "-"))
    printf("token %s\n", t);
  free(dup);
  return 0;
}
