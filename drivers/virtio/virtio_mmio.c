/* virtio_mmio.c — virtio-mmio transport (virtio 1.x §4.2, version 2
 * register layout): discovery, status handshake, features, queues.
 * Exports the virtio_mmio_* functions of virtio_mmio.h. */
#include "virtio_mmio.h"

#include <stddef.h>

#include "../mmio.h"
#include "port.h"

enum {
	VM_MAGIC = 0x000,
	VM_VERSION = 0x004,
	VM_DEVICE_ID = 0x008,
	VM_DEVICE_FEATURES = 0x010,
	VM_DEVICE_FEATURES_SEL = 0x014,
	VM_DRIVER_FEATURES = 0x020,
	VM_DRIVER_FEATURES_SEL = 0x024,
	VM_QUEUE_SEL = 0x030,
	VM_QUEUE_NUM_MAX = 0x034,
	VM_QUEUE_NUM = 0x038,
	VM_QUEUE_READY = 0x044,
	VM_QUEUE_NOTIFY = 0x050,
	VM_INTERRUPT_STATUS = 0x060,
	VM_INTERRUPT_ACK = 0x064,
	VM_STATUS = 0x070,
	VM_QUEUE_DESC_LOW = 0x080,
	VM_QUEUE_DESC_HIGH = 0x084,
	VM_QUEUE_DRIVER_LOW = 0x090,
	VM_QUEUE_DRIVER_HIGH = 0x094,
	VM_QUEUE_DEVICE_LOW = 0x0a0,
	VM_QUEUE_DEVICE_HIGH = 0x0a4,
	VM_CONFIG_GENERATION = 0x0fc,
	VM_CONFIG = 0x100,
};

#define VM_MAGIC_VALUE 0x74726976u /* "virt" */

enum {
	ST_ACKNOWLEDGE = 1,
	ST_DRIVER = 2,
	ST_DRIVER_OK = 4,
	ST_FEATURES_OK = 8,
	ST_NEEDS_RESET = 64,
	ST_FAILED = 128,
};

/* Bounded wait for the device to finish a reset; QEMU does it at once. */
#define VM_RESET_SPINS 100000u

static inline uint32_t rd32(const struct virtio_mmio *d, uint32_t off)
{
	return mmio_read32(d->base + off);
}

static inline void wr32(const struct virtio_mmio *d, uint32_t off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}

int virtio_mmio_find(uintptr_t base, uintptr_t stride, unsigned nslots, uint32_t device_id,
		     unsigned *from, struct virtio_mmio *dev)
{
	bool legacy = false;
	for (unsigned n = *from; n < nslots; n++) {
		struct virtio_mmio d = { .base = base + n * stride, .slot = n };
		if (rd32(&d, VM_MAGIC) != VM_MAGIC_VALUE)
			continue;
		uint32_t id = rd32(&d, VM_DEVICE_ID);
		if (id != device_id) /* 0: empty slot */
			continue;
		if (rd32(&d, VM_VERSION) != 2) {
			legacy = true;
			continue;
		}
		d.device_id = id;
		*dev = d;
		*from = n + 1;
		return 0;
	}
	return legacy ? PORT_ENOTSUP : PORT_EIO;
}

static void status_set(struct virtio_mmio *d, uint32_t bits)
{
	wr32(d, VM_STATUS, rd32(d, VM_STATUS) | bits);
}

int virtio_mmio_negotiate(struct virtio_mmio *dev, uint64_t want, uint64_t need, uint64_t *got)
{
	wr32(dev, VM_STATUS, 0);
	unsigned spins = 0;
	while (rd32(dev, VM_STATUS) != 0)
		if (++spins > VM_RESET_SPINS)
			return PORT_EIO;
	status_set(dev, ST_ACKNOWLEDGE);
	status_set(dev, ST_DRIVER);

	uint64_t offered = 0;
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr32(dev, VM_DEVICE_FEATURES_SEL, sel);
		offered |= (uint64_t)rd32(dev, VM_DEVICE_FEATURES) << (32 * sel);
	}
	want |= 1ull << VIRTIO_F_VERSION_1;
	need |= 1ull << VIRTIO_F_VERSION_1;
	uint64_t take = offered & want;
	if ((take & need) != need) {
		virtio_mmio_fail(dev);
		return PORT_ENOTSUP;
	}
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr32(dev, VM_DRIVER_FEATURES_SEL, sel);
		wr32(dev, VM_DRIVER_FEATURES, (uint32_t)(take >> (32 * sel)));
	}
	status_set(dev, ST_FEATURES_OK);
	/* The device clears FEATURES_OK if it cannot live with our subset. */
	if ((rd32(dev, VM_STATUS) & ST_FEATURES_OK) == 0) {
		virtio_mmio_fail(dev);
		return PORT_ENOTSUP;
	}
	*got = take;
	return 0;
}

int virtio_mmio_queue_max(struct virtio_mmio *dev, unsigned qi, uint16_t *max)
{
	wr32(dev, VM_QUEUE_SEL, qi);
	if (rd32(dev, VM_QUEUE_READY) != 0)
		return PORT_EIO; /* the reset did not take */
	uint32_t m = rd32(dev, VM_QUEUE_NUM_MAX);
	if (m == 0)
		return PORT_EINVAL; /* no such queue */
	*max = (uint16_t)(m > 0xffffu ? 0xffffu : m);
	return 0;
}

int virtio_mmio_queue_setup(struct virtio_mmio *dev, unsigned qi, struct virtq *q)
{
	uint16_t max;
	int err = virtio_mmio_queue_max(dev, qi, &max);
	if (err)
		return err;
	if (q->num > max)
		return PORT_EINVAL;
	uint64_t desc = (uint64_t)(uintptr_t)q->mem->desc;
	uint64_t drv = (uint64_t)(uintptr_t)&q->mem->avail;
	uint64_t devp = (uint64_t)(uintptr_t)&q->mem->used;
	wr32(dev, VM_QUEUE_NUM, q->num);
	wr32(dev, VM_QUEUE_DESC_LOW, (uint32_t)desc);
	wr32(dev, VM_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr32(dev, VM_QUEUE_DRIVER_LOW, (uint32_t)drv);
	wr32(dev, VM_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
	wr32(dev, VM_QUEUE_DEVICE_LOW, (uint32_t)devp);
	wr32(dev, VM_QUEUE_DEVICE_HIGH, (uint32_t)(devp >> 32));
	/* Ring contents (zeroed by virtq_init) before the device may use them. */
	virtq_mb();
	wr32(dev, VM_QUEUE_READY, 1);
	return 0;
}

void virtio_mmio_driver_ok(struct virtio_mmio *dev)
{
	virtq_mb();
	status_set(dev, ST_DRIVER_OK);
}

void virtio_mmio_fail(struct virtio_mmio *dev)
{
	status_set(dev, ST_FAILED);
}

void virtio_mmio_notify(struct virtio_mmio *dev, unsigned qi)
{
	/* avail->idx must reach memory before the doorbell. */
	virtq_mb();
	wr32(dev, VM_QUEUE_NOTIFY, qi);
}

uint32_t virtio_mmio_irq_ack(struct virtio_mmio *dev)
{
	uint32_t st = rd32(dev, VM_INTERRUPT_STATUS);
	if (st)
		wr32(dev, VM_INTERRUPT_ACK, st);
	return st;
}

bool virtio_mmio_needs_reset(struct virtio_mmio *dev)
{
	return (rd32(dev, VM_STATUS) & ST_NEEDS_RESET) != 0;
}

int virtio_mmio_config_read(struct virtio_mmio *dev, uint32_t off, void *buf, uint32_t len)
{
	if (len > 64 || off > 0x100 - len)
		return PORT_EINVAL;
	uint8_t *out = buf;
	uint32_t gen;
	/* Byte reads are allowed for config space; retry if the device
	 * changed the config underneath us (generation moved). */
	do {
		gen = rd32(dev, VM_CONFIG_GENERATION);
		for (uint32_t i = 0; i < len; i++)
			out[i] = mmio_read8(dev->base + VM_CONFIG + off + i);
	} while (rd32(dev, VM_CONFIG_GENERATION) != gen);
	return 0;
}
