/* test_config — the typed configuration: every key accepts its good
 * values and refuses bad ones with a reason and no change; precedence
 * saved > board > default; save/reload through the flash simulator;
 * passwords hashed and never shown; factory reset; the doc lists every key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "../../board/host/flashsim.h"

static struct settings s, t;

static struct flashsim *sim(void)
{
	struct flashsim *fs;
	struct flashsim_config cfg = { .path = NULL, .size = 4 * 16384, .erase_size = 16384,
				       .program_size = 4, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	return fs;
}

struct kv {
	const char *key, *value;
};

static const struct kv good[] = {
	{ "hostname", "mail.example.org" }, { "hostname", "gw" }, { "hostname", "a-b.c_d.example" },
	{ "smtp_port", "25" }, { "smtp_port", "1" }, { "smtp_port", "65535" },
	{ "listen", "" }, { "listen", "192.0.2.1" }, { "listen", "2001:db8::1" },
	{ "relay_networks", "10.0.0.0/8 fc00::/7" }, { "relay_networks", "192.0.2.1, ::1/128" },
	{ "relay_networks", "" },
	{ "smtp_users", "alice:secret1 bob:pa:ss" }, { "smtp_users", "" },
	{ "resolvers", "127.0.0.1" }, { "resolvers", "[2001:db8::53]:5353 192.0.2.53:53 ::1" },
	{ "smtp_max_sessions", "0" }, { "smtp_max_sessions", "4" },
	{ "smtp_destination_concurrency", "0" }, { "smtp_destination_concurrency", "1" },
	{ "smtp_destination_concurrency", "64" },
	{ "queue_max_msgs", "16" }, { "queue_max_msgs", "1024" },
	{ "queue_max_bytes", "0" }, { "queue_max_bytes", "4294967295" },
	{ "max_msg_size", "1024" }, { "max_msg_size", "67108864" },
	{ "smtp_timeout", "5m" }, { "smtp_timeout", "5s" }, { "smtp_timeout", "1h" },
	{ "smtp_data_timeout", "3m" }, { "smtp_data_timeout", "10s" },
	{ "smtp_min_data_rate", "0" }, { "smtp_min_data_rate", "500" },
	{ "retry_schedule", "5m,15m,30m,1h,2h,4h" }, { "retry_schedule", "1m" },
	{ "max_queue_age", "5d" }, { "max_queue_age", "1h" }, { "max_queue_age", "1d12h" },
	{ "max_queue_age", "30d" },
	{ "tls_default", "dane" }, { "tls_default", "may" }, { "tls_default", "none" },
	{ "tls_default", "verify" },
	{ "tls_policy", "example.com=dane-only, [smtp.relay]:587=verify" },
	{ "tls_policy", ".example.net=encrypt" }, { "tls_policy", "" },
	{ "tls_policy", "example.com = dane-only\t[192.0.2.25]=none" },
	{ "smarthost", "" }, { "smarthost", "[smtp.isp.example]:587" }, { "smarthost", "relay.example" },
	{ "smarthost_auth", "user:p@ss" }, { "smarthost_auth", "" },
	{ "console_password", "correcthorse" },
	{ "web_http", "on" }, { "web_http", "off" }, { "web_http", "true" }, { "web_http", "0" },
	{ "smtp_delivery_redirect", "" }, { "smtp_delivery_redirect", "127.0.0.1:26100" },
	{ "smtp_delivery_redirect", "[::1]:26100" },
	{ "dns_probe_name", "" }, { "dns_probe_name", "probe.dane.test" },
	{ "tls_import", "" }, { "tls_import", "/etc/dg/all.pem" },
	{ "tls_import", "/etc/dg/key.pem /etc/dg/chain.pem" },
	{ "smtp_tls_client_cert", "on" }, { "smtp_tls_client_cert", "off" },
	{ "web_port", "443" }, { "web_port", "8443" }, { "web_port", "0" }, { "web_port", "65535" },
	{ "web_http_port", "0" }, { "web_http_port", "80" }, { "web_http_port", "65535" },
};

static const struct kv bad[] = {
	{ "hostname", "" }, { "hostname", "-bad.example" }, { "hostname", "a..b" },
	{ "hostname", "has space" }, { "hostname", "x.toolonglabel-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "smtp_port", "0" }, { "smtp_port", "65536" }, { "smtp_port", "25x" }, { "smtp_port", "" },
	{ "smtp_port", "-1" }, { "smtp_port", "99999999999" },
	{ "listen", "gw.example" }, { "listen", "192.0.2.300" },
	{ "relay_networks", "10.0.0.0/33" }, { "relay_networks", "10.0.0.0/8 nonsense" },
	{ "relay_networks", "::/129" }, { "relay_networks", "/8" },
	{ "relay_networks", "1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9 "
			    "1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 1.1.1.16 1.1.1.17" },
	{ "smtp_users", "alice" }, { "smtp_users", "alice:" }, { "smtp_users", ":pass" },
	{ "smtp_users", "al ice:x" /* "ice:x" ok, "al" has no colon */ },
	{ "smtp_users", "a:1 b:1 c:1 d:1 e:1 f:1 g:1 h:1 i:1" }, { "smtp_users", "a/b:x" },
	{ "resolvers", "[::1" }, { "resolvers", "127.0.0.1:0" }, { "resolvers", "127.0.0.1:70000" },
	{ "resolvers", "bad_host!:53" }, { "resolvers", "dns.example:53" }, { "resolvers", "" },
	{ "resolvers", "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5" },
	{ "smtp_max_sessions", "-1" }, { "smtp_max_sessions", "100000" },
	{ "smtp_destination_concurrency", "65" }, { "smtp_destination_concurrency", "-1" },
	{ "smtp_destination_concurrency", "one" },
	{ "queue_max_msgs", "15" }, { "queue_max_msgs", "65536" },
	{ "queue_max_bytes", "4294967296" },
	{ "max_msg_size", "1023" }, { "max_msg_size", "67108865" },
	{ "smtp_timeout", "4s" }, { "smtp_timeout", "2h" }, { "smtp_timeout", "300" },
	{ "smtp_data_timeout", "" }, { "smtp_data_timeout", "61m" },
	{ "smtp_min_data_rate", "1000001" }, { "smtp_min_data_rate", "fast" },
	{ "retry_schedule", "" }, { "retry_schedule", "5m,,x" }, { "retry_schedule", "30s" },
	{ "retry_schedule", "5m,2d" }, { "retry_schedule", "5" },
	{ "max_queue_age", "59m" }, { "max_queue_age", "31d" }, { "max_queue_age", "5x" },
	{ "max_queue_age", "d" }, { "max_queue_age", "" }, { "max_queue_age", "86400" },
	{ "max_queue_age", "2w" }, { "retry_schedule", "5m,15m," }, { "retry_schedule", "5m 15m" },
	{ "tls_default", "DANE" }, { "tls_default", "off" }, { "tls_default", "" },
	{ "tls_policy", "example.com" }, { "tls_policy", "example.com=maybe" },
	{ "tls_policy", "=dane" }, { "tls_policy", "[smtp.relay:587=verify" },
	{ "tls_policy", "a.example=may a.example=dane" }, { "tls_policy", "[relay]:0=verify" },
	{ "smarthost", "[relay.example]:x" }, { "smarthost", "a b" },
	{ "smarthost_auth", "nocolon" }, { "smarthost_auth", ":pass" }, { "smarthost_auth", "u:p q" },
	{ "console_password", "short" }, { "console_password", "" }, { "console_password", "with space1" },
	{ "web_http", "maybe" }, { "web_http", "" },
	{ "smtp_delivery_redirect", "a b" }, { "smtp_delivery_redirect", "[127.0.0.1]:x" },
	{ "dns_probe_name", "a b" },
	{ "tls_import", "key.pem" }, { "tls_import", "/a /b /c" }, { "tls_import", "/a\x01b" },
	{ "smtp_tls_client_cert", "sometimes" },
	{ "web_port", "65536" }, { "web_port", "-1" }, { "web_port", "https" }, { "web_port", "" },
	{ "web_http_port", "65536" }, { "web_http_port", "80x" }, { "web_http_port", "" },
	{ "no_such_key", "x" }, { "tls_key", "x" },
};

static void every_key_accepts_good_values(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char err[CONFIG_ERR_MAX] = "";
		int r = config_set(&s, good[i].key, good[i].value, err, sizeof(err));
		if (r != 0)
			fail_msg("%s=%s refused: %s", good[i].key, good[i].value, err);
		char buf[CONFIG_VALUE_MAX + 1];
		assert_int_equal(config_get(&s, NULL, good[i].key, buf, sizeof(buf)), CONFIG_SRC_SAVED);
	}
	/* Every key of the table has at least one good value above. */
	for (unsigned k = 0; k < config_key_count(); k++) {
		bool seen = false;
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			seen |= strcmp(good[i].key, config_key_at(k)->name) == 0;
		if (!seen)
			fail_msg("no good-value test for %s", config_key_at(k)->name);
	}
	flashsim_close(fs);
}

static void every_bad_value_is_refused_with_a_reason_and_changes_nothing(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(settings_set(&s, "tls_key", "KEY", 3), 0);
	for (unsigned k = 0; k < config_key_count(); k++) {
		bool seen = false;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			seen |= strcmp(bad[i].key, config_key_at(k)->name) == 0;
		if (!seen && config_key_at(k)->type != CONFIG_T_ADDR)
			fail_msg("no bad-value test for %s", config_key_at(k)->name);
	}
	uint8_t before[SETTINGS_IMAGE_MAX];
	size_t len = s.len;
	memcpy(before, s.image, len);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[CONFIG_ERR_MAX] = "";
		int r = config_set(&s, bad[i].key, bad[i].value, err, sizeof(err));
		if (r == 0)
			fail_msg("%s='%s' accepted", bad[i].key, bad[i].value);
		assert_true(r == CONFIG_EINVAL || r == CONFIG_ENOKEY);
		if (strlen(err) < 10)
			fail_msg("%s='%s': no reason given ('%s')", bad[i].key, bad[i].value, err);
		assert_int_equal(s.len, len);
		assert_memory_equal(s.image, before, len);
	}
	char err[CONFIG_ERR_MAX];
	config_set(&s, "smtp_port", "70000", err, sizeof(err));
	assert_non_null(strstr(err, "1 to 65535"));
	config_set(&s, "bogus", "1", err, sizeof(err));
	assert_non_null(strstr(err, "no such key"));
	flashsim_close(fs);
}

static const char *fake_board(const char *key)
{
	if (strcmp(key, "hostname") == 0)
		return "board.example";
	if (strcmp(key, "smtp_port") == 0)
		return "2525";
	if (strcmp(key, "max_queue_age") == 0)
		return "forever"; /* invalid: must not be used */
	return NULL;
}

static void precedence_saved_then_board_then_default(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[CONFIG_VALUE_MAX + 1], err[CONFIG_ERR_MAX];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(config_get(&s, fake_board, "hostname", buf, sizeof(buf)), CONFIG_SRC_BOARD);
	assert_string_equal(buf, "board.example");
	assert_int_equal(config_get(&s, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_DEFAULT);
	assert_string_equal(buf, "danegate.lan");
	uint32_t v;
	assert_int_equal(config_get_uint(&s, fake_board, "smtp_port", &v), 0);
	assert_int_equal(v, 2525);
	/* an invalid board value falls through to the default */
	assert_int_equal(config_get_duration(&s, fake_board, "max_queue_age", &v), 0);
	assert_int_equal(v, 5 * 86400);
	assert_int_equal(config_set(&s, "hostname", "saved.example", err, sizeof(err)), 0);
	assert_int_equal(config_get(&s, fake_board, "hostname", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "saved.example");
	/* a saved value that does not validate (old firmware, a tool) is skipped */
	assert_int_equal(settings_set(&s, "smtp_port", "99999", 5), 0);
	assert_int_equal(config_get_uint(&s, fake_board, "smtp_port", &v), 0);
	assert_int_equal(v, 2525);
	assert_int_equal(config_unset(&s, "hostname", err, sizeof(err)), 0);
	assert_int_equal(config_get(&s, fake_board, "hostname", buf, sizeof(buf)), CONFIG_SRC_BOARD);
	/* typed getters */
	bool b = true;
	assert_int_equal(config_get_bool(&s, NULL, "web_http", &b), 0);
	assert_false(b);
	uint32_t steps[CONFIG_RETRY_MAX];
	assert_int_equal(config_get_durations(&s, NULL, "retry_schedule", steps, CONFIG_RETRY_MAX), 6);
	assert_int_equal(steps[0], 300);
	assert_int_equal(steps[5], 4 * 3600);
	assert_int_equal(config_get_uint(&s, NULL, "web_http", &v), CONFIG_EINVAL);
	assert_int_equal(config_get(&s, NULL, "tls_cert", buf, sizeof(buf)), CONFIG_ENOKEY);
	/* a saved value too long for the caller's buffer is an error, not the default */
	assert_int_equal(config_set(&s, "hostname", "a-rather-long-name.example", err, sizeof(err)), 0);
	assert_int_equal(config_get(&s, fake_board, "hostname", buf, 8), SETTINGS_ENOSPC);
	flashsim_close(fs);
}

static void save_and_reload_through_flash(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[CONFIG_VALUE_MAX + 1], err[CONFIG_ERR_MAX];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(config_set(&s, "hostname", "gw.example.net", err, sizeof(err)), 0);
	assert_int_equal(config_set(&s, "retry_schedule", "10m,1h", err, sizeof(err)), 0);
	assert_int_equal(config_save(&s), 0);
	/* changed after the save, not saved: gone after the "reboot" */
	assert_int_equal(config_set(&s, "hostname", "unsaved.example", err, sizeof(err)), 0);
	assert_int_equal(settings_open(&t, flashsim_flash(fs), 2), 0);
	assert_int_equal(config_get(&t, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "gw.example.net");
	assert_int_equal(config_get(&t, NULL, "retry_schedule", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "10m,1h");
	flashsim_close(fs);
}

static void passwords_are_hashed_checked_and_never_shown(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[CONFIG_VALUE_MAX + 1], err[CONFIG_ERR_MAX];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(config_set(&s, "smtp_users", "alice:wonderland bob:builder", err, sizeof(err)), 0);
	assert_int_equal(config_get(&s, NULL, "smtp_users", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_null(strstr(buf, "wonderland"));
	assert_non_null(strstr(buf, "alice:$pbkdf2-sha256$10000$"));
	assert_int_equal(config_users_check(buf, "alice", "wonderland"), 0);
	assert_int_equal(config_users_check(buf, "bob", "builder"), 0);
	assert_int_equal(config_users_check(buf, "alice", "builder"), -1);
	assert_int_equal(config_users_check(buf, "carol", "wonderland"), -1);
	assert_int_equal(config_users_check(buf, "alice", "wonderlan"), -1);
	/* legacy plaintext (provisioned) still checks */
	assert_int_equal(config_users_check("dave:plain1", "dave", "plain1"), 0);
	assert_int_equal(config_users_check("dave:plain1", "dave", "plain"), -1);
	assert_int_equal(config_show_value(&s, NULL, "smtp_users", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "alice:*** bob:***");

	/* the same password twice gives two different salts */
	char h1[CONFIG_HASH_TEXT], h2[CONFIG_HASH_TEXT];
	assert_int_equal(config_hash_password("correcthorse", h1, sizeof(h1)), 0);
	assert_int_equal(config_hash_password("correcthorse", h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(config_hash_check(h1, "correcthorse"), 0);
	assert_int_equal(config_hash_check(h2, "correcthorsf"), -1);

	assert_int_equal(config_show_value(&s, NULL, "console_password", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "(not set)");
	assert_int_equal(config_set(&s, "console_password", "correcthorse", err, sizeof(err)), 0);
	assert_int_equal(config_show_value(&s, NULL, "console_password", buf, sizeof(buf)),
			 CONFIG_SRC_SAVED);
	assert_string_equal(buf, "(set)");
	assert_int_equal(config_get(&s, NULL, "console_password", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_true(config_hash_is_hash(buf));
	assert_int_equal(config_hash_check(buf, "correcthorse"), 0);

	assert_int_equal(config_set(&s, "smarthost_auth", "me:topsecret", err, sizeof(err)), 0);
	assert_int_equal(config_show_value(&s, NULL, "smarthost_auth", buf, sizeof(buf)),
			 CONFIG_SRC_SAVED);
	assert_string_equal(buf, "me:***");

	/* PBKDF2-HMAC-SHA256 known answers (Python hashlib.pbkdf2_hmac with
	 * salt b"0123456789abcdef"): our one-block construction is the standard. */
	assert_int_equal(config_hash_check("$pbkdf2-sha256$1$30313233343536373839616263646566$"
					   "ef9d5f6add4a5d19f4a7fc92b48f2351ea95bb977642c0071ed4e4010a42cb6c",
					   "password"),
			 0);
	assert_int_equal(config_hash_check("$pbkdf2-sha256$1000$30313233343536373839616263646566$"
					   "8514638175a45bc45eb1f22f04ff7d27f4f8be480498c455ff4b494ce8d1e7d2",
					   "password"),
			 0);
	assert_int_equal(config_hash_check("$pbkdf2-sha256$1000$30313233343536373839616263646566$"
					   "8514638175a45bc45eb1f22f04ff7d27f4f8be480498c455ff4b494ce8d1e7d2",
					   "Password"),
			 -1);
	flashsim_close(fs);
}

static void factory_reset_empties_and_saves(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[CONFIG_VALUE_MAX + 1], err[CONFIG_ERR_MAX];
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	assert_int_equal(config_set(&s, "hostname", "gw.example.net", err, sizeof(err)), 0);
	assert_int_equal(settings_set(&s, "tls_key", "KEY", 3), 0);
	assert_int_equal(config_save(&s), 0);
	assert_int_equal(config_factory_reset(&s), 0);
	assert_int_equal(settings_open(&t, flashsim_flash(fs), 2), 0);
	assert_int_equal(t.len, 0);
	assert_int_equal(config_get(&t, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_DEFAULT);
	const uint8_t *v;
	assert_int_equal(settings_get(&t, "tls_key", &v), SETTINGS_ENOENT);
	flashsim_close(fs);
}

static void import_key_value_text(void **state)
{
	(void)state;
	struct flashsim *fs = sim();
	char buf[CONFIG_VALUE_MAX + 1], err[CONFIG_ERR_MAX] = "";
	unsigned line = 0;
	assert_int_equal(settings_open(&s, flashsim_flash(fs), 2), 0);
	const char *good_text = "# danegate settings\n"
				"hostname = gw.example.org\r\n"
				"\n"
				"  relay_networks =  10.0.0.0/8 192.168.0.0/16  \n"
				"smtp_users=alice:wonderland\n"
				"max_queue_age = 3d";
	assert_int_equal(config_import(&s, good_text, &line, err, sizeof(err)), 0);
	assert_int_equal(config_get(&s, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "gw.example.org");
	assert_int_equal(config_get(&s, NULL, "relay_networks", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "10.0.0.0/8 192.168.0.0/16");
	assert_int_equal(config_get(&s, NULL, "smtp_users", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_int_equal(config_users_check(buf, "alice", "wonderland"), 0);
	assert_int_equal(config_get(&s, NULL, "max_queue_age", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "3d");
	/* one bad line: nothing of the text is applied */
	size_t len = s.len;
	const char *bad_text = "hostname = other.example\nsmtp_port = 0\n";
	assert_int_equal(config_import(&s, bad_text, &line, err, sizeof(err)), CONFIG_EINVAL);
	assert_int_equal(line, 2);
	assert_non_null(strstr(err, "smtp_port"));
	assert_int_equal(s.len, len);
	assert_int_equal(config_get(&s, NULL, "hostname", buf, sizeof(buf)), CONFIG_SRC_SAVED);
	assert_string_equal(buf, "gw.example.org");
	assert_int_equal(config_import(&s, "hostname\n", &line, err, sizeof(err)), CONFIG_EINVAL);
	assert_int_equal(line, 1);
	assert_int_equal(config_import(&s, "a\nnosuch = 1\n", &line, err, sizeof(err)), CONFIG_EINVAL);
	assert_int_equal(line, 1);
	assert_int_equal(config_import(&s, "\n\nnosuch = 1\n", &line, err, sizeof(err)), CONFIG_ENOKEY);
	assert_int_equal(line, 3);
	flashsim_close(fs);
}

struct seen {
	unsigned n;
	char kv[4][64];
	int fail_at; /* 1-based call that fails, 0: none */
};

static int collect(void *ctx, const char *key, const char *value, char *err, size_t errsize)
{
	struct seen *sn = ctx;
	if (++sn->n == (unsigned)sn->fail_at) {
		snprintf(err, errsize, "table full");
		return -28;
	}
	if (sn->n <= 4)
		snprintf(sn->kv[sn->n - 1], sizeof(sn->kv[0]), "%s|%s", key, value);
	return 0;
}

/* The walker the host board's --config file and config_import share:
 * every line validated, handed over trimmed, the first error stops it
 * with its line number (from validation or from the callback). */
static void parse_text_walks_validated_lines(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX] = "";
	unsigned line = 0;
	struct seen sn = { 0 };
	const char *text = "# board file\r\n"
			   "hostname =  gw.example.org \r\n"
			   "\t\n"
			   "smtp_port=2525\n"
			   "   # indented comment\n"
			   "relay_networks = 10.0.0.0/8";
	assert_int_equal(config_parse_text(text, collect, &sn, &line, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 3);
	assert_string_equal(sn.kv[0], "hostname|gw.example.org");
	assert_string_equal(sn.kv[1], "smtp_port|2525");
	assert_string_equal(sn.kv[2], "relay_networks|10.0.0.0/8");
	/* validation only (fn NULL) finds the bad value and its line */
	assert_int_equal(config_parse_text("hostname = a\nsmtp_port = 70000\n", NULL, NULL, &line,
					   err, sizeof(err)),
			 CONFIG_EINVAL);
	assert_int_equal(line, 2);
	assert_non_null(strstr(err, "smtp_port"));
	/* a callback error stops the walk at its line */
	sn = (struct seen){ .fail_at = 2 };
	assert_int_equal(config_parse_text("hostname = a\n\nsmtp_port = 25\nhostname = b\n", collect,
					   &sn, &line, err, sizeof(err)),
			 -28);
	assert_int_equal(line, 3);
	assert_string_equal(err, "table full");
	assert_int_equal(sn.n, 2);
	/* a value over CONFIG_VALUE_MAX is refused, not cut */
	static char big[CONFIG_VALUE_MAX + 64];
	int n = snprintf(big, sizeof(big), "hostname = ");
	memset(big + n, 'a', sizeof(big) - (size_t)n - 1);
	assert_true(config_parse_text(big, NULL, NULL, &line, err, sizeof(err)) < 0);
	assert_int_equal(line, 1);
}

static void durations_parse(void **state)
{
	(void)state;
	uint32_t v;
	assert_int_equal(config_parse_duration("5d", &v), 0);
	assert_int_equal(v, 432000);
	assert_int_equal(config_parse_duration("1h30m", &v), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(config_parse_duration("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(config_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(config_parse_duration("1h30", &v), CONFIG_EINVAL);
	assert_int_equal(config_parse_duration("h", &v), CONFIG_EINVAL);
	assert_int_equal(config_parse_duration("99999999999s", &v), CONFIG_EINVAL);
	assert_int_equal(config_parse_duration("", &v), CONFIG_EINVAL);
}

static void doc_lists_every_key(void **state)
{
	(void)state;
	/* Compiled from the repository root (tests/tests.mk), run from it. */
	FILE *f = fopen("docs/config.md", "r");
	if (!f)
		f = fopen("../../docs/config.md", "r");
	assert_non_null(f);
	static char doc[32768];
	size_t n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (unsigned k = 0; k < config_key_count(); k++) {
		char pat[64];
		snprintf(pat, sizeof(pat), "| `%s` |", config_key_at(k)->name);
		if (!strstr(doc, pat))
			fail_msg("docs/config.md has no row for %s", config_key_at(k)->name);
		assert_true(strlen(config_key_at(k)->help) > 10);
		assert_int_equal(config_validate(config_key_at(k)->name, config_key_at(k)->def, NULL, 0) == 0 ||
					 config_key_at(k)->type == CONFIG_T_HASH,
				 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key_accepts_good_values),
		cmocka_unit_test(every_bad_value_is_refused_with_a_reason_and_changes_nothing),
		cmocka_unit_test(precedence_saved_then_board_then_default),
		cmocka_unit_test(save_and_reload_through_flash),
		cmocka_unit_test(passwords_are_hashed_checked_and_never_shown),
		cmocka_unit_test(factory_reset_empties_and_saves),
		cmocka_unit_test(import_key_value_text),
		cmocka_unit_test(parse_text_walks_validated_lines),
		cmocka_unit_test(durations_parse),
		cmocka_unit_test(doc_lists_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
