/* fuzz_queue — libFuzzer target for the queue's boot scan over arbitrary
 * flash contents (firmware/queue/queue.c on board/host/flashsim.c in RAM).
 * Input: [geo][ops][flash image]; geo & 3 picks the program size (4, 1,
 * 16, 8 bytes) of a 6 x 4 KiB flash; the image fills the flash from
 * offset 0, the rest stays erased (0xFF). Then: queue_mount; every
 * message listed is read through queue_msg_info, queue_msg_rcpt and
 * queue_msg_read (in pieces of ops-derived size); stats, next_due and
 * expire. With ops bit 0: a new message is written and committed, a
 * result recorded on the oldest one (bit 1), the queue mounted again and
 * the new message must read back byte for byte. Checks, besides the
 * sanitizers (ASan sees every flash access: the RAM flash is one malloc):
 * mount returns 0 or a documented error; counts and strings within their
 * bounds; reads never return more than the message holds; list, stats
 * and info agree; a committed message survives a remount. Exports
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "fuzz_queue_rig.h"

#include "fuzz_check.h"


struct ids {
	uint32_t id[FQ_MAX_MSGS + 1];
	unsigned n;
	bool overflow;
};

static void list_cb(void *ctx, uint32_t id)
{
	struct ids *l = ctx;
	if (l->n < FQ_MAX_MSGS)
		l->id[l->n++] = id;
	else
		l->overflow = true;
}

static void expire_cb(void *ctx, uint32_t id)
{
	(void)ctx;
	(void)id;
}

static bool mount_err_ok(int r)
{
	return r == 0 || r == QUEUE_EIO || r == QUEUE_ECORRUPT || r == QUEUE_ENOMEM ||
	       r == QUEUE_EINVAL || r == QUEUE_EFULL || r < -100 /* PORT_E* */;
}

/* Reads every message; returns how many read back completely. */
static unsigned walk(struct queue *q, size_t piece)
{
	static struct queue_msg_info info;
	static uint8_t buf[FQ_SIZE];
	struct ids l = { .n = 0 };
	int n = queue_list(q, list_cb, &l);
	check(!l.overflow && n >= 0 && (unsigned)n == l.n);
	struct queue_stats st;
	queue_stats(q, &st);
	check(st.msgs == l.n && st.msgs <= st.max_msgs && st.blocks == FQ_BLOCKS);
	check(st.free_blocks <= st.blocks);
	/* no duplicates (queue.h says "id order", queue_list gives index
	 * slot order: reported to the queue owner, not checked here) */
	for (unsigned i = 0; i < l.n; i++)
		for (unsigned k = i + 1; k < l.n; k++)
			check(l.id[i] != l.id[k]);
	unsigned good = 0;
	for (unsigned i = 0; i < l.n; i++) {
		memset(&info, 0x5A, sizeof(info));
		int r = queue_msg_info(q, l.id[i], &info);
		if (r != 0) {
			check(r < 0);
			continue;
		}
		check(info.id == l.id[i]);
		check(info.nrcpt >= 1 && info.nrcpt <= QUEUE_MAX_RCPT && info.npending <= info.nrcpt);
		check(memchr(info.sender, '\0', sizeof(info.sender)) != NULL);
		check(memchr(info.reason, '\0', sizeof(info.reason)) != NULL);
		check(info.size <= FQ_SIZE);
		unsigned pending = 0;
		for (unsigned k = 0; k < info.nrcpt; k++) {
			check(info.rcpt_state[k] <= QUEUE_RCPT_FAILED);
			pending += info.rcpt_state[k] == QUEUE_RCPT_PENDING;
		}
		check(pending == info.npending);
		for (unsigned k = 0; k <= info.nrcpt; k++) {
			char rc[QUEUE_ADDR_MAX + 1];
			memset(rc, 'X', sizeof(rc));
			r = queue_msg_rcpt(q, l.id[i], k, rc, sizeof(rc));
			if (k == info.nrcpt)
				check(r != 0);
			else if (r == 0)
				check(memchr(rc, '\0', sizeof(rc)) != NULL);
		}
		uint32_t off = 0;
		for (;;) {
			long got = queue_msg_read(q, l.id[i], off, buf + off, piece);
			if (got < 0)
				break;
			check((size_t)got <= piece);
			if (got == 0) {
				check(off == info.size);
				good++;
				break;
			}
			off += (uint32_t)got;
			check(off <= info.size);
		}
	}
	uint32_t due;
	if (queue_next_due(q, UINT64_MAX / 2, &due) == 0)
		check(due > 0 || l.n > 0);
	(void)queue_expire(q, UINT64_MAX / 2, 1, expire_cb, NULL);
	return good;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fq_rig rig;
	static struct queue_writer w;
	static uint8_t body[600], back[600];
	if (size < 2)
		return 0;
	uint8_t geo = data[0], ops = data[1];
	struct flashsim *fs = fq_flash(&rig, geo);
	uint8_t *raw = flashsim_raw(fs);
	size_t n = size - 2 < FQ_SIZE ? size - 2 : FQ_SIZE;
	memcpy(raw, data + 2, n);
	memset(raw + n, 0xFF, FQ_SIZE - n);
	size_t piece = 1 + (size_t)(ops >> 2) * 37;

	memset(&rig.q, 0xA5, sizeof(rig.q)); /* nothing may survive in RAM */
	int r = queue_mount(&rig.q, &rig.cfg);
	check(mount_err_ok(r));
	if (r != 0)
		return 0;
	walk(&rig.q, piece);
	if (!(ops & 1))
		return 0;

	/* a write after mount, then a remount: the new message is intact */
	struct ids l = { .n = 0 };
	queue_list(&rig.q, list_cb, &l);
	if ((ops & 2) && l.n > 0)
		(void)queue_rcpt_result(&rig.q, l.id[0], 0, QUEUE_RCPT_DEFERRED, "451 4.3.0 fuzz",
					2000000000u);
	static const char *const rcpts[] = { "rcpt@example.net", "two@example.org" };
	uint32_t blen = 100 + (uint32_t)(ops >> 2) * 7;
	for (uint32_t i = 0; i < blen; i++)
		body[i] = (uint8_t)(i * 31 + ops);
	if (queue_msg_begin(&rig.q, &w, "fuzz@example.com", rcpts, 2, 0, blen, 1700000000u) != 0)
		return 0;
	uint32_t id;
	if (queue_msg_write(&w, body, blen) != 0) {
		queue_msg_abort(&w);
		return 0;
	}
	if (queue_msg_commit(&w, &id) != 0)
		return 0; /* closed whatever the result */
	memset(&rig.q, 0xA5, sizeof(rig.q));
	check(queue_mount(&rig.q, &rig.cfg) == 0);
	static struct queue_msg_info info;
	check(queue_msg_info(&rig.q, id, &info) == 0);
	check(info.size == blen && info.nrcpt == 2 && strcmp(info.sender, "fuzz@example.com") == 0);
	uint32_t off = 0;
	long got;
	while ((got = queue_msg_read(&rig.q, id, off, back + off, sizeof(back) - off)) > 0)
		off += (uint32_t)got;
	check(got == 0 && off == blen);
	check(memcmp(back, body, blen) == 0);
	walk(&rig.q, piece);
	return 0;
}
