/* fuzz_retry — libFuzzer target for the retry schedule (firmware/relay/
 * retry.c): retry_parse_schedule and retry_parse_duration on text from the
 * configuration, and the timing rules on the policy that results.
 * Input: [jitter][max age h][warn h][rnd 4][spec text]. The text is
 * parsed as a duration (exact-size buffer) and as a schedule (NUL-
 * terminated copy); then one message is retried at every next_attempt
 * until it expires. Checks, besides the sanitizers: a failed schedule
 * parse leaves the policy unchanged; a good one has 1..RETRY_MAX_STEPS
 * steps within [RETRY_STEP_MIN, RETRY_STEP_MAX]; a duration is at most
 * RETRY_AGE_MAX; every next attempt is later than the failure and not
 * after the expiry; the delay warning comes at most once, and exactly
 * once when the warning time lies before the expiry; retry_decide agrees
 * with the three functions. Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/retry.h"

#include "fuzz_check.h"

#define SIM_MAX 3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 7)
		return 0;
	const char *text = (const char *)data + 7;
	size_t len = size - 7;
	char *exact = malloc(len ? len : 1), *cstr = malloc(len + 1);
	check(exact && cstr);
	memcpy(exact, text, len);
	memcpy(cstr, text, len);
	cstr[len] = '\0';

	uint32_t secs = 12345;
	int r = retry_parse_duration(exact, len, &secs);
	check(r == RETRY_OK || r == RETRY_EINVAL || r == RETRY_ERANGE);
	if (r == 0)
		check(secs <= RETRY_AGE_MAX);

	struct retry_policy p, keep;
	retry_policy_default(&p);
	p.jitter_pct = data[0] % (RETRY_JITTER_MAX + 1);
	p.max_age = (data[1] % 120 + 1) * 3600u;
	p.delay_warn = (data[2] % 130) * 3600u;
	keep = p;
	r = retry_parse_schedule(cstr, &p);
	check(r == RETRY_OK || r == RETRY_EINVAL || r == RETRY_ERANGE);
	if (r != 0) {
		check(memcmp(&p, &keep, sizeof(p)) == 0);
	} else {
		check(p.nsteps >= 1 && p.nsteps <= RETRY_MAX_STEPS);
		for (unsigned i = 0; i < p.nsteps; i++)
			check(p.step[i] >= RETRY_STEP_MIN && p.step[i] <= RETRY_STEP_MAX);
		check(p.max_age == keep.max_age && p.delay_warn == keep.delay_warn &&
		      p.jitter_pct == keep.jitter_pct);
	}

	uint32_t rnd = (uint32_t)data[3] << 24 | (uint32_t)data[4] << 16 | (uint32_t)data[5] << 8 |
		       data[6];
	const uint64_t arrival = 1795867200u;
	uint64_t now = arrival, due = 0;
	unsigned warnings = 0, attempts = 0;
	bool ended = false;
	for (int i = 0; i < SIM_MAX; i++) {
		attempts++;
		rnd = rnd * 1103515245u + 12345u;
		struct retry_decision d;
		retry_decide(&p, arrival, due, attempts, now, rnd, &d);
		bool exp = retry_expired(&p, arrival, now);
		check(d.expired == exp);
		if (exp) {
			ended = true;
			break;
		}
		check(d.delay_dsn == retry_delay_due(&p, arrival, due, now));
		warnings += d.delay_dsn;
		uint64_t next = retry_next_attempt(&p, arrival, attempts, now, rnd);
		check(next == d.next_attempt);
		check(next > now);
		check(next <= arrival + p.max_age);
		due = next;
		now = next;
	}
	check(warnings <= 1);
	if (ended && p.delay_warn > 0 && p.delay_warn < p.max_age)
		check(warnings == 1);
	/* a clock that went backwards is not expired */
	check(!retry_expired(&p, arrival, arrival - 1));
	free(exact);
	free(cstr);
	return 0;
}
