/* port.h — the only door between the portable firmware and a board.
 * Every board (board/host, board/qemu-virt, ...) implements exactly this
 * interface; nothing in firmware/ includes a board or driver header.
 *
 * Model: one single-threaded event loop. The firmware calls port_poll();
 * the board waits for I/O or the timeout and calls the registered
 * callbacks from inside port_poll(), never from an interrupt or another
 * thread. Nothing here blocks except port_poll() itself (bounded by its
 * timeout) and flash operations (bounded by the device).
 *
 * Errors are negative PORT_E* values; success is 0 or a byte count. */
#ifndef DANEGATE_PORT_H
#define DANEGATE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------ */
enum port_err {
	PORT_OK = 0,
	PORT_EIO = -5,		/* device or stack error */
	PORT_EAGAIN = -11,	/* would block: wait for the next event */
	PORT_ENOMEM = -12,	/* out of handles or buffers */
	PORT_EINVAL = -22,	/* bad argument (range, alignment, handle) */
	PORT_ENOSPC = -28,	/* no room */
	PORT_EADDRINUSE = -98,
	PORT_ENETUNREACH = -101,
	PORT_ECONNRESET = -104,
	PORT_ETIMEDOUT = -110,
	PORT_ECONNREFUSED = -111,
	PORT_ENOTSUP = -95,
	PORT_EPOWER = -200,	/* simulated power cut (host flash sim only) */
	PORT_ENOTERASED = -201, /* program would need to set a 0 bit to 1 */
};

/* Short English name of a PORT_E* code, for logs. Never NULL.
 * (This and port_addr_format/parse are portable: implemented once in
 * firmware/port_common.c, for boards and firmware alike.) */
const char *port_strerror(int err);

/* ---- board identity and memory -------------------------------------- */
struct port_board_info {
	const char *name;	  /* "host", "qemu-virt" */
	const char *cpu;	  /* "x86_64", "cortex-a15" */
	const char *netstack;	  /* "lwIP 2.2.1", "POSIX sockets" */
	uint64_t ram_base;	  /* 0 on host */
	uint64_t ram_size;	  /* bytes of RAM the board has (0: unknown) */
	uint32_t static_ram;	  /* .data + .bss of the image (0: unknown) */
	const char *stack_info;	  /* free text: stack placement */
};
const struct port_board_info *port_board(void);

/* Bytes of stack used so far (high-water mark), 0 if the board cannot tell. */
uint32_t port_stack_peak(void);

/* Bytes of the board's heap (malloc: ldns parsing, libc) used at most so
 * far, 0 if the board cannot tell. With static_ram it is the board's RAM
 * high-water (the TLS arena is static). */
uint32_t port_heap_peak(void);

/* The board's own network buffers, for `status`: frames dropped for want
 * of a receive buffer, data frames shed to keep receive buffers for ACKs,
 * and the receive pool (buffers) and stack heap (bytes) in use. 0, or
 * PORT_ENOTSUP where the operating system owns the buffers (host). */
struct port_net_stats {
	uint32_t rx_nobuf, rx_shed;
	uint32_t pool_used, pool_size;
	uint32_t heap_used, heap_size;
};
int port_net_stats(struct port_net_stats *st);

/* A board-level setting the firmware may need before its own config is
 * loaded (the host board answers from its command line, qemu-virt from
 * built-in defaults): "hostname", "smtp_port", "listen". NULL if unset. */
const char *port_setting(const char *key);

/* Read a whole file of the board's own file system into buf (the host
 * board's files; the tls_import setting names them). Its length, or
 * PORT_ENOTSUP on a board without files, PORT_ENOSPC when it is longer
 * than size, PORT_EIO when it cannot be opened or read. */
long port_file_read(const char *path, void *buf, size_t size);

/* Restart the board (does not return). */
void port_reboot(void);

/* ---- clock ------------------------------------------------------------ */
/* Monotonic milliseconds since boot; never goes back. */
uint64_t port_now_ms(void);
/* Wall clock, seconds since the Unix epoch (UTC); negative if unknown. */
int64_t port_wall_time(void);

/* ---- entropy ---------------------------------------------------------- */
/* Fill buf with len bytes from a true entropy source (getrandom,
 * virtio-rng, ...). Never a fake source: fails rather than degrade.
 * Returns 0 or a PORT_E* code. */
int port_random(void *buf, size_t len);

/* ---- console: a byte stream ------------------------------------------ */
/* Non-blocking read of what the operator typed: >0 bytes, PORT_EAGAIN if
 * nothing is waiting, 0 at end of input (host stdin closed). */
long port_console_read(void *buf, size_t len);
/* Write all of buf to the console (may wait for a slow UART). */
void port_console_write(const void *buf, size_t len);

/* ---- log sink ----------------------------------------------------------- */
/* The firmware's log module keeps structured records in RAM for the
 * consoles; every record is also handed here as one formatted line
 * (without newline) so the board can copy it somewhere durable or visible
 * (stderr on host, the UART on qemu-virt). */
enum port_log_level { PORT_LOG_ERR = 3, PORT_LOG_WARN = 4, PORT_LOG_INFO = 6, PORT_LOG_DEBUG = 7 };
void port_log_sink(enum port_log_level level, const char *line, size_t len);

/* ---- network addresses ------------------------------------------------- */
enum port_af { PORT_AF_NONE = 0, PORT_AF_INET = 4, PORT_AF_INET6 = 6 };

struct port_addr {
	uint8_t family;	 /* enum port_af */
	uint8_t ip[16];	 /* network byte order; IPv4 uses ip[0..3] */
	uint16_t port;	 /* host byte order */
};

#define PORT_ADDR_TEXT_MAX 64 /* longest port_addr_format output + NUL: 53 */

/* Formats "192.0.2.1", "[2001:db8::1]:25" (with_port) into buf; returns buf. */
char *port_addr_format(const struct port_addr *a, bool with_port, char *buf, size_t size);
/* Parses a numeric IPv4 or IPv6 address (no port). 0 or PORT_EINVAL;
 * a->port is set to 0; *a is unchanged on error. */
int port_addr_parse(const char *text, struct port_addr *a);

/* The board's current interface addresses (after DHCP / SLAAC on
 * qemu-virt). Returns the count written (<= max). */
int port_net_addrs(struct port_addr *out, int max);

/* ---- network sockets: event-driven, non-blocking --------------------- */
/* A socket is a small integer handle >= 0 owned by the board. The board
 * keeps a bounded number of them (PORT_ENOMEM beyond). */
enum port_event {
	PORT_EV_ACCEPT,	   /* listener: a connection is waiting, call port_tcp_accept */
	PORT_EV_CONNECTED, /* connect finished; err != 0 if it failed */
	PORT_EV_READABLE,  /* data (or EOF) can be read */
	PORT_EV_WRITABLE,  /* send room freed after a short or PORT_EAGAIN send */
	PORT_EV_CLOSED,	   /* peer reset / stack error: the handle is still
			    * valid until port_close(); err says why */
};

typedef void (*port_net_cb)(void *ctx, int sock, enum port_event ev, int err);

/* Listen on local (family + port; an all-zero ip means any address of that
 * family). cb gets PORT_EV_ACCEPT. Returns a handle or PORT_E*. */
int port_tcp_listen(const struct port_addr *local, port_net_cb cb, void *ctx);

/* Take one waiting connection. Returns a handle (events go to cb/ctx) or
 * PORT_EAGAIN when none is waiting, PORT_ENOMEM when out of handles (the
 * connection is then refused by the board). */
int port_tcp_accept(int listener, struct port_addr *peer, port_net_cb cb, void *ctx);

/* Start a connection. Returns a handle at once; PORT_EV_CONNECTED follows. */
int port_tcp_connect(const struct port_addr *remote, port_net_cb cb, void *ctx);

/* Queue up to len bytes for sending (the board copies them). Returns bytes
 * taken (may be short) or PORT_EAGAIN (then PORT_EV_WRITABLE follows), or
 * another PORT_E*. */
long port_tcp_send(int sock, const void *buf, size_t len);

/* Read up to len received bytes: >0 bytes, 0 at orderly EOF, PORT_EAGAIN
 * when nothing is buffered, or another PORT_E*. */
long port_tcp_recv(int sock, void *buf, size_t len);

/* Local and remote endpoint of a connected socket. */
int port_tcp_addrs(int sock, struct port_addr *local, struct port_addr *remote);

/* Open a UDP socket bound to a random local port of the given family.
 * cb gets PORT_EV_READABLE when a datagram is waiting. */
int port_udp_open(enum port_af family, port_net_cb cb, void *ctx);
long port_udp_sendto(int sock, const void *buf, size_t len, const struct port_addr *to);
/* One datagram per call, truncated to len; PORT_EAGAIN if none. */
long port_udp_recvfrom(int sock, void *buf, size_t len, struct port_addr *from);

/* Close any socket or listener; pending output is flushed best-effort and
 * the handle is free at once. No callback fires after this returns. */
void port_close(int sock);

/* ---- the event loop ------------------------------------------------------ */
/* Wait at most timeout_ms for network or console activity and dispatch the
 * callbacks; also lets the board run its own housekeeping (lwIP timers,
 * DHCP). Returns at once after dispatching at least one event. */
void port_poll(uint32_t timeout_ms);

/* ---- flash --------------------------------------------------------------- */
/* NOR semantics everywhere: erase sets a whole erase block to 0xFF;
 * program can only clear bits (programming a 0 over a 0 is fine, a 1 over
 * a 0 is PORT_ENOTERASED and changes nothing); reads are byte-addressed.
 * Offsets are relative to the area. program offsets and lengths are
 * multiples of program_size; erase offsets are multiples of erase_size. */
struct port_flash;

struct port_flash_ops {
	int (*read)(const struct port_flash *f, uint32_t off, void *buf, size_t len);
	int (*program)(const struct port_flash *f, uint32_t off, const void *buf, size_t len);
	int (*erase)(const struct port_flash *f, uint32_t off);
	/* Make every completed program/erase durable (host: fsync). */
	int (*sync)(const struct port_flash *f);
};

struct port_flash {
	const struct port_flash_ops *ops;
	void *ctx;		/* the driver's own state */
	uint32_t size;		/* bytes in the area */
	uint32_t erase_size;	/* erase block */
	uint32_t program_size;	/* smallest programmable unit */
	const char *name;	/* "queue", "config", ... for the console */
};

enum port_flash_area {
	PORT_FLASH_QUEUE,  /* the message queue */
	PORT_FLASH_CONFIG, /* settings, keys, certificates */
	PORT_FLASH_AREAS
};

/* The board's flash area, or NULL if the board has none. */
const struct port_flash *port_flash_area(enum port_flash_area area);

static inline int port_flash_read(const struct port_flash *f, uint32_t off, void *buf, size_t len)
{
	return f->ops->read(f, off, buf, len);
}
static inline int port_flash_program(const struct port_flash *f, uint32_t off, const void *buf,
				     size_t len)
{
	return f->ops->program(f, off, buf, len);
}
static inline int port_flash_erase(const struct port_flash *f, uint32_t off)
{
	return f->ops->erase(f, off);
}
static inline int port_flash_sync(const struct port_flash *f)
{
	return f->ops->sync(f);
}

/* ---- the firmware's entry point --------------------------------------- */
/* Implemented by firmware/: the board calls it once it has initialised
 * its devices; it runs the event loop and returns only on shutdown. */
int danegate_main(void);

#endif
