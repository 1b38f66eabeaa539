/* store — see store.h. Block layout:
 *   [0, hdr)        header: magic "DGST", generation, length, CRC-32C of
 *                   the blob, CRC-32C of these 16 bytes; padded with 0xFF
 *                   to the program unit
 *   [hdr, hdr+len)  the blob, padded with 0xFF to the program unit
 * The header is programmed last, so a block whose header is erased or
 * fails its CRC holds no valid generation whatever else is in it. */
#include "config/store.h"

#include <string.h>

#include "util/crc32c.h"

#define STORE_MAGIC 0x54534744u /* "DGST" */
#define STORE_HDR_RAW 20
#define STORE_CHUNK 256 /* bytes read or programmed per flash call */

static uint32_t hdr_size(const struct port_flash *f)
{
	uint32_t u = f->program_size;
	return (STORE_HDR_RAW + u - 1) / u * u;
}

size_t store_capacity(const struct port_flash *f)
{
	return f->erase_size - hdr_size(f);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* CRC of len bytes of flash at off, read in chunks. */
static int flash_crc(const struct port_flash *f, uint32_t off, size_t len, uint32_t *crc)
{
	uint8_t buf[STORE_CHUNK];
	*crc = 0;
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		int err = port_flash_read(f, off, buf, n);
		if (err)
			return err;
		*crc = crc32c(*crc, buf, n);
		off += (uint32_t)n;
		len -= n;
	}
	return 0;
}

/* Reads block b's header; 1 if it names a generation whose blob checks. */
static int block_valid(const struct store *st, uint32_t b, uint32_t *gen, uint32_t *len)
{
	const struct port_flash *f = st->flash;
	uint8_t h[STORE_HDR_RAW];
	uint32_t base = (st->first_block + b) * f->erase_size;
	if (port_flash_read(f, base, h, sizeof(h)) != 0)
		return 0;
	if (get32(h) != STORE_MAGIC || get32(h + 16) != crc32c(0, h, 16))
		return 0;
	*gen = get32(h + 4);
	*len = get32(h + 8);
	if (*len > store_capacity(f))
		return 0;
	uint32_t crc;
	if (flash_crc(f, base + hdr_size(f), *len, &crc) != 0 || crc != get32(h + 12))
		return 0;
	return 1;
}

int store_load(struct store *st, const struct port_flash *flash, uint32_t first_block, void *buf,
	       size_t size, size_t *len)
{
	st->flash = flash;
	st->first_block = first_block;
	st->gen = 0;
	st->cur = 1; /* so the first save goes to block 0 */
	if ((uint64_t)(first_block + 2) * flash->erase_size > flash->size)
		return PORT_EINVAL;
	uint32_t gen[2] = { 0, 0 }, blen[2] = { 0, 0 };
	int ok0 = block_valid(st, 0, &gen[0], &blen[0]);
	int ok1 = block_valid(st, 1, &gen[1], &blen[1]);
	if (!ok0 && !ok1)
		return STORE_ENOENT;
	/* Serial-number order (RFC 1982 style): the newer of two generations
	 * is the one ahead by less than 2^31, so a save across the wrap at
	 * 2^32 still wins. */
	uint32_t b = (ok1 && (!ok0 || (int32_t)(gen[1] - gen[0]) > 0)) ? 1 : 0;
	st->gen = gen[b];
	st->cur = b;
	if (blen[b] > size)
		return STORE_ETOOBIG;
	*len = blen[b];
	return port_flash_read(flash, (first_block + b) * flash->erase_size + hdr_size(flash), buf,
			       blen[b]);
}

/* Programs len bytes at off, padding the last program unit with 0xFF. */
static int program_padded(const struct port_flash *f, uint32_t off, const uint8_t *p, size_t len)
{
	uint8_t buf[STORE_CHUNK];
	uint32_t u = f->program_size;
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		size_t padded = (n + u - 1) / u * u;
		if (padded > sizeof(buf)) { /* chunk not a multiple of a large unit */
			n = sizeof(buf) / u * u;
			padded = n;
			if (n == 0)
				return PORT_EINVAL;
		}
		memset(buf, 0xFF, padded);
		memcpy(buf, p, n);
		int err = port_flash_program(f, off, buf, padded);
		if (err)
			return err;
		off += (uint32_t)padded;
		p += n;
		len -= n;
	}
	return 0;
}

int store_save(struct store *st, const void *blob, size_t len)
{
	const struct port_flash *f = st->flash;
	if (len > store_capacity(f))
		return STORE_ETOOBIG;
	uint32_t b = 1 - st->cur;
	uint32_t base = (st->first_block + b) * f->erase_size;
	int err = port_flash_erase(f, base);
	if (!err)
		err = program_padded(f, base + hdr_size(f), blob, len);
	uint32_t crc = 0;
	if (!err)
		err = flash_crc(f, base + hdr_size(f), len, &crc);
	if (!err && crc != crc32c(0, blob, len))
		err = PORT_EIO; /* read-back differs: do not validate it */
	if (err)
		return err;
	uint8_t h[STORE_HDR_RAW];
	put32(h, STORE_MAGIC);
	put32(h + 4, st->gen + 1);
	put32(h + 8, (uint32_t)len);
	put32(h + 12, crc);
	put32(h + 16, crc32c(0, h, 16));
	err = program_padded(f, base, h, sizeof(h));
	if (!err)
		err = port_flash_sync(f);
	if (err)
		return err;
	st->gen++;
	st->cur = b;
	return 0;
}

int store_erase(struct store *st)
{
	for (uint32_t b = 0; b < 2; b++) {
		int err = port_flash_erase(st->flash, (st->first_block + b) * st->flash->erase_size);
		if (err)
			return err;
	}
	st->gen = 0;
	st->cur = 1;
	return port_flash_sync(st->flash);
}
