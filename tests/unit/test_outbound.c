/* test_outbound — the delivery driver end to end inside one process: a
 * real queue (RAM flash), a fake resolver (answers from a table, delivered
 * from the loop like the real one), and scripted SMTP peers on loopback
 * (host board sockets, STARTTLS with a generated certificate) reached
 * through smtp_delivery_redirect (127.0.1.1 -> 127.0.0.1:base+1). Covers:
 * DANE-verified delivery, DANE required without STARTTLS (held, never
 * clear), deferral with retry, bounce with a DSN, no DSN for the null
 * sender, connection reuse, redirect parsing, reply / handshake timeouts,
 * MX lookup failure, and the console probe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log/log.h"
#include "port.h"
#include "queue/queue.h"
#include "relay/outbound.h"
#include "relay/rollover.h"
#include "relay/trust.h"
#include "tls/tls.h"
#include "../../board/host/flashsim.h"
#include "data/dane/fixtures.h"

#define MAX_MSGS 64
#define MX_HOST "mx1.d1.test"
#define DOMAIN "d1.test"

/* ---- the queue ---------------------------------------------------------- */
static struct flashsim *fs;
static struct queue q;
static _Alignas(8) uint8_t qindex[64 * 1024];
static struct queue_writer w;

static void queue_setup(void)
{
	struct flashsim_config fc = { .size = 64 * 8192, .erase_size = 8192, .program_size = 4,
				      .name = "queue" };
	assert_int_equal(flashsim_open(&fs, &fc), 0);
	struct queue_config qc = { .flash = flashsim_flash(fs),
				   .max_msgs = MAX_MSGS,
				   .max_msg_size = 64 * 1024,
				   .index_buf = qindex,
				   .index_buf_size = sizeof(qindex) };
	assert_true(queue_index_size(qc.flash, MAX_MSGS) <= sizeof(qindex));
	assert_int_equal(queue_mount(&q, &qc), 0);
}

static uint64_t arrival_ago; /* seconds the next message is back-dated */

static uint32_t enqueue_n(const char *sender, const char *const *r, unsigned n)
{
	uint64_t now = (uint64_t)port_wall_time() - arrival_ago;
	assert_int_equal(queue_msg_begin(&q, &w, sender, r, n, 0, 0, now), 0);
	static const char body[] = "From: a@example.org\r\nSubject: test\r\n\r\nhello\r\n";
	assert_int_equal(queue_msg_write(&w, body, sizeof(body) - 1), 0);
	uint32_t id;
	assert_int_equal(queue_msg_commit(&w, &id), 0);
	return id;
}

static uint32_t enqueue(const char *sender, const char *rcpt)
{
	const char *r[1] = { rcpt };
	return enqueue_n(sender, r, 1);
}

static unsigned queue_count(void)
{
	struct queue_stats st;
	queue_stats(&q, &st);
	return st.msgs;
}

/* ---- the fake resolver ---------------------------------------------------- */
struct frr {
	const char *name;
	uint16_t type;
	enum dns_status st;
	uint16_t pref;	     /* MX */
	const char *target;  /* MX */
	uint8_t a[4];	     /* A */
	uint8_t tlsa[3];     /* TLSA usage selector mtype */
	const uint8_t *data; /* TLSA data */
	uint16_t len;
};
#define FRR_MAX 16
static struct frr table[FRR_MAX];
static unsigned ntable;

struct pending {
	bool used, cancelled;
	char name[DNS_NAME_TEXT_SIZE];
	uint16_t type;
	dns_done_cb cb;
	void *ctx;
};
static struct pending pend[8];
static struct dns_answer fans;
static unsigned lookups;

static void dns_add(struct frr r)
{
	assert_true(ntable < FRR_MAX);
	table[ntable++] = r;
}

static int fake_resolve(void *ctx, const char *name, uint16_t type, dns_done_cb cb, void *cb_ctx)
{
	(void)ctx;
	for (int i = 0; i < 8; i++)
		if (!pend[i].used) {
			pend[i] = (struct pending){ .used = true, .type = type, .cb = cb, .ctx = cb_ctx };
			snprintf(pend[i].name, sizeof(pend[i].name), "%s", name);
			lookups++;
			return i;
		}
	return DNS_ENOSPC;
}

static void fake_cancel(void *ctx, int h)
{
	(void)ctx;
	if (h >= 0 && h < 8)
		pend[h].cancelled = true;
}

static void build_answer(const char *name, uint16_t type)
{
	memset(&fans, 0, sizeof(fans));
	snprintf(fans.qname, sizeof(fans.qname), "%s", name);
	snprintf(fans.final_name, sizeof(fans.final_name), "%s", name);
	fans.qtype = type;
	fans.reason = "";
	fans.status = DNS_SECURE_NODATA;
	fans.ttl = 300;
	for (unsigned i = 0; i < ntable; i++) {
		const struct frr *t = &table[i];
		if (strcasecmp(t->name, name) != 0 || t->type != type)
			continue;
		fans.status = t->st;
		if (t->st == DNS_FAIL) {
			fans.reason = "SERVFAIL (test)";
			return;
		}
		struct dns_rr *rr = &fans.rr[fans.n_rr++];
		rr->type = type;
		rr->ttl = 300;
		if (type == DNS_T_MX) {
			rr->u.mx.pref = t->pref;
			rr->u.mx.name = fans.data_len;
			size_t n = strlen(t->target) + 1;
			memcpy(fans.data + fans.data_len, t->target, n);
			fans.data_len = (uint16_t)(fans.data_len + n);
		} else if (type == DNS_T_A) {
			memcpy(rr->u.a, t->a, 4);
		} else if (type == DNS_T_TLSA) {
			rr->u.tlsa.usage = t->tlsa[0];
			rr->u.tlsa.selector = t->tlsa[1];
			rr->u.tlsa.mtype = t->tlsa[2];
			rr->u.tlsa.off = fans.data_len;
			rr->u.tlsa.len = t->len;
			memcpy(fans.data + fans.data_len, t->data, t->len);
			fans.data_len = (uint16_t)(fans.data_len + t->len);
		}
	}
	fans.ad = dns_status_secure(fans.status);
}

static void dns_pump(void)
{
	for (int i = 0; i < 8; i++) {
		if (!pend[i].used)
			continue;
		struct pending p = pend[i];
		pend[i].used = false;
		if (p.cancelled)
			continue;
		build_answer(p.name, p.type);
		p.cb(p.ctx, &fans);
	}
}

/* ---- scripted SMTP peers ------------------------------------------------------ */
enum { P_STARTTLS = 1, P_RCPT_451 = 2, P_RCPT_550 = 4, P_STALL = 8, P_TLS_STALL = 16,
       P_IMPLICIT = 32, /* TLS from the first byte (465), AUTH offered */
       P_STALL_TLS_EHLO = 64 /* TLS fine, then no answer to the EHLO inside it */ };

struct pconn {
	int sock;
	struct tls_conn tls;
	bool tls_on, handshaking, data, stalled, greeted;
	char line[1024];
	size_t ll;
};

static struct {
	int listener;
	uint16_t port;
	unsigned flags;
	struct pconn c[4];
	unsigned conns, msgs, mails, mails_clear, auths;
	char auth_line[128];
	mbedtls_ssl_config conf;
	bool conf_ok;
} peer;

static struct tls_cred cred;
static uint8_t spki[32];
/* the verify tests: a peer with a certificate from the test PKI
 * (tests/unit/data/dane: leaf mx.example.net <- int-a <- root-a) */
static struct tls_cred cred_pki;
static mbedtls_ssl_config conf_pki;
static mbedtls_ssl_config *peer_conf_use; /* NULL: peer.conf */
static struct settings anchors;		  /* cfg.settings: RAM only */

static mbedtls_ssl_config *pconf(void)
{
	return peer_conf_use ? peer_conf_use : &peer.conf;
}

static void pc_close(struct pconn *c)
{
	if (c->sock < 0)
		return;
	if (c->tls_on || c->handshaking)
		tls_conn_free(&c->tls);
	port_close(c->sock);
	c->sock = -1;
	c->tls_on = c->handshaking = false;
}

static void pc_send(struct pconn *c, const char *s)
{
	size_t n = strlen(s);
	long r = c->tls_on ? tls_conn_write(&c->tls, s, n) : port_tcp_send(c->sock, s, n);
	assert_true(r == (long)n);
}

static void pc_line(struct pconn *c, const char *l)
{
	if (c->data) {
		if (strcmp(l, ".") == 0) {
			c->data = false;
			peer.msgs++;
			pc_send(c, "250 2.0.0 queued\r\n");
		}
		return;
	}
	if (strncasecmp(l, "EHLO", 4) == 0) {
		if ((peer.flags & P_STALL_TLS_EHLO) && c->tls_on)
			return; /* the client's reply timeout ends it */
		pc_send(c, "250-peer.test\r\n");
		if ((peer.flags & P_STARTTLS) && !c->tls_on)
			pc_send(c, "250-STARTTLS\r\n");
		if (peer.flags & P_IMPLICIT)
			pc_send(c, "250-AUTH PLAIN LOGIN\r\n");
		pc_send(c, "250 8BITMIME\r\n");
	} else if (strncasecmp(l, "STARTTLS", 8) == 0) {
		pc_send(c, "220 2.0.0 go ahead\r\n");
		if (peer.flags & P_TLS_STALL) {
			c->stalled = true; /* never answers the ClientHello */
			return;
		}
		assert_int_equal(tls_conn_setup(&c->tls, pconf(), c->sock, NULL), 0);
		c->handshaking = true;
		c->ll = 0;
	} else if (strncasecmp(l, "AUTH", 4) == 0) {
		peer.auths++;
		snprintf(peer.auth_line, sizeof(peer.auth_line), "%.100s", l);
		pc_send(c, "235 2.7.0 ok\r\n");
	} else if (strncasecmp(l, "MAIL", 4) == 0) {
		peer.mails++;
		if (!c->tls_on)
			peer.mails_clear++;
		pc_send(c, "250 2.1.0 ok\r\n");
	} else if (strncasecmp(l, "RCPT", 4) == 0) {
		pc_send(c, peer.flags & P_RCPT_550   ? "550 5.1.1 no such user\r\n"
			   : peer.flags & P_RCPT_451 ? "451 4.3.0 try later\r\n"
						     : "250 2.1.5 ok\r\n");
	} else if (strncasecmp(l, "DATA", 4) == 0) {
		pc_send(c, "354 go\r\n");
		c->data = true;
	} else if (strncasecmp(l, "QUIT", 4) == 0) {
		pc_send(c, "221 2.0.0 bye\r\n");
		pc_close(c);
	} else {
		pc_send(c, "250 2.0.0 ok\r\n");
	}
}

static void pc_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct pconn *c = ctx;
	(void)err;
	if (c->sock != sock)
		return;
	if (ev == PORT_EV_CLOSED) {
		pc_close(c);
		return;
	}
	if (peer.flags & P_STALL)
		return;
	if (c->handshaking) {
		int r = tls_conn_handshake(&c->tls);
		if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
			return;
		c->handshaking = false;
		if (r != 0) {
			pc_close(c);
			return;
		}
		c->tls_on = true;
		if (!c->greeted) {
			c->greeted = true;
			pc_send(c, "220 peer.test ESMTP\r\n");
		}
	}
	if (c->stalled)
		return;
	for (;;) {
		char buf[512];
		long n = c->tls_on ? tls_conn_read(&c->tls, buf, sizeof(buf))
				   : port_tcp_recv(c->sock, buf, sizeof(buf));
		if (n == PORT_EAGAIN || n == TLS_WANT_READ || n == TLS_WANT_WRITE)
			return;
		if (n <= 0) {
			pc_close(c);
			return;
		}
		for (long i = 0; i < n && c->sock >= 0; i++) {
			if (buf[i] == '\n') {
				if (c->ll && c->line[c->ll - 1] == '\r')
					c->ll--;
				c->line[c->ll] = '\0';
				c->ll = 0;
				pc_line(c, c->line);
				if (c->handshaking || c->stalled)
					return; /* the rest is TLS (or nothing) */
			} else if (c->ll < sizeof(c->line) - 1) {
				c->line[c->ll++] = buf[i];
			}
		}
		if (c->sock < 0)
			return;
	}
}

static void peer_accept(void *ctx, int l, enum port_event ev, int err)
{
	(void)ctx, (void)err;
	if (ev != PORT_EV_ACCEPT)
		return;
	for (;;) {
		struct pconn *c = NULL;
		for (int i = 0; i < 4 && !c; i++)
			if (peer.c[i].sock < 0)
				c = &peer.c[i];
		assert_non_null(c);
		memset(c, 0, sizeof(*c));
		c->sock = port_tcp_accept(l, NULL, pc_event, c);
		if (c->sock < 0) {
			c->sock = -1;
			return;
		}
		peer.conns++;
		if (peer.flags & P_IMPLICIT) {
			assert_int_equal(tls_conn_setup(&c->tls, pconf(), c->sock, NULL), 0);
			c->handshaking = true;
		} else if (!(peer.flags & P_STALL)) {
			c->greeted = true;
			pc_send(c, "220 peer.test ESMTP\r\n");
		}
	}
}

static void peer_start(unsigned flags)
{
	for (int i = 0; i < 4; i++)
		pc_close(&peer.c[i]);
	if (peer.listener >= 0)
		port_close(peer.listener);
	bool conf_ok = peer.conf_ok;
	mbedtls_ssl_config conf = peer.conf;
	memset(&peer, 0, sizeof(peer));
	peer.conf = conf;
	peer.conf_ok = conf_ok;
	for (int i = 0; i < 4; i++)
		peer.c[i].sock = -1;
	peer.flags = flags;
	struct port_addr a = { .family = PORT_AF_INET, .ip = { 127, 0, 0, 1 }, .port = 0 };
	peer.listener = port_tcp_listen(&a, peer_accept, NULL);
	assert_true(peer.listener >= 0);
	struct port_addr bound;
	assert_int_equal(port_tcp_addrs(peer.listener, &bound, NULL), 0);
	peer.port = bound.port;
}

/* ---- the driver under test --------------------------------------------------------- */
static struct outbound_config cfg;
static struct console_stats stats;
static uint32_t log_cur;

static void driver_start(uint32_t cmd_timeout_ms, uint32_t handshake_ms)
{
	outbound_config_default(&cfg);
	snprintf(cfg.hostname, sizeof(cfg.hostname), "gw.example");
	cfg.resolve = fake_resolve;
	cfg.cancel = fake_cancel;
	cfg.stats = &stats;
	cfg.settings = &anchors;
	cfg.cmd_timeout_ms = cmd_timeout_ms;
	if (handshake_ms)
		cfg.handshake_ms = handshake_ms;
	char redir[64];
	/* 127.0.1.1 -> 127.0.0.1:(base + 1) = the peer */
	snprintf(redir, sizeof(redir), "127.0.0.1:%u", (unsigned)peer.port - 1);
	assert_int_equal(outbound_parse_redirect(&cfg, redir), 0);
	assert_int_equal(outbound_init(&cfg, &q, NULL), 0);
	memset(pend, 0, sizeof(pend));
	/* skip the log so far */
	char line[LOG_LINE_MAX + 1];
	enum port_log_level lv;
	while (log_read(&log_cur, &lv, line, sizeof(line)) > 0)
		;
}

/* Runs the loop until cond() or ms pass. */
static bool run_until(bool (*cond)(void), unsigned ms)
{
	uint64_t end = port_now_ms() + ms;
	while (port_now_ms() < end) {
		port_poll(5);
		dns_pump();
		outbound_tick(port_now_ms());
		if (cond && cond())
			return true;
	}
	return cond ? cond() : true;
}

static bool queue_empty(void)
{
	return queue_count() == 0;
}

static bool idle(void)
{
	struct outbound_stats st;
	outbound_stats(&st);
	return st.active == 0;
}

/* Whether a log line since driver_start contains all of the needles. */
static bool log_has(const char *a, const char *b)
{
	uint32_t cur = log_cur;
	char line[LOG_LINE_MAX + 1];
	enum port_log_level lv;
	size_t n;
	while ((n = log_read(&cur, &lv, line, sizeof(line))) > 0) {
		line[n < sizeof(line) ? n : sizeof(line) - 1] = '\0';
		if (strstr(line, a) && (!b || strstr(line, b)))
			return true;
	}
	return false;
}

static void dns_dane_domain(bool with_tlsa)
{
	ntable = 0;
	dns_add((struct frr){ .name = DOMAIN, .type = DNS_T_MX, .st = DNS_SECURE, .pref = 10,
			      .target = MX_HOST });
	dns_add((struct frr){ .name = MX_HOST, .type = DNS_T_A, .st = DNS_SECURE, .a = { 127, 0, 1, 1 } });
	if (with_tlsa)
		dns_add((struct frr){ .name = "_25._tcp." MX_HOST, .type = DNS_T_TLSA, .st = DNS_SECURE,
				      .tlsa = { 3, 1, 1 }, .data = spki, .len = 32 });
}

/* ---- fixtures ------------------------------------------------------------------- */
static int setup(void **state)
{
	(void)state;
	if (tls_init() != 0)
		return -1;
	static uint8_t kd[256], cd[1024];
	size_t kl = sizeof(kd), cl = sizeof(cd);
	if (tls_cred_generate(MX_HOST, port_wall_time(), kd, &kl, cd, &cl) ||
	    tls_cred_load(&cred, kd, kl, cd, cl) || rollover_spki_sha256(&cred.cert, spki))
		return -1;
	peer.listener = -1;
	for (int i = 0; i < 4; i++)
		peer.c[i].sock = -1;
	peer.conf_ok = tls_server_config(&peer.conf, &cred) == 0;
	static char chain[8192];
	snprintf(chain, sizeof(chain), "%s%s", leaf_mx_pem, int_a_pem);
	if (tls_cred_load(&cred_pki, (const uint8_t *)leaf_mx_key_pem, sizeof(leaf_mx_key_pem),
			  (const uint8_t *)chain, strlen(chain) + 1) ||
	    tls_server_config(&conf_pki, &cred_pki))
		return -1;
	return peer.conf_ok ? 0 : -1;
}

static int each_setup(void **state)
{
	(void)state;
	queue_setup();
	memset(&stats, 0, sizeof(stats));
	lookups = 0;
	arrival_ago = 0;
	peer_conf_use = NULL;
	memset(&anchors, 0, sizeof(anchors));
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	run_until(idle, 3000);
	for (int i = 0; i < 4; i++)
		pc_close(&peer.c[i]);
	if (peer.listener >= 0)
		port_close(peer.listener);
	peer.listener = -1;
	flashsim_close(fs);
	return 0;
}

/* ---- tests ---------------------------------------------------------------------- */

static void dane_verified_delivery(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	enqueue("alice@example.org", "bob@" DOMAIN);
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.msgs, 1);
	assert_int_equal(peer.mails_clear, 0);
	assert_true(log_has("to=bob@d1.test relay=mx1.d1.test[127.0.1.1]:25 tls=TLSv1.",
			    "class=Verified result=delivered dsn=2.0.0 reason="));
	assert_true(log_has("done delivered=1 bounced=0", NULL));
	assert_int_equal(stats.by_class[CONSOLE_CLASS_VERIFIED], 1);
	bool found = false;
	for (int i = 0; i < CONSOLE_STATS_DOMAINS; i++)
		if (strcmp(stats.dom[i].domain, DOMAIN) == 0) {
			found = true;
			assert_int_equal(stats.dom[i].by_class[CONSOLE_CLASS_VERIFIED], 1);
			assert_true(stats.dom[i].dnssec);
		}
	assert_true(found);
}

static void dane_required_without_starttls_is_held(void **state)
{
	(void)state;
	peer_start(0); /* no STARTTLS offered */
	dns_dane_domain(true);
	driver_start(0, 0);
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	uint64_t t0 = (uint64_t)port_wall_time();
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	assert_int_equal(peer.conns, 1);
	assert_int_equal(peer.mails, 0); /* never a transaction in clear */
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_true(info.next_attempt > t0);
	assert_true(log_has("class=none result=deferred dsn=4.7.4 reason=dane: TLS is required", NULL));
}

static void dane_tlsa_mismatch_is_held(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	static uint8_t wrong[32];
	memset(wrong, 0xab, sizeof(wrong));
	table[2].data = wrong;
	driver_start(0, 0);
	enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	assert_int_equal(queue_count(), 1);
	assert_int_equal(peer.mails, 0);
	assert_true(log_has("result=deferred dsn=4.7.5 reason=dane: Server certificate not verified",
			    NULL));
}

static void temporary_failure_is_retried_later(void **state)
{
	(void)state;
	peer_start(P_RCPT_451);
	dns_dane_domain(false); /* secure denial of TLSA: opportunistic */
	driver_start(0, 0);
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	uint64_t t0 = (uint64_t)port_wall_time();
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_true(info.attempts >= 1);
	assert_true(info.next_attempt >= t0 + 300); /* first step of 5m,15m,... */
	assert_true(log_has("class=clear result=deferred dsn=4.3.0", "451 4.3.0 try later"));
	assert_int_equal(peer.msgs, 0);
}

static void permanent_failure_bounces_with_a_dsn(void **state)
{
	(void)state;
	peer_start(P_RCPT_550);
	dns_dane_domain(false);
	/* the DSN's own delivery waits: its MX lookup fails */
	dns_add((struct frr){ .name = "example.org", .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), QUEUE_ENOENT); /* original gone */
	assert_true(log_has("to=bob@d1.test", "result=bounced dsn=5.1.1"));
	assert_true(log_has("failure notice to <alice@example.org>", NULL));
	/* the DSN: null sender, a bounce, to the original sender */
	uint32_t dsn_id;
	assert_int_equal(queue_next_due(&q, UINT64_MAX, &dsn_id), 0);
	assert_int_equal(queue_msg_info(&q, dsn_id, &info), 0);
	assert_true(info.bounce);
	assert_string_equal(info.sender, "");
	char r[QUEUE_ADDR_MAX + 1];
	assert_int_equal(queue_msg_rcpt(&q, dsn_id, 0, r, sizeof(r)), 0);
	assert_string_equal(r, "alice@example.org");
}

static void null_sender_never_gets_a_dsn(void **state)
{
	(void)state;
	peer_start(P_RCPT_550);
	dns_dane_domain(false);
	driver_start(0, 0);
	enqueue("", "bob@" DOMAIN);
	assert_true(run_until(queue_empty, 5000));
	run_until(idle, 2000);
	assert_int_equal(queue_count(), 0);
	assert_true(log_has("no failure notice: null sender", NULL));
}

static void connection_is_reused_for_the_same_destination(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	for (int i = 0; i < 5; i++)
		enqueue("alice@example.org", "bob@" DOMAIN);
	assert_true(run_until(queue_empty, 8000));
	run_until(idle, 3000);
	struct outbound_stats st;
	outbound_stats(&st);
	assert_int_equal(peer.msgs, 5);
	/* two sessions at most, each reused for the rest */
	assert_true(peer.conns <= OUTBOUND_SESSIONS);
	assert_true(st.reused >= 5 - OUTBOUND_SESSIONS);
	assert_int_equal(peer.mails_clear, 0);
	char line[256];
	assert_true(outbound_status(line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "5 delivered"));
	assert_non_null(strstr(line, "reused"));
}

static void recipients_are_grouped_by_destination(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	dns_add((struct frr){ .name = "d2.test", .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	const char *r[3] = { "bob@" DOMAIN, "carol@d2.test", "dave@" DOMAIN };
	uint32_t id = enqueue_n("alice@example.org", r, 3);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	/* d1.test: one transaction for both; d2.test: deferred, message stays */
	assert_int_equal(peer.conns, 1);
	assert_int_equal(peer.msgs, 1);
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_DELIVERED);
	assert_int_equal(info.rcpt_state[1], QUEUE_RCPT_PENDING);
	assert_int_equal(info.rcpt_state[2], QUEUE_RCPT_DELIVERED);
	assert_true(log_has("to=dave@d1.test", "class=Verified result=delivered"));
	assert_true(log_has("to=carol@d2.test relay=none", "result=deferred dsn=4.4.3"));
	assert_false(log_has("done delivered=", NULL));
}

static void many_recipients_take_two_transactions_on_one_connection(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	static char names[40][32];
	const char *r[40];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "user%02d@" DOMAIN, i);
		r[i] = names[i];
	}
	enqueue_n("alice@example.org", r, 40);
	assert_true(run_until(queue_empty, 8000));
	assert_int_equal(peer.conns, 1);
	assert_int_equal(peer.msgs, 2); /* OUTBOUND_GROUP_MAX 32 + 8 */
	assert_true(log_has("done delivered=40 bounced=0", NULL));
}

static void smarthost_on_465_implicit_tls_with_auth(void **state)
{
	(void)state;
	peer_start(P_IMPLICIT);
	ntable = 0;
	dns_add((struct frr){ .name = MX_HOST, .type = DNS_T_A, .st = DNS_SECURE, .a = { 127, 0, 1, 1 } });
	dns_add((struct frr){ .name = "_465._tcp." MX_HOST, .type = DNS_T_TLSA, .st = DNS_SECURE,
			      .tlsa = { 3, 1, 1 }, .data = spki, .len = 32 });
	driver_start(0, 0);
	cfg.smarthost = true;
	assert_int_equal(policy_nexthop_parse("[" MX_HOST "]:465", &cfg.relay), 0);
	snprintf(cfg.auth_user, sizeof(cfg.auth_user), "relayuser");
	snprintf(cfg.auth_pass, sizeof(cfg.auth_pass), "relaypass");
	enqueue("alice@example.org", "someone@elsewhere.example");
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.msgs, 1);
	assert_int_equal(peer.mails_clear, 0);
	assert_int_equal(peer.auths, 1);
	/* AUTH PLAIN \0relayuser\0relaypass */
	assert_non_null(strstr(peer.auth_line, "AHJlbGF5dXNlcgByZWxheXBhc3M="));
	assert_true(log_has("relay=mx1.d1.test[127.0.1.1]:465 tls=TLSv1.", "class=Verified result=delivered"));
	/* no MX lookup for a bracketed smarthost */
	assert_false(log_has("MX lookup", NULL));
}

static void expired_message_is_returned(void **state)
{
	(void)state;
	peer_start(P_RCPT_451);
	dns_dane_domain(false);
	dns_add((struct frr){ .name = "example.org", .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	cfg.retry.max_age = 3600;
	arrival_ago = 7200; /* older than max_queue_age */
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), QUEUE_ENOENT);
	assert_true(log_has("to=bob@d1.test", "result=bounced dsn=5.4.7 reason=4.4.7 delivery time expired"));
	assert_true(log_has("failure notice to <alice@example.org>", NULL));
	assert_int_equal(queue_count(), 1); /* the DSN */
}

static void delay_warning_is_sent_once(void **state)
{
	(void)state;
	peer_start(P_RCPT_451);
	dns_dane_domain(false);
	dns_add((struct frr){ .name = "example.org", .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	cfg.retry.delay_warn = 600;
	arrival_ago = 700; /* past the warning time, not expired */
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_true(log_has("delay notice to <alice@example.org>", NULL));
	assert_int_equal(queue_count(), 2); /* the original and the warning */
}

static void queue_flush_retries_now(void **state)
{
	(void)state;
	peer_start(P_RCPT_451);
	dns_dane_domain(false);
	driver_start(0, 0);
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 3000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_true(info.next_attempt > (uint64_t)port_wall_time()); /* not due */
	run_until(NULL, 300);
	assert_int_equal(peer.conns, 1); /* nothing tried before its time */
	peer.flags = 0;			 /* the peer takes mail now */
	assert_int_equal(outbound_flush(), 1);
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.msgs, 1);
}

static void queue_flush_reuses_the_connection(void **state)
{
	(void)state;
	peer_start(P_STARTTLS | P_RCPT_451);
	dns_dane_domain(true);
	driver_start(0, 0);
	for (int i = 0; i < 5; i++)
		enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 600);
	assert_true(run_until(idle, 5000));
	assert_int_equal(queue_count(), 5); /* all deferred, none due */
	unsigned conns = peer.conns;
	peer.flags = P_STARTTLS;
	assert_int_equal(outbound_flush(), 5);
	assert_true(run_until(queue_empty, 8000));
	assert_int_equal(peer.msgs, 5);
	/* flushed messages for one destination share the sessions' connections */
	assert_true(peer.conns - conns <= OUTBOUND_SESSIONS);
}

static void redirect_maps_the_last_address_byte(void **state)
{
	(void)state;
	struct outbound_config c;
	outbound_config_default(&c);
	assert_int_equal(outbound_parse_redirect(&c, "127.0.0.1:26100"), 0);
	assert_true(c.redirect);
	assert_int_equal(c.redirect_base, 26100);
	assert_int_equal(c.redirect_host.family, PORT_AF_INET);
	assert_int_equal(c.redirect_host.ip[0], 127);
	assert_int_equal(outbound_parse_redirect(&c, "[::1]:26100"), 0);
	assert_int_equal(c.redirect_host.family, PORT_AF_INET6);
	assert_int_equal(c.redirect_host.ip[15], 1);
	assert_int_equal(outbound_parse_redirect(&c, ""), 0);
	assert_false(c.redirect);
	assert_int_equal(outbound_parse_redirect(&c, "127.0.0.1"), OUTBOUND_EINVAL);
	assert_int_equal(outbound_parse_redirect(&c, "127.0.0.1:x"), OUTBOUND_EINVAL);
	assert_int_equal(outbound_parse_redirect(&c, "127.0.0.1:65500"), OUTBOUND_EINVAL);
	assert_int_equal(outbound_parse_redirect(&c, "host.example:25"), OUTBOUND_EINVAL);
	/* and in use: the peer listens on base+1 only, for 127.0.1.1 */
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	enqueue("alice@example.org", "bob@" DOMAIN);
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.conns, 1);
}

static void stalled_server_times_out(void **state)
{
	(void)state;
	peer_start(P_STALL); /* accepts, never greets */
	dns_dane_domain(true);
	driver_start(300, 0);
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 200);
	/* ends well before the RFC's 5 minutes: the configured 300 ms apply */
	assert_true(run_until(idle, 10000));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_true(log_has("result=deferred", "timed out"));
}

static void stalled_handshake_times_out_without_clear_retry(void **state)
{
	(void)state;
	peer_start(P_STARTTLS | P_TLS_STALL);
	dns_dane_domain(true);
	driver_start(0, 300);
	enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 200);
	assert_true(run_until(idle, 5000));
	assert_int_equal(queue_count(), 1);
	assert_int_equal(peer.conns, 1); /* DANE: no clear-text retry */
	assert_int_equal(peer.mails, 0);
	assert_true(log_has("result=deferred dsn=4.7.5 reason=dane: Cannot start TLS",
			    "handshake timed out"));
}

static void mx_lookup_failure_defers(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	ntable = 0;
	dns_add((struct frr){ .name = DOMAIN, .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 200);
	assert_true(run_until(idle, 3000));
	assert_int_equal(queue_count(), 1);
	assert_int_equal(peer.conns, 0);
	assert_true(log_has("relay=none tls=none/- class=none result=deferred dsn=4.4.3", NULL));
}

/* ---- the verify policy: operator trust anchors --------------------------------- */
#define VDOMAIN "v.test"

static void verify_world(const char *mx, unsigned flags)
{
	peer_start(flags);
	peer_conf_use = &conf_pki; /* mx.example.net <- int-a (sent) <- root-a (not sent) */
	ntable = 0;
	dns_add((struct frr){ .name = VDOMAIN, .type = DNS_T_MX, .st = DNS_SECURE, .pref = 10,
			      .target = mx });
	dns_add((struct frr){ .name = mx, .type = DNS_T_A, .st = DNS_SECURE, .a = { 127, 0, 1, 1 } });
	driver_start(0, 0);
	assert_int_equal(policy_table_parse(&cfg.policy, VDOMAIN "=verify", NULL), 1);
}

static uint32_t verify_attempt(void)
{
	uint32_t id = enqueue("alice@example.org", "bob@" VDOMAIN);
	run_until(NULL, 300);
	assert_true(run_until(idle, 5000));
	return id;
}

static void verify_with_an_anchor_delivers_verified(void **state)
{
	(void)state;
	verify_world("mx.example.net", P_STARTTLS);
	assert_int_equal(trust_add(&anchors, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	enqueue("alice@example.org", "bob@" VDOMAIN);
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.msgs, 1);
	assert_int_equal(peer.mails_clear, 0);
	assert_true(log_has("to=bob@v.test relay=mx.example.net[127.0.1.1]:25 tls=TLSv1.",
			    "class=Verified result=delivered dsn=2.0.0"));
	assert_int_equal(stats.by_class[CONSOLE_CLASS_VERIFIED], 1);
}

static void verify_without_anchors_defers(void **state)
{
	(void)state;
	verify_world("mx.example.net", P_STARTTLS);
	uint32_t id = verify_attempt();
	assert_int_equal(peer.conns, 1);
	assert_int_equal(peer.mails, 0); /* never a transaction, in clear or not */
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_true(log_has("tls=none/- class=none result=deferred dsn=4.7.5 reason=verify: Server "
			    "certificate not verified",
			    "no trust anchors configured (console: ca add)"));
}

static void verify_name_mismatch_defers(void **state)
{
	(void)state;
	verify_world("mx2.v.test", P_STARTTLS); /* the certificate names mx.example.net */
	assert_int_equal(trust_add(&anchors, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	verify_attempt();
	assert_int_equal(peer.mails, 0);
	assert_true(log_has("class=none result=deferred dsn=4.7.5 reason=verify: ",
			    "name mismatch: certificate CN=mx.example.net does not name mx2.v.test"));
}

static void verify_untrusted_chain_defers(void **state)
{
	(void)state;
	verify_world("mx.example.net", P_STARTTLS);
	/* another CA: root b did not issue the chain */
	assert_int_equal(trust_add(&anchors, root_b_cert_der, sizeof(root_b_cert_der)), 0);
	verify_attempt();
	assert_int_equal(peer.mails, 0);
	assert_true(log_has("result=deferred dsn=4.7.5 reason=verify: ",
			    "certificate not trusted: CN=mx.example.net is not issued by any of the 1 "
			    "trust anchor(s)"));
}

static void verify_without_starttls_defers(void **state)
{
	(void)state;
	verify_world("mx.example.net", 0);
	assert_int_equal(trust_add(&anchors, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	verify_attempt();
	assert_int_equal(peer.mails, 0);
	assert_true(log_has("result=deferred dsn=4.7.4 reason=verify: TLS is required", NULL));
}

/* ---- the class of a deferral after TLS ------------------------------------------- */
static void timeout_after_a_verified_handshake_logs_the_class(void **state)
{
	(void)state;
	peer_start(P_STARTTLS | P_STALL_TLS_EHLO);
	dns_dane_domain(true);
	driver_start(300, 0);
	enqueue("alice@example.org", "bob@" DOMAIN);
	run_until(NULL, 200);
	assert_true(run_until(idle, 5000));
	assert_int_equal(peer.mails, 0);
	/* the session was DANE-Verified before the peer went silent */
	assert_true(log_has("tls=TLSv1.", "class=Verified result=deferred dsn=4.4.2 reason=delivery to "
					  "mx1.d1.test[127.0.1.1]:25 failed"));
	assert_true(log_has("class=Verified result=deferred", "timed out"));
}

/* ---- per-destination concurrency --------------------------------------------------- */
/* A second peer on the port after the first one's (127.0.1.2): accepts,
 * never says a word. */
static struct {
	int l;
	int socks[4];
	unsigned conns;
} stl = { -1, { -1, -1, -1, -1 }, 0 };

static void stl_event(void *ctx, int sock, enum port_event ev, int err)
{
	(void)ctx, (void)err;
	if (ev != PORT_EV_CLOSED)
		return;
	for (int i = 0; i < 4; i++)
		if (stl.socks[i] == sock) {
			port_close(sock);
			stl.socks[i] = -1;
		}
}

static void stl_accept(void *ctx, int l, enum port_event ev, int err)
{
	(void)ctx, (void)err;
	if (ev != PORT_EV_ACCEPT)
		return;
	for (;;) {
		int sk = port_tcp_accept(l, NULL, stl_event, NULL);
		if (sk < 0)
			return;
		stl.conns++;
		for (int i = 0; i < 4 && sk >= 0; i++)
			if (stl.socks[i] < 0) {
				stl.socks[i] = sk;
				sk = -1;
			}
		if (sk >= 0)
			port_close(sk);
	}
}

static void stl_stop(void)
{
	for (int i = 0; i < 4; i++)
		if (stl.socks[i] >= 0) {
			port_close(stl.socks[i]);
			stl.socks[i] = -1;
		}
	if (stl.l >= 0)
		port_close(stl.l);
	stl.l = -1;
}

/* The healthy peer (127.0.1.1) and the staller (127.0.1.2) on adjacent ports. */
static void two_peers(void)
{
	stl_stop();
	stl.conns = 0;
	for (int t = 0; t < 20 && stl.l < 0; t++) {
		peer_start(P_STARTTLS);
		struct port_addr a = { .family = PORT_AF_INET, .ip = { 127, 0, 0, 1 },
				       .port = (uint16_t)(peer.port + 1) };
		stl.l = port_tcp_listen(&a, stl_accept, NULL);
	}
	assert_true(stl.l >= 0);
	ntable = 0;
	dns_add((struct frr){ .name = DOMAIN, .type = DNS_T_MX, .st = DNS_SECURE, .pref = 10,
			      .target = MX_HOST });
	dns_add((struct frr){ .name = MX_HOST, .type = DNS_T_A, .st = DNS_SECURE, .a = { 127, 0, 1, 1 } });
	dns_add((struct frr){ .name = "d2.test", .type = DNS_T_MX, .st = DNS_SECURE, .pref = 10,
			      .target = "mx2.d2.test" });
	dns_add((struct frr){ .name = "mx2.d2.test", .type = DNS_T_A, .st = DNS_SECURE,
			      .a = { 127, 0, 1, 2 } });
}

static bool healthy_delivered(void)
{
	return peer.msgs >= 1;
}

static bool two_left(void)
{
	return queue_count() == 2;
}

static bool two_conns_and_some_delivered(void)
{
	return peer.conns >= 2 && peer.msgs >= 4;
}

static void stalled_destination_does_not_starve_the_others(void **state)
{
	(void)state;
	two_peers();
	driver_start(0, 0); /* RFC timeouts: the staller holds a session all along */
	enqueue("alice@example.org", "a@d2.test");
	enqueue("alice@example.org", "b@d2.test");
	enqueue("alice@example.org", "bob@" DOMAIN);
	assert_true(run_until(healthy_delivered, 3000));
	assert_true(run_until(two_left, 2000)); /* the delivered one is done */
	assert_int_equal(stl.conns, 1); /* the second d2.test message waits its turn */
	stl_stop(); /* the stalled session ends (lost connection: deferred) */
	assert_true(run_until(idle, 3000));
}

static void without_the_limit_a_stalled_destination_takes_every_session(void **state)
{
	(void)state;
	two_peers();
	driver_start(0, 0);
	cfg.dest_concurrency = OUTBOUND_SESSIONS; /* smtp_destination_concurrency = all */
	enqueue("alice@example.org", "a@d2.test");
	enqueue("alice@example.org", "b@d2.test");
	enqueue("alice@example.org", "bob@" DOMAIN);
	assert_false(run_until(healthy_delivered, 1500));
	assert_int_equal(stl.conns, OUTBOUND_SESSIONS);
	stl_stop();
	assert_true(run_until(healthy_delivered, 5000)); /* a session came free */
	assert_true(run_until(idle, 3000));
}

static bool e_delivered(void)
{
	return log_has("to=e@d3.test", "result=delivered");
}

/* A destination that delivers well may use every session while nothing
 * else is due (one session per destination would halve a single
 * destination's rate), and gives one back when other mail is due. */
static void a_delivering_destination_uses_both_sessions_and_yields_to_others(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	dns_add((struct frr){ .name = "d3.test", .type = DNS_T_MX, .st = DNS_SECURE, .pref = 10,
			      .target = "mx3.d3.test" });
	dns_add((struct frr){ .name = "mx3.d3.test", .type = DNS_T_A, .st = DNS_SECURE,
			      .a = { 127, 0, 1, 1 } }); /* the same peer */
	driver_start(0, 0);
	for (int i = 0; i < 56; i++)
		enqueue("alice@example.org", "bob@" DOMAIN);
	assert_true(run_until(two_conns_and_some_delivered, 5000));
	assert_int_equal(peer.conns, 2); /* both sessions on d1.test */
	enqueue("alice@example.org", "e@d3.test");
	assert_true(run_until(e_delivered, 5000));
	/* d3.test did not wait for d1.test's queue to drain */
	assert_true(queue_count() > 0);
	assert_true(run_until(queue_empty, 20000));
}

/* ---- held messages and expiry ------------------------------------------------------ */
static void held_message_is_not_expired_and_bounces_on_release_if_its_attempt_fails(void **state)
{
	(void)state;
	peer_start(P_RCPT_451);
	dns_dane_domain(false);
	dns_add((struct frr){ .name = "example.org", .type = DNS_T_MX, .st = DNS_FAIL });
	driver_start(0, 0);
	arrival_ago = 6 * 86400; /* past max_queue_age (5 days) */
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	assert_int_equal(queue_hold(&q, id), 0);
	run_until(NULL, 800);
	/* on hold: no attempt, no expiry, no notice */
	assert_int_equal(peer.conns, 0);
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&q, id, &info), 0);
	assert_true(info.held);
	assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_PENDING);
	assert_false(log_has("result=bounced", NULL));
	assert_int_equal(queue_count(), 1);
	/* released: one more attempt; it fails (451), and the message is
	 * past its age: returned with 5.4.7 */
	assert_int_equal(queue_release(&q, id), 0);
	run_until(NULL, 300);
	assert_true(run_until(idle, 5000));
	assert_int_equal(peer.conns, 1);
	assert_int_equal(queue_msg_info(&q, id, &info), QUEUE_ENOENT);
	assert_true(log_has("to=bob@d1.test", "result=bounced dsn=5.4.7"));
	assert_true(log_has("failure notice to <alice@example.org>", NULL));
}

static void released_overdue_message_is_delivered_if_its_attempt_succeeds(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	arrival_ago = 6 * 86400;
	uint32_t id = enqueue("alice@example.org", "bob@" DOMAIN);
	assert_int_equal(queue_hold(&q, id), 0);
	run_until(NULL, 500);
	assert_int_equal(peer.conns, 0);
	assert_int_equal(queue_release(&q, id), 0);
	assert_true(run_until(queue_empty, 5000));
	assert_int_equal(peer.msgs, 1);
	assert_true(log_has("class=Verified result=delivered", NULL));
	assert_false(log_has("result=bounced", NULL));
}

static char probe_out[8192];
static size_t probe_len;
static bool probe_done;
static void probe_line(void *ctx, const char *s)
{
	(void)ctx;
	int n = snprintf(probe_out + probe_len, sizeof(probe_out) - probe_len, "%s\n", s);
	if (n > 0 && (size_t)n < sizeof(probe_out) - probe_len)
		probe_len += (size_t)n;
	if (strncmp(s, "probe: done:", 12) == 0)
		probe_done = true;
}
static bool probe_finished(void)
{
	return probe_done;
}

static void probe_reports_the_dane_view(void **state)
{
	(void)state;
	peer_start(P_STARTTLS);
	dns_dane_domain(true);
	driver_start(0, 0);
	probe_len = 0;
	probe_done = false;
	assert_int_equal(outbound_probe(DOMAIN, probe_line, NULL), 0);
	assert_int_equal(outbound_probe(DOMAIN, probe_line, NULL), OUTBOUND_EBUSY);
	assert_true(run_until(probe_finished, 5000));
	run_until(idle, 2000);
	probe_out[probe_len] = '\0';
	assert_non_null(strstr(probe_out, "probe: d1.test MX 10 mx1.d1.test (secure)"));
	assert_non_null(strstr(probe_out, "probe: mx1.d1.test A 127.0.1.1 (secure)"));
	assert_non_null(strstr(probe_out, "TLSA 3 1 1"));
	assert_non_null(strstr(probe_out, "usable"));
	assert_non_null(strstr(probe_out, "STARTTLS offered: yes"));
	assert_non_null(strstr(probe_out, "chain depth 0: subject CN=mx1.d1.test"));
	assert_non_null(strstr(probe_out, "verification: TLSA 3 1 1"));
	assert_non_null(strstr(probe_out, "probe: done: mx1.d1.test[127.0.1.1]:25 Verified"));
	assert_int_equal(peer.mails, 0); /* a probe sends no mail */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dane_verified_delivery, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(dane_required_without_starttls_is_held, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(dane_tlsa_mismatch_is_held, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(temporary_failure_is_retried_later, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(permanent_failure_bounces_with_a_dsn, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(null_sender_never_gets_a_dsn, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(connection_is_reused_for_the_same_destination, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(recipients_are_grouped_by_destination, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(many_recipients_take_two_transactions_on_one_connection,
						each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(smarthost_on_465_implicit_tls_with_auth, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(expired_message_is_returned, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(delay_warning_is_sent_once, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(queue_flush_reuses_the_connection, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(queue_flush_retries_now, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(redirect_maps_the_last_address_byte, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(stalled_server_times_out, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(stalled_handshake_times_out_without_clear_retry,
						each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(mx_lookup_failure_defers, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(probe_reports_the_dane_view, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(verify_with_an_anchor_delivers_verified, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(verify_without_anchors_defers, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(verify_name_mismatch_defers, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(verify_untrusted_chain_defers, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(verify_without_starttls_defers, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(timeout_after_a_verified_handshake_logs_the_class, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(stalled_destination_does_not_starve_the_others, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(without_the_limit_a_stalled_destination_takes_every_session, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(a_delivering_destination_uses_both_sessions_and_yields_to_others,
						each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(held_message_is_not_expired_and_bounces_on_release_if_its_attempt_fails, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(released_overdue_message_is_delivered_if_its_attempt_succeeds, each_setup,
						each_teardown),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
