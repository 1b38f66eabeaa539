/* smtp_addr — SMTP text pieces shared by the inbound server and the
 * outbound client: RFC 5321 reverse/forward paths (smtp_path_parse), the
 * numeric IP and CIDR parsing and matching used for relay control
 * (smtp_ip_parse, smtp_cidr_parse, smtp_cidr_match) and a UTF-8 check.
 * No I/O, no allocation, no dependence on port_common.c. */
#ifndef DANEGATE_SMTP_ADDR_H
#define DANEGATE_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"

/* ---- limits (RFC 5321 §4.5.3.1) ------------------------------------- */
#define SMTP_LOCAL_MAX 64   /* local part, octets */
#define SMTP_DOMAIN_MAX 255 /* domain, octets */
#define SMTP_PATH_MAX 256   /* path including "<" and ">" */
/* Room for a parsed mailbox "local@domain" plus the NUL. */
#define SMTP_MAILBOX_BUF (SMTP_PATH_MAX + 1)

/* ---- results (negative errors) -------------------------------------- */
enum smtp_addr_err {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ESYNTAX = -1,	 /* not a path: 501 */
	SMTP_ADDR_ETOOLONG = -2, /* local > 64, domain > 255 or path > 256: 501 */
	SMTP_ADDR_EROUTE = -3,	 /* "@a,@b:user@c" source route: refused, 553 */
	SMTP_ADDR_EUTF8 = -4,	 /* non-ASCII without SMTPUTF8 (553 X.6.7) or bad UTF-8 */
	SMTP_ADDR_ENODOMAIN = -5,/* "<user>" without a domain: 553 */
};

/* Parses an RFC 5321 Reverse-path / Forward-path starting at text[0]
 * (which must be '<'). On success writes the mailbox ("" for the null
 * path "<>") NUL-terminated into out (size >= SMTP_MAILBOX_BUF) and sets
 * *used to the octets consumed including '>'. allow_null accepts "<>"
 * (MAIL only); utf8 allows RFC 6531 UTF-8 in local part and domain.
 * Source routes are refused, not stripped: danegate decides relaying by
 * client, but a relay that re-interprets routes invites abuse and the
 * mail they appear in is broken anyway. Quoted local parts are accepted
 * and kept quoted, byte for byte. '%' and '!' are ordinary atext: they
 * never change where the message goes (the domain right of the last '@'
 * decides, and only relay clients get that far). */
int smtp_path_parse(const char *text, size_t len, bool allow_null, bool utf8, char *out,
		    size_t out_size, size_t *used);

/* True if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool smtp_utf8_valid(const uint8_t *s, size_t len);

/* ---- IP networks ------------------------------------------------------ */
struct smtp_cidr {
	struct port_addr net; /* host bits are zero; port unused */
	uint8_t prefix_len;   /* 0..32 (IPv4) or 0..128 (IPv6) */
};

/* Numeric IPv4 ("192.0.2.1", no leading zeros) or IPv6 ("2001:db8::1",
 * "::ffff:192.0.2.1"), the whole of text[0..len). 0 or -22 (EINVAL). */
int smtp_ip_parse(const char *text, size_t len, struct port_addr *out);

/* "192.168.0.0/16", "2001:db8::/32", or a bare address (a host route).
 * Host bits set below the prefix are refused (-22): "192.168.1.1/16" is
 * almost always a typo for a narrower network, and guessing would widen
 * who may relay. */
int smtp_cidr_parse(const char *text, struct smtp_cidr *out);

/* True if a lies inside c. An IPv4-mapped IPv6 client (::ffff:a.b.c.d,
 * what a dual-stack listener reports) matches IPv4 networks, and an IPv4
 * client matches an IPv6 network written as ::ffff:0:0/96 or narrower. */
bool smtp_cidr_match(const struct smtp_cidr *c, const struct port_addr *a);

#endif
