/* pl011.c — ARM PrimeCell PL011 UART (DDI0183): register protocol only.
 * Exports the pl011_* functions of pl011.h. */
#include "pl011.h"

#include "../mmio.h"
#include "port.h"

#define UART_DR 0x000
#define UART_RSR 0x004
#define UART_FR 0x018
#define UART_IBRD 0x024
#define UART_FBRD 0x028
#define UART_LCR_H 0x02c
#define UART_CR 0x030
#define UART_IMSC 0x038
#define UART_ICR 0x044

#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define DR_ERRORS 0xf00u /* OE BE PE FE latched with each received byte */
#define LCR_FEN (1u << 4)
#define LCR_WLEN8 (3u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
#define INT_RX (1u << 4)
#define INT_RT (1u << 6)
#define INT_ALL 0x7ffu

/* A byte at 9600 baud takes ~1 ms; at a TX FIFO of 16 this bound covers
 * far more than any real wait and only protects against a dead UART. */
#define PL011_SPIN_MAX 10000000u

int pl011_init(const struct pl011 *u)
{
	if (!u->base || !u->baud || !u->clk_hz)
		return PORT_EINVAL;
	mmio_write32(u->base + UART_CR, 0);
	for (uint32_t i = 0; i < PL011_SPIN_MAX && (mmio_read32(u->base + UART_FR) & FR_BUSY); i++)
		;
	/* Divisor in 1/64ths: 64 * clk / (16 * baud), rounded. */
	uint32_t div = (uint32_t)(((uint64_t)u->clk_hz * 4u + u->baud / 2u) / u->baud);
	if (div < 64u || div > 0xffffu * 64u)
		return PORT_EINVAL;
	mmio_write32(u->base + UART_IBRD, div >> 6);
	mmio_write32(u->base + UART_FBRD, div & 63u);
	/* LCR_H must be written after the divisors: it latches them. */
	mmio_write32(u->base + UART_LCR_H, LCR_WLEN8 | LCR_FEN);
	mmio_write32(u->base + UART_IMSC, 0);
	mmio_write32(u->base + UART_ICR, INT_ALL);
	mmio_write32(u->base + UART_CR, CR_UARTEN | CR_TXE | CR_RXE);
	return 0;
}

void pl011_putc(const struct pl011 *u, uint8_t c)
{
	for (uint32_t i = 0; i < PL011_SPIN_MAX && (mmio_read32(u->base + UART_FR) & FR_TXFF); i++)
		;
	mmio_write32(u->base + UART_DR, c);
}

int pl011_getc(const struct pl011 *u)
{
	if (mmio_read32(u->base + UART_FR) & FR_RXFE)
		return PORT_EAGAIN;
	uint32_t dr = mmio_read32(u->base + UART_DR);
	if (dr & DR_ERRORS) {
		mmio_write32(u->base + UART_RSR, 0); /* clear the latched error */
		return PORT_EIO;
	}
	return (int)(dr & 0xffu);
}

void pl011_rx_irq(const struct pl011 *u, bool on)
{
	mmio_write32(u->base + UART_IMSC, on ? (INT_RX | INT_RT) : 0);
}

void pl011_irq_clear(const struct pl011 *u)
{
	mmio_write32(u->base + UART_ICR, INT_RX | INT_RT);
}

void pl011_flush(const struct pl011 *u)
{
	for (uint32_t i = 0; i < PL011_SPIN_MAX && (mmio_read32(u->base + UART_FR) & FR_BUSY); i++)
		;
}
