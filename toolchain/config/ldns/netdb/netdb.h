/* netdb.h shim — for compiling ldns itself, on every target. ldns looks
 * up service and protocol names (WKS records, text form only); a router has
 * no services database, so every lookup finds nothing and ldns falls back
 * to numbers — the same on every target, and a statically linked armhf
 * program does not drag in glibc's NSS for it. Only ldns's .c files
 * include netdb.h; no name resolution here: that is firmware/dns. */
#ifndef DANEGATE_SHIM_NETDB_H
#define DANEGATE_SHIM_NETDB_H

#include <stddef.h>

struct servent {
	char *s_name;
	char **s_aliases;
	int s_port;
	char *s_proto;
};

struct protoent {
	char *p_name;
	char **p_aliases;
	int p_proto;
};

static inline struct servent *getservbyname(const char *name, const char *proto)
{
	(void)name;
	(void)proto;
	return NULL;
}

static inline struct servent *getservbyport(int port, const char *proto)
{
	(void)port;
	(void)proto;
	return NULL;
}

static inline struct protoent *getprotobyname(const char *name)
{
	(void)name;
	return NULL;
}

static inline struct protoent *getprotobynumber(int proto)
{
	(void)proto;
	return NULL;
}

static inline void endservent(void) {}
static inline void endprotoent(void) {}

#endif
