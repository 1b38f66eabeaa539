/* net.h — the Ethernet NIC driver class: one const ops struct per chip.
 * Frames are whole Ethernet frames without FCS. Received frames are lent
 * to the stack glue, which copies them out; frames to send are read in
 * place, from the stack's own buffers, until the driver hands them back.
 * Drivers never see a protocol stack type. */
#ifndef DRIVERS_NET_NET_H
#define DRIVERS_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_FRAME_MAX 1514u /* 14-byte header + 1500 MTU, no VLAN tag */
#define NET_TX_PIECES 6u     /* most pieces one outgoing frame may have */

/* One piece of an outgoing frame (the stack's buffers are chains). */
struct net_iov {
	const void *base;
	size_t len;
};

struct net_dev;

struct net_driver_api {
	/* Queue one frame made of n pieces (total <= NET_FRAME_MAX,
	 * n <= NET_TX_PIECES) to be sent in place: the device reads the
	 * pieces until the driver gives ctx (not NULL) back through
	 * dev->tx_done, so they must stay put until then. 0; PORT_EAGAIN
	 * (TX ring full: drop or retry later), PORT_EINVAL (too long, too
	 * many pieces, no ctx), PORT_EIO (device broken): ctx not kept. */
	int (*send)(struct net_dev *dev, const struct net_iov *iov, unsigned n, void *ctx);
	/* Borrow the next received frame: 0 and *frame, *len valid until
	 * rx_release(), or PORT_EAGAIN when none is waiting. */
	int (*rx_peek)(struct net_dev *dev, const void **frame, size_t *len);
	/* Give the frame from rx_peek back to the device. */
	void (*rx_release)(struct net_dev *dev);
	/* Hand back finished TX frames; true if anything is waiting in RX. */
	bool (*pending)(struct net_dev *dev);
	/* Acknowledge the device interrupt (safe in interrupt context). */
	void (*irq_ack)(struct net_dev *dev);
};

struct net_dev {
	const struct net_driver_api *api;
	uint8_t mac[6];
	uint16_t mtu;
	unsigned irq;		/* GIC interrupt id of the device */
	uint32_t rx_frames, tx_frames, rx_errors, tx_drops; /* for the console */
	/* Set by the stack glue: a frame queued by send() with this ctx has
	 * been sent; its pieces are the stack's again. Called from send()
	 * and pending(), never from an interrupt. */
	void (*tx_done)(struct net_dev *dev, void *ctx);
	void *priv;
};

#endif
