/* inbound — see inbound.h. Each session: socket -> (TLS) -> engine ->
 * hooks -> queue writer; engine output -> (TLS) -> socket. Everything
 * runs from port_poll() callbacks. A finished message is committed
 * without a sync and its session's output (the 250) held; inbound_tick()
 * syncs once for every session that finished one in this round, then
 * releases them (group commit: one fsync per round, not per message). */
#include "relay/inbound.h"

#include "config/config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "mbedtls/constant_time.h"
#include "port.h"
#include "relay/authlimit.h"

struct sess {
	int sock; /* -1: free */
	struct smtp_server eng;
	struct tls_conn tls;
	bool tls_on;	  /* records go through tls */
	bool handshaking; /* STARTTLS handshake in progress */
	uint64_t hs_deadline; /* monotonic ms: a stalled handshake is dropped */
	char peer_text[PORT_ADDR_TEXT_MAX];
	struct port_addr peer; /* for the AUTH failure limit */

	/* the message being received: the envelope goes straight into the
	 * queue writer (queue_msg_open / add_rcpt); only the sender's first
	 * INBOUND_LOG_FROM - 1 bytes are kept, for the "queued" log line a
	 * postmaster (and the smuggling tests) read */
	struct queue_writer w;
	char from[INBOUND_LOG_FROM];
	bool w_open;
	bool sync_wait; /* committed, not yet synced: output (the 250) held */

	/* input read but not yet consumed by the engine */
	uint8_t in[INBOUND_IN_BUF];
	size_t in_off, in_len;
};

static struct {
	const struct inbound_config *cfg;
	struct queue *q;
	bool tls_ok;
	struct sess sess[INBOUND_MAX_SESSIONS];
	unsigned max_sessions; /* smtp.max_sessions, at most INBOUND_MAX_SESSIONS */
	bool sync_pending;     /* some session waits for queue_sync() */
	struct inbound_stats st;
	int listeners[2];
	struct authlimit authlimit; /* failed AUTH per client address */
} ib;

/* ---- configuration text --------------------------------------------------- */
static const char *next_token(const char *p, char *tok, size_t size)
{
	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	size_t n = 0;
	while (*p && *p != ' ' && *p != ',' && *p != '\t') {
		if (n + 1 < size)
			tok[n++] = *p;
		p++;
	}
	tok[n] = '\0';
	return p;
}

int inbound_parse_relay_nets(struct inbound_config *cfg, const char *text)
{
	char tok[64];
	size_t n = 0;
	for (const char *p = next_token(text, tok, sizeof(tok)); tok[0];
	     p = next_token(p, tok, sizeof(tok))) {
		if (n == INBOUND_RELAY_NETS || smtp_cidr_parse(tok, &cfg->relay_nets[n]) != 0)
			return -(int)(n + 1);
		n++;
	}
	cfg->smtp.relay_nets = cfg->relay_nets;
	cfg->smtp.relay_nets_count = n;
	return 0;
}

int inbound_parse_users(struct inbound_config *cfg, const char *text)
{
	char tok[2 * SMTP_AUTH_FIELD_MAX + 2];
	unsigned n = 0;
	for (const char *p = next_token(text, tok, sizeof(tok)); tok[0];
	     p = next_token(p, tok, sizeof(tok))) {
		char *colon = strchr(tok, ':');
		if (n == INBOUND_USERS || !colon || colon == tok || strlen(colon + 1) == 0 ||
		    (size_t)(colon - tok) > SMTP_AUTH_FIELD_MAX || strlen(colon + 1) > SMTP_AUTH_FIELD_MAX)
			return -(int)(n + 1);
		*colon = '\0';
		strcpy(cfg->users[n].name, tok);
		strcpy(cfg->users[n].pass, colon + 1);
		n++;
	}
	cfg->nusers = n;
	return 0;
}

/* ---- engine hooks -------------------------------------------------------- */
static int map_queue_err(int err)
{
	if (err == 0)
		return 0;
	if (err == QUEUE_EFULL || err == QUEUE_ETOOBIG)
		return SMTP_EFULL;
	return SMTP_EIO;
}

static int hk_check_size(void *ctx, uint64_t size)
{
	(void)ctx;
	uint32_t hint = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	return map_queue_err(queue_can_accept(ib.q, hint, 0));
}

static int hk_msg_begin(void *ctx, const char *sender, unsigned flags)
{
	struct sess *s = ctx;
	(void)flags;
	int err = queue_msg_open(ib.q, &s->w, sender, 0, 0, (uint64_t)port_wall_time());
	s->w_open = err == 0;
	snprintf(s->from, sizeof(s->from), "%s", sender);
	return map_queue_err(err);
}

static int hk_msg_rcpt(void *ctx, const char *rcpt)
{
	struct sess *s = ctx;
	return map_queue_err(queue_msg_add_rcpt(&s->w, rcpt));
}

static int hk_msg_write(void *ctx, const uint8_t *data, size_t len)
{
	struct sess *s = ctx;
	return map_queue_err(queue_msg_write(&s->w, data, len));
}

/* Commits without a sync: the engine queues its 250, which this session
 * holds back until inbound_tick() has synced (sess_run checks sync_wait). */
static int hk_msg_commit(void *ctx, char *id, size_t id_size)
{
	struct sess *s = ctx;
	uint32_t qid;
	unsigned nrcpt = s->w.nrcpt;
	int err = queue_msg_commit_nosync(&s->w, &qid);
	s->w_open = false;
	if (err) {
		LOG_ERR("smtp: %s: queue commit failed (%d)", s->peer_text, err);
		return map_queue_err(err);
	}
	s->sync_wait = true;
	ib.sync_pending = true;
	snprintf(id, id_size, "%08lX", (unsigned long)qid);
	ib.st.accepted_msgs++;
	LOG_INFO("smtp: %s: queued %s from=<%s%s>, %u recipient(s)", s->peer_text, id, s->from,
		 strlen(s->from) == sizeof(s->from) - 1 ? "..." : "", nrcpt);
	return 0;
}

static void hk_msg_abort(void *ctx)
{
	struct sess *s = ctx;
	if (s->w_open)
		queue_msg_abort(&s->w);
	s->w_open = false;
}

/* Every user name is compared, always in full, and exactly one password
 * check runs (a dummy hash for an unknown user), so neither the time nor
 * the answer tells which part was wrong or how many users exist. Stored
 * passwords are PBKDF2 hashes (config_set), or plaintext provisioned
 * before hashing; config_hash_check() takes both. */
static int hk_auth_check(void *ctx, const char *user, const char *pass)
{
	struct sess *s = ctx;
	uint64_t now = port_now_ms();
	/* a locked-out client's guess is not even looked at (and costs no
	 * PBKDF2 time): password guessing slows down exponentially */
	if (authlimit_check(&ib.authlimit, &s->peer, now) > 0)
		return SMTP_ELIMIT;
	static const char dummy[] = "$pbkdf2-sha256$10000$00000000000000000000000000000000$"
				    "0000000000000000000000000000000000000000000000000000000000000000";
	char u[SMTP_AUTH_FIELD_MAX + 1] = { 0 };
	strncpy(u, user, SMTP_AUTH_FIELD_MAX);
	const char *stored = NULL;
	for (unsigned i = 0; i < ib.cfg->nusers; i++)
		if (mbedtls_ct_memcmp(u, ib.cfg->users[i].name, sizeof(u)) == 0)
			stored = ib.cfg->users[i].pass;
	int bad = config_hash_check(stored ? stored : dummy, pass);
	if (stored && bad == 0) {
		authlimit_succeeded(&ib.authlimit, &s->peer);
		return 0;
	}
	uint64_t lock = authlimit_failed(&ib.authlimit, &s->peer, now);
	if (lock)
		LOG_WARN("smtp: %s: AUTH locked out for %lu ms after repeated failures",
			 s->peer_text, (unsigned long)lock);
	return SMTP_EDENIED;
}

/* The engine's own account of refusals, AUTH results and limits. */
static void hk_log(void *ctx, enum port_log_level level, const char *text)
{
	struct sess *s = ctx;
	log_msg(level, "smtp: %s: %s", s->peer_text, text);
}

static const struct smtp_server_hooks hooks = {
	.log = hk_log,
	.check_size = hk_check_size,
	.msg_begin = hk_msg_begin,
	.msg_rcpt = hk_msg_rcpt,
	.msg_write = hk_msg_write,
	.msg_commit = hk_msg_commit,
	.msg_abort = hk_msg_abort,
	.auth_check = hk_auth_check,
};

/* ---- session I/O ------------------------------------------------------------ */
static void sess_free(struct sess *s)
{
	if (s->sock < 0)
		return;
	smtp_server_close(&s->eng); /* aborts an open message through the hook */
	s->sync_wait = false;	    /* committed, never acknowledged: no 250 was sent */
	if (s->tls_on || s->handshaking)
		tls_conn_free(&s->tls);
	port_close(s->sock);
	s->sock = -1;
	ib.st.active--;
}

/* Sends engine output; false if the connection is gone. */
static bool sess_flush(struct sess *s)
{
	const uint8_t *out;
	size_t n;
	while ((n = smtp_server_output(&s->eng, &out)) > 0) {
		long w = s->tls_on ? tls_conn_write(&s->tls, out, n) : port_tcp_send(s->sock, out, n);
		if (w == PORT_EAGAIN || w == TLS_WANT_WRITE || w == TLS_WANT_READ)
			return true; /* PORT_EV_WRITABLE resumes */
		if (w <= 0)
			return false;
		smtp_server_consumed_output(&s->eng, (size_t)w);
	}
	return true;
}

static long sess_read(struct sess *s, uint8_t *buf, size_t len)
{
	if (!s->tls_on)
		return port_tcp_recv(s->sock, buf, len);
	long n = tls_conn_read(&s->tls, buf, len);
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
		return PORT_EAGAIN;
	return n < 0 ? PORT_EIO : n;
}

static void sess_handshake(struct sess *s)
{
	int r = tls_conn_handshake(&s->tls);
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return;
	if (r != 0) {
		ib.st.tls_failures++;
		LOG_WARN("smtp: %s: TLS handshake failed: %s", s->peer_text, tls_strerror(r));
		sess_free(s); /* frees the TLS context too: still handshaking */
		return;
	}
	s->handshaking = false;
	s->tls_on = true;
	ib.st.tls_handshakes++;
	smtp_server_tls_started(&s->eng, tls_conn_version(&s->tls), tls_conn_cipher(&s->tls));
	LOG_INFO("smtp: %s: STARTTLS %s %s", s->peer_text, tls_conn_version(&s->tls),
		 tls_conn_cipher(&s->tls));
}

/* Feeds buffered input and acts on what the engine wants, until it needs
 * more input or the socket's next event. */
static void sess_run(struct sess *s)
{
	for (;;) {
		if (s->sync_wait)
			return; /* the 250 waits for inbound_tick's sync */
		if (s->handshaking) {
			sess_handshake(s);
			if (s->handshaking || s->sock < 0)
				return;
		}
		if (!sess_flush(s)) {
			sess_free(s);
			return;
		}
		enum smtp_want want = smtp_server_want(&s->eng);
		const uint8_t *pending;
		bool unsent = smtp_server_output(&s->eng, &pending) > 0;
		if (want == SMTP_WANT_CLOSE) {
			if (!unsent)
				sess_free(s);
			return;
		}
		if (want == SMTP_WANT_FLUSH || unsent)
			return; /* wait for WRITABLE */
		if (want == SMTP_WANT_STARTTLS) {
			/* Plaintext that came after STARTTLS must never be read
			 * as a command (RFC 3207 §4.2): drop it. */
			s->in_off = s->in_len = 0;
			int err = ib.tls_ok ? tls_conn_setup_server(&s->tls, s->sock) : -1;
			if (err) {
				LOG_ERR("smtp: %s: cannot start TLS (%d)", s->peer_text, err);
				sess_free(s);
				return;
			}
			s->handshaking = true;
			s->hs_deadline = port_now_ms() + INBOUND_HANDSHAKE_MS;
			continue;
		}
		/* SMTP_WANT_READ */
		if (s->in_off == s->in_len) {
			long n = sess_read(s, s->in, sizeof(s->in));
			if (n == PORT_EAGAIN)
				return;
			if (n <= 0) { /* EOF or error: the client went away */
				sess_free(s);
				return;
			}
			s->in_off = 0;
			s->in_len = (size_t)n;
		}
		smtp_server_tick(&s->eng, port_now_ms(), port_wall_time());
		size_t used = smtp_server_feed(&s->eng, s->in + s->in_off, s->in_len - s->in_off);
		s->in_off += used;
		if (used == 0 && smtp_server_want(&s->eng) == SMTP_WANT_READ &&
		    smtp_server_output(&s->eng, &pending) == 0) {
			LOG_ERR("smtp: %s: engine made no progress; closing", s->peer_text);
			sess_free(s);
			return;
		}
	}
}

static void sess_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct sess *s = ctx;
	(void)sock;
	(void)err;
	if (s->sock < 0)
		return;
	if (ev == PORT_EV_CLOSED) {
		sess_free(s);
		return;
	}
	sess_run(s);
}

static void listener_event(void *ctx, int lsock, enum port_event ev, int err)
{
	(void)ctx;
	(void)err;
	if (ev != PORT_EV_ACCEPT)
		return;
	for (;;) {
		struct sess *s = NULL;
		for (unsigned i = 0; i < ib.max_sessions && !s; i++)
			if (ib.sess[i].sock < 0)
				s = &ib.sess[i];
		struct port_addr peer;
		if (!s) {
			/* Over the limit: one short 421 and close, no session state.
			 * The reply is tiny, so a fresh socket's send buffer takes it. */
			int t = port_tcp_accept(lsock, &peer, sess_event, NULL);
			if (t < 0)
				return;
			static const char busy[] = "421 4.3.2 Too many connections, try again later\r\n";
			(void)port_tcp_send(t, busy, sizeof(busy) - 1);
			port_close(t);
			ib.st.refused_busy++;
			continue;
		}
		int sock = port_tcp_accept(lsock, &peer, sess_event, s);
		if (sock < 0)
			return;
		memset(s, 0, offsetof(struct sess, in));
		s->sock = sock;
		s->peer = peer;
		port_addr_format(&peer, true, s->peer_text, sizeof(s->peer_text));
		struct smtp_peer p = { .addr = peer };
		smtp_server_init(&s->eng, &ib.cfg->smtp, &hooks, s, &p, port_now_ms(), port_wall_time());
		ib.st.sessions++;
		ib.st.active++;
		smtp_server_start(&s->eng, ib.st.active - 1);
		LOG_INFO("smtp: connection from %s", s->peer_text);
		sess_run(s);
	}
}

int inbound_start(const struct inbound_config *cfg, struct queue *q, struct tls_cred *cred)
{
	ib.cfg = cfg;
	ib.q = q;
	ib.max_sessions = cfg->smtp.max_sessions && cfg->smtp.max_sessions < INBOUND_MAX_SESSIONS
				  ? cfg->smtp.max_sessions
				  : INBOUND_MAX_SESSIONS;
	authlimit_init(&ib.authlimit, NULL);
	for (int i = 0; i < INBOUND_MAX_SESSIONS; i++)
		ib.sess[i].sock = -1;
	/* STARTTLS presents the live credential (tls_live_*: switchable
	 * without a restart); cred only says TLS is on. */
	ib.tls_ok = cred && tls_live_ready();
	if (cred && !ib.tls_ok)
		LOG_ERR("smtp: no live TLS credential: STARTTLS not offered");
	int up = 0;
	struct port_addr a[2] = { { .family = PORT_AF_INET }, { .family = PORT_AF_INET6 } };
	int n = 2;
	if (cfg->listen.family != PORT_AF_NONE) {
		a[0] = cfg->listen;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		char at[PORT_ADDR_TEXT_MAX];
		a[i].port = cfg->port;
		port_addr_format(&a[i], true, at, sizeof(at));
		ib.listeners[i] = port_tcp_listen(&a[i], listener_event, NULL);
		if (ib.listeners[i] < 0) {
			LOG_WARN("smtp: cannot listen on %s: %s", at, port_strerror(ib.listeners[i]));
		} else {
			LOG_INFO("smtp: listening on %s", at);
			up++;
		}
	}
	return up ? 0 : PORT_EIO;
}

/* Group commit: one sync for every message committed since the last one,
 * then the held replies go out. A released session may finish another
 * pipelined message at once: loop until none waits. If the sync fails no
 * 250 may be sent: those sessions are closed (the client retries). */
static void sync_round(void)
{
	while (ib.sync_pending) {
		ib.sync_pending = false;
		int err = queue_sync(ib.q);
		if (err)
			LOG_ERR("smtp: queue sync failed (%d): closing without 250", err);
		for (int i = 0; i < INBOUND_MAX_SESSIONS; i++) {
			struct sess *s = &ib.sess[i];
			if (s->sock < 0 || !s->sync_wait)
				continue;
			s->sync_wait = false;
			if (err)
				sess_free(s);
			else
				sess_run(s);
		}
	}
}

void inbound_tick(uint64_t now_ms)
{
	sync_round();
	for (int i = 0; i < INBOUND_MAX_SESSIONS; i++) {
		struct sess *s = &ib.sess[i];
		if (s->sock < 0)
			continue;
		if (s->handshaking) {
			if (now_ms >= s->hs_deadline) {
				LOG_WARN("smtp: %s: TLS handshake timed out", s->peer_text);
				ib.st.tls_failures++;
				sess_free(s);
			}
			continue;
		}
		smtp_server_tick(&s->eng, now_ms, port_wall_time());
		if (smtp_server_want(&s->eng) == SMTP_WANT_CLOSE)
			sess_run(s); /* sends the 421 4.4.2 and closes */
	}
}

void inbound_stats(struct inbound_stats *st)
{
	*st = ib.st;
}
