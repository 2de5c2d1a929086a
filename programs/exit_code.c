// exit_code: exits with the status given as argv[1] (default 0) and prints
// nothing, for tests of how exit statuses are reported.
#include "user.h"

int main(int argc, char **argv) { return argc > 1 ? (int)atoi(argv[1]) : 0; }
