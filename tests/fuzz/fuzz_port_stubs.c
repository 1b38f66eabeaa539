/* fuzz_port_stubs — the rest of port.h for fuzz targets that link modules
 * which merely reference the board (config.c through the DNS resolver,
 * the console's status): no network (PORT_ENOTSUP), no flash areas, a
 * fake clock the target sets (fuzz_port_now_ms / fuzz_port_wall), and a
 * deterministic port_random so a crash input replays the same way.
 * Exports the port.h functions port_common.c does not define, plus
 * fuzz_port_now_ms, fuzz_port_wall and fuzz_port_seed. */
#include <stdint.h>
#include <string.h>

#include "port.h"

#include "fuzz_port_stubs.h"

uint64_t fuzz_port_now_ms = 1000;
int64_t fuzz_port_wall = 1795867200;
static uint64_t rng_state = 1;

void fuzz_port_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static const struct port_board_info board = {
	.name = "fuzz", .cpu = "none", .netstack = "none", .ram_size = 1024 * 1024,
	.static_ram = 4096, .stack_info = "none",
};

const struct port_board_info *port_board(void)
{
	return &board;
}
uint32_t port_stack_peak(void)
{
	return 0;
}
uint32_t port_heap_peak(void)
{
	return 0;
}
int port_net_stats(struct port_net_stats *st)
{
	(void)st;
	return PORT_ENOTSUP;
}
const char *port_setting(const char *key)
{
	(void)key;
	return NULL;
}
void port_reboot(void)
{
}
uint64_t port_now_ms(void)
{
	return fuzz_port_now_ms;
}
int64_t port_wall_time(void)
{
	return fuzz_port_wall;
}
/* xorshift64*: deterministic, never a real secret */
int port_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		rng_state ^= rng_state >> 12;
		rng_state ^= rng_state << 25;
		rng_state ^= rng_state >> 27;
		p[i] = (uint8_t)((rng_state * 2685821657736338717ull) >> 56);
	}
	return 0;
}
long port_console_read(void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return 0;
}
void port_console_write(const void *buf, size_t len)
{
	(void)buf;
	(void)len;
}
int port_net_addrs(struct port_addr *out, int max)
{
	(void)out;
	(void)max;
	return 0;
}
int port_tcp_listen(const struct port_addr *local, port_net_cb cb, void *ctx)
{
	(void)local;
	(void)cb;
	(void)ctx;
	return PORT_ENOTSUP;
}
int port_tcp_accept(int listener, struct port_addr *peer, port_net_cb cb, void *ctx)
{
	(void)listener;
	(void)peer;
	(void)cb;
	(void)ctx;
	return PORT_ENOTSUP;
}
int port_tcp_connect(const struct port_addr *remote, port_net_cb cb, void *ctx)
{
	(void)remote;
	(void)cb;
	(void)ctx;
	return PORT_ENOTSUP;
}
long port_tcp_send(int sock, const void *buf, size_t len)
{
	(void)sock;
	(void)buf;
	(void)len;
	return PORT_ENOTSUP;
}
long port_tcp_recv(int sock, void *buf, size_t len)
{
	(void)sock;
	(void)buf;
	(void)len;
	return PORT_ENOTSUP;
}
int port_tcp_addrs(int sock, struct port_addr *local, struct port_addr *remote)
{
	(void)sock;
	(void)local;
	(void)remote;
	return PORT_ENOTSUP;
}
int port_udp_open(enum port_af family, port_net_cb cb, void *ctx)
{
	(void)family;
	(void)cb;
	(void)ctx;
	return PORT_ENOTSUP;
}
long port_udp_sendto(int sock, const void *buf, size_t len, const struct port_addr *to)
{
	(void)sock;
	(void)buf;
	(void)len;
	(void)to;
	return PORT_ENOTSUP;
}
long port_udp_recvfrom(int sock, void *buf, size_t len, struct port_addr *from)
{
	(void)sock;
	(void)buf;
	(void)len;
	(void)from;
	return PORT_ENOTSUP;
}
void port_close(int sock)
{
	(void)sock;
}
void port_poll(uint32_t timeout_ms)
{
	(void)timeout_ms;
}
const struct port_flash *port_flash_area(enum port_flash_area area)
{
	(void)area;
	return NULL;
}
