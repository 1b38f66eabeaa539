/* selftest_hooks — mbedtls_ms_time() and mbedtls_hardware_poll() for the
 * toolchain's selftest programs, which have no board. The firmware's are
 * in firmware/tls/tls_platform.c (port.h). */
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "mbedtls/entropy.h"
#include "mbedtls/platform_time.h"

#include "selftest_hooks.h"

#if defined(__linux__)
#include <sys/random.h>
#endif

/* The two hooks the project's mbedTLS configuration asks for. The
 * firmware's are in firmware/tls/tls_platform.c (port.h); these stand in
 * for a program that has no board. Bare metal: built once to link with
 * nosys.specs (size), once with rdimon.specs (DEPS_SELFTEST_SEMIHOSTING)
 * to run under qemu-arm, where newlib's files are the host's through ARM
 * semihosting — so the entropy is the host's /dev/urandom, not made up. */
mbedtls_ms_time_t mbedtls_ms_time(void)
{
#if defined(__linux__)
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (mbedtls_ms_time_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#elif defined(DEPS_SELFTEST_SEMIHOSTING)
	return (mbedtls_ms_time_t)clock() * 1000 / CLOCKS_PER_SEC;
#else
	return 0; /* nosys build: linked to prove it links, never run */
#endif
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	*olen = 0;
#if defined(__linux__)
	ssize_t n = getrandom(output, len, 0);
	if (n < 0 || (size_t)n != len)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
#elif defined(DEPS_SELFTEST_SEMIHOSTING)
	FILE *f = fopen("/dev/urandom", "rb");
	if (f == NULL)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	size_t n = fread(output, 1, len, f);
	fclose(f);
	if (n != len)
		return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
	*olen = len;
	return 0;
#else
	/* No entropy source without a board: say so, never make bytes up. */
	(void)output;
	(void)len;
	return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
#endif
}
