/* tls_platform — the two platform hooks our mbedTLS configuration asks
 * the firmware for (MBEDTLS_PLATFORM_MS_TIME_ALT and
 * MBEDTLS_ENTROPY_HARDWARE_ALT), both answered through port.h so one
 * mbedTLS build serves every board. */
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/build_info.h"
#include "mbedtls/entropy.h"
#include "mbedtls/platform_time.h"

#include "port.h"

mbedtls_ms_time_t mbedtls_ms_time(void)
{
	return (mbedtls_ms_time_t)port_now_ms();
}

/* mbedTLS's entropy poll for MBEDTLS_ENTROPY_HARDWARE_ALT. The board's
 * source is a true RNG (getrandom, virtio-rng); if it fails we report the
 * failure instead of returning fewer or made-up bytes. */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
	if (port_random(output, len) != 0)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
}
