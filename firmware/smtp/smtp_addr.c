/* smtp_addr — RFC 5321 path parsing, numeric IP / CIDR parsing and
 * matching for relay control, UTF-8 validation. See smtp_addr.h. */
#include "smtp/smtp_addr.h"

#include <string.h>

#define EINVAL_ (-22)

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 5322 atext; with SMTPUTF8 any non-ASCII octet (checked as UTF-8 as a
 * whole afterwards) is atext too (RFC 6531 §3.3). */
static bool is_atext(unsigned char c, bool utf8)
{
	if (c >= 0x80)
		return utf8;
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool smtp_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- paths ------------------------------------------------------------ */

/* Dot-string or Quoted-string local part starting at t[*p]. */
static int parse_local(const char *t, size_t len, size_t *p, bool utf8)
{
	size_t i = *p;
	if (i < len && t[i] == '"') {
		i++;
		for (;;) {
			if (i >= len)
				return SMTP_ADDR_ESYNTAX;
			unsigned char c = (unsigned char)t[i];
			if (c == '"')
				break;
			if (c == '\\') {
				/* quoted-pairSMTP: backslash and one printable ASCII */
				if (i + 1 >= len || t[i + 1] < 32 || t[i + 1] > 126)
					return SMTP_ADDR_ESYNTAX;
				i += 2;
				continue;
			}
			if (!((c >= 32 && c <= 126) || (c >= 0x80 && utf8)))
				return SMTP_ADDR_ESYNTAX;
			i++;
		}
		*p = i + 1;
		return SMTP_ADDR_OK;
	}
	for (;;) {
		size_t start = i;
		while (i < len && is_atext((unsigned char)t[i], utf8))
			i++;
		if (i == start)
			return SMTP_ADDR_ESYNTAX; /* empty atom: leading, trailing or ".." */
		if (i < len && t[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	*p = i;
	return SMTP_ADDR_OK;
}

static int parse_v4(const char *s, size_t len, uint8_t *ip)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return EINVAL_;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < len && is_digit(s[i]) && i - start < 4)
			v = v * 10 + (unsigned)(s[i++] - '0');
		/* no empty parts, no leading zeros (octal ambiguity), <= 255 */
		if (i == start || i - start > 3 || v > 255 || (s[start] == '0' && i - start > 1))
			return EINVAL_;
		ip[part] = (uint8_t)v;
	}
	return i == len ? 0 : EINVAL_;
}

static int parse_v6(const char *s, size_t len, uint8_t *ip)
{
	uint8_t out[16];
	size_t n = 0, i = 0;
	long gap = -1; /* byte offset where "::" stands, -1 if none */

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (len == 0 || s[0] == ':') {
		return EINVAL_;
	}
	while (i < len) {
		size_t j = i;
		unsigned v = 0;
		while (j < len && j - i < 5 && hex_val(s[j]) >= 0)
			v = v * 16 + (unsigned)hex_val(s[j++]);
		if (j < len && s[j] == '.') {
			/* dotted IPv4 in the last 32 bits */
			if (n + 4 > 16 || parse_v4(s + i, len - i, out + n) != 0)
				return EINVAL_;
			n += 4;
			break;
		}
		if (j == i || j - i > 4 || n + 2 > 16)
			return EINVAL_;
		out[n++] = (uint8_t)(v >> 8);
		out[n++] = (uint8_t)v;
		i = j;
		if (i == len)
			break;
		if (s[i] != ':')
			return EINVAL_;
		i++;
		if (i < len && s[i] == ':') {
			if (gap >= 0)
				return EINVAL_;
			gap = (long)n;
			i++;
		} else if (i == len) {
			return EINVAL_; /* trailing single ':' */
		}
	}
	if (gap < 0) {
		if (n != 16)
			return EINVAL_;
		memcpy(ip, out, 16);
		return 0;
	}
	if (n > 14) /* "::" stands for at least one group */
		return EINVAL_;
	memset(ip, 0, 16);
	memcpy(ip, out, (size_t)gap);
	memcpy(ip + 16 - (n - (size_t)gap), out + gap, n - (size_t)gap);
	return 0;
}

int smtp_ip_parse(const char *text, size_t len, struct port_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (memchr(text, ':', len) != NULL) {
		if (parse_v6(text, len, out->ip) != 0)
			return EINVAL_;
		out->family = PORT_AF_INET6;
		return 0;
	}
	if (parse_v4(text, len, out->ip) != 0)
		return EINVAL_;
	out->family = PORT_AF_INET;
	return 0;
}

/* Domain or address literal starting at t[*p]. */
static int parse_domain(const char *t, size_t len, size_t *p, bool utf8)
{
	size_t i = *p;
	if (i < len && t[i] == '[') {
		size_t start = ++i;
		while (i < len && t[i] != ']') {
			unsigned char c = (unsigned char)t[i];
			if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126)))
				return SMTP_ADDR_ESYNTAX;
			i++;
		}
		if (i >= len || i == start)
			return SMTP_ADDR_ESYNTAX;
		struct port_addr a;
		size_t n = i - start;
		if (n > 5 && strncmp(t + start, "IPv6:", 5) == 0) {
			if (parse_v6(t + start + 5, n - 5, a.ip) != 0)
				return SMTP_ADDR_ESYNTAX;
		} else if (memchr(t + start, ':', n) == NULL) {
			if (parse_v4(t + start, n, a.ip) != 0)
				return SMTP_ADDR_ESYNTAX;
		} else {
			/* General-address-literal: Standardized-tag ":" 1*dcontent;
			 * the tag is Ldh-str. Nobody routes these; accept the syntax. */
			if (!is_alpha(t[start]) && !is_digit(t[start]))
				return SMTP_ADDR_ESYNTAX;
		}
		*p = i + 1;
		return SMTP_ADDR_OK;
	}
	for (;;) {
		size_t start = i;
		while (i < len) {
			unsigned char c = (unsigned char)t[i];
			if (is_alpha(c) || is_digit(c) || (c >= 0x80 && utf8))
				i++;
			else if (c == '-' && i > start)
				i++;
			else
				break;
		}
		if (i == start || t[i - 1] == '-' || i - start > 63)
			return SMTP_ADDR_ESYNTAX;
		if (i < len && t[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	*p = i;
	return SMTP_ADDR_OK;
}

int smtp_path_parse(const char *text, size_t len, bool allow_null, bool utf8, char *out,
		    size_t out_size, size_t *used)
{
	size_t p = 1, at, end;
	int err;

	if (out_size < SMTP_MAILBOX_BUF || len < 2 || text[0] != '<')
		return SMTP_ADDR_ESYNTAX;
	out[0] = '\0';
	if (text[1] == '>') {
		if (!allow_null)
			return SMTP_ADDR_ESYNTAX;
		*used = 2;
		return SMTP_ADDR_OK;
	}
	if (text[1] == '@')
		return SMTP_ADDR_EROUTE;
	/* Octets >= 0x80 are parsed as atext here so that the caller hears
	 * "needs SMTPUTF8" rather than "syntax error" when that is the cause. */
	err = parse_local(text, len, &p, true);
	if (err)
		return err;
	at = p;
	if (p >= len)
		return SMTP_ADDR_ESYNTAX;
	if (text[p] == '>')
		return SMTP_ADDR_ENODOMAIN;
	if (text[p] != '@')
		return SMTP_ADDR_ESYNTAX;
	p++;
	err = parse_domain(text, len, &p, true);
	if (err)
		return err;
	if (p >= len || text[p] != '>')
		return SMTP_ADDR_ESYNTAX;
	end = p;
	if (at - 1 > SMTP_LOCAL_MAX || end - at - 1 > SMTP_DOMAIN_MAX || end + 1 > SMTP_PATH_MAX)
		return SMTP_ADDR_ETOOLONG;
	for (size_t i = 1; i < end; i++) {
		if ((unsigned char)text[i] >= 0x80) {
			if (!utf8 || !smtp_utf8_valid((const uint8_t *)text + 1, end - 1))
				return SMTP_ADDR_EUTF8;
			break;
		}
	}
	memcpy(out, text + 1, end - 1);
	out[end - 1] = '\0';
	*used = end + 1;
	return SMTP_ADDR_OK;
}

/* ---- CIDR ---------------------------------------------------------------- */

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int smtp_cidr_parse(const char *text, struct smtp_cidr *out)
{
	size_t len = strlen(text);
	const char *slash = memchr(text, '/', len);
	size_t iplen = slash ? (size_t)(slash - text) : len;
	unsigned max, prefix;

	memset(out, 0, sizeof(*out));
	if (smtp_ip_parse(text, iplen, &out->net) != 0)
		return EINVAL_;
	max = out->net.family == PORT_AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		const char *d = slash + 1;
		size_t n = len - iplen - 1;
		if (n == 0 || n > 3 || (d[0] == '0' && n > 1))
			return EINVAL_;
		prefix = 0;
		for (size_t i = 0; i < n; i++) {
			if (!is_digit(d[i]))
				return EINVAL_;
			prefix = prefix * 10 + (unsigned)(d[i] - '0');
		}
		if (prefix > max)
			return EINVAL_;
	}
	/* host bits must be zero */
	for (unsigned bit = prefix; bit < max; bit++)
		if (out->net.ip[bit / 8] & (0x80 >> (bit % 8)))
			return EINVAL_;
	out->prefix_len = (uint8_t)prefix;
	return 0;
}

bool smtp_cidr_match(const struct smtp_cidr *c, const struct port_addr *a)
{
	if (c->net.family == a->family) {
		unsigned max = a->family == PORT_AF_INET ? 32 : 128;
		if (a->family != PORT_AF_INET && a->family != PORT_AF_INET6)
			return false;
		return c->prefix_len <= max && prefix_equal(c->net.ip, a->ip, c->prefix_len);
	}
	if (c->net.family == PORT_AF_INET && a->family == PORT_AF_INET6) {
		if (memcmp(a->ip, v4_mapped_prefix, 12) != 0 || c->prefix_len > 32)
			return false;
		return prefix_equal(c->net.ip, a->ip + 12, c->prefix_len);
	}
	if (c->net.family == PORT_AF_INET6 && a->family == PORT_AF_INET) {
		uint8_t mapped[16];
		/* only networks inside ::ffff:0:0/96 can hold IPv4 clients */
		if (c->prefix_len < 96 || c->prefix_len > 128)
			return false;
		memcpy(mapped, v4_mapped_prefix, 12);
		memcpy(mapped + 12, a->ip, 4);
		return prefix_equal(c->net.ip, mapped, c->prefix_len);
	}
	return false;
}
