/* smtp_client — the outbound SMTP engine, sans-I/O: one session, one
 * server, one or more messages; per-recipient results through hooks.
 * See smtp_client.h for the decisions; the why of each is here. */
#include "smtp/smtp_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum rcpt_state {
	RCPT_PENDING = 0, /* no reply yet */
	RCPT_ACCEPTED,	  /* 2xx to RCPT: the dot decides */
	RCPT_DONE,	  /* its result was given */
};

/* ".\r\n" after a possibly missing final CRLF */
#define BODY_TAIL_MAX 5

static void enter_state(struct smtp_client *c, enum smtp_client_state s);
static void pump(struct smtp_client *c);

/* ---- small helpers ------------------------------------------------------ */
static const char *u64_dec(uint64_t v, char buf[21])
{
	char *p = buf + 20;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (ch < 0x20 || ch == 0x7f || n >= max)
			return false;
	}
	return true;
}

/* A mailbox goes into "MAIL FROM:<...>" verbatim: a CR, LF or '>' in
 * it would let a queued address inject commands, so they are refused. */
static bool mailbox_ok(const char *s, bool *utf8)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' || n >= SMTP_PATH_MAX - 2)
			return false;
		if (ch >= 0x80)
			*utf8 = true;
	}
	return true;
}

static void note(struct smtp_client *c, enum port_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct smtp_client *c, enum port_log_level level, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	if (!c->hooks->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->hooks->log(c->hook_ctx, level, line);
}

/* Appends one command if it fits whole; false (nothing added) if not —
 * the caller tries again once output was sent. */
static bool emit(struct smtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool emit(struct smtp_client *c, const char *fmt, ...)
{
	size_t room = SMTP_CLIENT_OUT_MAX - c->out_len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf((char *)c->out + c->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return false;
	c->out_len += (size_t)n;
	return true;
}

static void arm(struct smtp_client *c, uint32_t ms)
{
	c->wait_ms = ms;
	c->deadline_ms = c->now_ms + ms;
}

/* ---- reasons ------------------------------------------------------------ */
struct sbuf {
	char *p;
	size_t cap, len;
	bool cut;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b->len + 1 >= b->cap) {
			b->cut = true;
			break;
		}
		/* reasons are one line: the reader joins lines with '\n' */
		b->p[b->len++] = s[i] == '\n' ? ' ' : s[i];
	}
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void set_enh(struct smtp_client_status *st, uint16_t a, uint16_t b, uint16_t d)
{
	st->enh[0] = a;
	st->enh[1] = b;
	st->enh[2] = d;
}

/* "<pre><peer><post>: <code> <reply text>[ (in reply to <cmd>)]", cut
 * with "..." so the "in reply to" part always survives. */
static void reply_status(struct smtp_client *c, struct smtp_client_status *st, const char *pre,
			 const char *post, const char *in_reply_to)
{
	const struct smtp_reply *r = &c->rd.reply;
	char tail[48] = "";
	char num[8];
	struct sbuf b = { st->text, sizeof(st->text), 0, false };

	st->code = r->code;
	if (r->enh[0])
		set_enh(st, r->enh[0], r->enh[1], r->enh[2]);
	else
		set_enh(st, (uint16_t)(r->code / 100), 0, 0);
	if (in_reply_to)
		snprintf(tail, sizeof(tail), " (in reply to %s)", in_reply_to);
	snprintf(num, sizeof(num), "%u ", (unsigned)r->code);
	st->text[0] = '\0';
	sb_str(&b, pre);
	sb_str(&b, c->peer);
	sb_str(&b, post);
	sb_str(&b, ": ");
	st->reply_off = (uint16_t)b.len;
	sb_str(&b, num);
	size_t tl = strlen(tail);
	b.cap = sizeof(st->text) - tl - 3;
	sb_str(&b, r->text);
	if (b.cut || r->truncated)
		b.len = b.len > 0 && b.p[b.len - 1] == ' ' ? b.len - 1 : b.len;
	b.cap = sizeof(st->text);
	if (b.cut || r->truncated)
		sb_str(&b, "...");
	st->reply_len = (uint16_t)(b.len - st->reply_off);
	sb_str(&b, tail);
}

static void local_status(struct smtp_client_status *st, uint16_t a, uint16_t b, uint16_t d,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void local_status(struct smtp_client_status *st, uint16_t a, uint16_t b, uint16_t d,
			 const char *fmt, ...)
{
	va_list ap;
	st->code = 0;
	st->reply_off = st->reply_len = 0;
	set_enh(st, a, b, d);
	va_start(ap, fmt);
	vsnprintf(st->text, sizeof(st->text), fmt, ap);
	va_end(ap);
}

/* What the session was doing, for "timed out while ..." and "lost
 * connection ... while ..." (Postfix's words, which postmasters know). */
static const char *doing(const struct smtp_client *c)
{
	switch (c->state) {
	case SMTP_C_GREETING:
		return "receiving the initial server greeting";
	case SMTP_C_EHLO:
	case SMTP_C_HELO:
		return "performing the EHLO handshake";
	case SMTP_C_STARTTLS:
		return "sending STARTTLS";
	case SMTP_C_TLS:
		return "performing the TLS handshake";
	case SMTP_C_AUTH:
		return "performing SASL authentication";
	case SMTP_C_READY:
		return "idle";
	case SMTP_C_ENVELOPE:
		if (c->seq_replied == 0)
			return "sending MAIL FROM";
		if (c->msg && c->seq_replied <= c->msg->rcpt_count)
			return "sending RCPT TO";
		return "sending DATA command";
	case SMTP_C_BODY:
		return "sending message body";
	case SMTP_C_DOT:
		if (c->out_len)
			return "sending message body"; /* the dot has not left yet */
		return "sending end of data -- message may be sent more than once";
	case SMTP_C_RSET:
		return "sending RSET";
	case SMTP_C_QUIT:
		return "sending QUIT";
	case SMTP_C_CLOSED:
		break;
	}
	return "closing";
}

/* What a reply answers, for "(in reply to ...)". */
static const char *answers(const struct smtp_client *c)
{
	switch (c->state) {
	case SMTP_C_GREETING:
		return "initial greeting";
	case SMTP_C_EHLO:
		return "EHLO";
	case SMTP_C_HELO:
		return "HELO";
	case SMTP_C_STARTTLS:
		return "STARTTLS";
	case SMTP_C_AUTH:
		return "AUTH";
	case SMTP_C_ENVELOPE:
		if (c->seq_replied == 0)
			return "MAIL FROM";
		if (c->msg && c->seq_replied <= c->msg->rcpt_count)
			return "RCPT TO";
		return "DATA";
	case SMTP_C_DOT:
		return "end of DATA";
	case SMTP_C_RSET:
		return "RSET";
	case SMTP_C_QUIT:
		return "QUIT";
	default:
		return NULL;
	}
}

/* ---- results ------------------------------------------------------------ */
static void resolve(struct smtp_client *c, size_t i, enum smtp_client_result res,
		    const struct smtp_client_status *st)
{
	if (!c->msg || i >= c->msg->rcpt_count || c->rstate[i] == RCPT_DONE)
		return;
	c->rstate[i] = RCPT_DONE;
	c->unresolved--;
	/* the class follows the result: a 5xx greeting or a 554 from a
	 * hostile server ends the session with a deferral, and a DSN must
	 * then say 4.x.x, not 5.x.x */
	struct smtp_client_status *s = &c->st;
	if (s != st)
		*s = *st;
	s->enh[0] = res == SMTP_CLIENT_DELIVERED ? 2 : res == SMTP_CLIENT_FAILED ? 5 : 4;
	c->hooks->rcpt_result(c->hook_ctx, i, res, s);
}

/* Every recipient of the current message in state `which` (or, with
 * which == RCPT_DONE, every one without a result). */
static void resolve_all(struct smtp_client *c, enum rcpt_state which, enum smtp_client_result res,
			const struct smtp_client_status *st)
{
	if (!c->msg)
		return;
	for (size_t i = 0; i < c->msg->rcpt_count; i++)
		if (c->rstate[i] != RCPT_DONE && (which == RCPT_DONE || c->rstate[i] == which))
			resolve(c, i, res, st);
}

static enum smtp_client_result by_class(uint16_t code)
{
	if (code / 100 == 2)
		return SMTP_CLIENT_DELIVERED;
	/* only a clear 5xx is final; 3xx where none belongs is a broken
	 * server, and a broken server earns a retry, not a bounce */
	return code / 100 == 5 ? SMTP_CLIENT_FAILED : SMTP_CLIENT_DEFERRED;
}

/* The session cannot go on: every recipient still open is deferred with
 * st, which is kept for smtp_client_error(). quit: say QUIT first
 * (refusals by policy); not after a 421, a timeout, garbage, or in the
 * middle of DATA, where the server is gone or not listening for commands. */
static void end_session(struct smtp_client *c, const struct smtp_client_status *st, bool quit)
{
	if (&c->error != st)
		c->error = *st;
	if (c->error.enh[0] != 4)
		c->error.enh[0] = 4;
	c->failed = true;
	resolve_all(c, RCPT_DONE, SMTP_CLIENT_DEFERRED, &c->error);
	c->msg = NULL;
	if (quit && c->state != SMTP_C_BODY && c->state != SMTP_C_DOT && c->state != SMTP_C_TLS &&
	    c->state != SMTP_C_QUIT && c->state != SMTP_C_CLOSED)
		enter_state(c, SMTP_C_QUIT);
	else
		enter_state(c, SMTP_C_CLOSED);
}

static void end_local(struct smtp_client *c, bool quit, uint16_t b, uint16_t d, const char *fmt,
		      ...) __attribute__((format(printf, 5, 6)));
static void end_local(struct smtp_client *c, bool quit, uint16_t b, uint16_t d, const char *fmt,
		      ...)
{
	va_list ap;
	c->st.code = 0;
	c->st.reply_off = c->st.reply_len = 0;
	set_enh(&c->st, 4, b, d);
	va_start(ap, fmt);
	vsnprintf(c->st.text, sizeof(c->st.text), fmt, ap);
	va_end(ap);
	end_session(c, &c->st, quit);
}

static void msg_done(struct smtp_client *c)
{
	if (c->msg && c->unresolved) {
		/* cannot happen: every path resolves its recipients; if one
		 * did not, a retry is the safe answer */
		local_status(&c->st, 4, 3, 0, "internal error: no result from host %s", c->peer);
		resolve_all(c, RCPT_DONE, SMTP_CLIENT_DEFERRED, &c->st);
	}
	c->msg = NULL;
	enter_state(c, SMTP_C_READY);
}

/* ---- a message begins --------------------------------------------------- */
/* Checks what the server said in EHLO against what the message needs;
 * true if the envelope may be sent. */
static bool message_fits(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->msg;
	char a[21], b[21];
	if (c->cap_size && c->size_limit && m->size > c->size_limit) {
		local_status(&c->st, 5, 3, 4, "message size %s exceeds size limit %s of server %s",
			     u64_dec(m->size, a), u64_dec(c->size_limit, b), c->peer);
		return false;
	}
	/* RFC 6152 §3: 8-bit data to a server without 8BITMIME must be
	 * converted or returned; we do not convert (it would break
	 * signatures and needs the whole MIME tree) */
	if ((m->flags & SMTP_CLIENT_MSG_8BIT) && !c->cap_8bitmime) {
		local_status(&c->st, 5, 6, 3,
			     "message has 8-bit content, but host %s did not offer 8BITMIME",
			     c->peer);
		return false;
	}
	if (c->msg_utf8 && !c->cap_smtputf8) {
		local_status(&c->st, 5, 6, 7, "SMTPUTF8 is required, but was not offered by host %s",
			     c->peer);
		return false;
	}
	return true;
}

static void start_message(struct smtp_client *c)
{
	if (!message_fits(c)) {
		resolve_all(c, RCPT_DONE, SMTP_CLIENT_FAILED, &c->st);
		c->msg = NULL;
		if (c->quit_pending)
			enter_state(c, SMTP_C_QUIT);
		return;
	}
	enter_state(c, SMTP_C_ENVELOPE);
}

/* ---- envelope: MAIL, RCPT..., DATA -------------------------------------- */
#define SEQ_NONE (-1) /* nothing more will be sent in this transaction */
#define SEQ_WAIT (-2) /* something may follow once replies are in */

static long envelope_next(const struct smtp_client *c)
{
	size_t n = c->msg->rcpt_count, k = c->seq_sent;
	bool idle = c->seq_replied == c->seq_sent;
	if (c->txn_dead || k > n + 1)
		return SEQ_NONE;
	if (k == 0)
		return 0;
	/* without PIPELINING one command at a time (RFC 5321 §4.1.1) */
	if (!c->cap_pipelining && !idle)
		return SEQ_WAIT;
	if (k <= n)
		return (long)k;
	/* DATA: with PIPELINING it ends the group before any RCPT reply is
	 * known (RFC 2920 §3.1); never once all are known to be refused */
	if (c->accepted == 0 && c->seq_replied > n)
		return SEQ_NONE;
	if (c->accepted == 0 && !c->cap_pipelining)
		return SEQ_NONE;
	return (long)k;
}

static void envelope_arm(struct smtp_client *c)
{
	size_t n = c->msg->rcpt_count, k = c->seq_replied;
	if (k == 0)
		arm(c, c->cfg->timeout_cmd_ms);
	else if (k <= n)
		arm(c, c->cfg->timeout_rcpt_ms);
	else
		arm(c, c->cfg->timeout_data_ms);
}

static void envelope_pump(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->msg;
	for (;;) {
		long k = envelope_next(c);
		bool ok;
		if (k < 0)
			break;
		if (k == 0) {
			char num[21];
			ok = emit(c, "MAIL FROM:<%s>%s%s%s%s\r\n", m->sender,
				  c->cap_size && m->size ? " SIZE=" : "",
				  c->cap_size && m->size ? u64_dec(m->size, num) : "",
				  (m->flags & SMTP_CLIENT_MSG_8BIT) ? " BODY=8BITMIME" : "",
				  c->msg_utf8 ? " SMTPUTF8" : "");
		} else if ((size_t)k <= m->rcpt_count) {
			ok = emit(c, "RCPT TO:<%s>\r\n", m->rcpts[k - 1]);
		} else {
			ok = emit(c, "DATA\r\n");
		}
		if (!ok)
			break; /* output full: more when some was sent */
		c->seq_sent++;
	}
}

/* After each envelope reply: the transaction is over when nothing is in
 * flight and nothing more will be sent. */
static void envelope_check_end(struct smtp_client *c)
{
	if (c->state != SMTP_C_ENVELOPE || c->seq_replied != c->seq_sent ||
	    envelope_next(c) != SEQ_NONE)
		return;
	/* MAIL was accepted, so the server holds a transaction: RSET it
	 * before the next MAIL (RFC 5321 §4.1.1.5) */
	if (c->mail_ok)
		enter_state(c, SMTP_C_RSET);
	else
		msg_done(c);
}

static void envelope_reply(struct smtp_client *c)
{
	const struct smtp_reply *r = &c->rd.reply;
	size_t n = c->msg->rcpt_count, k = c->seq_replied;
	const char *what = answers(c);
	c->seq_replied++;
	if (k == 0) {
		if (r->code / 100 == 2) {
			c->mail_ok = true;
		} else {
			reply_status(c, &c->st, "host ", " said", what);
			resolve_all(c, RCPT_DONE, by_class(r->code), &c->st);
			c->txn_dead = true;
		}
	} else if (k <= n) {
		size_t i = k - 1;
		if (c->rstate[i] == RCPT_DONE) {
			/* already answered by a refused MAIL: this is the 503 */
		} else if (r->code / 100 == 2) {
			c->rstate[i] = RCPT_ACCEPTED;
			c->accepted++;
		} else {
			reply_status(c, &c->st, "host ", " said", what);
			resolve(c, i, by_class(r->code), &c->st);
		}
	} else if (r->code == 354) {
		if (c->accepted > 0 && !c->txn_dead) {
			enter_state(c, SMTP_C_BODY);
		} else {
			/* DATA went out in the pipelined group but no RCPT
			 * was taken, and the server wants content anyway:
			 * an empty message ends it (RFC 2920 §3.1) */
			c->empty_dot = true;
			enter_state(c, SMTP_C_DOT);
		}
		return;
	} else {
		/* a 250 to DATA is not a delivery: no content was sent */
		enum smtp_client_result res = by_class(r->code);
		reply_status(c, &c->st, "host ", " said", what);
		resolve_all(c, RCPT_ACCEPTED, res == SMTP_CLIENT_DELIVERED ? SMTP_CLIENT_DEFERRED : res,
			    &c->st);
		c->txn_dead = true;
	}
	envelope_arm(c);
	envelope_check_end(c);
	if (c->state == SMTP_C_ENVELOPE)
		pump(c);
}

/* ---- body --------------------------------------------------------------- */
static void body_8bit(struct smtp_client *c)
{
	local_status(&c->st, 5, 6, 3,
		     "message has 8-bit content, but host %s did not offer 8BITMIME", c->peer);
	resolve_all(c, RCPT_DONE, SMTP_CLIENT_FAILED, &c->st);
	/* the session cannot go on: DATA is open and only the final dot
	 * could close it, which would deliver the truncated message */
	local_status(&c->error, 4, 6, 3, "message with 8-bit content not sent to host %s",
		     c->peer);
	end_session(c, &c->error, false);
}

/* Fills the output from the read hook. Every input octet becomes at
 * most two (CR or LF -> CRLF, '.' at a line start -> ".."), so a chunk
 * of (room - BODY_TAIL_MAX) / 2 always fits with the tail after it. */
static void body_pump(struct smtp_client *c)
{
	while (c->state == SMTP_C_BODY) {
		size_t room = SMTP_CLIENT_OUT_MAX - c->out_len;
		if (room < BODY_TAIL_MAX + 2)
			return;
		size_t want = (room - BODY_TAIL_MAX) / 2;
		if (want > SMTP_CLIENT_CHUNK_MAX)
			want = SMTP_CLIENT_CHUNK_MAX;
		long got = c->hooks->read(c->hook_ctx, c->read_off, c->chunk, want);
		if (got < 0 || (size_t)got > want) {
			end_local(c, false, 3, 0, "error reading the queued message for host %s",
				  c->peer);
			return;
		}
		if (got == 0) {
			uint8_t *o = c->out + c->out_len;
			if (!c->body_bol) {
				*o++ = '\r';
				*o++ = '\n';
			}
			memcpy(o, ".\r\n", 3);
			o += 3;
			c->out_len = (size_t)(o - c->out);
			enter_state(c, SMTP_C_DOT);
			return;
		}
		uint8_t *o = c->out + c->out_len;
		for (long i = 0; i < got; i++) {
			uint8_t b = c->chunk[i];
			if (b == '\n' && c->body_cr) {
				c->body_cr = false; /* CRLF: the CR already wrote both */
				continue;
			}
			c->body_cr = false;
			/* a bare CR or LF never reaches the wire: each is a
			 * line end for some receiver and not for another,
			 * which is what SMTP smuggling exploits */
			if (b == '\r' || b == '\n') {
				*o++ = '\r';
				*o++ = '\n';
				c->body_cr = b == '\r';
				c->body_bol = true;
				continue;
			}
			if (b >= 0x80 && !c->cap_8bitmime) {
				c->out_len = (size_t)(o - c->out);
				body_8bit(c);
				return;
			}
			if (c->body_bol && b == '.')
				*o++ = '.'; /* RFC 5321 §4.5.2 */
			*o++ = b;
			c->body_bol = false;
		}
		c->out_len = (size_t)(o - c->out);
		c->read_off += (uint64_t)got;
		arm(c, c->cfg->timeout_block_ms);
	}
}

/* ---- AUTH --------------------------------------------------------------- */
static size_t b64(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	return o;
}

/* "<head><base64 of data>\r\n" if it fits. */
static bool emit_b64(struct smtp_client *c, const char *head, const uint8_t *data, size_t n)
{
	size_t hl = strlen(head), need = hl + (n + 2) / 3 * 4 + 2;
	if (SMTP_CLIENT_OUT_MAX - c->out_len < need)
		return false;
	memcpy(c->out + c->out_len, head, hl);
	size_t e = b64(data, n, (char *)c->out + c->out_len + hl);
	memcpy(c->out + c->out_len + hl + e, "\r\n", 2);
	c->out_len += need;
	return true;
}

static void auth_pump(struct smtp_client *c)
{
	const char *u = c->cfg->auth_user, *p = c->cfg->auth_pass;
	bool ok;
	if (!c->cmd_due)
		return;
	if (c->cap_auth_plain) {
		/* "\0user\0pass" in the chunk buffer (unused outside DATA):
		 * 1 + 255 + 1 + 255 = 512 fits, init checked the lengths */
		size_t ul = strlen(u), pl = strlen(p);
		c->chunk[0] = 0;
		memcpy(c->chunk + 1, u, ul);
		c->chunk[1 + ul] = 0;
		memcpy(c->chunk + 2 + ul, p, pl);
		ok = emit_b64(c, "AUTH PLAIN ", c->chunk, 2 + ul + pl);
		memset(c->chunk, 0, sizeof(c->chunk)); /* no password left lying about */
	} else if (c->auth_step == 0) {
		ok = emit(c, "AUTH LOGIN\r\n");
	} else {
		const char *f = c->auth_step == 1 ? u : p;
		ok = emit_b64(c, "", (const uint8_t *)f, strlen(f));
	}
	if (ok)
		c->cmd_due = false;
}

static void auth_reply(struct smtp_client *c)
{
	const struct smtp_reply *r = &c->rd.reply;
	if (r->code / 100 == 2) {
		enter_state(c, SMTP_C_READY);
		return;
	}
	if (r->code == 334 && !c->cap_auth_plain && c->auth_step < 2) {
		c->auth_step++;
		c->cmd_due = true;
		arm(c, c->cfg->timeout_cmd_ms);
		pump(c);
		return;
	}
	/* wrong credentials stay wrong, but the next host or a fixed
	 * configuration may do better: defer, and let the log say why */
	reply_status(c, &c->error, "SASL authentication failed; server ", " said", NULL);
	note(c, PORT_LOG_ERR, "%s", c->error.text);
	end_session(c, &c->error, true);
}

/* ---- EHLO, HELO, STARTTLS ----------------------------------------------- */
static void parse_ehlo(struct smtp_client *c)
{
	const struct smtp_reply *r = &c->rd.reply;
	char p[64];
	c->esmtp = true;
	c->cap_pipelining = smtp_reply_ehlo_has(r, "PIPELINING", NULL, 0);
	c->cap_8bitmime = smtp_reply_ehlo_has(r, "8BITMIME", NULL, 0);
	c->cap_smtputf8 = smtp_reply_ehlo_has(r, "SMTPUTF8", NULL, 0);
	c->cap_starttls = smtp_reply_ehlo_has(r, "STARTTLS", NULL, 0);
	c->cap_size = smtp_reply_ehlo_has(r, "SIZE", p, sizeof(p));
	c->size_limit = 0;
	if (c->cap_size) {
		/* "SIZE" alone or "SIZE 0" means no stated limit (RFC 1870) */
		uint64_t v = 0;
		for (const char *s = p; *s >= '0' && *s <= '9'; s++) {
			if (v > (UINT64_MAX - 9) / 10) {
				v = 0; /* nonsense: treat as no limit */
				break;
			}
			v = v * 10 + (uint64_t)(*s - '0');
		}
		c->size_limit = v;
	}
	c->cap_auth_plain = c->cap_auth_login = false;
	char a[128];
	if (smtp_reply_ehlo_has(r, "AUTH", a, sizeof(a))) {
		for (char *w = a; *w;) {
			char *e = w;
			while (*e && *e != ' ')
				e++;
			size_t wl = (size_t)(e - w);
			if (wl == 5 && !strncasecmp(w, "PLAIN", 5))
				c->cap_auth_plain = true;
			if (wl == 5 && !strncasecmp(w, "LOGIN", 5))
				c->cap_auth_login = true;
			w = *e ? e + 1 : e;
		}
	}
}

static void forget_caps(struct smtp_client *c)
{
	c->esmtp = c->cap_pipelining = c->cap_8bitmime = c->cap_smtputf8 = false;
	c->cap_starttls = c->cap_size = c->cap_auth_plain = c->cap_auth_login = false;
	c->size_limit = 0;
}

static void tls_required_not_offered(struct smtp_client *c)
{
	end_local(c, true, 7, 4, "TLS is required, but was not offered by host %s", c->peer);
}

/* After a good EHLO or HELO (or a refused STARTTLS under MAY). */
static void after_hello(struct smtp_client *c)
{
	const struct smtp_client_config *cfg = c->cfg;
	if (!c->tls && cfg->tls != SMTP_TLS_NONE && c->cap_starttls) {
		enter_state(c, SMTP_C_STARTTLS);
		return;
	}
	if (!c->tls && cfg->tls == SMTP_TLS_REQUIRED) {
		tls_required_not_offered(c);
		return;
	}
	if (cfg->auth_user) {
		if (!c->tls)
			note(c, PORT_LOG_WARN, "no AUTH with host %s: not under TLS", c->peer);
		else if (!c->cap_auth_plain && !c->cap_auth_login)
			note(c, PORT_LOG_WARN, "no AUTH with host %s: PLAIN and LOGIN not offered",
			     c->peer);
		else {
			enter_state(c, SMTP_C_AUTH);
			return;
		}
	}
	enter_state(c, SMTP_C_READY);
}

/* ---- replies ------------------------------------------------------------ */
static bool reply_expected(const struct smtp_client *c)
{
	switch (c->state) {
	case SMTP_C_GREETING:
		return true;
	case SMTP_C_DOT:
		/* also while the dot is still in our output: a caller may
		 * report output sent only after it read the reply, and a
		 * good 250 must not be taken for a protocol error (the
		 * message would be sent twice) */
		return !c->cmd_due;
	case SMTP_C_EHLO:
	case SMTP_C_HELO:
	case SMTP_C_STARTTLS:
	case SMTP_C_AUTH:
	case SMTP_C_RSET:
	case SMTP_C_QUIT:
		return !c->cmd_due;
	case SMTP_C_ENVELOPE:
		return c->seq_replied < c->seq_sent;
	default:
		return false;
	}
}

static void on_reply(struct smtp_client *c)
{
	const struct smtp_reply *r = &c->rd.reply;
	unsigned cls = r->code / 100u;

	if (c->state == SMTP_C_QUIT && !c->cmd_due) {
		enter_state(c, SMTP_C_CLOSED);
		return;
	}
	if (!reply_expected(c)) {
		/* a 421 may come at any time (RFC 5321 §3.8); anything
		 * else unasked-for means we no longer know which reply
		 * belongs to which command */
		if (r->code == 421)
			reply_status(c, &c->error, "host ", " said", NULL);
		else
			reply_status(c, &c->error, "host ", " sent an unexpected reply", NULL);
		if (r->code != 421)
			set_enh(&c->error, 4, 5, 0);
		end_session(c, &c->error, false);
		return;
	}
	if (r->code == 421) {
		/* the server is closing: this answer is a deferral of the
		 * command, and no further command will be read */
		reply_status(c, &c->error, "host ", " said", answers(c));
		end_session(c, &c->error, false);
		return;
	}
	switch (c->state) {
	case SMTP_C_GREETING:
		if (cls == 2) {
			enter_state(c, SMTP_C_EHLO);
		} else {
			/* RFC 5321 §3.1: after a 554 greeting, QUIT */
			reply_status(c, &c->error, "host ", " refused to talk to me", NULL);
			end_session(c, &c->error, true);
		}
		break;
	case SMTP_C_EHLO:
		if (cls == 2) {
			parse_ehlo(c);
			after_hello(c);
		} else if (cls == 5 && (c->tls || c->cfg->tls != SMTP_TLS_REQUIRED)) {
			/* an old server: HELO, which has no STARTTLS, so not
			 * when TLS is required (RFC 5321 §4.1.4 / 3.2) */
			enter_state(c, SMTP_C_HELO);
		} else if (cls == 5) {
			tls_required_not_offered(c);
		} else {
			reply_status(c, &c->error, "host ", " said", "EHLO");
			end_session(c, &c->error, true);
		}
		break;
	case SMTP_C_HELO:
		if (cls == 2) {
			forget_caps(c);
			after_hello(c);
		} else {
			reply_status(c, &c->error, "host ", " said", "HELO");
			end_session(c, &c->error, true);
		}
		break;
	case SMTP_C_STARTTLS:
		if (cls == 2) {
			enter_state(c, SMTP_C_TLS);
		} else if (c->cfg->tls == SMTP_TLS_REQUIRED) {
			reply_status(c, &c->error, "TLS is required, but host ",
				     " refused to start TLS", NULL);
			set_enh(&c->error, 4, 7, 4);
			end_session(c, &c->error, true);
		} else {
			/* RFC 3207 §4: the session is as before the command;
			 * opportunistic TLS goes on in clear */
			reply_status(c, &c->st, "host ", " refused to start TLS", NULL);
			note(c, PORT_LOG_WARN, "%s", c->st.text);
			c->cap_starttls = false;
			after_hello(c);
		}
		break;
	case SMTP_C_AUTH:
		auth_reply(c);
		break;
	case SMTP_C_ENVELOPE:
		envelope_reply(c);
		break;
	case SMTP_C_DOT:
		if (!c->empty_dot) {
			reply_status(c, &c->st, "host ", " said", "end of DATA");
			resolve_all(c, RCPT_ACCEPTED, by_class(r->code), &c->st);
		}
		msg_done(c);
		break;
	case SMTP_C_RSET:
		if (cls == 2) {
			msg_done(c);
		} else {
			reply_status(c, &c->error, "host ", " said", "RSET");
			end_session(c, &c->error, true);
		}
		break;
	default:
		break;
	}
}

static void reply_broken(struct smtp_client *c, long err)
{
	const char *why = err == SMTP_REPLY_EMIXED	? "a reply whose lines carry different codes"
			  : err == SMTP_REPLY_ETOOLONG	? "a reply line over 512 octets"
			  : err == SMTP_REPLY_ETOOMANY ? "a reply of more than 32 lines"
						       : "a malformed reply";
	local_status(&c->error, 4, 5, 0, "host %s sent %s while %s", c->peer, why, doing(c));
	end_session(c, &c->error, false);
}

/* ---- the state machine -------------------------------------------------- */
static void enter_state(struct smtp_client *c, enum smtp_client_state s)
{
	const struct smtp_client_config *cfg = c->cfg;
	c->state = s;
	c->cmd_due = false;
	switch (s) {
	case SMTP_C_GREETING:
		arm(c, cfg->timeout_greeting_ms);
		break;
	case SMTP_C_EHLO:
	case SMTP_C_HELO:
	case SMTP_C_STARTTLS:
	case SMTP_C_RSET:
	case SMTP_C_QUIT:
		c->cmd_due = true;
		arm(c, cfg->timeout_cmd_ms);
		break;
	case SMTP_C_AUTH:
		c->auth_step = 0;
		c->cmd_due = true;
		arm(c, cfg->timeout_cmd_ms);
		break;
	case SMTP_C_TLS:
		arm(c, 0); /* the handshake is the caller's, with its own timer */
		break;
	case SMTP_C_READY:
		arm(c, 0);
		if (c->msg)
			start_message(c);
		else if (c->quit_pending)
			enter_state(c, SMTP_C_QUIT);
		return;
	case SMTP_C_ENVELOPE:
		c->seq_sent = c->seq_replied = 0;
		c->accepted = 0;
		c->mail_ok = c->txn_dead = c->empty_dot = false;
		envelope_arm(c);
		break;
	case SMTP_C_BODY:
		c->read_off = 0;
		c->body_bol = true;
		c->body_cr = false;
		arm(c, cfg->timeout_block_ms);
		break;
	case SMTP_C_DOT:
		c->cmd_due = c->empty_dot; /* the lone dot, see pump() */
		/* the 10 minutes run once the dot has left; until then the
		 * socket is stuck and the block timer applies */
		arm(c, c->out_len ? cfg->timeout_block_ms : cfg->timeout_dot_ms);
		break;
	case SMTP_C_CLOSED:
		arm(c, 0);
		break;
	}
	pump(c);
}

static void pump(struct smtp_client *c)
{
	switch (c->state) {
	case SMTP_C_EHLO:
		if (c->cmd_due && emit(c, "EHLO %s\r\n", c->cfg->ehlo_name))
			c->cmd_due = false;
		break;
	case SMTP_C_HELO:
		if (c->cmd_due && emit(c, "HELO %s\r\n", c->cfg->ehlo_name))
			c->cmd_due = false;
		break;
	case SMTP_C_STARTTLS:
		if (c->cmd_due && emit(c, "STARTTLS\r\n"))
			c->cmd_due = false;
		break;
	case SMTP_C_RSET:
		if (c->cmd_due && emit(c, "RSET\r\n"))
			c->cmd_due = false;
		break;
	case SMTP_C_QUIT:
		if (c->cmd_due && emit(c, "QUIT\r\n"))
			c->cmd_due = false;
		break;
	case SMTP_C_DOT:
		if (c->cmd_due && emit(c, ".\r\n"))
			c->cmd_due = false;
		break;
	case SMTP_C_AUTH:
		auth_pump(c);
		break;
	case SMTP_C_ENVELOPE:
		envelope_pump(c);
		break;
	case SMTP_C_BODY:
		body_pump(c);
		break;
	default:
		break;
	}
}

/* ---- API ---------------------------------------------------------------- */
void smtp_client_config_defaults(struct smtp_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ehlo_name = "localhost";
	cfg->peer = "unknown";
	cfg->tls = SMTP_TLS_MAY;
	cfg->timeout_greeting_ms = 300000;
	cfg->timeout_cmd_ms = 300000;
	cfg->timeout_rcpt_ms = 300000;
	cfg->timeout_data_ms = 120000;
	cfg->timeout_block_ms = 180000;
	cfg->timeout_dot_ms = 600000;
}

int smtp_client_init(struct smtp_client *c, const struct smtp_client_config *cfg,
		     const struct smtp_client_hooks *hooks, void *hook_ctx)
{
	if (!c || !cfg || !hooks || !hooks->read || !hooks->rcpt_result || !cfg->ehlo_name ||
	    !cfg->ehlo_name[0] || !text_ok(cfg->ehlo_name, SMTP_CLIENT_NAME_MAX) ||
	    (cfg->peer && !text_ok(cfg->peer, SIZE_MAX)))
		return SMTP_CLIENT_EINVAL;
	if (cfg->auth_user && (!cfg->auth_pass || strlen(cfg->auth_user) > SMTP_CLIENT_AUTH_MAX ||
			       strlen(cfg->auth_pass) > SMTP_CLIENT_AUTH_MAX))
		return SMTP_CLIENT_EINVAL;
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->hooks = hooks;
	c->hook_ctx = hook_ctx;
	snprintf(c->peer, sizeof(c->peer), "%s", cfg->peer ? cfg->peer : "unknown");
	c->tls = cfg->implicit_tls;
	smtp_reply_reader_init(&c->rd);
	enter_state(c, SMTP_C_GREETING);
	return SMTP_CLIENT_OK;
}

int smtp_client_next_message(struct smtp_client *c, const struct smtp_client_msg *msg)
{
	bool utf8 = false;
	if (c->failed || c->quit_pending || c->state == SMTP_C_QUIT || c->state == SMTP_C_CLOSED)
		return SMTP_CLIENT_ECLOSED;
	if (c->msg)
		return SMTP_CLIENT_EBUSY;
	if (!msg || !msg->sender || !msg->rcpts || msg->rcpt_count == 0 ||
	    msg->rcpt_count > SMTP_CLIENT_RCPT_MAX || !mailbox_ok(msg->sender, &utf8))
		return SMTP_CLIENT_EINVAL;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (!msg->rcpts[i] || !msg->rcpts[i][0] || !mailbox_ok(msg->rcpts[i], &utf8))
			return SMTP_CLIENT_EINVAL;
	c->msg = msg;
	c->msg_utf8 = utf8 || (msg->flags & SMTP_CLIENT_MSG_SMTPUTF8);
	memset(c->rstate, RCPT_PENDING, sizeof(c->rstate));
	c->unresolved = msg->rcpt_count;
	if (c->state == SMTP_C_READY)
		start_message(c);
	return SMTP_CLIENT_OK;
}

void smtp_client_quit(struct smtp_client *c)
{
	if (c->state == SMTP_C_QUIT || c->state == SMTP_C_CLOSED)
		return;
	c->quit_pending = true;
	if (c->state == SMTP_C_READY && !c->msg)
		enter_state(c, SMTP_C_QUIT);
}

size_t smtp_client_feed(struct smtp_client *c, const uint8_t *in, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (c->state == SMTP_C_CLOSED)
			return i;
		if (c->state == SMTP_C_TLS) {
			/* plaintext after the 220 to STARTTLS: it would be
			 * read as if it came under TLS (injection) */
			if (c->discarded == 0)
				note(c, PORT_LOG_WARN,
				     "host %s sent plaintext after STARTTLS: discarded", c->peer);
			c->discarded += len - i;
			return len;
		}
		bool done;
		long n = smtp_reply_feed(&c->rd, in + i, len - i, &done);
		if (n < 0) {
			reply_broken(c, n);
			return i;
		}
		i += (size_t)n;
		if (done)
			on_reply(c);
	}
	return i;
}

size_t smtp_client_output(struct smtp_client *c, const uint8_t **data)
{
	pump(c);
	*data = c->out;
	return c->out_len;
}

void smtp_client_consumed_output(struct smtp_client *c, size_t n)
{
	if (n >= c->out_len) {
		c->out_len = 0;
	} else {
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	/* the block and dot timers run from the last progress sending */
	if (n && c->state == SMTP_C_BODY)
		arm(c, c->cfg->timeout_block_ms);
	else if (n && c->state == SMTP_C_DOT)
		arm(c, c->out_len ? c->cfg->timeout_block_ms : c->cfg->timeout_dot_ms);
	pump(c);
}

void smtp_client_tick(struct smtp_client *c, uint64_t now_ms)
{
	if (!c->clock_known) {
		/* the first tick starts the timer armed before it */
		c->clock_known = true;
		c->now_ms = now_ms;
		c->deadline_ms = now_ms + c->wait_ms;
		return;
	}
	c->now_ms = now_ms;
	if (!c->wait_ms || now_ms < c->deadline_ms || c->state == SMTP_C_CLOSED)
		return;
	if (c->state == SMTP_C_QUIT) {
		enter_state(c, SMTP_C_CLOSED); /* every result is in */
		return;
	}
	local_status(&c->error, 4, 4, 2, "conversation with host %s timed out while %s", c->peer,
		     doing(c));
	end_session(c, &c->error, false);
}

enum smtp_client_want smtp_client_want(const struct smtp_client *c)
{
	switch (c->state) {
	case SMTP_C_CLOSED:
		return SMTP_CLIENT_WANT_CLOSE;
	case SMTP_C_TLS:
		return SMTP_CLIENT_WANT_TLS;
	case SMTP_C_READY:
		return c->msg ? SMTP_CLIENT_WANT_READ : SMTP_CLIENT_WANT_MESSAGE;
	default:
		return SMTP_CLIENT_WANT_READ;
	}
}

void smtp_client_tls_started(struct smtp_client *c)
{
	if (c->state != SMTP_C_TLS)
		return;
	c->tls = true;
	/* RFC 3207 §4.2: forget everything learnt in clear */
	forget_caps(c);
	smtp_reply_reader_init(&c->rd);
	enter_state(c, SMTP_C_EHLO);
}

static bool parse_enh(const char *s, uint16_t v[3])
{
	for (int part = 0; part < 3; part++) {
		unsigned x = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 3) {
			x = x * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || (part < 2 && *s++ != '.'))
			return false;
		v[part] = (uint16_t)x;
	}
	return *s == '\0';
}

void smtp_client_abort(struct smtp_client *c, const char *enh, const char *reason)
{
	uint16_t v[3] = { 4, 4, 2 };
	if (c->state == SMTP_C_CLOSED)
		return;
	if (c->state == SMTP_C_QUIT) {
		enter_state(c, SMTP_C_CLOSED); /* every result is in */
		return;
	}
	if (enh && !parse_enh(enh, v)) {
		v[1] = 4; /* not "C.S.D": the default */
		v[2] = 2;
	}
	if (reason)
		local_status(&c->error, 4, v[1], v[2], "%s", reason);
	else
		local_status(&c->error, 4, v[1], v[2], "lost connection with host %s while %s",
			     c->peer, doing(c));
	c->out_len = 0; /* nothing more can be sent */
	end_session(c, &c->error, false);
}

const struct smtp_client_status *smtp_client_error(const struct smtp_client *c)
{
	return c->failed ? &c->error : NULL;
}

bool smtp_client_tls_active(const struct smtp_client *c)
{
	return c->tls;
}

enum smtp_client_state smtp_client_state(const struct smtp_client *c)
{
	return c->state;
}
