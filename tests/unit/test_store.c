/* test_store — the two-generation settings store on simulated NOR flash:
 * save/load round trips, the newest generation wins, corruption falls back
 * to the older one, and a power cut at every single program or erase of a
 * save (clean or half done) leaves either the old or the new settings,
 * never a mix and never nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/store.h"
#include "util/crc32c.h"
#include "../../board/host/flashsim.h"

#define BLOCK 4096

static struct flashsim *sim(uint32_t unit)
{
	struct flashsim *fs;
	struct flashsim_config cfg = { .path = NULL, .size = 4 * BLOCK, .erase_size = BLOCK,
				       .program_size = unit, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	return fs;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

static void crc32c_known_answer(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	/* Continuation equals one pass. */
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	/* The constant slicing tables match their definition. */
	assert_true(crc32c_table_ok());
}

static void empty_flash_is_factory_state(void **state)
{
	(void)state;
	struct flashsim *fs = sim(4);
	struct store st;
	uint8_t buf[64];
	size_t len;
	assert_int_equal(store_load(&st, flashsim_flash(fs), 2, buf, sizeof(buf), &len), STORE_ENOENT);
	flashsim_close(fs);
}

static void saves_round_trip_and_newest_wins(void **state)
{
	(void)state;
	for (uint32_t unit = 1; unit <= 16; unit *= 4) {
		struct flashsim *fs = sim(unit);
		struct store st;
		uint8_t a[1000], b[777], out[2000];
		size_t len;
		fill(a, sizeof(a), 1);
		fill(b, sizeof(b), 2);
		assert_int_equal(store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len), STORE_ENOENT);
		for (int round = 0; round < 5; round++) {
			const uint8_t *blob = round % 2 ? b : a;
			size_t n = round % 2 ? sizeof(b) : sizeof(a);
			assert_int_equal(store_save(&st, blob, n), 0);
			struct store again;
			assert_int_equal(store_load(&again, flashsim_flash(fs), 2, out, sizeof(out), &len), 0);
			assert_int_equal(len, n);
			assert_memory_equal(out, blob, n);
			assert_int_equal(again.gen, (uint32_t)round + 1);
		}
		/* Blocks 0 and 1 (the boot counter's) were never touched. */
		assert_int_equal(flashsim_erase_count(fs, 0), 0);
		assert_int_equal(flashsim_erase_count(fs, 1), 0);
		flashsim_close(fs);
	}
}

static void too_big_and_too_small_are_refused(void **state)
{
	(void)state;
	struct flashsim *fs = sim(4);
	struct store st;
	static uint8_t big[BLOCK];
	uint8_t small[8];
	size_t len;
	(void)store_load(&st, flashsim_flash(fs), 2, small, sizeof(small), &len);
	assert_int_equal(store_save(&st, big, sizeof(big)), STORE_ETOOBIG);
	assert_int_equal(store_save(&st, big, store_capacity(flashsim_flash(fs))), 0);
	assert_int_equal(store_load(&st, flashsim_flash(fs), 2, small, sizeof(small), &len), STORE_ETOOBIG);
	flashsim_close(fs);
}

static void corrupt_newest_falls_back_to_older(void **state)
{
	(void)state;
	struct flashsim *fs = sim(4);
	struct store st;
	uint8_t a[100], b[100], out[200];
	size_t len;
	fill(a, sizeof(a), 3);
	fill(b, sizeof(b), 4);
	(void)store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len);
	assert_int_equal(store_save(&st, a, sizeof(a)), 0); /* block 2 */
	assert_int_equal(store_save(&st, b, sizeof(b)), 0); /* block 3 */
	flashsim_raw(fs)[3 * BLOCK + 64] ^= 0x01;	    /* one bit of b's blob */
	assert_int_equal(store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(a));
	assert_memory_equal(out, a, sizeof(a));
	/* The next save goes over the corrupt block, and wins. */
	assert_int_equal(store_save(&st, b, sizeof(b)), 0);
	assert_int_equal(store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len), 0);
	assert_memory_equal(out, b, sizeof(b));
	flashsim_close(fs);
}

static void save_across_generation_wrap_wins(void **state)
{
	(void)state;
	struct flashsim *fs = sim(4);
	struct store st;
	uint8_t a[40], b[40], out[80];
	size_t len;
	fill(a, sizeof(a), 7);
	fill(b, sizeof(b), 8);
	(void)store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len);
	st.gen = 0xFFFFFFFEu; /* as if 2^32 - 2 saves had happened */
	assert_int_equal(store_save(&st, a, sizeof(a)), 0); /* gen 0xFFFFFFFF */
	assert_int_equal(store_save(&st, b, sizeof(b)), 0); /* gen 0 (wrapped) */
	assert_int_equal(store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(b));
	assert_memory_equal(out, b, sizeof(b));
	flashsim_close(fs);
}

static void power_cut_at_every_operation_keeps_old_or_new(void **state)
{
	(void)state;
	uint8_t a[600], b[900], out[2000];
	fill(a, sizeof(a), 5);
	fill(b, sizeof(b), 6);
	int cuts = 0, saw_old = 0, saw_new = 0;
	for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++) {
		for (long k = 1;; k++) {
			struct flashsim *fs = sim(4);
			struct store st;
			size_t len;
			(void)store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len);
			assert_int_equal(store_save(&st, a, sizeof(a)), 0);
			flashsim_powercut_after(fs, k, (enum flashsim_cut)how);
			int err = store_save(&st, b, sizeof(b));
			bool cut = !flashsim_powered(fs);
			flashsim_power_on(fs);
			flashsim_powercut_after(fs, -1, FLASHSIM_CUT_CLEAN);
			assert_int_equal(store_load(&st, flashsim_flash(fs), 2, out, sizeof(out), &len), 0);
			if (len == sizeof(b) && memcmp(out, b, len) == 0)
				saw_new++;
			else if (len == sizeof(a) && memcmp(out, a, len) == 0)
				saw_old++;
			else
				fail_msg("cut after op %ld (%s): neither old nor new settings", k,
					 how ? "half" : "clean");
			if (err == 0 && !cut) { /* the save finished before op k: done */
				assert_memory_equal(out, b, sizeof(b));
				flashsim_close(fs);
				break;
			}
			if (err == 0) /* save reported success: it must be durable */
				assert_memory_equal(out, b, sizeof(b));
			cuts++;
			flashsim_close(fs);
		}
	}
	assert_true(cuts > 4);
	assert_true(saw_old > 0);
	assert_true(saw_new > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32c_known_answer),
		cmocka_unit_test(empty_flash_is_factory_state),
		cmocka_unit_test(saves_round_trip_and_newest_wins),
		cmocka_unit_test(too_big_and_too_small_are_refused),
		cmocka_unit_test(corrupt_newest_falls_back_to_older),
		cmocka_unit_test(save_across_generation_wrap_wins),
		cmocka_unit_test(power_cut_at_every_operation_keeps_old_or_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
