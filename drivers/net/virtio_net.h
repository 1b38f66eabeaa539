/* virtio_net.h — virtio-net (modern, virtio-mmio) NIC driver.
 * Exports virtio_net_probe(); the device is then used through
 * dev->api (struct net_driver_api, net.h). One instance (SOHO board). */
#ifndef DRIVERS_NET_VIRTIO_NET_H
#define DRIVERS_NET_VIRTIO_NET_H

#include <stdint.h>

#include "net.h"

/* Bounds: RX frames posted to the device, TX frames in flight. Each costs
 * one 1536-byte buffer: (6 + 3) x 1.5 KiB = 13.5 KiB of static RAM (the
 * qemu-virt RAM budget; 8 + 4 measured no faster). TX full is PORT_EAGAIN
 * (lwIP retries), never a drop. */
#define VIRTIO_NET_RX_BUFS 6u
#define VIRTIO_NET_TX_BUFS 3u

/* Finds the first modern virtio-net among nslots virtio-mmio slots of
 * stride bytes from mmio_base, negotiates VERSION_1 + MAC, posts the RX
 * buffers and starts it. irq_base: GIC id of slot 0 (slot n is
 * irq_base + n). Returns 0 and *out, PORT_EIO (no device or it failed),
 * PORT_ENOTSUP (legacy transport or missing MAC feature), PORT_EINVAL
 * (already probed). */
int virtio_net_probe(uintptr_t mmio_base, uintptr_t stride, unsigned nslots, unsigned irq_base,
		     struct net_dev **out);

#endif
