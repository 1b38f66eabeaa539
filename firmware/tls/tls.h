/* tls — mbedTLS glue for every board: the static heap arena, the DRBG,
 * the gateway's own key and self-signed certificate, and TLS sessions on
 * port.h sockets through a non-blocking BIO (so STARTTLS is just "start
 * the handshake on this socket now"), admitted by a session gate that
 * bounds what the arena must hold. Exports tls_init(), tls_cred_*(),
 * tls_server_config(), tls_conn_*(), tls_gate_*(). */
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

/* The session gate: at most TLS_SESSIONS_MAX sessions (inbound, web and
 * outbound together, handshaking or established) hold arena memory, and
 * at most TLS_HANDSHAKES_MAX of them are handshaking (a handshake's key
 * exchange and certificate state is the arena's transient peak; it takes
 * milliseconds). tls_conn_setup() answers TLS_WANT_SLOT when either is
 * full: the caller keeps the connection as it is (the peer waits for the
 * first handshake message) and calls again at its next tick, never
 * refusing or falling back to clear text for want of memory. The board
 * sizes TLS_ARENA_SIZE for these bounds (bench/ram). 0: no bound. */
#ifndef TLS_SESSIONS_MAX
#define TLS_SESSIONS_MAX 0
#endif
#ifndef TLS_HANDSHAKES_MAX
#define TLS_HANDSHAKES_MAX 0
#endif

/* Negative results besides mbedTLS's own codes (which stay above -0x8000). */
#define TLS_WANT_READ (-0x10001) /* call again after PORT_EV_READABLE */
#define TLS_WANT_WRITE (-0x10002) /* call again after PORT_EV_WRITABLE */
#define TLS_WANT_SLOT (-0x10003) /* tls_conn_setup: the gate is full, call
				   * again later (nothing was set up) */

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
	bool gate_session;   /* counted in the gate's sessions */
	bool gate_handshake; /* ... and handshakes */
	bool gate_prio_waiting; /* tls_conn_setup_priority: counted in the
				 * gate's priority waiters (zero the struct
				 * before the first call) */
};

/* Bind a fresh session to sock. sni (client side) may be NULL.
 * TLS_WANT_SLOT: the gate is full (see TLS_SESSIONS_MAX), try again. */
int tls_conn_setup(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock, const char *sni);
/* The same for the web console's HTTPS: when it has to wait for a slot,
 * the next free one is kept for it, before any session that waits with
 * tls_conn_setup(), so an operator is not locked out while SMTP sessions
 * come and go; it still waits while all TLS_SESSIONS_MAX are held. */
int tls_conn_setup_priority(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock,
			    const char *sni);
/* A priority session that waited for a slot gives up (its connection is
 * closed before its setup succeeded): the slot kept for it is free again
 * for the others. Harmless on any other session. */
void tls_conn_setup_cancel(struct tls_conn *c);
/* Drive the handshake: 0 when done, TLS_WANT_READ / TLS_WANT_WRITE, or a
 * negative mbedTLS error (the session is then unusable). */
int tls_conn_handshake(struct tls_conn *c);
/* After the caller has judged the peer's chain (DANE, WebPKI): free it
 * (MBEDTLS_SSL_KEEP_PEER_CERTIFICATE keeps it for the session's life,
 * ~3 KiB of arena for two certificates); mbedtls_ssl_get_peer_cert()
 * answers NULL from then on. */
void tls_conn_drop_peer_chain(struct tls_conn *c);
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
/* The gate now and at its peak since boot, and how often a setup had to
 * wait for a slot. */
struct tls_gate_stats {
	unsigned sessions, handshakes;
	unsigned sessions_peak, handshakes_peak;
	unsigned prio_waiting; /* priority sessions waiting: the next slots are theirs */
	uint32_t waits;
};
void tls_gate_stats(struct tls_gate_stats *st);
/* Other bounds than TLS_SESSIONS_MAX / TLS_HANDSHAKES_MAX (unit tests). */
void tls_gate_limits(unsigned sessions, unsigned handshakes);
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
	TLS_IMPORT_ENOMEM = -12,    /* the TLS arena has no room now (all
				     * sessions held): nothing changed, try again */
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
/* ... with the gate's priority (tls_conn_setup_priority: the web console). */
int tls_conn_setup_server_priority(struct tls_conn *c, int sock);
/* tls_conn_free's hook: the session on conf ended. */
void tls_live_put(const mbedtls_ssl_config *conf);
/* Frees both slots (tests). */
void tls_live_reset(void);

#endif
