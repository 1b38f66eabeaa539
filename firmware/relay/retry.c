/* retry — the retry schedule, expiry and delay-warning decisions for
 * deferred mail (see retry.h for the rules and why they are stateless).
 * Exports retry_parse_*, retry_next_attempt, retry_expired,
 * retry_delay_due, retry_decide. */
#include "relay/retry.h"

#include <string.h>

void retry_policy_default(struct retry_policy *p)
{
	static const uint32_t def[] = { 5 * 60, 15 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600 };
	memset(p, 0, sizeof(*p));
	memcpy(p->step, def, sizeof(def));
	p->nsteps = sizeof(def) / sizeof(def[0]);
	p->max_age = RETRY_DEFAULT_MAX_AGE;
	p->delay_warn = RETRY_DEFAULT_DELAY_WARN;
	p->jitter_pct = RETRY_DEFAULT_JITTER;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int retry_parse_duration(const char *s, size_t len, uint32_t *secs)
{
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	while (len > i && is_space(s[len - 1]))
		len--;
	if (i == len)
		return RETRY_EINVAL;
	uint64_t total = 0;
	while (i < len) {
		uint64_t n = 0;
		size_t digits = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			n = n * 10u + (uint64_t)(s[i] - '0');
			/* stop growing long before uint64_t could wrap */
			if (n > RETRY_AGE_MAX)
				return RETRY_ERANGE;
			i++;
			digits++;
		}
		if (!digits || i == len)
			return RETRY_EINVAL; /* junk, or a number without a unit */
		uint64_t unit;
		switch (s[i]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return RETRY_EINVAL;
		}
		i++;
		total += n * unit;
		if (total > RETRY_AGE_MAX)
			return RETRY_ERANGE;
	}
	*secs = (uint32_t)total;
	return RETRY_OK;
}

/* strlen that stops looking after max bytes (strnlen is POSIX, not C11). */
static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

int retry_parse_schedule(const char *spec, struct retry_policy *p)
{
	if (!spec || !p)
		return RETRY_EINVAL;
	size_t len = bounded_len(spec, RETRY_SPEC_MAX + 1);
	if (len > RETRY_SPEC_MAX)
		return RETRY_ERANGE;
	uint32_t step[RETRY_MAX_STEPS];
	unsigned n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && spec[i] != ',')
			continue;
		if (n == RETRY_MAX_STEPS)
			return RETRY_EINVAL;
		uint32_t v;
		int err = retry_parse_duration(spec + start, i - start, &v);
		if (err)
			return err;
		if (v < RETRY_STEP_MIN || v > RETRY_STEP_MAX)
			return RETRY_ERANGE;
		step[n++] = v;
		start = i + 1;
	}
	memcpy(p->step, step, n * sizeof(step[0]));
	p->nsteps = n;
	return RETRY_OK;
}

static uint64_t age_of(uint64_t arrival, uint64_t now)
{
	return now > arrival ? now - arrival : 0;
}

uint64_t retry_next_attempt(const struct retry_policy *p, uint64_t arrival, unsigned attempts,
			    uint64_t now, uint32_t rnd)
{
	unsigned nsteps = p->nsteps ? p->nsteps : 1;
	uint64_t age = age_of(arrival, now);
	/* schedule points the age has passed: bounds the step index (why: retry.h) */
	unsigned passed = 0;
	uint64_t cum = 0;
	for (unsigned j = 0; j + 1 < nsteps; j++) {
		cum += p->step[j];
		if (age < cum)
			break;
		passed++;
	}
	unsigned k = attempts ? attempts : 1;
	if (k > passed + 1)
		k = passed + 1;
	if (k > nsteps)
		k = nsteps;
	uint64_t wait = p->nsteps ? p->step[k - 1] : RETRY_STEP_MIN;
	uint32_t pct = p->jitter_pct > RETRY_JITTER_MAX ? RETRY_JITTER_MAX : p->jitter_pct;
	/* wait <= 7 d * 50 % * 2^32 < 2^47: no overflow */
	uint64_t extra = (wait * pct * (uint64_t)rnd) / (100ull << 32);
	uint64_t next = now + wait + extra;
	uint64_t expiry = arrival + p->max_age;
	if (next > expiry)
		next = expiry;
	uint64_t warn = arrival + p->delay_warn;
	if (p->delay_warn && p->delay_warn < p->max_age && now < warn && next > warn)
		next = warn;
	return next;
}

bool retry_expired(const struct retry_policy *p, uint64_t arrival, uint64_t now)
{
	return now >= arrival && now - arrival >= p->max_age;
}

bool retry_delay_due(const struct retry_policy *p, uint64_t arrival, uint64_t due, uint64_t now)
{
	if (!p->delay_warn || p->delay_warn >= p->max_age)
		return false; /* no warning, or it would come with the bounce */
	if (age_of(arrival, now) < p->delay_warn)
		return false;
	uint64_t d = due < arrival ? arrival : due;
	return d - arrival <= p->delay_warn;
}

void retry_decide(const struct retry_policy *p, uint64_t arrival, uint64_t due,
		  unsigned attempts, uint64_t now, uint32_t rnd, struct retry_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->expired = retry_expired(p, arrival, now);
	if (d->expired)
		return;
	d->delay_dsn = retry_delay_due(p, arrival, due, now);
	d->next_attempt = retry_next_attempt(p, arrival, attempts, now, rnd);
}
