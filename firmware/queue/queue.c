/* queue — see queue.h; the on-flash format is docs/queue-format.md.
 * A log of CRC'd records on erase blocks used as a ring: block header
 * slots A (erase count) and B (ring sequence), then records, each written
 * body first and header last so a valid header proves a whole record.
 * Exports the queue_* API; everything else here is static. */
#include "queue.h"

#include <string.h>

#include "util/crc32c.h"

/* ---- on-flash constants (docs/queue-format.md) ------------------------- */
#define BLK_MAGIC_A 0x41514744u /* "DGQA": block formatted, erase count */
#define BLK_MAGIC_B 0x32514744u /* "DGQ2": block in the ring, format 2 records */
#define BLK_MAGIC_B1 0x42514744u /* "DGQB": in the ring, format 1 records (read only) */
#define SLOT_RAW 16u		/* bytes of slot A and of slot B before padding */
#define REC_MAGIC1 0x5144u	/* format 1: "DQ" */
#define REC_HDR1_RAW 24u	/* format 1 record header bytes before padding */
#define REC_MAGIC2 0xD0u	/* format 2: high nibble of byte 0, type below */
#define REC_HDR_RAW 16u		/* format 2 record header bytes before padding */
#define BF_RING1 3u		/* bfree[]: in the ring, format 1 records */
#define META_MAX 80u		/* largest meta part of any record */
#define W_DOFF (32u + META_MAX) /* writer: data sits here in w->rec */
#define W_DCAP (QUEUE_REC_MAX - W_DOFF - 16u) /* data bytes per record */
#define NOTE_RCPT 0xFFu		/* RESULT for the message, not a recipient */
#define NONE 0xFFFFFFFFu

enum rec_type {
	REC_DATA = 1,	 /* stream bytes: meta {gen, soff} */
	REC_COMMIT = 2,	 /* last stream record: message complete */
	REC_RESULT = 3,	 /* a recipient's result or a note: data = reason */
	REC_HOLD = 4,
	REC_RELEASE = 5,
	REC_DELETE = 6,
};

#define META_DATA 8u
#define META_COMMIT 73u	/* with recipient states */
#define META_COMMIT_NEW 48u	/* all recipients pending: states left out */
#define META_COMMIT_SHORT 28u	/* format 2, a new message: gen 0, nothing tried */
#define META_RESULT 12u	/* deferral or note: attempts and next attempt */
#define META_RESULT_FINAL 2u	/* delivered / failed: recipient and state only */

#define F_BOUNCE 0x01u
#define F_HELD 0x02u

_Static_assert(QUEUE_REC_MAX >= 512 && QUEUE_REC_MAX <= 65536, "QUEUE_REC_MAX");
_Static_assert(QUEUE_MAX_RCPT <= 254, "recipient index must fit a byte below NOTE_RCPT");
_Static_assert(META_COMMIT <= META_MAX, "META_MAX");

/* ---- little helpers ----------------------------------------------------- */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}
static bool all_ff(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xFF)
			return false;
	return true;
}

static uint32_t blk_size(const struct queue *q)
{
	return q->flash->erase_size;
}
static uint32_t blk_of(const struct queue *q, uint32_t off)
{
	return off / blk_size(q);
}
/* Largest stored size (records, headers, padding, a split at every block
 * boundary) of a stream of n bytes: what admission and reclaim plan with. */
static uint32_t phys_bound(const struct queue *q, uint32_t n)
{
	uint32_t usable = blk_size(q) - q->bhdr;
	uint64_t recs = (uint64_t)n / W_DCAP + (uint64_t)n / usable + 3;
	uint64_t b = n + recs * (q->hdr + META_MAX + 2u * q->flash->program_size);
	return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

/* ---- the RAM index: entries with a free list, id hash (linear probing) --- */
static uint32_t hash_size(uint32_t max_msgs)
{
	uint32_t h = 16;
	while (h < 2u * max_msgs)
		h <<= 1;
	return h;
}
static uint32_t *hash_tab(const struct queue *q)
{
	return (uint32_t *)(void *)(q->msgs + q->cfg.max_msgs);
}
static uint32_t hash_slot(const struct queue *q, uint32_t id)
{
	return (id * 2654435761u) & (hash_size(q->cfg.max_msgs) - 1);
}

static struct queue_entry *msg_find(const struct queue *q, uint32_t id)
{
	const uint32_t *h = hash_tab(q), mask = hash_size(q->cfg.max_msgs) - 1;
	for (uint32_t s = hash_slot(q, id);; s = (s + 1) & mask) {
		if (!h[s])
			return NULL;
		struct queue_entry *e = &q->msgs[h[s] - 1];
		if (e->id == id)
			return e;
	}
}

/* NULL when the table is full (max_msgs live messages). */
static struct queue_entry *msg_new(struct queue *q, uint32_t id)
{
	if (q->free_head == NONE)
		return NULL;
	uint32_t i = q->free_head;
	struct queue_entry *e = &q->msgs[i];
	q->free_head = e->id;
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->used = 1;
	e->reason_off = NONE;
	uint32_t *h = hash_tab(q), mask = hash_size(q->cfg.max_msgs) - 1, s = hash_slot(q, id);
	while (h[s])
		s = (s + 1) & mask;
	h[s] = i + 1;
	q->nmsgs++;
	return e;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void msg_remove(struct queue *q, struct queue_entry *e)
{
	uint32_t *h = hash_tab(q), mask = hash_size(q->cfg.max_msgs) - 1;
	uint32_t idx = (uint32_t)(e - q->msgs), s = hash_slot(q, e->id);
	while (h[s] != idx + 1)
		s = (s + 1) & mask;
	for (uint32_t j = (s + 1) & mask; h[j]; j = (j + 1) & mask) {
		uint32_t home = hash_slot(q, q->msgs[h[j] - 1].id);
		/* move h[j] into the hole at s if its home is not in (s, j] */
		bool between = s <= j ? (home > s && home <= j) : (home > s || home <= j);
		if (!between) {
			h[s] = h[j];
			s = j;
		}
	}
	h[s] = 0;
	if (q->cur_id == e->id)
		q->cur_valid = false;
	q->live_bytes -= e->phys < q->live_bytes ? e->phys : q->live_bytes;
	e->used = 0;
	e->id = q->free_head;
	q->free_head = idx;
	q->nmsgs--;
}

static unsigned rcpt_get(const struct queue_entry *e, unsigned i)
{
	return (e->st[i / 4] >> (2 * (i % 4))) & 3u;
}
static void rcpt_set(struct queue_entry *e, unsigned i, unsigned v)
{
	e->st[i / 4] = (uint8_t)((e->st[i / 4] & ~(3u << (2 * (i % 4)))) | (v << (2 * (i % 4))));
}
static uint8_t count_pending(const struct queue_entry *e)
{
	uint8_t n = 0;
	for (unsigned i = 0; i < e->nrcpt; i++)
		if (rcpt_get(e, i) == QUEUE_RCPT_PENDING)
			n++;
	return n;
}

size_t queue_index_size(const struct port_flash *flash, uint32_t max_msgs)
{
	if (!flash || !flash->erase_size)
		return 0;
	size_t nb = flash->size / flash->erase_size;
	return (size_t)max_msgs * sizeof(struct queue_entry) + hash_size(max_msgs) * 4u +
	       nb * (4u * 4u + 1u) + 8u;
}

/* ---- flash primitives ----------------------------------------------------- */
enum head_mode {
	MODE_MSG,   /* a message being received: must leave the reclaim reserve */
	MODE_STATE, /* results, holds, deletes: may dip into the reserve */
	MODE_GC,    /* reclaim's own copies: may use every free block */
};

/* Programs and reads back: NOR cells can fail to take a 0, and "250"
 * must only follow bytes we have seen on the flash. */
static int prog_verify(struct queue *q, uint32_t off, const uint8_t *buf, uint32_t len)
{
	int err = port_flash_program(q->flash, off, buf, len);
	if (err)
		return err;
	q->st.bytes_programmed += len;
	uint8_t chk[64];
	for (uint32_t done = 0; done < len;) {
		uint32_t n = len - done < sizeof(chk) ? len - done : (uint32_t)sizeof(chk);
		err = port_flash_read(q->flash, off + done, chk, n);
		if (err)
			return err;
		if (memcmp(chk, buf + done, n) != 0)
			return QUEUE_EIO;
		done += n;
	}
	return 0;
}

static uint32_t slot_size(const struct queue *q)
{
	return align_up(SLOT_RAW, q->flash->program_size);
}

static int slot_write(struct queue *q, uint32_t off, uint32_t magic, uint32_t v1, uint32_t v2)
{
	uint8_t b[32];
	memset(b, 0xFF, sizeof(b));
	put32(b, magic);
	put32(b + 4, v1);
	put32(b + 8, v2);
	put32(b + 12, crc32c(0, b, 12));
	return prog_verify(q, off, b, slot_size(q));
}

/* 1: valid with magic, 2: valid with alt, 0: erased, -1: anything else
 * (torn, foreign, corrupt). */
static int slot_read(struct queue *q, uint32_t off, uint32_t magic, uint32_t alt, uint32_t *v1,
		     uint32_t *v2)
{
	uint8_t b[32];
	uint32_t n = slot_size(q);
	if (port_flash_read(q->flash, off, b, n) != 0)
		return -1;
	if (all_ff(b, n))
		return 0;
	if ((get32(b) != magic && get32(b) != alt) || get32(b + 12) != crc32c(0, b, 12) ||
	    !all_ff(b + 16, n - 16))
		return -1;
	*v1 = get32(b + 4);
	*v2 = get32(b + 8);
	return get32(b) == magic ? 1 : 2;
}

struct rech {
	uint8_t type, mlen;
	uint32_t dlen, msg, dcrc;
	uint32_t hsize; /* header bytes: format 2 q->hdr, format 1 q->hdr1 */
	uint32_t size;	/* the whole record on flash */
	uint8_t meta[META_MAX];
};

/* Reads and checks the record header (and meta) at off, in the format of
 * its block. QUEUE_ECORRUPT means "no record here": erased, torn, or not
 * ours. */
static int rec_read(struct queue *q, uint32_t off, struct rech *h)
{
	uint32_t E = blk_size(q), in = off % E, P = q->flash->program_size;
	bool v1 = off < q->flash->size && q->bfree[blk_of(q, off)] == BF_RING1;
	uint32_t hs = v1 ? q->hdr1 : q->hdr, craw = v1 ? 20 : 12;
	if (in < q->bhdr || in % P || in + hs > E)
		return QUEUE_ECORRUPT;
	/* Header first, then exactly the meta: the scan reads every record
	 * header in the ring, and on the QEMU board each word read of the
	 * pflash costs (a ring of small records: 750 -> 490 ms in QEMU). */
	uint8_t b[32 + META_MAX];
	int err = port_flash_read(q->flash, off, b, hs);
	if (err)
		return err;
	if (v1) {
		if (get16(b) != REC_MAGIC1 || b[2] < REC_DATA || b[2] > REC_DELETE ||
		    b[3] > META_MAX)
			return QUEUE_ECORRUPT;
		h->type = b[2];
		h->mlen = b[3];
		h->dlen = get32(b + 4);
		h->msg = get32(b + 12);
		h->dcrc = get32(b + 16);
	} else {
		if ((b[0] & 0xF0u) != REC_MAGIC2 || (b[0] & 0x0Fu) < REC_DATA ||
		    (b[0] & 0x0Fu) > REC_DELETE || b[1] > META_MAX)
			return QUEUE_ECORRUPT;
		h->type = b[0] & 0x0Fu;
		h->mlen = b[1];
		h->dlen = get16(b + 2);
		h->msg = get32(b + 4);
		h->dcrc = get32(b + 8);
	}
	if (h->dlen > E)
		return QUEUE_ECORRUPT;
	h->hsize = hs;
	h->size = hs + align_up(h->mlen + h->dlen, P);
	if (h->size > E - in)
		return QUEUE_ECORRUPT;
	if (h->mlen) {
		err = port_flash_read(q->flash, off + hs, b + hs, h->mlen);
		if (err)
			return err;
	}
	uint32_t crc = crc32c(0, b, craw);
	crc = crc32c(crc, b + hs, h->mlen);
	if (get32(b + craw) != crc)
		return QUEUE_ECORRUPT;
	memcpy(h->meta, b + hs, h->mlen);
	return 0;
}

static uint32_t head_blk(const struct queue *q)
{
	return q->ring[(q->ring_tail + q->ring_count - 1) % q->nblocks];
}
static uint32_t head_pos(const struct queue *q)
{
	return head_blk(q) * blk_size(q) + q->head_off;
}

/* Programs a record at the head, which the caller made room for. rec
 * holds q->hdr bytes of header space, meta, data and room for padding.
 * Body first, header last: a valid header proves the whole record. */
static int rec_program(struct queue *q, uint8_t *rec, uint8_t type, uint32_t msg, uint32_t mlen,
		       uint32_t dlen, uint32_t *off_out)
{
	uint32_t P = q->flash->program_size, body = align_up(mlen + dlen, P);
	uint32_t off = head_pos(q);
	memset(rec + q->hdr + mlen + dlen, 0xFF, body - mlen - dlen);
	memset(rec, 0xFF, q->hdr);
	rec[0] = (uint8_t)(REC_MAGIC2 | type);
	rec[1] = (uint8_t)mlen;
	put16(rec + 2, (uint16_t)dlen);
	put32(rec + 4, msg);
	put32(rec + 8, crc32c(0, rec + q->hdr + mlen, dlen));
	uint32_t crc = crc32c(0, rec, 12);
	put32(rec + 12, crc32c(crc, rec + q->hdr, mlen));
	int err = body ? prog_verify(q, off + q->hdr, rec + q->hdr, body) : 0;
	if (!err)
		err = prog_verify(q, off, rec, q->hdr);
	/* Whatever happened, the space is used: never program over it. */
	q->head_off += q->hdr + body;
	if (err) {
		q->head_open = false;
		return err;
	}
	if (off_out)
		*off_out = off;
	return 0;
}

static int reclaim(struct queue *q);

/* Takes the least-worn free block, erases and formats it if needed, and
 * makes it the new head of the ring. */
static int open_block(struct queue *q, enum head_mode mode)
{
	uint32_t nfree = q->nblocks - q->ring_count;
	if (nfree == 0 || (mode == MODE_MSG && nfree <= q->gc_blocks))
		return QUEUE_EFULL;
	uint32_t b = NONE;
	for (uint32_t i = 0; i < q->nblocks; i++)
		if (!q->bseq[i] && (b == NONE || q->bec[i] < q->bec[b]))
			b = i;
	uint32_t base = b * blk_size(q);
	int err;
	if (q->bfree[b] != 1) {
		q->bfree[b] = 2;
		err = port_flash_erase(q->flash, base);
		if (err)
			return err;
		q->bec[b]++;
		err = slot_write(q, base, BLK_MAGIC_A, q->bec[b], blk_size(q));
		if (err)
			return err;
		q->bfree[b] = 1;
	}
	q->bfree[b] = 2; /* from here on it is written or needs an erase */
	uint32_t seq = q->next_bseq++;
	/* next_id too: ids stay unique for the life of the flash even when
	 * every record of the newest message has been reclaimed */
	err = slot_write(q, base + slot_size(q), BLK_MAGIC_B, seq, q->next_id);
	if (err)
		return err;
	q->bfree[b] = 0;
	q->bseq[b] = seq;
	uint32_t pos = (q->ring_tail + q->ring_count) % q->nblocks;
	q->ring[pos] = b;
	q->bpos[b] = pos;
	q->ring_count++;
	q->head_open = true;
	q->head_off = q->bhdr;
	return 0;
}

/* Makes sure the head block has need bytes free; returns the bytes free
 * there (>= need) or a negative error. Reclaims first when the pool of
 * free blocks is down to the reserve. */
static long ensure_head(struct queue *q, uint32_t need, enum head_mode mode)
{
	if (q->head_open && blk_size(q) - q->head_off >= need)
		return (long)(blk_size(q) - q->head_off);
	if (mode != MODE_GC && !q->in_gc) {
		/* one pass over the ring at most: if everything is live,
		 * reclaim only moves it and we give up with QUEUE_EFULL */
		for (uint32_t n = q->ring_count; n && q->ring_count > 1 &&
						  q->nblocks - q->ring_count <= q->gc_blocks;
		     n--) {
			int err = reclaim(q);
			if (err == QUEUE_EBUSY || err == QUEUE_EFULL)
				break;
			if (err)
				return err;
		}
		if (q->head_open && blk_size(q) - q->head_off >= need)
			return (long)(blk_size(q) - q->head_off);
	}
	q->head_open = false;
	int err = open_block(q, q->in_gc ? MODE_GC : mode);
	if (err)
		return err;
	return (long)(blk_size(q) - q->head_off);
}

/* A small record (state change) with optional data, durable on return. */
static int write_small(struct queue *q, uint8_t type, uint32_t msg, const uint8_t *meta,
		       uint32_t mlen, const void *data, uint32_t dlen, uint32_t *off)
{
	uint8_t b[32 + META_MAX + QUEUE_REASON_MAX + 16];
	if (mlen > META_MAX || dlen > QUEUE_REASON_MAX)
		return QUEUE_EINVAL;
	uint32_t size = q->hdr + align_up(mlen + dlen, q->flash->program_size);
	long avail = ensure_head(q, size, MODE_STATE);
	if (avail < 0)
		return (int)avail;
	if (mlen)
		memcpy(b + q->hdr, meta, mlen);
	if (dlen)
		memcpy(b + q->hdr + mlen, data, dlen);
	int err = rec_program(q, b, type, msg, mlen, dlen, off);
	if (err)
		return err;
	return port_flash_sync(q->flash);
}

/* ---- walking the log ------------------------------------------------------ */
/* The first valid record at or after offset `in` of block b, following the
 * ring to younger blocks; NONE at the end of the log. A block's log ends
 * at its first invalid header (nothing is ever written after a torn record:
 * the head block is abandoned on mount and on any write error). */
static uint32_t log_seek(struct queue *q, uint32_t b, uint32_t in, struct rech *h)
{
	for (;;) {
		if (q->bseq[b] && in + q->hdr <= blk_size(q) &&
		    rec_read(q, b * blk_size(q) + in, h) == 0)
			return b * blk_size(q) + in;
		if (!q->bseq[b] || b == head_blk(q))
			return NONE;
		b = q->ring[(q->bpos[b] + 1) % q->nblocks];
		in = q->bhdr;
	}
}

/* A DATA or COMMIT record of message id, generation gen: true, with the
 * stream offset of its data in *soff. A format 2 short COMMIT is
 * generation 0 and ends the stream. */
static bool is_stream(const struct rech *h, uint32_t id, uint32_t gen, uint32_t *soff)
{
	if (h->msg != id || (h->type != REC_DATA && h->type != REC_COMMIT))
		return false;
	if (h->type == REC_COMMIT && h->mlen == META_COMMIT_SHORT) {
		*soff = get32(h->meta + 4) - h->dlen;
		return gen == 0;
	}
	*soff = get32(h->meta + 4);
	return h->mlen >= 8 && get32(h->meta) == gen;
}

static int data_crc_ok(struct queue *q, uint32_t off, const struct rech *h)
{
	uint8_t b[64];
	uint32_t crc = 0, p = off + h->hsize + h->mlen;
	for (uint32_t done = 0; done < h->dlen;) {
		uint32_t n = h->dlen - done < sizeof(b) ? h->dlen - done : (uint32_t)sizeof(b);
		int err = port_flash_read(q->flash, p + done, b, n);
		if (err)
			return err;
		crc = crc32c(crc, b, n);
		done += n;
	}
	return crc == h->dcrc ? 0 : QUEUE_ECORRUPT;
}

/* Reads stream bytes (envelope + content) of e from soff. Resumes from the
 * cursor when reading forward, so sequential reads cost O(1) header reads
 * each; every record's data CRC is checked once when the cursor lands. */
static long stream_read(struct queue *q, const struct queue_entry *e, uint32_t soff, uint8_t *buf,
			size_t len)
{
	struct rech h;
	size_t got = 0;
	if (soff >= e->stream_len)
		return 0;
	if (len > e->stream_len - soff)
		len = e->stream_len - soff;
	uint32_t off;
	bool cursor = q->cur_valid && q->cur_id == e->id && q->cur_gen == e->gen &&
		      q->cur_soff <= soff;
	if (cursor) {
		off = q->cur_off;
	} else {
		uint32_t b = blk_of(q, e->first_off);
		if (b >= q->nblocks || !q->bseq[b])
			return QUEUE_ECORRUPT;
		off = e->first_off;
	}
	off = log_seek(q, blk_of(q, off), off % blk_size(q), &h);
	while (got < len) {
		if (off == NONE)
			return got ? (long)got : QUEUE_ECORRUPT;
		uint32_t rs;
		if (is_stream(&h, e->id, e->gen, &rs)) {
			if (soff < rs)
				return got ? (long)got : QUEUE_ECORRUPT; /* a gap */
			if (soff < rs + h.dlen) {
				if (!(q->cur_valid && q->cur_off == off && q->cur_id == e->id &&
				      q->cur_gen == e->gen)) {
					int err = data_crc_ok(q, off, &h);
					if (err)
						return got ? (long)got : err;
					q->cur_valid = true;
					q->cur_id = e->id;
					q->cur_gen = e->gen;
					q->cur_off = off;
					q->cur_soff = rs;
				}
				uint32_t n = rs + h.dlen - soff;
				if (n > len - got)
					n = (uint32_t)(len - got);
				int err = port_flash_read(q->flash, off + h.hsize + h.mlen + (soff - rs),
							  buf + got, n);
				if (err)
					return err;
				got += n;
				soff += n;
				continue;
			}
			if (h.type == REC_COMMIT)
				break;
		}
		off = log_seek(q, blk_of(q, off), off % blk_size(q) + h.size, &h);
	}
	return (long)got;
}

/* ---- the writer ----------------------------------------------------------- */
static uint32_t limit_bytes(const struct queue *q, unsigned flags)
{
	return q->cfg.max_bytes - (flags & QUEUE_F_BOUNCE ? 0 : q->cfg.bounce_reserve);
}
static uint32_t limit_msgs(const struct queue *q, unsigned flags)
{
	return q->cfg.max_msgs - (flags & QUEUE_F_BOUNCE ? 0 : q->cfg.bounce_msgs);
}

/* Programs fill bytes (or what fits in the head block) as one DATA record. */
static int writer_flush_one(struct queue_writer *w)
{
	struct queue *q = w->q;
	uint32_t P = q->flash->program_size;
	uint32_t want = w->fill < 64 ? w->fill : 64;
	long avail = ensure_head(q, q->hdr + align_up(META_DATA + want, P),
				 q->in_gc ? MODE_GC : MODE_MSG);
	if (avail < 0)
		return (int)avail;
	uint32_t dlen = (uint32_t)avail - q->hdr - META_DATA;
	if (dlen > w->fill)
		dlen = w->fill;
	uint8_t *rec = w->rec + W_DOFF - META_DATA - q->hdr;
	put32(rec + q->hdr, w->gen);
	put32(rec + q->hdr + 4, w->stream_len - w->fill);
	uint32_t off;
	int err = rec_program(q, rec, REC_DATA, w->id, META_DATA, dlen, &off);
	if (err)
		return err;
	if (w->first_off == NONE)
		w->first_off = off;
	w->phys += q->hdr + align_up(META_DATA + dlen, P);
	w->fill -= dlen;
	if (w->fill)
		memmove(w->rec + W_DOFF, w->rec + W_DOFF + dlen, w->fill);
	return 0;
}

static int writer_put(struct queue_writer *w, const uint8_t *p, size_t len)
{
	struct queue *q = w->q;
	if (w->err)
		return w->err;
	if (w->slot >= 0 && len > q->cfg.max_msg_size - w->stream_len)
		return w->err = QUEUE_ETOOBIG;
	if (w->slot >= 0) {
		/* grow the reservation with the message: 452 as soon as it
		 * cannot fit, not after the flash is full */
		uint32_t need = phys_bound(q, w->stream_len + (uint32_t)len);
		if (need > w->reserved) {
			uint32_t d = need - w->reserved;
			if ((uint64_t)q->live_bytes + q->reserved_bytes + d > limit_bytes(q, w->flags))
				return w->err = QUEUE_EFULL;
			q->reserved_bytes += d;
			w->reserved = need;
		}
	}
	while (len) {
		uint32_t n = W_DCAP - w->fill;
		if (n > len)
			n = (uint32_t)len;
		memcpy(w->rec + W_DOFF + w->fill, p, n);
		w->stream_crc = crc32c(w->stream_crc, p, n);
		w->fill += n;
		w->stream_len += n;
		p += n;
		len -= n;
		if (w->fill == W_DCAP) {
			int err = writer_flush_one(w);
			if (err)
				return w->err = err;
		}
	}
	return 0;
}

static void writer_init(struct queue_writer *w, struct queue *q, uint32_t id, uint32_t gen,
			unsigned flags, uint64_t arrival)
{
	w->q = q;
	w->id = id;
	w->gen = gen;
	w->first_off = NONE;
	w->stream_len = w->env_len = w->stream_crc = w->phys = w->reserved = w->fill = 0;
	w->arrival = arrival;
	w->flags = (uint8_t)flags;
	w->nrcpt = 0;
	w->err = 0;
	w->slot = -1;
}

/* The COMMIT record: the last stream bytes plus the message's state
 * (all pending for a new message, a snapshot when reclaim moves one). */
static int writer_commit_rec(struct queue_writer *w, const struct queue_entry *snap)
{
	struct queue *q = w->q;
	uint32_t P = q->flash->program_size, mlen = snap ? META_COMMIT_NEW : META_COMMIT_SHORT;
	for (size_t i = 0; snap && i < sizeof(snap->st); i++)
		if (snap->st[i])
			mlen = META_COMMIT;
	uint32_t size = q->hdr + align_up(mlen + w->fill, P);
	long avail = ensure_head(q, size, q->in_gc ? MODE_GC : MODE_MSG);
	if (avail < 0)
		return (int)avail;
	uint8_t *rec = w->rec + W_DOFF - mlen - q->hdr, *m = rec + q->hdr;
	uint32_t off = head_pos(q);
	if (w->first_off == NONE)
		w->first_off = off;
	w->phys += size;
	memset(m, 0, mlen);
	if (!snap) { /* a new message: generation 0, all pending, never tried */
		put32(m, w->first_off);
		put32(m + 4, w->stream_len);
		put32(m + 8, w->stream_crc);
		put32(m + 12, w->phys);
		put64(m + 16, w->arrival);
		put16(m + 24, (uint16_t)w->env_len);
		m[26] = w->nrcpt;
		m[27] = w->flags & F_BOUNCE;
		return rec_program(q, rec, REC_COMMIT, w->id, mlen, w->fill, NULL);
	}
	put32(m, w->gen);
	put32(m + 4, w->stream_len - w->fill);
	put32(m + 8, w->first_off);
	put32(m + 12, w->stream_len);
	put32(m + 16, w->env_len);
	put32(m + 20, w->stream_crc);
	put32(m + 24, w->phys);
	put64(m + 28, w->arrival);
	put64(m + 36, snap->next_attempt);
	put16(m + 44, snap->attempts);
	m[47] = snap->flags;
	if (mlen == META_COMMIT)
		memcpy(m + 48, snap->st, sizeof(snap->st));
	m[46] = w->nrcpt;
	return rec_program(q, rec, REC_COMMIT, w->id, mlen, w->fill, NULL);
}

static void entry_from_writer(struct queue_entry *e, const struct queue_writer *w)
{
	e->gen = w->gen;
	e->first_off = w->first_off;
	e->stream_len = w->stream_len;
	e->env_len = w->env_len;
	e->stream_crc = w->stream_crc;
	e->phys = w->phys;
	e->arrival = w->arrival;
	e->nrcpt = w->nrcpt;
}

/* ---- reclaim ---------------------------------------------------------------- */
static int read_reason(struct queue *q, uint32_t off, char *buf, size_t size)
{
	struct rech h;
	buf[0] = '\0';
	if (off == NONE)
		return 0;
	int err = rec_read(q, off, &h);
	if (err)
		return err;
	if (h.type != REC_RESULT || h.dlen > QUEUE_REASON_MAX || h.dlen >= size)
		return QUEUE_ECORRUPT;
	err = data_crc_ok(q, off, &h);
	if (!err)
		err = port_flash_read(q->flash, off + h.hsize + h.mlen, buf, h.dlen);
	if (err)
		return err;
	buf[h.dlen] = '\0';
	return (int)h.dlen;
}

static void result_meta(uint8_t *m, unsigned rcpt, unsigned state, uint16_t attempts,
			uint64_t next)
{
	m[0] = (uint8_t)rcpt;
	m[1] = (uint8_t)state;
	put16(m + 2, attempts);
	put64(m + 4, next);
}

/* Moves one message to the head as a new generation: stream copy, then
 * the COMMIT (which supersedes the old copy), then its reason. A cut
 * before that COMMIT leaves the old generation in force. */
static int relocate(struct queue *q, struct queue_entry *e)
{
	struct queue_writer *w = &q->gcw;
	uint8_t chunk[256];
	writer_init(w, q, e->id, e->gen + 1, e->flags, e->arrival);
	w->nrcpt = e->nrcpt;
	w->env_len = e->env_len;
	int err = 0;
	for (uint32_t soff = 0; soff < e->stream_len && !err;) {
		long n = stream_read(q, e, soff, chunk, sizeof(chunk));
		if (n <= 0) {
			err = n < 0 ? (int)n : QUEUE_ECORRUPT;
			break;
		}
		err = writer_put(w, chunk, (size_t)n);
		soff += (uint32_t)n;
	}
	if (!err && w->stream_crc != e->stream_crc)
		err = QUEUE_ECORRUPT;
	if (err == QUEUE_ECORRUPT) {
		/* The content is already lost; keeping it would pin this
		 * block forever. Drop it visibly (stats) and move on. */
		err = write_small(q, REC_DELETE, e->id, NULL, 0, NULL, 0, NULL);
		if (err)
			return err;
		q->st.dropped_corrupt++;
		msg_remove(q, e);
		return 0;
	}
	if (!err)
		err = writer_commit_rec(w, e);
	if (err)
		return err;
	char reason[QUEUE_REASON_MAX + 1];
	int rlen = read_reason(q, e->reason_off, reason, sizeof(reason));
	uint32_t roff = NONE;
	if (rlen > 0) {
		uint8_t m[META_RESULT];
		result_meta(m, NOTE_RCPT, 0, e->attempts, e->next_attempt);
		err = write_small(q, REC_RESULT, e->id, m, META_RESULT, reason, (uint32_t)rlen, &roff);
		if (err)
			return err;
	}
	err = port_flash_sync(q->flash);
	if (err)
		return err;
	q->live_bytes = q->live_bytes - e->phys + w->phys;
	entry_from_writer(e, w);
	e->reason_off = roff;
	q->st.relocations++;
	return 0;
}

/* Frees the oldest block: moves the messages that start in it, then
 * erases it and writes its erase count back at once. */
static int reclaim(struct queue *q)
{
	if (q->ring_count < 2)
		return QUEUE_EFULL;
	uint32_t t = q->ring[q->ring_tail];
	for (int i = 0; i < QUEUE_MAX_WRITERS; i++) {
		const struct queue_writer *w = q->writers[i];
		if (w && w->first_off != NONE && blk_of(q, w->first_off) == t)
			return QUEUE_EBUSY; /* in-flight: it will commit or abort */
	}
	q->in_gc = true;
	int err = 0;
	for (uint32_t i = 0; i < q->cfg.max_msgs && !err; i++) {
		struct queue_entry *e = &q->msgs[i];
		if (e->used && blk_of(q, e->first_off) == t)
			err = relocate(q, e);
	}
	q->in_gc = false;
	if (err)
		return err;
	q->cur_valid = false;
	q->ring_tail = (q->ring_tail + 1) % q->nblocks;
	q->ring_count--;
	q->bseq[t] = 0;
	q->bfree[t] = 2;
	err = port_flash_erase(q->flash, t * blk_size(q));
	if (err)
		return err;
	q->bec[t]++;
	err = slot_write(q, t * blk_size(q), BLK_MAGIC_A, q->bec[t], blk_size(q));
	if (err)
		return err;
	q->bfree[t] = 1;
	q->st.reclaims++;
	return 0;
}

/* ---- boot scan ---------------------------------------------------------------- */
static void sift_down(struct queue *q, uint32_t *a, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && q->bseq[a[c + 1]] > q->bseq[a[c]])
			c++;
		if (q->bseq[a[i]] >= q->bseq[a[c]])
			return;
		uint32_t t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

/* Heapsort of the ring blocks by sequence: no recursion, no allocation. */
static void sort_ring(struct queue *q, uint32_t *a, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift_down(q, a, i, n);
	for (uint32_t end = n; end > 1; end--) {
		uint32_t t = a[0];
		a[0] = a[end - 1];
		a[end - 1] = t;
		sift_down(q, a, 0, end - 1);
	}
}

/* True if `first` lies at or before `off` in log order (both in the ring). */
static bool log_before(const struct queue *q, uint32_t first, uint32_t off)
{
	uint32_t fb = blk_of(q, first), ob = blk_of(q, off);
	if (first >= q->flash->size || !q->bseq[fb])
		return false;
	return fb == ob ? first <= off : q->bseq[fb] < q->bseq[ob];
}

static int scan_apply(struct queue *q, uint32_t off, const struct rech *h)
{
	struct queue_entry *e = msg_find(q, h->msg);
	const uint8_t *m = h->meta;
	switch (h->type) {
	case REC_COMMIT: {
		uint32_t gen = 0, first, slen, env, soff, crc, phys;
		uint64_t arrival, next = 0;
		uint16_t attempts = 0;
		uint8_t nrcpt, flags;
		if (h->mlen == META_COMMIT_SHORT) {
			first = get32(m);
			slen = get32(m + 4);
			soff = slen - h->dlen;
			crc = get32(m + 8);
			phys = get32(m + 12);
			arrival = get64(m + 16);
			env = get16(m + 24);
			nrcpt = m[26];
			flags = m[27];
		} else if (h->mlen == META_COMMIT || h->mlen == META_COMMIT_NEW) {
			gen = get32(m);
			soff = get32(m + 4);
			first = get32(m + 8);
			slen = get32(m + 12);
			env = get32(m + 16);
			crc = get32(m + 20);
			phys = get32(m + 24);
			arrival = get64(m + 28);
			next = get64(m + 36);
			attempts = get16(m + 44);
			nrcpt = m[46];
			flags = m[47];
		} else {
			return 0;
		}
		if (!nrcpt || nrcpt > QUEUE_MAX_RCPT || env > slen || h->dlen > slen ||
		    !log_before(q, first, off) || soff + h->dlen != slen)
			return 0; /* CRC-valid nonsense: ignore rather than trust */
		if (e && gen <= e->gen)
			return 0;
		if (e) {
			q->live_bytes -= e->phys;
		} else {
			e = msg_new(q, h->msg);
			if (!e)
				return QUEUE_ENOMEM; /* more messages on flash than max_msgs */
		}
		e->gen = gen;
		e->first_off = first;
		e->stream_len = slen;
		e->env_len = env;
		e->stream_crc = crc;
		e->phys = phys;
		e->arrival = arrival;
		e->next_attempt = next;
		e->attempts = attempts;
		e->nrcpt = nrcpt;
		e->flags = flags & (F_BOUNCE | F_HELD);
		memset(e->st, 0, sizeof(e->st));
		if (h->mlen == META_COMMIT)
			memcpy(e->st, m + 48, sizeof(e->st));
		e->reason_off = NONE;
		q->live_bytes += e->phys;
		break;
	}
	case REC_RESULT: {
		if (!e || (h->mlen != META_RESULT && h->mlen != META_RESULT_FINAL))
			return 0;
		unsigned r = m[0], state = m[1];
		if (r != NOTE_RCPT) {
			if (r >= e->nrcpt || state > QUEUE_RCPT_DEFERRED)
				return 0;
			if (state != QUEUE_RCPT_DEFERRED)
				rcpt_set(e, r, state);
		}
		if (h->mlen == META_RESULT) {
			e->attempts = get16(m + 2);
			e->next_attempt = get64(m + 4);
		}
		if (h->dlen)
			e->reason_off = off;
		break;
	}
	case REC_HOLD:
	case REC_RELEASE:
		if (e)
			e->flags = (uint8_t)(h->type == REC_HOLD ? e->flags | F_HELD
								 : e->flags & ~F_HELD);
		return 0;
	case REC_DELETE:
		if (e)
			msg_remove(q, e);
		return 0;
	default:
		return 0;
	}
	e->npending = count_pending(e);
	if (!e->npending)
		msg_remove(q, e);
	return 0;
}

static int scan(struct queue *q)
{
	uint32_t E = blk_size(q), SS = slot_size(q), maxbseq = 0, maxec = 0, minec = NONE, n = 0,
		 next_id = 1;
	bool unknown_ec = false;
	for (uint32_t b = 0; b < q->nblocks; b++) {
		uint32_t ec = 0, v2, seq, bid;
		int a = slot_read(q, b * E, BLK_MAGIC_A, BLK_MAGIC_A, &ec, &v2);
		int s = slot_read(q, b * E + SS, BLK_MAGIC_B, BLK_MAGIC_B1, &seq, &bid);
		q->bseq[b] = 0;
		/* NONE - 1: slot erased (a fresh chip, or a cut between erase
		 * and format); NONE: slot torn or foreign */
		q->bec[b] = a == 1 ? ec : a == 0 ? NONE - 1 : NONE;
		if (a != 1) {
			unknown_ec = true;
		} else {
			maxec = ec > maxec ? ec : maxec;
			minec = ec < minec ? ec : minec;
		}
		if (s > 0 && seq && seq != NONE) {
			if (bid > next_id && bid != NONE)
				next_id = bid;
			q->bseq[b] = seq;
			/* format 1 (older firmware): read as it is, never
			 * appended to; reclaim rewrites its messages */
			q->bfree[b] = s == 2 ? BF_RING1 : 0;
			q->st.v1_blocks += s == 2;
			q->ring[n++] = b;
			if (seq > maxbseq)
				maxbseq = seq;
		} else {
			/* formatted and untouched since, or anything else */
			q->bfree[b] = (a == 1 && v2 == E && s == 0) ? 1 : 2;
		}
	}
	/* A block whose count slot is torn or foreign counts as the most
	 * worn seen, so levelling never favours what it knows nothing
	 * about. An erased slot is almost always a block never used (a new
	 * chip): it counts as the least worn seen (0 on a new chip), so
	 * fresh blocks take their share of the wear instead of the few
	 * already in use (a cut between erase and format, rare, loses that
	 * block at most its history, never more than it would cost). */
	if (unknown_ec) {
		for (uint32_t b = 0; b < q->nblocks; b++) {
			if (q->bec[b] == NONE)
				q->bec[b] = maxec;
			else if (q->bec[b] == NONE - 1)
				q->bec[b] = minec == NONE ? 0 : minec;
		}
	}
	sort_ring(q, q->ring, n);
	q->ring_tail = 0;
	q->ring_count = n;
	for (uint32_t i = 0; i < n; i++)
		q->bpos[q->ring[i]] = i;
	q->next_bseq = maxbseq + 1;
	uint32_t maxid = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t b = q->ring[i];
		struct rech h;
		for (uint32_t in = q->bhdr; in + q->hdr <= E;) {
			int err = rec_read(q, b * E + in, &h);
			if (err == QUEUE_ECORRUPT)
				break; /* end of this block's log */
			if (err)
				return err;
			if (h.msg > maxid && h.msg != NONE)
				maxid = h.msg;
			err = scan_apply(q, b * E + in, &h);
			if (err)
				return err;
			in += h.size;
		}
	}
	q->next_id = maxid + 1 > next_id ? maxid + 1 : next_id;
	q->head_open = false; /* never append after what a cut may have torn */
	for (uint32_t i = 0; i < q->cfg.max_msgs; i++)
		if (q->msgs[i].used)
			q->msgs[i].npending = count_pending(&q->msgs[i]);
	return 0;
}

int queue_mount(struct queue *q, const struct queue_config *cfg)
{
	if (!q || !cfg || !cfg->flash || !cfg->index_buf || !cfg->max_msgs)
		return QUEUE_EINVAL;
	const struct port_flash *f = cfg->flash;
	memset(q, 0, offsetof(struct queue, gcw));
	q->flash = f;
	q->cfg = *cfg;
	uint32_t P = f->program_size, E = f->erase_size;
	if (!P || P > 16 || !E || E % P || f->size % E || (uintptr_t)cfg->index_buf % 8)
		return QUEUE_EINVAL;
	q->nblocks = f->size / E;
	q->hdr = align_up(REC_HDR_RAW, P);
	q->hdr1 = align_up(REC_HDR1_RAW, P);
	q->bhdr = 2 * slot_size(q);
	if (q->nblocks < 4 || E < q->bhdr + QUEUE_REC_MAX + 32)
		return QUEUE_EINVAL;
	if (cfg->index_buf_size < queue_index_size(f, cfg->max_msgs))
		return QUEUE_ENOMEM;
	uint32_t usable = E - q->bhdr;
	if (!q->cfg.max_msg_size)
		q->cfg.max_msg_size = 10u * 1024 * 1024 + 32 * 1024;
	q->gc_blocks = (phys_bound(q, q->cfg.max_msg_size) + usable - 1) / usable + 2;
	if (q->nblocks < q->gc_blocks + 2)
		return QUEUE_EINVAL; /* max_msg_size too large for this flash */
	/* Live data may fill 3/4 of the ring outside the reserve: the rest is
	 * the slack that lets reclaim make progress when most data is live. */
	uint64_t cap = (uint64_t)(q->nblocks - q->gc_blocks) * usable * 3 / 4;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	if (!q->cfg.max_bytes || q->cfg.max_bytes > cap)
		q->cfg.max_bytes = (uint32_t)cap;
	if (!q->cfg.bounce_reserve || q->cfg.bounce_reserve >= q->cfg.max_bytes)
		q->cfg.bounce_reserve = q->cfg.max_bytes / 16;
	if (q->cfg.bounce_msgs >= q->cfg.max_msgs || (!q->cfg.bounce_msgs && q->cfg.max_msgs > 1))
		q->cfg.bounce_msgs = q->cfg.max_msgs > 16 ? q->cfg.max_msgs / 16 : q->cfg.max_msgs > 1;

	uint8_t *p = cfg->index_buf;
	q->msgs = (struct queue_entry *)(void *)p;
	p += (size_t)cfg->max_msgs * sizeof(struct queue_entry) + hash_size(cfg->max_msgs) * 4u;
	memset(cfg->index_buf, 0, (size_t)(p - (uint8_t *)cfg->index_buf));
	q->bseq = (uint32_t *)(void *)p;
	q->bec = q->bseq + q->nblocks;
	q->bpos = q->bec + q->nblocks;
	q->ring = q->bpos + q->nblocks;
	q->bfree = (uint8_t *)(q->ring + q->nblocks);
	for (uint32_t i = 0; i < cfg->max_msgs; i++)
		q->msgs[i].id = i + 1 < cfg->max_msgs ? i + 1 : NONE;
	q->free_head = 0;
	return scan(q);
}

/* ---- accepting messages -------------------------------------------------------- */
int queue_can_accept(const struct queue *q, uint32_t size_hint, unsigned flags)
{
	if (size_hint > q->cfg.max_msg_size)
		return QUEUE_ETOOBIG;
	if (q->nmsgs + q->reserved_msgs + 1 > limit_msgs(q, flags))
		return QUEUE_EFULL;
	/* 512: a typical envelope; the real one is counted at begin */
	uint32_t need = phys_bound(q, size_hint + 512);
	if ((uint64_t)q->live_bytes + q->reserved_bytes + need > limit_bytes(q, flags))
		return QUEUE_EFULL;
	return 0;
}

/* Takes a writer slot and reserves room for `hint` stream bytes beyond
 * the sender; the sender is the first envelope field. */
static int msg_open(struct queue *q, struct queue_writer *w, const char *sender, unsigned flags,
		    uint32_t hint, uint64_t arrival)
{
	size_t sl = strlen(sender) + 1;
	if (sl > QUEUE_ADDR_MAX + 1)
		return QUEUE_EINVAL;
	if (sl + hint > q->cfg.max_msg_size || hint > q->cfg.max_msg_size)
		return QUEUE_ETOOBIG;
	if (q->nmsgs + q->reserved_msgs + 1 > limit_msgs(q, flags))
		return QUEUE_EFULL;
	uint32_t need = phys_bound(q, (uint32_t)sl + hint);
	if ((uint64_t)q->live_bytes + q->reserved_bytes + need > limit_bytes(q, flags))
		return QUEUE_EFULL;
	int slot = -1;
	for (int i = 0; i < QUEUE_MAX_WRITERS && slot < 0; i++)
		if (!q->writers[i])
			slot = i;
	if (slot < 0)
		return QUEUE_EBUSY;
	writer_init(w, q, q->next_id++, 0, flags & QUEUE_F_BOUNCE, arrival);
	w->slot = slot;
	w->reserved = need;
	q->writers[slot] = w;
	q->reserved_bytes += need;
	q->reserved_msgs++;
	int err = writer_put(w, (const uint8_t *)sender, sl);
	if (err)
		queue_msg_abort(w);
	return err;
}

int queue_msg_open(struct queue *q, struct queue_writer *w, const char *sender, unsigned flags,
		   uint32_t size_hint, uint64_t arrival)
{
	if (!q || !w || !sender)
		return QUEUE_EINVAL;
	return msg_open(q, w, sender, flags, size_hint, arrival);
}

int queue_msg_add_rcpt(struct queue_writer *w, const char *rcpt)
{
	if (!w || w->slot < 0 || !rcpt || w->env_len)
		return QUEUE_EINVAL;
	if (w->err)
		return w->err;
	struct queue *q = w->q;
	size_t l = strlen(rcpt);
	if (!l || l > QUEUE_ADDR_MAX)
		return QUEUE_EINVAL;
	if (w->nrcpt >= QUEUE_MAX_RCPT)
		return QUEUE_EFULL;
	if (l + 1 > q->cfg.max_msg_size - w->stream_len)
		return QUEUE_ETOOBIG;
	/* not sticky: this recipient is refused (452), the message goes on */
	uint32_t need = phys_bound(q, w->stream_len + (uint32_t)l + 1);
	if (need > w->reserved &&
	    (uint64_t)q->live_bytes + q->reserved_bytes + (need - w->reserved) > limit_bytes(q, w->flags))
		return QUEUE_EFULL;
	int err = writer_put(w, (const uint8_t *)rcpt, l + 1);
	if (!err)
		w->nrcpt++;
	return err;
}

/* The envelope ends where the content starts. */
static void env_close(struct queue_writer *w)
{
	if (!w->env_len)
		w->env_len = w->stream_len;
}

int queue_msg_begin(struct queue *q, struct queue_writer *w, const char *sender,
		    const char *const *rcpts, unsigned nrcpt, unsigned flags, uint32_t size_hint,
		    uint64_t arrival)
{
	if (!q || !w || !sender || !rcpts || !nrcpt || nrcpt > QUEUE_MAX_RCPT)
		return QUEUE_EINVAL;
	size_t env = 0;
	for (unsigned i = 0; i < nrcpt; i++) {
		size_t l = rcpts[i] ? strlen(rcpts[i]) : 0;
		if (!l || l > QUEUE_ADDR_MAX)
			return QUEUE_EINVAL;
		env += l + 1;
	}
	if (size_hint > q->cfg.max_msg_size - env)
		return QUEUE_ETOOBIG;
	int err = msg_open(q, w, sender, flags, (uint32_t)env + size_hint, arrival);
	if (err)
		return err; /* w untouched, or already closed */
	for (unsigned i = 0; i < nrcpt && !err; i++)
		err = queue_msg_add_rcpt(w, rcpts[i]);
	if (err)
		queue_msg_abort(w);
	else
		env_close(w);
	return err;
}

int queue_msg_write(struct queue_writer *w, const void *data, size_t len)
{
	if (!w || w->slot < 0)
		return QUEUE_EINVAL;
	if (len && !data)
		return QUEUE_EINVAL;
	env_close(w);
	return writer_put(w, data, len);
}

void queue_msg_abort(struct queue_writer *w)
{
	if (!w || w->slot < 0)
		return;
	struct queue *q = w->q;
	q->writers[w->slot] = NULL;
	q->reserved_bytes -= w->reserved;
	q->reserved_msgs--;
	w->slot = -1;
}

int queue_msg_commit_nosync(struct queue_writer *w, uint32_t *id)
{
	if (!w || w->slot < 0)
		return QUEUE_EINVAL;
	struct queue *q = w->q;
	int err = w->err;
	env_close(w);
	if (!err && !w->nrcpt)
		err = QUEUE_EINVAL;
	if (!err)
		err = writer_commit_rec(w, NULL);
	queue_msg_abort(w); /* releases the slot and the reservation */
	if (err)
		return err;
	/* Programmed and read back: from here the message exists on flash
	 * (it is found after a reboot) so it goes into the index even if
	 * the sync fails; only the 250 depends on the sync. */
	struct queue_entry *e = msg_new(q, w->id);
	if (!e)
		return QUEUE_EFULL; /* cannot happen: reserved at open */
	entry_from_writer(e, w);
	e->flags = w->flags & F_BOUNCE;
	e->npending = w->nrcpt;
	q->live_bytes += w->phys;
	q->st.bytes_accepted += w->stream_len;
	if (id)
		*id = w->id;
	return 0;
}

int queue_sync(struct queue *q)
{
	return q ? port_flash_sync(q->flash) : QUEUE_EINVAL;
}

int queue_msg_commit(struct queue_writer *w, uint32_t *id)
{
	if (!w || w->slot < 0)
		return QUEUE_EINVAL;
	struct queue *q = w->q;
	int err = queue_msg_commit_nosync(w, id);
	return err ? err : queue_sync(q);
}

/* ---- delivery and console side ------------------------------------------------ */
int queue_next_due(const struct queue *q, uint64_t now, uint32_t *id)
{
	return queue_next_due_skip(q, now, NULL, NULL, id);
}

int queue_next_due_skip(const struct queue *q, uint64_t now, bool (*skip)(void *ctx, uint32_t id),
			void *ctx, uint32_t *id)
{
	const struct queue_entry *best = NULL;
	for (uint32_t i = 0; i < q->cfg.max_msgs; i++) {
		const struct queue_entry *e = &q->msgs[i];
		if (!e->used || (e->flags & F_HELD) || !e->npending || e->next_attempt > now)
			continue;
		if (skip && skip(ctx, e->id))
			continue;
		if (!best || e->next_attempt < best->next_attempt ||
		    (e->next_attempt == best->next_attempt && e->id < best->id))
			best = e;
	}
	if (!best)
		return QUEUE_ENOENT;
	*id = best->id;
	return 0;
}

int queue_msg_info(struct queue *q, uint32_t id, struct queue_msg_info *info)
{
	struct queue_entry *e = msg_find(q, id);
	if (!e)
		return QUEUE_ENOENT;
	memset(info, 0, sizeof(*info));
	info->id = id;
	info->size = e->stream_len - e->env_len;
	info->arrival = e->arrival;
	info->next_attempt = e->next_attempt;
	info->attempts = e->attempts;
	info->held = e->flags & F_HELD;
	info->bounce = e->flags & F_BOUNCE;
	info->nrcpt = e->nrcpt;
	info->npending = e->npending;
	for (unsigned i = 0; i < e->nrcpt; i++)
		info->rcpt_state[i] = (uint8_t)rcpt_get(e, i);
	uint32_t n = e->env_len < QUEUE_ADDR_MAX + 1 ? e->env_len : QUEUE_ADDR_MAX + 1;
	long r = stream_read(q, e, 0, (uint8_t *)info->sender, n);
	if (r < 0)
		return (int)r;
	info->sender[QUEUE_ADDR_MAX] = '\0';
	int err = read_reason(q, e->reason_off, info->reason, sizeof(info->reason));
	return err < 0 ? err : 0;
}

int queue_msg_rcpt(struct queue *q, uint32_t id, unsigned i, char *buf, size_t size)
{
	struct queue_entry *e = msg_find(q, id);
	if (!e)
		return QUEUE_ENOENT;
	if (i >= e->nrcpt || !buf || !size)
		return QUEUE_EINVAL;
	uint8_t c[64];
	unsigned field = 0; /* 0 is the sender */
	size_t out = 0;
	for (uint32_t soff = 0; soff < e->env_len;) {
		uint32_t want = e->env_len - soff < sizeof(c) ? e->env_len - soff : (uint32_t)sizeof(c);
		long n = stream_read(q, e, soff, c, want);
		if (n <= 0)
			return n < 0 ? (int)n : QUEUE_ECORRUPT;
		for (long k = 0; k < n; k++) {
			if (c[k] == '\0') {
				if (field == i + 1) {
					buf[out] = '\0';
					return 0;
				}
				field++;
			} else if (field == i + 1 && out + 1 < size) {
				buf[out++] = (char)c[k];
			}
		}
		soff += (uint32_t)n;
	}
	return QUEUE_ECORRUPT;
}

long queue_msg_read(struct queue *q, uint32_t id, uint32_t offset, void *buf, size_t len)
{
	struct queue_entry *e = msg_find(q, id);
	if (!e)
		return QUEUE_ENOENT;
	if (len && !buf)
		return QUEUE_EINVAL;
	if (offset >= e->stream_len - e->env_len)
		return 0;
	return stream_read(q, e, e->env_len + offset, buf, len);
}

int queue_rcpt_result(struct queue *q, uint32_t id, unsigned i, enum queue_rcpt_state result,
		      const char *reason, uint64_t next_attempt)
{
	struct queue_entry *e = msg_find(q, id);
	if (!e)
		return QUEUE_ENOENT;
	if (i >= e->nrcpt || result == QUEUE_RCPT_PENDING || result > QUEUE_RCPT_DEFERRED)
		return QUEUE_EINVAL;
	if (rcpt_get(e, i) != QUEUE_RCPT_PENDING)
		return QUEUE_EINVAL; /* already final: a relay bug, not a new fact */
	uint16_t attempts = e->attempts;
	uint64_t next = e->next_attempt;
	if (result == QUEUE_RCPT_DEFERRED) {
		if (attempts < UINT16_MAX)
			attempts++;
		next = next_attempt;
	}
	size_t rlen = reason ? strlen(reason) : 0;
	if (rlen > QUEUE_REASON_MAX)
		rlen = QUEUE_REASON_MAX; /* a reason is for humans: keep its start */
	uint8_t m[META_RESULT];
	result_meta(m, i, result, attempts, next);
	/* a final result changes neither attempts nor the next attempt */
	uint32_t mlen = result == QUEUE_RCPT_DEFERRED ? META_RESULT : META_RESULT_FINAL;
	uint32_t off;
	int err = write_small(q, REC_RESULT, id, m, mlen, reason, (uint32_t)rlen, &off);
	if (err)
		return err;
	e->attempts = attempts;
	e->next_attempt = next;
	if (rlen)
		e->reason_off = off;
	if (result != QUEUE_RCPT_DEFERRED)
		rcpt_set(e, i, result);
	e->npending = count_pending(e);
	if (!e->npending)
		msg_remove(q, e); /* the RESULT record is the tombstone */
	return 0;
}

static int msg_mark(struct queue *q, uint32_t id, uint8_t type)
{
	struct queue_entry *e = msg_find(q, id);
	if (!e)
		return QUEUE_ENOENT;
	int err = write_small(q, type, id, NULL, 0, NULL, 0, NULL);
	if (err)
		return err;
	if (type == REC_DELETE)
		msg_remove(q, e);
	else if (type == REC_HOLD)
		e->flags |= F_HELD;
	else
		e->flags &= (uint8_t)~F_HELD;
	return 0;
}

int queue_hold(struct queue *q, uint32_t id)
{
	return msg_mark(q, id, REC_HOLD);
}
int queue_release(struct queue *q, uint32_t id)
{
	return msg_mark(q, id, REC_RELEASE);
}
int queue_delete(struct queue *q, uint32_t id)
{
	return msg_mark(q, id, REC_DELETE);
}

int queue_expire(const struct queue *q, uint64_t now, uint64_t max_age,
		 void (*cb)(void *ctx, uint32_t id), void *ctx)
{
	int n = 0;
	for (uint32_t i = 0; i < q->cfg.max_msgs; i++) {
		const struct queue_entry *e = &q->msgs[i];
		if (e->used && e->npending && e->arrival + max_age <= now) {
			if (cb)
				cb(ctx, e->id);
			n++;
		}
	}
	return n;
}

int queue_list(const struct queue *q, void (*cb)(void *ctx, uint32_t id), void *ctx)
{
	int n = 0;
	for (uint32_t i = 0; i < q->cfg.max_msgs; i++)
		if (q->msgs[i].used) {
			if (cb)
				cb(ctx, q->msgs[i].id);
			n++;
		}
	return n;
}

void queue_stats(const struct queue *q, struct queue_stats *st)
{
	*st = q->st;
	st->msgs = q->nmsgs;
	st->max_msgs = q->cfg.max_msgs;
	st->bytes = q->live_bytes;
	st->max_bytes = q->cfg.max_bytes;
	st->blocks = q->nblocks;
	st->free_blocks = q->nblocks - q->ring_count;
	uint64_t sum = 0;
	st->erase_min = UINT32_MAX;
	st->erase_max = 0;
	for (uint32_t b = 0; b < q->nblocks; b++) {
		sum += q->bec[b];
		if (q->bec[b] < st->erase_min)
			st->erase_min = q->bec[b];
		if (q->bec[b] > st->erase_max)
			st->erase_max = q->bec[b];
	}
	st->erase_avg = (uint32_t)(sum / q->nblocks);
}
