/* danegate_mbedtls_config.h — the project's complete mbedTLS 3.6 configuration
 * (replaces mbedtls_config.h via -DMBEDTLS_CONFIG_FILE), the same for every
 * target. An SMTP relay doing DANE: TLS 1.2 + 1.3, client and server. */
#ifndef DANEGATE_MBEDTLS_CONFIG_H
#define DANEGATE_MBEDTLS_CONFIG_H

/* ---- System ------------------------------------------------------------ */
/* Bignum and multiply assembly for ARM (UMAAL) and x86-64. */
#define MBEDTLS_HAVE_ASM
/* Certificate validity dates matter (DANE-TA(2) checks the chain, dates
 * included): time() and gmtime_r() from libc; the board sets the clock. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* mbedtls_ms_time() (TLS 1.3 ticket ages, timeouts) comes from the
 * firmware (firmware/tls/tls_platform.c, port_now_ms()): newlib has no
 * clock_gettime() that mbedTLS's default would call. */
#define MBEDTLS_PLATFORM_MS_TIME_ALT
/* calloc/free go to the static arena (MBEDTLS_MEMORY_BUFFER_ALLOC_C). */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* Arena blocks 8-aligned (default 4): mbedtls_x509_crt and other structs
 * with 64-bit members need it on 64-bit hosts (UBSan: misaligned access
 * seen in test_outbound with two TLS sessions at once). */
#define MBEDTLS_MEMORY_ALIGN_MULTIPLE 8
/* Peak and current arena use for the console (..._max_get/_cur_get). */
#define MBEDTLS_MEMORY_DEBUG
#define MBEDTLS_DEPRECATED_REMOVED
/* mbedtls_strerror() text would cost ~15 KiB of rodata; logs carry the
 * numeric code (-0x7780 etc.). The dummy keeps callers linking. */
#define MBEDTLS_ERROR_STRERROR_DUMMY
#define MBEDTLS_VERSION_C

/* Files only where there is a filesystem (host board: certificates and
 * keys from files in tests). Never on bare metal. */
#if defined(__linux__)
#define MBEDTLS_FS_IO
#endif

/* ---- Entropy and random numbers ---------------------------------------- */
/* The only entropy source is the board's true RNG (getrandom /
 * virtio-rng) through port_random(): the firmware supplies
 * mbedtls_hardware_poll() (tls_platform.c), registered as a strong source. */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
/* Deterministic ECDSA (RFC 6979): a signature never depends on the RNG
 * being good at that moment. Needs HMAC_DRBG. */
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_ECDSA_DETERMINISTIC

/* ---- Hashes, MAC, KDF --------------------------------------------------- */
/* SHA-256/384/512: TLS suites, TLSA matching types 1 and 2, X.509.
 * SHA-1 is off: mbedTLS's default X.509 profile refuses SHA-1 signatures
 * anyway, TLS 1.2/1.3 signature algorithms we offer do not use it, and
 * TLSA has no SHA-1 matching type. An Internet chain with a SHA-1 signed
 * intermediate fails DANE-TA(2) — as it does with OpenSSL 3 at its default
 * security level (Postfix). The root's own signature is never checked. */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER
#define MBEDTLS_MD_C
#define MBEDTLS_HKDF_C

/* ---- Ciphers ------------------------------------------------------------ */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
/* The AES tables as constants (2.5 KiB of rodata, not of RAM built at
 * first use); the fewer-tables variant keeps them at 2.5 KiB, not 8.5. */
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

/* ---- Public key --------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
/* Up to 4096-bit RSA (Internet MX certificates); halves the worst-case
 * bignum stack/heap of the default 8192. */
#define MBEDTLS_MPI_MAX_SIZE 512
#define MBEDTLS_MPI_WINDOW_SIZE 2
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15 /* TLS 1.2 ECDHE-RSA, most certificate signatures */
#define MBEDTLS_PKCS1_V21 /* RSA-PSS: TLS 1.3 CertificateVerify */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
/* Fast reduction for the NIST primes: a few KiB of code for handshakes
 * that take noticeably less time on a router CPU. The fixed-point comb
 * tables are off: tens of KiB of rodata for P-384 alone. */
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_ECP_WINDOW_SIZE 4
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C  /* the gateway stores its own key */
#define MBEDTLS_OID_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C /* show our certificate on the console */

/* ---- X.509 -------------------------------------------------------------- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C /* self-signed certificate at first boot */
/* DANE-TA(2): the trust anchor comes from the peer's own chain, matched
 * against TLSA records at handshake time; the CA callback lets the DANE
 * code hand mbedTLS that anchor instead of a fixed CA list. */
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK
#define MBEDTLS_X509_MAX_INTERMEDIATE_CA 8
/* Needed for TLS 1.3 with RSA server keys, not just for PSS-signed
 * certificates: mbedTLS 3.6 offers rsa_pss_rsae_* in signature_algorithms
 * only with this option, and without those a TLS 1.3 server holding an RSA
 * key has nothing to sign with (OpenSSL: "no suitable signature
 * algorithm"; found by toolchain/selftest-interop.sh). */
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT

/* ---- PSA (TLS 1.3 does its key schedule through PSA) ------------------- */
/* Mechanisms follow the legacy options above (no MBEDTLS_PSA_CRYPTO_CONFIG).
 * The firmware calls psa_crypto_init() before any handshake. */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_SLOT_COUNT 16

/* ---- TLS ---------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
/* TLS 1.2 and 1.3 only (nothing older is even compiled). */
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE /* middleboxes on SMTP paths */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
/* Forward secrecy only, certificates with ECDSA or RSA keys. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* DANE matches the peer's chain */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION /* RFC 7672 §8.1: send SNI */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
/* Lets a peer with small buffers ask us for small records (server side)
 * and us ask for them (client side, if the firmware chooses to). */
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
/* Record buffers per session. In: 16 KiB, because any peer may send full
 * size records (RFC 8446 §5.1) and most SMTP servers ignore
 * max_fragment_length. Out: 2 KiB, because we choose what we send: SMTP
 * lines and DATA chunks (a write longer than a record is taken in parts),
 * and our own handshake messages, which mbedTLS does not split: the
 * largest is the Certificate message with the gateway's chain — the
 * firmware only ever holds its generated P-256 self-signed certificate
 * (at most 1 KiB, console.h crt_der) and sends no client certificate;
 * tls_cred_load() refuses a chain that would not fit (TLS_OWN_CHAIN_MAX).
 * 2 KiB instead of 4 saves 2 KiB per session (bench/ram). */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048
/* The default list when the firmware does not set its own: AEAD with
 * forward secrecy, TLS 1.3 first. */
#define MBEDTLS_SSL_CIPHERSUITES \
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256, \
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384, \
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, \
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, \
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, \
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, \
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256

/* Deliberately absent: SSL < 1.2, DTLS, PSK, renegotiation, session
 * tickets/cache (each SMTP connection is short; a TLS 1.3 client ignores
 * NewSessionTicket without them), ALPN, early data, CBC/CTR modes, CCM,
 * DES, ARIA, CAMELLIA, MD5, RIPEMD, SHA-1, SHA-224, SHA-3, DHM, CRL/CSR,
 * PKCS#5/#7/#12, net_sockets, timing, threading, debug, self tests. */


#endif /* DANEGATE_MBEDTLS_CONFIG_H */
