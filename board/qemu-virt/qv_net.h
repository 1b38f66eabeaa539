/* qv_net.h — networking and entropy of the qemu-virt board: virtio-rng,
 * virtio-net and lwIP behind port.h's net and random calls.
 * Exports the four calls the board's startup and port_poll use; the
 * net_*.c files of this folder implement them (QV_NET_SRCS, netif.mk). */
#ifndef QV_NET_H
#define QV_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "port.h"

/* Where the virtio-mmio transports sit on `-M virt` (QEMU 7.2): 32 slots
 * of 0x200 bytes from 0x0a000000; slot n raises GIC SPI 16+n (id 48+n). */
#define QV_VIRTIO_MMIO_BASE 0x0a000000u
#define QV_VIRTIO_MMIO_STRIDE 0x200u
#define QV_VIRTIO_MMIO_SLOTS 32u
#define QV_VIRTIO_MMIO_IRQ0 48u

int qv_rng_init(void);                 /* find virtio-rng; 0 or PORT_E* */
int qv_net_init(void);                 /* find virtio-net, bring up lwIP netif, start DHCP/SLAAC */
void qv_net_poll(uint64_t now_ms);     /* service the NIC + lwIP timers (sys_check_timeouts); called from port_poll */
bool qv_net_pending(void);             /* true if the NIC has work (port_poll must not sleep) */

/* Optional extras for port_poll (additive to the agreed four):
 * qv_net_events() counts events dispatched so far, so port_poll can tell
 * whether a qv_net_poll() dispatched anything and return at once;
 * qv_net_sleep_ms() is how long the lwIP timers (TCP 250 ms, DHCP, ND)
 * may wait, so port_poll can bound its WFI sleep. */
uint32_t qv_net_events(void);
uint32_t qv_net_sleep_ms(void);

/* port_net_stats() (drops, sheds, pool and heap use) and what the netdrv
 * harness prints beside it: datagrams dropped (socket queue full), pool
 * pbufs held by sockets, connections with refused data, pbufs in
 * out-of-order queues. */
struct qv_net_stats {
	struct port_net_stats net;
	uint32_t udp_drops;
	unsigned pool_held, refused, ooseq;
};
void qv_net_stats(struct qv_net_stats *st);

/* Internal to net_rng.c / net_lwip.c: seeds the generator behind
 * LWIP_RAND from virtio-rng (must succeed before lwip_init). 0 or PORT_E*. */
int qv_rand_seed(void);

#endif
