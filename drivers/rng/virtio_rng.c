/* virtio_rng.c — virtio-rng over modern virtio-mmio: one device-writable
 * buffer of VIRTIO_RNG_CHUNK bytes in flight on the single requestq; the
 * bytes the device wrote are handed out once, then the buffer is reposted.
 * Exports virtio_rng_probe() and the rng_driver_api behind it. */
#include "virtio_rng.h"

#include <string.h>

#include "../virtio/virtio_mmio.h"
#include "../virtio/virtq.h"
#include "port.h"

#define VRNG_Q 0u

static struct vrng {
	bool probed;
	bool in_flight;		/* the buffer belongs to the device */
	bool broken;
	struct rng_dev dev;
	struct virtio_mmio mmio;
	struct virtq q;
	struct virtq_mem mem;
	uint8_t buf[VIRTIO_RNG_CHUNK] __attribute__((aligned(64)));
	uint32_t have;		/* unread bytes at buf[off..off+have) */
	uint32_t off;
} vrng;

static int vrng_request(void)
{
	struct virtq_buf vb = { .addr = vrng.buf, .len = sizeof(vrng.buf), .device_writes = true };
	int err = virtq_add(&vrng.q, &vb, 1, vrng.buf);
	if (err)
		return err;
	vrng.in_flight = true;
	if (virtq_publish(&vrng.q))
		virtio_mmio_notify(&vrng.mmio, VRNG_Q);
	return 0;
}

static long vrng_read(struct rng_dev *dev, void *out, size_t len)
{
	if (vrng.broken)
		return PORT_EIO;
	if (len == 0)
		return 0;
	if (vrng.have == 0 && vrng.in_flight) {
		uint32_t written;
		if (virtq_get_used(&vrng.q, &written) == NULL) {
			if (vrng.q.broken || virtio_mmio_needs_reset(&vrng.mmio)) {
				vrng.broken = true;
				return PORT_EIO;
			}
			return PORT_EAGAIN;
		}
		vrng.in_flight = false;
		if (written > sizeof(vrng.buf)) {
			vrng.broken = true;
			return PORT_EIO;
		}
		vrng.have = written; /* 0 is legal: the device had nothing yet */
		vrng.off = 0;
	}
	if (vrng.have == 0) {
		int err = vrng_request();
		if (err) {
			vrng.broken = true;
			return PORT_EIO;
		}
		return PORT_EAGAIN;
	}
	size_t n = len < vrng.have ? len : vrng.have;
	memcpy(out, vrng.buf + vrng.off, n);
	/* Never hand the same bytes out twice. */
	memset(vrng.buf + vrng.off, 0, n);
	vrng.off += (uint32_t)n;
	vrng.have -= (uint32_t)n;
	dev->bytes += n;
	/* Ask for the next chunk now so it is likely ready next time. */
	if (vrng.have == 0 && vrng_request() != 0)
		vrng.broken = true;
	return (long)n;
}

static const struct rng_driver_api vrng_api = { .read = vrng_read };

int virtio_rng_probe(uintptr_t mmio_base, uintptr_t stride, unsigned nslots, struct rng_dev **out)
{
	if (vrng.probed)
		return PORT_EINVAL;
	unsigned from = 0;
	int err = virtio_mmio_find(mmio_base, stride, nslots, VIRTIO_ID_RNG, &from, &vrng.mmio);
	if (err)
		return err;
	uint64_t got;
	err = virtio_mmio_negotiate(&vrng.mmio, 0, 0, &got);
	if (err)
		return err;
	uint16_t max;
	err = virtio_mmio_queue_max(&vrng.mmio, VRNG_Q, &max);
	if (!err) {
		/* One buffer in flight needs one entry; take a power of two that fits. */
		uint16_t num = VIRTQ_MAX_SIZE;
		while (num > max)
			num >>= 1;
		err = num ? virtq_init(&vrng.q, &vrng.mem, num) : PORT_ENOTSUP;
	}
	if (!err)
		err = virtio_mmio_queue_setup(&vrng.mmio, VRNG_Q, &vrng.q);
	if (err) {
		virtio_mmio_fail(&vrng.mmio);
		return err;
	}
	virtio_mmio_driver_ok(&vrng.mmio);
	vrng.dev.api = &vrng_api;
	vrng.dev.priv = &vrng;
	vrng.probed = true;
	err = vrng_request();
	if (err)
		return err;
	*out = &vrng.dev;
	return 0;
}
