// wc [-lwc] [FILE]...: counts newlines, words and bytes, as coreutils' wc
// does in the C locale: a word is a run of printable characters and other
// non-space bytes that starts with a printable one; the columns are as
// wide as the digits of the total size of the regular files (at least 7
// when an input is not a regular file, and 1 for a single count of a
// single input); a "total" line follows when there are several files.
// No FILE, or "-", is standard input. Errors go to standard error and
// make the exit status 1.
#include "user.h"

static char buf[65536];
static int show_lines, show_words, show_bytes;
static int width;
static unsigned long total_lines, total_words, total_bytes;

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_print(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// Appends v, right-aligned in `width` columns, after a space unless first.
static int column(char *at, unsigned long v, int first) {
  char digits[24];
  int n = 0, len = 0;
  do
    digits[n++] = '0' + v % 10;
  while (v /= 10);
  if (!first)
    at[len++] = ' ';
  for (int pad = width - n; pad > 0; pad--)
    at[len++] = ' ';
  while (n)
    at[len++] = digits[--n];
  return len;
}

static void print_counts(unsigned long lines, unsigned long words, unsigned long bytes, const char *name) {
  char line[600];
  int n = 0;
  if (show_lines)
    n += column(line + n, lines, n == 0);
  if (show_words)
    n += column(line + n, words, n == 0);
  if (show_bytes)
    n += column(line + n, bytes, n == 0);
  if (name) {
    int room = sizeof line - n - 1, k = snprintf(line + n, room, " %s", name);
    n += k < room ? k : room - 1;
  }
  line[n++] = '\n';
  write_full(1, line, n);
}

// Counts one input; 0, or -errno.
static long count(long fd, const char *name) {
  unsigned long lines = 0, words = 0, bytes = 0;
  int in_word = 0;
  long err = 0;
  for (;;) {
    long n = sys_read(fd, buf, sizeof buf);
    if (n < 0) {
      err = n;
      break;
    }
    if (n == 0)
      break;
    bytes += n;
    for (long i = 0; i < n; i++) {
      unsigned char c = buf[i];
      if (c == '\n')
        lines++;
      if (is_space(c)) {
        in_word = 0;
      } else if (is_print(c) && !in_word) {
        in_word = 1;
        words++;
      }
    }
  }
  if (err < 0)
    dprintf(2, "wc: %s: %s\n", name ? name : "-", strerror(-err));
  print_counts(lines, words, bytes, name);
  total_lines += lines, total_words += words, total_bytes += bytes;
  return err;
}

int main(int argc, char **argv) {
  int first = 1;
  for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
    for (const char *o = argv[first] + 1; *o; o++) {
      if (*o == 'l')
        show_lines = 1;
      else if (*o == 'w')
        show_words = 1;
      else if (*o == 'c')
        show_bytes = 1;
      else {
        dprintf(2, "wc: invalid option -- '%c'\n", *o);
        return 1;
      }
    }
  }
  if (!show_lines && !show_words && !show_bytes)
    show_lines = show_words = show_bytes = 1;
  int nfiles = argc - first;
  char **files = argv + first;
  int stdin_only = nfiles == 0;
  if (stdin_only)
    nfiles = 1;

  // The column width, from what each input is (coreutils' compute_number_width).
  width = 1;
  if (!(nfiles == 1 && show_lines + show_words + show_bytes == 1)) {
    int minimum = 1;
    unsigned long regular = 0;
    for (int i = 0; i < nfiles; i++) {
      struct stat st;
      const char *f = stdin_only ? "-" : files[i];
      long r = strcmp(f, "-") == 0 ? sys_fstat(0, &st) : sys_newfstatat(AT_FDCWD, f, &st, 0);
      if (r < 0)
        continue;
      if (S_ISREG(st.st_mode))
        regular += st.st_size;
      else
        minimum = 7;
    }
    for (; regular >= 10; regular /= 10)
      width++;
    if (width < minimum)
      width = minimum;
  }

  int status = 0;
  for (int i = 0; i < nfiles; i++) {
    const char *name = stdin_only ? 0 : files[i];
    if (!name || strcmp(name, "-") == 0) {
      status |= count(0, name) < 0;
      continue;
    }
    long fd = open(name, O_RDONLY, 0);
    if (fd < 0) {
      dprintf(2, "wc: %s: %s\n", name, strerror(-fd));
      status = 1;
      continue;
    }
    status |= count(fd, name) < 0;
    sys_close(fd);
  }
  if (nfiles > 1)
    print_counts(total_lines, total_words, total_bytes, "total");
  return status;
}
