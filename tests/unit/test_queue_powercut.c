/* test_queue_powercut — the power-cut runner for the queue: a scripted
 * workload (accept, recipient results, hold/release, delete, abort, and
 * enough traffic on 8 x 4 KiB that reclaim relocates live messages) is
 * run once to count its flash operations N, then again N times on fresh
 * flash with the power cut at operation k (completed, and left half
 * done). After each cut: reboot, and every message whose commit returned
 * 0 is there byte-identical with its recorded states, nothing torn or
 * aborted is visible, counts agree, and the queue still takes mail.
 * The same sweep runs for program units 1 and 16, and once more with a
 * second cut during the recovery. The workloads mix in group commits
 * (several writers open at once, streamed envelopes, commit without sync,
 * one queue_sync for the group): a message counts as acknowledged only
 * once that sync returned, as the relay sends its 250 only then.
 * cut_with_config_saves puts the settings store on the same chip, in the
 * two blocks after the queue (as qemu-virt's pflash holds both), and mixes
 * config saves into the random workloads: after any cut the queue checks
 * as above and the settings hold the last saved value or the one whose
 * save was in flight, never anything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/settings.h"
#include "queue/queue.h"
#include "../../board/host/flashsim.h"

#define NBLOCKS 8
#define ESIZE 4096
#define MAXMSG 2048
#define NM 160 /* model messages */

enum mstatus { M_NONE, M_MAYBE, M_LIVE, M_GONE };
enum op { OP_NONE, OP_COMMIT, OP_RESULT, OP_HOLD, OP_RELEASE, OP_DELETE };

struct mmsg {
	uint32_t id, seed, len;
	unsigned nrcpt;
	enum mstatus st;
	uint8_t rst[3];
	bool held;
};

struct model {
	struct mmsg m[NM];
	int n;
	/* the operation the power died in, if any */
	enum op op;
	int op_msg;
	unsigned op_rcpt;
	uint8_t op_state;
};

struct rig {
	struct flashsim *fs;
	struct port_flash qflash; /* the queue's area: the chip's first NBLOCKS */
	struct queue q;
	struct queue_config cfg;
	_Alignas(8) uint8_t index[32 * 1024];
};

static const char *const RC[] = { "one@example.org", "two@example.net", "three@example.com" };

static uint8_t content_byte(uint32_t seed, uint32_t j)
{
	return (uint8_t)(seed * 131u + j * 7u + (j >> 8));
}

static void rig_init(struct rig *r, uint32_t program_size)
{
	memset(r, 0, sizeof(*r));
	/* two more blocks after the queue's: the settings store */
	struct flashsim_config fc = { .size = (NBLOCKS + 2) * ESIZE, .erase_size = ESIZE,
				      .program_size = program_size, .name = "chip" };
	assert_int_equal(flashsim_open(&r->fs, &fc), 0);
	r->qflash = *flashsim_flash(r->fs);
	r->qflash.size = NBLOCKS * ESIZE;
	r->qflash.name = "queue";
	r->cfg = (struct queue_config){ .flash = &r->qflash,
					.max_msgs = 32,
					.max_msg_size = MAXMSG,
					.index_buf = r->index,
					.index_buf_size = sizeof(r->index) };
}

static int mount(struct rig *r)
{
	memset(&r->q, 0x5A, sizeof(r->q));
	return queue_mount(&r->q, &r->cfg);
}

/* ---- the workload: stops at the first error, the model says what is
 * known for sure and which single operation was in flight ------------- */
static int w_accept(struct rig *r, struct model *md, uint32_t seed, uint32_t len, unsigned nrcpt)
{
	struct mmsg *m = &md->m[md->n++];
	*m = (struct mmsg){ .seed = seed, .len = len, .nrcpt = nrcpt, .st = M_NONE };
	struct queue_writer w;
	int err = queue_msg_begin(&r->q, &w, "from@example.com", RC, nrcpt, 0, 0, seed);
	if (err)
		return err;
	m->id = w.id;
	uint8_t buf[300];
	for (uint32_t off = 0; off < len;) {
		uint32_t n = len - off < sizeof(buf) ? len - off : (uint32_t)sizeof(buf);
		for (uint32_t j = 0; j < n; j++)
			buf[j] = content_byte(seed, off + j);
		err = queue_msg_write(&w, buf, n);
		if (err) {
			queue_msg_abort(&w);
			return err;
		}
		off += n;
	}
	m->st = M_MAYBE;
	md->op = OP_COMMIT;
	md->op_msg = md->n - 1;
	uint32_t id;
	err = queue_msg_commit(&w, &id);
	if (err)
		return err;
	assert_int_equal(id, m->id);
	m->st = M_LIVE;
	md->op = OP_NONE;
	return 0;
}

/* Group commit as the relay does it: k messages received at once
 * (queue_msg_open / add_rcpt / interleaved writes), one of them dropped
 * when `drop` is set, the rest committed without a sync, then one
 * queue_sync; only then are they acknowledged (250). Until the sync
 * returned each committed one may or may not survive a cut. */
static int w_group(struct rig *r, struct model *md, uint32_t seed, unsigned k, bool drop)
{
	static struct queue_writer ws[4];
	int mi[4];
	bool open[4] = { false };
	int err = 0;
	assert_true(k <= 4);
	for (unsigned i = 0; i < k && !err; i++) {
		mi[i] = md->n++;
		struct mmsg *m = &md->m[mi[i]];
		*m = (struct mmsg){ .seed = seed + i, .len = 100 + (seed * 97u + i * 389u) % (k > 1 ? 400 : 1200),
				    .nrcpt = 1 + (seed + i) % 3, .st = M_NONE };
		err = queue_msg_open(&r->q, &ws[i], "from@example.com", 0, 0, seed + i);
		if (err) {
			md->n--;
			k = i;
			break;
		}
		open[i] = true;
		m->id = ws[i].id;
		for (unsigned j = 0; j < m->nrcpt && !err; j++)
			err = queue_msg_add_rcpt(&ws[i], RC[j]);
	}
	uint8_t buf[173];
	for (uint32_t off = 0; !err; off += sizeof(buf)) {
		bool any = false;
		for (unsigned i = 0; i < k && !err; i++) {
			const struct mmsg *m = &md->m[mi[i]];
			if (off >= m->len)
				continue;
			any = true;
			uint32_t n = m->len - off < sizeof(buf) ? m->len - off : (uint32_t)sizeof(buf);
			for (uint32_t j = 0; j < n; j++)
				buf[j] = content_byte(m->seed, off + j);
			err = queue_msg_write(&ws[i], buf, n);
		}
		if (!any)
			break;
	}
	for (unsigned i = 0; i < k && !err; i++) {
		struct mmsg *m = &md->m[mi[i]];
		open[i] = false;
		if (drop && i == 1) {
			queue_msg_abort(&ws[i]);
			continue;
		}
		m->st = M_MAYBE;
		uint32_t id;
		err = queue_msg_commit_nosync(&ws[i], &id);
		if (err == QUEUE_EFULL)
			m->st = M_NONE; /* refused (452) before its record: never there */
		else if (!err)
			assert_int_equal(id, m->id);
	}
	for (unsigned i = 0; i < k; i++)
		if (open[i])
			queue_msg_abort(&ws[i]);
	if (err)
		return err;
	err = queue_sync(&r->q);
	if (err)
		return err;
	for (unsigned i = 0; i < k; i++)
		if (md->m[mi[i]].st == M_MAYBE)
			md->m[mi[i]].st = M_LIVE;
	return 0;
}

static int w_abandon(struct rig *r, struct model *md, uint32_t seed)
{
	struct mmsg *m = &md->m[md->n++];
	*m = (struct mmsg){ .seed = seed, .len = 1200, .nrcpt = 1, .st = M_NONE };
	struct queue_writer w;
	int err = queue_msg_begin(&r->q, &w, "from@example.com", RC, 1, 0, 0, seed);
	if (err)
		return err;
	m->id = w.id;
	uint8_t buf[1200];
	memset(buf, 0x42, sizeof(buf));
	err = queue_msg_write(&w, buf, sizeof(buf));
	queue_msg_abort(&w);
	return err;
}

static int w_result(struct rig *r, struct model *md, int mi, unsigned rc, uint8_t state)
{
	struct mmsg *m = &md->m[mi];
	md->op = OP_RESULT;
	md->op_msg = mi;
	md->op_rcpt = rc;
	md->op_state = state;
	int err = queue_rcpt_result(&r->q, m->id, rc, state, state == QUEUE_RCPT_DEFERRED ? "451 later" : "250 ok",
				    100);
	if (err)
		return err;
	if (state != QUEUE_RCPT_DEFERRED)
		m->rst[rc] = state;
	bool pending = false;
	for (unsigned i = 0; i < m->nrcpt; i++)
		pending |= m->rst[i] == QUEUE_RCPT_PENDING;
	if (!pending)
		m->st = M_GONE;
	md->op = OP_NONE;
	return 0;
}

static int w_mark(struct rig *r, struct model *md, int mi, enum op op)
{
	struct mmsg *m = &md->m[mi];
	md->op = op;
	md->op_msg = mi;
	int err = op == OP_HOLD ? queue_hold(&r->q, m->id)
		: op == OP_RELEASE ? queue_release(&r->q, m->id)
				   : queue_delete(&r->q, m->id);
	if (err)
		return err;
	if (op == OP_DELETE)
		m->st = M_GONE;
	else
		m->held = op == OP_HOLD;
	md->op = OP_NONE;
	return 0;
}

#define STEP(x)                    \
	do {                       \
		int e_ = (x);      \
		if (e_)            \
			return e_; \
	} while (0)

static int workload(struct rig *r, struct model *md)
{
	STEP(w_accept(r, md, 1, 1500, 3)); /* A: lives to the end */
	STEP(w_accept(r, md, 2, 600, 1));  /* B: held most of the time */
	STEP(w_accept(r, md, 3, 1800, 2)); /* C: deleted by the console */
	STEP(w_result(r, md, 0, 0, QUEUE_RCPT_DELIVERED));
	STEP(w_result(r, md, 0, 1, QUEUE_RCPT_DEFERRED));
	STEP(w_mark(r, md, 1, OP_HOLD));
	int mine[48]; /* model index of each message accepted in the loop */
	for (uint32_t i = 0; i < 48; i++) {
		STEP(w_accept(r, md, 10 + i, 300 + (i * 433) % 1600, 1 + i % 2));
		mine[i] = md->n - 1;
		int old = i >= 2 ? mine[i - 2] : 0;
		if (i >= 2 && md->m[old].st == M_LIVE)
			for (unsigned k = 0; k < md->m[old].nrcpt; k++)
				STEP(w_result(r, md, old, k, QUEUE_RCPT_DELIVERED));
		if (i == 3)
			STEP(w_mark(r, md, 2, OP_DELETE));
		if (i == 9)
			STEP(w_abandon(r, md, 99));
		if (i == 14)
			STEP(w_mark(r, md, 1, OP_RELEASE));
		if (i == 30)
			STEP(w_mark(r, md, 1, OP_HOLD));
		if (i % 6 == 4) {
			/* a group, then its messages delivered (the flash is small) */
			int first = md->n;
			STEP(w_group(r, md, 300 + i * 5, 2 + i % 3, i % 12 == 10));
			for (int g = first; g < md->n; g++)
				for (unsigned k = 0; md->m[g].st == M_LIVE && k < md->m[g].nrcpt; k++)
					STEP(w_result(r, md, g, k, QUEUE_RCPT_DELIVERED));
		}
	}
	STEP(w_result(r, md, 0, 2, QUEUE_RCPT_FAILED));
	STEP(w_result(r, md, 0, 1, QUEUE_RCPT_DELIVERED));
	return 0;
}

/* A random workload (seeded, so every run of a seed is the same): accept
 * with 1..3 recipients and 0..MAXMSG-100 bytes, results of every kind,
 * hold, release, delete, abandoned writers. */
/* Config saves mixed into the random workload (cut_with_config_saves). */
static struct {
	bool on;
	struct settings s;
	long acked;    /* last value whose save returned 0; -1: none */
	long inflight; /* value being saved when the power went; -1: none */
} pcc;

static int cfg_save(struct rig *r, long v)
{
	(void)r;
	uint32_t x = (uint32_t)v;
	pcc.inflight = v;
	int err = settings_set(&pcc.s, "gen", &x, sizeof(x));
	if (!err)
		err = settings_save(&pcc.s);
	if (!err) {
		pcc.acked = v;
		pcc.inflight = -1;
	}
	return err;
}

static void cfg_verify(struct rig *r, const char *when)
{
	static struct settings t;
	int err = settings_open(&t, flashsim_flash(r->fs), NBLOCKS);
	if (err)
		fail_msg("%s: settings unreadable (%d)", when, err);
	const uint8_t *v;
	int n = settings_get(&t, "gen", &v);
	long got = -1;
	if (n == 4)
		got = (long)((uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 |
			     (uint32_t)v[3] << 24);
	else if (n != SETTINGS_ENOENT)
		fail_msg("%s: settings value of %d bytes", when, n);
	if (got != pcc.acked && !(pcc.inflight >= 0 && got == pcc.inflight))
		fail_msg("%s: settings hold %ld, saved %ld, in flight %ld", when, got, pcc.acked,
			 pcc.inflight);
}

static int random_workload(struct rig *r, struct model *md, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
#define RND() (x = x * 1103515245u + 12345u, (x >> 8) & 0xFFFFFF)
	for (int step = 0; step < 150 && md->n < NM - 1; step++) {
		if (pcc.on && step % 5 == 4) {
			STEP(cfg_save(r, step));
			continue;
		}
		uint32_t op = RND() % 13;
		int live[NM], nl = 0;
		for (int i = 0; i < md->n; i++)
			if (md->m[i].st == M_LIVE)
				live[nl++] = i;
		if (op < 4 || !nl) {
			uint32_t len = RND() % (MAXMSG - 100);
			unsigned nrcpt = 1 + RND() % 3;
			int err = w_accept(r, md, 1000 + (uint32_t)step + seed * 100, len, nrcpt);
			if (err == QUEUE_EFULL) {
				md->n--; /* refused at begin or while writing: 452 */
				continue;
			}
			STEP(err);
		} else if (op < 9) {
			int mi = live[RND() % (uint32_t)nl];
			unsigned rc = RND() % md->m[mi].nrcpt;
			if (md->m[mi].rst[rc] != QUEUE_RCPT_PENDING)
				continue;
			uint8_t st = (uint8_t)(1 + RND() % 3); /* delivered, failed, deferred */
			int err = w_result(r, md, mi, rc, st);
			if (err && err != PORT_EPOWER)
				print_message("seed %u step %d: result %d\n", seed, step, err);
			STEP(err);
		} else if (op == 9) {
			int mi = live[RND() % (uint32_t)nl];
			STEP(w_mark(r, md, mi, md->m[mi].held ? OP_RELEASE : OP_HOLD));
		} else if (op == 10) {
			STEP(w_mark(r, md, live[RND() % (uint32_t)nl], OP_DELETE));
		} else if (op == 12) {
			if (md->n + 4 >= NM)
				continue;
			unsigned k = 1 + RND() % 4;
			bool drop = RND() % 3 == 0;
			int err = w_group(r, md, 3000 + (uint32_t)step * 7 + seed * 1000, k, drop);
			if (err != QUEUE_EFULL) /* a full queue refuses some: 452 */
				STEP(err);
		} else {
			int err = w_abandon(r, md, 5000 + (uint32_t)step);
			if (err != QUEUE_EFULL) /* a full queue refuses it: fine */
				STEP(err);
		}
	}
#undef RND
	return 0;
}

/* ---- after the reboot ----------------------------------------------------- */
static bool content_ok(struct queue *q, const struct mmsg *m)
{
	uint8_t buf[211];
	uint32_t off = 0;
	long n;
	while ((n = queue_msg_read(q, m->id, off, buf, sizeof(buf))) > 0) {
		for (long j = 0; j < n; j++)
			if (buf[j] != content_byte(m->seed, off + (uint32_t)j))
				return false;
		off += (uint32_t)n;
	}
	return n == 0 && off == m->len;
}

static void verify(struct rig *r, const struct model *md, const char *when)
{
	int present = 0;
	for (int i = 0; i < md->n; i++) {
		const struct mmsg *m = &md->m[i];
		/* an id that never reached the flash is given out again after
		 * the reboot: the later model entry speaks for it */
		bool reused = false;
		for (int j = i + 1; j < md->n; j++)
			reused |= md->m[j].id == m->id;
		if (reused) {
			assert_true(m->st == M_NONE || m->st == M_MAYBE);
			continue;
		}
		struct queue_msg_info info;
		bool here = queue_msg_info(&r->q, m->id, &info) == 0;
		bool inflight = md->op != OP_NONE && md->op_msg == i;
		bool may_vanish = inflight && (md->op == OP_RESULT || md->op == OP_DELETE);
		if (m->st == M_LIVE && !here && !may_vanish)
			fail_msg("%s: acknowledged message %u (model %d) lost", when, m->id, i);
		if ((m->st == M_NONE || m->st == M_GONE) && here)
			fail_msg("%s: message %u (model %d, status %d) visible", when, m->id, i, m->st);
		if (!here)
			continue;
		present++;
		if (!content_ok(&r->q, m))
			fail_msg("%s: message %u content differs", when, m->id);
		assert_int_equal(info.nrcpt, m->nrcpt);
		assert_int_equal(info.size, m->len);
		assert_string_equal(info.sender, "from@example.com");
		for (unsigned k = 0; k < m->nrcpt; k++) {
			bool alt = inflight && md->op == OP_RESULT && md->op_rcpt == k &&
				   info.rcpt_state[k] == md->op_state;
			if (info.rcpt_state[k] != m->rst[k] && !alt)
				fail_msg("%s: message %u rcpt %u state %u, expected %u", when, m->id,
					 k, info.rcpt_state[k], m->rst[k]);
		}
		bool halt = inflight && (md->op == OP_HOLD || md->op == OP_RELEASE) &&
			    info.held == (md->op == OP_HOLD);
		if (info.held != m->held && !halt)
			fail_msg("%s: message %u held %d, expected %d", when, m->id, info.held,
				 m->held);
	}
	struct queue_stats st;
	queue_stats(&r->q, &st);
	assert_int_equal(queue_list(&r->q, NULL, NULL), present); /* nothing unknown */
	assert_int_equal(st.msgs, (uint32_t)present);
	assert_true(st.bytes <= st.max_bytes);
}

/* After the boot the in-flight operation has an outcome: take it into
 * the model so later boots must agree with it. */
static void resolve(struct rig *r, struct model *md)
{
	/* a group committed but not yet synced: each either made it or not */
	for (int i = 0; i < md->n; i++) {
		struct queue_msg_info info;
		if (md->m[i].st == M_MAYBE && !(md->op != OP_NONE && md->op_msg == i))
			md->m[i].st = queue_msg_info(&r->q, md->m[i].id, &info) == 0 ? M_LIVE : M_NONE;
	}
	if (md->op == OP_NONE)
		return;
	struct mmsg *m = &md->m[md->op_msg];
	struct queue_msg_info info;
	bool here = queue_msg_info(&r->q, m->id, &info) == 0;
	if (!here)
		m->st = md->op == OP_COMMIT ? M_NONE : M_GONE;
	else
		m->st = M_LIVE;
	if (here) {
		for (unsigned k = 0; k < m->nrcpt; k++)
			m->rst[k] = info.rcpt_state[k];
		m->held = info.held;
	}
	md->op = OP_NONE;
}

/* The queue keeps working: one more message, through another reboot
 * (when the workload left it full, delete old mail until it fits). */
static void still_takes_mail(struct rig *r, struct model *md)
{
	struct model m2 = *md;
	resolve(r, &m2);
	int err;
	for (;;) {
		err = w_accept(r, &m2, 777, 1000, 2);
		if (err != QUEUE_EFULL)
			break;
		m2.n--;
		int victim = -1;
		for (int i = 0; i < m2.n && victim < 0; i++)
			if (m2.m[i].st == M_LIVE)
				victim = i;
		if (victim < 0)
			fail_msg("accept after reboot: queue full with nothing in it");
		assert_int_equal(w_mark(r, &m2, victim, OP_DELETE), 0);
	}
	if (err)
		fail_msg("accept after reboot: %d", err);
	assert_int_equal(mount(r), 0);
	verify(r, &m2, "second boot");
}

static long count_ops(uint32_t program_size)
{
	static struct rig r;
	static struct model md;
	memset(&md, 0, sizeof(md));
	rig_init(&r, program_size);
	assert_int_equal(mount(&r), 0);
	assert_int_equal(workload(&r, &md), 0);
	struct flashsim_stats fst;
	flashsim_stats(r.fs, &fst);
	struct queue_stats st;
	queue_stats(&r.q, &st);
	print_message("P=%u: %llu flash ops, %u relocations, %u reclaims\n", program_size,
		      (unsigned long long)fst.ops, st.relocations, st.reclaims);
	assert_true(st.relocations > 0); /* the workload must reach relocation */
	assert_int_equal(mount(&r), 0);
	verify(&r, &md, "no cut");
	flashsim_close(r.fs);
	return (long)fst.ops;
}

static void sweep(uint32_t program_size, enum flashsim_cut how, long stride, bool second_cut)
{
	static struct rig r;
	static struct model md;
	long n = count_ops(program_size);
	for (long k = 1; k <= n; k += stride) {
		memset(&md, 0, sizeof(md));
		rig_init(&r, program_size);
		assert_int_equal(mount(&r), 0);
		flashsim_powercut_after(r.fs, k, how);
		int err = workload(&r, &md);
		if (err != PORT_EPOWER)
			fail_msg("cut at op %ld: workload ended with %d", k, err);
		flashsim_power_on(r.fs);
		err = mount(&r);
		if (err)
			fail_msg("cut at op %ld (%s): mount %d", k, how ? "half" : "clean", err);
		char when[64];
		snprintf(when, sizeof(when), "P=%u cut %s at op %ld", program_size,
			 how ? "half" : "clean", k);
		verify(&r, &md, when);
		if (second_cut) {
			/* cut again while recovering: the first verdict must hold */
			resolve(&r, &md);
			flashsim_powercut_after(r.fs, 1 + k % 7, how);
			struct model m2 = md;
			(void)w_accept(&r, &m2, 555, 1500, 1);
			flashsim_power_on(r.fs);
			assert_int_equal(mount(&r), 0);
			verify(&r, &m2, when);
			resolve(&r, &m2);
			md = m2;
		}
		still_takes_mail(&r, &md);
		flashsim_close(r.fs);
	}
}

/* Random workloads on program units 1..16, each cut at every stride-th
 * operation, both ways.
 * QUEUE_PC_SEEDS=n in the environment runs n seeds at stride 1 (the long
 * sweep; the default is 12 seeds at stride 3). */
static void cut_random_workloads(void **state)
{
	(void)state;
	static struct rig r;
	static struct model md;
	const char *env = getenv("QUEUE_PC_SEEDS");
	unsigned seeds = env ? (unsigned)atoi(env) : 12;
	long stride = env ? 1 : 3;
	static const uint32_t units[] = { 4, 1, 16, 2, 8 };
	for (unsigned seed = 1; seed <= seeds; seed++) {
		uint32_t ps = units[seed % 5];
		memset(&md, 0, sizeof(md));
		rig_init(&r, ps);
		assert_int_equal(mount(&r), 0);
		assert_int_equal(random_workload(&r, &md, seed), 0);
		struct flashsim_stats fst;
		flashsim_stats(r.fs, &fst);
		flashsim_close(r.fs);
		long n = (long)fst.ops;
		int acked = 0;
		for (int i = 0; i < md.n; i++)
			acked += md.m[i].st != M_NONE;
		if (seed <= 3 || env)
			print_message("seed %u: %ld flash ops, %d messages acknowledged\n", seed, n,
				      acked);
		for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++)
			for (long k = 1 + seed % (unsigned long)stride; k <= n; k += stride) {
				memset(&md, 0, sizeof(md));
				rig_init(&r, ps);
				assert_int_equal(mount(&r), 0);
				flashsim_powercut_after(r.fs, k, (enum flashsim_cut)how);
				int err = random_workload(&r, &md, seed);
				if (err != PORT_EPOWER)
					fail_msg("seed %u cut at %ld: workload ended with %d", seed, k,
						 err);
				flashsim_power_on(r.fs);
				assert_int_equal(mount(&r), 0);
				char when[64];
				snprintf(when, sizeof(when), "seed %u P=%u cut %s at op %ld", seed, ps,
					 how ? "half" : "clean", k);
				verify(&r, &md, when);
				still_takes_mail(&r, &md);
				flashsim_close(r.fs);
			}
	}
}

/* The settings on the same chip, saved between queue operations: a cut
 * at every second flash operation (both kinds) of three random workloads. */
static void cut_with_config_saves(void **state)
{
	(void)state;
	static struct rig r;
	static struct model md;
	static const uint32_t units[] = { 4, 1, 16 };
	unsigned cuts = 0;
	for (unsigned seed = 1; seed <= 3; seed++) {
		uint32_t ps = units[seed - 1];
		memset(&md, 0, sizeof(md));
		rig_init(&r, ps);
		assert_int_equal(mount(&r), 0);
		pcc.on = true;
		pcc.acked = pcc.inflight = -1;
		assert_int_equal(settings_open(&pcc.s, flashsim_flash(r.fs), NBLOCKS), 0);
		assert_int_equal(random_workload(&r, &md, seed + 40), 0);
		assert_true(pcc.acked > 0); /* the workload did save the settings */
		struct flashsim_stats fst;
		flashsim_stats(r.fs, &fst);
		flashsim_close(r.fs);
		long n = (long)fst.ops;
		for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++)
			for (long k = 1 + seed % 2; k <= n; k += 2) {
				memset(&md, 0, sizeof(md));
				rig_init(&r, ps);
				assert_int_equal(mount(&r), 0);
				pcc.acked = pcc.inflight = -1;
				assert_int_equal(settings_open(&pcc.s, flashsim_flash(r.fs), NBLOCKS), 0);
				flashsim_powercut_after(r.fs, k, (enum flashsim_cut)how);
				int err = random_workload(&r, &md, seed + 40);
				if (err != PORT_EPOWER)
					fail_msg("seed %u cut at %ld: workload ended with %d", seed, k,
						 err);
				flashsim_power_on(r.fs);
				assert_int_equal(mount(&r), 0);
				char when[64];
				snprintf(when, sizeof(when), "config+queue seed %u P=%u cut %s at op %ld",
					 seed, ps, how ? "half" : "clean", k);
				verify(&r, &md, when);
				cfg_verify(&r, when);
				still_takes_mail(&r, &md);
				flashsim_close(r.fs);
				cuts++;
			}
	}
	pcc.on = false;
	print_message("%u cuts with config saves mixed in\n", cuts);
}

static void cut_clean_after_every_operation(void **state)
{
	(void)state;
	sweep(4, FLASHSIM_CUT_CLEAN, 1, false);
}

static void cut_half_done_every_operation(void **state)
{
	(void)state;
	sweep(4, FLASHSIM_CUT_HALF, 1, false);
}

static void cut_other_program_units(void **state)
{
	(void)state;
	/* program units 1 and 16 change padding and header sizes */
	for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++) {
		sweep(1, (enum flashsim_cut)how, 1, false);
		sweep(16, (enum flashsim_cut)how, 1, false);
	}
}

static void cut_again_while_recovering(void **state)
{
	(void)state;
	for (int how = FLASHSIM_CUT_CLEAN; how <= FLASHSIM_CUT_HALF; how++)
		sweep(4, (enum flashsim_cut)how, 1, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cut_clean_after_every_operation),
		cmocka_unit_test(cut_half_done_every_operation),
		cmocka_unit_test(cut_other_program_units),
		cmocka_unit_test(cut_again_while_recovering),
		cmocka_unit_test(cut_random_workloads),
		cmocka_unit_test(cut_with_config_saves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
