/* net.h — the Ethernet NIC driver class: one const ops struct per chip.
 * Frames are whole Ethernet frames without FCS. The stack glue copies
 * frames in and out; drivers never see a protocol stack type. */
#ifndef DRIVERS_NET_NET_H
#define DRIVERS_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_FRAME_MAX 1514u /* 14-byte header + 1500 MTU, no VLAN tag */

/* One piece of an outgoing frame (the stack's buffers are chains). */
struct net_iov {
	const void *base;
	size_t len;
};

struct net_dev;

struct net_driver_api {
	/* Queue one frame made of n pieces (total <= NET_FRAME_MAX); the
	 * driver copies it. 0, PORT_EAGAIN (TX ring full: drop or retry
	 * later), PORT_EINVAL (too long), PORT_EIO (device broken). */
	int (*send)(struct net_dev *dev, const struct net_iov *iov, unsigned n);
	/* Borrow the next received frame: 0 and *frame, *len valid until
	 * rx_release(), or PORT_EAGAIN when none is waiting. */
	int (*rx_peek)(struct net_dev *dev, const void **frame, size_t *len);
	/* Give the frame from rx_peek back to the device. */
	void (*rx_release)(struct net_dev *dev);
	/* Reclaim finished TX buffers; true if anything is waiting in RX. */
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
	void *priv;
};

#endif
