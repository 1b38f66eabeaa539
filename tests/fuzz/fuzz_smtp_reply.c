/* fuzz_smtp_reply — libFuzzer target for the client's reply reader. The
 * first input byte is the chunk size (0 = whole). Checks, besides the
 * sanitizers: progress on every call, codes 200..599, text NUL-terminated
 * and free of control characters but the '\n' between lines, lines within
 * SMTP_REPLY_LINES_MAX, and the same replies whatever the chunking.
 * Build like fuzz_smtp_server.c (smtp_reply.c alone is enough). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_reply.h"

#include "fuzz_check.h"


/* Reads all replies; returns a hash of their codes and texts. */
static uint64_t read_all(const uint8_t *in, size_t len, size_t chunk)
{
	static struct smtp_reply_reader rd;
	uint64_t h = 1469598103934665603ull;
	size_t off = 0;
	smtp_reply_reader_init(&rd);
	while (off < len) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		bool done;
		long used = smtp_reply_feed(&rd, in + off, n, &done);
		if (used < 0)
			return h ^ (uint64_t)(-used);
		check(used > 0 && (size_t)used <= n);
		off += (size_t)used;
		if (!done)
			continue;
		const struct smtp_reply *r = &rd.reply;
		check(r->code >= 200 && r->code <= 599);
		check(r->lines >= 1 && r->lines <= SMTP_REPLY_LINES_MAX);
		size_t tl = strlen(r->text);
		check(tl < SMTP_REPLY_TEXT_MAX);
		for (size_t i = 0; i < tl; i++)
			check((unsigned char)r->text[i] >= ' ' || r->text[i] == '\n');
		h = (h ^ r->code) * 1099511628211ull;
		for (size_t i = 0; i < tl; i++)
			h = (h ^ (uint8_t)r->text[i]) * 1099511628211ull;
	}
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = data[0];
	uint64_t whole = read_all(data + 1, size - 1, 0);
	if (chunk)
		check(read_all(data + 1, size - 1, chunk) == whole);
	return 0;
}
