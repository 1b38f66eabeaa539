/* virtio_net.h — virtio-net (modern, virtio-mmio) NIC driver.
 * Exports virtio_net_probe(); the device is then used through
 * dev->api (struct net_driver_api, net.h). One instance (SOHO board). */
#ifndef DRIVERS_NET_VIRTIO_NET_H
#define DRIVERS_NET_VIRTIO_NET_H

#include <stdint.h>

#include "net.h"

/* Bounds: RX frames posted to the device, each into its own 1536-byte
 * buffer (4 x 1.5 KiB of static RAM: the qemu-virt budget); TX descriptors,
 * one for the shared virtio header plus one per piece of each frame in
 * flight (frames are sent from the stack's buffers, no copy). Each is a
 * split-ring size: a power of two. TX full is PORT_EAGAIN (lwIP retries),
 * never a drop; RX full leaves frames in the device's queue. */
#define VIRTIO_NET_RX_BUFS 4u
#define VIRTIO_NET_TX_DESC 16u

/* Finds the first modern virtio-net among nslots virtio-mmio slots of
 * stride bytes from mmio_base, negotiates VERSION_1 + MAC, posts the RX
 * buffers and starts it. irq_base: GIC id of slot 0 (slot n is
 * irq_base + n). Returns 0 and *out, PORT_EIO (no device or it failed),
 * PORT_ENOTSUP (legacy transport or missing MAC feature), PORT_EINVAL
 * (already probed). */
int virtio_net_probe(uintptr_t mmio_base, uintptr_t stride, unsigned nslots, unsigned irq_base,
		     struct net_dev **out);

#endif
