/* mx — the decision layer of outbound delivery, sans I/O (DANE-RULES
 * 2-12, 16, 18, 20-23): for one next hop, which DNS lookups to make, which
 * addresses to try in which order, and under what TLS policy, TLSA set,
 * SNI and reference identifiers; when to move on, defer or bounce.
 * Exports mx_plan_start(), mx_plan_next(), mx_plan_feed(),
 * mx_plan_host_result(), mx_plan_classify() and names for the enums.
 *
 * The caller (the delivery driver) steps it:
 *
 *	mx_plan_start(p, &cfg, &nexthop, level, random);
 *	for (;;) switch (mx_plan_next(p, &step)) {
 *	case MX_STEP_LOOKUP:   resolve step.lookup.name / .type, then
 *	                       mx_plan_feed(p, &answer);           break;
 *	case MX_STEP_CONNECT:  connect to step.connect.addr under its TLS
 *	                       policy, then mx_plan_host_result(p, ...); break;
 *	case MX_STEP_DONE:     step.done: delivered / deferred / bounced.
 *	}
 *
 * Lookups are made lazily: the addresses and TLSA records of the second MX
 * host are only asked for once the first one has failed.
 *
 * Buffer ownership: names in a step point into the plan and stay valid
 * until the next call that changes the plan (the plan itself holds no
 * pointers into itself: it may be moved between calls). The TLSA set of a CONNECT
 * step points into the TLSA dns_answer last fed (not copied, DNS_DATA_MAX
 * bytes): the caller keeps that answer unchanged until it calls
 * mx_plan_host_result() for the host's last address.
 *
 * Cost (Cortex-A15 Thumb-2, -Os): ~5.5 KB code; struct mx_plan ~6 KB
 * (4 KB of it the MX host names), caller-owned, no heap; under 1 KB of
 * stack in mx_plan_feed(). */
#ifndef DANEGATE_MX_H
#define DANEGATE_MX_H

#include <stdbool.h>
#include <stdint.h>

#include "dane/dane.h"
#include "dns/dns.h"
#include "port.h"
#include "relay/policy.h"

/* ---- limits ------------------------------------------------------------ */
#ifndef MX_HOSTS_MAX
#define MX_HOSTS_MAX 16	 /* MX hosts kept, best preferences first; the
			  * rest are dropped (and counted) */
#endif
#ifndef MX_ADDRS_MAX
#define MX_ADDRS_MAX 8	 /* addresses tried per host (AAAA first, then A);
			  * the rest are dropped */
#endif
#ifndef MX_CONNECTS_DEFAULT
#define MX_CONNECTS_DEFAULT 10 /* connection attempts per delivery attempt
				* (clear retries count); then defer */
#endif
#define MX_NAME_SIZE DNS_NAME_TEXT_SIZE
#define MX_REASON_SIZE 384 /* deferral/bounce text; longer text is cut */
#define MX_TLSA_NAME_SIZE (MX_NAME_SIZE + 12) /* "_65535._tcp." + name */

/* ---- errors (negative) ------------------------------------------------- */
enum mx_err {
	MX_OK = 0,
	MX_EINVAL = -22,     /* bad argument */
	MX_ESTATE = -1201,   /* call not expected in this state (feed without
			      * a lookup, result without a connect) */
	MX_EMISMATCH = -1202, /* answer is not for the lookup asked for */
};

/* ---- configuration ------------------------------------------------------ */
struct mx_config {
	bool ipv4;	/* look up A and use IPv4 addresses */
	bool ipv6;	/* look up AAAA and use IPv6 addresses */
	/* rule 14 digest order for dane_select(); NULL = default */
	const struct dane_digest_order *digests;
	/* after this many CONNECT results without delivery, stop and defer
	 * with the best reason so far; 0 = only the host and address tables
	 * bound the work (MX_HOSTS_MAX x MX_ADDRS_MAX) */
	uint8_t max_connects;
};
/* Both families, default digest order, MX_CONNECTS_DEFAULT. */
void mx_config_default(struct mx_config *cfg);

/* ---- what the plan asks of the driver ----------------------------------- */
enum mx_step_kind { MX_STEP_LOOKUP, MX_STEP_CONNECT, MX_STEP_DONE };

enum mx_tls {
	MX_TLS_NONE,	 /* clear text only (policy none, IP literal under
			  * none, or the clear retry after a failed
			  * opportunistic handshake) */
	MX_TLS_MAY,	 /* STARTTLS if offered; on no STARTTLS go on in clear;
			  * on a handshake failure report it (a clear retry
			  * follows) */
	MX_TLS_REQUIRED, /* no STARTTLS -> MX_RESULT_NO_STARTTLS, never clear */
};

enum mx_auth {
	MX_AUTH_NONE,	/* any certificate (encrypt / may / unusable TLSA) */
	MX_AUTH_DANE,	/* dane_verify_session(tlsa, refids) must pass */
	MX_AUTH_WEBPKI, /* policy verify: WebPKI chain + name = refids */
};

struct mx_lookup {
	const char *name; /* in the plan */
	uint16_t type;	  /* DNS_T_MX, DNS_T_A, DNS_T_AAAA, DNS_T_TLSA */
};

struct mx_connect {
	const char *host;	 /* the MX host name (or smarthost, literal) */
	struct port_addr addr;	 /* address and port to connect to */
	bool implicit_tls;	 /* port 465: TLS before the greeting */
	enum mx_tls tls;
	enum mx_auth auth;
	enum policy_level level; /* the effective level, for the log */
	enum dane_outcome dane;	 /* the TLSA outcome (DANE_NONE without a
				  * TLSA lookup) */
	const struct dane_tlsa_set *tlsa; /* usable set (auth DANE), else NULL */
	const char *tlsa_base;	 /* TLSA base domain, NULL without TLSA */
	const char *sni;	 /* server name to send, NULL: none */
	struct dane_refids refids; /* DANE-TA / verify names (rule 16) */
	bool mx_secure;		 /* for dane_classify(): MX RRset (or the
				  * configured / implicit name) secure */
};

enum mx_done_kind {
	MX_DELIVERED, /* a host took the message */
	MX_DEFERRED,  /* try again later */
	MX_BOUNCED,   /* permanent: return to sender */
};

struct mx_done {
	enum mx_done_kind kind;
	const char *status; /* enhanced status code "4.7.5", "5.1.10"; "" when
			     * delivered */
	const char *reason; /* text a postmaster can act on (in the plan) */
};

struct mx_step {
	enum mx_step_kind kind;
	union {
		struct mx_lookup lookup;
		struct mx_connect connect;
		struct mx_done done;
	} u;
};

/* What happened on a CONNECT. */
enum mx_result {
	MX_RESULT_OK,		    /* the message was handed over */
	MX_RESULT_CONN_FAILED,	    /* TCP connect failed / dropped */
	MX_RESULT_NO_STARTTLS,	    /* STARTTLS not offered under MX_TLS_REQUIRED
				     * (under MAY the driver goes on in clear) */
	MX_RESULT_HANDSHAKE_FAILED, /* TLS handshake failed */
	MX_RESULT_NOT_VERIFIED,	    /* DANE or WebPKI authentication failed */
	MX_RESULT_SMTP_FAILED,	    /* session-level temporary failure */
};

/* ---- the plan ----------------------------------------------------------- */
struct mx_host {
	char name[MX_NAME_SIZE];
	uint16_t pref;
};

struct mx_plan {
	struct mx_config cfg;
	struct policy_nexthop nh;
	enum policy_level level;
	uint8_t state;	     /* internal enum, see mx.c */
	uint8_t done_kind;   /* enum mx_done_kind once finished */
	uint32_t rnd;	     /* shuffle state for equal preferences */

	/* MX stage */
	bool mx_secure;
	bool implicit_mx;
	char mx_final[MX_NAME_SIZE]; /* next-hop domain after CNAMEs */
	struct mx_host host[MX_HOSTS_MAX];
	uint8_t n_hosts;
	uint8_t hosts_dropped;	    /* beyond MX_HOSTS_MAX */
	uint8_t cur;		    /* current host index */

	/* current host: addresses and DANE */
	struct port_addr addr[MX_ADDRS_MAX];
	uint8_t n_addr, cur_addr;
	uint8_t addr_answers;	    /* address lookups answered (not failed) */
	uint8_t addr_failed;	    /* address lookups that failed */
	bool addr_secure;	    /* some address RRset secure (rule 7) */
	uint8_t dane_names;	    /* rule 8: TLSA names to try, see mx.c */
	char host_final[MX_NAME_SIZE]; /* host after CNAMEs */
	uint8_t tlsa_cand[2];	    /* TLSA base domain candidates, in order
				     * (which name: see mx.c) */
	uint8_t n_cand, cur_cand;
	char lookup_name[MX_TLSA_NAME_SIZE];
	uint16_t lookup_type;
	enum dane_outcome dane;
	int8_t base_cand;	    /* the candidate chosen, -1: none */
	struct dane_tlsa_set tlsa_usable;
	bool clear_retry;	    /* opportunistic TLS failed: now in clear */
	uint8_t connects;	    /* CONNECT results so far */
	struct mx_connect conn;	    /* the CONNECT being offered */

	/* outcome */
	uint8_t all_denied;	    /* hosts with no address by a denial */
	uint8_t reason_rank;	    /* relevance of reason[] (higher wins) */
	const char *status;
	char reason[MX_REASON_SIZE];
};

/* Starts the plan for next hop nh under the (looked-up) policy level.
 * random seeds the order of MX hosts of equal preference (rule 4). cfg
 * NULL: mx_config_default(). Returns 0 or MX_EINVAL. */
int mx_plan_start(struct mx_plan *p, const struct mx_config *cfg, const struct policy_nexthop *nh,
		  enum policy_level level, uint32_t random);
/* What to do now. Idempotent: calling it twice gives the same step.
 * Returns the step's kind. */
enum mx_step_kind mx_plan_next(struct mx_plan *p, struct mx_step *step);
/* The answer to the step's lookup, as dns_resolve() delivers it
 * (ans->qname / qtype must match the step, case-insensitively; a TLSA
 * answer is referenced, not copied: see the note above; a `partial`
 * answer counts as a lookup failure). Returns 0, MX_ESTATE or
 * MX_EMISMATCH (the plan still waits for its answer). */
int mx_plan_feed(struct mx_plan *p, const struct dns_answer *ans);
/* The result of the CONNECT step; why (may be NULL) is the driver's
 * detail ("Connection refused", the SMTP reply) for the reason text.
 * Returns 0 or MX_ESTATE. */
int mx_plan_host_result(struct mx_plan *p, enum mx_result r, const char *why);

/* Rule 22 for a finished TLS (or clear) session of connection c. */
enum dane_class mx_plan_classify(const struct mx_connect *c, bool tls, bool peer_cert,
				 bool authenticated);

const char *mx_tls_name(enum mx_tls t);		/* "none", "may", "required" */
const char *mx_done_name(enum mx_done_kind k);	/* "delivered", ... */
const char *mx_result_name(enum mx_result r);

#endif
