/* test_mx_random — the delivery plan against random DNS worlds and random
 * connection results (seeded, reproducible): whatever DNS says, the plan
 * ends within a bounded number of steps, and the safety rules hold at
 * every CONNECT: a secure TLSA RRset never leads to clear text or
 * optional TLS (rule 12), usable TLSA always means DANE authentication
 * with SNI and the first reference id = the TLSA base domain (16, 18),
 * dane-only never connects without usable TLSA via a secure MX (20), the
 * next-hop domain is never a reference id after an insecure MX (16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "relay/mx.h"
#include "relay/policy.h"
#include "test_dns_wire.h"

#define SLOTS 8
#define ROUNDS 20000
#define STEP_LIMIT 600

static struct wb w;
static struct dns_query q;
static struct dns_answer slot[SLOTS];
static unsigned next_slot;
static uint32_t seed;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

static unsigned pick(unsigned n)
{
	return rnd() % n;
}

enum kind { K_FAIL, K_SERVFAIL, K_SECURE, K_INSECURE, K_SNODATA, K_INODATA, K_SNX, K_INX, K_COUNT };

static void put_records(const char *owner, uint16_t type)
{
	char name[64];
	uint8_t data[128];
	unsigned n = 1 + pick(4);
	for (unsigned i = 0; i < n; i++) {
		switch (type) {
		case DNS_T_MX:
			if (pick(10) == 0) {
				wb_mx(&w, owner, 60, 0, ".");
			} else {
				snprintf(name, sizeof(name), "mx%u.rand.example", pick(6));
				wb_mx(&w, owner, 60, (uint16_t)(10 * pick(3)), name);
			}
			break;
		case DNS_T_A:
			wb_a(&w, owner, 60, 192, 0, 2, (uint8_t)pick(250));
			break;
		case DNS_T_AAAA: {
			uint8_t ip[16] = { 0x20, 0x01, 0x0d, 0xb8 };
			ip[15] = (uint8_t)pick(250);
			wb_rr(&w, owner, DNS_T_AAAA, 60, ip, 16);
			break;
		}
		case DNS_T_TLSA: {
			uint8_t u = (uint8_t)pick(5), s = (uint8_t)pick(3), m = (uint8_t)pick(4);
			size_t len = m == 1 ? 32 : m == 2 ? 64 : 40;
			if (pick(6) == 0)
				len = pick(70);
			for (size_t k = 0; k < sizeof(data); k++)
				data[k] = (uint8_t)rnd();
			if (m == 0 && len >= 2) {
				data[0] = 0x30;
				data[1] = (uint8_t)(len - 2);
			}
			wb_tlsa(&w, owner, 60, u, s, m, data, len);
			break;
		}
		}
	}
}

/* A random answer to (name, type). */
static const struct dns_answer *random_answer(const char *name, uint16_t type, bool *secure_tlsa)
{
	struct dns_answer *a = &slot[next_slot++ % SLOTS];
	/* half the time a secure answer with data, so that worlds get as
	 * far as TLSA and connections often enough */
	enum kind k = pick(2) ? K_SECURE : (enum kind)pick(K_COUNT);
	*secure_tlsa = false;
	if (k == K_FAIL) {
		dns_answer_fail(a, name, type, "timeout");
		return a;
	}
	bool ad = k == K_SECURE || k == K_SNODATA || k == K_SNX;
	uint8_t rcode = k == K_SERVFAIL ? DNS_RCODE_SERVFAIL
			: (k == K_SNX || k == K_INX) ? DNS_RCODE_NXDOMAIN
						     : 0;
	assert_int_equal(dns_query_build(&q, name, type, 7), 0);
	wb_start(&w, 7, (uint16_t)(WB_QR | WB_RD | WB_RA | (ad ? WB_AD : 0)), rcode, name, type);
	const char *owner = name;
	if (type != DNS_T_MX && pick(4) == 0) {
		owner = "target.cname.example";
		wb_cname(&w, name, 60, owner);
	}
	if (k == K_SECURE || k == K_INSECURE)
		put_records(owner, type);
	else if (k != K_SERVFAIL) {
		wb_section(&w, 2);
		wb_soa(&w, "example", 60, 60);
	}
	wb_opt(&w, true);
	size_t n = wb_done(&w);
	int r = dns_parse_answer(&q, w.b, n, a);
	assert_true(r == 0 || r == DNS_EMALFORMED);
	if (a->cname_count && a->status == DNS_INSECURE && pick(2))
		a->cname_secure_first = true; /* what dns_resolve() may learn */
	*secure_tlsa = type == DNS_T_TLSA && a->status == DNS_SECURE && a->n_rr > 0 && !a->partial;
	return a;
}

static void check_connect(const struct mx_connect *c, enum policy_level level, bool secure_tlsa)
{
	if (secure_tlsa && (level == POLICY_DANE || level == POLICY_DANE_ONLY))
		assert_int_equal(c->tls, MX_TLS_REQUIRED); /* rule 12 */
	if (c->dane == DANE_USABLE || c->dane == DANE_UNUSABLE)
		assert_int_equal(c->tls, MX_TLS_REQUIRED);
	if (c->dane == DANE_USABLE) {
		assert_int_equal(c->auth, MX_AUTH_DANE);
		assert_non_null(c->tlsa);
		assert_true(c->tlsa->count > 0);
		assert_non_null(c->tlsa_base);
		assert_string_equal(c->sni, c->tlsa_base);
		assert_true(c->refids.count >= 1);
		assert_string_equal(c->refids.name[0], c->tlsa_base);
		for (unsigned i = 0; i < c->tlsa->count; i++)
			assert_true(dane_tlsa_usable(&c->tlsa->rr[i], NULL));
	} else {
		assert_true(c->auth != MX_AUTH_DANE);
	}
	if (level == POLICY_DANE_ONLY) {
		assert_int_equal(c->dane, DANE_USABLE);
		assert_true(c->mx_secure);
	}
	if (!c->mx_secure && strcmp(c->host, "rand.example") != 0) /* not implicit MX */
		for (unsigned i = 0; i < c->refids.count; i++)
			assert_string_not_equal(c->refids.name[i], "rand.example");
	if (level == POLICY_NONE)
		assert_int_equal(c->tls, MX_TLS_NONE);
	if (level == POLICY_ENCRYPT || level == POLICY_VERIFY)
		assert_int_equal(c->tls, MX_TLS_REQUIRED);
	assert_int_equal(c->addr.port, 25);
}

static void random_worlds_end_and_never_downgrade(void **state)
{
	(void)state;
	static struct mx_plan p;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("rand.example", &nh), 0);
	unsigned done[3] = { 0, 0, 0 }, connects = 0, dane_connects = 0;
	for (unsigned round = 0; round < ROUNDS; round++) {
		seed = 0x9e3779b9u ^ (round * 2654435761u);
		if (!seed)
			seed = 1;
		enum policy_level level = (enum policy_level)pick(6);
		struct mx_config cfg;
		mx_config_default(&cfg);
		cfg.ipv6 = pick(2);
		cfg.max_connects = (uint8_t)pick(12);
		assert_int_equal(mx_plan_start(&p, &cfg, &nh, level, rnd()), 0);
		bool secure_tlsa = false;
		unsigned steps = 0;
		for (;;) {
			if (++steps > STEP_LIMIT)
				fail_msg("round %u: no end after %u steps", round, STEP_LIMIT);
			struct mx_step s;
			enum mx_step_kind k = mx_plan_next(&p, &s);
			if (k == MX_STEP_LOOKUP) {
				uint16_t t = s.u.lookup.type;
				if (t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_MX)
					secure_tlsa = false; /* a new host (or none yet) */
				bool st;
				const struct dns_answer *a = random_answer(s.u.lookup.name, t, &st);
				if (t == DNS_T_TLSA)
					secure_tlsa = secure_tlsa || st;
				assert_int_equal(mx_plan_feed(&p, a), 0);
			} else if (k == MX_STEP_CONNECT) {
				check_connect(&s.u.connect, level, secure_tlsa);
				connects++;
				dane_connects += s.u.connect.auth == MX_AUTH_DANE;
				assert_int_equal(mx_plan_host_result(&p, (enum mx_result)pick(6), "x"), 0);
			} else {
				assert_true(s.u.done.kind <= MX_BOUNCED);
				done[s.u.done.kind]++;
				if (s.u.done.kind == MX_DEFERRED)
					assert_int_equal(s.u.done.status[0], '4');
				if (s.u.done.kind == MX_BOUNCED)
					assert_int_equal(s.u.done.status[0], '5');
				assert_true(s.u.done.reason[0] != '\0');
				assert_true(strlen(s.u.done.reason) < MX_REASON_SIZE);
				break;
			}
		}
	}
	/* the worlds were varied enough to reach every ending */
	print_message("delivered %u, deferred %u, bounced %u; %u connects, %u under DANE\n",
		      done[MX_DELIVERED], done[MX_DEFERRED], done[MX_BOUNCED], connects, dane_connects);
	assert_true(done[MX_DELIVERED] > 0);
	assert_true(done[MX_DEFERRED] > 0);
	assert_true(done[MX_BOUNCED] > 0);
	assert_true(dane_connects > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_worlds_end_and_never_downgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
