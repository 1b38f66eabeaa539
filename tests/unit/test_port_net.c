/* test_port_net — the host board's sockets (board/host/net_posix.c) over
 * loopback only: TCP connect/accept/echo/EOF on 127.0.0.1 and ::1,
 * refused connects, peer reset, WRITABLE after a full send buffer, UDP
 * echo and truncation, handle exhaustion, closing handles from inside
 * callbacks, bad handles. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "port.h"
#include "support/port_test_util.h"

#define MAX_EV 64 /* recorder slots: one per handle number we may see */

/* Every callback lands here: counts per handle and event, last error. */
struct rec {
	int count[MAX_EV][PORT_EV_CLOSED + 1];
	int err[MAX_EV][PORT_EV_CLOSED + 1];
};
static struct rec R;

static void record(void *ctx, int sock, enum port_event ev, int err)
{
	(void)ctx;
	assert_true(sock >= 0 && sock < MAX_EV);
	R.count[sock][ev]++;
	R.err[sock][ev] = err;
}

static int setup(void **state)
{
	(void)state;
	memset(&R, 0, sizeof(R));
	return 0;
}

/* Runs the loop until count[sock][ev] reaches want, at most ~5 s. */
static bool pump(int sock, enum port_event ev, int want)
{
	uint64_t end = port_now_ms() + 5000;
	while (R.count[sock][ev] < want && port_now_ms() < end)
		port_poll(20);
	return R.count[sock][ev] >= want;
}

static struct port_addr loop_addr(enum port_af af, uint16_t port)
{
	struct port_addr a;
	assert_int_equal(port_addr_parse(af == PORT_AF_INET ? "127.0.0.1" : "::1", &a), 0);
	a.port = port;
	return a;
}

/* A listener on loopback port 0 and the port the kernel gave it. */
static int listen_any_port(enum port_af af, uint16_t *port)
{
	struct port_addr a = loop_addr(af, 0), local;
	int l = port_tcp_listen(&a, record, NULL);
	assert_true(l >= 0);
	assert_int_equal(port_tcp_addrs(l, &local, NULL), 0);
	assert_int_equal(local.family, af);
	assert_int_not_equal(local.port, 0);
	*port = local.port;
	return l;
}

/* Listener + connected client + accepted server side. */
static void tcp_pair(enum port_af af, int *l, int *c, int *s)
{
	uint16_t port;
	*l = listen_any_port(af, &port);
	struct port_addr to = loop_addr(af, port);
	*c = port_tcp_connect(&to, record, NULL);
	assert_true(*c >= 0);
	assert_true(pump(*c, PORT_EV_CONNECTED, 1));
	assert_int_equal(R.err[*c][PORT_EV_CONNECTED], 0);
	assert_true(pump(*l, PORT_EV_ACCEPT, 1));
	struct port_addr peer;
	*s = port_tcp_accept(*l, &peer, record, NULL);
	assert_true(*s >= 0);
	assert_int_equal(peer.family, af);
	struct port_addr cl;
	assert_int_equal(port_tcp_addrs(*c, &cl, NULL), 0);
	assert_int_equal(peer.port, cl.port);
	assert_memory_equal(peer.ip, cl.ip, 16);
}

static long recv_all(int sock, char *buf, size_t want)
{
	size_t got = 0;
	int round = 0;
	while (got < want && round < 250) {
		long n = port_tcp_recv(sock, buf + got, want - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n != PORT_EAGAIN)
			return n;
		port_poll(20);
		round++;
	}
	return (long)got;
}

static void echo_both_ways_then_eof(enum port_af af)
{
	int l, c, s;
	tcp_pair(af, &l, &c, &s);
	struct port_addr sl, sr, ll;
	assert_int_equal(port_tcp_addrs(s, &sl, &sr), 0);
	assert_int_equal(port_tcp_addrs(l, &ll, NULL), 0);
	assert_int_equal(sl.port, ll.port);

	char buf[64];
	assert_int_equal(port_tcp_recv(s, buf, sizeof(buf)), PORT_EAGAIN);
	assert_int_equal(port_tcp_send(c, "EHLO test\r\n", 11), 11);
	assert_true(pump(s, PORT_EV_READABLE, 1));
	assert_int_equal(recv_all(s, buf, 11), 11);
	assert_memory_equal(buf, "EHLO test\r\n", 11);
	assert_int_equal(port_tcp_send(s, "250 ok\r\n", 8), 8);
	assert_int_equal(recv_all(c, buf, 8), 8);
	assert_memory_equal(buf, "250 ok\r\n", 8);
	/* No short send happened: WRITABLE must not have fired. */
	assert_int_equal(R.count[c][PORT_EV_WRITABLE], 0);
	assert_int_equal(R.count[s][PORT_EV_WRITABLE], 0);

	port_close(c);
	int before = R.count[s][PORT_EV_READABLE];
	assert_true(pump(s, PORT_EV_READABLE, before + 1));
	assert_int_equal(port_tcp_recv(s, buf, sizeof(buf)), 0); /* orderly EOF */
	assert_int_equal(port_tcp_recv(s, buf, sizeof(buf)), 0);
	/* After EOF the handle is left out of poll: no event storm. */
	before = R.count[s][PORT_EV_READABLE];
	for (int i = 0; i < 5; i++)
		port_poll(10);
	assert_int_equal(R.count[s][PORT_EV_READABLE], before);
	port_close(s);
	port_close(l);
}

static void tcp_echo_ipv4(void **state)
{
	(void)state;
	echo_both_ways_then_eof(PORT_AF_INET);
}

static void tcp_echo_ipv6(void **state)
{
	(void)state;
	if (!ptu_have_ipv6_loopback()) {
		print_message("SKIPPED: no IPv6 loopback (::1) on this machine\n");
		skip();
	}
	echo_both_ways_then_eof(PORT_AF_INET6);
}

static void v4_and_v6_listeners_share_a_port_and_reuse_is_refused(void **state)
{
	(void)state;
	uint16_t port;
	int l4 = listen_any_port(PORT_AF_INET, &port);
	struct port_addr a = loop_addr(PORT_AF_INET, port);
	assert_int_equal(port_tcp_listen(&a, record, NULL), PORT_EADDRINUSE);
	if (ptu_have_ipv6_loopback()) {
		struct port_addr any6 = { .family = PORT_AF_INET6, .port = port };
		int l6 = port_tcp_listen(&any6, record, NULL);
		assert_true(l6 >= 0); /* IPV6_V6ONLY: no clash with the v4 one */
		port_close(l6);
	} else {
		print_message("SKIPPED (part): no IPv6 loopback\n");
	}
	struct port_addr bad = { .family = 9 };
	assert_int_equal(port_tcp_listen(&bad, record, NULL), PORT_EINVAL);
	port_close(l4);
}

static void connect_to_closed_port_is_refused_by_event(void **state)
{
	(void)state;
	uint16_t port;
	int l = listen_any_port(PORT_AF_INET, &port);
	port_close(l); /* now nothing listens there */
	struct port_addr to = loop_addr(PORT_AF_INET, port);
	int c = port_tcp_connect(&to, record, NULL);
	assert_true(c >= 0);
	assert_true(pump(c, PORT_EV_CONNECTED, 1));
	assert_int_equal(R.err[c][PORT_EV_CONNECTED], PORT_ECONNREFUSED);
	char b[4];
	assert_int_equal(port_tcp_recv(c, b, sizeof(b)), PORT_ECONNREFUSED);
	assert_int_equal(port_tcp_send(c, "x", 1), PORT_ECONNREFUSED);
	port_close(c);
}

static void peer_reset_is_reported(void **state)
{
	(void)state;
	uint16_t port;
	int l = listen_any_port(PORT_AF_INET, &port);
	/* The peer is a plain socket so it can abort with SO_LINGER 0. */
	int raw = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(raw >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(raw, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(pump(l, PORT_EV_ACCEPT, 1));
	int s = port_tcp_accept(l, NULL, record, NULL);
	assert_true(s >= 0);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(setsockopt(raw, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(raw); /* RST */
	uint64_t end = port_now_ms() + 5000;
	long got = PORT_EAGAIN;
	while (port_now_ms() < end && R.count[s][PORT_EV_CLOSED] == 0 && got == PORT_EAGAIN) {
		port_poll(20);
		if (R.count[s][PORT_EV_READABLE]) {
			char b[8];
			got = port_tcp_recv(s, b, sizeof(b));
		}
	}
	if (R.count[s][PORT_EV_CLOSED])
		assert_int_equal(R.err[s][PORT_EV_CLOSED], PORT_ECONNRESET);
	else
		assert_int_equal(got, PORT_ECONNRESET);
	/* Sticky: the handle stays valid and keeps saying why. */
	assert_int_equal(port_tcp_send(s, "x", 1), PORT_ECONNRESET);
	port_close(s);
	port_close(l);
}

static void full_send_buffer_gives_eagain_then_writable(void **state)
{
	(void)state;
	int l, c, s;
	tcp_pair(PORT_AF_INET, &l, &c, &s);
	static char chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	size_t sent = 0;
	long n;
	/* Nobody reads: the kernel buffers fill up within a few MiB. */
	while ((n = port_tcp_send(c, chunk, sizeof(chunk))) > 0) {
		sent += (size_t)n;
		assert_true(sent < 256u * 1024 * 1024);
	}
	assert_int_equal(n, PORT_EAGAIN);
	assert_int_equal(R.count[c][PORT_EV_WRITABLE], 0);
	/* Drain on the other side until the sender hears WRITABLE. */
	static char sink[65536];
	size_t got = 0;
	uint64_t end = port_now_ms() + 10000;
	while (R.count[c][PORT_EV_WRITABLE] == 0 && port_now_ms() < end) {
		port_poll(10);
		long r;
		while ((r = port_tcp_recv(s, sink, sizeof(sink))) > 0)
			got += (size_t)r;
	}
	assert_int_equal(R.count[c][PORT_EV_WRITABLE], 1);
	assert_true(got > 0);
	assert_true(port_tcp_send(c, chunk, 100) > 0);
	/* One WRITABLE per refused send, not one per loop turn. */
	for (int i = 0; i < 5; i++) {
		port_poll(5);
		while (port_tcp_recv(s, sink, sizeof(sink)) > 0)
			;
	}
	assert_int_equal(R.count[c][PORT_EV_WRITABLE], 1);
	port_close(c);
	port_close(s);
	port_close(l);
}

static void udp_echo(enum port_af af)
{
	int a = port_udp_open(af, record, NULL), b = port_udp_open(af, record, NULL);
	assert_true(a >= 0 && b >= 0);
	struct port_addr al, bl;
	assert_int_equal(port_tcp_addrs(a, &al, NULL), 0);
	assert_int_equal(port_tcp_addrs(b, &bl, NULL), 0);
	assert_int_not_equal(al.port, 0);
	assert_int_not_equal(bl.port, al.port);
	struct port_addr to_b = loop_addr(af, bl.port);
	char buf[128];
	assert_int_equal(port_udp_recvfrom(b, buf, sizeof(buf), NULL), PORT_EAGAIN);
	assert_int_equal(port_udp_sendto(a, "query", 5, &to_b), 5);
	assert_true(pump(b, PORT_EV_READABLE, 1));
	struct port_addr from;
	assert_int_equal(port_udp_recvfrom(b, buf, sizeof(buf), &from), 5);
	assert_memory_equal(buf, "query", 5);
	assert_int_equal(from.family, af);
	assert_int_equal(from.port, al.port);
	assert_int_equal(port_udp_sendto(b, "answer", 6, &from), 6);
	assert_true(pump(a, PORT_EV_READABLE, 1));
	assert_int_equal(port_udp_recvfrom(a, buf, sizeof(buf), NULL), 6);
	assert_memory_equal(buf, "answer", 6);
	/* One datagram per call, cut to the buffer, the rest dropped. */
	char big[100];
	memset(big, 'z', sizeof(big));
	assert_int_equal(port_udp_sendto(a, big, sizeof(big), &to_b), 100);
	assert_true(pump(b, PORT_EV_READABLE, 2));
	assert_int_equal(port_udp_recvfrom(b, buf, 10, NULL), 10);
	assert_int_equal(port_udp_recvfrom(b, buf, sizeof(buf), NULL), PORT_EAGAIN);
	/* The wrong family for this socket is a caller bug. */
	struct port_addr other = loop_addr(af == PORT_AF_INET ? PORT_AF_INET6 : PORT_AF_INET, 53);
	assert_int_equal(port_udp_sendto(a, "x", 1, &other), PORT_EINVAL);
	port_close(a);
	port_close(b);
}

static void udp_echo_ipv4(void **state)
{
	(void)state;
	udp_echo(PORT_AF_INET);
}

static void udp_echo_ipv6(void **state)
{
	(void)state;
	if (!ptu_have_ipv6_loopback()) {
		print_message("SKIPPED: no IPv6 loopback (::1) on this machine\n");
		skip();
	}
	udp_echo(PORT_AF_INET6);
}

static void handle_table_is_bounded(void **state)
{
	(void)state;
	uint16_t port;
	int l = listen_any_port(PORT_AF_INET, &port);
	int h[MAX_EV + 8];
	int n = 0;
	int r;
	while ((r = port_udp_open(PORT_AF_INET, record, NULL)) >= 0) {
		assert_true(n < MAX_EV); /* the board promises a bound */
		h[n++] = r;
	}
	assert_int_equal(r, PORT_ENOMEM);
	assert_true(n >= 16);
	struct port_addr to = loop_addr(PORT_AF_INET, port);
	assert_int_equal(port_tcp_connect(&to, record, NULL), PORT_ENOMEM);
	assert_int_equal(port_tcp_listen(&to, record, NULL), PORT_ENOMEM);
	/* A connection arriving now is refused by the board, not left
	 * hanging in the backlog. */
	int raw = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(raw, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(pump(l, PORT_EV_ACCEPT, 1));
	assert_int_equal(port_tcp_accept(l, NULL, record, NULL), PORT_ENOMEM);
	char b[4];
	assert_true(recv(raw, b, sizeof(b), 0) <= 0); /* EOF or reset */
	close(raw);
	assert_int_equal(port_tcp_accept(l, NULL, record, NULL), PORT_EAGAIN);
	for (int i = 0; i < n; i++)
		port_close(h[i]);
	r = port_udp_open(PORT_AF_INET, record, NULL);
	assert_true(r >= 0);
	port_close(r);
	port_close(l);
}

/* ---- closing from inside callbacks -------------------------------------- */

static struct {
	int victim;	/* a second handle to close from the first one's callback */
	int reopened, reopened2; /* handles opened during dispatch, in freed slots */
	int victim_events_after_close;
	bool closed;
} K;

static void victim_cb(void *ctx, int sock, enum port_event ev, int err)
{
	(void)ctx;
	(void)ev;
	(void)err;
	(void)sock;
	if (K.closed)
		K.victim_events_after_close++;
}

static void closer_cb(void *ctx, int sock, enum port_event ev, int err)
{
	record(ctx, sock, ev, err);
	if (ev != PORT_EV_READABLE || K.closed)
		return;
	K.closed = true;
	port_close(sock);     /* itself */
	port_close(K.victim); /* another one with an event pending in this round */
	/* Reuse a freed slot at once: stale events must not reach it. */
	K.reopened = port_udp_open(PORT_AF_INET, victim_cb, NULL);
	K.reopened2 = port_udp_open(PORT_AF_INET, victim_cb, NULL);
	assert_true(K.reopened >= 0 && K.reopened2 >= 0);
}

static void closing_handles_inside_a_callback_is_safe(void **state)
{
	(void)state;
	memset(&K, 0, sizeof(K));
	uint16_t port;
	int l = listen_any_port(PORT_AF_INET, &port);
	struct port_addr to = loop_addr(PORT_AF_INET, port);
	/* The closer is accepted first so it gets the lower handle and is
	 * dispatched before the victim in the same poll round. */
	int c3 = port_tcp_connect(&to, record, NULL);
	assert_true(c3 >= 0);
	assert_true(pump(l, PORT_EV_ACCEPT, 1));
	int s3 = port_tcp_accept(l, NULL, closer_cb, NULL);
	assert_true(s3 >= 0);
	int c2 = port_tcp_connect(&to, record, NULL);
	assert_true(c2 >= 0);
	assert_true(pump(l, PORT_EV_ACCEPT, 2));
	int s2 = port_tcp_accept(l, NULL, victim_cb, NULL);
	assert_true(s2 > s3);
	assert_true(pump(c3, PORT_EV_CONNECTED, 1));
	assert_true(pump(c2, PORT_EV_CONNECTED, 1));
	K.victim = s2;
	/* Both readable before the next poll. */
	assert_int_equal(port_tcp_send(c2, "a", 1), 1);
	assert_int_equal(port_tcp_send(c3, "b", 1), 1);
	usleep(50000);
	uint64_t end = port_now_ms() + 3000;
	while (!K.closed && port_now_ms() < end)
		port_poll(20);
	assert_true(K.closed);
	for (int i = 0; i < 5; i++)
		port_poll(5);
	assert_int_equal(K.victim_events_after_close, 0);
	/* The victim's handle is free or holds one of the new sockets. */
	char b[2];
	if (s2 != K.reopened && s2 != K.reopened2)
		assert_int_equal(port_tcp_recv(s2, b, 1), PORT_EINVAL);
	port_close(K.reopened);
	port_close(K.reopened2);
	port_close(c2);
	port_close(c3);
	port_close(l);
}

static void bad_handles_are_einval(void **state)
{
	(void)state;
	char b[4];
	assert_int_equal(port_tcp_send(-1, "x", 1), PORT_EINVAL);
	assert_int_equal(port_tcp_send(10000, "x", 1), PORT_EINVAL);
	assert_int_equal(port_tcp_recv(5, b, sizeof(b)), PORT_EINVAL); /* free slot */
	assert_int_equal(port_udp_recvfrom(-3, b, sizeof(b), NULL), PORT_EINVAL);
	assert_int_equal(port_tcp_addrs(63, NULL, NULL), PORT_EINVAL);
	int u = port_udp_open(PORT_AF_INET, record, NULL);
	assert_true(u >= 0);
	assert_int_equal(port_tcp_send(u, "x", 1), PORT_EINVAL); /* not TCP */
	assert_int_equal(port_tcp_accept(u, NULL, record, NULL), PORT_EINVAL);
	port_close(u);
	assert_int_equal(port_udp_recvfrom(u, b, sizeof(b), NULL), PORT_EINVAL);
	port_close(u); /* twice: harmless */
	port_close(-1);
	assert_int_equal(port_udp_open(PORT_AF_NONE, record, NULL), PORT_EINVAL);
}

static void interface_addresses_include_loopback(void **state)
{
	(void)state;
	struct port_addr a[32];
	int n = port_net_addrs(a, 32);
	assert_true(n >= 1 && n <= 32);
	bool lo = false;
	for (int i = 0; i < n; i++) {
		char t[64];
		if (strcmp(port_addr_format(&a[i], false, t, sizeof(t)), "127.0.0.1") == 0)
			lo = true;
	}
	assert_true(lo);
	assert_int_equal(port_net_addrs(a, 1), 1); /* bounded by max */
	assert_int_equal(port_net_addrs(a, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(tcp_echo_ipv4, setup),
		cmocka_unit_test_setup(tcp_echo_ipv6, setup),
		cmocka_unit_test_setup(v4_and_v6_listeners_share_a_port_and_reuse_is_refused, setup),
		cmocka_unit_test_setup(connect_to_closed_port_is_refused_by_event, setup),
		cmocka_unit_test_setup(peer_reset_is_reported, setup),
		cmocka_unit_test_setup(full_send_buffer_gives_eagain_then_writable, setup),
		cmocka_unit_test_setup(udp_echo_ipv4, setup),
		cmocka_unit_test_setup(udp_echo_ipv6, setup),
		cmocka_unit_test_setup(handle_table_is_bounded, setup),
		cmocka_unit_test_setup(closing_handles_inside_a_callback_is_safe, setup),
		cmocka_unit_test_setup(bad_handles_are_einval, setup),
		cmocka_unit_test_setup(interface_addresses_include_loopback, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
