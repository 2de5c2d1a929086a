// Limits and tunables, all in one place.
#pragma once

#define NCPU 512            // most harts the kernel supports (the platform's limit)
#define NPROC 1024          // most processes
#define KSTACK_SIZE 4096    // per-hart stack for M-mode start and the S-mode kernel/stub
#define MAXARG 32           // most argv entries
#define USTACK_PAGES 16     // user stack: 64 KiB
#define DEFAULT_SLICE 20000 // round-robin time slice in mtime ticks (10 MHz): 2 ms
#define MAX_PATH 128
