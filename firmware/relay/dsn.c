/* dsn — RFC 3464 delivery status notifications streamed into the queue
 * as QUEUE_F_BOUNCE messages from <> (see dsn.h for the layout and the
 * no-bounce-for-a-bounce rule). Exports dsn_generate, dsn_status,
 * dsn_format_date. */
#include "relay/dsn.h"

#include <stdio.h>
#include <string.h>

/* Output goes straight into the queue writer, which gathers it into
 * flash records itself: no second message-sized buffer here. The first
 * write error sticks (the writer's errors stick too; commit reports it). */
struct emit {
	struct queue_writer *w;
	int err;
};

static void emit_raw(struct emit *e, const char *s, size_t len)
{
	if (e->err || !len)
		return;
	int err = queue_msg_write(e->w, s, len);
	if (err)
		e->err = err;
}

static void emit_str(struct emit *e, const char *s)
{
	emit_raw(e, s, strlen(s));
}

/* One output line, assembled with every byte made 7-bit printable and
 * cut at DSN_LINE_MAX. Every field this file writes is bounded well below
 * that (address 256, reason 200, host 253 plus a label), so the cut is a
 * safety net, not a path that loses information. */
struct line {
	size_t len;
	char buf[DSN_LINE_MAX + 2];
};

static void line_add(struct line *l, const char *s, size_t max)
{
	for (size_t i = 0; s && i < max && s[i] && l->len < DSN_LINE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' '; /* a reply's line breaks must not end our field */
		else if (c < 0x20 || c >= 0x7f)
			c = '?'; /* 7-bit body: no 8BITMIME needed on the way back */
		l->buf[l->len++] = (char)c;
	}
}

static void line_str(struct line *l, const char *s)
{
	line_add(l, s, DSN_LINE_MAX);
}

static void line_emit(struct emit *e, struct line *l)
{
	l->buf[l->len++] = '\r';
	l->buf[l->len++] = '\n';
	emit_raw(e, l->buf, l->len);
	l->len = 0;
}

/* "label" + value on one line. */
static void emit_field(struct emit *e, struct line *l, const char *label, const char *value,
		       size_t max)
{
	line_str(l, label);
	line_add(l, value, max);
	line_emit(e, l);
}

static void fmt_u64(char out[21], uint64_t v)
{
	char tmp[21];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

int dsn_format_date(uint64_t t, char *buf, size_t size)
{
	static const char wd[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char mn[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (!buf || size < DSN_DATE_SIZE)
		return DSN_EINVAL;
	uint64_t days = t / 86400u;
	uint32_t sod = (uint32_t)(t % 86400u);
	/* days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
	 * civil_from_days, unsigned because t is never before the epoch) */
	uint64_t z = days + 719468u;
	uint64_t era = z / 146097u;
	uint64_t doe = z - era * 146097u;
	uint64_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
	uint64_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
	uint64_t mp = (5u * doy + 2u) / 153u;
	unsigned d = (unsigned)(doy - (153u * mp + 2u) / 5u + 1u);
	unsigned m = (unsigned)(mp < 10u ? mp + 3u : mp - 9u);
	uint64_t y = yoe + era * 400u + (m <= 2u);
	if (y > 9999u)
		return DSN_EINVAL;
	int n = snprintf(buf, size, "%s, %u %s %04u %02u:%02u:%02u +0000", wd[days % 7u], d,
			 mn[m - 1], (unsigned)y, (unsigned)(sod / 3600u),
			 (unsigned)(sod / 60u % 60u), (unsigned)(sod % 60u));
	return n;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3463 class.subject.detail at s (class 2, 4 or 5; 1-3 digits each),
 * followed by the end or a space. Returns its length or 0. */
static size_t status_len(const char *s)
{
	if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	size_t i = 2;
	for (int part = 0; part < 2; part++) {
		size_t k = 0;
		while (is_digit(s[i]) && k < 3) {
			i++;
			k++;
		}
		if (!k || is_digit(s[i]))
			return 0;
		if (part == 0) {
			if (s[i] != '.')
				return 0;
			i++;
		}
	}
	return (s[i] == '\0' || s[i] == ' ') ? i : 0;
}

/* "250 ", "550-" or "550" at the start: an SMTP reply. */
static bool is_smtp_reply(const char *r)
{
	return r && r[0] >= '2' && r[0] <= '5' && is_digit(r[1]) && is_digit(r[2]) &&
	       (r[3] == ' ' || r[3] == '-' || r[3] == '\0');
}

void dsn_status(enum dsn_action action, const char *status, const char *reply, char *out)
{
	size_t n = status_len(status);
	const char *src = status;
	if (!n && is_smtp_reply(reply) && reply[3]) {
		src = reply + 4;
		n = status_len(src);
	}
	if (n) {
		memcpy(out, src, n);
		out[n] = '\0';
	} else {
		memcpy(out, "5.0.0", 6);
	}
	/* Action: failed must carry class 5, delayed class 4 (RFC 3464 2.3.3,
	 * RFC 3463): a 4.4.7 "delivery time expired" is returned as 5.4.7 */
	out[0] = action == DSN_FAILED ? '5' : '4';
}

/* strlen that stops looking after max bytes (strnlen is POSIX, not C11). */
static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

static bool hostname_ok(const char *h)
{
	if (!h)
		return false;
	size_t n = bounded_len(h, DSN_HOST_MAX + 1);
	if (!n || n > DSN_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		/* '_' too: the config's hostname type allows it (docs/config.md) */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
		      c == '.' || c == '_'))
			return false; /* it goes into headers unquoted */
	}
	return true;
}

struct dsn_ctx {
	struct queue *q;
	uint32_t orig_id;
	const struct dsn_info *info;
	struct emit e;
	struct line l;
	char boundary[48];
	char addr[QUEUE_ADDR_MAX + 1];
};

static void emit_boundary(struct dsn_ctx *c, bool last)
{
	/* the CRLF before the dash-boundary belongs to it (RFC 2046 5.1.1) */
	emit_str(&c->e, "\r\n--");
	emit_str(&c->e, c->boundary);
	emit_str(&c->e, last ? "--\r\n" : "\r\n");
}

static int read_rcpt(struct dsn_ctx *c, unsigned index)
{
	int err = queue_msg_rcpt(c->q, c->orig_id, index, c->addr, sizeof(c->addr));
	if (err < 0)
		return err;
	return 0;
}

static void emit_date_field(struct dsn_ctx *c, const char *label, uint64_t t)
{
	char date[DSN_DATE_SIZE];
	if (dsn_format_date(t, date, sizeof(date)) < 0)
		return; /* beyond year 9999: leave the optional field out */
	emit_field(&c->e, &c->l, label, date, sizeof(date));
}

static void emit_headers(struct dsn_ctx *c, const char *sender)
{
	const struct dsn_info *in = c->info;
	char num[21], date[DSN_DATE_SIZE];
	if (dsn_format_date(in->now, date, sizeof(date)) < 0)
		memcpy(date, "Thu, 1 Jan 1970 00:00:00 +0000", 31);
	emit_field(&c->e, &c->l, "Date: ", date, sizeof(date));
	line_str(&c->l, "From: Mail Delivery System <MAILER-DAEMON@");
	line_str(&c->l, in->hostname);
	line_str(&c->l, ">");
	line_emit(&c->e, &c->l);
	line_str(&c->l, "To: <");
	line_add(&c->l, sender, QUEUE_ADDR_MAX);
	line_str(&c->l, ">");
	line_emit(&c->e, &c->l);
	emit_field(&c->e, &c->l, "Subject: ",
		   in->action == DSN_FAILED ? "Undelivered Mail Returned to Sender"
					    : "Delayed Mail (still being retried)",
		   DSN_LINE_MAX);
	/* unique without a counter: our time, the original's id (never
	 * reused) and the caller's random value */
	char rnd[9];
	snprintf(rnd, sizeof(rnd), "%08lx", (unsigned long)in->rnd);
	fmt_u64(num, in->now);
	line_str(&c->l, "Message-ID: <");
	line_str(&c->l, num);
	line_str(&c->l, ".");
	fmt_u64(num, c->orig_id);
	line_str(&c->l, num);
	line_str(&c->l, ".");
	line_str(&c->l, rnd);
	line_str(&c->l, "@");
	line_str(&c->l, in->hostname);
	line_str(&c->l, ">");
	line_emit(&c->e, &c->l);
	emit_str(&c->e, "MIME-Version: 1.0\r\n");
	emit_str(&c->e, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
			"\tboundary=\"");
	emit_str(&c->e, c->boundary);
	emit_str(&c->e, "\"\r\n");
	emit_str(&c->e, "Auto-Submitted: auto-replied\r\n");
	emit_str(&c->e, "\r\nThis is a MIME-encapsulated message.\r\n");
}

static void emit_text_part(struct dsn_ctx *c, const struct dsn_rcpt *rcpts, unsigned n,
			   int *err)
{
	const struct dsn_info *in = c->info;
	emit_boundary(c, false);
	emit_str(&c->e, "Content-Description: Notification\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	line_str(&c->l, "This is the mail system at host ");
	line_add(&c->l, in->hostname, DSN_HOST_MAX);
	line_str(&c->l, ".");
	line_emit(&c->e, &c->l);
	emit_str(&c->e, "\r\n");
	if (in->action == DSN_FAILED) {
		emit_str(&c->e, "I'm sorry to have to inform you that your message could not\r\n"
				"be delivered to one or more recipients. Its headers are\r\n"
				"attached below.\r\n");
	} else {
		emit_str(&c->e, "####################################################################\r\n"
				"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
				"####################################################################\r\n"
				"\r\n"
				"Your message could not be delivered yet to one or more recipients.\r\n");
		char date[DSN_DATE_SIZE];
		if (in->will_retry_until && dsn_format_date(in->will_retry_until, date, sizeof(date)) > 0)
			emit_field(&c->e, &c->l, "The mail system will keep trying until ", date,
				   sizeof(date));
	}
	emit_str(&c->e, "\r\nFor further assistance, please send mail to postmaster.\r\n\r\n");
	for (unsigned i = 0; i < n && !*err; i++) {
		const struct dsn_rcpt *r = &rcpts[i];
		*err = read_rcpt(c, r->index);
		if (*err)
			return;
		char st[DSN_STATUS_SIZE];
		dsn_status(in->action, r->status, r->reply, st);
		line_str(&c->l, "<");
		line_add(&c->l, c->addr, QUEUE_ADDR_MAX);
		line_str(&c->l, ">: ");
		if (!strcmp(st + 1, ".4.7"))
			line_str(&c->l, in->action == DSN_FAILED ? "delivery time expired; "
								 : "delivery delayed; ");
		if (r->remote_mta && r->remote_mta[0]) {
			line_str(&c->l, "host ");
			line_add(&c->l, r->remote_mta, DSN_HOST_MAX);
			line_str(&c->l, " said: ");
		}
		if (r->reply && r->reply[0])
			line_add(&c->l, r->reply, QUEUE_REASON_MAX);
		else
			line_str(&c->l, "no reason recorded");
		line_str(&c->l, " (status ");
		line_str(&c->l, st);
		line_str(&c->l, ")");
		line_emit(&c->e, &c->l);
	}
}

static void emit_status_part(struct dsn_ctx *c, const struct dsn_rcpt *rcpts, unsigned n,
			     uint64_t arrival, int *err)
{
	const struct dsn_info *in = c->info;
	emit_boundary(c, false);
	emit_str(&c->e, "Content-Description: Delivery report\r\n"
			"Content-Type: message/delivery-status\r\n\r\n");
	emit_field(&c->e, &c->l, "Reporting-MTA: dns; ", in->hostname, DSN_HOST_MAX);
	emit_date_field(c, "Arrival-Date: ", arrival);
	for (unsigned i = 0; i < n && !*err; i++) {
		const struct dsn_rcpt *r = &rcpts[i];
		*err = read_rcpt(c, r->index);
		if (*err)
			return;
		emit_str(&c->e, "\r\n");
		emit_field(&c->e, &c->l, "Final-Recipient: rfc822; ", c->addr, QUEUE_ADDR_MAX);
		emit_str(&c->e, in->action == DSN_FAILED ? "Action: failed\r\n" : "Action: delayed\r\n");
		char st[DSN_STATUS_SIZE];
		dsn_status(in->action, r->status, r->reply, st);
		emit_field(&c->e, &c->l, "Status: ", st, sizeof(st));
		if (r->remote_mta && r->remote_mta[0])
			emit_field(&c->e, &c->l, "Remote-MTA: dns; ", r->remote_mta, DSN_HOST_MAX);
		if (r->reply && r->reply[0])
			/* RFC 3464 2.3.6: "smtp" only for what a peer said; our
			 * own reasons (DANE, DNS) get a private type */
			emit_field(&c->e, &c->l,
				   is_smtp_reply(r->reply) ? "Diagnostic-Code: smtp; "
							   : "Diagnostic-Code: X-danegate; ",
				   r->reply, QUEUE_REASON_MAX);
		if (r->last_attempt)
			emit_date_field(c, "Last-Attempt-Date: ", r->last_attempt);
		if (in->action == DSN_DELAYED && in->will_retry_until)
			emit_date_field(c, "Will-Retry-Until: ", in->will_retry_until);
	}
}

/* Part 3: the original header up to its empty line, at most DSN_HDR_MAX
 * bytes read. Bare LF and CRLF both end a line (out: CRLF); a bare CR is
 * dropped; bytes that are not 7-bit printable become '?'; a line longer
 * than DSN_LINE_MAX is folded (CRLF SP), which keeps it one header. */
static void emit_orig_headers(struct dsn_ctx *c)
{
	uint8_t in[256];
	char out[320];
	size_t o = 0;
	unsigned col = 0;
	uint32_t off = 0;
	bool done = false;
	while (!done && off < DSN_HDR_MAX) {
		size_t want = DSN_HDR_MAX - off < sizeof(in) ? DSN_HDR_MAX - off : sizeof(in);
		long r = queue_msg_read(c->q, c->orig_id, off, in, want);
		if (r <= 0)
			break; /* end, or unreadable content: send what we have */
		for (long i = 0; i < r && !done; i++) {
			uint8_t ch = in[i];
			if (ch == '\r')
				continue;
			if (o + 3 > sizeof(out)) {
				emit_raw(&c->e, out, o);
				o = 0;
			}
			if (ch == '\n') {
				if (!col) {
					done = true;
				} else {
					out[o++] = '\r';
					out[o++] = '\n';
					col = 0;
				}
				continue;
			}
			if (col == DSN_LINE_MAX) {
				out[o++] = '\r';
				out[o++] = '\n';
				out[o++] = ' ';
				col = 1;
				if (o + 1 > sizeof(out)) {
					emit_raw(&c->e, out, o);
					o = 0;
				}
			}
			if (ch != '\t' && (ch < 0x20 || ch >= 0x7f))
				ch = '?';
			out[o++] = (char)ch;
			col++;
		}
		off += (uint32_t)r;
	}
	if (col) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	emit_raw(&c->e, out, o);
}

int dsn_generate(struct queue *q, uint32_t orig_id, const struct dsn_rcpt *rcpts, unsigned n,
		 const struct dsn_info *info, struct queue_writer *w, uint32_t *new_id)
{
	if (!q || !rcpts || !info || !w || !new_id || !n || n > QUEUE_MAX_RCPT ||
	    !hostname_ok(info->hostname))
		return DSN_EINVAL;
	struct queue_msg_info mi;
	int err = queue_msg_info(q, orig_id, &mi);
	if (err)
		return err;
	if (mi.bounce)
		return DSN_ELOOP;
	if (!mi.sender[0])
		return DSN_ENULLSENDER;
	for (unsigned i = 0; i < n; i++)
		if (rcpts[i].index >= mi.nrcpt)
			return DSN_EINVAL;

	struct dsn_ctx c;
	memset(&c, 0, sizeof(c));
	c.q = q;
	c.orig_id = orig_id;
	c.info = info;
	c.e.w = w;
	snprintf(c.boundary, sizeof(c.boundary), "=_dg_%lu_%08lx", (unsigned long)orig_id,
		 (unsigned long)info->rnd);

	const char *to[1] = { mi.sender };
	err = queue_msg_begin(q, w, "", to, 1, QUEUE_F_BOUNCE, 0, info->now);
	if (err)
		return err;
	emit_headers(&c, mi.sender);
	emit_text_part(&c, rcpts, n, &err);
	if (!err)
		emit_status_part(&c, rcpts, n, mi.arrival, &err);
	if (!err) {
		emit_boundary(&c, false);
		emit_str(&c.e, info->action == DSN_FAILED
				       ? "Content-Description: Undelivered Message Headers\r\n"
				       : "Content-Description: Delayed Message Headers\r\n");
		emit_str(&c.e, "Content-Type: text/rfc822-headers\r\n\r\n");
		emit_orig_headers(&c);
		emit_boundary(&c, true);
	}
	if (err || c.e.err) {
		queue_msg_abort(w);
		return err ? err : c.e.err;
	}
	return queue_msg_commit(w, new_id);
}
