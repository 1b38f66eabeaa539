/* harness.c — the netdrv test image: the qemu-virt network and entropy
 * code (virtio-mmio, virtio-net, virtio-rng, lwIP glue) on a minimal board
 * of its own (MMU, PL011 log, generic-timer clock), driven by
 * tests/qemu/test_netdrv.py. Exercises port_random, DHCP/static IPv4,
 * SLAAC, TCP listen/accept/echo with back-pressure, a bounded backlog,
 * outbound TCP over IPv4 and IPv6, refused connects and UDP.
 * Peers are only QEMU user networking's host alias (10.0.2.2, fec0::2),
 * which slirp maps to the host's loopback. Ports come in as -D flags. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "port.h"
#include "qv_net.h"

#ifndef HOST_TCP
#error "build with -DHOST_TCP=... -DHOST_TCP6=... -DHOST_UDP=... -DHOST_REFUSED=..."
#endif

/* ---- a minimal board: what board/qemu-virt provides in the real image -- */

#define UART_DR ((volatile uint32_t *)0x09000000u)
#define UART_FR ((volatile uint32_t *)0x09000018u)
#define UART_FR_TXFF (1u << 5)

static void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		while (*UART_FR & UART_FR_TXFF)
			;
		*UART_DR = (uint8_t)s[i];
	}
}

void port_log_sink(enum port_log_level level, const char *line, size_t len)
{
	(void)level;
	uart_write(line, len);
	uart_write("\r\n", 2);
}

uint64_t port_now_ms(void)
{
	uint32_t lo, hi, frq;
	__asm__ volatile("isb; mrrc p15, 0, %0, %1, c14" : "=r"(lo), "=r"(hi));
	__asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(frq));
	return (((uint64_t)hi << 32) | lo) / (frq / 1000u);
}

const char *port_setting(const char *key)
{
	if (strcmp(key, "hostname") == 0)
		return "netdrv-test";
#ifdef NETDRV_IPV4
	if (strcmp(key, "ipv4") == 0)
		return NETDRV_IPV4;
#endif
	return NULL;
}

void port_reboot(void)
{
	uart_write("REBOOT\r\n", 8);
	for (;;)
		;
}

#if defined(__has_include)
#if __has_include("qv_irq.h")
#include "qv_irq.h"
/* No GIC in this image: the network code falls back to pure polling. */
int qv_irq_enable(unsigned irq, void (*handler)(void *), void *ctx)
{
	return PORT_ENOTSUP;
}
#endif
#endif

const char *port_strerror(int err)
{
	static char buf[16];
	snprintf(buf, sizeof(buf), "error %d", err);
	return buf;
}

/* Flat 1 MiB sections like the board's startup: RAM normal write-back
 * cacheable, everything else device memory, so the drivers' barriers run
 * against a cached view of the rings as on hardware. */
static uint32_t ttb[4096] __attribute__((aligned(16384)));

static void mmu_on(void)
{
	for (uint32_t i = 0; i < 4096; i++) {
		uint32_t base = i << 20;
		bool ram = base >= 0x40000000u && base < 0x48000000u;
		/* section | AP=11 | RAM: TEX=001 C B (WB-WA) | device: B, XN */
		ttb[i] = base | 2u | (3u << 10) | (ram ? (1u << 12) | 0xcu : 0x4u | 0x10u);
	}
	__asm__ volatile("dsb" ::: "memory");
	__asm__ volatile("mcr p15, 0, %0, c2, c0, 2" ::"r"(0));		   /* TTBCR */
	__asm__ volatile("mcr p15, 0, %0, c2, c0, 0" ::"r"((uint32_t)ttb | 0x4a)); /* TTBR0, WB walks */
	__asm__ volatile("mcr p15, 0, %0, c3, c0, 0" ::"r"(1));		   /* DACR: client */
	__asm__ volatile("mcr p15, 0, %0, c8, c7, 0" ::"r"(0));		   /* TLBIALL */
	__asm__ volatile("dsb; isb" ::: "memory");
	uint32_t sctlr;
	__asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(sctlr));
	sctlr |= 1u | (1u << 2) | (1u << 12); /* M, C, I */
	__asm__ volatile("mcr p15, 0, %0, c1, c0, 0; isb" ::"r"(sctlr) : "memory");
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char b[200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		port_log_sink(PORT_LOG_INFO, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

static const char *fmt_addr(const struct port_addr *a, char *t, size_t n)
{
	if (a->family == PORT_AF_INET) {
		snprintf(t, n, "%u.%u.%u.%u port %u", a->ip[0], a->ip[1], a->ip[2], a->ip[3], a->port);
		return t;
	}
	int o = 0;
	for (int i = 0; i < 16 && (size_t)o < n; i += 2)
		o += snprintf(t + o, n - (size_t)o, "%x%s", (a->ip[i] << 8) | a->ip[i + 1], i < 14 ? ":" : "");
	if ((size_t)o < n)
		snprintf(t + o, n - (size_t)o, " port %u", a->port);
	return t;
}

/* ---- echo server on :25 (IPv4 and IPv6), with back-pressure ------------ */

struct echo {
	char buf[2048];
	size_t len;
	bool eof;
	unsigned total;
};
static struct echo echos[32];

static void echo_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct echo *e = &echos[sock];
	if (ev == PORT_EV_CLOSED) {
		say("echo %d: closed err %d after %u", sock, err, e->total);
		port_close(sock);
		return;
	}
	for (;;) {
		/* Never read more than we could send: a full send queue stops
		 * reading, which closes the peer's window. */
		while (e->len) {
			long w = port_tcp_send(sock, e->buf, e->len);
			if (w <= 0) {
				if (w != PORT_EAGAIN) {
					say("echo %d: send error %ld", sock, w);
					port_close(sock);
				}
				return; /* PORT_EV_WRITABLE brings us back */
			}
			memmove(e->buf, e->buf + w, e->len - (size_t)w);
			e->len -= (size_t)w;
			e->total += (unsigned)w;
		}
		if (e->eof) {
			say("echo %d: EOF after %u bytes", sock, e->total);
			port_close(sock);
			return;
		}
		long n = port_tcp_recv(sock, e->buf, sizeof(e->buf));
		if (n > 0) {
			e->len = (size_t)n;
		} else if (n == 0) {
			e->eof = true;
		} else {
			if (n != PORT_EAGAIN) {
				say("echo %d: recv error %ld", sock, n);
				port_close(sock);
			}
			return;
		}
	}
}

static void echo_listen_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct port_addr peer;
	char t[80];
	int c;
	while ((c = port_tcp_accept(sock, &peer, echo_event, NULL)) >= 0) {
		memset(&echos[c], 0, sizeof(echos[c]));
		say("echo: accepted %d from %s", c, fmt_addr(&peer, t, sizeof(t)));
	}
}

/* ---- a listener on :26 that does not accept until the host connects to
 * :28 (or 30 s pass): the accept backlog bound ------------------------- */

static struct {
	int listener;
	uint64_t first_ms;
	bool release;
	unsigned accepted;
} slow;

static void slow_listen_event(void *ctx, int sock, enum port_event ev, int err)
{
	if (!slow.first_ms) {
		slow.first_ms = port_now_ms();
		say("slow: first ACCEPT, holding");
	}
}

static void slow_conn_event(void *ctx, int sock, enum port_event ev, int err)
{
}

static void release_listen_event(void *ctx, int sock, enum port_event ev, int err)
{
	int c;
	while ((c = port_tcp_accept(sock, NULL, slow_conn_event, NULL)) >= 0)
		port_close(c);
	slow.release = true;
}

static void slow_check(void)
{
	if (!slow.first_ms || (!slow.release && port_now_ms() - slow.first_ms < 30000))
		return;
	int c;
	struct port_addr peer;
	while ((c = port_tcp_accept(slow.listener, &peer, slow_conn_event, NULL)) >= 0) {
		char m[16];
		int n = snprintf(m, sizeof(m), "hi %u\n", ++slow.accepted);
		port_tcp_send(c, m, (size_t)n);
		port_close(c);
	}
	say("slow: accepted %u, then %d", slow.accepted, c);
	slow.first_ms = 0;
	slow.release = false;
}

/* ---- a reader on :27 that ignores its input for 5 s: many tiny segments
 * pile up in the socket and must not pin the RX pool ------------------- */

static struct {
	int sock;
	uint64_t since_ms;
	unsigned total;
	bool woke, eof;
} lazy = { .sock = -1 };

static void lazy_conn_event(void *ctx, int sock, enum port_event ev, int err)
{
}

static void lazy_listen_event(void *ctx, int sock, enum port_event ev, int err)
{
	int c;
	while ((c = port_tcp_accept(sock, NULL, lazy_conn_event, NULL)) >= 0) {
		if (lazy.sock >= 0) {
			port_close(c);
			continue;
		}
		lazy.sock = c;
		lazy.since_ms = port_now_ms();
		lazy.total = 0;
		lazy.woke = lazy.eof = false;
	}
}

static void lazy_check(void)
{
	if (lazy.sock < 0 || port_now_ms() - lazy.since_ms < 5000)
		return;
	if (!lazy.woke) {
		lazy.woke = true;
		say("lazy: reading now");
	}
	char buf[100];
	long n;
	while ((n = port_tcp_recv(lazy.sock, buf, sizeof(buf))) > 0)
		lazy.total += (unsigned)n;
	if (n == 0 && !lazy.eof) {
		lazy.eof = true;
		int k = snprintf(buf, sizeof(buf), "got %u bytes\n", lazy.total);
		port_tcp_send(lazy.sock, buf, (size_t)k);
		say("lazy: %s", buf);
		port_close(lazy.sock);
		lazy.sock = -1;
	}
}

/* ---- outbound TCP and UDP to the host alias ---------------------------- */

static void out_event(void *ctx, int sock, enum port_event ev, int err)
{
	const char *tag = ctx;
	char buf[128];
	long n;
	switch (ev) {
	case PORT_EV_CONNECTED:
		say("out %s: connected err %d", tag, err);
		if (err) {
			port_close(sock);
			return;
		}
		n = port_tcp_send(sock, "hello from board\n", 17);
		say("out %s: sent %ld", tag, n);
		return;
	case PORT_EV_READABLE:
		while ((n = port_tcp_recv(sock, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			say("out %s: got '%s'", tag, buf);
		}
		if (n == 0) {
			say("out %s: EOF", tag);
			port_close(sock);
		}
		return;
	case PORT_EV_CLOSED:
		say("out %s: closed %d", tag, err);
		port_close(sock);
		return;
	default:
		return;
	}
}

static void udp_event(void *ctx, int sock, enum port_event ev, int err)
{
	char buf[256], t[80];
	struct port_addr from;
	long n;
	while ((n = port_udp_recvfrom(sock, buf, sizeof(buf) - 1, &from)) >= 0) {
		buf[n] = '\0';
		say("udp: got '%s' from %s", buf, fmt_addr(&from, t, sizeof(t)));
	}
}

static bool have_addr(uint8_t family, uint8_t first, uint8_t second)
{
	struct port_addr a[4];
	int n = port_net_addrs(a, 4);
	for (int i = 0; i < n; i++)
		if (a[i].family == family && (!first || (a[i].ip[0] == first && a[i].ip[1] == second)))
			return true;
	return false;
}

int main(void)
{
	mmu_on();
	say("netdrv: boot");

	int err = qv_rng_init();
	say("rng init %d", err);
	uint8_t r1[16], r2[16], big[4096];
	int e1 = port_random(r1, sizeof(r1));
	int e2 = port_random(r2, sizeof(r2));
	char hex[40];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", r1[i]);
	say("random %d %d %s differ=%d", e1, e2, hex, memcmp(r1, r2, sizeof(r1)) != 0);
	uint64_t t0 = port_now_ms();
	err = port_random(big, sizeof(big));
	unsigned zero = 0;
	for (size_t i = 0; i < sizeof(big); i++)
		zero += big[i] == 0;
	say("random 4096 bytes: %d in %u ms, %u zero bytes", err, (unsigned)(port_now_ms() - t0), zero);

	err = qv_net_init();
	say("net init %d", err);
	struct port_addr any4 = { .family = PORT_AF_INET, .port = 25 };
	struct port_addr any6 = { .family = PORT_AF_INET6, .port = 25 };
	int l4 = port_tcp_listen(&any4, echo_listen_event, NULL);
	int l6 = port_tcp_listen(&any6, echo_listen_event, NULL);
	int dup = port_tcp_listen(&any4, echo_listen_event, NULL);
	say("listen v4 %d v6 %d dup %d", l4, l6, dup);
	struct port_addr p26 = { .family = PORT_AF_INET, .port = 26 };
	slow.listener = port_tcp_listen(&p26, slow_listen_event, NULL);
	struct port_addr p27 = { .family = PORT_AF_INET, .port = 27 };
	struct port_addr p28 = { .family = PORT_AF_INET, .port = 28 };
	int l27 = port_tcp_listen(&p27, lazy_listen_event, NULL);
	int l28 = port_tcp_listen(&p28, release_listen_event, NULL);
	say("listen :26 %d :27 %d :28 %d", slow.listener, l27, l28);
	int u1 = port_udp_open(PORT_AF_INET, udp_event, NULL);
	int u2 = port_udp_open(PORT_AF_INET, udp_event, NULL);
	int u6 = port_udp_open(PORT_AF_INET6, udp_event, NULL);
	say("udp %d %d %d", u1, u2, u6);

	bool v4_done = false, v6_done = false;
	uint64_t last = 0;
	for (;;) {
		qv_net_poll(port_now_ms());
		slow_check();
		lazy_check();
		if (!v4_done && have_addr(PORT_AF_INET, 0, 0)) {
			v4_done = true;
			struct port_addr host = { .family = PORT_AF_INET, .ip = { 10, 0, 2, 2 }, .port = HOST_TCP };
			say("connect v4 %d", port_tcp_connect(&host, out_event, "v4"));
			struct port_addr uh = { .family = PORT_AF_INET, .ip = { 10, 0, 2, 2 }, .port = HOST_UDP };
			say("udp send %ld", port_udp_sendto(u1, "ping-udp1", 9, &uh));
			say("udp send %ld", port_udp_sendto(u2, "ping-udp2", 9, &uh));
			struct port_addr rf = { .family = PORT_AF_INET, .ip = { 10, 0, 2, 2 }, .port = HOST_REFUSED };
			say("connect refused %d", port_tcp_connect(&rf, out_event, "refused"));
		}
		if (v4_done && !v6_done && have_addr(PORT_AF_INET6, 0xfe, 0xc0)) {
			v6_done = true;
			struct port_addr h6 = { .family = PORT_AF_INET6,
						.ip = { 0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
						.port = HOST_TCP6 };
			say("connect v6 %d", port_tcp_connect(&h6, out_event, "v6"));
			h6.port = HOST_UDP6;
			say("udp6 send %ld", port_udp_sendto(u6, "ping-udp6", 9, &h6));
			say("udp6 on v4 socket %ld", port_udp_sendto(u1, "x", 1, &h6));
		}
		if (port_now_ms() - last > 1000) {
			last = port_now_ms();
			struct qv_net_stats st;
			qv_net_stats(&st);
			say("tick %u s, events %u, rx nobuf %u shed %u, pool used %u held %u, refused %u, ooseq %u, heap %u",
			    (unsigned)(last / 1000), (unsigned)qv_net_events(), (unsigned)st.net.rx_nobuf,
			    (unsigned)st.net.rx_shed, (unsigned)st.net.pool_used, st.pool_held, st.refused,
			    st.ooseq, (unsigned)st.net.heap_used);
		}
	}
}
