/* port_test_util — small helpers for the host board's unit tests:
 * private temp directories, file sizes, loopback checks. Exports ptu_*.
 * Test code only: failures abort the test through cmocka's fail(). */
#ifndef DANEGATE_PORT_TEST_UTIL_H
#define DANEGATE_PORT_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define PTU_PATH_MAX 256 /* bound for every path the helpers build */

/* Creates a fresh directory under $TMPDIR (or /tmp) into dir. */
void ptu_tempdir(char *dir, size_t size);
/* Removes the files directly inside dir, then dir (no recursion: the
 * tests only make flat directories). */
void ptu_rmtree(const char *dir);
/* Size of a file in bytes, -1 if it cannot be stat'ed. */
long ptu_file_size(const char *path);
/* True if ::1 can be bound on this machine (some containers have no
 * IPv6 loopback); tests that need it skip with a message otherwise. */
bool ptu_have_ipv6_loopback(void);

#endif
