/* log — bounded RAM ring of formatted records (see log.h).
 * Ring layout: records are [seq u32][level u8][len u16][text len] packed
 * back to back; when the writer wraps it overwrites the oldest ones, and
 * readers holding an old sequence number just skip what was lost. */
#include "log/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct log_rec {
	uint32_t seq;
	uint8_t level;
	uint16_t len; /* up to LOG_LINE_MAX */
};

static struct {
	uint8_t ring[LOG_RING_SIZE];
	size_t head;		/* where the next record goes */
	uint32_t next_seq;	/* sequence of the next record (starts at 1) */
	uint32_t first_seq;	/* oldest record still whole in the ring */
	size_t first_off;	/* its offset */
	uint32_t hint_seq;	/* a record's sequence and offset, where the last */
	size_t hint_off;	/* log_read ended: reading on from it is O(1) */
} lg = { .next_seq = 1, .first_seq = 1 };

static void ring_put(size_t off, const void *src, size_t n)
{
	const uint8_t *p = src;
	for (size_t i = 0; i < n; i++)
		lg.ring[(off + i) % LOG_RING_SIZE] = p[i];
}

static void ring_get(size_t off, void *dst, size_t n)
{
	uint8_t *p = dst;
	for (size_t i = 0; i < n; i++)
		p[i] = lg.ring[(off + i) % LOG_RING_SIZE];
}

static size_t rec_size(const struct log_rec *r)
{
	return sizeof(*r) + r->len;
}

/* Bytes between the oldest record and the write head. */
static size_t ring_used(void)
{
	if (lg.first_seq == lg.next_seq)
		return 0;
	size_t d = (lg.head + LOG_RING_SIZE - lg.first_off) % LOG_RING_SIZE;
	return d ? d : LOG_RING_SIZE;
}

static void ring_drop_oldest(void)
{
	struct log_rec r;
	ring_get(lg.first_off, &r, sizeof(r));
	lg.first_off = (lg.first_off + rec_size(&r)) % LOG_RING_SIZE;
	lg.first_seq++;
}

void log_msg(enum port_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n;
	if (len > LOG_LINE_MAX) {
		len = LOG_LINE_MAX;
		memcpy(line + LOG_LINE_MAX - 3, "...", 3);
	}
	port_log_sink(level, line, len);

	struct log_rec r = { .seq = lg.next_seq, .level = (uint8_t)level, .len = (uint16_t)len };
	while (lg.first_seq != lg.next_seq && ring_used() + rec_size(&r) > LOG_RING_SIZE)
		ring_drop_oldest();
	ring_put(lg.head, &r, sizeof(r));
	ring_put(lg.head + sizeof(r), line, len);
	lg.head = (lg.head + rec_size(&r)) % LOG_RING_SIZE;
	lg.next_seq++;
}

size_t log_read(uint32_t *cursor, enum port_log_level *level, char *buf, size_t size)
{
	uint32_t want = *cursor < lg.first_seq ? lg.first_seq : *cursor;
	if (want >= lg.next_seq || size == 0)
		return 0;
	/* Start at the hint when it is still in the ring and not past the
	 * wanted record (records are only ever dropped from the front, so a
	 * record's offset stays right while it is there): a reader going
	 * through the ring line by line costs O(lines), not O(lines^2). */
	uint32_t s = lg.first_seq;
	size_t off = lg.first_off;
	if (lg.hint_seq >= lg.first_seq && lg.hint_seq <= want) {
		s = lg.hint_seq;
		off = lg.hint_off;
	}
	struct log_rec r;
	for (;; s++) {
		ring_get(off, &r, sizeof(r));
		if (s == want)
			break;
		off = (off + rec_size(&r)) % LOG_RING_SIZE;
	}
	size_t n = r.len < size - 1 ? r.len : size - 1;
	ring_get(off + sizeof(r), buf, n);
	buf[n] = '\0';
	if (level)
		*level = (enum port_log_level)r.level;
	*cursor = want + 1;
	lg.hint_seq = want + 1;
	lg.hint_off = (off + rec_size(&r)) % LOG_RING_SIZE;
	return n;
}
