/* policy — per-destination TLS policy for outbound delivery (DANE-RULES 20,
 * 21): the table ("example.com=dane-only, .example.org=encrypt,
 * [smtp.relay.example]:587=verify"), its default, and next-hop parsing
 * (recipient domains, IP literals, smarthosts). Pure and caller-owned.
 * Exports policy_table_*(), policy_lookup(), policy_nexthop_parse(),
 * policy_level_name/parse(). */
#ifndef DANEGATE_POLICY_H
#define DANEGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------ */
#ifndef POLICY_ENTRIES_MAX
#define POLICY_ENTRIES_MAX 16	/* table entries (the configuration's list
				 * limit, CONFIG_LIST_MAX); one more ->
				 * POLICY_ENOSPC. 258 bytes each. */
#endif
#define POLICY_NAME_MAX 253	/* longest host or domain name (RFC 1035) */
#define POLICY_NAME_SIZE (POLICY_NAME_MAX + 1)
#define POLICY_PORT_SMTP 25
#define POLICY_PORT_SUBMISSIONS 465	/* implicit TLS (RFC 8314) */
#define POLICY_PORT_SUBMISSION 587	/* STARTTLS */

/* ---- errors (negative) ------------------------------------------------- */
enum policy_err {
	POLICY_OK = 0,
	POLICY_EINVAL = -22,	/* bad argument */
	POLICY_ENOSPC = -28,	/* more than POLICY_ENTRIES_MAX entries */
	POLICY_ESYNTAX = -1101, /* not "key=level", empty key, stray text */
	POLICY_ELEVEL = -1102,	/* unknown level word */
	POLICY_ENAME = -1103,	/* host/domain name or IP literal malformed */
	POLICY_EPORT = -1104,	/* port missing, zero, or above 65535 */
	POLICY_EDUP = -1105,	/* the same key twice */
};

/* ---- levels (rule 20) --------------------------------------------------- */
enum policy_level {
	POLICY_NONE,	  /* clear text only */
	POLICY_MAY,	  /* opportunistic TLS, clear text allowed */
	POLICY_ENCRYPT,	  /* TLS required, no authentication */
	POLICY_DANE,	  /* RFC 7672 where it applies, else may */
	POLICY_DANE_ONLY, /* no secure usable TLSA -> defer */
	POLICY_VERIFY,	  /* TLS + WebPKI name check (smarthosts) */
};
#define POLICY_DEFAULT_LEVEL POLICY_DANE

/* "none", "may", "encrypt", "dane", "dane-only", "verify". */
const char *policy_level_name(enum policy_level l);
/* Parses exactly those words (case-insensitive) from s[0..len). 0 or
 * POLICY_ELEVEL. */
int policy_level_parse(const char *s, size_t len, enum policy_level *out);

/* ---- next hops ---------------------------------------------------------- */
/* Where a message goes: a recipient domain (MX lookup, port 25), an IP
 * literal ("[192.0.2.1]", "[IPv6:2001:db8::1]": no MX, no DANE), or a
 * smarthost ("[host]:port" = that host, no MX lookup; "host:port" = the
 * MX hosts of host, on port). */
struct policy_nexthop {
	char host[POLICY_NAME_SIZE]; /* lower case, no brackets, no trailing
				      * dot; for an IP literal the address
				      * text ("192.0.2.1", "2001:db8::1") */
	uint16_t port;		     /* 25 unless given */
	bool no_mx;		     /* bracketed: the host itself */
	bool ip_literal;	     /* host is an address (implies no_mx) */
	bool implicit_tls;	     /* port 465: TLS from the first byte */
};

/* Parses text (a domain, "[host]", "[host]:port", "host:port", an IP
 * literal "[192.0.2.1]", "[IPv6:2001:db8::1]" or, as the configuration
 * writes them, "[2001:db8::1]" and a bare "2001:db8::1"; a bracketed
 * form may take ":port") into nh. Returns 0, POLICY_EINVAL,
 * POLICY_ENAME or POLICY_EPORT; nh is unchanged on error. */
int policy_nexthop_parse(const char *text, struct policy_nexthop *nh);

/* ---- the table --------------------------------------------------------- */
enum policy_match {
	POLICY_MATCH_EXACT,	/* "example.com": that domain only */
	POLICY_MATCH_SUBDOMAIN, /* ".example.org": strict subdomains only (as
				 * Postfix's tls_policy); list both forms to
				 * cover the parent too */
	POLICY_MATCH_NEXTHOP,	/* "[host]:port" / "[host]": that bracketed
				 * next hop (port 25 when omitted) */
};

struct policy_entry {
	char name[POLICY_NAME_SIZE]; /* lower case, no leading dot */
	uint16_t port;		     /* NEXTHOP only */
	uint8_t match;		     /* enum policy_match */
	uint8_t level;		     /* enum policy_level */
};

struct policy_table {
	struct policy_entry e[POLICY_ENTRIES_MAX];
	uint8_t count;
	uint8_t dflt; /* enum policy_level, POLICY_DEFAULT_LEVEL after init */
};

/* Empty table, default level POLICY_DEFAULT_LEVEL. */
void policy_table_init(struct policy_table *t);
void policy_table_set_default(struct policy_table *t, enum policy_level l);
/* Adds the entries of text: "key=level" items separated by commas and/or
 * white space (blanks, tabs, newlines); blanks around '=' are allowed.
 * All or nothing: on error t is unchanged and *err_off (may be NULL) is
 * the byte offset of the offending item. Returns the number of entries
 * added, or POLICY_ESYNTAX, POLICY_ELEVEL, POLICY_ENAME, POLICY_EPORT,
 * POLICY_EDUP (a key already in t or twice in text), POLICY_ENOSPC. */
int policy_table_parse(struct policy_table *t, const char *text, size_t *err_off);

/* The level for a next hop. Bracketed next hops (and IP literals): the
 * NEXTHOP entry with that host and port, else the default. Domains: the
 * EXACT entry, else the SUBDOMAIN entry of the nearest parent (most labels
 * win), else the default. Names compare case-insensitively; a trailing dot
 * is ignored. */
enum policy_level policy_lookup(const struct policy_table *t, const struct policy_nexthop *nh);
/* The same for a bare recipient domain. */
enum policy_level policy_lookup_domain(const struct policy_table *t, const char *domain);

#endif
