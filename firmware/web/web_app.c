/* web_app — see web_app.h. Every page but the login and the stylesheet
 * needs a session; every POST needs its CSRF token (HMAC of the session
 * id under a per-boot key; before login, of the pre-login cookie), and a
 * refused POST changes nothing. Actions run one console command each,
 * from a fixed list, and show its output once; pages render the output
 * of read-only console commands. */
#include "web/web_app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/constant_time.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"

#include "log/log.h"
#include "port.h"
#include "util/hex.h"

/* ---- the sink ------------------------------------------------------------ */

void web_put(struct web_sink *s, const char *data, size_t n)
{
	size_t end = s->skip + s->size;
	if (s->pos < end && s->pos + n > s->skip) {
		size_t from = s->pos < s->skip ? s->skip - s->pos : 0;
		size_t upto = s->pos + n > end ? end - s->pos : n;
		memcpy(s->buf + s->len, data + from, upto - from);
		s->len += upto - from;
	}
	s->pos += n;
}

void web_puts(struct web_sink *s, const char *text)
{
	web_put(s, text, strlen(text));
}

void web_put_html(struct web_sink *s, const char *text, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = NULL;
		switch (text[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		}
		if (!esc)
			continue;
		web_put(s, text + run, i - run);
		web_puts(s, esc);
		run = i + 1;
	}
	web_put(s, text + run, n - run);
}

void web_printf(struct web_sink *s, const char *fmt, ...)
{
	char line[256]; /* bounds one formatted piece: long static text goes through web_puts */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		LOG_ERR("web: page piece cut at %u bytes", (unsigned)sizeof(line) - 1);
	if (n > 0)
		web_put(s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static uint64_t now(const struct web_app *app)
{
	return app->cfg.env->now_ms ? app->cfg.env->now_ms() : port_now_ms();
}

/* ---- sessions and tokens ------------------------------------------------- */

static bool password_set(const struct web_app *app);

int web_app_init(struct web_app *app, const struct web_app_config *cfg)
{
	memset(app, 0, sizeof(*app));
	app->cfg = *cfg;
	console_init(&app->con, cfg->env);
	static const struct authlimit_params lp = {
		.free_failures = WEB_LOGIN_TRIES - 1, /* the last try is followed by a pause */
		.base_ms = WEB_LOGIN_PAUSE_MS,
		.max_ms = AUTHLIMIT_MAX_MS,
		.forget_ms = AUTHLIMIT_FORGET_MS,
	};
	authlimit_init(&app->logins, &lp);
	int err = port_random(app->key, sizeof(app->key));
	if (err || password_set(app))
		return err;
	static const char abc[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* 32: 5 bits each */
	uint8_t rnd[WEB_SETUP_CODE_LEN - 1];
	if ((err = port_random(rnd, sizeof(rnd))) != 0)
		return err;
	for (unsigned i = 0, k = 0; i < WEB_SETUP_CODE_LEN; i++)
		app->setup_code[i] = i == 4 ? '-' : abc[rnd[k++] & 31];
	app->setup_code[WEB_SETUP_CODE_LEN] = '\0';
	mbedtls_platform_zeroize(rnd, sizeof(rnd));
	LOG_WARN("web: no console password yet: set one with passwd on the serial console, or "
		 "in the web console with the one-time setup code %s",
		 app->setup_code);
	return 0;
}

/* The token for a cookie value: tag 's' for a session, 'p' before login. */
static void csrf_token(const struct web_app *app, char tag, const char *cookie, char out[33])
{
	uint8_t mac[32], msg[1 + HTTP_SID_MAX];
	size_t n = strlen(cookie);
	msg[0] = (uint8_t)tag;
	memcpy(msg + 1, cookie, n);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), app->key, sizeof(app->key),
			msg, n + 1, mac);
	hex_encode(mac, 16, out);
}

static bool csrf_ok(const struct web_app *app, char tag, const char *cookie, const char *form)
{
	char want[33], got[40];
	if (!cookie[0] || http_form_get(form, "csrf", got, sizeof(got)) != 32)
		return false;
	csrf_token(app, tag, cookie, want);
	return mbedtls_ct_memcmp(want, got, 32) == 0;
}

static void session_end(struct web_session *s)
{
	mbedtls_platform_zeroize(s, sizeof(*s));
}

/* The live session the cookie names, or -1 (an expired one is ended). */
static int session_find(struct web_app *app, const char *cookie)
{
	uint8_t sid[WEB_SID_BYTES];
	if (!hex_decode(cookie, sid, sizeof(sid)))
		return -1;
	uint64_t t = now(app);
	for (int i = 0; i < WEB_SESSIONS; i++) {
		struct web_session *s = &app->sess[i];
		if (!s->used || mbedtls_ct_memcmp(s->sid, sid, sizeof(sid)) != 0)
			continue;
		if (t - s->last > WEB_SESSION_IDLE_MS || t - s->created >= WEB_SESSION_MAX_MS) {
			LOG_INFO("web: session expired");
			session_end(s);
			return -1;
		}
		s->last = t;
		return i;
	}
	return -1;
}

/* A new session with a fresh random id (never one the browser brought). */
bool web_app_session_valid(struct web_app *app, const char *cookie)
{
	return session_find(app, cookie) >= 0;
}

static int session_new(struct web_app *app, char cookie[2 * WEB_SID_BYTES + 1])
{
	int slot = 0;
	for (int i = 0; i < WEB_SESSIONS; i++) {
		if (!app->sess[i].used) {
			slot = i;
			break;
		}
		if (app->sess[i].last < app->sess[slot].last)
			slot = i;
	}
	struct web_session *s = &app->sess[slot];
	session_end(s);
	if (port_random(s->sid, sizeof(s->sid)) != 0)
		return -1;
	s->used = true;
	s->created = s->last = now(app);
	hex_encode(s->sid, sizeof(s->sid), cookie);
	return slot;
}

/* ---- console commands ---------------------------------------------------- */

static void con_to_sink(void *ctx, const char *data, size_t n)
{
	web_put_html(ctx, data, n);
}

/* Runs a read-only command and renders its output in <pre>. */
static int show_cmd(struct web_app *app, const char *line, struct web_sink *s)
{
	char buf[128]; /* console_out staging; flushed into the sink */
	struct console_out o;
	console_out_init(&o, buf, sizeof(buf), con_to_sink, s);
	app->con.authed = true; /* the web login stands for the console's */
	app->con.mode = CONSOLE_MODE_CMD;
	web_puts(s, "<pre>");
	int rc = console_exec(&app->con, line, &o);
	console_out_flush(&o);
	web_puts(s, "</pre>");
	return rc;
}

/* Runs an action's command once; its output is the session's message. */
static int action_cmd(struct web_app *app, struct web_session *ses, const char *line)
{
	struct console_out o;
	console_out_init(&o, ses->msg, sizeof(ses->msg), NULL, NULL);
	app->con.authed = true;
	app->con.mode = CONSOLE_MODE_CMD;
	int rc = console_exec(&app->con, line, &o);
	if (rc == CONSOLE_REBOOT)
		rc = CONSOLE_EINVAL; /* not offered here */
	if (!ses->msg[0])
		snprintf(ses->msg, sizeof(ses->msg), "%s", rc ? "failed" : "done");
	LOG_INFO("web: %.60s: %s", line, rc ? "refused" : "done");
	return rc;
}

/* ---- requests ------------------------------------------------------------ */

static void respond(struct web_resp *r, uint16_t status, enum web_page page, const char *why)
{
	r->status = status;
	r->page = (uint8_t)page;
	r->why = why;
}

static void redirect(struct web_resp *r, const char *to)
{
	respond(r, 303, WEB_P_REDIRECT, NULL);
	r->location = to;
}

static const struct {
	const char *path;
	enum web_page page;
} pages[] = {
	{ "/", WEB_P_DASHBOARD }, { "/queue", WEB_P_QUEUE },	 { "/log", WEB_P_LOG },
	{ "/settings", WEB_P_SETTINGS }, { "/probe", WEB_P_PROBE }, { "/tlsa", WEB_P_TLSA },
	{ "/ca", WEB_P_CA },
};

static int page_of(const char *path)
{
	for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(path, pages[i].path) == 0)
			return (int)pages[i].page;
	return -1;
}

static bool password_set(const struct web_app *app)
{
	char h[CONFIG_VALUE_MAX + 1];
	return config_get(app->cfg.env->settings, app->cfg.env->board, "console_password", h,
			  sizeof(h)) >= 0 &&
	       h[0];
}

static void do_login(struct web_app *app, const struct http_parser *p, struct web_resp *r)
{
	char pw[CONSOLE_LINE_MAX], h[CONFIG_VALUE_MAX + 1];
	uint64_t t = now(app);
	respond(r, 403, WEB_P_LOGIN, NULL);
	memcpy(r->cookie, p->sid, sizeof(r->cookie) - 1); /* the form again, same token */
	if (!csrf_ok(app, 'p', p->sid, p->body)) {
		r->why = "the login form expired: try again";
		return;
	}
	if (authlimit_check(&app->logins, &app->peer, t)) {
		r->status = 429;
		r->why = "too many wrong passwords: wait and try again";
		return;
	}
	if (!password_set(app)) {
		r->why = "no console password is set: set one with passwd on the serial console";
		return;
	}
	int n = http_form_get(p->body, "password", pw, sizeof(pw));
	bool ok = n > 0 &&
		  config_get(app->cfg.env->settings, app->cfg.env->board, "console_password", h,
			     sizeof(h)) >= 0 &&
		  config_hash_check(h, pw) == 0;
	mbedtls_platform_zeroize(pw, sizeof(pw));
	if (!ok) {
		char at[PORT_ADDR_TEXT_MAX];
		authlimit_failed(&app->logins, &app->peer, t);
		LOG_WARN("web: wrong password from %s",
			 port_addr_format(&app->peer, false, at, sizeof(at)));
		r->why = "wrong password";
		return;
	}
	authlimit_succeeded(&app->logins, &app->peer);
	int slot = session_new(app, r->cookie);
	if (slot < 0) {
		respond(r, 503, WEB_P_ERROR, "no randomness for a session id");
		return;
	}
	LOG_INFO("web: logged in");
	redirect(r, "/");
	r->set_cookie = true;
}

/* First boot: the one-time setup code sets the console password. */
static void do_setup(struct web_app *app, const struct http_parser *p, struct web_resp *r)
{
	char code[16], pw[CONSOLE_LINE_MAX], again[CONSOLE_LINE_MAX], err[CONFIG_ERR_MAX];
	uint64_t t = now(app);
	respond(r, 403, WEB_P_LOGIN, NULL);
	memcpy(r->cookie, p->sid, sizeof(r->cookie) - 1);
	if (!csrf_ok(app, 'p', p->sid, p->body)) {
		r->why = "the setup form expired: try again";
		return;
	}
	if (password_set(app) || !app->setup_code[0]) {
		r->why = "a console password is set already: log in with it";
		return;
	}
	if (authlimit_check(&app->logins, &app->peer, t)) {
		r->status = 429;
		r->why = "too many wrong codes: wait and try again";
		return;
	}
	bool code_ok = http_form_get(p->body, "code", code, sizeof(code)) == WEB_SETUP_CODE_LEN;
	for (unsigned i = 0; code_ok && i < WEB_SETUP_CODE_LEN; i++)
		if (code[i] >= 'a' && code[i] <= 'z')
			code[i] = (char)(code[i] - 'a' + 'A');
	code_ok = code_ok && mbedtls_ct_memcmp(code, app->setup_code, WEB_SETUP_CODE_LEN) == 0;
	if (!code_ok) {
		authlimit_failed(&app->logins, &app->peer, t);
		LOG_WARN("web: wrong setup code");
		r->why = "wrong setup code (it is in the boot log on the serial console)";
		return;
	}
	int n = http_form_get(p->body, "password", pw, sizeof(pw));
	int m = http_form_get(p->body, "again", again, sizeof(again));
	int e = CONFIG_EINVAL;
	if (n < 0 || m < 0 || strcmp(pw, again) != 0) {
		r->status = 400;
		r->why = "the two passwords differ; nothing changed";
	} else if (config_validate("console_password", pw, err, sizeof(err)) != 0 ||
		   config_hash_is_hash(pw)) {
		r->status = 400;
		r->why = "the password is not acceptable (at least 8 characters, no spaces); "
			 "nothing changed";
	} else if ((e = config_set(app->cfg.env->settings, "console_password", pw, err,
				   sizeof(err))) != 0 ||
		   (e = config_save(app->cfg.env->settings)) != 0) {
		config_unset(app->cfg.env->settings, "console_password", NULL, 0);
		respond(r, 500, WEB_P_ERROR, "the password could not be saved");
	}
	mbedtls_platform_zeroize(pw, sizeof(pw));
	mbedtls_platform_zeroize(again, sizeof(again));
	if (e)
		return;
	mbedtls_platform_zeroize(app->setup_code, sizeof(app->setup_code));
	authlimit_succeeded(&app->logins, &app->peer);
	LOG_INFO("web: console password set with the setup code");
	memset(r->cookie, 0, sizeof(r->cookie));
	if (session_new(app, r->cookie) < 0) {
		respond(r, 503, WEB_P_ERROR, "no randomness for a session id");
		return;
	}
	redirect(r, "/");
	r->set_cookie = true;
}

static bool valid_word(const char *t, const char *allowed_extra)
{
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
		      strchr(allowed_extra, *t)))
			return false;
	return true;
}

/* A line of probe output (the probe runs on from the event loop). */
static void probe_line(void *ctx, const char *text)
{
	struct web_app *app = ctx;
	size_t n = strlen(text), room = sizeof(app->probe_out) - app->probe_len;
	if (strncmp(text, "probe: done", 11) == 0)
		app->probe_running = false;
	if (room <= 1)
		return;
	if (n + 1 >= room)
		n = room - 2; /* keeps the NUL and the newline */
	memcpy(app->probe_out + app->probe_len, text, n);
	app->probe_len += n;
	app->probe_out[app->probe_len++] = '\n';
	app->probe_out[app->probe_len] = '\0';
}

/* The TLSA page's PEM import (the body is the lent import buffer: the
 * text is decoded in place, last). Never logged, never shown back. */
static int import_action(struct web_app *app, struct web_session *ses, const struct http_parser *p)
{
	size_t n = 0;
	char *text = http_form_take_text(p->body, "pem", &n);
	if (!text || n == 0) {
		snprintf(ses->msg, sizeof(ses->msg),
			 "error: paste the PEM key and certificates (the form held no text, "
			 "or control characters); nothing changed");
		return CONSOLE_EINVAL;
	}
	struct console_out o;
	console_out_init(&o, ses->msg, sizeof(ses->msg), NULL, NULL);
	app->con.authed = true;
	app->con.mode = CONSOLE_MODE_CMD;
	int rc = console_tlsa_import(&app->con, text, &o);
	mbedtls_platform_zeroize(text, n);
	/* the records follow on the page itself (tlsa show): the message
	 * keeps the verdict and the warnings, not a cut-off record */
	char *rec = strstr(ses->msg, "\ncurrent: ");
	if (rec)
		snprintf(rec + 1, sizeof(ses->msg) - (size_t)(rec + 1 - ses->msg),
			 "(the records: below, \"next:\")\n");
	LOG_INFO("web: tlsa import: %s", rc ? "refused" : "done");
	return rc;
}

/* The CA page's `ca add`: the PEM in the lent large body (web.c). */
static int ca_add_action(struct web_app *app, struct web_session *ses, const struct http_parser *p)
{
	size_t n = 0;
	char *text = http_form_take_text(p->body, "pem", &n);
	if (!text || n == 0) {
		snprintf(ses->msg, sizeof(ses->msg),
			 "error: paste the CA certificate (PEM; the form held no text, or control "
			 "characters); nothing changed");
		return CONSOLE_EINVAL;
	}
	struct console_out o;
	console_out_init(&o, ses->msg, sizeof(ses->msg), NULL, NULL);
	app->con.authed = true;
	app->con.mode = CONSOLE_MODE_CMD;
	int rc = console_ca_add(&app->con, text, &o);
	LOG_INFO("web: ca add: %s", rc ? "refused" : "done");
	return rc;
}

/* The action of an authenticated POST with a good token. */
static void do_action(struct web_app *app, const struct http_parser *p, int slot,
		      struct web_resp *r)
{
	struct web_session *ses = &app->sess[slot];
	const char *form = p->body;
	char a[16] = "", id[16] = "", key[40] = "", line[CONSOLE_LINE_MAX];
	char val[CONSOLE_LINE_MAX];
	int pg = page_of(p->path);
	const char *back = pg >= 0 ? p->path : "/";
	int rc = CONSOLE_EINVAL;
	ses->msg[0] = '\0';
	http_form_get(form, "a", a, sizeof(a));
	if (pg == WEB_P_QUEUE) {
		bool with_id = strcmp(a, "hold") == 0 || strcmp(a, "release") == 0 ||
			       strcmp(a, "delete") == 0;
		if (strcmp(a, "flush") == 0)
			rc = action_cmd(app, ses, "queue flush");
		else if (with_id && http_form_get(form, "id", id, sizeof(id)) > 0 &&
			 valid_word(id, "")) {
			snprintf(line, sizeof(line), "queue %s %s", a, id);
			rc = action_cmd(app, ses, line);
		} else {
			snprintf(ses->msg, sizeof(ses->msg), "error: unknown queue action or bad id");
		}
	} else if (pg == WEB_P_SETTINGS) {
		if (strcmp(a, "save") == 0) {
			rc = action_cmd(app, ses, "config save");
		} else if ((strcmp(a, "set") == 0 || strcmp(a, "unset") == 0) &&
			   http_form_get(form, "key", key, sizeof(key)) > 0 && valid_word(key, "_")) {
			int vl = http_form_get(form, "value", val, sizeof(val));
			if (a[0] == 'u')
				snprintf(line, sizeof(line), "config unset %s", key);
			else if (vl < 0 ||
				 (size_t)snprintf(line, sizeof(line), "config set %s %s", key,
						  vl == 0 ? "\"\"" : val) >= sizeof(line))
				line[0] = '\0';
			mbedtls_platform_zeroize(val, sizeof(val));
			if (line[0])
				rc = action_cmd(app, ses, line);
			else
				snprintf(ses->msg, sizeof(ses->msg),
					 "error: the value is missing, too long or holds control "
					 "characters; nothing changed");
			mbedtls_platform_zeroize(line, sizeof(line));
		} else {
			snprintf(ses->msg, sizeof(ses->msg), "error: unknown settings action or key");
		}
	} else if (pg == WEB_P_TLSA) {
		if (strcmp(a, "next") == 0 || strcmp(a, "check") == 0) {
			snprintf(line, sizeof(line), "tlsa %s", a);
			rc = action_cmd(app, ses, line);
		} else if (strcmp(a, "switch") == 0) {
			rc = action_cmd(app, ses, "tlsa switch confirm");
		} else if (strcmp(a, "import") == 0) {
			rc = import_action(app, ses, p);
		} else {
			snprintf(ses->msg, sizeof(ses->msg), "error: unknown tlsa action");
		}
	} else if (pg == WEB_P_CA) {
		if (strcmp(a, "add") == 0) {
			rc = ca_add_action(app, ses, p);
		} else if (strcmp(a, "delete") == 0 && http_form_get(form, "n", id, sizeof(id)) > 0 &&
			   valid_word(id, "")) {
			snprintf(line, sizeof(line), "ca delete %s", id);
			rc = action_cmd(app, ses, line);
		} else {
			snprintf(ses->msg, sizeof(ses->msg), "error: unknown ca action or bad number");
		}
	} else if (pg == WEB_P_PROBE) {
		char dom[CONSOLE_DOMAIN_MAX * 4];
		int n = http_form_get(form, "domain", dom, sizeof(dom));
		if (n <= 0 || n > 253 || !valid_word(dom, ".-")) {
			snprintf(ses->msg, sizeof(ses->msg), "error: give a domain name (letters, "
							     "digits, '-' and '.')");
		} else if (!app->cfg.env->probe) {
			snprintf(ses->msg, sizeof(ses->msg),
				 "probe unavailable: this build has no delivery side to probe with");
			rc = CONSOLE_ENOTSUP;
		} else {
			if (app->probe_running && app->cfg.env->probe_cancel)
				app->cfg.env->probe_cancel(); /* ours: a new one replaces it */
			app->probe_len = 0;
			app->probe_out[0] = '\0';
			app->probe_running = true;
			rc = app->cfg.env->probe(dom, probe_line, app);
			if (rc) {
				app->probe_running = false;
				snprintf(ses->msg, sizeof(ses->msg), "error: probe not started: %s",
					 rc == -16 ? "a probe is already running (serial console?)"
						   : "the delivery side refused it");
			} else {
				LOG_INFO("web: probe %s", dom);
			}
		}
	} else {
		respond(r, 404, WEB_P_ERROR, "no such page");
		return;
	}
	if (rc == 0) {
		redirect(r, back);
		return;
	}
	/* Refused: the page again with the reason, and a status that says so. */
	respond(r, rc == CONSOLE_ENOTSUP ? 503 : 400, (enum web_page)pg, NULL);
}

void web_app_handle(struct web_app *app, const struct http_parser *p, bool https,
		    struct web_resp *r)
{
	(void)https;
	memset(r, 0, sizeof(*r));
	r->session = -1;
	if (p->state != HTTP_P_DONE) {
		respond(r, (uint16_t)(p->status ? p->status : 400), WEB_P_ERROR,
			p->why ? p->why : "bad request");
		r->close = true;
		return;
	}
	r->close = !p->keep_alive;
	r->head_only = p->method == HTTP_HEAD;
	bool post = p->method == HTTP_POST;
	if (strcmp(p->path, "/style.css") == 0) {
		if (post)
			return respond(r, 405, WEB_P_ERROR, "GET only");
		return respond(r, 200, WEB_P_CSS, NULL);
	}
	int slot = session_find(app, p->sid);
	r->session = (int8_t)slot;
	if (strcmp(p->path, "/login") == 0) {
		if (post)
			return do_login(app, p, r);
		if (slot >= 0)
			return redirect(r, "/");
		respond(r, 200, WEB_P_LOGIN, NULL);
		uint8_t pre[WEB_SID_BYTES];
		if (strlen(p->sid) != 2 * WEB_SID_BYTES || !hex_decode(p->sid, pre, sizeof(pre))) {
			/* A pre-login cookie ties the login form's token to this browser. */
			if (port_random(pre, sizeof(pre)) != 0)
				return respond(r, 503, WEB_P_ERROR, "no randomness");
			hex_encode(pre, sizeof(pre), r->cookie);
			r->set_cookie = true;
		} else {
			memcpy(r->cookie, p->sid, sizeof(r->cookie));
		}
		return;
	}
	if (strcmp(p->path, "/setup") == 0) {
		if (!post)
			return respond(r, 405, WEB_P_ERROR, "POST only");
		return do_setup(app, p, r);
	}
	if (strcmp(p->path, "/logout") == 0) {
		if (!post)
			return respond(r, 405, WEB_P_ERROR, "POST only");
		if (slot < 0 || !csrf_ok(app, 's', p->sid, p->body))
			return respond(r, 403, WEB_P_ERROR, "not logged in, or the CSRF token is "
							    "missing or wrong");
		session_end(&app->sess[slot]);
		r->session = -1;
		r->clear_cookie = true;
		LOG_INFO("web: logged out");
		return redirect(r, "/login");
	}
	int pg = page_of(p->path);
	if (pg < 0)
		return respond(r, 404, WEB_P_ERROR, "no such page");
	if (slot < 0) {
		if (post)
			return respond(r, 403, WEB_P_ERROR, "log in first");
		return redirect(r, "/login");
	}
	if (post) {
		if (pg == WEB_P_DASHBOARD || pg == WEB_P_LOG)
			return respond(r, 405, WEB_P_ERROR, "GET only");
		if (!p->form || !csrf_ok(app, 's', p->sid, p->body)) {
			LOG_WARN("web: POST %s refused: CSRF token missing or wrong", p->path);
			return respond(r, 403, WEB_P_ERROR, "CSRF token missing or wrong: nothing "
							    "changed (reload the page)");
		}
		return do_action(app, p, slot, r);
	}
	respond(r, 200, (enum web_page)pg, NULL);
	char t[16];
	if (pg == WEB_P_QUEUE && http_form_get(p->query, "id", t, sizeof(t)) > 0 &&
	    valid_word(t, "")) {
		unsigned long v = strtoul(t, NULL, 16);
		r->msg_id = (uint32_t)v;
	}
	if (pg == WEB_P_LOG) {
		r->log_n = 50;
		if (http_form_get(p->query, "n", t, sizeof(t)) > 0)
			r->log_n = (uint16_t)(strspn(t, "0123456789") == strlen(t) && strlen(t) <= 3
						      ? strtoul(t, NULL, 10)
						      : 0);
		if (http_form_get(p->query, "level", t, sizeof(t)) > 0 && valid_word(t, ""))
			snprintf(r->log_level, sizeof(r->log_level), "%.7s", t);
		if (http_form_get(p->query, "q", r->log_text, sizeof(r->log_text)) < 0 ||
		    !valid_word(r->log_text, ".:-_@<>=/[]()"))
			r->log_text[0] = '\0';
	}
}

/* ---- responses ----------------------------------------------------------- */

void web_app_head(struct web_app *app, const struct web_resp *r, bool https, bool chunked,
		  struct web_sink *s)
{
	(void)app;
	web_printf(s, "HTTP/1.1 %u %s\r\n", (unsigned)r->status, http_status_text(r->status));
	web_puts(s, r->page == WEB_P_CSS ? "Content-Type: text/css\r\n"
					 : "Content-Type: text/html; charset=utf-8\r\n");
	web_puts(s, "Cache-Control: no-store\r\n"
		    "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; "
		    "form-action 'self'; base-uri 'none'\r\n"
		    "X-Frame-Options: DENY\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "Referrer-Policy: no-referrer\r\n");
	if (r->status == 405)
		web_puts(s, "Allow: GET, HEAD, POST\r\n");
	if (r->page == WEB_P_REDIRECT && r->location)
		web_printf(s, "Location: %s\r\n", r->location);
	const char *secure = https ? "; Secure" : "";
	if (r->set_cookie)
		web_printf(s, "Set-Cookie: " HTTP_COOKIE_NAME "=%s; Path=/; HttpOnly; "
			      "SameSite=Strict%s\r\n",
			   r->cookie, secure);
	else if (r->clear_cookie)
		web_printf(s, "Set-Cookie: " HTTP_COOKIE_NAME "=; Path=/; HttpOnly; "
			      "SameSite=Strict%s; Max-Age=0\r\n",
			   secure);
	web_puts(s, chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 0\r\n");
	web_puts(s, r->close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
}

static void top(struct web_app *app, const struct web_resp *r, const char *title,
		struct web_sink *s)
{
	static const char *const nav[][2] = { { "/", "Dashboard" }, { "/queue", "Queue" },
					      { "/log", "Log" },	 { "/settings", "Settings" },
					      { "/probe", "Probe" },	 { "/tlsa", "TLSA" },
					      { "/ca", "CAs" } };
	web_puts(s, "<!doctype html><html lang=en><head><meta charset=utf-8>"
		    "<meta name=viewport content=\"width=device-width,initial-scale=1\">");
	if (r->page == WEB_P_PROBE && app->probe_running)
		web_puts(s, "<meta http-equiv=refresh content=2>");
	web_printf(s, "<title>danegate: %s</title>", title);
	web_puts(s, "<link rel=stylesheet href=/style.css></head><body><header><b>danegate</b>");
	if (r->session >= 0) {
		web_puts(s, "<nav>");
		for (unsigned i = 0; i < sizeof(nav) / sizeof(nav[0]); i++)
			web_printf(s, "<a href=%s%s>%s</a>", nav[i][0],
				   strcmp(nav[i][1], title) == 0 ? " class=on" : "", nav[i][1]);
		web_puts(s, "</nav><form method=post action=/logout>");
	}
	if (r->session >= 0) {
		char tok[33], ck[2 * WEB_SID_BYTES + 1];
		hex_encode(app->sess[r->session].sid, WEB_SID_BYTES, ck);
		csrf_token(app, 's', ck, tok);
		web_printf(s, "<input type=hidden name=csrf value=%s><button>Log out</button></form>",
			   tok);
	}
	web_printf(s, "</header><main><h1>%s</h1>", title);
	if (r->session >= 0 && app->sess[r->session].msg[0]) {
		const char *m = app->sess[r->session].msg;
		web_puts(s, strncmp(m, "error", 5) == 0 || r->status >= 400 ? "<pre class=err>"
									    : "<pre class=msg>");
		web_put_html(s, m, strlen(m));
		web_puts(s, "</pre>");
	}
}

/* <form method=post action=PATH> with the session's token. */
static void form_open(struct web_app *app, const struct web_resp *r, const char *path,
		      struct web_sink *s)
{
	char tok[33], ck[2 * WEB_SID_BYTES + 1];
	hex_encode(app->sess[r->session].sid, WEB_SID_BYTES, ck);
	csrf_token(app, 's', ck, tok);
	web_printf(s, "<form method=post action=%s class=row><input type=hidden name=csrf value=%s>",
		   path, tok);
}

struct ids {
	uint32_t *ids;
	unsigned n;
};
static void collect_id(void *ctx, uint32_t id)
{
	struct ids *k = ctx;
	if (k->n < CONSOLE_QUEUE_LIST_MAX)
		k->ids[k->n] = id;
	k->n++;
}

static void page_queue(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	char line[32];
	if (r->msg_id) {
		snprintf(line, sizeof(line), "queue show %08lX", (unsigned long)r->msg_id);
		show_cmd(app, line, s);
		form_open(app, r, "/queue", s);
		web_printf(s, "<input type=hidden name=id value=%08lX>", (unsigned long)r->msg_id);
		web_puts(s, "<button name=a value=hold>Hold</button>"
			    "<button name=a value=release>Release</button>"
			    "<button name=a value=delete class=warn>Delete</button></form>"
			    "<p><a href=/queue>All messages</a></p>");
		return;
	}
	form_open(app, r, "/queue", s);
	web_puts(s, "<button name=a value=flush>Flush: try every message now</button></form>");
	show_cmd(app, "queue list", s);
	struct queue *q = app->cfg.env->queue;
	if (!q)
		return;
	/* the same ids queue list printed, each a link to its details and actions */
	uint32_t *ids = malloc(CONSOLE_QUEUE_LIST_MAX * sizeof(*ids)); /* for this call */
	if (!ids)
		return;
	struct ids k = { ids, 0 };
	queue_list(q, collect_id, &k);
	unsigned n = k.n < CONSOLE_QUEUE_LIST_MAX ? k.n : CONSOLE_QUEUE_LIST_MAX;
	if (n)
		web_puts(s, "<p>Details and actions:</p><p class=row>");
	for (unsigned i = 0; i < n; i++)
		web_printf(s, "<a href=\"/queue?id=%08lX\">%08lX</a> ", (unsigned long)ids[i],
			   (unsigned long)ids[i]);
	if (n)
		web_puts(s, "</p>");
	free(ids);
}

static void page_settings(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	form_open(app, r, "/settings", s);
	web_puts(s, "<label for=k>Key</label><select id=k name=key>");
	for (unsigned i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		if (k->type != CONFIG_T_HASH)
			web_printf(s, "<option>%s</option>", k->name);
	}
	web_puts(s, "</select><label for=v>Value</label><input id=v type=text name=value "
		    "maxlength=400><button name=a value=set>Set</button>"
		    "<button name=a value=unset>Unset (default)</button></form>");
	form_open(app, r, "/settings", s);
	web_puts(s, "<button name=a value=save>Save to flash</button></form>"
		    "<p>Most keys act at the next boot. The console password is set with "
		    "<code>passwd</code> on the serial console.</p>");
	show_cmd(app, "config show", s);
}

static void page_log(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	static const char *const lv[] = { "debug", "info", "warn", "err" };
	web_printf(s, "<form method=get action=/log class=row><input type=text name=n value=%u "
		      "size=4 style=\"width:5em\"><select name=level>",
		   (unsigned)r->log_n);
	for (unsigned i = 0; i < 4; i++)
		web_printf(s, "<option%s>%s</option>",
			   strcmp(r->log_level, lv[i]) == 0 ? " selected" : "", lv[i]);
	web_puts(s, "</select><input type=text name=q placeholder=\"text (no spaces)\" value=\"");
	web_put_html(s, r->log_text, strlen(r->log_text));
	web_puts(s, "\"><button>Filter</button></form>");
	char line[96];
	snprintf(line, sizeof(line), "log tail %u %s %s", (unsigned)r->log_n, r->log_level,
		 r->log_text);
	show_cmd(app, line, s);
}

static void page_probe(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	form_open(app, r, "/probe", s);
	web_puts(s, "<label for=d>Destination domain</label><input id=d type=text name=domain "
		    "maxlength=253 placeholder=example.org><button>Probe</button></form>");
	if (!app->cfg.env->probe) {
		web_puts(s, "<p class=err>probe unavailable: this build has no delivery side to "
			    "probe with</p>");
		return;
	}
	if (app->probe_running)
		web_puts(s, "<p>running (this page refreshes)</p>");
	if (app->probe_len) {
		web_puts(s, "<pre>");
		web_put_html(s, app->probe_out, app->probe_len);
		web_puts(s, "</pre>");
	}
}

static void page_tlsa(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	show_cmd(app, "tlsa show", s);
	form_open(app, r, "/tlsa", s);
	web_puts(s, "<button name=a value=next>Make the next key</button>"
		    "<button name=a value=check>Look the next record up</button>"
		    "<button name=a value=switch class=warn>Switch (when safe)</button></form>"
		    "<p>Publish the next record, wait until it is seen in DNS for two TTLs, then "
		    "switch (DANE-RULES rule 24).</p>");
	/* the import: a textarea, same token; the key is never shown back */
	char tok[33], ck[2 * WEB_SID_BYTES + 1];
	hex_encode(app->sess[r->session].sid, WEB_SID_BYTES, ck);
	csrf_token(app, 's', ck, tok);
	web_printf(s, "<h2>Import a key and certificate</h2><form method=post action=/tlsa>"
		      "<input type=hidden name=csrf value=%s>",
		   tok);
	web_puts(s, "<textarea name=pem rows=10 autocomplete=off spellcheck=false "
		    "placeholder=\"-----BEGIN PRIVATE KEY-----&#10;...&#10;-----BEGIN "
		    "CERTIFICATE-----&#10;...\"></textarea>"
		    "<button name=a value=import>Import</button></form>"
		    "<p>PEM: the private key (not encrypted; EC P-256, P-384 or RSA 2048+) and "
		    "the chain, leaf first. The current key's renewal is in service at once; a "
		    "new key becomes the next key: publish its record, then switch.</p>");
}

static void page_ca(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	web_puts(s, "<p>Trust anchors (CA certificates) of the <code>verify</code> TLS policy: a "
		    "destination under it is delivered only over TLS with a chain to one of them "
		    "and the next hop's name in the certificate (console: <code>ca</code>).</p>");
	show_cmd(app, "ca list", s);
	form_open(app, r, "/ca", s);
	web_puts(s, "<label for=n>Number</label><input id=n type=text name=n size=3 "
		    "style=\"width:4em\"><button name=a value=delete class=warn>Delete</button>"
		    "</form>");
	char tok[33], ck[2 * WEB_SID_BYTES + 1];
	hex_encode(app->sess[r->session].sid, WEB_SID_BYTES, ck);
	csrf_token(app, 's', ck, tok);
	web_printf(s, "<h2>Add a CA certificate</h2><form method=post action=/ca>"
		      "<input type=hidden name=csrf value=%s>",
		   tok);
	web_puts(s, "<textarea name=pem rows=10 spellcheck=false placeholder=\"-----BEGIN "
		    "CERTIFICATE-----&#10;...&#10;-----END CERTIFICATE-----\"></textarea>"
		    "<button name=a value=add>Add</button></form>"
		    "<p>PEM, one certificate: the CA that issues the servers' certificates "
		    "(compare its SHA-256 fingerprint with the CA's).</p>");
}

void web_app_body(struct web_app *app, const struct web_resp *r, struct web_sink *s)
{
	switch ((enum web_page)r->page) {
	case WEB_P_CSS:
		web_put(s, web_css, web_css_len);
		return;
	case WEB_P_REDIRECT:
		return;
	case WEB_P_ERROR:
		top(app, r, "Error", s);
		web_printf(s, "<p class=err>%u %s: ", (unsigned)r->status,
			   http_status_text(r->status));
		web_put_html(s, r->why ? r->why : "", r->why ? strlen(r->why) : 0);
		web_puts(s, r->session >= 0 ? "</p><p><a href=/>Dashboard</a></p>"
					    : "</p><p><a href=/login>Log in</a></p>");
		break;
	case WEB_P_LOGIN: {
		top(app, r, "Log in", s);
		if (r->why) {
			web_puts(s, "<p class=err>");
			web_put_html(s, r->why, strlen(r->why));
			web_puts(s, "</p>");
		}
		char tok[33];
		csrf_token(app, 'p', r->cookie, tok);
		if (!password_set(app)) {
			web_puts(s, "<p class=err>No console password is set yet. Set one on the "
				    "serial console with <code>passwd</code>, then log in here");
			if (!app->setup_code[0]) {
				web_puts(s, ".</p>");
				break;
			}
			web_printf(s, ", or set it here with the one-time setup code from the boot "
				      "log.</p><form method=post action=/setup><input type=hidden "
				      "name=csrf value=%s>",
				   tok);
			web_puts(s, "<label for=c>Setup code</label><input id=c type=text name=code "
				    "autocomplete=off placeholder=XXXX-XXXX><label for=n>New password"
				    "</label><input id=n type=password name=password "
				    "autocomplete=new-password><label for=a>Again</label><input id=a "
				    "type=password name=again autocomplete=new-password><button>Set the "
				    "password</button></form>");
			break;
		}
		web_printf(s, "<form method=post action=/login><input type=hidden name=csrf "
			      "value=%s>",
			   tok);
		web_puts(s, "<label for=p>Console password</label><input id=p type=password "
			    "name=password autocomplete=current-password autofocus><button>Log in"
			    "</button></form>");
		break;
	}
	case WEB_P_DASHBOARD:
		top(app, r, "Dashboard", s);
		show_cmd(app, "status", s);
		web_puts(s, "<h1>Deliveries</h1>");
		show_cmd(app, "stats", s);
		break;
	case WEB_P_QUEUE:
		top(app, r, "Queue", s);
		page_queue(app, r, s);
		break;
	case WEB_P_LOG:
		top(app, r, "Log", s);
		page_log(app, r, s);
		break;
	case WEB_P_SETTINGS:
		top(app, r, "Settings", s);
		page_settings(app, r, s);
		break;
	case WEB_P_PROBE:
		top(app, r, "Probe", s);
		page_probe(app, r, s);
		break;
	case WEB_P_TLSA:
		top(app, r, "TLSA", s);
		page_tlsa(app, r, s);
		break;
	case WEB_P_CA:
		top(app, r, "Trust anchors", s);
		page_ca(app, r, s);
		break;
	}
	web_puts(s, "</main></body></html>\n");
}

void web_app_sent(struct web_app *app, const struct web_resp *r)
{
	if (r->session >= 0 && r->page != WEB_P_REDIRECT && r->page != WEB_P_CSS &&
	    !r->head_only)
		app->sess[r->session].msg[0] = '\0';
}
