/* fuzz_dsn — libFuzzer target for delivery status notifications
 * (firmware/relay/dsn.c): the original message (its header is copied
 * into part 3) comes from the input, and so do the remote reply, the
 * status text and the remote MTA name that a hostile MX controls. The
 * original is queued on a RAM flash (queue.c on flashsim), the DSN is
 * generated into the same queue and read back. Input:
 * [action][sender][n][t 4][reply len][reply][status len][status]
 * [mta len][mta][original content...]. Checks, besides the sanitizers:
 * the DSN is from <> to the original sender with one recipient; every
 * line ends in CRLF, has at most DSN_LINE_MAX octets, and every byte is
 * 7-bit and not NUL; dsn_status gives "c.x.y" with the action's class;
 * dsn_format_date gives 30 or 31 characters; the null sender gets no DSN.
 * Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flashsim.h"
#include "queue/queue.h"
#include "relay/dsn.h"

#include "fuzz_check.h"

#define DB 16
#define DE 4096

struct in {
	const uint8_t *d;
	size_t n;
};

/* A NUL-terminated string of [len] bytes from the stream (into buf). */
static const char *str(struct in *in, char *buf, size_t size)
{
	if (in->n < 1)
		return NULL;
	size_t len = in->d[0] % size;
	in->d++;
	in->n--;
	if (len > in->n)
		len = in->n;
	memcpy(buf, in->d, len);
	buf[len] = '\0';
	in->d += len;
	in->n -= len;
	return buf;
}

static void status_ok(const char *st, enum dsn_action a)
{
	check(memchr(st, '\0', DSN_STATUS_SIZE) != NULL);
	check(st[0] == (a == DSN_FAILED ? '5' : '4') && st[1] == '.');
	size_t i = 2, d = 0;
	while (st[i] >= '0' && st[i] <= '9')
		i++, d++;
	check(d >= 1 && d <= 3 && st[i] == '.');
	i++, d = 0;
	while (st[i] >= '0' && st[i] <= '9')
		i++, d++;
	check(d >= 1 && d <= 3 && st[i] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flashsim *fs;
	static struct queue q;
	static struct queue_writer w, dw;
	static _Alignas(8) uint8_t index[32 * 1024];
	static uint8_t back[64 * 1024];
	static const char *const senders[4] = { "sender@example.com", "", "\"q s\"@example.org",
						"a@b" };
	static const char *const rcpts[3] = { "r1@example.net", "r2@example.net", "r3@x.test" };
	if (size < 7)
		return 0;
	if (!fs) {
		struct flashsim_config fc = { .size = DB * DE, .erase_size = DE, .program_size = 4,
					      .name = "queue" };
		check(flashsim_open(&fs, &fc) == 0);
	}
	enum dsn_action action = data[0] & 1 ? DSN_DELAYED : DSN_FAILED;
	const char *sender = senders[data[1] & 3];
	unsigned n = data[2] % 3 + 1;
	uint64_t t = (uint64_t)data[3] << 24 | (uint64_t)data[4] << 16 | (uint64_t)data[5] << 8 |
		     data[6];
	t *= 3; /* up to ~2371 */
	struct in in = { data + 7, size - 7 };
	char reply[QUEUE_REASON_MAX + 40], status[24], mta[300];
	const char *rp = str(&in, reply, sizeof(reply));
	const char *sp = str(&in, status, sizeof(status));
	const char *mp = str(&in, mta, sizeof(mta));
	if (sp && !sp[0])
		sp = NULL; /* "": from the reply */

	char st[DSN_STATUS_SIZE];
	memset(st, 'X', sizeof(st));
	dsn_status(action, sp, rp, st);
	status_ok(st, action);
	char date[DSN_DATE_SIZE];
	int dl = dsn_format_date(t, date, sizeof(date));
	check((dl == 30 || dl == 31) && strlen(date) == (size_t)dl); /* day "1" or "28" */

	memset(flashsim_raw(fs), 0xFF, DB * DE);
	struct queue_config cfg = { .flash = flashsim_flash(fs), .max_msgs = 8,
				    .max_msg_size = 12 * 1024, .index_buf = index,
				    .index_buf_size = sizeof(index) };
	check(queue_index_size(cfg.flash, 8) <= sizeof(index));
	check(queue_mount(&q, &cfg) == 0);
	size_t clen = in.n > 8192 ? 8192 : in.n;
	uint32_t orig;
	check(queue_msg_begin(&q, &w, sender, rcpts, 3, 0, (uint32_t)clen, 1700000000u) == 0);
	if (clen)
		check(queue_msg_write(&w, in.d, clen) == 0);
	check(queue_msg_commit(&w, &orig) == 0);

	struct dsn_rcpt dr[3];
	for (unsigned i = 0; i < n; i++)
		dr[i] = (struct dsn_rcpt){ .index = i, .status = sp, .reply = rp, .remote_mta = mp,
					   .last_attempt = i ? t : 0 };
	struct dsn_info info = { .action = action, .hostname = "gw.example.net",
				 .now = 1795867200u, .will_retry_until = t,
				 .rnd = (uint32_t)t };
	uint32_t id;
	int r = dsn_generate(&q, orig, dr, n, &info, &dw, &id);
	if (!sender[0]) {
		check(r == DSN_ENULLSENDER);
		return 0;
	}
	if (r != 0) {
		check(r < 0 && !dsn_suppressed(r));
		return 0;
	}
	static struct queue_msg_info mi;
	check(queue_msg_info(&q, id, &mi) == 0);
	check(mi.sender[0] == '\0' && mi.nrcpt == 1 && mi.bounce);
	char to[QUEUE_ADDR_MAX + 1];
	check(queue_msg_rcpt(&q, id, 0, to, sizeof(to)) == 0 && strcmp(to, sender) == 0);
	size_t off = 0;
	long got;
	while (off < sizeof(back) &&
	       (got = queue_msg_read(&q, id, (uint32_t)off, back + off, sizeof(back) - off)) > 0)
		off += (size_t)got;
	check(off == mi.size);
	size_t line = 0;
	for (size_t i = 0; i < off; i++) {
		uint8_t c = back[i];
		check(c != 0 && c < 0x80);
		if (c == '\r') {
			check(i + 1 < off && back[i + 1] == '\n');
			check(line <= DSN_LINE_MAX);
			line = 0;
			i++;
			continue;
		}
		check(c != '\n');
		line++;
	}
	check(line == 0); /* ends with CRLF */
	/* a DSN about a DSN is refused by rule */
	uint32_t id2;
	struct dsn_rcpt d0 = { .index = 0, .reply = "550 5.1.1 x" };
	check(dsn_suppressed(dsn_generate(&q, id, &d0, 1, &info, &dw, &id2)));
	return 0;
}
