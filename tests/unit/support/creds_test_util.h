/* creds_test_util — a freshly generated P-256 key and self-signed
 * certificate as PEM text, what an operator pastes into `tlsa import`.
 * Exports ctu_pem_pair(). Test code only. */
#ifndef DANEGATE_CREDS_TEST_UTIL_H
#define DANEGATE_CREDS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* "EC PRIVATE KEY" + "CERTIFICATE" blocks for host, valid from t - 1 day,
 * into pem (NUL-terminated); the certificate's DER into crt / *crt_len
 * (in: its size). tls_init() must have run. */
void ctu_pem_pair(const char *host, int64_t t, char *pem, size_t size, uint8_t *crt,
		  size_t *crt_len);

#endif
