/* authlimit — slows down SMTP AUTH password guessing: a bounded table of
 * client addresses with their recent failures. After AUTHLIMIT_FREE
 * failures an address is locked out for a delay that doubles with each
 * further failure (capped); during the lockout every AUTH gets
 * "454 4.7.0" without the password being looked at. A success, or a
 * quiet period, forgets the address. Sans-I/O, caller-owned state.
 * Exports authlimit_init(), authlimit_check(), authlimit_failed(),
 * authlimit_succeeded(), authlimit_count().
 *
 * Keys: an IPv4 address (IPv4-mapped IPv6 folded onto it), or the /64 of
 * an IPv6 address (one host usually holds a whole /64, so rotating the
 * interface identifier gives no fresh guesses).
 *
 * At the limit (every slot in use) the address whose last failure is
 * oldest is dropped for the new one; while it is locked out a slot is
 * only taken over once its lockout is over, so a flood of new addresses
 * cannot free a locked-out one: the new address then shares the "full"
 * slot, which counts failures like any other (a distributed guesser
 * slows down everybody who is not yet in the table, never the
 * addresses that are). */
#ifndef DANEGATE_AUTHLIMIT_H
#define DANEGATE_AUTHLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "port.h"

#define AUTHLIMIT_SLOTS 32		     /* addresses tracked (RAM: ~40 B each) */
#define AUTHLIMIT_FREE 3		     /* failures allowed before the first lockout */
#define AUTHLIMIT_BASE_MS 2000u		     /* first lockout; doubles per failure */
#define AUTHLIMIT_MAX_MS (15u * 60 * 1000)   /* longest lockout */
#define AUTHLIMIT_FORGET_MS (60u * 60 * 1000) /* idle time after which failures are forgotten */

struct authlimit_params {
	uint32_t free_failures; /* AUTHLIMIT_FREE */
	uint32_t base_ms;	/* AUTHLIMIT_BASE_MS */
	uint32_t max_ms;	/* AUTHLIMIT_MAX_MS */
	uint32_t forget_ms;	/* AUTHLIMIT_FORGET_MS */
};

struct authlimit_slot {
	uint8_t key[9];	       /* family, then 4 (IPv4) or 8 (IPv6 /64) bytes; [0] 0: free */
	uint32_t failures;     /* since the last success or forget */
	uint64_t last_ms;      /* last failure */
	uint64_t locked_until; /* monotonic ms; 0: not locked */
};

struct authlimit {
	struct authlimit_params p;
	struct authlimit_slot slot[AUTHLIMIT_SLOTS];
	struct authlimit_slot full; /* shared by addresses that found no slot */
};

/* Empties the table. p NULL: the AUTHLIMIT_* defaults. */
void authlimit_init(struct authlimit *al, const struct authlimit_params *p);

/* 0 if addr may try a password now, else the milliseconds left of its
 * lockout (> 0): answer 454 4.7.0 without checking the password. */
uint64_t authlimit_check(struct authlimit *al, const struct port_addr *addr, uint64_t now_ms);

/* A wrong password from addr: counts it, and from the (free_failures+1)th
 * failure on locks addr out for base_ms << (failures - free_failures - 1),
 * at most max_ms. Returns the lockout now in force (0: none). */
uint64_t authlimit_failed(struct authlimit *al, const struct port_addr *addr, uint64_t now_ms);

/* A good password from addr: its failures are forgotten. */
void authlimit_succeeded(struct authlimit *al, const struct port_addr *addr);

/* Addresses currently tracked (for the console / tests). */
unsigned authlimit_count(const struct authlimit *al, uint64_t now_ms);

#endif
