/* dane — DANE for the SMTP client (RFC 7672, 7671; DANE-RULES.md 11-19, 22):
 * TLSA records and their usability, digest agility, the four outcomes of a
 * TLSA lookup and what each demands, matching of usages 2 and 3 against the
 * peer's mbedTLS chain with DANE-TA chain and reference-name checks, and the
 * log classes. Exports dane_tlsa_*(), dane_select(), dane_outcome_*(),
 * dane_verify_chain(), dane_verify_session(), dane_name_matches(),
 * dane_result_text(), dane_classify(), dane_class_name().
 *
 * Use, per MX host (the SMTP client):
 *   secure TLSA answer -> dane_tlsa_parse_rdata() + dane_tlsa_set_add() for
 *   each record (data stays in the answer buffer) -> dane_select() ->
 *   dane_outcome_demand() says: skip host / TLS required / auth required /
 *   clear allowed. Insecure answer: DANE_NONE; lookup failure:
 *   DANE_LOOKUP_FAILED. For TLS: dane_conf_client() on the client config,
 *   SNI = TLSA base domain; after the handshake dane_verify_session();
 *   a failure with auth_required -> QUIT, defer 4.7.5. Log
 *   dane_class_name(dane_classify(...)) and dane_result_text().
 * Cost: ~5 KB code (Cortex-A15 Thumb-2, -Os); under 1.5 KB of stack of its
 * own plus mbedTLS's chain verification; one parsed anchor certificate on
 * the mbedTLS heap during dane_verify_chain(). */
#ifndef DANEGATE_DANE_H
#define DANEGATE_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

/* ---- limits ----------------------------------------------------------- */
/* Usable records kept per TLSA RRset. Real RRsets hold 1-4; beyond this
 * the extra usable records are counted in `overflow`, not kept, which can
 * only make a peer fail to match (defer), never lower the requirement. */
#define DANE_TLSA_MAX 16
/* Longest certificate association data accepted: a full certificate
 * (`2 0 0`) fits; longer records are treated as malformed (unusable). */
#define DANE_TLSA_DATA_MAX 8192
/* Reference identifiers: TLSA base domain, next-hop domain, its CNAME
 * expansion, one spare. */
#define DANE_REFID_MAX 4
/* Longest DNS name, without the trailing dot (RFC 1035). */
#define DANE_NAME_MAX 253
/* Peer certificates examined for matches; deeper ones are ignored (mbedTLS
 * itself stops chain building after MBEDTLS_X509_MAX_INTERMEDIATE_CA). */
#define DANE_CHAIN_MAX 10
/* Matching types that the digest order can rank (SHA-256, SHA-512). */
#define DANE_DIGEST_MAX 2

/* ---- error codes (negative) and verdict reasons ------------------------ */
enum dane_err {
	DANE_OK = 0,
	DANE_ERR_INVAL = -1,	 /* bad argument */
	DANE_ERR_MALFORMED = -2, /* TLSA RDATA too short or too long */
	DANE_ERR_NOMEM = -3,	 /* mbedTLS could not allocate (arena full) */
	/* Verdicts of dane_verify_chain(), from "got nowhere" to "got
	 * furthest": when several records fail, the furthest one is reported
	 * because it is the one a postmaster can act on. */
	DANE_ERR_NOCERT = -10,	/* the server sent no certificate */
	DANE_ERR_NOMATCH = -11, /* no usable record matched anything */
	DANE_ERR_LEAF_TA = -12, /* only a DANE-TA record matched, and it matched
				 * the leaf itself: not a trust anchor (scen. 22) */
	DANE_ERR_CHAIN = -13,	/* a DANE-TA anchor matched, but the chain from
				 * the leaf to it does not verify */
	DANE_ERR_DATE = -14,	/* ... verifies except for a validity date */
	DANE_ERR_NAME = -15,	/* ... verifies, but the leaf names none of the
				 * reference identifiers */
};

/* ---- TLSA records ------------------------------------------------------- */
enum dane_usage { DANE_USAGE_PKIX_TA = 0, DANE_USAGE_PKIX_EE = 1, DANE_USAGE_DANE_TA = 2,
		  DANE_USAGE_DANE_EE = 3 };
enum dane_selector { DANE_SEL_CERT = 0, DANE_SEL_SPKI = 1 };
enum dane_mtype { DANE_MT_FULL = 0, DANE_MT_SHA256 = 1, DANE_MT_SHA512 = 2 };

/* One TLSA record. data points into caller-owned storage (the DNS answer
 * buffer) that must outlive every use of the record. */
struct dane_tlsa {
	uint8_t usage, selector, mtype;
	uint16_t len;
	const uint8_t *data;
};

/* The records of one secure TLSA RRset. Only usable records (rule 13) are
 * kept; the counters say what else was seen, so that "secure, all
 * unusable" stays distinguishable from "no records". */
struct dane_tlsa_set {
	struct dane_tlsa rr[DANE_TLSA_MAX];
	uint16_t count;	   /* records kept in rr[] */
	uint16_t seen;	   /* records offered, usable or not */
	uint16_t overflow; /* usable records not kept: the set was full */
};

/* Digest agility order, strongest first (rule 14). Matching types not
 * listed here are unusable; Full(0) is always usable. */
struct dane_digest_order {
	uint8_t count;
	uint8_t mtype[DANE_DIGEST_MAX];
};
/* SHA-512 over SHA-256 (RFC 7671 section 9; Postfix's default). */
extern const struct dane_digest_order dane_digest_default;

void dane_tlsa_set_init(struct dane_tlsa_set *set);
/* Rule 13 for one record, digest lengths included. order NULL = default. */
bool dane_tlsa_usable(const struct dane_tlsa *rr, const struct dane_digest_order *order);
/* Add one record of a *secure* RRset (data stays caller-owned). Returns 1
 * if kept, 0 if unusable or the set was full (counted either way), or
 * DANE_ERR_INVAL. order NULL = default. */
int dane_tlsa_set_add(struct dane_tlsa_set *set, const struct dane_tlsa *rr,
		      const struct dane_digest_order *order);
/* Parse TLSA RDATA in wire format (usage, selector, mtype, data) into rr;
 * rr->data then points into rdata. DANE_ERR_MALFORMED when shorter than
 * four bytes or the data exceeds DANE_TLSA_DATA_MAX. */
int dane_tlsa_parse_rdata(const uint8_t *rdata, size_t rdlen, struct dane_tlsa *rr);

/* ---- the four outcomes (rule 11) --------------------------------------- */
enum dane_outcome {
	DANE_LOOKUP_FAILED, /* bogus, SERVFAIL, timeout: skip this host */
	DANE_NONE,	    /* insecure answer or a secure denial: no DANE */
	DANE_UNUSABLE,	    /* secure, nothing usable: TLS, no authentication */
	DANE_USABLE,	    /* secure, usable: TLS and DANE authentication */
};

/* What an outcome demands of the delivery attempt (rules 11, 12). */
struct dane_demand {
	bool skip_host;	    /* try the next MX / defer, do not connect */
	bool tls_required;  /* no STARTTLS -> defer 4.7.4, never clear text */
	bool auth_required; /* not verified -> defer 4.7.5 */
	bool clear_allowed; /* pre-DANE opportunistic: clear text is allowed */
};
const struct dane_demand *dane_outcome_demand(enum dane_outcome o);
const char *dane_outcome_name(enum dane_outcome o);

/* Rules 13 and 14 on a secure RRset: copy into usable the usable records
 * left after digest agility, and say which outcome applies. For an
 * insecure answer or a lookup failure the caller knows the outcome
 * without asking (DANE_NONE, DANE_LOOKUP_FAILED); a secure denial is an
 * empty set here and gives DANE_NONE. order NULL = default. */
enum dane_outcome dane_select(const struct dane_tlsa_set *set, const struct dane_digest_order *order,
			      struct dane_tlsa_set *usable);

/* ---- verification (rules 15-17) ------------------------------------------ */
/* Reference identifiers for DANE-TA (rule 16), ASCII DNS names (A-labels),
 * an optional trailing dot. Caller-owned strings. */
struct dane_refids {
	const char *name[DANE_REFID_MAX];
	uint8_t count;
};

/* Where the anchor of a DANE-TA match came from. */
#define DANE_DEPTH_NONE (-1)

struct dane_result {
	int status;	     /* DANE_OK, or a DANE_ERR_* verdict above */
	int record;	     /* index in the usable set: the match, or the
			      * record that got furthest; -1 */
	uint8_t usage, selector, mtype; /* that record's parameters */
	int depth;	     /* depth in the sent chain of the certificate the
			      * record matched (0 = leaf), DANE_DEPTH_NONE */
	bool anchor_from_dns; /* DANE-TA anchor taken from the TLSA data, not
			       * sent by the server (rule 17); depth then is
			       * the sent certificate it signed */
	int name;	     /* index of the reference identifier the leaf
			      * matched (DANE-TA), -1 */
	int bad_depth;	     /* DANE_ERR_DATE: path depth of the certificate
			      * out of its validity period, else -1 */
	uint32_t x509_flags; /* DANE_ERR_CHAIN / _DATE: mbedTLS verify flags */
	int chain_len;	     /* certificates the server sent (up to the max) */
};

/* Match the server's chain (leaf first, as sent; chain->next links the
 * rest) against the usable set. DANE-EE matches the leaf only, no name or
 * date checks. DANE-TA matches a certificate at depth >= 1 (or a full
 * anchor from DNS), the chain from the leaf to it must verify at time now
 * (Unix seconds; dates of every certificate on the path), and the leaf
 * must name one of names. Pure: no I/O, no clock; uses the mbedTLS heap
 * for a parsed copy of the anchor. Returns res->status. */
int dane_verify_chain(const struct dane_tlsa_set *usable, const mbedtls_x509_crt *chain,
		      const struct dane_refids *names, int64_t now, struct dane_result *res);

/* For a finished client handshake: the session must have been set up with
 * dane_conf_client() (authmode OPTIONAL: mbedTLS keeps the chain, our
 * verdict decides). The peer chain is read from the session. */
int dane_verify_session(const mbedtls_ssl_context *ssl, const struct dane_tlsa_set *usable,
			const struct dane_refids *names, int64_t now, struct dane_result *res);

/* Client side of a DANE session: mbedTLS must not reject a chain that has
 * no WebPKI root (DANE-TA anchors come from DNS, DANE-EE has none), so
 * the TLS layer only records its view and dane_verify_*() decides. TLS 1.2
 * minimum (rule 19). SNI is the TLSA base domain (rule 18): pass it to
 * tls_conn_setup(). */
void dane_conf_client(mbedtls_ssl_config *conf);

/* Does the certificate name pattern (SAN dNSName or CN, not NUL-terminated)
 * cover the reference identifier ref? Case-insensitive ASCII; a wildcard
 * only as the whole left-most label, matching exactly one label, and not
 * directly under a top-level label. */
bool dane_name_matches(const uint8_t *pattern, size_t plen, const char *ref);
/* Rule 16 on the leaf: DNS-ID SANs first, the subject CN only when there
 * is no DNS-ID. Returns the index of the first reference identifier
 * matched, or -1. */
int dane_leaf_name_index(const mbedtls_x509_crt *leaf, const struct dane_refids *names);

/* One line for the log: which record matched at which depth, or why none
 * did, e.g. "TLSA 2 0 1 matched depth 1; leaf names mx.example.net".
 * Truncated to size (NUL-terminated). Returns buf. */
const char *dane_result_text(const struct dane_result *res, const struct dane_refids *names,
			     char *buf, size_t size);

/* ---- log classes (rule 22) -------------------------------------------- */
enum dane_class {
	DANE_CLASS_CLEAR,     /* no TLS */
	DANE_CLASS_ANONYMOUS, /* TLS, the server sent no certificate */
	DANE_CLASS_UNTRUSTED, /* TLS, certificate not authenticated */
	DANE_CLASS_TRUSTED,   /* DANE match via an insecure MX, or WebPKI */
	DANE_CLASS_VERIFIED,  /* DANE match via a secure MX */
};
enum dane_auth { DANE_AUTH_NONE, DANE_AUTH_DANE, DANE_AUTH_WEBPKI };
/* mx_secure: the MX RRset (or the smarthost / implicit-MX name) was
 * DNSSEC-secure. */
enum dane_class dane_classify(bool tls, bool peer_cert, enum dane_auth auth, bool mx_secure);
/* "Verified", "Trusted", "Untrusted", "Anonymous", "Cleartext". */
const char *dane_class_name(enum dane_class c);

#endif
