/* smtp_client — the outbound SMTP engine, sans-I/O: server reply bytes and
 * clock ticks in; command and message bytes, per-recipient results and
 * "wants" out. One session delivers one or more messages to one server.
 * Exports smtp_client_*().
 *
 * Protocol: RFC 5321, PIPELINING (2920), SIZE (1870), 8BITMIME (6152),
 * SMTPUTF8 (6531), STARTTLS (3207), AUTH PLAIN / LOGIN (4954), implicit
 * TLS (8314), enhanced status codes (2034, 3463).
 *
 * Decisions (the why is at each place in smtp_client.c):
 * - TLS policy is the caller's (DANE, per-destination table): NONE never
 *   starts TLS; MAY starts it when offered and goes on in clear when the
 *   server refuses STARTTLS; REQUIRED ends the session with 4.7.4 "TLS is
 *   required, but was not offered by host X" when it is not offered (or
 *   refused), and never falls back from EHLO to HELO. The handshake and
 *   its verification are the caller's: on SMTP_CLIENT_WANT_TLS run it,
 *   then smtp_client_tls_started() or smtp_client_abort() (under MAY
 *   the caller may retry in clear on a new connection with NONE, as
 *   DANE-RULES 11 allows where DANE does not apply). Plaintext the
 *   server sends after its 220 to STARTTLS is discarded (injection,
 *   CVE-2011-0411 seen from the client side).
 * - AUTH only under TLS (credentials never cross in clear), PLAIN
 *   preferred over LOGIN; a refused AUTH ends the session (deferral).
 * - 8-bit content is never sent to a server that did not offer 8BITMIME
 *   (RFC 6152 §3: we do not convert, so the message fails with 5.6.3).
 *   This holds even when the message was not flagged 8-bit: the body is
 *   checked as it is streamed, and at the first 8-bit octet the
 *   connection is dropped before that octet is sent (no final dot, so the
 *   server discards the partial message). SMTPUTF8 is asked for only when
 *   the message needs it; a server without it fails the message, 5.6.7.
 *   A message over the server's SIZE fails with 5.3.4 before MAIL.
 * - Every recipient handed over by smtp_client_next_message() gets
 *   exactly one result through hooks->rcpt_result: delivered (2xx to the
 *   final dot), deferred (4xx at MAIL / RCPT / DATA / dot, or the session
 *   ended: 421, timeout, lost connection, malformed reply, TLS policy),
 *   or failed (5xx). Hostile servers (garbage, mixed codes, endless
 *   multi-line replies — bounded by smtp_reply — stalls) always end in a
 *   deferral with a reason, never a failure.
 * - With PIPELINING, MAIL, every RCPT and DATA are sent as one group
 *   (as far as the output buffer holds them) and the replies read in
 *   order. DATA is not sent once every RCPT is known to be refused; if it
 *   was already sent and the server answers 354 anyway, a lone "." ends
 *   the empty message (RFC 2920 §3.1); a refused DATA is followed by RSET.
 * - After a delivered message the next MAIL follows without RSET; after
 *   an aborted transaction (MAIL accepted, no message sent) RSET first.
 * - Body: the caller's read hook supplies the content (from the flash
 *   queue, never buffered whole). Lines are sent with CRLF ends (a bare
 *   LF or CR becomes CRLF: never a bare one on the wire, so no SMTP
 *   smuggling through us), dot-stuffed, and a missing final CRLF is added
 *   before "." CRLF.
 * - Timeouts (RFC 5321 §4.5.3.2, configurable): greeting 5 min, EHLO /
 *   HELO / STARTTLS / AUTH / MAIL / RSET / QUIT 5 min, RCPT 5 min, DATA
 *   2 min, each data block 3 min, final dot 10 min. The engine learns the
 *   time only from smtp_client_tick(): call it after init and before
 *   feeding. There is no timer while the caller runs the TLS handshake
 *   or holds an idle session (SMTP_CLIENT_WANT_MESSAGE).
 *
 * - Not done here: DSN extensions (NOTIFY/ORCPT/RET/ENVID), CHUNKING,
 *   folding of text lines over 998 octets (the inbound engine refuses
 *   them, so queued content has none), LMTP.
 *
 * Memory: everything is in struct smtp_client (about 6.7 KB), caller-
 * owned, no allocation; under 1 KB of stack inside the engine plus the
 * hooks. Output is bounded by SMTP_CLIENT_OUT_MAX: commands and body
 * chunks are produced only when they fit, and more follow as the caller
 * reports output sent (smtp_client_consumed_output). */
#ifndef DANEGATE_SMTP_CLIENT_H
#define DANEGATE_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_reply.h"

/* ---- limits ------------------------------------------------------------ */
#define SMTP_CLIENT_OUT_MAX 2048   /* output: a pipelined group, or body chunks */
#define SMTP_CLIENT_CHUNK_MAX 512  /* message octets read per read() call */
#define SMTP_CLIENT_RCPT_MAX 100   /* recipients per message (RFC 5321 §4.5.3.1.8) */
#define SMTP_CLIENT_REASON_MAX 512 /* reason text incl. NUL; longer is cut with "..." */
#define SMTP_CLIENT_PEER_MAX 300   /* "host.name[address]" incl. NUL */
#define SMTP_CLIENT_NAME_MAX 255   /* our EHLO name */
#define SMTP_CLIENT_AUTH_MAX 255   /* user name, password */

/* ---- errors (negative) -------------------------------------------------- */
enum smtp_client_err {
	SMTP_CLIENT_OK = 0,
	SMTP_CLIENT_EINVAL = -22, /* bad argument (addresses with control
				   * characters, too many recipients, ...) */
	SMTP_CLIENT_EBUSY = -16,  /* a message is already in progress */
	SMTP_CLIENT_ECLOSED = -32 /* the session has ended: see smtp_client_error() */
};

enum smtp_tls_policy {
	SMTP_TLS_NONE,	   /* never STARTTLS */
	SMTP_TLS_MAY,	   /* STARTTLS when offered, else clear text */
	SMTP_TLS_REQUIRED, /* STARTTLS or no delivery (4.7.4) */
};

/* ---- configuration (caller-owned, must outlive the session) -------------- */
struct smtp_client_config {
	const char *ehlo_name; /* our name in EHLO / HELO (<= 255 octets) */
	const char *peer;      /* "mx.example.net[192.0.2.1]" for reasons (copied,
				* cut at SMTP_CLIENT_PEER_MAX - 1) */
	enum smtp_tls_policy tls;
	bool implicit_tls;     /* the connection is TLS from its start (465) */
	const char *auth_user; /* NULL: no AUTH; used only under TLS */
	const char *auth_pass;
	uint32_t timeout_greeting_ms; /* default 300000 */
	uint32_t timeout_cmd_ms;      /* EHLO HELO STARTTLS AUTH MAIL RSET QUIT: 300000 */
	uint32_t timeout_rcpt_ms;     /* 300000 */
	uint32_t timeout_data_ms;     /* DATA (the 354): 120000 */
	uint32_t timeout_block_ms;    /* each piece of the body sent: 180000 */
	uint32_t timeout_dot_ms;      /* reply to the final dot: 600000 */
};

/* Timeouts of RFC 5321 §4.5.3.2, policy MAY, no AUTH, ehlo_name
 * "localhost", peer "unknown". */
void smtp_client_config_defaults(struct smtp_client_config *cfg);

/* ---- a message to deliver (caller-owned until its last result) ---------- */
enum smtp_client_msg_flags {
	SMTP_CLIENT_MSG_8BIT = 1u << 0,	   /* content has 8-bit octets (BODY=8BITMIME) */
	SMTP_CLIENT_MSG_SMTPUTF8 = 1u << 1, /* needs SMTPUTF8 (also implied by a
					     * non-ASCII sender or recipient) */
};

struct smtp_client_msg {
	const char *sender;	  /* mailbox without <>, "" for the null sender */
	const char *const *rcpts; /* mailboxes without <> */
	size_t rcpt_count;	  /* 1..SMTP_CLIENT_RCPT_MAX */
	uint64_t size;		  /* content octets (for SIZE=), 0 if unknown */
	unsigned flags;		  /* enum smtp_client_msg_flags */
};

/* ---- results -------------------------------------------------------------- */
enum smtp_client_result {
	SMTP_CLIENT_DELIVERED,
	SMTP_CLIENT_DEFERRED,
	SMTP_CLIENT_FAILED,
};

struct smtp_client_status {
	uint16_t code;	 /* the server's reply code; 0 when decided here */
	uint16_t enh[3]; /* enhanced status code, always set; class 4 for a
			  * deferral, 5 for a failure, 2 for a delivery */
	/* "host mx.example.net[192.0.2.1] said: 550 5.1.1 no such user (in
	 * reply to RCPT TO)" or a local reason; one line, NUL-terminated. */
	char text[SMTP_CLIENT_REASON_MAX];
	/* Where the server's own reply ("550 5.1.1 no such user", lines
	 * joined by ' ', maybe cut with "...") sits inside text: for a DSN's
	 * Diagnostic-Code. reply_len 0 when decided here. */
	uint16_t reply_off, reply_len;
};

/* Hooks run inside engine calls and must not call back into the engine. */
struct smtp_client_hooks {
	/* Message content from offset: copy up to len octets into buf and
	 * return how many (> 0), 0 at the end of the message, or < 0 on a
	 * local error (the session ends, recipients deferred 4.3.0). The
	 * content is the message as queued: header and body, CRLF lines,
	 * not dot-stuffed. */
	long (*read)(void *ctx, uint64_t offset, uint8_t *buf, size_t len);
	/* The result for msg->rcpts[rcpt] of the current message; st is
	 * valid during the call. Called once per recipient. */
	void (*rcpt_result)(void *ctx, size_t rcpt, enum smtp_client_result result,
			    const struct smtp_client_status *st);
	/* Things a postmaster wants in the log (STARTTLS refused, AUTH not
	 * possible, plaintext after STARTTLS). One line, valid during the
	 * call. Optional. Never contains credentials. */
	void (*log)(void *ctx, enum port_log_level level, const char *text);
};

/* ---- what the engine wants from the caller -------------------------------- */
enum smtp_client_want {
	SMTP_CLIENT_WANT_READ,	  /* send the output (if any), feed the server's bytes */
	SMTP_CLIENT_WANT_TLS,	  /* output sent: run the TLS handshake and verify,
				   * then smtp_client_tls_started() or _abort() */
	SMTP_CLIENT_WANT_MESSAGE, /* idle: smtp_client_next_message() or _quit() */
	SMTP_CLIENT_WANT_CLOSE,	  /* send the output, then close; the session is over */
};

enum smtp_client_state {
	SMTP_C_GREETING, /* waiting for the 220 */
	SMTP_C_EHLO,	 /* EHLO sent */
	SMTP_C_HELO,	 /* HELO sent (EHLO refused with 5xx) */
	SMTP_C_STARTTLS, /* STARTTLS sent */
	SMTP_C_TLS,	 /* 220 to STARTTLS read: the caller's handshake */
	SMTP_C_AUTH,	 /* AUTH PLAIN or AUTH LOGIN in progress */
	SMTP_C_READY,	 /* between messages */
	SMTP_C_ENVELOPE, /* MAIL, RCPT..., DATA: sending and reading replies */
	SMTP_C_BODY,	 /* 354 read: streaming the content */
	SMTP_C_DOT,	 /* final dot queued: waiting for its reply */
	SMTP_C_RSET,	 /* RSET after an abandoned transaction */
	SMTP_C_QUIT,	 /* QUIT sent */
	SMTP_C_CLOSED,	 /* over */
};

/* Caller-owned session; treat the fields as private. */
struct smtp_client {
	const struct smtp_client_config *cfg;
	const struct smtp_client_hooks *hooks;
	void *hook_ctx;
	enum smtp_client_state state;
	char peer[SMTP_CLIENT_PEER_MAX];

	/* session */
	bool tls, esmtp, cmd_due;
	bool cap_pipelining, cap_8bitmime, cap_smtputf8, cap_starttls, cap_size;
	bool cap_auth_plain, cap_auth_login;
	uint64_t size_limit; /* SIZE n; 0 = no stated limit */
	uint8_t auth_step;   /* AUTH LOGIN: 0 command, 1 user, 2 password */
	bool failed;	     /* the session ended early: see error */
	bool quit_pending;   /* smtp_client_quit() called: QUIT when idle */
	struct smtp_client_status error;

	/* message */
	const struct smtp_client_msg *msg;
	bool msg_utf8;
	uint8_t rstate[SMTP_CLIENT_RCPT_MAX]; /* enum rcpt_state in the .c */
	size_t accepted, unresolved;
	size_t seq_sent, seq_replied; /* 0 = MAIL, 1..n = RCPT, n+1 = DATA */
	bool mail_ok, txn_dead, empty_dot;
	uint64_t read_off;
	bool body_eof, body_bol, body_cr;

	/* input */
	struct smtp_reply_reader rd;
	uint64_t discarded; /* plaintext octets dropped after STARTTLS */

	/* output */
	uint8_t out[SMTP_CLIENT_OUT_MAX];
	size_t out_len;
	uint8_t chunk[SMTP_CLIENT_CHUNK_MAX];

	/* time */
	bool clock_known;
	uint64_t now_ms, deadline_ms;
	uint32_t wait_ms; /* the timeout armed; 0 = none */

	struct smtp_client_status st; /* scratch for results */
};

/* Prepares a session on a freshly opened connection; the first thing is
 * the server's greeting. cfg, hooks and hook_ctx must outlive it.
 * Returns 0 or SMTP_CLIENT_EINVAL (missing hooks or names, AUTH fields
 * over SMTP_CLIENT_AUTH_MAX, control characters in names). */
int smtp_client_init(struct smtp_client *c, const struct smtp_client_config *cfg,
		     const struct smtp_client_hooks *hooks, void *hook_ctx);

/* Hands over the next message. Allowed before the session is ready (it
 * waits) and in SMTP_CLIENT_WANT_MESSAGE. On 0, every recipient will get
 * one rcpt_result (some may come during this call: a message the server
 * cannot take by its EHLO fails at once); msg and its strings must stay
 * valid until then. SMTP_CLIENT_EBUSY, SMTP_CLIENT_ECLOSED,
 * SMTP_CLIENT_EINVAL (no or too many recipients, a mailbox over
 * SMTP_PATH_MAX - 2 octets or with control characters, '<' or '>'): no
 * results will come. */
int smtp_client_next_message(struct smtp_client *c, const struct smtp_client_msg *msg);

/* No more messages: QUIT when idle (or at once when ready), then close. */
void smtp_client_quit(struct smtp_client *c);

/* Consumes up to len octets of server input; returns how many were taken
 * (fewer when the engine stops reading: want is not READY any more). */
size_t smtp_client_feed(struct smtp_client *c, const uint8_t *in, size_t len);

/* The pending output (commands, or body produced now from the read
 * hook): returns its length and points *data at it, valid until the next
 * call into the engine. */
size_t smtp_client_output(struct smtp_client *c, const uint8_t **data);
/* n octets of the output were sent. */
void smtp_client_consumed_output(struct smtp_client *c, size_t n);

/* Tells the engine the time (monotonic ms); on a timeout the session
 * ends with a deferral "conversation with host X timed out while ...". */
void smtp_client_tick(struct smtp_client *c, uint64_t now_ms);

enum smtp_client_want smtp_client_want(const struct smtp_client *c);

/* The TLS handshake after the 220 to STARTTLS succeeded and the caller's
 * policy accepted the peer: EHLO again, capabilities forgotten (RFC 3207
 * §4.2). */
void smtp_client_tls_started(struct smtp_client *c);

/* The connection is gone or the caller ends it (TLS handshake failed,
 * certificate not verified): every recipient without a result is
 * deferred. enh is the enhanced code to give ("4.7.5"; NULL: 4.4.2),
 * reason the text (NULL: "lost connection with host X while ...").
 * Idempotent. */
void smtp_client_abort(struct smtp_client *c, const char *enh, const char *reason);

/* Why the session ended early (greeting refused, TLS policy, 421,
 * timeout, ...), or NULL if it did not (yet). */
const struct smtp_client_status *smtp_client_error(const struct smtp_client *c);

/* True once the session runs over TLS (implicit or after STARTTLS). */
bool smtp_client_tls_active(const struct smtp_client *c);

enum smtp_client_state smtp_client_state(const struct smtp_client *c);

#endif
