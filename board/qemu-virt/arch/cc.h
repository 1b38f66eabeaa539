/* arch/cc.h — lwIP's compiler/platform glue for the qemu-virt board
 * (arm-none-eabi, newlib, little endian). Diagnostics and asserts go to
 * the board log; LWIP_RAND comes from the virtio-rng seeded generator.
 * The functions named here are implemented in board/qemu-virt/net_*.c. */
#ifndef QV_LWIP_ARCH_CC_H
#define QV_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>

/* newlib defines it in gnu modes; -std=c11 does not. */
#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif

/* printf-style diagnostics from LWIP_DEBUGF and friends: one log line. */
void qv_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An lwIP invariant broke: log it and stop (the watchdog/operator reboots). */
void qv_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
/* 32 random bits for ISNs, DHCP xids, IPv6 ND and port choice. */
uint32_t qv_lwip_rand(void);

#define LWIP_PLATFORM_DIAG(x) do { qv_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) qv_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() qv_lwip_rand()

#endif
