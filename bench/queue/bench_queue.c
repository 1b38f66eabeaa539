/* bench_queue — figures for the queue on a simulated 64 MiB NOR flash with
 * 256 KiB erase blocks (the qemu-virt pflash bank): write amplification
 * (bytes programmed per byte accepted) for fixed sizes and for a relay-
 * like mix with long-deferred messages (which reclaim must relocate),
 * capacity with the default limits, and boot-scan time with a full queue
 * (full of messages, and a ring full of small state records). Prints
 * figures; it is a benchmark, not a test. Build and run: make -C bench/queue
 * (argument: all, wa or scan)
 * (native, and armhf under qemu-arm -cpu cortex-a15 as a proxy for the
 * QEMU board's CPU). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue/queue.h"
#include "flashsim.h"

#define FLASH_SIZE (64u * 1024 * 1024)
#define ERASE_SIZE (256u * 1024)
#define MAX_MSGS 4096u

static struct queue q;
static _Alignas(8) uint8_t index_buf[1024 * 1024];
static struct queue_config cfg;
static struct flashsim *fs;
static uint8_t chunk[16384];
static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_queue: %s: %d\n", what, err);
	exit(1);
}

static void setup_on(const char *path, uint32_t size, uint32_t program_size)
{
	if (fs)
		flashsim_close(fs);
	struct flashsim_config fc = { .path = path, .size = size, .erase_size = ERASE_SIZE,
				      .program_size = program_size, .name = "queue" };
	int err = flashsim_open(&fs, &fc);
	if (err)
		die("flashsim_open", err);
	cfg = (struct queue_config){ .flash = flashsim_flash(fs), .max_msgs = MAX_MSGS,
				     .index_buf = index_buf, .index_buf_size = sizeof(index_buf) };
	err = queue_mount(&q, &cfg);
	if (err)
		die("mount", err);
}

static void setup(uint32_t program_size)
{
	setup_on(NULL, FLASH_SIZE, program_size);
}

static uint64_t content_total;

static int accept(uint32_t len, unsigned nrcpt, uint32_t *id)
{
	static const char *const rc[] = { "alice@example.org", "bob@example.net",
					   "carol@example.com" };
	static struct queue_writer wr;
	int err = queue_msg_begin(&q, &wr, "sender@example.com", rc, nrcpt, 0, len, 0);
	if (err)
		return err;
	for (uint32_t off = 0; off < len;) {
		uint32_t n = len - off < 1000 ? len - off : 1000; /* SMTP-sized pieces */
		err = queue_msg_write(&wr, chunk + off % 8192, n);
		if (err) {
			queue_msg_abort(&wr);
			return err;
		}
		off += n;
	}
	err = queue_msg_commit(&wr, id);
	if (!err)
		content_total += len;
	return err;
}

static void deliver(uint32_t id)
{
	struct queue_msg_info info;
	if (queue_msg_info(&q, id, &info))
		return;
	for (unsigned i = 0; i < info.nrcpt; i++)
		if (info.rcpt_state[i] == QUEUE_RCPT_PENDING)
			(void)queue_rcpt_result(&q, id, i, QUEUE_RCPT_DELIVERED, NULL, 0);
}

/* FIFO relay: keep `depth` messages queued, deliver the oldest. */
static void wa_run(const char *name, uint32_t (*size)(void), uint32_t depth, uint32_t keep_pct,
		   uint64_t total)
{
	static uint32_t fifo[8192], kept[8192];
	uint32_t head = 0, tail = 0, nkept = 0, kh = 0;
	setup(4);
	content_total = 0;
	struct flashsim_stats f0, f1;
	flashsim_stats(fs, &f0);
	uint64_t stream = 0;
	while (content_total < total) {
		uint32_t id, len = size();
		int err = accept(len, 1 + rnd() % 3, &id);
		if (err == QUEUE_EFULL && head != tail) {
			deliver(fifo[tail++ % 8192]);
			continue;
		}
		if (err)
			die("accept", err);
		stream += len;
		if (keep_pct && rnd() % 100 < keep_pct) {
			/* deferred for a long time: stays while the ring turns */
			(void)queue_rcpt_result(&q, id, 0, QUEUE_RCPT_DEFERRED, "451 4.7.5 later", 1);
			if (nkept == 64)
				deliver(kept[kh++ % 64]), nkept--;
			kept[(kh + nkept++) % 64] = id;
		} else {
			fifo[head++ % 8192] = id;
		}
		while (head - tail > depth)
			deliver(fifo[tail++ % 8192]);
	}
	flashsim_stats(fs, &f1);
	struct queue_stats st;
	queue_stats(&q, &st);
	double wa = (double)(f1.bytes_programmed - f0.bytes_programmed) / (double)content_total;
	double was = (double)(f1.bytes_programmed - f0.bytes_programmed) / (double)st.bytes_accepted;
	printf("%-34s WA %.4f per content byte, %.4f per stored stream byte; "
	       "%u relocations, %u reclaims, erases min/avg/max %u/%u/%u\n",
	       name, wa, was, st.relocations, st.reclaims, st.erase_min, st.erase_avg, st.erase_max);
	(void)stream;
}

static uint32_t fixed_len;
static uint32_t size_fixed(void)
{
	return fixed_len;
}
/* a relay mix: mostly text mail, some attachments */
static uint32_t size_mix(void)
{
	uint32_t r = rnd() % 100;
	if (r < 60)
		return 2048 + rnd() % 6144;
	if (r < 90)
		return 8192 + rnd() % 57344;
	return 65536 + rnd() % 458752;
}

static void scan_time(const char *name)
{
	double best = 1e9;
	struct queue_stats st;
	for (int i = 0; i < 5; i++) {
		double t0 = now_s();
		int err = queue_mount(&q, &cfg);
		double t = now_s() - t0;
		if (err)
			die("remount", err);
		best = t < best ? t : best;
	}
	queue_stats(&q, &st);
	printf("%-34s boot scan %.1f ms (best of 5): %u msgs, %u live bytes, %u/%u blocks free\n",
	       name, best * 1e3, st.msgs, st.bytes, st.free_blocks, st.blocks);
}

static void fill_mail(void)
{
	uint32_t id, n = 0;
	while (accept(20480, 2, &id) == 0)
		n++;
	printf("capacity: %u messages of 20 KiB accepted before 452\n", n);
}

/* max_msgs small messages, then every recipient deferred again and again
 * until the ring is full of small result records: the most records a
 * boot scan can meet. */
static void fill_results(void)
{
	uint32_t id, n = 0;
	while (accept(1024, 3, &id) == 0)
		n++;
	printf("capacity: %u messages of 1 KiB accepted before 452 (max_msgs)\n", n);
	for (int round = 0; round < 200; round++)
		for (uint32_t m = 1; m <= n; m++)
			(void)queue_rcpt_result(&q, m, (unsigned)round % 3, QUEUE_RCPT_DEFERRED,
						"451 4.4.1 connection timed out", (uint64_t)round);
}

/* The qemu-virt queue area (the bank minus 8 config blocks) as a file. */
static int make_image(const char *path, const char *kind)
{
	setup_on(path, FLASH_SIZE - 8 * ERASE_SIZE, 4);
	if (strcmp(kind, "mail") == 0)
		fill_mail();
	else
		fill_results();
	scan_time(kind);
	flashsim_close(fs);
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7 + (i >> 9));
	if (strcmp(what, "image") == 0 && argc == 4)
		return make_image(argv[2], argv[3]);
	printf("flash %u MiB, erase %u KiB, program unit 4, max_msgs %u, sizeof(struct queue) %zu, "
	       "sizeof(struct queue_writer) %zu, index RAM %zu bytes\n",
	       FLASH_SIZE >> 20, ERASE_SIZE >> 10, MAX_MSGS, sizeof(struct queue),
	       sizeof(struct queue_writer), queue_index_size(flashsim_flash((setup(4), fs)), MAX_MSGS));
	static const uint32_t sizes[] = { 1024, 2048, 4096, 32768, 1048576 };
	for (size_t i = 0; i < 5 && strcmp(what, "scan") != 0; i++) {
		char name[64];
		fixed_len = sizes[i];
		snprintf(name, sizeof(name), "fixed %u B, depth 50:", sizes[i]);
		wa_run(name, size_fixed, 50, 0, 3ull * FLASH_SIZE);
	}
	if (strcmp(what, "scan") != 0) {
		wa_run("mix, depth 200:", size_mix, 200, 0, 4ull * FLASH_SIZE);
		wa_run("mix, depth 200, 3% long-deferred:", size_mix, 200, 3, 4ull * FLASH_SIZE);
	}
	if (strcmp(what, "wa") == 0)
		return 0;

	/* capacity and scan with a queue full of 20 KiB messages */
	setup(4);
	struct queue_stats st;
	queue_stats(&q, &st);
	printf("limits: max_bytes %u (%.1f%% of flash), max_msgs %u, bounce reserve %u B / %u msgs\n",
	       st.max_bytes, 100.0 * st.max_bytes / FLASH_SIZE, st.max_msgs, q.cfg.bounce_reserve,
	       q.cfg.bounce_msgs);
	fill_mail();
	scan_time("full (20 KiB messages):");
	setup(4);
	fill_results();
	scan_time("full + ring of result records:");
	flashsim_close(fs);
	return 0;
}
