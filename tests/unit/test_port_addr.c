/* test_port_addr — port_addr_parse and port_addr_format (firmware/
 * port_common.c): IPv4 and IPv6 round trips, RFC 5952 canonical output,
 * ports, truncation, and input that must be refused untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "port.h"

/* Parses in, formats without port, expects out. */
static void roundtrip(const char *in, int family, const char *out)
{
	struct port_addr a;
	char buf[64];
	if (port_addr_parse(in, &a) != 0)
		fail_msg("refused \"%s\"", in);
	assert_int_equal(a.family, family);
	assert_int_equal(a.port, 0);
	assert_string_equal(port_addr_format(&a, false, buf, sizeof(buf)), out);
}

static void refused(const char *in)
{
	struct port_addr a;
	memset(&a, 0x5A, sizeof(a));
	if (port_addr_parse(in, &a) != PORT_EINVAL)
		fail_msg("accepted \"%s\"", in);
	for (size_t i = 0; i < sizeof(a.ip); i++)
		assert_int_equal(a.ip[i], 0x5A); /* untouched on failure */
	assert_int_equal(a.family, 0x5A);
}

static void ipv4_parses_and_formats(void **state)
{
	(void)state;
	roundtrip("192.0.2.1", PORT_AF_INET, "192.0.2.1");
	roundtrip("0.0.0.0", PORT_AF_INET, "0.0.0.0");
	roundtrip("255.255.255.255", PORT_AF_INET, "255.255.255.255");
	roundtrip("127.0.0.1", PORT_AF_INET, "127.0.0.1");
	struct port_addr a;
	assert_int_equal(port_addr_parse("10.20.30.40", &a), 0);
	const uint8_t want[4] = { 10, 20, 30, 40 };
	assert_memory_equal(a.ip, want, 4);
}

static void ipv4_bad_input_is_refused(void **state)
{
	(void)state;
	const char *bad[] = { "",	  "1",		"1.2.3",     "1.2.3.4.5", "256.1.1.1",
			      "1.2.3.256", "01.2.3.4",	"1.2.3.04",  "1..2.3",	  ".1.2.3",
			      "1.2.3.4.",  "1.2.3.4 ",	" 1.2.3.4",  "a.b.c.d",	  "1.2.3.4x",
			      "1234.1.1.1", "-1.2.3.4", "1.2.3.4/24", "0x1.2.3.4", "1.2.3.4:25" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i]);
}

static void ipv6_is_rfc5952_canonical(void **state)
{
	(void)state;
	roundtrip("::", PORT_AF_INET6, "::");
	roundtrip("::1", PORT_AF_INET6, "::1");
	roundtrip("1::", PORT_AF_INET6, "1::");
	roundtrip("2001:DB8::1", PORT_AF_INET6, "2001:db8::1");		/* lowercase */
	roundtrip("2001:0db8:0000:0000:0000:0000:0000:0001", PORT_AF_INET6, "2001:db8::1");
	roundtrip("2001:db8:0:0:1:0:0:1", PORT_AF_INET6, "2001:db8::1:0:0:1"); /* first of a tie */
	roundtrip("2001:0:0:1:0:0:0:1", PORT_AF_INET6, "2001:0:0:1::1");	   /* longest run */
	roundtrip("2001:db8:0:1:1:1:1:1", PORT_AF_INET6, "2001:db8:0:1:1:1:1:1"); /* one 0: no :: */
	roundtrip("2001:db8::", PORT_AF_INET6, "2001:db8::");
	roundtrip("0:0:0:0:0:0:0:1", PORT_AF_INET6, "::1");
	roundtrip("1:0:0:0:0:0:0:0", PORT_AF_INET6, "1::");
	roundtrip("fe80::1:2", PORT_AF_INET6, "fe80::1:2");
	roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PORT_AF_INET6,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	roundtrip("1:2:3:4:5:6:7::", PORT_AF_INET6, "1:2:3:4:5:6:7:0");
	roundtrip("::2:3:4:5:6:7:8", PORT_AF_INET6, "0:2:3:4:5:6:7:8");
	/* Embedded IPv4; the mapped range prints in mixed notation (§5). */
	roundtrip("::ffff:192.0.2.1", PORT_AF_INET6, "::ffff:192.0.2.1");
	roundtrip("::FFFF:c000:201", PORT_AF_INET6, "::ffff:192.0.2.1");
	roundtrip("64:ff9b::192.0.2.33", PORT_AF_INET6, "64:ff9b::c000:221");
	roundtrip("1:2:3:4:5:6:1.2.3.4", PORT_AF_INET6, "1:2:3:4:5:6:102:304");
	struct port_addr a;
	assert_int_equal(port_addr_parse("2001:db8::8:800:200c:417a", &a), 0);
	const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				   0, 0x08, 0x08, 0x00, 0x20, 0x0c, 0x41, 0x7a };
	assert_memory_equal(a.ip, want, 16);
}

static void ipv6_bad_input_is_refused(void **state)
{
	(void)state;
	const char *bad[] = {
		":",	   ":::",	  "1:::2",	  "1::2::3",	    ":1::2",	     "1::2:",
		"1:2:3:4:5:6:7",	  "1:2:3:4:5:6:7:8:9",	    "1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8",	  "12345::",	"g::1",		  "[::1]",	     "::1%eth0",
		"::1/128", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3",	  "::1.2.3.4:5",    "::256.0.0.1",
		"1.2.3.4::", "::ffff:01.2.3.4", " ::1", "::1 ", "1:2:3:4:5:6:7:8:",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i]);
}

static void overlong_and_null_input(void **state)
{
	(void)state;
	char big[200];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big);
	/* A valid address padded past the bound is still refused. */
	char padded[80];
	memset(padded, '0', sizeof(padded));
	memcpy(padded + sizeof(padded) - 4, ":1", 3);
	refused(padded);
	struct port_addr a;
	assert_int_equal(port_addr_parse(NULL, &a), PORT_EINVAL);
	assert_int_equal(port_addr_parse("::1", NULL), PORT_EINVAL);
}

static void format_with_port_and_truncation(void **state)
{
	(void)state;
	struct port_addr a;
	char buf[64];
	assert_int_equal(port_addr_parse("192.0.2.1", &a), 0);
	a.port = 25;
	assert_string_equal(port_addr_format(&a, true, buf, sizeof(buf)), "192.0.2.1:25");
	assert_int_equal(port_addr_parse("2001:db8::1", &a), 0);
	a.port = 65535;
	assert_string_equal(port_addr_format(&a, true, buf, sizeof(buf)), "[2001:db8::1]:65535");
	assert_int_equal(port_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a), 0);
	a.port = 65535;
	assert_string_equal(port_addr_format(&a, true, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* Truncated, but always terminated and never past size. */
	char small[8];
	memset(small, 'X', sizeof(small));
	assert_ptr_equal(port_addr_format(&a, true, small, 6), small);
	assert_string_equal(small, "[ffff");
	assert_int_equal(small[6], 'X');
	assert_string_equal(port_addr_format(&a, true, small, 1), "");
	assert_int_equal(small[1], 'f'); /* nothing written beyond */
	/* No address family: a marker, not garbage. */
	struct port_addr none = { 0 };
	assert_string_equal(port_addr_format(&none, true, buf, sizeof(buf)), "(no address)");
}

static void strerror_names_every_code(void **state)
{
	(void)state;
	const int codes[] = { PORT_OK,	       PORT_EIO,	 PORT_EAGAIN,	    PORT_ENOMEM,
			      PORT_EINVAL,     PORT_ENOSPC,	 PORT_EADDRINUSE,   PORT_ENETUNREACH,
			      PORT_ECONNRESET, PORT_ETIMEDOUT, PORT_ECONNREFUSED, PORT_ENOTSUP,
			      PORT_EPOWER,     PORT_ENOTERASED };
	const char *unknown = port_strerror(-9999);
	assert_non_null(unknown);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = port_strerror(codes[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, unknown);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, port_strerror(codes[j]));
	}
	assert_non_null(port_strerror(12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_parses_and_formats),
		cmocka_unit_test(ipv4_bad_input_is_refused),
		cmocka_unit_test(ipv6_is_rfc5952_canonical),
		cmocka_unit_test(ipv6_bad_input_is_refused),
		cmocka_unit_test(overlong_and_null_input),
		cmocka_unit_test(format_with_port_and_truncation),
		cmocka_unit_test(strerror_names_every_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
