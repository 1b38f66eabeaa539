/* web — the web console's server: HTTPS listeners (the gateway's own
 * certificate, the same tls_cred inbound SMTP uses), plain HTTP only when
 * configured, a few connections, each an http parser on a port.h socket,
 * and ONE shared response buffer through which every page is streamed in
 * chunks. Exports web_start(), web_tick(), web_stats(). */
#ifndef DANEGATE_WEB_H
#define DANEGATE_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "console/console.h"
#include "port.h"
#include "tls/tls.h"

#define WEB_CONNS 4		/* connections served at once; more are closed */
#define WEB_IN_BUF 256		/* bytes read per event, fed to the parser */
#define WEB_RESP_BUF 1536	/* the one shared response buffer */
#define WEB_REQUEST_MS 10000	/* a request (or a handshake) must arrive within */
#define WEB_IDLE_MS 15000	/* an idle keep-alive connection is closed after */
#define WEB_SEND_MS 30000	/* a client that stops reading is dropped after */

struct web_config {
	const struct console_env *env; /* required (its probe hook too); must outlive the server */
	struct tls_cred *cred;	       /* NULL: no HTTPS; else the live credential
					* (tls_live_set) is presented */
	uint16_t port;		       /* HTTPS (web_port) */
	uint16_t http_port;	       /* plain HTTP (web_http_port); 0: off */
	struct port_addr listen;       /* family NONE: every address */
};

struct web_stats {
	uint32_t conns, refused_busy, requests, errors, tls_failures;
};

/* 0 if at least one listener is up. cfg must outlive the server. */
int web_start(const struct web_config *cfg);
/* Timeouts; call at least once a second. */
void web_tick(uint64_t now_ms);
void web_stats(struct web_stats *st);

#endif
