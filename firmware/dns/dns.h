/* dns — the stub resolver: queries to the configured, trusted (validating)
 * resolvers, answers classified by DNSSEC status (the resolver's AD bit).
 * Exports the sans-I/O message layer (dns_query_build, dns_parse_answer,
 * name helpers), the bounded TTL cache (dns_cache_*) and the I/O driver on
 * port.h (dns_resolver_*, dns_resolve, dns_probe_validation). */
#ifndef DANEGATE_DNS_H
#define DANEGATE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"

/* ---- limits (a board may override them before including this header) -- */
#define DNS_NAME_WIRE_MAX 255	/* RFC 1035 */
/* Presentation form, no trailing dot, NUL-terminated. A name whose escaped
 * form does not fit is refused (DNS_ENAME / DNS_FAIL): the relay only ever
 * needs host names, which are at most 253 characters. */
#define DNS_NAME_TEXT_SIZE 256
#define DNS_EDNS_UDP_SIZE 1232	/* DNS flag day 2020: no IP fragmentation */
#ifndef DNS_CNAME_MAX
#define DNS_CNAME_MAX 8		/* CNAME steps per lookup, across follow-ups */
#endif
#ifndef DNS_RR_MAX
#define DNS_RR_MAX 32		/* records of the wanted type per answer */
#endif
#ifndef DNS_DATA_MAX
#define DNS_DATA_MAX 8192	/* bytes of variable RR data per answer:
				 * names as text, TLSA and raw rdata */
#endif
/* header 12 + question (name + 4) + OPT RR 11 */
#define DNS_QUERY_WIRE_MAX (12 + DNS_NAME_WIRE_MAX + 4 + 11)

/* ---- errors (negative; DNS_OK is 0) ------------------------------------- */
enum dns_err {
	DNS_OK = 0,
	DNS_EINVAL = -22,	/* bad argument */
	DNS_ENOSPC = -28,	/* table full (outstanding queries, cache) */
	DNS_EMISMATCH = -1001,	/* datagram is not an answer to this query */
	DNS_ETRUNCATED = -1002, /* answer truncated (TC): ask again over TCP */
	DNS_EMALFORMED = -1003, /* ours, but unparsable or inconsistent */
	DNS_ENAME = -1004,	/* name syntax or length */
	DNS_ENOENT = -1005,	/* not in the cache */
	DNS_ETOOBIG = -1006,	/* does not fit the stated bound */
};

/* ---- types and classification ------------------------------------------ */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MX = 15,
	DNS_T_AAAA = 28,
	DNS_T_DNSKEY = 48,
	DNS_T_TLSA = 52,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_NONE = 255,	/* no answer at all (timeout, local error) */
};

/* RFC 7672 §2.1: the AD bit of the trusted resolver's answer is the DNSSEC
 * status; bogus (SERVFAIL), timeouts and garbage are all DNS_FAIL. */
enum dns_status {
	DNS_SECURE,
	DNS_INSECURE,
	DNS_SECURE_NXDOMAIN,
	DNS_INSECURE_NXDOMAIN,
	DNS_SECURE_NODATA,
	DNS_INSECURE_NODATA,
	DNS_FAIL,
};

const char *dns_status_name(enum dns_status s);
bool dns_status_secure(enum dns_status s);  /* SECURE, SECURE_NXDOMAIN, SECURE_NODATA */
bool dns_status_denial(enum dns_status s);  /* any NXDOMAIN or NODATA */

/* One record of the wanted type at the final owner. Variable-length parts
 * live in dns_answer.data and are referenced by offset, so an answer can be
 * copied (and cached) as plain bytes. Text offsets point at NUL-terminated
 * presentation names. */
struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		struct {
			uint16_t pref;
			uint16_t name;	/* text offset in data */
		} mx;
		struct {
			uint16_t name;	/* text offset in data */
		} cname;
		struct {
			uint8_t usage, selector, mtype;
			uint16_t off, len; /* association data in data */
		} tlsa;
		struct {
			uint16_t off, len; /* rdata (names uncompressed) */
		} raw;
	} u;
};

struct dns_answer {
	enum dns_status status;
	uint16_t qtype;
	uint8_t rcode;		/* enum dns_rcode of the (last) response */
	bool ad;		/* AD bit of every response involved */
	/* CNAMEs followed from qname to final_name (in this and follow-up
	 * responses). cname_secure_first: the first CNAME is known to be
	 * secure (RFC 7672 §2.2.2 / DANE rule 8); false without CNAMEs.
	 * dns_parse_answer() can only tell from the response's AD bit;
	 * dns_resolve() asks "qname CNAME?" when a chain came back insecure
	 * as a whole, so its results are exact. */
	uint8_t cname_count;
	bool cname_secure_first;
	/* The response ends the chain at final_name with neither data nor a
	 * denial (SOA): the resolver asks again for final_name. Only seen by
	 * callers of dns_parse_answer(), never in dns_resolve() results. */
	bool partial;
	uint32_t ttl;		/* seconds: min over the records used; for a
				 * denial min(SOA TTL, SOA MINIMUM) (RFC 2308) */
	const char *reason;	/* static text; "" unless DNS_FAIL */
	char qname[DNS_NAME_TEXT_SIZE];
	char final_name[DNS_NAME_TEXT_SIZE]; /* after CNAMEs; == qname if none */
	uint16_t n_rr;
	uint16_t data_len;
	struct dns_rr rr[DNS_RR_MAX];
	uint8_t data[DNS_DATA_MAX];
};

static inline const char *dns_answer_text(const struct dns_answer *a, uint16_t off)
{
	return (const char *)a->data + off;
}

/* Sets a to a DNS_FAIL answer for (name, qtype) with a static reason. */
void dns_answer_fail(struct dns_answer *a, const char *name, uint16_t qtype, const char *reason);

/* ---- names ---------------------------------------------------------------- */
/* Presentation text ("mx.example.net", trailing dot optional, "\." and
 * "\DDD" escapes) to uncompressed wire form. Returns the wire length or
 * DNS_ENAME. */
int dns_name_to_wire(const char *text, uint8_t *wire, size_t size);
/* Wire (uncompressed, validated) to text without the trailing dot ("." for
 * the root), escaping '.', '\\' and non-printable bytes. Returns the text
 * length or DNS_ENAME (bad wire) / DNS_ETOOBIG (size too small). */
int dns_name_to_text(const uint8_t *wire, size_t wire_len, char *text, size_t size);
/* Length of s, at most max (a bounded strlen). */
size_t dns_text_len(const char *s, size_t max);
/* Case-insensitive (ASCII) comparison of two uncompressed wire names. */
bool dns_name_wire_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ---- the message layer (pure: bytes in, struct out) ---------------------- */
struct dns_query {
	uint16_t id;
	uint16_t qtype;
	uint8_t qname_len;
	uint8_t qname[DNS_NAME_WIRE_MAX];
	uint16_t wire_len;
	uint8_t wire[DNS_QUERY_WIRE_MAX];
};

/* Builds the query for (name, IN, qtype) with the given ID (the caller draws
 * it from port_random): RD, AD (RFC 6840 §5.7) and EDNS0 with DO and a UDP
 * size of DNS_EDNS_UDP_SIZE. Returns 0, DNS_EINVAL or DNS_ENAME. */
int dns_query_build(struct dns_query *q, const char *name, uint16_t qtype, uint16_t id);

/* Classifies an answer to q. Returns:
 *   0               out holds the classification (possibly DNS_FAIL, e.g.
 *                   SERVFAIL, a CNAME loop, too many records);
 *   DNS_EMISMATCH   not an answer to q (ID, QR, opcode or question differ,
 *                   or too short to tell): ignore it, keep waiting;
 *   DNS_ETRUNCATED  ours with TC set: ask again over TCP;
 *   DNS_EMALFORMED  ours but unparsable or inconsistent, or a referral
 *                   from a server that does not recurse (out: DNS_FAIL;
 *                   the driver asks the next server).
 * out is always filled (status DNS_FAIL with a reason unless 0 is
 * returned with a real answer). Never reads outside wire[0..len). ldns
 * allocates while parsing — measured ~4.7x the message size at peak (e.g.
 * 38 KB for an 8 KB message, about 250 blocks) — and everything is freed
 * before return; one parse runs at a time. */
int dns_parse_answer(const struct dns_query *q, const uint8_t *wire, size_t len,
		     struct dns_answer *out);

/* ---- the cache ---------------------------------------------------------- */
#ifndef DNS_CACHE_ENTRIES
#define DNS_CACHE_ENTRIES 64	/* answers kept */
#endif
#ifndef DNS_CACHE_BYTES
#define DNS_CACHE_BYTES 16384	/* bytes for their compact copies */
#endif

struct dns_cache_config {
	uint32_t max_ttl;	/* cap on positive answers, s (default 86400) */
	uint32_t neg_max_ttl;	/* cap on denials, s (default 3600, RFC 2308 §5 "1-3 hours") */
	uint32_t fail_ttl;	/* failures are kept this long, s (default 5; 0 = never) */
};

struct dns_cache_entry {
	uint64_t expires_ms;	/* 0: slot free */
	uint64_t stored_ms;
	uint32_t last_use;	/* LRU stamp */
	uint16_t off, len;	/* compact copy in the arena */
	uint16_t qtype;
};

struct dns_cache {
	struct dns_cache_config cfg;
	uint32_t use_clock;
	uint16_t used;		/* arena bytes in use (packed from 0) */
	struct dns_cache_entry e[DNS_CACHE_ENTRIES];
	uint8_t arena[DNS_CACHE_BYTES];
	struct {
		uint32_t hits, misses, stored, evicted, expired;
	} stats;
};

/* cfg NULL: the defaults above. */
void dns_cache_init(struct dns_cache *c, const struct dns_cache_config *cfg);
/* Stores a copy of a under (a->qname, a->qtype) for its TTL (capped per
 * kind), replacing an older copy; evicts least recently used answers when
 * the entries or bytes run out. Returns 0 (also when a TTL of 0 means "do
 * not keep"), DNS_ETOOBIG if it could never fit. */
int dns_cache_put(struct dns_cache *c, const struct dns_answer *a, uint64_t now_ms);
/* Copies a live answer into out with ttl = seconds left (rounded up).
 * Returns 0 or DNS_ENOENT. Names compare case-insensitively. */
int dns_cache_get(struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ms,
		  struct dns_answer *out);
/* Whether a live answer is there (no copy, no LRU or counter change). */
bool dns_cache_has(const struct dns_cache *c, const char *name, uint16_t qtype, uint64_t now_ms);
void dns_cache_flush(struct dns_cache *c);

/* ---- the resolver (I/O driver on port.h) --------------------------------- */
#ifndef DNS_SERVERS_MAX
#define DNS_SERVERS_MAX 4
#endif
#ifndef DNS_OUTSTANDING_MAX
#define DNS_OUTSTANDING_MAX 8	/* lookups in flight at once */
#endif
#ifndef DNS_TCP_MSG_MAX
#define DNS_TCP_MSG_MAX 8192	/* largest answer taken over TCP, per lookup */
#endif

enum dns_validation {
	DNS_VALIDATION_UNKNOWN,	  /* not probed yet */
	DNS_VALIDATING,		  /* the signed probe name came back with AD */
	DNS_NOT_VALIDATING,	  /* it came back without AD */
	DNS_UNREACHABLE,	  /* no usable answer (timeout, SERVFAIL, ...) */
};
const char *dns_validation_name(enum dns_validation v);

struct dns_resolver_config {
	struct port_addr servers[DNS_SERVERS_MAX]; /* only these are asked */
	uint8_t n_servers;
	uint8_t rounds;		/* passes over the server list (default 2) */
	uint32_t timeout_ms;	/* per attempt (default 2000) */
	char probe_name[DNS_NAME_TEXT_SIZE]; /* must be signed (default ".") */
	uint16_t probe_type;	/* default DNS_T_DNSKEY */
	struct dns_cache_config cache;
};

/* Default: 127.0.0.1:53 (a local Unbound), 2 rounds of 2 s, ". DNSKEY". */
void dns_resolver_config_default(struct dns_resolver_config *cfg);
/* Sets cfg's servers from text such as "127.0.0.1, [::1]:5353 192.0.2.53:53"
 * (commas or blanks between; port 53 unless given; a bare IPv6 address
 * takes no port). Returns the count, DNS_EINVAL (syntax, none) or
 * DNS_ENOSPC (more than DNS_SERVERS_MAX); cfg is unchanged on error. */
int dns_resolver_config_servers(struct dns_resolver_config *cfg, const char *list);

/* The answer is valid only during the call (it lives in the resolver):
 * copy what must outlive it — a struct copy keeps TLSA data and names,
 * which are offsets into the answer. The callback may start or cancel
 * lookups. */
typedef void (*dns_done_cb)(void *ctx, const struct dns_answer *ans);
typedef void (*dns_probe_cb)(void *ctx, enum dns_validation v);

enum dns_slot_state {
	DNS_SLOT_FREE,
	DNS_SLOT_CACHED,	/* answer waits in the cache for the next tick */
	DNS_SLOT_UDP,		/* datagram sent, waiting */
	DNS_SLOT_TCP_CONNECT,
	DNS_SLOT_TCP_SEND,
	DNS_SLOT_TCP_RECV,
	DNS_SLOT_FAILED,	/* could not start: report at the next tick */
};

struct dns_resolver;

struct dns_slot {
	struct dns_resolver *r;
	enum dns_slot_state state;
	uint8_t gen;		/* handle generation: stale cancels are no-ops */
	bool use_tcp;		/* the answer was truncated: TCP from now on */
	bool no_cache;		/* probes bypass the cache */
	bool is_probe;
	uint8_t server;		/* index of the server being asked */
	uint8_t attempts;	/* attempts made for the current name */
	uint8_t servfail_seen;	/* servers that gave a definitive failure */
	int sock;
	uint64_t deadline_ms;
	dns_done_cb cb;
	dns_probe_cb probe_cb;
	void *ctx;
	const char *fail_reason;
	/* the lookup as asked, and what earlier responses of a CNAME chain
	 * that crossed responses contributed */
	char name[DNS_NAME_TEXT_SIZE];
	uint16_t qtype;
	uint8_t hops;		/* responses combined so far */
	uint8_t cname_count;
	bool all_ad;
	bool first_known;	/* whether the first CNAME was secure is known: */
	bool first_ad;		/* ... and that answer */
	bool checking;		/* asking "name CNAME?" to learn first_ad */
	uint32_t ttl_min;
	char q_name[DNS_NAME_TEXT_SIZE]; /* current question: name or a CNAME target */
	uint16_t q_type;	/* its type (CNAME during the check) */
	struct dns_query q;	/* its wire form, with this attempt's ID */
	uint16_t tcp_off;	/* bytes sent (SEND) or received (RECV) */
	uint16_t tcp_need;	/* expected answer length (RECV, 0 = not yet) */
	uint8_t tcp_buf[DNS_TCP_MSG_MAX];
};

struct dns_resolver {
	struct dns_resolver_config cfg;
	struct dns_cache cache;
	struct dns_slot slot[DNS_OUTSTANDING_MAX];
	enum dns_validation validation;
	bool in_resolve;	/* inside dns_resolve(): callbacks are deferred */
	struct dns_answer scratch;	/* parse target; one at a time (single loop) */
	uint8_t udp_buf[DNS_EDNS_UDP_SIZE];
	struct {
		uint32_t queries, answers, ignored, timeouts, tcp, failures;
	} stats;
};

/* Resets r (caller-owned: ~100 KB with the default limits, most of it the
 * per-lookup TCP buffers and the cache). Returns 0 or
 * DNS_EINVAL (no server, bad config). */
int dns_resolver_init(struct dns_resolver *r, const struct dns_resolver_config *cfg);
/* Starts a lookup; cb runs later from a port event or dns_resolver_tick()
 * (never from inside this call). Returns a handle >= 0 for dns_cancel(),
 * DNS_ENAME, DNS_EINVAL or DNS_ENOSPC (all DNS_OUTSTANDING_MAX busy). */
int dns_resolve(struct dns_resolver *r, const char *name, uint16_t qtype, dns_done_cb cb,
		void *ctx);
/* Drops a lookup; its callback will not run. Stale handles are ignored. */
void dns_cancel(struct dns_resolver *r, int handle);
/* Runs timeouts and delivers cached answers; call after every port_poll(). */
void dns_resolver_tick(struct dns_resolver *r, uint64_t now_ms);
/* One line for the console: servers, validation state, counters, cache
 * use. Returns the length (truncated to size - 1, NUL-terminated). */
size_t dns_resolver_status(const struct dns_resolver *r, char *buf, size_t size);
/* Milliseconds until the next tick has work (for port_poll's timeout). */
uint32_t dns_resolver_next_ms(const struct dns_resolver *r, uint64_t now_ms);
/* Asks cfg.probe_name/probe_type (bypassing the cache) and reports whether
 * the resolver validates; the result is also logged and kept in
 * r->validation. cb may be NULL. Returns a handle >= 0 (for dns_cancel)
 * or a dns_resolve() error. */
int dns_probe_validation(struct dns_resolver *r, dns_probe_cb cb, void *ctx);

#endif
