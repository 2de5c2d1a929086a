/* virtio_blk: a bare-metal driver for the virtio-mmio block device in the
 * first slot (0x10001000, PLIC source 1), written against the virtio 1.1
 * specification and QEMU's device, so it runs unchanged on rvmsmp (`bare
 * --disk IMG`) and on qemu-system-riscv64 -machine virt -bios none
 * -global virtio-mmio.force-legacy=false with the same image.
 *
 * Hart 0 identifies the device, negotiates VIRTIO_F_VERSION_1 and FLUSH,
 * sets up one 8-entry split virtqueue, and then, waiting for each request's
 * interrupt (WFI, then claim and complete at the PLIC): reads sector 0 and
 * prints the text it starts with, writes sector 1, flushes, reads sector 1
 * back, reads past the end (an I/O error), asks for the device id, and
 * powers off with status 0. Any surprise prints "FAIL: ..." and powers off
 * with status 1. Other harts park. */

#include "platform.h"

        .equ    VIRTIO,         0x10001000
        .equ    V_MAGIC,        0x000
        .equ    V_VERSION,      0x004
        .equ    V_DEVICE_ID,    0x008
        .equ    V_VENDOR_ID,    0x00c
        .equ    V_DEV_FEAT,     0x010
        .equ    V_DEV_FEAT_SEL, 0x014
        .equ    V_DRV_FEAT,     0x020
        .equ    V_DRV_FEAT_SEL, 0x024
        .equ    V_QUEUE_SEL,    0x030
        .equ    V_QUEUE_NUM_MAX, 0x034
        .equ    V_QUEUE_NUM,    0x038
        .equ    V_QUEUE_READY,  0x044
        .equ    V_QUEUE_NOTIFY, 0x050
        .equ    V_INT_STATUS,   0x060
        .equ    V_INT_ACK,      0x064
        .equ    V_STATUS,       0x070
        .equ    V_DESC_LO,      0x080
        .equ    V_DESC_HI,      0x084
        .equ    V_DRIVER_LO,    0x090
        .equ    V_DRIVER_HI,    0x094
        .equ    V_DEVICE_LO,    0x0a0
        .equ    V_DEVICE_HI,    0x0a4
        .equ    V_CONFIG,       0x100

        .equ    S_ACK,          1
        .equ    S_DRIVER,       2
        .equ    S_DRIVER_OK,    4
        .equ    S_FEATURES_OK,  8

        .equ    QSIZE,          8
        .equ    T_IN,           0
        .equ    T_OUT,          1
        .equ    T_FLUSH,        4
        .equ    T_GET_ID,       8
        .equ    D_NEXT,         1
        .equ    D_WRITE,        2

        .equ    PLIC,           0x0c000000
        .equ    PLIC_ENABLE0,   0x0c002000
        .equ    PLIC_CLAIM0,    0x0c200004
        .equ    MIE_MEIE,       (1 << 11)

        .section .text.init, "ax"
        .globl  _start
_start:
        csrr    t0, mhartid
        bnez    t0, park
        la      sp, stack_top

        /* Identity. */
        li      s0, VIRTIO
        la      a0, m_ident
        call    puts
        lw      a0, V_MAGIC(s0)
        call    puthex
        la      a0, m_version
        call    puts
        lw      a0, V_VERSION(s0)
        call    puthex
        la      a0, m_device
        call    puts
        lw      a0, V_DEVICE_ID(s0)
        call    puthex
        la      a0, m_vendor
        call    puts
        lw      a0, V_VENDOR_ID(s0)
        call    puthex
        call    newline
        lw      t0, V_MAGIC(s0)
        li      t1, 0x74726976
        la      a0, f_ident
        bne     t0, t1, fail
        lw      t0, V_DEVICE_ID(s0)
        li      t1, 2
        bne     t0, t1, fail

        /* Reset, acknowledge, and negotiate VERSION_1 (bit 32) and FLUSH (bit 9). */
        sw      zero, V_STATUS(s0)
        li      t0, S_ACK
        sw      t0, V_STATUS(s0)
        li      t0, S_ACK | S_DRIVER
        sw      t0, V_STATUS(s0)
        li      t0, 1
        sw      t0, V_DEV_FEAT_SEL(s0)
        lw      t1, V_DEV_FEAT(s0)
        andi    t1, t1, 1
        la      a0, f_version1
        beqz    t1, fail
        sw      zero, V_DEV_FEAT_SEL(s0)
        lw      t1, V_DEV_FEAT(s0)
        li      t2, 1 << 9
        and     t1, t1, t2
        la      a0, f_flush
        beqz    t1, fail
        li      t0, 1
        sw      t0, V_DRV_FEAT_SEL(s0)
        sw      t0, V_DRV_FEAT(s0)
        sw      zero, V_DRV_FEAT_SEL(s0)
        sw      t2, V_DRV_FEAT(s0)
        li      t0, S_ACK | S_DRIVER | S_FEATURES_OK
        sw      t0, V_STATUS(s0)
        lw      t1, V_STATUS(s0)
        andi    t1, t1, S_FEATURES_OK
        la      a0, f_features
        beqz    t1, fail
        la      a0, m_features
        call    puts

        /* Capacity, in sectors (a 64-bit field read as two halves). */
        la      a0, m_capacity
        call    puts
        lwu     t0, V_CONFIG(s0)
        lwu     t1, V_CONFIG+4(s0)
        slli    t1, t1, 32
        or      a0, t0, t1
        mv      s1, a0                  /* s1 = capacity */
        call    puthex
        call    newline

        /* The queue: 8 entries, rings in .bss. */
        sw      zero, V_QUEUE_SEL(s0)
        lw      t0, V_QUEUE_READY(s0)
        la      a0, f_ready
        bnez    t0, fail
        lw      t0, V_QUEUE_NUM_MAX(s0)
        li      t1, QSIZE
        la      a0, f_qmax
        bltu    t0, t1, fail
        sw      t1, V_QUEUE_NUM(s0)
        la      t0, desc
        sw      t0, V_DESC_LO(s0)
        srli    t0, t0, 32
        sw      t0, V_DESC_HI(s0)
        la      t0, avail
        sw      t0, V_DRIVER_LO(s0)
        srli    t0, t0, 32
        sw      t0, V_DRIVER_HI(s0)
        la      t0, used
        sw      t0, V_DEVICE_LO(s0)
        srli    t0, t0, 32
        sw      t0, V_DEVICE_HI(s0)
        li      t0, 1
        sw      t0, V_QUEUE_READY(s0)
        li      t0, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
        sw      t0, V_STATUS(s0)

        /* Interrupts: source 1 at priority 1, enabled for hart 0's M
         * context, threshold 0; mie.MEIE lets WFI wake (mstatus.MIE stays
         * 0, so no trap is taken). */
        li      t0, PLIC
        li      t1, 1
        sw      t1, 4(t0)
        li      t0, PLIC_ENABLE0
        li      t1, 2
        sw      t1, 0(t0)
        li      t0, MIE_MEIE
        csrs    mie, t0

        /* 1: read sector 0 and print the line it starts with. */
        li      a0, T_IN
        li      a1, 0
        la      a2, buffer
        li      a3, 512
        li      a4, D_WRITE
        call    request
        la      a0, f_read0
        bnez    a1, fail
        la      a0, m_sector0
        call    puts
        la      a0, buffer
        call    putline
        /* the used-ring length: 512 data bytes and the status byte */
        la      t0, used
        lw      t1, 8(t0)
        li      t2, 513
        la      a0, f_usedlen
        bne     t1, t2, fail

        /* 2: write sector 1. */
        la      a0, wmsg
        la      a1, buffer
        li      a2, 512
        call    fill
        li      a0, T_OUT
        li      a1, 1
        la      a2, buffer
        li      a3, 512
        li      a4, 0
        call    request
        la      a0, m_write
        call    puts
        mv      a0, a1
        call    puthex
        call    newline

        /* 3: flush. */
        li      a0, T_FLUSH
        li      a1, 0
        li      a3, 0
        call    request
        la      a0, m_flush
        call    puts
        mv      a0, a1
        call    puthex
        call    newline

        /* 4: read sector 1 back into a cleared buffer. */
        la      a0, empty
        la      a1, buffer
        li      a2, 512
        call    fill
        li      a0, T_IN
        li      a1, 1
        la      a2, buffer
        li      a3, 512
        li      a4, D_WRITE
        call    request
        la      a0, f_read1
        bnez    a1, fail
        la      a0, m_sector1
        call    puts
        la      a0, buffer
        call    putline

        /* 5: read the sector past the end: an I/O error (status 1). */
        li      a0, T_IN
        mv      a1, s1
        la      a2, buffer
        li      a3, 512
        li      a4, D_WRITE
        call    request
        la      a0, m_past
        call    puts
        mv      a0, a1
        call    puthex
        call    newline

        /* 6: the device id (its text differs between devices; the status does not). */
        li      a0, T_GET_ID
        li      a1, 0
        la      a2, buffer
        li      a3, 20
        li      a4, D_WRITE
        call    request
        la      a0, m_getid
        call    puts
        mv      a0, a1
        call    puthex
        call    newline

        la      a0, m_done
        call    puts
        li      t0, FINISHER
        li      t1, FINISHER_PASS
        sw      t1, 0(t0)
park:
        PARK

/* request: a0 = type, a1 = sector, a2 = buffer, a3 = its length (0: no
 * data descriptor), a4 = D_WRITE if the device writes the buffer. Puts a
 * chain at descriptor 0, makes it available, notifies, and waits for the
 * used ring to move. Returns the status byte in a1. Uses t0-t4. */
request:
        addi    sp, sp, -16
        sd      ra, 0(sp)
        la      t0, header
        sw      a0, 0(t0)
        sw      zero, 4(t0)
        sd      a1, 8(t0)
        la      t1, desc
        sd      t0, 0(t1)               /* desc 0: the header */
        li      t2, 16
        sw      t2, 8(t1)
        li      t2, D_NEXT
        sh      t2, 12(t1)
        li      t2, 1
        sh      t2, 14(t1)
        addi    t1, t1, 16
        beqz    a3, 1f
        sd      a2, 0(t1)               /* desc 1: the data */
        sw      a3, 8(t1)
        ori     t2, a4, D_NEXT
        sh      t2, 12(t1)
        li      t2, 2
        sh      t2, 14(t1)
        addi    t1, t1, 16
1:      la      t0, status              /* last: the status byte */
        li      t2, 0xff
        sb      t2, 0(t0)
        sd      t0, 0(t1)
        li      t2, 1
        sw      t2, 8(t1)
        li      t2, D_WRITE
        sh      t2, 12(t1)
        sh      zero, 14(t1)
        /* avail.ring[idx % QSIZE] = 0, then idx + 1 */
        la      t0, avail
        lhu     t3, 2(t0)
        andi    t2, t3, QSIZE - 1
        slli    t2, t2, 1
        add     t2, t2, t0
        sh      zero, 4(t2)
        fence   w, w
        addi    t3, t3, 1
        sh      t3, 2(t0)
        fence   w, o
        sw      zero, V_QUEUE_NOTIFY(s0)
        /* wait until used.idx reaches the new avail.idx */
        slli    t3, t3, 48
        srli    t3, t3, 48
2:      la      t0, used
        lhu     t4, 2(t0)
        beq     t4, t3, 3f
        wfi
        li      t0, PLIC_CLAIM0
        lw      t1, 0(t0)
        beqz    t1, 2b
        lw      t2, V_INT_STATUS(s0)
        sw      t2, V_INT_ACK(s0)
        sw      t1, 0(t0)               /* complete */
        j       2b
3:      fence   r, r
        la      t0, used                /* the entry names descriptor 0 */
        andi    t2, t3, QSIZE - 1
        addi    t2, t2, -1
        andi    t2, t2, QSIZE - 1
        slli    t2, t2, 3
        add     t2, t2, t0
        lw      t1, 4(t2)
        la      a0, f_usedid
        bnez    t1, fail
        la      t0, status
        lbu     a1, 0(t0)
        ld      ra, 0(sp)
        addi    sp, sp, 16
        ret

/* fill: copy the string at a0 into the a2-byte buffer at a1, zero-padded. */
fill:
        add     a2, a2, a1
1:      lbu     t0, 0(a0)
        sb      t0, 0(a1)
        beqz    t0, 2f
        addi    a0, a0, 1
2:      addi    a1, a1, 1
        bltu    a1, a2, 1b
        ret

/* puts: print the string at a0. Uses t0, t1 (and t5, t6 in PUTC). */
puts:
        mv      t0, a0
1:      lbu     t1, 0(t0)
        beqz    t1, 2f
        PUTC    t1
        addi    t0, t0, 1
        j       1b
2:      ret

/* putline: print the string at a0 up to a newline or zero byte (at most 64
 * bytes), then a newline. */
putline:
        mv      t0, a0
        addi    t2, a0, 64
1:      lbu     t1, 0(t0)
        beqz    t1, 2f
        li      t3, '\n'
        beq     t1, t3, 2f
        PUTC    t1
        addi    t0, t0, 1
        bltu    t0, t2, 1b
2:      li      t1, '\n'
        PUTC    t1
        ret

newline:
        li      t1, '\n'
        PUTC    t1
        ret

/* puthex: print a0 as 0x and hex digits, without leading zeros. */
puthex:
        li      t1, '0'
        PUTC    t1
        li      t1, 'x'
        PUTC    t1
        li      t2, 60                  /* shift of the current digit */
1:      beqz    t2, 2f
        srl     t1, a0, t2
        bnez    t1, 2f
        addi    t2, t2, -4
        j       1b
2:      srl     t1, a0, t2
        andi    t1, t1, 15
        li      t3, 10
        bltu    t1, t3, 3f
        addi    t1, t1, 'a' - 10 - '0'
3:      addi    t1, t1, '0'
        PUTC    t1
        beqz    t2, 4f
        addi    t2, t2, -4
        j       2b
4:      ret

/* fail: print "FAIL: " and the message at a0, power off with status 1. */
fail:
        mv      s2, a0
        la      a0, m_fail
        call    puts
        mv      a0, s2
        call    puts
        call    newline
        li      t0, FINISHER
        li      t1, (1 << 16) | FINISHER_FAIL
        sw      t1, 0(t0)
        PARK

        .section .rodata
m_ident:    .asciz "virtio-blk: magic "
m_version:  .asciz " version "
m_device:   .asciz " device "
m_vendor:   .asciz " vendor "
m_features: .asciz "features: VERSION_1 and FLUSH negotiated\n"
m_capacity: .asciz "capacity: "
m_sector0:  .asciz "sector 0: "
m_write:    .asciz "write sector 1: status "
m_flush:    .asciz "flush: status "
m_sector1:  .asciz "sector 1: "
m_past:     .asciz "read past the end: status "
m_getid:    .asciz "get id: status "
m_done:     .asciz "done\n"
m_fail:     .asciz "FAIL: "
f_ident:    .asciz "not a virtio block device"
f_version1: .asciz "VIRTIO_F_VERSION_1 not offered"
f_flush:    .asciz "VIRTIO_BLK_F_FLUSH not offered"
f_features: .asciz "FEATURES_OK not accepted"
f_ready:    .asciz "queue 0 ready before setup"
f_qmax:     .asciz "queue too small"
f_read0:    .asciz "reading sector 0 failed"
f_read1:    .asciz "reading sector 1 failed"
f_usedlen:  .asciz "used ring length is not 513"
f_usedid:   .asciz "used ring entry does not name descriptor 0"
wmsg:       .asciz "written by the guest\n"
empty:      .asciz ""

        .bss
        .balign 16
desc:       .space  16 * QSIZE
        .balign 4
avail:      .space  4 + 2 * QSIZE + 2
        .balign 4
used:       .space  4 + 8 * QSIZE + 2
        .balign 16
header:     .space  16
status:     .space  1
        .balign 16
buffer:     .space  512
        .balign 16
stack:      .space  256
stack_top:
