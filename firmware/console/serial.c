/* serial — see serial.h. Redraws use only "\r", "\b" and ESC [ K (erase
 * to end of line), which every serial terminal and QEMU's stdio know.
 * Console output's "\n" becomes "\r\n" on the wire. */
#include "console/serial.h"

#include <string.h>

#include "mbedtls/platform_util.h"

#include "port.h"

static void wr(struct serial *s, const void *b, size_t n)
{
	if (n)
		s->io.write(b, n);
}

static void wrs(struct serial *s, const char *t)
{
	wr(s, t, strlen(t));
}

/* The console's sink: "\n" -> "\r\n". */
static void out_flush(void *ctx, const char *data, size_t len)
{
	struct serial *s = ctx;
	size_t from = 0;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n') {
			wr(s, data + from, i - from);
			wr(s, "\r\n", 2);
			from = i + 1;
		}
	wr(s, data + from, len - from);
}

static void prompt(struct serial *s)
{
	wrs(s, console_prompt(&s->con));
	s->prompted = true;
}

/* Whole line again: start of line, prompt, text, erase the rest, cursor back. */
static void redraw(struct serial *s)
{
	wrs(s, "\r");
	wrs(s, console_prompt(&s->con));
	if (console_echo(&s->con))
		wr(s, s->line, s->len);
	wrs(s, "\x1b[K");
	if (console_echo(&s->con))
		for (size_t i = s->cur; i < s->len; i++)
			wr(s, "\b", 1);
}

void serial_init(struct serial *s, const struct console_env *env, const struct serial_io *io)
{
	memset(s, 0, sizeof(*s));
	s->io.read = io && io->read ? io->read : port_console_read;
	s->io.write = io && io->write ? io->write : port_console_write;
	s->io.reboot = io && io->reboot ? io->reboot : port_reboot;
	s->hist_pos = -1;
	console_init(&s->con, env);
	console_out_init(&s->out, s->outbuf, sizeof(s->outbuf), out_flush, s);
}

static void set_line(struct serial *s, const char *t)
{
	size_t n = strlen(t);
	memcpy(s->line, t, n);
	s->len = s->cur = n;
	redraw(s);
}

static void history_add(struct serial *s)
{
	if (s->len == 0 || !console_echo(&s->con))
		return; /* never keep a password */
	if (s->hist_n && strcmp(s->hist[s->hist_n - 1], s->line) == 0)
		return;
	if (s->hist_n == SERIAL_HISTORY) {
		memmove(s->hist[0], s->hist[1], sizeof(s->hist[0]) * (SERIAL_HISTORY - 1));
		s->hist_n--;
	}
	memcpy(s->hist[s->hist_n++], s->line, s->len + 1);
}

static void history_move(struct serial *s, int dir)
{
	if (!console_echo(&s->con) || s->hist_n == 0)
		return;
	int pos = s->hist_pos < 0 ? (int)s->hist_n : s->hist_pos;
	pos += dir;
	if (pos < 0)
		return; /* at the oldest */
	if (pos >= (int)s->hist_n) {
		s->hist_pos = -1;
		set_line(s, "");
		return;
	}
	s->hist_pos = pos;
	set_line(s, s->hist[pos]);
}

static void enter(struct serial *s)
{
	s->line[s->len] = '\0';
	wrs(s, "\r\n");
	history_add(s);
	int r = console_exec(&s->con, s->line, &s->out);
	mbedtls_platform_zeroize(s->line, sizeof(s->line)); /* may have been a password */
	s->len = s->cur = 0;
	s->hist_pos = -1;
	console_out_flush(&s->out);
	if (r == CONSOLE_REBOOT)
		s->io.reboot();
	prompt(s);
}

static void insert(struct serial *s, char ch)
{
	if (s->len + 1 >= sizeof(s->line)) {
		wr(s, "\a", 1); /* full: bell, the byte is dropped */
		return;
	}
	memmove(s->line + s->cur + 1, s->line + s->cur, s->len - s->cur);
	s->line[s->cur++] = ch;
	s->len++;
	if (!console_echo(&s->con))
		return;
	if (s->cur == s->len)
		wr(s, &ch, 1);
	else
		redraw(s);
}

static void backspace(struct serial *s)
{
	if (s->cur == 0)
		return;
	memmove(s->line + s->cur - 1, s->line + s->cur, s->len - s->cur);
	s->cur--;
	s->len--;
	if (!console_echo(&s->con))
		return;
	if (s->cur == s->len)
		wrs(s, "\b \b");
	else
		redraw(s);
}

static void cancel(struct serial *s)
{
	wrs(s, "^C\r\n");
	mbedtls_platform_zeroize(s->line, sizeof(s->line));
	s->len = s->cur = 0;
	s->hist_pos = -1;
	if (s->con.mode == CONSOLE_MODE_PASSWD_NEW || s->con.mode == CONSOLE_MODE_PASSWD_AGAIN) {
		mbedtls_platform_zeroize(s->con.pw_first, sizeof(s->con.pw_first));
		s->con.mode = CONSOLE_MODE_CMD; /* passwd abandoned */
		wrs(s, "password not changed\r\n");
	} else if (s->con.mode == CONSOLE_MODE_IMPORT) {
		tls_import_text_release(&s->con); /* the paste so far, wiped */
		s->con.import_len = 0;
		s->con.mode = CONSOLE_MODE_CMD;
		wrs(s, "import cancelled\r\n");
	} else if (s->con.mode == CONSOLE_MODE_CA_PEM) {
		s->con.mode = CONSOLE_MODE_CMD; /* ca add abandoned (nothing saved) */
		wrs(s, "ca add cancelled\r\n");
	}
	prompt(s);
}

static void escape(struct serial *s, char ch)
{
	if (s->esc == 1) {
		s->esc = (ch == '[' || ch == 'O') ? 2 : 0;
		return;
	}
	s->esc = 0;
	switch (ch) {
	case 'A': history_move(s, -1); break;
	case 'B': history_move(s, +1); break;
	case 'C':
		if (s->cur < s->len && console_echo(&s->con))
			wr(s, s->line + s->cur++, 1);
		break;
	case 'D':
		if (s->cur > 0 && console_echo(&s->con)) {
			s->cur--;
			wr(s, "\b", 1);
		}
		break;
	default: break; /* other keys (Home, F1, ...) are ignored */
	}
}

void serial_feed(struct serial *s, const void *bytes, size_t n)
{
	const uint8_t *b = bytes;
	if (!s->prompted)
		prompt(s);
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = b[i];
		bool lf_after_cr = s->last_cr && ch == '\n';
		s->last_cr = false;
		if (s->esc) {
			escape(s, (char)ch);
			continue;
		}
		switch (ch) {
		case '\r': s->last_cr = true; enter(s); break;
		case '\n': if (!lf_after_cr) enter(s); break;
		case 0x1b: s->esc = 1; break;
		case 0x08: case 0x7f: backspace(s); break;
		case 0x15: /* Ctrl-U */
			s->len = s->cur = 0;
			redraw(s);
			break;
		case 0x03: cancel(s); break;
		default:
			if (ch >= 0x20 && ch < 0x7f)
				insert(s, (char)ch);
			break; /* other control bytes and 8-bit bytes are dropped */
		}
	}
}

void serial_poll(struct serial *s)
{
	uint8_t buf[SERIAL_READ_CHUNK];
	size_t done = 0;
	if (!s->prompted)
		prompt(s);
	while (!s->eof && done < SERIAL_POLL_MAX) {
		long n = s->io.read(buf, sizeof(buf));
		if (n == 0)
			s->eof = true; /* host stdin closed: the relay runs on */
		if (n <= 0)
			break;
		serial_feed(s, buf, (size_t)n);
		done += (size_t)n;
	}
}
