/* trust — the operator's trust anchors for the `verify` TLS policy
 * (Postfix's smtp_tls_security_level = verify): CA certificates (DER)
 * kept in the settings entry "tls_ca" (console `ca add|delete`, web
 * console), plus read-only anchors a board may supply as PEM text
 * (host board: --set tls_ca_file=PATH). Exports trust_each(), trust_add(),
 * trust_delete(), trust_describe(), trust_tlsa_set(), trust_board_load(),
 * the PEM paste decoder trust_pem_*(), and trust_strerror(). */
#ifndef DANEGATE_TRUST_H
#define DANEGATE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"
#include "dane/dane.h"

/* ---- limits ---------------------------------------------------------------- */
#define TRUST_SETTING "tls_ca"	/* settings entry: DER certificates back to back */
#define TRUST_BYTES_MAX 3072	/* DER bytes of all saved anchors: the settings
				 * image is 8 KiB and also holds the gateway's
				 * key, certificate, its next pair and the text
				 * settings; fits one RSA-4096 root and a few
				 * P-256 CAs */
#define TRUST_MAX 8		/* saved anchors */
#define TRUST_CERT_MAX 2048	/* DER bytes of one pasted certificate */
#define TRUST_DESC_MAX 320	/* one trust_describe() line */

/* ---- errors (negative) ------------------------------------------------------- */
enum trust_err {
	TRUST_OK = 0,
	TRUST_ENOENT = -2,     /* no anchor with that number */
	TRUST_EEXIST = -17,    /* the same certificate is saved already */
	TRUST_EINVAL = -22,    /* bad argument */
	TRUST_ENOSPC = -28,    /* TRUST_MAX anchors or TRUST_BYTES_MAX bytes */
	TRUST_EPARSE = -1201,  /* not an X.509 certificate mbedTLS can parse */
	TRUST_EPEM = -1202,    /* bad PEM: base64, no BEGIN/END, not a certificate */
	TRUST_ETOOBIG = -1203, /* one certificate over TRUST_CERT_MAX bytes */
	TRUST_ENOMEM = -12,    /* no heap for the new value (transient) */
};
/* Words for a trust_err (and settings errors), for consoles. */
const char *trust_strerror(int err);

/* Calls cb for each anchor: the saved ones (board false, n = 1, 2, ...,
 * the number `ca delete` takes) then the board's (board true, n from
 * 1 again). der points into the settings image (valid until the next
 * settings_set) or the board's parsed list. Returns the number of anchors. */
typedef void (*trust_cb)(void *ctx, unsigned n, bool board, const uint8_t *der, size_t len);
int trust_each(const struct settings *s, trust_cb cb, void *ctx);

/* Adds one DER certificate to the saved anchors (in RAM: the caller runs
 * settings_save). It must parse as X.509, not be saved already, and fit.
 * The new value is built on the mbedTLS heap (freed at once).
 * 0 or TRUST_EPARSE, TRUST_EEXIST, TRUST_ENOSPC, TRUST_ENOMEM, a
 * settings error. */
int trust_add(struct settings *s, const uint8_t *der, size_t len);
/* Removes saved anchor n (1-based, as listed). 0 or TRUST_ENOENT,
 * TRUST_ENOMEM. */
int trust_delete(struct settings *s, unsigned n);

/* One line on a certificate: "subject CN=...; expires 2027-01-31 (valid
 * | EXPIRED | not yet valid) ; SHA-256 ab:cd:...", at time now (Unix
 * seconds, < 0: unknown). Returns buf (cut to size, NUL-terminated). */
const char *trust_describe(const uint8_t *der, size_t len, int64_t now, char *buf, size_t size);

/* The anchors as DANE-TA full-certificate records (`2 0 0`), so that
 * dane_verify_chain() checks a chain to one of them, dates included, and
 * the leaf's name (the verify policy). set is initialised; its data
 * points into the settings image / the board list (use it before the
 * next settings_set). Returns the number of anchors put in. */
int trust_tlsa_set(const struct settings *s, struct dane_tlsa_set *set);

/* Board anchors from PEM text (several certificates allowed; NULL or ""
 * clears them). Parsed once onto the mbedTLS heap. Returns the number
 * loaded, or TRUST_EPEM. */
int trust_board_load(const char *pem);

/* ---- pasting PEM, line by line (console `ca add`) ------------------------- */
enum trust_pem_state { TRUST_PEM_BEFORE, TRUST_PEM_BODY, TRUST_PEM_END };
struct trust_pem {
	uint8_t der[TRUST_CERT_MAX];
	size_t len;
	char carry[4]; /* base64 characters of an unfinished quad */
	uint8_t ncarry;
	uint8_t state; /* enum trust_pem_state */
};
#define TRUST_PEM_MORE 1  /* give the next line */
#define TRUST_PEM_DONE 0  /* END CERTIFICATE: der[0..len) is the certificate */
#define TRUST_PEM_EMPTY 2 /* a blank line before BEGIN: nothing pasted */
void trust_pem_init(struct trust_pem *p);
/* One line (without its newline; a trailing CR is ignored). Lines before
 * BEGIN CERTIFICATE are skipped (openssl's "subject=" text), a blank
 * line ends the paste. Returns TRUST_PEM_MORE, TRUST_PEM_DONE,
 * TRUST_PEM_EMPTY, or TRUST_EPEM / TRUST_ETOOBIG (the paste is over). */
int trust_pem_line(struct trust_pem *p, const char *line);

#endif
