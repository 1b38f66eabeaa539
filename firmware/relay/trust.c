/* trust — see trust.h. The saved anchors are one settings value: DER
 * certificates back to back (each a self-delimiting SEQUENCE), so no
 * index is kept; every reader walks the value. */
#include "relay/trust.h"

#include <stdio.h>
#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls/platform.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"

/* The new value of the settings entry is built in a buffer from the
 * mbedTLS heap (settings_set copies from its argument after moving
 * entries, so not from the image); no static RAM for it. */
static int put(struct settings *s, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al + bl == 0)
		return settings_set(s, TRUST_SETTING, NULL, 0);
	uint8_t *buf = mbedtls_calloc(1, al + bl);
	if (!buf)
		return TRUST_ENOMEM;
	if (al)
		memcpy(buf, a, al);
	if (bl)
		memcpy(buf + al, b, bl);
	int err = settings_set(s, TRUST_SETTING, buf, al + bl);
	mbedtls_free(buf);
	return err;
}

/* Board anchors (PEM from the board, parsed once). */
static mbedtls_x509_crt board_list;
static bool board_inited;
static unsigned board_n;

const char *trust_strerror(int err)
{
	switch (err) {
	case TRUST_OK: return "ok";
	case TRUST_ENOENT: return "no such anchor (ca list shows the numbers)";
	case TRUST_EEXIST: return "that certificate is a trust anchor already";
	case TRUST_EINVAL: return "bad argument";
	case TRUST_ENOSPC: /* = SETTINGS_ENOSPC */
		return "no room: at most 8 anchors, 3072 bytes in all, in the 8 KiB settings image "
		       "(ca delete N first)";
	case TRUST_EPARSE: return "not an X.509 certificate";
	case TRUST_EPEM: return "not a PEM certificate (-----BEGIN CERTIFICATE----- ... END)";
	case TRUST_ETOOBIG: return "certificate larger than 2048 bytes";
	case TRUST_ENOMEM: return "out of memory (TLS arena busy): try again";
	}
	return "error";
}

/* Total length of the DER element at p (tag, length, content), or 0 when
 * it is not a SEQUENCE that fits in n bytes. */
static size_t der_len(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != 0x30)
		return 0;
	size_t hl = 2, cl = p[1];
	if (cl & 0x80) {
		unsigned k = cl & 0x7f;
		if (k == 0 || k > 2 || n < 2 + k)
			return 0;
		cl = 0;
		for (unsigned i = 0; i < k; i++)
			cl = cl << 8 | p[2 + i];
		hl += k;
	}
	return hl + cl <= n ? hl + cl : 0;
}

/* The saved value (a well-formed prefix of it: a damaged tail is ignored). */
static size_t saved(const struct settings *s, const uint8_t **v)
{
	int n = settings_get(s, TRUST_SETTING, v);
	return n > 0 ? (size_t)n : 0;
}

int trust_each(const struct settings *s, trust_cb cb, void *ctx)
{
	const uint8_t *v = NULL;
	size_t total = s ? saved(s, &v) : 0, off = 0;
	unsigned n = 0;
	while (off < total) {
		size_t l = der_len(v + off, total - off);
		if (!l)
			break;
		n++;
		if (cb)
			cb(ctx, n, false, v + off, l);
		off += l;
	}
	unsigned nb = 0;
	if (board_inited)
		for (const mbedtls_x509_crt *c = &board_list; c && c->raw.p; c = c->next) {
			nb++;
			if (cb)
				cb(ctx, nb, true, c->raw.p, c->raw.len);
		}
	return (int)(n + nb);
}

struct scan {
	const uint8_t *der;
	size_t len;
	unsigned count;
	bool dup;
};

static void scan_cb(void *ctx, unsigned n, bool board, const uint8_t *der, size_t len)
{
	struct scan *sc = ctx;
	(void)n;
	if (board)
		return;
	sc->count++;
	if (len == sc->len && memcmp(der, sc->der, len) == 0)
		sc->dup = true;
}

int trust_add(struct settings *s, const uint8_t *der, size_t len)
{
	if (!s || !der || !len)
		return TRUST_EINVAL;
	if (len > TRUST_CERT_MAX)
		return TRUST_ETOOBIG;
	if (der_len(der, len) != len)
		return TRUST_EPARSE;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int err = mbedtls_x509_crt_parse_der(&crt, der, len);
	mbedtls_x509_crt_free(&crt);
	if (err)
		return TRUST_EPARSE;
	struct scan sc = { der, len, 0, false };
	(void)trust_each(s, scan_cb, &sc);
	if (sc.dup)
		return TRUST_EEXIST;
	const uint8_t *v = NULL;
	size_t old = saved(s, &v);
	if (sc.count >= TRUST_MAX || old + len > TRUST_BYTES_MAX)
		return TRUST_ENOSPC;
	return put(s, v, old, der, len);
}

int trust_delete(struct settings *s, unsigned n)
{
	const uint8_t *v = NULL;
	size_t total = s ? saved(s, &v) : 0, off = 0;
	for (unsigned i = 1; off < total; i++) {
		size_t l = der_len(v + off, total - off);
		if (!l)
			break;
		if (i == n) {
			return put(s, v, off, v + off + l, total - off - l);
		}
		off += l;
	}
	return TRUST_ENOENT;
}

/* Unix seconds -> y, m, d (UTC; days-from-civil, inverse). */
static void ymd(int64_t t, int *y, int *m, int *d)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int tcmp(const mbedtls_x509_time *a, int y, int m, int d)
{
	if (a->year != y)
		return a->year < y ? -1 : 1;
	if (a->mon != m)
		return a->mon < m ? -1 : 1;
	return a->day < d ? -1 : a->day > d ? 1 : 0;
}

const char *trust_describe(const uint8_t *der, size_t len, int64_t now, char *buf, size_t size)
{
	if (!size)
		return buf;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der_nocopy(&crt, der, len) != 0) {
		mbedtls_x509_crt_free(&crt);
		snprintf(buf, size, "(does not parse)");
		return buf;
	}
	char subj[160];
	if (mbedtls_x509_dn_gets(subj, sizeof(subj), &crt.subject) < 0)
		snprintf(subj, sizeof(subj), "?");
	const mbedtls_x509_time *to = &crt.valid_to, *from = &crt.valid_from;
	const char *state = "";
	if (now >= 0) {
		int y, m, d;
		ymd(now, &y, &m, &d);
		state = tcmp(to, y, m, d) < 0	  ? " EXPIRED"
			: tcmp(from, y, m, d) > 0 ? " not yet valid"
						  : "";
	}
	uint8_t h[32];
	char fp[32 * 3];
	if (mbedtls_sha256(der, len, h, 0) != 0)
		memset(h, 0, sizeof(h));
	for (unsigned i = 0; i < 32; i++)
		snprintf(fp + 3 * i, 4, "%02X%s", h[i], i < 31 ? ":" : "");
	snprintf(buf, size, "subject %.159s; %s; expires %04d-%02d-%02d%s; SHA-256 %s", subj,
		 crt.MBEDTLS_PRIVATE(ca_istrue) ? "CA" : "not a CA", to->year % 10000, to->mon % 100, to->day % 100,
		 state, fp);
	mbedtls_x509_crt_free(&crt);
	return buf;
}

struct set_ctx {
	struct dane_tlsa_set *set;
	int n;
};

static void set_cb(void *ctx, unsigned n, bool board, const uint8_t *der, size_t len)
{
	struct set_ctx *sc = ctx;
	(void)n, (void)board;
	/* filled by hand (what dane_tlsa_set_add() would keep: `2 0 0` is
	 * always usable), so that this file needs no more than mbedTLS */
	struct dane_tlsa_set *set = sc->set;
	set->seen++;
	if (len > DANE_TLSA_DATA_MAX || set->count >= DANE_TLSA_MAX)
		return;
	set->rr[set->count++] =
		(struct dane_tlsa){ DANE_USAGE_DANE_TA, DANE_SEL_CERT, DANE_MT_FULL, (uint16_t)len, der };
	sc->n++;
}

int trust_tlsa_set(const struct settings *s, struct dane_tlsa_set *set)
{
	memset(set, 0, sizeof(*set));
	struct set_ctx sc = { set, 0 };
	(void)trust_each(s, set_cb, &sc);
	return sc.n;
}

int trust_board_load(const char *pem)
{
	if (board_inited)
		mbedtls_x509_crt_free(&board_list);
	mbedtls_x509_crt_init(&board_list);
	board_inited = true;
	board_n = 0;
	if (!pem || !pem[0])
		return 0;
	if (!strstr(pem, "-----BEGIN CERTIFICATE-----"))
		return TRUST_EPEM;
	/* PEM input must include its NUL in the length (mbedTLS's rule) */
	int err = mbedtls_x509_crt_parse(&board_list, (const unsigned char *)pem, strlen(pem) + 1);
	if (err < 0) {
		mbedtls_x509_crt_free(&board_list);
		mbedtls_x509_crt_init(&board_list);
		return TRUST_EPEM;
	}
	for (const mbedtls_x509_crt *c = &board_list; c && c->raw.p; c = c->next)
		board_n++;
	return (int)board_n;
}

/* ---- PEM paste ------------------------------------------------------------------- */

void trust_pem_init(struct trust_pem *p)
{
	memset(p, 0, sizeof(*p));
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Decodes whole quads of p->carry + text, keeps the rest in carry. */
static int pem_body(struct trust_pem *p, const char *t, size_t n)
{
	char q[4 + 128];
	size_t ql = 0;
	memcpy(q, p->carry, p->ncarry);
	ql = p->ncarry;
	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			char c = t[i];
			if (c == ' ' || c == '\t' || c == '\r')
				continue;
			if (!b64_char(c))
				return TRUST_EPEM;
			q[ql++] = c;
		}
		if (ql == sizeof(q) || (i == n && ql >= 4)) {
			size_t whole = ql / 4 * 4, out = 0;
			if (mbedtls_base64_decode(p->der + p->len, sizeof(p->der) - p->len, &out,
						  (const unsigned char *)q, whole) != 0)
				return p->len + (whole / 4) * 3 > sizeof(p->der) ? TRUST_ETOOBIG : TRUST_EPEM;
			p->len += out;
			memmove(q, q + whole, ql - whole);
			ql -= whole;
		}
	}
	memcpy(p->carry, q, ql);
	p->ncarry = (uint8_t)ql;
	return TRUST_PEM_MORE;
}

int trust_pem_line(struct trust_pem *p, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (p->state == TRUST_PEM_END)
		return TRUST_EPEM;
	if (n == 0) { /* a blank line ends the paste */
		if (p->state == TRUST_PEM_BEFORE)
			return TRUST_PEM_EMPTY;
		p->state = TRUST_PEM_END;
		return TRUST_EPEM;
	}
	if (strncmp(line, "-----BEGIN ", 11) == 0) {
		if (p->state != TRUST_PEM_BEFORE || n != 27 ||
		    strncmp(line, "-----BEGIN CERTIFICATE-----", 27) != 0) {
			p->state = TRUST_PEM_END; /* a key, a CSR, a second BEGIN */
			return TRUST_EPEM;
		}
		p->state = TRUST_PEM_BODY;
		return TRUST_PEM_MORE;
	}
	if (p->state == TRUST_PEM_BEFORE)
		return TRUST_PEM_MORE; /* text before the certificate */
	if (strncmp(line, "-----END ", 9) == 0) {
		p->state = TRUST_PEM_END;
		if (n != 25 || strncmp(line, "-----END CERTIFICATE-----", 25) != 0 || p->ncarry ||
		    p->len == 0)
			return TRUST_EPEM;
		return TRUST_PEM_DONE;
	}
	int r = pem_body(p, line, n);
	if (r < 0)
		p->state = TRUST_PEM_END;
	return r;
}
