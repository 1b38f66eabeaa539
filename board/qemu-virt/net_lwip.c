/* net_lwip.c — port.h's network calls on lwIP's raw API (NO_SYS=1) over
 * virtio-net: one netif (DHCP or static IPv4, SLAAC IPv6), a bounded
 * socket table, events queued in lwIP callbacks and dispatched from
 * qv_net_poll() only. Exports qv_net_init/poll/pending, port_net_addrs,
 * port_tcp_*, port_udp_*, port_close, sys_now and the lwIP diag hooks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs: out-of-order queues */
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip/ethip6.h"
#include "netif/ethernet.h"

#include "../../drivers/net/virtio_net.h"
#include "port.h"
#include "qv_net.h"

#if defined(__has_include)
#if __has_include("qv_irq.h")
#include "qv_irq.h"
#define QV_NET_HAVE_IRQ 1
#endif
#endif

/* Bounds (port.h: "a bounded number of handles"). 24 handles cover the
 * sizing in lwipopts.h (8 sessions + 4 listeners + 4 UDP) plus
 * not-yet-accepted connections, which also hold a handle. */
#define QV_NET_SOCKETS 24
/* Established connections per listener waiting for port_tcp_accept;
 * beyond it a new one is reset. Sized for a burst that completes its
 * handshakes between two dispatches, not for a slow firmware (which
 * accepts everything and answers 421 itself when it is full). */
#define QV_NET_BACKLOG 8
/* Half-open (SYN received) connections per listener; beyond it lwIP
 * drops new SYNs and clients retransmit: a SYN flood cannot take every
 * pcb. */
#define QV_NET_HALF_OPEN 8
#define QV_UDP_QUEUE 4		/* datagrams waiting per UDP socket; beyond: dropped */
#define QV_UDP_MAX 4096		/* largest datagram we send (IP fragments above MTU) */
#define QV_RX_BUDGET 32		/* frames per poll, so timers and events are not starved */
#define QV_TCP_POLL_TICKS 2	/* tcp_poll interval (x 500 ms): retry a stalled send */
/* Received TCP data waits in its socket until the firmware reads it: in
 * the pool pbufs it came in (one 1.5 KiB pbuf per segment, however small)
 * or copied into the heap. Past QV_TCP_RX_PBUFS pool pbufs in one socket,
 * or when the pool runs short (fewer than QV_RX_POOL_COPY free), the
 * socket's pool pbufs are copied into one heap pbuf: a slow reader, or a
 * peer sending tiny segments, does not pin the pool. Copies stop where the
 * heap would be more than QV_RX_HEAP_MAX used, so held data always leaves
 * a send buffer's worth of heap to the sends that let the firmware read
 * on; the data then stays in the pool, and a socket that already holds
 * QV_TCP_RX_PBUFS_MAX refuses more until its reader catches up.
 * QV_RX_HEAP_SLACK covers a pbuf's header and alignment. */
#define QV_TCP_RX_PBUFS 2
#define QV_TCP_RX_PBUFS_MAX 6
#define QV_RX_MERGE 512u
#define QV_RX_POOL_COPY (PBUF_POOL_SIZE / 2)
#define QV_RX_HEAP_MAX (MEM_SIZE - TCP_SND_BUF)
#define QV_RX_HEAP_SLACK 32u
/* RX pool pbufs kept for frames that carry no data (ACKs, SYN, FIN, RST,
 * ARP, ND, ICMP). Data can be held (unread, refused, out of order); if it
 * could take the whole pool, the ACKs that free the send buffers of
 * sessions waiting to send would be dropped too, and those sessions would
 * never read again: a deadlock. Control frames are freed as soon as lwIP
 * has processed them, so a small reserve always drains. */
#define QV_RX_POOL_RESERVE 2
_Static_assert(QV_RX_POOL_RESERVE < QV_RX_POOL_COPY && QV_RX_POOL_COPY < PBUF_POOL_SIZE,
	       "pool thresholds out of order");
_Static_assert(QV_RX_HEAP_MAX >= TCP_WND, "the heap must hold one window of held data");

_Static_assert(QV_NET_SOCKETS <= 127, "backlog stores handles in int8_t");
_Static_assert(QV_NET_HALF_OPEN <= 255, "lwIP's backlog is a u8_t");

enum qs_kind { QS_FREE, QS_LISTEN, QS_TCP, QS_UDP };

enum {
	EV_CONNECTED = 1 << 0,
	EV_ACCEPT = 1 << 1,
	EV_READABLE = 1 << 2,
	EV_WRITABLE = 1 << 3,
	EV_CLOSED = 1 << 4,
};

struct qs_dgram {
	struct pbuf *p;
	ip_addr_t from;
	u16_t port;
};

struct qs {
	uint8_t kind;		/* enum qs_kind */
	uint8_t pend;		/* EV_* waiting for dispatch */
	uint8_t gen;		/* bumped on every free: a callback can tell it was closed */
	bool owned;		/* false: still in a listener's backlog */
	bool connecting;
	bool eof;		/* FIN received */
	bool want_writable;	/* a send was short: WRITABLE when room frees */
	int8_t listener;	/* backlog owner while !owned */
	int conn_err;		/* for EV_CONNECTED */
	int err;		/* sticky PORT_E* once lwIP freed the pcb */
	port_net_cb cb;
	void *ctx;
	struct tcp_pcb *tcp;	/* NULL once lwIP freed it (err callback) */
	struct udp_pcb *udp;
	struct pbuf *rx;	/* TCP bytes received, not yet read (<= TCP_WND) */
	int8_t backlog[QV_NET_BACKLOG]; /* listener: handles waiting for accept */
	uint8_t bl_head, bl_count;
	struct qs_dgram dq[QV_UDP_QUEUE];
	uint8_t dq_head, dq_count;
};

static struct {
	bool up;
	struct net_dev *dev;
	struct netif nif;
	struct qs sock[QV_NET_SOCKETS];
	ip4_addr_t v4_logged;
	bool v6_logged[LWIP_IPV6_NUM_ADDRESSES];
	ip6_addr_t v6_addr[LWIP_IPV6_NUM_ADDRESSES];
	uint32_t rx_nobuf, rx_shed, udp_drops;
	uint32_t events;	/* dispatched so far (qv_net_events) */
	bool nic_failed;	/* logged once */
} qn;

/* ---- lwIP platform hooks ---------------------------------------------- */

u32_t sys_now(void)
{
	/* lwIP's timers compare with wrap-around, so truncation is fine. */
	return (u32_t)port_now_ms();
}

void qv_lwip_diag(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	port_log_sink(PORT_LOG_DEBUG, line, len);
}

void qv_lwip_assert(const char *msg, const char *file, int line)
{
	char buf[200];
	int n = snprintf(buf, sizeof(buf), "net: lwIP assertion \"%s\" failed at %s:%d", msg, file,
			 line);
	port_log_sink(PORT_LOG_ERR, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	/* The stack's state is unknown now; a clean restart is the only safe
	 * way on (the queue is on flash, nothing acknowledged is lost). */
	port_reboot();
	for (;;) {
	}
}

static void qv_log(enum port_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qv_log(enum port_log_level lvl, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		port_log_sink(lvl, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- address conversion ----------------------------------------------- */

static int addr_to_lwip(const struct port_addr *a, ip_addr_t *ip)
{
	if (a->family == PORT_AF_INET) {
		ip4_addr_t v4;
		memcpy(&v4.addr, a->ip, 4); /* both network byte order */
		ip_addr_copy_from_ip4(*ip, v4);
		return 0;
	}
	if (a->family == PORT_AF_INET6) {
		IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(ip)->addr, a->ip, 16);
		ip6_addr_clear_zone(ip_2_ip6(ip));
		return 0;
	}
	return PORT_EINVAL;
}

static void addr_from_lwip(const ip_addr_t *ip, u16_t port, struct port_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port = port;
	if (IP_IS_V6(ip)) {
		a->family = PORT_AF_INET6;
		memcpy(a->ip, ip_2_ip6(ip)->addr, 16);
	} else {
		a->family = PORT_AF_INET;
		memcpy(a->ip, &ip_2_ip4(ip)->addr, 4);
	}
}

static int err_from_lwip(err_t e)
{
	switch (e) {
	case ERR_OK: return 0;
	case ERR_MEM: case ERR_BUF: return PORT_ENOMEM;
	case ERR_RTE: return PORT_ENETUNREACH;
	case ERR_USE: return PORT_EADDRINUSE;
	case ERR_RST: case ERR_CLSD: case ERR_CONN: return PORT_ECONNRESET;
	case ERR_ABRT: case ERR_TIMEOUT: return PORT_ETIMEDOUT;
	case ERR_VAL: case ERR_ARG: return PORT_EINVAL;
	default: return PORT_EIO;
	}
}

/* ---- the socket table --------------------------------------------------- */

static struct qs *qs_get(int h, enum qs_kind kind)
{
	if (h < 0 || h >= QV_NET_SOCKETS)
		return NULL;
	struct qs *s = &qn.sock[h];
	return s->kind == kind && s->owned ? s : NULL;
}

static int qs_alloc(enum qs_kind kind)
{
	for (int i = 0; i < QV_NET_SOCKETS; i++) {
		struct qs *s = &qn.sock[i];
		if (s->kind != QS_FREE)
			continue;
		uint8_t gen = s->gen;
		memset(s, 0, sizeof(*s));
		s->gen = gen;
		s->kind = (uint8_t)kind;
		s->owned = true;
		s->listener = -1;
		return i;
	}
	return PORT_ENOMEM;
}

static void qs_free(struct qs *s)
{
	if (s->rx)
		pbuf_free(s->rx);
	for (unsigned i = 0; i < s->dq_count; i++)
		pbuf_free(s->dq[(s->dq_head + i) % QV_UDP_QUEUE].p);
	uint8_t gen = (uint8_t)(s->gen + 1);
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->kind = QS_FREE;
}

static int qs_index(const struct qs *s)
{
	return (int)(s - qn.sock);
}

/* Detaches our callbacks so lwIP never calls into a freed slot again. */
static void tcp_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL); /* lwIP's tcp_recv_null then drops late data */
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

static void tcp_drop(struct tcp_pcb *pcb, bool graceful)
{
	tcp_detach(pcb);
	if (!graceful || tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

static void backlog_remove(struct qs *l, int h)
{
	unsigned n = l->bl_count, kept = 0;
	int8_t tmp[QV_NET_BACKLOG];
	for (unsigned i = 0; i < n; i++) {
		int8_t v = l->backlog[(l->bl_head + i) % QV_NET_BACKLOG];
		if (v != h)
			tmp[kept++] = v;
	}
	memcpy(l->backlog, tmp, kept * sizeof(tmp[0]));
	l->bl_head = 0;
	l->bl_count = (uint8_t)kept;
}

/* ---- received data held for the firmware ----------------------------- */

/* Pool pbufs free now (MEMP_STATS is on for this). */
static unsigned pool_free(void)
{
	const struct stats_mem *m = lwip_stats.memp[MEMP_PBUF_POOL];
	return m->avail > m->used ? (unsigned)(m->avail - m->used) : 0;
}

static bool from_pool(const struct pbuf *q)
{
	return pbuf_get_allocsrc(q) == PBUF_TYPE_ALLOC_SRC_MASK_STD_MEMP_PBUF_POOL;
}

static unsigned pool_pbufs(const struct pbuf *p)
{
	unsigned n = 0;
	for (; p; p = p->next)
		n += from_pool(p);
	return n;
}

/* Replaces the end of s->rx (its pool pbufs and the small heap pbufs
 * around them: all after the last heap pbuf of QV_RX_MERGE bytes or more),
 * and p, with one heap pbuf holding the same bytes; small pieces merge, so
 * tiny segments do not each cost a pbuf header. false, and nothing
 * changed, if the heap has no room for it below QV_RX_HEAP_MAX. */
static bool rx_copy_tail(struct qs *s, struct pbuf *p)
{
	struct pbuf *keep = NULL, *tail = s->rx;
	for (struct pbuf *q = s->rx; q; q = q->next)
		if (!from_pool(q) && q->len >= QV_RX_MERGE) {
			keep = q;
			tail = q->next;
		}
	u32_t lt = tail ? tail->tot_len : 0, total = lt + p->tot_len;
	/* <= TCP_WND bytes, so it fits a u16 pbuf. */
	if (total > 0xffffu || lwip_stats.mem.used + total + QV_RX_HEAP_SLACK > QV_RX_HEAP_MAX)
		return false;
	struct pbuf *flat = pbuf_alloc(PBUF_RAW, (u16_t)total, PBUF_RAM);
	if (!flat)
		return false;
	if (tail)
		pbuf_copy_partial(tail, flat->payload, (u16_t)lt, 0);
	pbuf_copy_partial(p, (u8_t *)flat->payload + lt, p->tot_len, 0);
	pbuf_free(p);
	if (tail) {
		if (keep) {
			keep->next = NULL;
			for (struct pbuf *q = s->rx; q; q = q->next)
				q->tot_len = (u16_t)(q->tot_len - lt);
		} else {
			s->rx = NULL;
		}
		pbuf_free(tail);
	}
	if (s->rx)
		pbuf_cat(s->rx, flat);
	else
		s->rx = flat;
	return true;
}

/* ---- lwIP TCP callbacks: record, never call the firmware from here ---- */

static err_t on_tcp_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct qs *s = arg;
	if (!s) {
		if (p)
			pbuf_free(p);
		return ERR_OK;
	}
	if (!p) {
		s->eof = true;
		s->pend |= EV_READABLE;
		return ERR_OK;
	}
	/* Ownership of p passes to the socket; released by port_tcp_recv or
	 * port_close. The receive window bounds how much can pile up. */
	unsigned in_pool = pool_pbufs(p), held = pool_pbufs(s->rx) + in_pool;
	bool copied = false;
	if (in_pool && (held > QV_TCP_RX_PBUFS || pool_free() < QV_RX_POOL_COPY)) {
		copied = rx_copy_tail(s, p);
		/* A reader that is far behind waits (lwIP keeps p as refused
		 * data and retries); one that has read everything gets p. */
		if (!copied && held > QV_TCP_RX_PBUFS_MAX && s->rx)
			return ERR_MEM;
	}
	if (!copied) {
		if (s->rx)
			pbuf_cat(s->rx, p);
		else
			s->rx = p;
	}
	s->pend |= EV_READABLE;
	return ERR_OK;
}

static err_t on_tcp_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct qs *s = arg;
	if (s && s->want_writable && tcp_sndbuf(pcb) > 0) {
		s->want_writable = false;
		s->pend |= EV_WRITABLE;
	}
	return ERR_OK;
}

/* A send refused for lack of heap with nothing in flight gets no sent
 * callback; this periodic poll gives the firmware another try. */
static err_t on_tcp_poll(void *arg, struct tcp_pcb *pcb)
{
	struct qs *s = arg;
	if (s && s->want_writable && tcp_sndbuf(pcb) > 0) {
		s->want_writable = false;
		s->pend |= EV_WRITABLE;
	}
	return ERR_OK;
}

/* lwIP has already freed the pcb when this runs. */
static void on_tcp_err(void *arg, err_t err)
{
	struct qs *s = arg;
	if (!s)
		return;
	s->tcp = NULL;
	if (!s->owned) {
		/* Died in the backlog: nobody knows the handle yet. */
		if (s->listener >= 0)
			backlog_remove(&qn.sock[s->listener], qs_index(s));
		qs_free(s);
		return;
	}
	int e = err_from_lwip(err);
	if (s->connecting) {
		if (err == ERR_RST)
			e = PORT_ECONNREFUSED;
		s->connecting = false;
		s->conn_err = e;
		s->pend |= EV_CONNECTED;
	} else {
		s->pend |= EV_CLOSED;
	}
	s->err = e;
}

static err_t on_tcp_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct qs *s = arg;
	if (!s) {
		/* Orphaned (cannot happen: port_close frees SYN_SENT pcbs at
		 * once); lwIP wants ERR_ABRT only for a pcb really aborted. */
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	s->connecting = false;
	s->conn_err = 0;
	s->pend |= EV_CONNECTED;
	return ERR_OK;
}

static void tcp_attach(struct qs *s, struct tcp_pcb *pcb)
{
	s->tcp = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_tcp_recv);
	tcp_sent(pcb, on_tcp_sent);
	tcp_err(pcb, on_tcp_err);
	tcp_poll(pcb, on_tcp_poll, QV_TCP_POLL_TICKS);
}

static err_t on_tcp_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct qs *l = arg;
	if (!l || err != ERR_OK || !newpcb)
		return ERR_VAL; /* lwIP could not allocate a pcb: nothing to do */
	if (l->bl_count >= QV_NET_BACKLOG)
		return ERR_MEM; /* refused: lwIP resets it */
	int h = qs_alloc(QS_TCP);
	if (h < 0)
		return ERR_MEM;
	struct qs *s = &qn.sock[h];
	s->owned = false;
	s->listener = (int8_t)qs_index(l);
	tcp_attach(s, newpcb);
	l->backlog[(l->bl_head + l->bl_count) % QV_NET_BACKLOG] = (int8_t)h;
	l->bl_count++;
	l->pend |= EV_ACCEPT;
	return ERR_OK;
}

/* ---- port.h: TCP ---------------------------------------------------------- */

static u8_t lwip_type(uint8_t family)
{
	return family == PORT_AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4;
}

/* A random unprivileged port (RFC 6056): lwIP's own choice is sequential,
 * which lets an off-path attacker guess DNS source ports. */
static u16_t random_port(void)
{
	return (u16_t)(1024u + qv_lwip_rand() % (65536u - 1024u));
}

#define QV_BIND_TRIES 16

int port_tcp_listen(const struct port_addr *local, port_net_cb cb, void *ctx)
{
	ip_addr_t ip;
	if (!qn.up)
		return PORT_ENETUNREACH;
	if (!local || !cb || addr_to_lwip(local, &ip) != 0)
		return PORT_EINVAL;
	int h = qs_alloc(QS_LISTEN);
	if (h < 0)
		return h;
	struct qs *s = &qn.sock[h];
	struct tcp_pcb *pcb = tcp_new_ip_type(lwip_type(local->family));
	if (!pcb) {
		qs_free(s);
		return PORT_ENOMEM;
	}
	err_t e = tcp_bind(pcb, &ip, local->port);
	if (e != ERR_OK) {
		tcp_close(pcb);
		qs_free(s);
		return err_from_lwip(e);
	}
	struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(pcb, QV_NET_HALF_OPEN, &e);
	if (!lpcb) {
		tcp_close(pcb);
		qs_free(s);
		return err_from_lwip(e);
	}
	/* tcp_listen freed pcb and handed us the smaller listen pcb. */
	s->tcp = lpcb;
	s->cb = cb;
	s->ctx = ctx;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, on_tcp_accept);
	return h;
}

int port_tcp_accept(int listener, struct port_addr *peer, port_net_cb cb, void *ctx)
{
	struct qs *l = qs_get(listener, QS_LISTEN);
	if (!l || !cb)
		return PORT_EINVAL;
	if (l->bl_count == 0)
		return PORT_EAGAIN;
	int h = l->backlog[l->bl_head];
	l->bl_head = (uint8_t)((l->bl_head + 1) % QV_NET_BACKLOG);
	l->bl_count--;
	struct qs *s = &qn.sock[h];
	s->owned = true;
	s->listener = -1;
	s->cb = cb;
	s->ctx = ctx;
	if (peer && s->tcp)
		addr_from_lwip(&s->tcp->remote_ip, s->tcp->remote_port, peer);
	/* Data or FIN that came before the firmware took the connection. */
	if (s->rx || s->eof)
		s->pend |= EV_READABLE;
	return h;
}

int port_tcp_connect(const struct port_addr *remote, port_net_cb cb, void *ctx)
{
	ip_addr_t ip;
	if (!qn.up)
		return PORT_ENETUNREACH;
	if (!remote || !cb || remote->port == 0 || addr_to_lwip(remote, &ip) != 0)
		return PORT_EINVAL;
	int h = qs_alloc(QS_TCP);
	if (h < 0)
		return h;
	struct qs *s = &qn.sock[h];
	struct tcp_pcb *pcb = tcp_new_ip_type(lwip_type(remote->family));
	if (!pcb) {
		qs_free(s);
		return PORT_ENOMEM;
	}
	s->cb = cb;
	s->ctx = ctx;
	tcp_attach(s, pcb);
	s->connecting = true;
	const ip_addr_t *any = remote->family == PORT_AF_INET6 ? IP6_ADDR_ANY : IP4_ADDR_ANY;
	err_t e = ERR_USE;
	for (int tries = 0; tries < QV_BIND_TRIES && e == ERR_USE; tries++)
		e = tcp_bind(pcb, any, random_port());
	if (e == ERR_OK)
		e = tcp_connect(pcb, &ip, remote->port, on_tcp_connected);
	if (e != ERR_OK) {
		tcp_drop(pcb, false);
		qs_free(s);
		return err_from_lwip(e);
	}
	return h;
}

long port_tcp_send(int sock, const void *buf, size_t len)
{
	struct qs *s = qs_get(sock, QS_TCP);
	if (!s || (!buf && len))
		return PORT_EINVAL;
	if (!s->tcp)
		return s->err ? s->err : PORT_ECONNRESET;
	if (len == 0)
		return 0;
	size_t room = tcp_sndbuf(s->tcp);
	if (tcp_sndqueuelen(s->tcp) >= TCP_SND_QUEUELEN)
		room = 0;
	size_t n = len < room ? len : room;
	if (n > 0xffffu)
		n = 0xffffu;
	err_t e = ERR_MEM;
	/* Short of heap, a smaller piece may still fit; stop at one MSS. */
	while (n > 0) {
		e = tcp_write(s->tcp, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
		if (e != ERR_MEM || n <= TCP_MSS)
			break;
		n /= 2;
	}
	if (n == 0 || e == ERR_MEM) {
		s->want_writable = true;
		return PORT_EAGAIN;
	}
	if (e != ERR_OK)
		return err_from_lwip(e);
	tcp_output(s->tcp);
	if (n < len)
		s->want_writable = true;
	return (long)n;
}

long port_tcp_recv(int sock, void *buf, size_t len)
{
	struct qs *s = qs_get(sock, QS_TCP);
	if (!s || (!buf && len))
		return PORT_EINVAL;
	if (s->rx) {
		if (len == 0)
			return 0;
		size_t n = s->rx->tot_len;
		if (n > len)
			n = len;
		u16_t got = pbuf_copy_partial(s->rx, buf, (u16_t)n, 0);
		/* Frees the pbufs we consumed and trims the first partial one. */
		s->rx = pbuf_free_header(s->rx, got);
		if (s->tcp)
			tcp_recved(s->tcp, got); /* reopen the window by what we took */
		return got;
	}
	if (s->eof)
		return 0;
	if (!s->tcp)
		return s->err ? s->err : PORT_ECONNRESET;
	return PORT_EAGAIN;
}

int port_tcp_addrs(int sock, struct port_addr *local, struct port_addr *remote)
{
	struct qs *s = qs_get(sock, QS_TCP);
	if (!s)
		return PORT_EINVAL;
	if (!s->tcp)
		return s->err ? s->err : PORT_ECONNRESET;
	if (local)
		addr_from_lwip(&s->tcp->local_ip, s->tcp->local_port, local);
	if (remote)
		addr_from_lwip(&s->tcp->remote_ip, s->tcp->remote_port, remote);
	return 0;
}

/* ---- port.h: UDP ---------------------------------------------------------- */

static void on_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
			u16_t port)
{
	struct qs *s = arg;
	if (!s || s->dq_count >= QV_UDP_QUEUE) {
		qn.udp_drops++; /* a resolver retries; holding more is unbounded */
		pbuf_free(p);
		return;
	}
	struct qs_dgram *d = &s->dq[(s->dq_head + s->dq_count) % QV_UDP_QUEUE];
	d->p = p;
	ip_addr_copy(d->from, *addr);
	d->port = port;
	s->dq_count++;
	s->pend |= EV_READABLE;
}

int port_udp_open(enum port_af family, port_net_cb cb, void *ctx)
{
	if (!qn.up)
		return PORT_ENETUNREACH;
	if ((family != PORT_AF_INET && family != PORT_AF_INET6) || !cb)
		return PORT_EINVAL;
	int h = qs_alloc(QS_UDP);
	if (h < 0)
		return h;
	struct qs *s = &qn.sock[h];
	struct udp_pcb *pcb = udp_new_ip_type(lwip_type((uint8_t)family));
	if (!pcb) {
		qs_free(s);
		return PORT_ENOMEM;
	}
	const ip_addr_t *any = family == PORT_AF_INET6 ? IP6_ADDR_ANY : IP4_ADDR_ANY;
	err_t e = ERR_USE;
	for (int tries = 0; tries < QV_BIND_TRIES && e == ERR_USE; tries++)
		e = udp_bind(pcb, any, random_port());
	if (e != ERR_OK) {
		udp_remove(pcb);
		qs_free(s);
		return err_from_lwip(e);
	}
	s->udp = pcb;
	s->cb = cb;
	s->ctx = ctx;
	udp_recv(pcb, on_udp_recv, s);
	return h;
}

long port_udp_sendto(int sock, const void *buf, size_t len, const struct port_addr *to)
{
	struct qs *s = qs_get(sock, QS_UDP);
	ip_addr_t ip;
	if (!s || !to || (!buf && len) || len > QV_UDP_MAX || addr_to_lwip(to, &ip) != 0)
		return PORT_EINVAL;
	if (IP_GET_TYPE(&ip) != IP_GET_TYPE(&s->udp->local_ip))
		return PORT_EINVAL; /* an IPv4 socket cannot reach an IPv6 peer */
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return PORT_ENOMEM;
	if (len)
		pbuf_take(p, buf, (u16_t)len);
	err_t e = udp_sendto(s->udp, p, &ip, to->port);
	pbuf_free(p);
	return e == ERR_OK ? (long)len : err_from_lwip(e);
}

long port_udp_recvfrom(int sock, void *buf, size_t len, struct port_addr *from)
{
	struct qs *s = qs_get(sock, QS_UDP);
	if (!s || (!buf && len))
		return PORT_EINVAL;
	if (s->dq_count == 0)
		return PORT_EAGAIN;
	struct qs_dgram *d = &s->dq[s->dq_head];
	size_t n = d->p->tot_len < len ? d->p->tot_len : len;
	n = pbuf_copy_partial(d->p, buf, (u16_t)n, 0);
	if (from)
		addr_from_lwip(&d->from, d->port, from);
	pbuf_free(d->p);
	d->p = NULL;
	s->dq_head = (uint8_t)((s->dq_head + 1) % QV_UDP_QUEUE);
	s->dq_count--;
	return (long)n;
}

/* ---- port.h: close ------------------------------------------------------- */

void port_close(int sock)
{
	if (sock < 0 || sock >= QV_NET_SOCKETS)
		return;
	struct qs *s = &qn.sock[sock];
	if (s->kind == QS_FREE || !s->owned)
		return;
	switch (s->kind) {
	case QS_LISTEN:
		while (s->bl_count) {
			struct qs *c = &qn.sock[s->backlog[s->bl_head]];
			s->bl_head = (uint8_t)((s->bl_head + 1) % QV_NET_BACKLOG);
			s->bl_count--;
			if (c->tcp)
				tcp_drop(c->tcp, false);
			qs_free(c);
		}
		if (s->tcp) {
			tcp_arg(s->tcp, NULL);
			tcp_accept(s->tcp, NULL);
			tcp_close(s->tcp); /* never fails for a listen pcb */
		}
		break;
	case QS_TCP:
		/* FIN after the queued output (best effort). Unread input makes
		 * lwIP send RST instead, as a POSIX stack would. */
		if (s->tcp)
			tcp_drop(s->tcp, true);
		break;
	case QS_UDP:
		if (s->udp)
			udp_remove(s->udp);
		break;
	}
	qs_free(s);
}

/* ---- port.h: addresses --------------------------------------------------- */

int port_net_addrs(struct port_addr *out, int max)
{
	int n = 0;
	if (!qn.up || !out || max <= 0)
		return 0;
	if (!ip4_addr_isany_val(*netif_ip4_addr(&qn.nif)) && n < max)
		addr_from_lwip(&qn.nif.ip_addr, 0, &out[n++]);
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES && n < max; i++)
		if (ip6_addr_isvalid(netif_ip6_addr_state(&qn.nif, i)))
			addr_from_lwip(&qn.nif.ip6_addr[i], 0, &out[n++]);
	return n;
}

/* ---- the netif ----------------------------------------------------------- */

/* The driver sends the pbufs in place and hands them back here; lwIP
 * leaves a TCP segment whose pbuf we still hold alone (it retransmits
 * only when the reference is gone: tcp_output_segment_busy). */
static void qv_tx_done(struct net_dev *dev, void *ctx)
{
	pbuf_free(ctx);
}

static err_t qv_linkoutput(struct netif *nif, struct pbuf *p)
{
	struct pbuf *frame = p;
	if (pbuf_clen(p) > NET_TX_PIECES) {
		/* Unusually long chain: one copy into a contiguous heap pbuf. */
		frame = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
		if (!frame)
			return ERR_MEM;
	} else {
		pbuf_ref(p);
	}
	struct net_iov iov[NET_TX_PIECES];
	unsigned n = 0;
	for (struct pbuf *q = frame; q; q = q->next)
		if (q->len)
			iov[n++] = (struct net_iov){ .base = q->payload, .len = q->len };
	int err = qn.dev->api->send(qn.dev, iov, n, frame);
	if (err)
		pbuf_free(frame); /* not queued: the reference (or copy) goes */
	/* A full TX ring drops the frame; TCP retransmits, DNS retries. */
	return err == 0 ? ERR_OK : err == PORT_EAGAIN ? ERR_MEM : ERR_IF;
}

static err_t qv_netif_init(struct netif *nif)
{
	nif->name[0] = 'v';
	nif->name[1] = 'n';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, qn.dev->mac, ETH_HWADDR_LEN);
	nif->mtu = qn.dev->mtu;
	nif->mtu6 = qn.dev->mtu;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
	nif->output = etharp_output;
	nif->output_ip6 = ethip6_output;
	nif->linkoutput = qv_linkoutput;
	nif->hostname = port_setting("hostname");
	return ERR_OK;
}

/* "10.0.2.15/24 gw 10.0.2.2" (gw optional). 0 or PORT_EINVAL. */
static int parse_ipv4_setting(const char *text, ip4_addr_t *ip, ip4_addr_t *mask, ip4_addr_t *gw)
{
	char buf[64];
	size_t len = strlen(text);
	if (len >= sizeof(buf))
		return PORT_EINVAL;
	memcpy(buf, text, len + 1);
	char *slash = strchr(buf, '/');
	if (!slash)
		return PORT_EINVAL;
	*slash = '\0';
	if (!ip4addr_aton(buf, ip))
		return PORT_EINVAL;
	char *p = slash + 1;
	unsigned bits = 0, digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		bits = bits * 10 + (unsigned)(*p++ - '0');
		digits++;
	}
	if (digits == 0 || bits > 32)
		return PORT_EINVAL;
	ip4_addr_set_u32(mask, bits ? lwip_htonl(0xffffffffu << (32 - bits)) : 0);
	ip4_addr_set_zero(gw);
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	if (strncmp(p, "gw ", 3) != 0)
		return PORT_EINVAL;
	p += 3;
	while (*p == ' ')
		p++;
	return ip4addr_aton(p, gw) ? 0 : PORT_EINVAL;
}

static unsigned prefix_len(const ip4_addr_t *mask)
{
	uint32_t m = lwip_ntohl(ip4_addr_get_u32(mask));
	unsigned n = 0;
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return n;
}

static void report_addresses(void)
{
	const ip4_addr_t *ip = netif_ip4_addr(&qn.nif);
	if (dhcp_supplied_address(&qn.nif) && !ip4_addr_eq(ip, &qn.v4_logged)) {
		char a[IP4ADDR_STRLEN_MAX], g[IP4ADDR_STRLEN_MAX];
		ip4addr_ntoa_r(ip, a, sizeof(a));
		ip4addr_ntoa_r(netif_ip4_gw(&qn.nif), g, sizeof(g));
		qv_log(PORT_LOG_INFO, "net: DHCP lease %s/%u gw %s", a, prefix_len(netif_ip4_netmask(&qn.nif)), g);
		ip4_addr_copy(qn.v4_logged, *ip);
	}
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
		bool valid = ip6_addr_isvalid(netif_ip6_addr_state(&qn.nif, i));
		const ip6_addr_t *a6 = netif_ip6_addr(&qn.nif, i);
		if (valid && (!qn.v6_logged[i] || !ip6_addr_eq(a6, &qn.v6_addr[i]))) {
			char t[IP6ADDR_STRLEN_MAX];
			ip6addr_ntoa_r(a6, t, sizeof(t));
			for (char *c = t; *c; c++) /* RFC 5952 §4.3: lower case */
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			qv_log(PORT_LOG_INFO, "net: IPv6 %s", t);
			ip6_addr_copy(qn.v6_addr[i], *a6);
		}
		qn.v6_logged[i] = valid;
	}
}

#ifdef QV_NET_HAVE_IRQ
/* Interrupt context: only silence the device; the work happens in
 * qv_net_poll, which port_poll runs once the WFI returns. */
static void qv_net_irq(void *ctx)
{
	struct net_dev *dev = ctx;
	dev->api->irq_ack(dev);
}
#endif

int qv_net_init(void)
{
	if (qn.up)
		return 0;
	/* No entropy, no network: ISNs, ports and DHCP xids must not be
	 * guessable. */
	int err = qv_rand_seed();
	if (err) {
		qv_log(PORT_LOG_ERR, "net: no entropy for the stack (%s)", port_strerror(err));
		return err;
	}
	err = virtio_net_probe(QV_VIRTIO_MMIO_BASE, QV_VIRTIO_MMIO_STRIDE, QV_VIRTIO_MMIO_SLOTS,
			       QV_VIRTIO_MMIO_IRQ0, &qn.dev);
	if (err) {
		qv_log(PORT_LOG_ERR, "net: no virtio-net device (%s)", port_strerror(err));
		return err;
	}
	qn.dev->tx_done = qv_tx_done;
	lwip_init();
	if (!netif_add(&qn.nif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL, qv_netif_init,
		       netif_input))
		return PORT_EIO;
	netif_set_default(&qn.nif);
	netif_create_ip6_linklocal_address(&qn.nif, 1);
	netif_set_ip6_autoconfig_enabled(&qn.nif, 1);
	netif_set_up(&qn.nif);
	netif_set_link_up(&qn.nif);

	const uint8_t *m = qn.dev->mac;
	qv_log(PORT_LOG_INFO, "net: virtio-net %02x:%02x:%02x:%02x:%02x:%02x irq %u", m[0], m[1], m[2],
	       m[3], m[4], m[5], qn.dev->irq);

	const char *v4 = port_setting("ipv4");
	ip4_addr_t ip, mask, gw;
	if (v4 && parse_ipv4_setting(v4, &ip, &mask, &gw) == 0) {
		netif_set_addr(&qn.nif, &ip, &mask, &gw);
		qv_log(PORT_LOG_INFO, "net: static %s", v4);
	} else {
		if (v4)
			qv_log(PORT_LOG_WARN, "net: bad ipv4 setting \"%s\", using DHCP", v4);
		if (dhcp_start(&qn.nif) != ERR_OK)
			return PORT_ENOMEM;
	}
#ifdef QV_NET_HAVE_IRQ
	/* Optional: polling works without it, the IRQ only wakes the WFI. */
	if (qv_irq_enable(qn.dev->irq, qv_net_irq, qn.dev) != 0)
		qv_log(PORT_LOG_WARN, "net: no interrupt, polling only");
#endif
	qn.up = true;
	return 0;
}

/* ---- the poll loop ---------------------------------------------------- */

static void dispatch_events(void)
{
	static const uint8_t order[] = { EV_CONNECTED, EV_ACCEPT, EV_READABLE, EV_WRITABLE,
					 EV_CLOSED };
	static const enum port_event ev_of[] = { PORT_EV_CONNECTED, PORT_EV_ACCEPT,
						 PORT_EV_READABLE, PORT_EV_WRITABLE, PORT_EV_CLOSED };
	for (int h = 0; h < QV_NET_SOCKETS; h++) {
		struct qs *s = &qn.sock[h];
		for (unsigned k = 0; k < sizeof(order); k++) {
			if (s->kind == QS_FREE || !s->owned || !s->cb)
				break;
			if (!(s->pend & order[k]))
				continue;
			s->pend &= (uint8_t)~order[k];
			int err = order[k] == EV_CONNECTED ? s->conn_err : order[k] == EV_CLOSED ? s->err : 0;
			uint8_t gen = s->gen;
			qn.events++;
			s->cb(s->ctx, h, ev_of[k], err);
			if (s->gen != gen)
				break; /* closed (and maybe reused) inside the callback */
		}
	}
}

static unsigned be16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/* Does an Ethernet frame carry data a socket could hold: a TCP segment
 * with payload, a UDP datagram or an IP fragment? Everything else
 * (ARP, ICMP, ND, pure TCP control segments, malformed frames) is
 * processed and freed by lwIP at once. */
static bool frame_holds_data(const uint8_t *f, size_t len)
{
	enum { ETH = 14, IP6 = 40 };
	if (len < ETH + 20)
		return false;
	unsigned type = be16(f + 12), proto, ip_len, hdr;
	const uint8_t *ip = f + ETH;
	if (type == 0x0800) {
		hdr = (ip[0] & 0x0fu) * 4u;
		if (be16(ip + 6) & 0x3fffu) /* MF or a fragment offset */
			return true;
		proto = ip[9];
		ip_len = be16(ip + 2);
	} else if (type == 0x86dd && len >= ETH + IP6) {
		hdr = IP6;
		proto = ip[6];
		ip_len = IP6 + be16(ip + 4);
		if (proto == 44) /* fragment header */
			return true;
	} else {
		return false;
	}
	if (proto == 17)
		return true;
	if (proto != 6 || hdr < 20 || len < ETH + hdr + 13u)
		return false;
	unsigned tcp_hdr = (ip[hdr + 12] >> 4) * 4u;
	return ip_len > hdr + tcp_hdr;
}

static bool ooseq_held(void)
{
	for (const struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->ooseq)
			return true;
	return false;
}

void qv_net_poll(uint64_t now_ms)
{
	if (!qn.up)
		return;
	struct net_dev *dev = qn.dev;
	for (int i = 0; i < QV_RX_BUDGET; i++) {
		const void *frame;
		size_t len;
		int err = dev->api->rx_peek(dev, &frame, &len);
		if (err == PORT_EIO && !qn.nic_failed) {
			/* The device broke its ring protocol; it stays down until
			 * a reboot, and the operator should know why. */
			qn.nic_failed = true;
			qv_log(PORT_LOG_ERR, "net: virtio-net failed, network down until reboot");
		}
		if (err)
			break;
		if (pool_free() <= QV_RX_POOL_RESERVE && frame_holds_data(frame, len)) {
			/* Out-of-order segments go first (one connection's at
			 * a time, as lwIP does when the pool runs dry): this
			 * frame may be the one they wait for. */
			while (pool_free() <= QV_RX_POOL_RESERVE && ooseq_held())
				pbuf_free_ooseq();
			if (pool_free() <= QV_RX_POOL_RESERVE) {
				/* TCP sends it again; the reserve stays for ACKs. */
				qn.rx_shed++;
				dev->api->rx_release(dev);
				continue;
			}
		}
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
		if (p)
			pbuf_take(p, frame, (u16_t)len);
		dev->api->rx_release(dev); /* repost at once: the copy is ours */
		if (!p) {
			qn.rx_nobuf++;
			continue;
		}
		if (qn.nif.input(p, &qn.nif) != ERR_OK)
			pbuf_free(p);
	}
	sys_check_timeouts();
	report_addresses();
	dispatch_events();
}

uint32_t qv_net_events(void)
{
	return qn.events;
}

int port_net_stats(struct port_net_stats *st)
{
	if (!qn.up)
		return PORT_ENETUNREACH;
	*st = (struct port_net_stats){ .rx_nobuf = qn.rx_nobuf,
				       .rx_shed = qn.rx_shed,
				       .pool_used = PBUF_POOL_SIZE - pool_free(),
				       .pool_size = PBUF_POOL_SIZE,
				       .heap_used = lwip_stats.mem.used,
				       .heap_size = MEM_SIZE };
	return 0;
}

void qv_net_stats(struct qv_net_stats *st)
{
	*st = (struct qv_net_stats){ .udp_drops = qn.udp_drops };
	port_net_stats(&st->net);
	for (int h = 0; h < QV_NET_SOCKETS; h++) {
		const struct qs *s = &qn.sock[h];
		st->pool_held += pool_pbufs(s->rx);
		if (s->tcp && s->tcp->refused_data)
			st->refused++;
	}
	for (const struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		for (const struct tcp_seg *g = pcb->ooseq; g; g = g->next)
			st->ooseq += pbuf_clen(g->p);
}

uint32_t qv_net_sleep_ms(void)
{
	if (!qn.up)
		return UINT32_MAX;
	return sys_timeouts_sleeptime();
}

bool qv_net_pending(void)
{
	if (!qn.up)
		return false;
	if (qn.dev->api->pending(qn.dev))
		return true;
	for (int h = 0; h < QV_NET_SOCKETS; h++)
		if (qn.sock[h].pend && qn.sock[h].owned && qn.sock[h].kind != QS_FREE)
			return true;
	return false;
}
