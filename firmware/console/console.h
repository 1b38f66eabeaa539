/* console — the one command set of the serial and web consoles, sans-I/O:
 * console_exec() takes one line and writes text to a bounded output sink;
 * the caller moves bytes (serial.c over port_console_*, the web console
 * over HTTP). Exports console_init/exec/prompt/echo, the output sink
 * (console_out_*), and struct console_stats which the delivery side feeds.
 *
 * Ownership: the caller owns struct console, its env and everything env
 * points at; they must outlive the console. Single-threaded. */
#ifndef DANEGATE_CONSOLE_H
#define DANEGATE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/settings.h"
#include "queue/queue.h"
#include "relay/inbound.h"
#include "relay/rollover.h"
#include "tls/tls.h"

#define CONSOLE_LINE_MAX 512	   /* bytes of one command line, NUL included */
#define CONSOLE_ARGS_MAX 8	   /* words parsed from a line */
#define CONSOLE_QUEUE_LIST_MAX 64  /* messages listed by `queue list` (then "N more") */
#define CONSOLE_LOG_TAIL_MAX 200   /* lines `log tail N` prints at most */
#define CONSOLE_LOGIN_TRIES 3	   /* wrong passwords before a pause */
#define CONSOLE_LOGIN_PAUSE_MS 30000
#define CONSOLE_STATS_DOMAINS 16   /* destination domains kept (least recent replaced) */
#define CONSOLE_DOMAIN_MAX 64	   /* bytes of a kept domain name, NUL included */

/* Results of console_exec: 0, CONSOLE_REBOOT (print the output, then call
 * port_reboot), or a negative error (the command printed why; nothing
 * changed). */
enum console_result {
	CONSOLE_OK = 0,
	CONSOLE_REBOOT = 1,
	CONSOLE_EUNKNOWN = -2, /* no such command */
	CONSOLE_EACCES = -13,  /* not logged in / wrong password */
	CONSOLE_EINVAL = -22,  /* bad arguments */
	CONSOLE_EFAIL = -5,    /* the operation failed (flash, queue, TLS) */
	CONSOLE_ENOTSUP = -95, /* not available (yet) on this build */
};

/* ---- output sink --------------------------------------------------------
 * A bounded buffer. With a flush callback (serial) a full buffer is
 * handed to it and reused, so long output streams; without one (web)
 * output beyond size is dropped and `truncated` set. */
struct console_out {
	char *buf;
	size_t size, len;
	bool truncated;
	void (*flush)(void *ctx, const char *data, size_t len);
	void *ctx;
};
void console_out_init(struct console_out *o, char *buf, size_t size,
		      void (*flush)(void *ctx, const char *data, size_t len), void *ctx);
void console_printf(struct console_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void console_puts(struct console_out *o, const char *s);
/* Hands what is buffered to flush (no-op without one). */
void console_out_flush(struct console_out *o);

/* ---- delivery statistics: the relay updates these ----------------------
 * Classes as a postmaster reads them (RFC 7672 / Postfix words). */
enum console_class {
	CONSOLE_CLASS_VERIFIED,	 /* DANE-verified TLS */
	CONSOLE_CLASS_TRUSTED,	 /* WebPKI-verified TLS */
	CONSOLE_CLASS_UNTRUSTED, /* TLS, certificate not verified */
	CONSOLE_CLASS_ANONYMOUS, /* TLS with an anonymous cipher / no certificate */
	CONSOLE_CLASS_CLEAR,	 /* no TLS */
	CONSOLE_CLASSES
};
struct console_stats_domain {
	char domain[CONSOLE_DOMAIN_MAX];
	uint32_t by_class[CONSOLE_CLASSES];
	bool dnssec;	  /* MX/TLSA answers were DNSSEC-validated at the last delivery */
	uint64_t last_ms; /* port_now_ms of the last delivery */
};
struct console_stats {
	uint32_t by_class[CONSOLE_CLASSES];
	uint32_t deferred, bounced;
	struct console_stats_domain dom[CONSOLE_STATS_DOMAINS];
};
const char *console_class_name(enum console_class cls);
/* Counts one delivery to domain (a longer name is cut to fit). */
void console_stats_record(struct console_stats *st, const char *domain, enum console_class cls,
			  bool dnssec, uint64_t now_ms);

/* ---- the relay state the commands read and change --------------------- */
struct console_env {
	struct settings *settings;	 /* required */
	struct queue *queue;		 /* NULL: queue not mounted */
	struct tls_cred *cred;		 /* NULL: no TLS credentials */
	struct console_stats *stats;	 /* NULL: no delivery yet */
	config_board_fn board;		 /* port_setting (NULL in tests) */
	void (*inbound_stats)(struct inbound_stats *st); /* NULL: inbound not running */
	/* One line on the resolver (dns_resolver_status() bound to the
	 * relay's resolver); NULL: no resolver yet. */
	size_t (*dns_status)(char *buf, size_t size);
	uint64_t (*now_ms)(void);	 /* port_now_ms */
	int64_t (*wall_time)(void);	 /* port_wall_time: queue times are wall seconds */
	uint32_t boot_count;
	/* The TLSA rollover watch (relay/rollover.h); NULL: no resolver, so
	 * `tlsa switch` needs `force`. */
	void (*tlsa_status)(struct rollover_status *st);
	int (*tlsa_check)(void);   /* rollover_check_now */
	void (*tlsa_changed)(void); /* rollover_reset: next key made or switched */
	/* Puts a new key and certificate (DER) into service for new inbound
	 * sessions now; NULL or an error: from the next boot. */
	int (*tls_cred_switch)(const uint8_t *key, size_t key_len, const uint8_t *crt,
			       size_t crt_len);
	/* Outbound delivery (relay/outbound.h); NULL: not running. */
	int (*queue_flush)(void); /* `queue flush`: messages marked, or < 0 */
	/* `probe DOMAIN`: lines "probe: ..." and a final "probe: done: ...",
	 * later, from the event loop (0, or < 0: not started) */
	int (*probe)(const char *domain, void (*line)(void *ctx, const char *s), void *ctx);
	void (*probe_cancel)(void);
	/* One line on outbound delivery for `status` (outbound_status). */
	size_t (*out_status)(char *buf, size_t size);
};

enum console_mode {
	CONSOLE_MODE_CMD,	   /* reading commands */
	CONSOLE_MODE_LOGIN,	   /* next line is the console password */
	CONSOLE_MODE_PASSWD_NEW,   /* next line is a new password */
	CONSOLE_MODE_PASSWD_AGAIN, /* next line repeats it */
	CONSOLE_MODE_IMPORT,	   /* `tlsa import`: PEM lines until an empty one */
	CONSOLE_MODE_CA_PEM,	   /* `ca add`: PEM lines until END CERTIFICATE */
};

struct console {
	const struct console_env *env;
	enum console_mode mode;
	bool authed;
	unsigned login_failures;
	uint64_t login_pause_until; /* now_ms before which logins are refused */
	unsigned char pw_first[32]; /* passwd: SHA-256 of the first entry, wiped after */
	size_t import_len; /* bytes pasted so far (the text: tls_import_text_claim) */
};
/* Commands that need more scratch than a small stack (a message's details,
 * the ids `queue list` shows, a new key) take it from the heap for the
 * call: no static RAM in each console for what is idle between calls. */

/* Sets c up for env; asks for a login if console_password is set. */
void console_init(struct console *c, const struct console_env *env);
/* Runs one line (without its newline). See enum console_result. */
int console_exec(struct console *c, const char *line, struct console_out *out);
/* What to show before the next line ("danegate> ", "Password: ", ...). */
const char *console_prompt(const struct console *c);
/* False while a password is being typed: the caller must not echo it. */
bool console_echo(const struct console *c);
/* Back to the login step (serial `logout`, web session end). */
void console_logout(struct console *c);
/* `tlsa import` of a whole PEM text (the web form; the serial console
 * collects the lines in CONSOLE_MODE_IMPORT): checked, stored as the
 * current key's renewal (in service at once) or as the next key. */
int console_tlsa_import(struct console *c, const char *text, struct console_out *o);
/* `ca add` with the whole PEM at once (the web console's form): the same
 * checks and messages as a paste. text is split into lines in place and
 * restored. 0 or a console_result. */
int console_ca_add(struct console *c, char *text, struct console_out *o);

#endif
