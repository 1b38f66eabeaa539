/* tls — mbedTLS glue for every board: the static heap arena, the DRBG,
 * the gateway's own key and self-signed certificate, and TLS sessions on
 * port.h sockets through a non-blocking BIO (so STARTTLS is just "start
 * the handshake on this socket now"). Exports tls_init(), tls_cred_*(),
 * tls_server_config(), tls_conn_*(). */
#ifndef DANEGATE_TLS_H
#define DANEGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

/* All mbedTLS allocations come from one static arena (its peak is shown
 * on the console). Sized for 4 inbound + 2 outbound sessions, see
 * docs; a board may override it. */
#ifndef TLS_ARENA_SIZE
#define TLS_ARENA_SIZE (200 * 1024)
#endif

/* Negative results besides mbedTLS's own codes (which stay above -0x8000). */
#define TLS_WANT_READ (-0x10001) /* call again after PORT_EV_READABLE */
#define TLS_WANT_WRITE (-0x10002) /* call again after PORT_EV_WRITABLE */

/* Once per boot: arena, PSA, entropy and DRBG. 0 or an mbedTLS error. */
int tls_init(void);
bool tls_ready(void);
mbedtls_ctr_drbg_context *tls_drbg(void);
/* Arena bytes in use now and at the peak since boot. */
void tls_heap_stats(size_t *now, size_t *peak);

/* ---- the gateway's own credentials ------------------------------------ */
struct tls_cred {
	mbedtls_pk_context key;
	mbedtls_x509_crt cert;
};

/* Make a new ECDSA P-256 key and a self-signed certificate for hostname
 * (CN and DNS SAN), valid from a day before now for ten years. Writes DER
 * into key_der/crt_der (caller's buffers, sizes in/out). */
int tls_cred_generate(const char *hostname, int64_t now, uint8_t *key_der, size_t *key_len,
		      uint8_t *crt_der, size_t *crt_len);
/* Longest own chain (sum of the DER certificates) that fits the Certificate
 * handshake message in one output record (MBEDTLS_SSL_OUT_CONTENT_LEN less
 * the message's headers, 3 bytes per certificate and TLS 1.3's extension
 * fields: 64 bytes is generous for a chain of a few certificates). */
#define TLS_OWN_CHAIN_MAX (MBEDTLS_SSL_OUT_CONTENT_LEN - 64)

/* Parse DER or PEM key and certificate chain into cred (owned by cred;
 * free with tls_cred_free). MBEDTLS_ERR_SSL_BAD_CONFIG when the chain is
 * longer than TLS_OWN_CHAIN_MAX (it could not be sent). */
int tls_cred_load(struct tls_cred *cred, const uint8_t *key, size_t key_len, const uint8_t *crt,
		  size_t crt_len);
void tls_cred_free(struct tls_cred *cred);

/* ---- configurations ----------------------------------------------------- */
/* Inbound STARTTLS / HTTPS: TLS 1.2 and 1.3 only, our certificate. */
int tls_server_config(mbedtls_ssl_config *conf, struct tls_cred *cred);

/* Outbound SMTP: TLS 1.2 and 1.3, our suites, authmode OPTIONAL — the
 * handshake proves possession of the leaf key, and the caller's policy
 * (DANE, or a WebPKI name check) judges the chain afterwards and aborts
 * before any mail is sent when it says no. An optional client
 * certificate may be given (NULL: none). */
int tls_client_config(mbedtls_ssl_config *conf, struct tls_cred *client_cred);

/* ---- sessions on port.h sockets --------------------------------------- */
struct tls_conn {
	mbedtls_ssl_context ssl;
	int sock;
	bool established;
};

/* Bind a fresh session to sock. sni (client side) may be NULL. */
int tls_conn_setup(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock, const char *sni);
/* Drive the handshake: 0 when done, TLS_WANT_READ / TLS_WANT_WRITE, or a
 * negative mbedTLS error (the session is then unusable). */
int tls_conn_handshake(struct tls_conn *c);
/* >0 bytes, 0 on close_notify or EOF, TLS_WANT_*, or a negative error. */
long tls_conn_read(struct tls_conn *c, void *buf, size_t len);
long tls_conn_write(struct tls_conn *c, const void *buf, size_t len);
/* Bytes already decrypted and waiting (read them before waiting on the
 * socket again: they produce no new socket event). */
size_t tls_conn_pending(const struct tls_conn *c);
/* Send close_notify best-effort and free the session (not the socket). */
void tls_conn_free(struct tls_conn *c);
const char *tls_conn_version(const struct tls_conn *c);
const char *tls_conn_cipher(const struct tls_conn *c);
/* A short English description of an mbedTLS or TLS_* error code. */
const char *tls_strerror(int err);

/* ---- import and description (tls_import.c) -------------------------------
 * An operator's own key and chain as PEM text: one private key (PKCS#8,
 * SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", not encrypted; an
 * "EC PARAMETERS" block is skipped) and the certificates, leaf first.
 * Checked: the key is EC P-256/P-384 or RSA 2048-4096, it belongs to the
 * first certificate, the chain fits TLS_OWN_CHAIN_MAX and has at most
 * TLS_IMPORT_CERTS_MAX certificates; reported, not refused: leaf dates,
 * the hostname in the SAN, issuer order, self-signed. */
#define TLS_IMPORT_TEXT_MAX 6144 /* bytes of PEM text (RSA-4096 key + a 1984-byte chain) */
#define TLS_IMPORT_CERTS_MAX 4
#define TLS_KEY_DER_MAX 2400	 /* bytes of a stored key: RSA-4096 is ~2350 (P-256: 121) */
enum tls_import_err {
	TLS_IMPORT_EINVAL = -22,
	TLS_IMPORT_EPARSE = -74,    /* not PEM, bad base64, does not parse */
	TLS_IMPORT_EKEY = -95,	    /* key type or size not accepted */
	TLS_IMPORT_EMISMATCH = -129, /* the key is not the leaf's */
	TLS_IMPORT_ECHAIN = -27,    /* chain too long */
};
struct tls_import {
	uint8_t key_der[TLS_KEY_DER_MAX]; /* the key as the settings keep it */
	size_t key_len;
	uint8_t chain_der[TLS_OWN_CHAIN_MAX]; /* the certificates' DER back to back */
	size_t chain_len;
	unsigned ncerts;
	uint8_t spki[32]; /* SHA-256 of the leaf's SubjectPublicKeyInfo: its 3 1 1 data */
	int64_t not_before; /* the leaf's, wall seconds */
	char key_type[24]; /* "EC P-256", "RSA 2048" */
	bool expired, not_yet_valid, name_ok, self_signed, order_warning;
	char err[160];	   /* why it was refused ("" on success) */
};
/* text: NUL-terminated. 0, or a TLS_IMPORT_E* code with im->err set; the
 * key is never copied into err nor logged. now: wall seconds (<= 0:
 * unknown, dates not checked). */
int tls_import_pem(struct tls_import *im, const char *text, const char *hostname, int64_t now);
/* A struct tls_import from the TLS arena (NULL: no memory); free wipes it. */
struct tls_import *tls_import_new(void);
void tls_import_free(struct tls_import *im);
/* One text buffer (TLS_IMPORT_TEXT_MAX + 1 bytes, from the TLS arena) for
 * a paste in progress: NULL while another owner holds it (or no memory);
 * the same owner gets the same buffer back. Release wipes and frees it. */
char *tls_import_text_claim(const void *owner);
void tls_import_text_release(const void *owner);
/* DER certificates back to back (how the settings keep a chain) into
 * chain (appended). 0 or an mbedTLS error. */
int tls_chain_der_load(mbedtls_x509_crt *chain, const uint8_t *der, size_t len);
/* Wall seconds of an X.509 time. */
int64_t tls_x509_time(const mbedtls_x509_time *t);
/* A DNS SAN of crt names host (exact, or "*." one label). */
bool tls_cert_names_host(const mbedtls_x509_crt *crt, const char *host);
/* Lines "subject: / issuer: / valid: / names: [/ chain:]" into out
 * (bounded, NUL-terminated); returns the length. */
size_t tls_cert_describe(const mbedtls_x509_crt *crt, const char *hostname, int64_t now,
			 char *out, size_t size);

/* ---- live credentials (tls_live.c) ---------------------------------------
 * What inbound STARTTLS and the HTTPS console present. Two slots, each a
 * parsed credential and its server configuration, counted by the sessions
 * set up on it: tls_live_set() puts a new credential into the free slot
 * and makes it current at once; sessions already running keep theirs, and
 * the old slot is freed when its last session ends (tls_conn_free). */
#define TLS_LIVE_EBUSY (-16) /* the previous credential still serves sessions */
/* Parses key and chain (DER or PEM, as tls_cred_load) into the free slot
 * and makes it current. 0, TLS_LIVE_EBUSY, or an mbedTLS error: then
 * nothing changed. */
int tls_live_set(const uint8_t *key, size_t key_len, const uint8_t *crt, size_t crt_len);
/* The current credential (NULL before the first tls_live_set). */
const struct tls_cred *tls_live_cred(void);
bool tls_live_ready(void);
/* Sessions on the current / the previous credential (console, tests). */
void tls_live_sessions(unsigned *current, unsigned *previous);
/* A server session on the current credential (counted until tls_conn_free). */
int tls_conn_setup_server(struct tls_conn *c, int sock);
/* tls_conn_free's hook: the session on conf ended. */
void tls_live_put(const mbedtls_ssl_config *conf);
/* Frees both slots (tests). */
void tls_live_reset(void);

#endif
