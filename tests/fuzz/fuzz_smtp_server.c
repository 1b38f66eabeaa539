/* fuzz_smtp_server — libFuzzer target for the inbound SMTP engine. The
 * first input byte picks the set-up (bit 0: client inside relay_nets;
 * bit 1: STARTTLS offered; bit 2: AUTH over plaintext; bits 3-7: chunk
 * size, 0 = whole); the rest is what the client sends. Checks, besides
 * the sanitizers:
 * - a client outside relay_nets whose AUTH always fails never reaches the
 *   queue (no msg_begin): relay control holds for any input;
 * - every reply line is "ddd" + ' ' or '-', at most SMTP_REPLY_MAX, CRLF;
 * - what reaches the queue has CRLF line ends only, no bare CR or LF;
 * - feeding in chunks gives the same replies and queue writes as feeding
 *   all at once (without STARTTLS, which drops the rest of its read).
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Ifirmware
 *   -Ibuild/src/mbedtls-3.6.6/include the .c files of firmware/smtp, firmware/port_common.c
 *   tests/fuzz/fuzz_smtp_server.c + mbedTLS base64.c constant_time.c
 *   platform_util.c; seeds in tests/fuzz/seeds/smtp_server/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_server.h"

#include "fuzz_check.h"

#define TRANSCRIPT_MAX 65536

struct run {
	bool relay_client;
	int begins, commits;
	uint8_t out[TRANSCRIPT_MAX]; /* replies, truncated at the bound */
	size_t out_len;
	uint64_t queue_hash, queue_len; /* FNV-1a of every msg_write */
};


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
	(void)sender;
	(void)flags;
	check(r->relay_client); /* the relay-control invariant */
	r->begins++;
	return 0;
}

static int h_rcpt(void *ctx, const char *rcpt)
{
	(void)ctx;
	check(strlen(rcpt) < SMTP_MAILBOX_BUF && strpbrk(rcpt, "\r\n") == NULL);
	return 0;
}

static int h_write(void *ctx, const uint8_t *d, size_t n)
{
	struct run *r = ctx;
	crlf_only(d, n);
	check(n >= 2 && d[n - 2] == '\r' && d[n - 1] == '\n');
	for (size_t i = 0; i < n; i++)
		r->queue_hash = (r->queue_hash ^ d[i]) * 0x100000001b3ull;
	r->queue_len += n;
	return 0;
}

static int h_commit(void *ctx, char *id, size_t size)
{
	struct run *r = ctx;
	r->commits++;
	check(size >= 4);
	memcpy(id, "F1", 3);
	return 0;
}

static void h_abort(void *ctx)
{
	(void)ctx;
}

static int h_auth(void *ctx, const char *user, const char *pass)
{
	(void)ctx;
	(void)user;
	(void)pass;
	return SMTP_EDENIED;
}

static const struct smtp_server_hooks hooks = {
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

static void run(struct run *r, uint8_t mode, const uint8_t *in, size_t len, size_t chunk)
{
	struct smtp_server *s = malloc(sizeof(*s));
	struct smtp_server_config cfg;
	struct smtp_cidr lan;
	struct smtp_peer peer = { 0 };
	memset(r, 0, sizeof(*r));
	r->relay_client = mode & 1;
	check(s != NULL);
	smtp_server_config_defaults(&cfg);
	cfg.hostname = "fuzz.test";
	cfg.max_size = 4096;
	cfg.max_commands = 100; /* keeps the transcript under TRANSCRIPT_MAX */
	cfg.tls_available = (mode & 2) != 0;
	cfg.auth_over_plaintext = (mode & 4) != 0;
	check(smtp_cidr_parse("10.0.0.0/8", &lan) == 0);
	cfg.relay_nets = &lan;
	cfg.relay_nets_count = 1;
	check(smtp_ip_parse(r->relay_client ? "10.1.1.1" : "198.51.100.1",
			    r->relay_client ? 8 : 12, &peer.addr) == 0);
	check(smtp_server_init(s, &cfg, &hooks, r, &peer, 0, 0) == 0);
	smtp_server_start(s, 0);
	size_t off = 0;
	int stalls = 0;
	while (off < len && smtp_server_want(s) != SMTP_WANT_CLOSE) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		size_t used = smtp_server_feed(s, in + off, n);
		check(used <= n);
		take_output(s, r);
		off += used;
		if (smtp_server_want(s) == SMTP_WANT_STARTTLS)
			smtp_server_tls_started(s, "TLSv1.3", "TLS1-3-AES-128-GCM-SHA256");
		if (used == 0)
			check(++stalls < 8);
		else
			stalls = 0;
	}
	smtp_server_close(s);
	take_output(s, r);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces; /* large: keep them off the stack */
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size_t chunk = mode >> 3;
	run(&whole, mode, data + 1, size - 1, 0);
	check_replies(whole.out, whole.out_len);
	/* STARTTLS discards the rest of one read, so chunking legitimately
	 * changes what follows it: compare only without STARTTLS */
	if (chunk && !(mode & 2)) {
		run(&pieces, mode, data + 1, size - 1, chunk);
		check(whole.out_len == pieces.out_len);
		check(memcmp(whole.out, pieces.out, whole.out_len) == 0);
		check(whole.queue_hash == pieces.queue_hash && whole.queue_len == pieces.queue_len);
		check(whole.commits == pieces.commits);
	}
	return 0;
}
