/* test_dns_msg — the sans-I/O DNS message layer: names, the query we send
 * (RD, AD, EDNS0 DO, size 1232, our ID), and the classification of every
 * kind of answer, CNAME chains, mismatches, truncation and broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "test_dns_wire.h"

static struct wb w;
static struct dns_answer ans;
static struct dns_query q;

static void ask(const char *name, uint16_t qtype, uint16_t id)
{
	assert_int_equal(dns_query_build(&q, name, qtype, id), 0);
}

static int parse(void)
{
	size_t n = wb_done(&w);
	return dns_parse_answer(&q, w.b, n, &ans);
}

/* ---- names ---------------------------------------------------------------- */

static void names_convert_both_ways(void **state)
{
	(void)state;
	uint8_t wire[DNS_NAME_WIRE_MAX];
	char text[DNS_NAME_TEXT_SIZE];
	assert_int_equal(dns_name_to_wire("mx.Example.net", wire, sizeof(wire)), 16);
	assert_memory_equal(wire, "\002mx\007Example\003net\000", 16);
	assert_int_equal(dns_name_to_wire("mx.example.net.", wire, sizeof(wire)), 16);
	assert_int_equal(dns_name_to_wire(".", wire, sizeof(wire)), 1);
	assert_int_equal(wire[0], 0);
	assert_int_equal(dns_name_to_text(wire, 1, text, sizeof(text)), 1);
	assert_string_equal(text, ".");

	/* escapes survive the round trip */
	int n = dns_name_to_wire("a\\.b.c\\032d.\\\\", wire, sizeof(wire));
	assert_int_equal(n, 1 + 3 + 1 + 3 + 1 + 1 + 1);
	assert_memory_equal(wire, "\003a.b\003c d\001\\\000", (size_t)n);
	assert_true(dns_name_to_text(wire, (size_t)n, text, sizeof(text)) > 0);
	assert_string_equal(text, "a\\.b.c\\032d.\\\\");

	/* rejected: empty labels, a label of 64, a name over 255, bad escapes */
	assert_int_equal(dns_name_to_wire("", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire("a..b", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire(".a", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire("a.b..", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire("a\\", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire("a\\25", wire, sizeof(wire)), DNS_ENAME);
	assert_int_equal(dns_name_to_wire("a\\256", wire, sizeof(wire)), DNS_ENAME);
	char lab[80];
	memset(lab, 'x', 64);
	lab[64] = '\0';
	assert_int_equal(dns_name_to_wire(lab, wire, sizeof(wire)), DNS_ENAME);
	lab[63] = '\0';
	assert_int_equal(dns_name_to_wire(lab, wire, sizeof(wire)), 65);

	char big[400];
	/* 4 labels of 63 = 4*64 + 1 = 257 bytes: too long; 3 labels + 61 fits 255 */
	snprintf(big, sizeof(big), "%s.%s.%s.%s", lab, lab, lab, lab);
	assert_int_equal(dns_name_to_wire(big, wire, sizeof(wire)), DNS_ENAME);
	char l61[62];
	memset(l61, 'y', 61);
	l61[61] = '\0';
	snprintf(big, sizeof(big), "%s.%s.%s.%s", lab, lab, lab, l61);
	assert_int_equal(dns_name_to_wire(big, wire, sizeof(wire)), 255);
	assert_int_equal(dns_name_to_text(wire, 255, text, sizeof(text)), 253);
	/* a too small text buffer is an error, not a cut name */
	assert_int_equal(dns_name_to_text(wire, 255, text, 100), DNS_ETOOBIG);
	/* compression pointers are not names here */
	const uint8_t ptr[] = { 0xc0, 0x0c };
	assert_int_equal(dns_name_to_text(ptr, sizeof(ptr), text, sizeof(text)), DNS_ENAME);
	/* case-insensitive comparison */
	uint8_t w2[DNS_NAME_WIRE_MAX];
	int n1 = dns_name_to_wire("MX.example.NET", wire, sizeof(wire));
	int n2 = dns_name_to_wire("mx.EXAMPLE.net", w2, sizeof(w2));
	assert_true(dns_name_wire_eq(wire, (size_t)n1, w2, (size_t)n2));
	n2 = dns_name_to_wire("mx.example.nex", w2, sizeof(w2));
	assert_false(dns_name_wire_eq(wire, (size_t)n1, w2, (size_t)n2));
}

/* ---- the query ------------------------------------------------------------ */

static void query_has_rd_ad_edns_do_and_our_id(void **state)
{
	(void)state;
	ask("_25._tcp.mx.example.net", DNS_T_TLSA, 0xbeef);
	const uint8_t *b = q.wire;
	assert_true(q.wire_len >= 12 + 25 + 4 + 11);
	assert_int_equal(b[0] << 8 | b[1], 0xbeef);
	assert_int_equal(b[2] & 0x80, 0);	/* QR: a query */
	assert_int_equal((b[2] >> 3) & 0xf, 0);	/* opcode QUERY */
	assert_int_equal(b[2] & 0x01, 0x01);	/* RD */
	assert_int_equal(b[3] & 0x20, 0x20);	/* AD (RFC 6840 §5.7) */
	assert_int_equal(b[3] & 0x10, 0);	/* not CD: we want validation */
	assert_int_equal(b[4] << 8 | b[5], 1);	/* QDCOUNT */
	assert_int_equal(b[6] << 8 | b[7], 0);
	assert_int_equal(b[8] << 8 | b[9], 0);
	assert_int_equal(b[10] << 8 | b[11], 1); /* ARCOUNT: the OPT */
	assert_memory_equal(b + 12, "\003_25\004_tcp\002mx\007example\003net\000", 25);
	const uint8_t *t = b + 12 + 25;
	assert_int_equal(t[0] << 8 | t[1], DNS_T_TLSA);
	assert_int_equal(t[2] << 8 | t[3], 1);
	const uint8_t *opt = t + 4;
	assert_int_equal(opt[0], 0);	/* root owner */
	assert_int_equal(opt[1] << 8 | opt[2], 41);
	assert_int_equal(opt[3] << 8 | opt[4], DNS_EDNS_UDP_SIZE);
	assert_int_equal(opt[7] & 0x80, 0x80); /* DO */
	assert_int_equal(q.wire_len, 12 + 25 + 4 + 11);

	/* and a real decoder reads the same */
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, q.wire, q.wire_len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_false(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ad(p));
	assert_false(ldns_pkt_cd(p));
	assert_true(ldns_pkt_edns(p));
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_EDNS_UDP_SIZE);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
	ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	assert_int_equal(ldns_rr_get_type(qr), LDNS_RR_TYPE_TLSA);
	assert_int_equal(ldns_rr_get_class(qr), LDNS_RR_CLASS_IN);
	ldns_pkt_free(p);

	/* the root and the longest name fit */
	ask(".", DNS_T_DNSKEY, 1);
	assert_int_equal(q.wire_len, 12 + 1 + 4 + 11);
	char big[300];
	memset(big, 'a', 63);
	big[63] = '.';
	memcpy(big + 64, big, 64);
	memcpy(big + 128, big, 64);
	memset(big + 192, 'b', 61);
	big[253] = '\0';
	ask(big, DNS_T_A, 2);
	assert_int_equal(q.qname_len, 255);
	assert_int_equal(q.wire_len, DNS_QUERY_WIRE_MAX);

	/* names that cannot be asked */
	assert_int_equal(dns_query_build(&q, "a..b", DNS_T_A, 1), DNS_ENAME);
	assert_int_equal(dns_query_build(&q, "a", 0, 1), DNS_EINVAL);
}

/* ---- classification ---------------------------------------------------------- */

static void secure_and_insecure_addresses(void **state)
{
	(void)state;
	ask("mx.example.net", DNS_T_A, 77);
	wb_start(&w, 77, WB_QR | WB_RD | WB_RA | WB_AD, 0, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 300, 192, 0, 2, 1);
	wb_rrsig(&w, "mx.example.net", 300, DNS_T_A);
	wb_a(&w, "MX.Example.NET", 120, 192, 0, 2, 2);
	wb_a(&w, "other.example.net", 5, 192, 0, 2, 9); /* not ours: ignored */
	wb_section(&w, 3);
	wb_opt(&w, true);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_true(dns_status_secure(ans.status));
	assert_int_equal(ans.n_rr, 2);
	assert_memory_equal(ans.rr[0].u.a, "\xc0\x00\x02\x01", 4);
	assert_memory_equal(ans.rr[1].u.a, "\xc0\x00\x02\x02", 4);
	assert_int_equal(ans.ttl, 120);
	assert_string_equal(ans.qname, "mx.example.net");
	assert_string_equal(ans.final_name, "mx.example.net");
	assert_int_equal(ans.cname_count, 0);
	assert_false(ans.cname_secure_first);
	assert_false(ans.partial);

	wb_start(&w, 77, WB_QR | WB_RD | WB_RA, 0, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 300, 192, 0, 2, 1);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE);
	assert_false(dns_status_secure(ans.status));
	assert_int_equal(ans.ttl, 300);

	ask("mx.example.net", DNS_T_AAAA, 78);
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	wb_start(&w, 78, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_AAAA);
	wb_rr(&w, "mx.example.net", DNS_T_AAAA, 60, v6, 16);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_memory_equal(ans.rr[0].u.aaaa, v6, 16);
}

static void denials_take_the_soa_ttl(void **state)
{
	(void)state;
	ask("nope.example.net", DNS_T_MX, 5);
	wb_start(&w, 5, WB_QR | WB_AD, DNS_RCODE_NXDOMAIN, "nope.example.net", DNS_T_MX);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 900, 300);
	wb_rrsig(&w, "example.net", 900, DNS_T_SOA);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE_NXDOMAIN);
	assert_true(dns_status_denial(ans.status));
	assert_int_equal(ans.ttl, 300);	/* min(SOA TTL, MINIMUM) */
	assert_int_equal(ans.n_rr, 0);

	wb_start(&w, 5, WB_QR, DNS_RCODE_NXDOMAIN, "nope.example.net", DNS_T_MX);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 60, 300);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE_NXDOMAIN);
	assert_int_equal(ans.ttl, 60);

	ask("_25._tcp.mx.example.net", DNS_T_TLSA, 6);
	wb_start(&w, 6, WB_QR | WB_AD, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 3600, 1800);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE_NODATA);
	assert_int_equal(ans.ttl, 1800);

	wb_start(&w, 6, WB_QR, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 3600, 1800);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE_NODATA);

	/* no SOA: still a denial, but nothing to cache it by */
	wb_start(&w, 6, WB_QR, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE_NODATA);
	assert_int_equal(ans.ttl, 0);
}

static void referrals_are_failures_not_denials(void **state)
{
	(void)state;
	ask("_25._tcp.mx.example.net", DNS_T_TLSA, 14);
	/* what an authoritative server says when asked by mistake */
	wb_start(&w, 14, WB_QR, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_section(&w, 2);
	uint8_t ns[DNS_NAME_WIRE_MAX];
	int n = dns_name_to_wire("ns1.example.net", ns, sizeof(ns));
	wb_rr(&w, "example.net", 2, 86400, ns, (size_t)n);
	assert_int_equal(parse(), DNS_EMALFORMED);
	assert_int_equal(ans.status, DNS_FAIL);
	assert_false(dns_status_denial(ans.status));

	/* NS beside an SOA is an ordinary NODATA */
	wb_start(&w, 14, WB_QR, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 300, 300);
	wb_rr(&w, "example.net", 2, 86400, ns, (size_t)n);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE_NODATA);
}

static void resolver_errors_are_failures(void **state)
{
	(void)state;
	ask("bogus.example.net", DNS_T_TLSA, 9);
	static const uint8_t rcodes[] = { DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED,
					  DNS_RCODE_FORMERR, DNS_RCODE_NOTIMP, 9 };
	for (size_t i = 0; i < sizeof(rcodes); i++) {
		/* even with AD (a liar) and data, an error is an error */
		wb_start(&w, 9, WB_QR | WB_AD, rcodes[i], "bogus.example.net", DNS_T_TLSA);
		assert_int_equal(parse(), 0);
		assert_int_equal(ans.status, DNS_FAIL);
		assert_int_equal(ans.rcode, rcodes[i]);
		assert_true(strlen(ans.reason) > 0);
		assert_false(dns_status_secure(ans.status));
	}
}

static void edns_error_is_a_failure(void **state)
{
	(void)state;
	ask("mx.example.net", DNS_T_A, 12);
	/* BADVERS (16): header RCODE 0, upper bits 1 in the OPT TTL */
	wb_start(&w, 12, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_A);
	wb_section(&w, 3);
	wb_u8(&w, 0);
	wb_u16(&w, 41);
	wb_u16(&w, 1232);
	wb_u32(&w, 0x01008000u);
	wb_u16(&w, 0);
	w.counts[3]++;
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);
}

static void answers_to_other_questions_are_ignored(void **state)
{
	(void)state;
	ask("mx.example.net", DNS_T_A, 0x1234);
	/* wrong ID */
	wb_start(&w, 0x1235, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 300, 6, 6, 6, 6);
	assert_int_equal(parse(), DNS_EMISMATCH);
	assert_int_equal(ans.status, DNS_FAIL);
	/* not a response (QR clear) */
	wb_start(&w, 0x1234, WB_AD, 0, "mx.example.net", DNS_T_A);
	assert_int_equal(parse(), DNS_EMISMATCH);
	/* other name, other type, other class */
	wb_start(&w, 0x1234, WB_QR, 0, "mx.example.org", DNS_T_A);
	assert_int_equal(parse(), DNS_EMISMATCH);
	wb_start(&w, 0x1234, WB_QR, 0, "mx.example.net", DNS_T_AAAA);
	assert_int_equal(parse(), DNS_EMISMATCH);
	wb_start(&w, 0x1234, WB_QR, 0, "mx.example.net", DNS_T_A);
	w.b[w.n - 1] = 3; /* class CH */
	assert_int_equal(parse(), DNS_EMISMATCH);
	/* no question at all (some FORMERR replies) */
	wb_start(&w, 0x1234, WB_QR, DNS_RCODE_FORMERR, "mx.example.net", DNS_T_A);
	w.n = 12;
	w.counts[0] = 0;
	assert_int_equal(parse(), DNS_EMISMATCH);
	/* too short for a header */
	assert_int_equal(dns_parse_answer(&q, (const uint8_t *)"\x12\x34\x80", 3, &ans),
			 DNS_EMISMATCH);
	/* a different case of the same name is the same question (0x20) */
	wb_start(&w, 0x1234, WB_QR, 0, "Mx.EXAMPLE.net", DNS_T_A);
	wb_a(&w, "mX.example.net", 300, 6, 6, 6, 6);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE);
}

static void truncation_asks_for_tcp(void **state)
{
	(void)state;
	ask("_25._tcp.mx.example.net", DNS_T_TLSA, 42);
	wb_start(&w, 42, WB_QR | WB_TC | WB_AD, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	assert_int_equal(parse(), DNS_ETRUNCATED);
	assert_int_equal(ans.status, DNS_FAIL);
}

static void cname_chains_are_followed(void **state)
{
	(void)state;
	ask("www.example.net", DNS_T_A, 3);
	wb_start(&w, 3, WB_QR | WB_AD, 0, "www.example.net", DNS_T_A);
	/* order in the section does not matter */
	wb_a(&w, "c.example.org", 500, 192, 0, 2, 7);
	wb_cname(&w, "b.example.com", 200, "c.example.org");
	wb_cname(&w, "www.example.net", 400, "b.example.com");
	wb_rrsig(&w, "www.example.net", 400, DNS_T_CNAME);
	wb_a(&w, "www.example.net", 1, 10, 0, 0, 1); /* beside a CNAME: not used */
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_int_equal(ans.cname_count, 2);
	assert_true(ans.cname_secure_first);
	assert_string_equal(ans.qname, "www.example.net");
	assert_string_equal(ans.final_name, "c.example.org");
	assert_int_equal(ans.n_rr, 1);
	assert_memory_equal(ans.rr[0].u.a, "\xc0\x00\x02\x07", 4);
	assert_int_equal(ans.ttl, 200); /* the weakest link of the chain */

	/* insecure chain: first step not secure either */
	wb_start(&w, 3, WB_QR, 0, "www.example.net", DNS_T_A);
	wb_cname(&w, "www.example.net", 400, "b.example.com");
	wb_a(&w, "b.example.com", 500, 192, 0, 2, 7);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_INSECURE);
	assert_false(ans.cname_secure_first);

	/* the chain ends in NXDOMAIN at the target */
	wb_start(&w, 3, WB_QR | WB_AD, DNS_RCODE_NXDOMAIN, "www.example.net", DNS_T_A);
	wb_cname(&w, "www.example.net", 400, "gone.example.com");
	wb_section(&w, 2);
	wb_soa(&w, "example.com", 100, 50);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE_NXDOMAIN);
	assert_string_equal(ans.final_name, "gone.example.com");
	assert_int_equal(ans.ttl, 50);

	/* asking for the CNAME itself does not follow it */
	ask("www.example.net", DNS_T_CNAME, 4);
	wb_start(&w, 4, WB_QR, 0, "www.example.net", DNS_T_CNAME);
	wb_cname(&w, "www.example.net", 400, "b.example.com");
	wb_cname(&w, "b.example.com", 400, "c.example.com");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.n_rr, 1);
	assert_int_equal(ans.cname_count, 0);
	assert_string_equal(dns_answer_text(&ans, ans.rr[0].u.cname.name), "b.example.com");
}

static void cname_chain_that_stops_early_is_partial(void **state)
{
	(void)state;
	ask("www.example.net", DNS_T_A, 8);
	wb_start(&w, 8, WB_QR | WB_AD, 0, "www.example.net", DNS_T_A);
	wb_cname(&w, "www.example.net", 400, "far.example.org");
	assert_int_equal(parse(), 0);
	assert_true(ans.partial);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_int_equal(ans.n_rr, 0);
	assert_string_equal(ans.final_name, "far.example.org");
	assert_true(ans.cname_secure_first);
	assert_int_equal(ans.ttl, 400);

	/* authority NS records beside a stopped chain do not make it a
	 * referral: the target is asked again */
	wb_start(&w, 8, WB_QR | WB_AD, 0, "www.example.net", DNS_T_A);
	wb_cname(&w, "www.example.net", 400, "far.example.org");
	wb_section(&w, 2);
	uint8_t ns[DNS_NAME_WIRE_MAX];
	int n = dns_name_to_wire("ns1.example.org", ns, sizeof(ns));
	wb_rr(&w, "example.org", 2, 86400, ns, (size_t)n);
	assert_int_equal(parse(), 0);
	assert_true(ans.partial);

	/* with an SOA it is a real NODATA at the target */
	wb_start(&w, 8, WB_QR, 0, "www.example.net", DNS_T_A);
	wb_cname(&w, "www.example.net", 400, "far.example.org");
	wb_section(&w, 2);
	wb_soa(&w, "example.org", 100, 100);
	assert_int_equal(parse(), 0);
	assert_false(ans.partial);
	assert_int_equal(ans.status, DNS_INSECURE_NODATA);
}

static void cname_loops_and_long_chains_fail(void **state)
{
	(void)state;
	ask("a.example", DNS_T_A, 11);
	wb_start(&w, 11, WB_QR | WB_AD, 0, "a.example", DNS_T_A);
	wb_cname(&w, "a.example", 60, "b.example");
	wb_cname(&w, "b.example", 60, "A.EXAMPLE");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);
	assert_string_equal(ans.reason, "CNAME loop");

	/* self loop */
	wb_start(&w, 11, WB_QR, 0, "a.example", DNS_T_A);
	wb_cname(&w, "a.example", 60, "a.example");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);

	/* two different CNAMEs for one owner */
	wb_start(&w, 11, WB_QR, 0, "a.example", DNS_T_A);
	wb_cname(&w, "a.example", 60, "b.example");
	wb_cname(&w, "a.example", 60, "c.example");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);

	/* DNS_CNAME_MAX steps are fine, one more is not */
	char from[32], to[32];
	for (int len = DNS_CNAME_MAX; len <= DNS_CNAME_MAX + 1; len++) {
		wb_start(&w, 11, WB_QR | WB_AD, 0, "a.example", DNS_T_A);
		for (int i = 0; i < len; i++) {
			if (i == 0)
				snprintf(from, sizeof(from), "a.example");
			else
				snprintf(from, sizeof(from), "c%d.example", i);
			snprintf(to, sizeof(to), "c%d.example", i + 1);
			wb_cname(&w, from, 60, to);
		}
		wb_a(&w, to, 60, 192, 0, 2, 1);
		assert_int_equal(parse(), 0);
		if (len == DNS_CNAME_MAX) {
			assert_int_equal(ans.status, DNS_SECURE);
			assert_int_equal(ans.cname_count, DNS_CNAME_MAX);
		} else {
			assert_int_equal(ans.status, DNS_FAIL);
			assert_string_equal(ans.reason, "CNAME chain too long");
		}
	}
}

static void mx_records_and_the_null_mx(void **state)
{
	(void)state;
	ask("example.net", DNS_T_MX, 21);
	wb_start(&w, 21, WB_QR | WB_AD, 0, "example.net", DNS_T_MX);
	wb_mx(&w, "example.net", 3600, 20, "mx2.example.net");
	wb_mx(&w, "example.net", 3600, 10, "MX1.example.net.");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_int_equal(ans.n_rr, 2);
	assert_int_equal(ans.rr[0].u.mx.pref, 20);
	assert_string_equal(dns_answer_text(&ans, ans.rr[0].u.mx.name), "mx2.example.net");
	assert_int_equal(ans.rr[1].u.mx.pref, 10);
	assert_string_equal(dns_answer_text(&ans, ans.rr[1].u.mx.name), "MX1.example.net");

	wb_start(&w, 21, WB_QR | WB_AD, 0, "example.net", DNS_T_MX);
	wb_mx(&w, "example.net", 3600, 0, ".");
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.n_rr, 1);
	assert_int_equal(ans.rr[0].u.mx.pref, 0);
	assert_string_equal(dns_answer_text(&ans, ans.rr[0].u.mx.name), ".");
}

static void tlsa_records_keep_their_data(void **state)
{
	(void)state;
	uint8_t digest[32], cert[1500];
	for (size_t i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(cert); i++)
		cert[i] = (uint8_t)i;
	ask("_25._tcp.mx.example.net", DNS_T_TLSA, 52);
	wb_start(&w, 52, WB_QR | WB_AD, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_tlsa(&w, "_25._tcp.mx.example.net", 600, 3, 1, 1, digest, sizeof(digest));
	wb_tlsa(&w, "_25._tcp.mx.example.net", 300, 2, 0, 0, cert, sizeof(cert));
	wb_rrsig(&w, "_25._tcp.mx.example.net", 600, DNS_T_TLSA);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_int_equal(ans.n_rr, 2);
	assert_int_equal(ans.rr[0].u.tlsa.usage, 3);
	assert_int_equal(ans.rr[0].u.tlsa.selector, 1);
	assert_int_equal(ans.rr[0].u.tlsa.mtype, 1);
	assert_int_equal(ans.rr[0].u.tlsa.len, 32);
	assert_memory_equal(ans.data + ans.rr[0].u.tlsa.off, digest, 32);
	assert_int_equal(ans.rr[1].u.tlsa.usage, 2);
	assert_int_equal(ans.rr[1].u.tlsa.len, sizeof(cert));
	assert_memory_equal(ans.data + ans.rr[1].u.tlsa.off, cert, sizeof(cert));
	assert_int_equal(ans.ttl, 300);

	/* a record without association data is kept (len 0): "unusable" is
	 * for the DANE module to say, and the RRset stays secure */
	wb_start(&w, 52, WB_QR | WB_AD, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_tlsa(&w, "_25._tcp.mx.example.net", 600, 3, 1, 1, digest, 0);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_SECURE);
	assert_int_equal(ans.n_rr, 1);
	assert_int_equal(ans.rr[0].u.tlsa.usage, 3);
	assert_int_equal(ans.rr[0].u.tlsa.len, 0);

	/* more than DNS_DATA_MAX bytes of data: refused, not cut */
	wb_start(&w, 52, WB_QR | WB_AD, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	for (int i = 0; i * sizeof(cert) <= DNS_DATA_MAX; i++) {
		cert[0] = (uint8_t)i;
		wb_tlsa(&w, "_25._tcp.mx.example.net", 300, 2, 0, 0, cert, sizeof(cert));
	}
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);
	assert_string_equal(ans.reason, "answer too large");
}

static void too_many_records_fail(void **state)
{
	(void)state;
	ask("many.example", DNS_T_A, 31);
	wb_start(&w, 31, WB_QR, 0, "many.example", DNS_T_A);
	for (int i = 0; i < DNS_RR_MAX + 1; i++)
		wb_a(&w, "many.example", 60, 10, 0, (uint8_t)(i >> 8), (uint8_t)i);
	assert_int_equal(parse(), 0);
	assert_int_equal(ans.status, DNS_FAIL);
	assert_int_equal(ans.n_rr, 0);
}

static void malformed_answers_fail_cleanly(void **state)
{
	(void)state;
	ask("mx.example.net", DNS_T_A, 99);
	/* an A record with 3 bytes of address */
	wb_start(&w, 99, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_A);
	wb_rr(&w, "mx.example.net", DNS_T_A, 60, "\x01\x02\x03", 3);
	assert_int_equal(parse(), DNS_EMALFORMED);
	assert_int_equal(ans.status, DNS_FAIL);

	/* more answers announced than present */
	wb_start(&w, 99, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 60, 1, 2, 3, 4);
	w.counts[1] = 5;
	assert_int_equal(parse(), DNS_EMALFORMED);

	/* a compression pointer to itself in the answer owner */
	wb_start(&w, 99, WB_QR | WB_AD, 0, "mx.example.net", DNS_T_A);
	size_t at = w.n;
	wb_u8(&w, 0xc0);
	wb_u8(&w, (uint8_t)at);
	wb_u16(&w, DNS_T_A);
	wb_u16(&w, 1);
	wb_u32(&w, 60);
	wb_u16(&w, 4);
	wb_u32(&w, 0x01020304);
	w.counts[1] = 1;
	assert_int_equal(parse(), DNS_EMALFORMED);
	assert_int_equal(ans.status, DNS_FAIL);

	/* NXDOMAIN that still carries the data */
	wb_start(&w, 99, WB_QR, DNS_RCODE_NXDOMAIN, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 60, 1, 2, 3, 4);
	assert_int_equal(parse(), DNS_EMALFORMED);
	assert_int_equal(ans.status, DNS_FAIL);
}

/* Every prefix and many random corruptions of a rich answer: the parser
 * may say anything but must stay in bounds (ASan) and return a known code
 * with a consistent answer. */
static void cut_and_corrupted_answers_never_crash(void **state)
{
	(void)state;
	ask("www.example.net", DNS_T_MX, 500);
	wb_start(&w, 500, WB_QR | WB_AD, 0, "www.example.net", DNS_T_MX);
	wb_cname(&w, "www.example.net", 400, "b.example.com");
	wb_mx(&w, "b.example.com", 300, 10, "mx.example.com");
	wb_rrsig(&w, "b.example.com", 300, DNS_T_MX);
	wb_section(&w, 2);
	wb_soa(&w, "example.com", 100, 50);
	wb_section(&w, 3);
	wb_opt(&w, true);
	size_t n = wb_done(&w);
	static uint8_t copy[WB_MAX];
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(copy, w.b, cut);
		int r = dns_parse_answer(&q, copy, cut, &ans);
		assert_true(r == DNS_EMISMATCH || r == DNS_EMALFORMED);
		assert_int_equal(ans.status, DNS_FAIL);
	}
	srand(4711);
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, w.b, n);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++) {
			/* keep the header and question mostly intact so the
			 * corruption reaches the sections */
			size_t pos = 12 + 21 + (size_t)rand() % (n - 33);
			copy[pos] = (uint8_t)rand();
		}
		int r = dns_parse_answer(&q, copy, n, &ans);
		assert_true(r == 0 || r == DNS_EMISMATCH || r == DNS_EMALFORMED ||
			    r == DNS_ETRUNCATED);
		assert_true(ans.n_rr <= DNS_RR_MAX);
		assert_true(ans.data_len <= DNS_DATA_MAX);
		assert_true(strlen(ans.final_name) < DNS_NAME_TEXT_SIZE);
		if (r != 0)
			assert_int_equal(ans.status, DNS_FAIL);
		for (uint16_t i = 0; i < ans.n_rr; i++)
			if (ans.rr[i].type == DNS_T_MX)
				assert_true(ans.rr[i].u.mx.name < ans.data_len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_convert_both_ways),
		cmocka_unit_test(query_has_rd_ad_edns_do_and_our_id),
		cmocka_unit_test(secure_and_insecure_addresses),
		cmocka_unit_test(denials_take_the_soa_ttl),
		cmocka_unit_test(referrals_are_failures_not_denials),
		cmocka_unit_test(resolver_errors_are_failures),
		cmocka_unit_test(edns_error_is_a_failure),
		cmocka_unit_test(answers_to_other_questions_are_ignored),
		cmocka_unit_test(truncation_asks_for_tcp),
		cmocka_unit_test(cname_chains_are_followed),
		cmocka_unit_test(cname_chain_that_stops_early_is_partial),
		cmocka_unit_test(cname_loops_and_long_chains_fail),
		cmocka_unit_test(mx_records_and_the_null_mx),
		cmocka_unit_test(tlsa_records_keep_their_data),
		cmocka_unit_test(too_many_records_fail),
		cmocka_unit_test(malformed_answers_fail_cleanly),
		cmocka_unit_test(cut_and_corrupted_answers_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
