/* test_web_http — the web console's HTTP/1.1 request parser: good
 * requests (keep-alive, pipelined, split at every byte, bodies, cookies)
 * and every refusal with its own status: 400 malformed, 405, 411, 413,
 * 414, 431, 501, 505; and the form decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/http.h"

static struct http_parser P;

/* Feeds the whole text at once; returns bytes used. */
static size_t feed(const char *text)
{
	http_parser_reset(&P);
	return http_feed(&P, (const uint8_t *)text, strlen(text));
}

static void expect_error(const char *text, int status)
{
	feed(text);
	if (P.state != HTTP_P_ERROR || P.status != status)
		fail_msg("want %d for [%.60s...], got state %d status %d (%s)", status, text,
			 (int)P.state, P.status, P.why ? P.why : "");
	assert_false(P.keep_alive);
}

static void test_simple_get(void **state)
{
	(void)state;
	const char *req = "GET /queue?id=0000002A HTTP/1.1\r\nHost: gw\r\n"
			  "Cookie: a=b; dg_sid=00112233445566778899aabbccddeeff; c=d\r\n\r\n";
	assert_int_equal(feed(req), strlen(req));
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_int_equal(P.method, HTTP_GET);
	assert_string_equal(P.path, "/queue");
	assert_string_equal(P.query, "id=0000002A");
	assert_string_equal(P.sid, "00112233445566778899aabbccddeeff");
	assert_true(P.keep_alive);
	assert_int_equal(P.len, 0);
}

static void test_connection_close_and_http10(void **state)
{
	(void)state;
	feed("GET / HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_false(P.keep_alive);
	feed("GET / HTTP/1.0\r\n\r\n"); /* no Host needed, closes by default */
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_false(P.keep_alive);
	feed("HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_int_equal(P.method, HTTP_HEAD);
	assert_true(P.keep_alive);
}

static void test_post_body_and_pipelining(void **state)
{
	(void)state;
	const char *two = "POST /settings HTTP/1.1\r\nHost: gw\r\nContent-Type: "
			  "application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: 11\r\n\r\n"
			  "a=save&x=%2Bnext GET / HTTP/1.1\r\nHost: gw\r\n\r\n";
	size_t used = feed(two);
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_int_equal(P.method, HTTP_POST);
	assert_true(P.form);
	assert_int_equal(P.len, 11);
	assert_string_equal(P.buf, "a=save&x=%2");
	/* the rest is the next request, untouched */
	const char *rest = two + used;
	assert_int_equal(strncmp(rest, "Bnext GET", 9), 0);
}

static void test_split_at_every_byte(void **state)
{
	(void)state;
	const char *req = "POST /login HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
			  "Content-Type: application/x-www-form-urlencoded\r\n\r\nab=cd";
	http_parser_reset(&P);
	for (size_t i = 0; req[i]; i++)
		assert_int_equal(http_feed(&P, (const uint8_t *)req + i, 1), 1);
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_string_equal(P.buf, "ab=cd");
	/* bare LF line ends are taken too */
	feed("GET / HTTP/1.1\nHost: gw\n\n");
	assert_int_equal(P.state, HTTP_P_DONE);
	/* one empty line before the request is allowed */
	feed("\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(P.state, HTTP_P_DONE);
}

static void test_malformed_is_400(void **state)
{
	(void)state;
	expect_error("GET\r\n\r\n", 400);
	expect_error("GET /\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1 extra\r\n\r\n", 400);
	expect_error("GET  / HTTP/1.1\r\n\r\n", 400);
	expect_error("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_error("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\n\r\n", 400); /* no Host */
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400);
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", 400); /* obs-fold */
	expect_error("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400);	     /* bare CR */
	expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n", 400);
	expect_error("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_error("GET / HTTP/x.1\r\nHost: a\r\n\r\n", 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		     400);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n",
		     400);
	http_parser_reset(&P);
	static const uint8_t nul[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
	http_feed(&P, nul, sizeof(nul) - 1);
	assert_int_equal(P.state, HTTP_P_ERROR);
	assert_int_equal(P.status, 400);
}

static void test_methods_and_versions(void **state)
{
	(void)state;
	expect_error("PUT / HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_error("DELETE /queue HTTP/1.1\r\nHost: a\r\n\r\n", 405);
	expect_error("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
	expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\n\r\n", 411);
}

static void test_bounds(void **state)
{
	(void)state;
	static char big[HTTP_HEAD_MAX * 2];
	/* the path, the query, the request line */
	snprintf(big, sizeof(big), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PATH_MAX, 0);
	expect_error(big, 414);
	snprintf(big, sizeof(big), "GET /?q=%0*d HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_QUERY_MAX, 0);
	expect_error(big, 414);
	snprintf(big, sizeof(big), "GET /%0*d", HTTP_LINE_MAX + 10, 0);
	expect_error(big, 414);
	/* one header line, the number of lines, the whole head */
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-Long: %0*d\r\n\r\n",
		 HTTP_LINE_MAX, 0);
	expect_error(big, 431);
	size_t n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-%d: 1\r\n", i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	expect_error(big, 431);
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; n + 700 < sizeof(big) && i < 8; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-%d: %0600d\r\n", i, 0);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	expect_error(big, 431);
	/* the body */
	snprintf(big, sizeof(big), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
		 HTTP_LINE_MAX + 1);
	expect_error(big, 413);
	expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", 413);
	/* the largest body that fits */
	n = (size_t)snprintf(big, sizeof(big), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
			     HTTP_LINE_MAX);
	memset(big + n, 'x', HTTP_LINE_MAX);
	big[n + HTTP_LINE_MAX] = '\0';
	feed(big);
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_int_equal(P.len, HTTP_LINE_MAX);
	/* an over-long cookie is ignored, not truncated into a session id */
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nCookie: dg_sid=%0*d\r\n\r\n",
		 HTTP_SID_MAX + 1, 0);
	feed(big);
	assert_int_equal(P.state, HTTP_P_DONE);
	assert_string_equal(P.sid, "");
}

static void test_form_get(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(http_form_get("a=1&csrf=ab%20c+d&x=", "csrf", v, sizeof(v)), 6);
	assert_string_equal(v, "ab c d");
	assert_int_equal(http_form_get("a=1&x=", "x", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(http_form_get("a=1", "b", v, sizeof(v)), -1);
	assert_int_equal(http_form_get("ab=1", "a", v, sizeof(v)), -1);
	assert_int_equal(http_form_get("a=%zz", "a", v, sizeof(v)), -2);
	assert_int_equal(http_form_get("a=%4", "a", v, sizeof(v)), -2);
	assert_int_equal(http_form_get("a=x%0Ay", "a", v, sizeof(v)), -2); /* LF */
	assert_int_equal(http_form_get("a=x%00y", "a", v, sizeof(v)), -2); /* NUL */
	assert_int_equal(http_form_get("a=0123456789abcdef", "a", v, sizeof(v)), -2);
	assert_int_equal(http_form_get("a=0123456789abcde", "a", v, sizeof(v)), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_connection_close_and_http10),
		cmocka_unit_test(test_post_body_and_pipelining),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_malformed_is_400),
		cmocka_unit_test(test_methods_and_versions),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_form_get),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
