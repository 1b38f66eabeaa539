/* fuzz_platform — what the fuzz targets need from a platform: the two
 * hooks the project's mbedTLS configuration asks for (mbedtls_ms_time,
 * mbedtls_hardware_poll, as in tools/dane-verify/host_hooks.c) and the
 * port.h log sink, all answered by Linux. Exports those three. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/random.h>
#include <time.h>

#include "mbedtls/build_info.h"
#include "mbedtls/entropy.h"
#include "mbedtls/platform_time.h"
#include "port.h"

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
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
}

/* Fuzzing must stay quiet: the firmware's log lines are dropped. */
void port_log_sink(enum port_log_level level, const char *line, size_t len)
{
	(void)level;
	(void)line;
	(void)len;
}
