/* crc32c — see crc32c.h. Table-driven (1 KiB): the queue checks every
 * byte it streams, so the bitwise form would cost 8x the time. */
#include "util/crc32c.h"

#include <stdbool.h>

static uint32_t crc_tab[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[i] = c;
	}
	crc_ready = true;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_tab[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
	return ~crc;
}
