/* tls — see tls.h. One arena, one DRBG, the session gate, BIO callbacks
 * over port.h. */
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mbedtls/entropy.h"
#include "mbedtls/error.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/net_sockets.h" /* only for its MBEDTLS_ERR_NET_* codes */
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "psa/crypto.h"

#include "port.h"

static struct {
	unsigned char arena[TLS_ARENA_SIZE] __attribute__((aligned(8)));
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	bool ready;
	struct tls_gate_stats gate;
} tl;

/* The gate's bounds (0: none); apart from tl, which must stay in .bss. */
static unsigned gate_sessions_max = TLS_SESSIONS_MAX, gate_handshakes_max = TLS_HANDSHAKES_MAX;

/* TLS 1.2 and newer only, and only AEAD suites with forward secrecy;
 * mbedTLS picks TLS 1.3 suites from its own list. */
static const int tls_suites[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};

int tls_init(void)
{
	if (tl.ready)
		return 0;
	mbedtls_memory_buffer_alloc_init(tl.arena, sizeof(tl.arena));
	psa_status_t ps = psa_crypto_init();
	if (ps != PSA_SUCCESS)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	mbedtls_entropy_init(&tl.entropy);
	mbedtls_ctr_drbg_init(&tl.drbg);
	static const unsigned char pers[] = "danegate";
	int err = mbedtls_ctr_drbg_seed(&tl.drbg, mbedtls_entropy_func, &tl.entropy, pers,
					sizeof(pers) - 1);
	if (err)
		return err;
	tl.ready = true;
	return 0;
}

bool tls_ready(void)
{
	return tl.ready;
}

mbedtls_ctr_drbg_context *tls_drbg(void)
{
	return &tl.drbg;
}

void tls_heap_stats(size_t *now, size_t *peak)
{
	size_t blocks;
	mbedtls_memory_buffer_alloc_cur_get(now, &blocks);
	mbedtls_memory_buffer_alloc_max_get(peak, &blocks);
}

/* "YYYYMMDDhhmmss" for mbedtls_x509write_crt_set_validity. */
static int x509_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!mbedtls_platform_gmtime_r(&tt, &tm))
		return MBEDTLS_ERR_X509_BAD_INPUT_DATA;
	snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* mbedTLS writes DER at the END of the buffer; move it to the front. */
static void der_to_front(uint8_t *buf, size_t size, int len)
{
	memmove(buf, buf + size - (size_t)len, (size_t)len);
}

int tls_cred_generate(const char *hostname, int64_t now, uint8_t *key_der, size_t *key_len,
		      uint8_t *crt_der, size_t *crt_len)
{
	if (!tl.ready)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	mbedtls_pk_context key;
	mbedtls_x509write_cert crt;
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	char subject[300], nb[32], na[32];
	uint8_t serial[16];
	int len, err = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (!err)
		err = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
					  mbedtls_ctr_drbg_random, &tl.drbg);
	if (err)
		goto out;
	if (snprintf(subject, sizeof(subject), "CN=%s", hostname) >= (int)sizeof(subject)) {
		err = MBEDTLS_ERR_X509_BAD_INPUT_DATA;
		goto out;
	}
	/* Serial: 128 random bits with the top bit clear (positive INTEGER). */
	err = mbedtls_ctr_drbg_random(&tl.drbg, serial, sizeof(serial));
	if (err)
		goto out;
	serial[0] &= 0x7F;
	serial[0] |= 0x01;
	if ((err = x509_time(now - 86400, nb)) || (err = x509_time(now + 10LL * 365 * 86400, na)))
		goto out;
	mbedtls_x509_san_list san = { .next = NULL };
	san.node.type = MBEDTLS_X509_SAN_DNS_NAME;
	san.node.san.unstructured_name.p = (unsigned char *)(uintptr_t)hostname;
	san.node.san.unstructured_name.len = strlen(hostname);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	if ((err = mbedtls_x509write_crt_set_subject_name(&crt, subject)) ||
	    (err = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) ||
	    (err = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof(serial))) ||
	    (err = mbedtls_x509write_crt_set_validity(&crt, nb, na)) ||
	    (err = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) ||
	    (err = mbedtls_x509write_crt_set_subject_alternative_name(&crt, &san)) ||
	    (err = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)))
		goto out;
	len = mbedtls_pk_write_key_der(&key, key_der, *key_len);
	if (len < 0) {
		err = len;
		goto out;
	}
	der_to_front(key_der, *key_len, len);
	*key_len = (size_t)len;
	len = mbedtls_x509write_crt_der(&crt, crt_der, *crt_len, mbedtls_ctr_drbg_random, &tl.drbg);
	if (len < 0) {
		err = len;
		goto out;
	}
	der_to_front(crt_der, *crt_len, len);
	*crt_len = (size_t)len;
out:
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	return err;
}

int tls_cred_load(struct tls_cred *cred, const uint8_t *key, size_t key_len, const uint8_t *crt,
		  size_t crt_len)
{
	mbedtls_pk_init(&cred->key);
	mbedtls_x509_crt_init(&cred->cert);
	int err = mbedtls_pk_parse_key(&cred->key, key, key_len, NULL, 0, mbedtls_ctr_drbg_random,
				       &tl.drbg);
	/* DER: the settings keep a chain as certificates back to back. */
	if (!err)
		err = crt_len && crt[0] == 0x30 ? tls_chain_der_load(&cred->cert, crt, crt_len)
						: mbedtls_x509_crt_parse(&cred->cert, crt, crt_len);
	if (!err && mbedtls_pk_check_pair(&cred->cert.pk, &cred->key, mbedtls_ctr_drbg_random,
					  &tl.drbg) != 0)
		err = MBEDTLS_ERR_PK_BAD_INPUT_DATA; /* the key is not the leaf's */
	size_t chain = 0;
	for (const mbedtls_x509_crt *c = &cred->cert; !err && c && c->raw.len; c = c->next)
		chain += c->raw.len;
	if (!err && chain > TLS_OWN_CHAIN_MAX)
		err = MBEDTLS_ERR_SSL_BAD_CONFIG;
	if (err)
		tls_cred_free(cred);
	return err;
}

void tls_cred_free(struct tls_cred *cred)
{
	mbedtls_pk_free(&cred->key);
	mbedtls_x509_crt_free(&cred->cert);
}

int tls_server_config(mbedtls_ssl_config *conf, struct tls_cred *cred)
{
	mbedtls_ssl_config_init(conf);
	int err = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT);
	if (err)
		return err;
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &tl.drbg);
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_ciphersuites(conf, tls_suites);
	return mbedtls_ssl_conf_own_cert(conf, &cred->cert, &cred->key);
}

int tls_client_config(mbedtls_ssl_config *conf, struct tls_cred *client_cred)
{
	mbedtls_ssl_config_init(conf);
	int err = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT);
	if (err)
		return err;
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &tl.drbg);
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_ciphersuites(conf, tls_suites);
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	if (client_cred)
		err = mbedtls_ssl_conf_own_cert(conf, &client_cred->cert, &client_cred->key);
	return err;
}

/* ---- BIO over port.h ------------------------------------------------------ */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;
	long n = port_tcp_send(c->sock, buf, len);
	if (n == PORT_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n < 0)
		return MBEDTLS_ERR_NET_SEND_FAILED;
	return (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;
	long n = port_tcp_recv(c->sock, buf, len);
	if (n == PORT_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n < 0)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	return (int)n; /* 0: EOF */
}

static int map_want(int err)
{
	if (err == MBEDTLS_ERR_SSL_WANT_READ)
		return TLS_WANT_READ;
	if (err == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_WANT_WRITE;
	return err;
}

/* ---- the session gate ------------------------------------------------------ */
/* Full for c: a session without priority also counts the slots kept for
 * the waiting priority sessions (they take the next free ones). */
static bool gate_full(bool priority)
{
	unsigned kept = priority ? 0 : tl.gate.prio_waiting;
	return (gate_sessions_max && tl.gate.sessions + kept >= gate_sessions_max) ||
	       (gate_handshakes_max && tl.gate.handshakes + kept >= gate_handshakes_max);
}

void tls_conn_setup_cancel(struct tls_conn *c)
{
	if (c->gate_prio_waiting) {
		c->gate_prio_waiting = false;
		tl.gate.prio_waiting--;
	}
}

void tls_gate_limits(unsigned sessions, unsigned handshakes)
{
	gate_sessions_max = sessions;
	gate_handshakes_max = handshakes;
}

static void gate_enter(struct tls_conn *c)
{
	c->gate_session = c->gate_handshake = true;
	if (++tl.gate.sessions > tl.gate.sessions_peak)
		tl.gate.sessions_peak = tl.gate.sessions;
	if (++tl.gate.handshakes > tl.gate.handshakes_peak)
		tl.gate.handshakes_peak = tl.gate.handshakes;
}

/* The handshake ended (done or failed): its slot goes to the next. */
static void gate_handshake_over(struct tls_conn *c)
{
	if (c->gate_handshake) {
		c->gate_handshake = false;
		tl.gate.handshakes--;
	}
}

static void gate_leave(struct tls_conn *c)
{
	gate_handshake_over(c);
	if (c->gate_session) {
		c->gate_session = false;
		tl.gate.sessions--;
	}
}

void tls_gate_stats(struct tls_gate_stats *st)
{
	*st = tl.gate;
}

static int setup(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock, const char *sni,
		 bool priority)
{
	c->gate_session = c->gate_handshake = false;
	if (gate_full(priority)) {
		tl.gate.waits++;
		if (priority && !c->gate_prio_waiting) {
			c->gate_prio_waiting = true;
			tl.gate.prio_waiting++;
		}
		return TLS_WANT_SLOT;
	}
	if (priority)
		tls_conn_setup_cancel(c); /* its wait is over */
	mbedtls_ssl_init(&c->ssl);
	c->sock = sock;
	c->established = false;
	int err = mbedtls_ssl_setup(&c->ssl, conf);
	if (!err && sni)
		err = mbedtls_ssl_set_hostname(&c->ssl, sni);
	if (err) {
		mbedtls_ssl_free(&c->ssl);
		return err;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	gate_enter(c);
	return 0;
}

int tls_conn_setup(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock, const char *sni)
{
	return setup(c, conf, sock, sni, false);
}

int tls_conn_setup_priority(struct tls_conn *c, const mbedtls_ssl_config *conf, int sock,
			    const char *sni)
{
	return setup(c, conf, sock, sni, true);
}

/* mbedTLS 3.6 frees a TLS 1.2 session's handshake state (checksums, key
 * exchange, the handshake-traffic transform) when the handshake ends, but
 * keeps a TLS 1.3 session's until mbedtls_ssl_free(): about 3 KiB per
 * session for nothing, as our configuration has no session tickets
 * (a NewSessionTicket is ignored without touching it), no renegotiation
 * and no post-handshake authentication or KeyUpdate (both are refused as
 * unexpected messages). The free functions are internal (ssl_misc.h)
 * but exported; this runs what mbedtls_ssl_free() would run for the
 * handshake part, including the TLS 1.2-only transform_negotiate that a
 * TLS 1.3 session allocated and never used (the bench and the tests check
 * that the arena returns to its level before the session). */
void mbedtls_ssl_handshake_free(mbedtls_ssl_context *ssl);
void mbedtls_ssl_transform_free(mbedtls_ssl_transform *transform);

static void handshake_state_free(mbedtls_ssl_context *ssl)
{
	if (!ssl->MBEDTLS_PRIVATE(handshake) || !mbedtls_ssl_is_handshake_over(ssl))
		return;
	mbedtls_ssl_handshake_free(ssl);
	mbedtls_free(ssl->MBEDTLS_PRIVATE(handshake));
	ssl->MBEDTLS_PRIVATE(handshake) = NULL;
	mbedtls_ssl_transform_free(ssl->MBEDTLS_PRIVATE(transform_negotiate));
	mbedtls_free(ssl->MBEDTLS_PRIVATE(transform_negotiate));
	ssl->MBEDTLS_PRIVATE(transform_negotiate) = NULL;
	mbedtls_ssl_session_free(ssl->MBEDTLS_PRIVATE(session_negotiate));
	mbedtls_free(ssl->MBEDTLS_PRIVATE(session_negotiate));
	ssl->MBEDTLS_PRIVATE(session_negotiate) = NULL;
}

int tls_conn_handshake(struct tls_conn *c)
{
	int err = mbedtls_ssl_handshake(&c->ssl);
	if (err == 0) {
		c->established = true;
		handshake_state_free(&c->ssl);
	}
	if (err != MBEDTLS_ERR_SSL_WANT_READ && err != MBEDTLS_ERR_SSL_WANT_WRITE)
		gate_handshake_over(c);
	return map_want(err);
}

void tls_conn_drop_peer_chain(struct tls_conn *c)
{
	mbedtls_ssl_session *ss = c->ssl.MBEDTLS_PRIVATE(session);
	if (!ss || !ss->MBEDTLS_PRIVATE(peer_cert))
		return;
	mbedtls_x509_crt_free(ss->MBEDTLS_PRIVATE(peer_cert));
	mbedtls_free(ss->MBEDTLS_PRIVATE(peer_cert));
	ss->MBEDTLS_PRIVATE(peer_cert) = NULL;
}

long tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
	for (;;) {
		int n = mbedtls_ssl_read(&c->ssl, buf, len);
		/* TLS 1.3 tickets arrive as post-handshake messages: not an error. */
		if (n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return 0;
		return map_want(n);
	}
}

long tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
	return map_want(mbedtls_ssl_write(&c->ssl, buf, len));
}

size_t tls_conn_pending(const struct tls_conn *c)
{
	return mbedtls_ssl_get_bytes_avail(&c->ssl);
}

void tls_conn_free(struct tls_conn *c)
{
	const mbedtls_ssl_config *conf = c->ssl.MBEDTLS_PRIVATE(conf);
	if (c->established)
		(void)mbedtls_ssl_close_notify(&c->ssl);
	mbedtls_ssl_free(&c->ssl);
	c->established = false;
	gate_leave(c);
	tls_live_put(conf); /* a server session on a live credential ended */
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return mbedtls_ssl_get_version(&c->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	return mbedtls_ssl_get_ciphersuite(&c->ssl);
}

const char *tls_strerror(int err)
{
	static const struct {
		int code;
		const char *text;
	} names[] = {
		{ TLS_WANT_READ, "waiting to read" },
		{ TLS_WANT_WRITE, "waiting to write" },
		{ TLS_WANT_SLOT, "waiting for a TLS session slot" },
		{ MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION, "protocol version not supported" },
		{ MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE, "handshake failure" },
		{ MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, "fatal alert from peer" },
		{ MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, "certificate verification failed" },
		{ MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, "peer closed the session" },
		{ MBEDTLS_ERR_NET_SEND_FAILED, "send failed" },
		{ MBEDTLS_ERR_NET_RECV_FAILED, "receive failed" },
		{ MBEDTLS_ERR_SSL_ALLOC_FAILED, "out of TLS memory" },
		{ MBEDTLS_ERR_SSL_INVALID_RECORD, "invalid TLS record" },
		{ MBEDTLS_ERR_SSL_DECODE_ERROR, "malformed handshake message" },
		{ MBEDTLS_ERR_SSL_CONN_EOF, "connection closed during handshake" },
		{ MBEDTLS_ERR_ENTROPY_SOURCE_FAILED, "entropy source failed" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == err)
			return names[i].text;
	return "TLS error";
}
