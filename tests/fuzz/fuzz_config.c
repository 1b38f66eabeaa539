/* fuzz_config — libFuzzer target for the configuration text parser and
 * the key validation behind it (firmware/config/config.c:
 * config_parse_text, config_validate, config_import, typed getters) on
 * a settings store in a RAM flashsim. Input: [mode][text]; the text is
 * "key = value" lines (NUL ends it). mode bit 0 set: config_import and a
 * save/reopen round trip (passwords get hashed: slow); clear: walk and
 * validate only. Bit 1: also hand every value to config_parse_duration.
 * Checks, besides the sanitizers:
 * - config_parse_text returns 0 or a negative code; on error *line_no is
 *   a line of the text and err a non-empty string;
 * - a value config_validate accepted is still accepted when read back
 *   from the settings image (config_get says "saved", same bytes), and
 *   the typed getters give a value inside the key's range;
 * - config_import is all or nothing: on error the image is byte for
 *   byte what it was; on success every key holds its last value
 *   (passwords only as hashes, never in plain text), keys not in the text
 *   keep theirs, and a save + reopen gives the same image.
 * Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "flashsim.h"

#include "fuzz_check.h"
#include "fuzz_port_stubs.h"

#define TEXT_MAX 8192
#define PAIRS_MAX 64

struct pair {
	char key[SETTINGS_NAME_MAX + 1];
	char val[CONFIG_VALUE_MAX + 1];
};

struct rec {
	struct pair p[PAIRS_MAX];
	unsigned n;
	bool overflow;
};

static struct rec rec;
static struct settings s, s2;
static struct flashsim *fs;
static char text[TEXT_MAX + 1];

/* Records each validated line; a key given again replaces its value. */
static int record(void *ctx, const char *key, const char *value, char *err, size_t errsize)
{
	struct rec *r = ctx;
	(void)err;
	(void)errsize;
	check(config_validate(key, value, NULL, 0) == 0);
	check(strlen(key) <= SETTINGS_NAME_MAX && strlen(value) <= CONFIG_VALUE_MAX);
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->p[i].key, key) == 0) {
			strcpy(r->p[i].val, value);
			return 0;
		}
	if (r->n == PAIRS_MAX) {
		r->overflow = true;
		return 0;
	}
	strcpy(r->p[r->n].key, key);
	strcpy(r->p[r->n].val, value);
	r->n++;
	return 0;
}

static unsigned count_lines(const char *t)
{
	unsigned n = 0;
	for (const char *p = t; *p;) {
		n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* The typed view of key agrees with its range. */
static void check_typed(const struct settings *st, const struct config_key *k)
{
	uint32_t v, steps[CONFIG_RETRY_MAX];
	bool b;
	switch (k->type) {
	case CONFIG_T_UINT:
		check(config_get_uint(st, NULL, k->name, &v) == 0);
		check(v >= k->min && v <= k->max);
		break;
	case CONFIG_T_DURATION:
		check(config_get_duration(st, NULL, k->name, &v) == 0);
		check(v >= k->min && v <= k->max);
		break;
	case CONFIG_T_DURATIONS: {
		int n = config_get_durations(st, NULL, k->name, steps, CONFIG_RETRY_MAX);
		check(n >= 1 && n <= CONFIG_RETRY_MAX);
		for (int i = 0; i < n; i++)
			check(steps[i] >= k->min && steps[i] <= k->max);
		break;
	}
	case CONFIG_T_BOOL:
		check(config_get_bool(st, NULL, k->name, &b) == 0);
		break;
	default:
		break;
	}
}

/* Every password of a stored user list is a hash. */
static void check_users_hashed(const char *stored)
{
	static char copy[CONFIG_VALUE_MAX + 1];
	strcpy(copy, stored);
	for (char *tok = strtok(copy, " \t,"); tok; tok = strtok(NULL, " \t,")) {
		char *colon = strchr(tok, ':');
		check(colon != NULL);
		check(config_hash_is_hash(colon + 1));
	}
}

static void open_blank(void)
{
	if (!fs) {
		struct flashsim_config fc = { .size = 4 * 16384, .erase_size = 16384,
					      .program_size = 4, .name = "config" };
		check(flashsim_open(&fs, &fc) == 0);
	}
	flashsim_power_on(fs);
	memset(flashsim_raw(fs), 0xFF, 4 * 16384);
	check(settings_open(&s, flashsim_flash(fs), 2) == 0);
}

/* Walk only: each accepted value, stored raw, reads back as saved. */
static void walk(bool durations)
{
	char err[CONFIG_ERR_MAX] = "";
	unsigned line_no = 0;
	memset(&rec, 0, sizeof(rec));
	int r = config_parse_text(text, record, &rec, &line_no, err, sizeof(err));
	check(r <= 0);
	if (r < 0) {
		check(line_no >= 1 && line_no <= count_lines(text));
		check(err[0] != '\0' && strlen(err) < sizeof(err));
	}
	for (unsigned i = 0; i < rec.n; i++) {
		const struct config_key *k = config_key_find(rec.p[i].key);
		check(k != NULL);
		s.len = 0; /* one key at a time: 64 long values would not fit */
		check(settings_set(&s, k->name, rec.p[i].val, strlen(rec.p[i].val)) == 0);
		static char buf[CONFIG_VALUE_MAX + 1];
		check(config_get(&s, NULL, k->name, buf, sizeof(buf)) == CONFIG_SRC_SAVED);
		check(strcmp(buf, rec.p[i].val) == 0);
		check_typed(&s, k);
		if (durations) {
			uint32_t sec;
			(void)config_parse_duration(rec.p[i].val, &sec);
		}
	}
}

static void import(void)
{
	static uint8_t before[SETTINGS_IMAGE_MAX];
	char err[CONFIG_ERR_MAX] = "";
	unsigned line_no = 0;
	check(config_set(&s, "smtp_port", "2525", err, sizeof(err)) == 0);
	size_t blen = s.len;
	memcpy(before, s.image, blen);
	memset(&rec, 0, sizeof(rec));
	int walked = config_parse_text(text, record, &rec, NULL, NULL, 0);
	int r = config_import(&s, text, &line_no, err, sizeof(err));
	check(r <= 0);
	if (walked < 0)
		check(r < 0); /* a line the walk refused is refused here too */
	if (r < 0) {
		check(line_no >= 1 && line_no <= count_lines(text));
		check(err[0] != '\0');
		check(s.len == blen && memcmp(s.image, before, blen) == 0);
		return;
	}
	static char buf[CONFIG_VALUE_MAX + 1];
	bool port_given = false;
	for (unsigned i = 0; i < rec.n && !rec.overflow; i++) {
		const struct config_key *k = config_key_find(rec.p[i].key);
		check(config_get(&s, NULL, k->name, buf, sizeof(buf)) == CONFIG_SRC_SAVED);
		if (k->type == CONFIG_T_HASH)
			check(config_hash_is_hash(buf));
		else if (k->type == CONFIG_T_USERS)
			check_users_hashed(buf);
		else
			check(strcmp(buf, rec.p[i].val) == 0);
		check_typed(&s, k);
		port_given |= strcmp(k->name, "smtp_port") == 0;
	}
	if (!port_given && !rec.overflow) {
		uint32_t port;
		check(config_get_uint(&s, NULL, "smtp_port", &port) == 0 && port == 2525);
	}
	if (config_save(&s) != 0)
		return; /* image larger than the store's block: refused whole */
	check(settings_open(&s2, flashsim_flash(fs), 2) == 0);
	check(s2.len == s.len && memcmp(s2.image, s.image, s.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size_t n = size - 1 < TEXT_MAX ? size - 1 : TEXT_MAX;
	memcpy(text, data + 1, n);
	text[n] = '\0';
	fuzz_port_seed(size);
	open_blank();
	if (mode & 1)
		import();
	else
		walk(mode & 2);
	return 0;
}
