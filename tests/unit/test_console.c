/* test_console — the command set against a small fake relay (settings and
 * a queue on RAM flash simulators, a real gateway certificate, fake
 * clocks and inbound counters), and the serial line editor driven by a
 * scripted byte stream: history, backspace, Ctrl-U/Ctrl-C, passwords
 * never echoed, the login step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support/creds_test_util.h"

#include "mbedtls/sha256.h"

#include "console/console.h"
#include "console/serial.h"
#include "log/log.h"
#include "../../board/host/flashsim.h"

#define T0 1700000000 /* wall clock of the fake relay */

static struct serial *ser;

static struct rig {
	struct flashsim *cfs, *qfs;
	struct settings settings;
	struct queue q;
	_Alignas(8) uint8_t index[64 * 1024];
	struct tls_cred cred;
	struct console_stats stats;
	struct console_env env;
	struct console con;
	char outbuf[16384];
	struct console_out out;
	uint32_t ids[3];
} *r;

static uint64_t fake_ms = 5000;
static int64_t fake_wall = T0;
static uint64_t clock_ms(void) { return fake_ms; }
static int64_t clock_wall(void) { return fake_wall; }
static void fake_inbound(struct inbound_stats *st)
{
	*st = (struct inbound_stats){ .sessions = 7, .refused_busy = 1, .accepted_msgs = 3,
				      .tls_handshakes = 2, .tls_failures = 1, .active = 1 };
}

static size_t fake_dns(char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "127.0.0.1:53 validating");
}

static uint32_t put_msg(const char *sender, const char *rcpt1, const char *rcpt2, uint64_t arrival)
{
	const char *rc[2] = { rcpt1, rcpt2 };
	static struct queue_writer w;
	uint32_t id;
	assert_int_equal(queue_msg_begin(&r->q, &w, sender, rc, rcpt2 ? 2 : 1, 0, 0, arrival), 0);
	assert_int_equal(queue_msg_write(&w, "Subject: x\r\n\r\nhello\r\n", 21), 0);
	assert_int_equal(queue_msg_commit(&w, &id), 0);
	return id;
}

static int setup(void **state)
{
	(void)state;
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct flashsim_config cc = { .size = 4 * 16384, .erase_size = 16384, .program_size = 4,
				      .name = "config" };
	struct flashsim_config qc = { .size = 16 * 4096, .erase_size = 4096, .program_size = 4,
				      .name = "queue" };
	assert_int_equal(flashsim_open(&r->cfs, &cc), 0);
	assert_int_equal(flashsim_open(&r->qfs, &qc), 0);
	assert_int_equal(settings_open(&r->settings, flashsim_flash(r->cfs), 2), 0);
	struct queue_config cfg = { .flash = flashsim_flash(r->qfs), .max_msgs = 32, .max_msg_size = 4096,
				    .index_buf = r->index, .index_buf_size = sizeof(r->index) };
	assert_int_equal(queue_mount(&r->q, &cfg), 0);
	r->ids[0] = put_msg("alice@lan.example", "bob@example.com", "carol@example.net", T0 - 7200);
	r->ids[1] = put_msg("", "postmaster@example.org", NULL, T0 - 30);
	r->ids[2] = put_msg("dave@lan.example", "eve@example.com", NULL, T0 - 90000);
	/* message 1: one recipient delivered, the other deferred with a reason */
	assert_int_equal(queue_rcpt_result(&r->q, r->ids[0], 0, QUEUE_RCPT_DELIVERED, "250 ok", 0), 0);
	assert_int_equal(queue_rcpt_result(&r->q, r->ids[0], 1, QUEUE_RCPT_DEFERRED,
					   "451 4.7.5 TLSA lookup failed", T0 + 900),
			 0);
	assert_int_equal(tls_init(), 0);
	static uint8_t k[256], c[1024];
	size_t kl = sizeof(k), cl = sizeof(c);
	assert_int_equal(tls_cred_generate("gw.example", T0, k, &kl, c, &cl), 0);
	assert_int_equal(tls_cred_load(&r->cred, k, kl, c, cl), 0);
	assert_int_equal(settings_set(&r->settings, "tls_key", k, kl), 0);
	assert_int_equal(settings_set(&r->settings, "tls_cert", c, cl), 0);
	assert_int_equal(settings_save(&r->settings), 0);
	r->env = (struct console_env){ .settings = &r->settings, .queue = &r->q, .cred = &r->cred,
				       .stats = &r->stats, .board = NULL,
				       .inbound_stats = fake_inbound, .now_ms = clock_ms,
				       .wall_time = clock_wall, .boot_count = 42 };
	console_init(&r->con, &r->env);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tls_cred_free(&r->cred);
	free(ser); /* NULL unless a serial test failed half-way */
	ser = NULL;
	flashsim_close(r->cfs);
	flashsim_close(r->qfs);
	free(r);
	return 0;
}

/* Runs line; the output is in r->outbuf. */
static int run(const char *line)
{
	console_out_init(&r->out, r->outbuf, sizeof(r->outbuf), NULL, NULL);
	return console_exec(&r->con, line, &r->out);
}

#define assert_out_has(s)                                                                      \
	do {                                                                                   \
		if (!strstr(r->outbuf, (s)))                                                   \
			fail_msg("output lacks '%s':\n%s", (s), r->outbuf);                  \
	} while (0)

static void help_lists_every_command_and_explains_one(void **state)
{
	(void)state;
	assert_int_equal(run("help"), 0);
	const char *names[] = { "status", "queue", "log", "config", "tlsa", "stats", "passwd",
				"reboot", "help" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_out_has(names[i]);
	assert_int_equal(run("help queue"), 0);
	assert_out_has("usage: queue [list]");
	assert_out_has("hold|release|delete ID");
	assert_int_equal(run("help config"), 0);
	assert_out_has("config reset yes");
	assert_int_equal(run("help frobnicate"), CONSOLE_EUNKNOWN);
	assert_out_has("error: no command 'frobnicate'");
}

static void unknown_commands_and_empty_lines(void **state)
{
	(void)state;
	assert_int_equal(run("frobnicate now"), CONSOLE_EUNKNOWN);
	assert_out_has("error: unknown command 'frobnicate'");
	assert_int_equal(run(""), 0);
	assert_string_equal(r->outbuf, "");
	assert_int_equal(run("   "), 0);
	char big[CONSOLE_LINE_MAX + 10];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(run(big), CONSOLE_EINVAL);
	assert_out_has("longer than");
}

static void status_shows_board_ram_queue_flash_inbound(void **state)
{
	(void)state;
	fake_ms = 93784000; /* 1 d 2 h 3 min 4 s */
	assert_int_equal(run("status"), 0);
	assert_out_has("danegate 0.1.0 on host");
	assert_out_has("up 1d02h");
	assert_out_has("boot 42");
	assert_out_has("TLS heap");
	assert_out_has("queue: 3 of 32 messages");
	assert_out_has("erase count min");
	assert_out_has("inbound: 7 sessions (1 active), 1 refused busy, 3 messages accepted, TLS 2 "
		       "handshakes, 1 failed");
	assert_out_has("config: saved, generation 1");
	assert_out_has("dns: no resolver running");
	r->env.dns_status = fake_dns;
	assert_int_equal(run("status"), 0);
	assert_out_has("dns: 127.0.0.1:53 validating");
	fake_ms = 5000;
}

static void queue_list_shows_each_message_and_why_it_waits(void **state)
{
	(void)state;
	char id[16];
	assert_int_equal(run("queue"), 0);
	assert_out_has("3 message(s)");
	assert_out_has("<alice@lan.example>");
	assert_out_has("451 4.7.5 TLSA lookup failed after 1 attempt; next in 15m00s");
	assert_out_has("1/2"); /* one of two recipients pending */
	assert_out_has("<>");  /* the null sender */
	assert_out_has("new, due now");
	assert_out_has("1d01h"); /* 90000 s */
	snprintf(id, sizeof(id), "%08lX", (unsigned long)r->ids[0]);
	assert_out_has(id);

	char cmd[64];
	snprintf(cmd, sizeof(cmd), "queue show %08lx", (unsigned long)r->ids[0]); /* lower case ok */
	assert_int_equal(run(cmd), 0);
	assert_out_has("to <bob@example.com>: delivered");
	assert_out_has("to <carol@example.net>: pending");
	assert_out_has("waiting: 451 4.7.5");

	snprintf(cmd, sizeof(cmd), "queue hold %08lX", (unsigned long)r->ids[1]);
	assert_int_equal(run(cmd), 0);
	assert_out_has("held");
	assert_int_equal(run("queue list"), 0);
	assert_out_has("held by the operator");
	snprintf(cmd, sizeof(cmd), "queue release %08lX", (unsigned long)r->ids[1]);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(run("queue list"), 0);
	assert_null(strstr(r->outbuf, "held by the operator"));
	snprintf(cmd, sizeof(cmd), "queue delete %08lX", (unsigned long)r->ids[2]);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(run("queue list"), 0);
	assert_out_has("2 message(s)");
	assert_null(strstr(r->outbuf, "dave@lan.example"));

	/* bad input: a clear error, nothing changed */
	assert_int_equal(run(cmd), CONSOLE_EINVAL); /* deleted already */
	assert_out_has("no message");
	assert_int_equal(run("queue hold"), CONSOLE_EINVAL);
	assert_out_has("give one message ID");
	assert_int_equal(run("queue hold xyz"), CONSOLE_EINVAL);
	assert_int_equal(run("queue hold 123456789"), CONSOLE_EINVAL);
	assert_int_equal(run("queue frob 1"), CONSOLE_EINVAL);
	assert_out_has("unknown queue command");
	assert_int_equal(run("queue flush"), CONSOLE_ENOTSUP);
	assert_out_has("not available");
	struct queue_stats st;
	queue_stats(&r->q, &st);
	assert_int_equal(st.msgs, 2);
}

static void log_tail_and_filters(void **state)
{
	(void)state;
	LOG_INFO("tc-marker one");
	LOG_WARN("tc-marker two warned");
	LOG_INFO("tc-marker three");
	LOG_ERR("tc-marker four failed");
	assert_int_equal(run("log tail 2"), 0);
	assert_out_has("I tc-marker three");
	assert_out_has("E tc-marker four failed");
	assert_null(strstr(r->outbuf, "tc-marker two"));
	assert_int_equal(run("log 50 warn tc-marker"), 0);
	assert_out_has("W tc-marker two warned");
	assert_out_has("E tc-marker four failed");
	assert_null(strstr(r->outbuf, "tc-marker one"));
	assert_int_equal(run("log tc-marker three"), CONSOLE_EINVAL); /* two texts */
	assert_int_equal(run("log 0"), CONSOLE_EINVAL);
	assert_int_equal(run("log 99999"), CONSOLE_EINVAL);
	assert_int_equal(run("log no-such-text-anywhere"), 0);
	assert_out_has("no matching log lines");
}

static void config_show_set_save_reset(void **state)
{
	(void)state;
	assert_int_equal(run("config show"), 0);
	assert_out_has("hostname         = danegate.lan  (default)");
	assert_out_has("console_password = (not set)");
	assert_null(strstr(r->outbuf, "tls_key"));
	assert_null(strstr(r->outbuf, "tls_cert"));
	assert_int_equal(run("config set hostname mail.example.org"), 0);
	assert_int_equal(run("config set relay_networks 10.0.0.0/8 192.168.1.0/24"), 0);
	assert_int_equal(run("config show relay_networks"), 0);
	assert_out_has("10.0.0.0/8 192.168.1.0/24  (saved)");
	assert_out_has("networks whose clients may relay");
	assert_int_equal(run("status"), 0);
	assert_out_has("changed, not saved");
	assert_int_equal(run("config save"), 0);
	struct settings *t = calloc(1, sizeof(*t));
	char buf[64];
	assert_int_equal(settings_open(t, flashsim_flash(r->cfs), 2), 0);
	assert_int_equal(config_get(t, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "mail.example.org");
	/* bad values: error and nothing changed */
	size_t len = r->settings.len;
	assert_int_equal(run("config set smtp_port 0"), CONSOLE_EINVAL);
	assert_out_has("error: smtp_port: '0' is not a number from 1 to 65535");
	assert_int_equal(run("config set nosuch 1"), CONSOLE_EINVAL);
	assert_out_has("no such key");
	assert_int_equal(run("config set hostname"), CONSOLE_EINVAL);
	assert_int_equal(run("config set console_password hunter22"), CONSOLE_EINVAL);
	assert_out_has("passwd");
	assert_int_equal(run("config frob"), CONSOLE_EINVAL);
	assert_int_equal(r->settings.len, len);
	assert_false(r->settings.dirty);
	/* users: hashed, shown masked */
	assert_int_equal(run("config set smtp_users alice:wonderland"), 0);
	assert_int_equal(run("config show"), 0);
	assert_out_has("smtp_users       = alice:***");
	assert_null(strstr(r->outbuf, "wonderland"));
	assert_null(strstr(r->outbuf, "pbkdf2"));
	/* an empty value and unset */
	assert_int_equal(run("config set smarthost \"\""), 0);
	assert_int_equal(run("config unset hostname"), 0);
	assert_int_equal(run("config show hostname"), 0);
	assert_out_has("danegate.lan  (default)");
	/* factory reset needs "yes" */
	assert_int_equal(run("config reset"), 0);
	assert_out_has("config reset yes");
	assert_int_equal(run("config reset now"), CONSOLE_EINVAL);
	assert_int_equal(settings_open(t, flashsim_flash(r->cfs), 2), 0);
	assert_true(t->len > 0);
	assert_int_equal(run("config reset yes"), 0);
	assert_int_equal(settings_open(t, flashsim_flash(r->cfs), 2), 0);
	assert_int_equal(t->len, 0);
	free(t);
}

static void spki_record(const mbedtls_x509_crt *crt, char *out)
{
	/* Independent of the console's path: the SPKI bytes as they sit in
	 * the certificate, not re-encoded from the key. */
	uint8_t d[32];
	mbedtls_sha256(crt->pk_raw.p, crt->pk_raw.len, d, 0);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void tlsa_show_next_switch(void **state)
{
	(void)state;
	char hex[65], want[160];
	assert_int_equal(run("config set hostname gw.example"), 0);
	spki_record(&r->cred.cert, hex);
	snprintf(want, sizeof(want), "_25._tcp.gw.example. IN TLSA 3 1 1 %s\n", hex);
	assert_int_equal(run("tlsa"), 0);
	assert_memory_equal(r->outbuf, want, strlen(want)); /* the record first */
	assert_out_has("subject: CN=gw.example");	   /* then the certificate */
	assert_out_has("(self-signed)");
	assert_out_has("valid:   2023-11-");
	assert_out_has("names:   gw.example\n");
	assert_int_equal(run("tlsa switch confirm"), CONSOLE_EINVAL);
	assert_out_has("no next key");

	assert_int_equal(run("tlsa next"), 0);
	assert_out_has("publish both records");
	assert_out_has(want);
	const uint8_t *nc;
	int ncl = settings_get(&r->settings, "tls_next_cert", &nc);
	assert_true(ncl > 0);
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	assert_int_equal(mbedtls_x509_crt_parse_der(&x, nc, (size_t)ncl), 0);
	char nhex[65];
	spki_record(&x, nhex);
	mbedtls_x509_crt_free(&x);
	assert_string_not_equal(hex, nhex);
	assert_out_has(nhex);
	/* a second `tlsa next` keeps the same next key */
	assert_int_equal(run("tlsa next"), 0);
	assert_out_has("exists already");
	assert_out_has(nhex);

	assert_int_equal(run("tlsa switch"), 0);
	assert_out_has("rule 24");
	assert_out_has("no resolver");
	assert_int_equal(settings_get(&r->settings, "tls_next_cert", &nc), ncl); /* unchanged */
	assert_int_equal(run("tlsa switch now"), CONSOLE_EINVAL);
	/* no resolver: DNS cannot say it is safe, so confirm is not enough */
	assert_int_equal(run("tlsa switch confirm"), CONSOLE_EINVAL);
	assert_out_has("the switch waits");
	assert_int_equal(settings_get(&r->settings, "tls_next_cert", &nc), ncl); /* unchanged */
	assert_int_equal(run("tlsa check"), CONSOLE_ENOTSUP);
	assert_int_equal(run("tlsa switch force"), 0);
	assert_out_has("next boot");
	const uint8_t *cur;
	assert_int_equal(settings_get(&r->settings, "tls_next_cert", &nc), SETTINGS_ENOENT);
	int cl = settings_get(&r->settings, "tls_cert", &cur);
	assert_true(cl > 0);
	mbedtls_x509_crt_init(&x);
	assert_int_equal(mbedtls_x509_crt_parse_der(&x, cur, (size_t)cl), 0);
	spki_record(&x, hex);
	mbedtls_x509_crt_free(&x);
	assert_string_equal(hex, nhex);
	assert_false(r->settings.dirty); /* saved */
	assert_int_equal(run("tlsa frob"), CONSOLE_EINVAL);
}

/* The DNS watch decides (DANE-RULES 24): confirm is refused while the
 * next record has not been seen for two TTLs, accepted once it has; the
 * new key goes into service live through the switch hook. */
static struct rollover_status fake_roll;
static int roll_checks, roll_changes, cred_switches;
static size_t switched_key_len;
static void fake_tlsa_status(struct rollover_status *st) { *st = fake_roll; }
static int fake_tlsa_check(void) { roll_checks++; return 0; }
static void fake_tlsa_changed(void) { roll_changes++; }
static int fake_cred_switch(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl)
{
	(void)crt;
	(void)cl;
	cred_switches++;
	switched_key_len = key && key[0] == 0x30 ? kl : 0; /* a DER SEQUENCE, not wiped */
	return 0;
}

static void tlsa_switch_waits_for_dns(void **state)
{
	(void)state;
	r->env.tlsa_status = fake_tlsa_status;
	r->env.tlsa_check = fake_tlsa_check;
	r->env.tlsa_changed = fake_tlsa_changed;
	r->env.tls_cred_switch = fake_cred_switch;
	roll_checks = roll_changes = cred_switches = 0;
	assert_int_equal(run("config set hostname gw.example"), 0);
	assert_int_equal(run("tlsa next"), 0);
	assert_int_equal(roll_changes, 1);
	assert_int_equal(run("tlsa check"), 0);
	assert_int_equal(roll_checks, 1);
	fake_roll = (struct rollover_status){ .verdict = ROLLOVER_NEXT_MISSING, .checked_at = T0,
					      .current_published = true,
					      .name = "_25._tcp.gw.example" };
	assert_int_equal(run("tlsa"), 0);
	assert_out_has("next record not published");
	assert_int_equal(run("tlsa switch confirm"), CONSOLE_EINVAL);
	assert_out_has("the switch waits");
	fake_roll.verdict = ROLLOVER_WAITING;
	fake_roll.next_published = true;
	fake_roll.first_seen = fake_wall - 100;
	fake_roll.ttl = 300;
	fake_roll.ready_at = fake_roll.first_seen + 600;
	assert_int_equal(run("tlsa switch confirm"), CONSOLE_EINVAL);
	assert_out_has("switch safe in");
	assert_out_has("500 s");
	const uint8_t *nc;
	assert_true(settings_get(&r->settings, "tls_next_cert", &nc) > 0); /* still waiting */
	assert_int_equal(cred_switches, 0);
	fake_roll.verdict = ROLLOVER_READY;
	assert_int_equal(run("tlsa switch"), 0);
	assert_out_has("switch is safe");
	assert_out_has("type: tlsa switch confirm");
	assert_int_equal(run("tlsa switch confirm"), 0);
	assert_out_has("new sessions use the new key now");
	assert_int_equal(cred_switches, 1);
	assert_true(switched_key_len > 0);
	assert_int_equal(roll_changes, 2);
	assert_int_equal(settings_get(&r->settings, "tls_next_cert", &nc), SETTINGS_ENOENT);
	r->env.tlsa_status = NULL;
	r->env.tlsa_check = NULL;
	r->env.tlsa_changed = NULL;
	r->env.tls_cred_switch = NULL;
}

static void stats_by_class_and_domain(void **state)
{
	(void)state;
	assert_int_equal(run("stats"), 0);
	assert_out_has("Verified 0 Trusted 0 Untrusted 0 Anonymous 0 clear 0");
	console_stats_record(&r->stats, "example.com", CONSOLE_CLASS_VERIFIED, true, 10);
	console_stats_record(&r->stats, "example.com", CONSOLE_CLASS_VERIFIED, true, 11);
	console_stats_record(&r->stats, "plain.example", CONSOLE_CLASS_CLEAR, false, 12);
	assert_int_equal(run("stats"), 0);
	assert_out_has("Verified 2");
	assert_out_has("clear 1");
	assert_out_has("example.com                    secure    2    0    0    0    0  DANE-verified");
	assert_out_has("plain.example                  no        0    0    0    0    1\n");
	/* the table is bounded: the least recent domain gives way */
	for (int i = 0; i < CONSOLE_STATS_DOMAINS; i++) {
		char d[32];
		snprintf(d, sizeof(d), "d%d.example", i);
		console_stats_record(&r->stats, d, CONSOLE_CLASS_TRUSTED, false, (uint64_t)(100 + i));
	}
	assert_int_equal(run("stats"), 0);
	assert_null(strstr(r->outbuf, "plain.example"));
	assert_out_has("d15.example");
}

static void passwd_login_and_reboot(void **state)
{
	(void)state;
	assert_true(console_echo(&r->con));
	assert_int_equal(run("passwd now"), CONSOLE_EINVAL);
	assert_int_equal(run("passwd"), 0);
	assert_false(console_echo(&r->con));
	assert_string_equal(console_prompt(&r->con), "New password: ");
	assert_int_equal(run("short"), CONSOLE_EINVAL); /* too short: back to commands */
	assert_true(console_echo(&r->con));
	assert_int_equal(run("passwd"), 0);
	assert_int_equal(run("goodpassword"), 0);
	assert_string_equal(console_prompt(&r->con), "Again: ");
	assert_int_equal(run("goodpassw0rd"), CONSOLE_EINVAL);
	assert_out_has("differ");
	char h[CONFIG_VALUE_MAX + 1];
	assert_int_equal(config_get(&r->settings, NULL, "console_password", h, sizeof(h)),
			 CONFIG_SRC_DEFAULT);
	assert_int_equal(run("passwd"), 0);
	assert_int_equal(run("goodpassword"), 0);
	assert_int_equal(run("goodpassword"), 0);
	assert_out_has("password changed and saved");
	assert_false(r->settings.dirty);

	console_init(&r->con, &r->env); /* a new session */
	assert_false(console_echo(&r->con));
	assert_string_equal(console_prompt(&r->con), "Password: ");
	assert_int_equal(run("wrong1"), CONSOLE_EACCES);
	assert_int_equal(run("wrong2"), CONSOLE_EACCES);
	assert_int_equal(run("wrong3"), CONSOLE_EACCES);
	assert_int_equal(run("goodpassword"), CONSOLE_EACCES); /* paused */
	assert_out_has("wait 30 s");
	fake_ms += CONSOLE_LOGIN_PAUSE_MS;
	assert_int_equal(run("goodpassword"), 0);
	assert_true(console_echo(&r->con));
	assert_int_equal(run("status"), 0);

	assert_int_equal(run("reboot"), 0);
	assert_out_has("reboot yes");
	assert_int_equal(run("reboot please"), CONSOLE_EINVAL);
	assert_int_equal(run("reboot yes"), CONSOLE_REBOOT);
	assert_int_equal(run("logout"), 0);
	assert_int_equal(run("status"), CONSOLE_EACCES); /* taken as a wrong password */
}

static void output_sink_is_bounded(void **state)
{
	(void)state;
	char small[32];
	struct console_out o;
	console_out_init(&o, small, sizeof(small), NULL, NULL);
	assert_int_equal(console_exec(&r->con, "help", &o), 0);
	assert_true(o.truncated);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* ---- serial --------------------------------------------------------------- */

static char wire[65536];
static size_t wire_len;
static int reboots;
static void wire_write(const void *b, size_t n)
{
	assert_true(wire_len + n < sizeof(wire));
	memcpy(wire + wire_len, b, n);
	wire_len += n;
	wire[wire_len] = '\0';
}
static void wire_reboot(void) { reboots++; }
static const char *script;
static long script_read(void *buf, size_t len)
{
	size_t n = strlen(script);
	if (n == 0)
		return PORT_EAGAIN;
	if (n > len)
		n = len;
	memcpy(buf, script, n);
	script += n;
	return (long)n;
}

static void serial_start(void)
{
	static const struct serial_io io = { script_read, wire_write, wire_reboot };
	ser = calloc(1, sizeof(*ser));
	assert_non_null(ser);
	serial_init(ser, &r->env, &io);
	wire_len = 0;
	wire[0] = '\0';
}

static void type(const char *bytes)
{
	wire_len = 0;
	wire[0] = '\0';
	script = bytes;
	serial_poll(ser);
}

#define assert_wire_has(s)                                                                     \
	do {                                                                                   \
		if (!strstr(wire, (s)))                                                        \
			fail_msg("wire lacks '%s':\n%s", (s), wire);                         \
	} while (0)

static void serial_editing_and_history(void **state)
{
	(void)state;
	serial_start();
	type("");
	assert_string_equal(wire, "danegate> ");
	/* backspace (BS and DEL) fixes a typo; CRLF counts once */
	type("stq\x7f" "ax\x08tus\r\n");
	assert_wire_has("danegate 0.1.0 on host");
	assert_wire_has("\r\n"); /* "\n" becomes "\r\n" */
	assert_int_equal(ser->hist_n, 1);
	assert_string_equal(ser->hist[0], "status");
	/* up arrow brings the last line back */
	type("help\r\x1b[A\x1b[A\r");
	assert_wire_has("status   version, board");
	assert_wire_has("danegate 0.1.0 on host"); /* status ran again from history */
	assert_int_equal(ser->hist_n, 3); /* status, help, status */
	/* down past the newest gives an empty line; Ctrl-U empties it too */
	type("\x1b[A\x1b[B");
	assert_int_equal(ser->len, 0);
	type("queue list\x15help\r");
	assert_wire_has("list commands");
	/* left arrow + insert in the middle */
	type("hlp\x1b[D\x1b[De\r");
	assert_wire_has("list commands");
	assert_string_equal(ser->hist[ser->hist_n - 1], "help");
	/* Ctrl-C drops the line, nothing runs */
	type("reboot yes\x03");
	assert_wire_has("^C");
	assert_int_equal(reboots, 0);
	assert_int_equal(ser->len, 0);
	/* history is bounded: 8 lines, the oldest goes */
	for (int i = 0; i < 10; i++) {
		char l[32];
		snprintf(l, sizeof(l), "log tail %d\r", i + 1);
		type(l);
	}
	assert_int_equal(ser->hist_n, SERIAL_HISTORY);
	assert_string_equal(ser->hist[0], "log tail 3");
	assert_string_equal(ser->hist[SERIAL_HISTORY - 1], "log tail 10");
	/* an over-long line is bounded: bell, the rest dropped */
	static char lng[CONSOLE_LINE_MAX + 40];
	memset(lng, 'x', sizeof(lng) - 1);
	type(lng);
	assert_int_equal(ser->len, CONSOLE_LINE_MAX - 1);
	assert_wire_has("\a");
	type("\x15");
	/* reboot reaches the board only after "yes" */
	type("reboot\r");
	assert_int_equal(reboots, 0);
	type("reboot yes\r");
	assert_int_equal(reboots, 1);
	assert_wire_has("rebooting");
	free(ser);
	ser = NULL;
}

static void serial_password_is_never_echoed(void **state)
{
	(void)state;
	serial_start();
	type("passwd\r");
	assert_wire_has("New password: ");
	type("s3cretpassword\r");
	assert_null(strstr(wire, "s3cret"));
	assert_wire_has("Again: ");
	type("s3cretpassword\r");
	assert_null(strstr(wire, "s3cret"));
	assert_wire_has("password changed");
	for (unsigned i = 0; i < ser->hist_n; i++)
		assert_null(strstr(ser->hist[i], "s3cret"));
	free(ser);
	ser = NULL;

	/* next session: the login step, password not echoed either */
	serial_start();
	type("");
	assert_string_equal(wire, "Password: ");
	type("status\r");
	assert_wire_has("wrong password");
	assert_null(strstr(wire, "status"));
	type("s3cretpassword\r");
	assert_null(strstr(wire, "s3cret"));
	assert_wire_has("welcome");
	assert_wire_has("danegate> ");
	/* Ctrl-C during passwd abandons it */
	type("passwd\rnewpassword1\x03");
	assert_wire_has("password not changed");
	assert_true(console_echo(&ser->con));
	assert_null(strstr(wire, "newpassword1"));
	free(ser);
	ser = NULL;
}

/* A new P-256 pair as PEM lines (what an operator pastes). */
static char paste[4096];
static void make_paste(void)
{
	static uint8_t c[1024];
	size_t cl = sizeof(c);
	ctu_pem_pair("gw.example", T0, paste, sizeof(paste), c, &cl);
}

/* A line of the key's base64 (it must never come back). */
static const char *key_line(void)
{
	static char l[65];
	const char *p = strchr(paste, '\n') + 1;
	memcpy(l, p, 64);
	l[64] = '\0';
	return l;
}

static void tlsa_import_by_paste(void **state)
{
	(void)state;
	make_paste();
	r->env.tlsa_changed = fake_tlsa_changed;
	roll_changes = 0;
	assert_int_equal(run("config set hostname gw.example"), 0);
	assert_int_equal(run("tlsa import"), 0);
	assert_out_has("an empty line (or: end) finishes");
	assert_false(console_echo(&r->con));
	/* line by line: nothing comes back */
	char copy[sizeof(paste)];
	memcpy(copy, paste, sizeof(copy));
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(run(l), 0);
		assert_string_equal(r->outbuf, "");
	}
	assert_int_equal(run(""), 0);
	assert_out_has("EC P-256 key, 1 certificate(s), self-signed");
	assert_out_has("stored as the NEXT key");
	assert_out_has("current: _25._tcp.gw.example. IN TLSA 3 1 1 ");
	assert_out_has("next:    _25._tcp.gw.example. IN TLSA 3 1 1 ");
	assert_null(strstr(r->outbuf, key_line()));
	assert_true(console_echo(&r->con));
	assert_int_equal(roll_changes, 1);
	const uint8_t *v;
	assert_true(settings_get(&r->settings, "tls_next_cert", &v) > 0);
	/* tlsa show describes the next certificate too */
	assert_int_equal(run("tlsa"), 0);
	assert_out_has("next:    _25._tcp");
	/* a bad paste: a clear error, nothing changed, back to commands */
	uint8_t before[SETTINGS_IMAGE_MAX];
	size_t blen = r->settings.len;
	memcpy(before, r->settings.image, blen);
	assert_int_equal(run("tlsa import"), 0);
	assert_int_equal(run("-----BEGIN PRIVATE KEY-----"), 0);
	assert_int_equal(run("AAAA"), 0);
	assert_int_equal(run("-----END PRIVATE KEY-----"), 0);
	assert_int_equal(run("end"), CONSOLE_EINVAL);
	assert_out_has("error: not imported: the private key does not parse");
	assert_out_has("Nothing changed");
	assert_int_equal(r->settings.len, blen);
	assert_memory_equal(r->settings.image, before, blen);
	assert_true(console_echo(&r->con));
	/* abort */
	assert_int_equal(run("tlsa import"), 0);
	assert_int_equal(run("-----BEGIN PRIVATE KEY-----"), 0);
	assert_int_equal(run("abort"), 0);
	assert_out_has("import cancelled");
	assert_true(console_echo(&r->con));
	assert_memory_equal(r->settings.image, before, blen);
	r->env.tlsa_changed = NULL;
}

static void serial_import_is_never_echoed(void **state)
{
	(void)state;
	make_paste();
	serial_start();
	type("tlsa import\r");
	for (const char *p = paste; *p; p++) {
		char b[2] = { *p == '\n' ? '\r' : *p, 0 };
		type(b);
	}
	assert_null(strstr(wire, key_line()));
	assert_null(strstr(wire, "BEGIN"));
	type("\r");
	assert_wire_has("stored as the NEXT key");
	for (unsigned i = 0; i < ser->hist_n; i++)
		assert_null(strstr(ser->hist[i], "BEGIN"));
	/* Ctrl-C in the middle of a paste cancels it */
	type("tlsa import\r-----BEGIN PRIVATE KEY-----\r\x03");
	assert_wire_has("import cancelled");
	assert_true(console_echo(&ser->con));
	free(ser);
	ser = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(help_lists_every_command_and_explains_one, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_commands_and_empty_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(status_shows_board_ram_queue_flash_inbound, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_list_shows_each_message_and_why_it_waits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(log_tail_and_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(config_show_set_save_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(tlsa_show_next_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(tlsa_switch_waits_for_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_by_class_and_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(passwd_login_and_reboot, setup, teardown),
		cmocka_unit_test_setup_teardown(output_sink_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_editing_and_history, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_password_is_never_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(tlsa_import_by_paste, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_import_is_never_echoed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
