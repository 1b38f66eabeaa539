/* bootcount — see bootcount.h. Record: 16 bytes {magic, count, ~count,
 * magic}, padded to the program unit, appended to one of the first two
 * erase blocks of the area; erased slots read as 0xFF. A record torn by a
 * power cut fails the count/~count check and is skipped. When the block
 * in use is full the next record goes to the other block, erased first;
 * the full block keeps the last good count until then, so a cut at any
 * point loses at most the increment in flight. */
#include "bootcount.h"

#include <string.h>

#define BOOTCOUNT_MAGIC 0x43424744u /* "DGBC" */
#define BOOTCOUNT_SLOT_MAX 64	    /* bytes: bounds the program unit we accept */

struct bootrec {
	uint32_t magic, count, inv, magic2;
};

static size_t slot_size(const struct port_flash *f)
{
	size_t s = sizeof(struct bootrec);
	return (s + f->program_size - 1) / f->program_size * f->program_size;
}

static bool slot_erased(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0xFF)
			return false;
	return true;
}

/* Scan one block: the highest good count in it (0 if none) and the first
 * erased slot after the last good record (UINT32_MAX if none). */
static int scan_block(const struct port_flash *f, uint32_t base, size_t ss, uint32_t *best,
		      uint32_t *free_off)
{
	uint8_t slot[BOOTCOUNT_SLOT_MAX];
	*best = 0;
	*free_off = UINT32_MAX;
	for (uint32_t off = base; off + ss <= base + f->erase_size; off += (uint32_t)ss) {
		int err = port_flash_read(f, off, slot, ss);
		if (err)
			return err;
		struct bootrec r;
		memcpy(&r, slot, sizeof(r));
		if (r.magic == BOOTCOUNT_MAGIC && r.magic2 == BOOTCOUNT_MAGIC && r.inv == ~r.count) {
			if (r.count > *best)
				*best = r.count;
			*free_off = UINT32_MAX;
		} else if (slot_erased(slot, ss) && *free_off == UINT32_MAX) {
			*free_off = off;
		}
	}
	return 0;
}

int bootcount_next(const struct port_flash *f, uint32_t *count)
{
	uint8_t slot[BOOTCOUNT_SLOT_MAX];
	size_t ss = slot_size(f);
	if (ss > sizeof(slot) || f->size < 2 * f->erase_size || f->erase_size < ss)
		return PORT_EINVAL;
	uint32_t best[2], free_off[2];
	for (uint32_t b = 0; b < 2; b++) {
		int err = scan_block(f, b * f->erase_size, ss, &best[b], &free_off[b]);
		if (err)
			return err;
	}
	uint32_t cur = best[1] > best[0] ? 1 : 0, last = best[cur];
	uint32_t off = free_off[cur];
	if (off == UINT32_MAX) {
		off = (1 - cur) * f->erase_size;
		int err = port_flash_erase(f, off);
		if (err)
			return err;
	}
	struct bootrec r = { BOOTCOUNT_MAGIC, last + 1, ~(last + 1), BOOTCOUNT_MAGIC };
	memset(slot, 0xFF, ss);
	memcpy(slot, &r, sizeof(r));
	int err = port_flash_program(f, off, slot, ss);
	if (!err)
		err = port_flash_sync(f);
	if (err)
		return err;
	*count = last + 1;
	return 0;
}
