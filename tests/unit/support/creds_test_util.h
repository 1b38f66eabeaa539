/* creds_test_util — a freshly generated P-256 key and self-signed
 * certificate as PEM text, what an operator pastes into `tlsa import`.
 * Also fills the TLS arena for out-of-memory tests. Exports
 * ctu_pem_pair(), ctu_arena_fill(), ctu_arena_release(). Test code only. */
#ifndef DANEGATE_CREDS_TEST_UTIL_H
#define DANEGATE_CREDS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* "EC PRIVATE KEY" + "CERTIFICATE" blocks for host, valid from t - 1 day,
 * into pem (NUL-terminated); the certificate's DER into crt / *crt_len
 * (in: its size). tls_init() must have run. */
void ctu_pem_pair(const char *host, int64_t t, char *pem, size_t size, uint8_t *crt,
		  size_t *crt_len);

/* Take every block the TLS arena gives (4 KiB blocks, then halving down
 * to 8 bytes) into fill[0..max); returns how many. Asserts that the arena
 * ran out before max blocks. */
size_t ctu_arena_fill(void **fill, size_t max);
/* Give back the last *n blocks of fill (all of them), *n = 0 after. */
void ctu_arena_release(void **fill, size_t *n);

#endif
