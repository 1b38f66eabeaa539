/* rollover — the gateway's own TLSA key rollover (DANE-RULES 24, RFC 7671
 * §8): while a next key exists, watch `_25._tcp.<hostname>` TLSA in DNS and
 * say when switching to it is safe — the next key's `3 1 1` record seen in
 * a DNSSEC-secure answer, continuously, for at least two TTLs of the
 * RRset. Exports rollover_eval() (pure: one answer in, verdict out), the
 * driver rollover_init/tick/check_now/status over the stub resolver, and
 * rollover_spki_sha256().
 *
 * State that must survive a reboot (when the next record was first seen,
 * the largest TTL since) is kept in the settings as the binary entry
 * "tls_next_seen" and dropped with the next key. */
#ifndef DANEGATE_ROLLOVER_H
#define DANEGATE_ROLLOVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/settings.h"
#include "dns/dns.h"
#include "mbedtls/x509_crt.h"
#include "tls/tls.h"

#define ROLLOVER_CHECK_MS (5u * 60u * 1000u) /* DNS asked this often with a next key */
#define ROLLOVER_RETRY_MS (60u * 1000u)	   /* ... and after a failed lookup */
#define ROLLOVER_TTL_MIN 60u		   /* a smaller TTL counts as this (RFC 7671 §8:
					    * caches may hold longer than tiny TTLs) */
#define ROLLOVER_NAME_SIZE (DNS_NAME_TEXT_SIZE + 12)
#define ROLLOVER_SEEN_KEY "tls_next_seen"  /* settings entry: 8 bytes first seen
					    * (wall s, LE) + 4 bytes TTL (LE) */

enum rollover_err {
	ROLLOVER_OK = 0,
	ROLLOVER_EINVAL = -22,
	ROLLOVER_EBUSY = -16,	/* a lookup is already running */
	ROLLOVER_ENOENT = -2,	/* no next key: nothing to watch */
	ROLLOVER_ENOTSUP = -95, /* no resolver */
};

enum rollover_verdict {
	ROLLOVER_NO_NEXT,	/* no next key */
	ROLLOVER_UNKNOWN,	/* not looked up yet */
	ROLLOVER_LOOKUP_FAILED, /* SERVFAIL, timeout, bogus */
	ROLLOVER_INSECURE,	/* answer without DNSSEC: senders cannot use DANE */
	ROLLOVER_NEXT_MISSING,	/* secure, but the next record is not published */
	ROLLOVER_WAITING,	/* published: wait until ready_at */
	ROLLOVER_READY,		/* seen for two TTLs: the switch is safe */
};

/* What survives reboots (settings "tls_next_seen"). */
struct rollover_seen {
	int64_t first_seen; /* wall seconds; 0: not (continuously) seen */
	uint32_t ttl;	    /* largest TTL of the RRset since first_seen */
};

struct rollover_status {
	enum rollover_verdict verdict;
	bool current_published; /* the current key's 3 1 1 record is in the RRset */
	bool next_published;
	uint32_t ttl;
	int64_t first_seen, ready_at; /* wall seconds, 0: unknown */
	int64_t checked_at;	      /* last answer, 0: none */
	char name[ROLLOVER_NAME_SIZE]; /* "_25._tcp.<hostname>" */
	char detail[96];	      /* the lookup failure, "" */
};

/* SHA-256 of the certificate's SubjectPublicKeyInfo: the `3 1 1` data. */
int rollover_spki_sha256(const mbedtls_x509_crt *crt, uint8_t out[32]);

/* Pure step: one TLSA answer for the gateway's name, the digests of the
 * current and the next key, the wall time -> the new persisted state
 * (*seen, updated in place: first seen set at the first secure sighting,
 * cleared when the record disappears or the answer turns insecure, TTL
 * the largest seen) and the verdict in *st. Returns true if *seen changed
 * (the caller saves it). */
bool rollover_eval(struct rollover_seen *seen, const struct dns_answer *ans,
		   const uint8_t cur[32], const uint8_t next[32], int64_t now,
		   struct rollover_status *st);
const char *rollover_verdict_name(enum rollover_verdict v);

/* ---- driver (one per relay) ---------------------------------------------- */
struct rollover_env {
	struct settings *settings;
	config_board_fn board;		   /* port_setting */
	struct dns_resolver *dns;	   /* NULL: no resolver (status says so) */
	const mbedtls_x509_crt *cur_cert;  /* the certificate in use */
	int64_t (*wall_time)(void);
};
void rollover_init(const struct rollover_env *env);
/* Asks DNS every ROLLOVER_CHECK_MS while a next key exists. */
void rollover_tick(uint64_t now_ms);
/* Asks DNS now (console `tlsa check`); the answer comes from the loop. */
int rollover_check_now(void);
/* The last verdict (recomputed against the clock: WAITING turns READY). */
void rollover_status(struct rollover_status *st);
/* The next key was made, switched or dropped: forget the watch state. */
void rollover_reset(void);
/* ---- the gateway's own credentials in the settings ------------------------
 * "tls_key"/"tls_cert": in service; "tls_next_key"/"tls_next_cert": the
 * next key waiting for its record (DER; a chain is certificates back to
 * back). An imported pair (tls_import_pem) follows rule 24: */
enum rollover_import_kind {
	ROLLOVER_IMPORT_RENEW = 1, /* the current key: 3 1 1 unchanged, in service at once */
	ROLLOVER_IMPORT_NEXT = 2,  /* another key: the next key (its record to publish) */
	ROLLOVER_IMPORT_NEXT_RENEW = 3, /* the next key's own renewal: the watch goes on */
};
/* Stores im (saved); returns a kind, or SETTINGS_ENOSPC (does not fit:
 * nothing changed) or a save error (the settings are read back from
 * flash: nothing changed, unsaved `config set`s are dropped too). A new
 * next key replaces one not switched to yet (its record was never in
 * use) and restarts the DNS watch. */
int rollover_import(struct settings *s, const struct tls_import *im);
/* The current key and chain from the settings into service:
 * apply(key, chain) (tls_live_set), from a copy. 0, or apply's error, or
 * ROLLOVER_ENOENT. */
int rollover_apply_current(struct settings *s,
			   int (*apply)(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl));
/* The switch: next -> current in the settings (saved), the next entries
 * and the watch state dropped. 0, ROLLOVER_ENOENT (no next key) or a
 * settings error (then nothing changed). */
int rollover_switch(struct settings *s);
/* 1: crt (DER, first certificate) carries the current key; 2: the next
 * key; 0: neither. */
int rollover_key_is(const struct settings *s, const uint8_t spki[32]);
#endif
