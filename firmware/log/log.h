/* log — the relay's log: printf-style records kept in a bounded RAM ring
 * for the consoles to read back, each also handed to the board's sink.
 * Exports log_msg(), log_read() and the LOG_* shorthands. */
#ifndef DANEGATE_LOG_H
#define DANEGATE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "port.h"

#define LOG_LINE_MAX 512	/* longer records are truncated with "..." */
#define LOG_RING_SIZE 8192	/* bytes of recent records kept in RAM */

void log_msg(enum port_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy out records newer than *cursor (0 = oldest kept), one per call:
 * returns the line length (0 when no more), advances *cursor. Records
 * overwritten since the cursor was taken are skipped. */
size_t log_read(uint32_t *cursor, enum port_log_level *level, char *buf, size_t size);

#define LOG_ERR(...) log_msg(PORT_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) log_msg(PORT_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) log_msg(PORT_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) log_msg(PORT_LOG_DEBUG, __VA_ARGS__)

#endif
