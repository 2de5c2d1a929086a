// The request ring shared by the slaves (producers) and the master (the
// only consumer). A slave takes ticket t with an atomic add on
// request_tail, writes its hart id in slot t % RING_SLOTS and then
// publishes the slot by storing seq = t + 1. The master consumes tickets in
// order, so requests are served first come, first served. Every hart has at
// most one request outstanding, so NCPU slots never overflow.
#pragma once
#include "param.h"
#include "types.h"

#define RING_SLOTS NCPU

struct ring_slot {
  volatile uint64 seq;
  volatile uint64 hart;
};

extern struct ring_slot request_ring[RING_SLOTS];
extern uint64 request_tail;
extern struct mailbox mailboxes[NCPU];
