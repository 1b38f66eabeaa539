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
};

/* Bind a fresh session to sock. sni (client side) may be NULL.
 * TLS_WANT_SLOT: the gate is full (see TLS_SESSIONS_MAX), try again. */
int tls_conn_setup(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock, const char *sni);
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
	uint32_t waits;
};
void tls_gate_stats(struct tls_gate_stats *st);
/* Other bounds than TLS_SESSIONS_MAX / TLS_HANDSHAKES_MAX (unit tests). */
void tls_gate_limits(unsigned sessions, unsigned handshakes);
/* A short English description of an mbedTLS or TLS_* error code. */
const char *tls_strerror(int err);

#endif
