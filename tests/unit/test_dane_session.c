/* test_dane_session — DANE on a real mbedTLS handshake, in memory: a client
 * set up with dane_conf_client() completes TLS 1.2 and TLS 1.3 handshakes
 * with a server whose chain has no configured root (mbedTLS alone would
 * not trust it), sends SNI = the TLSA base domain, keeps the peer chain,
 * and dane_verify_session() then gives the verdict: Verified for a DANE-TA
 * match, no match for a wrong digest (the caller aborts before MAIL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dane/dane.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/ssl.h"
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif

#include "data/dane/fixtures.h"

#define NOW 1795867200LL /* 2026-11-28 12:00:00 UTC */

/* One direction of an in-memory connection; 32 KiB holds any flight of
 * this handshake (two certificates). */
struct pipe {
	unsigned char buf[32768];
	size_t len;
};

struct end {
	mbedtls_ssl_context ssl;
	struct pipe *in, *out;
	int rc;
};

static int pipe_send(void *ctx, const unsigned char *b, size_t n)
{
	struct end *e = ctx;
	size_t room = sizeof(e->out->buf) - e->out->len;
	if (room == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n > room)
		n = room;
	memcpy(e->out->buf + e->out->len, b, n);
	e->out->len += n;
	return (int)n;
}

static int pipe_recv(void *ctx, unsigned char *b, size_t n)
{
	struct end *e = ctx;
	if (e->in->len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > e->in->len)
		n = e->in->len;
	memcpy(b, e->in->buf, n);
	memmove(e->in->buf, e->in->buf + n, e->in->len - n);
	e->in->len -= n;
	return (int)n;
}

struct world {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt srv_chain;
	mbedtls_pk_context srv_key;
	mbedtls_ssl_config srv_conf, cli_conf;
	struct pipe c2s, s2c;
	struct end cli, srv;
	char sni_seen[64];
};

/* The server notes the SNI the client sent. */
static int on_sni(void *ctx, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	(void)ssl;
	struct world *w = ctx;
	if (len >= sizeof(w->sni_seen))
		return -1;
	memcpy(w->sni_seen, name, len);
	w->sni_seen[len] = '\0';
	return 0;
}

static void world_up(struct world *w, mbedtls_ssl_protocol_version version)
{
	memset(w, 0, sizeof(*w));
	mbedtls_entropy_init(&w->entropy);
	mbedtls_ctr_drbg_init(&w->drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&w->drbg, mbedtls_entropy_func, &w->entropy, NULL, 0),
			 0);
	mbedtls_x509_crt_init(&w->srv_chain);
	mbedtls_pk_init(&w->srv_key);
	assert_int_equal(mbedtls_x509_crt_parse(&w->srv_chain, (const unsigned char *)leaf_mx_pem,
						sizeof(leaf_mx_pem)),
			 0);
	assert_int_equal(mbedtls_x509_crt_parse(&w->srv_chain, (const unsigned char *)int_a_pem,
						sizeof(int_a_pem)),
			 0);
	assert_int_equal(mbedtls_pk_parse_key(&w->srv_key, (const unsigned char *)leaf_mx_key_pem,
					      sizeof(leaf_mx_key_pem), NULL, 0,
					      mbedtls_ctr_drbg_random, &w->drbg),
			 0);

	mbedtls_ssl_config_init(&w->srv_conf);
	assert_int_equal(mbedtls_ssl_config_defaults(&w->srv_conf, MBEDTLS_SSL_IS_SERVER,
						     MBEDTLS_SSL_TRANSPORT_STREAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&w->srv_conf, mbedtls_ctr_drbg_random, &w->drbg);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&w->srv_conf, &w->srv_chain, &w->srv_key), 0);
	mbedtls_ssl_conf_sni(&w->srv_conf, on_sni, w);
	mbedtls_ssl_conf_max_tls_version(&w->srv_conf, version);

	mbedtls_ssl_config_init(&w->cli_conf);
	assert_int_equal(mbedtls_ssl_config_defaults(&w->cli_conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_STREAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&w->cli_conf, mbedtls_ctr_drbg_random, &w->drbg);
	dane_conf_client(&w->cli_conf); /* under test; no CA chain at all */
	mbedtls_ssl_conf_max_tls_version(&w->cli_conf, version);

	w->cli.in = &w->s2c;
	w->cli.out = &w->c2s;
	w->srv.in = &w->c2s;
	w->srv.out = &w->s2c;
	mbedtls_ssl_init(&w->cli.ssl);
	mbedtls_ssl_init(&w->srv.ssl);
	assert_int_equal(mbedtls_ssl_setup(&w->cli.ssl, &w->cli_conf), 0);
	assert_int_equal(mbedtls_ssl_setup(&w->srv.ssl, &w->srv_conf), 0);
	/* Rule 18: SNI = the TLSA base domain. */
	assert_int_equal(mbedtls_ssl_set_hostname(&w->cli.ssl, "mx.example.net"), 0);
	mbedtls_ssl_set_bio(&w->cli.ssl, &w->cli, pipe_send, pipe_recv, NULL);
	mbedtls_ssl_set_bio(&w->srv.ssl, &w->srv, pipe_send, pipe_recv, NULL);
}

static void world_down(struct world *w)
{
	mbedtls_ssl_free(&w->cli.ssl);
	mbedtls_ssl_free(&w->srv.ssl);
	mbedtls_ssl_config_free(&w->cli_conf);
	mbedtls_ssl_config_free(&w->srv_conf);
	mbedtls_pk_free(&w->srv_key);
	mbedtls_x509_crt_free(&w->srv_chain);
	mbedtls_ctr_drbg_free(&w->drbg);
	mbedtls_entropy_free(&w->entropy);
}

static bool pending(int rc)
{
	return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* Drive both ends, turn by turn, until neither waits; bounded turns. */
static void handshake(struct world *w)
{
	w->cli.rc = w->srv.rc = MBEDTLS_ERR_SSL_WANT_READ;
	for (int turn = 0; turn < 100 && (pending(w->cli.rc) || pending(w->srv.rc)); turn++) {
		if (pending(w->cli.rc))
			w->cli.rc = mbedtls_ssl_handshake(&w->cli.ssl);
		if (pending(w->srv.rc))
			w->srv.rc = mbedtls_ssl_handshake(&w->srv.ssl);
	}
}

static int group_setup(void **state)
{
	(void)state;
#if defined(MBEDTLS_PSA_CRYPTO_C)
	/* TLS 1.3 in mbedTLS 3.6 needs PSA (tls_init() does this in the
	 * firmware). */
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
#else
	return 0;
#endif
}

static void dane_on_handshake(mbedtls_ssl_protocol_version version)
{
	static struct world w; /* large: keep it off the test's stack */
	world_up(&w, version);
	handshake(&w);
	assert_int_equal(w.cli.rc, 0);
	assert_int_equal(w.srv.rc, 0);
	assert_int_equal(mbedtls_ssl_get_version_number(&w.cli.ssl), version);
	assert_string_equal(w.sni_seen, "mx.example.net");
	/* mbedTLS on its own did not trust the chain: no root configured. */
	assert_int_not_equal(mbedtls_ssl_get_verify_result(&w.cli.ssl), 0);

	/* MX secure, `2 0 1` on the issuing CA: Verified. */
	struct dane_tlsa ta = { .usage = 2, .selector = 0, .mtype = 1, .len = 32,
				.data = int_a_cert_sha256 };
	struct dane_tlsa_set set, usable;
	dane_tlsa_set_init(&set);
	assert_int_equal(dane_tlsa_set_add(&set, &ta, NULL), 1);
	assert_int_equal(dane_select(&set, NULL, &usable), DANE_USABLE);
	const struct dane_refids names = { .name = { "mx.example.net" }, .count = 1 };
	struct dane_result res;
	assert_int_equal(dane_verify_session(&w.cli.ssl, &usable, &names, NOW, &res), DANE_OK);
	assert_int_equal(res.depth, 1);
	assert_int_equal(res.chain_len, 2);
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, true)),
			    "Verified");

	/* Scenario 3 on the same session: a `3 1 1` for another key does not
	 * match; the caller defers 4.7.5 without sending mail. */
	struct dane_tlsa ee = { .usage = 3, .selector = 1, .mtype = 1, .len = 32,
				.data = leaf_rsa_mx_spki_sha256 };
	dane_tlsa_set_init(&set);
	assert_int_equal(dane_tlsa_set_add(&set, &ee, NULL), 1);
	assert_int_equal(dane_select(&set, NULL, &usable), DANE_USABLE);
	assert_int_equal(dane_verify_session(&w.cli.ssl, &usable, &names, NOW, &res),
			 DANE_ERR_NOMATCH);
	world_down(&w);
}

static void test_dane_tls13_handshake(void **state)
{
	(void)state;
	dane_on_handshake(MBEDTLS_SSL_VERSION_TLS1_3);
}

static void test_dane_tls12_handshake(void **state)
{
	(void)state;
	dane_on_handshake(MBEDTLS_SSL_VERSION_TLS1_2);
}

static void test_session_arguments(void **state)
{
	(void)state;
	struct dane_tlsa_set usable;
	dane_tlsa_set_init(&usable);
	struct dane_result res;
	assert_int_equal(dane_verify_session(NULL, &usable, NULL, NOW, &res), DANE_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_tls13_handshake),
		cmocka_unit_test(test_dane_tls12_handshake),
		cmocka_unit_test(test_session_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
