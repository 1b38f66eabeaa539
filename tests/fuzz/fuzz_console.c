/* fuzz_console — libFuzzer target for the console command parser
 * (firmware/console/console.c, the one command set of the serial and web
 * consoles) on a fake relay: settings and a queue with three messages on
 * RAM flashsims (restored from snapshots for every input), a real
 * gateway certificate, fake clocks, inbound counters, resolver line and
 * TLSA-rollover hooks. Input: [flags][verdict][line \n line ...].
 * flags bit 0: a console password is set (login first); 1: queue mounted;
 * 2: TLS credentials; 3: delivery statistics; 4: streamed output (flush
 * callback, as serial) instead of a bounded buffer (web); 5: TLSA
 * rollover, queue flush and probe hooks;
 * 6: inbound counters; 7: resolver line. verdict: what the rollover
 * status hook reports, and whether the live key switch works. A line
 * starting with byte 0x01 only advances the clocks by 31 s.
 * Checks, besides the sanitizers:
 * - console_exec returns one of enum console_result; CONSOLE_REBOOT only
 *   for "reboot yes";
 * - before login nothing changes: the settings image and the queue are
 *   the same after any line;
 * - no output ever shows a password hash, the smarthost password or a
 *   user's password, unless the operator typed that text; a line typed
 *   at a password prompt (login, passwd) is never echoed;
 * - the bounded output buffer never overflows, console_echo() is off
 *   exactly at the password prompts.
 * Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "console/console.h"
#include "flashsim.h"
#include "tls/tls.h"

#include "fuzz_check.h"
#include "fuzz_port_stubs.h"

#define CFG_SIZE (4 * 16384)
#define Q_SIZE (16 * 4096)
#define LINE_MAX_FUZZ 1024 /* longer than CONSOLE_LINE_MAX on purpose */
#define SEEN_MAX 65536	   /* output of one command kept for the checks */

static const char smarthost_secret[] = "Wh1sper-s3cret";
static const char user_secret[] = "Al1ce~pw";
static const char console_secret[] = "c0rrect~horse";
static const char hash_prefix[] = "$pbkdf2-sha256$";

static struct rig {
	bool ready;
	struct flashsim *cfs, *qfs;
	uint8_t cfg_plain[CFG_SIZE], cfg_locked[CFG_SIZE], q_snap[Q_SIZE];
	struct settings settings;
	struct queue q;
	_Alignas(8) uint8_t index[64 * 1024];
	struct tls_cred cred;
	struct console_stats stats;
	struct console_env env;
	struct console con;
	char outbuf[2048];
	struct console_out out;
	char seen[SEEN_MAX + 1];
	size_t seen_len;
	char typed[8192]; /* every line typed in this input, for the secret checks */
	size_t typed_len;
	bool typed_full; /* more typed than kept: the secret checks stand down */
	uint8_t verdict;
	char pw_set[CONSOLE_LINE_MAX]; /* the password the last passwd set, "" */
	uint8_t image_before[SETTINGS_IMAGE_MAX];
} r;

static uint64_t clock_ms(void)
{
	return fuzz_port_now_ms;
}
static int64_t clock_wall(void)
{
	return fuzz_port_wall;
}
static void fake_inbound(struct inbound_stats *st)
{
	*st = (struct inbound_stats){ .sessions = 7, .refused_busy = 1, .accepted_msgs = 3, .active = 1 };
}
static size_t fake_dns(char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "127.0.0.1:53 validating");
}
static void fake_tlsa_status(struct rollover_status *st)
{
	memset(st, 0, sizeof(*st));
	st->verdict = (enum rollover_verdict)(r.verdict % 7);
	st->current_published = r.verdict & 0x10;
	st->next_published = r.verdict & 0x20;
	st->ttl = 3600;
	st->first_seen = fuzz_port_wall - 100;
	st->ready_at = fuzz_port_wall + 7100;
	st->checked_at = (r.verdict & 0x40) ? fuzz_port_wall : 0;
	snprintf(st->name, sizeof(st->name), "_25._tcp.gw.example");
	if (r.verdict & 0x80)
		snprintf(st->detail, sizeof(st->detail), "SERVFAIL");
}
static int fake_tlsa_check(void)
{
	static const int answers[4] = { 0, -16, -2, -95 };
	return answers[(r.verdict >> 3) & 3];
}
static void fake_tlsa_changed(void)
{
}
static int fake_cred_switch(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl)
{
	(void)key;
	(void)crt;
	check(kl > 0 && cl > 0);
	return (r.verdict & 0x08) ? -5 : 0;
}

static int fake_queue_flush(void)
{
	return (r.verdict & 0x04) ? -5 : 3;
}
/* Answers at once (the real one answers later, from the event loop). */
static int fake_probe(const char *domain, void (*line)(void *ctx, const char *s), void *ctx)
{
	check(strlen(domain) < CONSOLE_LINE_MAX);
	if (r.verdict & 0x02)
		return -16; /* a probe is already running */
	line(ctx, "probe: looking up MX");
	line(ctx, "probe: done: fake");
	return 0;
}
static void fake_probe_cancel(void)
{
}

/* Output: everything one command prints goes to r.seen for the checks. */
static void keep(const char *data, size_t len)
{
	size_t room = SEEN_MAX - r.seen_len;
	size_t n = len < room ? len : room;
	memcpy(r.seen + r.seen_len, data, n);
	r.seen_len += n;
	r.seen[r.seen_len] = '\0';
}
static void flush_out(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	keep(data, len);
}

static void put_msg(const char *sender, const char *rcpt1, const char *rcpt2, uint64_t arrival)
{
	const char *rc[2] = { rcpt1, rcpt2 };
	static struct queue_writer w;
	uint32_t id;
	check(queue_msg_begin(&r.q, &w, sender, rc, rcpt2 ? 2 : 1, 0, 0, arrival) == 0);
	check(queue_msg_write(&w, "Subject: x\r\n\r\nhello\r\n", 21) == 0);
	check(queue_msg_commit(&w, &id) == 0);
}

static void rig_init(void)
{
	struct flashsim_config cc = { .size = CFG_SIZE, .erase_size = 16384, .program_size = 4,
				      .name = "config" };
	struct flashsim_config qc = { .size = Q_SIZE, .erase_size = 4096, .program_size = 4,
				      .name = "queue" };
	char err[CONFIG_ERR_MAX];
	check(flashsim_open(&r.cfs, &cc) == 0 && flashsim_open(&r.qfs, &qc) == 0);
	check(tls_init() == 0);
	static uint8_t k[256], c[1024];
	size_t kl = sizeof(k), cl = sizeof(c);
	check(tls_cred_generate("gw.example", fuzz_port_wall, k, &kl, c, &cl) == 0);
	check(tls_cred_load(&r.cred, k, kl, c, cl) == 0);

	check(settings_open(&r.settings, flashsim_flash(r.cfs), 2) == 0);
	check(settings_set(&r.settings, "tls_key", k, kl) == 0);
	check(settings_set(&r.settings, "tls_cert", c, cl) == 0);
	check(config_set(&r.settings, "hostname", "gw.example", err, sizeof(err)) == 0);
	check(config_set(&r.settings, "smarthost_auth", "relay:Wh1sper-s3cret", err, sizeof(err)) == 0);
	check(config_set(&r.settings, "smtp_users", "alice:Al1ce~pw", err, sizeof(err)) == 0);
	check(settings_save(&r.settings) == 0);
	memcpy(r.cfg_plain, flashsim_raw(r.cfs), CFG_SIZE);
	/* stored as provisioned before hashing (legacy plaintext, compared in
	 * constant time): a login attempt then costs no PBKDF2, which would
	 * slow the fuzzer to a crawl; passwd inside an input hashes for real */
	check(settings_set(&r.settings, "console_password", console_secret, strlen(console_secret)) == 0);
	check(settings_save(&r.settings) == 0);
	memcpy(r.cfg_locked, flashsim_raw(r.cfs), CFG_SIZE);

	struct queue_config qcfg = { .flash = flashsim_flash(r.qfs), .max_msgs = 32,
				     .max_msg_size = 4096, .index_buf = r.index,
				     .index_buf_size = sizeof(r.index) };
	check(queue_mount(&r.q, &qcfg) == 0);
	put_msg("alice@lan.example", "bob@example.com", "carol@example.net", 1795860000);
	put_msg("", "postmaster@example.org", NULL, 1795867000);
	put_msg("dave@lan.example", "eve@example.com", NULL, 1795700000);
	memcpy(r.q_snap, flashsim_raw(r.qfs), Q_SIZE);

	console_stats_record(&r.stats, "example.com", CONSOLE_CLASS_VERIFIED, true, 1000);
	console_stats_record(&r.stats, "example.net", CONSOLE_CLASS_CLEAR, false, 2000);
	r.ready = true;
}

static bool is_result(int rc)
{
	return rc == CONSOLE_OK || rc == CONSOLE_REBOOT || rc == CONSOLE_EUNKNOWN ||
	       rc == CONSOLE_EACCES || rc == CONSOLE_EINVAL || rc == CONSOLE_EFAIL ||
	       rc == CONSOLE_ENOTSUP;
}

/* needle in the output is fine only if the operator typed it himself. */
static void check_secret(const char *needle)
{
	if (strstr(r.seen, needle) && !r.typed_full)
		check(strstr(r.typed, needle) != NULL);
}

static bool words_are(const char *line, const char *a, const char *b)
{
	char w1[16], w2[16], extra[2];
	int n = sscanf(line, " %15s %15s %1s", w1, w2, extra);
	return n == 2 && strcmp(w1, a) == 0 && strcmp(w2, b) == 0;
}

static void run_line(const char *line, bool streamed)
{
	enum console_mode mode = r.con.mode;
	bool authed = r.con.authed;
	size_t slen = r.settings.len;
	memcpy(r.image_before, r.settings.image, slen);
	struct queue_stats qs0, qs1;
	if (r.env.queue)
		queue_stats(&r.q, &qs0);

	r.seen_len = 0;
	r.seen[0] = '\0';
	console_out_init(&r.out, r.outbuf, sizeof(r.outbuf), streamed ? flush_out : NULL, NULL);
	int rc = console_exec(&r.con, line, &r.out);
	check(r.out.len <= r.out.size);
	check(!streamed || !r.out.truncated);
	console_out_flush(&r.out);
	if (!streamed)
		keep(r.outbuf, r.out.len);

	check(is_result(rc));
	if (rc == CONSOLE_REBOOT)
		check(words_are(line, "reboot", "yes"));
	if (!authed) {
		check(r.settings.len == slen && memcmp(r.settings.image, r.image_before, slen) == 0);
		if (r.env.queue) {
			queue_stats(&r.q, &qs1);
			check(qs1.msgs == qs0.msgs);
		}
		if (r.con.authed) /* only the password in force lets one in */
			check(rc == 0 && strcmp(line, r.pw_set[0] ? r.pw_set : console_secret) == 0);
	}
	if (mode == CONSOLE_MODE_PASSWD_AGAIN && rc == 0)
		snprintf(r.pw_set, sizeof(r.pw_set), "%s", line);
	if (mode != CONSOLE_MODE_CMD && strlen(line) >= 6 && strchr(line, '~'))
		check(strstr(r.seen, line) == NULL);
	check_secret(hash_prefix);
	check_secret(smarthost_secret);
	check_secret(user_secret);
	check_secret(console_secret);
	/* echo off only at password prompts (a pasted certificate is echoed) */
	check(console_echo(&r.con) ==
	      (r.con.mode == CONSOLE_MODE_CMD || r.con.mode == CONSOLE_MODE_CA_PEM));
	check(console_prompt(&r.con) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (!r.ready)
		rig_init();
	uint8_t flags = data[0];
	r.verdict = data[1];
	fuzz_port_seed(size);
	fuzz_port_now_ms = 5000;
	fuzz_port_wall = 1795867200;

	flashsim_power_on(r.cfs);
	memcpy(flashsim_raw(r.cfs), (flags & 1) ? r.cfg_locked : r.cfg_plain, CFG_SIZE);
	check(settings_open(&r.settings, flashsim_flash(r.cfs), 2) == 0);
	if (flags & 2) {
		flashsim_power_on(r.qfs);
		memcpy(flashsim_raw(r.qfs), r.q_snap, Q_SIZE);
		struct queue_config qcfg = { .flash = flashsim_flash(r.qfs), .max_msgs = 32,
					     .max_msg_size = 4096, .index_buf = r.index,
					     .index_buf_size = sizeof(r.index) };
		check(queue_mount(&r.q, &qcfg) == 0);
	}
	r.env = (struct console_env){
		.settings = &r.settings,
		.queue = (flags & 2) ? &r.q : NULL,
		.cred = (flags & 4) ? &r.cred : NULL,
		.stats = (flags & 8) ? &r.stats : NULL,
		.inbound_stats = (flags & 0x40) ? fake_inbound : NULL,
		.dns_status = (flags & 0x80) ? fake_dns : NULL,
		.now_ms = clock_ms,
		.wall_time = clock_wall,
		.boot_count = 42,
		.tlsa_status = (flags & 0x20) ? fake_tlsa_status : NULL,
		.tlsa_check = (flags & 0x20) ? fake_tlsa_check : NULL,
		.tlsa_changed = (flags & 0x20) ? fake_tlsa_changed : NULL,
		.tls_cred_switch = (flags & 0x20) ? fake_cred_switch : NULL,
		.queue_flush = (flags & 0x20) ? fake_queue_flush : NULL,
		.probe = (flags & 0x20) ? fake_probe : NULL,
		.probe_cancel = (flags & 0x20) ? fake_probe_cancel : NULL,
	};
	console_init(&r.con, &r.env);
	check(r.con.authed == !(flags & 1));

	r.typed_len = 0;
	r.typed[0] = '\0';
	r.typed_full = false;
	r.pw_set[0] = '\0';
	static char line[LINE_MAX_FUZZ + 1];
	const uint8_t *p = data + 2, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		size_t keepn = n < LINE_MAX_FUZZ ? n : LINE_MAX_FUZZ;
		memcpy(line, p, keepn);
		line[keepn] = '\0';
		p += n + (nl != NULL);
		if (keepn && line[0] == 0x01) {
			fuzz_port_now_ms += 31000;
			fuzz_port_wall += 31;
			continue;
		}
		/* what the operator typed, NULs included as the console sees it */
		size_t tl = strlen(line);
		if (r.typed_len + tl + 2 < sizeof(r.typed)) {
			memcpy(r.typed + r.typed_len, line, tl);
			r.typed_len += tl;
			r.typed[r.typed_len++] = '\n';
			r.typed[r.typed_len] = '\0';
		} else {
			r.typed_full = true;
		}
		run_line(line, flags & 0x10);
	}
	return 0;
}
