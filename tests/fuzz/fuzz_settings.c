/* fuzz_settings — libFuzzer target for the settings store over arbitrary
 * flash contents: settings_open (firmware/config/settings.c) on
 * store_load (store.c) on a RAM flashsim of 3 erase blocks.
 * Input: [geo][gen u32 LE][bytes...]. geo bit 0: erase size 4 or 8 KiB;
 * bits 1-2: program size 4, 1, 16, 256; bit 3: the store starts at block
 * 1 instead of 0. geo bit 7 clear: the bytes are the raw flash image
 * (rest erased). Set: the bytes are a settings blob the harness wraps in
 * a store header with valid CRCs (generation gen) in block (bit 4) of
 * the store, so the fuzzer reaches the image parser; bit 5 also puts the
 * first half of the blob, as generation gen + 1, in the other block.
 * Checks, besides the sanitizers: open returns 0, SETTINGS_ECORRUPT or a
 * PORT_E* code; an open image is well formed and settings_get finds each
 * entry's value in place; for a wrapped blob the verdict is exact (a
 * well-formed blob comes back byte for byte, a malformed one is
 * ECORRUPT); a value set and saved comes back after reopening. Exports
 * nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "flashsim.h"
#include "util/crc32c.h"

#include "fuzz_check.h"

#define FS_BLOCKS 3

static const uint32_t program_sizes[4] = { 4, 1, 16, 256 };

/* The reference for settings.c's image rules (settings.h). */
static bool well_formed(const uint8_t *img, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t n = img[off];
		if (n == 0 || n > SETTINGS_NAME_MAX || len - off < 1 + n + 2)
			return false;
		size_t vl = (size_t)img[off + 1 + n] | (size_t)img[off + 2 + n] << 8;
		if (len - off - 3 - n < vl)
			return false;
		off += 3 + n + vl;
	}
	return true;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes blob as a valid store generation into block blk (absolute). */
static void wrap(uint8_t *raw, uint32_t E, uint32_t P, uint32_t blk, uint32_t gen,
		 const uint8_t *blob, size_t len)
{
	uint32_t hdr = (20 + P - 1) / P * P;
	uint8_t *b = raw + (size_t)blk * E;
	memset(b, 0xFF, E);
	memcpy(b + hdr, blob, len);
	put32(b, 0x54534744u);
	put32(b + 4, gen);
	put32(b + 8, (uint32_t)len);
	put32(b + 12, crc32c(0, blob, len));
	put32(b + 16, crc32c(0, b, 16));
}

static void check_open(const struct settings *s)
{
	check(s->len <= SETTINGS_IMAGE_MAX);
	check(well_formed(s->image, s->len));
	size_t off = 0;
	while (off < s->len) {
		size_t n = s->image[off];
		size_t vl = (size_t)s->image[off + 1 + n] | (size_t)s->image[off + 2 + n] << 8;
		char name[SETTINGS_NAME_MAX + 1];
		memcpy(name, s->image + off + 1, n);
		name[n] = '\0';
		if (strlen(name) == n) {
			const uint8_t *v;
			int r = settings_get(s, name, &v);
			/* the first entry of that name wins: it may be an earlier one */
			check(r >= 0 && v >= s->image && v + r <= s->image + s->len);
			if (v == s->image + off + 3 + n)
				check((size_t)r == vl);
		}
		off += 3 + n + vl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flashsim *fsims[8];
	static struct settings s, s2;
	if (size < 5)
		return 0;
	uint8_t geo = data[0];
	uint32_t gen = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
		       (uint32_t)data[4] << 24;
	const uint8_t *bytes = data + 5;
	size_t nbytes = size - 5;
	unsigned g = geo & 7;
	uint32_t E = (geo & 1) ? 8192 : 4096, P = program_sizes[(geo >> 1) & 3];
	if (!fsims[g]) {
		struct flashsim_config fc = { .size = FS_BLOCKS * E, .erase_size = E,
					      .program_size = P, .name = "config" };
		check(flashsim_open(&fsims[g], &fc) == 0);
	}
	struct flashsim *fs = fsims[g];
	flashsim_power_on(fs);
	const struct port_flash *flash = flashsim_flash(fs);
	uint8_t *raw = flashsim_raw(fs);
	uint32_t first = (geo >> 3) & 1;
	size_t cap = E - (20 + P - 1) / P * P;
	bool wrapped = geo & 0x80;
	memset(raw, 0xFF, (size_t)FS_BLOCKS * E);
	if (!wrapped) {
		memcpy(raw, bytes, nbytes < FS_BLOCKS * E ? nbytes : FS_BLOCKS * E);
	} else {
		size_t len = nbytes < cap ? nbytes : cap;
		uint32_t blk = first + ((geo >> 4) & 1);
		wrap(raw, E, P, blk, gen, bytes, len);
		if (geo & 0x20)
			wrap(raw, E, P, first + 1 - ((geo >> 4) & 1), gen + 1, bytes, len / 2);
	}

	memset(&s, 0xA5, sizeof(s));
	int r = settings_open(&s, flash, first);
	check(r == 0 || r == SETTINGS_ECORRUPT || r < -100);
	if (r != 0) {
		check(r == SETTINGS_ECORRUPT);
		if (wrapped && !(geo & 0x20))
			check(!well_formed(bytes, nbytes < cap ? nbytes : cap));
		return 0;
	}
	check_open(&s);
	if (wrapped && !(geo & 0x20)) {
		size_t len = nbytes < cap ? nbytes : cap;
		check(s.len == len && memcmp(s.image, bytes, len) == 0);
	}

	/* set, save, reopen: what was saved is what comes back, whatever
	 * generation the flash held (the wrap at 2^32 included). */
	size_t vl = nbytes > 64 ? 64 : nbytes;
	int w = settings_set(&s, "fuzz.key", bytes, vl);
	check(w == 0 || w == SETTINGS_ENOSPC);
	if (settings_save(&s) != 0)
		return 0;
	memset(&s2, 0x5A, sizeof(s2));
	check(settings_open(&s2, flash, first) == 0);
	check(s2.len == s.len && memcmp(s2.image, s.image, s.len) == 0);
	if (w == 0) {
		const uint8_t *v;
		check(settings_get(&s2, "fuzz.key", &v) == (int)vl && memcmp(v, bytes, vl) == 0);
	}
	return 0;
}
