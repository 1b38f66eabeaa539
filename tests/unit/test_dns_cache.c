/* test_dns_cache — the bounded answer cache with an injected clock: TTLs
 * count down and expire, caps per kind (positive, denial, failure), names
 * match case-insensitively, and the least recently used answer goes first
 * when entries or bytes run out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns/dns.h"

static struct dns_cache cache;
static struct dns_answer a, out;

static void make(const char *name, uint16_t qtype, enum dns_status st, uint32_t ttl)
{
	dns_answer_fail(&a, name, qtype, "test");
	a.status = st;
	a.reason = st == DNS_FAIL ? "test" : "";
	a.rcode = st == DNS_FAIL ? DNS_RCODE_SERVFAIL : DNS_RCODE_NOERROR;
	a.ad = dns_status_secure(st);
	a.ttl = ttl;
	if (st == DNS_SECURE || st == DNS_INSECURE) {
		a.n_rr = 1;
		a.rr[0].type = qtype;
		a.rr[0].ttl = ttl;
		memcpy(a.rr[0].u.a, "\xc0\x00\x02\x01", 4);
	}
}

static void answers_live_for_their_ttl(void **state)
{
	(void)state;
	dns_cache_init(&cache, NULL);
	make("mx.example.net", DNS_T_A, DNS_SECURE, 300);
	assert_int_equal(dns_cache_put(&cache, &a, 1000), 0);

	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_A, 1000, &out), 0);
	assert_int_equal(out.status, DNS_SECURE);
	assert_int_equal(out.ttl, 300);
	assert_int_equal(out.n_rr, 1);
	assert_memory_equal(out.rr[0].u.a, "\xc0\x00\x02\x01", 4);
	assert_string_equal(out.qname, "mx.example.net");

	/* 100.5 s later: 200 s left (rounded up), record TTLs follow */
	assert_int_equal(dns_cache_get(&cache, "MX.Example.NET.", DNS_T_A, 101500, &out), 0);
	assert_int_equal(out.ttl, 200);
	assert_int_equal(out.rr[0].ttl, 200);
	/* other type: not there */
	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_AAAA, 101500, &out),
			 DNS_ENOENT);
	/* the last millisecond, then gone */
	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_A, 300999, &out), 0);
	assert_int_equal(out.ttl, 1);
	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_A, 301000, &out),
			 DNS_ENOENT);
	assert_int_equal(cache.stats.expired, 1);
	assert_int_equal(cache.used, 0);
}

static void ttls_are_capped_by_kind(void **state)
{
	(void)state;
	struct dns_cache_config cfg = { .max_ttl = 600, .neg_max_ttl = 60, .fail_ttl = 5 };
	dns_cache_init(&cache, &cfg);

	make("big.example", DNS_T_MX, DNS_INSECURE, 86400 * 7);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "big.example", DNS_T_MX, 0, &out), 0);
	assert_int_equal(out.ttl, 600);

	/* a denial keeps its status and lives min(SOA-derived TTL, cap) */
	make("nx.example", DNS_T_MX, DNS_SECURE_NXDOMAIN, 3600);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "nx.example", DNS_T_MX, 59000, &out), 0);
	assert_int_equal(out.status, DNS_SECURE_NXDOMAIN);
	assert_int_equal(out.ttl, 1);
	assert_int_equal(dns_cache_get(&cache, "nx.example", DNS_T_MX, 60000, &out), DNS_ENOENT);

	make("nd.example", DNS_T_TLSA, DNS_INSECURE_NODATA, 30);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "nd.example", DNS_T_TLSA, 29000, &out), 0);
	assert_int_equal(out.status, DNS_INSECURE_NODATA);
	assert_int_equal(dns_cache_get(&cache, "nd.example", DNS_T_TLSA, 30000, &out), DNS_ENOENT);

	/* a denial without SOA (TTL 0) is not kept */
	make("nosoa.example", DNS_T_TLSA, DNS_INSECURE_NODATA, 0);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "nosoa.example", DNS_T_TLSA, 0, &out), DNS_ENOENT);

	/* failures: fail_ttl seconds, whatever a->ttl says */
	make("bogus.example", DNS_T_TLSA, DNS_FAIL, 0);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "bogus.example", DNS_T_TLSA, 4999, &out), 0);
	assert_int_equal(out.status, DNS_FAIL);
	assert_string_equal(out.reason, "test");
	assert_int_equal(dns_cache_get(&cache, "bogus.example", DNS_T_TLSA, 5000, &out),
			 DNS_ENOENT);

	cfg.fail_ttl = 0;
	dns_cache_init(&cache, &cfg);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "bogus.example", DNS_T_TLSA, 0, &out), DNS_ENOENT);

	/* partial chains are never cached */
	make("p.example", DNS_T_A, DNS_SECURE, 60);
	a.partial = true;
	assert_int_equal(dns_cache_put(&cache, &a, 0), DNS_EINVAL);
}

static void a_newer_answer_replaces_the_old(void **state)
{
	(void)state;
	dns_cache_init(&cache, NULL);
	make("mx.example.net", DNS_T_TLSA, DNS_SECURE, 300);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	uint16_t used = cache.used;
	make("mx.example.net", DNS_T_TLSA, DNS_INSECURE, 100);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(cache.used, used);
	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_TLSA, 0, &out), 0);
	assert_int_equal(out.status, DNS_INSECURE);
	assert_int_equal(out.ttl, 100);
	/* and a TTL-0 answer removes it */
	make("mx.example.net", DNS_T_TLSA, DNS_INSECURE, 0);
	assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	assert_int_equal(dns_cache_get(&cache, "mx.example.net", DNS_T_TLSA, 0, &out), DNS_ENOENT);
}

static void least_recently_used_goes_when_entries_run_out(void **state)
{
	(void)state;
	dns_cache_init(&cache, NULL);
	char name[32];
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		make(name, DNS_T_A, DNS_SECURE, 3600);
		assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	}
	/* touch h0: h1 is now the least recently used */
	assert_int_equal(dns_cache_get(&cache, "h0.example", DNS_T_A, 1, &out), 0);
	make("new.example", DNS_T_A, DNS_SECURE, 3600);
	assert_int_equal(dns_cache_put(&cache, &a, 2), 0);
	assert_int_equal(cache.stats.evicted, 1);
	assert_int_equal(dns_cache_get(&cache, "h1.example", DNS_T_A, 3, &out), DNS_ENOENT);
	assert_int_equal(dns_cache_get(&cache, "h0.example", DNS_T_A, 3, &out), 0);
	assert_int_equal(dns_cache_get(&cache, "h2.example", DNS_T_A, 3, &out), 0);
	assert_int_equal(dns_cache_get(&cache, "new.example", DNS_T_A, 3, &out), 0);
	assert_string_equal(out.qname, "new.example");
}

static void expired_answers_make_room_before_live_ones(void **state)
{
	(void)state;
	dns_cache_init(&cache, NULL);
	char name[32];
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		make(name, DNS_T_A, DNS_SECURE, i == 5 ? 10 : 3600);
		assert_int_equal(dns_cache_put(&cache, &a, 0), 0);
	}
	make("new.example", DNS_T_A, DNS_SECURE, 3600);
	assert_int_equal(dns_cache_put(&cache, &a, 20000), 0);
	assert_int_equal(cache.stats.evicted, 0);
	assert_int_equal(cache.stats.expired, 1);
	assert_int_equal(dns_cache_get(&cache, "h0.example", DNS_T_A, 20000, &out), 0);
}

/* Big TLSA answers fill the bytes long before the entries run out; what is
 * left must still read back intact after the arena was compacted. */
static void bytes_are_bounded_and_survivors_stay_intact(void **state)
{
	(void)state;
	dns_cache_init(&cache, NULL);
	char name[32];
	int stored = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "_25._tcp.h%d.example", i);
		make(name, DNS_T_TLSA, DNS_SECURE, 3600);
		a.rr[0].type = DNS_T_TLSA;
		a.rr[0].u.tlsa.usage = 2;
		a.rr[0].u.tlsa.off = 0;
		a.rr[0].u.tlsa.len = 3000;
		memset(a.data, 'a' + i, 3000);
		a.data_len = 3000;
		assert_int_equal(dns_cache_put(&cache, &a, (uint64_t)i), 0);
		stored++;
		assert_true(cache.used <= DNS_CACHE_BYTES);
	}
	assert_true(cache.stats.evicted > 0);
	int live = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "_25._tcp.h%d.example", i);
		if (dns_cache_get(&cache, name, DNS_T_TLSA, 100, &out) != 0)
			continue;
		live++;
		assert_string_equal(out.qname, name);
		assert_int_equal(out.data_len, 3000);
		for (int k = 0; k < 3000; k++)
			assert_int_equal(out.data[k], 'a' + i);
	}
	/* the newest ones survive, and as many as fit */
	assert_true(live >= DNS_CACHE_BYTES / 3200 && live <= DNS_CACHE_BYTES / 3000);
	snprintf(name, sizeof(name), "_25._tcp.h%d.example", 19);
	assert_int_equal(dns_cache_get(&cache, name, DNS_T_TLSA, 100, &out), 0);
	assert_int_equal(stored, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_live_for_their_ttl),
		cmocka_unit_test(ttls_are_capped_by_kind),
		cmocka_unit_test(a_newer_answer_replaces_the_old),
		cmocka_unit_test(least_recently_used_goes_when_entries_run_out),
		cmocka_unit_test(expired_answers_make_room_before_live_ones),
		cmocka_unit_test(bytes_are_bounded_and_survivors_stay_intact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
