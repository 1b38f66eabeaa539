/* test_dns_wire — a tiny DNS wire writer for the DNS tests: hand-built
 * answers (uncompressed names), so tests can also build broken ones.
 * Header-only (static functions); included by tests/unit/test_dns_*.c. */
#ifndef TEST_DNS_WIRE_H
#define TEST_DNS_WIRE_H

#include <stdint.h>
#include <string.h>

#include "dns/dns.h"

#define WB_MAX 16384

enum { WB_QR = 0x8000, WB_AA = 0x0400, WB_TC = 0x0200, WB_RD = 0x0100, WB_RA = 0x0080,
       WB_AD = 0x0020 };

struct wb {
	uint8_t b[WB_MAX];
	size_t n;
	uint16_t counts[4];	/* qd an ns ar */
	int section;		/* where wb_rr() counts the next record */
};

static inline void wb_u8(struct wb *w, uint8_t v)
{
	if (w->n < WB_MAX)
		w->b[w->n++] = v;
}

static inline void wb_u16(struct wb *w, uint16_t v)
{
	wb_u8(w, (uint8_t)(v >> 8));
	wb_u8(w, (uint8_t)v);
}

static inline void wb_u32(struct wb *w, uint32_t v)
{
	wb_u16(w, (uint16_t)(v >> 16));
	wb_u16(w, (uint16_t)v);
}

static inline void wb_bytes(struct wb *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wb_u8(w, ((const uint8_t *)p)[i]);
}

static inline void wb_name(struct wb *w, const char *name)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int n = dns_name_to_wire(name, wire, sizeof(wire));
	if (n > 0)
		wb_bytes(w, wire, (size_t)n);
}

/* Header for an answer to (id, name, qtype) with the given flags and
 * rcode; the question follows at once. Counts are patched by wb_done(). */
static inline void wb_start(struct wb *w, uint16_t id, uint16_t flags, uint8_t rcode, const char *qname,
		     uint16_t qtype)
{
	memset(w, 0, sizeof(*w));
	wb_u16(w, id);
	wb_u16(w, (uint16_t)(flags | rcode));
	w->n = 12;
	wb_name(w, qname);
	wb_u16(w, qtype);
	wb_u16(w, 1);
	w->counts[0] = 1;
	w->section = 1;
}

static inline void wb_section(struct wb *w, int section)
{
	w->section = section;
}

static inline void wb_rr(struct wb *w, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
		  size_t rdlen)
{
	wb_name(w, owner);
	wb_u16(w, type);
	wb_u16(w, 1);
	wb_u32(w, ttl);
	wb_u16(w, (uint16_t)rdlen);
	wb_bytes(w, rdata, rdlen);
	w->counts[w->section]++;
}

static inline void wb_a(struct wb *w, const char *owner, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c,
		 uint8_t d)
{
	uint8_t ip[4] = { a, b, c, d };
	wb_rr(w, owner, DNS_T_A, ttl, ip, 4);
}

static inline void wb_cname(struct wb *w, const char *owner, uint32_t ttl, const char *target)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int n = dns_name_to_wire(target, wire, sizeof(wire));
	wb_rr(w, owner, DNS_T_CNAME, ttl, wire, n > 0 ? (size_t)n : 0);
}

static inline void wb_mx(struct wb *w, const char *owner, uint32_t ttl, uint16_t pref, const char *exch)
{
	uint8_t rd[2 + DNS_NAME_WIRE_MAX];
	rd[0] = (uint8_t)(pref >> 8);
	rd[1] = (uint8_t)pref;
	int n = dns_name_to_wire(exch, rd + 2, DNS_NAME_WIRE_MAX);
	wb_rr(w, owner, DNS_T_MX, ttl, rd, 2 + (n > 0 ? (size_t)n : 0));
}

static inline void wb_tlsa(struct wb *w, const char *owner, uint32_t ttl, uint8_t u, uint8_t s, uint8_t m,
		    const uint8_t *data, size_t len)
{
	static uint8_t rd[4096];
	rd[0] = u;
	rd[1] = s;
	rd[2] = m;
	memcpy(rd + 3, data, len);
	wb_rr(w, owner, DNS_T_TLSA, ttl, rd, 3 + len);
}

/* SOA with the given MINIMUM (RFC 2308 negative TTL). */
static inline void wb_soa(struct wb *w, const char *owner, uint32_t ttl, uint32_t minimum)
{
	struct wb t = { .n = 0 };
	wb_name(&t, "ns.example");
	wb_name(&t, "hostmaster.example");
	wb_u32(&t, 2026112801);
	wb_u32(&t, 3600);
	wb_u32(&t, 600);
	wb_u32(&t, 86400);
	wb_u32(&t, minimum);
	wb_rr(w, owner, DNS_T_SOA, ttl, t.b, t.n);
}

/* A syntactically valid RRSIG over type covered (contents are not checked
 * by a stub: the AD bit is the verdict). */
static inline void wb_rrsig(struct wb *w, const char *owner, uint32_t ttl, uint16_t covered)
{
	struct wb t = { .n = 0 };
	wb_u16(&t, covered);
	wb_u8(&t, 13);
	wb_u8(&t, 2);
	wb_u32(&t, ttl);
	wb_u32(&t, 1900000000u);
	wb_u32(&t, 1700000000u);
	wb_u16(&t, 4711);
	wb_name(&t, "example");
	for (int i = 0; i < 64; i++)
		wb_u8(&t, (uint8_t)i);
	wb_rr(w, owner, 46, ttl, t.b, t.n);
}

/* OPT RR in the additional section, as a validating resolver sends it. */
static inline void wb_opt(struct wb *w, bool dnssec_ok)
{
	wb_u8(w, 0);
	wb_u16(w, 41);
	wb_u16(w, 1232);
	wb_u32(w, dnssec_ok ? 0x8000u : 0);
	wb_u16(w, 0);
	w->counts[3]++;
}

static inline size_t wb_done(struct wb *w)
{
	for (int i = 0; i < 4; i++) {
		w->b[4 + 2 * i] = (uint8_t)(w->counts[i] >> 8);
		w->b[5 + 2 * i] = (uint8_t)w->counts[i];
	}
	return w->n;
}

#endif
