/* ldns/config.h — hand-made replacement for the header ldns's configure
 * writes, for every target (glibc hosts and newlib bare metal). Built as
 * `./configure --without-ssl --disable-sha2 --disable-dane ...` would:
 * no OpenSSL (DNSSEC trust comes from the validating resolver's AD bit),
 * so no signing/verifying code. Used only to compile ldns itself. */
#ifndef DANEGATE_LDNS_CONFIG_H
#define DANEGATE_LDNS_CONFIG_H

#define PACKAGE_NAME "ldns"
#define PACKAGE_TARNAME "libdns"
#define PACKAGE_VERSION "1.8.4"
#define PACKAGE_STRING "ldns 1.8.4"
#define PACKAGE_BUGREPORT "dns-team@nlnetlabs.nl"
#define PACKAGE_URL ""

/* Record types ldns knows only when asked to. */
#define RRTYPE_AMTRELAY /**/
#define RRTYPE_OPENPGPKEY /**/
#define RRTYPE_RESINFO /**/
#define RRTYPE_SVCB_HTTPS /**/

/* HAVE_SSL, USE_SHA2, USE_DANE, USE_ECDSA, USE_ED25519, USE_ED448,
 * USE_DSA, USE_GOST: all off, deliberately. */

#define STDC_HEADERS 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDARG_H 1
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_INTTYPES_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_UNISTD_H 1
#define HAVE_TIME_H 1
#define HAVE_ATTR_FORMAT 1
#define HAVE_ATTR_UNUSED 1
/* On bare metal these four come from toolchain/config/ldns/shim/: types,
 * constants, byte order; no socket calls exist there. */
#define HAVE_SYS_SOCKET_H 1
#define HAVE_NETINET_IN_H 1
#define HAVE_ARPA_INET_H 1
#define HAVE_NETDB_H 1
/* getaddrinfo is used only by net.c/resolver.c, which we do not build;
 * claiming it keeps compat/fake-rfc2553.h out. */
#define HAVE_GETADDRINFO 1

/* libc functions both glibc and newlib have. */
#define HAVE_CALLOC 1
#define HAVE_MEMMOVE 1
#define HAVE_MEMSET 1
#define HAVE_BZERO 1
#define HAVE_SNPRINTF 1
#define HAVE_STRTOUL 1
#define HAVE_GMTIME_R 1
#define HAVE_LOCALTIME_R 1
#define HAVE_ASCTIME_R 1
#define HAVE_CTIME_R 1
#define HAVE_ISBLANK 1
#define HAVE_ISASCII 1
#define HAVE_RANDOM 1
#define HAVE_SLEEP 1
#define HAVE_INET_NTOP 1 /* newlib: compat/inet_ntop.c, declared by the shim */
#define HAVE_INET_PTON 1 /* newlib: compat/inet_pton.c, declared by the shim */
#define HAVE_DECL_INET_NTOP 1
#define HAVE_DECL_INET_PTON 1
#define HAVE_INET_ATON 1

#if defined(__linux__)
#define HAVE_TIMEGM 1
#define HAVE_POLL 1
#define HAVE_FCNTL 1
#define HAVE_ENDPROTOENT 1
#define HAVE_ENDSERVENT 1
#else
/* newlib has strlcpy; glibc before 2.38 (Debian 12 has 2.36) has not,
 * so Linux targets build compat/strlcpy.c. */
#define HAVE_STRLCPY 1
#endif
/* newlib has no timegm(): ldns declares one below; nothing we build
 * calls it, so no compat/timegm.c is linked. */

#define SYSCONFDIR "/etc"

/* The tail configure appends (AH_BOTTOM in configure.ac), trimmed to
 * what applies without Windows. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <assert.h>

#ifndef LITTLE_ENDIAN
#define LITTLE_ENDIAN 1234
#endif
#ifndef BIG_ENDIAN
#define BIG_ENDIAN 4321
#endif
#ifndef BYTE_ORDER
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_ORDER BIG_ENDIAN
#else
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#endif

#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define FD_SET_T

#ifdef __cplusplus
extern "C" {
#endif

int ldns_b64_ntop(uint8_t const *src, size_t srclength, char *target, size_t targsize);
static inline size_t ldns_b64_ntop_calculate_size(size_t srcsize)
{
	return ((((srcsize + 2) / 3) * 4) + 1);
}
int ldns_b64_pton(char const *src, uint8_t *target, size_t targsize);
static inline size_t ldns_b64_pton_calculate_size(size_t srcsize)
{
	return (((((srcsize + 3) / 4) * 3)) + 1);
}
int ldns_dname_compare_v(const void *a, const void *b);

#ifndef HAVE_TIMEGM
#include <time.h>
time_t timegm(struct tm *tm);
#endif

#ifndef HAVE_STRLCPY
size_t strlcpy(char *dst, const char *src, size_t siz);
#endif

#define SOCK_INVALID -1
#define close_socket(_s) do { if (_s != SOCK_INVALID) { close(_s); _s = -1; } } while (0)

#ifdef __cplusplus
}
#endif

#endif /* DANEGATE_LDNS_CONFIG_H */
