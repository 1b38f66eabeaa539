/* dane_verify — see dane.h. This file: matching TLSA records against the
 * server's mbedTLS chain, DANE-TA chain validation with the caller's clock,
 * anchors taken from DNS (`2 0 0`, `2 1 0`), leaf name checks and the
 * one-line verdict for the log. Pure: no SSL session, no clock. */
#include "dane/dane.h"

#include <stdio.h>
#include <string.h>

#include "mbedtls/md.h"
#include "mbedtls/oid.h"
#include "mbedtls/pk.h"

/* ---- time ---------------------------------------------------------------- */
/* Unix seconds -> the fields of an mbedtls_x509_time (UTC), so dates are
 * checked against the caller's clock (the board's RTC/SNTP time, or a
 * test's fixed instant), not whatever mbedtls_time() says. Civil-from-days
 * after H. Hinnant; valid for every int64 day count we can meet. */
static void dane_time_from_unix(int64_t t, mbedtls_x509_time *out)
{
	int64_t days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	out->year = (int)(yoe + era * 400 + (m <= 2));
	out->mon = (int)m;
	out->day = (int)d;
	out->hour = (int)(secs / 3600);
	out->min = (int)(secs / 60 % 60);
	out->sec = (int)(secs % 60);
}

static int dane_time_cmp(const mbedtls_x509_time *a, const mbedtls_x509_time *b)
{
	const int fa[] = { a->year, a->mon, a->day, a->hour, a->min, a->sec };
	const int fb[] = { b->year, b->mon, b->day, b->hour, b->min, b->sec };
	for (unsigned i = 0; i < 6; i++)
		if (fa[i] != fb[i])
			return fa[i] < fb[i] ? -1 : 1;
	return 0;
}

static bool dane_time_ok(const mbedtls_x509_crt *crt, const mbedtls_x509_time *now)
{
	return dane_time_cmp(&crt->valid_from, now) <= 0 && dane_time_cmp(&crt->valid_to, now) >= 0;
}

/* ---- matching ------------------------------------------------------------ */
static bool dane_match_cert(const struct dane_tlsa *rr, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_buf *b = rr->selector == DANE_SEL_CERT ? &crt->raw : &crt->pk_raw;
	if (!b->p || b->len == 0)
		return false;
	if (rr->mtype == DANE_MT_FULL)
		return b->len == rr->len && memcmp(b->p, rr->data, b->len) == 0;
	mbedtls_md_type_t md = rr->mtype == DANE_MT_SHA256   ? MBEDTLS_MD_SHA256
			       : rr->mtype == DANE_MT_SHA512 ? MBEDTLS_MD_SHA512
							     : MBEDTLS_MD_NONE;
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
	unsigned char digest[MBEDTLS_MD_MAX_SIZE];
	if (!info || mbedtls_md_get_size(info) != rr->len)
		return false;
	if (mbedtls_md(info, b->p, b->len, digest) != 0)
		return false;
	return memcmp(digest, rr->data, rr->len) == 0;
}

static bool dane_buf_eq(const mbedtls_x509_buf *b, const uint8_t *p, size_t len)
{
	return b->len == len && memcmp(b->p, p, len) == 0;
}

/* ---- DANE-TA chains ------------------------------------------------------ */
struct dane_path {
	mbedtls_x509_time now;
	int bad_depth; /* lowest path depth with a date problem, -1 */
};

#define DANE_DATE_FLAGS (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)

/* mbedTLS calls this for every certificate on the path it built, anchor
 * first, leaf last. Its own date flags come from mbedtls_time() (or are
 * absent without MBEDTLS_HAVE_TIME_DATE); replace them with ours. */
static int dane_path_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct dane_path *p = ctx;
	*flags &= ~(uint32_t)DANE_DATE_FLAGS;
	if (dane_time_cmp(&crt->valid_to, &p->now) < 0)
		*flags |= MBEDTLS_X509_BADCERT_EXPIRED;
	if (dane_time_cmp(&crt->valid_from, &p->now) > 0)
		*flags |= MBEDTLS_X509_BADCERT_FUTURE;
	if (*flags & DANE_DATE_FLAGS)
		p->bad_depth = depth;
	return 0;
}

/* Verify the chain from the leaf up to the anchor certificate ta_der (a
 * certificate the server sent, or one from DNS): signatures, CA basic
 * constraints and key usage, path length, and every date. The anchor is
 * parsed into its own one-element list, so nothing above it in the sent
 * chain is trusted. DANE_OK, DANE_ERR_CHAIN / _DATE (res filled) or
 * DANE_ERR_NOMEM. */
static int dane_chain_to(const mbedtls_x509_crt *chain, const uint8_t *ta_der, size_t ta_len,
			 const mbedtls_x509_time *now, struct dane_result *res)
{
	mbedtls_x509_crt ta;
	mbedtls_x509_crt_init(&ta);
	int err = mbedtls_x509_crt_parse_der_nocopy(&ta, ta_der, ta_len);
	if (err) {
		mbedtls_x509_crt_free(&ta);
		return err == MBEDTLS_ERR_X509_ALLOC_FAILED ? DANE_ERR_NOMEM : DANE_ERR_CHAIN;
	}
	struct dane_path path = { .now = *now, .bad_depth = -1 };
	uint32_t flags = 0;
	/* mbedTLS takes the chain non-const but does not modify it. No cn:
	 * names are checked by dane_leaf_name_index() with our rules. */
	err = mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)(uintptr_t)chain, &ta, NULL,
						   &mbedtls_x509_crt_profile_default, NULL, &flags,
						   dane_path_cb, &path);
	mbedtls_x509_crt_free(&ta);
	if (err == 0)
		return DANE_OK;
	res->x509_flags = flags;
	if (err == MBEDTLS_ERR_X509_ALLOC_FAILED)
		return DANE_ERR_NOMEM;
	if (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && (flags & ~(uint32_t)DANE_DATE_FLAGS) == 0) {
		res->bad_depth = path.bad_depth;
		return DANE_ERR_DATE;
	}
	return DANE_ERR_CHAIN;
}

/* Does key (an anchor public key from DNS) sign crt? With the signature
 * algorithm restrictions of the default profile, as mbedTLS applies to
 * every other link. */
static bool dane_key_signs(mbedtls_pk_context *key, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_crt_profile *prof = &mbedtls_x509_crt_profile_default;
	mbedtls_md_type_t md = crt->MBEDTLS_PRIVATE(sig_md);
	mbedtls_pk_type_t pkt = crt->MBEDTLS_PRIVATE(sig_pk);
	if (md == MBEDTLS_MD_NONE || !(prof->allowed_mds & MBEDTLS_X509_ID_FLAG(md)))
		return false;
	if (!mbedtls_pk_can_do(key, pkt))
		return false;
	if (mbedtls_pk_get_type(key) == MBEDTLS_PK_RSA &&
	    mbedtls_pk_get_bitlen(key) < prof->rsa_min_bitlen)
		return false;
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	if (!info || mbedtls_md(info, crt->tbs.p, crt->tbs.len, hash) != 0)
		return false;
	/* sig_* are private in mbedTLS 3.x, but there is no public "does this
	 * key sign this certificate" call; x509_crt.c does exactly this. */
	return mbedtls_pk_verify_ext(pkt, crt->MBEDTLS_PRIVATE(sig_opts), key, md, hash,
				     mbedtls_md_get_size(info), crt->MBEDTLS_PRIVATE(sig).p,
				     crt->MBEDTLS_PRIVATE(sig).len) == 0;
}

/* Progress ranking of failures: the furthest one is reported. */
static int dane_rank(int status)
{
	switch (status) {
	case DANE_ERR_LEAF_TA:
		return 1;
	case DANE_ERR_CHAIN:
		return 2;
	case DANE_ERR_DATE:
		return 3;
	case DANE_ERR_NAME:
		return 4;
	default:
		return 0;
	}
}

struct dane_ctx {
	const struct dane_tlsa_set *set;
	const mbedtls_x509_crt *cert[DANE_CHAIN_MAX];
	int n;
	const struct dane_refids *names;
	mbedtls_x509_time now;
	struct dane_result *res;
	struct dane_result fail; /* furthest failure so far */
};

static void dane_note(struct dane_ctx *c, int rec, int depth, bool from_dns, int status,
		      const struct dane_result *detail)
{
	if (dane_rank(status) <= dane_rank(c->fail.status) && c->fail.record >= 0)
		return;
	const struct dane_tlsa *rr = &c->set->rr[rec];
	c->fail.status = status;
	c->fail.record = rec;
	c->fail.usage = rr->usage;
	c->fail.selector = rr->selector;
	c->fail.mtype = rr->mtype;
	c->fail.depth = depth;
	c->fail.anchor_from_dns = from_dns;
	c->fail.bad_depth = detail ? detail->bad_depth : -1;
	c->fail.x509_flags = detail ? detail->x509_flags : 0;
}

static int dane_success(struct dane_ctx *c, int rec, int depth, bool from_dns, int name)
{
	const struct dane_tlsa *rr = &c->set->rr[rec];
	struct dane_result *r = c->res;
	r->status = DANE_OK;
	r->record = rec;
	r->usage = rr->usage;
	r->selector = rr->selector;
	r->mtype = rr->mtype;
	r->depth = depth;
	r->anchor_from_dns = from_dns;
	r->name = name;
	return DANE_OK;
}

/* The anchor is settled and the path to it verified: the leaf name decides
 * (rule 16). Returns DANE_OK or a failure already noted. */
static int dane_ta_finish(struct dane_ctx *c, int rec, int depth, bool from_dns)
{
	int name = dane_leaf_name_index(c->cert[0], c->names);
	if (name < 0) {
		dane_note(c, rec, depth, from_dns, DANE_ERR_NAME, NULL);
		return DANE_ERR_NAME;
	}
	return dane_success(c, rec, depth, from_dns, name);
}

/* DANE-TA with an anchor certificate: the chain to it, then the name. */
static int dane_ta_try(struct dane_ctx *c, int rec, int depth, bool from_dns, const uint8_t *der,
		       size_t len)
{
	struct dane_result detail = { .bad_depth = -1 };
	int err = dane_chain_to(c->cert[0], der, len, &c->now, &detail);
	if (err == DANE_ERR_NOMEM)
		return err;
	if (err) {
		dane_note(c, rec, depth, from_dns, err, &detail);
		return err;
	}
	return dane_ta_finish(c, rec, depth, from_dns);
}

/* `2 1 0` whose key the server did not send: find a sent certificate the
 * key signs (rule 17), then verify from the leaf up to it. */
static int dane_ta_key_from_dns(struct dane_ctx *c, int rec)
{
	const struct dane_tlsa *rr = &c->set->rr[rec];
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	int err = mbedtls_pk_parse_public_key(&key, rr->data, rr->len);
	if (err) {
		mbedtls_pk_free(&key);
		if (err == MBEDTLS_ERR_PK_ALLOC_FAILED)
			return DANE_ERR_NOMEM;
		dane_note(c, rec, DANE_DEPTH_NONE, true, DANE_ERR_NOMATCH, NULL);
		return DANE_ERR_NOMATCH;
	}
	int result = DANE_ERR_NOMATCH;
	for (int d = 0; d < c->n && result != DANE_OK && result != DANE_ERR_NOMEM; d++) {
		if (!dane_key_signs(&key, c->cert[d]))
			continue;
		if (d == 0) {
			/* The anchor key signed the leaf directly: no chain
			 * to build, but the leaf's dates still count. */
			if (!dane_time_ok(c->cert[0], &c->now)) {
				bool future = dane_time_cmp(&c->cert[0]->valid_from, &c->now) > 0;
				struct dane_result detail = {
					.bad_depth = 0,
					.x509_flags = future ? MBEDTLS_X509_BADCERT_FUTURE
							     : MBEDTLS_X509_BADCERT_EXPIRED,
				};
				dane_note(c, rec, 0, true, DANE_ERR_DATE, &detail);
				result = DANE_ERR_DATE;
				continue;
			}
			result = dane_ta_finish(c, rec, 0, true);
		} else {
			result = dane_ta_try(c, rec, d, true, c->cert[d]->raw.p, c->cert[d]->raw.len);
		}
	}
	mbedtls_pk_free(&key);
	if (result == DANE_ERR_NOMATCH)
		dane_note(c, rec, DANE_DEPTH_NONE, true, DANE_ERR_NOMATCH, NULL);
	return result;
}

static int dane_try_record(struct dane_ctx *c, int rec)
{
	const struct dane_tlsa *rr = &c->set->rr[rec];
	const mbedtls_x509_crt *leaf = c->cert[0];

	if (rr->usage == DANE_USAGE_DANE_EE) {
		/* Rule 15: the leaf only; names and dates do not matter. */
		if (dane_match_cert(rr, leaf))
			return dane_success(c, rec, 0, false, -1);
		dane_note(c, rec, DANE_DEPTH_NONE, false, DANE_ERR_NOMATCH, NULL);
		return DANE_ERR_NOMATCH;
	}
	if (rr->usage != DANE_USAGE_DANE_TA)
		return DANE_ERR_NOMATCH; /* dane_select() never keeps these */

	/* Scenario 22: a DANE-TA record matching the leaf is no anchor. Any
	 * copy of the leaf's certificate or key (from DNS, or sent twice) is
	 * refused too, or mbedTLS would take a self-signed leaf as its own
	 * trusted root. */
	if (dane_match_cert(rr, leaf)) {
		dane_note(c, rec, 0, false, DANE_ERR_LEAF_TA, NULL);
		return DANE_ERR_LEAF_TA;
	}
	bool matched = false;
	for (int d = 1; d < c->n; d++) {
		const mbedtls_x509_crt *ca = c->cert[d];
		if (!dane_match_cert(rr, ca) || dane_buf_eq(&ca->raw, leaf->raw.p, leaf->raw.len) ||
		    dane_buf_eq(&ca->pk_raw, leaf->pk_raw.p, leaf->pk_raw.len))
			continue;
		matched = true;
		int err = dane_ta_try(c, rec, d, false, ca->raw.p, ca->raw.len);
		if (err == DANE_OK || err == DANE_ERR_NOMEM)
			return err;
	}
	if (matched || rr->mtype != DANE_MT_FULL) {
		/* A digest needs the anchor in the chain (rule 17, scen. 18). */
		if (!matched)
			dane_note(c, rec, DANE_DEPTH_NONE, false, DANE_ERR_NOMATCH, NULL);
		return DANE_ERR_NOMATCH;
	}
	/* Rule 17: the full anchor from DNS signs the top of the chain. */
	if (rr->selector == DANE_SEL_SPKI)
		return dane_ta_key_from_dns(c, rec);
	/* `2 0 0`: a different certificate for the leaf's own key is the leaf
	 * in disguise (scenario 22); parse the anchor to compare its SPKI. */
	mbedtls_x509_crt anchor;
	mbedtls_x509_crt_init(&anchor);
	int err = mbedtls_x509_crt_parse_der_nocopy(&anchor, rr->data, rr->len);
	bool leaf_key = !err && dane_buf_eq(&anchor.pk_raw, leaf->pk_raw.p, leaf->pk_raw.len);
	mbedtls_x509_crt_free(&anchor);
	if (err == MBEDTLS_ERR_X509_ALLOC_FAILED)
		return DANE_ERR_NOMEM;
	if (err || leaf_key) {
		dane_note(c, rec, DANE_DEPTH_NONE, true, err ? DANE_ERR_NOMATCH : DANE_ERR_LEAF_TA,
			  NULL);
		return err ? DANE_ERR_NOMATCH : DANE_ERR_LEAF_TA;
	}
	/* The anchor sits just above the last certificate sent. */
	return dane_ta_try(c, rec, c->n, true, rr->data, rr->len);
}

int dane_verify_chain(const struct dane_tlsa_set *usable, const mbedtls_x509_crt *chain,
		      const struct dane_refids *names, int64_t now, struct dane_result *res)
{
	if (!res)
		return DANE_ERR_INVAL;
	memset(res, 0, sizeof(*res));
	res->record = -1;
	res->depth = DANE_DEPTH_NONE;
	res->name = -1;
	res->bad_depth = -1;
	if (!usable || usable->count > DANE_TLSA_MAX)
		return res->status = DANE_ERR_INVAL;
	if (!chain || !chain->raw.p || chain->raw.len == 0)
		return res->status = DANE_ERR_NOCERT;

	struct dane_ctx c = { .set = usable, .names = names, .res = res };
	c.fail = *res;
	c.fail.status = DANE_ERR_NOMATCH;
	dane_time_from_unix(now, &c.now);
	for (const mbedtls_x509_crt *p = chain; p && p->raw.p && c.n < DANE_CHAIN_MAX; p = p->next)
		c.cert[c.n++] = p;
	res->chain_len = c.n;

	for (int i = 0; i < usable->count; i++) {
		int err = dane_try_record(&c, i);
		if (err == DANE_OK)
			return DANE_OK;
		if (err == DANE_ERR_NOMEM)
			return res->status = DANE_ERR_NOMEM;
	}
	*res = c.fail;
	res->name = -1;
	res->chain_len = c.n;
	if (res->record < 0)
		res->status = DANE_ERR_NOMATCH; /* an empty usable set */
	return res->status;
}

/* ---- names on the leaf ---------------------------------------------------- */
int dane_leaf_name_index(const mbedtls_x509_crt *leaf, const struct dane_refids *names)
{
	if (!leaf || !names)
		return -1;
	unsigned nref = names->count <= DANE_REFID_MAX ? names->count : DANE_REFID_MAX;
	bool have_dns_id = false;
	for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s; s = s->next) {
		if (!s->buf.p || s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		have_dns_id = true;
		for (unsigned i = 0; i < nref; i++)
			if (dane_name_matches(s->buf.p, s->buf.len, names->name[i]))
				return (int)i;
	}
	if (have_dns_id)
		return -1; /* RFC 6125 6.4.4: CN only when there is no DNS-ID */
	for (const mbedtls_x509_name *n = &leaf->subject; n; n = n->next) {
		if (!n->oid.p || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		for (unsigned i = 0; i < nref; i++)
			if (dane_name_matches(n->val.p, n->val.len, names->name[i]))
				return (int)i;
	}
	return -1;
}

/* ---- the log line ------------------------------------------------------- */
const char *dane_result_text(const struct dane_result *res, const struct dane_refids *names,
			     char *buf, size_t size)
{
	if (!buf || size == 0)
		return buf;
	buf[0] = '\0';
	if (!res)
		return buf;
	char rec[48] = "";
	if (res->record >= 0)
		snprintf(rec, sizeof(rec), "TLSA %u %u %u", res->usage, res->selector, res->mtype);
	char where[48] = "";
	if (res->anchor_from_dns)
		snprintf(where, sizeof(where), "anchor from DNS above depth %d", res->depth - 1);
	else if (res->depth >= 0)
		snprintf(where, sizeof(where), "depth %d", res->depth);
	const char *name = res->name >= 0 && names && res->name < names->count &&
					   names->name[res->name]
				   ? names->name[res->name]
				   : "?";
	switch (res->status) {
	case DANE_OK:
		if (res->usage == DANE_USAGE_DANE_EE)
			snprintf(buf, size, "%s matched the leaf (depth 0)", rec);
		else if (res->anchor_from_dns && res->depth == 0)
			snprintf(buf, size, "%s: the anchor key from DNS signed the leaf; leaf names %s",
				 rec, name);
		else
			snprintf(buf, size, "%s matched %s; chain verified; leaf names %s", rec, where,
				 name);
		break;
	case DANE_ERR_NOCERT:
		snprintf(buf, size, "the server sent no certificate");
		break;
	case DANE_ERR_NOMATCH:
		snprintf(buf, size, "no usable TLSA record matched the %d certificate%s sent",
			 res->chain_len, res->chain_len == 1 ? "" : "s");
		break;
	case DANE_ERR_LEAF_TA:
		snprintf(buf, size, "%s matched only the leaf, which is no trust anchor", rec);
		break;
	case DANE_ERR_CHAIN:
		snprintf(buf, size, "%s matched %s, but the chain did not verify (x509 flags 0x%lx)",
			 rec, where, (unsigned long)res->x509_flags);
		break;
	case DANE_ERR_DATE:
		snprintf(buf, size, "%s matched %s, but the certificate at depth %d is %s", rec, where,
			 res->bad_depth,
			 (res->x509_flags & MBEDTLS_X509_BADCERT_FUTURE) ? "not yet valid" : "expired");
		break;
	case DANE_ERR_NAME: {
		int n = snprintf(buf, size, "%s matched %s, but the leaf names none of:", rec, where);
		for (unsigned i = 0; names && i < names->count && i < DANE_REFID_MAX; i++) {
			if (n < 0 || (size_t)n >= size)
				break;
			n += snprintf(buf + n, size - (size_t)n, " %s",
				      names->name[i] ? names->name[i] : "?");
		}
		break;
	}
	case DANE_ERR_NOMEM:
		snprintf(buf, size, "out of TLS memory while checking the chain");
		break;
	default:
		snprintf(buf, size, "DANE check failed (%d)", res->status);
		break;
	}
	return buf;
}
