/* config — see config.h. The key table is the single source of truth:
 * the console's `config show` / help and docs/config.md (checked by
 * tests/unit/test_config.c) follow it. Validation never writes: a value
 * is checked whole before the settings image is touched. */
#include "config/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/constant_time.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

#include "dns/dns.h"
#include "port.h"
#include "relay/inbound.h"
#include "relay/policy.h"
#include "relay/retry.h"

#define DAY (24u * 3600u)
#define USERS_MAX 8	  /* = INBOUND_USERS: the relay keeps no more */
#define USER_NAME_MAX 64  /* bytes of an AUTH user name */
#define PASS_MAX 128	  /* bytes of a password we accept to hash */
#define HOST_MAX 253	  /* RFC 1035 text form without the final dot */
#define POLICY_MODES "none|may|encrypt|dane|dane-only|verify" /* = policy_level_name() */

static const struct config_key keys[] = {
	{ "hostname", CONFIG_T_STR, "danegate.lan", 0, 0, NULL,
	  "the gateway's name: SMTP banner, EHLO, certificate, its TLSA record name" },
	{ "smtp_port", CONFIG_T_UINT, "25", 1, 65535, NULL,
	  "TCP port the LAN side listens on for SMTP" },
	{ "listen", CONFIG_T_ADDR, "", 0, 0, NULL,
	  "numeric address to listen on; empty: every address, IPv4 and IPv6" },
	{ "relay_networks", CONFIG_T_CIDRS,
	  "127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 ::1/128 fc00::/7 fe80::/10", 0, 0,
	  NULL, "networks whose clients may relay without AUTH (up to 16)" },
	{ "smtp_users", CONFIG_T_USERS, "", 0, 0, NULL,
	  "AUTH users \"user:password ...\" (up to 8); passwords stored as salted hashes" },
	{ "resolvers", CONFIG_T_HOSTPORTS, "127.0.0.1", 0, 0, NULL,
	  "validating DNS resolvers: addresses or \"[addr]:port\", tried in order (up to 4)" },
	{ "smtp_max_sessions", CONFIG_T_UINT, "0", 0, INBOUND_MAX_SESSIONS, NULL,
	  "concurrent SMTP sessions, then 421 4.3.2; 0: the board's most (host 32, qemu-virt 4)" },
	{ "queue_max_msgs", CONFIG_T_UINT, "1024", 16, 65535, NULL,
	  "most messages in the queue (also bounded by the queue's RAM index)" },
	{ "queue_max_bytes", CONFIG_T_UINT, "0", 0, 0xFFFFFFFFu, NULL,
	  "most bytes the queue holds on flash; 0: the whole queue area" },
	{ "max_msg_size", CONFIG_T_UINT, "10485760", 1024, 64u * 1024 * 1024, NULL,
	  "largest message accepted (SMTP SIZE), bytes" },
	{ "smtp_timeout", CONFIG_T_DURATION, "5m", 5, 3600, NULL,
	  "wait for each SMTP command line, whole (RFC 5321 4.5.3.2: at least 5m)" },
	{ "smtp_data_timeout", CONFIG_T_DURATION, "3m", 5, 3600, NULL,
	  "longest pause between DATA blocks (RFC 5321 4.5.3.2: 3m)" },
	{ "smtp_min_data_rate", CONFIG_T_UINT, "500", 0, 1000000, NULL,
	  "octets/s a message must average after smtp_data_timeout; 0: no minimum" },
	{ "retry_schedule", CONFIG_T_DURATIONS, "5m,15m,30m,1h,2h,4h", 60, DAY, NULL,
	  "waits between delivery attempts; the last one repeats" },
	{ "max_queue_age", CONFIG_T_DURATION, "5d", 3600, 30 * DAY, NULL,
	  "how long a message may wait before it is bounced" },
	{ "tls_default", CONFIG_T_ENUM, "dane", 0, 0, POLICY_MODES,
	  "TLS policy for destinations not in tls_policy (dane: RFC 7672 opportunistic DANE)" },
	{ "tls_policy", CONFIG_T_POLICY, "", 0, 0, POLICY_MODES,
	  "per destination: \"example.com=dane-only [smtp.relay]:587=verify\"" },
	{ "smtp_destination_concurrency", CONFIG_T_UINT, "0", 0, 64, NULL,
	  "deliveries at once to a stalled or contended destination; 0: the board's sessions - 1" },
	{ "smarthost", CONFIG_T_HOSTPORT, "", 0, 0, NULL,
	  "send everything via this host (\"[host]:587\"); empty: deliver to MX hosts" },
	{ "smarthost_auth", CONFIG_T_SECRET, "", 0, 0, NULL,
	  "\"user:password\" for the smarthost (kept as given: it has to be sent)" },
	{ "console_password", CONFIG_T_HASH, "", 0, 0, NULL,
	  "console login password (set with passwd); stored as a salted hash" },
	{ "web_http", CONFIG_T_BOOL, "off", 0, 0, NULL,
	  "serve the web console over plain HTTP too (on web_http_port, or 80 if that is 0)" },
	{ "web_port", CONFIG_T_UINT, "443", 0, 65535, NULL,
	  "TCP port of the HTTPS web console (the gateway's certificate); 0: off" },
	{ "web_http_port", CONFIG_T_UINT, "0", 0, 65535, NULL,
	  "TCP port of a plain-HTTP web console (passwords in clear!); 0: off" },
	{ "smtp_delivery_redirect", CONFIG_T_HOSTPORT, "", 0, 0, NULL,
	  "TEST ONLY: connect to a.b.c.N at HOST, port BASE+N (\"127.0.0.1:26100\"); empty: off" },
	{ "dns_probe_name", CONFIG_T_HOSTPORT, "", 0, 0, NULL,
	  "signed name (type A) asked to check that the resolvers validate; empty: . DNSKEY" },
	{ "tls_import", CONFIG_T_PATHS, "", 0, 0, NULL,
	  "host board: PEM key and chain files imported at boot (one file or two; see tlsa import)" },
	{ "smtp_tls_client_cert", CONFIG_T_BOOL, "off", 0, 0, NULL,
	  "present the gateway's certificate to servers that ask for a client certificate" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

unsigned config_key_count(void)
{
	return (unsigned)NKEYS;
}

const struct config_key *config_key_at(unsigned i)
{
	return i < NKEYS ? &keys[i] : NULL;
}

const struct config_key *config_key_find(const char *name)
{
	for (unsigned i = 0; name && i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

const char *config_type_name(enum config_type t)
{
	switch (t) {
	case CONFIG_T_STR: return "hostname";
	case CONFIG_T_UINT: return "number";
	case CONFIG_T_BOOL: return "on/off";
	case CONFIG_T_ADDR: return "address";
	case CONFIG_T_CIDRS: return "network list";
	case CONFIG_T_USERS: return "user list";
	case CONFIG_T_HOSTPORTS: return "address list";
	case CONFIG_T_HOSTPORT: return "next hop";
	case CONFIG_T_ENUM: return "choice";
	case CONFIG_T_DURATION: return "duration";
	case CONFIG_T_DURATIONS: return "duration list";
	case CONFIG_T_POLICY: return "policy table";
	case CONFIG_T_SECRET: return "user:password";
	case CONFIG_T_HASH: return "password";
	case CONFIG_T_PATHS: return "file list";
	}
	return "?";
}

const char *config_src_name(enum config_src src)
{
	return src == CONFIG_SRC_SAVED ? "saved" : src == CONFIG_SRC_BOARD ? "board" : "default";
}

/* ---- small parsers ----------------------------------------------------- */

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
	if (err && size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return CONFIG_EINVAL;
}

/* Next token of text separated by any of seps; copies it (bounded) into
 * tok. Returns the token length, 0 at the end, -1 if it does not fit. */
static int next_token(const char **text, const char *seps, char *tok, size_t size)
{
	const char *p = *text;
	while (*p && strchr(seps, *p))
		p++;
	size_t n = strcspn(p, seps);
	*text = p + n;
	if (n >= size)
		return -1;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return (int)n;
}

static bool parse_u32(const char *t, uint32_t *out)
{
	uint64_t v = 0;
	if (!*t)
		return false;
	for (; *t; t++) {
		if (!isdigit((unsigned char)*t))
			return false;
		v = v * 10 + (uint64_t)(*t - '0');
		if (v > 0xFFFFFFFFu)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool valid_hostname(const char *h)
{
	size_t n = strlen(h), label = 0;
	if (n == 0 || n > HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = h[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			label++; /* '_' for service labels such as _25._tcp */
		} else {
			return false;
		}
	}
	return true;
}

static bool valid_addr(const char *t)
{
	struct port_addr a;
	return port_addr_parse(t, &a) == 0;
}

static bool valid_cidr(const struct config_key *k, const char *t)
{
	(void)k;
	char a[64];
	const char *slash = strchr(t, '/');
	size_t al = slash ? (size_t)(slash - t) : strlen(t);
	if (al == 0 || al >= sizeof(a))
		return false;
	memcpy(a, t, al);
	a[al] = '\0';
	struct port_addr pa;
	if (port_addr_parse(a, &pa) != 0)
		return false;
	if (!slash)
		return true;
	uint32_t bits;
	return parse_u32(slash + 1, &bits) && bits <= (pa.family == PORT_AF_INET ? 32u : 128u);
}

static bool in_choices(const char *word, const char *choices)
{
	size_t wl = strlen(word);
	const char *p = choices;
	while (wl && *p) {
		size_t n = strcspn(p, "|");
		if (n == wl && memcmp(p, word, n) == 0)
			return true;
		p += n + (p[n] == '|');
	}
	return false;
}

static bool parse_bool(const char *t, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" }, *const no[] = { "off", "no", "false", "0" };
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(t, yes[i]) == 0)
			return *out = true, true;
		if (strcmp(t, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

int config_parse_duration(const char *text, uint32_t *seconds)
{
	uint64_t total = 0;
	const char *p = text;
	if (!*p)
		return CONFIG_EINVAL;
	while (*p) {
		uint64_t v = 0;
		if (!isdigit((unsigned char)*p))
			return CONFIG_EINVAL;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > 0xFFFFFFFFu)
				return CONFIG_EINVAL;
		}
		uint64_t unit = 1;
		switch (*p) {
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = DAY; p++; break;
		case 'w': unit = 7 * DAY; p++; break;
		case '\0': if (p != text && total == 0) break; /* bare number: seconds */
			/* fall through */
		default: return CONFIG_EINVAL;
		}
		total += v * unit;
		if (total > 0xFFFFFFFFu)
			return CONFIG_EINVAL;
	}
	*seconds = (uint32_t)total;
	return 0;
}

/* ---- password hashes: PBKDF2-HMAC-SHA-256, one 32-byte block ------------ */

#define HASH_PREFIX "$pbkdf2-sha256$"
#define SALT_LEN 16
#define DK_LEN 32

static void hmac_key(mbedtls_sha256_context *in, mbedtls_sha256_context *out, const uint8_t *key,
		     size_t klen)
{
	uint8_t k[64] = { 0 }, pad[64];
	if (klen > 64) {
		mbedtls_sha256(key, klen, k, 0);
	} else if (klen) {
		memcpy(k, key, klen);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	mbedtls_sha256_starts(in, 0);
	mbedtls_sha256_update(in, pad, 64);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	mbedtls_sha256_starts(out, 0);
	mbedtls_sha256_update(out, pad, 64);
	mbedtls_platform_zeroize(k, sizeof(k));
	mbedtls_platform_zeroize(pad, sizeof(pad));
}

/* HMAC from the precomputed inner/outer states (no heap: the contexts
 * are on the stack, a few hundred bytes). */
static void hmac_run(const mbedtls_sha256_context *in, const mbedtls_sha256_context *out,
		     const uint8_t *a, size_t al, const uint8_t *b, size_t bl, uint8_t mac[32])
{
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	mbedtls_sha256_clone(&c, in);
	mbedtls_sha256_update(&c, a, al);
	if (bl)
		mbedtls_sha256_update(&c, b, bl);
	mbedtls_sha256_finish(&c, mac);
	mbedtls_sha256_clone(&c, out);
	mbedtls_sha256_update(&c, mac, 32);
	mbedtls_sha256_finish(&c, mac);
	mbedtls_sha256_free(&c);
}

static void pbkdf2(const char *pass, const uint8_t *salt, size_t slen, uint32_t iter,
		   uint8_t dk[DK_LEN])
{
	mbedtls_sha256_context in, out;
	mbedtls_sha256_init(&in);
	mbedtls_sha256_init(&out);
	hmac_key(&in, &out, (const uint8_t *)pass, strlen(pass));
	static const uint8_t block1[4] = { 0, 0, 0, 1 };
	uint8_t u[32];
	hmac_run(&in, &out, salt, slen, block1, 4, u);
	memcpy(dk, u, DK_LEN);
	for (uint32_t i = 1; i < iter; i++) {
		hmac_run(&in, &out, u, 32, NULL, 0, u);
		for (int j = 0; j < DK_LEN; j++)
			dk[j] ^= u[j];
	}
	mbedtls_platform_zeroize(u, sizeof(u));
	mbedtls_sha256_free(&in);
	mbedtls_sha256_free(&out);
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool from_hex(const char *t, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = t[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return true;
}

/* Splits a stored hash; false if it is not one. */
static bool hash_parts(const char *s, uint32_t *iter, uint8_t salt[SALT_LEN], uint8_t dk[DK_LEN])
{
	size_t pl = strlen(HASH_PREFIX);
	if (strncmp(s, HASH_PREFIX, pl) != 0)
		return false;
	s += pl;
	char num[12];
	size_t n = strcspn(s, "$");
	if (n == 0 || n >= sizeof(num) || s[n] != '$')
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	if (!parse_u32(num, iter) || *iter == 0 || *iter > 1000000)
		return false;
	s += n + 1;
	if (strlen(s) != 2 * SALT_LEN + 1 + 2 * DK_LEN || s[2 * SALT_LEN] != '$')
		return false;
	return from_hex(s, SALT_LEN, salt) && from_hex(s + 2 * SALT_LEN + 1, DK_LEN, dk);
}

bool config_hash_is_hash(const char *stored)
{
	uint32_t it;
	uint8_t salt[SALT_LEN], dk[DK_LEN];
	return hash_parts(stored, &it, salt, dk);
}

int config_hash_password(const char *pass, char *out, size_t size)
{
	uint8_t salt[SALT_LEN], dk[DK_LEN];
	if (size < CONFIG_HASH_TEXT)
		return SETTINGS_ENOSPC;
	int err = port_random(salt, sizeof(salt));
	if (err)
		return err; /* never a predictable salt */
	pbkdf2(pass, salt, sizeof(salt), CONFIG_HASH_ITER, dk);
	char sh[2 * SALT_LEN + 1], dh[2 * DK_LEN + 1];
	to_hex(salt, SALT_LEN, sh);
	to_hex(dk, DK_LEN, dh);
	snprintf(out, size, HASH_PREFIX "%u$%s$%s", (unsigned)CONFIG_HASH_ITER, sh, dh);
	mbedtls_platform_zeroize(dk, sizeof(dk));
	return 0;
}

int config_hash_check(const char *stored, const char *pass)
{
	uint32_t iter;
	uint8_t salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
	if (hash_parts(stored, &iter, salt, want)) {
		pbkdf2(pass, salt, SALT_LEN, iter, got);
		int diff = mbedtls_ct_memcmp(got, want, DK_LEN);
		mbedtls_platform_zeroize(got, sizeof(got));
		return diff ? -1 : 0;
	}
	/* Legacy plaintext (provisioned before hashing): equal length and
	 * bytes, compared without an early exit. */
	size_t sl = strlen(stored), pl = strlen(pass);
	if (sl == 0 || sl != pl)
		return -1;
	return mbedtls_ct_memcmp(stored, pass, sl) ? -1 : 0;
}

int config_users_check(const char *users, const char *user, const char *pass)
{
	char tok[CONFIG_VALUE_MAX + 1];
	const char *p = users;
	int n;
	while ((n = next_token(&p, " \t,", tok, sizeof(tok))) != 0) {
		if (n < 0)
			return -1;
		char *colon = strchr(tok, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (strcmp(tok, user) == 0)
			return config_hash_check(colon + 1, pass);
	}
	return -1;
}

/* ---- validation ---------------------------------------------------------- */

static bool valid_user_name(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > USER_NAME_MAX)
		return false;
	for (; *u; u++)
		if (!isalnum((unsigned char)*u) && !strchr("._@+-", *u))
			return false;
	return true;
}

static bool printable_no_space(const char *t)
{
	for (; *t; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return false;
	return true;
}

/* Validates a list; per-entry check gets the token. */
static int validate_list(const char *value, const char *seps, unsigned max,
			 bool (*ok)(const struct config_key *k, const char *tok), const struct config_key *k,
			 const char *what, char *err, size_t esz)
{
	char tok[CONFIG_VALUE_MAX + 1];
	const char *p = value;
	unsigned count = 0;
	int n;
	while ((n = next_token(&p, seps, tok, sizeof(tok))) != 0) {
		if (n < 0)
			return fail(err, esz, "entry too long");
		if (++count > max)
			return fail(err, esz, "more than %u entries", max);
		if (!ok(k, tok))
			return fail(err, esz, "entry %u '%.60s' is not %s", count, tok, what);
	}
	return 0;
}

static bool user_entry_ok(const struct config_key *k, const char *t)
{
	(void)k;
	char u[USER_NAME_MAX + 1];
	const char *colon = strchr(t, ':');
	if (!colon || (size_t)(colon - t) > USER_NAME_MAX)
		return false;
	memcpy(u, t, (size_t)(colon - t));
	u[colon - t] = '\0';
	size_t pl = strlen(colon + 1);
	return valid_user_name(u) && pl > 0 && printable_no_space(colon + 1) &&
	       (pl <= PASS_MAX || config_hash_is_hash(colon + 1));
}

/* Our range, and the relay's own parser (relay/retry.c: units required,
 * s/m/h/d) must both accept it, so a saved value always loads. */
static bool duration_ok_range(const struct config_key *k, const char *t)
{
	uint32_t s, r;
	return config_parse_duration(t, &s) == 0 && s >= k->min && s <= k->max &&
	       retry_parse_duration(t, strlen(t), &r) == 0 && r == s;
}

static bool durations_entry_ok(const struct config_key *k, const char *t)
{
	return duration_ok_range(k, t);
}

static void fmt_duration(uint32_t s, char *buf, size_t size)
{
	if (s % DAY == 0)
		snprintf(buf, size, "%ud", (unsigned)(s / DAY));
	else if (s % 3600 == 0)
		snprintf(buf, size, "%uh", (unsigned)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, size, "%um", (unsigned)(s / 60));
	else
		snprintf(buf, size, "%us", (unsigned)s);
}

static int validate_key(const struct config_key *k, const char *v, char *err, size_t esz)
{
	char a[16], b[16];
	if (strlen(v) > CONFIG_VALUE_MAX)
		return fail(err, esz, "%s: longer than %u bytes", k->name, CONFIG_VALUE_MAX);
	switch (k->type) {
	case CONFIG_T_STR:
		if (!valid_hostname(v))
			return fail(err, esz, "%s: '%.60s' is not a host name (letters, digits, '-', "
					      "dot-separated labels of 1-63)", k->name, v);
		return 0;
	case CONFIG_T_UINT: {
		uint32_t n;
		if (!parse_u32(v, &n) || n < k->min || n > k->max)
			return fail(err, esz, "%s: '%.40s' is not a number from %lu to %lu", k->name, v,
				    (unsigned long)k->min, (unsigned long)k->max);
		return 0;
	}
	case CONFIG_T_BOOL: {
		bool x;
		if (!parse_bool(v, &x))
			return fail(err, esz, "%s: '%.40s' is not on/off (yes/no, true/false, 1/0)",
				    k->name, v);
		return 0;
	}
	case CONFIG_T_ADDR:
		if (*v && !valid_addr(v))
			return fail(err, esz, "%s: '%.60s' is not a numeric IPv4 or IPv6 address",
				    k->name, v);
		return 0;
	case CONFIG_T_CIDRS: {
		int e = validate_list(v, " \t,", CONFIG_LIST_MAX, valid_cidr, k, "address/prefix", err, esz);
		if (e && err)
			snprintf(err + strlen(err), esz - strlen(err), " (%s)", k->name);
		return e;
	}
	case CONFIG_T_USERS: {
		int e = validate_list(v, " \t,", USERS_MAX, user_entry_ok, k,
				      "user:password (user: letters, digits . _ @ + -)", err, esz);
		return e;
	}
	case CONFIG_T_HOSTPORTS: {
		/* The resolver's own parser: what validates here is what it uses. */
		static struct dns_resolver_config dc; /* scratch, ~300 bytes */
		dns_resolver_config_default(&dc);
		if (dns_resolver_config_servers(&dc, v) < 0)
			return fail(err, esz, "%s: '%.60s' is not 1 to %d addresses (\"192.0.2.53\", "
					      "\"[2001:db8::53]:5353\")", k->name, v, DNS_SERVERS_MAX);
		return 0;
	}
	case CONFIG_T_HOSTPORT: {
		struct policy_nexthop nh; /* ~260 bytes */
		if (*v && policy_nexthop_parse(v, &nh) != 0)
			return fail(err, esz, "%s: '%.60s' is not host, [host]:port or host:port",
				    k->name, v);
		return 0;
	}
	case CONFIG_T_ENUM:
		if (!in_choices(v, k->choices))
			return fail(err, esz, "%s: '%.40s' is not one of %s", k->name, v, k->choices);
		return 0;
	case CONFIG_T_DURATION:
		if (!duration_ok_range(k, v)) {
			fmt_duration(k->min, a, sizeof(a));
			fmt_duration(k->max, b, sizeof(b));
			return fail(err, esz, "%s: '%.40s' is not a duration from %s to %s (30m, 5d, "
					      "1h30m: a unit is needed)",
				    k->name, v, a, b);
		}
		return 0;
	case CONFIG_T_DURATIONS: {
		if (!*v)
			return fail(err, esz, "%s: needs at least one step", k->name);
		fmt_duration(k->min, a, sizeof(a));
		fmt_duration(k->max, b, sizeof(b));
		char what[64];
		snprintf(what, sizeof(what), "a duration from %s to %s", a, b);
		int e = validate_list(v, ", ", CONFIG_RETRY_MAX, durations_entry_ok, k, what, err, esz);
		struct retry_policy rp;
		if (!e && retry_parse_schedule(v, &rp) != 0)
			return fail(err, esz, "%s: write it as \"5m,15m,1h\" (commas, at most %u "
					      "steps, %u bytes)", k->name, RETRY_MAX_STEPS, RETRY_SPEC_MAX);
		return e;
	}
	case CONFIG_T_POLICY: {
		/* The relay's own table parser (relay/policy.c), so a saved
		 * table always loads. 4 KiB: from the heap for this call (not
		 * the stack; no static RAM for a scratch: the heap's peak is
		 * DNS parsing, which never runs at the same time). */
		struct policy_table *pt = malloc(sizeof(*pt));
		if (!pt)
			return fail(err, esz, "%s: out of memory", k->name);
		size_t off = 0;
		policy_table_init(pt);
		int e = policy_table_parse(pt, v, &off);
		free(pt);
		if (e < 0)
			return fail(err, esz, "%s: item at '%.40s': %s", k->name, v + off,
				    e == POLICY_ELEVEL ? "mode is not one of " POLICY_MODES
				    : e == POLICY_ENAME ? "not a domain, .domain or [host]:port"
				    : e == POLICY_EPORT ? "bad port"
				    : e == POLICY_EDUP ? "destination listed twice"
				    : e == POLICY_ENOSPC ? "more than 16 entries"
							 : "expected destination=mode");
		return 0;
	}
	case CONFIG_T_SECRET:
		if (*v && (!strchr(v, ':') || v[0] == ':' || !printable_no_space(v) ||
			   strlen(v) > 2 * PASS_MAX))
			return fail(err, esz, "%s: expected user:password without spaces", k->name);
		return 0;
	case CONFIG_T_PATHS: {
		/* up to two absolute paths of printable characters */
		unsigned n = 0;
		for (const char *t = v; *t;) {
			size_t l = strcspn(t, " \t");
			if (l) {
				n++;
				if (t[0] != '/' || n > 2)
					return fail(err, esz, "%s: up to two absolute paths (/...)", k->name);
				for (size_t i = 0; i < l; i++)
					if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
						return fail(err, esz, "%s: a path holds a control character",
							    k->name);
			}
			t += l + (t[l] != '\0');
		}
		return 0;
	}
	case CONFIG_T_HASH:
		if (config_hash_is_hash(v))
			return 0;
		if (strlen(v) < CONFIG_PASS_MIN || strlen(v) > PASS_MAX || !printable_no_space(v))
			return fail(err, esz, "%s: a password is %u to %u printable characters, "
					      "no spaces", k->name, CONFIG_PASS_MIN, PASS_MAX);
		return 0;
	}
	return fail(err, esz, "%s: unknown type", k->name);
}

int config_validate(const char *key, const char *value, char *err, size_t errsize)
{
	const struct config_key *k = config_key_find(key);
	if (!k) {
		fail(err, errsize, "no such key '%.40s' (config show lists them)", key ? key : "");
		return CONFIG_ENOKEY;
	}
	return validate_key(k, value, err, errsize);
}

/* Hashes every plaintext password of a user list into out. */
static int hash_users(const char *v, char *out, size_t size, char *err, size_t esz)
{
	char tok[CONFIG_VALUE_MAX + 1], h[CONFIG_HASH_TEXT];
	const char *p = v;
	size_t len = 0;
	int n;
	out[0] = '\0';
	while ((n = next_token(&p, " \t,", tok, sizeof(tok))) > 0) {
		char *colon = strchr(tok, ':');
		*colon = '\0';
		const char *pass = colon + 1;
		if (!config_hash_is_hash(pass)) {
			int e = config_hash_password(pass, h, sizeof(h));
			if (e)
				return fail(err, esz, "cannot hash the password (%d)", e), e;
			pass = h;
		}
		int w = snprintf(out + len, size - len, "%s%s:%s", len ? " " : "", tok, pass);
		if (w < 0 || (size_t)w >= size - len)
			return fail(err, esz, "smtp_users: too long once hashed (%u bytes max)",
				    CONFIG_VALUE_MAX);
		len += (size_t)w;
	}
	return 0;
}

int config_set(struct settings *s, const char *key, const char *value, char *err, size_t errsize)
{
	const struct config_key *k = config_key_find(key);
	if (!k)
		return config_validate(key, value, err, errsize);
	int e = validate_key(k, value, err, errsize);
	if (e)
		return e;
	/* scratch for the hashed form: too big for a small stack, heap for
	 * this call (see CONFIG_T_POLICY) */
	enum { STORED = CONFIG_VALUE_MAX + 1 };
	char *stored = malloc(STORED);
	if (!stored)
		return fail(err, errsize, "%s: out of memory", k->name), CONFIG_EINVAL;
	const char *v = value;
	if (k->type == CONFIG_T_USERS) {
		if ((e = hash_users(value, stored, STORED, err, errsize)) != 0)
			goto out;
		v = stored;
	} else if (k->type == CONFIG_T_HASH && !config_hash_is_hash(value)) {
		if ((e = config_hash_password(value, stored, STORED)) != 0) {
			fail(err, errsize, "cannot hash the password (%d)", e);
			goto out;
		}
		v = stored;
	}
	e = settings_set(s, k->name, v, strlen(v));
	if (e)
		fail(err, errsize, "%s: no room in the settings image (%d)", k->name, e);
out:
	mbedtls_platform_zeroize(stored, STORED);
	free(stored);
	return e;
}

int config_unset(struct settings *s, const char *key, char *err, size_t errsize)
{
	const struct config_key *k = config_key_find(key);
	if (!k)
		return config_validate(key, "", err, errsize);
	return settings_set(s, k->name, NULL, 0);
}

int config_get(const struct settings *s, config_board_fn board, const char *key, char *buf,
	       size_t size)
{
	const struct config_key *k = config_key_find(key);
	if (!k)
		return CONFIG_ENOKEY;
	int n = s ? settings_get_str(s, k->name, buf, size) : SETTINGS_ENOENT;
	if (n == SETTINGS_ENOSPC)
		return n; /* a saved value the caller cannot hold: never fall back silently */
	if (n >= 0 && validate_key(k, buf, NULL, 0) == 0)
		return CONFIG_SRC_SAVED;
	const char *b = board ? board(k->name) : NULL;
	if (b && validate_key(k, b, NULL, 0) == 0) {
		if (strlen(b) >= size)
			return SETTINGS_ENOSPC;
		memcpy(buf, b, strlen(b) + 1);
		return CONFIG_SRC_BOARD;
	}
	if (strlen(k->def) >= size)
		return SETTINGS_ENOSPC;
	memcpy(buf, k->def, strlen(k->def) + 1);
	return CONFIG_SRC_DEFAULT;
}

static int get_typed(const struct settings *s, config_board_fn board, const char *key,
		     enum config_type t, char *buf, size_t size)
{
	const struct config_key *k = config_key_find(key);
	if (!k)
		return CONFIG_ENOKEY;
	if (k->type != t)
		return CONFIG_EINVAL;
	int src = config_get(s, board, key, buf, size);
	return src < 0 ? src : 0;
}

int config_get_uint(const struct settings *s, config_board_fn board, const char *key,
		    uint32_t *out)
{
	char buf[16];
	int e = get_typed(s, board, key, CONFIG_T_UINT, buf, sizeof(buf));
	return e ? e : parse_u32(buf, out) ? 0 : CONFIG_EINVAL;
}

int config_get_bool(const struct settings *s, config_board_fn board, const char *key, bool *out)
{
	char buf[16];
	int e = get_typed(s, board, key, CONFIG_T_BOOL, buf, sizeof(buf));
	return e ? e : parse_bool(buf, out) ? 0 : CONFIG_EINVAL;
}

int config_get_duration(const struct settings *s, config_board_fn board, const char *key,
			uint32_t *seconds)
{
	char buf[32];
	int e = get_typed(s, board, key, CONFIG_T_DURATION, buf, sizeof(buf));
	return e ? e : config_parse_duration(buf, seconds);
}

int config_get_durations(const struct settings *s, config_board_fn board, const char *key,
			 uint32_t *out, unsigned max)
{
	char buf[CONFIG_VALUE_MAX + 1], tok[32];
	int e = get_typed(s, board, key, CONFIG_T_DURATIONS, buf, sizeof(buf));
	if (e)
		return e;
	const char *p = buf;
	unsigned n = 0;
	int l;
	while (n < max && (l = next_token(&p, ", ", tok, sizeof(tok))) != 0) {
		if (l < 0 || config_parse_duration(tok, &out[n]) != 0)
			return CONFIG_EINVAL;
		n++;
	}
	return (int)n;
}

int config_show_value(const struct settings *s, config_board_fn board, const char *key,
		      char *buf, size_t size)
{
	const struct config_key *k = config_key_find(key);
	if (!k)
		return CONFIG_ENOKEY;
	enum { RAW = CONFIG_VALUE_MAX + 1 };
	char *raw = malloc(RAW); /* scratch for this call, see config_set */
	if (!raw)
		return CONFIG_EINVAL;
	int src = config_get(s, board, key, raw, RAW);
	if (src < 0) {
		free(raw);
		return src;
	}
	if (k->type == CONFIG_T_HASH) {
		snprintf(buf, size, "%s", raw[0] ? "(set)" : "(not set)");
	} else if (k->type == CONFIG_T_SECRET) {
		char *colon = strchr(raw, ':');
		if (colon)
			colon[1] = '\0';
		snprintf(buf, size, "%s%s", colon ? raw : "(not set)", colon ? "***" : "");
	} else if (k->type == CONFIG_T_USERS) {
		char tok[CONFIG_VALUE_MAX + 1];
		const char *p = raw;
		size_t len = 0;
		buf[0] = '\0';
		while (next_token(&p, " \t,", tok, sizeof(tok)) > 0 && len < size) {
			char *colon = strchr(tok, ':');
			if (colon)
				*colon = '\0';
			int w = snprintf(buf + len, size - len, "%s%s:***", len ? " " : "", tok);
			if (w < 0)
				break;
			len += (size_t)w;
		}
	} else {
		snprintf(buf, size, "%s", raw);
	}
	mbedtls_platform_zeroize(raw, RAW);
	free(raw);
	return src;
}

/* One "key = value" line into key/value (both bounded); 0 for a line to
 * apply, 1 for a blank or comment line, CONFIG_EINVAL otherwise. */
static int import_line(const char *line, size_t len, char *key, size_t ksize, char *val,
		       size_t vsize, char *err, size_t esz)
{
	while (len && (line[len - 1] == '\r' || isspace((unsigned char)line[len - 1])))
		len--;
	size_t i = 0;
	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 1;
	const char *eq = memchr(line + i, '=', len - i);
	if (!eq)
		return fail(err, esz, "expected key = value");
	size_t kl = (size_t)(eq - line) - i;
	while (kl && isspace((unsigned char)line[i + kl - 1]))
		kl--;
	if (kl == 0 || kl >= ksize)
		return fail(err, esz, "bad key");
	memcpy(key, line + i, kl);
	key[kl] = '\0';
	const char *v = eq + 1, *end = line + len;
	while (v < end && isspace((unsigned char)*v))
		v++;
	if ((size_t)(end - v) >= vsize)
		return fail(err, esz, "%s: value longer than %u bytes", key, CONFIG_VALUE_MAX);
	memcpy(val, v, (size_t)(end - v));
	val[end - v] = '\0';
	return 0;
}

int config_parse_text(const char *text, config_line_fn fn, void *ctx, unsigned *line_no,
		      char *err, size_t errsize)
{
	static char val[CONFIG_VALUE_MAX + 1]; /* scratch, see config_set */
	char key[SETTINGS_NAME_MAX + 1];
	unsigned n = 0;
	int r = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		n++;
		r = import_line(p, len, key, sizeof(key), val, sizeof(val), err, errsize);
		if (r == 0)
			r = config_validate(key, val, err, errsize);
		if (r == 0 && fn)
			r = fn(ctx, key, val, err, errsize);
		if (r < 0) {
			if (line_no)
				*line_no = n;
			break;
		}
		r = 0;
		p += len + (p[len] == '\n');
	}
	mbedtls_platform_zeroize(val, sizeof(val));
	return r;
}

static int import_set(void *ctx, const char *key, const char *value, char *err, size_t errsize)
{
	return config_set(ctx, key, value, err, errsize);
}

int config_import(struct settings *s, const char *text, unsigned *line_no, char *err,
		  size_t errsize)
{
	/* Every line is validated first; then applied. A failure while
	 * applying (image full) restores the image as it was. */
	static struct settings backup; /* 8 KiB: not on a small stack */
	int r = config_parse_text(text, NULL, NULL, line_no, err, errsize);
	if (r < 0)
		return r;
	backup = *s;
	r = config_parse_text(text, import_set, s, line_no, err, errsize);
	if (r < 0)
		*s = backup;
	mbedtls_platform_zeroize(&backup, sizeof(backup));
	return r;
}

int config_save(struct settings *s)
{
	return settings_save(s);
}

int config_factory_reset(struct settings *s)
{
	/* settings.h has no "clear": its image length is the documented
	 * public state, and an empty image is exactly the factory state
	 * settings_open gives for a blank store. */
	memset(s->image, 0xFF, sizeof(s->image));
	s->len = 0;
	s->dirty = true;
	return settings_save(s);
}
