/* test_smtp_reply — the client's reply reader: single and multi-line
 * replies, pipelined replies split at reply boundaries, byte-by-byte
 * input, enhanced status codes, EHLO keywords, and broken servers (mixed
 * codes, bad syntax, lines and replies over the limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_reply.h"

/* Reads one reply from text; returns the octets used or the error. */
static long read_one(struct smtp_reply_reader *rd, const char *text, bool *done)
{
	return smtp_reply_feed(rd, (const uint8_t *)text, strlen(text), done);
}

static void single_line_reply_with_enhanced_code(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done;
	smtp_reply_reader_init(&rd);
	assert_int_equal(read_one(&rd, "550 5.7.1 Relay access denied\r\n", &done), 31);
	assert_true(done);
	assert_int_equal(rd.reply.code, 550);
	assert_int_equal(rd.reply.enh[0], 5);
	assert_int_equal(rd.reply.enh[1], 7);
	assert_int_equal(rd.reply.enh[2], 1);
	assert_string_equal(rd.reply.text, "5.7.1 Relay access denied");
	/* no enhanced code, or one of the wrong class: all zero */
	assert_true(read_one(&rd, "220 mx.example.org ESMTP\r\n", &done) > 0 && done);
	assert_int_equal(rd.reply.enh[0], 0);
	assert_true(read_one(&rd, "450 5.7.1 mixed up\r\n", &done) > 0 && done);
	assert_int_equal(rd.reply.enh[0], 0);
	assert_true(read_one(&rd, "250\r\n", &done) > 0 && done); /* code alone */
	assert_int_equal(rd.reply.code, 250);
	assert_string_equal(rd.reply.text, "");
}

static void ehlo_reply_and_its_keywords(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done;
	char p[64];
	const char *ehlo = "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n"
			   "250-starttls\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n";
	smtp_reply_reader_init(&rd);
	assert_int_equal(read_one(&rd, ehlo, &done), (long)strlen(ehlo));
	assert_true(done);
	assert_int_equal(rd.reply.lines, 6);
	assert_true(smtp_reply_ehlo_has(&rd.reply, "STARTTLS", NULL, 0));
	assert_true(smtp_reply_ehlo_has(&rd.reply, "SIZE", p, sizeof(p)));
	assert_string_equal(p, "35882577");
	assert_true(smtp_reply_ehlo_has(&rd.reply, "smtputf8", p, sizeof(p)));
	assert_string_equal(p, "");
	assert_true(smtp_reply_ehlo_has(&rd.reply, "AUTH", p, 6));
	assert_string_equal(p, "PLAIN"); /* truncated to the buffer */
	assert_false(smtp_reply_ehlo_has(&rd.reply, "AUT", NULL, 0));
	assert_false(smtp_reply_ehlo_has(&rd.reply, "CHUNKING", NULL, 0));
	assert_false(smtp_reply_ehlo_has(&rd.reply, "mx.example.org", NULL, 0)); /* greeting line */
}

static void pipelined_replies_come_one_at_a_time(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done;
	const char *in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.5.1 Error: no valid recipients\r\n";
	size_t off = 0, n = strlen(in);
	int codes[3], k = 0;
	smtp_reply_reader_init(&rd);
	while (off < n) {
		long used = smtp_reply_feed(&rd, (const uint8_t *)in + off, n - off, &done);
		assert_true(used > 0);
		off += (size_t)used;
		assert_true(done);
		codes[k++] = rd.reply.code;
	}
	assert_int_equal(k, 3);
	assert_int_equal(codes[0], 250);
	assert_int_equal(codes[2], 554);
}

static void byte_by_byte_and_bare_lf(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done = false;
	const char *in = "421-4.3.2 busy\n421 4.3.2 try later\r\n";
	smtp_reply_reader_init(&rd);
	for (size_t i = 0; i < strlen(in); i++) {
		assert_false(done);
		assert_int_equal(smtp_reply_feed(&rd, (const uint8_t *)in + i, 1, &done), 1);
	}
	assert_true(done);
	assert_int_equal(rd.reply.code, 421);
	assert_string_equal(rd.reply.text, "4.3.2 busy\n4.3.2 try later");
}

static void broken_servers_are_detected(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done;
	const char *bad[] = { "25\r\n", "abc hello\r\n", "199 too low\r\n", "650 too high\r\n",
			      "250_underscore\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_reader_init(&rd);
		assert_int_equal(read_one(&rd, bad[i], &done), SMTP_REPLY_ESYNTAX);
	}
	smtp_reply_reader_init(&rd);
	assert_int_equal(read_one(&rd, "250-a\r\n550 b\r\n", &done), SMTP_REPLY_EMIXED);

	char line[600];
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + 510, "\r\n", 3); /* 512 with CRLF: fine */
	smtp_reply_reader_init(&rd);
	assert_int_equal(read_one(&rd, line, &done), 512);
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	memcpy(line + 511, "\r\n", 3); /* 513 */
	smtp_reply_reader_init(&rd);
	assert_int_equal(read_one(&rd, line, &done), SMTP_REPLY_ETOOLONG);

	/* an endless multi-line reply is cut off */
	smtp_reply_reader_init(&rd);
	long r = 0;
	for (int i = 0; i <= SMTP_REPLY_LINES_MAX && r >= 0; i++)
		r = read_one(&rd, "250-more\r\n", &done);
	assert_int_equal(r, SMTP_REPLY_ETOOMANY);
}

static void control_characters_do_not_reach_the_text(void **state)
{
	(void)state;
	struct smtp_reply_reader rd;
	bool done;
	smtp_reply_reader_init(&rd);
	assert_true(smtp_reply_feed(&rd, (const uint8_t *)"550 a\033[2Jb\0c\r\n", 14, &done) > 0);
	assert_true(done);
	assert_string_equal(rd.reply.text, "a?[2Jb?c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_line_reply_with_enhanced_code),
		cmocka_unit_test(ehlo_reply_and_its_keywords),
		cmocka_unit_test(pipelined_replies_come_one_at_a_time),
		cmocka_unit_test(byte_by_byte_and_bare_lf),
		cmocka_unit_test(broken_servers_are_detected),
		cmocka_unit_test(control_characters_do_not_reach_the_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
