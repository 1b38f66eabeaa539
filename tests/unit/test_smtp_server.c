/* test_smtp_server — the inbound SMTP engine driven through whole
 * dialogues against a fake queue: pipelined and not, every limit and error
 * path, SMTP smuggling attempts, relay-control tricks, AUTH and STARTTLS,
 * timeouts, the session limit, back-pressure, the Received: header, and
 * byte-by-byte feeding giving the same result as feeding whole: every
 * test runs twice, fed whole and fed one octet per call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_server.h"

/* 2026-11-28 12:00:00 UTC */
#define WALL 1795867200
#define NOW0 1000000u

/* ---- a fake queue that records what reaches it ------------------------- */
struct fake_queue {
	int begins, commits, aborts, size_checks;
	unsigned flags;
	char sender[SMTP_MAILBOX_BUF];
	char rcpts[8][SMTP_MAILBOX_BUF];
	int nrcpt;
	char data[16384];
	size_t data_len;
	/* knobs */
	int check_size_ret, begin_ret, rcpt_ret, write_ret, commit_ret;
	int auth_calls;
	char log[4096]; /* every log line, each ending in '\n' */
};

static int q_check_size(void *ctx, uint64_t size)
{
	struct fake_queue *q = ctx;
	(void)size;
	q->size_checks++;
	return q->check_size_ret;
}

static int q_begin(void *ctx, const char *sender, unsigned flags)
{
	struct fake_queue *q = ctx;
	if (q->begin_ret)
		return q->begin_ret;
	q->begins++;
	q->flags = flags;
	snprintf(q->sender, sizeof(q->sender), "%s", sender);
	q->nrcpt = 0;
	q->data_len = 0;
	return 0;
}

static int q_rcpt(void *ctx, const char *rcpt)
{
	struct fake_queue *q = ctx;
	if (q->rcpt_ret)
		return q->rcpt_ret;
	if (q->nrcpt < 8)
		snprintf(q->rcpts[q->nrcpt], SMTP_MAILBOX_BUF, "%s", rcpt);
	q->nrcpt++;
	return 0;
}

static int q_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fake_queue *q = ctx;
	if (q->write_ret)
		return q->write_ret;
	assert_true(q->data_len + len < sizeof(q->data));
	memcpy(q->data + q->data_len, data, len);
	q->data_len += len;
	q->data[q->data_len] = '\0';
	return 0;
}

static int q_commit(void *ctx, char *id, size_t size)
{
	struct fake_queue *q = ctx;
	if (q->commit_ret)
		return q->commit_ret;
	q->commits++;
	snprintf(id, size, "Q%d", q->commits);
	return 0;
}

static void q_abort(void *ctx)
{
	struct fake_queue *q = ctx;
	q->aborts++;
}

/* Test-only credentials; the real hook compares in constant time. */
static int q_auth(void *ctx, const char *user, const char *pass)
{
	struct fake_queue *q = ctx;
	q->auth_calls++;
	return strcmp(user, "alice") == 0 && strcmp(pass, "s3cret") == 0 ? 0 : SMTP_EDENIED;
}

static void q_log(void *ctx, enum port_log_level level, const char *text)
{
	struct fake_queue *q = ctx;
	size_t n = strlen(q->log);
	(void)level;
	assert_null(strpbrk(text, "\r\n"));
	snprintf(q->log + n, sizeof(q->log) - n, "%s\n", text);
}

static const struct smtp_server_hooks hooks = {
	.check_size = q_check_size,
	.msg_begin = q_begin,
	.msg_rcpt = q_rcpt,
	.msg_write = q_write,
	.msg_commit = q_commit,
	.msg_abort = q_abort,
	.auth_check = q_auth,
	.log = q_log,
};

/* ---- a session with its transcript ------------------------------------- */
#define LAN_CLIENT "192.168.1.10"
#define STRANGER "203.0.113.5"

struct session {
	struct smtp_server s;
	struct smtp_server_config cfg;
	struct smtp_cidr nets[2];
	struct fake_queue q;
	char out[65536]; /* everything the engine sent */
	size_t out_len;
	char codes[1024]; /* reply codes of final reply lines, space-separated */
};

static void drain(struct session *t)
{
	const uint8_t *p;
	size_t n = smtp_server_output(&t->s, &p);
	assert_true(t->out_len + n < sizeof(t->out));
	memcpy(t->out + t->out_len, p, n);
	t->out_len += n;
	t->out[t->out_len] = '\0';
	smtp_server_consumed_output(&t->s, n);
}

/* Default config plus the LAN as relay network; cfg may be adjusted by
 * the test before start(). */
static void setup(struct session *t, const char *client_ip, bool tls_available)
{
	memset(t, 0, sizeof(*t));
	smtp_server_config_defaults(&t->cfg);
	t->cfg.hostname = "mx.test";
	assert_int_equal(smtp_cidr_parse("192.168.0.0/16", &t->nets[0]), 0);
	assert_int_equal(smtp_cidr_parse("fd00::/8", &t->nets[1]), 0);
	t->cfg.relay_nets = t->nets;
	t->cfg.relay_nets_count = 2;
	t->cfg.tls_available = tls_available;
	struct smtp_peer peer = { 0 };
	assert_int_equal(smtp_ip_parse(client_ip, strlen(client_ip), &peer.addr), 0);
	peer.addr.port = 40000;
	assert_int_equal(smtp_server_init(&t->s, &t->cfg, &hooks, &t->q, &peer, NOW0, WALL), 0);
}

static void start(struct session *t)
{
	smtp_server_start(&t->s, 0);
	drain(t);
}

/* Feeds text in pieces of `chunk` octets (0: all at once), sending the
 * output whenever the engine pushes back, the way the event loop does. */
static void feed_chunked(struct session *t, const char *text, size_t len, size_t chunk)
{
	size_t off = 0;
	int stalls = 0;
	while (off < len) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		size_t used = smtp_server_feed(&t->s, (const uint8_t *)text + off, n);
		drain(t);
		off += used;
		if (used == 0) {
			enum smtp_want w = smtp_server_want(&t->s);
			assert_int_not_equal(w, SMTP_WANT_READ);
			assert_true(++stalls < 1000);
		}
	}
	drain(t);
}

/* How feed() hands the client's bytes over: 0 = all at once, 1 = one
 * octet per call. main() runs every test both ways, so each dialogue
 * checks that input chunking never changes the session. */
static size_t feed_chunk;

static int feed_whole(void **state)
{
	(void)state;
	feed_chunk = 0;
	return 0;
}

static int feed_bytewise(void **state)
{
	(void)state;
	feed_chunk = 1;
	return 0;
}

static void feed(struct session *t, const char *text)
{
	feed_chunked(t, text, strlen(text), feed_chunk);
}

/* "220 250 354 ..." — the code of every final reply line so far. */
static const char *codes(struct session *t)
{
	size_t n = 0;
	t->codes[0] = '\0';
	for (const char *p = t->out; *p;) {
		const char *eol = strstr(p, "\r\n");
		assert_non_null(eol);
		if (eol - p >= 4 && p[3] == ' ') {
			assert_true(n + 5 < sizeof(t->codes));
			if (n)
				t->codes[n++] = ' ';
			memcpy(t->codes + n, p, 3);
			n += 3;
			t->codes[n] = '\0';
		}
		p = eol + 2;
	}
	return t->codes;
}

static int count(const struct session *t, const char *needle)
{
	int c = 0;
	for (const char *p = t->out; (p = strstr(p, needle)) != NULL; p++)
		c++;
	return c;
}

static void assert_sent(const struct session *t, const char *needle)
{
	if (!strstr(t->out, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, t->out);
}

/* Just the message content (after our Received: header). */
static const char *content(const struct session *t)
{
	const char *p = strstr(t->q.data, "+0000\r\n");
	assert_non_null(p);
	return p + 7;
}

#define EHLO "EHLO client.lan\r\n"
#define ENVELOPE EHLO "MAIL FROM:<alice@lan.example>\r\nRCPT TO:<bob@example.org>\r\n"

/* ---- whole dialogues ----------------------------------------------------- */

static void lan_client_sends_one_message_step_by_step(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	assert_string_equal(t->out, "220 mx.test ESMTP danegate 0.1.0\r\n");
	feed(t, EHLO);
	feed(t, "MAIL FROM:<alice@lan.example>\r\n");
	feed(t, "RCPT TO:<bob@example.org>\r\n");
	feed(t, "DATA\r\n");
	assert_int_equal(smtp_server_state(&t->s), SMTP_S_DATA);
	feed(t, "Subject: hi\r\n\r\n..leading dot\r\n...\r\nend\r\n.\r\n");
	feed(t, "QUIT\r\n");
	assert_string_equal(codes(t), "220 250 250 250 354 250 221");
	assert_sent(t, "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(t->q.begins, 1);
	assert_int_equal(t->q.commits, 1);
	assert_int_equal(t->q.aborts, 0);
	assert_string_equal(t->q.sender, "alice@lan.example");
	assert_int_equal(t->q.nrcpt, 1);
	assert_string_equal(t->q.rcpts[0], "bob@example.org");
	/* dot-stuffing removed, CRLF kept */
	assert_string_equal(content(t), "Subject: hi\r\n\r\n.leading dot\r\n..\r\nend\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

static void pipelined_dialogue_gets_the_same_replies(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, ENVELOPE "RCPT TO:<carol@example.net>\r\nDATA\r\nhello\r\n.\r\n"
			 "MAIL FROM:<>\r\nRCPT TO:<dave@example.com>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n");
	assert_string_equal(codes(t), "220 250 250 250 250 354 250 250 250 354 250 221");
	assert_int_equal(t->q.commits, 2);
	assert_string_equal(t->q.sender, ""); /* the null sender of the second */
	assert_string_equal(content(t), "second\r\n");
	free(t);
}

static void ehlo_offers_the_extensions(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, true);
	start(t);
	feed(t, EHLO);
	assert_sent(t, "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
		       "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n");
	/* no AUTH in clear text */
	assert_int_equal(count(t, "AUTH"), 0);
	feed(t, "HELO client.lan\r\n");
	assert_sent(t, "\r\n250 mx.test\r\n");
	free(t);
}

static void commands_out_of_sequence_and_small_ones(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_errors = 0; /* unlimited here */
	start(t);
	feed(t, "MAIL FROM:<a@b.c>\r\n");
	assert_sent(t, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	feed(t, EHLO "RCPT TO:<a@b.c>\r\nDATA\r\n");
	assert_int_equal(count(t, "503 5.5.1 Error: need MAIL command\r\n"), 2);
	feed(t, "MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\n");
	assert_sent(t, "503 5.5.1 Error: nested MAIL command\r\n");
	feed(t, "DATA\r\n");
	assert_sent(t, "554 5.5.1 Error: no valid recipients\r\n");
	feed(t, "RSET\r\nRCPT TO:<a@b.c>\r\n");
	assert_int_equal(count(t, "503 5.5.1 Error: need MAIL command\r\n"), 3);
	feed(t, "NOOP\r\nVRFY bob\r\nHELP\r\nEXPN list\r\nMAIL TO:<x@y.z>\r\n");
	assert_sent(t, "250 2.0.0 Ok\r\n252 2.0.0 ");
	assert_sent(t, "214 2.0.0 Commands:");
	assert_sent(t, "502 5.5.1 Error: command not implemented\r\n"); /* EXPN */
	assert_sent(t, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	feed(t, "noop\r\n"); /* verbs are case-insensitive */
	assert_int_equal(count(t, "250 2.0.0 Ok\r\n"), 3);
	assert_int_equal(t->q.begins, 0);
	free(t);
}

static void mail_parameters(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, EHLO "MAIL FROM:<a@b.c> BODY=8BITMIME SMTPUTF8 SIZE=100\r\n"
		     "RCPT TO:<j\xc3\xbcrgen@b\xc3\xbc"
		     "cher.example>\r\n");
	assert_string_equal(codes(t), "220 250 250 250");
	assert_int_equal(t->q.flags, SMTP_MSG_8BITMIME | SMTP_MSG_SMTPUTF8);
	assert_int_equal(t->q.size_checks, 1);
	feed(t, "RSET\r\nMAIL FROM:<a@b.c> FOO=bar\r\n");
	assert_sent(t, "555 5.5.4 Unsupported MAIL parameter\r\n");
	feed(t, "MAIL FROM:<a@b.c> BODY=9BIT\r\n");
	assert_sent(t, "501 5.5.4 Bad BODY parameter\r\n");
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<j\xc3\xbcrgen@example.org>\r\n");
	assert_sent(t, "553 5.6.7 ");
	feed(t, "RCPT TO:<x@example.org> NOTIFY=NEVER\r\n");
	assert_sent(t, "555 5.5.4 Unsupported RCPT parameter\r\n");
	feed(t, "RCPT TO:<x@example.org>  \r\n"); /* trailing blanks are harmless */
	assert_int_equal(t->q.nrcpt, 1); /* first of the new transaction */
	assert_string_equal(t->q.rcpts[0], "x@example.org");
	free(t);
}

static void bad_addresses_from_a_relay_client(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_errors = 0;
	start(t);
	feed(t, EHLO "MAIL FROM:<alice@lan.example>\r\n"
		     "RCPT TO:<a..b@example.org>\r\n"
		     "RCPT TO:<@hop.example:bob@example.org>\r\n"
		     "RCPT TO:<postmaster>\r\n"
		     "RCPT TO:<>\r\n"
		     "RCPT TO:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org>\r\n"
		     "RCPT TO:bob@example.org\r\n");
	assert_string_equal(codes(t), "220 250 250 501 553 553 501 501 501");
	assert_sent(t, "553 5.1.3 Source routes are not accepted\r\n");
	assert_sent(t, "501 5.1.3 Path too long\r\n");
	feed(t, "RSET\r\nMAIL FROM:<@a:alice@lan.example>\r\n");
	assert_sent(t, "553 5.1.7 Source routes are not accepted\r\n");
	assert_int_equal(t->q.begins, 0);
	free(t);
}

/* ---- relay control ------------------------------------------------------ */

static void stranger_gets_554_for_every_trick(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, false);
	t->cfg.max_errors = 0;
	start(t);
	const char *tricks[] = {
		"<bob@example.org>",
		"<@mx.test:bob@example.org>",		/* source route */
		"<@mx.test,@other.test:bob@example.org>",
		"<bob%example.org@mx.test>",		/* % hack */
		"<example.org!bob@mx.test>",		/* ! path */
		"<example.org!bob>",
		"<\"bob@example.org\"@mx.test>",	/* quoted local part */
		"<\"bob%example.org\">",
		"<bob@[192.168.1.1]>",			/* our own address */
		"<postmaster>",
		"<postmaster@mx.test>",
		"<bob@example.org> NOTIFY=NEVER",
		"bob@example.org",
	};
	feed(t, EHLO "MAIL FROM:<spammer@example.com>\r\n");
	for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		char line[300];
		snprintf(line, sizeof(line), "RCPT TO:%s\r\n", tricks[i]);
		feed(t, line);
	}
	feed(t, "DATA\r\nSubject: spam\r\n\r\nspam\r\n.\r\nQUIT\r\n");
	assert_int_equal(count(t, "554 5.7.1 Relay access denied\r\n"),
			 (int)(sizeof(tricks) / sizeof(tricks[0])));
	assert_sent(t, "554 5.5.1 Error: no valid recipients\r\n");
	/* the queue never heard of it */
	assert_int_equal(t->q.begins, 0);
	assert_int_equal(t->q.commits, 0);
	assert_int_equal(t->q.data_len, 0);
	free(t);
}

static void ipv6_and_mapped_lan_clients_may_relay(void **state)
{
	(void)state;
	const char *clients[] = { "fd00:1::5", "::ffff:192.168.1.10" };
	for (size_t i = 0; i < 2; i++) {
		struct session *t = calloc(1, sizeof(*t));
		setup(t, clients[i], false);
		start(t);
		feed(t, ENVELOPE);
		assert_string_equal(codes(t), "220 250 250 250");
		free(t);
	}
}

static void stranger_may_relay_after_auth_under_tls(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, true);
	start(t);
	feed(t, EHLO "STARTTLS\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_STARTTLS);
	smtp_server_tls_started(&t->s, "TLSv1.3", "TLS1-3-AES-256-GCM-SHA384");
	feed(t, EHLO);
	assert_sent(t, "250 AUTH PLAIN LOGIN\r\n");
	assert_int_equal(count(t, "STARTTLS"), 1); /* not offered again */
	/* "\0alice\0s3cret" */
	feed(t, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	assert_sent(t, "235 2.7.0 Authentication successful\r\n");
	feed(t, "MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nhi\r\n.\r\n");
	assert_string_equal(codes(t), "220 250 220 250 235 250 250 354 250");
	assert_int_equal(t->q.flags, SMTP_MSG_TLS | SMTP_MSG_AUTH);
	assert_string_equal(t->q.data,
			    "Received: from client.lan ([203.0.113.5])\r\n"
			    "\tby mx.test (danegate) with ESMTPSA\r\n"
			    "\t(TLSv1.3 with cipher TLS1-3-AES-256-GCM-SHA384)\r\n"
			    "\tfor <bob@example.org>; Sat, 28 Nov 2026 12:00:00 +0000\r\n"
			    "hi\r\n");
	free(t);
}

/* ---- AUTH ------------------------------------------------------------------ */

static struct session *tls_session(const char *ip)
{
	struct session *t = calloc(1, sizeof(*t));
	setup(t, ip, true);
	start(t);
	feed(t, EHLO "STARTTLS\r\n");
	smtp_server_tls_started(&t->s, "TLSv1.2", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
	t->out_len = 0;
	t->out[0] = '\0';
	feed(t, EHLO);
	return t;
}

static void auth_is_refused_in_clear_text(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, true);
	start(t);
	feed(t, EHLO "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n");
	assert_sent(t, "538 5.7.11 Encryption required");
	assert_sent(t, "554 5.7.1 Relay access denied\r\n");
	assert_int_equal(t->q.auth_calls, 0);
	free(t);
}

static void auth_in_clear_text_when_configured(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, false);
	t->cfg.auth_over_plaintext = true;
	start(t);
	feed(t, EHLO "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n" "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n.\r\n");
	assert_sent(t, "250 AUTH PLAIN LOGIN\r\n");
	assert_string_equal(codes(t), "220 250 235 250 250 354 250");
	assert_non_null(strstr(t->q.data, "with ESMTPA\r\n"));
	free(t);
}

static void auth_plain_with_challenge(void **state)
{
	(void)state;
	struct session *t = tls_session(STRANGER);
	feed(t, "AUTH PLAIN\r\n");
	assert_sent(t, "334 \r\n");
	assert_int_equal(smtp_server_state(&t->s), SMTP_S_AUTH_PLAIN);
	/* "alice\0alice\0s3cret": authzid equal to the user is fine */
	feed(t, "YWxpY2UAYWxpY2UAczNjcmV0\r\n");
	assert_sent(t, "235 2.7.0 ");
	feed(t, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	assert_sent(t, "503 5.5.1 Error: already authenticated\r\n");
	free(t);
}

static void auth_login_both_ways(void **state)
{
	(void)state;
	struct session *t = tls_session(STRANGER);
	feed(t, "AUTH LOGIN\r\n");
	assert_sent(t, "334 VXNlcm5hbWU6\r\n");
	feed(t, "YWxpY2U=\r\n");
	assert_sent(t, "334 UGFzc3dvcmQ6\r\n");
	feed(t, "czNjcmV0\r\n");
	assert_sent(t, "235 2.7.0 Authentication successful\r\n");
	free(t);

	t = tls_session(STRANGER);
	feed(t, "AUTH LOGIN YWxpY2U=\r\nczNjcmV0\r\n"); /* user as initial response */
	assert_string_equal(codes(t), "250 334 235");
	free(t);
}

static void bad_credentials_and_cancel(void **state)
{
	(void)state;
	struct session *t = tls_session(STRANGER);
	feed(t, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n"); /* "\0alice\0wrong" */
	assert_sent(t, "535 5.7.8 Authentication credentials invalid\r\n");
	feed(t, "AUTH PLAIN Ym9iAGFsaWNlAHMzY3JldA==\r\n"); /* authzid "bob" != alice */
	assert_int_equal(count(t, "535 5.7.8"), 2);
	assert_int_equal(t->q.auth_calls, 1); /* the proxy attempt never reached the hook */
	feed(t, "AUTH LOGIN\r\n*\r\n");
	assert_sent(t, "501 5.0.0 Authentication cancelled\r\n");
	feed(t, "AUTH PLAIN !!!notbase64\r\n");
	assert_sent(t, "501 5.5.2 Cannot decode AUTH response\r\n");
	char big[1300];
	memset(big, 'A', sizeof(big));
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	feed(t, "AUTH PLAIN\r\n");
	feed(t, big); /* an AUTH response over 1000 octets */
	assert_sent(t, "500 5.5.6 Authentication Exchange line is too long\r\n");
	assert_int_equal(smtp_server_state(&t->s), SMTP_S_CMD);
	feed(t, "AUTH CRAM-MD5\r\n");
	assert_sent(t, "504 5.5.4 Unrecognized authentication type\r\n");
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n");
	assert_sent(t, "554 5.7.1 Relay access denied\r\n");
	free(t);
}

static void password_guessing_ends_the_session(void **state)
{
	(void)state;
	struct session *t = tls_session(STRANGER);
	for (int i = 0; i < 10; i++)
		feed(t, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
	assert_int_equal(count(t, "535 5.7.8"), 10);
	assert_sent(t, "421 4.7.0 mx.test Error: too many errors\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

/* ---- STARTTLS -------------------------------------------------------------- */

static void starttls_discards_pipelined_plaintext(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, true);
	start(t);
	const char *attack = EHLO "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n"
				  "RCPT TO:<victim@y.example>\r\n";
	size_t used = smtp_server_feed(&t->s, (const uint8_t *)attack, strlen(attack));
	assert_int_equal(used, strlen(attack)); /* taken, and thrown away */
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_FLUSH);
	drain(t);
	assert_string_equal(codes(t), "220 250 220");
	assert_sent(t, "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_STARTTLS);
	/* more plaintext before the handshake is dropped too */
	assert_int_equal(smtp_server_feed(&t->s, (const uint8_t *)"NOOP\r\n", 6), 6);
	drain(t);
	assert_string_equal(codes(t), "220 250 220");
	smtp_server_tls_started(&t->s, "TLSv1.3", "TLS1-3-AES-128-GCM-SHA256");
	/* the session starts over: no EHLO, no transaction */
	feed(t, "MAIL FROM:<a@b.c>\r\n");
	assert_sent(t, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_int_equal(t->q.begins, 0);
	feed(t, "STARTTLS\r\n");
	assert_sent(t, "503 5.5.1 Error: TLS already active\r\n");
	free(t);
}

static void starttls_without_certificate(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, EHLO "STARTTLS\r\nNOOP\r\n");
	assert_int_equal(count(t, "STARTTLS"), 0);
	assert_string_equal(codes(t), "220 250 454 250");
	free(t);
}

static void starttls_mid_transaction_drops_it(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, true);
	start(t);
	feed(t, ENVELOPE "STARTTLS\r\n");
	assert_int_equal(t->q.begins, 1);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

/* ---- DATA: smuggling, limits, queue trouble ------------------------------ */

static void smuggled_end_of_data_is_never_a_command(void **state)
{
	(void)state;
	const char *fake_ends[] = { "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n",
				    "\n..\n", "\r\n.\r\r\n" };
	for (size_t i = 0; i < sizeof(fake_ends) / sizeof(fake_ends[0]); i++) {
		struct session *t = calloc(1, sizeof(*t));
		char text[1024];
		setup(t, LAN_CLIENT, false);
		start(t);
		snprintf(text, sizeof(text),
			 ENVELOPE "DATA\r\nSubject: hello\r\n\r\nbody%s"
				  "MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.net>\r\n"
				  "DATA\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\nQUIT\r\n",
			 fake_ends[i]);
		feed(t, text);
		if (strcmp(codes(t), "220 250 250 250 354 550 221") != 0)
			fail_msg("fake end #%zu: codes %s", i, t->codes);
		assert_sent(t, "550 5.6.11 Message refused: bare CR or LF");
		assert_int_equal(t->q.commits, 0);
		assert_int_equal(t->q.aborts, 1);
		assert_int_equal(t->q.nrcpt, 1);
		assert_string_equal(t->q.rcpts[0], "bob@example.org");
		free(t);
	}
}

static void bare_lf_in_commands_is_refused(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, "EHLO client.lan\nNOOP\r\nNO\rOP\r\n");
	feed_chunked(t, "NO\0OP\r\n", 7, 0); /* a NUL inside a command */
	assert_string_equal(codes(t), "220 500 250 500 500");
	assert_int_equal(count(t, "500 5.5.2 Error: bare CR, bare LF or NUL"), 3);
	free(t);
}

static void command_line_limit_is_512(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	char line[700];
	setup(t, LAN_CLIENT, false);
	start(t);
	/* 510 octets + CRLF = 512: read as a command (an unknown one) */
	memset(line, 'X', 510);
	memcpy(line + 510, "\r\n", 3);
	feed(t, line);
	assert_sent(t, "500 5.5.2 Error: command not recognized\r\n");
	/* 511 + CRLF: too long, and the next line is read normally */
	memset(line, 'X', 511);
	memcpy(line + 511, "\r\nNOOP\r\n", 9);
	feed(t, line);
	assert_sent(t, "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
	free(t);
}

static void data_line_limit_is_1000(void **state)
{
	(void)state;
	char text[3000];
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	size_t n = (size_t)snprintf(text, sizeof(text), ENVELOPE "DATA\r\n");
	memset(text + n, 'y', 998); /* 998 + CRLF = 1000: fine */
	n += 998;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n.\r\n");
	feed(t, text);
	assert_sent(t, "250 2.0.0 Ok: queued as Q1\r\n");

	n = (size_t)snprintf(text, sizeof(text), "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
	memset(text + n, 'y', 999);
	n += 999;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n.\r\nNOOP\r\n");
	feed(t, text);
	assert_sent(t, "550 5.6.0 Message refused: line longer than 1000 octets\r\n250 2.0.0 Ok\r\n");
	assert_int_equal(t->q.commits, 1);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

static void size_limits(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_size = 20;
	start(t);
	feed(t, EHLO "MAIL FROM:<a@b.c> SIZE=21\r\n");
	assert_sent(t, "552 5.3.4 Message size exceeds fixed limit\r\n");
	feed(t, "MAIL FROM:<a@b.c> SIZE=99999999999999999999999\r\n");
	assert_sent(t, "501 5.5.4 Bad SIZE parameter\r\n");
	t->q.check_size_ret = SMTP_EFULL;
	feed(t, "MAIL FROM:<a@b.c> SIZE=20\r\n");
	assert_sent(t, "452 4.3.1 Insufficient system storage\r\n");
	t->q.check_size_ret = 0;
	/* no SIZE=: found out at the end of DATA, after reading all of it */
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
		"0123456789\r\n0123456789\r\n.\r\nNOOP\r\n");
	assert_sent(t, "552 5.3.4 Message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
	assert_non_null(strstr(t->q.log, "message refused: 24 octets, limit 20\n"));
	assert_int_equal(t->q.commits, 0);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

static void queue_full_or_failing(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	t->q.write_ret = SMTP_EFULL;
	feed(t, ENVELOPE "DATA\r\nx\r\n.\r\n");
	assert_sent(t, "\r\n452 4.3.1 Insufficient system storage\r\n");
	t->q.write_ret = 0;
	t->q.commit_ret = SMTP_EFULL;
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n");
	assert_int_equal(count(t, "452 4.3.1"), 2);
	t->q.commit_ret = SMTP_EIO;
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\n");
	assert_sent(t, "451 4.3.0 Error: queue file write error\r\n");
	t->q.commit_ret = 0;
	t->q.begin_ret = SMTP_EFULL;
	feed(t, "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
	assert_int_equal(count(t, "452 4.3.1"), 3);
	t->q.begin_ret = 0;
	t->q.rcpt_ret = SMTP_EDENIED;
	feed(t, "RCPT TO:<d@e.f>\r\n");
	assert_sent(t, "550 5.7.1 Recipient address rejected\r\n");
	assert_int_equal(t->q.commits, 0);
	assert_int_equal(t->q.aborts, 3);
	free(t);
}

static void recipient_limit(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_rcpts = 3;
	t->cfg.max_errors = 3; /* 452 for too many recipients is not an error */
	start(t);
	feed(t, EHLO "MAIL FROM:<a@b.c>\r\n");
	for (int i = 0; i < 6; i++)
		feed(t, "RCPT TO:<r@example.org>\r\n");
	feed(t, "DATA\r\nx\r\n.\r\n");
	assert_string_equal(codes(t), "220 250 250 250 250 250 452 452 452 354 250");
	assert_sent(t, "452 4.5.3 Error: too many recipients\r\n");
	assert_int_equal(t->q.nrcpt, 3);
	free(t);
}

static void received_header_says_how_it_came(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, "EHLO bad(name)\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nRCPT TO:<g@h.i>\r\n"
		"DATA\r\nx\r\n.\r\n");
	/* two recipients: none named; the HELO name cannot open a comment */
	assert_string_equal(t->q.data, "Received: from bad_name_ ([192.168.1.10])\r\n"
				       "\tby mx.test (danegate) with ESMTP;\r\n"
				       "\tSat, 28 Nov 2026 12:00:00 +0000\r\n"
				       "x\r\n");
	free(t);

	t = calloc(1, sizeof(*t));
	setup(t, "fd00::5", false);
	start(t);
	smtp_server_tick(&t->s, NOW0, 951868799); /* 2000-02-29 23:59:59 */
	feed(t, "HELO old.lan\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n.\r\n");
	assert_string_equal(t->q.data, "Received: from old.lan ([IPv6:fd00::5])\r\n"
				       "\tby mx.test (danegate) with SMTP\r\n"
				       "\tfor <d@e.f>; Tue, 29 Feb 2000 23:59:59 +0000\r\n");
	free(t);

	t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, EHLO "MAIL FROM:<a@b.c> SMTPUTF8\r\nRCPT TO:<d@e.f>\r\nDATA\r\n.\r\n");
	assert_non_null(strstr(t->q.data, "with UTF8SMTP\r\n"));
	free(t);
}

/* ---- session limits, timeouts, back-pressure -------------------------- */

static void session_limit_gets_421(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	smtp_server_start(&t->s, t->cfg.max_sessions);
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_FLUSH);
	drain(t);
	assert_string_equal(t->out, "421 4.3.2 mx.test Error: too many sessions, try again later\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	assert_int_equal(smtp_server_feed(&t->s, (const uint8_t *)"EHLO x\r\n", 8), 8);
	drain(t);
	assert_string_equal(codes(t), "421");
	free(t);

	t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	smtp_server_start(&t->s, t->cfg.max_sessions - 1);
	drain(t);
	assert_string_equal(codes(t), "220");
	free(t);
}

static void idle_client_times_out_after_5_minutes(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, ENVELOPE);
	smtp_server_tick(&t->s, NOW0 + 299999, WALL);
	drain(t);
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_READ);
	smtp_server_tick(&t->s, NOW0 + 300000, WALL);
	drain(t);
	assert_sent(t, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

static void activity_restarts_the_timer_and_data_waits_3_minutes(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	smtp_server_tick(&t->s, NOW0 + 200000, WALL);
	feed(t, ENVELOPE "DATA\r\n");
	smtp_server_tick(&t->s, NOW0 + 200000 + 179000, WALL);
	feed(t, "more text\r\n");
	smtp_server_tick(&t->s, NOW0 + 200000 + 179000 + 179999, WALL);
	drain(t);
	assert_int_equal(count(t, "421"), 0);
	smtp_server_tick(&t->s, NOW0 + 200000 + 179000 + 180000, WALL);
	drain(t);
	assert_sent(t, "421 4.4.2 ");
	assert_int_equal(t->q.commits, 0);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

static void client_that_never_reads_is_dropped(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	/* pipelined NOOPs without ever taking the output */
	char text[4000] = "";
	for (int i = 0; i < 500; i++)
		strcat(text, "NOOP\r\n");
	size_t used = smtp_server_feed(&t->s, (const uint8_t *)text, strlen(text));
	assert_true(used < strlen(text));
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_FLUSH);
	assert_int_equal(smtp_server_feed(&t->s, (const uint8_t *)text + used, 6), 0);
	smtp_server_tick(&t->s, NOW0 + 300000, WALL);
	smtp_server_tick(&t->s, NOW0 + 600000, WALL);
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

static void back_pressure_keeps_every_reply(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_commands = 0;
	start(t);
	char text[4000] = "";
	for (int i = 0; i < 500; i++)
		strcat(text, "NOOP\r\n");
	feed(t, text);
	assert_int_equal(count(t, "250 2.0.0 Ok\r\n"), 500);
	free(t);
}

static void command_and_error_limits_end_the_session(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_commands = 5;
	start(t);
	feed(t, "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
	assert_string_equal(codes(t), "220 250 250 250 250 250 421");
	assert_sent(t, "421 4.7.0 mx.test Error: too many commands\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);

	t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_errors = 3;
	start(t);
	feed(t, "BAD\r\nBAD\r\nBAD\r\nNOOP\r\n");
	assert_string_equal(codes(t), "220 500 500 500 421");
	free(t);
}

static void http_request_is_cut_off(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, "POST / HTTP/1.1\r\nHost: mx.test\r\n\r\nEHLO x\r\nMAIL FROM:<a@b.c>\r\n");
	assert_string_equal(codes(t), "220 521");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

static void quit_discards_what_follows(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, ENVELOPE "QUIT\r\nDATA\r\nx\r\n.\r\n");
	assert_string_equal(codes(t), "220 250 250 250 221");
	assert_int_equal(t->q.aborts, 1);
	assert_int_equal(t->q.commits, 0);
	smtp_server_close(&t->s);
	smtp_server_close(&t->s);
	assert_int_equal(t->q.aborts, 1);
	free(t);
}

static void postmaster_log_tells_what_happened(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, true);
	start(t);
	const char *in = EHLO "MAIL FROM:<s@x.example>\r\nRCPT TO:<bob%example.org@mx.test>\r\n"
			      "STARTTLS\r\nEHLO sneaky\r\n";
	feed_chunked(t, in, strlen(in), 0); /* one read: one count */
	smtp_server_tls_started(&t->s, "TLSv1.3", "TLS1-3-AES-128-GCM-SHA256");
	feed(t, EHLO "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
	assert_string_equal(t->q.log, "relay access denied: <bob%example.org@mx.test>\n"
				      "13 octets of plaintext after STARTTLS discarded\n"
				      "authentication failed for alice\n");
	assert_null(strstr(t->q.log, "wrong")); /* never the password */
	free(t);

	t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, ENVELOPE "DATA\r\nx\n.\nMAIL FROM:<a@b.c>\r\n.\r\n");
	assert_string_equal(t->q.log, "message refused: bare CR or LF (possible SMTP smuggling)\n");
	free(t);
}

static void session_limit_zero_means_none(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.max_sessions = 0;
	smtp_server_start(&t->s, 1000);
	drain(t);
	assert_string_equal(codes(t), "220");
	free(t);
}

/* ---- property: feeding in any chunking gives the same session ---------- */

struct dialogue {
	const char *client;
	bool tls_available;
	const char *text;
};

static const struct dialogue dialogues[] = {
	{ LAN_CLIENT, false,
	  ENVELOPE "DATA\r\nSubject: a\r\n\r\n..dots\r\n.\r\nRSET\r\nVRFY x\r\nQUIT\r\n" },
	{ LAN_CLIENT, false,
	  ENVELOPE "DATA\r\nbody\n.\nMAIL FROM:<x@y.z>\r\n\r.\r\r\n.\r\nQUIT\r\n" },
	{ STRANGER, false, ENVELOPE "RCPT TO:<@a:b@c>\r\nRCPT TO:<b%c@d>\r\nDATA\r\nQUIT\r\n" },
	{ STRANGER, true, EHLO "AUTH LOGIN\r\nSTARTTLS\r\nEHLO again\r\n" },
	{ LAN_CLIENT, false, "HELO x\r\nMAIL FROM:<a@b.c> SIZE=1\r\nNOOP\nBAD\rLINE\r\nQUIT\r\n" },
	{ LAN_CLIENT, false, "\r\n\r\r\n\n" ENVELOPE "DATA\r\n\r\n.\r\n" },
};

static void run_dialogue(struct session *t, const struct dialogue *d, size_t chunk)
{
	setup(t, d->client, d->tls_available);
	start(t);
	feed_chunked(t, d->text, strlen(d->text), chunk);
}

static void any_chunking_gives_the_same_session(void **state)
{
	(void)state;
	struct session *whole = calloc(1, sizeof(*whole));
	struct session *piece = calloc(1, sizeof(*piece));
	const size_t chunks[] = { 1, 2, 3, 7, 64 };
	for (size_t i = 0; i < sizeof(dialogues) / sizeof(dialogues[0]); i++) {
		run_dialogue(whole, &dialogues[i], 0);
		assert_true(whole->out_len > 0);
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			run_dialogue(piece, &dialogues[i], chunks[c]);
			if (strcmp(whole->out, piece->out) != 0)
				fail_msg("dialogue %zu, chunk %zu:\n%s\n---\n%s", i, chunks[c],
					 whole->out, piece->out);
			assert_int_equal(whole->q.data_len, piece->q.data_len);
			assert_memory_equal(whole->q.data, piece->q.data, whole->q.data_len);
			assert_int_equal(whole->q.commits, piece->q.commits);
			assert_int_equal(whole->q.aborts, piece->q.aborts);
			assert_int_equal(smtp_server_state(&whole->s), smtp_server_state(&piece->s));
		}
	}
	free(whole);
	free(piece);
}

/* ---- hardening: whole-line command timer, minimum data rate, AUTH
 * lockout (relay/authlimit.h answers SMTP_ELIMIT through the hook) ------- */

static void trickled_command_line_gets_5_minutes_in_all(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	feed(t, EHLO);
	/* one octet of "NOOP" a minute, never the CRLF: the bytes alone do
	 * not restart the 5-minute wait for the command */
	const char *cmd = "NOOPNOOP";
	for (int i = 0; i < 5; i++) {
		smtp_server_tick(&t->s, NOW0 + (uint64_t)i * 60000 + 59999, WALL);
		assert_int_equal(smtp_server_feed(&t->s, (const uint8_t *)cmd + i, 1), 1);
		drain(t);
	}
	assert_int_equal(count(t, "421"), 0);
	smtp_server_tick(&t->s, NOW0 + 300000, WALL);
	drain(t);
	assert_sent(t, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

static void whole_lines_restart_the_command_timer(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	start(t);
	/* a NOOP every 4 minutes keeps the session (max_commands bounds it) */
	for (int i = 1; i <= 5; i++) {
		smtp_server_tick(&t->s, NOW0 + (uint64_t)i * 240000, WALL);
		feed(t, "NOOP\r\n");
	}
	smtp_server_tick(&t->s, NOW0 + 5 * 240000 + 299999, WALL);
	drain(t);
	assert_int_equal(count(t, "421"), 0);
	assert_int_equal(count(t, "250 2.0.0 Ok\r\n"), 5);
	free(t);
}

/* DATA content fed n octets every step_ms until a reply or until_ms; the
 * time of the 421 (0: none). */
static uint64_t trickle_data(struct session *t, size_t n, uint64_t step_ms, uint64_t until_ms)
{
	char chunk[64];
	memset(chunk, 'x', sizeof(chunk));
	for (uint64_t now = NOW0 + step_ms; now <= until_ms; now += step_ms) {
		smtp_server_tick(&t->s, now, WALL);
		drain(t);
		if (count(t, "421 4.4.2"))
			return now;
		/* a line break now and then keeps the lines short */
		if ((now / step_ms) % 16 == 0)
			feed_chunked(t, "\r\n", 2, feed_chunk);
		else
			feed_chunked(t, chunk, n, feed_chunk);
	}
	return 0;
}

static void data_below_the_minimum_rate_is_cut_off(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.min_data_rate = 500;
	start(t);
	feed(t, ENVELOPE "DATA\r\n");
	/* one octet every 10 s: the 3-minute block timer alone never fires,
	 * but 500 octets/s after the first 3 minutes are not kept up */
	uint64_t cut = trickle_data(t, 1, 10000, NOW0 + 3600000);
	assert_true(cut >= NOW0 + 180000);
	assert_true(cut <= NOW0 + 190000);
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	assert_int_equal(t->q.commits, 0);
	assert_int_equal(t->q.aborts, 1);
	free(t);

	/* without a minimum the same trickle is kept for an hour */
	t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.min_data_rate = 0;
	start(t);
	feed(t, ENVELOPE "DATA\r\n");
	assert_int_equal(trickle_data(t, 1, 10000, NOW0 + 3600000), 0);
	free(t);
}

static void data_at_the_minimum_rate_is_kept(void **state)
{
	(void)state;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, LAN_CLIENT, false);
	t->cfg.min_data_rate = 5;
	start(t);
	feed(t, ENVELOPE "DATA\r\n");
	/* 10 octets/s for 10 minutes, past the 3-minute block timer */
	assert_int_equal(trickle_data(t, 10, 1000, NOW0 + 600000), 0);
	feed(t, "\r\n.\r\n");
	assert_sent(t, "250 2.0.0 Ok: queued as Q1\r\n");
	assert_int_equal(count(t, "421"), 0);
	/* the next DATA phase starts its own account */
	smtp_server_tick(&t->s, NOW0 + 700000, WALL);
	feed(t, "MAIL FROM:<alice@lan.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	smtp_server_tick(&t->s, NOW0 + 700000 + 179999, WALL);
	drain(t);
	assert_int_equal(count(t, "421"), 0);
	smtp_server_tick(&t->s, NOW0 + 700000 + 180000, WALL);
	drain(t);
	assert_sent(t, "421 4.4.2 ");
	free(t);
}

static int q_auth_locked(void *ctx, const char *user, const char *pass)
{
	struct fake_queue *q = ctx;
	(void)user;
	(void)pass;
	q->auth_calls++;
	return SMTP_ELIMIT;
}

static void locked_out_client_gets_454_counted_as_error(void **state)
{
	(void)state;
	struct smtp_server_hooks locked = hooks; /* outlives the session below */
	locked.auth_check = q_auth_locked;
	struct session *t = calloc(1, sizeof(*t));
	setup(t, STRANGER, false);
	t->cfg.auth_over_plaintext = true;
	struct smtp_peer peer = { 0 };
	assert_int_equal(smtp_ip_parse(STRANGER, strlen(STRANGER), &peer.addr), 0);
	assert_int_equal(smtp_server_init(&t->s, &t->cfg, &locked, &t->q, &peer, NOW0, WALL), 0);
	start(t);
	feed(t, EHLO);
	for (int i = 0; i < 10; i++)
		feed(t, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"); /* the right password */
	assert_int_equal(count(t, "454 4.7.0 Too many failed authentications, try again later\r\n"),
			 10);
	assert_int_equal(count(t, "235"), 0);
	assert_sent(t, "421 4.7.0 mx.test Error: too many errors\r\n");
	assert_non_null(strstr(t->q.log, "too many failures, locked out"));
	feed(t, "MAIL FROM:<a@b.example>\r\n");
	assert_int_equal(smtp_server_want(&t->s), SMTP_WANT_CLOSE);
	free(t);
}

static void init_refuses_bad_arguments(void **state)
{
	(void)state;
	struct smtp_server s;
	struct smtp_server_config cfg;
	struct smtp_server_hooks h = hooks;
	struct smtp_peer peer = { 0 };
	smtp_server_config_defaults(&cfg);
	h.msg_commit = NULL;
	assert_int_equal(smtp_server_init(&s, &cfg, &h, NULL, &peer, 0, 0), SMTP_EINVAL);
	cfg.max_rcpts = 0;
	assert_int_equal(smtp_server_init(&s, &cfg, &hooks, NULL, &peer, 0, 0), SMTP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lan_client_sends_one_message_step_by_step),
		cmocka_unit_test(pipelined_dialogue_gets_the_same_replies),
		cmocka_unit_test(ehlo_offers_the_extensions),
		cmocka_unit_test(commands_out_of_sequence_and_small_ones),
		cmocka_unit_test(mail_parameters),
		cmocka_unit_test(bad_addresses_from_a_relay_client),
		cmocka_unit_test(stranger_gets_554_for_every_trick),
		cmocka_unit_test(ipv6_and_mapped_lan_clients_may_relay),
		cmocka_unit_test(stranger_may_relay_after_auth_under_tls),
		cmocka_unit_test(auth_is_refused_in_clear_text),
		cmocka_unit_test(auth_in_clear_text_when_configured),
		cmocka_unit_test(auth_plain_with_challenge),
		cmocka_unit_test(auth_login_both_ways),
		cmocka_unit_test(bad_credentials_and_cancel),
		cmocka_unit_test(password_guessing_ends_the_session),
		cmocka_unit_test(starttls_discards_pipelined_plaintext),
		cmocka_unit_test(starttls_without_certificate),
		cmocka_unit_test(starttls_mid_transaction_drops_it),
		cmocka_unit_test(smuggled_end_of_data_is_never_a_command),
		cmocka_unit_test(bare_lf_in_commands_is_refused),
		cmocka_unit_test(command_line_limit_is_512),
		cmocka_unit_test(data_line_limit_is_1000),
		cmocka_unit_test(size_limits),
		cmocka_unit_test(queue_full_or_failing),
		cmocka_unit_test(recipient_limit),
		cmocka_unit_test(received_header_says_how_it_came),
		cmocka_unit_test(session_limit_gets_421),
		cmocka_unit_test(idle_client_times_out_after_5_minutes),
		cmocka_unit_test(activity_restarts_the_timer_and_data_waits_3_minutes),
		cmocka_unit_test(client_that_never_reads_is_dropped),
		cmocka_unit_test(back_pressure_keeps_every_reply),
		cmocka_unit_test(command_and_error_limits_end_the_session),
		cmocka_unit_test(http_request_is_cut_off),
		cmocka_unit_test(quit_discards_what_follows),
		cmocka_unit_test(postmaster_log_tells_what_happened),
		cmocka_unit_test(session_limit_zero_means_none),
		cmocka_unit_test(any_chunking_gives_the_same_session),
		cmocka_unit_test(init_refuses_bad_arguments),
		cmocka_unit_test(trickled_command_line_gets_5_minutes_in_all),
		cmocka_unit_test(whole_lines_restart_the_command_timer),
		cmocka_unit_test(data_below_the_minimum_rate_is_cut_off),
		cmocka_unit_test(data_at_the_minimum_rate_is_kept),
		cmocka_unit_test(locked_out_client_gets_454_counted_as_error),
	};
	int failed = cmocka_run_group_tests_name("fed whole", tests, feed_whole, NULL);
	failed += cmocka_run_group_tests_name("fed byte by byte", tests, feed_bytewise, NULL);
	return failed;
}
