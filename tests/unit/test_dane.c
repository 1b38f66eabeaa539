/* test_dane — DANE selection and matching (firmware/dane) against a private
 * test PKI (tests/unit/data/dane, made by make-certs.sh; TLSA data computed
 * by openssl): rule 13 usability and malformed records, rule 14 digest
 * agility, the four outcomes, DANE-EE and DANE-TA matching for scenarios
 * 1-3, 6 and 17-23 of DANE-RULES.md, anchors from DNS, dates, CA
 * constraints, reference names (wildcards, CN fallback, case) and the log
 * classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dane/dane.h"
#include "mbedtls/build_info.h"
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif

#include "data/dane/fixtures.h"

/* 2026-11-28 12:00:00 UTC: every long-valid fixture is inside its dates,
 * the *-expired-* leaves (2020-2021) are not. */
#define NOW 1795867200LL
/* 2019-06-01: before every fixture's notBefore. */
#define BEFORE_2020 1559347200LL

#define LEN(a) ((uint16_t)sizeof(a))

/* ---- helpers ------------------------------------------------------------- */
static struct dane_tlsa tlsa(uint8_t u, uint8_t s, uint8_t m, const uint8_t *data, uint16_t len)
{
	struct dane_tlsa rr = { .usage = u, .selector = s, .mtype = m, .len = len, .data = data };
	return rr;
}

/* A secure RRset of n records run through rules 13 and 14 (default order). */
static enum dane_outcome select_rrset(struct dane_tlsa_set *usable, const struct dane_tlsa *rrs,
				      size_t n)
{
	struct dane_tlsa_set set;
	dane_tlsa_set_init(&set);
	for (size_t i = 0; i < n; i++)
		assert_true(dane_tlsa_set_add(&set, &rrs[i], NULL) >= 0);
	return dane_select(&set, NULL, usable);
}

/* The server's chain as sent, leaf first: a NULL-terminated PEM list. */
static void chain_of(mbedtls_x509_crt *chain, ...)
{
	va_list ap;
	va_start(ap, chain);
	mbedtls_x509_crt_init(chain);
	for (const char *pem; (pem = va_arg(ap, const char *)) != NULL;)
		assert_int_equal(mbedtls_x509_crt_parse(chain, (const unsigned char *)pem,
							strlen(pem) + 1),
				 0);
	va_end(ap);
}

/* Reference identifiers: TLSA base domain first, then the next-hop
 * domain when the MX lookup was secure. */
static const struct dane_refids mx_only = { .name = { "mx.example.net" }, .count = 1 };
static const struct dane_refids mx_and_domain = { .name = { "mx.example.net", "example.com" },
						  .count = 2 };

/* Verify chain against one secure RRset; the verdict and the log line. */
static int verify(const struct dane_tlsa *rrs, size_t n, const mbedtls_x509_crt *chain,
		  const struct dane_refids *names, int64_t now, struct dane_result *res)
{
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, rrs, n), DANE_USABLE);
	int st = dane_verify_chain(&usable, chain, names, now, res);
	char line[200];
	printf("    -> %s\n", dane_result_text(res, names, line, sizeof(line)));
	assert_int_equal(st, res->status);
	return st;
}

static int group_setup(void **state)
{
	(void)state;
#if defined(MBEDTLS_PSA_CRYPTO_C)
	/* Hashes and signatures may go through PSA (tls_init() does this in
	 * the firmware). */
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
#else
	return 0;
#endif
}

/* ---- rule 13: usability, malformed records ------------------------------- */
static void test_usable_combinations(void **state)
{
	(void)state;
	static const uint8_t d32[32], d64[64];
	for (uint8_t u = 0; u < 5; u++)
		for (uint8_t s = 0; s < 3; s++) {
			struct dane_tlsa a = tlsa(u, s, 1, d32, 32), b = tlsa(u, s, 2, d64, 64);
			bool ok = (u == 2 || u == 3) && s <= 1;
			assert_int_equal(dane_tlsa_usable(&a, NULL), ok);
			assert_int_equal(dane_tlsa_usable(&b, NULL), ok);
		}
	/* Full(0): a DER SEQUENCE filling the record exactly. */
	struct dane_tlsa full = tlsa(3, 0, 0, leaf_mx_cert_der, LEN(leaf_mx_cert_der));
	assert_true(dane_tlsa_usable(&full, NULL));
	full = tlsa(2, 1, 0, root_a_spki_der, LEN(root_a_spki_der));
	assert_true(dane_tlsa_usable(&full, NULL));
}

static void test_malformed_records_are_unusable(void **state)
{
	(void)state;
	static const uint8_t d[65];
	static const uint8_t junk[] = { 0x04, 0x02, 0xab, 0xcd };
	uint8_t padded[sizeof(root_a_spki_der) + 1];
	memcpy(padded, root_a_spki_der, sizeof(root_a_spki_der));
	padded[sizeof(padded) - 1] = 0;
	const struct dane_tlsa bad[] = {
		tlsa(3, 1, 1, d, 31),	     /* SHA-256 too short */
		tlsa(3, 1, 1, d, 33),	     /* SHA-256 too long */
		tlsa(3, 1, 1, d, 64),	     /* a SHA-512 length under type 1 */
		tlsa(3, 1, 2, d, 32),	     /* SHA-512 too short */
		tlsa(3, 1, 2, d, 65),	     /* SHA-512 too long */
		tlsa(3, 1, 3, d, 32),	     /* unknown matching type */
		tlsa(3, 1, 255, d, 64),	     /* private-use matching type */
		tlsa(3, 2, 1, d, 32),	     /* unknown selector */
		tlsa(4, 1, 1, d, 32),	     /* unknown usage */
		tlsa(255, 1, 1, d, 32),	     /* private-use usage */
		tlsa(1, 1, 1, d, 32),	     /* PKIX-EE */
		tlsa(0, 0, 1, d, 32),	     /* PKIX-TA */
		tlsa(3, 1, 0, d, 0),	     /* empty */
		tlsa(3, 1, 0, junk, 4),	     /* Full(0) that is not a SEQUENCE */
		tlsa(2, 1, 0, padded, LEN(padded)), /* SEQUENCE plus a stray byte */
		tlsa(3, 1, 1, NULL, 32),     /* no data */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dane_tlsa_usable(&bad[i], NULL))
			fail_msg("record %zu (%u %u %u, %u bytes) taken as usable", i, bad[i].usage,
				 bad[i].selector, bad[i].mtype, bad[i].len);
	}
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, bad, sizeof(bad) / sizeof(bad[0])), DANE_UNUSABLE);
	assert_int_equal(usable.count, 0);
	assert_int_equal(usable.seen, sizeof(bad) / sizeof(bad[0]));
}

static void test_parse_rdata(void **state)
{
	(void)state;
	static uint8_t rdata[3 + DANE_TLSA_DATA_MAX + 1] = { 3, 1, 1 };
	struct dane_tlsa rr;
	assert_int_equal(dane_tlsa_parse_rdata(rdata, 3 + 32, &rr), 0);
	assert_int_equal(rr.usage, 3);
	assert_int_equal(rr.selector, 1);
	assert_int_equal(rr.mtype, 1);
	assert_int_equal(rr.len, 32);
	assert_ptr_equal(rr.data, rdata + 3);
	assert_int_equal(dane_tlsa_parse_rdata(rdata, 3, &rr), DANE_ERR_MALFORMED);
	assert_int_equal(dane_tlsa_parse_rdata(rdata, 0, &rr), DANE_ERR_MALFORMED);
	assert_int_equal(dane_tlsa_parse_rdata(rdata, 3 + DANE_TLSA_DATA_MAX, &rr), 0);
	assert_int_equal(dane_tlsa_parse_rdata(rdata, sizeof(rdata), &rr), DANE_ERR_MALFORMED);
	assert_int_equal(dane_tlsa_parse_rdata(NULL, 35, &rr), DANE_ERR_INVAL);
}

/* ---- rule 11: the four outcomes ----------------------------------------- */
static void test_outcome_secure_denial_is_none(void **state)
{
	(void)state;
	/* Scenario 8: secure denial -> pre-DANE opportunistic TLS. */
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, NULL, 0), DANE_NONE);
	const struct dane_demand *d = dane_outcome_demand(DANE_NONE);
	assert_true(d->clear_allowed);
	assert_false(d->tls_required);
	assert_false(d->skip_host);
}

static void test_scenario6_all_unusable_means_encrypt_untrusted(void **state)
{
	(void)state;
	/* Scenario 6: only `1 1 1` and `0 0 1` -> TLS required, no auth. */
	const struct dane_tlsa rrs[] = {
		tlsa(1, 1, 1, leaf_mx_spki_sha256, LEN(leaf_mx_spki_sha256)),
		tlsa(0, 0, 1, root_a_cert_sha256, LEN(root_a_cert_sha256)),
	};
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, rrs, 2), DANE_UNUSABLE);
	const struct dane_demand *d = dane_outcome_demand(DANE_UNUSABLE);
	assert_true(d->tls_required); /* scenario 7: no STARTTLS -> defer */
	assert_false(d->auth_required);
	assert_false(d->clear_allowed);
	assert_false(d->skip_host);
	/* Delivered encrypted, logged Untrusted. */
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_NONE, true)),
			    "Untrusted");
}

static void test_outcome_demands(void **state)
{
	(void)state;
	const struct dane_demand *d = dane_outcome_demand(DANE_USABLE);
	assert_true(d->tls_required && d->auth_required && !d->clear_allowed && !d->skip_host);
	d = dane_outcome_demand(DANE_LOOKUP_FAILED); /* scenario 9: skip the host */
	assert_true(d->skip_host && !d->clear_allowed);
	/* A corrupted value gets the strictest row, never clear text. */
	d = dane_outcome_demand((enum dane_outcome)42);
	assert_true(d->skip_host && !d->clear_allowed);
	assert_string_equal(dane_outcome_name(DANE_UNUSABLE), "secure TLSA records, none usable");
}

/* ---- rule 14: digest agility ------------------------------------------- */
static bool has(const struct dane_tlsa_set *s, uint8_t u, uint8_t sel, uint8_t m)
{
	for (unsigned i = 0; i < s->count; i++)
		if (s->rr[i].usage == u && s->rr[i].selector == sel && s->rr[i].mtype == m)
			return true;
	return false;
}

static void test_agility_strongest_digest_per_usage_selector(void **state)
{
	(void)state;
	const struct dane_tlsa rrs[] = {
		tlsa(3, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(3, 1, 2, leaf_mx_spki_sha512, 64),
		tlsa(3, 1, 0, leaf_mx_spki_der, LEN(leaf_mx_spki_der)),
		tlsa(3, 0, 1, leaf_mx_cert_sha256, 32),	 /* other selector: own group */
		tlsa(2, 1, 1, int_a_spki_sha256, 32),	 /* other usage: own group */
		tlsa(2, 0, 1, int_a_cert_sha256, 32),
		tlsa(2, 0, 2, int_a_cert_sha512, 64),
	};
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, rrs, 7), DANE_USABLE);
	assert_false(has(&usable, 3, 1, 1)); /* beaten by 3 1 2 */
	assert_true(has(&usable, 3, 1, 2));
	assert_true(has(&usable, 3, 1, 0)); /* Full(0) always stays */
	assert_true(has(&usable, 3, 0, 1));
	assert_true(has(&usable, 2, 1, 1));
	assert_false(has(&usable, 2, 0, 1));
	assert_true(has(&usable, 2, 0, 2));
	assert_int_equal(usable.count, 5);
}

static void test_agility_configurable_order(void **state)
{
	(void)state;
	const struct dane_tlsa rrs[] = {
		tlsa(3, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(3, 1, 2, leaf_mx_spki_sha512, 64),
	};
	struct dane_tlsa_set set, usable;
	/* SHA-256 ranked above SHA-512. */
	const struct dane_digest_order sha256_first = { .count = 2, .mtype = { 1, 2 } };
	dane_tlsa_set_init(&set);
	for (int i = 0; i < 2; i++)
		assert_int_equal(dane_tlsa_set_add(&set, &rrs[i], &sha256_first), 1);
	assert_int_equal(dane_select(&set, &sha256_first, &usable), DANE_USABLE);
	assert_true(has(&usable, 3, 1, 1));
	assert_false(has(&usable, 3, 1, 2));
	/* SHA-256 only: SHA-512 records are unusable altogether. */
	const struct dane_digest_order sha256_only = { .count = 1, .mtype = { 1 } };
	dane_tlsa_set_init(&set);
	assert_int_equal(dane_tlsa_set_add(&set, &rrs[0], &sha256_only), 1);
	assert_int_equal(dane_tlsa_set_add(&set, &rrs[1], &sha256_only), 0);
	assert_int_equal(dane_select(&set, &sha256_only, &usable), DANE_USABLE);
	assert_int_equal(usable.count, 1);
	assert_true(has(&usable, 3, 1, 1));
	/* Only a SHA-512 record, SHA-256 only configured: unusable. */
	dane_tlsa_set_init(&set);
	assert_int_equal(dane_tlsa_set_add(&set, &rrs[1], &sha256_only), 0);
	assert_int_equal(dane_select(&set, &sha256_only, &usable), DANE_UNUSABLE);
}

static void test_set_is_bounded(void **state)
{
	(void)state;
	struct dane_tlsa_set set, usable;
	dane_tlsa_set_init(&set);
	struct dane_tlsa rr = tlsa(3, 1, 1, leaf_mx_spki_sha256, 32);
	for (int i = 0; i < DANE_TLSA_MAX; i++)
		assert_int_equal(dane_tlsa_set_add(&set, &rr, NULL), 1);
	assert_int_equal(dane_tlsa_set_add(&set, &rr, NULL), 0);
	rr.usage = 1; /* unusable: counted as seen, not as overflow */
	assert_int_equal(dane_tlsa_set_add(&set, &rr, NULL), 0);
	assert_int_equal(set.count, DANE_TLSA_MAX);
	assert_int_equal(set.overflow, 1);
	assert_int_equal(set.seen, DANE_TLSA_MAX + 2);
	assert_int_equal(dane_select(&set, NULL, &usable), DANE_USABLE);
	assert_int_equal(usable.count, DANE_TLSA_MAX);
	assert_int_equal(dane_tlsa_set_add(NULL, &rr, NULL), DANE_ERR_INVAL);
}

/* ---- DANE-EE (rule 15) --------------------------------------------------- */
static void test_scenario1_ee_311_matches_verified(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(3, 1, 1, leaf_mx_spki_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_int_equal(res.record, 0);
	assert_int_equal(res.depth, 0);
	assert_int_equal(res.name, -1); /* DANE-EE: no name check at all */
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, true)),
			    "Verified");
	mbedtls_x509_crt_free(&chain);
}

static void test_ee_every_selector_and_matching_type(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rrs[] = {
		tlsa(3, 0, 0, leaf_mx_cert_der, LEN(leaf_mx_cert_der)),
		tlsa(3, 0, 1, leaf_mx_cert_sha256, 32),
		tlsa(3, 0, 2, leaf_mx_cert_sha512, 64),
		tlsa(3, 1, 0, leaf_mx_spki_der, LEN(leaf_mx_spki_der)),
		tlsa(3, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(3, 1, 2, leaf_mx_spki_sha512, 64),
	};
	for (size_t i = 0; i < 6; i++) {
		struct dane_result res;
		assert_int_equal(verify(&rrs[i], 1, &chain, NULL, NOW, &res), DANE_OK);
		assert_int_equal(res.selector, rrs[i].selector);
		assert_int_equal(res.mtype, rrs[i].mtype);
	}
	/* The selector matters: an SPKI digest under selector 0 fails. */
	const struct dane_tlsa swapped = tlsa(3, 0, 1, leaf_mx_spki_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&swapped, 1, &chain, NULL, NOW, &res), DANE_ERR_NOMATCH);
	mbedtls_x509_crt_free(&chain);
}

static void test_ee_rsa_leaf(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_rsa_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(3, 1, 2, leaf_rsa_mx_spki_sha512, 64);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, NULL, NOW, &res), DANE_OK);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario2_ee_expired_cert_other_name_still_verified(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_expired_other_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(3, 1, 1, leaf_expired_other_spki_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_int_equal(res.depth, 0);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario3_digest_mismatch_defers(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	uint8_t wrong[32];
	memcpy(wrong, leaf_mx_spki_sha256, 32);
	wrong[31] ^= 0x01;
	const struct dane_tlsa rrs[] = {
		tlsa(3, 1, 1, wrong, 32),
		tlsa(3, 1, 1, leaf_rsa_mx_spki_sha256, 32), /* another server's key */
	};
	struct dane_result res;
	assert_int_equal(verify(rrs, 2, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	assert_int_equal(res.depth, DANE_DEPTH_NONE);
	assert_int_equal(res.chain_len, 2);
	char line[200];
	assert_string_equal(dane_result_text(&res, &mx_only, line, sizeof(line)),
			    "no usable TLSA record matched the 2 certificates sent");
	/* The caller defers 4.7.5: authentication was required. */
	assert_true(dane_outcome_demand(DANE_USABLE)->auth_required);
	mbedtls_x509_crt_free(&chain);
}

static void test_ee_record_does_not_match_issuer(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	/* DANE-EE names the leaf only: the intermediate's digest is no match. */
	const struct dane_tlsa rr = tlsa(3, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario23_weaker_digest_ignored(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	/* `3 1 1` matches, `3 1 2` for the same key does not (another key's
	 * SHA-512): the SHA-512 record wins and nothing matches. */
	const struct dane_tlsa rrs[] = {
		tlsa(3, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(3, 1, 2, leaf_rsa_mx_spki_sha512, 64),
	};
	struct dane_result res;
	assert_int_equal(verify(rrs, 2, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	mbedtls_x509_crt_free(&chain);
}

static void test_no_certificate(void **state)
{
	(void)state;
	const struct dane_tlsa rr = tlsa(3, 1, 1, leaf_mx_spki_sha256, 32);
	struct dane_tlsa_set usable;
	assert_int_equal(select_rrset(&usable, &rr, 1), DANE_USABLE);
	struct dane_result res;
	assert_int_equal(dane_verify_chain(&usable, NULL, &mx_only, NOW, &res), DANE_ERR_NOCERT);
	mbedtls_x509_crt empty;
	mbedtls_x509_crt_init(&empty);
	assert_int_equal(dane_verify_chain(&usable, &empty, &mx_only, NOW, &res), DANE_ERR_NOCERT);
	assert_string_equal(dane_class_name(dane_classify(true, false, DANE_AUTH_NONE, true)),
			    "Anonymous");
}

/* ---- DANE-TA (rules 16, 17) --------------------------------------------- */
static void test_scenario17_ta_issuing_ca_in_chain(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_int_equal(res.depth, 1);
	assert_false(res.anchor_from_dns);
	assert_int_equal(res.name, 0);
	char line[200];
	assert_string_equal(dane_result_text(&res, &mx_only, line, sizeof(line)),
			    "TLSA 2 0 1 matched depth 1; chain verified; leaf names mx.example.net");
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_root_sent_spki_digests(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_rsa_mx_pem, int_a_pem, root_a_pem, NULL);
	const struct dane_tlsa rrs[] = {
		tlsa(2, 1, 1, root_a_spki_sha256, 32),
		tlsa(2, 1, 2, root_a_spki_sha512, 64),
		tlsa(2, 0, 2, root_a_cert_sha512, 64),
		tlsa(2, 1, 0, root_a_spki_der, LEN(root_a_spki_der)),
	};
	for (size_t i = 0; i < 4; i++) {
		struct dane_result res;
		assert_int_equal(verify(&rrs[i], 1, &chain, &mx_only, NOW, &res), DANE_OK);
		assert_int_equal(res.depth, 2);
		assert_false(res.anchor_from_dns);
	}
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario18_ta_digest_root_not_sent_defers(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rrs[] = {
		tlsa(2, 0, 1, root_a_cert_sha256, 32),
		tlsa(2, 1, 2, root_a_spki_sha512, 64),
	};
	struct dane_result res;
	assert_int_equal(verify(rrs, 2, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario19_ta_200_root_from_dns(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 0, root_a_cert_der, LEN(root_a_cert_der));
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_true(res.anchor_from_dns);
	assert_int_equal(res.depth, 2); /* just above the last certificate sent */
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, true)),
			    "Verified");
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_210_root_key_from_dns(void **state)
{
	(void)state;
	/* `2 1 0`: only the root's public key is in DNS; it signs the
	 * intermediate (RSA signature over an ECDSA CA). */
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 1, 0, root_a_spki_der, LEN(root_a_spki_der));
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_true(res.anchor_from_dns);
	assert_int_equal(res.depth, 1); /* the sent certificate the key signed */
	mbedtls_x509_crt_free(&chain);

	/* The key signs the leaf itself: nothing else to chain. */
	chain_of(&chain, leaf_direct_mx_pem, NULL);
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_int_equal(res.depth, 0);
	assert_true(res.anchor_from_dns);
	/* ... but its name still counts. */
	const struct dane_refids elsewhere = { .name = { "mx.example.org" }, .count = 1 };
	assert_int_equal(verify(&rr, 1, &chain, &elsewhere, NOW, &res), DANE_ERR_NAME);
	/* ... and its dates. */
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, BEFORE_2020, &res), DANE_ERR_DATE);
	assert_int_equal(res.bad_depth, 0);
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_anchor_from_dns_that_signs_nothing(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	/* Root B's key signs nothing here; root B's certificate is an
	 * anchor mbedTLS cannot chain to. */
	const struct dane_tlsa key = tlsa(2, 1, 0, root_b_spki_der, LEN(root_b_spki_der));
	const struct dane_tlsa crt = tlsa(2, 0, 0, root_b_cert_der, LEN(root_b_cert_der));
	struct dane_result res;
	assert_int_equal(verify(&key, 1, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	assert_int_equal(verify(&crt, 1, &chain, &mx_only, NOW, &res), DANE_ERR_CHAIN);
	assert_true(res.anchor_from_dns);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario20_ta_leaf_names_other_domain(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_other_domain_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_and_domain, NOW, &res), DANE_ERR_NAME);
	assert_int_equal(res.depth, 1);
	char line[200];
	assert_string_equal(dane_result_text(&res, &mx_and_domain, line, sizeof(line)),
			    "TLSA 2 0 1 matched depth 1, but the leaf names none of: "
			    "mx.example.net example.com");
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario21_ta_leaf_names_recipient_domain(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_recipient_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	/* MX secure: the next-hop domain is a reference identifier. */
	assert_int_equal(verify(&rr, 1, &chain, &mx_and_domain, NOW, &res), DANE_OK);
	assert_int_equal(res.name, 1);
	/* MX insecure: only the MX host name counts, and the leaf's CN
	 * (mx.example.net) is ignored because it has a DNS-ID SAN. */
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_ERR_NAME);
	mbedtls_x509_crt_free(&chain);
}

static void test_scenario22_ta_record_matching_leaf_is_no_match(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa digests[] = {
		tlsa(2, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(2, 0, 1, leaf_mx_cert_sha256, 32),
		tlsa(2, 0, 0, leaf_mx_cert_der, LEN(leaf_mx_cert_der)),
	};
	struct dane_result res;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(verify(&digests[i], 1, &chain, &mx_only, NOW, &res),
				 DANE_ERR_LEAF_TA);
	mbedtls_x509_crt_free(&chain);

	/* A self-signed leaf offered as its own anchor from DNS, whole or as
	 * its key: mbedTLS would call a trusted self-signed EE fine, DANE-TA
	 * must not. */
	chain_of(&chain, leaf_self_pem, NULL);
	const struct dane_tlsa anchors[] = {
		tlsa(2, 0, 0, leaf_self_cert_der, LEN(leaf_self_cert_der)),
		tlsa(2, 1, 0, leaf_self_spki_der, LEN(leaf_self_spki_der)),
	};
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(verify(&anchors[i], 1, &chain, &mx_only, NOW, &res),
				 DANE_ERR_LEAF_TA);
	/* The same leaf is fine under DANE-EE. */
	const struct dane_tlsa ee = tlsa(3, 0, 0, leaf_self_cert_der, LEN(leaf_self_cert_der));
	assert_int_equal(verify(&ee, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_dates_checked_on_every_certificate(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_expired_mx_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_ERR_DATE);
	assert_int_equal(res.bad_depth, 0);
	assert_true(res.x509_flags & MBEDTLS_X509_BADCERT_EXPIRED);
	/* ... the same leaf inside its validity period verifies, which proves
	 * the caller's clock is used, not the machine's. */
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, 1600000000LL, &res), DANE_OK);
	mbedtls_x509_crt_free(&chain);

	/* Before 2020 every certificate, the anchor included, is not yet
	 * valid. */
	chain_of(&chain, leaf_mx_pem, int_a_pem, root_a_pem, NULL);
	const struct dane_tlsa root = tlsa(2, 0, 1, root_a_cert_sha256, 32);
	assert_int_equal(verify(&root, 1, &chain, &mx_only, BEFORE_2020, &res), DANE_ERR_DATE);
	assert_true(res.x509_flags & MBEDTLS_X509_BADCERT_FUTURE);
	char line[200];
	printf("    %s\n", dane_result_text(&res, &mx_only, line, sizeof(line)));
	assert_non_null(strstr(line, "not yet valid"));
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_other_root_chain_fails(void **state)
{
	(void)state;
	/* Root A sent and matched, but the leaf was issued under root B. */
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_b_mx_pem, root_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, root_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_ERR_CHAIN);
	assert_int_equal(res.depth, 1);
	assert_true(res.x509_flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	mbedtls_x509_crt_free(&chain);
	/* The right root verifies. */
	chain_of(&chain, leaf_b_mx_pem, root_b_pem, NULL);
	const struct dane_tlsa rb = tlsa(2, 1, 1, root_b_spki_sha256, 32);
	assert_int_equal(verify(&rb, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_anchor_must_be_a_ca(void **state)
{
	(void)state;
	/* "notca" has keyCertSign but basicConstraints CA:FALSE. */
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_notca_mx_pem, notca_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, notca_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_ERR_CHAIN);
	mbedtls_x509_crt_free(&chain);
}

static void test_ta_wildcard_and_cn_only_leaves(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	chain_of(&chain, leaf_wild_pem, int_a_pem, NULL);
	assert_int_equal(verify(&rr, 1, &chain, &mx_only, NOW, &res), DANE_OK);
	const struct dane_refids apex = { .name = { "example.net" }, .count = 1 };
	assert_int_equal(verify(&rr, 1, &chain, &apex, NOW, &res), DANE_ERR_NAME);
	const struct dane_refids deep = { .name = { "a.mx.example.net" }, .count = 1 };
	assert_int_equal(verify(&rr, 1, &chain, &deep, NOW, &res), DANE_ERR_NAME);
	mbedtls_x509_crt_free(&chain);

	/* No SAN at all: the CN counts, compared case-insensitively. */
	chain_of(&chain, leaf_cn_only_pem, int_a_pem, NULL);
	const struct dane_refids upper = { .name = { "MX.Example.NET." }, .count = 1 };
	assert_int_equal(verify(&rr, 1, &chain, &upper, NOW, &res), DANE_OK);
	assert_int_equal(verify(&rr, 1, &chain, &apex, NOW, &res), DANE_ERR_NAME);
	mbedtls_x509_crt_free(&chain);
}

static void test_furthest_failure_is_reported(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_other_domain_pem, int_a_pem, NULL);
	/* A mismatching EE record and a TA record that fails only on the
	 * name: the name is what a postmaster needs to hear. */
	const struct dane_tlsa rrs[] = {
		tlsa(3, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(2, 1, 1, int_a_spki_sha256, 32),
	};
	struct dane_result res;
	assert_int_equal(verify(rrs, 2, &chain, &mx_only, NOW, &res), DANE_ERR_NAME);
	assert_int_equal(res.usage, 2);
	assert_int_equal(res.depth, 1);
	mbedtls_x509_crt_free(&chain);
}

static void test_match_after_failures(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, int_a_pem, root_b_pem, NULL);
	/* Failing records first (leaf as TA, wrong root), then a match. */
	const struct dane_tlsa rrs[] = {
		tlsa(2, 1, 1, leaf_mx_spki_sha256, 32),
		tlsa(2, 0, 2, root_b_cert_sha512, 64),
		tlsa(2, 0, 2, int_a_cert_sha512, 64),
	};
	struct dane_result res;
	assert_int_equal(verify(rrs, 3, &chain, &mx_only, NOW, &res), DANE_OK);
	assert_int_equal(res.record, 2);
	assert_int_equal(res.depth, 1);
	assert_int_equal(res.name, 0);
	mbedtls_x509_crt_free(&chain);
}

/* ---- reference identifiers -------------------------------------------- */
static bool nm(const char *pattern, const char *ref)
{
	return dane_name_matches((const uint8_t *)pattern, strlen(pattern), ref);
}

static void test_name_matching_rules(void **state)
{
	(void)state;
	assert_true(nm("mx.example.net", "mx.example.net"));
	assert_true(nm("MX.EXAMPLE.NET", "mx.example.net"));
	assert_true(nm("mx.example.net.", "mx.example.net"));
	assert_true(nm("mx.example.net", "mx.example.net."));
	assert_false(nm("mx.example.net", "mx.example.ne"));
	assert_false(nm("mx.example.net", "xmx.example.net"));
	assert_false(nm("", "mx.example.net"));
	assert_false(nm("mx.example.net", ""));
	/* Wildcards: the whole left-most label, exactly one label. */
	assert_true(nm("*.example.net", "mx.example.net"));
	assert_true(nm("*.Example.Net", "MX.example.net"));
	assert_false(nm("*.example.net", "example.net"));
	assert_false(nm("*.example.net", "a.mx.example.net"));
	assert_false(nm("*.example.net", ".example.net"));
	assert_false(nm("*.net", "example.net"));     /* not under a TLD */
	assert_false(nm("m*.example.net", "mx.example.net"));
	assert_false(nm("*x.example.net", "mx.example.net"));
	assert_false(nm("mx.*.net", "mx.example.net"));
	assert_false(nm("*.*.net", "mx.example.net"));
	assert_false(nm("*", "mx"));
	assert_false(nm("*.example.net", "*.example.net")); /* references are literal */
	/* IDNA: A-labels compare as ASCII, case-insensitively; bytes above
	 * ASCII are never case-folded. */
	assert_true(nm("xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE"));
	assert_true(nm("*.xn--bcher-kva.example", "mx.xn--bcher-kva.example"));
	assert_false(nm("xn--bcher-kva.example", "xn--bcher-kvb.example"));
	assert_false(nm("b\xc3\xbc" "cher.example", "B\xc3\x9c" "CHER.example"));
	/* A NUL inside a certificate name never matches its prefix. */
	static const uint8_t nul[] = "mx.example.net\0.evil.org";
	assert_false(dane_name_matches(nul, sizeof(nul) - 1, "mx.example.net"));
	/* Over-long names. */
	char longname[DANE_NAME_MAX + 3];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(nm(longname, longname));
	assert_false(dane_name_matches(NULL, 3, "mx"));
	assert_false(nm("mx", NULL));
}

/* ---- log classes (rule 22) ---------------------------------------------- */
static void test_log_classes(void **state)
{
	(void)state;
	/* Scenario 1: DANE match via a secure MX. */
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, true)),
			    "Verified");
	/* Scenario 11: the same match via an insecure MX. */
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, false)),
			    "Trusted");
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_WEBPKI, true)),
			    "Trusted");
	assert_string_equal(dane_class_name(dane_classify(true, true, DANE_AUTH_NONE, false)),
			    "Untrusted");
	assert_string_equal(dane_class_name(dane_classify(true, false, DANE_AUTH_NONE, true)),
			    "Anonymous");
	assert_string_equal(dane_class_name(dane_classify(false, false, DANE_AUTH_NONE, false)),
			    "Cleartext");
}

/* ---- bounds ------------------------------------------------------------- */
static void test_result_text_is_bounded(void **state)
{
	(void)state;
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_other_domain_pem, int_a_pem, NULL);
	const struct dane_tlsa rr = tlsa(2, 0, 1, int_a_cert_sha256, 32);
	struct dane_result res;
	assert_int_equal(verify(&rr, 1, &chain, &mx_and_domain, NOW, &res), DANE_ERR_NAME);
	/* A short buffer gets a NUL-terminated prefix, never an overrun
	 * (ASan would see one). */
	char tiny[12];
	memset(tiny, 'x', sizeof(tiny));
	assert_string_equal(dane_result_text(&res, &mx_and_domain, tiny, sizeof(tiny)),
			    "TLSA 2 0 1 ");
	char one[1] = { 'x' };
	assert_string_equal(dane_result_text(&res, &mx_and_domain, one, 1), "");
	assert_null(dane_result_text(&res, NULL, NULL, 0));
	mbedtls_x509_crt_free(&chain);
}

static void test_verify_arguments(void **state)
{
	(void)state;
	struct dane_tlsa_set bogus;
	dane_tlsa_set_init(&bogus);
	bogus.count = DANE_TLSA_MAX + 1; /* corrupted by a caller */
	mbedtls_x509_crt chain;
	chain_of(&chain, leaf_mx_pem, NULL);
	struct dane_result res;
	assert_int_equal(dane_verify_chain(&bogus, &chain, &mx_only, NOW, &res), DANE_ERR_INVAL);
	assert_int_equal(dane_verify_chain(NULL, &chain, &mx_only, NOW, &res), DANE_ERR_INVAL);
	assert_int_equal(dane_verify_chain(&bogus, &chain, &mx_only, NOW, NULL), DANE_ERR_INVAL);
	/* An empty usable set matches nothing. */
	dane_tlsa_set_init(&bogus);
	assert_int_equal(dane_verify_chain(&bogus, &chain, &mx_only, NOW, &res), DANE_ERR_NOMATCH);
	mbedtls_x509_crt_free(&chain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable_combinations),
		cmocka_unit_test(test_malformed_records_are_unusable),
		cmocka_unit_test(test_parse_rdata),
		cmocka_unit_test(test_outcome_secure_denial_is_none),
		cmocka_unit_test(test_scenario6_all_unusable_means_encrypt_untrusted),
		cmocka_unit_test(test_outcome_demands),
		cmocka_unit_test(test_agility_strongest_digest_per_usage_selector),
		cmocka_unit_test(test_agility_configurable_order),
		cmocka_unit_test(test_set_is_bounded),
		cmocka_unit_test(test_scenario1_ee_311_matches_verified),
		cmocka_unit_test(test_ee_every_selector_and_matching_type),
		cmocka_unit_test(test_ee_rsa_leaf),
		cmocka_unit_test(test_scenario2_ee_expired_cert_other_name_still_verified),
		cmocka_unit_test(test_scenario3_digest_mismatch_defers),
		cmocka_unit_test(test_ee_record_does_not_match_issuer),
		cmocka_unit_test(test_scenario23_weaker_digest_ignored),
		cmocka_unit_test(test_no_certificate),
		cmocka_unit_test(test_scenario17_ta_issuing_ca_in_chain),
		cmocka_unit_test(test_ta_root_sent_spki_digests),
		cmocka_unit_test(test_scenario18_ta_digest_root_not_sent_defers),
		cmocka_unit_test(test_scenario19_ta_200_root_from_dns),
		cmocka_unit_test(test_ta_210_root_key_from_dns),
		cmocka_unit_test(test_ta_anchor_from_dns_that_signs_nothing),
		cmocka_unit_test(test_scenario20_ta_leaf_names_other_domain),
		cmocka_unit_test(test_scenario21_ta_leaf_names_recipient_domain),
		cmocka_unit_test(test_scenario22_ta_record_matching_leaf_is_no_match),
		cmocka_unit_test(test_ta_dates_checked_on_every_certificate),
		cmocka_unit_test(test_ta_other_root_chain_fails),
		cmocka_unit_test(test_ta_anchor_must_be_a_ca),
		cmocka_unit_test(test_ta_wildcard_and_cn_only_leaves),
		cmocka_unit_test(test_furthest_failure_is_reported),
		cmocka_unit_test(test_match_after_failures),
		cmocka_unit_test(test_name_matching_rules),
		cmocka_unit_test(test_log_classes),
		cmocka_unit_test(test_result_text_is_bounded),
		cmocka_unit_test(test_verify_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
