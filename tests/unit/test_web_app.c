/* test_web_app — the web console's rules against a small fake relay
 * (settings and a queue on RAM flash simulators, a fake clock): no page
 * without login, login needs a password set on the serial console, a
 * fresh session id at login (no fixation), CSRF on every POST (missing or
 * wrong: 403 and nothing changes), session expiry, the login rate limit
 * (per client address), the TLSA page's PEM import form,
 * the security headers, out-of-range settings refused, held messages with
 * their reason, the probe page, and windowed rendering = whole page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support/creds_test_util.h"
#include "web/web_app.h"
#include "relay/trust.h"
#include "data/dane/fixtures.h"
#include "../../board/host/flashsim.h"

static struct rig {
	struct flashsim *cfs, *qfs;
	struct settings settings;
	struct queue q;
	_Alignas(8) uint8_t index[16 * 1024];
	struct console_stats stats;
	struct console_env env;
	struct web_app app;
	struct http_parser p;
	struct web_resp resp;
	char out[65536];
	char cookie[80]; /* the browser's dg_sid */
	uint32_t id;
} *r;

static uint64_t fake_ms = 1000;
static uint64_t clock_ms(void) { return fake_ms; }
static int64_t clock_wall(void) { return 1700000000; }

static int probe_calls;
static void (*probe_cb)(void *ctx, const char *s);
static void *probe_ctx;
static int fake_probe(const char *domain, void (*line)(void *ctx, const char *s), void *ctx)
{
	probe_calls++;
	probe_cb = line;
	probe_ctx = ctx;
	char l[128];
	snprintf(l, sizeof(l), "probe: MX of %s ...", domain);
	line(ctx, l);
	return 0;
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
	struct queue_config qcfg = { .flash = flashsim_flash(r->qfs), .max_msgs = 32,
				     .max_msg_size = 4096, .index_buf = r->index,
				     .index_buf_size = sizeof(r->index) };
	assert_int_equal(queue_mount(&r->q, &qcfg), 0);
	const char *rc[1] = { "bob@example.com" };
	static struct queue_writer w;
	assert_int_equal(queue_msg_begin(&r->q, &w, "alice@lan.example", rc, 1, 0, 0, 1700000000 - 60), 0);
	assert_int_equal(queue_msg_write(&w, "Subject: x\r\n\r\nhi\r\n", 18), 0);
	assert_int_equal(queue_msg_commit(&w, &r->id), 0);
	r->env = (struct console_env){ .settings = &r->settings, .queue = &r->q,
				       .stats = &r->stats, .now_ms = clock_ms,
				       .wall_time = clock_wall };
	struct web_app_config ac = { .env = &r->env, .https = true };
	assert_int_equal(web_app_init(&r->app, &ac), 0);
	fake_ms = 1000;
	probe_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	flashsim_close(r->cfs);
	flashsim_close(r->qfs);
	free(r);
	return 0;
}

/* One request through the parser and the app; the whole response (head
 * and body, unchunked) in r->out; the browser keeps a cookie it is given.
 * Returns the status. */
static char *lend_import_buffer(void *ctx, const struct http_parser *p, size_t len)
{
	(void)len;
	/* as web.c lends it: to a logged-in session only */
	return web_app_session_valid(&r->app, p->sid) ? tls_import_text_claim(ctx) : NULL;
}

static int request(const char *method, const char *target, const char *body, bool https)
{
	static char req[16384];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: gw\r\n", method, target);
	if (r->cookie[0])
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Cookie: dg_sid=%s\r\n", r->cookie);
	if (body)
		n += snprintf(req + n, sizeof(req) - (size_t)n,
			      "Content-Type: application/x-www-form-urlencoded\r\n"
			      "Content-Length: %zu\r\n",
			      strlen(body));
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body ? body : "");
	r->p.big_body = lend_import_buffer;
	r->p.big_ctx = &r->p;
	http_parser_reset(&r->p);
	http_feed(&r->p, (const uint8_t *)req, (size_t)n);
	web_app_handle(&r->app, &r->p, https, &r->resp);
	tls_import_text_release(&r->p);
	struct web_sink s = { .buf = r->out, .size = sizeof(r->out) - 1 };
	web_app_head(&r->app, &r->resp, https, true, &s);
	if (!r->resp.head_only)
		web_app_body(&r->app, &r->resp, &s);
	assert_true(s.pos < sizeof(r->out)); /* the test buffer held it all */
	r->out[s.len] = '\0';
	web_app_sent(&r->app, &r->resp);
	const char *c = strstr(r->out, "Set-Cookie: dg_sid=");
	if (c) {
		c += strlen("Set-Cookie: dg_sid=");
		size_t l = strcspn(c, ";\r");
		snprintf(r->cookie, sizeof(r->cookie), "%.*s", (int)l, c);
	}
	return r->resp.status;
}

static void token(char out[40])
{
	const char *t = strstr(r->out, "name=csrf value=");
	assert_non_null(t);
	snprintf(out, 40, "%.32s", t + strlen("name=csrf value="));
}

static void set_password(const char *pw)
{
	char err[CONFIG_ERR_MAX];
	assert_int_equal(config_set(&r->settings, "console_password", pw, err, sizeof(err)), 0);
	assert_int_equal(config_save(&r->settings), 0); /* as passwd does */
}

static void login(void)
{
	char tok[40], body[128];
	set_password("correct-horse-1");
	assert_int_equal(request("GET", "/login", NULL, true), 200);
	token(tok);
	snprintf(body, sizeof(body), "csrf=%s&password=correct-horse-1", tok);
	assert_int_equal(request("POST", "/login", body, true), 303);
	assert_non_null(strstr(r->out, "Location: /\r\n"));
}

static void get_setting(const char *key, char *buf, size_t size)
{
	assert_true(config_get(&r->settings, NULL, key, buf, size) >= 0);
}

static void test_nothing_without_login(void **state)
{
	(void)state;
	static const char *const pages[] = { "/", "/queue", "/log", "/settings", "/probe", "/tlsa",
					     "/ca" };
	for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		assert_int_equal(request("GET", pages[i], NULL, true), 303);
		assert_non_null(strstr(r->out, "Location: /login"));
		assert_null(strstr(r->out, "<pre>"));
	}
	assert_int_equal(request("POST", "/settings", "a=save", true), 403);
	assert_int_equal(request("POST", "/queue", "a=flush", true), 403);
	/* a made-up session id is no session */
	strcpy(r->cookie, "00112233445566778899aabbccddeeff");
	assert_int_equal(request("GET", "/", NULL, true), 303);
	assert_int_equal(request("GET", "/nope", NULL, true), 404);
	assert_int_equal(request("GET", "/style.css", NULL, true), 200);
	assert_non_null(strstr(r->out, "Content-Type: text/css"));
}

static void test_no_default_password(void **state)
{
	(void)state;
	char tok[40], body[128];
	assert_int_equal(request("GET", "/login", NULL, true), 200);
	assert_non_null(strstr(r->out, "passwd"));
	assert_null(strstr(r->out, "action=/login"));
	assert_non_null(strstr(r->out, "action=/setup")); /* the one-time code's form */
	assert_non_null(strstr(r->out, "Set the password</button></form>"));
	/* no password set: nothing logs in, not even an empty one */
	char pre[80];
	strcpy(pre, r->cookie);
	assert_int_equal(strlen(pre), 32);
	assert_int_equal(request("GET", "/login", NULL, true), 200); /* same pre-login cookie */
	assert_string_equal(r->cookie, pre);
	set_password("correct-horse-1");
	assert_int_equal(request("GET", "/login", NULL, true), 200);
	token(tok);
	config_unset(&r->settings, "console_password", NULL, 0);
	snprintf(body, sizeof(body), "csrf=%s&password=", tok);
	assert_int_equal(request("POST", "/login", body, true), 403);
	assert_int_equal(request("GET", "/", NULL, true), 303);
}

static void test_setup_code(void **state)
{
	(void)state;
	char tok[40], body[256], code[16];
	/* no password at boot: a one-time code, logged, shown nowhere on the web */
	assert_int_equal(strlen(r->app.setup_code), WEB_SETUP_CODE_LEN);
	snprintf(code, sizeof(code), "%s", r->app.setup_code);
	assert_int_equal(request("GET", "/login", NULL, true), 200);
	assert_non_null(strstr(r->out, "action=/setup"));
	assert_null(strstr(r->out, code));
	token(tok);
	/* wrong code, mismatched or short passwords: nothing changes */
	snprintf(body, sizeof(body), "csrf=%s&code=AAAA-AAAA&password=new-pass-1&again=new-pass-1", tok);
	if (strcmp(code, "AAAA-AAAA") != 0)
		assert_int_equal(request("POST", "/setup", body, true), 403);
	snprintf(body, sizeof(body), "csrf=%s&code=%s&password=new-pass-1&again=new-pass-2", tok, code);
	assert_int_equal(request("POST", "/setup", body, true), 400);
	snprintf(body, sizeof(body), "csrf=%s&code=%s&password=short&again=short", tok, code);
	assert_int_equal(request("POST", "/setup", body, true), 400);
	snprintf(body, sizeof(body), "code=%s&password=new-pass-1&again=new-pass-1", code);
	assert_int_equal(request("POST", "/setup", body, true), 403); /* no token */
	char h[CONFIG_VALUE_MAX + 1];
	config_get(&r->settings, NULL, "console_password", h, sizeof(h));
	assert_string_equal(h, "");
	/* the right code (any case): password set and saved, logged in */
	for (char *c = code; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	snprintf(body, sizeof(body), "csrf=%s&code=%s&password=new-pass-1&again=new-pass-1", tok, code);
	assert_int_equal(request("POST", "/setup", body, true), 303);
	assert_int_equal(request("GET", "/", NULL, true), 200);
	assert_false(r->settings.dirty);
	config_get(&r->settings, NULL, "console_password", h, sizeof(h));
	assert_int_equal(config_hash_check(h, "new-pass-1"), 0);
	/* one time only */
	assert_int_equal(request("POST", "/setup", body, true), 403);
	assert_string_equal(r->app.setup_code, "");
}

static void test_login_and_session_fixation(void **state)
{
	(void)state;
	char tok[40], body[128];
	set_password("correct-horse-1");
	/* an attacker plants a cookie value of their choosing */
	strcpy(r->cookie, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(request("GET", "/login", NULL, true), 200);
	assert_string_equal(r->cookie, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	token(tok);
	/* login without the form's token, or with a wrong one: refused */
	assert_int_equal(request("POST", "/login", "password=correct-horse-1", true), 403);
	snprintf(body, sizeof(body), "csrf=%.31s0&password=correct-horse-1", tok);
	if (tok[31] == '0')
		body[5 + 31] = '1';
	assert_int_equal(request("POST", "/login", body, true), 403);
	snprintf(body, sizeof(body), "csrf=%s&password=correct-horse-1", tok);
	assert_int_equal(request("POST", "/login", body, true), 303);
	assert_non_null(strstr(r->out, "HttpOnly; SameSite=Strict; Secure"));
	/* the session id is new: the planted value never becomes a session */
	assert_string_not_equal(r->cookie, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(request("GET", "/", NULL, true), 200);
	assert_non_null(strstr(r->out, "<h1>Dashboard</h1>"));
	char good[80];
	strcpy(good, r->cookie);
	strcpy(r->cookie, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(request("GET", "/", NULL, true), 303);
	strcpy(r->cookie, good);
	/* plain HTTP: the cookie is not marked Secure */
	r->cookie[0] = '\0';
	assert_int_equal(request("GET", "/login", NULL, false), 200);
	assert_non_null(strstr(r->out, "SameSite=Strict\r\n"));
}

static void test_headers_everywhere(void **state)
{
	(void)state;
	login();
	static const char *const targets[] = { "/", "/login", "/queue", "/log", "/settings",
					       "/probe", "/tlsa", "/nope", "/style.css" };
	for (unsigned i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		request("GET", targets[i], NULL, true);
		assert_non_null(strstr(r->out, "Content-Security-Policy: default-src 'self'; "
					       "frame-ancestors 'none'"));
		assert_non_null(strstr(r->out, "X-Frame-Options: DENY\r\n"));
		assert_non_null(strstr(r->out, "X-Content-Type-Options: nosniff\r\n"));
		assert_non_null(strstr(r->out, "Referrer-Policy: no-referrer\r\n"));
		assert_non_null(strstr(r->out, "Cache-Control: no-store\r\n"));
		/* no external resource, no script */
		assert_null(strstr(r->out, "http://"));
		assert_null(strstr(r->out, "https://"));
		assert_null(strstr(r->out, "<script"));
		if (!strstr(r->out, "text/css") && r->resp.status != 303)
			assert_non_null(strstr(r->out, "</main></body></html>\n"));
	}
	assert_int_equal(request("HEAD", "/", NULL, true), 200);
	assert_null(strstr(r->out, "<html"));
}

/* The trust anchors page: the list (console ca list) and delete, with
 * the session's CSRF token like every form. */
static void test_ca_page_lists_and_deletes(void **state)
{
	(void)state;
	char tok[40], body[128];
	login();
	assert_int_equal(request("GET", "/ca", NULL, true), 200);
	assert_non_null(strstr(r->out, "no trust anchors"));
	assert_int_equal(trust_add(&r->settings, int_a_cert_der, sizeof(int_a_cert_der)), 0);
	assert_int_equal(request("GET", "/ca", NULL, true), 200);
	assert_non_null(strstr(r->out, "1: subject CN=Danegate Test Intermediate A"));
	assert_non_null(strstr(r->out, "<textarea name=pem"));
	token(tok);
	assert_int_equal(request("POST", "/ca", "csrf=00000000000000000000000000000000&a=delete&n=1",
				 true),
			 403);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 1);
	snprintf(body, sizeof(body), "csrf=%s&a=delete&n=2", tok);
	assert_int_equal(request("POST", "/ca", body, true), 400);
	snprintf(body, sizeof(body), "csrf=%s&a=delete&n=1", tok);
	assert_int_equal(request("POST", "/ca", body, true), 303);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 0);
	assert_false(r->settings.dirty); /* saved */
	assert_int_equal(request("GET", "/ca", NULL, true), 200);
	assert_non_null(strstr(r->out, "deleted and saved"));
}

static void test_csrf_enforced(void **state)
{
	(void)state;
	char tok[40], body[256], host[64];
	login();
	assert_int_equal(request("GET", "/settings", NULL, true), 200);
	token(tok);
	/* missing token */
	assert_int_equal(request("POST", "/settings", "a=set&key=hostname&value=evil.example", true),
			 403);
	get_setting("hostname", host, sizeof(host));
	assert_string_equal(host, "danegate.lan");
	/* wrong token (another session's would be wrong too) */
	assert_int_equal(request("POST", "/settings",
				 "csrf=00000000000000000000000000000000&a=set&key=hostname&value=evil",
				 true),
			 403);
	get_setting("hostname", host, sizeof(host));
	assert_string_equal(host, "danegate.lan");
	assert_false(r->settings.dirty);
	/* right token: set, shown once, saved by the next action */
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=hostname&value=gw.example.org", tok);
	assert_int_equal(request("POST", "/settings", body, true), 303);
	get_setting("hostname", host, sizeof(host));
	assert_string_equal(host, "gw.example.org");
	assert_int_equal(request("GET", "/settings", NULL, true), 200);
	assert_non_null(strstr(r->out, "hostname set"));
	assert_int_equal(request("GET", "/settings", NULL, true), 200);
	assert_null(strstr(r->out, "hostname set")); /* once */
	snprintf(body, sizeof(body), "csrf=%s&a=save", tok);
	assert_int_equal(request("POST", "/settings", body, true), 303);
	assert_false(r->settings.dirty);
	/* logout needs the token too */
	assert_int_equal(request("POST", "/logout", "", true), 403);
	snprintf(body, sizeof(body), "csrf=%s", tok);
	assert_int_equal(request("POST", "/logout", body, true), 303);
	assert_int_equal(request("GET", "/", NULL, true), 303);
}

static void test_bad_setting_changes_nothing(void **state)
{
	(void)state;
	char tok[40], body[256], v[64];
	login();
	request("GET", "/settings", NULL, true);
	token(tok);
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=smtp_port&value=99999", tok);
	assert_int_equal(request("POST", "/settings", body, true), 400);
	assert_non_null(strstr(r->out, "error: smtp_port"));
	get_setting("smtp_port", v, sizeof(v));
	assert_string_equal(v, "25");
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=nosuch&value=1", tok);
	assert_int_equal(request("POST", "/settings", body, true), 400);
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=hostname&value=a%%0Ab", tok);
	assert_int_equal(request("POST", "/settings", body, true), 400);
	/* the password is never set from a form field */
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=console_password&value=x", tok);
	assert_int_equal(request("POST", "/settings", body, true), 400);
	/* a key with a space cannot smuggle a second command word */
	snprintf(body, sizeof(body), "csrf=%s&a=set&key=hostname+x&value=y", tok);
	assert_int_equal(request("POST", "/settings", body, true), 400);
	get_setting("hostname", v, sizeof(v));
	assert_string_equal(v, "danegate.lan");
	assert_false(r->settings.dirty);
}

static void test_session_expiry(void **state)
{
	(void)state;
	login();
	assert_int_equal(request("GET", "/", NULL, true), 200);
	fake_ms += WEB_SESSION_IDLE_MS - 1000;
	assert_int_equal(request("GET", "/", NULL, true), 200); /* use keeps it alive */
	fake_ms += WEB_SESSION_IDLE_MS + 1;
	assert_int_equal(request("GET", "/", NULL, true), 303);
	/* and the absolute limit */
	login();
	for (uint64_t t = 0; t < WEB_SESSION_MAX_MS; t += WEB_SESSION_IDLE_MS / 2) {
		fake_ms += WEB_SESSION_IDLE_MS / 2;
		request("GET", "/", NULL, true);
	}
	assert_int_equal(r->resp.status, 303);
}

static void test_login_rate_limited(void **state)
{
	(void)state;
	char tok[40], body[128];
	set_password("correct-horse-1");
	request("GET", "/login", NULL, true);
	token(tok);
	snprintf(body, sizeof(body), "csrf=%s&password=wrong-one", tok);
	for (int i = 0; i < WEB_LOGIN_TRIES; i++)
		assert_int_equal(request("POST", "/login", body, true), 403);
	snprintf(body, sizeof(body), "csrf=%s&password=correct-horse-1", tok);
	assert_int_equal(request("POST", "/login", body, true), 429);
	assert_int_equal(request("GET", "/", NULL, true), 303);
	fake_ms += WEB_LOGIN_PAUSE_MS;
	assert_int_equal(request("POST", "/login", body, true), 303);
}

static void test_queue_hold_and_reason(void **state)
{
	(void)state;
	char tok[40], body[128], t[64];
	login();
	assert_int_equal(request("GET", "/queue", NULL, true), 200);
	snprintf(t, sizeof(t), "%08lX", (unsigned long)r->id);
	assert_non_null(strstr(r->out, t));
	assert_non_null(strstr(r->out, "&lt;alice@lan.example&gt;"));
	token(tok);
	snprintf(body, sizeof(body), "csrf=%s&a=hold&id=%s", tok, t);
	assert_int_equal(request("POST", "/queue", body, true), 303);
	snprintf(body, sizeof(body), "/queue?id=%s", t);
	assert_int_equal(request("GET", body, NULL, true), 200);
	assert_non_null(strstr(r->out, "held by the operator"));
	/* a bad id and an unknown action change nothing */
	snprintf(body, sizeof(body), "csrf=%s&a=delete&id=zz+1", tok);
	assert_int_equal(request("POST", "/queue", body, true), 400);
	snprintf(body, sizeof(body), "csrf=%s&a=explode&id=%s", tok, t);
	assert_int_equal(request("POST", "/queue", body, true), 400);
	struct queue_msg_info mi;
	assert_int_equal(queue_msg_info(&r->q, r->id, &mi), 0);
	assert_true(mi.held);
}

static void test_probe_page(void **state)
{
	(void)state;
	char tok[40], body[128];
	login();
	assert_int_equal(request("GET", "/probe", NULL, true), 200);
	assert_non_null(strstr(r->out, "probe unavailable"));
	token(tok);
	snprintf(body, sizeof(body), "csrf=%s&domain=example.org", tok);
	assert_int_equal(request("POST", "/probe", body, true), 503);
	assert_non_null(strstr(r->out, "probe unavailable"));
	/* with a probe hook: its lines are shown, the page refreshes until done */
	r->env.probe = fake_probe; /* the delivery side's hook (console_env) */
	snprintf(body, sizeof(body), "csrf=%s&domain=bad%%3Bdomain", tok);
	assert_int_equal(request("POST", "/probe", body, true), 400);
	assert_int_equal(probe_calls, 0);
	snprintf(body, sizeof(body), "csrf=%s&domain=example.org", tok);
	assert_int_equal(request("POST", "/probe", body, true), 303);
	assert_int_equal(probe_calls, 1);
	assert_int_equal(request("GET", "/probe", NULL, true), 200);
	assert_non_null(strstr(r->out, "probe: MX of example.org"));
	assert_non_null(strstr(r->out, "http-equiv=refresh"));
	assert_non_null(strstr(r->out, "<title>danegate: Probe</title>"));
	probe_cb(probe_ctx, "probe: done: <b>1 MX</b>");
	assert_int_equal(request("GET", "/probe", NULL, true), 200);
	assert_null(strstr(r->out, "http-equiv=refresh"));
	assert_non_null(strstr(r->out, "&lt;b&gt;1 MX")); /* escaped */
}

static void test_windowed_render_is_the_page(void **state)
{
	(void)state;
	login();
	assert_int_equal(request("GET", "/settings", NULL, true), 200);
	const char *body = strstr(r->out, "\r\n\r\n") + 4;
	static char joined[65536], win[97];
	size_t done = 0;
	for (;;) {
		struct web_sink s = { .buf = win, .size = sizeof(win), .skip = done };
		web_app_body(&r->app, &r->resp, &s);
		memcpy(joined + done, win, s.len);
		done += s.len;
		if (s.len == 0)
			break;
	}
	joined[done] = '\0';
	assert_string_equal(joined, body);
	assert_true(done > 1000);
}

static void test_login_limit_is_per_address(void **state)
{
	(void)state;
	char tok[40], bad[128], good[128];
	set_password("correct-horse-1");
	request("GET", "/login", NULL, true);
	token(tok);
	snprintf(bad, sizeof(bad), "csrf=%s&password=wrong-one", tok);
	snprintf(good, sizeof(good), "csrf=%s&password=correct-horse-1", tok);
	struct port_addr a = { .family = PORT_AF_INET, .ip = { 192, 168, 1, 66 } };
	struct port_addr b = { .family = PORT_AF_INET, .ip = { 192, 168, 1, 7 } };
	r->app.peer = a;
	for (int i = 0; i < WEB_LOGIN_TRIES; i++)
		assert_int_equal(request("POST", "/login", bad, true), 403);
	assert_int_equal(request("POST", "/login", good, true), 429); /* a waits */
	r->app.peer = b;
	assert_int_equal(request("POST", "/login", good, true), 303); /* b does not */
	r->cookie[0] = '\0';
	request("GET", "/login", NULL, true);
	token(tok);
	snprintf(bad, sizeof(bad), "csrf=%s&password=wrong-one", tok);
	snprintf(good, sizeof(good), "csrf=%s&password=correct-horse-1", tok);
	r->app.peer = a;
	assert_int_equal(request("POST", "/login", good, true), 429);
	/* a's pause doubles with each further failure after it */
	fake_ms += WEB_LOGIN_PAUSE_MS;
	assert_int_equal(request("POST", "/login", bad, true), 403);
	fake_ms += WEB_LOGIN_PAUSE_MS;
	assert_int_equal(request("POST", "/login", good, true), 429);
	fake_ms += WEB_LOGIN_PAUSE_MS;
	assert_int_equal(request("POST", "/login", good, true), 303);
}

/* form-urlencoded, as a browser sends a textarea (CR LF line ends) */
static void urlencode(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (; *in && n + 7 < size; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch == '\n')
			n += (size_t)snprintf(out + n, size - n, "%%0D%%0A");
		else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 ch == '-' || ch == '.')
			out[n++] = (char)ch;
		else if (ch == ' ')
			out[n++] = '+';
		else
			n += (size_t)snprintf(out + n, size - n, "%%%02X", ch);
	}
	out[n] = '\0';
}

static void test_tlsa_import_form(void **state)
{
	(void)state;
	assert_int_equal(tls_init(), 0);
	static uint8_t k[256], c[1024], c2[1024];
	size_t kl = sizeof(k), cl = sizeof(c), c2l = sizeof(c2);
	assert_int_equal(tls_cred_generate("gw.example", 1700000000, k, &kl, c, &cl), 0);
	struct tls_cred cred;
	assert_int_equal(tls_cred_load(&cred, k, kl, c, cl), 0);
	assert_int_equal(settings_set(&r->settings, "tls_key", k, kl), 0);
	assert_int_equal(settings_set(&r->settings, "tls_cert", c, cl), 0);
	r->env.cred = &cred;
	/* the operator's new pair */
	static char pem[4096], enc[12000], body[12400];
	ctu_pem_pair("gw.example", 1700000000, pem, sizeof(pem), c2, &c2l);
	char keyline[17];
	snprintf(keyline, sizeof(keyline), "%.16s", strchr(pem, '\n') + 1);
	urlencode(pem, enc, sizeof(enc));
	assert_true(strlen(enc) > HTTP_LINE_MAX); /* only the lent buffer holds it */

	login();
	char tok[40];
	assert_int_equal(request("GET", "/tlsa", NULL, true), 200);
	assert_non_null(strstr(r->out, "<textarea name=pem"));
	assert_non_null(strstr(r->out, "subject: CN=gw.example"));
	token(tok);
	uint8_t before[SETTINGS_IMAGE_MAX];
	size_t blen = r->settings.len;
	memcpy(before, r->settings.image, blen);
	/* no session: the large body is not even read */
	char saved[sizeof(r->cookie)];
	memcpy(saved, r->cookie, sizeof(saved));
	r->cookie[0] = '\0';
	snprintf(body, sizeof(body), "a=import&pem=%s", enc);
	assert_int_equal(request("POST", "/tlsa", body, true), 413);
	memcpy(r->cookie, saved, sizeof(saved));
	/* no token: refused, nothing changed */
	snprintf(body, sizeof(body), "a=import&pem=%s", enc);
	assert_int_equal(request("POST", "/tlsa", body, true), 403);
	snprintf(body, sizeof(body), "csrf=%s&a=import&pem=%s", "0123456789abcdef0123456789abcdef",
		 enc);
	assert_int_equal(request("POST", "/tlsa", body, true), 403);
	/* not PEM: 400 with the reason */
	snprintf(body, sizeof(body), "csrf=%s&a=import&pem=hello", tok);
	assert_int_equal(request("POST", "/tlsa", body, true), 400);
	assert_non_null(strstr(r->out, "not imported: no private key"));
	assert_int_equal(r->settings.len, blen);
	assert_memory_equal(r->settings.image, before, blen);
	/* the pair: the next key, its record shown once on the page */
	snprintf(body, sizeof(body), "csrf=%s&a=import&pem=%s", tok, enc);
	assert_int_equal(request("POST", "/tlsa", body, true), 303);
	const uint8_t *v;
	assert_int_equal(settings_get(&r->settings, "tls_next_cert", &v), (int)c2l);
	assert_memory_equal(v, c2, c2l);
	assert_int_equal(request("GET", "/tlsa", NULL, true), 200);
	assert_non_null(strstr(r->out, "stored as the NEXT key"));
	assert_null(strstr(r->out, keyline));
	/* bodies over HTTP_BIG_BODY_MAX: 413 */
	static char huge[HTTP_BIG_BODY_MAX + 200];
	memset(huge, 'a', sizeof(huge) - 1);
	memcpy(huge, "pem=", 4);
	assert_int_equal(request("POST", "/tlsa", huge, true), 413);
	r->env.cred = NULL;
	tls_cred_free(&cred);
}

/* The CA page's add form: a PEM larger than the parser's buffer, in the
 * lent import buffer, with the session's token; saved at once. */
static void test_ca_page_adds_a_pasted_certificate(void **state)
{
	(void)state;
	static char enc[8000], body[8200];
	char tok[40];
	urlencode(root_a_pem, enc, sizeof(enc));
	assert_true(strlen(enc) > HTTP_LINE_MAX);
	login();
	assert_int_equal(request("GET", "/ca", NULL, true), 200);
	assert_non_null(strstr(r->out, "<textarea name=pem"));
	token(tok);
	/* a wrong token: nothing added */
	snprintf(body, sizeof(body), "csrf=0123456789abcdef0123456789abcdef&a=add&pem=%s", enc);
	assert_int_equal(request("POST", "/ca", body, true), 403);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 0);
	/* not a certificate */
	snprintf(body, sizeof(body), "csrf=%s&a=add&pem=hello", tok);
	assert_int_equal(request("POST", "/ca", body, true), 400);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 0);
	snprintf(body, sizeof(body), "csrf=%s&a=add&pem=%s", tok, enc);
	assert_int_equal(request("POST", "/ca", body, true), 303);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 1);
	assert_false(r->settings.dirty);
	assert_int_equal(request("GET", "/ca", NULL, true), 200);
	assert_non_null(strstr(r->out, "trust anchor added and saved"));
	assert_non_null(strstr(r->out, "1: subject CN=Danegate Test Root A"));
	/* the same again: refused */
	snprintf(body, sizeof(body), "csrf=%s&a=add&pem=%s", tok, enc);
	assert_int_equal(request("POST", "/ca", body, true), 400);
	assert_int_equal(trust_each(&r->settings, NULL, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_without_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_default_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_and_session_fixation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_setting_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_limit_is_per_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tlsa_import_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_hold_and_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_page_lists_and_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_page_adds_a_pasted_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_windowed_render_is_the_page, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
