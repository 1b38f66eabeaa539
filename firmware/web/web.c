/* web — see web.h. Each connection: socket -> (TLS) -> http parser ->
 * web_app_handle; then it waits for the shared buffer, and the response
 * goes out window by window: the head, then the body rendered again for
 * each window (skipping what was sent) as one HTTP chunk per window.
 * Like inbound.c, everything runs from port_poll() callbacks. */
#include "web/web.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "web/http.h"
#include "web/web_app.h"

enum phase {
	PH_READ, /* reading a request */
	PH_WAIT, /* a response is decided; waiting for the shared buffer */
	PH_SEND, /* owns the buffer: sending */
};
enum step { ST_HEAD, ST_BODY, ST_DONE };

struct conn {
	int sock; /* -1: free */
	bool https, tls_on, handshaking;
	bool tls_wait; /* HTTPS: waiting for a TLS gate slot (tls.h) */
	uint8_t phase, step;
	uint64_t deadline; /* monotonic ms: the connection is closed after */
	size_t body_done;  /* body bytes already framed and sent */
	size_t out_off, out_len; /* bytes of web.buf still to send (owner only) */
	struct tls_conn tls;
	struct port_addr peer; /* the client (the login limit counts per address) */
	struct web_resp resp;
	size_t in_off, in_len;
	uint8_t in[WEB_IN_BUF];
	struct http_parser hp;
};

#define CHUNK_HEAD 8 /* room for "xxxx\r\n" before a chunk's data */
#define CHUNK_TAIL 7 /* "\r\n" after it, "0\r\n\r\n" when it is the last */

static struct {
	const struct web_config *cfg;
	bool tls_ok;
	int owner; /* connection index holding buf, -1: free */
	struct conn conn[WEB_CONNS];
	char buf[WEB_RESP_BUF];
	struct web_app app;
	struct web_stats st;
	int listeners[4];
} web;

static bool on_https = true, on_http = false; /* listener contexts */

/* The TLSA page's PEM import (and the CA page's `ca add`) are the forms
 * larger than the parser's buffer: it borrows the import text buffer (TLS arena, one at a time)
 * until the request is handled. */
_Static_assert(HTTP_BIG_BODY_MAX <= TLS_IMPORT_TEXT_MAX, "import body fits the text buffer");
static char *big_body(void *ctx, const struct http_parser *p, size_t len)
{
	(void)len;
	/* only to a logged-in session: a stranger cannot hold it */
	if (p->method != HTTP_POST ||
	    (strcmp(p->path, "/tlsa") != 0 && strcmp(p->path, "/ca") != 0) ||
	    !web_app_session_valid(&web.app, p->sid))
		return NULL;
	return tls_import_text_claim(ctx);
}

static void conn_free(struct conn *c)
{
	if (c->sock < 0)
		return;
	if (c->tls_on || c->handshaking)
		tls_conn_free(&c->tls);
	else
		tls_conn_setup_cancel(&c->tls); /* gave up waiting for a TLS slot */
	tls_import_text_release(c);
	port_close(c->sock);
	c->sock = -1;
	if (web.owner == c - web.conn)
		web.owner = -1;
}

static long conn_read(struct conn *c, uint8_t *buf, size_t len)
{
	if (!c->tls_on)
		return port_tcp_recv(c->sock, buf, len);
	long n = tls_conn_read(&c->tls, buf, len);
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
		return PORT_EAGAIN;
	return n < 0 ? PORT_EIO : n;
}

static long conn_write(struct conn *c, const char *buf, size_t len)
{
	long w = c->tls_on ? tls_conn_write(&c->tls, buf, len) : port_tcp_send(c->sock, buf, len);
	if (w == TLS_WANT_READ || w == TLS_WANT_WRITE)
		return PORT_EAGAIN;
	return w;
}

/* The next piece of the response into web.buf; false when it is all out. */
static bool produce(struct conn *c)
{
	struct web_resp *r = &c->resp;
	bool body = !r->head_only && r->page != WEB_P_REDIRECT;
	if (c->step == ST_HEAD) {
		struct web_sink s = { .buf = web.buf, .size = sizeof(web.buf) };
		web_app_head(&web.app, r, c->https, r->page != WEB_P_REDIRECT, &s);
		c->out_off = 0;
		c->out_len = s.len;
		c->step = body ? ST_BODY : ST_DONE;
		return true;
	}
	if (c->step == ST_DONE)
		return false;
	struct web_sink s = { .buf = web.buf + CHUNK_HEAD,
			      .size = sizeof(web.buf) - CHUNK_HEAD - CHUNK_TAIL,
			      .skip = c->body_done };
	web_app_body(&web.app, r, &s);
	size_t n = s.len;
	if (n == 0) {
		memcpy(web.buf, "0\r\n\r\n", 5);
		c->out_off = 0;
		c->out_len = 5;
		c->step = ST_DONE;
		return true;
	}
	char h[CHUNK_HEAD + 1];
	int hl = snprintf(h, sizeof(h), "%lx\r\n", (unsigned long)n);
	memcpy(web.buf + CHUNK_HEAD - hl, h, (size_t)hl);
	c->out_off = CHUNK_HEAD - (size_t)hl;
	c->out_len = CHUNK_HEAD + n;
	memcpy(web.buf + c->out_len, "\r\n", 2);
	c->out_len += 2;
	c->body_done += n;
	if (s.pos <= c->body_done) { /* that was the end: close the body now */
		memcpy(web.buf + c->out_len, "0\r\n\r\n", 5);
		c->out_len += 5;
		c->step = ST_DONE;
	}
	return true;
}

static void conn_handshake(struct conn *c)
{
	int r = tls_conn_handshake(&c->tls);
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return;
	if (r != 0) {
		web.st.tls_failures++;
		LOG_DEBUG("web: TLS handshake failed: %s", tls_strerror(r));
		conn_free(c);
		return;
	}
	c->handshaking = false;
	c->tls_on = true;
}

/* HTTPS: the session, unless the TLS gate has no slot yet (the browser's
 * ClientHello then waits unread and web_tick tries again). */
static void conn_tls_start(struct conn *c)
{
	/* the operator's console gets the next free slot before SMTP (tls.h) */
	int err = tls_conn_setup_server_priority(&c->tls, c->sock);
	c->tls_wait = err == TLS_WANT_SLOT;
	if (c->tls_wait)
		return;
	if (err) {
		web.st.tls_failures++;
		conn_free(c);
		return;
	}
	c->handshaking = true;
}

static void conn_run(struct conn *c)
{
	int idx = (int)(c - web.conn);
	uint64_t now = port_now_ms();
	while (c->sock >= 0) {
		if (c->tls_wait) {
			conn_tls_start(c);
			if (c->tls_wait)
				return;
			continue;
		}
		if (c->handshaking) {
			conn_handshake(c);
			if (c->handshaking)
				return;
			continue;
		}
		if (c->phase == PH_READ) {
			if (c->in_off < c->in_len) {
				if (c->hp.head_bytes == 0 && c->hp.state == HTTP_P_LINE)
					c->deadline = now + WEB_REQUEST_MS;
				c->in_off += http_feed(&c->hp, c->in + c->in_off, c->in_len - c->in_off);
				if (c->hp.state == HTTP_P_DONE || c->hp.state == HTTP_P_ERROR) {
					web.st.requests++;
					if (c->hp.state == HTTP_P_ERROR) {
						web.st.errors++;
						LOG_DEBUG("web: %d %s", c->hp.status, c->hp.why);
					}
					web.app.peer = c->peer;
					web_app_handle(&web.app, &c->hp, c->https, &c->resp);
					tls_import_text_release(c); /* a lent import body */
					c->phase = PH_WAIT;
				}
				continue;
			}
			long n = conn_read(c, c->in, sizeof(c->in));
			if (n == PORT_EAGAIN)
				return;
			if (n <= 0) {
				conn_free(c);
				return;
			}
			c->in_off = 0;
			c->in_len = (size_t)n;
			continue;
		}
		if (c->phase == PH_WAIT) {
			if (web.owner >= 0 && web.owner != idx)
				return; /* the owner's release runs us */
			web.owner = idx;
			c->phase = PH_SEND;
			c->step = ST_HEAD;
			c->body_done = 0;
			c->out_off = c->out_len = 0;
			c->deadline = now + WEB_SEND_MS;
			continue;
		}
		/* PH_SEND */
		if (c->out_off < c->out_len) {
			long w = conn_write(c, web.buf + c->out_off, c->out_len - c->out_off);
			if (w == PORT_EAGAIN)
				return; /* PORT_EV_WRITABLE resumes */
			if (w <= 0) {
				conn_free(c);
				return;
			}
			c->out_off += (size_t)w;
			c->deadline = now + WEB_SEND_MS;
			continue;
		}
		if (produce(c))
			continue;
		web_app_sent(&web.app, &c->resp);
		web.owner = -1;
		if (c->resp.close) {
			conn_free(c);
			return;
		}
		http_parser_reset(&c->hp);
		c->phase = PH_READ;
		c->deadline = now + WEB_IDLE_MS;
	}
}

/* Connections waiting for the shared buffer get it, one after another. */
static void run_waiting(void)
{
	for (int i = 0; i < WEB_CONNS && web.owner < 0; i++)
		if (web.conn[i].sock >= 0 && web.conn[i].phase == PH_WAIT)
			conn_run(&web.conn[i]);
}

static void conn_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct conn *c = ctx;
	(void)sock;
	(void)err;
	if (c->sock < 0)
		return;
	if (ev == PORT_EV_CLOSED)
		conn_free(c);
	else
		conn_run(c);
	run_waiting();
}

static void listener_event(void *ctx, int lsock, enum port_event ev, int err)
{
	bool https = *(const bool *)ctx;
	(void)err;
	if (ev != PORT_EV_ACCEPT)
		return;
	for (;;) {
		struct conn *c = NULL;
		for (int i = 0; i < WEB_CONNS && !c; i++)
			if (web.conn[i].sock < 0)
				c = &web.conn[i];
		struct port_addr peer;
		if (!c) { /* over the limit: closed at once, no state kept */
			int t = port_tcp_accept(lsock, &peer, conn_event, NULL);
			if (t < 0)
				return;
			port_close(t);
			web.st.refused_busy++;
			continue;
		}
		int sock = port_tcp_accept(lsock, &peer, conn_event, c);
		if (sock < 0)
			return;
		memset(c, 0, offsetof(struct conn, in));
		c->hp.big_body = big_body;
		c->hp.big_ctx = c;
		http_parser_reset(&c->hp);
		c->peer = peer;
		c->sock = sock;
		c->https = https;
		c->deadline = port_now_ms() + WEB_REQUEST_MS;
		web.st.conns++;
		c->tls_wait = https; /* conn_run starts the session */
		conn_run(c);
	}
	run_waiting();
}

static int listen_on(uint16_t port, bool *https)
{
	struct port_addr a[2] = { { .family = PORT_AF_INET }, { .family = PORT_AF_INET6 } };
	int n = 2, up = 0;
	if (web.cfg->listen.family != PORT_AF_NONE) {
		a[0] = web.cfg->listen;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		char at[PORT_ADDR_TEXT_MAX];
		a[i].port = port;
		port_addr_format(&a[i], true, at, sizeof(at));
		int l = port_tcp_listen(&a[i], listener_event, https);
		if (l < 0) {
			LOG_WARN("web: cannot listen on %s: %s", at, port_strerror(l));
			continue;
		}
		for (int k = 0; k < 4; k++)
			if (web.listeners[k] < 0) {
				web.listeners[k] = l;
				break;
			}
		LOG_INFO("web: console on %s://%s/", *https ? "https" : "http", at);
		up++;
	}
	return up;
}

int web_start(const struct web_config *cfg)
{
	web.cfg = cfg;
	web.owner = -1;
	for (int i = 0; i < WEB_CONNS; i++)
		web.conn[i].sock = -1;
	for (int i = 0; i < 4; i++)
		web.listeners[i] = -1;
	struct web_app_config ac = {
		.env = cfg->env,
		.https = cfg->cred != NULL,
	};
	if (web_app_init(&web.app, &ac) != 0) {
		LOG_ERR("web: no randomness for session keys: web console off");
		return PORT_EIO;
	}
	/* HTTPS presents the live credential (tls_live_*), as STARTTLS does. */
	web.tls_ok = cfg->cred && tls_live_ready();
	int up = 0;
	if (web.tls_ok && cfg->port)
		up += listen_on(cfg->port, &on_https);
	else if (cfg->port)
		LOG_ERR("web: no TLS credentials: HTTPS console off");
	if (cfg->http_port) {
		LOG_WARN("web: plain HTTP console on port %u (web_http_port): passwords cross the "
			 "network in clear",
			 (unsigned)cfg->http_port);
		up += listen_on(cfg->http_port, &on_http);
	}
	return up ? 0 : PORT_EIO;
}

void web_tick(uint64_t now_ms)
{
	if (!web.cfg) /* never started (web_port and web_http_port 0): its zeroed
		       * connection table must not close socket 0 (the SMTP listener) */
		return;
	for (int i = 0; i < WEB_CONNS; i++) {
		struct conn *c = &web.conn[i];
		if (c->sock >= 0 && c->tls_wait && now_ms < c->deadline)
			conn_run(c); /* a TLS slot may be free now */
		if (c->sock < 0 || c->phase == PH_WAIT || now_ms < c->deadline)
			continue;
		LOG_DEBUG("web: connection timed out");
		conn_free(c);
	}
	run_waiting();
}

void web_stats(struct web_stats *st)
{
	*st = web.st;
}
