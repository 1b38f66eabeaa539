/* queue_seedgen OUTDIR — fuzz_queue seeds: flash images written by the
 * real queue API (fuzz_queue_rig.h geometry): blank, a few messages, a
 * message with results and a hold, a deleted one, and images torn by a
 * power cut in the middle of a commit. Trailing 0xFF bytes are cut (the
 * target pads with 0xFF). Exports main(). */
#include <stdio.h>
#include <string.h>

#include "../fuzz_queue_rig.h"

static struct fq_rig rig;
static const char *outdir;

static void save(const char *name, uint8_t geo, uint8_t ops, struct flashsim *fs)
{
	const uint8_t *raw = flashsim_raw(fs);
	size_t n = FQ_SIZE;
	while (n > 0 && raw[n - 1] == 0xFF)
		n--;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(geo, f);
	fputc(ops, f);
	fwrite(raw, 1, n, f);
	fclose(f);
}

static struct flashsim *fresh(uint8_t geo)
{
	struct flashsim *fs = fq_flash(&rig, geo);
	memset(flashsim_raw(fs), 0xFF, FQ_SIZE);
	if (queue_mount(&rig.q, &rig.cfg) != 0) {
		fprintf(stderr, "mount failed\n");
		exit(1);
	}
	return fs;
}

static int put(uint32_t seed, uint32_t len, unsigned nrcpt, uint32_t *id)
{
	static const char *const rc[] = { "a@example.org", "bb@example.net", "c@x.test" };
	static struct queue_writer w;
	uint8_t buf[700];
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)("Subject: seed\r\n\r\nhello\r\n"[i % 24] + seed);
	int err = queue_msg_begin(&rig.q, &w, seed & 1 ? "" : "sender@example.com", rc, nrcpt, 0,
				  len, 1700000000u + seed);
	if (err)
		return err;
	if ((err = queue_msg_write(&w, buf, len / 2)) != 0 ||
	    (err = queue_msg_write(&w, buf + len / 2, len - len / 2)) != 0) {
		queue_msg_abort(&w);
		return err;
	}
	return queue_msg_commit(&w, id);
}

int main(int argc, char **argv)
{
	uint32_t id, id2;
	if (argc != 2)
		return 2;
	outdir = argv[1];
	for (uint8_t geo = 0; geo < 4; geo++) {
		char name[64];
		struct flashsim *fs = fresh(geo);
		snprintf(name, sizeof(name), "blank-p%u", fq_program_sizes[geo]);
		save(name, geo, 1, fs);
		if (put(1, 300, 2, &id) || put(2, 600, 1, &id2) || put(3, 40, 3, &id)) {
			fprintf(stderr, "put failed\n");
			return 1;
		}
		snprintf(name, sizeof(name), "three-msgs-p%u", fq_program_sizes[geo]);
		save(name, geo, 0x43, fs);
	}
	struct flashsim *fs = fresh(0);
	put(4, 200, 3, &id);
	put(5, 500, 2, &id2);
	queue_rcpt_result(&rig.q, id, 0, QUEUE_RCPT_DELIVERED, "250 2.0.0 ok", 0);
	queue_rcpt_result(&rig.q, id, 1, QUEUE_RCPT_DEFERRED, "451 4.7.5 TLSA mismatch", 1700003600u);
	queue_hold(&rig.q, id2);
	save("results-hold", 0, 0x22, fs);
	queue_delete(&rig.q, id2);
	queue_release(&rig.q, id2);
	save("deleted", 0, 0x03, fs);
	/* fill: reclaim and relocation records */
	for (uint32_t s = 10; s < 40; s++) {
		if (put(s, 500, 1, &id) != 0)
			break;
		queue_rcpt_result(&rig.q, id, 0, QUEUE_RCPT_DELIVERED, "250 ok", 0);
	}
	put(41, 300, 2, &id);
	save("after-reclaim", 0, 0x81, fs);
	/* torn: power cut at each flash operation of one accept */
	for (long cut = 0; cut < 6; cut++) {
		char name[64];
		fs = fresh(0);
		put(50, 250, 2, &id);
		flashsim_powercut_after(fs, cut, cut & 1 ? FLASHSIM_CUT_HALF : FLASHSIM_CUT_CLEAN);
		put(51, 650, 2, &id2);
		flashsim_powercut_after(fs, -1, FLASHSIM_CUT_CLEAN);
		flashsim_power_on(fs);
		snprintf(name, sizeof(name), "torn-op%ld", cut);
		save(name, 0, 0x05, fs);
	}
	return 0;
}
