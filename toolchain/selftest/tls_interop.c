/* tls_interop — an mbedTLS client with the project's configuration against
 * a real OpenSSL server on loopback (toolchain/selftest.sh starts
 * `openssl s_server -www`): handshake, chain + hostname verification,
 * one request and its answer. Linux targets only.
 *   tls_interop PORT CAFILE HOSTNAME
 * Prints "version suite" and exits 0 on success; exits 2 with
 * "verify-failed FLAGS" when certificate verification fails, 3 when the
 * handshake fails otherwise (e.g. no common protocol version), 1 else. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include "selftest_hooks.h"

static int sock_send(void *ctx, const unsigned char *b, size_t n)
{
	ssize_t r = send(*(int *)ctx, b, n, MSG_NOSIGNAL);
	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

static int sock_recv(void *ctx, unsigned char *b, size_t n)
{
	ssize_t r = recv(*(int *)ctx, b, n, 0);
	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

int main(int argc, char **argv)
{
	static unsigned char arena[128 * 1024] __attribute__((aligned(8)));
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int fd = -1, rc = 1, err;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PORT CAFILE HOSTNAME\n", argv[0]);
		return 1;
	}
	mbedtls_memory_buffer_alloc_init(arena, sizeof(arena));
	if (psa_crypto_init() != PSA_SUCCESS)
		return 1;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);

	if ((err = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0)) ||
	    (err = mbedtls_x509_crt_parse_file(&ca, argv[2])) ||
	    (err = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
					       MBEDTLS_SSL_TRANSPORT_STREAM,
					       MBEDTLS_SSL_PRESET_DEFAULT))) {
		fprintf(stderr, "set-up: -0x%04x\n", (unsigned)-err);
		goto out;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	if ((err = mbedtls_ssl_setup(&ssl, &conf)) ||
	    (err = mbedtls_ssl_set_hostname(&ssl, argv[3]))) {
		fprintf(stderr, "ssl set-up: -0x%04x\n", (unsigned)-err);
		goto out;
	}

	/* Loopback only. */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "connect 127.0.0.1:%s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &fd, sock_send, sock_recv, NULL);
	err = mbedtls_ssl_handshake(&ssl);
	if (err) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
		if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			printf("verify-failed 0x%lx\n", (unsigned long)flags);
			rc = 2;
		} else {
			printf("handshake-failed -0x%04x\n", (unsigned)-err);
			rc = 3;
		}
		goto out;
	}
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	unsigned char buf[256];
	size_t got = 0;
	if (mbedtls_ssl_write(&ssl, (const unsigned char *)req, sizeof(req) - 1) !=
	    (int)sizeof(req) - 1) {
		fprintf(stderr, "write failed\n");
		goto out;
	}
	while (got < sizeof(buf) - 1) {
		int r = mbedtls_ssl_read(&ssl, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = 0;
	if (strncmp((char *)buf, "HTTP/1.0 200 ok", 15) != 0) {
		fprintf(stderr, "unexpected answer: %.40s\n", (char *)buf);
		goto out;
	}
	printf("%s %s\n", mbedtls_ssl_get_version(&ssl), mbedtls_ssl_get_ciphersuite(&ssl));
	mbedtls_ssl_close_notify(&ssl);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	mbedtls_psa_crypto_free();
	mbedtls_memory_buffer_alloc_free();
	return rc;
}
