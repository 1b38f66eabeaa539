/* fuzz_dane — (copied from tools/dane-verify/fuzz_dane.c, whose owner may
 * now delete it and its make-seeds.py: seeds come from tests/fuzz/gen/dane_seeds.py)
 * libFuzzer target for the DANE matcher: the server's chain is
 * the untrusted input. Input: one byte choosing which of eight fixed TLSA
 * records (from the test PKI) form the RRset, one byte (n % 4 + 1) for the
 * number of certificates, then each certificate as a 2-byte big-endian
 * length and DER bytes. Every verdict path is reached from the seeds in
 * tests/fuzz/seeds/dane (chains of the test PKI, gen/dane_seeds.py). */
#include <stddef.h>
#include <stdint.h>

#include "dane/dane.h"
#include "data/dane/fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 2)
		return 0;
	uint8_t pick = d[0];
	int ncerts = d[1] % 4 + 1;
	d += 2;
	n -= 2;
	mbedtls_x509_crt chain;
	mbedtls_x509_crt_init(&chain);
	for (int i = 0; i < ncerts && n >= 2; i++) {
		size_t len = (size_t)d[0] << 8 | d[1];
		d += 2;
		n -= 2;
		if (len > n)
			len = n;
		(void)mbedtls_x509_crt_parse_der(&chain, d, len);
		d += len;
		n -= len;
	}
	const struct dane_tlsa rrs[8] = {
		{ 3, 1, 1, 32, leaf_mx_spki_sha256 },
		{ 2, 0, 1, 32, int_a_cert_sha256 },
		{ 2, 0, 0, sizeof(root_a_cert_der), root_a_cert_der },
		{ 2, 1, 0, sizeof(root_a_spki_der), root_a_spki_der },
		{ 2, 1, 2, 64, root_a_spki_sha512 },
		{ 3, 0, 0, sizeof(leaf_mx_cert_der), leaf_mx_cert_der },
		{ 2, 1, 0, sizeof(leaf_self_spki_der), leaf_self_spki_der },
		{ 2, 0, 0, sizeof(leaf_self_cert_der), leaf_self_cert_der },
	};
	struct dane_tlsa_set set, usable;
	dane_tlsa_set_init(&set);
	for (unsigned i = 0; i < 8; i++)
		if (pick & (1u << i))
			(void)dane_tlsa_set_add(&set, &rrs[i], NULL);
	(void)dane_select(&set, NULL, &usable);
	static const struct dane_refids names = { .name = { "mx.example.net", "example.com" },
						  .count = 2 };
	struct dane_result res;
	char line[256];
	(void)dane_verify_chain(&usable, &chain, &names, 1795867200LL, &res);
	(void)dane_result_text(&res, &names, line, sizeof(line));
	mbedtls_x509_crt_free(&chain);
	return 0;
}
