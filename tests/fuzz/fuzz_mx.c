/* fuzz_mx — libFuzzer target for the outbound decision layer
 * (firmware/relay/mx.c) driven by DNS answers from the input: every
 * lookup the plan asks for is answered by dns_parse_answer() over fuzzed
 * sections (as fuzz_dns_answer.c builds them) and every connect gets a
 * fuzzed result. Input: [level][hop][cfg][rnd] then a stream: per lookup
 * [u16 len][flags 2][AN NS AR 6][sections], per connect one result byte.
 * level % 6 is the policy level, hop % 6 picks the next hop (domain,
 * [host], host:587, [host]:465, [192.0.2.1], [IPv6:2001:db8::1]); cfg
 * bit 0/1 disable A / AAAA (not both), bits 2-5 max_connects. An
 * exhausted stream answers lookups with DNS_FAIL and connects with
 * CONN_FAILED. Checks, besides the sanitizers (downgrade rules first):
 * - dane-only, encrypt and verify never connect without TLS required;
 *   dane-only only with a usable TLSA set and DANE authentication; a
 *   usable TLSA set always means TLS required + DANE auth; unusable TLSA
 *   means TLS required; DANE auth has a non-empty set and a base domain;
 * - mx_plan_next is idempotent; feed and host_result accept what the
 *   plan asked for; the plan finishes within a bound of steps, with a
 *   NUL-terminated reason and status; "delivered" only after an OK;
 * - connects carry a real address, a port, and a host name. Exports
 *   nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "relay/mx.h"

#include "fuzz_check.h"

#define STEPS_MAX 4000

struct in {
	const uint8_t *d;
	size_t n;
};

static bool take(struct in *in, void *out, size_t len)
{
	if (in->n < len)
		return false;
	memcpy(out, in->d, len);
	in->d += len;
	in->n -= len;
	return true;
}

/* The answer to (name, type) from the stream, or DNS_FAIL. */
static void answer(struct in *in, const char *name, uint16_t type, struct dns_answer *a)
{
	static struct dns_query q;
	static uint8_t buf[DNS_QUERY_WIRE_MAX + 4096];
	uint8_t l[2];
	if (dns_query_build(&q, name, type, 0x4242) != 0 || !take(in, l, 2)) {
		dns_answer_fail(a, name, type, "fuzz: no answer");
		return;
	}
	size_t len = (size_t)l[0] << 8 | l[1];
	if (len > in->n)
		len = in->n;
	if (len > 4096)
		len = 4096;
	const size_t hl = 12 + q.qname_len + 4;
	memcpy(buf, q.wire, hl);
	uint8_t hdr[8] = { 0 };
	memcpy(hdr, in->d, len < 8 ? len : 8);
	buf[2] = (uint8_t)((hdr[0] & 0x87) | 0x80);
	buf[3] = hdr[1];
	buf[4] = 0;
	buf[5] = 1;
	memcpy(buf + 6, hdr + 2, 6);
	size_t body = len > 8 ? len - 8 : 0;
	memcpy(buf + hl, in->d + (len - body), body);
	in->d += len;
	in->n -= len;
	int r = dns_parse_answer(&q, buf, hl + body, a);
	if (r != 0 || a->partial)
		dns_answer_fail(a, name, type, "fuzz: unparsable");
}

static void check_connect(const struct mx_connect *c, enum policy_level level)
{
	check(c->host != NULL && strlen(c->host) < MX_NAME_SIZE);
	check(c->addr.family == PORT_AF_INET || c->addr.family == PORT_AF_INET6);
	check(c->addr.port != 0);
	check(c->tls <= MX_TLS_REQUIRED && c->auth <= MX_AUTH_WEBPKI);
	if (level == POLICY_DANE_ONLY || level == POLICY_ENCRYPT || level == POLICY_VERIFY)
		check(c->tls == MX_TLS_REQUIRED);
	if (level == POLICY_DANE_ONLY)
		check(c->dane == DANE_USABLE && c->auth == MX_AUTH_DANE);
	if (level == POLICY_VERIFY)
		check(c->auth == MX_AUTH_WEBPKI || c->auth == MX_AUTH_DANE);
	if (c->dane == DANE_USABLE)
		check(c->tls == MX_TLS_REQUIRED && c->auth == MX_AUTH_DANE);
	if (c->dane == DANE_UNUSABLE)
		check(c->tls == MX_TLS_REQUIRED);
	if (c->auth == MX_AUTH_DANE) {
		check(c->tlsa != NULL && c->tlsa->count > 0 && c->tlsa->count <= DANE_TLSA_MAX);
		check(c->tlsa_base != NULL && strlen(c->tlsa_base) < MX_NAME_SIZE);
	}
	check(c->refids.count <= DANE_REFID_MAX);
	for (unsigned i = 0; i < c->refids.count; i++)
		check(c->refids.name[i] != NULL && strlen(c->refids.name[i]) < MX_TLSA_NAME_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hops[6] = { "example.com", "[smtp.example.net]",
					     "relay.example.org:587", "[smtp.example.net]:465",
					     "[192.0.2.1]", "[IPv6:2001:db8::1]" };
	static struct mx_plan p;
	static struct dns_answer tlsa_ans, ans;
	if (size < 4)
		return 0;
	enum policy_level level = (enum policy_level)(data[0] % 6);
	struct policy_nexthop nh;
	check(policy_nexthop_parse(hops[data[1] % 6], &nh) == 0);
	struct mx_config cfg;
	mx_config_default(&cfg);
	if ((data[2] & 3) == 1)
		cfg.ipv4 = false;
	else if ((data[2] & 3) == 2)
		cfg.ipv6 = false;
	cfg.max_connects = (data[2] >> 2) & 15;
	struct in in = { data + 4, size - 4 };
	check(mx_plan_start(&p, &cfg, &nh, level, data[3] * 2654435761u) == 0);
	bool delivered_ok = false;
	for (int steps = 0;; steps++) {
		check(steps < STEPS_MAX);
		struct mx_step st, st2;
		enum mx_step_kind k = mx_plan_next(&p, &st);
		check(mx_plan_next(&p, &st2) == k && st2.kind == k);
		if (k == MX_STEP_LOOKUP) {
			check(st.u.lookup.name != NULL && st2.u.lookup.type == st.u.lookup.type);
			check(strcmp(st.u.lookup.name, st2.u.lookup.name) == 0);
			uint16_t t = st.u.lookup.type;
			check(t == DNS_T_MX || t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_TLSA);
			check(!(t == DNS_T_A && !cfg.ipv4) && !(t == DNS_T_AAAA && !cfg.ipv6));
			/* a TLSA answer must outlive the connects that use it */
			struct dns_answer *a = t == DNS_T_TLSA ? &tlsa_ans : &ans;
			answer(&in, st.u.lookup.name, t, a);
			check(mx_plan_feed(&p, a) == 0);
		} else if (k == MX_STEP_CONNECT) {
			check_connect(&st.u.connect, level);
			uint8_t rb = 1; /* CONN_FAILED once the stream is empty */
			(void)take(&in, &rb, 1);
			enum mx_result r = (enum mx_result)(rb % 6);
			if (r == MX_RESULT_OK)
				delivered_ok = true;
			check(mx_plan_host_result(&p, r, (rb & 0x80) ? "550 5.7.1 fuzz\r\nx" : NULL) ==
			      0);
		} else {
			check(k == MX_STEP_DONE);
			const struct mx_done *d = &st.u.done;
			check(d->kind <= MX_BOUNCED);
			check(d->status != NULL && d->reason != NULL);
			check(strlen(d->reason) < MX_REASON_SIZE);
			check((d->kind == MX_DELIVERED) == delivered_ok);
			if (d->kind != MX_DELIVERED)
				check(d->status[0] == (d->kind == MX_DEFERRED ? '4' : '5'));
			check(mx_plan_feed(&p, &ans) == MX_ESTATE);
			check(mx_plan_host_result(&p, MX_RESULT_OK, NULL) == MX_ESTATE);
			break;
		}
	}
	return 0;
}
