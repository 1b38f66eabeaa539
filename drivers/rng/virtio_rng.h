/* virtio_rng.h — virtio-rng (entropy device, modern virtio-mmio) driver.
 * Exports virtio_rng_probe(); reads go through dev->api (rng.h). */
#ifndef DRIVERS_RNG_VIRTIO_RNG_H
#define DRIVERS_RNG_VIRTIO_RNG_H

#include <stdint.h>

#include "rng.h"

/* Bytes asked from the device per request (one buffer in flight). */
#define VIRTIO_RNG_CHUNK 64u

/* Finds the first modern virtio-rng among nslots slots of stride bytes
 * from mmio_base and starts it. 0 and *out, PORT_EIO (none / failed),
 * PORT_ENOTSUP (legacy transport), PORT_EINVAL (already probed). */
int virtio_rng_probe(uintptr_t mmio_base, uintptr_t stride, unsigned nslots, struct rng_dev **out);

#endif
