/* outbound — the delivery driver: takes due messages from the flash queue,
 * resolves each destination with the stub resolver through the mx plan
 * (DANE-RULES 2-23), connects (non-blocking, port.h), runs the smtp_client
 * engine with STARTTLS / implicit TLS and DANE verification, and records
 * per-recipient results, retries (retry.c) and DSNs (dsn.c) in the queue.
 * Also the console's `probe DOMAIN` (what posttls-finger reports) and
 * `queue flush`. Exports outbound_config_*(), outbound_init/tick/next_ms,
 * outbound_flush(), outbound_probe(), outbound_probe_cancel(),
 * outbound_stats(). */
#ifndef DANEGATE_OUTBOUND_H
#define DANEGATE_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/settings.h"
#include "console/console.h"
#include "dns/dns.h"
#include "queue/queue.h"
#include "relay/mx.h"
#include "relay/policy.h"
#include "relay/retry.h"
#include "smtp/smtp_client.h"
#include "tls/tls.h"

/* ---- limits (a board may override them) ------------------------------- */
#ifndef OUTBOUND_SESSIONS
#define OUTBOUND_SESSIONS 2	  /* deliveries at once (each: one connection) */
#endif
/* Sessions one destination (recipient domain) may hold at once unless it
 * is delivering and nothing else is due; by default one less than all, so
 * that a destination whose peers stall never blocks the others
 * (smtp_destination_concurrency changes it; docs/delivery.md). */
#ifndef OUTBOUND_DEST_CONCURRENCY
#define OUTBOUND_DEST_CONCURRENCY (OUTBOUND_SESSIONS > 1 ? OUTBOUND_SESSIONS - 1 : 1)
#endif
#define OUTBOUND_RCPT_BUF 1024	  /* recipient addresses of one destination
				   * group; more recipients of the domain form
				   * the next group (transaction) of the round */
#define OUTBOUND_GROUP_MAX 32	  /* recipients per group (per SMTP transaction) */
#define OUTBOUND_TLSA_DATA 2048	  /* bytes of usable TLSA data kept per session
				   * (a `2 0 0` P-256 root fits); records that
				   * do not fit are dropped: they can only make
				   * a peer fail to match (defer), never pass */
#define OUTBOUND_FAIL_BATCH 4	  /* failed recipients collected per DSN */
#define OUTBOUND_FLUSH_MAX 128	  /* messages `queue flush` retries at once */
#define OUTBOUND_CONNECT_MS 30000 /* TCP connect */
#define OUTBOUND_HANDSHAKE_MS 60000 /* TLS handshake */
#define OUTBOUND_AUTH_MAX 128	  /* smarthost user name / password bytes */

/* ---- errors (negative) ------------------------------------------------- */
enum outbound_err {
	OUTBOUND_OK = 0,
	OUTBOUND_EINVAL = -22,
	OUTBOUND_EBUSY = -16,	/* a probe is already running */
	OUTBOUND_ENOTSUP = -95, /* not initialised / no resolver */
};

/* DNS lookups: the relay's stub resolver, or a test's fake. */
typedef int (*outbound_resolve_fn)(void *ctx, const char *name, uint16_t type, dns_done_cb cb,
				   void *cb_ctx);
typedef void (*outbound_cancel_fn)(void *ctx, int handle);

struct outbound_config {
	char hostname[DNS_NAME_TEXT_SIZE]; /* EHLO name, DSN Reporting-MTA */
	struct policy_table policy;	   /* tls_policy + tls_default */
	bool smarthost;			   /* everything goes to relay */
	struct policy_nexthop relay;
	char auth_user[OUTBOUND_AUTH_MAX + 1], auth_pass[OUTBOUND_AUTH_MAX + 1];
	struct retry_policy retry;
	struct mx_config mx;
	/* smtp_delivery_redirect (test world): connect to a.b.c.N at
	 * redirect_host, port redirect_base + N (IPv6: N = last byte) */
	bool redirect;
	struct port_addr redirect_host;
	uint16_t redirect_base;
	uint32_t connect_ms, handshake_ms;
	uint32_t cmd_timeout_ms, data_timeout_ms; /* 0: RFC 5321 defaults */
	/* lookups: resolve NULL -> dns_resolve(dns, ...) */
	struct dns_resolver *dns;
	outbound_resolve_fn resolve;
	outbound_cancel_fn cancel;
	void *resolve_ctx;
	struct console_stats *stats; /* NULL: not counted */
	/* trust anchors of the `verify` policy (relay/trust.h), read at each
	 * verification so that `ca add` acts at once; NULL: none */
	const struct settings *settings;
	/* smtp_destination_concurrency: sessions one destination may hold at
	 * once (MX mode; 0: OUTBOUND_DEST_CONCURRENCY) */
	unsigned dest_concurrency;
};

/* Defaults: policy dane, RFC retry schedule, no smarthost, no redirect. */
void outbound_config_default(struct outbound_config *cfg);
/* Reads the relay's keys (hostname, tls_default, tls_policy, smarthost,
 * smarthost_auth, retry_schedule, max_queue_age, smtp_delivery_redirect,
 * smtp_destination_concurrency; the board's tls_ca PEM anchors)
 * through config_get: saved, then board, then default. A bad value is
 * logged and its default kept. Returns 0. */
int outbound_config_load(struct outbound_config *cfg, const struct settings *s,
			 config_board_fn board);
/* Parses "HOST:BASE" ("127.0.0.1:26100", "[::1]:26100") into cfg's
 * redirect fields; "" switches it off. 0 or OUTBOUND_EINVAL. */
int outbound_parse_redirect(struct outbound_config *cfg, const char *text);

/* cfg and q must outlive the driver; client_cred may be NULL. */
int outbound_init(const struct outbound_config *cfg, struct queue *q, struct tls_cred *client_cred);
/* Starts due work, runs timeouts; call after every port_poll(). */
void outbound_tick(uint64_t now_ms);
/* Milliseconds until outbound has time-driven work (cap for port_poll). */
uint32_t outbound_next_ms(uint64_t now_ms);
/* console `queue flush`: every queued message is tried now (up to
 * OUTBOUND_FLUSH_MAX). Returns the number of messages marked. */
int outbound_flush(void);

/* console `probe DOMAIN`: lines "probe: ..." then "probe: done: ...",
 * from the event loop. Returns 0, OUTBOUND_EBUSY or OUTBOUND_EINVAL. */
int outbound_probe(const char *domain, void (*line)(void *ctx, const char *s), void *ctx);
void outbound_probe_cancel(void);

struct outbound_stats {
	uint32_t active;		 /* sessions in use */
	uint32_t attempts, connections, reused;
	uint32_t delivered, deferred, bounced, dsns, held_dane;
};
void outbound_stats(struct outbound_stats *st);
/* One line for the console's `status`. Returns the length (cut to
 * size - 1, NUL-terminated). */
size_t outbound_status(char *buf, size_t size);

#endif
