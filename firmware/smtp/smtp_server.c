/* smtp_server — the inbound SMTP engine (sans-I/O). One state machine
 * (enum smtp_server_state, enter_state()), a line reader shared by
 * commands and AUTH responses, and a DATA reader. See smtp_server.h for
 * the protocol decisions; the reasons are noted where they act. */
#include "smtp/smtp_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/platform_util.h"
#include "version.h"

/* Reply text used at more than one place, so tests and docs agree. */
#define R_BARE_DATA "550 5.6.11 Message refused: bare CR or LF in message text (use CRLF)"
#define R_LONG_DATA "550 5.6.0 Message refused: line longer than 1000 octets"

static void enter_state(struct smtp_server *s, enum smtp_server_state st);

/* ---- small helpers --------------------------------------------------- */

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive prefix test (ASCII; strncasecmp is not C11). */
static bool has_prefix_ci(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return false;
	return true;
}

static bool equal_ci(const char *a, const char *b)
{
	return has_prefix_ci(a, b) && a[strlen(b)] == '\0';
}

/* Copies caller-supplied text (TLS names) that ends up in a header:
 * truncated to size, anything but printable ASCII replaced by '?'. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	for (; src && src[n] && n + 1 < size; n++)
		dst[n] = (src[n] > ' ' && src[n] < 127) ? src[n] : '?';
	dst[n] = '\0';
}

/* Decimal text of v. newlib-nano's printf (the qemu-virt image) has no
 * %llu or %zu, so 64-bit and size_t numbers go through this. */
#define U64_DEC_MAX 21
static const char *u64_dec(uint64_t v, char buf[U64_DEC_MAX])
{
	char *p = buf + U64_DEC_MAX - 1;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

static const char *host(const struct smtp_server *s)
{
	return s->cfg->hostname ? s->cfg->hostname : "localhost";
}

/* Appends one reply line plus CRLF. Callers have checked that at least
 * SMTP_REPLY_MAX is free before starting on an input line; a line that
 * still does not fit (the timeout 421 to a client that stopped reading)
 * is dropped whole rather than sent cut. */
static void reply(struct smtp_server *s, const char *fmt, ...)
{
	char line[SMTP_REPLY_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)(sizeof(line) - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	if (SMTP_OUT_MAX - s->out_len < (size_t)n)
		return;
	memcpy(s->out + s->out_len, line, (size_t)n);
	s->out_len += (size_t)n;
}

/* One line for the log hook. */
static void note(struct smtp_server *s, enum port_log_level level, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	if (!s->hooks->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 127)
			*p = '?';
	s->hooks->log(s->hook_ctx, level, text);
}

/* An error reply that counts towards cfg->max_errors: a client that keeps
 * getting errors is broken or probing (relay attempts, password guessing). */
static void reply_err(struct smtp_server *s, const char *text)
{
	reply(s, "%s", text);
	s->errors++;
	if (s->cfg->max_errors && s->errors >= s->cfg->max_errors) {
		reply(s, "421 4.7.0 %s Error: too many errors", host(s));
		note(s, PORT_LOG_WARN, "too many errors (%u), disconnecting", (unsigned)s->errors);
		enter_state(s, SMTP_S_CLOSING);
	}
}

static void wipe(void *p, size_t n)
{
	mbedtls_platform_zeroize(p, n);
}

/* Ends the current transaction; the queue forgets a begun message. */
static void txn_reset(struct smtp_server *s)
{
	if (s->msg_begun && s->hooks->msg_abort)
		s->hooks->msg_abort(s->hook_ctx);
	s->msg_begun = false;
	s->in_mail = false;
	s->rcpts = 0;
	s->msg_flags = 0;
	s->sender[0] = '\0';
	s->first_rcpt[0] = '\0';
}

static void line_reset(struct smtp_server *s)
{
	s->line_len = 0;
	s->pending_cr = false;
	s->line_overflow = false;
	s->line_bare = false;
}

static void enter_state(struct smtp_server *s, enum smtp_server_state st)
{
	s->state = st;
	line_reset(s);
	switch (st) {
	case SMTP_S_NEW:
		break;
	case SMTP_S_CMD:
	case SMTP_S_AUTH_PLAIN:
	case SMTP_S_AUTH_USER:
	case SMTP_S_AUTH_PASS:
		s->deadline_ms = s->now_ms + s->cfg->timeout_cmd_ms;
		break;
	case SMTP_S_DATA:
		s->data_size = 0;
		s->data_bare = s->data_long = s->data_big = false;
		s->data_write_err = 0;
		s->data_in = 0;
		s->data_start_ms = s->now_ms;
		s->deadline_ms = s->now_ms + s->cfg->timeout_data_ms;
		break;
	case SMTP_S_STARTTLS:
		/* RFC 3207 §4.2: nothing from before the handshake survives it */
		txn_reset(s);
		wipe(s->auth_user, sizeof(s->auth_user));
		break;
	case SMTP_S_CLOSING:
		txn_reset(s);
		wipe(s->auth_user, sizeof(s->auth_user));
		/* a client that never reads our last reply is closed anyway */
		s->deadline_ms = s->now_ms + s->cfg->timeout_cmd_ms;
		break;
	}
}

/* ---- Received: ------------------------------------------------------- */

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), so
 * the engine needs neither gmtime() nor a 64-bit time_t. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* RFC 5322 date-time in UTC; an unknown clock (< 0) shows as the epoch
 * rather than leaving a header that does not parse. */
static void format_date(int64_t t, char *buf, size_t size)
{
	static const char *const wd[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int y;
	unsigned m, d;
	if (t < 0)
		t = 0;
	int64_t days = t / 86400, secs = t % 86400;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%s, %u %s %d %02d:%02d:%02d +0000", wd[days % 7], d, mon[m - 1], y,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* RFC 3848 / RFC 6531 "with" keyword. */
static const char *protocol_name(const struct smtp_server *s)
{
	static const char *const esmtp[] = { "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" };
	static const char *const utf8[] = { "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA" };
	if (!s->esmtp)
		return "SMTP";
	unsigned i = (s->tls ? 1u : 0u) + (s->authed ? 2u : 0u);
	return (s->msg_flags & SMTP_MSG_SMTPUTF8) ? utf8[i] : esmtp[i];
}

/* The HELO name is the client's word: keep only characters that cannot
 * break the header's structure (no parentheses, spaces or controls). */
static void sanitize_token(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	for (; *src && n + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  strchr(".-_:[]", c) != NULL;
		dst[n++] = ok ? (char)c : '_';
	}
	dst[n] = '\0';
}

static int write_received(struct smtp_server *s)
{
	char hdr[SMTP_RECEIVED_MAX], ip[64], helo[SMTP_HELO_MAX + 1], date[40];
	char addr[72];
	int n;

	port_addr_format(&s->peer, false, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), s->peer.family == PORT_AF_INET6 ? "[IPv6:%s]" : "[%s]", ip);
	sanitize_token(helo, sizeof(helo), s->helo);
	format_date(s->wall_time, date, sizeof(date));
	n = snprintf(hdr, sizeof(hdr), "Received: from %s (%s)\r\n\tby %s (danegate) with %s", helo,
		     addr, host(s), protocol_name(s));
	if (n > 0 && s->tls && (size_t)n < sizeof(hdr))
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n\t(%s with cipher %s)",
			      s->tls_version, s->tls_cipher);
	/* "for" names the recipient only when there is exactly one: with
	 * several, every copy would disclose the others (Bcc). Addresses are
	 * parsed paths, so they hold no CR or LF. */
	if (n > 0 && (size_t)n < sizeof(hdr)) {
		if (s->rcpts == 1 && strlen(s->first_rcpt) < 200)
			n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n\tfor <%s>; %s\r\n",
				      s->first_rcpt, date);
		else
			n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, ";\r\n\t%s\r\n", date);
	}
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return SMTP_EIO; /* cannot happen with the stated bounds */
	return s->hooks->msg_write(s->hook_ctx, (const uint8_t *)hdr, (size_t)n);
}

/* ---- commands ---------------------------------------------------------- */

static void cmd_helo(struct smtp_server *s, const char *arg, bool esmtp)
{
	size_t n = 0;
	if (arg)
		while (arg[n] && arg[n] != ' ')
			n++;
	if (n == 0) {
		reply_err(s, esmtp ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	if (n > SMTP_HELO_MAX) {
		reply_err(s, "501 5.5.4 Host name too long");
		return;
	}
	/* RFC 5321 §4.1.4: EHLO also resets any transaction */
	txn_reset(s);
	memcpy(s->helo, arg, n);
	s->helo[n] = '\0';
	s->helo_done = true;
	s->esmtp = esmtp;
	if (!esmtp) {
		reply(s, "250 %s", host(s));
		return;
	}
	char size_line[40];
	const char *ext[8];
	size_t k = 0;
	char num[U64_DEC_MAX];
	snprintf(size_line, sizeof(size_line), "SIZE %s", u64_dec(s->cfg->max_size, num));
	ext[k++] = "PIPELINING";
	ext[k++] = size_line;
	ext[k++] = "8BITMIME";
	ext[k++] = "ENHANCEDSTATUSCODES";
	ext[k++] = "SMTPUTF8";
	if (s->cfg->tls_available && !s->tls)
		ext[k++] = "STARTTLS";
	if (s->hooks->auth_check && (s->tls || s->cfg->auth_over_plaintext))
		ext[k++] = "AUTH PLAIN LOGIN";
	reply(s, "250-%s", host(s));
	for (size_t i = 0; i < k; i++)
		reply(s, "250%c%s", i + 1 == k ? ' ' : '-', ext[i]);
}

/* Maps a path parse error to a reply; x is "7" for MAIL, "3" for RCPT
 * (RFC 3463 X.1.7 bad sender / X.1.3 bad destination syntax). */
static void path_error(struct smtp_server *s, int err, bool sender)
{
	switch (err) {
	case SMTP_ADDR_ETOOLONG:
		reply_err(s, sender ? "501 5.1.7 Path too long" : "501 5.1.3 Path too long");
		break;
	case SMTP_ADDR_EROUTE:
		reply_err(s, sender ? "553 5.1.7 Source routes are not accepted"
				    : "553 5.1.3 Source routes are not accepted");
		break;
	case SMTP_ADDR_EUTF8:
		reply_err(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8 and valid UTF-8");
		break;
	case SMTP_ADDR_ENODOMAIN:
		reply_err(s, sender ? "553 5.1.7 Address needs a domain"
				    : "553 5.1.3 Address needs a domain");
		break;
	default:
		reply_err(s, sender ? "501 5.1.7 Bad sender address syntax"
				    : "501 5.1.3 Bad recipient address syntax");
		break;
	}
}

static bool has_non_ascii(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return true;
	return false;
}

/* SIZE=value: 1..20 digits, no overflow. */
static bool parse_size(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		uint64_t d = (uint64_t)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*out = x;
	return true;
}

static void cmd_mail(struct smtp_server *s, const char *arg)
{
	char path[SMTP_MAILBOX_BUF];
	size_t used;
	unsigned flags = 0;
	uint64_t size = 0;
	bool have_size = false;

	if (!s->helo_done) {
		reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		reply_err(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (!arg || !has_prefix_ci(arg, "FROM:")) {
		reply_err(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	arg += 5;
	while (*arg == ' ') /* tolerated: "MAIL FROM: <a@b>" is common */
		arg++;
	int err = smtp_path_parse(arg, strlen(arg), true, true, path, sizeof(path), &used);
	if (err) {
		path_error(s, err, true);
		return;
	}
	/* parameters (RFC 5321 §4.1.2 Mail-parameters), ESMTP only */
	const char *p = arg + used;
	while (*p) {
		if (*p != ' ') {
			reply_err(s, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
			return;
		}
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq ? (size_t)(eq - p) : n;
		const char *v = eq ? eq + 1 : NULL;
		size_t vlen = eq ? n - klen - 1 : 0;
		if (!s->esmtp) {
			reply_err(s, "555 5.5.4 Parameters need EHLO");
			return;
		}
		if (klen == 4 && has_prefix_ci(p, "SIZE") && v) {
			if (!parse_size(v, vlen, &size)) {
				reply_err(s, "501 5.5.4 Bad SIZE parameter");
				return;
			}
			have_size = true;
		} else if (klen == 4 && has_prefix_ci(p, "BODY") && v) {
			if (vlen == 8 && has_prefix_ci(v, "8BITMIME"))
				flags |= SMTP_MSG_8BITMIME;
			else if (!(vlen == 4 && has_prefix_ci(v, "7BIT"))) {
				reply_err(s, "501 5.5.4 Bad BODY parameter");
				return;
			}
		} else if (klen == 8 && has_prefix_ci(p, "SMTPUTF8") && !v) {
			flags |= SMTP_MSG_SMTPUTF8;
		} else if (klen == 4 && has_prefix_ci(p, "AUTH") && v) {
			/* RFC 4954 §5: the submitter's identity; we keep our own */
		} else {
			reply_err(s, "555 5.5.4 Unsupported MAIL parameter");
			return;
		}
		p += n;
	}
	if (has_non_ascii(path) && !(flags & SMTP_MSG_SMTPUTF8)) {
		reply_err(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (have_size && size > s->cfg->max_size) {
		reply_err(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (have_size && s->hooks->check_size && s->hooks->check_size(s->hook_ctx, size) != 0) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (s->tls)
		flags |= SMTP_MSG_TLS;
	if (s->authed)
		flags |= SMTP_MSG_AUTH;
	s->in_mail = true;
	s->msg_flags = flags;
	memcpy(s->sender, path, sizeof(s->sender));
	reply(s, "250 2.1.0 Ok");
}

static void cmd_rcpt(struct smtp_server *s, const char *arg)
{
	char path[SMTP_MAILBOX_BUF];
	size_t used;
	int err;

	if (!s->in_mail) {
		reply_err(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (!arg || !has_prefix_ci(arg, "TO:")) {
		reply_err(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	/* Relay control first, before the address is parsed: the answer for a
	 * client that may not relay cannot depend on what it writes there. */
	if (!s->relay_ok && !s->authed) {
		note(s, PORT_LOG_WARN, "relay access denied: %.200s", arg + 3);
		reply_err(s, "554 5.7.1 Relay access denied");
		return;
	}
	if (s->rcpts >= s->cfg->max_rcpts) {
		/* RFC 5321 §4.5.3.1.10: 452, the client sends the rest later;
		 * not counted as an error */
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	arg += 3;
	while (*arg == ' ')
		arg++;
	err = smtp_path_parse(arg, strlen(arg), false, (s->msg_flags & SMTP_MSG_SMTPUTF8) != 0, path,
			      sizeof(path), &used);
	if (err) {
		path_error(s, err, false);
		return;
	}
	while (arg[used] == ' ')
		used++;
	if (arg[used] != '\0') {
		/* no RCPT parameters are offered (no DSN) */
		reply_err(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	if (!s->msg_begun) {
		err = s->hooks->msg_begin(s->hook_ctx, s->sender, s->msg_flags);
		if (err) {
			reply(s, err == SMTP_EFULL ? "452 4.3.1 Insufficient system storage"
						   : "451 4.3.0 Error: queue file write error");
			return;
		}
		s->msg_begun = true;
	}
	err = s->hooks->msg_rcpt(s->hook_ctx, path);
	if (err == SMTP_EFULL) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	} else if (err == SMTP_EDENIED) {
		reply_err(s, "550 5.7.1 Recipient address rejected");
		return;
	} else if (err) {
		reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	if (s->rcpts == 0)
		memcpy(s->first_rcpt, path, sizeof(s->first_rcpt));
	s->rcpts++;
	reply(s, "250 2.1.5 Ok");
}

static void cmd_data(struct smtp_server *s, const char *arg)
{
	if (arg) {
		reply_err(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->in_mail) {
		reply_err(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->rcpts == 0) {
		/* RFC 2920 §3.1: pipelined DATA after refused recipients */
		reply_err(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	enter_state(s, SMTP_S_DATA);
	s->data_write_err = write_received(s);
}

static void cmd_starttls(struct smtp_server *s, const char *arg)
{
	if (arg) {
		reply_err(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls) {
		reply_err(s, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (!s->cfg->tls_available) {
		reply_err(s, "454 4.7.0 TLS not available");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	enter_state(s, SMTP_S_STARTTLS);
}

static void auth_finish(struct smtp_server *s, const char *user, const char *pass)
{
	int err = s->hooks->auth_check(s->hook_ctx, user, pass);
	enter_state(s, SMTP_S_CMD);
	if (err == 0) {
		s->authed = true;
		note(s, PORT_LOG_INFO, "authenticated as %s", user);
		reply(s, "235 2.7.0 Authentication successful");
	} else if (err == SMTP_EDENIED) {
		note(s, PORT_LOG_WARN, "authentication failed for %s", user);
		reply_err(s, "535 5.7.8 Authentication credentials invalid");
	} else if (err == SMTP_ELIMIT) {
		note(s, PORT_LOG_WARN, "authentication refused for %s: too many failures, locked out", user);
		reply_err(s, "454 4.7.0 Too many failed authentications, try again later");
	} else {
		note(s, PORT_LOG_ERR, "authentication unavailable (error %d)", err);
		reply(s, "454 4.7.0 Temporary authentication failure");
	}
}

/* Decodes one base64 AUTH response ("=" is the empty response, RFC 4954
 * §4). Returns the decoded length or -1. dst has size SMTP_AUTH_LINE_MAX. */
static long auth_decode(const char *b64, uint8_t *dst, size_t size)
{
	size_t olen = 0;
	if (strcmp(b64, "=") == 0)
		return 0;
	if (*b64 == '\0' ||
	    mbedtls_base64_decode(dst, size, &olen, (const unsigned char *)b64, strlen(b64)) != 0)
		return -1;
	return (long)olen;
}

/* PLAIN: [authzid] NUL authcid NUL passwd (RFC 4616). */
static void auth_plain(struct smtp_server *s, const char *b64)
{
	uint8_t buf[SMTP_AUTH_LINE_MAX];
	char user[SMTP_AUTH_FIELD_MAX + 1], pass[SMTP_AUTH_FIELD_MAX + 1];
	long n = auth_decode(b64, buf, sizeof(buf) - 1);
	if (n < 0) {
		enter_state(s, SMTP_S_CMD);
		reply_err(s, "501 5.5.2 Cannot decode AUTH response");
		return;
	}
	const uint8_t *nul1 = memchr(buf, 0, (size_t)n);
	const uint8_t *nul2 = nul1 ? memchr(nul1 + 1, 0, (size_t)(buf + n - nul1 - 1)) : NULL;
	size_t zlen = nul1 ? (size_t)(nul1 - buf) : 0;
	size_t ulen = nul2 ? (size_t)(nul2 - nul1 - 1) : 0;
	size_t plen = nul2 ? (size_t)(buf + n - nul2 - 1) : 0;
	if (!nul2 || memchr(nul2 + 1, 0, plen) || ulen == 0 || ulen > SMTP_AUTH_FIELD_MAX ||
	    plen > SMTP_AUTH_FIELD_MAX ||
	    /* no proxy authorisation: authzid empty or the user itself */
	    (zlen != 0 && (zlen != ulen || memcmp(buf, nul1 + 1, ulen) != 0))) {
		wipe(buf, sizeof(buf));
		enter_state(s, SMTP_S_CMD);
		reply_err(s, "535 5.7.8 Authentication credentials invalid");
		return;
	}
	memcpy(user, nul1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, nul2 + 1, plen);
	pass[plen] = '\0';
	auth_finish(s, user, pass);
	wipe(buf, sizeof(buf));
	wipe(pass, sizeof(pass));
}

/* LOGIN: user name, then password, each one base64 line. */
static void auth_login_step(struct smtp_server *s, const char *b64)
{
	uint8_t buf[SMTP_AUTH_LINE_MAX];
	long n = auth_decode(b64, buf, sizeof(buf) - 1);
	if (n < 0 || n > SMTP_AUTH_FIELD_MAX || memchr(buf, 0, (size_t)n) ||
	    (s->state == SMTP_S_AUTH_USER && n == 0)) {
		wipe(buf, sizeof(buf));
		enter_state(s, SMTP_S_CMD);
		reply_err(s, n < 0 ? "501 5.5.2 Cannot decode AUTH response"
				   : "535 5.7.8 Authentication credentials invalid");
		return;
	}
	buf[n] = '\0';
	if (s->state == SMTP_S_AUTH_USER) {
		memcpy(s->auth_user, buf, (size_t)n + 1);
		enter_state(s, SMTP_S_AUTH_PASS);
		reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
	} else {
		char user[SMTP_AUTH_FIELD_MAX + 1];
		memcpy(user, s->auth_user, sizeof(user));
		wipe(s->auth_user, sizeof(s->auth_user));
		auth_finish(s, user, (const char *)buf);
	}
	wipe(buf, sizeof(buf));
}

static void cmd_auth(struct smtp_server *s, const char *arg)
{
	if (!s->hooks->auth_check) {
		reply_err(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->helo_done || !s->esmtp) {
		reply_err(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (!s->tls && !s->cfg->auth_over_plaintext) {
		reply_err(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	if (s->authed) {
		reply_err(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->in_mail) {
		reply_err(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (!arg) {
		reply_err(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	const char *ir = strchr(arg, ' ');
	size_t mlen = ir ? (size_t)(ir - arg) : strlen(arg);
	if (ir)
		ir++;
	if (mlen == 5 && has_prefix_ci(arg, "PLAIN")) {
		if (ir) {
			auth_plain(s, ir);
		} else {
			enter_state(s, SMTP_S_AUTH_PLAIN);
			reply(s, "334 ");
		}
	} else if (mlen == 5 && has_prefix_ci(arg, "LOGIN")) {
		enter_state(s, SMTP_S_AUTH_USER);
		if (ir)
			auth_login_step(s, ir);
		else
			reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
	} else {
		reply_err(s, "504 5.5.4 Unrecognized authentication type");
	}
}

static void command(struct smtp_server *s, char *line)
{
	char *sp = strchr(line, ' ');
	const char *arg = NULL;
	if (sp) {
		*sp = '\0';
		arg = sp + 1;
		if (*arg == '\0')
			arg = NULL;
	}
	if (equal_ci(line, "EHLO"))
		cmd_helo(s, arg, true);
	else if (equal_ci(line, "HELO"))
		cmd_helo(s, arg, false);
	else if (equal_ci(line, "MAIL"))
		cmd_mail(s, arg);
	else if (equal_ci(line, "RCPT"))
		cmd_rcpt(s, arg);
	else if (equal_ci(line, "DATA"))
		cmd_data(s, arg);
	else if (equal_ci(line, "RSET")) {
		txn_reset(s);
		reply(s, "250 2.0.0 Ok");
	} else if (equal_ci(line, "NOOP"))
		reply(s, "250 2.0.0 Ok");
	else if (equal_ci(line, "QUIT")) {
		reply(s, "221 2.0.0 Bye");
		enter_state(s, SMTP_S_CLOSING);
	} else if (equal_ci(line, "VRFY")) {
		if (arg)
			reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
		else
			reply_err(s, "501 5.5.4 Syntax: VRFY address");
	} else if (equal_ci(line, "HELP"))
		reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
	else if (equal_ci(line, "STARTTLS"))
		cmd_starttls(s, arg);
	else if (equal_ci(line, "AUTH"))
		cmd_auth(s, arg);
	else if (equal_ci(line, "EXPN"))
		reply_err(s, "502 5.5.1 Error: command not implemented");
	else if (equal_ci(line, "GET") || equal_ci(line, "POST") || equal_ci(line, "PUT") ||
		 equal_ci(line, "HEAD") || equal_ci(line, "CONNECT")) {
		/* a browser or proxy tricked into talking to us (cross-protocol
		 * attacks): nothing it sends next is mail, so do not read it */
		note(s, PORT_LOG_WARN, "HTTP %s request on the SMTP port, disconnecting", line);
		reply(s, "521 5.5.1 %s Error: this is an SMTP server", host(s));
		enter_state(s, SMTP_S_CLOSING);
	} else
		reply_err(s, "500 5.5.2 Error: command not recognized");
}

/* ---- line reader (commands, AUTH responses) ----------------------------- */

static void line_done(struct smtp_server *s)
{
	bool auth = s->state != SMTP_S_CMD;
	bool bad = s->line_bare || memchr(s->line, 0, s->line_len) != NULL;
	bool over = s->line_overflow;
	size_t n = s->line_len;

	line_reset(s);
	/* a whole line came: the wait for the next one starts now */
	s->deadline_ms = s->now_ms + s->cfg->timeout_cmd_ms;
	if (!auth) {
		s->commands++;
		if (s->cfg->max_commands && s->commands > s->cfg->max_commands) {
			reply(s, "421 4.7.0 %s Error: too many commands", host(s));
			note(s, PORT_LOG_WARN, "too many commands, disconnecting");
			enter_state(s, SMTP_S_CLOSING);
			return;
		}
	}
	if (over || bad) {
		if (auth)
			enter_state(s, SMTP_S_CMD);
		if (over)
			reply_err(s, auth ? "500 5.5.6 Authentication Exchange line is too long"
					  : "500 5.5.2 Error: line too long");
		else
			reply_err(s, "500 5.5.2 Error: bare CR, bare LF or NUL in command line");
		return;
	}
	s->line[n] = '\0';
	if (!auth) {
		command(s, (char *)s->line);
	} else if (n == 1 && s->line[0] == '*') {
		enter_state(s, SMTP_S_CMD);
		reply_err(s, "501 5.0.0 Authentication cancelled");
	} else if (s->state == SMTP_S_AUTH_PLAIN) {
		auth_plain(s, (const char *)s->line);
	} else {
		auth_login_step(s, (const char *)s->line);
	}
	wipe(s->line, n);
}

static void line_byte(struct smtp_server *s, uint8_t c)
{
	size_t limit = (s->state == SMTP_S_CMD ? SMTP_CMD_LINE_MAX : SMTP_AUTH_LINE_MAX) - 2;
	if (s->pending_cr) {
		s->pending_cr = false;
		if (c == '\n') {
			line_done(s);
			return;
		}
		s->line_bare = true; /* bare CR: the line is refused */
	}
	if (c == '\r') {
		s->pending_cr = true;
		return;
	}
	if (c == '\n') {
		/* bare LF ends the line so the reader resynchronises, but the
		 * line is refused, never executed */
		s->line_bare = true;
		line_done(s);
		return;
	}
	if (s->line_len < limit)
		s->line[s->line_len++] = c;
	else
		s->line_overflow = true;
}

/* ---- DATA ------------------------------------------------------------------ */

static void data_end(struct smtp_server *s)
{
	bool ok = false;
	enter_state(s, SMTP_S_CMD);
	if (s->data_bare) {
		note(s, PORT_LOG_WARN, "message refused: bare CR or LF (possible SMTP smuggling)");
		reply(s, R_BARE_DATA);
	} else if (s->data_long) {
		note(s, PORT_LOG_WARN, "message refused: line longer than 1000 octets");
		reply(s, R_LONG_DATA);
	} else if (s->data_big) {
		char n1[U64_DEC_MAX], n2[U64_DEC_MAX];
		note(s, PORT_LOG_WARN, "message refused: %s octets, limit %s",
		     u64_dec(s->data_size, n1), u64_dec(s->cfg->max_size, n2));
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
	} else if (s->data_write_err == SMTP_EFULL) {
		note(s, PORT_LOG_WARN, "message refused: queue full");
		reply(s, "452 4.3.1 Insufficient system storage");
	} else if (s->data_write_err) {
		note(s, PORT_LOG_ERR, "message refused: queue write error %d", s->data_write_err);
		reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		char id[SMTP_QUEUE_ID_MAX];
		id[0] = '\0';
		int err = s->hooks->msg_commit(s->hook_ctx, id, sizeof(id));
		if (err == 0) {
			char clean[SMTP_QUEUE_ID_MAX];
			id[sizeof(id) - 1] = '\0';
			sanitize_token(clean, sizeof(clean), id);
			reply(s, "250 2.0.0 Ok: queued as %s", clean);
			ok = true;
		} else if (err == SMTP_EFULL) {
			reply(s, "452 4.3.1 Insufficient system storage");
		} else {
			reply(s, "451 4.3.0 Error: queue file write error");
		}
	}
	if (ok)
		s->msg_begun = false; /* committed: nothing to abort */
	txn_reset(s);
}

/* One complete line (CRLF seen) of message text, still dot-stuffed. */
static void data_line(struct smtp_server *s)
{
	uint8_t *p = s->line;
	size_t n = s->line_len;
	bool over = s->line_overflow;

	line_reset(s);
	if (n == 1 && p[0] == '.' && !over) {
		data_end(s);
		return;
	}
	if (n > 0 && p[0] == '.') { /* RFC 5321 §4.5.2 */
		p++;
		n--;
	}
	s->data_size += n + 2;
	if (s->data_size > s->cfg->max_size)
		s->data_big = true;
	/* Refused messages are read to their end but not written: the queue
	 * sees no part of them, and msg_abort() follows. */
	if (s->data_bare || s->data_long || s->data_big || s->data_write_err)
		return;
	p[n] = '\r'; /* room: content <= SMTP_DATA_LINE_MAX - 2 */
	p[n + 1] = '\n';
	s->data_write_err = s->hooks->msg_write(s->hook_ctx, p, n + 2);
}

static void data_put(struct smtp_server *s, uint8_t c)
{
	if (s->line_len < SMTP_DATA_LINE_MAX - 2) {
		s->line[s->line_len++] = c;
	} else {
		s->line_overflow = true;
		s->data_long = true;
	}
}

/* Only CRLF ends a line. A bare CR or LF is kept inside the line (so a
 * "." after it is not at a line start) and condemns the message. */
static void data_byte(struct smtp_server *s, uint8_t c)
{
	if (s->pending_cr) {
		s->pending_cr = false;
		if (c == '\n') {
			data_line(s);
			return;
		}
		s->data_bare = true;
		data_put(s, '\r');
	}
	if (c == '\r') {
		s->pending_cr = true;
		return;
	}
	if (c == '\n')
		s->data_bare = true;
	data_put(s, c);
}

/* ---- public API -------------------------------------------------------- */

void smtp_server_config_defaults(struct smtp_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = "localhost";
	cfg->max_rcpts = 100;
	cfg->max_size = 10u * 1024 * 1024;
	cfg->max_commands = 1000;
	cfg->max_errors = 10;
	cfg->max_sessions = 4;
	cfg->timeout_cmd_ms = 5u * 60 * 1000;
	cfg->timeout_data_ms = 3u * 60 * 1000;
}

int smtp_server_init(struct smtp_server *s, const struct smtp_server_config *cfg,
		     const struct smtp_server_hooks *hooks, void *hook_ctx,
		     const struct smtp_peer *peer, uint64_t now_ms, int64_t wall_time)
{
	if (!s || !cfg || !hooks || !peer || !hooks->msg_begin || !hooks->msg_rcpt ||
	    !hooks->msg_write || !hooks->msg_commit || !hooks->msg_abort || cfg->max_rcpts == 0 ||
	    (cfg->hostname && strlen(cfg->hostname) > SMTP_HOST_MAX))
		return SMTP_EINVAL;
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->hooks = hooks;
	s->hook_ctx = hook_ctx;
	s->peer = peer->addr;
	s->tls = peer->tls;
	if (peer->tls) {
		copy_text(s->tls_version, sizeof(s->tls_version), peer->tls_version);
		copy_text(s->tls_cipher, sizeof(s->tls_cipher), peer->tls_cipher);
	}
	for (size_t i = 0; i < cfg->relay_nets_count; i++)
		if (smtp_cidr_match(&cfg->relay_nets[i], &peer->addr))
			s->relay_ok = true;
	s->now_ms = now_ms;
	s->wall_time = wall_time;
	s->state = SMTP_S_NEW;
	return SMTP_OK;
}

void smtp_server_start(struct smtp_server *s, uint32_t active_sessions)
{
	if (s->state != SMTP_S_NEW)
		return;
	if (s->cfg->max_sessions && active_sessions >= s->cfg->max_sessions) {
		note(s, PORT_LOG_WARN, "too many sessions (%u), refused", (unsigned)active_sessions);
		reply(s, "421 4.3.2 %s Error: too many sessions, try again later", host(s));
		enter_state(s, SMTP_S_CLOSING);
		return;
	}
	reply(s, "220 %s ESMTP danegate %s", host(s), DANEGATE_VERSION);
	enter_state(s, SMTP_S_CMD);
}

/* n more octets of DATA arrived: the next one is due within
 * timeout_data_ms, and the phase as a whole must keep min_data_rate. */
static void data_progress(struct smtp_server *s, size_t n)
{
	s->data_in += n;
	uint64_t block = s->now_ms + s->cfg->timeout_data_ms;
	s->deadline_ms = block;
	if (!s->cfg->min_data_rate)
		return;
	uint64_t earned = s->data_start_ms + s->cfg->timeout_data_ms +
			  s->data_in * 1000 / s->cfg->min_data_rate;
	if (earned < block)
		s->deadline_ms = earned;
}

size_t smtp_server_feed(struct smtp_server *s, const uint8_t *in, size_t len)
{
	size_t i = 0, data = 0;
	char num[U64_DEC_MAX];
	while (i < len) {
		if (s->state == SMTP_S_NEW)
			return i;
		if (s->state == SMTP_S_STARTTLS || s->state == SMTP_S_CLOSING) {
			/* plaintext behind STARTTLS, anything behind QUIT */
			/* logged once: a trickle must not flood the log */
			if (s->state == SMTP_S_STARTTLS && s->discarded == 0)
				note(s, PORT_LOG_WARN,
				     "%s octets of plaintext after STARTTLS discarded",
				     u64_dec(len - i, num));
			s->discarded += len - i;
			return len;
		}
		if (SMTP_OUT_MAX - s->out_len < SMTP_REPLY_MAX)
			break; /* back-pressure */
		if (s->state == SMTP_S_DATA) {
			data_byte(s, in[i++]);
			data = s->state == SMTP_S_DATA ? data + 1 : 0;
		} else {
			line_byte(s, in[i++]);
		}
	}
	/* command lines restart the timer in line_done(), whole */
	if (data > 0 && s->state == SMTP_S_DATA)
		data_progress(s, data);
	return i;
}

size_t smtp_server_output(const struct smtp_server *s, const uint8_t **data)
{
	*data = s->out;
	return s->out_len;
}

void smtp_server_consumed_output(struct smtp_server *s, size_t n)
{
	if (n >= s->out_len) {
		s->out_len = 0;
		return;
	}
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

void smtp_server_tick(struct smtp_server *s, uint64_t now_ms, int64_t wall_time)
{
	s->now_ms = now_ms;
	s->wall_time = wall_time;
	if (now_ms < s->deadline_ms)
		return;
	switch (s->state) {
	case SMTP_S_CMD:
	case SMTP_S_AUTH_PLAIN:
	case SMTP_S_AUTH_USER:
	case SMTP_S_AUTH_PASS:
	case SMTP_S_DATA:
		reply(s, "421 4.4.2 %s Error: timeout exceeded", host(s));
		note(s, PORT_LOG_WARN, "timeout %s", s->state == SMTP_S_DATA ? "in DATA" : "waiting for a command");
		enter_state(s, SMTP_S_CLOSING);
		break;
	case SMTP_S_CLOSING:
		s->out_len = 0; /* the client does not read: give up on it */
		break;
	case SMTP_S_NEW:
	case SMTP_S_STARTTLS: /* the handshake has its own timer in the caller */
		break;
	}
}

enum smtp_want smtp_server_want(const struct smtp_server *s)
{
	switch (s->state) {
	case SMTP_S_CLOSING:
		return s->out_len ? SMTP_WANT_FLUSH : SMTP_WANT_CLOSE;
	case SMTP_S_STARTTLS:
		return s->out_len ? SMTP_WANT_FLUSH : SMTP_WANT_STARTTLS;
	case SMTP_S_NEW:
		return SMTP_WANT_FLUSH;
	default:
		return SMTP_OUT_MAX - s->out_len < SMTP_REPLY_MAX ? SMTP_WANT_FLUSH : SMTP_WANT_READ;
	}
}

void smtp_server_tls_started(struct smtp_server *s, const char *version, const char *cipher)
{
	if (s->state != SMTP_S_STARTTLS)
		return;
	s->tls = true;
	copy_text(s->tls_version, sizeof(s->tls_version), version);
	copy_text(s->tls_cipher, sizeof(s->tls_cipher), cipher);
	s->helo_done = s->esmtp = s->authed = false;
	s->helo[0] = '\0';
	enter_state(s, SMTP_S_CMD);
}

void smtp_server_close(struct smtp_server *s)
{
	if (s->state != SMTP_S_CLOSING)
		enter_state(s, SMTP_S_CLOSING);
	s->out_len = 0;
}

enum smtp_server_state smtp_server_state(const struct smtp_server *s)
{
	return s->state;
}
