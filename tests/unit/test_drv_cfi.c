/* test_drv_cfi — the CFI NOR pflash driver (drivers/flash/cfi_pflash.c)
 * against a fake pflash_cfi01-style bank of two x16 chips on a 32-bit
 * bus: the fake runs the Intel command state machine (read array, status,
 * CFI query, word and buffered program, block erase, lock bits) and NOR physics
 * (program only clears bits), and can inject busy, stuck, failing and
 * lying devices. Checks geometry, NOR rules, verify and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define DRV_MMIO_FAKE 1
#include "../../drivers/flash/cfi_pflash.c"

/* ---- the fake bank --------------------------------------------------- */

#define FAKE_BASE 0x04000000u
#define FAKE_CHIP_BLOCK 2048u	/* per chip */
#define FAKE_BLOCKS 8u
#define FAKE_BLOCK (2u * FAKE_CHIP_BLOCK)
#define FAKE_SIZE (FAKE_BLOCKS * FAKE_BLOCK)

enum fake_mode { F_ARRAY, F_STATUS, F_QUERY };
enum fake_pending { P_NONE, P_PROGRAM, P_ERASE, P_LOCK, P_BUF_COUNT, P_BUF_DATA, P_BUF_CONFIRM };
#define FAKE_CHIP_WBUF_LOG2 6u	/* 64-byte buffer per chip: 128 bytes on the bus */
#define FAKE_WBUF (2u << FAKE_CHIP_WBUF_LOG2)

static struct {
	uint8_t mem[FAKE_SIZE];
	uint8_t cfi[0x40];
	bool locked[FAKE_BLOCKS];
	enum fake_mode mode;
	enum fake_pending pending;
	uint32_t pending_addr;
	uint32_t buf_off[FAKE_WBUF / 4], buf_val[FAKE_WBUF / 4];
	unsigned buf_n, buf_left;
	uint8_t status[2];	/* per chip */
	unsigned busy_reads;	/* status reads still answering "busy" */
	/* injections */
	unsigned busy_after_op;	/* busy reads after each program/erase */
	bool stuck_busy;
	uint8_t fail_status_chip1; /* extra SR bits on chip 1 after an op */
	uint32_t weak_bits;	/* bits a program fails to clear */
	bool chips_disagree;	/* chip 1 answers the query differently */
	/* observations */
	unsigned programs, erases, bad_commands, unaligned;
	unsigned word_ops, buf_ops;
	uint64_t clock_ms;
} fk;

static void fake_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(fk.mem, 0xff, sizeof(fk.mem));
	for (unsigned b = 0; b < FAKE_BLOCKS; b++)
		fk.locked[b] = true; /* Intel parts power up locked */
	fk.status[0] = fk.status[1] = 0x80;
	uint8_t *q = fk.cfi;
	q[0x10] = 'Q', q[0x11] = 'R', q[0x12] = 'Y';
	q[0x13] = 0x01, q[0x14] = 0x00;
	q[0x1f] = 0x07, q[0x21] = 0x0a, q[0x23] = 0x04, q[0x25] = 0x04;
	q[0x27] = 14; /* 16 KiB per chip */
	q[0x28] = 0x02;
	q[0x2a] = FAKE_CHIP_WBUF_LOG2;
	q[0x2c] = 0x01;
	q[0x2d] = FAKE_BLOCKS - 1, q[0x2e] = 0;
	q[0x2f] = (FAKE_CHIP_BLOCK >> 8) & 0xff, q[0x30] = FAKE_CHIP_BLOCK >> 16;
}

static uint32_t lanes(uint8_t lo, uint8_t hi)
{
	return (uint32_t)lo | (uint32_t)hi << 16;
}

uint32_t fake_mmio_read32(uintptr_t addr)
{
	uint32_t off = (uint32_t)(addr - FAKE_BASE);
	assert_true(off < FAKE_SIZE);
	if (off & 3)
		fk.unaligned++;
	switch (fk.mode) {
	case F_ARRAY: {
		uint32_t w;
		memcpy(&w, fk.mem + (off & ~3u), 4);
		return w;
	}
	case F_QUERY: {
		uint32_t q = off / 4;
		uint8_t v = q < sizeof(fk.cfi) ? fk.cfi[q] : 0;
		return lanes(v, fk.chips_disagree && q == 0x27 ? (uint8_t)(v + 1) : v);
	}
	case F_STATUS:
	default:
		if (fk.stuck_busy || fk.busy_reads) {
			if (fk.busy_reads)
				fk.busy_reads--;
			return lanes(fk.status[0] & 0x7f, fk.status[1] & 0x7f);
		}
		return lanes(fk.status[0], fk.status[1]);
	}
}

static unsigned block_of(uint32_t off)
{
	return off / FAKE_BLOCK;
}

static void nor_program(uint32_t off, uint32_t v)
{
	uint32_t w;
	memcpy(&w, fk.mem + off, 4);
	w &= v | fk.weak_bits; /* NOR: bits only go 1 -> 0 */
	memcpy(fk.mem + off, &w, 4);
}

static void op_done(void)
{
	fk.mode = F_STATUS;
	fk.pending = P_NONE;
	fk.busy_reads = fk.busy_after_op;
	fk.status[1] |= fk.fail_status_chip1;
}

void fake_mmio_write32(uintptr_t addr, uint32_t v)
{
	uint32_t off = (uint32_t)(addr - FAKE_BASE);
	assert_true(off < FAKE_SIZE);
	assert_int_equal(off & 3, 0);
	if (fk.pending == P_PROGRAM) {
		if (fk.locked[block_of(off)]) {
			fk.status[0] |= 0x12, fk.status[1] |= 0x12;
		} else {
			nor_program(off, v);
			fk.programs++;
			fk.word_ops++;
		}
		op_done();
		return;
	}
	if (fk.pending == P_BUF_DATA) {
		/* Data must stay inside the buffer window of the start address. */
		if (off / FAKE_WBUF != fk.pending_addr / FAKE_WBUF)
			fk.bad_commands++;
		fk.buf_off[fk.buf_n] = off;
		fk.buf_val[fk.buf_n++] = v;
		if (--fk.buf_left == 0)
			fk.pending = P_BUF_CONFIRM;
		return;
	}
	/* A command must reach both chips: the same byte in each lane. */
	if ((v & 0xffff) != (v >> 16))
		fk.bad_commands++;
	uint8_t c = v & 0xff;
	if (fk.pending == P_ERASE) {
		if (c != 0xd0) {
			fk.status[0] |= 0x30, fk.status[1] |= 0x30; /* bad sequence */
		} else if (fk.locked[block_of(off)]) {
			fk.status[0] |= 0x22, fk.status[1] |= 0x22;
		} else {
			memset(fk.mem + block_of(off) * FAKE_BLOCK, 0xff, FAKE_BLOCK);
			fk.erases++;
		}
		op_done();
		return;
	}
	if (fk.pending == P_BUF_COUNT) {
		unsigned words = (v & 0xffff) + 1u; /* per chip: chip words - 1 */
		if (words > FAKE_WBUF / 4) {
			fk.bad_commands++;
			fk.status[0] |= 0x30, fk.status[1] |= 0x30;
			op_done();
			return;
		}
		fk.buf_left = words;
		fk.buf_n = 0;
		fk.pending = P_BUF_DATA;
		return;
	}
	if (fk.pending == P_BUF_CONFIRM) {
		if (c != 0xd0) {
			fk.status[0] |= 0x30, fk.status[1] |= 0x30;
		} else if (fk.locked[block_of(fk.pending_addr)]) {
			fk.status[0] |= 0x12, fk.status[1] |= 0x12;
		} else {
			for (unsigned i = 0; i < fk.buf_n; i++)
				nor_program(fk.buf_off[i], fk.buf_val[i]);
			fk.programs++;
			fk.buf_ops++;
		}
		op_done();
		return;
	}
	if (fk.pending == P_LOCK) {
		if (c == 0xd0)
			fk.locked[block_of(off)] = false;
		else if (c == 0x01)
			fk.locked[block_of(off)] = true;
		else
			fk.bad_commands++;
		op_done();
		return;
	}
	switch (c) {
	case 0xff: fk.mode = F_ARRAY; break;
	case 0x70: fk.mode = F_STATUS; break;
	case 0x50: fk.status[0] = fk.status[1] = 0x80; break;
	case 0x98: fk.mode = F_QUERY; break;
	case 0x40:
	case 0x10: fk.pending = P_PROGRAM, fk.mode = F_STATUS; break;
	case 0x20: fk.pending = P_ERASE, fk.mode = F_STATUS; break;
	case 0x60: fk.pending = P_LOCK, fk.mode = F_STATUS; break;
	case 0xe8: fk.pending = P_BUF_COUNT, fk.pending_addr = off, fk.mode = F_STATUS; break;
	default: fk.bad_commands++; break;
	}
}

static uint64_t fake_now(void)
{
	/* 1 ms passes every 16 looks at the clock: slow enough for the
	 * busy-device case, fast enough that a stuck device times out. */
	return fk.clock_ms++ / 16u;
}

static struct cfi_pflash dev;

static int setup(void **state)
{
	(void)state;
	fake_reset();
	dev = (struct cfi_pflash){ .base = FAKE_BASE, .bus_width = 4, .device_width = 2,
				   .now_ms = fake_now };
	return 0;
}

static void probe(void)
{
	assert_int_equal(cfi_pflash_probe(&dev), 0);
}

/* ---- scenarios ------------------------------------------------------- */

static void probe_reads_geometry_and_unlocks(void **state)
{
	(void)state;
	probe();
	assert_int_equal(dev.chips, 2);
	assert_int_equal(dev.size, FAKE_SIZE);
	assert_int_equal(dev.erase_size, FAKE_BLOCK);
	assert_int_equal(dev.nblocks, FAKE_BLOCKS);
	assert_int_equal(dev.cmdset, 1);
	assert_true(dev.program_timeout_ms >= 10);
	assert_true(dev.erase_timeout_ms >= 5000);
	for (unsigned b = 0; b < FAKE_BLOCKS; b++)
		assert_false(fk.locked[b]);
	assert_int_equal(fk.mode, F_ARRAY);
	assert_int_equal(fk.bad_commands, 0);
}

static void probe_without_cfi_answer_fails(void **state)
{
	(void)state;
	fk.cfi[0x11] = 'X';
	assert_int_equal(cfi_pflash_probe(&dev), PORT_EIO);
	assert_int_equal(fk.mode, F_ARRAY); /* not left in query mode */
}

static void probe_with_disagreeing_chips_fails(void **state)
{
	(void)state;
	fk.chips_disagree = true;
	assert_int_equal(cfi_pflash_probe(&dev), PORT_EIO);
}

static void probe_rejects_amd_command_set_and_boot_blocks(void **state)
{
	(void)state;
	fk.cfi[0x13] = 0x02; /* AMD/Fujitsu: different commands */
	assert_int_equal(cfi_pflash_probe(&dev), PORT_ENOTSUP);
	fk.cfi[0x13] = 0x01;
	fk.cfi[0x2c] = 2; /* two erase regions */
	assert_int_equal(cfi_pflash_probe(&dev), PORT_ENOTSUP);
}

static void probe_rejects_inconsistent_geometry(void **state)
{
	(void)state;
	fk.cfi[0x2d] = FAKE_BLOCKS; /* one block more than the size holds */
	assert_int_equal(cfi_pflash_probe(&dev), PORT_EIO);
}

static void program_then_read_back_at_any_alignment(void **state)
{
	(void)state;
	probe();
	uint8_t data[64], back[64];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 37 + 1);
	assert_int_equal(cfi_pflash_program(&dev, 4096 + 8, data, sizeof(data)), 0);
	assert_memory_equal(fk.mem + 4096 + 8, data, sizeof(data));
	assert_int_equal(fk.mode, F_ARRAY);
	for (uint32_t skip = 0; skip < 8; skip++) {
		memset(back, 0, sizeof(back));
		assert_int_equal(cfi_pflash_read(&dev, 4096 + 8 + skip, back, sizeof(data) - 2 * skip), 0);
		assert_memory_equal(back, data + skip, sizeof(data) - 2 * skip);
	}
	assert_int_equal(fk.unaligned, 0);
	assert_int_equal(fk.bad_commands, 0);
}

static void program_one_over_zero_is_refused_and_changes_nothing(void **state)
{
	(void)state;
	probe();
	uint8_t a[8] = { 0x0f, 0x0f, 0x0f, 0x0f, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(cfi_pflash_program(&dev, 0, a, sizeof(a)), 0);
	unsigned before = fk.programs;
	uint8_t b[8] = { 0x00, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0x0f, 0x0f }; /* word 1 fine, word 0 fine */
	b[0] = 0x1f; /* sets bit 4 of byte 0 back to 1 */
	assert_int_equal(cfi_pflash_program(&dev, 0, b, sizeof(b)), PORT_ENOTERASED);
	assert_int_equal(fk.programs, before);
	assert_memory_equal(fk.mem, a, sizeof(a));
}

static void program_zero_over_zero_is_fine(void **state)
{
	(void)state;
	probe();
	uint8_t a[4] = { 0xf0, 0x0f, 0x55, 0xaa };
	uint8_t b[4] = { 0x00, 0x0f, 0x55, 0x00 };
	assert_int_equal(cfi_pflash_program(&dev, 64, a, 4), 0);
	assert_int_equal(cfi_pflash_program(&dev, 64, b, 4), 0);
	assert_memory_equal(fk.mem + 64, b, 4);
}

static void program_rejects_misalignment_and_out_of_range(void **state)
{
	(void)state;
	probe();
	uint8_t d[8] = { 0 };
	assert_int_equal(cfi_pflash_program(&dev, 2, d, 4), PORT_EINVAL);
	assert_int_equal(cfi_pflash_program(&dev, 0, d, 6), PORT_EINVAL);
	assert_int_equal(cfi_pflash_program(&dev, FAKE_SIZE - 4, d, 8), PORT_EINVAL);
	assert_int_equal(cfi_pflash_read(&dev, FAKE_SIZE, d, 1), PORT_EINVAL);
	assert_int_equal(cfi_pflash_read(&dev, 0xfffffffcu, d, 8), PORT_EINVAL);
	assert_int_equal(fk.programs, 0);
}

static void device_error_on_one_chip_is_reported_and_cleared(void **state)
{
	(void)state;
	probe();
	fk.fail_status_chip1 = 0x10; /* SR.4 program failure, chip 1 only */
	uint8_t d[4] = { 0x12, 0x34, 0x56, 0x78 };
	assert_int_equal(cfi_pflash_program(&dev, 128, d, 4), PORT_EIO);
	assert_int_equal(fk.status[1], 0x80); /* clear-status was sent */
	assert_int_equal(fk.mode, F_ARRAY);
}

static void program_that_does_not_stick_fails_verify(void **state)
{
	(void)state;
	probe();
	fk.weak_bits = 0x00000100u; /* one cell will not program */
	uint8_t d[4] = { 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(cfi_pflash_program(&dev, 256, d, 4), PORT_EIO);
}

static void erase_restores_ff_and_only_that_block(void **state)
{
	(void)state;
	probe();
	uint8_t z[16] = { 0 };
	assert_int_equal(cfi_pflash_program(&dev, FAKE_BLOCK - 16, z, 16), 0);
	assert_int_equal(cfi_pflash_program(&dev, FAKE_BLOCK, z, 16), 0);
	assert_int_equal(cfi_pflash_erase(&dev, FAKE_BLOCK), 0);
	uint8_t back[16];
	assert_int_equal(cfi_pflash_read(&dev, FAKE_BLOCK, back, 16), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(back[i], 0xff);
	assert_int_equal(cfi_pflash_read(&dev, FAKE_BLOCK - 16, back, 16), 0);
	assert_memory_equal(back, z, 16);
	assert_int_equal(fk.erases, 1);
	assert_int_equal(fk.bad_commands, 0);
}

static void erase_rejects_unaligned_and_out_of_range(void **state)
{
	(void)state;
	probe();
	assert_int_equal(cfi_pflash_erase(&dev, 4), PORT_EINVAL);
	assert_int_equal(cfi_pflash_erase(&dev, FAKE_SIZE), PORT_EINVAL);
	assert_int_equal(fk.erases, 0);
}

static void erase_of_locked_block_fails(void **state)
{
	(void)state;
	probe();
	fk.locked[3] = true;
	assert_int_equal(cfi_pflash_erase(&dev, 3 * FAKE_BLOCK), PORT_EIO);
	assert_int_equal(fk.erases, 0);
	assert_int_equal(fk.mode, F_ARRAY);
}

static void busy_device_is_waited_for(void **state)
{
	(void)state;
	probe();
	fk.busy_after_op = 50;
	uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(cfi_pflash_program(&dev, 512, d, 8), 0);
	assert_memory_equal(fk.mem + 512, d, 8);
	assert_int_equal(cfi_pflash_erase(&dev, 0), 0);
}

static void stuck_device_times_out(void **state)
{
	(void)state;
	probe();
	fk.stuck_busy = true;
	uint8_t d[4] = { 0 };
	assert_int_equal(cfi_pflash_program(&dev, 0, d, 4), PORT_ETIMEDOUT);
	assert_int_equal(cfi_pflash_erase(&dev, 0), PORT_ETIMEDOUT);
}

static void buffered_program_splits_at_buffer_windows(void **state)
{
	(void)state;
	probe();
	assert_int_equal(dev.wbuf_size, FAKE_WBUF);
	uint8_t d[300];
	for (unsigned i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(255 - i);
	/* 100..399 touches the windows at 0, 128, 256 and 384. */
	assert_int_equal(cfi_pflash_program(&dev, 100, d, sizeof(d)), 0);
	assert_memory_equal(fk.mem + 100, d, sizeof(d));
	assert_int_equal(fk.buf_ops, 4);
	assert_int_equal(fk.word_ops, 0);
	assert_int_equal(fk.bad_commands, 0);
	assert_int_equal(fk.mode, F_ARRAY);
}

static void word_program_when_the_part_has_no_buffer(void **state)
{
	(void)state;
	fk.cfi[0x2a] = 0;
	probe();
	assert_int_equal(dev.wbuf_size, 0);
	uint8_t d[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	assert_int_equal(cfi_pflash_program(&dev, 32, d, sizeof(d)), 0);
	assert_memory_equal(fk.mem + 32, d, sizeof(d));
	assert_int_equal(fk.word_ops, 4);
	assert_int_equal(fk.buf_ops, 0);
}

static void unchanged_leading_and_trailing_words_are_not_programmed(void **state)
{
	(void)state;
	probe();
	uint8_t d[16];
	memset(d, 0xff, sizeof(d));
	d[8] = 0x00; /* only the third word clears bits */
	assert_int_equal(cfi_pflash_program(&dev, 0, d, sizeof(d)), 0);
	assert_int_equal(fk.programs, 1);
	unsigned before = fk.programs;
	assert_int_equal(cfi_pflash_program(&dev, 0, d, sizeof(d)), 0); /* same again */
	assert_int_equal(fk.programs, before);
}

static void area_offsets_are_relative_and_bounded(void **state)
{
	(void)state;
	probe();
	struct cfi_pflash_area ctx = { .dev = &dev, .start = 6 * FAKE_BLOCK };
	struct port_flash area = { .ops = &cfi_pflash_area_ops, .ctx = &ctx, .size = 2 * FAKE_BLOCK,
				   .erase_size = FAKE_BLOCK, .program_size = 4, .name = "config" };
	uint8_t d[4] = { 0xde, 0xad, 0xbe, 0xef }, back[4];
	assert_int_equal(port_flash_program(&area, 0, d, 4), 0);
	assert_memory_equal(fk.mem + 6 * FAKE_BLOCK, d, 4);
	assert_int_equal(port_flash_read(&area, 0, back, 4), 0);
	assert_memory_equal(back, d, 4);
	assert_int_equal(port_flash_program(&area, 2 * FAKE_BLOCK, d, 4), PORT_EINVAL);
	assert_int_equal(port_flash_read(&area, 2 * FAKE_BLOCK - 2, back, 4), PORT_EINVAL);
	assert_int_equal(port_flash_erase(&area, 2 * FAKE_BLOCK), PORT_EINVAL);
	assert_int_equal(port_flash_erase(&area, FAKE_BLOCK), 0);
	assert_int_equal(port_flash_erase(&area, 0), 0);
	assert_int_equal(fk.mem[6 * FAKE_BLOCK], 0xff);
	assert_int_equal(port_flash_sync(&area), 0);
	assert_int_equal(fk.erases, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(probe_reads_geometry_and_unlocks, setup),
		cmocka_unit_test_setup(probe_without_cfi_answer_fails, setup),
		cmocka_unit_test_setup(probe_with_disagreeing_chips_fails, setup),
		cmocka_unit_test_setup(probe_rejects_amd_command_set_and_boot_blocks, setup),
		cmocka_unit_test_setup(probe_rejects_inconsistent_geometry, setup),
		cmocka_unit_test_setup(program_then_read_back_at_any_alignment, setup),
		cmocka_unit_test_setup(program_one_over_zero_is_refused_and_changes_nothing, setup),
		cmocka_unit_test_setup(program_zero_over_zero_is_fine, setup),
		cmocka_unit_test_setup(program_rejects_misalignment_and_out_of_range, setup),
		cmocka_unit_test_setup(device_error_on_one_chip_is_reported_and_cleared, setup),
		cmocka_unit_test_setup(program_that_does_not_stick_fails_verify, setup),
		cmocka_unit_test_setup(erase_restores_ff_and_only_that_block, setup),
		cmocka_unit_test_setup(erase_rejects_unaligned_and_out_of_range, setup),
		cmocka_unit_test_setup(erase_of_locked_block_fails, setup),
		cmocka_unit_test_setup(busy_device_is_waited_for, setup),
		cmocka_unit_test_setup(stuck_device_times_out, setup),
		cmocka_unit_test_setup(buffered_program_splits_at_buffer_windows, setup),
		cmocka_unit_test_setup(word_program_when_the_part_has_no_buffer, setup),
		cmocka_unit_test_setup(unchanged_leading_and_trailing_words_are_not_programmed, setup),
		cmocka_unit_test_setup(area_offsets_are_relative_and_bounded, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
