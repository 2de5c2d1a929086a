// The slave side of the master-slave kernel: the minimal per-hart stub.
//
// A slave hart never touches a kernel table. When its process traps (a
// system call, a fault, the end of its time slice), the trampoline has
// already saved the user registers in the process's trapframe; the stub
// writes why in its own mailbox, takes a ticket in the request ring, raises
// an inter-processor interrupt on hart 0 and waits in WFI. The master
// answers in the mailbox with the process to run next (the same one, or
// another) and an IPI back; the stub then returns to user mode.
//
// Memory ordering: the mailbox fields are written before the ring slot is
// published (release), and `answered` is written after the answer fields
// (the master fences in between); each side fences before the IPI.
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "riscv.h"
#include "ring.h"

struct mailbox mailboxes[NCPU];
struct ring_slot request_ring[RING_SLOTS];
uint64 request_tail; // the next ticket; taken with an atomic add

extern char boot_stacks[];
extern char trampoline[], uservec[], userret[];
void kernelvec(void);

// Posts a request from `hart` to the master: mailbox first, then a ticket
// in the ring (which gives the master its FIFO order), then the IPI.
void post_request(int hart, uint64 kind, uint64 scause, uint64 stval, uint64 nr) {
  struct mailbox *mb = &mailboxes[hart];
  mb->kind = kind;
  mb->scause = scause;
  mb->stval = stval;
  mb->answered = 0;
  annotate(EV_REQUEST_POSTED, kind, mb->pid, nr);
  uint64 ticket = __atomic_fetch_add(&request_tail, 1, __ATOMIC_ACQ_REL);
  struct ring_slot *slot = &request_ring[ticket % RING_SLOTS];
  slot->hart = hart;
  __atomic_store_n(&slot->seq, ticket + 1, __ATOMIC_RELEASE);
  fence();
  *(volatile uint32 *)CLINT_MSIP(0) = 1;
}

// Enters user mode in the address space `satp`, with the registers in
// `tf` (mapped at `tf_va` there); the next trap from user mode goes to
// `handler` on this hart's stack.
void run_user(uint64 satp, struct trapframe *tf, uint64 tf_va, void (*handler)(void)) {
  int hart = cpuid();
  tf->kernel_satp = MAKE_SATP(kernel_pagetable);
  tf->kernel_sp = (uint64)boot_stacks + (hart + 1) * KSTACK_SIZE;
  tf->kernel_trap = (uint64)handler;
  tf->hartid = hart;
  CSR_CLEAR(sstatus, SSTATUS_SPP); // sret goes to U-mode
  CSR_WRITE(stvec, TRAMPOLINE + (uservec - trampoline));
  void (*enter)(uint64, uint64) = (void (*)(uint64, uint64))(TRAMPOLINE + (userret - trampoline));
  enter(satp, tf_va);
  __builtin_unreachable();
}

// Waits in WFI for the master's answer, then runs the process it names.
static void __attribute__((noreturn)) wait_for_answer(int hart) {
  struct mailbox *mb = &mailboxes[hart];
  CSR_WRITE(stimecmp, -1UL); // no timer while waiting
  for (;;) {
    // Clear the IPI before looking, so one that lands in between still
    // ends the WFI.
    CSR_CLEAR(sip, IRQ_SSI);
    if (mb->answered)
      break;
    wfi();
  }
  fence();
  annotate(EV_RESUMED, hart, mb->pid, 0);
  CSR_WRITE(stimecmp, slice_deadline());
  run_user(mb->satp, (struct trapframe *)mb->tf, mb->tf_va, slave_trap);
}

// A slave's first request: it has nothing to run.
void slave_main(void) {
  int hart = cpuid();
  CSR_WRITE(stvec, (uint64)kernelvec);
  post_request(hart, REQ_IDLE, 0, 0, 0);
  wait_for_answer(hart);
}

// Every trap from user mode on a slave lands here, via the trampoline.
void slave_trap(void) {
  int hart = cpuid();
  CSR_WRITE(stvec, (uint64)kernelvec);
  uint64 scause = CSR_READ(scause), stval = CSR_READ(stval);
  uint64 kind = scause == CAUSE_ECALL_FROM_U ? REQ_SYSCALL : (scause & SCAUSE_INTERRUPT) ? REQ_TIMER : REQ_FAULT;
  uint64 nr = kind == REQ_SYSCALL ? ((struct trapframe *)mailboxes[hart].tf)->a7 : scause;
  post_request(hart, kind, scause, stval, nr);
  wait_for_answer(hart);
}
