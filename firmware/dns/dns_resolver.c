/* dns_resolver — the stub resolver's I/O driver on port.h: up to
 * DNS_OUTSTANDING_MAX lookups, each over a fresh UDP socket (random source
 * port) with a random ID, TCP after truncation, timeouts, retries and
 * failover across the configured resolvers, CNAME chains that cross
 * responses, the cache, and the validation probe.
 * Exports dns_resolver_*, dns_resolve, dns_cancel, dns_probe_validation. */
#include "dns/dns.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"

/* ---- small helpers -------------------------------------------------------- */

const char *dns_validation_name(enum dns_validation v)
{
	switch (v) {
	case DNS_VALIDATION_UNKNOWN: return "unknown";
	case DNS_VALIDATING: return "validating";
	case DNS_NOT_VALIDATING: return "NOT validating";
	case DNS_UNREACHABLE: return "unreachable";
	}
	return "?";
}

static void copy_text(char *dst, const char *src, size_t size)
{
	size_t n = dns_text_len(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool same_addr(const struct port_addr *a, const struct port_addr *b)
{
	size_t n = a->family == PORT_AF_INET ? 4 : 16;
	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, n);
}

static const struct port_addr *server_of(const struct dns_slot *s)
{
	return &s->r->cfg.servers[s->server];
}

static int handle_of(const struct dns_slot *s)
{
	return (int)((unsigned)(s->gen & 0x7f) << 8 | (unsigned)(s - s->r->slot));
}

static void close_sock(struct dns_slot *s)
{
	if (s->sock >= 0)
		port_close(s->sock);
	s->sock = -1;
}

/* The one place a slot changes state, with what each state needs on entry.
 * FREE -> (CACHED | UDP | TCP_CONNECT | FAILED); UDP -> TCP_CONNECT after
 * TC; TCP_CONNECT -> TCP_SEND -> TCP_RECV; any -> UDP/TCP_CONNECT for the
 * next attempt; any -> FREE when done or cancelled. */
static void slot_enter(struct dns_slot *s, enum dns_slot_state st)
{
	switch (st) {
	case DNS_SLOT_FREE:
		close_sock(s);
		s->gen++;	/* outstanding handles go stale */
		break;
	case DNS_SLOT_FAILED:
		close_sock(s);	/* fail_reason says why, at the next tick */
		break;
	case DNS_SLOT_TCP_CONNECT:
	case DNS_SLOT_TCP_SEND:
	case DNS_SLOT_TCP_RECV:
		s->tcp_off = 0;
		s->tcp_need = 0;
		break;
	case DNS_SLOT_CACHED:
	case DNS_SLOT_UDP:
		break;
	}
	s->state = st;
}

/* ---- configuration ---------------------------------------------------------- */

void dns_resolver_config_default(struct dns_resolver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->servers[0].family = PORT_AF_INET;
	cfg->servers[0].ip[0] = 127;
	cfg->servers[0].ip[3] = 1;
	cfg->servers[0].port = 53;
	cfg->n_servers = 1;
	cfg->rounds = 2;
	cfg->timeout_ms = 2000;
	copy_text(cfg->probe_name, ".", sizeof(cfg->probe_name));
	cfg->probe_type = DNS_T_DNSKEY;
	cfg->cache.max_ttl = 86400;
	cfg->cache.neg_max_ttl = 3600;
	cfg->cache.fail_ttl = 5;
}

/* One "addr", "addr:port", "[v6]" or "[v6]:port" of len bytes. */
static int parse_server(const char *t, size_t len, struct port_addr *out)
{
	char ip[48];
	const char *ip_start = t, *port = NULL;
	size_t ip_len = len;
	if (t[0] == '[') {
		const char *close = memchr(t, ']', len);
		if (!close)
			return DNS_EINVAL;
		ip_start = t + 1;
		ip_len = (size_t)(close - ip_start);
		if (close + 1 < t + len) {
			if (close[1] != ':')
				return DNS_EINVAL;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(t, ':', len);
		/* one colon: IPv4 with a port; more: a bare IPv6 address */
		if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - t) - 1)) {
			ip_len = (size_t)(colon - t);
			port = colon + 1;
		}
	}
	if (ip_len == 0 || ip_len >= sizeof(ip))
		return DNS_EINVAL;
	memcpy(ip, ip_start, ip_len);
	ip[ip_len] = '\0';
	if (port_addr_parse(ip, out) != 0)
		return DNS_EINVAL;
	out->port = 53;
	if (port) {
		unsigned v = 0;
		const char *end = t + len;
		if (port == end)
			return DNS_EINVAL;
		for (const char *p = port; p < end; p++) {
			if (*p < '0' || *p > '9' || v > 6553)
				return DNS_EINVAL;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return DNS_EINVAL;
		out->port = (uint16_t)v;
	}
	return 0;
}

int dns_resolver_config_servers(struct dns_resolver_config *cfg, const char *list)
{
	struct port_addr got[DNS_SERVERS_MAX];
	int n = 0;
	if (!cfg || !list)
		return DNS_EINVAL;
	const char *p = list;
	while (1) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t len = 0;
		while (p[len] && p[len] != ' ' && p[len] != ',' && p[len] != '\t')
			len++;
		if (n == DNS_SERVERS_MAX)
			return DNS_ENOSPC;
		if (parse_server(p, len, &got[n]) != 0)
			return DNS_EINVAL;
		n++;
		p += len;
	}
	if (n == 0)
		return DNS_EINVAL;
	memcpy(cfg->servers, got, sizeof(got[0]) * (size_t)n);
	cfg->n_servers = (uint8_t)n;
	return n;
}

int dns_resolver_init(struct dns_resolver *r, const struct dns_resolver_config *cfg)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	if (!r || !cfg || cfg->n_servers == 0 || cfg->n_servers > DNS_SERVERS_MAX ||
	    cfg->rounds == 0 || cfg->timeout_ms == 0 || cfg->probe_type == 0 ||
	    dns_name_to_wire(cfg->probe_name, wire, sizeof(wire)) < 0)
		return DNS_EINVAL;
	for (unsigned i = 0; i < cfg->n_servers; i++) {
		uint8_t f = cfg->servers[i].family;
		if ((f != PORT_AF_INET && f != PORT_AF_INET6) || cfg->servers[i].port == 0)
			return DNS_EINVAL;
	}
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	dns_cache_init(&r->cache, &cfg->cache);
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++) {
		r->slot[i].r = r;
		r->slot[i].sock = -1;
	}
	return 0;
}

/* ---- finishing a lookup ------------------------------------------------------ */

static void report_probe(struct dns_resolver *r, const struct dns_answer *a)
{
	enum dns_validation v;
	if (a->status == DNS_FAIL) {
		v = DNS_UNREACHABLE;
		LOG_WARN("dns: resolver check failed: no usable answer for %s (%s); "
			 "DNSSEC status unknown, lookups will fail", a->qname, a->reason);
	} else if (a->ad) {
		v = DNS_VALIDATING;
		LOG_INFO("dns: resolver validates DNSSEC (%s came back %s)", a->qname,
			 dns_status_name(a->status));
	} else {
		v = DNS_NOT_VALIDATING;
		LOG_WARN("dns: resolver does NOT validate DNSSEC (signed %s came back without AD): "
			 "every answer counts as insecure, DANE cannot apply", a->qname);
	}
	r->validation = v;
}

/* Frees the slot, then runs the callback: the callback may reuse it. */
static void finish(struct dns_slot *s, const struct dns_answer *a)
{
	struct dns_resolver *r = s->r;
	dns_done_cb cb = s->cb;
	dns_probe_cb pcb = s->probe_cb;
	void *ctx = s->ctx;
	bool probe = s->is_probe;
	slot_enter(s, DNS_SLOT_FREE);
	if (a->status == DNS_FAIL)
		r->stats.failures++;
	else
		r->stats.answers++;
	if (probe) {
		report_probe(r, a);
		if (pcb)
			pcb(ctx, r->validation);
	} else if (cb) {
		cb(ctx, a);
	}
}

/* A failure with no answer to show. Inside dns_resolve() the callback must
 * not run yet: the slot then waits in FAILED for the next tick. */
static void finish_fail(struct dns_slot *s, const char *reason)
{
	struct dns_resolver *r = s->r;
	s->fail_reason = reason;
	if (r->in_resolve) {
		slot_enter(s, DNS_SLOT_FAILED);
		return;
	}
	dns_answer_fail(&r->scratch, s->name, s->qtype, reason);
	finish(s, &r->scratch);
}

/* ---- sending ------------------------------------------------------------------ */

static void net_event(void *ctx, int sock, enum port_event ev, int err);

/* One attempt at the current server, over UDP or (after TC) TCP. Returns
 * false if it could not even start (the caller moves on). */
static bool attempt_start(struct dns_slot *s, uint64_t now)
{
	struct dns_resolver *r = s->r;
	const struct port_addr *to = server_of(s);
	uint16_t id;
	close_sock(s);
	if (port_random(&id, sizeof(id)) != 0) {
		s->fail_reason = "no entropy for the query ID";
		return false;
	}
	/* A new ID for every attempt: a late answer to an earlier attempt
	 * (or a spoofed one aimed at it) no longer matches. */
	if (dns_query_build(&s->q, s->q_name, s->q_type, id) != 0) {
		s->fail_reason = "cannot build the query";
		return false;
	}
	s->deadline_ms = now + r->cfg.timeout_ms;
	r->stats.queries++;
	if (s->use_tcp) {
		int h = port_tcp_connect(to, net_event, s);
		if (h < 0) {
			s->fail_reason = "cannot connect to the resolver";
			return false;
		}
		s->sock = h;
		slot_enter(s, DNS_SLOT_TCP_CONNECT);
		return true;
	}
	int h = port_udp_open((enum port_af)to->family, net_event, s);
	if (h < 0) {
		s->fail_reason = "no UDP socket";
		return false;
	}
	s->sock = h;
	long n = port_udp_sendto(h, s->q.wire, s->q.wire_len, to);
	/* A datagram that could not leave (a board's buffers briefly full)
	 * counts as lost: the attempt's timeout moves on, as for a real loss,
	 * instead of spending every attempt at once. */
	if (n != (long)s->q.wire_len)
		s->fail_reason = "cannot send to the resolver";
	slot_enter(s, DNS_SLOT_UDP);
	return true;
}

/* Moves to the next server (or round) until an attempt starts; when all
 * DNS_SERVERS x rounds are used up the lookup fails with the last reason. */
static void attempt_next(struct dns_slot *s, bool advance)
{
	struct dns_resolver *r = s->r;
	unsigned budget = (unsigned)r->cfg.n_servers * r->cfg.rounds;
	uint64_t now = port_now_ms();
	while (1) {
		if (advance) {
			close_sock(s);
			s->attempts++;
			s->server = (uint8_t)((s->server + 1) % r->cfg.n_servers);
		}
		if (s->attempts >= budget) {
			finish_fail(s, s->fail_reason ? s->fail_reason : "no answer");
			return;
		}
		if (attempt_start(s, now))
			return;
		advance = true;
	}
}

/* Starts (or restarts, for a CNAME target) the question s->q_name. */
static void question_start(struct dns_slot *s)
{
	s->attempts = 0;
	s->servfail_seen = 0;
	s->use_tcp = false;
	s->fail_reason = NULL;
	attempt_next(s, false);
}

/* ---- receiving ---------------------------------------------------------------- */

static bool definitive_failure(uint8_t rcode)
{
	return rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED ||
	       rcode == DNS_RCODE_NOTIMP || rcode == DNS_RCODE_FORMERR;
}

static enum dns_status downgrade(enum dns_status st)
{
	switch (st) {
	case DNS_SECURE: return DNS_INSECURE;
	case DNS_SECURE_NXDOMAIN: return DNS_INSECURE_NXDOMAIN;
	case DNS_SECURE_NODATA: return DNS_INSECURE_NODATA;
	default: return st;
	}
}

/* Restarts the lookup from the original question, keeping only what is
 * known about the first CNAME (after the check below). */
static void lookup_restart(struct dns_slot *s)
{
	s->hops = 0;
	s->cname_count = 0;
	s->all_ad = true;
	s->ttl_min = UINT32_MAX;
	copy_text(s->q_name, s->name, sizeof(s->q_name));
	s->q_type = s->qtype;
	question_start(s);
}

/* The answer to "name CNAME?" asked to learn whether the first CNAME of an
 * insecure chain was itself secure (RFC 7672 §2.2.2, DANE rule 8): one
 * response with AD = 0 covering a whole chain does not say which link was
 * insecure, a response holding just the first CNAME does. */
static void cname_check_in(struct dns_slot *s, const struct dns_answer *a)
{
	s->checking = false;
	if (a->status == DNS_FAIL) {
		/* not knowing may widen what DANE accepts: fail, like any
		 * lookup the DANE decision depends on */
		finish_fail(s, "CNAME status check failed");
		return;
	}
	s->first_known = true;
	s->first_ad = a->status == DNS_SECURE && a->n_rr > 0;
	/* Ask the real question again (from the resolver's cache, normally):
	 * nothing of the first round is kept but this bit. */
	lookup_restart(s);
}

/* A classified answer to the current question (in r->scratch). */
static void answer_in(struct dns_slot *s)
{
	struct dns_resolver *r = s->r;
	struct dns_answer *a = &r->scratch;

	if (a->status == DNS_FAIL && definitive_failure(a->rcode)) {
		/* The resolver said so itself; each other server gets one
		 * chance (a bogus answer will fail there too). */
		s->servfail_seen++;
		s->fail_reason = a->reason;
		if (s->servfail_seen < r->cfg.n_servers) {
			attempt_next(s, true);
			return;
		}
	}
	if (s->checking) {
		cname_check_in(s, a);
		return;
	}
	if (a->status != DNS_FAIL) {
		/* RFC 7672 §2.2.2: a chain is secure only if every response
		 * in it was. The first response tells about the first CNAME
		 * when it is secure as a whole or holds nothing else. */
		if (s->hops == 0 && a->cname_count > 0) {
			if (a->ad) {
				s->first_known = true;
				s->first_ad = true;
			} else if (a->partial && a->cname_count == 1) {
				s->first_known = true;
				s->first_ad = false;
			}
		}
		s->all_ad = s->all_ad && a->ad;
		if (a->ttl < s->ttl_min)
			s->ttl_min = a->ttl;
		s->cname_count = (uint8_t)(s->cname_count + a->cname_count);
		if (s->cname_count > DNS_CNAME_MAX) {
			dns_answer_fail(a, s->name, s->qtype, "CNAME chain too long");
		} else if (a->partial) {
			s->hops++;
			copy_text(s->q_name, a->final_name, sizeof(s->q_name));
			question_start(s);
			return;
		} else if (s->cname_count > 0 && !s->all_ad && !s->first_known) {
			s->checking = true;
			s->q_type = DNS_T_CNAME;
			copy_text(s->q_name, s->name, sizeof(s->q_name));
			question_start(s);
			return;
		}
		if (a->status != DNS_FAIL) {
			if (!s->all_ad)
				a->status = downgrade(a->status);
			a->ad = s->all_ad;
			a->ttl = s->ttl_min;
			a->cname_count = s->cname_count;
			a->cname_secure_first = s->cname_count > 0 && s->first_known && s->first_ad;
		}
	}
	copy_text(a->qname, s->name, sizeof(a->qname));
	a->qtype = s->qtype;
	if (!s->no_cache)
		(void)dns_cache_put(&r->cache, a, port_now_ms());
	finish(s, a);
}

/* Parses one message from the current server; returns true if the slot
 * moved on (answer, retry, TCP) and false if it was ignored. */
static bool message_in(struct dns_slot *s, const uint8_t *wire, size_t len, bool over_tcp)
{
	struct dns_resolver *r = s->r;
	int e = dns_parse_answer(&s->q, wire, len, &r->scratch);
	switch (e) {
	case 0:
		answer_in(s);
		return true;
	case DNS_ETRUNCATED:
		if (!over_tcp) {
			/* Same server, same attempt, now over TCP. */
			r->stats.tcp++;
			s->use_tcp = true;
			if (!attempt_start(s, port_now_ms()))
				attempt_next(s, true);
			return true;
		}
		s->fail_reason = "truncated over TCP";
		attempt_next(s, true);
		return true;
	case DNS_EMALFORMED:
		s->fail_reason = r->scratch.reason;
		attempt_next(s, true);
		return true;
	default:
		r->stats.ignored++;
		if (over_tcp) {
			/* a stream carries only our answer: anything else is a
			 * broken server */
			s->fail_reason = "wrong answer over TCP";
			attempt_next(s, true);
			return true;
		}
		return false;
	}
}

static void udp_readable(struct dns_slot *s)
{
	struct dns_resolver *r = s->r;
	/* Bounded: a flood of junk is read away a few datagrams per event. */
	for (int i = 0; i < 8; i++) {
		struct port_addr from;
		long n = port_udp_recvfrom(s->sock, r->udp_buf, sizeof(r->udp_buf), &from);
		if (n < 0)
			return;
		if (!same_addr(&from, server_of(s))) {
			r->stats.ignored++;
			continue;
		}
		if (message_in(s, r->udp_buf, (size_t)n, false))
			return;
	}
}

static void tcp_send_more(struct dns_slot *s)
{
	uint16_t total = (uint16_t)(s->q.wire_len + 2);
	while (s->tcp_off < total) {
		long n = port_tcp_send(s->sock, s->tcp_buf + s->tcp_off, total - s->tcp_off);
		if (n == PORT_EAGAIN)
			return;	/* PORT_EV_WRITABLE follows */
		if (n <= 0) {
			s->fail_reason = "resolver closed the connection";
			attempt_next(s, true);
			return;
		}
		s->tcp_off = (uint16_t)(s->tcp_off + n);
	}
	slot_enter(s, DNS_SLOT_TCP_RECV);
}

static void tcp_connected(struct dns_slot *s, int err)
{
	if (err) {
		s->fail_reason = "cannot connect to the resolver";
		attempt_next(s, true);
		return;
	}
	slot_enter(s, DNS_SLOT_TCP_SEND);
	/* RFC 1035 §4.2.2: two-byte length, then the message. */
	s->tcp_buf[0] = (uint8_t)(s->q.wire_len >> 8);
	s->tcp_buf[1] = (uint8_t)s->q.wire_len;
	memcpy(s->tcp_buf + 2, s->q.wire, s->q.wire_len);
	tcp_send_more(s);
}

static void tcp_readable(struct dns_slot *s)
{
	while (1) {
		size_t want = s->tcp_need ? (size_t)s->tcp_need - s->tcp_off : 2u - s->tcp_off;
		long n = port_tcp_recv(s->sock, s->tcp_buf + s->tcp_off, want);
		if (n == PORT_EAGAIN)
			return;
		if (n <= 0) {
			s->fail_reason = "resolver closed the connection";
			attempt_next(s, true);
			return;
		}
		s->tcp_off = (uint16_t)(s->tcp_off + n);
		if (!s->tcp_need) {
			if (s->tcp_off < 2)
				continue;
			uint16_t len = (uint16_t)(s->tcp_buf[0] << 8 | s->tcp_buf[1]);
			if (len < 12 || len > DNS_TCP_MSG_MAX) {
				/* every server would send the same: give up */
				finish_fail(s, len < 12 ? "short answer over TCP"
							 : "answer too large");
				return;
			}
			s->tcp_need = len;
			s->tcp_off = 0;
			continue;
		}
		if (s->tcp_off == s->tcp_need) {
			message_in(s, s->tcp_buf, s->tcp_need, true);
			return;
		}
	}
}

static void net_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct dns_slot *s = ctx;
	if (sock != s->sock)
		return;	/* an old socket of this slot: closed already */
	switch (s->state) {
	case DNS_SLOT_UDP:
		if (ev == PORT_EV_READABLE) {
			udp_readable(s);
		} else if (ev == PORT_EV_CLOSED) {
			/* e.g. ICMP port unreachable: try the next one now */
			s->fail_reason = "resolver unreachable";
			attempt_next(s, true);
		}
		return;
	case DNS_SLOT_TCP_CONNECT:
		if (ev == PORT_EV_CONNECTED)
			tcp_connected(s, err);
		else if (ev == PORT_EV_CLOSED)
			tcp_connected(s, err ? err : PORT_ECONNRESET);
		return;
	case DNS_SLOT_TCP_SEND:
		if (ev == PORT_EV_WRITABLE) {
			tcp_send_more(s);
		} else if (ev == PORT_EV_CLOSED) {
			s->fail_reason = "resolver closed the connection";
			attempt_next(s, true);
		}
		return;
	case DNS_SLOT_TCP_RECV:
		if (ev == PORT_EV_READABLE || ev == PORT_EV_CLOSED)
			tcp_readable(s);
		return;
	default:
		return;
	}
}

/* ---- the API ------------------------------------------------------------------ */

static int lookup_start(struct dns_resolver *r, const char *name, uint16_t qtype, dns_done_cb cb,
			dns_probe_cb pcb, void *ctx, bool probe)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	if (!r || !name || qtype == 0)
		return DNS_EINVAL;
	int wl = dns_name_to_wire(name, wire, sizeof(wire));
	if (wl < 0)
		return DNS_ENAME;
	struct dns_slot *s = NULL;
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++)
		if (r->slot[i].state == DNS_SLOT_FREE) {
			s = &r->slot[i];
			break;
		}
	if (!s)
		return DNS_ENOSPC;
	/* The canonical text of the name: what answers and the cache use. */
	char canon[DNS_NAME_TEXT_SIZE];
	if (dns_name_to_text(wire, (size_t)wl, canon, sizeof(canon)) < 0)
		return DNS_ENAME;

	uint8_t gen = s->gen;
	memset(s, 0, offsetof(struct dns_slot, tcp_buf));
	s->r = r;
	s->gen = gen;
	s->sock = -1;
	s->cb = cb;
	s->probe_cb = pcb;
	s->ctx = ctx;
	s->is_probe = probe;
	s->no_cache = probe;
	s->qtype = qtype;
	s->all_ad = true;
	s->ttl_min = UINT32_MAX;
	copy_text(s->name, canon, sizeof(s->name));
	copy_text(s->q_name, canon, sizeof(s->q_name));
	s->q_type = qtype;

	int handle = handle_of(s);
	/* Only a look: r->scratch may be the very answer a callback is
	 * reading while it starts this lookup. */
	if (!probe && dns_cache_has(&r->cache, canon, qtype, port_now_ms())) {
		/* delivered by the next tick: callbacks never run inside
		 * dns_resolve() */
		slot_enter(s, DNS_SLOT_CACHED);
		return handle;
	}
	r->in_resolve = true;
	question_start(s);
	r->in_resolve = false;
	return handle;
}

int dns_resolve(struct dns_resolver *r, const char *name, uint16_t qtype, dns_done_cb cb,
		void *ctx)
{
	return lookup_start(r, name, qtype, cb, NULL, ctx, false);
}

int dns_probe_validation(struct dns_resolver *r, dns_probe_cb cb, void *ctx)
{
	if (!r)
		return DNS_EINVAL;
	return lookup_start(r, r->cfg.probe_name, r->cfg.probe_type, NULL, cb, ctx, true);
}

void dns_cancel(struct dns_resolver *r, int handle)
{
	if (!r || handle < 0)
		return;
	unsigned idx = (unsigned)handle & 0xff;
	if (idx >= DNS_OUTSTANDING_MAX)
		return;
	struct dns_slot *s = &r->slot[idx];
	if (s->state == DNS_SLOT_FREE || handle_of(s) != handle)
		return;
	slot_enter(s, DNS_SLOT_FREE);
}

void dns_resolver_tick(struct dns_resolver *r, uint64_t now_ms)
{
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++) {
		struct dns_slot *s = &r->slot[i];
		switch (s->state) {
		case DNS_SLOT_CACHED:
			if (dns_cache_get(&r->cache, s->name, s->qtype, now_ms, &r->scratch) == 0)
				finish(s, &r->scratch);
			else
				question_start(s);	/* expired meanwhile */
			break;
		case DNS_SLOT_FAILED:
			finish_fail(s, s->fail_reason);
			break;
		case DNS_SLOT_UDP:
		case DNS_SLOT_TCP_CONNECT:
		case DNS_SLOT_TCP_SEND:
		case DNS_SLOT_TCP_RECV:
			if (now_ms >= s->deadline_ms) {
				r->stats.timeouts++;
				s->fail_reason = "timeout";
				LOG_DEBUG("dns: no answer for %s type %u from resolver %u",
					  s->q_name, s->q_type, s->server);
				attempt_next(s, true);
			}
			break;
		default:
			break;
		}
	}
}

size_t dns_resolver_status(const struct dns_resolver *r, char *buf, size_t size)
{
	if (!buf || size == 0)
		return 0;
	buf[0] = '\0';
	if (!r)
		return 0;
	size_t o = 0;
	int busy = 0, cached = 0;
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++)
		busy += r->slot[i].state != DNS_SLOT_FREE;
	for (int i = 0; i < DNS_CACHE_ENTRIES; i++)
		cached += r->cache.e[i].expires_ms != 0;
	for (unsigned i = 0; i < r->cfg.n_servers && o < size; i++) {
		char a[64];
		int n = snprintf(buf + o, size - o, "%s%s", i ? "," : "resolvers ",
				 port_addr_format(&r->cfg.servers[i], true, a, sizeof(a)));
		if (n < 0)
			break;
		o += (size_t)n;
	}
	if (o < size) {
		int n = snprintf(buf + o, size - o,
				 " (%s); lookups %d/%d; queries %lu answers %lu failures %lu "
				 "timeouts %lu tcp %lu ignored %lu; cache %d/%d entries %u/%u bytes "
				 "hits %lu misses %lu",
				 dns_validation_name(r->validation), busy, DNS_OUTSTANDING_MAX,
				 (unsigned long)r->stats.queries, (unsigned long)r->stats.answers,
				 (unsigned long)r->stats.failures, (unsigned long)r->stats.timeouts,
				 (unsigned long)r->stats.tcp, (unsigned long)r->stats.ignored, cached,
				 DNS_CACHE_ENTRIES, (unsigned)r->cache.used, (unsigned)DNS_CACHE_BYTES,
				 (unsigned long)r->cache.stats.hits, (unsigned long)r->cache.stats.misses);
		if (n > 0)
			o += (size_t)n;
	}
	return o < size ? o : size - 1;
}

uint32_t dns_resolver_next_ms(const struct dns_resolver *r, uint64_t now_ms)
{
	uint64_t best = UINT32_MAX;
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++) {
		const struct dns_slot *s = &r->slot[i];
		switch (s->state) {
		case DNS_SLOT_FREE:
			break;
		case DNS_SLOT_CACHED:
		case DNS_SLOT_FAILED:
			return 0;
		default:
			if (s->deadline_ms <= now_ms)
				return 0;
			if (s->deadline_ms - now_ms < best)
				best = s->deadline_ms - now_ms;
			break;
		}
	}
	return (uint32_t)best;
}
