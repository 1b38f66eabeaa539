/* test_tls_import — importing the gateway's own key and chain from PEM
 * (tls_import_pem) and storing it by DANE-RULES 24 (rollover_import,
 * rollover_switch, rollover_apply_current): good RSA / P-384 / P-256
 * pairs, a key that is not the leaf's, bad PEM of every kind, chains too
 * long or too many, date and name warnings, the current key's renewal
 * in place, another key as the next key, a full settings image changing
 * nothing. Test PKI: data/creds/fixtures.h (make-fixtures.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/settings.h"
#include "mbedtls/pem.h"
#include "mbedtls/x509_crt.h"
#include "relay/rollover.h"
#include "mbedtls/platform.h"
#include "support/creds_test_util.h"
#include "tls/tls.h"
#include "../../board/host/flashsim.h"

#include "data/creds/fixtures.h"

#define NOW (FX_NOT_BEFORE + 86400) /* the fixtures are valid */
#define T0 1700000000		     /* generated certificates: valid T0 - 1 day .. + 10 years */

static struct tls_import *im;
static char text[2 * TLS_IMPORT_TEXT_MAX];

/* A generated P-256 pair as PEM ("EC PRIVATE KEY" + "CERTIFICATE"). */
static uint8_t gen_key[256], gen_crt[1024];
static size_t gen_kl, gen_cl;
static char gen_pem[4096];

static void pem_append(char *out, size_t size, const char *label, const uint8_t *der, size_t len)
{
	char head[64], foot[64];
	snprintf(head, sizeof(head), "-----BEGIN %s-----\n", label);
	snprintf(foot, sizeof(foot), "-----END %s-----\n", label);
	size_t used = strlen(out), olen = 0;
	assert_int_equal(mbedtls_pem_write_buffer(head, foot, der, len, (unsigned char *)out + used,
						  size - used, &olen),
			 0);
}

static int setup(void **state)
{
	(void)state;
	if (tls_init() != 0)
		return -1;
	im = tls_import_new();
	gen_kl = sizeof(gen_key);
	gen_cl = sizeof(gen_crt);
	if (!im || tls_cred_generate("gw.example", T0, gen_key, &gen_kl, gen_crt, &gen_cl) != 0)
		return -1;
	gen_pem[0] = '\0';
	pem_append(gen_pem, sizeof(gen_pem), "EC PRIVATE KEY", gen_key, gen_kl);
	pem_append(gen_pem, sizeof(gen_pem), "CERTIFICATE", gen_crt, gen_cl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tls_import_free(im);
	return 0;
}

static const char *cat(const char *a, const char *b, const char *c, const char *d)
{
	snprintf(text, sizeof(text), "%s%s%s%s", a, b ? b : "", c ? c : "", d ? d : "");
	return text;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void good_rsa_chain_from_a_ca(void **state)
{
	(void)state;
	/* text around the blocks (openssl's "Certificate:" dumps) is ignored */
	const char *t = cat("Bag Attributes: none\n", fx_rsa_key, fx_rsa_crt, fx_ca_crt);
	assert_int_equal(tls_import_pem(im, t, "gw.example", NOW), 0);
	assert_string_equal(im->err, "");
	assert_string_equal(im->key_type, "RSA 2048");
	assert_int_equal(im->ncerts, 2);
	assert_true(im->name_ok);
	assert_false(im->self_signed || im->expired || im->not_yet_valid || im->order_warning);
	/* the DER kept loads as the credential, with its chain */
	struct tls_cred cred;
	assert_int_equal(tls_cred_load(&cred, im->key_der, im->key_len, im->chain_der,
				       im->chain_len),
			 0);
	assert_non_null(cred.cert.next);
	assert_int_equal(cred.cert.raw.len + cred.cert.next->raw.len, im->chain_len);
	uint8_t d[32];
	assert_int_equal(rollover_spki_sha256(&cred.cert, d), 0);
	assert_memory_equal(d, im->spki, 32);
	tls_cred_free(&cred);
	/* a wildcard-free second name counts too; another host is only a warning */
	assert_int_equal(tls_import_pem(im, t, "mail.gw.example", NOW), 0);
	assert_true(im->name_ok);
	assert_int_equal(tls_import_pem(im, t, "other.example", NOW), 0);
	assert_false(im->name_ok);
}

static void good_p384_and_generated_p256(void **state)
{
	(void)state;
	assert_int_equal(tls_import_pem(im, cat(fx_p384_key, fx_p384_crt, NULL, NULL), "gw.example",
					NOW),
			 0);
	assert_string_equal(im->key_type, "EC P-384");
	assert_int_equal(im->ncerts, 1);
	assert_false(im->self_signed);
	/* openssl ecparam -genkey puts EC PARAMETERS first: skipped */
	const char *params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
			     "-----END EC PARAMETERS-----\n";
	assert_int_equal(tls_import_pem(im, cat(params, gen_pem, NULL, NULL), "gw.example", T0), 0);
	assert_string_equal(im->key_type, "EC P-256");
	assert_true(im->self_signed);
	assert_int_equal(im->chain_len, gen_cl);
	assert_memory_equal(im->chain_der, gen_crt, gen_cl);
}

/* Under full TLS load the arena has no room for an import: every
 * attempt fails as "not enough TLS memory now; try again" (never as a bad
 * paste), leaves nothing allocated and no key behind, and the same text
 * imports once there is room again. The arena is filled to the last byte,
 * then given back a block at a time. */
static void import_without_tls_memory_fails_cleanly(void **state)
{
	(void)state;
	const char *t = cat(fx_rsa_key, fx_rsa_crt, fx_ca_crt, NULL);
	static void *fill[8192];
	size_t nfill = ctu_arena_fill(fill, 8192), before, peak;
	/* nothing to lend the paste buffer or the import state from */
	assert_null(tls_import_text_claim(&nfill));
	assert_null(tls_import_new());
	int nomem = 0, e;
	for (;;) {
		tls_heap_stats(&before, &peak);
		e = tls_import_pem(im, t, "gw.example", NOW);
		size_t after;
		tls_heap_stats(&after, &peak);
		assert_int_equal(after, before); /* nothing kept */
		if (e == 0)
			break;
		assert_int_equal(e, TLS_IMPORT_ENOMEM);
		assert_string_equal(im->err, "not enough TLS memory now; try again");
		assert_true(all_zero(im->key_der, sizeof(im->key_der)));
		nomem++;
		assert_true(nfill > 0);
		mbedtls_free(fill[--nfill]);
	}
	assert_true(nomem > 1); /* it failed at several depths, not only the first */
	assert_string_equal(im->key_type, "RSA 2048");
	ctu_arena_release(fill, &nfill);
}

static void key_not_the_leafs_is_refused(void **state)
{
	(void)state;
	int e = tls_import_pem(im, cat(fx_rsa_key, fx_p384_crt, NULL, NULL), "gw.example", NOW);
	assert_int_equal(e, TLS_IMPORT_EMISMATCH);
	assert_non_null(strstr(im->err, "does not belong"));
	assert_true(all_zero(im->key_der, sizeof(im->key_der)));
	/* the right certificate, but not first */
	e = tls_import_pem(im, cat(fx_rsa_key, fx_ca_crt, fx_rsa_crt, NULL), "gw.example", NOW);
	assert_int_equal(e, TLS_IMPORT_EMISMATCH);
	assert_non_null(strstr(im->err, "must come first"));
}

static void bad_pem_is_refused_with_a_reason(void **state)
{
	(void)state;
	static const struct {
		const char *what, *why;
	} cases[] = {
		{ "hello\n", "no private key" },
		{ NULL, "no certificate" }, /* the key alone: filled below */
		{ "-----BEGIN CERTIFICATE-----\nMIIB\n", "no matching -----END" },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
		  "encrypted" },
		{ "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", "unexpected PEM" },
		{ "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not valid base64" },
		{ "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "does not parse" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].what ? cases[i].what : fx_p384_key;
		int e = tls_import_pem(im, t, "gw.example", NOW);
		if (e >= 0 || !strstr(im->err, cases[i].why))
			fail_msg("case %zu: %d '%s', wanted '%s'", i, e, im->err, cases[i].why);
	}
	/* a certificate whose base64 was damaged */
	char *t = (char *)cat(fx_p384_key, fx_p384_crt, NULL, NULL);
	char *body = strstr(t + strlen(fx_p384_key), "-----\n") + 6;
	body[10] = body[10] == 'A' ? 'B' : 'A'; /* decodes, but no longer parses */
	assert_true(tls_import_pem(im, t, "gw.example", NOW) < 0);
	/* two keys */
	assert_int_equal(tls_import_pem(im, cat(fx_p384_key, fx_p384_key, fx_p384_crt, NULL),
					"gw.example", NOW),
			 TLS_IMPORT_EPARSE);
	assert_non_null(strstr(im->err, "more than one private key"));
	/* the key never reaches the message */
	assert_null(strstr(im->err, "MII"));
}

static void chains_too_long_or_too_many(void **state)
{
	(void)state;
	/* 3 RSA-signed certificates: more bytes than one record carries */
	int e = tls_import_pem(im, cat(fx_rsa_key, fx_rsa_crt, fx_ca_crt, fx_ca_crt), "gw.example",
			       NOW);
	assert_int_equal(e, TLS_IMPORT_ECHAIN);
	assert_non_null(strstr(im->err, "too long"));
	/* 5 certificates */
	char t[TLS_IMPORT_TEXT_MAX + 1];
	snprintf(t, sizeof(t), "%s", gen_pem);
	const char *c = strstr(gen_pem, "-----BEGIN CERTIFICATE");
	for (int i = 0; i < 4; i++)
		strncat(t, c, sizeof(t) - strlen(t) - 1);
	assert_int_equal(tls_import_pem(im, t, "gw.example", T0), TLS_IMPORT_ECHAIN);
	assert_non_null(strstr(im->err, "more than 4 certificates"));
	/* too much text */
	static char big[TLS_IMPORT_TEXT_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(tls_import_pem(im, big, "gw.example", T0), TLS_IMPORT_EINVAL);
}

static void dates_are_warnings(void **state)
{
	(void)state;
	assert_int_equal(tls_import_pem(im, gen_pem, "gw.example", T0 + 20LL * 365 * 86400), 0);
	assert_true(im->expired);
	assert_false(im->not_yet_valid);
	assert_int_equal(tls_import_pem(im, gen_pem, "gw.example", T0 - 3 * 86400), 0);
	assert_true(im->not_yet_valid);
	/* and the description says so */
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	assert_int_equal(mbedtls_x509_crt_parse_der(&x, gen_crt, gen_cl), 0);
	char d[600];
	tls_cert_describe(&x, "other.example", T0 + 20LL * 365 * 86400, d, sizeof(d));
	assert_non_null(strstr(d, "(EXPIRED)"));
	assert_non_null(strstr(d, "(self-signed)"));
	assert_non_null(strstr(d, "does NOT name other.example"));
	mbedtls_x509_crt_free(&x);
}

/* ---- storing by rule 24 ---------------------------------------------------- */

static struct flashsim *fs;
static struct settings set;

static void open_settings(void)
{
	struct flashsim_config cfg = { .path = NULL, .size = 4 * 16384, .erase_size = 16384,
				       .program_size = 4, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	assert_int_equal(settings_open(&set, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_set(&set, "tls_key", gen_key, gen_kl), 0);
	assert_int_equal(settings_set(&set, "tls_cert", gen_crt, gen_cl), 0);
	assert_int_equal(settings_save(&set), 0);
}

static bool entry_is(const char *name, const uint8_t *v, size_t len)
{
	const uint8_t *p;
	int l = settings_get(&set, name, &p);
	return l == (int)len && memcmp(p, v, len) == 0;
}

/* A certificate for the generated key, signed by itself (a renewal). */
static size_t renew_gen(uint8_t *out, size_t size)
{
	mbedtls_pk_context pk;
	mbedtls_x509write_cert w;
	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&w);
	assert_int_equal(mbedtls_pk_parse_key(&pk, gen_key, gen_kl, NULL, 0, mbedtls_ctr_drbg_random,
					      tls_drbg()),
			 0);
	static const uint8_t serial[] = { 0x42 };
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &pk);
	mbedtls_x509write_crt_set_issuer_key(&w, &pk);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, "CN=gw.example renewed"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, "CN=gw.example renewed"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial_raw(&w, (uint8_t *)serial, 1), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20240101000000", "20340101000000"), 0);
	int len = mbedtls_x509write_crt_der(&w, out, size, mbedtls_ctr_drbg_random, tls_drbg());
	assert_true(len > 0);
	memmove(out, out + size - (size_t)len, (size_t)len);
	mbedtls_x509write_crt_free(&w);
	mbedtls_pk_free(&pk);
	return (size_t)len;
}

static void new_key_becomes_next_and_renewal_stays_current(void **state)
{
	(void)state;
	open_settings();
	static const uint8_t seen[12] = { 1 };
	assert_int_equal(settings_set(&set, ROLLOVER_SEEN_KEY, seen, sizeof(seen)), 0);
	/* another key: the next key, the DNS watch starts again */
	assert_int_equal(tls_import_pem(im, cat(fx_rsa_key, fx_rsa_crt, fx_ca_crt, NULL),
					"gw.example", NOW),
			 0);
	uint8_t rsa_spki[32];
	memcpy(rsa_spki, im->spki, 32);
	assert_int_equal(rollover_key_is(&set, im->spki), 0);
	assert_int_equal(rollover_import(&set, im), ROLLOVER_IMPORT_NEXT);
	assert_true(entry_is("tls_next_cert", im->chain_der, im->chain_len));
	assert_true(entry_is("tls_next_key", im->key_der, im->key_len));
	assert_true(entry_is("tls_cert", gen_crt, gen_cl)); /* the current key stays */
	const uint8_t *v;
	assert_int_equal(settings_get(&set, ROLLOVER_SEEN_KEY, &v), SETTINGS_ENOENT);
	assert_int_equal(rollover_key_is(&set, im->spki), 2);
	/* the next key's own renewal: the watch is kept */
	assert_int_equal(settings_set(&set, ROLLOVER_SEEN_KEY, seen, sizeof(seen)), 0);
	assert_int_equal(rollover_import(&set, im), ROLLOVER_IMPORT_NEXT_RENEW);
	assert_int_equal(settings_get(&set, ROLLOVER_SEEN_KEY, &v), 12);
	/* the current key with a new certificate: in place, 3 1 1 unchanged */
	static uint8_t crt[1024];
	size_t cl = renew_gen(crt, sizeof(crt));
	snprintf(text, sizeof(text), "%s", gen_pem);
	*strstr(text, "-----BEGIN CERTIFICATE") = '\0';
	pem_append(text, sizeof(text), "CERTIFICATE", crt, cl);
	assert_int_equal(tls_import_pem(im, text, "gw.example", T0 + 86400 * 365), 0);
	assert_int_equal(rollover_import(&set, im), ROLLOVER_IMPORT_RENEW);
	assert_true(entry_is("tls_cert", crt, cl));
	assert_true(entry_is("tls_next_cert", NULL, 0) == false); /* the next key is untouched */
	assert_int_equal(rollover_key_is(&set, rsa_spki), 2);
	/* all of it saved: read back from flash */
	assert_int_equal(settings_open(&set, flashsim_flash(fs), 2), 0);
	assert_true(entry_is("tls_cert", crt, cl));
	assert_int_equal(rollover_key_is(&set, rsa_spki), 2);
	/* the switch: next -> current; the live hook gets a pair that loads */
	assert_int_equal(rollover_switch(&set), 0);
	assert_int_equal(rollover_key_is(&set, rsa_spki), 1);
	assert_int_equal(settings_get(&set, "tls_next_key", &v), SETTINGS_ENOENT);
	assert_int_equal(settings_get(&set, ROLLOVER_SEEN_KEY, &v), SETTINGS_ENOENT);
	assert_int_equal(rollover_switch(&set), ROLLOVER_ENOENT);
	flashsim_close(fs);
}

static int loads(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl)
{
	struct tls_cred c;
	int e = tls_cred_load(&c, key, kl, crt, cl);
	if (!e) {
		e = c.cert.next ? 2 : 1; /* how many certificates, at most 2 */
		tls_cred_free(&c);
	}
	return e;
}

static void apply_current_and_a_full_image(void **state)
{
	(void)state;
	open_settings();
	assert_int_equal(rollover_apply_current(&set, loads), 1);
	/* fill the image so that the RSA pair cannot fit */
	static uint8_t filler[SETTINGS_IMAGE_MAX];
	size_t room = sizeof(set.image) - set.len - 3 - strlen("filler");
	assert_int_equal(settings_set(&set, "filler", filler, room - 1000), 0);
	assert_int_equal(tls_import_pem(im, cat(fx_rsa_key, fx_rsa_crt, fx_ca_crt, NULL),
					"gw.example", NOW),
			 0);
	static uint8_t before[SETTINGS_IMAGE_MAX];
	size_t blen = set.len;
	memcpy(before, set.image, blen);
	assert_int_equal(rollover_import(&set, im), SETTINGS_ENOSPC);
	assert_int_equal(set.len, blen);
	assert_memory_equal(set.image, before, blen);
	/* with room it goes in, and a chain of two comes back out */
	assert_int_equal(settings_set(&set, "filler", NULL, 0), 0);
	assert_int_equal(rollover_import(&set, im), ROLLOVER_IMPORT_NEXT);
	assert_int_equal(rollover_switch(&set), 0);
	assert_int_equal(rollover_apply_current(&set, loads), 2);
	flashsim_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_rsa_chain_from_a_ca),
		cmocka_unit_test(good_p384_and_generated_p256),
		cmocka_unit_test(import_without_tls_memory_fails_cleanly),
		cmocka_unit_test(key_not_the_leafs_is_refused),
		cmocka_unit_test(bad_pem_is_refused_with_a_reason),
		cmocka_unit_test(chains_too_long_or_too_many),
		cmocka_unit_test(dates_are_warnings),
		cmocka_unit_test(new_key_becomes_next_and_renewal_stays_current),
		cmocka_unit_test(apply_current_and_a_full_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
