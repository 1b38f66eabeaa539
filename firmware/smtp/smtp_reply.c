/* smtp_reply — incremental, bounded reader of SMTP replies for the client,
 * enhanced status codes and EHLO keywords. See smtp_reply.h. */
#include "smtp/smtp_reply.h"

#include <string.h>

void smtp_reply_reader_init(struct smtp_reply_reader *rd)
{
	memset(rd, 0, sizeof(*rd));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* "C.SSS.DDD" followed by ' ' or the end, with C the reply's class. */
static void parse_enhanced(struct smtp_reply *r, const char *t, size_t n)
{
	uint16_t v[3] = { 0, 0, 0 };
	size_t i = 0;
	for (int part = 0; part < 3; part++) {
		size_t start = i;
		while (i < n && is_digit(t[i]) && i - start < 3)
			v[part] = (uint16_t)(v[part] * 10 + (uint16_t)(t[i++] - '0'));
		if (i == start || (part == 0 && i - start != 1))
			return;
		if (part < 2) {
			if (i >= n || t[i] != '.')
				return;
			i++;
		}
	}
	if ((i < n && t[i] != ' ') || v[0] != r->code / 100)
		return;
	memcpy(r->enh, v, sizeof(v));
}

/* One complete line (without its LF). 1 if it was the last line of the
 * reply, 0 if more follow, or a negative smtp_reply_err. */
static int take_line(struct smtp_reply_reader *rd)
{
	struct smtp_reply *r = &rd->reply;
	const char *l = rd->line;
	size_t n = rd->line_len;

	if (n && l[n - 1] == '\r')
		n--;
	if (n < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]) || l[0] < '2' ||
	    l[0] > '5' || (n > 3 && l[3] != ' ' && l[3] != '-'))
		return SMTP_REPLY_ESYNTAX;
	uint16_t code = (uint16_t)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
	if (r->lines == 0)
		r->code = code;
	else if (code != r->code)
		return SMTP_REPLY_EMIXED;
	if (r->lines >= SMTP_REPLY_LINES_MAX)
		return SMTP_REPLY_ETOOMANY;
	const char *t = n > 3 ? l + 4 : l + n;
	size_t tn = n > 3 ? n - 4 : 0;
	if (r->lines == 0)
		parse_enhanced(r, t, tn);
	r->lines++;
	/* the text goes to logs and bounces: no control characters */
	if (rd->text_len && rd->text_len + 1 < sizeof(r->text))
		r->text[rd->text_len++] = '\n';
	for (size_t i = 0; i < tn; i++) {
		if (rd->text_len + 1 >= sizeof(r->text)) {
			r->truncated = true;
			break;
		}
		char c = t[i];
		r->text[rd->text_len++] = ((unsigned char)c < ' ' || c == 127) ? '?' : c;
	}
	r->text[rd->text_len] = '\0';
	return (n == 3 || l[3] == ' ') ? 1 : 0;
}

long smtp_reply_feed(struct smtp_reply_reader *rd, const uint8_t *in, size_t len, bool *done)
{
	size_t i = 0;
	*done = false;
	if (rd->done) {
		memset(&rd->reply, 0, sizeof(rd->reply));
		rd->text_len = 0;
		rd->done = false;
	}
	while (i < len) {
		uint8_t c = in[i++];
		if (c == '\n') {
			int last = take_line(rd);
			rd->line_len = 0;
			if (last < 0)
				return last;
			if (last) {
				rd->done = true;
				*done = true;
				return (long)i;
			}
			continue;
		}
		/* room for 510 octets of text and the CR of the CRLF */
		if (rd->line_len >= SMTP_REPLY_LINE_MAX - 1)
			return SMTP_REPLY_ETOOLONG;
		rd->line[rd->line_len++] = (char)c;
	}
	return (long)i;
}

bool smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword, char *params,
			 size_t size)
{
	const char *line = strchr(r->text, '\n'); /* the first line is the greeting */
	size_t klen = strlen(keyword);
	while (line) {
		line++;
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		bool match = n >= klen && (n == klen || line[klen] == ' ');
		for (size_t i = 0; match && i < klen; i++)
			match = lower((unsigned char)line[i]) == lower((unsigned char)keyword[i]);
		if (match) {
			if (params && size) {
				const char *p = n > klen ? line + klen + 1 : line + n;
				size_t pn = (size_t)(line + n - p);
				if (pn >= size)
					pn = size - 1;
				memcpy(params, p, pn);
				params[pn] = '\0';
			}
			return true;
		}
		line = end;
	}
	return false;
}
