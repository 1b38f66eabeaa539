/* net_posix — port.h's sockets and event loop on POSIX non-blocking
 * sockets and poll(2): a bounded handle table, level-triggered events
 * dispatched from port_poll() only. Exports port_tcp_*, port_udp_*,
 * port_close, port_net_addrs, port_poll and host_net_close_all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"
#include "port.h"

/* Bounds. 64 handles: 2 listeners per family, the sessions and DNS
 * sockets of the firmware's own limits, with room for tests; beyond it
 * calls return PORT_ENOMEM (and an accepted connection is closed). */
#define NET_HANDLES 64
#define NET_BACKLOG 16		/* listen(2) backlog per listener */
#define NET_CLOSE_DRAIN 65536	/* unread bytes port_close reads away */

enum net_kind { NET_FREE, NET_LISTEN, NET_TCP, NET_UDP };

struct net_sock {
	enum net_kind kind;
	int fd;
	uint32_t gen;		/* bumped on every allocation: stale events are dropped */
	port_net_cb cb;
	void *ctx;
	uint8_t family;		/* enum port_af */
	bool connecting;	/* connect() in flight: poll POLLOUT for the result */
	bool want_write;	/* a send was short or refused: report WRITABLE */
	bool eof;		/* recv saw the peer's FIN: stop polling POLLIN */
	bool dead;		/* hard error seen: no more polling, calls return err */
	int err;		/* sticky PORT_E* once dead */
};

static struct {
	struct net_sock s[NET_HANDLES];
	bool in_poll;
} net;

/* ---- helpers ------------------------------------------------------------- */

static int map_errno(int e)
{
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINPROGRESS:
		return PORT_EAGAIN;
	case ENOMEM: case ENOBUFS: case EMFILE: case ENFILE:
		return PORT_ENOMEM;
	case EADDRINUSE:
		return PORT_EADDRINUSE;
	case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EHOSTDOWN:
		return PORT_ENETUNREACH;
	case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN:
		return PORT_ECONNRESET;
	case ETIMEDOUT:
		return PORT_ETIMEDOUT;
	case ECONNREFUSED:
		return PORT_ECONNREFUSED;
	case EAFNOSUPPORT: case EPROTONOSUPPORT: case EOPNOTSUPP:
		return PORT_ENOTSUP;
	case EINVAL: case EBADF: case ENOTSOCK: case EADDRNOTAVAIL: case EMSGSIZE:
	case EDESTADDRREQ: case EFAULT:
		return PORT_EINVAL;
	case ENOSPC:
		return PORT_ENOSPC;
	default:
		return PORT_EIO;
	}
}

static struct net_sock *get(int sock)
{
	if (sock < 0 || sock >= NET_HANDLES || net.s[sock].kind == NET_FREE)
		return NULL;
	return &net.s[sock];
}

static int alloc_slot(void)
{
	for (int i = 0; i < NET_HANDLES; i++)
		if (net.s[i].kind == NET_FREE)
			return i;
	return PORT_ENOMEM;
}

static int take_slot(int i, enum net_kind kind, int fd, uint8_t family, port_net_cb cb,
		     void *ctx)
{
	struct net_sock *s = &net.s[i];
	uint32_t gen = s->gen + 1;
	*s = (struct net_sock){ .kind = kind, .fd = fd, .gen = gen, .cb = cb, .ctx = ctx,
				.family = family };
	return i;
}

/* port_addr -> sockaddr; false for a family we do not know. */
static bool to_sockaddr(const struct port_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == PORT_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		*len = sizeof(*in);
		return true;
	}
	if (a->family == PORT_AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

static void from_sockaddr(const struct sockaddr *sa, struct port_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a->family = PORT_AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		a->family = PORT_AF_INET6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->ip, &in6->sin6_addr, 16);
	}
}

static int af_of(uint8_t family)
{
	return family == PORT_AF_INET ? AF_INET : family == PORT_AF_INET6 ? AF_INET6 : -1;
}

/* A non-blocking, close-on-exec socket; v6 sockets are IPv6-only so an
 * IPv4 listener on the same port can coexist. */
static int open_socket(uint8_t family, int type)
{
	int af = af_of(family);
	if (af < 0)
		return PORT_EINVAL;
	int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return map_errno(errno);
	if (af == AF_INET6) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	return fd;
}

static int so_error(int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0)
		return errno;
	return e;
}

static void mark_dead(struct net_sock *s, int err)
{
	s->dead = true;
	s->err = err;
	s->want_write = false;
}

/* ---- TCP ------------------------------------------------------------------ */

int port_tcp_listen(const struct port_addr *local, port_net_cb cb, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!local || !cb || !to_sockaddr(local, &ss, &len))
		return PORT_EINVAL;
	int slot = alloc_slot();
	if (slot < 0)
		return slot;
	int fd = open_socket(local->family, SOCK_STREAM);
	if (fd < 0)
		return fd;
	/* A restarted relay must rebind while old connections sit in
	 * TIME_WAIT. */
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, NET_BACKLOG) != 0) {
		int err = map_errno(errno);
		close(fd);
		return err;
	}
	return take_slot(slot, NET_LISTEN, fd, local->family, cb, ctx);
}

int port_tcp_accept(int listener, struct port_addr *peer, port_net_cb cb, void *ctx)
{
	struct net_sock *l = get(listener);
	if (!l || l->kind != NET_LISTEN || !cb)
		return PORT_EINVAL;
	struct sockaddr_storage ss;
	for (;;) {
		socklen_t len = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue; /* that one gave up while queued: next */
			return map_errno(errno);
		}
		int slot = alloc_slot();
		if (slot < 0) {
			/* Refuse rather than leave it queued: the listener
			 * would stay readable and spin the loop. */
			close(fd);
			return PORT_ENOMEM;
		}
		/* The firmware hands over whole replies and TLS records; Nagle
		 * would hold mbedTLS's handshake flight behind a delayed ACK
		 * (measured: 43 ms per STARTTLS). */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (peer)
			from_sockaddr((struct sockaddr *)&ss, peer);
		return take_slot(slot, NET_TCP, fd, l->family, cb, ctx);
	}
}

int port_tcp_connect(const struct port_addr *remote, port_net_cb cb, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!remote || !cb || !to_sockaddr(remote, &ss, &len))
		return PORT_EINVAL;
	int slot = alloc_slot();
	if (slot < 0)
		return slot;
	int fd = open_socket(remote->family, SOCK_STREAM);
	if (fd < 0)
		return fd;
	/* As on accepted sockets: outbound SMTP/TLS flights are whole; Nagle
	 * held each one behind a delayed ACK (bench/delivery: 135 -> ms/msg). */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		/* Refused before any packet left (no route, bad address):
		 * the caller hears it at once instead of by event. */
		int err = map_errno(errno);
		close(fd);
		return err == PORT_EAGAIN ? PORT_EIO : err;
	}
	int h = take_slot(slot, NET_TCP, fd, remote->family, cb, ctx);
	/* Even an immediate success is reported by PORT_EV_CONNECTED from
	 * port_poll, so the caller sees one path. */
	net.s[h].connecting = true;
	return h;
}

long port_tcp_send(int sock, const void *buf, size_t len)
{
	struct net_sock *s = get(sock);
	if (!s || s->kind != NET_TCP || (len && !buf))
		return PORT_EINVAL;
	if (s->dead)
		return s->err;
	if (s->connecting) {
		s->want_write = true;
		return PORT_EAGAIN;
	}
	if (len == 0)
		return 0;
	for (;;) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			if ((size_t)n < len)
				s->want_write = true;
			return (long)n;
		}
		if (errno == EINTR)
			continue;
		int err = map_errno(errno);
		if (err == PORT_EAGAIN)
			s->want_write = true;
		else
			mark_dead(s, err);
		return err;
	}
}

long port_tcp_recv(int sock, void *buf, size_t len)
{
	struct net_sock *s = get(sock);
	if (!s || s->kind != NET_TCP || len == 0 || !buf)
		return PORT_EINVAL;
	if (s->dead)
		return s->err;
	if (s->connecting)
		return PORT_EAGAIN;
	for (;;) {
		ssize_t n = recv(s->fd, buf, len, MSG_DONTWAIT);
		if (n > 0)
			return (long)n;
		if (n == 0) {
			s->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		int err = map_errno(errno);
		if (err != PORT_EAGAIN)
			mark_dead(s, err);
		return err;
	}
}

int port_tcp_addrs(int sock, struct port_addr *local, struct port_addr *remote)
{
	struct net_sock *s = get(sock);
	if (!s)
		return PORT_EINVAL;
	struct sockaddr_storage ss;
	socklen_t len;
	if (local) {
		len = sizeof(ss);
		if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0)
			return map_errno(errno);
		from_sockaddr((struct sockaddr *)&ss, local);
	}
	if (remote) {
		len = sizeof(ss);
		/* Listeners and UDP sockets have no peer: family NONE. */
		if (getpeername(s->fd, (struct sockaddr *)&ss, &len) == 0)
			from_sockaddr((struct sockaddr *)&ss, remote);
		else if (errno == ENOTCONN)
			memset(remote, 0, sizeof(*remote));
		else
			return map_errno(errno);
	}
	return 0;
}

/* ---- UDP ------------------------------------------------------------------ */

int port_udp_open(enum port_af family, port_net_cb cb, void *ctx)
{
	if (!cb)
		return PORT_EINVAL;
	int slot = alloc_slot();
	if (slot < 0)
		return slot;
	int fd = open_socket((uint8_t)family, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	/* Port 0: the kernel picks a random ephemeral port (the resolver's
	 * source-port randomisation relies on it). */
	struct port_addr any = { .family = (uint8_t)family };
	struct sockaddr_storage ss;
	socklen_t len = 0;
	(void)to_sockaddr(&any, &ss, &len); /* family checked by open_socket */
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int err = map_errno(errno);
		close(fd);
		return err;
	}
	return take_slot(slot, NET_UDP, fd, (uint8_t)family, cb, ctx);
}

long port_udp_sendto(int sock, const void *buf, size_t len, const struct port_addr *to)
{
	struct net_sock *s = get(sock);
	struct sockaddr_storage ss;
	socklen_t sl;
	if (!s || s->kind != NET_UDP || !to || (len && !buf) || to->family != s->family ||
	    !to_sockaddr(to, &ss, &sl))
		return PORT_EINVAL;
	for (;;) {
		ssize_t n = sendto(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT,
				   (struct sockaddr *)&ss, sl);
		if (n >= 0)
			return (long)n;
		if (errno == EINTR)
			continue;
		int err = map_errno(errno);
		if (err == PORT_EAGAIN)
			s->want_write = true;
		return err;
	}
}

long port_udp_recvfrom(int sock, void *buf, size_t len, struct port_addr *from)
{
	struct net_sock *s = get(sock);
	if (!s || s->kind != NET_UDP || (len && !buf))
		return PORT_EINVAL;
	struct sockaddr_storage ss;
	for (;;) {
		socklen_t sl = sizeof(ss);
		/* Without MSG_TRUNC the result is the truncated length and
		 * the rest of the datagram is discarded: port.h's contract. */
		ssize_t n = recvfrom(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		if (n >= 0) {
			if (from)
				from_sockaddr((struct sockaddr *)&ss, from);
			return (long)n;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNREFUSED)
			continue; /* an ICMP error queued for an earlier sendto */
		return map_errno(errno);
	}
}

/* ---- close, addresses ----------------------------------------------------- */

void port_close(int sock)
{
	struct net_sock *s = get(sock);
	if (!s)
		return;
	if (s->kind == NET_TCP && !s->dead && !s->connecting) {
		/* Unread input makes close(2) send RST, which can destroy our
		 * own last reply (221, 421) in the peer's receive queue: read
		 * it away first, bounded. */
		uint8_t sink[4096];
		size_t drained = 0;
		ssize_t n;
		while (drained < NET_CLOSE_DRAIN &&
		       (n = recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			drained += (size_t)n;
	}
	close(s->fd);
	uint32_t gen = s->gen;
	*s = (struct net_sock){ .kind = NET_FREE, .fd = -1, .gen = gen };
}

void host_net_close_all(void)
{
	for (int i = 0; i < NET_HANDLES; i++)
		if (net.s[i].kind != NET_FREE)
			port_close(i);
}

int port_net_addrs(struct port_addr *out, int max)
{
	struct ifaddrs *list;
	if (!out || max <= 0 || getifaddrs(&list) != 0)
		return 0;
	int n = 0;
	for (struct ifaddrs *i = list; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
			continue;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		from_sockaddr(i->ifa_addr, &out[n]);
		out[n].port = 0;
		n++;
	}
	freeifaddrs(list);
	return n;
}

/* ---- the event loop --------------------------------------------------------- */

/* What to ask poll for on one handle; 0 = leave it out (fd -1), so a
 * handle that has nothing more to say cannot spin the loop. */
static short wanted(const struct net_sock *s)
{
	if (s->dead)
		return 0;
	switch (s->kind) {
	case NET_LISTEN:
		return POLLIN;
	case NET_UDP:
		return (short)(POLLIN | (s->want_write ? POLLOUT : 0));
	case NET_TCP:
		if (s->connecting)
			return POLLOUT;
		return (short)((s->eof ? 0 : POLLIN) | (s->want_write ? POLLOUT : 0));
	default:
		return 0;
	}
}

/* Still the same handle as when the poll set was built? A callback may
 * have closed it, and the slot may even hold a new socket by now. */
static bool same(int i, uint32_t gen)
{
	return net.s[i].kind != NET_FREE && net.s[i].gen == gen;
}

static void fire(int i, enum port_event ev, int err)
{
	struct net_sock *s = &net.s[i];
	s->cb(s->ctx, i, ev, err);
}

static void dispatch(int i, uint32_t gen, short rev)
{
	struct net_sock *s = &net.s[i];
	switch (s->kind) {
	case NET_LISTEN:
		if (rev & (POLLIN | POLLERR))
			fire(i, PORT_EV_ACCEPT, 0);
		return;
	case NET_UDP:
		if (rev & POLLERR)
			(void)so_error(s->fd); /* consume it; recvfrom reports nothing */
		if (rev & POLLIN)
			fire(i, PORT_EV_READABLE, 0);
		if (same(i, gen) && (rev & POLLOUT) && s->want_write) {
			s->want_write = false;
			fire(i, PORT_EV_WRITABLE, 0);
		}
		return;
	case NET_TCP:
		break;
	default:
		return;
	}
	if (s->connecting) {
		int e = so_error(s->fd);
		s->connecting = false;
		int err = e ? map_errno(e) : 0;
		if (err == PORT_EAGAIN)
			err = PORT_EIO;
		if (err)
			mark_dead(s, err);
		fire(i, PORT_EV_CONNECTED, err);
		return; /* a pending want_write shows up as WRITABLE next round */
	}
	if (rev & POLLERR) {
		int e = so_error(s->fd);
		int err = e ? map_errno(e) : PORT_ECONNRESET;
		mark_dead(s, err);
		fire(i, PORT_EV_CLOSED, err);
		return;
	}
	if ((rev & POLLHUP) && s->eof && !(rev & POLLOUT)) {
		/* Both directions are down and the firmware already saw EOF:
		 * nothing left to read or write. */
		mark_dead(s, PORT_ECONNRESET);
		fire(i, PORT_EV_CLOSED, PORT_ECONNRESET);
		return;
	}
	if (rev & (POLLIN | POLLHUP)) {
		fire(i, PORT_EV_READABLE, 0);
		if (!same(i, gen))
			return;
	}
	if ((rev & (POLLOUT | POLLHUP)) && s->want_write) {
		s->want_write = false;
		fire(i, PORT_EV_WRITABLE, 0);
	}
}

void port_poll(uint32_t timeout_ms)
{
	/* A callback calling port_poll would dispatch events twice. */
	if (net.in_poll)
		return;
	struct pollfd pfd[NET_HANDLES + 1];
	int idx[NET_HANDLES + 1];
	uint32_t gen[NET_HANDLES + 1];
	nfds_t n = 0;
	for (int i = 0; i < NET_HANDLES; i++) {
		short ev = net.s[i].kind != NET_FREE ? wanted(&net.s[i]) : 0;
		if (!ev)
			continue;
		pfd[n] = (struct pollfd){ .fd = net.s[i].fd, .events = ev };
		idx[n] = i;
		gen[n] = net.s[i].gen;
		n++;
	}
	nfds_t con = n;
	if (host_console_wants_poll()) {
		pfd[n] = (struct pollfd){ .fd = 0, .events = POLLIN };
		idx[n] = -1;
		n++;
	}
	int timeout = timeout_ms > (uint32_t)INT32_MAX ? INT32_MAX : (int)timeout_ms;
	int r = poll(pfd, n, timeout);
	if (r <= 0)
		return; /* timeout, or EINTR: the caller loops anyway */
	net.in_poll = true;
	for (nfds_t k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		if (k == con && idx[k] < 0) {
			host_console_polled(pfd[k].revents);
			continue;
		}
		if (same(idx[k], gen[k]))
			dispatch(idx[k], gen[k], pfd[k].revents);
	}
	net.in_poll = false;
}
