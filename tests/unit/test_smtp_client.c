/* test_smtp_client — the outbound SMTP engine against a scripted fake
 * server: exact commands out for each reply in, pipelined and not,
 * STARTTLS offered or not under each policy, EHLO->HELO, SIZE / 8BITMIME /
 * SMTPUTF8, AUTH, dot-stuffing and line ends, several messages and mixed
 * per-recipient results, 421s, timeouts, hostile replies, back-pressure.
 * Every test runs twice: replies fed whole and fed one octet per call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_client.h"

#define NOW0 5000000u
#define PEER "mx.example.net[192.0.2.1]"

static bool g_bytewise; /* set per cmocka group */

/* ---- the fake world: queue content, results, log, transcript ---------- */
struct result {
	size_t rcpt;
	enum smtp_client_result res;
	uint16_t code, enh[3];
	char text[SMTP_CLIENT_REASON_MAX];
	char reply[SMTP_CLIENT_REASON_MAX]; /* the server's part of text */
};

struct fake {
	struct smtp_client c;
	struct smtp_client_config cfg;
	const char *body;
	size_t body_len;
	size_t max_read;  /* 0: as much as asked */
	long read_ret;	  /* != 0: what read() returns instead */
	uint64_t next_off; /* reads must be contiguous */
	struct result res[128];
	int nres;
	char log[4096];
	size_t send_limit; /* 0: everything at once; else octets per send */
	char sent[300000]; /* everything the engine sent */
	size_t sent_len, seen;
};

static long f_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct fake *f = ctx;
	if (f->read_ret)
		return f->read_ret;
	assert_true(off == f->next_off);
	if (off >= f->body_len)
		return 0;
	size_t n = f->body_len - (size_t)off;
	if (n > len)
		n = len;
	if (f->max_read && n > f->max_read)
		n = f->max_read;
	memcpy(buf, f->body + off, n);
	f->next_off += n;
	return (long)n;
}

static void f_result(void *ctx, size_t rcpt, enum smtp_client_result res,
		     const struct smtp_client_status *st)
{
	struct fake *f = ctx;
	assert_true(f->nres < 128);
	/* exactly one result per recipient */
	for (int i = 0; i < f->nres; i++)
		assert_true(f->res[i].rcpt != rcpt);
	assert_null(strpbrk(st->text, "\r\n"));
	assert_true(strlen(st->text) < SMTP_CLIENT_REASON_MAX);
	assert_int_equal(st->enh[0], res == SMTP_CLIENT_DELIVERED ? 2 : res == SMTP_CLIENT_FAILED ? 5 : 4);
	struct result *r = &f->res[f->nres++];
	r->rcpt = rcpt;
	r->res = res;
	r->code = st->code;
	memcpy(r->enh, st->enh, sizeof(r->enh));
	snprintf(r->text, sizeof(r->text), "%s", st->text);
	assert_true(st->reply_off + st->reply_len <= strlen(st->text));
	assert_true(st->code != 0 || st->reply_len == 0);
	memcpy(r->reply, st->text + st->reply_off, st->reply_len);
	r->reply[st->reply_len] = '\0';
}

static void f_log(void *ctx, enum port_log_level level, const char *text)
{
	struct fake *f = ctx;
	size_t n = strlen(f->log);
	(void)level;
	assert_null(strpbrk(text, "\r\n"));
	assert_null(strstr(text, "s3cret"));
	snprintf(f->log + n, sizeof(f->log) - n, "%s\n", text);
}

static const struct smtp_client_hooks hooks = {
	.read = f_read,
	.rcpt_result = f_result,
	.log = f_log,
};

static struct fake *fake_new(enum smtp_tls_policy tls)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	smtp_client_config_defaults(&f->cfg);
	f->cfg.ehlo_name = "relay.lan.example";
	f->cfg.peer = PEER;
	f->cfg.tls = tls;
	return f;
}

static void start(struct fake *f)
{
	assert_int_equal(smtp_client_init(&f->c, &f->cfg, &hooks, f), 0);
	smtp_client_tick(&f->c, NOW0);
}

/* Sends what the engine has, send_limit octets at a time. */
static void drain(struct fake *f)
{
	const uint8_t *p;
	size_t n;
	while ((n = smtp_client_output(&f->c, &p)) > 0) {
		if (f->send_limit && n > f->send_limit)
			n = f->send_limit;
		assert_true(f->sent_len + n < sizeof(f->sent));
		memcpy(f->sent + f->sent_len, p, n);
		f->sent_len += n;
		f->sent[f->sent_len] = '\0';
		smtp_client_consumed_output(&f->c, n);
	}
}

static void feed_only(struct fake *f, const char *text, size_t n)
{
	if (!g_bytewise) {
		smtp_client_feed(&f->c, (const uint8_t *)text, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (smtp_client_feed(&f->c, (const uint8_t *)text + i, 1) == 0)
			break;
}

static void server(struct fake *f, const char *text)
{
	feed_only(f, text, strlen(text));
	drain(f);
}

/* What the engine sent since the last call. */
static const char *sent(struct fake *f)
{
	static char buf[sizeof(((struct fake *)0)->sent)];
	memcpy(buf, f->sent + f->seen, f->sent_len - f->seen + 1);
	f->seen = f->sent_len;
	return buf;
}

static void check_sent(struct fake *f, const char *expect)
{
	assert_string_equal(sent(f), expect);
}

static const struct result *result_for(struct fake *f, size_t rcpt)
{
	for (int i = 0; i < f->nres; i++)
		if (f->res[i].rcpt == rcpt)
			return &f->res[i];
	fail_msg("no result for recipient %u", (unsigned)rcpt);
	return NULL;
}

static void check_result(struct fake *f, size_t rcpt, enum smtp_client_result res,
			 const char *enh, const char *text)
{
	const struct result *r = result_for(f, rcpt);
	char e[24];
	snprintf(e, sizeof(e), "%u.%u.%u", r->enh[0], r->enh[1], r->enh[2]);
	assert_int_equal(r->res, res);
	assert_string_equal(e, enh);
	if (text)
		assert_string_equal(r->text, text);
}

#define GREETING "220 mx.example.net ESMTP Postfix\r\n"
#define EHLO_BARE "250 mx.example.net\r\n"
#define EHLO_PIPE                                                                              \
	"250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"           \
	"250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_TLS "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
#define SENDER "alice@lan.example"
#define BODY "Subject: hi\r\n\r\nhello\r\n"

static const char *const three[] = { "bob@example.net", "carol@example.net", "dave@example.net" };

static struct smtp_client_msg msg_of(size_t n)
{
	struct smtp_client_msg m = { SENDER, three, n, 0, 0 };
	return m;
}

/* Greeting and EHLO with the given reply; checks the EHLO sent. */
static void hello(struct fake *f, const char *ehlo_reply)
{
	server(f, GREETING);
	check_sent(f, "EHLO relay.lan.example\r\n");
	server(f, ehlo_reply);
}

static void with_body(struct fake *f, const char *body)
{
	f->body = body;
	f->body_len = strlen(body);
	f->next_off = 0;
}

/* ---- plain dialogues ------------------------------------------------------ */
static void delivers_one_command_at_a_time_without_pipelining(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	m.size = 99; /* no SIZE offered: not sent */
	with_body(f, BODY);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0); /* waits for the session */
	hello(f, EHLO_BARE);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\n");
	server(f, "250 2.1.0 Ok\r\n");
	check_sent(f, "RCPT TO:<bob@example.net>\r\n");
	server(f, "250 2.1.5 Ok\r\n");
	check_sent(f, "DATA\r\n");
	server(f, "354 End data with <CR><LF>.<CR><LF>\r\n");
	check_sent(f, BODY ".\r\n");
	assert_int_equal(f->nres, 0);
	server(f, "250 2.0.0 Ok: queued as 4XyZ\r\n");
	check_sent(f, "");
	assert_int_equal(f->nres, 1);
	check_result(f, 0, SMTP_CLIENT_DELIVERED, "2.0.0",
		     "host " PEER " said: 250 2.0.0 Ok: queued as 4XyZ (in reply to end of DATA)");
	assert_int_equal(f->res[0].code, 250);
	assert_string_equal(f->res[0].reply, "250 2.0.0 Ok: queued as 4XyZ");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	smtp_client_quit(&f->c);
	drain(f);
	check_sent(f, "QUIT\r\n");
	server(f, "221 2.0.0 Bye\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_null(smtp_client_error(&f->c));
	assert_false(smtp_client_tls_active(&f->c));
	free(f);
}

static void pipelines_the_envelope_and_reports_mixed_results(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(3);
	m.size = 1234;
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER "> SIZE=1234\r\nRCPT TO:<bob@example.net>\r\n"
		      "RCPT TO:<carol@example.net>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\n");
	server(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <carol@example.net>: no such user\r\n"
		  "450 4.2.0 <dave@example.net>: greylisted\r\n354 go ahead\r\n");
	check_sent(f, BODY ".\r\n");
	assert_int_equal(f->nres, 2);
	check_result(f, 1, SMTP_CLIENT_FAILED, "5.1.1",
		     "host " PEER " said: 550 5.1.1 <carol@example.net>: no such user (in reply to RCPT TO)");
	check_result(f, 2, SMTP_CLIENT_DEFERRED, "4.2.0",
		     "host " PEER " said: 450 4.2.0 <dave@example.net>: greylisted (in reply to RCPT TO)");
	assert_string_equal(result_for(f, 1)->reply, "550 5.1.1 <carol@example.net>: no such user");
	server(f, "250 2.0.0 Ok: queued\r\n");
	assert_int_equal(f->nres, 3);
	check_result(f, 0, SMTP_CLIENT_DELIVERED, "2.0.0", NULL);
	free(f);
}

static void pipelined_all_refused_then_354_sends_a_lone_dot(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(2), m2 = msg_of(1);
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\n"
		      "RCPT TO:<carol@example.net>\r\nDATA\r\n");
	server(f, "250 2.1.0 Ok\r\n550 5.1.1 no\r\n551 5.1.6 moved\r\n354 go on\r\n");
	/* RFC 2920 §3.1: no content, only the dot; the message is not sent */
	check_sent(f, ".\r\n");
	assert_int_equal(f->nres, 2);
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.1.1", NULL);
	check_result(f, 1, SMTP_CLIENT_FAILED, "5.1.6", NULL);
	server(f, "554 5.5.1 Error: no valid recipients\r\n");
	assert_int_equal(f->nres, 2);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	/* the transaction ended with the dot: the next MAIL needs no RSET */
	f->nres = 0;
	assert_int_equal(smtp_client_next_message(&f->c, &m2), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	free(f);
}

static void pipelined_all_refused_and_data_refused_resets(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	sent(f);
	server(f, "250 2.1.0 Ok\r\n450 4.7.1 try later\r\n554 5.5.1 Error: no valid recipients\r\n");
	check_sent(f, "RSET\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.1", NULL);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_READ);
	server(f, "250 2.0.0 Ok\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

/* MAIL and eight long RCPTs fill the output to 4 octets short of room
 * for DATA; when every RCPT is refused before DATA could go, it never
 * goes: RSET follows instead. */
static void pipelined_data_not_sent_once_all_are_known_refused(void **state)
{
	(void)state;
	static char names[8][256];
	static const char *rc[8];
	struct fake *f = fake_new(SMTP_TLS_MAY);
	for (size_t i = 0; i < 8; i++) {
		size_t len = i < 7 ? 238 : 251; /* 31 + 7 * (12 + 238) + 12 + 251 = 2044 */
		memset(names[i], 'a' + (int)i, len - 12);
		memcpy(names[i] + len - 12, "@example.net", 13);
		rc[i] = names[i];
	}
	struct smtp_client_msg m = { SENDER, rc, 8, 0, 0 };
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	const uint8_t *p;
	assert_int_equal(smtp_client_output(&f->c, &p), SMTP_CLIENT_OUT_MAX - 4);
	feed_only(f, "250 2.1.0 Ok\r\n", 14);
	for (size_t i = 0; i < 8; i++)
		feed_only(f, "550 5.1.1 no\r\n", 14);
	assert_int_equal(f->nres, 8);
	drain(f);
	const char *s = sent(f);
	assert_null(strstr(s, "DATA"));
	assert_string_equal(s + strlen(s) - 9, ">\r\nRSET\r\n");
	free(f);
}

static void without_pipelining_all_refused_means_no_data_but_rset(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(2);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\n");
	server(f, "250 Ok\r\n");
	check_sent(f, "RCPT TO:<bob@example.net>\r\n");
	server(f, "550 no such user\r\n");
	check_sent(f, "RCPT TO:<carol@example.net>\r\n");
	server(f, "550 no such user here either\r\n");
	check_sent(f, "RSET\r\n");
	/* no enhanced code from the server: the class alone */
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.0.0",
		     "host " PEER " said: 550 no such user (in reply to RCPT TO)");
	server(f, "250 Ok\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void refused_mail_answers_every_recipient(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(3);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	sent(f);
	server(f, "553 5.7.1 <alice@lan.example>: Sender address rejected\r\n"
		  "503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n"
		  "503 5.5.1 Error: need MAIL command\r\n554 5.5.1 Error: no valid recipients\r\n");
	assert_int_equal(f->nres, 3);
	for (size_t i = 0; i < 3; i++)
		check_result(f, i, SMTP_CLIENT_FAILED, "5.7.1",
			     "host " PEER " said: 553 5.7.1 <alice@lan.example>: Sender address "
			     "rejected (in reply to MAIL FROM)");
	check_sent(f, ""); /* no transaction on the server: no RSET */
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void refused_data_defers_the_accepted(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	server(f, "250 Ok\r\n");
	sent(f);
	server(f, "451 4.3.0 queue file write error\r\n");
	check_sent(f, "RSET\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.3.0",
		     "host " PEER " said: 451 4.3.0 queue file write error (in reply to DATA)");
	free(f);
}

static void a_250_to_data_is_no_delivery(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	sent(f);
	server(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.0.0",
		     "host " PEER " said: 250 2.0.0 Ok (in reply to DATA)");
	check_sent(f, "RSET\r\n");
	free(f);
}

static void quit_waits_for_the_message_in_progress(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	with_body(f, BODY);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	smtp_client_quit(&f->c);
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_ECLOSED);
	hello(f, EHLO_PIPE);
	server(f, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	sent(f);
	server(f, "250 2.0.0 Ok\r\n");
	check_result(f, 0, SMTP_CLIENT_DELIVERED, "2.0.0", NULL);
	check_sent(f, "QUIT\r\n");
	/* a server that never answers QUIT: closed after the command timeout */
	smtp_client_tick(&f->c, NOW0 + 300000);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_null(smtp_client_error(&f->c));
	free(f);
}

static void several_messages_in_one_session(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m1 = msg_of(1), m2 = { "", three + 1, 2, 0, 0 };
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m1), 0);
	assert_int_equal(smtp_client_next_message(&f->c, &m2), SMTP_CLIENT_EBUSY);
	drain(f);
	sent(f);
	server(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	check_sent(f, BODY ".\r\n");
	server(f, "250 2.0.0 Ok: queued as A\r\n");
	assert_int_equal(f->nres, 1);
	f->nres = 0;
	with_body(f, "Subject: bounce\r\n\r\n.\r\n");
	assert_int_equal(smtp_client_next_message(&f->c, &m2), 0);
	drain(f);
	/* no RSET between delivered messages; the null sender */
	check_sent(f, "MAIL FROM:<>\r\nRCPT TO:<carol@example.net>\r\nRCPT TO:<dave@example.net>\r\n"
		      "DATA\r\n");
	server(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
	check_sent(f, "Subject: bounce\r\n\r\n..\r\n.\r\n");
	server(f, "452 4.3.1 Insufficient system storage\r\n");
	assert_int_equal(f->nres, 2);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.3.1", NULL);
	check_result(f, 1, SMTP_CLIENT_DEFERRED, "4.3.1",
		     "host " PEER " said: 452 4.3.1 Insufficient system storage (in reply to end of DATA)");
	smtp_client_quit(&f->c);
	drain(f);
	check_sent(f, "QUIT\r\n");
	server(f, "221 Bye\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_null(smtp_client_error(&f->c));
	free(f);
}

/* ---- STARTTLS × policy -------------------------------------------------- */
static void starttls_when_offered(enum smtp_tls_policy tls)
{
	struct fake *f = fake_new(tls);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, EHLO_TLS);
	check_sent(f, "STARTTLS\r\n");
	server(f, "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_TLS);
	check_sent(f, "");
	smtp_client_tls_started(&f->c);
	drain(f);
	assert_true(smtp_client_tls_active(&f->c));
	check_sent(f, "EHLO relay.lan.example\r\n");
	server(f, "250-mx.example.net\r\n250 PIPELINING\r\n");
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	free(f);
}

static void starttls_offered_may_and_required(void **state)
{
	(void)state;
	starttls_when_offered(SMTP_TLS_MAY);
	starttls_when_offered(SMTP_TLS_REQUIRED);
}

static void starttls_offered_but_policy_none(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_NONE);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, EHLO_TLS);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	free(f);
}

static void tls_required_but_not_offered_defers_4_7_4(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_REQUIRED);
	struct smtp_client_msg m = msg_of(2);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, EHLO_PIPE);
	check_sent(f, "QUIT\r\n"); /* never a MAIL in clear */
	assert_int_equal(f->nres, 2);
	for (size_t i = 0; i < 2; i++)
		check_result(f, i, SMTP_CLIENT_DEFERRED, "4.7.4",
			     "TLS is required, but was not offered by host " PEER);
	assert_non_null(smtp_client_error(&f->c));
	assert_string_equal(smtp_client_error(&f->c)->text,
			    "TLS is required, but was not offered by host " PEER);
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_ECLOSED);
	server(f, "221 2.0.0 Bye\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);
}

static void tls_may_and_not_offered_goes_on_in_clear(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	assert_false(smtp_client_tls_active(&f->c));
	free(f);
}

static void starttls_refused_under_may_and_required(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_TLS);
	check_sent(f, "STARTTLS\r\n");
	server(f, "454 4.7.0 TLS not available due to local problem\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	assert_non_null(strstr(f->log, "refused to start TLS: 454 4.7.0"));
	free(f);

	f = fake_new(SMTP_TLS_REQUIRED);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, EHLO_TLS);
	check_sent(f, "STARTTLS\r\n");
	server(f, "454 4.7.0 TLS not available due to local problem\r\n");
	check_sent(f, "QUIT\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.4",
		     "TLS is required, but host " PEER
		     " refused to start TLS: 454 4.7.0 TLS not available due to local problem");
	free(f);
}

static void plaintext_after_starttls_220_is_discarded(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_REQUIRED);
	f->cfg.auth_user = "alice";
	f->cfg.auth_pass = "s3cret";
	start(f);
	hello(f, EHLO_TLS);
	check_sent(f, "STARTTLS\r\n");
	/* an attacker appends a forged EHLO reply behind the 220 */
	server(f, "220 2.0.0 Ready\r\n250-evil\r\n250 AUTH PLAIN\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_TLS);
	assert_non_null(strstr(f->log, "plaintext after STARTTLS"));
	server(f, "250 more\r\n"); /* still before the handshake */
	check_sent(f, "");
	smtp_client_tls_started(&f->c);
	drain(f);
	check_sent(f, "EHLO relay.lan.example\r\n");
	/* the real reply under TLS offers no AUTH: none is tried */
	server(f, "250-mx.example.net\r\n250 8BITMIME\r\n");
	check_sent(f, "");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void tls_handshake_failure_is_the_callers_reason(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_REQUIRED);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, EHLO_TLS);
	server(f, "220 Ready\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_TLS);
	smtp_client_abort(&f->c, "4.7.5", "Server certificate not verified");
	smtp_client_abort(&f->c, NULL, NULL); /* idempotent */
	assert_int_equal(f->nres, 1);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.5", "Server certificate not verified");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	drain(f);
	check_sent(f, "STARTTLS\r\n");
	free(f);
}

/* ---- EHLO -> HELO ---------------------------------------------------------- */
static void ehlo_refused_falls_back_to_helo_unless_tls_required(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	m.size = 500;
	m.flags = 0;
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, "502 5.5.2 Error: command not recognized\r\n");
	check_sent(f, "HELO relay.lan.example\r\n");
	server(f, "250 mx.example.net\r\n");
	check_sent(f, "MAIL FROM:<" SENDER ">\r\n"); /* no SIZE= to a HELO server */
	free(f);

	f = fake_new(SMTP_TLS_REQUIRED);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, "502 5.5.2 Error: command not recognized\r\n");
	check_sent(f, "QUIT\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.4",
		     "TLS is required, but was not offered by host " PEER);
	free(f);

	/* a 4xx to EHLO is no reason to try HELO */
	f = fake_new(SMTP_TLS_MAY);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, "451 4.3.0 try again later\r\n");
	check_sent(f, "QUIT\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.3.0",
		     "host " PEER " said: 451 4.3.0 try again later (in reply to EHLO)");
	free(f);
}

/* ---- SIZE, 8BITMIME, SMTPUTF8 -------------------------------------------- */
static void size_over_the_servers_limit_fails_before_mail(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(2);
	m.size = 20000000;
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "");
	assert_int_equal(f->nres, 2);
	check_result(f, 1, SMTP_CLIENT_FAILED, "5.3.4",
		     "message size 20000000 exceeds size limit 10240000 of server " PEER);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	/* exactly at the limit goes */
	m.size = 10240000;
	f->nres = 0;
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	assert_int_equal(f->nres, 0);
	assert_non_null(strstr(sent(f), "MAIL FROM:<" SENDER "> SIZE=10240000\r\n"));
	free(f);
}

static void eight_bit_needs_8bitmime(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	m.flags = SMTP_CLIENT_MSG_8BIT;
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER "> BODY=8BITMIME\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	free(f);

	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, "250-mx.example.net\r\n250 PIPELINING\r\n");
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, ""); /* RFC 6152: not sent at all */
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.6.3",
		     "message has 8-bit content, but host " PEER " did not offer 8BITMIME");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void unflagged_8bit_content_is_never_sent(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	with_body(f, "Subject: x\r\n\r\nok line\r\ncaf\xc3\xa9\r\n");
	start(f);
	hello(f, "250-mx.example.net\r\n250 PIPELINING\r\n");
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	sent(f);
	server(f, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	const char *s = sent(f);
	for (const char *p = s; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	assert_null(strstr(s, "\r\n.\r\n")); /* no final dot: the server drops it */
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.6.3", NULL);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);
}

static void smtputf8_only_when_needed_and_offered(void **state)
{
	(void)state;
	static const char *const uni[] = { "j\xc3\xb6rg@example.net" };
	struct smtp_client_msg m = { SENDER, uni, 1, 0, 0 };
	struct fake *f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, "250-mx.example.net\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER "> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@example.net>\r\nDATA\r\n");
	free(f);

	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, "250-mx.example.net\r\n250 PIPELINING\r\n");
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	check_sent(f, "");
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.6.7",
		     "SMTPUTF8 is required, but was not offered by host " PEER);
	/* an ASCII message flagged SMTPUTF8 needs it too; one without does not */
	struct smtp_client_msg a = msg_of(1);
	a.flags = SMTP_CLIENT_MSG_SMTPUTF8;
	f->nres = 0;
	assert_int_equal(smtp_client_next_message(&f->c, &a), 0);
	assert_int_equal(f->nres, 1);
	a.flags = 0;
	f->nres = 0;
	assert_int_equal(smtp_client_next_message(&f->c, &a), 0);
	drain(f);
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	free(f);
}

/* ---- AUTH ----------------------------------------------------------------- */
static void auth_plain_and_login_under_implicit_tls(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_REQUIRED);
	f->cfg.implicit_tls = true;
	f->cfg.auth_user = "alice";
	f->cfg.auth_pass = "s3cret";
	start(f);
	hello(f, "250-smarthost\r\n250-AUTH LOGIN PLAIN\r\n250 STARTTLS\r\n");
	check_sent(f, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"); /* no STARTTLS inside TLS */
	server(f, "235 2.7.0 Authentication successful\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);

	f = fake_new(SMTP_TLS_REQUIRED);
	f->cfg.implicit_tls = true;
	f->cfg.auth_user = "alice";
	f->cfg.auth_pass = "s3cret";
	start(f);
	hello(f, "250-smarthost\r\n250 AUTH LOGIN\r\n");
	check_sent(f, "AUTH LOGIN\r\n");
	server(f, "334 VXNlcm5hbWU6\r\n");
	check_sent(f, "YWxpY2U=\r\n");
	server(f, "334 UGFzc3dvcmQ6\r\n");
	check_sent(f, "czNjcmV0\r\n");
	server(f, "235 2.7.0 Authentication successful\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void auth_refused_defers_and_never_in_clear(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_REQUIRED);
	struct smtp_client_msg m = msg_of(1);
	f->cfg.implicit_tls = true;
	f->cfg.auth_user = "alice";
	f->cfg.auth_pass = "s3cret";
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, "250-smarthost\r\n250 AUTH PLAIN\r\n");
	sent(f);
	server(f, "535 5.7.8 Error: authentication failed\r\n");
	check_sent(f, "QUIT\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.8",
		     "SASL authentication failed; server " PEER
		     " said: 535 5.7.8 Error: authentication failed");
	free(f);

	/* opportunistic, no STARTTLS: the credentials stay at home */
	f = fake_new(SMTP_TLS_MAY);
	f->cfg.auth_user = "alice";
	f->cfg.auth_pass = "s3cret";
	start(f);
	hello(f, "250-smarthost\r\n250 AUTH PLAIN LOGIN\r\n");
	check_sent(f, "");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	assert_non_null(strstr(f->log, "not under TLS"));
	free(f);
}

/* ---- the body ------------------------------------------------------------- */
static void body_is_dot_stuffed_with_crlf_line_ends(void **state)
{
	(void)state;
	static const char *const in[] = {
		".hello\r\nline\r\n..x\r\n.\r\nend", /* no final CRLF */
		"a\nb\rc\r\n\r\n.\n",		    /* bare LF and CR */
		".",
	};
	static const char *const out[] = {
		"..hello\r\nline\r\n...x\r\n..\r\nend\r\n.\r\n",
		"a\r\nb\r\nc\r\n\r\n..\r\n.\r\n",
		"..\r\n.\r\n",
	};
	for (size_t chunk = 0; chunk < 2; chunk++) {
		for (size_t i = 0; i < 3; i++) {
			struct fake *f = fake_new(SMTP_TLS_MAY);
			struct smtp_client_msg m = msg_of(1);
			f->max_read = chunk; /* 0: whole; 1: one octet per read */
			with_body(f, in[i]);
			start(f);
			hello(f, EHLO_PIPE);
			assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
			drain(f);
			sent(f);
			server(f, "250 Ok\r\n250 Ok\r\n354 go\r\n");
			check_sent(f, out[i]);
			free(f);
		}
	}
}

static void large_body_streams_through_a_small_window(void **state)
{
	(void)state;
	size_t lines = 4000, n = 0;
	char *body = malloc(lines * 40), *expect = malloc(lines * 41 + 8);
	size_t e = 0;
	assert_non_null(body);
	assert_non_null(expect);
	for (size_t i = 0; i < lines; i++) {
		int k = snprintf(body + n, 40, "%sline %05u of the message\r\n", i % 7 ? "" : ".",
				 (unsigned)i);
		if (i % 7 == 0)
			expect[e++] = '.';
		memcpy(expect + e, body + n, (size_t)k);
		e += (size_t)k;
		n += (size_t)k;
	}
	memcpy(expect + e, ".\r\n", 4);
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	f->body = body;
	f->body_len = n;
	f->send_limit = 97; /* a slow socket */
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	sent(f);
	server(f, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	assert_string_equal(sent(f), expect);
	assert_int_equal(f->next_off, n); /* read once, in order */
	server(f, "250 2.0.0 Ok\r\n");
	check_result(f, 0, SMTP_CLIENT_DELIVERED, "2.0.0", NULL);
	free(f);
	free(body);
	free(expect);
}

static void read_error_defers_and_closes(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(2);
	f->read_ret = -5;
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n250 Ok\r\n550 5.1.1 no\r\n354 go\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.3.0",
		     "error reading the queued message for host " PEER);
	check_result(f, 1, SMTP_CLIENT_FAILED, "5.1.1", NULL);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);
}

/* ---- 421, timeouts, lost connections -------------------------------------- */
static void reply_421_mid_session_defers_all_open(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(3);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	server(f, "250 Ok\r\n");
	server(f, "550 5.1.1 no\r\n");
	sent(f);
	server(f, "421 4.4.2 mx.example.net Error: timeout exceeded\r\n");
	check_sent(f, ""); /* no QUIT to a server that is closing */
	assert_int_equal(f->nres, 3);
	check_result(f, 1, SMTP_CLIENT_FAILED, "5.1.1", NULL);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "host " PEER " said: 421 4.4.2 mx.example.net Error: timeout exceeded "
		     "(in reply to RCPT TO)");
	check_result(f, 2, SMTP_CLIENT_DEFERRED, "4.4.2", NULL);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_non_null(smtp_client_error(&f->c));
	free(f);
}

static void reply_421_during_the_body_or_when_idle(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	feed_only(f, "250 Ok\r\n250 Ok\r\n354 go\r\n", 24);
	/* the socket is stuck; the server gives up first */
	server(f, "421 4.4.2 Error: timeout\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "host " PEER " said: 421 4.4.2 Error: timeout (in reply to end of DATA)");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);

	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_PIPE);
	server(f, "421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(f->nres, 0);
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_ECLOSED);
	free(f);
}

static void timeouts_per_phase(void **state)
{
	(void)state;
	/* greeting: 5 minutes */
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	smtp_client_tick(&f->c, NOW0 + 299999);
	assert_int_equal(f->nres, 0);
	smtp_client_tick(&f->c, NOW0 + 300000);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "conversation with host " PEER " timed out while receiving the initial server greeting");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);

	/* DATA: 2 minutes, counted from the last reply */
	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	smtp_client_tick(&f->c, NOW0 + 200000); /* within the 5 min of RCPT */
	server(f, "250 Ok\r\n");
	check_sent(f, "MAIL FROM:<" SENDER ">\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
	smtp_client_tick(&f->c, NOW0 + 200000 + 119999);
	assert_int_equal(f->nres, 0);
	smtp_client_tick(&f->c, NOW0 + 200000 + 120000);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "conversation with host " PEER " timed out while sending DATA command");
	free(f);

	/* a stuck socket in the body: 3 minutes without progress */
	f = fake_new(SMTP_TLS_MAY);
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	feed_only(f, "250 Ok\r\n250 Ok\r\n354 go\r\n", 24);
	smtp_client_tick(&f->c, NOW0 + 179999);
	assert_int_equal(f->nres, 0);
	smtp_client_tick(&f->c, NOW0 + 180000);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "conversation with host " PEER " timed out while sending message body");
	free(f);

	/* the final dot: 10 minutes after it left */
	f = fake_new(SMTP_TLS_MAY);
	with_body(f, BODY);
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	smtp_client_tick(&f->c, NOW0 + 599999);
	assert_int_equal(f->nres, 0);
	smtp_client_tick(&f->c, NOW0 + 600000);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "conversation with host " PEER
		     " timed out while sending end of data -- message may be sent more than once");
	free(f);

	/* idle between messages: the caller's business, no timer here */
	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_PIPE);
	smtp_client_tick(&f->c, NOW0 + 86400000);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	free(f);
}

static void lost_connection_defers_with_the_phase(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(2);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	server(f, "250 Ok\r\n");
	smtp_client_abort(&f->c, NULL, NULL);
	smtp_client_abort(&f->c, NULL, NULL);
	assert_int_equal(f->nres, 2);
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2",
		     "lost connection with host " PEER " while sending RCPT TO");
	assert_string_equal(result_for(f, 0)->reply, "");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);
}

/* Where a session can stall or break, and what the reason then says. */
static void every_phase_names_itself(void **state)
{
	(void)state;
	static const struct {
		const char *ehlo;    /* EHLO reply, NULL: stall at the greeting */
		const char *more;    /* what the server says next (may be "") */
		bool implicit, auth; /* implicit TLS, credentials */
		const char *expect;  /* the reason after a timeout */
	} cases[] = {
		{ NULL, "", false, false, "receiving the initial server greeting" },
		{ "", "", false, false, "performing the EHLO handshake" },
		{ "502 5.5.1 no\r\n", "", false, false, "performing the EHLO handshake" },
		{ EHLO_TLS, "", false, false, "sending STARTTLS" },
		{ "250-mx\r\n250 AUTH PLAIN\r\n", "", true, true, "performing SASL authentication" },
		{ EHLO_BARE, "", false, false, "sending MAIL FROM" },
		{ EHLO_BARE, "250 Ok\r\n550 no\r\n", false, false, "sending RSET" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int how = 0; how < 2; how++) { /* 0: timeout, 1: connection lost */
			struct fake *f = fake_new(SMTP_TLS_MAY);
			struct smtp_client_msg m = msg_of(1);
			char want[300];
			f->cfg.implicit_tls = cases[i].implicit;
			if (cases[i].auth) {
				f->cfg.auth_user = "alice";
				f->cfg.auth_pass = "s3cret";
			}
			start(f);
			assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
			if (cases[i].ehlo) {
				server(f, GREETING);
				server(f, cases[i].ehlo);
				server(f, cases[i].more);
			}
			if (how == 0) {
				smtp_client_tick(&f->c, NOW0 + 300000);
				snprintf(want, sizeof(want), "conversation with host " PEER " timed out while %s",
					 cases[i].expect);
			} else {
				smtp_client_abort(&f->c, "4.x.2", NULL); /* malformed: the default */
				snprintf(want, sizeof(want), "lost connection with host " PEER " while %s",
					 cases[i].expect);
			}
			if (strstr(cases[i].more, "550")) /* refused before RSET */
				check_result(f, 0, SMTP_CLIENT_FAILED, "5.0.0", NULL);
			else
				check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.4.2", want);
			assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
			assert_string_equal(smtp_client_error(&f->c)->text, want);
			free(f);
		}
	}
}

static void refused_helo_and_rset_end_the_session(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	hello(f, "500 5.5.1 what\r\n");
	server(f, "550 5.7.1 go away\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.1",
		     "host " PEER " said: 550 5.7.1 go away (in reply to HELO)");
	free(f);

	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "550 5.1.8 bad sender domain\r\n250 Ok\r\n");
	/* MAIL refused: no RSET, and the stray 250 is a protocol error */
	check_result(f, 0, SMTP_CLIENT_FAILED, "5.1.8", NULL);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);

	f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	server(f, "450 4.1.1 later\r\n");
	sent(f);
	server(f, "500 5.5.1 RSET? never heard of it\r\n");
	check_sent(f, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&f->c)->text,
			    "host " PEER " said: 500 5.5.1 RSET? never heard of it (in reply to RSET)");
	smtp_client_abort(&f->c, NULL, NULL); /* gone while quitting: no error change */
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_state(&f->c), SMTP_C_CLOSED);
	free(f);
}

/* ---- hostile servers: always a deferral, never a failure, never a crash --- */
static void hostile(const char *greeting, const char *after_ehlo, const char *expect_reason)
{
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(3);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	server(f, greeting);
	if (after_ehlo)
		server(f, after_ehlo);
	assert_int_equal(f->nres, 3);
	for (size_t i = 0; i < 3; i++)
		check_result(f, i, SMTP_CLIENT_DEFERRED, "4.5.0", expect_reason);
	drain(f);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	free(f);
}

static void hostile_replies_defer(void **state)
{
	(void)state;
	hostile(GREETING, "250-mx.example.net\r\n550 5.0.0 no\r\n",
		"host " PEER " sent a reply whose lines carry different codes while performing the "
		"EHLO handshake");
	hostile("HTTP/1.1 400 Bad Request\r\n", NULL,
		"host " PEER " sent a malformed reply while receiving the initial server greeting");
	hostile("\x16\x03\x01\x02\x01\x01\n", NULL, NULL); /* TLS on port 25 */

	char endless[64 * 12 + 1] = "";
	for (int i = 0; i < 64; i++)
		strcat(endless, "220-hello\r\n");
	hostile(endless, NULL,
		"host " PEER " sent a reply of more than 32 lines while receiving the initial "
		"server greeting");

	char longl[700];
	memset(longl, 'A', sizeof(longl));
	memcpy(longl, "220 ", 4);
	longl[sizeof(longl) - 1] = '\0';
	hostile(longl, NULL,
		"host " PEER " sent a reply line over 512 octets while receiving the initial server greeting");

	/* a reply nobody asked for */
	struct fake *f = fake_new(SMTP_TLS_MAY);
	start(f);
	hello(f, EHLO_PIPE);
	server(f, "250 2.0.0 surprise\r\n");
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_CLOSE);
	assert_string_equal(smtp_client_error(&f->c)->text,
			    "host " PEER " sent an unexpected reply: 250 2.0.0 surprise");
	free(f);
}

static void refused_greeting_defers_and_quits(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	start(f);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	server(f, "554 5.7.1 go away\r\n");
	check_sent(f, "QUIT\r\n");
	check_result(f, 0, SMTP_CLIENT_DEFERRED, "4.7.1",
		     "host " PEER " refused to talk to me: 554 5.7.1 go away");
	free(f);
}

static void long_multiline_reason_is_cut_but_keeps_its_tail(void **state)
{
	(void)state;
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = msg_of(1);
	char big[32 * 300] = "";
	start(f);
	hello(f, EHLO_BARE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	server(f, "250 Ok\r\n");
	for (int i = 0; i < 19; i++)
		strcat(big, "550-5.1.1 this line goes on and on and on and on and on and on and on\r\n");
	strcat(big, "550 5.1.1 end\r\n");
	server(f, big);
	const struct result *r = result_for(f, 0);
	assert_int_equal(r->res, SMTP_CLIENT_FAILED);
	size_t n = strlen(r->text), t = strlen("... (in reply to RCPT TO)");
	assert_true(n <= SMTP_CLIENT_REASON_MAX - 1);
	assert_true(n > 400);
	assert_string_equal(r->text + n - t, "... (in reply to RCPT TO)");
	assert_int_equal(strlen(r->reply), n - strlen(" (in reply to RCPT TO)") - 37);
	assert_memory_equal(r->text, "host " PEER " said: 550 5.1.1 this line", 46);
	free(f);
}

/* ---- limits and back-pressure ---------------------------------------------- */
static void bad_messages_are_refused_without_results(void **state)
{
	(void)state;
	static const char *const inject[] = { "bob@example.net>\r\nRSET\r\nRCPT TO:<x@y" };
	static const char *const empty[] = { "" };
	static const char *many[SMTP_CLIENT_RCPT_MAX + 1];
	struct fake *f = fake_new(SMTP_TLS_MAY);
	struct smtp_client_msg m = { SENDER, inject, 1, 0, 0 };
	for (size_t i = 0; i <= SMTP_CLIENT_RCPT_MAX; i++)
		many[i] = "bob@example.net";
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_EINVAL);
	m.rcpts = empty;
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_EINVAL);
	m.rcpts = many;
	m.rcpt_count = 0;
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_EINVAL);
	m.rcpt_count = SMTP_CLIENT_RCPT_MAX + 1;
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_EINVAL);
	m.rcpt_count = 1;
	m.sender = "a\nb@c";
	assert_int_equal(smtp_client_next_message(&f->c, &m), SMTP_CLIENT_EINVAL);
	drain(f);
	check_sent(f, "");
	assert_int_equal(f->nres, 0);
	assert_int_equal(smtp_client_want(&f->c), SMTP_CLIENT_WANT_MESSAGE);
	/* and the configuration */
	struct smtp_client c2;
	f->cfg.ehlo_name = "bad\r\nname";
	assert_int_equal(smtp_client_init(&c2, &f->cfg, &hooks, f), SMTP_CLIENT_EINVAL);
	free(f);
}

static void hundred_pipelined_recipients_through_a_full_buffer(void **state)
{
	(void)state;
	static char names[SMTP_CLIENT_RCPT_MAX][80];
	static const char *rc[SMTP_CLIENT_RCPT_MAX];
	struct fake *f = fake_new(SMTP_TLS_MAY);
	for (size_t i = 0; i < SMTP_CLIENT_RCPT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]),
			 "recipient-number-%03u-with-a-long-name@example.net", (unsigned)i);
		rc[i] = names[i];
	}
	struct smtp_client_msg m = { SENDER, rc, SMTP_CLIENT_RCPT_MAX, 0, 0 };
	with_body(f, BODY);
	f->send_limit = 50;
	start(f);
	hello(f, EHLO_PIPE);
	assert_int_equal(smtp_client_next_message(&f->c, &m), 0);
	drain(f);
	const char *s = sent(f);
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, "RCPT TO:<")) != NULL; p++)
		n++;
	assert_int_equal(n, SMTP_CLIENT_RCPT_MAX);
	assert_non_null(strstr(s, "recipient-number-099-with-a-long-name@example.net>\r\nDATA\r\n"));
	/* replies, every odd one refused */
	static char replies[SMTP_CLIENT_RCPT_MAX * 20 + 64];
	strcpy(replies, "250 2.1.0 Ok\r\n");
	for (size_t i = 0; i < SMTP_CLIENT_RCPT_MAX; i++)
		strcat(replies, i % 2 ? "550 5.1.1 no\r\n" : "250 2.1.5 Ok\r\n");
	strcat(replies, "354 go\r\n");
	server(f, replies);
	check_sent(f, BODY ".\r\n");
	server(f, "250 2.0.0 Ok\r\n");
	assert_int_equal(f->nres, SMTP_CLIENT_RCPT_MAX);
	for (size_t i = 0; i < SMTP_CLIENT_RCPT_MAX; i++)
		assert_int_equal(result_for(f, i)->res, i % 2 ? SMTP_CLIENT_FAILED : SMTP_CLIENT_DELIVERED);
	free(f);
}

static int feed_whole(void **state)
{
	(void)state;
	g_bytewise = false;
	return 0;
}

static int feed_bytewise(void **state)
{
	(void)state;
	g_bytewise = true;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delivers_one_command_at_a_time_without_pipelining),
		cmocka_unit_test(pipelines_the_envelope_and_reports_mixed_results),
		cmocka_unit_test(pipelined_all_refused_then_354_sends_a_lone_dot),
		cmocka_unit_test(pipelined_all_refused_and_data_refused_resets),
		cmocka_unit_test(pipelined_data_not_sent_once_all_are_known_refused),
		cmocka_unit_test(without_pipelining_all_refused_means_no_data_but_rset),
		cmocka_unit_test(refused_mail_answers_every_recipient),
		cmocka_unit_test(refused_data_defers_the_accepted),
		cmocka_unit_test(a_250_to_data_is_no_delivery),
		cmocka_unit_test(quit_waits_for_the_message_in_progress),
		cmocka_unit_test(several_messages_in_one_session),
		cmocka_unit_test(starttls_offered_may_and_required),
		cmocka_unit_test(starttls_offered_but_policy_none),
		cmocka_unit_test(tls_required_but_not_offered_defers_4_7_4),
		cmocka_unit_test(tls_may_and_not_offered_goes_on_in_clear),
		cmocka_unit_test(starttls_refused_under_may_and_required),
		cmocka_unit_test(plaintext_after_starttls_220_is_discarded),
		cmocka_unit_test(tls_handshake_failure_is_the_callers_reason),
		cmocka_unit_test(ehlo_refused_falls_back_to_helo_unless_tls_required),
		cmocka_unit_test(size_over_the_servers_limit_fails_before_mail),
		cmocka_unit_test(eight_bit_needs_8bitmime),
		cmocka_unit_test(unflagged_8bit_content_is_never_sent),
		cmocka_unit_test(smtputf8_only_when_needed_and_offered),
		cmocka_unit_test(auth_plain_and_login_under_implicit_tls),
		cmocka_unit_test(auth_refused_defers_and_never_in_clear),
		cmocka_unit_test(body_is_dot_stuffed_with_crlf_line_ends),
		cmocka_unit_test(large_body_streams_through_a_small_window),
		cmocka_unit_test(read_error_defers_and_closes),
		cmocka_unit_test(reply_421_mid_session_defers_all_open),
		cmocka_unit_test(reply_421_during_the_body_or_when_idle),
		cmocka_unit_test(timeouts_per_phase),
		cmocka_unit_test(lost_connection_defers_with_the_phase),
		cmocka_unit_test(every_phase_names_itself),
		cmocka_unit_test(refused_helo_and_rset_end_the_session),
		cmocka_unit_test(hostile_replies_defer),
		cmocka_unit_test(refused_greeting_defers_and_quits),
		cmocka_unit_test(long_multiline_reason_is_cut_but_keeps_its_tail),
		cmocka_unit_test(bad_messages_are_refused_without_results),
		cmocka_unit_test(hundred_pipelined_recipients_through_a_full_buffer),
	};
	int failed = cmocka_run_group_tests_name("fed whole", tests, feed_whole, NULL);
	failed += cmocka_run_group_tests_name("fed byte by byte", tests, feed_bytewise, NULL);
	return failed;
}
