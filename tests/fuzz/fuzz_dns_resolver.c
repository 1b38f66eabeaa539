/* fuzz_dns_resolver — libFuzzer target for the resolver driver
 * (firmware/dns/dns_resolver.c + dns_msg.c, dns_cache.c) on a fake port.h
 * network: UDP datagrams and TCP byte streams from the "resolver" are
 * the input, as are the order of events, lookups, cancels and time.
 * Input: a stream of events, each [e] + arguments:
 *   e%8 0: dns_resolve(names[e>>3 & 3], types[e>>5 & 3]);
 *       1: [sock][u16 len][bytes] datagram to an open UDP socket; e bit 3:
 *          the ID and question of the query sent on it are patched in;
 *          bit 4: from a spoofed address;
 *       2: [sock] connect completes on a TCP socket (bit 3: with an error);
 *       3: [sock][u16 len][bytes] stream bytes to a TCP socket; bit 3: the
 *          bytes get a correct length prefix and the patched ID/question;
 *       4: [sock] WRITABLE (the fake takes at most e>>3 + 1 bytes a send
 *          while e bit 7 of the last event 4 was set);
 *       5: [sock] CLOSED (bit 3) or EOF on a TCP socket;
 *       6: time passes (e>>3) * 250 ms, dns_resolver_tick;
 *       7: dns_cancel of lookup e>>3;
 * then time runs on (at most 20 simulated minutes) until no lookup is open. Checks, besides the sanitizers:
 * every lookup's callback runs exactly once (never after a cancel, never
 * inside dns_resolve), with the asked name and type, a status in range
 * and offsets inside the answer; no lookup is left hanging; the resolver
 * closes every socket it opened, each once, and never uses a closed one.
 * Exports the fake port.h network functions and port_random/port_now_ms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "port.h"

#include "fuzz_check.h"

#define SOCKS 64
#define LOOKUPS 64
#define STREAM_MAX 16384

struct fsock {
	bool used, tcp, eof;
	port_net_cb cb;
	void *ctx;
	uint8_t q[DNS_QUERY_WIRE_MAX + 2]; /* last query sent (TCP: with prefix) */
	size_t qlen;
	uint8_t dgram[2048];
	long dlen; /* -1: none */
	bool dspoof;
	uint8_t stream[STREAM_MAX];
	size_t slen, soff;
	struct port_addr to;
};

static struct fsock socks[SOCKS];
static uint64_t now_ms;
static unsigned send_limit;
static uint32_t rnd_state;
static bool in_resolve;

struct lookup {
	int handle;
	const char *name;
	uint16_t type;
	bool cancelled;
	int calls;
};
static struct lookup lk[LOOKUPS];
static unsigned nlk;

static int sock_new(bool tcp, port_net_cb cb, void *ctx)
{
	for (int i = 0; i < SOCKS; i++)
		if (!socks[i].used) {
			memset(&socks[i], 0, sizeof(socks[i]));
			socks[i].used = true;
			socks[i].tcp = tcp;
			socks[i].cb = cb;
			socks[i].ctx = ctx;
			socks[i].dlen = -1;
			return i + 3;
		}
	return PORT_ENOMEM;
}

static struct fsock *sock_get(int h)
{
	check(h >= 3 && h < SOCKS + 3 && socks[h - 3].used); /* never a closed handle */
	return &socks[h - 3];
}

int port_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		rnd_state = rnd_state * 1103515245u + 12345u;
		p[i] = (uint8_t)(rnd_state >> 16);
	}
	return 0;
}

uint64_t port_now_ms(void)
{
	return now_ms;
}

int64_t port_wall_time(void)
{
	return 1795867200 + (int64_t)(now_ms / 1000);
}

int port_udp_open(enum port_af family, port_net_cb cb, void *ctx)
{
	check(family == PORT_AF_INET || family == PORT_AF_INET6);
	return sock_new(false, cb, ctx);
}

long port_udp_sendto(int sock, const void *buf, size_t len, const struct port_addr *to)
{
	struct fsock *s = sock_get(sock);
	check(!s->tcp && len <= sizeof(s->q) && len >= 12);
	memcpy(s->q, buf, len);
	s->qlen = len;
	s->to = *to;
	return (long)len;
}

long port_udp_recvfrom(int sock, void *buf, size_t len, struct port_addr *from)
{
	struct fsock *s = sock_get(sock);
	check(!s->tcp);
	if (s->dlen < 0)
		return PORT_EAGAIN;
	size_t n = (size_t)s->dlen < len ? (size_t)s->dlen : len;
	memcpy(buf, s->dgram, n);
	*from = s->to;
	if (s->dspoof)
		from->ip[0] ^= 1;
	s->dlen = -1;
	return (long)n;
}

int port_tcp_connect(const struct port_addr *remote, port_net_cb cb, void *ctx)
{
	int h = sock_new(true, cb, ctx);
	if (h >= 0)
		socks[h - 3].to = *remote;
	return h;
}

long port_tcp_send(int sock, const void *buf, size_t len)
{
	struct fsock *s = sock_get(sock);
	check(s->tcp && len > 0);
	size_t n = send_limit && len > send_limit ? send_limit : len;
	if (s->qlen + n <= sizeof(s->q)) {
		memcpy(s->q + s->qlen, buf, n);
		s->qlen += n;
	}
	return (long)n;
}

long port_tcp_recv(int sock, void *buf, size_t len)
{
	struct fsock *s = sock_get(sock);
	check(s->tcp && len > 0);
	if (s->soff == s->slen)
		return s->eof ? 0 : PORT_EAGAIN;
	size_t n = s->slen - s->soff < len ? s->slen - s->soff : len;
	memcpy(buf, s->stream + s->soff, n);
	s->soff += n;
	return (long)n;
}

void port_close(int sock)
{
	struct fsock *s = sock_get(sock); /* closing twice fails here */
	s->used = false;
}

/* ---- the lookups --------------------------------------------------------- */

static void done(void *ctx, const struct dns_answer *a)
{
	struct lookup *l = ctx;
	check(!in_resolve);
	check(!l->cancelled);
	check(++l->calls == 1);
	check(a->qtype == l->type);
	check(memchr(a->qname, '\0', sizeof(a->qname)) && memchr(a->final_name, '\0',
								 sizeof(a->final_name)));
	check(strcmp(a->qname, l->name) == 0);
	check(a->status <= DNS_FAIL && a->reason != NULL);
	check(a->n_rr <= DNS_RR_MAX && a->data_len <= DNS_DATA_MAX);
	for (unsigned i = 0; i < a->n_rr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (rr->type == DNS_T_MX)
			check(rr->u.mx.name < a->data_len &&
			      memchr(a->data + rr->u.mx.name, '\0', a->data_len - rr->u.mx.name));
		if (rr->type == DNS_T_TLSA)
			check((size_t)rr->u.tlsa.off + rr->u.tlsa.len <= a->data_len);
	}
}

struct in {
	const uint8_t *d;
	size_t n;
};

static int byte(struct in *in)
{
	if (in->n == 0)
		return -1;
	in->n--;
	return *in->d++;
}

/* An open socket of the wanted kind picked by a byte, or -1. */
static int pick(struct in *in, bool tcp)
{
	int b = byte(in);
	if (b < 0)
		return -1;
	for (int k = 0; k < SOCKS; k++) {
		int i = (b + k) % SOCKS;
		if (socks[i].used && socks[i].tcp == tcp)
			return i;
	}
	return -1;
}

static size_t blob(struct in *in, const uint8_t **p)
{
	int a = byte(in), b = byte(in);
	if (a < 0 || b < 0)
		return 0;
	size_t len = (size_t)a << 8 | (size_t)b;
	if (len > in->n)
		len = in->n;
	*p = in->d;
	in->d += len;
	in->n -= len;
	return len;
}

/* Patches the ID and question of query q (qlen bytes, no prefix) into m. */
static void patch(uint8_t *m, size_t mlen, const uint8_t *q, size_t qlen)
{
	if (qlen < 12)
		return;
	size_t qd = 12;
	while (qd < qlen && q[qd])
		qd += q[qd] + 1u;
	qd += 5; /* root label + type + class */
	if (qd > qlen)
		return;
	if (mlen >= 2)
		memcpy(m, q, 2);
	if (mlen >= 6) {
		m[4] = 0;
		m[5] = 1;
	}
	if (mlen >= qd)
		memcpy(m + 12, q + 12, qd - 12);
}

static void dispatch(int i, enum port_event ev, int err)
{
	struct fsock *s = &socks[i];
	s->cb(s->ctx, i + 3, ev, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_resolver r;
	static const char *const names[4] = { "example.com", "_25._tcp.mx.example.net",
					      "mx.example.net", "www.example.org" };
	static const uint16_t types[4] = { DNS_T_MX, DNS_T_TLSA, DNS_T_A, DNS_T_AAAA };
	memset(socks, 0, sizeof(socks));
	memset(lk, 0, sizeof(lk));
	nlk = 0;
	now_ms = 1000000;
	send_limit = 0;
	rnd_state = 1;
	struct dns_resolver_config cfg;
	dns_resolver_config_default(&cfg);
	check(dns_resolver_config_servers(&cfg, "127.0.0.1, [::1]:5353") == 2);
	check(dns_resolver_init(&r, &cfg) == 0);
	struct in in = { data, size };
	int e;
	while ((e = byte(&in)) >= 0) {
		int i;
		const uint8_t *p;
		size_t len;
		switch (e % 8) {
		case 0:
			if (nlk < LOOKUPS) {
				struct lookup *l = &lk[nlk];
				l->name = names[(e >> 3) & 3];
				l->type = types[(e >> 5) & 3];
				in_resolve = true;
				l->handle = dns_resolve(&r, l->name, l->type, done, l);
				in_resolve = false;
				if (l->handle >= 0)
					nlk++;
				else
					check(l->handle == DNS_ENOSPC);
			}
			break;
		case 1:
			i = pick(&in, false);
			len = blob(&in, &p);
			if (i < 0)
				break;
			len = len < sizeof(socks[i].dgram) ? len : sizeof(socks[i].dgram);
			memcpy(socks[i].dgram, p, len);
			if (e & 8)
				patch(socks[i].dgram, len, socks[i].q, socks[i].qlen);
			socks[i].dlen = (long)len;
			socks[i].dspoof = (e & 16) != 0;
			dispatch(i, PORT_EV_READABLE, 0);
			break;
		case 2:
			i = pick(&in, true);
			if (i >= 0)
				dispatch(i, PORT_EV_CONNECTED, (e & 8) ? PORT_ECONNREFUSED : 0);
			break;
		case 3:
			i = pick(&in, true);
			len = blob(&in, &p);
			if (i < 0)
				break;
			{
				struct fsock *s = &socks[i];
				size_t room = STREAM_MAX - s->slen;
				if (e & 8) {
					if (len + 2 > room)
						break;
					s->stream[s->slen] = (uint8_t)(len >> 8);
					s->stream[s->slen + 1] = (uint8_t)len;
					memcpy(s->stream + s->slen + 2, p, len);
					if (s->qlen > 2)
						patch(s->stream + s->slen + 2, len, s->q + 2, s->qlen - 2);
					s->slen += len + 2;
				} else {
					len = len < room ? len : room;
					memcpy(s->stream + s->slen, p, len);
					s->slen += len;
				}
			}
			dispatch(i, PORT_EV_READABLE, 0);
			break;
		case 4:
			send_limit = (e & 0x80) ? ((unsigned)e >> 3 & 15) + 1 : 0;
			i = pick(&in, true);
			if (i >= 0)
				dispatch(i, PORT_EV_WRITABLE, 0);
			break;
		case 5:
			i = pick(&in, true);
			if (i < 0)
				break;
			if (e & 8) {
				dispatch(i, PORT_EV_CLOSED, PORT_ECONNRESET);
			} else {
				socks[i].eof = true;
				dispatch(i, PORT_EV_READABLE, 0);
			}
			break;
		case 6:
			now_ms += (uint64_t)(e >> 3) * 250;
			dns_resolver_tick(&r, now_ms);
			break;
		case 7:
			if (nlk > 0) {
				struct lookup *l = &lk[(unsigned)(e >> 3) % nlk];
				if (l->calls == 0 && !l->cancelled) {
					dns_cancel(&r, l->handle);
					l->cancelled = true;
				}
			}
			break;
		}
	}
	/* drain: every lookup ends within the configured rounds of timeouts
	 * (time jumps to the resolver's next deadline; 20 minutes at most) */
	send_limit = 0;
	uint64_t end = now_ms + 20 * 60 * 1000;
	while (now_ms < end) {
		bool open = false;
		for (unsigned k = 0; k < nlk; k++)
			open |= !lk[k].cancelled && lk[k].calls == 0;
		if (!open)
			break;
		uint32_t next = dns_resolver_next_ms(&r, now_ms);
		now_ms += next ? (next < 60000 ? next : 60000) : 1;
		dns_resolver_tick(&r, now_ms);
	}
	dns_resolver_tick(&r, now_ms + 1);
	for (unsigned k = 0; k < nlk; k++)
		check(lk[k].cancelled ? lk[k].calls == 0 : lk[k].calls == 1);
	for (int k = 0; k < SOCKS; k++)
		check(!socks[k].used); /* every socket closed */
	char status[256];
	check(dns_resolver_status(&r, status, sizeof(status)) < sizeof(status));
	return 0;
}
