/* fuzz_smtp_client — libFuzzer target for the outbound SMTP engine
 * (firmware/smtp/smtp_client.c + smtp_reply.c): a hostile server's
 * bytes in arbitrary chunking. Input: [mode][chunk][server bytes]; mode
 * bits 0-1: TLS policy (0 none, 1 may, 2-3 required); bit 2: implicit TLS;
 * bit 3: AUTH credentials configured; bit 5: a second message follows;
 * bit 6: time passes (61 s before each feed); bit 7: the content holds
 * 8-bit octets but is not flagged. chunk: bytes per feed (0 = whole).
 * The TLS handshake, when asked for, always succeeds. Checks, besides
 * the sanitizers:
 * - nothing of a transaction (MAIL, RCPT, DATA, body) and no AUTH is
 *   sent in clear under policy required; AUTH never in clear at all;
 * - no 8-bit octet is sent to a server that did not offer 8BITMIME;
 * - the wire carries CRLF line ends only (no bare CR or LF), output
 *   within SMTP_CLIENT_OUT_MAX;
 * - every recipient of every message handed over gets exactly one
 *   result, whose enhanced class matches it (2 / 4 / 5), with a
 *   NUL-terminated reason and the server's reply inside it;
 * - the session ends (want CLOSE) after abort; state in range.
 * The seeds in seeds/smtp_client/ were written by the SMTP client's
 * owner for this layout. Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_client.h"

#include "fuzz_check.h"

struct run {
	unsigned mode;
	bool tls;
	const uint8_t *body;
	size_t body_len;
	int results[2][3]; /* per message, per recipient: result count */
	int msg;	   /* index of the message being delivered */
	bool prev_cr;	   /* output: last octet was CR */
	bool in_body;
};

static long h_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct run *r = ctx;
	if (off >= r->body_len)
		return 0;
	size_t n = r->body_len - off < len ? r->body_len - (size_t)off : len;
	memcpy(buf, r->body + off, n);
	return (long)n;
}

static void h_result(void *ctx, size_t rcpt, enum smtp_client_result res,
		     const struct smtp_client_status *st)
{
	struct run *r = ctx;
	check(r->msg >= 0 && r->msg < 2 && rcpt < 3);
	check(++r->results[r->msg][rcpt] == 1);
	check(res <= SMTP_CLIENT_FAILED);
	check(st->enh[0] == (res == SMTP_CLIENT_DELIVERED ? 2 : res == SMTP_CLIENT_DEFERRED ? 4 : 5));
	const char *nul = memchr(st->text, '\0', sizeof(st->text));
	check(nul != NULL);
	size_t tl = (size_t)(nul - st->text);
	check(strpbrk(st->text, "\r\n") == NULL);
	check((size_t)st->reply_off + st->reply_len <= tl);
	check(st->code == 0 || (st->code >= 200 && st->code <= 599));
}

static const struct smtp_client_hooks hooks = { .read = h_read, .rcpt_result = h_result };

static void take_output(struct smtp_client *c, struct run *r, enum smtp_tls_policy pol)
{
	const uint8_t *p;
	size_t n = smtp_client_output(c, &p);
	check(n <= SMTP_CLIENT_OUT_MAX);
	bool clear = !smtp_client_tls_active(c);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			check(r->prev_cr);
		if (r->prev_cr)
			check(p[i] == '\n');
		r->prev_cr = p[i] == '\r';
		if (p[i] >= 0x80)
			check(c->cap_8bitmime);
	}
	if (clear && n >= 4) {
		/* commands start at the beginning of an output piece or after CRLF */
		for (size_t i = 0; i + 4 <= n; i++) {
			if (i > 0 && p[i - 1] != '\n')
				continue;
			check(memcmp(p + i, "AUTH", 4) != 0);
			if (pol == SMTP_TLS_REQUIRED)
				check(memcmp(p + i, "MAIL", 4) != 0 && memcmp(p + i, "RCPT", 4) != 0 &&
				      memcmp(p + i, "DATA", 4) != 0);
		}
	}
	if (pol == SMTP_TLS_REQUIRED && clear) {
		enum smtp_client_state st = smtp_client_state(c);
		check(st != SMTP_C_ENVELOPE && st != SMTP_C_BODY && st != SMTP_C_DOT &&
		      st != SMTP_C_AUTH);
	}
	smtp_client_consumed_output(c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_client c;
	static struct run r;
	static const char body7[] = "Subject: hi\r\n\r\n.leading dot\r\nbare\nlf and bare\rcr\r\n"
				    "..\r\n.\r\nno final crlf";
	static const char body8[] = "Subject: caf\xc3\xa9\r\n\r\n\xff\xfe 8-bit\r\n";
	static const char *const rc[3] = { "a@example.net", "b@example.net", "c@example.org" };
	if (size < 2)
		return 0;
	memset(&r, 0, sizeof(r));
	r.mode = data[0];
	size_t chunk = data[1];
	const uint8_t *in = data + 2;
	size_t len = size - 2;
	enum smtp_tls_policy pol = (data[0] & 3) >= 2 ? SMTP_TLS_REQUIRED
				   : (data[0] & 3) == 1 ? SMTP_TLS_MAY
							: SMTP_TLS_NONE;
	r.body = (const uint8_t *)((data[0] & 0x80) ? body8 : body7);
	r.body_len = (data[0] & 0x80) ? sizeof(body8) - 1 : sizeof(body7) - 1;
	struct smtp_client_config cfg;
	smtp_client_config_defaults(&cfg);
	cfg.ehlo_name = "gw.example.net";
	cfg.peer = "mx.example.net[192.0.2.1]";
	cfg.tls = pol;
	cfg.implicit_tls = (data[0] & 4) != 0;
	if (data[0] & 8) {
		cfg.auth_user = "user";
		cfg.auth_pass = "s3cret";
	}
	check(smtp_client_init(&c, &cfg, &hooks, &r) == 0);
	uint64_t now = 5000;
	smtp_client_tick(&c, now);
	struct smtp_client_msg m[2] = {
		{ .sender = "s@example.com", .rcpts = rc, .rcpt_count = 3, .size = r.body_len },
		{ .sender = "", .rcpts = rc + 2, .rcpt_count = 1, .size = 0 },
	};
	bool handed[2] = { false, false };
	int nmsgs = (data[0] & 0x20) ? 2 : 1;
	r.msg = 0;
	check(smtp_client_next_message(&c, &m[0]) == 0);
	handed[0] = true;
	size_t off = 0;
	int stalls = 0;
	for (int guard = 0; guard < 100000; guard++) {
		take_output(&c, &r, pol);
		enum smtp_client_want w = smtp_client_want(&c);
		check(w <= SMTP_CLIENT_WANT_CLOSE && smtp_client_state(&c) <= SMTP_C_CLOSED);
		if (w == SMTP_CLIENT_WANT_CLOSE)
			break;
		if (w == SMTP_CLIENT_WANT_TLS) {
			smtp_client_tls_started(&c);
			continue;
		}
		if (w == SMTP_CLIENT_WANT_MESSAGE) {
			if (r.msg + 1 < nmsgs) {
				r.msg++;
				int e = smtp_client_next_message(&c, &m[r.msg]);
				check(e == 0 || e == SMTP_CLIENT_ECLOSED);
				handed[r.msg] = e == 0;
			} else {
				smtp_client_quit(&c);
			}
			continue;
		}
		if (off >= len)
			break;
		if (data[0] & 0x40) {
			now += 61000;
			smtp_client_tick(&c, now);
		}
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		size_t used = smtp_client_feed(&c, in + off, n);
		check(used <= n);
		off += used;
		if (used == 0)
			check(++stalls < 16);
		else
			stalls = 0;
	}
	/* the connection ends: everything left is deferred, once */
	smtp_client_abort(&c, NULL, NULL);
	take_output(&c, &r, pol);
	check(smtp_client_want(&c) == SMTP_CLIENT_WANT_CLOSE);
	smtp_client_abort(&c, "4.7.5", "again"); /* idempotent */
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < m[k].rcpt_count; i++)
			check(r.results[k][i] == (handed[k] ? 1 : 0));
	return 0;
}
