// Just enough of a flattened device tree reader to learn what the kernel
// needs: RAM, the number of harts, the initramfs, the command line, and
// whether the annotation device exists. (Devicetree Specification v0.4, ch. 5.)
#include "defs.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static uint32 be32(const void *p) {
  const uint8 *b = p;
  return (uint32)b[0] << 24 | (uint32)b[1] << 16 | (uint32)b[2] << 8 | b[3];
}

// A property value of one or two cells, as a number.
static uint64 cells(const uint8 *value, uint32 len) {
  if (len == 8)
    return (uint64)be32(value) << 32 | be32(value + 4);
  return be32(value);
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

// Whether a string-list property contains `want`.
static int list_has(const char *list, uint32 len, const char *want) {
  for (uint32 i = 0; i < len; i += strlen(list + i) + 1)
    if (strcmp(list + i, want) == 0)
      return 1;
  return 0;
}

// A virtio-mmio transport: its registers (reg) and PLIC source
// (interrupts), from the properties of the node named `name`.
static void virtio_node(struct boot_info *info, const char *name, const char *strings) {
  if (info->nvirtio == 8)
    return;
  uint64 base = 0;
  uint32 irq = 0;
  const uint8 *p = (const uint8 *)name + ((strlen(name) + 4) & ~3UL);
  for (;;) {
    uint32 token = be32(p);
    if (token == FDT_NOP) {
      p += 4;
      continue;
    }
    if (token != FDT_PROP)
      break;
    uint32 len = be32(p + 4);
    const char *pname = strings + be32(p + 8);
    const uint8 *value = p + 12;
    if (strcmp(pname, "reg") == 0 && len >= 8)
      base = len >= 16 ? cells(value, 8) : cells(value, 4);
    else if (strcmp(pname, "interrupts") == 0 && len >= 4)
      irq = be32(value);
    p += (12 + len + 3) & ~3UL;
  }
  if (base && irq) {
    info->virtio_base[info->nvirtio] = base;
    info->virtio_irq[info->nvirtio] = irq;
    info->nvirtio++;
  }
}

void fdt_parse(uint64 fdt, struct boot_info *info) {
  const uint8 *base = (const uint8 *)fdt;
  if (be32(base) != FDT_MAGIC)
    panic("no device tree at %p", fdt);
  info->fdt_start = fdt;
  info->fdt_size = be32(base + 4);
  const uint8 *p = base + be32(base + 8);
  const char *strings = (const char *)base + be32(base + 12);

  // The path is tracked only as deep as the nodes we look at.
  const char *node[4] = {0};
  int depth = 0;
  for (;;) {
    uint32 token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      if (depth < 4)
        node[depth] = name;
      depth++;
      if (depth == 3 && strcmp(node[1], "cpus") == 0 && starts_with(name, "cpu@"))
        info->harts++;
      p += (strlen(name) + 4) & ~3UL;
    } else if (token == FDT_END_NODE) {
      depth--;
    } else if (token == FDT_PROP) {
      uint32 len = be32(p);
      const char *pname = strings + be32(p + 4);
      const uint8 *value = p + 8;
      p += (8 + len + 3) & ~3UL;
      const char *here = depth >= 1 && depth <= 4 ? node[depth - 1] : "";
      if (depth == 2 && strcmp(here, "chosen") == 0) {
        if (strcmp(pname, "bootargs") == 0)
          info->bootargs = (const char *)value;
        else if (strcmp(pname, "linux,initrd-start") == 0)
          info->initrd_start = cells(value, len);
        else if (strcmp(pname, "linux,initrd-end") == 0)
          info->initrd_end = cells(value, len);
      } else if (depth == 2 && starts_with(here, "memory@") && strcmp(pname, "reg") == 0 && len >= 16) {
        info->ram_base = cells(value, 8);
        info->ram_size = cells(value + 8, 8);
      } else if (strcmp(pname, "compatible") == 0) {
        if (list_has((const char *)value, len, "rvmsmp,annotate"))
          info->annotate = 1;
        else if (len == sizeof "virtio,mmio" && strcmp((const char *)value, "virtio,mmio") == 0)
          virtio_node(info, here, strings); // (the binding's one compatible string)
      }
    } else if (token == FDT_NOP) {
      continue;
    } else {
      break; // FDT_END, or something we do not understand
    }
  }
}
