/* port_common — the portable part of port.h, one copy for every board:
 * port_strerror, port_addr_format (RFC 5952 text for IPv6) and
 * port_addr_parse (strict numeric IPv4 / IPv6). No libc networking
 * headers: newlib on qemu-virt has none, and inet_pton's quirks differ. */
#include <stdio.h>
#include <string.h>

#include "port.h"

const char *port_strerror(int err)
{
	switch (err) {
	case PORT_OK: return "ok";
	case PORT_EIO: return "I/O error";
	case PORT_EAGAIN: return "would block";
	case PORT_ENOMEM: return "out of memory or handles";
	case PORT_EINVAL: return "invalid argument";
	case PORT_ENOSPC: return "no space";
	case PORT_EADDRINUSE: return "address in use";
	case PORT_ENETUNREACH: return "network unreachable";
	case PORT_ECONNRESET: return "connection reset";
	case PORT_ETIMEDOUT: return "timed out";
	case PORT_ECONNREFUSED: return "connection refused";
	case PORT_ENOTSUP: return "not supported";
	case PORT_EPOWER: return "power cut";
	case PORT_ENOTERASED: return "flash not erased";
	default: return "unknown error";
	}
}

/* ---- formatting --------------------------------------------------------- */

/* Longest text: "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535"
 * is 53 bytes; the scratch buffer is bounded well above that. */
#define ADDR_TEXT_MAX 64

static size_t fmt_v4(const uint8_t *ip, char *out)
{
	return (size_t)sprintf(out, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

/* RFC 5952: lowercase hex, no leading zeros, the longest run of two or
 * more zero groups (the first one on a tie) as "::", and the mixed form
 * ::ffff:a.b.c.d for IPv4-mapped addresses (§5). */
static size_t fmt_v6(const uint8_t *ip, char *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(ip, mapped, sizeof(mapped)) == 0) {
		size_t n = (size_t)sprintf(out, "::ffff:");
		return n + fmt_v4(ip + 12, out + n);
	}
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
	int best = -1, best_len = 1; /* a single zero group is never "::" */
	for (int i = 0; i < 8;) {
		if (g[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			n += (size_t)sprintf(out + n, "::");
			i += best_len - 1;
			continue;
		}
		bool after_gap = best >= 0 && i == best + best_len;
		n += (size_t)sprintf(out + n, "%s%x", i == 0 || after_gap ? "" : ":", g[i]);
	}
	return n;
}

char *port_addr_format(const struct port_addr *a, bool with_port, char *buf, size_t size)
{
	char t[ADDR_TEXT_MAX];
	size_t n = 0;
	if (!buf || size == 0)
		return buf;
	if (!a) {
		n = (size_t)sprintf(t, "(null)");
	} else if (a->family == PORT_AF_INET) {
		n = fmt_v4(a->ip, t);
		if (with_port)
			n += (size_t)sprintf(t + n, ":%u", a->port);
	} else if (a->family == PORT_AF_INET6) {
		if (with_port)
			t[n++] = '[';
		n += fmt_v6(a->ip, t + n);
		if (with_port)
			n += (size_t)sprintf(t + n, "]:%u", a->port);
	} else {
		n = (size_t)sprintf(t, "(no address)");
	}
	/* Truncate to the caller's buffer, always terminated. */
	if (n >= size)
		n = size - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

/* ---- parsing ------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Dotted quad, exactly four decimal parts 0..255 without leading zeros
 * (a leading zero reads as octal to some parsers: refuse the ambiguity).
 * Parses [s, end); 0 or PORT_EINVAL. */
static int parse_v4(const char *s, const char *end, uint8_t *ip)
{
	int parts = 0;
	while (parts < 4) {
		if (s >= end || *s < '0' || *s > '9')
			return PORT_EINVAL;
		if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
			return PORT_EINVAL;
		unsigned v = 0;
		int digits = 0;
		while (s < end && *s >= '0' && *s <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (v > 255 || (s < end && *s >= '0' && *s <= '9'))
			return PORT_EINVAL;
		ip[parts++] = (uint8_t)v;
		if (parts < 4) {
			if (s >= end || *s != '.')
				return PORT_EINVAL;
			s++;
		}
	}
	return s == end ? 0 : PORT_EINVAL;
}

/* RFC 4291 §2.2 text: up to eight groups of 1-4 hex digits, at most one
 * "::", optionally a dotted quad in the last 32 bits. No zone ids, no
 * brackets, no prefix lengths. Parses [s, end); 0 or PORT_EINVAL. */
static int parse_v6(const char *s, const char *end, uint8_t *ip)
{
	uint8_t out[16] = { 0 };
	int n = 0;	/* bytes filled */
	int gap = -1;	/* byte index where "::" stands */
	if (s + 1 < end && s[0] == ':' && s[1] == ':') {
		gap = 0;
		s += 2;
		if (s == end) {
			memcpy(ip, out, 16);
			return 0;
		}
	} else if (s < end && *s == ':') {
		return PORT_EINVAL; /* a lone leading colon */
	}
	for (;;) {
		const char *g = s;
		unsigned v = 0;
		int digits = 0;
		while (s < end && hexval(*s) >= 0 && digits < 5) {
			v = v << 4 | (unsigned)hexval(*s++);
			digits++;
		}
		if (s < end && *s == '.') {
			/* Embedded IPv4: must be the last 32 bits. */
			if (n > 12 || parse_v4(g, end, out + n) != 0)
				return PORT_EINVAL;
			n += 4;
			break;
		}
		if (digits == 0 || digits > 4 || n > 14)
			return PORT_EINVAL;
		out[n++] = (uint8_t)(v >> 8);
		out[n++] = (uint8_t)v;
		if (s == end)
			break;
		if (*s != ':')
			return PORT_EINVAL;
		s++;
		if (s < end && *s == ':') {
			if (gap >= 0)
				return PORT_EINVAL; /* a second "::" */
			gap = n;
			s++;
			if (s == end)
				break;
		} else if (s == end) {
			return PORT_EINVAL; /* trailing single colon */
		}
	}
	if (gap >= 0) {
		/* "::" must stand for at least one zero group (RFC 4291). */
		if (n > 14)
			return PORT_EINVAL;
		int tail = n - gap;
		memmove(out + 16 - tail, out + gap, (size_t)tail);
		memset(out + gap, 0, (size_t)(16 - tail - gap));
	} else if (n != 16) {
		return PORT_EINVAL;
	}
	memcpy(ip, out, 16);
	return 0;
}

/* On success a->family and a->ip are set and a->port is 0; on failure *a
 * is left untouched. Bounded: text longer than ADDR_TEXT_MAX is refused. */
int port_addr_parse(const char *text, struct port_addr *a)
{
	if (!text || !a)
		return PORT_EINVAL;
	size_t len = 0;
	while (len < ADDR_TEXT_MAX && text[len])
		len++;
	if (len == 0 || len >= ADDR_TEXT_MAX)
		return PORT_EINVAL;
	struct port_addr r = { 0 };
	const char *end = text + len;
	if (memchr(text, ':', len)) {
		if (parse_v6(text, end, r.ip) != 0)
			return PORT_EINVAL;
		r.family = PORT_AF_INET6;
	} else {
		if (parse_v4(text, end, r.ip) != 0)
			return PORT_EINVAL;
		r.family = PORT_AF_INET;
	}
	*a = r;
	return 0;
}
