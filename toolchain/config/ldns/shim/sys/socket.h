/* sys/socket.h shim — bare metal (newlib) only, for ldns's headers and
 * sources: the types and address families they name. There are no socket
 * calls here; the board's network stack (lwIP) is never mixed with these
 * in one translation unit (firmware/ never includes lwIP headers). */
#ifndef DANEGATE_SHIM_SYS_SOCKET_H
#define DANEGATE_SHIM_SYS_SOCKET_H

#include <stdint.h>
#include <sys/types.h>

typedef uint32_t socklen_t;
typedef uint16_t sa_family_t;

#define AF_UNSPEC 0
#define AF_INET 2
#define AF_INET6 10
#define PF_UNSPEC AF_UNSPEC
#define PF_INET AF_INET
#define PF_INET6 AF_INET6
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

struct sockaddr {
	sa_family_t sa_family;
	char sa_data[14];
};

/* Big and aligned enough for sockaddr_in6 (28 bytes). */
struct sockaddr_storage {
	sa_family_t ss_family;
	char ss_pad[126];
} __attribute__((aligned(8)));

#endif
