// Limits and tunables, all in one place.
#pragma once

#define NCPU 512            // most harts the kernel supports (the platform's limit)
#define NPROC 1024          // most processes
#define NTHREAD 2048        // most threads, all processes together
#define MAX_THREAD_SLOTS 256 // most threads sharing one address space
#define NFUTEX_HASH 64      // hash chains of futex waiters
#define KSTACK_SIZE 4096    // per-hart stack for M-mode start and the S-mode kernel/stub
#define MAXARG 32768        // most argv and envp entries together (rvmsmp refuses more)
#define USTACK_PAGES 16     // user stack: 64 KiB, plus the pages argv and envp take
#define ARG_MAX_BYTES (2 << 20) // most bytes argv and envp take (strings, NULs and pointers), as Linux
#define USTACK_MAX_PAGES (USTACK_PAGES + ARG_MAX_BYTES / 4096 + 2) // room kept below USTACK_TOP
#define DEFAULT_SLICE 20000 // round-robin time slice in mtime ticks (10 MHz): 2 ms
#define TICKS_PER_SECOND 10000000UL // mtime runs at 10 MHz on QEMU virt and rvmsmp
#define NS_PER_TICK 100

// The disk and the file system (only used when a disk is present).
#define NBUF 512       // buffer cache: 4 KiB buffers (2 MiB when all are in use)
#define NBUF_HASH 256  // hash chains of the buffer cache
#define LOGMAX 126     // most blocks in one transaction (the default log holds 126)
#define LOGMIN 16      // a log with fewer blocks than this is refused at boot
#define NFILE 1024     // open files, system-wide
#define NPIPE 128      // pipes, system-wide
#define NMNODE 256     // inodes referred to by open files
#define NOFILE 256     // descriptors per process
#define MAXOPREFS 160  // buffers one system call may reference at once
#define NHOLDERS 4     // calls that may keep buffers while they wait for reads
#define MAXHOLD 48     // buffers each of them keeps
#define MAXOPDATA 32   // data blocks one read or write moves (larger ones return a short count)
#define EXE_PATH 256     // longest program path /proc/self/exe gives
#define FS_PATH 4096   // longest path a file-system call accepts, NUL included (Linux's PATH_MAX)
#define DEADLOCK_STATUS 125     // power-off status when every thread is blocked for ever
#define DISK_FAILURE_STATUS 74 // power-off status when the disk or its file system is unusable (EX_IOERR)
