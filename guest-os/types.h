// Fixed-width types for a freestanding RV64 kernel.
#pragma once

typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned int uint32;
typedef unsigned long uint64;
typedef long int64;
typedef int int32;
typedef short int16;
typedef uint64 pte_t;
typedef uint64 *pagetable_t; // 512 PTEs

#define NULL ((void *)0)
