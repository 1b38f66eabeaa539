/* fuzz_tls_import — libFuzzer target for the operator's PEM import
 * (tls_import_pem: PEM blocks, base64, keys, certificates, the chain
 * checks) and the stored-chain reader (tls_chain_der_load). The input is
 * the pasted text (NUL-terminated copy), and also read as a DER chain.
 * Checks, besides the sanitizers: a refusal has a reason and leaves no
 * key bytes behind; an acceptance has a key, 1..TLS_IMPORT_CERTS_MAX
 * certificates within TLS_OWN_CHAIN_MAX bytes, and the DER it produced
 * loads back as a credential whose leaf carries the reported 3 1 1
 * digest; the arena returns to its level. Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/sha256.h"
#include "tls/tls.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct tls_import im;
	static char text[TLS_IMPORT_TEXT_MAX + 2];
	static bool inited;
	if (!inited) {
		check(tls_init() == 0);
		inited = true;
	}
	size_t before, peak;
	tls_heap_stats(&before, &peak);
	size_t l = n < sizeof(text) - 1 ? n : sizeof(text) - 1;
	memcpy(text, d, l);
	text[l] = '\0';
	int e = tls_import_pem(&im, text, "gw.example", 1700000000);
	if (e) {
		check(e < 0 && im.err[0] != '\0' && strlen(im.err) < sizeof(im.err));
		for (size_t i = 0; i < sizeof(im.key_der); i++)
			check(im.key_der[i] == 0);
	} else {
		check(im.key_len > 0 && im.key_len <= sizeof(im.key_der));
		check(im.ncerts >= 1 && im.ncerts <= TLS_IMPORT_CERTS_MAX);
		check(im.chain_len > 0 && im.chain_len <= TLS_OWN_CHAIN_MAX);
		struct tls_cred c;
		check(tls_cred_load(&c, im.key_der, im.key_len, im.chain_der, im.chain_len) == 0);
		uint8_t dig[32];
		check(mbedtls_sha256(c.cert.pk_raw.p, c.cert.pk_raw.len, dig, 0) == 0);
		check(memcmp(dig, im.spki, 32) == 0);
		tls_cred_free(&c);
	}
	/* the same bytes as a stored chain */
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	(void)tls_chain_der_load(&x, d, n);
	mbedtls_x509_crt_free(&x);
	size_t after;
	tls_heap_stats(&after, &peak);
	check(after == before);
	return 0;
}
