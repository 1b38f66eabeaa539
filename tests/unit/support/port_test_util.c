/* port_test_util — see port_test_util.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* 64-bit directory offsets: 32-bit ARM under qemu-user on a 64-bit host
 * otherwise fails readdir with EOVERFLOW and the temp dirs stay behind. */
#define _FILE_OFFSET_BITS 64
#include "port_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void ptu_tempdir(char *dir, size_t size)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	int n = snprintf(dir, size, "%s/dg-unit-XXXXXX", base);
	assert_true(n > 0 && (size_t)n < size);
	assert_non_null(mkdtemp(dir));
}

void ptu_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[PTU_PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

long ptu_file_size(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return -1;
	return (long)sb.st_size;
}

bool ptu_have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}
