/* virtio_mmio.h — virtio-mmio transport, modern (version 2) only.
 * Exports device discovery over the board's slots, the status/feature
 * handshake, queue setup and notification. Device classes (net, rng) sit
 * on top; they never touch transport registers themselves. */
#ifndef DRIVERS_VIRTIO_VIRTIO_MMIO_H
#define DRIVERS_VIRTIO_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_RNG 4u

#define VIRTIO_F_VERSION_1 32u /* feature bit numbers (0..63) */

struct virtio_mmio {
	uintptr_t base;
	unsigned slot;		/* index in the board's slot array */
	uint32_t device_id;
};

/* Scans nslots slots of stride bytes from base (the board says where) and
 * returns the first (lowest address) modern device of class device_id
 * whose slot index is >= *from, setting *from past it. 0 if found,
 * PORT_ENOTSUP if a legacy (version 1) device of that class exists
 * (QEMU needs -global virtio-mmio.force-legacy=false), PORT_EIO if none. */
int virtio_mmio_find(uintptr_t base, uintptr_t stride, unsigned nslots, uint32_t device_id,
		     unsigned *from, struct virtio_mmio *dev);

/* Reset, ACKNOWLEDGE|DRIVER, feature negotiation, FEATURES_OK check.
 * want: features the driver understands (VIRTIO_F_VERSION_1 is always
 * required and added here); need: features it cannot work without.
 * *got receives the negotiated set. 0, PORT_ENOTSUP (a needed feature is
 * missing or the device refused the set) or PORT_EIO (device failed). */
int virtio_mmio_negotiate(struct virtio_mmio *dev, uint64_t want, uint64_t need, uint64_t *got);

/* Sets queue index qi up with q (already virtq_init-ed with
 * min(VIRTQ_MAX_SIZE, device maximum) entries — use virtio_mmio_queue_max
 * first). 0, PORT_EINVAL, PORT_EIO. */
int virtio_mmio_queue_max(struct virtio_mmio *dev, unsigned qi, uint16_t *max);
int virtio_mmio_queue_setup(struct virtio_mmio *dev, unsigned qi, struct virtq *q);

/* Sets DRIVER_OK: the device may now use the queues. */
void virtio_mmio_driver_ok(struct virtio_mmio *dev);

/* Marks the device FAILED (we gave up on it) . */
void virtio_mmio_fail(struct virtio_mmio *dev);

/* Tells the device queue qi has new buffers. */
void virtio_mmio_notify(struct virtio_mmio *dev, unsigned qi);

/* Reads and acknowledges the interrupt status (bit 0: used ring, bit 1:
 * config change). Safe from an interrupt handler: touches only registers. */
uint32_t virtio_mmio_irq_ack(struct virtio_mmio *dev);

/* True if the device has flagged DEVICE_NEEDS_RESET. */
bool virtio_mmio_needs_reset(struct virtio_mmio *dev);

/* Device-specific configuration space, read with the generation counter
 * so multi-byte fields are consistent. len <= 64. 0 or PORT_EINVAL. */
int virtio_mmio_config_read(struct virtio_mmio *dev, uint32_t off, void *buf, uint32_t len);

#endif
