/* test_dns_resolver — the resolver driver on the host board against fake
 * DNS servers on 127.0.0.1 (plain POSIX sockets in this test, answering
 * with hand-built wire packets): random IDs and source ports, the query
 * flags on the wire, TC -> TCP, timeout -> failover, spoofed and stale
 * answers ignored, SERVFAIL, CNAME chains across responses, the cache,
 * the bound on outstanding lookups, and the validation probe. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "log/log.h"
#include "port.h"
#include "support/port_test_util.h"
#include "test_dns_wire.h"

/* ---- a fake DNS server on 127.0.0.1 ------------------------------------------ */

struct fake;
/* Builds the reply to one query into w; returns false to stay silent. */
typedef bool (*responder)(struct fake *f, const char *qname, uint16_t qtype, uint16_t id,
			  bool tcp, struct wb *w);

#define FAKE_LOG 32

struct fake {
	int udp, lis;
	uint16_t port;
	responder respond;
	int udp_queries, tcp_queries;
	/* the queries seen, for checking IDs, ports and flags */
	uint16_t ids[FAKE_LOG];
	uint16_t src_ports[FAKE_LOG];
	uint8_t last[DNS_QUERY_WIRE_MAX];
	size_t last_len;
	int family;		/* AF_INET or AF_INET6 */
	struct sockaddr_storage last_from;
	socklen_t from_len;
	int conn;		/* accepted TCP connection, -1: none */
	size_t conn_len;
	uint8_t conn_buf[2 + 1500];
};

static struct fake fk[2];
static struct wb reply;

/* UDP and TCP on the same loopback port (127.0.0.1 or ::1), as a real
 * server has them. */
static void fake_open_af(struct fake *f, responder resp, int family)
{
	memset(f, 0, sizeof(*f));
	f->respond = resp;
	f->conn = -1;
	f->family = family;
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sl = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_addr = in6addr_loopback;
			sl = sizeof(*a);
		}
		f->udp = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_true(f->udp >= 0);
		assert_int_equal(bind(f->udp, (struct sockaddr *)&ss, sl), 0);
		assert_int_equal(getsockname(f->udp, (struct sockaddr *)&ss, &sl), 0);
		/* sin_port and sin6_port sit at the same offset */
		f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		f->lis = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int one = 1;
		setsockopt(f->lis, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(f->lis, (struct sockaddr *)&ss, sl) == 0 && listen(f->lis, 4) == 0)
			return;
		close(f->lis);
		close(f->udp);
	}
	fail_msg("no loopback port for the fake server");
}

static void fake_open(struct fake *f, responder resp)
{
	fake_open_af(f, resp, AF_INET);
}

static void fake_close(struct fake *f)
{
	if (f->conn >= 0)
		close(f->conn);
	close(f->udp);
	close(f->lis);
}

static struct port_addr fake_addr(const struct fake *f)
{
	struct port_addr a;
	assert_int_equal(port_addr_parse(f->family == AF_INET ? "127.0.0.1" : "::1", &a), 0);
	a.port = f->port;
	return a;
}

/* Records the query and asks the responder; returns the reply length. */
static size_t fake_answer(struct fake *f, const uint8_t *q, size_t n, bool tcp)
{
	assert_true(n >= 12 && n <= sizeof(f->last));
	memcpy(f->last, q, n);
	f->last_len = n;
	char name[DNS_NAME_TEXT_SIZE];
	size_t nl = 0;
	while (12 + nl < n && q[12 + nl] != 0)
		nl += 1u + q[12 + nl];
	nl++;
	assert_true(dns_name_to_text(q + 12, nl, name, sizeof(name)) > 0);
	uint16_t qtype = (uint16_t)(q[12 + nl] << 8 | q[13 + nl]);
	uint16_t id = (uint16_t)(q[0] << 8 | q[1]);
	int k = f->udp_queries + f->tcp_queries;
	if (k < FAKE_LOG) {
		f->ids[k] = id;
		f->src_ports[k] = ntohs(((struct sockaddr_in *)&f->last_from)->sin_port);
	}
	if (tcp)
		f->tcp_queries++;
	else
		f->udp_queries++;
	if (!f->respond(f, name, qtype, id, tcp, &reply))
		return 0;
	return wb_done(&reply);
}

static void fake_service(struct fake *f)
{
	uint8_t q[1500];
	while (1) {
		f->from_len = sizeof(f->last_from);
		ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&f->last_from,
				     &f->from_len);
		if (n < 0)
			break;
		size_t rl = fake_answer(f, q, (size_t)n, false);
		if (rl)
			sendto(f->udp, reply.b, rl, 0, (struct sockaddr *)&f->last_from, f->from_len);
	}
	/* TCP: one connection at a time, read without blocking (the
	 * resolver runs in this same thread) */
	if (f->conn < 0) {
		f->from_len = sizeof(f->last_from);
		f->conn = accept4(f->lis, (struct sockaddr *)&f->last_from, &f->from_len,
				  SOCK_NONBLOCK);
		f->conn_len = 0;
		if (f->conn < 0)
			return;
	}
	ssize_t n = recv(f->conn, f->conn_buf + f->conn_len, sizeof(f->conn_buf) - f->conn_len, 0);
	if (n > 0)
		f->conn_len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		goto drop;
	if (f->conn_len < 2)
		return;
	size_t ql = (size_t)(f->conn_buf[0] << 8 | f->conn_buf[1]);
	if (f->conn_len < 2 + ql)
		return;
	size_t rl = fake_answer(f, f->conn_buf + 2, ql, true);
	if (rl) {
		uint8_t hdr[2] = { (uint8_t)(rl >> 8), (uint8_t)rl };
		/* loopback socket buffers take a few KB at once */
		assert_int_equal(send(f->conn, hdr, 2, MSG_NOSIGNAL), 2);
		assert_int_equal(send(f->conn, reply.b, rl, MSG_NOSIGNAL), (ssize_t)rl);
	}
drop:
	close(f->conn);
	f->conn = -1;
}

/* ---- the resolver under test ---------------------------------------------------- */

static struct dns_resolver res;
static struct dns_answer got;
static int calls;
static bool in_resolve_call;

static void done(void *ctx, const struct dns_answer *a)
{
	(void)ctx;
	assert_false(in_resolve_call);
	got = *a;
	calls++;
}

static void resolver_up(int n_servers, uint32_t timeout_ms)
{
	struct dns_resolver_config cfg;
	dns_resolver_config_default(&cfg);
	cfg.n_servers = (uint8_t)n_servers;
	for (int i = 0; i < n_servers; i++)
		cfg.servers[i] = fake_addr(&fk[i]);
	cfg.timeout_ms = timeout_ms;
	snprintf(cfg.probe_name, sizeof(cfg.probe_name), "signed.test");
	assert_int_equal(dns_resolver_init(&res, &cfg), 0);
	calls = 0;
}

static int resolve(const char *name, uint16_t qtype)
{
	in_resolve_call = true;
	int h = dns_resolve(&res, name, qtype, done, NULL);
	in_resolve_call = false;
	return h;
}

/* Runs the loop (port events, both fakes, ticks) until `want` callbacks
 * have run, at most max_ms. */
static bool run_until(int want, uint32_t max_ms)
{
	uint64_t end = port_now_ms() + max_ms;
	while (calls < want && port_now_ms() < end) {
		port_poll(5);
		fake_service(&fk[0]);
		fake_service(&fk[1]);
		dns_resolver_tick(&res, port_now_ms());
	}
	return calls >= want;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++)
		dns_cancel(&res, (int)((unsigned)(res.slot[i].gen & 0x7f) << 8 | (unsigned)i));
	fake_close(&fk[0]);
	fake_close(&fk[1]);
	return 0;
}

/* ---- responders ---------------------------------------------------------------- */

static const uint8_t digest[32] = { 0xde, 0xad, 0xbe, 0xef, [31] = 0x42 };

static bool secure_a(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
		     struct wb *w)
{
	(void)f;
	(void)tcp;
	wb_start(w, id, WB_QR | WB_RD | WB_RA | WB_AD, 0, qname, qtype);
	if (qtype == DNS_T_A)
		wb_a(w, qname, 300, 192, 0, 2, (uint8_t)(f == &fk[0] ? 1 : 2));
	return true;
}

static bool silent(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
		   struct wb *w)
{
	(void)f, (void)qname, (void)qtype, (void)id, (void)tcp, (void)w;
	return false;
}

static bool servfail(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
		     struct wb *w)
{
	(void)f, (void)tcp;
	wb_start(w, id, WB_QR | WB_RD | WB_RA, DNS_RCODE_SERVFAIL, qname, qtype);
	return true;
}

/* TC over UDP (empty answer), the TLSA RRset over TCP. */
static bool truncating(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
		       struct wb *w)
{
	(void)f;
	if (!tcp) {
		wb_start(w, id, WB_QR | WB_RD | WB_RA | WB_AD | WB_TC, 0, qname, qtype);
		return true;
	}
	wb_start(w, id, WB_QR | WB_RD | WB_RA | WB_AD, 0, qname, qtype);
	static uint8_t big[1400];
	memset(big, 0x5a, sizeof(big));
	wb_tlsa(w, qname, 600, 3, 1, 1, digest, sizeof(digest));
	wb_tlsa(w, qname, 600, 2, 0, 0, big, sizeof(big));
	return true;
}

/* www.chain.test -> CNAME far.chain.test, stopping there (no SOA); the
 * target is answered by a second response, with AD only if the fake's
 * target_secure says so. */
static bool target_secure;
static bool split_chain(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
			struct wb *w)
{
	(void)f, (void)tcp;
	if (!strcmp(qname, "www.chain.test")) {
		wb_start(w, id, WB_QR | WB_RA | WB_AD, 0, qname, qtype);
		wb_cname(w, qname, 100, "far.chain.test");
		return true;
	}
	wb_start(w, id, WB_QR | WB_RA | (target_secure ? WB_AD : 0), 0, qname, qtype);
	wb_a(w, qname, 50, 192, 0, 2, 99);
	return true;
}

/* One response carries the whole chain www.mixed.test -> out.insec.test
 * without AD (the target is insecure); asked for the CNAME alone, the
 * resolver answers with AD only if first_cname_secure. */
static bool first_cname_secure;
static int cname_checks;
static bool mixed_chain(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
			struct wb *w)
{
	(void)f, (void)tcp;
	if (qtype == DNS_T_CNAME) {
		cname_checks++;
		wb_start(w, id, WB_QR | WB_RA | (first_cname_secure ? WB_AD : 0), 0, qname, qtype);
		wb_cname(w, qname, 300, "out.insec.test");
		return true;
	}
	wb_start(w, id, WB_QR | WB_RA, 0, qname, qtype);
	wb_cname(w, qname, 300, "out.insec.test");
	wb_a(w, "out.insec.test", 120, 192, 0, 2, 9);
	return true;
}

static bool probe_ad;
static bool probe_answer(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
			 struct wb *w)
{
	(void)f, (void)tcp;
	wb_start(w, id, WB_QR | WB_RA | (probe_ad ? WB_AD : 0), 0, qname, qtype);
	static const uint8_t key[] = { 1, 1, 3, 13, 0xaa, 0xbb, 0xcc, 0xdd };
	wb_rr(w, qname, DNS_T_DNSKEY, 3600, key, sizeof(key));
	return true;
}

/* A forger on another port: it sees the query (as an on-path attacker
 * would) and answers first with the right ID but from the wrong source;
 * then the real server answers. Also sends stale/wrong-ID junk. */
static int forger = -1;
static bool forged_then_real(struct fake *f, const char *qname, uint16_t qtype, uint16_t id,
			     bool tcp, struct wb *w)
{
	(void)tcp;
	struct wb evil;
	wb_start(&evil, id, WB_QR | WB_AD, 0, qname, qtype);
	wb_a(&evil, qname, 86400, 6, 6, 6, 6);
	size_t n = wb_done(&evil);
	sendto(forger, evil.b, n, 0, (struct sockaddr *)&f->last_from, f->from_len);
	/* from the right address but with the wrong ID, and for another name */
	wb_start(&evil, (uint16_t)(id + 1), WB_QR | WB_AD, 0, qname, qtype);
	wb_a(&evil, qname, 86400, 6, 6, 6, 7);
	n = wb_done(&evil);
	sendto(f->udp, evil.b, n, 0, (struct sockaddr *)&f->last_from, f->from_len);
	wb_start(&evil, id, WB_QR | WB_AD, 0, "evil.test", qtype);
	wb_a(&evil, "evil.test", 86400, 6, 6, 6, 8);
	n = wb_done(&evil);
	sendto(f->udp, evil.b, n, 0, (struct sockaddr *)&f->last_from, f->from_len);
	/* the truth comes last */
	return secure_a(f, qname, qtype, id, false, w);
}

/* ---- tests ---------------------------------------------------------------------- */

static void answers_over_udp_with_our_flags(void **state)
{
	(void)state;
	fake_open(&fk[0], secure_a);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	assert_true(resolve("mx.example.test", DNS_T_A) >= 0);
	assert_int_equal(calls, 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 1);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x01", 4);
	assert_string_equal(got.qname, "mx.example.test");

	/* what went on the wire: RD, AD, EDNS0 1232 with DO */
	const uint8_t *b = fk[0].last;
	assert_int_equal(b[2] & 0x01, 0x01);
	assert_int_equal(b[3] & 0x20, 0x20);
	size_t opt = fk[0].last_len - 11;
	assert_int_equal(b[opt + 1] << 8 | b[opt + 2], 41);
	assert_int_equal(b[opt + 3] << 8 | b[opt + 4], DNS_EDNS_UDP_SIZE);
	assert_int_equal(b[opt + 7] & 0x80, 0x80);
}

static void ids_and_source_ports_are_random(void **state)
{
	(void)state;
	fake_open(&fk[0], secure_a);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	char name[32];
	enum { N = 12 };
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		assert_true(resolve(name, DNS_T_A) >= 0);
		assert_true(run_until(i + 1, 3000));
	}
	assert_int_equal(fk[0].udp_queries, N);
	int same_id = 0, same_port = 0;
	for (int i = 1; i < N; i++) {
		same_id += fk[0].ids[i] == fk[0].ids[i - 1];
		same_port += fk[0].src_ports[i] == fk[0].src_ports[i - 1];
		assert_int_not_equal(fk[0].src_ports[i], 53);
	}
	/* a counter or a fixed port would repeat or step by one; random
	 * values repeat a neighbour with p = 11/65536, twice practically never */
	assert_true(same_id < 2);
	assert_true(same_port < 2);
	int steps = 0;
	for (int i = 1; i < N; i++)
		steps += (uint16_t)(fk[0].ids[i] - fk[0].ids[i - 1]) == 1;
	assert_true(steps < 2);
}

static void truncated_answer_is_fetched_over_tcp(void **state)
{
	(void)state;
	fake_open(&fk[0], truncating);
	fake_open(&fk[1], silent);
	resolver_up(1, 2000);
	assert_true(resolve("_25._tcp.mx.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(1, 4000));
	assert_int_equal(fk[0].udp_queries, 1);
	assert_int_equal(fk[0].tcp_queries, 1);
	assert_int_equal(res.stats.tcp, 1);
	assert_int_equal(res.stats.timeouts, 0);
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 2);
	assert_int_equal(got.rr[0].u.tlsa.usage, 3);
	assert_memory_equal(got.data + got.rr[0].u.tlsa.off, digest, sizeof(digest));
	assert_int_equal(got.rr[1].u.tlsa.len, 1400);
}

/* More truncated answers at once than there are shared TCP buffers: the
 * extra lookups wait for a buffer (within their timeout) and all finish;
 * the pool is free afterwards. */
static void tcp_buffers_are_shared_and_waited_for(void **state)
{
	(void)state;
	fake_open(&fk[0], truncating);
	fake_open(&fk[1], silent);
	resolver_up(1, 3000);
	enum { N = DNS_TCP_BUFS + 2 };
	_Static_assert(N <= DNS_OUTSTANDING_MAX, "test needs N lookups in flight");
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "_25._tcp.mx%d.example.test", i);
		assert_true(resolve(name, DNS_T_TLSA) >= 0);
	}
	bool waited = false;
	for (uint64_t end = port_now_ms() + 8000; calls < N && port_now_ms() < end;) {
		port_poll(5);
		fake_service(&fk[0]);
		dns_resolver_tick(&res, port_now_ms());
		for (int i = 0; i < DNS_OUTSTANDING_MAX; i++)
			waited |= res.slot[i].state == DNS_SLOT_TCP_WAIT;
	}
	assert_int_equal(calls, N);
	assert_true(waited);
	assert_int_equal(fk[0].tcp_queries, N);
	assert_int_equal(res.stats.tcp, N);
	assert_int_equal(res.stats.timeouts, 0);
	assert_int_equal(res.stats.failures, 0);
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 2);
	for (int i = 0; i < DNS_TCP_BUFS; i++)
		assert_null(res.tcp_owner[i]);
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++)
		assert_null(res.slot[i].tcp_buf);
}

/* TC over UDP, then hangs up on TCP without an answer. */
static bool truncating_then_hangup(struct fake *f, const char *qname, uint16_t qtype, uint16_t id,
				   bool tcp, struct wb *w)
{
	return tcp ? false : truncating(f, qname, qtype, id, tcp, w);
}

/* TC over UDP, then more over TCP than DNS_TCP_MSG_MAX. */
static bool truncating_then_huge(struct fake *f, const char *qname, uint16_t qtype, uint16_t id,
				 bool tcp, struct wb *w)
{
	if (!tcp)
		return truncating(f, qname, qtype, id, tcp, w);
	wb_start(w, id, WB_QR | WB_RA | WB_AD, 0, qname, qtype);
	static uint8_t big[3000];
	for (int i = 0; i < 3; i++) {
		big[0] = (uint8_t)i;
		wb_tlsa(w, qname, 600, 2, 0, 0, big, sizeof(big));
	}
	assert_true(w->n > DNS_TCP_MSG_MAX);
	return true;
}

static void tcp_hangup_moves_on_and_huge_answers_fail(void **state)
{
	(void)state;
	fake_open(&fk[0], truncating_then_hangup);
	fake_open(&fk[1], truncating);
	resolver_up(2, 1000);
	assert_true(resolve("_25._tcp.mx.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 2);
	assert_int_equal(fk[0].tcp_queries, 1);
	/* the next server is asked over TCP straight away: the answer is big */
	assert_int_equal(fk[1].udp_queries, 0);
	assert_int_equal(fk[1].tcp_queries, 1);
	assert_int_equal(res.stats.timeouts, 0);

	fk[0].respond = truncating_then_huge;
	dns_cache_flush(&res.cache);
	assert_true(resolve("_25._tcp.big.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(2, 3000));
	assert_int_equal(got.status, DNS_FAIL);
	assert_string_equal(got.reason, "answer too large");
}

static void silent_resolver_fails_over_to_the_next(void **state)
{
	(void)state;
	fake_open(&fk[0], silent);
	fake_open(&fk[1], secure_a);
	resolver_up(2, 200);
	uint64_t t0 = port_now_ms();
	assert_true(resolve("mx.example.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	uint64_t took = port_now_ms() - t0;
	assert_int_equal(got.status, DNS_SECURE);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x02", 4); /* from the second */
	assert_int_equal(fk[0].udp_queries, 1);
	assert_int_equal(fk[1].udp_queries, 1);
	assert_int_equal(res.stats.timeouts, 1);
	assert_true(took >= 200);
	assert_true(took < 1500);
}

static void no_answer_anywhere_is_a_timeout_failure(void **state)
{
	(void)state;
	fake_open(&fk[0], silent);
	fake_open(&fk[1], silent);
	resolver_up(2, 100);
	assert_true(resolve("mx.example.test", DNS_T_MX) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(got.status, DNS_FAIL);
	assert_string_equal(got.reason, "timeout");
	assert_string_equal(got.qname, "mx.example.test");
	/* two rounds over both servers */
	assert_int_equal(fk[0].udp_queries, 2);
	assert_int_equal(fk[1].udp_queries, 2);
	assert_int_equal(res.stats.timeouts, 4);
	/* and nothing is left running */
	assert_int_equal(dns_resolver_next_ms(&res, port_now_ms()), UINT32_MAX);
}

static void forged_and_stale_answers_are_ignored(void **state)
{
	(void)state;
	fake_open(&fk[0], forged_then_real);
	fake_open(&fk[1], silent);
	forger = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(forger >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(forger, (struct sockaddr *)&a, sizeof(a)), 0);
	resolver_up(1, 1000);
	assert_true(resolve("mx.example.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	close(forger);
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 1);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x01", 4);
	assert_true(res.stats.ignored >= 3);
}

static void servfail_is_a_failure_after_each_server_had_its_say(void **state)
{
	(void)state;
	fake_open(&fk[0], servfail);
	fake_open(&fk[1], servfail);
	resolver_up(2, 1000);
	assert_true(resolve("bogus.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(got.status, DNS_FAIL);
	assert_int_equal(got.rcode, DNS_RCODE_SERVFAIL);
	assert_int_equal(fk[0].udp_queries, 1);
	assert_int_equal(fk[1].udp_queries, 1);
	/* kept briefly: asking again at once does not reach the servers */
	assert_true(resolve("bogus.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(2, 3000));
	assert_int_equal(got.status, DNS_FAIL);
	assert_int_equal(fk[0].udp_queries + fk[1].udp_queries, 2);
}

static void cached_answers_come_from_the_next_tick(void **state)
{
	(void)state;
	fake_open(&fk[0], secure_a);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	assert_true(resolve("mx.example.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	assert_true(resolve("MX.example.test.", DNS_T_A) >= 0);
	assert_int_equal(calls, 1);	/* not from inside dns_resolve() */
	assert_int_equal(dns_resolver_next_ms(&res, port_now_ms()), 0);
	dns_resolver_tick(&res, port_now_ms());
	assert_int_equal(calls, 2);
	assert_int_equal(got.status, DNS_SECURE);
	assert_true(got.ttl <= 300 && got.ttl >= 299);
	assert_int_equal(fk[0].udp_queries, 1);
}

/* The relay's typical callback: for each MX host of the answer, start the
 * address lookup. Starting lookups (even cached ones) must not disturb the
 * answer the callback is still reading. */
static bool mx_two_hosts(struct fake *f, const char *qname, uint16_t qtype, uint16_t id, bool tcp,
			 struct wb *w)
{
	if (qtype != DNS_T_MX)
		return secure_a(f, qname, qtype, id, tcp, w);
	wb_start(w, id, WB_QR | WB_RA | WB_AD, 0, qname, qtype);
	wb_mx(w, qname, 300, 10, "mx1.example.test");
	wb_mx(w, qname, 300, 20, "mx2.example.test");
	wb_mx(w, qname, 300, 30, "mx3.example.test");
	return true;
}

static char seen_hosts[3][DNS_NAME_TEXT_SIZE];
static int started;
static void on_mx(void *ctx, const struct dns_answer *a)
{
	(void)ctx;
	calls++;
	assert_int_equal(a->n_rr, 3);
	for (uint16_t i = 0; i < a->n_rr; i++) {
		const char *host = dns_answer_text(a, a->rr[i].u.mx.name);
		snprintf(seen_hosts[i], sizeof(seen_hosts[i]), "%s", host);
		assert_true(dns_resolve(&res, host, DNS_T_A, done, NULL) >= 0);
		started++;
	}
}

static void callbacks_may_start_lookups_while_reading_their_answer(void **state)
{
	(void)state;
	fake_open(&fk[0], mx_two_hosts);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	/* mx2 is in the cache: its lookup is "ready" at once */
	assert_true(resolve("mx2.example.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	calls = 0;
	assert_true(dns_resolve(&res, "example.test", DNS_T_MX, on_mx, NULL) >= 0);
	assert_true(run_until(4, 3000));	/* the MX answer and three addresses */
	assert_int_equal(started, 3);
	assert_string_equal(seen_hosts[0], "mx1.example.test");
	assert_string_equal(seen_hosts[1], "mx2.example.test");
	assert_string_equal(seen_hosts[2], "mx3.example.test");
}

static void cname_chain_across_responses_is_combined(void **state)
{
	(void)state;
	fake_open(&fk[0], split_chain);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	target_secure = true;
	assert_true(resolve("www.chain.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(fk[0].udp_queries, 2);
	assert_int_equal(got.status, DNS_SECURE);
	assert_string_equal(got.qname, "www.chain.test");
	assert_string_equal(got.final_name, "far.chain.test");
	assert_int_equal(got.cname_count, 1);
	assert_true(got.cname_secure_first);
	assert_int_equal(got.ttl, 50);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x63", 4);

	/* DANE rule 8: secure first CNAME, insecure target */
	dns_cache_flush(&res.cache);
	target_secure = false;
	assert_true(resolve("www.chain.test", DNS_T_A) >= 0);
	assert_true(run_until(2, 3000));
	assert_int_equal(got.status, DNS_INSECURE);
	assert_false(got.ad);
	assert_true(got.cname_secure_first);
	assert_string_equal(got.final_name, "far.chain.test");
}

static void insecure_chain_asks_whether_the_first_cname_was_secure(void **state)
{
	(void)state;
	fake_open(&fk[0], mixed_chain);
	fake_open(&fk[1], silent);
	resolver_up(1, 1000);
	first_cname_secure = true;
	cname_checks = 0;
	assert_true(resolve("www.mixed.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(cname_checks, 1);
	assert_int_equal(got.status, DNS_INSECURE);
	assert_int_equal(got.qtype, DNS_T_A);
	assert_int_equal(got.cname_count, 1);
	assert_true(got.cname_secure_first);
	assert_string_equal(got.final_name, "out.insec.test");
	assert_int_equal(got.n_rr, 1);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x09", 4);

	/* from the cache: same verdict, no new check */
	assert_true(resolve("www.mixed.test", DNS_T_A) >= 0);
	assert_true(run_until(2, 3000));
	assert_true(got.cname_secure_first);
	assert_int_equal(cname_checks, 1);

	dns_cache_flush(&res.cache);
	first_cname_secure = false;
	assert_true(resolve("www.mixed.test", DNS_T_A) >= 0);
	assert_true(run_until(3, 3000));
	assert_int_equal(cname_checks, 2);
	assert_int_equal(got.status, DNS_INSECURE);
	assert_false(got.cname_secure_first);
}

static void outstanding_lookups_are_bounded(void **state)
{
	(void)state;
	fake_open(&fk[0], silent);
	fake_open(&fk[1], silent);
	resolver_up(1, 5000);
	int h[DNS_OUTSTANDING_MAX];
	char name[32];
	for (int i = 0; i < DNS_OUTSTANDING_MAX; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		h[i] = resolve(name, DNS_T_A);
		assert_true(h[i] >= 0);
	}
	assert_int_equal(resolve("one-too-many.example.test", DNS_T_A), DNS_ENOSPC);
	dns_cancel(&res, h[3]);
	dns_cancel(&res, h[3]);	/* stale: no effect */
	int again = resolve("one-too-many.example.test", DNS_T_A);
	assert_true(again >= 0);
	assert_int_not_equal(again, h[3]);
	dns_cancel(&res, h[3]);	/* stale handle must not cancel the new lookup */
	assert_int_not_equal(res.slot[again & 0xff].state, DNS_SLOT_FREE);
	assert_int_equal(resolve("bad..name", DNS_T_A), DNS_ENAME);
	for (int i = 0; i < 20; i++) {
		port_poll(5);
		dns_resolver_tick(&res, port_now_ms());
	}
	assert_int_equal(calls, 0);
}

static enum dns_validation probed;
static int probes;
static void probe_done(void *ctx, enum dns_validation v)
{
	(void)ctx;
	probed = v;
	probes++;
	calls++;
}

static bool log_has(uint32_t *cur, const char *needle)
{
	char line[LOG_LINE_MAX + 1];
	bool found = false;
	while (log_read(cur, NULL, line, sizeof(line)))
		if (strstr(line, needle))
			found = true;
	return found;
}

static void probe_tells_validating_from_not(void **state)
{
	(void)state;
	fake_open(&fk[0], probe_answer);
	fake_open(&fk[1], silent);
	resolver_up(1, 300);
	uint32_t cur = 0;
	log_has(&cur, "");

	probe_ad = true;
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(probed, DNS_VALIDATING);
	assert_int_equal(res.validation, DNS_VALIDATING);
	assert_true(log_has(&cur, "resolver validates DNSSEC"));
	/* the probe asked the configured name and type */
	assert_memory_equal(fk[0].last + 12, "\006signed\004test\000", 13);
	assert_int_equal(fk[0].last[25] << 8 | fk[0].last[26], DNS_T_DNSKEY);

	/* probes bypass the cache: a resolver that stopped validating is seen */
	probe_ad = false;
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	assert_true(run_until(2, 3000));
	assert_int_equal(probed, DNS_NOT_VALIDATING);
	assert_int_equal(fk[0].udp_queries, 2);
	assert_true(log_has(&cur, "does NOT validate"));

	fk[0].respond = silent;
	assert_true(dns_probe_validation(&res, probe_done, NULL) >= 0);
	assert_true(run_until(3, 3000));
	assert_int_equal(probed, DNS_UNREACHABLE);
	assert_true(log_has(&cur, "resolver check failed"));
	assert_int_equal(probes, 3);

	/* the console line says what the last probe found */
	char line[300], addr[64];
	size_t n = dns_resolver_status(&res, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	snprintf(addr, sizeof(addr), "resolvers 127.0.0.1:%u (unreachable)", fk[0].port);
	assert_non_null(strstr(line, addr));
	assert_non_null(strstr(line, "timeouts 2"));
	/* a short buffer is cut, still terminated */
	assert_int_equal(dns_resolver_status(&res, line, 10), 9);
	assert_int_equal(strlen(line), 9);
}

static void resolvers_on_ipv6_loopback_work_too(void **state)
{
	(void)state;
	if (!ptu_have_ipv6_loopback())
		skip();
	/* the first resolver (IPv4) is silent, the second is on ::1 */
	fake_open(&fk[0], silent);
	fake_open_af(&fk[1], secure_a, AF_INET6);
	resolver_up(2, 200);
	assert_true(resolve("mx.example.test", DNS_T_A) >= 0);
	assert_true(run_until(1, 3000));
	assert_int_equal(got.status, DNS_SECURE);
	assert_memory_equal(got.rr[0].u.a, "\xc0\x00\x02\x02", 4);
	assert_int_equal(fk[1].udp_queries, 1);
	assert_int_equal(fk[1].last_from.ss_family, AF_INET6);

	/* and TCP over IPv6 after truncation */
	fk[1].respond = truncating;
	assert_true(resolve("_25._tcp.mx.example.test", DNS_T_TLSA) >= 0);
	assert_true(run_until(2, 3000));
	assert_int_equal(got.status, DNS_SECURE);
	assert_int_equal(got.n_rr, 2);
	assert_int_equal(fk[1].tcp_queries, 1);
}

static void server_lists_parse_strictly(void **state)
{
	(void)state;
	struct dns_resolver_config cfg;
	dns_resolver_config_default(&cfg);
	assert_int_equal(dns_resolver_config_servers(&cfg, "127.0.0.1, [::1]:5353 192.0.2.53:99,::1"),
			 4);
	assert_int_equal(cfg.n_servers, 4);
	assert_int_equal(cfg.servers[0].family, PORT_AF_INET);
	assert_int_equal(cfg.servers[0].port, 53);
	assert_int_equal(cfg.servers[1].family, PORT_AF_INET6);
	assert_int_equal(cfg.servers[1].ip[15], 1);
	assert_int_equal(cfg.servers[1].port, 5353);
	assert_memory_equal(cfg.servers[2].ip, "\xc0\x00\x02\x35", 4);
	assert_int_equal(cfg.servers[2].port, 99);
	assert_int_equal(cfg.servers[3].family, PORT_AF_INET6);
	assert_int_equal(cfg.servers[3].port, 53);

	/* errors leave cfg as it was */
	static const char *const bad[] = { "", " , ", "localhost", "127.0.0.1:", "127.0.0.1:0",
					   "127.0.0.1:65536", "127.0.0.1:5x", "[::1", "[::1]x",
					   "1.2.3.4.5", "[127.0.0.1]:53:1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_resolver_config_servers(&cfg, bad[i]), DNS_EINVAL);
	assert_int_equal(dns_resolver_config_servers(&cfg, "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5"),
			 DNS_ENOSPC);
	assert_int_equal(cfg.n_servers, 4);
	assert_int_equal(cfg.servers[1].port, 5353);
	assert_int_equal(dns_resolver_init(&res, &cfg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(answers_over_udp_with_our_flags, teardown),
		cmocka_unit_test_teardown(ids_and_source_ports_are_random, teardown),
		cmocka_unit_test_teardown(truncated_answer_is_fetched_over_tcp, teardown),
		cmocka_unit_test_teardown(tcp_hangup_moves_on_and_huge_answers_fail, teardown),
		cmocka_unit_test_teardown(tcp_buffers_are_shared_and_waited_for, teardown),
		cmocka_unit_test_teardown(silent_resolver_fails_over_to_the_next, teardown),
		cmocka_unit_test_teardown(no_answer_anywhere_is_a_timeout_failure, teardown),
		cmocka_unit_test_teardown(forged_and_stale_answers_are_ignored, teardown),
		cmocka_unit_test_teardown(servfail_is_a_failure_after_each_server_had_its_say,
					  teardown),
		cmocka_unit_test_teardown(cached_answers_come_from_the_next_tick, teardown),
		cmocka_unit_test_teardown(callbacks_may_start_lookups_while_reading_their_answer,
					  teardown),
		cmocka_unit_test_teardown(cname_chain_across_responses_is_combined, teardown),
		cmocka_unit_test_teardown(insecure_chain_asks_whether_the_first_cname_was_secure,
					  teardown),
		cmocka_unit_test_teardown(outstanding_lookups_are_bounded, teardown),
		cmocka_unit_test_teardown(probe_tells_validating_from_not, teardown),
		cmocka_unit_test_teardown(resolvers_on_ipv6_loopback_work_too, teardown),
		cmocka_unit_test(server_lists_parse_strictly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
