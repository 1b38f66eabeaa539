/* http — see http.h. Lines end in CRLF (a bare LF is taken too, a bare
 * CR is an error: no smuggling by line-ending games). Every bound gives
 * its own status: request line 414, header line / head / count 431,
 * body 413, POST without length 411, Transfer-Encoding 501, unknown
 * method 501, a method we know but do not serve 405, HTTP/2+ 505. */
#include "web/http.h"

#include <string.h>

#include "util/hex.h"

static void fail(struct http_parser *p, int status, const char *why)
{
	p->state = HTTP_P_ERROR;
	p->status = status;
	p->why = why;
	p->keep_alive = false;
}

void http_parser_reset(struct http_parser *p)
{
	char *(*big)(void *, const struct http_parser *, size_t) = p->big_body;
	void *ctx = p->big_ctx;
	memset(p, 0, sizeof(*p));
	p->state = HTTP_P_LINE;
	p->body = p->buf;
	p->big_body = big;
	p->big_ctx = ctx;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t n = strlen(b);
	if (alen != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* "GET /path?query HTTP/1.1" */
static void request_line(struct http_parser *p, char *l, size_t n)
{
	static const struct {
		const char *name;
		int method; /* -1: known, not served here */
	} methods[] = { { "GET", HTTP_GET },  { "HEAD", HTTP_HEAD },	{ "POST", HTTP_POST },
			{ "PUT", -1 },	      { "DELETE", -1 },		{ "OPTIONS", -1 },
			{ "PATCH", -1 },      { "TRACE", -1 },		{ "CONNECT", -1 } };
	char *sp1 = memchr(l, ' ', n);
	if (!sp1 || sp1 == l)
		return fail(p, 400, "malformed request line");
	for (char *c = l; c < sp1; c++)
		if (!is_tchar(*c))
			return fail(p, 400, "malformed method");
	int m = -2;
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if ((size_t)(sp1 - l) == strlen(methods[i].name) &&
		    memcmp(l, methods[i].name, (size_t)(sp1 - l)) == 0)
			m = methods[i].method;
	char *target = sp1 + 1;
	char *sp2 = memchr(target, ' ', n - (size_t)(target - l));
	if (!sp2 || sp2 == target)
		return fail(p, 400, "malformed request line");
	const char *ver = sp2 + 1;
	size_t vl = n - (size_t)(ver - l);
	if (vl != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
	    ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return fail(p, 400, "malformed HTTP version");
	if (ver[5] != '1')
		return fail(p, 505, "only HTTP/1.x is served");
	p->minor = (uint8_t)(ver[7] - '0');
	p->keep_alive = p->minor >= 1;
	if (m == -2)
		return fail(p, 501, "unknown method");
	if (m == -1)
		return fail(p, 405, "method not allowed");
	p->method = (enum http_method)m;
	if (target[0] != '/')
		return fail(p, 400, "request target must be a path");
	for (const char *c = target; c < sp2; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return fail(p, 400, "bad character in request target");
	const char *q = memchr(target, '?', (size_t)(sp2 - target));
	const char *pend = q ? q : sp2;
	size_t pl = (size_t)(pend - target);
	size_t ql = q ? (size_t)(sp2 - q - 1) : 0;
	if (pl > HTTP_PATH_MAX || ql > HTTP_QUERY_MAX)
		return fail(p, 414, "request target too long");
	memcpy(p->path, target, pl);
	p->path[pl] = '\0';
	if (q)
		memcpy(p->query, q + 1, ql);
	p->query[ql] = '\0';
	p->state = HTTP_P_HEADERS;
}

/* "Cookie: a=b; dg_sid=...; c=d": only ours is kept. */
static void cookie(struct http_parser *p, const char *v, size_t n)
{
	const char *end = v + n;
	static const char name[] = HTTP_COOKIE_NAME "=";
	while (v < end) {
		while (v < end && (*v == ' ' || *v == ';'))
			v++;
		const char *e = memchr(v, ';', (size_t)(end - v));
		if (!e)
			e = end;
		size_t kl = sizeof(name) - 1;
		if ((size_t)(e - v) > kl && memcmp(v, name, kl) == 0) {
			size_t vl = (size_t)(e - v) - kl;
			while (vl && v[kl + vl - 1] == ' ')
				vl--;
			if (vl <= HTTP_SID_MAX) {
				memcpy(p->sid, v + kl, vl);
				p->sid[vl] = '\0';
			} else {
				p->sid[0] = '\0';
			}
		}
		v = e;
	}
}

static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i > s && ieq(v + s, i - s, tok))
			return true;
	}
	return false;
}

static void header_line(struct http_parser *p, char *l, size_t n)
{
	if (l[0] == ' ' || l[0] == '\t')
		return fail(p, 400, "folded header line");
	if (++p->nheaders > HTTP_HEADERS_MAX)
		return fail(p, 431, "too many header lines");
	char *colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return fail(p, 400, "header line without a name");
	for (char *c = l; c < colon; c++)
		if (!is_tchar(*c))
			return fail(p, 400, "bad header name");
	size_t kl = (size_t)(colon - l);
	const char *v = colon + 1;
	const char *end = l + n;
	for (const char *c = v; c < end; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return fail(p, 400, "control character in a header");
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vl = (size_t)(end - v);
	if (ieq(l, kl, "host")) {
		if (p->host_seen)
			return fail(p, 400, "more than one Host");
		p->host_seen = true;
	} else if (ieq(l, kl, "content-length")) {
		uint32_t cl = 0;
		if (vl == 0 || vl > 9)
			return fail(p, vl > 9 ? 413 : 400, "bad Content-Length");
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(p, 400, "bad Content-Length");
			cl = cl * 10 + (uint32_t)(v[i] - '0');
		}
		if (p->length_seen && cl != p->content_length)
			return fail(p, 400, "conflicting Content-Length");
		p->length_seen = true;
		p->content_length = cl;
	} else if (ieq(l, kl, "transfer-encoding")) {
		p->te_seen = true;
	} else if (ieq(l, kl, "connection")) {
		if (has_token(v, vl, "close"))
			p->keep_alive = false;
		else if (has_token(v, vl, "keep-alive"))
			p->keep_alive = true;
	} else if (ieq(l, kl, "content-type")) {
		static const char form[] = "application/x-www-form-urlencoded";
		size_t fl = sizeof(form) - 1;
		p->form = vl >= fl && ieq(v, fl, form) && (vl == fl || v[fl] == ';' || v[fl] == ' ');
	} else if (ieq(l, kl, "cookie")) {
		cookie(p, v, vl);
	}
}

static void head_done(struct http_parser *p)
{
	if (p->minor >= 1 && !p->host_seen)
		return fail(p, 400, "HTTP/1.1 needs a Host header");
	if (p->te_seen && p->length_seen)
		return fail(p, 400, "both Transfer-Encoding and Content-Length");
	if (p->te_seen)
		return fail(p, 501, "Transfer-Encoding is not supported: send Content-Length");
	if (p->method == HTTP_POST && !p->length_seen)
		return fail(p, 411, "POST needs Content-Length");
	p->body = p->buf;
	if (p->content_length > HTTP_LINE_MAX) {
		char *b = p->big_body && p->content_length <= HTTP_BIG_BODY_MAX
				  ? p->big_body(p->big_ctx, p, p->content_length)
				  : NULL;
		if (!b)
			return fail(p, 413, "body too large");
		p->body = b;
	}
	p->len = 0;
	p->body[0] = '\0';
	p->state = p->content_length ? HTTP_P_BODY : HTTP_P_DONE;
}

/* One complete line (without its end) in p->buf. */
static void line_done(struct http_parser *p)
{
	char *l = p->buf;
	size_t n = p->len;
	p->len = 0;
	if (memchr(l, '\0', n))
		return fail(p, 400, "NUL in the head");
	if (p->state == HTTP_P_LINE) {
		if (n == 0 && p->head_bytes <= 2 * 2)
			return; /* RFC 9112 §2.2: an empty line before the request */
		return request_line(p, l, n);
	}
	if (n == 0)
		return head_done(p);
	header_line(p, l, n);
}

size_t http_feed(struct http_parser *p, const uint8_t *data, size_t len)
{
	size_t i = 0;
	while (i < len && (p->state == HTTP_P_LINE || p->state == HTTP_P_HEADERS)) {
		char c = (char)data[i++];
		if (++p->head_bytes > HTTP_HEAD_MAX) {
			fail(p, p->state == HTTP_P_LINE ? 414 : 431, "request head too large");
			break;
		}
		if (p->len && p->buf[p->len - 1] == '\r' && c != '\n') {
			fail(p, 400, "bare CR in the head");
			break;
		}
		if (c == '\n') {
			if (p->len && p->buf[p->len - 1] == '\r')
				p->len--;
			line_done(p);
			continue;
		}
		if (p->len >= HTTP_LINE_MAX) {
			if (p->state == HTTP_P_LINE)
				fail(p, 414, "request line too long");
			else
				fail(p, 431, "header line too long");
			break;
		}
		p->buf[p->len++] = c;
	}
	if (p->state == HTTP_P_BODY) {
		size_t want = p->content_length - p->len;
		size_t k = len - i < want ? len - i : want;
		memcpy(p->body + p->len, data + i, k);
		p->len += k;
		i += k;
		p->body[p->len] = '\0';
		if (p->len == p->content_length)
			p->state = HTTP_P_DONE;
	}
	return i;
}

/* The value of name in form: [*v, *e), or false. */
static bool form_find(const char *form, const char *name, const char **v, const char **e)
{
	size_t nl = strlen(name);
	const char *p = form;
	while (*p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) >= nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			*v = p + nl + 1;
			*e = end;
			return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

/* Percent- and '+'-decodes [c, e) into out (which may be at or before c:
 * decoding never grows). text: CR dropped, LF and TAB allowed. Returns
 * the length, or -2 (malformed, too long, a control character). */
static int form_decode(const char *c, const char *e, char *out, size_t size, bool text)
{
	size_t n = 0;
	if (size == 0)
		return -2;
	for (; c < e; c++) {
		int ch = (unsigned char)*c;
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			int h = c + 2 < e ? hex_digit(c[1]) : -1;
			int l = h >= 0 ? hex_digit(c[2]) : -1;
			if (l < 0)
				return -2;
			ch = h * 16 + l;
			c += 2;
		}
		if (text && ch == '\r')
			continue; /* CR LF -> LF */
		bool ctl = ch < 0x20 && !(text && (ch == '\n' || ch == '\t'));
		if (ctl || ch == 0x7f || n + 1 >= size)
			return -2;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return (int)n;
}

int http_form_get(const char *form, const char *name, char *out, size_t size)
{
	const char *v, *e;
	if (size == 0)
		return -2;
	return form_find(form, name, &v, &e) ? form_decode(v, e, out, size, false) : -1;
}

char *http_form_take_text(char *form, const char *name, size_t *len)
{
	const char *v, *e;
	if (!form_find(form, name, &v, &e))
		return NULL;
	int n = form_decode(v, e, form, (size_t)(e - form) + 1, true);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return form;
}
