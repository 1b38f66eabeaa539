/* fuzz_addr — libFuzzer target for the address parsers that read what a
 * client or the operator typed: smtp_path_parse, smtp_ip_parse,
 * smtp_cidr_parse / smtp_cidr_match, smtp_utf8_valid (firmware/smtp/
 * smtp_addr.c) and port_addr_parse / port_addr_format
 * (firmware/port_common.c). Input: [flags][text]; flags bit 0 allow_null,
 * bit 1 utf8. The text is given in a buffer of exactly its length (ASan
 * sees any over-read) and as a NUL-terminated copy where a C string is
 * expected. Checks, besides the sanitizers:
 * - path: on success used in [2, len], text[used-1] == '>', the mailbox
 *   is NUL-terminated within SMTP_MAILBOX_BUF, has no CR/LF, is "" only
 *   for "<>" with allow_null, holds an '@', and is ASCII without utf8;
 * - an address that parses formats to text that parses to the same
 *   address (smtp_ip_parse and port_addr_parse alike);
 * - a CIDR that parses matches its own network address, its prefix is
 *   within the family, and "net/prefix" parses back to the same;
 * - smtp_utf8_valid agrees with a reference decoder. Exports nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"
#include "smtp/smtp_addr.h"

#include "fuzz_check.h"


/* Reference UTF-8 check (RFC 3629): shortest form, no surrogates, <= U+10FFFF. */
static bool ref_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		unsigned need;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			need = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

static bool same_addr(const struct port_addr *a, const struct port_addr *b)
{
	size_t n = a->family == PORT_AF_INET ? 4 : 16;
	return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

static void path(const char *text, size_t len, bool allow_null, bool utf8)
{
	char out[SMTP_MAILBOX_BUF];
	size_t used = 0;
	memset(out, 'X', sizeof(out));
	int r = smtp_path_parse(text, len, allow_null, utf8, out, sizeof(out), &used);
	check(r <= 0 && r >= SMTP_ADDR_ENODOMAIN);
	if (r != SMTP_ADDR_OK)
		return;
	check(used >= 2 && used <= len && text[0] == '<' && text[used - 1] == '>');
	const char *nul = memchr(out, '\0', sizeof(out));
	check(nul != NULL);
	size_t ol = (size_t)(nul - out);
	check(strpbrk(out, "\r\n") == NULL);
	if (ol == 0) {
		check(allow_null && used == 2);
		return;
	}
	check(strchr(out, '@') != NULL);
	check(ol <= SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX);
	if (!utf8)
		for (size_t i = 0; i < ol; i++)
			check((unsigned char)out[i] < 0x80);
	else
		check(smtp_utf8_valid((const uint8_t *)out, ol));
}

static void ip(const char *text, size_t len, const char *cstr)
{
	struct port_addr a, b;
	char buf[PORT_ADDR_TEXT_MAX];
	if (smtp_ip_parse(text, len, &a) == 0) {
		check(a.family == PORT_AF_INET || a.family == PORT_AF_INET6);
		port_addr_format(&a, false, buf, sizeof(buf));
		check(memchr(buf, '\0', sizeof(buf)) != NULL);
		check(smtp_ip_parse(buf, strlen(buf), &b) == 0 && same_addr(&a, &b));
	}
	memset(&a, 0x5A, sizeof(a));
	struct port_addr keep = a;
	if (port_addr_parse(cstr, &a) == 0) {
		check(a.port == 0);
		check(a.family == PORT_AF_INET || a.family == PORT_AF_INET6);
		port_addr_format(&a, false, buf, sizeof(buf));
		check(port_addr_parse(buf, &b) == 0 && same_addr(&a, &b));
		a.port = 2525;
		port_addr_format(&a, true, buf, sizeof(buf));
		check(memchr(buf, '\0', sizeof(buf)) != NULL);
	} else {
		check(memcmp(&a, &keep, sizeof(a)) == 0); /* unchanged on error */
	}
}

static void cidr(const char *cstr)
{
	struct smtp_cidr c, d;
	char buf[PORT_ADDR_TEXT_MAX + 8], ipbuf[PORT_ADDR_TEXT_MAX];
	if (smtp_cidr_parse(cstr, &c) != 0)
		return;
	unsigned max = c.net.family == PORT_AF_INET ? 32 : 128;
	check(c.net.family == PORT_AF_INET || c.net.family == PORT_AF_INET6);
	check(c.prefix_len <= max);
	check(smtp_cidr_match(&c, &c.net));
	port_addr_format(&c.net, false, ipbuf, sizeof(ipbuf));
	snprintf(buf, sizeof(buf), "%s/%u", ipbuf, c.prefix_len);
	check(smtp_cidr_parse(buf, &d) == 0);
	check(same_addr(&c.net, &d.net) && c.prefix_len == d.prefix_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	char *text = malloc(len ? len : 1);
	char *cstr = malloc(len + 1);
	check(text && cstr);
	memcpy(text, data + 1, len);
	memcpy(cstr, data + 1, len);
	cstr[len] = '\0';
	check(smtp_utf8_valid((const uint8_t *)text, len) == ref_utf8((const uint8_t *)text, len));
	path(text, len, flags & 1, flags & 2);
	ip(text, len, cstr);
	cidr(cstr);
	free(text);
	free(cstr);
	return 0;
}
