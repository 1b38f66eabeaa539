/* gicv2.c — ARM Generic Interrupt Controller v2 (IHI0048B): distributor
 * and CPU interface set-up for a single core. Exports gicv2_*. */
#include "gicv2.h"

#include "../mmio.h"
#include "port.h"

#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICD_ICPENDR 0x280
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_ICFGR 0xc00

#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_BPR 0x008
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010

#define GIC_MAX_LINES 1020u
/* One priority for everything: no nesting, the IRQ entry runs to
 * completion, so relative priorities would buy nothing. */
#define GIC_PRIO 0xa0u
#define GIC_PRIO4 (GIC_PRIO * 0x01010101u)

int gicv2_init(struct gicv2 *g)
{
	mmio_write32(g->dist + GICD_CTLR, 0);
	unsigned lines = ((mmio_read32(g->dist + GICD_TYPER) & 0x1fu) + 1u) * 32u;
	if (lines > GIC_MAX_LINES)
		lines = GIC_MAX_LINES;
	g->lines = lines;
	for (unsigned i = 0; i < lines; i += 32) {
		mmio_write32(g->dist + GICD_ICENABLER + i / 8, 0xffffffffu);
		mmio_write32(g->dist + GICD_ICPENDR + i / 8, 0xffffffffu);
	}
	for (unsigned i = 0; i < lines; i += 4)
		mmio_write32(g->dist + GICD_IPRIORITYR + i, GIC_PRIO4);
	/* ITARGETSR for ids < 32 is read-only (banked per CPU). */
	for (unsigned i = 32; i < lines; i += 4)
		mmio_write32(g->dist + GICD_ITARGETSR + i, 0x01010101u);
	/* SPIs level-sensitive: virtio-mmio and the PL011 hold their line
	 * until the cause is cleared. */
	for (unsigned i = 32; i < lines; i += 16)
		mmio_write32(g->dist + GICD_ICFGR + i / 4, 0);
	/* Read back one priority: a wrong base address reads 0 or all-ones. */
	if (mmio_read32(g->dist + GICD_IPRIORITYR + 32) != GIC_PRIO4)
		return PORT_EIO;
	mmio_write32(g->dist + GICD_CTLR, 1);
	mmio_write32(g->cpu + GICC_PMR, 0xf0u); /* let GIC_PRIO through */
	mmio_write32(g->cpu + GICC_BPR, 0);
	mmio_write32(g->cpu + GICC_CTLR, 1);
	return 0;
}

int gicv2_enable(const struct gicv2 *g, unsigned id, bool on)
{
	if (id >= g->lines)
		return PORT_EINVAL;
	uint32_t bit = 1u << (id % 32u);
	mmio_write32(g->dist + (on ? GICD_ISENABLER : GICD_ICENABLER) + (id / 32u) * 4u, bit);
	return 0;
}

uint32_t gicv2_ack(const struct gicv2 *g)
{
	return mmio_read32(g->cpu + GICC_IAR);
}

void gicv2_eoi(const struct gicv2 *g, uint32_t iar)
{
	mmio_write32(g->cpu + GICC_EOIR, iar);
}
