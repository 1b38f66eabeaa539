/* test_dsn — delivery status notifications on a real queue (RAM flash):
 * each DSN is read back from the queue and parsed: a 7-bit CRLF
 * multipart/report with three parts and a closing boundary, the RFC 3464
 * fields per recipient with the right status classes (4.4.7 returned as
 * 5.4.7), the original header bounded at DSN_HDR_MAX, folded and 7-bit;
 * never a DSN for a DSN or for the null sender; the DSN is queued as a
 * bounce from <> to the original sender and fits in the bounce reserve of
 * a queue that refuses ordinary mail. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "queue/queue.h"
#include "relay/dsn.h"
#include "../../board/host/flashsim.h"

#define MAX_MSGS 64
#define HOST "gw.example.net"
#define NOW 1798464013ull     /* Mon, 28 Dec 2026 13:20:13 +0000 */
#define ARRIVAL 1798000000ull /* Wed, 23 Dec 2026 04:26:40 +0000 */
#define OUT_MAX (128 * 1024)

struct rig {
	struct flashsim *fs;
	struct queue q;
	struct queue_config cfg;
	struct queue_writer w;
	_Alignas(8) uint8_t index[64 * 1024];
	char out[OUT_MAX + 1]; /* a DSN read back */
	size_t out_len;
};

static struct rig *rig_open(uint32_t blocks, uint32_t erase_size, uint32_t max_msg_size)
{
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct flashsim_config fc = { .size = blocks * erase_size, .erase_size = erase_size,
				      .program_size = 4, .name = "queue" };
	assert_int_equal(flashsim_open(&r->fs, &fc), 0);
	r->cfg = (struct queue_config){ .flash = flashsim_flash(r->fs),
					.max_msgs = MAX_MSGS,
					.max_msg_size = max_msg_size,
					.index_buf = r->index,
					.index_buf_size = sizeof(r->index) };
	assert_true(queue_index_size(r->cfg.flash, MAX_MSGS) <= sizeof(r->index));
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
	return r;
}

static void rig_close(struct rig *r)
{
	flashsim_close(r->fs);
	free(r);
}

static int put(struct rig *r, const char *sender, const char *const *rcpts, unsigned n,
	       unsigned flags, const char *content, size_t len, uint32_t *id)
{
	int err = queue_msg_begin(&r->q, &r->w, sender, rcpts, n, flags, 0, ARRIVAL);
	if (err)
		return err;
	err = queue_msg_write(&r->w, content, len);
	if (err) {
		queue_msg_abort(&r->w);
		return err;
	}
	return queue_msg_commit(&r->w, id);
}

static const char *const RCPTS[] = { "bob@a.example", "carol@b.example", "dave@c.example" };
static const char ORIG_HDR[] = "From: Alice <alice@example.com>\r\n"
			       "To: bob@a.example, carol@b.example, dave@c.example\r\n"
			       "Subject: lunch on friday\r\n"
			       "Message-ID: <orig.1@example.com>\r\n";
static const char ORIG_BODY[] = "\r\nSECRET body line\r\n";

static uint32_t put_original(struct rig *r)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s%s", ORIG_HDR, ORIG_BODY);
	uint32_t id;
	assert_int_equal(put(r, "alice@example.com", RCPTS, 3, 0, buf, strlen(buf), &id), 0);
	return id;
}

/* Reads message id back into r->out and checks the wire rules: CRLF only,
 * 7-bit, no NUL, no line over 998 octets. */
static void read_back(struct rig *r, uint32_t id)
{
	size_t off = 0;
	for (;;) {
		long n = queue_msg_read(&r->q, id, (uint32_t)off, r->out + off, OUT_MAX - off);
		assert_true(n >= 0);
		if (n == 0)
			break;
		off += (size_t)n;
		assert_true(off < OUT_MAX);
	}
	r->out[off] = '\0';
	r->out_len = off;
	size_t col = 0;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)r->out[i];
		assert_true(c != 0 && c < 0x80);
		if (c == '\r') {
			assert_true(i + 1 < off && r->out[i + 1] == '\n');
		} else if (c == '\n') {
			assert_true(i > 0 && r->out[i - 1] == '\r');
			col = 0;
			continue;
		}
		if (c != '\r' && ++col > DSN_LINE_MAX)
			fail_msg("line over 998 octets at %lu", (unsigned long)i);
	}
	assert_true(off >= 2 && r->out[off - 2] == '\r' && r->out[off - 1] == '\n');
}

struct span {
	const char *p;
	size_t len;
};

static const char *find(struct span s, const char *needle)
{
	return memmem(s.p, s.len, needle, strlen(needle));
}

/* The value of a header field in a header block ("Name: value"), the
 * first one, unfolded not needed for the fields checked here. */
static void expect_field(struct span block, const char *name, const char *value)
{
	char want[1200];
	snprintf(want, sizeof(want), "%s: %s\r\n", name, value);
	/* at the start of the block or after a CRLF */
	if (block.len >= strlen(want) && !memcmp(block.p, want, strlen(want)))
		return;
	char nl[1204];
	snprintf(nl, sizeof(nl), "\r\n%s", want);
	if (!find(block, nl))
		fail_msg("missing \"%s: %s\" in:\n%.*s", name, value, (int)block.len, block.p);
}

static void expect_no_field(struct span block, const char *name)
{
	char nl[128];
	snprintf(nl, sizeof(nl), "\r\n%s:", name);
	assert_null(find(block, nl));
	assert_false(block.len >= strlen(nl) - 2 && !memcmp(block.p, nl + 2, strlen(nl) - 2));
}

struct parsed {
	struct span head;	   /* top-level header, without the empty line */
	struct span part_head[3], part_body[3];
	struct span blocks[QUEUE_MAX_RCPT + 2]; /* part 2 split at empty lines */
	unsigned nblocks;
};

/* Splits r->out as a multipart/report with exactly three parts. */
static void parse_dsn(struct rig *r, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	struct span all = { r->out, r->out_len };
	const char *eoh = find(all, "\r\n\r\n");
	assert_non_null(eoh);
	p->head = (struct span){ r->out, (size_t)(eoh - r->out) + 2 };
	const char *ct = find(p->head, "Content-Type: multipart/report; report-type=delivery-status;");
	assert_non_null(ct);
	const char *bq = find(p->head, "boundary=\"");
	assert_non_null(bq);
	bq += 10;
	const char *be = strchr(bq, '"');
	assert_non_null(be);
	char delim[80];
	assert_true(be - bq > 0 && be - bq < 70);
	snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)(be - bq), bq);
	size_t dl = strlen(delim);
	struct span body = { eoh + 2, r->out_len - (size_t)(eoh + 2 - r->out) };
	const char *cur = find(body, delim);
	assert_non_null(cur);
	unsigned np = 0;
	for (;;) {
		const char *after = cur + dl;
		size_t left = r->out_len - (size_t)(after - r->out);
		if (left >= 2 && !memcmp(after, "--", 2)) {
			/* closing delimiter: then only its CRLF */
			assert_int_equal(left, 4);
			assert_memory_equal(after, "--\r\n", 4);
			break;
		}
		assert_true(left >= 2 && !memcmp(after, "\r\n", 2));
		const char *start = after + 2;
		struct span rest = { start, r->out_len - (size_t)(start - r->out) };
		const char *next = find(rest, delim);
		assert_non_null(next);
		assert_true(np < 3);
		struct span part = { start, (size_t)(next - start) };
		const char *peoh = find(part, "\r\n\r\n");
		assert_non_null(peoh);
		p->part_head[np] = (struct span){ start, (size_t)(peoh - start) + 2 };
		p->part_body[np] = (struct span){ peoh + 4, (size_t)(next - (peoh + 4)) };
		np++;
		cur = next;
	}
	assert_int_equal(np, 3);
	expect_field(p->part_head[0], "Content-Type", "text/plain; charset=us-ascii");
	expect_field(p->part_head[1], "Content-Type", "message/delivery-status");
	expect_field(p->part_head[2], "Content-Type", "text/rfc822-headers");
	/* part 2: per-message block, then one block per recipient */
	struct span s = p->part_body[1];
	while (s.len) {
		const char *e = find(s, "\r\n\r\n");
		size_t len = e ? (size_t)(e - s.p) + 2 : s.len;
		assert_true(p->nblocks < sizeof(p->blocks) / sizeof(p->blocks[0]));
		p->blocks[p->nblocks++] = (struct span){ s.p, len };
		size_t skip = e ? len + 2 : len;
		s.p += skip;
		s.len -= skip;
	}
}

static struct dsn_info info_failed(void)
{
	return (struct dsn_info){ .action = DSN_FAILED, .hostname = HOST, .now = NOW,
				  .rnd = 0x1234abcdu };
}

static void failed_dsn_is_a_well_formed_report_to_the_sender(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	uint32_t orig = put_original(r);
	const struct dsn_rcpt rc[] = {
		{ .index = 0, .reply = "550 5.1.1 <bob@a.example>: no such user",
		  .remote_mta = "mx.a.example", .last_attempt = NOW - 60 },
		/* expired: the relay's 4.4.7 with the last remote reply */
		{ .index = 1, .status = "4.4.7", .reply = "450 4.2.0 mailbox busy" },
	};
	struct dsn_info in = info_failed();
	uint32_t id = 0;
	assert_int_equal(dsn_generate(&r->q, orig, rc, 2, &in, &r->w, &id), 0);
	assert_true(id != orig);

	/* queued as a bounce from <> to the original sender, one recipient */
	struct queue_msg_info mi;
	assert_int_equal(queue_msg_info(&r->q, id, &mi), 0);
	assert_true(mi.bounce);
	assert_string_equal(mi.sender, "");
	assert_int_equal(mi.nrcpt, 1);
	assert_int_equal(mi.npending, 1);
	assert_int_equal(mi.arrival, NOW);
	char to[QUEUE_ADDR_MAX + 1];
	assert_int_equal(queue_msg_rcpt(&r->q, id, 0, to, sizeof(to)), 0);
	assert_string_equal(to, "alice@example.com");
	/* the original is untouched: the relay records the results itself */
	assert_int_equal(queue_msg_info(&r->q, orig, &mi), 0);
	assert_int_equal(mi.npending, 3);

	read_back(r, id);
	struct parsed p;
	parse_dsn(r, &p);
	expect_field(p.head, "Date", "Mon, 28 Dec 2026 13:20:13 +0000");
	expect_field(p.head, "From", "Mail Delivery System <MAILER-DAEMON@" HOST ">");
	expect_field(p.head, "To", "<alice@example.com>");
	expect_field(p.head, "Subject", "Undelivered Mail Returned to Sender");
	expect_field(p.head, "MIME-Version", "1.0");
	expect_field(p.head, "Auto-Submitted", "auto-replied");
	const char *mid = find(p.head, "\r\nMessage-ID: <");
	assert_non_null(mid);
	const char *mide = strstr(mid, ">\r\n");
	assert_non_null(mide);
	assert_true(mide - mid > 20);
	assert_memory_equal(mide - strlen("@" HOST), "@" HOST, strlen("@" HOST));

	/* part 1: for people, about bob and carol, not dave */
	assert_non_null(find(p.part_body[0], "<bob@a.example>: host mx.a.example said: 550 5.1.1"));
	assert_non_null(find(p.part_body[0], "<carol@b.example>: delivery time expired"));
	assert_null(find(p.part_body[0], "dave@"));

	/* part 2: per-message fields, then one block per recipient */
	assert_int_equal(p.nblocks, 3);
	expect_field(p.blocks[0], "Reporting-MTA", "dns; " HOST);
	expect_field(p.blocks[0], "Arrival-Date", "Wed, 23 Dec 2026 04:26:40 +0000");
	expect_field(p.blocks[1], "Final-Recipient", "rfc822; bob@a.example");
	expect_field(p.blocks[1], "Action", "failed");
	expect_field(p.blocks[1], "Status", "5.1.1");
	expect_field(p.blocks[1], "Remote-MTA", "dns; mx.a.example");
	expect_field(p.blocks[1], "Diagnostic-Code", "smtp; 550 5.1.1 <bob@a.example>: no such user");
	expect_field(p.blocks[1], "Last-Attempt-Date", "Mon, 28 Dec 2026 13:19:13 +0000");
	expect_field(p.blocks[2], "Final-Recipient", "rfc822; carol@b.example");
	expect_field(p.blocks[2], "Action", "failed");
	expect_field(p.blocks[2], "Status", "5.4.7");
	expect_field(p.blocks[2], "Diagnostic-Code", "smtp; 450 4.2.0 mailbox busy");
	expect_no_field(p.blocks[2], "Remote-MTA");
	expect_no_field(p.blocks[2], "Last-Attempt-Date");
	expect_no_field(p.blocks[2], "Will-Retry-Until");

	/* part 3: exactly the original header, no body */
	assert_int_equal(p.part_body[2].len, strlen(ORIG_HDR));
	assert_memory_equal(p.part_body[2].p, ORIG_HDR, strlen(ORIG_HDR));
	assert_null(strstr(r->out, "SECRET"));
	rig_close(r);
}

static void delay_warning_says_until_when(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	uint32_t orig = put_original(r);
	const struct dsn_rcpt rc[] = {
		{ .index = 1, .reply = "451 4.4.1 connection timed out", .remote_mta = "mx.b.example",
		  .last_attempt = NOW },
		/* our own reason, no SMTP reply: private diagnostic type */
		{ .index = 2, .reply = "DANE: no usable TLSA record for mx.c.example" },
	};
	struct dsn_info in = info_failed();
	in.action = DSN_DELAYED;
	in.will_retry_until = ARRIVAL + 5 * 86400;
	uint32_t id;
	assert_int_equal(dsn_generate(&r->q, orig, rc, 2, &in, &r->w, &id), 0);
	read_back(r, id);
	struct parsed p;
	parse_dsn(r, &p);
	expect_field(p.head, "Subject", "Delayed Mail (still being retried)");
	assert_non_null(find(p.part_body[0], "THIS IS A WARNING ONLY"));
	assert_non_null(find(p.part_body[0], "keep trying until Mon, 28 Dec 2026 04:26:40 +0000"));
	expect_field(p.part_head[2], "Content-Description", "Delayed Message Headers");
	assert_int_equal(p.nblocks, 3);
	expect_field(p.blocks[1], "Final-Recipient", "rfc822; carol@b.example");
	expect_field(p.blocks[1], "Action", "delayed");
	expect_field(p.blocks[1], "Status", "4.4.1");
	expect_field(p.blocks[1], "Will-Retry-Until", "Mon, 28 Dec 2026 04:26:40 +0000");
	expect_field(p.blocks[2], "Action", "delayed");
	expect_field(p.blocks[2], "Status", "4.0.0");
	expect_field(p.blocks[2], "Diagnostic-Code",
		     "X-danegate; DANE: no usable TLSA record for mx.c.example");
	rig_close(r);
}

/* Strips what the DSN adds to the original header: CRs and the CRLF SP
 * of a fold. The rest must be the original, 8-bit bytes as '?'. */
static size_t unfold(const char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 2 < len && in[i + 1] == '\n' && in[i + 2] == ' ') {
			i += 2;
			continue;
		}
		if (in[i] != '\r')
			out[o++] = in[i];
	}
	return o;
}

static void original_header_is_bounded_folded_and_7bit(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	/* LF-only lines, 8-bit bytes, a 3000-byte line, 20 KB of header */
	static char orig[24 * 1024];
	size_t n = 0;
	n += (size_t)sprintf(orig + n, "From: alice@example.com\nSubject: caf\xc3\xa9\n");
	n += (size_t)sprintf(orig + n, "X-Long: ");
	for (int i = 0; i < 3000; i++)
		orig[n++] = (char)('a' + i % 26);
	orig[n++] = '\n';
	for (int i = 0; n < 20 * 1024; i++)
		n += (size_t)sprintf(orig + n, "X-Fill-%04d: 0123456789012345678901234567890123456789\n", i);
	n += (size_t)sprintf(orig + n, "X-Last: beyond the bound\n\nbody\n");
	uint32_t oid;
	assert_int_equal(put(r, "alice@example.com", RCPTS, 1, 0, orig, n, &oid), 0);
	const struct dsn_rcpt rc = { .index = 0, .reply = "554 5.7.1 rejected" };
	struct dsn_info in = info_failed();
	uint32_t id;
	assert_int_equal(dsn_generate(&r->q, oid, &rc, 1, &in, &r->w, &id), 0);
	read_back(r, id); /* CRLF, 7-bit, <= 998 checked here */
	struct parsed p;
	parse_dsn(r, &p);
	struct span h = p.part_body[2];
	assert_non_null(find(h, "\r\nSubject: caf??\r\n"));
	assert_null(find(h, "X-Last"));
	assert_null(strstr(r->out, "body"));
	/* the long line was folded, and unfolds to itself */
	assert_non_null(find(h, "\r\n "));
	static char flat[24 * 1024];
	size_t fl = unfold(h.p, h.len, flat);
	/* exactly the first DSN_HDR_MAX bytes of the original, 8-bit as '?'
	 * (the last line was cut by the bound and got its line end) */
	assert_true(fl == DSN_HDR_MAX || fl == DSN_HDR_MAX + 1);
	for (size_t i = 0; i < DSN_HDR_MAX; i++) {
		char want = (unsigned char)orig[i] >= 0x80 ? '?' : orig[i];
		if (flat[i] != want)
			fail_msg("byte %lu: got 0x%02x want 0x%02x", (unsigned long)i,
				 (unsigned char)flat[i], (unsigned char)want);
	}
	rig_close(r);
}

static void hostile_fields_stay_on_their_line(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	char longaddr[QUEUE_ADDR_MAX + 1];
	memset(longaddr, 'x', QUEUE_ADDR_MAX);
	memcpy(longaddr + QUEUE_ADDR_MAX - 12, "@example.com", 12);
	longaddr[QUEUE_ADDR_MAX] = '\0';
	const char *rcpts[] = { longaddr };
	uint32_t oid;
	assert_int_equal(put(r, "s@example.com", rcpts, 1, 0, "Subject: x\r\n\r\n", 14, &oid), 0);
	char host[DSN_HOST_MAX + 1];
	memset(host, 'h', DSN_HOST_MAX);
	host[DSN_HOST_MAX] = '\0';
	char reply[400];
	snprintf(reply, sizeof(reply), "550 5.7.1 bad\r\nInjected: yes\xff%0300d", 7);
	const struct dsn_rcpt rc = { .index = 0, .reply = reply, .remote_mta = host };
	struct dsn_info in = info_failed();
	in.hostname = host;
	uint32_t id;
	assert_int_equal(dsn_generate(&r->q, oid, &rc, 1, &in, &r->w, &id), 0);
	read_back(r, id);
	struct parsed p;
	parse_dsn(r, &p);
	assert_null(strstr(r->out, "\r\nInjected:"));
	assert_non_null(find(p.blocks[1], "Diagnostic-Code: smtp; 550 5.7.1 bad  Injected: yes?000"));
	char fr[QUEUE_ADDR_MAX + 40];
	snprintf(fr, sizeof(fr), "rfc822; %s", longaddr);
	expect_field(p.blocks[1], "Final-Recipient", fr);
	rig_close(r);
}

static void hundred_recipients_with_long_replies_fit_in_one_report(void **state)
{
	(void)state;
	struct rig *r = rig_open(64, 8192, 128 * 1024);
	static char addrs[QUEUE_MAX_RCPT][32];
	const char *rcpts[QUEUE_MAX_RCPT];
	for (int i = 0; i < QUEUE_MAX_RCPT; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "r%03d@example.org", i);
		rcpts[i] = addrs[i];
	}
	uint32_t oid;
	assert_int_equal(put(r, "s@example.com", rcpts, QUEUE_MAX_RCPT, 0, ORIG_HDR,
			     strlen(ORIG_HDR), &oid),
			 0);
	static char reply[QUEUE_REASON_MAX + 50];
	memset(reply, 'z', sizeof(reply) - 1);
	memcpy(reply, "552 5.2.2 ", 10);
	static struct dsn_rcpt rc[QUEUE_MAX_RCPT];
	for (unsigned i = 0; i < QUEUE_MAX_RCPT; i++)
		rc[i] = (struct dsn_rcpt){ .index = QUEUE_MAX_RCPT - 1 - i, .reply = reply,
					   .remote_mta = "mx.example.org", .last_attempt = NOW };
	struct dsn_info in = info_failed();
	uint32_t id;
	assert_int_equal(dsn_generate(&r->q, oid, rc, QUEUE_MAX_RCPT, &in, &r->w, &id), 0);
	read_back(r, id);
	struct parsed p;
	parse_dsn(r, &p);
	assert_int_equal(p.nblocks, QUEUE_MAX_RCPT + 1);
	/* in the order given; each reply cut at QUEUE_REASON_MAX bytes */
	expect_field(p.blocks[1], "Final-Recipient", "rfc822; r099@example.org");
	expect_field(p.blocks[QUEUE_MAX_RCPT], "Final-Recipient", "rfc822; r000@example.org");
	char want[QUEUE_REASON_MAX + 8];
	snprintf(want, sizeof(want), "smtp; %.*s", QUEUE_REASON_MAX, reply);
	for (unsigned i = 1; i <= QUEUE_MAX_RCPT; i++) {
		expect_field(p.blocks[i], "Status", "5.2.2");
		expect_field(p.blocks[i], "Diagnostic-Code", want);
	}
	assert_int_equal(dsn_generate(&r->q, oid, rc, QUEUE_MAX_RCPT + 1, &in, &r->w, &id),
			 DSN_EINVAL);
	rig_close(r);
}

static void no_bounce_for_a_bounce_or_the_null_sender(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	const struct dsn_rcpt rc = { .index = 0, .reply = "550 5.1.1 no" };
	struct dsn_info in = info_failed();
	uint32_t nul, flagged, id = 12345;
	assert_int_equal(put(r, "", RCPTS, 1, 0, "Subject: a\r\n\r\n", 14, &nul), 0);
	/* flagged as a DSN even though it names a sender */
	assert_int_equal(put(r, "x@example.com", RCPTS, 1, QUEUE_F_BOUNCE, "S: b\r\n\r\n", 8,
			     &flagged),
			 0);
	int before = queue_list(&r->q, NULL, NULL);
	int err = dsn_generate(&r->q, nul, &rc, 1, &in, &r->w, &id);
	assert_int_equal(err, DSN_ENULLSENDER);
	assert_true(dsn_suppressed(err));
	err = dsn_generate(&r->q, flagged, &rc, 1, &in, &r->w, &id);
	assert_int_equal(err, DSN_ELOOP);
	assert_true(dsn_suppressed(err));
	assert_int_equal(id, 12345u);
	assert_int_equal(queue_list(&r->q, NULL, NULL), before);
	/* a DSN we made is never bounced either */
	uint32_t orig = put_original(r), dsn;
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &dsn), 0);
	assert_int_equal(dsn_generate(&r->q, dsn, &rc, 1, &in, &r->w, &id), DSN_ELOOP);
	assert_false(dsn_suppressed(0));
	assert_false(dsn_suppressed(QUEUE_EFULL));
	rig_close(r);
}

static void bad_arguments_queue_nothing(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 8192, 64 * 1024);
	uint32_t orig = put_original(r), id;
	struct dsn_rcpt rc = { .index = 0 };
	struct dsn_info in = info_failed();
	int before = queue_list(&r->q, NULL, NULL);
	static const char *const badhost[] = { "", "gw example.net", "gw\r\nX: y", "g\xc3\xa9.net" };
	for (size_t i = 0; i < sizeof(badhost) / sizeof(badhost[0]); i++) {
		in.hostname = badhost[i];
		assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &id), DSN_EINVAL);
	}
	in.hostname = NULL;
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &id), DSN_EINVAL);
	in = info_failed();
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 0, &in, &r->w, &id), DSN_EINVAL);
	rc.index = 3; /* the original has 3 recipients */
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &id), DSN_EINVAL);
	rc.index = 0;
	assert_int_equal(dsn_generate(&r->q, orig + 100, &rc, 1, &in, &r->w, &id), QUEUE_ENOENT);
	assert_int_equal(queue_list(&r->q, NULL, NULL), before);
	/* and the writer is free again: the next DSN goes through, also
	 * with a '_' in the name (the config's hostname type allows it) */
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &id), 0);
	in.hostname = "gw_1.example.net";
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &id), 0);
	rig_close(r);
}

static int fill_msg(struct rig *r, uint32_t seed, size_t len, uint32_t *id)
{
	static char buf[1500];
	memset(buf, 'a' + (int)(seed % 26), sizeof(buf));
	return put(r, "s@example.com", RCPTS, 1, 0, buf, len, id);
}

static void bounce_reserve_takes_the_dsn_when_the_queue_is_full(void **state)
{
	(void)state;
	/* a small flash: one DSN is a large share of it */
	struct rig *r = rig_open(24, 4096, 4096);
	struct queue_config cfg = r->cfg;
	cfg.bounce_reserve = 6000;
	r->cfg = cfg;
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
	uint32_t orig = put_original(r), id;
	int accepted = 0, err;
	/* big messages, then small ones, until ordinary mail gets 452 */
	while ((err = fill_msg(r, (uint32_t)accepted, 1500, &id)) == 0)
		accepted++;
	assert_int_equal(err, QUEUE_EFULL);
	assert_true(accepted >= 3);
	while ((err = fill_msg(r, (uint32_t)accepted, 10, &id)) == 0)
		accepted++;
	assert_int_equal(err, QUEUE_EFULL);
	assert_int_equal(queue_can_accept(&r->q, 0, 0), QUEUE_EFULL);
	const struct dsn_rcpt rc = { .index = 0, .reply = "550 5.1.1 no such user",
				     .remote_mta = "mx.a.example", .last_attempt = NOW };
	struct dsn_info in = info_failed();
	uint32_t dsn;
	assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &dsn), 0);
	/* durable: there after a reboot, still a bounce from <> */
	flashsim_power_on(r->fs);
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
	struct queue_msg_info mi;
	assert_int_equal(queue_msg_info(&r->q, dsn, &mi), 0);
	assert_true(mi.bounce);
	assert_string_equal(mi.sender, "");
	read_back(r, dsn);
	struct parsed p;
	parse_dsn(r, &p);
	expect_field(p.blocks[1], "Status", "5.1.1");
	/* once the reserve is used up too: 452 for the DSN, nothing half
	 * queued, and the writer is released every time (no QUEUE_EBUSY) */
	for (int i = 0; i < 40 && (err = dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &dsn)) == 0;
	     i++)
		;
	assert_int_equal(err, QUEUE_EFULL);
	int count = queue_list(&r->q, NULL, NULL);
	for (int i = 0; i < QUEUE_MAX_WRITERS + 2; i++)
		assert_int_equal(dsn_generate(&r->q, orig, &rc, 1, &in, &r->w, &dsn), QUEUE_EFULL);
	assert_int_equal(queue_list(&r->q, NULL, NULL), count);
	flashsim_power_on(r->fs);
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
	assert_int_equal(queue_list(&r->q, NULL, NULL), count);
	rig_close(r);
}

static void status_codes_follow_the_action(void **state)
{
	(void)state;
	char st[DSN_STATUS_SIZE];
	dsn_status(DSN_FAILED, "5.1.1", "550 5.2.2 full", st);
	assert_string_equal(st, "5.1.1"); /* explicit wins */
	dsn_status(DSN_FAILED, NULL, "550 5.2.2 mailbox full", st);
	assert_string_equal(st, "5.2.2");
	dsn_status(DSN_FAILED, NULL, "550-5.7.1 policy", st);
	assert_string_equal(st, "5.7.1");
	dsn_status(DSN_FAILED, "4.4.7", "450 4.2.0 busy", st);
	assert_string_equal(st, "5.4.7");
	dsn_status(DSN_FAILED, NULL, "550 no such user", st);
	assert_string_equal(st, "5.0.0");
	dsn_status(DSN_FAILED, "bogus", NULL, st);
	assert_string_equal(st, "5.0.0");
	dsn_status(DSN_FAILED, "5.1234.1", "550 5.1.10 x", st);
	assert_string_equal(st, "5.1.10");
	dsn_status(DSN_FAILED, NULL, "550 5.1.1x", st);
	assert_string_equal(st, "5.0.0");
	dsn_status(DSN_DELAYED, NULL, "451 4.4.1 timeout", st);
	assert_string_equal(st, "4.4.1");
	dsn_status(DSN_DELAYED, NULL, "DNS lookup failed", st);
	assert_string_equal(st, "4.0.0");
	dsn_status(DSN_DELAYED, "123.456.789", NULL, st);
	assert_string_equal(st, "4.0.0");
	dsn_status(DSN_FAILED, "5.123.123", NULL, st);
	assert_string_equal(st, "5.123.123");
}

static void dates_are_rfc5322_without_strftime(void **state)
{
	(void)state;
	static const struct {
		uint64_t t;
		const char *s;
	} v[] = {
		{ 0, "Thu, 1 Jan 1970 00:00:00 +0000" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
		{ 1709210096, "Thu, 29 Feb 2024 12:34:56 +0000" },
		{ 1798464013, "Mon, 28 Dec 2026 13:20:13 +0000" },
		{ 4102444800ull, "Fri, 1 Jan 2100 00:00:00 +0000" },
		{ 253402300799ull, "Fri, 31 Dec 9999 23:59:59 +0000" },
	};
	char buf[DSN_DATE_SIZE];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(dsn_format_date(v[i].t, buf, sizeof(buf)), (int)strlen(v[i].s));
		assert_string_equal(buf, v[i].s);
	}
	assert_int_equal(dsn_format_date(253402300800ull, buf, sizeof(buf)), DSN_EINVAL);
	assert_int_equal(dsn_format_date(0, buf, DSN_DATE_SIZE - 1), DSN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failed_dsn_is_a_well_formed_report_to_the_sender),
		cmocka_unit_test(delay_warning_says_until_when),
		cmocka_unit_test(original_header_is_bounded_folded_and_7bit),
		cmocka_unit_test(hostile_fields_stay_on_their_line),
		cmocka_unit_test(hundred_recipients_with_long_replies_fit_in_one_report),
		cmocka_unit_test(no_bounce_for_a_bounce_or_the_null_sender),
		cmocka_unit_test(bad_arguments_queue_nothing),
		cmocka_unit_test(bounce_reserve_takes_the_dsn_when_the_queue_is_full),
		cmocka_unit_test(status_codes_follow_the_action),
		cmocka_unit_test(dates_are_rfc5322_without_strftime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
