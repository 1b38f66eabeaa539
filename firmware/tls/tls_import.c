/* tls_import — the gateway's own key and certificate chain from PEM text
 * (pasted on a console, or a file on the host board): parse, check and
 * turn into the DER the settings keep; and a description of a certificate
 * for `tlsa show`. Exports tls_import_pem(), tls_cert_describe(),
 * tls_chain_der_load() and the shared import text buffer. See tls.h. */
#include "tls/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mbedtls/asn1.h"
#include "mbedtls/pem.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509.h"

/* ---- the shared import text buffer -------------------------------------- */

/* Taken from the TLS arena only while a paste or an import runs: no
 * static RAM for what is rare. */
static struct {
	char *text;
	const void *owner;
} ib;

char *tls_import_text_claim(const void *owner)
{
	if (ib.owner)
		return ib.owner == owner ? ib.text : NULL;
	ib.text = mbedtls_calloc(1, TLS_IMPORT_TEXT_MAX + 1);
	if (ib.text)
		ib.owner = owner;
	return ib.text;
}

void tls_import_text_release(const void *owner)
{
	if (!ib.owner || ib.owner != owner)
		return;
	mbedtls_platform_zeroize(ib.text, TLS_IMPORT_TEXT_MAX + 1);
	mbedtls_free(ib.text);
	ib.text = NULL;
	ib.owner = NULL;
}

struct tls_import *tls_import_new(void)
{
	return mbedtls_calloc(1, sizeof(struct tls_import));
}

void tls_import_free(struct tls_import *im)
{
	if (!im)
		return;
	mbedtls_platform_zeroize(im, sizeof(*im));
	mbedtls_free(im);
}

/* ---- helpers ------------------------------------------------------------- */

static int fail(struct tls_import *im, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct tls_import *im, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(im->err, sizeof(im->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t tls_x509_time(const mbedtls_x509_time *t)
{
	return days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 +
	       t->sec;
}

/* One DNS SAN (or the CN if the leaf has no SAN at all is NOT used: RFC 6125
 * and every current client look at the SAN only). Wildcards: "*." + one label. */
static bool name_matches(const unsigned char *p, size_t plen, const char *host)
{
	size_t hl = strlen(host);
	if (hl && host[hl - 1] == '.')
		hl--;
	if (plen == hl && strncasecmp((const char *)p, host, hl) == 0)
		return true;
	if (plen > 2 && p[0] == '*' && p[1] == '.') {
		const char *dot = memchr(host, '.', hl);
		size_t rest = dot ? hl - (size_t)(dot - host) : 0;
		return dot && dot != host && rest == plen - 1 &&
		       strncasecmp((const char *)p + 1, dot, rest) == 0;
	}
	return false;
}

bool tls_cert_names_host(const mbedtls_x509_crt *crt, const char *host)
{
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
		mbedtls_x509_subject_alternative_name san;
		if (mbedtls_x509_parse_subject_alt_name(&s->buf, &san) != 0)
			continue;
		bool ok = san.type == MBEDTLS_X509_SAN_DNS_NAME &&
			  name_matches(san.san.unstructured_name.p, san.san.unstructured_name.len,
				       host);
		mbedtls_x509_free_subject_alt_name(&san);
		if (ok)
			return true;
	}
	return false;
}

static bool self_issued(const mbedtls_x509_crt *c)
{
	return c->issuer_raw.len == c->subject_raw.len &&
	       memcmp(c->issuer_raw.p, c->subject_raw.p, c->issuer_raw.len) == 0;
}

/* Key algorithms we present: EC P-256 / P-384, RSA 2048-4096. */
static int key_kind(const mbedtls_pk_context *pk, char *out, size_t size)
{
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	if (t == MBEDTLS_PK_ECKEY || t == MBEDTLS_PK_ECKEY_DH || t == MBEDTLS_PK_ECDSA) {
		mbedtls_ecp_group_id g = mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id;
		if (g == MBEDTLS_ECP_DP_SECP256R1 || g == MBEDTLS_ECP_DP_SECP384R1) {
			snprintf(out, size, "EC %s", g == MBEDTLS_ECP_DP_SECP256R1 ? "P-256" : "P-384");
			return 0;
		}
		snprintf(out, size, "EC (other curve)");
		return -1;
	}
	if (t == MBEDTLS_PK_RSA) {
		size_t bits = mbedtls_pk_get_bitlen(pk);
		snprintf(out, size, "RSA %u", (unsigned)bits);
		return bits >= 2048 && bits <= 4096 ? 0 : -1;
	}
	snprintf(out, size, "unsupported type");
	return -1;
}

/* The next "-----BEGIN <label>-----" at or after *pos; label into lab.
 * Returns the block's start, or NULL at the end. *end: after its END line. */
static const char *next_block(const char *text, const char **pos, char *lab, size_t labsize,
			      const char **end, bool *bad)
{
	static const char begin[] = "-----BEGIN ";
	const char *b = strstr(*pos, begin);
	*bad = false;
	if (!b)
		return NULL;
	const char *l = b + sizeof(begin) - 1;
	const char *le = strstr(l, "-----");
	if (!le || (size_t)(le - l) >= labsize || memchr(l, '\n', (size_t)(le - l))) {
		*bad = true;
		return b;
	}
	memcpy(lab, l, (size_t)(le - l));
	lab[le - l] = '\0';
	char footer[64];
	snprintf(footer, sizeof(footer), "-----END %s-----", lab);
	const char *f = strstr(le, footer);
	if (!f) {
		*bad = true;
		return b;
	}
	*end = f + strlen(footer);
	*pos = *end;
	(void)text;
	return b;
}

/* Decodes the PEM block at b (label lab) into DER: ctx owns it. */
static int pem_der(mbedtls_pem_context *ctx, const char *b, const char *lab)
{
	char header[64], footer[64];
	snprintf(header, sizeof(header), "-----BEGIN %s-----", lab);
	snprintf(footer, sizeof(footer), "-----END %s-----", lab);
	size_t used;
	return mbedtls_pem_read_buffer(ctx, header, footer, (const unsigned char *)b, NULL, 0, &used);
}

/* An mbedTLS result that means the arena had no room (high- or low-level
 * part of the code): the import is then refused as "try again", not as a
 * bad paste. */
static bool nomem(int e)
{
	if (e >= 0)
		return false;
	int high = -e & 0xFF80, low = -e & 0x7F;
	return low == -MBEDTLS_ERR_MPI_ALLOC_FAILED || high == -MBEDTLS_ERR_PEM_ALLOC_FAILED ||
	       high == -MBEDTLS_ERR_PK_ALLOC_FAILED || high == -MBEDTLS_ERR_X509_ALLOC_FAILED ||
	       high == -MBEDTLS_ERR_ECP_ALLOC_FAILED || high == -MBEDTLS_ERR_ASN1_ALLOC_FAILED;
}
/* mbedtls_pk_parse_key() tries one format after another and answers
 * "invalid format" when an allocation failed in each: so a failure is
 * also put down to memory when the arena cannot lend a block of the size
 * such a parse needs (need bytes) right now. */
static bool short_of_memory(int e, size_t need)
{
	if (nomem(e))
		return true;
	void *probe = mbedtls_calloc(1, need);
	mbedtls_free(probe);
	return probe == NULL;
}
#define NOMEM_MSG "not enough TLS memory now; try again"

int tls_import_pem(struct tls_import *im, const char *text, const char *hostname, int64_t now)
{
	memset(im, 0, sizeof(*im));
	if (!tls_ready())
		return fail(im, TLS_IMPORT_EINVAL, "TLS is not initialised");
	if (strlen(text) > TLS_IMPORT_TEXT_MAX)
		return fail(im, TLS_IMPORT_EINVAL, "more than %u bytes of text",
			    (unsigned)TLS_IMPORT_TEXT_MAX);
	mbedtls_pk_context pk;
	mbedtls_x509_crt chain;
	mbedtls_pk_init(&pk);
	mbedtls_x509_crt_init(&chain);
	int err = 0, keys = 0;
	const char *pos = text;
	char lab[40];
	const char *b, *end = NULL;
	bool bad;
	while (!err && (b = next_block(text, &pos, lab, sizeof(lab), &end, &bad)) != NULL) {
		if (bad) {
			err = fail(im, TLS_IMPORT_EPARSE,
				   "a PEM block has no matching -----END line (pasted whole?)");
			break;
		}
		if (strcmp(lab, "EC PARAMETERS") == 0)
			continue; /* openssl ecparam -genkey writes it before the key */
		if (strcmp(lab, "ENCRYPTED PRIVATE KEY") == 0 ||
		    (strstr(lab, "PRIVATE KEY") && strstr(b, "Proc-Type: 4,ENCRYPTED") &&
		     strstr(b, "Proc-Type: 4,ENCRYPTED") < end)) {
			err = fail(im, TLS_IMPORT_EPARSE,
				   "the private key is encrypted: decrypt it first (openssl pkey -in "
				   "key.pem -out plain.pem)");
			break;
		}
		bool is_key = strcmp(lab, "PRIVATE KEY") == 0 || strcmp(lab, "EC PRIVATE KEY") == 0 ||
			      strcmp(lab, "RSA PRIVATE KEY") == 0;
		if (!is_key && strcmp(lab, "CERTIFICATE") != 0) {
			err = fail(im, TLS_IMPORT_EPARSE, "unexpected PEM block '%s' (a private key and "
				   "CERTIFICATE blocks expected)", lab);
			break;
		}
		mbedtls_pem_context pem;
		mbedtls_pem_init(&pem);
		int e = pem_der(&pem, b, lab);
		size_t dl;
		const unsigned char *der = e ? NULL : mbedtls_pem_get_buffer(&pem, &dl);
		if (nomem(e)) {
			err = fail(im, TLS_IMPORT_ENOMEM, NOMEM_MSG);
		} else if (e || !der) {
			err = fail(im, TLS_IMPORT_EPARSE, "the %s block is not valid base64", lab);
		} else if (is_key) {
			if (++keys > 1)
				err = fail(im, TLS_IMPORT_EPARSE, "more than one private key");
			else if ((e = mbedtls_pk_parse_key(&pk, der, dl, NULL, 0, mbedtls_ctr_drbg_random,
							   tls_drbg())) != 0)
				err = short_of_memory(e, 4 * dl + 1024)
					      ? fail(im, TLS_IMPORT_ENOMEM, NOMEM_MSG)
					      : fail(im, TLS_IMPORT_EPARSE,
						     "the private key does not parse (%s block)", lab);
		} else {
			im->ncerts++;
			if (im->ncerts > TLS_IMPORT_CERTS_MAX)
				err = fail(im, TLS_IMPORT_ECHAIN, "more than %u certificates",
					   (unsigned)TLS_IMPORT_CERTS_MAX);
			else if ((e = mbedtls_x509_crt_parse_der(&chain, der, dl)) != 0)
				err = short_of_memory(e, 2 * dl + 1024)
					      ? fail(im, TLS_IMPORT_ENOMEM, NOMEM_MSG)
					      : fail(im, TLS_IMPORT_EPARSE,
						     "certificate %u does not parse", im->ncerts);
		}
		mbedtls_pem_free(&pem);
	}
	if (!err && !keys)
		err = fail(im, TLS_IMPORT_EPARSE, "no private key (-----BEGIN PRIVATE KEY-----)");
	if (!err && !im->ncerts)
		err = fail(im, TLS_IMPORT_EPARSE, "no certificate (-----BEGIN CERTIFICATE-----)");
	if (!err && key_kind(&pk, im->key_type, sizeof(im->key_type)) != 0)
		err = fail(im, TLS_IMPORT_EKEY,
			   "key type %s: only EC P-256, P-384 or RSA 2048-4096 bits", im->key_type);
	int pair = err ? 0 : mbedtls_pk_check_pair(&chain.pk, &pk, mbedtls_ctr_drbg_random, tls_drbg());
	if (pair && short_of_memory(pair, 4096))
		err = fail(im, TLS_IMPORT_ENOMEM, NOMEM_MSG);
	else if (pair) {
		bool later = false;
		for (const mbedtls_x509_crt *c = chain.next; c; c = c->next)
			later |= mbedtls_pk_check_pair(&c->pk, &pk, mbedtls_ctr_drbg_random,
						       tls_drbg()) == 0;
		err = fail(im, TLS_IMPORT_EMISMATCH, "%s",
			   later ? "the certificate of the key must come first (leaf first, then "
				   "its issuers)"
				 : "the private key does not belong to the (first) certificate");
	}
	size_t total = 0;
	for (const mbedtls_x509_crt *c = &chain; !err && c && c->raw.len; c = c->next)
		total += c->raw.len;
	if (!err && total > TLS_OWN_CHAIN_MAX)
		err = fail(im, TLS_IMPORT_ECHAIN,
			   "the chain is too long to send (%u bytes, at most %u): leave the root "
			   "certificate out",
			   (unsigned)total, (unsigned)TLS_OWN_CHAIN_MAX);
	if (!err) {
		int len = mbedtls_pk_write_key_der(&pk, im->key_der, sizeof(im->key_der));
		if (len < 0)
			err = fail(im, TLS_IMPORT_EKEY, "the key is too large to keep");
		else {
			memmove(im->key_der, im->key_der + sizeof(im->key_der) - (size_t)len,
				(size_t)len);
			im->key_len = (size_t)len;
		}
	}
	if (!err) {
		for (const mbedtls_x509_crt *c = &chain; c && c->raw.len; c = c->next) {
			memcpy(im->chain_der + im->chain_len, c->raw.p, c->raw.len);
			im->chain_len += c->raw.len;
		}
		im->self_signed = self_issued(&chain);
		im->expired = now > 0 && now > tls_x509_time(&chain.valid_to);
		im->not_before = tls_x509_time(&chain.valid_from);
		im->not_yet_valid = now > 0 && now < im->not_before;
		im->name_ok = hostname && tls_cert_names_host(&chain, hostname);
		for (const mbedtls_x509_crt *c = &chain; c->next && c->next->raw.len; c = c->next)
			if (c->issuer_raw.len != c->next->subject_raw.len ||
			    memcmp(c->issuer_raw.p, c->next->subject_raw.p, c->issuer_raw.len) != 0)
				im->order_warning = true;
		if (!chain.pk_raw.p ||
		    mbedtls_sha256(chain.pk_raw.p, chain.pk_raw.len, im->spki, 0) != 0)
			err = fail(im, TLS_IMPORT_EPARSE, "the certificate has no public key");
	}
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&chain);
	if (err)
		mbedtls_platform_zeroize(im->key_der, sizeof(im->key_der));
	return err;
}

/* ---- stored chains ------------------------------------------------------- */

int tls_chain_der_load(mbedtls_x509_crt *chain, const uint8_t *der, size_t len)
{
	/* DER certificates back to back: each is one SEQUENCE. */
	size_t off = 0;
	int err = len ? 0 : MBEDTLS_ERR_X509_INVALID_FORMAT;
	while (!err && off < len) {
		unsigned char *p = (unsigned char *)(uintptr_t)(der + off);
		size_t l;
		err = mbedtls_asn1_get_tag(&p, (unsigned char *)(uintptr_t)(der + len), &l,
					   MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
		if (err)
			break;
		size_t whole = (size_t)(p - (der + off)) + l;
		err = mbedtls_x509_crt_parse_der(chain, der + off, whole);
		off += whole;
	}
	return err;
}

/* ---- description for the console ---------------------------------------- */

static void fmt_time(const mbedtls_x509_time *t, char *out, size_t size)
{
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d UTC", t->year, t->mon, t->day, t->hour,
		 t->min, t->sec);
}

size_t tls_cert_describe(const mbedtls_x509_crt *crt, const char *hostname, int64_t now,
			 char *out, size_t size)
{
	size_t n = 0;
#define PUT(...)                                                                  \
	do {                                                                      \
		int w_ = snprintf(out + n, n < size ? size - n : 0, __VA_ARGS__); \
		if (w_ > 0)                                                       \
			n += (size_t)w_;                                          \
	} while (0)
	if (!size)
		return 0;
	out[0] = '\0';
	char dn[160], from[32], to[32];
	if (mbedtls_x509_dn_gets(dn, sizeof(dn), &crt->subject) < 0)
		snprintf(dn, sizeof(dn), "?");
	PUT("subject: %s\n", dn);
	if (mbedtls_x509_dn_gets(dn, sizeof(dn), &crt->issuer) < 0)
		snprintf(dn, sizeof(dn), "?");
	PUT("issuer:  %s%s\n", dn, self_issued(crt) ? " (self-signed)" : "");
	fmt_time(&crt->valid_from, from, sizeof(from));
	fmt_time(&crt->valid_to, to, sizeof(to));
	const char *state = "";
	if (now > 0 && now > tls_x509_time(&crt->valid_to))
		state = " (EXPIRED)";
	else if (now > 0 && now < tls_x509_time(&crt->valid_from))
		state = " (NOT YET VALID)";
	PUT("valid:   %s to %s%s\n", from, to, state);
	PUT("names:  ");
	bool any = false;
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
		mbedtls_x509_subject_alternative_name san;
		if (mbedtls_x509_parse_subject_alt_name(&s->buf, &san) != 0)
			continue;
		if (san.type == MBEDTLS_X509_SAN_DNS_NAME) {
			int l = (int)(san.san.unstructured_name.len > 100 ? 100
									   : san.san.unstructured_name.len);
			PUT(" %.*s", l, (const char *)san.san.unstructured_name.p);
			any = true;
		}
		mbedtls_x509_free_subject_alt_name(&san);
	}
	if (!any)
		PUT(" (no DNS names)");
	if (hostname && hostname[0] && !tls_cert_names_host(crt, hostname))
		PUT(" (does NOT name %.*s)", 100, hostname);
	PUT("\n");
	unsigned depth = 0;
	for (const mbedtls_x509_crt *c = crt->next; c && c->raw.len; c = c->next)
		depth++;
	if (depth)
		PUT("chain:   %u issuer certificate(s) sent after it\n", depth);
#undef PUT
	return n < size ? n : size - 1;
}
