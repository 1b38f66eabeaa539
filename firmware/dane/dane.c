/* dane — see dane.h. This file: TLSA records, usability and digest agility
 * (rules 13, 14), the outcome table (rules 11, 12), reference-identifier
 * matching (rule 16) and the log classes (rule 22). No heap, no state. */
#include "dane/dane.h"

#include <string.h>

#include "mbedtls/asn1.h"
#include "mbedtls/md.h"

const struct dane_digest_order dane_digest_default = {
	.count = 2,
	.mtype = { DANE_MT_SHA512, DANE_MT_SHA256 },
};

/* Digest length of a matching type, 0 when mbedTLS lacks the hash (the
 * firmware config may leave SHA-512 out: such records are then unusable
 * rather than silently unmatched). */
static size_t dane_mtype_len(uint8_t mtype)
{
	mbedtls_md_type_t md = mtype == DANE_MT_SHA256	 ? MBEDTLS_MD_SHA256
			       : mtype == DANE_MT_SHA512 ? MBEDTLS_MD_SHA512
							 : MBEDTLS_MD_NONE;
	const mbedtls_md_info_t *info = md == MBEDTLS_MD_NONE ? NULL : mbedtls_md_info_from_type(md);
	return info ? mbedtls_md_get_size(info) : 0;
}

static bool dane_order_has(const struct dane_digest_order *order, uint8_t mtype)
{
	for (unsigned i = 0; i < order->count && i < DANE_DIGEST_MAX; i++)
		if (order->mtype[i] == mtype)
			return true;
	return false;
}

/* Full(0) data must be one DER SEQUENCE filling the record exactly: both a
 * certificate and a SubjectPublicKeyInfo are. Anything else can never
 * match and, for DANE-TA, could not serve as an anchor. */
static bool dane_full_well_formed(const uint8_t *data, size_t len)
{
	unsigned char *p = (unsigned char *)(uintptr_t)data;
	size_t inner;
	if (mbedtls_asn1_get_tag(&p, data + len, &inner,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return false;
	return p + inner == data + len;
}

bool dane_tlsa_usable(const struct dane_tlsa *rr, const struct dane_digest_order *order)
{
	if (!rr || (rr->len && !rr->data))
		return false;
	if (!order)
		order = &dane_digest_default;
	if (rr->usage != DANE_USAGE_DANE_TA && rr->usage != DANE_USAGE_DANE_EE)
		return false; /* PKIX-TA/EE need a WebPKI trust store: unusable (7672 3.1.3) */
	if (rr->selector != DANE_SEL_CERT && rr->selector != DANE_SEL_SPKI)
		return false;
	if (rr->mtype == DANE_MT_FULL)
		return rr->len > 0 && rr->len <= DANE_TLSA_DATA_MAX &&
		       dane_full_well_formed(rr->data, rr->len);
	if (!dane_order_has(order, rr->mtype))
		return false; /* unknown, or a digest the configuration excludes */
	size_t dlen = dane_mtype_len(rr->mtype);
	return dlen != 0 && rr->len == dlen;
}

void dane_tlsa_set_init(struct dane_tlsa_set *set)
{
	memset(set, 0, sizeof(*set));
}

int dane_tlsa_set_add(struct dane_tlsa_set *set, const struct dane_tlsa *rr,
		      const struct dane_digest_order *order)
{
	if (!set || !rr)
		return DANE_ERR_INVAL;
	if (set->seen < UINT16_MAX)
		set->seen++;
	if (!dane_tlsa_usable(rr, order))
		return 0;
	if (set->count >= DANE_TLSA_MAX) {
		if (set->overflow < UINT16_MAX)
			set->overflow++;
		return 0;
	}
	set->rr[set->count++] = *rr;
	return 1;
}

int dane_tlsa_parse_rdata(const uint8_t *rdata, size_t rdlen, struct dane_tlsa *rr)
{
	if (!rdata || !rr)
		return DANE_ERR_INVAL;
	/* RFC 6698 2.1: three octets and at least one octet of data. */
	if (rdlen < 4 || rdlen - 3 > DANE_TLSA_DATA_MAX)
		return DANE_ERR_MALFORMED;
	rr->usage = rdata[0];
	rr->selector = rdata[1];
	rr->mtype = rdata[2];
	rr->len = (uint16_t)(rdlen - 3);
	rr->data = rdata + 3;
	return 0;
}

/* ---- outcomes --------------------------------------------------------- */
enum dane_outcome dane_select(const struct dane_tlsa_set *set, const struct dane_digest_order *order,
			      struct dane_tlsa_set *usable)
{
	if (!order)
		order = &dane_digest_default;
	dane_tlsa_set_init(usable);
	if (!set)
		return DANE_NONE;
	uint16_t n = set->count <= DANE_TLSA_MAX ? set->count : DANE_TLSA_MAX;
	usable->seen = set->seen > n ? set->seen : n;
	usable->overflow = set->overflow;
	if (usable->seen == 0)
		return DANE_NONE; /* a secure denial: pre-DANE opportunistic TLS */

	/* Rule 14, per usage+selector: the strongest digest present wins;
	 * weaker digests of the same pair are dropped even if they would
	 * match (an attacker who broke SHA-256 must not be helped by it). */
	for (uint16_t i = 0; i < n; i++) {
		const struct dane_tlsa *rr = &set->rr[i];
		if (!dane_tlsa_usable(rr, order))
			continue; /* filled by hand, not via dane_tlsa_set_add() */
		if (rr->mtype != DANE_MT_FULL) {
			uint8_t best = DANE_MT_FULL;
			for (unsigned k = 0; k < order->count && best == DANE_MT_FULL; k++)
				for (uint16_t j = 0; j < n; j++) {
					const struct dane_tlsa *o = &set->rr[j];
					if (o->usage == rr->usage && o->selector == rr->selector &&
					    o->mtype == order->mtype[k] && dane_tlsa_usable(o, order)) {
						best = order->mtype[k];
						break;
					}
				}
			if (rr->mtype != best)
				continue;
		}
		usable->rr[usable->count++] = *rr;
	}
	return usable->count ? DANE_USABLE : DANE_UNUSABLE;
}

const struct dane_demand *dane_outcome_demand(enum dane_outcome o)
{
	/* The Postfix-style table: each outcome maps to one policy. */
	static const struct dane_demand table[] = {
		[DANE_LOOKUP_FAILED] = { .skip_host = true },
		[DANE_NONE] = { .clear_allowed = true },
		[DANE_UNUSABLE] = { .tls_required = true },
		[DANE_USABLE] = { .tls_required = true, .auth_required = true },
	};
	/* An out-of-range value is a bug; answer with the strictest row. */
	if ((unsigned)o >= sizeof(table) / sizeof(table[0]))
		return &table[DANE_LOOKUP_FAILED];
	return &table[o];
}

const char *dane_outcome_name(enum dane_outcome o)
{
	switch (o) {
	case DANE_LOOKUP_FAILED:
		return "TLSA lookup failed";
	case DANE_NONE:
		return "no secure TLSA records";
	case DANE_UNUSABLE:
		return "secure TLSA records, none usable";
	case DANE_USABLE:
		return "usable secure TLSA records";
	}
	return "unknown DANE outcome";
}

/* ---- reference identifiers ------------------------------------------ */
static unsigned char dane_lower(unsigned char c)
{
	/* ASCII only, independent of the C locale: DNS names are compared as
	 * A-labels ("xn--..."), never as Unicode. */
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool dane_label_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (dane_lower(a[i]) != dane_lower(b[i]))
			return false;
	return true;
}

bool dane_name_matches(const uint8_t *pattern, size_t plen, const char *ref)
{
	if (!pattern || !ref)
		return false;
	/* Bounded strlen (strnlen is not C11): longer is no DNS name. */
	size_t rlen = 0;
	while (rlen <= DANE_NAME_MAX + 1 && ref[rlen])
		rlen++;
	/* One trailing dot is the root, not part of the name. */
	if (rlen && ref[rlen - 1] == '.')
		rlen--;
	if (plen && pattern[plen - 1] == '.')
		plen--;
	if (rlen == 0 || rlen > DANE_NAME_MAX || plen == 0 || plen > DANE_NAME_MAX)
		return false;
	const uint8_t *r = (const uint8_t *)ref;
	if (memchr(r, '*', rlen) || memchr(pattern, '\0', plen))
		return false; /* a reference is never a pattern; NUL smuggles names */

	const uint8_t *star = memchr(pattern, '*', plen);
	if (!star)
		return plen == rlen && dane_label_eq(pattern, r, rlen);

	/* Wildcard: exactly "*." + at least two labels; "*.net", "f*.x.net"
	 * and "*.*.x.net" never match (RFC 6125 6.4.3, 7672 3.2.3). */
	if (star != pattern || plen < 4 || pattern[1] != '.' || memchr(pattern + 1, '*', plen - 1))
		return false;
	const uint8_t *suffix = pattern + 1; /* ".example.net" */
	size_t slen = plen - 1;
	if (!memchr(suffix + 1, '.', slen - 1) || suffix[slen - 1] == '.')
		return false;
	/* The reference's first label, non-empty, replaced by the star. */
	const uint8_t *dot = memchr(r, '.', rlen);
	if (!dot || dot == r)
		return false;
	size_t rest = rlen - (size_t)(dot - r);
	return rest == slen && dane_label_eq(dot, suffix, slen);
}

/* ---- log classes ------------------------------------------------------ */
enum dane_class dane_classify(bool tls, bool peer_cert, enum dane_auth auth, bool mx_secure)
{
	if (!tls)
		return DANE_CLASS_CLEAR;
	if (!peer_cert)
		return DANE_CLASS_ANONYMOUS;
	if (auth == DANE_AUTH_DANE)
		return mx_secure ? DANE_CLASS_VERIFIED : DANE_CLASS_TRUSTED;
	if (auth == DANE_AUTH_WEBPKI)
		return DANE_CLASS_TRUSTED;
	return DANE_CLASS_UNTRUSTED;
}

const char *dane_class_name(enum dane_class c)
{
	switch (c) {
	case DANE_CLASS_CLEAR:
		return "Cleartext";
	case DANE_CLASS_ANONYMOUS:
		return "Anonymous";
	case DANE_CLASS_UNTRUSTED:
		return "Untrusted";
	case DANE_CLASS_TRUSTED:
		return "Trusted";
	case DANE_CLASS_VERIFIED:
		return "Verified";
	}
	return "Untrusted";
}
