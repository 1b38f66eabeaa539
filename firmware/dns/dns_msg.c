/* dns_msg — the sans-I/O message layer: names (text <-> wire), the query
 * (written by hand) and the classification of an answer (ldns decodes it).
 * Exports dns_query_build(), dns_parse_answer() and the name helpers. */
#include "dns/dns.h"

#include <ldns/ldns.h>
#include <string.h>

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_SECURE: return "secure";
	case DNS_INSECURE: return "insecure";
	case DNS_SECURE_NXDOMAIN: return "secure NXDOMAIN";
	case DNS_INSECURE_NXDOMAIN: return "insecure NXDOMAIN";
	case DNS_SECURE_NODATA: return "secure NODATA";
	case DNS_INSECURE_NODATA: return "insecure NODATA";
	case DNS_FAIL: return "failure";
	}
	return "?";
}

bool dns_status_secure(enum dns_status s)
{
	return s == DNS_SECURE || s == DNS_SECURE_NXDOMAIN || s == DNS_SECURE_NODATA;
}

bool dns_status_denial(enum dns_status s)
{
	return s == DNS_SECURE_NXDOMAIN || s == DNS_INSECURE_NXDOMAIN || s == DNS_SECURE_NODATA ||
	       s == DNS_INSECURE_NODATA;
}

/* ---- names ---------------------------------------------------------------- */

/* strnlen is POSIX, not C11 (and not in every newlib configuration). */
size_t dns_text_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int dns_name_to_wire(const char *text, uint8_t *wire, size_t size)
{
	if (!text || !wire || size == 0)
		return DNS_ENAME;
	size_t cap = size < DNS_NAME_WIRE_MAX ? size : DNS_NAME_WIRE_MAX;
	if (text[0] == '.' && text[1] == '\0') {
		wire[0] = 0;
		return 1;
	}
	size_t out = 0;		/* where the current label's length byte sits */
	size_t pos = 1;
	const char *p = text;
	if (*p == '\0')
		return DNS_ENAME;
	while (1) {
		uint8_t c;
		if (*p == '\0' || *p == '.') {
			size_t len = pos - out - 1;
			if (len == 0) {
				/* only a single trailing dot may end the name */
				if (*p == '.' || out == 0)
					return DNS_ENAME;
				break;
			}
			if (len > 63)
				return DNS_ENAME;
			wire[out] = (uint8_t)len;
			out = pos;
			if (out >= cap)
				return DNS_ENAME;
			pos = out + 1;
			if (*p == '\0' || p[1] == '\0')
				break;
			p++;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (p[0] >= '0' && p[0] <= '9') {
				if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
					return DNS_ENAME;
				unsigned v = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
					     (unsigned)(p[2] - '0');
				if (v > 255)
					return DNS_ENAME;
				c = (uint8_t)v;
				p += 3;
			} else if (*p == '\0') {
				return DNS_ENAME;
			} else {
				c = (uint8_t)*p++;
			}
		} else {
			c = (uint8_t)*p++;
		}
		if (pos >= cap)
			return DNS_ENAME;
		wire[pos++] = c;
	}
	wire[out] = 0;
	return (int)(out + 1);
}

/* Length of a valid uncompressed wire name within len bytes, or 0. */
static size_t wire_name_len(const uint8_t *w, size_t len)
{
	size_t i = 0;
	while (i < len && i < DNS_NAME_WIRE_MAX) {
		uint8_t l = w[i];
		if (l == 0)
			return i + 1;
		if (l > 63)
			return 0;	/* compression or extended label types */
		i += 1u + l;
	}
	return 0;
}

int dns_name_to_text(const uint8_t *wire, size_t wire_len, char *text, size_t size)
{
	if (!wire || !text || size == 0 || wire_name_len(wire, wire_len) == 0)
		return DNS_ENAME;
	size_t o = 0;
	size_t i = 0;
	if (wire[0] == 0) {
		if (size < 2)
			return DNS_ETOOBIG;
		text[0] = '.';
		text[1] = '\0';
		return 1;
	}
	while (wire[i] != 0) {
		uint8_t l = wire[i++];
		if (o != 0) {
			if (o + 1 >= size)
				return DNS_ETOOBIG;
			text[o++] = '.';
		}
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = wire[i++];
			char esc[5];
			size_t n;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')') {
				esc[0] = '\\';
				esc[1] = (char)c;
				n = 2;
			} else if (c <= ' ' || c >= 127) {
				esc[0] = '\\';
				esc[1] = (char)('0' + c / 100);
				esc[2] = (char)('0' + (c / 10) % 10);
				esc[3] = (char)('0' + c % 10);
				n = 4;
			} else {
				esc[0] = (char)c;
				n = 1;
			}
			if (o + n >= size)
				return DNS_ETOOBIG;
			memcpy(text + o, esc, n);
			o += n;
		}
	}
	text[o] = '\0';
	return (int)o;
}

bool dns_name_wire_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	/* Label length bytes are <= 63 and so unaffected by lower(). */
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* ---- the query ------------------------------------------------------------ */

/* Written by hand rather than with ldns_pkt_query_new + ldns_pkt2wire:
 * the format is fixed and tiny, and ldns's encoder drags ~32 KB of text
 * conversion code (str2host, strtod) into the bare-metal image. ldns
 * decodes it in the tests. */
int dns_query_build(struct dns_query *q, const char *name, uint16_t qtype, uint16_t id)
{
	if (!q || !name || qtype == 0)
		return DNS_EINVAL;
	memset(q, 0, sizeof(*q));
	int n = dns_name_to_wire(name, q->qname, sizeof(q->qname));
	if (n < 0)
		return n;
	q->qname_len = (uint8_t)n;
	q->id = id;
	q->qtype = qtype;

	uint8_t *w = q->wire;
	w[0] = (uint8_t)(id >> 8);
	w[1] = (uint8_t)id;
	w[2] = 0x01;		/* QR=0, opcode QUERY, RD */
	/* RFC 6840 §5.7: AD in a query asks for AD in the answer; the DO bit
	 * below asks for DNSSEC records (and AD from older servers). CD stays
	 * clear: the resolver must validate. */
	w[3] = 0x20;
	w[5] = 1;		/* QDCOUNT */
	w[11] = 1;		/* ARCOUNT: the OPT RR */
	size_t o = 12;
	memcpy(w + o, q->qname, (size_t)n);
	o += (size_t)n;
	w[o++] = (uint8_t)(qtype >> 8);
	w[o++] = (uint8_t)qtype;
	w[o++] = 0;
	w[o++] = 1;		/* class IN */
	/* OPT (RFC 6891): root owner, type 41, class = UDP payload size,
	 * TTL = extended RCODE 0, version 0, DO; no options. */
	w[o++] = 0;
	w[o++] = 0;
	w[o++] = 41;
	w[o++] = (uint8_t)(DNS_EDNS_UDP_SIZE >> 8);
	w[o++] = (uint8_t)(DNS_EDNS_UDP_SIZE & 0xff);
	w[o++] = 0;
	w[o++] = 0;
	w[o++] = 0x80;		/* DO */
	w[o++] = 0;
	w[o++] = 0;
	w[o++] = 0;		/* RDLEN 0 */
	q->wire_len = (uint16_t)o;
	return 0;
}

/* ---- the answer ----------------------------------------------------------- */

void dns_answer_fail(struct dns_answer *a, const char *name, uint16_t qtype, const char *reason)
{
	/* data[] is left as it is: n_rr = data_len = 0 makes it unused */
	a->status = DNS_FAIL;
	a->qtype = qtype;
	a->rcode = DNS_RCODE_NONE;
	a->ad = false;
	a->cname_count = 0;
	a->cname_secure_first = false;
	a->partial = false;
	a->ttl = 0;
	a->reason = reason ? reason : "lookup failed";
	a->n_rr = 0;
	a->data_len = 0;
	if (name != a->qname) {
		size_t n = name ? dns_text_len(name, sizeof(a->qname) - 1) : 0;
		memcpy(a->qname, name ? name : "", n);
		a->qname[n] = '\0';
	}
	memcpy(a->final_name, a->qname, sizeof(a->final_name));
}

/* Fail with reason and return code ret (keeps the callers one-liners). */
static int fail(struct dns_answer *a, const char *reason, int ret)
{
	dns_answer_fail(a, a->qname, a->qtype, reason);
	return ret;
}

static bool rdf_is_name(const ldns_rdf *r)
{
	return r && ldns_rdf_get_type(r) == LDNS_RDF_TYPE_DNAME &&
	       wire_name_len(ldns_rdf_data(r), ldns_rdf_size(r)) == ldns_rdf_size(r);
}

static bool rdf_name_eq(const ldns_rdf *r, const uint8_t *w, size_t wlen)
{
	return rdf_is_name(r) && dns_name_wire_eq(ldns_rdf_data(r), ldns_rdf_size(r), w, wlen);
}

/* Appends len bytes to the data pool; returns the offset or -1 when full. */
static int pool_put(struct dns_answer *a, const void *p, size_t len)
{
	if (len > sizeof(a->data) - a->data_len)
		return -1;
	int off = a->data_len;
	if (len)
		memcpy(a->data + off, p, len);
	a->data_len = (uint16_t)(a->data_len + len);
	return off;
}

/* Appends a wire name as NUL-terminated text; offset or -1. */
static int pool_put_name(struct dns_answer *a, const ldns_rdf *r)
{
	char t[DNS_NAME_TEXT_SIZE];
	if (!rdf_is_name(r) || dns_name_to_text(ldns_rdf_data(r), ldns_rdf_size(r), t, sizeof(t)) < 0)
		return -1;
	return pool_put(a, t, strlen(t) + 1);
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Reads 16 bits big-endian from an rdf of exactly 2 bytes. */
static bool rdf_u16(const ldns_rdf *r, uint16_t *v)
{
	if (!r || ldns_rdf_size(r) != 2)
		return false;
	const uint8_t *d = ldns_rdf_data(r);
	*v = (uint16_t)(d[0] << 8 | d[1]);
	return true;
}

static bool rdf_u8(const ldns_rdf *r, uint8_t *v)
{
	if (!r || ldns_rdf_size(r) != 1)
		return false;
	*v = ldns_rdf_data(r)[0];
	return true;
}

/* Converts one RR of the wanted type into out->rr[]. A record that is
 * syntactically wrong for its type is malformed (-1); the pool running out
 * is -2. TLSA data of any length is kept: judging it is the DANE module's
 * job (RFC 7672 §2.2: "unusable", not "absent"). */
static int take_rr(struct dns_answer *out, const ldns_rr *rr)
{
	if (out->n_rr >= DNS_RR_MAX)
		return -2;
	struct dns_rr *d = &out->rr[out->n_rr];
	memset(d, 0, sizeof(*d));
	d->type = (uint16_t)ldns_rr_get_type(rr);
	d->ttl = ldns_rr_ttl(rr);
	size_t n = ldns_rr_rd_count(rr);
	int off;
	switch (d->type) {
	case DNS_T_A:
		if (n != 1 || ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 4)
			return -1;
		memcpy(d->u.a, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
		break;
	case DNS_T_AAAA:
		if (n != 1 || ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 16)
			return -1;
		memcpy(d->u.aaaa, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 16);
		break;
	case DNS_T_MX:
		if (n != 2 || !rdf_u16(ldns_rr_rdf(rr, 0), &d->u.mx.pref))
			return -1;
		off = pool_put_name(out, ldns_rr_rdf(rr, 1));
		if (off < 0)
			return rdf_is_name(ldns_rr_rdf(rr, 1)) ? -2 : -1;
		d->u.mx.name = (uint16_t)off;
		break;
	case DNS_T_CNAME:
		if (n != 1)
			return -1;
		off = pool_put_name(out, ldns_rr_rdf(rr, 0));
		if (off < 0)
			return rdf_is_name(ldns_rr_rdf(rr, 0)) ? -2 : -1;
		d->u.cname.name = (uint16_t)off;
		break;
	case DNS_T_TLSA:
		/* ldns leaves the data rdf out when it is empty */
		if (n < 3 || n > 4 || !rdf_u8(ldns_rr_rdf(rr, 0), &d->u.tlsa.usage) ||
		    !rdf_u8(ldns_rr_rdf(rr, 1), &d->u.tlsa.selector) ||
		    !rdf_u8(ldns_rr_rdf(rr, 2), &d->u.tlsa.mtype))
			return -1;
		if (n == 4) {
			const ldns_rdf *x = ldns_rr_rdf(rr, 3);
			off = pool_put(out, ldns_rdf_data(x), ldns_rdf_size(x));
			if (off < 0)
				return -2;
			d->u.tlsa.off = (uint16_t)off;
			d->u.tlsa.len = (uint16_t)ldns_rdf_size(x);
		} else {
			d->u.tlsa.off = out->data_len;
		}
		break;
	default: {
		/* Raw rdata: ldns keeps names uncompressed, so the concatenated
		 * rdfs are the canonical rdata. */
		uint16_t start = out->data_len;
		for (size_t i = 0; i < n; i++) {
			const ldns_rdf *x = ldns_rr_rdf(rr, i);
			if (pool_put(out, ldns_rdf_data(x), ldns_rdf_size(x)) < 0)
				return -2;
		}
		d->u.raw.off = start;
		d->u.raw.len = (uint16_t)(out->data_len - start);
		break;
	}
	}
	out->n_rr++;
	return 0;
}

/* Header and question checked by hand, before ldns sees the packet, so that
 * anything not addressed to us is ignored rather than called malformed. */
static bool header_matches(const struct dns_query *q, const uint8_t *w, size_t len)
{
	if (len < 12)
		return false;
	uint16_t id = (uint16_t)(w[0] << 8 | w[1]);
	uint8_t opcode = (w[2] >> 3) & 0x0f;
	uint16_t qd = (uint16_t)(w[4] << 8 | w[5]);
	if (id != q->id || !(w[2] & 0x80) || opcode != 0 || qd != 1)
		return false;
	size_t nl = wire_name_len(w + 12, len - 12);
	if (nl == 0 || 12 + nl + 4 > len)
		return false;
	if (!dns_name_wire_eq(w + 12, nl, q->qname, q->qname_len))
		return false;
	const uint8_t *t = w + 12 + nl;
	uint16_t qtype = (uint16_t)(t[0] << 8 | t[1]);
	uint16_t qclass = (uint16_t)(t[2] << 8 | t[3]);
	return qtype == q->qtype && qclass == LDNS_RR_CLASS_IN;
}

/* The one CNAME owned by name in the answer section: 1 found, 0 none,
 * -1 more than one (RFC 2181 §10.1: a name has at most one CNAME). */
static int find_cname(const ldns_rr_list *an, const ldns_rdf *name, const ldns_rr **found)
{
	int hits = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		const ldns_rdf *o = ldns_rr_owner(rr);
		if (!rdf_name_eq(o, ldns_rdf_data(name), ldns_rdf_size(name)))
			continue;
		if (ldns_rr_rd_count(rr) != 1 || !rdf_is_name(ldns_rr_rdf(rr, 0)))
			return -1;
		/* identical duplicates are harmless; different targets are not */
		if (hits && !rdf_name_eq(ldns_rr_rdf(*found, 0), ldns_rdf_data(ldns_rr_rdf(rr, 0)),
					 ldns_rdf_size(ldns_rr_rdf(rr, 0))))
			return -1;
		*found = rr;
		hits = 1;
	}
	return hits;
}

/* RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM) of the SOA in
 * the authority section; none there -> 0 (do not cache). */
static bool soa_neg_ttl(const ldns_pkt *p, uint32_t *ttl)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
			continue;
		const ldns_rdf *m = ldns_rr_rdf(rr, 6);
		if (ldns_rdf_size(m) != 4)
			continue;
		const uint8_t *d = ldns_rdf_data(m);
		uint32_t minimum = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
				   (uint32_t)d[2] << 8 | d[3];
		*ttl = min32(ldns_rr_ttl(rr), minimum);
		return true;
	}
	return false;
}

static bool has_ns(const ldns_pkt *p)
{
	const ldns_rr_list *ns = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(ns, i)) == LDNS_RR_TYPE_NS)
			return true;
	return false;
}

static int classify(const struct dns_query *q, const ldns_pkt *p, struct dns_answer *out)
{
	uint8_t rcode = (uint8_t)ldns_pkt_get_rcode(p);
	out->rcode = rcode;
	/* The OPT record's upper RCODE bits (RFC 6891 §6.1.3): BADVERS and
	 * friends look like NOERROR in the header alone. */
	if (ldns_pkt_edns(p) && ldns_pkt_edns_extended_rcode(p) != 0)
		return fail(out, "EDNS error from the resolver", 0);
	switch (rcode) {
	case DNS_RCODE_NOERROR:
	case DNS_RCODE_NXDOMAIN:
		break;
	case DNS_RCODE_SERVFAIL:
		/* how Unbound says "bogus" as well as "could not resolve" */
		return fail(out, "SERVFAIL (bogus or unresolvable)", 0);
	case DNS_RCODE_REFUSED:
		return fail(out, "REFUSED by the resolver", 0);
	default:
		return fail(out, "resolver error", 0);
	}
	bool ad = ldns_pkt_ad(p);
	out->ad = ad;

	/* The question ldns parsed must be the one we matched by hand. */
	const ldns_rr_list *qd = ldns_pkt_question(p);
	if (ldns_rr_list_rr_count(qd) != 1)
		return fail(out, "malformed answer", DNS_EMALFORMED);
	const ldns_rdf *name = ldns_rr_owner(ldns_rr_list_rr(qd, 0));
	if (!rdf_name_eq(name, q->qname, q->qname_len))
		return fail(out, "malformed answer", DNS_EMALFORMED);

	const ldns_rr_list *an = ldns_pkt_answer(p);
	uint32_t ttl = UINT32_MAX;
	const ldns_rdf *chain[DNS_CNAME_MAX + 1];
	size_t steps = 0;
	chain[0] = name;
	if (q->qtype != DNS_T_CNAME) {
		while (1) {
			const ldns_rr *c = NULL;
			int f = find_cname(an, name, &c);
			if (f < 0)
				return fail(out, "conflicting CNAMEs", 0);
			if (f == 0)
				break;
			const ldns_rdf *target = ldns_rr_rdf(c, 0);
			for (size_t i = 0; i <= steps; i++)
				if (rdf_name_eq(chain[i], ldns_rdf_data(target), ldns_rdf_size(target)))
					return fail(out, "CNAME loop", 0);
			if (steps == DNS_CNAME_MAX)
				return fail(out, "CNAME chain too long", 0);
			chain[++steps] = target;
			ttl = min32(ttl, ldns_rr_ttl(c));
			name = target;
		}
	}
	out->cname_count = (uint8_t)steps;
	out->cname_secure_first = steps > 0 && ad;
	if (steps > 0 && dns_name_to_text(ldns_rdf_data(name), ldns_rdf_size(name),
					  out->final_name, sizeof(out->final_name)) < 0)
		return fail(out, "name too long", 0);

	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != (ldns_rr_type)q->qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    !rdf_name_eq(ldns_rr_owner(rr), ldns_rdf_data(name), ldns_rdf_size(name)))
			continue;	/* RRSIGs, other owners, glue */
		int e = take_rr(out, rr);
		if (e == -1)
			return fail(out, "malformed record", DNS_EMALFORMED);
		if (e == -2)
			return fail(out, "answer too large", 0);
		ttl = min32(ttl, out->rr[out->n_rr - 1].ttl);
	}

	if (out->n_rr > 0) {
		if (rcode != DNS_RCODE_NOERROR)
			return fail(out, "NXDOMAIN with data", DNS_EMALFORMED);
		out->status = ad ? DNS_SECURE : DNS_INSECURE;
		out->ttl = ttl;
		return 0;
	}
	uint32_t neg = 0;
	bool have_soa = soa_neg_ttl(p, &neg);
	if (rcode == DNS_RCODE_NOERROR && !have_soa && steps == 0 && has_ns(p))
		/* A referral: the server asked does not recurse (a
		 * misconfigured resolver address). Reading it as "no such
		 * records" would be a downgrade; as "malformed" the driver
		 * tries the next server. */
		return fail(out, "referral: the server does not recurse", DNS_EMALFORMED);
	if (rcode == DNS_RCODE_NXDOMAIN) {
		out->status = ad ? DNS_SECURE_NXDOMAIN : DNS_INSECURE_NXDOMAIN;
	} else if (!have_soa && steps > 0) {
		/* The chain stops at a name the resolver said nothing more
		 * about: the caller asks again for final_name. */
		out->partial = true;
		out->status = ad ? DNS_SECURE : DNS_INSECURE;
		out->ttl = ttl;
		return 0;
	} else {
		out->status = ad ? DNS_SECURE_NODATA : DNS_INSECURE_NODATA;
	}
	out->ttl = have_soa ? min32(ttl, neg) : 0;
	return 0;
}

int dns_parse_answer(const struct dns_query *q, const uint8_t *wire, size_t len,
		     struct dns_answer *out)
{
	if (!q || !out)
		return DNS_EINVAL;
	char qtext[DNS_NAME_TEXT_SIZE];
	if (dns_name_to_text(q->qname, q->qname_len, qtext, sizeof(qtext)) < 0)
		qtext[0] = '\0';
	dns_answer_fail(out, qtext, q->qtype, "no answer");
	if (!wire || !header_matches(q, wire, len))
		return fail(out, "not an answer to this query", DNS_EMISMATCH);
	if (wire[2] & 0x02)
		return fail(out, "truncated", DNS_ETRUNCATED);

	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, wire, len);
	if (st != LDNS_STATUS_OK || !p) {
		ldns_pkt_free(p);
		return fail(out, st == LDNS_STATUS_MEM_ERR ? "out of memory parsing the answer"
							   : "malformed answer",
			    DNS_EMALFORMED);
	}
	out->reason = "";
	int ret = classify(q, p, out);
	ldns_pkt_free(p);
	if (out->status == DNS_FAIL)
		out->rcode = (uint8_t)(wire[3] & 0x0f);
	return ret;
}
