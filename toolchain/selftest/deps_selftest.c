/* deps_selftest — proves the toolchain's mbedTLS and ldns builds work on a
 * target: known-answer SHA-256 (legacy and PSA), the version string, a
 * P-256 ECDSA sign/verify from the entropy hook, and a TLSA query packet
 * round trip through ldns against the exact expected wire bytes.
 * Exit status 0 and "deps_selftest: N passed, 0 failed" when all hold. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_time.h"
#include "mbedtls/sha256.h"
#include "mbedtls/version.h"
#include "psa/crypto.h"

#include <ldns/ldns.h>

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

/* FIPS 180-2 appendix B.1. */
static const uint8_t sha256_abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

static void test_mbedtls(void)
{
	uint8_t md[32];
	size_t len = 0;

	check(psa_crypto_init() == PSA_SUCCESS, "psa_crypto_init");
	check(psa_hash_compute(PSA_ALG_SHA_256, (const uint8_t *)"abc", 3, md, sizeof(md), &len) ==
			      PSA_SUCCESS &&
		      len == 32 && memcmp(md, sha256_abc, 32) == 0,
	      "PSA SHA-256(\"abc\") known answer");
	memset(md, 0, sizeof(md));
	check(mbedtls_sha256((const uint8_t *)"abc", 3, md, 0) == 0 &&
		      memcmp(md, sha256_abc, 32) == 0,
	      "mbedtls_sha256(\"abc\") known answer");
	/* The same input one byte off must not match: the comparison bites. */
	check(mbedtls_sha256((const uint8_t *)"abd", 3, md, 0) == 0 &&
		      memcmp(md, sha256_abc, 32) != 0,
	      "SHA-256(\"abd\") differs");

	char ver[18];
	mbedtls_version_get_string(ver);
	printf("     mbedTLS %s\n", ver);
	check(strcmp(ver, "3.6.6") == 0, "mbedtls_version_get_string is the pinned 3.6.6");

	/* Entropy hook -> CTR_DRBG -> P-256 key -> sign -> verify. */
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	int err = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
					(const uint8_t *)"selftest", 8);
	check(err == 0, "CTR_DRBG seeded from mbedtls_hardware_poll");
	if (err == 0) {
		uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
		size_t sig_len = 0;
		err = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (!err)
			err = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
						  mbedtls_ctr_drbg_random, &drbg);
		if (!err)
			err = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, sha256_abc, 32, sig,
					      sizeof(sig), &sig_len, mbedtls_ctr_drbg_random,
					      &drbg);
		check(err == 0 && mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, sha256_abc, 32, sig,
						    sig_len) == 0,
		      "P-256 ECDSA sign + verify");
		sig[sig_len / 2] ^= 1;
		check(mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, sha256_abc, 32, sig, sig_len) != 0,
		      "P-256 ECDSA rejects a flipped bit");
	}
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	mbedtls_psa_crypto_free();
}

/* _25._tcp.example.com IN TLSA, RD, id 0x1234, EDNS0 4096 with DO. */
static const uint8_t tlsa_query_wire[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* header */
	3, '_', '2', '5', 4, '_', 't', 'c', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'c', 'o', 'm', 0, 0x00, 0x34, 0x00, 0x01, /* QTYPE 52 TLSA, QCLASS IN */
	0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, /* OPT */
};

static void test_ldns(void)
{
	ldns_rdf *qname = ldns_dname_new_frm_str("_25._tcp.example.com.");
	check(qname != NULL, "ldns_dname_new_frm_str");
	if (qname == NULL)
		return;
	ldns_pkt *q = ldns_pkt_query_new(qname, LDNS_RR_TYPE_TLSA, LDNS_RR_CLASS_IN, LDNS_RD);
	check(q != NULL, "ldns_pkt_query_new TLSA");
	if (q == NULL)
		return;
	ldns_pkt_set_id(q, 0x1234);
	ldns_pkt_set_edns_udp_size(q, 4096);
	ldns_pkt_set_edns_do(q, true);

	uint8_t *wire = NULL;
	size_t wire_len = 0;
	check(ldns_pkt2wire(&wire, q, &wire_len) == LDNS_STATUS_OK, "ldns_pkt2wire");
	check(wire != NULL && wire_len == sizeof(tlsa_query_wire) &&
		      memcmp(wire, tlsa_query_wire, wire_len) == 0,
	      "query wire bytes are exactly the expected 49");

	ldns_pkt *back = NULL;
	check(wire != NULL && ldns_wire2pkt(&back, wire, wire_len) == LDNS_STATUS_OK &&
		      back != NULL,
	      "ldns_wire2pkt");
	if (back != NULL) {
		ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(back), 0);
		check(ldns_pkt_id(back) == 0x1234 && ldns_pkt_rd(back) && !ldns_pkt_qr(back) &&
			      ldns_pkt_qdcount(back) == 1 && ldns_pkt_edns_do(back) &&
			      ldns_pkt_edns_udp_size(back) == 4096,
		      "parsed header: id, RD, one question, EDNS 4096 + DO");
		check(qr != NULL && ldns_rr_get_type(qr) == LDNS_RR_TYPE_TLSA &&
			      ldns_rr_get_class(qr) == LDNS_RR_CLASS_IN &&
			      ldns_dname_compare(ldns_rr_owner(qr), ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0))) == 0,
		      "parsed question is _25._tcp.example.com IN TLSA");
		/* A truncated packet must be refused, not half-parsed. */
		ldns_pkt *cut = NULL;
		check(ldns_wire2pkt(&cut, wire, 20) != LDNS_STATUS_OK && cut == NULL,
		      "ldns_wire2pkt refuses a truncated packet");
		ldns_pkt_free(back);
	}
	free(wire);
	ldns_pkt_free(q);
}

int main(void)
{
	/* mbedTLS allocates from a static arena, as in the firmware. */
	static unsigned char arena[64 * 1024] __attribute__((aligned(8)));
	mbedtls_memory_buffer_alloc_init(arena, sizeof(arena));
	test_mbedtls();
	test_ldns();
	size_t cur_used = 0, cur_blocks = 0, max_used = 0, max_blocks = 0;
	mbedtls_memory_buffer_alloc_cur_get(&cur_used, &cur_blocks);
	mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
	/* %lu, not %zu: newlib-nano's printf has no z (or ll) modifier. */
	printf("     mbedTLS arena peak %lu bytes in %lu blocks, %lu left allocated\n",
	       (unsigned long)max_used, (unsigned long)max_blocks, (unsigned long)cur_used);
	check(cur_used == 0, "mbedTLS arena empty after the frees");
	mbedtls_memory_buffer_alloc_free();
	printf("deps_selftest: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
