/* smtp_server — the inbound SMTP engine, sans-I/O: bytes and clock ticks
 * in, reply bytes, queue hook calls and "wants" out. The same code runs in
 * unit tests, fuzzers and the event loop. Exports smtp_server_*().
 *
 * Protocol: RFC 5321 (EHLO/HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP),
 * PIPELINING (2920), SIZE (1870), 8BITMIME, ENHANCEDSTATUSCODES (2034,
 * 3463), SMTPUTF8 (6531: accepted and carried as a flag), STARTTLS (3207),
 * AUTH PLAIN / LOGIN (4954).
 *
 * Decisions (the why is at each place in smtp_server.c):
 * - Relay control is by client only: a client inside cfg->relay_nets or
 *   one that has authenticated may send to any domain; everybody else gets
 *   "554 5.7.1" at every RCPT, before the address is even looked at, so no
 *   address trick (source route, %, !, quoting) can change the answer.
 *   danegate is an outbound relay for a LAN: it has no local domains and
 *   accepts no mail from strangers (so no special case for <postmaster>).
 * - The queue hears about a message only once a recipient is accepted:
 *   msg_begin + msg_rcpt at the first good RCPT, so refused clients never
 *   reach it.
 * - Line ends are strict CRLF. In DATA a bare CR or bare LF does not end a
 *   line: the bytes stay inside the current line, the message is refused at
 *   its real end (<CRLF>.<CRLF>) with "550 5.6.11" (the code Exchange
 *   uses for exactly this, so postmasters find it; not in the IANA
 *   registry, whose nearest is 5.6.0); from the bad octet on nothing
 *   more is written, and msg_abort() drops what was. So "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n" followed by
 *   "MAIL FROM" are message content, never commands (no SMTP smuggling).
 *   A command line with a bare LF is refused with "500 5.5.2"; a bare CR
 *   makes the command line invalid ("500 5.5.2").
 * - Lines: commands at most 512 octets with CRLF ("500 5.5.2 Line too
 *   long", RFC 5321 §4.5.3.1.4), AUTH responses at most
 *   SMTP_AUTH_LINE_MAX ("500 5.5.6", RFC 4954), text lines in DATA at most
 *   1000 with CRLF: a longer line makes the message refused at its end with
 *   "550 5.6.0" (RFC 5321 §4.5.3.1.6 sets the limit; we do not fold lines,
 *   which would change signed content). Same for a message over
 *   max_size: writes stop at the limit, the rest is read and dropped.
 * - Too big: DATA is read to its end, then "552 5.3.4". SIZE= above the
 *   limit: "552 5.3.4" at MAIL; SIZE= that the queue cannot hold now
 *   (check_size hook): "452 4.3.1" at MAIL. A queue that fills during DATA
 *   (msg_write / msg_commit return SMTP_EFULL): "452 4.3.1" at the end.
 * - Enhanced status codes are sent on every reply but the 220 greeting
 *   (as Postfix does); clients that did not say EHLO ignore them.
 * - AUTH is offered (and accepted) only under TLS unless
 *   cfg->auth_over_plaintext; otherwise "538 5.7.11". A failed AUTH counts
 *   as an error towards cfg->max_errors.
 * - STARTTLS: after "220 2.0.0 Ready to start TLS" every further byte fed
 *   before smtp_server_tls_started() is discarded (counted as consumed), so
 *   plaintext pipelined behind STARTTLS can never be read as a command
 *   after the handshake (RFC 3207 §4.2, CVE-2011-0411). The caller must
 *   also drop whatever plaintext it still holds unfed.
 * - Timeouts (RFC 5321 §4.5.3.2): 5 min waiting for a command, 3 min
 *   between DATA blocks; then "421 4.4.2" and close. The command timer
 *   restarts only when a whole line has arrived, so a client trickling
 *   a command one octet at a time gets no more than 5 min for it. In
 *   DATA, with cfg->min_data_rate set, the deadline is also never later
 *   than (start of DATA + timeout_data_ms + octets so far / rate): a
 *   client trickling content below that rate is cut off with the same
 *   421, however often it sends a byte (as Postfix's
 *   smtpd_min_data_rate). The 10-minute "DATA
 *   termination" timeout is the client's wait for our reply to the final
 *   dot; our reply is produced synchronously, so it has no server timer.
 *   The engine learns the time only from smtp_server_tick(): call it with
 *   the current time before feeding.
 * - EXPN is not implemented (502). A first word of GET, POST, PUT, HEAD
 *   or CONNECT is a browser or proxy aimed at us: "521 5.5.1" and close.
 * - Sessions: the caller counts them (no global state here) and passes the
 *   number already active to smtp_server_start(); at cfg->max_sessions
 *   the greeting is "421 4.3.2" and the session closes.
 *
 * Memory: everything is in struct smtp_server (4.3 KB), caller-owned; no
 * allocation. Stack: at most about 2.5 KB inside the engine (AUTH decoding
 * and the Received: header are the deep paths) plus what the hooks use.
 * Output is bounded by SMTP_OUT_MAX: when less than SMTP_REPLY_MAX is free
 * the engine stops consuming input (back-pressure) until the caller has
 * sent some and called smtp_server_consumed_output(). */
#ifndef DANEGATE_SMTP_SERVER_H
#define DANEGATE_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "smtp/smtp_addr.h"

/* ---- limits ------------------------------------------------------------ */
#define SMTP_CMD_LINE_MAX 512	/* octets including CRLF, RFC 5321 §4.5.3.1.4 */
#define SMTP_DATA_LINE_MAX 1000 /* octets including CRLF, §4.5.3.1.6 */
#define SMTP_AUTH_LINE_MAX 1000 /* AUTH response line incl. CRLF (PLAIN of 255+255+255) */
#define SMTP_REPLY_MAX 512	/* longest reply we produce (multi-line EHLO included) */
#define SMTP_OUT_MAX 2048	/* output buffer: several pipelined replies */
#define SMTP_HELO_MAX 255	/* EHLO/HELO argument kept for Received: */
#define SMTP_AUTH_FIELD_MAX 255 /* user name, password */
#define SMTP_QUEUE_ID_MAX 32	/* queue id text from msg_commit, with NUL */
#define SMTP_TLS_TEXT_MAX 64	/* TLS version / cipher suite names kept */
#define SMTP_HOST_MAX 255	/* our host name in replies */
#define SMTP_RECEIVED_MAX 900	/* the Received: header we write */

/* ---- errors (negative) --------------------------------------------------
 * Also what hooks return: 0 = yes/ok. */
enum smtp_err {
	SMTP_OK = 0,
	SMTP_EIO = -5,	    /* temporary failure: 451 4.3.0 / 454 4.7.0 */
	SMTP_EDENIED = -13, /* refused: bad credentials, or recipient refused */
	SMTP_EINVAL = -22,  /* bad argument */
	SMTP_EFULL = -28,   /* queue cannot take it now: 452 4.3.1 */
	SMTP_ELIMIT = -11,  /* AUTH from a client locked out after failures:
			     * 454 4.7.0, counts towards max_errors */
};

/* ---- configuration (caller-owned, must outlive the session) -------------- */
struct smtp_server_config {
	const char *hostname;		    /* greeting and Received: by */
	const struct smtp_cidr *relay_nets; /* clients that may relay */
	size_t relay_nets_count;
	uint32_t max_rcpts;	   /* per message; default 100 */
	uint64_t max_size;	   /* message octets (SIZE advertised); default 10 MB */
	uint32_t max_commands;	   /* per session, 0 = unlimited; default 1000 */
	uint32_t max_errors;	   /* per session, then 421 4.7.0; default 10 */
	uint32_t max_sessions;	   /* concurrent, see smtp_server_start(); 0 = no
				    * limit; default 4 */
	uint32_t timeout_cmd_ms;   /* default 300000 (5 min) */
	uint32_t timeout_data_ms;  /* between DATA blocks, default 180000 (3 min) */
	uint32_t min_data_rate;	   /* octets/s a DATA phase must average after
				    * its first timeout_data_ms; 0 = no minimum
				    * (default; the relay sets 500) */
	bool tls_available;	   /* a certificate is loaded: offer STARTTLS */
	bool auth_over_plaintext;  /* offer AUTH without TLS (default false) */
};

/* Fills cfg with the defaults above; hostname "localhost", no relay_nets. */
void smtp_server_config_defaults(struct smtp_server_config *cfg);

/* ---- the client as the caller knows it ------------------------------------ */
struct smtp_peer {
	struct port_addr addr; /* client address (for relay_nets and Received:) */
	bool tls;	       /* already TLS (port 465 style) */
	const char *tls_version; /* "TLSv1.3" when tls, copied */
	const char *tls_cipher;	 /* "TLS1-3-AES-128-GCM-SHA256" when tls, copied */
};

/* ---- hooks: the relay glue wires these to the queue and user table ------- */
enum smtp_msg_flags {
	SMTP_MSG_8BITMIME = 1u << 0, /* BODY=8BITMIME */
	SMTP_MSG_SMTPUTF8 = 1u << 1, /* SMTPUTF8 given at MAIL */
	SMTP_MSG_TLS = 1u << 2,	     /* received over TLS */
	SMTP_MSG_AUTH = 1u << 3,     /* from an authenticated client */
};

struct smtp_server_hooks {
	/* SIZE=size announced at MAIL: 0 if the queue can take it now,
	 * SMTP_EFULL if not (452 4.3.1). Optional. */
	int (*check_size)(void *ctx, uint64_t size);
	/* A message starts (at its first accepted recipient). sender is ""
	 * for the null sender. 0, SMTP_EFULL (452 4.3.1) or other (451). */
	int (*msg_begin)(void *ctx, const char *sender, unsigned flags);
	/* One more accepted recipient. 0, SMTP_EFULL, SMTP_EDENIED (550
	 * 5.7.1) or other (451). */
	int (*msg_rcpt)(void *ctx, const char *rcpt);
	/* Message bytes: first our Received: header, then the content with
	 * dot-stuffing removed and CRLF line ends, in order. 0, SMTP_EFULL or
	 * other; after an error no more writes come for this message. */
	int (*msg_write)(void *ctx, const uint8_t *data, size_t len);
	/* End of a good message: make it durable, write its id (NUL-
	 * terminated) into id. 0 => "250 2.0.0 Ok: queued as <id>",
	 * SMTP_EFULL => 452 4.3.1, other => 451 4.3.0. */
	int (*msg_commit)(void *ctx, char *id, size_t id_size);
	/* The message begun by msg_begin is abandoned (RSET, refused data,
	 * close, STARTTLS ...). */
	void (*msg_abort)(void *ctx);
	/* 0 if user/pass are good, SMTP_EDENIED if not (535 5.7.8),
	 * SMTP_ELIMIT when the client is locked out for failing too often
	 * (454 4.7.0, an error towards max_errors: relay/authlimit.h), other
	 * on temporary failure (454 4.7.0). Must compare in constant time.
	 * NULL: AUTH is never offered. */
	int (*auth_check)(void *ctx, const char *user, const char *pass);
	/* What a postmaster wants in the log: refused relaying, AUTH results
	 * (user name, never the password), refused messages and why,
	 * timeouts, limits, plaintext dropped after STARTTLS. text is one
	 * line without CR/LF, valid during the call. Optional. */
	void (*log)(void *ctx, enum port_log_level level, const char *text);
};

/* ---- what the engine wants from the caller -------------------------------- */
enum smtp_want {
	SMTP_WANT_READ,	    /* feed input; send any output */
	SMTP_WANT_FLUSH,    /* send the output first; do not feed */
	SMTP_WANT_STARTTLS, /* output sent: run the TLS handshake, then
			     * smtp_server_tls_started() (or close on failure) */
	SMTP_WANT_CLOSE,    /* output sent: close the connection */
};

enum smtp_server_state {
	SMTP_S_NEW,	   /* before smtp_server_start() */
	SMTP_S_CMD,	   /* reading command lines */
	SMTP_S_AUTH_PLAIN, /* AUTH PLAIN: waiting for the response line */
	SMTP_S_AUTH_USER,  /* AUTH LOGIN: waiting for the user name */
	SMTP_S_AUTH_PASS,  /* AUTH LOGIN: waiting for the password */
	SMTP_S_DATA,	   /* reading message content */
	SMTP_S_STARTTLS,   /* 220 sent; input discarded until tls_started */
	SMTP_S_CLOSING,	   /* final reply queued; input discarded */
};

/* Caller-owned session; treat the fields as private. */
struct smtp_server {
	const struct smtp_server_config *cfg;
	const struct smtp_server_hooks *hooks;
	void *hook_ctx;
	enum smtp_server_state state;

	struct port_addr peer;
	bool tls;
	char tls_version[SMTP_TLS_TEXT_MAX];
	char tls_cipher[SMTP_TLS_TEXT_MAX];

	/* session */
	bool helo_done, esmtp, relay_ok, authed;
	char helo[SMTP_HELO_MAX + 1];
	char auth_user[SMTP_AUTH_FIELD_MAX + 1]; /* AUTH LOGIN between steps */
	uint32_t commands, errors;

	/* transaction */
	bool in_mail, msg_begun;
	unsigned msg_flags;
	uint32_t rcpts;
	char sender[SMTP_MAILBOX_BUF];
	char first_rcpt[SMTP_MAILBOX_BUF]; /* for "for <...>" in Received: */

	/* input line (commands, AUTH responses, DATA lines) */
	uint8_t line[SMTP_DATA_LINE_MAX];
	size_t line_len;
	bool pending_cr; /* last octet was CR, its LF not yet seen */
	bool line_overflow, line_bare;

	/* DATA */
	uint64_t data_size;
	uint64_t data_in, data_start_ms; /* octets fed in DATA and since when */
	bool data_bare, data_long, data_big;
	int data_write_err;

	/* output */
	uint8_t out[SMTP_OUT_MAX];
	size_t out_len;

	/* time */
	uint64_t now_ms, deadline_ms;
	int64_t wall_time;
	uint64_t discarded; /* octets dropped after STARTTLS / at close */
};

/* Prepares a session; cfg, hooks and hook_ctx must outlive it. now_ms is
 * the monotonic clock, wall_time the Unix time (for Received:; < 0 if
 * unknown). Returns 0 or SMTP_EINVAL. */
int smtp_server_init(struct smtp_server *s, const struct smtp_server_config *cfg,
		     const struct smtp_server_hooks *hooks, void *hook_ctx,
		     const struct smtp_peer *peer, uint64_t now_ms, int64_t wall_time);

/* Queues the greeting: "220 <host> ESMTP danegate <version>", or
 * "421 4.3.2" (then close) when active_sessions (others, not counting this
 * one) already reaches cfg->max_sessions. */
void smtp_server_start(struct smtp_server *s, uint32_t active_sessions);

/* Consumes up to len octets; returns how many were taken. Fewer than len
 * means back-pressure (send output, then feed the rest) or a want other
 * than SMTP_WANT_READ. */
size_t smtp_server_feed(struct smtp_server *s, const uint8_t *in, size_t len);

/* The pending output: returns its length and points *data at it (valid
 * until the next call into the engine). */
size_t smtp_server_output(const struct smtp_server *s, const uint8_t **data);
/* n octets of the output were sent. */
void smtp_server_consumed_output(struct smtp_server *s, size_t n);

/* Tells the engine the time; queues "421 4.4.2" and closes on timeout. */
void smtp_server_tick(struct smtp_server *s, uint64_t now_ms, int64_t wall_time);

enum smtp_want smtp_server_want(const struct smtp_server *s);

/* The TLS handshake after STARTTLS succeeded: the session starts over
 * (RFC 3207 §4.2: EHLO again, no AUTH, no transaction kept). */
void smtp_server_tls_started(struct smtp_server *s, const char *version, const char *cipher);

/* The connection is gone (closed, reset, TLS failure): abandons an open
 * message. Idempotent. */
void smtp_server_close(struct smtp_server *s);

enum smtp_server_state smtp_server_state(const struct smtp_server *s);

#endif
