/* test_mx — the outbound delivery plan at the DECISION level: the 30
 * scenarios of DANE-RULES.md as far as DNS answers and connection results
 * decide them, plus policy interplay (rule 20), IP literals (21), deferral
 * reasons (23), bounds and API misuse. Every DNS answer is a wire message
 * built here and classified by the real dns_parse_answer(). Certificate
 * matching itself (scenarios 1-3, 17-23 at the X.509 level) is
 * test_dane*.c; here the driver reports its verdict through
 * mx_plan_host_result(). */
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

/* ---- building real answers ------------------------------------------------ */

#define AD true
#define NO_AD false
#define SLOTS 8

static struct wb w;
static struct dns_query q;
static struct dns_answer slot[SLOTS];
static unsigned next_slot;

static void begin(const char *qname, uint16_t qtype, bool ad, uint8_t rcode)
{
	assert_int_equal(dns_query_build(&q, qname, qtype, 0x4242), 0);
	wb_start(&w, 0x4242, (uint16_t)(WB_QR | WB_RD | WB_RA | (ad ? WB_AD : 0)), rcode, qname, qtype);
}

/* Parses the message under construction into the next answer slot (kept
 * alive for SLOTS answers: a TLSA answer must outlive its CONNECT). */
static struct dns_answer *end(void)
{
	struct dns_answer *a = &slot[next_slot++ % SLOTS];
	wb_opt(&w, true);
	size_t n = wb_done(&w);
	assert_int_equal(dns_parse_answer(&q, w.b, n, a), 0);
	return a;
}

static void soa(const char *zone)
{
	wb_section(&w, 2);
	wb_soa(&w, zone, 300, 300);
}

/* "10 mx1.example, 20 mx2.example" */
static const struct dns_answer *mx_ans(const char *dom, bool ad, const char *list)
{
	begin(dom, DNS_T_MX, ad, 0);
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
		uint16_t pref = (uint16_t)atoi(tok);
		char *name = strtok(NULL, ", ");
		assert_non_null(name);
		wb_mx(&w, dom, 300, pref, name);
	}
	return end();
}

static const struct dns_answer *denial(const char *name, uint16_t type, bool ad, bool nxdomain)
{
	begin(name, type, ad, nxdomain ? DNS_RCODE_NXDOMAIN : 0);
	soa("example");
	return end();
}

static const struct dns_answer *fail_ans(const char *name, uint16_t type, const char *why)
{
	struct dns_answer *a = &slot[next_slot++ % SLOTS];
	dns_answer_fail(a, name, type, why);
	return a;
}

/* SERVFAIL from the validating resolver: what a bogus answer looks like. */
static const struct dns_answer *servfail(const char *name, uint16_t type)
{
	begin(name, type, NO_AD, DNS_RCODE_SERVFAIL);
	return end();
}

static void put_addrs(const char *owner, uint16_t type, const char *ips)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", ips);
	for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
		struct port_addr a;
		assert_int_equal(port_addr_parse(tok, &a), 0);
		wb_rr(&w, owner, type, 300, a.ip, type == DNS_T_A ? 4 : 16);
	}
}

/* "192.0.2.1 192.0.2.2" at name; empty list = NODATA */
static const struct dns_answer *addr_ans(const char *name, uint16_t type, bool ad, const char *ips)
{
	begin(name, type, ad, 0);
	put_addrs(name, type, ips);
	if (!ips[0])
		soa("example");
	return end();
}

/* name CNAME target, addresses at target */
static struct dns_answer *addr_cname(const char *name, uint16_t type, bool ad, const char *target,
				     const char *ips)
{
	begin(name, type, ad, 0);
	wb_cname(&w, name, 300, target);
	put_addrs(target, type, ips);
	if (!ips[0])
		soa("example");
	return end();
}

static uint16_t data_len_for(uint8_t mtype)
{
	return mtype == 1 ? 32 : mtype == 2 ? 64 : 120;
}

static void put_tlsa(const char *owner, const char *list)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		unsigned u, s, m;
		assert_int_equal(sscanf(tok, " %u %u %u", &u, &s, &m), 3);
		uint8_t data[128];
		for (unsigned i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i * 7 + u + s + m);
		if (m == 0) { /* a full certificate or key: one DER SEQUENCE */
			data[0] = 0x30;
			data[1] = (uint8_t)(data_len_for(0) - 2);
		}
		if (u == 9) { /* "9 0 0": test code for a full record that is not DER */
			u = 2;
			data[0] = 0x04;
		}
		wb_tlsa(&w, owner, 300, (uint8_t)u, (uint8_t)s, (uint8_t)m, data, data_len_for((uint8_t)m));
	}
}

/* "3 1 1, 2 0 1" at name */
static const struct dns_answer *tlsa_ans(const char *name, bool ad, const char *list)
{
	begin(name, DNS_T_TLSA, ad, 0);
	put_tlsa(name, list);
	return end();
}

/* ---- stepping the plan ------------------------------------------------------ */

static struct mx_plan plan;
static struct mx_config cfg4;	/* IPv4 only: one address lookup per host */

static int setup(void **state)
{
	(void)state;
	mx_config_default(&cfg4);
	cfg4.ipv6 = false;
	next_slot = 0;
	return 0;
}

static void start(const char *dest, enum policy_level level)
{
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse(dest, &nh), 0);
	assert_int_equal(mx_plan_start(&plan, &cfg4, &nh, level, 1), 0);
}

static void want_lookup(const char *name, uint16_t type)
{
	struct mx_step s;
	if (mx_plan_next(&plan, &s) != MX_STEP_LOOKUP)
		fail_msg("wanted lookup %s/%u, got step %d (%s)", name, type, s.kind,
			 s.kind == MX_STEP_DONE ? s.u.done.reason : "connect");
	assert_string_equal(s.u.lookup.name, name);
	assert_int_equal(s.u.lookup.type, type);
}

static void feed(const struct dns_answer *a)
{
	assert_int_equal(mx_plan_feed(&plan, a), 0);
}

/* lookup expected, then answered */
static void ask(const char *name, uint16_t type, const struct dns_answer *a)
{
	want_lookup(name, type);
	feed(a);
}

static struct mx_connect want_connect(const char *host, const char *ip)
{
	struct mx_step s;
	if (mx_plan_next(&plan, &s) != MX_STEP_CONNECT)
		fail_msg("wanted connect to %s, got step %d (%s %s)", host, s.kind,
			 s.kind == MX_STEP_LOOKUP ? s.u.lookup.name : s.u.done.status,
			 s.kind == MX_STEP_DONE ? s.u.done.reason : "");
	assert_string_equal(s.u.connect.host, host);
	char t[PORT_ADDR_TEXT_MAX];
	assert_string_equal(port_addr_format(&s.u.connect.addr, false, t, sizeof(t)), ip);
	return s.u.connect;
}

static void result(enum mx_result r, const char *why)
{
	assert_int_equal(mx_plan_host_result(&plan, r, why), 0);
}

static struct mx_done want_done(enum mx_done_kind kind, const char *status, const char *text)
{
	struct mx_step s;
	if (mx_plan_next(&plan, &s) != MX_STEP_DONE)
		fail_msg("wanted done, got step %d (%s)", s.kind,
			 s.kind == MX_STEP_LOOKUP ? s.u.lookup.name : s.u.connect.host);
	if (s.u.done.kind != kind || strcmp(s.u.done.status, status) != 0 ||
	    (text && !strstr(s.u.done.reason, text)))
		fail_msg("done %s %s \"%s\"; wanted %s %s \"%s\"", mx_done_name(s.u.done.kind),
			 s.u.done.status, s.u.done.reason, mx_done_name(kind), status, text ? text : "");
	return s.u.done;
}

static bool has_refid(const struct mx_connect *c, const char *name)
{
	for (unsigned i = 0; i < c->refids.count; i++)
		if (strcmp(c->refids.name[i], name) == 0)
			return true;
	return false;
}

/* The common secure prefix: example.com MX 10 mx.example.com, A secure. */
static void secure_mx_and_address(void)
{
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	ask("mx.example.com", DNS_T_A, addr_ans("mx.example.com", DNS_T_A, AD, "192.0.2.10"));
}

/* ---- scenarios 1-8: the four TLSA outcomes ---------------------------------- */

static void s01_02_secure_usable_tlsa_demands_dane_and_is_verified(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.addr.port, 25);
	assert_int_equal(c.tls, MX_TLS_REQUIRED);
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_int_equal(c.dane, DANE_USABLE);
	assert_non_null(c.tlsa);
	assert_int_equal(c.tlsa->count, 1);
	assert_int_equal(c.tlsa->rr[0].usage, 3);
	assert_string_equal(c.tlsa_base, "mx.example.com");
	assert_string_equal(c.sni, "mx.example.com"); /* rule 18 */
	assert_true(c.mx_secure);
	/* scenario 2: DANE-EE has no name or date checks; the plan asks for
	 * nothing beyond the TLSA match, and a match is Verified */
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);
	result(MX_RESULT_OK, NULL);
	want_done(MX_DELIVERED, "", "mx.example.com");
}

static void s03_digest_mismatch_skips_the_host_and_defers_475(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	want_connect("mx.example.com", "192.0.2.10");
	result(MX_RESULT_NOT_VERIFIED, "no TLSA record matched");
	want_done(MX_DEFERRED, "4.7.5", "Server certificate not verified");
}

static void two_dane_mx(void)
{
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD, "10 mx1.example.com, 20 mx2.example.com"));
	ask("mx1.example.com", DNS_T_A, addr_ans("mx1.example.com", DNS_T_A, AD, "192.0.2.1"));
	ask("_25._tcp.mx1.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx1.example.com", AD, "3 1 1"));
}

static void s04_no_starttls_with_usable_tlsa_next_mx_then_defer_474(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	two_dane_mx();
	want_connect("mx1.example.com", "192.0.2.1");
	result(MX_RESULT_NO_STARTTLS, NULL);
	/* next MX, never clear text to mx1 */
	ask("mx2.example.com", DNS_T_A, addr_ans("mx2.example.com", DNS_T_A, AD, "192.0.2.2"));
	ask("_25._tcp.mx2.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx2.example.com", AD, "3 1 1"));
	want_connect("mx2.example.com", "192.0.2.2");
	result(MX_RESULT_CONN_FAILED, "Connection refused");
	/* the downgrade is the reason a postmaster needs, not the refusal */
	want_done(MX_DEFERRED, "4.7.4",
		  "TLS is required, but was not offered by host mx1.example.com[192.0.2.1]:25");
}

static void s05_handshake_failure_under_dane_has_no_clear_retry(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	want_connect("mx.example.com", "192.0.2.10");
	result(MX_RESULT_HANDSHAKE_FAILED, "alert 40");
	want_done(MX_DEFERRED, "4.7.5", "handshake failed: alert 40");
}

static void s06_all_unusable_means_tls_without_authentication(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx.example.com", AD, "1 1 1, 0 0 1"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.dane, DANE_UNUSABLE);
	assert_int_equal(c.tls, MX_TLS_REQUIRED);
	assert_int_equal(c.auth, MX_AUTH_NONE);
	assert_null(c.tlsa);
	assert_string_equal(c.sni, "mx.example.com");
	assert_int_equal(mx_plan_classify(&c, true, true, false), DANE_CLASS_UNTRUSTED);
	result(MX_RESULT_OK, NULL);
	want_done(MX_DELIVERED, "", NULL);
}

static void s07_all_unusable_without_starttls_defers_never_clear(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx.example.com", AD, "1 1 1, 0 0 1"));
	want_connect("mx.example.com", "192.0.2.10");
	result(MX_RESULT_NO_STARTTLS, NULL);
	want_done(MX_DEFERRED, "4.7.4", "TLS is required, but was not offered");
	/* and the plan is finished: no further connect can be reported */
	assert_int_equal(mx_plan_host_result(&plan, MX_RESULT_OK, NULL), MX_ESTATE);
}

static void s08_secure_tlsa_denial_is_opportunistic_with_clear_retry(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    denial("_25._tcp.mx.example.com", DNS_T_TLSA, AD, true));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.dane, DANE_NONE);
	assert_int_equal(c.tls, MX_TLS_MAY);
	assert_int_equal(c.auth, MX_AUTH_NONE);
	assert_null(c.sni);
	assert_null(c.tlsa_base);
	/* rule 11: after a failed opportunistic handshake, once in clear */
	result(MX_RESULT_HANDSHAKE_FAILED, NULL);
	c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.tls, MX_TLS_NONE);
	assert_int_equal(mx_plan_classify(&c, false, false, false), DANE_CLASS_CLEAR);
	result(MX_RESULT_OK, NULL);
	want_done(MX_DELIVERED, "", NULL);
}

/* ---- scenarios 9-13: failures, insecure MX, insecure addresses ------------- */

static void s09_tlsa_servfail_skips_host_then_defers(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD, "10 mx1.example.com, 20 mx2.example.com"));
	ask("mx1.example.com", DNS_T_A, addr_ans("mx1.example.com", DNS_T_A, AD, "192.0.2.1"));
	/* bogus: the validating resolver answers SERVFAIL */
	ask("_25._tcp.mx1.example.com", DNS_T_TLSA, servfail("_25._tcp.mx1.example.com", DNS_T_TLSA));
	/* mx1 is never connected to: the next lookup is mx2's */
	ask("mx2.example.com", DNS_T_A, addr_ans("mx2.example.com", DNS_T_A, AD, "192.0.2.2"));
	ask("_25._tcp.mx2.example.com", DNS_T_TLSA,
	    fail_ans("_25._tcp.mx2.example.com", DNS_T_TLSA, "timeout"));
	want_done(MX_DEFERRED, "4.7.5", "TLSA lookup error for mx1.example.com:25");
}

static void s10_bogus_mx_defers_the_destination(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, servfail("example.com", DNS_T_MX));
	want_done(MX_DEFERRED, "4.4.3", "MX lookup failed for example.com");
	/* a timeout, too */
	start("example.com", POLICY_MAY);
	ask("example.com", DNS_T_MX, fail_ans("example.com", DNS_T_MX, "timeout"));
	want_done(MX_DEFERRED, "4.4.3", "timeout");
}

static void insecure_mx_secure_host(enum policy_level level)
{
	start("example.com", level);
	ask("example.com", DNS_T_MX, mx_ans("example.com", NO_AD, "10 mx.hoster.example"));
}

static void s11_insecure_mx_with_matching_tlsa_is_trusted(void **state)
{
	(void)state;
	insecure_mx_secure_host(POLICY_DANE);
	ask("mx.hoster.example", DNS_T_A, addr_ans("mx.hoster.example", DNS_T_A, AD, "192.0.2.20"));
	ask("_25._tcp.mx.hoster.example", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx.hoster.example", AD, "2 0 1"));
	struct mx_connect c = want_connect("mx.hoster.example", "192.0.2.20");
	/* a secure TLSA RRset still commits the host (rule 12) */
	assert_int_equal(c.tls, MX_TLS_REQUIRED);
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_false(c.mx_secure);
	/* rule 16: only the MX host name, not the (forgeable) next-hop domain */
	assert_int_equal(c.refids.count, 1);
	assert_string_equal(c.refids.name[0], "mx.hoster.example");
	assert_false(has_refid(&c, "example.com"));
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_TRUSTED);
}

static void s12_insecure_mx_under_dane_only_defers_at_once(void **state)
{
	(void)state;
	insecure_mx_secure_host(POLICY_DANE_ONLY);
	want_done(MX_DEFERRED, "4.7.5", "MX lookup for example.com is not DNSSEC-validated");
	/* no address or TLSA lookups were asked for */
	assert_int_equal(mx_plan_feed(&plan, addr_ans("mx.hoster.example", DNS_T_A, AD, "192.0.2.20")),
			 MX_ESTATE);
}

static void s13_insecure_address_means_no_tlsa_query(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.unsigned.example"));
	ask("mx.unsigned.example", DNS_T_A,
	    addr_ans("mx.unsigned.example", DNS_T_A, NO_AD, "192.0.2.30"));
	/* straight to connecting: no TLSA lookup in between */
	struct mx_connect c = want_connect("mx.unsigned.example", "192.0.2.30");
	assert_int_equal(c.tls, MX_TLS_MAY);
	assert_int_equal(c.dane, DANE_NONE);
	assert_null(c.sni);
	assert_int_equal(mx_plan_classify(&c, true, true, false), DANE_CLASS_UNTRUSTED);
}

/* ---- scenarios 14-16: CNAMEs and the TLSA base domain (rule 8) ---------------- */

static void s14_secure_cname_tlsa_at_target_is_the_base(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	ask("mx.example.com", DNS_T_A,
	    addr_cname("mx.example.com", DNS_T_A, AD, "smtp.hoster.example", "192.0.2.40"));
	/* the fully expanded name first */
	ask("_25._tcp.smtp.hoster.example", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.smtp.hoster.example", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.40");
	assert_string_equal(c.tlsa_base, "smtp.hoster.example");
	assert_string_equal(c.sni, "smtp.hoster.example");
	assert_string_equal(c.refids.name[0], "smtp.hoster.example");
	assert_true(has_refid(&c, "example.com"));
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);
}

static void s15_secure_cname_no_tlsa_at_target_falls_back_to_original(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	ask("mx.example.com", DNS_T_A,
	    addr_cname("mx.example.com", DNS_T_A, AD, "smtp.hoster.example", "192.0.2.40"));
	ask("_25._tcp.smtp.hoster.example", DNS_T_TLSA,
	    denial("_25._tcp.smtp.hoster.example", DNS_T_TLSA, AD, true));
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.40");
	assert_string_equal(c.tlsa_base, "mx.example.com");
	assert_string_equal(c.sni, "mx.example.com");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);
}

static void s16_secure_first_cname_insecure_target_only_original_name(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	struct dns_answer *a =
		addr_cname("mx.example.com", DNS_T_A, NO_AD, "smtp.unsigned.example", "192.0.2.50");
	assert_int_equal(a->status, DNS_INSECURE);
	/* what dns_resolve() learns by asking "mx.example.com CNAME?" */
	a->cname_secure_first = true;
	ask("mx.example.com", DNS_T_A, a);
	/* only the original name: never _25._tcp.smtp.unsigned.example */
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    denial("_25._tcp.mx.example.com", DNS_T_TLSA, AD, false));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.50");
	assert_int_equal(c.dane, DANE_NONE);
	assert_int_equal(c.tls, MX_TLS_MAY);

	/* the same with TLSA at the original name: DANE, base = original */
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	a = addr_cname("mx.example.com", DNS_T_A, NO_AD, "smtp.unsigned.example", "192.0.2.50");
	a->cname_secure_first = true;
	ask("mx.example.com", DNS_T_A, a);
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	c = want_connect("mx.example.com", "192.0.2.50");
	assert_string_equal(c.tlsa_base, "mx.example.com");

	/* first CNAME insecure: no DANE at all, no TLSA lookup */
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	ask("mx.example.com", DNS_T_A,
	    addr_cname("mx.example.com", DNS_T_A, NO_AD, "smtp.hoster.example", "192.0.2.50"));
	c = want_connect("mx.example.com", "192.0.2.50");
	assert_int_equal(c.dane, DANE_NONE);
	assert_int_equal(c.tls, MX_TLS_MAY);
}

/* ---- scenarios 17-23: what the plan hands DANE-TA / agility ---------------- */

static void s17_21_dane_ta_reference_ids_with_secure_mx(void **state)
{
	(void)state;
	/* the next-hop domain goes through a secure CNAME to its MX RRset */
	start("example.com", POLICY_DANE);
	begin("example.com", DNS_T_MX, AD, 0);
	wb_cname(&w, "example.com", 300, "mail.example.net");
	wb_mx(&w, "mail.example.net", 300, 10, "mx.example.net");
	ask("example.com", DNS_T_MX, end());
	ask("mx.example.net", DNS_T_A, addr_ans("mx.example.net", DNS_T_A, AD, "192.0.2.60"));
	ask("_25._tcp.mx.example.net", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.net", AD, "2 0 1"));
	struct mx_connect c = want_connect("mx.example.net", "192.0.2.60");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_int_equal(c.tlsa->rr[0].usage, DANE_USAGE_DANE_TA);
	/* rule 16: base domain, next-hop domain and its CNAME expansion
	 * (scenario 21: a leaf naming the recipient domain passes) */
	assert_int_equal(c.refids.count, 3);
	assert_string_equal(c.refids.name[0], "mx.example.net");
	assert_string_equal(c.refids.name[1], "example.com");
	assert_string_equal(c.refids.name[2], "mail.example.net");
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);
}

static void s18_20_22_dane_ta_failures_defer(void **state)
{
	(void)state;
	/* 18 root not sent, 20 leaf names another domain, 22 "2 x x" matching
	 * the leaf: dane_verify_session() fails, the plan defers 4.7.5 */
	const char *why[] = { "TLSA 2 0 1: chain does not verify",
			      "leaf names none of mx.example.com, example.com",
			      "TLSA 2 0 1 matched the leaf itself: not a trust anchor" };
	for (unsigned i = 0; i < 3; i++) {
		start("example.com", POLICY_DANE);
		secure_mx_and_address();
		ask("_25._tcp.mx.example.com", DNS_T_TLSA,
		    tlsa_ans("_25._tcp.mx.example.com", AD, "2 0 1"));
		want_connect("mx.example.com", "192.0.2.10");
		result(MX_RESULT_NOT_VERIFIED, why[i]);
		want_done(MX_DEFERRED, "4.7.5", why[i]);
	}
}

static void s19_full_anchor_in_dns_is_handed_over(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	const struct dns_answer *t = tlsa_ans("_25._tcp.mx.example.com", AD, "2 0 0");
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, t);
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.tlsa->count, 1);
	assert_int_equal(c.tlsa->rr[0].mtype, DANE_MT_FULL);
	assert_int_equal(c.tlsa->rr[0].len, 120);
	/* the data is the answer's, not a copy (the caller keeps it) */
	assert_ptr_equal(c.tlsa->rr[0].data, t->data + t->rr[0].u.tlsa.off);
	/* a "2 0 0" whose data is not a DER certificate is unusable */
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "9 0 0"));
	c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.dane, DANE_UNUSABLE);
	assert_int_equal(c.tls, MX_TLS_REQUIRED);
	assert_null(c.tlsa);
}

static void s23_strongest_digest_wins(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1, 3 1 2"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	/* only 3 1 2 is left to match: a 3 1 1 match alone is rejected */
	assert_int_equal(c.tlsa->count, 1);
	assert_int_equal(c.tlsa->rr[0].mtype, DANE_MT_SHA512);
	/* with SHA-256 preferred by configuration, the other way round */
	static const struct dane_digest_order sha256_first = { 2, { 1, 2 } };
	struct mx_config cfg = cfg4;
	cfg.digests = &sha256_first;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, &cfg, &nh, POLICY_DANE, 1), 0);
	secure_mx_and_address();
	ask("_25._tcp.mx.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1, 3 1 2"));
	c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.tlsa->count, 1);
	assert_int_equal(c.tlsa->rr[0].mtype, DANE_MT_SHA256);
}

/* ---- scenarios 24-26: null MX, implicit MX, smarthost --------------------- */

static void s24_null_mx_bounces_5110_without_address_fallback(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "0 ."));
	want_done(MX_BOUNCED, "5.1.10", "example.com does not accept mail (null MX)");
	/* insecure too, and under any level */
	start("example.com", POLICY_MAY);
	ask("example.com", DNS_T_MX, mx_ans("example.com", NO_AD, "0 ."));
	want_done(MX_BOUNCED, "5.1.10", NULL);
	assert_int_equal(mx_plan_feed(&plan, addr_ans("example.com", DNS_T_A, AD, "192.0.2.1")),
			 MX_ESTATE);
}

static void s25_no_mx_is_implicit_mx_with_dane(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, denial("example.com", DNS_T_MX, AD, false));
	ask("example.com", DNS_T_A, addr_ans("example.com", DNS_T_A, AD, "192.0.2.70"));
	ask("_25._tcp.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("example.com", "192.0.2.70");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_true(c.mx_secure);
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);
}

static void s25_nxdomain_bounces_512_and_no_address_bounces_544(void **state)
{
	(void)state;
	start("nope.example", POLICY_DANE);
	ask("nope.example", DNS_T_MX, denial("nope.example", DNS_T_MX, AD, true));
	want_done(MX_BOUNCED, "5.1.2", "domain nope.example not found");
	/* insecure NXDOMAIN is an answer too (rule 1) */
	start("nope.example", POLICY_DANE);
	ask("nope.example", DNS_T_MX, denial("nope.example", DNS_T_MX, NO_AD, true));
	want_done(MX_BOUNCED, "5.1.2", NULL);
	/* no MX, no address of either family */
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("bare.example", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, NULL, &nh, POLICY_DANE, 1), 0);
	ask("bare.example", DNS_T_MX, denial("bare.example", DNS_T_MX, AD, false));
	ask("bare.example", DNS_T_AAAA, addr_ans("bare.example", DNS_T_AAAA, AD, ""));
	ask("bare.example", DNS_T_A, denial("bare.example", DNS_T_A, NO_AD, true));
	want_done(MX_BOUNCED, "5.4.4", "bare.example has no MX and no address records");
	/* with IPv6 switched off, an AAAA might exist: defer, not bounce */
	start("bare.example", POLICY_DANE);
	ask("bare.example", DNS_T_MX, denial("bare.example", DNS_T_MX, AD, false));
	ask("bare.example", DNS_T_A, addr_ans("bare.example", DNS_T_A, AD, ""));
	want_done(MX_DEFERRED, "4.4.4", "no address for bare.example");
}

static void s26_smarthost_587_dane_on_its_port(void **state)
{
	(void)state;
	start("[smart.example]:587", POLICY_DANE);
	/* bracketed: no MX lookup */
	ask("smart.example", DNS_T_A, addr_ans("smart.example", DNS_T_A, AD, "192.0.2.80"));
	ask("_587._tcp.smart.example", DNS_T_TLSA, tlsa_ans("_587._tcp.smart.example", AD, "3 1 1"));
	struct mx_connect c = want_connect("smart.example", "192.0.2.80");
	assert_int_equal(c.addr.port, 587);
	assert_false(c.implicit_tls);
	assert_int_equal(c.auth, MX_AUTH_DANE);
	assert_string_equal(c.sni, "smart.example");
	assert_true(c.mx_secure); /* a configured name: Verified on a match */
	assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_VERIFIED);

	/* 465: implicit TLS, TLSA at _465 */
	start("[smart.example]:465", POLICY_DANE);
	ask("smart.example", DNS_T_A, addr_ans("smart.example", DNS_T_A, AD, "192.0.2.80"));
	ask("_465._tcp.smart.example", DNS_T_TLSA,
	    denial("_465._tcp.smart.example", DNS_T_TLSA, AD, true));
	c = want_connect("smart.example", "192.0.2.80");
	assert_true(c.implicit_tls);
	assert_int_equal(c.addr.port, 465);
	assert_int_equal(c.tls, MX_TLS_REQUIRED); /* no clear text on 465 */

	/* unbracketed host:port: its MX hosts, DANE on that port */
	start("relay.example:587", POLICY_DANE);
	ask("relay.example", DNS_T_MX, mx_ans("relay.example", AD, "5 out.relay.example"));
	ask("out.relay.example", DNS_T_A, addr_ans("out.relay.example", DNS_T_A, AD, "192.0.2.81"));
	want_lookup("_587._tcp.out.relay.example", DNS_T_TLSA);
}

/* ---- scenarios 27-30: order, fallback, no AD, TCP ---------------------------- */

static void s27_preference_order_is_never_changed_by_tlsa(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	/* listed out of order on purpose */
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD, "20 mx20.example.com, 10 mx10.example.com"));
	ask("mx10.example.com", DNS_T_A, addr_ans("mx10.example.com", DNS_T_A, AD, "192.0.2.10"));
	ask("_25._tcp.mx10.example.com", DNS_T_TLSA,
	    denial("_25._tcp.mx10.example.com", DNS_T_TLSA, AD, true));
	struct mx_connect c = want_connect("mx10.example.com", "192.0.2.10");
	assert_int_equal(c.tls, MX_TLS_MAY);
	result(MX_RESULT_OK, NULL);
	want_done(MX_DELIVERED, "", "mx10.example.com");
}

static void equal_preferences_are_shuffled_by_the_callers_random(void **state)
{
	(void)state;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	const struct dns_answer *a = mx_ans(
		"example.com", AD, "20 c.example.com, 10 a.example.com, 10 b.example.com, 30 d.example.com");
	bool a_first = false, b_first = false;
	for (uint32_t r = 1; r <= 64; r++) {
		assert_int_equal(mx_plan_start(&plan, &cfg4, &nh, POLICY_DANE, r), 0);
		feed(a);
		assert_int_equal(plan.n_hosts, 4);
		assert_int_equal(plan.host[0].pref, 10);
		assert_int_equal(plan.host[1].pref, 10);
		assert_string_equal(plan.host[2].name, "c.example.com");
		assert_string_equal(plan.host[3].name, "d.example.com");
		if (strcmp(plan.host[0].name, "a.example.com") == 0)
			a_first = true;
		else
			b_first = true;
		/* the same random value gives the same order */
		char first[MX_NAME_SIZE];
		strcpy(first, plan.host[0].name);
		assert_int_equal(mx_plan_start(&plan, &cfg4, &nh, POLICY_DANE, r), 0);
		feed(a);
		assert_string_equal(plan.host[0].name, first);
	}
	assert_true(a_first);
	assert_true(b_first);
}

static void s28_preferred_mx_fails_dane_second_passes(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	two_dane_mx();
	want_connect("mx1.example.com", "192.0.2.1");
	result(MX_RESULT_NOT_VERIFIED, "no TLSA record matched");
	ask("mx2.example.com", DNS_T_A, addr_ans("mx2.example.com", DNS_T_A, AD, "192.0.2.2"));
	ask("_25._tcp.mx2.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx2.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx2.example.com", "192.0.2.2");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	result(MX_RESULT_OK, NULL);
	want_done(MX_DELIVERED, "", "mx2.example.com");
}

static void s29_no_ad_is_insecure_never_secure(void **state)
{
	(void)state;
	/* a non-validating resolver: signed zone, RRSIGs present, no AD */
	start("example.com", POLICY_DANE);
	begin("example.com", DNS_T_MX, NO_AD, 0);
	wb_mx(&w, "example.com", 300, 10, "mx.example.com");
	wb_rrsig(&w, "example.com", 300, DNS_T_MX);
	const struct dns_answer *m = end();
	assert_int_equal(m->status, DNS_INSECURE);
	ask("example.com", DNS_T_MX, m);
	begin("mx.example.com", DNS_T_A, NO_AD, 0);
	wb_a(&w, "mx.example.com", 300, 192, 0, 2, 10);
	wb_rrsig(&w, "mx.example.com", 300, DNS_T_A);
	ask("mx.example.com", DNS_T_A, end());
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.tls, MX_TLS_MAY);
	assert_int_equal(c.auth, MX_AUTH_NONE);
	assert_false(c.mx_secure);
	/* and never enough for dane-only */
	start("example.com", POLICY_DANE_ONLY);
	ask("example.com", DNS_T_MX, m);
	want_done(MX_DEFERRED, "4.7.5", "not DNSSEC-validated");
}

static void s30_truncated_tlsa_is_not_an_answer_until_tcp(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	want_lookup("_25._tcp.mx.example.com", DNS_T_TLSA);
	/* the UDP answer has TC: the parser says "ask over TCP", the driver
	 * feeds nothing, the plan keeps waiting for the same lookup */
	begin("_25._tcp.mx.example.com", DNS_T_TLSA, AD, 0);
	w.b[2] |= WB_TC >> 8;
	struct dns_answer tmp;
	size_t n = wb_done(&w);
	assert_int_equal(dns_parse_answer(&q, w.b, n, &tmp), DNS_ETRUNCATED);
	want_lookup("_25._tcp.mx.example.com", DNS_T_TLSA);
	/* the TCP answer is used */
	feed(tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.auth, MX_AUTH_DANE);
}

/* ---- policy interplay (rule 20), IP literals (21), addresses ---------------- */

static void policies_none_may_encrypt_verify_skip_tlsa(void **state)
{
	(void)state;
	struct {
		enum policy_level level;
		enum mx_tls tls;
		enum mx_auth auth;
	} row[] = {
		{ POLICY_NONE, MX_TLS_NONE, MX_AUTH_NONE },
		{ POLICY_MAY, MX_TLS_MAY, MX_AUTH_NONE },
		{ POLICY_ENCRYPT, MX_TLS_REQUIRED, MX_AUTH_NONE },
		{ POLICY_VERIFY, MX_TLS_REQUIRED, MX_AUTH_WEBPKI },
	};
	for (unsigned i = 0; i < 4; i++) {
		start("example.com", row[i].level);
		secure_mx_and_address();
		/* no TLSA lookup under these levels */
		struct mx_connect c = want_connect("mx.example.com", "192.0.2.10");
		assert_int_equal(c.tls, row[i].tls);
		assert_int_equal(c.auth, row[i].auth);
		assert_int_equal(c.level, row[i].level);
		assert_null(c.tlsa);
		if (row[i].level == POLICY_VERIFY) {
			assert_string_equal(c.sni, "mx.example.com");
			assert_int_equal(c.refids.count, 1);
			assert_string_equal(c.refids.name[0], "mx.example.com");
			assert_int_equal(mx_plan_classify(&c, true, true, true), DANE_CLASS_TRUSTED);
		}
	}
	/* encrypt: no STARTTLS defers 4.7.4 */
	start("example.com", POLICY_ENCRYPT);
	secure_mx_and_address();
	want_connect("mx.example.com", "192.0.2.10");
	result(MX_RESULT_NO_STARTTLS, NULL);
	want_done(MX_DEFERRED, "4.7.4", NULL);
	/* verify: a failed name check defers 4.7.5 */
	start("[smtp.relay.example]:587", POLICY_VERIFY);
	ask("smtp.relay.example", DNS_T_A,
	    addr_ans("smtp.relay.example", DNS_T_A, NO_AD, "192.0.2.90"));
	struct mx_connect c = want_connect("smtp.relay.example", "192.0.2.90");
	assert_int_equal(c.auth, MX_AUTH_WEBPKI);
	assert_string_equal(c.sni, "smtp.relay.example");
	result(MX_RESULT_NOT_VERIFIED, "name mismatch");
	want_done(MX_DEFERRED, "4.7.5", "Server certificate not verified");
}

static void dane_only_needs_usable_secure_tlsa_per_host(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE_ONLY);
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD,
		   "10 mx1.example.com, 20 mx2.example.com, 30 mx3.example.com, 40 mx4.example.com"));
	ask("mx1.example.com", DNS_T_A, addr_ans("mx1.example.com", DNS_T_A, AD, "192.0.2.1"));
	ask("_25._tcp.mx1.example.com", DNS_T_TLSA,
	    denial("_25._tcp.mx1.example.com", DNS_T_TLSA, AD, true));
	/* no TLSA: skipped, never connected */
	ask("mx2.example.com", DNS_T_A, addr_ans("mx2.example.com", DNS_T_A, AD, "192.0.2.2"));
	ask("_25._tcp.mx2.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx2.example.com", AD, "1 1 1"));
	/* unusable: skipped */
	ask("mx3.example.com", DNS_T_A, addr_ans("mx3.example.com", DNS_T_A, NO_AD, "192.0.2.3"));
	/* insecure address: skipped without a TLSA lookup */
	ask("mx4.example.com", DNS_T_A, addr_ans("mx4.example.com", DNS_T_A, AD, "192.0.2.4"));
	ask("_25._tcp.mx4.example.com", DNS_T_TLSA,
	    tlsa_ans("_25._tcp.mx4.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx4.example.com", "192.0.2.4");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	result(MX_RESULT_CONN_FAILED, "Connection timed out");
	want_done(MX_DEFERRED, "4.7.5", "for mx1.example.com:25 (policy dane-only)");
}

static void ip_literal_gets_no_dane(void **state)
{
	(void)state;
	start("[192.0.2.99]", POLICY_DANE);
	/* no DNS at all */
	struct mx_connect c = want_connect("192.0.2.99", "192.0.2.99");
	assert_int_equal(c.tls, MX_TLS_MAY);
	assert_int_equal(c.dane, DANE_NONE);
	assert_int_equal(c.auth, MX_AUTH_NONE);
	assert_int_equal(c.addr.port, 25);
	start("[192.0.2.99]", POLICY_ENCRYPT);
	c = want_connect("192.0.2.99", "192.0.2.99");
	assert_int_equal(c.tls, MX_TLS_REQUIRED);
	start("[192.0.2.99]", POLICY_DANE_ONLY);
	want_done(MX_DEFERRED, "4.7.5", "IP-literal destination: no DANE");
	/* an IPv6 literal with IPv6 off: nothing to connect to */
	start("[IPv6:2001:db8::5]", POLICY_MAY);
	want_done(MX_DEFERRED, "4.4.4", "no usable address");
}

static void addresses_aaaa_then_a_each_tried_under_the_same_tlsa(void **state)
{
	(void)state;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, NULL, &nh, POLICY_DANE, 7), 0);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx.example.com"));
	ask("mx.example.com", DNS_T_AAAA,
	    addr_ans("mx.example.com", DNS_T_AAAA, AD, "2001:db8::10"));
	ask("mx.example.com", DNS_T_A,
	    addr_ans("mx.example.com", DNS_T_A, AD, "192.0.2.10 192.0.2.11"));
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, tlsa_ans("_25._tcp.mx.example.com", AD, "3 1 1"));
	struct mx_connect c = want_connect("mx.example.com", "2001:db8::10");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	result(MX_RESULT_CONN_FAILED, "Network unreachable");
	c = want_connect("mx.example.com", "192.0.2.10");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	result(MX_RESULT_NOT_VERIFIED, NULL);
	c = want_connect("mx.example.com", "192.0.2.11");
	assert_int_equal(c.auth, MX_AUTH_DANE);
	result(MX_RESULT_CONN_FAILED, NULL);
	want_done(MX_DEFERRED, "4.7.5", "Server certificate not verified: mx.example.com[192.0.2.10]:25");
}

static void address_failures_skip_the_host_rule_2(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD, "10 mx1.example.com, 20 mx2.example.com, 30 mx3.example.com"));
	ask("mx1.example.com", DNS_T_A, servfail("mx1.example.com", DNS_T_A));
	ask("mx2.example.com", DNS_T_A, denial("mx2.example.com", DNS_T_A, AD, true));
	ask("mx3.example.com", DNS_T_A, addr_ans("mx3.example.com", DNS_T_A, AD, "192.0.2.3"));
	ask("_25._tcp.mx3.example.com", DNS_T_TLSA,
	    denial("_25._tcp.mx3.example.com", DNS_T_TLSA, AD, true));
	want_connect("mx3.example.com", "192.0.2.3");
	result(MX_RESULT_CONN_FAILED, "Connection refused");
	want_done(MX_DEFERRED, "4.4.1", "connect to mx3.example.com[192.0.2.3]:25 failed");

	/* only failures: the lookup error is the reason */
	start("example.com", POLICY_DANE);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx1.example.com"));
	ask("mx1.example.com", DNS_T_A, fail_ans("mx1.example.com", DNS_T_A, "timeout"));
	want_done(MX_DEFERRED, "4.4.3", "name=mx1.example.com type=A: timeout");

	/* every host denied, both families: bounce */
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, NULL, &nh, POLICY_DANE, 1), 0);
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", AD, "10 mx1.example.com, 20 mx2.example.com"));
	ask("mx1.example.com", DNS_T_AAAA, denial("mx1.example.com", DNS_T_AAAA, AD, true));
	ask("mx1.example.com", DNS_T_A, denial("mx1.example.com", DNS_T_A, AD, true));
	ask("mx2.example.com", DNS_T_AAAA, addr_ans("mx2.example.com", DNS_T_AAAA, NO_AD, ""));
	ask("mx2.example.com", DNS_T_A, addr_ans("mx2.example.com", DNS_T_A, NO_AD, ""));
	want_done(MX_BOUNCED, "5.4.4", "no MX host for example.com has an address record");
	/* one family failing is not a denial: defer */
	assert_int_equal(mx_plan_start(&plan, NULL, &nh, POLICY_DANE, 1), 0);
	ask("example.com", DNS_T_MX, mx_ans("example.com", AD, "10 mx1.example.com"));
	ask("mx1.example.com", DNS_T_AAAA, servfail("mx1.example.com", DNS_T_AAAA));
	ask("mx1.example.com", DNS_T_A, denial("mx1.example.com", DNS_T_A, AD, true));
	want_done(MX_DEFERRED, "4.4.3", "type=AAAA");
}

static void a_partial_answer_is_a_failure_never_a_denial(void **state)
{
	(void)state;
	start("example.com", POLICY_DANE);
	secure_mx_and_address();
	/* the chain stops at a CNAME target without data or SOA */
	begin("_25._tcp.mx.example.com", DNS_T_TLSA, AD, 0);
	wb_cname(&w, "_25._tcp.mx.example.com", 300, "tlsa.elsewhere.example");
	struct dns_answer *a = end();
	assert_true(a->partial);
	ask("_25._tcp.mx.example.com", DNS_T_TLSA, a);
	/* not "no TLSA records" (which would allow clear text) */
	want_done(MX_DEFERRED, "4.7.5", "TLSA lookup error for mx.example.com:25");
}

static void connection_attempts_are_bounded(void **state)
{
	(void)state;
	struct mx_config cfg = cfg4;
	cfg.max_connects = 2;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, &cfg, &nh, POLICY_MAY, 1), 0);
	ask("example.com", DNS_T_MX,
	    mx_ans("example.com", NO_AD, "10 mx1.example.com, 20 mx2.example.com"));
	ask("mx1.example.com", DNS_T_A,
	    addr_ans("mx1.example.com", DNS_T_A, NO_AD, "192.0.2.1 192.0.2.2 192.0.2.3"));
	want_connect("mx1.example.com", "192.0.2.1");
	result(MX_RESULT_CONN_FAILED, "Connection refused");
	want_connect("mx1.example.com", "192.0.2.2");
	result(MX_RESULT_SMTP_FAILED, "421 4.3.2 busy");
	/* two tries: no third address, no second host */
	want_done(MX_DEFERRED, "4.4.1", "connect to mx1.example.com[192.0.2.1]:25 failed");
	/* the default bound is stated */
	mx_config_default(&cfg);
	assert_int_equal(cfg.max_connects, MX_CONNECTS_DEFAULT);
}

static void no_starttls_under_may_is_not_a_downgrade_reason(void **state)
{
	(void)state;
	/* under may the driver goes on in clear; if it reports "no
	 * STARTTLS" anyway, the reason must not claim TLS was required */
	start("example.com", POLICY_MAY);
	secure_mx_and_address();
	want_connect("mx.example.com", "192.0.2.10");
	result(MX_RESULT_NO_STARTTLS, NULL);
	want_done(MX_DEFERRED, "4.4.2", "STARTTLS not offered");
}

static void the_host_list_is_bounded_and_deduplicated(void **state)
{
	(void)state;
	start("example.com", POLICY_MAY);
	begin("example.com", DNS_T_MX, AD, 0);
	char name[64];
	for (unsigned i = 0; i < MX_HOSTS_MAX + 4; i++) {
		snprintf(name, sizeof(name), "mx%u.example.com", i);
		wb_mx(&w, "example.com", 300, (uint16_t)(100 - i), name);
	}
	wb_mx(&w, "example.com", 300, 1, "MX19.example.com."); /* duplicate, better */
	ask("example.com", DNS_T_MX, end());
	assert_int_equal(plan.n_hosts, MX_HOSTS_MAX);
	assert_string_equal(plan.host[0].name, "MX19.example.com"); /* as DNS spelt it */
	assert_int_equal(plan.host[0].pref, 1);
	assert_string_equal(plan.host[1].name, "mx18.example.com");
	/* the worst preferences were dropped */
	assert_int_equal(plan.hosts_dropped, 4);
	for (unsigned i = 1; i < plan.n_hosts; i++)
		assert_true(plan.host[i - 1].pref <= plan.host[i].pref);
	want_lookup("MX19.example.com", DNS_T_A);
}

static void misuse_is_refused(void **state)
{
	(void)state;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("example.com", &nh), 0);
	assert_int_equal(mx_plan_start(&plan, &cfg4, &nh, (enum policy_level)17, 1), MX_EINVAL);
	struct mx_config none = cfg4;
	none.ipv4 = false;
	assert_int_equal(mx_plan_start(&plan, &none, &nh, POLICY_DANE, 1), MX_EINVAL);

	start("example.com", POLICY_DANE);
	/* a result before any connect */
	assert_int_equal(mx_plan_host_result(&plan, MX_RESULT_OK, NULL), MX_ESTATE);
	/* an answer to another question */
	assert_int_equal(mx_plan_feed(&plan, addr_ans("example.com", DNS_T_A, AD, "192.0.2.1")),
			 MX_EMISMATCH);
	assert_int_equal(mx_plan_feed(&plan, mx_ans("example.org", AD, "10 mx.example.org")),
			 MX_EMISMATCH);
	/* still waiting for the right one; case does not matter */
	want_lookup("example.com", DNS_T_MX);
	feed(mx_ans("EXAMPLE.com", AD, "10 mx.example.com"));
	want_lookup("mx.example.com", DNS_T_A);
	/* feeding during a connect */
	feed(addr_ans("mx.example.com", DNS_T_A, NO_AD, "192.0.2.1"));
	want_connect("mx.example.com", "192.0.2.1");
	assert_int_equal(mx_plan_feed(&plan, addr_ans("mx.example.com", DNS_T_A, AD, "192.0.2.1")),
			 MX_ESTATE);
	/* next() is idempotent */
	want_connect("mx.example.com", "192.0.2.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(s01_02_secure_usable_tlsa_demands_dane_and_is_verified, setup),
		cmocka_unit_test_setup(s03_digest_mismatch_skips_the_host_and_defers_475, setup),
		cmocka_unit_test_setup(s04_no_starttls_with_usable_tlsa_next_mx_then_defer_474, setup),
		cmocka_unit_test_setup(s05_handshake_failure_under_dane_has_no_clear_retry, setup),
		cmocka_unit_test_setup(s06_all_unusable_means_tls_without_authentication, setup),
		cmocka_unit_test_setup(s07_all_unusable_without_starttls_defers_never_clear, setup),
		cmocka_unit_test_setup(s08_secure_tlsa_denial_is_opportunistic_with_clear_retry, setup),
		cmocka_unit_test_setup(s09_tlsa_servfail_skips_host_then_defers, setup),
		cmocka_unit_test_setup(s10_bogus_mx_defers_the_destination, setup),
		cmocka_unit_test_setup(s11_insecure_mx_with_matching_tlsa_is_trusted, setup),
		cmocka_unit_test_setup(s12_insecure_mx_under_dane_only_defers_at_once, setup),
		cmocka_unit_test_setup(s13_insecure_address_means_no_tlsa_query, setup),
		cmocka_unit_test_setup(s14_secure_cname_tlsa_at_target_is_the_base, setup),
		cmocka_unit_test_setup(s15_secure_cname_no_tlsa_at_target_falls_back_to_original, setup),
		cmocka_unit_test_setup(s16_secure_first_cname_insecure_target_only_original_name, setup),
		cmocka_unit_test_setup(s17_21_dane_ta_reference_ids_with_secure_mx, setup),
		cmocka_unit_test_setup(s18_20_22_dane_ta_failures_defer, setup),
		cmocka_unit_test_setup(s19_full_anchor_in_dns_is_handed_over, setup),
		cmocka_unit_test_setup(s23_strongest_digest_wins, setup),
		cmocka_unit_test_setup(s24_null_mx_bounces_5110_without_address_fallback, setup),
		cmocka_unit_test_setup(s25_no_mx_is_implicit_mx_with_dane, setup),
		cmocka_unit_test_setup(s25_nxdomain_bounces_512_and_no_address_bounces_544, setup),
		cmocka_unit_test_setup(s26_smarthost_587_dane_on_its_port, setup),
		cmocka_unit_test_setup(s27_preference_order_is_never_changed_by_tlsa, setup),
		cmocka_unit_test_setup(equal_preferences_are_shuffled_by_the_callers_random, setup),
		cmocka_unit_test_setup(s28_preferred_mx_fails_dane_second_passes, setup),
		cmocka_unit_test_setup(s29_no_ad_is_insecure_never_secure, setup),
		cmocka_unit_test_setup(s30_truncated_tlsa_is_not_an_answer_until_tcp, setup),
		cmocka_unit_test_setup(policies_none_may_encrypt_verify_skip_tlsa, setup),
		cmocka_unit_test_setup(dane_only_needs_usable_secure_tlsa_per_host, setup),
		cmocka_unit_test_setup(ip_literal_gets_no_dane, setup),
		cmocka_unit_test_setup(addresses_aaaa_then_a_each_tried_under_the_same_tlsa, setup),
		cmocka_unit_test_setup(address_failures_skip_the_host_rule_2, setup),
		cmocka_unit_test_setup(the_host_list_is_bounded_and_deduplicated, setup),
		cmocka_unit_test_setup(misuse_is_refused, setup),
		cmocka_unit_test_setup(a_partial_answer_is_a_failure_never_a_denial, setup),
		cmocka_unit_test_setup(connection_attempts_are_bounded, setup),
		cmocka_unit_test_setup(no_starttls_under_may_is_not_a_downgrade_reason, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
