/* pl011.h — ARM PrimeCell PL011 UART: polled transmit, non-blocking
 * receive, receive interrupt enable/drain. No buffering policy here: the
 * board decides where received bytes go. Exports pl011_*. */
#ifndef DRV_PL011_H
#define DRV_PL011_H

#include <stdbool.h>
#include <stdint.h>

struct pl011 {
	uintptr_t base;	  /* register block */
	uint32_t clk_hz;  /* UARTCLK (QEMU virt: 24 MHz apb-pclk) */
	uint32_t baud;	  /* e.g. 115200 */
};

/* 8N1, FIFOs on, RX and TX enabled, all interrupts masked. 0 or PORT_EINVAL. */
int pl011_init(const struct pl011 *u);
/* Waits while the TX FIFO is full (bounded by the line rate). */
void pl011_putc(const struct pl011 *u, uint8_t c);
/* One received byte (0..255), PORT_EAGAIN if the RX FIFO is empty,
 * PORT_EIO if the byte arrived with a framing/parity/break/overrun error
 * (the byte is consumed). */
int pl011_getc(const struct pl011 *u);
/* Unmask (or mask) the receive and receive-timeout interrupts. */
void pl011_rx_irq(const struct pl011 *u, bool on);
/* Clear latched interrupt causes (after draining the RX FIFO). */
void pl011_irq_clear(const struct pl011 *u);
/* Wait until every queued byte has left the shift register (before a
 * reset or power-off, so the last report is not lost). */
void pl011_flush(const struct pl011 *u);

#endif
