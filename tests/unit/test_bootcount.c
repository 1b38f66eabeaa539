/* test_bootcount — the boot counter on simulated NOR flash: counts up
 * across "reboots", survives a full block, and a power cut at any flash
 * operation loses at most the increment in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "bootcount.h"
#include "../../board/host/flashsim.h"

static struct flashsim *open_sim(uint32_t program_size)
{
	struct flashsim *fs;
	struct flashsim_config cfg = { .path = NULL, .size = 2 * 4096, .erase_size = 4096,
				       .program_size = program_size, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	return fs;
}

static void counts_up_from_one(void **state)
{
	(void)state;
	struct flashsim *fs = open_sim(4);
	uint32_t n = 0;
	for (uint32_t i = 1; i <= 10; i++) {
		assert_int_equal(bootcount_next(flashsim_flash(fs), &n), 0);
		assert_int_equal(n, i);
	}
	flashsim_close(fs);
}

static void full_block_is_erased_and_count_continues(void **state)
{
	(void)state;
	struct flashsim *fs = open_sim(16);
	uint32_t n = 0, slots = 4096 / 16;
	for (uint32_t i = 1; i <= slots + 5; i++) {
		assert_int_equal(bootcount_next(flashsim_flash(fs), &n), 0);
		assert_int_equal(n, i);
	}
	assert_int_equal(flashsim_erase_count(fs, 1), 1); /* moved on to block 1 */
	assert_int_equal(flashsim_erase_count(fs, 0), 0);
	flashsim_close(fs);
}

static void power_cut_loses_at_most_one_increment(void **state)
{
	(void)state;
	for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++) {
		for (long cut = 1; cut <= 3; cut++) {
			/* Fill the block to one slot short of full so the cut can
			 * land on the erase as well as on a program. */
			struct flashsim *fs = open_sim(16);
			uint32_t n = 0, before;
			for (uint32_t i = 0; i < 4096 / 16; i++)
				assert_int_equal(bootcount_next(flashsim_flash(fs), &n), 0);
			before = n;
			flashsim_powercut_after(fs, cut, (enum flashsim_cut)how);
			for (int k = 0; k < 3; k++)
				(void)bootcount_next(flashsim_flash(fs), &n);
			flashsim_power_on(fs);
			assert_int_equal(bootcount_next(flashsim_flash(fs), &n), 0);
			assert_true(n >= before && n <= before + 4);
			uint32_t again;
			assert_int_equal(bootcount_next(flashsim_flash(fs), &again), 0);
			assert_int_equal(again, n + 1);
			flashsim_close(fs);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_up_from_one),
		cmocka_unit_test(full_block_is_erased_and_count_continues),
		cmocka_unit_test(power_cut_loses_at_most_one_increment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
