/* bootcount — see bootcount.h. Record: 16 bytes {magic, count, ~count,
 * magic}, padded to the program unit. The block fills front to back;
 * erased slots read as 0xFF. A record torn by a power cut fails the
 * count/~count check and is skipped; the next boot writes past it. When
 * the block is full it is erased and the count restarts from the last
 * good value, so the worst a cut can do is lose one increment. */
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

int bootcount_next(const struct port_flash *f, uint32_t *count)
{
	uint8_t slot[BOOTCOUNT_SLOT_MAX];
	size_t ss = slot_size(f);
	if (ss > sizeof(slot) || f->erase_size < ss)
		return PORT_EINVAL;
	uint32_t last = 0, free_off = UINT32_MAX;
	for (uint32_t off = 0; off + ss <= f->erase_size; off += (uint32_t)ss) {
		int err = port_flash_read(f, off, slot, ss);
		if (err)
			return err;
		struct bootrec r;
		memcpy(&r, slot, sizeof(r));
		if (r.magic == BOOTCOUNT_MAGIC && r.magic2 == BOOTCOUNT_MAGIC && r.inv == ~r.count) {
			last = r.count;
			free_off = UINT32_MAX;
		} else if (slot_erased(slot, ss) && free_off == UINT32_MAX) {
			free_off = off; /* first erased slot after the last good one */
		}
	}
	if (free_off == UINT32_MAX) {
		int err = port_flash_erase(f, 0);
		if (err)
			return err;
		free_off = 0;
	}
	struct bootrec r = { BOOTCOUNT_MAGIC, last + 1, ~(last + 1), BOOTCOUNT_MAGIC };
	memset(slot, 0xFF, ss);
	memcpy(slot, &r, sizeof(r));
	int err = port_flash_program(f, free_off, slot, ss);
	if (!err)
		err = port_flash_sync(f);
	if (err)
		return err;
	*count = last + 1;
	return 0;
}
