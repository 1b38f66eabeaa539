/* test_settings — the settings image: set, replace, remove, survive a
 * save and reopen, refuse what does not fit, drop a corrupt image, and
 * replace every copy of a name a crafted image holds twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "config/settings.h"
#include "../../board/host/flashsim.h"

static struct flashsim *sim(void)
{
	struct flashsim *fs;
	struct flashsim_config cfg = { .path = NULL, .size = 4 * 16384, .erase_size = 16384,
				       .program_size = 4, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	return fs;
}

static struct settings s, t;

static void set_get_replace_remove(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[64];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_get_str(&s, "hostname", buf, sizeof(buf)), SETTINGS_ENOENT);
	assert_int_equal(settings_set(&s, "hostname", "gw.example", 10), 0);
	assert_int_equal(settings_set(&s, "relay_networks", "10.0.0.0/8", 10), 0);
	assert_int_equal(settings_set(&s, "hostname", "mail.example.org", 16), 0);
	assert_int_equal(settings_get_str(&s, "hostname", buf, sizeof(buf)), 16);
	assert_string_equal(buf, "mail.example.org");
	assert_int_equal(settings_get_str(&s, "relay_networks", buf, sizeof(buf)), 10);
	assert_int_equal(settings_get_str(&s, "hostname", buf, 5), SETTINGS_ENOSPC);
	assert_int_equal(settings_set(&s, "relay_networks", NULL, 0), 0);
	assert_int_equal(settings_get_str(&s, "relay_networks", buf, sizeof(buf)), SETTINGS_ENOENT);
	assert_int_equal(settings_get_str(&s, "hostname", buf, sizeof(buf)), 16);
	flashsim_close(fs);
}

static void binary_values_survive_save_and_reopen(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	uint8_t key[300];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i; /* includes NULs */
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_set(&s, "tls_key", key, sizeof(key)), 0);
	assert_int_equal(settings_set(&s, "hostname", "gw", 2), 0);
	assert_true(s.dirty);
	assert_int_equal(settings_save(&s), 0);
	assert_false(s.dirty);
	assert_int_equal(settings_open(&t, flashsim_flash(fs), 2), 0);
	const uint8_t *v;
	assert_int_equal(settings_get(&t, "tls_key", &v), (int)sizeof(key));
	assert_memory_equal(v, key, sizeof(key));
	flashsim_close(fs);
}

static void full_image_refuses_more(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	static uint8_t big[SETTINGS_IMAGE_MAX];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_set(&s, "big", big, SETTINGS_IMAGE_MAX - 6), 0);
	assert_int_equal(settings_set(&s, "x", "1", 1), SETTINGS_ENOSPC);
	/* Replacing the big one with a small one makes room again. */
	assert_int_equal(settings_set(&s, "big", "y", 1), 0);
	assert_int_equal(settings_set(&s, "x", "1", 1), 0);
	char longname[SETTINGS_NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(settings_set(&s, longname, "1", 1), PORT_EINVAL);
	flashsim_close(fs);
}

static void corrupt_image_is_dropped_not_half_used(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	struct store st;
	uint8_t junk[] = { 5, 'a', 'b', 'c', 'd', 'e', 0xFF, 0xFF }; /* value runs past the end */
	size_t len;
	uint8_t tmp[16];
	(void)store_load(&st, flashsim_flash(fs), 2, tmp, sizeof(tmp), &len);
	assert_int_equal(store_save(&st, junk, sizeof(junk)), 0);
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), SETTINGS_ECORRUPT);
	assert_int_equal(s.len, 0);
	flashsim_close(fs);
}

/* Our saves never write a name twice, but a damaged or crafted image may:
 * a set replaces every copy, so the value read back is the one just set
 * (found by the settings fuzz target). */
static void duplicate_names_are_all_replaced(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	struct store st;
	uint8_t dup[] = { 2, 'h', 'n', 1, 0, 'A', 2, 'h', 'n', 1, 0, 'B' };
	size_t len;
	uint8_t tmp[16];
	char buf[8];
	(void)store_load(&st, flashsim_flash(fs), 2, tmp, sizeof(tmp), &len);
	assert_int_equal(store_save(&st, dup, sizeof(dup)), 0);
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_get_str(&s, "hn", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "A");
	assert_int_equal(settings_set(&s, "hn", "new", 3), 0);
	assert_int_equal(settings_get_str(&s, "hn", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "new");
	assert_int_equal(s.len, 1 + 2 + 2 + 3);
	assert_int_equal(settings_set(&s, "hn", NULL, 0), 0);
	assert_int_equal(settings_get_str(&s, "hn", buf, sizeof(buf)), SETTINGS_ENOENT);
	flashsim_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_get_replace_remove),
		cmocka_unit_test(binary_values_survive_save_and_reopen),
		cmocka_unit_test(full_image_refuses_more),
		cmocka_unit_test(corrupt_image_is_dropped_not_half_used),
		cmocka_unit_test(duplicate_names_are_all_replaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
