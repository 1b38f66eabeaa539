/* pl031.h — ARM PrimeCell PL031 real-time clock: seconds counter.
 * Exports pl031_init() and pl031_read(). */
#ifndef DRV_PL031_H
#define DRV_PL031_H

#include <stdint.h>

struct pl031 {
	uintptr_t base;
};

/* Checks the PrimeCell ID and starts the counter. 0 or PORT_EIO. */
int pl031_init(const struct pl031 *r);
/* Seconds since the Unix epoch as the RTC counts them (QEMU seeds it from
 * the host's UTC clock). */
uint32_t pl031_read(const struct pl031 *r);

#endif
