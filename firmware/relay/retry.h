/* retry — when a deferred message is tried again, when it expires, and
 * when its sender gets one "still trying" warning. Exports the schedule
 * parser (retry_parse_schedule, retry_parse_duration), retry_next_attempt,
 * retry_expired, retry_delay_due and retry_decide (all three at once).
 *
 * Pure functions: no clock, no randomness of its own, no state. Times are
 * uint64_t wall-clock seconds as the queue stores them; the caller passes
 * `now` and a random 32-bit value for the jitter.
 *
 * Schedule: intervals between attempts, "5m,15m,30m,1h,2h,4h"; the last
 * one repeats until the message expires. After the k-th failed attempt
 * (k >= 1) the wait is interval[min(k, age_steps) - 1], where age_steps is
 * how many points of the nominal schedule (arrival + sums of intervals)
 * the message's age has passed (at least 1). The age bound keeps the
 * schedule right when the attempt count runs ahead of the real attempts
 * (the queue counts one per deferred recipient); the count bound gives a
 * released or long-held message a quick first retry.
 *
 * Jitter: the wait is stretched by up to jitter_pct percent (never
 * shortened), so a queue full of mail deferred by one outage does not come
 * back in lockstep. The result is capped at the expiry time (the expiry is
 * then noticed on time, not up to one interval late) and, before the
 * warning time, at the warning time (so one attempt lands on it: that is
 * what makes the warning come exactly once without any stored flag; see
 * retry_delay_due). */
#ifndef DANEGATE_RETRY_H
#define DANEGATE_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RETRY_MAX_STEPS 16	      /* intervals in a schedule; more: RETRY_EINVAL */
#define RETRY_SPEC_MAX 128	      /* bytes of a schedule string (without NUL) */
#define RETRY_STEP_MIN 1u	      /* seconds; 0 would retry in a busy loop */
#define RETRY_STEP_MAX (7u * 86400u)  /* one interval: at most a week */
#define RETRY_AGE_MAX (60u * 86400u)  /* max age / warning time: at most 60 days */
#define RETRY_JITTER_MAX 50u	      /* percent */

/* Defaults (issue 4: expiry 5 days). The warning after 4 h is what
 * Postfix sends with delay_warning_time = 4h; users expect it. */
#define RETRY_DEFAULT_SCHEDULE "5m,15m,30m,1h,2h,4h"
#define RETRY_DEFAULT_MAX_AGE (5u * 86400u)
#define RETRY_DEFAULT_DELAY_WARN (4u * 3600u)
#define RETRY_DEFAULT_JITTER 10u

/* What the relay records for pending recipients of an expired message:
 * RFC 3463 X.4.7 "delivery time expired". dsn turns the 4 into a 5 for
 * the failure report (Action: failed needs class 5). */
#define RETRY_EXPIRED_STATUS "4.4.7"
#define RETRY_EXPIRED_REASON "4.4.7 delivery time expired"

enum retry_err {
	RETRY_OK = 0,
	RETRY_EINVAL = -22, /* syntax: empty, no unit, bad unit, junk, too many steps */
	RETRY_ERANGE = -34, /* a value outside its limit (above) */
};

struct retry_policy {
	uint32_t step[RETRY_MAX_STEPS]; /* seconds, each in [RETRY_STEP_MIN, RETRY_STEP_MAX] */
	unsigned nsteps;		/* 1..RETRY_MAX_STEPS */
	uint32_t max_age;		/* seconds after arrival; then the mail is returned */
	uint32_t delay_warn;		/* seconds after arrival for the one warning; 0: none */
	uint32_t jitter_pct;		/* 0..RETRY_JITTER_MAX */
};

/* The defaults above. */
void retry_policy_default(struct retry_policy *p);

/* One duration: digits with a unit s, m, h or d, several may follow each
 * other ("1h30m"). A bare number is refused: for a max age "5" could mean
 * 5 s or 5 d. len bytes of s are read (no NUL needed); spaces around are
 * allowed. 0, RETRY_EINVAL, or RETRY_ERANGE above RETRY_AGE_MAX. */
int retry_parse_duration(const char *s, size_t len, uint32_t *secs);

/* "5m,15m,..." into p->step/nsteps (p's other fields untouched; p is
 * left unchanged on error). Each interval in [RETRY_STEP_MIN,
 * RETRY_STEP_MAX]; empty entries, a trailing comma or more than
 * RETRY_MAX_STEPS entries are RETRY_EINVAL. */
int retry_parse_schedule(const char *spec, struct retry_policy *p);

/* The time of the next attempt after the attempts-th failure (attempts
 * counted including the one that just failed; 0 is taken as 1) that
 * happened at now. rnd: any 32-bit random value. p comes from
 * retry_policy_default (+ retry_parse_schedule); a zeroed policy waits
 * RETRY_STEP_MIN and expires everything at once. Always > now, unless
 * capped at the expiry time that is <= now (then the mail is expired:
 * check retry_expired first, or use retry_decide). */
uint64_t retry_next_attempt(const struct retry_policy *p, uint64_t arrival, unsigned attempts,
			    uint64_t now, uint32_t rnd);

/* now - arrival >= max_age (a clock that went backwards: not expired). */
bool retry_expired(const struct retry_policy *p, uint64_t arrival, uint64_t now);

/* Whether the attempt that just failed at now should send the one delay
 * warning. due is the next_attempt the queue held for the message before
 * this attempt (0: fresh message). True iff the message is now at least
 * delay_warn old and the attempt was due no later than arrival +
 * delay_warn. Exactly once because retry_next_attempt never schedules
 * past the warning time from before it, and everything scheduled from
 * after it is due later than it. A message retried early by hand, or
 * whose next attempt is reset (release), may be warned about again. */
bool retry_delay_due(const struct retry_policy *p, uint64_t arrival, uint64_t due,
		     uint64_t now);

/* All three for an attempt that failed temporarily at now. */
struct retry_decision {
	bool expired;	       /* return the pending recipients: RETRY_EXPIRED_STATUS */
	bool delay_dsn;	       /* not expired, and the one warning is due now */
	uint64_t next_attempt; /* when not expired: record DEFERRED with this */
};
void retry_decide(const struct retry_policy *p, uint64_t arrival, uint64_t due,
		  unsigned attempts, uint64_t now, uint32_t rnd, struct retry_decision *d);

#endif
