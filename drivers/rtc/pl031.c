/* pl031.c — ARM PrimeCell PL031 RTC (DDI0224): a free-running seconds
 * counter. Exports pl031_init() and pl031_read(). */
#include "pl031.h"

#include "../mmio.h"
#include "port.h"

#define RTC_DR 0x000
#define RTC_CR 0x00c
#define RTC_IMSC 0x010
#define RTC_PERIPHID0 0xfe0
#define RTC_PERIPHID1 0xfe4

int pl031_init(const struct pl031 *r)
{
	/* Part number 0x031 in the low 12 bits of PeriphID1:0: a wrong base
	 * address or a missing device reads as something else. */
	uint32_t part = (mmio_read32(r->base + RTC_PERIPHID0) & 0xffu) |
			((mmio_read32(r->base + RTC_PERIPHID1) & 0xfu) << 8);
	if (part != 0x031u)
		return PORT_EIO;
	mmio_write32(r->base + RTC_IMSC, 0);
	mmio_write32(r->base + RTC_CR, 1); /* start; a no-op when running */
	return 0;
}

uint32_t pl031_read(const struct pl031 *r)
{
	return mmio_read32(r->base + RTC_DR);
}
