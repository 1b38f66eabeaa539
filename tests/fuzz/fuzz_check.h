/* fuzz_check — check(cond) for the fuzz targets: on failure prints the
 * file, line and condition to stderr and aborts (libFuzzer then saves the
 * input as a crash). Header-only. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H
#include <stdio.h>
#include <stdlib.h>

#define check(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)
#endif
