/* config — the typed, validated configuration on top of the settings
 * image: one const table of keys (type, range, default, one-line help),
 * set/get/show/unset/save/factory reset, and the password hashes.
 * Exports config_key_*(), config_set(), config_get*(), config_show_value(),
 * config_unset(), config_save(), config_factory_reset(), config_hash_*().
 *
 * Precedence for every key: a valid saved value > the board's setting
 * (port_setting(), passed in as a lookup function) > the table default.
 * A saved value that does not validate (written by an older firmware or
 * a provisioning tool) is skipped, never used. Binary entries such as
 * "tls_key" / "tls_cert" are raw settings, not keys: they never appear
 * here. No state of its own: the caller owns struct settings. */
#ifndef DANEGATE_CONFIG_H
#define DANEGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"

#define CONFIG_VALUE_MAX 1024 /* bytes of one value's text (NUL excluded) */
#define CONFIG_ERR_MAX 160    /* bytes of an error message, NUL included */
#define CONFIG_LIST_MAX 16    /* entries in a list value (networks, users, ...) */
#define CONFIG_RETRY_MAX 16   /* steps in retry_schedule */
#define CONFIG_HASH_ITER 10000 /* PBKDF2-HMAC-SHA256 iterations of a password hash */
#define CONFIG_PASS_MIN 8      /* console password: shortest accepted */

/* Errors: negative. SETTINGS_* codes (ENOSPC, ...) and PORT_E* pass through. */
enum config_err {
	CONFIG_ENOKEY = -2,  /* no such key */
	CONFIG_EINVAL = -22, /* value does not validate: see the error text */
	CONFIG_ETOOLONG = -36,
};

enum config_type {
	CONFIG_T_STR,	    /* host name: letters, digits, '-', '.' */
	CONFIG_T_UINT,	    /* decimal, min..max */
	CONFIG_T_BOOL,	    /* on/off, yes/no, true/false, 1/0 */
	CONFIG_T_ADDR,	    /* one numeric IPv4/IPv6 address, or "" for all */
	CONFIG_T_CIDRS,	    /* "10.0.0.0/8 fc00::/7" */
	CONFIG_T_USERS,	    /* "user:pass ..." stored as "user:<hash> ..." */
	CONFIG_T_HOSTPORTS, /* resolver addresses "192.0.2.1 [2001:db8::1]:5353" */
	CONFIG_T_HOSTPORT,  /* one next hop "host", "[host]:port", ... or "" */
	CONFIG_T_ENUM,	    /* one word of choices ("a|b|c") */
	CONFIG_T_DURATION,  /* "5d", "1h30m", "45s" (bare number: seconds) */
	CONFIG_T_DURATIONS, /* "5m,15m,30m" */
	CONFIG_T_POLICY,    /* "example.com=dane-only [mx.example]:587=verify"
			     * (relay/policy.c parses it: config agrees with the relay) */
	CONFIG_T_SECRET,    /* "user:pass" kept as given (we must send it) */
	CONFIG_T_HASH,	    /* a password, stored as a salted hash */
	CONFIG_T_PATHS,	    /* host board files: "/etc/k.pem /etc/chain.pem" or "" */
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;     /* default as text (valid for the type) */
	uint32_t min, max;   /* UINT and DURATION (seconds) ranges */
	const char *choices; /* ENUM: "a|b|c"; POLICY: the modes */
	const char *help;    /* one line */
};

/* Where an effective value came from. */
enum config_src { CONFIG_SRC_DEFAULT = 0, CONFIG_SRC_BOARD = 1, CONFIG_SRC_SAVED = 2 };

/* The board's settings (port_setting in the firmware; NULL: none). */
typedef const char *(*config_board_fn)(const char *key);

/* The table: config_key_at(i) for i < config_key_count(). */
unsigned config_key_count(void);
const struct config_key *config_key_at(unsigned i);
const struct config_key *config_key_find(const char *name);
const char *config_type_name(enum config_type t);
const char *config_src_name(enum config_src src);

/* Checks value for key; 0 or CONFIG_ENOKEY/CONFIG_EINVAL with a reason
 * in err (may be NULL). Hash-typed keys accept plaintext (for set) and a
 * stored hash (for values already saved). */
int config_validate(const char *key, const char *value, char *err, size_t errsize);

/* Validates and stores value in the RAM image (passwords hashed first,
 * needing port_random for the salt). Nothing changes on error. Saved to
 * flash only by config_save(). */
int config_set(struct settings *s, const char *key, const char *value, char *err, size_t errsize);
/* Removes the saved value (the board's or the default is used again). */
int config_unset(struct settings *s, const char *key, char *err, size_t errsize);

/* The effective value as text into buf: returns enum config_src (>= 0)
 * or CONFIG_ENOKEY / SETTINGS_ENOSPC (buf too small). */
int config_get(const struct settings *s, config_board_fn board, const char *key, char *buf,
	       size_t size);
/* Typed views of the effective value (the key must be of that type). */
int config_get_uint(const struct settings *s, config_board_fn board, const char *key,
		    uint32_t *out);
int config_get_bool(const struct settings *s, config_board_fn board, const char *key, bool *out);
int config_get_duration(const struct settings *s, config_board_fn board, const char *key,
			uint32_t *seconds);
/* retry_schedule as seconds: returns the count (<= max) or negative. */
int config_get_durations(const struct settings *s, config_board_fn board, const char *key,
			 uint32_t *out, unsigned max);

/* The value for `config show`: secrets and hashes masked ("(set)",
 * "(not set)", users as "alice:*** bob:***"). Returns enum config_src. */
int config_show_value(const struct settings *s, config_board_fn board, const char *key,
		      char *buf, size_t size);

/* Parses "5d", "1h30m", "90" (seconds) into seconds. 0 or CONFIG_EINVAL. */
int config_parse_duration(const char *text, uint32_t *seconds);

/* Walks a text of "key = value" lines (blank lines and lines starting
 * with '#' skipped, blanks around key and value trimmed, at most
 * CONFIG_VALUE_MAX bytes per value), validating each with
 * config_validate() and handing it to fn (NULL: validate only). Stops at
 * the first bad line or the first fn error: returns that negative code,
 * *line_no (may be NULL) its 1-based number, err the reason. 0 when every
 * line passed. key and value are valid during the call only. */
typedef int (*config_line_fn)(void *ctx, const char *key, const char *value, char *err,
			      size_t errsize);
int config_parse_text(const char *text, config_line_fn fn, void *ctx, unsigned *line_no,
		      char *err, size_t errsize);

/* Applies a text of "key = value" lines (the same keys and values as the
 * console's `config set`; blank lines and lines starting with '#' are
 * skipped; at most CONFIG_VALUE_MAX bytes per value). Every line is
 * checked first: on any error nothing is changed, *line_no (may be NULL)
 * gets the 1-based number of the bad line and err says why. Not saved:
 * call config_save(). For the host board's start-up file and provisioning. */
int config_import(struct settings *s, const char *text, unsigned *line_no, char *err,
		  size_t errsize);

/* Saves the RAM image to flash (two generations, power-cut safe). */
int config_save(struct settings *s);
/* Factory reset: the image emptied (every key, the gateway's key and
 * certificate too) and saved. The next boot starts from defaults. */
int config_factory_reset(struct settings *s);

/* ---- passwords ----------------------------------------------------------
 * Stored form: "$pbkdf2-sha256$<iter>$<salt 32 hex>$<key 64 hex>"
 * (CONFIG_HASH_TEXT bytes). mbedTLS's PKCS5 module is not in our build
 * (MBEDTLS_PKCS5_C is off), so PBKDF2 (RFC 8018, one block) is computed
 * here over mbedTLS's HMAC-SHA-256. */
#define CONFIG_HASH_TEXT 120
/* Hashes pass with a fresh salt into out (>= CONFIG_HASH_TEXT bytes). */
int config_hash_password(const char *pass, char *out, size_t size);
/* 0 if pass matches stored (a hash, or — for values provisioned before
 * hashing — plaintext compared in constant time), -1 if not. */
int config_hash_check(const char *stored, const char *pass);
bool config_hash_is_hash(const char *stored);
/* For AUTH: looks user up in an smtp_users value and checks pass.
 * 0 on a match, -1 otherwise (unknown user or wrong password). */
int config_users_check(const char *users, const char *user, const char *pass);

#endif
