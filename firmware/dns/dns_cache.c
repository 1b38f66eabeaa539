/* dns_cache — bounded answer cache: DNS_CACHE_ENTRIES answers in a packed
 * DNS_CACHE_BYTES arena, TTLs honoured and capped, LRU eviction.
 * Exports dns_cache_init/put/get/flush.
 *
 * Policy: positive answers live min(TTL, max_ttl); denials (NXDOMAIN,
 * NODATA) min(SOA TTL, SOA MINIMUM, neg_max_ttl) (RFC 2308 §5), and not at
 * all without an SOA; failures fail_ttl seconds (default 5): long enough
 * that a queue run over many messages to one broken domain asks once, short
 * enough that a repaired zone is seen at the next retry. The local Unbound
 * keeps its own longer failure cache (RFC 9520). Timeouts are not cached
 * (the driver never puts them): there is no answer to keep, and the next
 * lookup should try the resolvers again. The DNSSEC status is
 * part of the cached answer, so a cached answer is exactly as secure as
 * the response it came from. */
#include "dns/dns.h"

#include <string.h>

_Static_assert(DNS_CACHE_BYTES <= 65535, "arena offsets are 16-bit");

/* What an arena record holds, in order: this header, the key (lower-case
 * wire name), the qname and final_name texts, n_rr records, the data. */
struct cache_hdr {
	uint8_t key_len, qname_len, final_len;
	uint8_t status, rcode, ad, cname_count, cname_secure_first;
	uint16_t qtype, n_rr, data_len;
	uint32_t ttl;
	const char *reason;	/* static text */
};

static size_t rec_size(const struct cache_hdr *h)
{
	return sizeof(*h) + h->key_len + h->qname_len + h->final_len +
	       (size_t)h->n_rr * sizeof(struct dns_rr) + h->data_len;
}

void dns_cache_init(struct dns_cache *c, const struct dns_cache_config *cfg)
{
	memset(c, 0, sizeof(*c));
	if (cfg) {
		c->cfg = *cfg;
	} else {
		c->cfg.max_ttl = 86400;
		c->cfg.neg_max_ttl = 3600;
		c->cfg.fail_ttl = 5;
	}
}

void dns_cache_flush(struct dns_cache *c)
{
	struct dns_cache_config cfg = c->cfg;
	dns_cache_init(c, &cfg);
}

/* Lower-case wire form of name: the key. Returns its length or < 0. */
static int make_key(const char *name, uint8_t key[DNS_NAME_WIRE_MAX])
{
	int n = dns_name_to_wire(name, key, DNS_NAME_WIRE_MAX);
	for (int i = 0; i < n; i++)
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (uint8_t)(key[i] + 32);
	return n;
}

static int find(const struct dns_cache *c, const uint8_t *key, int key_len, uint16_t qtype)
{
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++) {
		const struct dns_cache_entry *e = &c->e[i];
		if (!e->expires_ms || e->qtype != qtype)
			continue;
		struct cache_hdr h;
		memcpy(&h, c->arena + e->off, sizeof(h));
		if (h.key_len == key_len && !memcmp(c->arena + e->off + sizeof(h), key, (size_t)key_len))
			return i;
	}
	return -1;
}

/* Frees entry i and closes the gap, so the arena stays packed from 0. */
static void drop(struct dns_cache *c, int i)
{
	struct dns_cache_entry *e = &c->e[i];
	uint16_t off = e->off, len = e->len;
	memmove(c->arena + off, c->arena + off + len, (size_t)(c->used - off - len));
	c->used = (uint16_t)(c->used - len);
	for (int k = 0; k < DNS_CACHE_ENTRIES; k++)
		if (c->e[k].expires_ms && c->e[k].off > off)
			c->e[k].off = (uint16_t)(c->e[k].off - len);
	memset(e, 0, sizeof(*e));
}

static int lru_victim(const struct dns_cache *c)
{
	int v = -1;
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++)
		if (c->e[i].expires_ms && (v < 0 || c->e[i].last_use < c->e[v].last_use))
			v = i;
	return v;
}

static int free_slot(const struct dns_cache *c)
{
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++)
		if (!c->e[i].expires_ms)
			return i;
	return -1;
}

static uint32_t keep_seconds(const struct dns_cache *c, const struct dns_answer *a)
{
	uint32_t cap;
	if (a->status == DNS_FAIL)
		return c->cfg.fail_ttl;
	cap = dns_status_denial(a->status) ? c->cfg.neg_max_ttl : c->cfg.max_ttl;
	return a->ttl < cap ? a->ttl : cap;
}

int dns_cache_put(struct dns_cache *c, const struct dns_answer *a, uint64_t now_ms)
{
	if (!c || !a || a->partial || a->n_rr > DNS_RR_MAX || a->data_len > DNS_DATA_MAX)
		return DNS_EINVAL;
	uint8_t key[DNS_NAME_WIRE_MAX];
	int key_len = make_key(a->qname, key);
	if (key_len < 0)
		return DNS_ENAME;
	int old = find(c, key, key_len, a->qtype);
	if (old >= 0)
		drop(c, old);
	uint32_t keep = keep_seconds(c, a);
	if (keep == 0)
		return 0;

	struct cache_hdr h = {
		.key_len = (uint8_t)key_len,
		.qname_len = (uint8_t)dns_text_len(a->qname, DNS_NAME_TEXT_SIZE - 1),
		.final_len = (uint8_t)dns_text_len(a->final_name, DNS_NAME_TEXT_SIZE - 1),
		.status = (uint8_t)a->status,
		.rcode = a->rcode,
		.ad = a->ad,
		.cname_count = a->cname_count,
		.cname_secure_first = a->cname_secure_first,
		.qtype = a->qtype,
		.n_rr = a->n_rr,
		.data_len = a->data_len,
		.ttl = keep,
		.reason = a->reason,
	};
	size_t need = rec_size(&h);
	if (need > sizeof(c->arena))
		return DNS_ETOOBIG;

	/* Make room: expired answers first, then the least recently used. */
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++)
		if (c->e[i].expires_ms && c->e[i].expires_ms <= now_ms) {
			drop(c, i);
			c->stats.expired++;
		}
	while (free_slot(c) < 0 || sizeof(c->arena) - c->used < need) {
		drop(c, lru_victim(c));
		c->stats.evicted++;
	}

	int i = free_slot(c);
	struct dns_cache_entry *e = &c->e[i];
	uint8_t *p = c->arena + c->used;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, key, h.key_len);
	p += h.key_len;
	memcpy(p, a->qname, h.qname_len);
	p += h.qname_len;
	memcpy(p, a->final_name, h.final_len);
	p += h.final_len;
	memcpy(p, a->rr, (size_t)h.n_rr * sizeof(struct dns_rr));
	p += (size_t)h.n_rr * sizeof(struct dns_rr);
	memcpy(p, a->data, h.data_len);

	e->off = c->used;
	e->len = (uint16_t)need;
	e->qtype = a->qtype;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)keep * 1000u;
	e->last_use = ++c->use_clock;
	c->used = (uint16_t)(c->used + need);
	c->stats.stored++;
	return 0;
}

bool dns_cache_has(const struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ms)
{
	uint8_t key[DNS_NAME_WIRE_MAX];
	int key_len = make_key(name, key);
	int i = key_len < 0 ? -1 : find(c, key, key_len, qtype);
	return i >= 0 && c->e[i].expires_ms > now_ms;
}

int dns_cache_get(struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ms,
		  struct dns_answer *out)
{
	uint8_t key[DNS_NAME_WIRE_MAX];
	int key_len = make_key(name, key);
	int i = key_len < 0 ? -1 : find(c, key, key_len, qtype);
	if (i < 0) {
		c->stats.misses++;
		return DNS_ENOENT;
	}
	struct dns_cache_entry *e = &c->e[i];
	if (e->expires_ms <= now_ms) {
		drop(c, i);
		c->stats.expired++;
		c->stats.misses++;
		return DNS_ENOENT;
	}
	struct cache_hdr h;
	const uint8_t *p = c->arena + e->off;
	memcpy(&h, p, sizeof(h));
	p += sizeof(h) + h.key_len;

	out->status = (enum dns_status)h.status;
	out->qtype = h.qtype;
	out->rcode = h.rcode;
	out->ad = h.ad;
	out->cname_count = h.cname_count;
	out->cname_secure_first = h.cname_secure_first;
	out->partial = false;
	out->reason = h.reason;
	memcpy(out->qname, p, h.qname_len);
	out->qname[h.qname_len] = '\0';
	p += h.qname_len;
	memcpy(out->final_name, p, h.final_len);
	out->final_name[h.final_len] = '\0';
	p += h.final_len;
	out->n_rr = h.n_rr;
	memcpy(out->rr, p, (size_t)h.n_rr * sizeof(struct dns_rr));
	p += (size_t)h.n_rr * sizeof(struct dns_rr);
	out->data_len = h.data_len;
	memcpy(out->data, p, h.data_len);

	/* What is left of the lifetime, rounded up so 0 means "gone". */
	uint64_t left_ms = e->expires_ms - now_ms;
	uint32_t left = (uint32_t)((left_ms + 999u) / 1000u);
	out->ttl = left;
	for (uint16_t k = 0; k < out->n_rr; k++)
		if (out->rr[k].ttl > left)
			out->rr[k].ttl = left;
	e->last_use = ++c->use_clock;
	c->stats.hits++;
	return 0;
}
