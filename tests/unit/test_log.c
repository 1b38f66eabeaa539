/* test_log — the RAM log ring: records come back in order, long lines are
 * cut with "...", and a reader that fell behind skips what was overwritten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log/log.h"

static void records_come_back_in_order(void **state)
{
	(void)state;
	uint32_t cur = 0;
	char buf[LOG_LINE_MAX + 1];
	while (log_read(&cur, NULL, buf, sizeof(buf)))
		; /* skip whatever earlier tests left */
	log_msg(PORT_LOG_INFO, "first %d", 1);
	log_msg(PORT_LOG_WARN, "second %s", "two");
	enum port_log_level lvl;
	assert_int_equal(log_read(&cur, &lvl, buf, sizeof(buf)), strlen("first 1"));
	assert_string_equal(buf, "first 1");
	assert_int_equal(lvl, PORT_LOG_INFO);
	assert_true(log_read(&cur, &lvl, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "second two");
	assert_int_equal(lvl, PORT_LOG_WARN);
	assert_int_equal(log_read(&cur, &lvl, buf, sizeof(buf)), 0);
}

static void long_lines_are_truncated_visibly(void **state)
{
	(void)state;
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uint32_t cur = 0;
	char buf[LOG_LINE_MAX + 1];
	while (log_read(&cur, NULL, buf, sizeof(buf)))
		;
	log_msg(PORT_LOG_INFO, "%s", big);
	assert_int_equal(log_read(&cur, NULL, buf, sizeof(buf)), LOG_LINE_MAX);
	assert_memory_equal(buf + LOG_LINE_MAX - 3, "...", 3);
}

static void slow_reader_skips_overwritten_records(void **state)
{
	(void)state;
	uint32_t cur = 0;
	char buf[LOG_LINE_MAX + 1];
	while (log_read(&cur, NULL, buf, sizeof(buf)))
		;
	uint32_t old = cur;
	/* Write far more than the ring holds. */
	int total = 3 * LOG_RING_SIZE / 20;
	for (int i = 0; i < total; i++)
		log_msg(PORT_LOG_DEBUG, "record %06d", i);
	assert_true(log_read(&old, NULL, buf, sizeof(buf)) > 0);
	int first;
	assert_int_equal(sscanf(buf, "record %d", &first), 1);
	assert_true(first > 0); /* the oldest ones are gone */
	int prev = first, n = 1;
	while (log_read(&old, NULL, buf, sizeof(buf))) {
		int k;
		assert_int_equal(sscanf(buf, "record %d", &k), 1);
		assert_int_equal(k, prev + 1);
		prev = k;
		n++;
	}
	assert_int_equal(prev, total - 1);
	assert_true((size_t)n * (8 + strlen("record 000000")) <= LOG_RING_SIZE);
}

static void small_buffer_gets_a_terminated_prefix(void **state)
{
	(void)state;
	uint32_t cur = 0;
	char buf[LOG_LINE_MAX + 1];
	while (log_read(&cur, NULL, buf, sizeof(buf)))
		;
	log_msg(PORT_LOG_INFO, "abcdefgh");
	char small[4];
	assert_int_equal(log_read(&cur, NULL, small, sizeof(small)), 3);
	assert_string_equal(small, "abc");
}

/* Two readers at different places, records of varying length written
 * between their reads so the ring wraps many times: each reader sees
 * every record still in the ring exactly once and in order (the read
 * position hint log_read keeps must never send one to a wrong offset). */
static void interleaved_readers_across_wraps(void **state)
{
	(void)state;
	uint32_t a = 0, b = 0;
	char buf[LOG_LINE_MAX + 1];
	while (log_read(&a, NULL, buf, sizeof(buf)))
		;
	b = a;
	int next_a = 0, next_b = 0, written = 0;
	for (int round = 0; round < 400; round++) {
		int burst = 1 + round % 7;
		for (int i = 0; i < burst; i++, written++)
			log_msg(PORT_LOG_INFO, "r %d %.*s", written, (written * 37) % 120,
				"................................................................"
				"................................................................");
		/* a reads everything; b reads one line now and then and falls behind */
		while (log_read(&a, NULL, buf, sizeof(buf))) {
			int k;
			assert_int_equal(sscanf(buf, "r %d", &k), 1);
			assert_int_equal(k, next_a);
			next_a++;
		}
		if (round % 3 == 0 && log_read(&b, NULL, buf, sizeof(buf))) {
			int k;
			assert_int_equal(sscanf(buf, "r %d", &k), 1);
			assert_true(k >= next_b); /* skipped only what was overwritten */
			next_b = k + 1;
		}
	}
	assert_int_equal(next_a, written);
	assert_true(next_b > 0 && next_b < written);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_come_back_in_order),
		cmocka_unit_test(long_lines_are_truncated_visibly),
		cmocka_unit_test(slow_reader_skips_overwritten_records),
		cmocka_unit_test(small_buffer_gets_a_terminated_prefix),
		cmocka_unit_test(interleaved_readers_across_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
