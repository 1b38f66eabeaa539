/* policy — the per-destination TLS policy table and next-hop parsing
 * (DANE-RULES 20, 21). Pure functions over caller-owned structs; see
 * policy.h for the text syntax. */
#include "relay/policy.h"

#include <string.h>

#include "port.h"

static const char *const level_names[] = {
	[POLICY_NONE] = "none",		[POLICY_MAY] = "may",
	[POLICY_ENCRYPT] = "encrypt",	[POLICY_DANE] = "dane",
	[POLICY_DANE_ONLY] = "dane-only", [POLICY_VERIFY] = "verify",
};
#define LEVEL_COUNT (sizeof(level_names) / sizeof(level_names[0]))

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

const char *policy_level_name(enum policy_level l)
{
	if ((unsigned)l >= LEVEL_COUNT)
		return "?";
	return level_names[l];
}

int policy_level_parse(const char *s, size_t len, enum policy_level *out)
{
	if (!s || !out)
		return POLICY_EINVAL;
	for (unsigned i = 0; i < LEVEL_COUNT; i++)
		if (ieq(s, len, level_names[i])) {
			*out = (enum policy_level)i;
			return 0;
		}
	return POLICY_ELEVEL;
}

/* A host name in s[0..len): LDH labels (and '_', which real MX names do
 * not use but test worlds and SRV-style names do) of 1..63 bytes, at most
 * POLICY_NAME_MAX bytes, one trailing dot tolerated. Copied lower case
 * into out (POLICY_NAME_SIZE). */
static int take_name(const char *s, size_t len, char *out)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > POLICY_NAME_MAX)
		return POLICY_ENAME;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = lower(s[i]);
		if (c == '.') {
			if (label == 0)
				return POLICY_ENAME;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return POLICY_ENAME;
		} else {
			return POLICY_ENAME;
		}
		out[i] = c;
	}
	if (label == 0)
		return POLICY_ENAME;
	out[len] = '\0';
	return 0;
}

static int take_port(const char *s, size_t len, uint16_t *port)
{
	if (len == 0 || len > 5)
		return POLICY_EPORT;
	uint32_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return POLICY_EPORT;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return POLICY_EPORT;
	*port = (uint16_t)v;
	return 0;
}

/* The inside of "[...]": "IPv6:addr", a dotted IPv4 address, or a host. */
static int take_bracketed(const char *s, size_t len, struct policy_nexthop *nh)
{
	char buf[POLICY_NAME_SIZE];
	bool v6 = len > 5 && ieq(s, 5, "ipv6:");
	if (v6) {
		s += 5;
		len -= 5;
	}
	if (len == 0 || len >= sizeof(buf))
		return POLICY_ENAME;
	memcpy(buf, s, len);
	buf[len] = '\0';
	struct port_addr a;
	/* "[IPv6:...]" is the SMTP form (RFC 5321 4.1.3); "[2001:db8::1]"
	 * is how the configuration writes a smarthost address */
	if (port_addr_parse(buf, &a) == 0 && (!v6 || a.family == PORT_AF_INET6)) {
		for (size_t i = 0; i <= len; i++)
			nh->host[i] = lower(buf[i]);
		nh->ip_literal = true;
		return 0;
	}
	if (v6)
		return POLICY_ENAME;
	/* all digits and dots but not an address: a broken IPv4 literal */
	bool numeric = true;
	for (size_t i = 0; i < len; i++)
		if (!(buf[i] == '.' || (buf[i] >= '0' && buf[i] <= '9')))
			numeric = false;
	if (numeric)
		return POLICY_ENAME;
	return take_name(s, len, nh->host);
}

static const char *memrchr_colon(const char *s, size_t len)
{
	while (len > 0)
		if (s[--len] == ':')
			return s + len;
	return NULL;
}

static int nexthop_parse(const char *s, size_t len, struct policy_nexthop *out)
{
	struct policy_nexthop nh;
	memset(&nh, 0, sizeof(nh));
	nh.port = POLICY_PORT_SMTP;
	int err;
	const char *rest;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return POLICY_ENAME;
		err = take_bracketed(s + 1, (size_t)(close - s - 1), &nh);
		if (err)
			return err;
		nh.no_mx = true;
		rest = close + 1;
	} else if (memchr(s, ':', len) && memrchr_colon(s, len) != memchr(s, ':', len)) {
		/* a bare IPv6 address (the configuration's form): no port */
		char buf[POLICY_NAME_SIZE];
		struct port_addr a;
		if (len >= sizeof(buf))
			return POLICY_ENAME;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (port_addr_parse(buf, &a) != 0 || a.family != PORT_AF_INET6)
			return POLICY_ENAME;
		for (size_t i = 0; i <= len; i++)
			nh.host[i] = lower(buf[i]);
		nh.ip_literal = true;
		nh.no_mx = true;
		rest = s + len;
	} else {
		const char *colon = memchr(s, ':', len);
		size_t nlen = colon ? (size_t)(colon - s) : len;
		err = take_name(s, nlen, nh.host);
		if (err)
			return err;
		rest = s + nlen;
	}
	size_t rlen = len - (size_t)(rest - s);
	if (rlen > 0) {
		if (rest[0] != ':')
			return POLICY_ENAME;
		err = take_port(rest + 1, rlen - 1, &nh.port);
		if (err)
			return err;
	}
	nh.implicit_tls = nh.port == POLICY_PORT_SUBMISSIONS;
	*out = nh;
	return 0;
}

int policy_nexthop_parse(const char *text, struct policy_nexthop *nh)
{
	if (!text || !nh)
		return POLICY_EINVAL;
	return nexthop_parse(text, strlen(text), nh);
}

void policy_table_init(struct policy_table *t)
{
	memset(t, 0, sizeof(*t));
	t->dflt = POLICY_DEFAULT_LEVEL;
}

void policy_table_set_default(struct policy_table *t, enum policy_level l)
{
	if ((unsigned)l < LEVEL_COUNT)
		t->dflt = (uint8_t)l;
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_key(const char *s, size_t len, struct policy_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (len == 0)
		return POLICY_ESYNTAX;
	if (s[0] == '[') {
		struct policy_nexthop nh;
		int err = nexthop_parse(s, len, &nh);
		if (err)
			return err;
		memcpy(e->name, nh.host, sizeof(e->name));
		e->port = nh.port;
		e->match = POLICY_MATCH_NEXTHOP;
		return 0;
	}
	if (s[0] == '.') {
		e->match = POLICY_MATCH_SUBDOMAIN;
		s++;
		len--;
	} else {
		e->match = POLICY_MATCH_EXACT;
	}
	return take_name(s, len, e->name);
}

static bool same_key(const struct policy_entry *a, const struct policy_entry *b)
{
	return a->match == b->match && a->port == b->port && strcmp(a->name, b->name) == 0;
}

int policy_table_parse(struct policy_table *t, const char *text, size_t *err_off)
{
	if (!t || !text)
		return POLICY_EINVAL;
	struct policy_table work = *t; /* all or nothing */
	size_t n = strlen(text), i = 0;
	int added = 0;
	while (i < n) {
		if (is_sep(text[i])) {
			i++;
			continue;
		}
		size_t start = i;
		/* key: up to '=' or a separator */
		size_t k = i;
		while (k < n && text[k] != '=' && !is_sep(text[k]))
			k++;
		size_t key_end = k;
		while (k < n && is_blank(text[k]))
			k++;
		int err = 0;
		if (k >= n || text[k] != '=') {
			err = POLICY_ESYNTAX;
		} else {
			k++;
			while (k < n && is_blank(text[k]))
				k++;
			size_t v = k;
			while (k < n && !is_sep(text[k]) && text[k] != '=')
				k++;
			struct policy_entry e;
			enum policy_level lvl;
			if (k < n && text[k] == '=')
				err = POLICY_ESYNTAX;
			else if (v == k)
				err = POLICY_ESYNTAX;
			else if ((err = parse_key(text + start, key_end - start, &e)) == 0 &&
				 (err = policy_level_parse(text + v, k - v, &lvl)) == 0) {
				for (unsigned j = 0; j < work.count && !err; j++)
					if (same_key(&work.e[j], &e))
						err = POLICY_EDUP;
				if (!err && work.count >= POLICY_ENTRIES_MAX)
					err = POLICY_ENOSPC;
				if (!err) {
					e.level = (uint8_t)lvl;
					work.e[work.count++] = e;
					added++;
				}
			}
		}
		if (err) {
			if (err_off)
				*err_off = start;
			return err;
		}
		i = k;
	}
	*t = work;
	return added;
}

static int find(const struct policy_table *t, uint8_t match, const char *name, size_t len,
		uint16_t port)
{
	for (unsigned i = 0; i < t->count; i++) {
		const struct policy_entry *e = &t->e[i];
		if (e->match == match && (match != POLICY_MATCH_NEXTHOP || e->port == port) &&
		    ieq(name, len, e->name))
			return e->level;
	}
	return -1;
}

static enum policy_level lookup_name(const struct policy_table *t, const char *name)
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	int l = find(t, POLICY_MATCH_EXACT, name, len, 0);
	if (l >= 0)
		return (enum policy_level)l;
	/* parents, nearest first: "a.b.example.org" -> "b.example.org" -> ... */
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.')
			continue;
		l = find(t, POLICY_MATCH_SUBDOMAIN, name + i + 1, len - i - 1, 0);
		if (l >= 0)
			return (enum policy_level)l;
	}
	return (enum policy_level)t->dflt;
}

enum policy_level policy_lookup(const struct policy_table *t, const struct policy_nexthop *nh)
{
	if (nh->no_mx) {
		int l = find(t, POLICY_MATCH_NEXTHOP, nh->host, strlen(nh->host), nh->port);
		return l >= 0 ? (enum policy_level)l : (enum policy_level)t->dflt;
	}
	return lookup_name(t, nh->host);
}

enum policy_level policy_lookup_domain(const struct policy_table *t, const char *domain)
{
	return lookup_name(t, domain);
}
