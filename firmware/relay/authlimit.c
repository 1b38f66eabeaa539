/* authlimit — see authlimit.h. A linear table: AUTHLIMIT_SLOTS is small
 * and AUTH is rare next to everything else the relay does. */
#include "relay/authlimit.h"

#include <string.h>

#define KEY_FULL 0xFF /* key[0] of the shared "no slot left" entry */

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

/* The table key of addr: IPv4 (mapped folded), or an IPv6 /64. */
static void make_key(const struct port_addr *a, uint8_t key[9])
{
	memset(key, 0, 9);
	if (a->family == PORT_AF_INET6 && memcmp(a->ip, v4_mapped, 12) != 0) {
		key[0] = PORT_AF_INET6;
		memcpy(key + 1, a->ip, 8);
	} else if (a->family == PORT_AF_INET6) {
		key[0] = PORT_AF_INET;
		memcpy(key + 1, a->ip + 12, 4);
	} else {
		key[0] = PORT_AF_INET; /* NONE counts as one (unknown) IPv4 client */
		memcpy(key + 1, a->ip, 4);
	}
}

static bool locked(const struct authlimit_slot *e, uint64_t now_ms)
{
	return e->locked_until > now_ms;
}

/* A slot whose failures are old enough to forget (and not locked). */
static bool stale(const struct authlimit *al, const struct authlimit_slot *e, uint64_t now_ms)
{
	return e->key[0] == 0 ||
	       (!locked(e, now_ms) && now_ms - e->last_ms >= (uint64_t)al->p.forget_ms);
}

static struct authlimit_slot *lookup(struct authlimit *al, const uint8_t key[9], uint64_t now_ms)
{
	for (unsigned i = 0; i < AUTHLIMIT_SLOTS; i++) {
		struct authlimit_slot *e = &al->slot[i];
		if (e->key[0] != 0 && memcmp(e->key, key, 9) == 0) {
			if (stale(al, e, now_ms)) {
				memset(e, 0, sizeof(*e));
				return NULL;
			}
			return e;
		}
	}
	return NULL;
}

/* The slot a new address would get: a free or stale one, else the
 * unlocked one with the oldest failure, else NULL (every one locked). */
static struct authlimit_slot *victim(struct authlimit *al, uint64_t now_ms)
{
	struct authlimit_slot *best = NULL;
	for (unsigned i = 0; i < AUTHLIMIT_SLOTS; i++) {
		struct authlimit_slot *e = &al->slot[i];
		if (stale(al, e, now_ms))
			return e;
		if (!locked(e, now_ms) && (!best || e->last_ms < best->last_ms))
			best = e;
	}
	return best;
}

void authlimit_init(struct authlimit *al, const struct authlimit_params *p)
{
	memset(al, 0, sizeof(*al));
	if (p) {
		al->p = *p;
	} else {
		al->p.free_failures = AUTHLIMIT_FREE;
		al->p.base_ms = AUTHLIMIT_BASE_MS;
		al->p.max_ms = AUTHLIMIT_MAX_MS;
		al->p.forget_ms = AUTHLIMIT_FORGET_MS;
	}
	if (al->p.max_ms < al->p.base_ms)
		al->p.max_ms = al->p.base_ms;
	al->full.key[0] = KEY_FULL;
}

uint64_t authlimit_check(struct authlimit *al, const struct port_addr *addr, uint64_t now_ms)
{
	uint8_t key[9];
	make_key(addr, key);
	const struct authlimit_slot *e = lookup(al, key, now_ms);
	if (!e && !victim(al, now_ms))
		e = &al->full; /* it would share the full slot */
	if (!e || !locked(e, now_ms))
		return 0;
	return e->locked_until - now_ms;
}

/* Lockout after the failures counted in e. */
static uint64_t lockout_ms(const struct authlimit *al, uint32_t failures)
{
	if (failures <= al->p.free_failures)
		return 0;
	uint32_t shift = failures - al->p.free_failures - 1;
	uint64_t d = shift >= 32 ? UINT64_MAX : (uint64_t)al->p.base_ms << shift;
	return d > al->p.max_ms ? al->p.max_ms : d;
}

uint64_t authlimit_failed(struct authlimit *al, const struct port_addr *addr, uint64_t now_ms)
{
	uint8_t key[9];
	make_key(addr, key);
	struct authlimit_slot *e = lookup(al, key, now_ms);
	if (!e) {
		e = victim(al, now_ms);
		if (e) {
			memset(e, 0, sizeof(*e));
			memcpy(e->key, key, sizeof(e->key));
		} else {
			e = &al->full;
			if (now_ms - e->last_ms >= (uint64_t)al->p.forget_ms && !locked(e, now_ms))
				e->failures = 0;
		}
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now_ms;
	uint64_t d = lockout_ms(al, e->failures);
	if (d)
		e->locked_until = now_ms + d;
	return d;
}

void authlimit_succeeded(struct authlimit *al, const struct port_addr *addr)
{
	uint8_t key[9];
	make_key(addr, key);
	for (unsigned i = 0; i < AUTHLIMIT_SLOTS; i++)
		if (memcmp(al->slot[i].key, key, 9) == 0)
			memset(&al->slot[i], 0, sizeof(al->slot[i]));
}

unsigned authlimit_count(const struct authlimit *al, uint64_t now_ms)
{
	unsigned n = 0;
	for (unsigned i = 0; i < AUTHLIMIT_SLOTS; i++)
		if (!stale(al, &al->slot[i], now_ms))
			n++;
	return n;
}
