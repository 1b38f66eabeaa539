/* fuzz_http — libFuzzer target for the web console's HTTP request parser
 * (firmware/web/http.c) and its form decoder. The first input byte is the
 * chunk size (0 = whole). Checks, besides the sanitizers: progress on
 * every call until a request ends, an error status from the documented
 * set, a path that starts with '/', every field within its bound and
 * NUL-terminated, a body exactly Content-Length long, decoded form values
 * free of control characters, and the same requests whatever the chunking. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/http.h"

#include "fuzz_check.h"

static void check_form(const char *form)
{
	static const char *const names[] = { "csrf", "a", "id", "key", "value", "password", "q" };
	char v[HTTP_LINE_MAX + 1];
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = http_form_get(form, names[i], v, sizeof(v));
		check(n >= -2);
		if (n < 0)
			continue;
		check((size_t)n == strlen(v));
		for (int k = 0; k < n; k++)
			check((unsigned char)v[k] >= 0x20 && v[k] != 0x7f);
	}
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Parses every request in the input; a hash of what came out. */
static uint64_t parse_all(const uint8_t *in, size_t len, size_t chunk)
{
	static struct http_parser p;
	uint64_t h = 1469598103934665603ull;
	size_t off = 0;
	http_parser_reset(&p);
	while (off < len) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		size_t used = http_feed(&p, in + off, n);
		check(used <= n);
		off += used;
		if (p.state == HTTP_P_ERROR) {
			static const int ok[] = { 400, 405, 411, 413, 414, 431, 501, 505 };
			bool known = false;
			for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
				known |= p.status == ok[i];
			check(known && p.why);
			check(!p.keep_alive);
			return mix(h, &p.status, sizeof(p.status));
		}
		if (p.state != HTTP_P_DONE) {
			check(used == n); /* wants more: took all it was given */
			continue;
		}
		check(p.path[0] == '/' && strlen(p.path) <= HTTP_PATH_MAX);
		check(strlen(p.query) <= HTTP_QUERY_MAX);
		check(strlen(p.sid) <= HTTP_SID_MAX);
		check(p.len == p.content_length && p.len <= HTTP_LINE_MAX && p.buf[p.len] == '\0');
		check(p.method == HTTP_GET || p.method == HTTP_HEAD || p.method == HTTP_POST);
		check(p.method != HTTP_POST || p.length_seen);
		check(!p.te_seen);
		check_form(p.buf);
		check_form(p.query);
		h = mix(h, p.path, strlen(p.path));
		h = mix(h, p.query, strlen(p.query));
		h = mix(h, p.sid, strlen(p.sid));
		h = mix(h, p.buf, p.len);
		uint8_t f[3] = { (uint8_t)p.method, p.keep_alive, p.form };
		h = mix(h, f, sizeof(f));
		http_parser_reset(&p); /* the next pipelined request */
	}
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = data[0];
	uint64_t whole = parse_all(data + 1, size - 1, 0);
	if (chunk)
		check(parse_all(data + 1, size - 1, chunk) == whole);
	return 0;
}
