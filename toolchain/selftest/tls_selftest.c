/* tls_selftest — full TLS handshakes between an mbedTLS client and server
 * in one process over in-memory pipes, built with the project's mbedTLS
 * configuration: TLS 1.3 and 1.2, AES-GCM and ChaCha20-Poly1305, x25519
 * and P-384 key exchange, certificate + hostname verification (and its
 * failures), application data both ways. Prints arena peak and time per
 * handshake; last line "tls_selftest: N passed, M failed". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "selftest_hooks.h"

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

/* One direction of a connection: bytes written by one end, read by the
 * other. Bounded: a full pipe answers WANT_WRITE, as a full socket would. */
#define PIPE_SIZE 32768
struct pipe {
	uint8_t buf[PIPE_SIZE];
	size_t len;
};

/* One end of the connection: writes go out, reads come in. */
struct end {
	struct pipe *out, *in;
};

static int pipe_send(void *ctx, const unsigned char *b, size_t n)
{
	struct pipe *p = ((struct end *)ctx)->out;
	size_t room = PIPE_SIZE - p->len;
	if (room == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n > room)
		n = room;
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	return (int)n;
}

static int pipe_recv(void *ctx, unsigned char *b, size_t n)
{
	struct pipe *p = ((struct end *)ctx)->in;
	if (p->len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > p->len)
		n = p->len;
	memcpy(b, p->buf, n);
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	return (int)n;
}

static struct pipe c2s, s2c;
static struct end client_end = { &c2s, &s2c }, server_end = { &s2c, &c2s };
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

struct cred {
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
};

/* A P-256 key and a self-signed certificate for `host`, as the gateway
 * makes its own at first boot. */
static int cred_make(struct cred *c, const char *host)
{
	static unsigned char der[1024];
	char subject[128];
	mbedtls_x509write_cert w;
	mbedtls_x509_san_list san = { .next = NULL };
	const uint8_t serial[] = { 0x01, 0x23, 0x45, 0x67 };
	int err;

	mbedtls_pk_init(&c->key);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_x509write_crt_init(&w);
	snprintf(subject, sizeof(subject), "CN=%s", host);
	san.node.type = MBEDTLS_X509_SAN_DNS_NAME;
	san.node.san.unstructured_name.p = (unsigned char *)(uintptr_t)host;
	san.node.san.unstructured_name.len = strlen(host);
	err = mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (!err)
		err = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
					  mbedtls_ctr_drbg_random, &drbg);
	if (!err) {
		mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
		mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
		mbedtls_x509write_crt_set_subject_key(&w, &c->key);
		mbedtls_x509write_crt_set_issuer_key(&w, &c->key);
	}
	if (!err)
		err = mbedtls_x509write_crt_set_subject_name(&w, subject);
	if (!err)
		err = mbedtls_x509write_crt_set_issuer_name(&w, subject);
	if (!err)
		err = mbedtls_x509write_crt_set_serial_raw(&w, (unsigned char *)(uintptr_t)serial,
							   sizeof(serial));
	if (!err)
		err = mbedtls_x509write_crt_set_validity(&w, "20240101000000", "20991231235959");
	if (!err)
		err = mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1);
	if (!err)
		err = mbedtls_x509write_crt_set_subject_alternative_name(&w, &san);
	if (!err) {
		int len = mbedtls_x509write_crt_der(&w, der, sizeof(der), mbedtls_ctr_drbg_random,
						    &drbg);
		err = len < 0 ? len
			      : mbedtls_x509_crt_parse_der(&c->crt, der + sizeof(der) - (size_t)len,
							   (size_t)len);
	}
	mbedtls_x509write_crt_free(&w);
	return err;
}

static void cred_free(struct cred *c)
{
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
}

struct tls_case {
	const char *name;
	mbedtls_ssl_protocol_version version; /* both ends limited to it */
	int suite;			      /* 0: the default list */
	uint16_t group;			      /* 0: the default list */
	const char *hostname;		      /* what the client expects */
	int trust_other;		      /* client trusts an unrelated cert */
	/* expected outcome */
	int ok;
	const char *want_suite;
	uint32_t want_flags; /* verify flags when !ok */
};

static struct cred server_cred, other_cred;

static void run_case(const struct tls_case *t)
{
	mbedtls_ssl_config ccf, scf;
	mbedtls_ssl_context cli, srv;
	int suites[2] = { t->suite, 0 };
	uint16_t groups[2] = { t->group, MBEDTLS_SSL_IANA_TLS_GROUP_NONE };
	int cerr = 0, serr = 0, cdone = 0, sdone = 0;
	char what[160];

	c2s.len = s2c.len = 0;
	mbedtls_memory_buffer_alloc_max_reset();
	mbedtls_ssl_config_init(&ccf);
	mbedtls_ssl_config_init(&scf);
	mbedtls_ssl_init(&cli);
	mbedtls_ssl_init(&srv);

	int err = mbedtls_ssl_config_defaults(&ccf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT);
	if (!err)
		err = mbedtls_ssl_config_defaults(&scf, MBEDTLS_SSL_IS_SERVER,
						  MBEDTLS_SSL_TRANSPORT_STREAM,
						  MBEDTLS_SSL_PRESET_DEFAULT);
	if (err) {
		check(0, "mbedtls_ssl_config_defaults");
		goto out;
	}
	mbedtls_ssl_conf_rng(&ccf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_rng(&scf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_min_tls_version(&ccf, t->version);
	mbedtls_ssl_conf_max_tls_version(&ccf, t->version);
	mbedtls_ssl_conf_min_tls_version(&scf, t->version);
	mbedtls_ssl_conf_max_tls_version(&scf, t->version);
	if (t->suite)
		mbedtls_ssl_conf_ciphersuites(&ccf, suites);
	if (t->group)
		mbedtls_ssl_conf_groups(&ccf, groups);
	mbedtls_ssl_conf_authmode(&ccf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&ccf, t->trust_other ? &other_cred.crt : &server_cred.crt, NULL);
	err = mbedtls_ssl_conf_own_cert(&scf, &server_cred.crt, &server_cred.key);
	if (!err)
		err = mbedtls_ssl_setup(&cli, &ccf);
	if (!err)
		err = mbedtls_ssl_setup(&srv, &scf);
	if (!err)
		err = mbedtls_ssl_set_hostname(&cli, t->hostname);
	if (err) {
		snprintf(what, sizeof(what), "%s: set-up (-0x%04x)", t->name, (unsigned)-err);
		check(0, what);
		goto out;
	}
	mbedtls_ssl_set_bio(&cli, &client_end, pipe_send, pipe_recv, NULL);
	mbedtls_ssl_set_bio(&srv, &server_end, pipe_send, pipe_recv, NULL);

	mbedtls_ms_time_t t0 = mbedtls_ms_time();
	for (int i = 0; i < 200 && !(cdone && sdone) && !cerr && !serr; i++) {
		if (!cdone) {
			int r = mbedtls_ssl_handshake(&cli);
			if (r == 0)
				cdone = 1;
			else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
				cerr = r;
		}
		if (!sdone && !cerr) {
			int r = mbedtls_ssl_handshake(&srv);
			if (r == 0)
				sdone = 1;
			else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
				serr = r;
		}
	}
	long ms = (long)(mbedtls_ms_time() - t0);
	size_t peak = 0, blocks = 0;
	mbedtls_memory_buffer_alloc_max_get(&peak, &blocks);

	if (!t->ok) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&cli);
		snprintf(what, sizeof(what), "%s: client refuses (-0x%04x, flags 0x%lx)", t->name,
			 (unsigned)-cerr, (unsigned long)flags);
		check(!cdone && cerr == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED &&
			      (flags & t->want_flags) == t->want_flags,
		      what);
		goto out;
	}
	snprintf(what, sizeof(what), "%s: handshake (client -0x%04x, server -0x%04x)", t->name,
		 (unsigned)-cerr, (unsigned)-serr);
	check(cdone && sdone, what);
	if (!(cdone && sdone))
		goto out;
	const char *ver = mbedtls_ssl_get_version(&cli);
	const char *suite = mbedtls_ssl_get_ciphersuite(&cli);
	snprintf(what, sizeof(what), "%s: %s %s", t->name, ver, suite);
	check(strcmp(ver, t->version == MBEDTLS_SSL_VERSION_TLS1_3 ? "TLSv1.3" : "TLSv1.2") == 0 &&
		      strcmp(suite, t->want_suite) == 0 &&
		      strcmp(mbedtls_ssl_get_ciphersuite(&srv), suite) == 0,
	      what);
	printf("     %ld ms, arena peak %lu bytes for both ends\n", ms, (unsigned long)peak);

	/* SMTP-sized application data, both ways. */
	static const char ehlo[] = "EHLO selftest.example\r\n", reply[] = "250 mx.example.net\r\n";
	unsigned char buf[64];
	int w = mbedtls_ssl_write(&cli, (const unsigned char *)ehlo, sizeof(ehlo) - 1);
	int r = -1;
	for (int i = 0; i < 4 && r < 0; i++)
		r = mbedtls_ssl_read(&srv, buf, sizeof(buf));
	int ok = w == (int)sizeof(ehlo) - 1 && r == w && memcmp(buf, ehlo, (size_t)r) == 0;
	w = mbedtls_ssl_write(&srv, (const unsigned char *)reply, sizeof(reply) - 1);
	r = -1;
	for (int i = 0; i < 4 && r < 0; i++)
		r = mbedtls_ssl_read(&cli, buf, sizeof(buf));
	ok = ok && w == (int)sizeof(reply) - 1 && r == w && memcmp(buf, reply, (size_t)r) == 0;
	snprintf(what, sizeof(what), "%s: application data both ways", t->name);
	check(ok, what);
	/* close_notify reaches the other end as a clean close. */
	mbedtls_ssl_close_notify(&cli);
	r = mbedtls_ssl_read(&srv, buf, sizeof(buf));
	snprintf(what, sizeof(what), "%s: close_notify", t->name);
	check(r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, what);
out:
	mbedtls_ssl_free(&cli);
	mbedtls_ssl_free(&srv);
	mbedtls_ssl_config_free(&ccf);
	mbedtls_ssl_config_free(&scf);
}

static const struct tls_case cases[] = {
	{ "TLS 1.3 default", MBEDTLS_SSL_VERSION_TLS1_3, 0, 0, "mx.example.net", 0, 1,
	  "TLS1-3-AES-128-GCM-SHA256", 0 },
	{ "TLS 1.3 AES-256 P-384", MBEDTLS_SSL_VERSION_TLS1_3, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	  MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, "mx.example.net", 0, 1, "TLS1-3-AES-256-GCM-SHA384",
	  0 },
	{ "TLS 1.3 ChaCha20 x25519", MBEDTLS_SSL_VERSION_TLS1_3,
	  MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
	  "mx.example.net", 0, 1, "TLS1-3-CHACHA20-POLY1305-SHA256", 0 },
	{ "TLS 1.2 default", MBEDTLS_SSL_VERSION_TLS1_2, 0, 0, "mx.example.net", 0, 1,
	  "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", 0 },
	{ "TLS 1.2 ChaCha20", MBEDTLS_SSL_VERSION_TLS1_2,
	  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0, "mx.example.net", 0, 1,
	  "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256", 0 },
	{ "TLS 1.3 wrong hostname", MBEDTLS_SSL_VERSION_TLS1_3, 0, 0, "other.example.net", 0, 0,
	  NULL, MBEDTLS_X509_BADCERT_CN_MISMATCH },
	{ "TLS 1.2 untrusted certificate", MBEDTLS_SSL_VERSION_TLS1_2, 0, 0, "mx.example.net", 1, 0,
	  NULL, MBEDTLS_X509_BADCERT_NOT_TRUSTED },
};

int main(void)
{
	/* Both ends of one connection in one arena: the figure the firmware's
	 * TLS_ARENA_SIZE has to allow per connection pair. */
	static unsigned char arena[192 * 1024] __attribute__((aligned(8)));
	mbedtls_memory_buffer_alloc_init(arena, sizeof(arena));
	check(psa_crypto_init() == PSA_SUCCESS, "psa_crypto_init");
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	int err = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
					(const unsigned char *)"tls_selftest", 12);
	check(err == 0, "CTR_DRBG seeded");
	if (err == 0) {
		check(cred_make(&server_cred, "mx.example.net") == 0 &&
			      cred_make(&other_cred, "mx.example.net") == 0,
		      "P-256 keys and self-signed certificates made (x509write)");
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(&cases[i]);
		cred_free(&server_cred);
		cred_free(&other_cred);
	}
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	mbedtls_psa_crypto_free();
	size_t cur = 0, blocks = 0;
	mbedtls_memory_buffer_alloc_cur_get(&cur, &blocks);
	check(cur == 0, "arena empty at the end (no leak)");
	mbedtls_memory_buffer_alloc_free();
	printf("tls_selftest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
