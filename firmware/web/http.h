/* http — sans-I/O HTTP/1.1 request parser for the web console: bytes in,
 * one bounded request (method, path, query, our session cookie, a small
 * Content-Length body) or an HTTP error status out. No chunked bodies,
 * no absolute-form targets, no obs-fold. Exports http_parser_*(),
 * http_feed(), http_status_text(), http_form_get(). */
#ifndef DANEGATE_HTTP_H
#define DANEGATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX 768   /* bytes of the request line or one header line:
			     * 414 / 431 beyond; also the largest body (413) */
#define HTTP_HEAD_MAX 4096  /* bytes of the whole head (431 beyond) */
#define HTTP_HEADERS_MAX 32 /* header lines (431 beyond) */
#define HTTP_PATH_MAX 64    /* bytes of the path (414 beyond) */
#define HTTP_QUERY_MAX 160  /* bytes of the query string (414 beyond) */
#define HTTP_SID_MAX 64	    /* bytes of our cookie's value (longer: ignored) */
#define HTTP_COOKIE_NAME "dg_sid"
#define HTTP_BIG_BODY_MAX 6144 /* a larger body (the TLSA page's PEM import),
				* only into a buffer the big_body hook lends */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST };

enum http_pstate {
	HTTP_P_LINE,	/* reading the request line */
	HTTP_P_HEADERS, /* reading header lines */
	HTTP_P_BODY,	/* reading content_length bytes */
	HTTP_P_DONE,	/* one request complete: use it, then http_parser_reset() */
	HTTP_P_ERROR,	/* bad request: send p->status and close */
};

struct http_parser {
	enum http_pstate state;
	int status; /* HTTP_P_ERROR: 400, 405, 411, 413, 414, 431, 501, 505 */
	const char *why; /* HTTP_P_ERROR: a short reason (static text) */
	size_t head_bytes;
	unsigned nheaders;
	size_t len;		     /* bytes in buf */
	char buf[HTTP_LINE_MAX + 1]; /* the line being read; then the body */

	/* the request */
	enum http_method method;
	uint8_t minor;	   /* HTTP/1.<minor> */
	bool keep_alive;   /* after this request */
	bool host_seen, length_seen, te_seen;
	bool form;	   /* Content-Type application/x-www-form-urlencoded */
	uint32_t content_length;
	char path[HTTP_PATH_MAX + 1];
	char query[HTTP_QUERY_MAX + 1];
	char sid[HTTP_SID_MAX + 1]; /* the dg_sid cookie, "" if none */
	/* after HTTP_P_DONE: body (NUL-terminated, len bytes) is buf, or the
	 * buffer big_body lent for a body over HTTP_LINE_MAX */
	char *body;
	/* Kept by http_parser_reset: asked at the end of the head for a body
	 * longer than HTTP_LINE_MAX (up to HTTP_BIG_BODY_MAX): a buffer of
	 * len + 1 bytes, or NULL (then 413). NULL hook: 413. */
	char *(*big_body)(void *ctx, const struct http_parser *p, size_t len);
	void *big_ctx;
};

void http_parser_reset(struct http_parser *p);
/* Feeds bytes; returns how many were used. Stops at the end of one
 * request (HTTP_P_DONE: the rest belongs to the next request) or at an
 * error (HTTP_P_ERROR). */
size_t http_feed(struct http_parser *p, const uint8_t *data, size_t len);
const char *http_status_text(int status);

/* Finds name in an application/x-www-form-urlencoded text (a body or a
 * query), percent- and '+'-decoded into out (bound size, NUL-terminated).
 * Returns the decoded length, -1 if absent, -2 if malformed, too long or
 * holding a control character (NUL, CR, LF, ...). */
int http_form_get(const char *form, const char *name, char *out, size_t size);
/* The same for a multi-line text field (a textarea: CR, LF and TAB
 * allowed, CR LF turned into LF), decoded IN PLACE: form is overwritten
 * from its start, so read every other field first. Returns the text
 * (NUL-terminated, inside form) and its length in *len, or NULL. */
char *http_form_take_text(char *form, const char *name, size_t *len);

#endif
