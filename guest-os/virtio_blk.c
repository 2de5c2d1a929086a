// The disk: a virtio block device on the virtio-mmio transport, version 2
// ("modern", virtio 1.1 sections 2.6, 4.2.2 and 5.2), driven by hart 0
// alone. One split virtqueue; every request is three descriptors (header,
// one 4 KiB block, status byte). Requests are asynchronous: blk_submit
// hands one to the device (or queues it while the ring is full) and
// returns at once; the device's interrupt, routed by the PLIC to hart 0's
// S-mode context, ends the master's WFI, and disk_poll (from the master
// loop) claims it and calls each finished request's `done`. Nothing here
// ever waits for the disk, except blk_wait, which boot uses before any
// process exists.
#include "defs.h"
#include "fs.h"
#include "memlayout.h"
#include "riscv.h"

// virtio-mmio registers (virtio 1.1, 4.2.2).
#define VIRTIO_MAGIC 0x000
#define VIRTIO_VERSION 0x004
#define VIRTIO_DEVICE_ID 0x008
#define VIRTIO_DEVICE_FEATURES 0x010
#define VIRTIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_DRIVER_FEATURES 0x020
#define VIRTIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_QUEUE_SEL 0x030
#define VIRTIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_QUEUE_NUM 0x038
#define VIRTIO_QUEUE_READY 0x044
#define VIRTIO_QUEUE_NOTIFY 0x050
#define VIRTIO_INTERRUPT_STATUS 0x060
#define VIRTIO_INTERRUPT_ACK 0x064
#define VIRTIO_STATUS 0x070
#define VIRTIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_CONFIG 0x100 // virtio_blk_config: u64 capacity (512-byte sectors) first

#define MAGIC_VALUE 0x74726976 // "virt"
#define DEVICE_ID_BLOCK 2

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 64

#define F_VERSION_1_HIGH 1 // bit 32: bit 0 of the second feature word

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define T_IN 0
#define T_OUT 1

#define QSIZE 128 // descriptors; a request takes three

struct virtq_desc {
  uint64 addr;
  uint32 len;
  uint16 flags;
  uint16 next;
};

struct virtq_avail {
  uint16 flags;
  uint16 idx;
  uint16 ring[QSIZE];
  uint16 used_event;
};

struct virtq_used_elem {
  uint32 id;
  uint32 len;
};

struct virtq_used {
  uint16 flags;
  uint16 idx;
  struct virtq_used_elem ring[QSIZE];
  uint16 avail_event;
};

static struct {
  uint64 base; // the transport's registers
  uint32 irq;  // its PLIC source
  uint32 qsize;
  struct virtq_desc *desc;
  struct virtq_avail *avail;
  volatile struct virtq_used *used;
  uint16 used_seen; // used ring entries consumed so far
  uint16 free_head; // the free descriptors, chained through `next`
  uint32 nfree;
  struct blk_req *owner[QSIZE]; // the request whose chain starts at each descriptor
  struct blk_req *queue_head, *queue_tail; // waiting for descriptors
  uint64 capacity; // in sectors
} vd;

int disk_present; // a disk was found and set up; written once at boot

// Whether a request is in flight or queued: its completion will wake someone.
int disk_busy(void) { return (disk_present && (vd.nfree != vd.qsize || vd.queue_head)) || ramdisk_busy(); }

#define REG(off) ((volatile uint32 *)(vd.base + (off)))

// The PLIC, as on QEMU virt: hart 0's S-mode interrupts are context 1.
#define PLIC_PRIORITY(irq) ((volatile uint32 *)(PLIC + 4 * (irq)))
#define PLIC_S_ENABLE(hart) ((volatile uint32 *)(PLIC + 0x2000 + (2 * (hart) + 1) * 0x80))
#define PLIC_S_THRESHOLD(hart) ((volatile uint32 *)(PLIC + 0x200000 + (2 * (hart) + 1) * 0x1000))
#define PLIC_S_CLAIM(hart) ((volatile uint32 *)(PLIC + 0x200004 + (2 * (hart) + 1) * 0x1000))

uint64 disk_capacity_blocks(void) { return ramdisk_present ? ramdisk_capacity_blocks() : vd.capacity / SECTORS_PER_BLOCK; }

// Whether the transport at `base` holds a modern block device; sets it up
// if so. Returns 0 on success.
static int setup(uint64 base, uint32 irq) {
  vd.base = base;
  vd.irq = irq;
  if (*REG(VIRTIO_MAGIC) != MAGIC_VALUE || *REG(VIRTIO_DEVICE_ID) != DEVICE_ID_BLOCK)
    return -1; // not virtio, or an empty slot (device id 0)
  if (*REG(VIRTIO_VERSION) != 2) {
    printf("rvmsmp kernel: disk at %p: virtio-mmio version %d; this kernel needs 2 (modern)\n", base,
           (int)*REG(VIRTIO_VERSION));
    return -1;
  }
  *REG(VIRTIO_STATUS) = 0; // reset
  *REG(VIRTIO_STATUS) = STATUS_ACKNOWLEDGE;
  *REG(VIRTIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
  // Only VIRTIO_F_VERSION_1: no flush (a completed write is on the
  // medium, see README), no indirect descriptors, no multiple queues.
  *REG(VIRTIO_DEVICE_FEATURES_SEL) = 1;
  uint32 high = *REG(VIRTIO_DEVICE_FEATURES);
  *REG(VIRTIO_DRIVER_FEATURES_SEL) = 0;
  *REG(VIRTIO_DRIVER_FEATURES) = 0;
  *REG(VIRTIO_DRIVER_FEATURES_SEL) = 1;
  *REG(VIRTIO_DRIVER_FEATURES) = high & F_VERSION_1_HIGH;
  *REG(VIRTIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
  if (!(*REG(VIRTIO_STATUS) & STATUS_FEATURES_OK)) {
    printf("rvmsmp kernel: disk at %p refused the features\n", base);
    return -1;
  }
  *REG(VIRTIO_QUEUE_SEL) = 0;
  uint32 max = *REG(VIRTIO_QUEUE_NUM_MAX);
  if (*REG(VIRTIO_QUEUE_READY) || max < 4) {
    printf("rvmsmp kernel: disk at %p: no usable queue\n", base);
    return -1;
  }
  vd.qsize = QSIZE;
  while (vd.qsize > max)
    vd.qsize /= 2;
  char *ring = kalloc(), *used = kalloc();
  if (!ring || !used)
    panic("virtio_blk: out of memory");
  vd.desc = (struct virtq_desc *)ring;                         // 16 * QSIZE = 2048 bytes
  vd.avail = (struct virtq_avail *)(ring + 16 * QSIZE);        // then the available ring
  vd.used = (volatile struct virtq_used *)used;                // its own page
  for (uint32 i = 0; i < vd.qsize; i++)
    vd.desc[i].next = i + 1;
  vd.free_head = 0;
  vd.nfree = vd.qsize;
  *REG(VIRTIO_QUEUE_NUM) = vd.qsize;
  *REG(VIRTIO_QUEUE_DESC_LOW) = (uint64)vd.desc;
  *REG(VIRTIO_QUEUE_DESC_HIGH) = (uint64)vd.desc >> 32;
  *REG(VIRTIO_QUEUE_DRIVER_LOW) = (uint64)vd.avail;
  *REG(VIRTIO_QUEUE_DRIVER_HIGH) = (uint64)vd.avail >> 32;
  *REG(VIRTIO_QUEUE_DEVICE_LOW) = (uint64)vd.used;
  *REG(VIRTIO_QUEUE_DEVICE_HIGH) = (uint64)vd.used >> 32;
  *REG(VIRTIO_QUEUE_READY) = 1;
  vd.capacity = *REG(VIRTIO_CONFIG) | (uint64)*REG(VIRTIO_CONFIG + 4) << 32;
  *REG(VIRTIO_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK;

  // The PLIC: the disk's source, enabled for hart 0's S-mode context only;
  // sie.SEIE so that the master's WFI ends on it (sstatus.SIE stays clear).
  *PLIC_PRIORITY(irq) = 1;
  PLIC_S_ENABLE(0)[irq / 32] |= 1u << (irq % 32);
  *PLIC_S_THRESHOLD(0) = 0;
  CSR_SET(sie, IRQ_SEI);
  return 0;
}

// Finds the disk among the virtio-mmio transports the device tree lists
// (QEMU lists eight, most of them empty; rvmsmp only the one in use).
int virtio_blk_init(void) {
  kvmmap(PLIC, 0x3000);                     // priorities, pending bits, enables of contexts 0-63
  kvmmap(PLIC + 0x200000 + 0x1000, PGSIZE); // hart 0's S-mode threshold and claim
  for (int i = 0; i < boot.nvirtio; i++) {
    kvmmap(boot.virtio_base[i], PGSIZE);
    sfence_vma();
    if (setup(boot.virtio_base[i], boot.virtio_irq[i]) == 0) {
      disk_present = 1;
      return 0;
    }
  }
  return -1;
}

// Gives a request to the device if three descriptors are free.
static int start(struct blk_req *r) {
  if (vd.nfree < 3)
    return 0;
  uint16 d[3];
  for (int i = 0; i < 3; i++) {
    d[i] = vd.free_head;
    vd.free_head = vd.desc[d[i]].next;
  }
  vd.nfree -= 3;
  r->header.type = r->write ? T_OUT : T_IN;
  r->header.reserved = 0;
  r->header.sector = (uint64)r->blockno * SECTORS_PER_BLOCK;
  r->status = 0xff;
  vd.desc[d[0]] = (struct virtq_desc){(uint64)&r->header, sizeof r->header, DESC_F_NEXT, d[1]};
  vd.desc[d[1]] = (struct virtq_desc){(uint64)r->data, BSIZE, DESC_F_NEXT | (r->write ? 0 : DESC_F_WRITE), d[2]};
  vd.desc[d[2]] = (struct virtq_desc){(uint64)&r->status, 1, DESC_F_WRITE, 0};
  vd.owner[d[0]] = r;
  vd.avail->ring[vd.avail->idx % vd.qsize] = d[0];
  fence(); // the descriptors before the index
  vd.avail->idx++;
  return 1;
}

static void notify(void) {
  fence(); // the index before the notification
  *REG(VIRTIO_QUEUE_NOTIFY) = 0;
}

// Starts a transfer; `done` runs when it has finished. Never waits.
void blk_submit(struct blk_req *r) {
  if (ramdisk_present) {
    ramdisk_submit(r);
    return;
  }
  r->finished = 0;
  r->failed = 0;
  r->next = NULL;
  if (!vd.queue_head && start(r)) {
    notify();
    return;
  }
  if (vd.queue_tail)
    vd.queue_tail->next = r;
  else
    vd.queue_head = r;
  vd.queue_tail = r;
}

// Takes the device's finished requests off the used ring.
static void virtio_blk_intr(void) {
  uint32 status = *REG(VIRTIO_INTERRUPT_STATUS);
  *REG(VIRTIO_INTERRUPT_ACK) = status;
  if (*REG(VIRTIO_STATUS) & STATUS_NEEDS_RESET) {
    printf("rvmsmp kernel: the disk reports an unrecoverable error (virtio NEEDS_RESET); stopping\n");
    power_off(DISK_FAILURE_STATUS);
  }
  fence();
  while (vd.used_seen != vd.used->idx) {
    fence(); // the index before the entry
    uint32 head = vd.used->ring[vd.used_seen % vd.qsize].id;
    vd.used_seen++;
    struct blk_req *r = head < vd.qsize ? vd.owner[head] : NULL;
    if (!r)
      panic("virtio_blk: the device completed descriptor %d, which is not in use", (int)head);
    vd.owner[head] = NULL;
    // Free the chain of three.
    uint16 d = head;
    for (int i = 0; i < 2; i++)
      d = vd.desc[d].next;
    vd.desc[d].next = vd.free_head;
    vd.free_head = head;
    vd.nfree += 3;
    r->failed = r->status != 0;
    r->finished = 1;
    if (r->done)
      r->done(r);
  }
  // Requests that waited for descriptors.
  int started = 0;
  while (vd.queue_head && start(vd.queue_head)) {
    vd.queue_head = vd.queue_head->next;
    if (!vd.queue_head)
      vd.queue_tail = NULL;
    started = 1;
  }
  if (started)
    notify();
}

// Handles the disk's interrupt if it is pending (the master calls this
// after every WFI, and when an interrupt took hart 0 out of user mode).
void disk_poll(void) {
  if (ramdisk_present)
    ramdisk_poll();
  if (!(CSR_READ(sip) & IRQ_SEI))
    return;
  uint32 irq = *PLIC_S_CLAIM(0);
  if (irq == vd.irq)
    virtio_blk_intr();
  if (irq)
    *PLIC_S_CLAIM(0) = irq; // complete
}

// Boot only (no process exists yet): starts a transfer and waits for it in
// WFI. Returns 0, or -1 if the device reported an error.
int blk_wait(struct blk_req *r) {
  r->done = NULL;
  blk_submit(r);
  while (!r->finished) {
    wfi();
    disk_poll();
  }
  return r->failed ? -1 : 0;
}
