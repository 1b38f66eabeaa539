/* qv_irq.h — interrupt lines of the qemu-virt board (GIC v2). Handlers run
 * in IRQ mode with interrupts masked and must only silence their device
 * and note the work; the work itself happens in port_poll(). Any device
 * interrupt also ends port_poll's WFI sleep. Exports qv_irq_enable/disable. */
#ifndef QV_IRQ_H
#define QV_IRQ_H

/* Lines the board itself uses (GIC ids): virtual timer PPI, PL011 SPI 1. */
#define QV_IRQ_TIMER 27u
#define QV_IRQ_UART 33u
/* Handler table bound: GIC ids 0..QV_IRQ_MAX-1. QEMU virt's GIC has 288
 * lines, but every device the board can use sits below 128 (virtio-mmio
 * 48..79, UART 33, timer 27); a table for 288 would be 1.3 KiB of nothing. */
#define QV_IRQ_MAX 128u

/* Route GIC id irq to handler(ctx) and enable it. 0, PORT_EINVAL (id out
 * of range, NULL handler) or PORT_EADDRINUSE (id already has a handler). */
int qv_irq_enable(unsigned irq, void (*handler)(void *), void *ctx);
/* Disable the line and forget its handler. */
void qv_irq_disable(unsigned irq);

#endif
