/* test_policy — the per-destination TLS policy table (DANE-RULES 20, 21):
 * parsing good and bad text (all or nothing), exact / subdomain / bracketed
 * next-hop matches, the default, and next-hop parsing (domains, smarthosts
 * on 25/465/587, IP literals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "relay/policy.h"

static enum policy_level lookup(const struct policy_table *t, const char *dest)
{
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse(dest, &nh), 0);
	return policy_lookup(t, &nh);
}

static void level_words_round_trip(void **state)
{
	(void)state;
	const char *words[] = { "none", "may", "encrypt", "dane", "dane-only", "verify" };
	for (unsigned i = 0; i < 6; i++) {
		enum policy_level l;
		assert_int_equal(policy_level_parse(words[i], strlen(words[i]), &l), 0);
		assert_int_equal(l, i);
		assert_string_equal(policy_level_name(l), words[i]);
	}
	enum policy_level l = POLICY_MAY;
	assert_int_equal(policy_level_parse("DANE-Only", 9, &l), 0);
	assert_int_equal(l, POLICY_DANE_ONLY);
	assert_int_equal(policy_level_parse("secure", 6, &l), POLICY_ELEVEL);
	assert_int_equal(policy_level_parse("dane-", 5, &l), POLICY_ELEVEL);
	assert_int_equal(policy_level_parse("", 0, &l), POLICY_ELEVEL);
}

static void the_example_table_parses_and_matches(void **state)
{
	(void)state;
	struct policy_table t;
	policy_table_init(&t);
	size_t off = 999;
	int n = policy_table_parse(
		&t, "example.com=dane-only, .example.org=encrypt, [smtp.relay.example]:587=verify", &off);
	assert_int_equal(n, 3);
	assert_int_equal(t.count, 3);

	/* exact */
	assert_int_equal(lookup(&t, "example.com"), POLICY_DANE_ONLY);
	assert_int_equal(lookup(&t, "EXAMPLE.com."), POLICY_DANE_ONLY);
	/* an exact entry does not cover subdomains */
	assert_int_equal(lookup(&t, "mail.example.com"), POLICY_DANE);
	/* leading dot: subdomains, at any depth, but not the parent itself */
	assert_int_equal(lookup(&t, "a.example.org"), POLICY_ENCRYPT);
	assert_int_equal(lookup(&t, "x.y.example.org"), POLICY_ENCRYPT);
	assert_int_equal(lookup(&t, "example.org"), POLICY_DANE);
	assert_int_equal(lookup(&t, "badexample.org"), POLICY_DANE);
	/* bracketed next hop: host and port must both agree */
	assert_int_equal(lookup(&t, "[smtp.relay.example]:587"), POLICY_VERIFY);
	assert_int_equal(lookup(&t, "[SMTP.relay.example]:587"), POLICY_VERIFY);
	assert_int_equal(lookup(&t, "[smtp.relay.example]:465"), POLICY_DANE);
	assert_int_equal(lookup(&t, "[smtp.relay.example]"), POLICY_DANE);
	/* the same name as a domain (MX delivery) is not the bracketed hop */
	assert_int_equal(lookup(&t, "smtp.relay.example"), POLICY_DANE);
	/* unknown: the default, which is dane */
	assert_int_equal(lookup(&t, "other.net"), POLICY_DANE);
	assert_int_equal(policy_lookup_domain(&t, "example.com"), POLICY_DANE_ONLY);
}

static void nearest_parent_wins_and_default_is_settable(void **state)
{
	(void)state;
	struct policy_table t;
	policy_table_init(&t);
	assert_int_equal(t.dflt, POLICY_DANE);
	assert_int_equal(policy_table_parse(&t, ".org=may\n.example.org=dane-only\texample.org = none",
					    NULL),
			 3);
	assert_int_equal(policy_lookup_domain(&t, "a.example.org"), POLICY_DANE_ONLY);
	assert_int_equal(policy_lookup_domain(&t, "example.org"), POLICY_NONE);
	assert_int_equal(policy_lookup_domain(&t, "other.org"), POLICY_MAY);
	policy_table_set_default(&t, POLICY_MAY);
	assert_int_equal(policy_lookup_domain(&t, "example.net"), POLICY_MAY);
	/* a second parse adds to the table */
	assert_int_equal(policy_table_parse(&t, "example.net=encrypt", NULL), 1);
	assert_int_equal(policy_lookup_domain(&t, "example.net"), POLICY_ENCRYPT);
	/* empty text adds nothing */
	assert_int_equal(policy_table_parse(&t, " ,, \n", NULL), 0);
	assert_int_equal(t.count, 4);
}

static void bad_text_is_refused_whole_with_the_offset(void **state)
{
	(void)state;
	struct policy_table t;
	policy_table_init(&t);
	assert_int_equal(policy_table_parse(&t, "keep.example=may", NULL), 1);
	struct {
		const char *text;
		int err;
		size_t off;
	} bad[] = {
		{ "a.example=dane, b.example", POLICY_ESYNTAX, 16 },
		{ "a.example=dane, b.example=", POLICY_ESYNTAX, 16 },
		{ "a.example=secure", POLICY_ELEVEL, 0 },
		{ "=dane", POLICY_ESYNTAX, 0 },
		{ "a..example=dane", POLICY_ENAME, 0 },
		{ "a_example.com=may x=y=z", POLICY_ESYNTAX, 18 },
		{ "bad!name=may", POLICY_ENAME, 0 },
		{ "[relay.example]:0=verify", POLICY_EPORT, 0 },
		{ "[relay.example]:65536=verify", POLICY_EPORT, 0 },
		{ "[relay.example]:x=verify", POLICY_EPORT, 0 },
		{ "[relay.example=verify", POLICY_ENAME, 0 },
		{ "[999.1.2.3]=may", POLICY_ENAME, 0 },
		{ "keep.example=dane", POLICY_EDUP, 0 },
		{ "x.example=may x.example=none", POLICY_EDUP, 14 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t off = 12345;
		int r = policy_table_parse(&t, bad[i].text, &off);
		if (r != bad[i].err || off != bad[i].off)
			fail_msg("\"%s\": got %d at %u, want %d at %u", bad[i].text, r, (unsigned)off,
				 bad[i].err, (unsigned)bad[i].off);
		/* all or nothing: the table is as before */
		assert_int_equal(t.count, 1);
		assert_int_equal(policy_lookup_domain(&t, "a.example"), POLICY_DANE);
	}
	/* a label of 64 and a name of 254 are too long */
	char big[300];
	memset(big, 'a', 64);
	strcpy(big + 64, ".example=may");
	assert_int_equal(policy_table_parse(&t, big, NULL), POLICY_ENAME);
	for (unsigned i = 0; i < 254; i++)
		big[i] = (i % 2) ? '.' : 'a';
	big[253] = 'a';
	strcpy(big + 254, "=may");
	assert_int_equal(policy_table_parse(&t, big, NULL), POLICY_ENAME);
}

static void the_table_is_bounded(void **state)
{
	(void)state;
	struct policy_table t;
	policy_table_init(&t);
	char text[POLICY_ENTRIES_MAX * 24 + 32];
	size_t n = 0;
	for (unsigned i = 0; i < POLICY_ENTRIES_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "d%u.example=may,", i);
	assert_int_equal(policy_table_parse(&t, text, NULL), POLICY_ENTRIES_MAX);
	size_t off = 0;
	assert_int_equal(policy_table_parse(&t, "one.more=none", &off), POLICY_ENOSPC);
	assert_int_equal(t.count, POLICY_ENTRIES_MAX);
	assert_int_equal(policy_lookup_domain(&t, "one.more"), POLICY_DANE);
	char last[32];
	snprintf(last, sizeof(last), "d%u.example", POLICY_ENTRIES_MAX - 1);
	assert_int_equal(policy_lookup_domain(&t, last), POLICY_MAY);
}

static void nexthops_domains_smarthosts_and_literals(void **state)
{
	(void)state;
	struct policy_nexthop nh;
	assert_int_equal(policy_nexthop_parse("Example.COM", &nh), 0);
	assert_string_equal(nh.host, "example.com");
	assert_int_equal(nh.port, 25);
	assert_false(nh.no_mx);
	assert_false(nh.ip_literal);
	assert_false(nh.implicit_tls);

	/* bracketed: no MX lookup; 587 = STARTTLS */
	assert_int_equal(policy_nexthop_parse("[smtp.relay.example]:587", &nh), 0);
	assert_string_equal(nh.host, "smtp.relay.example");
	assert_int_equal(nh.port, 587);
	assert_true(nh.no_mx);
	assert_false(nh.implicit_tls);
	/* 465 = implicit TLS (RFC 8314) */
	assert_int_equal(policy_nexthop_parse("[smtp.relay.example]:465", &nh), 0);
	assert_true(nh.implicit_tls);
	/* unbracketed with a port: MX lookup of the name, delivery on port */
	assert_int_equal(policy_nexthop_parse("relay.example:2525", &nh), 0);
	assert_false(nh.no_mx);
	assert_int_equal(nh.port, 2525);
	/* IP literals */
	assert_int_equal(policy_nexthop_parse("[192.0.2.1]", &nh), 0);
	assert_true(nh.ip_literal);
	assert_true(nh.no_mx);
	assert_string_equal(nh.host, "192.0.2.1");
	assert_int_equal(nh.port, 25);
	assert_int_equal(policy_nexthop_parse("[IPv6:2001:DB8::1]:587", &nh), 0);
	assert_true(nh.ip_literal);
	assert_string_equal(nh.host, "2001:db8::1");
	assert_int_equal(nh.port, 587);

	/* the configuration's forms of an IPv6 smarthost */
	assert_int_equal(policy_nexthop_parse("[2001:db8::2]:587", &nh), 0);
	assert_true(nh.ip_literal);
	assert_string_equal(nh.host, "2001:db8::2");
	assert_int_equal(nh.port, 587);
	assert_int_equal(policy_nexthop_parse("2001:DB8::3", &nh), 0);
	assert_true(nh.ip_literal);
	assert_true(nh.no_mx);
	assert_string_equal(nh.host, "2001:db8::3");
	assert_int_equal(nh.port, 25);

	/* refused, nh unchanged */
	struct policy_nexthop keep = nh;
	const char *bad[] = { "", "[]", "[192.0.2.1", "[IPv6:192.0.2.1]", "[IPv6:zz::1]", "[1.2.3]",
			      "host:", "host:0", "host:99999", "[host]x", "[host]:25x", "a b", "-x..y",
			      "2001:db8::zz", "1.2.3.4:5:6" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (policy_nexthop_parse(bad[i], &nh) >= 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_memory_equal(&nh, &keep, sizeof(nh));
	}
	assert_int_equal(policy_nexthop_parse(NULL, &nh), POLICY_EINVAL);
}

static void ip_literal_policy_is_looked_up_by_address(void **state)
{
	(void)state;
	struct policy_table t;
	policy_table_init(&t);
	assert_int_equal(policy_table_parse(&t, "[192.0.2.1]=encrypt [IPv6:2001:db8::1]=none", NULL),
			 2);
	assert_int_equal(lookup(&t, "[192.0.2.1]"), POLICY_ENCRYPT);
	assert_int_equal(lookup(&t, "[192.0.2.1]:587"), POLICY_DANE);
	assert_int_equal(lookup(&t, "[IPv6:2001:DB8::1]"), POLICY_NONE);
	assert_int_equal(lookup(&t, "[192.0.2.2]"), POLICY_DANE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(level_words_round_trip),
		cmocka_unit_test(the_example_table_parses_and_matches),
		cmocka_unit_test(nearest_parent_wins_and_default_is_settable),
		cmocka_unit_test(bad_text_is_refused_whole_with_the_offset),
		cmocka_unit_test(the_table_is_bounded),
		cmocka_unit_test(nexthops_domains_smarthosts_and_literals),
		cmocka_unit_test(ip_literal_policy_is_looked_up_by_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
