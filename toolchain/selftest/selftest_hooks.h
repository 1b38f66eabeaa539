/* selftest_hooks.h — the platform hooks our mbedTLS configuration asks
 * for, as the selftests provide them (selftest_hooks.c). */
#ifndef SELFTEST_HOOKS_H
#define SELFTEST_HOOKS_H

#include <stddef.h>

#include "mbedtls/platform_time.h"

mbedtls_ms_time_t mbedtls_ms_time(void);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

#endif
