/* web_app — the web console's pages and rules, sans-I/O: a parsed request
 * in, a small response descriptor out (web_app_handle), then the head and
 * the body written on demand into a windowed sink (web_app_head,
 * web_app_body), so the server streams any page through one small buffer.
 * Logins, sessions, CSRF and the login rate limit live here; the pages run
 * the console's own commands (console_exec) and render their output.
 * Exports web_app_init/handle/head/body/tick, struct web_sink, web_put*. */
#ifndef DANEGATE_WEB_APP_H
#define DANEGATE_WEB_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console/console.h"
#include "port.h"
#include "relay/authlimit.h"
#include "web/http.h"

#define WEB_SESSIONS 4			 /* logged-in sessions; the oldest gives way */
#define WEB_SESSION_IDLE_MS (15 * 60 * 1000) /* a session unused this long ends */
#define WEB_SESSION_MAX_MS (8 * 3600 * 1000) /* and any session after this */
#define WEB_MSG_MAX 320			 /* bytes of a command's result shown once */
#define WEB_PROBE_OUT 1024		 /* bytes of probe output kept */
#define WEB_LOGIN_TRIES CONSOLE_LOGIN_TRIES /* wrong passwords before a pause */
#define WEB_LOGIN_PAUSE_MS CONSOLE_LOGIN_PAUSE_MS
#define WEB_SID_BYTES 16		 /* session id: 128 random bits, 32 hex */
#define WEB_SETUP_CODE_LEN 9		 /* "XXXX-XXXX": 40 random bits */
#define WEB_LOG_TEXT_MAX 40		 /* bytes of the log filter text */

/* A window onto a response: bytes before skip are counted and dropped,
 * the next size are kept in buf, the rest counted (pos) and dropped. A
 * page is rendered again for each window; the server sends buf. */
struct web_sink {
	char *buf;
	size_t size, len;
	size_t skip, pos;
};
void web_put(struct web_sink *s, const char *data, size_t n);
void web_puts(struct web_sink *s, const char *text);
/* text with & < > " ' escaped for HTML */
void web_put_html(struct web_sink *s, const char *text, size_t n);
void web_printf(struct web_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum web_page {
	WEB_P_ERROR,	/* status + why */
	WEB_P_REDIRECT, /* 303 to location */
	WEB_P_CSS,
	WEB_P_LOGIN,
	WEB_P_DASHBOARD,
	WEB_P_QUEUE,
	WEB_P_LOG,
	WEB_P_SETTINGS,
	WEB_P_PROBE,
	WEB_P_TLSA,
	WEB_P_CA, /* the verify policy's trust anchors (console ca) */
};

/* What to send back: small, kept per connection while it streams. */
struct web_resp {
	uint16_t status;
	uint8_t page;	 /* enum web_page */
	int8_t session;	 /* slot of the logged-in session, -1: none */
	bool head_only;	 /* HEAD */
	bool close;	 /* Connection: close after it */
	bool set_cookie; /* Set-Cookie: cookie */
	bool clear_cookie;
	const char *why;      /* WEB_P_ERROR: static text */
	const char *location; /* WEB_P_REDIRECT: static path */
	char cookie[2 * WEB_SID_BYTES + 1];
	/* page arguments */
	uint32_t msg_id;	  /* WEB_P_QUEUE: show this message (0: none) */
	uint16_t log_n;		  /* WEB_P_LOG */
	char log_level[8];
	char log_text[WEB_LOG_TEXT_MAX + 1];
};

struct web_app_config {
	const struct console_env *env; /* the console's environment (required) */
	bool https;		       /* requests come over TLS (cookies get Secure) */
};

struct web_session {
	uint8_t sid[WEB_SID_BYTES];
	bool used;
	uint64_t created, last; /* now_ms */
	char msg[WEB_MSG_MAX];	/* result of the last action, shown once */
};

struct web_app {
	struct web_app_config cfg;
	struct console con; /* runs the commands; logged in by the web's own login */
	uint8_t key[32];    /* HMAC key of the CSRF tokens: random per boot */
	struct web_session sess[WEB_SESSIONS];
	/* Wrong passwords and setup codes per client address (the SMTP AUTH
	 * limiter: WEB_LOGIN_TRIES free, then WEB_LOGIN_PAUSE_MS doubling up
	 * to AUTHLIMIT_MAX_MS): a guesser does not lock out everybody else. */
	struct authlimit logins;
	struct port_addr peer; /* the client of the request being handled (web.c) */
	/* First boot, no console password: a one-time code (logged at boot)
	 * lets the web set one. "" once used or when a password exists. */
	char setup_code[WEB_SETUP_CODE_LEN + 1];
	bool probe_running;
	size_t probe_len;
	char probe_out[WEB_PROBE_OUT];
};

/* 0, or a negative error when no randomness is available (then refuse).
 * Without a console password it makes the one-time setup code and logs it
 * (the board's log sink: the serial console). */
int web_app_init(struct web_app *app, const struct web_app_config *cfg);
/* Decides the response to one complete request (p->state HTTP_P_DONE or
 * HTTP_P_ERROR); performs the action of a POST (once). https: it came over
 * TLS. */
void web_app_handle(struct web_app *app, const struct http_parser *p, bool https,
		    struct web_resp *r);
/* The status line and headers, then the body: rendered again for every
 * window of the sink; deterministic while the relay's state is. */
void web_app_head(struct web_app *app, const struct web_resp *r, bool https, bool chunked,
		  struct web_sink *s);
void web_app_body(struct web_app *app, const struct web_resp *r, struct web_sink *s);
/* cookie names a live session (web.c lends the large import body only
 * to one). */
bool web_app_session_valid(struct web_app *app, const char *cookie);
/* After the body went out: forget the one-time message. */
void web_app_sent(struct web_app *app, const struct web_resp *r);

/* The embedded stylesheet (web_assets.c). */
extern const char web_css[];
extern const size_t web_css_len;

#endif
