/* test_dns_unbound — the resolver against real servers on 127.0.0.1: a
 * validating Unbound (private trust anchor) and a non-validating one in
 * front of NSD with a freshly signed zone (tests/unit/data/dns/world.sh).
 * Checks every status the relay relies on, TC -> TCP with a big TLSA
 * RRset, CNAME chains into insecure space, bogus -> failure, and the
 * probe. Without unbound/nsd/ldnsutils installed those cases are skipped;
 * the probe against a port where nothing listens always runs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "port.h"

#define WORLD "tests/unit/data/dns/world.sh"

static struct {
	bool up;
	char dir[64];
	uint16_t nsd, ub, ub_noval;
	uint8_t digest[32];	/* the 3 1 1 TLSA data world.sh made up */
} world;

static struct dns_resolver res;
static struct dns_answer got;
static int calls;
static enum dns_validation probed;

static void done(void *ctx, const struct dns_answer *a)
{
	(void)ctx;
	got = *a;
	calls++;
}

static void probe_done(void *ctx, enum dns_validation v)
{
	(void)ctx;
	probed = v;
	calls++;
}

/* A loopback port free for both UDP and TCP right now. */
static uint16_t free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		socklen_t l = sizeof(a);
		if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(u, (struct sockaddr *)&a, &l) != 0) {
			close(u);
			continue;
		}
		int t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok = t >= 0 && bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(t);
		close(u);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

static bool have_tools(void)
{
	return access(WORLD, R_OK) == 0 &&
	       system("{ command -v unbound && command -v nsd && command -v ldns-keygen && "
		      "command -v ldns-signzone && command -v ldns-key2ds; } >/dev/null 2>&1") == 0;
}

static int world_up(void **state)
{
	(void)state;
	if (!have_tools()) {
		printf("test_dns_unbound: unbound, nsd or ldnsutils missing: real-server cases skipped\n");
		return 0;
	}
	snprintf(world.dir, sizeof(world.dir), "/tmp/dg-dns-world-XXXXXX");
	if (!mkdtemp(world.dir))
		return 0;
	world.nsd = free_port();
	do
		world.ub = free_port();
	while (world.ub == world.nsd);
	do
		world.ub_noval = free_port();
	while (world.ub_noval == world.nsd || world.ub_noval == world.ub);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "bash " WORLD " start %s %u %u %u 2>%s/world.err", world.dir,
		 world.nsd, world.ub, world.ub_noval, world.dir);
	FILE *p = popen(cmd, "r");
	char hex[80] = "";
	if (p) {
		if (!fgets(hex, sizeof(hex), p))
			hex[0] = '\0';
		if (pclose(p) != 0)
			hex[0] = '\0';
	}
	if (strlen(hex) < 64) {
		printf("test_dns_unbound: world did not start (see %s/world.err)\n", world.dir);
		return 0;
	}
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		world.digest[i] = (uint8_t)v;
	}
	world.up = true;
	return 0;
}

static int world_down(void **state)
{
	(void)state;
	if (world.dir[0]) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "bash " WORLD " stop %s; rm -rf %s", world.dir, world.dir);
		if (system(cmd) != 0)
			printf("test_dns_unbound: cleaning %s failed\n", world.dir);
	}
	return 0;
}

static void resolver_at(uint16_t port)
{
	struct dns_resolver_config cfg;
	dns_resolver_config_default(&cfg);
	assert_int_equal(port_addr_parse("127.0.0.1", &cfg.servers[0]), 0);
	cfg.servers[0].port = port;
	cfg.timeout_ms = 1500;
	snprintf(cfg.probe_name, sizeof(cfg.probe_name), "dnsunit.test");
	assert_int_equal(dns_resolver_init(&res, &cfg), 0);
	calls = 0;
}

static void run_until(int want)
{
	uint64_t end = port_now_ms() + 8000;
	while (calls < want && port_now_ms() < end) {
		port_poll(dns_resolver_next_ms(&res, port_now_ms()) < 20 ? 0 : 20);
		dns_resolver_tick(&res, port_now_ms());
	}
	assert_int_equal(calls, want);
}

static const struct dns_answer *lookup(const char *name, uint16_t qtype)
{
	int want = calls + 1;
	assert_true(dns_resolve(&res, name, qtype, done, NULL) >= 0);
	run_until(want);
	return &got;
}

#define NEED_WORLD()                                   \
	do {                                           \
		if (!world.up)                         \
			skip();                        \
	} while (0)

/* ---- tests ---------------------------------------------------------------------- */

static void probe_reports_unreachable_when_nothing_listens(void **state)
{
	(void)state;
	resolver_at(free_port());
	res.cfg.timeout_ms = 200;
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	run_until(1);
	assert_int_equal(probed, DNS_UNREACHABLE);
	assert_int_equal(res.validation, DNS_UNREACHABLE);
}

static void probe_tells_the_two_unbounds_apart(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	run_until(1);
	assert_int_equal(probed, DNS_VALIDATING);

	resolver_at(world.ub_noval);
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	run_until(1);
	assert_int_equal(probed, DNS_NOT_VALIDATING);
}

static void signed_records_are_secure(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	const struct dns_answer *a = lookup("dnsunit.test", DNS_T_MX);
	assert_int_equal(a->status, DNS_SECURE);
	assert_int_equal(a->n_rr, 1);
	assert_int_equal(a->rr[0].u.mx.pref, 10);
	assert_string_equal(dns_answer_text(a, a->rr[0].u.mx.name), "mx1.dnsunit.test");

	a = lookup("mx1.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_SECURE);
	assert_memory_equal(a->rr[0].u.a, "\xc0\x00\x02\x01", 4);
	assert_true(a->ttl > 0 && a->ttl <= 300);

	a = lookup("mx1.dnsunit.test", DNS_T_AAAA);
	assert_int_equal(a->status, DNS_SECURE);
	assert_int_equal(a->rr[0].u.aaaa[0], 0x20);

	a = lookup("_25._tcp.mx1.dnsunit.test", DNS_T_TLSA);
	assert_int_equal(a->status, DNS_SECURE);
	assert_int_equal(a->n_rr, 1);
	assert_int_equal(a->rr[0].u.tlsa.usage, 3);
	assert_int_equal(a->rr[0].u.tlsa.selector, 1);
	assert_int_equal(a->rr[0].u.tlsa.mtype, 1);
	assert_int_equal(a->rr[0].u.tlsa.len, 32);
	assert_memory_equal(a->data + a->rr[0].u.tlsa.off, world.digest, 32);
}

/* Scenario 30: a TLSA RRset too big for 1232 bytes comes over TCP. */
static void big_tlsa_rrset_comes_over_tcp(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	const struct dns_answer *a = lookup("_25._tcp.big.dnsunit.test", DNS_T_TLSA);
	assert_int_equal(res.stats.tcp, 1);
	assert_int_equal(a->status, DNS_SECURE);
	assert_int_equal(a->n_rr, 2);
	assert_int_equal(a->rr[0].u.tlsa.usage, 2);
	assert_int_equal(a->rr[0].u.tlsa.len, 1000);
	assert_int_equal(a->rr[1].u.tlsa.len, 1000);
}

static void denials_secure_and_insecure(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	const struct dns_answer *a = lookup("nope.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_SECURE_NXDOMAIN);
	assert_true(a->ttl > 0 && a->ttl <= 60);	/* SOA MINIMUM 60 */

	a = lookup("_25._tcp.nope.mx1.dnsunit.test", DNS_T_TLSA);
	assert_int_equal(a->status, DNS_SECURE_NXDOMAIN);

	a = lookup("mx1.dnsunit.test", DNS_T_MX);	/* scenario 8's shape */
	assert_int_equal(a->status, DNS_SECURE_NODATA);

	a = lookup("nothing.insec.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE_NXDOMAIN);

	a = lookup("out.insec.dnsunit.test", DNS_T_TLSA);
	assert_int_equal(a->status, DNS_INSECURE_NODATA);

	a = lookup("out.insec.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE);
}

/* Scenarios 9/10: bogus is a lookup failure, never an answer. */
static void bogus_is_a_failure(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	const struct dns_answer *a = lookup("bogus.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_FAIL);
	assert_int_equal(a->rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(a->n_rr, 0);
}

/* Scenarios 14-16: secure chain; secure first CNAME into insecure space. */
static void cname_chains_carry_their_security(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub);
	const struct dns_answer *a = lookup("www.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_SECURE);
	assert_int_equal(a->cname_count, 1);
	assert_true(a->cname_secure_first);
	assert_string_equal(a->qname, "www.dnsunit.test");
	assert_string_equal(a->final_name, "mx1.dnsunit.test");

	a = lookup("cn2.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE);
	assert_int_equal(a->cname_count, 1);
	assert_true(a->cname_secure_first);
	assert_string_equal(a->final_name, "out.insec.dnsunit.test");
	assert_memory_equal(a->rr[0].u.a, "\xc0\x00\x02\x09", 4);
}

/* Scenario 29: a resolver that does not validate never yields "secure". */
static void non_validating_resolver_gives_only_insecure(void **state)
{
	(void)state;
	NEED_WORLD();
	resolver_at(world.ub_noval);
	const struct dns_answer *a = lookup("_25._tcp.mx1.dnsunit.test", DNS_T_TLSA);
	assert_int_equal(a->status, DNS_INSECURE);
	a = lookup("www.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE);
	assert_false(a->cname_secure_first);
	a = lookup("nope.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE_NXDOMAIN);
	/* and it happily returns what the validator called bogus */
	a = lookup("bogus.dnsunit.test", DNS_T_A);
	assert_int_equal(a->status, DNS_INSECURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probe_reports_unreachable_when_nothing_listens),
		cmocka_unit_test(probe_tells_the_two_unbounds_apart),
		cmocka_unit_test(signed_records_are_secure),
		cmocka_unit_test(big_tlsa_rrset_comes_over_tcp),
		cmocka_unit_test(denials_secure_and_insecure),
		cmocka_unit_test(bogus_is_a_failure),
		cmocka_unit_test(cname_chains_carry_their_security),
		cmocka_unit_test(non_validating_resolver_gives_only_insecure),
	};
	return cmocka_run_group_tests(tests, world_up, world_down);
}
