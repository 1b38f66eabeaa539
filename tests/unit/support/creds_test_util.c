/* creds_test_util — see creds_test_util.h. */
#include "support/creds_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <cmocka.h>

#include "mbedtls/pem.h"
#include "mbedtls/platform.h"
#include "tls/tls.h"

void ctu_pem_pair(const char *host, int64_t t, char *pem, size_t size, uint8_t *crt,
		  size_t *crt_len)
{
	uint8_t k[256];
	size_t kl = sizeof(k), o = 0;
	assert_int_equal(tls_cred_generate(host, t, k, &kl, crt, crt_len), 0);
	assert_int_equal(mbedtls_pem_write_buffer("-----BEGIN EC PRIVATE KEY-----\n",
						  "-----END EC PRIVATE KEY-----\n", k, kl,
						  (unsigned char *)pem, size, &o),
			 0);
	size_t used = strlen(pem);
	assert_int_equal(mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
						  "-----END CERTIFICATE-----\n", crt, *crt_len,
						  (unsigned char *)pem + used, size - used, &o),
			 0);
}

size_t ctu_arena_fill(void **fill, size_t max)
{
	size_t n = 0;
	for (size_t sz = 4096; sz >= 8 && n < max;) {
		void *b = mbedtls_calloc(1, sz);
		if (b)
			fill[n++] = b;
		else
			sz /= 2;
	}
	assert_true(n < max);
	return n;
}

void ctu_arena_release(void **fill, size_t *n)
{
	while (*n)
		mbedtls_free(fill[--*n]);
}
