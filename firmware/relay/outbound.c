/* outbound — see outbound.h. One session = one destination group of one
 * message at a time: queue -> group (recipients of one domain) -> mx plan
 * (lookups through the resolver, CONNECT steps) -> TCP -> smtp_client (+
 * TLS, DANE verification) -> per-recipient results -> queue / DSN. A
 * healthy connection is kept for the next due message to the same
 * destination (connection reuse). Everything runs from port_poll()
 * callbacks and outbound_tick(); nothing blocks but flash writes. */
#include "relay/outbound.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/platform_util.h"

#include "dane/dane.h"
#include "log/log.h"
#include "port.h"
#include "relay/dsn.h"
#include "relay/trust.h"

#define IN_BUF 512	  /* server input read per call */
#define WHY_MAX 256	  /* local failure detail */
#define RELAY_TEXT_MAX (MX_NAME_SIZE + PORT_ADDR_TEXT_MAX + 8)
#define TLS_TEXT_MAX 96

enum sstate {
	S_FREE,
	S_PLAN,	   /* waiting for a lookup (or a free resolver slot) */
	S_CONNECT, /* TCP connect in progress */
	S_TLS,	   /* TLS handshake in progress */
	S_SMTP,	   /* the engine runs */
};

enum rstate {
	R_OPEN,	 /* no result yet (this connection) */
	R_DONE,	 /* result recorded (or batched for a DSN) */
	R_RETRY, /* the session ended before a server answer: next host */
};

struct fail_ent {
	uint8_t idx;	/* recipient index in the message */
	uint8_t action; /* enum dsn_action */
	char status[DSN_STATUS_SIZE];
	char reply[QUEUE_REASON_MAX + 1];
};

struct osess {
	uint8_t state;
	bool probe;
	int sock;	/* -1: none */
	int dns_handle; /* -1: none in flight */
	bool dns_again; /* dns_resolve had no free slot: try at the next tick */
	uint64_t deadline;

	/* the message */
	bool have_msg;
	uint32_t id;
	char sender[QUEUE_ADDR_MAX + 1];
	uint64_t arrival, due;
	uint16_t attempts;
	uint32_t size;	/* content bytes, for SIZE= */
	uint8_t nrcpt;
	uint16_t n_delivered, n_bounced;
	uint8_t tried[(QUEUE_MAX_RCPT + 7) / 8];

	/* the destination group */
	char dest[POLICY_NAME_SIZE];
	unsigned ng;
	uint8_t gidx[OUTBOUND_GROUP_MAX];
	uint8_t gres[OUTBOUND_GROUP_MAX];
	const char *grcpt[OUTBOUND_GROUP_MAX];
	char rbuf[OUTBOUND_RCPT_BUF];
	/* what the current transaction sends: open recipients of the group */
	const char *srcpt[OUTBOUND_GROUP_MAX];
	uint8_t smap[OUTBOUND_GROUP_MAX];
	struct smtp_client_msg msg;

	/* the plan and the connection */
	bool plan_on;
	struct mx_plan plan;
	struct mx_connect conn;
	uint8_t tlsa_data[OUTBOUND_TLSA_DATA];
	char conn_dest[POLICY_NAME_SIZE]; /* destination of the open connection */
	struct smtp_client cli;
	struct smtp_client_config ccfg;
	struct tls_conn tls;
	bool tls_setup, tls_on, hs_failed, not_verified, auth_ok, probe_done;
	uint8_t cls; /* enum dane_class of this connection */
	bool cls_known;
	bool cls_tls; /* cls is the class of a TLS session this connection reached */
	uint64_t progress_ms; /* port_now_ms of the last server answer recorded */
	char why[WHY_MAX];
	char relay[RELAY_TEXT_MAX]; /* "host[addr]:port" of the last connection */
	char peer[SMTP_CLIENT_PEER_MAX];
	char tls_text[TLS_TEXT_MAX];
	uint8_t in[IN_BUF];
	size_t in_off, in_len;

	struct fail_ent fail[OUTBOUND_FAIL_BATCH];
	unsigned nfail;
};

static struct {
	const struct outbound_config *cfg;
	struct queue *q;
	bool inited, tls_ok;
	mbedtls_ssl_config tls_conf;
	struct osess s[OUTBOUND_SESSIONS];
	struct queue_writer dsn_w;	 /* one DSN written at a time */
	struct queue_msg_info info;	 /* scratch */
	uint32_t flush[OUTBOUND_FLUSH_MAX];
	unsigned nflush;
	uint64_t scan_after; /* port_now_ms before which dispatch does not
			      * look again for mail of non-full destinations */
	struct outbound_stats st;
	/* the console's probe */
	struct {
		bool active, started;
		int sess;
		char domain[POLICY_NAME_SIZE];
		void (*line)(void *ctx, const char *s);
		void *ctx;
	} pr;
} ob;

static void plan_run(struct osess *s);
static void sess_event(void *ctx, int sock, enum port_event ev, int err);
static void sess_run(struct osess *s);
static void job_next_group(struct osess *s);
static void conn_end(struct osess *s);
static void tls_begin(struct osess *s);

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t wall(void)
{
	int64_t t = port_wall_time();
	return t < 0 ? 0 : (uint64_t)t;
}

static uint32_t rnd32(void)
{
	uint32_t r = 0;
	if (port_random(&r, sizeof(r)) != 0)
		r = (uint32_t)port_now_ms() * 2654435761u;
	return r;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return false;
	return *a == *b;
}

static bool tried(const struct osess *s, unsigned i)
{
	return s->tried[i / 8] & (1u << (i % 8));
}

static void set_tried(struct osess *s, unsigned i)
{
	s->tried[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* The domain of a recipient address (after the last '@'), "" if none. */
static const char *domain_of(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	return at && at[1] ? at + 1 : "";
}

static void probe_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void probe_line(const char *fmt, ...)
{
	if (!ob.pr.active || !ob.pr.line)
		return;
	char buf[LOG_LINE_MAX];
	int n = snprintf(buf, sizeof(buf), "probe: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	ob.pr.line(ob.pr.ctx, buf);
}

static void probe_end(void)
{
	ob.pr.active = false;
	ob.pr.started = false;
	ob.pr.sess = -1;
	ob.pr.line = NULL;
}

static const char *class_word(enum dane_class c)
{
	switch (c) {
	case DANE_CLASS_VERIFIED:
		return "Verified";
	case DANE_CLASS_TRUSTED:
		return "Trusted";
	case DANE_CLASS_UNTRUSTED:
		return "Untrusted";
	case DANE_CLASS_ANONYMOUS:
		return "Anonymous";
	case DANE_CLASS_CLEAR:
		return "clear";
	}
	return "none";
}

static enum console_class console_class_of(enum dane_class c)
{
	switch (c) {
	case DANE_CLASS_VERIFIED:
		return CONSOLE_CLASS_VERIFIED;
	case DANE_CLASS_TRUSTED:
		return CONSOLE_CLASS_TRUSTED;
	case DANE_CLASS_UNTRUSTED:
		return CONSOLE_CLASS_UNTRUSTED;
	case DANE_CLASS_ANONYMOUS:
		return CONSOLE_CLASS_ANONYMOUS;
	case DANE_CLASS_CLEAR:
		break;
	}
	return CONSOLE_CLASS_CLEAR;
}

static int resolve(struct osess *s, const char *name, uint16_t type, dns_done_cb cb)
{
	const struct outbound_config *c = ob.cfg;
	if (c->resolve)
		return c->resolve(c->resolve_ctx, name, type, cb, s);
	if (!c->dns)
		return DNS_EINVAL;
	return dns_resolve(c->dns, name, type, cb, s);
}

static void dns_stop(struct osess *s)
{
	if (s->dns_handle < 0)
		return;
	const struct outbound_config *c = ob.cfg;
	if (c->resolve) {
		if (c->cancel)
			c->cancel(c->resolve_ctx, s->dns_handle);
	} else if (c->dns) {
		dns_cancel(c->dns, s->dns_handle);
	}
	s->dns_handle = -1;
}

/* ---- configuration ------------------------------------------------------------ */

void outbound_config_default(struct outbound_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->hostname, sizeof(cfg->hostname), "danegate.lan");
	policy_table_init(&cfg->policy);
	retry_policy_default(&cfg->retry);
	mx_config_default(&cfg->mx);
	cfg->connect_ms = OUTBOUND_CONNECT_MS;
	cfg->handshake_ms = OUTBOUND_HANDSHAKE_MS;
}

int outbound_parse_redirect(struct outbound_config *cfg, const char *text)
{
	if (!text || !text[0]) {
		cfg->redirect = false;
		return 0;
	}
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || !colon[1])
		return OUTBOUND_EINVAL;
	char host[PORT_ADDR_TEXT_MAX];
	const char *h = text;
	size_t hl = (size_t)(colon - text);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return OUTBOUND_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	unsigned long base = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return OUTBOUND_EINVAL;
		base = base * 10 + (unsigned long)(*p - '0');
		if (base > 65535 - 255)
			return OUTBOUND_EINVAL;
	}
	struct port_addr a;
	if (port_addr_parse(host, &a) != 0)
		return OUTBOUND_EINVAL;
	cfg->redirect_host = a;
	cfg->redirect_base = (uint16_t)base;
	cfg->redirect = true;
	return 0;
}

static const char *get(const struct settings *s, config_board_fn board, const char *key, char *buf,
		       size_t size)
{
	if (config_get(s, board, key, buf, size) < 0)
		buf[0] = '\0';
	return buf;
}

int outbound_config_load(struct outbound_config *cfg, const struct settings *s,
			 config_board_fn board)
{
	enum { BUF = CONFIG_VALUE_MAX + 1 };
	char *buf = malloc(BUF); /* too large for a small stack: heap for this call */
	if (!buf)
		return -12;
	const char *v = get(s, board, "hostname", buf, BUF);
	if (v[0])
		snprintf(cfg->hostname, sizeof(cfg->hostname), "%.*s", (int)sizeof(cfg->hostname) - 1, v);
	enum policy_level lvl;
	v = get(s, board, "tls_default", buf, BUF);
	if (v[0] && policy_level_parse(v, strlen(v), &lvl) == 0)
		policy_table_set_default(&cfg->policy, lvl);
	v = get(s, board, "tls_policy", buf, BUF);
	if (v[0] && policy_table_parse(&cfg->policy, v, NULL) < 0)
		LOG_ERR("out: tls_policy unusable; only tls_default applies");
	v = get(s, board, "smarthost", buf, BUF);
	cfg->smarthost = false;
	if (v[0]) {
		if (policy_nexthop_parse(v, &cfg->relay) == 0)
			cfg->smarthost = true;
		else
			LOG_ERR("out: smarthost '%.60s' unusable; delivering to MX hosts", v);
	}
	v = get(s, board, "smarthost_auth", buf, BUF);
	cfg->auth_user[0] = cfg->auth_pass[0] = '\0';
	const char *colon = strchr(v, ':');
	if (colon && (size_t)(colon - v) <= OUTBOUND_AUTH_MAX && strlen(colon + 1) <= OUTBOUND_AUTH_MAX) {
		memcpy(cfg->auth_user, v, (size_t)(colon - v));
		cfg->auth_user[colon - v] = '\0';
		snprintf(cfg->auth_pass, sizeof(cfg->auth_pass), "%s", colon + 1);
	} else if (v[0]) {
		LOG_ERR("out: smarthost_auth is not user:password; no AUTH");
	}
	v = get(s, board, "retry_schedule", buf, BUF);
	if (v[0] && retry_parse_schedule(v, &cfg->retry) != 0)
		LOG_ERR("out: retry_schedule unusable; using %s", RETRY_DEFAULT_SCHEDULE);
	uint32_t secs;
	if (config_get_duration(s, board, "max_queue_age", &secs) == 0 && secs)
		cfg->retry.max_age = secs;
	/* The SMTP timeout keys (where the build has them) shorten the
	 * client's reply timeouts only when set: their defaults are the
	 * server's, and the client keeps RFC 5321's own (10 min for the dot). */
	if (config_get(s, board, "smtp_timeout", buf, BUF) > CONFIG_SRC_DEFAULT &&
	    config_get_duration(s, board, "smtp_timeout", &secs) == 0 && secs)
		cfg->cmd_timeout_ms = secs * 1000u;
	if (config_get(s, board, "smtp_data_timeout", buf, BUF) > CONFIG_SRC_DEFAULT &&
	    config_get_duration(s, board, "smtp_data_timeout", &secs) == 0 && secs)
		cfg->data_timeout_ms = secs * 1000u;
	cfg->settings = s;
	uint32_t dc = 0;
	if (config_get_uint(s, board, "smtp_destination_concurrency", &dc) == 0)
		cfg->dest_concurrency = dc;
	/* read-only anchors from the board (host: --ca-file FILE) */
	const char *pem = board ? board("tls_ca") : NULL;
	if (pem && pem[0]) {
		int n = trust_board_load(pem);
		if (n < 0)
			LOG_ERR("out: the board's tls_ca is not PEM certificates; not used");
		else
			LOG_INFO("out: %d trust anchor(s) from the board (verify policy)", n);
	}
	v = get(s, board, "smtp_delivery_redirect", buf, BUF);
	if (outbound_parse_redirect(cfg, v) != 0)
		LOG_ERR("out: smtp_delivery_redirect '%.60s' is not HOST:BASE; ignored", v);
	else if (cfg->redirect)
		LOG_WARN("out: TEST MODE: connections to a.b.c.N go to %.60s port base+N", v);
	mbedtls_platform_zeroize(buf, BUF); /* it held smarthost_auth */
	free(buf);
	return 0;
}

/* ---- logging and results -------------------------------------------------------- */

static void out_line(struct osess *s, unsigned idx, const char *rcpt, const char *result,
		     const char *cls, const char *status, const char *reason, bool connected)
{
	LOG_INFO("out: id=%08lX to=%s relay=%s tls=%s class=%s result=%s dsn=%s reason=%s",
		 (unsigned long)s->id, rcpt, connected && s->relay[0] ? s->relay : "none",
		 connected && s->tls_text[0] ? s->tls_text : "none/-", cls, result,
		 status && status[0] ? status : "-", reason && reason[0] ? reason : "-");
	(void)idx;
}

/* Writes the DSNs for the collected entries, then records FAILED (the
 * last FAILED may remove the message: its header is needed first). */
static void fail_flush(struct osess *s)
{
	if (!s->nfail)
		return;
	const struct outbound_config *c = ob.cfg;
	uint64_t now = wall();
	for (int act = DSN_DELAYED; act >= DSN_FAILED; act--) {
		struct dsn_rcpt r[OUTBOUND_FAIL_BATCH];
		unsigned n = 0;
		for (unsigned i = 0; i < s->nfail; i++) {
			if (s->fail[i].action != act)
				continue;
			r[n] = (struct dsn_rcpt){ .index = s->fail[i].idx,
						  .status = s->fail[i].status,
						  .reply = s->fail[i].reply,
						  .remote_mta = NULL,
						  .last_attempt = now };
			n++;
		}
		if (!n)
			continue;
		struct dsn_info info = { .action = (enum dsn_action)act,
					 .hostname = c->hostname,
					 .now = now,
					 .will_retry_until = act == DSN_DELAYED ? s->arrival + c->retry.max_age : 0,
					 .rnd = rnd32() };
		uint32_t nid = 0;
		int err = dsn_generate(ob.q, s->id, r, n, &info, &ob.dsn_w, &nid);
		if (err == 0) {
			ob.st.dsns++;
			LOG_INFO("out: id=%08lX dsn=%08lX %s notice to <%s> for %u recipient(s)",
				 (unsigned long)s->id, (unsigned long)nid,
				 act == DSN_FAILED ? "failure" : "delay", s->sender, n);
		} else if (dsn_suppressed(err)) {
			LOG_INFO("out: id=%08lX no %s notice: %s", (unsigned long)s->id,
				 act == DSN_FAILED ? "failure" : "delay",
				 err == DSN_ENULLSENDER ? "null sender" : "the message is a notice itself");
		} else if (act == DSN_FAILED) {
			/* never drop a failure without its notice: try later */
			LOG_ERR("out: id=%08lX failure notice not queued (%d): recipients deferred",
				(unsigned long)s->id, err);
		} else {
			LOG_WARN("out: id=%08lX delay notice not queued (%d)", (unsigned long)s->id, err);
		}
		if (act != DSN_FAILED)
			continue;
		for (unsigned i = 0; i < s->nfail; i++) {
			if (s->fail[i].action != DSN_FAILED)
				continue;
			bool ok = err == 0 || dsn_suppressed(err);
			uint64_t next = ok ? 0 : now + c->retry.step[0];
			int qe = queue_rcpt_result(ob.q, s->id, s->fail[i].idx,
						   ok ? QUEUE_RCPT_FAILED : QUEUE_RCPT_DEFERRED,
						   s->fail[i].reply, next);
			if (qe)
				LOG_ERR("out: id=%08lX result not recorded (%d)", (unsigned long)s->id, qe);
		}
	}
	s->nfail = 0;
}

static void fail_add(struct osess *s, unsigned idx, enum dsn_action act, const char *status,
		     const char *reply)
{
	if (s->nfail == OUTBOUND_FAIL_BATCH)
		fail_flush(s);
	struct fail_ent *f = &s->fail[s->nfail++];
	f->idx = (uint8_t)idx;
	f->action = (uint8_t)act;
	snprintf(f->status, sizeof(f->status), "%s", status ? status : "");
	snprintf(f->reply, sizeof(f->reply), "%s", reply ? reply : "");
}

enum res { RES_DELIVERED, RES_DEFERRED, RES_FAILED };

/* The one place a recipient's result for this attempt is decided. */
static void record(struct osess *s, unsigned g, enum res res, const char *status,
		   const char *reason, const char *cls, bool connected)
{
	const struct outbound_config *c = ob.cfg;
	unsigned idx = s->gidx[g];
	const char *rcpt = s->grcpt[g];
	s->gres[g] = R_DONE;
	char st5[DSN_STATUS_SIZE];
	if (res == RES_DEFERRED) {
		struct retry_decision d;
		uint64_t now = wall();
		retry_decide(&c->retry, s->arrival, s->due, (unsigned)s->attempts + 1, now, rnd32(), &d);
		if (d.expired) {
			char why[QUEUE_REASON_MAX + 1];
			snprintf(why, sizeof(why), "%s; last: %s",
				 RETRY_EXPIRED_REASON, reason ? reason : "");
			dsn_status(DSN_FAILED, RETRY_EXPIRED_STATUS, NULL, st5);
			out_line(s, idx, rcpt, "bounced", cls, st5, why, connected);
			fail_add(s, idx, DSN_FAILED, RETRY_EXPIRED_STATUS, why);
			s->n_bounced++;
			ob.st.bounced++;
			if (c->stats)
				c->stats->bounced++;
			return;
		}
		out_line(s, idx, rcpt, "deferred", cls, status, reason, connected);
		int qe = queue_rcpt_result(ob.q, s->id, idx, QUEUE_RCPT_DEFERRED, reason, d.next_attempt);
		if (qe)
			LOG_ERR("out: id=%08lX result not recorded (%d)", (unsigned long)s->id, qe);
		if (d.delay_dsn)
			fail_add(s, idx, DSN_DELAYED, status, reason);
		ob.st.deferred++;
		if (c->stats)
			c->stats->deferred++;
		return;
	}
	if (res == RES_FAILED) {
		dsn_status(DSN_FAILED, status, reason, st5);
		out_line(s, idx, rcpt, "bounced", cls, st5, reason, connected);
		fail_add(s, idx, DSN_FAILED, st5, reason);
		s->n_bounced++;
		ob.st.bounced++;
		if (c->stats)
			c->stats->bounced++;
		return;
	}
	out_line(s, idx, rcpt, "delivered", cls, status && status[0] ? status : "2.0.0", reason,
		 connected);
	int qe = queue_rcpt_result(ob.q, s->id, idx, QUEUE_RCPT_DELIVERED, reason, 0);
	if (qe)
		LOG_ERR("out: id=%08lX result not recorded (%d)", (unsigned long)s->id, qe);
	s->n_delivered++;
	ob.st.delivered++;
	if (c->stats && s->cls_known)
		console_stats_record(c->stats, s->dest, console_class_of((enum dane_class)s->cls),
				     s->conn.mx_secure && s->conn.dane != DANE_NONE, port_now_ms());
}

/* "4.7.5" from an enhanced code (each part bounded as RFC 3463 says). */
static void fmt_status(const uint16_t enh[3], char out[DSN_STATUS_SIZE])
{
	snprintf(out, DSN_STATUS_SIZE, "%u.%u.%u", (unsigned)(enh[0] % 10u), (unsigned)(enh[1] % 1000u),
		 (unsigned)(enh[2] % 1000u));
}

/* ---- engine hooks ------------------------------------------------------------------ */

static long hk_read(void *ctx, uint64_t offset, uint8_t *buf, size_t len)
{
	struct osess *s = ctx;
	if (offset > UINT32_MAX)
		return 0;
	long n = queue_msg_read(ob.q, s->id, (uint32_t)offset, buf, len);
	return n < 0 ? -1 : n;
}

static void hk_rcpt_result(void *ctx, size_t k, enum smtp_client_result result,
			   const struct smtp_client_status *st)
{
	struct osess *s = ctx;
	if (k >= OUTBOUND_GROUP_MAX)
		return;
	unsigned g = s->smap[k];
	if (g >= s->ng || s->gres[g] != R_OPEN)
		return;
	if (result == SMTP_CLIENT_DEFERRED && (st->code == 0 || smtp_client_error(&s->cli))) {
		/* the session ended before this recipient got a server answer
		 * of its own: another host (or address) may take it */
		s->gres[g] = R_RETRY;
		return;
	}
	char status[DSN_STATUS_SIZE];
	fmt_status(st->enh, status);
	enum res r = result == SMTP_CLIENT_DELIVERED ? RES_DELIVERED
		     : result == SMTP_CLIENT_FAILED ? RES_FAILED
						    : RES_DEFERRED;
	const char *cls = s->cls_known ? class_word((enum dane_class)s->cls) : "none";
	record(s, g, r, status, st->text, cls, true);
	s->progress_ms = port_now_ms(); /* the destination answers */
	ob.scan_after = 0;		 /* it may take another session now */
}

static void hk_log(void *ctx, enum port_log_level level, const char *text)
{
	struct osess *s = ctx;
	log_msg(level, "out: %s: %s", s->peer, text);
}

static const struct smtp_client_hooks hooks = {
	.read = hk_read,
	.rcpt_result = hk_rcpt_result,
	.log = hk_log,
};

/* ---- connections ---------------------------------------------------------------------- */

static void conn_close(struct osess *s)
{
	if (s->tls_setup) {
		tls_conn_free(&s->tls);
		s->tls_setup = false;
	}
	s->tls_on = false;
	if (s->sock >= 0) {
		port_close(s->sock);
		s->sock = -1;
	}
	s->conn_dest[0] = '\0';
	s->in_off = s->in_len = 0;
}

static void sess_free(struct osess *s)
{
	conn_close(s);
	dns_stop(s);
	s->dns_again = false;
	s->have_msg = false;
	s->plan_on = false;
	if (s->probe && ob.pr.active)
		probe_end();
	s->probe = false;
	s->state = S_FREE;
	s->dest[0] = '\0';
	ob.scan_after = 0; /* a destination may have room now */
	if (ob.st.active)
		ob.st.active--;
}

/* The plan's CONNECT failed before any recipient got a result. */
static void host_fail(struct osess *s, enum mx_result r, const char *why)
{
	conn_close(s);
	if (s->probe && r == MX_RESULT_NO_STARTTLS)
		probe_line("STARTTLS offered: no");
	if (s->probe)
		probe_line("%s: %s%s%s", s->relay, mx_result_name(r), why && why[0] ? ": " : "",
			   why ? why : "");
	for (unsigned g = 0; g < s->ng; g++)
		if (s->gres[g] == R_RETRY)
			s->gres[g] = R_OPEN;
	mx_plan_host_result(&s->plan, r, why);
	plan_run(s);
}

static void conn_start(struct osess *s)
{
	const struct outbound_config *c = ob.cfg;
	char a[PORT_ADDR_TEXT_MAX];
	port_addr_format(&s->conn.addr, false, a, sizeof(a));
	snprintf(s->relay, sizeof(s->relay), "%s[%s]:%u", s->conn.host, a, (unsigned)s->conn.addr.port);
	snprintf(s->peer, sizeof(s->peer), "%s[%s]", s->conn.host, a);
	s->tls_text[0] = '\0';
	s->cls_known = s->cls_tls = false;
	s->hs_failed = s->not_verified = s->auth_ok = false;
	s->why[0] = '\0';
	struct port_addr target = s->conn.addr;
	if (c->redirect) {
		uint8_t n = target.family == PORT_AF_INET6 ? target.ip[15] : target.ip[3];
		target = c->redirect_host;
		target.port = (uint16_t)(c->redirect_base + n);
	}
	if (s->probe)
		probe_line("connecting to %s (TLS %s, auth %s%s%s)", s->relay, mx_tls_name(s->conn.tls),
			   s->conn.auth == MX_AUTH_DANE	    ? "dane"
			   : s->conn.auth == MX_AUTH_WEBPKI ? "webpki"
							    : "none",
			   s->conn.sni ? ", SNI " : "", s->conn.sni ? s->conn.sni : "");
	ob.st.connections++;
	s->conn_dest[0] = '\0';
	int sock = port_tcp_connect(&target, sess_event, s);
	if (sock < 0) {
		host_fail(s, MX_RESULT_CONN_FAILED, port_strerror(sock));
		return;
	}
	s->sock = sock;
	s->state = S_CONNECT;
	s->deadline = port_now_ms() + c->connect_ms;
}

/* ---- the transaction ---------------------------------------------------------------- */

/* Hands the group's open recipients to the engine. */
static void msg_hand(struct osess *s)
{
	size_t n = 0;
	for (unsigned g = 0; g < s->ng; g++)
		if (s->gres[g] == R_OPEN) {
			s->srcpt[n] = s->grcpt[g];
			s->smap[n] = (uint8_t)g;
			n++;
		}
	if (n == 0)
		return;
	s->msg = (struct smtp_client_msg){ .sender = s->sender,
					   .rcpts = s->srcpt,
					   .rcpt_count = n,
					   .size = s->size,
					   .flags = 0 };
	int err = smtp_client_next_message(&s->cli, &s->msg);
	if (err == 0)
		return;
	const char *cls = s->cls_known ? class_word((enum dane_class)s->cls) : "none";
	for (unsigned g = 0; g < s->ng; g++)
		if (s->gres[g] == R_OPEN) {
			if (err == SMTP_CLIENT_EINVAL)
				record(s, g, RES_FAILED, "5.1.3",
				       "bad address syntax (control characters or too long)", cls, true);
			else
				record(s, g, RES_DEFERRED, "4.3.0", "local error: SMTP client busy", cls,
				       true);
		}
}

static void conn_up(struct osess *s)
{
	const struct outbound_config *c = ob.cfg;
	struct smtp_client_config *cc = &s->ccfg;
	smtp_client_config_defaults(cc);
	cc->ehlo_name = c->hostname;
	cc->peer = s->peer;
	cc->tls = s->conn.tls == MX_TLS_NONE  ? SMTP_TLS_NONE
		  : s->conn.tls == MX_TLS_MAY ? SMTP_TLS_MAY
					      : SMTP_TLS_REQUIRED;
	cc->implicit_tls = s->conn.implicit_tls;
	if (!ob.tls_ok && cc->tls != SMTP_TLS_NONE) {
		if (cc->tls == SMTP_TLS_REQUIRED || cc->implicit_tls) {
			host_fail(s, MX_RESULT_HANDSHAKE_FAILED, "TLS is not available on this relay");
			return;
		}
		cc->tls = SMTP_TLS_NONE;
	}
	if (c->smarthost && c->auth_user[0] && !s->probe) {
		cc->auth_user = c->auth_user;
		cc->auth_pass = c->auth_pass;
	}
	if (c->cmd_timeout_ms)
		cc->timeout_greeting_ms = cc->timeout_cmd_ms = cc->timeout_rcpt_ms = c->cmd_timeout_ms;
	if (c->data_timeout_ms)
		cc->timeout_data_ms = cc->timeout_block_ms = cc->timeout_dot_ms = c->data_timeout_ms;
	if (smtp_client_init(&s->cli, cc, &hooks, s) != 0) {
		host_fail(s, MX_RESULT_SMTP_FAILED, "local error: SMTP client setup");
		return;
	}
	smtp_client_tick(&s->cli, port_now_ms());
	s->state = S_SMTP;
	s->cls = DANE_CLASS_CLEAR;
	s->cls_known = true;
	snprintf(s->tls_text, sizeof(s->tls_text), "none/-");
	s->probe_done = false;
	if (!s->probe)
		msg_hand(s);
	if (cc->implicit_tls) {
		tls_begin(s);
		if (s->state != S_TLS)
			return;
	}
	sess_run(s);
}

static void tls_failed(struct osess *s, const char *why)
{
	s->hs_failed = true;
	snprintf(s->why, sizeof(s->why), "%s", why);
	char r[WHY_MAX + RELAY_TEXT_MAX + 48];
	snprintf(r, sizeof(r), "Cannot start TLS with %s: handshake failed: %s", s->relay, why);
	smtp_client_abort(&s->cli, "4.7.5", r);
	s->state = S_SMTP;
	conn_end(s);
}

/* The session's TLS context, unless the gate (tls.h) has no slot yet:
 * the server then waits for our ClientHello and outbound_tick tries
 * again. False while there is none (waiting, or failed). */
static bool tls_setup_try(struct osess *s)
{
	if (s->tls_setup)
		return true;
	int err = tls_conn_setup(&s->tls, &ob.tls_conf, s->sock, s->conn.sni);
	if (err == TLS_WANT_SLOT)
		return false;
	if (err) {
		tls_failed(s, tls_strerror(err));
		return false;
	}
	s->tls_setup = true;
	return true;
}

static void tls_begin(struct osess *s)
{
	/* plaintext after the 220 to STARTTLS is never read as TLS or SMTP */
	s->in_off = s->in_len = 0;
	if (s->probe && !s->conn.implicit_tls)
		probe_line("STARTTLS offered: yes");
	s->state = S_TLS; /* the wait for a TLS gate slot counts as handshake time */
	s->deadline = port_now_ms() + ob.cfg->handshake_ms;
	tls_setup_try(s);
}

static void probe_chain(const mbedtls_x509_crt *crt)
{
	for (int d = 0; crt && d < DANE_CHAIN_MAX; crt = crt->next, d++) {
		char sub[160], iss[160];
		if (mbedtls_x509_dn_gets(sub, sizeof(sub), &crt->subject) < 0)
			snprintf(sub, sizeof(sub), "?");
		if (mbedtls_x509_dn_gets(iss, sizeof(iss), &crt->issuer) < 0)
			snprintf(iss, sizeof(iss), "?");
		probe_line("chain depth %d: subject %s; issuer %s", d, sub, iss);
	}
}

/* The `verify` policy (Postfix's smtp_tls_security_level = verify): the
 * chain must lead to one of the operator's trust anchors (relay/trust.h),
 * every certificate on the path within its dates, and the leaf must name
 * the next hop (the MX host name, or the smarthost). The anchors go to
 * dane_verify_chain() as full-certificate `2 0 0` records: the same chain
 * building and date and name rules as DANE-TA (an anchor need not be
 * sent; one that matches only the leaf is no anchor). text: the verdict,
 * in words a postmaster can act on. */
static bool verify_anchors(struct osess *s, const mbedtls_x509_crt *peer, char *text, size_t size)
{
	static struct dane_tlsa_set anchors; /* static: spares the stack */
	int n = trust_tlsa_set(ob.cfg->settings, &anchors);
	const char *ref = s->conn.refids.count ? s->conn.refids.name[0] : "?";
	if (n <= 0) {
		snprintf(text, size, "no trust anchors configured (console: ca add)");
		return false;
	}
	if (!peer) {
		snprintf(text, size, "the server sent no certificate");
		return false;
	}
	struct dane_result res;
	memset(&res, 0, sizeof(res));
	int v = dane_verify_chain(&anchors, peer, &s->conn.refids, port_wall_time(), &res);
	char subj[96];
	if (mbedtls_x509_dn_gets(subj, sizeof(subj), &peer->subject) < 0)
		snprintf(subj, sizeof(subj), "?");
	switch (v) {
	case DANE_OK:
		snprintf(text, size, "chain to trust anchor %d verified; certificate names %s",
			 res.record + 1, ref);
		return true;
	case DANE_ERR_NAME:
		snprintf(text, size, "name mismatch: certificate %s does not name %s", subj, ref);
		break;
	case DANE_ERR_DATE:
		snprintf(text, size, "certificate not trusted: the certificate at depth %d is %s",
			 res.bad_depth,
			 (res.x509_flags & MBEDTLS_X509_BADCERT_FUTURE) ? "not yet valid" : "expired");
		break;
	case DANE_ERR_CHAIN:
		if ((res.x509_flags & ~(uint32_t)MBEDTLS_X509_BADCERT_NOT_TRUSTED) == 0)
			goto not_issued; /* no anchor signed the top certificate */
		snprintf(text, size, "certificate not trusted: the chain to trust anchor %d does not "
			 "verify (x509 flags 0x%lx)", res.record + 1, (unsigned long)res.x509_flags);
		break;
	case DANE_ERR_NOMEM:
		snprintf(text, size, "out of TLS memory while checking the chain");
		break;
	default:
	not_issued:
		snprintf(text, size, "certificate not trusted: %s is not issued by any of the %d trust "
			 "anchor(s) (console: ca list)", subj, n);
		break;
	}
	return false;
}

static void tls_step(struct osess *s)
{
	if (!tls_setup_try(s))
		return;
	int r = tls_conn_handshake(&s->tls);
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return;
	if (r != 0) {
		tls_failed(s, tls_strerror(r));
		return;
	}
	s->tls_on = true;
	s->state = S_SMTP;
	snprintf(s->tls_text, sizeof(s->tls_text), "%s/%s", tls_conn_version(&s->tls),
		 tls_conn_cipher(&s->tls));
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->tls.ssl);
	if (s->probe) {
		probe_line("TLS %s, cipher %s", tls_conn_version(&s->tls), tls_conn_cipher(&s->tls));
		probe_chain(peer);
	}
	bool auth = false;
	char res_text[200] = "";
	if (s->conn.auth == MX_AUTH_DANE) {
		struct dane_result res;
		memset(&res, 0, sizeof(res));
		int v = DANE_ERR_NOMATCH;
		if (s->conn.tlsa && s->conn.tlsa->count) {
			v = dane_verify_session(&s->tls.ssl, s->conn.tlsa, &s->conn.refids,
						port_wall_time(), &res);
			dane_result_text(&res, &s->conn.refids, res_text, sizeof(res_text));
		} else {
			snprintf(res_text, sizeof(res_text), "no usable TLSA record kept");
		}
		auth = v == DANE_OK;
	} else if (s->conn.auth == MX_AUTH_WEBPKI) {
		auth = verify_anchors(s, peer, res_text, sizeof(res_text));
	}
	if (s->probe && res_text[0])
		probe_line("verification: %s", res_text);
	if (s->conn.auth != MX_AUTH_NONE && !auth) {
		s->not_verified = true;
		snprintf(s->why, sizeof(s->why), "%s", res_text);
		char rr[WHY_MAX + RELAY_TEXT_MAX + 48];
		snprintf(rr, sizeof(rr), "Server certificate not verified: %s: %s", s->relay, res_text);
		smtp_client_abort(&s->cli, "4.7.5", rr);
		conn_end(s);
		return;
	}
	s->auth_ok = auth;
	s->cls = (uint8_t)mx_plan_classify(&s->conn, true, peer != NULL, auth);
	/* verify checks the chain and the name: Postfix calls that Verified
	 * (Trusted is a trusted chain whose name was not checked) */
	if (auth && s->conn.auth == MX_AUTH_WEBPKI)
		s->cls = DANE_CLASS_VERIFIED;
	s->cls_known = true;
	s->cls_tls = true;
	tls_conn_drop_peer_chain(&s->tls); /* judged: its arena memory back (RAM budget) */
	if (s->probe)
		probe_line("class %s", class_word((enum dane_class)s->cls));
	if (!s->conn.implicit_tls)
		smtp_client_tls_started(&s->cli);
}

static bool sess_flush(struct osess *s)
{
	const uint8_t *out;
	size_t n;
	while ((n = smtp_client_output(&s->cli, &out)) > 0) {
		long w = s->tls_on ? tls_conn_write(&s->tls, out, n) : port_tcp_send(s->sock, out, n);
		if (w == PORT_EAGAIN || w == TLS_WANT_WRITE || w == TLS_WANT_READ)
			return true; /* PORT_EV_WRITABLE resumes */
		if (w <= 0)
			return false;
		smtp_client_consumed_output(&s->cli, (size_t)w);
	}
	return true;
}

static long sess_read(struct osess *s, uint8_t *buf, size_t len)
{
	if (!s->tls_on)
		return port_tcp_recv(s->sock, buf, len);
	long n = tls_conn_read(&s->tls, buf, len);
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
		return PORT_EAGAIN;
	return n < 0 ? PORT_EIO : n;
}

static enum mx_result failure_kind(struct osess *s, const struct smtp_client_status *e,
				   const char **why)
{
	if (s->hs_failed) {
		*why = s->why;
		return MX_RESULT_HANDSHAKE_FAILED;
	}
	if (s->not_verified) {
		*why = s->why;
		return MX_RESULT_NOT_VERIFIED;
	}
	if (e && e->enh[0] == 4 && e->enh[1] == 7 && e->enh[2] == 4 && !s->tls_on) {
		*why = NULL;
		return MX_RESULT_NO_STARTTLS;
	}
	*why = e ? e->text : "lost connection";
	return MX_RESULT_SMTP_FAILED;
}

/* A whole group has its results on a healthy connection. */
static void group_conn_done(struct osess *s)
{
	struct mx_step st;
	for (unsigned g = 0; g < s->ng; g++)
		if (s->gres[g] != R_DONE)
			record(s, g, RES_DEFERRED, "4.3.0", "local error: no result from the SMTP client",
			       "none", true);
	if (s->plan_on && mx_plan_next(&s->plan, &st) == MX_STEP_CONNECT)
		(void)mx_plan_host_result(&s->plan, MX_RESULT_OK, NULL);
	s->plan_on = false;
	snprintf(s->conn_dest, sizeof(s->conn_dest), "%s", s->dest);
	s->ng = 0;
	job_next_group(s);
}

/* The connection is over (engine closed, lost, TLS or verification
 * failed): every recipient of the transaction has a result or is left
 * for the next host. */
static void conn_end(struct osess *s)
{
	smtp_client_abort(&s->cli, NULL, NULL); /* idempotent: results for all */
	const struct smtp_client_status *e = smtp_client_error(&s->cli);
	static struct smtp_client_status err; /* copy: the engine is gone below */
	if (e)
		err = *e;
	conn_close(s);
	if (s->probe && s->probe_done) {
		sess_free(s);
		return;
	}
	if (!s->probe && !s->have_msg) { /* QUIT after the last message */
		sess_free(s);
		return;
	}
	unsigned nretry = 0;
	for (unsigned g = 0; g < s->ng; g++) {
		if (s->gres[g] == R_OPEN)
			s->gres[g] = R_RETRY;
		if (s->gres[g] == R_RETRY)
			nretry++;
	}
	struct mx_step st;
	bool planned = s->plan_on && mx_plan_next(&s->plan, &st) == MX_STEP_CONNECT;
	if (s->probe || (planned && nretry)) {
		const char *why;
		enum mx_result r = failure_kind(s, e ? &err : NULL, &why);
		host_fail(s, r, why);
		return;
	}
	if (planned)
		(void)mx_plan_host_result(&s->plan, MX_RESULT_OK, NULL);
	s->plan_on = false;
	/* a reused connection has no other host to go to: defer */
	const char *cls = s->cls_known ? class_word((enum dane_class)s->cls) : "none";
	char status[DSN_STATUS_SIZE] = "4.4.2";
	if (e)
		fmt_status(err.enh, status);
	for (unsigned g = 0; g < s->ng; g++)
		if (s->gres[g] == R_RETRY)
			record(s, g, RES_DEFERRED, status, e ? err.text : "lost connection", cls, true);
	s->ng = 0;
	job_next_group(s);
}

static void probe_ready(struct osess *s)
{
	if (!s->tls_on) {
		probe_line("STARTTLS offered: %s", s->cli.cap_starttls ? "yes (not used: policy)" : "no");
		probe_line("class clear");
	}
	probe_line("done: %s %s", s->relay, s->cls_known ? class_word((enum dane_class)s->cls) : "clear");
	s->probe_done = true;
	smtp_client_quit(&s->cli);
}

static void sess_run(struct osess *s)
{
	for (unsigned guard = 0; guard < 100000; guard++) {
		if (s->state == S_TLS) {
			tls_step(s);
			if (s->state != S_SMTP)
				return;
		}
		if (s->state != S_SMTP || s->sock < 0)
			return;
		if (!sess_flush(s)) {
			smtp_client_abort(&s->cli, NULL, NULL);
			conn_end(s);
			return;
		}
		enum smtp_client_want want = smtp_client_want(&s->cli);
		const uint8_t *pending;
		bool unsent = smtp_client_output(&s->cli, &pending) > 0;
		if (want == SMTP_CLIENT_WANT_CLOSE) {
			if (!unsent)
				conn_end(s);
			return;
		}
		if (unsent)
			return;
		if (want == SMTP_CLIENT_WANT_TLS) {
			tls_begin(s);
			continue;
		}
		if (want == SMTP_CLIENT_WANT_MESSAGE) {
			if (s->probe) {
				if (s->probe_done)
					return;
				probe_ready(s);
				continue;
			}
			group_conn_done(s);
			if (s->state != S_SMTP || s->sock < 0 ||
			    smtp_client_want(&s->cli) == SMTP_CLIENT_WANT_MESSAGE)
				return;
			continue;
		}
		if (s->in_off == s->in_len) {
			long n = sess_read(s, s->in, sizeof(s->in));
			if (n == PORT_EAGAIN)
				return;
			if (n <= 0) {
				smtp_client_abort(&s->cli, NULL, NULL);
				conn_end(s);
				return;
			}
			s->in_off = 0;
			s->in_len = (size_t)n;
		}
		smtp_client_tick(&s->cli, port_now_ms());
		size_t used = smtp_client_feed(&s->cli, s->in + s->in_off, s->in_len - s->in_off);
		s->in_off += used;
		if (used == 0 && smtp_client_want(&s->cli) == SMTP_CLIENT_WANT_READ &&
		    smtp_client_output(&s->cli, &pending) == 0) {
			smtp_client_abort(&s->cli, "4.3.0", "local error: the SMTP client made no progress");
			conn_end(s);
			return;
		}
	}
}

static void sess_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct osess *s = ctx;
	if (s->sock < 0 || s->sock != sock)
		return;
	if (s->state == S_CONNECT) {
		if (ev == PORT_EV_CONNECTED && err == 0)
			conn_up(s);
		else if (ev == PORT_EV_CONNECTED || ev == PORT_EV_CLOSED)
			host_fail(s, MX_RESULT_CONN_FAILED, port_strerror(err ? err : PORT_ECONNRESET));
		return;
	}
	if (ev == PORT_EV_CLOSED) {
		if (s->state == S_TLS) {
			tls_failed(s, "connection closed during the handshake");
			return;
		}
		smtp_client_abort(&s->cli, NULL, NULL);
		conn_end(s);
		return;
	}
	sess_run(s);
}

/* ---- DNS and the plan ---------------------------------------------------------------- */

static const char *type_word(uint16_t t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TLSA:
		return "TLSA";
	case DNS_T_CNAME:
		return "CNAME";
	}
	return "?";
}

static void probe_answer(const struct dns_answer *a)
{
	const char *sec = dns_status_name(a->status);
	const char *t = type_word(a->qtype);
	if (a->status == DNS_FAIL) {
		probe_line("%s %s: lookup failed (%s)", a->qname, t, a->reason ? a->reason : "");
		return;
	}
	if (a->cname_count)
		probe_line("%s is a CNAME for %s (first CNAME %s)", a->qname, a->final_name,
			   a->cname_secure_first ? "secure" : "insecure");
	if (dns_status_denial(a->status)) {
		probe_line("%s %s: none (%s)", a->qname, t, sec);
		return;
	}
	for (unsigned i = 0; i < a->n_rr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (rr->type != a->qtype)
			continue;
		char buf[PORT_ADDR_TEXT_MAX];
		if (rr->type == DNS_T_MX) {
			probe_line("%s MX %u %s (%s)", a->qname, (unsigned)rr->u.mx.pref,
				   dns_answer_text(a, rr->u.mx.name), sec);
		} else if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
			struct port_addr pa = { .family = rr->type == DNS_T_A ? PORT_AF_INET : PORT_AF_INET6 };
			memcpy(pa.ip, rr->type == DNS_T_A ? rr->u.a : rr->u.aaaa, rr->type == DNS_T_A ? 4 : 16);
			probe_line("%s %s %s (%s)", a->qname, t, port_addr_format(&pa, false, buf, sizeof(buf)),
				   sec);
		} else if (rr->type == DNS_T_TLSA) {
			struct dane_tlsa tl = { rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype,
						rr->u.tlsa.len, a->data + rr->u.tlsa.off };
			char hex[2 * 32 + 4];
			unsigned n = tl.len > 32 ? 32 : tl.len;
			for (unsigned k = 0; k < n; k++)
				snprintf(hex + 2 * k, 3, "%02x", tl.data[k]);
			if (tl.len > 32)
				snprintf(hex + 64, 4, "...");
			probe_line("%s TLSA %u %u %u %s (%s, %s)", a->qname, tl.usage, tl.selector, tl.mtype,
				   hex, sec, dane_tlsa_usable(&tl, ob.cfg->mx.digests) ? "usable" : "unusable");
		}
	}
}

/* The plan points its usable TLSA set into the answer, which lives only
 * during the callback: keep a copy of just those records. */
static void tlsa_keep(struct osess *s)
{
	struct dane_tlsa_set *u = &s->plan.tlsa_usable;
	size_t off = 0;
	uint16_t k = 0, dropped = 0;
	for (uint16_t i = 0; i < u->count; i++) {
		struct dane_tlsa t = u->rr[i];
		if (t.len > sizeof(s->tlsa_data) - off) {
			dropped++;
			continue;
		}
		memcpy(s->tlsa_data + off, t.data, t.len);
		t.data = s->tlsa_data + off;
		off += t.len;
		u->rr[k++] = t;
	}
	u->count = k;
	if (dropped) {
		u->overflow = (uint16_t)(u->overflow + dropped);
		LOG_WARN("out: id=%08lX %u TLSA record(s) over %u bytes not kept: they cannot match",
			 (unsigned long)s->id, (unsigned)dropped, (unsigned)sizeof(s->tlsa_data));
	}
}

/* The group ends without a (further) connection: the plan's verdict. */
static void group_plan_done(struct osess *s, const struct mx_done *d)
{
	s->plan_on = false;
	if (s->probe) {
		probe_line("done: %s %s %s", mx_done_name(d->kind), d->status, d->reason);
		sess_free(s);
		return;
	}
	bool dane = s->plan.level == POLICY_DANE || s->plan.level == POLICY_DANE_ONLY;
	bool verify = s->plan.level == POLICY_VERIFY;
	bool sec = d->kind == MX_DEFERRED && strncmp(d->status, "4.7.", 4) == 0;
	bool held = sec && dane;
	static char reason[MX_REASON_SIZE + 8];
	snprintf(reason, sizeof(reason), "%s%s", held ? "dane: " : sec && verify ? "verify: " : "",
		 d->reason);
	bool tried_conn = s->relay[0] != '\0';
	if (held)
		ob.st.held_dane++;
	if (sec)
		s->tls_text[0] = '\0';
	/* The class the last connection reached: a failure after an
	 * authenticated handshake (a timeout, a lost connection) names it;
	 * a security deferral never reached one. */
	const char *cls = !sec && s->cls_tls ? class_word((enum dane_class)s->cls) : "none";
	for (unsigned g = 0; g < s->ng; g++) {
		if (s->gres[g] == R_DONE)
			continue;
		if (d->kind == MX_BOUNCED)
			record(s, g, RES_FAILED, d->status, reason, cls, tried_conn);
		else
			record(s, g, RES_DEFERRED, d->kind == MX_DEFERRED ? d->status : "4.3.0", reason,
			       cls, tried_conn);
	}
	s->ng = 0;
	job_next_group(s);
}

static void dns_cb(void *ctx, const struct dns_answer *ans)
{
	struct osess *s = ctx;
	s->dns_handle = -1;
	if (s->state != S_PLAN || !s->plan_on)
		return;
	if (s->probe)
		probe_answer(ans);
	int err = mx_plan_feed(&s->plan, ans);
	if (err) {
		LOG_ERR("out: id=%08lX answer for %s not taken by the plan (%d)", (unsigned long)s->id,
			ans->qname, err);
		struct mx_done d = { MX_DEFERRED, "4.4.3", "local error: DNS answer not usable" };
		group_plan_done(s, &d);
		return;
	}
	if (ans->qtype == DNS_T_TLSA)
		tlsa_keep(s);
	plan_run(s);
}

static void plan_run(struct osess *s)
{
	struct mx_step st;
	switch (mx_plan_next(&s->plan, &st)) {
	case MX_STEP_LOOKUP: {
		s->state = S_PLAN;
		if (s->dns_handle >= 0)
			return;
		int h = resolve(s, st.u.lookup.name, st.u.lookup.type, dns_cb);
		if (h == DNS_ENOSPC) {
			s->dns_again = true; /* all resolver slots busy: next tick */
			return;
		}
		if (h < 0) {
			static char why[MX_REASON_SIZE];
			snprintf(why, sizeof(why), "cannot look up %s %s (%d)", st.u.lookup.name,
				 type_word(st.u.lookup.type), h);
			struct mx_done d = { MX_DEFERRED, "4.4.3", why };
			group_plan_done(s, &d);
			return;
		}
		s->dns_again = false;
		s->dns_handle = h;
		return;
	}
	case MX_STEP_CONNECT:
		s->conn = st.u.connect;
		conn_start(s);
		return;
	case MX_STEP_DONE:
		group_plan_done(s, &st.u.done);
		return;
	}
}

/* ---- jobs: a message, group by group -------------------------------------------------- */

static const char *dest_of(const char *rcpt)
{
	return ob.cfg->smarthost ? ob.cfg->relay.host : domain_of(rcpt);
}

static bool conn_idle(const struct osess *s)
{
	return s->sock >= 0 && s->state == S_SMTP && s->conn_dest[0] &&
	       smtp_client_want(&s->cli) == SMTP_CLIENT_WANT_MESSAGE;
}

/* Ends an idle connection politely (no results depend on it). */
static void conn_quit_close(struct osess *s)
{
	smtp_client_quit(&s->cli);
	(void)sess_flush(s);
	conn_close(s);
}

static void plan_start(struct osess *s)
{
	const struct outbound_config *c = ob.cfg;
	struct policy_nexthop nh;
	s->relay[0] = '\0';
	s->tls_text[0] = '\0';
	s->cls_known = s->cls_tls = false;
	memset(&s->conn, 0, sizeof(s->conn));
	if (c->smarthost) {
		nh = c->relay;
	} else if (policy_nexthop_parse(s->dest, &nh) != 0) {
		static char why[POLICY_NAME_SIZE + 48];
		snprintf(why, sizeof(why), "bad destination domain '%s'", s->dest);
		struct mx_done d = { MX_BOUNCED, "5.1.2", why };
		group_plan_done(s, &d);
		return;
	}
	enum policy_level lvl = policy_lookup(&c->policy, &nh);
	if (mx_plan_start(&s->plan, &c->mx, &nh, lvl, rnd32()) != 0) {
		struct mx_done d = { MX_DEFERRED, "4.3.0", "local error: delivery plan" };
		group_plan_done(s, &d);
		return;
	}
	s->plan_on = true;
	plan_run(s);
}

static void bad_rcpt(struct osess *s, unsigned idx, const char *rcpt)
{
	LOG_INFO("out: id=%08lX to=%s relay=none tls=none/- class=none result=bounced dsn=5.1.3 "
		 "reason=bad recipient address: no domain",
		 (unsigned long)s->id, rcpt);
	fail_add(s, idx, DSN_FAILED, "5.1.3", "bad recipient address: no domain");
	s->n_bounced++;
	ob.st.bounced++;
}

static bool busy(void *ctx, uint32_t id)
{
	(void)ctx;
	for (int i = 0; i < OUTBOUND_SESSIONS; i++)
		if (ob.s[i].state != S_FREE && ob.s[i].have_msg && ob.s[i].id == id)
			return true;
	return false;
}

/* For connection reuse: skip messages with no pending recipient for the
 * open connection's destination. */
#define REUSE_LOOK_MAX 16 /* due messages whose recipients are read per search */

struct reuse_ctx {
	struct osess *s;
	unsigned looked;
};

static bool skip_for_reuse(void *ctx, uint32_t id)
{
	struct reuse_ctx *rc = ctx;
	struct osess *s = rc->s;
	if (busy(NULL, id))
		return true;
	if (ob.cfg->smarthost)
		return false;
	/* bounded flash reads: a long queue for other domains is not scanned */
	if (rc->looked >= REUSE_LOOK_MAX || queue_msg_info(ob.q, id, &ob.info) != 0)
		return true;
	rc->looked++;
	char r[QUEUE_ADDR_MAX + 1];
	for (unsigned i = 0; i < ob.info.nrcpt; i++)
		if (ob.info.rcpt_state[i] == QUEUE_RCPT_PENDING &&
		    queue_msg_rcpt(ob.q, id, i, r, sizeof(r)) == 0 && name_eq(domain_of(r), s->conn_dest))
			return false;
	return true;
}

/* For connection reuse after `queue flush`: the flushed messages are not
 * due (queue_next_due_skip would pass them over), so the flush list is
 * searched first; one for this destination is taken out of it. */
static bool flush_take_for_reuse(struct reuse_ctx *rc, uint32_t *id)
{
	for (unsigned i = ob.nflush; i-- > 0;) {
		uint32_t f = ob.flush[i];
		if (skip_for_reuse(rc, f) || queue_msg_info(ob.q, f, &ob.info) != 0 || ob.info.held ||
		    !ob.info.npending)
			continue;
		memmove(&ob.flush[i], &ob.flush[i + 1], (ob.nflush - 1 - i) * sizeof(ob.flush[0]));
		ob.nflush--;
		*id = f;
		return true;
	}
	return false;
}

/* ---- per-destination concurrency (smtp_destination_concurrency) ---- */

#define DEST_LOOK_MAX 128    /* due messages whose recipients dispatch reads per scan */
#define DEST_RESCAN_MS 500   /* then waits this long before scanning again */
#define DEST_FLOWING_MS 10000 /* a destination answered this recently: delivering */
#define DEST_YIELD_LOOK 32   /* messages read to see whether others wait */

static unsigned dest_limit(void)
{
	unsigned l = ob.cfg->dest_concurrency ? ob.cfg->dest_concurrency : OUTBOUND_DEST_CONCURRENCY;
	return l ? l : 1;
}

/* Whether sessions other than self hold the limit for destination d
 * (never in smarthost mode: there is one destination). */
static bool dest_full(const struct osess *self, const char *d)
{
	if (ob.cfg->smarthost || !d[0])
		return false;
	unsigned n = 0;
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		const struct osess *o = &ob.s[i];
		if (o != self && o->state != S_FREE && !o->probe && o->dest[0] && name_eq(o->dest, d))
			n++;
	}
	return n >= dest_limit();
}

/* Whether destination d is delivering: one of its sessions recorded a
 * server answer within DEST_FLOWING_MS. */
static bool dest_flowing(const char *d)
{
	uint64_t now = port_now_ms();
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		const struct osess *o = &ob.s[i];
		if (o->state != S_FREE && !o->probe && o->dest[0] && name_eq(o->dest, d) &&
		    o->progress_ms && now - o->progress_ms < DEST_FLOWING_MS)
			return true;
	}
	return false;
}

/* Whether destination d may not have another session: at its limit,
 * or (relaxed: when no other destination has due mail) at its limit and
 * not delivering. */
static bool dest_closed(const struct osess *self, const char *d, bool relaxed)
{
	return dest_full(self, d) && (!relaxed || !dest_flowing(d));
}

/* Whether any destination is at its limit now (else no message is). */
static bool any_dest_full(void)
{
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		const struct osess *o = &ob.s[i];
		if (o->state != S_FREE && !o->probe && dest_full(NULL, o->dest))
			return true;
	}
	return false;
}

/* Whether every pending recipient of message id goes to a destination
 * at its limit (reads the message's recipients: ob.info is clobbered). */
static bool msg_blocked(uint32_t id, bool relaxed)
{
	if (queue_msg_info(ob.q, id, &ob.info) != 0)
		return false;
	char r[QUEUE_ADDR_MAX + 1];
	for (unsigned i = 0; i < ob.info.nrcpt; i++)
		if (ob.info.rcpt_state[i] == QUEUE_RCPT_PENDING &&
		    (queue_msg_rcpt(ob.q, id, i, r, sizeof(r)) != 0 ||
		     !dest_closed(NULL, dest_of(r), relaxed)))
			return false;
	return true;
}

struct dispatch_ctx {
	bool full;	/* some destination is at its limit */
	bool relaxed;	/* second pass: flowing destinations may exceed it */
	unsigned looked, max;
	bool blocked;	/* a due message was passed over for that */
};

static bool skip_for_dispatch(void *ctx, uint32_t id)
{
	struct dispatch_ctx *dc = ctx;
	if (busy(NULL, id))
		return true;
	if (!dc->full)
		return false;
	if (dc->looked++ >= dc->max || msg_blocked(id, dc->relaxed)) {
		dc->blocked = true;
		return true;
	}
	return false;
}

/* A message for the dispatcher: from the `queue flush` list, else the
 * earliest due one, passing over those every recipient of which goes to
 * a destination closed to another session. */
static bool pick(bool full, bool relaxed, uint32_t *id, bool *blocked)
{
	for (unsigned k = ob.nflush; k-- > 0;) {
		uint32_t f = ob.flush[k];
		bool ok = !busy(NULL, f) && queue_msg_info(ob.q, f, &ob.info) == 0 && !ob.info.held &&
			  ob.info.npending;
		if (ok && full && msg_blocked(f, relaxed)) {
			*blocked = true;
			continue; /* stays flushed until its destination has room */
		}
		memmove(&ob.flush[k], &ob.flush[k + 1], (ob.nflush - 1 - k) * sizeof(ob.flush[0]));
		ob.nflush--;
		if (ok) {
			*id = f;
			return true;
		}
	}
	struct dispatch_ctx dc = { full, relaxed, 0, DEST_LOOK_MAX, false };
	bool got = queue_next_due_skip(ob.q, wall(), skip_for_dispatch, &dc, id) == 0;
	*blocked = *blocked || dc.blocked;
	return got;
}

/* Whether message id has a pending recipient for a destination other
 * than d that may have a session (reads its recipients). */
static bool msg_for_other(uint32_t id, const char *d)
{
	if (busy(NULL, id) || queue_msg_info(ob.q, id, &ob.info) != 0 || ob.info.held)
		return false;
	char r[QUEUE_ADDR_MAX + 1];
	for (unsigned i = 0; i < ob.info.nrcpt; i++)
		if (ob.info.rcpt_state[i] == QUEUE_RCPT_PENDING &&
		    queue_msg_rcpt(ob.q, id, i, r, sizeof(r)) == 0 && !name_eq(dest_of(r), d) &&
		    !dest_full(NULL, dest_of(r)))
			return true;
	return false;
}

struct other_ctx {
	const char *d;
	unsigned looked;
};

static bool skip_not_other(void *ctx, uint32_t id)
{
	struct other_ctx *oc = ctx;
	return oc->looked++ >= DEST_YIELD_LOOK || !msg_for_other(id, oc->d);
}

/* Whether mail for a destination other than d waits (bounded look at the
 * flush list and the due messages): a session over d's limit then ends
 * after its message instead of taking d's next one. */
static bool other_due(const char *d)
{
	unsigned looked = 0;
	for (unsigned k = ob.nflush; k-- > 0 && looked < DEST_YIELD_LOOK; looked++)
		if (msg_for_other(ob.flush[k], d))
			return true;
	struct other_ctx oc = { d, 0 };
	uint32_t id;
	return queue_next_due_skip(ob.q, wall(), skip_not_other, &oc, &id) == 0;
}

static void job_start(struct osess *s, uint32_t id);

static void job_finish(struct osess *s)
{
	fail_flush(s);
	if (queue_msg_info(ob.q, s->id, &ob.info) == QUEUE_ENOENT)
		LOG_INFO("out: id=%08lX done delivered=%u bounced=%u", (unsigned long)s->id,
			 (unsigned)s->n_delivered, (unsigned)s->n_bounced);
	s->have_msg = false;
	/* over its destination's limit (allowed while nothing else was due):
	 * make room for another destination's mail */
	if (conn_idle(s) && dest_full(s, s->conn_dest) && other_due(s->conn_dest)) {
		smtp_client_quit(&s->cli);
		return;
	}
	if (conn_idle(s)) {
		uint32_t id;
		struct reuse_ctx rc = { s, 0 };
		if (flush_take_for_reuse(&rc, &id) ||
		    queue_next_due_skip(ob.q, wall(), skip_for_reuse, &rc, &id) == 0) {
			ob.st.reused++;
			job_start(s, id);
			return;
		}
		smtp_client_quit(&s->cli); /* sess_run sends it; conn_end frees */
		return;
	}
	sess_free(s);
}

static void job_next_group(struct osess *s)
{
	fail_flush(s);
	if (queue_msg_info(ob.q, s->id, &ob.info) != 0) {
		job_finish(s);
		return;
	}
	bool reuse = conn_idle(s);
	char r[QUEUE_ADDR_MAX + 1];
	int first = -1;
	for (int pass = reuse ? 0 : 1; pass < 2 && first < 0; pass++)
		for (unsigned i = 0; i < ob.info.nrcpt && first < 0; i++) {
			if (ob.info.rcpt_state[i] != QUEUE_RCPT_PENDING || tried(s, i))
				continue;
			if (queue_msg_rcpt(ob.q, s->id, i, r, sizeof(r)) != 0)
				continue;
			const char *d = dest_of(r);
			if (!d[0]) {
				set_tried(s, i);
				bad_rcpt(s, i, r);
				continue;
			}
			if (pass == 0 && !name_eq(d, s->conn_dest))
				continue;
			if (dest_closed(s, d, true))
				continue; /* left pending: a later attempt takes it */
			first = (int)i;
			if (!name_eq(s->dest, d))
				s->progress_ms = 0; /* answers so far were another's */
			snprintf(s->dest, sizeof(s->dest), "%s", d);
		}
	if (first < 0) {
		job_finish(s);
		return;
	}
	s->ng = 0;
	size_t used = 0;
	for (unsigned i = (unsigned)first; i < ob.info.nrcpt && s->ng < OUTBOUND_GROUP_MAX; i++) {
		if (ob.info.rcpt_state[i] != QUEUE_RCPT_PENDING || tried(s, i))
			continue;
		if (queue_msg_rcpt(ob.q, s->id, i, r, sizeof(r)) != 0 || !name_eq(dest_of(r), s->dest))
			continue;
		size_t n = strlen(r) + 1;
		if (used + n > sizeof(s->rbuf))
			break; /* the rest waits for the next round */
		memcpy(s->rbuf + used, r, n);
		s->grcpt[s->ng] = s->rbuf + used;
		s->gidx[s->ng] = (uint8_t)i;
		s->gres[s->ng] = R_OPEN;
		s->ng++;
		used += n;
		set_tried(s, i);
	}
	if (reuse && name_eq(s->dest, s->conn_dest)) {
		msg_hand(s); /* the caller's sess_run goes on */
		return;
	}
	if (s->sock >= 0)
		conn_quit_close(s);
	plan_start(s);
}

static void job_start(struct osess *s, uint32_t id)
{
	if (queue_msg_info(ob.q, id, &ob.info) != 0) {
		if (conn_idle(s))
			smtp_client_quit(&s->cli);
		else
			sess_free(s);
		return;
	}
	s->id = id;
	snprintf(s->sender, sizeof(s->sender), "%s", ob.info.sender);
	s->arrival = ob.info.arrival;
	s->due = ob.info.next_attempt;
	s->attempts = ob.info.attempts;
	s->nrcpt = ob.info.nrcpt;
	s->size = ob.info.size;
	s->n_delivered = s->n_bounced = 0;
	for (unsigned i = 0; i < ob.info.nrcpt; i++) {
		if (ob.info.rcpt_state[i] == QUEUE_RCPT_DELIVERED)
			s->n_delivered++;
		else if (ob.info.rcpt_state[i] == QUEUE_RCPT_FAILED)
			s->n_bounced++;
	}
	memset(s->tried, 0, sizeof(s->tried));
	s->nfail = 0;
	s->have_msg = true;
	ob.st.attempts++;
	job_next_group(s);
}

/* ---- the driver ----------------------------------------------------------------------- */

static void sess_take(struct osess *s)
{
	s->state = S_PLAN;
	s->probe = false;
	s->probe_done = false;
	s->sock = -1;
	s->dns_handle = -1;
	s->dns_again = false;
	s->have_msg = false;
	s->plan_on = false;
	s->ng = 0;
	s->nfail = 0;
	s->conn_dest[0] = '\0';
	s->dest[0] = '\0';
	s->progress_ms = 0;
	ob.st.active++;
}

static void probe_start(struct osess *s, int i)
{
	sess_take(s);
	s->probe = true;
	s->id = 0;
	ob.pr.started = true;
	ob.pr.sess = i;
	struct policy_nexthop nh;
	if (policy_nexthop_parse(ob.pr.domain, &nh) != 0) {
		probe_line("done: '%s' is not a domain or next hop", ob.pr.domain);
		sess_free(s);
		return;
	}
	enum policy_level lvl = policy_lookup(&ob.cfg->policy, &nh);
	probe_line("%s: policy %s, port %u", nh.host, policy_level_name(lvl), (unsigned)nh.port);
	s->relay[0] = '\0';
	if (mx_plan_start(&s->plan, &ob.cfg->mx, &nh, lvl, rnd32()) != 0) {
		probe_line("done: cannot plan a delivery to %s", nh.host);
		sess_free(s);
		return;
	}
	s->plan_on = true;
	plan_run(s);
}

static void dispatch(void)
{
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		struct osess *s = &ob.s[i];
		if (s->state != S_FREE)
			continue;
		if (ob.pr.active && !ob.pr.started) {
			probe_start(s, i);
			continue;
		}
		uint32_t id = 0;
		bool full = any_dest_full(), blocked = false;
		uint64_t now = port_now_ms();
		if (full && now < ob.scan_after)
			return;
		/* first mail for destinations below their limit; then, if there
		 * is none, a destination at its limit that is delivering well
		 * may take the free session too (a stalled one may not) */
		if (!pick(full, false, &id, &blocked) && !(full && pick(full, true, &id, &blocked))) {
			/* only mail for closed destinations: look again a little
			 * later (or when a session frees or a destination answers) */
			ob.scan_after = blocked ? now + DEST_RESCAN_MS : 0;
			return;
		}
		sess_take(s);
		job_start(s, id);
	}
}

int outbound_init(const struct outbound_config *cfg, struct queue *q, struct tls_cred *client_cred)
{
	if (!cfg || !q)
		return OUTBOUND_EINVAL;
	memset(&ob, 0, sizeof(ob));
	ob.cfg = cfg;
	ob.q = q;
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		ob.s[i].state = S_FREE;
		ob.s[i].sock = -1;
		ob.s[i].dns_handle = -1;
	}
	ob.pr.sess = -1;
	ob.tls_ok = tls_ready() && tls_client_config(&ob.tls_conf, client_cred) == 0;
	if (ob.tls_ok)
		dane_conf_client(&ob.tls_conf);
	else
		LOG_ERR("out: no TLS client: only clear-text delivery where policy allows it");
	ob.inited = true;
	LOG_INFO("out: %d delivery session(s), default policy %s, %s", OUTBOUND_SESSIONS,
		 policy_level_name((enum policy_level)cfg->policy.dflt),
		 cfg->smarthost ? "via smarthost" : "to MX hosts");
	return 0;
}

void outbound_tick(uint64_t now_ms)
{
	if (!ob.inited)
		return;
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		struct osess *s = &ob.s[i];
		switch ((enum sstate)s->state) {
		case S_FREE:
			break;
		case S_PLAN:
			if (s->dns_again && s->plan_on) {
				s->dns_again = false;
				plan_run(s);
			}
			break;
		case S_CONNECT:
			if (now_ms >= s->deadline)
				host_fail(s, MX_RESULT_CONN_FAILED, "connection timed out");
			break;
		case S_TLS:
			if (now_ms >= s->deadline)
				tls_failed(s, "TLS handshake timed out");
			else if (!s->tls_setup)
				sess_run(s); /* a TLS slot may be free now */
			break;
		case S_SMTP:
			smtp_client_tick(&s->cli, now_ms);
			if (smtp_client_want(&s->cli) == SMTP_CLIENT_WANT_CLOSE)
				sess_run(s);
			break;
		}
	}
	dispatch();
}

uint32_t outbound_next_ms(uint64_t now_ms)
{
	uint32_t next = 1000;
	if (ob.scan_after > now_ms && ob.scan_after - now_ms < next)
		next = (uint32_t)(ob.scan_after - now_ms);
	for (int i = 0; i < OUTBOUND_SESSIONS; i++) {
		const struct osess *s = &ob.s[i];
		if (s->state == S_PLAN && s->dns_again)
			return 0;
		if (s->state == S_CONNECT || s->state == S_TLS) {
			uint64_t d = s->deadline > now_ms ? s->deadline - now_ms : 0;
			if (d < next)
				next = (uint32_t)d;
		}
	}
	return next;
}

static void flush_collect(void *ctx, uint32_t id)
{
	(void)ctx;
	if (ob.nflush < OUTBOUND_FLUSH_MAX)
		ob.flush[ob.nflush++] = id;
}

int outbound_flush(void)
{
	if (!ob.inited)
		return OUTBOUND_ENOTSUP;
	ob.nflush = 0;
	queue_list(ob.q, flush_collect, NULL);
	/* taken from the end: oldest ids first */
	for (unsigned i = 0; i < ob.nflush / 2; i++) {
		uint32_t t = ob.flush[i];
		ob.flush[i] = ob.flush[ob.nflush - 1 - i];
		ob.flush[ob.nflush - 1 - i] = t;
	}
	LOG_INFO("out: queue flush: %u message(s) to try now", ob.nflush);
	return (int)ob.nflush;
}

int outbound_probe(const char *domain, void (*line)(void *ctx, const char *s), void *ctx)
{
	if (!ob.inited)
		return OUTBOUND_ENOTSUP;
	if (ob.pr.active)
		return OUTBOUND_EBUSY;
	if (!domain || !domain[0] || strlen(domain) >= sizeof(ob.pr.domain) || !line)
		return OUTBOUND_EINVAL;
	snprintf(ob.pr.domain, sizeof(ob.pr.domain), "%s", domain);
	ob.pr.line = line;
	ob.pr.ctx = ctx;
	ob.pr.active = true;
	ob.pr.started = false;
	ob.pr.sess = -1;
	return 0;
}

void outbound_probe_cancel(void)
{
	if (!ob.pr.active)
		return;
	probe_line("done: cancelled");
	if (ob.pr.started && ob.pr.sess >= 0 && ob.s[ob.pr.sess].probe)
		sess_free(&ob.s[ob.pr.sess]);
	probe_end();
}

void outbound_stats(struct outbound_stats *st)
{
	*st = ob.st;
}

size_t outbound_status(char *buf, size_t size)
{
	if (!size)
		return 0;
	int n = snprintf(buf, size,
			 "%lu of %d sessions busy; %lu attempts, %lu connections (%lu reused); "
			 "%lu delivered, %lu deferred (%lu held for DANE), %lu bounced, %lu DSNs%s",
			 (unsigned long)ob.st.active, OUTBOUND_SESSIONS, (unsigned long)ob.st.attempts,
			 (unsigned long)ob.st.connections, (unsigned long)ob.st.reused,
			 (unsigned long)ob.st.delivered, (unsigned long)ob.st.deferred,
			 (unsigned long)ob.st.held_dane, (unsigned long)ob.st.bounced,
			 (unsigned long)ob.st.dsns, ob.pr.active ? "; a probe is running" : "");
	if (n < 0)
		buf[0] = '\0';
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}
