/* test_retry — the retry schedule of deferred mail: schedules parse (and
 * bad ones are refused without touching the policy), a message follows
 * 5m,15m,30m,1h,2h,4h then every 4h, the jitter only stretches and stays
 * within its percentage, expiry comes exactly at max age, and a message's
 * life brings exactly one delay warning whatever the jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "relay/retry.h"

#define T0 1800000000ull /* an arrival time, 2027 */

static int dur(const char *s, uint32_t *v)
{
	return retry_parse_duration(s, strlen(s), v);
}

static void durations_parse_with_units_only(void **state)
{
	(void)state;
	uint32_t v = 0;
	assert_int_equal(dur("5d", &v), 0);
	assert_int_equal(v, 5u * 86400u);
	assert_int_equal(dur(" 90s ", &v), 0);
	assert_int_equal(v, 90u);
	assert_int_equal(dur("1h30m", &v), 0);
	assert_int_equal(v, 5400u);
	assert_int_equal(dur("60d", &v), 0);
	assert_int_equal(v, RETRY_AGE_MAX);
	static const char *const bad[] = { "", "  ", "5", "5x", "m", "5 m", "1h 30m", "-5m",
					   "5m-", "+5m", "0x10s", "5M" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 777;
		assert_int_equal(dur(bad[i], &v), RETRY_EINVAL);
		assert_int_equal(v, 777u); /* untouched on error */
	}
	assert_int_equal(dur("61d", &v), RETRY_ERANGE);
	assert_int_equal(dur("60d1s", &v), RETRY_ERANGE);
	assert_int_equal(dur("99999999999999999999999s", &v), RETRY_ERANGE);
	/* only len bytes count: "5m" out of "5mjunk" */
	assert_int_equal(retry_parse_duration("5mjunk", 2, &v), 0);
	assert_int_equal(v, 300u);
	/* and a unit beyond len is not taken: "5" of "5m" has none */
	assert_int_equal(retry_parse_duration("5m", 1, &v), RETRY_EINVAL);
}

static void schedules_parse_and_bad_ones_leave_the_policy_alone(void **state)
{
	(void)state;
	struct retry_policy p;
	retry_policy_default(&p);
	assert_int_equal(p.nsteps, 6u);
	struct retry_policy q = p;
	assert_int_equal(retry_parse_schedule(RETRY_DEFAULT_SCHEDULE, &q), 0);
	assert_memory_equal(&p, &q, sizeof(p)); /* the default string is the default */

	assert_int_equal(retry_parse_schedule(" 1m , 1h30m,2d ", &q), 0);
	assert_int_equal(q.nsteps, 3u);
	assert_int_equal(q.step[0], 60u);
	assert_int_equal(q.step[1], 5400u);
	assert_int_equal(q.step[2], 2u * 86400u);
	assert_int_equal(retry_parse_schedule("10m", &q), 0);
	assert_int_equal(q.nsteps, 1u);
	assert_int_equal(q.step[0], 600u);
	assert_int_equal(q.max_age, RETRY_DEFAULT_MAX_AGE); /* only the steps change */

	static const char *const bad[] = { "", ",", "5m,", ",5m", "5m,,1h", "5m;1h", "5", "5m,x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct retry_policy before = q;
		assert_int_equal(retry_parse_schedule(bad[i], &q), RETRY_EINVAL);
		assert_memory_equal(&before, &q, sizeof(q));
	}
	assert_int_equal(retry_parse_schedule("0s", &q), RETRY_ERANGE);
	assert_int_equal(retry_parse_schedule("5m,8d", &q), RETRY_ERANGE);
	assert_int_equal(q.nsteps, 1u);
	/* 16 steps fit, 17 do not */
	char spec[RETRY_SPEC_MAX + 8] = "";
	for (int i = 0; i < RETRY_MAX_STEPS; i++)
		strcat(spec, i ? ",1m" : "1m");
	assert_int_equal(retry_parse_schedule(spec, &q), 0);
	assert_int_equal(q.nsteps, (unsigned)RETRY_MAX_STEPS);
	strcat(spec, ",1m");
	assert_int_equal(retry_parse_schedule(spec, &q), RETRY_EINVAL);
	/* over the string bound */
	memset(spec, '1', RETRY_SPEC_MAX + 1);
	spec[RETRY_SPEC_MAX + 1] = '\0';
	assert_int_equal(retry_parse_schedule(spec, &q), RETRY_ERANGE);
	assert_int_equal(retry_parse_schedule(NULL, &q), RETRY_EINVAL);
}

static struct retry_policy plain_policy(void)
{
	struct retry_policy p;
	retry_policy_default(&p);
	p.jitter_pct = 0;
	p.delay_warn = 0;
	p.max_age = 30u * 86400u;
	return p;
}

static void deferred_mail_follows_the_schedule_and_the_last_step_repeats(void **state)
{
	(void)state;
	struct retry_policy p = plain_policy();
	static const uint32_t want[] = { 300, 900, 1800, 3600, 7200, 14400, 14400, 14400 };
	uint64_t now = T0; /* first attempt on arrival */
	for (unsigned k = 1; k <= sizeof(want) / sizeof(want[0]); k++) {
		uint64_t next = retry_next_attempt(&p, T0, k, now, 0xdeadbeef);
		assert_int_equal(next - now, want[k - 1]);
		now = next;
	}
	/* an attempt that itself took 2 minutes still waits the full step */
	assert_int_equal(retry_next_attempt(&p, T0, 2, T0 + 300 + 120, 0), T0 + 300 + 120 + 900);
}

static void step_index_is_bounded_by_age_and_by_count(void **state)
{
	(void)state;
	struct retry_policy p = plain_policy();
	/* the count runs ahead (one per deferred recipient): age keeps 5m */
	assert_int_equal(retry_next_attempt(&p, T0, 50, T0, 0), T0 + 300);
	assert_int_equal(retry_next_attempt(&p, T0, 50, T0 + 300, 0), T0 + 300 + 900);
	/* 50 minutes old has passed 5m, 20m and 50m: the fourth step, 1 h */
	assert_int_equal(retry_next_attempt(&p, T0, 50, T0 + 3000, 0), T0 + 3000 + 3600);
	/* an old message tried for the first time (held, released): 5 m */
	assert_int_equal(retry_next_attempt(&p, T0, 1, T0 + 3 * 86400, 0), T0 + 3 * 86400 + 300);
	assert_int_equal(retry_next_attempt(&p, T0, 0, T0, 0), T0 + 300); /* 0 counts as 1 */
	/* a clock that went backwards behaves like age 0 */
	assert_int_equal(retry_next_attempt(&p, T0, 9, T0 - 500, 0), T0 - 500 + 300);
}

static void jitter_only_stretches_within_its_percentage(void **state)
{
	(void)state;
	struct retry_policy p = plain_policy();
	p.jitter_pct = 10;
	const uint64_t now = T0 + 7 * 3600; /* step 4 h */
	const uint64_t base = now + 14400;
	assert_int_equal(retry_next_attempt(&p, T0, 9, now, 0), base);
	uint64_t top = retry_next_attempt(&p, T0, 9, now, 0xffffffffu);
	assert_true(top <= base + 1440);
	assert_true(top >= base + 1439);
	uint64_t seen_lo = UINT64_MAX, seen_hi = 0;
	uint32_t x = 12345;
	unsigned distinct = 0;
	uint64_t prev = 0;
	for (int i = 0; i < 1000; i++) {
		x = x * 1664525u + 1013904223u;
		uint64_t n = retry_next_attempt(&p, T0, 9, now, x);
		assert_true(n >= base && n <= base + 1440);
		seen_lo = n < seen_lo ? n : seen_lo;
		seen_hi = n > seen_hi ? n : seen_hi;
		distinct += n != prev;
		prev = n;
	}
	/* spread over the window, not lockstep */
	assert_true(seen_hi - seen_lo > 1200);
	assert_true(distinct > 900);
	/* the percentage is clamped to RETRY_JITTER_MAX */
	p.jitter_pct = 1000;
	assert_true(retry_next_attempt(&p, T0, 9, now, 0xffffffffu) <= base + 14400 / 2);
}

static void expiry_comes_exactly_at_max_age(void **state)
{
	(void)state;
	struct retry_policy p;
	retry_policy_default(&p);
	const uint64_t end = T0 + 5u * 86400u;
	assert_false(retry_expired(&p, T0, end - 1));
	assert_true(retry_expired(&p, T0, end));
	assert_true(retry_expired(&p, T0, end + 86400));
	assert_false(retry_expired(&p, T0, T0 - 10)); /* clock went back */
	/* the last retry is pulled in to the expiry time, not 4 h past it */
	assert_int_equal(retry_next_attempt(&p, T0, 40, end - 3600, 0xffffffffu), end);
	struct retry_decision d;
	retry_decide(&p, T0, end - 3600, 40, end - 1, 7, &d);
	assert_false(d.expired);
	assert_int_equal(d.next_attempt, end);
	retry_decide(&p, T0, end, 41, end, 7, &d);
	assert_true(d.expired);
	assert_false(d.delay_dsn);
	assert_string_equal(RETRY_EXPIRED_REASON, "4.4.7 delivery time expired");
}

/* A whole life with jitter: attempts when due (plus a little lateness),
 * every one failing. Returns how many warnings; *warn_age the age of the
 * first; *end the time expiry was seen. */
static unsigned live_until_expiry(const struct retry_policy *p, uint64_t first_try, uint32_t seed,
				  uint64_t *warn_age, uint64_t *end)
{
	unsigned warnings = 0, attempts = 0;
	uint64_t due = 0, now = first_try;
	uint32_t x = seed;
	for (int guard = 0; guard < 10000; guard++) {
		attempts++;
		x = x * 1664525u + 1013904223u;
		struct retry_decision d;
		retry_decide(p, T0, due, attempts, now, x, &d);
		if (d.expired) {
			*end = now;
			return warnings;
		}
		if (d.delay_dsn && warnings++ == 0)
			*warn_age = now - T0;
		assert_true(d.next_attempt > now);
		due = d.next_attempt;
		now = due + (x >> 29); /* the relay is 0..7 s late */
	}
	fail_msg("never expired");
	return 0;
}

static void one_delay_warning_per_message(void **state)
{
	(void)state;
	struct retry_policy p;
	retry_policy_default(&p);
	for (uint32_t seed = 1; seed <= 200; seed++) {
		uint64_t wage = 0, end = 0;
		assert_int_equal(live_until_expiry(&p, T0, seed, &wage, &end), 1);
		/* on time: the attempt at 3h50 is pulled in to 4h */
		assert_true(wage >= p.delay_warn && wage <= p.delay_warn + 7);
		assert_true(end >= T0 + p.max_age && end <= T0 + p.max_age + 7);
	}
	/* the router was off: first attempt at 6 h warns at once, once */
	uint64_t wage = 0, end = 0;
	assert_int_equal(live_until_expiry(&p, T0 + 6 * 3600, 9, &wage, &end), 1);
	assert_int_equal(wage, 6 * 3600);
	/* no warning configured, or one that would come with the bounce */
	p.delay_warn = 0;
	assert_int_equal(live_until_expiry(&p, T0, 3, &wage, &end), 0);
	p.delay_warn = p.max_age;
	assert_int_equal(live_until_expiry(&p, T0, 3, &wage, &end), 0);
	/* a fresh message (due 0) tried early is not warned about */
	retry_policy_default(&p);
	assert_false(retry_delay_due(&p, T0, 0, T0 + 3600));
	assert_true(retry_delay_due(&p, T0, 0, T0 + 4 * 3600));
	assert_false(retry_delay_due(&p, T0, T0 + 4 * 3600 + 1, T0 + 5 * 3600));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations_parse_with_units_only),
		cmocka_unit_test(schedules_parse_and_bad_ones_leave_the_policy_alone),
		cmocka_unit_test(deferred_mail_follows_the_schedule_and_the_last_step_repeats),
		cmocka_unit_test(step_index_is_bounded_by_age_and_by_count),
		cmocka_unit_test(jitter_only_stretches_within_its_percentage),
		cmocka_unit_test(expiry_comes_exactly_at_max_age),
		cmocka_unit_test(one_delay_warning_per_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
