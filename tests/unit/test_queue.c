/* test_queue — the message queue on simulated NOR flash: messages come
 * back byte-identical across reboots on every geometry, results, holds,
 * expiry and deletion persist, limits answer 452/552 instead of dropping,
 * reclaim relocates long-lived messages and spreads wear, random
 * corruption of the flash never crashes the boot scan or the readers, and
 * a flash written by format 1 firmware (the v1-* fuzz seeds) is read and
 * rewritten by reclaim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "queue/queue.h"
#include "../../board/host/flashsim.h"

#define MAX_MSGS 64

struct rig {
	struct flashsim *fs;
	struct queue q;
	struct queue_config cfg;
	_Alignas(8) uint8_t index[64 * 1024];
};

static struct rig *rig_open(uint32_t blocks, uint32_t erase_size, uint32_t program_size,
			    uint32_t max_msg_size)
{
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct flashsim_config fc = { .size = blocks * erase_size, .erase_size = erase_size,
				      .program_size = program_size, .name = "queue" };
	assert_int_equal(flashsim_open(&r->fs, &fc), 0);
	r->cfg = (struct queue_config){ .flash = flashsim_flash(r->fs),
					.max_msgs = MAX_MSGS,
					.max_msg_size = max_msg_size,
					.index_buf = r->index,
					.index_buf_size = sizeof(r->index) };
	assert_true(queue_index_size(r->cfg.flash, MAX_MSGS) <= sizeof(r->index));
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
	return r;
}

static void rig_reboot(struct rig *r)
{
	flashsim_power_on(r->fs);
	memset(&r->q, 0xA5, sizeof(r->q)); /* nothing may survive in RAM */
	assert_int_equal(queue_mount(&r->q, &r->cfg), 0);
}

static void rig_close(struct rig *r)
{
	flashsim_close(r->fs);
	free(r);
}

static uint8_t content_byte(uint32_t seed, uint32_t j)
{
	return (uint8_t)(seed * 131u + j * 7u + (j >> 8) + (j >> 16));
}

/* Accepts a message of len content bytes written in uneven pieces. */
static int put_msg(struct queue *q, uint32_t seed, uint32_t len, unsigned nrcpt, unsigned flags,
		   uint32_t *id)
{
	static const char *const rc[] = { "a@example.org", "bb@example.net", "c@x.test",
					   "d@example.com", "e@example.com" };
	struct queue_writer w;
	int err = queue_msg_begin(q, &w, "sender@example.com", rc, nrcpt, flags, 0, 1000 + seed);
	if (err)
		return err;
	uint8_t buf[777];
	for (uint32_t off = 0; off < len;) {
		uint32_t n = len - off < sizeof(buf) - seed % 100 ? len - off
								 : (uint32_t)sizeof(buf) - seed % 100;
		for (uint32_t j = 0; j < n; j++)
			buf[j] = content_byte(seed, off + j);
		err = queue_msg_write(&w, buf, n);
		if (err) {
			int cerr = queue_msg_commit(&w, id);
			assert_int_equal(cerr, err); /* sticky: commit reports it */
			return err;
		}
		off += n;
	}
	return queue_msg_commit(&w, id);
}

static void check_msg(struct queue *q, uint32_t id, uint32_t seed, uint32_t len)
{
	uint8_t buf[500];
	uint32_t off = 0;
	for (;;) {
		long n = queue_msg_read(q, id, off, buf, sizeof(buf) - off % 7);
		assert_true(n >= 0);
		if (n == 0)
			break;
		for (long j = 0; j < n; j++)
			assert_int_equal(buf[j], content_byte(seed, off + (uint32_t)j));
		off += (uint32_t)n;
	}
	assert_int_equal(off, len);
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(q, id, &info), 0);
	assert_int_equal(info.size, len);
	assert_string_equal(info.sender, "sender@example.com");
}

static void message_survives_reboot_on_every_geometry(void **state)
{
	(void)state;
	static const uint32_t geo[][3] = { { 16, 4096, 1 }, { 16, 4096, 2 },  { 16, 4096, 4 },
					   { 8, 8192, 8 },  { 8, 8192, 16 },  { 6, 12288, 3 },
					   { 6, 65536, 16 } };
	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct rig *r = rig_open(geo[g][0], geo[g][1], geo[g][2], 4096);
		uint32_t ids[3];
		assert_int_equal(put_msg(&r->q, 1, 0, 1, 0, &ids[0]), 0);
		assert_int_equal(put_msg(&r->q, 2, 3000, 3, 0, &ids[1]), 0);
		assert_int_equal(put_msg(&r->q, 3, 1, 5, 0, &ids[2]), 0);
		for (int boot = 0; boot < 2; boot++) {
			check_msg(&r->q, ids[0], 1, 0);
			check_msg(&r->q, ids[1], 2, 3000);
			check_msg(&r->q, ids[2], 3, 1);
			char rcpt[QUEUE_ADDR_MAX + 1];
			assert_int_equal(queue_msg_rcpt(&r->q, ids[1], 1, rcpt, sizeof(rcpt)), 0);
			assert_string_equal(rcpt, "bb@example.net");
			assert_int_equal(queue_msg_rcpt(&r->q, ids[2], 4, rcpt, sizeof(rcpt)), 0);
			assert_string_equal(rcpt, "e@example.com");
			assert_int_equal(queue_msg_rcpt(&r->q, ids[2], 5, rcpt, sizeof(rcpt)),
					 QUEUE_EINVAL);
			struct queue_stats st;
			queue_stats(&r->q, &st);
			assert_int_equal(st.msgs, 3);
			assert_int_equal(queue_list(&r->q, NULL, NULL), 3);
			rig_reboot(r);
		}
		/* ids keep growing across reboots */
		uint32_t id4;
		assert_int_equal(put_msg(&r->q, 4, 10, 1, 0, &id4), 0);
		assert_true(id4 > ids[2]);
		rig_close(r);
	}
}

static void uncommitted_message_is_invisible(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 4096);
	const char *rc[] = { "x@example.org" };
	struct queue_writer w;
	assert_int_equal(queue_msg_begin(&r->q, &w, "", rc, 1, 0, 0, 5), 0);
	uint8_t big[3000];
	memset(big, 'x', sizeof(big));
	assert_int_equal(queue_msg_write(&w, big, sizeof(big)), 0); /* a record is on flash */
	rig_reboot(r);						    /* no commit */
	assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
	assert_int_equal(queue_msg_begin(&r->q, &w, "", rc, 1, 0, 0, 5), 0);
	assert_int_equal(queue_msg_write(&w, big, 100), 0);
	queue_msg_abort(&w);
	assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
	rig_reboot(r);
	assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
	rig_close(r);
}

static void results_holds_and_due_times_persist(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 4096);
	uint32_t a, b, id;
	assert_int_equal(put_msg(&r->q, 10, 500, 3, 0, &a), 0);
	assert_int_equal(put_msg(&r->q, 11, 500, 1, 0, &b), 0);
	assert_int_equal(queue_next_due(&r->q, 0, &id), 0);
	assert_int_equal(id, a);
	assert_int_equal(queue_rcpt_result(&r->q, a, 0, QUEUE_RCPT_DELIVERED, "250 ok", 0), 0);
	assert_int_equal(queue_rcpt_result(&r->q, a, 1, QUEUE_RCPT_DEFERRED,
					   "451 4.7.5 TLSA mismatch", 600), 0);
	assert_int_equal(queue_rcpt_result(&r->q, a, 0, QUEUE_RCPT_FAILED, "x", 0), QUEUE_EINVAL);
	assert_int_equal(queue_hold(&r->q, b), 0);
	for (int boot = 0; boot < 2; boot++) {
		assert_int_equal(queue_next_due(&r->q, 599, &id), QUEUE_ENOENT); /* b held */
		assert_int_equal(queue_next_due(&r->q, 600, &id), 0);
		assert_int_equal(id, a);
		struct queue_msg_info info;
		assert_int_equal(queue_msg_info(&r->q, a, &info), 0);
		assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_DELIVERED);
		assert_int_equal(info.rcpt_state[1], QUEUE_RCPT_PENDING);
		assert_int_equal(info.rcpt_state[2], QUEUE_RCPT_PENDING);
		assert_int_equal(info.attempts, 1);
		assert_int_equal(info.next_attempt, 600);
		assert_int_equal(info.npending, 2);
		assert_string_equal(info.reason, "451 4.7.5 TLSA mismatch");
		assert_int_equal(queue_msg_info(&r->q, b, &info), 0);
		assert_true(info.held);
		rig_reboot(r);
	}
	assert_int_equal(queue_release(&r->q, b), 0);
	assert_int_equal(queue_next_due(&r->q, 0, &id), 0);
	assert_int_equal(id, b);
	/* expiry reports the old message; the relay bounces and fails it */
	uint32_t seen[4];
	int n = 0;
	struct {
		uint32_t *seen;
		int *n;
	} ctx = { seen, &n };
	(void)ctx;
	assert_int_equal(queue_expire(&r->q, 1000 + 10 + 50, 50, NULL, NULL), 1);
	assert_int_equal(queue_rcpt_result(&r->q, a, 1, QUEUE_RCPT_FAILED, "expired", 0), 0);
	assert_int_equal(queue_rcpt_result(&r->q, a, 2, QUEUE_RCPT_DELIVERED, NULL, 0), 0);
	assert_int_equal(queue_msg_info(&r->q, a, &(struct queue_msg_info){ 0 }), QUEUE_ENOENT);
	assert_int_equal(queue_delete(&r->q, b), 0);
	assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
	rig_reboot(r);
	assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
	rig_close(r);
}

static void limits_answer_instead_of_dropping(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 2048);
	uint32_t id;
	assert_int_equal(queue_can_accept(&r->q, 5000, 0), QUEUE_ETOOBIG);
	assert_int_equal(put_msg(&r->q, 1, 2100, 1, 0, &id), QUEUE_ETOOBIG);
	/* fill with kept messages until the queue says 452 */
	int accepted = 0, err;
	while ((err = put_msg(&r->q, (uint32_t)accepted + 20, 1500, 1, 0, &id)) == 0)
		accepted++;
	assert_int_equal(err, QUEUE_EFULL);
	assert_true(accepted >= 3);
	assert_int_equal(queue_can_accept(&r->q, 1500, 0), QUEUE_EFULL);
	/* the bounce reserve still takes a small DSN */
	assert_int_equal(put_msg(&r->q, 99, 200, 1, QUEUE_F_BOUNCE, &id), 0);
	struct queue_stats st;
	queue_stats(&r->q, &st);
	assert_true(st.bytes <= st.max_bytes);
	assert_int_equal(st.msgs, (uint32_t)accepted + 1);
	rig_reboot(r);
	assert_int_equal(queue_list(&r->q, NULL, NULL), accepted + 1);
	for (int i = 0; i < accepted; i++)
		check_msg(&r->q, (uint32_t)i + 2, (uint32_t)i + 20, 1500);
	rig_close(r);
}

static void reclaim_moves_long_lived_messages_and_levels_wear(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 2048);
	uint32_t keep;
	assert_int_equal(put_msg(&r->q, 7, 1800, 2, 0, &keep), 0);
	assert_int_equal(queue_hold(&r->q, keep), 0);
	assert_int_equal(queue_rcpt_result(&r->q, keep, 1, QUEUE_RCPT_DEFERRED, "busy", 77), 0);
	uint32_t relocations = 0, reclaims = 0;
	struct queue_stats st;
	for (uint32_t i = 0; i < 300; i++) {
		uint32_t id;
		assert_int_equal(put_msg(&r->q, 100 + i, 200 + (i * 97) % 1700, 1, 0, &id), 0);
		if (i % 50 == 49) {
			queue_stats(&r->q, &st); /* counters are per mount */
			relocations += st.relocations;
			reclaims += st.reclaims;
			rig_reboot(r);
		}
		check_msg(&r->q, id, 100 + i, 200 + (i * 97) % 1700);
		assert_int_equal(queue_rcpt_result(&r->q, id, 0, QUEUE_RCPT_DELIVERED, NULL, 0), 0);
	}
	queue_stats(&r->q, &st);
	relocations += st.relocations;
	reclaims += st.reclaims;
	/* the kept message sat in the tail block again and again */
	assert_true(relocations >= 10);
	assert_true(reclaims >= 50);
	check_msg(&r->q, keep, 7, 1800);
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(&r->q, keep, &info), 0);
	assert_true(info.held);
	assert_string_equal(info.reason, "busy");
	assert_int_equal(info.next_attempt, 77);
	/* every block took its share of erases */
	uint32_t mn = UINT32_MAX, mx = 0;
	for (uint32_t b = 0; b < 8; b++) {
		uint32_t c = flashsim_erase_count(r->fs, b);
		mn = c < mn ? c : mn;
		mx = c > mx ? c : mx;
	}
	print_message("erase counts min %u max %u, relocations %u, reclaims %u\n", mn, mx,
		      relocations, reclaims);
	/* and the queue's own counts (slot A) agree with the device's */
	rig_reboot(r);
	queue_stats(&r->q, &st);
	assert_int_equal(st.erase_min, mn);
	assert_int_equal(st.erase_max, mx);
	assert_true(mn > 0 && mx <= 2 * mn + 2);
	rig_reboot(r);
	check_msg(&r->q, keep, 7, 1800);
	assert_int_equal(queue_list(&r->q, NULL, NULL), 1);
	rig_close(r);
}

/* Every boot opens a fresh head block. On a new chip (blocks never
 * formatted) the unused blocks must take their share: before, an
 * unformatted block counted as the most worn block seen, so the same
 * few blocks were erased once per boot while most were never used (found
 * by the kill-and-restart soak). */
static void boots_on_a_new_chip_spread_wear(void **state)
{
	(void)state;
	struct rig *r = rig_open(32, 4096, 4, 2048);
	for (uint32_t boot = 0; boot < 40; boot++) {
		uint32_t id;
		assert_int_equal(put_msg(&r->q, boot, 300, 1, 0, &id), 0);
		assert_int_equal(queue_delete(&r->q, id), 0);
		rig_reboot(r);
	}
	struct queue_stats st;
	queue_stats(&r->q, &st);
	print_message("40 boots on 32 blocks: erase counts min %lu max %lu\n",
		      (unsigned long)st.erase_min, (unsigned long)st.erase_max);
	/* 40+ block openings over 32 blocks: levelled, nobody above 3 */
	assert_true(st.erase_max <= 3);
	assert_true(st.erase_min >= 1);
	rig_close(r);
}

static void random_corruption_never_crashes_the_scan(void **state)
{
	(void)state;
	srand(12345);
	for (int round = 0; round < 300; round++) {
		struct rig *r = rig_open(8, 4096, 4, 2048);
		uint32_t id;
		for (uint32_t i = 0; i < 8; i++)
			(void)put_msg(&r->q, i, 300 + i * 150, 1 + i % 3, 0, &id);
		(void)queue_rcpt_result(&r->q, 2, 0, QUEUE_RCPT_DEFERRED, "later", 9);
		uint8_t *raw = flashsim_raw(r->fs);
		int hits = 1 + rand() % 20;
		for (int k = 0; k < hits; k++) {
			uint32_t at = (uint32_t)rand() % (8 * 4096);
			if (round % 3 == 0)
				raw[at] ^= (uint8_t)(1u << (rand() % 8)); /* a bit flip */
			else if (round % 3 == 1)
				raw[at] = (uint8_t)rand(); /* a byte of junk */
			else
				memset(raw + (at & ~63u), rand() & 1 ? 0x00 : 0xFF, 64);
		}
		flashsim_power_on(r->fs);
		memset(&r->q, 0, sizeof(r->q));
		if (queue_mount(&r->q, &r->cfg) != 0) {
			rig_close(r);
			continue;
		}
		/* whatever survived can be listed, inspected and read */
		for (uint32_t m = 0; m < 12; m++) {
			struct queue_msg_info info;
			uint8_t buf[256];
			char a[QUEUE_ADDR_MAX + 1];
			(void)queue_msg_info(&r->q, m, &info);
			(void)queue_msg_rcpt(&r->q, m, 0, a, sizeof(a));
			for (uint32_t off = 0; off < 3000; off += 256)
				if (queue_msg_read(&r->q, m, off, buf, sizeof(buf)) <= 0)
					break;
		}
		(void)put_msg(&r->q, 55, 1000, 1, 0, &id); /* and writing goes on */
		rig_close(r);
	}
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 2048);
	struct queue_writer w;
	const char *none[] = { "" };
	const char *one[] = { "a@b" };
	char longaddr[QUEUE_ADDR_MAX + 2];
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	const char *toolong[] = { longaddr };
	assert_int_equal(queue_msg_begin(&r->q, &w, "", one, 0, 0, 0, 0), QUEUE_EINVAL);
	assert_int_equal(queue_msg_begin(&r->q, &w, "", none, 1, 0, 0, 0), QUEUE_EINVAL);
	assert_int_equal(queue_msg_begin(&r->q, &w, "", toolong, 1, 0, 0, 0), QUEUE_EINVAL);
	assert_int_equal(queue_msg_begin(&r->q, &w, longaddr, one, 1, 0, 0, 0), QUEUE_EINVAL);
	assert_int_equal(queue_rcpt_result(&r->q, 42, 0, QUEUE_RCPT_DELIVERED, NULL, 0),
			 QUEUE_ENOENT);
	struct queue q2;
	struct queue_config c2 = r->cfg;
	c2.index_buf_size = 100;
	assert_int_equal(queue_mount(&q2, &c2), QUEUE_ENOMEM);
	c2 = r->cfg;
	c2.max_msg_size = 64 * 1024; /* cannot be relocated on 8 x 4 KiB */
	assert_int_equal(queue_mount(&q2, &c2), QUEUE_EINVAL);
	/* too many writers at once: 451, not a crash */
	static struct queue_writer ws[QUEUE_MAX_WRITERS + 1];
	for (int i = 0; i < QUEUE_MAX_WRITERS; i++)
		assert_int_equal(queue_msg_begin(&r->q, &ws[i], "", one, 1, 0, 0, 0), 0);
	assert_int_equal(queue_msg_begin(&r->q, &ws[QUEUE_MAX_WRITERS], "", one, 1, 0, 0, 0),
			 QUEUE_EBUSY);
	for (int i = 0; i < QUEUE_MAX_WRITERS; i++)
		queue_msg_abort(&ws[i]);
	rig_close(r);
}

static void interleaved_writers_keep_their_own_content(void **state)
{
	(void)state;
	struct rig *r = rig_open(16, 4096, 4, 4096);
	const char *rc[] = { "r@example.org" };
	struct queue_writer w[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(queue_msg_begin(&r->q, &w[i], "s@x", rc, 1, 0, 0, 1), 0);
	uint8_t buf[100];
	for (uint32_t off = 0; off < 3000; off += 100)
		for (uint32_t i = 0; i < 3; i++) {
			for (uint32_t j = 0; j < 100; j++)
				buf[j] = content_byte(i, off + j);
			assert_int_equal(queue_msg_write(&w[i], buf, 100), 0);
		}
	uint32_t ids[3];
	for (int i = 2; i >= 0; i--)
		assert_int_equal(queue_msg_commit(&w[i], &ids[i]), 0);
	rig_reboot(r);
	for (uint32_t i = 0; i < 3; i++) {
		uint8_t b[3000];
		uint32_t got = 0;
		long n;
		while ((n = queue_msg_read(&r->q, ids[i], got, b + got, sizeof(b) - got)) > 0)
			got += (uint32_t)n;
		assert_int_equal(got, 3000);
		for (uint32_t j = 0; j < 3000; j++)
			assert_int_equal(b[j], content_byte(i, j));
	}
	rig_close(r);
}

static void full_without_size_answers_at_end_of_data(void **state)
{
	(void)state;
	struct rig *r = rig_open(8, 4096, 4, 2048);
	uint32_t id;
	int n = 0;
	while (put_msg(&r->q, (uint32_t)n + 1, 1900, 1, 0, &id) == 0)
		n++;
	/* room for a small message still: MAIL without SIZE= is accepted */
	struct queue_stats st;
	queue_stats(&r->q, &st);
	const char *rc[] = { "x@example.org" };
	struct queue_writer w;
	int err = queue_msg_begin(&r->q, &w, "s@example.com", rc, 1, 0, 0, 9);
	if (err == 0) {
		uint8_t big[1900];
		memset(big, 'y', sizeof(big));
		err = queue_msg_write(&w, big, sizeof(big));
		assert_int_equal(err, QUEUE_EFULL);
		/* sticky: the server keeps reading DATA, then answers 452 */
		assert_int_equal(queue_msg_write(&w, big, 10), QUEUE_EFULL);
		assert_int_equal(queue_msg_commit(&w, &id), QUEUE_EFULL);
	} else {
		assert_int_equal(err, QUEUE_EFULL);
	}
	/* with SIZE= the answer comes at MAIL already */
	assert_int_equal(queue_can_accept(&r->q, 1900, 0), QUEUE_EFULL);
	rig_reboot(r);
	assert_int_equal(queue_list(&r->q, NULL, NULL), n); /* nothing half-taken */
	rig_close(r);
}

static void slow_writer_case(uint32_t others)
{
	struct rig *r = rig_open(8, 4096, 4, 2048);
	const char *rc[] = { "slow@example.org" };
	struct queue_writer slow;
	assert_int_equal(queue_msg_begin(&r->q, &slow, "s@x", rc, 1, 0, 0, 1), 0);
	uint8_t buf[1000];
	for (uint32_t j = 0; j < sizeof(buf); j++)
		buf[j] = content_byte(500, j);
	assert_int_equal(queue_msg_write(&slow, buf, sizeof(buf)), 0);
	assert_int_equal(queue_msg_write(&slow, buf, 936), 0); /* a record is on flash */
	/* other sessions come and go while this one is slow */
	int accepted = 0;
	for (uint32_t i = 0; i < others; i++) {
		uint32_t id;
		int err = put_msg(&r->q, 600 + i, 1500, 1, 0, &id);
		if (err) {
			assert_int_equal(err, QUEUE_EFULL); /* the pinned block: 452, no harm */
			continue;
		}
		accepted++;
		assert_int_equal(queue_rcpt_result(&r->q, id, 0, QUEUE_RCPT_DELIVERED, NULL, 0), 0);
	}
	assert_true(accepted >= 3);
	/* The slow message either made it or hears 452 itself when the
	 * reserve is needed for reclaim: never a silent loss. */
	uint32_t sid;
	int cerr = queue_msg_commit(&slow, &sid);
	assert_true(cerr == 0 || cerr == QUEUE_EFULL);
	if (others == 5)
		assert_int_equal(cerr, 0);
	/* once it is committed or gone, reclaim moves on and traffic flows */
	for (uint32_t i = 0; i < 40; i++) {
		uint32_t id;
		assert_int_equal(put_msg(&r->q, 700 + i, 1500, 1, 0, &id), 0);
		assert_int_equal(queue_rcpt_result(&r->q, id, 0, QUEUE_RCPT_DELIVERED, NULL, 0), 0);
	}
	rig_reboot(r);
	if (cerr) {
		assert_int_equal(queue_list(&r->q, NULL, NULL), 0);
		rig_close(r);
		return;
	}
	uint8_t got[1936];
	uint32_t off = 0;
	long n;
	while ((n = queue_msg_read(&r->q, sid, off, got + off, sizeof(got) - off)) > 0)
		off += (uint32_t)n;
	assert_int_equal(off, 1936);
	for (uint32_t j = 0; j < 1936; j++)
		assert_int_equal(got[j], content_byte(500, j % 1000));
	rig_close(r);
}

/* A session stalls in DATA with its first record in the oldest block:
 * reclaim cannot free that block until it ends. With a few others it
 * commits; with many, the pool runs down and it hears 452 like them. */
static void writer_in_the_oldest_block_holds_reclaim_back(void **state)
{
	(void)state;
	for (uint32_t others = 5; others <= 40; others += 35)
		slow_writer_case(others);
}

/* Random traffic against a model, with reboots: nothing lost, nothing
 * jams (after draining, a largest message always fits). */
static void random_traffic_with_reboots_matches_the_model(void **state)
{
	(void)state;
	static const uint32_t geo[][2] = { { 8, 4 }, { 12, 1 }, { 8, 16 } };
	for (size_t g = 0; g < 3; g++) {
		struct rig *r = rig_open(geo[g][0], 4096, geo[g][1], 2048);
		struct mm {
			uint32_t id, seed, len;
			bool live;
		} m[400];
		int nm = 0;
		srand(777 + (unsigned)g);
		for (int step = 0; step < 1500; step++) {
			int op = rand() % 10;
			if (op < 4 && nm < 400) {
				uint32_t len = (uint32_t)rand() % 1900, id;
				int err = put_msg(&r->q, (uint32_t)step, len, 1 + (unsigned)rand() % 3, 0, &id);
				if (err == 0)
					m[nm++] = (struct mm){ id, (uint32_t)step, len, true };
				else
					assert_int_equal(err, QUEUE_EFULL);
			} else if (op < 8 && nm) {
				int k = rand() % nm;
				if (!m[k].live)
					continue;
				struct queue_msg_info info;
				assert_int_equal(queue_msg_info(&r->q, m[k].id, &info), 0);
				for (unsigned i = 0; i < info.nrcpt; i++) {
					if (info.rcpt_state[i] != QUEUE_RCPT_PENDING)
						continue;
					int how = rand() % 3;
					enum queue_rcpt_state res = how == 0   ? QUEUE_RCPT_DEFERRED
								    : how == 1 ? QUEUE_RCPT_DELIVERED
									       : QUEUE_RCPT_FAILED;
					assert_int_equal(queue_rcpt_result(&r->q, m[k].id, i, res, "r",
									   (uint64_t)step),
							 0);
				}
				m[k].live = queue_msg_info(&r->q, m[k].id, &info) == 0;
			} else if (op == 8 && nm) {
				int k = rand() % nm;
				if (m[k].live && rand() % 2) {
					assert_int_equal(queue_delete(&r->q, m[k].id), 0);
					m[k].live = false;
				} else if (m[k].live) {
					assert_int_equal(queue_hold(&r->q, m[k].id), 0);
				}
			} else {
				rig_reboot(r);
			}
			if (step % 100 == 99) {
				int live = 0;
				for (int k = 0; k < nm; k++)
					if (m[k].live) {
						check_msg(&r->q, m[k].id, m[k].seed, m[k].len);
						live++;
					}
				assert_int_equal(queue_list(&r->q, NULL, NULL), live);
			}
		}
		for (int k = 0; k < nm; k++)
			if (m[k].live)
				assert_int_equal(queue_delete(&r->q, m[k].id), 0);
		uint32_t id;
		for (int i = 0; i < 10; i++) {
			assert_int_equal(put_msg(&r->q, 4242, 2048 - 60, 1, 0, &id), 0);
			assert_int_equal(queue_rcpt_result(&r->q, id, 0, QUEUE_RCPT_DELIVERED, NULL, 0),
					 0);
		}
		rig_close(r);
	}
}


/* ---- format 1 (older firmware) flash: read as it is, rewritten by reclaim.
 * The images are the fuzz seeds tests/fuzz/seeds/queue/v1-* written by the
 * format 1 queue (tests/fuzz/gen/queue_seedgen.c at that version): a byte
 * of geometry, a byte of fuzz ops, then the flash image, 6 x 4 KiB. */
static size_t load_v1(const char *name, uint8_t *img, size_t size, uint8_t *geo)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/fuzz/seeds/queue/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(path, sizeof(path), "../../tests/fuzz/seeds/queue/%s", name);
		f = fopen(path, "rb");
	}
	if (!f)
		fail_msg("cannot open %s", name);
	uint8_t hdr[2];
	assert_int_equal(fread(hdr, 1, 2, f), 2);
	size_t n = fread(img, 1, size, f);
	fclose(f);
	*geo = hdr[0];
	return n;
}

/* The seed generator's content and envelope (queue_seedgen.c put()). */
static void check_seed_msg(struct queue *q, uint32_t id, uint32_t seed, uint32_t len,
			   unsigned nrcpt)
{
	static const char *const rc[] = { "a@example.org", "bb@example.net", "c@x.test" };
	static const char pat[] = "Subject: seed\r\n\r\nhello\r\n";
	uint8_t buf[700];
	assert_int_equal(queue_msg_read(q, id, 0, buf, sizeof(buf)), len);
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(buf[i], (uint8_t)(pat[i % 24] + seed));
	struct queue_msg_info info;
	assert_int_equal(queue_msg_info(q, id, &info), 0);
	assert_int_equal(info.nrcpt, nrcpt);
	assert_string_equal(info.sender, seed & 1 ? "" : "sender@example.com");
	char a[QUEUE_ADDR_MAX + 1];
	for (unsigned i = 0; i < nrcpt; i++) {
		assert_int_equal(queue_msg_rcpt(q, id, i, a, sizeof(a)), 0);
		assert_string_equal(a, rc[i]);
	}
}

static void format1_flash_is_read_and_rewritten(void **state)
{
	(void)state;
	static const uint32_t psz[4] = { 4, 1, 16, 8 };
	static uint8_t img[6 * 4096];
	uint8_t geo;
	/* three messages, program units 4, 1 and 16 (format 1 headers 24, 24, 32) */
	static const char *const three[] = { "v1-three-msgs-p4", "v1-three-msgs-p1",
					     "v1-three-msgs-p16" };
	for (unsigned t = 0; t < 3; t++) {
		size_t n = load_v1(three[t], img, sizeof(img), &geo);
		struct rig *r = rig_open(6, 4096, psz[geo & 3], 1024);
		memcpy(flashsim_raw(r->fs), img, n);
		rig_reboot(r);
		struct queue_stats st;
		queue_stats(&r->q, &st);
		assert_true(st.v1_blocks >= 1);
		assert_int_equal(st.msgs, 3);
		check_seed_msg(&r->q, 1, 1, 300, 2);
		check_seed_msg(&r->q, 2, 2, 600, 1);
		check_seed_msg(&r->q, 3, 3, 40, 3);
		rig_close(r);
	}
	/* results, a reason and a hold; then enough traffic that reclaim
	 * moves both messages out of the format 1 blocks */
	size_t n = load_v1("v1-results-hold", img, sizeof(img), &geo);
	struct rig *r = rig_open(6, 4096, psz[geo & 3], 1024);
	memcpy(flashsim_raw(r->fs), img, n);
	rig_reboot(r);
	struct queue_msg_info info;
	for (int round = 0; round < 2; round++) {
		check_seed_msg(&r->q, 1, 4, 200, 3);
		check_seed_msg(&r->q, 2, 5, 500, 2);
		assert_int_equal(queue_msg_info(&r->q, 1, &info), 0);
		assert_int_equal(info.rcpt_state[0], QUEUE_RCPT_DELIVERED);
		assert_int_equal(info.rcpt_state[1], QUEUE_RCPT_PENDING);
		assert_int_equal(info.attempts, 1);
		assert_int_equal(info.next_attempt, 1700003600u);
		assert_string_equal(info.reason, "451 4.7.5 TLSA mismatch");
		assert_false(info.held);
		assert_int_equal(queue_msg_info(&r->q, 2, &info), 0);
		assert_true(info.held);
		if (round == 1)
			break;
		uint32_t id;
		for (uint32_t k = 0; k < 30; k++) {
			assert_int_equal(put_msg(&r->q, 100 + k, 600, 1, 0, &id), 0);
			assert_int_equal(queue_rcpt_result(&r->q, id, 0, QUEUE_RCPT_DELIVERED, NULL, 0), 0);
		}
		struct queue_stats st;
		queue_stats(&r->q, &st);
		assert_true(st.relocations >= 2);
		rig_reboot(r);
		queue_stats(&r->q, &st);
		assert_int_equal(st.v1_blocks, 0); /* every block rewritten in format 2 */
		assert_int_equal(st.msgs, 2);
	}
	rig_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_survives_reboot_on_every_geometry),
		cmocka_unit_test(uncommitted_message_is_invisible),
		cmocka_unit_test(results_holds_and_due_times_persist),
		cmocka_unit_test(limits_answer_instead_of_dropping),
		cmocka_unit_test(reclaim_moves_long_lived_messages_and_levels_wear),
		cmocka_unit_test(boots_on_a_new_chip_spread_wear),
		cmocka_unit_test(interleaved_writers_keep_their_own_content),
		cmocka_unit_test(bad_arguments_are_refused),
		cmocka_unit_test(random_corruption_never_crashes_the_scan),
		cmocka_unit_test(full_without_size_answers_at_end_of_data),
		cmocka_unit_test(writer_in_the_oldest_block_holds_reclaim_back),
		cmocka_unit_test(random_traffic_with_reboots_matches_the_model),
		cmocka_unit_test(format1_flash_is_read_and_rewritten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
