/* fuzz_smtp_server — libFuzzer target for the inbound SMTP engine
 * (firmware/smtp/smtp_server.c), extended from the SMTP owner's first
 * version. Input: [mode][ctl][k decision bytes][client bytes].
 * mode bit 0: client inside relay_nets; bit 1: STARTTLS offered; bit 2:
 * AUTH over plaintext; bits 3-7: chunk size (0 = whole).
 * ctl bits 0-3: k, the number of decision bytes; bit 4: lazy output (the
 * caller drains output only when the engine stops taking input, so
 * back-pressure is exercised); bit 5: the session limit is already
 * reached (421 greeting); bit 6: time passes (tick 61 s before each
 * feed, so the 5 and 3 minute timeouts fire); bit 7: a minimum DATA
 * rate of 64 octets/s (smtp_min_data_rate), so with bit 6 the slow-DATA
 * cut-off runs too.
 * Hook call i answers from decision byte i % k: & 7 of 0-3 or 7 is 0,
 * 4 SMTP_EFULL, 5 SMTP_EDENIED, 6 SMTP_EIO; auth_check accepts only on 0.
 * k = 0: queue hooks always 0, auth always denied.
 * Checks, besides the sanitizers:
 * - relay control: msg_begin only for a relay_nets client or after an
 *   auth_check that said yes (in this TLS epoch); auth_check only under
 *   TLS or with auth_over_plaintext;
 * - hook sequence: msg_rcpt / msg_write / msg_commit / msg_abort only
 *   inside a message (after a successful msg_begin); no msg_begin inside
 *   one; no write after a failed write; commit only with an accepted
 *   recipient and no failed write, at most once per message; after a
 *   good commit the message is closed (no abort); nothing open after
 *   smtp_server_close; the first write is our Received: header;
 * - message flags say TLS / AUTH exactly when the session has them;
 * - output never exceeds SMTP_OUT_MAX; every reply line is "ddd" + ' '
 *   or '-', at most SMTP_REPLY_MAX, CRLF; state and want in range;
 * - what reaches the queue has CRLF line ends only, no bare CR or LF;
 * - feeding in chunks gives the same replies and queue writes as feeding
 *   all at once (without STARTTLS, which drops the rest of its read, and
 *   without ticking). Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_server.h"

#include "fuzz_check.h"

#define TRANSCRIPT_MAX 65536

enum phase { IDLE, OPEN };

struct run {
	bool relay_client, plain_auth, tls, authed;
	const uint8_t *dec;
	size_t ndec, calls;
	enum phase phase;
	bool write_failed, first_write;
	unsigned rcpts_ok;
	int begins, commits;
	uint8_t out[TRANSCRIPT_MAX]; /* replies, truncated at the bound */
	size_t out_len;
	uint64_t queue_hash, queue_len; /* FNV-1a of every msg_write */
};

static int decide(struct run *r, bool for_auth)
{
	if (r->ndec == 0)
		return for_auth ? SMTP_EDENIED : 0;
	uint8_t d = r->dec[r->calls++ % r->ndec] & 7;
	if (for_auth)
		return d == 0 ? 0 : SMTP_EDENIED;
	switch (d) {
	case 4:
		return SMTP_EFULL;
	case 5:
		return SMTP_EDENIED;
	case 6:
		return SMTP_EIO;
	default:
		return 0;
	}
}

static void crlf_only(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\r')
			check(i + 1 < n && d[i + 1] == '\n');
		if (d[i] == '\n')
			check(i > 0 && d[i - 1] == '\r');
	}
}

static int h_begin(void *ctx, const char *sender, unsigned flags)
{
	struct run *r = ctx;
	check(r->relay_client || r->authed); /* the relay-control invariant */
	check(r->phase == IDLE);
	check(strlen(sender) < SMTP_MAILBOX_BUF && strpbrk(sender, "\r\n") == NULL);
	check(!(flags & SMTP_MSG_TLS) == !r->tls);
	check(!(flags & SMTP_MSG_AUTH) == !r->authed);
	int v = decide(r, false);
	if (v == 0) {
		r->phase = OPEN;
		r->write_failed = false;
		r->first_write = true;
		r->rcpts_ok = 0;
		r->begins++;
	}
	return v;
}

static int h_rcpt(void *ctx, const char *rcpt)
{
	struct run *r = ctx;
	check(r->phase == OPEN);
	check(strlen(rcpt) < SMTP_MAILBOX_BUF && strpbrk(rcpt, "\r\n") == NULL);
	check(strchr(rcpt, '@') != NULL);
	int v = decide(r, false);
	if (v == 0)
		r->rcpts_ok++;
	return v;
}

static int h_write(void *ctx, const uint8_t *d, size_t n)
{
	struct run *r = ctx;
	check(r->phase == OPEN && !r->write_failed && r->rcpts_ok > 0);
	if (r->first_write)
		check(n > 10 && memcmp(d, "Received: ", 10) == 0);
	r->first_write = false;
	crlf_only(d, n);
	check(n >= 2 && d[n - 2] == '\r' && d[n - 1] == '\n');
	for (size_t i = 0; i < n; i++)
		r->queue_hash = (r->queue_hash ^ d[i]) * 0x100000001b3ull;
	r->queue_len += n;
	int v = decide(r, false);
	if (v != 0)
		r->write_failed = true;
	return v;
}

static int h_commit(void *ctx, char *id, size_t size)
{
	struct run *r = ctx;
	check(r->phase == OPEN && !r->write_failed && r->rcpts_ok > 0 && !r->first_write);
	check(size >= 4);
	int v = decide(r, false);
	if (v == 0) {
		r->commits++;
		r->phase = IDLE; /* committed: closed, no abort may follow */
		memcpy(id, "F1\r\n", 5); /* an id with CRLF must be sanitised */
	}
	return v;
}

static void h_abort(void *ctx)
{
	struct run *r = ctx;
	check(r->phase == OPEN);
	r->phase = IDLE;
}

static int h_auth(void *ctx, const char *user, const char *pass)
{
	struct run *r = ctx;
	check(r->tls || r->plain_auth); /* no AUTH in clear unless configured */
	check(strlen(user) <= SMTP_AUTH_FIELD_MAX && strlen(pass) <= SMTP_AUTH_FIELD_MAX);
	int v = decide(r, true);
	if (v == 0)
		r->authed = true;
	return v;
}

static int h_size(void *ctx, uint64_t size)
{
	struct run *r = ctx;
	int v = decide(r, false);
	return v == SMTP_EFULL ? v : 0;
}

static const struct smtp_server_hooks hooks = {
	.check_size = h_size,
	.msg_begin = h_begin,
	.msg_rcpt = h_rcpt,
	.msg_write = h_write,
	.msg_commit = h_commit,
	.msg_abort = h_abort,
	.auth_check = h_auth,
};

static void take_output(struct smtp_server *s, struct run *r)
{
	const uint8_t *p;
	size_t n = smtp_server_output(s, &p);
	check(n <= SMTP_OUT_MAX);
	size_t room = TRANSCRIPT_MAX - r->out_len;
	memcpy(r->out + r->out_len, p, n < room ? n : room);
	r->out_len += n < room ? n : room;
	smtp_server_consumed_output(s, n);
}

static void check_replies(const uint8_t *d, size_t n)
{
	size_t start = 0;
	crlf_only(d, n);
	for (size_t i = 0; i + 1 < n; i++) {
		if (d[i] != '\r')
			continue;
		size_t len = i - start;
		check(len + 2 <= SMTP_REPLY_MAX && len >= 3);
		check(d[start] >= '2' && d[start] <= '5');
		if (len > 3)
			check(d[start + 3] == ' ' || d[start + 3] == '-');
		start = i + 2;
	}
}

static void sane(const struct smtp_server *s)
{
	enum smtp_server_state st = smtp_server_state(s);
	enum smtp_want w = smtp_server_want(s);
	check(st >= SMTP_S_NEW && st <= SMTP_S_CLOSING && st != SMTP_S_NEW);
	check(w >= SMTP_WANT_READ && w <= SMTP_WANT_CLOSE);
	const uint8_t *p;
	check(smtp_server_output(s, &p) <= SMTP_OUT_MAX);
}

static void run(struct run *r, uint8_t mode, uint8_t ctl, const uint8_t *dec, size_t ndec,
		const uint8_t *in, size_t len, size_t chunk)
{
	struct smtp_server *s = malloc(sizeof(*s));
	struct smtp_server_config cfg;
	struct smtp_cidr lan;
	struct smtp_peer peer = { 0 };
	memset(r, 0, sizeof(*r));
	r->relay_client = mode & 1;
	r->plain_auth = (mode & 4) != 0;
	r->dec = dec;
	r->ndec = ndec;
	check(s != NULL);
	smtp_server_config_defaults(&cfg);
	cfg.hostname = "fuzz.test";
	cfg.max_size = 4096;
	cfg.max_rcpts = 5;
	cfg.max_commands = 100; /* keeps the transcript under TRANSCRIPT_MAX */
	cfg.tls_available = (mode & 2) != 0;
	cfg.auth_over_plaintext = (mode & 4) != 0;
	cfg.min_data_rate = (ctl & 0x80) ? 64 : 0;
	check(smtp_cidr_parse("10.0.0.0/8", &lan) == 0);
	cfg.relay_nets = &lan;
	cfg.relay_nets_count = 1;
	check(smtp_ip_parse(r->relay_client ? "10.1.1.1" : "198.51.100.1",
			    r->relay_client ? 8 : 12, &peer.addr) == 0);
	uint64_t now = 1000000;
	check(smtp_server_init(s, &cfg, &hooks, r, &peer, now, 1795867200) == 0);
	smtp_server_start(s, (ctl & 0x20) ? cfg.max_sessions : 0);
	take_output(s, r);
	size_t off = 0;
	int stalls = 0;
	while (off < len && smtp_server_want(s) != SMTP_WANT_CLOSE) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		if (ctl & 0x40) {
			now += 61000;
			smtp_server_tick(s, now, 1795867200 + (int64_t)(now / 1000));
			sane(s);
			if (smtp_server_want(s) == SMTP_WANT_CLOSE)
				break;
		}
		size_t used = smtp_server_feed(s, in + off, n);
		check(used <= n);
		sane(s);
		if (!(ctl & 0x10) || used < n)
			take_output(s, r);
		off += used;
		if (smtp_server_want(s) == SMTP_WANT_STARTTLS) {
			take_output(s, r);
			r->tls = true;
			r->authed = false; /* RFC 3207: the session starts over */
			smtp_server_tls_started(s, "TLSv1.3", "TLS1-3-AES-128-GCM-SHA256");
			check(r->phase == IDLE);
			sane(s);
		}
		if (used == 0)
			check(++stalls < 8);
		else
			stalls = 0;
	}
	take_output(s, r);
	smtp_server_close(s);
	check(r->phase == IDLE); /* close abandons an open message */
	smtp_server_close(s);	 /* idempotent */
	take_output(s, r);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces; /* large: keep them off the stack */
	if (size < 2)
		return 0;
	uint8_t mode = data[0], ctl = data[1];
	size_t ndec = ctl & 15;
	if (size < 2 + ndec)
		return 0;
	const uint8_t *dec = data + 2, *in = data + 2 + ndec;
	size_t len = size - 2 - ndec;
	size_t chunk = mode >> 3;
	run(&whole, mode, ctl, dec, ndec, in, len, 0);
	check_replies(whole.out, whole.out_len);
	/* STARTTLS discards the rest of one read, and ticks depend on the
	 * number of reads, so chunking legitimately changes what follows:
	 * compare only without either */
	if (chunk && !(mode & 2) && !(ctl & 0xC0)) {
		run(&pieces, mode, ctl, dec, ndec, in, len, chunk);
		check(whole.out_len == pieces.out_len);
		check(memcmp(whole.out, pieces.out, whole.out_len) == 0);
		check(whole.queue_hash == pieces.queue_hash && whole.queue_len == pieces.queue_len);
		check(whole.commits == pieces.commits && whole.begins == pieces.begins);
	}
	return 0;
}
