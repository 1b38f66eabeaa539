/* test_drv_pl011_gic — register protocol of the PL011 UART and GIC v2
 * drivers against fake register files: baud divisors, RX errors and the
 * empty FIFO, interrupt masks; GIC line count, per-line enable bits,
 * SPI routing, the bad-base check and range errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define DRV_MMIO_FAKE 1
#include "../../drivers/irq/gicv2.c"
#include "../../drivers/uart/pl011.c"

#define UART_BASE 0x09000000u
#define GICD_BASE 0x08000000u
#define GICC_BASE 0x08010000u

/* ---- fake register files ------------------------------------------------ */

static struct {
	uint32_t uart[0x1000 / 4];
	uint32_t gicd[0x1000 / 4];
	uint32_t gicc[0x100 / 4];
	/* UART RX FIFO: DR values (data | error bits) */
	uint32_t rx[8];
	unsigned rx_n, rx_pos;
	unsigned rsr_clears;
	uint32_t gicd_enabled[32]; /* what ISENABLER/ICENABLER did */
	bool gic_dead;		   /* bus returns zeros (wrong base) */
} rf;

uint32_t fake_mmio_read32(uintptr_t a)
{
	if (a >= UART_BASE && a < UART_BASE + 0x1000) {
		uint32_t off = (uint32_t)(a - UART_BASE);
		if (off == UART_FR)
			return rf.rx_pos < rf.rx_n ? 0 : FR_RXFE;
		if (off == UART_DR)
			return rf.rx_pos < rf.rx_n ? rf.rx[rf.rx_pos++] : 0;
		return rf.uart[off / 4];
	}
	if (a >= GICD_BASE && a < GICD_BASE + 0x1000) {
		uint32_t off = (uint32_t)(a - GICD_BASE);
		if (rf.gic_dead)
			return 0;
		if (off == GICD_TYPER)
			return 8; /* ITLinesNumber 8: (8 + 1) * 32 = 288 lines, as QEMU virt */
		return rf.gicd[off / 4];
	}
	if (a >= GICC_BASE && a < GICC_BASE + 0x100)
		return rf.gicc[(a - GICC_BASE) / 4];
	fail_msg("read of unexpected address 0x%lx", (unsigned long)a);
	return 0;
}

void fake_mmio_write32(uintptr_t a, uint32_t v)
{
	if (a >= UART_BASE && a < UART_BASE + 0x1000) {
		uint32_t off = (uint32_t)(a - UART_BASE);
		if (off == UART_RSR)
			rf.rsr_clears++;
		rf.uart[off / 4] = v;
		return;
	}
	if (a >= GICD_BASE && a < GICD_BASE + 0x1000) {
		uint32_t off = (uint32_t)(a - GICD_BASE);
		if (off >= GICD_ISENABLER && off < GICD_ISENABLER + 0x80)
			rf.gicd_enabled[(off - GICD_ISENABLER) / 4] |= v;
		else if (off >= GICD_ICENABLER && off < GICD_ICENABLER + 0x80)
			rf.gicd_enabled[(off - GICD_ICENABLER) / 4] &= ~v;
		rf.gicd[off / 4] = v;
		return;
	}
	if (a >= GICC_BASE && a < GICC_BASE + 0x100) {
		rf.gicc[(a - GICC_BASE) / 4] = v;
		return;
	}
	fail_msg("write of unexpected address 0x%lx", (unsigned long)a);
}

static int setup(void **state)
{
	(void)state;
	memset(&rf, 0, sizeof(rf));
	return 0;
}

/* ---- PL011 --------------------------------------------------------------- */

static void uart_divisor_for_115200_at_24mhz(void **state)
{
	(void)state;
	struct pl011 u = { .base = UART_BASE, .clk_hz = 24000000, .baud = 115200 };
	assert_int_equal(pl011_init(&u), 0);
	/* 24e6 / (16 * 115200) = 13.0208: IBRD 13, FBRD round(0.0208 * 64) = 1 */
	assert_int_equal(rf.uart[UART_IBRD / 4], 13);
	assert_int_equal(rf.uart[UART_FBRD / 4], 1);
	assert_int_equal(rf.uart[UART_LCR_H / 4], LCR_WLEN8 | LCR_FEN);
	assert_int_equal(rf.uart[UART_CR / 4], CR_UARTEN | CR_TXE | CR_RXE);
	assert_int_equal(rf.uart[UART_IMSC / 4], 0);
}

static void uart_rejects_impossible_rates(void **state)
{
	(void)state;
	struct pl011 u = { .base = UART_BASE, .clk_hz = 24000000, .baud = 0 };
	assert_int_equal(pl011_init(&u), PORT_EINVAL);
	u.baud = 3000000; /* divisor below 1 */
	assert_int_equal(pl011_init(&u), PORT_EINVAL);
}

static void uart_getc_empty_data_and_line_errors(void **state)
{
	(void)state;
	struct pl011 u = { .base = UART_BASE, .clk_hz = 24000000, .baud = 115200 };
	assert_int_equal(pl011_getc(&u), PORT_EAGAIN);
	rf.rx[0] = 'a';
	rf.rx[1] = 0x100 | 'b'; /* framing error */
	rf.rx[2] = 0xff;
	rf.rx_n = 3;
	assert_int_equal(pl011_getc(&u), 'a');
	assert_int_equal(pl011_getc(&u), PORT_EIO);
	assert_int_equal(rf.rsr_clears, 1);
	assert_int_equal(pl011_getc(&u), 0xff); /* a 0xff byte is data, not an error */
	assert_int_equal(pl011_getc(&u), PORT_EAGAIN);
}

static void uart_rx_interrupt_mask(void **state)
{
	(void)state;
	struct pl011 u = { .base = UART_BASE, .clk_hz = 24000000, .baud = 115200 };
	pl011_rx_irq(&u, true);
	assert_int_equal(rf.uart[UART_IMSC / 4], INT_RX | INT_RT);
	pl011_rx_irq(&u, false);
	assert_int_equal(rf.uart[UART_IMSC / 4], 0);
}

/* ---- GIC v2 -------------------------------------------------------------- */

static void gic_init_counts_lines_and_routes_spis(void **state)
{
	(void)state;
	struct gicv2 g = { .dist = GICD_BASE, .cpu = GICC_BASE };
	assert_int_equal(gicv2_init(&g), 0);
	assert_int_equal(g.lines, 288);
	assert_int_equal(rf.gicd[GICD_CTLR / 4], 1);
	assert_int_equal(rf.gicc[GICC_CTLR / 4], 1);
	assert_int_equal(rf.gicc[GICC_PMR / 4], 0xf0);
	assert_true(rf.gicd[GICD_IPRIORITYR / 4 + 27 / 4] == GIC_PRIO4); /* PPI 27 */
	assert_int_equal(rf.gicd[(GICD_ITARGETSR + 48) / 4], 0x01010101u); /* SPIs to CPU 0 */
	assert_int_equal(rf.gicd[(GICD_ITARGETSR + 284) / 4], 0x01010101u);
	for (int i = 0; i < 9; i++)
		assert_int_equal(rf.gicd_enabled[i], 0);
}

static void gic_init_fails_on_a_dead_bus(void **state)
{
	(void)state;
	rf.gic_dead = true;
	struct gicv2 g = { .dist = GICD_BASE, .cpu = GICC_BASE };
	assert_int_equal(gicv2_init(&g), PORT_EIO);
	assert_int_equal(rf.gicc[GICC_CTLR / 4], 0); /* CPU interface left off */
}

static void gic_enable_sets_the_right_bit(void **state)
{
	(void)state;
	struct gicv2 g = { .dist = GICD_BASE, .cpu = GICC_BASE };
	assert_int_equal(gicv2_init(&g), 0);
	assert_int_equal(gicv2_enable(&g, 27, true), 0);
	assert_int_equal(gicv2_enable(&g, 33, true), 0);
	assert_int_equal(gicv2_enable(&g, 79, true), 0);
	assert_int_equal(rf.gicd_enabled[0], 1u << 27);
	assert_int_equal(rf.gicd_enabled[1], (1u << 1));
	assert_int_equal(rf.gicd_enabled[2], (1u << 15));
	assert_int_equal(gicv2_enable(&g, 33, false), 0);
	assert_int_equal(rf.gicd_enabled[1], 0);
	assert_int_equal(gicv2_enable(&g, 288, true), PORT_EINVAL);
}

static void gic_ack_and_eoi_pass_the_raw_value(void **state)
{
	(void)state;
	struct gicv2 g = { .dist = GICD_BASE, .cpu = GICC_BASE };
	rf.gicc[GICC_IAR / 4] = (3u << 10) | 27u; /* CPU id bits must survive */
	uint32_t iar = gicv2_ack(&g);
	assert_int_equal(iar & 0x3ffu, 27);
	gicv2_eoi(&g, iar);
	assert_int_equal(rf.gicc[GICC_EOIR / 4], (3u << 10) | 27u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(uart_divisor_for_115200_at_24mhz, setup),
		cmocka_unit_test_setup(uart_rejects_impossible_rates, setup),
		cmocka_unit_test_setup(uart_getc_empty_data_and_line_errors, setup),
		cmocka_unit_test_setup(uart_rx_interrupt_mask, setup),
		cmocka_unit_test_setup(gic_init_counts_lines_and_routes_spis, setup),
		cmocka_unit_test_setup(gic_init_fails_on_a_dead_bus, setup),
		cmocka_unit_test_setup(gic_enable_sets_the_right_bit, setup),
		cmocka_unit_test_setup(gic_ack_and_eoi_pass_the_raw_value, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
