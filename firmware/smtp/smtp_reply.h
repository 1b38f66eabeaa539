/* smtp_reply — SMTP replies as a client reads them (RFC 5321 §4.2): a
 * bounded, incremental reader that assembles one possibly multi-line
 * reply from a byte stream, checks that every line carries the same code,
 * takes out the enhanced status code (RFC 2034 / 3463), and finds EHLO
 * keywords. For the outbound client; the server's own replies are
 * written by smtp_server.c. Exports smtp_reply_*(). */
#ifndef DANEGATE_SMTP_REPLY_H
#define DANEGATE_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------ */
#define SMTP_REPLY_LINE_MAX 512	 /* octets incl. CRLF, RFC 5321 §4.5.3.1.5 */
#define SMTP_REPLY_LINES_MAX 32	 /* lines in one reply; EHLO lists ~15 */
#define SMTP_REPLY_TEXT_MAX 2048 /* text of all lines kept, see below */

enum smtp_reply_err {
	SMTP_REPLY_ESYNTAX = -1,  /* not "ddd" + ' ' / '-' / end, or code < 200 */
	SMTP_REPLY_EMIXED = -2,	  /* a continuation line changed the code */
	SMTP_REPLY_ETOOLONG = -3, /* a line over SMTP_REPLY_LINE_MAX */
	SMTP_REPLY_ETOOMANY = -4, /* more than SMTP_REPLY_LINES_MAX lines */
};

struct smtp_reply {
	uint16_t code;	   /* 200..599 */
	uint16_t enh[3];   /* class, subject, detail of the first line; all
			    * 0 when it carries none (or one of the wrong class) */
	uint16_t lines;	   /* lines in the reply */
	bool truncated;	   /* text did not fit SMTP_REPLY_TEXT_MAX */
	/* Each line's text after "ddd-" / "ddd " (enhanced code included),
	 * lines joined by '\n', NUL-terminated. */
	char text[SMTP_REPLY_TEXT_MAX];
};

/* Caller-owned reader; treat the fields as private. */
struct smtp_reply_reader {
	struct smtp_reply reply; /* valid once smtp_reply_feed() said done */
	char line[SMTP_REPLY_LINE_MAX];
	size_t line_len, text_len;
	bool overflow, done;
};

void smtp_reply_reader_init(struct smtp_reply_reader *rd);

/* Reads bytes until one reply is complete. Returns the octets consumed
 * (it stops right after the reply's last line, so pipelined replies stay
 * in the caller's buffer for the next call) and sets *done; or a negative
 * smtp_reply_err: the server is broken, give up on the connection.
 * Lines may end in CRLF or, from broken servers, a bare LF. After done,
 * the next call starts a new reply. */
long smtp_reply_feed(struct smtp_reply_reader *rd, const uint8_t *in, size_t len, bool *done);

/* For a 250 EHLO reply: true if keyword (case-insensitive, e.g.
 * "STARTTLS", "SIZE") is offered on a line after the first; its
 * parameters (may be "") are copied into params (NUL-terminated,
 * truncated to size) when params is not NULL. */
bool smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword, char *params,
			 size_t size);

#endif
