/* rng.h — the entropy source driver class: one const ops struct per chip.
 * Reads are non-blocking; the board decides how long to wait. */
#ifndef DRIVERS_RNG_RNG_H
#define DRIVERS_RNG_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng_dev;

struct rng_driver_api {
	/* Copy up to len fresh entropy bytes to buf: >0 bytes, PORT_EAGAIN
	 * (a request is in flight, call again), PORT_EIO (device broken).
	 * Bytes are handed out once and then forgotten. */
	long (*read)(struct rng_dev *dev, void *buf, size_t len);
};

struct rng_dev {
	const struct rng_driver_api *api;
	uint64_t bytes;		/* delivered so far, for the console */
	void *priv;
};

#endif
