/* rollover — watches DNS for the gateway's next TLSA record and says when
 * the key switch is safe (DANE-RULES 24). Exports rollover_eval (pure),
 * the driver rollover_init/tick/check_now/status/reset and
 * rollover_spki_sha256. See rollover.h. */
#include "relay/rollover.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

int rollover_spki_sha256(const mbedtls_x509_crt *crt, uint8_t out[32])
{
	/* P-256 SPKI is 91 bytes; RSA-4096 about 550. The record is of the
	 * key as the certificate carries it: the raw DER, no re-encoding. */
	if (!crt || !crt->pk_raw.p || crt->pk_raw.len == 0)
		return ROLLOVER_EINVAL;
	return mbedtls_sha256(crt->pk_raw.p, crt->pk_raw.len, out, 0) ? ROLLOVER_EINVAL : 0;
}

const char *rollover_verdict_name(enum rollover_verdict v)
{
	switch (v) {
	case ROLLOVER_NO_NEXT: return "no next key";
	case ROLLOVER_UNKNOWN: return "not looked up yet";
	case ROLLOVER_LOOKUP_FAILED: return "TLSA lookup failed";
	case ROLLOVER_INSECURE: return "TLSA answer not DNSSEC-secure";
	case ROLLOVER_NEXT_MISSING: return "next record not published";
	case ROLLOVER_WAITING: return "next record published, waiting two TTLs";
	case ROLLOVER_READY: return "ready to switch";
	}
	return "?";
}

static bool has_311(const struct dns_answer *ans, const uint8_t dig[32])
{
	for (unsigned i = 0; i < ans->n_rr; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type == DNS_T_TLSA && rr->u.tlsa.usage == 3 && rr->u.tlsa.selector == 1 &&
		    rr->u.tlsa.mtype == 1 && rr->u.tlsa.len == 32 &&
		    (size_t)rr->u.tlsa.off + 32 <= sizeof(ans->data) &&
		    memcmp(ans->data + rr->u.tlsa.off, dig, 32) == 0)
			return true;
	}
	return false;
}

static void set_ready(const struct rollover_seen *seen, struct rollover_status *st, int64_t now)
{
	st->first_seen = seen->first_seen;
	st->ttl = seen->ttl;
	uint32_t ttl = seen->ttl < ROLLOVER_TTL_MIN ? ROLLOVER_TTL_MIN : seen->ttl;
	st->ready_at = seen->first_seen ? seen->first_seen + 2 * (int64_t)ttl : 0;
	if (st->verdict == ROLLOVER_WAITING || st->verdict == ROLLOVER_READY)
		st->verdict = now >= st->ready_at ? ROLLOVER_READY : ROLLOVER_WAITING;
}

bool rollover_eval(struct rollover_seen *seen, const struct dns_answer *ans,
		   const uint8_t cur[32], const uint8_t next[32], int64_t now,
		   struct rollover_status *st)
{
	struct rollover_seen before = *seen;
	st->current_published = st->next_published = false;
	st->detail[0] = '\0';
	st->checked_at = now;
	if (ans->status == DNS_FAIL) {
		/* A failed lookup proves nothing either way: keep the state,
		 * the next good answer decides. */
		st->verdict = ROLLOVER_LOOKUP_FAILED;
		snprintf(st->detail, sizeof(st->detail), "%s", ans->reason ? ans->reason : "");
		set_ready(seen, st, now);
		return false;
	}
	if (!dns_status_secure(ans->status)) {
		/* Without DNSSEC nobody uses the records: no sighting counts. */
		st->verdict = ROLLOVER_INSECURE;
		*seen = (struct rollover_seen){ 0 };
	} else {
		bool data = ans->status == DNS_SECURE;
		st->current_published = data && has_311(ans, cur);
		st->next_published = data && has_311(ans, next);
		if (!st->next_published) {
			st->verdict = ROLLOVER_NEXT_MISSING;
			*seen = (struct rollover_seen){ 0 }; /* the two TTLs start again */
		} else {
			st->verdict = ROLLOVER_WAITING;
			if (!seen->first_seen)
				*seen = (struct rollover_seen){ .first_seen = now, .ttl = ans->ttl };
			else if (ans->ttl > seen->ttl)
				seen->ttl = ans->ttl; /* caches may hold the old RRset this long */
		}
	}
	set_ready(seen, st, now);
	return memcmp(&before, seen, sizeof(before)) != 0;
}

/* ---- driver ------------------------------------------------------------------ */

static struct {
	struct rollover_env env;
	bool inited, busy;
	int handle;
	uint64_t next_ms;	/* next periodic lookup (monotonic) */
	uint64_t now_ms;
	struct rollover_status st;
} rv;

/* The 3 1 1 digest of the first certificate in a settings entry. */
static bool entry_digest(const struct settings *s, const char *name, uint8_t out[32])
{
	const uint8_t *der;
	int len = s ? settings_get(s, name, &der) : -1;
	if (len <= 0)
		return false;
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	/* parse_der reads the first certificate of a stored chain */
	bool ok = mbedtls_x509_crt_parse_der(&x, der, (size_t)len) == 0 &&
		  rollover_spki_sha256(&x, out) == 0;
	mbedtls_x509_crt_free(&x);
	return ok;
}

static bool next_digest(uint8_t out[32])
{
	return entry_digest(rv.env.settings, "tls_next_cert", out);
}

static void load_seen(struct rollover_seen *seen)
{
	const uint8_t *v;
	*seen = (struct rollover_seen){ 0 };
	if (settings_get(rv.env.settings, ROLLOVER_SEEN_KEY, &v) != 12)
		return;
	uint64_t t = 0;
	uint32_t ttl = 0;
	for (int i = 7; i >= 0; i--)
		t = t << 8 | v[i];
	for (int i = 11; i >= 8; i--)
		ttl = ttl << 8 | v[i];
	seen->first_seen = (int64_t)t;
	seen->ttl = ttl;
}

static void save_seen(const struct rollover_seen *seen)
{
	uint8_t v[12];
	uint64_t t = (uint64_t)seen->first_seen;
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(t >> (8 * i));
	for (int i = 0; i < 4; i++)
		v[8 + i] = (uint8_t)(seen->ttl >> (8 * i));
	int e = seen->first_seen ? settings_set(rv.env.settings, ROLLOVER_SEEN_KEY, v, sizeof(v))
				 : settings_set(rv.env.settings, ROLLOVER_SEEN_KEY, NULL, 0);
	if (!e)
		e = settings_save(rv.env.settings);
	if (e)
		LOG_ERR("tlsa: rollover state not saved (%d): the wait starts again after a reboot", e);
}

static void set_name(void)
{
	char host[CONFIG_VALUE_MAX + 1];
	if (config_get(rv.env.settings, rv.env.board, "hostname", host, sizeof(host)) < 0)
		host[0] = '\0';
	/* Senders reach an MX on port 25 whatever port we listen on behind
	 * a NAT: the published name is always _25._tcp. */
	snprintf(rv.st.name, sizeof(rv.st.name), "_25._tcp.%.*s",
		 (int)(sizeof(rv.st.name) - sizeof("_25._tcp.")), host);
}

void rollover_init(const struct rollover_env *env)
{
	rv.env = *env;
	rv.inited = true;
	rv.busy = false;
	rv.next_ms = 0;
	rollover_reset();
}

void rollover_reset(void)
{
	enum rollover_verdict v = ROLLOVER_UNKNOWN;
	uint8_t d[32];
	if (!rv.inited || !next_digest(d)) {
		v = ROLLOVER_NO_NEXT;
		if (rv.inited) {
			const uint8_t *p;
			if (settings_get(rv.env.settings, ROLLOVER_SEEN_KEY, &p) > 0)
				save_seen(&(struct rollover_seen){ 0 });
		}
	}
	rv.st = (struct rollover_status){ .verdict = v };
	if (rv.inited) {
		set_name();
		struct rollover_seen seen;
		load_seen(&seen);
		rv.st.first_seen = seen.first_seen;
		rv.st.ttl = seen.ttl;
	}
	rv.next_ms = 0;
}

static void answered(void *ctx, const struct dns_answer *ans)
{
	(void)ctx;
	rv.busy = false;
	uint8_t cur[32], next[32];
	if (!next_digest(next)) { /* switched or dropped meanwhile */
		rollover_reset();
		return;
	}
	/* The current key as the settings hold it (a live switch frees the
	 * certificate the env pointed at): the env's only without settings. */
	if (!entry_digest(rv.env.settings, "tls_cert", cur) &&
	    rollover_spki_sha256(rv.env.cur_cert, cur) != 0)
		memset(cur, 0, sizeof(cur));
	int64_t now = rv.env.wall_time ? rv.env.wall_time() : -1;
	if (now <= 0) {
		/* Two TTLs need a clock: without one nothing is counted. */
		rv.st.verdict = ROLLOVER_LOOKUP_FAILED;
		snprintf(rv.st.detail, sizeof(rv.st.detail), "wall clock unknown");
		rv.next_ms = rv.now_ms + ROLLOVER_RETRY_MS;
		return;
	}
	struct rollover_seen seen;
	load_seen(&seen);
	enum rollover_verdict was = rv.st.verdict;
	if (rollover_eval(&seen, ans, cur, next, now, &rv.st))
		save_seen(&seen);
	rv.next_ms = rv.now_ms +
		     (rv.st.verdict == ROLLOVER_LOOKUP_FAILED ? ROLLOVER_RETRY_MS : ROLLOVER_CHECK_MS);
	if (rv.st.verdict != was || rv.st.verdict == ROLLOVER_LOOKUP_FAILED)
		LOG_INFO("tlsa: %s TLSA: %s%s%s%s", rv.st.name, rollover_verdict_name(rv.st.verdict),
			 rv.st.detail[0] ? " (" : "", rv.st.detail, rv.st.detail[0] ? ")" : "");
	if (rv.st.next_published && !rv.st.current_published)
		LOG_WARN("tlsa: %s lacks the CURRENT key's 3 1 1 record: DANE senders fail now",
			 rv.st.name);
}

static int start_lookup(void)
{
	if (!rv.inited || !rv.env.dns)
		return ROLLOVER_ENOTSUP;
	if (rv.busy)
		return ROLLOVER_EBUSY;
	if (rv.st.verdict == ROLLOVER_NO_NEXT)
		return ROLLOVER_ENOENT;
	set_name();
	int h = dns_resolve(rv.env.dns, rv.st.name, DNS_T_TLSA, answered, NULL);
	if (h < 0) {
		rv.next_ms = rv.now_ms + ROLLOVER_RETRY_MS;
		return h;
	}
	rv.handle = h;
	rv.busy = true;
	return 0;
}

void rollover_tick(uint64_t now_ms)
{
	rv.now_ms = now_ms;
	if (!rv.inited || rv.busy || rv.st.verdict == ROLLOVER_NO_NEXT || now_ms < rv.next_ms)
		return;
	if (start_lookup() != 0)
		rv.next_ms = now_ms + ROLLOVER_RETRY_MS;
}

int rollover_check_now(void)
{
	if (rv.inited && rv.st.verdict == ROLLOVER_NO_NEXT)
		rollover_reset(); /* a next key may have been made since */
	return start_lookup();
}

void rollover_status(struct rollover_status *st)
{
	*st = rv.st;
	if (!rv.inited)
		return;
	int64_t now = rv.env.wall_time ? rv.env.wall_time() : -1;
	if ((st->verdict == ROLLOVER_WAITING || st->verdict == ROLLOVER_READY) && now > 0)
		st->verdict = now >= st->ready_at ? ROLLOVER_READY : ROLLOVER_WAITING;
}

/* ---- the gateway's own credentials in the settings ------------------------- */

int rollover_key_is(const struct settings *s, const uint8_t spki[32])
{
	uint8_t d[32];
	if (entry_digest(s, "tls_cert", d) && memcmp(d, spki, 32) == 0)
		return 1;
	if (entry_digest(s, "tls_next_cert", d) && memcmp(d, spki, 32) == 0)
		return 2;
	return 0;
}

/* Bytes an entry takes in the image (settings.h: name length, name, value
 * length, value); 0 if absent. */
static size_t entry_size(const struct settings *s, const char *name)
{
	const uint8_t *v;
	int l = settings_get(s, name, &v);
	return l < 0 ? 0 : 3 + strlen(name) + (size_t)l;
}

static int save_or_reload(struct settings *s)
{
	int e = settings_save(s);
	if (e) {
		/* Flash still holds the previous generation: back to it. */
		const struct port_flash *f = s->store.flash;
		uint32_t first = s->store.first_block;
		if (f)
			(void)settings_open(s, f, first);
	}
	return e;
}

int rollover_import(struct settings *s, const struct tls_import *im)
{
	int is = rollover_key_is(s, im->spki);
	const char *kn = is == 1 ? "tls_key" : "tls_next_key";
	const char *cn = is == 1 ? "tls_cert" : "tls_next_cert";
	size_t drop = entry_size(s, kn) + entry_size(s, cn) +
		      (is == 0 ? entry_size(s, ROLLOVER_SEEN_KEY) : 0);
	size_t add = 3 + strlen(kn) + im->key_len + 3 + strlen(cn) + im->chain_len;
	if (s->len - drop + add > sizeof(s->image))
		return SETTINGS_ENOSPC;
	int e = settings_set(s, kn, im->key_der, im->key_len);
	if (!e)
		e = settings_set(s, cn, im->chain_der, im->chain_len);
	if (!e && is == 0)
		e = settings_set(s, ROLLOVER_SEEN_KEY, NULL, 0); /* the watch starts again */
	if (!e)
		e = save_or_reload(s);
	if (e)
		return e;
	if (is == 0 && rv.inited && rv.env.settings == s)
		rollover_reset();
	return is == 1 ? ROLLOVER_IMPORT_RENEW : is == 2 ? ROLLOVER_IMPORT_NEXT_RENEW
							 : ROLLOVER_IMPORT_NEXT;
}

/* A copy of two entries from the TLS arena (settings_set moves entries
 * under settings_get's pointers); NULL with *err ROLLOVER_ENOENT or
 * MBEDTLS_ERR_SSL_ALLOC_FAILED. */
static uint8_t *copy_pair(const struct settings *s, const char *kn, const char *cn, size_t *kl,
			  size_t *cl, int *err)
{
	const uint8_t *k, *c;
	int a = settings_get(s, kn, &k), b = settings_get(s, cn, &c);
	*err = ROLLOVER_ENOENT;
	if (a <= 0 || b <= 0)
		return NULL;
	*err = MBEDTLS_ERR_SSL_ALLOC_FAILED;
	uint8_t *buf = mbedtls_calloc(1, (size_t)a + (size_t)b);
	if (!buf)
		return NULL;
	memcpy(buf, k, (size_t)a);
	memcpy(buf + a, c, (size_t)b);
	*kl = (size_t)a;
	*cl = (size_t)b;
	return buf;
}

static void free_pair(uint8_t *buf, size_t len)
{
	mbedtls_platform_zeroize(buf, len);
	mbedtls_free(buf);
}

int rollover_apply_current(struct settings *s,
			   int (*apply)(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl))
{
	size_t kl, cl;
	int e;
	uint8_t *buf = copy_pair(s, "tls_key", "tls_cert", &kl, &cl, &e);
	if (!buf)
		return e;
	e = apply(buf, kl, buf + kl, cl);
	free_pair(buf, kl + cl);
	return e;
}

int rollover_switch(struct settings *s)
{
	size_t kl, cl;
	int e;
	uint8_t *buf = copy_pair(s, "tls_next_key", "tls_next_cert", &kl, &cl, &e);
	if (!buf)
		return e;
	/* Replaces the current entries by entries of the next one's size
	 * and drops the next ones: always fits. */
	e = settings_set(s, "tls_next_key", NULL, 0);
	if (!e)
		e = settings_set(s, "tls_next_cert", NULL, 0);
	if (!e)
		e = settings_set(s, ROLLOVER_SEEN_KEY, NULL, 0);
	if (!e)
		e = settings_set(s, "tls_key", buf, kl);
	if (!e)
		e = settings_set(s, "tls_cert", buf + kl, cl);
	free_pair(buf, kl + cl);
	if (!e)
		e = save_or_reload(s);
	if (!e && rv.inited && rv.env.settings == s)
		rollover_reset();
	return e;
}
