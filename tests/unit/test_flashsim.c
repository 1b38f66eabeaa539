/* test_flashsim — the simulated NOR flash keeps the model in flashsim.h:
 * erase to 0xFF, program only clears bits (ENOTERASED otherwise),
 * alignment and range checks, power cuts CLEAN and HALF on program and
 * erase, power-on, file persistence, statistics and erase counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../board/host/flashsim.h"
#include "support/port_test_util.h"

#define SIM_SIZE (4 * 4096)
#define SIM_ERASE 4096
#define SIM_PROG 16

static struct flashsim *ram_sim(void)
{
	struct flashsim *fs = NULL;
	struct flashsim_config cfg = { .path = NULL, .size = SIM_SIZE, .erase_size = SIM_ERASE,
				       .program_size = SIM_PROG, .name = "test" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	assert_non_null(fs);
	return fs;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void fresh_flash_is_erased_and_described(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	assert_int_equal(f->size, SIM_SIZE);
	assert_int_equal(f->erase_size, SIM_ERASE);
	assert_int_equal(f->program_size, SIM_PROG);
	assert_string_equal(f->name, "test");
	static uint8_t buf[SIM_SIZE];
	assert_int_equal(port_flash_read(f, 0, buf, sizeof(buf)), 0);
	assert_true(all_bytes(buf, sizeof(buf), 0xFF));
	flashsim_close(fs);
}

static void bad_geometry_is_refused(void **state)
{
	(void)state;
	struct flashsim *fs = (struct flashsim *)1;
	struct flashsim_config cfg = { .size = 4096 + 1, .erase_size = 4096, .program_size = 16 };
	assert_int_equal(flashsim_open(&fs, &cfg), PORT_EINVAL);
	assert_null(fs);
	cfg = (struct flashsim_config){ .size = 8192, .erase_size = 4096, .program_size = 24 };
	assert_int_equal(flashsim_open(&fs, &cfg), PORT_EINVAL);
	cfg = (struct flashsim_config){ .size = 8192, .erase_size = 0, .program_size = 16 };
	assert_int_equal(flashsim_open(&fs, &cfg), PORT_EINVAL);
}

static void program_clears_bits_and_erase_restores(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[SIM_PROG], r[SIM_PROG];
	memset(d, 0xF0, sizeof(d));
	assert_int_equal(port_flash_program(f, 4096 + 32, d, sizeof(d)), 0);
	assert_int_equal(port_flash_read(f, 4096 + 32, r, sizeof(r)), 0);
	assert_memory_equal(r, d, sizeof(d));
	/* Clearing more bits over programmed ones is fine on NOR. */
	memset(d, 0x30, sizeof(d));
	assert_int_equal(port_flash_program(f, 4096 + 32, d, sizeof(d)), 0);
	assert_int_equal(port_flash_read(f, 4096 + 32, r, sizeof(r)), 0);
	assert_true(all_bytes(r, sizeof(r), 0x30));
	/* Neighbours untouched. */
	assert_true(all_bytes(flashsim_raw(fs) + 4096 + 16, 16, 0xFF));
	assert_true(all_bytes(flashsim_raw(fs) + 4096 + 48, 16, 0xFF));
	assert_int_equal(port_flash_erase(f, 4096), 0);
	assert_true(all_bytes(flashsim_raw(fs) + 4096, 4096, 0xFF));
	flashsim_close(fs);
}

static void setting_a_zero_bit_is_not_erased_and_changes_nothing(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[2 * SIM_PROG];
	memset(d, 0x00, sizeof(d));
	assert_int_equal(port_flash_program(f, SIM_PROG, d, SIM_PROG), 0); /* unit 1 -> 0x00 */
	/* Unit 0 is erased, unit 1 holds zeros: one 1 bit into unit 1 spoils
	 * the whole call, unit 0 must stay erased too. */
	memset(d, 0xAA, SIM_PROG);
	memset(d + SIM_PROG, 0x00, SIM_PROG);
	d[SIM_PROG + 3] = 0x01;
	assert_int_equal(port_flash_program(f, 0, d, sizeof(d)), PORT_ENOTERASED);
	assert_true(all_bytes(flashsim_raw(fs), SIM_PROG, 0xFF));
	assert_true(all_bytes(flashsim_raw(fs) + SIM_PROG, SIM_PROG, 0x00));
	flashsim_close(fs);
}

static void misaligned_or_out_of_range_is_einval(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[2 * SIM_PROG] = { 0 };
	assert_int_equal(port_flash_program(f, 8, d, SIM_PROG), PORT_EINVAL);
	assert_int_equal(port_flash_program(f, 0, d, SIM_PROG + 1), PORT_EINVAL);
	assert_int_equal(port_flash_program(f, SIM_SIZE - SIM_PROG, d, 2 * SIM_PROG), PORT_EINVAL);
	assert_int_equal(port_flash_program(f, SIM_SIZE, d, SIM_PROG), PORT_EINVAL);
	assert_int_equal(port_flash_program(f, UINT32_MAX - 15, d, SIM_PROG), PORT_EINVAL);
	assert_int_equal(port_flash_erase(f, 100), PORT_EINVAL);
	assert_int_equal(port_flash_erase(f, SIM_SIZE), PORT_EINVAL);
	assert_int_equal(port_flash_read(f, SIM_SIZE - 1, d, 2), PORT_EINVAL);
	assert_int_equal(port_flash_read(f, SIM_SIZE - 1, d, 1), 0); /* reads are byte-addressed */
	assert_true(all_bytes(flashsim_raw(fs), SIM_SIZE, 0xFF));
	struct flashsim_stats st;
	flashsim_stats(fs, &st);
	assert_int_equal(st.ops, 0); /* refused calls never reach the chip */
	flashsim_close(fs);
}

static void clean_cut_on_program_completes_then_everything_fails(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[4 * SIM_PROG], r[4];
	memset(d, 0x11, sizeof(d));
	flashsim_powercut_after(fs, 2, FLASHSIM_CUT_CLEAN);
	assert_int_equal(port_flash_program(f, 0, d, SIM_PROG), 0);
	assert_true(flashsim_powered(fs));
	assert_int_equal(port_flash_program(f, 64, d, sizeof(d)), PORT_EPOWER);
	assert_false(flashsim_powered(fs));
	assert_true(all_bytes(flashsim_raw(fs) + 64, sizeof(d), 0x11)); /* it landed */
	assert_int_equal(port_flash_read(f, 0, r, sizeof(r)), PORT_EPOWER);
	assert_int_equal(port_flash_program(f, 256, d, SIM_PROG), PORT_EPOWER);
	assert_int_equal(port_flash_erase(f, 0), PORT_EPOWER);
	assert_int_equal(port_flash_sync(f), PORT_EPOWER);
	assert_true(all_bytes(flashsim_raw(fs) + 256, SIM_PROG, 0xFF));
	assert_int_equal(flashsim_erase_count(fs, 0), 0);
	flashsim_power_on(fs);
	assert_true(flashsim_powered(fs));
	assert_int_equal(port_flash_read(f, 64, r, sizeof(r)), 0);
	assert_int_equal(r[0], 0x11);
	/* The cut is disarmed after power-on. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(port_flash_erase(f, SIM_ERASE), 0);
	flashsim_close(fs);
}

static void half_cut_on_program_leaves_a_prefix(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[4 * SIM_PROG];
	memset(d, 0x00, sizeof(d));
	flashsim_powercut_after(fs, 1, FLASHSIM_CUT_HALF);
	assert_int_equal(port_flash_program(f, 128, d, sizeof(d)), PORT_EPOWER);
	assert_true(all_bytes(flashsim_raw(fs) + 128, sizeof(d) / 2, 0x00));
	assert_true(all_bytes(flashsim_raw(fs) + 128 + sizeof(d) / 2, sizeof(d) / 2, 0xFF));
	flashsim_close(fs);
}

static void half_cut_on_erase_leaves_the_block_partly_erased(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	static uint8_t zeros[SIM_ERASE];
	assert_int_equal(port_flash_program(f, 2 * SIM_ERASE, zeros, sizeof(zeros)), 0);
	flashsim_powercut_after(fs, 1, FLASHSIM_CUT_HALF);
	assert_int_equal(port_flash_erase(f, 2 * SIM_ERASE), PORT_EPOWER);
	uint8_t *raw = flashsim_raw(fs) + 2 * SIM_ERASE;
	assert_true(all_bytes(raw, SIM_ERASE / 2, 0xFF));
	assert_true(all_bytes(raw + SIM_ERASE / 2, SIM_ERASE / 2, 0x00));
	assert_int_equal(flashsim_erase_count(fs, 2), 1); /* the wear happened */
	flashsim_close(fs);
}

static void clean_cut_on_erase_erases_whole_block(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	static uint8_t zeros[SIM_ERASE];
	assert_int_equal(port_flash_program(f, SIM_ERASE, zeros, sizeof(zeros)), 0);
	flashsim_powercut_after(fs, 1, FLASHSIM_CUT_CLEAN);
	assert_int_equal(port_flash_erase(f, SIM_ERASE), PORT_EPOWER);
	assert_true(all_bytes(flashsim_raw(fs) + SIM_ERASE, SIM_ERASE, 0xFF));
	flashsim_close(fs);
}

static int hook_calls;
static void count_hook(void *ctx, struct flashsim *fs)
{
	assert_ptr_equal(ctx, &hook_calls);
	assert_false(flashsim_powered(fs));
	hook_calls++;
}

static void cut_now_disarm_and_hook(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[SIM_PROG] = { 0 };
	hook_calls = 0;
	flashsim_on_powercut(fs, count_hook, &hook_calls);
	flashsim_powercut_after(fs, 3, FLASHSIM_CUT_CLEAN);
	flashsim_powercut_after(fs, -1, FLASHSIM_CUT_CLEAN); /* disarmed */
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(port_flash_program(f, i * SIM_PROG, d, sizeof(d)), 0);
	assert_int_equal(hook_calls, 0);
	flashsim_powercut_after(fs, 0, FLASHSIM_CUT_CLEAN); /* power gone now */
	assert_int_equal(hook_calls, 1);
	assert_int_equal(port_flash_read(f, 0, d, 1), PORT_EPOWER);
	flashsim_power_on(fs);
	assert_int_equal(port_flash_read(f, 0, d, 1), 0);
	flashsim_close(fs);
}

static void stats_and_erase_counts(void **state)
{
	(void)state;
	struct flashsim *fs = ram_sim();
	const struct port_flash *f = flashsim_flash(fs);
	uint8_t d[2 * SIM_PROG] = { 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(port_flash_erase(f, 3 * SIM_ERASE), 0);
	assert_int_equal(port_flash_erase(f, 0), 0);
	assert_int_equal(port_flash_program(f, 0, d, sizeof(d)), 0);
	assert_int_equal(port_flash_program(f, 0, d, SIM_PROG), 0);
	assert_int_equal(port_flash_read(f, 0, d, 5), 0);
	struct flashsim_stats st;
	flashsim_stats(fs, &st);
	assert_int_equal(st.erases, 4);
	assert_int_equal(st.programs, 2);
	assert_int_equal(st.bytes_programmed, 3 * SIM_PROG);
	assert_int_equal(st.reads, 1);
	assert_int_equal(st.ops, 6);
	assert_int_equal(flashsim_erase_count(fs, 3), 3);
	assert_int_equal(flashsim_erase_count(fs, 0), 1);
	assert_int_equal(flashsim_erase_count(fs, 1), 0);
	assert_int_equal(flashsim_erase_count(fs, 99), 0);
	flashsim_close(fs);
}

static void file_backed_flash_persists_across_close_and_open(void **state)
{
	(void)state;
	char dir[PTU_PATH_MAX], path[PTU_PATH_MAX + 16];
	ptu_tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/flash.img", dir);
	struct flashsim_config cfg = { .path = path, .size = SIM_SIZE, .erase_size = SIM_ERASE,
				       .program_size = SIM_PROG, .name = "queue" };
	struct flashsim *fs;
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	const struct port_flash *f = flashsim_flash(fs);
	assert_true(all_bytes(flashsim_raw(fs), SIM_SIZE, 0xFF));
	uint8_t d[SIM_PROG];
	memset(d, 0x5A, sizeof(d));
	assert_int_equal(port_flash_program(f, 3 * SIM_ERASE + 2 * SIM_PROG, d, sizeof(d)), 0);
	assert_int_equal(port_flash_sync(f), 0);
	flashsim_close(fs);

	assert_int_equal(ptu_file_size(path), SIM_SIZE); /* the image is the flash, no header */
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	f = flashsim_flash(fs);
	uint8_t r[SIM_PROG];
	assert_int_equal(port_flash_read(f, 3 * SIM_ERASE + 2 * SIM_PROG, r, sizeof(r)), 0);
	assert_memory_equal(r, d, sizeof(d));
	assert_true(all_bytes(flashsim_raw(fs), 3 * SIM_ERASE, 0xFF));
	/* A cut state is also what the file holds: the next "boot" sees it. */
	flashsim_powercut_after(fs, 1, FLASHSIM_CUT_HALF);
	assert_int_equal(port_flash_erase(f, 3 * SIM_ERASE), PORT_EPOWER);
	flashsim_close(fs);
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	assert_int_equal(flashsim_raw(fs)[3 * SIM_ERASE + SIM_ERASE / 2 - 1], 0xFF);
	flashsim_close(fs);

	/* Same file, other geometry: refused, and the file is not touched. */
	cfg.size = 2 * SIM_SIZE;
	assert_int_equal(flashsim_open(&fs, &cfg), PORT_EINVAL);
	assert_int_equal(ptu_file_size(path), SIM_SIZE);
	ptu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fresh_flash_is_erased_and_described),
		cmocka_unit_test(bad_geometry_is_refused),
		cmocka_unit_test(program_clears_bits_and_erase_restores),
		cmocka_unit_test(setting_a_zero_bit_is_not_erased_and_changes_nothing),
		cmocka_unit_test(misaligned_or_out_of_range_is_einval),
		cmocka_unit_test(clean_cut_on_program_completes_then_everything_fails),
		cmocka_unit_test(half_cut_on_program_leaves_a_prefix),
		cmocka_unit_test(half_cut_on_erase_leaves_the_block_partly_erased),
		cmocka_unit_test(clean_cut_on_erase_erases_whole_block),
		cmocka_unit_test(cut_now_disarm_and_hook),
		cmocka_unit_test(stats_and_erase_counts),
		cmocka_unit_test(file_backed_flash_persists_across_close_and_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
