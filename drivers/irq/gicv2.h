/* gicv2.h — ARM GIC v2 distributor and CPU interface, one CPU, all
 * interrupts in group 0 as IRQ. Exports gicv2_* : init, per-line enable,
 * and the acknowledge/end-of-interrupt pair the board's IRQ entry uses. */
#ifndef DRV_GICV2_H
#define DRV_GICV2_H

#include <stdbool.h>
#include <stdint.h>

/* Returned by gicv2_ack() when nothing (or a spurious id) is pending. */
#define GICV2_SPURIOUS 1023u

struct gicv2 {
	uintptr_t dist;	 /* GICD_* block */
	uintptr_t cpu;	 /* GICC_* block */
	unsigned lines;	 /* filled by gicv2_init: ids 0..lines-1 exist */
};

/* Disables and deprioritises every line, routes SPIs to CPU 0, enables
 * both interfaces. 0 or PORT_EIO when the id registers look wrong. */
int gicv2_init(struct gicv2 *g);
/* Enable or disable one interrupt id (SGI/PPI/SPI). 0 or PORT_EINVAL. */
int gicv2_enable(const struct gicv2 *g, unsigned id, bool on);
/* Acknowledge the highest-priority pending interrupt: the raw IAR value
 * to hand back to gicv2_eoi(); the id is iar & 0x3ff. */
uint32_t gicv2_ack(const struct gicv2 *g);
void gicv2_eoi(const struct gicv2 *g, uint32_t iar);

#endif
