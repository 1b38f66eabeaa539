/* serial — the console on the board's UART (stdio on the host board):
 * a line editor (insert, backspace/DEL, Ctrl-U, Ctrl-C, left/right, a
 * bounded history on up/down) over port_console_read/write, a prompt,
 * no echo while a password is typed, and the login step.
 * Exports serial_init(), serial_poll() (call after port_poll) and
 * serial_feed() (bytes in, for tests and other byte sources). */
#ifndef DANEGATE_SERIAL_H
#define DANEGATE_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console/console.h"

#ifndef SERIAL_HISTORY
#define SERIAL_HISTORY 8      /* lines kept for up/down; the oldest goes first (a board may set fewer) */
#endif
#define SERIAL_OUT_BUF 512    /* console output is streamed through this */
#define SERIAL_READ_CHUNK 64  /* bytes read per port_console_read call */
#define SERIAL_POLL_MAX 1024  /* bytes handled per serial_poll: keeps the loop moving */

/* Where bytes go and come from; NULL members mean the port.h functions. */
struct serial_io {
	long (*read)(void *buf, size_t len);
	void (*write)(const void *buf, size_t len);
	void (*reboot)(void);
};

struct serial {
	struct console con;
	struct serial_io io;
	struct console_out out;
	char outbuf[SERIAL_OUT_BUF];
	char line[CONSOLE_LINE_MAX];
	size_t len, cur;	/* bytes in line; cursor position */
	char hist[SERIAL_HISTORY][CONSOLE_LINE_MAX];
	unsigned hist_n;	/* lines kept (<= SERIAL_HISTORY), newest at hist_n - 1 */
	int hist_pos;		/* browsing: index into hist, -1 when editing a new line */
	uint8_t esc;		/* 0, 1 after ESC, 2 after ESC [ or ESC O */
	bool last_cr;		/* a CR ended the last line: skip the LF of CRLF */
	bool prompted, eof;
};

/* env must outlive s; io may be NULL (port.h functions). */
void serial_init(struct serial *s, const struct console_env *env, const struct serial_io *io);
/* Reads what the operator typed (non-blocking) and handles it. */
void serial_poll(struct serial *s);
/* Handles n typed bytes. */
void serial_feed(struct serial *s, const void *bytes, size_t n);

#endif
