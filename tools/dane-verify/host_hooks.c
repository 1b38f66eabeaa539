/* host_hooks — the two platform hooks the project's mbedTLS configuration
 * asks for (MBEDTLS_PLATFORM_MS_TIME_ALT, MBEDTLS_ENTROPY_HARDWARE_ALT),
 * answered by Linux for this host tool; the firmware answers them through
 * port.h in firmware/tls/tls_platform.c. dane-verify draws no random
 * numbers itself; PSA initialisation may. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/random.h>
#include <time.h>

#include "mbedtls/build_info.h"
#include "mbedtls/entropy.h"
#include "mbedtls/platform_time.h"

mbedtls_ms_time_t mbedtls_ms_time(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (mbedtls_ms_time_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
	ssize_t n = getrandom(output, len, 0);
	if (n < 0 || (size_t)n != len)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED; /* never fewer or made-up bytes */
	*olen = len;
	return 0;
}
