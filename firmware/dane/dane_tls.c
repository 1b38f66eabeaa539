/* dane_tls — see dane.h. The two calls that touch an mbedTLS SSL session
 * or configuration, kept apart so host tools (tools/dane-verify) can link
 * the pure matching code without the SSL library. */
#include "dane/dane.h"

#if !defined(MBEDTLS_SSL_KEEP_PEER_CERTIFICATE)
#error "DANE matches the peer chain after the handshake: MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"
#endif

int dane_verify_session(const mbedtls_ssl_context *ssl, const struct dane_tlsa_set *usable,
			const struct dane_refids *names, int64_t now, struct dane_result *res)
{
	if (!ssl)
		return DANE_ERR_INVAL;
	/* Needs MBEDTLS_SSL_KEEP_PEER_CERTIFICATE (DESIGN.md: on). */
	return dane_verify_chain(usable, mbedtls_ssl_get_peer_cert(ssl), names, now, res);
}

void dane_conf_client(mbedtls_ssl_config *conf)
{
	/* OPTIONAL: mbedTLS still checks the handshake signatures with the
	 * leaf's key (proof of possession) but does not fail a chain without
	 * a configured CA; dane_verify_session() decides, and the SMTP client
	 * aborts before MAIL FROM when it says no. */
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
}
