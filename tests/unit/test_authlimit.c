/* test_authlimit — the AUTH failure limiter: free failures, then a
 * lockout that doubles up to its cap; success and time forget; IPv6 by
 * /64 and IPv4-mapped folded; the bounded table at its limit (oldest
 * unlocked entry dropped, locked ones kept, the shared full slot). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/authlimit.h"
#include "smtp/smtp_addr.h"

#define T0 5000000u

static struct port_addr ip(const char *text)
{
	struct port_addr a;
	assert_int_equal(smtp_ip_parse(text, strlen(text), &a), 0);
	return a;
}

static void three_free_failures_then_doubling_lockouts(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	struct port_addr a = ip("203.0.113.9");
	uint64_t t = T0;
	for (int i = 0; i < AUTHLIMIT_FREE; i++) {
		assert_int_equal(authlimit_check(&al, &a, t), 0);
		assert_int_equal(authlimit_failed(&al, &a, t), 0);
	}
	assert_int_equal(authlimit_check(&al, &a, t), 0);
	/* 4th failure: 2 s, then 4 s, 8 s ... */
	uint64_t want = AUTHLIMIT_BASE_MS;
	for (int i = 0; i < 6; i++) {
		assert_int_equal(authlimit_failed(&al, &a, t), want);
		assert_int_equal(authlimit_check(&al, &a, t), want);
		assert_int_equal(authlimit_check(&al, &a, t + want - 1), 1);
		t += want; /* the lockout is over: one more guess allowed */
		assert_int_equal(authlimit_check(&al, &a, t), 0);
		want *= 2;
	}
	/* ... capped */
	for (int i = 0; i < 40; i++) {
		uint64_t d = authlimit_failed(&al, &a, t);
		assert_true(d <= AUTHLIMIT_MAX_MS);
		t += d;
	}
	assert_int_equal(authlimit_failed(&al, &a, t), AUTHLIMIT_MAX_MS);
}

static void other_addresses_are_not_affected(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	struct port_addr a = ip("198.51.100.1"), b = ip("198.51.100.2");
	for (int i = 0; i < 10; i++)
		authlimit_failed(&al, &a, T0);
	assert_true(authlimit_check(&al, &a, T0) > 0);
	assert_int_equal(authlimit_check(&al, &b, T0), 0);
	assert_int_equal(authlimit_count(&al, T0), 1);
}

static void success_forgets_failures(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	struct port_addr a = ip("192.168.1.20");
	for (int i = 0; i < AUTHLIMIT_FREE; i++)
		authlimit_failed(&al, &a, T0);
	authlimit_succeeded(&al, &a);
	assert_int_equal(authlimit_count(&al, T0), 0);
	/* the free failures are there again */
	for (int i = 0; i < AUTHLIMIT_FREE; i++)
		assert_int_equal(authlimit_failed(&al, &a, T0), 0);
	assert_int_equal(authlimit_failed(&al, &a, T0), AUTHLIMIT_BASE_MS);
}

static void quiet_time_forgets_failures(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	struct port_addr a = ip("192.168.1.21");
	for (int i = 0; i < AUTHLIMIT_FREE + 2; i++)
		authlimit_failed(&al, &a, T0);
	assert_int_equal(authlimit_count(&al, T0 + AUTHLIMIT_FORGET_MS - 1), 1);
	assert_int_equal(authlimit_count(&al, T0 + AUTHLIMIT_FORGET_MS), 0);
	assert_int_equal(authlimit_check(&al, &a, T0 + AUTHLIMIT_FORGET_MS), 0);
	assert_int_equal(authlimit_failed(&al, &a, T0 + AUTHLIMIT_FORGET_MS), 0);
}

static void ipv6_counts_by_64_and_mapped_as_ipv4(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	/* a new interface identifier in the same /64 is the same client */
	char text[64];
	for (int i = 0; i < AUTHLIMIT_FREE + 1; i++) {
		snprintf(text, sizeof(text), "2001:db8:1:2::%x", i + 1);
		struct port_addr a = ip(text);
		authlimit_failed(&al, &a, T0);
	}
	struct port_addr same64 = ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	struct port_addr other64 = ip("2001:db8:1:3::1");
	assert_true(authlimit_check(&al, &same64, T0) > 0);
	assert_int_equal(authlimit_check(&al, &other64, T0), 0);
	/* what a dual-stack listener reports for an IPv4 client */
	struct port_addr v4 = ip("192.0.2.7"), mapped = ip("::ffff:192.0.2.7");
	for (int i = 0; i < AUTHLIMIT_FREE + 1; i++)
		authlimit_failed(&al, i % 2 ? &v4 : &mapped, T0);
	assert_true(authlimit_check(&al, &v4, T0) > 0);
	assert_true(authlimit_check(&al, &mapped, T0) > 0);
	authlimit_succeeded(&al, &mapped);
	assert_int_equal(authlimit_check(&al, &v4, T0), 0);
}

static void full_table_drops_the_oldest_unlocked_entry(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	char text[32];
	/* one failure each (not locked), oldest first */
	for (int i = 0; i < AUTHLIMIT_SLOTS; i++) {
		snprintf(text, sizeof(text), "10.0.0.%d", i + 1);
		struct port_addr a = ip(text);
		authlimit_failed(&al, &a, T0 + (uint64_t)i);
	}
	assert_int_equal(authlimit_count(&al, T0 + 100), AUTHLIMIT_SLOTS);
	struct port_addr newcomer = ip("10.0.1.1");
	authlimit_failed(&al, &newcomer, T0 + 100);
	assert_int_equal(authlimit_count(&al, T0 + 100), AUTHLIMIT_SLOTS);
	/* 10.0.0.1 (oldest) was dropped: its next failure is its first again,
	 * so three more are free; 10.0.0.2 is still counted */
	struct port_addr first = ip("10.0.0.1"), second = ip("10.0.0.2");
	authlimit_failed(&al, &second, T0 + 101);
	authlimit_failed(&al, &second, T0 + 101);
	assert_int_equal(authlimit_failed(&al, &second, T0 + 101), AUTHLIMIT_BASE_MS);
	for (int i = 0; i < AUTHLIMIT_FREE - 1; i++)
		assert_int_equal(authlimit_failed(&al, &first, T0 + 102), 0);
}

static void locked_entries_survive_a_flood_of_new_addresses(void **state)
{
	(void)state;
	static struct authlimit al;
	authlimit_init(&al, NULL);
	char text[32];
	/* every slot locked out */
	for (int i = 0; i < AUTHLIMIT_SLOTS; i++) {
		snprintf(text, sizeof(text), "10.1.0.%d", i + 1);
		struct port_addr a = ip(text);
		for (int k = 0; k < AUTHLIMIT_FREE + 1; k++)
			authlimit_failed(&al, &a, T0);
	}
	struct port_addr victim = ip("10.1.0.1");
	/* a thousand new addresses guess once each: none evicts a locked one */
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "172.16.%d.%d", i / 250, i % 250 + 1);
		struct port_addr a = ip(text);
		if (authlimit_check(&al, &a, T0) == 0)
			authlimit_failed(&al, &a, T0);
	}
	assert_true(authlimit_check(&al, &victim, T0) > 0);
	/* the newcomers shared one entry, and it is locked out now too */
	struct port_addr late = ip("172.31.0.1");
	assert_true(authlimit_check(&al, &late, T0) > 0);
	/* once the lockouts are over, slots are free for new addresses */
	uint64_t later = T0 + AUTHLIMIT_BASE_MS;
	assert_int_equal(authlimit_check(&al, &victim, later), 0);
	assert_int_equal(authlimit_failed(&al, &late, later), 0);
	assert_int_equal(authlimit_count(&al, later), AUTHLIMIT_SLOTS);
}

static void custom_parameters(void **state)
{
	(void)state;
	static struct authlimit al;
	struct authlimit_params p = { .free_failures = 0, .base_ms = 100, .max_ms = 250, .forget_ms = 1000 };
	authlimit_init(&al, &p);
	struct port_addr a = ip("192.0.2.50");
	assert_int_equal(authlimit_failed(&al, &a, T0), 100);
	assert_int_equal(authlimit_failed(&al, &a, T0 + 100), 200);
	assert_int_equal(authlimit_failed(&al, &a, T0 + 300), 250);
	assert_int_equal(authlimit_check(&al, &a, T0 + 549), 1);
	assert_int_equal(authlimit_count(&al, T0 + 300 + 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_free_failures_then_doubling_lockouts),
		cmocka_unit_test(other_addresses_are_not_affected),
		cmocka_unit_test(success_forgets_failures),
		cmocka_unit_test(quiet_time_forgets_failures),
		cmocka_unit_test(ipv6_counts_by_64_and_mapped_as_ipv4),
		cmocka_unit_test(full_table_drops_the_oldest_unlocked_entry),
		cmocka_unit_test(locked_entries_survive_a_flood_of_new_addresses),
		cmocka_unit_test(custom_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
