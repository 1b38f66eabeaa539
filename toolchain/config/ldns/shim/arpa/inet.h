/* arpa/inet.h shim — bare metal (newlib) only: the text <-> address
 * conversions, implemented by ldns's compat/inet_pton.c and inet_ntop.c
 * (built into libldns.a for arm-none-eabi). Same signatures as those. */
#ifndef DANEGATE_SHIM_ARPA_INET_H
#define DANEGATE_SHIM_ARPA_INET_H

#include <stddef.h>
#include <netinet/in.h>

#define INET_ADDRSTRLEN 16
#define INET6_ADDRSTRLEN 46

int inet_pton(int af, const char *src, void *dst);
const char *inet_ntop(int af, const void *src, char *dst, size_t size);

#endif
