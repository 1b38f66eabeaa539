/* mx — the outbound delivery plan as a sans-I/O state machine: MX, address
 * and TLSA answers in, connection plans and a final verdict out (DANE-RULES
 * 2-12, 16, 18, 20-23). One enum of states, one enter function per state;
 * the DANE outcome of each host maps to a policy through one table.
 *
 * Level x TLSA outcome -> what a CONNECT demands (rules 11, 12, 20):
 *
 *   level      no TLSA lookup / DANE_NONE   UNUSABLE        USABLE
 *   none       clear only                   (not looked up)
 *   may        TLS if offered, else clear   (not looked up)
 *   encrypt    TLS required                 (not looked up)
 *   verify     TLS + WebPKI, name = host    (not looked up)
 *   dane       TLS if offered, else clear   TLS required    TLS + DANE auth
 *   dane-only  skip host                    skip host       TLS + DANE auth
 *   (LOOKUP_FAILED: skip host under dane and dane-only)
 *
 * An insecure MX RRset does not stop the TLSA lookup: a secure TLSA RRset
 * at the host still commits it (rule 12); the MX status only decides the
 * log class (Verified / Trusted, rule 6) and whether the next-hop domain
 * is a reference identifier (rule 16) — and defers under dane-only. */
#include "relay/mx.h"

#include <stdio.h>
#include <string.h>

enum mx_state {
	ST_MX,	    /* waiting for the next hop's MX answer */
	ST_AAAA,    /* waiting for the current host's AAAA answer */
	ST_A,	    /* ... its A answer */
	ST_TLSA,    /* ... the TLSA answer at candidate tlsa_cand[cur_cand] */
	ST_CONNECT, /* offering addr[cur_addr] under conn */
	ST_DONE,
};

/* Rule 8: which TLSA base domains a host offers, from its address answers. */
enum dane_names {
	NAMES_NONE,	   /* address insecure or first CNAME insecure: no DANE */
	NAMES_HOST,	   /* the host name only */
	NAMES_FINAL_HOST,  /* secure CNAME chain: the expansion, then the host */
};

/* TLSA base domain candidates, kept as which-name (not pointers) so the
 * plan holds no pointers into itself and may be moved between steps. */
enum cand { CAND_FINAL, CAND_HOST };

/* How relevant a deferral reason is: the highest one seen is reported
 * (first one wins on a tie, i.e. the most preferred host). Security
 * failures outrank plumbing, since they are what a postmaster must fix. */
enum rank {
	RANK_NONE,
	RANK_NO_ADDR,	   /* host has no address (denial) */
	RANK_ADDR_FAIL,	   /* address lookup failed */
	RANK_CONN,	   /* connect / session failure */
	RANK_POLICY,	   /* dane-only found nothing usable */
	RANK_TLSA_FAIL,	   /* TLSA lookup failed */
	RANK_HANDSHAKE,	   /* TLS handshake failed */
	RANK_NO_STARTTLS,  /* TLS required, not offered */
	RANK_NOT_VERIFIED, /* authentication failed */
};

/* ---- small helpers ------------------------------------------------------ */

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive name equality, a trailing dot ignored. */
static bool name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static void copy_name(char *dst, const char *src)
{
	size_t n = dns_text_len(src, MX_NAME_SIZE - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t rnd_next(struct mx_plan *p)
{
	/* xorshift32: only an order among equals, no secrecy needed */
	uint32_t x = p->rnd;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	p->rnd = x;
	return x;
}

static const char *type_name(uint16_t t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TLSA:
		return "TLSA";
	}
	return "?";
}

/* Keeps reason text when it is more relevant than what is kept. */
static void note(struct mx_plan *p, enum rank r, const char *status, const char *fmt, const char *a,
		 const char *b, const char *c)
{
	if ((uint8_t)r <= p->reason_rank)
		return;
	p->reason_rank = (uint8_t)r;
	p->status = status;
	if (snprintf(p->reason, sizeof(p->reason), fmt, a ? a : "", b ? b : "", c ? c : "") < 0)
		p->reason[0] = '\0';
}

static void finish(struct mx_plan *p, enum mx_done_kind k, const char *status, const char *fmt,
		   const char *a, const char *b)
{
	p->state = ST_DONE;
	p->done_kind = (uint8_t)k;
	p->status = status;
	if (fmt && snprintf(p->reason, sizeof(p->reason), fmt, a ? a : "", b ? b : "") < 0)
		p->reason[0] = '\0';
}

static bool level_looks_up_tlsa(enum policy_level l)
{
	return l == POLICY_DANE || l == POLICY_DANE_ONLY;
}

/* "host[addr]:port" for reasons. */
static const char *where(const struct mx_plan *p, char *buf, size_t size)
{
	char a[PORT_ADDR_TEXT_MAX];
	snprintf(buf, size, "%s[%s]:%u", p->host[p->cur].name,
		 port_addr_format(&p->addr[p->cur_addr], false, a, sizeof(a)), (unsigned)p->nh.port);
	return buf;
}

/* ---- states --------------------------------------------------------------- */

static void enter_host(struct mx_plan *p, uint8_t i);

static const char *cand_name(const struct mx_plan *p, uint8_t c)
{
	return c == CAND_FINAL ? p->host_final : p->host[p->cur].name;
}

/* The TLSA base domain chosen for the current host, NULL without one. */
static const char *base_name(const struct mx_plan *p)
{
	return p->base_cand < 0 ? NULL : cand_name(p, (uint8_t)p->base_cand);
}

static void enter_exhausted(struct mx_plan *p)
{
	if (p->n_hosts > 0 && p->all_denied == p->n_hosts && p->cfg.ipv4 && p->cfg.ipv6) {
		/* DNS said, definitively, that no host has an address (with a
		 * family switched off, the other might have one: defer) */
		if (p->implicit_mx)
			finish(p, MX_BOUNCED, "5.4.4",
			       "Host or domain name not found: %s has no MX and no address records",
			       p->nh.host, NULL);
		else
			finish(p, MX_BOUNCED, "5.4.4", "no MX host for %s has an address record",
			       p->nh.host, NULL);
		return;
	}
	if (p->reason_rank == RANK_NONE)
		finish(p, MX_DEFERRED, "4.4.4", "no usable host for %s", p->nh.host, NULL);
	else
		finish(p, MX_DEFERRED, p->status, NULL, NULL, NULL);
}

/* Returns false when prefix + name does not fit (never for names from
 * DNS: MX_TLSA_NAME_SIZE holds the longest, but a cut name must never be
 * asked). */
static bool enter_lookup(struct mx_plan *p, enum mx_state st, const char *prefix, const char *name,
			 uint16_t type)
{
	p->state = (uint8_t)st;
	p->lookup_type = type;
	int n = snprintf(p->lookup_name, sizeof(p->lookup_name), "%s%s", prefix, name);
	return n > 0 && (size_t)n < sizeof(p->lookup_name);
}

static void host_dane_decided(struct mx_plan *p);

static void enter_tlsa(struct mx_plan *p)
{
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "_%u._tcp.", (unsigned)p->nh.port);
	if (!enter_lookup(p, ST_TLSA, prefix, cand_name(p, p->tlsa_cand[p->cur_cand]), DNS_T_TLSA)) {
		p->dane = DANE_LOOKUP_FAILED;
		host_dane_decided(p);
	}
}

static void enter_connect(struct mx_plan *p)
{
	p->state = ST_CONNECT;
	p->cur_addr = 0;
	p->clear_retry = false;
}

/* The host's addresses are in: decide whether DANE can apply (rule 7) and
 * go on to TLSA or straight to connecting. */
static void enter_addrs_done(struct mx_plan *p)
{
	struct mx_host *h = &p->host[p->cur];
	if (p->n_addr == 0) {
		if (p->addr_failed == 0) {
			p->all_denied++;
			note(p, RANK_NO_ADDR, "4.4.4", "Host or domain name not found: no address for %s",
			     h->name, NULL, NULL);
		}
		enter_host(p, (uint8_t)(p->cur + 1));
		return;
	}
	if (!level_looks_up_tlsa(p->level) || p->dane_names == NAMES_NONE) {
		p->dane = DANE_NONE;
		if (p->level == POLICY_DANE_ONLY) {
			note(p, RANK_POLICY, "4.7.5",
			     "no DNSSEC-validated address records for %s: no DANE (policy dane-only)",
			     h->name, NULL, NULL);
			enter_host(p, (uint8_t)(p->cur + 1));
			return;
		}
		enter_connect(p);
		return;
	}
	p->n_cand = 0;
	p->cur_cand = 0;
	if (p->dane_names == NAMES_FINAL_HOST && !name_eq(p->host_final, h->name))
		p->tlsa_cand[p->n_cand++] = CAND_FINAL;
	p->tlsa_cand[p->n_cand++] = CAND_HOST;
	enter_tlsa(p);
}

static void enter_host(struct mx_plan *p, uint8_t i)
{
	p->cur = i;
	if (i >= p->n_hosts) {
		enter_exhausted(p);
		return;
	}
	p->n_addr = 0;
	p->cur_addr = 0;
	p->addr_answers = 0;
	p->addr_failed = 0;
	p->addr_secure = false;
	p->dane_names = NAMES_NONE;
	p->host_final[0] = '\0';
	p->n_cand = p->cur_cand = 0;
	p->dane = DANE_NONE;
	p->base_cand = -1;
	dane_tlsa_set_init(&p->tlsa_usable);
	p->clear_retry = false;
	if (p->nh.ip_literal) {
		/* the address is the name (rule 21: no DNS, no DANE) */
		struct port_addr a;
		if (port_addr_parse(p->nh.host, &a) == 0 &&
		    ((a.family == PORT_AF_INET && p->cfg.ipv4) ||
		     (a.family == PORT_AF_INET6 && p->cfg.ipv6))) {
			a.port = p->nh.port;
			p->addr[p->n_addr++] = a;
		} else {
			p->addr_failed = 1;
			note(p, RANK_ADDR_FAIL, "4.4.4", "no usable address in [%s]", p->nh.host, NULL,
			     NULL);
		}
		enter_addrs_done(p);
		return;
	}
	if (p->cfg.ipv6)
		(void)enter_lookup(p, ST_AAAA, "", p->host[i].name, DNS_T_AAAA);
	else
		(void)enter_lookup(p, ST_A, "", p->host[i].name, DNS_T_A);
}

/* ---- feeding answers ------------------------------------------------------ */

/* The plan expects dns_resolve() results. A chain the resolver left
 * unfinished (partial, only seen by dns_parse_answer() callers) tells
 * nothing definite: treated as a lookup failure, never as a denial. */
static enum dns_status status_of(const struct dns_answer *ans)
{
	return ans->partial ? DNS_FAIL : ans->status;
}

struct mx_cand {
	uint16_t pref;
	const char *name;
};

static void feed_mx(struct mx_plan *p, const struct dns_answer *ans)
{
	const char *dom = p->nh.host;
	enum dns_status st = status_of(ans);
	if (st == DNS_FAIL) {
		/* rule 2: without the MX set we cannot know where to go */
		finish(p, MX_DEFERRED, "4.4.3", "MX lookup failed for %s: %s", dom,
		       ans->reason && ans->reason[0] ? ans->reason : "lookup failure");
		return;
	}
	if (st == DNS_SECURE_NXDOMAIN || st == DNS_INSECURE_NXDOMAIN) {
		finish(p, MX_BOUNCED, "5.1.2", "Host or domain name not found: domain %s not found%s",
		       dom, ans->cname_count ? " (CNAME target)" : "");
		return;
	}
	copy_name(p->mx_final, ans->final_name[0] ? ans->final_name : dom);
	struct mx_cand c[DNS_RR_MAX];
	unsigned n = 0, nulls = 0;
	if (st == DNS_SECURE || st == DNS_INSECURE) {
		p->mx_secure = st == DNS_SECURE;
		for (unsigned i = 0; i < ans->n_rr && i < DNS_RR_MAX; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			if (rr->type != DNS_T_MX)
				continue;
			const char *name = dns_answer_text(ans, rr->u.mx.name);
			if (name[0] == '\0' || strcmp(name, ".") == 0) {
				nulls++; /* RFC 7505 null MX: not a host */
				continue;
			}
			c[n].pref = rr->u.mx.pref;
			c[n].name = name;
			n++;
		}
		if (nulls > 0 && n == 0) {
			finish(p, MX_BOUNCED, "5.1.10",
			       "Recipient address rejected: domain %s does not accept mail (null MX)", dom,
			       NULL);
			return;
		}
	} else {
		/* NODATA: RFC 5321 §5.1 implicit MX, the domain itself */
		p->mx_secure = st == DNS_SECURE_NODATA;
		p->implicit_mx = true;
	}
	if (p->level == POLICY_DANE_ONLY && !p->mx_secure) {
		/* rule 6: dane-only needs DNSSEC all the way */
		finish(p, MX_DEFERRED, "4.7.5",
		       "MX lookup for %s is not DNSSEC-validated: no DANE (policy dane-only)", dom, NULL);
		return;
	}
	if (p->implicit_mx) {
		copy_name(p->host[0].name, dom);
		p->host[0].pref = 0;
		p->n_hosts = 1;
		enter_host(p, 0);
		return;
	}
	/* rule 4: by preference only (stable insertion sort), equals shuffled
	 * with the caller's random value; TLSA never changes the order */
	for (unsigned i = 1; i < n; i++) {
		struct mx_cand t = c[i];
		unsigned j = i;
		while (j > 0 && c[j - 1].pref > t.pref) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = t;
	}
	for (unsigned s = 0; s < n;) {
		unsigned e = s;
		while (e < n && c[e].pref == c[s].pref)
			e++;
		for (unsigned i = e - 1; i > s; i--) { /* Fisher-Yates in [s, e) */
			unsigned j = s + rnd_next(p) % (i - s + 1);
			struct mx_cand t = c[i];
			c[i] = c[j];
			c[j] = t;
		}
		s = e;
	}
	p->n_hosts = 0;
	p->hosts_dropped = 0;
	for (unsigned i = 0; i < n; i++) {
		bool dup = false;
		for (unsigned k = 0; k < p->n_hosts && !dup; k++)
			dup = name_eq(p->host[k].name, c[i].name);
		if (dup)
			continue; /* the better preference is already listed */
		if (p->n_hosts >= MX_HOSTS_MAX) {
			p->hosts_dropped++;
			continue;
		}
		copy_name(p->host[p->n_hosts].name, c[i].name);
		p->host[p->n_hosts].pref = c[i].pref;
		p->n_hosts++;
	}
	enter_host(p, 0);
}

static void feed_addr(struct mx_plan *p, const struct dns_answer *ans)
{
	struct mx_host *h = &p->host[p->cur];
	if (status_of(ans) == DNS_FAIL) {
		/* rule 2: this host only */
		p->addr_failed++;
		char why[96];
		snprintf(why, sizeof(why), "%s", ans->reason && ans->reason[0] ? ans->reason : "lookup failure");
		note(p, RANK_ADDR_FAIL, "4.4.3",
		     "Host or domain name not found. Name service error for name=%s type=%s: %s",
		     h->name, type_name(ans->qtype), why);
	} else {
		p->addr_answers++;
		unsigned got = 0;
		for (unsigned i = 0; i < ans->n_rr && i < DNS_RR_MAX; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			if (rr->type != ans->qtype || p->n_addr >= MX_ADDRS_MAX)
				continue;
			struct port_addr *a = &p->addr[p->n_addr];
			memset(a, 0, sizeof(*a));
			if (rr->type == DNS_T_AAAA) {
				a->family = PORT_AF_INET6;
				memcpy(a->ip, rr->u.aaaa, 16);
			} else {
				a->family = PORT_AF_INET;
				memcpy(a->ip, rr->u.a, 4);
			}
			a->port = p->nh.port;
			p->n_addr++;
			got++;
		}
		if (got > 0) {
			/* Rules 7 and 8. A and AAAA share an owner and a zone,
			 * so mixed status means a stripped signature somewhere:
			 * any secure view lets DANE apply (never lowers it). */
			uint8_t names = NAMES_NONE;
			if (ans->cname_count == 0)
				names = ans->status == DNS_SECURE ? NAMES_HOST : NAMES_NONE;
			else if (ans->status == DNS_SECURE)
				names = NAMES_FINAL_HOST;
			else if (ans->cname_secure_first)
				names = NAMES_HOST;
			if (ans->status == DNS_SECURE)
				p->addr_secure = true;
			if (names > p->dane_names) {
				p->dane_names = names;
				if (names == NAMES_FINAL_HOST)
					copy_name(p->host_final, ans->final_name);
			}
		}
	}
	if (p->state == ST_AAAA && p->cfg.ipv4)
		(void)enter_lookup(p, ST_A, "", h->name, DNS_T_A);
	else
		enter_addrs_done(p);
}

/* Rule 11 x rule 20: the DANE outcome of a host under a DANE level. */
static void host_dane_decided(struct mx_plan *p)
{
	struct mx_host *h = &p->host[p->cur];
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)p->nh.port);
	if (p->dane == DANE_LOOKUP_FAILED) {
		/* rule 3 */
		note(p, RANK_TLSA_FAIL, "4.7.5", "TLSA lookup error for %s:%s%s", h->name, port, NULL);
		enter_host(p, (uint8_t)(p->cur + 1));
		return;
	}
	if (p->level == POLICY_DANE_ONLY && p->dane != DANE_USABLE) {
		note(p, RANK_POLICY, "4.7.5", "%s for %s:%s (policy dane-only)",
		     p->dane == DANE_UNUSABLE ? "no usable TLSA records" : "no DNSSEC-validated TLSA records",
		     h->name, port);
		enter_host(p, (uint8_t)(p->cur + 1));
		return;
	}
	enter_connect(p);
}

static void feed_tlsa(struct mx_plan *p, const struct dns_answer *ans)
{
	if (status_of(ans) == DNS_FAIL) {
		p->dane = DANE_LOOKUP_FAILED;
		host_dane_decided(p);
		return;
	}
	if (ans->status == DNS_SECURE && ans->n_rr > 0) {
		/* rule 10: a CNAME at the TLSA name was followed by the
		 * resolver; the base domain stays the candidate */
		struct dane_tlsa_set all;
		dane_tlsa_set_init(&all);
		for (unsigned i = 0; i < ans->n_rr && i < DNS_RR_MAX; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			if (rr->type != DNS_T_TLSA)
				continue;
			struct dane_tlsa t = { rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype,
					       rr->u.tlsa.len, ans->data + rr->u.tlsa.off };
			if (rr->u.tlsa.len > DANE_TLSA_DATA_MAX ||
			    (uint32_t)rr->u.tlsa.off + rr->u.tlsa.len > ans->data_len) {
				all.seen++; /* malformed: unusable, but seen */
				continue;
			}
			(void)dane_tlsa_set_add(&all, &t, p->cfg.digests);
		}
		p->dane = dane_select(&all, p->cfg.digests, &p->tlsa_usable);
		if (p->dane != DANE_NONE) {
			p->base_cand = (int8_t)p->tlsa_cand[p->cur_cand];
			host_dane_decided(p);
			return;
		}
	}
	/* secure denial or insecure: the next candidate name (rule 8), else
	 * no DANE for this host */
	if (p->cur_cand + 1 < p->n_cand) {
		p->cur_cand++;
		enter_tlsa(p);
		return;
	}
	p->dane = DANE_NONE;
	p->base_cand = -1;
	dane_tlsa_set_init(&p->tlsa_usable);
	host_dane_decided(p);
}

/* ---- the connection plan ------------------------------------------------- */

static void refid_add(struct dane_refids *r, const char *name)
{
	if (!name || !name[0] || r->count >= DANE_REFID_MAX)
		return;
	for (unsigned i = 0; i < r->count; i++)
		if (name_eq(r->name[i], name))
			return;
	r->name[r->count++] = name;
}

static void build_connect(struct mx_plan *p)
{
	struct mx_connect *c = &p->conn;
	struct mx_host *h = &p->host[p->cur];
	memset(c, 0, sizeof(*c));
	c->host = h->name;
	c->addr = p->addr[p->cur_addr];
	c->implicit_tls = p->nh.implicit_tls;
	c->level = p->level;
	c->dane = p->dane;
	c->mx_secure = p->mx_secure;
	switch (p->level) {
	case POLICY_NONE:
		c->tls = MX_TLS_NONE;
		break;
	case POLICY_MAY:
		c->tls = MX_TLS_MAY;
		break;
	case POLICY_ENCRYPT:
		c->tls = MX_TLS_REQUIRED;
		break;
	case POLICY_VERIFY:
		c->tls = MX_TLS_REQUIRED;
		c->auth = MX_AUTH_WEBPKI;
		c->sni = h->name;
		refid_add(&c->refids, h->name);
		break;
	case POLICY_DANE:
	case POLICY_DANE_ONLY: {
		/* the Postfix-style table: outcome -> demand (rules 11, 12) */
		const struct dane_demand *d = dane_outcome_demand(p->dane);
		c->tls = d->tls_required ? MX_TLS_REQUIRED : MX_TLS_MAY;
		if (d->auth_required) {
			c->auth = MX_AUTH_DANE;
			c->tlsa = &p->tlsa_usable;
		}
		const char *base = base_name(p);
		if (base) {
			c->tlsa_base = base;
			c->sni = base; /* rule 18 */
		}
		if (c->auth == MX_AUTH_DANE) {
			/* rule 16 */
			refid_add(&c->refids, base);
			if (p->mx_secure && !p->nh.no_mx) {
				refid_add(&c->refids, p->nh.host);
				refid_add(&c->refids, p->mx_final);
			}
		}
		break;
	}
	}
	if (p->clear_retry)
		c->tls = MX_TLS_NONE;
	/* an implicit-TLS port has no clear text to fall back to */
	if (c->implicit_tls && c->tls == MX_TLS_MAY)
		c->tls = MX_TLS_REQUIRED;
}

/* ---- API ------------------------------------------------------------------ */

void mx_config_default(struct mx_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ipv4 = true;
	cfg->ipv6 = true;
	cfg->max_connects = MX_CONNECTS_DEFAULT;
}

int mx_plan_start(struct mx_plan *p, const struct mx_config *cfg, const struct policy_nexthop *nh,
		  enum policy_level level, uint32_t random)
{
	if (!p || !nh || !nh->host[0] || nh->port == 0 || (unsigned)level > POLICY_VERIFY ||
	    !memchr(nh->host, '\0', sizeof(nh->host)))
		return MX_EINVAL;
	memset(p, 0, sizeof(*p));
	if (cfg)
		p->cfg = *cfg;
	else
		mx_config_default(&p->cfg);
	if (!p->cfg.ipv4 && !p->cfg.ipv6)
		return MX_EINVAL;
	p->nh = *nh;
	p->nh.no_mx = nh->no_mx || nh->ip_literal;
	p->level = level;
	p->rnd = random ? random : 0x9e3779b9u;
	p->reason[0] = '\0';
	p->status = "";
	if (p->nh.ip_literal && level_looks_up_tlsa(level)) {
		/* rule 21: no DANE for an address */
		if (level == POLICY_DANE_ONLY) {
			finish(p, MX_DEFERRED, "4.7.5",
			       "[%s] is an IP-literal destination: no DANE (policy dane-only)", p->nh.host,
			       NULL);
			return 0;
		}
		p->level = POLICY_MAY;
	}
	if (p->nh.no_mx) {
		/* a configured name (or literal) is trusted like a secure MX */
		p->mx_secure = true;
		copy_name(p->host[0].name, p->nh.host);
		copy_name(p->mx_final, p->nh.host);
		p->n_hosts = 1;
		enter_host(p, 0);
		return 0;
	}
	(void)enter_lookup(p, ST_MX, "", p->nh.host, DNS_T_MX);
	return 0;
}

enum mx_step_kind mx_plan_next(struct mx_plan *p, struct mx_step *step)
{
	memset(step, 0, sizeof(*step));
	switch ((enum mx_state)p->state) {
	case ST_MX:
	case ST_AAAA:
	case ST_A:
	case ST_TLSA:
		step->kind = MX_STEP_LOOKUP;
		step->u.lookup.name = p->lookup_name;
		step->u.lookup.type = p->lookup_type;
		break;
	case ST_CONNECT:
		build_connect(p);
		step->kind = MX_STEP_CONNECT;
		step->u.connect = p->conn;
		break;
	case ST_DONE:
		step->kind = MX_STEP_DONE;
		step->u.done.kind = (enum mx_done_kind)p->done_kind;
		step->u.done.status = p->status ? p->status : "";
		step->u.done.reason = p->reason;
		break;
	}
	return step->kind;
}

int mx_plan_feed(struct mx_plan *p, const struct dns_answer *ans)
{
	if (!p || !ans)
		return MX_EINVAL;
	enum mx_state st = (enum mx_state)p->state;
	if (st != ST_MX && st != ST_AAAA && st != ST_A && st != ST_TLSA)
		return MX_ESTATE;
	if (ans->qtype != p->lookup_type || !name_eq(ans->qname, p->lookup_name))
		return MX_EMISMATCH;
	switch (st) {
	case ST_MX:
		feed_mx(p, ans);
		break;
	case ST_AAAA:
	case ST_A:
		feed_addr(p, ans);
		break;
	default:
		feed_tlsa(p, ans);
		break;
	}
	return 0;
}

int mx_plan_host_result(struct mx_plan *p, enum mx_result r, const char *why)
{
	if (!p)
		return MX_EINVAL;
	if (p->state != ST_CONNECT)
		return MX_ESTATE;
	if (p->connects < UINT8_MAX)
		p->connects++;
	if (r == MX_RESULT_OK) {
		finish(p, MX_DELIVERED, "", "delivered via %s", p->host[p->cur].name, NULL);
		return 0;
	}
	char w[MX_NAME_SIZE + PORT_ADDR_TEXT_MAX + 8];
	where(p, w, sizeof(w));
	const char *d = why && why[0] ? why : NULL;
	enum mx_tls tls = p->conn.tls;
	switch (r) {
	case MX_RESULT_HANDSHAKE_FAILED:
		if (tls == MX_TLS_MAY && !p->clear_retry &&
		    !(p->cfg.max_connects && p->connects >= p->cfg.max_connects)) {
			/* rule 11: pre-DANE opportunistic TLS may retry in clear */
			p->clear_retry = true;
			return 0;
		}
		note(p, RANK_HANDSHAKE, "4.7.5", "Cannot start TLS with %s: handshake failed%s%s", w,
		     d ? ": " : "", d);
		break;
	case MX_RESULT_NO_STARTTLS:
		if (tls != MX_TLS_REQUIRED) {
			/* the driver should have gone on in clear text */
			note(p, RANK_CONN, "4.4.2", "delivery to %s failed: STARTTLS not offered%s%s", w,
			     d ? ": " : "", d);
			break;
		}
		note(p, RANK_NO_STARTTLS, "4.7.4", "TLS is required, but was not offered by host %s%s%s",
		     w, d ? ": " : "", d);
		break;
	case MX_RESULT_NOT_VERIFIED:
		note(p, RANK_NOT_VERIFIED, "4.7.5", "Server certificate not verified: %s%s%s", w,
		     d ? ": " : "", d);
		break;
	case MX_RESULT_SMTP_FAILED:
		note(p, RANK_CONN, "4.4.2", "delivery to %s failed%s%s", w, d ? ": " : "", d);
		break;
	case MX_RESULT_CONN_FAILED:
	default:
		note(p, RANK_CONN, "4.4.1", "connect to %s failed%s%s", w, d ? ": " : "", d);
		break;
	}
	p->clear_retry = false;
	if (p->cfg.max_connects && p->connects >= p->cfg.max_connects) {
		/* bounded work per delivery attempt: the queue retries later */
		enter_exhausted(p);
		return 0;
	}
	if (++p->cur_addr >= p->n_addr)
		enter_host(p, (uint8_t)(p->cur + 1));
	return 0;
}

enum dane_class mx_plan_classify(const struct mx_connect *c, bool tls, bool peer_cert,
				 bool authenticated)
{
	enum dane_auth a = DANE_AUTH_NONE;
	if (authenticated && c->auth == MX_AUTH_DANE)
		a = DANE_AUTH_DANE;
	else if (authenticated && c->auth == MX_AUTH_WEBPKI)
		a = DANE_AUTH_WEBPKI;
	return dane_classify(tls, peer_cert, a, c->mx_secure);
}

const char *mx_tls_name(enum mx_tls t)
{
	switch (t) {
	case MX_TLS_NONE:
		return "none";
	case MX_TLS_MAY:
		return "may";
	case MX_TLS_REQUIRED:
		return "required";
	}
	return "?";
}

const char *mx_done_name(enum mx_done_kind k)
{
	switch (k) {
	case MX_DELIVERED:
		return "delivered";
	case MX_DEFERRED:
		return "deferred";
	case MX_BOUNCED:
		return "bounced";
	}
	return "?";
}

const char *mx_result_name(enum mx_result r)
{
	switch (r) {
	case MX_RESULT_OK:
		return "ok";
	case MX_RESULT_CONN_FAILED:
		return "connection failed";
	case MX_RESULT_NO_STARTTLS:
		return "no STARTTLS";
	case MX_RESULT_HANDSHAKE_FAILED:
		return "handshake failed";
	case MX_RESULT_NOT_VERIFIED:
		return "not verified";
	case MX_RESULT_SMTP_FAILED:
		return "SMTP failure";
	}
	return "?";
}
