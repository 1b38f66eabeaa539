/* test_smtp_addr — RFC 5321 path parsing (lengths, quoting, source routes,
 * SMTPUTF8), numeric IP parsing, and the CIDR lists that decide who may
 * relay (IPv4, IPv6, IPv4-mapped clients, host bits, prefix edges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_addr.h"

static int parse(const char *text, bool allow_null, bool utf8, char *out, size_t *used)
{
	return smtp_path_parse(text, strlen(text), allow_null, utf8, out, SMTP_MAILBOX_BUF, used);
}

static void plain_paths_give_the_mailbox(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF];
	size_t used;
	assert_int_equal(parse("<alice@example.org> SIZE=10", false, false, out, &used), 0);
	assert_string_equal(out, "alice@example.org");
	assert_int_equal(used, strlen("<alice@example.org>"));
	assert_int_equal(parse("<a.b+tag@mail.example-one.org>", false, false, out, &used), 0);
	assert_string_equal(out, "a.b+tag@mail.example-one.org");
	assert_int_equal(parse("<x@[192.0.2.1]>", false, false, out, &used), 0);
	assert_int_equal(parse("<x@[IPv6:2001:db8::1]>", false, false, out, &used), 0);
	/* '%' and '!' are atext: kept as they are, they route nothing */
	assert_int_equal(parse("<victim%other.example@example.org>", false, false, out, &used), 0);
	assert_string_equal(out, "victim%other.example@example.org");
	assert_int_equal(parse("<host!victim@example.org>", false, false, out, &used), 0);
}

static void null_path_only_where_allowed(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF];
	size_t used;
	assert_int_equal(parse("<>", true, false, out, &used), 0);
	assert_string_equal(out, "");
	assert_int_equal(used, 2);
	assert_int_equal(parse("<>", false, false, out, &used), SMTP_ADDR_ESYNTAX);
}

static void quoted_local_parts_are_kept_quoted(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF];
	size_t used;
	assert_int_equal(parse("<\"john doe\"@example.org>", false, false, out, &used), 0);
	assert_string_equal(out, "\"john doe\"@example.org");
	/* the '@' and '>' inside the quotes do not end anything */
	assert_int_equal(parse("<\"a@b>c\"@example.org>", false, false, out, &used), 0);
	assert_string_equal(out, "\"a@b>c\"@example.org");
	assert_int_equal(parse("<\"q\\\"x\"@example.org>", false, false, out, &used), 0);
	assert_int_equal(parse("<\"unterminated@example.org>", false, false, out, &used),
			 SMTP_ADDR_ESYNTAX);
}

static void broken_paths_are_refused(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF];
	size_t used;
	const char *bad[] = { "alice@example.org", "<alice@example.org", "<a..b@example.org>",
			      "<.a@example.org>", "<a.@example.org>", "<a@-x.org>", "<a@x-.org>",
			      "<a@x..org>", "<a b@x.org>", "<a@[300.1.1.1]>", "<a@[IPv6:1::2::3]>",
			      "<a@b@c>", "<@>", "<a@>" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(bad[i], true, false, out, &used);
		if (err == 0)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(parse("<@relay.example:victim@example.org>", false, false, out, &used),
			 SMTP_ADDR_EROUTE);
	assert_int_equal(parse("<@a,@b:victim@example.org>", false, false, out, &used),
			 SMTP_ADDR_EROUTE);
	assert_int_equal(parse("<postmaster>", false, false, out, &used), SMTP_ADDR_ENODOMAIN);
}

static void length_limits_are_enforced(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF], text[600];
	size_t used;
	/* local part: 64 fits, 65 does not */
	snprintf(text, sizeof(text), "<%.*s@x.org>", 64,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(parse(text, false, false, out, &used), 0);
	snprintf(text, sizeof(text), "<%.*s@x.org>", 65,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(parse(text, false, false, out, &used), SMTP_ADDR_ETOOLONG);
	/* path: "<" + 254 + ">" = 256 fits; one more does not */
	char dom[300];
	size_t n = 0;
	while (n < 240) {
		memcpy(dom + n, "abcdefghi.", 10);
		n += 10;
	}
	memcpy(dom + n, "org", 4);
	/* local "a" + "@" + 243-octet domain = 245 octets, path 247 */
	snprintf(text, sizeof(text), "<a@%s>", dom);
	assert_int_equal(parse(text, false, false, out, &used), 0);
	snprintf(text, sizeof(text), "<aaaaaaaaaaa@%s>", dom); /* path 257 */
	assert_int_equal(parse(text, false, false, out, &used), SMTP_ADDR_ETOOLONG);
}

static void utf8_only_with_smtputf8(void **state)
{
	(void)state;
	char out[SMTP_MAILBOX_BUF];
	size_t used;
	const char *addr = "<j\xc3\xbcrgen@b\xc3\xbc"
			   "cher.example>";
	assert_int_equal(parse(addr, false, false, out, &used), SMTP_ADDR_EUTF8);
	assert_int_equal(parse(addr, false, true, out, &used), 0);
	/* an overlong encoding of '@' is not UTF-8 even with SMTPUTF8 */
	assert_int_equal(parse("<a\xc0\x80"
			       "b@x.org>",
			       false, true, out, &used),
			 SMTP_ADDR_EUTF8);
	assert_false(smtp_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
	assert_true(smtp_utf8_valid((const uint8_t *)"\xf0\x9f\x93\xa7", 4));
}

static void ip_text_is_parsed_strictly(void **state)
{
	(void)state;
	struct port_addr a;
	assert_int_equal(smtp_ip_parse("192.0.2.1", 9, &a), 0);
	assert_int_equal(a.family, PORT_AF_INET);
	assert_memory_equal(a.ip, "\xc0\x00\x02\x01", 4);
	assert_int_equal(smtp_ip_parse("2001:db8::1", 11, &a), 0);
	assert_int_equal(a.family, PORT_AF_INET6);
	assert_memory_equal(a.ip, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(smtp_ip_parse("::ffff:10.1.2.3", 15, &a), 0);
	assert_memory_equal(a.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x01\x02\x03", 16);
	assert_int_equal(smtp_ip_parse("::", 2, &a), 0);
	const char *bad[] = { "010.0.0.1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1::2::3",
			      "1:2:3:4:5:6:7:8:9", "12345::", ":1::", "1::2:", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (smtp_ip_parse(bad[i], strlen(bad[i]), &a) == 0)
			fail_msg("accepted %s", bad[i]);
}

static bool in_net(const char *cidr, const char *ip)
{
	struct smtp_cidr c;
	struct port_addr a;
	assert_int_equal(smtp_cidr_parse(cidr, &c), 0);
	assert_int_equal(smtp_ip_parse(ip, strlen(ip), &a), 0);
	return smtp_cidr_match(&c, &a);
}

static void relay_networks_match_by_prefix(void **state)
{
	(void)state;
	assert_true(in_net("192.168.0.0/16", "192.168.255.1"));
	assert_false(in_net("192.168.0.0/16", "192.169.0.1"));
	assert_true(in_net("10.0.0.0/8", "10.200.3.4"));
	assert_true(in_net("192.0.2.7", "192.0.2.7")); /* bare address = /32 */
	assert_false(in_net("192.0.2.7", "192.0.2.8"));
	assert_true(in_net("0.0.0.0/0", "203.0.113.9"));
	assert_true(in_net("192.168.1.128/25", "192.168.1.200"));
	assert_false(in_net("192.168.1.128/25", "192.168.1.100"));
	assert_true(in_net("fd00::/8", "fd12:3456::1"));
	assert_false(in_net("fd00::/8", "fe80::1"));
	assert_true(in_net("2001:db8:1::/48", "2001:db8:1:ffff::1"));
	assert_false(in_net("2001:db8:1::/48", "2001:db8:2::1"));
	/* a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d */
	assert_true(in_net("192.168.0.0/16", "::ffff:192.168.7.7"));
	assert_false(in_net("192.168.0.0/16", "::ffff:192.169.7.7"));
	assert_false(in_net("192.168.0.0/16", "::192.168.7.7")); /* compat, not mapped */
	assert_true(in_net("::ffff:192.168.0.0/112", "192.168.3.3"));
	/* ::/0 is "all IPv6", not a back door for every IPv4 client */
	assert_false(in_net("::/0", "203.0.113.9"));
	assert_false(in_net("127.0.0.0/8", "::1"));
}

static void cidr_typos_are_refused(void **state)
{
	(void)state;
	struct smtp_cidr c;
	const char *bad[] = { "192.168.1.1/16", "192.168.0.0/33", "192.168.0.0/", "192.168.0.0/08",
			      "fd00::1/8", "fd00::/129", "192.168.0.0/1a", "lan", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (smtp_cidr_parse(bad[i], &c) == 0)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(smtp_cidr_parse("fd00::/8", &c), 0);
	assert_int_equal(c.prefix_len, 8);
	assert_int_equal(c.net.family, PORT_AF_INET6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_paths_give_the_mailbox),
		cmocka_unit_test(null_path_only_where_allowed),
		cmocka_unit_test(quoted_local_parts_are_kept_quoted),
		cmocka_unit_test(broken_paths_are_refused),
		cmocka_unit_test(length_limits_are_enforced),
		cmocka_unit_test(utf8_only_with_smtputf8),
		cmocka_unit_test(ip_text_is_parsed_strictly),
		cmocka_unit_test(relay_networks_match_by_prefix),
		cmocka_unit_test(cidr_typos_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
